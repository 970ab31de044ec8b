/* cmd_capacity_k8s.c: `stampede capacity k8s --plan PLAN.json | --rps-per-pod R ...`: the
 * autoscaler's manifests (a HorizontalPodAutoscaler and a KEDA ScaledObject) from a capacity
 * plan's per-pod capacity and load (output/k8s.h, docs/capacity.md). */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/capacity_cli.h"
#include "cli/cli_opts.h"
#include "cli/out_args.h"
#include "engine/run.h"
#include "output/k8s.h"
#include "util/buf.h"
#include "util/common.h"
#include "util/outfile.h"

#define CMD            "capacity k8s"
#define HPA_FILE       "hpa.yaml"
#define KEDA_FILE      "keda-scaledobject.yaml"
#define DEFAULT_NAME   K8S_DEFAULT_NAME
#define DEFAULT_NS     K8S_DEFAULT_NAMESPACE
#define DEFAULT_METRIC K8S_DEFAULT_METRIC
#define DEFAULT_PROM   K8S_DEFAULT_PROMETHEUS
#define ZONEINFO       "/usr/share/zoneinfo"
#define PLAN_FILE_MAX  (64u << 20)

void cmd_capacity_k8s_usage(void)
{
	printf(
	    "usage: stampede capacity k8s (--plan PLAN.json | --rps-per-pod R)\n"
	    "         [--name DEPLOYMENT] [--namespace NS]\n"
	    "         [--current-rps C | --min-replicas N] [--peak-rps P | --max-replicas N]\n"
	    "         [--metric NAME] [--prometheus URL] [--query PROMQL]\n"
	    "         [--off-hours 'CRON-START CRON-END' --timezone TZ]\n"
	    "         [-o DIR | --out hpa=FILE --out keda=FILE]\n\n"
	    "Write a Kubernetes HorizontalPodAutoscaler (autoscaling/v2, scaling on a\n"
	    "Prometheus-Adapter per-pod custom metric) and a KEDA ScaledObject (keda.sh/v1alpha1,\n"
	    "a Prometheus trigger) for a Deployment, from a capacity plan: both scale up at once\n"
	    "(stabilization 0 s) and down slowly (300 s). Each file's header says how its\n"
	    "numbers were derived.\n\n"
	    "  --plan PLAN.json       a plan (`capacity plan --out json=PLAN.json`): R = its\n"
	    "                         per-instance capacity x its buffer, min replicas = the\n"
	    "                         instances today's load needs, max = those of its largest\n"
	    "                         scenario (or of the horizon's last month, if more); the\n"
	    "                         flags below override\n"
	    "  --rps-per-pod R        req/s one pod serves at the headroom buffer (the plan's\n"
	    "                         capacity per instance at 70%%): the target per pod, at\n"
	    "                         most 1e9, rounded down to 0.001 (a quantity's precision)\n"
	    "  --name DEPLOYMENT      the Deployment (and the manifests' name), a DNS label\n"
	    "                         (default %s)\n"
	    "  --namespace NS         its namespace (default %s)\n"
	    "  --current-rps C        today's load: min replicas = ceil(C / R) (C, P <= 1e9)\n"
	    "  --min-replicas N       min replicas given directly (default 1)\n"
	    "  --peak-rps P           the load to plan for (e.g. the 10x scenario):\n"
	    "                         max replicas = ceil(P / R)\n"
	    "  --max-replicas N       max replicas given directly (one of the two is needed\n"
	    "                         without --plan)\n"
	    "  --metric NAME          the Prometheus Adapter custom metric, req/s per pod\n"
	    "                         (default %s)\n"
	    "  --prometheus URL       KEDA's Prometheus server (default %s)\n"
	    "  --query PROMQL         KEDA's query, the Deployment's total req/s (default\n"
	    "                         sum(rate(http_requests_total{namespace=\"NS\",\n"
	    "                         service=\"DEPLOYMENT\"}[1m])))\n"
	    "  --off-hours 'START END'  two 5-field crons, when off-hours begin and end\n"
	    "                         ('0 20 * * 1-5 0 8 * * 1-5'): KEDA may scale to zero\n"
	    "                         then; a cron trigger keeps the min replicas otherwise\n"
	    "  --timezone TZ          the crons' IANA time zone (with --off-hours)\n"
	    "  -o, --output-dir DIR   write DIR/" HPA_FILE " and DIR/" KEDA_FILE "\n"
	    "  --out hpa=FILE, --out keda=FILE  write one manifest to FILE ('-': stdout)\n"
	    "                         (without -o or --out, or both to one stream: '---'\n"
	    "                         between)\n"
	    "  -h, --help             this help\n\n"
	    "exit codes: 0 written, 104 bad options or values, 110 a file not written\n",
	    DEFAULT_NAME, DEFAULT_NS, DEFAULT_METRIC, DEFAULT_PROM);
}

