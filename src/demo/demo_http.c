/* demo_http.c: incremental, allocation-free HTTP/1.x request parser (RFC 9112 framing). */
#include "demo/demo_http.h"

#include <string.h>
#include <strings.h>

static const char *const method_names[DEMO_METHOD__COUNT] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "OTHER",
};

const char *demo_method_name(enum demo_method m)
{
	return (unsigned)m < DEMO_METHOD__COUNT ? method_names[m] : "OTHER";
}

/* RFC 9110 tchar: the characters of a token (method, header name). */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A byte allowed in a field value: HTAB, SP, VCHAR, obs-text. */
static bool is_field_char(unsigned char c)
{
	return c == '\t' || c == ' ' || (c > 0x20 && c != 0x7f);
}

static bool lower_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

static int fail(struct demo_parser *p, struct demo_req *req, int status, const char *why)
{
	if (!p->status) {
		p->status = status;
		p->error = why;
	}
	req->status = p->status;
	req->error = p->error;
	return DEMO_PARSE_ERROR;
}

void demo_parser_reset(struct demo_parser *p)
{
	memset(p, 0, sizeof(*p));
}

enum demo_method demo_method_parse(const char *s, size_t n)
{
	for (int m = 0; m < DEMO_METHOD_OTHER; m++)
		if (strlen(method_names[m]) == n && memcmp(method_names[m], s, n) == 0)
			return (enum demo_method)m;
	return DEMO_METHOD_OTHER;
}

/* Split the request-target at [off, off + n) into path and query. */
static int parse_target(struct demo_parser *p, const char *buf, size_t off, size_t n)
{
	const char *t = buf + off;
	size_t start;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return -1;
	if (n == 1 && t[0] == '*') {
		start = 0;
	} else if (t[0] == '/') {
		start = 0;
	} else {
		/* absolute-form: scheme "://" authority, then the path (RFC 9112 §3.2.2) */
		size_t skip = n >= 7 && strncasecmp(t, "http://", 7) == 0    ? 7
		              : n >= 8 && strncasecmp(t, "https://", 8) == 0 ? 8
		                                                             : 0;
		if (!skip)
			return -1;
		start = skip;
		while (start < n && t[start] != '/' && t[start] != '?')
			start++;
		if (start == skip)
			return -1; /* no authority */
	}
	const char *q = memchr(t + start, '?', n - start);
	size_t path_end = q ? (size_t)(q - t) : n;
	p->path_off = off + start;
	p->path_len = path_end - start; /* 0: absolute-form without a path, i.e. "/" */
	if (q) {
		p->query_off = off + path_end + 1;
		p->query_len = n - path_end - 1;
	}
	return 0;
}

/* "METHOD SP request-target SP HTTP/d.d" at [off, off + n). */
static int parse_request_line(struct demo_parser *p, struct demo_req *req, const char *buf,
                              size_t off, size_t n)
{
	const char *line = buf + off;
	const char *sp1 = memchr(line, ' ', n);

	if (n > DEMO_MAX_REQUEST_LINE)
		return fail(p, req, 414, "request line too long");
	if (!sp1 || sp1 == line || sp1 - line > DEMO_MAX_METHOD)
		return fail(p, req, 400, "malformed request line");
	for (const char *c = line; c < sp1; c++)
		if (!is_tchar((unsigned char)*c))
			return fail(p, req, 400, "malformed method");
	p->method = demo_method_parse(line, (size_t)(sp1 - line));

	size_t toff = (size_t)(sp1 - line) + 1;
	const char *sp2 = memchr(line + toff, ' ', n - toff);
	if (!sp2 || sp2 == line + toff)
		return fail(p, req, 400, "malformed request line");
	if (parse_target(p, buf, off + toff, (size_t)(sp2 - line) - toff) < 0)
		return fail(p, req, 400, "malformed request target");

	const char *v = sp2 + 1;
	size_t vlen = n - (size_t)(v - line);
	if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return fail(p, req, 400, "malformed HTTP version");
	if (v[5] != '1')
		return fail(p, req, 505, "HTTP version not supported");
	p->minor = v[7] == '0' ? 0 : 1;
	return 0;
}

static bool has_token(const char *s, size_t n, const char *tok)
{
	size_t i = 0;

	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
			i++;
		size_t start = i;
		while (i < n && s[i] != ',')
			i++;
		size_t end = i;
		while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t'))
			end--;
		if (end > start && lower_eq(s + start, end - start, tok))
			return true;
	}
	return false;
}

