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
#include <sys/stat.h>

#include "analysis/usl.h"
#include "cli/capacity_cli.h"
#include "cli/cli_opts.h"
#include "cli/out_args.h"
#include "engine/run.h"
#include "result/result.h"
#include "util/common.h"
#include "util/outfile.h"

#define FIT_RESULT_MAX (1024ul * 1024 * 1024) /* a result file's limit (result_load's) */
/* A FIFO or device (/dev/stdin) cannot be read twice to learn its kind first: it is read up
 * to this, and /dev/zero stops there rather than at the result files' 1 GiB */
#define FIT_STREAM_MAX (64ul * 1024 * 1024)
#define FIT_PEEK       4096 /* bytes read to tell a result file ('{') from a CSV */
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
	       "In an open-model run N is the mean number of requests in service by Little's\n"
	       "law (N = X·R), so Little's law is not checked there (\"nSource\" in the JSON).\n\n"
	       "exit codes: 0 fitted, 104 unusable input or flags (fewer than 3 distinct N, a\n"
	       "            run without steps, a bad CSV line), 110 --out or stdout could not\n"
	       "            be written\n\n"
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
	/* where N comes from: "vus" (a closed-model run), "littles-law" (an open-model run:
	 * N = X·R), "csv" */
	const char *n_source;
	struct usl_point p[USL_POINTS_MAX];
	int n;
	struct usl_fit fit;
	struct usl_littles littles;
	char warn[WARNINGS_MAX][USL_WARNING_LEN];
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

static bool open_model(const json_t *tt)
{
	const char *m = json_string_value(json_object_get(tt, "model"));
	return m && !strcmp(m, "open");
}

/* The highest error rate among the steps that gave points (usl_points_from_steps's), and
 * its N: the VUs, or in the open model Little's N = X·R (NAN without a mean). */
