/* cmd_capacity_plan.c: `stampede capacity plan`: growth against a headroom buffer, the 2x,
 * 5x, 10x scenarios, triggers and cost (analysis/capplan.h, docs/capacity.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analysis/capplan.h"
#include "analysis/usl.h"
#include "cli/capacity_cli.h"
#include "cli/cli_opts.h"
#include "cli/out_args.h"
#include "engine/run.h"
#include "output/capacity_report.h"
#include "util/common.h"
#include "util/escape.h"
#include "util/outfile.h"

#define PLAN_OUTS_MAX  4
#define MODEL_FILE_MAX (64u << 20)
#define CURRENCY_MAX   16

void cmd_capacity_plan_usage(void)
{
	printf(
	    "usage: stampede capacity plan --current-rps R (--current-util P%% | --model "
	    "FIT.json)\n"
	    "                              --growth G [flags]\n\n"
	    "Plan capacity: project today's peak load at a monthly growth rate against a\n"
	    "headroom buffer (never run above it under normal load), and give the month each\n"
	    "trigger is crossed, the scaling schedule, and for each growth scenario (2x, 5x,\n"
	    "10x and yours) the instances needed at the buffer, their cost and what must\n"
	    "change before each threshold.\n\n"
	    "  --current-rps R          today's peak load in requests per second\n"
	    "  --current-util P%%        today's utilisation at that peak (e.g. 55%%): capacity\n"
	    "                           at 100%% = R / P\n"
	    "  --model FILE             instead of --current-util: a USL fit (`capacity fit\n"
	    "                           --out json=FILE`, or a stepped run's result file,\n"
	    "                           whose steps are fitted again); the lower of its X_max\n"
	    "                           and the best measured X is one instance's 100%%; the\n"
	    "                           fit's warnings are repeated in the plan\n"
	    "  --model-over KIND        with --model, what its N counts: concurrency (of one\n"
	    "                           instance; default) or instances (of a cluster: past\n"
	    "                           N* more instances do not help)\n"
	    "  --growth G               growth rate: 15%%/month (also /week, /quarter, /year,\n"
	    "                           converted to the compound monthly rate; 0%% for none)\n"
	    "  --buffer P%%              the headroom buffer (default 70%%)\n"
	    "  --warn P%%                the earlier warning trigger (default: the buffer\n"
	    "                           minus 10 points)\n"
	    "  --horizon N              months to project (default 12, at most %d)\n"
	    "  --instances N            instances carrying today's load (default 1)\n"
	    "  --scenario K             a growth scenario besides 2x, 5x, 10x, e.g. 3x\n"
	    "                           (repeatable)\n"
	    "  --cost-per-instance C    0.17/h, 4/day, 120/month or 1440/year: costs are shown\n"
	    "                           per month of 730 h, in the same (any) currency unit\n"
	    "  --currency TEXT          the unit's name for the outputs (e.g. USD)\n"
	    "  --optimise P%%            also plan hot paths made P%% cheaper per request\n"
	    "  --out FORMAT=FILE        also write FORMAT: json, markdown (the capacity\n"
	    "                           planning document; repeatable; - is stdout: that\n"
	    "                           output alone, without the table; one at most)\n"
	    "  -q, --quiet              no table on stdout\n"
	    "      --no-color           no colours (also NO_COLOR)\n"
	    "  -h, --help               this help\n\n"
	    "example: stampede capacity plan --current-rps 1000 --current-util 55%% \\\n"
	    "             --buffer 70%% --growth 15%%/month --horizon 12\n\n"
	    "exit codes: 0 planned (also when already over the buffer: the plan says so),\n"
	    "            104 invalid flags or input, 110 an --out file could not be written\n",
	    CAPPLAN_HORIZON_MAX);
}

enum {
	OPT_RPS = 400,
	OPT_UTIL,
	OPT_BUFFER,
	OPT_WARN,
	OPT_GROWTH,
	OPT_HORIZON,
	OPT_INSTANCES,
	OPT_SCENARIO,
	OPT_COST,
	OPT_CURRENCY,
	OPT_OPTIMISE,
	OPT_MODEL,
	OPT_MODEL_OVER,
	OPT_OUT,
	OPT_NO_COLOR,
};

static const struct option long_opts[] = {
	{ "current-rps", required_argument, NULL, OPT_RPS },
	{ "current-util", required_argument, NULL, OPT_UTIL },
	{ "buffer", required_argument, NULL, OPT_BUFFER },
	{ "warn", required_argument, NULL, OPT_WARN },
	{ "growth", required_argument, NULL, OPT_GROWTH },
	{ "horizon", required_argument, NULL, OPT_HORIZON },
	{ "instances", required_argument, NULL, OPT_INSTANCES },
	{ "scenario", required_argument, NULL, OPT_SCENARIO },
	{ "cost-per-instance", required_argument, NULL, OPT_COST },
	{ "currency", required_argument, NULL, OPT_CURRENCY },
	{ "optimise", required_argument, NULL, OPT_OPTIMISE },
	{ "optimize", required_argument, NULL, OPT_OPTIMISE },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "model-over", required_argument, NULL, OPT_MODEL_OVER },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "quiet", no_argument, NULL, 'q' },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static const char *const out_formats[] = { "json", "markdown", NULL };
static const struct out_spec plan_outs = { .cmd = "capacity plan",
	                                   .formats = out_formats,
	                                   .max = PLAN_OUTS_MAX };

struct plan_cli {
	struct capplan_in in;
	const char *model_path;
	struct out_arg outs[PLAN_OUTS_MAX];
	int nouts;
	bool quiet, color;
	bool over_given; /* --model-over (needs --model) */
};

