/* cmd_history_gate.c: `stampede history trend` (p50/p95/p99, throughput and errors over a
 * test's last runs: sparklines, JSON, an HTML page) and `stampede history gate RESULT`
 * (compare with the test's baseline, and look for a change point in its history so that
 * a slow creep no single comparison catches is reported; docs/history.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/changepoint.h"
#include "analysis/compare.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "cli/compare_cli.h"
#include "cli/history_cli.h"
#include "cli/history_meta.h"
#include "engine/run.h"
#include "output/svgchart.h"
#include "util/buf.h"
#include "util/common.h"
#include "util/escape.h"
#include "util/outfile.h"

#define TREND_LAST_DEFAULT 30
#define GATE_LAST_DEFAULT  20
#define GATE_MIN_SHIFT     0.10 /* a change point's shift that counts, p95 after/before - 1 */
/* decimals for about three figures of a time in ms, without an exponent */
#define DIGITS(v)        (fabs(v) < 10 ? 2 : fabs(v) < 100 ? 1 : 0)
#define GATE_RECENT_RUNS (2 * CP_MIN_SIZE) /* a new level this young is flagged anyway */
#define CP_ALPHA         0.05
#define CP_PERMUTATIONS  199
#define CP_MIN_SIZE      3
#define CP_SEED          0x5354414d50435054ull

/* The test to look at: --test, or the newest run's (of --tag). 0 or the exit code. */
static int pick_test(const char *cmd, struct history *h, const char *tag, char *out)
{
	char err[1024];
	struct history_run *runs;
	int n;
	struct history_filter f = { .tag = tag, .limit = 1 };
	int rc = history_list(h, &f, &runs, &n, err, sizeof(err));
	if (rc < 0)
		return hist_fail(cmd, rc, err);
	if (n == 0 || !runs[0].test_hash) {
		fprintf(stderr, "stampede history %s: %s: no run%s%s yet\n", cmd, history_path(h),
		        tag ? " tagged " : "", tag ? tag : "");
		history_runs_free(runs, n);
		return EXIT_INVALID_CONFIG;
	}
	snprintf(out, HISTORY_HASH_LEN + 1, "%s", runs[0].test_hash);
	history_runs_free(runs, n);
	return 0;
}

/* The runs of test (and tag), oldest first, at most last. 0 or the exit code. */
static int runs_of(const char *cmd, struct history *h, const char *test, const char *tag, int last,
                   struct history_run **runs, int *n)
{
	char err[1024];
	struct history_filter f = { .test_hash = test, .tag = tag, .limit = last };
	int rc = history_list(h, &f, runs, n, err, sizeof(err));
	if (rc < 0)
		return hist_fail(cmd, rc, err);
	for (int i = 0; i < *n / 2; i++) { /* newest first -> oldest first */
		struct history_run t = (*runs)[i];
		(*runs)[i] = (*runs)[*n - 1 - i];
		(*runs)[*n - 1 - i] = t;
	}
	return 0;
}

/* --- trend --------------------------------------------------------------------------- */

enum series { S_P50, S_P95, S_P99, S_RPS, S_ERR, S_N };
static const struct {
	const char *name, *unit;
	double k; /* shown = value x k */
} series_def[S_N] = {
	{ "p50", "ms", 1 },           { "p95", "ms", 1 },     { "p99", "ms", 1 },
	{ "throughput", "req/s", 1 }, { "errors", "%", 100 },
};

static double series_at(const struct history_run *r, enum series s)
{
	switch (s) {
	case S_P50:
		return r->p50_ms;
	case S_P95:
		return r->p95_ms;
	case S_P99:
		return r->p99_ms;
	case S_RPS:
		return r->rps;
	default:
		return r->error_rate;
	}
}

/* A terminal sparkline of v (NaN: a blank), scaled from its minimum to its maximum. */
static void sparkline(FILE *f, const double *v, int n)
{
	static const char *const bars[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	double lo = INFINITY, hi = -INFINITY;
	for (int i = 0; i < n; i++)
		if (isfinite(v[i]))
			lo = MIN(lo, v[i]), hi = MAX(hi, v[i]);
	for (int i = 0; i < n; i++) {
		if (!isfinite(v[i])) {
			fputc(' ', f);
			continue;
		}
		int k = hi > lo ? (int)lround((v[i] - lo) / (hi - lo) * 7) : 3;
		fputs(bars[MIN(MAX(k, 0), 7)], f);
	}
}

static void when_utc(int64_t us, char *buf, size_t len)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
	else
		snprintf(buf, len, "?");
}

