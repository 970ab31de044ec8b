/* test_usl.c: the Universal Scalability Law fit against published fits (R's usl package),
 * synthetic data, bad input, its JSON and its inputs (steps, CSV). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/usl.h"

/* |got − want| <= rel × |want|, with a message naming what. */
#define assert_rel(got, want, rel, what)                                                           \
	cr_assert(fabs((double)(got) - (double)(want)) <= (rel)*fabs((double)(want)),              \
	          "%s = %.9g, want %.9g (±%g)", what, (double)(got), (double)(want),               \
	          (double)(rel))

static int points(const double *n, const double *x, int k, struct usl_point *p)
{
	for (int i = 0; i < k; i++)
		p[i] = (struct usl_point){ .n = n[i], .x = x[i], .r = NAN };
	return k;
}

static double ssr(const struct usl_fit *f, const struct usl_point *p, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++) {
		double r = p[i].x - usl_throughput(f, p[i].n);
		s += r * r;
	}
	return s;
}

/* SPEC SDM91 (Sun SPARCcenter 2000), the R package usl's `specsdm91` data set
 * (github.com/smoeding/usl, data/specsdm91.rda). The ground truth of issue #14: σ =
 * 0.0277285, κ = 0.0001044, λ = 89.995; usl's tests/summary.Rout.save (R 3.6.2, usl 1.8.x
 * with nlxb) prints the standard errors 9.122e-03, 1.988e-05, 1.421e+01, "Residual standard
 * error: 82.85 on 4 degrees of freedom", "Multiple R-squared: 0.9896"; its
 * tests/peak-scalability.Rout.save gives signif(peak.scalability(u), 2) = 97. */
static const double sdm_n[] = { 1, 18, 36, 72, 108, 144, 216 };
static const double sdm_x[] = { 64.9, 995.9, 1652.4, 1853.2, 1828.9, 1775.0, 1702.2 };

Test(usl, sdm91_matches_r_usl)
{
	struct usl_point p[7];
	struct usl_fit f;
	char err[256] = "";
	int n = points(sdm_n, sdm_x, 7, p);
	cr_assert_eq(usl_fit(p, n, &f, err, sizeof(err)), 0, "%s", err);
	/* 4 significant digits */
	assert_rel(f.sigma, 0.0277285, 5e-5, "sigma");
	assert_rel(f.kappa, 0.0001044, 5e-4, "kappa");
	assert_rel(f.lambda, 89.995, 5e-5, "lambda");
	assert_rel(f.se_sigma, 9.122e-3, 5e-4, "se sigma");
	assert_rel(f.se_kappa, 1.988e-5, 5e-4, "se kappa");
	assert_rel(f.se_lambda, 14.21, 5e-4, "se lambda");
	assert_rel(sqrt(ssr(&f, p, n) / (n - 3)), 82.85, 5e-4, "residual standard error");
	assert_rel(f.r2, 0.9896, 5e-5, "R²");
	cr_assert(f.n_star > 96 && f.n_star < 97.5, "N* = %g", f.n_star);
	assert_rel(f.n_star, sqrt((1 - f.sigma) / f.kappa), 1e-12, "N*");
	assert_rel(f.x_max, usl_throughput(&f, f.n_star), 1e-12, "X_max");
	cr_assert(f.x_max > 1880 && f.x_max < 1885, "X_max = %g", f.x_max);
	cr_assert_str_eq(f.limit, "coherency");
	cr_assert_eq(f.npoints, 7);
	cr_assert_gt(f.iterations, 0);
}

/* The order of the points does not matter, nor does the solver's start: the same optimum. */
Test(usl, sdm91_unordered)
{
	struct usl_point p[7];
	struct usl_fit f;
	char err[256];
	for (int i = 0; i < 7; i++)
		p[i] = (struct usl_point){ .n = sdm_n[6 - i], .x = sdm_x[6 - i], .r = NAN };
	cr_assert_eq(usl_fit(p, 7, &f, err, sizeof(err)), 0, "%s", err);
	assert_rel(f.sigma, 0.0277285, 5e-5, "sigma");
	assert_rel(f.lambda, 89.995, 5e-5, "lambda");
}

