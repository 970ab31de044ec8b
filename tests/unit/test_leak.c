/* test_leak.c: the leak detector (analysis/leak.h) on synthetic series: linear leaks are
 * found with their slope; flat, noisy, autocorrelated and sawtooth (garbage-collected)
 * series are not reported, in 20 seeded runs each; each verdict's sentence gives the reason
 * that decided it, with its figures, sizes in binary units. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

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

/* --- the sentences: each gives the reason that decided, from the same test ----------- */

#define WHAT "the target's memory (RSS)"

static const char *sentence(const struct leak_verdict *v, double per_req, double limit,
                            double to_limit)
{
	static char s[512];
	return leak_sentence(v, WHAT, true, per_req, limit, to_limit, s, sizeof(s));
}

/* The reason and the flags come from the same tests: leaking iff the reason is LEAK_LEAKS,
 * and the reason is the first test failed. */
static void consistent(const struct leak_verdict *v)
{
	cr_assert(v->judged);
	cr_assert_eq(v->leaking, v->reason == LEAK_LEAKS);
	cr_assert_eq(v->leaking, v->significant && v->material && v->persistent);
	if (v->reason == LEAK_NOT_SIGNIFICANT)
		cr_assert_not(v->significant);
	if (v->reason == LEAK_BELOW_FLOOR || v->reason == LEAK_IN_NOISE)
		cr_assert(v->significant && !v->material);
	if (v->reason == LEAK_NOT_PERSISTENT)
		cr_assert(v->significant && v->material && !v->persistent);
}

/* 50 MB + 40 kB/s with seeded noise of `sd`: the same rise, judged against more noise. */
static void rise_in_noise(double sd, struct leak_verdict *v)
{
	double y[N];
	rng = 4242;
	for (int i = 0; i < N; i++)
		y[i] = 50e6 + 40e3 * i + sd * gauss();
	judge(y, v);
	consistent(v);
}

Test(leak_sentence, a_leak_gives_its_rate_per_request_and_time_to_the_limit)
{
	double y[N];
	struct leak_verdict v;
	rng = 12345;
	for (int i = 0; i < N; i++)
		y[i] = 100e6 + 200e3 * i + 300e3 * gauss();
	judge(y, &v);
	consistent(&v);
	cr_assert_eq(v.reason, LEAK_LEAKS);
	const char *s = sentence(&v, 10016, 512.0 * 1024 * 1024, 180);
	cr_assert(strstr(s, WHAT " leaks: it grows 196 KiB/s (95% CI 193 KiB/s to 198 KiB/s)"),
	          "%s", s);
	cr_assert(strstr(s, ", 9.78 KiB per request"), "%s", s);
	cr_assert(strstr(s, "; at this rate it reaches its 512 MiB limit in 3 min"), "%s", s);
	cr_assert(strstr(s, "(from 12 s to 120 s, after the warm-up)"), "%s", s);
	char small[40]; /* a short buffer: cut, terminated */
	leak_sentence(&v, WHAT, true, 10016, 512.0 * 1024 * 1024, 180, small, sizeof(small));
	cr_assert_eq(strlen(small), sizeof(small) - 1);
	cr_assert(strncmp(small, WHAT " leaks", 13) == 0, "%s", small);
	s = sentence(&v, 10016, 2, 0); /* a limit already passed: no "in 0 s" */
	cr_assert(strstr(s, "; it is already above its 2 B limit"), "%s", s);
	cr_assert_null(strstr(s, "reaches"), "%s", s);
	s = sentence(&v, NAN, NAN, NAN); /* no request rate, no limit */
	cr_assert_null(strstr(s, "per request"), "%s", s);
	cr_assert_null(strstr(s, "limit"), "%s", s);
}

Test(leak_sentence, no_trend_says_so_with_p)
{
	double y[N];
	struct leak_verdict v;
	rng = 777;
	for (int i = 0; i < N; i++)
		y[i] = 50e6 + 2e6 * gauss();
	judge(y, &v);
	consistent(&v);
	cr_assert_eq(v.reason, LEAK_NOT_SIGNIFICANT);
	cr_assert_str_eq(sentence(&v, NAN, NAN, NAN),
	                 WHAT ": no leak (no upward trend from 12 s to 120 s, p=0.5)");
}

