/*
 * result.h: the result of a run: one typed, read-only object that every output and every
 * later analysis reads (docs/ARCHITECTURE.md, "Result"; docs/result-format.md).
 *
 * A run's coordinator builds it once at the end (result/build.c, from the metrics
 * registry and aggregate); `result_load()` reads it back from the result file that the
 * run wrote (`--out result=FILE`, format "stampede-result/1", JSON Schema in
 * docs/result.schema.json). Writing a loaded result gives the same document.
 *
 * While the run goes, outputs receive per-second snapshots (struct result_interval)
 * built from the same data, so nothing in output/ ever reads the registry or the engine.
 *
 * Units: time values in the stats are milliseconds (as k6 prints them); the HDR histograms
 * of time trends hold microseconds; a non-time trend's histogram holds value x 1000
 * (RU_MILLI: histograms hold integers); byte counters hold bytes.
 */
#ifndef STAMPEDE_RESULT_H
#define STAMPEDE_RESULT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/hdr.h"
#include "metrics/mtype.h"

#define RESULT_FORMAT "stampede-result/1"

/* What a metric's values are, k6's "contains": time (trend: µs in the histogram, ms in
 * stats), data (bytes), default. RU_MILLI: a non-time trend (histogram holds value x
 * 1000; stats are plain numbers). */
enum result_unit { RU_NONE, RU_TIME, RU_BYTES, RU_MILLI };

struct result_tag {
	const char *key;
	const char *value;
};

/* The values of one series (or of several combined) over some span: the totals, or one
 * interval. Only the fields of `type` are meaningful. */
struct result_values {
	enum metric_type type;
	bool any;                    /* at least one sample */
	double sum;                  /* counter: the sum of the samples */
	int64_t nz, total;           /* rate: non-zero samples, samples */
	double g_last, g_min, g_max; /* gauge: last sample, smallest, largest */
	uint64_t g_seq;              /* gauge: order of g_last among the run's gauge samples */
	struct hdr *h;               /* trend: the samples (see the units above) */
};

/*
 * One per-second point of a time series (the totals of one interval, or of 2^k merged
 * intervals once a series is long: see `step`). t: seconds since the run's start.
 * Trend: count, then v = p50, p90, p95, p99, max (ms for time). Counter: count = sum.
 * Rate: count = samples, v[0] = rate. Gauge: count = samples, v = value, min, max.
 */
struct result_point {
	int32_t t;
	float count;
	float v[5];
};

struct result_timeseries {
	int step; /* seconds per point (1, or a power of two once merged) */
	int npoints;
	struct result_point *points;
};

/* The most points a time series holds, as a run keeps them (metrics/metrics.h's
 * SERIES_POINTS_MAX and METRIC_POINTS_MAX, checked in result/build.h): the step doubles
 * while a series has this many. */
#define RESULT_SERIES_POINTS_MAX 64
#define RESULT_METRIC_POINTS_MAX 1024

/* A metric's exact histograms per window of `step` seconds (every series combined): window
 * i covers seconds [t[i], t[i] + step) of the run, t[i] a multiple of step. At most
 * RESULT_WINDOWS_MAX; kept for http_req_duration only (n = 0 for the others), so that a
 * window's percentiles (a stress test's step, a soak's minutes) are exact. */
#define RESULT_WINDOWS_MAX 256
struct result_windows {
	int step, n;
	const int32_t *t;
	struct hdr **h; /* owned by the result */
};

/* A metric: its name, type, unit, and its per-second series over all tag sets. */
struct result_metric {
	const char *name;
	enum metric_type type;
	enum result_unit unit;
	struct result_timeseries ts; /* the whole metric (all series combined) */
	struct result_windows win;
};

/* A series: one metric with one tag set. */
struct result_series {
	int metric; /* index in result.metrics */
	int ntags;
	const struct result_tag *tags; /* sorted by key */
	bool overflow;                 /* stands for many tag sets past the series cap */
	struct result_values total;
	struct result_timeseries ts;
};

