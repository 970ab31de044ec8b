/* test_stats.c: unit tests for the Mann–Whitney U test, the moving-block bootstrap of a
 * ratio, the median and mean, and the generator (analysis/stats.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/stats.h"
#include "util/common.h"

#define LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* --------------------------------------------------------------------------------------
 * Mann–Whitney U against scipy
 *
 * The expected U and p below were produced with scipy 1.10.1 (Debian python3-scipy):
 *   scipy.stats.mannwhitneyu(x, y, alternative=alt)   # method="auto", use_continuity=True
 * printing repr(float(res.statistic)), repr(float(res.pvalue)) for alt in two-sided, less,
 * greater.
 * -------------------------------------------------------------------------------------- */

struct mwu_case {
	double u;
	double p[3]; /* STATS_TWO_SIDED, STATS_LESS, STATS_GREATER */
	bool exact;
};

static void check_mwu(const double *x, int nx, const double *y, int ny, const struct mwu_case *want)
{
	for (int alt = STATS_TWO_SIDED; alt <= STATS_GREATER; alt++) {
		struct stats_mwu r;
		cr_assert_eq(stats_mann_whitney(x, nx, y, ny, alt, &r), 0);
		cr_assert_eq(r.u, want->u, "alt %d: U %.17g, want %.17g", alt, r.u, want->u);
		cr_assert_eq(r.exact, want->exact, "alt %d", alt);
		cr_assert(fabs(r.p - want->p[alt]) <= 1e-12 * want->p[alt],
		          "alt %d: p %.17g, want %.17g", alt, r.p, want->p[alt]);
		if (r.exact)
			cr_assert_eq(r.z, 0);
	}
}

/* Both samples of at most 8, no ties: the exact distribution. */
Test(stats_mwu, exact_small)
{
	double x[] = { 1.1, 2.3, 3.7, 5.2, 8.4 }, y[] = { 2.9, 4.4, 6.1, 7.0, 9.3, 10.5 };
	struct mwu_case want = { 7.0,
		                 { 0.17748917748917747, 0.08874458874458874, 0.9372294372294373 },
		                 true };
	check_mwu(x, LEN(x), y, LEN(y), &want);
}

/* scipy's "auto" takes the exact distribution when ONE sample has at most 8 values. */
Test(stats_mwu, exact_one_small_sample)
{
	double x[] = { 2.5, 5.5, 7.25 }, y[40];
	for (int i = 0; i < 40; i++)
		y[i] = i + 1;
	struct mwu_case want = { 14.0,
		                 { 0.023823028927963702, 0.011911514463981851, 0.9900332225913621 },
		                 true };
	check_mwu(x, LEN(x), y, LEN(y), &want);
}

/* Both larger than 8, no ties: the normal approximation with the continuity correction. */
Test(stats_mwu, asymptotic)
{
	double x[] = { 10.2, 11.5, 9.8, 12.1, 13.4, 10.9, 11.1, 12.7, 9.5, 14.0 };
	double y[] = { 12.3, 13.1, 14.8, 11.9, 15.2, 13.7, 12.8, 16.0, 14.1, 13.3, 12.0, 15.5 };
	struct mwu_case want = {
		18.0, { 0.006211000298815913, 0.0031055001494079567, 0.9974635436698809 }, false
	};
	check_mwu(x, LEN(x), y, LEN(y), &want);
	/* z of the two-sided test: (max(U1, U2) - 60 - 0.5) / sqrt(10 * 12 * 23 / 12) */
	struct stats_mwu r;
	cr_assert_eq(stats_mann_whitney(x, LEN(x), y, LEN(y), STATS_TWO_SIDED, &r), 0);
	cr_assert_float_eq(r.z, (102 - 60 - 0.5) / sqrt(230.0), 1e-12);
}

/* Small samples with ties: asymptotic (scipy's exact ignores ties), tie-corrected. */
Test(stats_mwu, ties_small_samples)
{
	double x[] = { 3, 1, 4, 1, 5 }, y[] = { 9, 2, 6, 5, 3, 5 };
	struct mwu_case want = { 6.5,
		                 { 0.13862587987892763, 0.06931293993946382, 0.9521476244125593 },
		                 false };
	check_mwu(x, LEN(x), y, LEN(y), &want);
}

