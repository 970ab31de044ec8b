/* url.h: parsing of http/https URLs into the parts a client needs. */
#ifndef STAMPEDE_URL_H
#define STAMPEDE_URL_H

#include <stdbool.h>
#include <stddef.h>

struct url {
	bool tls;        /* https */
	char *host;      /* host name or address, without IPv6 brackets */
	char *port;      /* decimal port as text ("80"/"443" by default) */
	char *path;      /* path and query, starting with '/' ("/" when absent) */
	char *authority; /* Host header value: host[:port], brackets kept for IPv6 */
};

/* Parse "http[s]://host[:port][/path][?query]" into *u (owning copies). Fragments are
 * dropped; userinfo is rejected. Returns 0, or -EINVAL with a reason in err. */
int url_parse(const char *s, struct url *u, char *err, size_t errlen);
/* Release the strings of u; accepts a zeroed struct. */
void url_free(struct url *u);

#endif
