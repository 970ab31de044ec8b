/* hdr.h: HDR-style log-linear histogram (HdrHistogram-compatible layout and V2 encoding). */
#ifndef STAMPEDE_HDR_H
#define STAMPEDE_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default range for latency histograms: 1 µs .. 1 hour, 3 significant digits. */
#define HDR_LOWEST  1
#define HDR_HIGHEST 3600000000LL
#define HDR_SIGFIGS 3

struct hdr {
	int64_t lowest;     /* lowest discernible value (>= 1) */
	int64_t highest;    /* highest trackable value */
	int sigfigs;        /* 1..5 */
	int unit_magnitude; /* floor(log2(lowest)) */
	int sub_bucket_half_count_magnitude;
	int sub_bucket_count; /* 2^(ceil(log2(2 * 10^sigfigs))) */
	int sub_bucket_half_count;
	int64_t sub_bucket_mask;
	int bucket_count;
	int counts_len;
	int64_t total_count;
	int64_t min; /* INT64_MAX when empty */
	int64_t max; /* 0 when empty */
	double sum;  /* sum of recorded values (for the mean) */
	/* The counters, allocated only where values land (issue #10: a histogram costs what
	 * its data needs): counts_len counters in chunks of HDR_CHUNK, chunks in groups of
	 * HDR_GROUP; groups[g] and groups[g][c] stay NULL until a counter in them is non-zero.
	 * Use hdr_count_at_index() to read one. */
	int64_t ***groups; /* ngroups entries, in the same block as the struct */
	int ngroups;
	size_t mem; /* bytes allocated for groups and chunks */
};

#define HDR_CHUNK_SHIFT 5 /* 32 counters (256 bytes) per chunk */
#define HDR_CHUNK       (1 << HDR_CHUNK_SHIFT)
#define HDR_GROUP_SHIFT 5 /* 32 chunks (1024 counters) per group */
#define HDR_GROUP       (1 << HDR_GROUP_SHIFT)

/* Create a histogram tracking [lowest, highest] with sigfigs significant digits into *out.
 * Returns 0 or -EINVAL on bad arguments. Free with hdr_free(). */
int hdr_init(struct hdr **out, int64_t lowest, int64_t highest, int sigfigs);
/* Create a latency histogram with the default range (1 µs .. 1 h, 3 digits). Aborts on OOM. */
struct hdr *hdr_new_default(void);
/* Free a histogram; accepts NULL. */
void hdr_free(struct hdr *h);
/* Record one value / n values (n <= 0 is ignored). Negative values are recorded as 0, values
 * above highest as highest; values below lowest share the first buckets as in HdrHistogram.
 * Never allocates. */
void hdr_record(struct hdr *h, int64_t value);
void hdr_record_n(struct hdr *h, int64_t value, int64_t n);
/* Zero every count. */
void hdr_reset(struct hdr *h);
/* Add every count of src into dst (ranges may differ: values are re-recorded with their
 * bucket's equivalent value). Returns the number of values that had to be clamped. */
int64_t hdr_merge(struct hdr *dst, const struct hdr *src);
/* Value at percentile p (0..100): the highest-equivalent value of the bucket holding rank
 * ceil(p/100 * total) (at least 1, HdrHistogram semantics incl. its one-ulp nudge down),
 * capped at hdr_max(). p >= 100 returns hdr_max(), p <= 0 hdr_min(). 0 when empty. */
int64_t hdr_value_at_percentile(const struct hdr *h, double p);
int64_t hdr_min(const struct hdr *h); /* 0 when empty */
int64_t hdr_max(const struct hdr *h); /* 0 when empty; exact recorded max, clamped */
/* Exact mean of recorded values; 0 when empty. For a decoded histogram min/max/mean come
 * from the buckets (the wire format carries only counts). */
double hdr_mean(const struct hdr *h);
/* Standard deviation around the exact mean, from bucket midpoints. */
double hdr_stddev(const struct hdr *h);
/* true when the two values fall into the same bucket. */
bool hdr_values_equivalent(const struct hdr *h, int64_t a, int64_t b);
/* Bucket geometry helpers (HdrHistogram semantics). */
int64_t hdr_lowest_equivalent(const struct hdr *h, int64_t v);
int64_t hdr_highest_equivalent(const struct hdr *h, int64_t v);
/* Bytes the histogram holds now: the struct, its directory, and the groups and chunks its
 * values touched. */
size_t hdr_memory_size(const struct hdr *h);
/* The counter at index (0 for an index past counts_len). */
int64_t hdr_count_at_index(const struct hdr *h, int index);
/* Count in the bucket that value falls into (negative counts as 0; 0 beyond the array). */
int64_t hdr_count_at_value(const struct hdr *h, int64_t value);

/* Iterate recorded (non-zero) buckets in increasing value order. */
struct hdr_iter {
	const struct hdr *h;
	int index;          /* current counts index, -1 before the first */
	int64_t value;      /* highest-equivalent value of the current bucket */
	int64_t value_low;  /* lowest-equivalent value of the current bucket */
	int64_t count;      /* count in the current bucket */
	int64_t cumulative; /* counts up to and including the current bucket */
};
void hdr_iter_init(struct hdr_iter *it, const struct hdr *h);
bool hdr_iter_next(struct hdr_iter *it);

/* Encode into HdrHistogram's V2 compressed format (cookie 0x1c849304 around a zlib-
 * deflated V2 payload 0x1c849303 with ZigZag LEB128 counts; like every HdrHistogram writer
 * we set the 0x10 "word size" bit, so the wire cookies are 0x1c849314/0x1c849313), base64
 * encoded, so that any HdrHistogram implementation can decode it ("HISTFAA..."). *out is a
 * NUL-terminated malloc'd string owned by the caller. Returns 0 or a negative errno. */
int hdr_encode(const struct hdr *h, char **out);
/* Decode a base64 V2 compressed histogram (as produced by hdr_encode or by any
 * HdrHistogram implementation) into a new histogram *out. Returns 0, or -EINVAL on
 * malformed input (never crashes on any input). */
int hdr_decode(const char *b64, size_t len, struct hdr **out);
/* Decode an uncompressed V2 encoding (40-byte header + counts, no zlib, no base64), e.g. for
 * tests and fuzzing. Same contract as hdr_decode(). */
int hdr_decode_v2(const uint8_t *buf, size_t len, struct hdr **out);

#endif