/* The R package usl's `raytracer` data set (github.com/smoeding/usl, data/raytracer.rda;
 * from Gunther, "Guerrilla Capacity Planning", Springer 2007): BRL-CAD on an SGI Origin
 * 2000. usl's tests/confint.Rout.save at commit 0c22191 (2020-01-07, R 3.6.2, nlxb with
 * lower bounds 0) prints coef alpha 0.0578, beta 0.0000, gamma 21.8488 and the intervals
 * alpha [0.033677, 0.081864], beta [-0.000214, 0.000214], gamma [17.868380, 25.829306]
 * computed there as coef ± se × qt(0.95, n − 1 = 10) = ± se × 1.812461: κ sits on its
 * bound, a contention-limited system, and the standard errors come from the three-column
 * Jacobian all the same. */
static const double ray_n[] = { 1, 4, 8, 12, 16, 20, 24, 28, 32, 48, 64 };
static const double ray_x[] = { 20, 78, 130, 170, 190, 200, 210, 230, 260, 280, 310 };

Test(usl, raytracer_matches_r_usl_at_the_bound)
{
	struct usl_point p[11];
	struct usl_fit f;
	char err[256];
	int n = points(ray_n, ray_x, 11, p);
	cr_assert_eq(usl_fit(p, n, &f, err, sizeof(err)), 0, "%s", err);
	const double q = 1.812461; /* qt(0.95, 10) */
	assert_rel(f.sigma, (0.033677 + 0.081864) / 2, 2e-5, "sigma");
	cr_assert_eq(f.kappa, 0, "kappa = %g, want 0 (the bound)", f.kappa);
	assert_rel(f.lambda, (17.868380 + 25.829306) / 2, 1e-6, "lambda");
	assert_rel(f.se_sigma, (0.081864 - 0.033677) / 2 / q, 1e-4, "se sigma");
	assert_rel(f.se_kappa, 0.000214 / q, 3e-3, "se kappa");
	assert_rel(f.se_lambda, (25.829306 - 17.868380) / 2 / q, 1e-5, "se lambda");
	cr_assert_str_eq(f.limit, "contention");
	cr_assert(isinf(f.n_star));
	assert_rel(f.x_max, f.lambda / f.sigma, 1e-12, "X_max = λ/σ");
}

/* The first six rows of `raytracer`: usl's tests/confint.Rout.save since commit c9673ee
 * (2020-02-22) prints coef alpha 0.02444, beta 0.00163, gamma 20.85605 and the intervals
 * alpha [0.00754, 0.04135], beta [0.00110, 0.00215], gamma [19.26717, 22.44492] (± se ×
 * qt(0.95, 5) = 2.015048). */
Test(usl, raytracer_six_rows_matches_r_usl)
{
	struct usl_point p[6];
	struct usl_fit f;
	char err[256];
	int n = points(ray_n, ray_x, 6, p);
	cr_assert_eq(usl_fit(p, n, &f, err, sizeof(err)), 0, "%s", err);
	const double q = 2.015048;
	assert_rel(f.sigma, 0.02444, 5e-4, "sigma");
	assert_rel(f.kappa, 0.00163, 5e-3, "kappa");
	assert_rel(f.lambda, 20.85605, 5e-7, "lambda");
	assert_rel(f.se_sigma, (0.04135 - 0.00754) / 2 / q, 5e-4, "se sigma");
	assert_rel(f.se_kappa, (0.00215 - 0.00110) / 2 / q, 1e-2, "se kappa");
	assert_rel(f.se_lambda, (22.44492 - 19.26717) / 2 / q, 1e-5, "se lambda");
	cr_assert_str_eq(f.limit, "coherency");
}

/* usl's tests/coef.Rout.save: the normalised example load 1..10, tput 1 .. 3.3557 (Gunther's
 * textbook case) gives alpha 0.02, beta 0.02, gamma 1.00 at 3 significant digits. */
