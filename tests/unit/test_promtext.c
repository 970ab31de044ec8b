/* test_promtext.c: the Prometheus text format parser (util/promtext.h), rule by rule, with
 * the spec's example and expositions recorded from real programs (tests/fixtures/prom/). */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/common.h"
#include "util/promtext.h"

static struct promtext P;

static void setup(void)
{
	promtext_init(&P);
}

static void teardown(void)
{
	promtext_free(&P);
}

TestSuite(promtext, .init = setup, .fini = teardown);

static int parse(const char *body, enum promtext_mode mode)
{
	return promtext_parse(&P, body, strlen(body), mode);
}

static void strict_ok(const char *body)
{
	cr_assert_eq(parse(body, PROMTEXT_STRICT), 0, "strict parse of <<%s>>: %s", body, P.err);
}

/* Strict mode refuses body at line, with a reason that contains why. */
static void strict_bad(const char *body, uint32_t line, const char *why)
{
	cr_assert_eq(parse(body, PROMTEXT_STRICT), -EINVAL, "<<%s>> was accepted", body);
	cr_assert_eq(P.err_line, line, "<<%s>>: %s", body, P.err);
	cr_assert(strstr(P.err, why), "<<%s>>: '%s' lacks '%s'", body, P.err, why);
}

static const struct promtext_family *fam(const char *name)
{
	const struct promtext_family *f = promtext_find(&P, name);
	cr_assert(f, "no family %s", name);
	return f;
}

/* A repository file: from the root (where `make` runs the tests), or found from this
 * source file's path. New string, NUL-terminated; *len bytes. */
static char *repo_file(const char *rel, size_t *len)
{
	char path[4096], *buf = NULL;
	if (read_file_max(rel, PROMTEXT_MAX_BODY, &buf, len) == 0)
		return buf;
	const char *here = __FILE__;
	const char *cut = strstr(here, "tests/unit/");
	snprintf(path, sizeof(path), "%.*s%s", cut ? (int)(cut - here) : 0, here, rel);
	cr_assert_eq(read_file_max(path, PROMTEXT_MAX_BODY, &buf, len), 0, "cannot read %s", rel);
	return buf;
}

Test(promtext, the_spec_example)
{
	size_t len;
	char *body = repo_file("tests/fixtures/prom/spec-example.txt", &len);
	cr_assert_eq(promtext_parse(&P, body, len, PROMTEXT_STRICT), 0, "%s", P.err);
	cr_assert_eq(P.nfamilies, 6);
	cr_assert_eq(P.samples_total, 20);
	cr_assert_eq(P.nsamples, 20);
	cr_assert_not(P.truncated);

	const struct promtext_family *f = fam("http_requests_total");
	cr_assert_eq(f->type, PROMTEXT_COUNTER);
	cr_assert(f->typed);
	cr_assert_str_eq(f->help, "The total number of HTTP requests.");
	cr_assert_eq(f->value, 1030);
	cr_assert_eq(f->nseries, 2);
	const struct promtext_sample *s = &P.samples[0];
	cr_assert_str_eq(s->name, "http_requests_total");
	cr_assert(s->has_ts);
	cr_assert_eq(s->ts_ms, 1395066363000LL);
	cr_assert_str_eq(promtext_label_value(&P, s, "method"), "post");
	cr_assert_str_eq(promtext_label_value(&P, s, "code"), "200");
	cr_assert_null(promtext_label_value(&P, s, "nope"));

	f = fam("msdos_file_access_time_seconds");
	cr_assert_eq(f->type, PROMTEXT_UNTYPED, "no TYPE line: untyped");
	cr_assert_not(f->typed);
	cr_assert_null(f->help);
	s = &P.samples[2];
	cr_assert_str_eq(promtext_label_value(&P, s, "path"), "C:\\DIR\\FILE.TXT");
	cr_assert_str_eq(promtext_label_value(&P, s, "error"), "Cannot find file:\n\"FILE.TXT\"");
	cr_assert_eq(s->value, 1.458255915e9);

	s = &P.samples[4];
	cr_assert_str_eq(s->name, "something_weird");
	cr_assert(isinf(s->value) && s->value > 0);
	cr_assert_eq(s->ts_ms, -3982045);

	f = fam("http_request_duration_seconds");
	cr_assert_eq(f->type, PROMTEXT_HISTOGRAM);
	cr_assert_eq(f->sum, 53423);
	cr_assert_eq(f->count, 144320);
	cr_assert_eq(f->nseries, 1);
	cr_assert_eq(f->nsamples, 8);
	cr_assert_null(promtext_find(&P, "http_request_duration_seconds_bucket"));
	s = &P.samples[10];
	cr_assert_eq(s->suffix, PROMTEXT_SFX_BUCKET);
	cr_assert_str_eq(promtext_label_value(&P, s, "le"), "+Inf");

	f = fam("rpc_duration_seconds");
	cr_assert_eq(f->type, PROMTEXT_SUMMARY);
	cr_assert_eq(f->sum, 1.7560473e+07);
	cr_assert_eq(f->count, 2693);
	cr_assert_eq(f->value, 0, "quantiles are not summed");
	cr_assert_eq(P.samples[19].suffix, PROMTEXT_SFX_COUNT);
	cr_assert_eq(P.samples[19].line, 36);
	free(body);
}

