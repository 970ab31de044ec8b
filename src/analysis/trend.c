/* trend.c: Mann–Kendall trend test with the Hamed–Rao correction, Sen's slope and its CI. */
#include "analysis/trend.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

/* Pairwise slopes kept in memory and sorted (16 MB); more are selected by streaming. */
#define SEL_KEEP   (1u << 21)
#define RADIX_BITS 16
#define RADIX_SIZE (1u << RADIX_BITS)
#define SEL_MAX    4 /* order statistics asked of one slopes_select() call */

/* ---- normal distribution --------------------------------------------------------- */

static double norm_cdf(double z)
{
	return 0.5 * erfc(-z * M_SQRT1_2);
}

double trend_norm_ppf(double p)
{
	if (!(p > 0 && p < 1))
		return NAN;
	if (p > 0.5)
		return -trend_norm_ppf(1 - p); /* 1 - p is exact for p in [0.5, 1] */
	/* Solve Phi(z) = p for z <= 0: Newton steps, bisection whenever a step leaves the
	 * bracket [lo, hi] that always holds the root (Phi(-40) underflows to 0). */
	double lo = -40, hi = 0, z = -sqrt(-2 * log(p));
	if (z < lo)
		z = lo;
	for (int it = 0; it < 200; it++) {
		double f = norm_cdf(z) - p;
		if (f == 0)
			break;
		if (f > 0)
			hi = z;
		else
			lo = z;
		double dens = exp(-0.5 * z * z) / sqrt(2 * M_PI);
		double zn = dens > 0 ? z - f / dens : NAN;
		if (!(zn > lo && zn < hi))
			zn = 0.5 * (lo + hi);
		bool done = fabs(zn - z) <= 1e-15 * fmax(1, fabs(z));
		z = zn;
		if (done || hi - lo <= 1e-15 * fmax(1, fabs(z)))
			break;
	}
	return z;
}

/* ---- Mann–Kendall S and ties ----------------------------------------------------- */

/* Sort a[0..n) with tmp as scratch; return the number of strict inversions (i < j,
 * a[i] > a[j]) of the original order. */
static long long sort_count_inversions(double *a, double *tmp, int n)
{
	if (n < 2)
		return 0;
	int h = n / 2;
	long long inv = sort_count_inversions(a, tmp, h) + sort_count_inversions(a + h, tmp, n - h);
	int i = 0, j = h, k = 0;
	while (i < h && j < n) {
		if (a[j] < a[i]) {
			inv += h - i;
			tmp[k++] = a[j++];
		} else {
			tmp[k++] = a[i++];
		}
	}
	while (i < h)
		tmp[k++] = a[i++];
	while (j < n)
		tmp[k++] = a[j++];
	memcpy(a, tmp, (size_t)n * sizeof(*a));
	return inv;
}

struct mk {
	long long s;
	long long tied_pairs; /* sum over tie groups of t(t-1)/2 */
	double var_s;         /* tie-corrected, uncorrected for autocorrelation */
};

/* S = concordant - discordant over the pairs (i < j) in time order, in O(n log n). */
static void mk_score(const double *y, int n, struct mk *m)
{
	double *a = xmalloc((size_t)n * sizeof(*a));
	double *tmp = xmalloc((size_t)n * sizeof(*tmp));
	memcpy(a, y, (size_t)n * sizeof(*a));
	long long pairs = (long long)n * (n - 1) / 2;
	long long disc = sort_count_inversions(a, tmp, n);
	long long tied = 0, tiesum = 0;
	for (int i = 0; i < n;) {
		int j = i + 1;
		while (j < n && a[j] == a[i])
			j++;
		long long t = j - i;
		tied += t * (t - 1) / 2;
		tiesum += t * (t - 1) * (2 * t + 5);
		i = j;
	}
	m->s = pairs - tied - 2 * disc;
	m->tied_pairs = tied;
	m->var_s = (double)((long long)n * (n - 1) * (2LL * n + 5) - tiesum) / 18.0;
	free(tmp);
	free(a);
}

/* ---- Sen's slope: exact order statistics of the pairwise slopes ------------------ */

struct slopes {
	const double *x, *y;
	int n;
	uint64_t count;  /* n(n-1)/2 */
	double *sorted;  /* all slopes sorted when count <= SEL_KEEP, else NULL */
	uint64_t *hist0; /* else: counts of the top RADIX_BITS bits of every key */
};

static inline double pair_slope(const double *x, const double *y, int i, int j)
{
	return (y[j] - y[i]) / (x[j] - x[i]) + 0.0; /* + 0.0 turns -0 into +0 */
}

