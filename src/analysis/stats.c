/* stats.c: the Mann–Whitney U test and the moving-block bootstrap of a ratio (stats.h). */
#include "analysis/stats.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

/* scipy's "auto" rule: the exact distribution unless both samples are larger than this. */
#define MWU_EXACT_MAX 8

typedef __int128 i128;

static bool all_finite(const double *v, int n)
{
	for (int i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return false;
	return true;
}

/* --------------------------------------------------------------------------------------
 * Mann–Whitney U
 * -------------------------------------------------------------------------------------- */

/* What one pass over the two sorted samples yields. */
struct mwu_ranks {
	double u1;       /* U of x */
	double tie_term; /* sum over groups of t equal values of t^3 - t */
	bool ties;
};

/* U of x (R1 - nx(nx+1)/2 with average ranks, counted as pairs) and the tie groups of the
 * sorted samples xs and ys. */
static void mwu_rank(const double *xs, int nx, const double *ys, int ny, struct mwu_ranks *r)
{
	int i = 0, j = 0;
	r->u1 = 0;
	r->tie_term = 0;
	r->ties = false;
	while (i < nx || j < ny) {
		double v = j == ny || (i < nx && xs[i] < ys[j]) ? xs[i] : ys[j];
		int below = j, cx = 0, cy = 0;
		while (i < nx && xs[i] == v)
			i++, cx++;
		while (j < ny && ys[j] == v)
			j++, cy++;
		r->u1 += cx * (below + 0.5 * cy);
		double t = cx + cy;
		if (t > 1) {
			r->ties = true;
			r->tie_term += t * t * t - t;
		}
	}
}

static i128 gcd_small(i128 a, int b)
{
	int x = (int)(a % b), y = b;
	while (x) {
		int t = y % x;
		y = x;
		x = t;
	}
	return y;
}

/* The binomial coefficient C(n + m, m), exact (it fits: C(86408, 8) < 2^117). */
static i128 binom(int n, int m)
{
	i128 c = 1;
	for (int i = 1; i <= m; i++) {
		i128 g = gcd_small(c, i);
		c = c / g * ((n + i) / (i / (int)g)); /* i / g divides n + i: the result is whole */
	}
	return c;
}

/*
 * The number of arrangements of m x's and n y's with U <= k, for k <= m n / 2: the sum of
 * the first k + 1 coefficients of the Gaussian binomial [n+m, m]_q, built as
 * prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i), each step an exact [n+i, i]_q whose
 * coefficients are at most C(n+i, i). Only the coefficients up to k are kept: both
 * operations are triangular. Returns 0 or -ENOMEM.
 */
static int mwu_count_le(int m, int n, int k, i128 *count)
{
	i128 *c = calloc((size_t)k + 1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c[0] = 1;
	for (int i = 1; i <= m; i++) {
		for (int j = k; j >= n + i; j--)
			c[j] -= c[j - (n + i)];
		for (int j = i; j <= k; j++)
			c[j] += c[j - i];
	}
	i128 sum = 0;
	for (int j = 0; j <= k; j++)
		sum += c[j];
	free(c);
	*count = sum;
	return 0;
}

/* P(U >= u) under the null for samples of m and n values without ties (u whole). */
static int mwu_exact_sf(int m, int n, long long u, double *p)
{
	long long mn = (long long)m * n;
	if (u <= 0) {
		*p = 1;
		return 0;
	}
	if (m > n) {
		int t = m;
		m = n;
		n = t;
	}
	/* P(U >= u) = P(U <= mn - u) by symmetry; sum the shorter of that and its complement
	 * P(U <= u - 1). */
	i128 total = binom(n, m), count;
	bool complement = mn - u > u - 1;
	int k = (int)(complement ? u - 1 : mn - u);
	int rc = mwu_count_le(m, n, k, &count);
	if (rc < 0)
		return rc;
	if (complement)
		count = total - count;
	*p = (double)count / (double)total;
	return 0;
}

/* The normal approximation with the tie and continuity corrections: z and P(Z >= z). */
static void mwu_normal_sf(int nx, int ny, double u, double tie_term, double *z, double *p)
{
	double n = (double)nx + ny;
	double var = (double)nx * ny / 12.0 * ((n + 1) - tie_term / (n * (n - 1)));
	if (!(var > 0)) { /* every value equal: no evidence either way */
		*z = 0;
		*p = 1;
		return;
	}
	*z = (u - (double)nx * ny / 2 - 0.5) / sqrt(var);
	*p = 0.5 * erfc(*z / M_SQRT2);
}

static bool mwu_valid(const double *x, int nx, const double *y, int ny, enum stats_alt alt,
                      const struct stats_mwu *out)
{
	return x && y && out && nx >= 1 && nx <= STATS_MAX_N && ny >= 1 && ny <= STATS_MAX_N &&
	       (alt == STATS_TWO_SIDED || alt == STATS_LESS || alt == STATS_GREATER) &&
	       all_finite(x, nx) && all_finite(y, ny);
}

int stats_mann_whitney(const double *x, int nx, const double *y, int ny, enum stats_alt alt,
                       struct stats_mwu *out)
{
	if (!mwu_valid(x, nx, y, ny, alt, out))
		return -EINVAL;
	double *xs = malloc(((size_t)nx + ny) * sizeof(*xs)), *ys = xs + nx;
	if (!xs)
		return -ENOMEM;
	memcpy(xs, x, (size_t)nx * sizeof(*xs));
	memcpy(ys, y, (size_t)ny * sizeof(*ys));
	qsort(xs, (size_t)nx, sizeof(*xs), cmp_double);
	qsort(ys, (size_t)ny, sizeof(*ys), cmp_double);
	struct mwu_ranks r;
	mwu_rank(xs, nx, ys, ny, &r);
	free(xs);

	double u1 = r.u1, u2 = (double)nx * ny - u1;
	double u = alt == STATS_GREATER ? u1 : alt == STATS_LESS ? u2 : fmax(u1, u2);
	struct stats_mwu res = { .u = u1, .z = 0, .exact = false };
	if ((nx <= MWU_EXACT_MAX || ny <= MWU_EXACT_MAX) && !r.ties) {
		res.exact = true;
		int rc = mwu_exact_sf(nx, ny, (long long)u, &res.p);
		if (rc < 0)
			return rc;
	} else {
		mwu_normal_sf(nx, ny, u, r.tie_term, &res.z, &res.p);
	}
	if (alt == STATS_TWO_SIDED)
		res.p *= 2;
	res.p = fmin(fmax(res.p, 0), 1);
	*out = res;
	return 0;
}

/* --------------------------------------------------------------------------------------
 * median, mean
 * -------------------------------------------------------------------------------------- */

static void swap_double(double *a, double *b)
{
	double t = *a;
	*a = *b;
	*b = t;
}

static double median3(double a, double b, double c)
{
	if (a > b)
		swap_double(&a, &b);
	return c < a ? a : c > b ? b : c;
}

/*
 * Leave v[k] as the k-th smallest (0-based), with v[0..k-1] <= v[k] <= v[k+1..]: Hoare's
 * FIND with a median-of-three pivot (equal values split evenly), sorting what is left
 * when the partitions keep coming out lopsided, so the worst case is O(n log n).
 */
static void select_kth(double *v, int n, int k)
{
	int l = 0, r = n - 1, budget = 8;
	for (int m = n; m > 1; m >>= 1)
		budget += 2;
	while (l < r) {
		if (budget-- == 0) {
			qsort(v + l, (size_t)(r - l + 1), sizeof(*v), cmp_double);
			return;
		}
		double piv = median3(v[l], v[l + (r - l) / 2], v[r]);
		int i = l, j = r;
		while (i <= j) {
			while (v[i] < piv)
				i++;
			while (piv < v[j])
				j--;
			if (i <= j)
				swap_double(&v[i++], &v[j--]);
		}
		if (j < k)
			l = i;
		if (k < i)
			r = j;
	}
}

double stats_median(double *v, int n)
{
	if (n <= 0)
		return NAN;
	int k = n / 2;
	select_kth(v, n, k);
	if (n % 2)
		return v[k];
	double lower = v[0];
	for (int i = 1; i < k; i++)
		lower = fmax(lower, v[i]);
	return (lower + v[k]) / 2;
}

double stats_mean(double *v, int n)
{
	if (n <= 0)
		return NAN;
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += v[i];
	return sum / n;
}

/* --------------------------------------------------------------------------------------
 * generator
 * -------------------------------------------------------------------------------------- */

uint64_t stats_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void stats_rng_seed(struct stats_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = stats_splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t stats_rng_next(struct stats_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t stats_rng_below(struct stats_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)stats_rng_next(r) * n) >> 64);
}

/* --------------------------------------------------------------------------------------
 * moving-block bootstrap
 * -------------------------------------------------------------------------------------- */

/* The default block length: the smallest b with b^3 >= n. */
static int default_block(int n)
{
	int b = 1;
	while ((long long)b * b * b < n)
		b++;
	return b;
}

/* One circular block resample of v (n values, blocks of b) into out. */
static void resample_blocks(struct stats_rng *rng, const double *v, int n, int b, double *out)
{
	for (int filled = 0; filled < n;) {
		int start = (int)stats_rng_below(rng, (uint64_t)n);
		int len = b < n - filled ? b : n - filled;
		int first = len < n - start ? len : n - start; /* before wrapping around */
		memcpy(out + filled, v + start, (size_t)first * sizeof(*out));
		memcpy(out + filled + first, v, (size_t)(len - first) * sizeof(*out));
		filled += len;
	}
}

/* The q-quantile of the sorted a[0..n-1], interpolated linearly (numpy's "linear"). */
static double quantile_sorted(const double *a, int n, double q)
{
	double h = (n - 1) * q;
	int i = (int)floor(h);
	if (i >= n - 1)
		return a[n - 1];
	return a[i] + (h - i) * (a[i + 1] - a[i]);
}

/* stat of a copy of v (stat may reorder what it is given). */
static double stat_of_copy(stats_fn stat, const double *v, int n, double *work)
{
	memcpy(work, v, (size_t)n * sizeof(*work));
	return stat(work, n);
}

static bool boot_valid(const double *x, int nx, const double *y, int ny, stats_fn stat, int block,
                       int resamples, double level, const struct stats_ratio_ci *out)
{
	return x && y && stat && out && nx >= 2 && nx <= STATS_MAX_N && ny >= 2 &&
	       ny <= STATS_MAX_N && block >= 0 && resamples >= 1 &&
	       resamples <= STATS_MAX_RESAMPLES && level > 0 && level < 1 && all_finite(x, nx) &&
	       all_finite(y, ny);
}

int stats_block_bootstrap_ratio(const double *x, int nx, const double *y, int ny, stats_fn stat,
                                int block, int resamples, double level, uint64_t seed,
                                struct stats_ratio_ci *out)
{
	if (!boot_valid(x, nx, y, ny, stat, block, resamples, level, out))
		return -EINVAL;
	int bx = block ? (block < nx ? block : nx) : default_block(nx);
	int by = block ? (block < ny ? block : ny) : default_block(ny);
	int nmax = nx > ny ? nx : ny;
	/* the one work buffer: a resample, then the B ratios */
	double *work = malloc(((size_t)nmax + (size_t)resamples) * sizeof(*work));
	if (!work)
		return -ENOMEM;
	double *ratios = work + nmax;

	double sx = stat_of_copy(stat, x, nx, work), sy = stat_of_copy(stat, y, ny, work);
	struct stats_ratio_ci res = {
		.ratio = sx != 0 ? sy / sx : NAN,
		.block = bx,
		.block_y = by,
		.resamples = resamples,
	};
	struct stats_rng rng;
	stats_rng_seed(&rng, seed);
	int kept = 0;
	for (int b = 0; b < resamples; b++) {
		resample_blocks(&rng, x, nx, bx, work);
		sx = stat(work, nx);
		resample_blocks(&rng, y, ny, by, work);
		sy = stat(work, ny);
		double ratio = sy / sx;
		if (sx != 0 && !isnan(ratio))
			ratios[kept++] = ratio;
	}
	res.kept = kept;
	if (2 * kept < resamples) {
		res.lo = res.hi = NAN;
	} else {
		qsort(ratios, (size_t)kept, sizeof(*ratios), cmp_double);
		res.lo = quantile_sorted(ratios, kept, (1 - level) / 2);
		res.hi = quantile_sorted(ratios, kept, (1 + level) / 2);
	}
	free(work);
	*out = res;
	return 0;
}