Test(promtext, metric_and_label_names)
{
	strict_ok("a 1\n_a 1\n:a:b_c9 1\nA_Z 1\n");
	cr_assert_eq(P.nfamilies, 4);
	strict_ok("a{_x=\"\",Y9=\"v\"} 1\n");
	strict_bad("9a 1\n", 1, "invalid metric name");
	strict_bad("a-b 1\n", 1, "invalid character in the metric name at column 2");
	strict_bad("a{9x=\"v\"} 1\n", 1, "invalid label name");
	strict_bad("a{x:y=\"v\"} 1\n", 1, "expected '=' after label name");
	strict_bad("a{x} 1\n", 1, "expected '='");
	strict_bad("a{__name__=\"b\"} 1\n", 1, "reserved");
	strict_bad("a{x=\"1\",x=\"2\"} 1\n", 1, "duplicate label name");
	strict_bad("{x=\"1\"} 1\n", 1, "invalid metric name");
}

Test(promtext, label_sets_and_whitespace)
{
	strict_ok("a{} 1\na{x=\"1\",} 2\n  a { x = \"3\" , y=\"4\" }\t5\na{x=\"6\"}7\n");
	cr_assert_eq(fam("a")->value, 1 + 2 + 5 + 7);
	cr_assert_eq(fam("a")->nseries, 4);
	cr_assert_eq(P.samples[2].nlabels, 2);
	cr_assert_str_eq(promtext_label_value(&P, &P.samples[2], "y"), "4");
	strict_ok("a+1\n");
	cr_assert_eq(P.samples[0].value, 1, "the value may follow the name at once");
	strict_bad("a{,} 1\n", 1, "invalid label name");
	strict_bad("a{x=1} 1\n", 1, "expected '\"'");
	strict_bad("a{x=\"1\" y=\"2\"} 1\n", 1, "expected ',' or '}'");
	strict_bad("a{x=\"1\"\n", 1, "expected ',' or '}'");
}

Test(promtext, label_value_escapes)
{
	strict_ok("a{x=\"q\\\"b\\\\s\\nn\"} 1\n");
	cr_assert_str_eq(P.labels[0].value, "q\"b\\s\nn");
	strict_ok("a{x=\"caf\xc3\xa9 \xe2\x82\xac\"} 1\n");
	cr_assert_str_eq(P.labels[0].value, "caf\xc3\xa9 \xe2\x82\xac");
	strict_bad("a{x=\"\\t\"} 1\n", 1, "invalid escape sequence");
	strict_bad("a{x=\"abc} 1\n", 1, "closing quote");
	strict_bad("a{x=\"abc\\\"} 1\n", 1, "closing quote");
	strict_bad("a{x=\"\xff\"} 1\n", 1, "not UTF-8");
	strict_bad("a{x=\"\xed\xa0\x80\"} 1\n", 1, "not UTF-8"); /* a surrogate */
}

