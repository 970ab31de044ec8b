/* cmd_profile.c: `stampede profile --pid PID` (perf record + an SVG flame graph and the
 * top functions) and `stampede flamegraph FOLDED | --diff BEFORE AFTER` (docs/profiling.md). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "engine/run.h"
#include "profile/flamegraph.h"
#include "profile/fold.h"
#include "profile/perf.h"
#include "util/buf.h"
#include "util/common.h"
#include "util/outfile.h"

/* perf is missing, not permitted, or failed (docs/profiling.md). */
/* The largest folded file `flamegraph` reads. */
#define FOLDED_MAX_BYTES (256u << 20)
#define TOP_MAX          1000

void cmd_profile_usage(void)
{
	printf("usage: stampede profile --pid PID [flags]\n\n"
	       "Profile a running process with Linux perf (perf record -g, frame-pointer call\n"
	       "stacks), fold its stacks and write an interactive SVG flame graph (search, zoom,\n"
	       "tooltips; self-contained), then print the functions taking the most CPU.\n\n"
	       "  -p, --pid PID             the process to profile (all its threads)\n"
	       "  -d, --duration D          how long to sample (default 30s; Ctrl-C ends early)\n"
	       "  -o, --output FILE         the flame graph (default profile.svg; '-' is stdout)\n"
	       "      --folded FILE         also write the folded stacks (flamegraph.pl format)\n"
	       "      --top N               print the N functions with the most self time\n"
	       "                            (default 20; 0: none)\n"
	       "      --freq HZ             samples per second per CPU (default 99)\n"
	       "      --title T             the flame graph's title\n\n"
	       "Needs perf (apt-get install linux-perf) and the right to use it: root,\n"
	       "CAP_PERFMON, or kernel.perf_event_paranoid of 2 or lower for your own processes.\n"
	       "exit codes: 0 written, 104 invalid flags, 105 interrupted (the graph of what was\n"
	       "recorded is still written), 111 perf missing, not permitted or failed.\n"
	       "\nexample: stampede profile --pid $(pidof myserver) --duration 30s -o flame.svg\n");
}

void cmd_flamegraph_usage(void)
{
	printf("usage: stampede flamegraph FOLDED [-o out.svg] [--title T]\n"
	       "       stampede flamegraph --diff BEFORE AFTER [-o out.svg] [--title T]\n\n"
	       "Draw an interactive SVG flame graph of folded stacks (lines 'a;b;c COUNT', as\n"
	       "`stampede profile --folded` and stackcollapse-perf.pl write them). With --diff,\n"
	       "a differential flame graph: the frames of AFTER, red where their share of the\n"
	       "samples grew since BEFORE, blue where it shrank.\n\n"
	       "  -o, --output FILE         the SVG (default flamegraph.svg; '-' is stdout)\n"
	       "      --diff                two files: BEFORE then AFTER\n"
	       "      --title T             the title\n"
	       "      --top N               print the N functions with the most self time\n"
	       "                            (default 0: none)\n"
	       "\nexample: stampede flamegraph --diff before.folded after.folded -o diff.svg\n");
}

enum { OPT_HELP = 300, OPT_FOLDED, OPT_TOP, OPT_FREQ, OPT_TITLE, OPT_DIFF };

static const struct option profile_opts[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "pid", required_argument, NULL, 'p' },
	{ "duration", required_argument, NULL, 'd' },
	{ "output", required_argument, NULL, 'o' },
	{ "folded", required_argument, NULL, OPT_FOLDED },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "freq", required_argument, NULL, OPT_FREQ },
	{ "title", required_argument, NULL, OPT_TITLE },
	{ 0 },
};

static const struct option flame_opts_long[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "output", required_argument, NULL, 'o' },
	{ "diff", no_argument, NULL, OPT_DIFF },
	{ "title", required_argument, NULL, OPT_TITLE },
	{ "top", required_argument, NULL, OPT_TOP },
	{ 0 },
};

