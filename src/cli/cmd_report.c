/* cmd_report.c: `stampede report RESULT.json [-o FILE]`: the HTML report of a result file. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis/analyses.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "engine/run.h"
#include "output/html.h"
#include "result/result.h"
#include "util/outfile.h"

#define DEFAULT_REPORT "report.html"

void cmd_report_usage(void)
{
	printf("usage: stampede report RESULT.json [-o FILE.html]\n\n"
	       "Write the self-contained HTML report of a result file (the one that\n"
	       "`stampede run --out result=FILE` writes): throughput, errors, latency\n"
	       "percentiles with the SLOs and VUs over time, the latency distribution, a\n"
	       "per-endpoint table, thresholds, checks, errors by kind and the generator's\n"
	       "health. One HTML file with inline SVG charts: no script, nothing fetched.\n\n"
	       "  -o, --output FILE   where to write it (default: " DEFAULT_REPORT " in the\n"
	       "                      current directory; - for stdout). A regular file is\n"
	       "                      replaced atomically.\n"
	       "  -h, --help          this help\n\n"
	       "exit codes: 0 written, 104 invalid flags, a missing or invalid result file, or\n"
	       "            -o naming the result file itself,\n"
	       "            110 the report could not be written\n");
}

static const struct option long_opts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

int cmd_report(int argc, char **argv)
{
	const char *out = DEFAULT_REPORT;
	char err[512];
	int c;

	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":ho:", long_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			cmd_report_usage();
			return EXIT_OK;
		case 'o':
			out = optarg;
			break;
		default:
			cli_opt_report("report");
			return EXIT_INVALID_CONFIG;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr,
		        "stampede report: %s\nusage: stampede report RESULT.json [-o FILE.html]\n",
		        argc - optind == 0 ? "missing the result file (RESULT.json)"
		                           : "expected one result file");
		return EXIT_INVALID_CONFIG;
	}
	if (*out == '\0') {
		fprintf(stderr, "stampede report: -o: empty file name\n");
		return EXIT_INVALID_CONFIG;
	}
	if (outfile_same(argv[optind], out)) {
		fprintf(stderr,
		        "stampede report: -o %s is the result file itself: writing the report "
		        "there would replace it; choose another file\n",
		        out);
		return EXIT_INVALID_CONFIG;
	}
	struct result *r = result_load(argv[optind], err, sizeof(err));
	if (!r) {
		fprintf(stderr, "stampede report: %s\n", err);
		return EXIT_INVALID_CONFIG;
	}
	analyses_fill(r); /* a result from before an analysis existed */
	int rc = html_report_write(r, out, err, sizeof(err));
	result_free(r);
	if (rc < 0) {
		fprintf(stderr, "stampede report: %s\n", err);
		return EXIT_OUTPUT_FAILED;
	}
	if (strcmp(out, "-") != 0)
		fprintf(stderr, "stampede report: wrote %s\n", out);
	return EXIT_OK;
}