Test(promtext, values)
{
	static const struct {
		const char *text;
		double want;
	} good[] = {
		{ "1", 1 },
		{ "-1.5", -1.5 },
		{ "+2", 2 },
		{ ".5", .5 },
		{ "5.", 5 },
		{ "1e3", 1000 },
		{ "1E+3", 1000 },
		{ "-2.5e-3", -2.5e-3 },
		{ "1e-400", 0 },
		{ "+Inf", INFINITY },
		{ "-Inf", -INFINITY },
		{ "inf", INFINITY },
		{ "-infinity", -INFINITY },
		{ "1.7976931348623157e308", 1.7976931348623157e308 },
	};
	static const char *const bad[] = { "0x1p3", "0x10",  "1_0",  "1e400", "+NaN",
		                           "-nan",  "e3",    ".",    "1e",    "1e+",
		                           "--1",   "1.2.3", "Infx", "NaN1",  "" };
	char body[128];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		snprintf(body, sizeof(body), "a %s\n", good[i].text);
		strict_ok(body);
		cr_assert_eq(P.samples[0].value, good[i].want, "%s", good[i].text);
	}
	strict_ok("a NaN\nb nan\n");
	cr_assert(isnan(P.samples[0].value) && isnan(P.samples[1].value));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(body, sizeof(body), "a %s\n", bad[i]);
		strict_bad(body, 1, "expected a float as the value");
	}
}

Test(promtext, timestamps)
{
	strict_ok("a 1 -5\nb 1 +7\nc 1\t9223372036854775807\nd 1 -9223372036854775808\n");
	cr_assert_eq(P.samples[0].ts_ms, -5);
	cr_assert_eq(P.samples[1].ts_ms, 7);
	cr_assert_eq(P.samples[2].ts_ms, INT64_MAX);
	cr_assert_eq(P.samples[3].ts_ms, INT64_MIN);
	strict_bad("a 1 9223372036854775808\n", 1, "timestamp");
	strict_bad("a 1 1.5\n", 1, "timestamp");
	strict_bad("a 1 1 2\n", 1, "spurious text after the timestamp");
}

Test(promtext, help_and_type_lines)
{
	strict_ok("# HELP a line one\\nback\\\\slash \"q\"\n# TYPE a GAUGE\na 1\n");
	cr_assert_str_eq(fam("a")->help, "line one\nback\\slash \"q\"");
	cr_assert_eq(fam("a")->type, PROMTEXT_GAUGE, "type names are case-insensitive");
	strict_ok("#TYPE b counter\n#\tHELP b x\n# just a comment\n#\n# HELP\n# HELP c\nb 1\n");
	cr_assert_eq(fam("b")->type, PROMTEXT_COUNTER);
	cr_assert_str_eq(fam("b")->help, "x");
	cr_assert_null(promtext_find(&P, "c"), "a HELP without text says nothing");
	strict_bad("# HELP a x\n# HELP a y\n", 2, "second HELP");
	strict_bad("# TYPE a gauge\n# TYPE a gauge\n", 2, "second TYPE");
	strict_bad("a 1\n# TYPE a gauge\n", 2, "TYPE after its samples");
	strict_bad("# TYPE a info\n", 1, "unknown metric type");
	strict_bad("# TYPE a counter \n", 1, "unknown metric type");
	strict_bad("# HELP a tab\\t\n", 1, "invalid escape sequence");
	strict_bad("# HELP a quote\\\"\n", 1, "invalid escape sequence");
	strict_bad("# HELP a x\\\n", 1, "invalid escape sequence");
	strict_bad("# HELP 1a x\n", 1, "invalid metric name in comment");
	strict_bad("# TYPE a-b gauge\n", 1, "invalid metric name in comment");
}

