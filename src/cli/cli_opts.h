/* cli_opts.h: strict option parsing for the sub-commands: whole long option names only,
 * "did you mean" hints, and a hint for a wrk-style positional URL. */
#ifndef STAMPEDE_CLI_OPTS_H
#define STAMPEDE_CLI_OPTS_H

#include <getopt.h>
#include <stdbool.h>

/* getopt_long(3), with the same arguments, globals (optind, optarg, optopt) and return
 * values, except that a long option must be spelled in full: getopt_long takes "--vu" for
 * "--vus", this returns '?' for it. Set optind = 1 before the first call; optstring must
 * start with ':' (so that a missing value is told apart). opterr is set to 0: nothing is
 * printed. Returns:
 *   - the option's value (or 0 for a flag option, as getopt_long), *longindex set for a
 *     long option when longindex is not NULL;
 *   - -1 after the last option (optind is then the first operand);
 *   - '?' for an unknown, abbreviated or ambiguous option, or a value given to an option
 *     that takes none;
 *   - ':' for an option missing its value.
 * After '?' or ':', cli_opt_error() says what is wrong ("unknown option '--vu' (did you
 * mean '--vus'?)"); the caller prints it (cli_opt_report) and exits with 104. */
int cli_getopt_long(int argc, char *const argv[], const char *optstring,
                    const struct option *longopts, int *longindex);

/* The message of the last '?' or ':' of cli_getopt_long, without a "stampede: " prefix or
 * a newline; "" before any. Valid until the next call (a static buffer; the command line is
 * parsed by one thread). */
const char *cli_opt_error(void);

/* Print cli_opt_error() on stderr as "stampede: MESSAGE\nsee 'stampede help CMD'\n". */
void cli_opt_report(const char *cmd);

/* Block SIGINT, SIGTERM and SIGHUP in this thread (and the threads it starts after): a
 * run or a plan reads them as pending (signalfd, the Lua hook) and stops cleanly. */
void cli_block_stop_signals(void);

/* For commands that pass the rest of their argv on to `run` (capacity sweep, assess):
 * the short option of owned (e.g. "ucdsi") in a cluster of run's short options ("-qu5":
 * 'u'), or 0; with_value lists run's short options that take a value (the rest of the
 * cluster is that value). */
char cli_owned_short(const char *arg, const char *owned, const char *with_value);

/* Whether arg is flag itself or "flag=VALUE". */
bool cli_flag_is(const char *arg, const char *flag);

/* The value of flag at argv[*i] ("--flag V" or "--flag=V"), advancing *i past it; NULL when
 * it is missing. */
const char *cli_flag_value(int argc, char **argv, int *i, const char *flag);

/* Whether s[0..n) is a plain decimal: digits with at most one point, at least one digit
 * (no sign, space, exponent, hex, inf or nan). n < 0: up to the NUL. */
bool cli_decimal(const char *s, int n);

/* Replace s's control characters (below 0x20, and 0x7f) by '?' in place, so that a
 * message quoting it stays one line; returns s. */
char *cli_one_line(char *s);

/* Print "stampede: invalid FLAG 'VALUE': WHY" on stderr; returns -EINVAL (exit 104). */
int cli_bad_value(const char *flag, const char *value, const char *why);

/* When arg, an operand, looks like a URL ("http://...", "https://...", "host:port",
 * "[v6]:port", with or without a path), the whole line to print on stderr: "stampede: 'ARG'
 * looks like a URL: use --url URL (wrk takes it positionally; stampede's positional
 * argument is a script)" (no newline). NULL otherwise. The text is in a static buffer,
 * valid until the next call. */
const char *cli_positional_url_hint(const char *arg);

#endif