/* Order-preserving map of a (non-NaN) double onto uint64_t, and back. */
static inline uint64_t dkey(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof(u));
	return (u >> 63) ? ~u : u | (1ULL << 63);
}

static inline double dval(uint64_t k)
{
	uint64_t u = (k >> 63) ? k & ~(1ULL << 63) : ~k;
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}

static void slopes_init(struct slopes *sl, const double *x, const double *y, int n)
{
	sl->x = x;
	sl->y = y;
	sl->n = n;
	sl->count = (uint64_t)n * (uint64_t)(n - 1) / 2;
	sl->sorted = NULL;
	sl->hist0 = NULL;
	if (sl->count > SEL_KEEP) { /* the first radix pass is the same for every rank */
		sl->hist0 = xcalloc(RADIX_SIZE, sizeof(*sl->hist0));
		for (int i = 0; i < n; i++)
			for (int j = i + 1; j < n; j++)
				sl->hist0[dkey(pair_slope(x, y, i, j)) >> (64 - RADIX_BITS)]++;
		return;
	}
	double *s = xmalloc(sl->count * sizeof(*s));
	size_t k = 0;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			s[k++] = pair_slope(x, y, i, j);
	qsort(s, k, sizeof(*s), cmp_double);
	sl->sorted = s;
}

static void slopes_free(struct slopes *sl)
{
	free(sl->sorted);
	free(sl->hist0);
	sl->sorted = NULL;
	sl->hist0 = NULL;
}

/* One order statistic being narrowed down: the slopes whose key starts with the top
 * `bits` bits of `prefix` number `count`, and `below` slopes have smaller keys. */
struct sel {
	uint64_t rank, prefix, below, count, mask;
	int bits;
	bool done, collect;
	double value;
	double *buf; /* collect mode: the slopes in the bucket */
	size_t nbuf;
	uint64_t *hist; /* histogram mode: counts of the next RADIX_BITS bits */
};

static void sel_pass(const struct slopes *sl, struct sel *t, int k)
{
	const double *x = sl->x, *y = sl->y;
	for (int i = 0; i < sl->n; i++) {
		for (int j = i + 1; j < sl->n; j++) {
			double s = pair_slope(x, y, i, j);
			uint64_t key = dkey(s);
			for (int m = 0; m < k; m++) {
				if (t[m].done || ((key ^ t[m].prefix) & t[m].mask))
					continue;
				if (t[m].collect)
					t[m].buf[t[m].nbuf++] = s;
				else
					t[m].hist[(key >> (64 - t[m].bits - RADIX_BITS)) &
					          (RADIX_SIZE - 1)]++;
			}
		}
	}
}

/* After a pass: settle the collected targets, narrow the histogram ones by hist. */
static void sel_settle(struct sel *t, const uint64_t *hist)
{
	if (t->collect) {
		qsort(t->buf, t->nbuf, sizeof(*t->buf), cmp_double);
		t->value = t->buf[t->rank - t->below];
		free(t->buf);
		t->buf = NULL;
		t->done = true;
		return;
	}
	uint64_t cum = t->below;
	unsigned b = 0;
	while (b < RADIX_SIZE - 1 && cum + hist[b] <= t->rank)
		cum += hist[b++];
	t->bits += RADIX_BITS;
	t->prefix |= (uint64_t)b << (64 - t->bits);
	t->mask = t->bits >= 64 ? ~0ULL : ~(~0ULL >> t->bits);
	t->below = cum;
	t->count = hist[b];
	if (t->bits >= 64) { /* every slope left has this exact bit pattern */
		t->value = dval(t->prefix);
		t->done = true;
	}
}

/* vals[m] = the ranks[m]-th smallest slope (0-based, ranks[m] < count), for k <= SEL_MAX. */
static void slopes_select(const struct slopes *sl, const uint64_t *ranks, double *vals, int k)
{
	if (sl->sorted) {
		for (int m = 0; m < k; m++)
			vals[m] = sl->sorted[ranks[m]];
		return;
	}
	struct sel t[SEL_MAX];
	memset(t, 0, sizeof(t));
	for (int m = 0; m < k; m++) {
		t[m].rank = ranks[m];
		sel_settle(&t[m], sl->hist0);
	}
	for (;;) {
		int active = 0;
		for (int m = 0; m < k; m++) {
			if (t[m].done)
				continue;
			active++;
			t[m].collect = t[m].count <= SEL_KEEP;
			if (t[m].collect) {
				t[m].buf =
				    xmalloc((t[m].count ? t[m].count : 1) * sizeof(*t[m].buf));
				t[m].nbuf = 0;
			} else {
				t[m].hist = xcalloc(RADIX_SIZE, sizeof(*t[m].hist));
			}
		}
		if (!active)
			break;
		sel_pass(sl, t, k);
		for (int m = 0; m < k; m++) {
			if (!t[m].done)
				sel_settle(&t[m], t[m].hist);
			free(t[m].hist);
			t[m].hist = NULL;
		}
	}
	for (int m = 0; m < k; m++)
		vals[m] = t[m].value;
}

