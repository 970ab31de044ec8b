/* flamegraph.c: folded stacks drawn as a self-contained, interactive SVG flame graph (plain
 * or differential), and the top-functions table. The layout follows Brendan Gregg's
 * description of flame graphs (ACM Queue 14(2), 2016; brendangregg.com/flamegraphs.html):
 * x is the share of samples, y the stack depth, siblings sorted by name. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/flamegraph.h"
#include "util/common.h"
#include "util/escape.h"

/* The tree is bounded too: past this many nodes, a stack's remaining frames are counted
 * on the deepest node it already has (widths still sum; the extra depth is not drawn). */
#define FLAME_MAX_NODES (1u << 20)

#define NONE        UINT32_MAX
#define FRAME_H     16 /* pixels per level */
#define PAD_X       10
#define PAD_TOP     70  /* title, subtitle, buttons */
#define PAD_BOTTOM  34  /* details line */
#define CHAR_PX     7.0 /* average width of a 12 px Verdana character */
#define MATCH_COLOR "rgb(230,0,230)"

struct node {
	const char *name;
	uint32_t last_child;
	uint32_t depth;
	uint64_t x;    /* offset of the frame's left edge, in counts of the drawn side */
	uint64_t a, b; /* counts: the drawn side (after), and before (diff only) */
};

struct tree {
	struct node *n;
	uint32_t len, cap;
	uint32_t path[FOLD_MAX_DEPTH + 1];
	const char *prev[FOLD_MAX_DEPTH];
	int prev_depth;
	uint32_t max_depth;
};

static uint32_t node_new(struct tree *t, uint32_t parent, const char *name)
{
	if (t->len == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->n = xrealloc(t->n, sizeof(*t->n) * t->cap);
	}
	struct node *p = parent == NONE ? NULL : &t->n[parent];
	struct node *n = &t->n[t->len];
	*n = (struct node){ .name = name, .last_child = NONE, .depth = p ? p->depth + 1 : 0 };
	if (p)
		n->x = p->last_child == NONE ? p->x : t->n[p->last_child].x + t->n[p->last_child].a;
	if (p)
		p->last_child = t->len;
	t->max_depth = MAX(t->max_depth, n->depth);
	return t->len++;
}

static void tree_init(struct tree *t)
{
	memset(t, 0, sizeof(*t));
	t->path[0] = node_new(t, NONE, "all");
}

/* Add the counts a and b to the stack frames[0..depth) (in the order of folded_sort). */
static void tree_add(struct tree *t, const char *const *frames, int depth, uint64_t a, uint64_t b)
{
	int common = 0, d;
	while (common < depth && common < t->prev_depth &&
	       (frames[common] == t->prev[common] || !strcmp(frames[common], t->prev[common])))
		common++;
	for (d = common; d < depth; d++) {
		if (t->len >= FLAME_MAX_NODES)
			break;
		t->path[d + 1] = node_new(t, t->path[d], frames[d]);
	}
	for (int k = 0; k <= d; k++)
		t->n[t->path[k]].a += a, t->n[t->path[k]].b += b;
	memcpy(t->prev, frames, sizeof(*frames) * (size_t)d);
	t->prev_depth = d;
}

static int frames_cmp(const char *const *x, int nx, const char *const *y, int ny)
{
	for (int i = 0; i < nx && i < ny; i++) {
		int c = x[i] == y[i] ? 0 : strcmp(x[i], y[i]);
		if (c)
			return c;
	}
	return nx < ny ? -1 : nx > ny;
}

/* The tree of after (counts a) and before (counts b, may be NULL): both are sorted, so one
 * merge pass meets equal stacks together and every prefix's stacks in one run. */
