/*
 * profile_run.h: `run --profile` (docs/profiling.md): `perf record -g` on the monitored
 * target during the steady part of the run, from a thread of its own, then the SVG flame
 * graph and the top functions for the result's analyses.profile.
 */
#ifndef STAMPEDE_PROFILE_RUN_H
#define STAMPEDE_PROFILE_RUN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/preset.h"
#include "result/result.h"
#include "util/common.h"

/* Rows of analyses.profile.topFunctions. */
#define PROFILE_RUN_TOP 10
/* The most that is recorded, from the start of the steady part: enough for a flame graph,
 * and `perf script` of a busy many-core target stays well within its time limit. */
#define PROFILE_RUN_MAX_US (300 * USEC_PER_SEC)

struct profile_run_opts {
	pid_t pid;       /* the target (its descendants too: perf_record_start) */
	int hz;          /* samples per second, 1..100000 */
	int64_t from_us; /* when recording starts, from the run's start (at least 1 s) */
	int64_t to_us;   /* when it stops; 0: when the run ends */
	const char *svg; /* where the flame graph is written (copied) */
	bool progress;   /* a progress line is on stderr: a warning starts a new line */
};

/*
 * The steady part of a run, from its start, in µs: for a --type preset (plan->type !=
 * TT_NONE), after the warm-up phase (load and soak: the ramp-up; stress: the ramp to step 1;
 * spike: the base) and before the ramp-down (or until the end: spike, breakpoint); for
 * other runs (and smoke tests) from 10% of planned_us (at least 1 s, at most 30 s) to 90% of
 * it. planned_us 0 (a run of iterations: no planned length) is from 1 s to the end. *to_us
 * 0 means the run's end; a window shorter than 1 s becomes "from 1 s to the end".
 */
void profile_run_window(const struct preset_plan *plan, int64_t planned_us, int64_t *from_us,
                        int64_t *to_us);

struct profile_run;

/*
 * Check that perf can work here (perf_available) and start the thread that records the
 * target during o's window, once the run's first interval says when it started
 * (profile_run_tick). Call it with the stop signals blocked (the thread inherits the
 * mask). When perf cannot work, prints one warning line saying why and how to fix it and
 * starts nothing; profile_run_finish() then gives the error. Never NULL.
 */
struct profile_run *profile_run_start(const struct profile_run_opts *o);

/* The run's clock, from each closed interval (the interval hook; cheap, never blocks for
 * long): the first one gives the run's start, the final one stops the recording. */
void profile_run_tick(struct profile_run *p, const struct result_interval *iv);

/*
 * Stop recording (when not yet), fold the stacks, write the flame graph and return
 * analyses.profile (docs/result-format.md): {svg, pid, comm, samples, stacks, hz, fromS,
 * toS, endedBy, topFunctions: [{name, self, total}]} (shares of all samples, 0..1), or
 * {error, pid, hz} with the reason and the fix, after one warning line on stderr. When the
 * SVG cannot be written: *write_failed is set, one warning line says why, and the rest is
 * kept with svg null and svgError the reason. Folding (`perf script`) longer than a second
 * is said on stderr ("stampede: folding N samples of the profile..."); a stop signal
 * (SIGINT, SIGTERM, SIGHUP: blocked, and left pending for the outputs after this one)
 * during it stops perf script and drops the profile: {error: "interrupted", pid, hz} and
 * profile_run_interrupted() true (the run should exit 105). A new reference; later calls
 * return NULL.
 */
json_t *profile_run_finish(struct profile_run *p, bool *write_failed);

/* Whether profile_run_finish() was interrupted by a stop signal (the profile dropped):
 * the run's outputs then count as interrupted (RUN_OUT_INTERRUPTED, exit 105). */
bool profile_run_interrupted(const struct profile_run *p);

/* Stop the thread and perf (when profile_run_finish did not), remove the temporary data and
 * free p. Accepts NULL. */
void profile_run_free(struct profile_run *p);

#endif
