/* test_sched.c: unit tests for stage parsing and piecewise-linear schedules. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sched.h"
#include "util/common.h"

#define TS_SEC 1000000LL

static void ts_ramp(struct sched *s, const char *stages, double start)
{
	struct stage *st = NULL;
	int n = 0;
	char err[256] = "";
	int rc = sched_parse_stages(stages, &st, &n, err, sizeof(err));
	cr_assert_eq(rc, 0, "sched_parse_stages(\"%s\"): %s", stages, err);
	sched_ramp(s, start, st, n);
}

Test(sched, parse_stages)
{
	struct stage *st = NULL;
	int n = 0;
	char err[256] = "";

	cr_assert_eq(sched_parse_stages("30s:20,1m:20,30s:0", &st, &n, err, sizeof(err)), 0, "%s",
	             err);
	cr_assert_eq(n, 3);
	cr_expect_eq(st[0].duration_us, 30 * TS_SEC);
	cr_expect_float_eq(st[0].target, 20, 0);
	cr_expect_eq(st[1].duration_us, 60 * TS_SEC);
	cr_expect_float_eq(st[1].target, 20, 0);
	cr_expect_eq(st[2].duration_us, 30 * TS_SEC);
	cr_expect_float_eq(st[2].target, 0, 0);
	free(st);

	cr_assert_eq(sched_parse_stages("1m30s:100", &st, &n, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(n, 1);
	cr_expect_eq(st[0].duration_us, 90 * TS_SEC);
	cr_expect_float_eq(st[0].target, 100, 0);
	free(st);

	cr_assert_eq(sched_parse_stages("0s:5,500ms:0", &st, &n, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(n, 2);
	cr_expect_eq(st[0].duration_us, 0);
	cr_expect_eq(st[1].duration_us, 500000);
	free(st);
}

Test(sched, parse_stages_errors)
{
	static const struct {
		const char *s;
		const char *named; /* the part the error names */
	} bad[] = {
		{ "", "expected DURATION:TARGET" },
		{ ",", "expected DURATION:TARGET" },
		{ "30s", "'30s'" },
		{ "30s:20,1m", "'1m'" },
		{ "30x:20", "'30x'" },
		{ ":20", "duration ''" },
		{ "30s:", "target ''" },
		{ "30s:-1", "'-1'" },
		{ "30s:1.5", "'1.5'" },
		{ "30s:abc", "'abc'" },
		{ "30s:20:5", "'20:5'" },
		{ "30s:200000000", "'200000000'" },
		{ "30s:20,1m:x", "'x'" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct stage *st = (struct stage *)&bad[i];
		int n = -7;
		char err[256] = "";
		int rc = sched_parse_stages(bad[i].s, &st, &n, err, sizeof(err));
		cr_expect_eq(rc, -EINVAL, "sched_parse_stages(\"%s\") = %d", bad[i].s, rc);
		cr_expect_neq(strstr(err, bad[i].named), NULL, "\"%s\": error \"%s\" lacks \"%s\"",
		              bad[i].s, err, bad[i].named);
		cr_expect_eq(st, (struct stage *)&bad[i], "\"%s\": output written on failure",
		             bad[i].s);
		cr_expect_eq(n, -7);
	}
}

Test(sched, constant)
{
	struct sched s;
	sched_constant(&s, 10, 5 * TS_SEC);
	cr_expect_eq(s.total_us, 5 * TS_SEC);
	cr_expect_float_eq(sched_value_at(&s, 0), 10, 1e-12);
	cr_expect_float_eq(sched_value_at(&s, 2 * TS_SEC), 10, 1e-12);
	cr_expect_float_eq(sched_value_at(&s, 9 * TS_SEC), 10, 1e-12);
	cr_expect_float_eq(sched_max(&s), 10, 0);
	cr_expect_float_eq(sched_count_at(&s, 0), 0, 1e-12);
	cr_expect_float_eq(sched_count_at(&s, TS_SEC / 2), 5, 1e-9);
	cr_expect_float_eq(sched_count_at(&s, 3 * TS_SEC), 30, 1e-9);
	cr_expect_float_eq(sched_count_at(&s, 5 * TS_SEC), 50, 1e-9);
	cr_expect_float_eq(sched_count_at(&s, 60 * TS_SEC), 50, 1e-9, "no arrivals after the end");
	cr_expect_eq(sched_time_of(&s, 0), 0);
	cr_expect_eq(sched_time_of(&s, 1), 100000);
	cr_expect_eq(sched_time_of(&s, 25), 2500000);
	cr_expect_eq(sched_time_of(&s, 50), 5 * TS_SEC);
	cr_expect_eq(sched_time_of(&s, 50.001), -1);
	sched_free(&s);
	cr_expect_null(s.stages);
}

