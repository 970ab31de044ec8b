/* hdr.c: HDR log-linear latency histogram with HdrHistogram's bucket layout and V2 encoding. */
#include "metrics/hdr.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/common.h"

/*
 * Layout (HdrHistogram): values are split into buckets that each cover twice the range of
 * the previous one. Every bucket holds sub_bucket_half_count counters of equal width
 * (2^(bucket + unit_magnitude)); bucket 0 additionally owns the lower half [0, half) so that
 * small values get unit resolution. counts[] is the concatenation of those halves.
 */

/* Refuse geometries whose counts array would exceed this (guards decode of hostile input). */
#define HDR_MAX_COUNTS_BYTES (64u << 20)

/*
 * V2 encoding. Every HdrHistogram implementation ORs 0x10 into the cookies it writes (the
 * "word size" nibble, 1 = ZigZag LEB128) and masks that nibble off when reading.
 */
#define HDR_V2_COOKIE            0x1c849303u
#define HDR_V2_COMPRESSED_COOKIE 0x1c849304u
#define HDR_COOKIE_WORD_MASK     0xf0u
#define HDR_COOKIE_WORD_ZIGZAG   0x10u
#define HDR_V2_HEADER_LEN        40
#define HDR_COMPRESSED_HDR_LEN   8
#define HDR_LEB128_MAX           9

static inline int leading_zero_base(const struct hdr *h)
{
	return 64 - h->unit_magnitude - h->sub_bucket_half_count_magnitude - 1;
}

static inline int bucket_of(const struct hdr *h, uint64_t v)
{
	return leading_zero_base(h) - __builtin_clzll(v | (uint64_t)h->sub_bucket_mask);
}

/* Index into counts[] of a value in [0, highest]. */
static inline int counts_index(const struct hdr *h, int64_t value)
{
	int bucket = bucket_of(h, (uint64_t)value);
	int sub = (int)((uint64_t)value >> (bucket + h->unit_magnitude));

	return ((bucket + 1) << h->sub_bucket_half_count_magnitude) + sub -
	       h->sub_bucket_half_count;
}

/* ---- the counters, in chunks allocated where values land (struct hdr) ---- */

static inline int64_t count_get(const struct hdr *h, int i)
{
	int64_t **g = h->groups[i >> (HDR_CHUNK_SHIFT + HDR_GROUP_SHIFT)];
	int64_t *c = g ? g[(i >> HDR_CHUNK_SHIFT) & (HDR_GROUP - 1)] : NULL;
	return c ? c[i & (HDR_CHUNK - 1)] : 0;
}

/* The chunk that holds counter i, allocated (zeroed) on first use. */
static int64_t *chunk_for(struct hdr *h, int i)
{
	int64_t ***gp = &h->groups[i >> (HDR_CHUNK_SHIFT + HDR_GROUP_SHIFT)];
	if (!*gp) {
		*gp = xcalloc(HDR_GROUP, sizeof(**gp));
		h->mem += HDR_GROUP * sizeof(**gp);
	}
	int64_t **cp = &(*gp)[(i >> HDR_CHUNK_SHIFT) & (HDR_GROUP - 1)];
	if (!*cp) {
		*cp = xcalloc(HDR_CHUNK, sizeof(**cp));
		h->mem += HDR_CHUNK * sizeof(**cp);
	}
	return *cp;
}

static inline void count_add(struct hdr *h, int i, int64_t n)
{
	int64_t **g = h->groups[i >> (HDR_CHUNK_SHIFT + HDR_GROUP_SHIFT)];
	int64_t *c = g ? g[(i >> HDR_CHUNK_SHIFT) & (HDR_GROUP - 1)] : NULL;
	if (__builtin_expect(!c, 0))
		c = chunk_for(h, i);
	c[i & (HDR_CHUNK - 1)] += n;
}

/* The first index >= i whose chunk exists (counts_len when none): empty chunks are
 * skipped whole by every loop over the counters. */
static int next_chunk(const struct hdr *h, int i)
{
	while (i < h->counts_len) {
		int64_t **g = h->groups[i >> (HDR_CHUNK_SHIFT + HDR_GROUP_SHIFT)];
		if (!g) {
			i = ((i >> (HDR_CHUNK_SHIFT + HDR_GROUP_SHIFT)) + 1)
			    << (HDR_CHUNK_SHIFT + HDR_GROUP_SHIFT);
			continue;
		}
		if (g[(i >> HDR_CHUNK_SHIFT) & (HDR_GROUP - 1)])
			return i;
		i = ((i >> HDR_CHUNK_SHIFT) + 1) << HDR_CHUNK_SHIFT;
	}
	return h->counts_len;
}

