/* test_threshold.c: unit tests for threshold parsing, type checks and comparison. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "metrics/threshold.h"

#define TT_MAX_TAGS 3

struct tt_valid {
	const char *spec;
	const char *metric;
	const char *selector;
	const char *expr;
	enum thr_agg agg;
	double pct;
	enum thr_op op;
	double target;
	int ntags;
	const char *tags[TT_MAX_TAGS][2];
};

static const struct tt_valid tt_valid_cases[] = {
	{ "http_req_duration: p(95)<200",
	  "http_req_duration",
	  "http_req_duration",
	  "p(95)<200",
	  THR_PCT,
	  95,
	  THR_LT,
	  200,
	  0,
	  { { NULL } } },
	{ "http_req_duration{status:200}: p(99) < 500",
	  "http_req_duration",
	  "http_req_duration{status:200}",
	  "p(99)<500",
	  THR_PCT,
	  99,
	  THR_LT,
	  500,
	  1,
	  { { "status", "200" } } },
	{ "http_req_failed: rate<0.01",
	  "http_req_failed",
	  "http_req_failed",
	  "rate<0.01",
	  THR_RATE,
	  0,
	  THR_LT,
	  0.01,
	  0,
	  { { NULL } } },
	{ "http_reqs: count>=100",
	  "http_reqs",
	  "http_reqs",
	  "count>=100",
	  THR_COUNT,
	  0,
	  THR_GE,
	  100,
	  0,
	  { { NULL } } },
	{ "checks: rate>0.99",
	  "checks",
	  "checks",
	  "rate>0.99",
	  THR_RATE,
	  0,
	  THR_GT,
	  0.99,
	  0,
	  { { NULL } } },
	{ "vus: value<=10", "vus", "vus", "value<=10", THR_VALUE, 0, THR_LE, 10, 0, { { NULL } } },
	{ "http_req_duration{name:GET /api/products,method:GET}: med<100",
	  "http_req_duration",
	  "http_req_duration{name:GET /api/products,method:GET}",
	  "med<100",
	  THR_MED,
	  0,
	  THR_LT,
	  100,
	  2,
	  { { "name", "GET /api/products" }, { "method", "GET" } } },
	{ "http_req_duration: p(99.9)<=1000",
	  "http_req_duration",
	  "http_req_duration",
	  "p(99.9)<=1000",
	  THR_PCT,
	  99.9,
	  THR_LE,
	  1000,
	  0,
	  { { NULL } } },
	{ "http_req_duration{group:::List Products}: avg<300",
	  "http_req_duration",
	  "http_req_duration{group:::List Products}",
	  "avg<300",
	  THR_AVG,
	  0,
	  THR_LT,
	  300,
	  1,
	  { { "group", "::List Products" } } },
	{ "  iteration_duration { scenario : 'smoke test' , url:\"http://x/a.b\" } :  max  >  "
	  "1.5e3 ",
	  "iteration_duration",
	  "iteration_duration{scenario:smoke test,url:http://x/a.b}",
	  "max>1500",
	  THR_MAX,
	  0,
	  THR_GT,
	  1500,
	  2,
	  { { "scenario", "smoke test" }, { "url", "http://x/a.b" } } },
	{ "my_gauge:min==-5",
	  "my_gauge",
	  "my_gauge",
	  "min==-5",
	  THR_MIN,
	  0,
	  THR_EQ,
	  -5,
	  0,
	  { { NULL } } },
	{ "_x1: value != 0.5",
	  "_x1",
	  "_x1",
	  "value!=0.5",
	  THR_VALUE,
	  0,
	  THR_NE,
	  0.5,
	  0,
	  { { NULL } } },
	{ "http_req_duration: p(95) < 200.0",
	  "http_req_duration",
	  "http_req_duration",
	  "p(95)<200",
	  THR_PCT,
	  95,
	  THR_LT,
	  200,
	  0,
	  { { NULL } } },
	{ "t: p(0)>=.5", "t", "t", "p(0)>=0.5", THR_PCT, 0, THR_GE, 0.5, 0, { { NULL } } },
	{ "t: p( 100 )<+7", "t", "t", "p(100)<7", THR_PCT, 100, THR_LT, 7, 0, { { NULL } } },
	{ "t: avg<1.5e-7", "t", "t", "avg<1.5e-07", THR_AVG, 0, THR_LT, 1.5e-7, 0, { { NULL } } },
	{ "t: avg<12345678",
	  "t",
	  "t",
	  "avg<12345678",
	  THR_AVG,
	  0,
	  THR_LT,
	  12345678,
	  0,
	  { { NULL } } },
	{ "t{a:b,c:d,e:f}: avg<0.1",
	  "t",
	  "t{a:b,c:d,e:f}",
	  "avg<0.1",
	  THR_AVG,
	  0,
	  THR_LT,
	  0.1,
	  3,
	  { { "a", "b" }, { "c", "d" }, { "e", "f" } } },
};

static void tt_assert_valid(const struct tt_valid *c, const struct threshold *t)
{
	cr_assert_str_eq(t->metric, c->metric, "%s", c->spec);
	cr_assert_str_eq(t->selector, c->selector, "%s", c->spec);
	cr_assert_str_eq(t->expr, c->expr, "%s", c->spec);
	cr_assert_eq(t->agg, c->agg, "%s", c->spec);
	if (c->agg == THR_PCT)
		cr_assert_eq(t->pct, c->pct, "%s", c->spec);
	cr_assert_eq(t->op, c->op, "%s", c->spec);
	cr_assert_eq(t->target, c->target, "%s: %g", c->spec, t->target);
	cr_assert_eq(t->ntags, c->ntags, "%s", c->spec);
	if (!c->ntags)
		cr_assert_null(t->tags, "%s", c->spec);
	for (int i = 0; i < c->ntags; i++) {
		cr_assert_str_eq(t->tags[i].key, c->tags[i][0], "%s", c->spec);
		cr_assert_str_eq(t->tags[i].value, c->tags[i][1], "%s", c->spec);
	}
	cr_assert_not(t->abort_on_fail);
	cr_assert_eq(t->delay_abort_us, 0);
	cr_assert_not(t->evaluated);
}

Test(threshold, parse_valid)
{
	for (size_t i = 0; i < sizeof(tt_valid_cases) / sizeof(tt_valid_cases[0]); i++) {
		const struct tt_valid *c = &tt_valid_cases[i];
		struct threshold t;
		char err[256] = "";

		cr_assert_eq(threshold_parse(c->spec, &t, err, sizeof(err)), 0, "%s: %s", c->spec,
		             err);
		cr_assert_str_eq(t.source, c->spec);
		tt_assert_valid(c, &t);
		threshold_free(&t);
	}
}

Test(threshold, parse_parts_valid)
{
	struct threshold t;
	char err[256] = "";

	cr_assert_eq(threshold_parse_parts("http_req_duration{status:200, group:::api}",
	                                   " p(99.5) >= 3 ", &t, err, sizeof(err)),
	             0, "%s", err);
	cr_assert_str_eq(t.source, " p(99.5) >= 3 ");
	cr_assert_str_eq(t.metric, "http_req_duration");
	cr_assert_str_eq(t.selector, "http_req_duration{status:200,group:::api}");
	cr_assert_str_eq(t.expr, "p(99.5)>=3");
	cr_assert_eq(t.ntags, 2);
	cr_assert_str_eq(t.tags[1].key, "group");
	cr_assert_str_eq(t.tags[1].value, "::api");
	threshold_free(&t);
}

Test(threshold, agg_name)
{
	static const struct {
		const char *expr;
		const char *name;
	} cases[] = {
		{ "avg<1", "avg" },     { "min<1", "min" },     { "max<1", "max" },
		{ "med<1", "med" },     { "count<1", "count" }, { "rate<1", "rate" },
		{ "value<1", "value" }, { "p(95)<1", "p(95)" }, { "p(99.99)<1", "p(99.99)" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct threshold t;

		cr_assert_eq(threshold_parse_parts("m", cases[i].expr, &t, NULL, 0), 0);
		cr_assert_str_eq(threshold_agg_name(&t, buf, sizeof(buf)), cases[i].name);
		threshold_free(&t);
	}
}

/* Expected result of compare() for a value just below, at, and just above the target. */
static const struct {
	const char *op;
	bool below, at, above;
} tt_truth[] = {
	{ "<", true, false, false }, { "<=", true, true, false },  { ">", false, false, true },
	{ ">=", false, true, true }, { "==", false, true, false }, { "!=", true, false, true },
};