Test(sched, value_at_interpolates)
{
	struct sched s;
	ts_ramp(&s, "30s:20,1m:20,30s:0", 0);
	cr_expect_eq(s.total_us, 120 * TS_SEC);
	cr_expect_float_eq(sched_value_at(&s, 0), 0, 1e-12);
	cr_expect_float_eq(sched_value_at(&s, 15 * TS_SEC), 10, 1e-9);
	cr_expect_float_eq(sched_value_at(&s, 3 * TS_SEC), 2, 1e-9);
	cr_expect_float_eq(sched_value_at(&s, 30 * TS_SEC), 20, 1e-9);
	cr_expect_float_eq(sched_value_at(&s, 60 * TS_SEC), 20, 1e-9);
	cr_expect_float_eq(sched_value_at(&s, 90 * TS_SEC), 20, 1e-9);
	cr_expect_float_eq(sched_value_at(&s, 105 * TS_SEC), 10, 1e-9);
	cr_expect_float_eq(sched_value_at(&s, 120 * TS_SEC), 0, 1e-9);
	cr_expect_float_eq(sched_value_at(&s, 500 * TS_SEC), 0, 1e-9);
	cr_expect_float_eq(sched_max(&s), 20, 0);
	sched_free(&s);

	ts_ramp(&s, "10s:0", 50);
	cr_expect_float_eq(sched_value_at(&s, 0), 50, 1e-9);
	cr_expect_float_eq(sched_value_at(&s, 4 * TS_SEC), 30, 1e-9);
	cr_expect_float_eq(sched_max(&s), 50, 0, "the start counts towards the maximum");
	sched_free(&s);
}

Test(sched, value_at_zero_length_stage_jumps)
{
	struct sched s;
	ts_ramp(&s, "10s:10,0s:100,10s:100", 0);
	cr_expect_float_eq(sched_value_at(&s, 5 * TS_SEC), 5, 1e-9);
	cr_expect_float_eq(sched_value_at(&s, 10 * TS_SEC), 100, 1e-9);
	cr_expect_float_eq(sched_value_at(&s, 15 * TS_SEC), 100, 1e-9);
	cr_expect_float_eq(sched_count_at(&s, 20 * TS_SEC), 50 + 1000, 1e-9);
	sched_free(&s);
}

Test(sched, count_at_integrates_ramps)
{
	struct sched s;
	/* 0 -> 20 over 30 s (300), 20 for 60 s (1200), 20 -> 0 over 30 s (300). */
	ts_ramp(&s, "30s:20,1m:20,30s:0", 0);
	cr_expect_float_eq(sched_count_at(&s, 0), 0, 1e-12);
	cr_expect_float_eq(sched_count_at(&s, -TS_SEC), 0, 1e-12);
	cr_expect_float_eq(sched_count_at(&s, 15 * TS_SEC), 75, 1e-9);
	cr_expect_float_eq(sched_count_at(&s, 30 * TS_SEC), 300, 1e-9);
	cr_expect_float_eq(sched_count_at(&s, 60 * TS_SEC), 900, 1e-9);
	cr_expect_float_eq(sched_count_at(&s, 90 * TS_SEC), 1500, 1e-9);
	/* 15 s into the ramp down: 20*15 - 0.5*(20/30)*15^2 = 225. */
	cr_expect_float_eq(sched_count_at(&s, 105 * TS_SEC), 1725, 1e-9);
	cr_expect_float_eq(sched_count_at(&s, 120 * TS_SEC), 1800, 1e-9);
	cr_expect_float_eq(sched_count_at(&s, 1000 * TS_SEC), 1800, 1e-9);
	sched_free(&s);

	ts_ramp(&s, "10s:30", 10);
	/* Trapezoid: (10 + 30) / 2 * 10 = 200; at 5 s: (10 + 20) / 2 * 5 = 75. */
	cr_expect_float_eq(sched_count_at(&s, 5 * TS_SEC), 75, 1e-9);
	cr_expect_float_eq(sched_count_at(&s, 10 * TS_SEC), 200, 1e-9);
	sched_free(&s);
}

Test(sched, count_at_matches_numeric_integral)
{
	struct sched s;
	ts_ramp(&s, "7s:13,3s:2,5s:40,0s:7,9s:7,2s:0", 4);
	double riemann = 0;
	const int64_t step = 1000;
	for (int64_t t = 0; t < s.total_us + 3 * TS_SEC; t += step) {
		/* Midpoint rule: exact for linear pieces away from the break points. */
		riemann += sched_value_at(&s, t + step / 2) * (double)step / 1e6;
		if ((t + step) % TS_SEC == 0)
			cr_expect_float_eq(sched_count_at(&s, t + step), riemann, 1e-6,
			                   "count_at(%lld) = %.9f, numeric %.9f",
			                   (long long)(t + step), sched_count_at(&s, t + step),
			                   riemann);
	}
	sched_free(&s);
}

