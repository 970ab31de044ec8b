/* test_merge.c: result_merge: the parts of a distributed run as one result (totals,
 * gauges, time series and windows on one clock, thresholds judged again, checks and
 * errors, the segments' coverage) and the "merge" record's round trip. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "result/build.h"
#include "result/result.h"
#include "util/buf.h"
#include "util/common.h"

#define T0 INT64_C(1764540000000000) /* a start, µs since the epoch */

/* --- building parts from JSON ------------------------------------------------------ */

static json_t *doc_new(int64_t start_us, double dur_ms, const char *segment)
{
	json_t *d = json_object(), *st = json_object(), *opt = json_object();
	json_object_set_new(d, "format", json_string(RESULT_FORMAT));
	json_object_set_new(d, "version", json_string("0.1.0"));
	json_object_set_new(st, "startUnixUs", json_integer(start_us));
	json_object_set_new(st, "testRunDurationMs", json_real(dur_ms));
	json_object_set_new(d, "state", st);
	json_object_set_new(opt, "vus", json_integer(2));
	if (segment) {
		json_object_set_new(opt, "executionSegment", json_string(segment));
		json_object_set_new(opt, "executionSegmentSequence",
		                    json_string("0,1/4,1/2,3/4,1"));
	}
	json_object_set_new(d, "options", opt);
	json_object_set_new(d, "metrics", json_object());
	json_object_set_new(d, "thresholds", json_array());
	json_object_set_new(
	    d, "root_group",
	    json_pack("{s:s, s:s, s:[], s:[]}", "name", "", "path", "", "groups", "checks"));
	json_object_set_new(d, "errors", json_array());
	json_object_set_new(d, "script_errors", json_array());
	json_object_set_new(d, "generator",
	                    json_pack("{s:i, s:f, s:i, s:i}", "threads", 2, "cpu_percent", 10.0,
	                              "max_rss_kb", 1000, "saturated_seconds", 0));
	return d;
}

/* metrics[name], created with its type and unit (and an empty time series) if needed. */
static json_t *metric_of(json_t *doc, const char *name, const char *type, const char *contains)
{
	json_t *ms = json_object_get(doc, "metrics"), *m = json_object_get(ms, name);
	if (!m) {
		m = json_pack("{s:s, s:s, s:{}, s:{s:i, s:[]}, s:[]}", "type", type, "contains",
		              contains, "values", "timeseries", "step", 1, "points", "series");
		json_object_set_new(ms, name, m);
	}
	return m;
}

/* A time series {step, points} from "t:count:v0:v1..." rows separated by spaces. */
static json_t *ts_json(int step, const char *rows)
{
	json_t *pts = json_array();
	char *copy = xstrdup(rows ? rows : ""), *save = NULL;
	for (char *row = strtok_r(copy, " ", &save); row; row = strtok_r(NULL, " ", &save)) {
		json_t *p = json_array();
		char *s2 = NULL;
		for (char *x = strtok_r(row, ":", &s2); x; x = strtok_r(NULL, ":", &s2))
			json_array_append_new(p, strchr(x, '.') ? json_real(atof(x))
			                                        : json_integer(atoll(x)));
		json_array_append_new(pts, p);
	}
	free(copy);
	return json_pack("{s:i, s:o}", "step", step, "points", pts);
}

/* A series of metric name with tags (a JSON object text), its values, and time series. */
static json_t *series_add(json_t *doc, const char *name, const char *type, const char *contains,
                          const char *tags, json_t *values, int step, const char *rows)
{
	json_t *m = metric_of(doc, name, type, contains);
	json_t *s = json_object();
	json_object_set_new(s, "tags", json_loads(tags ? tags : "{}", 0, NULL));
	json_object_set_new(s, "overflow", json_false());
	json_object_set_new(s, "values", values);
	json_object_set_new(s, "timeseries", ts_json(step, rows));
	json_array_append_new(json_object_get(m, "series"), s);
	return s;
}

static void metric_ts(json_t *doc, const char *name, int step, const char *rows)
{
	json_t *m = json_object_get(json_object_get(doc, "metrics"), name);
	json_object_set_new(m, "timeseries", ts_json(step, rows));
}

static void counter(json_t *doc, const char *name, const char *tags, double count, int step,
                    const char *rows)
{
	series_add(doc, name, "counter", "default", tags, json_pack("{s:f}", "count", count), step,
	           rows);
}

static void rate(json_t *doc, const char *name, const char *tags, int passes, int fails)
{
	series_add(doc, name, "rate", "default", tags,
	           json_pack("{s:i, s:i}", "passes", passes, "fails", fails), 1, NULL);
}

static void gauge(json_t *doc, const char *name, double value, double min, double max, int seq,
                  int step, const char *rows)
{
	json_t *s = series_add(doc, name, "gauge", "default", NULL,
	                       json_pack("{s:f, s:f, s:f}", "value", value, "min", min, "max", max),
	                       step, rows);
	json_object_set_new(s, "seq", json_integer(seq));
}

static char *encode(const struct hdr *h)
{
	char *enc = NULL;
	cr_assert_eq(hdr_encode(h, &enc), 0);
	return enc;
}

/* A time trend's series holding h (µs). */
static void trend(json_t *doc, const char *name, const char *tags, const struct hdr *h, int step,
                  const char *rows)
{
	char *enc = encode(h);
	json_t *s = series_add(doc, name, "trend", "time", tags, json_object(), step, rows);
	json_object_set_new(s, "histogram", json_string(enc));
	json_object_set_new(s, "histogramExact",
	                    json_pack("{s:I, s:I, s:f}", "min", (json_int_t)h->min, "max",
	                              (json_int_t)h->max, "sum", h->sum));
	free(enc);
}

