/* test_result.c: the result model: built from the metrics layer, its statistics, the
 * stampede-result/1 document and its round trip (load then write gives the same bytes),
 * and the loader's errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "metrics/metrics.h"
#include "metrics/threshold.h"
#include "result/build.h"
#include "util/common.h"

#include <unistd.h>

static struct registry reg;
static struct aggregate agg;
#define NTHR 5
static struct threshold thr[NTHR];
static int snapshots, snapshot_samples;

static void on_snapshot(void *ctx, const struct result_interval *iv)
{
	snapshots++;
	snapshot_samples += iv->nsamples;
	const struct result_sample *m = result_interval_metric(iv, "http_reqs");
	cr_assert(m, "interval %d has http_reqs", iv->t);
	cr_expect_eq(m->series, -1);
	cr_expect_eq(m->v.sum, 2.0 + iv->t, "interval %d: %g requests", iv->t, m->v.sum);
}

/* Two intervals of samples: requests with two names and a failure, a custom gauge set from
 * two series (the later sample wins), a rate, a check in a nested group. */
static struct result *build(void)
{
	static struct result_snapshots snaps;
	registry_init(&reg);
	aggregate_init(&agg, &reg);
	snaps = (struct result_snapshots){ .reg = &reg, .emit = on_snapshot };
	agg.on_interval = result_snapshot_emit;
	agg.on_interval_ctx = &snaps;
	int gauge = registry_metric(&reg, "queue_depth", MT_GAUGE, MU_NONE);
	int ratio = registry_metric(&reg, "cache_hits", MT_RATE, MU_NONE);
	int fractions = registry_metric(&reg, "fractions", MT_COUNTER, MU_NONE);
	int noisy = registry_metric(&reg, "noisy_gauge", MT_GAUGE, MU_NONE);
	struct tag a[] = { { "name", "/a" }, { "status", "200" } };
	struct tag b[] = { { "name", "/b \"quoted\" é" },
		           { "status", "503" },
		           { "expected_response", "false" } };
	struct tag chk[] = { { "check", "is 200" }, { "group", "::outer::inner" } };
	for (int t = 0; t < 2; t++) {
		struct sink *s = sink_new();
		s->interval = t;
		int ra = registry_series(&reg, M_HTTP_REQS, a, 2);
		int rb = registry_series(&reg, M_HTTP_REQS, b, 3);
		sink_add(s, ra, 1 + t);
		sink_add(s, rb, 1);
		for (int i = 0; i < 1 + t; i++)
			sink_trend(s, registry_series(&reg, M_HTTP_REQ_DURATION, a, 2),
			           1000 * (i + 1));
		sink_trend(s, registry_series(&reg, M_HTTP_REQ_DURATION, b, 3), 250000);
		sink_rate(s, registry_series(&reg, M_HTTP_REQ_FAILED, a, 2), false);
		sink_rate(s, registry_series(&reg, M_HTTP_REQ_FAILED, b, 3), true);
		sink_gauge(s, registry_series(&reg, gauge, a, 1), 10 + t);
		sink_gauge(s, registry_series(&reg, gauge, b, 1), 20 + t); /* the later one */
		sink_rate(s, registry_series(&reg, ratio, NULL, 0), t == 1);
		for (int i = 0; i < 3; i++) /* 0.1 + 0.1 + 0.1 = 0.30000000000000004 */
			sink_add(s, registry_series(&reg, fractions, NULL, 0), 0.1);
		sink_gauge(s, registry_series(&reg, noisy, NULL, 0), 0.1 + 0.2);
		sink_rate(s, registry_series(&reg, M_CHECKS, chk, 2), t == 0);
		aggregate_add_sink(&agg, s);
		aggregate_close_interval(&agg, t);
		sink_free(s);
	}
	const char *specs[] = { "http_req_duration: p(95)<200", "http_req_failed: rate<0.1",
		                "http_req_duration{name:/a}: max<=2", "queue_depth: value==21",
		                /* 0.1 * 6 = 0.6000000000000001: a value with binary noise */
		                "fractions: count<1" };
	char err[256];
	for (int i = 0; i < NTHR; i++)
		cr_assert_eq(threshold_parse(specs[i], &thr[i], err, sizeof(err)), 0, "%s", err);
	json_t *opts = json_pack("{s:s,s:i}", "url", "http://127.0.0.1:1/", "vus", 2);
	json_t *serr = json_pack("[{s:s,s:i}]", "message", "boom at x.lua:3", "count", 4);
	json_t *setup = json_pack("{s:i}", "token", 7);
	struct result_run_info info = {
		.version = "test",
		.options = opts,
		.start_wall_us = 1700000000123456,
		.duration_s = 2.0391219999999998, /* as measured: 17 digits of binary noise */
		.thr = thr,
		.nthr = NTHR,
		.script_errors = serr,
		.setup_data = setup,
		.gen = { .threads = 2, .cpu_percent = 12.5, .max_rss_kb = 1234 },
	};
	struct result *r = result_build(&reg, &agg, &info);
	json_decref(opts);
	json_decref(serr);
	json_decref(setup);
	result_snapshots_free(&snaps);
	return r;
}