Test(usl, gunther_textbook_example)
{
	const double n[] = { 1, 2, 4, 6, 8, 10 };
	const double x[] = { 1, 1.8868, 3.0769, 3.5294, 3.5398, 3.3557 };
	struct usl_point p[6];
	struct usl_fit f;
	char err[256];
	cr_assert_eq(usl_fit(p, points(n, x, 6, p), &f, err, sizeof(err)), 0, "%s", err);
	assert_rel(f.sigma, 0.02, 5e-3, "sigma");
	assert_rel(f.kappa, 0.02, 5e-3, "kappa");
	assert_rel(f.lambda, 1.00, 5e-3, "lambda");
	assert_rel(f.n_star, 7, 0.01, "N*"); /* sqrt(0.98/0.02) = 7.0 */
}

static void synthetic(double sigma, double kappa, double lambda, const double *n, int k,
                      struct usl_point *p)
{
	struct usl_fit truth = { .sigma = sigma, .kappa = kappa, .lambda = lambda };
	for (int i = 0; i < k; i++)
		p[i] = (struct usl_point){ .n = n[i], .x = usl_throughput(&truth, n[i]), .r = NAN };
}

Test(usl, synthetic_recovered_exactly)
{
	const double n[] = { 1, 2, 4, 8, 16, 32, 64, 128 };
	struct usl_point p[8];
	struct usl_fit f;
	char err[256];
	synthetic(0.05, 0.0008, 420, n, 8, p);
	cr_assert_eq(usl_fit(p, 8, &f, err, sizeof(err)), 0, "%s", err);
	assert_rel(f.sigma, 0.05, 1e-8, "sigma");
	assert_rel(f.kappa, 0.0008, 1e-8, "kappa");
	assert_rel(f.lambda, 420, 1e-8, "lambda");
	assert_rel(f.r2, 1, 1e-12, "R²");
	assert_rel(f.n_star, sqrt(0.95 / 0.0008), 1e-8, "N*");
	cr_assert_str_eq(f.limit, "coherency");
}

/* Requests per second of a web service with 2 .. 40 VUs, noise-free and then with ±2%. */
Test(usl, synthetic_web_service_with_noise)
{
	const double n[] = { 2, 5, 10, 15, 20, 25, 30, 40 };
	const double noise[] = { 0.01, -0.02, 0.015, -0.01, 0.02, -0.015, 0.005, -0.01 };
	struct usl_point p[8];
	struct usl_fit f;
	char err[256];
	synthetic(0.08, 0.002, 150, n, 8, p);
	for (int i = 0; i < 8; i++)
		p[i].x *= 1 + noise[i];
	cr_assert_eq(usl_fit(p, 8, &f, err, sizeof(err)), 0, "%s", err);
	assert_rel(f.sigma, 0.08, 0.5, "sigma");
	assert_rel(f.kappa, 0.002, 0.5, "kappa");
	assert_rel(f.lambda, 150, 0.1, "lambda");
	cr_assert_gt(f.r2, 0.95);
	cr_assert(f.se_sigma > 0 && f.se_kappa > 0 && f.se_lambda > 0);
}

