/* test_wire.c: unit tests for wire_check, the one check of what goes onto the wire. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "protocol/wire.h"
#include "util/common.h"

/* The grammars again, written from the RFCs' ABNF independently of wire.c's tables. */
static bool ref_tchar(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool ref_field(int c) /* field-vchar / SP / HTAB, obs-text included */
{
	return c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7e) || c >= 0x80;
}

static bool ref_target(int c) /* VCHAR */
{
	return c >= 0x21 && c <= 0x7e;
}

static bool ref_cookie_octet(int c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
	       (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static bool ref_jar_name(int c)
{
	return ref_field(c) && c != ';' && c != '=';
}

static bool ref_jar_value(int c)
{
	return ref_field(c) && c != ';';
}

static const struct {
	enum wire_part part;
	const char *name;
	bool (*ok)(int c);
} parts[] = {
	{ WIRE_TOKEN, "token", ref_tchar },
	{ WIRE_FIELD_VALUE, "field value", ref_field },
	{ WIRE_TARGET, "target", ref_target },
	{ WIRE_COOKIE_NAME, "cookie name", ref_tchar },
	{ WIRE_COOKIE_VALUE, "cookie value", ref_cookie_octet },
	{ WIRE_JAR_NAME, "jar name", ref_jar_name },
	{ WIRE_JAR_VALUE, "jar value", ref_jar_value },
};

/* Every byte 0..255, alone and between two good bytes, against every part: a byte class that
 * drifts from its RFC (the next CR/LF or ';' let through) fails here. */
Test(wire, every_byte_of_every_part)
{
	for (size_t p = 0; p < ARRAY_SIZE(parts); p++) {
		for (int c = 0; c < 256; c++) {
			char mid[3] = { 'a', (char)c, 'a' }, one[1] = { (char)c }, err[256] = "";
			bool want = parts[p].ok(c);
			int rc = wire_check(parts[p].part, mid, 3, "x", err, sizeof(err));
			cr_expect_eq(rc, want ? 0 : -EINVAL,
			             "%s: byte 0x%02x between 'a's: %d (%s)", parts[p].name, c, rc,
			             err);
			if (!want)
				cr_expect_neq(strstr(err, "contains '"), NULL, "%s: 0x%02x: %s",
				              parts[p].name, c, err);
			rc = wire_check(parts[p].part, one, 1, NULL, err, sizeof(err));
			cr_expect_eq(rc, want ? 0 : -EINVAL, "%s: byte 0x%02x alone: %d (%s)",
			             parts[p].name, c, rc, err);
			if (!want)
				cr_expect_neq(strstr(err, "at byte 0"), NULL, "%s: 0x%02x: %s",
				              parts[p].name, c, err);
		}
	}
}

/* Nothing that can split a header or a cookie list passes any part that can hold a cookie
 * or a value: CR, LF and NUL nowhere, ';' in no cookie part. */
Test(wire, no_part_lets_a_line_or_pair_break_through)
{
	for (size_t p = 0; p < ARRAY_SIZE(parts); p++) {
		cr_expect_neq(wire_check(parts[p].part, "a\rb", 3, NULL, NULL, 0), 0, "%s CR",
		              parts[p].name);
		cr_expect_neq(wire_check(parts[p].part, "a\nb", 3, NULL, NULL, 0), 0, "%s LF",
		              parts[p].name);
		cr_expect_neq(wire_check(parts[p].part, "a\0b", 3, NULL, NULL, 0), 0, "%s NUL",
		              parts[p].name);
		if (parts[p].part >= WIRE_COOKIE_NAME)
			cr_expect_neq(wire_check(parts[p].part, "a;b", 3, NULL, NULL, 0), 0,
			              "%s ';'", parts[p].name);
	}
}

Test(wire, empty)
{
	char err[256];
	cr_expect_eq(wire_check(WIRE_TOKEN, "", 0, "method", err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, "method is empty (not a token, RFC 9110 §5.6.2)");
	cr_expect_eq(wire_check(WIRE_TARGET, "", 0, NULL, err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, "empty, RFC 9112 §3.2");
	cr_expect_eq(wire_check(WIRE_COOKIE_NAME, "", 0, NULL, NULL, 0), -EINVAL);
	cr_expect_eq(wire_check(WIRE_JAR_NAME, "", 0, NULL, NULL, 0), -EINVAL);
	cr_expect_eq(wire_check(WIRE_FIELD_VALUE, "", 0, NULL, NULL, 0), 0);
	cr_expect_eq(wire_check(WIRE_COOKIE_VALUE, "", 0, NULL, NULL, 0), 0);
	cr_expect_eq(wire_check(WIRE_JAR_VALUE, "", 0, NULL, NULL, 0), 0);
}

/* RFC 6265 §4.1.1: cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE ). */
Test(wire, cookie_value_quotes)
{
	static const struct {
		const char *s;
		int want;
	} cases[] = {
		{ "\"abc\"", 0 },    { "\"\"", 0 },          { "abc", 0 },
		{ "\"", -EINVAL },   { "\"abc", -EINVAL },   { "abc\"", -EINVAL },
		{ "a\"b", -EINVAL }, { "\"a b\"", -EINVAL }, { "\"a\"b\"", -EINVAL },
		{ "a,b", -EINVAL },  { "a b", -EINVAL },     { "a\\b", -EINVAL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		cr_expect_eq(
		    wire_check(WIRE_COOKIE_VALUE, cases[i].s, strlen(cases[i].s), NULL, NULL, 0),
		    cases[i].want, "%s", cases[i].s);
	/* the quotes of a token are bytes like others */
	cr_expect_eq(wire_check(WIRE_COOKIE_NAME, "\"a\"", 3, NULL, NULL, 0), -EINVAL);
}

/* The messages name the string, the offending byte and the rule. */
Test(wire, messages)
{
	char err[256];

	cr_expect_eq(wire_check(WIRE_COOKIE_NAME, "a;b", 3, "cookie name", err, sizeof(err)),
	             -EINVAL);
	cr_expect_str_eq(err, "cookie name \"a;b\" contains ';' (not a token, RFC 6265 §4.1.1)");
	wire_check(WIRE_COOKIE_VALUE, "c\r\nd", 4, "cookie value", err, sizeof(err));
	cr_expect_str_eq(err, "cookie value \"c\\r\\nd\" contains '\\r' (not a cookie-octet, RFC "
	                      "6265 §4.1.1)");
	wire_check(WIRE_FIELD_VALUE, "a\x01", 2, NULL, err, sizeof(err));
	cr_expect_str_eq(err, "'\\x01' at byte 1, RFC 9110 §5.5");
	wire_check(WIRE_TOKEN, "a\0b", 3, "method", err, sizeof(err));
	cr_expect_str_eq(err, "method \"a\\x00b\" contains '\\x00' (not a token, RFC 9110 §5.6.2)");
	wire_check(WIRE_TOKEN, "\"", 1, "method", err, sizeof(err));
	cr_expect_str_eq(err, "method \"\\\"\" contains '\\\"' (not a token, RFC 9110 §5.6.2)");

	/* a long string is shortened; a byte past the part shown is given by its offset */
	char long_s[101];
	memset(long_s, 'a', 100);
	long_s[100] = '\n';
	wire_check(WIRE_JAR_VALUE, long_s, 101, "value", err, sizeof(err));
	cr_expect_neq(strstr(err, "aaaa...\" contains '\\n' at byte 100 (not allowed in a cookie "
	                          "value, RFC 6265 §5.2)"),
	              NULL, "%s", err);
	cr_expect_lt(strlen(err), 140, "%s", err);

	/* a short buffer is cut, not overrun; no buffer at all is a plain predicate */
	char small[8];
	memset(small, 'x', sizeof(small));
	wire_check(WIRE_TOKEN, "a b", 3, "method", small, sizeof(small));
	cr_expect_eq(small[7], '\0');
	cr_expect_eq(wire_check(WIRE_TOKEN, "a b", 3, "method", NULL, 0), -EINVAL);
}

Test(wire, quote)
{
	char q[64];

	cr_expect_eq(wire_quote(q, sizeof(q), "a\tb\"\\\xff", 6, 0), 6);
	cr_expect_str_eq(q, "a\\tb\\\"\\\\\\xff");
	cr_expect_eq(wire_quote(q, sizeof(q), "abcdef", 6, 3), 3);
	cr_expect_str_eq(q, "abc...");
	/* a small buffer: as much as fits, then "...", always NUL-terminated */
	cr_expect_eq(wire_quote(q, 8, "abcdefghij", 10, 0), 4);
	cr_expect_str_eq(q, "abcd...");
	cr_expect_eq(wire_quote(q, 8, "\r\r\r\r", 4, 0), 2);
	cr_expect_str_eq(q, "\\r\\r...");
	cr_expect_eq(wire_quote(q, 1, "abc", 3, 0), 0);
	cr_expect_str_eq(q, "");
}
