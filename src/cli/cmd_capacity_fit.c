/* cmd_capacity_fit.c: `stampede capacity fit INPUT`: the Universal Scalability Law fitted to
 * a stepped closed-model run's steps or to a CSV of N,X[,R] points (analysis/usl.h,
 * docs/capacity.md): the points, σ κ λ with standard errors, R², N*, X_max, the verdict and
 * what to distrust in it. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/usl.h"
#include "cli/capacity_cli.h"
#include "cli/cli_opts.h"
#include "cli/out_args.h"
#include "engine/run.h"
#include "result/result.h"
#include "util/common.h"
#include "util/outfile.h"

#define FIT_INPUT_MAX  (1024ul * 1024 * 1024) /* a result file's limit (result_load) */
#define FEW_POINTS     6    /* fewer: R's usl warns too ("the result might not be accurate") */
#define POOR_R2        0.9  /* below: the curve does not describe the points */
#define FAR_BELOW_PEAK 0.5  /* the largest measured N under this share of N*: extrapolated */
#define ERRORS_NOTED   0.01 /* a step with more failed responses than this is noted */
#define WARNINGS_MAX   8

void cmd_capacity_fit_usage(void)
{
	printf("usage: stampede capacity fit INPUT [--out json=FILE] [--json]\n\n"
	       "Fit the Universal Scalability Law X(N) = λN / (1 + σ(N−1) + κN(N−1)) to\n"
	       "measured throughput X at concurrency N, by nonlinear least squares (GSL):\n"
	       "σ (contention), κ (coherency) and λ (X at N = 1) with standard errors, R²,\n"
	       "the peak N* = sqrt((1−σ)/κ) and X_max, and the limit in words. Little's law\n"
	       "(N = X·R) is checked on the points whose response time R is known.\n\n"
	       "INPUT is a result file of a stepped closed-model run (`stampede capacity sweep`\n"
	       "or `stampede run --type stress --out result=FILE`: the steps' VUs, throughput and\n"
	       "mean response time), or a CSV of N,X or N,X,R lines (R in seconds; a header line,\n"
	       "blank lines and # comments are skipped).\n\n"
	       "  --out json=FILE   also write the fit as JSON (`capacity plan --model` reads it;\n"
	       "                    - is stdout)\n"
	       "  --json            print the JSON on stdout instead of the report\n"
	       "  -h, --help        this help\n\n"
	       "exit codes: 0 fitted, 104 unusable input or flags (fewer than 3 distinct N, an\n"
	       "            open-model run, a bad CSV line), 110 --out could not be written\n\n"
	       "example: stampede capacity fit sweep.json --out json=fit.json\n");
}

