/* test_request.c: unit tests for request validation and serialization. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "protocol/request.h"
#include "protocol/url.h"
#include "util/common.h"

static struct url tr_url(const char *s)
{
	struct url u;
	char err[256] = "";
	int rc = url_parse(s, &u, err, sizeof(err));
	cr_assert_eq(rc, 0, "url_parse(\"%s\"): %s", s, err);
	return u;
}

static void tr_expect_bytes(const struct request *r, const char *want, size_t want_len)
{
	cr_expect_eq(r->len, want_len, "length %zu, want %zu", r->len, want_len);
	cr_expect(r->len == want_len && memcmp(r->bytes, want, want_len) == 0,
	          "serialized request:\n%.*s\nwant:\n%.*s", (int)r->len, r->bytes, (int)want_len,
	          want);
}

#define TR_EXPECT_BYTES(r, lit) tr_expect_bytes((r), (lit), sizeof(lit) - 1)

Test(request, get_defaults)
{
	struct url u = tr_url("http://example.com/a?b=1");
	struct request_spec spec = { .url = &u };
	struct request r;
	char err[256] = "";

	cr_assert_eq(request_build(&spec, &r, err, sizeof(err)), 0, "%s", err);
	TR_EXPECT_BYTES(&r, "GET /a?b=1 HTTP/1.1\r\n"
	                    "Host: example.com\r\n"
	                    "User-Agent: stampede/0.1\r\n"
	                    "\r\n");
	cr_expect_str_eq(r.method, "GET");
	cr_expect_not(r.head);
	cr_expect_str_eq(r.name, "http://example.com/a?b=1");
	cr_expect_eq(r.bytes[r.len], '\0', "serialized request is NUL-terminated");
	request_free(&r);
	cr_expect_null(r.bytes);
	url_free(&u);
}

Test(request, host_keeps_port_and_ipv6_brackets)
{
	struct url u = tr_url("https://[::1]:8443/x");
	struct request_spec spec = { .url = &u, .user_agent = "ua/1" };
	struct request r;
	char err[256] = "";

	cr_assert_eq(request_build(&spec, &r, err, sizeof(err)), 0, "%s", err);
	TR_EXPECT_BYTES(&r, "GET /x HTTP/1.1\r\n"
	                    "Host: [::1]:8443\r\n"
	                    "User-Agent: ua/1\r\n"
	                    "\r\n");
	cr_expect_str_eq(r.name, "https://[::1]:8443/x");
	request_free(&r);
	url_free(&u);
}

Test(request, name_tag_has_port_and_path)
{
	struct url u = tr_url("http://host:8080/path");
	struct request_spec spec = { .url = &u };
	struct request r;
	char err[256] = "";

	cr_assert_eq(request_build(&spec, &r, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(r.name, "http://host:8080/path");
	request_free(&r);
	url_free(&u);
}

Test(request, custom_headers_override_host_and_user_agent)
{
	struct url u = tr_url("http://h:8080/");
	const char *headers[] = { "host: virtual.example", "USER-AGENT: mine", "X-Trace: 1" };
	struct request_spec spec = { .url = &u, .headers = headers, .nheaders = 3 };
	struct request r;
	char err[256] = "";

	cr_assert_eq(request_build(&spec, &r, err, sizeof(err)), 0, "%s", err);
	TR_EXPECT_BYTES(&r, "GET / HTTP/1.1\r\n"
	                    "host: virtual.example\r\n"
	                    "USER-AGENT: mine\r\n"
	                    "X-Trace: 1\r\n"
	                    "\r\n");
	request_free(&r);
	url_free(&u);
}

Test(request, header_prefix_is_not_an_override)
{
	struct url u = tr_url("http://h/");
	const char *headers[] = { "Hostname: x", "User-Agent-Extra: y" };
	struct request_spec spec = { .url = &u, .headers = headers, .nheaders = 2 };
	struct request r;
	char err[256] = "";

	cr_assert_eq(request_build(&spec, &r, err, sizeof(err)), 0, "%s", err);
	TR_EXPECT_BYTES(&r, "GET / HTTP/1.1\r\n"
	                    "Host: h\r\n"
	                    "User-Agent: stampede/0.1\r\n"
	                    "Hostname: x\r\n"
	                    "User-Agent-Extra: y\r\n"
	                    "\r\n");
	request_free(&r);
	url_free(&u);
}

Test(request, post_body_adds_content_length)
{
	struct url u = tr_url("http://h/submit");
	const char *headers[] = { "Content-Type: application/json" };
	struct request_spec spec = { .method = "POST",
		                     .url = &u,
		                     .headers = headers,
		                     .nheaders = 1,
		                     .body = "{\"a\":1}",
		                     .body_len = 7 };
	struct request r;
	char err[256] = "";

	cr_assert_eq(request_build(&spec, &r, err, sizeof(err)), 0, "%s", err);
	TR_EXPECT_BYTES(&r, "POST /submit HTTP/1.1\r\n"
	                    "Host: h\r\n"
	                    "User-Agent: stampede/0.1\r\n"
	                    "Content-Type: application/json\r\n"
	                    "Content-Length: 7\r\n"
	                    "\r\n"
	                    "{\"a\":1}");
	cr_expect_str_eq(r.method, "POST");
	cr_expect_not(r.head);
	request_free(&r);
	url_free(&u);
}

Test(request, body_may_contain_nul)
{
	struct url u = tr_url("http://h/");
	struct request_spec spec = { .method = "PUT", .url = &u, .body = "a\0b", .body_len = 3 };
	struct request r;
	char err[256] = "";

	cr_assert_eq(request_build(&spec, &r, err, sizeof(err)), 0, "%s", err);
	TR_EXPECT_BYTES(&r, "PUT / HTTP/1.1\r\n"
	                    "Host: h\r\n"
	                    "User-Agent: stampede/0.1\r\n"
	                    "Content-Length: 3\r\n"
	                    "\r\n"
	                    "a\0b");
	request_free(&r);
	url_free(&u);
}

Test(request, empty_body_methods_send_zero_length)
{
	struct url u = tr_url("http://h/");
	struct request_spec spec = { .method = "POST", .url = &u };
	struct request r;
	char err[256] = "";

	cr_assert_eq(request_build(&spec, &r, err, sizeof(err)), 0, "%s", err);
	TR_EXPECT_BYTES(&r, "POST / HTTP/1.1\r\n"
	                    "Host: h\r\n"
	                    "User-Agent: stampede/0.1\r\n"
	                    "Content-Length: 0\r\n"
	                    "\r\n");
	request_free(&r);

	static const char *const with_length[] = { "PUT", "PATCH" };
	for (size_t i = 0; i < ARRAY_SIZE(with_length); i++) {
		spec.method = with_length[i];
		cr_assert_eq(request_build(&spec, &r, err, sizeof(err)), 0, "%s", err);
		cr_expect_neq(strstr(r.bytes, "\r\nContent-Length: 0\r\n\r\n"), NULL, "%s:\n%s",
		              with_length[i], r.bytes);
		request_free(&r);
	}
	/* Methods without a body carry no Content-Length. */
	static const char *const without[] = { "GET", "HEAD", "DELETE", "OPTIONS" };
	for (size_t i = 0; i < ARRAY_SIZE(without); i++) {
		spec.method = without[i];
		cr_assert_eq(request_build(&spec, &r, err, sizeof(err)), 0, "%s", err);
		cr_expect_null(strstr(r.bytes, "Content-Length"), "%s:\n%s", without[i], r.bytes);
		request_free(&r);
	}
	url_free(&u);
}

