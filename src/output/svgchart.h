/* svgchart.h: inline SVG line charts for the HTML pages (the run report, the comparison). */
/*
 * A chart is a <figure> holding an <svg> (viewBox 960x300: grid, ticks, axis labels, the
 * lines as polylines, reference lines, shaded bands) and an HTML legend. Nothing in it
 * refers outside the page; its classes are styled by SVGCHART_CSS, which the page puts in
 * its <style> together with rules for figure.chart, figcaption and svg. The y axis starts
 * at 0; the x axis ends at the chart's xmax (where the run ended), not at the next tick.
 *
 * Life of a chart: svgchart_new(), lines, references and bands added, svgchart_render()
 * once, svgchart_free(). Strings passed in (id, titles, labels, colours) are borrowed and
 * must live until the chart is rendered; the chart owns its lines' points.
 */
#ifndef STAMPEDE_SVGCHART_H
#define STAMPEDE_SVGCHART_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "result/result.h"
#include "util/buf.h"

#define SVGCHART_MAX_LINES 6 /* a chart draws its first 6 lines */
#define SVGCHART_MAX_REFS  8 /* and its first 8 reference lines */

/* The rules for the classes a chart uses (a string literal, for the page's <style>). */
#define SVGCHART_CSS                                                                               \
	"svg text{font-size:12px;fill:#4b5563}svg .axlabel{font-size:13px;fill:#374151}"           \
	"svg .grid{stroke:#eef0f3}svg .axis{stroke:#9ca3af;fill:none}"                             \
	"svg .phase{fill:#f5f7fb}svg .phase.alt{fill:#eceff6}svg "                                 \
	".phlabel{font-size:11px;fill:#6b7280}"                                                    \
	"svg .mark{stroke:#dc2626;stroke-width:1.5;stroke-dasharray:4 3}"                          \
	"svg .line{fill:none;stroke-width:2;stroke-linejoin:round}"                                \
	"svg .ref{stroke-width:1.5;stroke-dasharray:6 4}svg .reflabel{font-size:12px}"             \
	"svg .nodata{font-size:16px;fill:#9ca3af}"                                                 \
	".legend span{margin-right:16px;white-space:nowrap}.legend i{display:inline-block;"        \
	"width:16px;height:3px;vertical-align:middle;margin-right:5px}"                            \
	".legend i.dash{height:0;border-top:2px dashed}"

struct svgchart;
struct svgchart_line;

/* A new empty chart: id is the figure's id attribute (not escaped: the caller's own
 * constant), title its caption (and the SVG's label), xlabel and ylabel the axes' names
 * with their units ("seconds since the start", "milliseconds"). Aborts on out-of-memory. */
struct svgchart *svgchart_new(const char *id, const char *title, const char *xlabel,
                              const char *ylabel);

/* Release c and its lines. Accepts NULL. */
void svgchart_free(struct svgchart *c);

/* The x axis runs from 0 to at least x (seconds): xmax = max(xmax, x). A chart whose xmax
 * stays 0 (or is not finite) gets an axis of 0..1. */
void svgchart_extend_x(struct svgchart *c, double x);

/* Make the x axis HdrHistogram's percentile axis: x is log10(1 / (1 - p)), from 0 to
 * xmax decades, labelled 0%, 90%, 99%, 99.9%... Phases, bands and the mark are not drawn
 * on such a chart. */
void svgchart_percentile_axis(struct svgchart *c, double xmax);

/* Shade the test type's phases (options.testType.phases: [{name, startS, durationS}],
 * borrowed) behind the data: a steady phase shaded, a ramp ("ramp...", "to step...",
 * "raise...") plain, each named at the top when its band has room. NULL: none. */
void svgchart_phases(struct svgchart *c, const json_t *phases);

/* Mark the moment x (s) with a dashed red vertical line and label ("breaking point") at
 * the top. Not finite or <= 0: no mark. label is borrowed. */
void svgchart_mark(struct svgchart *c, double x, const char *label);

/* Shade the span [from, to] (s) with color at low opacity, and name it in the legend with
 * label (a compared span, a window of interest). Up to 4 bands; drawn behind the data. */
