/* cmd_capacity.c: `stampede capacity sweep|fit|plan|k8s` (issue #14, docs/capacity.md):
 * the dispatcher, and `sweep`, which is a `run` of a stress test in the closed model at the
 * given concurrency levels (--type stress --vus N1 --levels 1,N2/N1,...): every flag of
 * `run` works on it (--monitor-cmd, --slo, --out, --history ...), and its result file
 * carries the steps and the USL fit (analyses.capacity) that `fit` and `plan` read. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/capacity_cli.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "engine/preset.h"
#include "engine/run.h"
#include "util/common.h"

#define SWEEP_DEFAULT_LEVELS "1,2,4,8,16,32,64"
#define SWEEP_DEFAULT_STEP   "30s"

void cmd_capacity_sweep_usage(void)
{
	printf(
	    "usage: stampede capacity sweep --url URL [--concurrency 1,2,4,8 | --up-to N]\n"
	    "                               [--step D] [--warmup D] [run flags]\n"
	    "       stampede capacity sweep SCRIPT.lua [...]\n\n"
	    "Measure scalability: a stepped closed-model run (a stress test in VUs) holding each\n"
	    "concurrency level N for --step, after --warmup to reach it (left out of the step's\n"
	    "figures). The steps table gives the steady throughput X(N) and latency per level;\n"
	    "the Universal Scalability Law is fitted to them (sigma, kappa, lambda, N*, X_max)\n"
	    "and kept in the result file, which `capacity fit` and `capacity plan` read.\n\n"
	    "      --concurrency LIST    the levels, increasing whole VUs "
	    "(default " SWEEP_DEFAULT_LEVELS ")\n"
	    "      --up-to N             the levels 1, 2, 4, ... up to N (N included)\n"
	    "      --step D              how long each level is held (default " SWEEP_DEFAULT_STEP
	    ")\n"
	    "      --warmup D            the time to reach each level, not measured (default a\n"
	    "                            sixth of --step, at least 1s)\n\n"
	    "Every other flag is `run`'s (stampede help run): --out result=FILE keeps the result,\n"
	    "--monitor-cmd/--monitor-pid watch the target, --slo judges each step.\n\n"
	    "example: stampede capacity sweep --url http://127.0.0.1:8080/api/products/1 \\\n"
	    "             --up-to 32 --step 20s --out result=sweep.json\n");
}

/* Flags of `run` that the sweep sets itself (its short ones are OWNED_SHORT, cli_owned_short). */
static const char *const owned[] = { "--type",      "--vus",           "--levels", "--peak",
	                             "--steps",     "--step-duration", "--ramp",   "--hold",
	                             "--ramp-down", "--duration",      "--stages", "--iterations",
	                             "--observe" };
#define RUN_SHORT_WITH_VALUE "ucdsitXHeo" /* run's short options that take a value */
#define OWNED_SHORT          "ucdsi"      /* -u/-c VUs, -d duration, -s stages, -i iterations */

/* "1,2,4,8" (whole, increasing, from 1 to PRESET_VUS_MAX) into v; returns the count or -1. */
static int parse_levels(const char *s, double *v, int max)
{
	int n = 0;
	for (;;) {
		size_t k = strcspn(s, ",");
		char item[16];
		if (k == 0 || k >= sizeof(item) || n == max)
			return -1;
		memcpy(item, s, k);
		item[k] = '\0';
		char *end;
		long x = strtol(item, &end, 10);
		if (!cli_decimal(item, -1) || strchr(item, '.') || *end || x < 1 ||
		    x > PRESET_VUS_MAX || (n && x <= v[n - 1]))
			return -1;
		v[n++] = (double)x;
		if (!s[k])
			return n;
		s += k + 1;
	}
}

