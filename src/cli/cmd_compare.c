/* cmd_compare.c: `stampede compare BASELINE.json RESULT.json`: a run against a baseline,
 * per metric and per endpoint, with statistics (analysis/compare.h, docs/compare.md). */
#include <stdio.h>
#include <stdlib.h>

#include "analysis/compare.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "cli/compare_cli.h"
#include "engine/run.h"
#include "result/result.h"

void cmd_compare_usage(void)
{
	printf("usage: stampede compare BASELINE.json RESULT.json [--max-regression LIST]\n"
	       "                        [--out FORMAT=FILE]... [flags]\n\n"
	       "Compare a run (a result file: `stampede run --out result=FILE`) with a\n"
	       "baseline, per metric and per endpoint (the `name` tag): baseline, current,\n"
	       "change, a 95%% interval of the ratio, and a verdict (regression, improvement,\n"
	       "no change, inconclusive). Each run is cut into seconds over its steady part;\n"
	       "a regression needs the change past its limit AND the evidence (a one-sided\n"
	       "Mann-Whitney U test of the per-second values, and a block-bootstrap interval\n"
	       "of the ratio that excludes 1), so a noisy run does not fail a build.\n\n");
	fputs(compare_cli_usage, stdout);
	printf("  -h, --help             this help\n\n"
	       "exit codes: 0 no regression (no change, improvement or inconclusive),\n"
	       "            112 a regression, 104 unusable input (flags, a missing or invalid\n"
	       "            file, runs of different tests, a metric a limit needs missing),\n"
	       "            110 an --out file could not be written\n");
}

static const struct option long_opts[] = {
	COMPARE_CLI_OPTIONS,
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

int cmd_compare(int argc, char **argv)
{
	struct compare_cli cc;
	char err[512];
	int c;

	compare_cli_init(&cc, "compare");
	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":hq", long_opts, NULL)) != -1) {
		if (c == 'h') {
			cmd_compare_usage();
			return EXIT_OK;
		}
		int r = compare_cli_flag(&cc, c, optarg);
		if (r < 0)
			return EXIT_INVALID_CONFIG;
		if (r > 0) {
			cli_opt_report("compare");
			return EXIT_INVALID_CONFIG;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr,
		        "stampede compare: %s\nusage: stampede compare BASELINE.json RESULT.json "
		        "[--max-regression LIST]\n",
		        argc - optind < 2 ? "give the baseline's and the run's result files"
		                          : "expected two result files");
		return EXIT_INVALID_CONFIG;
	}
	const char *const inputs[] = { argv[optind], argv[optind + 1] };
	if (compare_cli_check(&cc, inputs, 2) < 0)
		return EXIT_INVALID_CONFIG;
	const char *role[2] = { "baseline", "current run" };
	struct result *r[2] = { NULL, NULL };
	for (int i = 0; i < 2; i++) {
		r[i] = result_load(argv[optind + i], err, sizeof(err));
		if (!r[i]) {
			fprintf(stderr, "stampede compare: the %s: %s\n", role[i], err);
			result_free(r[0]);
			return EXIT_INVALID_CONFIG;
		}
	}
	json_t *doc = compare_runs(r[0], r[1], &cc.co, err, sizeof(err));
	if (!doc) {
		fprintf(stderr, "stampede compare: cannot compare %s with %s: %s\n",
		        argv[optind + 1], argv[optind], err);
		result_free(r[0]);
		result_free(r[1]);
		return EXIT_INVALID_CONFIG;
	}
	json_object_set_new(json_object_get(doc, "baseline"), "file", json_string(argv[optind]));
	json_object_set_new(json_object_get(doc, "current"), "file", json_string(argv[optind + 1]));
	int rc = compare_cli_emit(&cc, doc, r[0], r[1]) < 0 ? EXIT_OUTPUT_FAILED : EXIT_OK;
	if (json_integer_value(json_object_get(doc, "regressions")) > 0)
		rc = EXIT_REGRESSION; /* the verdict wins over a failed output */
	json_decref(doc);
	result_free(r[0]);
	result_free(r[1]);
	return rc;
}
