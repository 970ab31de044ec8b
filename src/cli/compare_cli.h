/* compare_cli.h: the flags and outputs `compare` and `history gate` share (docs/compare.md):
 * --max-regression, --from, --to, --no-endpoints, --out FORMAT=FILE, -q, --no-color, and
 * printing a comparison (analysis/compare.h) to the terminal and its --out files. */
#ifndef STAMPEDE_COMPARE_CLI_H
#define STAMPEDE_COMPARE_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>

#include "analysis/compare.h"
#include "cli/out_args.h"
#include "result/result.h"

#define COMPARE_CLI_MAX_OUTS 8

/* Option values of the shared flags (a command's own start at COMPARE_OPT_END). */
enum {
	COMPARE_OPT_FROM = 300,
	COMPARE_OPT_TO,
	COMPARE_OPT_NO_ENDPOINTS,
	COMPARE_OPT_NO_COLOR,
	COMPARE_OPT_MAX_REG,
	COMPARE_OPT_OUT,
	COMPARE_OPT_END,
};

/* The shared flags' getopt entries, to put first in a command's table (-q is 'q'). */
#define COMPARE_CLI_OPTIONS                                                                        \
	{ "max-regression", required_argument, NULL, COMPARE_OPT_MAX_REG },                        \
	    { "from", required_argument, NULL, COMPARE_OPT_FROM },                                 \
	    { "to", required_argument, NULL, COMPARE_OPT_TO },                                     \
	    { "no-endpoints", no_argument, NULL, COMPARE_OPT_NO_ENDPOINTS },                       \
	    { "out", required_argument, NULL, COMPARE_OPT_OUT },                                   \
	    { "quiet", no_argument, NULL, 'q' },                                                   \
	{                                                                                          \
		"no-color", no_argument, NULL, COMPARE_OPT_NO_COLOR                                \
	}

/* The shared flags' help lines. */
extern const char compare_cli_usage[];

struct compare_cli {
	struct compare_opts co;
	struct out_arg outs[COMPARE_CLI_MAX_OUTS]; /* --out, out_args.h */
	int nouts;
	bool quiet, color;
	const char *cmd; /* "compare", "history gate": the messages' prefix */
};

/* Defaults: compare_opts_default, colours on a terminal unless NO_COLOR. */
void compare_cli_init(struct compare_cli *c, const char *cmd);

/* One flag (getopt's c and optarg). Returns 0 when handled, 1 when not a shared flag, or
 * -EINVAL after saying why (exit 104). */
int compare_cli_flag(struct compare_cli *c, int opt, const char *arg);

/* After the flags: --from before --to, then out_args_check's checks of every --out (each
 * writable, none of them one of the ninputs input files (a result, the history database:
 * an output never replaces what was read), nor the same file as another --out). 0 or
 * -EINVAL (said). */
int compare_cli_check(const struct compare_cli *c, const char *const *inputs, int ninputs);

/* Print doc (unless -q) and write every --out. Returns 0, or -1 when an --out could not
 * be written (said; exit 110 unless a verdict applies). */
int compare_cli_emit(const struct compare_cli *c, const json_t *doc, const struct result *base,
                     const struct result *cur);

#endif