Test(stats_mwu, ties)
{
	double x[] = { 20, 21, 21, 22, 22, 22, 23, 24, 25, 25, 26 };
	double y[] = { 22, 23, 23, 24, 24, 25, 26, 26, 27, 28 };
	struct mwu_case want = { 25.5,
		                 { 0.039373780735140376, 0.019686890367570188, 0.9834678847274392 },
		                 false };
	check_mwu(x, LEN(x), y, LEN(y), &want);
}

/* Every value equal: U = nx ny / 2, no evidence; scipy gives p = 1. */
Test(stats_mwu, all_equal)
{
	double x[10], y[12];
	for (int i = 0; i < 12; i++)
		y[i] = x[i % 10] = 7;
	struct mwu_case want = { 60.0, { 1, 1, 1 }, false };
	check_mwu(x, LEN(x), y, LEN(y), &want);
}

/* The textbook recurrence of Mann & Whitney (1947): the number of arrangements of m x's
 * and n y's with U = k is f(m, n, k) = f(m - 1, n, k - n) + f(m, n - 1, k). */
#define REC_M 8
#define REC_N 30
static double rec_f[REC_M + 1][REC_N + 1][REC_M * REC_N + 1];

static void fill_recurrence(void)
{
	for (int m = 0; m <= REC_M; m++)
		for (int n = 0; n <= REC_N; n++)
			for (int k = 0; k <= REC_M * REC_N; k++) {
				if (k > m * n)
					rec_f[m][n][k] = 0;
				else if (k == 0)
					rec_f[m][n][k] = 1;
				else
					rec_f[m][n][k] = (k >= n ? rec_f[m - 1][n][k - n] : 0) +
					                 rec_f[m][n - 1][k];
			}
}

/* x (m values) with U = u against y = 0, 1, ..., n-1: x_i sits above c_i of the y's. */
static void place_x(double *x, int m, int n, int u)
{
	for (int i = 0; i < m; i++) {
		int c = u < n ? u : n;
		u -= c;
		x[i] = c - 0.5 + 0.01 * i;
	}
}

/* Every U of every m x n up to 8 x 30, in both orders, against the recurrence. */
Test(stats_mwu, exact_tail_matches_recurrence)
{
	fill_recurrence();
	double x[REC_M], y[REC_N];
	for (int i = 0; i < REC_N; i++)
		y[i] = i;
	for (int m = 1; m <= REC_M; m++)
		for (int n = 1; n <= REC_N; n++) {
			double total = 0;
			for (int k = 0; k <= m * n; k++)
				total += rec_f[m][n][k];
			for (int u = 0; u <= m * n; u++) {
				double tail = 0; /* P(U >= u) */
				for (int k = u; k <= m * n; k++)
					tail += rec_f[m][n][k];
				tail /= total;
				place_x(x, m, n, u);
				struct stats_mwu r, s;
				cr_assert_eq(stats_mann_whitney(x, m, y, n, STATS_GREATER, &r), 0);
				cr_assert_eq(r.u, u);
				cr_assert(r.exact);
				cr_assert(fabs(r.p - tail) <= 1e-13 * tail,
				          "m %d n %d u %d: %.17g vs %.17g", m, n, u, r.p, tail);
				/* y against x: the same tail, from the other side */
				cr_assert_eq(stats_mann_whitney(y, n, x, m, STATS_LESS, &s), 0);
				cr_assert(s.exact);
				cr_assert(fabs(s.p - tail) <= 1e-13 * tail);
			}
		}
}

/* A day of seconds against 2 values: the arrangements with U = k <= n are the partitions of
 * k into at most 2 parts, floor(k/2) + 1 of them, out of C(n + 2, 2). And 8 values against
 * a day (the largest exact case): consistent tails. */
