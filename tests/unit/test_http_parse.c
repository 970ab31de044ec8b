/* test_http_parse.c: HTTP/1.1 response parser, fed whole and split at every byte boundary. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/http_parse.h"

#define MAX_RESP 6

/* What the callbacks saw for one response. */
struct got {
	int status;
	int nstatus;
	int nheaders_done;
	bool keep_alive;
	int64_t content_length;
	char headers[2048];
	size_t hlen;
	char body[2048];
	size_t blen;
};

struct rec {
	struct http_parser *p;
	struct got resp[MAX_RESP];
	int n; /* responses completed */
	int body_calls;
	bool overflow;
};

static struct got *rec_cur(struct rec *rc)
{
	return &rc->resp[rc->n < MAX_RESP ? rc->n : MAX_RESP - 1];
}

static void rec_append(struct rec *rc, char *buf, size_t *len, size_t cap, const char *s, size_t n)
{
	if (*len + n + 1 > cap) {
		rc->overflow = true;
		return;
	}
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
}

static void rec_status(void *ud, int status)
{
	struct got *g = rec_cur(ud);

	g->status = status;
	g->nstatus++;
}

static void rec_header(void *ud, const char *name, size_t nlen, const char *val, size_t vlen)
{
	struct rec *rc = ud;
	struct got *g = rec_cur(rc);

	rec_append(rc, g->headers, &g->hlen, sizeof(g->headers), name, nlen);
	rec_append(rc, g->headers, &g->hlen, sizeof(g->headers), ": ", 2);
	rec_append(rc, g->headers, &g->hlen, sizeof(g->headers), val, vlen);
	rec_append(rc, g->headers, &g->hlen, sizeof(g->headers), "\n", 1);
}

static void rec_headers_done(void *ud)
{
	rec_cur(ud)->nheaders_done++;
}

static void rec_body(void *ud, const char *data, size_t len)
{
	struct rec *rc = ud;
	struct got *g = rec_cur(rc);

	rc->body_calls++;
	rec_append(rc, g->body, &g->blen, sizeof(g->body), data, len);
}

static void rec_complete(void *ud)
{
	struct rec *rc = ud;
	struct got *g = rec_cur(rc);

	g->keep_alive = rc->p->keep_alive;
	g->content_length = rc->p->content_length;
	if (rc->n < MAX_RESP)
		rc->n++;
	else
		rc->overflow = true;
}

static const struct http_parser_cb rec_cb = {
	.on_status = rec_status,
	.on_header = rec_header,
	.on_headers_done = rec_headers_done,
	.on_body = rec_body,
	.on_complete = rec_complete,
};

struct drive_opts {
	const bool *head;     /* head_request per response, NULL for none */
	size_t cut;           /* feed [0, cut) then [cut, len); 0 = all at once */
	size_t step;          /* feed step bytes at a time when non-zero */
	size_t max_hdr_bytes; /* limits; 0 = default */
	int max_headers;
};

/*
 * Run a parser over in the way a connection would: feed pieces, reset after each completed
 * response and feed the rest, signal EOF at the end unless idle. Returns the final error.
 */
static enum http_perr drive(struct rec *rc, const char *in, size_t len, const struct drive_opts *o)
{
	struct http_parser p;
	enum http_perr err;
	size_t off = 0;

	memset(rc, 0, sizeof(*rc));
	http_parser_init(&p, &rec_cb, rc);
	if (o->max_hdr_bytes)
		p.max_header_bytes = o->max_hdr_bytes;
	if (o->max_headers)
		p.max_headers = o->max_headers;
	http_parser_reset(&p, o->head && o->head[0]);
	rc->p = &p;
	while (off < len) {
		size_t end = o->step ? off + o->step : off < o->cut ? o->cut : len;

		if (end > len)
			end = len;
		while (off < end) {
			size_t used = http_parser_feed(&p, in + off, end - off);

			cr_assert_leq(used, end - off);
			off += used;
			if (p.error != HPE_OK) {
				err = p.error;
				goto out;
			}
			if (http_parser_done(&p)) {
				http_parser_reset(&p,
				                  o->head && rc->n < MAX_RESP && o->head[rc->n]);
				continue;
			}
			cr_assert_eq(off, end, "feed stopped early without completing (off %zu)",
			             off);
		}
	}
	err = http_parser_idle(&p) ? p.error : http_parser_eof(&p);
out:
	rc->p = NULL;
	http_parser_free(&p);
	return err;
}