static void trend_text(const char *test, const struct history_run *runs, int n)
{
	char a[40], b[40];
	when_utc(runs[0].started_at_us, a, sizeof(a));
	when_utc(runs[n - 1].started_at_us, b, sizeof(b));
	printf("test %s (%s): %d run%s, %s to %s (runs %lld to %lld)\n\n", test,
	       runs[n - 1].source ? runs[n - 1].source : "?", n, n == 1 ? "" : "s", a, b,
	       (long long)runs[0].id, (long long)runs[n - 1].id);
	double *v = xcalloc((size_t)n, sizeof(double));
	for (int s = 0; s < S_N; s++) {
		double lo = INFINITY, hi = -INFINITY;
		for (int i = 0; i < n; i++) {
			v[i] = series_at(&runs[i], s) * series_def[s].k;
			if (isfinite(v[i]))
				lo = MIN(lo, v[i]), hi = MAX(hi, v[i]);
		}
		printf("  %-11s ", series_def[s].name);
		sparkline(stdout, v, n);
		if (isfinite(lo))
			printf("  %.4g -> %.4g %s (min %.4g, max %.4g)\n", v[0], v[n - 1],
			       series_def[s].unit, lo, hi);
		else
			printf("  no data\n");
	}
	free(v);
}

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *trend_json(const char *test, const struct history_run *runs, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		const struct history_run *r = &runs[i];
		json_array_append_new(
		    a,
		    json_pack("{s:I, s:I, s:s?, s:s?, s:s?, s:o, s:o, s:o, s:o, s:o}", "id",
		              (json_int_t)r->id, "startedAtUs", (json_int_t)r->started_at_us,
		              "gitCommit", r->git_commit, "gitBranch", r->git_branch, "tag", r->tag,
		              "p50Ms", num(r->p50_ms), "p95Ms", num(r->p95_ms), "p99Ms",
		              num(r->p99_ms), "rps", num(r->rps), "errorRate", num(r->error_rate)));
	}
	return json_pack("{s:s, s:o}", "test", test, "runs", a);
}

/* The trend page: a latency chart and a throughput/errors chart over the runs (x: the
 * run's place, 1 = the oldest shown), and the runs' table. Self-contained: no script,
 * nothing fetched. */
static void trend_html(struct buf *b, const char *test, const struct history_run *runs, int n)
{
	buf_addstr(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	              "<title>stampede history trend</title><style>"
	              "body{font-family:system-ui,sans-serif;margin:24px;color:#111827}"
	              "figure.chart{margin:16px 0}figcaption{font-weight:600;margin-bottom:4px}"
	              "svg{width:100%;max-width:960px;height:auto}"
	              "table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px "
	              "solid #e5e7eb;text-align:right}td.l,th.l{text-align:left}" SVGCHART_CSS
	              "</style></head><body>\n<h1>Trend of test ");
	escape_xml(b, test);
	buf_printf(b, "</h1>\n<p>%d run%s, oldest first; x: the run's place in this list.</p>\n", n,
	           n == 1 ? "" : "s");
	struct svgchart *lat =
	    svgchart_new("trend-latency", "Latency (http_req_duration)", "run", "ms");
	struct svgchart_line *l[3];
	static const char *const names[] = { "p50", "p95", "p99" };
	for (int s = 0; s < 3; s++)
		l[s] = svgchart_line(lat, names[s], n);
	struct svgchart *thr = svgchart_new("trend-throughput", "Throughput and errors", "run",
	                                    "req/s, and errors in % x 100");
	struct svgchart_line *rps = svgchart_line(thr, "throughput (req/s)", n);
	struct svgchart_line *err = svgchart_line(thr, "errors (% x 100)", n);
	for (int i = 0; i < n; i++) {
		for (int s = 0; s < 3; s++)
			if (isfinite(series_at(&runs[i], s)))
				svgchart_add(l[s], i + 1, series_at(&runs[i], s));
		if (isfinite(runs[i].rps))
			svgchart_add(rps, i + 1, runs[i].rps);
		if (isfinite(runs[i].error_rate))
			svgchart_add(err, i + 1, runs[i].error_rate * 1e4);
	}
	svgchart_extend_x(lat, n);
	svgchart_extend_x(thr, n);
	svgchart_render(lat, b);
	svgchart_render(thr, b);
	svgchart_free(lat);
	svgchart_free(thr);
	buf_addstr(b, "<table><thead><tr><th>#</th><th>run</th><th class=\"l\">started</th>"
	              "<th class=\"l\">commit</th><th class=\"l\">tag</th><th>p50 ms</th>"
	              "<th>p95 ms</th><th>p99 ms</th><th>req/s</th><th>errors %</th>"
	              "</tr></thead><tbody>\n");
	for (int i = 0; i < n; i++) {
		const struct history_run *r = &runs[i];
		char w[40];
		when_utc(r->started_at_us, w, sizeof(w));
		buf_printf(b, "<tr><td>%d</td><td>%lld</td><td class=\"l\">%s</td><td class=\"l\">",
		           i + 1, (long long)r->id, w);
		escape_xml(b, r->git_commit ? r->git_commit : "");
		buf_addstr(b, "</td><td class=\"l\">");
		escape_xml(b, r->tag ? r->tag : "");
		buf_printf(b,
		           "</td><td>%.3g</td><td>%.3g</td><td>%.3g</td><td>%.1f</td>"
		           "<td>%.2f</td></tr>\n",
		           r->p50_ms, r->p95_ms, r->p99_ms, r->rps, r->error_rate * 100);
	}
	buf_addstr(b, "</tbody></table>\n</body></html>\n");
}

