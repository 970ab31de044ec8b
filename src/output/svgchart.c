/* svgchart.c: inline SVG line charts for the HTML pages (svgchart.h). */
#include "output/svgchart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"
#include "util/escape.h"

#define CW              960 /* the chart's viewBox */
#define CH              300
#define ML              76 /* margins around the plot: room for ticks and axis labels */
#define MR              64 /* the SLOs' tags, outside the plot */
#define MT              14
#define MB              50
#define PW              (CW - ML - MR)
#define PH              (CH - MT - MB)
#define MAX_BANDS       4
#define LABEL_MAX_CHARS 300 /* shown of a reference line's label */

struct svgchart_line {
	const char *label;
	const char *color;
	bool dashed;
	bool points; /* markers only, no polyline: measured points under a fitted curve */
	int n, cap;
	double *x, *y; /* NAN y: a gap */
};

struct cref {
	double y;
	char label[200];
	const char *color;
	bool off;    /* far above the data: tagged at the top and named in the legend, no line */
	double tagy; /* where its tag goes in the right margin */
};

struct band {
	double from, to;
	const char *label, *color;
};

struct svgchart {
	const char *id, *title, *xlabel, *ylabel;
	bool xpct;   /* x is log10(1 / (1 - p)): HdrHistogram's percentile axis */
	double xmax; /* the data's x range is [0, xmax] */
	int nlines;
	struct svgchart_line lines[SVGCHART_MAX_LINES];
	int nrefs;
	struct cref refs[SVGCHART_MAX_REFS];
	int nbands;
	struct band bands[MAX_BANDS];
	const json_t *phases; /* options.testType.phases: shaded bands, named (or NULL) */
	double mark_x;        /* a marked moment (the breaking point), s; 0 or NAN: none */
	const char *mark_label;
};

static const char *const palette[] = { "#2563eb", "#16a34a", "#d97706",
	                               "#dc2626", "#7c3aed", "#0891b2" };

static void put(struct buf *b, const char *s)
{
	buf_addstr(b, s);
}

/* --- text ------------------------------------------------------------------------- */

/* The character at p (a UTF-8 sequence of n bytes) is one a page must not show as it is:
 * C0 controls other than tab, LF and CR, DEL, C1 controls, and the bidirectional overrides
 * and isolates that can make a name read as another (U+202A..U+202E, U+2066..U+2069). */