struct want {
	int status;
	bool keep_alive;
	const char *headers;
	const char *body;
};

struct valid_case {
	const char *name;
	const char *in;
	bool head[MAX_RESP];
	int n;
	struct want want[MAX_RESP];
};

static const struct valid_case valid_cases[] = {
	{ "content-length",
	  "HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 5\r\n\r\nhello",
	  { false },
	  1,
	  { { 200, true, "Server: t\nContent-Length: 5\n", "hello" } } },
	{ "chunked with extensions and trailers",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "5;foo=bar\r\nhello\r\n6 ; ext ; a=\"b\"\r\n world\r\n00A\r\n0123456789\r\n"
	  "0;last\r\nX-Trailer: yes\r\nX-Other: 1\r\n\r\n",
	  { false },
	  1,
	  { { 200, true, "Transfer-Encoding: chunked\n", "hello world0123456789" } } },
	{ "close-delimited",
	  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this\r\nuntil close",
	  { false },
	  1,
	  { { 200, false, "Content-Type: text/plain\n", "all of this\r\nuntil close" } } },
	{ "HEAD with content-length",
	  "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
	  { true },
	  1,
	  { { 200, true, "Content-Length: 1234\n", "" } } },
	{ "204 with content-length",
	  "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
	  { false },
	  1,
	  { { 204, true, "Content-Length: 10\n", "" } } },
	{ "304 with content-length and chunked",
	  "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n",
	  { false },
	  1,
	  { { 304, true, "Content-Length: 10\nTransfer-Encoding: chunked\n", "" } } },
	{ "100-continue and 103 before 200",
	  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
	  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	  { false },
	  1,
	  { { 200, true, "Content-Length: 2\n", "ok" } } },
	{ "HTTP/1.0 keep-alive",
	  "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 3\r\n\r\nabc",
	  { false },
	  1,
	  { { 200, true, "Connection: Keep-Alive\nContent-Length: 3\n", "abc" } } },
	{ "HTTP/1.0 default close",
	  "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc",
	  { false },
	  1,
	  { { 200, false, "Content-Length: 3\n", "abc" } } },
	{ "connection close in a token list",
	  "HTTP/1.1 200 OK\r\nconnection: Upgrade, CLOSE\r\nContent-Length: 2\r\n\r\nhi",
	  { false },
	  1,
	  { { 200, false, "connection: Upgrade, CLOSE\nContent-Length: 2\n", "hi" } } },
	{ "pipelined",
	  "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
	  "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
	  "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
	  "HTTP/1.1 304 Not Modified\r\n\r\n"
	  "HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nz",
	  { false, false, true, false, false },
	  5,
	  { { 200, true, "Content-Length: 3\n", "abc" },
	    { 201, true, "Transfer-Encoding: chunked\n", "xy" },
	    { 200, true, "Content-Length: 100\n", "" },
	    { 304, true, "", "" },
	    { 404, true, "Content-Length: 1\n", "z" } } },
	{ "bare LF line endings",
	  "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"
	  "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n1\na\n0\n\n",
	  { false },
	  2,
	  { { 200, true, "Content-Length: 2\n", "ok" },
	    { 200, true, "Transfer-Encoding: chunked\n", "a" } } },
	{ "status without reason",
	  "HTTP/1.1 204\r\n\r\nHTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
	  { false },
	  2,
	  { { 204, true, "", "" }, { 200, true, "Content-Length: 0\n", "" } } },
	{ "stray empty lines before the status line",
	  "\r\n\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	  { false },
	  1,
	  { { 200, true, "Content-Length: 0\n", "" } } },
	{ "OWS trimmed, empty value, odd names",
	  "HTTP/1.1 200 OK\r\nX-A: \t spaced  value \t\r\nX-Empty:\r\nX-E2:   \r\n"
	  "!#$%&'*+-.^_`|~09az: tok\r\nContent-Length: 5, 5\r\n\r\nhello",
	  { false },
	  1,
	  { { 200, true,
	      "X-A: spaced  value\nX-Empty: \nX-E2: \n!#$%&'*+-.^_`|~09az: tok\n"
	      "Content-Length: 5, 5\n",
	      "hello" } } },
	{ "TE chunked overrides CL, not reused",
	  "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
	  "3\r\nabc\r\n0\r\n\r\n",
	  { false },
	  1,
	  { { 200, false, "Content-Length: 99\nTransfer-Encoding: gzip, Chunked\n", "abc" } } },
	{ "TE not ending in chunked reads until close",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"
	  "3\r\nabc\r\n0\r\n\r\n",
	  { false },
	  1,
	  { { 200, false, "Transfer-Encoding: chunked\nTransfer-Encoding: gzip\n",
	      "3\r\nabc\r\n0\r\n\r\n" } } },
	{ "HTTP/1.0 with chunked is not reused",
	  "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "1\r\nx\r\n0\r\n\r\n",
	  { false },
	  1,
	  { { 200, false, "Connection: keep-alive\nTransfer-Encoding: chunked\n", "x" } } },
	{ "HEAD then GET with the same framing",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n",
	  { true, false },
	  2,
	  { { 200, true, "Transfer-Encoding: chunked\n", "" },
	    { 200, true, "Transfer-Encoding: chunked\n", "body" } } },
};

