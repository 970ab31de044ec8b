/* url.c: strict parsing of http and https URLs, and URI reference resolution (RFC 3986 §5.2). */
#include "protocol/url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uriparser/Uri.h>

#include "util/common.h"

static int fail(char *err, size_t errlen, const char *s, const char *why)
{
	/* a long URL is shortened so that the reason stays readable */
	snprintf(err, errlen, "invalid URL '%.100s%s': %s", s, strlen(s) > 100 ? "..." : "", why);
	return -EINVAL;
}

/* Bytes RFC 3986 does not allow in a URI but that people type in URLs: non-ASCII (UTF-8
 * text), the space and " < > ` { } | ^ \ (what browsers and k6 percent-encode too). */
static bool pct_needed(unsigned char c)
{
	return c >= 0x80 || (c && strchr(" \"<>`{}|^\\", c));
}

/* A new string: prefix, then s[0..n) with every pct_needed byte written as "%XX", so that UTF-8
 * text becomes its RFC 3986 §2.1 percent-encoding ("é" -> "%C3%A9", " " -> "%20"). Other
 * bytes, '%' included, are copied as they are: existing escapes are not encoded twice. */
static char *pct_encode_8bit(const char *prefix, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(prefix) + n;

	for (size_t i = 0; i < n; i++)
		if (pct_needed((unsigned char)s[i]))
			len += 2;
	char *out = xmalloc(len + 1);
	char *o = stpcpy(out, prefix);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!pct_needed(c)) {
			*o++ = (char)c;
			continue;
		}
		*o++ = '%';
		*o++ = hex[c >> 4];
		*o++ = hex[c & 0xf];
	}
	*o = '\0';
	return out;
}

static bool valid_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

/* Check the IP-literal h[0..n) of "[h]" (RFC 3986 §3.2.2): an IPv6 address, optionally with a
 * zone ID, either RFC 6874's "%25zone" or the bare "%zone" ("%25" followed by nothing is the
 * bare zone "25"). Writes the form the resolver takes ("fe80::1%lo") to out (at least
 * INET6_ADDRSTRLEN + IF_NAMESIZE bytes). Returns NULL, or why h is not one. */
static const char *ip_literal(const char *h, size_t n, char *out)
{
	struct in6_addr a6;

	if (*h == 'v' || *h == 'V')
		return "IPvFuture addresses are not supported (only IPv6 in brackets)";
	for (size_t i = 0; i < n; i++)
		if (!(valid_host_char(h[i]) || h[i] == ':' || h[i] == '%'))
			return "bad character in IPv6 address";
	const char *pct = memchr(h, '%', n);
	size_t alen = pct ? (size_t)(pct - h) : n;
	if (alen >= INET6_ADDRSTRLEN)
		return "not an IPv6 address (only IPv6 goes in brackets)";
	memcpy(out, h, alen);
	out[alen] = '\0';
	if (inet_pton(AF_INET6, out, &a6) != 1)
		return "not an IPv6 address (only IPv6 goes in brackets)";
	if (!pct)
		return NULL;
	const char *zone = pct + 1, *end = h + n;
	if (end - zone > 2 && zone[0] == '2' && zone[1] == '5') /* RFC 6874: "%" is "%25" */
		zone += 2;
	if (zone == end)
		return "empty IPv6 zone ID";
	if (end - zone >= IF_NAMESIZE)
		return "IPv6 zone ID longer than 15 characters";
	for (const char *c = zone; c < end; c++)
		if (!valid_host_char(*c))
			return "bad character in IPv6 zone ID";
	out[alen] = '%';
	memcpy(out + alen + 1, zone, (size_t)(end - zone));
	out[alen + 1 + (size_t)(end - zone)] = '\0';
	return NULL;
}