Test(usl, linear_data_is_linear)
{
	const double n[] = { 1, 2, 4, 8, 16 };
	struct usl_point p[5];
	struct usl_fit f;
	char err[256];
	synthetic(0, 0, 12.5, n, 5, p);
	cr_assert_eq(usl_fit(p, 5, &f, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(f.sigma, 0);
	cr_assert_eq(f.kappa, 0);
	assert_rel(f.lambda, 12.5, 1e-12, "lambda");
	cr_assert_str_eq(f.limit, "linear");
	cr_assert(isinf(f.n_star) && isinf(f.x_max));
	cr_assert_eq(usl_concurrency_for(&f, 100), 8);
}

Test(usl, contention_only_data_levels_off)
{
	const double n[] = { 1, 2, 4, 8, 16, 32, 64 };
	struct usl_point p[7];
	struct usl_fit f;
	char err[256];
	synthetic(0.1, 0, 100, n, 7, p);
	cr_assert_eq(usl_fit(p, 7, &f, err, sizeof(err)), 0, "%s", err);
	assert_rel(f.sigma, 0.1, 1e-9, "sigma");
	cr_assert_eq(f.kappa, 0);
	assert_rel(f.lambda, 100, 1e-9, "lambda");
	cr_assert_str_eq(f.limit, "contention");
	cr_assert(isinf(f.n_star));
	assert_rel(f.x_max, 1000, 1e-9, "X_max = λ/σ");
	/* X(n) = 500 at 100n = 500(1 + 0.1(n − 1)): n = 9 */
	assert_rel(usl_concurrency_for(&f, 500), 9, 1e-9, "N for X = 500");
	cr_assert(isnan(usl_concurrency_for(&f, 1000.5)));
}

/* Throughput that falls from N = 1 on: κ takes it all, and the peak is at N = 1. */
Test(usl, retrograde_from_the_start)
{
	const double n[] = { 1, 2, 3, 4 };
	const double x[] = { 100, 90, 80, 70 };
	struct usl_point p[4];
	struct usl_fit f;
	char err[256];
	cr_assert_eq(usl_fit(p, points(n, x, 4, p), &f, err, sizeof(err)), 0, "%s", err);
	cr_assert(f.n_star >= 1 && f.n_star < 2, "N* = %g", f.n_star);
	cr_assert(f.sigma >= 0 && f.kappa >= 0 && f.lambda > 0);
}

Test(usl, concurrency_for_inverts_the_curve)
{
	struct usl_fit f = { .sigma = 0.0277285, .kappa = 0.0001044, .lambda = 89.995 };
	f.n_star = sqrt((1 - f.sigma) / f.kappa);
	f.x_max = usl_throughput(&f, f.n_star);
	for (double x = 100; x < f.x_max; x += 150) {
		double n = usl_concurrency_for(&f, x);
		cr_assert(n >= 1 && n <= f.n_star, "x %g: n %g", x, n);
		assert_rel(usl_throughput(&f, n), x, 1e-9, "X(N(x))");
	}
	cr_assert_eq(usl_concurrency_for(&f, 50), 1);
	cr_assert(isnan(usl_concurrency_for(&f, f.x_max * 1.001)));
	cr_assert(isnan(usl_concurrency_for(&f, NAN)));
	assert_rel(usl_concurrency_for(&f, f.x_max), f.n_star, 1e-6, "N(X_max)");
}

Test(usl, bad_points_are_refused_with_a_reason)
{
	struct usl_point p[8];
	struct usl_fit f;
	char err[256];
	const double n3[] = { 1, 2, 4 }, x3[] = { 10, 19, 30 };

	cr_assert_eq(usl_fit(p, points(n3, x3, 2, p), &f, err, sizeof(err)), -1);
	cr_assert(strstr(err, "2 points: at least 3"), "%s", err);
	cr_assert_eq(usl_fit(NULL, 0, &f, err, sizeof(err)), -1);
	cr_assert_eq(usl_fit(p, USL_POINTS_MAX + 1, &f, err, sizeof(err)), -1);
	cr_assert(strstr(err, "at most"), "%s", err);

	const double same[] = { 4, 4, 4, 4, 4 }, xs[] = { 10, 11, 10, 12, 11 };
	cr_assert_eq(usl_fit(p, points(same, xs, 5, p), &f, err, sizeof(err)), -1);
	cr_assert(strstr(err, "1 distinct concurrency"), "%s", err);
	const double two[] = { 1, 1, 2, 2 };
	cr_assert_eq(usl_fit(p, points(two, xs, 4, p), &f, err, sizeof(err)), -1);
	cr_assert(strstr(err, "2 distinct concurrencies"), "%s", err);

	const double bad_n[][3] = { { 0, 2, 4 }, { 1, -2, 4 }, { 1, NAN, 4 }, { 1, 2, INFINITY } };
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(usl_fit(p, points(bad_n[i], x3, 3, p), &f, err, sizeof(err)), -1);
		cr_assert(strstr(err, "not a positive concurrency"), "%s", err);
	}
	const double bad_x[][3] = { { 0, 19, 30 }, { 10, -1, 30 }, { 10, 19, NAN } };
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(usl_fit(p, points(n3, bad_x[i], 3, p), &f, err, sizeof(err)), -1);
		cr_assert(strstr(err, "not a positive throughput"), "%s", err);
	}
	/* a NULL err is allowed */
	cr_assert_eq(usl_fit(p, 1, &f, NULL, 0), -1);
}