static void check_valid(const struct valid_case *c, const struct drive_opts *o, const char *how)
{
	struct rec rc;
	enum http_perr err = drive(&rc, c->in, strlen(c->in), o);

	cr_assert_eq(err, HPE_OK, "%s [%s]: error %s", c->name, how, http_perr_name(err));
	cr_assert(!rc.overflow, "%s [%s]: recorder overflow", c->name, how);
	cr_assert_eq(rc.n, c->n, "%s [%s]: %d responses, want %d", c->name, how, rc.n, c->n);
	for (int i = 0; i < c->n; i++) {
		const struct want *w = &c->want[i];
		const struct got *g = &rc.resp[i];

		cr_assert_eq(g->nstatus, 1, "%s [%s] #%d: on_status x%d", c->name, how, i,
		             g->nstatus);
		cr_assert_eq(g->nheaders_done, 1, "%s [%s] #%d", c->name, how, i);
		cr_assert_eq(g->status, w->status, "%s [%s] #%d: status %d", c->name, how, i,
		             g->status);
		cr_assert_eq(g->keep_alive, w->keep_alive, "%s [%s] #%d: keep_alive", c->name, how,
		             i);
		cr_assert_str_eq(g->headers, w->headers, "%s [%s] #%d: headers", c->name, how, i);
		cr_assert_str_eq(g->body, w->body, "%s [%s] #%d: body", c->name, how, i);
	}
}

Test(http_parse, valid_whole)
{
	for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		struct drive_opts o = { .head = valid_cases[i].head };

		check_valid(&valid_cases[i], &o, "whole");
	}
}

Test(http_parse, valid_split_everywhere)
{
	for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		size_t len = strlen(valid_cases[i].in);

		for (size_t cut = 1; cut < len; cut++) {
			struct drive_opts o = { .head = valid_cases[i].head, .cut = cut };
			char how[32];

			snprintf(how, sizeof(how), "cut %zu", cut);
			check_valid(&valid_cases[i], &o, how);
		}
	}
}

Test(http_parse, valid_byte_at_a_time)
{
	for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		struct drive_opts o = { .head = valid_cases[i].head, .step = 1 };

		check_valid(&valid_cases[i], &o, "bytewise");
	}
}

struct bad_case {
	const char *name;
	const char *in;
	size_t len; /* 0 = strlen(in) */
	enum http_perr want;
};

#define CHUNKED_HEAD "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