static void ts_check_inverse(const struct sched *s, const char *what)
{
	double end = sched_count_at(s, s->total_us);
	int checked = 0;
	for (double n = 0.25; n < end; n += end / 997) {
		int64_t t = sched_time_of(s, n);
		cr_assert_geq(t, 0, "%s: time_of(%g) = %lld before the end (total %g)", what, n,
		              (long long)t, end);
		cr_assert_leq(t, s->total_us, "%s: time_of(%g) past the end", what, n);
		cr_expect(fabs(sched_count_at(s, t) - n) <= 1e-3,
		          "%s: count_at(time_of(%g) = %lld) = %.6f", what, n, (long long)t,
		          sched_count_at(s, t));
		checked++;
	}
	for (int i = 1; i <= 1000; i++) {
		double n = (double)i;
		if (n > end)
			break;
		int64_t t = sched_time_of(s, n);
		cr_expect(t >= 0 && fabs(sched_count_at(s, t) - n) <= 1e-3,
		          "%s: count_at(time_of(%g) = %lld) = %.6f", what, n, (long long)t,
		          sched_count_at(s, t));
		/* Earliest: one microsecond earlier the count is not yet reached. */
		if (t > 0)
			cr_expect_lt(sched_count_at(s, t - 1), n + 1e-3, "%s: n=%g", what, n);
	}
	cr_expect_gt(checked, 900);
	cr_expect_eq(sched_time_of(s, end + 0.01), -1, "%s: time_of past the end", what);
	cr_expect_eq(sched_time_of(s, end * 2 + 10), -1, "%s: time_of far past the end", what);
}

Test(sched, time_of_inverts_count_at)
{
	struct sched s;

	sched_constant(&s, 100, 30 * TS_SEC);
	ts_check_inverse(&s, "constant 100/s");
	sched_free(&s);

	ts_ramp(&s, "30s:20,1m:20,30s:0", 0);
	ts_check_inverse(&s, "ramp up, hold, down");
	sched_free(&s);

	ts_ramp(&s, "10s:0", 500);
	ts_check_inverse(&s, "ramp down from 500");
	sched_free(&s);

	ts_ramp(&s, "5s:0,5s:0,10s:50,0s:200,3s:200,1s:1", 0);
	ts_check_inverse(&s, "idle start, jump");
	sched_free(&s);

	ts_ramp(&s, "1s:1000,100ms:1000,2s:3", 7);
	ts_check_inverse(&s, "fast ramps");
	sched_free(&s);

	/* A nearly flat ramp at a high rate: the quadratic's small slope must not cost
	 * precision. */
	ts_ramp(&s, "1h:1001", 1000);
	ts_check_inverse(&s, "slow ramp at 1000/s");
	sched_free(&s);
}

Test(sched, time_of_monotonic)
{
	struct sched s;
	ts_ramp(&s, "3s:10,2s:0,4s:25", 1);
	int64_t prev = 0;
	double end = sched_count_at(&s, s.total_us);
	for (double n = 0; n <= end; n += 0.5) {
		int64_t t = sched_time_of(&s, n);
		cr_assert_geq(t, prev, "time_of(%g) = %lld < %lld", n, (long long)t,
		              (long long)prev);
		prev = t;
	}
	sched_free(&s);
}

Test(sched, time_of_idle_schedule)
{
	struct sched s;
	sched_constant(&s, 0, 10 * TS_SEC);
	cr_expect_float_eq(sched_count_at(&s, 10 * TS_SEC), 0, 0);
	cr_expect_eq(sched_time_of(&s, 1), -1);
	sched_free(&s);
}

Test(sched, share_distributes_exactly)
{
	for (int nw = 1; nw <= 17; nw++) {
		for (int total = 0; total <= 300; total++) {
			int sum = 0;
			for (int w = 0; w < nw; w++) {
				int share = sched_share(total, w, nw);
				/* VU j goes to worker j % nw. */
				int want = 0;
				for (int j = 0; j < total; j++)
					want += j % nw == w;
				cr_assert_eq(share, want, "share(%d, %d, %d) = %d, want %d", total,
				             w, nw, share, want);
				sum += share;
			}
			cr_assert_eq(sum, total, "total %d over %d workers sums to %d", total, nw,
			             sum);
		}
	}
	cr_expect_eq(sched_share(1000000, 0, 3), 333334);
	cr_expect_eq(sched_share(1000000, 2, 3), 333333);
}

Test(sched, empty_stages_are_rejected)
{
	struct stage *st = NULL;
	int n = 0;
	char err[256];
	cr_expect_eq(sched_parse_stages("30s:20,,1m:0", &st, &n, err, sizeof(err)), -EINVAL);
	cr_expect_eq(sched_parse_stages("30s:20,", &st, &n, err, sizeof(err)), -EINVAL);
	cr_expect_eq(sched_parse_stages(",30s:20", &st, &n, err, sizeof(err)), -EINVAL);
}