/* Changed with the single serializer: a Transfer-Encoding: chunked body is now chunk-encoded
 * by request_serialize() (it used to be sent as given, pre-encoded by the user). */
Test(request, given_length_or_encoding_is_kept)
{
	struct url u = tr_url("http://h/");
	const char *cl[] = { "content-length: 2" };
	const char *te[] = { "Transfer-Encoding: chunked" };
	struct request_spec spec = { .method = "POST",
		                     .url = &u,
		                     .headers = cl,
		                     .nheaders = 1,
		                     .body = "hi",
		                     .body_len = 2 };
	struct request r;
	char err[256] = "";

	cr_assert_eq(request_build(&spec, &r, err, sizeof(err)), 0, "%s", err);
	TR_EXPECT_BYTES(&r, "POST / HTTP/1.1\r\n"
	                    "Host: h\r\n"
	                    "User-Agent: stampede/0.1\r\n"
	                    "content-length: 2\r\n"
	                    "\r\n"
	                    "hi");
	request_free(&r);

	spec.headers = te;
	cr_assert_eq(request_build(&spec, &r, err, sizeof(err)), 0, "%s", err);
	TR_EXPECT_BYTES(&r, "POST / HTTP/1.1\r\n"
	                    "Host: h\r\n"
	                    "User-Agent: stampede/0.1\r\n"
	                    "Transfer-Encoding: chunked\r\n"
	                    "\r\n"
	                    "2\r\nhi\r\n0\r\n\r\n");
	request_free(&r);
	url_free(&u);
}

Test(request, build_rejects_bad_framing)
{
	static const char *const bad[][2] = {
		{ "Content-Length: 3", NULL },
		{ "Transfer-Encoding: chunked", "Content-Length: 2" },
		{ "Transfer-Encoding: gzip", NULL },
	};
	struct url u = tr_url("http://h/");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *headers[] = { bad[i][0], bad[i][1] };
		struct request_spec spec = { .method = "POST",
			                     .url = &u,
			                     .headers = headers,
			                     .nheaders = bad[i][1] ? 2 : 1,
			                     .body = "hi",
			                     .body_len = 2 };
		struct request r;
		char err[256] = "";
		cr_expect_eq(request_build(&spec, &r, err, sizeof(err)), -EINVAL, "%s", bad[i][0]);
		cr_expect_null(r.bytes);
		request_free(&r);
	}
	url_free(&u);
}