Test(promtext, histogram_and_summary_samples)
{
	strict_ok(
	    "# TYPE h histogram\n"
	    "h_bucket{path=\"/a\",le=\"0.5\"} 1\nh_bucket{path=\"/a\",le=\"+Inf\"} 3\n"
	    "h_sum{path=\"/a\"} 2.5\nh_count{path=\"/a\"} 3\n"
	    "h_bucket{path=\"/b\",le=\"+Inf\"} 4\nh_sum{path=\"/b\"} 1\nh_count{path=\"/b\"} 4\n"
	    "# TYPE s summary\ns{quantile=\"0.5\"} 9\ns_sum 10\ns_count 2\ns_bucket 7\n"
	    "# TYPE c counter\nc_sum 1\n");
	const struct promtext_family *h = fam("h");
	cr_assert_eq(h->sum, 3.5);
	cr_assert_eq(h->count, 7);
	cr_assert_eq(h->nseries, 2);
	cr_assert_eq(h->nsamples, 7);
	const struct promtext_family *s = fam("s");
	cr_assert_eq(s->sum, 10);
	cr_assert_eq(s->count, 2);
	cr_assert_eq(s->nsamples, 3);
	cr_assert_eq(fam("s_bucket")->type, PROMTEXT_UNTYPED, "a summary has no buckets");
	cr_assert_eq(fam("c_sum")->type, PROMTEXT_UNTYPED, "a counter has no _sum");
	strict_bad("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", 2, "le label");
	strict_bad("# TYPE s summary\ns{quantile=\"\"} 1\n", 2, "quantile label");
	strict_ok("h_bucket{le=\"x\"} 1\n"); /* untyped: le is a label like any other */
	strict_ok("# TYPE h histogram\nh_bucket{le=\"1\",le=\"2\"} 1\n"); /* as expfmt */
}

Test(promtext, openmetrics_subset)
{
	size_t len;
	char *body = repo_file("tests/fixtures/prom/openmetrics.txt", &len);
	cr_assert_eq(promtext_parse(&P, body, len, PROMTEXT_STRICT), 0, "%s", P.err);
	cr_assert(P.eof_marker);
	const struct promtext_family *c = fam("app_requests");
	cr_assert_eq(c->type, PROMTEXT_COUNTER);
	cr_assert_eq(c->value, 15, "x_total sums into counter x; x_created does not");
	cr_assert_eq(c->nseries, 2);
	cr_assert_eq(c->nsamples, 4);
	cr_assert_eq(P.samples[0].suffix, PROMTEXT_SFX_TOTAL);
	cr_assert_eq(P.samples[1].suffix, PROMTEXT_SFX_CREATED);
	cr_assert_str_eq(fam("app_queue_depth")->unit, "jobs");
	cr_assert_eq(fam("app_latency_seconds")->count, 15);
	cr_assert_eq(fam("app_latency_seconds")->nsamples, 6);
	cr_assert_eq(fam("app_rpc_seconds")->nsamples, 5);
	cr_assert_eq(P.nfamilies, 4);
	free(body);

	strict_ok("a 1\n# EOF\nthis is not read\n");
	cr_assert(P.eof_marker);
	cr_assert_eq(P.lines, 2);
	strict_bad("# TYPE u unknown\n", 1, "unknown metric type");
	cr_assert_eq(parse("# TYPE u unknown\nu 1\n", PROMTEXT_LENIENT), 0);
	cr_assert_eq(P.bad_lines, 0);
	cr_assert(fam("u")->typed);
	cr_assert_eq(fam("u")->type, PROMTEXT_UNTYPED);
	body = "# TYPE h histogram\nh_bucket{le=\"1\"} 2 # {trace_id=\"a\"} 0.5 1.7e9\n"
	       "h_count 2 123 # {trace_id=\"b\"} 1\n";
	strict_bad(body, 2, "timestamp");
	cr_assert_eq(parse(body, PROMTEXT_LENIENT), 0);
	cr_assert_eq(P.bad_lines, 0, "%s", P.err);
	cr_assert_eq(fam("h")->count, 2);
	cr_assert_eq(P.samples[1].ts_ms, 123);
}