Test(stats_mwu, exact_at_the_size_limit)
{
	static double y[STATS_MAX_N];
	int n = STATS_MAX_N;
	for (int i = 0; i < n; i++)
		y[i] = i;
	double x[8] = { 100.5, 2000.5 };
	struct stats_mwu r;
	cr_assert_eq(stats_mann_whitney(x, 2, y, n, STATS_LESS, &r), 0);
	cr_assert(r.exact);
	cr_assert_eq(r.u, 101 + 2001);
	double want = 0;
	for (int k = 0; k <= 2102; k++)
		want += k / 2 + 1;
	want /= (double)(n + 2) * (n + 1) / 2;
	cr_assert(fabs(r.p - want) <= 1e-13 * want, "%.17g vs %.17g", r.p, want);

	for (int i = 0; i < 8; i++)
		x[i] = 10000.5 * (i + 1) + 0.25;
	cr_assert_eq(stats_mann_whitney(x, 8, y, n, STATS_TWO_SIDED, &r), 0);
	cr_assert(r.exact);
	cr_assert(r.p > 0 && r.p <= 1);
	struct stats_mwu lo, hi;
	cr_assert_eq(stats_mann_whitney(x, 8, y, n, STATS_LESS, &lo), 0);
	cr_assert_eq(stats_mann_whitney(x, 8, y, n, STATS_GREATER, &hi), 0);
	/* P(U <= u) + P(U >= u) = 1 + P(U = u) */
	cr_assert(lo.p + hi.p > 1 && lo.p + hi.p < 1 + 1e-3);
	cr_assert_float_eq(r.p, 2 * fmin(lo.p, hi.p), 1e-15);
}

Test(stats_mwu, bad_input)
{
	double x[] = { 1, 2, 3 }, y[] = { 4, 5, 6 }, bad[] = { 1, NAN, 3 },
	       inf[] = { 1, 2, INFINITY };
	struct stats_mwu r = { .u = -42 };
	cr_assert_eq(stats_mann_whitney(NULL, 3, y, 3, STATS_LESS, &r), -EINVAL);
	cr_assert_eq(stats_mann_whitney(x, 3, NULL, 3, STATS_LESS, &r), -EINVAL);
	cr_assert_eq(stats_mann_whitney(x, 3, y, 3, STATS_LESS, NULL), -EINVAL);
	cr_assert_eq(stats_mann_whitney(x, 0, y, 3, STATS_LESS, &r), -EINVAL);
	cr_assert_eq(stats_mann_whitney(x, 3, y, -1, STATS_LESS, &r), -EINVAL);
	cr_assert_eq(stats_mann_whitney(x, STATS_MAX_N + 1, y, 3, STATS_LESS, &r), -EINVAL);
	cr_assert_eq(stats_mann_whitney(bad, 3, y, 3, STATS_LESS, &r), -EINVAL);
	cr_assert_eq(stats_mann_whitney(x, 3, inf, 3, STATS_LESS, &r), -EINVAL);
	cr_assert_eq(stats_mann_whitney(x, 3, y, 3, (enum stats_alt)7, &r), -EINVAL);
	cr_assert_eq(r.u, -42, "*out untouched on failure");
	cr_assert_eq(stats_mann_whitney(x, 1, y, 1, STATS_LESS, &r), 0, "one value each is fine");
	cr_assert_float_eq(r.p, 0.5, 1e-15);
}

/* --------------------------------------------------------------------------------------
 * median, mean
 * -------------------------------------------------------------------------------------- */

Test(stats_median, small_and_even)
{
	double a[] = { 5, 1, 4 }, b[] = { 4, 1, 3, 2 }, c[] = { 7 }, d[] = { 2, 2, 2, 2, 2, 2 };
	cr_assert_eq(stats_median(a, 3), 4);
	cr_assert_eq(stats_median(b, 4), 2.5);
	cr_assert_eq(stats_median(c, 1), 7);
	cr_assert_eq(stats_median(d, 6), 2);
	cr_assert(isnan(stats_median(a, 0)));
	cr_assert(isnan(stats_mean(a, 0)));
	double m[] = { 1, 2, 3, 10 };
	cr_assert_eq(stats_mean(m, 4), 4);
}

/* Against sorting, on random, few-valued, sorted and reversed inputs of many sizes. */
Test(stats_median, matches_sort)
{
	static double v[1001], s[1001];
	struct stats_rng rng;
	stats_rng_seed(&rng, 99);
	for (int n = 1; n <= 1001; n += 17)
		for (int kind = 0; kind < 4; kind++) {
			for (int i = 0; i < n; i++)
				v[i] = kind == 0   ? (double)stats_rng_next(&rng) / 1e18
				       : kind == 1 ? (double)stats_rng_below(&rng, 3)
				       : kind == 2 ? i
				                   : n - i;
			memcpy(s, v, (size_t)n * sizeof(*s));
			qsort(s, (size_t)n, sizeof(*s), cmp_double);
			double want = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
			cr_assert_eq(stats_median(v, n), want, "n %d kind %d", n, kind);
		}
}