static const struct option long_opts[] = {
	{ "out", required_argument, NULL, 'o' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static const char *const out_formats[] = { "json", NULL };
static const struct out_spec fit_outs = { .cmd = "capacity fit", .formats = out_formats, .max = 1 };

struct fit_cli {
	const char *input, *out;
	bool json;
	bool per_second;                     /* X from a result file: requests per second */
	double worst_errors, worst_errors_n; /* the steps' highest error rate, and its N */
	const char *kind;                    /* "result" or "CSV" */
	struct usl_point p[USL_POINTS_MAX];
	int n;
	struct usl_fit fit;
	struct usl_littles littles;
	char warn[WARNINGS_MAX][320];
	int nwarn;
};

#define say(...) fprintf(stderr, "stampede capacity fit: " __VA_ARGS__)

static int parse_args(struct fit_cli *c, int argc, char **argv)
{
	struct out_arg outs[1];
	int opt, nouts = 0;
	optind = 1;
	while ((opt = cli_getopt_long(argc, argv, ":hj", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			cmd_capacity_fit_usage();
			return 1;
		case 'j':
			c->json = true;
			break;
		case 'o':
			if (out_args_parse(&fit_outs, outs, &nouts, optarg) < 0)
				return -EINVAL;
			c->out = outs[0].path;
			if (!strcmp(c->out, "-")) { /* the JSON on stdout: no report there too */
				c->json = true;
				c->out = NULL;
			}
			break;
		default:
			say("%s\n", cli_opt_error());
			return -EINVAL;
		}
	}
	if (argc - optind != 1) {
		if (argc - optind < 1)
			say("give the input: a result file of a stepped run, or a CSV of "
			    "N,X[,R]\n");
		else
			say("unexpected argument '%.200s' (one input only)\n", argv[optind + 1]);
		return -EINVAL;
	}
	c->input = argv[optind];
	/* json=- was --json: no file */
	return out_args_check(&fit_outs, outs, c->out ? nouts : 0, &c->input, 1, "the input");
}

/* The highest error rate among the steps that gave points (usl_points_from_steps's). */
static void worst_errors(struct fit_cli *c, const json_t *tt)
{
	size_t i;
	const json_t *row;
	json_array_foreach(json_object_get(tt, "steps"), i, row)
	{
		double e = json_number_value(json_object_get(row, "errorRate"));
		if (!json_object_get(row, "offeredFrom") &&
		    json_number_value(json_object_get(row, "throughput")) > 0 &&
		    e > c->worst_errors) {
			c->worst_errors = e;
			c->worst_errors_n = json_number_value(json_object_get(row, "offered"));
		}
	}
}

/* The steps of a result document (text[0..len), JSON). */
static int points_from_result(struct fit_cli *c, const char *text, size_t len)
{
	char err[512];
	json_error_t je;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		say("%s:%d: not valid JSON: %s\n", c->input, je.line, je.text);
		return -EINVAL;
	}
	struct result *r = result_from_json(doc, err, sizeof(err));
	json_decref(doc);
	if (!r) {
		say("%s: %s\n", c->input, err);
		return -EINVAL;
	}
	const json_t *tt = json_object_get(r->analyses, "testType");
	if (!tt) {
		say("%s: the run has no steps (a run with --type stress, or `stampede capacity "
		    "sweep`, measures them)\n",
		    c->input);
		result_free(r);
		return -EINVAL;
	}
	c->n = usl_points_from_steps(tt, c->p, USL_POINTS_MAX, err, sizeof(err));
	worst_errors(c, tt);
	result_free(r);
	if (c->n < 0) {
		say("%s: %s\n", c->input, err);
		return -EINVAL;
	}
	c->kind = "result";
	c->per_second = true;
	return 0;
}

static int read_points(struct fit_cli *c)
{
	char *text, err[512];
	size_t len;
	int rc = read_file_max(c->input, FIT_INPUT_MAX, &text, &len);
	if (rc < 0) {
		say("%s: %s\n", c->input, read_file_strerror(rc));
		return -EINVAL;
	}
	size_t i = len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3) ? 3 : 0;
	while (i < len && strchr(" \t\r\n", text[i]))
		i++;
	if (i < len && text[i] == '{') {
		rc = points_from_result(c, text, len);
	} else if (len > USL_CSV_MAX_BYTES) {
		say("%s: larger than %d MiB and not a result file: not a CSV of points\n", c->input,
		    USL_CSV_MAX_BYTES >> 20);
		rc = -EINVAL;
	} else {
		c->n = usl_parse_csv(c->input, text, len, c->p, USL_POINTS_MAX, err, sizeof(err));
		if (c->n < 0)
			say("%s\n", err);
		rc = c->n < 0 ? -EINVAL : 0;
		c->kind = "CSV";
	}
	free(text);
	return rc;
}

/* ---- numbers in words ----------------------------------------------------------------- */

/* v with thousands separators and no decimals from 1,000 up, 4 significant digits below. */
static const char *fmt(double v, char *buf, size_t size)
{
	if (isnan(v))
		return snprintf(buf, size, "-"), buf;
	if (isinf(v))
		return snprintf(buf, size, "%s", v > 0 ? "∞" : "-∞"), buf;
	if (fabs(v) < 1000 || fabs(v) >= 1e15) {
		snprintf(buf, size, "%.4g", v);
		return buf;
	}
	char digits[32];
	snprintf(digits, sizeof(digits), "%.0f", fabs(v));
	size_t nd = strlen(digits), k = 0;
	if (v < 0 && k + 1 < size)
		buf[k++] = '-';
	for (size_t i = 0; i < nd && k + 2 < size; i++) {
		if (i && (nd - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = digits[i];
	}
	buf[k] = '\0';
	return buf;
}

static const char *unit(const struct fit_cli *c)
{
	return c->per_second ? "/s" : "";
}

/* The verdict in one sentence. */
static void verdict(const struct fit_cli *c, char *out, size_t size)
{
	const struct usl_fit *f = &c->fit;
	char a[32], b[32];
	if (f->n_star <= 1)
		snprintf(out, size,
		         "throughput is highest at N = 1 (X ≈ %s%s): added concurrency only costs",
		         fmt(f->x_max, a, sizeof(a)), unit(c));
	else if (!strcmp(f->limit, "coherency"))
		snprintf(
		    out, size,
		    "coherency-limited: throughput peaks at N* ≈ %.0f (X_max ≈ %s%s) and falls "
		    "beyond it",
		    f->n_star, fmt(f->x_max, a, sizeof(a)), unit(c));
	else if (!strcmp(f->limit, "contention"))
		snprintf(
		    out, size,
		    "contention-limited: throughput levels off towards X_max = λ/σ ≈ %s%s as N "
		    "grows, without a peak (κ = 0); half of it at N ≈ %s",
		    fmt(f->x_max, a, sizeof(a)), unit(c),
		    fmt(usl_concurrency_for(f, f->x_max / 2), b, sizeof(b)));
	else
		snprintf(out, size,
		         "linear: neither contention nor coherency shows over the measured range; "
		         "X grows by λ ≈ %s%s per unit of N",
		         fmt(f->lambda, a, sizeof(a)), unit(c));
}

#define warn(c, ...)                                                                               \
	do {                                                                                       \
		if ((c)->nwarn < WARNINGS_MAX)                                                     \
			snprintf((c)->warn[(c)->nwarn++], sizeof((c)->warn[0]), __VA_ARGS__);      \
	} while (0)

static void find_warnings(struct fit_cli *c)
{
	const struct usl_fit *f = &c->fit;
	const struct usl_littles *l = &c->littles;
	char a[32], b[32];
	double nmax = 0, xmax = 0;
	for (int i = 0; i < c->n; i++) {
		nmax = MAX(nmax, c->p[i].n);
		xmax = MAX(xmax, c->p[i].x);
	}
	if (c->worst_errors > ERRORS_NOTED)
		warn(c,
		     "the step at N = %s had %.1f%% failed responses: X counts them, and fast "
		     "failures inflate it; the fit describes served load, not good load",
		     fmt(c->worst_errors_n, a, sizeof(a)), 100 * c->worst_errors);
	if (c->n < FEW_POINTS)
		warn(c,
		     "only %d points: σ, κ and λ rest on few measurements (%d or more concurrency "
		     "levels make them firmer)",
		     c->n, FEW_POINTS);
	if (isfinite(f->r2) && f->r2 < POOR_R2)
		warn(c,
		     "R² = %.3f (below %.1f): the USL describes these points poorly (noisy steps, "
		     "errors, or a system that changed during the run)",
		     f->r2, POOR_R2);
	if (!strcmp(f->limit, "coherency") && f->n_star > 1 && nmax < FAR_BELOW_PEAK * f->n_star)
		warn(c,
		     "every measured N is far below N* ≈ %.0f (the largest is %s): the peak is an "
		     "extrapolation; measure up to about N* to confirm it",
		     f->n_star, fmt(nmax, a, sizeof(a)));
	if (!strcmp(f->limit, "contention") && xmax < FAR_BELOW_PEAK * f->x_max)
		warn(c,
		     "the measured X stays below half of X_max ≈ %s%s: the ceiling is an "
		     "extrapolation; measure at higher N to confirm it",
		     fmt(f->x_max, a, sizeof(a)), unit(c));
	if (f->kappa > 0 && isfinite(f->se_kappa) && f->se_kappa >= f->kappa)
		warn(c, "κ is within one standard error of 0: these points do not establish the "
		        "retrograde part (N* is uncertain)");
	if (l->known && !l->agree && l->ratio_min < 1 - USL_LITTLE_TOLERANCE)
		warn(c,
		     "Little's law: X·R is %s to %s of N (off by more than %.0f%%): the VUs spend "
		     "time outside the measured response time (think time, client-side work, or a "
		     "queue outside the measured path), so N overstates the concurrency the target "
		     "sees",
		     fmt(100 * l->ratio_min, a, sizeof(a)), fmt(100 * l->ratio_max, b, sizeof(b)),
		     100 * USL_LITTLE_TOLERANCE);
	else if (l->known && !l->agree)
		warn(
		    c,
		    "Little's law: X·R is up to %s%% of N (off by more than %.0f%%): more requests "
		    "in service than N allows; R counts time outside the service, or N is not the "
		    "concurrency",
		    fmt(100 * l->ratio_max, a, sizeof(a)), 100 * USL_LITTLE_TOLERANCE);
}

/* ---- outputs ------------------------------------------------------------------------- */

static void print_points(const struct fit_cli *c)
{
	char n[32], x[32], r[32], fx[32], ln[32];
	printf("  %8s %12s %10s %12s %9s %11s\n", "N", "X", "R (ms)", "fitted X", "residual",
	       "Little's N");
	for (int i = 0; i < c->n; i++) {
		const struct usl_point *p = &c->p[i];
		double fitted = usl_throughput(&c->fit, p->n);
		char res[32];
		snprintf(res, sizeof(res), "%+.1f%%", 100 * (p->x - fitted) / p->x);
		printf("  %8s %12s %10s %12s %9s %11s\n", fmt(p->n, n, sizeof(n)),
		       fmt(p->x, x, sizeof(x)), fmt(p->r * 1000, r, sizeof(r)),
		       fmt(fitted, fx, sizeof(fx)), res, fmt(p->x * p->r, ln, sizeof(ln)));
	}
}

/* "  LABEL" padded to 20 columns (UTF-8 labels: σ, κ, ², counted as one column each). */
static void label(const char *name)
{
	int cols = 0;
	for (const char *s = name; *s; s++)
		cols += ((unsigned char)*s & 0xC0) != 0x80;
	printf("  %s%*s", name, MAX(0, 19 - cols), "");
}

/* A coefficient with 5 significant digits (the unit after it) and its standard error. */
static void print_coef(const char *name, double v, double se, const char *u)
{
	char a[32], b[32];
	label(name);
	snprintf(a, sizeof(a), "%.5g%s", v, u);
	printf("%12s", a);
	if (isfinite(se))
		printf("  ± %s", fmt(se, b, sizeof(b)));
	printf("\n");
}

static void print_report(const struct fit_cli *c)
{
	const struct usl_fit *f = &c->fit;
	char line[512], a[32];
	printf("Universal Scalability Law fit of %s (%s, %d points)\n\n", c->input, c->kind, c->n);
	print_points(c);
	printf("\n");
	print_coef("σ (contention)", f->sigma, f->se_sigma, "");
	print_coef("κ (coherency)", f->kappa, f->se_kappa, "");
	print_coef("λ (X at N = 1)", f->lambda, f->se_lambda, unit(c));
	label("R²");
	printf("%12s\n", isfinite(f->r2) ? (snprintf(a, sizeof(a), "%.4f", f->r2), a) : "-");
	label("N* (peak)");
	printf("%12s\n", isinf(f->n_star) ? "none" : fmt(f->n_star, a, sizeof(a)));
	label("X_max");
	printf("%12s%s\n", fmt(f->x_max, a, sizeof(a)), unit(c));
	if (c->littles.known) {
		label("Little's law");
		printf("%12s  (X·R/N %.2f to %.2f on %d point%s)\n",
		       c->littles.agree ? "holds" : "off", c->littles.ratio_min,
		       c->littles.ratio_max, c->littles.known, c->littles.known == 1 ? "" : "s");
	}
	verdict(c, line, sizeof(line));
	printf("\nverdict: %s\n", line);
	if (c->nwarn)
		printf("\nwarnings:\n");
	for (int i = 0; i < c->nwarn; i++)
		printf("  - %s\n", c->warn[i]);
}

static json_t *fit_doc(const struct fit_cli *c)
{
	char line[512];
	json_t *doc = usl_json(&c->fit, c->p, c->n), *w = json_array();
	json_object_set_new(doc, "input", json_string(c->input));
	json_object_set_new(doc, "inputKind", json_string(c->kind));
	json_object_set_new(doc, "unit", c->per_second ? json_string("1/s") : json_null());
	verdict(c, line, sizeof(line));
	json_object_set_new(doc, "verdict", json_string(line));
	for (int i = 0; i < c->nwarn; i++)
		json_array_append_new(w, json_string(c->warn[i]));
	json_object_set_new(doc, "warnings", w);
	return doc;
}

static int write_json(const char *path, const json_t *doc)
{
	char err[512];
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
	if (!text) {
		say("--out json=%s: out of memory\n", path);
		return -ENOMEM;
	}
	size_t len = strlen(text);
	text = xrealloc(text, len + 2);
	text[len++] = '\n';
	text[len] = '\0';
	int rc = outfile_write(path, text, len, err, sizeof(err));
	free(text);
	if (rc < 0)
		say("--out json=%s: %s\n", path, err);
	return rc;
}

int cmd_capacity_fit(int argc, char **argv)
{
	struct fit_cli *c = xcalloc(1, sizeof(*c));
	char err[512];
	int rc = parse_args(c, argc, argv);
	if (rc != 0) {
		free(c);
		return rc > 0 ? EXIT_OK : EXIT_INVALID_CONFIG;
	}
	if (read_points(c) < 0) {
		free(c);
		return EXIT_INVALID_CONFIG;
	}
	if (usl_fit(c->p, c->n, &c->fit, err, sizeof(err)) < 0) {
		say("%s: cannot fit the USL: %s\n", c->input, err);
		free(c);
		return EXIT_INVALID_CONFIG;
	}
	usl_littles(c->p, c->n, &c->littles);
	find_warnings(c);
	json_t *doc = fit_doc(c);
	rc = EXIT_OK;
	if (c->json) {
		if (write_json("-", doc) < 0)
			rc = EXIT_OUTPUT_FAILED;
	} else {
		print_report(c);
		fflush(stdout);
	}
	if (c->out && write_json(c->out, doc) < 0)
		rc = EXIT_OUTPUT_FAILED;
	else if (c->out)
		say("wrote %s\n", c->out);
	json_decref(doc);
	free(c);
	return rc;
}
