/* test_compare_report.c: the outputs of `stampede compare` from a hand-built comparison
 * document (analysis/compare.h's shape): the Markdown table, JUnit's failures and skips
 * (valid against tests/fixtures/junit.xsd), the terminal table's colours, and the HTML
 * page's overlaid charts with nothing external and every name escaped. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics/hdr.h"
#include "output/compare_report.h"
#include "result/result.h"
#include "util/buf.h"

#define ODD "/a?b=1&c=<x>"

/* A comparison as compare_runs() writes it: a regression on the odd endpoint, an
 * inconclusive p99, figures within their limits, one shown but not judged. */
static const char doc_text[] =
    "{\"baseline\":{\"start\":\"2026-12-01T10:00:00Z\",\"durationS\":30,\"version\":\"t\","
    "\"source\":\"tests/base.lua\",\"scenarios\":\"default\",\"fromS\":3,\"toS\":30},"
    "\"current\":{\"start\":\"2026-12-02T10:00:00Z\",\"durationS\":32,\"version\":\"t\","
    "\"source\":\"tests/cur.lua\",\"scenarios\":\"default\",\"fromS\":3,\"toS\":32},"
    "\"alpha\":0.05,"
    "\"limits\":[{\"kind\":\"latency\",\"stat\":\"p(95)\",\"limit\":0.2,\"text\":\"+20%\"},"
    "{\"kind\":\"latency\",\"stat\":\"p(99)\",\"limit\":0.3,\"text\":\"+30%\"},"
    "{\"kind\":\"throughput\",\"stat\":\"rate\",\"limit\":0.1,\"text\":\"-10%\"},"
    "{\"kind\":\"errors\",\"stat\":\"rate\",\"limit\":0.005,\"text\":\"+0.5pp\"}],"
    "\"rows\":["
    "{\"metric\":\"http_req_duration\",\"stat\":\"med\",\"endpoint\":null,\"unit\":\"ms\","
    "\"kind\":\"latency\",\"baseline\":50,\"current\":52,\"change\":0.04,\"ratio\":1.04,"
    "\"ciLow\":0.98,\"ciHigh\":1.1,\"p\":0.2,\"intervals\":[27,29],\"limit\":null,"
    "\"verdict\":\"not judged\",\"why\":\"no limit on it: shown, not judged\"},"
    "{\"metric\":\"http_req_duration\",\"stat\":\"p(99)\",\"endpoint\":null,\"unit\":\"ms\","
    "\"kind\":\"latency\",\"baseline\":200,\"current\":270,\"change\":0.35,\"ratio\":1.35,"
    "\"ciLow\":0.9,\"ciHigh\":1.8,\"p\":0.09,\"intervals\":[27,29],\"limit\":\"+30%\","
    "\"verdict\":\"inconclusive\",\"why\":\"past +30%, but the intervals do not show it\"},"
    "{\"metric\":\"http_reqs\",\"stat\":\"rate\",\"endpoint\":null,\"unit\":\"req/s\","
    "\"kind\":\"throughput\",\"baseline\":1000,\"current\":990,\"change\":-0.01,"
    "\"ratio\":0.99,\"ciLow\":0.97,\"ciHigh\":1.01,\"p\":0.3,\"intervals\":[27,29],"
    "\"limit\":\"-10%\",\"verdict\":\"no change\",\"why\":\"within its limit -10%\"},"
    "{\"metric\":\"http_req_failed\",\"stat\":\"rate\",\"endpoint\":null,\"unit\":\"%\","
    "\"kind\":\"errors\",\"baseline\":0.1,\"current\":0.15,\"change\":0.05,\"ratio\":1.5,"
    "\"ciLow\":null,\"ciHigh\":null,\"p\":0.4,\"intervals\":[27,29],\"limit\":\"+0.5pp\","
    "\"verdict\":\"no change\",\"why\":\"within its limit +0.5pp\"},"
    "{\"metric\":\"http_req_duration\",\"stat\":\"p(95)\",\"endpoint\":\"" ODD "\","
    "\"unit\":\"ms\",\"kind\":\"latency\",\"baseline\":100,\"current\":130,\"change\":0.3,"
    "\"ratio\":1.3,\"ciLow\":1.2,\"ciHigh\":1.4,\"p\":0.0001,\"intervals\":[27,29],"
    "\"limit\":\"+20%\",\"verdict\":\"regression\",\"why\":\"past its limit +20%, and the "
    "intervals say so (p < 0.001)\"},"
    "{\"metric\":\"http_req_duration\",\"stat\":\"p(95)\",\"endpoint\":\"GET /b\","
    "\"unit\":\"ms\",\"kind\":\"latency\",\"baseline\":80,\"current\":60,\"change\":-0.25,"
    "\"ratio\":0.75,\"ciLow\":0.7,\"ciHigh\":0.8,\"p\":0.99,\"intervals\":[27,29],"
    "\"limit\":\"+20%\",\"verdict\":\"improvement\",\"why\":\"better by more than +20%\"}],"
    "\"onlyInBaseline\":[\"/old\"],\"onlyInCurrent\":[\"/new|x\"],"
    "\"verdict\":\"regression\",\"regressions\":1,\"improvements\":1,\"inconclusive\":1,"
    "\"summary\":\"Regression: p(95) http_req_duration of " ODD " changed +30%, past its "
    "limit +20%.\"}";

