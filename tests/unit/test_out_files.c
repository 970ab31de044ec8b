/* test_out_files.c: unit tests for the file outputs (json, csv, junit, markdown, hdr), fed
 * hand-built intervals and results. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics/hdr.h"
#include "output/output.h"
#include "util/common.h"
#include "util/escape.h"

static char dir[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_out_files.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(out_files, .init = make_dir, .fini = remove_dir);

static const struct output_env env = { 0 };

/* --- a hand-built interval -------------------------------------------------------- */

static const struct result_tag tags_a[] = {
	{ "method", "GET" },
	{ "name", "http://x/a,\"b\"" },
	{ "status", "200" },
	{ "testid", "t1" },
};

struct fixture {
	struct hdr *h;
	struct result_sample samples[4];
	struct result_sample metrics[4];
	struct result_interval iv;
};

/* One second: http_reqs 5, http_req_failed 1 of 4, http_req_duration 1 ms x2 and 2 ms,
 * vus 3. */
static void fixture(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->h = hdr_new_default();
	hdr_record_n(f->h, 1000, 2);
	hdr_record(f->h, 2000);
	struct result_sample s[4] = {
		{ .series = 0,
		  .metric = "http_reqs",
		  .type = MT_COUNTER,
		  .ntags = 4,
		  .tags = tags_a,
		  .v = { .type = MT_COUNTER, .any = true, .sum = 5 } },
		{ .series = 1,
		  .metric = "http_req_failed",
		  .type = MT_RATE,
		  .ntags = 4,
		  .tags = tags_a,
		  .v = { .type = MT_RATE, .any = true, .nz = 1, .total = 4 } },
		{ .series = 2,
		  .metric = "http_req_duration",
		  .type = MT_TREND,
		  .unit = RU_TIME,
		  .ntags = 4,
		  .tags = tags_a,
		  .v = { .type = MT_TREND, .any = true, .h = f->h } },
		{ .series = 3,
		  .metric = "vus",
		  .type = MT_GAUGE,
		  .v = { .type = MT_GAUGE, .any = true, .g_last = 3 } },
	};
	memcpy(f->samples, s, sizeof(s));
	memcpy(f->metrics, s, sizeof(s));
	for (int i = 0; i < 4; i++) {
		f->metrics[i].series = -1;
		f->metrics[i].ntags = 0;
		f->metrics[i].tags = NULL;
	}
	f->iv = (struct result_interval){
		.t = 1,
		.start_wall_us = 1700000000LL * USEC_PER_SEC,
		.nmetrics = 4,
		.metrics = f->metrics,
		.nsamples = 4,
		.samples = f->samples,
	};
}

/* Run one output through open, n intervals, finish and close; 0 or the first error. */
static int run_output(const struct output_ops *ops, const char *arg, const struct fixture *f, int n,
                      const struct result *r)
{
	char err[512] = "";
	struct output o = { .ops = ops, .arg = arg, .env = &env };
	struct result empty = { .duration_s = 1 };
	int rc = ops->open(&o, err, sizeof(err));
	cr_assert_eq(rc, 0, "open: %s", err);
	for (int i = 0; i < n; i++)
		if (ops->interval)
			ops->interval(&o, &f->iv);
	rc = ops->finish(&o, r ? r : &empty, err, sizeof(err));
	cr_expect_eq(rc, 0, "finish: %s", err);
	if (ops->close)
		ops->close(&o);
	return rc;
}

static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t n;
	cr_assert_eq(read_file_max(path, 1 << 26, &buf, &n), 0, "cannot read %s", path);
	return buf;
}

static char *path_in(const char *name)
{
	static char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

/* --- json ------------------------------------------------------------------------- */

static void check_ndjson(const char *text)
{
	int metric_lines = 0, points = 0, durations = 0;
	double reqs = 0, failed = 0, ms = 0;
	char *copy = xstrdup(text), *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t je;
		json_t *j = json_loads(line, 0, &je);
		cr_assert_not_null(j, "not JSON: %s (%s)", line, je.text);
		const char *type = json_string_value(json_object_get(j, "type"));
		const char *metric = json_string_value(json_object_get(j, "metric"));
		json_t *data = json_object_get(j, "data");
		cr_assert(type && metric && json_is_object(data), "%s", line);
		if (strcmp(type, "Metric") == 0) {
			metric_lines++;
			cr_expect_str_eq(json_string_value(json_object_get(data, "name")), metric);
			cr_expect(json_is_array(json_object_get(data, "thresholds")));
			if (strcmp(metric, "http_req_duration") == 0)
				cr_expect_str_eq(
				    json_string_value(json_object_get(data, "contains")), "time");
		} else {
			cr_assert_str_eq(type, "Point");
			points++;
			double v = json_number_value(json_object_get(data, "value"));
			cr_expect(json_is_string(json_object_get(data, "time")), "%s", line);
			if (strcmp(metric, "http_reqs") == 0)
				reqs += v;
			if (strcmp(metric, "http_req_failed") == 0)
				failed += v;
			if (strcmp(metric, "http_req_duration") == 0) {
				durations++;
				ms += v;
				json_t *tags = json_object_get(data, "tags");
				cr_expect_str_eq(json_string_value(json_object_get(tags, "name")),
				                 "http://x/a,\"b\"");
			}
		}
		json_decref(j);
	}
	free(copy);
	cr_expect_eq(metric_lines, 4, "one Metric line per metric, got %d", metric_lines);
	cr_expect_eq(reqs, 10, "http_reqs points add up to 2 x 5, got %g", reqs);
	cr_expect_eq(failed, 2, "http_req_failed: one 1 per interval, got %g", failed);
	cr_expect_eq(durations, 6, "one point per request, got %d", durations);
	cr_expect(fabs(ms - 8) < 0.01, "2 x (1 + 1 + 2) ms within HDR precision, got %g", ms);
	cr_expect_gt(points, 0);
}

