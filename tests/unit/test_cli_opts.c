/* test_cli_opts.c: unit tests for strict long options, their messages, and the positional
 * URL hint (cli/cli_opts.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_opts.h"
#include "util/common.h"

enum { OPT_URL = 256, OPT_THRESHOLD, OPT_THRESHOLD_ABORT, OPT_HELP };

static const struct option opts[] = {
	{ "url", required_argument, NULL, OPT_URL },
	{ "vus", required_argument, NULL, 'u' },
	{ "duration", required_argument, NULL, 'd' },
	{ "threads", required_argument, NULL, 't' },
	{ "threshold", required_argument, NULL, OPT_THRESHOLD },
	{ "threshold-abort", required_argument, NULL, OPT_THRESHOLD_ABORT },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ 0 },
};

#define OPTSTRING ":u:d:t:q"

/* What parsing a command line gave: each return value with its optarg ("" without), the
 * message of the first error, and optind at the end. */
struct parsed {
	int rc[16];
	char arg[16][64];
	int longindex[16];
	int n;
	char err[256];
	int optind;
	char first_operand[64];
};

/* Parse argv (NULL-terminated, argv[0] included) to the end or the first error. */
static struct parsed parse(char **argv)
{
	struct parsed p = { 0 };
	int argc = 0, c;
	while (argv[argc])
		argc++;
	optind = 1;
	for (;;) {
		int li = -1;
		c = cli_getopt_long(argc, argv, OPTSTRING, opts, &li);
		cr_assert_lt(p.n, 16);
		p.rc[p.n] = c;
		p.longindex[p.n] = li;
		snprintf(p.arg[p.n], sizeof(p.arg[0]), "%s", c > 0 && optarg ? optarg : "");
		p.n++;
		if (c == -1 || c == '?' || c == ':')
			break;
	}
	snprintf(p.err, sizeof(p.err), "%s", cli_opt_error());
	p.optind = optind;
	if (c == -1 && optind < argc)
		snprintf(p.first_operand, sizeof(p.first_operand), "%s", argv[optind]);
	return p;
}

#define ARGV(...) ((char *[]){ "stampede", __VA_ARGS__, NULL })

Test(cli_opts, full_names_and_short_options_parse_as_getopt_long)
{
	struct parsed p = parse(ARGV("--vus", "5", "--duration=1s", "-q", "-t3", "x.lua"));
	cr_assert_eq(p.n, 5);
	cr_assert_eq(p.rc[0], 'u');
	cr_assert_str_eq(p.arg[0], "5");
	cr_assert_eq(p.longindex[0], 1);
	cr_assert_eq(p.rc[1], 'd');
	cr_assert_str_eq(p.arg[1], "1s");
	cr_assert_eq(p.rc[2], 'q');
	cr_assert_eq(p.longindex[2], -1, "a short option sets no longindex");
	cr_assert_eq(p.rc[3], 't');
	cr_assert_str_eq(p.arg[3], "3");
	cr_assert_eq(p.rc[4], -1);
	cr_assert_str_eq(p.first_operand, "x.lua");
	cr_assert_str_eq(p.err, "");
}

Test(cli_opts, operands_before_options_are_permuted_as_getopt_long)
{
	struct parsed p = parse(ARGV("x.lua", "--vus", "2", "--quiet"));
	cr_assert_eq(p.rc[0], 'u');
	cr_assert_str_eq(p.arg[0], "2");
	cr_assert_eq(p.rc[1], 'q');
	cr_assert_eq(p.rc[2], -1);
	cr_assert_str_eq(p.first_operand, "x.lua");
}

Test(cli_opts, a_value_that_looks_like_an_option_is_still_a_value)
{
	struct parsed p = parse(ARGV("--url", "--vu", "--threshold", "--quiet"));
	cr_assert_eq(p.rc[0], OPT_URL);
	cr_assert_str_eq(p.arg[0], "--vu");
	cr_assert_eq(p.rc[1], OPT_THRESHOLD, "--threshold is exact, not an abbreviation");
	cr_assert_str_eq(p.arg[1], "--quiet");
	cr_assert_eq(p.rc[2], -1);
}

Test(cli_opts, an_exact_name_wins_over_a_longer_option_it_prefixes)
{
	struct parsed p = parse(ARGV("--threshold", "a", "--threshold-abort=b"));
	cr_assert_eq(p.rc[0], OPT_THRESHOLD);
	cr_assert_eq(p.rc[1], OPT_THRESHOLD_ABORT);
	cr_assert_str_eq(p.arg[1], "b");
	cr_assert_eq(p.rc[2], -1);
}

/* Each abbreviation getopt_long would accept is refused, with the full name as the hint. */
Test(cli_opts, abbreviated_long_options_are_refused_with_a_hint)
{
	static const struct {
		char *argv[4];
		const char *err;
	} tc[] = {
		{ { "--vu", "5" }, "unknown option '--vu' (did you mean '--vus'?)" },
		{ { "--vu=5" }, "unknown option '--vu' (did you mean '--vus'?)" },
		{ { "--dur", "1s" }, "unknown option '--dur' (did you mean '--duration'?)" },
		{ { "--qui" }, "unknown option '--qui' (did you mean '--quiet'?)" },
		{ { "--qui=1" }, "unknown option '--qui' (did you mean '--quiet'?)" },
		{ { "--threshold-ab", "x" },
		  "unknown option '--threshold-ab' (did you mean '--threshold-abort'?)" },
		{ { "--u", "http://x/" }, "unknown option '--u' (did you mean '--url'?)" },
		{ { "--vu" }, "unknown option '--vu' (did you mean '--vus'?)" }, /* no value */
	};
	for (size_t i = 0; i < ARRAY_SIZE(tc); i++) {
		char *argv[6] = { "stampede", tc[i].argv[0], tc[i].argv[1], tc[i].argv[2], NULL };
		struct parsed p = parse(argv);
		int last = p.rc[p.n - 1];
		cr_assert(last == '?' || last == ':', "%s: returned %d", tc[i].argv[0], last);
		cr_assert_str_eq(p.err, tc[i].err, "%s", tc[i].argv[0]);
	}
}