Test(promtext, a_total_name_without_type_stays_untyped)
{
	strict_ok("jobs_total 3\n# TYPE done_total counter\ndone_total 1\nbytes 1\n"
	          "# TYPE g_total gauge\ng_total 1\n");
	cr_assert_eq(fam("jobs_total")->type, PROMTEXT_UNTYPED);
	cr_assert(promtext_family_is_counter(fam("jobs_total")));
	cr_assert(promtext_family_is_counter(fam("done_total")));
	cr_assert_not(promtext_family_is_counter(fam("bytes")));
	cr_assert_not(promtext_family_is_counter(fam("g_total")), "its TYPE says gauge");
	cr_assert_str_eq(promtext_type_name(fam("g_total")->type), "gauge");
}

Test(promtext, nan_values_are_counted_not_summed)
{
	strict_ok("# TYPE g gauge\ng{i=\"1\"} 2\ng{i=\"2\"} NaN\ng{i=\"3\"} 3\n");
	cr_assert_eq(fam("g")->value, 5);
	cr_assert_eq(fam("g")->nseries, 3);
	cr_assert_eq(fam("g")->nnan, 1);
}

Test(promtext, strict_line_endings_are_promtools)
{
	strict_bad("a 1\r\n", 1, "expected a float as the value");
	strict_bad("a 1\nb 2 \n", 2, "timestamp");
	strict_bad("a 1\nb 2 3 \n", 2, "spurious text");
	strict_bad("a 1\nb 2", 2, "does not end with a line feed");
	strict_bad("# x", 1, "does not end with a line feed");
	strict_ok("");
	strict_ok("\n\n  \t\n");
	strict_ok("a 1\n  \t");
	cr_assert_eq(P.lines, 2);
}

Test(promtext, lenient_tolerates_crlf_trailing_blanks_and_no_final_lf)
{
	cr_assert_eq(
	    parse("# HELP a x \r\n# TYPE a counter\t\r\na 1 \r\nb 2 5 \r\nc 3", PROMTEXT_LENIENT),
	    0);
	cr_assert_eq(P.bad_lines, 0, "%s", P.err);
	cr_assert_str_eq(fam("a")->help, "x");
	cr_assert_eq(fam("a")->type, PROMTEXT_COUNTER);
	cr_assert_eq(P.samples[1].ts_ms, 5);
	cr_assert_eq(fam("c")->value, 3);
}

Test(promtext, lenient_skips_and_counts_bad_lines)
{
	const char *body = "a 1\n"
	                   "b{x=\"1\",x=\"2\"} 2\n" /* duplicate label */
	                   "c oops\n"
	                   "# TYPE a gauge\n" /* after a's samples */
	                   "d 4\n"
	                   "9 5\n";
	cr_assert_eq(parse(body, PROMTEXT_LENIENT), 0);
	cr_assert_eq(P.bad_lines, 4);
	cr_assert_eq(P.err_line, 2, "the first bad line is named: %s", P.err);
	cr_assert(strstr(P.err, "line 2: duplicate label name"), "%s", P.err);
	cr_assert_eq(P.samples_total, 2);
	cr_assert_null(promtext_find(&P, "b"), "a bad line leaves nothing behind");
	cr_assert_null(promtext_find(&P, "c"));
	cr_assert_eq(fam("a")->type, PROMTEXT_UNTYPED);
	cr_assert_eq(fam("d")->value, 4);
	cr_assert_eq(parse(body, PROMTEXT_STRICT), -EINVAL);
	cr_assert_eq(P.err_line, 2);
	cr_assert_eq(P.samples_total, 1, "what came before the bad line is kept");
}

