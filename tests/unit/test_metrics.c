/* test_metrics.c: unit tests for the metric registry, sinks and coordinator aggregation. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "metrics/hdr.h"
#include "metrics/metrics.h"
#include "metrics/threshold.h"
#include "util/common.h"

static const struct {
	int id;
	const char *name;
	enum metric_type type;
	enum metric_unit unit;
} tm_builtins[] = {
	{ M_HTTP_REQS, "http_reqs", MT_COUNTER, MU_NONE },
	{ M_HTTP_REQ_FAILED, "http_req_failed", MT_RATE, MU_NONE },
	{ M_HTTP_REQ_DURATION, "http_req_duration", MT_TREND, MU_TIME_US },
	{ M_HTTP_REQ_BLOCKED, "http_req_blocked", MT_TREND, MU_TIME_US },
	{ M_HTTP_REQ_CONNECTING, "http_req_connecting", MT_TREND, MU_TIME_US },
	{ M_HTTP_REQ_TLS_HANDSHAKING, "http_req_tls_handshaking", MT_TREND, MU_TIME_US },
	{ M_HTTP_REQ_SENDING, "http_req_sending", MT_TREND, MU_TIME_US },
	{ M_HTTP_REQ_WAITING, "http_req_waiting", MT_TREND, MU_TIME_US },
	{ M_HTTP_REQ_RECEIVING, "http_req_receiving", MT_TREND, MU_TIME_US },
	{ M_HTTP_REQ_DURATION_UNCORRECTED, "http_req_duration_uncorrected", MT_TREND, MU_TIME_US },
	{ M_ITERATIONS, "iterations", MT_COUNTER, MU_NONE },
	{ M_ITERATION_DURATION, "iteration_duration", MT_TREND, MU_TIME_US },
	{ M_DROPPED_ITERATIONS, "dropped_iterations", MT_COUNTER, MU_NONE },
	{ M_DATA_SENT, "data_sent", MT_COUNTER, MU_BYTES },
	{ M_DATA_RECEIVED, "data_received", MT_COUNTER, MU_BYTES },
	{ M_VUS, "vus", MT_GAUGE, MU_NONE },
	{ M_VUS_MAX, "vus_max", MT_GAUGE, MU_NONE },
	{ M_CHECKS, "checks", MT_RATE, MU_NONE },
	{ M_GROUP_DURATION, "group_duration", MT_TREND, MU_TIME_US },
	{ M_WS_SESSIONS, "ws_sessions", MT_COUNTER, MU_NONE },
	{ M_WS_SESSION_DURATION, "ws_session_duration", MT_TREND, MU_TIME_US },
	{ M_WS_CONNECTING, "ws_connecting", MT_TREND, MU_TIME_US },
	{ M_WS_MSGS_SENT, "ws_msgs_sent", MT_COUNTER, MU_NONE },
	{ M_WS_MSGS_RECEIVED, "ws_msgs_received", MT_COUNTER, MU_NONE },
	{ M_WS_PING, "ws_ping", MT_TREND, MU_TIME_US },
};

Test(metrics, builtin_ids_and_names)
{
	struct registry r;
	registry_init(&r);
	cr_assert_eq(r.nmetrics, M__BUILTIN);
	cr_assert_eq(ARRAY_SIZE(tm_builtins), (size_t)M__BUILTIN);
	for (size_t i = 0; i < ARRAY_SIZE(tm_builtins); i++) {
		int id = tm_builtins[i].id;
		cr_expect_str_eq(r.metrics[id].name, tm_builtins[i].name);
		cr_expect_eq(r.metrics[id].type, tm_builtins[i].type, "%s: type",
		             tm_builtins[i].name);
		cr_expect_eq(r.metrics[id].unit, tm_builtins[i].unit, "%s: unit",
		             tm_builtins[i].name);
		cr_expect_eq(registry_find_metric(&r, tm_builtins[i].name), id);
	}
	cr_expect_eq(registry_nseries(&r), 0);
	registry_destroy(&r);
}

Test(metrics, custom_metrics)
{
	struct registry r;
	registry_init(&r);
	cr_expect_eq(registry_find_metric(&r, "my_trend"), -ENOENT);
	int a = registry_metric(&r, "my_trend", MT_TREND, MU_TIME_US);
	cr_expect_eq(a, M__BUILTIN);
	int b = registry_metric(&r, "my_counter", MT_COUNTER, MU_NONE);
	cr_expect_eq(b, M__BUILTIN + 1);
	cr_expect_eq(registry_metric(&r, "my_trend", MT_TREND, MU_TIME_US), a,
	             "same name, same id");
	cr_expect_eq(registry_metric(&r, "my_trend", MT_GAUGE, MU_NONE), -EEXIST);
	cr_expect_eq(registry_metric(&r, "http_reqs", MT_COUNTER, MU_NONE), M_HTTP_REQS);
	cr_expect_eq(registry_metric(&r, "http_reqs", MT_TREND, MU_NONE), -EEXIST);
	cr_expect_eq(registry_find_metric(&r, "my_counter"), b);
	cr_expect_eq(r.nmetrics, M__BUILTIN + 2);
	registry_destroy(&r);
}

Test(metrics, series_interning)
{
	struct registry r;
	registry_init(&r);
	struct tag t1[] = { { "status", "200" }, { "method", "GET" } };
	struct tag t2[] = { { "method", "GET" }, { "status", "200" } };
	struct tag t3[] = { { "method", "GET" }, { "status", "500" } };
	struct tag t4[] = { { "method", "GET" } };
	struct tag t5[] = { { "method", "GET" }, { "status", NULL } };

	int a = registry_series(&r, M_HTTP_REQS, t1, 2);
	cr_assert_geq(a, 0);
	cr_expect_eq(registry_series(&r, M_HTTP_REQS, t2, 2), a, "tag order does not matter");
	int b = registry_series(&r, M_HTTP_REQS, t3, 2);
	int c = registry_series(&r, M_HTTP_REQS, t4, 1);
	int d = registry_series(&r, M_HTTP_REQ_FAILED, t1, 2);
	int e = registry_series(&r, M_HTTP_REQS, NULL, 0);
	cr_expect_neq(b, a);
	cr_expect_neq(c, a);
	cr_expect_neq(c, b);
	cr_expect_neq(d, a, "another metric with the same tags is another series");
	cr_expect_eq(registry_series(&r, M_HTTP_REQS, t5, 2), c, "a NULL value omits the tag");
	cr_expect_eq(registry_nseries(&r), 5);

	const struct series_info *si = registry_series_info(&r, a);
	cr_expect_str_eq(si->canon, "http_reqs{method:GET,status:200}");
	cr_expect_eq(si->metric, M_HTTP_REQS);
	cr_assert_eq(si->ntags, 2);
	cr_expect_str_eq(si->tags[0].key, "method");
	cr_expect_str_eq(si->tags[0].value, "GET");
	cr_expect_str_eq(si->tags[1].key, "status");
	cr_expect_str_eq(si->tags[1].value, "200");
	cr_expect_neq((void *)si->tags[0].value, (void *)t1[1].value, "tags are owned copies");
	cr_expect_str_eq(registry_series_info(&r, b)->canon, "http_reqs{method:GET,status:500}");
	cr_expect_str_eq(registry_series_info(&r, c)->canon, "http_reqs{method:GET}");
	cr_expect_str_eq(registry_series_info(&r, d)->canon,
	                 "http_req_failed{method:GET,status:200}");
	cr_expect_str_eq(registry_series_info(&r, e)->canon, "http_reqs");
	cr_expect_eq(registry_series_info(&r, e)->ntags, 0);
	registry_destroy(&r);
}

Test(metrics, series_survive_hash_growth)
{
	enum { N = 1500 };
	static int ids[N];
	struct registry r;
	registry_init(&r);
	char v[32];
	for (int i = 0; i < N; i++) {
		snprintf(v, sizeof(v), "%d", i);
		struct tag t[] = { { "k", v } };
		ids[i] = registry_series(&r, M_ITERATIONS, t, 1);
		cr_assert_eq(ids[i], i);
	}
	for (int i = N - 1; i >= 0; i--) {
		snprintf(v, sizeof(v), "%d", i);
		struct tag t[] = { { "k", v } };
		cr_assert_eq(registry_series(&r, M_ITERATIONS, t, 1), ids[i],
		             "series %d re-interned", i);
	}
	cr_expect_eq(registry_nseries(&r), N);
	registry_destroy(&r);
}

Test(metrics, series_cardinality_cap, .init = cr_redirect_stderr)
{
	struct registry r;
	registry_init(&r);
	r.max_series = 3;
	struct tag t[] = { { "k", "a" } }, u[] = { { "k", "b" } }, w[] = { { "k", "c" } };
	int a = registry_series(&r, M_HTTP_REQS, t, 1);
	int b = registry_series(&r, M_HTTP_REQS, u, 1);
	int c = registry_series(&r, M_HTTP_REQS, w, 1);
	cr_expect(a >= 0 && b >= 0 && c >= 0);
	cr_expect_not(registry_series_overflow(&r, a));
	struct tag x[] = { { "k", "d" } }, y[] = { { "k", "e" } };
	int o = registry_series(&r, M_HTTP_REQS, x, 1);
	cr_expect(o >= 0 && registry_series_overflow(&r, o), "past the cap: the overflow series");
	cr_expect_eq(registry_series(&r, M_HTTP_REQS, y, 1), o, "one overflow series for both");
	cr_expect_str_eq(registry_series_info(&r, o)->canon, "http_reqs{__overflow__:true}");
	cr_expect_eq(registry_series(&r, M_HTTP_REQS, t, 1), a, "known series still resolve");
	int plain = registry_series(&r, M_HTTP_REQS, NULL, 0);
	cr_expect_geq(plain, 0, "untagged series are allowed past the cap");
	cr_expect_not(registry_series_overflow(&r, plain));
	cr_expect(r.cap_warned);
	registry_destroy(&r);
	fflush(stderr);
	cr_expect_stderr_neq_str("", "a warning is printed");
}

Test(metrics, sink_records_each_type)
{
	struct sink *s = sink_new();
	sink_add(s, 0, 1);
	sink_add(s, 0, 2.5);
	sink_trend(s, 3, 1000);
	sink_trend(s, 3, 3000);
	sink_rate(s, 40, true);
	sink_rate(s, 40, false);
	sink_rate(s, 40, true);
	sink_gauge(s, 5, 7);
	sink_gauge(s, 5, 2);
	sink_gauge(s, 5, 9);
	sink_gauge(s, 5, 4);

	cr_assert_geq(s->nslots, 41, "slots grow to the highest id");
	cr_expect(s->slots[0].used);
	cr_expect_eq(s->slots[0].type, MT_COUNTER);
	cr_expect_float_eq(s->slots[0].sum, 3.5, 1e-12);
	cr_expect_eq(s->slots[3].type, MT_TREND);
	cr_assert_not_null(s->slots[3].h);
	cr_expect_eq(s->slots[3].h->total_count, 2);
	cr_expect_float_eq(hdr_mean(s->slots[3].h), 2000, 1e-9);
	cr_expect_eq(s->slots[40].type, MT_RATE);
	cr_expect_eq(s->slots[40].total, 3);
	cr_expect_eq(s->slots[40].nz, 2);
	cr_expect_eq(s->slots[5].type, MT_GAUGE);
	cr_expect_float_eq(s->slots[5].g_last, 4, 0);
	cr_expect_float_eq(s->slots[5].g_min, 2, 0);
	cr_expect_float_eq(s->slots[5].g_max, 9, 0);
	cr_expect_not(s->slots[1].used);
	cr_expect_not(s->slots[39].used);

	sink_reset(s);
	for (int i = 0; i < s->nslots; i++)
		cr_expect_not(s->slots[i].used, "slot %d used after reset", i);
	sink_gauge(s, 5, 10);
	cr_expect_float_eq(s->slots[5].g_min, 10, 0, "min restarts after a reset");
	cr_expect_float_eq(s->slots[5].g_max, 10, 0);
	sink_trend(s, 3, 500);
	cr_expect_eq(s->slots[3].h->total_count, 1, "trend restarts after a reset");
	sink_free(s);
	sink_free(NULL);
}

Test(metrics, gauge_on_a_fresh_sink)
{
	struct sink *s = sink_new();
	sink_gauge(s, 0, -3);
	cr_expect_float_eq(s->slots[0].g_last, -3, 0);
	cr_expect_float_eq(s->slots[0].g_min, -3, 0);
	cr_expect_float_eq(s->slots[0].g_max, -3, 0);
	sink_free(s);
}

Test(metrics, slot_merge)
{
	struct sink *a = sink_new(), *b = sink_new();
	sink_gauge(a, 0, 5);
	sink_gauge(b, 0, 1);
	sink_gauge(b, 0, 3);
	sink_rate(a, 1, true);
	sink_rate(b, 1, false);
	struct slot g = { 0 }, r = { 0 };
	slot_merge(&g, &a->slots[0]);
	slot_merge(&g, &b->slots[0]);
	cr_expect(g.used);
	cr_expect_eq(g.type, MT_GAUGE);
	cr_expect_float_eq(g.g_last, 3, 0, "the last merged value wins");
	cr_expect_float_eq(g.g_min, 1, 0);
	cr_expect_float_eq(g.g_max, 5, 0);
	slot_merge(&r, &a->slots[1]);
	slot_merge(&r, &b->slots[1]);
	slot_merge(&r, &a->slots[7]); /* unused: ignored */
	cr_expect_eq(r.total, 2);
	cr_expect_eq(r.nz, 1);
	slot_free(&g);
	slot_free(&r);
	sink_free(a);
	sink_free(b);
}