enum {
	OPT_RPS_PER_POD = 256,
	OPT_NAME,
	OPT_NAMESPACE,
	OPT_CURRENT_RPS,
	OPT_MIN,
	OPT_PEAK_RPS,
	OPT_MAX,
	OPT_METRIC,
	OPT_PROMETHEUS,
	OPT_QUERY,
	OPT_OFF_HOURS,
	OPT_TIMEZONE,
	OPT_OUT,
	OPT_PLAN,
};

static const struct option long_opts[] = {
	{ "rps-per-pod", required_argument, NULL, OPT_RPS_PER_POD },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "namespace", required_argument, NULL, OPT_NAMESPACE },
	{ "current-rps", required_argument, NULL, OPT_CURRENT_RPS },
	{ "min-replicas", required_argument, NULL, OPT_MIN },
	{ "peak-rps", required_argument, NULL, OPT_PEAK_RPS },
	{ "max-replicas", required_argument, NULL, OPT_MAX },
	{ "metric", required_argument, NULL, OPT_METRIC },
	{ "prometheus", required_argument, NULL, OPT_PROMETHEUS },
	{ "query", required_argument, NULL, OPT_QUERY },
	{ "off-hours", required_argument, NULL, OPT_OFF_HOURS },
	{ "timezone", required_argument, NULL, OPT_TIMEZONE },
	{ "output-dir", required_argument, NULL, 'o' },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "plan", required_argument, NULL, OPT_PLAN },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

struct k8s_args {
	struct k8s_autoscale a;
	const char *rps_per_pod, *current, *min, *peak, *max, *off_hours, *dir, *plan_path;
	struct k8s_plan plan;   /* read from plan_path */
	struct out_arg outs[3]; /* --out hpa=, keda= (and a third: refused as a repeat) */
	int nouts;
	const char *hpa_out, *keda_out; /* what is written (NULL: not that manifest) */
};

static const char *const out_formats[] = { "hpa", "keda", NULL };
static const struct out_spec k8s_outs = {
	.cmd = CMD, .formats = out_formats, .max = 3, .why = "expected hpa=FILE or keda=FILE"
};

/* Print "stampede capacity k8s: MESSAGE" (one line); returns EXIT_INVALID_CONFIG. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "stampede " CMD ": %s\n", cli_one_line(msg));
	return EXIT_INVALID_CONFIG;
}

/* cli_bad_value, on one line whatever value holds. */
static int bad_value(const char *flag, const char *value, const char *why)
{
	char v[256], w[512];
	snprintf(v, sizeof(v), "%s", value);
	snprintf(w, sizeof(w), "%s", why);
	return cli_bad_value(flag, cli_one_line(v), cli_one_line(w));
}

/* A req/s value: a plain decimal, finite, > 0 (or >= 0 with zero_ok), at most
 * K8S_RPS_MAX. */