/* --------------------------------------------------------------------------------------
 * the generator, against the reference implementations' published outputs
 * -------------------------------------------------------------------------------------- */

/* splitmix64.c (prng.di.unimi.it) from 1477776061723855037: the values rand_xoshiro's
 * test "reference" (rust-random/rngs, rand_xoshiro/src/splitmix64.rs) lists as produced
 * with the reference implementation. */
Test(stats_rng, splitmix64_reference)
{
	const uint64_t want[] = { 1985237415132408290ULL, 2979275885539914483ULL,
		                  13511426838097143398ULL, 8488337342461049707ULL,
		                  15141737807933549159ULL };
	uint64_t state = 1477776061723855037ULL;
	for (int i = 0; i < LEN(want); i++)
		cr_assert_eq(stats_splitmix64(&state), want[i], "output %d", i);
}

/* xoshiro256starstar.c from the state {1, 2, 3, 4}: the values rand_xoshiro's test
 * (rand_xoshiro/src/xoshiro256starstar.rs) lists as produced with the reference code. */
Test(stats_rng, xoshiro256starstar_reference)
{
	const uint64_t want[] = { 11520ULL,
		                  0ULL,
		                  1509978240ULL,
		                  1215971899390074240ULL,
		                  1216172134540287360ULL,
		                  607988272756665600ULL,
		                  16172922978634559625ULL,
		                  8476171486693032832ULL,
		                  10595114339597558777ULL,
		                  2904607092377533576ULL };
	struct stats_rng r = { { 1, 2, 3, 4 } };
	for (int i = 0; i < LEN(want); i++)
		cr_assert_eq(stats_rng_next(&r), want[i], "output %d", i);
}

Test(stats_rng, below_in_range)
{
	struct stats_rng r;
	stats_rng_seed(&r, 5);
	int seen[7] = { 0 };
	for (int i = 0; i < 7000; i++) {
		uint64_t v = stats_rng_below(&r, 7);
		cr_assert(v < 7);
		seen[v]++;
	}
	for (int i = 0; i < 7; i++)
		cr_assert(seen[i] > 800 && seen[i] < 1200, "%d: %d", i, seen[i]);
	cr_assert_eq(stats_rng_below(&r, 1), 0);
}

/* --------------------------------------------------------------------------------------
 * moving-block bootstrap
 * -------------------------------------------------------------------------------------- */