/* http_req_duration's windows: n histograms of step seconds at t[]. */
static void windows(json_t *doc, int step, int n, const int *t, struct hdr *const *h)
{
	json_t *m = metric_of(doc, "http_req_duration", "trend", "time");
	json_t *ts = json_array(), *hs = json_array();
	for (int i = 0; i < n; i++) {
		char *enc = encode(h[i]);
		json_array_append_new(ts, json_integer(t[i]));
		json_array_append_new(hs, json_string(enc));
		free(enc);
	}
	json_object_set_new(m, "windows",
	                    json_pack("{s:i, s:o, s:o}", "step", step, "t", ts, "histograms", hs));
}

static void threshold(json_t *doc, const char *metric, const char *expr, const char *stat, bool ok,
                      double value, bool aborted)
{
	char source[128];
	snprintf(source, sizeof(source), "%s: %s", metric, expr);
	json_t *t = json_pack("{s:s, s:s, s:s, s:[], s:s, s:s, s:f, s:b, s:b, s:i}", "source",
	                      source, "metric", metric, "selector", metric, "tags", "expression",
	                      expr, "stat", stat, "value", value, "ok", ok, "abortOnFail", aborted,
	                      "delayAbortEvalMs", 0);
	if (aborted)
		json_object_set_new(t, "abortedRun", json_true());
	json_array_append_new(json_object_get(doc, "thresholds"), t);
}

static struct result *load(json_t *doc)
{
	char err[512];
	struct result *r = result_from_json(doc, err, sizeof(err));
	cr_assert(r, "the test's part does not load: %s", err);
	json_decref(doc);
	return r;
}

static struct result *merge2(struct result *a, struct result *b, char *err, size_t errlen)
{
	struct result *parts[] = { a, b };
	const char *names[] = { "a.json", "b.json" };
	return result_merge(parts, names, 2, err, errlen);
}

static struct result *merged(struct result *a, struct result *b)
{
	char err[512] = "";
	struct result *r = merge2(a, b, err, sizeof(err));
	cr_assert(r, "merge failed: %s", err);
	return r;
}

static double stat_of(const struct result *r, const char *metric, const char *stat)
{
	struct result_values v;
	double x = NAN;
	int m = result_find_metric(r, metric);
	cr_assert_geq(m, 0, "%s is in the result", metric);
	result_combine(r, m, NULL, 0, &v);
	result_stat(&v, r->metrics[m].unit, stat, r->duration_s, &x);
	result_values_free(&v);
	return x;
}

static const struct result_series *series_of(const struct result *r, const char *metric,
                                             const char *tag_value)
{
	int m = result_find_metric(r, metric);
	for (int i = 0; i < r->nseries; i++) {
		const struct result_series *s = &r->series[i];
		if (s->metric != m)
			continue;
		if (!tag_value && !s->ntags)
			return s;
		for (int j = 0; tag_value && j < s->ntags; j++)
			if (!strcmp(s->tags[j].value, tag_value))
				return s;
	}
	cr_assert_fail("no series of %s with %s", metric, tag_value ? tag_value : "no tags");
	return NULL;
}

static char *dump(const struct result *r, bool without_merge)
{
	json_t *doc = result_to_json(r);
	if (without_merge)
		json_object_del(doc, "merge");
	char *s = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(15));
	json_decref(doc);
	return s;
}

/* --- totals ------------------------------------------------------------------------ */

Test(merge, counters_and_rates_add_up)
{
	json_t *a = doc_new(T0, 10000, NULL), *b = doc_new(T0, 10000, NULL);
	counter(a, "http_reqs", "{\"status\": \"200\"}", 60, 1, "0:30 1:30");
	counter(b, "http_reqs", "{\"status\": \"200\"}", 40, 1, "0:20 1:20");
	counter(b, "http_reqs", "{\"status\": \"503\"}", 5, 1, "1:5");
	rate(a, "http_req_failed", NULL, 1, 59);
	rate(b, "http_req_failed", NULL, 5, 40);
	struct result *pa = load(a), *pb = load(b), *r = merged(pa, pb);
	cr_expect_eq(series_of(r, "http_reqs", "200")->total.sum, 100);
	cr_expect_eq(series_of(r, "http_reqs", "503")->total.sum, 5);
	cr_expect_eq(stat_of(r, "http_reqs", "count"), 105);
	cr_expect_eq(stat_of(r, "http_req_failed", "passes"), 6);
	cr_expect_eq(stat_of(r, "http_req_failed", "fails"), 99);
	cr_expect_float_eq(stat_of(r, "http_req_failed", "rate"), 6.0 / 105, 1e-12);
	int n = 0;
	for (int i = 0; i < r->nseries; i++)
		n += r->series[i].metric == result_find_metric(r, "http_reqs");
	cr_expect_eq(n, 2, "series matched by their tags: %d", n);
	json_t *rec = r->merge;
	cr_expect_str_eq(json_string_value(json_object_get(rec, "coverage")), "unknown");
	cr_expect_eq(json_integer_value(json_object_get(
	                 json_array_get(json_object_get(rec, "parts"), 1), "httpReqs")),
	             45);
	result_free(r);
	result_free(pa);
	result_free(pb);
}

Test(merge, trends_merge_their_histograms_exactly)
{
	json_t *a = doc_new(T0, 10000, NULL), *b = doc_new(T0 + 500000, 10000, NULL);
	struct hdr *ha = hdr_new_default(), *hb = hdr_new_default(), *all = hdr_new_default();
	for (int i = 1; i <= 997; i++) { /* fast in one part, slow in the other */
		hdr_record(ha, 100 + i * 3);
		hdr_record(all, 100 + i * 3);
	}
	for (int i = 1; i <= 131; i++) {
		hdr_record(hb, 20000 + i * 977);
		hdr_record(all, 20000 + i * 977);
	}
	trend(a, "http_req_duration", "{\"name\": \"/\"}", ha, 1, NULL);
	trend(b, "http_req_duration", "{\"name\": \"/\"}", hb, 1, NULL);
	counter(a, "http_reqs", NULL, 997, 1, NULL);
	counter(b, "http_reqs", NULL, 131, 1, NULL);
	struct result *pa = load(a), *pb = load(b), *r = merged(pa, pb);
	const char *stats[] = { "p(99)", "p(95)", "p(90)", "med", "min", "max", "avg", "count" };
	for (size_t i = 0; i < ARRAY_SIZE(stats); i++) {
		struct result_values v = { .type = MT_TREND, .any = true, .h = all };
		double want, got = stat_of(r, "http_req_duration", stats[i]);
		cr_assert(result_stat(&v, RU_TIME, stats[i], 10, &want));
		cr_expect_eq(got, want, "%s: merged %g, one histogram of every value %g", stats[i],
		             got, want);
	}
	cr_expect_eq(series_of(r, "http_req_duration", "/")->total.h->total_count, 997 + 131);
	hdr_free(ha);
	hdr_free(hb);
	hdr_free(all);
	result_free(r);
	result_free(pa);
	result_free(pb);
}

