/* test_k6.c: unit tests for k6's two summary documents (output/k6.c): the handleSummary()
 * data object and the legacy --summary-export, from a result built by hand. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics/hdr.h"
#include "output/output.h"
#include "util/common.h"

/* md5 hex of the paths (as k6's lib/models.go computes ids), from `md5sum`. */
#define ID_ROOT   "d41d8cd98f00b204e9800998ecf8427e" /* "" */
#define ID_API    "e6550cde192dbabccfbb3b1bac03a92a" /* "::api" */
#define ID_INNER  "eb7e812d608c1cf9b9f46f26335099a1" /* "::api::inner" */
#define ID_C_ROOT "9a460c9feaf8ae8dbe8bcfa157778857" /* "::root ok" */
#define ID_C_API  "20612329970aa4bf03e1bee853a90707" /* "::api::status 200" */
#define ID_C_DEEP "d10a718d4c4d805ccda6366e1ae29cb4" /* "::api::inner::deep" */

enum { M_REQS, M_FAILED, M_DUR, M_VUS, M_CHECKS, M_RECV, M_UNUSED, NMETRICS };

static struct result_metric metrics[NMETRICS] = {
	[M_REQS] = { "http_reqs", MT_COUNTER, RU_NONE, { 0 } },
	[M_FAILED] = { "http_req_failed", MT_RATE, RU_NONE, { 0 } },
	[M_DUR] = { "http_req_duration", MT_TREND, RU_TIME, { 0 } },
	[M_VUS] = { "vus", MT_GAUGE, RU_NONE, { 0 } },
	[M_CHECKS] = { "checks", MT_RATE, RU_NONE, { 0 } },
	[M_RECV] = { "data_received", MT_COUNTER, RU_BYTES, { 0 } },
	[M_UNUSED] = { "iteration_duration", MT_TREND, RU_TIME, { 0 } }, /* no sample */
};

static const struct result_tag t200[] = { { "expected_response", "true" }, { "status", "200" } };
static const struct result_tag t500[] = { { "expected_response", "false" }, { "status", "500" } };
static const struct result_tag s200[] = { { "status", "200" } };
static const struct result_tag s500[] = { { "status", "500" } };
static const struct result_tag c_root[] = { { "check", "root ok" }, { "group", "" } };
static const struct result_tag c_api[] = { { "check", "status 200" }, { "group", "::api" } };
static const struct result_tag c_deep[] = { { "check", "deep" }, { "group", "::api::inner" } };

static struct result_series series[] = {
	{ .metric = M_REQS,
	  .ntags = 2,
	  .tags = t200,
	  .total = { .type = MT_COUNTER, .any = true, .sum = 8 } },
	{ .metric = M_REQS,
	  .ntags = 2,
	  .tags = t500,
	  .total = { .type = MT_COUNTER, .any = true, .sum = 2 } },
	{ .metric = M_FAILED,
	  .ntags = 2,
	  .tags = t200,
	  .total = { .type = MT_RATE, .any = true, .nz = 0, .total = 8 } },
	{ .metric = M_FAILED,
	  .ntags = 2,
	  .tags = t500,
	  .total = { .type = MT_RATE, .any = true, .nz = 2, .total = 2 } },
	{ .metric = M_DUR, .ntags = 2, .tags = t200, .total = { .type = MT_TREND, .any = true } },
	{ .metric = M_DUR, .ntags = 2, .tags = t500, .total = { .type = MT_TREND, .any = true } },
	{ .metric = M_VUS,
	  .total = { .type = MT_GAUGE,
	             .any = true,
	             .g_last = 5,
	             .g_min = 1,
	             .g_max = 10,
	             .g_seq = 3 } },
	{ .metric = M_CHECKS,
	  .ntags = 2,
	  .tags = c_root,
	  .total = { .type = MT_RATE, .any = true, .nz = 3, .total = 3 } },
	{ .metric = M_CHECKS,
	  .ntags = 2,
	  .tags = c_api,
	  .total = { .type = MT_RATE, .any = true, .nz = 8, .total = 10 } },
	{ .metric = M_CHECKS,
	  .ntags = 2,
	  .tags = c_deep,
	  .total = { .type = MT_RATE, .any = true, .nz = 1, .total = 2 } },
	{ .metric = M_RECV, .total = { .type = MT_COUNTER, .any = true, .sum = 4096 } },
};
enum { SER_DUR200 = 4, SER_DUR500 = 5 };

