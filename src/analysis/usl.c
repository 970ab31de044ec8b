/* usl.c: the Universal Scalability Law fitted by nonlinear least squares (GSL), its JSON,
 * and its inputs (a stepped run's steps, a CSV of points). */
#include "analysis/usl.h"

#include <errno.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

enum { P_SIGMA, P_KAPPA, P_LAMBDA, NPAR };

#define FREE_SIGMA  (1u << P_SIGMA)
#define FREE_KAPPA  (1u << P_KAPPA)
#define FREE_LAMBDA (1u << P_LAMBDA)

#define FIT_MAXITER 1000
#define FIT_XTOL    1e-12
#define FIT_GTOL    1e-12
#define FIT_FTOL    1e-14
#define HUGE_RESID  1e100 /* a trial step past the model's pole: rejected by the solver */

/* One least-squares problem: the points and which coefficients are fitted (the others are
 * held at 0). */
struct problem {
	const struct usl_point *p;
	int n;
	int idx[NPAR]; /* coefficient -> index in the solver's vector, or -1 when held at 0 */
	int np;        /* coefficients fitted */
};

static double denom(const double c[NPAR], double n)
{
	return 1 + c[P_SIGMA] * (n - 1) + c[P_KAPPA] * n * (n - 1);
}

static void unpack(const struct problem *pb, const gsl_vector *v, double c[NPAR])
{
	for (int k = 0; k < NPAR; k++)
		c[k] = pb->idx[k] >= 0 ? gsl_vector_get(v, pb->idx[k]) : 0;
}

static int resid_f(const gsl_vector *v, void *data, gsl_vector *f)
{
	const struct problem *pb = data;
	double c[NPAR];
	unpack(pb, v, c);
	for (int i = 0; i < pb->n; i++) {
		double n = pb->p[i].n, d = denom(c, n);
		gsl_vector_set(f, i, d > 0 ? c[P_LAMBDA] * n / d - pb->p[i].x : HUGE_RESID);
	}
	return GSL_SUCCESS;
}

/* ∂X/∂σ = −λN(N − 1)/D², ∂X/∂κ = −λN²(N − 1)/D², ∂X/∂λ = N/D. */
static void jacobian_row(const double c[NPAR], double n, double row[NPAR])
{
	double d = denom(c, n), g = c[P_LAMBDA] * n / (d * d);
	row[P_SIGMA] = -g * (n - 1);
	row[P_KAPPA] = -g * n * (n - 1);
	row[P_LAMBDA] = n / d;
}

static int resid_df(const gsl_vector *v, void *data, gsl_matrix *J)
{
	const struct problem *pb = data;
	double c[NPAR], row[NPAR];
	unpack(pb, v, c);
	for (int i = 0; i < pb->n; i++) {
		jacobian_row(c, pb->p[i].n, row);
		for (int k = 0; k < NPAR; k++)
			if (pb->idx[k] >= 0)
				gsl_matrix_set(J, i, pb->idx[k], row[k]);
	}
	return GSL_SUCCESS;
}

/* The residual sum of squares at c; INFINITY when the model has a pole at a point. */
static double ssr_at(const struct usl_point *p, int n, const double c[NPAR])
{
	double s = 0;
	for (int i = 0; i < n; i++) {
		double d = denom(c, p[i].n);
		if (!(d > 0))
			return INFINITY;
		double r = c[P_LAMBDA] * p[i].n / d - p[i].x;
		s += r * r;
	}
	return isfinite(s) ? s : INFINITY;
}

struct candidate {
	double c[NPAR];
	double ssr;
	int iterations;
};

/* Whether coefficients are a usable start: the model has no pole at any point. */
static bool start_ok(const struct usl_point *p, int n, const double c[NPAR])
{
	if (!(c[P_LAMBDA] > 0) || !isfinite(c[P_SIGMA]) || !isfinite(c[P_KAPPA]))
		return false;
	return isfinite(ssr_at(p, n, c));
}

/* The linearised model N/X = a + b(N − 1) + c·N(N − 1) by linear least squares over the
 * fitted coefficients' columns: λ = 1/a, σ = b/a, κ = c/a. false when it gives no start. */
static bool linear_start(const struct problem *pb, double c[NPAR])
{
	bool ok = false;
	gsl_matrix *X = gsl_matrix_alloc(pb->n, pb->np);
	gsl_vector *y = gsl_vector_alloc(pb->n), *b = gsl_vector_alloc(pb->np);
	gsl_matrix *cov = gsl_matrix_alloc(pb->np, pb->np);
	gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(pb->n, pb->np);
	double chisq;
	for (int i = 0; i < pb->n; i++) {
		double n = pb->p[i].n, col[NPAR] = { n - 1, n * (n - 1), 1 };
		for (int k = 0; k < NPAR; k++)
			if (pb->idx[k] >= 0)
				gsl_matrix_set(X, i, pb->idx[k], col[k]);
		gsl_vector_set(y, i, n / pb->p[i].x);
	}
	if (gsl_multifit_linear(X, y, b, cov, &chisq, w) == GSL_SUCCESS) {
		double a = gsl_vector_get(b, pb->idx[P_LAMBDA]);
		for (int k = 0; k < NPAR; k++)
			c[k] = pb->idx[k] >= 0 ? gsl_vector_get(b, pb->idx[k]) / a : 0;
		c[P_LAMBDA] = 1 / a;
		ok = a > 0 && start_ok(pb->p, pb->n, c);
	}
	gsl_multifit_linear_free(w);
	gsl_matrix_free(cov);
	gsl_vector_free(b);
	gsl_vector_free(y);
	gsl_matrix_free(X);
	return ok;
}