static void worst_errors(struct fit_cli *c, const json_t *tt)
{
	size_t i;
	const json_t *row;
	bool open = open_model(tt);
	c->worst_errors = 0;
	c->worst_errors_n = NAN;
	json_array_foreach(json_object_get(tt, "steps"), i, row)
	{
		double e = json_number_value(json_object_get(row, "errorRate"));
		if (!json_object_get(row, "offeredFrom") &&
		    json_number_value(json_object_get(row, "throughput")) > 0 &&
		    e > c->worst_errors) {
			const json_t *g = json_object_get(row, "goodThroughput"),
			             *mean = json_object_get(row, "mean");
			double x = json_is_number(g)
			               ? json_number_value(g)
			               : json_number_value(json_object_get(row, "throughput"));
			c->worst_errors = e;
			c->worst_errors_n =
			    !open ? json_number_value(json_object_get(row, "offered"))
			    : json_is_number(mean) ? x * json_number_value(mean) / 1000
			                           : NAN;
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
	c->n_source = open_model(tt) ? "littles-law" : "vus";
	result_free(r);
	if (c->n < 0) {
		say("%s: %s\n", c->input, err);
		return -EINVAL;
	}
	c->kind = "result";
	c->per_second = true;
	return 0;
}

/* Whether the file at path is a regular one that starts (after a BOM and spaces) with '{':
 * a result file. Only its first FIT_PEEK bytes are read. */
static bool regular_json(const char *path, bool *regular)
{
	struct stat st;
	char head[FIT_PEEK];
	*regular = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	if (!*regular)
		return false;
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	size_t len = fread(head, 1, sizeof(head), f), i;
	fclose(f);
	i = len >= 3 && !memcmp(head, "\xEF\xBB\xBF", 3) ? 3 : 0;
	while (i < len && strchr(" \t\r\n", head[i]) && head[i])
		i++;
	return i < len && head[i] == '{';
}

static int read_points(struct fit_cli *c)
{
	char *text, err[512];
	size_t len;
	bool regular, result = regular_json(c->input, &regular);
	/* a regular file is read once its kind is known, up to that kind's limit (its size
	 * is checked before any read); anything else up to FIT_STREAM_MAX */
	size_t max = !regular ? FIT_STREAM_MAX : result ? FIT_RESULT_MAX : USL_CSV_MAX_BYTES;
	int rc = read_file_max(c->input, max, &text, &len);
	if (rc == -EFBIG) {
		if (regular && !result)
			say("%s: larger than %d MiB and not a result file: not a CSV of points\n",
			    c->input, USL_CSV_MAX_BYTES >> 20);
		else
			say("%s: larger than %zu MiB: not a result file or a CSV of points\n",
			    c->input, max >> 20);
		return -EINVAL;
	}
	if (rc < 0) {
		say("%s: %s\n", c->input, read_file_strerror(rc));
		return -EINVAL;
	}
	size_t i = len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3) ? 3 : 0;
	while (i < len && strchr(" \t\r\n", text[i]) && text[i])
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
		c->n_source = "csv";
		c->worst_errors = NAN; /* not known */
		c->worst_errors_n = NAN;
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

static bool littles_n(const struct fit_cli *c)
{
	return !strcmp(c->n_source, "littles-law");
}

/* The verdict (usl_verdict) and the warnings (usl_warnings). */
static void notes(struct fit_cli *c, char *verdict, size_t size)
{
	usl_verdict(&c->fit, unit(c), verdict, size);
	c->nwarn = usl_warnings(&c->fit, c->p, c->n, unit(c), c->worst_errors, c->worst_errors_n,
	                        c->warn, WARNINGS_MAX);
}

/* ---- outputs ------------------------------------------------------------------------- */

/* The points, the fit at each and the residual; Little's N = X·R unless N is that already
 * (an open-model run). */
static void print_points(const struct fit_cli *c)
{
	char n[32], x[32], r[32], fx[32], ln[32];
	bool little = !littles_n(c);
	printf("  %8s %12s %10s %12s %9s", littles_n(c) ? "N (X·R)" : "N", "X", "R (ms)",
	       "fitted X", "residual");
	printf(little ? " %11s\n" : "\n", "Little's N");
	for (int i = 0; i < c->n; i++) {
		const struct usl_point *p = &c->p[i];
		double fitted = usl_throughput(&c->fit, p->n);
		char res[32];
		snprintf(res, sizeof(res), "%+.1f%%", 100 * (p->x - fitted) / p->x);
		printf("  %8s %12s %10s %12s %9s", fmt(p->n, n, sizeof(n)), fmt(p->x, x, sizeof(x)),
		       fmt(p->r * 1000, r, sizeof(r)), fmt(fitted, fx, sizeof(fx)), res);
		if (little)
			printf(" %11s", fmt(p->x * p->r, ln, sizeof(ln)));
		printf("\n");
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

static void print_report(const struct fit_cli *c, const char *verdict)
{
	const struct usl_fit *f = &c->fit;
	char a[32];
	printf("Universal Scalability Law fit of %s (%s, %d points)\n", c->input, c->kind, c->n);
	if (littles_n(c))
		printf("an open-model run: N is the mean number of requests in service by Little's "
		       "law (N = X·R), not a set concurrency; a Little's-law check would be "
		       "circular\n");
	printf("\n");
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
	if (c->littles.known && !littles_n(c)) {
		label("Little's law");
		printf("%12s  (X·R/N %.2f to %.2f on %d point%s)\n",
		       c->littles.agree ? "holds" : "off", c->littles.ratio_min,
		       c->littles.ratio_max, c->littles.known, c->littles.known == 1 ? "" : "s");
	}
	printf("\nverdict: %s\n", verdict);
	if (c->nwarn)
		printf("\nwarnings:\n");
	for (int i = 0; i < c->nwarn; i++)
		printf("  - %s\n", c->warn[i]);
}

static json_t *fit_doc(const struct fit_cli *c, const char *verdict)
{
	json_t *doc = usl_json(&c->fit, c->p, c->n), *w = json_array();
	json_object_set_new(doc, "input", json_string(c->input));
	json_object_set_new(doc, "inputKind", json_string(c->kind));
	json_object_set_new(doc, "unit", c->per_second ? json_string("1/s") : json_null());
	json_object_set_new(doc, "nSource", json_string(c->n_source));
	if (littles_n(c)) /* N = X·R: the check would be circular */
		json_object_set_new(doc, "littles", json_null());
	json_object_set_new(doc, "verdict", json_string(verdict));
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
	char verdict[512];
	notes(c, verdict, sizeof(verdict));
	json_t *doc = fit_doc(c, verdict);
	rc = EXIT_OK;
	if (c->json) {
		if (write_json("-", doc) < 0)
			rc = EXIT_OUTPUT_FAILED;
	} else {
		print_report(c, verdict);
		/* a full disk or a closed pipe on stdout: the report is lost */
		if (fflush(stdout) != 0 || ferror(stdout)) {
			say("stdout: %s\n", strerror(errno ? errno : EIO));
			rc = EXIT_OUTPUT_FAILED;
		}
	}
	if (c->out && write_json(c->out, doc) < 0)
		rc = EXIT_OUTPUT_FAILED;
	else if (c->out)
		say("wrote %s\n", c->out);
	json_decref(doc);
	free(c);
	return rc;
}
