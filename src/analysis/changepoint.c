/* changepoint.c: E-Divisive means change points with a permutation test (changepoint.h). */
#include "analysis/changepoint.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/stats.h"
#include "util/common.h"

/*
 * The method (Matteson & James 2014, section 2.2): for a segment [s, e), the candidate
 * X = [s, tau), Y = [tau, kappa) with both at least min_size points has the divergence
 *
 *   E^ = 2/(nx ny) sum_{X x Y} d  -  sum_{X pairs} d / C(nx, 2)  -  sum_{Y pairs} d / C(ny, 2)
 *   Q^ = nx ny / (nx + ny) * E^,        d(i, j) = |y_i - y_j|^exponent
 *
 * and the segment's best split is the tau maximising Q^ over every tau and every kappa up
 * to the segment's end, as the ecp package's e.divisive does (not only kappa = e, as
 * MongoDB's signal-processing library does): a segment that holds a second change after
 * the first still shows its first one clearly. Only tau becomes a change point. Each round
 * splits the segment with the largest Q^; its significance is a permutation test of that
 * largest Q^ over all segments, with the points permuted within each current segment (as
 * ecp does), p = (#{permuted >= observed} + 1) / (permutations + 1).
 *
 * Cost: the n x n distances once, then O(L^2) per segment of L points from running sums
 * (no pow() after the first pass), so O(n^2) per permutation.
 */

/* A permuted maximum counts as >= the observed one within this relative rounding. */
#define CP_TIE_EPS 1e-12

/* ---- the best split of one segment ---------------------------------------------------- */

struct cp_work {
	int n, min_size;
	const double *d; /* n x n distances between the original points */
	const int *idx;  /* position -> original point (the identity, or a permutation) */
	double *rowcum;  /* scratch: distances from position p to [s, p) */
	double *across;  /* scratch: distances from position p to [s, tau) */
	double *inv;     /* inv[m] = 1 / m and ipairs[m] = 1 / C(m, 2), m in [1, n]: the */
	double *ipairs;  /* statistic without a division in the O(n^2) loop */
};

struct cp_split {
	int tau;  /* -1: the segment is too short to split */
	double q; /* Q^ at tau (the best over kappa) */
};

static inline double dist(const struct cp_work *w, int p, int q)
{
	return w->d[(size_t)w->idx[p] * (size_t)w->n + (size_t)w->idx[q]];
}

static inline double q_stat(const struct cp_work *w, int nx, int ny, double cross, double wx,
                            double wy)
{
	double e = 2 * cross * w->inv[nx] * w->inv[ny] - wx * w->ipairs[nx] - wy * w->ipairs[ny];
	return (double)nx * ny * w->inv[nx + ny] * e;
}

/* The Q^ of Y = [tau, kappa) for every kappa, given the sums for X = [s, tau); the
 * best (first on ties) into b. */
static void scan_kappa(const struct cp_work *w, int s, int tau, int e, double wx,
                       struct cp_split *b)
{
	int nx = tau - s;
	double cross = 0, wy = 0;
	for (int k = tau; k < e; k++) { /* point k joins Y */
		cross += w->across[k];
		wy += w->rowcum[k] - w->across[k];
		int ny = k + 1 - tau;
		if (ny < w->min_size)
			continue;
		double q = q_stat(w, nx, ny, cross, wx, wy);
		if (q > b->q) {
			b->q = q;
			b->tau = tau;
		}
	}
}

static struct cp_split best_split(const struct cp_work *w, int s, int e)
{
	struct cp_split b = { -1, -INFINITY };
	if (e - s < 2 * w->min_size)
		return b;
	for (int p = s; p < e; p++) {
		double acc = 0;
		for (int j = s; j < p; j++)
			acc += dist(w, p, j);
		w->rowcum[p] = acc;
		w->across[p] = 0;
	}
	double wx = 0;
	for (int tau = s + 1; tau <= e - w->min_size; tau++) {
		int t = tau - 1; /* point t joins X */
		wx += w->rowcum[t];
		for (int p = tau; p < e; p++)
			w->across[p] += dist(w, p, t);
		if (tau - s >= w->min_size)
			scan_kappa(w, s, tau, e, wx, &b);
	}
	return b;
}

/* ---- the permutation test ------------------------------------------------------------- */

/* The largest best-split Q^ over the segments [bounds[i], bounds[i + 1]). */
static double max_split(const struct cp_work *w, const int *bounds, int nseg)
{
	double best = -INFINITY;
	for (int i = 0; i < nseg; i++) {
		struct cp_split b = best_split(w, bounds[i], bounds[i + 1]);
		if (b.tau >= 0 && b.q > best)
			best = b.q;
	}
	return best;
}

/* The permutation test's p of the observed largest Q^; once p can only exceed alpha the
 * test stops early and returns a p above alpha (not the full test's p, which nobody sees). */
static double perm_test(struct cp_work *w, int *perm, const int *bounds, int nseg, double observed,
                        const struct cp_opts *o, struct stats_rng *rng)
{
	int permutations = o->permutations;
	const int *saved = w->idx;
	double tie = observed - CP_TIE_EPS * fabs(observed);
	int ge = 0;
	for (int i = 0; i < w->n; i++)
		perm[i] = i;
	w->idx = perm;
	for (int r = 0; r < permutations; r++) {
		for (int g = 0; g < nseg; g++) /* Fisher-Yates within each segment */
			for (int i = bounds[g + 1] - 1; i > bounds[g]; i--) {
				int j = bounds[g] +
				        (int)stats_rng_below(rng, (uint64_t)(i - bounds[g] + 1));
				int t = perm[i];
				perm[i] = perm[j];
				perm[j] = t;
			}
		if (max_split(w, bounds, nseg) >= tie &&
		    (++ge + 1.0) / (permutations + 1.0) > o->alpha)
			break;
	}
	w->idx = saved;
	return (ge + 1.0) / (permutations + 1.0);
}

