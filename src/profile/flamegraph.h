/* flamegraph.h: interactive SVG flame graphs (and differential ones) of folded stacks, and
 * the top-functions table. */
#ifndef STAMPEDE_FLAMEGRAPH_H
#define STAMPEDE_FLAMEGRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "profile/fold.h"
#include "util/buf.h"

/* Frames narrower than this many pixels are not drawn (nor their children, narrower
 * still); at most FLAME_MAX_RECTS frames are drawn (the widest), which keeps a graph under
 * about 40 MB of SVG. The tree behind it holds at most 2^20 frames (about 50 MB): past
 * that, a stack's further frames count on its deepest frame already held. */
#define FLAME_MIN_PX    0.1
#define FLAME_MAX_RECTS 200000

/* The look of one graph. A zeroed struct is a 1200-pixel graph titled "Flame Graph". */
struct flame_opts {
	const char *title;    /* shown on top (escaped); NULL: "Flame Graph" */
	const char *subtitle; /* a second line (escaped), e.g. what was profiled; NULL: none */
	int width;            /* of the SVG in pixels, 200..10000; 0: 1200 */
	const char *unit;     /* what a count is, for tooltips: NULL: "samples" */
};

/*
 * Append to out a self-contained SVG flame graph of f: the root "all" at the bottom, each
 * stack's frames above it (root first), a frame's width proportional to its count, siblings
 * in name order (a flame graph, not a flame chart: time order is not kept). Each frame is a
 * <g class="f"> holding a <title> tooltip ("NAME (N samples, P%)"), a <rect> coloured from a
 * hash of the name (warm hues; frames ending in FOLD_KERNEL_SUFFIX a blue-green hue) and a
 * <text> label cut to fit. An inline <script> (no external resource) gives click to zoom,
 * "Reset Zoom", a "Search" button and Ctrl-F (a regular expression; matches are drawn in
 * magenta and the share of samples under them shown as "Matched: P%") and the global
 * object `flamegraph` { search(re), reset_search(), zoom(name), unzoom(), matched() } for
 * tests. Names are escaped for XML. f is sorted (folded_sort). Returns 0, or -ENODATA when
 * f holds no samples (nothing appended).
 */
int flame_render(struct folded *f, const struct flame_opts *opts, struct buf *out);

/*
 * A differential flame graph: drawn from after (widths are after's counts), each frame
 * coloured by how its share of all samples changed from before to after: red grew, blue
 * shrank, the stronger the larger the change relative to the largest change in the graph,
 * near-white unchanged. Shares are normalised by each side's total, so profiles of
 * different lengths compare. Frames found only in before are not drawn (they have no
 * width); their loss shows as blue in their parents. Tooltips give both shares and the
 * difference in percentage points. Both are sorted. Returns 0, or -ENODATA when after (or
 * before) holds no samples.
 */
int flame_render_diff(struct folded *before, struct folded *after, const struct flame_opts *opts,
                      struct buf *out);

/* One function of the top-functions table. */
struct flame_top {
	const char *name; /* owned by the struct folded it came from */
	uint64_t self;    /* counts of stacks with this function as their leaf */
	uint64_t total;   /* counts of stacks holding it at least once (recursion counted once) */
};

/*
 * Fill out[0..max) with the functions of f ordered by self count (then total, then name),
 * skipping the first skip_roots frames of every stack (1 for the comm frame of
 * fold_opts.with_comm). Shares are count / folded_stats(f).total. Returns how many were
 * written (at most max; fewer when f has fewer functions). Memory: a table of f's distinct
 * names, freed before returning.
 */
int flame_top_functions(const struct folded *f, int skip_roots, struct flame_top *out, int max);

#endif