/* Three thresholds: a sub-metric one that passes, a sub-metric one that fails, and one on a
 * whole metric that passes; the fourth is stampede's CLI form ("METRIC: EXPR"), passing. */
static struct result_threshold thresholds[] = {
	{ .source = "p(95)<100",
	  .metric = "http_req_duration",
	  .selector = "http_req_duration{status:200}",
	  .ntags = 1,
	  .tags = s200,
	  .expr = "p(95)<100",
	  .stat = "p(95)",
	  .ok = true,
	  .value = 8 },
	{ .source = "count<1",
	  .metric = "http_reqs",
	  .selector = "http_reqs{status:500}",
	  .ntags = 1,
	  .tags = s500,
	  .expr = "count<1",
	  .stat = "count",
	  .ok = false,
	  .value = 2 },
	{ .source = "rate<0.5",
	  .metric = "http_req_failed",
	  .selector = "http_req_failed",
	  .expr = "rate<0.5",
	  .stat = "rate",
	  .ok = true,
	  .value = 0.2 },
	{ .source = "checks: rate>0.5",
	  .metric = "checks",
	  .selector = "checks",
	  .expr = "rate>0.5",
	  .stat = "rate",
	  .ok = true,
	  .value = 0.8 },
};

static const char *groups[] = { "::api", "::api::inner" };
static struct result_check checks[] = {
	{ "", "root ok", 3, 0 },
	{ "::api", "status 200", 8, 2 },
	{ "::api::inner", "deep", 1, 1 },
};

static struct result res;
static struct output_env env;

static void setup(void)
{
	struct hdr *h200 = hdr_new_default(), *h500 = hdr_new_default();
	for (int i = 1; i <= 8; i++)
		hdr_record(h200, i * 1000); /* 1..8 ms */
	hdr_record_n(h500, 100000, 2);      /* 100 ms */
	series[SER_DUR200].total.h = h200;
	series[SER_DUR500].total.h = h500;
	res = (struct result){
		.version = "test",
		.options = json_pack("{s:s}", "summaryTimeUnit", "ms"),
		.duration_s = 2.0,
		.nmetrics = NMETRICS,
		.metrics = metrics,
		.nseries = (int)ARRAY_SIZE(series),
		.series = series,
		.nthresholds = (int)ARRAY_SIZE(thresholds),
		.thresholds = thresholds,
		.ngroups = (int)ARRAY_SIZE(groups),
		.groups = groups,
		.nchecks = (int)ARRAY_SIZE(checks),
		.checks = checks,
		.setup_data = json_pack("{s:s}", "token", "abc"),
		.analyses = json_object(),
	};
	env = (struct output_env){ .stdout_tty = false, .stderr_tty = true };
	unsetenv("NO_COLOR");
}

static void teardown(void)
{
	hdr_free(series[SER_DUR200].total.h);
	hdr_free(series[SER_DUR500].total.h);
	series[SER_DUR200].total.h = series[SER_DUR500].total.h = NULL;
	json_decref(res.options);
	json_decref(res.setup_data);
	json_decref(res.analyses);
}

TestSuite(k6, .init = setup, .fini = teardown);

/* obj[key], failing when absent or of another type. */
static json_t *get(json_t *obj, const char *key, json_type type)
{
	json_t *v = json_object_get(obj, key);
	cr_assert_not_null(v, "missing key '%s'", key);
	cr_assert_eq(json_typeof(v), type, "'%s' has JSON type %d, want %d", key, json_typeof(v),
	             type);
	return v;
}

static double num(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	cr_assert(json_is_number(v), "'%s' is not a number", key);
	return json_number_value(v);
}

static const char *str(json_t *obj, const char *key)
{
	return json_string_value(get(obj, key, JSON_STRING));
}

/* The object's keys, in order, joined by ','. */
static char *keys(json_t *obj)
{
	static char buf[512];
	const char *k;
	json_t *v;
	buf[0] = '\0';
	json_object_foreach(obj, k, v)
	{
		if (buf[0])
			strcat(buf, ",");
		strcat(buf, k);
	}
	return buf;
}