/* Two workers, two intervals, http_req_duration and http_reqs split by status. */
struct tm_fixture {
	struct registry reg;
	struct aggregate agg;
	int dur200, dur500, reqs200, reqs500, failed, sent, vus;
};

static void tm_setup(struct tm_fixture *f)
{
	registry_init(&f->reg);
	aggregate_init(&f->agg, &f->reg);
	struct tag ok[] = { { "status", "200" }, { "method", "GET" } };
	struct tag bad[] = { { "method", "GET" }, { "status", "500" } };
	f->dur200 = registry_series(&f->reg, M_HTTP_REQ_DURATION, ok, 2);
	f->dur500 = registry_series(&f->reg, M_HTTP_REQ_DURATION, bad, 2);
	f->reqs200 = registry_series(&f->reg, M_HTTP_REQS, ok, 2);
	f->reqs500 = registry_series(&f->reg, M_HTTP_REQS, bad, 2);
	f->failed = registry_series(&f->reg, M_HTTP_REQ_FAILED, NULL, 0);
	f->sent = registry_series(&f->reg, M_DATA_SENT, NULL, 0);
	f->vus = registry_series(&f->reg, M_VUS, NULL, 0);

	struct sink *w1 = sink_new(), *w2 = sink_new(), *coord = sink_new();
	/* Interval 0: 200s take 1000 and 2000 µs, one 500 takes 500 µs. */
	sink_trend(w1, f->dur200, 1000);
	sink_add(w1, f->reqs200, 1);
	sink_rate(w1, f->failed, false);
	sink_add(w1, f->sent, 100);
	sink_trend(w2, f->dur200, 2000);
	sink_add(w2, f->reqs200, 1);
	sink_rate(w2, f->failed, false);
	sink_add(w2, f->sent, 100);
	sink_trend(w2, f->dur500, 500);
	sink_add(w2, f->reqs500, 1);
	sink_rate(w2, f->failed, true);
	sink_add(w2, f->sent, 100);
	sink_gauge(coord, f->vus, 2);
	aggregate_add_sink(&f->agg, w1);
	aggregate_add_sink(&f->agg, w2);
	aggregate_add_sink(&f->agg, coord);
	aggregate_close_interval(&f->agg, 0);

	/* Interval 1: one more 200 at 1500 µs; the gauge moves to 4 then 3. */
	sink_reset(w1);
	sink_reset(w2);
	sink_reset(coord);
	sink_trend(w1, f->dur200, 1500);
	sink_add(w1, f->reqs200, 1);
	sink_rate(w1, f->failed, false);
	sink_add(w1, f->sent, 100);
	sink_gauge(coord, f->vus, 4);
	sink_gauge(coord, f->vus, 3);
	aggregate_add_sink(&f->agg, w2); /* empty after the reset */
	aggregate_add_sink(&f->agg, w1);
	aggregate_add_sink(&f->agg, coord);
	aggregate_close_interval(&f->agg, 1);
	sink_free(w1);
	sink_free(w2);
	sink_free(coord);
}

