/* assess_render.c: renders an assessment document (docs/assess.md) as `stampede assess`
 * does at its end: the HTML report and the Markdown beside it, the summary on stdout (a
 * test tool for the renderer, output/assess_report.h, and the end-to-end tests; not part
 * of stampede).
 *
 *   assess_render [--color] ASSESSMENT.json [HTML|- [MARKDOWN|-]]
 *
 * The phases' result files named in the document (phases[i].result) are read relative to
 * its directory, as is the flame graph; a missing or unreadable one is reported on stderr
 * and left out (the report says why the part is missing). Exit 0, 1 when the document is
 * not JSON or a file cannot be written, 2 on bad usage. */
#include <jansson.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/assess_report.h"
#include "result/result.h"
#include "util/common.h"
#include "util/outfile.h"

#define PHASES_MAX 16
#define DOC_MAX    (256u << 20)

static int usage(void)
{
	fprintf(stderr, "usage: assess_render [--color] ASSESSMENT.json [HTML|- [MARKDOWN|-]]\n");
	return 2;
}

int main(int argc, char **argv)
{
	bool color = false;
	int a = 1;
	if (a < argc && !strcmp(argv[a], "--color")) {
		color = true;
		a++;
	}
	if (a >= argc || argc - a > 3)
		return usage();
	const char *in = argv[a], *html = a + 1 < argc ? argv[a + 1] : NULL;
	const char *md = a + 2 < argc ? argv[a + 2] : NULL;
	char *text = NULL, err[1024];
	size_t len;
	int rc = read_file_max(in, DOC_MAX, &text, &len);
	if (rc < 0) {
		fprintf(stderr, "assess_render: %s: %s\n", in, read_file_strerror(rc));
		return 1;
	}
	json_error_t je;
	json_t *doc = json_loadb(text, len, 0, &je);
	free(text);
	if (!doc) {
		fprintf(stderr, "assess_render: %s: not JSON (line %d: %s)\n", in, je.line,
		        je.text);
		return 1;
	}
	char *copy = xstrdup(in);
	const char *dir = dirname(copy);
	struct result *phases[PHASES_MAX] = { 0 };
	int n = (int)MIN(json_array_size(json_object_get(doc, "phases")), (size_t)PHASES_MAX);
	for (int i = 0; i < n; i++) {
		const char *res = json_string_value(json_object_get(
		    json_array_get(json_object_get(doc, "phases"), (size_t)i), "result"));
		if (!res)
			continue;
		char *path = NULL;
		if (asprintf(&path, "%s/%s", dir, res) < 0)
			continue;
		phases[i] = result_load(path, err, sizeof(err));
		if (!phases[i])
			fprintf(stderr, "assess_render: phase %d: %s\n", i, err);
		free(path);
	}
	int status = 0;
	if (html && assess_html_write(doc, phases, n, dir, NULL, html, err, sizeof(err)) < 0) {
		fprintf(stderr, "assess_render: %s\n", err);
		status = 1;
	}
	if (md) {
		char *m = assess_markdown(doc, NULL);
		if (outfile_write(md, m, strlen(m), err, sizeof(err)) < 0) {
			fprintf(stderr, "assess_render: %s\n", err);
			status = 1;
		}
		free(m);
	}
	assess_text(stdout, doc, color);
	for (int i = 0; i < n; i++)
		result_free(phases[i]);
	free(copy);
	json_decref(doc);
	return status;
}