Test(request, build_merges_cookie_headers)
{
	struct url u = tr_url("http://h/");
	const char *headers[] = { "Cookie: a=1", "X: y", "cookie:b=2" };
	struct request_spec spec = { .url = &u, .headers = headers, .nheaders = 3 };
	struct request r;
	char err[256] = "";

	cr_assert_eq(request_build(&spec, &r, err, sizeof(err)), 0, "%s", err);
	TR_EXPECT_BYTES(&r, "GET / HTTP/1.1\r\n"
	                    "Host: h\r\n"
	                    "User-Agent: stampede/0.1\r\n"
	                    "Cookie: a=1; b=2\r\n"
	                    "X: y\r\n"
	                    "\r\n");
	request_free(&r);
	url_free(&u);
}

Test(request, head_sets_flag)
{
	struct url u = tr_url("http://h/");
	struct request_spec spec = { .method = "HEAD", .url = &u };
	struct request r;
	char err[256] = "";

	cr_assert_eq(request_build(&spec, &r, err, sizeof(err)), 0, "%s", err);
	cr_expect(r.head);
	cr_expect_str_eq(r.method, "HEAD");
	TR_EXPECT_BYTES(&r, "HEAD / HTTP/1.1\r\n"
	                    "Host: h\r\n"
	                    "User-Agent: stampede/0.1\r\n"
	                    "\r\n");
	request_free(&r);
	url_free(&u);
}

Test(request, delete_and_extension_methods)
{
	struct url u = tr_url("http://h/r");
	struct request_spec spec = { .method = "DELETE", .url = &u };
	struct request r;
	char err[256] = "";

	cr_assert_eq(request_build(&spec, &r, err, sizeof(err)), 0, "%s", err);
	TR_EXPECT_BYTES(&r, "DELETE /r HTTP/1.1\r\n"
	                    "Host: h\r\n"
	                    "User-Agent: stampede/0.1\r\n"
	                    "\r\n");
	request_free(&r);

	spec.method = "M-SEARCH";
	cr_assert_eq(request_build(&spec, &r, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(r.method, "M-SEARCH");
	request_free(&r);
	url_free(&u);
}

Test(request, invalid_method)
{
	static const char *const bad[] = { "", "GE T", "GET\r\n", "G(E)T", "GET/", "\xc3\xa9" };
	struct url u = tr_url("http://h/");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct request_spec spec = { .method = bad[i], .url = &u };
		struct request r;
		char err[256] = "";
		cr_expect_eq(request_build(&spec, &r, err, sizeof(err)), -EINVAL, "method \"%s\"",
		             bad[i]);
		cr_expect_neq(strstr(err, "method"), NULL, "error \"%s\"", err);
		cr_expect_null(r.bytes);
		request_free(&r);
	}
	url_free(&u);
}

Test(request, invalid_header)
{
	static const char *const bad[] = {
		"NoColon", ": value",      "Bad Name: v", "Bad\tName: v",
		"X(y): v", "X: a\r\nY: b", "X: a\nb",     "X: \x01",
	};
	struct url u = tr_url("http://h/");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *headers[] = { "Good: header", bad[i] };
		struct request_spec spec = { .url = &u, .headers = headers, .nheaders = 2 };
		struct request r;
		char err[256] = "";
		cr_expect_eq(request_build(&spec, &r, err, sizeof(err)), -EINVAL, "header \"%s\"",
		             bad[i]);
		cr_expect_neq(strstr(err, "invalid header"), NULL, "error \"%s\"", err);
		cr_expect_null(r.bytes);
		request_free(&r);
	}
	url_free(&u);
}

Test(request, header_value_may_be_empty_or_tabbed)
{
	struct url u = tr_url("http://h/");
	const char *headers[] = { "X-Empty:", "X-Tab: a\tb" };
	struct request_spec spec = { .url = &u, .headers = headers, .nheaders = 2 };
	struct request r;
	char err[256] = "";

	cr_assert_eq(request_build(&spec, &r, err, sizeof(err)), 0, "%s", err);
	TR_EXPECT_BYTES(&r, "GET / HTTP/1.1\r\n"
	                    "Host: h\r\n"
	                    "User-Agent: stampede/0.1\r\n"
	                    "X-Empty:\r\n"
	                    "X-Tab: a\tb\r\n"
	                    "\r\n");
	request_free(&r);
	url_free(&u);
}

Test(request, free_accepts_zeroed)
{
	struct request r;
	memset(&r, 0, sizeof(r));
	request_free(&r);
}

/* --- request_serialize(): one table per rule ------------------------------------- */

/* A counted header from two string literals (they may hold NULs). */
#define H(n, v)                                                                                    \
	{                                                                                          \
		(n), sizeof(n) - 1, (v), sizeof(v) - 1                                             \
	}
#define HDRS(...)                                                                                  \
	.headers = (const struct request_hdr[]){ __VA_ARGS__ },                                    \
	.nheaders = (int)(sizeof((const struct request_hdr[]){ __VA_ARGS__ }) /                    \
	                  sizeof(struct request_hdr))