/* The top-functions table of f on out. */
static void print_top(FILE *out, const struct folded *f, int skip_roots, int n)
{
	uint64_t total = folded_stats(f).total;
	if (n <= 0 || total == 0)
		return;
	struct flame_top *top = xcalloc((size_t)n, sizeof(*top));
	int k = flame_top_functions(f, skip_roots, top, n);
	fprintf(out,
	        "\ntop functions by self time (%% of %llu samples):\n   self   total  function\n",
	        (unsigned long long)total);
	for (int i = 0; i < k; i++)
		fprintf(out, "%6.2f%% %6.2f%%  %.200s\n",
		        100.0 * (double)top[i].self / (double)total,
		        100.0 * (double)top[i].total / (double)total, top[i].name);
	free(top);
}

/* Bounds hit while folding, one line each on stderr. */
static void print_bounds(const struct folded *f)
{
	struct fold_stats s = folded_stats(f);
	if (s.dropped)
		fprintf(stderr, "stampede: %llu samples not drawn: more than %d distinct stacks\n",
		        (unsigned long long)s.dropped, FOLD_MAX_STACKS);
	if (s.truncated)
		fprintf(stderr, "stampede: %llu stacks cut to %d frames\n",
		        (unsigned long long)s.truncated, FOLD_MAX_DEPTH);
	if (s.names_over)
		fprintf(stderr,
		        "stampede: %llu frames named '[names over cap]' (more than %d names)\n",
		        (unsigned long long)s.names_over, FOLD_MAX_NAMES);
}

static int parse_top(const char *v, int *out)
{
	int64_t n;
	if (parse_int64(v, 0, TOP_MAX, &n) < 0)
		return cli_bad_value("--top", v, "a whole number from 0 to 1000");
	*out = (int)n;
	return 0;
}