/* Three points fit exactly: no degrees of freedom for standard errors. */
Test(usl, three_points_have_no_standard_errors)
{
	const double n[] = { 1, 8, 32 };
	struct usl_point p[3];
	struct usl_fit f;
	char err[256];
	synthetic(0.02, 0.0005, 50, n, 3, p);
	cr_assert_eq(usl_fit(p, 3, &f, err, sizeof(err)), 0, "%s", err);
	assert_rel(f.sigma, 0.02, 1e-8, "sigma");
	cr_assert(isnan(f.se_sigma) && isnan(f.se_kappa) && isnan(f.se_lambda));
}

Test(usl, littles_law)
{
	struct usl_point p[3] = { { 1, 100, 0.010 }, { 2, 190, 0.0105 }, { 4, 200, NAN } };
	struct usl_littles l;
	usl_littles(p, 3, &l);
	cr_assert_eq(l.known, 2);
	assert_rel(l.ratio_min, 0.9975, 1e-12, "ratio min");
	assert_rel(l.ratio_max, 1.0, 1e-12, "ratio max");
	cr_assert(l.agree);
	p[2].r = 0.010; /* 2 requests in service with 4 VUs: think time or a queue outside */
	usl_littles(p, 3, &l);
	cr_assert_eq(l.known, 3);
	assert_rel(l.worst, 0.5, 1e-12, "worst");
	cr_assert(!l.agree);
	usl_littles(p, 0, &l);
	cr_assert_eq(l.known, 0);
	cr_assert(!l.agree && isnan(l.ratio_min));
}