int64_t hdr_count_at_index(const struct hdr *h, int index)
{
	return index >= 0 && index < h->counts_len ? count_get(h, index) : 0;
}

/* Lowest value that lands in counts[index]. */
static int64_t value_at_index(const struct hdr *h, int index)
{
	int bucket = (index >> h->sub_bucket_half_count_magnitude) - 1;
	int sub = (index & (h->sub_bucket_half_count - 1)) + h->sub_bucket_half_count;

	if (bucket < 0) {
		sub -= h->sub_bucket_half_count;
		bucket = 0;
	}
	return (int64_t)((uint64_t)sub << (bucket + h->unit_magnitude));
}

/* Width of the bucket holding v (unsigned: the top bucket of a huge range can reach 2^63). */
static uint64_t equivalent_range(const struct hdr *h, uint64_t v)
{
	int bucket = bucket_of(h, v);
	uint64_t sub = v >> (bucket + h->unit_magnitude);

	if (sub >= (uint64_t)h->sub_bucket_count)
		bucket++;
	return 1ull << (h->unit_magnitude + bucket);
}

static uint64_t lowest_equivalent(const struct hdr *h, uint64_t v)
{
	int bucket = bucket_of(h, v);
	int shift = bucket + h->unit_magnitude;

	return (v >> shift) << shift;
}