Test(leak_sentence, a_rise_whose_interval_holds_zero_says_so)
{
	/* the test says rising but Sen's interval reaches 0: not significant either */
	struct leak_verdict v;
	memset(&v, 0, sizeof(v));
	v.judged = true, v.reason = LEAK_NOT_SIGNIFICANT, v.rising = true, v.p = 0.04;
	v.from_s = 10, v.to_s = 60, v.per_s = 2048, v.per_s_lo = -1024, v.per_s_hi = 5120;
	cr_assert_str_eq(sentence(&v, NAN, NAN, NAN),
	                 WHAT ": no leak (the test says rising from 10 s to 60 s, p=0.04, but the "
	                      "slope's 95% CI, -1.00 KiB to 5.00 KiB/s, includes 0)");
}

Test(leak_sentence, a_small_rise_is_below_the_floor_with_the_floor_given)
{
	double y[N];
	struct leak_verdict v;
	for (int i = 0; i < N; i++) /* 1 kB/s on 50 MB: 108 kB over the window */
		y[i] = 50e6 + 1e3 * i;
	judge(y, &v);
	consistent(&v);
	cr_assert_eq(v.reason, LEAK_BELOW_FLOOR);
	cr_assert_str_eq(sentence(&v, NAN, NAN, NAN),
	                 WHAT ": no leak; it grew 105 KiB from 12 s to 120 s, less than what "
	                      "counts: 1.00 MiB (the larger of 1.00 MiB and 2% of its starting "
	                      "level, 47.7 MiB)");
	/* on 500 MB the 2% decides: 9.54 MiB */
	for (int i = 0; i < N; i++)
		y[i] = 500e6 + 20e3 * i;
	judge(y, &v);
	consistent(&v);
	cr_assert_eq(v.reason, LEAK_BELOW_FLOOR);
	const char *s = sentence(&v, NAN, NAN, NAN);
	cr_assert(strstr(s, "less than what counts: 9.54 MiB (the larger of 1.00 MiB and 2% of "
	                    "its starting level, 477 MiB)"),
	          "%s", s);
	/* descriptors are counted, not sized */
	char buf[256];
	for (int i = 0; i < N; i++)
		y[i] = 20 + 0.02 * i;
	double t[N];
	times(t);
	leak_judge(t, y, N, 1, 12, N, 8, 0.02, &v);
	consistent(&v);
	cr_assert_eq(v.reason, LEAK_BELOW_FLOOR);
	leak_sentence(&v, "the target's open file descriptors", false, NAN, NAN, NAN, buf,
	              sizeof(buf));
	cr_assert(strstr(buf, "less than what counts: 8.00 (the larger of 8.00 and 2% of its "
	                      "starting level, 20.2)"),
	          "%s", buf);
}

Test(leak_sentence, a_rise_within_the_noise_says_the_noise)
{
	struct leak_verdict v;
	rise_in_noise(3.8e6, &v); /* 4 MiB of rise, readings that stray 2 MiB */
	cr_assert_eq(v.reason, LEAK_IN_NOISE);
	const char *s = sentence(&v, NAN, NAN, NAN);
	cr_assert_str_eq(s, WHAT ": no leak; it grew 4.04 MiB from 12 s to 120 s, within the "
	                         "noise: the readings stray 2.03 MiB around the trend, and a leak "
	                         "grows at least 2x that (4.06 MiB)");
	cr_assert_null(strstr(s, "what counts"), "%s", s);
}

Test(leak_sentence, a_rise_in_one_half_only_is_not_persistent)
{
	/* the reviewer's case: significant and material, but the first half fell */
	struct leak_verdict v;
	rise_in_noise(2.7e6, &v);
	cr_assert_eq(v.reason, LEAK_NOT_PERSISTENT);
	cr_assert(v.growth >= v.floor && v.growth >= LEAK_NOISE_FACTOR * v.noise);
	const char *s = sentence(&v, NAN, NAN, NAN);
	cr_assert_str_eq(s, WHAT ": no leak; it grew 4.08 MiB from 12 s to 120 s, but not in each "
	                         "half of that window (-14.4 KiB/s in the first, 61.9 KiB/s in "
	                         "the second): a level that wandered, not a steady rise");
	cr_assert_null(strstr(s, "what counts"), "%s", s);
	cr_assert_null(strstr(s, "noise"), "%s", s);
	/* the same rise with less noise leaks */
	rise_in_noise(1e6, &v);
	cr_assert_eq(v.reason, LEAK_LEAKS);
}
