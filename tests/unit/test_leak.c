/* test_leak.c: the leak detector (analysis/leak.h) on synthetic series: linear leaks are
 * found with their slope; flat, noisy, autocorrelated and sawtooth (garbage-collected)
 * series are not reported, in 20 seeded runs each. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

#include "analysis/leak.h"

#define N 120 /* two minutes of one-second readings */

static uint64_t rng;

static double uniform(void) /* xorshift64*: (0, 1) */
{
	rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
	return ((double)((rng * 2685821657736338717ull) >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(void)
{
	return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
}

static void times(double *t)
{
	for (int i = 0; i < N; i++)
		t[i] = i;
}

static void judge(const double *y, struct leak_verdict *v)
{
	double t[N];
	times(t);
	leak_judge(t, y, N, 1, 12, N, 1 << 20, 0.02, v);
}

Test(leak, finds_a_linear_leak_and_its_slope)
{
	double y[N];
	struct leak_verdict v;
	for (int seed = 1; seed <= 20; seed++) {
		rng = 0x9e3779b97f4a7c15ull * (uint64_t)seed;
		for (int i = 0; i < N; i++) /* 100 MB + 200 kB/s, noise of 300 kB */
			y[i] = 100e6 + 200e3 * i + 300e3 * gauss();
		judge(y, &v);
		cr_assert(v.judged);
		cr_assert(v.leaking, "seed %d: p=%g slope %g", seed, v.p, v.per_s);
		cr_assert(fabs(v.per_s - 200e3) < 0.2 * 200e3, "seed %d: slope %g", seed, v.per_s);
		cr_assert(v.per_s_lo <= 200e3 * 1.05 && v.per_s_hi >= 200e3 * 0.95);
	}
}

Test(leak, flat_and_noisy_series_do_not_leak)
{
	double y[N];
	struct leak_verdict v;
	for (int seed = 1; seed <= 20; seed++) {
		rng = 0x51ed270b1u * (uint64_t)seed + 7;
		for (int i = 0; i < N; i++)
			y[i] = 50e6 + 2e6 * gauss();
		judge(y, &v);
		cr_assert(v.judged);
		cr_assert_not(v.leaking, "seed %d: white noise reported as a leak", seed);
		/* AR(1), phi = 0.5: autocorrelated readings, the case the Hamed-Rao correction
		 * is for (a level that wanders for most of the window, phi >= 0.6 here, can still
		 * read as a leak in about 1% of runs: docs/monitoring.md, "Leaks") */
		double e = 0;
		for (int i = 0; i < N; i++) {
			e = 0.5 * e + 1e6 * gauss();
			y[i] = 50e6 + e;
		}
		judge(y, &v);
		cr_assert_not(v.leaking, "seed %d: AR(1) noise reported as a leak", seed);
		for (int i = 0; i < N; i++) /* exactly flat */
			y[i] = 50e6;
		judge(y, &v);
		cr_assert_not(v.leaking);
		cr_assert_eq(v.per_s, 0);
	}
}

Test(leak, a_garbage_collected_sawtooth_does_not_leak)
{
	double y[N];
	struct leak_verdict v;
	for (int seed = 1; seed <= 20; seed++) {
		rng = 0xabcdefull * (uint64_t)seed + 3;
		/* allocations pile up for 5 to 15 s, then a collection returns to the floor */
		double period = 5 + 10 * uniform(), phase = period * uniform();
		for (int i = 0; i < N; i++) {
			double since = fmod(i + phase, period);
			y[i] = 80e6 + 3e6 * since + 200e3 * gauss();
		}
		judge(y, &v);
		cr_assert(v.judged);
		cr_assert_not(v.leaking, "seed %d: sawtooth (period %.1f s) reported as a leak",
		              seed, period);
	}
}

Test(leak, a_sawtooth_over_a_leak_is_a_leak)
{
	double y[N];
	struct leak_verdict v;
	rng = 12345;
	for (int i = 0; i < N; i++) /* the floor itself rises 100 kB/s */
		y[i] = 80e6 + 100e3 * i + 3e6 * fmod(i, 7.0) + 100e3 * gauss();
	judge(y, &v);
	cr_assert(v.leaking, "p=%g slope %g", v.p, v.per_s);
	cr_assert(fabs(v.per_s - 100e3) < 0.25 * 100e3, "slope %g", v.per_s);
}

Test(leak, small_or_short_growth_is_not_a_leak)
{
	double y[N];
	struct leak_verdict v;
	for (int i = 0; i < N; i++) /* significant but tiny: 1 kB/s on 50 MB (a cache filling) */
		y[i] = 50e6 + 1e3 * i;
	judge(y, &v);
	cr_assert(v.judged && v.significant);
	cr_assert_not(v.material);
	cr_assert_not(v.leaking);
	double t[N];
	times(t);
	leak_judge(t, y, N, 1, 0, 15, 1 << 20, 0.02, &v); /* 15 s: too short to judge */
	cr_assert_not(v.judged);
	cr_assert_not_null(v.why);
}
