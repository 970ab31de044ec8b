/* out_args.c: --out FORMAT=FILE, parsed and checked for the commands that write a document
 * to files (out_args.h). */
#include "cli/out_args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_opts.h"
#include "util/common.h"
#include "util/outfile.h"

/* Print "stampede CMD: MESSAGE" as one line; returns -EINVAL. */
static int say(const struct out_spec *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int say(const struct out_spec *s, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "stampede %s: %s\n", s->cmd, cli_one_line(msg));
	return -EINVAL;
}

/* The reason for a bad value: syntax (no FORMAT=FILE) or an unknown format. */
static void reason(const struct out_spec *s, bool syntax, char *why, size_t size)
{
	int nf = 0;
	while (s->formats[nf])
		nf++;
	if (s->why) {
		snprintf(why, size, "%s", s->why);
		return;
	}
	if (nf == 1) {
		snprintf(why, size, "give %s=FILE (the format is %s)", s->formats[0],
		         s->formats[0]);
		return;
	}
	size_t k =
	    (size_t)snprintf(why, size, "%s", syntax ? "give FORMAT=FILE (" : "the formats are ");
	for (int i = 0; i < nf && k < size; i++) {
		const char *sep = !i ? "" : syntax || i < nf - 1 ? ", " : " and ";
		k += (size_t)snprintf(why + k, size - k, "%s%s", sep, s->formats[i]);
	}
	if (syntax && k < size)
		snprintf(why + k, size - k, ")");
}

/* cli_bad_value for --out, on one line whatever arg holds. */
static int bad_value(const struct out_spec *s, const char *arg, bool syntax)
{
	char why[256];
	reason(s, syntax, why, sizeof(why));
	char *v = cli_one_line(xstrdup(arg));
	int rc = cli_bad_value("--out", v, cli_one_line(why));
	free(v);
	return rc;
}

int out_args_parse(const struct out_spec *s, struct out_arg *outs, int *n, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!s->one_each && *n >= s->max)
		return s->max == 1 ? say(s, "--out given twice")
		                   : say(s, "at most %d --out", s->max);
	if (!eq || eq == arg || !eq[1])
		return bad_value(s, arg, true);
	for (int i = 0; s->formats[i]; i++) {
		const char *f = s->formats[i];
		if (strlen(f) != (size_t)(eq - arg) || strncmp(arg, f, (size_t)(eq - arg)))
			continue;
		int at = *n;
		for (int k = 0; s->one_each && k < *n; k++)
			if (outs[k].format == f)
				at = k;
		outs[at] = (struct out_arg){ .format = f, .path = eq + 1 };
		if (at == *n)
			(*n)++;
		return 0;
	}
	return bad_value(s, arg, false);
}

int out_args_check(const struct out_spec *s, const struct out_arg *outs, int n,
                   const char *const *inputs, int ninputs, const char *input_name)
{
	char err[1024];
	for (int i = 0; i < n; i++) {
		const char *f = outs[i].format, *p = outs[i].path;
		if (outfile_check(p, err, sizeof(err)) < 0)
			return say(s, "--out %s=%s: %s", f, p, err);
		for (int k = 0; k < ninputs; k++) {
			if (!inputs[k] || !outfile_same(inputs[k], p))
				continue;
			if (input_name)
				return say(s,
				           "--out %s=%s is %s: writing there would replace it; "
				           "choose another file",
				           f, p, input_name);
			return say(s,
			           "--out %s=%s is %s, which this command reads: writing there "
			           "would replace it; choose another file",
			           f, p, inputs[k]);
		}
		for (int k = 0; k < i; k++)
			if (outfile_same(outs[k].path, p))
				return say(
				    s,
				    "--out %s=%s and --out %s=%s are one file: the same file "
				    "cannot hold both; give each its own",
				    outs[k].format, outs[k].path, f, p);
	}
	return 0;
}

const char *out_args_path(const struct out_arg *outs, int n, const char *format)
{
	const char *path = NULL;
	for (int i = 0; i < n; i++)
		if (!strcmp(outs[i].format, format))
			path = outs[i].path;
	return path;
}