static void tm_teardown(struct tm_fixture *f)
{
	aggregate_destroy(&f->agg);
	registry_destroy(&f->reg);
}

Test(metrics, aggregate_series_points)
{
	struct tm_fixture f;
	tm_setup(&f);
	cr_expect_eq(f.agg.intervals, 2);

	const struct agg_series *d200 = &f.agg.s[f.dur200];
	cr_assert_eq(d200->npoints, 2);
	cr_expect_eq(d200->points[0].t, 0);
	cr_expect_float_eq(d200->points[0].count, 2, 0);
	cr_expect_float_eq(d200->points[0].v[0], 1.0, 1e-6, "p50 in ms");
	cr_expect_float_eq(d200->points[0].v[4], 2.0, 1e-6, "max in ms");
	cr_expect_eq(d200->points[1].t, 1);
	cr_expect_float_eq(d200->points[1].count, 1, 0);
	cr_expect_float_eq(d200->points[1].v[0], 1.5, 1e-6);

	const struct agg_series *d500 = &f.agg.s[f.dur500];
	cr_assert_eq(d500->npoints, 1, "no point for an interval without samples");
	cr_expect_float_eq(d500->points[0].v[4], 0.5, 1e-6);

	const struct agg_series *fl = &f.agg.s[f.failed];
	cr_assert_eq(fl->npoints, 2);
	cr_expect_float_eq(fl->points[0].count, 3, 0);
	cr_expect_float_eq(fl->points[0].v[0], 1.0f / 3.0f, 1e-6);
	cr_expect_float_eq(fl->points[1].v[0], 0, 0);

	const struct agg_series *sent = &f.agg.s[f.sent];
	cr_assert_eq(sent->npoints, 2);
	cr_expect_float_eq(sent->points[0].count, 300, 0, "bytes are not scaled");
	cr_expect_float_eq(sent->points[1].count, 100, 0);

	const struct agg_series *vus = &f.agg.s[f.vus];
	cr_assert_eq(vus->npoints, 2);
	cr_expect_float_eq(vus->points[1].v[0], 3, 0);
	cr_expect_float_eq(vus->points[1].v[1], 3, 0);
	cr_expect_float_eq(vus->points[1].v[2], 4, 0);

	/* Totals fold every interval; the interval being assembled is empty again. */
	cr_expect_eq(d200->total.h->total_count, 3);
	cr_expect_not(d200->cur.used);
	cr_expect_float_eq(f.agg.s[f.reqs200].total.sum, 3, 0);
	cr_expect_float_eq(vus->total.g_min, 2, 0);
	cr_expect_float_eq(vus->total.g_max, 4, 0);
	cr_expect_float_eq(vus->total.g_last, 3, 0);
	tm_teardown(&f);
}