Test(merge, vus_add_up_other_gauges_take_the_last_part_to_end)
{
	/* a ends last (10 s after its start) though it is given first */
	json_t *a = doc_new(T0, 10000, NULL), *b = doc_new(T0 + 1000000, 5000, NULL);
	gauge(a, "vus", 3, 1, 5, 7, 1, "0:1:1:1:1 1:1:3:3:3");
	gauge(b, "vus", 2, 2, 4, 9, 1, "0:1:2:2:2 1:1:4:4:4");
	gauge(a, "vus_max", 5, 5, 5, 8, 1, NULL);
	gauge(b, "vus_max", 4, 4, 4, 10, 1, NULL);
	gauge(a, "queue_depth", 7, 2, 8, 9, 1, NULL);
	gauge(b, "queue_depth", 30, 1, 40, 11, 1, NULL);
	struct result *pa = load(a), *pb = load(b), *r = merged(pa, pb);
	cr_expect_eq(stat_of(r, "vus", "value"), 5);
	cr_expect_eq(stat_of(r, "vus", "min"), 3);
	cr_expect_eq(stat_of(r, "vus", "max"), 9);
	cr_expect_eq(stat_of(r, "vus_max", "value"), 9);
	cr_expect_eq(stat_of(r, "queue_depth", "value"), 7, "the part that ended last: a");
	cr_expect_eq(stat_of(r, "queue_depth", "min"), 1);
	cr_expect_eq(stat_of(r, "queue_depth", "max"), 40);
	/* vus per second: b starts 1 s later, its second 0 is the run's second 1 */
	const struct result_series *v = series_of(r, "vus", NULL);
	cr_assert_eq(v->ts.npoints, 3);
	cr_expect_eq(v->ts.points[1].t, 1);
	cr_expect_eq(v->ts.points[1].v[0], 3 + 2);
	cr_expect_eq(v->ts.points[1].v[2], 3 + 2);
	cr_expect_eq(v->ts.points[2].v[0], 4);
	result_free(r);
	result_free(pa);
	result_free(pb);
	/* the other order: b ends last */
	a = doc_new(T0, 3000, NULL);
	b = doc_new(T0, 5000, NULL);
	gauge(a, "queue_depth", 7, 2, 8, 900, 1, NULL);
	gauge(b, "queue_depth", 30, 1, 40, 3, 1, NULL);
	pa = load(a);
	pb = load(b);
	r = merged(pa, pb);
	cr_expect_eq(stat_of(r, "queue_depth", "value"), 30, "b ended last, whatever its seq");
	result_free(r);
	result_free(pa);
	result_free(pb);
}

/* --- one clock ------------------------------------------------------------------------- */

Test(merge, time_series_align_on_the_earliest_start_at_the_coarsest_step)
{
	/* b starts 1.6 s after a (rounded: 2 s) and has 2-second points */
	json_t *a = doc_new(T0, 6000, NULL), *b = doc_new(T0 + 1600000, 6000, NULL);
	counter(a, "http_reqs", NULL, 10, 1, "0:1 1:2 2:3 3:4");
	counter(b, "http_reqs", NULL, 300, 2, "0:100 2:200");
	metric_ts(a, "http_reqs", 1, "0:1 1:2 2:3 3:4");
	metric_ts(b, "http_reqs", 2, "0:100 2:200");
	struct hdr *h = hdr_new_default();
	hdr_record(h, 1000);
	trend(a, "http_req_duration", NULL, h, 1,
	      "0:10:1.0:2.0:3.0:4.0:5.0 1:30:3.0:4.0:5.0:6.0:9.0");
	trend(b, "http_req_duration", NULL, h, 1, "0:20:7.0:8.0:9.0:10.0:11.0");
	rate(a, "http_req_failed", NULL, 1, 3);
	struct result *pa = load(a), *pb = load(b), *r = merged(pa, pb);
	cr_expect_eq(r->start_wall_us, T0);
	cr_expect_float_eq(r->duration_s, 7.6, 1e-9, "to the latest end: %g", r->duration_s);
	const struct result_timeseries *ts = &r->metrics[result_find_metric(r, "http_reqs")].ts;
	cr_assert_eq(ts->step, 2);
	cr_assert_eq(ts->npoints, 3, "%d points", ts->npoints);
	cr_expect_eq(ts->points[0].t, 0);
	cr_expect_eq(ts->points[0].count, 1 + 2);
	cr_expect_eq(ts->points[1].t, 2);
	cr_expect_eq(ts->points[1].count, 3 + 4 + 100);
	cr_expect_eq(ts->points[2].t, 4);
	cr_expect_eq(ts->points[2].count, 200);
	const struct result_series *s = series_of(r, "http_reqs", NULL);
	cr_expect_eq(s->ts.step, 2);
	cr_expect_eq(s->ts.npoints, 3);
	/* a trend's second: b's second 0 is the run's second 2, shared with nothing of a */
	const struct result_series *d = series_of(r, "http_req_duration", NULL);
	cr_assert_eq(d->ts.npoints, 3);
	cr_expect_eq(d->ts.points[1].t, 1);
	cr_expect_eq(d->ts.points[2].t, 2);
	cr_expect_eq(d->ts.points[2].count, 20);
	cr_expect_float_eq(d->ts.points[2].v[3], 10.0, 1e-6);
	hdr_free(h);
	result_free(r);
	result_free(pa);
	result_free(pb);

	/* the same second in both: count-weighted percentiles, the larger max */
	a = doc_new(T0, 2000, NULL);
	b = doc_new(T0 + 400000, 2000, NULL); /* 0.4 s: rounds to the same second */
	h = hdr_new_default();
	hdr_record(h, 1000);
	trend(a, "http_req_duration", NULL, h, 1, "0:10:1.0:2.0:3.0:4.0:50.0");
	trend(b, "http_req_duration", NULL, h, 1, "0:30:5.0:6.0:7.0:8.0:9.0");
	counter(a, "http_reqs", NULL, 1, 1, NULL);
	counter(b, "http_reqs", NULL, 1, 1, NULL);
	pa = load(a);
	pb = load(b);
	r = merged(pa, pb);
	d = series_of(r, "http_req_duration", NULL);
	cr_assert_eq(d->ts.npoints, 1);
	cr_expect_eq(d->ts.points[0].count, 40);
	cr_expect_float_eq(d->ts.points[0].v[0], (1.0 * 10 + 5.0 * 30) / 40, 1e-5);
	cr_expect_float_eq(d->ts.points[0].v[3], (4.0 * 10 + 8.0 * 30) / 40, 1e-5);
	cr_expect_eq(d->ts.points[0].v[4], 50);
	hdr_free(h);
	result_free(r);
	result_free(pa);
	result_free(pb);
}

