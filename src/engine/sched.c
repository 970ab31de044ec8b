/* sched.c: piecewise-linear schedules, their integrals, and k6 stage parsing. */
#include "engine/sched.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

int sched_parse_stages(const char *s, struct stage **out, int *n, char *err, size_t errlen)
{
	struct stage *st = NULL;
	int cnt = 0;
	char *copy = xstrdup(s), *rest = copy, *tok;

	while ((tok = strsep(&rest, ",")) != NULL) {
		char *colon = strchr(tok, ':');
		int64_t d, target;
		if (!colon) {
			snprintf(err, errlen,
			         "invalid stage '%s' in '%s': expected DURATION:TARGET", tok, s);
			goto out_err;
		}
		*colon = '\0';
		if (parse_duration(tok, &d) < 0) {
			snprintf(err, errlen, "invalid stage duration '%s'", tok);
			goto out_err;
		}
		if (parse_int64(colon + 1, 0, 100000000, &target) < 0) {
			snprintf(err, errlen, "invalid stage target '%s'", colon + 1);
			goto out_err;
		}
		st = xrealloc(st, sizeof(*st) * (size_t)(cnt + 1));
		st[cnt++] = (struct stage){ d, (double)target };
	}
	if (cnt == 0) {
		snprintf(err, errlen, "invalid stages '%s': expected DURATION:TARGET,...", s);
		goto out_err;
	}
	free(copy);
	*out = st;
	*n = cnt;
	return 0;
out_err:
	free(copy);
	free(st);
	return -EINVAL;
}

void sched_constant(struct sched *s, double value, int64_t duration_us)
{
	struct stage *st = xmalloc(sizeof(*st));
	st->duration_us = duration_us;
	st->target = value;
	sched_ramp(s, value, st, 1);
}

void sched_ramp(struct sched *s, double start, struct stage *stages, int n)
{
	s->start = start;
	s->stages = stages;
	s->nstages = n;
	s->total_us = 0;
	for (int i = 0; i < n; i++)
		s->total_us += stages[i].duration_us;
}

void sched_free(struct sched *s)
{
	free(s->stages);
	memset(s, 0, sizeof(*s));
}

double sched_value_at(const struct sched *s, int64_t t)
{
	double from = s->start;
	for (int i = 0; i < s->nstages; i++) {
		const struct stage *st = &s->stages[i];
		if (t < st->duration_us)
			return from + (st->target - from) * ((double)t / (double)st->duration_us);
		t -= st->duration_us;
		from = st->target;
	}
	return from;
}

double sched_max(const struct sched *s)
{
	double m = s->start;
	for (int i = 0; i < s->nstages; i++)
		m = MAX(m, s->stages[i].target);
	return m;
}

double sched_count_at(const struct sched *s, int64_t t)
{
	double from = s->start, count = 0;
	for (int i = 0; i < s->nstages && t > 0; i++) {
		const struct stage *st = &s->stages[i];
		double d = (double)MIN(t, st->duration_us) / 1e6;
		double slope =
		    st->duration_us ? (st->target - from) / ((double)st->duration_us / 1e6) : 0;
		count += from * d + 0.5 * slope * d * d;
		t -= st->duration_us;
		from = st->target;
	}
	return count;
}

int64_t sched_time_of(const struct sched *s, double n)
{
	double from = s->start, count = 0;
	int64_t base = 0;
	for (int i = 0; i < s->nstages; i++) {
		const struct stage *st = &s->stages[i];
		double D = (double)st->duration_us / 1e6;
		double slope = D > 0 ? (st->target - from) / D : 0;
		double seg = from * D + 0.5 * slope * D * D;
		if (count + seg >= n && seg > 0) {
			double need = n - count, x;
			/* Solve from*x + slope/2*x^2 = need for x in [0, D]. */
			if (fabs(slope) < 1e-12) {
				x = need / from;
			} else {
				double disc = from * from + 2 * slope * need;
				x = (-from + sqrt(MAX(disc, 0))) / slope;
			}
			x = MIN(MAX(x, 0), D);
			return base + (int64_t)llround(x * 1e6);
		}
		count += seg;
		base += st->duration_us;
		from = st->target;
	}
	return -1;
}
