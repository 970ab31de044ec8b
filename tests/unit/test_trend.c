/* test_trend.c: unit tests for the Mann–Kendall test, Hamed–Rao correction and Sen's slope. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/trend.h"
#include "util/common.h"

static void index_times(double *x, int n)
{
	for (int i = 0; i < n; i++)
		x[i] = i + 1;
}

/* A small deterministic generator (SplitMix64) so the tests need no libc RNG state. */
static uint64_t mix_state;
static double uniform01(void)
{
	uint64_t z = (mix_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}

/* The worked example "A Mann-Kendall Example (by hand)", Holy Cross (Little, Montserrat
 * course notes): 14 values, one pair of ties, S = 54, V = (14)(13)(33)/18 - (2)(1)(9)/18,
 * Z = (S - 1)/sqrt(V) = 2.9058 (one-sided p about .0018). */
Test(trend, published_worked_example)
{
	double y[] = { 12.9, 14.8, 13.2, 15.7, 13.8, 15.6, 12.9,
		       11.0, 17.3, 15.9, 19.0, 18.3, 20.1, 21.7 };
	double x[14];
	index_times(x, 14);
	struct trend_result r;
	cr_assert_eq(trend_test(x, y, 14, 0.05, TREND_CORR_NONE, &r), 0);
	cr_assert_eq(r.n, 14);
	cr_assert_eq(r.s, 54);
	cr_assert_float_eq(r.var_s, 14.0 * 13 * 33 / 18 - 2.0 * 1 * 9 / 18, 1e-9);
	cr_assert_float_eq(r.z, 2.9058, 5e-5);
	cr_assert_float_eq(r.p / 2, 0.0018, 1e-4);
	cr_assert_eq(r.direction, 1);
	cr_assert_eq(r.var_factor, 1);
	cr_assert(r.slope_lo <= r.slope && r.slope <= r.slope_hi);
	cr_assert(r.slope_lo > 0, "a significant rise has a positive interval");
}

/* Four points worked by hand: slopes -1, 0.5, 1, 4/3, 2, 3. */
Test(trend, hand_computed_small)
{
	double x[] = { 1, 2, 3, 4 }, y[] = { 1, 3, 2, 5 };
	struct trend_result r;
	cr_assert_eq(trend_test(x, y, 4, 0.05, TREND_CORR_NONE, &r), 0);
	cr_assert_eq(r.s, 4);
	cr_assert_float_eq(r.var_s, 4.0 * 3 * 13 / 18, 1e-12);
	cr_assert_float_eq(r.z, 3 / sqrt(4.0 * 3 * 13 / 18), 1e-12);
	cr_assert_float_eq(r.tau, 4.0 / 6, 1e-12);
	cr_assert_float_eq(r.slope, (1 + 4.0 / 3) / 2, 1e-12);
	cr_assert_eq(r.direction, 0, "n = 4 cannot reach 5%%");
	/* C = 1.96 * sqrt(8.667) = 5.77: ranks round(0.11) = 0 -> clamped to the 1st, and
	 * round(5.89) + 1 = 7 -> clamped to the 6th. */
	cr_assert_eq(r.slope_lo, -1);
	cr_assert_eq(r.slope_hi, 3);
	/* y - slope*x = -0.1667, 0.6667, -1.5, 0.3333: median 0.0833. */
	cr_assert_float_eq(r.intercept, (-1.0 / 6 + 1.0 / 3) / 2, 1e-12);
}

Test(trend, ties_in_y)
{
	double x[] = { 1, 2, 3, 4, 5, 6 }, y[] = { 1, 1, 2, 2, 2, 3 };
	struct trend_result r;
	cr_assert_eq(trend_test(x, y, 6, 0.05, TREND_CORR_NONE, &r), 0);
	cr_assert_eq(r.s, 11);
	/* [6*5*17 - 2*1*9 - 3*2*11] / 18 */
	cr_assert_float_eq(r.var_s, (510.0 - 18 - 66) / 18, 1e-12);
	cr_assert_float_eq(r.tau, 11 / sqrt(15.0 * (15 - 4)), 1e-12);
	cr_assert_float_eq(r.z, 10 / sqrt(426.0 / 18), 1e-12);
}

Test(trend, constant_series_is_stable)
{
	double x[50], y[50];
	index_times(x, 50);
	for (int i = 0; i < 50; i++)
		y[i] = 7.5;
	for (int c = 0; c < 2; c++) {
		struct trend_result r;
		cr_assert_eq(
		    trend_test(x, y, 50, 0.05, c ? TREND_CORR_HAMED_RAO : TREND_CORR_NONE, &r), 0);
		cr_assert_eq(r.s, 0);
		cr_assert_eq(r.var_s, 0);
		cr_assert_eq(r.z, 0);
		cr_assert_eq(r.p, 1);
		cr_assert_eq(r.tau, 0);
		cr_assert_eq(r.direction, 0);
		cr_assert_eq(r.var_factor, 1);
		cr_assert_eq(r.slope, 0);
		cr_assert_eq(r.slope_lo, 0);
		cr_assert_eq(r.slope_hi, 0);
		cr_assert_eq(r.intercept, 7.5);
		char buf[128];
		trend_describe(&r, "ms", TREND_PER_HOUR, buf, sizeof(buf));
		cr_assert_str_eq(buf, "stable (no trend at the 5% level, p=1)");
	}
}

Test(trend, bad_input_is_refused_and_out_untouched)
{
	double x[8], y[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	index_times(x, 8);
	struct trend_result r, before;
	memset(&r, 0xa5, sizeof(r));
	before = r;
	cr_assert_eq(trend_test(x, y, 3, 0.05, TREND_CORR_NONE, &r), -EINVAL);
	cr_assert_eq(trend_test(x, y, 0, 0.05, TREND_CORR_NONE, &r), -EINVAL);
	cr_assert_eq(trend_test(x, y, TREND_MAX_N + 1, 0.05, TREND_CORR_NONE, &r), -EINVAL);
	cr_assert_eq(trend_test(NULL, y, 8, 0.05, TREND_CORR_NONE, &r), -EINVAL);
	cr_assert_eq(trend_test(x, NULL, 8, 0.05, TREND_CORR_NONE, &r), -EINVAL);
	cr_assert_eq(trend_test(x, y, 8, 0.05, TREND_CORR_NONE, NULL), -EINVAL);
	cr_assert_eq(trend_test(x, y, 8, 0, TREND_CORR_NONE, &r), -EINVAL);
	cr_assert_eq(trend_test(x, y, 8, 0.6, TREND_CORR_NONE, &r), -EINVAL);
	cr_assert_eq(trend_test(x, y, 8, NAN, TREND_CORR_NONE, &r), -EINVAL);
	cr_assert_eq(trend_test(x, y, 8, 0.05, (enum trend_corr)7, &r), -EINVAL);
	y[3] = NAN;
	cr_assert_eq(trend_test(x, y, 8, 0.05, TREND_CORR_HAMED_RAO, &r), -EINVAL);
	y[3] = INFINITY;
	cr_assert_eq(trend_test(x, y, 8, 0.05, TREND_CORR_NONE, &r), -EINVAL);
	y[3] = 4;
	x[5] = NAN;
	cr_assert_eq(trend_test(x, y, 8, 0.05, TREND_CORR_NONE, &r), -EINVAL);
	x[5] = x[4]; /* not strictly increasing */
	cr_assert_eq(trend_test(x, y, 8, 0.05, TREND_CORR_NONE, &r), -EINVAL);
	x[5] = 2; /* decreasing */
	cr_assert_eq(trend_test(x, y, 8, 0.05, TREND_CORR_NONE, &r), -EINVAL);
	index_times(x, 8);
	y[0] = -1e308, y[7] = 1e308; /* finite values whose span overflows */
	cr_assert_eq(trend_test(x, y, 8, 0.05, TREND_CORR_NONE, &r), -EINVAL);
	cr_assert_eq(memcmp(&r, &before, sizeof(r)), 0, "out untouched on error");
}

/* Unevenly spaced times: the slope is per unit of x, not per sample. */
Test(trend, uneven_times_exact_line)
{
	double x[] = { 0, 1, 5, 6, 30, 31, 100, 250, 251, 600 }, y[10];
	for (int i = 0; i < 10; i++)
		y[i] = 2.5 * x[i] + 1;
	struct trend_result r;
	cr_assert_eq(trend_test(x, y, 10, 0.05, TREND_CORR_HAMED_RAO, &r), 0);
	cr_assert_eq(r.s, 45);
	cr_assert_float_eq(r.tau, 1, 1e-12);
	cr_assert_eq(r.direction, 1);
	cr_assert_float_eq(r.slope, 2.5, 1e-12);
	cr_assert_float_eq(r.slope_lo, 2.5, 1e-12);
	cr_assert_float_eq(r.slope_hi, 2.5, 1e-12);
	cr_assert_float_eq(r.intercept, 1, 1e-9);
}

Test(trend, uneven_times_differ_from_index)
{
	/* y rises by 1 per point, but the points crowd at the end: per second the typical
	 * pairwise slope is far above 1/10 (the slope against evenly spaced samples). */
	double x[] = { 0, 10, 20, 30, 40, 41, 42, 43, 44, 45 }, y[10];
	for (int i = 0; i < 10; i++)
		y[i] = i;
	struct trend_result r;
	cr_assert_eq(trend_test(x, y, 10, 0.05, TREND_CORR_NONE, &r), 0);
	cr_assert_eq(r.direction, 1);
	cr_assert_gt(r.slope, 0.1);
	cr_assert_leq(r.slope, 1);
}

Test(trend, falling_series)
{
	double x[40], y[40];
	index_times(x, 40);
	mix_state = 3;
	for (int i = 0; i < 40; i++)
		y[i] = 100 - 0.5 * i + uniform01();
	struct trend_result r;
	cr_assert_eq(trend_test(x, y, 40, 0.05, TREND_CORR_HAMED_RAO, &r), 0);
	cr_assert_eq(r.direction, -1);
	cr_assert_lt(r.s, 0);
	cr_assert_lt(r.z, 0);
	cr_assert_lt(r.p, 1e-6);
	cr_assert_float_eq(r.slope, -0.5, 0.05);
	cr_assert(r.slope_lo <= r.slope && r.slope <= r.slope_hi && r.slope_hi < 0);
}

/* The interval holds the slope; Hamed–Rao only ever widens it (its factor is >= 1). */
Test(trend, ci_contains_slope)
{
	double x[200], y[200];
	mix_state = 42;
	for (int rep = 0; rep < 30; rep++) {
		int n = 4 + rep * 6;
		double t = 0, e = 0;
		for (int i = 0; i < n; i++) {
			t += 1 + 9 * uniform01();
			e = 0.7 * e + uniform01() - 0.5; /* AR(1) noise */
			x[i] = t;
			y[i] = (rep % 3) * 0.01 * t + e;
		}
		struct trend_result a, b;
		cr_assert_eq(trend_test(x, y, n, 0.05, TREND_CORR_NONE, &a), 0);
		cr_assert_eq(trend_test(x, y, n, 0.05, TREND_CORR_HAMED_RAO, &b), 0);
		cr_assert(a.slope_lo <= a.slope && a.slope <= a.slope_hi, "rep %d", rep);
		cr_assert(b.slope_lo <= b.slope && b.slope <= b.slope_hi, "rep %d", rep);
		cr_assert_eq(a.slope, b.slope);
		cr_assert_geq(b.var_factor, 1);
		cr_assert(b.slope_lo <= a.slope_lo && a.slope_hi <= b.slope_hi, "rep %d", rep);
		cr_assert_eq(a.s, b.s);
		cr_assert_leq(fabs(b.z), fabs(a.z));
	}
}

/* A slow oscillation around a weak rise is strongly autocorrelated: Hamed–Rao inflates
 * Var(S) and takes back the significance plain Mann–Kendall claims. */
Test(trend, hamed_rao_corrects_autocorrelation)
{
	double x[120], y[120];
	index_times(x, 120);
	for (int i = 0; i < 120; i++)
		y[i] = 0.01 * i + sin(i / 6.0);
	struct trend_result a, b;
	cr_assert_eq(trend_test(x, y, 120, 0.05, TREND_CORR_NONE, &a), 0);
	cr_assert_eq(trend_test(x, y, 120, 0.05, TREND_CORR_HAMED_RAO, &b), 0);
	cr_assert_gt(b.var_factor, 2, "factor %g", b.var_factor);
	cr_assert_float_eq(b.var_s, a.var_s * b.var_factor, 1e-6 * b.var_s);
	cr_assert_lt(fabs(b.z), fabs(a.z));
	cr_assert_gt(b.p, a.p);
}

/* Past 2^21 pairs the order statistics are selected by streaming radix passes: they must
 * equal those of a full sort. */
Test(trend, streaming_selection_matches_full_sort, .timeout = 60)
{
	enum { N = 2300 };
	static double x[N], y[N];
	size_t np = (size_t)N * (N - 1) / 2;
	double *s = malloc(np * sizeof(*s));
	cr_assert_not_null(s);
	mix_state = 7;
	double t = 0;
	for (int i = 0; i < N; i++) {
		t += 0.5 + uniform01();
		x[i] = t;
		y[i] = 1e-3 * t + floor(uniform01() * 50) / 10; /* many tied y and slopes */
	}
	size_t k = 0;
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			s[k++] = (y[j] - y[i]) / (x[j] - x[i]) + 0.0;
	qsort(s, np, sizeof(*s), cmp_double);
	struct trend_result r;
	cr_assert_eq(trend_test(x, y, N, 0.05, TREND_CORR_NONE, &r), 0);
	cr_assert_eq(r.slope, (s[np / 2 - 1] + s[np / 2]) / 2); /* np is even */
	double c = 1.959963984540054 * sqrt(r.var_s);
	size_t lo = (size_t)nearbyint((np - c) / 2) - 1, hi = (size_t)nearbyint((np + c) / 2);
	cr_assert_eq(r.slope_lo, s[lo]);
	cr_assert_eq(r.slope_hi, s[hi]);
	free(s);
}

Test(trend, normal_quantile)
{
	cr_assert_float_eq(trend_norm_ppf(0.975), 1.959963984540054, 1e-14);
	cr_assert_float_eq(trend_norm_ppf(0.025), -1.959963984540054, 1e-14);
	cr_assert_float_eq(trend_norm_ppf(0.5), 0, 1e-15);
	cr_assert_float_eq(trend_norm_ppf(0.995), 2.5758293035489004, 1e-14);
	cr_assert_float_eq(trend_norm_ppf(1e-10), -6.361340902404056, 1e-12);
	cr_assert(isnan(trend_norm_ppf(0)));
	cr_assert(isnan(trend_norm_ppf(1)));
	cr_assert(isnan(trend_norm_ppf(NAN)));
}

Test(trend, describe)
{
	struct trend_result r = { .n = 60,
		                  .alpha = 0.05,
		                  .direction = 1,
		                  .p = 1e-5,
		                  .slope = 0.5 / 1000,
		                  .slope_lo = 1.2 / 3600,
		                  .slope_hi = 2.4 / 3600 };
	char buf[128];
	r.slope = 1.8 / 3600;
	int len = trend_describe(&r, "ms", TREND_PER_HOUR, buf, sizeof(buf));
	cr_assert_str_eq(buf, "rises 1.80 ms per hour (95% CI 1.20\u20132.40)");
	cr_assert_eq(len, (int)strlen(buf));
	r.direction = -1;
	r.slope = -10000, r.slope_lo = -12000, r.slope_hi = -8000;
	trend_describe(&r, "bytes", TREND_PER_SECOND, buf, sizeof(buf));
	cr_assert_str_eq(buf, "falls 10000 bytes per second (95% CI 8000\u201312000)");
	r.direction = 0, r.p = 0.4133;
	trend_describe(&r, "ms", TREND_PER_MINUTE, buf, sizeof(buf));
	cr_assert_str_eq(buf, "stable (no trend at the 5% level, p=0.41)");
	r.direction = 1, r.alpha = 0.01, r.slope = 0.25, r.slope_lo = 0.125, r.slope_hi = 0.5;
	trend_describe(&r, "", TREND_PER_MINUTE, buf, sizeof(buf));
	cr_assert_str_eq(buf, "rises 15.0 per minute (99% CI 7.50\u201330.0)");
	trend_describe(&r, "", TREND_PER_MINUTE, buf, 6);
	cr_assert_str_eq(buf, "rises");
	cr_assert_eq(trend_describe(NULL, "", TREND_PER_MINUTE, buf, sizeof(buf)), -EINVAL);
	cr_assert_eq(trend_describe(&r, NULL, TREND_PER_MINUTE, buf, sizeof(buf)), -EINVAL);
	cr_assert_eq(trend_describe(&r, "", (enum trend_per)7, buf, sizeof(buf)), -EINVAL);
}