static int parse_rps(const char *flag, const char *s, bool zero_ok, double *out)
{
	if (!cli_decimal(s, -1) || parse_double(s, out) < 0)
		return bad_value(flag, s, "expected req/s as a plain decimal number");
	if (*out < 0 || (*out == 0 && !zero_ok))
		return bad_value(flag, s, zero_ok ? "must not be negative" : "must be above 0");
	if (*out > K8S_RPS_MAX)
		return bad_value(flag, s, "at most 1000000000 req/s (a billion)");
	return 0;
}

static int parse_count(const char *flag, const char *s, int *out)
{
	int64_t v;
	if (parse_int64(s, 1, K8S_REPLICAS_MAX, &v) < 0) {
		char why[96];
		snprintf(why, sizeof(why), "expected a replica count from 1 to %d%s",
		         K8S_REPLICAS_MAX,
		         strcmp(s, "0") == 0 ? " (for scale to zero, use --off-hours)" : "");
		return bad_value(flag, s, why);
	}
	*out = (int)v;
	return 0;
}

/* Parse argv into k. 0, 1 for --help (usage printed), or the exit code. */
static int parse_args(int argc, char **argv, struct k8s_args *k)
{
	int c;
	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":ho:", long_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			cmd_capacity_k8s_usage();
			return 1;
		case 'o':
			k->dir = optarg;
			break;
		case OPT_RPS_PER_POD:
			k->rps_per_pod = optarg;
			break;
		case OPT_NAME:
			k->a.name = optarg;
			break;
		case OPT_NAMESPACE:
			k->a.ns = optarg;
			break;
		case OPT_CURRENT_RPS:
			k->current = optarg;
			break;
		case OPT_MIN:
			k->min = optarg;
			break;
		case OPT_PEAK_RPS:
			k->peak = optarg;
			break;
		case OPT_MAX:
			k->max = optarg;
			break;
		case OPT_METRIC:
			k->a.metric = optarg;
			break;
		case OPT_PROMETHEUS:
			k->a.prometheus = optarg;
			break;
		case OPT_QUERY:
			k->a.query = optarg;
			break;
		case OPT_OFF_HOURS:
			k->off_hours = optarg;
			break;
		case OPT_TIMEZONE:
			k->a.timezone = optarg;
			break;
		case OPT_PLAN:
			k->plan_path = optarg;
			break;
		case OPT_OUT:
			if (out_args_parse(&k8s_outs, k->outs, &k->nouts, optarg) < 0)
				return EXIT_INVALID_CONFIG;
			for (int i = 0; i < k->nouts - 1; i++) {
				const struct out_arg *o = &k->outs[i], *n = &k->outs[k->nouts - 1];
				if (o->format == n->format)
					return fail("--out %s given twice (%s=%s and %s=%s): one "
					            "file per manifest",
					            n->format, o->format, o->path, n->format,
					            n->path);
			}
			break;
		default:
			cli_opt_report("capacity k8s");
			return EXIT_INVALID_CONFIG;
		}
	}
	if (optind < argc)
		return fail("unexpected argument '%s' (see 'stampede capacity k8s --help')",
		            argv[optind]);
	return 0;
}

/* Read the --plan file into k->plan. 0 or the exit code. */
static int load_plan(struct k8s_args *k)
{
	char *text = NULL, err[512];
	size_t len;
	int rc = read_file_max(k->plan_path, PLAN_FILE_MAX, &text, &len);
	if (rc < 0)
		return fail("--plan %s: %s", k->plan_path, read_file_strerror(rc));
	json_error_t je;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (!doc)
		return fail("--plan %s: not JSON (line %d: %s)", k->plan_path, je.line, je.text);
	rc = k8s_plan_read(doc, &k->plan, err, sizeof(err));
	json_decref(doc);
	if (rc < 0)
		return fail("--plan %s: %s", k->plan_path, err);
	k->a.plan = &k->plan;
	k->a.plan_name = k->plan_path;
	return 0;
}

/* The target per pod R: --rps-per-pod, else the plan's capacity per instance at its
 * buffer; rounded down to a quantity's 0.001. 0 or the exit code. */
