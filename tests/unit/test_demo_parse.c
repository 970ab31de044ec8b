/* test_demo_parse.c: the demo server's request parser, whole, split at every byte, malformed. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo_http.h"

/* What a parsed request looked like, copied out of the buffer. */
struct seen {
	int rc;
	int method;
	char path[256];
	char query[256];
	bool has_query;
	char auth[128];
	bool has_auth;
	char body[256];
	int minor;
	bool keep_alive;
	size_t total_len;
};

static void copy_out(char *dst, size_t cap, const char *src, size_t n)
{
	cr_assert_lt(n, cap, "field too long for the test buffer");
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void record(struct seen *s, int rc, const struct demo_req *r)
{
	memset(s, 0, sizeof(*s));
	s->rc = rc;
	if (rc != DEMO_PARSE_DONE)
		return;
	s->method = r->method;
	copy_out(s->path, sizeof(s->path), r->path, r->path_len);
	if (r->query) {
		s->has_query = true;
		copy_out(s->query, sizeof(s->query), r->query, r->query_len);
	}
	if (r->auth) {
		s->has_auth = true;
		copy_out(s->auth, sizeof(s->auth), r->auth, r->auth_len);
	}
	copy_out(s->body, sizeof(s->body), r->body, r->body_len);
	s->minor = r->minor;
	s->keep_alive = r->keep_alive;
	s->total_len = r->total_len;
}

/* Feed in all at once (the way the server does: the whole buffer from the request on). */
static int parse_whole(const char *in, size_t len, struct demo_req *req)
{
	struct demo_parser p;

	demo_parser_reset(&p);
	return demo_parser_feed(&p, in, len, req);
}

/* Feed in[0, cut) then in[0, len) through one parser, from a copy that moves between the
 * feeds (as a realloc'd buffer does), and record the result. */
static void parse_split(const char *in, size_t len, size_t cut, struct seen *out)
{
	struct demo_parser p;
	struct demo_req req;
	char *a = malloc(len + 1), *b = malloc(len + 1);

	memcpy(a, in, len);
	memcpy(b, in, len);
	demo_parser_reset(&p);
	int rc = demo_parser_feed(&p, a, cut, &req);
	if (rc == DEMO_PARSE_AGAIN) {
		memset(a, 'X', len); /* the parser must not keep pointers into the old buffer */
		rc = demo_parser_feed(&p, b, len, &req);
	}
	record(out, rc, &req);
	free(a);
	free(b);
}

struct valid_case {
	const char *name;
	const char *in;
	int method;
	const char *path;
	const char *query; /* NULL: none */
	const char *auth;  /* NULL: none */
	const char *body;
	int minor;
	bool keep_alive;
};

static const struct valid_case valid_cases[] = {
	{ "simple GET", "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", DEMO_GET, "/health", NULL, NULL,
	  "", 1, true },
	{ "query string", "GET /api/products?page=2&limit=5 HTTP/1.1\r\nHost: x\r\n\r\n", DEMO_GET,
	  "/api/products", "page=2&limit=5", NULL, "", 1, true },
	{ "empty query", "GET /a? HTTP/1.1\r\nHost: x\r\n\r\n", DEMO_GET, "/a", "", NULL, "", 1,
	  true },
	{ "POST with body and auth",
	  "POST /api/orders HTTP/1.1\r\nHost: localhost:8080\r\nAuthorization: Bearer t0k\r\n"
	  "Content-Type: application/json\r\nContent-Length: 14\r\n\r\n{\"quantity\":1}",
	  DEMO_POST, "/api/orders", NULL, "Bearer t0k", "{\"quantity\":1}", 1, true },
	{ "bare LF line endings", "GET /x HTTP/1.1\nHost: x\n\n", DEMO_GET, "/x", NULL, NULL, "", 1,
	  true },
	{ "leading empty lines", "\r\n\r\nGET /x HTTP/1.1\r\nHost: x\r\n\r\n", DEMO_GET, "/x", NULL,
	  NULL, "", 1, true },
	{ "connection close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", DEMO_GET,
	  "/", NULL, NULL, "", 1, false },
	{ "connection token list",
	  "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade,  CLOSE \r\n\r\n", DEMO_GET, "/", NULL,
	  NULL, "", 1, false },
	{ "HTTP/1.0 closes by default", "GET / HTTP/1.0\r\n\r\n", DEMO_GET, "/", NULL, NULL, "", 0,
	  false },
	{ "HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", DEMO_GET, "/",
	  NULL, NULL, "", 0, true },
	{ "HTTP/1.2 is 1.1", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", DEMO_GET, "/", NULL, NULL, "", 1,
	  true },
	{ "absolute form",
	  "GET http://example.com:80/api/products/7?x=1 HTTP/1.1\r\nHost: e\r\n\r\n", DEMO_GET,
	  "/api/products/7", "x=1", NULL, "", 1, true },
	{ "absolute form without path", "GET HTTPS://example.com HTTP/1.1\r\nHost: e\r\n\r\n",
	  DEMO_GET, "/", NULL, NULL, "", 1, true },
	{ "asterisk form", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", DEMO_OPTIONS, "*", NULL, NULL,
	  "", 1, true },
	{ "unknown method token", "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", DEMO_METHOD_OTHER,
	  "/pot", NULL, NULL, "", 1, true },
	{ "header whitespace trimmed",
	  "GET / HTTP/1.1\r\nHost:x\r\nAuthorization: \t a b \t\r\n\r\n", DEMO_GET, "/", NULL,
	  "a b", "", 1, true },
	{ "obs-text in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-Name: caf\xc3\xa9\r\n\r\n",
	  DEMO_GET, "/", NULL, NULL, "", 1, true },
	{ "identical duplicate content-length",
	  "PUT /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc",
	  DEMO_PUT, "/p", NULL, NULL, "abc", 1, true },
	{ "GET with a body", "GET /g HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", DEMO_GET,
	  "/g", NULL, NULL, "hi", 1, true },
	{ "HEAD", "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n", DEMO_HEAD, "/health", NULL, NULL, "",
	  1, true },
	{ "expect 100-continue with the body",
	  "POST /a HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nz",
	  DEMO_POST, "/a", NULL, NULL, "z", 1, true },
};

static void check_valid(const struct valid_case *c, const struct seen *s, const char *how)
{
	cr_assert_eq(s->rc, DEMO_PARSE_DONE, "%s (%s): rc %d", c->name, how, s->rc);
	cr_assert_eq(s->method, c->method, "%s (%s): method", c->name, how);
	cr_assert_str_eq(s->path, c->path, "%s (%s): path", c->name, how);
	cr_assert_eq(s->has_query, c->query != NULL, "%s (%s): query presence", c->name, how);
	if (c->query)
		cr_assert_str_eq(s->query, c->query, "%s (%s): query", c->name, how);
	cr_assert_eq(s->has_auth, c->auth != NULL, "%s (%s): auth presence", c->name, how);
	if (c->auth)
		cr_assert_str_eq(s->auth, c->auth, "%s (%s): auth", c->name, how);
	cr_assert_str_eq(s->body, c->body, "%s (%s): body", c->name, how);
	cr_assert_eq(s->minor, c->minor, "%s (%s): minor", c->name, how);
	cr_assert_eq(s->keep_alive, c->keep_alive, "%s (%s): keep-alive", c->name, how);
	cr_assert_eq(s->total_len, strlen(c->in), "%s (%s): total_len", c->name, how);
}

Test(demo_parse, valid_requests_whole)
{
	for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		const struct valid_case *c = &valid_cases[i];
		struct demo_req req;
		struct seen s;

		record(&s, parse_whole(c->in, strlen(c->in), &req), &req);
		check_valid(c, &s, "whole");
	}
}