static bool hidden_char(const unsigned char *p, int n)
{
	if (n == 1)
		return (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f;
	if (n == 2)
		return p[0] == 0xc2 && p[1] < 0xa0;
	if (n == 3 && p[0] == 0xe2)
		return (p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
		       (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9);
	return false;
}

void svgchart_text(struct buf *b, const char *s, size_t max)
{
	static const char repl[] = "\xef\xbf\xbd";
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	struct buf t = { 0 };
	size_t chars = 0;
	for (; *p && chars < max; chars++) {
		int n = utf8_seq_len(p);
		if (n == 0 || hidden_char(p, n)) {
			buf_add(&t, repl, sizeof(repl) - 1);
			p += n ? n : 1;
		} else {
			buf_add(&t, p, (size_t)n);
			p += n;
		}
	}
	escape_xml(b, t.p ? t.p : "");
	if (*p)
		buf_printf(b, "&#8230; (%zu bytes in all)",
		           (size_t)(p - (const unsigned char *)s) + strlen((const char *)p));
	buf_free(&t);
}

static void put_label(struct buf *b, const char *s)
{
	svgchart_text(b, s, LABEL_MAX_CHARS);
}

/* A tick's number: whole numbers without decimals, others with 4 significant digits. */
char *svgchart_num(double v, char *s, size_t len)
{
	if (!isfinite(v))
		snprintf(s, len, "n/a");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(s, len, "%.0f", v);
	else
		snprintf(s, len, "%.4g", v);
	return s;
}

/* --- building a chart ------------------------------------------------------------- */

struct svgchart *svgchart_new(const char *id, const char *title, const char *xlabel,
                              const char *ylabel)
{
	struct svgchart *c = xcalloc(1, sizeof(*c));
	c->id = id;
	c->title = title;
	c->xlabel = xlabel;
	c->ylabel = ylabel;
	c->mark_x = NAN;
	return c;
}

void svgchart_free(struct svgchart *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nlines; i++) {
		free(c->lines[i].x);
		free(c->lines[i].y);
	}
	free(c);
}

void svgchart_extend_x(struct svgchart *c, double x)
{
	c->xmax = MAX(c->xmax, x);
}

void svgchart_percentile_axis(struct svgchart *c, double xmax)
{
	c->xpct = true;
	c->xmax = xmax;
}

void svgchart_phases(struct svgchart *c, const json_t *phases)
{
	c->phases = json_is_array(phases) ? phases : NULL;
}

void svgchart_mark(struct svgchart *c, double x, const char *label)
{
	c->mark_x = x;
	c->mark_label = label;
}

void svgchart_band(struct svgchart *c, double from, double to, const char *label, const char *color)
{
	if (c->nbands == MAX_BANDS || !isfinite(from) || !isfinite(to) || !(to > from))
		return;
	c->bands[c->nbands++] = (struct band){ from, to, label, color };
}

struct svgchart_line *svgchart_line(struct svgchart *c, const char *label, int n)
{
	if (c->nlines == SVGCHART_MAX_LINES)
		return NULL;
	struct svgchart_line *l = &c->lines[c->nlines];
	l->label = label;
	l->color = palette[c->nlines % ARRAY_SIZE(palette)];
	l->dashed = false;
	l->n = 0;
	l->cap = MAX(n, 1);
	l->x = xcalloc((size_t)l->cap, sizeof(*l->x));
	l->y = xcalloc((size_t)l->cap, sizeof(*l->y));
	c->nlines++;
	return l;
}

void svgchart_add(struct svgchart_line *l, double x, double y)
{
	if (!l || l->n == l->cap)
		return;
	l->x[l->n] = x;
	l->y[l->n] = y;
	l->n++;
}

void svgchart_line_color(struct svgchart_line *l, const char *color)
{
	if (l)
		l->color = color;
}

void svgchart_line_points(struct svgchart_line *l, bool points)
{
	if (l)
		l->points = points;
}

void svgchart_line_dashed(struct svgchart_line *l, bool dashed)
{
	if (l)
		l->dashed = dashed;
}

void svgchart_usl_curve(struct svgchart *c, double sigma, double kappa, double lambda, double from,
                        double to)
{
	enum { CURVE = 200 };
	struct svgchart_line *f = svgchart_line(c, "USL fit", CURVE + 1);
	for (int k = 0; k <= CURVE; k++) {
		double n = from + (to - from) * k / CURVE;
		double den = 1 + sigma * (n - 1) + kappa * n * (n - 1);
		svgchart_add(f, n, den > 0 ? lambda * n / den : NAN);
	}
	svgchart_line_dashed(f, true);
}

void svgchart_line_scale(struct svgchart_line *l, double k)
{
	for (int i = 0; l && i < l->n; i++)
		l->y[i] *= k;
}

struct svgchart_line *svgchart_ts(struct svgchart *c, const struct result *r,
                                  const struct result_timeseries *ts, enum svgchart_ts what, int k,
                                  const char *label)
{
	if (!ts || ts->npoints <= 0 || k < 0 || k >= (int)ARRAY_SIZE(ts->points[0].v))
		return NULL;
	double step = ts->step > 0 ? ts->step : 1;
	struct svgchart_line *l = svgchart_line(c, label, ts->npoints);
	if (!l)
		return NULL;
	bool known = isfinite(r->duration_s) && r->duration_s > 0;
	for (int i = 0; i < ts->npoints; i++) {
		const struct result_point *p = &ts->points[i];
		/* the last point may stand for less than a step: the run ended inside it; one
		 * too short (under a quarter of a step) has too few samples for a rate or a
		 * percentile, and is left out of every chart alike */
		double span = step;
		if (known && p->t + step > r->duration_s)
			span = r->duration_s - p->t;
		if (span < 0.25 * step)
			continue;
		double y;
		if (what == SVGCHART_PER_SECOND)
			y = p->count / span;
		else if (what == SVGCHART_FAILED)
			y = p->v[0] * p->count / span;
		else
			y = p->count > 0 ? p->v[k] : NAN;
		svgchart_add(l, p->t + span / 2, y);
		c->xmax = MAX(c->xmax, p->t + span);
	}
	return l;
}

struct svgchart_line *svgchart_ts_metric(struct svgchart *c, const struct result *r,
                                         const char *metric, enum svgchart_ts what, int k,
                                         const char *label)
{
	int m = result_find_metric(r, metric);
	return m < 0 ? NULL : svgchart_ts(c, r, &r->metrics[m].ts, what, k, label);
}

void svgchart_ref(struct svgchart *c, double y, const char *label, const char *color)
{
	if (c->nrefs == SVGCHART_MAX_REFS)
		return;
	struct cref *ref = &c->refs[c->nrefs++];
	ref->y = y;
	ref->color = color;
	snprintf(ref->label, sizeof(ref->label), "%s", label ? label : "");
}

/* --- drawing ---------------------------------------------------------------------- */

/* A step of 1, 2 or 5 times a power of ten that cuts range into about ticks parts. */
static double nice_step(double range, int ticks)
{
	double raw = range / ticks;
	double mag = pow(10, floor(log10(raw)));
	double f = raw / mag;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

static double data_ymax(const struct svgchart *c, bool *any)
{
	double ymax = 0;
	*any = false;
	for (int i = 0; i < c->nlines; i++)
		for (int k = 0; k < c->lines[i].n; k++)
			if (isfinite(c->lines[i].y[k])) {
				ymax = MAX(ymax, c->lines[i].y[k]);
				*any = true;
			}
	return ymax;
}

static void pct_label(int decade, char *s, size_t len)
{
	if (decade == 0)
		snprintf(s, len, "0%%");
	else
		snprintf(s, len, "%.*f%%", decade > 2 ? decade - 2 : 0,
		         100.0 * (1 - pow(10, -decade)));
}

static void chart_axes(struct buf *b, const struct svgchart *c, double xtop, double xstep,
                       double ytop, double ystep)
{
	char s[48];
	for (int k = 0; k * ystep <= ytop * (1 + 1e-9); k++) {
		double py = MT + PH - k * ystep / ytop * PH;
		buf_printf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>",
		           ML, py, ML + PW, py);
		buf_printf(
		    b, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
		    ML - 6, py + 4, svgchart_num(k * ystep, s, sizeof(s)));
	}
	for (int k = 0; k * xstep <= xtop * (1 + 1e-9); k++) {
		double px = ML + k * xstep / xtop * PW;
		if (c->xpct)
			pct_label((int)lround(k * xstep), s, sizeof(s));
		else
			svgchart_num(k * xstep, s, sizeof(s));
		buf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>",
		           px, MT, px, MT + PH);
		buf_printf(
		    b,
		    "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
		    px, MT + PH + 16, s);
	}
	buf_printf(b,
	           "<path class=\"axis\" d=\"M%d %d V%d H%d\"/>\n"
	           "<text class=\"axlabel\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
	           ML, MT, MT + PH, ML + PW, ML + PW / 2, CH - 8);
	escape_xml(b, c->xlabel);
	buf_printf(b,
	           "</text>\n<text class=\"axlabel\" transform=\"translate(16 %d) rotate(-90)\" "
	           "text-anchor=\"middle\">",
	           MT + PH / 2);
	escape_xml(b, c->ylabel);
	put(b, "</text>\n");
}