static const struct bad_case bad_cases[] = {
	{ "garbage status line", "garbage\r\n\r\n", 0, HPE_BAD_STATUS_LINE },
	{ "lower-case protocol", "http/1.1 200 OK\r\n\r\n", 0, HPE_BAD_STATUS_LINE },
	{ "HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", 0, HPE_BAD_VERSION },
	{ "HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", 0, HPE_BAD_VERSION },
	{ "two-digit version", "HTTP/1.10 200 OK\r\n\r\n", 0, HPE_BAD_STATUS_LINE },
	{ "status with a letter", "HTTP/1.1 2x0 OK\r\n\r\n", 0, HPE_BAD_STATUS_LINE },
	{ "two-digit status", "HTTP/1.1 20 OK\r\n\r\n", 0, HPE_BAD_STATUS_LINE },
	{ "four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", 0, HPE_BAD_STATUS_LINE },
	{ "status below 100", "HTTP/1.1 099 OK\r\n\r\n", 0, HPE_BAD_STATUS_LINE },
	{ "double space", "HTTP/1.1  200 OK\r\n\r\n", 0, HPE_BAD_STATUS_LINE },
	{ "bare CR in status line", "HTTP/1.1 200 O\rK\r\n\r\n", 0, HPE_BAD_STATUS_LINE },
	{ "NUL in reason", "HTTP/1.1 200 O\0K\r\n\r\n", 20, HPE_BAD_STATUS_LINE },
	{ "bare CR before status", "\rHTTP/1.1 200 OK\r\n\r\n", 0, HPE_BAD_STATUS_LINE },
	{ "empty line after 100", "HTTP/1.1 100 Continue\r\n\r\n\r\n", 0, HPE_BAD_STATUS_LINE },
	{ "header without colon", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", 0, HPE_BAD_HEADER },
	{ "space before colon", "HTTP/1.1 200 OK\r\nName : v\r\n\r\n", 0, HPE_BAD_HEADER },
	{ "empty name", "HTTP/1.1 200 OK\r\n: v\r\n\r\n", 0, HPE_BAD_HEADER },
	{ "obs-fold", "HTTP/1.1 200 OK\r\nA: b\r\n  c\r\n\r\n", 0, HPE_BAD_HEADER },
	{ "leading whitespace", "HTTP/1.1 200 OK\r\n\tA: b\r\n\r\n", 0, HPE_BAD_HEADER },
	{ "bad name char", "HTTP/1.1 200 OK\r\nA(b): c\r\n\r\n", 0, HPE_BAD_HEADER },
	{ "bare CR in value", "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", 0, HPE_BAD_HEADER },
	{ "NUL in value", "HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n", 27, HPE_BAD_HEADER },
	{ "bad trailer", CHUNKED_HEAD "0\r\nNoColon\r\n\r\n", 0, HPE_BAD_HEADER },
	{ "bad chunk size", CHUNKED_HEAD "zz\r\n", 0, HPE_BAD_CHUNK },
	{ "empty chunk size", CHUNKED_HEAD "\r\n", 0, HPE_BAD_CHUNK },
	{ "chunk size junk", CHUNKED_HEAD "5 x\r\nhello\r\n", 0, HPE_BAD_CHUNK },
	{ "chunk size overflow", CHUNKED_HEAD "ffffffffffffffffff\r\n", 0, HPE_BAD_CHUNK },
	{ "chunk size just over", CHUNKED_HEAD "8000000000000000\r\n", 0, HPE_BAD_CHUNK },
	{ "missing CRLF after data", CHUNKED_HEAD "5\r\nhelloXX\r\n0\r\n\r\n", 0, HPE_BAD_CHUNK },
	{ "CR without LF after data", CHUNKED_HEAD "5\r\nhello\rX", 0, HPE_BAD_CHUNK },
	{ "CL abc", "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", 0, HPE_BAD_CONTENT_LENGTH },
	{ "CL empty", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", 0, HPE_BAD_CONTENT_LENGTH },
	{ "CL negative", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0,
	  HPE_BAD_CONTENT_LENGTH },
	{ "CL plus", "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n", 0, HPE_BAD_CONTENT_LENGTH },
	{ "CL overflow", "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n", 0,
	  HPE_BAD_CONTENT_LENGTH },
	{ "conflicting CLs", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 0,
	  HPE_BAD_CONTENT_LENGTH },
	{ "conflicting CL list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", 0,
	  HPE_BAD_CONTENT_LENGTH },
	{ "CL list with empty element", "HTTP/1.1 200 OK\r\nContent-Length: 5,\r\n\r\n", 0,
	  HPE_BAD_CONTENT_LENGTH },
	{ "TE chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 0,
	  HPE_BAD_TRANSFER_ENCODING },
	{ "TE empty", "HTTP/1.1 200 OK\r\nTransfer-Encoding: , \r\n\r\n", 0,
	  HPE_BAD_TRANSFER_ENCODING },
	{ "TE bad token", "HTTP/1.1 200 OK\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 0,
	  HPE_BAD_TRANSFER_ENCODING },
	{ "truncated body at eof", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", 0,
	  HPE_TRUNCATED },
	{ "truncated chunked at eof", CHUNKED_HEAD "5\r\nhel", 0, HPE_TRUNCATED },
	{ "truncated before last CRLF", CHUNKED_HEAD "5\r\nhello\r\n0\r\n", 0, HPE_TRUNCATED },
	{ "truncated in headers", "HTTP/1.1 200 OK\r\nServer: x", 0, HPE_TRUNCATED },
	{ "truncated after 100", "HTTP/1.1 100 Continue\r\n\r\n", 0, HPE_TRUNCATED },
	{ "truncated status line", "HTTP/1.1 20", 0, HPE_TRUNCATED },
	{ "error after a good response",
	  "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", 0,
	  HPE_BAD_HEADER },
};

static void check_bad(const struct bad_case *c, const struct drive_opts *o, const char *how)
{
	struct rec rc;
	size_t len = c->len ? c->len : strlen(c->in);
	enum http_perr err = drive(&rc, c->in, len, o);

	cr_assert_eq(err, c->want, "%s [%s]: got %s, want %s", c->name, how, http_perr_name(err),
	             http_perr_name(c->want));
}

Test(http_parse, malformed_whole_and_split)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		struct drive_opts o = { 0 };

		check_bad(c, &o, "whole");
		o.step = 1;
		check_bad(c, &o, "bytewise");
		o.step = 0;
		for (o.cut = 1; o.cut < len; o.cut++)
			check_bad(c, &o, "cut");
	}
}