static int parse_percent_flag(const char *flag, const char *arg, double lo, bool lo_open, double hi,
                              bool hi_open, double *out)
{
	double v;
	char why[96];
	snprintf(why, sizeof(why), "a percentage %s%g%%, %g%%%s, such as 55%%",
	         lo_open ? "in (" : "in [", lo * 100, hi * 100, hi_open ? ")" : "]");
	if (capplan_parse_percent(arg, &v) < 0 || (lo_open ? v <= lo : v < lo) ||
	    (hi_open ? v >= hi : v > hi))
		return cli_bad_value(flag, arg, why);
	*out = v;
	return 0;
}

/* A plain decimal with an optional exponent: "1000", "2.5", "1e12", "2.5E+6". */
static bool decimal_exp(const char *s)
{
	const char *e = strpbrk(s, "eE");
	if (!e)
		return cli_decimal(s, -1);
	const char *x = e + 1 + (e[1] == '+' || e[1] == '-');
	return cli_decimal(s, (int)(e - s)) && *x && strspn(x, "0123456789") == strlen(x);
}

static int parse_whole(const char *flag, const char *arg, int64_t lo, int64_t hi, int *out)
{
	int64_t v;
	char why[64];
	snprintf(why, sizeof(why), "a whole number from %lld to %lld", (long long)lo,
	         (long long)hi);
	if (!cli_decimal(arg, -1) || strchr(arg, '.') || parse_int64(arg, lo, hi, &v) < 0)
		return cli_bad_value(flag, arg, why);
	*out = (int)v;
	return 0;
}

static int parse_currency(struct plan_cli *c, const char *arg)
{
	size_t n = strlen(arg);
	char *fixed = utf8_fix(arg);
	bool ok = n > 0 && n <= CURRENCY_MAX && !fixed;
	free(fixed);
	for (const unsigned char *p = (const unsigned char *)arg; ok && *p; p++)
		ok = *p >= 0x20 && *p != 0x7f;
	if (!ok)
		return cli_bad_value("--currency", arg, "1 to 16 bytes of printable UTF-8 text");
	c->in.currency = arg;
	return 0;
}