static json_t *doc(void)
{
	json_error_t je;
	json_t *d = json_loads(doc_text, 0, &je);
	cr_assert(d, "test document: %s (line %d col %d)", je.text, je.line, je.column);
	return d;
}

/* A result of n seconds: the metrics' per-second points (p95 of second t is base + t),
 * and http_req_duration's series for the endpoints ODD and "GET /b". */
static struct result *run(int n, double base, const char *source)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	fprintf(f,
	        "{\"format\":\"stampede-result/1\",\"version\":\"t\",\"state\":"
	        "{\"testRunDurationMs\":%d,\"startTime\":\"2026-12-02T00:00:00Z\"},"
	        "\"options\":{\"script\":\"%s\"},\"metrics\":{",
	        n * 1000, source);
	fprintf(f, "\"http_req_duration\":{\"type\":\"trend\",\"contains\":\"time\","
	           "\"timeseries\":{\"step\":1,\"columns\":[\"t\",\"count\",\"p50\",\"p90\","
	           "\"p95\",\"p99\",\"max\"],\"points\":[");
	for (int t = 0; t < n; t++)
		fprintf(f, "%s[%d,100,%g,%g,%g,%g,%g]", t ? "," : "", t, base / 2, base * 0.9,
		        base + t, base * 1.2, base * 1.5);
	fprintf(f, "]},\"series\":[");
	struct hdr *h = hdr_new_default();
	char *hist = NULL;
	hdr_record(h, (int64_t)(base * 1000));
	cr_assert_eq(hdr_encode(h, &hist), 0);
	hdr_free(h);
	static const char *const eps[] = { "/a?b=1&c=<x>", "GET /b" };
	for (int e = 0; e < 2; e++) {
		fprintf(f,
		        "%s{\"tags\":{\"name\":\"%s\",\"status\":\"200\"},\"values\":{},"
		        "\"histogram\":\"%s\",\"timeseries\":{\"step\":1,"
		        "\"columns\":[\"t\",\"count\",\"p50\",\"p90\",\"p95\",\"p99\",\"max\"],"
		        "\"points\":[",
		        e ? "," : "", eps[e], hist);
		for (int t = 0; t < n; t++)
			fprintf(f, "%s[%d,50,%g,%g,%g,%g,%g]", t ? "," : "", t, base / 2,
			        base * 0.9, base + e * 10, base * 1.2, base * 1.5);
		fprintf(f, "]}}");
	}
	free(hist);
	fprintf(f, "]},\"http_reqs\":{\"type\":\"counter\",\"contains\":\"default\","
	           "\"timeseries\":{\"step\":1,\"columns\":[\"t\",\"count\"],\"points\":[");
	for (int t = 0; t < n; t++)
		fprintf(f, "%s[%d,100]", t ? "," : "", t);
	fprintf(f,
	        "]},\"series\":[]},\"http_req_failed\":{\"type\":\"rate\",\"contains\":\"default\","
	        "\"timeseries\":{\"step\":1,\"columns\":[\"t\",\"count\",\"rate\"],"
	        "\"points\":[");
	for (int t = 0; t < n; t++)
		fprintf(f, "%s[%d,100,0.01]", t ? "," : "", t);
	fprintf(
	    f,
	    "]},\"series\":[]}},\"thresholds\":[],\"submetrics\":{},\"root_group\":{\"name\":\"\","
	    "\"path\":\"\",\"id\":\"\",\"groups\":[],\"checks\":[]},\"errors\":[],"
	    "\"script_errors\":[],\"generator\":{}}");
	fclose(f);
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	cr_assert(j, "test result: %s", je.text);
	char err[512] = "";
	struct result *r = result_from_json(j, err, sizeof(err));
	cr_assert(r, "result_from_json: %s", err);
	json_decref(j);
	free(text);
	return r;
}