static void teardown_all(void)
{
	for (int i = 0; i < NTHR; i++)
		threshold_free(&thr[i]);
	aggregate_destroy(&agg);
	registry_destroy(&reg);
}

TestSuite(result, .fini = teardown_all);

Test(result, built_from_the_metrics_layer)
{
	struct result *r = build();
	cr_expect_eq(snapshots, 2, "one snapshot per interval");
	cr_expect_gt(snapshot_samples, 0);
	int m = result_find_metric(r, "http_reqs");
	struct result_values v;
	cr_assert(result_combine(r, m, NULL, 0, &v));
	cr_expect_eq(v.sum, 5);
	struct result_tag only_a[] = { { "name", "/a" } };
	result_combine(r, m, only_a, 1, &v);
	cr_expect_eq(v.sum, 3);
	double x;
	int d = result_find_metric(r, "http_req_duration");
	result_combine(r, d, NULL, 0, &v);
	cr_assert(result_stat(&v, RU_TIME, "count", 2, &x));
	cr_expect_eq(x, 5);
	cr_assert(result_stat(&v, RU_TIME, "max", 2, &x));
	cr_expect(fabs(x - 250) < 0.5, "max %g ms", x);
	result_values_free(&v);
	int g = result_find_metric(r, "queue_depth");
	result_combine(r, g, NULL, 0, &v);
	cr_expect_eq(v.g_last, 21, "the gauge's latest sample wins: %g", v.g_last);
	cr_expect_eq(v.g_min, 10);
	cr_expect_eq(r->nerrors, 1);
	cr_expect_str_eq(r->errors[0].kind, "status_503");
	cr_expect_eq(r->errors[0].count, 2);
	cr_expect_eq(r->nchecks, 1);
	cr_expect_str_eq(r->checks[0].group, "::outer::inner");
	cr_expect_eq(r->checks[0].passes, 1);
	cr_expect_eq(r->checks[0].fails, 1);
	cr_expect_eq(r->ngroups, 2, "::outer and ::outer::inner");
	/* p(95) of {1,1,2,250,250} ms fails < 200; failed rate 2/5 fails; max{name:/a} = 2 ok;
	 * the gauge's value 21 ok */
	cr_expect(!r->thresholds[0].ok && !r->thresholds[1].ok);
	cr_expect(r->thresholds[2].ok, "max{name:/a} = %g", r->thresholds[2].value);
	cr_expect(r->thresholds[3].ok, "value = %g", r->thresholds[3].value);
	cr_expect_eq(result_thresholds_failed(r), 2);
	result_free(r);
}