/* A standard normal deviate (Box–Muller) from the generator. */
static double normal(struct stats_rng *r)
{
	double u1 = ((double)(stats_rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
	double u2 = (double)(stats_rng_next(r) >> 11) / 9007199254740992.0;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* level + scale * a stationary AR(1) series with unit innovations and coefficient phi. */
static void ar1(struct stats_rng *r, double *v, int n, double phi, double level, double scale)
{
	double e = normal(r) / sqrt(1 - phi * phi);
	for (int i = 0; i < n; i++) {
		if (i)
			e = phi * e + normal(r);
		v[i] = level + scale * e;
	}
}

Test(stats_boot, deterministic_given_the_seed)
{
	double x[300], y[300];
	struct stats_rng r;
	stats_rng_seed(&r, 1);
	ar1(&r, x, 300, 0.6, 100, 10);
	ar1(&r, y, 300, 0.6, 110, 10);
	struct stats_ratio_ci a, b, c;
	cr_assert_eq(
	    stats_block_bootstrap_ratio(x, 300, y, 300, stats_median, 0, 500, 0.95, 42, &a), 0);
	cr_assert_eq(
	    stats_block_bootstrap_ratio(x, 300, y, 300, stats_median, 0, 500, 0.95, 42, &b), 0);
	cr_assert_eq(
	    stats_block_bootstrap_ratio(x, 300, y, 300, stats_median, 0, 500, 0.95, 43, &c), 0);
	cr_assert_eq(a.lo, b.lo);
	cr_assert_eq(a.hi, b.hi);
	cr_assert_eq(a.ratio, b.ratio);
	cr_assert(a.lo != c.lo || a.hi != c.hi, "another seed, other resamples");
	cr_assert_eq(a.ratio, c.ratio, "the point estimate does not depend on the seed");
	cr_assert_eq(a.block, 7, "ceil(300^(1/3)) = 7");
	cr_assert_eq(a.block_y, 7);
	cr_assert_eq(a.resamples, 500);
	cr_assert_eq(a.kept, 500);
	cr_assert(a.lo < a.ratio && a.ratio < a.hi);
}

Test(stats_boot, point_ratio_is_exact_and_input_untouched)
{
	double x[] = { 9, 1, 5, 3, 7 }, y[] = { 12, 2, 10, 6, 14, 4 };
	double x0[5], y0[6];
	memcpy(x0, x, sizeof(x));
	memcpy(y0, y, sizeof(y));
	struct stats_ratio_ci r;
	cr_assert_eq(stats_block_bootstrap_ratio(x, 5, y, 6, stats_median, 0, 200, 0.9, 1, &r), 0);
	cr_assert_eq(r.ratio, 8.0 / 5, "median 8 over median 5");
	cr_assert_eq(memcmp(x, x0, sizeof(x)), 0);
	cr_assert_eq(memcmp(y, y0, sizeof(y)), 0);
	cr_assert_eq(stats_block_bootstrap_ratio(x, 5, y, 6, stats_mean, 0, 200, 0.9, 1, &r), 0);
	cr_assert_eq(r.ratio, 8.0 / 5, "mean 8 over mean 5");
	cr_assert_eq(r.block, 2, "ceil(5^(1/3))");
	cr_assert_eq(r.block_y, 2);
	cr_assert_eq(stats_block_bootstrap_ratio(x, 5, y, 6, stats_mean, 9, 200, 0.9, 1, &r), 0);
	cr_assert_eq(r.block, 5, "cut to n");
	cr_assert_eq(r.block_y, 6);
}

Test(stats_boot, identical_series_contain_one)
{
	double x[240];
	struct stats_rng r;
	stats_rng_seed(&r, 2);
	ar1(&r, x, 240, 0.6, 50, 5);
	struct stats_ratio_ci ci;
	cr_assert_eq(
	    stats_block_bootstrap_ratio(x, 240, x, 240, stats_median, 0, 2000, 0.95, 3, &ci), 0);
	cr_assert_eq(ci.ratio, 1);
	cr_assert(ci.lo < 1 && 1 < ci.hi, "[%g, %g]", ci.lo, ci.hi);
}

Test(stats_boot, scaled_series_contain_the_scale_and_exclude_one)
{
	double x[600], y[600], noise[600];
	struct stats_rng r;
	stats_rng_seed(&r, 4);
	ar1(&r, x, 600, 0.6, 100, 10);
	ar1(&r, noise, 600, 0.6, 0, 3);
	for (int i = 0; i < 600; i++)
		y[i] = 1.3 * x[i] + noise[i];
	struct stats_ratio_ci ci;
	cr_assert_eq(
	    stats_block_bootstrap_ratio(x, 600, y, 600, stats_median, 0, 2000, 0.95, 5, &ci), 0);
	cr_assert(ci.lo < 1.3 && 1.3 < ci.hi, "[%g, %g]", ci.lo, ci.hi);
	cr_assert(ci.lo > 1, "[%g, %g]", ci.lo, ci.hi);
	cr_assert_eq(ci.block, 9, "ceil(600^(1/3)) = 9");
}

/*
 * Coverage of the true ratio (1.3: medians of 130 + 13 e and 100 + 10 e, e a stationary
 * AR(1) with phi = 0.6) by the 95% interval over 200 datasets of two independent series of
 * 200 values, the datasets and the resamples from fixed seeds (so the counts are fixed:
 * 184 of 200 with blocks, 160 with single values). Blocks of ceil(200^(1/3)) = 6 keep most
 * of the autocorrelation; resampling single values (the i.i.d. bootstrap) treats 200
 * correlated values as 200 independent ones, so its intervals are too narrow (with
 * phi = 0.6 the variance of a mean is (1 + phi) / (1 - phi) = 4 times the i.i.d. one).
 */
#define COV_SETS 200
#define COV_N    200
#define COV_B    500

static int coverage(int block)
{
	double x[COV_N], y[COV_N];
	int covered = 0;
	for (int k = 0; k < COV_SETS; k++) {
		struct stats_rng r;
		stats_rng_seed(&r, 1000 + k);
		ar1(&r, x, COV_N, 0.6, 100, 10);
		ar1(&r, y, COV_N, 0.6, 130, 13);
		struct stats_ratio_ci ci;
		cr_assert_eq(stats_block_bootstrap_ratio(x, COV_N, y, COV_N, stats_median, block,
		                                         COV_B, 0.95, 7000 + k, &ci),
		             0);
		covered += ci.lo <= 1.3 && 1.3 <= ci.hi;
	}
	return covered;
}

Test(stats_boot, coverage_blocks_against_iid, .timeout = 120)
{
	int blocks = coverage(0), iid = coverage(1);
	cr_log_info("coverage of 200 AR(1) datasets at 95%%: blocks %d, i.i.d. %d\n", blocks, iid);
	cr_assert(blocks >= 0.85 * COV_SETS && blocks <= 0.99 * COV_SETS, "blocks %d / 200",
	          blocks);
	cr_assert(iid < 0.85 * COV_SETS, "i.i.d. %d / 200", iid);
	cr_assert(iid <= blocks - 0.10 * COV_SETS, "i.i.d. %d, blocks %d", iid, blocks);
}

Test(stats_boot, mostly_zero_baseline)
{
	double x[] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 2 }, y[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	struct stats_ratio_ci ci;
	cr_assert_eq(stats_block_bootstrap_ratio(x, 10, y, 10, stats_median, 0, 500, 0.95, 1, &ci),
	             0);
	cr_assert(isnan(ci.ratio), "median of x is 0");
	cr_assert(ci.kept < 250, "kept %d", ci.kept);
	cr_assert(isnan(ci.lo) && isnan(ci.hi));
}

Test(stats_boot, bad_input)
{
	double x[] = { 1, 2, 3 }, y[] = { 4, 5, 6 }, bad[] = { 1, NAN, 3 };
	struct stats_ratio_ci r = { .ratio = -42 };
	cr_assert_eq(stats_block_bootstrap_ratio(NULL, 3, y, 3, stats_median, 0, 10, 0.9, 1, &r),
	             -EINVAL);
	cr_assert_eq(stats_block_bootstrap_ratio(x, 3, NULL, 3, stats_median, 0, 10, 0.9, 1, &r),
	             -EINVAL);
	cr_assert_eq(stats_block_bootstrap_ratio(x, 3, y, 3, NULL, 0, 10, 0.9, 1, &r), -EINVAL);
	cr_assert_eq(stats_block_bootstrap_ratio(x, 3, y, 3, stats_median, 0, 10, 0.9, 1, NULL),
	             -EINVAL);
	cr_assert_eq(stats_block_bootstrap_ratio(x, 1, y, 3, stats_median, 0, 10, 0.9, 1, &r),
	             -EINVAL);
	cr_assert_eq(
	    stats_block_bootstrap_ratio(x, 3, y, STATS_MAX_N + 1, stats_median, 0, 10, 0.9, 1, &r),
	    -EINVAL);
	cr_assert_eq(stats_block_bootstrap_ratio(x, 3, y, 3, stats_median, -1, 10, 0.9, 1, &r),
	             -EINVAL);
	cr_assert_eq(stats_block_bootstrap_ratio(x, 3, y, 3, stats_median, 0, 0, 0.9, 1, &r),
	             -EINVAL);
	cr_assert_eq(stats_block_bootstrap_ratio(x, 3, y, 3, stats_median, 0,
	                                         STATS_MAX_RESAMPLES + 1, 0.9, 1, &r),
	             -EINVAL);
	cr_assert_eq(stats_block_bootstrap_ratio(x, 3, y, 3, stats_median, 0, 10, 0, 1, &r),
	             -EINVAL);
	cr_assert_eq(stats_block_bootstrap_ratio(x, 3, y, 3, stats_median, 0, 10, 1, 1, &r),
	             -EINVAL);
	cr_assert_eq(stats_block_bootstrap_ratio(x, 3, y, 3, stats_median, 0, 10, NAN, 1, &r),
	             -EINVAL);
	cr_assert_eq(stats_block_bootstrap_ratio(bad, 3, y, 3, stats_median, 0, 10, 0.9, 1, &r),
	             -EINVAL);
	cr_assert_eq(r.ratio, -42, "*out untouched on failure");
}
