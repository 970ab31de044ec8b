/* test_metrics_cap.c: the registry's caps (metrics, series, overflow series) and the id
 * range checks of sinks and aggregation (issue #8 §1-2). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "metrics/metrics.h"
#include "util/common.h"

/* The tags worker_record_http gives a request, with name as the URL. */
static int http_tags(struct tag *t, const char *name, const char *status)
{
	int n = 0;
	t[n++] = (struct tag){ "method", "GET" };
	t[n++] = (struct tag){ "name", name };
	t[n++] = (struct tag){ "status", status };
	t[n++] = (struct tag){ "expected_response", "true" };
	t[n++] = (struct tag){ "scenario", "default" };
	t[n++] = (struct tag){ "group", "" };
	return n;
}

Test(metrics_cap, overflow_keeps_the_bounded_tags, .init = cr_redirect_stderr)
{
	struct registry r;
	struct tag t[TAG_MAX];
	registry_init(&r);
	r.max_series = 2;
	int a = registry_series(&r, M_HTTP_REQS, t, http_tags(t, "/a", "200"));
	int b = registry_series(&r, M_HTTP_REQS, t, http_tags(t, "/b", "200"));
	int c = registry_series(&r, M_HTTP_REQS, t, http_tags(t, "/c", "200"));
	int d = registry_series(&r, M_HTTP_REQS, t, http_tags(t, "/d", "200"));
	int e = registry_series(&r, M_HTTP_REQS, t, http_tags(t, "/e", "500"));
	cr_expect(a != b && !registry_series_overflow(&r, a) && !registry_series_overflow(&r, b));
	cr_expect(registry_series_overflow(&r, c));
	cr_expect_eq(c, d, "URLs past the cap share their overflow series");
	cr_expect_neq(c, e, "a status of its own keeps its own overflow series");
	cr_expect_str_eq(registry_series_info(&r, c)->canon,
	                 "http_reqs{__overflow__:true,expected_response:true,group:,method:GET,"
	                 "scenario:default,status:200}");
	cr_expect_str_eq(registry_series_info(&r, e)->canon,
	                 "http_reqs{__overflow__:true,expected_response:true,group:,method:GET,"
	                 "scenario:default,status:500}");
	/* The overflow tag set maps to itself: a caller may look it up directly. */
	struct tag o[TAG_MAX];
	int no = registry_overflow_tags(t, http_tags(t, "/zzz", "200"), o);
	cr_expect_eq(no, 6);
	cr_expect_eq(registry_series(&r, M_HTTP_REQS, o, no), c);
	cr_expect_eq(registry_series(&r, M_HTTP_REQS, t, http_tags(t, "/a", "200")), a);
	registry_destroy(&r);
}

Test(metrics_cap, the_overflow_tag_is_reserved)
{
	struct registry r;
	registry_init(&r);
	struct tag t[] = { { TAG_OVERFLOW, "true" }, { "k", "v" } };
	int id = registry_series(&r, M_ITERATIONS, t, 2);
	cr_expect(registry_series_overflow(&r, id), "a tag set with the marker is an overflow");
	cr_expect_str_eq(registry_series_info(&r, id)->canon, "iterations{__overflow__:true}");
	registry_destroy(&r);
}

Test(metrics_cap, bare_overflow_when_overflow_series_run_out, .init = cr_redirect_stderr)
{
	struct registry r;
	char method[32];
	struct tag t[2] = { { "method", method }, { "name", "/x" } };
	registry_init(&r);
	r.max_series = 0;
	int first_bare = -1, distinct = 0;
	for (int i = 0; i < SERIES_OVERFLOW_MAX + 50; i++) {
		snprintf(method, sizeof(method), "M%d", i);
		int id = registry_series(&r, M_HTTP_REQ_DURATION, t, 2);
		cr_assert(registry_series_overflow(&r, id));
		const char *canon = registry_series_info(&r, id)->canon;
		if (i < SERIES_OVERFLOW_MAX) {
			cr_expect(strstr(canon, method), "%s has its own overflow series", method);
			distinct++;
		} else {
			cr_expect_str_eq(canon, "http_req_duration{__overflow__:true}");
			if (first_bare < 0)
				first_bare = id;
			cr_expect_eq(id, first_bare, "one bare overflow series per metric");
		}
	}
	cr_expect_eq(distinct, SERIES_OVERFLOW_MAX);
	cr_expect_eq(registry_nseries(&r), SERIES_OVERFLOW_MAX + 1);
	registry_destroy(&r);
}