Test(cli_opts, unknown_long_options_get_the_closest_name_or_none)
{
	static const struct {
		const char *arg;
		const char *err;
	} tc[] = {
		{ "--duraton", "unknown option '--duraton' (did you mean '--duration'?)" },
		{ "--treads", "unknown option '--treads' (did you mean '--threads'?)" },
		{ "--VUS", "unknown option '--VUS' (did you mean '--vus'?)" },
		{ "--vsu", "unknown option '--vsu' (did you mean '--vus'?)" },
		{ "--th", "unknown option '--th' (did you mean '--threads'?)" }, /* ambiguous */
		{ "--bogus-flag", "unknown option '--bogus-flag'" },
		{ "--x", "unknown option '--x'" },
		{ "--out=a.json", "unknown option '--out'" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(tc); i++) {
		struct parsed p = parse(ARGV((char *)tc[i].arg));
		cr_assert_eq(p.rc[p.n - 1], '?', "%s", tc[i].arg);
		cr_assert_str_eq(p.err, tc[i].err, "%s", tc[i].arg);
	}
}

Test(cli_opts, missing_values_and_values_for_flags)
{
	struct parsed p = parse(ARGV("--quiet", "--vus"));
	cr_assert_eq(p.rc[1], ':');
	cr_assert_str_eq(p.err, "option '--vus' needs a value");
	p = parse(ARGV("-q", "-u"));
	cr_assert_eq(p.rc[1], ':');
	cr_assert_str_eq(p.err, "option '-u' needs a value");
	p = parse(ARGV("--quiet=yes"));
	cr_assert_eq(p.rc[0], '?');
	cr_assert_str_eq(p.err, "option '--quiet' does not take a value");
	p = parse(ARGV("--help=1"));
	cr_assert_eq(p.rc[0], '?');
	cr_assert_str_eq(p.err, "option '--help' does not take a value");
}

Test(cli_opts, unknown_short_options_are_named)
{
	struct parsed p = parse(ARGV("-z"));
	cr_assert_eq(p.rc[0], '?');
	cr_assert_str_eq(p.err, "unknown option '-z'");
	p = parse(ARGV("--quiet", "-qz"));
	cr_assert_eq(p.rc[2], '?');
	cr_assert_str_eq(p.err, "unknown option '-z'");
	p = parse(ARGV("--quiet", "-zq")); /* the element before is a long option */
	cr_assert_eq(p.rc[1], '?');
	cr_assert_str_eq(p.err, "unknown option '-z'");
}

Test(cli_opts, double_dash_ends_the_options)
{
	struct parsed p = parse(ARGV("-q", "--", "--vu"));
	cr_assert_eq(p.rc[1], -1);
	cr_assert_str_eq(p.first_operand, "--vu");
}

Test(cli_opts, report_prints_the_message_and_the_help_command)
{
	char buf[512] = { 0 };
	parse(ARGV("--vu", "1"));
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
	cr_assert_not_null(f);
	FILE *saved = stderr;
	stderr = f;
	cli_opt_report("run");
	stderr = saved;
	fclose(f);
	cr_assert_str_eq(buf, "stampede: unknown option '--vu' (did you mean '--vus'?)\n"
	                      "see 'stampede help run'\n");
}

Test(cli_opts, positional_urls_get_a_hint)
{
	static const char *const urls[] = {
		"http://127.0.0.1:8080/", "https://example.com", "HTTP://x",   "localhost:8080",
		"127.0.0.1:8080/api",     "[::1]:8080",          "[::1]:80/x", "my-host.lan:1",
	};
	for (size_t i = 0; i < ARRAY_SIZE(urls); i++) {
		const char *h = cli_positional_url_hint(urls[i]);
		cr_assert_not_null(h, "%s", urls[i]);
		char want[256];
		snprintf(want, sizeof(want),
		         "stampede: '%s' looks like a URL: use --url URL (wrk takes it "
		         "positionally; stampede's positional argument is a script)",
		         urls[i]);
		cr_assert_str_eq(h, want);
	}
}

Test(cli_opts, scripts_get_no_url_hint)
{
	static const char *const scripts[] = {
		"script.lua",  "./tests/load.lua",
		"/tmp/x.lua",  "localhost",
		"host:port",   "host:123456",
		"[::1]",       ":8080",
		"a b:80",      "",
		"ftp://host/",
	};
	for (size_t i = 0; i < ARRAY_SIZE(scripts); i++)
		cr_assert_null(cli_positional_url_hint(scripts[i]), "'%s'", scripts[i]);
	cr_assert_null(cli_positional_url_hint(NULL));
}

Test(cli_opts, a_long_url_is_cut_in_the_hint)
{
	char url[1000];
	memset(url, 'a', sizeof(url));
	memcpy(url, "http://", 7);
	url[sizeof(url) - 1] = '\0';
	const char *h = cli_positional_url_hint(url);
	cr_assert_not_null(h);
	cr_assert_lt(strlen(h), 400);
	cr_assert_not_null(strstr(h, "looks like a URL"));
}
