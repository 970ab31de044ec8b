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
	    (struct result_metric){ "http_reqs", MT_COUNTER, RU_NONE, { 1, 3, reqs_pts } };
	fx.metrics[M_FAILED] =
	    (struct result_metric){ "http_req_failed", MT_RATE, RU_NONE, { 1, 3, fail_pts } };
	fx.metrics[M_DUR] =
	    (struct result_metric){ "http_req_duration", MT_TREND, RU_TIME, { 1, 3, dur_pts } };
	fx.metrics[M_VUS] = (struct result_metric){ "vus", MT_GAUGE, RU_NONE, { 1, 3, vus_pts } };
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
	cr_expect_not_null(strstr(h, "The load generator itself was saturated"));
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
	/* drawn on the latency chart and the distribution (named at the top when far above) */
	cr_expect_not_null(strstr(h, "&#8593; SLO p(95)&lt;200 (passed)</text>"));
	cr_expect_geq(count(h, "SLO p(95)&lt;200 (passed)</text>"), 2);
	cr_expect_geq(count(h, "SLO http_req_duration{name:home} p(99)&lt;50 (failed)</text>"), 2);
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
