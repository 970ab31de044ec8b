/* test_assess_report.c: unit tests for the assessment report (output/assess_report.h): the
 * sections of the HTML page, the Markdown and the terminal summary from documents built
 * here (a full one, a minimal one, nulls and wrong types everywhere, hostile strings), the
 * flame graph read only from under the assessment's directory, the manifests from a plan,
 * and writing the page. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output/assess_report.h"
#include "util/buf.h"

static const char *const section_ids[] = {
	"summary", "findings",   "breaking-point", "spike",
	"soak",    "bottleneck", "capacity",       "autoscaling"
};

/* A small capacity plan as `capacity plan --out json` writes it (the keys the renderer and
 * k8s_plan_read use). */
static const char plan_json[] =
    "{\"format\":\"stampede-capacity-plan/1\",\"source\":\"utilisation\","
    "\"inputs\":{\"currentRps\":100,\"currentUtilPercent\":25,\"bufferPercent\":70,"
    "\"warnPercent\":60,\"growthPercentPerMonth\":10,\"horizonMonths\":2,\"instances\":1,"
    "\"scenarios\":[2,5,10],\"costPerInstanceMonth\":120,\"currency\":\"USD\","
    "\"optimisePercent\":0},"
    "\"capacity\":{\"perInstanceRps\":400,\"totalRps\":400,\"bufferRps\":280,\"warnRps\":240,"
    "\"utilPercent\":25,\"costMonth\":120,\"basis\":null},"
    "\"months\":[{\"month\":1,\"rps\":100,\"utilPercent\":25,\"instances\":1,\"status\":\"ok\"},"
    "{\"month\":2,\"rps\":110,\"utilPercent\":27.5,\"instances\":1,\"status\":\"ok\"}],"
    "\"triggers\":[],\"schedule\":[],"
    "\"scenarios\":[{\"multiple\":2,\"rps\":200,\"instances\":1,\"add\":0,\"remove\":0,"
    "\"utilPercent\":50,\"costMonth\":120,\"month\":9,\"withinHorizon\":false,"
    "\"inMonths\":7.3,\"action\":\"no change\"},"
    "{\"multiple\":5,\"rps\":500,\"instances\":2,\"add\":1,\"remove\":0,\"utilPercent\":62,"
    "\"costMonth\":240,\"month\":null,\"inMonths\":16.9,\"withinHorizon\":false,"
    "\"action\":\"add 1 instance\"},"
    "{\"multiple\":10,\"rps\":1000,\"instances\":4,\"add\":3,\"remove\":0,\"utilPercent\":62,"
    "\"costMonth\":480,\"month\":null,\"inMonths\":24.2,\"withinHorizon\":false,"
    "\"action\":\"add 3 instances\"}],"
    "\"summary\":[\"Capacity: 400 RPS at 100%.\"]}";

static json_t *phase(const char *name, const char *status, const char *verdict, double ran,
                     const char *report)
{
	return json_pack("{s:s, s:s, s:f, s:o, s:s, s:o, s:o, s:o, s:f, s:s, s:n, s:s, "
	                 "s:[s], s:n}",
	                 "name", name, "type", name, "plannedS", 20.0, "ranS",
	                 ran >= 0 ? json_real(ran) : json_null(), "status", status, "exitCode",
	                 ran >= 0 ? json_integer(0) : json_null(), "result",
	                 ran >= 0 ? json_sprintf("%s.json", name) : json_null(), "report",
	                 report ? json_string(report) : json_null(), "level", 100.0, "unit", "/s",
	                 "peak", "verdict", verdict, "findings", "a finding of the phase",
	                 "reason");
}

