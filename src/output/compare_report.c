/* compare_report.c: a comparison as a terminal table, Markdown, JUnit XML and HTML. */
#include "output/compare_report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/svgchart.h"
#include "util/common.h"
#include "util/escape.h"

#define TEXT_NAME_MAX    48  /* bytes of an endpoint shown in the terminal table */
#define HTML_NAME_MAX    300 /* characters of a name shown in the page */
#define HTML_MESSAGE_MAX 2000
#define EP_CHARTS_MAX    8 /* per-endpoint charts at most */
#define EP_POINTS_MAX    (1 << 20)

#define BASE_COLOR "#9ca3af" /* the baseline: dashed grey */
#define CUR_COLOR  "#2563eb" /* the current run: blue */

/* --- reading the document --------------------------------------------------------- */

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static double num(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static bool is(const json_t *row, const char *verdict)
{
	const char *v = str(row, "verdict");
	return v && !strcmp(v, verdict);
}

/* A row is judged when it has a limit (the others are shown, not judged). */
static bool judged(const json_t *row)
{
	return json_is_string(json_object_get(row, "limit"));
}

/* Each run's compared span: window.{baseline,current}{From,To}S, else the run's fromS/toS. */
static void span(const json_t *doc, bool current, double *from, double *to)
{
	const json_t *w = json_object_get(doc, "window");
	*from = num(w, current ? "currentFromS" : "baselineFromS");
	*to = num(w, current ? "currentToS" : "baselineToS");
	if (!isfinite(*from) || !isfinite(*to)) {
		const json_t *run = json_object_get(doc, current ? "current" : "baseline");
		*from = num(run, "fromS");
		*to = num(run, "toS");
	}
}

/* What a row measures, for people: "p(95) latency", "throughput", "error rate". */
static void row_what(const json_t *row, char *s, size_t len)
{
	const char *kind = str(row, "kind") ?: "", *stat = str(row, "stat") ?: "?";
	if (!strcmp(kind, "throughput"))
		snprintf(s, len, "throughput");
	else if (!strcmp(kind, "errors"))
		snprintf(s, len, "error rate");
	else
		snprintf(s, len, "%s latency", stat);
}

/* A value in the row's unit: ms (as µs, ms or s), req/s, %. */
static char *fmt_value(double v, const char *unit, char *s, size_t len)
{
	unit = unit ? unit : "";
	if (!isfinite(v))
		snprintf(s, len, "–");
	else if (!strcmp(unit, "ms") && fabs(v) >= 1000)
		snprintf(s, len, "%.2f s", v / 1000);
	else if (!strcmp(unit, "ms") && fabs(v) >= 1)
		snprintf(s, len, "%.2f ms", v);
	else if (!strcmp(unit, "ms"))
		snprintf(s, len, "%.0f µs", v * 1000);
	else if (!strcmp(unit, "%"))
		snprintf(s, len, "%.2f%%", v);
	else
		snprintf(s, len, "%.1f %s", v, unit);
	return s;
}

/* The change: points for an error rate (change is in points already), else a percentage. */
static char *fmt_change(const json_t *row, char *s, size_t len)
{
	double ch = num(row, "change");
	const char *unit = str(row, "unit");
	if (!isfinite(ch))
		snprintf(s, len, "–");
	else if (unit && !strcmp(unit, "%"))
		snprintf(s, len, "%+.2f pp", ch);
	else
		snprintf(s, len, "%+.1f%%", ch * 100);
	return s;
}

static char *fmt_ci(const json_t *row, char *s, size_t len)
{
	double lo = num(row, "ciLow"), hi = num(row, "ciHigh");
	if (isfinite(lo) && isfinite(hi))
		snprintf(s, len, "%.2f–%.2f", lo, hi);
	else
		snprintf(s, len, "–");
	return s;
}

static char *fmt_p(const json_t *row, char *s, size_t len)
{
	double p = num(row, "p");
	if (!isfinite(p))
		snprintf(s, len, "–");
	else if (p < 0.001)
		snprintf(s, len, "<0.001");
	else
		snprintf(s, len, "%.3f", p);
	return s;
}

static char *fmt_span(const json_t *doc, bool current, char *s, size_t len)
{
	double from, to;
	span(doc, current, &from, &to);
	double dur = num(json_object_get(doc, current ? "current" : "baseline"), "durationS");
	if (isfinite(from) && isfinite(to))
		snprintf(s, len, "%.1f–%.1f s of %.1f s", from, to, dur);
	else
		snprintf(s, len, "%.1f s", dur);
	return s;
}

/* The limits as one line: "p(95) +20%, p(99) +30%, throughput -10%, errors +0.5pp". */
static void limits_line(struct buf *b, const json_t *doc, void (*put)(struct buf *, const char *))
{
	size_t i;
	const json_t *l;
	json_array_foreach(json_object_get(doc, "limits"), i, l)
	{
		const char *kind = str(l, "kind") ?: "";
		buf_addstr(b, i ? ", " : "");
		put(b, !strcmp(kind, "latency") ? str(l, "stat") ?: "?" : kind);
		buf_addstr(b, " ");
		put(b, str(l, "text") ?: "?");
	}
	if (i == 0)
		buf_addstr(b, "none");
}

/* --- the terminal ----------------------------------------------------------------- */

/* s for a terminal: control characters (an escape sequence in a name) as '?', invalid
 * UTF-8 as '?', cut after max bytes with "…". */
static void term_text(struct buf *b, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t used = 0;
	while (*p) {
		int n = utf8_seq_len(p);
		if (used + (n ? n : 1) > max) {
			buf_addstr(b, "…");
			return;
		}
		if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)) ||
		    (n == 2 && p[0] == 0xc2 && p[1] < 0xa0))
			buf_addstr(b, "?");
		else
			buf_add(b, p, (size_t)n);
		used += n ? n : 1;
		p += n ? n : 1;
	}
}