static int one_flag(struct plan_cli *c, int opt, const char *arg)
{
	double v;
	switch (opt) {
	case OPT_RPS:
		if (!decimal_exp(arg) || parse_double(arg, &v) < 0 || v <= 0 || v > CAPPLAN_RPS_MAX)
			return cli_bad_value("--current-rps", arg,
			                     "requests per second above 0, at most 1e12 (a decimal "
			                     "number; an exponent such as 2.5e6 is allowed)");
		c->in.current_rps = v;
		return 0;
	case OPT_UTIL:
		return parse_percent_flag("--current-util", arg, 0, true, 1, false,
		                          &c->in.current_util);
	case OPT_BUFFER:
		return parse_percent_flag("--buffer", arg, 0, true, 1, false, &c->in.buffer);
	case OPT_WARN:
		return parse_percent_flag("--warn", arg, 0, true, 1, true, &c->in.warn);
	case OPT_OPTIMISE:
		return parse_percent_flag("--optimise", arg, 0, false, 1, true, &c->in.optimise);
	case OPT_GROWTH:
		if (capplan_parse_growth(arg, &c->in.growth) < 0 ||
		    c->in.growth > CAPPLAN_GROWTH_MAX)
			return cli_bad_value("--growth", arg,
			                     "a rate from 0% to 1000% a month, given per month, "
			                     "week, quarter or year, "
			                     "such as 15%/month");
		return 0;
	case OPT_HORIZON:
		return parse_whole("--horizon", arg, 1, CAPPLAN_HORIZON_MAX, &c->in.horizon);
	case OPT_INSTANCES:
		return parse_whole("--instances", arg, 1, CAPPLAN_INSTANCES_MAX, &c->in.instances);
	case OPT_SCENARIO:
		if (capplan_parse_multiple(arg, &v) < 0 || v > CAPPLAN_MULTIPLE_MAX)
			return cli_bad_value("--scenario", arg,
			                     "a multiple of today's load above 0, such as 3x");
		if (capplan_add_scenario(&c->in, v) < 0) {
			fprintf(stderr,
			        "stampede capacity plan: --scenario %s: at most %d scenarios, the "
			        "3 defaults (2x, 5x, 10x) included\n",
			        arg, CAPPLAN_SCENARIOS_MAX);
			return -EINVAL;
		}
		return 0;
	case OPT_COST:
		if (capplan_parse_cost(arg, &c->in.cost_month) < 0 ||
		    c->in.cost_month > CAPPLAN_COST_MAX)
			return cli_bad_value(
			    "--cost-per-instance", arg,
			    "an amount per hour, day, month or year, such as 0.17/h "
			    "or 120/month, at most 1000000000000 a month");
		return 0;
	case OPT_CURRENCY:
		return parse_currency(c, arg);
	case OPT_MODEL:
		c->model_path = arg;
		return 0;
	case OPT_MODEL_OVER:
		if (!strcmp(arg, "concurrency"))
			c->in.over = CAPPLAN_OVER_CONCURRENCY;
		else if (!strcmp(arg, "instances"))
			c->in.over = CAPPLAN_OVER_INSTANCES;
		else
			return cli_bad_value("--model-over", arg, "concurrency or instances");
		c->over_given = true;
		return 0;
	case OPT_OUT:
		return out_args_parse(&plan_outs, c->outs, &c->nouts, arg);
	case OPT_NO_COLOR:
		c->color = false;
		return 0;
	case 'q':
		c->quiet = true;
		return 0;
	}
	return 1;
}

/* The model: its fit, and the warnings about it (the model file's "warnings", or
 * usl_warnings() on its points) that the plan repeats. */
struct plan_model {
	struct usl_fit fit;
	json_t *warnings; /* an array of strings */
};

/* The highest error rate among a result's steps (rows with throughput; not a ramp's), its
 * N (the VUs; NAN in the open model, whose N is X·R). */
static void worst_errors(const json_t *tt, double *e, double *n)
{
	size_t i;
	const json_t *row;
	const char *model = json_string_value(json_object_get(tt, "model"));
	*e = 0;
	*n = NAN;
	json_array_foreach(json_object_get(tt, "steps"), i, row)
	{
		double r = json_number_value(json_object_get(row, "errorRate"));
		if (!json_object_get(row, "offeredFrom") &&
		    json_number_value(json_object_get(row, "throughput")) > 0 && r > *e) {
			*e = r;
			*n = model && !strcmp(model, "closed")
			         ? json_number_value(json_object_get(row, "offered"))
			         : NAN;
		}
	}
}

static json_t *warnings_json(const struct usl_fit *f, const struct usl_point *p, int n,
                             const char *unit, double worst, double worst_n)
{
	char w[8][USL_WARNING_LEN];
	int k = usl_warnings(f, p, n, unit, worst, worst_n, w, 8);
	json_t *a = json_array();
	for (int i = 0; i < k; i++)
		json_array_append_new(a, json_string(w[i]));
	return a;
}

/* A result file's steps (analyses.testType.steps) fitted again, as `capacity fit` does:
 * 1 when done, 0 when the file has no steps, -1 with the reason in err. */
static int fit_steps(const json_t *doc, struct plan_model *m, char *err, size_t errlen)
{
	const json_t *tt = json_object_get(json_object_get(doc, "analyses"), "testType");
	if (!json_is_array(json_object_get(tt, "steps")))
		return 0;
	struct usl_point *p = xmalloc(USL_POINTS_MAX * sizeof(*p));
	char why[256];
	int n = usl_points_from_steps(tt, p, USL_POINTS_MAX, why, sizeof(why));
	if (n < 0 || usl_fit(p, n, &m->fit, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "cannot fit the USL to its steps: %s", why);
		free(p);
		return -1;
	}
	double worst, worst_n;
	worst_errors(tt, &worst, &worst_n);
	m->warnings = warnings_json(&m->fit, p, n, "/s", worst, worst_n);
	free(p);
	return 1;
}