Test(merge, series_stay_within_the_points_a_run_keeps)
{
	/* two parts of 63 one-second points each (a run's most), 40 s apart: 103 seconds */
	struct buf ra = { 0 }, rb = { 0 };
	for (int t = 0; t < 63; t++) {
		buf_printf(&ra, "%s%d:1", t ? " " : "", t);
		buf_printf(&rb, "%s%d:2", t ? " " : "", t);
	}
	json_t *a = doc_new(T0, 63000, NULL), *b = doc_new(T0 + 40000000, 63000, NULL);
	counter(a, "http_reqs", NULL, 63, 1, ra.p);
	counter(b, "http_reqs", NULL, 126, 1, rb.p);
	struct result *pa = load(a), *pb = load(b), *r = merged(pa, pb);
	const struct result_series *s = series_of(r, "http_reqs", NULL);
	cr_expect_lt(s->ts.npoints, RESULT_SERIES_POINTS_MAX, "%d points", s->ts.npoints);
	cr_expect_eq(s->ts.step, 2);
	double sum = 0;
	for (int i = 0; i < s->ts.npoints; i++)
		sum += s->ts.points[i].count;
	cr_expect_eq(sum, 63 + 126, "nothing lost by coarsening");
	buf_free(&ra);
	buf_free(&rb);
	result_free(r);
	result_free(pa);
	result_free(pb);
}

Test(merge, windows_merge_exactly_on_the_coarsest_step)
{
	/* b starts 1.7 s after a: the nearest multiple of the 2-second step is 2 s */
	json_t *a = doc_new(T0, 4000, NULL), *b = doc_new(T0 + 1700000, 4000, NULL);
	struct hdr *w[4], *both = hdr_new_default();
	for (int i = 0; i < 4; i++)
		w[i] = hdr_new_default();
	for (int i = 0; i < 100; i++) {
		hdr_record(w[0], 1000 + i);      /* a, second 0 */
		hdr_record(w[1], 5000 + i);      /* a, second 1 */
		hdr_record(w[2], 90000 + 7 * i); /* b, seconds 0-1: the run's 2-3 */
		hdr_record(w[3], 300 + i);       /* a, second 2 */
		hdr_record(both, 90000 + 7 * i);
		hdr_record(both, 300 + i);
	}
	int ta[] = { 0, 1, 2 }, tb[] = { 0 };
	struct hdr *wa[] = { w[0], w[1], w[3] }, *wb[] = { w[2] };
	windows(a, 1, 3, ta, wa);
	windows(b, 2, 1, tb, wb);
	trend(a, "http_req_duration", NULL, w[0], 1, NULL);
	trend(b, "http_req_duration", NULL, w[2], 1, NULL);
	counter(a, "http_reqs", NULL, 100, 1, NULL);
	counter(b, "http_reqs", NULL, 100, 1, NULL);
	struct result *pa = load(a), *pb = load(b), *r = merged(pa, pb);
	const struct result_windows *mw =
	    &r->metrics[result_find_metric(r, "http_req_duration")].win;
	cr_assert_eq(mw->step, 2);
	cr_assert_eq(mw->n, 2);
	cr_expect_eq(mw->t[0], 0);
	cr_expect_eq(mw->t[1], 2);
	cr_expect_eq(mw->h[0]->total_count, 200);
	cr_expect_eq(mw->h[1]->total_count, 200);
	cr_expect_eq(hdr_value_at_percentile(mw->h[1], 99), hdr_value_at_percentile(both, 99));
	cr_expect_eq(hdr_value_at_percentile(mw->h[1], 50), hdr_value_at_percentile(both, 50));
	/* a window's histogram carries bucket counts only: its max is its bucket's */
	cr_expect(hdr_values_equivalent(both, hdr_max(mw->h[1]), hdr_max(both)));
	for (int i = 0; i < 4; i++)
		hdr_free(w[i]);
	hdr_free(both);
	result_free(r);
	result_free(pa);
	result_free(pb);
}

/* --- verdicts ---------------------------------------------------------------------- */

static void fast_slow(json_t *doc, int fast, int slow)
{
	struct hdr *h = hdr_new_default();
	hdr_record_n(h, 1000, fast);   /* 1 ms */
	hdr_record_n(h, 300000, slow); /* 300 ms */
	trend(doc, "http_req_duration", NULL, h, 1, NULL);
	hdr_free(h);
}