/* Write the SVG (and the folded text) where asked. Returns 0 or EXIT_OUTPUT_FAILED. */
static int write_out(const char *path, const struct buf *b)
{
	char err[512];
	if (outfile_write(path, b->p ? b->p : "", b->len, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: %s\n", err);
		return EXIT_OUTPUT_FAILED;
	}
	return 0;
}

static int check_out(const char *path)
{
	char err[512];
	if (outfile_check(path, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: %s\n", err);
		return -EINVAL;
	}
	return 0;
}

/* Whether two output paths write one file (or both stdout). */
static bool same_file(const char *x, const char *y)
{
	char *p = outfile_where(x), *q = outfile_where(y);
	bool same = p && q ? !strcmp(p, q) : !strcmp(x, y);
	free(p);
	free(q);
	return same;
}

/* Wait up to dur_us for the duration to pass, a signal (returns 1), or perf to end. */
static int wait_recording(const struct perf_capture *c, int64_t dur_us)
{
	sigset_t set;
	int64_t end = now_us() + dur_us;
	sigemptyset(&set);
	sigaddset(&set, SIGINT), sigaddset(&set, SIGTERM), sigaddset(&set, SIGHUP);
	for (int64_t left; (left = end - now_us()) > 0;) {
		struct timespec ts = { 0, (long)MIN(left, 100000) * 1000L };
		if (sigtimedwait(&set, NULL, &ts) > 0)
			return 1;
		if (perf_capture_ended(c)) /* the target exited: stop waiting */
			return 0;
	}
	return 0;
}

static void comm_of(pid_t pid, char *out, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "r");
	out[0] = '\0';
	if (f) {
		if (fgets(out, (int)len, f))
			out[strcspn(out, "\n")] = '\0';
		fclose(f);
	}
}

struct profile_args {
	pid_t pid;
	int64_t dur_us;
	const char *out, *folded_out, *title;
	int top, freq;
};

/* Record, fold, render; the exit code. */
static int profile_run(const struct profile_args *a)
{
	char err[1024], comm[64], dur[32], title[256], sub[512];
	struct buf svg = { 0 }, txt = { 0 };
	struct folded *f = NULL;
	sigset_t set, old;
	int rc = EXIT_PROFILE_UNAVAILABLE, interrupted = 0;

	comm_of(a->pid, comm, sizeof(comm));
	sigemptyset(&set);
	sigaddset(&set, SIGINT), sigaddset(&set, SIGTERM), sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	struct perf_capture *c = perf_capture_start(a->pid, a->freq, err, sizeof(err));
	if (!c) {
		rc = errno == ESRCH || errno == EINVAL ? EXIT_INVALID_CONFIG
		                                       : EXIT_PROFILE_UNAVAILABLE;
		fprintf(stderr, "stampede: cannot profile: %s\n", err);
		goto out;
	}
	fprintf(stderr, "stampede: profiling pid %d (%s) for %s at %d Hz...\n", (int)a->pid, comm,
	        format_duration(a->dur_us, dur, sizeof(dur)), a->freq);
	interrupted = wait_recording(c, a->dur_us);
	struct fold_opts fo = fold_opts_default();
	f = folded_new();
	if (perf_capture_fold(c, &fo, f, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: %s\n", err);
		goto out;
	}
	print_bounds(f);
	snprintf(title, sizeof(title), "%s", a->title ? a->title : "CPU flame graph");
	snprintf(sub, sizeof(sub), "pid %d (%s), %s at %d Hz, %llu samples", (int)a->pid, comm, dur,
	         a->freq, (unsigned long long)folded_stats(f).total);
	flame_render(f, &(struct flame_opts){ .title = title, .subtitle = sub }, &svg);
	rc = write_out(a->out, &svg);
	if (!rc && a->folded_out) {
		folded_write(f, &txt);
		rc = write_out(a->folded_out, &txt);
	}
	if (!rc) {
		/* the report goes to stderr when an output is stdout */
		FILE *info = !strcmp(a->out, "-") || (a->folded_out && !strcmp(a->folded_out, "-"))
		                 ? stderr
		                 : stdout;
		fprintf(info, "profile of pid %d (%s): %llu samples in %zu distinct stacks\n",
		        (int)a->pid, comm, (unsigned long long)folded_stats(f).total,
		        folded_nstacks(f));
		fprintf(info, "wrote %s%s%s\n", a->out, a->folded_out ? " and " : "",
		        a->folded_out ? a->folded_out : "");
		print_top(info, f, fo.with_comm ? 1 : 0, a->top);
		rc = interrupted ? EXIT_INTERRUPTED : 0;
	}
out:
	perf_capture_free(c);
	sigprocmask(SIG_SETMASK, &old, NULL);
	folded_free(f);
	buf_free(&svg);
	buf_free(&txt);
	return rc;
}

int cmd_profile(int argc, char **argv)
{
	struct profile_args a = {
		.pid = 0, .dur_us = 30 * USEC_PER_SEC, .out = "profile.svg", .top = 20, .freq = 99
	};
	int c;
	int64_t v;

	opterr = 0;
	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":p:d:o:", profile_opts, NULL)) != -1) {
		switch (c) {
		case OPT_HELP:
			cmd_profile_usage();
			return 0;
		case '?':
		case ':':
			cli_opt_report("profile");
			return EXIT_INVALID_CONFIG;
		case 'p':
			if (parse_int64(optarg, 1, 4194304, &v) < 0) {
				cli_bad_value("--pid", optarg, "a process id");
				return EXIT_INVALID_CONFIG;
			}
			a.pid = (pid_t)v;
			break;
		case 'd':
			if (parse_duration(optarg, &a.dur_us) < 0 || a.dur_us < 100000 ||
			    a.dur_us > 24 * 3600 * USEC_PER_SEC) {
				cli_bad_value("--duration", optarg, "a duration from 100ms to 24h");
				return EXIT_INVALID_CONFIG;
			}
			break;
		case 'o':
			a.out = optarg;
			break;
		case OPT_FOLDED:
			a.folded_out = optarg;
			break;
		case OPT_TITLE:
			a.title = optarg;
			break;
		case OPT_TOP:
			if (parse_top(optarg, &a.top) < 0)
				return EXIT_INVALID_CONFIG;
			break;
		case OPT_FREQ:
			if (parse_int64(optarg, 1, 100000, &v) < 0) {
				cli_bad_value("--freq", optarg, "samples per second, 1 to 100000");
				return EXIT_INVALID_CONFIG;
			}
			a.freq = (int)v;
			break;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "stampede: profile takes no operand ('%s'); use --pid PID\n",
		        argv[optind]);
		return EXIT_INVALID_CONFIG;
	}
	if (a.pid == 0) {
		fprintf(stderr,
		        "stampede: profile needs --pid PID (see 'stampede help profile')\n");
		return EXIT_INVALID_CONFIG;
	}
	if (check_out(a.out) < 0 || (a.folded_out && check_out(a.folded_out) < 0))
		return EXIT_INVALID_CONFIG;
	if (a.folded_out && same_file(a.out, a.folded_out)) {
		fprintf(stderr, "stampede: -o and --folded name the same file ('%s')\n", a.out);
		return EXIT_INVALID_CONFIG;
	}
	return profile_run(&a);
}

