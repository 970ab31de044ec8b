/* sched.h: workload schedules: VU ramps and arrival-rate ramps (k6 stages). */
#ifndef STAMPEDE_SCHED_H
#define STAMPEDE_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stage {
	int64_t duration_us;
	double target;
};

/* A piecewise-linear function of time starting at `start` and moving linearly to each
 * stage's target over its duration. Used for VU counts and for arrival rates (per s). */
struct sched {
	double start;
	struct stage *stages;
	int nstages;
	int64_t total_us;
};

/* Parse k6's `-s` syntax "30s:20,1m:20,30s:0" into stages (malloc'd, *n entries).
 * Returns 0 or -EINVAL with the bad part named in err. */
int sched_parse_stages(const char *s, struct stage **out, int *n, char *err, size_t errlen);

/* A constant value for duration_us. */
void sched_constant(struct sched *s, double value, int64_t duration_us);
/* Take ownership of stages (from sched_parse_stages). */
void sched_ramp(struct sched *s, double start, struct stage *stages, int n);
void sched_free(struct sched *s);

/* Value at time t (µs from the start); the last target after the end. */
double sched_value_at(const struct sched *s, int64_t t_us);
/* Largest value anywhere in the schedule. */
double sched_max(const struct sched *s);
/* Integral of the value over [0, t] with the value read as a rate per second: the number
 * of arrivals expected by time t. */
double sched_count_at(const struct sched *s, int64_t t_us);
/* Inverse of sched_count_at: the earliest time at which the count reaches n; -1 when the
 * schedule ends before that. */
int64_t sched_time_of(const struct sched *s, double n);

/* VUs of a target total that belong to worker w of nw (VU index j goes to j % nw). */
static inline int sched_share(int total, int w, int nw)
{
	return total > w ? (total - w + nw - 1) / nw : 0;
}

#endif