Test(threshold, compare_truth_table)
{
	static const double targets[] = { 200, 0, -3.5, 0.01 };

	for (size_t i = 0; i < sizeof(tt_truth) / sizeof(tt_truth[0]); i++) {
		for (size_t j = 0; j < sizeof(targets) / sizeof(targets[0]); j++) {
			double tg = targets[j];
			struct threshold t;
			char expr[64];

			snprintf(expr, sizeof(expr), "avg%s%g", tt_truth[i].op, tg);
			cr_assert_eq(threshold_parse_parts("m", expr, &t, NULL, 0), 0, "%s", expr);
			cr_assert_eq(threshold_compare(&t, nextafter(tg, -INFINITY)),
			             tt_truth[i].below, "%s below", expr);
			cr_assert_eq(threshold_compare(&t, tg), tt_truth[i].at, "%s at", expr);
			cr_assert_eq(threshold_compare(&t, nextafter(tg, INFINITY)),
			             tt_truth[i].above, "%s above", expr);
			cr_assert_not(threshold_compare(&t, NAN), "%s NaN", expr);
			threshold_free(&t);
		}
	}
}

Test(threshold, compare_infinities)
{
	struct threshold t;

	cr_assert_eq(threshold_parse("m: max<1000", &t, NULL, 0), 0);
	cr_assert(threshold_compare(&t, -INFINITY));
	cr_assert_not(threshold_compare(&t, INFINITY));
	threshold_free(&t);
}

