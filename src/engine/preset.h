/*
 * preset.h: the six test types as schedules (`stampede run --type T`, `stampede plan`).
 *
 * Performance engineers run a smoke, load, stress, spike, soak or breakpoint test, each to
 * answer one question. A preset turns the expected level, given once (an arrival rate in
 * iterations/s for the open model, or a VU count for the closed one), into the stages of a
 * ramping executor (k6's ramping-arrival-rate or ramping-vus), with the practice's default
 * lengths (docs/test-types.md), each overridable:
 *
 *   smoke       the level (1-5 VUs) for 1m; no error allowed
 *   load        ramp 0 -> L over --ramp (2m), hold L for --hold (15m), ramp down (1m)
 *   stress      --steps (5) steps from L up to --peak (5) x L, each reached over --ramp
 *               (1m) and held for --step-duration (5m), then ramp down (1m); or the steps
 *               at --levels M1,M2,... (multiples of L, increasing)
 *   spike       L for --warmup (2m), jump at once to --peak (10) x L for --hold (1m), drop
 *               at once to L and observe for --observe (5m)
 *   soak        ramp 0 -> L over --ramp (5m), hold L for --hold (2h), ramp down (1m)
 *   breakpoint  raise 0 -> --peak (10) x L steadily over --duration (20m); the SLOs become
 *               abort-on-fail thresholds, so the run stops where the first one fails
 */
#ifndef STAMPEDE_PRESET_H
#define STAMPEDE_PRESET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/sched.h"

#define PRESET_STAGES_MAX 64
/* A stress test's explicit levels (--levels): two stages each, and a ramp-down. */
#define PRESET_LEVELS_MAX 30
/* The largest level x peak a preset runs (`run`'s own limits) and the longest phase (the
 * longest plan, 20 steps of 2 phases, stays under a year: no overflow in µs). */
#define PRESET_RATE_MAX     1e7
#define PRESET_VUS_MAX      1e6
#define PRESET_PHASE_MAX_US (7LL * 86400 * 1000000)
#define PRESET_TOTAL_MAX_US (31LL * 86400 * 1000000) /* what a result's verdicts accept */
#define PRESET_RATE_MIN     0.01                     /* one iteration per 100 s */
/* A breakpoint test's SLOs abort the run when they fail over the last this many seconds
 * (not over the run so far, which lags behind a rising load). */
#define PRESET_ABORT_WINDOW_S 10

enum test_type { TT_NONE, TT_SMOKE, TT_LOAD, TT_STRESS, TT_SPIKE, TT_SOAK, TT_BREAKPOINT };

/* What the user gave; 0 (or a negative duration) means "the preset's default". */
struct preset_opts {
	enum test_type type;
	bool open;    /* the level is an arrival rate (iterations/s), else VUs */
	double level; /* the expected level: L */
	int64_t ramp_us, hold_us, ramp_down_us, step_us, warmup_us, observe_us;
	double peak; /* a multiple of L */
	int steps;
	/* stress: the steps at these multiples of L, increasing (instead of --steps and --peak,
	 * which space them evenly); `stampede capacity sweep` gives 1,2,4,... */
	int nlevels;
	double levels[PRESET_LEVELS_MAX];
};

struct preset_plan {
	enum test_type type;
	bool open;
	double level, peak;
	int steps;
	double start; /* the value at t = 0 */
	int nstages;
	struct stage stage[PRESET_STAGES_MAX];
	char phase[PRESET_STAGES_MAX][32]; /* "ramp-up", "hold", "step 2 (2x)", "spike" ... */
	int64_t total_us;
	const char *question;   /* what the test answers */
	const char *criteria;   /* how it is judged */
	bool errors_zero;       /* smoke: no error is allowed (an errors==0 SLO is added) */
	bool abort_on_slo;      /* breakpoint: the SLO thresholds abort the run */
	int64_t abort_delay_us; /* breakpoint: delayAbortEval for those thresholds */
};

/* Parse "smoke", "load", "stress", "spike", "soak", "breakpoint". Returns 0 or -1. */
int test_type_parse(const char *s, enum test_type *out);

/* Whether a test of type t allows no failed request at all (smoke: "does it work?"); its
 * SLOs then carry SLO_NO_ERRORS (util/slo.h). */
bool test_type_forbids_errors(enum test_type t);
const char *test_type_name(enum test_type t);

/* Build the plan of o into *out. Returns 0, or -1 with a one-line reason in err (a level
 * that is not > 0, a peak <= 1 where the type needs one, too many steps, a smoke test
 * above 5 VUs). Durations are µs; rates iterations/s. */
int preset_build(const struct preset_opts *o, struct preset_plan *out, char *err, size_t errlen);

/* The first shaping field set in o that o->type does not use, by its flag name ("ramp",
 * "hold", "ramp-down", "step-duration", "warmup", "observe", "peak", "steps"), or NULL:
 * callers refuse it rather than ignore it. */
const char *preset_unused(const struct preset_opts *o);
/* The shaping fields o->type takes, for the message: "--ramp, --hold, --ramp-down". */
const char *preset_takes(enum test_type t);

/* The plan as the result's options keep it ("testType": type, model, level, peak, steps,
 * start, phases [{name, startS, durationS, target}]; docs/result-format.md). New reference. */
json_t *preset_json(const struct preset_plan *p);

/* Whether j is a plan as preset_json() writes it (a type stampede knows, model, level > 0,
 * 1..PRESET_STAGES_MAX phases one after the other from startTimeS (or 0), each named, of a
 * duration >= 0 and a finite target >= 0, ending within PRESET_TOTAL_MAX_US). Returns 0, or
 * -1 with the first problem in err. */
int preset_json_check(const json_t *j, char *err, size_t errlen);

/* The plan's stages in k6's -s syntax ("2m:100,15m:100,1m:0") into buf (len bytes);
 * returns false when it does not fit. */
bool preset_stages_string(const struct preset_plan *p, char *buf, size_t len);

#endif