/* ---- cp_detect -------------------------------------------------------------------------- */

static bool opts_ok(const struct cp_opts *o)
{
	return o->alpha > 0 && o->alpha <= 1 && o->permutations >= 1 &&
	       o->permutations <= CP_MAX_PERMUTATIONS && o->min_size >= 2 && o->exponent > 0 &&
	       o->exponent < 2;
}

/* The distances |y_i - y_j|^exponent into d (n x n); false if one overflows. */
static bool fill_distances(const double *y, int n, double exponent, double *d)
{
	double total = 0;
	for (int i = 0; i < n; i++) {
		d[(size_t)i * n + i] = 0;
		for (int j = i + 1; j < n; j++) {
			double v = fabs(y[i] - y[j]);
			if (exponent != 1)
				v = pow(v, exponent);
			d[(size_t)i * n + j] = d[(size_t)j * n + i] = v;
			total += v;
		}
	}
	return isfinite(total);
}

/* The median of y[a..b) (b > a; at most CP_MAX_POINTS values). */
static double median_of(const double *y, int a, int b)
{
	double v[CP_MAX_POINTS];
	int n = MIN(b - a, CP_MAX_POINTS);
	memcpy(v, y + a, (size_t)n * sizeof(*v));
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Inserts change point tau (with its q and p) into the sorted bounds after segment g. */
static void insert_point(int *bounds, double *qs, double *ps, struct cp_split *splits, int nseg,
                         int g, int tau, double p)
{
	memmove(&bounds[g + 2], &bounds[g + 1], (size_t)(nseg - g) * sizeof(*bounds));
	memmove(&qs[g + 2], &qs[g + 1], (size_t)(nseg - g) * sizeof(*qs));
	memmove(&ps[g + 2], &ps[g + 1], (size_t)(nseg - g) * sizeof(*ps));
	memmove(&splits[g + 2], &splits[g + 1], (size_t)(nseg - g - 1) * sizeof(*splits));
	bounds[g + 1] = tau;
	qs[g + 1] = splits[g].q;
	ps[g + 1] = p;
}

int cp_detect(const double *y, int n, const struct cp_opts *o, struct cp_point *out)
{
	if (!y || !o || !out || !opts_ok(o) || n < 2 * o->min_size || n > CP_MAX_N)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		if (!isfinite(y[i]))
			return -EINVAL;
	double *d = xmalloc((size_t)n * n * sizeof(*d));
	if (!fill_distances(y, n, o->exponent, d)) {
		free(d);
		return -EINVAL;
	}
	int *ident = xmalloc((size_t)n * sizeof(*ident)), *perm = xmalloc(n * sizeof(*perm));
	for (int i = 0; i < n; i++)
		ident[i] = i;
	struct cp_work w = { .n = n,
		             .min_size = o->min_size,
		             .d = d,
		             .idx = ident,
		             .rowcum = xmalloc(n * sizeof(double)),
		             .across = xmalloc(n * sizeof(double)),
		             .inv = xmalloc((n + 1) * sizeof(double)),
		             .ipairs = xmalloc((n + 1) * sizeof(double)) };
	w.inv[0] = w.ipairs[0] = w.ipairs[1] = 0; /* never used: segments hold >= 2 points */
	for (int m = 1; m <= n; m++) {
		w.inv[m] = 1.0 / m;
		if (m >= 2)
			w.ipairs[m] = 2.0 / ((double)m * (m - 1));
	}
	struct stats_rng rng;
	stats_rng_seed(&rng, o->seed); /* xoshiro256** (stats.h) */

	/* bounds[0..nseg] = 0, the change points so far, n; qs/ps[i] belong to bounds[i] */
	int bounds[CP_MAX_POINTS + 2], nseg = 1;
	double qs[CP_MAX_POINTS + 2], ps[CP_MAX_POINTS + 2];
	struct cp_split splits[CP_MAX_POINTS + 1];
	bounds[0] = 0;
	bounds[1] = n;
	splits[0] = best_split(&w, 0, n);
	while (nseg - 1 < CP_MAX_POINTS) {
		int g = -1;
		for (int i = 0; i < nseg; i++)
			if (splits[i].tau >= 0 && (g < 0 || splits[i].q > splits[g].q))
				g = i;
		if (g < 0)
			break;
		double p = perm_test(&w, perm, bounds, nseg, splits[g].q, o, &rng);
		if (p > o->alpha)
			break;
		insert_point(bounds, qs, ps, splits, nseg, g, splits[g].tau, p);
		nseg++;
		splits[g] = best_split(&w, bounds[g], bounds[g + 1]);
		splits[g + 1] = best_split(&w, bounds[g + 1], bounds[g + 2]);
	}
	for (int i = 1; i < nseg; i++)
		out[i - 1] = (struct cp_point){ .index = bounds[i],
			                        .q = qs[i],
			                        .p = ps[i],
			                        .before = median_of(y, bounds[i - 1], bounds[i]),
			                        .after = median_of(y, bounds[i], bounds[i + 1]) };
	free(w.ipairs);
	free(w.inv);
	free(w.across);
	free(w.rowcum);
	free(perm);
	free(ident);
	free(d);
	return nseg - 1;
}