static int derive_target(struct k8s_args *k)
{
	struct k8s_autoscale *a = &k->a;
	double r;
	int64_t milli;
	if (k->rps_per_pod) {
		if (parse_rps("--rps-per-pod", k->rps_per_pod, false, &r) < 0)
			return EXIT_INVALID_CONFIG;
		a->r_from_flag = true;
	} else if (a->plan) {
		r = a->plan->rps_at_buffer;
	} else {
		return fail("--plan PLAN.json or --rps-per-pod is required (req/s one pod serves "
		            "at the headroom buffer)");
	}
	int e = k8s_rps_quantity(r, &milli);
	if (e < 0 && k->rps_per_pod) {
		bad_value("--rps-per-pod", k->rps_per_pod,
		          "must be at least 0.001 req/s (a Kubernetes quantity's precision)");
		return EXIT_INVALID_CONFIG;
	}
	if (e < 0)
		return fail("--plan %s: one instance at the buffer serves %g req/s: %s",
		            k->plan_path, r,
		            e == -ERANGE ? "more than the 1e9 accepted"
		                         : "less than 0.001 (a Kubernetes quantity's precision)");
	a->rps_per_pod = (double)milli / 1000;
	a->rps_given = r;
	return 0;
}

/* A bound from the plan's load l: its instance count, or ceil(l->rps / R) when R is
 * --rps-per-pod's or that count is more (R rounded down). 0 or the exit code. */
static int plan_bound(struct k8s_args *k, const struct k8s_plan_load *l, int *n,
                      enum k8s_source *src, double *rps)
{
	if (k8s_plan_bound(l, k->a.rps_per_pod, !k->a.r_from_flag, n, src) < 0)
		return fail("--plan %s: %s, %g req/s, needs more than %d replicas of %g req/s",
		            k->plan_path, l->what, l->rps, K8S_REPLICAS_MAX, k->a.rps_per_pod);
	*rps = l->rps;
	return 0;
}

static const char *source_name(enum k8s_source src, bool is_min)
{
	switch (src) {
	case K8S_FROM_DEFAULT:
		return "the default";
	case K8S_FROM_FLAG:
		return is_min ? "--min-replicas" : "--max-replicas";
	case K8S_FROM_RPS:
		return is_min ? "--current-rps" : "--peak-rps";
	default:
		return "--plan";
	}
}

/* The replica bounds from the flags, else the plan. 0 or the exit code. */
static int derive_replicas(struct k8s_args *k)
{
	struct k8s_autoscale *a = &k->a;
	int rc = derive_target(k);
	if (rc)
		return rc;
	if (k->current && k->min)
		return fail("give --current-rps or --min-replicas, not both");
	if (k->peak && k->max)
		return fail("give --peak-rps or --max-replicas, not both");
	if (!k->peak && !k->max && !a->plan)
		return fail("give --peak-rps (the load to plan for), --max-replicas or --plan");
	a->min_replicas = 1;
	a->min_src = K8S_FROM_DEFAULT;
	if (k->min) {
		if (parse_count("--min-replicas", k->min, &a->min_replicas) < 0)
			return EXIT_INVALID_CONFIG;
		a->min_src = K8S_FROM_FLAG;
	} else if (!k->current && a->plan &&
	           (rc =
	                plan_bound(k, &a->plan->now, &a->min_replicas, &a->min_src, &a->min_rps))) {
		return rc;
	}
	const char *flag[2] = { "--current-rps", "--peak-rps" };
	const char *val[2] = { k->current, k->peak };
	double *rps[2] = { &a->min_rps, &a->max_rps };
	int *n[2] = { &a->min_replicas, &a->max_replicas };
	enum k8s_source *src[2] = { &a->min_src, &a->max_src };
	for (int i = 0; i < 2; i++) {
		if (!val[i])
			continue;
		if (parse_rps(flag[i], val[i], i == 0, rps[i]) < 0)
			return EXIT_INVALID_CONFIG;
		if (k8s_replicas(*rps[i], a->rps_per_pod, n[i]) < 0) {
			char why[128], r[64];
			snprintf(r, sizeof(r), "%g", a->rps_per_pod);
			snprintf(why, sizeof(why),
			         "needs more than %d replicas at %s req/s per pod",
			         K8S_REPLICAS_MAX, r);
			bad_value(flag[i], val[i], why);
			return EXIT_INVALID_CONFIG;
		}
		*src[i] = K8S_FROM_RPS;
	}
	if (k->max) {
		if (parse_count("--max-replicas", k->max, &a->max_replicas) < 0)
			return EXIT_INVALID_CONFIG;
		a->max_src = K8S_FROM_FLAG;
	} else if (!k->peak && (rc = plan_bound(k, &a->plan->peak, &a->max_replicas, &a->max_src,
	                                        &a->max_rps))) {
		return rc;
	}
	if (a->min_replicas > a->max_replicas)
		return fail("min replicas %d (%s) is above max replicas %d (%s)", a->min_replicas,
		            source_name(a->min_src, true), a->max_replicas,
		            source_name(a->max_src, false));
	return 0;
}

