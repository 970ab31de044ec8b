/* compare_report.h: the outputs of `stampede compare` (issue #13): a terminal table,
 * Markdown, JUnit XML and a self-contained HTML page of a comparison. */
/*
 * Each reads the comparison document that analysis/compare.h's compare_runs() returns
 * (docs/compare.md): {baseline, current: {start, durationS, version, source, scenarios,
 * fromS, toS}, window (optional: {baselineFromS, baselineToS, currentFromS, currentToS},
 * preferred to the runs' fromS/toS), alpha, limits: [{kind, stat, limit, text}], rows:
 * [{metric, stat, endpoint, unit, kind, baseline, current, change, ratio, ciLow, ciHigh, p,
 * intervals, limit, verdict, why}], onlyInBaseline, onlyInCurrent, verdict, regressions,
 * improvements, inconclusive, summary}. Missing or null fields are shown as "–" (or left
 * out); nothing here recomputes a verdict. Strings from the document (endpoints, sources,
 * reasons) are escaped for the format, with invalid UTF-8 and control characters replaced.
 */
#ifndef STAMPEDE_COMPARE_REPORT_H
#define STAMPEDE_COMPARE_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "result/result.h"
#include "util/buf.h"

/* Print the comparison as a table on f: a header with the two runs (start, source, span
 * compared), a line per row (what, endpoint, baseline, current, change in % or points,
 * the ratio's 95% interval, p, verdict), the summary sentence and the endpoints found in
 * one run only. With color, verdicts are coloured (regression red, improvement green,
 * inconclusive yellow). Control characters in names are printed as '?'. Returns 0, or
 * -EIO when f reports a write error. */
int compare_text(FILE *f, const json_t *doc, bool color);

/* The comparison as a GitHub-flavoured Markdown document (a pull-request comment,
 * $GITHUB_STEP_SUMMARY): a heading with the verdict (❌ regression, ⚠️ inconclusive,
 * ✅ improvement or no change), the summary, the rows as a table, the endpoints in one
 * run only, and how it was judged (spans, limits, alpha). A new string (free()). */
char *compare_markdown(const json_t *doc);

/* The comparison as JUnit XML (tests/fixtures/junit.xsd): a <testsuites> root holding one
 * <testsuite name="stampede compare"> with the runs and the verdict as properties, and a
 * <testcase> per judged row (one with a limit), named "METRIC STAT" or "METRIC STAT
 * [ENDPOINT]" ("http_req_duration p(95) [GET /a]"). A regression is a <failure
 * type="regression">; an inconclusive row is <skipped> (it is reported, but a CI does not
 * fail on a change the data cannot confirm); no change and improvement pass. A new
 * string (free()). */
char *compare_junit(const json_t *doc);

/* Append the comparison as one self-contained HTML page to b (inline CSS and SVG, no
 * script, no reference outside it; a Content-Security-Policy of default-src 'none'): the
 * verdict badge, the summary, the two runs, the rows, the endpoints in one run only, how
 * it was judged, and the runs' charts overlaid on one time axis (seconds since each
 * run's start; the baseline dashed grey, the current run blue; each run's compared span
 * shaded): p95 latency, throughput, error rate, and the p95 of each endpoint when the
 * rows name several (the first 8). baseline and current are borrowed; either may be NULL
 * (no charts). Returns 0, or -EINVAL (nothing appended) when doc is not a comparison
 * (not an object with rows). */
int compare_html(struct buf *b, const json_t *doc, const struct result *baseline,
                 const struct result *current);

#endif