Test(usl, json_round_trip)
{
	struct usl_point p[7];
	struct usl_fit f, g;
	char err[256];
	int n = points(sdm_n, sdm_x, 7, p);
	p[0].r = 1 / 64.9; /* one R known: littleN = 1 */
	cr_assert_eq(usl_fit(p, n, &f, err, sizeof(err)), 0);
	json_t *j = usl_json(&f, p, n);
	char *s = json_dumps(j, JSON_COMPACT);
	json_t *back = json_loads(s, 0, NULL);
	cr_assert_eq(usl_from_json(back, &g, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(g.sigma, f.sigma);
	cr_assert_eq(g.kappa, f.kappa);
	cr_assert_eq(g.lambda, f.lambda);
	cr_assert_eq(g.se_kappa, f.se_kappa);
	cr_assert_eq(g.r2, f.r2);
	cr_assert_eq(g.n_star, f.n_star);
	cr_assert_eq(g.x_max, f.x_max);
	cr_assert_str_eq(g.limit, "coherency");
	cr_assert_eq(g.npoints, 7);
	json_t *pts = json_object_get(j, "points");
	cr_assert_eq(json_array_size(pts), 7);
	json_t *p0 = json_array_get(pts, 0), *p1 = json_array_get(pts, 1);
	assert_rel(json_real_value(json_object_get(p0, "littleN")), 1, 1e-12, "littleN");
	cr_assert(json_is_null(json_object_get(p1, "littleN")));
	cr_assert(json_is_null(json_object_get(p1, "r")));
	assert_rel(json_real_value(json_object_get(p1, "fitted")), usl_throughput(&f, 18), 1e-15,
	           "fitted");
	json_t *l = json_object_get(j, "littles");
	cr_assert_eq(json_integer_value(json_object_get(l, "known")), 1);
	cr_assert(json_is_true(json_object_get(l, "agree")));
	free(s);
	json_decref(back);
	json_decref(j);

	/* a contention-limited fit: N* is null in JSON, infinite again when read back */
	struct usl_fit c = { .sigma = 0.1,
		             .kappa = 0,
		             .lambda = 100,
		             .se_sigma = NAN,
		             .se_kappa = NAN,
		             .se_lambda = NAN,
		             .r2 = 1,
		             .n_star = INFINITY,
		             .x_max = 1000,
		             .limit = "contention",
		             .npoints = 3 };
	j = usl_json(&c, NULL, 0);
	cr_assert(json_is_null(json_object_get(j, "nStar")));
	cr_assert(json_is_null(json_object_get(j, "seSigma")));
	cr_assert(json_is_null(json_object_get(j, "littles")));
	cr_assert_eq(usl_from_json(j, &g, err, sizeof(err)), 0, "%s", err);
	cr_assert(isinf(g.n_star) && isnan(g.se_sigma));
	assert_rel(g.x_max, 1000, 1e-12, "x_max");
	cr_assert_str_eq(g.limit, "contention");
	json_decref(j);
}

Test(usl, from_json_refuses_bad_fits)
{
	struct usl_fit g;
	char err[256];
	const char *bad[] = {
		"[]",
		"{\"sigma\": 0.1, \"kappa\": 0, \"lambda\": 1}",
		"{\"model\": \"amdahl\", \"sigma\": 0.1, \"kappa\": 0, \"lambda\": 1}",
		"{\"model\": \"usl\", \"sigma\": -0.1, \"kappa\": 0, \"lambda\": 1}",
		"{\"model\": \"usl\", \"sigma\": 0.1, \"kappa\": \"x\", \"lambda\": 1}",
		"{\"model\": \"usl\", \"sigma\": 0.1, \"kappa\": 0, \"lambda\": 0}",
		"{\"model\": \"usl\", \"sigma\": 0.1, \"kappa\": 0}",
		"{\"model\": \"usl\", \"sigma\": 0.1, \"kappa\": 0, \"lambda\": 1, \"r2\": "
		"\"high\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		err[0] = '\0';
		cr_assert_eq(usl_from_json(j, &g, err, sizeof(err)), -1, "%s", bad[i]);
		cr_assert(err[0], "no reason for %s", bad[i]);
		json_decref(j);
	}
}

Test(usl, points_from_a_closed_stepped_run)
{
	json_t *tt = json_loads(
	    "{\"type\": \"stress\", \"model\": \"closed\", \"steps\": ["
	    "{\"phase\": \"ramp\", \"offered\": 2, \"offeredFrom\": 0, \"offeredTo\": 2, "
	    "\"throughput\": 50, \"mean\": 10},"
	    "{\"phase\": \"step 1\", \"offered\": 2, \"throughput\": 193.3, \"mean\": 10.3},"
	    "{\"phase\": \"step 2\", \"offered\": 4, \"throughput\": 386, \"mean\": 10.4},"
	    "{\"phase\": \"step 3\", \"offered\": 6, \"throughput\": null, \"mean\": null},"
	    "{\"phase\": \"step 4\", \"offered\": 8, \"throughput\": 396, \"mean\": null},"
	    "{\"phase\": \"step 5\", \"offered\": 10, \"throughput\": 395, \"mean\": 25.3},"
	    "{\"phase\": \"ramp-down\", \"offered\": 0, \"throughput\": 0}]}",
	    0, NULL);
	struct usl_point p[8];
	char err[256];
	int n = usl_points_from_steps(tt, p, 8, err, sizeof(err));
	cr_assert_eq(n, 4, "%d: %s", n, err);
	cr_assert_eq(p[0].n, 2);
	cr_assert_eq(p[0].x, 193.3);
	assert_rel(p[0].r, 0.0103, 1e-12, "mean in seconds");
	cr_assert_eq(p[2].n, 8);
	cr_assert(isnan(p[2].r));
	cr_assert_eq(usl_points_from_steps(tt, p, 3, err, sizeof(err)), -1);
	cr_assert(strstr(err, "more than 3"), "%s", err);

	/* the open model: the concurrency by Little's law, N = X.R; a step without a mean is
	 * left out */
	json_object_set_new(tt, "model", json_string("open"));
	cr_assert_eq(usl_points_from_steps(tt, p, 8, err, sizeof(err)), 3, "%s", err);
	assert_rel(p[0].n, 193.3 * 0.0103, 1e-12, "N = X.R");
	assert_rel(p[1].n, 386 * 0.0104, 1e-12, "N = X.R");
	assert_rel(p[2].n, 395 * 0.0253, 1e-12, "N = X.R");
	cr_assert_eq(p[2].x, 395);
	json_object_set_new(tt, "model", json_string("other"));
	cr_assert_eq(usl_points_from_steps(tt, p, 8, err, sizeof(err)), -1);
	cr_assert(strstr(err, "closed-model"), "%s", err);
	json_object_set_new(tt, "model", json_string("closed"));
	json_array_clear(json_object_get(tt, "steps"));
	cr_assert_eq(usl_points_from_steps(tt, p, 8, err, sizeof(err)), -1);
	cr_assert(strstr(err, "0 steps with throughput"), "%s", err);
	json_object_del(tt, "steps");
	cr_assert_eq(usl_points_from_steps(tt, p, 8, err, sizeof(err)), -1);
	cr_assert(strstr(err, "no steps"), "%s", err);
	cr_assert_eq(usl_points_from_steps(NULL, p, 8, err, sizeof(err)), -1);
	json_decref(tt);
}

/* A fixture's path: from the repository's root (where `make` runs the tests), or found from
 * this source file's path. */
static const char *fixture(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "tests/fixtures/usl/%s", name);
	if (access(buf, R_OK) == 0 || !strstr(__FILE__, "tests/unit/"))
		return buf;
	snprintf(buf, size, "%.*stests/fixtures/usl/%s",
	         (int)(strstr(__FILE__, "tests/unit/") - __FILE__), __FILE__, name);
	return buf;
}

/* ---- CSV ---------------------------------------------------------------------------- */

static int parse(const char *text, struct usl_point *p, int max, char *err, size_t errlen)
{
	return usl_parse_csv("in.csv", text, strlen(text), p, max, err, errlen);
}

Test(usl, csv_reads_points)
{
	struct usl_point p[8];
	char err[256];
	int n = parse("\xEF\xBB\xBF# comment\r\n\r\nN, X, R\r\n1,10,0.1\r\n 2 , 19.5 ,\r\n"
	              "4,3.6e1,0.11\n\t\n# end\n8,60",
	              p, 8, err, sizeof(err));
	cr_assert_eq(n, 4, "%s", err);
	cr_assert_eq(p[0].n, 1);
	cr_assert_eq(p[0].r, 0.1);
	cr_assert_eq(p[1].x, 19.5);
	cr_assert(isnan(p[1].r));
	cr_assert_eq(p[2].x, 36);
	cr_assert_eq(p[3].n, 8);
	cr_assert(isnan(p[3].r));
	/* no header */
	cr_assert_eq(parse("1,10\n2,20\n", p, 8, err, sizeof(err)), 2);
}

Test(usl, csv_refuses_bad_input_with_file_and_line)
{
	struct usl_point p[4];
	char err[256];
	const struct {
		const char *text, *want;
	} cases[] = {
		{ "", "in.csv: no data points" },
		{ "# only a comment\n\n", "in.csv: no data points" },
		{ "N,X\n", "in.csv: no data points" },
		{ "1,10\n2\n", "in.csv:2: expected N,X or N,X,R" },
		{ "1,10,0.1,7\n", "in.csv:1: expected N,X or N,X,R (more than 3 fields)" },
		{ "1,10\nN,X\n", "in.csv:2: N: 'N' is not a number" },
		{ "1,ten\n", "in.csv:1: X: 'ten' is not a number" },
		{ "1,nan\n", "in.csv:1: X: 'nan' is not a number" },
		{ "1,inf\n", "in.csv:1: X: 'inf' is not a number" },
		{ "1,0x10\n", "in.csv:1: X: '0x10' is not a number" },
		{ "1,1e999\n", "in.csv:1: X: '1e999' is out of range" },
		{ "1,-5\n", "in.csv:1: X must be > 0" },
		{ "0,5\n", "in.csv:1: N must be > 0" },
		{ "-1,5\n", "in.csv:1: N must be > 0" },
		{ "1,5,-0.1\n", "in.csv:1: R must be >= 0" },
		{ "1,\n", "in.csv:1: X: an empty field" },
		{ "1,2\n2,3\n3,4\n4,5\n5,6\n", "in.csv:5: more than 4 points" },
		{ "1,2\n1.2.3,4\n", "in.csv:2: N: '1.2.3' is not a number" },
		{ "1,12345678901234567890123456789012345678901234567890123456789012345678\n",
		  "in.csv:1: X: '123456789012345678901234...' is not a number" },
		{ "1,\x01\x02\xff\n", "in.csv:1: X: '?\?\?' is not a number" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(parse(cases[i].text, p, 4, err, sizeof(err)), -1, "case %zu", i);
		cr_assert(strstr(err, cases[i].want), "case %zu: '%s', want '%s'", i, err,
		          cases[i].want);
		cr_assert(!strchr(err, '\n'), "one line: %s", err);
	}
	/* a NUL byte: binary */
	cr_assert_eq(usl_parse_csv("in.csv", "1,2\n\0\x7f", 6, p, 4, err, sizeof(err)), -1);
	cr_assert(strstr(err, "in.csv: not a CSV file"), "%s", err);
}

Test(usl, csv_files)
{
	struct usl_point p[USL_POINTS_MAX];
	struct usl_fit f;
	char err[512], path[4096];
	int n = usl_read_csv(fixture("sdm91.csv", path, sizeof(path)), p, USL_POINTS_MAX, err,
	                     sizeof(err));
	cr_assert_eq(n, 7, "%s", err);
	cr_assert_eq(usl_fit(p, n, &f, err, sizeof(err)), 0, "%s", err);
	assert_rel(f.sigma, 0.0277285, 5e-5, "sigma");
	n = usl_read_csv(fixture("raytracer.csv", path, sizeof(path)), p, USL_POINTS_MAX, err,
	                 sizeof(err));
	cr_assert_eq(n, 11, "%s", err);
	n = usl_read_csv(fixture("littles.csv", path, sizeof(path)), p, USL_POINTS_MAX, err,
	                 sizeof(err));
	cr_assert_eq(n, 5, "%s", err);
	cr_assert_eq(p[4].r, 0.0405);

	cr_assert_eq(usl_read_csv(fixture("none.csv", path, sizeof(path)), p, 8, err, sizeof(err)),
	             -1);
	cr_assert(strstr(err, "none.csv: No such file"), "%s", err);
	cr_assert_eq(usl_read_csv(fixture("", path, sizeof(path)), p, 8, err, sizeof(err)), -1);

	/* too large: refused by its size, not read */
	char big[] = "/tmp/test_usl_XXXXXX";
	int fd = mkstemp(big);
	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, USL_CSV_MAX_BYTES + 1), 0);
	close(fd);
	cr_assert_eq(usl_read_csv(big, p, 8, err, sizeof(err)), -1);
	cr_assert(strstr(err, "larger than 1 MiB"), "%s", err);
	unlink(big);

	/* a whole file of binary (NULs) */
	cr_assert_eq(usl_read_csv("/dev/null", p, 8, err, sizeof(err)), -1);
	cr_assert(strstr(err, "no data points"), "%s", err);
}
