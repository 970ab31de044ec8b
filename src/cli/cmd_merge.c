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

#define MERGE_USAGE                                                                                \
	"usage: stampede merge PART.json... -o TOTAL.json [--quiet] [--no-color] [--force]\n"

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
	       "      --out html=FILE | junit=FILE | markdown=FILE\n"
	       "                      also write the merged run's HTML report, JUnit XML or\n"
	       "                      Markdown summary (repeatable; docs/outputs.md)\n"
	       "      --force         merge parts whose options say they ran different tests\n"
	       "                      (another URL, script file name, executor, rate, VUs,\n"
	       "                      duration...), or a merged result with other parts\n"
	       "  -h, --help          this help\n\n"
	       "exit codes: 0 merged, every threshold passed; 99 a threshold failed on the\n"
	       "            merged data; 105 a part was interrupted (stopped by a signal) and\n"
	       "            108 a part was aborted: the merged result holds only what they\n"
	       "            ran; 104 invalid flags, a missing or invalid part, parts that\n"
	       "            cannot be merged (overlapping segments, different segment\n"
	       "            sequences, a metric of another type, segmented and unsegmented\n"
	       "            parts, different tests without --force), one run given twice\n"
	       "            (also as a copy), a part whose http_reqs disagrees with its\n"
	       "            http_req_duration, a part with no metric beside parts with\n"
	       "            requests, merged values too large to be written, -o or --out\n"
	       "            naming a part, two of -o and --out naming one file, or '-'\n"
	       "            as a part (merge reads files, not standard input);\n"
	       "            110 the merged file could not be written\n\n"
	       "See docs/distributed.md for running a test on several machines.\n");
}

enum { OPT_NO_COLOR = 256, OPT_FORCE, OPT_OUT };

/* The outputs a merged result can be written to: those written at the end of a run
 * (the streamed ones, json, csv, hdr and prometheus, follow a run as it goes). */
static const char *const end_outputs[] = { "html", "junit", "markdown" };
#define MERGE_OUTS_MAX 16

static const struct option long_opts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

struct merge_args {
	const char *out;
	bool quiet, no_color, force;
	const char *outs[MERGE_OUTS_MAX]; /* --out NAME=FILE */
	int nouts;
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
		case OPT_FORCE:
			a->force = true;
			break;
		case OPT_OUT: {
			size_t k = 0, n = strcspn(optarg, "=");
			while (k < ARRAY_SIZE(end_outputs) &&
			       (strlen(end_outputs[k]) != n || strncmp(end_outputs[k], optarg, n)))
				k++;
			if (k == ARRAY_SIZE(end_outputs) || !optarg[n] || !optarg[n + 1]) {
				fprintf(
				    stderr,
				    "stampede merge: --out %.100s: expected html=FILE, junit=FILE "
				    "or markdown=FILE (the streamed outputs follow a run as it "
				    "goes; the merged result file is -o)\n",
				    optarg);
				return EXIT_INVALID_CONFIG;
			}
			if (a->nouts == MERGE_OUTS_MAX) {
				fprintf(stderr, "stampede merge: more than %d --out\n",
				        MERGE_OUTS_MAX);
				return EXIT_INVALID_CONFIG;
			}
			a->outs[a->nouts++] = optarg;
			break;
		}
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
		if (!strcmp(a->parts[i], "-")) {
			fprintf(
			    stderr,
			    "stampede merge: a part given as '-': merge reads result files, not "
			    "standard input (save each part to a file, then name the files)\n");
			return EXIT_INVALID_CONFIG;
		}
		if (outfile_same(a->parts[i], a->out)) {
			fprintf(stderr,
			        "stampede merge: -o %s is the part %s: writing the merged result "
			        "there would replace it; choose another file\n",
			        a->out, a->parts[i]);
			return EXIT_INVALID_CONFIG;
		}
		for (int j = 0; j < i; j++)
			if (!strcmp(a->parts[i], a->parts[j]) ||
			    outfile_same(a->parts[j], a->parts[i])) {
				fprintf(stderr,
				        "stampede merge: %s is given twice (as %s and %s): its "
				        "requests would count twice\n",
				        a->parts[i], a->parts[j], a->parts[i]);
				return EXIT_INVALID_CONFIG;
			}
	}
	return 0;
}

/* Whether writing to x and to y would write one file: the same file as `run` tells its
 * outputs apart (util/outfile.h, outfile_same: the same device and inode, or the same
 * canonical name), or both standard output ("-"), where the two would be mixed. */
static bool same_output(const char *x, const char *y)
{
	return (!strcmp(x, "-") && !strcmp(y, "-")) || outfile_same(x, y);
}

/* -o and every --out write files of their own: one file cannot hold two outputs (the one
 * written last would silently replace the other). Returns 0, or exit 104 after saying
 * which two clash. */