/* Run the trust-region solver from start; keeps the result in *best when it is the best
 * feasible (σ, κ >= 0, λ > 0) one so far. */
static void solve_from(const struct problem *pb, gsl_multifit_nlinear_workspace *w,
                       gsl_multifit_nlinear_fdf *fdf, const double start[NPAR],
                       struct candidate *best)
{
	double x0[NPAR];
	for (int k = 0; k < NPAR; k++)
		if (pb->idx[k] >= 0)
			x0[pb->idx[k]] = start[k];
	gsl_vector_view v0 = gsl_vector_view_array(x0, pb->np);
	if (gsl_multifit_nlinear_init(&v0.vector, fdf, w) != GSL_SUCCESS)
		return;
	int info;
	int rc = gsl_multifit_nlinear_driver(FIT_MAXITER, FIT_XTOL, FIT_GTOL, FIT_FTOL, NULL, NULL,
	                                     &info, w);
	if (rc != GSL_SUCCESS && rc != GSL_ENOPROG && rc != GSL_EMAXITER)
		return;
	struct candidate c = { .iterations = (int)gsl_multifit_nlinear_niter(w) };
	unpack(pb, gsl_multifit_nlinear_position(w), c.c);
	if (c.c[P_SIGMA] < 0 || c.c[P_KAPPA] < 0 || !(c.c[P_LAMBDA] > 0))
		return;
	c.ssr = ssr_at(pb->p, pb->n, c.c);
	if (c.ssr < best->ssr)
		*best = c;
}

/* Fit with the coefficients in mask free (λ always) from every start. */
static void fit_face(const struct usl_point *p, int n, unsigned mask, struct candidate *best)
{
	struct problem pb = { .p = p, .n = n };
	for (int k = 0; k < NPAR; k++)
		pb.idx[k] = (mask & (1u << k)) ? pb.np++ : -1;

	gsl_multifit_nlinear_parameters params = gsl_multifit_nlinear_default_parameters();
	params.trs = gsl_multifit_nlinear_trs_lm;
	gsl_multifit_nlinear_workspace *w =
	    gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &params, n, pb.np);
	gsl_multifit_nlinear_fdf fdf = {
		.f = resid_f, .df = resid_df, .fvv = NULL, .n = n, .p = pb.np, .params = &pb
	};

	double start[NPAR];
	if (linear_start(&pb, start))
		solve_from(&pb, w, &fdf, start, best);

	/* the grid: λ from the smallest N's X/N and from the largest X/N; σ 0.01 and 0.2; κ
	 * with the peak at 0.5, 2 and 10 times the largest N */
	int lo = 0;
	double nmax = p[0].n, xn_max = 0;
	for (int i = 0; i < n; i++) {
		if (p[i].n < p[lo].n)
			lo = i;
		nmax = MAX(nmax, p[i].n);
		xn_max = MAX(xn_max, p[i].x / p[i].n);
	}
	const double lambdas[] = { p[lo].x / p[lo].n, xn_max };
	const double sigmas[] = { 0.01, 0.2 };
	const double peaks[] = { 0.5, 2, 10 };
	for (size_t a = 0; a < ARRAY_SIZE(lambdas); a++)
		for (size_t s = 0; s < ARRAY_SIZE(sigmas); s++)
			for (size_t k = 0; k < ARRAY_SIZE(peaks); k++) {
				double sg = (mask & FREE_SIGMA) ? sigmas[s] : 0;
				double nk = peaks[k] * nmax;
				start[P_LAMBDA] = lambdas[a];
				start[P_SIGMA] = sg;
				start[P_KAPPA] = (mask & FREE_KAPPA) ? (1 - sg) / (nk * nk) : 0;
				if (start_ok(p, n, start))
					solve_from(&pb, w, &fdf, start, best);
			}
	gsl_multifit_nlinear_free(w);
}

/* Standard errors as R's nls: sqrt(diag((JᵀJ)⁻¹) × SSR/(n − 3)), J the three-column
 * Jacobian at the solution (columns scaled to unit norm for the inversion). */
static void standard_errors(const struct usl_point *p, int n, struct usl_fit *f, double ssr)
{
	double c[NPAR] = { [P_SIGMA] = f->sigma, [P_KAPPA] = f->kappa, [P_LAMBDA] = f->lambda };
	double se[NPAR] = { NAN, NAN, NAN }, norm[NPAR] = { 0 };
	if (n > NPAR) {
		gsl_matrix *J = gsl_matrix_alloc(n, NPAR), *cov = gsl_matrix_alloc(NPAR, NPAR);
		double row[NPAR];
		for (int i = 0; i < n; i++) {
			jacobian_row(c, p[i].n, row);
			for (int k = 0; k < NPAR; k++) {
				gsl_matrix_set(J, i, k, row[k]);
				norm[k] += row[k] * row[k];
			}
		}
		bool ok = true;
		for (int k = 0; k < NPAR; k++) {
			norm[k] = sqrt(norm[k]);
			ok = ok && norm[k] > 0 && isfinite(norm[k]);
		}
		if (ok) {
			for (int k = 0; k < NPAR; k++) {
				gsl_vector_view col = gsl_matrix_column(J, k);
				gsl_vector_scale(&col.vector, 1 / norm[k]);
			}
			double rv = ssr / (n - NPAR);
			if (gsl_multifit_nlinear_covar(J, 1e-12, cov) == GSL_SUCCESS)
				for (int k = 0; k < NPAR; k++) {
					double v = gsl_matrix_get(cov, k, k);
					if (v > 0 && isfinite(v))
						se[k] = sqrt(v * rv) / norm[k];
				}
		}
		gsl_matrix_free(cov);
		gsl_matrix_free(J);
	}
	f->se_sigma = se[P_SIGMA];
	f->se_kappa = se[P_KAPPA];
	f->se_lambda = se[P_LAMBDA];
}