Test(metrics_cap, custom_metric_cap)
{
	struct registry r;
	char name[32];
	registry_init(&r);
	for (int i = 0; i < METRICS_CUSTOM_MAX; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		cr_assert_eq(registry_metric(&r, name, MT_COUNTER, MU_NONE), M__BUILTIN + i);
	}
	cr_expect_eq(registry_metric(&r, "one_too_many", MT_COUNTER, MU_NONE), -ENOSPC);
	cr_expect_eq(registry_find_metric(&r, "one_too_many"), -ENOENT);
	cr_expect_eq(registry_metric(&r, "m7", MT_COUNTER, MU_NONE), M__BUILTIN + 7,
	             "an existing metric is still found at the cap");
	cr_expect_eq(registry_metric(&r, "m7", MT_TREND, MU_NONE), -EEXIST);
	cr_expect_eq(registry_nmetrics(&r), METRICS_MAX);
	registry_destroy(&r);
}

/* Every metric at the cap, each with more tag sets than fit: ids stay in range, every
 * sample lands in one series, and the totals are exact. */
Test(metrics_cap, every_cap_at_once_keeps_totals_exact, .init = cr_redirect_stderr)
{
	struct registry r;
	struct aggregate agg;
	char name[32], v[32];
	registry_init(&r);
	aggregate_init(&agg, &r);
	for (int i = 0; i < METRICS_CUSTOM_MAX; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		registry_metric(&r, name, MT_COUNTER, MU_NONE);
	}
	struct sink *s = sink_new();
	int64_t samples = 0;
	for (int round = 0; round < 3; round++) {
		for (int m = 0; m < registry_nmetrics(&r); m++) {
			if (r.metrics[m].type != MT_COUNTER)
				continue;
			snprintf(v, sizeof(v), "%d", round);
			struct tag t[] = { { "k", v }, { "scenario", "default" } };
			int id = registry_series(&r, m, t, 2);
			cr_assert(id >= 0 && id < SERIES_LIMIT && id < registry_nseries(&r));
			cr_assert_eq(registry_series_info(&r, id)->metric, m);
			sink_add(s, id, 1);
			samples++;
		}
		aggregate_add_sink(&agg, s);
		aggregate_close_interval(&agg, round);
		sink_reset(s);
	}
	cr_expect_leq(registry_nseries(&r), SERIES_LIMIT);
	cr_expect_leq(agg.ns, registry_nseries(&r));
	double total = 0;
	for (int m = 0; m < registry_nmetrics(&r); m++) {
		struct combined c;
		if (r.metrics[m].type != MT_COUNTER)
			continue;
		aggregate_combine(&agg, m, NULL, 0, false, &c);
		cr_expect_float_eq(c.sum, 3, 0, "%s: every sample counted once", r.metrics[m].name);
		total += c.sum;
		combined_free(&c);
	}
	cr_expect_float_eq(total, (double)samples, 0);
	struct tag f[] = { { "scenario", "default" } };
	struct combined c;
	aggregate_combine(&agg, M__BUILTIN, f, 1, false, &c);
	cr_expect_float_eq(c.sum, 3, 0, "a bounded tag still filters in an overflow series");
	combined_free(&c);
	sink_free(s);
	aggregate_destroy(&agg);
	registry_destroy(&r);
}

/* A sink's slot array grows by doubling past the registry's series count: the aggregate
 * must not index the registry with it (heap-buffer-overflow in metric_points, 5,000
 * unique URLs under ASan). */