Test(merge, thresholds_are_judged_again_on_the_merged_data)
{
	/* p(95)<100: a passes (1 slow in 100), b fails (10 of 10): merged 11 of 110 fail */
	json_t *a = doc_new(T0, 10000, NULL), *b = doc_new(T0, 10000, NULL);
	fast_slow(a, 99, 1);
	fast_slow(b, 0, 10);
	threshold(a, "http_req_duration", "p(95)<100", "p(95)", true, 1, false);
	threshold(b, "http_req_duration", "p(95)<100", "p(95)", false, 300, false);
	/* a per-second rate: the parts do 10/s and 6/s, the merged run (same 10 s) 16/s */
	counter(a, "http_reqs", NULL, 100, 1, NULL);
	counter(b, "http_reqs", NULL, 60, 1, NULL);
	threshold(a, "http_reqs", "rate<15", "rate", true, 10, false);
	threshold(b, "http_reqs", "rate<15", "rate", true, 6, false);
	threshold(b, "http_reqs", "count<100", "count", true, 60, false); /* only in b */
	struct result *pa = load(a), *pb = load(b), *r = merged(pa, pb);
	cr_assert_eq(r->nthresholds, 3, "the union: %d", r->nthresholds);
	cr_expect_str_eq(r->thresholds[0].expr, "p(95)<100");
	cr_expect(!r->thresholds[0].ok, "11 of 110 are slow: p95 is 300 ms");
	cr_expect_float_eq(r->thresholds[0].value, 300, 1);
	cr_expect(!r->thresholds[1].ok, "passes in each part, fails merged: %g/s",
	          r->thresholds[1].value);
	cr_expect_float_eq(r->thresholds[1].value, 16, 1e-9);
	cr_expect_str_eq(r->thresholds[2].expr, "count<100");
	cr_expect(!r->thresholds[2].ok);
	cr_expect_eq(result_thresholds_failed(r), 3);
	result_free(r);
	result_free(pa);
	result_free(pb);

	/* the reverse: b fails alone (10 slow of 10), merged with 1,000 fast ones it passes */
	a = doc_new(T0, 10000, NULL);
	b = doc_new(T0, 10000, NULL);
	fast_slow(a, 1000, 0);
	fast_slow(b, 0, 10);
	counter(a, "http_reqs", NULL, 1000, 1, NULL);
	counter(b, "http_reqs", NULL, 10, 1, NULL);
	threshold(a, "http_req_duration", "p(95)<100", "p(95)", true, 1, false);
	threshold(b, "http_req_duration", "p(95)<100", "p(95)", false, 300, false);
	pa = load(a);
	pb = load(b);
	r = merged(pa, pb);
	cr_expect(r->thresholds[0].ok, "merged p95 %g", r->thresholds[0].value);
	cr_expect_eq(result_thresholds_failed(r), 0);
	result_free(r);
	result_free(pa);
	result_free(pb);
}

Test(merge, a_threshold_that_aborted_a_part_stays_failed)
{
	json_t *a = doc_new(T0, 10000, NULL), *b = doc_new(T0, 10000, NULL);
	fast_slow(a, 1000, 0);
	fast_slow(b, 1000, 0);
	counter(a, "http_reqs", NULL, 1000, 1, NULL);
	counter(b, "http_reqs", NULL, 1000, 1, NULL);
	threshold(a, "http_req_duration", "p(95)<100", "p(95)", true, 1, false);
	threshold(b, "http_req_duration", "p(95)<100", "p(95)", false, 123.5, true);
	json_object_set_new(json_object_get(b, "state"), "aborted", json_true());
	json_object_set_new(json_object_get(b, "state"), "abortReason",
	                    json_string("threshold p(95)<100 failed"));
	struct result *pa = load(a), *pb = load(b), *r = merged(pa, pb);
	cr_assert_eq(r->nthresholds, 1);
	cr_expect(r->thresholds[0].aborted_run);
	cr_expect(!r->thresholds[0].ok, "the whole run's p95 passes, but it aborted b");
	cr_expect_eq(r->thresholds[0].value, 123.5, "b's failing value");
	cr_expect(r->aborted);
	cr_expect_str_eq(r->abort_reason, "threshold p(95)<100 failed");
	result_free(r);
	result_free(pa);
	result_free(pb);
}

Test(merge, checks_errors_and_state_add_up)
{
	json_t *a = doc_new(T0, 10000, NULL), *b = doc_new(T0, 10000, NULL);
	json_t *ga = json_object_get(a, "root_group"), *gb = json_object_get(b, "root_group");
	json_array_append_new(json_object_get(ga, "checks"),
	                      json_pack("{s:s, s:s, s:i, s:i}", "name", "is 200", "path",
	                                "::is 200", "passes", 10, "fails", 1));
	json_array_append_new(json_object_get(gb, "checks"),
	                      json_pack("{s:s, s:s, s:i, s:i}", "name", "is 200", "path",
	                                "::is 200", "passes", 5, "fails", 2));
	json_array_append_new(json_object_get(gb, "groups"),
	                      json_pack("{s:s, s:s, s:[], s:[{s:s, s:s, s:i, s:i}]}", "name",
	                                "login", "path", "::login", "groups", "checks", "name",
	                                "token", "path", "::login::token", "passes", 3, "fails",
	                                0));
	json_array_append_new(json_object_get(a, "errors"),
	                      json_pack("{s:s, s:i, s:s, s:i}", "kind", "request_timeout", "code",
	                                1050, "description", "timeout", "count", 3));
	json_array_append_new(json_object_get(a, "errors"),
	                      json_pack("{s:s, s:i, s:s, s:i}", "kind", "status_503", "code", 503,
	                                "description", "503", "count", 2));
	json_array_append_new(json_object_get(b, "errors"),
	                      json_pack("{s:s, s:i, s:s, s:i}", "kind", "status_503", "code", 503,
	                                "description", "503", "count", 4));
	json_array_append_new(json_object_get(a, "script_errors"),
	                      json_pack("{s:s, s:i}", "message", "boom", "count", 2));
	json_array_append_new(json_object_get(b, "script_errors"),
	                      json_pack("{s:s, s:i}", "message", "boom", "count", 5));
	json_object_set_new(json_object_get(b, "state"), "interruptedIterations", json_integer(4));
	json_object_set_new(json_object_get(a, "state"), "interruptedIterations", json_integer(1));
	json_object_set_new(json_object_get(b, "state"), "interrupted", json_true());
	json_object_set_new(json_object_get(b, "generator"), "threads", json_integer(6));
	json_object_set_new(json_object_get(b, "generator"), "cpu_percent", json_real(50));
	json_object_set_new(json_object_get(b, "generator"), "max_rss_kb", json_integer(5000));
	struct result *pa = load(a), *pb = load(b), *r = merged(pa, pb);
	cr_assert_eq(r->nchecks, 2);
	cr_expect_str_eq(r->checks[0].name, "is 200");
	cr_expect_eq(r->checks[0].passes, 15);
	cr_expect_eq(r->checks[0].fails, 3);
	cr_expect_str_eq(r->checks[1].group, "::login");
	cr_expect_eq(r->checks[1].passes, 3);
	cr_assert_eq(r->ngroups, 1);
	cr_assert_eq(r->nerrors, 2);
	cr_expect_str_eq(r->errors[0].kind, "status_503", "largest first");
	cr_expect_eq(r->errors[0].count, 6);
	cr_expect_eq(r->errors[1].count, 3);
	cr_assert_eq(r->nscript_errors, 1);
	cr_expect_eq(r->script_errors[0].count, 7);
	cr_expect(r->interrupted);
	cr_expect_eq(r->interrupted_iterations, 5);
	cr_expect_eq(r->gen.threads, 8);
	cr_expect_float_eq(r->gen.cpu_percent, (2 * 10.0 + 6 * 50.0) / 8, 1e-9);
	cr_expect_eq(r->gen.max_rss_kb, 5000);
	result_free(r);
	result_free(pa);
	result_free(pb);
}