static int64_t clamp_to_int64(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

static uint64_t nonneg(int64_t v)
{
	return v < 0 ? 0 : (uint64_t)v;
}

int64_t hdr_lowest_equivalent(const struct hdr *h, int64_t v)
{
	return (int64_t)lowest_equivalent(h, nonneg(v));
}

int64_t hdr_highest_equivalent(const struct hdr *h, int64_t v)
{
	uint64_t u = nonneg(v);

	return clamp_to_int64(lowest_equivalent(h, u) + equivalent_range(h, u) - 1);
}

/* Midpoint of the bucket holding v: the best single guess for a value known only by bucket. */
static int64_t median_equivalent(const struct hdr *h, int64_t v)
{
	uint64_t u = nonneg(v);

	return clamp_to_int64(lowest_equivalent(h, u) + (equivalent_range(h, u) >> 1));
}

bool hdr_values_equivalent(const struct hdr *h, int64_t a, int64_t b)
{
	return hdr_lowest_equivalent(h, a) == hdr_lowest_equivalent(h, b);
}

/* Number of buckets needed so that highest has a counter (HdrHistogram's rule). */
static int buckets_needed(int64_t highest, int sub_bucket_count, int unit_magnitude)
{
	int64_t smallest_untrackable = (int64_t)sub_bucket_count << unit_magnitude;
	int buckets = 1;

	while (smallest_untrackable <= highest) {
		if (smallest_untrackable > INT64_MAX / 2)
			return buckets + 1;
		smallest_untrackable <<= 1;
		buckets++;
	}
	return buckets;
}

/* Fill the geometry fields of h; 0 or -EINVAL. */
static int hdr_geometry(struct hdr *h, int64_t lowest, int64_t highest, int sigfigs)
{
	int64_t single_unit_limit = 2;
	int magnitude = 0;

	if (lowest < 1 || sigfigs < 1 || sigfigs > 5 || lowest > INT64_MAX / 2 ||
	    highest < 2 * lowest)
		return -EINVAL;
	for (int i = 0; i < sigfigs; i++)
		single_unit_limit *= 10;
	while ((1ll << magnitude) < single_unit_limit)
		magnitude++;

	h->lowest = lowest;
	h->highest = highest;
	h->sigfigs = sigfigs;
	h->unit_magnitude = 63 - __builtin_clzll((uint64_t)lowest);
	h->sub_bucket_half_count_magnitude = magnitude - 1;
	if (h->unit_magnitude + h->sub_bucket_half_count_magnitude > 61)
		return -EINVAL;
	h->sub_bucket_count = 1 << magnitude;
	h->sub_bucket_half_count = h->sub_bucket_count / 2;
	h->sub_bucket_mask = (int64_t)(h->sub_bucket_count - 1) << h->unit_magnitude;
	h->bucket_count = buckets_needed(highest, h->sub_bucket_count, h->unit_magnitude);
	if ((size_t)(h->bucket_count + 1) * (size_t)h->sub_bucket_half_count >
	    HDR_MAX_COUNTS_BYTES / sizeof(int64_t))
		return -EINVAL;
	h->counts_len = (h->bucket_count + 1) * h->sub_bucket_half_count;
	return 0;
}

int hdr_init(struct hdr **out, int64_t lowest, int64_t highest, int sigfigs)
{
	struct hdr geo = { 0 };
	struct hdr *h;
	int err;

	if (!out)
		return -EINVAL;
	err = hdr_geometry(&geo, lowest, highest, sigfigs);
	if (err)
		return err;
	/* One block: the header and the groups' directory; groups and chunks come when values
	 * land in them */
	int ngroups =
	    (geo.counts_len + HDR_CHUNK * HDR_GROUP - 1) >> (HDR_CHUNK_SHIFT + HDR_GROUP_SHIFT);
	h = xcalloc(1, sizeof(*h) + (size_t)ngroups * sizeof(int64_t **));
	*h = geo;
	h->groups = (int64_t ***)(h + 1);
	h->ngroups = ngroups;
	h->min = INT64_MAX;
	*out = h;
	return 0;
}

struct hdr *hdr_new_default(void)
{
	struct hdr *h = NULL;

	if (hdr_init(&h, HDR_LOWEST, HDR_HIGHEST, HDR_SIGFIGS) < 0)
		abort();
	return h;
}

void hdr_free(struct hdr *h)
{
	if (!h)
		return;
	for (int g = 0; g < h->ngroups; g++) {
		if (!h->groups[g])
			continue;
		for (int c = 0; c < HDR_GROUP; c++)
			free(h->groups[g][c]);
		free(h->groups[g]);
	}
	free(h);
}

/* The hot path: a clamp, one counter, and the running stats. */
static inline void record(struct hdr *h, int64_t value, int64_t n)
{
	if (value < 0)
		value = 0;
	else if (value > h->highest)
		value = h->highest;
	count_add(h, counts_index(h, value), n);
	h->total_count += n;
	h->sum += (double)value * (double)n;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
}

void hdr_record(struct hdr *h, int64_t value)
{
	record(h, value, 1);
}

void hdr_record_n(struct hdr *h, int64_t value, int64_t n)
{
	if (n > 0)
		record(h, value, n);
}

/* A chunk that held counts since the last reset is zeroed and kept, for the next interval
 * (no allocation when the values land where they did); one that held none is freed, and a
 * group left without chunks too. So a histogram reset every interval holds the buckets of
 * its last two intervals, not of every interval since the start: its memory stays flat
 * over a long run (issue #10), at the price of an allocation when a value lands in a
 * bucket range not seen for two intervals. */
void hdr_reset(struct hdr *h)
{
	for (int g = 0; g < h->ngroups; g++) {
		int64_t **grp = h->groups[g];
		if (!grp)
			continue;
		int kept = 0;
		for (int c = 0; c < HDR_GROUP; c++) {
			int64_t *chunk = grp[c];
			if (!chunk)
				continue;
			bool used = false;
			for (int i = 0; i < HDR_CHUNK && !used; i++)
				used = chunk[i] != 0;
			if (used) {
				memset(chunk, 0, HDR_CHUNK * sizeof(int64_t));
				kept++;
			} else {
				free(chunk);
				grp[c] = NULL;
				h->mem -= HDR_CHUNK * sizeof(int64_t);
			}
		}
		if (!kept) {
			free(grp);
			h->groups[g] = NULL;
			h->mem -= HDR_GROUP * sizeof(*grp);
		}
	}
	h->total_count = 0;
	h->min = INT64_MAX;
	h->max = 0;
	h->sum = 0;
}

int64_t hdr_count_at_value(const struct hdr *h, int64_t value)
{
	int idx = counts_index(h, (int64_t)nonneg(value));

	return idx < h->counts_len ? count_get(h, idx) : 0;
}

static bool same_layout(const struct hdr *a, const struct hdr *b)
{
	return a->unit_magnitude == b->unit_magnitude &&
	       a->sub_bucket_half_count_magnitude == b->sub_bucket_half_count_magnitude &&
	       a->counts_len == b->counts_len;
}

/*
 * Slow path of hdr_merge: re-record every bucket of src at its lowest equivalent value (as
 * HdrHistogram's add() does), clamping what dst cannot hold. Returns the clamped count.
 */
static int64_t merge_rerecord(struct hdr *dst, const struct hdr *src)
{
	int64_t clamped = 0;
	double excess = 0;
	struct hdr_iter it;

	hdr_iter_init(&it, src);
	while (hdr_iter_next(&it)) {
		int64_t v = MAX(it.value_low, src->min);

		if (v > dst->highest) {
			/* Drop the clamped part from the exact sum, estimated by bucket midpoint. */
			int64_t mid = MIN(median_equivalent(src, v), src->max);

			excess += (double)(mid - dst->highest) * (double)it.count;
			clamped += it.count;
			v = dst->highest;
		}
		count_add(dst, counts_index(dst, v), it.count);
	}
	dst->sum -= excess;
	return clamped;
}

int64_t hdr_merge(struct hdr *dst, const struct hdr *src)
{
	int64_t clamped = 0;

	if (src->total_count == 0)
		return 0;
	/* A decoded src may hold values above its highest; only re-record when it must. */
	if (dst == src || (same_layout(dst, src) && src->max <= dst->highest)) {
		for (int i = next_chunk(src, 0); i < src->counts_len;
		     i = next_chunk(src, i + HDR_CHUNK)) {
			const int64_t *c = src->groups[i >> (HDR_CHUNK_SHIFT + HDR_GROUP_SHIFT)]
			                              [(i >> HDR_CHUNK_SHIFT) & (HDR_GROUP - 1)];
			int64_t *d = NULL;
			for (int j = 0; j < HDR_CHUNK && i + j < src->counts_len; j++) {
				if (!c[j])
					continue;
				if (!d)
					d = chunk_for(dst, i);
				d[j] += c[j];
			}
		}
	} else {
		clamped = merge_rerecord(dst, src);
	}
	dst->total_count += src->total_count;
	dst->sum += src->sum;
	dst->min = MIN(dst->min, MIN(src->min, dst->highest));
	dst->max = MAX(dst->max, MIN(src->max, dst->highest));
	return clamped;
}

int64_t hdr_min(const struct hdr *h)
{
	return h->total_count ? h->min : 0;
}

int64_t hdr_max(const struct hdr *h)
{
	return h->total_count ? h->max : 0;
}

double hdr_mean(const struct hdr *h)
{
	return h->total_count ? h->sum / (double)h->total_count : 0;
}

double hdr_stddev(const struct hdr *h)
{
	double mean = hdr_mean(h);
	double acc = 0;
	struct hdr_iter it;

	if (h->total_count == 0)
		return 0;
	hdr_iter_init(&it, h);
	while (hdr_iter_next(&it)) {
		/* Bucket midpoint, but never outside what was actually recorded. */
		int64_t mid = median_equivalent(h, it.value_low);
		double d = (double)MIN(MAX(mid, h->min), h->max) - mean;

		acc += d * d * (double)it.count;
	}
	return sqrt(acc / (double)h->total_count);
}

int64_t hdr_value_at_percentile(const struct hdr *h, double p)
{
	int64_t rank, cumulative = 0;
	double q;

	if (h->total_count == 0)
		return 0;
	if (!(p > 0)) /* also NaN */
		return h->min;
	if (p >= 100)
		return h->max;
	/* Like HdrHistogram, step one ulp down so 99.9% of 1000 is rank 999, not 1000. */
	q = ceil(nextafter(p, -INFINITY) * (double)h->total_count / 100.0);
	rank = q >= (double)h->total_count ? h->total_count : MAX((int64_t)q, 1);
	for (int i = next_chunk(h, 0); i < h->counts_len; i = next_chunk(h, i)) {
		for (int end = MIN(i + HDR_CHUNK, h->counts_len); i < end; i++) {
			cumulative += count_get(h, i);
			if (cumulative >= rank)
				return MIN(hdr_highest_equivalent(h, value_at_index(h, i)), h->max);
		}
	}
	return h->max;
}

size_t hdr_memory_size(const struct hdr *h)
{
	return sizeof(*h) + (size_t)h->ngroups * sizeof(*h->groups) + h->mem;
}

void hdr_iter_init(struct hdr_iter *it, const struct hdr *h)
{
	memset(it, 0, sizeof(*it));
	it->h = h;
	it->index = -1;
}

bool hdr_iter_next(struct hdr_iter *it)
{
	const struct hdr *h = it->h;

	/* Stop as soon as everything was seen, instead of scanning the empty tail. */
	if (it->cumulative >= h->total_count) {
		it->index = h->counts_len;
		return false;
	}
	for (int i = next_chunk(h, it->index + 1); i < h->counts_len; i = next_chunk(h, i)) {
		int64_t n = count_get(h, i);
		if (n == 0) {
			i++;
			continue;
		}
		it->index = i;
		it->count = n;
		it->cumulative += it->count;
		it->value_low = value_at_index(h, i);
		it->value = hdr_highest_equivalent(h, it->value_low);
		return true;
	}
	it->index = h->counts_len;
	return false;
}

/* ---- V2 encoding: big-endian header, ZigZag LEB128 counts, zlib, base64 ---- */

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* ZigZag, then LEB128 with at most 9 bytes: the 9th byte carries the last 8 bits whole. */
static size_t zz_put(uint8_t *p, int64_t v)
{
	uint64_t u = (uint64_t)v << 1;
	size_t n = 0;

	if (v < 0)
		u = ~u;
	while (n < HDR_LEB128_MAX - 1 && u >= 0x80) {
		p[n++] = (uint8_t)(u | 0x80);
		u >>= 7;
	}
	p[n++] = (uint8_t)u;
	return n;
}

/* Read one value from p[*pos..len); -EINVAL if it runs past the end. */
static int zz_get(const uint8_t *p, size_t len, size_t *pos, int64_t *out)
{
	uint64_t u = 0;
	int shift = 0;

	for (;;) {
		uint8_t b;

		if (*pos >= len)
			return -EINVAL;
		b = p[(*pos)++];
		if (shift == 56) {
			u |= (uint64_t)b << 56;
			break;
		}
		u |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
		shift += 7;
	}
	*out = (u & 1) ? -(int64_t)(u >> 1) - 1 : (int64_t)(u >> 1);
	return 0;
}

/* Counts up to the last non-zero one; everything after is implied zero on the wire. */
static int used_counts(const struct hdr *h)
{
	int n = h->counts_len;

	while (n > 0 && count_get(h, n - 1) == 0)
		n--;
	return n;
}

/* Serialize the uncompressed V2 form into a new buffer; returns its length. */
static size_t encode_v2(const struct hdr *h, uint8_t **out)
{
	int limit = used_counts(h);
	uint8_t *buf = xmalloc(HDR_V2_HEADER_LEN + (size_t)limit * HDR_LEB128_MAX);
	size_t n = HDR_V2_HEADER_LEN;

	for (int i = 0; i < limit;) {
		int zeros = 0;

		while (i < limit && count_get(h, i) == 0) {
			zeros++;
			i++;
		}
		if (zeros)
			n += zz_put(buf + n, -(int64_t)zeros);
		else
			n += zz_put(buf + n, count_get(h, i++));
	}
	put_be32(buf, HDR_V2_COOKIE | HDR_COOKIE_WORD_ZIGZAG);
	put_be32(buf + 4, (uint32_t)(n - HDR_V2_HEADER_LEN));
	put_be32(buf + 8, 0); /* normalizing index offset */
	put_be32(buf + 12, (uint32_t)h->sigfigs);
	put_be64(buf + 16, (uint64_t)h->lowest);
	put_be64(buf + 24, (uint64_t)h->highest);
	put_be64(buf + 32, 0x3ff0000000000000ull); /* conversion ratio: the double 1.0 */
	*out = buf;
	return n;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const uint8_t *in, size_t len)
{
	char *out = xmalloc((len + 2) / 3 * 4 + 1);
	char *p = out;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*p++ = b64_alphabet[v >> 18];
		*p++ = b64_alphabet[(v >> 12) & 63];
		*p++ = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		*p++ = i + 2 < len ? b64_alphabet[v & 63] : '=';
	}
	*p = '\0';
	return out;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict standard base64 with padding; *out gets a new buffer. 0 or -EINVAL. */
static int base64_decode(const char *in, size_t len, uint8_t **out, size_t *out_len)
{
	size_t pad = 0, n = 0;
	uint8_t *buf;

	if (len == 0 || len % 4)
		return -EINVAL;
	while (pad < 2 && in[len - 1 - pad] == '=')
		pad++;
	buf = xmalloc(len / 4 * 3);
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = 0;

		for (size_t j = 0; j < 4; j++) {
			int d = i + j < len - pad ? b64_value(in[i + j]) : 0;

			if (d < 0) {
				free(buf);
				return -EINVAL;
			}
			v = v << 6 | (uint32_t)d;
		}
		buf[n++] = (uint8_t)(v >> 16);
		buf[n++] = (uint8_t)(v >> 8);
		buf[n++] = (uint8_t)v;
	}
	*out = buf;
	*out_len = n - pad;
	return 0;
}