#define BASE(meth) .method = (meth), .target = "/", .authority = "h"
#define DEF        "Host: h\r\nUser-Agent: stampede/0.1\r\n"
#define WANT(lit)  .want = (lit), .want_len = sizeof(lit) - 1
#define JAR(lit)   .cookie = (lit), .cookie_len = sizeof(lit) - 1

struct rs_case {
	const char *what;
	struct request_msg m;
	int rc;
	const char *want; /* the whole request when rc is 0 */
	size_t want_len;
	const char *err_has; /* a part of err when rc < 0 */
};

/* Run the cases through one reused buffer: each result replaces the last, and an error
 * leaves it empty. */
static void rs_run(const struct rs_case *cases, size_t n)
{
	struct buf b = { 0 };
	for (size_t i = 0; i < n; i++) {
		const struct rs_case *c = &cases[i];
		char err[256] = "";
		int rc = request_serialize(&b, &c->m, err, sizeof(err));
		cr_expect_eq(rc, c->rc, "%s: rc %d (%s), want %d", c->what, rc, err, c->rc);
		if (c->rc < 0) {
			cr_expect_eq(b.len, 0, "%s: output not emptied on error", c->what);
			if (c->err_has)
				cr_expect_neq(strstr(err, c->err_has), NULL,
				              "%s: error \"%s\" lacks \"%s\"", c->what, err,
				              c->err_has);
		} else if (rc == 0) {
			cr_expect(b.len == c->want_len && memcmp(b.p, c->want, b.len) == 0,
			          "%s:\n%.*s\nwant:\n%.*s", c->what, (int)b.len, b.p,
			          (int)c->want_len, c->want);
			cr_expect_eq(b.p[b.len], '\0', "%s: NUL-terminated", c->what);
		}
	}
	buf_free(&b);
}

/* RFC 9110 §5.1, §5.6.2, RFC 9112 §5: a field name is a token, nothing else. */
Test(request, serialize_header_names_are_tokens)
{
	const struct rs_case cases[] = {
		{ "every tchar",
		  { BASE("GET"), HDRS(H("!#$%&'*+-.^_`|~09azAZ", "v")) },
		  0,
		  WANT("GET / HTTP/1.1\r\n" DEF "!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n") },
		{ "empty", { BASE("GET"), HDRS(H("", "v")) }, -EINVAL, .err_has = "empty name" },
		{ "space",
		  { BASE("GET"), HDRS(H("Bad Name", "v")) },
		  -EINVAL,
		  .err_has = "invalid header 'Bad Name'" },
		{ "space before colon",
		  { BASE("GET"), HDRS(H("Host ", "v")) },
		  -EINVAL,
		  .err_has = "invalid header 'Host '" },
		{ "tab",
		  { BASE("GET"), HDRS(H("Bad\tName", "v")) },
		  -EINVAL,
		  .err_has = "invalid header 'Bad\\tName': the name is not a token ('\\t' at "
		             "byte 3, RFC 9110 §5.6.2)" },
		{ "separator",
		  { BASE("GET"), HDRS(H("X(y)", "v")) },
		  -EINVAL,
		  .err_has = "not a token" },
		{ "colon", { BASE("GET"), HDRS(H("X:", "v")) }, -EINVAL, .err_has = "'X:'" },
		{ "CRLF",
		  { BASE("GET"), HDRS(H("X\r\nY", "v")) },
		  -EINVAL,
		  .err_has = "'X\\r\\nY'" },
		{ "NUL", { BASE("GET"), HDRS(H("X\0Y", "v")) }, -EINVAL, .err_has = "'X\\x00Y'" },
		{ "non-ASCII",
		  { BASE("GET"), HDRS(H("\xc3\xa9", "v")) },
		  -EINVAL,
		  .err_has = "not a token" },
	};
	rs_run(cases, ARRAY_SIZE(cases));
}

/* RFC 9110 §5.5: no CR, LF, NUL or other control in a value (HTAB and obs-text pass), so
 * no smuggled field; the same for the values the serializer adds. */
Test(request, serialize_header_values_have_no_controls)
{
	const struct rs_case cases[] = {
		{ "CRLF smuggling",
		  { BASE("GET"), HDRS(H("X-Bad", "a\r\nX-Smuggled: 1")) },
		  -EINVAL,
		  .err_has = "invalid header 'X-Bad': control character" },
		{ "LF", { BASE("GET"), HDRS(H("X-Bad", "a\nb")) }, -EINVAL, .err_has = "'X-Bad'" },
		{ "CR", { BASE("GET"), HDRS(H("X-Bad", "a\rb")) }, -EINVAL, .err_has = "'X-Bad'" },
		{ "NUL", { BASE("GET"), HDRS(H("X-Bad", "a\0b")) }, -EINVAL, .err_has = "'X-Bad'" },
		{ "SOH", { BASE("GET"), HDRS(H("X-Bad", "\x01")) }, -EINVAL, .err_has = "'X-Bad'" },
		{ "ESC",
		  { BASE("GET"), HDRS(H("X-Bad", "\x1b[31m")) },
		  -EINVAL,
		  .err_has = "'X-Bad'" },
		{ "DEL", { BASE("GET"), HDRS(H("X-Bad", "\x7f")) }, -EINVAL, .err_has = "'X-Bad'" },
		{ "authority",
		  { .method = "GET", .target = "/", .authority = "h\r\nX: y" },
		  -EINVAL,
		  .err_has = "invalid header 'Host'" },
		{ "user agent",
		  { BASE("GET"), .user_agent = "ua\n" },
		  -EINVAL,
		  .err_has = "invalid header 'User-Agent'" },
		{ "jar cookie",
		  { BASE("GET"), JAR("a=1\r\nX: y") },
		  -EINVAL,
		  .err_has = "invalid header 'Cookie'" },
		{ "empty, tab, space, obs-text",
		  { BASE("GET"),
		    HDRS(H("A", ""), H("B", "a\tb"), H("C", "a b"), H("D", "\xc3\xa9")) },
		  0,
		  WANT("GET / HTTP/1.1\r\n" DEF "A:\r\nB: a\tb\r\nC: a b\r\nD: \xc3\xa9\r\n\r\n") },
	};
	rs_run(cases, ARRAY_SIZE(cases));
}