Test(metrics_cap, aggregate_never_reads_past_the_registry, .init = cr_redirect_stderr)
{
	struct registry r;
	struct aggregate agg;
	char v[32];
	registry_init(&r);
	aggregate_init(&agg, &r);
	struct sink *s = sink_new();
	int last = -1;
	for (int i = 0; i < SERIES_MAX + 100; i++) {
		snprintf(v, sizeof(v), "/x?id=%d", i);
		struct tag t[] = { { "name", v } };
		last = registry_series(&r, M_HTTP_REQS, t, 1);
		sink_add(s, last, 1);
	}
	cr_assert_gt(s->nslots, registry_nseries(&r), "the sink's array is longer");
	aggregate_add_sink(&agg, s);
	aggregate_close_interval(&agg, 0);
	cr_expect_leq(agg.ns, registry_nseries(&r));
	struct combined c;
	aggregate_combine(&agg, M_HTTP_REQS, NULL, 0, false, &c);
	cr_expect_float_eq(c.sum, SERIES_MAX + 100, 0);
	combined_free(&c);
	cr_expect_eq(agg.mp[M_HTTP_REQS].npoints, 1);
	cr_expect_float_eq(agg.mp[M_HTTP_REQS].points[0].count, SERIES_MAX + 100, 0);
	sink_free(s);
	aggregate_destroy(&agg);
	registry_destroy(&r);
}

Test(metrics_cap, sink_rejects_a_negative_id, .init = cr_redirect_stderr, .signal = SIGABRT)
{
	struct sink *s = sink_new();
	sink_add(s, -ENOSPC, 1);
}

Test(metrics_cap, sink_rejects_an_id_past_the_limit, .init = cr_redirect_stderr, .signal = SIGABRT)
{
	struct sink *s = sink_new();
	sink_trend(s, SERIES_LIMIT, 1);
}

Test(metrics_cap, series_of_an_unknown_metric_aborts, .init = cr_redirect_stderr, .signal = SIGABRT)
{
	struct registry r;
	registry_init(&r);
	registry_series(&r, -ENOSPC, NULL, 0);
}

Test(metrics_cap, aggregate_rejects_an_unregistered_series, .init = cr_redirect_stderr,
     .signal = SIGABRT)
{
	struct registry r;
	struct aggregate agg;
	registry_init(&r);
	aggregate_init(&agg, &r);
	struct sink *s = sink_new();
	sink_add(s, 40, 1);
	aggregate_add_sink(&agg, s);
}

static char *read_stderr(void)
{
	static char text[4096];
	fflush(stderr);
	FILE *f = cr_get_redirected_stderr();
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	return text;
}

Test(metrics_cap, one_warning_names_the_metric_and_the_tag, .init = cr_redirect_stderr)
{
	struct registry r;
	struct tag t[TAG_MAX];
	char url[32];
	registry_init(&r);
	r.max_series = 20;
	for (int i = 0; i < 100; i++) {
		snprintf(url, sizeof(url), "/x?id=%d", i);
		registry_series(&r, M_HTTP_REQS, t, http_tags(t, url, i % 2 ? "200" : "404"));
	}
	registry_destroy(&r);
	const char *text = read_stderr();
	cr_expect(strstr(text, "the 20-series cap was reached (all metrics together: each "
	                       "distinct tag set of each metric is one series)"),
	          "%s", text);
	cr_expect(strstr(text, "most come from tag 'name' of http_* metrics (20 distinct values "
	                       "so far, e.g. '/x?id="),
	          "%s", text);
	cr_expect(strstr(text, "totals and the series that thresholds select stay exact"), "%s",
	          text);
	cr_expect(strstr(text, "tags = { name = "), "advice: %s", text);
	cr_expect_eq(strchr(text, '\n'), text + strlen(text) - 1, "one line: %s", text);
}