int hdr_encode(const struct hdr *h, char **out)
{
	uint8_t *raw, *zbuf;
	size_t raw_len = encode_v2(h, &raw);
	uLongf zlen = compressBound(raw_len);
	int rc;

	zbuf = xmalloc(HDR_COMPRESSED_HDR_LEN + zlen);
	rc = compress(zbuf + HDR_COMPRESSED_HDR_LEN, &zlen, raw, raw_len);
	free(raw);
	if (rc != Z_OK) {
		free(zbuf);
		return rc == Z_MEM_ERROR ? -ENOMEM : -EIO;
	}
	put_be32(zbuf, HDR_V2_COMPRESSED_COOKIE | HDR_COOKIE_WORD_ZIGZAG);
	put_be32(zbuf + 4, (uint32_t)zlen);
	*out = base64_encode(zbuf, HDR_COMPRESSED_HDR_LEN + zlen);
	free(zbuf);
	return 0;
}

static bool cookie_is(uint32_t cookie, uint32_t base)
{
	return (cookie & ~HDR_COOKIE_WORD_MASK) == base;
}

/* Validate the 40-byte V2 header into geo (geometry only, nothing allocated). */
static int v2_header(const uint8_t *p, struct hdr *geo, size_t *payload_len)
{
	int32_t len = (int32_t)get_be32(p + 4);
	int32_t sigfigs = (int32_t)get_be32(p + 12);
	int err;

	/* The normalizing offset (bytes 8..11) and conversion ratio (32..39) are ignored:
	 * writers put counts in logical order, and some (JS, old Go) write junk there. */
	if (!cookie_is(get_be32(p), HDR_V2_COOKIE) || len < 0)
		return -EINVAL;
	err = hdr_geometry(geo, (int64_t)get_be64(p + 16), (int64_t)get_be64(p + 24), sigfigs);
	if (err)
		return err;
	if ((uint64_t)len > (uint64_t)geo->counts_len * HDR_LEB128_MAX)
		return -EINVAL;
	*payload_len = (size_t)len;
	return 0;
}