/* RFC 9110 §9.1: the method is a token, case-sensitive, sent as given. */
Test(request, serialize_method_is_a_token)
{
	const struct rs_case cases[] = {
		{ "extension",
		  { BASE("M-SEARCH") },
		  0,
		  WANT("M-SEARCH / HTTP/1.1\r\n" DEF "\r\n") },
		{ "lower case", { BASE("get") }, 0, WANT("get / HTTP/1.1\r\n" DEF "\r\n") },
		{ "NULL",
		  { .target = "/", .authority = "h" },
		  -EINVAL,
		  .err_has = "invalid method" },
		{ "empty", { BASE("") }, -EINVAL, .err_has = "invalid method ''" },
		{ "space", { BASE("GE T") }, -EINVAL, .err_has = "invalid method 'GE T'" },
		{ "CRLF", { BASE("GET\r\n") }, -EINVAL, .err_has = "invalid method" },
		{ "separator", { BASE("G(E)T") }, -EINVAL, .err_has = "invalid method" },
		{ "slash", { BASE("GET/") }, -EINVAL, .err_has = "invalid method" },
		{ "non-ASCII", { BASE("\xc3\xa9") }, -EINVAL, .err_has = "invalid method" },
	};
	rs_run(cases, ARRAY_SIZE(cases));
}

/* RFC 9112 §3.2: no whitespace in the request-target; no controls either (defence). */
Test(request, serialize_target_has_no_whitespace_or_controls)
{
	const struct rs_case cases[] = {
		{ "path and query",
		  { .method = "GET", .target = "/a?b=%20&c=d", .authority = "h" },
		  0,
		  WANT("GET /a?b=%20&c=d HTTP/1.1\r\n" DEF "\r\n") },
		{ "asterisk",
		  { .method = "OPTIONS", .target = "*", .authority = "h" },
		  0,
		  WANT("OPTIONS * HTTP/1.1\r\n" DEF "\r\n") },
		{ "NULL",
		  { .method = "GET", .authority = "h" },
		  -EINVAL,
		  .err_has = "invalid request target" },
		{ "empty",
		  { .method = "GET", .target = "", .authority = "h" },
		  -EINVAL,
		  .err_has = "invalid request target" },
		{ "space",
		  { .method = "GET", .target = "/a b", .authority = "h" },
		  -EINVAL,
		  .err_has = "invalid request target '/a b'" },
		{ "tab",
		  { .method = "GET", .target = "/a\tb", .authority = "h" },
		  -EINVAL,
		  .err_has = "invalid request target" },
		{ "CRLF",
		  { .method = "GET", .target = "/ HTTP/1.1\r\nX: y", .authority = "h" },
		  -EINVAL,
		  .err_has = "invalid request target" },
		{ "DEL",
		  { .method = "GET", .target = "/\x7f", .authority = "h" },
		  -EINVAL,
		  .err_has = "invalid request target" },
	};
	rs_run(cases, ARRAY_SIZE(cases));
}

/* RFC 9110 §7.2, RFC 9112 §3.2: Host first unless given, never twice; User-Agent unless
 * given. */