/* A threshold (k6 semantics) and its verdict. */
struct result_threshold {
	const char *source;   /* as given: "p(95)<200" or "METRIC{k:v}: p(95)<200" */
	const char *metric;   /* base metric name */
	const char *selector; /* "metric" or "metric{k:v,...}" */
	int ntags;
	const struct result_tag *tags; /* the selector's tags, in the order given */
	const char *expr;              /* canonical expression "p(95)<200" */
	const char *stat;              /* the aggregation as k6 names it: "p(95)", "rate" ... */
	bool abort_on_fail;
	int64_t delay_abort_ms;
	int window_s; /* judged over the last window_s s for abort-on-fail (0: the run so far) */
	/* it stopped the run: ok is false and value the failing value over its window then,
	 * whatever the whole run's value (which may pass: a breakpoint's early load) */
	bool aborted_run;
	bool ok;
	double value; /* the aggregation's value (ms for time); NAN: no data */
};

/* A check, by group path ("" for the root, "::a::b" nested) and name. */
struct result_check {
	const char *group; /* "" or "::g1::g2" */
	const char *name;
	int64_t passes, fails;
};

/* Failed requests by kind: an error kind (k6 code) or an unexpected status. */
struct result_error {
	const char *kind; /* "request_timeout", "status_503" ... */
	int code;         /* k6 error code, or the HTTP status */
	const char *description;
	int64_t count;
};

struct result_script_error {
	const char *message;
	int64_t count;
};

/* The load generator's own health during the run. */
struct result_generator {
	int threads;
	double cpu_percent;         /* workers' CPU, % of their capacity */
	int saturated_seconds;      /* seconds in which a worker was >= 95% busy */
	int host_saturated_seconds; /* seconds in which the whole host was >= 95% busy */
	long max_rss_kb;
	bool open_model;
	int64_t backlog_max; /* open model: deepest backlog of late starts */
	int workers_stuck;   /* workers given up on at the end */
};

struct result {
	const char *version;      /* stampede's version that made it */
	json_t *options;          /* what the run was asked to do (k6 options); never NULL */
	int64_t start_wall_us;    /* wall clock at the start, µs since the epoch */
	double duration_s;        /* measured run time */
	bool interrupted;         /* stopped by a signal, or workers that did not stop */
	bool aborted;             /* abort() or an abortOnFail threshold */
	const char *abort_reason; /* or NULL */
	int64_t interrupted_iterations;
	bool teardown_failed;  /* teardown() raised an error */
	bool teardown_timeout; /* teardown() ran past teardownTimeout */
	json_t *trend_stats;   /* summaryTrendStats (array of strings) or NULL: default */
	int nmetrics;
	struct result_metric *metrics;
	int nseries;
	struct result_series *series;
	int nthresholds;
	struct result_threshold *thresholds;
	int ngroups;
	const char **groups; /* every group path seen ("::a", "::a::b"), in first-seen order */
	int nchecks;
	struct result_check *checks;
	int nerrors;
	struct result_error *errors; /* by count, largest first */
	int nscript_errors;
	struct result_script_error *script_errors;
	struct result_generator gen;
	json_t *setup_data; /* what setup() returned, or NULL */
	json_t *analyses;   /* room for analyses (test-type verdicts, ...): an object */
	/* how `stampede merge` made it (result_merge: the parts, the alignment, the coverage),
	 * written as the top-level "merge" object; NULL for a plain run */
	json_t *merge;
	struct result_arena *arena; /* private: owns the strings and arrays */
};

/* --- reading a result ------------------------------------------------------------- */

/* The index of the metric called name, or -1. */
int result_find_metric(const struct result *r, const char *name);

/* Combine the totals of every series of metric whose tags include all of filter (nfilter
 * may be 0): counters and rates add up, trends merge their histograms exactly, a gauge
 * takes the latest last value (g_seq) and the extremes. out->h is a new histogram (trend)
 * that the caller releases with result_values_free(). Returns out->any. */
bool result_combine(const struct result *r, int metric, const struct result_tag *filter,
                    int nfilter, struct result_values *out);
void result_values_free(struct result_values *v);

/*
 * A statistic of values by k6's name: trends "avg", "min", "med", "max", "p(N)" (N in
 * 0..100), "count"; counters "count", "rate" (per second over duration_s); rates "rate",
 * "passes", "fails"; gauges "value", "min", "max". Time trends give ms, RU_MILLI trends
 * the plain value. Returns false when the statistic does not apply (or values has no
 * sample and the statistic needs one: a counter's count and a rate's rate are 0 then).
 */
bool result_stat(const struct result_values *v, enum result_unit unit, const char *stat,
                 double duration_s, double *out);

