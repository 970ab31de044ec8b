/* test_changepoint.c: unit tests for the E-Divisive change point detector (changepoint.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "analysis/changepoint.h"
#include "analysis/stats.h"

/* The test series' noise: stats.h's generator, reseeded by noise_seed(). */
static struct stats_rng noise_rng;
static void noise_seed(uint64_t seed)
{
	stats_rng_seed(&noise_rng, seed);
}

static double uniform01(void)
{
	return (double)(stats_rng_next(&noise_rng) >> 11) / 9007199254740992.0;
}

/* level with uniform noise of +-3% */
static double noisy(double level)
{
	return level * (1 + 0.06 * (uniform01() - 0.5));
}

static const struct cp_opts defaults = {
	.alpha = 0.05, .permutations = 199, .min_size = 3, .exponent = 1, .seed = 1
};

/* Q^ by hand: X = {0, 0}, Y = {1, 1}: E^ = 2 * 4 / 4 - 0 - 0 = 2, Q^ = 2 * 2 / 4 * 2 = 2. */
Test(changepoint, hand_computed_statistic)
{
	double y[] = { 0, 0, 1, 1 };
	struct cp_opts o = defaults;
	o.alpha = 1; /* keep every split: only the statistic is under test */
	o.min_size = 2;
	struct cp_point pt[CP_MAX_POINTS];
	cr_assert_eq(cp_detect(y, 4, &o, pt), 1);
	cr_assert_eq(pt[0].index, 2);
	cr_assert_float_eq(pt[0].q, 2, 1e-12);
	cr_assert_float_eq(pt[0].before, 0, 1e-12);
	cr_assert_float_eq(pt[0].after, 1, 1e-12);
	/* exponent 0.5: every distance is 1 still */
	o.exponent = 0.5;
	cr_assert_eq(cp_detect(y, 4, &o, pt), 1);
	cr_assert_float_eq(pt[0].q, 2, 1e-12);
}

static void issue_series(uint64_t seed, double *y)
{
	noise_seed(seed);
	for (int i = 0; i < 12; i++)
		y[i] = noisy(i < 8 ? 100 : 125);
}

/* The issue's proof: 12 runs, p95 about 100 ms (+-3%) for runs 1-8 and 25% slower for runs
 * 9-12 give exactly one change point, at run 9 (index 8). */
Test(changepoint, issue_proof_twelve_runs)
{
	double y[12];
	issue_series(1, y);
	struct cp_point pt[CP_MAX_POINTS];
	cr_assert_eq(cp_detect(y, 12, &defaults, pt), 1);
	cr_assert_eq(pt[0].index, 8);
	cr_assert_lt(pt[0].p, 0.05);
	cr_assert_gt(pt[0].q, 0);
	/* the segments' medians, within the noise bound (+-3%) */
	cr_assert_float_eq(pt[0].before, 100, 3);
	cr_assert_float_eq(pt[0].after, 125, 125 * 0.03);
}

/* One stray run among the runs before (a stalled machine's p95, twice the rest) does not
 * move the level before the change, so the shift stays the step's. */
Test(changepoint, one_stray_run_does_not_move_the_shift)
{
	double y[12] = { 201, 210, 216, 220, 211, 440, 212, 205, 262, 261, 254, 266 };
	struct cp_point pt[CP_MAX_POINTS];
	int k = cp_detect(y, 12, &defaults, pt);
	cr_assert_geq(k, 1);
	const struct cp_point *c = &pt[k - 1];
	cr_assert_eq(c->index, 8);
	cr_assert_float_eq(c->before, 211.5, 1e-9, "%g", c->before); /* the median of runs 1-8 */
	cr_assert_float_eq(c->after, 261.5, 1e-9, "%g", c->after);
	cr_assert_gt(c->after / c->before - 1, 0.2, "a mean gave +9%%");
}

/* The same over 200 noise draws: run 9 is always found, with 199 permutations at the
 * smallest p (1/200); a second, spurious, split of runs 1-8 is the test's alpha at work
 * (12 in 200 draws here), so it is bounded, not forbidden. */
Test(changepoint, issue_proof_many_draws)
{
	int extra = 0;
	for (uint64_t seed = 1; seed <= 200; seed++) {
		double y[12];
		issue_series(seed, y);
		struct cp_point pt[CP_MAX_POINTS];
		int k = cp_detect(y, 12, &defaults, pt), at8 = -1;
		for (int i = 0; i < k; i++)
			if (pt[i].index == 8)
				at8 = i;
		cr_assert_geq(at8, 0, "noise seed %llu: run 9 not found", (unsigned long long)seed);
		cr_assert_float_eq(pt[at8].p, 1.0 / 200, 1e-12);
		cr_assert_float_eq(pt[at8].after, 125, 125 * 0.03); /* the noise bound */
		extra += k - 1;
	}
	cr_log_info("issue proof: %d spurious change points in 200 draws", extra);
	cr_assert_leq(extra, 20, "%d spurious change points in 200 draws", extra);
}