Test(demo_parse, valid_requests_split_at_every_byte)
{
	for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		const struct valid_case *c = &valid_cases[i];
		size_t len = strlen(c->in);

		for (size_t cut = 0; cut < len; cut++) {
			struct seen s;
			char how[32];

			snprintf(how, sizeof(how), "cut at %zu", cut);
			parse_split(c->in, len, cut, &s);
			check_valid(c, &s, how);
		}
	}
}

Test(demo_parse, valid_requests_byte_by_byte)
{
	for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		const struct valid_case *c = &valid_cases[i];
		size_t len = strlen(c->in);
		struct demo_parser p;
		struct demo_req req;
		struct seen s;
		int rc = DEMO_PARSE_AGAIN;

		demo_parser_reset(&p);
		for (size_t n = 1; n <= len; n++) {
			rc = demo_parser_feed(&p, c->in, n, &req);
			if (n < len)
				cr_assert_eq(rc, DEMO_PARSE_AGAIN,
				             "%s: rc %d after %zu of %zu bytes", c->name, rc, n,
				             len);
		}
		record(&s, rc, &req);
		check_valid(c, &s, "byte by byte");
	}
}

Test(demo_parse, pipelined_requests_in_order)
{
	const char *in = "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
	                 "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
	                 "GET /three HTTP/1.1\r\nHost: x\r\n\r\n"
	                 "GET /fou";
	const char *want[] = { "/one", "/two", "/three" };
	size_t len = strlen(in), off = 0;
	struct demo_parser p;
	struct demo_req req;

	for (int i = 0; i < 3; i++) {
		struct seen s;

		demo_parser_reset(&p);
		record(&s, demo_parser_feed(&p, in + off, len - off, &req), &req);
		cr_assert_eq(s.rc, DEMO_PARSE_DONE, "request %d", i);
		cr_assert_str_eq(s.path, want[i]);
		off += s.total_len;
	}
	demo_parser_reset(&p);
	cr_assert_eq(demo_parser_feed(&p, in + off, len - off, &req), DEMO_PARSE_AGAIN);
}

