/* fuzz_content.c: libFuzzer target for content_decode (gzip, deflate, br, zstd and lists). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/content.h"

/*
 * Input layout: byte 0 bits 0-2 choose the Content-Encoding value, bits 3-4 the size cap;
 * the rest is the body. The output buffer is reused across runs and starts with a prefix
 * that must survive. When a single coding decodes to L bytes, the same body must decode
 * identically with a cap of L and fail with -EFBIG under a cap of L - 1.
 */

#define FZ_PREFIX "prefix"
#define FZ_PLEN   (sizeof(FZ_PREFIX) - 1)

static const char *const fz_codings[] = {
	"gzip", "deflate", "br", "zstd", "identity", "br, gzip", "deflate, zstd", " X-GZIP , br ",
};
static const size_t fz_caps[] = { 256 << 10, 64 << 10, 1000, 1 };

static struct buf fz_out, fz_again;

static int fz_decode(struct buf *out, const char *ce, const uint8_t *in, size_t n, size_t cap)
{
	char err[256];
	int rc;

	out->len = 0;
	buf_addstr(out, FZ_PREFIX);
	rc = content_decode(ce, in, n, out, cap, err, sizeof(err));
	if (rc != 0 && rc != -EINVAL && rc != -EFBIG)
		abort();
	if (out->p[out->len] != '\0' || memcmp(out->p, FZ_PREFIX, FZ_PLEN) != 0)
		abort();
	if (rc == 0 ? out->len - FZ_PLEN > cap : out->len != FZ_PLEN || err[0] == '\0')
		abort();
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *ce;
	size_t cap, len;

	if (size < 1)
		return 0;
	ce = fz_codings[data[0] & 7];
	cap = fz_caps[(data[0] >> 3) & 3];
	if (fz_decode(&fz_out, ce, data + 1, size - 1, cap) != 0 || strchr(ce, ','))
		return 0;
	len = fz_out.len - FZ_PLEN;
	if (fz_decode(&fz_again, ce, data + 1, size - 1, len) != 0)
		abort();
	if (fz_again.len != fz_out.len || memcmp(fz_again.p, fz_out.p, fz_out.len) != 0)
		abort();
	if (len > 0 && fz_decode(&fz_again, ce, data + 1, size - 1, len - 1) != -EFBIG)
		abort();
	return 0;
}