static void add(struct buf *b, const char *fmt, int i)
{
	char line[128];
	int n = snprintf(line, sizeof(line), fmt, i, i);
	buf_add(b, line, (size_t)n);
}

Test(promtext, the_sample_cap_counts_past_it)
{
	struct buf b = { 0 };
	for (int i = 0; i < PROMTEXT_MAX_SAMPLES + 5; i++)
		add(&b, "# comment %d\nreqs_total{i=\"%d\"} 1\n", i);
	cr_assert_eq(promtext_parse(&P, b.p, b.len, PROMTEXT_STRICT), 0, "%s", P.err);
	cr_assert_eq(P.nsamples, PROMTEXT_MAX_SAMPLES);
	cr_assert_eq(P.samples_total, PROMTEXT_MAX_SAMPLES + 5);
	cr_assert_eq(P.samples_dropped, 5);
	cr_assert(P.truncated);
	cr_assert_eq(fam("reqs_total")->value, PROMTEXT_MAX_SAMPLES + 5, "sums see every sample");
	cr_assert_eq(fam("reqs_total")->nseries, PROMTEXT_MAX_SAMPLES + 5);
	cr_assert_str_eq(P.labels[P.nlabels - 1].value, "9999");
	buf_free(&b);
}

Test(promtext, the_family_cap_counts_past_it)
{
	struct buf b = { 0 };
	for (int i = 0; i < PROMTEXT_MAX_FAMILIES + 10; i++)
		add(&b, "# TYPE f%d gauge\nf%d 1\n", i);
	cr_assert_eq(promtext_parse(&P, b.p, b.len, PROMTEXT_STRICT), 0, "%s", P.err);
	cr_assert_eq(P.nfamilies, PROMTEXT_MAX_FAMILIES);
	cr_assert_eq(P.families_dropped, 20, "the TYPE and the sample line of 10 families");
	cr_assert_eq(P.families_lost, 10, "10 families: their lines in a row count once");
	cr_assert_eq(P.samples_total, PROMTEXT_MAX_FAMILIES + 10);
	cr_assert_eq(P.nsamples, PROMTEXT_MAX_FAMILIES);
	cr_assert(P.truncated);
	cr_assert_null(promtext_find(&P, "f300"));
	cr_assert_eq(fam("f255")->type, PROMTEXT_GAUGE);
	buf_free(&b);
}

Test(promtext, the_label_caps)
{
	struct buf b = { 0 };
	buf_add(&b, "a{", 2);
	for (int i = 0; i < PROMTEXT_LINE_LABELS + 1; i++)
		add(&b, "l%d=\"%d\",", i);
	buf_add(&b, "} 1\n", 4);
	cr_assert_eq(promtext_parse(&P, b.p, b.len, PROMTEXT_STRICT), -EINVAL);
	cr_assert(strstr(P.err, "more labels than a line may have"), "%s", P.err);
	buf_free(&b);

	/* 40 labels a sample: the label array fills before the sample array */
	memset(&b, 0, sizeof(b));
	for (int i = 0; i < 2100; i++) {
		add(&b, "a{i=\"%d\"", i);
		for (int j = 0; j < 39; j++)
			add(&b, ",l%d=\"%d\"", j);
		buf_add(&b, "} 1\n", 4);
	}
	cr_assert_eq(promtext_parse(&P, b.p, b.len, PROMTEXT_STRICT), 0, "%s", P.err);
	cr_assert_eq(P.nsamples, PROMTEXT_MAX_LABELS / 40);
	cr_assert_eq(P.nlabels, PROMTEXT_MAX_LABELS);
	cr_assert_eq(P.samples_dropped, 2100 - PROMTEXT_MAX_LABELS / 40);
	cr_assert(P.truncated);
	cr_assert_eq(fam("a")->nseries, 2100);
	buf_free(&b);
}

