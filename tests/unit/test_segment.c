/* test_segment.c: execution segments: fractions, sequences, and the stripe's partition of
 * every index among the segments of a sequence (engine/segment.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/segment.h"
#include "util/common.h"

static void seg_ok(struct exec_segment *es, const char *seg, const char *seq)
{
	char err[256] = "";
	int rc = exec_segment_init(es, seg, seq, err, sizeof(err));
	cr_assert_eq(rc, 0, "exec_segment_init(%s, %s): %s", seg, seq ? seq : "NULL", err);
}

static void seg_bad(const char *seg, const char *seq, const char *want)
{
	struct exec_segment es;
	char err[256] = "";
	int rc = exec_segment_init(&es, seg, seq, err, sizeof(err));
	cr_assert_eq(rc, -1, "exec_segment_init(%s, %s) accepted", seg ? seg : "NULL",
	             seq ? seq : "NULL");
	cr_assert(strstr(err, want), "error for (%s, %s) is '%s', expected it to say '%s'",
	          seg ? seg : "NULL", seq ? seq : "NULL", err, want);
}

Test(segment, fractions)
{
	struct frac f;
	char err[128], buf[32];
	const struct {
		const char *in, *out;
	} ok[] = { { "1/4", "1/4" }, { "2/4", "1/2" },   { "0.25", "1/4" },
		   { "25%", "1/4" }, { "12.5%", "1/8" }, { "0", "0" },
		   { "1", "1" },     { "4/4", "1" },     { "0.333333333", "333333333/1000000000" },
		   { "1.0", "1" } };
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		cr_assert_eq(frac_parse(ok[i].in, &f, err, sizeof(err)), 0, "%s: %s", ok[i].in,
		             err);
		cr_assert_str_eq(frac_format(f, buf, sizeof(buf)), ok[i].out, "%s", ok[i].in);
	}
	const char *bad[] = { "",    "/4",   "1/",           "1/0",          "-1/4",
		              "5/4", "abc",  "0.1234567891", "1/4x",         "1//4",
		              "%",   "50%%", "1.5",          "99999999999/1" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		cr_assert_eq(frac_parse(bad[i], &f, err, sizeof(err)), -1, "'%s' accepted", bad[i]);
}

Test(segment, whole_run)
{
	struct exec_segment es;
	seg_ok(&es, NULL, NULL);
	cr_assert(es.whole);
	for (int64_t n = 0; n < 100; n++) {
		cr_assert_eq(exec_segment_scale(&es, n), n);
		cr_assert_eq(exec_segment_index(&es, n), n);
	}
	cr_assert_eq(exec_segment_fraction(&es), 1.0);
	cr_assert_eq(exec_segment_scale(NULL, 7), 7);
	exec_segment_free(&es);
	seg_ok(&es, NULL, "0,1/2,1"); /* a sequence alone: the whole run, as k6 */
	cr_assert(es.whole);
	exec_segment_free(&es);
}

Test(segment, canonical_text)
{
	struct exec_segment es;
	seg_ok(&es, "25%:0.5", "0,0.25,50%,3/4,1");
	cr_assert_str_eq(es.text, "1/4:1/2");
	cr_assert_str_eq(es.sequence, "0,1/4,1/2,3/4,1");
	cr_assert_eq(es.index, 1);
	cr_assert_eq(es.nseq, 4);
	exec_segment_free(&es);
	seg_ok(&es, "1/3", NULL); /* "TO" alone is 0:TO; the sequence 0, TO, 1 */
	cr_assert_str_eq(es.text, "0:1/3");
	cr_assert_str_eq(es.sequence, "0,1/3,1");
	exec_segment_free(&es);
	seg_ok(&es, "1/4:1/2", "1/4,1/2"); /* 0 and 1 are added, as k6 fills a sequence */
	cr_assert_str_eq(es.sequence, "0,1/4,1/2,1");
	exec_segment_free(&es);
}