/* The most significant digits of any real (with '.' or an exponent) in JSON text. */
static int longest_number(const char *t)
{
	int most = 0;
	bool in_str = false;
	for (const char *p = t; *p; p++) {
		if (in_str) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				in_str = false;
			continue;
		}
		if (*p == '"') {
			in_str = true;
			continue;
		}
		if (!(*p >= '0' && *p <= '9'))
			continue;
		int digits = 0;
		bool lead = true, real = false;
		for (; (*p >= '0' && *p <= '9') || *p == '.'; p++) {
			if (*p == '.') {
				real = true;
				continue;
			}
			lead = lead && *p == '0';
			digits += !lead;
		}
		real = real || *p == 'e' || *p == 'E';
		while (*p == 'e' || *p == 'E' || *p == '+' || *p == '-' || (*p >= '0' && *p <= '9'))
			p++;
		if (real)
			most = MAX(most, digits);
		p--;
	}
	return most;
}

Test(result, round_trip_gives_the_same_document)
{
	struct result *r = build();
	char path[] = "/tmp/stampede-test-result-XXXXXX", path2[64];
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
	snprintf(path2, sizeof(path2), "%s.2", path);
	char err[512] = "";
	cr_assert_eq(result_write(path, r, err, sizeof(err)), 0, "%s", err);
	struct result *back = result_load(path, err, sizeof(err));
	cr_assert(back, "%s", err);
	cr_assert_eq(result_write(path2, back, err, sizeof(err)), 0, "%s", err);
	char *a = NULL, *b = NULL;
	size_t la, lb;
	cr_assert_eq(read_file_max(path, 1 << 24, &a, &la), 0);
	cr_assert_eq(read_file_max(path2, 1 << 24, &b, &lb), 0);
	unlink(path);
	unlink(path2);
	cr_expect_str_eq(b, a, "load then write changes the document");
	cr_expect_leq(longest_number(a), 15, "numbers carry binary noise (17 digits)");
	cr_expect_eq(back->nthresholds, NTHR);
	/* what a run's outputs show is what `report` shows from its file: the values agree */
	for (int i = 0; i < NTHR; i++)
		cr_expect(r->thresholds[i].value == back->thresholds[i].value ||
		              (isnan(r->thresholds[i].value) && isnan(back->thresholds[i].value)),
		          "threshold %s: %.17g at run time, %.17g from the file",
		          r->thresholds[i].selector, r->thresholds[i].value,
		          back->thresholds[i].value);
	cr_expect_eq(result_thresholds_failed(back), 2);
	/* the loaded result evaluates its thresholds to the same verdicts */
	cr_expect_eq(result_eval_thresholds(back), 2);
	free(a);
	free(b);
	result_free(back);
	result_free(r);
}

static void expect_refused(const char *text, const char *why)
{
	json_error_t je;
	json_t *doc = json_loads(text, JSON_DECODE_ANY, &je);
	cr_assert(doc, "test JSON: %s", je.text);
	char err[512] = "";
	struct result *r = result_from_json(doc, err, sizeof(err));
	cr_expect_null(r, "accepted: %s", text);
	cr_expect(strstr(err, why), "'%s' does not say '%s'", err, why);
	result_free(r);
	json_decref(doc);
}

