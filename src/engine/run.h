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
};

struct run_opts {
	struct threshold *thr; /* borrowed; evaluation fields are written */
	int nthr;
	int64_t abort_delay_us;
	const char *summary_export;
	bool quiet;            /* no live progress */
	bool no_summary;       /* no terminal summary */
	json_t *options;       /* borrowed: echoed into the export */
	struct script *script; /* scripted runs: setup/teardown/handle_summary, errors */
	json_t *trend_stats;   /* summaryTrendStats, or NULL for the default */
	int64_t setup_timeout_us;
	int64_t teardown_timeout_us;
};

/* Run the test cfg describes with o's outputs. Prints progress on stderr and the summary
 * on stdout; returns the process exit code (EXIT_*). Invalid configuration found here
 * (unknown threshold metric, unwritable export path) returns EXIT_INVALID_CONFIG before
 * any load is sent. SIGINT, SIGTERM and SIGHUP stop the run (a second one at once; in
 * setup() or teardown() the first one) and it still writes its outputs; setup() failing,
 * timing out or interrupted ends the run without them. */
int run_execute(struct engine_cfg *cfg, struct run_opts *o);

#endif
