/* out_args.h: the --out FORMAT=FILE flag of the commands that write a document to files
 * (compare, history gate, capacity plan|fit|k8s): parsed and checked once, here. */
#ifndef STAMPEDE_OUT_ARGS_H
#define STAMPEDE_OUT_ARGS_H

#include <stdbool.h>

/* One --out: format is one of its out_spec's formats (that string, not a copy); path is the
 * part of the flag's value after '=' (argv's memory; "-" is stdout). */
struct out_arg {
	const char *format, *path;
};

/* What a command's --out accepts. Constant; commands keep one per command. */
struct out_spec {
	const char *cmd;            /* the messages' "stampede CMD: " ("capacity plan") */
	const char *const *formats; /* the formats known, NULL-terminated, help's order */
	int max;                    /* at most this many --out (1: "--out given twice") */
	bool one_each;              /* each format names one file: a later --out of a
	                                format replaces the earlier (max is then unused) */
	const char *why;            /* the reason given for a value that is not FORMAT=FILE
	                                of a known format; NULL: "give FORMAT=FILE (a, b)"
	                                and "the formats are a and b" (one format a: "give
	                                a=FILE (the format is a)") */
};

/* Add one --out value arg ("FORMAT=FILE") to outs[0..*n), which holds room for s->max
 * entries (s->one_each: one per format). Returns 0 (*n grown, or an entry replaced), or
 * -EINVAL after one line on stderr (exit 104): "stampede: invalid --out 'ARG': WHY" for
 * a missing '=', an empty FORMAT or FILE or an unknown FORMAT, "stampede CMD: at most N
 * --out" (or "--out given twice" when s->max is 1) for one too many. */
int out_args_parse(const struct out_spec *s, struct out_arg *outs, int *n, const char *arg);

/* Check outs[0..n) before any work is done, in order, each out: its path writable
 * (util/outfile.h's outfile_check, "-" too: stdout must be open), not one of the ninputs
 * files the command reads (inputs[k] NULL: none; outfile_same, so symlinks and other
 * spellings count), and not the file of an earlier out. Returns 0, or -EINVAL after one
 * line on stderr (exit 104), "stampede CMD: " and then
 *   "--out F=P: REASON" (outfile_check's message),
 *   "--out F=P is NAME: writing there would replace it; choose another file" (NAME is
 *     input_name, e.g. "the --model file", or when NULL "INPUT, which this command reads"),
 *   "--out F=P and --out G=Q are one file: the same file cannot hold both; give each its
 *     own".
 * Control characters of paths are shown as '?' (one line whatever the names hold). */
int out_args_check(const struct out_spec *s, const struct out_arg *outs, int n,
                   const char *const *inputs, int ninputs, const char *input_name);

/* The path of the last of outs[0..n) in format (compared by content), or NULL. */
const char *out_args_path(const struct out_arg *outs, int n, const char *format);

#endif