Test(result, loader_says_what_is_wrong)
{
	expect_refused("[]", "not a JSON object");
	expect_refused("{\"metrics\":{}}", "not a stampede result file");
	expect_refused("{\"format\":\"stampede-result/9\"}", "stampede-result/9");
	expect_refused("{\"format\":\"stampede-result/1\",\"state\":{}}", "metrics");
	const char *head = "{\"format\":\"stampede-result/1\",\"state\":{},\"thresholds\":[],"
	                   "\"root_group\":{\"name\":\"\",\"path\":\"\",\"groups\":[],"
	                   "\"checks\":[]},\"metrics\":";
	char buf[1024];
	snprintf(buf, sizeof(buf),
	         "%s{\"d\":{\"type\":\"trend\",\"contains\":\"time\",\"timeseries\":{\"step\":1,"
	         "\"points\":[]},\"series\":[{\"tags\":{},\"values\":{},\"histogram\":\"HISTxx\","
	         "\"timeseries\":{\"step\":1,\"points\":[]}}]}}}",
	         head);
	expect_refused(buf, "metrics.d.series[0].histogram");
	snprintf(buf, sizeof(buf),
	         "%s{\"d\":{\"type\":\"histogram\",\"series\":[],\"timeseries\":{}}}}", head);
	expect_refused(buf, "metrics.d.type");
	snprintf(buf, sizeof(buf),
	         "%s{\"c\":{\"type\":\"counter\",\"timeseries\":{\"step\":1,\"points\":[[0]]},"
	         "\"series\":[]}}}",
	         head);
	expect_refused(buf, "points[0]");
	/* points out of order, in another column order, or with a negative count: read
	 * as they are they would be other seconds' or other statistics' values */
	static const char *const bad_ts[][2] = {
		{ "\"points\":[[2,1],[1,1]]", "points[1]: t must be whole seconds" },
		{ "\"points\":[[0,1],[0,1]]", "points[1]: t must be whole seconds" },
		{ "\"points\":[[-1,1]]", "points[0]: t must be whole seconds" },
		{ "\"points\":[[0.5,1]]", "points[0]: t must be whole seconds" },
		{ "\"points\":[[0,-3]]", "points[0]: a count of 0 or more" },
		{ "\"columns\":[\"count\",\"t\"],\"points\":[]", "timeseries.columns" },
	};
	for (size_t i = 0; i < sizeof(bad_ts) / sizeof(bad_ts[0]); i++) {
		snprintf(buf, sizeof(buf),
		         "%s{\"c\":{\"type\":\"counter\",\"timeseries\":{\"step\":1,%s},"
		         "\"series\":[]}}}",
		         head, bad_ts[i][0]);
		expect_refused(buf, bad_ts[i][1]);
	}
	snprintf(buf, sizeof(buf),
	         "%s{\"r\":{\"type\":\"rate\",\"timeseries\":{\"step\":1,\"points\":[]},"
	         "\"series\":[{\"tags\":{},\"values\":{\"passes\":-1,\"fails\":2},"
	         "\"timeseries\":{\"step\":1,\"points\":[]}}]}}}",
	         head);
	expect_refused(buf, "passes and fails must be 0 to 2^53");
	const char *checks = "{\"format\":\"stampede-result/1\",\"state\":{},\"thresholds\":[],"
	                     "\"metrics\":{},\"root_group\":{\"name\":\"\",\"path\":\"\","
	                     "\"groups\":[],\"checks\":[{\"name\":\"c\",\"passes\":"
	                     "9223372036854775807,\"fails\":1}]}}";
	expect_refused(checks, "check 'c': passes and fails must be 0 to 2^53");
}

/* A result of one counter name whose series are given as JSON text. */
static void counter_doc(char *buf, size_t len, const char *name, const char *series)
{
	snprintf(buf, len,
	         "{\"format\":\"stampede-result/1\",\"state\":{},\"thresholds\":[],"
	         "\"root_group\":{\"name\":\"\",\"path\":\"\",\"groups\":[],\"checks\":[]},"
	         "\"metrics\":{\"%s\":{\"type\":\"counter\",\"timeseries\":{\"step\":1,"
	         "\"points\":[]},\"series\":[%s]}}}",
	         name, series);
}

static void expect_loaded(const char *text)
{
	json_error_t je;
	json_t *doc = json_loads(text, 0, &je);
	cr_assert(doc, "test JSON: %s", je.text);
	char err[512] = "";
	struct result *r = result_from_json(doc, err, sizeof(err));
	cr_expect_not_null(r, "refused (%s): %s", err, text);
	result_free(r);
	json_decref(doc);
}

#define SERIES(tags, count)                                                                        \
	"{\"tags\":" tags ",\"values\":{\"count\":" count "},\"timeseries\":{\"step\":1,"          \
	"\"points\":[]}}"

/* A hand-edited part would merge into counts no run measured: the loader refuses request
 * and iteration counts that are not whole numbers from 0 to 2^53, a built-in counter that
 * went down, and one tag set given twice in a metric; a script's own counter may hold any
 * finite number (Counter.add() takes fractions and negative numbers, as in k6). */
