/* cmd_merge.c: `stampede merge PART.json... -o TOTAL.json`: one result from the result
 * files of a distributed run's parts (result_merge, docs/distributed.md). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/analyses.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "engine/run.h"
#include "output/output.h"
#include "result/result.h"
#include "util/common.h"
#include "util/outfile.h"

#define MERGE_USAGE "usage: stampede merge PART.json... -o TOTAL.json [--quiet] [--no-color]\n"

void cmd_merge_usage(void)
{
	printf(MERGE_USAGE
	       "\n"
	       "Merge the result files of the parts of one test (each written by `stampede run\n"
	       "--out result=FILE`, usually with --execution-segment on N machines or processes)\n"
	       "into ONE result file, which report, compare, history and capacity read like a\n"
	       "single run's. Counts add up, latency histograms merge exactly (every percentile\n"
	       "of the whole run, of each series and of each window is what one process would\n"
	       "have measured), vus and vus_max add up, thresholds are judged again on the\n"
	       "merged data. The parts' clocks are aligned on the earliest start (to the\n"
	       "second). Segments that overlap are refused; a gap is warned about.\n"
	       "Then prints the end-of-test summary of the merged run, as `run` does.\n\n"
	       "  -o, --output FILE   the merged result file (required; - for stdout, then no\n"
	       "                      summary). A regular file is replaced atomically; it may\n"
	       "                      not be one of the parts.\n"
	       "  -q, --quiet         no summary on stdout\n"
	       "      --no-color      no colours (also with NO_COLOR set)\n"
	       "  -h, --help          this help\n\n"
	       "exit codes: 0 merged, every threshold passed; 99 a threshold failed on the\n"
	       "            merged data (or aborted a part); 104 invalid flags, a missing or\n"
	       "            invalid part, parts that cannot be merged (overlapping segments,\n"
	       "            a metric of another type, segmented and unsegmented parts), or -o\n"
	       "            naming a part; 110 the merged file could not be written\n\n"
	       "See docs/distributed.md for running a test on several machines.\n");
}

enum { OPT_NO_COLOR = 256 };

static const struct option long_opts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

struct merge_args {
	const char *out;
	bool quiet, no_color;
	int nparts;
	char **parts;
};

/* The flags and the part files; 0, or the exit code. */
static int parse_args(int argc, char **argv, struct merge_args *a)
{
	int c;
	*a = (struct merge_args){ 0 };
	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":hqo:", long_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			cmd_merge_usage();
			return -1;
		case 'o':
			a->out = optarg;
			break;
		case 'q':
			a->quiet = true;
			break;
		case OPT_NO_COLOR:
			a->no_color = true;
			break;
		default:
			cli_opt_report("merge");
			return EXIT_INVALID_CONFIG;
		}
	}
	a->parts = argv + optind;
	a->nparts = argc - optind;
	const char *why = a->nparts == 0 ? "missing the part files (PART.json...)"
	                  : !a->out  ? "missing -o TOTAL.json (where to write the merged result)"
	                  : !*a->out ? "-o: empty file name"
	                             : NULL;
	if (why) {
		fprintf(stderr, "stampede merge: %s\n" MERGE_USAGE, why);
		return EXIT_INVALID_CONFIG;
	}
	for (int i = 0; i < a->nparts; i++) {
		if (outfile_same(a->parts[i], a->out)) {
			fprintf(stderr,
			        "stampede merge: -o %s is the part %s: writing the merged result "
			        "there would replace it; choose another file\n",
			        a->out, a->parts[i]);
			return EXIT_INVALID_CONFIG;
		}
		for (int j = 0; j < i; j++)
			if (!strcmp(a->parts[i], a->parts[j]) ||
			    (strcmp(a->parts[i], "-") && outfile_same(a->parts[j], a->parts[i]))) {
				fprintf(stderr,
				        "stampede merge: %s is given twice (as %s and %s): its "
				        "requests would count twice\n",
				        a->parts[i], a->parts[j], a->parts[i]);
				return EXIT_INVALID_CONFIG;
			}
	}
	return 0;
}

/* Load every part; NULL (with the reason printed) when one cannot be loaded. */
static struct result **load_parts(const struct merge_args *a)
{
	struct result **parts = xcalloc((size_t)a->nparts, sizeof(*parts));
	char err[1024];
	for (int i = 0; i < a->nparts; i++) {
		parts[i] = result_load(a->parts[i], err, sizeof(err));
		if (!parts[i]) {
			fprintf(stderr, "stampede merge: %s\n", err);
			for (int j = 0; j < i; j++)
				result_free(parts[j]);
			free(parts);
			return NULL;
		}
	}
	return parts;
}

static void print_summary(const struct merge_args *a, const struct result *r)
{
	const char *nc = getenv("NO_COLOR");
	struct output_env env = {
		.quiet = a->quiet,
		.no_color = a->no_color || (nc && *nc),
		.stdout_tty = isatty(STDOUT_FILENO),
		.stderr_tty = isatty(STDERR_FILENO),
		.trend_stats = r->trend_stats,
		.thresholds = r->thresholds,
		.nthresholds = r->nthresholds,
	};
	env.color_stdout = !env.no_color && env.stdout_tty;
	summary_print(stdout, r, &env, env.color_stdout);
	fflush(stdout);
}

int cmd_merge(int argc, char **argv)
{
	struct merge_args a;
	char err[1024];
	int rc = parse_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	struct result **parts = load_parts(&a);
	if (!parts)
		return EXIT_INVALID_CONFIG;
	struct result *r =
	    result_merge(parts, (const char *const *)a.parts, a.nparts, err, sizeof(err));
	for (int i = 0; i < a.nparts; i++)
		result_free(parts[i]);
	free(parts);
	if (!r) {
		fprintf(stderr, "stampede merge: %s\n", err);
		return EXIT_INVALID_CONFIG;
	}
	analyses_fill(r); /* as `run` computes them, on the merged data */
	bool to_stdout = !strcmp(a.out, "-");
	bool written = result_write(a.out, r, err, sizeof(err)) == 0;
	if (!written)
		fprintf(stderr, "stampede merge: %s\n", err);
	else if (!to_stdout)
		fprintf(stderr, "stampede merge: wrote %s (%d part%s, coverage %s)\n", a.out,
		        a.nparts, a.nparts == 1 ? "" : "s",
		        json_string_value(json_object_get(r->merge, "coverage")));
	if (!a.quiet && !to_stdout)
		print_summary(&a, r);
	/* the verdict wins over a file not written, as for `run` */
	rc = result_thresholds_failed(r) ? EXIT_THRESHOLDS_FAILED
	     : written                   ? EXIT_OK
	                                 : EXIT_OUTPUT_FAILED;
	result_free(r);
	return rc;
}
