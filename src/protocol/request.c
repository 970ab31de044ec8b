/* request.c: validation and one-time serialization of static HTTP/1.1 requests. */
#include "protocol/request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/common.h"

#define STAMPEDE_UA "stampede/0.1"

/* RFC 9110 tchar */
static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static int check_header(const char *h, size_t *name_len, char *err, size_t errlen)
{
	const char *colon = strchr(h, ':');
	if (!colon || colon == h) {
		snprintf(err, errlen, "invalid header '%s': expected 'Name: value'", h);
		return -EINVAL;
	}
	for (const char *c = h; c < colon; c++) {
		if (!is_tchar(*c)) {
			snprintf(err, errlen, "invalid header '%s': bad character in name", h);
			return -EINVAL;
		}
	}
	for (const char *c = colon + 1; *c; c++) {
		if ((unsigned char)*c < ' ' && *c != '\t') {
			snprintf(err, errlen, "invalid header '%s': control character in value", h);
			return -EINVAL;
		}
	}
	*name_len = (size_t)(colon - h);
	return 0;
}

static bool has_header(const struct request_spec *s, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < s->nheaders; i++)
		if (strncasecmp(s->headers[i], name, n) == 0 && s->headers[i][n] == ':')
			return true;
	return false;
}

int request_build(const struct request_spec *spec, struct request *r, char *err, size_t errlen)
{
	const char *method = spec->method ? spec->method : "GET";
	struct sbuf b = { 0 };
	char num[32];

	memset(r, 0, sizeof(*r));
	if (!*method) {
		snprintf(err, errlen, "invalid method: empty");
		return -EINVAL;
	}
	for (const char *c = method; *c; c++) {
		if (!is_tchar(*c)) {
			snprintf(err, errlen, "invalid method '%s'", method);
			return -EINVAL;
		}
	}
	for (int i = 0; i < spec->nheaders; i++) {
		size_t nl;
		int rc = check_header(spec->headers[i], &nl, err, errlen);
		if (rc < 0)
			return rc;
	}

	sb_str(&b, method);
	sb_str(&b, " ");
	sb_str(&b, spec->url->path);
	sb_str(&b, " HTTP/1.1\r\n");
	if (!has_header(spec, "Host")) {
		sb_str(&b, "Host: ");
		sb_str(&b, spec->url->authority);
		sb_str(&b, "\r\n");
	}
	if (!has_header(spec, "User-Agent")) {
		sb_str(&b, "User-Agent: ");
		sb_str(&b, spec->user_agent ? spec->user_agent : STAMPEDE_UA);
		sb_str(&b, "\r\n");
	}
	for (int i = 0; i < spec->nheaders; i++) {
		sb_str(&b, spec->headers[i]);
		sb_str(&b, "\r\n");
	}
	bool want_length = spec->body_len > 0 || strcmp(method, "POST") == 0 ||
	                   strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
	if (want_length && !has_header(spec, "Content-Length") &&
	    !has_header(spec, "Transfer-Encoding")) {
		snprintf(num, sizeof(num), "Content-Length: %zu\r\n", spec->body_len);
		sb_str(&b, num);
	}
	sb_str(&b, "\r\n");
	if (spec->body_len)
		sb_add(&b, spec->body, spec->body_len);

	r->method = xstrdup(method);
	r->head = strcmp(method, "HEAD") == 0;
	size_t nlen = strlen(spec->url->authority) + strlen(spec->url->path) + 16;
	r->name = xmalloc(nlen);
	snprintf(r->name, nlen, "%s://%s%s", spec->url->tls ? "https" : "http",
	         spec->url->authority, spec->url->path);
	r->bytes = b.p;
	r->len = b.len;
	return 0;
}

void request_free(struct request *r)
{
	free(r->method);
	free(r->name);
	free(r->bytes);
	memset(r, 0, sizeof(*r));
}