Test(merge, script_errors_keep_a_runs_cap)
{
	json_t *a = doc_new(T0, 1000, NULL), *b = doc_new(T0, 1000, NULL);
	char msg[64];
	for (int i = 0; i < 100; i++) {
		snprintf(msg, sizeof(msg), "a%d", i);
		json_array_append_new(json_object_get(a, "script_errors"),
		                      json_pack("{s:s, s:i}", "message", msg, "count", 1));
		snprintf(msg, sizeof(msg), "b%d", i);
		json_array_append_new(json_object_get(b, "script_errors"),
		                      json_pack("{s:s, s:i}", "message", msg, "count", 2));
	}
	struct result *pa = load(a), *pb = load(b), *r = merged(pa, pb);
	cr_assert_eq(r->nscript_errors, 101);
	cr_expect_str_eq(r->script_errors[99].message, "a99");
	cr_expect(strstr(r->script_errors[100].message, "other messages"));
	cr_expect_eq(r->script_errors[100].count, 200);
	result_free(r);
	result_free(pa);
	result_free(pb);
}

/* --- what cannot be merged, segments ------------------------------------------------ */

Test(merge, a_metric_of_another_type_is_an_error)
{
	json_t *a = doc_new(T0, 1000, NULL), *b = doc_new(T0, 1000, NULL);
	counter(a, "orders", NULL, 3, 1, NULL);
	rate(b, "orders", NULL, 1, 1);
	struct result *pa = load(a), *pb = load(b);
	char err[512] = "";
	cr_expect_null(merge2(pa, pb, err, sizeof(err)));
	cr_expect(strstr(err, "orders") && strstr(err, "a.json") && strstr(err, "b.json") &&
	              strstr(err, "counter") && strstr(err, "rate"),
	          "%s", err);
	result_free(pa);
	result_free(pb);
}

static char *merge_segments(const char *sa, const char *sb, struct result **out)
{
	static char err[512];
	json_t *a = doc_new(T0, 1000, sa), *b = doc_new(T0, 1000, sb);
	struct result *pa = load(a), *pb = load(b);
	err[0] = '\0';
	*out = merge2(pa, pb, err, sizeof(err));
	result_free(pa);
	result_free(pb);
	return err;
}

Test(merge, overlapping_segments_are_an_error)
{
	struct result *r;
	char *err = merge_segments("1/4:2/4", "1/4:1/2", &r);
	cr_expect_null(r);
	cr_expect_str_eq(err, "parts overlap: a.json and b.json both run 1/4:1/2");
	err = merge_segments("0:1/2", "1/4:1", &r);
	cr_expect_null(r);
	cr_expect_str_eq(err, "parts overlap: a.json and b.json both run 1/4:1/2");
	err = merge_segments("0.5:1", "0:3/4", &r); /* k6's other spellings, exactly */
	cr_expect_null(r);
	cr_expect_str_eq(err, "parts overlap: a.json and b.json both run 1/2:3/4");
	err = merge_segments("0:1/3", "1/3:1", &r);
	cr_expect_not_null(r, "touching is not overlapping: %s", err);
	cr_expect_str_eq(json_string_value(json_object_get(r->merge, "coverage")), "full");
	result_free(r);
	err = merge_segments("1/2:1", NULL, &r);
	cr_expect_null(r);
	cr_expect(strstr(err, "a.json ran a segment of the load (1/2:1) but b.json did not"), "%s",
	          err);
	err = merge_segments("1/2", "a:b", &r);
	cr_expect_null(r);
	cr_expect(strstr(err, "b.json: options.executionSegment"), "%s", err);
	err = merge_segments("3/4:1/4", "0:1/4", &r);
	cr_expect_null(r, "from after to");
}