/* N*, X_max and the limit from the coefficients (usl.h). */
static void derive(struct usl_fit *f)
{
	if (f->kappa > 0) {
		f->limit = "coherency";
		f->n_star = f->sigma < 1 ? sqrt((1 - f->sigma) / f->kappa) : 1;
		if (!(f->n_star >= 1))
			f->n_star = 1;
		f->x_max = usl_throughput(f, f->n_star);
	} else if (f->sigma > 0) {
		f->limit = "contention";
		f->n_star = f->sigma < 1 ? INFINITY : 1;
		f->x_max = f->sigma < 1 ? f->lambda / f->sigma : f->lambda;
	} else {
		f->limit = "linear";
		f->n_star = INFINITY;
		f->x_max = INFINITY;
	}
}

#define LEVEL_OFF 0.95 /* X within this share of the best: on the plateau, no fall */

/* The fit's measured figures from p[0..n) (struct usl_fit). */
static void measured(struct usl_fit *f, const struct usl_point *p, int n)
{
	f->x_measured = f->n_measured = f->n_top = f->x_at_top = NAN;
	for (int i = 0; i < n; i++) {
		if (!isfinite(p[i].n) || !isfinite(p[i].x))
			continue;
		if (!(p[i].x <= f->x_measured))
			f->x_measured = p[i].x, f->n_measured = p[i].n;
		if (!(p[i].n <= f->n_top))
			f->n_top = p[i].n, f->x_at_top = p[i].x;
	}
	f->n_plateau = 0;
	f->n_plateau_from = NAN;
	for (int i = 0; i < n; i++)
		if (isfinite(p[i].x) && p[i].x >= LEVEL_OFF * f->x_measured) {
			f->n_plateau++;
			if (!(p[i].n >= f->n_plateau_from))
				f->n_plateau_from = p[i].n;
		}
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* The input rules of usl_fit (usl.h). */
static int check_points(const struct usl_point *p, int n, char *err, size_t errlen)
{
	if (!p || n < USL_POINTS_MIN)
		return fail(err, errlen, "%d point%s: at least %d are needed to fit σ, κ and λ",
		            n < 0 ? 0 : n, n == 1 ? "" : "s", USL_POINTS_MIN);
	if (n > USL_POINTS_MAX)
		return fail(err, errlen, "%d points: at most %d can be fitted", n, USL_POINTS_MAX);
	for (int i = 0; i < n; i++) {
		if (!isfinite(p[i].n) || p[i].n <= 0)
			return fail(err, errlen, "point %d: N = %g is not a positive concurrency",
			            i + 1, p[i].n);
		if (!isfinite(p[i].x) || p[i].x <= 0)
			return fail(err, errlen,
			            "point %d (N = %g): X = %g is not a positive throughput", i + 1,
			            p[i].n, p[i].x);
	}
	double ns[USL_POINTS_MAX];
	for (int i = 0; i < n; i++)
		ns[i] = p[i].n;
	qsort(ns, n, sizeof(ns[0]), cmp_double);
	int distinct = 1; /* N apart by more than rounding */
	for (int i = 1, last = 0; i < n; i++)
		if (ns[i] > ns[last] * (1 + 1e-6)) {
			distinct++;
			last = i;
		}
	if (distinct < USL_POINTS_MIN)
		return fail(
		    err, errlen,
		    "the points have %d distinct concurrenc%s: at least %d are needed to fit "
		    "σ, κ and λ",
		    distinct, distinct == 1 ? "y" : "ies", USL_POINTS_MIN);
	return 0;
}

int usl_fit(const struct usl_point *p, int n, struct usl_fit *out, char *err, size_t errlen)
{
	if (check_points(p, n, err, errlen) < 0)
		return -1;
	/* X in units of its largest value: σ and κ do not depend on X's scale, λ and its
	 * standard error scale with it, and the sums of squares neither underflow (X of 1e-200)
	 * nor overflow (X of 1e200) */
	struct usl_point q[USL_POINTS_MAX];
	const struct usl_point *orig = p;
	double scale = 0;
	for (int i = 0; i < n; i++)
		scale = MAX(scale, p[i].x);
	for (int i = 0; i < n; i++)
		q[i] = (struct usl_point){ .n = p[i].n, .x = p[i].x / scale, .r = p[i].r };
	p = q;
	/* GSL's default handler aborts the process on an error; its errors are return codes
	 * here (the process's handler is put back after) */
	gsl_error_handler_t *old = gsl_set_error_handler_off();
	double mean = 0, sst = 0;
	for (int i = 0; i < n; i++)
		mean += p[i].x / n;
	for (int i = 0; i < n; i++)
		sst += (p[i].x - mean) * (p[i].x - mean);
	/* the faces of the region σ, κ >= 0, fewest coefficients first: a coefficient that
	 * lowers the SSR by no more than rounding (1e-12 of SST) is held at 0, so exact
	 * contention-only or linear data get κ = 0 (σ = 0) exactly */
	const unsigned faces[] = { FREE_LAMBDA, FREE_SIGMA | FREE_LAMBDA, FREE_KAPPA | FREE_LAMBDA,
		                   FREE_SIGMA | FREE_KAPPA | FREE_LAMBDA };
	struct candidate cand[ARRAY_SIZE(faces)], best = { .ssr = INFINITY };
	for (size_t i = 0; i < ARRAY_SIZE(faces); i++) {
		cand[i] = (struct candidate){ .ssr = INFINITY };
		fit_face(p, n, faces[i], &cand[i]);
		if (cand[i].ssr < best.ssr)
			best = cand[i];
	}
	if (!isfinite(best.ssr)) {
		gsl_set_error_handler(old);
		return fail(err, errlen, "the fit did not converge from any start");
	}
	double enough = best.ssr + 1e-12 * sst;
	for (size_t i = 0; i < ARRAY_SIZE(faces); i++)
		if (cand[i].ssr <= enough) {
			/* σ alone and κ alone have as many coefficients: the better one */
			if (i == 1 && cand[2].ssr < cand[1].ssr)
				i = 2;
			best = cand[i];
			break;
		}
	struct usl_fit f = {
		.npoints = n,
		.sigma = best.c[P_SIGMA],
		.kappa = best.c[P_KAPPA],
		.lambda = best.c[P_LAMBDA],
		.iterations = best.iterations,
	};
	standard_errors(p, n, &f, best.ssr);
	gsl_set_error_handler(old);
	f.r2 = sst > 0 ? 1 - best.ssr / sst : NAN;
	f.lambda *= scale, f.se_lambda *= scale;
	if (!isfinite(f.lambda) || !(f.lambda > 0))
		return fail(err, errlen, "λ = %g is not a usable throughput", f.lambda);
	derive(&f);
	measured(&f, orig, n);
	*out = f;
	return 0;
}

double usl_throughput(const struct usl_fit *f, double n)
{
	return f->lambda * n / (1 + f->sigma * (n - 1) + f->kappa * n * (n - 1));
}

double usl_concurrency_for(const struct usl_fit *f, double x)
{
	if (isnan(x))
		return NAN;
	if (x <= f->lambda)
		return 1; /* X(1) = λ already reaches it */
	if (x > f->x_max)
		return NAN;
	/* λn = x(1 + σ(n − 1) + κn(n − 1)):  xκ·n² + (xσ − xκ − λ)·n + x(1 − σ) = 0 */
	double a = x * f->kappa, b = x * f->sigma - x * f->kappa - f->lambda,
	       c = x * (1 - f->sigma);
	double n;
	if (a == 0) {
		if (!(b < 0))
			return NAN;
		n = -c / b;
	} else {
		double disc = b * b - 4 * a * c;
		if (disc < 0)
			disc = 0; /* x == x_max up to rounding: the double root N* */
		/* the smaller root, without cancellation: 2c / (−b + √disc) (b < 0 here) */
		n = 2 * c / (-b + sqrt(disc));
	}
	return isfinite(n) ? MAX(n, 1.0) : NAN;
}

void usl_littles(const struct usl_point *p, int n, struct usl_littles *out)
{
	*out = (struct usl_littles){ .ratio_min = NAN, .ratio_max = NAN, .worst = NAN };
	for (int i = 0; i < n; i++) {
		if (!isfinite(p[i].r) || !(p[i].n > 0))
			continue;
		double ratio = p[i].x * p[i].r / p[i].n;
		if (!isfinite(ratio))
			continue;
		if (out->known++ == 0) {
			out->ratio_min = out->ratio_max = ratio;
			out->worst = fabs(ratio - 1);
			continue;
		}
		out->ratio_min = MIN(out->ratio_min, ratio);
		out->ratio_max = MAX(out->ratio_max, ratio);
		out->worst = MAX(out->worst, fabs(ratio - 1));
	}
	out->agree = out->known > 0 && out->worst <= USL_LITTLE_TOLERANCE;
}

/* ---- JSON --------------------------------------------------------------------------- */

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *usl_json(const struct usl_fit *f, const struct usl_point *p, int n)
{
	json_t *j = json_object(), *pts = json_array();
	json_object_set_new(j, "model", json_string("usl"));
	json_object_set_new(j, "sigma", num(f->sigma));
	json_object_set_new(j, "kappa", num(f->kappa));
	json_object_set_new(j, "lambda", num(f->lambda));
	json_object_set_new(j, "seSigma", num(f->se_sigma));
	json_object_set_new(j, "seKappa", num(f->se_kappa));
	json_object_set_new(j, "seLambda", num(f->se_lambda));
	json_object_set_new(j, "r2", num(f->r2));
	json_object_set_new(j, "nStar", num(f->n_star));
	json_object_set_new(j, "xMax", num(f->x_max));
	json_object_set_new(j, "limit", json_string(f->limit ? f->limit : "linear"));
	json_object_set_new(j, "npoints", json_integer(f->npoints));
	json_object_set_new(j, "iterations", json_integer(f->iterations));
	json_object_set_new(j, "xMeasured", num(f->x_measured));
	json_object_set_new(j, "nMeasured", num(f->n_measured));
	json_object_set_new(j, "nTop", num(f->n_top));
	json_object_set_new(j, "xAtTop", num(f->x_at_top));
	json_object_set_new(j, "plateauPoints", json_integer(f->n_plateau));
	json_object_set_new(j, "plateauFromN", num(f->n_plateau_from));
	for (int i = 0; p && i < n; i++) {
		double fitted = usl_throughput(f, p[i].n);
		json_array_append_new(
		    pts, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "n", num(p[i].n), "x",
		                   num(p[i].x), "r", num(p[i].r), "fitted", num(fitted), "residual",
		                   num(p[i].x - fitted), "littleN", num(p[i].x * p[i].r)));
	}
	json_object_set_new(j, "points", pts);
	struct usl_littles l;
	usl_littles(p, p ? n : 0, &l);
	json_object_set_new(j, "littles",
	                    l.known ? json_pack("{s:i, s:o, s:o, s:o, s:f, s:b}", "known", l.known,
	                                        "ratioMin", num(l.ratio_min), "ratioMax",
	                                        num(l.ratio_max), "worst", num(l.worst),
	                                        "tolerance", USL_LITTLE_TOLERANCE, "agree", l.agree)
	                            : json_null());
	return j;
}