static int check_outputs(const struct merge_args *a)
{
	for (int k = 0; k < a->nouts; k++) {
		const char *path = strchr(a->outs[k], '=') + 1;
		if (same_output(a->out, path)) {
			fprintf(stderr,
			        "stampede merge: -o %s and --out %s write the same file: give each "
			        "its own\n",
			        a->out, a->outs[k]);
			return EXIT_INVALID_CONFIG;
		}
		for (int j = 0; j < k; j++)
			if (same_output(strchr(a->outs[j], '=') + 1, path)) {
				fprintf(
				    stderr,
				    "stampede merge: --out %s and --out %s write the same file: "
				    "give each its own\n",
				    a->outs[j], a->outs[k]);
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

/* The options that say which test a part ran (not how or where: threads, io, the
 * segment, monitoring): the parts of one test have the same. */
/* Whether the parts ran one test; else prints the first difference (exit 104). */
static bool same_test(struct result *const *parts, const struct merge_args *a)
{
	for (const char *const *key = result_test_keys; *key; key++) {
		json_t *v0 = json_object_get(parts[0]->options, *key);
		for (int i = 1; i < a->nparts; i++) {
			json_t *v = json_object_get(parts[i]->options, *key);
			if (result_same_test_option(*key, v0, v))
				continue;
			char *s0 = v0 ? json_dumps(v0, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
			char *s1 = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
			fprintf(stderr,
			        "stampede merge: %s and %s ran different tests (options.%s: %.120s "
			        "and %.120s): merge the parts of one test, or give --force\n",
			        a->parts[0], a->parts[i], *key, s0 ? s0 : "(none)",
			        s1 ? s1 : "(none)");
			free(s0);
			free(s1);
			return false;
		}
	}
	return true;
}

/* A merged result among other parts would count what it shares with them twice (its own
 * parts' segments are gone from its options): refused, unless alone or with --force. */
static bool not_merged(struct result *const *parts, const struct merge_args *a)
{
	for (int i = 0; i < a->nparts && a->nparts > 1; i++)
		if (parts[i]->merge) {
			fprintf(
			    stderr,
			    "stampede merge: %s is already a merged result (of %zu parts): merge "
			    "the original parts together instead, or give --force to merge it "
			    "with runs it shares nothing with\n",
			    a->parts[i],
			    json_array_size(json_object_get(parts[i]->merge, "parts")));
			return false;
		}
	return true;
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
	if ((rc = check_outputs(&a)) != 0) /* before anything is read, merged or written */
		return rc;
	struct output_env env = { .no_color = true };
	struct pipeline *pl = NULL;
	if (a.nouts) { /* their paths are checked before anything is merged or written */
		pl = pipeline_new(&env);
		for (int i = 0; i < a.nouts; i++)
			if (pipeline_add_spec(pl, a.outs[i], err, sizeof(err)) < 0) {
				fprintf(stderr, "stampede merge: --out %s: %s\n", a.outs[i], err);
				pipeline_free(pl);
				return EXIT_INVALID_CONFIG;
			}
		for (int i = 0; i < a.nparts; i++)
			for (int k = 0; k < a.nouts; k++)
				if (outfile_same(a.parts[i], strchr(a.outs[k], '=') + 1)) {
					fprintf(
					    stderr,
					    "stampede merge: --out %s would replace the part %s\n",
					    a.outs[k], a.parts[i]);
					pipeline_free(pl);
					return EXIT_INVALID_CONFIG;
				}
		if (pipeline_open(pl) < 0) {
			pipeline_free(pl);
			return EXIT_INVALID_CONFIG;
		}
	}
	struct result **parts = load_parts(&a);
	if (!parts) {
		pipeline_free(pl);
		return EXIT_INVALID_CONFIG;
	}
	if (!a.force && !(not_merged(parts, &a) && same_test(parts, &a))) {
		for (int i = 0; i < a.nparts; i++)
			result_free(parts[i]);
		free(parts);
		pipeline_free(pl);
		return EXIT_INVALID_CONFIG;
	}
	struct result *r =
	    result_merge(parts, (const char *const *)a.parts, a.nparts, err, sizeof(err));
	for (int i = 0; i < a.nparts; i++)
		result_free(parts[i]);
	free(parts);
	if (!r) {
		fprintf(stderr, "stampede merge: %s\n", err);
		pipeline_free(pl);
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
	if (pl && pipeline_finish(pl, r, true) > 0) /* each failure said on stderr */
		written = false;
	pipeline_free(pl);
	/* as for `run`: 108 > 105 > 99, and the verdict wins over a file not written */
	rc = r->aborted                    ? EXIT_ABORTED
	     : r->interrupted              ? EXIT_INTERRUPTED
	     : result_thresholds_failed(r) ? EXIT_THRESHOLDS_FAILED
	     : written                     ? EXIT_OK
	                                   : EXIT_OUTPUT_FAILED;
	result_free(r);
	return rc;
}
