/* request.h: the one HTTP/1.1 request serializer (quick mode and scripts) and its rules. */
#ifndef STAMPEDE_REQUEST_H
#define STAMPEDE_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol/url.h"
#include "util/buf.h"

/* The User-Agent sent when none is configured or given as a header. */
#define REQUEST_DEFAULT_UA "stampede/0.1"

/* One user header field; name and value are counted (they may hold any byte, checked). */
struct request_hdr {
	const char *name;
	size_t name_len;
	const char *value; /* without the leading OWS; sent verbatim after ": " */
	size_t value_len;
};

/* Everything a request is made of; every pointer is borrowed for the call only. */
struct request_msg {
	const char *method;                /* a token, case-sensitive (not NULL) */
	const char *target;                /* request-target: origin-form "/path?query" */
	const char *authority;             /* Host value; NULL or "" sends an empty Host */
	const struct request_hdr *headers; /* user headers, sent in this order */
	int nheaders;
	const char *cookie; /* jar cookies "a=1; b=2" for the Cookie field (cookie_jar_header()) */
	size_t cookie_len;  /* 0: no jar cookies */
	const char *user_agent; /* NULL: REQUEST_DEFAULT_UA */
	const void *body;       /* may contain NULs; body_len bytes */
	size_t body_len;
};

/*
 * Validate m and serialize it into out, replacing out's contents (out stays the caller's;
 * once its capacity fits, nothing is allocated). The rules, checked before anything is
 * written, each string through wire_check() (wire.h), the one check of what goes onto the
 * wire:
 *  - the method is a token (RFC 9110 §9.1, tchar of §5.6.2); the request-target is visible
 *    ASCII, no whitespace or control byte (RFC 9112 §3.2: no whitespace is allowed in it);
 *  - header names are tokens (RFC 9110 §5.1, RFC 9112 §5: no space before the colon);
 *    values, the authority, the user agent and the jar cookies hold no control byte but HTAB
 *    (RFC 9110 §5.5: no CR, LF or NUL, so no smuggled field or request); obs-text passes;
 *    the codings of Transfer-Encoding are tokens;
 *  - Host goes first, right after the request line, unless the user gave one; more than one
 *    user Host is an error (RFC 9110 §7.2, RFC 9112 §3.2). User-Agent follows unless given;
 *  - framing (RFC 9112 §6.1-§6.3, RFC 9110 §8.6): a user Transfer-Encoding must end with
 *    chunked, applied once, and then the serializer sends the body chunk-encoded (one chunk,
 *    then the last-chunk and an empty trailer section, RFC 9112 §7.1); the other codings
 *    are the caller's, already applied to body. A user Content-Length must be one field
 *    whose decimal value equals body_len. Both set is an error (RFC 9112 §6.2: "A sender
 *    MUST NOT send a Content-Length header field in any message that contains a
 *    Transfer-Encoding header field"). Without either, Content-Length is added when there is
 *    a body or the method is POST, PUT or PATCH (0 then, RFC 9110 §8.6 SHOULD), and not
 *    otherwise (GET, HEAD, DELETE, OPTIONS... without a body);
 *  - one Cookie field (RFC 6265 §5.4): the user's Cookie values first, in order, then
 *    the jar cookies, joined by "; ", at the place of the user's first Cookie header (after the
 *    user headers when there is none).
 * The order on the wire: request line, Host, User-Agent, user headers (the merged Cookie in
 * the place of the first), Cookie when only the jar has cookies, Content-Length, blank line,
 * body. Returns 0, or -EINVAL with the reason in err (naming the header, the offending byte
 * and the rule: "invalid header 'X': control character in the value ('\r' at byte 1, RFC
 * 9110 §5.5)") and out emptied.
 */
int request_serialize(struct buf *out, const struct request_msg *m, char *err, size_t errlen);

/* True for the methods RFC 9110 §9.2.2 defines as idempotent: GET, HEAD, OPTIONS, TRACE,
 * PUT and DELETE. Methods are case-sensitive (RFC 9110 §9.1): "get" is not GET. */
bool request_method_idempotent(const char *method);

/* Quick mode's request: headers as "Name: value" strings. */
struct request_spec {
	const char *method; /* "GET" when NULL */
	const struct url *url;
	const char **headers; /* "Name: value" strings; leading OWS of the value is dropped */
	int nheaders;
	const char *body; /* may contain NULs; body_len bytes */
	size_t body_len;
	const char *user_agent; /* NULL for the default */
};

struct request {
	char *method;
	char *name;      /* the `name` tag: the URL */
	bool head;       /* HEAD request: response has no body */
	bool idempotent; /* request_method_idempotent(method): may be resent once */
	bool close;      /* it sends `Connection: close` (request_headers_close) */
	char *bytes;     /* serialized request, NUL-terminated */
	size_t len;
};

/* Whether the n headers h include a Connection field with the "close" option (RFC 9110
 * §7.6.1: a comma-separated list of case-insensitive tokens): the client then sends no
 * further request on that connection (RFC 9112 §9.6). */
bool request_headers_close(const struct request_hdr *h, int n);

/* Validate and serialize spec into *r once, through request_serialize() and its rules.
 * Returns 0 (r owns its strings; release with request_free()), or -EINVAL with a reason
 * in err and *r zeroed. */
int request_build(const struct request_spec *spec, struct request *r, char *err, size_t errlen);
/* Release r's buffers; accepts a zeroed struct. */
void request_free(struct request *r);

#endif