Test(out_files, json_lines_are_k6_metric_and_point_envelopes)
{
	struct fixture f;
	fixture(&f);
	setenv("TZ", "UTC", 1);
	cr_assert_eq(run_output(&output_json, path_in("out.json"), &f, 2, NULL), 0);
	char *text = slurp(path_in("out.json"));
	check_ndjson(text);
	/* the interval [1, 2) of a run that started at 1700000000 s, as Go prints it */
	cr_expect(strstr(text, "\"time\":\"2023-11-14T22:13:21Z\""), "%.300s", text);
	cr_expect(strstr(text, "{\"type\":\"Point\",\"data\":{\"time\":"), "%.300s", text);
	free(text);
	hdr_free(f.h);
}

Test(out_files, json_gz_is_gzip)
{
	struct fixture f;
	fixture(&f);
	cr_assert_eq(run_output(&output_json, path_in("out.json.gz"), &f, 2, NULL), 0);
	char cmd[512], text[1 << 16];
	snprintf(cmd, sizeof(cmd), "gzip -dc '%s'", path_in("out.json.gz"));
	FILE *p = popen(cmd, "r");
	size_t n = fread(text, 1, sizeof(text) - 1, p);
	text[n] = '\0';
	cr_expect_eq(pclose(p), 0);
	check_ndjson(text);
	hdr_free(f.h);
}

/* --- csv -------------------------------------------------------------------------- */

Test(out_files, csv_has_k6_columns_and_quotes_fields)
{
	struct fixture f;
	fixture(&f);
	cr_assert_eq(run_output(&output_csv, path_in("out.csv"), &f, 1, NULL), 0);
	char *text = slurp(path_in("out.csv"));
	const char *header = "metric_name,timestamp,metric_value,check,error,error_code,"
	                     "expected_response,group,method,name,proto,scenario,service,status,"
	                     "subproto,tls_version,url,extra_tags,metadata\n";
	cr_expect(strncmp(text, header, strlen(header)) == 0, "%.400s", text);
	cr_expect(strstr(text, "http_reqs,1700000001,5.000000,,,,,,GET,\"http://x/a,\"\"b\"\"\","
	                       ",,,200,,,,testid=t1,\n"),
	          "%s", text);
	int durations = 0;
	for (const char *p = text; (p = strstr(p, "\nhttp_req_duration,")); p++)
		durations++;
	cr_expect_eq(durations, 3);
	cr_expect(strstr(text, "http_req_duration,1700000001,2.000000,"), "%s", text);
	cr_expect(strstr(text, "\nvus,1700000001,3.000000,,,,,,,,,,,,,,,,\n"), "%s", text);
	free(text);
	hdr_free(f.h);
}

/* --- junit and markdown ----------------------------------------------------------- */

static void result_fixture(struct result *r, struct result_threshold *th, struct result_check *ck)
{
	memset(r, 0, sizeof(*r));
	th[0] = (struct result_threshold){ .selector = "http_req_duration",
		                           .metric = "x",
		                           .expr = "p(95)<200",
		                           .stat = "p(95)",
		                           .ok = true,
		                           .value = 12.5 };
	th[1] = (struct result_threshold){ .selector = "http_req_failed{name:<a&b>}",
		                           .metric = "x",
		                           .expr = "rate<0.01",
		                           .stat = "rate",
		                           .ok = false,
		                           .value = 0.25 };
	ck[0] = (struct result_check){ .group = "", .name = "status is 200", .passes = 9 };
	ck[1] = (struct result_check){
		.group = "::api", .name = "body | has \"id\" ]]>", .passes = 3, .fails = 1
	};
	r->duration_s = 2.5;
	r->start_wall_us = 1700000000LL * USEC_PER_SEC;
	r->nthresholds = 2;
	r->thresholds = th;
	r->nchecks = 2;
	r->checks = ck;
}