/* A number member: 0 with *v, or -1 (missing or not a number; null gives NAN when
 * nullable). */
static int get_num(const json_t *j, const char *key, bool nullable, double *v)
{
	const json_t *m = json_object_get(j, key);
	if (m && json_is_number(m)) {
		*v = json_number_value(m);
		return 0;
	}
	if (nullable && (!m || json_is_null(m))) {
		*v = NAN;
		return 0;
	}
	return -1;
}

int usl_from_json(const json_t *j, struct usl_fit *out, char *err, size_t errlen)
{
	struct usl_fit f = { 0 };
	if (!json_is_object(j))
		return fail(err, errlen, "the fit is not a JSON object");
	const char *model = json_string_value(json_object_get(j, "model"));
	if (!model || strcmp(model, "usl"))
		return fail(err, errlen, "not a USL fit (\"model\" must be \"usl\")");
	if (get_num(j, "sigma", false, &f.sigma) < 0 || !isfinite(f.sigma) || f.sigma < 0)
		return fail(err, errlen, "\"sigma\" must be a number >= 0");
	if (get_num(j, "kappa", false, &f.kappa) < 0 || !isfinite(f.kappa) || f.kappa < 0)
		return fail(err, errlen, "\"kappa\" must be a number >= 0");
	if (get_num(j, "lambda", false, &f.lambda) < 0 || !isfinite(f.lambda) || f.lambda <= 0)
		return fail(err, errlen, "\"lambda\" must be a number > 0");
	const char *opt[] = { "seSigma", "seKappa", "seLambda", "r2" };
	double *dst[] = { &f.se_sigma, &f.se_kappa, &f.se_lambda, &f.r2 };
	for (size_t i = 0; i < ARRAY_SIZE(opt); i++)
		if (get_num(j, opt[i], true, dst[i]) < 0)
			return fail(err, errlen, "\"%s\" must be a number or null", opt[i]);
	const json_t *np = json_object_get(j, "npoints"), *it = json_object_get(j, "iterations");
	if (json_is_integer(np) && json_integer_value(np) >= 0 &&
	    json_integer_value(np) <= USL_POINTS_MAX)
		f.npoints = (int)json_integer_value(np);
	else if (json_is_array(json_object_get(j, "points")))
		f.npoints =
		    (int)MIN(json_array_size(json_object_get(j, "points")), (size_t)USL_POINTS_MAX);
	if (json_is_integer(it) && json_integer_value(it) >= 0 &&
	    json_integer_value(it) <= FIT_MAXITER)
		f.iterations = (int)json_integer_value(it);
	derive(&f);
	/* the measured figures: as written, else from the points, else unknown */
	const char *mk[] = { "xMeasured", "nMeasured", "nTop", "xAtTop" };
	double *md[] = { &f.x_measured, &f.n_measured, &f.n_top, &f.x_at_top };
	bool all = true;
	for (size_t i = 0; i < ARRAY_SIZE(mk); i++)
		if (get_num(j, mk[i], false, md[i]) < 0 || !isfinite(*md[i]) || *md[i] <= 0)
			all = false;
	const json_t *pl = json_object_get(j, "plateauPoints");
	if (json_is_integer(pl) && json_integer_value(pl) >= 0 &&
	    json_integer_value(pl) <= USL_POINTS_MAX)
		f.n_plateau = (int)json_integer_value(pl);
	f.n_plateau_from = NAN;
	get_num(j, "plateauFromN", true, &f.n_plateau_from);
	if (!all) {
		struct usl_point pts[USL_POINTS_MAX];
		int k = 0;
		size_t i;
		const json_t *e;
		json_array_foreach(json_object_get(j, "points"), i, e)
		{
			double pn, px;
			if (k < USL_POINTS_MAX && get_num(e, "n", false, &pn) == 0 &&
			    get_num(e, "x", false, &px) == 0 && pn > 0 && px > 0 && isfinite(pn) &&
			    isfinite(px))
				pts[k++] = (struct usl_point){ .n = pn, .x = px, .r = NAN };
		}
		measured(&f, pts, k);
	}
	*out = f;
	return 0;
}