static int parse_content_length(struct demo_parser *p, struct demo_req *req, const char *v,
                                size_t n)
{
	int64_t cl = 0;

	if (n == 0)
		return fail(p, req, 400, "invalid Content-Length");
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return fail(p, req, 400, "invalid Content-Length");
		if (cl <= (int64_t)DEMO_MAX_BODY * 10)
			cl = cl * 10 + (v[i] - '0'); /* saturates above any limit, no overflow */
	}
	if (p->cl_seen && cl != p->content_length)
		return fail(p, req, 400, "conflicting Content-Length");
	p->cl_seen = true;
	p->content_length = cl;
	return 0;
}

/* One header field line at [off, off + n) (without its line ending). */
static int parse_header(struct demo_parser *p, struct demo_req *req, const char *buf, size_t off,
                        size_t n)
{
	const char *line = buf + off;
	const char *colon = memchr(line, ':', n);

	if (line[0] == ' ' || line[0] == '\t')
		return fail(p, req, 400, "obsolete header line folding");
	if (!colon || colon == line)
		return fail(p, req, 400, "malformed header field");
	for (const char *c = line; c < colon; c++)
		if (!is_tchar((unsigned char)*c))
			return fail(p, req, 400, "malformed header name");
	for (const char *c = colon + 1; c < line + n; c++)
		if (!is_field_char((unsigned char)*c))
			return fail(p, req, 400, "invalid character in header value");
	if (++p->nheaders > DEMO_MAX_HEADERS)
		return fail(p, req, 431, "too many header fields");

	const char *name = line;
	size_t nlen = (size_t)(colon - line);
	const char *v = colon + 1, *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t vlen = (size_t)(end - v);

	if (lower_eq(name, nlen, "host")) {
		if (p->host_seen)
			return fail(p, req, 400, "more than one Host header");
		p->host_seen = true;
	} else if (lower_eq(name, nlen, "content-length")) {
		return parse_content_length(p, req, v, vlen);
	} else if (lower_eq(name, nlen, "transfer-encoding")) {
		p->te_seen = true;
		if (has_token(v, vlen, "chunked"))
			p->te_chunked = true;
	} else if (lower_eq(name, nlen, "connection")) {
		if (has_token(v, vlen, "close"))
			p->conn_close = true;
		if (has_token(v, vlen, "keep-alive"))
			p->conn_keep_alive = true;
		if (has_token(v, vlen, "upgrade"))
			p->conn_upgrade = true;
	} else if (lower_eq(name, nlen, "upgrade")) {
		if (has_token(v, vlen, "websocket"))
			p->upgrade_websocket = true;
	} else if (lower_eq(name, nlen, "sec-websocket-key")) {
		p->ws_dup |= p->wskey_off != 0;
		p->wskey_off = (size_t)(v - buf);
		p->wskey_len = vlen;
	} else if (lower_eq(name, nlen, "sec-websocket-version")) {
		p->ws_dup |= p->wsver_off != 0;
		p->wsver_off = (size_t)(v - buf);
		p->wsver_len = vlen;
	} else if (lower_eq(name, nlen, "authorization")) {
		if (p->auth_off)
			return fail(p, req, 400, "more than one Authorization header");
		p->auth_off = (size_t)(v - buf);
		p->auth_len = vlen;
	} else if (lower_eq(name, nlen, "expect")) {
		if (!lower_eq(v, vlen, "100-continue"))
			return fail(p, req, 417, "unsupported expectation");
		p->expect_continue = true;
	}
	return 0;
}

/* The empty line after the headers: framing and protocol checks. */
static int finish_head(struct demo_parser *p, struct demo_req *req)
{
	if (p->te_seen) {
		if (p->cl_seen)
			return fail(p, req, 400, "both Transfer-Encoding and Content-Length");
		if (p->minor == 0)
			return fail(p, req, 400, "Transfer-Encoding in an HTTP/1.0 request");
		if (p->te_chunked)
			return fail(p, req, 411,
			            "chunked request bodies are not supported; "
			            "send Content-Length");
		return fail(p, req, 501, "unsupported transfer coding");
	}
	if (p->minor >= 1 && !p->host_seen)
		return fail(p, req, 400, "missing Host header");
	if (p->content_length > DEMO_MAX_BODY)
		return fail(p, req, 413, "request body too large");
	if (p->minor == 0)
		p->expect_continue = false; /* RFC 9110 §10.1.1: ignore it from HTTP/1.0 */
	p->head_done = true;
	return 0;
}