Test(request, serialize_host_and_user_agent)
{
	const struct rs_case cases[] = {
		{ "defaults",
		  { BASE("GET"), HDRS(H("X", "1")) },
		  0,
		  WANT("GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: stampede/0.1\r\nX: 1\r\n\r\n") },
		{ "configured agent",
		  { BASE("GET"), .user_agent = "ua/1" },
		  0,
		  WANT("GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: ua/1\r\n\r\n") },
		{ "user host",
		  { BASE("GET"), HDRS(H("X", "1"), H("host", "v.example")) },
		  0,
		  WANT("GET / HTTP/1.1\r\nUser-Agent: stampede/0.1\r\nX: 1\r\nhost: v.example\r\n"
		       "\r\n") },
		{ "user agent",
		  { BASE("GET"), .user_agent = "ua/1", HDRS(H("USER-AGENT", "me")) },
		  0,
		  WANT("GET / HTTP/1.1\r\nHost: h\r\nUSER-AGENT: me\r\n\r\n") },
		{ "prefixes",
		  { BASE("GET"), HDRS(H("Hostname", "x"), H("User-Agent-X", "y")) },
		  0,
		  WANT("GET / HTTP/1.1\r\n" DEF "Hostname: x\r\nUser-Agent-X: y\r\n\r\n") },
		{ "no authority",
		  { .method = "GET", .target = "/" },
		  0,
		  WANT("GET / HTTP/1.1\r\nHost:\r\nUser-Agent: stampede/0.1\r\n\r\n") },
		{ "two hosts",
		  { BASE("GET"), HDRS(H("Host", "a"), H("HOST", "b")) },
		  -EINVAL,
		  .err_has = "invalid header 'HOST': given twice" },
	};
	rs_run(cases, ARRAY_SIZE(cases));
}