Test(metrics_cap, warning_names_a_custom_metric_and_its_tag, .init = cr_redirect_stderr)
{
	struct registry r;
	char id[32];
	registry_init(&r);
	r.max_series = 10;
	int m = registry_metric(&r, "hits", MT_COUNTER, MU_NONE);
	for (int i = 0; i < 12; i++) {
		snprintf(id, sizeof(id), "u%d", i);
		registry_series(&r, m, &(struct tag){ "user", id }, 1);
	}
	registry_destroy(&r);
	const char *text = read_stderr();
	cr_expect(strstr(text, "tag 'user' of metric 'hits' (10 distinct values"), "%s", text);
	cr_expect(strstr(text, "Avoid tag values that vary without bound"), "%s", text);
}

/* Thresholds' selectors (issue: http_req_duration{name:fixed} saw "no data" once 400
 * unique URLs had filled the cap). */

static int fill_the_cap(struct registry *r, int n)
{
	struct tag t[TAG_MAX];
	char url[32];
	int id = -1;
	for (int i = 0; i < n; i++) {
		snprintf(url, sizeof(url), "/x?id=%d", i);
		id = registry_series(r, M_HTTP_REQS, t, http_tags(t, url, "200"));
	}
	return id;
}

Test(metrics_cap, selected_tag_sets_bypass_the_cap, .init = cr_redirect_stderr)
{
	struct registry r;
	struct tag t[TAG_MAX];
	registry_init(&r);
	r.max_series = 4;
	struct tag fixed[] = { { "name", "fixed" } };
	registry_keep_selector(&r, M_HTTP_REQ_DURATION, fixed, 1);
	int user = registry_metric(&r, "my_counter", MT_COUNTER, MU_NONE);
	registry_keep_selector(&r, user, &(struct tag){ "user", "u4999" }, 1);
	cr_assert(registry_series_overflow(&r, fill_the_cap(&r, 10)), "past the cap");

	/* The request's series are decided by http_reqs (engine/worker.c): it is kept too. */
	int n = http_tags(t, "fixed", "200");
	int reqs = registry_series(&r, M_HTTP_REQS, t, n);
	int dur = registry_series(&r, M_HTTP_REQ_DURATION, t, n);
	int blocked = registry_series(&r, M_HTTP_REQ_BLOCKED, t, n);
	cr_expect_not(registry_series_overflow(&r, reqs));
	cr_expect_not(registry_series_overflow(&r, dur));
	cr_expect_not(registry_series_overflow(&r, blocked));
	cr_expect_str_eq(registry_series_info(&r, dur)->canon,
	                 "http_req_duration{expected_response:true,group:,method:GET,name:fixed,"
	                 "scenario:default,status:200}");
	cr_expect_eq(registry_series(&r, M_HTTP_REQ_DURATION, t, n), dur, "interned");
	cr_expect(registry_series_overflow(&r, registry_series(&r, M_ITERATIONS, t, n)),
	          "not a metric a selector names");
	cr_expect(registry_series_overflow(
	              &r, registry_series(&r, M_HTTP_REQS, t, http_tags(t, "other", "200"))),
	          "another name is not selected");

	struct tag u[] = { { "scenario", "default" }, { "user", "u4999" } };
	int mine = registry_series(&r, user, u, 2);
	cr_expect_not(registry_series_overflow(&r, mine));
	u[1].value = "u4998";
	cr_expect(registry_series_overflow(&r, registry_series(&r, user, u, 2)));
	cr_expect_eq(r.nreserved, 4);
	cr_expect_not(r.reserve_warned);
	registry_destroy(&r);
}

Test(metrics_cap, bounded_or_repeated_selectors_reserve_nothing)
{
	struct registry r;
	registry_init(&r);
	registry_keep_selector(&r, M_HTTP_REQ_DURATION, NULL, 0);
	registry_keep_selector(&r, M_HTTP_REQ_DURATION,
	                       &(struct tag){ "expected_response", "true" }, 1);
	struct tag st[] = { { "status", "200" }, { "scenario", "s" } };
	registry_keep_selector(&r, M_HTTP_REQS, st, 2);
	cr_expect_eq(r.nsel, 0, "overflow series keep those tags: no reserve needed");
	struct tag a[] = { { "name", "x" }, { "status", "200" } };
	struct tag b[] = { { "status", "200" }, { "name", "x" } };
	registry_keep_selector(&r, M_HTTP_REQS, a, 2);
	registry_keep_selector(&r, M_HTTP_REQS, b, 2);
	registry_keep_selector(&r, M_HTTP_REQ_DURATION, a, 2);
	cr_expect_eq(r.nsel, 2, "one per metric and tag set");
	registry_destroy(&r);
}

