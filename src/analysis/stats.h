/*
 * stats.h: two-sample statistics for comparing runs (issue #13, docs/compare.md): the
 * Mann–Whitney U test and a moving-block bootstrap confidence interval for the ratio of a
 * statistic of two autocorrelated series. Both take per-interval values (e.g. each
 * second's p95 after the ramp), never per-request samples: requests are numerous and
 * autocorrelated, and a per-request test calls every difference significant.
 */
#ifndef STAMPEDE_ANALYSIS_STATS_H
#define STAMPEDE_ANALYSIS_STATS_H

#include <stdbool.h>
#include <stdint.h>

/* The most values per sample the functions accept (a day of seconds). */
#define STATS_MAX_N 86400

/* The most bootstrap resamples stats_block_bootstrap_ratio() accepts. */
#define STATS_MAX_RESAMPLES 1000000

/* The alternative hypothesis of a test of x against y. */
enum stats_alt {
	STATS_TWO_SIDED,
	STATS_LESS,    /* x tends to be smaller than y */
	STATS_GREATER, /* x tends to be larger than y */
};

/* z is the normal approximation's (U' - nx ny / 2 - 1/2) / sigma, U' being the U of x
 * (STATS_GREATER), of y (STATS_LESS) or the larger (STATS_TWO_SIDED), so that p = Q(z),
 * twice that when two-sided; 0 when p is exact or every value is equal. */
struct stats_mwu {
	double u;   /* U of x: the number of pairs (x_i, y_j) with x_i > y_j, ties counting 1/2 */
	double z;   /* the normal approximation's z (above) */
	double p;   /* p-value for the alternative */
	bool exact; /* p from the exact distribution of U (a small sample, no ties) */
};

/*
 * Mann–Whitney U test of x (nx values) against y (ny), finite values, each n in
 * [1, STATS_MAX_N]. As scipy.stats.mannwhitneyu(x, y, alternative=..., method="auto",
 * use_continuity=True) of scipy 1.10: U is x's statistic; the exact distribution when
 * the smaller sample has at most 8 values and no value occurs twice in x and y together
 * (scipy's "auto": asymptotic as soon as both have more than 8), else the normal
 * approximation with the tie correction of the variance and the continuity correction
 * (p = 1 when every value is equal). The exact tail is P(U >= observed) counted exactly in
 * 128-bit integers from the Gaussian binomial coefficient [nx+ny, min(nx,ny)]_q, the
 * generating function of Mann & Whitney's recurrence; two-sided p is twice the tail,
 * clipped to 1. Returns 0 and fills *out, or -EINVAL (an argument NULL, a bad size or
 * alternative, a non-finite value) or -ENOMEM, with *out untouched.
 * Mann & Whitney (1947), Ann. Math. Statist. 18(1): 50-60.
 */
int stats_mann_whitney(const double *x, int nx, const double *y, int ny, enum stats_alt alt,
                       struct stats_mwu *out);

/* A statistic of n values (e.g. stats_median); may reorder a copy it is given. */
typedef double (*stats_fn)(double *v, int n);

/* The median of v (reordered; the mean of the two middle values when n is even), or NAN
 * when n <= 0. O(n) expected, O(n log n) at worst. */
double stats_median(double *v, int n);
/* The mean of v, or NAN when n <= 0. */
double stats_mean(double *v, int n);

struct stats_ratio_ci {
	double ratio;  /* stat(y) / stat(x): the point estimate (NAN when stat(x) is 0) */
	double lo, hi; /* the (level) percentile interval of the bootstrap ratios */
	int block;     /* the block length used for x */
	int block_y;   /* the block length used for y */
	int resamples; /* B */
	int kept;      /* the resamples whose ratio counted (stat(x*) not 0) */
};

/*
 * Moving-block bootstrap (Künsch 1989; circular blocks, Politis & Romano 1992) of the
 * ratio stat(y) / stat(x) of two independent series (x the baseline, y the current run),
 * each resampled in blocks of consecutive values so that their autocorrelation is kept:
 * a resample of n values is ceil(n / b) blocks of b values starting at uniform random
 * positions, wrapping around the end, cut to n.
 * block: the block length, or 0 for the default ceil(n^(1/3)) per series (at least 1);
 * a length above a series' n is cut to n. block = 1 is the plain i.i.d. bootstrap.
 * resamples: B in [1, STATS_MAX_RESAMPLES] (e.g. 2000); level in (0, 1), e.g. 0.95;
 * seed: the generator's seed (stats_rng_seed), so a result is reproducible. Each n in
 * [2, STATS_MAX_N], finite values. The interval is the percentile interval of the B
 * ratios: their (1 - level)/2 and (1 + level)/2 quantiles, interpolated linearly between
 * order statistics (numpy's default). Resamples where stat(x*) is 0 or the ratio is NaN
 * are left out (and if more than half are, lo = hi = NAN). Allocates one work buffer per
 * call, none per resample. Returns 0 and fills *out, or -EINVAL (an argument NULL or out
 * of range, a non-finite value) or -ENOMEM, with *out untouched.
 */
int stats_block_bootstrap_ratio(const double *x, int nx, const double *y, int ny, stats_fn stat,
                                int block, int resamples, double level, uint64_t seed,
                                struct stats_ratio_ci *out);

/*
 * The bootstrap's generator: xoshiro256** (Blackman & Vigna 2018, prng.di.unimi.it), its
 * state filled from a 64-bit seed by splitmix64, as the authors advise. Public so that its
 * output can be checked against the reference implementations'.
 */
struct stats_rng {
	uint64_t s[4];
};

/* One step of splitmix64 (Steele, Lea & Flood 2014; Vigna's splitmix64.c): advances
 * *state and returns the next output. */
uint64_t stats_splitmix64(uint64_t *state);
/* Seed r: its four words are the first four splitmix64 outputs from seed. */
void stats_rng_seed(struct stats_rng *r, uint64_t seed);
/* The next xoshiro256** output. */
uint64_t stats_rng_next(struct stats_rng *r);
/* A uniform integer in [0, n), n >= 1 (Lemire's multiply-shift; bias below n / 2^64). */
uint64_t stats_rng_below(struct stats_rng *r, uint64_t n);

#endif