Test(merge, a_gap_is_partial_coverage_with_a_warning, .init = cr_redirect_stderr)
{
	struct result *r;
	char *err = merge_segments("0:1/4", "3/4:1", &r);
	cr_assert_not_null(r, "%s", err);
	cr_expect_str_eq(json_string_value(json_object_get(r->merge, "coverage")), "partial");
	json_t *p0 = json_array_get(json_object_get(r->merge, "parts"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(p0, "executionSegment")), "0:1/4");
	cr_expect_null(json_object_get(r->options, "executionSegment"), "the whole run's");
	cr_expect_not_null(json_object_get(r->options, "executionSegmentSequence"));
	result_free(r);
	err = merge_segments("0:1/4", "1/2:3/4", &r);
	cr_assert_not_null(r, "%s", err);
	result_free(r);
	fflush(stderr);
	cr_expect_stderr_eq_str(
	    "stampede: warning: the parts cover 1/2 of the load: 1/4:3/4 is missing (the merged "
	    "result holds what they ran, not the whole test)\n"
	    "stampede: warning: the parts cover 1/2 of the load: 1/4:1/2 and 3/4:1 are missing "
	    "(the "
	    "merged result holds what they ran, not the whole test)\n");
}

/* --- the record, and one part ------------------------------------------------------ */

static json_t *rich_part(int64_t start, const char *segment)
{
	json_t *d = doc_new(start, 3000, segment);
	struct hdr *h = hdr_new_default();
	for (int i = 0; i < 50; i++)
		hdr_record(h, 700 + 13 * i);
	int t[] = { 0, 1 };
	struct hdr *w[] = { h, h };
	trend(d, "http_req_duration", "{\"status\": \"200\"}", h, 1,
	      "0:25:0.8:1.2:1.3:1.4:1.5 1:25:0.9:1.3:1.4:1.5:1.6");
	metric_ts(d, "http_req_duration", 1, "0:25:0.8:1.2:1.3:1.4:1.5 1:25:0.9:1.3:1.4:1.5:1.6");
	windows(d, 1, 2, t, w);
	counter(d, "http_reqs", "{\"status\": \"200\"}", 50, 1, "0:25 1:25");
	metric_ts(d, "http_reqs", 1, "0:25 1:25");
	rate(d, "http_req_failed", NULL, 0, 50);
	gauge(d, "vus", 2, 2, 2, 3, 1, "0:1:2:2:2 1:1:2:2:2");
	threshold(d, "http_req_duration", "p(95)<500", "p(95)", true, 1.3, false);
	hdr_free(h);
	return d;
}

Test(merge, the_record_round_trips_to_the_same_bytes)
{
	json_t *a = rich_part(T0, "0:1/2"), *b = rich_part(T0 + 1000000, "1/2:1");
	struct result *pa = load(a), *pb = load(b), *r = merged(pa, pb);
	cr_assert_not_null(r->merge);
	json_t *parts = json_object_get(r->merge, "parts");
	cr_expect_eq(json_array_size(parts), 2);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(parts, 1), "file")),
	                 "b.json");
	cr_expect_eq(json_integer_value(json_object_get(json_array_get(parts, 1), "startUnixUs")),
	             T0 + 1000000);
	cr_expect(
	    strstr(json_string_value(json_object_get(r->merge, "alignment")), "b.json +1.000 s"));
	char *first = dump(r, false), err[512];
	json_t *doc = json_loads(first, 0, NULL);
	cr_assert_not_null(json_object_get(doc, "merge"));
	struct result *back = result_from_json(doc, err, sizeof(err));
	cr_assert_not_null(back, "%s", err);
	char *second = dump(back, false);
	cr_expect_str_eq(second, first);
	/* a broken record is refused */
	json_object_set_new(json_object_get(doc, "merge"), "coverage", json_string("most"));
	cr_expect_null(result_from_json(doc, err, sizeof(err)));
	cr_expect(strstr(err, "merge"), "%s", err);
	/* a plain run's document has no "merge" */
	char *plain = dump(pa, false);
	cr_expect_null(strstr(plain, "\"merge\""));
	free(plain);
	json_decref(doc);
	free(first);
	free(second);
	result_free(back);
	result_free(r);
	result_free(pa);
	result_free(pb);
}

