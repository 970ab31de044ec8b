/* content.c: undoes HTTP content codings (gzip, deflate, br, zstd) with a cap on the output. */
#include "protocol/content.h"

#include <brotli/decode.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

#include "util/common.h"

/* Free space reserved at a time while decoding (the buffer then grows geometrically). */
#define STAGE_CHUNK (16 * 1024)
/* RFC 9659: zstd content is encoded with windows of 8 MB at most; larger ones are refused. */
#define ZSTD_WINDOW_LOG_MAX 23

/* One decoding step: appends to b from b->len == base on, at most max bytes. */
struct stage {
	struct buf *b;
	size_t base;
	size_t max;
	const char *name; /* the coding, for messages */
};

struct coding {
	const char *name;
	int (*decode)(const uint8_t *in, size_t inlen, struct stage *s, char *err, size_t errlen);
};

static int fail(int rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* Reserve free space in s->b and return how much of it the stage may fill: at most one byte
 * past its cap, so that stage_over() notices a stream longer than the cap. */
static size_t stage_window(struct stage *s)
{
	size_t room = s->max - (s->b->len - s->base);

	if (room < SIZE_MAX)
		room++;
	if (s->b->cap - s->b->len < MIN(room, STAGE_CHUNK) + 1)
		buf_reserve(s->b, MIN(room, STAGE_CHUNK));
	return MIN(room, s->b->cap - s->b->len - 1);
}

static bool stage_over(const struct stage *s)
{
	return s->b->len - s->base > s->max;
}

static int too_big(const struct stage *s, char *err, size_t errlen)
{
	return fail(-EFBIG, err, errlen,
	            "%s content coding: decoded size exceeds the limit of %zu bytes", s->name,
	            s->max);
}

static int truncated(const struct stage *s, char *err, size_t errlen)
{
	return fail(-EINVAL, err, errlen, "%s content coding: truncated data", s->name);
}

static int corrupt(const struct stage *s, const char *why, char *err, size_t errlen)
{
	return fail(-EINVAL, err, errlen, "%s content coding: corrupt data (%s)", s->name, why);
}

static int trailing(const struct stage *s, char *err, size_t errlen)
{
	return fail(-EINVAL, err, errlen, "%s content coding: unexpected data after the end",
	            s->name);
}

/* Run inflate over all of in; a new gzip member may start where one ends (RFC 1952 §2.2). */
static int inflate_loop(z_stream *zs, const uint8_t *in, size_t inlen, struct stage *s,
                        bool members, char *err, size_t errlen)
{
	for (;;) {
		size_t room = MIN(stage_window(s), UINT_MAX);
		int zrc;

		if (zs->avail_in == 0) {
			zs->next_in = (Bytef *)in;
			zs->avail_in = (uInt)MIN(inlen, UINT_MAX);
			in += zs->avail_in;
			inlen -= zs->avail_in;
		}
		zs->next_out = (Bytef *)s->b->p + s->b->len;
		zs->avail_out = (uInt)room;
		zrc = inflate(zs, Z_NO_FLUSH);
		s->b->len += room - zs->avail_out;
		if (stage_over(s))
			return too_big(s, err, errlen);
		if (zrc == Z_STREAM_END && zs->avail_in == 0 && inlen == 0)
			return 0;
		if (zrc == Z_STREAM_END && !members)
			return trailing(s, err, errlen);
		if (zrc == Z_STREAM_END)
			inflateReset(zs);
		else if (zrc == Z_BUF_ERROR) /* no progress possible: the input ran out */
			return truncated(s, err, errlen);
		else if (zrc == Z_MEM_ERROR)
			return fail(-ENOMEM, err, errlen, "%s content coding: out of memory",
			            s->name);
		else if (zrc != Z_OK)
			return corrupt(s, zs->msg ? zs->msg : "needs a preset dictionary", err,
			               errlen);
	}
}

/* Inflate in with window_bits as inflateInit2() takes it (16 + for gzip, negative for raw). */
static int inflate_all(const uint8_t *in, size_t inlen, struct stage *s, int window_bits, char *err,
                       size_t errlen)
{
	z_stream zs;
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, window_bits) != Z_OK)
		return fail(-ENOMEM, err, errlen, "%s content coding: out of memory", s->name);
	rc = inflate_loop(&zs, in, inlen, s, window_bits > MAX_WBITS, err, errlen);
	inflateEnd(&zs);
	return rc;
}