/* A data point's place in the plot, kept inside it (a negative gauge, a point past the
 * chart's x range from a damaged file). */
static double px_of(double x, double xtop)
{
	return ML + PW * fmin(fmax(x / xtop, 0), 1);
}

static double py_of(double y, double ytop)
{
	return MT + PH - PH * fmin(fmax(y / ytop, 0), 1);
}

/* A number field of a JSON object, NAN when absent. */
static double num_field(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The test type's phases as bands behind the data (a ramp plain, a steady phase shaded),
 * each named at the top when there is room. */
static void chart_phases(struct buf *b, const struct svgchart *c, double xtop)
{
	size_t i;
	const json_t *ph;
	int shaded = 0;
	json_array_foreach(c->phases, i, ph)
	{
		double a = num_field(ph, "startS"), d = num_field(ph, "durationS");
		if (!isfinite(a) || !(d > 0) || a >= xtop || i > 64)
			continue;
		double x0 = px_of(a, xtop), x1 = px_of(MIN(a + d, xtop), xtop);
		const char *name = json_string_value(json_object_get(ph, "name"));
		bool ramp = name && (!strncmp(name, "ramp", 4) || !strncmp(name, "to step", 7) ||
		                     !strncmp(name, "raise", 5));
		if (!ramp)
			buf_printf(b,
			           "<rect class=\"phase%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
			           "height=\"%d\"/>\n",
			           shaded++ % 2 ? " alt" : "", x0, MT, MAX(x1 - x0, 0.5), PH);
		if (name && x1 - x0 >= 8.0 * (double)strlen(name)) {
			buf_printf(b, "<text class=\"phlabel\" x=\"%.1f\" y=\"%d\">", x0 + 4,
			           MT + 12);
			escape_xml(b, name);
			put(b, "</text>\n");
		}
	}
}

/* The bands: translucent rectangles, each edge a thin line of its colour. */
static void chart_bands(struct buf *b, const struct svgchart *c, double xtop)
{
	for (int i = 0; i < c->nbands; i++) {
		const struct band *bd = &c->bands[i];
		double x0 = px_of(bd->from, xtop), x1 = px_of(bd->to, xtop);
		buf_printf(b,
		           "<rect class=\"band\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
		           "fill=\"%s\" fill-opacity=\"0.08\" stroke=\"%s\" stroke-opacity=\"0.5\" "
		           "stroke-dasharray=\"2 3\"><title>",
		           x0, MT, MAX(x1 - x0, 0.5), PH, bd->color, bd->color);
		put_label(b, bd->label);
		put(b, "</title></rect>\n");
	}
}

static void chart_polyline(struct buf *b, const struct svgchart_line *l, double xtop, double ytop)
{
	bool open = false;
	for (int k = 0; k < l->n && !l->points; k++) {
		if (!isfinite(l->y[k]) || !isfinite(l->x[k])) {
			if (open)
				put(b, "\"/>\n");
			open = false;
			continue;
		}
		if (!open)
			buf_printf(b, "<polyline class=\"line\" stroke=\"%s\"%s points=\"",
			           l->color, l->dashed ? " stroke-dasharray=\"6 4\"" : "");
		buf_printf(b, "%s%.1f,%.1f", open ? " " : "", px_of(l->x[k], xtop),
		           py_of(l->y[k], ytop));
		open = true;
	}
	if (open)
		put(b, "\"/>\n");
	if (l->n > 40 && !l->points)
		return;
	for (int k = 0; k < l->n; k++)
		if (isfinite(l->y[k]) && isfinite(l->x[k]))
			buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\"/>",
			           px_of(l->x[k], xtop), py_of(l->y[k], ytop),
			           l->points ? "4.5" : "2.5", l->color);
	put(b, "\n");
}