int url_parse(const char *s, struct url *u, char *err, size_t errlen)
{
	const char *p, *host, *host_end, *port = NULL, *port_end = NULL;
	char lit[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	bool v6 = false;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(s, "http://", 7) == 0) {
		p = s + 7;
	} else if (strncasecmp(s, "https://", 8) == 0) {
		u->tls = true;
		p = s + 8;
	} else {
		return fail(err, errlen, s, "scheme must be http:// or https://");
	}
	size_t auth_len = strcspn(p, "/?#");
	if (memchr(p, '@', auth_len))
		return fail(err, errlen, s, "user information is not supported");
	host = p;
	if (*p == '[') {
		v6 = true;
		host = p + 1;
		host_end = memchr(host, ']', auth_len - 1);
		if (!host_end)
			return fail(err, errlen, s, "missing ']' after IPv6 address");
		const char *why;
		if (host_end > host && (why = ip_literal(host, (size_t)(host_end - host), lit)))
			return fail(err, errlen, s, why);
		p = host_end + 1;
	} else {
		host_end = p;
		while (host_end < p + auth_len && *host_end != ':') {
			if ((unsigned char)*host_end >= 0x80 || *host_end == '%')
				return fail(err, errlen, s,
				            "non-ASCII or percent-encoded host name "
				            "(give an IDN in its xn-- form)");
			if (!valid_host_char(*host_end))
				return fail(err, errlen, s, "bad character in host");
			host_end++;
		}
		p = host_end;
	}
	if (host_end == host)
		return fail(err, errlen, s, "missing host");
	if (host_end - host > 255) /* RFC 1035 §2.3.4: a name is at most 255 octets */
		return fail(err, errlen, s, "host longer than 255 characters");
	if (*p == ':') {
		port = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		port_end = p;
		long n = port_end > port ? strtol(port, NULL, 10) : 0;
		if (port_end == port || port_end - port > 5 || n < 1 || n > 65535)
			return fail(err, errlen, s, "port must be a number from 1 to 65535");
	}
	if (*p && *p != '/' && *p != '?' && *p != '#')
		return fail(err, errlen, s, "unexpected character after host");
	size_t path_len = strcspn(p, "#");
	for (size_t i = 0; i < path_len; i++)
		if ((unsigned char)p[i] < ' ' || p[i] == 0x7f)
			return fail(err, errlen, s,
			            "control character (tab, CR, LF...) in path or query");

	u->host = v6 ? xstrdup(lit) : xstrndup(host, (size_t)(host_end - host));
	if (port) { /* normalised: "080" is port 80 */
		char num[8];
		snprintf(num, sizeof(num), "%ld", strtol(port, NULL, 10));
		u->port = xstrdup(num);
	} else {
		u->port = xstrdup(u->tls ? "443" : "80");
	}
	u->path = pct_encode_8bit(path_len == 0 || *p == '?' ? "/" : "", p, path_len);
	bool default_port = !port || strcmp(u->port, u->tls ? "443" : "80") == 0;
	/* the host as written: an RFC 6874 "%25" zone stays "%25" in the Host header */
	int hlen = (int)(host_end - host);
	size_t alen = (size_t)hlen + strlen(u->port) + 4;
	u->authority = xmalloc(alen);
	snprintf(u->authority, alen, "%s%.*s%s%s%s", v6 ? "[" : "", hlen, host, v6 ? "]" : "",
	         default_port ? "" : ":", default_port ? "" : u->port);
	return 0;
}

/* --- reference resolution ---------------------------------------------------------------- */

static int parse_uri(UriUriA *uri, const char *s, const char *what, char *err, size_t errlen)
{
	const char *at = s;
	int rc = uriParseSingleUriA(uri, s, &at);

	if (rc == URI_SUCCESS)
		return 0;
	if (rc == URI_ERROR_MALLOC) {
		snprintf(err, errlen, "cannot parse %s '%s': out of memory", what, s);
		return -ENOMEM;
	}
	snprintf(err, errlen, "invalid %s '%s': not RFC 3986 syntax at offset %td", what, s,
	         at - s);
	return -EINVAL;
}

/* §5.2.3 merge happened: the reference is a relative-path reference (no scheme, no authority,
 * a path not starting with '/'). */
