/*
 * usl.h: the Universal Scalability Law (issue #14, docs/capacity.md).
 *
 * Gunther's USL models the throughput of a system at concurrency N (users, VUs, threads,
 * or nodes) as
 *
 *     X(N) = λN / (1 + σ(N − 1) + κN(N − 1))
 *
 * σ (sigma): contention, the serial fraction (queueing for a shared resource);
 * κ (kappa): coherency, the crosstalk cost of keeping shared state consistent (the cause of
 *            retrograde throughput past the peak);
 * λ (lambda): the throughput of one unit of concurrency without either (X's unit per N).
 *
 * Sources: N. J. Gunther, "Guerrilla Capacity Planning" (Springer 2007), ch. 4-6; the R
 * package `usl` (S. Möding), whose fit of the SPEC SDM91 benchmark data is the unit tests'
 * ground truth (σ = 0.0277285, κ = 0.0001044, λ = 89.995).
 *
 * The fit is nonlinear least squares on X itself (no normalisation by X(1)), with GSL's
 * trust-region solver (gsl_multifit_nlinear, Levenberg-Marquardt, analytic Jacobian), as
 * the R package's nlxb/nls methods: the SDM91 fit agrees with it to 4 significant digits.
 *   - Starting values: the linearised model N/X = 1/λ + (σ/λ)(N − 1) + (κ/λ)N(N − 1)
 *     solved by linear least squares, and a small grid (λ from the smallest N's X/N and the
 *     largest X/N; σ 0.01 and 0.2; κ putting the peak at 0.5, 2 and 10 times the largest
 *     N); the start with the smallest residual sum of squares wins.
 *   - Constraints σ >= 0, κ >= 0 (λ > 0): the fit with all three free, with κ fixed at 0,
 *     with σ fixed at 0, and with both fixed at 0 (λ alone); the best feasible one wins.
 *     That is where a bounded least-squares solver ends too (the optimum is in the interior
 *     or on a face of the region), so a contention-only system gets κ = 0 exactly, as R's
 *     usl does for the raytracer data (tests/unit/test_usl.c). σ has no upper bound:
 *     σ >= 1 means concurrency never helps (N* = 1).
 *   - Standard errors: sqrt(diag((JᵀJ)⁻¹) × SSR/(n − 3)) with J the three-column Jacobian
 *     at the solution, also when a coefficient is at its bound (as R's usl; n − 3 degrees
 *     of freedom: NAN with 3 points).
 *   - R² = 1 − SSR/SST on X.
 */
#ifndef STAMPEDE_USL_H
#define STAMPEDE_USL_H

#include <jansson.h>
#include <stddef.h>

#define USL_POINTS_MIN 3 /* three parameters: fewer points cannot be fitted */
#define USL_POINTS_MAX 1024

/* One measurement: concurrency n (> 0), throughput x (> 0, per second for a load test's
 * steps), and the mean response time r in seconds (NAN when unknown: a CSV of N,X). */
struct usl_point {
	double n, x, r;
};

struct usl_fit {
	int npoints;
	double sigma, kappa, lambda;          /* the coefficients (σ, κ >= 0; λ > 0) */
	double se_sigma, se_kappa, se_lambda; /* their standard errors; NAN when n <= 3 */
	double r2;                            /* coefficient of determination on X */
	/* the concurrency of peak throughput, sqrt((1 − σ)/κ), at least 1 (1 when σ >= 1:
	 * concurrency never helps); INFINITY when κ == 0 and σ < 1 (X only levels off) */
	double n_star;
	/* the peak throughput X(N*), or the asymptote λ/σ when κ == 0 and 0 < σ < 1; INFINITY
	 * when σ == κ == 0 (linear) */
	double x_max;
	/* "coherency" (κ > 0: throughput falls past N*), "contention" (σ > 0, κ == 0: it levels
	 * off at λ/σ), "linear" (neither) */
	const char *limit;
	int iterations; /* the solver's */
	/* What was measured (from the points; NAN when unknown, e.g. a fit read back without
	 * points): the highest X and its N, the largest N and its X. A peak the fit places
	 * above every measured X, or a fall no measured point shows, is the model's guess. */
	double x_measured, n_measured, n_top, x_at_top;
	int n_plateau;         /* points within 5% of the best X (0: unknown) */
	double n_plateau_from; /* the smallest N among them (NAN: unknown) */
};

/* Fit the USL to p[0..n) (the points' r is not used). Returns 0, or -1 with a one-line
 * reason in err (fewer than USL_POINTS_MIN points, more than USL_POINTS_MAX, a non-finite or
 * non-positive n or x, fewer than 3 distinct n, no convergence); err may be NULL. */
int usl_fit(const struct usl_point *p, int n, struct usl_fit *out, char *err, size_t errlen);

/* X(n) of a fit. */
double usl_throughput(const struct usl_fit *f, double n);

/* The smallest n >= 1 with X(n) >= x (on the rising side of the curve; a real number: round
 * it up for whole units): 1 when x <= X(1) = λ; NAN when x is NaN or above the fit's x_max
 * (no concurrency reaches it). */
double usl_concurrency_for(const struct usl_fit *f, double x);

