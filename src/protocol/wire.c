/* wire.c: byte classes of the request grammars and the one check against them (wire.h). */
#include "protocol/wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* RFC 9110 §5.6.2 tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" /
 * "_" / "`" / "|" / "~" / DIGIT / ALPHA. */
static const bool tchar[256] = {
	['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true, ['!'] = true,
	['#'] = true,         ['$'] = true,         ['%'] = true,         ['&'] = true,
	['\''] = true,        ['*'] = true,         ['+'] = true,         ['-'] = true,
	['.'] = true,         ['^'] = true,         ['_'] = true,         ['`'] = true,
	['|'] = true,         ['~'] = true,
};

/* RFC 9110 §5.5 field-value bytes: field-vchar (VCHAR, obs-text), SP and HTAB. */
static const bool field_byte[256] = {
	['\t'] = true,
	[0x20 ... 0x7e] = true,
	[0x80 ... 0xff] = true,
};

/* RFC 9112 §3.2 request-target bytes: visible ASCII (its forms are made of pchar, '/',
 * '?', '*' and the authority, all VCHAR). */
static const bool target_byte[256] = {
	[0x21 ... 0x7e] = true,
};

/* RFC 6265 §4.1.1 cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E (US-ASCII but
 * controls, whitespace, DQUOTE, comma, semicolon and backslash). */
static const bool cookie_octet[256] = {
	[0x21] = true,          [0x23 ... 0x2b] = true, [0x2d ... 0x3a] = true,
	[0x3c ... 0x5b] = true, [0x5d ... 0x7e] = true,
};

/* A received cookie's name: no control but HTAB, no ';', no '='. */
static const bool jar_name_byte[256] = {
	['\t'] = true,          [0x20 ... 0x3a] = true, [0x3c] = true,
	[0x3e ... 0x7e] = true, [0x80 ... 0xff] = true,
};

/* A received cookie's value: no control but HTAB, no ';'. */
static const bool jar_value_byte[256] = {
	['\t'] = true,
	[0x20 ... 0x3a] = true,
	[0x3c ... 0x7e] = true,
	[0x80 ... 0xff] = true,
};

static const struct wire_rule {
	const bool *ok;
	bool nonempty; /* at least one byte */
	bool dquote;   /* may be wrapped in DQUOTEs (which are then not checked) */
	const char * not ;
	const char *ref;
} rules[] = {
	[WIRE_TOKEN] = { tchar, true, false, "not a token", "RFC 9110 §5.6.2" },
	[WIRE_FIELD_VALUE] = { field_byte, false, false, "not allowed in a field value",
	                       "RFC 9110 §5.5" },
	[WIRE_TARGET] = { target_byte, true, false, "not allowed in a request-target",
	                  "RFC 9112 §3.2" },
	[WIRE_COOKIE_NAME] = { tchar, true, false, "not a token", "RFC 6265 §4.1.1" },
	[WIRE_COOKIE_VALUE] = { cookie_octet, false, true, "not a cookie-octet",
	                        "RFC 6265 §4.1.1" },
	[WIRE_JAR_NAME] = { jar_name_byte, true, false, "not allowed in a cookie name",
	                    "RFC 6265 §5.2" },
	[WIRE_JAR_VALUE] = { jar_value_byte, false, false, "not allowed in a cookie value",
	                     "RFC 6265 §5.2" },
};

/* The escape of byte c in a message, into e (at least 5 bytes). */
static void byte_text(char *e, unsigned char c)
{
	if (c == '\r' || c == '\n' || c == '\t')
		snprintf(e, 5, "\\%c", c == '\r' ? 'r' : c == '\n' ? 'n' : 't');
	else if (c == '"' || c == '\\')
		snprintf(e, 5, "\\%c", c);
	else if (c >= 0x20 && c < 0x7f)
		snprintf(e, 5, "%c", c);
	else
		snprintf(e, 5, "\\x%02x", c);
}

size_t wire_quote(char *dst, size_t size, const char *s, size_t n, size_t max)
{
	size_t o = 0, i;

	if (size == 0)
		return 0;
	for (i = 0; i < n && (max == 0 || i < max); i++) {
		char e[5];
		byte_text(e, (unsigned char)s[i]);
		size_t el = strlen(e);
		if (o + el + 4 > size) /* room for "..." and the NUL */
			break;
		for (size_t k = 0; k < el; k++)
			dst[o++] = e[k];
	}
	if (i < n && o + 4 <= size) {
		dst[o++] = '.';
		dst[o++] = '.';
		dst[o++] = '.';
	}
	dst[o] = '\0';
	return i;
}

/* The offset of the first byte of s[0..n) that rule r refuses; n when it is empty but
 * must not be; n + 1 when s passes. */
static size_t first_bad(const struct wire_rule *r, const char *s, size_t n)
{
	if (n == 0)
		return r->nonempty ? 0 : 1;
	size_t from = 0, to = n;
	if (r->dquote && n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		from = 1;
		to = n - 1;
	}
	for (size_t i = from; i < to; i++)
		if (!r->ok[(unsigned char)s[i]])
			return i;
	return n + 1;
}

static void explain(const struct wire_rule *r, const char *s, size_t n, size_t bad,
                    const char *what, char *err, size_t errlen)
{
	char q[128], b[5];

	if (n == 0) {
		if (what)
			snprintf(err, errlen, "%s is empty (%s, %s)", what, r->not, r->ref);
		else
			snprintf(err, errlen, "empty, %s", r->ref);
		return;
	}
	byte_text(b, (unsigned char)s[bad]);
	if (!what) {
		snprintf(err, errlen, "'%s' at byte %zu, %s", b, bad, r->ref);
		return;
	}
	size_t shown = wire_quote(q, sizeof(q), s, n, 40);
	if (bad < shown)
		snprintf(err, errlen, "%s \"%s\" contains '%s' (%s, %s)", what, q, b, r->not,
		         r->ref);
	else
		snprintf(err, errlen, "%s \"%s\" contains '%s' at byte %zu (%s, %s)", what, q, b,
		         bad, r->not, r->ref);
}

int wire_check(enum wire_part part, const char *s, size_t n, const char *what, char *err,
               size_t errlen)
{
	const struct wire_rule *r = &rules[part];
	size_t bad = first_bad(r, s, n);

	if (bad > n)
		return 0;
	if (err && errlen)
		explain(r, s, n, bad, what, err, errlen);
	return -EINVAL;
}