/* ---- what the fit says -------------------------------------------------------------- */

#define FEW_POINTS     6    /* fewer: R's usl warns too ("the result might not be accurate") */
#define POOR_R2        0.9  /* below: the curve does not describe the points */
#define FAR_BELOW_PEAK 0.5  /* the largest measured N under this share of N*: extrapolated */
#define ERRORS_NOTED   0.01 /* a step with more failed responses than this is noted */

static const char *g4(double v, char *s, size_t len)
{
	snprintf(s, len, "%.4g", v);
	return s;
}

void usl_verdict(const struct usl_fit *f, const char *unit, char *out, size_t size)
{
	char a[32], b[32], c[32], d[32];
	unit = unit ? unit : "";
	bool seen = isfinite(f->x_measured) && isfinite(f->n_top) && isfinite(f->x_at_top);
	bool coherency = f->limit && !strcmp(f->limit, "coherency");
	if (f->n_star <= 1) {
		snprintf(out, size,
		         "throughput is highest at N = 1 (X ≈ %s%s): added concurrency only costs",
		         g4(f->x_max, a, sizeof(a)), unit);
	} else if (coherency && seen && f->n_top > f->n_star && f->n_measured >= f->n_top &&
	           f->n_plateau == 1) {
		/* the best X was at the largest N: nothing measured shows a peak at all */
		snprintf(out, size,
		         "throughput was still at its best at the largest level measured (%s%s at "
		         "N = %s); the fit puts a peak of X_max ≈ %s%s at N* ≈ %.0f that no "
		         "measured level shows: sweep beyond N = %s to tell a peak from a plateau",
		         g4(f->x_measured, a, sizeof(a)), unit, g4(f->n_top, b, sizeof(b)),
		         g4(f->x_max, d, sizeof(d)), unit, f->n_star, g4(f->n_top, c, sizeof(c)));
	} else if (coherency && seen && f->n_top > f->n_star &&
	           f->x_at_top >= LEVEL_OFF * f->x_measured) {
		/* measured past N*, and no fall: a plateau the curve rounds into a peak */
		snprintf(
		    out, size,
		    "throughput levels off at about %s%s (measured from N = %s to %s); the fit "
		    "puts a peak of X_max ≈ %s%s at N* ≈ %.0f, but no measured level shows "
		    "the fall past it: a saturated resource (contention: a pool, a lock, a "
		    "core) rather than coherency",
		    g4(f->x_measured, a, sizeof(a)), unit,
		    g4(isfinite(f->n_plateau_from) ? f->n_plateau_from : f->n_measured, b,
		       sizeof(b)),
		    g4(f->n_top, c, sizeof(c)), g4(f->x_max, d, sizeof(d)), unit, f->n_star);
	} else if (coherency && seen && f->n_top > f->n_star) {
		snprintf(
		    out, size,
		    "coherency-limited: throughput peaks at N* ≈ %.0f (X_max ≈ %s%s) and falls "
		    "beyond it (measured: %s%s at N = %s, down from %s%s)",
		    f->n_star, g4(f->x_max, a, sizeof(a)), unit, g4(f->x_at_top, b, sizeof(b)),
		    unit, g4(f->n_top, c, sizeof(c)), g4(f->x_measured, d, sizeof(d)), unit);
	} else if (coherency) {
		snprintf(
		    out, size,
		    "coherency-limited by the fit: a peak of X_max ≈ %s%s at N* ≈ %.0f, beyond "
		    "the measured levels%s%s%s (an extrapolation: measure past N* to confirm "
		    "it)",
		    g4(f->x_max, a, sizeof(a)), unit, f->n_star, seen ? " (up to N = " : "",
		    seen ? g4(f->n_top, b, sizeof(b)) : "", seen ? ")" : "");
	} else if (f->limit && !strcmp(f->limit, "contention")) {
		snprintf(
		    out, size,
		    "contention-limited: throughput levels off towards X_max = λ/σ ≈ %s%s as N "
		    "grows, without a peak (κ = 0); half of it at N ≈ %s",
		    g4(f->x_max, a, sizeof(a)), unit,
		    g4(usl_concurrency_for(f, f->x_max / 2), b, sizeof(b)));
	} else {
		snprintf(out, size,
		         "linear: neither contention nor coherency shows over the measured range; "
		         "X grows by λ ≈ %s%s per unit of N",
		         g4(f->lambda, a, sizeof(a)), unit);
	}
}

