/* demo_http.h: incremental, allocation-free HTTP/1.x request parser of the demo server. */
#ifndef STAMPEDE_DEMO_HTTP_H
#define STAMPEDE_DEMO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEMO_MAX_REQUEST_LINE 8192  /* longer: 414 */
#define DEMO_MAX_HEAD         16384 /* request line + headers; longer: 431 */
#define DEMO_MAX_HEADERS      100   /* more header fields: 431 */
#define DEMO_MAX_BODY         65536 /* larger Content-Length: 413 */
#define DEMO_MAX_METHOD       32

enum demo_method {
	DEMO_GET,
	DEMO_HEAD,
	DEMO_POST,
	DEMO_PUT,
	DEMO_DELETE,
	DEMO_PATCH,
	DEMO_OPTIONS,
	DEMO_METHOD_OTHER, /* any other token; also the label of unparseable requests */
	DEMO_METHOD__COUNT
};

/* "GET", ..., "OTHER". */
const char *demo_method_name(enum demo_method m);

/* The method named by the n bytes at s (DEMO_METHOD_OTHER for any other token). */
enum demo_method demo_method_parse(const char *s, size_t n);

enum {
	DEMO_PARSE_ERROR = -1, /* req->status and req->error say why; close after answering */
	DEMO_PARSE_AGAIN = 0,  /* need more bytes */
	DEMO_PARSE_DONE = 1,   /* one complete request of req->total_len bytes */
};

/* A parsed request. Pointers point into the caller's buffer and are valid while it holds
 * the request's bytes unchanged. */
struct demo_req {
	enum demo_method method;
	const char *path; /* origin-form path (absolute-form is reduced to it), no query */
	size_t path_len;
	const char *query; /* after '?', NULL when there is none */
	size_t query_len;
	int minor;       /* HTTP/1.minor: 0 or 1 (1.2+ is treated as 1.1) */
	bool keep_alive; /* the client lets the connection be reused */
	bool expect_continue;
	const char *auth; /* Authorization value (trimmed), NULL when absent */
	size_t auth_len;
	/* WebSocket handshake (RFC 6455 §4.2.1): Upgrade has the token "websocket",
	 * Connection the token "upgrade"; the Sec-WebSocket-Key and -Version values (NULL
	 * when absent); ws_dup: one of them was given twice */
	bool upgrade_websocket;
	bool conn_upgrade;
	bool ws_dup;
	const char *ws_key;
	size_t ws_key_len;
	const char *ws_version;
	size_t ws_version_len;
	const char *body;
	size_t body_len;
	size_t head_len;   /* request line + headers, including leading empty lines */
	size_t total_len;  /* head_len + body_len: bytes to consume */
	int status;        /* on DEMO_PARSE_ERROR: 400, 411, 413, 414, 417, 431, 501 or 505 */
	const char *error; /* on DEMO_PARSE_ERROR: short reason for the response body */
};

/* Parser state between feeds. Offsets are relative to the start of the request, so the
 * caller may move the buffer (realloc, compaction) between feeds. */
struct demo_parser {
	size_t scanned; /* bytes of complete lines examined */
	bool line_seen; /* the request line has been parsed */
	bool head_done; /* headers complete; waiting for the body */
	bool host_seen;
	bool cl_seen;
	bool te_seen;
	bool te_chunked;
	bool conn_close;
	bool conn_keep_alive;
	int nheaders;
	int status; /* sticky error status, 0 when none */
	const char *error;
	enum demo_method method;
	int minor;
	bool expect_continue;
	int64_t content_length;
	size_t path_off, path_len;
	size_t query_off, query_len; /* query_off 0: none (it can never start a request) */
	size_t auth_off, auth_len;   /* auth_off 0: none */
	bool upgrade_websocket;
	bool conn_upgrade;
	bool ws_dup;
	size_t wskey_off, wskey_len; /* wskey_off 0: none */
	size_t wsver_off, wsver_len; /* wsver_off 0: none */
	size_t head_len;
};

/* Prepare for a new request (also the initial state; a zeroed parser is reset). */
void demo_parser_reset(struct demo_parser *p);

/*
 * Parse the bytes of the current request: buf holds everything received from its first
 * byte on (len bytes; it may hold pipelined requests after it). Call again with the same
 * bytes plus more after DEMO_PARSE_AGAIN; each byte is examined once. On DEMO_PARSE_DONE
 * req describes the request (req->total_len bytes); reset the parser before the next one.
 * On DEMO_PARSE_ERROR req->status/req->error are set; the error is sticky. Once the head
 * is complete but the body is not, p->head_done is set and req->expect_continue tells
 * whether the client waits for "100 Continue".
 */
int demo_parser_feed(struct demo_parser *p, const char *buf, size_t len, struct demo_req *req);

#endif