Test(metrics, aggregate_metric_points)
{
	struct tm_fixture f;
	tm_setup(&f);
	cr_assert_geq(f.agg.nmp, M__BUILTIN);

	const struct metric_points *dur = &f.agg.mp[M_HTTP_REQ_DURATION];
	cr_assert_eq(dur->npoints, 2);
	cr_expect_eq(dur->points[0].t, 0);
	cr_expect_float_eq(dur->points[0].count, 3, 0, "all series of the metric combined");
	cr_expect_float_eq(dur->points[0].v[0], 1.0, 1e-6);
	cr_expect_float_eq(dur->points[0].v[4], 2.0, 1e-6);
	cr_expect_float_eq(dur->points[1].count, 1, 0);

	const struct metric_points *reqs = &f.agg.mp[M_HTTP_REQS];
	cr_assert_eq(reqs->npoints, 2);
	cr_expect_float_eq(reqs->points[0].count, 3, 0);
	cr_expect_float_eq(reqs->points[1].count, 1, 0);

	cr_expect_eq(f.agg.mp[M_ITERATIONS].npoints, 0, "no point for an unused metric");
	tm_teardown(&f);
}

Test(metrics, combine_with_tag_filters)
{
	struct tm_fixture f;
	tm_setup(&f);
	struct combined c;
	double v;

	aggregate_combine(&f.agg, M_HTTP_REQ_DURATION, NULL, 0, false, &c);
	cr_expect(c.any);
	cr_expect_eq(c.type, MT_TREND);
	cr_expect_eq(c.unit, MU_TIME_US);
	cr_expect_eq(c.h->total_count, 4);
	cr_expect(combined_value(&c, THR_AVG, 0, 0, &v));
	cr_expect_float_eq(v, (1000 + 2000 + 500 + 1500) / 4.0 / 1000, 1e-9);
	combined_free(&c);
	cr_expect_null(c.h);

	struct tag ok[] = { { "status", "200" } };
	aggregate_combine(&f.agg, M_HTTP_REQ_DURATION, ok, 1, false, &c);
	cr_expect_eq(c.h->total_count, 3);
	cr_expect(combined_value(&c, THR_MIN, 0, 0, &v));
	cr_expect_float_eq(v, 1.0, 1e-9);
	cr_expect(combined_value(&c, THR_MAX, 0, 0, &v));
	cr_expect_float_eq(v, 2.0, 1e-9);
	cr_expect(combined_value(&c, THR_MED, 0, 0, &v));
	cr_expect_float_eq(v, 1.5, 1e-9);
	combined_free(&c);

	struct tag both[] = { { "method", "GET" }, { "status", "500" } };
	aggregate_combine(&f.agg, M_HTTP_REQS, both, 2, false, &c);
	cr_expect(c.any);
	cr_expect_float_eq(c.sum, 1, 0);
	combined_free(&c);

	struct tag none[] = { { "status", "404" } };
	aggregate_combine(&f.agg, M_HTTP_REQS, none, 1, false, &c);
	cr_expect_not(c.any);
	cr_expect_float_eq(c.sum, 0, 0);
	combined_free(&c);

	struct tag nokey[] = { { "scenario", "default" } };
	aggregate_combine(&f.agg, M_HTTP_REQS, nokey, 1, false, &c);
	cr_expect_not(c.any, "a filter key the series lacks does not match");
	combined_free(&c);

	/* The untagged series matches only the empty filter. */
	aggregate_combine(&f.agg, M_HTTP_REQ_FAILED, ok, 1, false, &c);
	cr_expect_not(c.any);
	combined_free(&c);
	tm_teardown(&f);
}

Test(metrics, combine_current_interval)
{
	struct registry reg;
	struct aggregate agg;
	registry_init(&reg);
	aggregate_init(&agg, &reg);
	int sid = registry_series(&reg, M_HTTP_REQS, NULL, 0);
	struct sink *s = sink_new();
	sink_add(s, sid, 5);
	aggregate_add_sink(&agg, s);
	aggregate_close_interval(&agg, 0);
	sink_reset(s);
	sink_add(s, sid, 2);
	aggregate_add_sink(&agg, s);

	struct combined c;
	aggregate_combine(&agg, M_HTTP_REQS, NULL, 0, true, &c);
	cr_expect_float_eq(c.sum, 2, 0, "current: only the interval being assembled");
	combined_free(&c);
	aggregate_combine(&agg, M_HTTP_REQS, NULL, 0, false, &c);
	cr_expect_float_eq(c.sum, 5, 0, "totals: only closed intervals");
	combined_free(&c);
	aggregate_close_interval(&agg, 1);
	aggregate_combine(&agg, M_HTTP_REQS, NULL, 0, false, &c);
	cr_expect_float_eq(c.sum, 7, 0);
	combined_free(&c);

	sink_free(s);
	aggregate_destroy(&agg);
	registry_destroy(&reg);
}