static void tree_build(struct tree *t, struct folded *after, struct folded *before)
{
	const char *fa[FOLD_MAX_DEPTH], *fb[FOLD_MAX_DEPTH];
	size_t i = 0, j = 0, na = folded_nstacks(after), nb = before ? folded_nstacks(before) : 0;
	int da = 0, db = 0;

	tree_init(t);
	if (i < na)
		da = folded_stack_frames(after, i, fa, FOLD_MAX_DEPTH);
	if (j < nb)
		db = folded_stack_frames(before, j, fb, FOLD_MAX_DEPTH);
	while (i < na || j < nb) {
		int c = i >= na ? 1 : j >= nb ? -1 : frames_cmp(fa, da, fb, db);
		if (c <= 0) {
			uint64_t b = c == 0 ? folded_stack_count(before, j) : 0;
			tree_add(t, fa, da, folded_stack_count(after, i), b);
		} else {
			tree_add(t, fb, db, 0, folded_stack_count(before, j));
		}
		if (c <= 0 && ++i < na)
			da = folded_stack_frames(after, i, fa, FOLD_MAX_DEPTH);
		if (c >= 0 && ++j < nb)
			db = folded_stack_frames(before, j, fb, FOLD_MAX_DEPTH);
	}
}

/* --- colours -------------------------------------------------------------------------- */

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h ^ (h >> 15);
}

static bool is_kernel(const char *s)
{
	size_t n = strlen(s), k = strlen(FOLD_KERNEL_SUFFIX);
	return n > k && !strcmp(s + n - k, FOLD_KERNEL_SUFFIX);
}

/* Warm hues (red to yellow) for code, blue-green for the kernel; one name, one colour. */
static void plain_color(const char *name, char *out, size_t len)
{
	uint32_t h = name_hash(name);
	unsigned u = h & 0xff, v = (h >> 8) & 0xff, w = (h >> 16) & 0xff;
	if (is_kernel(name))
		snprintf(out, len, "rgb(%u,%u,%u)", 40 + u * 60 / 255, 170 + v * 50 / 255,
		         160 + w * 60 / 255);
	else
		snprintf(out, len, "rgb(%u,%u,%u)", 205 + u * 50 / 255, v * 200 / 255,
		         w * 55 / 255);
}

/* Red when the share grew, blue when it shrank, by |delta| / max_delta. */
static void diff_color(double delta, double max_delta, char *out, size_t len)
{
	double i = max_delta > 0 ? fabs(delta) / max_delta : 0;
	unsigned c = (unsigned)lround(250 - 200 * MIN(i, 1.0));
	if (delta > 0 && i > 0)
		snprintf(out, len, "rgb(255,%u,%u)", c, c);
	else if (delta < 0 && i > 0)
		snprintf(out, len, "rgb(%u,%u,255)", c, c);
	else
		snprintf(out, len, "rgb(250,250,250)");
}

/* --- SVG ------------------------------------------------------------------------------ */

static const char svg_style[] =
    "<style type=\"text/css\"><![CDATA[\n"
    "text { font-family: Verdana, Helvetica, sans-serif; font-size: 12px; fill: #000; }\n"
    "#title { font-size: 17px; text-anchor: middle; }\n"
    "#subtitle { fill: #555; text-anchor: middle; }\n"
    "g.f { cursor: pointer; }\n"
    "g.f:hover rect { stroke: #000; stroke-width: 0.5; }\n"
    "g.f text { pointer-events: none; }\n"
    "g.parent rect { opacity: 0.5; }\n"
    ".hide { display: none; }\n"
    ".btn { cursor: pointer; fill: #225; text-decoration: underline; }\n"
    "#matched { text-anchor: end; }\n"
    "]]></style>\n";

