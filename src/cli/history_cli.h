/* history_cli.h: what the `stampede history` sub-commands share (cli/cmd_history.c,
 * cli/cmd_history_gate.c; docs/history.md). */
#ifndef STAMPEDE_HISTORY_CLI_H
#define STAMPEDE_HISTORY_CLI_H

#include <stdbool.h>

#include "history/history.h"

/* Flags every history command takes; a command's own tables start with these. */
enum {
	OPT_DB = 1000,
	OPT_TEST,
	OPT_TAG,
	OPT_LIMIT,
	OPT_JSON,
	OPT_LAST,
	OPT_MIN_SHIFT,
	OPT_REQUIRE_BASELINE,
};

/* --db's default: $STAMPEDE_HISTORY, else ./stampede-history.db. */
const char *hist_default_db(void);

/* The flags the history commands share, as read (hist_flag). */
struct hist_flags {
	const char *db;   /* --db, or NULL: hist_default_db() */
	const char *test; /* --test HASH, checked, or NULL */
	const char *tag;  /* --tag T (not empty), or NULL */
	bool json;        /* --json */
};
#define HIST_NEXT     (-1) /* hist_flag: read, go on */
#define HIST_NOT_MINE (-2) /* hist_flag: not a shared flag */

/* One getopt result c (and its argument) of `history CMD`: -h/--help (prints the usage:
 * returns EXIT_OK), --db, --test, --tag, --json. Returns HIST_NEXT, HIST_NOT_MINE, or the
 * exit code to return (104 after saying why). */
int hist_flag(const char *cmd, int c, const char *arg, struct hist_flags *f);

/* The exit code for a history_* error: bad input (104) or the database failing (1). */
int hist_exit_for(int rc);

/* Say "stampede history CMD: ERR" and return hist_exit_for(rc). */
int hist_fail(const char *cmd, int rc, const char *err);

/* Open db for CMD (create: a writer). 0, or the exit code after saying why. */
int hist_open_db(const char *cmd, const char *db, bool create, struct history **h);

/* --test's value: HISTORY_HASH_LEN lowercase hex digits. 0 or -EINVAL (said). */
int hist_check_hash(const char *cmd, const char *s);

/* Whether exactly `want` operands follow the options (what: the missing one's name). 0 or
 * -EINVAL (said). */
int hist_operands(const char *cmd, int argc, char **argv, int want, const char *what);

/* `history trend` and `history gate` (cli/cmd_history_gate.c). */
int history_trend_cmd(int argc, char **argv);
int history_gate_cmd(int argc, char **argv);

#endif