Test(segment, errors)
{
	seg_bad("1/4:1/4", NULL, "below its end");
	seg_bad("3/4:1/4", NULL, "below its end");
	seg_bad("1/5:2/5", "0,1/4,1/2,1", "not one of the sequence's segments");
	seg_bad("0:1/2", "0,1/2,1/4,1", "must increase");
	seg_bad("0:1/2", "0,1/2,1/2,1", "must increase");
	seg_bad("9300000000.709551616:9999999999.709551616", NULL, "not a fraction");
	seg_bad("9999999999.709551616:1/2", NULL, "not a fraction");
	seg_bad("1/4:", NULL, "not a fraction");
	seg_bad(":1/4", NULL, "not a fraction");
	seg_bad("x", NULL, "not a fraction");
	seg_bad("0:1/2", "0,oops,1", "not a fraction");
	seg_bad("1/999983:2/999979", NULL, "stripe");
	/* a repeated point makes a segment of no load: k6 wants them strictly increasing */
	seg_bad("0:1/2", "0,0,1/2,1", "must increase (0 after a larger or equal one)");
	seg_bad("1/2:1", "0,1/2,1/2,1", "must increase");
	seg_bad("1/2:1", "0,1/2,1,1", "must increase");
	/* a segment alone is named as a segment, not as a sequence */
	seg_bad("0:1/1000001", NULL, "execution segment '0:1/1000001': its fractions need");
	seg_bad("0:1/1000001", "0,1/1000001,1",
	        "execution segment sequence '0,1/1000001,1': its fractions need");
}

/* Every index of the whole run belongs to exactly one segment of the sequence; each
 * segment's count of the first n indices sums to n, stays within one of its share, and
 * its index function is the inverse of its count. */
static void check_partition(const char *seq, int nseg)
{
	struct exec_segment es[64];
	char *copy = strdup(seq), *rest = copy, *tok, *pts[65];
	int npts = 0;
	while ((tok = strsep(&rest, ",")) != NULL)
		pts[npts++] = tok;
	cr_assert_eq(npts, nseg + 1);
	for (int i = 0; i < nseg; i++) {
		char s[64];
		snprintf(s, sizeof(s), "%s:%s", pts[i], pts[i + 1]);
		seg_ok(&es[i], s, seq);
	}
	int64_t period = es[0].period, total = 3 * period + 7;
	for (int i = 1; i < nseg; i++)
		cr_assert_eq(es[i].period, period, "%s: the period is the same for every segment",
		             seq);
	int *owner = calloc((size_t)total, sizeof(*owner));
	for (int64_t g = 0; g < total; g++)
		owner[g] = -1;
	for (int i = 0; i < nseg; i++) {
		double share = exec_segment_fraction(&es[i]);
		int64_t prev = -1;
		for (int64_t k = 0;; k++) {
			int64_t g = exec_segment_index(&es[i], k);
			if (g >= total)
				break;
			cr_assert_gt(g, prev, "%s segment %d: indices increase", seq, i);
			prev = g;
			cr_assert_eq(owner[g], -1, "%s: index %lld is in segments %d and %d", seq,
			             (long long)g, owner[g], i);
			owner[g] = i;
			cr_assert_eq(exec_segment_scale(&es[i], g), k, "%s segment %d", seq, i);
			cr_assert_eq(exec_segment_scale(&es[i], g + 1), k + 1, "%s segment %d", seq,
			             i);
		}
		for (int64_t n = 0; n <= total; n++)
			cr_assert_leq(
			    fabs((double)exec_segment_scale(&es[i], n) - share * (double)n),
			    1.0 + 1e-9, "%s segment %d: %lld of the first %lld (share %g)", seq, i,
			    (long long)exec_segment_scale(&es[i], n), (long long)n, share);
	}
	for (int64_t g = 0; g < total; g++)
		cr_assert_neq(owner[g], -1, "%s: index %lld is in no segment", seq, (long long)g);
	for (int64_t n = 0; n <= total; n++) {
		int64_t sum = 0;
		for (int i = 0; i < nseg; i++)
			sum += exec_segment_scale(&es[i], n);
		cr_assert_eq(sum, n, "%s: the segments' shares of %lld add up to %lld", seq,
		             (long long)n, (long long)sum);
	}
	for (int i = 0; i < nseg; i++)
		exec_segment_free(&es[i]);
	free(owner);
	free(copy);
}

Test(segment, stripes_partition_every_index)
{
	check_partition("0,1", 1);
	check_partition("0,1/2,1", 2);
	check_partition("0,1/4,1/2,3/4,1", 4);
	check_partition("0,1/3,2/3,1", 3);
	check_partition("0,1/10,3/10,1/2,1", 4);
	check_partition("0,0.1,0.35,0.36,1", 4);
	check_partition("0,1/7,2/7,3/7,4/7,5/7,6/7,1", 7);
	check_partition("0,1/8,1/3,5/12,1", 4);
}