/* A document with every part filled in. */
static json_t *full_doc(void)
{
	json_t *d = json_pack(
	    "{s:s, s:s, s:s, s:f, s:{s:s, s:n, s:b}, s:f, s:f, s:s, s:f, s:s, s:n}", "format",
	    "stampede-assessment/1", "version", "1.2.3", "startedAt", "2026-12-02T17:00:00Z",
	    "durationS", 93.2, "target", "url", "http://127.0.0.1:8080/api", "script", "loopback",
	    1, "expectedRps", 100.0, "maxRps", 2000.0, "slo", "p95<200ms,errors<1%", "budgetS",
	    120.0, "status", "complete", "statusReason");
	json_t *ph = json_array();
	json_array_append_new(ph, phase("smoke", "pass", "pass", 5, "smoke.html"));
	json_array_append_new(ph, phase("load", "pass", "pass", 20, "load.html"));
	json_array_append_new(
	    ph, phase("breakpoint", "done", "breaking point found", 15.2, "breakpoint.html"));
	json_array_append_new(ph, phase("spike", "fail", "fail", 20, "spike.html"));
	json_array_append_new(ph, phase("soak", "skipped", "no data", -1, NULL));
	json_object_set_new(json_array_get(ph, 4), "reason",
	                    json_string("the budget left no time for it"));
	json_object_set_new(d, "phases", ph);
	json_object_set_new(
	    d, "breakingPoint",
	    json_pack("{s:b, s:f, s:f, s:f, s:s, s:s, s:f, s:{s:f, s:f, s:f}, s:s, s:f}", "found",
	              1, "atS", 14.0, "lastGood", 383.3, "firstBad", 483.3, "failedSlo",
	              "p95<200ms", "how", "latency", "value", 345.6, "knee", "offered", 416.7,
	              "throughput", 394.0, "concurrency", 16.8, "degradation", "graceful",
	              "maxGoodThroughput", 394.0));
	json_object_set_new(d, "spike",
	                    json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:s, s:i, s:b, s:n, s:f}",
	                              "p95", 37.0, "p99", 43.5, "max", 52.0, "errorRate", 0.02,
	                              "dropped", 3.0, "recoveryThreshold", 200.0, "recoveryBasis",
	                              "the SLO p95<200ms", "stableForS", 10, "recovered", 0,
	                              "recoverySeconds", "peakRps", 1000.0));
	json_object_set_new(d, "soak", json_null());
	json_object_set_new(d, "leaks",
	                    json_pack("{s:s, s:{s:{s:b, s:b, s:s}, s:[]}, s:[s]}", "phase", "load",
	                              "verdicts", "target_rss_bytes", "judged", 1, "leaking", 1,
	                              "describe", "grows 1.2 MiB/min", "findings", "findings",
	                              "memory leak: 1.2 MiB/min"));
	json_object_set_new(
	    d, "bottleneck",
	    json_pack("{s:s, s:s, s:s, s:s, s:[s, s], s:f, s:[{s:s, s:s, s:s, s:s, s:b, s:f}]}",
	              "phase", "breakpoint", "verdict", "cpu", "resource", "the target's CPU",
	              "summary", "CPU saturated at 2 cores", "evidence", "CPU saturated at 2 cores",
	              "CPU at 198% from 12 s", "sinceS", 12.0, "resources", "resource",
	              "target CPU", "utilisation", "mean 180%", "saturation", "12 s saturated",
	              "errors", "-", "saturated", 1, "sinceS", 12.0));
	json_object_set_new(d, "perRequest",
	                    json_pack("[{s:s, s:f, s:s}]", "metric", "app_db_queries_total",
	                              "value", 11.0, "phase", "load"));
	json_object_set_new(d, "profile",
	                    json_pack("{s:s, s:i, s:s, s:i, s:i, s:[{s:s, s:f, s:f}]}", "svg",
	                              "load.profile.svg", "pid", 42, "comm", "app", "samples", 131,
	                              "hz", 99, "topFunctions", "name", "hot_loop", "self", 0.5,
	                              "total", 0.75));
	json_object_set_new(
	    d, "steps",
	    json_pack("[{s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:[{}], "
	              "s:b}, {s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:[{}], s:b}]",
	              "phase", "0s-2s", "start", 0.0, "end", 2.0, "offered", 33.3, "offeredFrom",
	              0.0, "offeredTo", 66.7, "throughput", 33.0, "goodThroughput", 33.0,
	              "errorRate", 0.0, "p50", 10.6, "p95", 10.9, "p99", 12.0, "targetCpuPercent",
	              55.0, "slo", "ok", 1, "phase", "2s-4s", "start", 2.0, "end", 4.0, "offered",
	              100.0, "throughput", 90.0, "goodThroughput", 85.0, "errorRate", 0.05, "p50",
	              150.0, "p95", 250.0, "p99", 300.0, "targetRssBytes", 11534336.0, "slo", "ok",
	              0));
	json_t *plan = json_loads(plan_json, 0, NULL);
	cr_assert(plan, "the test's plan parses");
	json_object_set_new(
	    d, "capacity",
	    json_pack("{s:{s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:s, s:s, s:[s], "
	              "s:[{s:f, s:f, s:f, s:f}, {s:f, s:f, s:f, s:f}]}, s:o, s:n}",
	              "fit", "model", "usl", "sigma", 0.02, "kappa", 0.001, "lambda", 40.0, "r2",
	              0.98, "nStar", 31.0, "xMax", 410.0, "limit", "coherency", "verdict",
	              "coherency limits the throughput", "warnings", "few points", "points", "n",
	              1.0, "x", 40.0, "r", 0.01, "fitted", 39.0, "n", 8.0, "x", 250.0, "r", 0.03,
	              "fitted", 255.0, "plan", plan, "planError"));
	json_object_set_new(
	    d, "findings",
	    json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}]", "impact", "critical",
	              "area", "breaking point", "text", "p95 breaches the SLO above 383/s",
	              "impact", "medium", "area", "queries", "text", "11 queries per request: N+1",
	              "impact", "info", "area", "spike", "text", "did not recover"));
	cr_assert(json_object_size(d) >= 20, "the full document is built (%zu keys)",
	          json_object_size(d));
	return d;
}

