/* test_url.c: unit tests for http/https URL parsing. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "protocol/url.h"
#include "util/common.h"

struct tu_valid {
	const char *s;
	bool tls;
	const char *host;
	const char *port;
	const char *path;
	const char *authority;
};

static const struct tu_valid tu_valid_cases[] = {
	{ "http://example.com", false, "example.com", "80", "/", "example.com" },
	{ "http://example.com/", false, "example.com", "80", "/", "example.com" },
	{ "https://example.com", true, "example.com", "443", "/", "example.com" },
	{ "HTTPS://Example.com/A", true, "Example.com", "443", "/A", "Example.com" },
	{ "http://h:8080/a/b", false, "h", "8080", "/a/b", "h:8080" },
	{ "http://h:80/", false, "h", "80", "/", "h" },
	{ "https://h:443/x", true, "h", "443", "/x", "h" },
	{ "http://h:443/", false, "h", "443", "/", "h:443" },
	{ "https://h:80/", true, "h", "80", "/", "h:80" },
	{ "http://h:1", false, "h", "1", "/", "h:1" },
	{ "http://h:65535/", false, "h", "65535", "/", "h:65535" },
	{ "http://127.0.0.1:8080/x", false, "127.0.0.1", "8080", "/x", "127.0.0.1:8080" },
	{ "http://[::1]:8080/x", false, "::1", "8080", "/x", "[::1]:8080" },
	{ "http://[::1]/", false, "::1", "80", "/", "[::1]" },
	{ "https://[fe80::1%eth0]:8443", true, "fe80::1%eth0", "8443", "/", "[fe80::1%eth0]:8443" },
	{ "http://h?x=1", false, "h", "80", "/?x=1", "h" },
	{ "http://h:81?x=1&y=2", false, "h", "81", "/?x=1&y=2", "h:81" },
	{ "http://h/p?q=1", false, "h", "80", "/p?q=1", "h" },
	{ "http://h/p?q=1#frag", false, "h", "80", "/p?q=1", "h" },
	{ "http://h#frag", false, "h", "80", "/", "h" },
	{ "http://h:8080#frag", false, "h", "8080", "/", "h:8080" },
	{ "http://h?#", false, "h", "80", "/?", "h" },
	{ "http://h/a@b", false, "h", "80", "/a@b", "h" },
	{ "http://my_host-1.local/", false, "my_host-1.local", "80", "/", "my_host-1.local" },
};

Test(url, valid)
{
	for (size_t i = 0; i < ARRAY_SIZE(tu_valid_cases); i++) {
		const struct tu_valid *c = &tu_valid_cases[i];
		struct url u;
		char err[256] = "";
		int rc = url_parse(c->s, &u, err, sizeof(err));
		cr_assert_eq(rc, 0, "url_parse(\"%s\") = %d: %s", c->s, rc, err);
		cr_expect_eq(u.tls, c->tls, "%s: tls", c->s);
		cr_expect_str_eq(u.host, c->host, "%s: host \"%s\"", c->s, u.host);
		cr_expect_str_eq(u.port, c->port, "%s: port \"%s\"", c->s, u.port);
		cr_expect_str_eq(u.path, c->path, "%s: path \"%s\"", c->s, u.path);
		cr_expect_str_eq(u.authority, c->authority, "%s: authority \"%s\"", c->s,
		                 u.authority);
		url_free(&u);
		cr_expect_null(u.host);
		cr_expect_null(u.authority);
	}
}

struct tu_invalid {
	const char *s;
	const char *why; /* a substring of the error message */
};

static const struct tu_invalid tu_invalid_cases[] = {
	{ "ftp://h/", "scheme" },
	{ "h/", "scheme" },
	{ "", "scheme" },
	{ "http:/h/", "scheme" },
	{ "http://", "missing host" },
	{ "http:///x", "missing host" },
	{ "http://?x", "missing host" },
	{ "http://:80/", "missing host" },
	{ "http://[]/", "missing host" },
	{ "http://h:0/", "port" },
	{ "http://h:99999/", "port" },
	{ "http://h:65536/", "port" },
	{ "http://h:000080/", "port" },
	{ "http://h:/", "port" },
	{ "http://h:-1/", "port" },
	{ "http://h:8x/", "unexpected character" },
	{ "http://u@h/", "user" },
	{ "http://u:p@h:80/", "user" },
	{ "http://h x/", "bad character in host" },
	{ "http://h\tx/", "bad character in host" },
	{ "http://h/a b", "whitespace" },
	{ "http://h/a\r\nb", "whitespace" },
	{ "http://[::1/", "']'" },
	{ "http://[::1", "']'" },
	{ "http://[::1]x/", "unexpected character" },
	{ "http://[::g/]/", "']'" },
	{ "http://[:: 1]/", "IPv6" },
};

Test(url, invalid)
{
	for (size_t i = 0; i < ARRAY_SIZE(tu_invalid_cases); i++) {
		const struct tu_invalid *c = &tu_invalid_cases[i];
		struct url u;
		char err[256] = "";
		int rc = url_parse(c->s, &u, err, sizeof(err));
		cr_expect_eq(rc, -EINVAL, "url_parse(\"%s\") = %d", c->s, rc);
		cr_expect_neq(strstr(err, c->why), NULL,
		              "url_parse(\"%s\"): error \"%s\" lacks \"%s\"", c->s, err, c->why);
		cr_expect_null(u.host, "%s: host set on failure", c->s);
		cr_expect_null(u.path, "%s: path set on failure", c->s);
		url_free(&u);
	}
}

Test(url, error_names_the_url)
{
	struct url u;
	char err[256] = "";
	cr_assert_eq(url_parse("ftp://x/", &u, err, sizeof(err)), -EINVAL);
	cr_expect_neq(strstr(err, "ftp://x/"), NULL, "error \"%s\"", err);
}

Test(url, free_accepts_zeroed)
{
	struct url u;
	memset(&u, 0, sizeof(u));
	url_free(&u);
	url_free(&u);
}

Test(url, leading_zero_port_is_normalised)
{
	struct url u;
	char err[256];
	cr_assert_eq(url_parse("http://h:080/", &u, err, sizeof(err)), 0);
	cr_expect_str_eq(u.port, "80");
	cr_expect_str_eq(u.authority, "h");
	url_free(&u);
}