/* The verdict in one sentence into out ("coherency-limited: throughput peaks at N* ≈ 97
 * (X_max ≈ 1884/s) and falls beyond it (measured: ...)"), unit X's unit ("/s", or "" for a
 * CSV of unknown unit). It says what was measured where the fit goes further: a fall past
 * N* that no measured point shows is called a level-off, a peak beyond the measured
 * levels an extrapolation. */
void usl_verdict(const struct usl_fit *f, const char *unit, char *out, size_t size);

/* Warnings about a fit of p[0..n), at most max, each at most USL_WARNING_LEN bytes, into
 * out; returns how many: few points (< 6), R² < 0.9, a peak or ceiling extrapolated far
 * past the measurements, κ within one standard error of 0, Little's law off by more than
 * USL_LITTLE_TOLERANCE (with R known), and a step with more than 1% failed responses
 * (worst_errors, a fraction, at n = worst_errors_n; NAN when unknown). */
#define USL_WARNING_LEN 360
int usl_warnings(const struct usl_fit *f, const struct usl_point *p, int n, const char *unit,
                 double worst_errors, double worst_errors_n, char (*out)[USL_WARNING_LEN], int max);

/* Add "verdict" (usl_verdict) and "warnings" (usl_warnings) to a fit's JSON object j. */
void usl_json_notes(json_t *j, const struct usl_fit *f, const struct usl_point *p, int n,
                    const char *unit, double worst_errors, double worst_errors_n);

/* Little's law on the measured points: with R known, N = X·R counts the requests in
 * service; in a closed model without think time it equals the concurrency N. */
#define USL_LITTLE_TOLERANCE 0.20 /* |X·R/N − 1| above this: the law does not hold */

struct usl_littles {
	int known;                   /* points with R known (the others are left out) */
	double ratio_min, ratio_max; /* the least and largest X·R/N; NAN when known == 0 */
	double worst;                /* the largest |X·R/N − 1| */
	int agree;                   /* 1 when worst <= USL_LITTLE_TOLERANCE (0 if known == 0) */
};

/* Little's law on p[0..n): fills out (known 0 when no point has R). */
void usl_littles(const struct usl_point *p, int n, struct usl_littles *out);

/* The fit as JSON (docs/result-format.md, "capacity"): {"model": "usl", "sigma", "kappa",
 * "lambda", "seSigma", "seKappa", "seLambda", "r2", "nStar", "xMax", "limit", "npoints",
 * "iterations", "xMeasured", "nMeasured", "nTop", "xAtTop" (struct usl_fit's measured
 * figures), "points": [{"n", "x", "r", "fitted", "residual", "littleN"}...],
 * "littles": {"known", "ratioMin", "ratioMax", "worst", "tolerance", "agree"} or null}, where
 * residual = x − fitted, littleN = x·r (Little's law, N = X·R; null when r is unknown) and
 * littles is usl_littles() (null when no point has r). Non-finite numbers (N* of a
 * contention-limited fit, standard errors of 3 points) are null. p may be NULL (n 0): no
 * points. New reference. */
json_t *usl_json(const struct usl_fit *f, const struct usl_point *p, int n);

/* Read a fit back from usl_json()'s object (for `capacity plan --model FIT.json`): sigma,
 * kappa and lambda are required (finite, σ, κ >= 0, λ > 0); the standard errors, r2,
 * npoints and iterations are read when present (else NAN, 0); n_star, x_max and limit are
 * derived from the coefficients again. Returns 0, or -1 with the reason in err. */
int usl_from_json(const json_t *j, struct usl_fit *out, char *err, size_t errlen);

/* The points of a stepped run: analyses.testType of a result, each of its "steps" rows
 * giving x = "goodThroughput" (responses/s that did not fail; "throughput" in a file without
 * it) and r = "mean" (ms, turned into s: NAN when null).
 * In the closed model n = "offered" (VUs). In the open model (a stress test in iterations/s)
 * the concurrency is not set by the test but follows from Little's law, n = x·r, the mean
 * number of requests in service: rows without a mean are left out there (and a fit's
 * Little's-law check says nothing of such points). A ramp's rows (with "offeredFrom") and
 * rows without a positive n or throughput are left out. Returns the number of points, or
 * -1 with the reason in err (no steps, too few with throughput). */
int usl_points_from_steps(const json_t *test_type, struct usl_point *p, int max, char *err,
                          size_t errlen);

/* Read points from a CSV of "N,X" or "N,X,R" lines (R in seconds, may be empty: unknown; a
 * first line of words is a header and skipped; blank lines and # comments too; spaces
 * around fields, CRLF and a UTF-8 BOM are accepted). Numbers are decimals (an exponent is
 * allowed; no inf, nan or hex); N > 0, X > 0, R >= 0. Returns the number read, or -1 with
 * "FILE:LINE: reason" in err (or "FILE: reason": unreadable, larger than
 * USL_CSV_MAX_BYTES, no points). At most max points. */
#define USL_CSV_MAX_BYTES (1 << 20)
int usl_read_csv(const char *path, struct usl_point *p, int max, char *err, size_t errlen);

/* usl_read_csv() on text already read: text[0..len) (NUL bytes are refused), named name in
 * the messages. */
int usl_parse_csv(const char *name, const char *text, size_t len, struct usl_point *p, int max,
                  char *err, size_t errlen);

#endif