Test(metrics, combined_value_trend)
{
	struct registry reg;
	struct aggregate agg;
	registry_init(&reg);
	aggregate_init(&agg, &reg);
	int sid = registry_series(&reg, M_HTTP_REQ_WAITING, NULL, 0);
	struct sink *s = sink_new();
	/* 1..100 ms in 1 ms steps (values above 2048 µs land in 2 µs wide buckets). */
	for (int i = 1; i <= 100; i++)
		sink_trend(s, sid, i * 1000);
	aggregate_add_sink(&agg, s);
	aggregate_close_interval(&agg, 0);

	struct combined c;
	double v;
	aggregate_combine(&agg, M_HTTP_REQ_WAITING, NULL, 0, false, &c);
	cr_expect(combined_value(&c, THR_AVG, 0, 0, &v));
	cr_expect_float_eq(v, 50.5, 1e-9);
	cr_expect(combined_value(&c, THR_MIN, 0, 0, &v));
	cr_expect_float_eq(v, 1.0, 1e-9);
	cr_expect(combined_value(&c, THR_MAX, 0, 0, &v));
	cr_expect_float_eq(v, 100.0, 1e-9);
	cr_expect(combined_value(&c, THR_MED, 0, 0, &v));
	cr_expect_float_eq(v, 50.0, 0.1);
	cr_expect(combined_value(&c, THR_PCT, 95, 0, &v));
	cr_expect_float_eq(v, 95.0, 0.1);
	cr_expect(combined_value(&c, THR_PCT, 100, 0, &v));
	cr_expect_float_eq(v, 100.0, 1e-9);
	cr_expect(combined_value(&c, THR_COUNT, 0, 0, &v));
	cr_expect_float_eq(v, 100, 0);
	v = -1;
	cr_expect_not(combined_value(&c, THR_RATE, 0, 10, &v));
	cr_expect_not(combined_value(&c, THR_VALUE, 0, 0, &v));
	cr_expect_float_eq(v, -1, 0, "output untouched when the aggregation does not apply");
	combined_free(&c);

	sink_free(s);
	aggregate_destroy(&agg);
	registry_destroy(&reg);
}

Test(metrics, combined_value_trend_single_sample)
{
	struct registry reg;
	struct aggregate agg;
	registry_init(&reg);
	aggregate_init(&agg, &reg);
	int sid = registry_series(&reg, M_ITERATION_DURATION, NULL, 0);
	struct sink *s = sink_new();
	sink_trend(s, sid, 1000);
	aggregate_add_sink(&agg, s);
	aggregate_close_interval(&agg, 0);

	struct combined c;
	double v;
	aggregate_combine(&agg, M_ITERATION_DURATION, NULL, 0, false, &c);
	static const int aggs[] = { THR_AVG, THR_MIN, THR_MAX, THR_MED, THR_PCT };
	for (size_t i = 0; i < ARRAY_SIZE(aggs); i++) {
		cr_expect(combined_value(&c, aggs[i], 99, 0, &v));
		cr_expect_float_eq(v, 1.0, 1e-12, "agg %d: 1000 µs is 1 ms, got %g", aggs[i], v);
	}
	combined_free(&c);

	sink_free(s);
	aggregate_destroy(&agg);
	registry_destroy(&reg);
}

Test(metrics, combined_value_counter)
{
	struct tm_fixture f;
	tm_setup(&f);
	struct combined c;
	double v;

	aggregate_combine(&f.agg, M_HTTP_REQS, NULL, 0, false, &c);
	cr_expect_eq(c.type, MT_COUNTER);
	cr_expect(combined_value(&c, THR_COUNT, 0, 0, &v));
	cr_expect_float_eq(v, 4, 0);
	cr_expect(combined_value(&c, THR_RATE, 0, 2.0, &v));
	cr_expect_float_eq(v, 2.0, 1e-12, "4 requests over 2 s");
	cr_expect(combined_value(&c, THR_RATE, 0, 0.5, &v));
	cr_expect_float_eq(v, 8.0, 1e-12);
	cr_expect(combined_value(&c, THR_RATE, 0, 0, &v));
	cr_expect_float_eq(v, 0, 0, "no duration: rate 0");
	cr_expect_not(combined_value(&c, THR_AVG, 0, 1, &v));
	cr_expect_not(combined_value(&c, THR_PCT, 95, 1, &v));
	cr_expect_not(combined_value(&c, THR_VALUE, 0, 1, &v));
	combined_free(&c);

	aggregate_combine(&f.agg, M_DATA_SENT, NULL, 0, false, &c);
	cr_expect_eq(c.unit, MU_BYTES);
	cr_expect(combined_value(&c, THR_COUNT, 0, 0, &v));
	cr_expect_float_eq(v, 400, 0, "bytes are not scaled");
	combined_free(&c);
	tm_teardown(&f);
}

Test(metrics, combined_value_rate)
{
	struct tm_fixture f;
	tm_setup(&f);
	struct combined c;
	double v;

	aggregate_combine(&f.agg, M_HTTP_REQ_FAILED, NULL, 0, false, &c);
	cr_expect_eq(c.type, MT_RATE);
	cr_expect_eq(c.total, 4);
	cr_expect_eq(c.nz, 1);
	cr_expect(combined_value(&c, THR_RATE, 0, 10, &v));
	cr_expect_float_eq(v, 0.25, 1e-12);
	cr_expect_not(combined_value(&c, THR_COUNT, 0, 0, &v));
	cr_expect_not(combined_value(&c, THR_AVG, 0, 0, &v));
	combined_free(&c);

	/* An empty rate reads as 0. */
	aggregate_combine(&f.agg, M_HTTP_REQ_FAILED, NULL, 0, true, &c);
	cr_expect_not(c.any);
	cr_expect(combined_value(&c, THR_RATE, 0, 0, &v));
	cr_expect_float_eq(v, 0, 0);
	combined_free(&c);
	tm_teardown(&f);
}

