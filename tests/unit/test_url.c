/* test_url.c: unit tests for http/https URL parsing and URI reference resolution. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
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
	/* request-target encoding: bytes >= 0x80 are sent as UTF-8 percent-escapes */
	{ "http://h/café?x=é", false, "h", "80", "/caf%C3%A9?x=%C3%A9", "h" },
	{ "http://h/caf%C3%A9?x=%c3%a9", false, "h", "80", "/caf%C3%A9?x=%c3%a9", "h" },
	{ "http://h/é%20é", false, "h", "80", "/%C3%A9%20%C3%A9", "h" },
	/* what RFC 3986 forbids but people type: encoded as browsers and k6 do */
	{ "http://h/é é", false, "h", "80", "/%C3%A9%20%C3%A9", "h" },
	{ "http://h/a b?x=a b", false, "h", "80", "/a%20b?x=a%20b", "h" },
	{ "http://h/{x}|^`\"<>\\", false, "h", "80", "/%7Bx%7D%7C%5E%60%22%3C%3E%5C", "h" },
	{ "http://h?é=1", false, "h", "80", "/?%C3%A9=1", "h" },
	{ "http://h:81/日本/", false, "h", "81", "/%E6%97%A5%E6%9C%AC/", "h:81" },
	{ "http://h/é#frag-é", false, "h", "80", "/%C3%A9", "h" },
	{ "http://h/\xff\x80", false, "h", "80", "/%FF%80", "h" }, /* not UTF-8: bytes as given */
	{ "http://h/%zz%", false, "h", "80", "/%zz%", "h" },
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
	{ "http://"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/",
	  "longer than 255" },
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
	{ "http://h/a\r\nb", "control character" },
	{ "http://h/a\tb", "control character" },
	{ "http://[::1/", "']'" },
	{ "http://[::1", "']'" },
	{ "http://[::1]x/", "unexpected character" },
	{ "http://[::g/]/", "']'" },
	{ "http://[:: 1]/", "IPv6" },
	{ "http://café.example/", "non-ASCII" },
	{ "http://h\xc3\xa9:80/", "non-ASCII" },
	{ "http://caf%C3%A9/", "percent-encoded host" },
	{ "http://[::é]/", "IPv6" },
	{ "http://h/é\x7f", "control character" },
	{ "http://h/?x=\x01é", "control character" },
};

/* url_parse refuses c->s with an error naming c->why, and sets nothing. */
static void expect_invalid(const struct tu_invalid *c)
{
	struct url u;
	char err[256] = "";
	int rc = url_parse(c->s, &u, err, sizeof(err));
	cr_expect_eq(rc, -EINVAL, "url_parse(\"%s\") = %d", c->s, rc);
	cr_expect_neq(strstr(err, c->why), NULL, "url_parse(\"%s\"): error \"%s\" lacks \"%s\"",
	              c->s, err, c->why);
	cr_expect_null(u.host, "%s: host set on failure", c->s);
	cr_expect_null(u.path, "%s: path set on failure", c->s);
	url_free(&u);
}

