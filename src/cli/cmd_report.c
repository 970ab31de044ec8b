/* cmd_report.c: `stampede report RESULT.json [-o FILE]`: the HTML report of a result file,
 * or of an assessment (assessment.json, docs/assess.md) again. */
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "analysis/analyses.h"
#include "analysis/assess.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "engine/run.h"
#include "output/assess_report.h"
#include "output/html.h"
#include "result/result.h"
#include "util/common.h"
#include "util/outfile.h"

#define DEFAULT_REPORT "report.html"

void cmd_report_usage(void)
{
	printf("usage: stampede report RESULT.json [-o FILE.html]\n\n"
	       "Write the self-contained HTML report of a result file (the one that\n"
	       "`stampede run --out result=FILE` writes): throughput, errors, latency\n"
	       "percentiles with the SLOs and VUs over time, the latency distribution, a\n"
	       "per-endpoint table, thresholds, checks, errors by kind and the generator's\n"
	       "health. One HTML file with inline SVG charts: no script, nothing fetched.\n"
	       "Given an assessment (the assessment.json `stampede assess` writes), its\n"
	       "report again from it and the phases' result files beside it: HTML, or\n"
	       "markdown when FILE ends in .md.\n\n"
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

/* The exit code of a report written (rc 0) or not (err says why), said on stderr. */
static int written(int rc, const char *err, const char *out)
{
	if (rc < 0) {
		fprintf(stderr, "stampede report: %s\n", err);
		return EXIT_OUTPUT_FAILED;
	}
	if (strcmp(out, "-") != 0)
		fprintf(stderr, "stampede report: wrote %s\n", out);
	return EXIT_OK;
}

/* The report of an assessment again: doc is the loaded assessment.json at path, each phase's
 * result file (phases[].result, a plain name) is read from the same directory (a missing
 * or unreadable one, or one of another test type than its phase's, leaves its charts out,
 * said once); out ending in .md gets markdown. Written elsewhere than beside the
 * assessment, the links to the phases' reports lead back to its directory. */
static int assessment_report(const char *path, const json_t *doc, const char *out)
{
	char err[512];
	const char *format = json_string_value(json_object_get(doc, "format"));
	if (strcmp(format, ASSESS_FORMAT) != 0) {
		fprintf(stderr,
		        "stampede report: %s is an assessment of another version (%s; "
		        "this stampede reads " ASSESS_FORMAT ")\n",
		        path, format);
		return EXIT_INVALID_CONFIG;
	}
	const json_t *phases = json_object_get(doc, "phases");
	if (!json_is_array(phases)) {
		fprintf(stderr, "stampede report: %s: an assessment without its phases\n", path);
		return EXIT_INVALID_CONFIG;
	}
	char *copy = xstrdup(path);
	const char *dir = dirname(copy);
	size_t n = MIN(json_array_size(phases), 16);
	struct result *res[16] = { 0 };
	for (size_t i = 0; i < n; i++) {
		const json_t *ph = json_array_get(phases, i);
		if (!json_is_object(ph)) {
			fprintf(stderr,
			        "stampede report: warning: %s: phase %zu is not an object: its row "
			        "is left empty\n",
			        path, i + 1);
			continue;
		}
		const json_t *jname = json_object_get(ph, "result");
		const char *name = json_string_value(jname);
		/* the phase's test type: as written, else its name, else its place (an
		 * assessment's phases are these five, in this order) */
		static const char *const order[] = { "smoke", "load", "breakpoint", "spike",
			                             "soak" };
		const char *type = json_string_value(json_object_get(ph, "type"));
		if (!type)
			type = json_string_value(json_object_get(ph, "name"));
		if (!type && i < ARRAY_SIZE(order))
			type = order[i];
		if (!name) {
			if (jname && !json_is_null(jname))
				fprintf(stderr,
				        "stampede report: warning: %s: phase %zu's result is not a "
				        "file name: its charts are left out\n",
				        path, i + 1);
			continue;
		}
		if (strchr(name, '/') || !strcmp(name, "..") || !*name) {
			fprintf(stderr,
			        "stampede report: warning: %s: phase %zu's result '%.200s' is not "
			        "a file name beside the assessment: left out\n",
			        path, i + 1, name);
			continue;
		}
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", dir, name);
		struct stat st;
		if (stat(p, &st) == 0 && !S_ISREG(st.st_mode)) {
			/* a FIFO would block the read for ever, a device never end */
			fprintf(stderr,
			        "stampede report: warning: %s is not a regular file: its charts "
			        "are left out\n",
			        p);
			continue;
		}
		if (!(res[i] = result_load(p, err, sizeof(err)))) {
			fprintf(stderr, "stampede report: warning: %s: its charts are left out\n",
			        err);
			continue;
		}
		/* a result file of another phase (renamed or copied by hand) would chart the
		 * wrong test under this phase's heading */
		const char *ran = json_string_value(
		    json_object_get(json_object_get(res[i]->options, "testType"), "type"));
		if (type && (!ran || strcmp(ran, type) != 0)) {
			fprintf(stderr,
			        "stampede report: warning: %s is the result of %s%s%s, not of the "
			        "%s phase: its charts are left out\n",
			        p, ran ? "a " : "a run without a test type", ran ? ran : "",
			        ran ? " test" : "", type);
			result_free(res[i]);
			res[i] = NULL;
		}
	}
	char *base = outfile_link_base(out, dir);
	size_t olen = strlen(out);
	int rc;
	if (olen > 3 && !strcasecmp(out + olen - 3, ".md")) {
		char *md = assess_markdown(doc, base);
		rc = outfile_write(out, md, strlen(md), err, sizeof(err));
		free(md);
	} else {
		rc = assess_html_write(doc, res, (int)n, dir, base, out, err, sizeof(err));
	}
	free(base);
	for (size_t i = 0; i < n; i++)
		result_free(res[i]);
	free(copy);
	return written(rc, err, out);
}

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
	json_error_t je;
	json_t *doc = json_load_file(argv[optind], JSON_REJECT_DUPLICATES, &je);
	const char *format = json_string_value(json_object_get(doc, "format"));
	if (format && !strncmp(format, "stampede-assessment/", 20)) {
		int arc = assessment_report(argv[optind], doc, out);
		json_decref(doc);
		return arc;
	}
	json_decref(doc);
	struct result *r = result_load(argv[optind], err, sizeof(err));
	if (!r) {
		fprintf(stderr, "stampede report: %s\n", err);
		return EXIT_INVALID_CONFIG;
	}
	analyses_fill(r); /* a result from before an analysis existed */
	int rc = html_report_write(r, out, err, sizeof(err));
	result_free(r);
	return written(rc, err, out);
}
