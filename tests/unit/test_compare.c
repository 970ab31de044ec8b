/* test_compare.c: analysis/compare: --max-regression's syntax, and the verdicts on
 * results built from per-second points (a regression, noise, an improvement, too few
 * intervals, runs of different tests). */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis/compare.h"
#include "result/result.h"

static const struct compare_limit *find(const struct compare_opts *o, enum compare_kind k,
                                        const char *stat)
{
	for (int i = 0; i < o->nlimits; i++)
		if (o->limits[i].kind == k &&
		    (k != CMP_LATENCY || !strcmp(o->limits[i].stat, stat)))
			return &o->limits[i];
	return NULL;
}

Test(compare, parses_the_limits)
{
	struct compare_opts o;
	char err[256];
	compare_opts_default(&o);
	cr_assert_eq(
	    compare_parse_limits("p95=20%,p99=+30%,errors=+0.5pp,rps=-10%", &o, err, sizeof(err)),
	    0, "%s", err);
	cr_expect_eq(o.nlimits, 4);
	cr_expect_float_eq(find(&o, CMP_LATENCY, "p(95)")->limit, 0.20, 1e-12);
	cr_expect_float_eq(find(&o, CMP_LATENCY, "p(99)")->limit, 0.30, 1e-12);
	cr_expect_float_eq(find(&o, CMP_ERRORS, "")->limit, 0.005, 1e-12);
	cr_expect_float_eq(find(&o, CMP_RPS, "")->limit, 0.10, 1e-12);
	/* the seed's words, "p95 +20%", are one item */
	cr_assert_eq(compare_parse_limits("p95 +20%", &o, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(o.nlimits, 1);
	cr_expect_float_eq(find(&o, CMP_LATENCY, "p(95)")->limit, 0.20, 1e-12);
	/* a bare percentage: every latency statistic */
	cr_assert_eq(compare_parse_limits("15%", &o, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(o.nlimits, 5);
	cr_expect_float_eq(find(&o, CMP_LATENCY, "max")->limit, 0.15, 1e-12);
	/* k6's spellings, and the later of two wins */
	cr_assert_eq(compare_parse_limits("p(95)=10%, med=5%, p95=12%", &o, err, sizeof(err)), 0,
	             "%s", err);
	cr_expect_eq(o.nlimits, 2);
	cr_expect_float_eq(find(&o, CMP_LATENCY, "p(95)")->limit, 0.12, 1e-12);
	cr_expect_float_eq(find(&o, CMP_LATENCY, "med")->limit, 0.05, 1e-12);
}

Test(compare, refuses_bad_limits_saying_why)
{
	static const struct {
		const char *text, *says;
	} bad[] = {
		{ "p95=20", "give the limit's unit" },
		{ "p95=abc%", "the limit is a percentage" },
		{ "avg=20%", "unknown statistic 'avg'" },
		{ "p95=-20%", "a latency limit is a rise" },
		{ "rps=+10%", "throughput's limit is a fall" },
		{ "errors=1%", "percentage points" },
		{ "p95=0%", "more than 0%" },
		{ "", "no limit given" },
		{ ",,", "no limit given" },
		{ "p95=20pp", "a latency limit is a rise" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct compare_opts o;
		char err[256] = "";
		compare_opts_default(&o);
		cr_expect_eq(compare_parse_limits(bad[i].text, &o, err, sizeof(err)), -EINVAL,
		             "accepted '%s'", bad[i].text);
		cr_expect(strstr(err, bad[i].says), "'%s': '%s' does not say '%s'", bad[i].text,
		          err, bad[i].says);
	}
}

/* The per-second points the tests give a result (freed by result_free()). */
static struct result_point *owned[64];
static int nowned;

static struct result_point *points(int n)
{
	cr_assert_lt(nowned, 64);
	return owned[nowned++] = calloc((size_t)n, sizeof(struct result_point));
}

static void teardown_points(void)
{
	for (int i = 0; i < nowned; i++)
		free(owned[i]);
	nowned = 0;
}

TestSuite(compare, .fini = teardown_points);

/* A real result file (tests/data, a 1 s run) given n seconds of http_req_duration (p95 of
 * second t: p95[t]), http_reqs (rps a second) and http_req_failed (rate err) as per-second
 * points, and the scenario `scenario` (NULL: a quick run's). */
static struct result *make(int n, const double *p95, double rps, double err, const char *scenario)
{
	char e[512] = "";
	struct result *r = result_load("tests/data/history_result.json", e, sizeof(e));
	cr_assert(r, "the fixture: %s", e);
	r->duration_s = n + 0.5; /* and a partial second */
	static const char *const names[] = { "http_req_duration", "http_reqs", "http_req_failed" };
	for (int k = 0; k < 3; k++) {
		int m = result_find_metric(r, names[k]);
		cr_assert_geq(m, 0, "the fixture has %s", names[k]);
		struct result_point *p = points(n);
		for (int t = 0; t < n; t++) {
			p[t].t = t;
			p[t].count = (float)rps;
			if (k == 0) {
				float v[5] = { p95[t] * 0.6, p95[t] * 0.9, p95[t], p95[t] * 1.2,
					       p95[t] * 1.5 };
				memcpy(p[t].v, v, sizeof(v));
			} else if (k == 2) {
				p[t].v[0] = (float)err;
			}
		}
		r->metrics[m].ts = (struct result_timeseries){ 1, n, p };
	}
	if (scenario)
		json_object_set_new(r->options, "scenarios",
		                    json_pack("{s:{s:s}}", scenario, "executor", "constant-vus"));
	return r;
}

/* A second's p95: base times (1 + noise), an AR(1)-ish wiggle from a fixed sequence. */
static void series(double *v, int n, double base, unsigned seed)
{
	double a = 0;
	for (int i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		double u = ((seed >> 8) & 0xffff) / 65536.0 - 0.5; /* -0.5..0.5 */
		a = 0.6 * a + 0.1 * u;
		v[i] = base * (1 + a);
	}
}

static const char *row_verdict(const json_t *doc, const char *stat)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(doc, "rows"), i, r)
	{
		if (!strcmp(json_string_value(json_object_get(r, "stat")), stat) &&
		    json_is_null(json_object_get(r, "endpoint")))
			return json_string_value(json_object_get(r, "verdict"));
	}
	return NULL;
}

Test(compare, a_30_percent_slower_run_is_a_regression_and_the_same_is_not)
{
	double a[60], b[60], c[60];
	series(a, 60, 100, 1);
	series(b, 60, 130, 2);
	series(c, 60, 100, 3);
	struct result *base = make(60, a, 200, 0, NULL), *slow = make(60, b, 200, 0, NULL),
	              *same = make(60, c, 200, 0, NULL);
	struct compare_opts o;
	char err[256];
	compare_opts_default(&o);
	json_t *d1 = compare_runs(base, slow, &o, err, sizeof(err));
	cr_assert(d1, "%s", err);
	cr_expect_str_eq(row_verdict(d1, "p(95)"), "regression");
	cr_expect_str_eq(json_string_value(json_object_get(d1, "verdict")), "regression");
	cr_expect(strstr(json_string_value(json_object_get(d1, "summary")), "Regression: p(95)"),
	          "%s", json_string_value(json_object_get(d1, "summary")));
	json_t *d2 = compare_runs(base, same, &o, err, sizeof(err));
	cr_assert(d2, "%s", err);
	cr_expect_str_eq(row_verdict(d2, "p(95)"), "no change");
	cr_expect_eq(json_integer_value(json_object_get(d2, "regressions")), 0);
	/* the other way round, 30% faster is an improvement */
	json_t *d3 = compare_runs(slow, base, &o, err, sizeof(err));
	cr_assert(d3, "%s", err);
	cr_expect_str_eq(row_verdict(d3, "p(95)"), "improvement");
	json_decref(d1);
	json_decref(d2);
	json_decref(d3);
	result_free(base);
	result_free(slow);
	result_free(same);
}

Test(compare, past_the_limit_on_too_few_seconds_is_inconclusive)
{
	double a[5] = { 100, 101, 99, 100, 100 }, b[5] = { 140, 141, 139, 140, 140 };
	struct result *base = make(5, a, 50, 0, NULL), *cur = make(5, b, 50, 0, NULL);
	struct compare_opts o;
	char err[256];
	compare_opts_default(&o);
	json_t *d = compare_runs(base, cur, &o, err, sizeof(err));
	cr_assert(d, "%s", err);
	cr_expect_str_eq(row_verdict(d, "p(95)"), "inconclusive");
	cr_expect_eq(json_integer_value(json_object_get(d, "regressions")), 0);
	json_decref(d);
	result_free(base);
	result_free(cur);
}

Test(compare, errors_and_throughput_are_judged_in_their_units)
{
	double a[40], b[40];
	series(a, 40, 100, 5);
	series(b, 40, 100, 6);
	struct result *base = make(40, a, 200, 0.001, NULL), *cur = make(40, b, 150, 0.02, NULL);
	struct compare_opts o;
	char err[256];
	compare_opts_default(&o);
	json_t *d = compare_runs(base, cur, &o, err, sizeof(err));
	cr_assert(d, "%s", err);
	size_t i;
	json_t *r;
	int seen = 0;
	json_array_foreach(json_object_get(d, "rows"), i, r)
	{
		const char *kind = json_string_value(json_object_get(r, "kind"));
		if (!strcmp(kind, "errors")) {
			seen++;
			cr_expect_float_eq(json_number_value(json_object_get(r, "change")), 1.9,
			                   1e-6, "the error rate rose 1.9 points");
			cr_expect_str_eq(json_string_value(json_object_get(r, "verdict")),
			                 "regression");
		} else if (!strcmp(kind, "throughput")) {
			seen++;
			cr_expect_float_eq(json_number_value(json_object_get(r, "change")), -0.25,
			                   1e-6);
			cr_expect_str_eq(json_string_value(json_object_get(r, "verdict")),
			                 "regression");
		}
	}
	cr_expect_eq(seen, 2);
	json_decref(d);
	result_free(base);
	result_free(cur);
}

Test(compare, refuses_runs_of_different_tests_naming_them)
{
	double a[20];
	series(a, 20, 100, 7);
	struct result *quick = make(20, a, 100, 0, NULL), *script = make(20, a, 100, 0, "s");
	struct compare_opts o;
	char err[256] = "";
	compare_opts_default(&o);
	cr_expect_null(compare_runs(quick, script, &o, err, sizeof(err)));
	cr_expect(strstr(err, "different tests"), "%s", err);
	cr_expect(strstr(err, "default") && strstr(err, "s"), "%s", err);
	result_free(quick);
	result_free(script);
}