/* A response with n header lines "X-Hnnnn: " plus vlen value bytes each. */
static char *make_headers(int n, size_t vlen, size_t *len)
{
	size_t cap = 64 + (size_t)n * (vlen + 16);
	char *buf = malloc(cap);
	size_t off = 0;

	cr_assert_not_null(buf);
	off += sprintf(buf, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < n; i++) {
		off += sprintf(buf + off, "X-H%04d: ", i);
		memset(buf + off, 'v', vlen);
		off += vlen;
		off += sprintf(buf + off, "\r\n");
	}
	off += sprintf(buf + off, "Content-Length: 0\r\n\r\n");
	*len = off;
	return buf;
}

static void check_generated(const char *in, size_t len, const struct drive_opts *base,
                            enum http_perr want, const char *name)
{
	struct drive_opts o = *base;
	struct rec rc;
	size_t cuts[] = { 1, 17, 100, 4096, 8191, 8192, 8193, len / 2, len - 1 };
	enum http_perr err;

	err = drive(&rc, in, len, &o);
	cr_assert_eq(err, want, "%s whole: %s", name, http_perr_name(err));
	o.step = 1;
	err = drive(&rc, in, len, &o);
	cr_assert_eq(err, want, "%s bytewise: %s", name, http_perr_name(err));
	o.step = 0;
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		o.cut = cuts[i] < len ? cuts[i] : 0;
		err = drive(&rc, in, len, &o);
		cr_assert_eq(err, want, "%s cut %zu: %s", name, o.cut, http_perr_name(err));
	}
}

Test(http_parse, oversized_header_block)
{
	struct drive_opts o = { 0 };
	size_t len;
	char *in = make_headers(10, 7000, &len);

	cr_assert_gt(len, HTTP_MAX_HEADER_BYTES_DEFAULT);
	check_generated(in, len, &o, HPE_HEADER_TOO_LARGE, "10x7000");
	free(in);

	/* just under the limit passes */
	in = make_headers(9, 7000, &len);
	check_generated(in, len, &o, HPE_OK, "9x7000");
	free(in);
}