static void chart_legend(struct buf *b, const struct svgchart *c)
{
	put(b, "<div class=\"legend\">");
	for (int i = 0; i < c->nlines; i++) {
		if (c->lines[i].points)
			buf_printf(b,
			           "<span><i style=\"background:%s;width:9px;height:9px;"
			           "border-radius:50%%\"></i>",
			           c->lines[i].color);
		else if (c->lines[i].dashed)
			buf_printf(b, "<span><i class=\"dash\" style=\"border-color:%s\"></i>",
			           c->lines[i].color);
		else
			buf_printf(b, "<span><i style=\"background:%s\"></i>", c->lines[i].color);
		escape_xml(b, c->lines[i].label);
		put(b, "</span>");
	}
	for (int i = 0; i < c->nbands; i++) {
		buf_printf(b,
		           "<span class=\"band\"><i style=\"background:%s;opacity:.3;height:10px\">"
		           "</i>",
		           c->bands[i].color);
		put_label(b, c->bands[i].label);
		put(b, "</span>");
	}
	for (int i = 0; i < c->nrefs; i++) {
		buf_printf(b,
		           "<span class=\"slo\"><i class=\"dash\" style=\"border-color:%s\"></i>"
		           "<b>SLO %d</b>: ",
		           c->refs[i].color, i + 1);
		put_label(b, c->refs[i].label);
		if (c->refs[i].off)
			put(b, " (above the chart)");
		put(b, "</span>");
	}
	put(b, "</div>\n");
}

static int tag_cmp(const void *a, const void *b)
{
	const struct cref *x = *(struct cref *const *)a, *y = *(struct cref *const *)b;
	return (x->tagy > y->tagy) - (x->tagy < y->tagy);
}

/* The reference lines (SLOs) across the plot, each with its full label as a <title>, and
 * tagged "SLO n" in the right margin, off the data (the legend names them in full): the
 * tags of those far above the data first, at the top with an arrow, then the others at
 * their line's height, pushed down so that no two overlap. */