static void assert_group(json_t *g, const char *name, const char *path, const char *id,
                         size_t ngroups, size_t nchecks)
{
	cr_assert_str_eq(keys(g), "name,path,id,groups,checks");
	cr_assert_str_eq(str(g, "name"), name);
	cr_assert_str_eq(str(g, "path"), path);
	cr_assert_str_eq(str(g, "id"), id);
	cr_assert_eq(json_array_size(get(g, "groups", JSON_ARRAY)), ngroups);
	cr_assert_eq(json_array_size(get(g, "checks", JSON_ARRAY)), nchecks);
}

static void assert_check(json_t *c, const char *name, const char *path, const char *id, int passes,
                         int fails)
{
	cr_assert_str_eq(keys(c), "name,path,id,passes,fails");
	cr_assert_str_eq(str(c, "name"), name);
	cr_assert_str_eq(str(c, "path"), path);
	cr_assert_str_eq(str(c, "id"), id);
	cr_assert_eq(json_integer_value(get(c, "passes", JSON_INTEGER)), passes);
	cr_assert_eq(json_integer_value(get(c, "fails", JSON_INTEGER)), fails);
}

Test(k6, data_top_level)
{
	json_t *d = k6_summary_data(&res, &env);
	cr_assert_str_eq(keys(d), "root_group,options,state,metrics,setup_data");
	json_t *o = get(d, "options", JSON_OBJECT);
	cr_assert_str_eq(keys(o), "summaryTrendStats,summaryTimeUnit,noColor");
	json_t *ts = get(o, "summaryTrendStats", JSON_ARRAY);
	const char *want[] = { "avg", "min", "med", "max", "p(90)", "p(95)" };
	cr_assert_eq(json_array_size(ts), ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		cr_assert_str_eq(json_string_value(json_array_get(ts, i)), want[i]);
	cr_assert_str_eq(str(o, "summaryTimeUnit"), "ms");
	cr_assert(json_is_false(get(o, "noColor", JSON_FALSE)));
	json_t *s = get(d, "state", JSON_OBJECT);
	cr_assert_str_eq(keys(s), "isStdOutTTY,isStdErrTTY,testRunDurationMs");
	cr_assert(json_is_false(json_object_get(s, "isStdOutTTY")));
	cr_assert(json_is_true(json_object_get(s, "isStdErrTTY")));
	cr_assert_float_eq(num(s, "testRunDurationMs"), 2000.0, 1e-9);
	cr_assert_str_eq(str(get(d, "setup_data", JSON_OBJECT), "token"), "abc");
	json_decref(d);
}

Test(k6, data_without_setup_and_with_no_color)
{
	json_decref(res.setup_data);
	res.setup_data = NULL;
	setenv("NO_COLOR", "1", 1);
	json_t *d = k6_summary_data(&res, &env);
	cr_assert_null(json_object_get(d, "setup_data"), "no setup(): no setup_data (undefined)");
	cr_assert(json_is_true(json_object_get(json_object_get(d, "options"), "noColor")));
	json_decref(d);
}

Test(k6, data_root_group)
{
	json_t *d = k6_summary_data(&res, &env);
	json_t *root = get(d, "root_group", JSON_OBJECT);
	assert_group(root, "", "", ID_ROOT, 1, 1);
	assert_check(json_array_get(json_object_get(root, "checks"), 0), "root ok", "::root ok",
	             ID_C_ROOT, 3, 0);
	json_t *api = json_array_get(json_object_get(root, "groups"), 0);
	assert_group(api, "api", "::api", ID_API, 1, 1);
	assert_check(json_array_get(json_object_get(api, "checks"), 0), "status 200",
	             "::api::status 200", ID_C_API, 8, 2);
	json_t *inner = json_array_get(json_object_get(api, "groups"), 0);
	assert_group(inner, "inner", "::api::inner", ID_INNER, 0, 1);
	assert_check(json_array_get(json_object_get(inner, "checks"), 0), "deep",
	             "::api::inner::deep", ID_C_DEEP, 1, 1);
	json_decref(d);
}

Test(k6, data_metrics_values_per_type)
{
	json_t *d = k6_summary_data(&res, &env);
	json_t *ms = get(d, "metrics", JSON_OBJECT);
	cr_assert_null(json_object_get(ms, "iteration_duration"), "a metric without samples");

	json_t *m = get(ms, "http_reqs", JSON_OBJECT);
	cr_assert_str_eq(keys(m), "type,contains,values");
	cr_assert_str_eq(str(m, "type"), "counter");
	cr_assert_str_eq(str(m, "contains"), "default");
	json_t *v = get(m, "values", JSON_OBJECT);
	cr_assert_str_eq(keys(v), "count,rate");
	cr_assert_float_eq(num(v, "count"), 10, 1e-9);
	cr_assert_float_eq(num(v, "rate"), 5, 1e-9);

	m = get(ms, "data_received", JSON_OBJECT);
	cr_assert_str_eq(str(m, "contains"), "data");
	cr_assert_float_eq(num(get(m, "values", JSON_OBJECT), "count"), 4096, 1e-9);

	m = get(ms, "http_req_failed", JSON_OBJECT);
	cr_assert_str_eq(keys(m), "type,contains,values,thresholds");
	cr_assert_str_eq(str(m, "type"), "rate");
	v = get(m, "values", JSON_OBJECT);
	cr_assert_str_eq(keys(v), "rate,passes,fails");
	cr_assert_float_eq(num(v, "rate"), 0.2, 1e-9);
	cr_assert_float_eq(num(v, "passes"), 2, 1e-9);
	cr_assert_float_eq(num(v, "fails"), 8, 1e-9);

	m = get(ms, "vus", JSON_OBJECT);
	cr_assert_str_eq(str(m, "type"), "gauge");
	v = get(m, "values", JSON_OBJECT);
	cr_assert_str_eq(keys(v), "value,min,max");
	cr_assert_float_eq(num(v, "value"), 5, 1e-9);
	cr_assert_float_eq(num(v, "min"), 1, 1e-9);
	cr_assert_float_eq(num(v, "max"), 10, 1e-9);

	m = get(ms, "http_req_duration", JSON_OBJECT);
	cr_assert_str_eq(str(m, "type"), "trend");
	cr_assert_str_eq(str(m, "contains"), "time");
	v = get(m, "values", JSON_OBJECT);
	cr_assert_str_eq(keys(v), "avg,min,med,max,p(90),p(95)");
	cr_assert_float_eq(num(v, "min"), 1.0, 0.01);
	cr_assert_float_eq(num(v, "max"), 100.0, 0.1);
	cr_assert_float_eq(num(v, "avg"), (36.0 + 200.0) / 10, 0.05);

	/* k6's expected_response sub-metric (on by default) */
	m = get(ms, "http_req_duration{expected_response:true}", JSON_OBJECT);
	cr_assert_float_eq(num(get(m, "values", JSON_OBJECT), "max"), 8.0, 0.01);
	json_decref(d);
}

Test(k6, data_trend_stats_option)
{
	res.trend_stats = json_pack("[s,s,s]", "count", "p(99.9)", "min");
	json_t *d = k6_summary_data(&res, &env);
	json_t *v = json_object_get(
	    json_object_get(json_object_get(d, "metrics"), "http_req_duration"), "values");
	cr_assert_str_eq(keys(v), "count,p(99.9),min");
	cr_assert_float_eq(num(v, "count"), 10, 1e-9);
	json_t *ts = json_object_get(json_object_get(d, "options"), "summaryTrendStats");
	cr_assert_eq(json_array_size(ts), 3);
	json_decref(d);
	json_decref(res.trend_stats);
	res.trend_stats = NULL;
}

Test(k6, data_thresholds_and_sub_metrics)
{
	json_t *d = k6_summary_data(&res, &env);
	json_t *ms = get(d, "metrics", JSON_OBJECT);

	json_t *m = get(ms, "http_req_duration{status:200}", JSON_OBJECT);
	cr_assert_str_eq(keys(m), "type,contains,values,thresholds");
	cr_assert_str_eq(str(m, "type"), "trend");
	cr_assert_float_eq(num(get(m, "values", JSON_OBJECT), "max"), 8.0, 0.01);
	json_t *th = get(m, "thresholds", JSON_OBJECT);
	cr_assert_str_eq(keys(th), "p(95)<100");
	json_t *t = get(th, "p(95)<100", JSON_OBJECT);
	cr_assert_str_eq(keys(t), "ok");
	cr_assert(json_is_true(json_object_get(t, "ok")));

	m = get(ms, "http_reqs{status:500}", JSON_OBJECT);
	cr_assert_float_eq(num(get(m, "values", JSON_OBJECT), "count"), 2, 1e-9);
	t = get(get(m, "thresholds", JSON_OBJECT), "count<1", JSON_OBJECT);
	cr_assert(json_is_false(json_object_get(t, "ok")));

	cr_assert(json_is_true(json_object_get(
	    get(get(get(ms, "http_req_failed", JSON_OBJECT), "thresholds", JSON_OBJECT), "rate<0.5",
	        JSON_OBJECT),
	    "ok")));
	/* The CLI form "METRIC: EXPR" is keyed by its expression, as in a script. */
	cr_assert_not_null(json_object_get(
	    get(get(ms, "checks", JSON_OBJECT), "thresholds", JSON_OBJECT), "rate>0.5"));
	cr_assert_null(json_object_get(get(ms, "http_reqs", JSON_OBJECT), "thresholds"),
	               "a sub-metric's thresholds are not on its parent");
	json_decref(d);
}

Test(k6, data_empty_sub_metric)
{
	static const struct result_tag s404[] = { { "status", "404" } };
	struct result_threshold extra[] = {
		thresholds[0],
		thresholds[1],
		thresholds[2],
		{ .source = "p(90)<5",
		  .metric = "http_req_duration",
		  .selector = "http_req_duration{status:404}",
		  .ntags = 1,
		  .tags = s404,
		  .expr = "p(90)<5",
		  .stat = "p(90)",
		  .ok = false,
		  .value = NAN },
		{ .source = "max<5",
		  .metric = "iteration_duration",
		  .selector = "iteration_duration",
		  .expr = "max<5",
		  .stat = "max",
		  .ok = false,
		  .value = NAN },
	};
	res.thresholds = extra;
	res.nthresholds = (int)ARRAY_SIZE(extra);
	json_t *d = k6_summary_data(&res, &env);
	json_t *ms = get(d, "metrics", JSON_OBJECT);
	/* shown with an empty sink's values (0), as k6 marks it observed */
	json_t *v =
	    get(get(ms, "http_req_duration{status:404}", JSON_OBJECT), "values", JSON_OBJECT);
	cr_assert_str_eq(keys(v), "avg,min,med,max,p(90),p(95)");
	cr_assert_eq(num(v, "p(90)"), 0);
	v = get(get(ms, "iteration_duration", JSON_OBJECT), "values", JSON_OBJECT);
	cr_assert_eq(num(v, "max"), 0);
	char *text = json_dumps(d, 0);
	cr_assert_not_null(text, "the document encodes (no NaN)");
	free(text);
	json_decref(d);
	res.thresholds = thresholds;
	res.nthresholds = (int)ARRAY_SIZE(thresholds);
}

/* --- the legacy export ------------------------------------------------------------ */

static int count_failed(json_t *ms, int *total)
{
	int failed = 0;
	const char *name;
	json_t *m;
	*total = 0;
	json_object_foreach(ms, name, m)
	{
		json_t *th = json_object_get(m, "thresholds");
		const char *expr;
		json_t *b;
		json_object_foreach(th, expr, b)
		{
			cr_assert(json_is_boolean(b), "%s %s: not a boolean", name, expr);
			(*total)++;
			failed += json_is_true(b);
		}
	}
	return failed;
}

Test(k6, legacy_top_level_and_thresholds)
{
	json_t *d = k6_legacy_export(&res, &env);
	cr_assert_str_eq(keys(d), "root_group,metrics,setup_data");
	json_t *ms = get(d, "metrics", JSON_OBJECT);
	int total;
	cr_assert_eq(count_failed(ms, &total), 1, "exactly one threshold failed");
	cr_assert_eq(total, 4);
	json_t *th = get(get(ms, "http_reqs{status:500}", JSON_OBJECT), "thresholds", JSON_OBJECT);
	cr_assert(json_is_true(json_object_get(th, "count<1")), "true means failed");
	th = get(get(ms, "http_req_duration{status:200}", JSON_OBJECT), "thresholds", JSON_OBJECT);
	cr_assert(json_is_false(json_object_get(th, "p(95)<100")));
	json_decref(d);
}

Test(k6, legacy_metrics_flattened)
{
	json_t *d = k6_legacy_export(&res, &env);
	json_t *ms = get(d, "metrics", JSON_OBJECT);
	json_t *m = get(ms, "http_reqs", JSON_OBJECT);
	cr_assert_str_eq(keys(m), "count,rate");
	cr_assert_float_eq(num(m, "count"), 10, 1e-9);
	m = get(ms, "http_req_failed", JSON_OBJECT);
	cr_assert_str_eq(keys(m), "passes,fails,thresholds,value", "a rate's 'rate' is 'value'");
	cr_assert_float_eq(num(m, "value"), 0.2, 1e-9);
	m = get(ms, "checks", JSON_OBJECT);
	cr_assert_str_eq(keys(m), "passes,fails,thresholds,value");
	m = get(ms, "vus", JSON_OBJECT);
	cr_assert_str_eq(keys(m), "value,min,max");
	m = get(ms, "http_req_duration", JSON_OBJECT);
	cr_assert_str_eq(keys(m), "avg,min,med,max,p(90),p(95)");
	m = get(ms, "http_req_duration{status:200}", JSON_OBJECT);
	cr_assert_str_eq(keys(m), "avg,min,med,max,p(90),p(95),thresholds");
	json_decref(d);
}

Test(k6, legacy_root_group_keyed_by_name)
{
	json_t *d = k6_legacy_export(&res, &env);
	json_t *root = get(d, "root_group", JSON_OBJECT);
	cr_assert_str_eq(keys(root), "name,path,id,groups,checks");
	cr_assert_str_eq(str(root, "id"), ID_ROOT);
	json_t *c = get(get(root, "checks", JSON_OBJECT), "root ok", JSON_OBJECT);
	assert_check(c, "root ok", "::root ok", ID_C_ROOT, 3, 0);
	json_t *api = get(get(root, "groups", JSON_OBJECT), "api", JSON_OBJECT);
	cr_assert_str_eq(str(api, "id"), ID_API);
	c = get(get(api, "checks", JSON_OBJECT), "status 200", JSON_OBJECT);
	assert_check(c, "status 200", "::api::status 200", ID_C_API, 8, 2);
	json_t *inner = get(get(api, "groups", JSON_OBJECT), "inner", JSON_OBJECT);
	cr_assert_eq(json_object_size(get(inner, "groups", JSON_OBJECT)), 0);
	c = get(get(inner, "checks", JSON_OBJECT), "deep", JSON_OBJECT);
	assert_check(c, "deep", "::api::inner::deep", ID_C_DEEP, 1, 1);
	json_decref(d);
}

Test(k6, legacy_empty_result)
{
	struct result empty = { .options = json_object(), .analyses = json_object() };
	json_t *d = k6_legacy_export(&empty, NULL);
	cr_assert_str_eq(keys(d), "root_group,metrics");
	cr_assert_eq(json_object_size(json_object_get(d, "metrics")), 0);
	json_decref(d);
	json_decref(empty.options);
	json_decref(empty.analyses);
}

/* --- output_k6_export ------------------------------------------------------------- */

Test(k6, export_output_writes_the_legacy_document)
{
	char dir[] = "/tmp/test_k6.XXXXXX", path[64], err[256] = "";
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/summary.json", dir);
	struct output o = { .ops = &output_k6_export, .arg = path, .env = &env };
	cr_assert_str_eq(output_k6_export.name, "summary-export");
	cr_assert_eq(o.ops->open(&o, err, sizeof(err)), 0, "%s", err);
	o.ops->interval(&o, &(struct result_interval){ 0 });
	cr_assert_eq(o.ops->finish(&o, &res, err, sizeof(err)), 0, "%s", err);
	o.ops->close(&o);

	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	char text[16384];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	cr_assert(n > 2 && text[n - 1] == '\n' && text[n - 2] == '}', "ends with '}\\n'");
	cr_assert_eq(strncmp(text, "{\n    \"root_group\": {\n        \"name\"", 36), 0,
	             "indented by 4 spaces: %.60s", text);
	json_error_t jerr;
	json_t *back = json_loads(text, 0, &jerr);
	cr_assert_not_null(back, "%s", jerr.text);
	json_t *want = k6_legacy_export(&res, &env);
	cr_assert(json_equal(back, want));
	json_decref(want);
	json_decref(back);
	unlink(path);
	rmdir(dir);
}

Test(k6, export_output_open_errors)
{
	char err[256] = "";
	struct output o = { .ops = &output_k6_export, .arg = "", .env = &env };
	cr_assert_eq(o.ops->open(&o, err, sizeof(err)), -EINVAL);
	o.arg = "/nonexistent-dir-k6-test/summary.json";
	err[0] = '\0';
	cr_assert_lt(o.ops->open(&o, err, sizeof(err)), 0);
	cr_assert(strstr(err, "/nonexistent-dir-k6-test") != NULL, "message names the path: %s",
	          err);
}
