/* url.c: strict parsing of http and https URLs. */
#include "protocol/url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/common.h"

static int fail(char *err, size_t errlen, const char *s, const char *why)
{
	snprintf(err, errlen, "invalid URL '%s': %s", s, why);
	return -EINVAL;
}

static bool valid_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

int url_parse(const char *s, struct url *u, char *err, size_t errlen)
{
	const char *p, *host, *host_end, *port = NULL, *port_end = NULL;
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
		host_end = memchr(host, ']', auth_len);
		if (!host_end)
			return fail(err, errlen, s, "missing ']' after IPv6 address");
		for (const char *c = host; c < host_end; c++)
			if (!(valid_host_char(*c) || *c == ':' || *c == '%'))
				return fail(err, errlen, s, "bad character in IPv6 address");
		p = host_end + 1;
	} else {
		host_end = p;
		while (host_end < p + auth_len && *host_end != ':') {
			if (!valid_host_char(*host_end))
				return fail(err, errlen, s, "bad character in host");
			host_end++;
		}
		p = host_end;
	}
	if (host_end == host)
		return fail(err, errlen, s, "missing host");
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
		if ((unsigned char)p[i] <= ' ' || p[i] == 0x7f)
			return fail(err, errlen, s, "whitespace or control character in path");

	u->host = xstrndup(host, (size_t)(host_end - host));
	if (port) { /* normalised: "080" is port 80 */
		char num[8];
		snprintf(num, sizeof(num), "%ld", strtol(port, NULL, 10));
		u->port = xstrdup(num);
	} else {
		u->port = xstrdup(u->tls ? "443" : "80");
	}
	if (path_len == 0) {
		u->path = xstrdup("/");
	} else if (*p == '?') {
		u->path = xmalloc(path_len + 2);
		u->path[0] = '/';
		memcpy(u->path + 1, p, path_len);
		u->path[path_len + 1] = '\0';
	} else {
		u->path = xstrndup(p, path_len);
	}
	bool default_port = !port || strcmp(u->port, u->tls ? "443" : "80") == 0;
	size_t alen = strlen(u->host) + strlen(u->port) + 4;
	u->authority = xmalloc(alen);
	snprintf(u->authority, alen, "%s%s%s%s%s", v6 ? "[" : "", u->host, v6 ? "]" : "",
	         default_port ? "" : ":", default_port ? "" : u->port);
	return 0;
}

void url_free(struct url *u)
{
	free(u->host);
	free(u->port);
	free(u->path);
	free(u->authority);
	memset(u, 0, sizeof(*u));
}