/* Read and parse the folded file path into a new *out. Returns 0 or EXIT_INVALID_CONFIG
 * (message printed). */
static int load_folded(const char *path, struct folded **out)
{
	char *text = NULL, err[256];
	size_t len;
	int e = read_file_max(path, FOLDED_MAX_BYTES, &text, &len);
	if (e < 0) {
		fprintf(stderr, "stampede: cannot read '%s': %s\n", path, read_file_strerror(e));
		return EXIT_INVALID_CONFIG;
	}
	struct folded *f = folded_new();
	e = folded_parse(f, text, len, err, sizeof(err));
	free(text);
	if (e < 0) {
		fprintf(stderr, "stampede: %s: %s\n", path, err);
		folded_free(f);
		return EXIT_INVALID_CONFIG;
	}
	if (folded_stats(f).total == 0) {
		fprintf(stderr,
		        "stampede: %s: no samples (expected lines 'frame;frame;... COUNT')\n",
		        path);
		folded_free(f);
		return EXIT_INVALID_CONFIG;
	}
	print_bounds(f);
	*out = f;
	return 0;
}

int cmd_flamegraph(int argc, char **argv)
{
	const char *out = "flamegraph.svg", *title = NULL;
	struct folded *a = NULL, *b = NULL;
	struct buf svg = { 0 };
	int c, diff = 0, top = 0, rc = EXIT_INVALID_CONFIG;

	opterr = 0;
	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":o:", flame_opts_long, NULL)) != -1) {
		switch (c) {
		case OPT_HELP:
			cmd_flamegraph_usage();
			return 0;
		case '?':
		case ':':
			cli_opt_report("flamegraph");
			return EXIT_INVALID_CONFIG;
		case 'o':
			out = optarg;
			break;
		case OPT_DIFF:
			diff = 1;
			break;
		case OPT_TITLE:
			title = optarg;
			break;
		case OPT_TOP:
			if (parse_top(optarg, &top) < 0)
				return EXIT_INVALID_CONFIG;
			break;
		}
	}
	int want = diff ? 2 : 1;
	if (argc - optind != want) {
		fprintf(stderr, "stampede: flamegraph takes %s (see 'stampede help flamegraph')\n",
		        diff ? "two folded files with --diff: BEFORE AFTER" : "one folded file");
		return EXIT_INVALID_CONFIG;
	}
	if (check_out(out) < 0)
		return EXIT_INVALID_CONFIG;
	if (load_folded(argv[optind], &a) || (diff && load_folded(argv[optind + 1], &b)))
		goto out;
	if (diff) {
		char sub[256];
		snprintf(sub, sizeof(sub), "%llu samples before, %llu after; red grew, blue shrank",
		         (unsigned long long)folded_stats(a).total,
		         (unsigned long long)folded_stats(b).total);
		flame_render_diff(
		    a, b,
		    &(struct flame_opts){ .title = title ? title : "Differential flame graph",
		                          .subtitle = sub },
		    &svg);
	} else {
		flame_render(a, &(struct flame_opts){ .title = title }, &svg);
	}
	rc = write_out(out, &svg);
	if (!rc && strcmp(out, "-") != 0) {
		printf("wrote %s\n", out);
		print_top(stdout, diff ? b : a, 0, top);
	}
out:
	folded_free(a);
	folded_free(b);
	buf_free(&svg);
	return rc;
}