/* Decode the ZigZag LEB128 counts into h (fresh, all zero). 0 or -EINVAL. */
static int v2_counts(struct hdr *h, const uint8_t *p, size_t len)
{
	size_t pos = 0;
	int64_t idx = 0;

	while (pos < len) {
		int64_t v;

		if (zz_get(p, len, &pos, &v))
			return -EINVAL;
		if (v < 0) {
			/* A run of -v zero counts; -v cannot overflow once v >= -counts_len. */
			if (v < idx - h->counts_len)
				return -EINVAL;
			idx -= v;
			continue;
		}
		if (idx >= h->counts_len || v > INT64_MAX - h->total_count)
			return -EINVAL;
		if (v)
			count_add(h, (int)idx, v);
		idx++;
		h->total_count += v;
	}
	return 0;
}

/*
 * Exact min/max/sum are not on the wire: take them from the buckets, and the sum from bucket
 * midpoints within [min, max]. No clamping to highest: other implementations record up to
 * the end of the counts array (a JS histogram with highest 2 happily holds 42).
 */
static void derive_stats(struct hdr *h)
{
	struct hdr_iter it;

	hdr_iter_init(&it, h);
	while (hdr_iter_next(&it)) {
		if (h->min == INT64_MAX)
			h->min = it.value_low;
		h->max = it.value;
	}
	hdr_iter_init(&it, h);
	while (hdr_iter_next(&it)) {
		int64_t mid = median_equivalent(h, it.value_low);

		h->sum += (double)MIN(MAX(mid, h->min), h->max) * (double)it.count;
	}
}

