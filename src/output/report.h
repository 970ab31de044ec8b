/* report.h: everything the end-of-test outputs need, and the values they print. */
#ifndef STAMPEDE_REPORT_H
#define STAMPEDE_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "metrics/metrics.h"
#include "metrics/threshold.h"

struct report {
	struct registry *reg;
	struct aggregate *agg;
	double duration_s; /* measured run time */
	bool interrupted;  /* stopped by a signal, or by workers that did not stop */
	int workers_stuck; /* workers given up on at the end (engine/run.c's last resort) */
	bool aborted;      /* stopped by an abort-on-fail threshold */
	const char *abort_reason;
	struct threshold *thr;
	int nthr;
	json_t *options;     /* borrowed: what the run was asked to do */
	json_t *trend_stats; /* borrowed: summaryTrendStats, or NULL */
	bool open_model;
	int threads;
	double cpu_percent;         /* generator worker CPU, % of the workers' capacity */
	int saturated_seconds;      /* seconds in which a worker thread was >= 95% busy */
	int host_saturated_seconds; /* seconds in which the whole host was >= 95% busy */
	long max_rss_kb;
	int64_t interrupted_iterations;
	int64_t backlog_max;
	int64_t start_wall_us;
	json_t *script_errors; /* borrowed: [{message, count}] or NULL */
};

/* Standard values of a metric (optionally filtered by tags): for trends avg/min/med/max/
 * p(90)/p(95)/p(99)/p(99.9) in ms; counters count/rate; rates rate/passes/fails; gauges
 * value/min/max. Returns a new JSON object (type name included), or NULL when the metric
 * has no samples. */
json_t *report_metric_values(const struct report *r, int metric, const struct tag *filter,
                             int nfilter);

/* The entry of a metric that has no samples: its type and "count": 0. New object. */
json_t *report_metric_empty(const struct report *r, int metric);
/* True when a threshold names metric (by itself or through a sub-metric selector). A
 * metric with thresholds is always reported, with or without samples. */
bool report_metric_has_threshold(const struct report *r, const char *metric);

/* Count of failed requests by error kind name, and by failing HTTP status ("status 503"),
 * as a new JSON array of {kind, code, count} sorted by count. */
json_t *report_errors(const struct report *r);

/* Evaluate every threshold against the totals; sets evaluated/ok/last_value. Returns the
 * number that failed. */
int report_eval_thresholds(struct report *r);

/* The checks and groups as k6's root_group: {name, path, groups: [...], checks: [{name,
 * path, passes, fails}]}. New reference. */
json_t *report_root_group(const struct report *r);

/* The whole JSON summary (what --summary-export writes and handle_summary receives). */
json_t *export_build(const struct report *r);

/* Print the k6-style end-of-test summary. */
void summary_print(FILE *f, const struct report *r, bool color);

/* Write the JSON summary export (with a final newline) to path with outfile_write: "-" is
 * stdout, a device or FIFO is written in place, a regular file (following symlinks) is
 * replaced atomically. Returns 0 or a negative errno with "cannot write 'PATH': REASON"
 * in err. */
int export_write(const char *path, const struct report *r, char *err, size_t errlen);

/* Check before the run that export_write(path) can work (outfile_check): not empty, not a
 * directory, its directory there and writable. Returns 0 or a negative errno with a
 * message in err. */
int export_check_path(const char *path, char *err, size_t errlen);

#endif
