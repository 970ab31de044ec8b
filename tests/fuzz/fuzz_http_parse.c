/* fuzz_http_parse.c: libFuzzer target for the HTTP response parser, split vs whole feeds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/http_parse.h"

/*
 * Input layout: byte 0 = mode, bytes 1-3 = piece sizes, the rest is the byte stream from
 * the server. mode bit 0/1: head_request for the first / later responses; bit 2: small
 * pieces; bit 3: tight header limits. The stream is parsed twice, once in one feed and
 * once in pieces; everything the callbacks see is hashed and must be identical.
 */

struct fz_log {
	uint64_t hash;
	struct http_parser *p;
	int64_t body_bytes; /* sum of on_body spans for the current response */
};

static void fz_mix(struct fz_log *l, const void *data, size_t len)
{
	const unsigned char *s = data;

	for (size_t i = 0; i < len; i++) {
		l->hash ^= s[i];
		l->hash *= 0x100000001b3ULL;
	}
}

static void fz_mix_int(struct fz_log *l, char tag, int64_t v)
{
	fz_mix(l, &tag, 1);
	fz_mix(l, &v, sizeof(v));
}

static void fz_status(void *ud, int status)
{
	if (status < 100 || status > 999)
		abort();
	fz_mix_int(ud, 'S', status);
}

static void fz_header(void *ud, const char *name, size_t nlen, const char *val, size_t vlen)
{
	struct fz_log *l = ud;

	if (nlen == 0 || nlen > HTTP_LINE_MAX || vlen > HTTP_LINE_MAX)
		abort();
	fz_mix_int(l, 'H', (int64_t)nlen);
	fz_mix(l, name, nlen);
	fz_mix_int(l, 'V', (int64_t)vlen);
	fz_mix(l, val, vlen);
}

static void fz_headers_done(void *ud)
{
	struct fz_log *l = ud;

	fz_mix_int(l, 'D', l->p->keep_alive);
}

/* Body spans differ between the two runs, so only the bytes are hashed, not the calls. */
static void fz_body(void *ud, const char *data, size_t len)
{
	struct fz_log *l = ud;

	if (len == 0)
		abort();
	l->body_bytes += len;
	fz_mix(l, data, len);
}

static void fz_complete(void *ud)
{
	struct fz_log *l = ud;
	struct http_parser *p = l->p;

	if (p->body_bytes != l->body_bytes)
		abort();
	if (p->content_length >= 0 && !p->seen_te && p->body_bytes > p->content_length)
		abort();
	if (p->header_bytes > p->max_header_bytes || p->nheaders > p->max_headers)
		abort();
	l->body_bytes = 0;
	fz_mix_int(l, 'C', p->status);
	fz_mix_int(l, 'k', p->keep_alive);
	fz_mix_int(l, 'l', p->content_length);
	fz_mix_int(l, 'n', p->nheaders);
	fz_mix_int(l, 'h', (int64_t)p->header_bytes);
}

static const struct http_parser_cb fz_cb = {
	.on_status = fz_status,
	.on_header = fz_header,
	.on_headers_done = fz_headers_done,
	.on_body = fz_body,
	.on_complete = fz_complete,
};

/* Parse the stream in pieces of sizes[i % 3] bytes (all at once when sizes is NULL). */
static uint64_t fz_run(const char *d, size_t n, const size_t *sizes, unsigned mode)
{
	static struct http_parser p;
	struct fz_log l = { .hash = 0xcbf29ce484222325ULL, .p = &p };
	size_t off = 0, piece = 0;
	enum http_perr err;

	http_parser_init(&p, &fz_cb, &l);
	if (mode & 8) {
		p.max_header_bytes = 300;
		p.max_headers = 4;
	}
	http_parser_reset(&p, mode & 1);
	while (off < n) {
		size_t end = sizes ? off + sizes[piece++ % 3] : n;

		if (end > n)
			end = n;
		while (off < end) {
			size_t used = http_parser_feed(&p, d + off, end - off);

			if (used > end - off)
				abort();
			off += used;
			if (p.error != HPE_OK)
				goto out;
			if (http_parser_done(&p)) {
				http_parser_reset(&p, mode & 2);
				continue;
			}
			if (off != end)
				abort();
		}
	}
	fz_mix_int(&l, 'I', http_parser_idle(&p));
	err = http_parser_eof(&p);
	if (err != p.error || (err == HPE_OK && !http_parser_done(&p)))
		abort();
out:
	fz_mix_int(&l, 'E', p.error);
	http_parser_free(&p);
	return l.hash;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t sizes[3];
	unsigned mode;
	const char *d = (const char *)data + 4;
	size_t n;
	uint64_t whole;

	if (size < 4)
		return 0;
	mode = data[0];
	for (int i = 0; i < 3; i++)
		sizes[i] = (mode & 4) ? (data[1 + i] & 7) + 1 : (size_t)data[1 + i] + 1;
	n = size - 4;
	whole = fz_run(d, n, NULL, mode);
	if (fz_run(d, n, sizes, mode) != whole)
		abort();
	return 0;
}
