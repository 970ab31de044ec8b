/* trend_cli.c: runs trend_test() on "x y" pairs read from stdin and prints key=value lines
 * (a test tool for tests/e2e/test_trend_scipy.py, not part of stampede). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/trend.h"
#include "util/common.h"

static int usage(void)
{
	fprintf(stderr, "usage: trend_cli [--alpha A] [--corr none|hamed-rao] [--unit U] "
	                "[--per second|minute|hour] < points\n");
	return 2;
}

int main(int argc, char **argv)
{
	double alpha = 0.05;
	enum trend_corr corr = TREND_CORR_NONE;
	enum trend_per per = TREND_PER_SECOND;
	const char *unit = "";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return usage();
		if (!strcmp(a, "--alpha") && !parse_double(v, &alpha))
			;
		else if (!strcmp(a, "--corr") && !strcmp(v, "none"))
			corr = TREND_CORR_NONE;
		else if (!strcmp(a, "--corr") && !strcmp(v, "hamed-rao"))
			corr = TREND_CORR_HAMED_RAO;
		else if (!strcmp(a, "--unit"))
			unit = v;
		else if (!strcmp(a, "--per") && !strcmp(v, "second"))
			per = TREND_PER_SECOND;
		else if (!strcmp(a, "--per") && !strcmp(v, "minute"))
			per = TREND_PER_MINUTE;
		else if (!strcmp(a, "--per") && !strcmp(v, "hour"))
			per = TREND_PER_HOUR;
		else
			return usage();
		i++;
	}
	size_t n = 0, cap = 1024;
	double *x = xmalloc(cap * sizeof(*x)), *y = xmalloc(cap * sizeof(*y));
	double a, b;
	while (scanf("%lf %lf", &a, &b) == 2) {
		if (n == cap) {
			cap *= 2;
			x = xrealloc(x, cap * sizeof(*x));
			y = xrealloc(y, cap * sizeof(*y));
		}
		x[n] = a;
		y[n] = b;
		n++;
	}
	if (!feof(stdin) || n > TREND_MAX_N) {
		fprintf(stderr, "trend_cli: bad input (pairs of numbers, at most %d)\n",
		        TREND_MAX_N);
		return 1;
	}
	struct trend_result r;
	int rc = trend_test(x, y, (int)n, alpha, corr, &r);
	if (rc < 0) {
		fprintf(stderr, "trend_cli: trend_test: %s\n", strerror(-rc));
		return 1;
	}
	char line[256];
	trend_describe(&r, unit, per, line, sizeof(line));
	printf("n=%d\ns=%lld\nvar_s=%.17g\nvar_factor=%.17g\nz=%.17g\np=%.17g\ntau=%.17g\n"
	       "direction=%d\nslope=%.17g\nslope_lo=%.17g\nslope_hi=%.17g\nintercept=%.17g\n"
	       "describe=%s\n",
	       r.n, r.s, r.var_s, r.var_factor, r.z, r.p, r.tau, r.direction, r.slope, r.slope_lo,
	       r.slope_hi, r.intercept, line);
	free(x);
	free(y);
	return 0;
}
