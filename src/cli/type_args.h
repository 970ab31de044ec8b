/*
 * type_args.h: the flags of a test-type preset and of SLOs, shared by `run` and `plan`:
 * --type, --slo, --slo-preset, --peak, --steps, --ramp, --hold, --ramp-down,
 * --step-duration, --warmup, --observe, --levels (docs/cli.md, "Test types and SLOs").
 */
#ifndef STAMPEDE_TYPE_ARGS_H
#define STAMPEDE_TYPE_ARGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/preset.h"
#include "util/slo.h"

enum {
	OPT_TYPE = 400,
	OPT_SLO,
	OPT_SLO_PRESET,
	OPT_PEAK,
	OPT_STEPS,
	OPT_RAMP,
	OPT_HOLD,
	OPT_RAMP_DOWN,
	OPT_STEP_DURATION,
	OPT_WARMUP,
	OPT_OBSERVE,
	OPT_LEVELS,
};

/* The entries for a struct option table. */
#define TYPE_ARGS_LONG_OPTS                                                                        \
	{ "type", required_argument, NULL, OPT_TYPE },                                             \
	    { "slo", required_argument, NULL, OPT_SLO },                                           \
	    { "slo-preset", required_argument, NULL, OPT_SLO_PRESET },                             \
	    { "peak", required_argument, NULL, OPT_PEAK },                                         \
	    { "steps", required_argument, NULL, OPT_STEPS },                                       \
	    { "ramp", required_argument, NULL, OPT_RAMP },                                         \
	    { "hold", required_argument, NULL, OPT_HOLD },                                         \
	    { "ramp-down", required_argument, NULL, OPT_RAMP_DOWN },                               \
	    { "step-duration", required_argument, NULL, OPT_STEP_DURATION },                       \
	    { "warmup", required_argument, NULL, OPT_WARMUP },                                     \
	    { "levels", required_argument, NULL, OPT_LEVELS },                                     \
	{                                                                                          \
		"observe", required_argument, NULL, OPT_OBSERVE                                    \
	}

/* The --help lines for these flags. */
extern const char type_args_usage[];

struct type_args {
	struct preset_opts preset;
	bool ramp_down_set;
	const char *slo_preset;
	char *slo_specs; /* every --slo, joined by ',' (applied over the preset, in order) */
	/* after type_args_resolve() */
	struct slo_set slo;
	struct preset_plan plan; /* plan.type == TT_NONE without --type */
};

/* The run's level flags, as the command read them. */
struct type_level {
	bool rate_set;
	double rate;
	bool vus_set;
	int64_t vus;
	bool duration_set; /* --duration: the main phase's length for smoke, load, soak and
	                    * breakpoint tests */
	int64_t duration_us;
};

/* Handle flag opt (one of the OPT_* above) with its argument. Returns 1 when handled, 0
 * when opt is not one of them, -EINVAL after printing what is wrong on stderr. */
int type_args_flag(struct type_args *t, int opt, const char *arg);

/* Combine the flags once all are read: the SLO set (preset, then every --slo in order;
 * smoke adds errors==0) and, with --type, the plan. Returns 0 or -EINVAL after printing
 * the reason on stderr. */
int type_args_resolve(struct type_args *t, const struct type_level *lv);

/* The k6 thresholds of the SLOs, "METRIC: EXPR", one per call: i from 0 to slo.n - 1. */
void type_args_threshold(const struct type_args *t, int i, char *buf, size_t len);

/* "testType" and "slo" for the result's options (docs/result-format.md). */
void type_args_options(const struct type_args *t, json_t *options);

/* `stampede plan`'s text: the schedule table, a terminal chart of load over time, the
 * total duration, the question the test answers and its success criteria. */
void type_args_print_plan(const struct type_args *t, FILE *f);

/* A schedule's stages as a table (names[i] per stage, or "stage N" when names is NULL),
 * its total, and a terminal chart of the load over time (iterations/s when open, else
 * VUs). */
void type_args_print_schedule(FILE *f, const struct sched *s, const char (*names)[32], bool open);

/* Whether any of these flags was given (--type, --slo, --slo-preset or a shaping flag). */
bool type_args_any(const struct type_args *t);

void type_args_free(struct type_args *t);

#endif
