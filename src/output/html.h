/* html.h: the self-contained HTML report of a result (--out html=FILE, `stampede report`). */
#ifndef STAMPEDE_HTML_H
#define STAMPEDE_HTML_H

#include <stddef.h>

#include "result/result.h"
#include "util/buf.h"

/* Append the HTML report of r to out: one document with inline CSS and inline SVG charts,
 * no script and no reference to anything outside it (a Content-Security-Policy of
 * default-src 'none' says so to the browser too). Every string from the result (tags,
 * names, messages, options) is escaped (escape_xml: valid in HTML too); invalid UTF-8,
 * control characters and bidirectional overrides become U+FFFD; each is cut after 300
 * characters (an error message after 2000) with an ellipsis and its full length, so the
 * report's size grows with its rows, not with the length of what a file names. Counts
 * that cannot be (negative) show as "n/a". */
void html_report_render(const struct result *r, struct buf *out);

/* Render the report of r and write it to path through outfile_write (atomically for a
 * regular file; "-" is stdout). Returns 0, or a negative errno with "cannot write 'PATH':
 * REASON" in err. */
int html_report_write(const struct result *r, const char *path, char *err, size_t errlen);

/* The report's stylesheet (what its <style> holds, SVGCHART_CSS included), for pages that
 * look the same (the assessment report, output/assess_report.h). */
extern const char html_report_style[];

/* Base64 of the file at path when it is an SVG image (it holds "<svg" and the SVG
 * namespace, as a flame graph of profile/flamegraph.c does) of at most max bytes: a new
 * string (free()) for an <img src="data:image/svg+xml;base64,...">, or NULL (unreadable,
 * empty, not SVG, or larger than max). */
char *html_svg_base64(const char *path, size_t max);

#endif