/* --off-hours and --timezone into a (crons in start/end, of size size). 0 or exit code. */
static int off_hours(struct k8s_args *k, char *start, char *end, size_t size)
{
	char err[320];
	if (!k->off_hours) {
		if (k->a.timezone)
			return fail("--timezone is for --off-hours's crons: give both");
		return 0;
	}
	if (!k->a.timezone)
		return fail("--off-hours needs --timezone (the crons' IANA time zone, e.g. UTC)");
	if (k8s_cron_pair(k->off_hours, start, end, size, err, sizeof(err)) < 0) {
		bad_value("--off-hours", k->off_hours, err);
		return EXIT_INVALID_CONFIG;
	}
	k->a.off_start = start;
	k->a.off_end = end;
	return 0;
}

/* A time zone the tz database of this machine does not have is most likely misspelt. */
static int check_zone(const char *tz)
{
	char err[256];
	if (tz && k8s_tz_check(ZONEINFO, tz, err, sizeof(err)) < 0)
		return bad_value("--timezone", tz, err);
	return 0;
}

/* The output files (NULL: not written; both "-" by default), none of them the --plan
 * file. 0 or the exit code. */
static int plan_outputs(struct k8s_args *k, char *hpa, char *keda, size_t size)
{
	char err[PATH_MAX + 128];
	const char *inputs[1] = { k->plan_path };
	if (k->dir && k->nouts)
		return fail("give -o DIR or --out hpa=/keda=FILE, not both");
	if (k->nouts) {
		k->hpa_out = out_args_path(k->outs, k->nouts, "hpa");
		k->keda_out = out_args_path(k->outs, k->nouts, "keda");
		return out_args_check(&k8s_outs, k->outs, k->nouts, inputs, 1, "the --plan file") <
		               0
		           ? EXIT_INVALID_CONFIG
		           : 0;
	}
	k->hpa_out = k->keda_out = "-";
	if (k->dir) {
		struct stat st;
		/* a missing directory is made (its parent must exist), as `kubectl` users
		 * expect of an output directory */
		if (stat(k->dir, &st) < 0 && errno == ENOENT && mkdir(k->dir, 0777) < 0)
			return fail("-o '%s': cannot create the directory: %s", k->dir,
			            strerror(errno));
		if (stat(k->dir, &st) < 0 || !S_ISDIR(st.st_mode))
			return fail("-o '%s': not a directory", k->dir);
		snprintf(hpa, size, "%s/%s", k->dir, HPA_FILE);
		snprintf(keda, size, "%s/%s", k->dir, KEDA_FILE);
		k->hpa_out = hpa;
		k->keda_out = keda;
	}
	if (outfile_check(k->hpa_out, err, sizeof(err)) < 0 ||
	    outfile_check(k->keda_out, err, sizeof(err)) < 0)
		return fail("%s", err);
	if (outfile_same(k->hpa_out, k->keda_out))
		return fail("-o '%s': %s and %s are one file", k->dir, HPA_FILE, KEDA_FILE);
	if (k->plan_path &&
	    (outfile_same(k->plan_path, k->hpa_out) || outfile_same(k->plan_path, k->keda_out)))
		return fail("-o '%s': %s or %s is the --plan file: writing there would replace "
		            "it; choose another directory",
		            k->dir, HPA_FILE, KEDA_FILE);
	return 0;
}