Test(segment, four_quarters_take_turns)
{
	/* 1/4 each: the whole run's arrival n goes to segment n % 4 */
	for (int i = 0; i < 4; i++) {
		struct exec_segment es;
		char s[32];
		snprintf(s, sizeof(s), "%d/4:%d/4", i, i + 1);
		seg_ok(&es, s, "0,1/4,1/2,3/4,1");
		for (int64_t k = 0; k < 20; k++)
			cr_assert_eq(exec_segment_index(&es, k), 4 * k + i);
		/* 10 VUs: 3, 3, 2, 2 */
		cr_assert_eq(exec_segment_scale(&es, 10), i < 2 ? 3 : 2);
		exec_segment_free(&es);
	}
}

/* Items dealt out by owner (item i to owner i mod owners, as a shared-iterations
 * scenario's iterations to its VUs): each segment has the items of its owners
 * (scenario_segment's count), and exec_segment_deal numbers them so that the segments'
 * numbers never meet and together are 0 .. n-1. */
static void check_deal(const char *seq, int nseg, int64_t owners, int64_t n)
{
	char *copy = strdup(seq), *rest = copy, *tok, *pts[65];
	int npts = 0;
	while ((tok = strsep(&rest, ",")) != NULL)
		pts[npts++] = tok;
	cr_assert_eq(npts, nseg + 1);
	int *owner = calloc((size_t)n, sizeof(*owner));
	for (int64_t g = 0; g < n; g++)
		owner[g] = -1;
	for (int i = 0; i < nseg; i++) {
		struct exec_segment es;
		char s[64];
		snprintf(s, sizeof(s), "%s:%s", pts[i], pts[i + 1]);
		seg_ok(&es, s, seq);
		int64_t mine = n / owners * exec_segment_scale(&es, owners) +
		               exec_segment_scale(&es, n % owners);
		for (int64_t k = 0; k < mine; k++) {
			int64_t g = exec_segment_deal(&es, owners, k);
			cr_assert(g >= 0 && g < n,
			          "%s segment %d: item %lld is %lld, not below %lld", seq, i,
			          (long long)k, (long long)g, (long long)n);
			cr_assert_eq(owner[g], -1, "%s, %lld owners: %lld in segments %d and %d",
			             seq, (long long)owners, (long long)g, owner[g], i);
			owner[g] = i;
			/* the owner of the whole run's item g is one of this segment's */
			cr_assert_eq(exec_segment_scale(&es, g % owners + 1) -
			                 exec_segment_scale(&es, g % owners),
			             1, "%s segment %d: item %lld's owner is not its", seq, i,
			             (long long)g);
		}
		exec_segment_free(&es);
	}
	for (int64_t g = 0; g < n; g++)
		cr_assert_neq(owner[g], -1, "%s, %lld owners, %lld items: %lld is in no segment",
		              seq, (long long)owners, (long long)n, (long long)g);
	free(owner);
	free(copy);
}

Test(segment, dealt_items_are_numbered_once)
{
	const char *seqs[] = { "0,1/2,1", "0,1/4,1/2,3/4,1", "0,1/3,1", "0,0.1,0.35,0.36,1",
		               "0,1/8,1/3,5/12,1" };
	const int nsegs[] = { 2, 4, 2, 4, 4 };
	const int64_t owners[] = { 1, 2, 3, 4, 5, 7, 10, 24 };
	const int64_t items[] = { 0, 1, 10, 31, 41, 101 };
	for (size_t s = 0; s < ARRAY_SIZE(seqs); s++)
		for (size_t o = 0; o < ARRAY_SIZE(owners); o++)
			for (size_t n = 0; n < ARRAY_SIZE(items); n++)
				check_deal(seqs[s], nsegs[s], owners[o], items[n]);
}

Test(segment, dealing_the_whole_run_is_the_identity)
{
	struct exec_segment es;
	seg_ok(&es, NULL, NULL);
	for (int64_t k = 0; k < 50; k++) {
		cr_assert_eq(exec_segment_deal(&es, 3, k), k);
		cr_assert_eq(exec_segment_deal(NULL, 3, k), k);
	}
	exec_segment_free(&es);
	/* halves of 3 owners: the first has owners 0 and 2, the second owner 1 */
	seg_ok(&es, "0:1/2", "0,1/2,1");
	const int64_t first[] = { 0, 2, 3, 5, 6, 8, 9 };
	for (size_t k = 0; k < ARRAY_SIZE(first); k++)
		cr_assert_eq(exec_segment_deal(&es, 3, (int64_t)k), first[k]);
	exec_segment_free(&es);
	seg_ok(&es, "1/2:1", "0,1/2,1");
	for (int64_t k = 0; k < 3; k++)
		cr_assert_eq(exec_segment_deal(&es, 3, k), 3 * k + 1);
	exec_segment_free(&es);
}