static void chart_refs(struct buf *b, struct svgchart *c, double ytop)
{
	struct cref *order[SVGCHART_MAX_REFS];
	int above = 0;
	for (int i = 0; i < c->nrefs; i++) {
		struct cref *ref = &c->refs[i];
		ref->tagy = ref->off ? -1000.0 + above++ : py_of(ref->y, ytop) + 4;
		order[i] = ref;
	}
	qsort(order, (size_t)c->nrefs, sizeof(order[0]), tag_cmp);
	double next = MT + 8;
	for (int i = 0; i < c->nrefs; i++) {
		order[i]->tagy = MAX(order[i]->tagy, next);
		next = order[i]->tagy + 14;
	}
	for (int i = 0; i < c->nrefs; i++) {
		const struct cref *ref = &c->refs[i];
		if (!ref->off) {
			double py = py_of(ref->y, ytop);
			buf_printf(
			    b,
			    "<line class=\"ref\" stroke=\"%s\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
			    "y2=\"%.1f\"><title>SLO %d: ",
			    ref->color, ML, py, ML + PW, py, i + 1);
			put_label(b, ref->label);
			put(b, "</title></line>");
		}
		buf_printf(
		    b,
		    "<text class=\"reflabel\" fill=\"%s\" x=\"%d\" y=\"%.1f\">%sSLO %d<title>SLO "
		    "%d: ",
		    ref->color, ML + PW + 6, ref->tagy, ref->off ? "&#8593; " : "", i + 1, i + 1);
		put_label(b, ref->label);
		put(b, "</title></text>\n");
	}
}

/* The axes' tops and tick steps: y from 0 past the data and the references, x to xmax. */
static void chart_scale(struct svgchart *c, bool *any, double *xtop, double *xstep, double *ytop,
                        double *ystep)
{
	double ymax = data_ymax(c, any);
	for (int i = 0; i < c->nrefs; i++) {
		c->refs[i].off = *any && ymax > 0 && c->refs[i].y > 5 * ymax;
		if (!c->refs[i].off)
			ymax = MAX(ymax, c->refs[i].y);
	}
	if (!(ymax > 0))
		ymax = 1;
	*ystep = nice_step(ymax * 1.05, 5);
	*ytop = *ystep * ceil(ymax * 1.05 / *ystep);
	if (c->xpct) {
		*xtop = MAX(1, ceil(c->xmax - 1e-9));
		*xstep = 1;
	} else {
		/* the axis ends where the run did, not at the next whole tick */
		*xtop = c->xmax > 0 && isfinite(c->xmax) ? c->xmax : 1;
		*xstep = *xtop >= 2 ? MAX(1, nice_step(*xtop, 8)) : nice_step(*xtop, 4);
	}
}

void svgchart_render(struct svgchart *c, struct buf *b)
{
	bool any;
	double xtop, xstep, ytop, ystep;
	chart_scale(c, &any, &xtop, &xstep, &ytop, &ystep);
	buf_printf(b, "<figure class=\"chart\" id=\"%s\"><figcaption>", c->id);
	escape_xml(b, c->title);
	buf_printf(b, "</figcaption>\n<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", CW,
	           CH);
	escape_xml(b, c->title);
	put(b, "\">\n");
	if (c->phases && !c->xpct)
		chart_phases(b, c, xtop);
	if (!c->xpct)
		chart_bands(b, c, xtop);
	if (!c->xpct && isfinite(c->mark_x) && c->mark_x > 0 && c->mark_x <= xtop) {
		double x = px_of(c->mark_x, xtop);
		buf_printf(b,
		           "<line class=\"mark\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
		           "<text class=\"phlabel\" x=\"%.1f\" y=\"%d\" text-anchor=\"end\">",
		           x, MT, x, MT + PH, x - 4, MT + 26);
		escape_xml(b, c->mark_label);
		put(b, "</text>\n");
	}
	chart_axes(b, c, xtop, xstep, ytop, ystep);
	chart_refs(b, c, ytop);
	for (int i = 0; i < c->nlines; i++)
		chart_polyline(b, &c->lines[i], xtop, ytop);
	if (!any)
		buf_printf(b,
		           "<text class=\"nodata\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">no data"
		           "</text>\n",
		           ML + PW / 2, MT + PH / 2);
	put(b, "</svg>\n");
	chart_legend(b, c);
	put(b, "</figure>\n");
}
