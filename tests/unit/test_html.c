/* test_html.c: unit tests for the HTML report: built from a hand-made result, every value
 * from the result escaped, nothing external, the verdict, SLO lines, the per-endpoint table
 * and degenerate results. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics/hdr.h"
#include "output/html.h"
#include "output/output.h"
#include "util/buf.h"
#include "util/common.h"

enum { M_REQS, M_FAILED, M_DUR, M_VUS, NMETRICS };

#define EVIL "<script>alert('x')</script>&\"q\""

static struct result_point reqs_pts[3] = { { 0, 100, { 0 } }, { 1, 120, { 0 } }, { 2, 90, { 0 } } };
static struct result_point fail_pts[3] = { { 0, 100, { 0.1f } },
	                                   { 1, 120, { 0 } },
	                                   { 2, 90, { 0.5f } } };
static struct result_point dur_pts[3] = { { 0, 100, { 3, 8, 9, 12, 20 } },
	                                  { 1, 120, { 4, 9, 10, 15, 30 } },
	                                  { 2, 0, { 0 } } };
static struct result_point vus_pts[3] = { { 0, 1, { 5, 5, 5 } },
	                                  { 1, 1, { 10, 10, 10 } },
	                                  { 2, 1, { 10, 10, 10 } } };

static const struct result_tag tags_home[] = { { "name", "home" } };
static const struct result_tag tags_evil[] = { { "name", EVIL } };
static const struct result_tag thr_tags[] = { { "name", "home" } };

struct fixture {
	struct result r;
	struct result_metric metrics[NMETRICS];
	struct result_series series[7];
	struct result_threshold thr[3];
	struct result_check checks[2];
	struct result_error errors[1];
	struct result_script_error serr[1];
	const char *groups[1];
};

static struct fixture fx;

static struct hdr *hist(int64_t from_us, int64_t to_us, int n)
{
	struct hdr *h = hdr_new_default();
	for (int i = 0; i < n; i++)
		hdr_record(h, from_us + (to_us - from_us) * i / MAX(n - 1, 1));
	return h;
}

static void build(void)
{
	struct result *r = &fx.r;
	memset(&fx, 0, sizeof(fx));
	r->version = "0.1.0-test";
	r->options =
	    json_pack("{s:s, s:i, s:s, s:{s:[s]}}", "url", "http://127.0.0.1:1/" EVIL, "vus", 10,
	              "duration", "3s", "thresholds", "http_req_duration", "p(95)<200");
	r->start_wall_us = 1764542875000000LL; /* 2025-11-30 22:47:55 UTC */
	r->duration_s = 3.0;
	fx.metrics[M_REQS] =
	    (struct result_metric){ "http_reqs", MT_COUNTER, RU_NONE, { 1, 3, reqs_pts }, { 0 } };
	fx.metrics[M_FAILED] = (struct result_metric){
		"http_req_failed", MT_RATE, RU_NONE, { 1, 3, fail_pts }, { 0 }
	};
	fx.metrics[M_DUR] = (struct result_metric){
		"http_req_duration", MT_TREND, RU_TIME, { 1, 3, dur_pts }, { 0 }
	};
	fx.metrics[M_VUS] =
	    (struct result_metric){ "vus", MT_GAUGE, RU_NONE, { 1, 3, vus_pts }, { 0 } };
	r->nmetrics = NMETRICS;
	r->metrics = fx.metrics;

	struct result_series *s = fx.series;
	s[0] = (struct result_series){ .metric = M_REQS, .ntags = 1, .tags = tags_home };
	s[0].total = (struct result_values){ .type = MT_COUNTER, .any = true, .sum = 200 };
	s[1] = (struct result_series){ .metric = M_REQS, .ntags = 1, .tags = tags_evil };
	s[1].total = (struct result_values){ .type = MT_COUNTER, .any = true, .sum = 110 };
	s[2] = (struct result_series){ .metric = M_FAILED, .ntags = 1, .tags = tags_home };
	s[2].total = (struct result_values){ .type = MT_RATE, .any = true, .nz = 50, .total = 200 };
	s[3] = (struct result_series){ .metric = M_FAILED, .ntags = 1, .tags = tags_evil };
	s[3].total = (struct result_values){ .type = MT_RATE, .any = true, .nz = 0, .total = 110 };
	s[4] = (struct result_series){ .metric = M_DUR, .ntags = 1, .tags = tags_home };
	s[4].total =
	    (struct result_values){ .type = MT_TREND, .any = true, .h = hist(1000, 100000, 200) };
	s[5] = (struct result_series){ .metric = M_DUR, .ntags = 1, .tags = tags_evil };
	s[5].total =
	    (struct result_values){ .type = MT_TREND, .any = true, .h = hist(2000, 4000, 110) };
	s[6] = (struct result_series){ .metric = M_VUS };
	s[6].total = (struct result_values){
		.type = MT_GAUGE, .any = true, .g_last = 10, .g_min = 5, .g_max = 10
	};
	r->nseries = 7;
	r->series = s;

	fx.thr[0] = (struct result_threshold){ .source = "p(95)<200",
		                               .metric = "http_req_duration",
		                               .selector = "http_req_duration",
		                               .expr = "p(95)<200",
		                               .stat = "p(95)",
		                               .ok = true,
		                               .value = 90 };
	fx.thr[1] = (struct result_threshold){ .source = "rate<0.01",
		                               .metric = "http_req_failed",
		                               .selector = "http_req_failed",
		                               .expr = "rate<0.01",
		                               .stat = "rate",
		                               .ok = false,
		                               .value = 50.0 / 310 };
	fx.thr[2] = (struct result_threshold){ .source = "p(99)<50",
		                               .metric = "http_req_duration",
		                               .selector = "http_req_duration{name:home}",
		                               .ntags = 1,
		                               .tags = thr_tags,
		                               .expr = "p(99)<50",
		                               .stat = "p(99)",
		                               .ok = false,
		                               .value = 99 };
	r->nthresholds = 3;
	r->thresholds = fx.thr;
	fx.groups[0] = "::" EVIL;
	r->ngroups = 1;
	r->groups = fx.groups;
	fx.checks[0] = (struct result_check){ "", "status is 200", 250, 50 };
	fx.checks[1] = (struct result_check){ "::" EVIL, "body " EVIL, 110, 0 };
	r->nchecks = 2;
	r->checks = fx.checks;
	fx.errors[0] = (struct result_error){ "status_503", 503, "Service " EVIL, 50 };
	r->nerrors = 1;
	r->errors = fx.errors;
	fx.serr[0] = (struct result_script_error){ "script.lua:3: bad \xff\xfe byte " EVIL, 2 };
	r->nscript_errors = 1;
	r->script_errors = fx.serr;
	r->gen = (struct result_generator){
		.threads = 2, .cpu_percent = 12.5, .saturated_seconds = 1, .max_rss_kb = 20480
	};
}