static char *html_of(const json_t *doc, const char *dir)
{
	struct buf b = { 0 };
	assess_html_render(doc, NULL, 0, dir, NULL, &b);
	cr_assert(b.p && b.len > 0);
	return b.p;
}

static char *text_of(const json_t *doc, bool color)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	cr_assert(f);
	assess_text(f, doc, color);
	fclose(f);
	cr_assert(s);
	return s;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static int lines(const char *s)
{
	return count(s, "\n");
}

/* Every section once, the page closed, no script, nothing from outside. */
static void check_page(const char *html)
{
	for (size_t i = 0; i < sizeof(section_ids) / sizeof(section_ids[0]); i++) {
		char id[64];
		snprintf(id, sizeof(id), "<section id=\"%s\"><h2>", section_ids[i]);
		cr_expect_eq(count(html, id), 1, "section %s once", section_ids[i]);
	}
	cr_expect(strstr(html, "default-src 'none'"));
	cr_expect_null(strcasestr(html, "<script"), "no script in the page");
	cr_expect_null(strstr(html, "http-equiv=\"refresh\""));
	cr_expect_null(strstr(html, "src=\"http"));
	cr_expect_eq(count(html, "<section"), count(html, "</section>"));
	cr_expect(strstr(html, "</html>\n"));
}

/* The Markdown's sections, in order. */
static void check_markdown(const char *md)
{
	static const char *const heads[] = {
		"# stampede assessment: ", "## Summary",  "## Findings",
		"## Breaking point",       "## Spike",    "## Soak",
		"## Bottleneck",           "## Capacity", "## Autoscaling"
	};
	const char *at = md;
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		const char *h = strstr(at, heads[i]);
		cr_expect(h, "markdown heading '%s' (in order)", heads[i]);
		if (h)
			at = h;
	}
	cr_expect_null(strcasestr(md, "<script"));
}