Test(out_files, junit_counts_and_escapes)
{
	struct result r;
	struct result_threshold th[2];
	struct result_check ck[2];
	result_fixture(&r, th, ck);
	cr_assert_eq(run_output(&output_junit, path_in("j.xml"), NULL, 0, &r), 0);
	char *x = slurp(path_in("j.xml"));
	cr_expect(strstr(x, "<testsuites name=\"stampede\" tests=\"4\" failures=\"2\""), "%s", x);
	cr_expect(strstr(x, "<testsuite name=\"thresholds\" tests=\"2\" failures=\"1\""), "%s", x);
	cr_expect(strstr(x, "<testsuite name=\"checks\" tests=\"2\" failures=\"1\""), "%s", x);
	cr_expect(strstr(x, "name=\"http_req_failed{name:&lt;a&amp;b&gt;}: rate&lt;0.01\""), "%s",
	          x);
	cr_expect(strstr(x, "rate=0.25"), "%s", x);
	cr_expect(strstr(x, "classname=\"checks::api\" name=\"body | has &quot;id&quot; ]]&gt;\""),
	          "%s", x);
	cr_expect(strstr(x, "1 of 4 failed (passes=3 fails=1)"), "%s", x);
	cr_expect_null(strstr(x, "<a&b>"), "no raw markup from names");
	free(x);
}

Test(out_files, markdown_tables_escape_names)
{
	struct result r;
	struct result_threshold th[2];
	struct result_check ck[2];
	result_fixture(&r, th, ck);
	cr_assert_eq(run_output(&output_markdown, path_in("s.md"), NULL, 0, &r), 0);
	char *md = slurp(path_in("s.md"));
	cr_expect(strstr(md, "1 of 2 thresholds failed"), "%s", md);
	cr_expect(strstr(md, "| Metric | Threshold | Value |"), "%s", md);
	cr_expect(strstr(md, "| ✅ | http\\_req\\_duration | p(95)&lt;200 |"), "%s", md);
	cr_expect(strstr(md, "| ❌ | http\\_req\\_failed{name:&lt;a&amp;b&gt;} |"), "%s", md);
	cr_expect(strstr(md, "| ❌ | api › body \\| has \"id\" \\]\\]&gt; | 3 | 1 |"), "%s", md);
	free(md);
}

/* --- hdr -------------------------------------------------------------------------- */

Test(out_files, hdr_log_lines_decode_to_the_interval)
{
	struct fixture f;
	fixture(&f);
	cr_assert_eq(run_output(&output_hdr, path_in("d.hlog"), &f, 2, NULL), 0);
	char *text = slurp(path_in("d.hlog"));
	cr_expect(strstr(text, "#[StartTime: 1700000000.000 (seconds since epoch), "), "%s", text);
	cr_expect(strstr(text, "#[BaseTime: 1700000000.000 (seconds since epoch)]\n"), "%s", text);
	cr_expect(strstr(text, "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
	                       "\"Interval_Compressed_Histogram\"\n"));
	int lines = 0, tagged = 0;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (*l == '#' || *l == '"')
			continue;
		if (strncmp(l, "Tag=", 4) == 0) {
			const char *want = "Tag=http://x/a_\"b\",1.000,1.000,2.000,";
			cr_expect(strncmp(l, want, strlen(want)) == 0, "%s", l);
			tagged++;
			continue;
		}
		cr_expect(strncmp(l, "1.000,1.000,2.000,", 18) == 0, "%s", l);
		const char *b64 = strrchr(l, ',') + 1;
		struct hdr *h;
		cr_assert_eq(hdr_decode(b64, strlen(b64), &h), 0);
		cr_expect_eq(h->total_count, 3);
		cr_expect(hdr_values_equivalent(h, hdr_value_at_percentile(h, 50), 1000));
		hdr_free(h);
		lines++;
	}
	cr_expect_eq(lines, 2);
	cr_expect_eq(tagged, 2);
	free(text);
	hdr_free(f.h);
}

/* --- escaping --------------------------------------------------------------------- */

Test(out_files, escapes_replace_bytes_that_are_not_utf8)
{
	struct buf b = { 0 };
	escape_json(&b, "a\"\\\n\x01\xff\xc3\xa9\xed\xa0\x80");
	cr_expect_str_eq(b.p, "\"a\\\"\\\\\\u000a\\u0001\\ufffd\xc3\xa9\\ufffd\\ufffd\\ufffd\"");
	b.len = 0;
	escape_xml(&b, "<&>\"'\x01\xef\xbf\xbe\t");
	cr_expect_str_eq(b.p, "&lt;&amp;&gt;&quot;&apos;\xef\xbf\xbd\xef\xbf\xbd&#9;");
	b.len = 0;
	escape_markdown(&b, "a|b*[c](d)\n<x>_`~");
	cr_expect_str_eq(b.p, "a\\|b\\*\\[c\\](d) &lt;x&gt;\\_\\`\\~");
	buf_free(&b);
}