Test(merge, one_part_gives_its_numbers_back)
{
	struct result *p = load(rich_part(T0, NULL));
	result_eval_thresholds(p); /* the verdicts a run's file holds */
	struct result *parts[] = { p };
	const char *names[] = { "only.json" };
	char err[512];
	struct result *r = result_merge(parts, names, 1, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	char *want = dump(p, false), *got = dump(r, true);
	cr_expect_str_eq(got, want);
	free(want);
	free(got);
	result_free(r);
	result_free(p);
}

Test(merge, parts_a_month_apart_are_not_one_test)
{
	json_t *a = doc_new(T0, 1000, NULL),
	       *b = doc_new(T0 + INT64_C(40) * 86400 * 1000000, 1000, NULL);
	struct result *pa = load(a), *pb = load(b);
	char err[512] = "";
	cr_expect_null(merge2(pa, pb, err, sizeof(err)));
	cr_expect(strstr(err, "31 days"), "%s", err);
	result_free(pa);
	result_free(pb);
}

/* --- parts that are not what a run wrote ------------------------------------------- */

/* One part, merged alone: NULL with an error holding want (and the part's name). */
static void refused_alone(json_t *doc, const char *want)
{
	struct result *p = load(doc);
	struct result *parts[] = { p };
	const char *names[] = { "only.json" };
	char err[512] = "";
	cr_expect_null(result_merge(parts, names, 1, err, sizeof(err)), "merged: %s", want);
	cr_expect(strstr(err, want) && strstr(err, "only.json"), "%s", err);
	result_free(p);
}

Test(merge, core_metrics_that_disagree_are_an_error)
{
	json_t *d = doc_new(T0, 10000, NULL); /* http_req_duration, no http_reqs */
	fast_slow(d, 1500, 500);
	refused_alone(d, "metrics.http_reqs is missing, but http_req_duration holds 2000 "
	                 "requests");
	d = doc_new(T0, 10000, NULL); /* fewer requests than durations */
	fast_slow(d, 1500, 500);
	counter(d, "http_reqs", NULL, 1500, 1, NULL);
	refused_alone(d, "metrics.http_reqs counts 1500 requests, but http_req_duration holds "
	                 "2000");
	d = doc_new(T0, 10000, NULL); /* fewer requests than verdicts */
	counter(d, "http_reqs", NULL, 10, 1, NULL);
	rate(d, "http_req_failed", NULL, 2, 18);
	refused_alone(d, "counts 10 requests, but http_req_failed holds 20");
	d = doc_new(T0, 10000, NULL); /* another type than a run's */
	gauge(d, "http_reqs", 1, 1, 1, 1, 1, NULL);
	refused_alone(d, "metrics.http_reqs is a gauge, but a run writes it as a counter");
	/* requests cut off by the end of the run count without a duration or a verdict */
	d = doc_new(T0, 10000, NULL);
	fast_slow(d, 1500, 500);
	counter(d, "http_reqs", NULL, 2003, 1, NULL);
	rate(d, "http_req_failed", NULL, 500, 1500);
	struct result *p = load(d);
	struct result *parts[] = { p };
	const char *names[] = { "only.json" };
	char err[512] = "";
	struct result *r = result_merge(parts, names, 1, err, sizeof(err));
	cr_expect_not_null(r, "%s", err);
	result_free(r);
	result_free(p);
}

Test(merge, a_start_that_is_not_one_is_an_error)
{
	/* the loader reads a missing or non-integer startUnixUs as 0 */
	json_t *d = doc_new(T0, 1000, NULL);
	json_object_set_new(json_object_get(d, "state"), "startUnixUs", json_string("x"));
	refused_alone(d, "state.startUnixUs: expected the run's start");
	d = doc_new(T0, 1000, NULL);
	json_object_del(json_object_get(d, "state"), "startUnixUs");
	struct result *pa = load(d), *pb = load(doc_new(T0, 1000, NULL));
	char err[512] = "";
	cr_expect_null(merge2(pb, pa, err, sizeof(err)));
	cr_expect(strstr(err, "b.json: state.startUnixUs") && !strstr(err, "31 days"), "%s", err);
	result_free(pa);
	result_free(pb);
}

Test(merge, one_run_given_twice_is_an_error)
{
	struct result *pa = load(rich_part(T0, NULL)), *pb = load(rich_part(T0, NULL));
	char err[512] = "";
	cr_expect_null(merge2(pa, pb, err, sizeof(err)));
	cr_expect(strstr(err, "a.json and b.json are the same run"), "%s", err);
	result_free(pb);
	/* the same test started at the same µs is another run when it measured otherwise */
	json_t *d = rich_part(T0, NULL);
	counter(d, "http_reqs", "{\"status\": \"503\"}", 1, 1, NULL);
	pb = load(d);
	struct result *r = merge2(pa, pb, err, sizeof(err));
	cr_expect_not_null(r, "%s", err);
	result_free(r);
	result_free(pb);
	result_free(pa);
}

/* Values that add up past what a double holds would be written as null, and the merged
 * file refused by every reader: the merge is refused, naming the metric and the value. */
Test(merge, sums_past_a_double_are_refused)
{
	json_t *a = doc_new(T0, 1000, "0:1/2"), *b = doc_new(T0, 1000, "1/2:1");
	json_object_set_new(json_object_get(a, "options"), "executionSegmentSequence",
	                    json_string("0,1/2,1"));
	json_object_set_new(json_object_get(b, "options"), "executionSegmentSequence",
	                    json_string("0,1/2,1"));
	counter(a, "data_sent", NULL, 1.7e308, 1, NULL);
	counter(b, "data_sent", NULL, 1.7e308, 1, NULL);
	struct result *pa = load(a), *pb = load(b);
	char err[512] = "";
	cr_expect_null(merge2(pa, pb, err, sizeof(err)));
	cr_expect(strstr(err, "metrics.data_sent.series[0].values.count") &&
	              strstr(err, "not written"),
	          "%s", err);
	result_free(pa);
	result_free(pb);
	/* the series fit, their metric's total does not (two tag sets) */
	a = doc_new(T0, 1000, NULL);
	b = doc_new(T0 + 1000, 1000, NULL);
	counter(a, "c", "{\"k\": \"x\"}", 1e308, 1, NULL);
	counter(b, "c", "{\"k\": \"y\"}", 1e308, 1, NULL);
	pa = load(a);
	pb = load(b);
	cr_expect_null(merge2(pa, pb, err, sizeof(err)));
	cr_expect(strstr(err, "metrics.c.values.count: its series add up"), "%s", err);
	result_free(pa);
	result_free(pb);
	/* points are floats */
	a = doc_new(T0, 1000, NULL);
	b = doc_new(T0 + 1000, 1000, NULL);
	counter(a, "c", NULL, 1, 1, "0:3.0e38");
	counter(b, "c", NULL, 1, 1, "0:3.0e38");
	pa = load(a);
	pb = load(b);
	cr_expect_null(merge2(pa, pb, err, sizeof(err)));
	cr_expect(strstr(err, "metrics.c"), "%s", err);
	result_free(pa);
	result_free(pb);
}

/* A part with no metric at all beside one that sent requests: a truncated or edited file
 * (a run always writes its metrics), which would count as running its share with none. */
Test(merge, a_part_without_metrics_beside_parts_with_requests_is_an_error)
{
	json_t *a = doc_new(T0, 1000, NULL), *b = doc_new(T0 + 1000, 1000, NULL);
	counter(a, "http_reqs", NULL, 10, 1, NULL);
	struct result *pa = load(a), *pb = load(b);
	char err[512] = "";
	cr_expect_null(merge2(pa, pb, err, sizeof(err)));
	cr_expect(strstr(err, "b.json holds no metric at all") && strstr(err, "a.json counts 10"),
	          "%s", err);
	result_free(pa);
	result_free(pb);
	/* neither sent a request: nothing to tell them apart by */
	pa = load(doc_new(T0, 1000, NULL));
	pb = load(doc_new(T0 + 1000, 1000, NULL));
	struct result *r = merge2(pa, pb, err, sizeof(err));
	cr_expect_not_null(r, "%s", err);
	result_free(r);
	result_free(pa);
	result_free(pb);
}