Test(http_parse, header_byte_limit_is_exact)
{
	const char *in = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	size_t len = strlen(in);
	struct drive_opts o = { .max_hdr_bytes = len };

	check_generated(in, len, &o, HPE_OK, "at limit");
	o.max_hdr_bytes = len - 1;
	check_generated(in, len, &o, HPE_HEADER_TOO_LARGE, "one over");
}

Test(http_parse, single_line_longer_than_linebuf)
{
	struct drive_opts o = { 0 };
	size_t lim = HTTP_LINE_MAX, len;
	/* "X-H0000: " is 9 bytes; with CR the line is exactly the buffer size */
	char *in = make_headers(1, lim - 10, &len);

	check_generated(in, len, &o, HPE_OK, "fits");
	free(in);
	in = make_headers(1, lim - 9, &len);
	check_generated(in, len, &o, HPE_HEADER_TOO_LARGE, "one over");
	free(in);
}

Test(http_parse, too_many_headers)
{
	struct drive_opts o = { 0 };
	size_t len;
	/* make_headers adds Content-Length, so n + 1 fields */
	char *in = make_headers(HTTP_MAX_HEADERS_DEFAULT, 3, &len);

	check_generated(in, len, &o, HPE_TOO_MANY_HEADERS, "101");
	free(in);
	in = make_headers(HTTP_MAX_HEADERS_DEFAULT - 1, 3, &len);
	check_generated(in, len, &o, HPE_OK, "100");
	free(in);
}

Test(http_parse, trailers_count_toward_limits)
{
	const char *in = CHUNKED_HEAD "0\r\nA: 1\r\nB: 2\r\n\r\n";
	struct drive_opts o = { .max_headers = 3 };

	check_generated(in, strlen(in), &o, HPE_OK, "3 fields");
	o.max_headers = 2;
	check_generated(in, strlen(in), &o, HPE_TOO_MANY_HEADERS, "2 fields");
	o.max_headers = 0;
	o.max_hdr_bytes = strlen(CHUNKED_HEAD) + 8;
	check_generated(in, strlen(in), &o, HPE_HEADER_TOO_LARGE, "bytes");
}