/* Same y, options and seed: the same answer; the other exponents find the same change. */
Test(changepoint, reproducible_and_exponents)
{
	double y[12];
	issue_series(7, y);
	struct cp_point a[CP_MAX_POINTS], b[CP_MAX_POINTS];
	cr_assert_eq(cp_detect(y, 12, &defaults, a), 1);
	cr_assert_eq(cp_detect(y, 12, &defaults, b), 1);
	cr_assert_eq(a[0].index, b[0].index);
	cr_assert_eq(a[0].q, b[0].q);
	cr_assert_eq(a[0].p, b[0].p);
	double exps[] = { 0.5, 1.5 };
	for (int i = 0; i < 2; i++) {
		struct cp_opts o = defaults;
		o.exponent = exps[i];
		cr_assert_eq(cp_detect(y, 12, &o, b), 1, "exponent %g", exps[i]);
		cr_assert_eq(b[0].index, 8);
		cr_assert_lt(b[0].p, 0.05);
	}
}

/* Flat noisy series: at alpha 0.05 the false positives of 50 seeded series of each length
 * stay within 10% (5 of 50). */
Test(changepoint, flat_series_false_positive_rate)
{
	int lens[] = { 12, 30, 100 };
	for (int l = 0; l < 3; l++) {
		int n = lens[l], fp = 0;
		for (uint64_t seed = 1; seed <= 50; seed++) {
			double y[100];
			noise_seed(1000 * (uint64_t)n + seed);
			for (int i = 0; i < n; i++)
				y[i] = noisy(100);
			struct cp_opts o = defaults;
			o.seed = seed;
			struct cp_point pt[CP_MAX_POINTS];
			int k = cp_detect(y, n, &o, pt);
			cr_assert_geq(k, 0);
			fp += k > 0;
		}
		cr_log_info("flat n=%d: %d of 50 with a change point", n, fp);
		cr_assert_leq(fp, 5, "n=%d: %d false positives of 50", n, fp);
	}
}

/* A constant series has no change (every Q^ is 0, every permutation ties). */
Test(changepoint, constant_series)
{
	double y[20];
	for (int i = 0; i < 20; i++)
		y[i] = 42;
	struct cp_point pt[CP_MAX_POINTS];
	cr_assert_eq(cp_detect(y, 20, &defaults, pt), 0);
}

/* Two changes, 100 -> 130 -> 90 in segments of 15: both found, within one run. */
Test(changepoint, two_changes)
{
	for (uint64_t seed = 1; seed <= 10; seed++) {
		double y[45];
		noise_seed(seed);
		for (int i = 0; i < 45; i++)
			y[i] = noisy(i < 15 ? 100 : i < 30 ? 130 : 90);
		struct cp_opts o = defaults;
		o.seed = seed;
		struct cp_point pt[CP_MAX_POINTS];
		int k = cp_detect(y, 45, &o, pt);
		cr_assert_eq(k, 2, "noise seed %llu: %d change points", (unsigned long long)seed,
		             k);
		cr_assert(abs(pt[0].index - 15) <= 1, "first at %d", pt[0].index);
		cr_assert(abs(pt[1].index - 30) <= 1, "second at %d", pt[1].index);
		cr_assert_lt(pt[0].p, 0.05);
		cr_assert_lt(pt[1].p, 0.05);
		cr_assert_float_eq(pt[0].before, 100, 3);
		cr_assert_float_eq(pt[0].after, 130, 3);
		cr_assert_float_eq(pt[1].before, 130, 3);
		cr_assert_float_eq(pt[1].after, 90, 3);
	}
}

/* A slow creep, +30% linearly over 30 runs (+1% a run, under the +-3% noise): no pair of
 * neighbouring runs differs much, but the level does. E-Divisive cuts a linear creep into
 * steps: with these ten draws it reports two to five change points (the first between
 * runs 4 and 12), each segment's mean above the one before. */
Test(changepoint, slow_linear_creep)
{
	for (uint64_t seed = 1; seed <= 10; seed++) {
		double y[30];
		noise_seed(seed);
		for (int i = 0; i < 30; i++)
			y[i] = noisy(100 * (1 + 0.3 * i / 29));
		struct cp_opts o = defaults;
		o.seed = seed;
		struct cp_point pt[CP_MAX_POINTS];
		int k = cp_detect(y, 30, &o, pt);
		cr_log_info("creep seed %llu: %d change points, first at %d",
		            (unsigned long long)seed, k, k > 0 ? pt[0].index : -1);
		cr_assert_geq(k, 1, "noise seed %llu: the creep went unreported",
		              (unsigned long long)seed);
		for (int i = 0; i < k; i++) {
			cr_assert_lt(pt[i].p, 0.05);
			cr_assert_gt(pt[i].after, pt[i].before, "a creep upwards steps upwards");
		}
	}
}