/* The viewer: zoom, search, details; the global `flamegraph` is its API. */
static const char svg_script[] =
    "<script type=\"text/ecmascript\"><![CDATA[\n"
    "(function () {\n"
    "  'use strict';\n"
    "  var svg = document.documentElement;\n"
    "  var W = +svg.getAttribute('width'), PAD = +svg.getAttribute('data-pad');\n"
    "  var TOTAL = +svg.getAttribute('data-total'), CH = +svg.getAttribute('data-ch');\n"
    "  var frames = [].slice.call(document.querySelectorAll('g.f'));\n"
    "  var info = frames.map(function (g) {\n"
    "    var r = g.querySelector('rect');\n"
    "    return { g: g, r: r, t: g.querySelector('text'), x: +g.getAttribute('data-x'),\n"
    "             n: +g.getAttribute('data-n'), d: +g.getAttribute('data-d'),\n"
    "             name: g.getAttribute('data-name'), fill: r.getAttribute('fill') };\n"
    "  });\n"
    "  var byG = new Map(info.map(function (f) { return [f.g, f]; }));\n"
    "  var el = function (id) { return document.getElementById(id); };\n"
    "  var zoomed = null, term = null, matchedPct = 0;\n"
    "  function label(f, w) {\n"
    "    var fit = Math.floor((w - 6) / CH);\n"
    "    if (fit < 3) return '';\n"
    "    return f.name.length <= fit ? f.name : f.name.slice(0, fit - 2) + '..';\n"
    "  }\n"
    "  function layout() {\n"
    "    var zx = zoomed ? zoomed.x : 0, zn = zoomed ? zoomed.n : TOTAL;\n"
    "    var zd = zoomed ? zoomed.d : 0, scale = (W - 2 * PAD) / zn;\n"
    "    info.forEach(function (f) {\n"
    "      var inside = f.d >= zd && f.x >= zx && f.x + f.n <= zx + zn;\n"
    "      var above = f.d < zd && f.x <= zx && f.x + f.n >= zx + zn;\n"
    "      var x = PAD + (f.x - zx) * scale, w = f.n * scale;\n"
    "      if (above) { x = PAD; w = W - 2 * PAD; }\n"
    "      var show = (inside || above) && w >= 0.1;\n"
    "      f.g.classList.toggle('hide', !show);\n"
    "      f.g.classList.toggle('parent', above && zoomed !== null);\n"
    "      if (!show) return;\n"
    "      f.r.setAttribute('x', x.toFixed(2));\n"
    "      f.r.setAttribute('width', w.toFixed(2));\n"
    "      f.t.setAttribute('x', (x + 3).toFixed(2));\n"
    "      f.t.textContent = label(f, w);\n"
    "    });\n"
    "    el('unzoom').classList.toggle('hide', zoomed === null);\n"
    "  }\n"
    "  function zoom(f) { zoomed = f.d === 0 ? null : f; layout(); }\n"
    "  function unzoom() { zoomed = null; layout(); }\n"
    "  function toRegExp(s) {\n"
    "    try { return new RegExp(s); }\n"
    "    catch (e) { return new RegExp(s.replace(/[.*+?^${}()|[\\]\\\\]/g, '\\\\$&')); }\n"
    "  }\n"
    "  function search(s) {\n"
    "    resetSearch();\n"
    "    if (s === null || s === undefined || s === '') return 0;\n"
    "    term = String(s);\n"
    "    var re = toRegExp(term), spans = [];\n"
    "    info.forEach(function (f) {\n"
    "      if (!re.test(f.name)) return;\n"
    "      f.r.setAttribute('fill', '" MATCH_COLOR "');\n"
    "      spans.push([f.x, f.x + f.n]);\n"
    "    });\n"
    "    spans.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });\n"
    "    var sum = 0, end = -1;\n"
    "    spans.forEach(function (s) {\n"
    "      if (s[1] <= end) return;\n"
    "      sum += s[1] - Math.max(s[0], end); end = s[1];\n"
    "    });\n"
    "    matchedPct = TOTAL > 0 ? 100 * sum / TOTAL : 0;\n"
    "    el('matched').textContent = spans.length ?\n"
    "      'Matched: ' + matchedPct.toFixed(1) + '%' : 'Matched: none';\n"
    "    el('search').textContent = 'Reset Search';\n"
    "    return matchedPct;\n"
    "  }\n"
    "  function resetSearch() {\n"
    "    term = null; matchedPct = 0;\n"
    "    info.forEach(function (f) { f.r.setAttribute('fill', f.fill); });\n"
    "    el('matched').textContent = '';\n"
    "    el('search').textContent = 'Search';\n"
    "  }\n"
    "  function ask() {\n"
    "    if (term !== null) { resetSearch(); return; }\n"
    "    var s = window.prompt('Search for a function (regular expression):', '');\n"
    "    if (s) search(s);\n"
    "  }\n"
    "  svg.addEventListener('click', function (e) {\n"
    "    var g = e.target.closest ? e.target.closest('g.f') : null;\n"
    "    if (g && byG.has(g)) zoom(byG.get(g));\n"
    "  });\n"
    "  svg.addEventListener('mouseover', function (e) {\n"
    "    var g = e.target.closest ? e.target.closest('g.f') : null;\n"
    "    if (g) el('details').textContent = g.querySelector('title').textContent;\n"
    "  });\n"
    "  svg.addEventListener('mouseout', function () { el('details').textContent = ' '; });\n"
    "  el('unzoom').addEventListener('click', function (e) { e.stopPropagation(); unzoom(); });\n"
    "  el('search').addEventListener('click', function (e) { e.stopPropagation(); ask(); });\n"
    "  window.addEventListener('keydown', function (e) {\n"
    "    if ((e.ctrlKey || e.metaKey) && (e.key === 'f' || e.key === 'F') || e.key === 'F3') {\n"
    "      e.preventDefault(); ask();\n"
    "    } else if (e.key === 'Escape') { resetSearch(); unzoom(); }\n"
    "  });\n"
    "  window.flamegraph = {\n"
    "    search: search, reset_search: resetSearch, unzoom: unzoom,\n"
    "    matched: function () { return matchedPct; },\n"
    "    zoom: function (name) {\n"
    "      var best = null;\n"
    "      info.forEach(function (f) { if (f.name === name && (!best || f.n > best.n)) best = f; "
    "});\n"
    "      if (best) zoom(best);\n"
    "      return best !== null;\n"
    "    },\n"
    "    visible: function () {\n"
    "      return info.filter(function (f) { return !f.g.classList.contains('hide'); })\n"
    "                 .map(function (f) { return { name: f.name, d: f.d,\n"
    "                   w: +f.r.getAttribute('width'), x: +f.r.getAttribute('x') }; });\n"
    "    }\n"
    "  };\n"
    "  layout();\n"
    "})();\n"
    "]]></script>\n";