/* v rounded to the 15 significant digits a result file keeps (JSON_REAL_PRECISION(15)):
 * a value stored in the result as it will read back from the file, so what a run shows
 * and what `report` shows from its file are the same. Non-finite values are kept. */
double result_round15(double v);

/* The stats an output shows for a trend: summaryTrendStats, or k6's default ("avg",
 * "min", "med", "max", "p(90)", "p(95)"). *n is set; the strings belong to r. */
const char *const *result_trend_stats(const struct result *r, int *n);

/* k6's "contains" for a unit: "time", "data" or "default". */
const char *result_contains(enum result_unit u);
/* k6's metric type name: "counter", "gauge", "rate", "trend". */
const char *result_type_name(enum metric_type t);

/* The checks and groups as k6's root_group tree: {name, path, groups: [...], checks:
 * [{name, path, passes, fails}]}, in the order they were first seen (no ids). New
 * reference. */
json_t *result_root_group(const struct result *r);

/* Thresholds that failed. */
int result_thresholds_failed(const struct result *r);

/* --- the result file -------------------------------------------------------------- */

/* The result as its JSON document ("format": RESULT_FORMAT). New reference. */
json_t *result_to_json(const struct result *r);

/* A result from its JSON document. Returns NULL with a one-line reason in err ("metrics[3]
 * .series[0].histogram: not a valid HdrHistogram encoding") when doc is not a valid
 * stampede-result/1 document, or holds what no run writes (docs/result-format.md):
 * one tag set (and overflow flag) twice in a metric, a count of http_reqs, iterations or
 * dropped_iterations that is not a whole number from 0 to 2^53 (each series, and a
 * metric's series together), another built-in counter below 0, counts that add up past a
 * double, a point's number past a float. A script's own counter may hold any finite
 * count. doc is not kept. */
struct result *result_from_json(json_t *doc, char *err, size_t errlen);

/* Read a result file (at most 1 GiB). Returns NULL with "PATH: reason" in err. */
struct result *result_load(const char *path, char *err, size_t errlen);

/* Write the result file through util/outfile (atomically for regular files). Returns 0 or
 * a negative errno with "cannot write 'PATH': REASON" in err. */
int result_write(const char *path, const struct result *r, char *err, size_t errlen);

void result_free(struct result *r);

/* --- merging the parts of a distributed run (result/merge.c) ---------------------- */