int usl_warnings(const struct usl_fit *f, const struct usl_point *p, int n, const char *unit,
                 double worst_errors, double worst_errors_n, char (*out)[USL_WARNING_LEN], int max)
{
	int k = 0;
	char a[32], b[32];
	unit = unit ? unit : "";
#define WARN(...)                                                                                  \
	do {                                                                                       \
		if (k < max)                                                                       \
			snprintf(out[k++], USL_WARNING_LEN, __VA_ARGS__);                          \
	} while (0)
	double nmax = 0, xmax = 0;
	for (int i = 0; i < n; i++) {
		nmax = MAX(nmax, p[i].n);
		xmax = MAX(xmax, p[i].x);
	}
	bool coherency = f->limit && !strcmp(f->limit, "coherency");
	bool contention = f->limit && !strcmp(f->limit, "contention");
	bool far_peak = coherency && f->n_star > 1 && nmax < FAR_BELOW_PEAK * f->n_star;
	bool far_ceiling = contention && xmax < FAR_BELOW_PEAK * f->x_max;
	if (worst_errors > ERRORS_NOTED && isfinite(worst_errors_n))
		WARN("the step at N = %s had %.1f%% failed responses: the fit counts only the good "
		     "ones, but failures change the load the target sees",
		     g4(worst_errors_n, a, sizeof(a)), 100 * worst_errors);
	else if (worst_errors > ERRORS_NOTED)
		WARN("a step had %.1f%% failed responses: the fit counts only the good ones, but "
		     "failures change the load the target sees",
		     100 * worst_errors);
	if (n < FEW_POINTS)
		WARN("only %d points: σ, κ and λ rest on few measurements (%d or more concurrency "
		     "levels make them firmer)",
		     n, FEW_POINTS);
	if (isfinite(f->r2) && f->r2 < POOR_R2)
		WARN("R² = %.3f (below %.1f): the USL describes these points poorly (noisy steps, "
		     "errors, or a system that changed during the run)",
		     f->r2, POOR_R2);
	if (far_peak)
		WARN("every measured N is far below N* ≈ %.0f (the largest is %s): the peak is an "
		     "extrapolation; measure up to about N* to confirm it",
		     f->n_star, g4(nmax, a, sizeof(a)));
	if (far_ceiling)
		WARN("the measured X stays below half of X_max ≈ %s%s: the ceiling is an "
		     "extrapolation; measure at higher N to confirm it",
		     g4(f->x_max, a, sizeof(a)), unit);
	if (xmax > 0 && isfinite(f->x_max) && f->x_max > 1.05 * xmax && !far_peak && !far_ceiling)
		WARN("X_max ≈ %s%s is %.0f%% above the best measured X (%s%s): `capacity plan` "
		     "takes the measured one as 100%%",
		     g4(f->x_max, a, sizeof(a)), unit, 100 * (f->x_max / xmax - 1),
		     g4(xmax, b, sizeof(b)), unit);
	if (f->kappa > 0 && isfinite(f->se_kappa) && f->se_kappa >= f->kappa)
		WARN("κ is within one standard error of 0: these points do not establish the "
		     "retrograde part (N* is uncertain)");
	struct usl_littles l;
	usl_littles(p, n, &l);
	if (l.known && !l.agree && l.ratio_min < 1 - USL_LITTLE_TOLERANCE)
		WARN("Little's law: X·R is %.0f%% to %.0f%% of N (off by more than %.0f%%): the "
		     "VUs spend time outside the measured response time (think time, client-side "
		     "work, or a queue outside the measured path), so N overstates the "
		     "concurrency the target sees",
		     100 * l.ratio_min, 100 * l.ratio_max, 100 * USL_LITTLE_TOLERANCE);
	else if (l.known && !l.agree)
		WARN("Little's law: X·R is up to %.0f%% of N (off by more than %.0f%%): more "
		     "requests in service than N allows; R counts time outside the service, N is "
		     "not the concurrency, or R is not in seconds%s",
		     100 * l.ratio_max, 100 * USL_LITTLE_TOLERANCE,
		     l.ratio_max > 100 ? " (it looks like milliseconds)" : "");
#undef WARN
	return k;
}