static void term_put(struct buf *b, const char *s)
{
	term_text(b, s, 200);
}

/* Columns of text padded to w display columns (UTF-8 characters counted once). */
static void pad(struct buf *b, const char *s, int w)
{
	int cols = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		cols += (*p & 0xc0) != 0x80;
	buf_addstr(b, s);
	for (; cols < w; cols++)
		buf_add(b, " ", 1);
}

static const char *verdict_color(const char *v)
{
	return !strcmp(v, "regression")     ? "\033[31m"
	       : !strcmp(v, "improvement")  ? "\033[32m"
	       : !strcmp(v, "inconclusive") ? "\033[33m"
	                                    : "";
}

static void text_run(struct buf *b, const json_t *doc, bool current)
{
	const json_t *run = json_object_get(doc, current ? "current" : "baseline");
	char sp[96];
	buf_addstr(b, current ? "current:  " : "baseline: ");
	term_put(b, str(run, "start") ?: "?");
	buf_addstr(b, "  ");
	term_put(b, str(run, "source") ?: "(unknown source)");
	buf_printf(b, "  (%s)\n", fmt_span(doc, current, sp, sizeof(sp)));
}

static void text_row(struct buf *b, const json_t *row, bool color)
{
	char what[64], x[40], y[40], ch[40], ci[48], p[24];
	struct buf ep = { 0 };
	const char *unit = str(row, "unit"), *v = str(row, "verdict") ?: "?";
	row_what(row, what, sizeof(what));
	term_text(&ep, str(row, "endpoint") ?: "(all)", TEXT_NAME_MAX);
	buf_addstr(b, "  ");
	pad(b, what, 16);
	pad(b, ep.p ? ep.p : "", 24);
	pad(b, fmt_value(num(row, "baseline"), unit, x, sizeof(x)), 14);
	pad(b, fmt_value(num(row, "current"), unit, y, sizeof(y)), 14);
	pad(b, fmt_change(row, ch, sizeof(ch)), 10);
	pad(b, fmt_ci(row, ci, sizeof(ci)), 12);
	pad(b, fmt_p(row, p, sizeof(p)), 8);
	const char *c = color ? verdict_color(v) : "";
	buf_printf(b, "%s%s%s\n", c, v, *c ? "\033[0m" : "");
	buf_free(&ep);
}

static void text_only(struct buf *b, const json_t *doc, const char *key, const char *title)
{
	size_t i;
	const json_t *e;
	if (!json_array_size(json_object_get(doc, key)))
		return;
	buf_printf(b, "%s: ", title);
	json_array_foreach(json_object_get(doc, key), i, e)
	{
		buf_addstr(b, i ? ", " : "");
		term_text(b, json_string_value(e), TEXT_NAME_MAX);
	}
	buf_addstr(b, "\n");
}