static int write_one(const char *path, const struct buf *b)
{
	char err[PATH_MAX + 128];
	if (outfile_write(path, b->p, b->len, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede " CMD ": %s\n", err);
		return EXIT_OUTPUT_FAILED;
	}
	return 0;
}

/* What writing to path reaches, for comparing two targets ("-" is stdout). */
static bool stream_stat(const char *path, struct stat *st)
{
	return strcmp(path, "-") == 0 ? fstat(STDOUT_FILENO, st) == 0 : stat(path, st) == 0;
}

/* Whether two targets write to one stream ("-" and /dev/stdout, a terminal named twice, a
 * FIFO): then both manifests go there once, as one YAML stream. */
static bool same_stream(const char *x, const char *y)
{
	struct stat a, b;
	if (strcmp(x, y) == 0)
		return true;
	return stream_stat(x, &a) && stream_stat(y, &b) && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static int write_outputs(const struct k8s_args *k)
{
	struct buf hpa = { 0 }, keda = { 0 };
	int rc = 0;
	if (k->hpa_out)
		k8s_hpa_yaml(&k->a, &hpa);
	if (k->keda_out)
		k8s_keda_yaml(&k->a, &keda);
	if (k->hpa_out && k->keda_out && same_stream(k->hpa_out, k->keda_out)) {
		buf_addstr(&hpa, "---\n");
		buf_add(&hpa, keda.p, keda.len);
		rc = write_one(k->hpa_out, &hpa);
	} else {
		if (k->hpa_out)
			rc = write_one(k->hpa_out, &hpa);
		if (!rc && k->keda_out)
			rc = write_one(k->keda_out, &keda);
	}
	buf_free(&hpa);
	buf_free(&keda);
	return rc;
}

int cmd_capacity_k8s(int argc, char **argv)
{
	struct k8s_args k = { .a = { .name = DEFAULT_NAME,
		                     .ns = DEFAULT_NS,
		                     .metric = DEFAULT_METRIC,
		                     .prometheus = DEFAULT_PROM } };
	char err[512], path_hpa[PATH_MAX], path_keda[PATH_MAX];
	char *query = NULL, *start = NULL, *end = NULL;
	int rc = parse_args(argc, argv, &k);
	if (rc)
		return rc == 1 ? EXIT_OK : rc;
	if (k.plan_path && (rc = load_plan(&k)))
		return rc;
	if ((rc = derive_replicas(&k)))
		return rc;
	if (k.off_hours) {
		size_t n = strlen(k.off_hours) + 1;
		start = xmalloc(n);
		end = xmalloc(n);
	}
	if ((rc = off_hours(&k, start, end, k.off_hours ? strlen(k.off_hours) + 1 : 0)))
		goto out_free;
	if (!k.a.query)
		k.a.query = query = k8s_default_query(k.a.name, k.a.ns);
	if (k8s_check(&k.a, err, sizeof(err)) < 0) {
		rc = fail("%s", err);
		goto out_free;
	}
	if (check_zone(k.a.off_start ? k.a.timezone : NULL) < 0) {
		rc = EXIT_INVALID_CONFIG;
		goto out_free;
	}
	if ((rc = plan_outputs(&k, path_hpa, path_keda, sizeof(path_hpa))))
		goto out_free;
	rc = write_outputs(&k);
out_free:
	free(query);
	free(start);
	free(end);
	return rc;
}