int cmd_capacity_sweep(int argc, char **argv)
{
	double lv[PRESET_LEVELS_MAX];
	int nlv = -1;
	const char *step = SWEEP_DEFAULT_STEP, *warmup = NULL, *levels_src = NULL;
	bool step_set = false;
	char **pass = xcalloc((size_t)argc + 16, sizeof(*pass));
	int np = 0;
	pass[np++] = "run";

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cmd_capacity_sweep_usage();
			free(pass);
			return EXIT_OK;
		}
		if (!strcmp(a, "--")) { /* the rest are operands of run's (a script path) */
			while (i < argc)
				pass[np++] = argv[i++];
			break;
		}
		const char *flag = cli_flag_is(a, "--concurrency") ? "--concurrency"
		                   : cli_flag_is(a, "--up-to")     ? "--up-to"
		                   : cli_flag_is(a, "--step")      ? "--step"
		                   : cli_flag_is(a, "--warmup")    ? "--warmup"
		                                                   : NULL;
		if (flag) {
			const char *v = cli_flag_value(argc, argv, &i, flag);
			if (!v) {
				fprintf(
				    stderr,
				    "stampede: %s needs a value\nsee 'stampede help capacity'\n",
				    flag);
				free(pass);
				return EXIT_INVALID_CONFIG;
			}
			int64_t us;
			if (!strcmp(flag, "--concurrency") || !strcmp(flag, "--up-to")) {
				if (levels_src) {
					if (!strcmp(levels_src, flag))
						fprintf(stderr, "stampede: %s is given twice\n",
						        flag);
					else
						fprintf(stderr, "stampede: give one of %s and %s\n",
						        levels_src, flag);
					free(pass);
					return EXIT_INVALID_CONFIG;
				}
				levels_src = flag;
			}
			if (!strcmp(flag, "--concurrency")) {
				nlv = parse_levels(v, lv, PRESET_LEVELS_MAX);
				if (nlv < 0 || nlv < 3) {
					free(pass);
					cli_bad_value(
					    "--concurrency", v,
					    "3 to 30 whole VU counts, increasing, e.g. 1,2,4,8 "
					    "(the fit needs 3 levels at least)");
					return EXIT_INVALID_CONFIG;
				}
			} else if (!strcmp(flag, "--up-to")) {
				char *end;
				long top = strtol(v, &end, 10);
				if (!cli_decimal(v, -1) || strchr(v, '.') || *end || top < 3 ||
				    top > PRESET_VUS_MAX) {
					free(pass);
					cli_bad_value(
					    "--up-to", v,
					    "a whole number of VUs from 3 (levels 1, 2, 3) up");
					return EXIT_INVALID_CONFIG;
				}
				nlv = 0;
				for (long n = 1; n < top; n *= 2)
					lv[nlv++] = (double)n;
				lv[nlv++] = (double)top;
			} else if (parse_duration(v, &us) < 0 || us < USEC_PER_SEC) {
				free(pass);
				cli_bad_value(flag, v,
				              "a duration of 1s or more, such as 30s or 1m");
				return EXIT_INVALID_CONFIG;
			} else if (!strcmp(flag, "--step") ? step_set : warmup != NULL) {
				fprintf(stderr, "stampede: %s is given twice\n", flag);
				free(pass);
				return EXIT_INVALID_CONFIG;
			} else if (!strcmp(flag, "--step")) {
				step = v;
				step_set = true;
			} else {
				warmup = v;
			}
			continue;
		}
		if (cli_flag_is(a, "--rate")) {
			fprintf(
			    stderr,
			    "stampede: capacity sweep runs the closed model (VUs at each level): "
			    "--rate does not apply; an open-model stress test (`run --type stress "
			    "--rate R`) is fitted too, with N = X.R\n");
			free(pass);
			return EXIT_INVALID_CONFIG;
		}
		char sh = cli_owned_short(a, OWNED_SHORT, RUN_SHORT_WITH_VALUE);
		if (sh) {
			fprintf(
			    stderr,
			    "stampede: capacity sweep sets -%c itself (%s): give the levels with "
			    "--concurrency or --up-to, their length with --step and --warmup\n",
			    sh,
			    sh == 'u' || sh == 'c' ? "the VUs"
			    : sh == 'd'            ? "the duration"
			    : sh == 's'            ? "the stages"
			                           : "the iterations");
			free(pass);
			return EXIT_INVALID_CONFIG;
		}
		for (size_t k = 0; k < ARRAY_SIZE(owned); k++)
			if (cli_flag_is(a, owned[k]) && a[0] == '-') {
				fprintf(
				    stderr,
				    "stampede: capacity sweep sets %s itself: give the levels with "
				    "--concurrency or --up-to, their length with --step and "
				    "--warmup\n",
				    owned[k]);
				free(pass);
				return EXIT_INVALID_CONFIG;
			}
		if (a[0] != '-' && strlen(a) > 4 && !strcmp(a + strlen(a) - 4, ".lua"))
			fprintf(
			    stderr,
			    "stampede: capacity sweep: %.200s's scenarios and options.stages are "
			    "replaced by the sweep's levels; its default function runs in each "
			    "VU\n",
			    a);
		pass[np++] = argv[i];
	}
	if (nlv < 0)
		nlv = parse_levels(SWEEP_DEFAULT_LEVELS, lv, PRESET_LEVELS_MAX);

	/* --warmup: a sixth of the step by default, at least 1 s */
	char warm[32], first[32];
	if (!warmup) {
		int64_t us = 0;
		parse_duration(step, &us);
		snprintf(warm, sizeof(warm), "%llds", (long long)MAX(1, us / USEC_PER_SEC / 6));
		warmup = warm;
	}
	/* the levels as multiples of the first (the preset's level) */
	size_t cap = (size_t)nlv * 24 + 1, off = 0;
	char *mult = xmalloc(cap);
	for (int k = 0; k < nlv; k++)
		off +=
		    (size_t)snprintf(mult + off, cap - off, "%s%.17g", k ? "," : "", lv[k] / lv[0]);
	snprintf(first, sizeof(first), "%.0f", lv[0]);
	char *fixed[] = { "--type",   "stress",       "--vus",           first,
		          "--levels", mult,           "--step-duration", (char *)step,
		          "--ramp",   (char *)warmup, "--ramp-down",     "0" };
	/* run's own flags after ours: a script path (an operand) stays where it was */
	char **av = xcalloc((size_t)np + ARRAY_SIZE(fixed) + 1, sizeof(*av));
	int n = 0;
	av[n++] = pass[0];
	for (size_t k = 0; k < ARRAY_SIZE(fixed); k++)
		av[n++] = fixed[k];
	for (int k = 1; k < np; k++)
		av[n++] = pass[k];
	av[n] = NULL;
	int rc = cmd_run(n, av);
	free(av);
	free(mult);
	free(pass);
	return rc;
}