/* The warnings of a fit read from its JSON object j: its "warnings" strings, else
 * usl_warnings() on its "points". */
static json_t *stored_warnings(const json_t *j, const struct usl_fit *f)
{
	const json_t *w = json_object_get(j, "warnings"), *e;
	size_t i;
	if (json_is_array(w)) {
		json_t *a = json_array();
		json_array_foreach(w, i, e) if (json_is_string(e))
		    json_array_append_new(a, json_string(json_string_value(e)));
		return a;
	}
	struct usl_point *p = xmalloc(USL_POINTS_MAX * sizeof(*p));
	int n = 0;
	json_array_foreach(json_object_get(j, "points"), i, e)
	{
		const json_t *r = json_object_get(e, "r");
		double pn = json_number_value(json_object_get(e, "n")),
		       px = json_number_value(json_object_get(e, "x"));
		if (n < USL_POINTS_MAX && pn > 0 && px > 0 && isfinite(pn) && isfinite(px))
			p[n++] = (struct usl_point){ .n = pn,
				                     .x = px,
				                     .r = json_is_number(r) ? json_number_value(r)
				                                            : NAN };
	}
	const char *u = json_string_value(json_object_get(j, "unit"));
	json_t *a =
	    n ? warnings_json(f, p, n, u && !strcmp(u, "1/s") ? "/s" : "", NAN, NAN) : json_array();
	free(p);
	return a;
}

/* The fit in a document: a result file's steps fitted again (as `capacity fit` does, so
 * that fit and plan agree); else the fit itself ({"model": "usl", ...}), or under "fit",
 * "usl", "capacity", or a result file's stored analyses.capacity (one without steps). */
static int find_fit(const json_t *doc, struct plan_model *m, char *err, size_t errlen)
{
	int rc = fit_steps(doc, m, err, errlen);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	const json_t *an = json_object_get(json_object_get(doc, "analyses"), "capacity");
	const json_t *cand[] = { doc,
		                 json_object_get(doc, "fit"),
		                 json_object_get(doc, "usl"),
		                 json_object_get(doc, "capacity"),
		                 an,
		                 json_object_get(an, "fit"),
		                 json_object_get(an, "usl") };
	char first[600] = "";
	for (size_t i = 0; i < ARRAY_SIZE(cand); i++) {
		if (!json_is_object(cand[i]) || !json_object_get(cand[i], "sigma"))
			continue;
		if (usl_from_json(cand[i], &m->fit, err, errlen) == 0) {
			m->warnings = stored_warnings(cand[i], &m->fit);
			return 0;
		}
		if (!*first)
			snprintf(first, sizeof(first), "%s", err);
	}
	const char *failed = json_string_value(json_object_get(an, "error"));
	if (!*first && failed) {
		snprintf(err, errlen, "the sweep's USL fit failed: %s", failed);
		return -1;
	}
	if (*first) {
		size_t k = strlen(first) < errlen ? strlen(first) : errlen - 1;
		memcpy(err, first, k); /* (a snprintf of a longer buffer warns at -O1) */
		err[k] = '\0';
	} else {
		snprintf(err, errlen,
		         "no USL fit in it (expected the JSON of `stampede capacity "
		         "fit --out json=FILE`)");
	}
	return -1;
}

static int load_model(const char *path, struct plan_model *m)
{
	char *text = NULL, err[512];
	size_t len;
	int rc = read_file_max(path, MODEL_FILE_MAX, &text, &len);
	if (rc < 0) {
		fprintf(stderr, "stampede capacity plan: --model %s: %s\n", path,
		        rc == -EFBIG ? "larger than 64 MiB: not a fit or a result file"
		                     : read_file_strerror(rc));
		return -EINVAL;
	}
	json_error_t je;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (!doc) {
		fprintf(stderr, "stampede capacity plan: --model %s: not JSON (line %d: %s)\n",
		        path, je.line, je.text);
		return -EINVAL;
	}
	rc = find_fit(doc, m, err, sizeof(err));
	json_decref(doc);
	if (rc < 0) {
		fprintf(stderr, "stampede capacity plan: --model %s: %s\n", path, err);
		return -EINVAL;
	}
	return 0;
}

