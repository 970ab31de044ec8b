/* trend.h: Mann–Kendall trend test (optionally Hamed–Rao corrected) and Sen's slope. */
#ifndef STAMPEDE_TREND_H
#define STAMPEDE_TREND_H

#include <stddef.h>

/* Fewest and most points trend_test() accepts. Sen's slope is O(n^2) in time (2e8 pairs at
 * the cap, a few seconds; 8,640 points, a day at one per 10 s, take under a second), and
 * memory stays under about 100 MB (see trend_test). Callers with more points aggregate
 * first (per-minute minima, maxima or percentiles). */
#define TREND_MIN_N 4
#define TREND_MAX_N 20000

/* Lags of the rank autocorrelation summed by the Hamed–Rao correction (see trend_test). */
#define TREND_HR_MAX_LAG 10

/* Autocorrelation correction of Var(S). */
enum trend_corr {
	TREND_CORR_NONE,      /* plain Mann–Kendall: independent observations assumed */
	TREND_CORR_HAMED_RAO, /* Hamed & Rao (1998) variance correction (see trend_test) */
};

/* Time unit for trend_describe(): the slope is shown per this many seconds. */
enum trend_per {
	TREND_PER_SECOND = 1,
	TREND_PER_MINUTE = 60,
	TREND_PER_HOUR = 3600,
};

struct trend_result {
	int n;        /* number of points */
	double alpha; /* significance level the verdict and the CI were computed for */
	enum trend_corr corr;
	long long s;       /* Mann–Kendall S = sum over i<j of sign(y_j - y_i) */
	double var_s;      /* Var(S) with the tie correction, times var_factor */
	double var_factor; /* Hamed–Rao n/n*_s (1 with TREND_CORR_NONE) */
	double z;          /* (S -/+ 1) / sqrt(var_s), 0 when S = 0 or var_s = 0 */
	double p;          /* two-sided p-value of z under N(0,1) */
	double tau;      /* Kendall's tau-b of (x, y) as scipy.stats.kendalltau; 0 for constant y */
	int direction;   /* +1 rising, -1 falling, 0 no trend at alpha (p >= alpha) */
	double slope;    /* Sen's slope: median of (y_j - y_i)/(x_j - x_i), y units per x unit */
	double slope_lo; /* (1 - alpha) confidence interval of the slope, lower bound */
	double slope_hi; /* upper bound */
	double intercept; /* median of y - slope * x (scipy theilslopes method="joint") */
};

/*
 * Mann–Kendall trend test of y against time x, with Sen's slope and its confidence
 * interval. x: times in seconds (any unit works: the slope is y units per x unit), finite
 * and strictly increasing, not necessarily evenly spaced; y: finite values (the spans x[n-1] - x[0] and
 * max(y) - min(y) finite too); n points in
 * [TREND_MIN_N, TREND_MAX_N]; alpha: significance level in (0, 0.5], e.g. 0.05.
 *
 * S and Var(S) = [n(n-1)(2n+5) - sum_t t(t-1)(2t+5)] / 18 over the groups of t tied y are
 * those of Mann (1945) / Kendall (1975) as given by Gilbert (1987) ch. 16; Z has the
 * continuity correction; p = erfc(|Z|/sqrt 2).
 *
 * With TREND_CORR_HAMED_RAO, Var(S) is multiplied by Hamed & Rao's (1998, J. Hydrology 204:
 * 182-196) factor n/n*_s = 1 + 2/(n(n-1)(n-2)) sum_i (n-i)(n-i-1)(n-i-2) r(i),
 * where r(i) is the lag-i autocorrelation (lag in samples: the correction assumes roughly
 * even spacing) of the ranks of y - slope*x (Sen's slope, average ranks for ties), and
 * only the r(i) outside +-z(0.975)/sqrt(n) (significant at 5%, whatever alpha) are summed.
 * Two choices the paper leaves open, made for a detector whose false alarms cost most:
 * lags 1..TREND_HR_MAX_LAG only (R's modifiedmk and pymannkendall also offer the first 3;
 * every lag to n-1, their default, adds the noise of chance-significant far lags: in our
 * simulation, AR(1) phi=0.5 noise of 1,000 points was flagged in 9% of stable series
 * against 1% with 10 lags), and the factor is floored at 1, so negative autocorrelation
 * never narrows Var(S) (white noise then keeps its nominal 5% instead of about 9%). A constant detrended series: factor 1.
 *
 * Sen's slope is the median of the n(n-1)/2 pairwise slopes (the mean of the two middle
 * ones for an even count). Its interval is Sen (1968) eq. 2.6 / Gilbert (1987) §16.5 by
 * ranks, as scipy.stats.theilslopes: with C = z(1-alpha/2) sqrt(var_s) and N pairs, the
 * bounds are the round((N - C)/2)-th and (round((N + C)/2) + 1)-th smallest slopes (1-based,
 * round half to even, clamped to [1, N]). With TREND_CORR_HAMED_RAO var_s is the corrected
 * variance, so the interval widens with positive autocorrelation; with TREND_CORR_NONE it
 * equals scipy's theilslopes(y, x, 1 - alpha). The order statistics are selected exactly
 * without storing all pairs: up to 2^21 slopes are kept and sorted, beyond that the pairs
 * are streamed in a few passes of a radix selection on the bits of the doubles (each pass
 * O(n^2) time; at most 16.5 MB per order statistic, four at once).
 *
 * Returns 0 and fills *out, or -EINVAL with *out untouched when n is out of range, alpha
 * is not in (0, 0.5], a value is not finite, x is not strictly increasing, or an argument
 * is NULL.
 */
int trend_test(const double *x, const double *y, int n, double alpha, enum trend_corr corr,
               struct trend_result *out);

/*
 * One-line verdict from r into buf (NUL-terminated, truncated to len): "rises 1.8 ms per
 * hour (95% CI 1.2–2.4)", "falls …", or "stable (no trend at the 5% level, p=0.41)". unit is y's unit
 * ("ms", "bytes", "" for none); per is the time unit the slope is shown in, x being in
 * seconds. The direction is the test's (r->direction), the figures Sen's slope and its
 * interval. Returns the length snprintf() would have written, or -EINVAL for NULL args.
 */
int trend_describe(const struct trend_result *r, const char *unit, enum trend_per per, char *buf,
                   size_t len);

/* The standard normal quantile: z with Phi(z) = p, for p in (0, 1) (NaN otherwise), from
 * C99 erfc by safeguarded Newton iteration (accurate to a few ulps). */
double trend_norm_ppf(double p);

#endif