struct render {
	struct buf *out;
	const struct tree *t;
	double scale;   /* pixels per count */
	uint64_t min_n; /* frames with fewer counts are not drawn */
	uint64_t total_a, total_b;
	bool diff;
	double max_delta;
	const char *unit;
};

/* name cut to fit w pixels ("" when fewer than 3 characters fit), at a character boundary. */
static void fit_label(const char *name, double w, char *out, size_t len)
{
	int fit = (int)floor((w - 6) / CHAR_PX), chars = 0;
	size_t i = 0, cut = 0;
	out[0] = '\0';
	if (fit < 3)
		return;
	while (name[i]) {
		int k = utf8_seq_len((const unsigned char *)name + i);
		if (chars == fit - 2)
			cut = i;
		if (++chars > fit)
			break;
		i += k ? (size_t)k : 1;
	}
	if (!name[i]) {
		snprintf(out, len, "%s", name);
		return;
	}
	snprintf(out, len, "%.*s..", (int)MIN(cut, len - 3), name);
}

static double share(uint64_t n, uint64_t total)
{
	return total ? 100.0 * (double)n / (double)total : 0;
}

static void render_frame(struct render *r, const struct node *n)
{
	struct buf *o = r->out;
	double x = PAD_X + (double)n->x * r->scale, w = (double)n->a * r->scale;
	double y = PAD_TOP + (double)(r->t->max_depth - n->depth) * FRAME_H;
	char color[48], label[FOLD_MAX_NAME + 4];

	if (r->diff)
		diff_color(share(n->a, r->total_a) - share(n->b, r->total_b), r->max_delta, color,
		           sizeof(color));
	else
		plain_color(n->name, color, sizeof(color));
	buf_printf(o, "<g class=\"f\" data-x=\"%llu\" data-n=\"%llu\" data-d=\"%u\" data-name=\"",
	           (unsigned long long)n->x, (unsigned long long)n->a, n->depth);
	escape_xml(o, n->name);
	buf_addstr(o, "\"><title>");
	escape_xml(o, n->name);
	buf_printf(o, " (%llu %s, %.2f%%", (unsigned long long)n->a, r->unit,
	           share(n->a, r->total_a));
	if (r->diff) {
		double d = share(n->a, r->total_a) - share(n->b, r->total_b);
		buf_printf(o, " after; %.2f%% before; %+.2f pp", share(n->b, r->total_b), d);
	}
	buf_printf(o,
	           ")</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"%s\" "
	           "rx=\"2\" ry=\"2\"/><text x=\"%.2f\" y=\"%.1f\">",
	           x, y, w, FRAME_H - 1, color, x + 3, y + 11.5);
	fit_label(n->name, w, label, sizeof(label));
	escape_xml(o, label);
	buf_addstr(o, "</text></g>\n");
}