static double median_sorted(const double *a, size_t n)
{
	return n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
}

static double slopes_median(const struct slopes *sl)
{
	uint64_t r[2] = { (sl->count - 1) / 2, sl->count / 2 };
	double v[2];
	slopes_select(sl, r, v, sl->count % 2 ? 1 : 2);
	return sl->count % 2 ? v[0] : (v[0] + v[1]) / 2;
}

/* ---- Hamed–Rao ------------------------------------------------------------------- */

struct ranked {
	double v;
	int i;
};

static int cmp_ranked(const void *a, const void *b)
{
	return cmp_double(&((const struct ranked *)a)->v, &((const struct ranked *)b)->v);
}

/* Average ranks (1-based, ties get the mean of their ranks) of v[0..n) into r. */
static void rank_average(const double *v, int n, double *r)
{
	struct ranked *a = xmalloc((size_t)n * sizeof(*a));
	for (int i = 0; i < n; i++) {
		a[i].v = v[i];
		a[i].i = i;
	}
	qsort(a, (size_t)n, sizeof(*a), cmp_ranked);
	for (int i = 0; i < n;) {
		int j = i + 1;
		while (j < n && a[j].v == a[i].v)
			j++;
		double avg = (i + 1 + j) / 2.0; /* mean of ranks i+1 .. j */
		for (int k = i; k < j; k++)
			r[a[k].i] = avg;
		i = j;
	}
	free(a);
}

/* Hamed & Rao (1998) n/n*_s for y detrended with `slope` (see trend.h). */
static double hamed_rao_factor(const double *x, const double *y, int n, double slope)
{
	double *d = xmalloc((size_t)n * sizeof(*d));
	double *r = xmalloc((size_t)n * sizeof(*r));
	for (int i = 0; i < n; i++)
		d[i] = y[i] - slope * x[i];
	rank_average(d, n, r);
	double mean = (n + 1) / 2.0, c0 = 0;
	for (int i = 0; i < n; i++) {
		r[i] -= mean;
		c0 += r[i] * r[i];
	}
	double bound = trend_norm_ppf(0.975) / sqrt(n), sum = 0;
	if (c0 > 0) {
		int maxlag = MIN(TREND_HR_MAX_LAG, n - 3); /* the weight is 0 from lag n-2 on */
		for (int lag = 1; lag <= maxlag; lag++) {
			double c = 0;
			for (int i = 0; i + lag < n; i++)
				c += r[i] * r[i + lag];
			double rho = c / c0;
			if (fabs(rho) > bound)
				sum += (double)(n - lag) * (n - lag - 1) * (n - lag - 2) * rho;
		}
	}
	free(r);
	free(d);
	double f = 1 + 2 * sum / ((double)n * (n - 1) * (n - 2));
	return f > 1 ? f : 1;
}

/* ---- the test -------------------------------------------------------------------- */

static bool valid_input(const double *x, const double *y, int n, double alpha)
{
	if (!x || !y || n < TREND_MIN_N || n > TREND_MAX_N || !(alpha > 0 && alpha <= 0.5))
		return false;
	double ymin = INFINITY, ymax = -INFINITY;
	for (int i = 0; i < n; i++) {
		if (!isfinite(x[i]) || !isfinite(y[i]) || (i > 0 && !(x[i] > x[i - 1])))
			return false;
		ymin = fmin(ymin, y[i]);
		ymax = fmax(ymax, y[i]);
	}
	/* Pairwise differences must not overflow (inf/inf would make a NaN slope). */
	return isfinite(x[n - 1] - x[0]) && isfinite(ymax - ymin);
}

static double intercept_joint(const double *x, const double *y, int n, double slope)
{
	double *d = xmalloc((size_t)n * sizeof(*d));
	for (int i = 0; i < n; i++)
		d[i] = y[i] - slope * x[i];
	qsort(d, (size_t)n, sizeof(*d), cmp_double);
	double m = median_sorted(d, (size_t)n);
	free(d);
	return m;
}

