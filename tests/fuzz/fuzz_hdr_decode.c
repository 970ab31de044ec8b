/* fuzz_hdr_decode.c: libFuzzer target for the HDR histogram decoders and their round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/hdr.h"

static void check_same(const struct hdr *a, const struct hdr *b)
{
	if (a->lowest != b->lowest || a->highest != b->highest || a->sigfigs != b->sigfigs ||
	    a->counts_len != b->counts_len || a->total_count != b->total_count ||
	    hdr_min(a) != hdr_min(b) || hdr_max(a) != hdr_max(b))
		abort();
	for (int i = 0; i < a->counts_len; i++)
		if (hdr_count_at_index(a, i) != hdr_count_at_index(b, i))
			abort();
}

/* Whatever decoded must survive encode + decode unchanged, and be safe to query. */
static void roundtrip(const struct hdr *h)
{
	struct hdr *d = NULL;
	struct hdr_iter it;
	int64_t seen = 0;
	char *s = NULL;

	if (hdr_encode(h, &s) || hdr_decode(s, strlen(s), &d))
		abort();
	check_same(h, d);
	hdr_iter_init(&it, d);
	while (hdr_iter_next(&it))
		seen += it.count;
	if (seen != d->total_count || hdr_value_at_percentile(d, 50) > hdr_max(d))
		abort();
	(void)hdr_stddev(d);
	hdr_free(d);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hdr *h = NULL;

	/* The input as base64 text (the real interface), then as a raw V2 encoding, which
	 * reaches the header and LEB128 parsers without zlib's checksum in the way. */
	if (hdr_decode((const char *)data, size, &h) == 0) {
		roundtrip(h);
		hdr_free(h);
	}
	h = NULL;
	if (hdr_decode_v2(data, size, &h) == 0) {
		roundtrip(h);
		hdr_free(h);
	}
	return 0;
}
