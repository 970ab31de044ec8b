/* markdown.c: --out markdown=FILE, the summary as a GitHub step summary. */
/*
 * GitHub-flavoured Markdown (GFM tables), written at the end of the run, meant for
 * `--out markdown=$GITHUB_STEP_SUMMARY`: a verdict line, the thresholds with ✅/❌, the key
 * HTTP numbers, the checks and the errors by kind. Names that come from scripts and
 * servers are escaped (util/escape.h) so that they cannot break a table or add markup.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"
#include "util/buf.h"
#include "util/common.h"
#include "util/escape.h"
#include "util/outfile.h"

#define PASS "✅"
#define FAIL "❌"

/* A time in ms, with a unit that keeps three significant digits readable. */
static void add_ms(struct buf *b, double ms)
{
	if (!isfinite(ms))
		buf_addstr(b, "–");
	else if (ms >= 1000)
		buf_printf(b, "%.2f s", ms / 1000);
	else if (ms >= 1)
		buf_printf(b, "%.2f ms", ms);
	else
		buf_printf(b, "%.0f µs", ms * 1000);
}

static bool metric_stat(const struct result *r, const char *metric, const char *stat, double *out)
{
	struct result_values v;
	int m = result_find_metric(r, metric);
	if (m < 0)
		return false;
	result_combine(r, m, NULL, 0, &v);
	bool ok = result_stat(&v, r->metrics[m].unit, stat, r->duration_s, out);
	result_values_free(&v);
	return ok;
}

static void verdict(struct buf *b, const struct result *r)
{
	int failed = result_thresholds_failed(r);
	const char *icon = failed || r->aborted ? FAIL : r->interrupted ? "⚠️" : PASS;
	buf_printf(b, "## %s stampede: ", icon);
	if (r->aborted) {
		buf_addstr(b, "aborted");
		if (r->abort_reason) {
			buf_addstr(b, " (");
			escape_markdown(b, r->abort_reason);
			buf_addstr(b, ")");
		}
	} else if (failed) {
		buf_printf(b, "%d of %d thresholds failed", failed, r->nthresholds);
	} else if (r->interrupted) {
		buf_addstr(b, "interrupted");
	} else {
		buf_addstr(b, r->nthresholds ? "all thresholds passed" : "passed (no thresholds)");
	}
	buf_printf(b, "\n\nDuration %.1f s", r->duration_s);
	if (r->version)
		buf_printf(b, " · stampede %s", r->version);
	buf_addstr(b, "\n\n");
}

static void thresholds(struct buf *b, const struct result *r)
{
	if (!r->nthresholds)
		return;
	buf_addstr(b, "### Thresholds\n\n|  | Metric | Threshold | Value |\n|---|---|---|---|\n");
	for (int i = 0; i < r->nthresholds; i++) {
		const struct result_threshold *t = &r->thresholds[i];
		buf_printf(b, "| %s | ", t->ok ? PASS : FAIL);
		escape_markdown(b, t->selector);
		buf_addstr(b, " | ");
		escape_markdown(b, t->expr);
		buf_addstr(b, " | ");
		if (isnan(t->value))
			buf_addstr(b, "no data");
		else {
			escape_markdown(b, t->stat);
			buf_printf(b, " = %g", t->value);
		}
		buf_addstr(b, " |\n");
	}
	buf_addstr(b, "\n");
}

static void key_metrics(struct buf *b, const struct result *r)
{
	static const char *const stats[] = { "avg", "p(90)", "p(95)", "p(99)" };
	double v, reqs = 0, rate = 0, failed = 0, frate = 0;
	if (!metric_stat(r, "http_reqs", "count", &reqs))
		return;
	metric_stat(r, "http_reqs", "rate", &rate);
	metric_stat(r, "http_req_failed", "passes", &failed);
	metric_stat(r, "http_req_failed", "rate", &frate);
	buf_addstr(b, "### HTTP\n\n| Requests | Rate | Failed | avg | p(90) | p(95) | p(99) |\n"
	              "|---:|---:|---:|---:|---:|---:|---:|\n");
	buf_printf(b, "| %.0f | %.1f/s | %.0f (%.2f%%) |", reqs, rate, failed, frate * 100);
	for (size_t i = 0; i < ARRAY_SIZE(stats); i++) {
		buf_add(b, " ", 1);
		add_ms(b, metric_stat(r, "http_req_duration", stats[i], &v) ? v : NAN);
		buf_addstr(b, " |");
	}
	buf_addstr(b, "\n\n");
}

static void checks(struct buf *b, const struct result *r)
{
	if (!r->nchecks)
		return;
	buf_addstr(b, "### Checks\n\n|  | Check | Passes | Fails |\n|---|---|---:|---:|\n");
	for (int i = 0; i < r->nchecks; i++) {
		const struct result_check *c = &r->checks[i];
		buf_printf(b, "| %s | ", c->fails ? FAIL : PASS);
		for (const char *g = c->group; *g;) { /* "::a::b" as "a › b › " */
			const char *end = strstr(g + 2, "::");
			size_t n = end ? (size_t)(end - g - 2) : strlen(g + 2);
			char *part = xstrndup(g + 2, n);
			escape_markdown(b, part);
			buf_addstr(b, " › ");
			free(part);
			g += 2 + n;
		}
		escape_markdown(b, c->name);
		buf_printf(b, " | %lld | %lld |\n", (long long)c->passes, (long long)c->fails);
	}
	buf_addstr(b, "\n");
}

static void errors(struct buf *b, const struct result *r)
{
	if (!r->nerrors && !r->nscript_errors)
		return;
	buf_addstr(b, "### Errors\n\n| Kind | Code | Count | Description |\n|---|---:|---:|---|\n");
	for (int i = 0; i < r->nerrors; i++) {
		const struct result_error *e = &r->errors[i];
		buf_addstr(b, "| ");
		escape_markdown(b, e->kind);
		buf_printf(b, " | %d | %lld | ", e->code, (long long)e->count);
		escape_markdown(b, e->description);
		buf_addstr(b, " |\n");
	}
	for (int i = 0; i < r->nscript_errors; i++) {
		buf_printf(b, "| script\\_error |  | %lld | ",
		           (long long)r->script_errors[i].count);
		escape_markdown(b, r->script_errors[i].message);
		buf_addstr(b, " |\n");
	}
	buf_addstr(b, "\n");
}

static int md_open(struct output *o, char *err, size_t errlen)
{
	return outfile_check(*o->arg ? o->arg : "-", err, errlen);
}

static int md_finish(struct output *o, const struct result *r, char *err, size_t errlen)
{
	struct buf b = { 0 };
	verdict(&b, r);
	thresholds(&b, r);
	key_metrics(&b, r);
	checks(&b, r);
	errors(&b, r);
	int rc = outfile_write(*o->arg ? o->arg : "-", b.p, b.len, err, errlen);
	buf_free(&b);
	return rc;
}

const struct output_ops output_markdown = {
	.name = "markdown",
	.open = md_open,
	.finish = md_finish,
};