int history_trend_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "test", required_argument, NULL, OPT_TEST },
		{ "tag", required_argument, NULL, OPT_TAG },
		{ "last", required_argument, NULL, OPT_LAST },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "out", required_argument, NULL, COMPARE_OPT_OUT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct hist_flags hf = { 0 };
	const char *html = NULL;
	int64_t last = TREND_LAST_DEFAULT;
	char err[1024];
	int c;
	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		int x = hist_flag("trend", c, optarg, &hf);
		if (x != HIST_NEXT && x != HIST_NOT_MINE)
			return x;
		switch (x == HIST_NEXT ? 0 : c) {
		case 0:
			break;
		case OPT_LAST:
			if (parse_int64(optarg, 2, 10000, &last) < 0)
				return cli_bad_value("--last", optarg, "expected 2 to 10000"),
				       EXIT_INVALID_CONFIG;
			break;
		case COMPARE_OPT_OUT:
			if (strncmp(optarg, "html=", 5) || !optarg[5])
				return cli_bad_value("--out", optarg, "trend writes html=FILE"),
				       EXIT_INVALID_CONFIG;
			html = optarg + 5;
			if (strcmp(html, "-") && outfile_check(html, err, sizeof(err)) < 0) {
				fprintf(stderr, "stampede history trend: --out %s: %s\n", optarg,
				        err);
				return EXIT_INVALID_CONFIG;
			}
			break;
		default:
			cli_opt_report("history");
			return EXIT_INVALID_CONFIG;
		}
	}
	const char *db = hf.db ? hf.db : hist_default_db(), *test = hf.test, *tag = hf.tag;
	bool as_json = hf.json;
	if (hist_operands("trend", argc, argv, 0, "") < 0)
		return EXIT_INVALID_CONFIG;
	if (html && outfile_same(db, html)) {
		fprintf(stderr,
		        "stampede history trend: --out html=%s is the history database: "
		        "writing there would replace it; choose another file\n",
		        html);
		return EXIT_INVALID_CONFIG;
	}
	struct history *h;
	int ex = hist_open_db("trend", db, false, &h);
	if (ex)
		return ex;
	char picked[HISTORY_HASH_LEN + 1];
	if (!test) {
		if ((ex = pick_test("trend", h, tag, picked))) {
			history_close(h);
			return ex;
		}
		test = picked;
	}
	struct history_run *runs = NULL;
	int n = 0;
	ex = runs_of("trend", h, test, tag, (int)last, &runs, &n);
	history_close(h);
	if (ex)
		return ex;
	if (n == 0) {
		fprintf(stderr, "stampede history trend: no run of test %s in %s\n", test, db);
		return EXIT_INVALID_CONFIG;
	}
	if (as_json) {
		json_t *doc = trend_json(test, runs, n);
		char *s = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
		if (s)
			puts(s);
		free(s);
		json_decref(doc);
	} else {
		trend_text(test, runs, n);
	}
	if (html) {
		struct buf b = { 0 };
		trend_html(&b, test, runs, n);
		if (outfile_write(html, b.p, b.len, err, sizeof(err)) < 0) {
			fprintf(stderr, "stampede history trend: --out html=%s: %s\n", html, err);
			ex = EXIT_OUTPUT_FAILED;
		} else if (strcmp(html, "-")) {
			fprintf(stderr, "stampede history trend: wrote %s\n", html);
		}
		buf_free(&b);
	}
	history_runs_free(runs, n);
	return ex;
}