Test(demo_parse, expect_continue_reported_before_the_body)
{
	const char *in = "POST /api/orders HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
	                 "Content-Length: 5\r\n\r\n";
	struct demo_parser p;
	struct demo_req req;

	demo_parser_reset(&p);
	cr_assert_eq(demo_parser_feed(&p, in, strlen(in), &req), DEMO_PARSE_AGAIN);
	cr_assert(p.head_done);
	cr_assert(req.expect_continue);

	/* HTTP/1.0 clients never wait for it (RFC 9110 §10.1.1) */
	const char *in10 = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
	demo_parser_reset(&p);
	cr_assert_eq(demo_parser_feed(&p, in10, strlen(in10), &req), DEMO_PARSE_AGAIN);
	cr_assert_not(req.expect_continue);
}

struct bad_case {
	const char *name;
	const char *in;
	int status;
};

static const struct bad_case bad_cases[] = {
	{ "garbage line", "GARBAGE\r\n\r\n", 400 },
	{ "no version", "GET /\r\nHost: x\r\n\r\n", 400 },
	{ "two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "lower-case version", "GET / http/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "version without minor", "GET / HTTP/1\r\nHost: x\r\n\r\n", 400 },
	{ "trailing junk after version", "GET / HTTP/1.1 x\r\nHost: x\r\n\r\n", 400 },
	{ "HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505 },
	{ "HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505 },
	{ "relative target", "GET health HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "control char in target", "GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "non-ascii target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "absolute form without authority", "GET http:///x HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "bad method char", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "missing host", "GET / HTTP/1.1\r\n\r\n", 400 },
	{ "two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
	{ "header without colon", "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400 },
	{ "space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400 },
	{ "empty header name", "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 400 },
	{ "obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n", 400 },
	{ "bare CR", "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", 400 },
	{ "bare CR in the request line", "GET /\r HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "DEL in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: \x7f\r\n\r\n", 400 },
	{ "letters in content-length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1a\r\n\r\n",
	  400 },
	{ "signed content-length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\nx",
	  400 },
	{ "empty content-length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400 },
	{ "content-length list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\nx",
	  400 },
	{ "conflicting content-length",
	  "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", 400 },
	{ "chunked body",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411 },
	{ "gzip transfer coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
	  501 },
	{ "transfer-encoding and content-length",
	  "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	  400 },
	{ "transfer-encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	  400 },
	{ "body too large", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n", 413 },
	{ "huge content-length",
	  "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999999\r\n\r\n", 413 },
	{ "unknown expectation", "POST / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417 },
	{ "two authorizations",
	  "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n", 400 },
	{ "method too long", "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJ / HTTP/1.1\r\nHost: x\r\n\r\n",
	  400 },
};

Test(demo_parse, malformed_requests_get_the_right_status)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		size_t len = strlen(c->in);
		struct demo_req req;

		int rc = parse_whole(c->in, len, &req);
		cr_assert_eq(rc, DEMO_PARSE_ERROR, "%s: rc %d", c->name, rc);
		cr_assert_eq(req.status, c->status, "%s: status %d, want %d", c->name, req.status,
		             c->status);
		cr_assert_not_null(req.error, "%s: no reason", c->name);

		/* the same verdict when the bytes come one at a time, and never a request */
		struct demo_parser p;
		demo_parser_reset(&p);
		rc = DEMO_PARSE_AGAIN;
		for (size_t n = 1; n <= len && rc == DEMO_PARSE_AGAIN; n++)
			rc = demo_parser_feed(&p, c->in, n, &req);
		cr_assert_eq(rc, DEMO_PARSE_ERROR, "%s byte by byte: rc %d", c->name, rc);
		cr_assert_eq(req.status, c->status, "%s byte by byte: status %d", c->name,
		             req.status);
		/* sticky */
		cr_assert_eq(demo_parser_feed(&p, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, &req),
		             DEMO_PARSE_ERROR);
	}
}

Test(demo_parse, binary_bytes_are_rejected)
{
	static const char nul[] = "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n";
	static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
	struct demo_req req;

	cr_assert_eq(parse_whole(nul, sizeof(nul) - 1, &req), DEMO_PARSE_ERROR);
	cr_assert_eq(req.status, 400);
	cr_assert_eq(parse_whole(tls, sizeof(tls) - 1, &req), DEMO_PARSE_ERROR);
	cr_assert_eq(req.status, 400);
}

Test(demo_parse, garbage_is_rejected_before_a_line_ends)
{
	struct demo_req req;

	cr_assert_eq(parse_whole("\x16\x03", 2, &req), DEMO_PARSE_ERROR);
	cr_assert_eq(parse_whole("GE\x01", 3, &req), DEMO_PARSE_ERROR);
	/* a method so far and a lone CR (an empty line's) are fine */
	cr_assert_eq(parse_whole("GE", 2, &req), DEMO_PARSE_AGAIN);
	cr_assert_eq(parse_whole("\r", 1, &req), DEMO_PARSE_AGAIN);
}

/* A request whose request line has line_len bytes of target and nheaders headers of
 * value_len bytes each. */
static char *make_request(size_t target_len, int nheaders, size_t value_len, size_t *len)
{
	size_t cap = target_len + (size_t)nheaders * (value_len + 32) + 256;
	char *buf = malloc(cap);
	size_t n = 0;

	n += (size_t)snprintf(buf + n, cap - n, "GET /");
	memset(buf + n, 'a', target_len);
	n += target_len;
	n += (size_t)snprintf(buf + n, cap - n, " HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < nheaders; i++) {
		n += (size_t)snprintf(buf + n, cap - n, "X-H%d: ", i);
		memset(buf + n, 'v', value_len);
		n += value_len;
		n += (size_t)snprintf(buf + n, cap - n, "\r\n");
	}
	n += (size_t)snprintf(buf + n, cap - n, "\r\n");
	*len = n;
	return buf;
}

static int parse_len(const char *in, size_t len, int *status)
{
	struct demo_req req;
	int rc = parse_whole(in, len, &req);

	*status = req.status;
	return rc;
}

Test(demo_parse, limits)
{
	size_t len;
	int status;
	char *r;

	r = make_request(8000, 2, 10, &len); /* long but within limits */
	cr_assert_eq(parse_len(r, len, &status), DEMO_PARSE_DONE);
	free(r);

	r = make_request(9000, 0, 0, &len);
	cr_assert_eq(parse_len(r, len, &status), DEMO_PARSE_ERROR);
	cr_assert_eq(status, 414);
	cr_assert_eq(parse_len(r, 8500, &status), DEMO_PARSE_ERROR, "414 before the line ends");
	cr_assert_eq(status, 414);
	free(r);

	r = make_request(10, 40, 500, &len); /* 20 kB of headers */
	cr_assert_eq(parse_len(r, len, &status), DEMO_PARSE_ERROR);
	cr_assert_eq(status, 431);
	free(r);

	r = make_request(10, 1, 20000, &len); /* one 20 kB header, still incomplete */
	cr_assert_eq(parse_len(r, 17000, &status), DEMO_PARSE_ERROR);
	cr_assert_eq(status, 431);
	free(r);

	r = make_request(10, DEMO_MAX_HEADERS - 1, 4, &len); /* + Host = the limit */
	cr_assert_eq(parse_len(r, len, &status), DEMO_PARSE_DONE);
	free(r);
	r = make_request(10, DEMO_MAX_HEADERS, 4, &len);
	cr_assert_eq(parse_len(r, len, &status), DEMO_PARSE_ERROR);
	cr_assert_eq(status, 431);
	free(r);

	char head[128];
	snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n",
	         DEMO_MAX_BODY);
	cr_assert_eq(parse_len(head, strlen(head), &status), DEMO_PARSE_AGAIN,
	             "the largest body is accepted");
}

Test(demo_parse, method_names)
{
	cr_assert_str_eq(demo_method_name(DEMO_GET), "GET");
	cr_assert_str_eq(demo_method_name(DEMO_OPTIONS), "OPTIONS");
	cr_assert_str_eq(demo_method_name(DEMO_METHOD_OTHER), "OTHER");
	cr_assert_str_eq(demo_method_name((enum demo_method)99), "OTHER");
}