static int cmp_u64_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* The fewest counts a drawn frame has: FLAME_MIN_PX wide, and at most FLAME_MAX_RECTS. */
static uint64_t min_counts(const struct tree *t, double scale)
{
	uint64_t min_n = (uint64_t)ceil(FLAME_MIN_PX / scale), *w;
	uint32_t k = 0;
	if (min_n == 0)
		min_n = 1;
	w = xmalloc(sizeof(*w) * t->len);
	for (uint32_t i = 0; i < t->len; i++)
		if (t->n[i].a >= min_n)
			w[k++] = t->n[i].a;
	if (k > FLAME_MAX_RECTS) {
		qsort(w, k, sizeof(*w), cmp_u64_desc);
		min_n = MAX(min_n, w[FLAME_MAX_RECTS - 1] + 1);
	}
	free(w);
	return min_n;
}

static void render_tree(struct tree *t, bool diff, uint64_t total_b, const struct flame_opts *o,
                        struct buf *out)
{
	int width = o && o->width >= 200 && o->width <= 10000 ? o->width : 1200;
	struct render r = { .out = out,
		            .t = t,
		            .total_a = t->n[0].a,
		            .total_b = total_b,
		            .diff = diff,
		            .unit = o && o->unit ? o->unit : "samples" };
	const char *title = o && o->title ? o->title : "Flame Graph";
	r.scale = (double)(width - 2 * PAD_X) / (double)r.total_a;
	r.min_n = min_counts(t, r.scale);
	uint32_t maxd = 0;
	for (uint32_t i = 0; i < t->len; i++) {
		const struct node *n = &t->n[i];
		if (n->a < r.min_n)
			continue;
		maxd = MAX(maxd, n->depth);
		double d = fabs(share(n->a, r.total_a) - share(n->b, total_b));
		r.max_delta = MAX(r.max_delta, d);
	}
	t->max_depth = maxd; /* the drawn depth sets the height */
	int height = PAD_TOP + (int)(maxd + 1) * FRAME_H + PAD_BOTTOM;

	buf_printf(out,
	           "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
	           "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
	           "height=\"%d\" viewBox=\"0 0 %d %d\" data-total=\"%llu\" data-pad=\"%d\" "
	           "data-ch=\"%.1f\">\n",
	           width, height, width, height, (unsigned long long)r.total_a, PAD_X, CHAR_PX);
	buf_addstr(out, svg_style);
	buf_printf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", width,
	           height, diff ? "#f4f4f8" : "#fdf7ee");
	buf_printf(out, "<text id=\"title\" x=\"%d\" y=\"24\">", width / 2);
	escape_xml(out, title);
	buf_addstr(out, "</text>\n");
	buf_printf(out, "<text id=\"subtitle\" x=\"%d\" y=\"42\">", width / 2);
	escape_xml(out, o && o->subtitle ? o->subtitle : "");
	buf_addstr(out, "</text>\n");
	buf_printf(out,
	           "<text id=\"unzoom\" class=\"btn hide\" x=\"%d\" y=\"60\">Reset Zoom</text>\n"
	           "<text id=\"search\" class=\"btn\" x=\"%d\" y=\"60\">Search</text>\n"
	           "<text id=\"matched\" x=\"%d\" y=\"%d\"></text>\n"
	           "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n",
	           PAD_X, width - PAD_X - 60, width - PAD_X, height - 12, PAD_X, height - 12);
	for (uint32_t i = 0; i < t->len; i++)
		if (t->n[i].a >= r.min_n)
			render_frame(&r, &t->n[i]);
	buf_addstr(out, svg_script);
	buf_addstr(out, "</svg>\n");
}

