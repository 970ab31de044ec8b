/* run.h: the coordinator: runs a configured test and produces its outputs. */
#ifndef STAMPEDE_RUN_H
#define STAMPEDE_RUN_H

#include <jansson.h>
#include <stdbool.h>

#include "engine/engine.h"
#include "metrics/threshold.h"

struct script;

/* Exit codes, as k6's (but 110, stampede's own). When several apply, the verdict wins:
 * 108 > 107 > 101 > 105 > 99, then 110. */
enum {
	EXIT_OK = 0,
	EXIT_FAILURE_GENERIC = 1,
	EXIT_THRESHOLDS_FAILED = 99,
	EXIT_SETUP_TIMEOUT = 100,    /* setup() ran past setupTimeout (nothing else ran) */
	EXIT_TEARDOWN_TIMEOUT = 101, /* teardown() ran past teardownTimeout */
	EXIT_INVALID_CONFIG = 104,
	EXIT_INTERRUPTED = 105, /* SIGINT, SIGTERM or SIGHUP */
	EXIT_SCRIPT_ERROR = 107,
	EXIT_ABORTED = 108,
	EXIT_OUTPUT_FAILED = 110, /* --summary-export or a handle_summary() file not written */
	EXIT_PROFILE_UNAVAILABLE = 111, /* `profile`: perf missing, not permitted, or failed */
	EXIT_REGRESSION = 112,   /* `compare`, `history gate`: a regression against the baseline */
	EXIT_CHANGE_POINT = 113, /* `history gate`: no regression, but a change point since the
	                          * baseline moved the history's level for the worse */
};

struct result;
struct result_interval;

/* What the run's outputs get (cli/ wires them to output/'s pipeline). Both are called on
 * the coordinator's thread. */
struct run_hooks {
	void *ctx;
	/* each closed second */
	void (*interval)(void *ctx, const struct result_interval *iv);
	/* the run's result, once built (before the process ends, also when workers are
	 * stuck); returns RUN_OUT_* flags */
	int (*finish)(void *ctx, struct result *r);
};
enum {
	RUN_OUT_FAILED = 1,       /* an output was not written (exit 110) */
	RUN_OUT_SCRIPT_ERROR = 2, /* handle_summary() failed (exit 107) */
	RUN_OUT_INTERRUPTED = 4,  /* a signal stopped handle_summary() (exit 105) */
};

struct monitor;

struct run_opts {
	struct threshold *thr; /* borrowed */
	int nthr;
	int64_t abort_delay_us;
	bool progress;       /* a progress line is on stderr (warnings start a new line) */
	const char *version; /* stampede's version, for the result */
	json_t *options;     /* borrowed: what the run was asked to do, for the result */
	const struct run_hooks *hooks;
	struct script *script; /* scripted runs: setup/teardown/handle_summary, errors */
	json_t *trend_stats;   /* summaryTrendStats, or NULL for the default */
	int64_t setup_timeout_us;
	int64_t teardown_timeout_us;
	struct monitor *monitor; /* borrowed: --monitor-*: sampled each second, or NULL */
	/* A distributed run's coordinator (`run --coordinator`, docs/distributed.md): asked
	 * each second, on the coordinator's thread, whether the run is to stop; a reason
	 * aborts it as a failed abort-on-fail threshold does (exit 108). With it, the run
	 * does not judge its abort-on-fail thresholds on its own share (the coordinator
	 * judges them on every instance's data; the end-of-run verdicts are the run's).
	 * NULL: none. */
	const char *(*remote_abort)(void *ctx);
	/* whether the coordinator still judges them (false once it is lost: the run judges
	 * its own again); NULL: as long as remote_abort is set */
	bool (*remote_judging)(void *ctx);
	void *remote_ctx;
};

/* Run the test cfg describes; its per-second snapshots and its result go to o->hooks.
 * Returns the process exit code (EXIT_*). Invalid configuration found here
 * (unknown threshold metric, unwritable export path) returns EXIT_INVALID_CONFIG before
 * any load is sent. SIGINT, SIGTERM and SIGHUP stop the run (a second one at once; in
 * setup() or teardown() the first one) and it still writes its outputs; setup() failing,
 * timing out or interrupted ends the run without them. */
int run_execute(struct engine_cfg *cfg, struct run_opts *o);

#endif
