/* build.h: the coordinator's side of the result: the result of a run and its per-second
 * snapshots, built from the metrics layer (registry + aggregate). Only engine/, cli/ and
 * result/merge.c (which evaluates thresholds again) use this header; outputs see result.h
 * alone. */
#ifndef STAMPEDE_RESULT_BUILD_H
#define STAMPEDE_RESULT_BUILD_H

#include "metrics/metrics.h"
#include "metrics/threshold.h"
#include "result/result.h"

/* A result holds what a run keeps (result_merge() keeps the same caps). */
_Static_assert(RESULT_SERIES_POINTS_MAX == SERIES_POINTS_MAX &&
                   RESULT_METRIC_POINTS_MAX == METRIC_POINTS_MAX &&
                   RESULT_WINDOWS_MAX == WINDOWS_MAX,
               "result.h's caps differ from metrics.h's");

/* What the coordinator knows besides the metrics. Everything is borrowed (copied). */
struct result_run_info {
	const char *version;
	json_t *options;     /* k6 options as given (copied); NULL: {} */
	json_t *trend_stats; /* summaryTrendStats or NULL */
	int64_t start_wall_us;
	double duration_s;
	bool interrupted, aborted;
	const char *abort_reason;
	int64_t interrupted_iterations;
	bool teardown_failed, teardown_timeout;
	const struct threshold *thr; /* parsed thresholds (their verdicts are computed anew) */
	int nthr;
	json_t *script_errors; /* [{message, count}] or NULL */
	json_t *setup_data;    /* or NULL */
	struct result_generator gen;
};

/* The result of a run: every registered metric, every series with samples (their total
 * histograms are moved out of agg, which must not be read for them afterwards), checks,
 * groups, errors by kind, the thresholds evaluated on the result. Never fails. */
struct result *result_build(struct registry *reg, struct aggregate *agg,
                            const struct result_run_info *info);

/* Evaluate every threshold of r on r's totals (result_combine + result_stat, k6's rules: a
 * counter or rate without samples counts 0; anything else without samples fails with
 * value NAN). Sets ok and value; returns how many failed. */
int result_eval_thresholds(struct result *r);

/* Per-second snapshots: the coordinator sets agg->on_interval = result_snapshot_emit and
 * agg->on_interval_ctx to a struct result_snapshots; each closed interval is then handed
 * to emit(ctx, iv). */
struct result_snapshots {
	const struct registry *reg;
	int64_t start_wall_us;
	int vus, vus_max; /* set by the coordinator before closing the interval */
	bool final;       /* ditto */
	double length_s;  /* ditto: the interval's length in seconds (1, less at the end) */
	void (*emit)(void *ctx, const struct result_interval *iv);
	void *ctx;
	/* reused buffers */
	struct result_sample *samples, *metrics;
	int cap_samples, cap_metrics;
};

void result_snapshot_emit(void *ctx, const struct aggregate *a, int32_t t);
void result_snapshots_free(struct result_snapshots *s);

#endif