void usl_json_notes(json_t *j, const struct usl_fit *f, const struct usl_point *p, int n,
                    const char *unit, double worst_errors, double worst_errors_n)
{
	char v[512], w[8][USL_WARNING_LEN];
	usl_verdict(f, unit, v, sizeof(v));
	json_object_set_new(j, "verdict", json_string(v));
	int k = usl_warnings(f, p, n, unit, worst_errors, worst_errors_n, w, 8);
	json_t *a = json_array();
	for (int i = 0; i < k; i++)
		json_array_append_new(a, json_string(w[i]));
	json_object_set_new(j, "warnings", a);
}

/* ---- inputs ------------------------------------------------------------------------- */

int usl_points_from_steps(const json_t *test_type, struct usl_point *p, int max, char *err,
                          size_t errlen)
{
	if (!json_is_object(test_type))
		return fail(err, errlen, "no test-type analysis (a run with --type)");
	const char *model = json_string_value(json_object_get(test_type, "model"));
	const char *type = json_string_value(json_object_get(test_type, "type"));
	bool open = model && !strcmp(model, "open");
	if (!model || (strcmp(model, "closed") && !open))
		return fail(err, errlen,
		            "the %s run's model is %s: the USL needs steps of a closed-model run "
		            "(VUs) or an open-model one (concurrency by Little's law)",
		            type ? type : "test-type", model ? model : "unknown");
	const json_t *steps = json_object_get(test_type, "steps");
	if (!json_is_array(steps))
		return fail(err, errlen, "the %s run has no steps", type ? type : "test-type");
	int k = 0, failed_only = 0;
	size_t i;
	const json_t *row;
	json_array_foreach(steps, i, row)
	{
		double n, x, mean;
		/* a ramp's row (offeredFrom/offeredTo) has no single concurrency */
		/* the good responses: a failing target answers fast, and its errors are not
		 * capacity (a step of refused connections serves nothing) */
		if (!json_is_object(row) || json_object_get(row, "offeredFrom") ||
		    get_num(row, "offered", false, &n) < 0 ||
		    (get_num(row, "goodThroughput", false, &x) < 0 &&
		     get_num(row, "throughput", false, &x) < 0))
			continue;
		double all;
		if (!(x > 0) && get_num(row, "throughput", false, &all) == 0 && all > 0)
			failed_only++; /* answered, but every response failed */
		if (get_num(row, "mean", true, &mean) < 0 || !(mean >= 0) || !isfinite(mean))
			mean = NAN;
		if (open) /* Little's law: the mean number of requests in service */
			n = x * mean / 1000;
		if (!(isfinite(n) && n > 0 && isfinite(x) && x > 0))
			continue;
		if (k == max)
			return fail(err, errlen, "more than %d steps", max);
		p[k++] = (struct usl_point){ .n = n, .x = x, .r = mean / 1000 };
	}
	if (k < USL_POINTS_MIN && failed_only > 0)
		return fail(err, errlen,
		            "every response failed in %d step%s of the %s run (%d with good "
		            "responses): there is no capacity to fit; fix the target or the URL "
		            "first",
		            failed_only, failed_only == 1 ? "" : "s", type ? type : "test-type", k);
	if (k < USL_POINTS_MIN)
		return fail(
		    err, errlen,
		    "the %s run has %d step%s with throughput: at least %d are needed to fit "
		    "the USL (more --steps or --levels; a sweep: more --concurrency levels)",
		    type ? type : "test-type", k, k == 1 ? "" : "s", USL_POINTS_MIN);
	return k;
}