Test(assess_report, full_document_sections)
{
	json_t *d = full_doc();
	char *html = html_of(d, NULL);
	check_page(html);
	/* the findings in order, with their impact as a badge */
	const char *c = strstr(html, "impact-critical\">critical</span>");
	const char *m = strstr(html, "impact-medium\">medium</span>");
	const char *i = strstr(html, "impact-info\">info</span>");
	cr_expect(c && m && i && c < m && m < i, "the findings in the document's order");
	/* the phase table: a link per phase report, the reason of the skipped one */
	cr_expect(strstr(html, "<a href=\"load.html\">load.html</a>"));
	cr_expect(strstr(html, "the budget left no time for it"));
	cr_expect(strstr(html, "id=\"breaking-point-figures\""));
	cr_expect(strstr(html, "383.3/s") || strstr(html, "383/s"));
	cr_expect(strstr(html, "<table id=\"steps\">"));
	cr_expect(strstr(html, "0–66.7"), "a ramp's offered rate from-to");
	cr_expect(strstr(html, "11 MiB") || strstr(html, "11.0 MiB"), "the target's RSS");
	/* no phase results: the steps still give the breakpoint's charts */
	cr_expect(strstr(html, "id=\"chart-breakpoint-rate\""));
	cr_expect(strstr(html, "id=\"chart-breakpoint-latency\""));
	cr_expect(strstr(html, "SLO 1"), "the p95 objective on the latency chart");
	cr_expect(strstr(html, "no: p95 not back under 200 ms"), "the spike did not recover");
	cr_expect(strstr(html, "3 iterations dropped"));
	cr_expect(strstr(html, "id=\"soak-missing\""), "the soak was skipped: %s",
	          strstr(html, "<section id=\"soak\">"));
	cr_expect(strstr(html, "the budget left no time for it"));
	cr_expect(strstr(html, "LEAKING"));
	cr_expect(strstr(html, "id=\"bottleneck-verdict\">cpu</span>"));
	cr_expect(strstr(html, "CPU at 198% from 12 s"), "the evidence");
	cr_expect_eq(count(html, "CPU saturated at 2 cores"), 1, "the summary not repeated");
	cr_expect(strstr(html, "<table id=\"use\">"));
	cr_expect(strstr(html, "app_db_queries_total"));
	cr_expect(strstr(html, "<table id=\"top-functions\">"));
	cr_expect(strstr(html, "hot_loop"));
	cr_expect(strstr(html, "id=\"flamegraph-missing\""), "no flame graph file here");
	cr_expect(strstr(html, "id=\"chart-capacity\""));
	cr_expect(strstr(html, "<table id=\"scenarios\">"));
	cr_expect(strstr(html, "480.00"), "the 10x scenario's cost");
	cr_expect(strstr(html, "kind: &quot;HorizontalPodAutoscaler&quot;"));
	cr_expect(strstr(html, "kind: &quot;ScaledObject&quot;"));
	cr_expect(strstr(html, "maxReplicas: 4"));
	free(html);

	char *md = assess_markdown(d, NULL);
	check_markdown(md);
	cr_expect(
	    strstr(md, "| phase | level | status | verdict | planned | ran | report | notes |"));
	cr_expect(strstr(md, "[load.html](load.html)"));
	cr_expect(strstr(md, "1. **critical** (breaking point): p95 breaches"));
	cr_expect(strstr(md, "```yaml\n# HorizontalPodAutoscaler"));
	cr_expect(strstr(md, "maxReplicaCount: 4"));
	cr_expect(strstr(md, "| 10x | 1000/s | 4 | +3 |"));
	free(md);

	char *t = text_of(d, false);
	cr_expect(strstr(t, "assessment complete in 93.2 s: http://127.0.0.1:8080/api\n"), "%s", t);
	cr_expect(strstr(t, "  breakpoint  done         breaking point found"), "%s", t);
	cr_expect(strstr(t, "the budget left no time for it"));
	cr_expect(strstr(t, "  breaking point  every SLO held up to 383/s"), "%s", t);
	cr_expect(strstr(t, "  spike           peak 1000/s"), "%s", t);
	cr_expect(strstr(t, "  leaks           target_rss_bytes: grows 1.2 MiB/min"), "%s", t);
	cr_expect(strstr(t, "  bottleneck      cpu (the target's CPU)"), "%s", t);
	cr_expect(strstr(t, "  capacity        USL X_max = 410/s at N* = 31; instances for 2x: 1"),
	          "%s", t);
	cr_expect(strstr(t, "  1. critical: breaking point: p95 breaches"), "%s", t);
	cr_expect(strstr(t, "  3. info: spike: did not recover"), "%s", t);
	cr_expect(lines(t) >= 15 && lines(t) <= 40, "a short summary: %d lines", lines(t));
	cr_expect_null(strchr(t, '\033'), "no colour unless asked");
	free(t);
	t = text_of(d, true);
	cr_expect(strstr(t, "\033[32mcomplete\033[0m"), "the status in green");
	cr_expect(strstr(t, "\033[1;31mcritical\033[0m"));
	free(t);
	json_decref(d);
}

