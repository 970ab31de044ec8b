/* http_parse.h: incremental, allocation-free HTTP/1.1 response parser. */
#ifndef STAMPEDE_HTTP_PARSE_H
#define STAMPEDE_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADER_BYTES_DEFAULT (64 * 1024)
#define HTTP_MAX_HEADERS_DEFAULT      100
/* Longest header line (counting a CR, not the LF). */
#define HTTP_LINE_MAX 8192

/* Parse errors; each is a distinct kind reported in metrics. */
enum http_perr {
	HPE_OK = 0,
	HPE_BAD_STATUS_LINE,       /* not "HTTP/1.x NNN reason" */
	HPE_BAD_VERSION,           /* not HTTP/1.0 or HTTP/1.1 */
	HPE_BAD_HEADER,            /* malformed header line (no colon, bad chars, obs-fold) */
	HPE_HEADER_TOO_LARGE,      /* status line + headers exceed max_header_bytes */
	HPE_TOO_MANY_HEADERS,      /* more than max_headers header fields */
	HPE_BAD_CONTENT_LENGTH,    /* non-numeric, overflowing, or conflicting Content-Length */
	HPE_BAD_CHUNK,             /* bad chunk size line or missing CRLF after chunk data */
	HPE_BAD_TRANSFER_ENCODING, /* malformed Transfer-Encoding (no coding, chunked twice);
				    * one whose final coding is not chunked reads until close */
	HPE_TRUNCATED,             /* connection closed before the message was complete */
	HPE__COUNT
};

/* Short stable name of an error ("bad_status_line", ...). */
const char *http_perr_name(enum http_perr e);

/* Callbacks are optional (NULL to skip). Pointers passed to them point into the caller's
 * buffer and are valid only during the call. Headers are delivered once each, complete
 * (name and value never split even when the input is). A header callback can see every
 * header, including Content-Length etc. */
struct http_parser_cb {
	void (*on_status)(void *ud, int status);
	void (*on_header)(void *ud, const char *name, size_t nlen, const char *val, size_t vlen);
	void (*on_headers_done)(void *ud);
	void (*on_body)(void *ud, const char *data, size_t len);
	void (*on_complete)(void *ud);
};

struct http_parser {
	/* configuration (set by http_parser_init, may be changed before feeding) */
	size_t max_header_bytes;
	int max_headers;
	const struct http_parser_cb *cb;
	void *ud;
	/* request context for the response being parsed */
	bool head_request; /* response to HEAD: no body regardless of headers */
	/* results for the current/last message */
	int status;             /* status code, 0 until parsed */
	int minor_version;      /* 0 or 1 */
	bool keep_alive;        /* connection may be reused after this response */
	bool chunked;           /* the body is chunk-framed (set when the headers end) */
	int64_t content_length; /* -1 when absent */
	int64_t body_bytes;     /* body bytes delivered so far (decoded) */
	size_t header_bytes;    /* bytes of status line + headers (+ trailers) */
	int nheaders;           /* header fields (+ trailer fields) */
	enum http_perr error;   /* sticky once set */
	/* private state: internal only */
	int state;
	int64_t remaining; /* remaining bytes in body or current chunk */
	size_t line_len;   /* bytes accumulated into linebuf */
	bool seen_content_length;
	bool seen_te;
	bool conn_close;
	bool conn_keep_alive;
	bool interim;         /* current message is a 1xx interim response */
	bool te_chunked_seen; /* chunked appeared in Transfer-Encoding */
	char *linebuf;        /* HTTP_LINE_MAX bytes for a line split across feeds; allocated
			 * the first time one is, kept until http_parser_free */
};

/* Initialise a parser with default limits and the given callbacks/user data. */
void http_parser_init(struct http_parser *p, const struct http_parser_cb *cb, void *ud);
/* Release the parser's line buffer, if it has one (the struct itself is the caller's). */
void http_parser_free(struct http_parser *p);
/* Prepare for the next response on the same connection (keeps config and callbacks).
 * head_request says whether it answers a HEAD request. */
void http_parser_reset(struct http_parser *p, bool head_request);

/* Feed len bytes. Returns the number of bytes consumed, which is less than len only when
 * a response completed (on_complete was called) before the end of the input, so that
 * the caller can reset and feed the rest (pipelining), or when an error occurred
 * (p->error != HPE_OK; the connection must be closed). 1xx interim responses (other than
 * 101) are skipped internally and never reported as complete. A response may also complete
 * exactly at the end of the input, so check http_parser_done() after every call; once done,
 * feed consumes nothing until http_parser_reset(). on_complete runs before feed returns; it
 * may reset the parser, no other callback may reset or feed it. */
size_t http_parser_feed(struct http_parser *p, const char *data, size_t len);

/* Signal EOF from the peer. For a close-delimited body this completes the message
 * (on_complete is called, returns HPE_OK). If nothing of a response has been received,
 * returns HPE_TRUNCATED as well (the caller decides whether that is an error). */
enum http_perr http_parser_eof(struct http_parser *p);

/* true when the parser has consumed no byte of the current response yet. */
bool http_parser_idle(const struct http_parser *p);
/* true once the current response has completed. */
bool http_parser_done(const struct http_parser *p);
/* The body length the current response's Content-Length announces, once its headers are
 * parsed and while that body is being read (so that a caller can refuse a body too large
 * before reading it); -1 otherwise (no body, chunked or close-delimited framing, headers
 * not complete yet, response complete). */
int64_t http_parser_body_length(const struct http_parser *p);

#endif
