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
	spec.body = "2\r\nhi\r\n0\r\n\r\n";
	spec.body_len = strlen(spec.body);
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