/* --- gate ---------------------------------------------------------------------------- */

/* The change points of the test's p95 over its last runs (and the result's, when it is
 * not in the history yet): {runs, test, series: [{id, p95Ms}], changePoints: [{run, id,
 * before, after, shift, p}], baselineRun, flagged, summary}. *flagged: the newest change
 * point came after the baseline run and moved p95 up by min_shift or more. */
static json_t *history_part(const struct history_run *runs, int n, const struct result *r,
                            double p95_now, int64_t baseline_id, double min_shift, bool *flagged)
{
	*flagged = false;
	/* the result's own run when it is in the history: the series ends there (a later
	 * run is not its history), and it is not added twice */
	bool in_history = false;
	for (int i = n - 1; i >= 0 && !in_history; i--)
		if (runs[i].started_at_us == r->start_wall_us)
			in_history = true, n = i + 1;
	double *y = xcalloc((size_t)n + 1, sizeof(double));
	int64_t *ids = xcalloc((size_t)n + 1, sizeof(int64_t));
	int k = 0;
	for (int i = 0; i < n; i++)
		if (isfinite(runs[i].p95_ms))
			y[k] = runs[i].p95_ms, ids[k++] = runs[i].id;
	if (!in_history && isfinite(p95_now))
		y[k] = p95_now, ids[k++] = 0; /* 0: this result, not in the history */
	json_t *j = json_object(), *pts = json_array(), *ser = json_array();
	for (int i = 0; i < k; i++)
		json_array_append_new(ser, json_pack("{s:o, s:o}", "id",
		                                     ids[i] ? json_integer(ids[i]) : json_null(),
		                                     "p95Ms", num(y[i])));
	json_object_set_new(j, "series", ser);
	char s[512];
	int base_at = -1;
	for (int i = 0; i < k; i++)
		if (baseline_id > 0 && ids[i] == baseline_id)
			base_at = i;
	struct cp_point cp[CP_MAX_POINTS];
	int ncp = 0;
	if (k >= 2 * CP_MIN_SIZE) {
		struct cp_opts o = { CP_ALPHA, CP_PERMUTATIONS, CP_MIN_SIZE, 1.0, CP_SEED };
		ncp = cp_detect(y, MIN(k, CP_MAX_N), &o, cp);
		if (ncp < 0)
			ncp = 0;
	}
	for (int i = 0; i < ncp; i++)
		json_array_append_new(
		    pts, json_pack("{s:i, s:o, s:o, s:o, s:o, s:o}", "run", cp[i].index + 1, "id",
		                   ids[cp[i].index] ? json_integer(ids[cp[i].index]) : json_null(),
		                   "before", num(cp[i].before), "after", num(cp[i].after), "shift",
		                   num(cp[i].after / cp[i].before - 1), "p", num(cp[i].p)));
	json_object_set_new(j, "changePoints", pts);
	json_object_set_new(j, "runs", json_integer(k));
	json_object_set_new(j, "baselineRun",
	                    base_at >= 0 ? json_integer(base_at + 1) : json_null());
	if (k < 2 * CP_MIN_SIZE) {
		snprintf(s, sizeof(s),
		         "History: %d run%s with a p95: too few to look for a change point (%d at "
		         "least).",
		         k, k == 1 ? "" : "s", 2 * CP_MIN_SIZE);
	} else if (ncp == 0) {
		snprintf(s, sizeof(s), "History: no change point in the p95 of the last %d runs.",
		         k);
	} else {
		const struct cp_point *c = &cp[ncp - 1];
		double shift = c->after / c->before - 1;
		char who[48];
		if (ids[c->index])
			snprintf(who, sizeof(who), "run id %lld", (long long)ids[c->index]);
		else
			snprintf(who, sizeof(who), "this result");
		/* flagged: a rise that counts, after the baseline run, or recent (its new level
		 * has lasted at most GATE_RECENT_RUNS runs: a baseline that moves with every
		 * passing run would otherwise absorb a creep before it can be seen) */
		int age = k - c->index;
		bool worse = shift >= min_shift, after_base = c->index > base_at,
		     recent = age <= GATE_RECENT_RUNS;
		*flagged = worse && (after_base || recent);
		char why[160];
		if (*flagged && after_base)
			snprintf(why, sizeof(why),
			         ": a change for the worse since the baseline: flagged.");
		else if (*flagged)
			snprintf(
			    why, sizeof(why),
			    ": a change for the worse %d run%s ago: flagged (until its level has "
			    "lasted %d runs, or a baseline is set before it).",
			    age, age == 1 ? "" : "s", GATE_RECENT_RUNS + 1);
		else if (shift < 0)
			snprintf(why, sizeof(why), ": for the better.");
		else if (!worse)
			snprintf(why, sizeof(why), ": below the shift that counts (%.0f%%).",
			         min_shift * 100);
		else
			snprintf(
			    why, sizeof(why),
			    ": before the baseline run and %d runs ago, so the baseline has it "
			    "already.",
			    age);
		snprintf(s, sizeof(s),
		         "History: p95 changed at the %d%s of the last %d runs (%s): %.*f ms -> "
		         "%.*f ms (%+.0f%%, p = %.3f)%s",
		         c->index + 1,
		         (c->index + 1) % 10 == 1 && (c->index + 1) % 100 != 11   ? "st"
		         : (c->index + 1) % 10 == 2 && (c->index + 1) % 100 != 12 ? "nd"
		         : (c->index + 1) % 10 == 3 && (c->index + 1) % 100 != 13 ? "rd"
		                                                                  : "th",
		         k, who, DIGITS(c->before), c->before, DIGITS(c->after), c->after,
		         shift * 100, c->p, why);
	}
	json_object_set_new(j, "flagged", json_boolean(*flagged));
	json_object_set_new(j, "summary", json_string(s));
	free(y);
	free(ids);
	return j;
}