Test(http_parse, body_is_one_span_and_return_values)
{
	const char *in = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 204 No\r\n\r\n";
	size_t first = strlen("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
	struct rec rc;
	struct http_parser p;
	size_t used;

	memset(&rc, 0, sizeof(rc));
	http_parser_init(&p, &rec_cb, &rc);
	rc.p = &p;
	cr_assert(http_parser_idle(&p));
	used = http_parser_feed(&p, in, strlen(in));
	cr_assert_eq(used, first);
	cr_assert(http_parser_done(&p));
	cr_assert_eq(rc.n, 1);
	cr_assert_eq(rc.body_calls, 1);
	cr_assert_eq(p.body_bytes, 5);
	cr_assert_eq(p.content_length, 5);
	cr_assert_eq(p.header_bytes, first - 5);
	cr_assert_eq(p.nheaders, 1);
	cr_assert_eq(p.minor_version, 1);
	/* done: nothing more is consumed until reset */
	cr_assert_eq(http_parser_feed(&p, in + used, strlen(in) - used), 0);
	cr_assert_eq(http_parser_eof(&p), HPE_OK);
	http_parser_reset(&p, false);
	cr_assert(http_parser_idle(&p));
	cr_assert_eq(p.content_length, -1);
	used = http_parser_feed(&p, in + first, strlen(in) - first);
	cr_assert_eq(used, strlen(in) - first);
	cr_assert(http_parser_done(&p));
	cr_assert_eq(p.status, 204);
	/* completion exactly at the end of the input: return value is len */
	http_parser_reset(&p, false);
	cr_assert_eq(http_parser_eof(&p), HPE_TRUNCATED);
	cr_assert(http_parser_idle(&p));
	http_parser_free(&p);
}

Test(http_parse, eof_semantics)
{
	struct http_parser p;
	const char *part = "HTTP/1.1 200 OK\r\n";
	const char *close = "HTTP/1.1 200 OK\r\n\r\nabc";

	http_parser_init(&p, NULL, NULL);
	cr_assert_eq(http_parser_feed(&p, "\r\n", 2), 2);
	cr_assert(http_parser_idle(&p));
	cr_assert_eq(http_parser_eof(&p), HPE_TRUNCATED);
	cr_assert(http_parser_idle(&p));

	http_parser_reset(&p, false);
	cr_assert_eq(http_parser_feed(&p, part, strlen(part)), strlen(part));
	cr_assert(!http_parser_idle(&p));
	cr_assert_eq(http_parser_eof(&p), HPE_TRUNCATED);
	cr_assert(!http_parser_idle(&p));
	/* sticky */
	cr_assert_eq(http_parser_feed(&p, "X: y\r\n", 6), 0);
	cr_assert_eq(p.error, HPE_TRUNCATED);

	http_parser_reset(&p, false);
	cr_assert_eq(http_parser_feed(&p, close, strlen(close)), strlen(close));
	cr_assert(!http_parser_done(&p));
	cr_assert(!p.keep_alive);
	cr_assert_eq(http_parser_eof(&p), HPE_OK);
	cr_assert(http_parser_done(&p));
	cr_assert_eq(p.body_bytes, 3);
	http_parser_free(&p);
}

Test(http_parse, switching_protocols_leaves_the_rest)
{
	const char *head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                   "Connection: Upgrade\r\n\r\n";
	char in[256];
	struct http_parser p;

	snprintf(in, sizeof(in), "%s\x81\x05hello", head);
	http_parser_init(&p, NULL, NULL);
	cr_assert_eq(http_parser_feed(&p, in, strlen(in)), strlen(head));
	cr_assert(http_parser_done(&p));
	cr_assert_eq(p.status, 101);
	cr_assert(!p.keep_alive);
	cr_assert_eq(p.body_bytes, 0);
	http_parser_free(&p);
}

Test(http_parse, interim_is_not_reported)
{
	const char *in = "HTTP/1.1 100 Continue\r\nX-A: 1\r\n\r\nHTTP/1.1 200 OK\r\n"
	                 "Content-Length: 0\r\n\r\n";
	size_t n1 = strlen("HTTP/1.1 100 Continue\r\nX-A: 1\r\n\r\n");
	struct rec rc;
	struct http_parser p;

	memset(&rc, 0, sizeof(rc));
	http_parser_init(&p, &rec_cb, &rc);
	rc.p = &p;
	cr_assert_eq(http_parser_feed(&p, in, n1), n1);
	cr_assert(!http_parser_idle(&p));
	cr_assert(!http_parser_done(&p));
	cr_assert_eq(rc.resp[0].nstatus, 0);
	cr_assert_eq(rc.resp[0].hlen, 0);
	cr_assert_eq(http_parser_feed(&p, in + n1, strlen(in) - n1), strlen(in) - n1);
	cr_assert_eq(rc.n, 1);
	cr_assert_eq(p.status, 200);
	cr_assert_eq(p.nheaders, 1);
	cr_assert_str_eq(rc.resp[0].headers, "Content-Length: 0\n");
	http_parser_free(&p);
}

Test(http_parse, large_chunk_size_accepted)
{
	const char *in = CHUNKED_HEAD "7fffffffffffffff\r\nabc";
	struct http_parser p;

	http_parser_init(&p, NULL, NULL);
	cr_assert_eq(http_parser_feed(&p, in, strlen(in)), strlen(in));
	cr_assert_eq(p.error, HPE_OK);
	cr_assert_eq(p.body_bytes, 3);
	cr_assert_eq(http_parser_eof(&p), HPE_TRUNCATED);
	http_parser_free(&p);
}

Test(http_parse, error_names)
{
	for (int i = 0; i < HPE__COUNT; i++) {
		cr_assert_not_null(http_perr_name(i));
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(http_perr_name(i), http_perr_name(j));
	}
	cr_assert_str_eq(http_perr_name(HPE_OK), "ok");
	cr_assert_str_eq(http_perr_name(HPE_BAD_STATUS_LINE), "bad_status_line");
	cr_assert_str_eq(http_perr_name(HPE__COUNT), "unknown");
}