Test(metrics, combined_value_gauge)
{
	struct tm_fixture f;
	tm_setup(&f);
	struct combined c;
	double v;

	aggregate_combine(&f.agg, M_VUS, NULL, 0, false, &c);
	cr_expect_eq(c.type, MT_GAUGE);
	cr_expect(combined_value(&c, THR_VALUE, 0, 0, &v));
	cr_expect_float_eq(v, 3, 0);
	cr_expect(combined_value(&c, THR_MIN, 0, 0, &v));
	cr_expect_float_eq(v, 2, 0);
	cr_expect(combined_value(&c, THR_MAX, 0, 0, &v));
	cr_expect_float_eq(v, 4, 0);
	cr_expect_not(combined_value(&c, THR_AVG, 0, 0, &v));
	cr_expect_not(combined_value(&c, THR_RATE, 0, 1, &v));
	cr_expect_not(combined_value(&c, THR_COUNT, 0, 0, &v));
	combined_free(&c);
	tm_teardown(&f);
}

Test(metrics, custom_metric_aggregates)
{
	struct registry reg;
	struct aggregate agg;
	registry_init(&reg);
	aggregate_init(&agg, &reg);
	int m = registry_metric(&reg, "queue_depth", MT_GAUGE, MU_NONE);
	int t = registry_metric(&reg, "think_time", MT_TREND, MU_TIME_US);
	int sg = registry_series(&reg, m, NULL, 0);
	int st = registry_series(&reg, t, NULL, 0);
	struct sink *s = sink_new();
	sink_gauge(s, sg, 12);
	sink_trend(s, st, 250);
	aggregate_add_sink(&agg, s);
	aggregate_close_interval(&agg, 0);
	cr_assert_geq(agg.nmp, m + 1, "metric points cover custom metrics");
	cr_assert_eq(agg.mp[m].npoints, 1);
	cr_expect_float_eq(agg.mp[m].points[0].v[0], 12, 0);
	cr_assert_eq(agg.mp[t].npoints, 1);
	cr_expect_float_eq(agg.mp[t].points[0].v[4], 0.25, 1e-6);

	struct combined c;
	double v;
	aggregate_combine(&agg, t, NULL, 0, false, &c);
	cr_expect(combined_value(&c, THR_AVG, 0, 0, &v));
	cr_expect_float_eq(v, 0.25, 1e-12);
	combined_free(&c);
	sink_free(s);
	aggregate_destroy(&agg);
	registry_destroy(&reg);
}

Test(metrics, points_stay_bounded_on_long_runs)
{
	struct registry r;
	struct aggregate a;
	registry_init(&r);
	aggregate_init(&a, &r);
	int cid = registry_series(&r, M_HTTP_REQS, NULL, 0);
	int tid = registry_series(&r, M_HTTP_REQ_DURATION, NULL, 0);
	struct sink *s = sink_new();
	const int seconds = 3 * 3600; /* three hours of one-second intervals */
	for (int t = 0; t < seconds; t++) {
		sink_add(s, cid, 2);
		sink_trend(s, tid, t == 5000 ? 900000 : 1000);
		aggregate_add_sink(&a, s);
		sink_reset(s);
		aggregate_close_interval(&a, t);
	}
	struct agg_series *c = &a.s[cid], *tr = &a.s[tid];
	cr_assert_leq(c->npoints, SERIES_POINTS_MAX);
	cr_assert_leq(c->cap, SERIES_POINTS_MAX, "a series' points are one bounded array");
	cr_assert_geq(c->step, seconds / SERIES_POINTS_MAX);
	const struct metric_points *mpc = &a.mp[M_HTTP_REQS];
	cr_assert_leq(mpc->npoints, METRIC_POINTS_MAX);
	cr_assert_leq(mpc->cap, METRIC_POINTS_MAX);
	double msum = 0;
	for (int i = 0; i < mpc->npoints; i++)
		msum += mpc->points[i].count;
	cr_expect_float_eq(msum, 2.0 * seconds, 1e-6, "metric counts are conserved");
	double sum = 0, maxv = 0;
	for (int i = 0; i < c->npoints; i++) {
		cr_expect_eq(c->points[i].t % c->step, 0);
		sum += c->points[i].count;
	}
	cr_expect_float_eq(sum, 2.0 * seconds, 1e-6, "counts are conserved");
	for (int i = 0; i < tr->npoints; i++)
		maxv = tr->points[i].v[4] > maxv ? tr->points[i].v[4] : maxv;
	cr_expect_float_eq(maxv, 900.0, 1.0, "the max survives merging (ms)");
	cr_expect_eq(a.s[cid].total.sum, 2.0 * seconds, "totals stay exact");
	sink_free(s);
	aggregate_destroy(&a);
	registry_destroy(&r);
}

/* Gauges (issue: g:add(100, {a="x"}); g:add(1, {a="y"}) gave "my_gauge: 101 min=1
 * max=100"): the value is the latest sample of the whole metric, by time, whatever its
 * tag set, worker or interval; min and max over all samples. */

static double gauge_value(struct aggregate *agg, int m, const struct tag *f, int nf, bool cur,
                          double *min, double *max)
{
	struct combined c;
	double v = NAN;
	aggregate_combine(agg, m, f, nf, cur, &c);
	cr_assert(c.any);
	combined_value(&c, THR_VALUE, 0, 0, &v);
	combined_value(&c, THR_MIN, 0, 0, min);
	combined_value(&c, THR_MAX, 0, 0, max);
	combined_free(&c);
	return v;
}

