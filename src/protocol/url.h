/* url.h: parsing of http/https URLs into the parts a client needs, and resolution of
 * URI references (redirect targets) against them. */
#ifndef STAMPEDE_URL_H
#define STAMPEDE_URL_H

#include <stdbool.h>
#include <stddef.h>

struct url {
	bool tls;        /* https */
	char *host;      /* host name or address, without IPv6 brackets (a bracketed host must
	                  * be an IPv6 address; a zone "%25eth0" is given as "%eth0") */
	char *port;      /* decimal port as text ("80"/"443" by default) */
	char *path;      /* path and query, starting with '/' ("/" when absent) */
	char *authority; /* Host header value: host[:port], brackets kept for IPv6 */
};

/* Parse "http[s]://host[:port][/path][?query]" into *u (owning copies). Fragments are
 * dropped; userinfo, whitespace and control characters, and non-ASCII hosts are rejected. Bytes
 * >= 0x80 in the path and query are percent-encoded ("/café" -> "/caf%C3%A9"); existing escapes
 * are kept as they are. Returns 0, or -EINVAL with a reason in err. */
int url_parse(const char *s, struct url *u, char *err, size_t errlen);
/* Resolve the URI reference ref (e.g. a Location value, RFC 9110 §10.2.2) against the absolute
 * URI base exactly as RFC 3986 §5.2 does (§5.2.2 transform, §5.2.3 merge, §5.2.4 remove dot
 * segments), after percent-encoding bytes >= 0x80 in both; base's fragment is ignored (§5.1),
 * ref's kept. Results without an authority ("g:h") are liburiparser's text, which differs from
 * the RFC's in dot-segment corner cases ("g:a/.." -> "g:", RFC "g:/").
 * Returns 0 with a malloc'd absolute URI in *out (caller frees), or -EINVAL with a reason in err
 * (base or ref not RFC 3986 syntax, base without a scheme) or -ENOMEM; *out is NULL on failure. */
int url_resolve(const char *base, const char *ref, char **out, char *err, size_t errlen);
/* Whether the URI s (e.g. what url_resolve gave) has the scheme http or https, in any case
 * (RFC 3986 §3.1); says nothing about the rest of s. */
bool url_scheme_is_http(const char *s);
/* Release the strings of u; accepts a zeroed struct. */
void url_free(struct url *u);

#endif