void svgchart_band(struct svgchart *c, double from, double to, const char *label,
                   const char *color);

/* A new line on c named label, with room for n points and the next colour of the palette
 * (blue, green, amber, red, violet, cyan). Returns NULL when c has SVGCHART_MAX_LINES. */
struct svgchart_line *svgchart_line(struct svgchart *c, const char *label, int n);

/* Append the point (x, y) to l (at most the n it was made for; more are ignored). A y that
 * is NAN is a gap in the line. Does not move the chart's xmax (svgchart_extend_x). l may
 * be NULL (nothing happens), as may l in the setters below. */
void svgchart_add(struct svgchart_line *l, double x, double y);

/* Draw l in color (a "#rrggbb" constant), or dashed (a baseline, a trend). */
void svgchart_line_color(struct svgchart_line *l, const char *color);
void svgchart_line_dashed(struct svgchart_line *l, bool dashed);

/* Add the dashed line "USL fit": X(N) = λN / (1 + σ(N − 1) + κN(N − 1)) (Gunther's
 * Universal Scalability Law, analysis/usl.h) at 201 points of N from `from` to `to`. */
void svgchart_usl_curve(struct svgchart *c, double sigma, double kappa, double lambda, double from,
                        double to);

/* Draw l as its points only (circles, no line between them): measurements under a fitted
 * curve. */
void svgchart_line_points(struct svgchart_line *l, bool points);

/* Multiply l's y values so far by k (bytes to MB, a machine's % to % of one core). */
void svgchart_line_scale(struct svgchart_line *l, double k);

/* What a line drawn from a time series shows of each point (result.h's struct
 * result_point), per point of `step` seconds. */
enum svgchart_ts {
	SVGCHART_PER_SECOND, /* count per second of the point's span: a counter's rate */
	SVGCHART_FAILED,     /* a rate's non-zero samples per second (v[0] x count / span) */
	SVGCHART_V,          /* v[k]: a trend's percentile (k 0..4), a gauge's value/min/max */
};

/* A line on c of a time series of r (a metric's or a series'): a point per point of ts at
 * the middle of its span (s since r's start), the chart's xmax extended to the span's end.
 * The last point of a run may stand for less than a step; one under a quarter of a step is
 * left out. SVGCHART_V points without samples are gaps. Returns the line, or NULL (ts has
 * no point, or c is full). */
struct svgchart_line *svgchart_ts(struct svgchart *c, const struct result *r,
                                  const struct result_timeseries *ts, enum svgchart_ts what, int k,
                                  const char *label);

/* svgchart_ts() of r's metric called metric (all its series); NULL when r has no such
 * metric or it has no point. */
struct svgchart_line *svgchart_ts_metric(struct svgchart *c, const struct result *r,
                                         const char *metric, enum svgchart_ts what, int k,
                                         const char *label);

/* A horizontal reference line (an objective) at y in color, tagged "SLO n" in the right
 * margin and named "SLO n: label" in the legend; one far above the data (over 5 times its
 * top) is only tagged at the top and named "(above the chart)". Up to SVGCHART_MAX_REFS;
 * label is copied (up to 199 bytes). Labels are shown capped and sanitized as
 * svgchart_text() does with 300 characters. */
void svgchart_ref(struct svgchart *c, double y, const char *label, const char *color);

/* Append c as a <figure class="chart" id=ID> to b: caption, SVG and legend. Renders once;
 * "no data" is written in a chart without a finite point. */
void svgchart_render(struct svgchart *c, struct buf *b);

/*
 * Append s as HTML/XML text or attribute value (escape_xml), its first max characters
 * only: a longer one ends in an ellipsis and its full length in bytes, so that a page's
 * size is bounded by its number of rows whatever the names in its data. C0/C1 controls
 * (but tab, LF, CR), DEL, bidirectional overrides and isolates (which can make a name read
 * as another), and bytes that are not UTF-8 become U+FFFD. NULL is "".
 */
void svgchart_text(struct buf *b, const char *s, size_t max);

/* A number as a chart's ticks and the report's figures show it: whole numbers without
 * decimals, others with 4 significant digits, "n/a" when not finite; into s. */
char *svgchart_num(double v, char *s, size_t len);

#endif