static const struct sub {
	const char *name;
	int (*run)(int, char **);
	void (*usage)(void);
	const char *what;
} subs[] = {
	{ "sweep", cmd_capacity_sweep, cmd_capacity_sweep_usage,
	  "measure throughput and latency at rising concurrency (a stepped run)" },
	{ "fit", cmd_capacity_fit, cmd_capacity_fit_usage,
	  "fit the Universal Scalability Law to a sweep's result or a CSV of N,X" },
	{ "plan", cmd_capacity_plan, cmd_capacity_plan_usage,
	  "project growth against the headroom buffer: months, instances, cost, triggers" },
	{ "k8s", cmd_capacity_k8s, cmd_capacity_k8s_usage,
	  "write a HorizontalPodAutoscaler and a KEDA ScaledObject from the plan" },
};

void cmd_capacity_usage(void)
{
	printf("usage: stampede capacity sweep|fit|plan|k8s [flags]\n\n"
	       "Capacity planning from measurements (docs/capacity.md):\n\n");
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		printf("  %-6s %s\n", subs[i].name, subs[i].what);
	printf("\n`stampede capacity SUB --help` for each. A typical session:\n"
	       "  stampede capacity sweep --url URL --up-to 64 --out result=sweep.json\n"
	       "  stampede capacity fit sweep.json --out json=usl.json\n"
	       "  stampede capacity plan --model usl.json --current-rps 120 --growth 15%%/month\n"
	       "  stampede capacity k8s --rps-per-pod 270 --peak-rps 1200 -o k8s/\n");
}

int cmd_capacity(int argc, char **argv)
{
	if (argc < 2) {
		cmd_capacity_usage();
		return EXIT_INVALID_CONFIG;
	}
	const char *s = argv[1];
	if (!strcmp(s, "help") && argc > 2) { /* `capacity help plan` */
		char *av[] = { argv[2], "--help", NULL };
		for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
			if (!strcmp(argv[2], subs[i].name))
				return subs[i].run(2, av);
	}
	if (!strcmp(s, "--help") || !strcmp(s, "-h") || !strcmp(s, "help")) {
		cmd_capacity_usage();
		return EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		if (!strcmp(s, subs[i].name))
			return subs[i].run(argc - 1, argv + 1);
	fprintf(stderr,
	        "stampede: unknown capacity command '%.100s': use sweep, fit, plan or k8s\n"
	        "see 'stampede help capacity'\n",
	        s);
	return EXIT_INVALID_CONFIG;
}
