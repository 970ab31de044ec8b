/* test_cookie.c: unit tests for the RFC 6265 cookie jar (parsing, storage, retrieval, caps). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/cookie.h"
#include "protocol/url.h"
#include "util/buf.h"
#include "util/common.h"

/* Test time zero: 2023-11-14 22:13:20 UTC, in µs; steps give offsets in milliseconds. */
#define T0_S  1700000000LL
#define T0_US (T0_S * USEC_PER_SEC)

static int64_t at_ms(int64_t ms)
{
	return T0_US + ms * 1000;
}

/* --- helpers: URLs as strings, the Cookie header as a string ---------------------- */

struct tk_url {
	struct url u;
	struct cookie_url cu;
};

static void tk_url_open(struct tk_url *t, const char *s)
{
	char err[256] = "";
	int rc = url_parse(s, &t->u, err, sizeof(err));
	cr_assert_eq(rc, 0, "url_parse(\"%s\"): %s", s, err);
	t->cu.host = t->u.host;
	t->cu.path = t->u.path;
	t->cu.secure = t->u.tls;
}

static int tk_set(struct cookie_jar *jar, const char *url, const char *hdr, int64_t ms)
{
	struct tk_url t;
	tk_url_open(&t, url);
	int rc = cookie_jar_set_header(jar, &t.cu, hdr, at_ms(ms));
	url_free(&t.u);
	return rc;
}

/* The Cookie header value for url at ms, into out ("" when none). */
static void tk_get(struct cookie_jar *jar, const char *url, int64_t ms, char *out, size_t len)
{
	struct tk_url t;
	struct buf b = { 0 };
	tk_url_open(&t, url);
	size_t n = cookie_jar_header(jar, &t.cu, at_ms(ms), &b);
	cr_assert_eq(n == 0, b.len == 0, "%s: %zu cookies but %zu bytes", url, n, b.len);
	snprintf(out, len, "%s", b.p ? b.p : "");
	buf_free(&b);
	url_free(&t.u);
}

/* --- §5.1.1 cookie-date ----------------------------------------------------------- */

struct tc_date {
	const char *s;
	int64_t want;
};