/* RFC 9112 §6.1-§6.3, §7.1 and RFC 9110 §8.6: how the body is framed. */
Test(request, serialize_framing)
{
	const struct rs_case cases[] = {
		{ "GET", { BASE("GET") }, 0, WANT("GET / HTTP/1.1\r\n" DEF "\r\n") },
		{ "HEAD", { BASE("HEAD") }, 0, WANT("HEAD / HTTP/1.1\r\n" DEF "\r\n") },
		{ "DELETE", { BASE("DELETE") }, 0, WANT("DELETE / HTTP/1.1\r\n" DEF "\r\n") },
		{ "OPTIONS", { BASE("OPTIONS") }, 0, WANT("OPTIONS / HTTP/1.1\r\n" DEF "\r\n") },
		{ "POST empty",
		  { BASE("POST") },
		  0,
		  WANT("POST / HTTP/1.1\r\n" DEF "Content-Length: 0\r\n\r\n") },
		{ "PUT empty",
		  { BASE("PUT") },
		  0,
		  WANT("PUT / HTTP/1.1\r\n" DEF "Content-Length: 0\r\n\r\n") },
		{ "PATCH empty",
		  { BASE("PATCH") },
		  0,
		  WANT("PATCH / HTTP/1.1\r\n" DEF "Content-Length: 0\r\n\r\n") },
		{ "POST body",
		  { BASE("POST"), .body = "a\0b", .body_len = 3 },
		  0,
		  WANT("POST / HTTP/1.1\r\n" DEF "Content-Length: 3\r\n\r\na\0b") },
		{ "GET body",
		  { BASE("GET"), .body = "hi", .body_len = 2 },
		  0,
		  WANT("GET / HTTP/1.1\r\n" DEF "Content-Length: 2\r\n\r\nhi") },
		{ "user length",
		  { BASE("POST"), HDRS(H("content-length", "2")), .body = "hi", .body_len = 2 },
		  0,
		  WANT("POST / HTTP/1.1\r\n" DEF "content-length: 2\r\n\r\nhi") },
		{ "user length 0 on GET",
		  { BASE("GET"), HDRS(H("Content-Length", "0")) },
		  0,
		  WANT("GET / HTTP/1.1\r\n" DEF "Content-Length: 0\r\n\r\n") },
		{ "user length differs",
		  { BASE("POST"), HDRS(H("Content-Length", "3")), .body = "hi", .body_len = 2 },
		  -EINVAL,
		  .err_has = "invalid header 'Content-Length': 3, but the body has 2" },
		{ "user length on no body",
		  { BASE("GET"), HDRS(H("Content-Length", "5")) },
		  -EINVAL,
		  .err_has = "'Content-Length'" },
		{ "user length not a number",
		  { BASE("POST"), HDRS(H("Content-Length", "2a")), .body = "hi", .body_len = 2 },
		  -EINVAL,
		  .err_has = "not a decimal number" },
		{ "user length negative",
		  { BASE("POST"), HDRS(H("Content-Length", "-0")) },
		  -EINVAL,
		  .err_has = "not a decimal number" },
		{ "user length list",
		  { BASE("POST"), HDRS(H("Content-Length", "2, 2")), .body = "hi", .body_len = 2 },
		  -EINVAL,
		  .err_has = "not a decimal number" },
		{ "user length twice",
		  { BASE("POST"), HDRS(H("Content-Length", "2"), H("Content-Length", "2")),
		    .body = "hi", .body_len = 2 },
		  -EINVAL,
		  .err_has = "given twice" },
		{ "user length overflows",
		  { BASE("POST"), HDRS(H("Content-Length", "99999999999999999999999")) },
		  -EINVAL,
		  .err_has = "'Content-Length'" },
		{ "chunked body",
		  { BASE("POST"), HDRS(H("Transfer-Encoding", "chunked")),
		    .body = "0123456789abcdefg", .body_len = 17 },
		  0,
		  WANT("POST / HTTP/1.1\r\n" DEF "Transfer-Encoding: chunked\r\n\r\n"
		       "11\r\n0123456789abcdefg\r\n0\r\n\r\n") },
		{ "chunked, no body",
		  { BASE("POST"), HDRS(H("Transfer-Encoding", "chunked")) },
		  0,
		  WANT("POST / HTTP/1.1\r\n" DEF "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n") },
		{ "gzip then chunked, case-insensitive",
		  { BASE("PUT"), HDRS(H("Transfer-Encoding", "gzip ,, CHUNKED")), .body = "z",
		    .body_len = 1 },
		  0,
		  WANT("PUT / HTTP/1.1\r\n" DEF "Transfer-Encoding: gzip ,, CHUNKED\r\n\r\n"
		       "1\r\nz\r\n0\r\n\r\n") },
		{ "codings over two fields",
		  { BASE("POST"), HDRS(H("Transfer-Encoding", "gzip"), H("X", "1"),
		                       H("Transfer-Encoding", "chunked")) },
		  0,
		  WANT("POST / HTTP/1.1\r\n" DEF "Transfer-Encoding: gzip\r\nX: 1\r\n"
		       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n") },
		{ "final coding not chunked",
		  { BASE("POST"), HDRS(H("Transfer-Encoding", "gzip")) },
		  -EINVAL,
		  .err_has = "the final coding must be chunked" },
		{ "final coding as long as chunked",
		  { BASE("POST"), HDRS(H("Transfer-Encoding", "deflate")) },
		  -EINVAL,
		  .err_has = "the final coding must be chunked" },
		{ "chunked not final",
		  { BASE("POST"), HDRS(H("Transfer-Encoding", "chunked, gzip")) },
		  -EINVAL,
		  .err_has = "chunked must be the final coding, applied once" },
		{ "chunked twice",
		  { BASE("POST"),
		    HDRS(H("Transfer-Encoding", "chunked"), H("Transfer-Encoding", "chunked")) },
		  -EINVAL,
		  .err_has = "applied once" },
		{ "no coding",
		  { BASE("POST"), HDRS(H("Transfer-Encoding", " , ")) },
		  -EINVAL,
		  .err_has = "'Transfer-Encoding'" },
		{ "not a coding",
		  { BASE("POST"), HDRS(H("Transfer-Encoding", "chun/ked")) },
		  -EINVAL,
		  .err_has = "not a list of codings" },
		{ "both framings",
		  { BASE("POST"), HDRS(H("Transfer-Encoding", "chunked"), H("Content-Length", "2")),
		    .body = "hi", .body_len = 2 },
		  -EINVAL,
		  .err_has = "Content-Length must not be sent with Transfer-Encoding" },
	};
	rs_run(cases, ARRAY_SIZE(cases));
}

/* RFC 6265 §5.4: one Cookie field; the user's values first, then the jar's. */
Test(request, serialize_one_cookie_field)
{
	const struct rs_case cases[] = {
		{ "jar after user headers, before Content-Length",
		  { BASE("POST"), HDRS(H("X", "1")), JAR("a=1; b=2"), .body = "hi", .body_len = 2 },
		  0,
		  WANT("POST / HTTP/1.1\r\n" DEF "X: 1\r\nCookie: a=1; b=2\r\nContent-Length: 2\r\n"
		       "\r\nhi") },
		{ "user only",
		  { BASE("GET"), HDRS(H("Cookie", "u=1"), H("X", "1")) },
		  0,
		  WANT("GET / HTTP/1.1\r\n" DEF "Cookie: u=1\r\nX: 1\r\n\r\n") },
		{ "user then jar, at the user's place",
		  { BASE("GET"), HDRS(H("X", "1"), H("cookie", "u=1"), H("Y", "2")), JAR("a=1") },
		  0,
		  WANT("GET / HTTP/1.1\r\n" DEF "X: 1\r\nCookie: u=1; a=1\r\nY: 2\r\n\r\n") },
		{ "two user fields and the jar",
		  { BASE("GET"), HDRS(H("Cookie", "u=1 "), H("X", "1"), H("COOKIE", "v=2")),
		    JAR(" a=1") },
		  0,
		  WANT("GET / HTTP/1.1\r\n" DEF "Cookie: u=1; v=2; a=1\r\nX: 1\r\n\r\n") },
		{ "empty jar", { BASE("GET"), JAR("") }, 0, WANT("GET / HTTP/1.1\r\n" DEF "\r\n") },
		{ "empty user value",
		  { BASE("GET"), HDRS(H("Cookie", "")), JAR("a=1") },
		  0,
		  WANT("GET / HTTP/1.1\r\n" DEF "Cookie: a=1\r\n\r\n") },
		{ "counted jar",
		  { BASE("GET"), .cookie = "a=1; b=2", .cookie_len = 3 },
		  0,
		  WANT("GET / HTTP/1.1\r\n" DEF "Cookie: a=1\r\n\r\n") },
		{ "NUL in the jar",
		  { BASE("GET"), JAR("a=1\0b") },
		  -EINVAL,
		  .err_has = "invalid header 'Cookie'" },
		{ "bad user value",
		  { BASE("GET"), HDRS(H("Cookie", "a=1\nb")) },
		  -EINVAL,
		  .err_has = "invalid header 'Cookie'" },
	};
	rs_run(cases, ARRAY_SIZE(cases));
}

/* The buffer is the caller's: a warm buffer is reused without a new allocation. */
Test(request, serialize_reuses_a_warm_buffer)
{
	const struct request_msg m = { BASE("POST"), .body = "hello", .body_len = 5 };
	struct buf b = { 0 };
	char err[256] = "";

	cr_assert_eq(request_serialize(&b, &m, err, sizeof(err)), 0, "%s", err);
	char *p = b.p;
	size_t cap = b.cap, len = b.len;
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(request_serialize(&b, &m, err, sizeof(err)), 0, "%s", err);
		cr_expect_eq(b.p, p);
		cr_expect_eq(b.cap, cap);
		cr_expect_eq(b.len, len);
	}
	buf_free(&b);
}

/* RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT and DELETE are idempotent. */
Test(request, method_idempotent)
{
	static const struct {
		const char *method;
		bool want;
	} cases[] = {
		{ "GET", true },      { "HEAD", true },   { "OPTIONS", true }, { "TRACE", true },
		{ "PUT", true },      { "DELETE", true }, { "POST", false },   { "PATCH", false },
		{ "CONNECT", false }, { "get", false },   { "", false },       { "GETX", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		cr_expect_eq(request_method_idempotent(cases[i].method), cases[i].want, "%s",
		             cases[i].method);
}

/* Every byte 0..255 in each user string of a request: the serializer accepts exactly what the
 * RFC grammars allow (the same classes test_wire.c checks wire_check against), and nothing it
 * accepts puts a CR, LF or NUL anywhere but the line ends. */
Test(request, serialize_every_byte_in_every_part)
{
	struct buf b = { 0 };
	char err[256];

	for (int c = 0; c < 256; c++) {
		char mid[3] = { 'a', (char)c, 'a' }, str[4] = { 'a', (char)c, 'a', '\0' };
		bool tchar = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
		             (c >= 'a' && c <= 'z') || (c && strchr("!#$%&'*+-.^_`|~", c));
		bool field = c == '\t' || (c >= 0x20 && c != 0x7f);
		bool vchar = c > 0x20 && c < 0x7f;
		const struct {
			const char *what;
			struct request_msg m;
			bool want;
		} parts[] = {
			{ "method", { .method = str, .target = "/", .authority = "h" }, tchar },
			{ "target", { .method = "GET", .target = str, .authority = "h" }, vchar },
			{ "authority",
			  { .method = "GET", .target = "/", .authority = str },
			  field },
			{ "user agent", { BASE("GET"), .user_agent = str }, field },
			{ "header name",
			  { BASE("GET"), .headers = &(struct request_hdr){ mid, 3, "v", 1 },
			    .nheaders = 1 },
			  tchar },
			{ "header value",
			  { BASE("GET"), .headers = &(struct request_hdr){ "X", 1, mid, 3 },
			    .nheaders = 1 },
			  field },
			{ "jar cookie", { BASE("GET"), .cookie = mid, .cookie_len = 3 }, field },
		};
		for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
			int rc = request_serialize(&b, &parts[i].m, err, sizeof(err));
			if (c == 0 && (parts[i].m.method == str || parts[i].m.target == str ||
			               parts[i].m.authority == str || parts[i].m.user_agent == str))
				continue; /* a C string ends at the NUL: "a" is checked, not "a\0a" */
			cr_expect_eq(rc, parts[i].want ? 0 : -EINVAL, "%s with byte 0x%02x: %s",
			             parts[i].what, c, rc ? err : "accepted");
			if (rc == 0) {
				size_t lines = 0;
				for (size_t k = 0; k + 1 < b.len; k++)
					if (b.p[k] == '\r' && b.p[k + 1] == '\n')
						lines++;
				size_t crlf = 0;
				for (size_t k = 0; k < b.len; k++)
					crlf += b.p[k] == '\r' || b.p[k] == '\n' || b.p[k] == '\0';
				cr_expect_eq(crlf, 2 * lines,
				             "%s with byte 0x%02x: a bare CR, LF or NUL",
				             parts[i].what, c);
			}
		}
	}
	buf_free(&b);
}

/* RFC 9110 §7.6.1: Connection is a comma-separated list of case-insensitive options. */
Test(request, connection_close_option)
{
	struct request_hdr h[2] = { { "Accept", 6, "close", 5 }, { "connection", 10, "", 0 } };
	const char *yes[] = { "close", "Close", "keep-alive, close", "x ,CLOSE", " \tclose ,y" };
	const char *no[] = { "keep-alive", "closed", "xclose", "close-ish", "", "clo se" };
	cr_expect(!request_headers_close(h, 1), "only the Connection field counts");
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		h[1].value = yes[i], h[1].value_len = strlen(yes[i]);
		cr_expect(request_headers_close(h, 2), "'%s' says close", yes[i]);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++) {
		h[1].value = no[i], h[1].value_len = strlen(no[i]);
		cr_expect(!request_headers_close(h, 2), "'%s' does not say close", no[i]);
	}
}