/* The reserve is bounded; once full, a selected tag set overflows with the selector's
 * tags kept, so the threshold still counts it, and one warning names the selector. */
Test(metrics_cap, full_reserve_overflows_keeping_the_selector_tags, .init = cr_redirect_stderr)
{
	struct registry r;
	struct aggregate agg;
	char id[32];
	registry_init(&r);
	aggregate_init(&agg, &r);
	r.max_series = 2;
	r.max_reserved = 3;
	int m = registry_metric(&r, "my_counter", MT_COUNTER, MU_NONE);
	struct tag sel[] = { { "user", "u7" } };
	registry_keep_selector(&r, m, sel, 1);
	struct sink *s = sink_new();
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "r%d", i);
		struct tag t[] = { { "user", "u7" }, { "req", id }, { "status", "200" } };
		sink_add(s, registry_series(&r, m, t, 3), 1);
		struct tag o[] = { { "user", id } };
		sink_add(s, registry_series(&r, m, o, 1), 1);
	}
	cr_expect_eq(r.nreserved, 3);
	cr_expect(r.reserve_warned);
	aggregate_add_sink(&agg, s);
	aggregate_close_interval(&agg, 0);
	struct combined c;
	aggregate_combine(&agg, m, sel, 1, false, &c);
	cr_expect_float_eq(c.sum, 20, 0, "every sample the selector selects is counted");
	combined_free(&c);
	aggregate_combine(&agg, m, NULL, 0, false, &c);
	cr_expect_float_eq(c.sum, 40, 0, "totals exact");
	combined_free(&c);
	bool kept = false;
	for (int i = 0; i < registry_nseries(&r); i++)
		kept |= strcmp(registry_series_info(&r, i)->canon,
		               "my_counter{__overflow__:true,status:200,user:u7}") == 0;
	cr_expect(kept, "an overflow series with the selector's tag");
	sink_free(s);
	aggregate_destroy(&agg);
	registry_destroy(&r);
	const char *text = read_stderr();
	cr_expect(strstr(text, "the 3 extra series kept for thresholds past the series cap are "
	                       "all taken; new tag sets that threshold 'my_counter{user:u7}' "
	                       "selects"),
	          "%s", text);
	cr_expect(strstr(text, "the 2-series cap was reached"), "%s", text);
	const char *nl = strchr(text, '\n');
	cr_expect(nl && strchr(nl + 1, '\n') && !strchr(strchr(nl + 1, '\n') + 1, '\n'),
	          "two lines: %s", text);
}

struct hammer {
	struct registry *r;
	int base;
	int bad;
};

static void *hammer(void *arg)
{
	struct hammer *h = arg;
	char v[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(v, sizeof(v), "%d", h->base + i);
		struct tag t[] = { { "id", v } };
		int id = registry_series(h->r, M_ITERATIONS + (i % 3), t, 1);
		if (id < 0 || id >= registry_nseries(h->r) ||
		    registry_series_info(h->r, id)->metric != M_ITERATIONS + (i % 3))
			h->bad++;
	}
	return NULL;
}

Test(metrics_cap, threads_past_the_cap, .init = cr_redirect_stderr)
{
	struct registry r;
	pthread_t th[4];
	struct hammer h[4];
	registry_init(&r);
	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){ &r, i * 100000, 0 };
		pthread_create(&th[i], NULL, hammer, &h[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(h[i].bad, 0);
	}
	cr_expect_leq(registry_nseries(&r), SERIES_LIMIT);
	registry_destroy(&r);
}