static int write_outs(const struct plan_cli *c, const json_t *doc)
{
	int rc = 0;
	for (int i = 0; i < c->nouts; i++) {
		char err[512];
		char *text = !strcmp(c->outs[i].format, "json")
		                 ? json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(15))
		                 : capacity_plan_markdown(doc);
		size_t len = text ? strlen(text) : 0;
		if (text && !strcmp(c->outs[i].format, "json")) { /* end with a newline */
			text = xrealloc(text, len + 2);
			text[len++] = '\n';
			text[len] = '\0';
		}
		if (!text || outfile_write(c->outs[i].path, text, len, err, sizeof(err)) < 0) {
			fprintf(stderr, "stampede capacity plan: --out %s=%s: %s\n",
			        c->outs[i].format, c->outs[i].path, text ? err : "out of memory");
			rc = -1;
		} else if (strcmp(c->outs[i].path, "-")) {
			fprintf(stderr, "stampede capacity plan: wrote %s\n", c->outs[i].path);
		}
		free(text);
	}
	return rc;
}

static void stamp(json_t *doc)
{
	char iso[40];
	time_t t = time(NULL);
	struct tm tm;
	if (gmtime_r(&t, &tm) && strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm))
		json_object_set_new(doc, "generated", json_string(iso));
}

/* Whether path is stdout: "-", or the same open file as descriptor 1 (/dev/stdout,
 * /dev/fd/1, the terminal's or the pipe's name). */
static bool is_stdout(const char *path)
{
	struct stat a, b;
	return !strcmp(path, "-") || (fstat(STDOUT_FILENO, &a) == 0 && stat(path, &b) == 0 &&
	                              a.st_dev == b.st_dev && a.st_ino == b.st_ino);
}

int cmd_capacity_plan(int argc, char **argv)
{
	struct plan_cli c = { 0 };
	struct plan_model model = { 0 };
	char err[512];
	int opt;
	const char *nc = getenv("NO_COLOR"); /* no-color.org: set and not empty */
	capplan_in_default(&c.in);
	c.color = isatty(STDOUT_FILENO) && !(nc && *nc);
	optind = 1;
	while ((opt = cli_getopt_long(argc, argv, ":hq", long_opts, NULL)) != -1) {
		if (opt == 'h') {
			cmd_capacity_plan_usage();
			return EXIT_OK;
		}
		if (opt == '?' || opt == ':') {
			cli_opt_report("capacity");
			return EXIT_INVALID_CONFIG;
		}
		if (one_flag(&c, opt, optarg) != 0)
			return EXIT_INVALID_CONFIG;
	}
	if (optind < argc) {
		fprintf(stderr,
		        "stampede capacity plan: unexpected argument '%.200s' (the plan takes only "
		        "flags; see 'stampede help capacity')\n",
		        argv[optind]);
		return EXIT_INVALID_CONFIG;
	}
	if (c.over_given && !c.model_path) {
		fprintf(stderr, "stampede capacity plan: --model-over says what a --model's N "
		                "counts: give --model FIT.json too\n");
		return EXIT_INVALID_CONFIG;
	}
	int to_stdout = 0;
	for (int i = 0; i < c.nouts; i++) /* "-", or stdout by another name (/dev/stdout) */
		to_stdout += is_stdout(c.outs[i].path);
	if (to_stdout > 1) {
		fprintf(stderr, "stampede capacity plan: --out: only one output can go to stdout "
		                "(-); write the others to files\n");
		return EXIT_INVALID_CONFIG;
	}
	if (to_stdout) /* stdout carries that output alone, as `capacity fit --out json=-` */
		c.quiet = true;
	if (c.model_path) {
		if (load_model(c.model_path, &model) < 0)
			return EXIT_INVALID_CONFIG;
		c.in.model = &model.fit;
	}
	if (out_args_check(&plan_outs, c.outs, c.nouts, (const char *const[]){ c.model_path }, 1,
	                   "the --model file") < 0)
		goto invalid;
	struct capplan *plan = xmalloc(sizeof(*plan));
	if (capplan_compute(&c.in, plan, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede capacity plan: %s\n", err);
		free(plan);
		goto invalid;
	}
	json_t *doc = capplan_json(plan);
	free(plan);
	if (model.warnings) /* what to distrust in the model, repeated in the plan */
		json_object_set_new(doc, "modelWarnings", model.warnings);
	stamp(doc);
	int rc = EXIT_OK;
	if (!c.quiet && capacity_plan_text(stdout, doc, c.color) < 0)
		rc = EXIT_OUTPUT_FAILED;
	if (write_outs(&c, doc) < 0)
		rc = EXIT_OUTPUT_FAILED;
	json_decref(doc);
	return rc;
invalid:
	json_decref(model.warnings);
	return EXIT_INVALID_CONFIG;
}
