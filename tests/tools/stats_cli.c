/* stats_cli.c: runs stats_mann_whitney() or stats_block_bootstrap_ratio() on two lines of
 * numbers from stdin (x, then y) and prints key=value lines (a test tool for
 * tests/e2e/test_stats_scipy.py, not part of stampede). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/stats.h"
#include "util/common.h"

static int usage(void)
{
	fprintf(stderr, "usage: stats_cli mwu [--alt two-sided|less|greater] < 'x...\\ny...'\n"
	                "       stats_cli boot [--stat median|mean] [--block B] [--resamples R]\n"
	                "                 [--level L] [--seed S] [--repeat N] < 'x...\\ny...'\n");
	return 2;
}

/* The numbers of one line of stdin into a new array; -1 at end of input or on garbage. */
static int read_line(double **out)
{
	char *line = NULL;
	size_t cap = 0;
	if (getline(&line, &cap, stdin) < 0) {
		free(line);
		return -1;
	}
	int n = 0, size = 16;
	double *v = xmalloc((size_t)size * sizeof(*v));
	char *tok, *save = NULL;
	for (tok = strtok_r(line, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		char *end;
		double d = strtod(tok, &end);
		if (*end || n == STATS_MAX_N + 1) {
			free(v);
			free(line);
			return -1;
		}
		if (n == size)
			v = xrealloc(v, (size_t)(size *= 2) * sizeof(*v));
		v[n++] = d;
	}
	free(line);
	*out = v;
	return n;
}

static int run_mwu(int argc, char **argv, const double *x, int nx, const double *y, int ny)
{
	enum stats_alt alt = STATS_TWO_SIDED;
	for (int i = 2; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : "";
		if (strcmp(argv[i], "--alt"))
			return usage();
		if (!strcmp(v, "two-sided"))
			alt = STATS_TWO_SIDED;
		else if (!strcmp(v, "less"))
			alt = STATS_LESS;
		else if (!strcmp(v, "greater"))
			alt = STATS_GREATER;
		else
			return usage();
	}
	struct stats_mwu r;
	int rc = stats_mann_whitney(x, nx, y, ny, alt, &r);
	if (rc < 0) {
		fprintf(stderr, "stats_cli: stats_mann_whitney: %s\n", strerror(-rc));
		return 1;
	}
	printf("u=%.17g\nz=%.17g\np=%.17g\nexact=%d\n", r.u, r.z, r.p, r.exact);
	return 0;
}

struct boot_opts {
	stats_fn stat;
	int64_t block, resamples, repeat;
	double level;
	uint64_t seed;
};

static int boot_opt(struct boot_opts *o, const char *a, const char *v)
{
	int64_t seed;
	if (!strcmp(a, "--stat") && !strcmp(v, "median"))
		o->stat = stats_median;
	else if (!strcmp(a, "--stat") && !strcmp(v, "mean"))
		o->stat = stats_mean;
	else if (!strcmp(a, "--block"))
		return parse_int64(v, 0, INT32_MAX, &o->block);
	else if (!strcmp(a, "--resamples"))
		return parse_int64(v, 0, INT32_MAX, &o->resamples);
	else if (!strcmp(a, "--repeat"))
		return parse_int64(v, 1, 1000000, &o->repeat);
	else if (!strcmp(a, "--level"))
		return parse_double(v, &o->level);
	else if (!strcmp(a, "--seed") && !parse_int64(v, 0, INT64_MAX, &seed))
		o->seed = (uint64_t)seed;
	else
		return -EINVAL;
	return 0;
}

static double ms_between(struct timespec a, struct timespec b)
{
	return (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
}

/* --repeat N runs the bootstrap N times and reports the wall and CPU time per call. */
static int run_boot(int argc, char **argv, const double *x, int nx, const double *y, int ny)
{
	struct boot_opts o = { stats_median, 0, 2000, 1, 0.95, 1 };
	for (int i = 2; i < argc; i += 2)
		if (i + 1 >= argc || boot_opt(&o, argv[i], argv[i + 1]) < 0)
			return usage();
	struct stats_ratio_ci r;
	struct timespec t0, t1, c0, c1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	for (int64_t k = 0; k < o.repeat; k++) {
		int rc = stats_block_bootstrap_ratio(x, nx, y, ny, o.stat, (int)o.block,
		                                     (int)o.resamples, o.level, o.seed, &r);
		if (rc < 0) {
			fprintf(stderr, "stats_cli: stats_block_bootstrap_ratio: %s\n",
			        strerror(-rc));
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	printf("ratio=%.17g\nlo=%.17g\nhi=%.17g\nblock=%d\nblock_y=%d\nresamples=%d\nkept=%d\n"
	       "ms_per_call=%.3f\ncpu_ms_per_call=%.3f\n",
	       r.ratio, r.lo, r.hi, r.block, r.block_y, r.resamples, r.kept,
	       ms_between(t0, t1) / o.repeat, ms_between(c0, c1) / o.repeat);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "mwu") && strcmp(argv[1], "boot")))
		return usage();
	double *x = NULL, *y = NULL;
	int nx = read_line(&x), ny = nx < 0 ? -1 : read_line(&y);
	if (nx < 0 || ny < 0) {
		fprintf(stderr, "stats_cli: bad input (two lines of numbers: x, then y)\n");
		free(x);
		return 1;
	}
	int rc = !strcmp(argv[1], "mwu") ? run_mwu(argc, argv, x, nx, y, ny)
	                                 : run_boot(argc, argv, x, nx, y, ny);
	free(x);
	free(y);
	return rc;
}
