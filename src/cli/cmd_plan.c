/* cmd_plan.c: `stampede plan --type T --rate R|--vus N [shape] [--slo ...]`: the schedule
 * a test-type preset would run, its length, the question it answers and how it is judged;
 * sends nothing (docs/cli.md, "stampede plan"). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "cli/type_args.h"
#include "engine/run.h"
#include "util/common.h"

void cmd_plan_usage(void)
{
	printf("usage: stampede plan --type T (--rate R | --vus N) [flags]\n\n"
	       "Print the schedule a test-type preset runs (its stages, a chart of the load over\n"
	       "time, the total duration), the question the test answers and how it is judged.\n"
	       "Sends nothing. The same flags given to `stampede run --url URL` run that plan.\n\n"
	       "  -u, --vus N               the level in VUs (closed model)\n"
	       "      --rate R              the level in iterations/s (open model)\n"
	       "  -d, --duration D          the main phase's length (smoke, load, soak: the hold;\n"
	       "                            breakpoint: the ramp)\n");
	fputs(type_args_usage, stdout);
	printf("\nexample: stampede plan --type stress --rate 1000 --slo 'p95<200ms'\n");
}

enum { OPT_HELP = 300, OPT_RATE };

static const struct option opts[] = {
	{ "vus", required_argument, NULL, 'u' },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "duration", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, OPT_HELP },
	TYPE_ARGS_LONG_OPTS,
	{ 0 },
};

int cmd_plan(int argc, char **argv)
{
	struct type_args t = { 0 };
	struct type_level lv = { 0 };
	int rc = EXIT_INVALID_CONFIG, c;

	opterr = 0;
	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":u:d:", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case OPT_HELP:
			cmd_plan_usage();
			rc = 0;
			goto out;
		case '?':
		case ':':
			cli_opt_report("plan");
			goto out;
		case 'u': {
			long v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v < 1 || v > 1000000) {
				fprintf(stderr,
				        "stampede: invalid --vus '%s': a whole number from 1\n",
				        optarg);
				goto out;
			}
			lv.vus_set = true, lv.vus = v;
			break;
		}
		case OPT_RATE:
			lv.rate = strtod(optarg, &end);
			if (end == optarg || *end || !(lv.rate > 0) || lv.rate > 1e9) {
				fprintf(stderr,
				        "stampede: invalid --rate '%s': iterations per second, "
				        "more than 0\n",
				        optarg);
				goto out;
			}
			lv.rate_set = true;
			break;
		case 'd':
			if (parse_duration(optarg, &lv.duration_us) < 0 || lv.duration_us <= 0) {
				fprintf(stderr, "stampede: invalid --duration '%s'\n", optarg);
				goto out;
			}
			lv.duration_set = true;
			break;
		default:
			if (type_args_flag(&t, c, optarg) <= 0)
				goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
		        "stampede: plan takes no operand ('%s'); a script's scenarios are "
		        "planned by `stampede run SCRIPT.lua` (not yet by plan)\n",
		        argv[optind]);
		goto out;
	}
	if (t.preset.type == TT_NONE) {
		fprintf(stderr,
		        "stampede: plan needs --type smoke|load|stress|spike|soak|breakpoint "
		        "(see 'stampede help plan')\n");
		goto out;
	}
	if (lv.rate_set && lv.vus_set) {
		fprintf(stderr, "stampede: give the level once: --rate R (open model) or --vus N "
		                "(closed model)\n");
		goto out;
	}
	if (type_args_resolve(&t, &lv) < 0)
		goto out;
	type_args_print_plan(&t, stdout);
	rc = 0;
out:
	type_args_free(&t);
	return rc;
}