Test(url, invalid)
{
	for (size_t i = 0; i < ARRAY_SIZE(tu_invalid_cases); i++) {
		const struct tu_invalid *c = &tu_invalid_cases[i];
		expect_invalid(c);
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

/* RFC 3986 §3.2.2 IP-literals: an IPv6 address, with an RFC 6874 zone ("%25lo") or the bare
 * "%lo" form; host is what the resolver is given, authority the Host header (as written). */
static const struct tu_valid tu_ip_literal_valid[] = {
	{ "http://[::1]", false, "::1", "80", "/", "[::1]" },
	{ "http://[::1]:8080", false, "::1", "8080", "/", "[::1]:8080" },
	{ "http://[fe80::1%lo]/", false, "fe80::1%lo", "80", "/", "[fe80::1%lo]" },
	{ "http://[fe80::1%25lo]/", false, "fe80::1%lo", "80", "/", "[fe80::1%25lo]" },
	{ "http://[fe80::1%251]/", false, "fe80::1%1", "80", "/", "[fe80::1%251]" },
	{ "http://[fe80::1%25]/", false, "fe80::1%25", "80", "/", "[fe80::1%25]" },
	{ "http://[fe80::1%2]/", false, "fe80::1%2", "80", "/", "[fe80::1%2]" },
	{ "http://[::ffff:127.0.0.1]:81/", false, "::ffff:127.0.0.1", "81", "/",
	  "[::ffff:127.0.0.1]:81" },
	{ "http://[2001:DB8::A]/", false, "2001:DB8::A", "80", "/", "[2001:DB8::A]" },
	{ "http://[1:2:3:4:5:6:7:8]/", false, "1:2:3:4:5:6:7:8", "80", "/", "[1:2:3:4:5:6:7:8]" },
};

static const struct tu_invalid tu_ip_literal_invalid[] = {
	{ "http://[1.2.3.4]/", "not an IPv6 address" },
	{ "http://[1.2.3.4]:8080/", "not an IPv6 address" },
	{ "http://[ok.test]:38517/ok", "not an IPv6 address" },
	{ "http://[localhost]/", "not an IPv6 address" },
	{ "http://[::g]/", "not an IPv6 address" },
	{ "http://[:::]/", "not an IPv6 address" },
	{ "http://[::1::]/", "not an IPv6 address" },
	{ "http://[1:2:3:4:5:6:7:8:9]/", "not an IPv6 address" },
	{ "http://[::1.2.3]/", "not an IPv6 address" },
	{ "http://[%lo]/", "not an IPv6 address" },
	{ "http://[::1]]/", "unexpected character" },
	{ "http://[v1.x]/", "IPvFuture" },
	{ "http://[V7.1:2]/", "IPvFuture" },
	{ "http://[]/", "missing host" },
	{ "http://[fe80::1%]/", "zone" },
	{ "http://[fe80::1%25%25lo]/", "zone" },
	{ "http://[fe80::1%lo%lo]/", "zone" },
	{ "http://[fe80::1%abcdefghijklmnop]/", "zone" },
	{ "http://[fe80::1%25abcdefghijklmnop]/", "zone" },
	{ "http://[fe80::1%l:o]/", "zone" },
	{ "http://[fe80::1%l o]/", "IPv6" },
};

Test(url, ip_literal)
{
	for (size_t i = 0; i < ARRAY_SIZE(tu_ip_literal_valid); i++) {
		const struct tu_valid *c = &tu_ip_literal_valid[i];
		struct url u;
		char err[256] = "";
		int rc = url_parse(c->s, &u, err, sizeof(err));
		cr_expect_eq(rc, 0, "url_parse(\"%s\") = %d: %s", c->s, rc, err);
		if (rc < 0)
			continue;
		cr_expect_str_eq(u.host, c->host, "%s: host \"%s\"", c->s, u.host);
		cr_expect_str_eq(u.port, c->port, "%s: port \"%s\"", c->s, u.port);
		cr_expect_str_eq(u.authority, c->authority, "%s: authority \"%s\"", c->s,
		                 u.authority);
		url_free(&u);
	}
	for (size_t i = 0; i < ARRAY_SIZE(tu_ip_literal_invalid); i++) {
		const struct tu_invalid *c = &tu_ip_literal_invalid[i];
		expect_invalid(c);
	}
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

struct tu_resolve {
	const char *base;
	const char *ref;
	const char *want;
};

static void check_resolve(const struct tu_resolve *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct tu_resolve *c = &cases[i];
		char err[256] = "";
		char *out = NULL;
		int rc = url_resolve(c->base, c->ref, &out, err, sizeof(err));
		cr_expect_eq(rc, 0, "url_resolve(\"%s\", \"%s\") = %d: %s", c->base, c->ref, rc,
		             err);
		if (rc == 0)
			cr_expect_str_eq(out, c->want, "\"%s\" + \"%s\" = \"%s\", want \"%s\"",
			                 c->base, c->ref, out, c->want);
		free(out);
	}
}

#define RFC_BASE "http://a/b/c/d;p?q"

/* RFC 3986 §5.4.1, every example. */
static const struct tu_resolve tu_rfc_normal[] = {
	{ RFC_BASE, "g:h", "g:h" },
	{ RFC_BASE, "g", "http://a/b/c/g" },
	{ RFC_BASE, "./g", "http://a/b/c/g" },
	{ RFC_BASE, "g/", "http://a/b/c/g/" },
	{ RFC_BASE, "/g", "http://a/g" },
	{ RFC_BASE, "//g", "http://g" },
	{ RFC_BASE, "?y", "http://a/b/c/d;p?y" },
	{ RFC_BASE, "g?y", "http://a/b/c/g?y" },
	{ RFC_BASE, "#s", "http://a/b/c/d;p?q#s" },
	{ RFC_BASE, "g#s", "http://a/b/c/g#s" },
	{ RFC_BASE, "g?y#s", "http://a/b/c/g?y#s" },
	{ RFC_BASE, ";x", "http://a/b/c/;x" },
	{ RFC_BASE, "g;x", "http://a/b/c/g;x" },
	{ RFC_BASE, "g;x?y#s", "http://a/b/c/g;x?y#s" },
	{ RFC_BASE, "", "http://a/b/c/d;p?q" },
	{ RFC_BASE, ".", "http://a/b/c/" },
	{ RFC_BASE, "./", "http://a/b/c/" },
	{ RFC_BASE, "..", "http://a/b/" },
	{ RFC_BASE, "../", "http://a/b/" },
	{ RFC_BASE, "../g", "http://a/b/g" },
	{ RFC_BASE, "../..", "http://a/" },
	{ RFC_BASE, "../../", "http://a/" },
	{ RFC_BASE, "../../g", "http://a/g" },
};

/* RFC 3986 §5.4.2, every example ("http:g" as a strict parser resolves it). */
static const struct tu_resolve tu_rfc_abnormal[] = {
	{ RFC_BASE, "../../../g", "http://a/g" },
	{ RFC_BASE, "../../../../g", "http://a/g" },
	{ RFC_BASE, "/./g", "http://a/g" },
	{ RFC_BASE, "/../g", "http://a/g" },
	{ RFC_BASE, "g.", "http://a/b/c/g." },
	{ RFC_BASE, ".g", "http://a/b/c/.g" },
	{ RFC_BASE, "g..", "http://a/b/c/g.." },
	{ RFC_BASE, "..g", "http://a/b/c/..g" },
	{ RFC_BASE, "./../g", "http://a/b/g" },
	{ RFC_BASE, "./g/.", "http://a/b/c/g/" },
	{ RFC_BASE, "g/./h", "http://a/b/c/g/h" },
	{ RFC_BASE, "g/../h", "http://a/b/c/h" },
	{ RFC_BASE, "g;x=1/./y", "http://a/b/c/g;x=1/y" },
	{ RFC_BASE, "g;x=1/../y", "http://a/b/c/y" },
	{ RFC_BASE, "g?y/./x", "http://a/b/c/g?y/./x" },
	{ RFC_BASE, "g?y/../x", "http://a/b/c/g?y/../x" },
	{ RFC_BASE, "g#s/./x", "http://a/b/c/g#s/./x" },
	{ RFC_BASE, "g#s/../x", "http://a/b/c/g#s/../x" },
	{ RFC_BASE, "http:g", "http:g" },
};

/* Location values a redirect follower meets (RFC 9110 §10.2.2), including the bug report's. */
static const struct tu_resolve tu_resolve_redirects[] = {
	{ "http://127.0.0.1:8080/rel/a/302", "../target?q=1",
	  "http://127.0.0.1:8080/rel/target?q=1" },
	{ "http://127.0.0.1:8080/rel/c/302", "?page=2", "http://127.0.0.1:8080/rel/c/302?page=2" },
	{ "http://h/a/b?next=/c", "d", "http://h/a/d" },
	{ "http://h/a/b", "g h?x={1}", "http://h/a/g%20h?x=%7B1%7D" },
	{ "http://h/a b/c?x={1}", "d", "http://h/a%20b/d" },
	{ "http://h/a/b", "https://other:9/x", "https://other:9/x" },
	{ "http://h/a/b", "//other/x", "http://other/x" },
	{ "https://h:8443/a/b", "//other/x", "https://other/x" },
	{ "http://h:8080/a/b", "/x?y#z", "http://h:8080/x?y#z" },
	{ "http://h/a/b#frag", "", "http://h/a/b" },         /* §5.1: base fragment ignored */
	{ "http://h/a/b#frag", "#new", "http://h/a/b#new" }, /* the reference's is kept */
	{ "http://h", "x", "http://h/x" },                   /* §5.2.3: empty base path */
	{ "http://h?q", "", "http://h?q" },
	{ "http://h/a/../b", "?x", "http://h/a/../b?x" }, /* §5.2.2: T.path = Base.path */
	{ "http://h/a/../b", "c", "http://h/c" },
	{ "http://h/a/%7e", "b%2Fc?%41", "http://h/a/b%2Fc?%41" }, /* no normalisation */
	{ "http://h/a/b", "%2e%2e/x", "http://h/a/%2e%2e/x" },     /* not a dot segment */
	{ "http://u@h:81/a", "b", "http://u@h:81/b" },
	{ "HTTP://H/a", "b", "HTTP://H/b" },
};

/* Places where liburiparser 0.9.7's text differs from the RFC's, fixed up in url_resolve. */
static const struct tu_resolve tu_resolve_fixups[] = {
	/* IPv6 literals keep their text (the library prints eight full groups) */
	{ "http://[::1]:8080/a/b", "c", "http://[::1]:8080/a/c" },
	{ "http://[fe80::A]/a", "?x", "http://[fe80::A]/a?x" },
	{ "http://h/a", "//[::1]/x", "http://[::1]/x" },
	{ "http://h/a", "http://[::ffff:1.2.3.4]:9", "http://[::ffff:1.2.3.4]:9" },
	{ "http://[v7.x]/a", "b", "http://[v7.x]/b" },
	/* a path that starts with an empty segment after a merge gets no "." guard */
	{ "http://h/a/", "..//x", "http://h//x" },
	{ "http://h", ".//x", "http://h//x" },
	{ "http://h/a/b", "./..//x/./y", "http://h//x/y" },
	{ "http://h/", "./", "http://h/" },
};

Test(url, resolve_rfc3986_normal)
{
	check_resolve(tu_rfc_normal, ARRAY_SIZE(tu_rfc_normal));
}

Test(url, resolve_rfc3986_abnormal)
{
	check_resolve(tu_rfc_abnormal, ARRAY_SIZE(tu_rfc_abnormal));
}

Test(url, resolve_redirects)
{
	check_resolve(tu_resolve_redirects, ARRAY_SIZE(tu_resolve_redirects));
}

Test(url, resolve_library_fixups)
{
	check_resolve(tu_resolve_fixups, ARRAY_SIZE(tu_resolve_fixups));
}

struct tu_resolve_bad {
	const char *base;
	const char *ref;
	const char *why; /* a substring of the error message */
};

static const struct tu_resolve_bad tu_resolve_bad_cases[] = {
	{ "/a/b", "c", "not absolute" },
	{ "a/b", "c", "not absolute" },
	{ "", "c", "not absolute" },
	{ "//h/a", "c", "not absolute" },
	{ "http://h:x/", "c", "invalid base URI" },
	{ "http://h/", "a\r\nSet-Cookie: x", "invalid URI reference" },
	{ "http://h/", "x#a#b", "invalid URI reference" },
	{ "http://h/", "%zz", "invalid URI reference" },
	{ "http://h/", "http://[::1/", "invalid URI reference" },
};

Test(url, resolve_invalid)
{
	for (size_t i = 0; i < ARRAY_SIZE(tu_resolve_bad_cases); i++) {
		const struct tu_resolve_bad *c = &tu_resolve_bad_cases[i];
		char err[256] = "";
		char *out = (char *)"unset";
		int rc = url_resolve(c->base, c->ref, &out, err, sizeof(err));
		cr_expect_eq(rc, -EINVAL, "url_resolve(\"%s\", \"%s\") = %d", c->base, c->ref, rc);
		cr_expect_null(out, "\"%s\" + \"%s\": *out set on failure", c->base, c->ref);
		cr_expect_neq(strstr(err, c->why), NULL,
		              "\"%s\" + \"%s\": error \"%s\" lacks \"%s\"", c->base, c->ref, err,
		              c->why);
	}
}

struct tu_resolve_parse {
	const char *base;
	const char *ref;
	const char *resolved;
	const char *path; /* url_parse's request target for it */
};

/* Non-ASCII in a reference comes out percent-encoded, and url_parse keeps it that way. */
static const struct tu_resolve_parse tu_resolve_parse_cases[] = {
	{ "http://h/a/b", "café?x=é", "http://h/a/caf%C3%A9?x=%C3%A9", "/a/caf%C3%A9?x=%C3%A9" },
	{ "http://h/a/b", "/ü#é", "http://h/%C3%BC#%C3%A9", "/%C3%BC" },
	{ "http://h/a/b", "http://o:81/日?本", "http://o:81/%E6%97%A5?%E6%9C%AC",
	  "/%E6%97%A5?%E6%9C%AC" },
	{ "http://h/é/x", "y", "http://h/%C3%A9/y", "/%C3%A9/y" },
	{ "http://h/é/x", "../%C3%A9?%41", "http://h/%C3%A9?%41", "/%C3%A9?%41" },
	{ "http://h/", "?é", "http://h/?%C3%A9", "/?%C3%A9" },
};

Test(url, resolve_non_ascii_then_parse)
{
	for (size_t i = 0; i < ARRAY_SIZE(tu_resolve_parse_cases); i++) {
		const struct tu_resolve_parse *c = &tu_resolve_parse_cases[i];
		char err[256] = "";
		char *out = NULL;
		struct url u;
		cr_assert_eq(url_resolve(c->base, c->ref, &out, err, sizeof(err)), 0,
		             "url_resolve(\"%s\", \"%s\"): %s", c->base, c->ref, err);
		cr_expect_str_eq(out, c->resolved, "\"%s\" + \"%s\" = \"%s\"", c->base, c->ref,
		                 out);
		cr_assert_eq(url_parse(out, &u, err, sizeof(err)), 0, "url_parse(\"%s\"): %s", out,
		             err);
		cr_expect_str_eq(u.path, c->path, "url_parse(\"%s\"): path \"%s\"", out, u.path);
		url_free(&u);
		free(out);
	}
}

Test(url, resolve_non_ascii_host_is_rejected_by_parse)
{
	char err[256] = "";
	char *out = NULL;
	struct url u;
	cr_assert_eq(url_resolve("http://h/a", "//café.example/x", &out, err, sizeof(err)), 0, "%s",
	             err);
	cr_expect_str_eq(out, "http://caf%C3%A9.example/x");
	cr_expect_eq(url_parse(out, &u, err, sizeof(err)), -EINVAL);
	cr_expect_neq(strstr(err, "non-ASCII"), NULL, "error \"%s\"", err);
	free(out);
}

/* RFC 3986 §3.1: the scheme is what comes before the first ':', in any case; only http and
 * https are ours (a redirect elsewhere is ERR_UNSUPPORTED_SCHEME). */
Test(url, scheme_is_http)
{
	static const struct {
		const char *s;
		bool want;
	} cases[] = {
		{ "http://h/", true },    { "https://h/", true },    { "HTTP://h/", true },
		{ "hTtPs://h/", true },   { "http:/x", true },       { "http:", true },
		{ "ftp://h/x", false },   { "javascript:x", false }, { "httpx://h/", false },
		{ "htt://h/", false },    { "https2://h/", false },  { "mailto:a@b", false },
		{ "/http://h/", false },  { "http", false },         { "", false },
		{ "data:,http:", false }, { "?http://h/", false },   { "h/http://x", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		cr_expect_eq(url_scheme_is_http(cases[i].s), cases[i].want, "\"%s\"", cases[i].s);
}