static const struct tc_date tc_dates[] = {
	{ "Wed, 09 Jun 2021 10:18:14 GMT", 1623233894 },     /* RFC 1123 */
	{ "Wednesday, 09-Jun-21 10:18:14 GMT", 1623233894 }, /* RFC 850 */
	{ "Wed Jun  9 10:18:14 2021", 1623233894 },          /* asctime */
	{ "Wed, 09-Jun-2021 10:18:14 GMT", 1623233894 },     /* Netscape */
	{ "Sun, 06 Nov 1994 08:49:37 GMT", 784111777 },      /* RFC 2616 §3.3.1 */
	{ "Sunday, 06-Nov-94 08:49:37 GMT", 784111777 },
	{ "Sun Nov  6 08:49:37 1994", 784111777 },
	{ "Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 },
	{ "Thu, 01 Jan 1970 00:00:00 GMT", 0 },
	{ "Thu, 01-Jan-1970 00:00:01 GMT", 1 },
	{ "1 jan 1601 0:0:0", -11644473600LL }, /* earliest year allowed */
	{ "31 Dec 9999 23:59:59", 253402300799LL },
	{ "Tue, 29 Feb 2000 12:00:00 GMT", 951825600 }, /* leap (divisible by 400) */
	{ "Thu, 29 Feb 2024 01:02:03 GMT", 1709168523 },
	{ "1 Jan 69 00:00:00", 3124224000LL },   /* 0-69 -> 20xx */
	{ "1 Jan 70 00:00:00", 0 },              /* 70-99 -> 19xx */
	{ "09 JUNE 2021 10:18:14", 1623233894 }, /* month: first 3 letters */
	{ "2021 Jun 09 10:18:14", 1623233894 },  /* any order */
	{ "10:18:14 09 Jun 2021", 1623233894 },
	{ "Wed,09-Jun-2021 10:18:14junk", 1623233894 },             /* trailing non-digits */
	{ "junk; 09 Jun 2021 10:18:14 +0000 (UTC) 5", 1623233894 }, /* later numbers ignored */
};

Test(cookie, parse_date_valid)
{
	for (size_t i = 0; i < ARRAY_SIZE(tc_dates); i++) {
		int64_t got = 42;
		int rc = cookie_parse_date(tc_dates[i].s, strlen(tc_dates[i].s), &got);
		cr_expect_eq(rc, 0, "\"%s\": rc %d", tc_dates[i].s, rc);
		cr_expect_eq(got, tc_dates[i].want, "\"%s\": %lld, want %lld", tc_dates[i].s,
		             (long long)got, (long long)tc_dates[i].want);
	}
}

static const char *const tc_bad_dates[] = {
	"",
	"garbage",
	"Wed, 09 Jun 2021",     /* no time */
	"09 Jun 10:18:14",      /* no year */
	"Jun 2021 10:18:14",    /* no day */
	"09 2021 10:18:14",     /* no month */
	"30 Feb 2021 10:00:00", /* does not exist */
	"29 Feb 2021 10:00:00", /* not a leap year */
	"29 Feb 1900 10:00:00", /* divisible by 100 */
	"31 Apr 2021 10:00:00",
	"32 Jan 2021 10:00:00",
	"0 Jan 2021 10:00:00",
	"09 Jun 1600 10:00:00", /* before 1601 */
	"09 Jun 2021 24:00:00",
	"09 Jun 2021 10:60:00",
	"09 Jun 2021 10:00:60",
	"09 Jun 2021 100:00:00", /* a time-field has at most 2 digits */
	"09 Jun 20211 10:00:00", /* a year has at most 4 digits */
	"09 Jun 2 10:00:00",     /* and at least 2 */
};

Test(cookie, parse_date_invalid)
{
	for (size_t i = 0; i < ARRAY_SIZE(tc_bad_dates); i++) {
		int64_t got = 42;
		int rc = cookie_parse_date(tc_bad_dates[i], strlen(tc_bad_dates[i]), &got);
		cr_expect_eq(rc, -EINVAL, "\"%s\": rc %d (%lld)", tc_bad_dates[i], rc,
		             (long long)got);
		cr_expect_eq(got, 42, "\"%s\": output written on failure", tc_bad_dates[i]);
	}
}

Test(cookie, parse_date_counted)
{
	/* Only len bytes are read: the year that follows is not part of the date. */
	const char *s = "09 Jun 10:18:14 2021";
	int64_t got = 42;
	cr_expect_eq(cookie_parse_date(s, 15, &got), -EINVAL);
	cr_expect_eq(cookie_parse_date(s, strlen(s), &got), 0);
	cr_expect_eq(got, 1623233894);
}

/* --- §5.2 Set-Cookie ------------------------------------------------------------ */

#define NO_ATTR ((const char *)-1) /* want: attribute absent (NULL) */

struct tc_parse {
	const char *s;
	int rc;
	const char *name, *value;
	const char *domain, *path; /* NO_ATTR: absent */
	bool has_expires;
	int64_t expires_s;
	bool has_max_age;
	int64_t max_age_s;
	bool secure, http_only;
};

/* A row that parses: the string, then name, value, domain and path. */
#define OK(str, n, v, d, p) .s = str, .rc = 0, .name = n, .value = v, .domain = d, .path = p
#define BAD(str, err)       .s = str, .rc = err

static const struct tc_parse tc_parses[] = {
	/* RFC 6265 §3.1 examples */
	{ OK("SID=31d4d96e407aad42", "SID", "31d4d96e407aad42", NO_ATTR, NO_ATTR) },
	{ OK("SID=31d4d96e407aad42; Path=/; Domain=example.com", "SID", "31d4d96e407aad42",
	     "example.com", "/") },
	{ OK("SID=31d4d96e407aad42; Path=/; Secure; HttpOnly", "SID", "31d4d96e407aad42", NO_ATTR,
	     "/"),
	  .secure = true, .http_only = true },
	{ OK("lang=en-US; Path=/; Domain=example.com", "lang", "en-US", "example.com", "/") },
	{ OK("lang=en-US; Expires=Wed, 09 Jun 2021 10:18:14 GMT", "lang", "en-US", NO_ATTR,
	     NO_ATTR),
	  .has_expires = true, .expires_s = 1623233894 },
	{ OK("lang=; Expires=Sun, 06 Nov 1994 08:49:37 GMT", "lang", "", NO_ATTR, NO_ATTR),
	  .has_expires = true, .expires_s = 784111777 },
	/* name-value pair */
	{ OK("  name \t=  two words  ; path=/a", "name", "two words", NO_ATTR, "/a") },
	{ OK("a=b=c", "a", "b=c", NO_ATTR, NO_ATTR) },
	{ OK("a=\"quoted\"", "a", "\"quoted\"", NO_ATTR, NO_ATTR) },
	{ OK("a=", "a", "", NO_ATTR, NO_ATTR) },
	{ OK("a=1;;; Path=/p ;", "a", "1", NO_ATTR, "/p") },
	{ BAD("=value", -EINVAL) },
	{ BAD(" =value", -EINVAL) },
	{ BAD("novalue", -EINVAL) },
	{ BAD("novalue; a=b", -EINVAL) },
	{ BAD("", -EINVAL) },
	{ BAD(";a=b", -EINVAL) },
	/* Max-Age (§5.2.2) */
	{ OK("a=1; Max-Age=100", "a", "1", NO_ATTR, NO_ATTR), .has_max_age = true,
	  .max_age_s = 100 },
	{ OK("a=1; max-age=0", "a", "1", NO_ATTR, NO_ATTR), .has_max_age = true, .max_age_s = 0 },
	{ OK("a=1; MAX-AGE=-5", "a", "1", NO_ATTR, NO_ATTR), .has_max_age = true, .max_age_s = -5 },
	{ OK("a=1; Max-Age=abc", "a", "1", NO_ATTR, NO_ATTR) },
	{ OK("a=1; Max-Age=", "a", "1", NO_ATTR, NO_ATTR) },
	{ OK("a=1; Max-Age=-", "a", "1", NO_ATTR, NO_ATTR) },
	{ OK("a=1; Max-Age=1x", "a", "1", NO_ATTR, NO_ATTR) },
	{ OK("a=1; Max-Age=+1", "a", "1", NO_ATTR, NO_ATTR) },
	{ OK("a=1; Max-Age=99999999999999999999999", "a", "1", NO_ATTR, NO_ATTR),
	  .has_max_age = true, .max_age_s = INT64_MAX },
	{ OK("a=1; Max-Age=10; Max-Age=20", "a", "1", NO_ATTR, NO_ATTR), .has_max_age = true,
	  .max_age_s = 20 },
	{ OK("a=1; Max-Age=10; Max-Age=x", "a", "1", NO_ATTR, NO_ATTR), .has_max_age = true,
	  .max_age_s = 10 },
	/* Expires (§5.2.1) */
	{ OK("a=1; Expires=garbage", "a", "1", NO_ATTR, NO_ATTR) },
	{ OK("a=1; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=5", "a", "1", NO_ATTR, NO_ATTR),
	  .has_expires = true, .expires_s = 0, .has_max_age = true, .max_age_s = 5 },
	/* Domain (§5.2.3): kept as written; an empty one is ignored */
	{ OK("a=1; Domain=.Example.COM", "a", "1", ".Example.COM", NO_ATTR) },
	{ OK("a=1; Domain=a.com; Domain=", "a", "1", "a.com", NO_ATTR) },
	{ OK("a=1; Domain=a.com; Domain=b.com", "a", "1", "b.com", NO_ATTR) },
	/* Path (§5.2.4): empty or not starting with '/' means the default-path */
	{ OK("a=1; Path=", "a", "1", NO_ATTR, NO_ATTR) },
	{ OK("a=1; Path=rel/x", "a", "1", NO_ATTR, NO_ATTR) },
	{ OK("a=1; Path=/x; Path=y", "a", "1", NO_ATTR, NO_ATTR) },
	{ OK("a=1; Path = /x/y ", "a", "1", NO_ATTR, "/x/y") },
	/* Secure, HttpOnly (§5.2.5, §5.2.6), unknown attributes */
	{ OK("a=1; SECURE; httponly", "a", "1", NO_ATTR, NO_ATTR), .secure = true,
	  .http_only = true },
	{ OK("a=1; Secure=no", "a", "1", NO_ATTR, NO_ATTR), .secure = true },
	{ OK("a=1; SameSite=Lax; Foo=bar; Unknown; Securely", "a", "1", NO_ATTR, NO_ATTR) },
};

static void expect_attr(const char *what, const char *s, const char *p, size_t n, const char *want)
{
	if (want == NO_ATTR) {
		cr_expect_null(p, "\"%s\": %s should be absent", s, what);
		return;
	}
	cr_assert_not_null(p, "\"%s\": %s missing", s, what);
	cr_expect(n == strlen(want) && !memcmp(p, want, n), "\"%s\": %s \"%.*s\", want \"%s\"", s,
	          what, (int)n, p, want);
}

Test(cookie, parse)
{
	for (size_t i = 0; i < ARRAY_SIZE(tc_parses); i++) {
		const struct tc_parse *c = &tc_parses[i];
		struct cookie_attrs a;
		int rc = cookie_parse(c->s, &a);
		cr_expect_eq(rc, c->rc, "\"%s\": rc %d, want %d", c->s, rc, c->rc);
		if (rc != 0 || c->rc != 0)
			continue;
		expect_attr("name", c->s, a.name, a.name_len, c->name);
		expect_attr("value", c->s, a.value, a.value_len, c->value);
		expect_attr("domain", c->s, a.domain, a.domain_len, c->domain);
		expect_attr("path", c->s, a.path, a.path_len, c->path);
		cr_expect_eq(a.has_expires, c->has_expires, "\"%s\": has_expires", c->s);
		if (c->has_expires)
			cr_expect_eq(a.expires_s, c->expires_s, "\"%s\": expires", c->s);
		cr_expect_eq(a.has_max_age, c->has_max_age, "\"%s\": has_max_age", c->s);
		if (c->has_max_age)
			cr_expect_eq(a.max_age_s, c->max_age_s, "\"%s\": max_age %lld", c->s,
			             (long long)a.max_age_s);
		cr_expect_eq(a.secure, c->secure, "\"%s\": secure", c->s);
		cr_expect_eq(a.http_only, c->http_only, "\"%s\": http_only", c->s);
	}
}

Test(cookie, parse_size_caps)
{
	struct buf b = { 0 };
	struct cookie_attrs a;
	char val[COOKIE_MAX_NAME_VALUE + 2];

	/* name + value of exactly COOKIE_MAX_NAME_VALUE bytes is fine, one more is not */
	memset(val, 'v', sizeof(val));
	val[COOKIE_MAX_NAME_VALUE - 1] = '\0';
	buf_addstr(&b, "n=");
	buf_addstr(&b, val);
	cr_expect_eq(cookie_parse(b.p, &a), 0);
	cr_expect_eq(a.name_len + a.value_len, COOKIE_MAX_NAME_VALUE);
	buf_addstr(&b, "v");
	cr_expect_eq(cookie_parse(b.p, &a), -E2BIG);

	/* an over-long attribute value is ignored, the cookie kept */
	b.len = 0;
	buf_addstr(&b, "a=1; Path=/short; Path=/");
	for (int i = 0; i < COOKIE_MAX_ATTR; i++)
		buf_addstr(&b, "x");
	cr_expect_eq(cookie_parse(b.p, &a), 0);
	expect_attr("path", "long path", a.path, a.path_len, "/short");
	buf_free(&b);
}

/* --- §5.1.3, §5.1.4 --------------------------------------------------------------- */

struct tc_match {
	const char *a, *b;
	bool want;
};

static const struct tc_match tc_domain_matches[] = {
	{ "example.com", "example.com", true },
	{ "www.example.com", "example.com", true },
	{ "a.b.example.com", "example.com", true },
	{ "Example.COM", "example.com", true },
	{ "WWW.example.com", "EXAMPLE.com", true },
	{ "badexample.com", "example.com", false },
	{ "example.com", "www.example.com", false },
	{ "example.com", ".example.com", false },
	{ "example.com", "", false },
	{ "example.com", "com", true }, /* no public-suffix list */
	{ "127.0.0.1", "127.0.0.1", true },
	{ "127.0.0.1", "0.0.1", false }, /* an IP address matches only itself */
	{ "10.0.0.1", "0.1", false },
	{ "::1", "::1", true },
	{ "fe80::1", "1", false },
	{ "a.123", "123", false }, /* numeric last label: read as IPv4 */
	{ "localhost", "localhost", true },
};

Test(cookie, domain_match)
{
	for (size_t i = 0; i < ARRAY_SIZE(tc_domain_matches); i++) {
		const struct tc_match *c = &tc_domain_matches[i];
		cr_expect_eq(cookie_domain_match(c->a, c->b), c->want, "\"%s\" ~ \"%s\"", c->a,
		             c->b);
	}
}

static const struct tc_match tc_path_matches[] = {
	{ "/", "/", true },
	{ "/p1", "/p1", true },
	{ "/p1/x", "/p1", true },
	{ "/p1/", "/p1", true },
	{ "/p1/x", "/p1/", true },
	{ "/p12", "/p1", false },
	{ "/p1", "/p1/", false },
	{ "/", "/p1", false },
	{ "/P1", "/p1", false }, /* case-sensitive */
	{ "/anything/at/all", "/", true },
	{ "/docs/web?x=1", "/docs", true },
	{ "/docs?x=1", "/docs", true },
	{ "/docsx?a=/docs", "/docs", false },
	{ "", "/", true }, /* no path: "/" */
	{ "?q", "/", true },
};

Test(cookie, path_match)
{
	for (size_t i = 0; i < ARRAY_SIZE(tc_path_matches); i++) {
		const struct tc_match *c = &tc_path_matches[i];
		cr_expect_eq(cookie_path_match(c->a, c->b), c->want, "\"%s\" ~ \"%s\"", c->a, c->b);
	}
}

struct tc_defpath {
	const char *req, *want;
};

static const struct tc_defpath tc_defpaths[] = {
	{ "/p1/x", "/p1" },  { "/a/b/c", "/a/b" },
	{ "/a/b/", "/a/b" }, { "/a/b/c?q=/d/e", "/a/b" }, /* the query is not part of the path */
	{ "/a/b?x", "/a" },  { "/a//b", "/a/" },
	{ "/x", "/" },       { "/", "/" },
	{ "//", "/" },       { "", "/" },
	{ NULL, "/" },       { "x/y", "/" }, /* not starting with '/' */
	{ "?a/b", "/" },
};

Test(cookie, default_path)
{
	for (size_t i = 0; i < ARRAY_SIZE(tc_defpaths); i++) {
		const struct tc_defpath *c = &tc_defpaths[i];
		size_t n = 99;
		const char *p = cookie_default_path(c->req, &n);
		cr_expect(n == strlen(c->want) && !memcmp(p, c->want, n),
		          "\"%s\": \"%.*s\", want \"%s\"", c->req ? c->req : "(null)", (int)n, p,
		          c->want);
	}
}

/* --- §5.3 storage and §5.4 retrieval: scenarios ----------------------------------- */

enum ts_op { TS_END, TS_SET, TS_GET, TS_DEL, TS_CLEAR_HOST, TS_CLEAR };

/* SET: arg is the Set-Cookie value, rc its result. GET: want is the Cookie header value.
 * DEL: arg is the name, rc the count removed. CLEAR_HOST: url is a host, rc the count. */
struct ts_step {
	enum ts_op op;
	const char *url;
	const char *arg;
	int64_t ms;
	int rc;
	const char *want;
};

struct ts_case {
	const char *name;
	struct ts_step steps[16];
};

#define SET(u, h, t, r)                                                                            \
	{                                                                                          \
		TS_SET, u, h, t, r, NULL                                                           \
	}
#define GET(u, t, w)                                                                               \
	{                                                                                          \
		TS_GET, u, NULL, t, 0, w                                                           \
	}
#define DEL(u, n, r)                                                                               \
	{                                                                                          \
		TS_DEL, u, n, 0, r, NULL                                                           \
	}
#define CLEAR_HOST(h, r)                                                                           \
	{                                                                                          \
		TS_CLEAR_HOST, h, NULL, 0, r, NULL                                                 \
	}
#define CLEAR()                                                                                    \
	{                                                                                          \
		TS_CLEAR, NULL, NULL, 0, 0, NULL                                                   \
	}

static const struct ts_case ts_cases[] = {
	{ "Max-Age=1 is relative to receipt",
	  { SET("http://h/", "a=1; Max-Age=1", 0, 0), GET("http://h/", 500, "a=1"),
	    GET("http://h/", 999, "a=1"), GET("http://h/", 1000, ""),
	    GET("http://h/", 1300, "") } },
	{ "Max-Age=0 and negative expire now",
	  { SET("http://h/", "a=1", 0, 0), SET("http://h/", "b=1", 0, 0),
	    SET("http://h/", "a=x; Max-Age=0", 10, COOKIE_DELETED),
	    SET("http://h/", "b=x; Max-Age=-1", 10, COOKIE_DELETED),
	    SET("http://h/", "c=x; Max-Age=0", 10, COOKIE_DELETED), GET("http://h/", 20, "") } },
	{ "Max-Age wins over Expires, in either order",
	  { SET("http://h/", "a=1; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Max-Age=100", 0, 0),
	    SET("http://h/", "b=1; Max-Age=100; Expires=Sun, 06 Nov 1994 08:49:37 GMT", 0, 0),
	    SET("http://h/", "c=1; Max-Age=0; Expires=Wed, 09 Jun 2100 10:18:14 GMT", 0,
	        COOKIE_DELETED),
	    GET("http://h/", 1, "a=1; b=1"), GET("http://h/", 100001, "") } },
	{ "Expires is absolute",
	  { SET("http://h/", "a=1; Expires=Wed, 09 Jun 2100 10:18:14 GMT", 0, 0),
	    SET("http://h/", "old=1; Expires=Sun, 06 Nov 1994 08:49:37 GMT", 0, COOKIE_DELETED),
	    SET("http://h/", "b=1; Expires=Tue, 14 Nov 2023 22:13:21 GMT", 0, 0),
	    GET("http://h/", 999, "a=1; b=1"), GET("http://h/", 1000, "a=1") } },
	{ "an expired cookie removes the stored one with its name, domain and path only",
	  { SET("http://h/", "a=1", 0, 0), SET("http://h/", "a=2; Path=/x", 1, 0),
	    SET("http://h/", "a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT", 2, COOKIE_DELETED),
	    GET("http://h/x", 3, "a=2"), GET("http://h/", 3, "") } },
	{ "same name, different paths coexist; longer path first (RFC 6265 §5.4)",
	  { SET("http://h/", "dup=root; Path=/", 0, 0), SET("http://h/p1/x", "dup=p1", 1, 0),
	    GET("http://h/p1/x", 2, "dup=p1; dup=root"), GET("http://h/p1", 2, "dup=p1; dup=root"),
	    GET("http://h/", 2, "dup=root"), GET("http://h/p10", 2, "dup=root"),
	    GET("http://h/p1/x?y=/z", 2, "dup=p1; dup=root") } },
	{ "path length wins over creation order",
	  { SET("http://h/p1/x", "dup=p1; Path=/p1", 0, 0), SET("http://h/", "dup=root", 1, 0),
	    GET("http://h/p1/x", 2, "dup=p1; dup=root") } },
	{ "same path: earlier creation first; a replaced cookie keeps its creation time",
	  { SET("http://h/", "r=1", 0, 0), SET("http://h/", "x=1", 1, 0),
	    SET("http://h/", "r=2", 2, 0), GET("http://h/", 3, "r=2; x=1") } },
	{ "same creation time: order of arrival",
	  { SET("http://h/", "z=1", 0, 0), SET("http://h/", "y=1", 0, 0),
	    SET("http://h/", "x=1", 0, 0), GET("http://h/", 0, "z=1; y=1; x=1") } },
	{ "replacing an expired cookie is a new creation",
	  { SET("http://h/", "r=1; Max-Age=1", 0, 0), SET("http://h/", "x=1", 100, 0),
	    SET("http://h/", "r=2", 2000, 0), GET("http://h/", 2001, "x=1; r=2") } },
	{ "Secure cookies only over https",
	  { SET("https://h/", "s=1; Secure", 0, 0), SET("https://h/", "p=1", 1, 0),
	    SET("http://h/", "t=1; Secure", 2, 0), GET("http://h/", 3, "p=1"),
	    GET("https://h/", 3, "s=1; p=1; t=1") } },
	{ "Domain=example.com from www.example.com",
	  { SET("http://www.example.com/", "d=1; Domain=example.com", 0, 0),
	    GET("http://example.com/", 1, "d=1"), GET("http://a.example.com/", 1, "d=1"),
	    GET("http://www.example.com/", 1, "d=1"), GET("http://x.y.example.com/", 1, "d=1"),
	    GET("http://badexample.com/", 1, ""), GET("http://example.org/", 1, ""),
	    GET("http://com/", 1, "") } },
	{ "Domain: leading dot ignored, case folded",
	  { SET("http://WWW.Example.com/", "d=1; Domain=.EXAMPLE.com", 0, 0),
	    GET("http://example.com/", 1, "d=1"), GET("http://A.EXAMPLE.COM/", 1, "d=1") } },
	{ "Domain that the host does not domain-match is rejected",
	  { SET("http://example.com/", "o=1; Domain=other.com", 0, -EPERM),
	    SET("http://example.com/", "o=1; Domain=www.example.com", 0, -EPERM),
	    SET("http://badexample.com/", "o=1; Domain=example.com", 0, -EPERM),
	    GET("http://other.com/", 1, ""), GET("http://example.com/", 1, ""),
	    GET("http://www.example.com/", 1, "") } },
	{ "no Domain: host-only",
	  { SET("http://example.com/", "h=1", 0, 0),
	    SET("http://example.com/", "h=2; Domain=", 0, 0), GET("http://example.com/", 1, "h=2"),
	    GET("http://www.example.com/", 1, ""), GET("http://EXAMPLE.COM/", 1, "h=2") } },
	{ "identity is name, domain, path: a Domain cookie replaces the host-only one",
	  { SET("http://example.com/", "a=host", 0, 0), SET("http://example.com/", "x=1", 1, 0),
	    SET("http://example.com/", "a=dom; Domain=example.com", 2, 0),
	    GET("http://example.com/", 3, "a=dom; x=1"), GET("http://w.example.com/", 3, "a=dom"),
	    SET("http://example.com/", "a=host2", 4, 0),
	    GET("http://example.com/", 5, "a=host2; x=1"), GET("http://w.example.com/", 5, "") } },
	{ "IP address hosts",
	  { SET("http://127.0.0.1/", "i=1; Domain=0.0.1", 0, -EPERM),
	    SET("http://127.0.0.1/", "i=2; Domain=127.0.0.1", 0, 0),
	    SET("http://127.0.0.1/", "j=1", 1, 0), GET("http://127.0.0.1/", 2, "i=2; j=1"),
	    GET("http://127.0.0.2/", 2, ""), GET("http://[::1]/", 2, ""),
	    SET("http://[::1]:8080/", "v6=1", 3, 0), GET("http://[::1]/", 4, "v6=1") } },
	{ "default-path (§5.1.4)",
	  { SET("http://h/p1/x", "a=1", 0, 0), SET("http://h/a/b/c?x=/q/r", "b=1", 1, 0),
	    SET("http://h/top", "c=1; Path=relative", 2, 0), GET("http://h/p1", 3, "a=1; c=1"),
	    GET("http://h/p1/y/z", 3, "a=1; c=1"), GET("http://h/", 3, "c=1"),
	    GET("http://h/a/b", 3, "b=1; c=1"), GET("http://h/a/bc", 3, "c=1") } },
	{ "malformed headers store nothing",
	  { SET("http://h/", "noequals", 0, -EINVAL), SET("http://h/", "=v", 0, -EINVAL),
	    SET("http://h/", "; a=b", 0, -EINVAL), GET("http://h/", 1, "") } },
	{ "empty value", { SET("http://h/", "e=", 0, 0), GET("http://h/", 1, "e=") } },
	{ "delete by name: every path and domain the URL would get",
	  { SET("http://www.example.com/", "a=1", 0, 0),
	    SET("http://www.example.com/x", "a=2; Path=/x", 1, 0),
	    SET("http://www.example.com/", "a=3; Domain=example.com", 2, 0),
	    SET("http://www.example.com/", "a=4; Path=/y", 3, 0),
	    SET("https://www.example.com/", "b=1; Secure", 4, 0),
	    DEL("http://www.example.com/x/z", "a", 3),
	    GET("https://www.example.com/y", 5, "a=4; b=1"), DEL("http://www.example.com/", "b", 1),
	    DEL("http://www.example.com/", "zz", 0), GET("https://www.example.com/y", 6, "a=4") } },
	{ "delete via a parent domain leaves the subdomain's host-only cookie",
	  { SET("http://www.example.com/", "a=host", 0, 0),
	    SET("http://www.example.com/", "a=dom; Domain=example.com", 1, 0),
	    DEL("http://example.com/", "a", 1), GET("http://www.example.com/", 2, "a=host") } },
	{ "clear a host: its host-only cookies and the domain cookies it gets",
	  { SET("http://example.com/", "h=1; Path=/deep", 0, 0),
	    SET("https://example.com/", "s=1; Secure", 0, 0),
	    SET("http://www.example.com/", "d=1; Domain=example.com", 0, 0),
	    SET("http://www.example.com/", "w=1", 0, 0), SET("http://other.com/", "o=1", 0, 0),
	    CLEAR_HOST("EXAMPLE.com", 3), GET("http://www.example.com/", 1, "w=1"),
	    GET("http://other.com/", 1, "o=1"), CLEAR_HOST("example.com", 0),
	    CLEAR_HOST("a.www.example.com", 0), CLEAR(), GET("http://www.example.com/", 1, ""),
	    GET("http://other.com/", 1, ""), SET("http://other.com/", "o=2", 2, 0),
	    GET("http://other.com/", 3, "o=2") } },
};

static void ts_run(const struct ts_case *c)
{
	struct cookie_jar *jar = cookie_jar_new();
	char got[8192];

	for (size_t i = 0; i < ARRAY_SIZE(c->steps) && c->steps[i].op != TS_END; i++) {
		const struct ts_step *s = &c->steps[i];
		struct tk_url t;
		int rc;
		switch (s->op) {
		case TS_SET:
			rc = tk_set(jar, s->url, s->arg, s->ms);
			cr_expect_eq(rc, s->rc, "%s: step %zu: set \"%s\" at %s: rc %d, want %d",
			             c->name, i, s->arg, s->url, rc, s->rc);
			break;
		case TS_GET:
			tk_get(jar, s->url, s->ms, got, sizeof(got));
			cr_expect_str_eq(got, s->want,
			                 "%s: step %zu: %s at +%lldms: \"%s\", want \"%s\"",
			                 c->name, i, s->url, (long long)s->ms, got, s->want);
			break;
		case TS_DEL:
			tk_url_open(&t, s->url);
			rc = (int)cookie_jar_delete(jar, &t.cu, s->arg);
			url_free(&t.u);
			cr_expect_eq(rc, s->rc, "%s: step %zu: delete %s: %d, want %d", c->name, i,
			             s->arg, rc, s->rc);
			break;
		case TS_CLEAR_HOST:
			rc = (int)cookie_jar_clear_host(jar, s->url);
			cr_expect_eq(rc, s->rc, "%s: step %zu: clear %s: %d, want %d", c->name, i,
			             s->url, rc, s->rc);
			break;
		case TS_CLEAR:
			cookie_jar_clear(jar);
			cr_expect_eq(cookie_jar_count(jar), 0);
			break;
		case TS_END:
			break;
		}
	}
	cookie_jar_free(jar);
}

Test(cookie, scenarios)
{
	for (size_t i = 0; i < ARRAY_SIZE(ts_cases); i++)
		ts_run(&ts_cases[i]);
}

/* --- the API around the scenarios ------------------------------------------------- */

Test(cookie, header_appends_and_allocates_nothing_when_empty)
{
	struct cookie_jar *jar = cookie_jar_new();
	struct cookie_url u = { .host = "h", .path = "/", .secure = false };
	struct buf b = { 0 };

	cr_expect_eq(cookie_jar_header(jar, &u, T0_US, &b), 0);
	cr_expect_null(b.p, "an empty jar must not touch the buffer");
	cr_expect_eq(cookie_jar_set_header(jar, &u, "a=1; Path=/only", T0_US), 0);
	cr_expect_eq(cookie_jar_header(jar, &u, T0_US, &b), 0);
	cr_expect_null(b.p, "no match must not touch the buffer");

	u.path = "/only/here?q=1";
	buf_addstr(&b, "Cookie: ");
	cr_expect_eq(cookie_jar_header(jar, &u, T0_US, &b), 1);
	cr_expect_str_eq(b.p, "Cookie: a=1");
	cr_expect_eq(b.len, strlen("Cookie: a=1"));

	/* a NULL path is "/" */
	u.path = NULL;
	cr_expect_eq(cookie_jar_set_header(jar, &u, "b=2", T0_US), 0);
	b.len = 0;
	cr_expect_eq(cookie_jar_header(jar, &u, T0_US, &b), 1);
	cr_expect_str_eq(b.p, "b=2");
	buf_free(&b);
	cookie_jar_free(jar);
	cookie_jar_free(NULL);
}

struct tk_seen {
	int n, stop_at;
	struct cookie_info c[8];
	char names[8][16];
};

static int tk_visit(const struct cookie_info *c, void *ud)
{
	struct tk_seen *s = ud;
	s->c[s->n] = *c;
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", c->name);
	s->n++;
	return s->n == s->stop_at ? 7 : 0;
}

Test(cookie, each_reports_attributes)
{
	struct cookie_jar *jar = cookie_jar_new();
	struct cookie_url set = { .host = "www.Example.com", .path = "/a/b", .secure = true };
	struct cookie_url get = { .host = "www.example.com", .path = "/a/x", .secure = true };
	struct tk_seen seen = { 0 };

	cr_assert_eq(cookie_jar_set_header(jar, &set, "s=1; Max-Age=60; Secure; HttpOnly", T0_US),
	             0);
	cr_assert_eq(cookie_jar_set_header(jar, &set, "d=2; Domain=example.com; Path=/", T0_US), 0);
	cr_assert_eq(cookie_jar_set_header(jar, &set,
	                                   "e=3; Expires=Wed, 09 Jun 2100 10:18:14 GMT; Path=/",
	                                   T0_US + 1),
	             0);
	cr_expect_eq(cookie_jar_count(jar), 3);
	cr_expect_eq(cookie_jar_each(jar, &get, T0_US + 2, tk_visit, &seen), 0);
	cr_assert_eq(seen.n, 3);

	const struct cookie_info *s = &seen.c[0], *d = &seen.c[1], *e = &seen.c[2];
	cr_expect_str_eq(seen.names[0], "s");
	cr_expect_str_eq(s->value, "1");
	cr_expect_eq(s->value_len, 1);
	cr_expect_eq(s->name_len, 1);
	cr_expect_str_eq(s->domain, "www.example.com");
	cr_expect_str_eq(s->path, "/a");
	cr_expect(s->persistent && s->host_only && s->secure && s->http_only);
	cr_expect_eq(s->expires_us, T0_US + 60 * USEC_PER_SEC);

	cr_expect_str_eq(seen.names[1], "d");
	cr_expect_str_eq(d->domain, "example.com");
	cr_expect_str_eq(d->path, "/");
	cr_expect(!d->persistent && !d->host_only && !d->secure && !d->http_only);
	cr_expect_eq(d->expires_us, INT64_MAX);

	cr_expect_str_eq(seen.names[2], "e");
	cr_expect(e->persistent);
	cr_expect_eq(e->expires_us, 4116219494LL * USEC_PER_SEC);

	/* a nonzero return stops the walk and is passed back */
	memset(&seen, 0, sizeof(seen));
	seen.stop_at = 2;
	cr_expect_eq(cookie_jar_each(jar, &get, T0_US + 2, tk_visit, &seen), 7);
	cr_expect_eq(seen.n, 2);

	/* over http, the Secure cookie is not visited */
	memset(&seen, 0, sizeof(seen));
	get.secure = false;
	cr_expect_eq(cookie_jar_each(jar, &get, T0_US + 2, tk_visit, &seen), 0);
	cr_expect_eq(seen.n, 2);
	cr_expect_str_eq(seen.names[0], "d");
	cookie_jar_free(jar);
}

/* k6's jar.set(url, name, value, { domain, path, expires, max_age, secure, http_only }) */
struct tc_store {
	const char *what;
	struct cookie_attrs a;
	int rc;
	const char *domain, *path; /* of the stored cookie, when rc is 0 */
	bool host_only;
};

#define NV(n, v) .name = n, .name_len = sizeof(n) - 1, .value = v, .value_len = sizeof(v) - 1

static const struct tc_store tc_stores[] = {
	{ "plain", { NV("a", "1") }, 0, "www.example.com", "/p", true },
	{ "domain with a dot",
	  { NV("a", "1"), .domain = ".example.com", .domain_len = 12 },
	  0,
	  "example.com",
	  "/p",
	  false },
	{ "path",
	  { NV("a", "1"), .path = "/x/y", .path_len = 4 },
	  0,
	  "www.example.com",
	  "/x/y",
	  true },
	{ "relative path: default-path",
	  { NV("a", "1"), .path = "x", .path_len = 1 },
	  0,
	  "www.example.com",
	  "/p",
	  true },
	{ "counted strings",
	  { .name = "abc", .name_len = 2, .value = "1234", .value_len = 3 },
	  0,
	  "www.example.com",
	  "/p",
	  true },
	{ "tab inside the value is allowed",
	  { NV("a", "x\ty") },
	  0,
	  "www.example.com",
	  "/p",
	  true },
	{ "empty value", { NV("a", "") }, 0, "www.example.com", "/p", true },
	{ "domain mismatch",
	  { NV("a", "1"), .domain = "other.com", .domain_len = 9 },
	  -EPERM,
	  NULL,
	  NULL,
	  false },
	{ "empty name", { NV("", "1") }, -EINVAL, NULL, NULL, false },
	{ "CRLF in the value", { NV("a", "1\r\nX-Evil: 1") }, -EINVAL, NULL, NULL, false },
	{ "NUL in the value", { NV("a", "1\0002") }, -EINVAL, NULL, NULL, false },
	{ "DEL in the name", { NV("a\177", "1") }, -EINVAL, NULL, NULL, false },
	{ "';' in the value", { NV("a", "1; b=2") }, -EINVAL, NULL, NULL, false },
	{ "'=' in the name", { NV("a=b", "1") }, -EINVAL, NULL, NULL, false },
	{ "expired",
	  { NV("a", "1"), .has_max_age = true, .max_age_s = 0 },
	  COOKIE_DELETED,
	  NULL,
	  NULL,
	  false },
};

Test(cookie, store_direct)
{
	struct cookie_url u = { .host = "www.example.com", .path = "/p/q", .secure = false };
	for (size_t i = 0; i < ARRAY_SIZE(tc_stores); i++) {
		const struct tc_store *c = &tc_stores[i];
		struct cookie_jar *jar = cookie_jar_new();
		struct cookie_url get = { .host = "www.example.com", .path = "/", .secure = true };
		struct tk_seen seen = { 0 };
		int rc = cookie_jar_store(jar, &u, &c->a, T0_US);
		cr_expect_eq(rc, c->rc, "%s: rc %d, want %d", c->what, rc, c->rc);
		cr_expect_eq(cookie_jar_count(jar), rc == 0, "%s: count", c->what);
		if (rc == 0) {
			get.path = c->path;
			cookie_jar_each(jar, &get, T0_US, tk_visit, &seen);
			cr_assert_eq(seen.n, 1, "%s: not found", c->what);
			cr_expect_str_eq(seen.c[0].domain, c->domain, "%s", c->what);
			cr_expect_str_eq(seen.c[0].path, c->path, "%s", c->what);
			cr_expect_eq(seen.c[0].host_only, c->host_only, "%s", c->what);
			cr_expect_eq(seen.c[0].name_len, c->a.name_len, "%s", c->what);
			cr_expect_eq(seen.c[0].value_len, c->a.value_len, "%s", c->what);
			cr_expect(!memcmp(seen.c[0].value, c->a.value, c->a.value_len), "%s",
			          c->what);
		}
		cookie_jar_free(jar);
	}
}

Test(cookie, store_rejects_bad_urls_and_sizes)
{
	struct cookie_jar *jar = cookie_jar_new();
	struct cookie_attrs a = { NV("a", "1") };
	struct cookie_url u = { .host = NULL, .path = "/" };
	char host[COOKIE_MAX_HOST + 2], path[COOKIE_MAX_ATTR + 2];

	cr_expect_eq(cookie_jar_store(jar, &u, &a, T0_US), -EINVAL);
	u.host = "";
	cr_expect_eq(cookie_jar_store(jar, &u, &a, T0_US), -EINVAL);
	memset(host, 'h', sizeof(host));
	host[COOKIE_MAX_HOST + 1] = '\0';
	u.host = host;
	cr_expect_eq(cookie_jar_store(jar, &u, &a, T0_US), -EINVAL);
	host[COOKIE_MAX_HOST] = '\0';
	cr_expect_eq(cookie_jar_store(jar, &u, &a, T0_US), 0);

	u.host = "h";
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	a.path = path;
	a.path_len = COOKIE_MAX_ATTR + 1;
	cr_expect_eq(cookie_jar_store(jar, &u, &a, T0_US), -E2BIG);
	a.path_len = COOKIE_MAX_ATTR;
	cr_expect_eq(cookie_jar_store(jar, &u, &a, T0_US), 0);

	static char big[COOKIE_MAX_NAME_VALUE + 1];
	memset(big, 'v', sizeof(big));
	struct cookie_attrs b = { .name = "n", .name_len = 1, .value = big };
	b.value_len = COOKIE_MAX_NAME_VALUE;
	cr_expect_eq(cookie_jar_store(jar, &u, &b, T0_US), -E2BIG);
	b.value_len = COOKIE_MAX_NAME_VALUE - 1;
	cr_expect_eq(cookie_jar_store(jar, &u, &b, T0_US), 0);
	cr_expect_eq(cookie_jar_count(jar), 3);

	/* an over-size header is rejected without touching the stored cookie */
	struct buf h = { 0 };
	buf_addstr(&h, "n=");
	buf_add(&h, big, COOKIE_MAX_NAME_VALUE);
	cr_expect_eq(cookie_jar_set_header(jar, &u, h.p, T0_US), -E2BIG);
	cr_expect_eq(cookie_jar_count(jar), 3);
	buf_free(&h);
	cookie_jar_free(jar);
}

Test(cookie, max_age_saturates)
{
	struct cookie_jar *jar = cookie_jar_new();
	struct cookie_url u = { .host = "h", .path = "/" };
	struct tk_seen seen = { 0 };

	cr_expect_eq(cookie_jar_set_header(jar, &u, "a=1; Max-Age=99999999999999999999", T0_US), 0);
	cr_expect_eq(cookie_jar_set_header(jar, &u, "b=1; Expires=31 Dec 9999 23:59:59", T0_US), 0);
	cookie_jar_each(jar, &u, INT64_MAX - 1, tk_visit, &seen);
	cr_expect_eq(seen.n, 1);
	cr_expect_eq(seen.c[0].expires_us, INT64_MAX);
	cr_expect(seen.c[0].persistent);
	cookie_jar_free(jar);
}

/* --- caps (RFC 6265 §6.1 minimums, eviction per §5.3) ----------------------------- */

static int tk_set_n(struct cookie_jar *jar, const char *host, const char *fmt, int i, int64_t us)
{
	char hdr[128];
	struct cookie_url u = { .host = host, .path = "/" };
	snprintf(hdr, sizeof(hdr), fmt, i, i, i);
	return cookie_jar_set_header(jar, &u, hdr, us);
}

static bool tk_has(struct cookie_jar *jar, const char *host, const char *path, const char *want,
                   int64_t us)
{
	struct cookie_url u = { .host = host, .path = path };
	struct buf b = { 0 };
	cookie_jar_header(jar, &u, us, &b);
	bool found = false;
	for (const char *p = b.p; p && (p = strstr(p, want)) != NULL; p++) {
		size_t n = strlen(want);
		if ((p == b.p || p[-1] == ' ') && (p[n] == '\0' || p[n] == ';'))
			found = true;
	}
	buf_free(&b);
	return found;
}

Test(cookie, cap_per_domain_evicts_least_recently_accessed)
{
	struct cookie_jar *jar = cookie_jar_new();
	for (int i = 0; i < COOKIE_MAX_PER_DOMAIN; i++)
		cr_assert_eq(tk_set_n(jar, "h", "c%d=%d; Path=/p%d", i, T0_US + i), 0);
	cr_expect_eq(cookie_jar_count(jar), COOKIE_MAX_PER_DOMAIN);
	/* c0 is the oldest created, but reading it makes c1 the least recently accessed */
	cr_expect(tk_has(jar, "h", "/p0", "c0=0", T0_US + 100));
	cr_assert_eq(tk_set_n(jar, "h", "n%d=%d", 0, T0_US + 200), 0);
	cr_expect_eq(cookie_jar_count(jar), COOKIE_MAX_PER_DOMAIN);
	cr_expect(tk_has(jar, "h", "/p0", "c0=0", T0_US + 300));
	cr_expect(!tk_has(jar, "h", "/p1", "c1=1", T0_US + 300));
	cr_expect(tk_has(jar, "h", "/p2", "c2=2", T0_US + 300));
	cr_expect(tk_has(jar, "h", "/", "n0=0", T0_US + 300));
	/* another domain is not affected */
	cr_assert_eq(tk_set_n(jar, "other", "o%d=%d", 0, T0_US + 400), 0);
	cr_expect_eq(cookie_jar_count(jar), COOKIE_MAX_PER_DOMAIN + 1);
	cookie_jar_free(jar);
}

Test(cookie, cap_per_domain_evicts_expired_first)
{
	struct cookie_jar *jar = cookie_jar_new();
	for (int i = 0; i < COOKIE_MAX_PER_DOMAIN; i++) {
		const char *fmt = i == 10 ? "c%d=%d; Max-Age=1" : "c%d=%d; Path=/p%d";
		cr_assert_eq(tk_set_n(jar, "h", fmt, i, T0_US + i), 0);
	}
	/* an expired cookie elsewhere goes too */
	cr_assert_eq(tk_set_n(jar, "x", "x%d=%d; Max-Age=1", 0, T0_US), 0);
	cr_assert_eq(tk_set_n(jar, "h", "n%d=%d", 0, T0_US + 5 * USEC_PER_SEC), 0);
	cr_expect_eq(cookie_jar_count(jar), COOKIE_MAX_PER_DOMAIN);
	cr_expect(tk_has(jar, "h", "/p0", "c0=0", T0_US + 6 * USEC_PER_SEC));
	cookie_jar_free(jar);
}

Test(cookie, cap_total_evicts_least_recently_accessed)
{
	struct cookie_jar *jar = cookie_jar_new();
	int hosts = COOKIE_MAX_TOTAL / COOKIE_MAX_PER_DOMAIN;
	int64_t t = T0_US;
	char host[32];

	for (int h = 0; h < hosts; h++) {
		snprintf(host, sizeof(host), "h%d.test", h);
		for (int i = 0; i < COOKIE_MAX_PER_DOMAIN; i++)
			cr_assert_eq(tk_set_n(jar, host, "c%d=%d", i, t++), 0);
	}
	cr_expect_eq(cookie_jar_count(jar), COOKIE_MAX_TOTAL);
	cr_expect(tk_has(jar, "h0.test", "/", "c0=0", t++));
	/* h0.test was just read, so the least recently accessed is h1.test's c0 */
	cr_assert_eq(tk_set_n(jar, "new.test", "n%d=%d", 0, t++), 0);
	cr_expect_eq(cookie_jar_count(jar), COOKIE_MAX_TOTAL);
	cr_expect(tk_has(jar, "h0.test", "/", "c0=0", t));
	cr_expect(!tk_has(jar, "h1.test", "/", "c0=0", t));
	cr_expect(tk_has(jar, "h1.test", "/", "c1=1", t));
	cr_expect(tk_has(jar, "new.test", "/", "n0=0", t));
	cookie_jar_free(jar);
}

Test(cookie, replacing_at_the_cap_evicts_nothing)
{
	struct cookie_jar *jar = cookie_jar_new();
	for (int i = 0; i < COOKIE_MAX_PER_DOMAIN; i++)
		cr_assert_eq(tk_set_n(jar, "h", "c%d=%d", i, T0_US + i), 0);
	cr_assert_eq(tk_set_n(jar, "h", "c%d=x%d", 0, T0_US + 100), 0);
	cr_expect_eq(cookie_jar_count(jar), COOKIE_MAX_PER_DOMAIN);
	cr_expect(tk_has(jar, "h", "/", "c0=x0", T0_US + 200));
	cr_expect(tk_has(jar, "h", "/", "c1=1", T0_US + 200));
	cookie_jar_free(jar);
}

/* Every byte 0..255 in a stored cookie's name and value (RFC 6265 §5.2 keeps any, 6265bis
 * §5.6 drops controls): the jar stores it unless it could break the Cookie field it is sent
 * back in (a control but HTAB, ';', or '=' in the name), and the header it builds never holds
 * a CR, LF or NUL. */
Test(cookie, store_every_byte)
{
	struct cookie_url u = { .host = "h.example", .path = "/", .secure = false };
	struct buf b = { 0 };

	for (int c = 0; c < 256; c++) {
		char mid[3] = { 'a', (char)c, 'a' };
		bool field = c == '\t' || (c >= 0x20 && c != 0x7f);
		const struct {
			const char *what;
			struct cookie_attrs a;
			bool want;
		} cases[] = {
			{ "name",
			  { .name = mid, .name_len = 3, .value = "v", .value_len = 1 },
			  field && c != ';' && c != '=' },
			{ "value",
			  { .name = "n", .name_len = 1, .value = mid, .value_len = 3 },
			  field && c != ';' },
		};
		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			struct cookie_jar *jar = cookie_jar_new();
			int rc = cookie_jar_store(jar, &u, &cases[i].a, T0_US);
			cr_expect_eq(rc, cases[i].want ? 0 : -EINVAL, "%s with byte 0x%02x: rc %d",
			             cases[i].what, c, rc);
			b.len = 0;
			cookie_jar_header(jar, &u, T0_US, &b);
			cr_expect_eq(b.len, rc == 0 ? 5u : 0u, "%s with byte 0x%02x", cases[i].what,
			             c);
			for (size_t k = 0; k < b.len; k++)
				cr_expect(b.p[k] != '\r' && b.p[k] != '\n' && b.p[k] != '\0',
				          "%s with byte 0x%02x: sent back", cases[i].what, c);
			cookie_jar_free(jar);
		}
	}
	buf_free(&b);
}