static int count(const char *h, const char *needle)
{
	int n = 0;
	for (const char *p = h; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

Test(compare_report, markdown_has_the_verdict_and_a_row_per_figure)
{
	json_t *d = doc();
	char *md = compare_markdown(d);
	static const char head[] = "## ❌ stampede compare: regression\n\n";
	cr_expect(strncmp(md, head, strlen(head)) == 0, "%s", md);
	cr_expect_not_null(
	    strstr(md, "Regression: p(95) http\\_req\\_duration of /a?b=1&amp;c=&lt;x&gt; "
	               "changed +30%"),
	    "%s", md);
	cr_expect_not_null(strstr(md, "| ❌ | p(95) latency | /a?b=1&amp;c=&lt;x&gt; | 100.00 ms | "
	                              "130.00 ms | +30.0% | 1.20–1.40 | &lt;0.001 | +20% | "
	                              "regression |\n"),
	                   "%s", md);
	cr_expect_not_null(strstr(md, "| ⚠️ | p(99) latency | (all) | 200.00 ms | 270.00 ms | "
	                              "+35.0% | 0.90–1.80 | 0.090 | +30% | inconclusive |\n"),
	                   "%s", md);
	cr_expect_not_null(strstr(md, "| ✅ | error rate | (all) | 0.10% | 0.15% | +0.05 pp | – | "
	                              "0.400 | +0.5pp | no change |\n"),
	                   "%s", md);
	cr_expect_not_null(strstr(md, "| – | med latency | (all) |"), "%s", md);
	cr_expect_not_null(strstr(md, "| ✅ | throughput | (all) | 1000.0 req/s | 990.0 req/s | "
	                              "-1.0% |"),
	                   "%s", md);
	/* a row per figure, each with the header's 11 pipes (an escaped one does not count) */
	int rows = 0;
	for (char *line = strtok(md, "\n"); line; line = strtok(NULL, "\n")) {
		if (line[0] != '|' || strstr(line, "---"))
			continue;
		rows++;
		cr_expect_eq(count(line, "|") - count(line, "\\|"), 11, "%s", line);
	}
	cr_expect_eq(rows, 7); /* the header and six rows */
	free(md);
	md = compare_markdown(d);
	cr_expect_not_null(strstr(md, "Only in the current run: /new\\|x\n"), "%s", md);
	cr_expect_not_null(strstr(md, "(p(95) +20%, p(99) +30%, throughput -10%, errors +0.5pp)"),
	                   "%s", md);
	cr_expect_not_null(strstr(md, "p &lt; 0.05"), "%s", md);
	free(md);
	json_decref(d);
}

Test(compare_report, junit_fails_regressions_and_skips_the_inconclusive)
{
	json_t *d = doc();
	char *x = compare_junit(d);
	cr_expect_not_null(strstr(x, "<testsuite name=\"stampede compare\" tests=\"5\" "
	                             "failures=\"1\" errors=\"0\" skipped=\"1\""),
	                   "%s", x);
	/* the endpoint's name escaped in the case's name and in the message */
	const char *fail =
	    strstr(x, "<testcase classname=\"stampede compare\" "
	              "name=\"http_req_duration p(95) [/a?b=1&amp;c=&lt;x&gt;]\" "
	              "time=\"0\">\n      <failure message=\"p(95) latency 100.00 ms "
	              "-&gt; 130.00 ms (+30.0%), limit +20%: past its limit +20%, "
	              "and the intervals say so (p &lt; 0.001)\" "
	              "type=\"regression\">");
	cr_expect_not_null(fail, "%s", x);
	cr_expect_not_null(strstr(x, "name=\"http_req_duration p(99)\" time=\"0\">\n      <skipped "
	                             "message=\"p(99) latency"),
	                   "%s", x);
	cr_expect_not_null(strstr(x, "name=\"http_req_duration p(95) [GET /b]\" time=\"0\"/>"),
	                   "%s", x);
	cr_expect_null(strstr(x, "p(50)"), "%s", x);
	cr_expect_null(strstr(x, " med"), "a row without a limit is not a test case: %s", x);
	cr_expect_eq(count(x, "<failure"), 1);
	cr_expect_eq(count(x, "<skipped"), 1);
	cr_expect_eq(count(x, "<testcase"), 5);
	cr_expect_null(strstr(x, "<x>"), "%s", x);

	/* valid against the schema the other JUnit output is checked with */
	if (access("tests/fixtures/junit.xsd", R_OK) == 0 &&
	    system("command -v xmllint >/dev/null") == 0) {
		char path[] = "/tmp/stampede-compare-junit-XXXXXX";
		int fd = mkstemp(path);
		cr_assert(fd >= 0);
		cr_assert_eq(write(fd, x, strlen(x)), (ssize_t)strlen(x));
		close(fd);
		char cmd[256];
		snprintf(cmd, sizeof(cmd),
		         "xmllint --noout --schema tests/fixtures/junit.xsd %s 2>/dev/null", path);
		cr_expect_eq(system(cmd), 0, "xmllint rejects: %s", x);
		unlink(path);
	}
	free(x);
	json_decref(d);
}

static char *text_of(const json_t *d, bool color)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	cr_assert_eq(compare_text(f, d, color), 0);
	fclose(f);
	return out;
}

Test(compare_report, text_colours_verdicts_only_when_asked)
{
	json_t *d = doc();
	char *t = text_of(d, true);
	cr_expect_not_null(strstr(t, "\033[31mregression\033[0m\n"), "%s", t);
	cr_expect_not_null(strstr(t, "\033[33minconclusive\033[0m\n"), "%s", t);
	cr_expect_not_null(strstr(t, "\033[32mimprovement\033[0m\n"), "%s", t);
	cr_expect_not_null(strstr(t,
	                          "baseline: 2026-12-01T10:00:00Z  tests/base.lua  (3.0–30.0 s of "
	                          "30.0 s)"),
	                   "%s", t);
	cr_expect_not_null(strstr(t, "+0.05 pp"), "%s", t);
	cr_expect_not_null(strstr(t, "1.20–1.40"), "%s", t);
	cr_expect_not_null(strstr(t, "only in the current run: /new|x\n"), "%s", t);
	free(t);
	t = text_of(d, false);
	cr_expect_null(strstr(t, "\033"), "%s", t);
	cr_expect_not_null(strstr(t, ODD), "%s", t);
	free(t);
	/* an escape sequence in a name does not reach the terminal */
	json_object_set_new(json_array_get(json_object_get(d, "rows"), 4), "endpoint",
	                    json_string("/x\033[2J"));
	t = text_of(d, false);
	cr_expect_null(strstr(t, "\033"), "%s", t);
	cr_expect_not_null(strstr(t, "/x?[2J"), "%s", t);
	free(t);
	json_decref(d);
}

Test(compare_report, html_overlays_the_runs_and_refers_to_nothing_outside)
{
	json_t *d = doc();
	struct result *b = run(30, 100, "tests/base.lua"), *c = run(32, 130, "tests/cur.lua");
	struct buf h = { 0 };
	cr_assert_eq(compare_html(&h, d, b, c), 0);
	cr_assert_not_null(h.p);
	cr_expect(strncmp(h.p, "<!DOCTYPE html>", 15) == 0);
	cr_expect_not_null(strstr(h.p, "<span class=\"badge bad\" id=\"verdict\" "
	                               "data-verdict=\"regression\">regression</span>"));
	/* the charts: both runs on each, the baseline dashed, each run's span shaded */
	cr_expect_eq(count(h.p, "<svg "), 5, "three charts and two endpoints'");
	cr_expect_not_null(strstr(h.p, "id=\"chart-p95\""));
	cr_expect_not_null(strstr(h.p, "id=\"chart-throughput\""));
	cr_expect_not_null(strstr(h.p, "id=\"chart-errors\""));
	cr_expect_not_null(strstr(h.p, "id=\"chart-endpoint-1\""));
	cr_expect_not_null(strstr(h.p, "id=\"chart-endpoint-2\""));
	cr_expect_eq(count(h.p, "stroke-dasharray=\"6 4\" points="), 5, "a dashed baseline each");
	cr_expect_eq(count(h.p, "<polyline class=\"line\" stroke=\"#2563eb\" points="), 5);
	cr_expect_eq(count(h.p, "<rect class=\"band\""), 10, "two spans on each chart");
	cr_expect_not_null(strstr(h.p, "<figcaption>p95 latency of /a?b=1&amp;c=&lt;x&gt;"));
	/* self-contained and escaped */
	cr_expect_null(strstr(h.p, "<script"));
	cr_expect_null(strstr(h.p, "http://"));
	cr_expect_null(strstr(h.p, "https://"));
	cr_expect_null(strstr(h.p, "src="));
	cr_expect_eq(count(h.p, "href="), 1);
	cr_expect_not_null(strstr(h.p, "href=\"data:,\""));
	cr_expect_null(strstr(h.p, "<x>"));
	cr_expect_not_null(strstr(h.p, "<td class=\"name\">/a?b=1&amp;c=&lt;x&gt;</td>"));
	cr_expect_not_null(strstr(h.p, "<code>/new|x</code>"));
	buf_free(&h);

	/* without results: the tables, no chart */
	cr_assert_eq(compare_html(&h, d, NULL, NULL), 0);
	cr_expect_null(strstr(h.p, "<svg"));
	cr_expect_not_null(strstr(h.p, "id=\"rows\""));
	buf_free(&h);
	json_t *bad = json_string("x");
	cr_expect_eq(compare_html(&h, bad, b, c), -EINVAL);
	cr_expect_null(h.p);
	json_decref(bad);
	result_free(b);
	result_free(c);
	json_decref(d);
}