static double p95_of(const struct result *r)
{
	int m = result_find_metric(r, "http_req_duration");
	struct result_values v;
	double out = NAN;
	if (m < 0 || !result_combine(r, m, NULL, 0, &v)) {
		if (m >= 0)
			result_values_free(&v);
		return NAN;
	}
	if (!result_stat(&v, r->metrics[m].unit, "p(95)", r->duration_s, &out))
		out = NAN;
	result_values_free(&v);
	return out;
}

int history_gate_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		COMPARE_CLI_OPTIONS,
		{ "db", required_argument, NULL, OPT_DB },
		{ "last", required_argument, NULL, OPT_LAST },
		{ "min-shift", required_argument, NULL, OPT_MIN_SHIFT },
		{ "require-baseline", no_argument, NULL, OPT_REQUIRE_BASELINE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct compare_cli cc;
	struct hist_flags hf = { 0 };
	int64_t last = GATE_LAST_DEFAULT;
	double min_shift = GATE_MIN_SHIFT;
	bool require_baseline = false;
	char err[1024], warn[512] = "";
	int c;
	compare_cli_init(&cc, "history gate");
	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":hq", opts, NULL)) != -1) {
		int r = compare_cli_flag(&cc, c, optarg);
		if (r < 0)
			return EXIT_INVALID_CONFIG;
		if (r == 0)
			continue;
		int x = hist_flag("gate", c, optarg, &hf);
		if (x != HIST_NEXT && x != HIST_NOT_MINE)
			return x;
		switch (x == HIST_NEXT ? 0 : c) {
		case 0:
			break;
		case OPT_LAST:
			if (parse_int64(optarg, 2 * CP_MIN_SIZE, CP_MAX_N, &last) < 0)
				return cli_bad_value("--last", optarg, "expected 6 to 1024"),
				       EXIT_INVALID_CONFIG;
			break;
		case OPT_MIN_SHIFT: {
			char *end;
			double v = strtod(optarg, &end);
			if (end == optarg || strcmp(end, "%") || !(v > 0) || v > 1000)
				return cli_bad_value("--min-shift", optarg,
				                     "a percentage above 0, e.g. 10%"),
				       EXIT_INVALID_CONFIG;
			min_shift = v / 100;
			break;
		}
		case OPT_REQUIRE_BASELINE:
			require_baseline = true;
			break;
		default:
			cli_opt_report("history");
			return EXIT_INVALID_CONFIG;
		}
	}
	const char *db = hf.db ? hf.db : hist_default_db();
	if (hist_operands("gate", argc, argv, 1, "the result file (RESULT.json)") < 0)
		return EXIT_INVALID_CONFIG;
	const char *const inputs[] = { argv[optind], db };
	if (compare_cli_check(&cc, inputs, 2) < 0)
		return EXIT_INVALID_CONFIG;
	struct result *r = result_load(argv[optind], err, sizeof(err));
	if (!r) {
		fprintf(stderr, "stampede history gate: %s\n", err);
		return EXIT_INVALID_CONFIG;
	}
	char test[HISTORY_HASH_LEN + 1];
	if (history_meta_test_hash(r, test, warn, sizeof(warn)) < 0) {
		result_free(r);
		fprintf(stderr, "stampede history gate: cannot compute the test hash\n");
		return EXIT_FAILURE_GENERIC;
	}
	if (*warn) { /* the test's hash would not be the history's: gating nothing passes */
		fprintf(stderr,
		        "stampede history gate: %s: which test this is cannot be told from here; "
		        "run the gate where the script's path resolves\n",
		        warn);
		result_free(r);
		return EXIT_INVALID_CONFIG;
	}
	struct history *h;
	int ex = hist_open_db("gate", db, false, &h);
	if (ex) {
		result_free(r);
		return ex;
	}
	struct history_baseline bl = { .run_id = 0 };
	struct result *base = NULL;
	int rc = history_baseline_get(h, test, &bl, err, sizeof(err));
	if (rc == 0)
		rc = history_load_result(h, bl.run_id, &base, err, sizeof(err));
	if (rc < 0 && rc != -ENOENT) {
		ex = hist_fail("gate", rc, err);
		goto out;
	}
	if (!base && require_baseline) {
		fprintf(stderr,
		        "stampede history gate: %s: no baseline for test %s (set one: stampede "
		        "history baseline set RUN)\n",
		        db, test);
		ex = EXIT_INVALID_CONFIG;
		goto out;
	}
	json_t *doc = NULL;
	if (base) {
		doc = compare_runs(base, r, &cc.co, err, sizeof(err));
		if (!doc) {
			fprintf(stderr,
			        "stampede history gate: cannot compare with the baseline (run "
			        "%lld): %s\n",
			        (long long)bl.run_id, err);
			ex = EXIT_INVALID_CONFIG;
			goto out;
		}
		json_object_set_new(json_object_get(doc, "baseline"), "run",
		                    json_integer(bl.run_id));
		json_object_set_new(json_object_get(doc, "current"), "file",
		                    json_string(argv[optind]));
	}
	struct history_run *runs = NULL;
	int n = 0;
	if ((ex = runs_of("gate", h, test, NULL, (int)last, &runs, &n))) {
		json_decref(doc);
		goto out;
	}
	bool flagged;
	json_t *hist = history_part(runs, n, r, p95_of(r), bl.run_id, min_shift, &flagged);
	history_runs_free(runs, n);
	json_object_set_new(hist, "test", json_string(test));
	if (doc) {
		json_object_set_new(doc, "history", hist);
		if (flagged && json_integer_value(json_object_get(doc, "regressions")) == 0)
			json_object_set_new(doc, "verdict", json_string("change point"));
		ex = compare_cli_emit(&cc, doc, base, r) < 0 ? EXIT_OUTPUT_FAILED : EXIT_OK;
	} else {
		printf("No baseline for test %s yet: nothing to compare with (set one: stampede "
		       "history baseline set RUN).\n",
		       test);
		doc = json_pack("{s:s, s:O}", "verdict", "no baseline", "history", hist);
		json_decref(hist);
		hist = json_object_get(doc, "history");
		for (int i = 0; i < cc.nouts; i++)
			if (strcmp(cc.outs[i].format, "json"))
				fprintf(stderr,
				        "stampede history gate: --out %s=%s: not written (no "
				        "baseline to "
				        "compare with)\n",
				        cc.outs[i].format, cc.outs[i].path);
			else {
				char *s = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(15));
				if (outfile_write(cc.outs[i].path, s, strlen(s), err, sizeof(err)) <
				    0) {
					fprintf(stderr,
					        "stampede history gate: --out json=%s: %s\n",
					        cc.outs[i].path, err);
					ex = EXIT_OUTPUT_FAILED;
				}
				free(s);
			}
	}
	if (!cc.quiet)
		printf("%s\n", json_string_value(json_object_get(hist, "summary")));
	if (json_integer_value(json_object_get(doc, "regressions")) > 0)
		ex = EXIT_REGRESSION;
	else if (flagged)
		ex = EXIT_CHANGE_POINT;
	json_decref(doc);
out:
	result_free(base);
	result_free(r);
	history_close(h);
	return ex;
}