Test(threshold, check_type)
{
	static const struct {
		const char *expr;
		bool counter, gauge, rate, trend;
	} cases[] = {
		{ "count<1", true, false, false, false }, { "rate<1", true, false, true, false },
		{ "value<1", false, true, false, false }, { "min<1", false, true, false, true },
		{ "max<1", false, true, false, true },    { "avg<1", false, false, false, true },
		{ "med<1", false, false, false, true },   { "p(90)<1", false, false, false, true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct threshold t;
		const char *e = cases[i].expr;

		cr_assert_eq(threshold_parse_parts("m", e, &t, NULL, 0), 0);
		cr_assert_eq(threshold_check_type(&t, MT_COUNTER) == NULL, cases[i].counter, "%s",
		             e);
		cr_assert_eq(threshold_check_type(&t, MT_GAUGE) == NULL, cases[i].gauge, "%s", e);
		cr_assert_eq(threshold_check_type(&t, MT_RATE) == NULL, cases[i].rate, "%s", e);
		cr_assert_eq(threshold_check_type(&t, MT_TREND) == NULL, cases[i].trend, "%s", e);
		threshold_free(&t);
	}
}

Test(threshold, per_request_is_a_counters_aggregation)
{
	struct threshold t;
	char buf[32], err[256];

	cr_assert_eq(
	    threshold_parse("target_demo_db_queries_total: per_request < 3", &t, err, sizeof(err)),
	    0, "%s", err);
	cr_expect_eq(t.agg, THR_PER_REQUEST);
	cr_expect_str_eq(t.expr, "per_request<3");
	cr_expect_str_eq(threshold_agg_name(&t, buf, sizeof(buf)), "per_request");
	cr_expect_null(threshold_check_type(&t, MT_COUNTER));
	cr_expect_str_eq(threshold_check_type(&t, MT_GAUGE),
	                 "'per_request' does not apply to a gauge metric (use value, min or max)");
	cr_expect_not_null(threshold_check_type(&t, MT_TREND));
	cr_expect(threshold_compare(&t, 2.5));
	cr_expect(!threshold_compare(&t, NAN)); /* no requests: no value */
	threshold_free(&t);
}

Test(threshold, check_type_messages)
{
	struct threshold t;

	cr_assert_eq(threshold_parse("http_reqs: p(95)<200", &t, NULL, 0), 0);
	cr_assert_str_eq(
	    threshold_check_type(&t, MT_COUNTER),
	    "'p(95)' does not apply to a counter metric (use count, rate or per_request)");
	cr_assert_str_eq(threshold_check_type(&t, MT_RATE),
	                 "'p(95)' does not apply to a rate metric (use rate)");
	cr_assert_str_eq(threshold_check_type(&t, MT_GAUGE),
	                 "'p(95)' does not apply to a gauge metric (use value, min or max)");
	threshold_free(&t);
	cr_assert_eq(threshold_parse("http_req_duration: count>1", &t, NULL, 0), 0);
	cr_assert_str_eq(
	    threshold_check_type(&t, MT_TREND),
	    "'count' does not apply to a trend metric (use avg, min, max, med or p(N))");
	cr_assert_not_null(strstr(threshold_check_type(&t, (enum metric_type)42), "unknown"));
	threshold_free(&t);
}

/* A spec that must be rejected, and text its error message must contain. */
struct tt_bad {
	const char *spec;
	const char *needle;
};

static const struct tt_bad tt_bad_cases[] = {
	{ "http_req_duration: p(95)<<200",
	  "threshold 'http_req_duration: p(95)<<200': expected a number after '<'" },
	{ "foo bar", "threshold 'foo bar': expected 'METRIC: EXPRESSION'" },
	{ "", "expected 'METRIC: EXPRESSION'" },
	{ "p(95)<200", "expected 'METRIC: EXPRESSION'" },
	{ "m: p95<200", "unknown aggregation 'p95' (expected avg, min, max, med, count, rate, "
	                "value, per_request or p(N))" },
	{ "m: P(95)<200", "unknown aggregation 'P(95)'" },
	{ "m: average<1", "unknown aggregation 'average'" },
	{ "m: avg5<1", "unknown aggregation 'avg5'" },
	{ "m: p<1", "unknown aggregation 'p'" },
	{ "m: <200", "expected an aggregation before '<200'" },
	{ "m: p(120)<1", "percentile 120 out of range 0..100" },
	{ "m: p(-1)<1", "percentile -1 out of range 0..100" },
	{ "m: p(100.5)<1", "percentile 100.5 out of range 0..100" },
	{ "m: p(1e999)<1", "percentile '1e999' out of range" },
	{ "m: p()<1", "expected a number in 'p()'" },
	{ "m: p(abc)<1", "expected a number in 'p(abc)'" },
	{ "m: p(0x10)<1", "expected ')' after the percentile in 'p(0x10)'" },
	{ "m: p(95<1", "expected ')' after the percentile in 'p(95'" },
	{ "m: p(95) 200", "after 'p(95)', got '200'" },
	{ "m: avg", "expected an operator (<, <=, >, >=, == or !=) after 'avg'" },
	{ "m: avg=1", "unknown operator '=' (use '==' to test equality)" },
	{ "m: avg=<1", "unknown operator '=<' (did you mean '<='?)" },
	{ "m: avg=>1", "unknown operator '=>' (did you mean '>='?)" },
	{ "m: avg!1", "got '!1'" },
	{ "m: avg<", "expected a number after '<'" },
	{ "m: avg<=abc", "expected a number after '<='" },
	{ "m: avg<inf", "expected a number after '<'" },
	{ "m: avg<nan", "expected a number after '<'" },
	{ "m: avg<1e999", "number '1e999' out of range" },
	{ "m: p(95)<200ms", "unexpected 'ms' after '200'" },
	{ "m: avg<1 2", "unexpected '2' after '1'" },
	{ "m: avg<0x10", "unexpected 'x10' after '0'" },
	{ "m: avg<1 && max<2", "unexpected '&& max<2' after '1'" },
	{ "m:", "empty expression" },
	{ "m:   ", "empty expression" },
	{ ": avg<1", "missing metric name" },
	{ "{a:b}: avg<1", "missing metric name before '{'" },
	{ "my metric: avg<1", "invalid metric name 'my metric'" },
	{ "1abc: avg<1", "invalid metric name '1abc'" },
	{ "http-reqs: count<1", "invalid metric name 'http-reqs'" },
	{ "m{: avg<1", "unbalanced '{'" },
	{ "m{a:b: avg<1", "unbalanced '{'" },
	{ "m}: avg<1", "unbalanced '}'" },
	{ "m{a:b}}: avg<1", "unbalanced '}'" },
	{ "m{a:b}x: avg<1", "unexpected 'x' after '}'" },
	{ "m{}: avg<1", "empty tag selector '{}'" },
	{ "m{ }: avg<1", "empty tag selector '{}'" },
	{ "m{a:b,}: avg<1", "empty tag in '{a:b,}'" },
	{ "m{,a:b}: avg<1", "empty tag in '{,a:b}'" },
	{ "m{a:b,,c:d}: avg<1", "empty tag in '{a:b,,c:d}'" },
	{ "m{status}: avg<1", "tag 'status' has no ':' (expected KEY:VALUE)" },
	{ "m{:200}: avg<1", "tag ':200' has an empty key" },
	{ "m{status:}: avg<1", "tag 'status:' has an empty value" },
	{ "m{status: ''}: avg<1", "tag 'status: ''' has an empty value" },
	{ "m{name:'abc}: avg<1", "unterminated quote in tag 'name:'abc'" },
	{ "m{name:\"abc'}: avg<1", "unterminated quote in tag 'name:\"abc''" },
	{ "m{a:1,a:2}: avg<1", "duplicate tag 'a'" },
};

/* After a failed parse the struct must hold nothing to free. */
static void tt_assert_empty(const struct threshold *t, const char *spec)
{
	cr_assert_null(t->source, "%s", spec);
	cr_assert_null(t->metric, "%s", spec);
	cr_assert_null(t->selector, "%s", spec);
	cr_assert_null(t->expr, "%s", spec);
	cr_assert_null(t->tags, "%s", spec);
	cr_assert_eq(t->ntags, 0, "%s", spec);
}

Test(threshold, parse_malformed)
{
	for (size_t i = 0; i < sizeof(tt_bad_cases) / sizeof(tt_bad_cases[0]); i++) {
		const struct tt_bad *c = &tt_bad_cases[i];
		struct threshold t;
		char err[512] = "";

		cr_assert_eq(threshold_parse(c->spec, &t, err, sizeof(err)), -EINVAL, "%s",
		             c->spec);
		cr_assert_not_null(strstr(err, c->needle), "spec '%s'\n  got:  %s\n  want: %s",
		                   c->spec, err, c->needle);
		cr_assert_eq(strncmp(err, "threshold '", 11), 0, "%s", err);
		cr_assert_null(strchr(err, '\n'), "%s", err);
		tt_assert_empty(&t, c->spec);
		threshold_free(&t);
	}
}

Test(threshold, parse_parts_malformed)
{
	static const struct {
		const char *selector, *expr, *needle;
	} cases[] = {
		{ "http_req_duration", "p(95)<<200",
		  "threshold 'p(95)<<200' on 'http_req_duration': expected a number after '<'" },
		{ "http_req_duration{status}", "p(95)<200",
		  "threshold selector 'http_req_duration{status}': tag 'status' has no ':'" },
		{ "m: avg<1", "avg<1", "invalid metric name 'm: avg<1'" },
		{ "", "avg<1", "missing metric name" },
		{ "m", "", "empty expression" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct threshold t;
		char err[512] = "";

		cr_assert_eq(
		    threshold_parse_parts(cases[i].selector, cases[i].expr, &t, err, sizeof(err)),
		    -EINVAL);
		cr_assert_not_null(strstr(err, cases[i].needle), "got: %s\nwant: %s", err,
		                   cases[i].needle);
		tt_assert_empty(&t, cases[i].expr);
	}
}

Test(threshold, error_buffer_edge_cases)
{
	struct threshold t;
	char err[8];

	/* A NULL or short buffer must not crash, and a short one is truncated. */
	cr_assert_eq(threshold_parse("foo bar", &t, NULL, 0), -EINVAL);
	cr_assert_eq(threshold_parse("foo bar", &t, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "thresho");
	cr_assert_eq(threshold_parse(NULL, &t, err, sizeof(err)), -EINVAL);
	cr_assert_eq(threshold_parse_parts(NULL, "avg<1", &t, NULL, 0), -EINVAL);
	cr_assert_eq(threshold_parse_parts("m", NULL, &t, NULL, 0), -EINVAL);
}

Test(threshold, free_is_safe_and_idempotent)
{
	struct threshold t;

	memset(&t, 0, sizeof(t));
	threshold_free(&t);
	threshold_free(NULL);
	cr_assert_eq(threshold_parse("m{a:b}: avg<1", &t, NULL, 0), 0);
	threshold_free(&t);
	tt_assert_empty(&t, "after free");
	threshold_free(&t);
}

Test(threshold, braces_inside_a_tag_value)
{
	struct threshold t;
	char err[256];
	cr_assert_eq(threshold_parse("http_req_duration{name:GET /api/products/{id}}: p(95)<150",
	                             &t, err, sizeof(err)),
	             0, "%s", err);
	cr_expect_str_eq(t.tags[0].value, "GET /api/products/{id}");
	cr_expect_str_eq(t.selector, "http_req_duration{name:GET /api/products/{id}}");
	threshold_free(&t);
	cr_assert_eq(threshold_parse_parts("http_req_duration{name:GET /a/{id}/b}", "p(95)<150", &t,
	                                   err, sizeof(err)),
	             0, "%s", err);
	cr_expect_str_eq(t.tags[0].value, "GET /a/{id}/b");
	threshold_free(&t);
}