Test(metrics, gauge_is_the_latest_sample_across_tag_sets)
{
	struct registry reg;
	struct aggregate agg;
	double min, max;
	registry_init(&reg);
	aggregate_init(&agg, &reg);
	int m = registry_metric(&reg, "my_gauge", MT_GAUGE, MU_NONE);
	struct tag x[] = { { "a", "x" } }, y[] = { { "a", "y" } };
	int sx = registry_series(&reg, m, x, 1), sy = registry_series(&reg, m, y, 1);
	struct sink *s = sink_new();
	sink_gauge(s, sx, 100);
	sink_gauge(s, sy, 1);
	aggregate_add_sink(&agg, s);
	cr_expect_float_eq(gauge_value(&agg, m, NULL, 0, true, &min, &max), 1, 0,
	                   "the interval being assembled");
	aggregate_close_interval(&agg, 0);
	cr_expect_float_eq(gauge_value(&agg, m, NULL, 0, false, &min, &max), 1, 0, "not 101");
	cr_expect_float_eq(min, 1, 0);
	cr_expect_float_eq(max, 100, 0);
	cr_expect_float_eq(gauge_value(&agg, m, x, 1, false, &min, &max), 100, 0, "sub-metric");
	cr_expect_float_eq(gauge_value(&agg, m, y, 1, false, &min, &max), 1, 0);
	cr_assert_eq(agg.mp[m].npoints, 1);
	cr_expect_float_eq(agg.mp[m].points[0].v[0], 1, 0, "the metric's point: latest, not sum");
	cr_expect_float_eq(agg.mp[m].points[0].v[1], 1, 0);
	cr_expect_float_eq(agg.mp[m].points[0].v[2], 100, 0);

	/* Next second, the other order: the latest is x's now (its series id is lower). */
	sink_reset(s);
	sink_gauge(s, sy, 5);
	sink_gauge(s, sx, 7);
	aggregate_add_sink(&agg, s);
	aggregate_close_interval(&agg, 1);
	cr_expect_float_eq(agg.mp[m].points[1].v[0], 7, 0);
	cr_expect_float_eq(gauge_value(&agg, m, NULL, 0, false, &min, &max), 7, 0);
	cr_expect_float_eq(gauge_value(&agg, m, y, 1, false, &min, &max), 5, 0);

	/* A series not touched since: older than the other one's sample. */
	sink_reset(s);
	sink_gauge(s, sy, 3);
	aggregate_add_sink(&agg, s);
	aggregate_close_interval(&agg, 2);
	cr_expect_float_eq(gauge_value(&agg, m, NULL, 0, false, &min, &max), 3, 0);
	cr_expect_float_eq(gauge_value(&agg, m, x, 1, false, &min, &max), 7, 0);
	sink_free(s);
	aggregate_destroy(&agg);
	registry_destroy(&reg);
}

/* Two workers' sinks reach the coordinator in any order: the later sample wins, whichever
 * sink is merged last; setup()'s and teardown()'s folded sinks take their place in time. */
Test(metrics, gauge_is_the_latest_sample_across_sinks)
{
	struct registry reg;
	struct aggregate agg;
	double min, max;
	registry_init(&reg);
	aggregate_init(&agg, &reg);
	int m = registry_metric(&reg, "depth", MT_GAUGE, MU_NONE);
	int sid = registry_series(&reg, m, NULL, 0);
	struct tag k[] = { { "k", "1" } };
	int tagged = registry_series(&reg, m, k, 1);
	struct sink *setup = sink_new(), *w1 = sink_new(), *w2 = sink_new(), *td = sink_new();
	sink_gauge(setup, sid, 50);
	aggregate_fold_sink(&agg, setup);
	sink_gauge(w2, sid, 3);
	sink_gauge(w1, tagged, 9); /* after w2's sample */
	aggregate_add_sink(&agg, w1);
	aggregate_add_sink(&agg, w2);
	aggregate_close_interval(&agg, 0);
	cr_expect_float_eq(agg.mp[m].points[0].v[0], 9, 0);
	cr_expect_float_eq(gauge_value(&agg, m, NULL, 0, false, &min, &max), 9, 0);
	cr_expect_float_eq(min, 3, 0);
	cr_expect_float_eq(max, 50, 0, "setup's sample counts in min and max");

	sink_reset(w1);
	sink_reset(w2);
	sink_gauge(w1, sid, 4);
	sink_gauge(w2, sid, 6);
	aggregate_add_sink(&agg, w2);
	aggregate_add_sink(&agg, w1);
	aggregate_close_interval(&agg, 1);
	cr_expect_float_eq(agg.s[sid].points[0].v[0], 3, 0);
	cr_expect_float_eq(agg.s[sid].points[1].v[0], 6, 0, "w2 recorded last, merged first");
	cr_expect_float_eq(gauge_value(&agg, m, NULL, 0, false, &min, &max), 6, 0);

	sink_gauge(td, tagged, 2);
	aggregate_fold_sink(&agg, td);
	cr_expect_float_eq(gauge_value(&agg, m, NULL, 0, false, &min, &max), 2, 0, "teardown");
	cr_expect_float_eq(min, 2, 0);

	/* slot_merge alone, in both orders. */
	struct slot a = { 0 }, b = { 0 };
	slot_merge(&a, &w1->slots[sid]);
	slot_merge(&a, &w2->slots[sid]);
	slot_merge(&b, &w2->slots[sid]);
	slot_merge(&b, &w1->slots[sid]);
	cr_expect_float_eq(a.g_last, 6, 0);
	cr_expect_float_eq(b.g_last, 6, 0);
	cr_expect_float_eq(b.g_min, 4, 0);
	cr_expect_float_eq(b.g_max, 6, 0);
	sink_free(setup);
	sink_free(w1);
	sink_free(w2);
	sink_free(td);
	aggregate_destroy(&agg);
	registry_destroy(&reg);
}