/*
 * One result from the results of n >= 1 parts (a run split with --execution-segment, or
 * independent runs of one test), as if one process had run them all; names[i] is parts[i]'s
 * file name, for messages and the record. The parts are not changed. docs/result-format.md
 * ("Merged results") and docs/distributed.md say the same for users.
 *
 *  - Clock: the merged run starts at the earliest part's start and ends at the latest
 *    part's end (start + duration). Each part's points are moved by its start's offset from
 *    the merged start, rounded to the nearest multiple of their step (the nearest second for
 *    1-second points); its windows likewise, to the nearest multiple of the window step.
 *    Parts more than 31 days apart are an error.
 *  - Metrics by name (the union, in first-seen order); a metric whose type or unit differs
 *    between two parts is an error naming both files. Series by metric, full tag set and
 *    overflow flag. Totals: counters sum, rates add passes and samples, trends merge
 *    their histograms exactly (so every percentile of the totals is what one histogram of
 *    all the values gives). Gauges `vus` and `vus_max` add up across parts (each instance
 *    runs its own VUs): value = the sum of the last values, min = the sum of the minima,
 *    max = the sum of the maxima (an upper bound: the instances' peaks need not coincide);
 *    every other gauge takes the last value of the part whose run ended last (of those
 *    with the series; the later one given on a tie), the smallest minimum and the largest
 *    maximum. A gauge's seq orders the parts by their end.
 *  - Time series (each metric's and each series'): every part brought to the coarsest
 *    step among them (neighbouring points merged as a run merges them), aligned as above;
 *    the points of one second (or step) combine: counts add; a rate's rate and a
 *    non-additive gauge's value are count-weighted means, vus/vus_max add up (value, min
 *    and max); gauges' min and max are the extremes; a trend's max is the largest, its
 *    p50/p90/p95/p99 the count-weighted mean of the parts' (an approximation; the totals,
 *    the series' histograms and the windows are exact). At most what a run keeps
 *    (RESULT_METRIC_POINTS_MAX, RESULT_SERIES_POINTS_MAX): the step doubles while a series
 *    has that many points.
 *  - Windows (http_req_duration's exact per-window histograms): the coarsest step,
 *    aligned, histograms merged exactly; the step doubles while RESULT_WINDOWS_MAX are
 *    there (as in a run).
 *  - Thresholds: the union by (selector, expression), in first-seen order, evaluated
 *    again on the merged data (result_eval_thresholds), except one that aborted a part
 *    (abortedRun): it stays failed with the value of the first part (in the order given)
 *    that it aborted.
 *  - Checks summed by (group, name); groups the union in first-seen order; errors summed
 *    by kind (largest first); script errors summed by message, at most 100 distinct ones
 *    (the rest counted in the run's "(errors with other messages ...)" entry).
 *  - State: interrupted, aborted, teardownFailed/Timeout if any part's; abortReason the
 *    first part's that has one; interruptedIterations summed. Generator: threads and
 *    workers_stuck summed, cpu_percent the thread-weighted mean, saturated and
 *    host-saturated seconds, max_rss_kb and the backlog the largest, open_model when every
 *    part's was.
 *  - options and summaryTrendStats: the first part's, without options.executionSegment;
 *    setup_data the first that is not null; analyses empty (`stampede merge` computes them).
 *  - Segments: when every part has options.executionSegment ("1/4:1/2", exact fractions),
 *    two that overlap (or one given twice) are an error; segments that leave a gap give
 *    coverage "partial" and a warning on stderr naming what is missing; a full tiling of
 *    0:1 gives "full". When no part has one, coverage is "unknown" (independent runs). A
 *    mix is an error.
 *  - r->merge records it: {parts: [{file, executionSegment, startUnixUs, durationMs,
 *    httpReqs, droppedIterations, interrupted, aborted}], alignment (a sentence),
 *    coverage}.
 *  - Refused besides: a part whose http_reqs disagrees with its http_req_duration or
 *    http_req_failed, a part with no metric at all beside one that counts requests, and a
 *    merged result that would not load back (result_from_json): a value that adds up past
 *    what a double (or a point's float) holds is named by its path.
 *
 * Returns a new result (result_free), or NULL with a one-line reason in err.
 */
struct result *result_merge(struct result *const *parts, const char *const *names, int n, char *err,
                            size_t errlen);

/* The options that say which test a run is, not how or where it ran (threads, io, the
 * segment): parts that differ in one of them are not one test (`stampede merge` refuses
 * them, and so does the coordinator at its barrier). NULL-terminated. */
extern const char *const result_test_keys[];

/* Whether a and b, the values of one of result_test_keys in two runs' options (NULL: not
 * there), say the same test. A run knows its script by the path it was given (sa.lua,
 * ./sa.lua, /srv/sa.lua): "script" compares file names, as the history's test hash does,
 * and "scriptSha256" what the script held, when both runs recorded it (a run from before
 * the hash matches any). The rest compare as JSON values (json_equal). */
bool result_same_test_option(const char *key, const json_t *a, const json_t *b);

/* --- per-second snapshots (outputs' interval calls) ------------------------------- */

/* One series' values in one interval. */
struct result_sample {
	int series; /* the series' id in this run (stable for the whole run) */
	const char *metric;
	enum metric_type type;
	enum result_unit unit;
	int ntags;
	const struct result_tag *tags; /* sorted by key; empty for the untagged series */
	bool overflow;
	struct result_values v; /* the interval's values (v.h borrowed) */
};

/* One interval (one second of the run), as the coordinator closes it. Everything is
 * borrowed and valid only during the call that receives it. */
struct result_interval {
	int32_t t;             /* seconds since the run's start: the interval [t, t+1) */
	int64_t start_wall_us; /* the run's start, wall clock µs since the epoch */
	int vus;               /* the most VUs busy at once in the interval */
	int vus_max;           /* VUs allocated at its end */
	bool final;            /* the run's last interval */
	double length_s;       /* how long the interval lasted: 1, or less for the last one */
	int nmetrics;
	const struct result_sample *metrics; /* per metric (series -1, no tags): all its
	                                        series combined, for metrics with samples */
	int nsamples;
	const struct result_sample *samples; /* per series with samples in the interval */
};

/* The whole metric's values in an interval, or NULL when it had none. */
const struct result_sample *result_interval_metric(const struct result_interval *iv,
                                                   const char *name);

#endif
