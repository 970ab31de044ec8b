/* threshold.h: k6 threshold expressions ("p(95)<200") and sub-metric selectors. */
#ifndef STAMPEDE_THRESHOLD_H
#define STAMPEDE_THRESHOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/mtype.h"

/* THR_PER_REQUEST (counters): the counter's total divided by http_reqs' total (no requests:
 * no value, which fails), e.g. target_demo_db_queries_total: per_request<3 (--scrape). */
enum thr_agg {
	THR_AVG,
	THR_MIN,
	THR_MAX,
	THR_MED,
	THR_PCT,
	THR_COUNT,
	THR_RATE,
	THR_VALUE,
	THR_PER_REQUEST,
};
enum thr_op { THR_LT, THR_LE, THR_GT, THR_GE, THR_EQ, THR_NE };

struct thr_tag {
	char *key;
	char *value;
};

struct threshold {
	char *source;         /* the text as the user gave it ("METRIC: EXPR" or EXPR) */
	char *metric;         /* base metric name, e.g. "http_req_duration" */
	char *selector;       /* canonical "metric{k:v,...}" or just the metric name */
	struct thr_tag *tags; /* sub-metric filter, in the order given */
	int ntags;
	char *expr; /* canonical expression, e.g. "p(95)<200" */
	enum thr_agg agg;
	double pct; /* for THR_PCT: 0..100 (THR_MED is stored as agg MED) */
	enum thr_op op;
	double target;          /* right-hand side, in the metric's display unit (ms for time) */
	bool abort_on_fail;     /* k6 abortOnFail */
	int64_t delay_abort_us; /* k6 delayAbortEval */
	int window_s; /* > 0: abort-on-fail judges the last window_s seconds, not the run so
	               * far (a breakpoint test's SLOs); 0: k6's whole-run semantics */
	/* evaluation state, owned by the caller */
	bool evaluated;
	bool ok;
	double last_value;
};

/* Parse "METRIC[{k:v,...}]: EXPR" (the CLI form) into *t. On failure returns -EINVAL and
 * writes a one-line human-readable reason (naming the bad part) into err. *t owns its
 * strings afterwards; release with threshold_free(). On failure *t is left zeroed. */
int threshold_parse(const char *spec, struct threshold *t, char *err, size_t errlen);

/* Parse a selector "METRIC[{k:v,...}]" and an expression "AGG OP NUMBER" separately (the
 * scripted form, where the selector is the thresholds table key). Same contract. */
int threshold_parse_parts(const char *selector, const char *expr, struct threshold *t, char *err,
                          size_t errlen);

/* Returns NULL when t's aggregation applies to metrics of type mt, else a message such as
 * "'p(95)' does not apply to a counter metric (use count, rate or per_request)". The message is
 * thread-local and valid until the next call on the same thread. */
const char *threshold_check_type(const struct threshold *t, enum metric_type mt);

/* Compare value against the threshold's target with its operator; NaN (no data) never
 * passes. */
bool threshold_compare(const struct threshold *t, double value);

/* Name of an aggregation as k6 writes it: "avg", "p(95)", "med", ... into buf. */
const char *threshold_agg_name(const struct threshold *t, char *buf, size_t len);

/* Release strings owned by t (not t itself); accepts NULL. */
void threshold_free(struct threshold *t);

#endif