static int decode_gzip(const uint8_t *in, size_t inlen, struct stage *s, char *err, size_t errlen)
{
	return inflate_all(in, inlen, s, 16 + MAX_WBITS, err, errlen);
}

/* True when in starts with a valid zlib header (RFC 1950 §2.2) rather than raw deflate. */
static bool zlib_header(const uint8_t *in, size_t inlen)
{
	return inlen >= 2 && (in[0] & 0x0f) == Z_DEFLATED && (in[0] >> 4) <= 7 &&
	       ((in[0] << 8) | in[1]) % 31 == 0;
}

/* RFC 9110 §8.4.1.2 says zlib, but many servers send raw deflate: try zlib when the data
 * starts like it, else or on failure raw. When both fail, a size overflow wins (the body
 * is too big under one reading), then the zlib reading's error if it was tried. */
static int decode_deflate(const uint8_t *in, size_t inlen, struct stage *s, char *err,
                          size_t errlen)
{
	char zerr[256] = "";
	int zrc = 0, rc;

	if (zlib_header(in, inlen)) {
		zrc = inflate_all(in, inlen, s, MAX_WBITS, zerr, sizeof(zerr));
		if (zrc == 0)
			return 0;
		s->b->len = s->base;
	}
	rc = inflate_all(in, inlen, s, -MAX_WBITS, err, errlen);
	if (rc == 0 || rc == -EFBIG || zrc == 0)
		return rc;
	return fail(zrc, err, errlen, "%s", zerr);
}

static int decode_br(const uint8_t *in, size_t inlen, struct stage *s, char *err, size_t errlen)
{
	BrotliDecoderState *st = BrotliDecoderCreateInstance(NULL, NULL, NULL);
	BrotliDecoderResult r;
	int rc;

	if (!st)
		return fail(-ENOMEM, err, errlen, "%s content coding: out of memory", s->name);
	do {
		size_t room = stage_window(s), avail = room;
		uint8_t *next = (uint8_t *)s->b->p + s->b->len;

		r = BrotliDecoderDecompressStream(st, &inlen, &in, &avail, &next, NULL);
		s->b->len += room - avail;
	} while (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT && !stage_over(s));
	if (stage_over(s))
		rc = too_big(s, err, errlen);
	else if (r == BROTLI_DECODER_RESULT_SUCCESS)
		rc = inlen ? trailing(s, err, errlen) : 0;
	else if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
		rc = truncated(s, err, errlen);
	else /* the names read "_ERROR_FORMAT_..." */
		rc = corrupt(s, BrotliDecoderErrorString(BrotliDecoderGetErrorCode(st)) + 1, err,
		             errlen);
	BrotliDecoderDestroyInstance(st);
	return rc;
}

/* Decode zstd frames (several may follow each other, skippable ones included). */
static int zstd_loop(ZSTD_DCtx *dc, ZSTD_inBuffer *ib, struct stage *s, char *err, size_t errlen)
{
	for (;;) {
		size_t room = stage_window(s);
		ZSTD_outBuffer ob = { s->b->p + s->b->len, room, 0 };
		size_t r = ZSTD_decompressStream(dc, &ob, ib);

		s->b->len += ob.pos;
		if (ZSTD_isError(r))
			return corrupt(s, ZSTD_getErrorName(r), err, errlen);
		if (stage_over(s))
			return too_big(s, err, errlen);
		if (r == 0 && ib->pos == ib->size)
			return 0;
		if (ib->pos == ib->size && ob.pos < ob.size)
			return truncated(s, err, errlen);
	}
}

