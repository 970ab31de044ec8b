/* cp_cli.c: runs cp_detect() on the numbers read from stdin and prints one line per change
 * point (a test tool for tests/e2e/test_changepoint_ref.py, not part of stampede). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/changepoint.h"
#include "util/common.h"

static int usage(void)
{
	fprintf(stderr, "usage: cp_cli [--alpha A] [--permutations R] [--min-size M] "
	                "[--exponent E] [--seed S] < values\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct cp_opts o = {
		.alpha = 0.05, .permutations = 199, .min_size = 3, .exponent = 1, .seed = 1
	};
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int64_t k;
		if (!v)
			return usage();
		if (!strcmp(a, "--alpha") && !parse_double(v, &o.alpha))
			;
		else if (!strcmp(a, "--exponent") && !parse_double(v, &o.exponent))
			;
		else if (!strcmp(a, "--permutations") && !parse_int64(v, 0, 1 << 30, &k))
			o.permutations = (int)k;
		else if (!strcmp(a, "--min-size") && !parse_int64(v, 0, 1 << 30, &k))
			o.min_size = (int)k;
		else if (!strcmp(a, "--seed") && !parse_int64(v, 0, INT64_MAX, &k))
			o.seed = (uint64_t)k;
		else
			return usage();
	}
	static double y[CP_MAX_N + 1];
	int n = 0;
	while (n <= CP_MAX_N && scanf("%lf", &y[n]) == 1)
		n++;
	if (!feof(stdin) || n > CP_MAX_N) {
		fprintf(stderr, "cp_cli: bad input (numbers, at most %d)\n", CP_MAX_N);
		return 1;
	}
	static struct cp_point pt[CP_MAX_POINTS];
	int k = cp_detect(y, n, &o, pt);
	if (k < 0) {
		fprintf(stderr, "cp_cli: cp_detect: %s\n", strerror(-k));
		return 1;
	}
	printf("points=%d\n", k);
	for (int i = 0; i < k; i++)
		printf("%d %.17g %.17g %.17g %.17g\n", pt[i].index, pt[i].q, pt[i].p, pt[i].before,
		       pt[i].after);
	return 0;
}