int flame_render(struct folded *f, const struct flame_opts *opts, struct buf *out)
{
	struct tree t;
	if (folded_stats(f).total == 0)
		return -ENODATA;
	folded_sort(f);
	tree_build(&t, f, NULL);
	render_tree(&t, false, 0, opts, out);
	free(t.n);
	return 0;
}

int flame_render_diff(struct folded *before, struct folded *after, const struct flame_opts *opts,
                      struct buf *out)
{
	struct tree t;
	if (folded_stats(after).total == 0 || folded_stats(before).total == 0)
		return -ENODATA;
	folded_sort(before);
	folded_sort(after);
	tree_build(&t, after, before);
	render_tree(&t, true, t.n[0].b, opts, out);
	free(t.n);
	return 0;
}

/* --- top functions ---------------------------------------------------------------------- */

struct fn_slot {
	const char *name; /* interned in the folded: one pointer per name */
	uint64_t self, total;
	size_t seen; /* the last stack (index + 1) that counted it in total */
};

static int top_cmp(const void *a, const void *b)
{
	const struct fn_slot *x = a, *y = b;
	if (x->self != y->self)
		return x->self < y->self ? 1 : -1;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->name, y->name);
}

static struct fn_slot *slot_of(struct fn_slot *tab, size_t mask, const char *name)
{
	size_t i = ((size_t)(uintptr_t)name >> 3) * 0x9e3779b97f4a7c15ULL & mask;
	while (tab[i].name && tab[i].name != name)
		i = (i + 1) & mask;
	tab[i].name = name;
	return &tab[i];
}

int flame_top_functions(const struct folded *f, int skip_roots, struct flame_top *out, int max)
{
	const char *fr[FOLD_MAX_DEPTH];
	size_t ns = folded_nstacks(f), cap = 1024, used = 0;
	struct fn_slot *tab;

	for (size_t i = 0; i < ns; i++)
		used += (size_t)MIN(folded_stack_frames(f, i, fr, 0), FOLD_MAX_DEPTH);
	while (cap < 2 * MIN(used, (size_t)FOLD_MAX_NAMES) + 2)
		cap *= 2;
	tab = xcalloc(cap, sizeof(*tab));
	for (size_t i = 0; i < ns; i++) {
		int d = MIN(folded_stack_frames(f, i, fr, FOLD_MAX_DEPTH), FOLD_MAX_DEPTH);
		uint64_t c = folded_stack_count(f, i);
		if (d <= skip_roots)
			continue;
		for (int k = skip_roots; k < d; k++) {
			struct fn_slot *s = slot_of(tab, cap - 1, fr[k]);
			if (s->seen != i + 1)
				s->total += c, s->seen = i + 1;
		}
		slot_of(tab, cap - 1, fr[d - 1])->self += c;
	}
	size_t n = 0;
	for (size_t i = 0; i < cap; i++)
		if (tab[i].name)
			tab[n++] = tab[i];
	qsort(tab, n, sizeof(*tab), top_cmp);
	int k = 0;
	for (; k < max && (size_t)k < n; k++)
		out[k] = (struct flame_top){ tab[k].name, tab[k].self, tab[k].total };
	free(tab);
	return k;
}
