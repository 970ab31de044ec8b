/*
 * changepoint.h: change points in a run history (issue #13, docs/compare.md): E-Divisive
 * means (Matteson & James 2014, "A Nonparametric Approach for Multiple Change Point
 * Analysis of Multivariate Data", JASA 109(505): 334-345), as MongoDB uses it on its
 * performance tests (Daly et al. 2020, "Change Point Detection in Software Performance
 * Testing", ICPE '20), with a permutation test of each change point's significance. A
 * slow creep that no single comparison with a baseline catches still shows as a change in
 * the history's level.
 */
#ifndef STAMPEDE_ANALYSIS_CHANGEPOINT_H
#define STAMPEDE_ANALYSIS_CHANGEPOINT_H

#include <stdint.h>

/* The most points (runs) cp_detect() accepts (it keeps their n x n distances, 8 MiB at
 * the most), the most change points it reports, and the most permutations of a test. */
#define CP_MAX_N            1024
#define CP_MAX_POINTS       64
#define CP_MAX_PERMUTATIONS 100000

struct cp_opts {
	double alpha;     /* significance of each change point, in (0, 1] (e.g. 0.05) */
	int permutations; /* of the permutation test, in [1, CP_MAX_PERMUTATIONS] (e.g. 199) */
	int min_size;     /* the fewest points in a segment, at least 2 (e.g. 3) */
	double exponent;  /* the divergence's exponent in (0, 2) (1: energy distance) */
	uint64_t seed;    /* the permutations' seed, so a result is reproducible */
};

struct cp_point {
	int index;     /* the first point of the new segment (0-based) */
	double q;      /* the divergence statistic Q^ at the split, when it was found */
	double p;      /* the permutation test's p-value, (#{perm >= q} + 1) / (perms + 1) */
	double before; /* the median of the segment before, and of the segment after, in the */
	double after;  /* final segmentation (between this point and its neighbours): the
	                  level each side holds, which one stray run (a stalled machine's p95
	                  twice the rest) does not move as it moves a mean */
};

/*
 * Change points of y (n values in time order, finite): repeatedly the split maximising
 * the E-Divisive statistic over every segment, kept while the permutation test finds it
 * significant (p <= alpha). The same y, options and seed give the same answer. Writes at
 * most CP_MAX_POINTS points into out, in index order; returns how many, or -EINVAL (n out
 * of [2 * min_size, CP_MAX_N], bad options, a non-finite value or one so large that its
 * distances overflow). Allocates only temporarily.
 */
int cp_detect(const double *y, int n, const struct cp_opts *o, struct cp_point *out);

#endif