int compare_text(FILE *f, const json_t *doc, bool color)
{
	struct buf b = { 0 };
	size_t i;
	const json_t *row;
	buf_addstr(&b, "\n");
	text_run(&b, doc, false);
	text_run(&b, doc, true);
	buf_addstr(&b, "\n  ");
	static const struct {
		const char *h;
		int w;
	} cols[] = { { "what", 16 },   { "endpoint", 24 }, { "baseline", 14 }, { "current", 14 },
		     { "change", 10 }, { "95% CI", 12 },   { "p", 8 },         { "verdict", 0 } };
	for (size_t k = 0; k < ARRAY_SIZE(cols); k++)
		pad(&b, cols[k].h, cols[k].w);
	buf_addstr(&b, "\n");
	json_array_foreach(json_object_get(doc, "rows"), i, row) text_row(&b, row, color);
	buf_addstr(&b, "\n");
	/* why each judged row that is not "no change" got its verdict */
	json_array_foreach(json_object_get(doc, "rows"), i, row)
	{
		const char *v = str(row, "verdict") ?: "";
		if (strcmp(v, "regression") && strcmp(v, "inconclusive") &&
		    strcmp(v, "improvement"))
			continue;
		char what[64];
		row_what(row, what, sizeof(what));
		buf_printf(&b, "  %s", what);
		if (str(row, "endpoint")) {
			buf_addstr(&b, " on ");
			term_text(&b, str(row, "endpoint"), TEXT_NAME_MAX);
		}
		buf_addstr(&b, ": ");
		term_text(&b, str(row, "why") ?: "", 400);
		buf_addstr(&b, "\n");
	}
	const char *v = str(doc, "verdict") ?: "?";
	const char *c = color ? verdict_color(v) : "";
	buf_addstr(&b, c); /* the summary opens with the verdict */
	term_text(&b, str(doc, "summary") ?: "", 1000);
	buf_addstr(&b, *c ? "\033[0m" : "");
	buf_addstr(&b, "\n");
	text_only(&b, doc, "onlyInBaseline", "only in the baseline");
	text_only(&b, doc, "onlyInCurrent", "only in the current run");
	buf_addstr(&b, "(95% CI: the interval of the ratio current/baseline; p: one-sided, "
	               "towards worse)\n");
	size_t n = fwrite(b.p, 1, b.len, f);
	bool ok = n == b.len && fflush(f) == 0 && !ferror(f);
	buf_free(&b);
	return ok ? 0 : -EIO;
}

/* --- Markdown --------------------------------------------------------------------- */

static const char *md_icon(const char *v)
{
	return !strcmp(v, "regression") || !strcmp(v, "change point") ? "❌"
	       : !strcmp(v, "inconclusive")                           ? "⚠️"
	       : !strcmp(v, "improvement") || !strcmp(v, "no change") ? "✅"
	                                                              : "–";
}

static void md_run(struct buf *b, const json_t *doc, bool current)
{
	const json_t *run = json_object_get(doc, current ? "current" : "baseline");
	char sp[96];
	buf_addstr(b, current ? "**Current run**: " : "**Baseline**: ");
	escape_markdown(b, str(run, "start") ?: "?");
	buf_addstr(b, " · ");
	escape_markdown(b, str(run, "source") ?: "(unknown source)");
	buf_addstr(b, " · compared ");
	escape_markdown(b, fmt_span(doc, current, sp, sizeof(sp)));
	buf_addstr(b, current ? "\n\n" : "  \n");
}

static void md_row(struct buf *b, const json_t *row)
{
	char what[64], x[40], y[40], ch[40], ci[48], p[24];
	const char *unit = str(row, "unit"), *v = str(row, "verdict") ?: "?";
	row_what(row, what, sizeof(what));
	buf_printf(b, "| %s | ", md_icon(v));
	escape_markdown(b, what);
	buf_addstr(b, " | ");
	escape_markdown(b, str(row, "endpoint") ?: "(all)");
	buf_addstr(b, " | ");
	escape_markdown(b, fmt_value(num(row, "baseline"), unit, x, sizeof(x)));
	buf_addstr(b, " | ");
	escape_markdown(b, fmt_value(num(row, "current"), unit, y, sizeof(y)));
	buf_addstr(b, " | ");
	escape_markdown(b, fmt_change(row, ch, sizeof(ch)));
	buf_addstr(b, " | ");
	escape_markdown(b, fmt_ci(row, ci, sizeof(ci)));
	buf_addstr(b, " | ");
	escape_markdown(b, fmt_p(row, p, sizeof(p)));
	buf_addstr(b, " | ");
	escape_markdown(b, str(row, "limit") ?: "–");
	buf_addstr(b, " | ");
	escape_markdown(b, v);
	buf_addstr(b, " |\n");
}