/* One slow run in a flat series (in the middle, or the latest run) is no change point:
 * min_size keeps a segment from being that run alone. */
Test(changepoint, single_outlier_is_not_a_change)
{
	int where[] = { 15, 29 };
	for (int w = 0; w < 2; w++)
		for (uint64_t seed = 1; seed <= 10; seed++) {
			double y[30];
			noise_seed(500 + seed);
			for (int i = 0; i < 30; i++)
				y[i] = noisy(100);
			y[where[w]] = 200;
			struct cp_opts o = defaults;
			o.seed = seed;
			struct cp_point pt[CP_MAX_POINTS];
			int k = cp_detect(y, 30, &o, pt);
			cr_assert_eq(
			    k, 0, "outlier at %d, seed %llu: %d change points (first at %d)",
			    where[w], (unsigned long long)seed, k, k > 0 ? pt[0].index : -1);
		}
}

/* min_size holds between change points and at both ends. */
Test(changepoint, min_size_respected)
{
	double y[40];
	noise_seed(3);
	for (int i = 0; i < 40; i++)
		y[i] = noisy(i < 2 ? 300 : i < 20 ? 100 : 150);
	struct cp_opts o = defaults;
	o.min_size = 5;
	struct cp_point pt[CP_MAX_POINTS];
	int k = cp_detect(y, 40, &o, pt);
	cr_assert_geq(k, 1);
	int prev = 0;
	for (int i = 0; i < k; i++) {
		cr_assert_geq(pt[i].index - prev, 5);
		prev = pt[i].index;
	}
	cr_assert_geq(40 - prev, 5);
}

/* alpha 1 keeps every split: the count stops at CP_MAX_POINTS. */
Test(changepoint, at_most_max_points)
{
	static double y[CP_MAX_N];
	noise_seed(11);
	for (int i = 0; i < CP_MAX_N; i++)
		y[i] = uniform01();
	struct cp_opts o = defaults;
	o.alpha = 1;
	o.permutations = 1;
	o.min_size = 2;
	static struct cp_point pt[CP_MAX_POINTS];
	cr_assert_eq(cp_detect(y, CP_MAX_N, &o, pt), CP_MAX_POINTS);
	for (int i = 1; i < CP_MAX_POINTS; i++)
		cr_assert_gt(pt[i].index, pt[i - 1].index);
}

Test(changepoint, bad_input)
{
	double y[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	struct cp_point pt[CP_MAX_POINTS];
	struct cp_opts o = defaults;
	cr_assert_eq(cp_detect(NULL, 12, &o, pt), -EINVAL);
	cr_assert_eq(cp_detect(y, 12, NULL, pt), -EINVAL);
	cr_assert_eq(cp_detect(y, 12, &o, NULL), -EINVAL);
	cr_assert_eq(cp_detect(y, 5, &o, pt), -EINVAL, "n < 2 * min_size");
	cr_assert_eq(cp_detect(y, -1, &o, pt), -EINVAL);
	cr_assert_eq(cp_detect(y, CP_MAX_N + 1, &o, pt), -EINVAL);
	struct cp_opts bad[] = {
		{ .alpha = 0, .permutations = 199, .min_size = 3, .exponent = 1 },
		{ .alpha = 1.5, .permutations = 199, .min_size = 3, .exponent = 1 },
		{ .alpha = NAN, .permutations = 199, .min_size = 3, .exponent = 1 },
		{ .alpha = 0.05, .permutations = 0, .min_size = 3, .exponent = 1 },
		{ .alpha = 0.05,
		  .permutations = CP_MAX_PERMUTATIONS + 1,
		  .min_size = 3,
		  .exponent = 1 },
		{ .alpha = 0.05, .permutations = 199, .min_size = 1, .exponent = 1 },
		{ .alpha = 0.05, .permutations = 199, .min_size = 3, .exponent = 0 },
		{ .alpha = 0.05, .permutations = 199, .min_size = 3, .exponent = 2 },
		{ .alpha = 0.05, .permutations = 199, .min_size = 3, .exponent = NAN },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(cp_detect(y, 12, &bad[i], pt), -EINVAL, "options %zu", i);
	y[3] = NAN;
	cr_assert_eq(cp_detect(y, 12, &o, pt), -EINVAL);
	y[3] = INFINITY;
	cr_assert_eq(cp_detect(y, 12, &o, pt), -EINVAL);
	y[3] = 1e308;
	y[4] = -1e308; /* finite values whose distance overflows */
	cr_assert_eq(cp_detect(y, 12, &o, pt), -EINVAL);
}