static void teardown(void)
{
	for (int i = 0; i < fx.r.nseries; i++)
		hdr_free(fx.series[i].total.h);
	json_decref(fx.r.options);
}

TestSuite(html, .init = build, .fini = teardown);

static char *render(void)
{
	struct buf b = { 0 };
	html_report_render(&fx.r, &b);
	cr_assert(b.len > 0 && b.p);
	return b.p;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

Test(html, escapes_every_string_from_the_result)
{
	char *h = render();
	cr_expect_null(strstr(h, "<script"), "a raw <script> tag in the report");
	cr_expect_null(strstr(h, "alert('x')"), "an unescaped quote");
	/* options (title, header, dump), endpoint name, group, check, error, script error */
	cr_expect_geq(
	    count(h, "&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;&amp;&quot;q&quot;"), 7,
	    "escaped text missing");
	cr_expect_not_null(strstr(h, "bad \xef\xbf\xbd\xef\xbf\xbd byte"),
	                   "invalid UTF-8 not replaced by U+FFFD");
	free(h);
}

Test(html, self_contained)
{
	char *h = render();
	cr_expect_null(strstr(h, "<script"));
	cr_expect_null(strstr(h, "src="), "an element loads something");
	cr_expect_null(strstr(h, "@import"));
	cr_expect_null(strstr(h, "url("));
	cr_expect_not_null(strstr(h, "default-src 'none'"), "no Content-Security-Policy");
	for (const char *p = h; (p = strstr(p, "href=\"")); p += 6)
		cr_expect(p[6] == '#' || strncmp(p + 6, "data:", 5) == 0, "external href: %.60s",
		          p);
	free(h);
}

Test(html, header_verdict_and_counts)
{
	char *h = render();
	cr_expect_not_null(strstr(h, "data-thresholds=\"failed\">thresholds failed: 2 of 3"));
	cr_expect_not_null(strstr(h, "id=\"http-reqs\" data-value=\"310\""));
	cr_expect_not_null(strstr(h, "2025-11-30 22:47:55 UTC"));
	cr_expect_eq(count(h, "class=\"thr pass\" data-ok=\"true\""), 1);
	cr_expect_eq(count(h, "class=\"thr fail\" data-ok=\"false\""), 2);
	cr_expect_null(strstr(h, "id=\"interrupted\""));
	cr_expect_not_null(strstr(h, "The generator's own CPU was saturated in 1 of the run's "));
	cr_expect_null(strstr(h, "id=\"dropped\""), "no iteration was dropped");
	free(h);
}

Test(html, aborted_and_interrupted_badges)
{
	fx.r.aborted = true;
	fx.r.abort_reason = "threshold <b> crossed";
	fx.r.interrupted = true;
	char *h = render();
	cr_expect_not_null(strstr(h, "aborted: threshold &lt;b&gt; crossed"));
	cr_expect_not_null(strstr(h, "id=\"interrupted\""));
	free(h);
}

Test(html, charts_have_slo_lines_and_the_percentile_axis)
{
	char *h = render();
	cr_expect_not_null(strstr(h, "id=\"chart-throughput\""));
	cr_expect_not_null(strstr(h, "id=\"chart-latency\""));
	cr_expect_not_null(strstr(h, "id=\"chart-vus\""));
	cr_expect_not_null(strstr(h, "id=\"chart-distribution\""));
	/* drawn on the latency chart and the distribution (tagged at the top when far above),
	 * named in full in the legends and the lines' and tags' titles */
	cr_expect_not_null(strstr(h, "&#8593; SLO 1<title>SLO 1: p(95)&lt;200 (passed)</title>"));
	cr_expect_eq(count(h, "<b>SLO 1</b>: p(95)&lt;200 (passed) (above the chart)"), 1);
	cr_expect_eq(count(h, "<b>SLO 1</b>: p(95)&lt;200 (passed)</span>"), 1);
	cr_expect_geq(count(h, "<title>SLO 2: http_req_duration{name:home} p(99)&lt;50 (failed)"
	                       "</title></line>"),
	              2);
	/* 310 requests: the percentile axis goes to 99.9% (log10 310 = 2.5) */
	cr_expect_not_null(strstr(h, ">99%</text>"));
	cr_expect_not_null(strstr(h, ">99.9%</text>"));
	cr_expect_null(strstr(h, ">99.99%</text>"));
	cr_expect_null(strstr(h, "nan"), "a NaN leaked into the SVG");
	free(h);
}

Test(html, endpoints_grouped_by_name)
{
	char *h = render();
	char *t = strstr(h, "<section id=\"endpoints\">");
	cr_assert_not_null(t);
	char *row = strstr(t, "<td class=\"name\">home</td>");
	cr_assert_not_null(row, "no row for 'home'");
	/* 200 requests, 200/3 s, 25% failed, p50 of 1..100 ms evenly spread ~50 ms */
	cr_expect(strncmp(row,
	                  "<td class=\"name\">home</td><td>200</td><td>66.67</td>"
	                  "<td>25.00%</td><td>50.",
	                  72) == 0,
	          "row: %.200s", row);
	cr_expect_not_null(strstr(t, "<td class=\"name\">&lt;script&gt;"));
	free(h);
}

Test(html, empty_result_renders)
{
	struct result r = { 0 };
	r.options = json_object();
	struct buf b = { 0 };
	html_report_render(&r, &b);
	cr_expect_not_null(strstr(b.p, "no data"));
	cr_expect_not_null(strstr(b.p, "data-thresholds=\"none\""));
	cr_expect_not_null(strstr(b.p, "No request completed"));
	cr_expect_not_null(strstr(b.p, "</html>"));
	cr_expect_null(strstr(b.p, "nan"));
	buf_free(&b);
	json_decref(r.options);
}

Test(html, write_reports_errors)
{
	char err[256] = "";
	char path[64];
	snprintf(path, sizeof(path), "/tmp/test_html.%d.html", (int)getpid());
	cr_expect_eq(html_report_write(&fx.r, path, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(access(path, R_OK), 0);
	unlink(path);
	cr_expect_lt(html_report_write(&fx.r, "/nonexistent-dir/r.html", err, sizeof(err)), 0);
	cr_expect_not_null(strstr(err, "/nonexistent-dir/r.html"), "err: %s", err);
}

Test(html, output_open_checks_the_path)
{
	struct output o = { .ops = &output_html, .arg = "/nonexistent-dir/r.html" };
	char err[256] = "";
	cr_expect_lt(output_html.open(&o, err, sizeof(err)), 0);
	cr_expect_str_eq(output_html.name, "html");
	o.arg = "";
	cr_expect_lt(output_html.open(&o, err, sizeof(err)), 0);
}

Test(html, damaged_values_stay_inside_the_charts)
{
	static struct result_point odd[4] = { { -5, 10, { NAN, INFINITY, -3, 1e30f, 0 } },
		                              { 7, -2, { 1, 2, 3, 4, 5 } },
		                              { 2000000000, 1e30f, { -1, 0, 0, 0, 0 } },
		                              { 3, NAN, { 0 } } };
	for (int m = 0; m < NMETRICS; m++)
		fx.metrics[m].ts = (struct result_timeseries){ 0, 4, odd };
	fx.thr[0].expr = NULL;
	fx.thr[1].stat = NULL;
	fx.thr[2].selector = NULL;
	fx.thr[2].value = NAN;
	fx.checks[0].name = NULL;
	fx.r.duration_s = NAN;
	fx.r.start_wall_us = -1;
	char *h = render();
	cr_expect_not_null(strstr(h, "</html>"));
	cr_expect_null(strstr(h, "nan"), "a NaN leaked into the report");
	cr_expect_null(strstr(h, "inf"), "an infinity leaked into the report");
	cr_expect_not_null(strstr(h, "<dd id=\"duration\">unknown</dd>"));
	/* every coordinate inside the viewBox */
	for (const char *p = h; (p = strstr(p, "points=\"")); p++) {
		const char *q = p + 8;
		double x, y;
		int n;
		while (sscanf(q, "%lf,%lf%n", &x, &y, &n) == 2) {
			cr_expect(x >= 0 && x <= 960 && y >= 0 && y <= 300, "point %g,%g", x, y);
			q += n;
		}
	}
	free(h);
}

/* The x of each tag "<text class="reflabel" ... x="X" y="Y">" and its y. */
static int ref_tags(const char *h, double *x, double *y, int max)
{
	int n = 0;
	for (const char *p = h; n < max && (p = strstr(p, "<text class=\"reflabel\"")); p++) {
		const char *q = strstr(p, " x=\"");
		cr_assert_not_null(q);
		cr_assert_eq(sscanf(q, " x=\"%lf\" y=\"%lf\"", &x[n], &y[n]), 2, "%.80s", q);
		n++;
	}
	return n;
}

Test(html, slo_tags_stay_off_the_plot_and_apart)
{
	char *h = render();
	char *lat = strstr(h, "id=\"chart-latency\"");
	cr_assert_not_null(lat);
	char *end = strstr(lat, "</svg>");
	*end = '\0';
	double x[8], y[8];
	int n = ref_tags(lat, x, y, 8);
	cr_expect_eq(n, 2, "two SLOs on http_req_duration");
	for (int i = 0; i < n; i++) {
		cr_expect_geq(x[i], 960 - 64, "tag %d inside the plot (x %g)", i, x[i]);
		for (int j = 0; j < i; j++)
			cr_expect_geq(fabs(y[i] - y[j]), 14, "tags %d and %d overlap", i, j);
	}
	free(h);
}

/* The x coordinates of the points of the polylines of the chart id, in order. */
static int chart_xs(const char *h, const char *id, double *xs, int max)
{
	char key[64];
	snprintf(key, sizeof(key), "id=\"%s\"", id);
	const char *c = strstr(h, key);
	cr_assert_not_null(c, "no %s", id);
	const char *end = strstr(c, "</svg>");
	int n = 0;
	for (const char *p = c; (p = strstr(p, "points=\"")) && p < end; p++) {
		const char *q = p + 8;
		double x, y;
		int k;
		while (n < max && sscanf(q, "%lf,%lf%n", &x, &y, &k) == 2) {
			xs[n++] = x;
			q += k;
		}
	}
	return n;
}

/* The largest x tick label of chart id, and where the axis ends (the "H" of its path). */
static void chart_axis(const char *h, const char *id, double *last_tick, double *axis_end)
{
	char key[64];
	snprintf(key, sizeof(key), "id=\"%s\"", id);
	const char *c = strstr(h, key);
	const char *end = strstr(c, "</svg>");
	*last_tick = -1;
	for (const char *p = c; (p = strstr(p, "text-anchor=\"middle\">")) && p < end; p++) {
		double t;
		if (sscanf(p + 21, "%lf<", &t) == 1)
			*last_tick = MAX(*last_tick, t);
	}
	const char *a = strstr(c, "class=\"axis\" d=\"M");
	int ml, mt, bot;
	cr_assert_eq(sscanf(a, "class=\"axis\" d=\"M%d %d V%d H%lf", &ml, &mt, &bot, axis_end), 4);
}

Test(html, a_short_last_second_is_left_out_of_every_chart)
{
	/* 3.03 s: the point at t=3 stands for 0.03 s; its percentiles, rate and VUs are
	 * not drawn, in any chart */
	static struct result_point reqs4[4] = {
		{ 0, 100, { 0 } }, { 1, 120, { 0 } }, { 2, 90, { 0 } }, { 3, 5, { 0 } }
	};
	static struct result_point fail4[4] = {
		{ 0, 100, { 0.1f } }, { 1, 120, { 0 } }, { 2, 90, { 0.5f } }, { 3, 5, { 1 } }
	};
	static struct result_point dur4[4] = { { 0, 100, { 3, 8, 9, 12, 20 } },
		                               { 1, 120, { 4, 9, 10, 15, 30 } },
		                               { 2, 90, { 4, 9, 10, 15, 30 } },
		                               { 3, 5, { 900, 900, 900, 900, 900 } } };
	static struct result_point vus4[4] = { { 0, 1, { 5, 5, 5 } },
		                               { 1, 1, { 10, 10, 10 } },
		                               { 2, 1, { 10, 10, 10 } },
		                               { 3, 1, { 1, 1, 1 } } };
	fx.metrics[M_REQS].ts = (struct result_timeseries){ 1, 4, reqs4 };
	fx.metrics[M_FAILED].ts = (struct result_timeseries){ 1, 4, fail4 };
	fx.metrics[M_DUR].ts = (struct result_timeseries){ 1, 4, dur4 };
	fx.metrics[M_VUS].ts = (struct result_timeseries){ 1, 4, vus4 };
	fx.r.duration_s = 3.03;
	char *h = render();
	static const char *const charts[] = { "chart-throughput", "chart-latency", "chart-vus" };
	for (size_t i = 0; i < ARRAY_SIZE(charts); i++) {
		double xs[64], last_tick, axis_end;
		int n = chart_xs(h, charts[i], xs, 64);
		chart_axis(h, charts[i], &last_tick, &axis_end);
		/* 3 points per line, at 0.5, 1.5, 2.5 s of a 3.03 s axis */
		cr_expect(n > 0 && n % 3 == 0, "%s: %d points", charts[i], n);
		double plot_w = axis_end - 76;
		for (int k = 0; k < n; k++)
			cr_expect_lt(xs[k], 76 + plot_w * 2.6 / 3.03, "%s: a point at x %g",
			             charts[i], xs[k]);
		cr_expect_eq(last_tick, 3, "%s: the x axis ticks go to %g", charts[i], last_tick);
		cr_expect_eq(axis_end, 960 - 64, "%s: the axis ends at %g", charts[i], axis_end);
		/* the tick 3 sits at 3/3.03 of the plot, not at its end: the axis ends at 3.03 */
		char tick[96];
		snprintf(tick, sizeof(tick), "x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">3<",
		         76 + plot_w * 3 / 3.03, 14 + 236 + 16);
		cr_expect_not_null(strstr(strstr(h, charts[i]), tick), "%s: no tick %s", charts[i],
		                   tick);
	}
	/* the 900 ms of the last 0.03 s would set the latency chart's scale */
	cr_expect_null(strstr(strstr(h, "chart-latency"), ">900<"));
	free(h);
}

Test(html, host_saturation_is_not_blamed_on_the_generator)
{
	fx.r.gen = (struct result_generator){
		.threads = 2, .cpu_percent = 1, .host_saturated_seconds = 3, .max_rss_kb = 1024
	};
	char *h = render();
	cr_expect_null(strstr(h, "The generator's own CPU was saturated"));
	cr_expect_not_null(strstr(h, "The machine's CPU was saturated in 3 of the run's "));
	cr_expect_not_null(strstr(h, " one-second samples (the generator's workers averaged 1%): "
	                             "the generator had to share the CPU"));
	cr_expect_null(strstr(h, "id=\"workers-stuck\""));
	free(h);
	fx.r.gen.workers_stuck = 2;
	h = render();
	cr_expect_not_null(strstr(h, "2 workers did not stop when the run ended"));
	free(h);
	fx.r.gen = (struct result_generator){ .threads = 2, .cpu_percent = 1 };
	h = render();
	cr_expect_null(strstr(h, "class=\"warn\""), "a warning with a healthy generator");
	free(h);
}

Test(html, dropped_iterations_warn_in_the_header_and_generator_health)
{
	static struct result_metric metrics[NMETRICS + 1];
	static struct result_series series[8];
	memcpy(metrics, fx.metrics, sizeof(fx.metrics));
	metrics[NMETRICS] =
	    (struct result_metric){ .name = "dropped_iterations", .type = MT_COUNTER };
	memcpy(series, fx.series, sizeof(fx.series));
	series[7] = (struct result_series){ .metric = NMETRICS };
	series[7].total = (struct result_values){ .type = MT_COUNTER, .any = true, .sum = 42 };
	fx.r.metrics = metrics;
	fx.r.nmetrics = NMETRICS + 1;
	fx.r.series = series;
	fx.r.nseries = 8;
	fx.r.gen.open_model = true;
	char *h = render();
	char *head = strstr(h, "<header>"), *head_end = strstr(h, "</header>");
	char *badge = strstr(h, "id=\"dropped\"");
	cr_assert_not_null(badge, "no dropped-iterations badge");
	cr_expect(badge > head && badge < head_end);
	cr_expect_not_null(strstr(badge, ">42 iterations dropped</a>"));
	char *gen = strstr(h, "<section id=\"generator\">");
	cr_expect_not_null(strstr(gen, "<dt>dropped iterations</dt><dd>42</dd>"));
	cr_expect_not_null(strstr(gen, "id=\"dropped-warning\">42 iterations were dropped: no VU "
	                               "was free to start them when due"));
	fx.r.nseries = 7; /* teardown frees the histograms of the fixture's own series */
	free(h);
}

Test(html, long_names_are_capped)
{
	/* 3000 checks in a group whose path is 150,000 characters: the report stays small */
	enum { N = 3000, LONG = 150000 };
	char *group = xmalloc(LONG + 1);
	memset(group, 'g', LONG);
	memcpy(group, "::", 2);
	group[LONG] = '\0';
	struct result_check *checks = xcalloc(N, sizeof(*checks));
	for (int i = 0; i < N; i++)
		checks[i] = (struct result_check){ group, group + 2, 1, 0 };
	fx.r.checks = checks;
	fx.r.nchecks = N;
	fx.errors[0].description = group;
	fx.serr[0].message = group;
	fx.thr[2].selector = group;
	char *h = render();
	size_t len = strlen(h);
	cr_expect_lt(len, (size_t)N * 2 * 400 + 200000, "the report is %zu bytes", len);
	cr_expect_geq(count(h, "&#8230; (150000 bytes in all)"), N, "%d",
	              count(h, "&#8230; (150000 bytes in all)"));
	cr_expect_geq(count(h, "&#8230; (149998 bytes in all)"), N);
	free(h);
	free(checks);
	free(group);
}

Test(html, a_name_of_the_cap_is_shown_whole_and_utf8_is_not_cut)
{
	char name[2 * 300 + 1];
	for (int i = 0; i < 300; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2); /* é: 300 characters, 600 bytes */
	name[600] = '\0';
	fx.checks[0].name = name;
	char *h = render();
	cr_expect_not_null(strstr(h, name), "300 characters not shown whole");
	free(h);
	char longer[600 + 2];
	memcpy(longer, name, 600);
	memcpy(longer + 600, "x", 2);
	fx.checks[0].name = longer;
	h = render();
	char expect[700];
	snprintf(expect, sizeof(expect), "<td>%s&#8230; (601 bytes in all)</td>", name);
	cr_expect_not_null(strstr(h, expect), "cut at 300 characters");
	free(h);
}

Test(html, control_characters_never_reach_the_html)
{
	fx.checks[0].name = "esc \x1b[31mred\x1b[0m del \x7f bell \x07 c1 \xc2\x9b bidi "
	                    "\xe2\x80\xae\xe2\x81\xa6 end";
	fx.checks[1].group = "::g\x1b\x01";
	fx.errors[0].kind = "k\x1b";
	fx.thr[2].selector = "http_req_duration{name:\x1b[2J}";
	fx.thr[2].expr = "p(99)<50";
	fx.serr[0].message = "trace\x1b\nline 2\tend";
	fx.metrics[M_VUS].name = "vus\x1b";
	json_object_set_new(fx.r.options, "url", json_string("http://127.0.0.1:1/\x1b[2J"));
	json_object_set_new(fx.r.options, "tag\x1b", json_string("v\x1b"));
	char *h = render();
	for (const unsigned char *p = (const unsigned char *)h; *p; p++) {
		cr_assert(*p >= 0x20 || *p == '\n' || *p == '\t', "control 0x%02x at %.40s", *p,
		          (const char *)p);
		cr_assert(*p != 0x7f, "DEL at %.40s", (const char *)p);
		if (p[0] == 0xc2)
			cr_assert(p[1] >= 0xa0, "a C1 control at %.40s", (const char *)p);
		if (p[0] == 0xe2 && (p[1] == 0x80 || p[1] == 0x81))
			cr_assert(!(p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) &&
			              !(p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9),
			          "a bidi override at %.40s", (const char *)p);
	}
	cr_expect_not_null(strstr(h, "esc \xef\xbf\xbd[31mred"));
	/* the SVG <title> of the SLO line carries the selector, replaced too */
	cr_expect_not_null(
	    strstr(h, "<title>SLO 2: http_req_duration{name:\xef\xbf\xbd[2J} p(99)"));
	cr_expect_not_null(strstr(h, "<pre>trace\xef\xbf\xbd&#10;line 2&#9;end</pre>"));
	free(h);
}

Test(html, hostile_counts_do_not_overflow)
{
	fx.checks[0].passes = INT64_C(1) << 62;
	fx.checks[0].fails = INT64_C(1) << 62;
	fx.checks[1].passes = -5;
	fx.checks[1].fails = -7;
	fx.errors[0].count = -1;
	fx.serr[0].count = INT64_MIN;
	/* (2^61 each: result_combine adds the series' counts in int64_t) */
	fx.series[2].total.nz = INT64_C(1) << 61;
	fx.series[2].total.total = INT64_C(1) << 61;
	fx.series[3].total.nz = INT64_C(1) << 61;
	fx.series[3].total.total = -1;
	char *h = render();
	cr_expect_not_null(strstr(h, "<td class=\"n\">4611686018427387904</td><td class=\"n\">"
	                             "4611686018427387904</td><td class=\"n\">50.00%</td>"));
	cr_expect_not_null(strstr(h, "<td class=\"n\">n/a</td><td class=\"n\">n/a</td>"
	                             "<td class=\"n\">n/a</td>"));
	const char *neg = strstr(h, ">-");
	cr_expect_null(neg, "a negative count shown: %.80s", neg ? neg - 40 : "");
	cr_expect_null(strstr(h, "nan"));
	free(h);
}