static void md_only(struct buf *b, const json_t *doc, const char *key, const char *title)
{
	size_t i;
	const json_t *e;
	if (!json_array_size(json_object_get(doc, key)))
		return;
	buf_printf(b, "%s: ", title);
	json_array_foreach(json_object_get(doc, key), i, e)
	{
		buf_addstr(b, i ? ", " : "");
		escape_markdown(b, json_string_value(e));
	}
	buf_addstr(b, "\n\n");
}

/* How the verdicts were reached, in words, with the document's spans, limits and alpha. */
static void judged_note(struct buf *b, const json_t *doc, void (*put)(struct buf *, const char *))
{
	char s[96];
	double alpha = num(doc, "alpha");
	put(b, "Each run was cut into per-second intervals over its compared span (baseline ");
	put(b, fmt_span(doc, false, s, sizeof(s)));
	put(b, ", current run ");
	put(b, fmt_span(doc, true, s, sizeof(s)));
	put(b, "). A latency figure is the median of the per-second values, throughput their "
	       "mean, the error rate the span's. A change past its limit (");
	limits_line(b, doc, put);
	snprintf(s, sizeof(s), "%g", isfinite(alpha) ? alpha : 0.05);
	put(b, ") is a regression only when a one-sided Mann-Whitney U test of the intervals "
	       "gives p < ");
	put(b, s);
	put(b, " and the 95% moving-block bootstrap interval of the ratio current/baseline "
	       "lies wholly past half the limit (for the error rate: above 1); past its limit "
	       "without that evidence it is inconclusive. Rows without a limit are shown, not "
	       "judged.");
}

char *compare_markdown(const json_t *doc)
{
	struct buf b = { 0 };
	size_t i;
	const json_t *row;
	const char *v = str(doc, "verdict") ?: "?";
	const json_t *hist = json_object_get(doc, "history"); /* `history gate` */
	buf_printf(&b, "## %s stampede %s: ", md_icon(v), hist ? "history gate" : "compare");
	escape_markdown(&b, v);
	buf_addstr(&b, "\n\n");
	escape_markdown(&b, str(doc, "summary") ?: "");
	buf_addstr(&b, "\n\n");
	if (str(hist, "summary")) {
		escape_markdown(&b, str(hist, "summary")); /* "History: ..." */
		buf_addstr(&b, "\n\n");
	}
	md_run(&b, doc, false);
	md_run(&b, doc, true);
	buf_addstr(&b,
	           "|  | What | Endpoint | Baseline | Current | Change | 95% CI of the ratio | p "
	           "| Limit | Verdict |\n|---|---|---|---:|---:|---:|---:|---:|---|---|\n");
	json_array_foreach(json_object_get(doc, "rows"), i, row) md_row(&b, row);
	buf_addstr(&b, "\n");
	md_only(&b, doc, "onlyInBaseline", "Only in the baseline");
	md_only(&b, doc, "onlyInCurrent", "Only in the current run");
	buf_addstr(&b, "<details><summary>How this was judged</summary>\n\n");
	judged_note(&b, doc, escape_markdown);
	buf_addstr(&b, "\n\n</details>\n");
	return b.p ? b.p : xstrdup("");
}

/* --- JUnit XML -------------------------------------------------------------------- */

static void attr(struct buf *b, const char *name, const char *value)
{
	buf_printf(b, " %s=\"", name);
	escape_xml(b, value);
	buf_addstr(b, "\"");
}

static void property(struct buf *b, const char *name, const char *value)
{
	buf_addstr(b, "      <property");
	attr(b, "name", name);
	attr(b, "value", value ? value : "");
	buf_addstr(b, "/>\n");
}

/* "http_req_duration p(95) [endpoint]" */
static void case_name(struct buf *b, const json_t *row)
{
	buf_printf(b, "%s %s", str(row, "metric") ?: "?", str(row, "stat") ?: "?");
	if (str(row, "endpoint"))
		buf_printf(b, " [%s]", str(row, "endpoint"));
}

/* "p(95) latency 12.00 ms -> 15.00 ms (+25.0%), limit +20%: WHY" */
static void case_message(struct buf *b, const json_t *row)
{
	char what[64], x[40], y[40], ch[40];
	const char *unit = str(row, "unit");
	row_what(row, what, sizeof(what));
	buf_printf(b, "%s %s -> %s (%s), limit %s: %s", what,
	           fmt_value(num(row, "baseline"), unit, x, sizeof(x)),
	           fmt_value(num(row, "current"), unit, y, sizeof(y)),
	           fmt_change(row, ch, sizeof(ch)), str(row, "limit") ?: "none",
	           str(row, "why") ?: "");
}