/* The Sen (1968) / Gilbert (1987) rank bounds of the slope's interval, as scipy. */
static void slope_ci(const struct slopes *sl, double alpha, double var_s, double *lo, double *hi)
{
	double nt = (double)sl->count, c = trend_norm_ppf(1 - alpha / 2) * sqrt(var_s);
	double rl = nearbyint((nt - c) / 2) - 1, ru = nearbyint((nt + c) / 2);
	uint64_t r[2];
	r[0] = rl < 0 ? 0 : (uint64_t)rl;
	r[1] = ru > nt - 1 ? sl->count - 1 : (uint64_t)ru;
	if (r[0] > sl->count - 1)
		r[0] = sl->count - 1;
	double v[2];
	slopes_select(sl, r, v, 2);
	*lo = v[0];
	*hi = v[1];
}

int trend_test(const double *x, const double *y, int n, double alpha, enum trend_corr corr,
               struct trend_result *out)
{
	if (!out || !valid_input(x, y, n, alpha) ||
	    (corr != TREND_CORR_NONE && corr != TREND_CORR_HAMED_RAO))
		return -EINVAL;
	struct trend_result r = { .n = n, .alpha = alpha, .corr = corr, .var_factor = 1 };
	struct mk m;
	mk_score(y, n, &m);
	r.s = m.s;

	double pairs = (double)n * (n - 1) / 2;
	double denom = sqrt(pairs * (pairs - (double)m.tied_pairs));
	r.tau = denom > 0 ? (double)m.s / denom : 0;

	struct slopes sl;
	slopes_init(&sl, x, y, n);
	r.slope = slopes_median(&sl);
	r.intercept = intercept_joint(x, y, n, r.slope);
	if (corr == TREND_CORR_HAMED_RAO)
		r.var_factor = hamed_rao_factor(x, y, n, r.slope);
	r.var_s = m.var_s * r.var_factor;

	if (r.s != 0 && r.var_s > 0)
		r.z = (double)(r.s > 0 ? r.s - 1 : r.s + 1) / sqrt(r.var_s);
	r.p = erfc(fabs(r.z) * M_SQRT1_2);
	if (r.p < alpha)
		r.direction = r.s > 0 ? 1 : -1;

	slope_ci(&sl, alpha, r.var_s, &r.slope_lo, &r.slope_hi);
	slopes_free(&sl);
	*out = r;
	return 0;
}

/* ---- the one-line verdict -------------------------------------------------------- */

/* v with about three significant digits and no exponent in the usual range. */
static void fmt_num(double v, char *buf, size_t len)
{
	double a = fabs(v);
	if (a == 0) {
		snprintf(buf, len, "0");
		return;
	}
	int mag = (int)floor(log10(a));
	if (mag >= 2 && mag < 15)
		snprintf(buf, len, "%.0f", v);
	else if (mag >= -4 && mag < 2)
		snprintf(buf, len, "%.*f", 2 - mag, v);
	else
		snprintf(buf, len, "%.3g", v);
}

int trend_describe(const struct trend_result *r, const char *unit, enum trend_per per, char *buf,
                   size_t len)
{
	if (!r || !unit || !buf ||
	    (per != TREND_PER_SECOND && per != TREND_PER_MINUTE && per != TREND_PER_HOUR))
		return -EINVAL;
	if (r->direction == 0)
		return snprintf(buf, len, "stable (no trend at the %g%% level, p=%.2g)",
		                r->alpha * 100, r->p);
	const char *per_name = per == TREND_PER_SECOND   ? "second"
	                       : per == TREND_PER_MINUTE ? "minute"
	                                                 : "hour";
	double k = r->direction > 0 ? (double)per : -(double)per;
	char s[48], lo[48], hi[48];
	fmt_num(r->slope * k, s, sizeof(s));
	/* Falling: magnitudes, so the interval's ends swap. */
	fmt_num((r->direction > 0 ? r->slope_lo : r->slope_hi) * k, lo, sizeof(lo));
	fmt_num((r->direction > 0 ? r->slope_hi : r->slope_lo) * k, hi, sizeof(hi));
	return snprintf(buf, len, "%s %s%s%s per %s (%g%% CI %s\u2013%s)",
	                r->direction > 0 ? "rises" : "falls", s, *unit ? " " : "", unit, per_name,
	                (1 - r->alpha) * 100, lo, hi);
}