static int decode_zstd(const uint8_t *in, size_t inlen, struct stage *s, char *err, size_t errlen)
{
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	ZSTD_inBuffer ib = { in, inlen, 0 };
	int rc;

	if (!dc)
		return fail(-ENOMEM, err, errlen, "%s content coding: out of memory", s->name);
	if (ZSTD_isError(ZSTD_DCtx_setParameter(dc, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX)))
		rc = fail(-ENOMEM, err, errlen, "%s content coding: cannot set up", s->name);
	else
		rc = zstd_loop(dc, &ib, s, err, errlen);
	ZSTD_freeDCtx(dc);
	return rc;
}

static const struct coding codings[] = {
	{ "identity", NULL },          { "gzip", decode_gzip }, { "x-gzip", decode_gzip },
	{ "deflate", decode_deflate }, { "br", decode_br },     { "zstd", decode_zstd },
};

static const struct coding *find_coding(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(codings); i++)
		if (strlen(codings[i].name) == len && strncasecmp(codings[i].name, name, len) == 0)
			return &codings[i];
	return NULL;
}

/* Split the field value v (#content-coding: commas, OWS, empty elements) into list, in
 * order, identity dropped; *n counts them. */
static int parse_codings(const char *v, const struct coding **list, size_t *n, char *err,
                         size_t errlen)
{
	*n = 0;
	while (v && *v) {
		const struct coding *c;
		size_t len;

		v += strspn(v, " \t,");
		len = strcspn(v, ",");
		while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		if (len == 0)
			continue;
		c = find_coding(v, len);
		if (!c)
			return fail(-ENOTSUP, err, errlen, "unsupported content coding '%.*s'",
			            (int)MIN(len, 64), v);
		if (c->decode && *n == CONTENT_MAX_CODINGS)
			return fail(-ENOTSUP, err, errlen,
			            "more than %d content codings stacked are not supported",
			            CONTENT_MAX_CODINGS);
		if (c->decode)
			list[(*n)++] = c;
		v += len;
	}
	return 0;
}

/* Undo list[n - 1] .. list[0] in turn: intermediate results go to scratch buffers, the last
 * to out; every stage is capped at max_out. */
static int run_stages(const struct coding **list, size_t n, const uint8_t *in, size_t inlen,
                      struct buf *out, size_t max_out, char *err, size_t errlen)
{
	struct buf tmp[2];
	int rc = 0;

	memset(tmp, 0, sizeof(tmp));
	for (size_t i = n; i-- > 0 && rc == 0;) {
		struct buf *dst = i == 0 ? out : &tmp[i & 1];
		struct stage s = { dst, dst == out ? out->len : 0, max_out, list[i]->name };

		dst->len = s.base;
		rc = list[i]->decode(in, inlen, &s, err, errlen);
		in = (const uint8_t *)dst->p;
		inlen = dst->len;
	}
	buf_free(&tmp[0]);
	buf_free(&tmp[1]);
	return rc;
}

int content_decode(const char *content_encoding, const void *in, size_t inlen, struct buf *out,
                   size_t max_out, char *err, size_t errlen)
{
	const struct coding *list[CONTENT_MAX_CODINGS];
	size_t n, base = out->len;
	int rc = parse_codings(content_encoding, list, &n, err, errlen);

	if (rc)
		return rc;
	if (n == 0 && inlen > max_out)
		return fail(-EFBIG, err, errlen, "body of %zu bytes exceeds the limit of %zu bytes",
		            inlen, max_out);
	if (n == 0)
		buf_add(out, in, inlen);
	if (n == 0 || inlen == 0)
		return 0;
	rc = run_stages(list, n, in, inlen, out, max_out, err, errlen);
	if (rc)
		out->len = base;
	if (out->p)
		out->p[out->len] = '\0';
	return rc;
}

bool content_coding_supported(const char *content_encoding)
{
	const struct coding *list[CONTENT_MAX_CODINGS];
	size_t n;

	return parse_codings(content_encoding, list, &n, NULL, 0) == 0;
}