static bool merged(const UriUriA *ref)
{
	return !ref->scheme.first && !ref->hostText.first && !ref->absolutePath && ref->pathHead;
}

/* §5.3 recomposition of res, with the two places where liburiparser's text departs from the RFC
 * put back for a result with an authority (every http/https URL):
 * - after a merge it puts a "." segment in front of a path that starts with an empty segment
 *   ("http://a/" + ".//x" gives "http://a/.//x", RFC "http://a//x"); that guard is only needed
 *   without an authority, where "//x" would read as one;
 * - it prints an IPv6 literal as eight full groups ("[::1]" -> "[0000:...:0001]"), where §5.2.2
 *   copies the authority as written (and the Host header must not change).
 * A result without an authority (never an http/https URL) is the library's text, which in
 * dot-segment corner cases differs from the RFC's: "g:a/b" + "../c" gives "g:c", RFC "g:/c".
 * Returns NULL if liburiparser cannot print it. */
static char *recompose(const UriUriA *res, const UriUriA *ref)
{
	UriUriA shown = *res;
	int n = 0;

	if (res->hostText.first && merged(ref) && shown.pathHead && shown.pathHead->next &&
	    shown.pathHead->text.afterLast - shown.pathHead->text.first == 1 &&
	    shown.pathHead->text.first[0] == '.')
		shown.pathHead = shown.pathHead->next;
	if (shown.hostData.ip6) {
		shown.hostData.ip6 = NULL;
		shown.hostData.ipFuture = shown.hostText; /* printed as "[" text "]" */
	}
	if (uriToStringCharsRequiredA(&shown, &n) != URI_SUCCESS)
		return NULL;
	char *s = xmalloc((size_t)n + 1);
	if (uriToStringA(s, &shown, n + 1, NULL) != URI_SUCCESS) {
		free(s);
		return NULL;
	}
	return s;
}

static int resolve(const char *b, const char *r, char **out, char *err, size_t errlen)
{
	UriUriA ub, ur, res;
	int rc;

	rc = parse_uri(&ub, b, "base URI", err, errlen);
	if (rc < 0)
		return rc;
	rc = parse_uri(&ur, r, "URI reference", err, errlen);
	if (rc < 0)
		goto out_free_base;
	rc = uriAddBaseUriExA(&res, &ur, &ub, URI_RESOLVE_STRICTLY);
	if (rc != URI_SUCCESS) {
		if (rc == URI_ERROR_ADDBASE_REL_BASE)
			snprintf(err, errlen, "base URI '%s' is not absolute (no scheme)", b);
		else
			snprintf(err, errlen, "cannot resolve '%s': liburiparser error %d", r, rc);
		rc = rc == URI_ERROR_ADDBASE_REL_BASE ? -EINVAL : -ENOMEM;
		goto out_free_ref;
	}
	*out = recompose(&res, &ur);
	if (!*out) {
		snprintf(err, errlen, "cannot resolve '%s': result too long", r);
		rc = -ENOMEM;
	}
	uriFreeUriMembersA(&res);
out_free_ref:
	uriFreeUriMembersA(&ur);
out_free_base:
	uriFreeUriMembersA(&ub);
	return rc;
}

int url_resolve(const char *base, const char *ref, char **out, char *err, size_t errlen)
{
	char *b = pct_encode_8bit("", base, strlen(base));
	char *r = pct_encode_8bit("", ref, strlen(ref));

	*out = NULL;
	int rc = resolve(b, r, out, err, errlen);
	free(r);
	free(b);
	return rc;
}

bool url_scheme_is_http(const char *s)
{
	size_t n = strcspn(s, ":/?#");

	return s[n] == ':' && ((n == 4 && strncasecmp(s, "http", 4) == 0) ||
	                       (n == 5 && strncasecmp(s, "https", 5) == 0));
}

void url_free(struct url *u)
{
	free(u->host);
	free(u->port);
	free(u->path);
	free(u->authority);
	memset(u, 0, sizeof(*u));
}