/* A document with nothing but its format, and odd documents: something sane, no crash. */
Test(assess_report, minimal_and_odd_documents)
{
	json_t *docs[] = { json_pack("{s:s}", "format", "stampede-assessment/1"),
		           json_object(),
		           json_array(),
		           json_string("not an assessment"),
		           json_integer(7),
		           json_null(),
		           NULL };
	for (size_t k = 0; k < sizeof(docs) / sizeof(docs[0]); k++) {
		char *html = html_of(docs[k], "/nonexistent");
		check_page(html);
		cr_expect(strstr(html, "(unknown target)"));
		cr_expect(strstr(html, "id=\"phases-missing\""));
		cr_expect(strstr(html, "id=\"findings-none\""));
		cr_expect(strstr(html, "id=\"breaking-point-missing\">No breaking point: the "
		                       "assessment has no breakpoint phase."));
		cr_expect(strstr(html, "id=\"spike-missing\""));
		cr_expect(strstr(html, "id=\"soak-missing\""));
		cr_expect(strstr(html, "id=\"bottleneck-missing\""));
		cr_expect(strstr(html, "id=\"profile-missing\""));
		cr_expect(strstr(html, "id=\"fit-error\""));
		cr_expect(strstr(html, "id=\"plan-error\""));
		cr_expect(strstr(html, "id=\"autoscaling-missing\""));
		free(html);
		char *md = assess_markdown(docs[k], NULL);
		check_markdown(md);
		free(md);
		char *t = text_of(docs[k], true);
		cr_expect(strncmp(t, "assessment ", 11) == 0, "%s", t);
		cr_expect(strstr(t, "no phase listed"));
		cr_expect(strstr(t, "no finding"));
		cr_expect(lines(t) < 30, "%s", t);
		free(t);
		json_decref(docs[k]);
	}
}

/* Every key null, then every key of a wrong type, in the document and in its parts. */
Test(assess_report, nulls_and_wrong_types_everywhere)
{
	json_t *d = full_doc();
	json_t *nulls = json_deep_copy(d), *wrong = json_deep_copy(d);
	const char *k;
	json_t *v;
	json_object_foreach(nulls, k, v) if (strcmp(k, "format"))
	    json_object_set_new(nulls, k, json_null());
	char *html = html_of(nulls, NULL);
	check_page(html);
	cr_expect(strstr(html, "id=\"breaking-point-missing\""));
	free(html);
	free(assess_markdown(nulls, NULL));
	free(text_of(nulls, false));

	/* numbers as strings, strings as numbers, objects as arrays, arrays as objects */
	json_object_foreach(wrong, k, v)
	{
		if (json_is_object(v)) {
			const char *kk;
			json_t *vv;
			json_object_foreach(v, kk, vv)
			{
				if (json_is_number(vv))
					json_object_set_new(v, kk, json_string("12"));
				else if (json_is_string(vv))
					json_object_set_new(v, kk, json_integer(3));
				else if (json_is_array(vv))
					json_object_set_new(v, kk, json_object());
				else if (json_is_object(vv))
					json_object_set_new(v, kk, json_array());
			}
		} else if (json_is_array(v)) {
			json_array_append_new(v, json_string("not an object"));
			json_array_append_new(v, json_null());
			json_array_append_new(v, json_pack("[i]", 1));
		}
	}
	json_object_set_new(wrong, "durationS", json_string("long"));
	html = html_of(wrong, NULL);
	check_page(html);
	free(html);
	free(assess_markdown(wrong, NULL));
	free(text_of(wrong, false));

	/* whole parts of the wrong type */
	json_t *parts = json_deep_copy(d);
	json_object_foreach(parts, k, v) if (strcmp(k, "format"))
	    json_object_set_new(parts, k, json_is_array(v) ? json_object() : json_array());
	html = html_of(parts, NULL);
	check_page(html);
	free(html);
	free(assess_markdown(parts, NULL));
	free(text_of(parts, false));
	json_decref(parts);
	json_decref(nulls);
	json_decref(wrong);
	json_decref(d);
}

#define EVIL "<script>alert('x')</script>&\"q\""

