/* assess_report.h: the outputs of `stampede assess` (issue #15, docs/assess.md): the
 * assessment report as one self-contained HTML page, the same in Markdown, and the short
 * summary printed on the terminal at the end. */
/*
 * Each reads an assessment document ("stampede-assessment/1", analysis/assess.h's
 * assess_build(); keys in docs/assess.md) and nothing recomputes it. The caller checks the
 * format first; still, any JSON value gives a sane output (a doc that is not an object, a
 * key of the wrong type or null are parts shown as missing, with a sentence why). Every
 * string from the document or a result (URLs, SLOs, findings, metric and function names) is
 * escaped for its format, sanitized (invalid UTF-8, controls and bidirectional overrides
 * replaced) and cut when absurdly long, so the output's size grows with its rows only.
 */
#ifndef STAMPEDE_ASSESS_REPORT_H
#define STAMPEDE_ASSESS_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "result/result.h"
#include "util/buf.h"

/*
 * Append the HTML assessment report of doc to out: inline CSS (the run report's) and SVG
 * charts, no script, a Content-Security-Policy of default-src 'none' (images: data: only).
 * Sections, each a <section id=...>: summary (the target, R, SLOs, budget, status, and the
 * verdict per test type with a link to each phase's own report), findings, breaking-point,
 * spike, soak, bottleneck, capacity, autoscaling. phases[i] is the loaded result of
 * doc.phases[i] (NULL when not run or unreadable; i < nphases), borrowed: the charts come
 * from them. dir is the assessment's directory: the flame graph doc.profile.svg (a
 * relative path without "..") is read from it and embedded as a data: image; NULL or "" is
 * the current directory. link_base prefixes every relative link (the phases' reports):
 * the path from where the page is written to dir (outfile_link_base), "" or NULL when the
 * page is written in dir.
 */
void assess_html_render(const json_t *doc, struct result *const *phases, int nphases,
                        const char *dir, const char *link_base, struct buf *out);

/* Render the report and write it to path through outfile_write (atomically for a regular
 * file; "-" is stdout). Returns 0, or a negative errno with "cannot write 'PATH': REASON"
 * in err. */
int assess_html_write(const json_t *doc, struct result *const *phases, int nphases, const char *dir,
                      const char *link_base, const char *path, char *err, size_t errlen);

/* The same sections in GitHub-flavoured Markdown (tables, the manifests in YAML code
 * fences, links to the phases' reports, each prefixed with link_base as in
 * assess_html_render; no charts): a new string (free()). */
char *assess_markdown(const json_t *doc, const char *link_base);

/* Print the short summary on f (about 20 to 30 lines): the status line, one row per phase
 * (name, status, verdict, planned and ran seconds), the breaking point, spike recovery,
 * soak stability and leaks, the bottleneck, the capacity, then the findings numbered in
 * order. With color, statuses and impacts are coloured (ANSI). */
void assess_text(FILE *f, const json_t *doc, bool color);

#endif