static void junit_case(struct buf *b, const json_t *row)
{
	struct buf name = { 0 }, msg = { 0 };
	case_name(&name, row);
	case_message(&msg, row);
	buf_addstr(b, "    <testcase");
	attr(b, "classname", "stampede compare");
	attr(b, "name", name.p);
	attr(b, "time", "0");
	if (is(row, "regression")) {
		buf_addstr(b, ">\n      <failure");
		attr(b, "message", msg.p);
		attr(b, "type", "regression");
		buf_addstr(b, ">");
		escape_xml(b, msg.p);
		buf_addstr(b, "</failure>\n    </testcase>\n");
	} else if (is(row, "inconclusive")) {
		buf_addstr(b, ">\n      <skipped");
		attr(b, "message", msg.p);
		buf_addstr(b, "/>\n    </testcase>\n");
	} else {
		buf_addstr(b, "/>\n");
	}
	buf_free(&name);
	buf_free(&msg);
}

static void junit_counts(struct buf *b, int tests, int failures, int skipped)
{
	buf_printf(b, " tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%d\" time=\"0\">\n",
	           tests, failures, skipped);
}

char *compare_junit(const json_t *doc)
{
	struct buf b = { 0 };
	size_t i;
	const json_t *row;
	int tests = 0, failures = 0, skipped = 0;
	const json_t *hist = json_object_get(doc, "history"); /* `history gate` */
	bool flagged = json_is_true(json_object_get(hist, "flagged"));
	json_array_foreach(json_object_get(doc, "rows"), i, row)
	{
		if (!judged(row))
			continue;
		tests++;
		failures += is(row, "regression");
		skipped += is(row, "inconclusive");
	}
	if (hist)
		tests++, failures += flagged;
	buf_addstr(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
	attr(&b, "name", "stampede compare");
	junit_counts(&b, tests, failures, skipped);
	buf_addstr(&b, "  <testsuite");
	attr(&b, "name", "stampede compare");
	junit_counts(&b, tests, failures, skipped);
	buf_addstr(&b, "    <properties>\n");
	property(&b, "verdict", str(doc, "verdict"));
	property(&b, "summary", str(doc, "summary"));
	property(&b, "baseline.start", str(json_object_get(doc, "baseline"), "start"));
	property(&b, "baseline.source", str(json_object_get(doc, "baseline"), "source"));
	property(&b, "current.start", str(json_object_get(doc, "current"), "start"));
	property(&b, "current.source", str(json_object_get(doc, "current"), "source"));
	buf_addstr(&b, "    </properties>\n");
	json_array_foreach(json_object_get(doc, "rows"), i, row)
	{
		if (judged(row))
			junit_case(&b, row);
	}
	if (hist) { /* the gate's change-point check is a test case of its own */
		const char *m = str(hist, "summary") ?: "";
		buf_addstr(&b, "    <testcase");
		attr(&b, "classname", "stampede history gate");
		attr(&b, "name", "change point in the p95 of the history");
		attr(&b, "time", "0");
		if (flagged) {
			buf_addstr(&b, ">\n      <failure");
			attr(&b, "message", m);
			attr(&b, "type", "change point");
			buf_addstr(&b, ">");
			escape_xml(&b, m);
			buf_addstr(&b, "</failure>\n    </testcase>\n");
		} else {
			buf_addstr(&b, "/>\n");
		}
	}
	buf_addstr(&b, "  </testsuite>\n</testsuites>\n");
	return b.p;
}

/* --- HTML ------------------------------------------------------------------------- */

static void put(struct buf *b, const char *s)
{
	buf_addstr(b, s);
}

static void put_name(struct buf *b, const char *s)
{
	svgchart_text(b, s, HTML_NAME_MAX);
}

static void put_message(struct buf *b, const char *s)
{
	svgchart_text(b, s, HTML_MESSAGE_MAX);
}

static const char *badge_class(const char *v)
{
	return !strcmp(v, "regression") || !strcmp(v, "change point") ? "bad"
	       : !strcmp(v, "inconclusive")                           ? "warn"
	       : !strcmp(v, "improvement") || !strcmp(v, "no change") ? "good"
	                                                              : "none";
}

static const char style[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
    "margin:0 auto;max-width:1040px;padding:16px 24px;color:#1f2937;background:#fff}"
    "h1{font-size:22px;margin:8px 0;word-break:break-all}h2{font-size:18px;margin:28px 0 8px;"
    "border-bottom:1px solid #e5e7eb;padding-bottom:4px}"
    ".badge{display:inline-block;padding:3px 10px;border-radius:12px;font-weight:600}"
    ".good{background:#d1fae5;color:#065f46}.bad{background:#fee2e2;color:#991b1b}"
    ".warn{background:#fef3c7;color:#92400e}.none{background:#e5e7eb;color:#374151}"
    ".muted{color:#6b7280}"
    "dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}"
    "dl.kv dt{color:#6b7280}dl.kv dd{margin:0;word-break:break-all}"
    "table{border-collapse:collapse;width:100%;margin:6px 0}th,td{padding:4px 8px;"
    "border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}"
    "th{background:#f9fafb;font-weight:600}td.n{text-align:right;"
    "font-variant-numeric:tabular-nums;white-space:nowrap}td.name{word-break:break-all}"
    "tr.regression td:first-child{border-left:4px solid #dc2626}"
    "tr.improvement td:first-child{border-left:4px solid #059669}"
    "tr.inconclusive td:first-child{border-left:4px solid #d97706}"
    "figure.chart{margin:12px 0 20px}figcaption{font-weight:600;margin-bottom:4px}"
    "svg{width:100%;height:auto;display:block}" SVGCHART_CSS
    "footer{margin:32px 0 8px;color:#9ca3af;font-size:12px}";

static void html_run(struct buf *b, const json_t *doc, bool current)
{
	const json_t *run = json_object_get(doc, current ? "current" : "baseline");
	char s[96];
	put(b, current ? "<dt>current run</dt><dd id=\"current-run\">"
	               : "<dt>baseline</dt><dd id=\"baseline-run\">");
	put_name(b, str(run, "start") ?: "?");
	put(b, " · <code>");
	put_name(b, str(run, "source") ?: "(unknown source)");
	put(b, "</code> · compared ");
	put_name(b, fmt_span(doc, current, s, sizeof(s)));
	if (str(run, "version") && *str(run, "version")) {
		put(b, " · stampede ");
		put_name(b, str(run, "version"));
	}
	put(b, "</dd>");
}

static void html_row(struct buf *b, const json_t *row)
{
	char what[64], x[40], y[40], ch[40], ci[48], p[24];
	const char *unit = str(row, "unit"), *v = str(row, "verdict") ?: "?";
	row_what(row, what, sizeof(what));
	put(b, "<tr class=\"");
	for (const char *q = v; *q; q++) /* "no change" -> one class, no-change */
		buf_add(b, *q == ' ' ? "-" : q, 1);
	put(b, "\"><td>");
	put_name(b, what);
	put(b, "</td><td class=\"name\">");
	put_name(b, str(row, "endpoint") ?: "(all)");
	buf_printf(b, "</td><td class=\"n\">%s</td>",
	           fmt_value(num(row, "baseline"), unit, x, sizeof(x)));
	buf_printf(b, "<td class=\"n\">%s</td>",
	           fmt_value(num(row, "current"), unit, y, sizeof(y)));
	buf_printf(b, "<td class=\"n\">%s</td>", fmt_change(row, ch, sizeof(ch)));
	buf_printf(b, "<td class=\"n\">%s</td><td class=\"n\">", fmt_ci(row, ci, sizeof(ci)));
	put_name(b, fmt_p(row, p, sizeof(p))); /* "<0.001": escaped */
	put(b, "</td><td>");
	put_name(b, str(row, "limit") ?: "–");
	buf_printf(b, "</td><td><span class=\"badge %s\">", badge_class(v));
	put_name(b, v);
	put(b, "</span> <span class=\"muted\">");
	put_message(b, str(row, "why") ?: "");
	put(b, "</span></td></tr>\n");
}

static void html_only(struct buf *b, const json_t *doc, const char *key, const char *title)
{
	size_t i;
	const json_t *e;
	if (!json_array_size(json_object_get(doc, key)))
		return;
	buf_printf(b, "<p id=\"%s\">%s: ", key, title);
	json_array_foreach(json_object_get(doc, key), i, e)
	{
		put(b, i ? ", <code>" : "<code>");
		put_name(b, json_string_value(e));
		put(b, "</code>");
	}
	put(b, "</p>\n");
}

/* --- the charts --- */

/* The http_req_duration points of endpoint in r, every series with name=endpoint merged
 * per step: count summed, each percentile the request-weighted mean of the series' (as
 * the comparison computes an endpoint's per-second figure). out->points is new (free()). */
static bool endpoint_ts(const struct result *r, const char *endpoint, struct result_timeseries *out)
{
	int m = result_find_metric(r, "http_req_duration"), step = 1, last = -1;
	*out = (struct result_timeseries){ 0 };
	for (int i = 0; m >= 0 && i < r->nseries; i++) {
		const struct result_series *s = &r->series[i];
		bool match = false;
		for (int k = 0; s->metric == m && k < s->ntags; k++)
			match |=
			    !strcmp(s->tags[k].key, "name") && !strcmp(s->tags[k].value, endpoint);
		if (!match || s->ts.npoints <= 0)
			continue;
		step = MAX(step, s->ts.step);
		last = MAX(last, s->ts.points[s->ts.npoints - 1].t);
	}
	if (last < 0 || last / step >= EP_POINTS_MAX)
		return false;
	out->step = step;
	out->npoints = last / step + 1;
	out->points = xcalloc((size_t)out->npoints, sizeof(*out->points));
	for (int i = 0; i < out->npoints; i++)
		out->points[i].t = i * step;
	for (int i = 0; i < r->nseries; i++) {
		const struct result_series *s = &r->series[i];
		bool match = false;
		for (int k = 0; s->metric == m && k < s->ntags; k++)
			match |=
			    !strcmp(s->tags[k].key, "name") && !strcmp(s->tags[k].value, endpoint);
		for (int j = 0; match && j < s->ts.npoints; j++) {
			const struct result_point *p = &s->ts.points[j];
			if (p->t < 0 || p->t / step >= out->npoints || !(p->count > 0))
				continue;
			struct result_point *q = &out->points[p->t / step];
			for (int k = 0; k < 5; k++)
				q->v[k] += p->count * p->v[k];
			q->count += p->count;
		}
	}
	for (int i = 0; i < out->npoints; i++)
		for (int k = 0; k < 5 && out->points[i].count > 0; k++)
			out->points[i].v[k] /= out->points[i].count;
	return true;
}

/* Each run's compared span as a band. */
static void spans(struct svgchart *c, const json_t *doc)
{
	double f, t;
	span(doc, false, &f, &t);
	svgchart_band(c, f, t, "baseline's compared span", BASE_COLOR);
	span(doc, true, &f, &t);
	svgchart_band(c, f, t, "current run's compared span", CUR_COLOR);
}

/* A line of each run (the baseline dashed grey, the current run blue) on c, scaled by k. */
static void pair(struct svgchart *c, const struct result *b, const struct result *cur,
                 const struct result_timeseries *tb, const struct result_timeseries *tc,
                 enum svgchart_ts what, int col, double k)
{
	struct svgchart_line *l = svgchart_ts(c, b, tb, what, col, "baseline");
	svgchart_line_color(l, BASE_COLOR);
	svgchart_line_dashed(l, true);
	svgchart_line_scale(l, k);
	l = svgchart_ts(c, cur, tc, what, col, "current run");
	svgchart_line_color(l, CUR_COLOR);
	svgchart_line_scale(l, k);
}

static const struct result_timeseries *metric_ts(const struct result *r, const char *metric)
{
	int m = result_find_metric(r, metric);
	return m < 0 ? NULL : &r->metrics[m].ts;
}

static void chart(struct buf *b, const json_t *doc, const struct result *base,
                  const struct result *cur, const char *id, const char *title, const char *ylabel,
                  const char *metric, enum svgchart_ts what, int col, double k)
{
	struct svgchart *c = svgchart_new(id, title, "seconds since each run's start", ylabel);
	spans(c, doc);
	pair(c, base, cur, metric_ts(base, metric), metric_ts(cur, metric), what, col, k);
	svgchart_render(c, b);
	svgchart_free(c);
}

/* The endpoints the rows name, in their order, without repeats (at most max). */
static int row_endpoints(const json_t *doc, const char **out, int max)
{
	size_t i;
	const json_t *row;
	int n = 0;
	json_array_foreach(json_object_get(doc, "rows"), i, row)
	{
		const char *ep = str(row, "endpoint");
		bool seen = false;
		for (int k = 0; ep && k < n; k++)
			seen |= !strcmp(out[k], ep);
		if (ep && !seen && n < max)
			out[n++] = ep;
	}
	return n;
}

static void endpoint_charts(struct buf *b, const json_t *doc, const struct result *base,
                            const struct result *cur)
{
	const char *eps[EP_CHARTS_MAX];
	int n = row_endpoints(doc, eps, EP_CHARTS_MAX);
	if (n < 2)
		return;
	put(b, "<h3>p95 latency by endpoint</h3>\n");
	for (int i = 0; i < n; i++) {
		struct result_timeseries tb, tc;
		bool hb = endpoint_ts(base, eps[i], &tb), hc = endpoint_ts(cur, eps[i], &tc);
		char id[32];
		struct buf title = { 0 };
		snprintf(id, sizeof(id), "chart-endpoint-%d", i + 1);
		buf_addstr(&title, "p95 latency of ");
		buf_addstr(&title, eps[i]);
		/* the title is escaped by the chart; cap it as a name is capped */
		if (title.len > HTML_NAME_MAX) {
			title.len = HTML_NAME_MAX;
			while (title.len && (title.p[title.len] & 0xc0) == 0x80)
				title.len--;
			title.p[title.len] = '\0';
			buf_addstr(&title, "…");
		}
		struct svgchart *c =
		    svgchart_new(id, title.p, "seconds since each run's start", "milliseconds");
		spans(c, doc);
		pair(c, base, cur, hb ? &tb : NULL, hc ? &tc : NULL, SVGCHART_V, 2, 1);
		svgchart_render(c, b);
		svgchart_free(c);
		buf_free(&title);
		if (hb)
			free(tb.points);
		if (hc)
			free(tc.points);
	}
}

static void html_charts(struct buf *b, const json_t *doc, const struct result *base,
                        const struct result *cur)
{
	put(b, "<section id=\"over-time\"><h2>Over time</h2>\n<p class=\"muted\">Both runs on "
	       "one axis, each from its own start: the baseline dashed grey, the current run "
	       "blue; the shaded bands are the spans compared.</p>\n");
	chart(b, doc, base, cur, "chart-p95", "p95 latency (http_req_duration)", "milliseconds",
	      "http_req_duration", SVGCHART_V, 2, 1);
	chart(b, doc, base, cur, "chart-throughput", "Throughput (http_reqs)",
	      "requests per second", "http_reqs", SVGCHART_PER_SECOND, 0, 1);
	chart(b, doc, base, cur, "chart-errors", "Error rate (http_req_failed)",
	      "% of requests failed", "http_req_failed", SVGCHART_V, 0, 100);
	endpoint_charts(b, doc, base, cur);
	put(b, "</section>\n");
}

int compare_html(struct buf *b, const json_t *doc, const struct result *baseline,
                 const struct result *current)
{
	if (!json_is_object(doc) || !json_is_array(json_object_get(doc, "rows")))
		return -EINVAL;
	size_t i;
	const json_t *row;
	const char *v = str(doc, "verdict") ?: "?";
	const char *src = str(json_object_get(doc, "current"), "source") ?: "(unknown source)";
	put(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	       "style-src 'unsafe-inline'; img-src data:\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	       "<link rel=\"icon\" href=\"data:,\">\n<title>stampede compare: ");
	put_name(b, src);
	buf_printf(
	    b, "</title>\n<style>%s</style></head>\n<body>\n<header><h1>stampede compare: ", style);
	put_name(b, src);
	buf_printf(b,
	           "</h1>\n<p class=\"verdict\"><span class=\"badge %s\" id=\"verdict\" "
	           "data-verdict=\"",
	           badge_class(v));
	put_name(b, v);
	put(b, "\">");
	put_name(b, v);
	put(b, "</span></p>\n<p id=\"summary\">");
	put_message(b, str(doc, "summary") ?: "");
	put(b, "</p>\n");
	const char *hs = str(json_object_get(doc, "history"), "summary"); /* `history gate` */
	if (hs) {
		put(b, "<p id=\"history\">");
		put_message(b, hs); /* "History: ..." */
		put(b, "</p>\n");
	}
	put(b, "<dl class=\"kv\">");
	html_run(b, doc, false);
	html_run(b, doc, true);
	put(b, "</dl>\n</header>\n<main>\n<section id=\"rows\"><h2>Figures</h2>\n<table><thead><tr>"
	       "<th>what</th><th>endpoint</th><th>baseline</th><th>current</th><th>change</th>"
	       "<th>95% CI of the ratio</th><th>p</th><th>limit</th><th>verdict</th></tr></thead>"
	       "<tbody>\n");
	json_array_foreach(json_object_get(doc, "rows"), i, row) html_row(b, row);
	put(b, "</tbody></table>\n");
	html_only(b, doc, "onlyInBaseline", "Only in the baseline");
	html_only(b, doc, "onlyInCurrent", "Only in the current run");
	put(b, "<p class=\"muted\" id=\"how\">");
	judged_note(b, doc, put_name);
	put(b, "</p></section>\n");
	if (baseline && current)
		html_charts(b, doc, baseline, current);
	put(b, "</main>\n<footer>Generated by stampede compare from the two runs' results. "
	       "Self-contained: no script, no external resource.</footer>\n</body></html>\n");
	return 0;
}
