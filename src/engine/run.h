/* run.h: the coordinator: runs a configured test and produces its outputs. */
#ifndef STAMPEDE_RUN_H
#define STAMPEDE_RUN_H

#include <jansson.h>
#include <stdbool.h>

#include "engine/engine.h"
#include "metrics/threshold.h"

struct script;

/* Exit codes, as k6's. */
enum {
	EXIT_OK = 0,
	EXIT_FAILURE_GENERIC = 1,
	EXIT_THRESHOLDS_FAILED = 99,
	EXIT_INVALID_CONFIG = 104,
	EXIT_INTERRUPTED = 105,
	EXIT_SCRIPT_ERROR = 107,
	EXIT_ABORTED = 108,
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
 * any load is sent. */
int run_execute(struct engine_cfg *cfg, struct run_opts *o);

#endif