Test(promtext, the_body_cap)
{
	size_t n = PROMTEXT_MAX_BODY + 1;
	char *big = xmalloc(n);
	memset(big, '\n', n);
	cr_assert_eq(promtext_parse(&P, big, n, PROMTEXT_LENIENT), -EFBIG);
	cr_assert(strstr(P.err, "cap"), "%s", P.err);
	cr_assert_eq(P.nfamilies, 0);
	cr_assert_eq(promtext_parse(&P, big, n - 1, PROMTEXT_STRICT), 0, "exactly the cap is fine");
	cr_assert_eq(P.lines, n - 1);
	free(big);
}

Test(promtext, a_struct_is_reused_across_parses)
{
	strict_ok("# HELP a first\na{x=\"1\"} 1\n");
	cr_assert_eq(P.nfamilies, 1);
	strict_ok("b 2\n");
	cr_assert_eq(P.nfamilies, 1);
	cr_assert_null(promtext_find(&P, "a"));
	cr_assert_eq(fam("b")->value, 2);
	cr_assert_eq(P.nlabels, 0);
	cr_assert_str_eq(P.err, "");
}

/* Expositions recorded from real programs (tests/fixtures/prom/README.md says how). */
Test(promtext, recorded_expositions)
{
	static const struct {
		const char *file;
		const char *counter;
		int nfamilies;
	} cases[] = {
		{ "tests/fixtures/prom/demo.txt", "http_requests_total", 22 },
		{ "tests/fixtures/prom/stampede-out.txt", "stampede_http_reqs_total", 18 },
		{ "tests/fixtures/prom/prometheus.txt", "prometheus_http_requests_total", 154 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len;
		char *body = repo_file(cases[i].file, &len);
		cr_assert_eq(promtext_parse(&P, body, len, PROMTEXT_STRICT), 0, "%s: %s",
		             cases[i].file, P.err);
		cr_assert_eq(P.nfamilies, cases[i].nfamilies, "%s", cases[i].file);
		cr_assert_eq(P.samples_total, P.nsamples);
		const struct promtext_family *f = fam(cases[i].counter);
		cr_assert_eq(f->type, PROMTEXT_COUNTER, "%s", cases[i].file);
		cr_assert(f->value > 0 && f->nseries > 0, "%s", cases[i].file);
		cr_assert_eq(promtext_parse(&P, body, len, PROMTEXT_LENIENT), 0);
		cr_assert_eq(P.bad_lines, 0);
		free(body);
	}
}

/* A byte no metric name may hold ends the name where it stands: the message names the name
 * and the column (1-based, in bytes), in both modes, rather than reading the rest of the
 * name as the value ("expected a float as the value (caf)"). */
Test(promtext, a_bad_byte_in_a_metric_name_is_reported_at_its_column)
{
	strict_bad("caf\xc3\xa9 1\n", 1, "invalid character in the metric name at column 4 (caf)");
	strict_bad("ok 1\n  a.b{x=\"1\"} 2\n", 2,
	           "invalid character in the metric name at column 4 (a)");
	strict_bad("a/b 1\n", 1, "invalid character in the metric name at column 2");
	cr_assert_eq(parse("good 1\nbad\xc3\xa9 2\n", PROMTEXT_LENIENT), 0);
	cr_expect_eq(P.bad_lines, 1);
	cr_expect_eq(P.nsamples, 1);
	cr_expect(strstr(P.err, "line 2: invalid character in the metric name at column 4 (bad)"),
	          "%s", P.err);
	strict_ok("a{x=\"1\"} 1\nb 2\nc\t3\n"); /* '{', blank and tab still end a name */
}
