/*
 * leak.h: memory and descriptor leaks from a run's monitoring (issue #12; docs/monitoring.md,
 * "Leaks"), from a result alone.
 *
 * Method: after a warm-up (LEAK_WARMUP_FRAC of the run, between LEAK_WARMUP_MIN_S and
 * LEAK_WARMUP_MAX_S), the gauge's per-interval minima (about LEAK_INTERVALS intervals, each
 * at least a point of the time series long: the floor a garbage collector returns to, not
 * its peaks) go through the Mann–Kendall test with the Hamed–Rao autocorrelation
 * correction and Sen's slope with its 95% interval (analysis/trend.h). A leak is reported
 * only when it is both significant — the slope's interval excludes zero and the test says
 * rising — and material: the growth over the window reaches the series' floor (1 MiB and 2%
 * of the level for memory, 8 descriptors and 2% for fds) and LEAK_NOISE_FACTOR times the
 * minima's spread around the trend line, so allocator noise, a wandering level and a cache
 * that fills once are not leaks; and persistent: each half of the window rises on its own
 * (a level that wanders up in one half and down in the other is not a leak). The rate is given per second and per request (the
 * window's requests), and with a memory limit (options.monitor.memoryLimit, or the target's
 * cgroup limit in analyses.monitor) the time until the limit is reached.
 */
#ifndef STAMPEDE_LEAK_H
#define STAMPEDE_LEAK_H

#include <jansson.h>
#include <stdbool.h>

#include "result/result.h"

#define LEAK_WARMUP_FRAC   0.1
#define LEAK_WARMUP_MIN_S  10.0
#define LEAK_WARMUP_MAX_S  300.0
#define LEAK_MIN_WINDOW_S  20.0 /* less after the warm-up: not judged */
#define LEAK_INTERVALS     30
#define LEAK_MIN_INTERVALS 8
#define LEAK_ALPHA         0.05
#define LEAK_NOISE_FACTOR  2.0 /* the growth must stand out of the readings' spread */

/* What decided a judged series' verdict: the first of leak_judge's tests it failed, in
 * the order significant, the floor, the noise, persistent (LEAK_LEAKS: none). The
 * sentence (leak_sentence) gives this reason, so the two cannot disagree. */
enum leak_reason {
	LEAK_UNJUDGED,        /* too little data (why says what) */
	LEAK_LEAKS,           /* significant, material and persistent */
	LEAK_NOT_SIGNIFICANT, /* no rise: the test does not say rising, or the slope's CI holds 0 */
	LEAK_BELOW_FLOOR,     /* rose, but less than floor (material's first half) */
	LEAK_IN_NOISE,        /* rose, but less than LEAK_NOISE_FACTOR x noise (its second) */
	LEAK_NOT_PERSISTENT,  /* rose, but not in each half of the window */
};

/* One series' judgement. */
struct leak_verdict {
	bool judged;               /* false: too little data (why says what) */
	const char *why;           /* when not judged */
	enum leak_reason reason;   /* what decided (leaking == (reason == LEAK_LEAKS)) */
	bool significant;          /* the slope's interval excludes 0 and the test says rising */
	bool material;             /* the growth reaches the floor and stands out of the noise */
	bool persistent;           /* each half of the window rises (Sen's slope > 0) */
	bool leaking;              /* all three */
	double from_s, to_s;       /* the window judged, s of the run */
	double interval_s;         /* the length of each interval whose minimum is taken */
	int intervals;             /* how many */
	double per_s;              /* Sen's slope of the minima, units per second */
	double per_s_lo, per_s_hi; /* its 95% interval */
	double p;                  /* the test's two-sided p-value (Hamed–Rao corrected) */
	bool rising;               /* the test says rising at LEAK_ALPHA */
	double growth;             /* per_s over the window */
	double start_level, end_level; /* Sen's line at the window's ends */
	double noise; /* the minima's spread around the line (1.4826 MAD of the residuals) */
	double floor_abs, floor_rel; /* the floors given to leak_judge */
	double floor; /* the growth that is material: max(floor_abs, floor_rel x start level) */
	double half_per_s[2]; /* Sen's slope in each half of the window; NaN: too few readings */
};

/*
 * Judge one gauge given as per-point minima: t (s, increasing) and y, n points, each point
 * step_s long, over [from_s, to_s). floor_abs and floor_rel (a fraction of the starting
 * level) make the growth material. Fills *out (judged = false with why when there are
 * fewer than LEAK_MIN_INTERVALS intervals or the window is shorter than
 * LEAK_MIN_WINDOW_S). Pure: for tests on synthetic series.
 */
void leak_judge(const double *t, const double *y, int n, double step_s, double from_s, double to_s,
                double floor_abs, double floor_rel, struct leak_verdict *out);

/*
 * The leak analysis of r (docs/result-format.md, "analyses.leaks"): for each of
 * target_rss_bytes, target_open_fds and generator_rss_bytes that the run recorded, an
 * object {judged, why, leaking, significant, material, persistent, noise, fromS, toS,
 * intervalS, intervals, perSecond, perSecondLow, perSecondHigh, perRequest, p, growth,
 * level, limit, secondsToLimit, describe (leak_sentence)}, and findings (the leaks'
 * sentences). A series not judged has {judged, fromS, toS, why, leaking: null} and, for
 * target_rss_bytes, limit (leak_memory_limit, or null). NULL when the run had no
 * monitoring. The caller owns the reference.
 */
json_t *leak_analyse(const struct result *r);

/*
 * The sentence for a judged verdict v about the series `what` ("the target's memory
 * (RSS)"), sizes in binary units when bytes, else plain counts: a leak with its rate,
 * per_request (NaN: unknown) and, when to_limit is finite, the time until it reaches limit
 * (bytes); otherwise "no leak" with the reason that decided (v->reason) and its figures.
 * Written into buf (len bytes); returns buf.
 */
const char *leak_sentence(const struct leak_verdict *v, const char *what, bool bytes,
                          double per_request, double limit, double to_limit, char *buf, size_t len);

/*
 * The watched target's memory limit in bytes: --memory-limit (options.monitor.memoryLimit),
 * else its cgroup's (analyses.monitor.target.cgroupMemoryLimit); NaN when neither is known.
 * Whatever the run's length (the bottleneck's "within 10% of its limit" rule reads it too).
 */
double leak_memory_limit(const struct result *r);

#endif