int hdr_decode_v2(const uint8_t *buf, size_t len, struct hdr **out)
{
	struct hdr geo, *h;
	size_t payload_len;
	int err;

	if (!buf || !out || len < HDR_V2_HEADER_LEN)
		return -EINVAL;
	err = v2_header(buf, &geo, &payload_len);
	if (err)
		return err;
	if (len - HDR_V2_HEADER_LEN != payload_len)
		return -EINVAL;
	err = hdr_init(&h, geo.lowest, geo.highest, geo.sigfigs);
	if (err)
		return err;
	if (v2_counts(h, buf + HDR_V2_HEADER_LEN, payload_len)) {
		hdr_free(h);
		return -EINVAL;
	}
	derive_stats(h);
	*out = h;
	return 0;
}

/* Inflate exactly len bytes into out. 0 or -EINVAL; *ended tells if the stream finished. */
static int inflate_exact(z_stream *zs, uint8_t *out, size_t len, bool *ended)
{
	zs->next_out = out;
	zs->avail_out = (uInt)len;
	while (zs->avail_out > 0 && !*ended) {
		int rc = inflate(zs, Z_NO_FLUSH);

		if (rc == Z_STREAM_END)
			*ended = true;
		else if (rc != Z_OK) /* Z_BUF_ERROR: input exhausted; others: corrupt */
			return -EINVAL;
	}
	return zs->avail_out == 0 ? 0 : -EINVAL;
}

