/* compare_cli.c: the flags and outputs `compare` and `history gate` share (compare_cli.h). */
#include "cli/compare_cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_opts.h"
#include "cli/out_args.h"
#include "output/compare_report.h"
#include "util/buf.h"
#include "util/common.h"
#include "util/outfile.h"

const char compare_cli_usage[] =
    "  --max-regression LIST  limits, e.g. 'p95=20%,p99=30%,errors=+0.5pp,rps=-10%'\n"
    "                         (p50 p90 p95 p99 max: a rise; rps: a fall; errors: a\n"
    "                         rise in points; a bare '20%': every latency one).\n"
    "                         Default: p95=20%,p99=30%,rps=-10%,errors=+0.5pp\n"
    "  --from DURATION        compare from this time of each run (default: after\n"
    "                         the first 10%, at least 1 s, at most 30 s)\n"
    "  --to DURATION          compare until this time (default: the end)\n"
    "  --no-endpoints         the whole run only, not each endpoint\n"
    "  --out FORMAT=FILE      also write FORMAT: json, markdown, junit, html\n"
    "                         (repeatable; - is stdout)\n"
    "  -q, --quiet            no table on stdout\n"
    "      --no-color         no colours (also NO_COLOR)\n";

static const char *const formats[] = { "json", "markdown", "junit", "html", NULL };

/* --out's rules for c (its messages name c->cmd). */
static struct out_spec outs_spec(const struct compare_cli *c)
{
	return (struct out_spec){ .cmd = c->cmd, .formats = formats, .max = COMPARE_CLI_MAX_OUTS };
}

void compare_cli_init(struct compare_cli *c, const char *cmd)
{
	const char *nc = getenv("NO_COLOR"); /* no-color.org: set and not empty */
	*c = (struct compare_cli){ .color = isatty(STDOUT_FILENO) && !(nc && *nc), .cmd = cmd };
	compare_opts_default(&c->co);
}

static int parse_span(const char *flag, const char *arg, double *out)
{
	int64_t us;
	if (parse_duration(arg, &us) < 0 || us < 0)
		return cli_bad_value(flag, arg, "a duration such as 30s or 1m");
	*out = us / 1e6;
	return 0;
}

int compare_cli_flag(struct compare_cli *c, int opt, const char *arg)
{
	char err[512];
	switch (opt) {
	case 'q':
		c->quiet = true;
		return 0;
	case COMPARE_OPT_NO_COLOR:
		c->color = false;
		return 0;
	case COMPARE_OPT_NO_ENDPOINTS:
		c->co.endpoints = false;
		return 0;
	case COMPARE_OPT_MAX_REG:
		if (compare_parse_limits(arg, &c->co, err, sizeof(err)) < 0) {
			fprintf(stderr, "stampede %s: --max-regression %s\n", c->cmd, err);
			return -EINVAL;
		}
		return 0;
	case COMPARE_OPT_FROM:
		return parse_span("--from", arg, &c->co.from_s);
	case COMPARE_OPT_TO:
		return parse_span("--to", arg, &c->co.to_s);
	case COMPARE_OPT_OUT: {
		struct out_spec spec = outs_spec(c);
		return out_args_parse(&spec, c->outs, &c->nouts, arg);
	}
	}
	return 1;
}

int compare_cli_check(const struct compare_cli *c, const char *const *inputs, int ninputs)
{
	if (isfinite(c->co.from_s) && isfinite(c->co.to_s) && c->co.to_s <= c->co.from_s) {
		fprintf(stderr, "stampede %s: --to must be after --from\n", c->cmd);
		return -EINVAL;
	}
	struct out_spec spec = outs_spec(c);
	return out_args_check(&spec, c->outs, c->nouts, inputs, ninputs, NULL);
}

/* Write one --out; returns 0 or -1 after saying why. */
static int write_out(const struct compare_cli *c, int i, const json_t *doc, const struct result *b,
                     const struct result *r)
{
	const char *format = c->outs[i].format, *path = c->outs[i].path;
	char err[512], *text = NULL;
	struct buf hb = { 0 };
	if (!strcmp(format, "json"))
		text = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(15));
	else if (!strcmp(format, "markdown"))
		text = compare_markdown(doc);
	else if (!strcmp(format, "junit"))
		text = compare_junit(doc);
	else if (compare_html(&hb, doc, b, r) < 0) {
		fprintf(stderr, "stampede %s: --out %s=%s: the page could not be drawn\n", c->cmd,
		        format, path);
		buf_free(&hb);
		return -1;
	}
	const void *data = text ? (const void *)text : (const void *)hb.p;
	size_t len = text ? strlen(text) : hb.len;
	int rc = outfile_write(path, data, len, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "stampede %s: --out %s=%s: %s\n", c->cmd, format, path, err);
	else if (strcmp(path, "-"))
		fprintf(stderr, "stampede %s: wrote %s\n", c->cmd, path);
	free(text);
	buf_free(&hb);
	return rc < 0 ? -1 : 0;
}

int compare_cli_emit(const struct compare_cli *c, const json_t *doc, const struct result *base,
                     const struct result *cur)
{
	int rc = 0;
	if (!c->quiet)
		compare_text(stdout, doc, c->color);
	for (int i = 0; i < c->nouts; i++)
		if (write_out(c, i, doc, base, cur) < 0)
			rc = -1;
	return rc;
}