Test(result, loader_refuses_counts_no_run_writes)
{
	char buf[2048];
	static const char *const bad[][3] = {
		{ "http_reqs", SERIES("{}", "-5"),
		  "metrics.http_reqs.series[0].values.count: -5 is out of range (expected a "
		  "whole number of requests" },
		{ "http_reqs", SERIES("{}", "10.5"),
		  "metrics.http_reqs.series[0].values.count: 10.5 is out of range" },
		{ "http_reqs", SERIES("{}", "1e300"),
		  "metrics.http_reqs.series[0].values.count: 1.0000000000000001e+300 is out of "
		  "range" },
		{ "iterations", SERIES("{}", "-1"), "a whole number of iterations" },
		{ "dropped_iterations", SERIES("{}", "0.5"), "a whole number of iterations" },
		{ "data_sent", SERIES("{}", "-1"), "never goes down" },
		{ "http_reqs",
		  SERIES("{\"status\":\"200\"}",
		         "9007199254740992") "," SERIES("{\"status\":\"500\"}", "9007199254740992"),
		  "metrics.http_reqs: its series' counts add up to" },
		{ "c", SERIES("{}", "1e308") "," SERIES("{\"a\":\"b\"}", "1e308"),
		  "metrics.c: its series' counts add up to inf" },
		{ "http_reqs",
		  SERIES("{\"status\":\"200\",\"method\":\"GET\"}", "3") "," SERIES(
		      "{\"status\":\"500\"}", "1") "," SERIES("{\"method\":\"GET\","
		                                              "\"status\":\"200\"}",
		                                              "3"),
		  "metrics.http_reqs.series[2] has the tags of metrics.http_reqs.series[0]" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		counter_doc(buf, sizeof(buf), bad[i][0], bad[i][1]);
		expect_refused(buf, bad[i][2]);
	}
	static const char *const good[][2] = {
		{ "c", SERIES("{}", "-0.5") },
		{ "c", SERIES("{}", "10.25") },
		{ "data_sent", SERIES("{}", "1e300") },
		{ "http_reqs", SERIES("{}", "9007199254740992") },
		{ "http_reqs", SERIES("{\"status\":\"200\"}", "3") "," SERIES("{}", "4") },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		counter_doc(buf, sizeof(buf), good[i][0], good[i][1]);
		expect_loaded(buf);
	}
	/* one tag set in the overflow series and in its own is not a repeat */
	counter_doc(buf, sizeof(buf), "http_reqs",
	            SERIES("{}", "1") ",{\"tags\":{},\"overflow\":true,\"values\":{\"count\":2},"
	                              "\"timeseries\":{\"step\":1,\"points\":[]}}");
	expect_loaded(buf);
	/* a point is a float: a larger number would be read as infinity */
	counter_doc(buf, sizeof(buf), "c",
	            "{\"tags\":{},\"values\":{\"count\":1},\"timeseries\":{\"step\":1,"
	            "\"points\":[[0,1e39]]}}");
	expect_refused(buf, "metrics.c.series[0].timeseries.points[0][1]: 1e+39 is out of range");
}

/* Names and tags from scripts and servers may hold bytes that are not UTF-8: the result
 * replaces them (U+FFFD), so its JSON keeps every tag, check and message. */
Test(result, names_become_utf8)
{
	registry_init(&reg);
	aggregate_init(&agg, &reg);
	struct tag bad[] = { { "check", "ok\xff" }, { "group", "::g\xfe" } };
	struct sink *s = sink_new();
	sink_rate(s, registry_series(&reg, M_CHECKS, bad, 2), true);
	aggregate_add_sink(&agg, s);
	aggregate_close_interval(&agg, 0);
	sink_free(s);
	struct result_run_info info = { .version = "t", .duration_s = 1 };
	struct result *r = result_build(&reg, &agg, &info);
	cr_assert_eq(r->nchecks, 1);
	cr_expect_str_eq(r->checks[0].name, "ok\xef\xbf\xbd");
	cr_expect_str_eq(r->checks[0].group, "::g\xef\xbf\xbd");
	json_t *doc = result_to_json(r);
	char err[256];
	struct result *back = result_from_json(doc, err, sizeof(err));
	cr_assert(back, "%s", err);
	cr_expect_str_eq(back->checks[0].name, "ok\xef\xbf\xbd");
	result_free(back);
	json_decref(doc);
	result_free(r);
}