/* A string of n bytes of c. */
static char *longstr(size_t n, char c)
{
	char *s = malloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

Test(assess_report, hostile_strings_escaped_and_cut)
{
	json_t *d = full_doc();
	char *huge = longstr(200000, 'A');
	json_object_set_new(json_object_get(d, "target"), "url", json_string(EVIL));
	json_object_set_new(d, "slo", json_string("p95<200ms|x\nnew line"));
	json_object_set_new(d, "statusReason", json_string(huge));
	json_t *ph0 = json_array_get(json_object_get(d, "phases"), 0);
	json_object_set_new(ph0, "name", json_string("sm|oke\nrow"));
	json_object_set_new(ph0, "report", json_string("javascript:alert(1)"));
	json_object_set_new(json_array_get(json_object_get(d, "phases"), 1), "report",
	                    json_string("../../etc/passwd"));
	/* invalid UTF-8, a terminal escape and a bidirectional override (jansson's loader would
	 * refuse the first: made without its check) */
	json_t *f = json_array_get(json_object_get(d, "findings"), 0);
	json_object_set_new(f, "text",
	                    json_string_nocheck("bad \xff\xfe bytes \x1b[2J erase "
	                                        "\xe2\x80\xae reversed"));
	json_object_set_new(f, "impact", json_string(EVIL));
	json_array_append_new(
	    json_object_get(d, "findings"),
	    json_pack("{s:s, s:s, s:s}", "impact", "low", "area", EVIL, "text", huge));
	json_object_set_new(json_object_get(d, "bottleneck"), "summary", json_string(huge));

	char *html = html_of(d, NULL);
	check_page(html);
	cr_expect(
	    strstr(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;q&quot;") ||
	        strstr(html, "&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;"),
	    "the URL escaped");
	cr_expect_null(strstr(html, "href=\"javascript"), "an unsafe link is not a link");
	cr_expect(strstr(html, "<td>javascript:alert(1)</td>"), "but shown as text");
	cr_expect_null(strstr(html, "href=\"../"), "no link out of the directory");
	cr_expect(strstr(html, "bad \xef\xbf\xbd\xef\xbf\xbd bytes"), "invalid UTF-8 replaced");
	cr_expect_null(strchr(html, '\033'), "no control character");
	cr_expect_null(strstr(html, "\xe2\x80\xae"), "no bidirectional override");
	cr_expect(strstr(html, "bytes in all)"), "a huge string cut with its length");
	cr_expect_lt(strlen(html), 150000, "the page does not grow with the strings (%zu)",
	             strlen(html));
	free(html);

	char *md = assess_markdown(d, NULL);
	check_markdown(md);
	cr_expect(strstr(md, "| sm\\|oke row |"), "a table cell's | and newline escaped");
	cr_expect_null(strstr(md, "](javascript"));
	cr_expect_null(strstr(md, "](../"));
	cr_expect(strstr(md, "&lt;script&gt;"));
	cr_expect_null(strchr(md, '\033'));
	cr_expect_null(strstr(md, "\xff"));
	cr_expect_lt(strlen(md), 100000, "%zu bytes", strlen(md));
	free(md);

	char *t = text_of(d, false);
	cr_expect_null(strchr(t, '\033'), "no escape sequence reaches the terminal");
	cr_expect_null(strstr(t, "\xff"));
	cr_expect_null(strstr(t, "\xe2\x80\xae"));
	cr_expect(strstr(t, "bad ?? bytes ?[2J erase ? reversed"), "%s", t);
	cr_expect(strstr(t, "sm|oke?row"), "%s", t);
	cr_expect_lt(strlen(t), 12000, "%zu bytes", strlen(t));
	free(t);
	free(huge);
	json_decref(d);
}

/* The flame graph is embedded from under the assessment's directory only. */
Test(assess_report, flame_graph_from_the_directory)
{
	char dir[] = "/tmp/test_assess_report.XXXXXX";
	cr_assert(mkdtemp(dir));
	char path[300];
	snprintf(path, sizeof(path), "%s/load.profile.svg", dir);
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fputs("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"></svg>", f);
	fclose(f);
	json_t *d = full_doc();
	char *html = html_of(d, dir);
	cr_expect(strstr(html, "<img id=\"flamegraph\""));
	cr_expect(strstr(html, "src=\"data:image/svg+xml;base64,"));
	cr_expect(strstr(html, "img-src data:"));
	free(html);
	/* outside the directory: not read */
	static const char *const bad[] = { "/etc/passwd", "../load.profile.svg", "" };
	for (size_t i = 0; i < 3; i++) {
		json_object_set_new(json_object_get(d, "profile"), "svg", json_string(bad[i]));
		html = html_of(d, dir);
		cr_expect_null(strstr(html, "<img id=\"flamegraph\""), "%s", bad[i]);
		cr_expect(strstr(html, "id=\"flamegraph-missing\""));
		free(html);
	}
	/* a profile that failed */
	json_object_set_new(d, "profile", json_pack("{s:s}", "error", "perf is not installed"));
	html = html_of(d, dir);
	cr_expect(strstr(html, "id=\"profile-error\">No profile: perf is not installed"));
	free(html);
	unlink(path);
	rmdir(dir);
	json_decref(d);
}

/* A plan that cannot size pods, and no plan: a sentence, not manifests. */
Test(assess_report, autoscaling_without_a_usable_plan)
{
	json_t *d = full_doc();
	json_t *cap = json_object_get(d, "capacity");
	json_object_set_new(json_object_get(json_object_get(cap, "plan"), "capacity"),
	                    "perInstanceRps", json_null());
	char *html = html_of(d, NULL);
	cr_expect(strstr(html, "id=\"autoscaling-missing\">No manifests: the plan has no "
	                       "per-instance capacity"));
	cr_expect_null(strstr(html, "HorizontalPodAutoscaler&quot;"));
	free(html);
	json_object_set_new(cap, "plan", json_null());
	json_object_set_new(cap, "planError", json_string("the USL could not be fitted"));
	json_object_set_new(
	    cap, "fit",
	    json_pack("{s:s, s:s}", "model", "usl", "error", "too few steps with responses"));
	html = html_of(d, NULL);
	cr_expect(strstr(html, "id=\"autoscaling-missing\">No capacity plan: the USL could not "
	                       "be fitted. No manifests without one."));
	cr_expect(strstr(html, "id=\"fit-error\">Not fitted: too few steps with responses"));
	cr_expect(strstr(html, "id=\"plan-error\">No capacity plan: the USL could not be fitted."));
	free(html);
	char *md = assess_markdown(d, NULL);
	cr_expect(strstr(md, "Not fitted: too few steps with responses"));
	cr_expect_null(strstr(md, "```yaml"));
	free(md);
	json_decref(d);
}

/* The smoke test failed: every part says which phase did not run and why. */
Test(assess_report, stopped_after_the_smoke_test)
{
	json_t *d = full_doc();
	json_object_set_new(d, "status", json_string("stopped"));
	json_object_set_new(d, "statusReason", json_string("the smoke test failed: 30% errors"));
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(d, "phases"), i, p)
	{
		if (i == 0)
			continue;
		json_object_set_new(p, "status", json_string("skipped"));
		json_object_set_new(p, "reason", json_string("the smoke test failed"));
	}
	static const char *const parts[] = { "breakingPoint", "spike",      "soak",
		                             "leaks",         "bottleneck", "profile" };
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		json_object_set_new(d, parts[i], json_null());
	json_object_set_new(d, "perRequest", json_array());
	json_object_set_new(d, "steps", json_array());
	char *html = html_of(d, NULL);
	check_page(html);
	cr_expect(strstr(html, "id=\"status\">stopped</span>the smoke test failed: 30% errors"));
	cr_expect(strstr(html, "id=\"breaking-point-missing\">No breaking point: the breakpoint "
	                       "phase did not run (the smoke test failed)."));
	cr_expect(strstr(html, "id=\"leaks-missing\">No leak verdict: the load phase did not run "
	                       "(the smoke test failed)."));
	cr_expect(strstr(html, "id=\"bottleneck-missing\">No bottleneck verdict: the load phase "
	                       "did not run"));
	cr_expect(strstr(html, "id=\"per-request-missing\">No counter per request: the load phase "
	                       "did not run"));
	cr_expect(
	    strstr(html, "id=\"profile-missing\">No CPU profile: the load phase did not run"));
	cr_expect(strstr(html, "<span class=\"badge none\">skipped</span>"));
	free(html);
	char *t = text_of(d, false);
	cr_expect(strstr(t, "assessment stopped in 93.2 s"), "%s", t);
	cr_expect(strstr(t, "  spike           none: the spike phase did not run (the smoke test "
	                    "failed)."),
	          "%s", t);
	cr_expect(strstr(t, "  leaks           none: the load phase did not run"), "%s", t);
	free(t);
	/* a load phase that ran but scraped nothing that grew: no zero rows */
	json_object_set_new(json_array_get(json_object_get(d, "phases"), 1), "status",
	                    json_string("pass"));
	json_object_set_new(d, "perRequest",
	                    json_pack("[{s:s, s:f, s:s}]", "metric", "app_idle_total", "value", 0.0,
	                              "phase", "load"));
	html = html_of(d, NULL);
	cr_expect_null(strstr(html, "app_idle_total"));
	cr_expect(strstr(html, "metrics were not scraped (--scrape), or none grew."));
	free(html);
	json_decref(d);
}

/* xmllint's HTML parser finds no error in the page but the HTML5 tags its HTML 4 parser does
 * not know (section, svg ...): the markup is balanced and well formed. */
Test(assess_report, xmllint_parses_the_page)
{
	if (system("command -v xmllint >/dev/null 2>&1") != 0)
		cr_skip_test("xmllint is not installed");
	char path[] = "/tmp/test_assess_report_lint.XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
	json_t *d = full_doc();
	json_object_set_new(json_object_get(d, "target"), "url", json_string(EVIL));
	char err[512] = "";
	cr_assert_eq(assess_html_write(d, NULL, 0, NULL, NULL, path, err, sizeof(err)), 0, "%s",
	             err);
	char cmd[512], line[1024];
	snprintf(cmd, sizeof(cmd), "xmllint --html --noout '%s' 2>&1", path);
	FILE *p = popen(cmd, "r");
	cr_assert(p);
	int bad = 0;
	while (fgets(line, sizeof(line), p)) {
		char tag[64];
		if (!strstr(line, "parser error") ||
		    (sscanf(strstr(line, "parser error"), "parser error : Tag %63s invalid", tag) ==
		     1))
			continue;
		bad++;
		cr_expect(false, "xmllint: %s", line);
	}
	pclose(p);
	cr_expect_eq(bad, 0);
	unlink(path);
	json_decref(d);
}

Test(assess_report, write_the_page)
{
	char path[] = "/tmp/test_assess_report_page.XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
	json_t *d = full_doc();
	char err[512] = "";
	cr_expect_eq(assess_html_write(d, NULL, 0, NULL, NULL, path, err, sizeof(err)), 0, "%s",
	             err);
	FILE *f = fopen(path, "r");
	cr_assert(f);
	char head[32] = "";
	cr_expect(fgets(head, sizeof(head), f));
	cr_expect_str_eq(head, "<!DOCTYPE html>\n");
	fclose(f);
	unlink(path);
	int rc =
	    assess_html_write(d, NULL, 0, NULL, NULL, "/nonexistent-dir/a.html", err, sizeof(err));
	cr_expect_lt(rc, 0);
	cr_expect(strstr(err, "cannot write '/nonexistent-dir/a.html'"), "%s", err);
	json_decref(d);
}

/* A closed-model assessment (phases[1].unit "VUs"): its steps offer VUs, so the steps
 * table says so, the breakpoint's rate chart draws no VU count on its requests-per-second
 * axis, and the phases table spaces its unit ("0 → 40 VUs"). */
Test(assess_report, closed_model_steps_are_vus)
{
	json_t *d = full_doc();
	struct buf open = { 0 };
	assess_html_render(d, NULL, 0, NULL, NULL, &open); /* the open model draws it */
	cr_assert(strstr(open.p, "offered/s"), "the open model's chart has its offered line");
	buf_free(&open);
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(d, "phases"), i, p)
	{
		if (i >= 1)
			json_object_set_new(p, "unit", json_string("VUs"));
	}
	char *md = assess_markdown(d, NULL);
	cr_assert(strstr(md, "offered VUs"), "%s", md);
	cr_assert(!strstr(md, "offered/s"), "%s", md);
	cr_assert(!strstr(md, "0VUs"), "%s", md);
	free(md);
	struct buf b = { 0 };
	assess_html_render(d, NULL, 0, NULL, NULL, &b);
	cr_assert(!strstr(b.p, "offered/s"), "the rate chart draws no VUs as a rate");
	cr_assert(strstr(b.p, "offered VUs"));
	buf_free(&b);
	json_decref(d);
}
