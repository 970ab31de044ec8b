/* wire.h: the one check of every string that goes onto the wire in a request (method,
 * request-target, header names and values, cookies), each against its grammar. */
#ifndef STAMPEDE_WIRE_H
#define STAMPEDE_WIRE_H

#include <stdbool.h>
#include <stddef.h>

/* The parts of a request, each with the bytes it may hold. */
enum wire_part {
	/* A method, a header name, a transfer coding: a token, 1*tchar (RFC 9110 §5.6.2). */
	WIRE_TOKEN,
	/* A header field value: no control byte but HTAB, so no CR, LF or NUL (RFC 9110 §5.5);
	 * obs-text (0x80-0xff) passes. May be empty. */
	WIRE_FIELD_VALUE,
	/* A request-target: 1*(visible ASCII), no whitespace or control (RFC 9112 §3.2). */
	WIRE_TARGET,
	/* A cookie a script gives (params.cookies, jar.set): its name is a token, its value
	 * *cookie-octet or DQUOTE *cookie-octet DQUOTE (RFC 6265 §4.1.1). */
	WIRE_COOKIE_NAME,
	WIRE_COOKIE_VALUE,
	/* A cookie a server set (RFC 6265 §5.2 takes any name and value, 6265bis §5.6 drops
	 * controls): what it takes to send it back unaltered in a Cookie field. The name is not
	 * empty; neither holds a control byte but HTAB nor ';'; the name holds no '='. */
	WIRE_JAR_NAME,
	WIRE_JAR_VALUE,
};

/*
 * Check s[0..n) (any bytes, NUL included) against the grammar of part. Returns 0, or
 * -EINVAL with, when err is not NULL, a message in err that names the first offending byte
 * and the rule it breaks. With what (e.g. "cookie name") the message shows the string too:
 *     cookie name "a;b" contains ';' (not a token, RFC 6265 §4.1.1)
 * and without (what NULL, for callers that already showed the string and say what is
 * wrong): the byte, its offset and the rule, "'\r' at byte 1, RFC 9110 §5.5" ("empty, ..."
 * for an empty string).
 * Long strings are shortened and bytes outside printable ASCII escaped (\r, \n, \t, \xNN).
 * Allocates nothing: fit for the per-request path.
 */
int wire_check(enum wire_part part, const char *s, size_t n, const char *what, char *err,
               size_t errlen);

/* Write s[0..n) into dst (size bytes, NUL-terminated) for a message: printable ASCII as it
 * is, '"' and '\\' escaped, other bytes as \r, \n, \t or \xNN; cut with "..." after max
 * bytes of s (0: as many as fit). Returns how many bytes of s were shown. */
size_t wire_quote(char *dst, size_t size, const char *s, size_t n, size_t max);

#endif