/* When a series' points merge (long runs), a gauge point keeps the later interval's value. */
Test(metrics, gauge_points_merge_to_the_later_value)
{
	struct registry reg;
	struct aggregate agg;
	registry_init(&reg);
	aggregate_init(&agg, &reg);
	int m = registry_metric(&reg, "g", MT_GAUGE, MU_NONE);
	struct tag x[] = { { "a", "x" } }, y[] = { { "a", "y" } };
	int sx = registry_series(&reg, m, x, 1), sy = registry_series(&reg, m, y, 1);
	struct sink *s = sink_new();
	for (int t = 0; t < METRIC_POINTS_MAX + 10; t++) {
		sink_gauge(s, t % 2 ? sy : sx, t % 2 ? 1000 + t : t);
		aggregate_add_sink(&agg, s);
		sink_reset(s);
		aggregate_close_interval(&agg, t);
	}
	const struct metric_points *mp = &agg.mp[m];
	cr_assert_gt(mp->step, 1);
	for (int i = 0; i + 1 < mp->npoints; i++) {
		int last = mp->points[i].t + mp->step - 1; /* the last second of the point */
		double want = last % 2 ? 1000 + last : last;
		cr_expect_float_eq(mp->points[i].v[0], want, 0, "point %d", i);
	}
	sink_free(s);
	aggregate_destroy(&agg);
	registry_destroy(&reg);
}

/* A sparse series (a point every k-th second) keeps distinct points after one doubling of
 * the step: the array must still never overflow (it did, before the doubling repeated). */
Test(metrics, sparse_series_points_stay_within_their_array)
{
	for (int k = 2; k <= 7; k++) {
		struct registry reg;
		struct aggregate agg;
		registry_init(&reg);
		aggregate_init(&agg, &reg);
		int sid = registry_series(&reg, M_HTTP_REQS, NULL, 0);
		struct sink *s = sink_new();
		for (int t = 0; t < 40 * SERIES_POINTS_MAX * k; t++) {
			if (t % k == 0)
				sink_add(s, sid, 1);
			aggregate_add_sink(&agg, s);
			sink_reset(s);
			aggregate_close_interval(&agg, t);
		}
		const struct agg_series *as = &agg.s[sid];
		cr_assert_leq(as->npoints, SERIES_POINTS_MAX, "k=%d", k);
		cr_assert_leq(as->cap, SERIES_POINTS_MAX, "k=%d", k);
		double sum = 0;
		for (int i = 0; i < as->npoints; i++) {
			cr_expect_eq(as->points[i].t % as->step, 0, "k=%d", k);
			sum += as->points[i].count;
		}
		cr_expect_float_eq(sum, (double)((40 * SERIES_POINTS_MAX * k + k - 1) / k), 1e-6,
		                   "k=%d: counts are conserved", k);
		sink_free(s);
		aggregate_destroy(&agg);
		registry_destroy(&reg);
	}
}

/* http_req_duration's windows (metric_windows): at most WINDOWS_MAX, the step doubling, every
 * sample kept exactly once, aligned, and the percentile of a window its own, not an average
 * (issue #11). aggregate_recent() reads the last seconds from them. */
Test(metrics, duration_windows_stay_exact_and_bounded)
{
	struct registry r;
	struct aggregate a;
	registry_init(&r);
	aggregate_init(&a, &r);
	int tid = registry_series(&r, M_HTTP_REQ_DURATION, NULL, 0);
	int fid = registry_series(&r, M_HTTP_REQ_FAILED, NULL, 0);
	struct sink *s = sink_new();
	const int seconds = 1000;
	for (int t = 0; t < seconds; t++) {
		/* 10 samples a second; from second 900 on they are 100x slower */
		for (int k = 0; k < 10; k++)
			sink_trend(s, tid, t >= 900 ? 100000 : 1000);
		sink_rate(s, fid, t >= 990);
		aggregate_add_sink(&a, s);
		sink_reset(s);
		aggregate_close_interval(&a, t);
	}
	const struct metric_windows *w = &a.mp[M_HTTP_REQ_DURATION].win;
	cr_assert_leq(w->n, WINDOWS_MAX);
	cr_assert_eq(w->step, 4, "1000 s: 1 -> 2 at 256 windows, -> 4 at 512");
	int64_t total = 0;
	for (int i = 0; i < w->n; i++) {
		cr_assert_eq(w->t[i] % w->step, 0);
		if (i)
			cr_assert_gt(w->t[i], w->t[i - 1]);
		total += w->h[i]->total_count;
	}
	cr_assert_eq(total, 10 * seconds, "every sample once");
	/* the window [896, 900) is all fast, [900, 904) all slow: exact, not averaged */
	for (int i = 0; i < w->n; i++) {
		if (w->t[i] == 896)
			cr_assert_lt(hdr_value_at_percentile(w->h[i], 99), 1100);
		if (w->t[i] == 900)
			cr_assert_gt(hdr_value_at_percentile(w->h[i], 1), 99000);
	}
	/* the last 20 s: 100 ms latency, and 10 of those 20 s failed */
	struct combined cb;
	double covered, v;
	cr_assert(aggregate_recent(&a, M_HTTP_REQ_DURATION, 20, &cb, &covered));
	cr_assert_eq(covered, 20);
	cr_assert(combined_value(&cb, THR_MED, 0, covered, &v));
	cr_assert_float_eq(v, 100, 0.2, "ms");
	combined_free(&cb);
	cr_assert(aggregate_recent(&a, M_HTTP_REQ_FAILED, 20, &cb, &covered));
	cr_assert(combined_value(&cb, THR_RATE, 0, covered, &v));
	cr_assert_float_eq(v, 0.5, 0.06, "the failures of the last 20 s");
	combined_free(&cb);
	cr_assert_not(aggregate_recent(&a, M_VUS, 20, &cb, &covered), "a gauge: no recent view");
	combined_free(&cb);
	sink_free(s);
	aggregate_destroy(&a);
	registry_destroy(&r);
}
