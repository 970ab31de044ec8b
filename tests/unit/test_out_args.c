/* test_out_args.c: cli/out_args: --out FORMAT=FILE parsed (formats, count, one per format)
 * and checked (writable, not an input, no two on one file), with the messages. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/out_args.h"

static const char *const two[] = { "json", "markdown", NULL };
static const char *const one[] = { "json", NULL };
static const char *const k8s[] = { "hpa", "keda", NULL };
static const struct out_spec plan = { .cmd = "capacity plan", .formats = two, .max = 2 };
static const struct out_spec fit = { .cmd = "capacity fit", .formats = one, .max = 1 };
static const struct out_spec each = { .cmd = "capacity k8s",
	                              .formats = k8s,
	                              .one_each = true,
	                              .why = "expected hpa=FILE or keda=FILE" };

static void redirect(void)
{
	cr_redirect_stderr();
}

Test(out_args, parses_known_formats)
{
	struct out_arg o[2];
	int n = 0;
	cr_assert_eq(out_args_parse(&plan, o, &n, "json=a.json"), 0);
	cr_assert_eq(out_args_parse(&plan, o, &n, "markdown=-"), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(o[0].format, two[0], "the spec's string, not a copy");
	cr_assert_str_eq(o[0].path, "a.json");
	cr_assert_str_eq(o[1].format, "markdown");
	cr_assert_str_eq(o[1].path, "-");
	cr_assert_str_eq(out_args_path(o, n, "markdown"), "-");
	cr_assert_null(out_args_path(o, n, "html"));
}

Test(out_args, refuses_a_third, .init = redirect)
{
	struct out_arg o[2];
	int n = 0;
	out_args_parse(&plan, o, &n, "json=a");
	out_args_parse(&plan, o, &n, "json=b");
	cr_assert_eq(out_args_parse(&plan, o, &n, "json=c"), -EINVAL);
	cr_assert_eq(n, 2);
	fflush(stderr);
	cr_assert_stderr_eq_str("stampede capacity plan: at most 2 --out\n");
}

Test(out_args, one_allowed_says_given_twice, .init = redirect)
{
	struct out_arg o[1];
	int n = 0;
	cr_assert_eq(out_args_parse(&fit, o, &n, "json=-"), 0);
	cr_assert_eq(out_args_parse(&fit, o, &n, "json=x"), -EINVAL);
	fflush(stderr);
	cr_assert_stderr_eq_str("stampede capacity fit: --out given twice\n");
}

/* Each bad value is refused, nothing added, with one line naming it and why. */
Test(out_args, refuses_bad_values, .init = redirect)
{
	static const struct {
		const struct out_spec *spec;
		const char *arg;
	} bad[] = {
		{ &plan, "html=x.html" }, { &plan, "json" },      { &plan, "=x" },
		{ &plan, "json=" },       { &plan, "jso=x" },     { &plan, "jsonx=x" },
		{ &fit, "csv=x.csv" },    { &each, "yaml=x\ny" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct out_arg o[2];
		int n = 0;
		cr_assert_eq(out_args_parse(bad[i].spec, o, &n, bad[i].arg), -EINVAL, "%s",
		             bad[i].arg);
		cr_assert_eq(n, 0, "%s", bad[i].arg);
	}
	fflush(stderr);
	cr_assert_stderr_eq_str(
	    "stampede: invalid --out 'html=x.html': the formats are json and markdown\n"
	    "stampede: invalid --out 'json': give FORMAT=FILE (json, markdown)\n"
	    "stampede: invalid --out '=x': give FORMAT=FILE (json, markdown)\n"
	    "stampede: invalid --out 'json=': give FORMAT=FILE (json, markdown)\n"
	    "stampede: invalid --out 'jso=x': the formats are json and markdown\n"
	    "stampede: invalid --out 'jsonx=x': the formats are json and markdown\n"
	    "stampede: invalid --out 'csv=x.csv': give json=FILE (the format is json)\n"
	    "stampede: invalid --out 'yaml=x?y': expected hpa=FILE or keda=FILE\n");
}

Test(out_args, one_each_replaces)
{
	struct out_arg o[2];
	int n = 0;
	cr_assert_eq(out_args_parse(&each, o, &n, "hpa=a"), 0);
	cr_assert_eq(out_args_parse(&each, o, &n, "keda=b"), 0);
	cr_assert_eq(out_args_parse(&each, o, &n, "hpa=c"), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(out_args_path(o, n, "hpa"), "c");
	cr_assert_str_eq(out_args_path(o, n, "keda"), "b");
}

/* A fresh directory for each test that writes, removed after it; at(NAME) is a path in it
 * (four at a time). */
static char dir[] = "/tmp/test_out_args.XXXXXX";

static void in_dir(void)
{
	cr_assert_not_null(mkdtemp(dir));
	cr_redirect_stderr();
}

static void rm_dir(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static const char *at(const char *name)
{
	static char paths[4][128];
	static int next;
	char *p = paths[next++ % 4];
	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	return p;
}

Test(out_args, checks_pass_for_distinct_writable_files, .init = in_dir, .fini = rm_dir)
{
	struct out_arg o[] = { { "json", at("a.json") },
		               { "markdown", at("b.md") },
		               { "json", "-" },
		               { "json", "-" } };
	const char *inputs[] = { at("in.json"), NULL };
	cr_assert_eq(out_args_check(&plan, o, 4, inputs, 2, NULL), 0);
}

Test(out_args, refuses_an_input, .init = in_dir, .fini = rm_dir)
{
	const char *in = at("in.json");
	FILE *f = fopen(in, "w");
	cr_assert_not_null(f);
	fclose(f);
	struct out_arg o[] = { { "json", at("./in.json") } };
	const char *inputs[] = { NULL, in };
	cr_assert_eq(out_args_check(&plan, o, 1, inputs, 2, NULL), -EINVAL);
	cr_assert_eq(out_args_check(&plan, o, 1, inputs, 2, "the --model file"), -EINVAL);
	fflush(stderr);
	char want[1024];
	snprintf(want, sizeof(want),
	         "stampede capacity plan: --out json=%s is %s, which this command reads: "
	         "writing there would replace it; choose another file\n"
	         "stampede capacity plan: --out json=%s is the --model file: writing there "
	         "would replace it; choose another file\n",
	         o[0].path, in, o[0].path);
	cr_assert_stderr_eq_str(want);
}

Test(out_args, refuses_two_on_one_file, .init = in_dir, .fini = rm_dir)
{
	struct out_arg o[] = { { "json", at("y") }, { "markdown", at("./y") } };
	cr_assert_eq(out_args_check(&plan, o, 2, NULL, 0, NULL), -EINVAL);
	fflush(stderr);
	char want[1024];
	snprintf(want, sizeof(want),
	         "stampede capacity plan: --out json=%s and --out markdown=%s are one file: the "
	         "same file cannot hold both; give each its own\n",
	         o[0].path, o[1].path);
	cr_assert_stderr_eq_str(want);
}

Test(out_args, refuses_an_unwritable_path, .init = redirect)
{
	struct out_arg o[] = { { "json", "/nonexistent-dir-out-args/x.json" } };
	cr_assert_eq(out_args_check(&fit, o, 1, NULL, 0, NULL), -EINVAL);
	fflush(stderr);
	FILE *f = cr_get_redirected_stderr();
	char line[1024] = "";
	cr_assert_not_null(fgets(line, sizeof(line), f));
	cr_assert(!strncmp(line,
	                   "stampede capacity fit: --out json=/nonexistent-dir-out-args/x.json: ",
	                   strlen("stampede capacity fit: --out json=/nonexistent-dir-out-args/"
	                          "x.json: ")),
	          "%s", line);
	cr_assert_null(fgets(line, sizeof(line), f), "one line");
}