/* A field for a message: at most 24 characters, non-printing ones as '?'. */
static const char *quoted(const char *s, size_t len, char *buf, size_t size)
{
	size_t k = 0, lim = MIN(len, (size_t)24);
	for (size_t i = 0; i < lim && k + 1 < size; i++) {
		unsigned char ch = (unsigned char)s[i];
		buf[k++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	for (const char *e = "..."; len > lim && *e && k + 1 < size; e++)
		buf[k++] = *e;
	buf[k] = '\0';
	return buf;
}

/* A field trimmed of spaces and tabs. */
static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t'))
		(*s)++, (*len)--;
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

static bool decimal_chars(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] && strchr(".+-eE", s[i]))))
			return false;
	return true;
}

/* A decimal number field (an exponent allowed; no inf, nan or hex): 0, or -1 with the
 * reason in why. */
static int parse_field(const char *s, size_t len, double *v, char *why, size_t whylen)
{
	char buf[64], q[40], *end;
	const char *problem = NULL;
	double d = 0;
	if (len == 0) {
		snprintf(why, whylen, "an empty field");
		return -1;
	}
	if (len >= sizeof(buf) || !decimal_chars(s, len)) {
		problem = "is not a number";
	} else {
		memcpy(buf, s, len);
		buf[len] = '\0';
		errno = 0;
		d = strtod(buf, &end);
		if (end != buf + len)
			problem = "is not a number";
		else if (errno == ERANGE && fabs(d) == HUGE_VAL)
			problem = "is out of range";
	}
	if (problem) {
		snprintf(why, whylen, "'%s' %s", quoted(s, len, q, sizeof(q)), problem);
		return -1;
	}
	*v = d == 0 ? 0 : d; /* no -0 */
	return 0;
}

/* Split a line into at most 4 comma-separated fields; returns how many (4: too many). */
static int split(const char *s, size_t len, const char *f[4], size_t flen[4])
{
	int k = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len && k < 4; i++)
		if (i == len || s[i] == ',') {
			f[k] = s + start;
			flen[k] = i - start;
			trim(&f[k], &flen[k]);
			k++;
			start = i + 1;
		}
	return k;
}

static bool looks_numeric(const char *s, size_t len)
{
	return len && ((s[0] >= '0' && s[0] <= '9') || s[0] == '.' || s[0] == '-' || s[0] == '+');
}

int usl_parse_csv(const char *name, const char *text, size_t len, struct usl_point *p, int max,
                  char *err, size_t errlen)
{
	char why[128];
	const char *what[] = { "N", "X", "R" };
	int k = 0, line = 0;
	bool content = false;
	if (memchr(text, '\0', len))
		return fail(err, errlen, "%s: not a CSV file (it has NUL bytes)", name);
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
		text += 3, len -= 3;
	for (size_t pos = 0; pos < len;) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - s) : len - pos;
		pos += l + 1;
		line++;
		if (l && s[l - 1] == '\r')
			l--;
		trim(&s, &l);
		if (l == 0 || s[0] == '#')
			continue;
		const char *f[4];
		size_t fl[4];
		int nf = split(s, l, f, fl);
		if (!content && !looks_numeric(f[0], fl[0])) {
			content = true; /* a header line */
			continue;
		}
		content = true;
		if (nf < 2 || nf > 3)
			return fail(err, errlen, "%s:%d: expected N,X or N,X,R (%s fields)", name,
			            line, nf > 3 ? "more than 3" : "1");
		double v[3] = { NAN, NAN, NAN };
		for (int i = 0; i < nf; i++) {
			if (i == 2 && fl[i] == 0)
				continue; /* R unknown */
			if (parse_field(f[i], fl[i], &v[i], why, sizeof(why)) < 0)
				return fail(err, errlen, "%s:%d: %s: %s", name, line, what[i], why);
		}
		if (!(v[0] > 0))
			return fail(err, errlen, "%s:%d: N must be > 0 (a concurrency), not %g",
			            name, line, v[0]);
		if (!(v[1] > 0))
			return fail(err, errlen, "%s:%d: X must be > 0 (a throughput), not %g",
			            name, line, v[1]);
		if (v[2] < 0)
			return fail(err, errlen, "%s:%d: R must be >= 0 (seconds), not %g", name,
			            line, v[2]);
		if (k >= max)
			return fail(err, errlen, "%s:%d: more than %d points", name, line, max);
		p[k++] = (struct usl_point){ .n = v[0], .x = v[1], .r = v[2] };
	}
	if (k == 0)
		return fail(err, errlen, "%s: no data points (expected lines of N,X or N,X,R)",
		            name);
	return k;
}

int usl_read_csv(const char *path, struct usl_point *p, int max, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc = read_file_max(path, USL_CSV_MAX_BYTES, &text, &len);
	if (rc == -EFBIG)
		return fail(err, errlen, "%s: larger than %d MiB: not a CSV of points", path,
		            USL_CSV_MAX_BYTES >> 20);
	if (rc < 0)
		return fail(err, errlen, "%s: %s", path, read_file_strerror(rc));
	rc = usl_parse_csv(path, text, len, p, max, err, errlen);
	free(text);
	return rc;
}