/* The stream must end right here, with no output and no input left over. */
static int inflate_at_end(z_stream *zs, bool ended)
{
	uint8_t spare;

	if (!ended) {
		zs->next_out = &spare;
		zs->avail_out = 1;
		if (inflate(zs, Z_FINISH) != Z_STREAM_END || zs->avail_out != 1)
			return -EINVAL;
	}
	return zs->avail_in == 0 ? 0 : -EINVAL;
}

/* Inflate a zlib stream that must hold one V2 encoding; *out gets the plain bytes. */
static int inflate_v2(const uint8_t *z, size_t zlen, uint8_t **out, size_t *out_len)
{
	uint8_t head[HDR_V2_HEADER_LEN], *buf;
	z_stream zs = { 0 };
	struct hdr geo;
	size_t payload_len;
	bool ended = false;
	int err = -EINVAL;

	zs.next_in = (Bytef *)z;
	zs.avail_in = (uInt)zlen;
	if (inflateInit(&zs) != Z_OK)
		return -ENOMEM;
	if (inflate_exact(&zs, head, sizeof(head), &ended))
		goto out_end;
	/* Validate the header before trusting payload_len for an allocation. */
	err = v2_header(head, &geo, &payload_len);
	if (err)
		goto out_end;
	buf = xmalloc(HDR_V2_HEADER_LEN + payload_len);
	memcpy(buf, head, sizeof(head));
	err = inflate_exact(&zs, buf + HDR_V2_HEADER_LEN, payload_len, &ended);
	if (!err)
		err = inflate_at_end(&zs, ended);
	if (err) {
		free(buf);
		goto out_end;
	}
	*out = buf;
	*out_len = HDR_V2_HEADER_LEN + payload_len;
out_end:
	inflateEnd(&zs);
	return err;
}

int hdr_decode(const char *b64, size_t len, struct hdr **out)
{
	uint8_t *bin, *raw = NULL;
	size_t bin_len, raw_len = 0;
	int err;

	if (!b64 || !out)
		return -EINVAL;
	err = base64_decode(b64, len, &bin, &bin_len);
	if (err)
		return err;
	err = -EINVAL;
	if (bin_len < HDR_COMPRESSED_HDR_LEN ||
	    !cookie_is(get_be32(bin), HDR_V2_COMPRESSED_COOKIE) ||
	    get_be32(bin + 4) != bin_len - HDR_COMPRESSED_HDR_LEN)
		goto out_free_bin;
	err = inflate_v2(bin + HDR_COMPRESSED_HDR_LEN, bin_len - HDR_COMPRESSED_HDR_LEN, &raw,
	                 &raw_len);
	if (!err)
		err = hdr_decode_v2(raw, raw_len, out);
	free(raw);
out_free_bin:
	free(bin);
	return err;
}