/* Limits and early rejection while the current line is still incomplete. */
static int check_partial(struct demo_parser *p, struct demo_req *req, const char *buf, size_t len)
{
	const char *s = buf + p->scanned;
	size_t n = len - p->scanned;

	if (!p->line_seen) {
		/* reject garbage (TLS, binary) before the line ends: the method is a token */
		for (size_t i = 0; i < n && i <= DEMO_MAX_METHOD; i++) {
			if (s[i] == ' ')
				break;
			if (s[i] == '\r' && i + 1 == n)
				break; /* maybe an empty line's CR */
			if (!is_tchar((unsigned char)s[i]) || i == DEMO_MAX_METHOD)
				return fail(p, req, 400, "malformed request line");
		}
		if (n > DEMO_MAX_REQUEST_LINE)
			return fail(p, req, 414, "request line too long");
	}
	if (len > DEMO_MAX_HEAD)
		return fail(p, req, p->line_seen ? 431 : 414,
		            p->line_seen ? "request header fields too large"
		                         : "request line too long");
	return 0;
}

static int scan_head(struct demo_parser *p, struct demo_req *req, const char *buf, size_t len)
{
	while (p->scanned < len) {
		const char *lf = memchr(buf + p->scanned, '\n', len - p->scanned);
		if (!lf)
			return check_partial(p, req, buf, len);

		size_t start = p->scanned, next = (size_t)(lf - buf) + 1;
		size_t n = next - 1 - start;
		if (n > 0 && buf[start + n - 1] == '\r')
			n--;
		if (memchr(buf + start, '\r', n))
			return fail(p, req, 400, "bare CR in the request head");
		if (!p->line_seen && n > DEMO_MAX_REQUEST_LINE)
			return fail(p, req, 414, "request line too long");
		if (next > DEMO_MAX_HEAD)
			return fail(p, req, p->line_seen ? 431 : 414,
			            p->line_seen ? "request header fields too large"
			                         : "request line too long");
		int rc = 0;
		if (!p->line_seen) {
			if (n > 0) { /* leading empty lines are ignored (RFC 9112 §2.2) */
				rc = parse_request_line(p, req, buf, start, n);
				p->line_seen = rc == 0;
			}
		} else if (n == 0) {
			p->scanned = next;
			p->head_len = next;
			return finish_head(p, req);
		} else {
			rc = parse_header(p, req, buf, start, n);
		}
		if (rc < 0)
			return rc;
		p->scanned = next;
	}
	return 0;
}

int demo_parser_feed(struct demo_parser *p, const char *buf, size_t len, struct demo_req *req)
{
	memset(req, 0, sizeof(*req));
	if (p->status)
		return fail(p, req, p->status, p->error);
	if (!p->head_done && scan_head(p, req, buf, len) < 0)
		return DEMO_PARSE_ERROR;
	if (!p->head_done)
		return DEMO_PARSE_AGAIN;
	req->expect_continue = p->expect_continue;
	size_t total = p->head_len + (size_t)p->content_length;
	if (len < total)
		return DEMO_PARSE_AGAIN;

	req->method = p->method;
	req->minor = p->minor;
	req->keep_alive = p->minor >= 1 ? !p->conn_close : p->conn_keep_alive && !p->conn_close;
	if (p->path_len) {
		req->path = buf + p->path_off;
		req->path_len = p->path_len;
	} else {
		req->path = "/";
		req->path_len = 1;
	}
	if (p->query_off) {
		req->query = buf + p->query_off;
		req->query_len = p->query_len;
	}
	if (p->auth_off) {
		req->auth = buf + p->auth_off;
		req->auth_len = p->auth_len;
	}
	req->upgrade_websocket = p->upgrade_websocket;
	req->conn_upgrade = p->conn_upgrade;
	req->ws_dup = p->ws_dup;
	if (p->wskey_off) {
		req->ws_key = buf + p->wskey_off;
		req->ws_key_len = p->wskey_len;
	}
	if (p->wsver_off) {
		req->ws_version = buf + p->wsver_off;
		req->ws_version_len = p->wsver_len;
	}
	req->body = buf + p->head_len;
	req->body_len = (size_t)p->content_length;
	req->head_len = p->head_len;
	req->total_len = total;
	return DEMO_PARSE_DONE;
}
