/* request.h: a static HTTP/1.1 request, serialized once and sent many times. */
#ifndef STAMPEDE_REQUEST_H
#define STAMPEDE_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol/url.h"

struct request_spec {
	const char *method; /* "GET" when NULL */
	const struct url *url;
	const char **headers; /* "Name: value" strings */
	int nheaders;
	const char *body; /* may contain NULs; body_len bytes */
	size_t body_len;
	const char *user_agent; /* NULL for the default */
};

struct request {
	char *method;
	char *name;  /* the `name` tag: the URL */
	bool head;   /* HEAD request: response has no body */
	char *bytes; /* serialized request */
	size_t len;
};

/* Validate and serialize spec into *r. Adds Host, User-Agent and Content-Length unless
 * given. Returns 0, or -EINVAL with a reason in err (bad method token, bad header). */
int request_build(const struct request_spec *spec, struct request *r, char *err, size_t errlen);
/* Release r's buffers; accepts a zeroed struct. */
void request_free(struct request *r);

#endif
