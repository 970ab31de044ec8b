/* request.c: the one HTTP/1.1 request serializer and its validation (rules in request.h). */
#include "protocol/request.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "protocol/wire.h"
#include "util/common.h"

/* What the user headers say, found by one pass before anything is written. */
struct hdr_scan {
	bool host, user_agent;
	bool content_length;    /* one valid Content-Length, equal to body_len */
	bool transfer_encoding; /* valid, ending with chunked: the body goes chunk-encoded */
	int first_cookie;       /* index of the user's first Cookie field, or -1 */
	size_t jar_len;         /* the jar cookies' length without surrounding OWS */
	const char *jar;
};

bool request_method_idempotent(const char *method)
{
	static const char *const idempotent[] = {
		"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"
	};
	for (size_t i = 0; i < ARRAY_SIZE(idempotent); i++)
		if (method && strcmp(method, idempotent[i]) == 0)
			return true;
	return false;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Narrow [*s, *s + *n) to its part without leading and trailing OWS. */
static void trim_ows(const char **s, size_t *n)
{
	while (*n && is_ows(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_ows((*s)[*n - 1]))
		(*n)--;
}

static int bad_header(char *err, size_t errlen, const char *name, size_t n, const char *why)
{
	char q[128];
	wire_quote(q, sizeof(q), name, n, 40);
	snprintf(err, errlen, "invalid header '%s': %s", q, why);
	return -EINVAL;
}

/* Check v[0..vlen), a part of header name, through wire_check(); when refused, the error
 * is "invalid header 'name': why (the byte, its offset and the rule)". */
static int check_header_part(enum wire_part part, const char *name, size_t nlen, const char *v,
                             size_t vlen, const char *why, char *err, size_t errlen)
{
	char detail[96], msg[192];

	if (wire_check(part, v, vlen, NULL, detail, sizeof(detail)) == 0)
		return 0;
	snprintf(msg, sizeof(msg), "%s (%s)", why, detail);
	return bad_header(err, errlen, name, nlen, msg);
}

static bool hdr_is(const struct request_hdr *h, const char *name)
{
	return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

/* RFC 9110 §8.6: Content-Length = 1*DIGIT; ours must say exactly body_len. */
static int check_content_length(const struct request_hdr *h, size_t body_len, char *err,
                                size_t errlen)
{
	const char *v = h->value;
	size_t n = h->value_len, x = 0;

	trim_ows(&v, &n);
	if (n == 0)
		return bad_header(err, errlen, h->name, h->name_len, "not a decimal number");
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return bad_header(err, errlen, h->name, h->name_len,
			                  "not a decimal number");
		if (x > (SIZE_MAX - 9) / 10)
			x = SIZE_MAX; /* too large for any body we hold */
		else
			x = x * 10 + (size_t)(v[i] - '0');
	}
	if (x != body_len) {
		char why[96];
		snprintf(why, sizeof(why), "%.*s, but the body has %zu bytes", (int)MIN(n, 40), v,
		         body_len);
		return bad_header(err, errlen, h->name, h->name_len, why);
	}
	return 0;
}

/* RFC 9112 §6.1: the codings of one Transfer-Encoding field, a list (RFC 9110 §5.6.1) of
 * tokens with optional parameters. Chunked may come once and only last; *chunked says
 * whether it has come (across the fields, in order). */
static int check_codings(const struct request_hdr *h, bool *chunked, char *err, size_t errlen)
{
	const char *p = h->value, *end = h->value + h->value_len;

	while (p < end) {
		const char *el = p;
		size_t n = 0, tok = 0;
		while (p < end && *p != ',')
			p++;
		n = (size_t)(p - el);
		if (p < end)
			p++;
		trim_ows(&el, &n);
		if (n == 0)
			continue;
		while (tok < n && el[tok] != ';' && !is_ows(el[tok]))
			tok++;
		int rc = check_header_part(WIRE_TOKEN, h->name, h->name_len, el, tok,
		                           "not a list of codings", err, errlen);
		if (rc < 0)
			return rc;
		if (*chunked)
			return bad_header(err, errlen, h->name, h->name_len,
			                  "chunked must be the final coding, applied once");
		*chunked = tok == 7 && strncasecmp(el, "chunked", 7) == 0;
	}
	return 0;
}

/* One user field: a token name and a field value, then what it means to the serializer. */
static int scan_one(const struct request_msg *m, int i, struct hdr_scan *s, bool *chunked,
                    char *err, size_t errlen)
{
	const struct request_hdr *h = &m->headers[i];
	int rc;

	if (h->name_len == 0)
		return bad_header(err, errlen, "", 0, "empty name");
	if ((rc = check_header_part(WIRE_TOKEN, h->name, h->name_len, h->name, h->name_len,
	                            "the name is not a token", err, errlen)) < 0 ||
	    (rc = check_header_part(WIRE_FIELD_VALUE, h->name, h->name_len, h->value, h->value_len,
	                            "control character in the value", err, errlen)) < 0)
		return rc;
	if (hdr_is(h, "Host")) {
		if (s->host)
			return bad_header(err, errlen, h->name, h->name_len, "given twice");
		s->host = true;
	} else if (hdr_is(h, "User-Agent")) {
		s->user_agent = true;
	} else if (hdr_is(h, "Content-Length")) {
		if (s->content_length)
			return bad_header(err, errlen, h->name, h->name_len, "given twice");
		s->content_length = true;
		return check_content_length(h, m->body_len, err, errlen);
	} else if (hdr_is(h, "Transfer-Encoding")) {
		s->transfer_encoding = true;
		return check_codings(h, chunked, err, errlen);
	} else if (hdr_is(h, "Cookie") && s->first_cookie < 0) {
		s->first_cookie = i;
	}
	return 0;
}

/* Check v, the method or the request-target, through wire_check(); when refused, the error
 * is "invalid <what> 'v' (the byte, its offset and the rule)". */
static int check_line_part(enum wire_part part, const char *what, const char *v, char *err,
                           size_t errlen)
{
	char detail[96], q[128];
	size_t n = strlen(v);

	if (wire_check(part, v, n, NULL, detail, sizeof(detail)) == 0)
		return 0;
	wire_quote(q, sizeof(q), v, n, 40);
	snprintf(err, errlen, "invalid %s '%s' (%s)", what, q, detail);
	return -EINVAL;
}

/* Check everything in m; fill s with what the user headers say. */
static int scan(const struct request_msg *m, struct hdr_scan *s, char *err, size_t errlen)
{
	const char *method = m->method ? m->method : "";
	const char *target = m->target ? m->target : "";
	const char *ctl = "control character in the value";
	bool chunked = false;
	int rc;

	memset(s, 0, sizeof(*s));
	s->first_cookie = -1;
	if ((rc = check_line_part(WIRE_TOKEN, "method", method, err, errlen)) < 0 ||
	    (rc = check_line_part(WIRE_TARGET, "request target", target, err, errlen)) < 0)
		return rc;
	if (m->authority && (rc = check_header_part(WIRE_FIELD_VALUE, "Host", 4, m->authority,
	                                            strlen(m->authority), ctl, err, errlen)) < 0)
		return rc;
	if (m->user_agent &&
	    (rc = check_header_part(WIRE_FIELD_VALUE, "User-Agent", 10, m->user_agent,
	                            strlen(m->user_agent), ctl, err, errlen)) < 0)
		return rc;
	if (m->cookie && m->cookie_len) {
		s->jar = m->cookie;
		s->jar_len = m->cookie_len;
		if ((rc = check_header_part(WIRE_FIELD_VALUE, "Cookie", 6, s->jar, s->jar_len, ctl,
		                            err, errlen)) < 0)
			return rc;
		trim_ows(&s->jar, &s->jar_len);
	}
	for (int i = 0; i < m->nheaders; i++)
		if ((rc = scan_one(m, i, s, &chunked, err, errlen)) < 0)
			return rc;
	if (s->transfer_encoding && !chunked)
		return bad_header(err, errlen, "Transfer-Encoding", 17,
		                  "the final coding must be chunked, or the body has no end");
	if (s->transfer_encoding && s->content_length) {
		snprintf(err, errlen,
		         "invalid headers: Content-Length must not be sent with "
		         "Transfer-Encoding");
		return -EINVAL;
	}
	return 0;
}

/* "name: value\r\n"; "name:\r\n" for an empty value. */
static void put_field(struct buf *b, const char *name, size_t nlen, const char *v, size_t vlen)
{
	buf_add(b, name, nlen);
	buf_add(b, ": ", vlen ? 2 : 1);
	buf_add(b, v, vlen);
	buf_add(b, "\r\n", 2);
}

/* RFC 6265 §5.4: one Cookie field, the user's values first, then the jar's. */
static void put_cookie(struct buf *b, const struct request_msg *m, const struct hdr_scan *s)
{
	bool any = false;

	buf_add(b, "Cookie:", 7);
	for (int i = s->first_cookie; i >= 0 && i < m->nheaders; i++) {
		const struct request_hdr *h = &m->headers[i];
		const char *v = h->value;
		size_t n = h->value_len;
		if (!hdr_is(h, "Cookie"))
			continue;
		trim_ows(&v, &n);
		if (n == 0)
			continue;
		buf_add(b, any ? "; " : " ", any ? 2 : 1);
		buf_add(b, v, n);
		any = true;
	}
	if (s->jar_len) {
		buf_add(b, any ? "; " : " ", any ? 2 : 1);
		buf_add(b, s->jar, s->jar_len);
	}
	buf_add(b, "\r\n", 2);
}

/* RFC 9110 §8.6: a user agent sends Content-Length in a POST even when it is 0. */
static bool method_wants_length(const char *method)
{
	return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	       strcmp(method, "PATCH") == 0;
}

static void put_head(struct buf *b, const struct request_msg *m, const struct hdr_scan *s)
{
	const char *auth = m->authority ? m->authority : "";
	const char *ua = m->user_agent ? m->user_agent : REQUEST_DEFAULT_UA;

	buf_addstr(b, m->method);
	buf_add(b, " ", 1);
	buf_addstr(b, m->target);
	buf_add(b, " HTTP/1.1\r\n", 11);
	if (!s->host)
		put_field(b, "Host", 4, auth, strlen(auth));
	if (!s->user_agent)
		put_field(b, "User-Agent", 10, ua, strlen(ua));
	for (int i = 0; i < m->nheaders; i++) {
		const struct request_hdr *h = &m->headers[i];
		if (i == s->first_cookie)
			put_cookie(b, m, s);
		else if (!hdr_is(h, "Cookie"))
			put_field(b, h->name, h->name_len, h->value, h->value_len);
	}
	if (s->first_cookie < 0 && s->jar_len)
		put_cookie(b, m, s);
	if (!s->transfer_encoding && !s->content_length &&
	    (m->body_len || method_wants_length(m->method))) {
		char num[48];
		int n = snprintf(num, sizeof(num), "Content-Length: %zu\r\n", m->body_len);
		buf_add(b, num, (size_t)n);
	}
	buf_add(b, "\r\n", 2);
}

/* The body as is, or (RFC 9112 §7.1) as one chunk, the last-chunk and no trailers. */
static void put_body(struct buf *b, const struct request_msg *m, bool chunked)
{
	char num[32];

	if (!chunked) {
		buf_add(b, m->body, m->body_len);
		return;
	}
	if (m->body_len) {
		int n = snprintf(num, sizeof(num), "%zx\r\n", m->body_len);
		buf_add(b, num, (size_t)n);
		buf_add(b, m->body, m->body_len);
		buf_add(b, "\r\n", 2);
	}
	buf_add(b, "0\r\n\r\n", 5);
}

int request_serialize(struct buf *out, const struct request_msg *m, char *err, size_t errlen)
{
	struct hdr_scan s;
	int rc;

	out->len = 0;
	if (out->p)
		out->p[0] = '\0';
	rc = scan(m, &s, err, errlen);
	if (rc < 0)
		return rc;
	put_head(out, m, &s);
	put_body(out, m, s.transfer_encoding);
	return 0;
}

/* "Name: value" into h, pointing into s; the value without its leading OWS. */
static int split_header(const char *s, struct request_hdr *h, char *err, size_t errlen)
{
	const char *colon = strchr(s, ':');
	char q[128];

	if (!colon) {
		wire_quote(q, sizeof(q), s, strlen(s), 40);
		snprintf(err, errlen, "invalid header '%s': expected 'Name: value'", q);
		return -EINVAL;
	}
	h->name = s;
	h->name_len = (size_t)(colon - s);
	h->value = colon + 1;
	while (is_ows(*h->value))
		h->value++;
	h->value_len = strlen(h->value);
	return 0;
}

bool request_headers_close(const struct request_hdr *h, int n)
{
	for (int i = 0; i < n; i++) {
		if (h[i].name_len != 10 || strncasecmp(h[i].name, "Connection", 10) != 0)
			continue;
		const char *p = h[i].value, *end = h[i].value + h[i].value_len;
		while (p < end) {
			while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
				p++;
			const char *t = p;
			while (p < end && *p != ',' && *p != ' ' && *p != '\t')
				p++;
			if (p - t == 5 && strncasecmp(t, "close", 5) == 0)
				return true;
		}
	}
	return false;
}

int request_build(const struct request_spec *spec, struct request *r, char *err, size_t errlen)
{
	const char *method = spec->method ? spec->method : "GET";
	const struct url *u = spec->url;
	struct request_hdr *h =
	    spec->nheaders > 0 ? xcalloc((size_t)spec->nheaders, sizeof(*h)) : NULL;
	struct request_msg m = { .method = method,
		                 .target = u->path,
		                 .authority = u->authority,
		                 .headers = h,
		                 .nheaders = spec->nheaders,
		                 .user_agent = spec->user_agent,
		                 .body = spec->body,
		                 .body_len = spec->body_len };
	struct buf b = { 0 };
	int rc = 0;

	memset(r, 0, sizeof(*r));
	for (int i = 0; i < spec->nheaders; i++)
		if ((rc = split_header(spec->headers[i], &h[i], err, errlen)) < 0)
			goto out_free_headers;
	rc = request_serialize(&b, &m, err, errlen);
	if (rc < 0) {
		buf_free(&b);
		goto out_free_headers;
	}
	r->method = xstrdup(method);
	r->close = request_headers_close(h, spec->nheaders);
	r->head = strcmp(method, "HEAD") == 0;
	r->idempotent = request_method_idempotent(method);
	size_t nlen = strlen(u->authority) + strlen(u->path) + 16;
	r->name = xmalloc(nlen);
	snprintf(r->name, nlen, "%s://%s%s", u->tls ? "https" : "http", u->authority, u->path);
	r->bytes = b.p;
	r->len = b.len;
out_free_headers:
	free(h);
	return rc;
}

void request_free(struct request *r)
{
	free(r->method);
	free(r->name);
	free(r->bytes);
	memset(r, 0, sizeof(*r));
}
