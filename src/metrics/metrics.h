/* metrics.h: metric registry, per-worker sinks, and the coordinator's aggregation. */
#ifndef STAMPEDE_METRICS_H
#define STAMPEDE_METRICS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "metrics/hdr.h"
#include "metrics/mtype.h"

/* Built-in metrics, k6's names. Custom metrics get ids from M__BUILTIN on. */
enum metric_id {
	M_HTTP_REQS,
	M_HTTP_REQ_FAILED,
	M_HTTP_REQ_DURATION,
	M_HTTP_REQ_BLOCKED,
	M_HTTP_REQ_CONNECTING,
	M_HTTP_REQ_TLS_HANDSHAKING,
	M_HTTP_REQ_SENDING,
	M_HTTP_REQ_WAITING,
	M_HTTP_REQ_RECEIVING,
	M_HTTP_REQ_DURATION_UNCORRECTED,
	M_ITERATIONS,
	M_ITERATION_DURATION,
	M_DROPPED_ITERATIONS,
	M_DATA_SENT,
	M_DATA_RECEIVED,
	M_VUS,
	M_VUS_MAX,
	M_CHECKS,
	M_GROUP_DURATION,
	M__BUILTIN
};

/* MU_MILLI: non-time trends record value * 1000 (histograms hold integers). */
enum metric_unit { MU_NONE, MU_TIME_US, MU_BYTES, MU_MILLI };

struct metric_def {
	char *name;
	enum metric_type type;
	enum metric_unit unit;
};

#define TAG_MAX 8
struct tag {
	const char *key;
	const char *value;
};

struct series_info {
	int metric;
	int ntags;
	struct tag tags[TAG_MAX]; /* owned copies, sorted by key */
	char *canon;              /* "metric{k:v,...}" */
};

/* The registry of metrics and of series (metric + tag set). Shared by all threads: a
 * worker takes the mutex only when it meets a tag set for the first time. */
struct registry {
	pthread_mutex_t mu;
	struct metric_def *metrics;
	int nmetrics;
	struct series_info *series;
	int nseries;
	int series_cap;
	int *hash; /* open addressing over canon, -1 empty */
	int hash_cap;
	int max_series; /* cardinality cap */
	bool cap_warned;
};

void registry_init(struct registry *r);
void registry_destroy(struct registry *r);
/* Register a metric (or return the id of an existing one with the same name and type).
 * Returns the id, or -EEXIST when the name exists with another type. */
int registry_metric(struct registry *r, const char *name, enum metric_type type,
                    enum metric_unit unit);
int registry_find_metric(struct registry *r, const char *name);
/* The series id for metric + tags (interned; thread-safe). Returns -ENOSPC when the
 * cardinality cap is reached (the caller then records into the untagged series). */
int registry_series(struct registry *r, int metric, const struct tag *tags, int ntags);
/* Number of series registered so far (thread-safe snapshot). */
int registry_nseries(struct registry *r);
/* Copy of a series' info pointer (stable once created). */
const struct series_info *registry_series_info(struct registry *r, int id);

/* One value slot of a sink or an aggregate. */
struct slot {
	bool used;
	enum metric_type type;
	struct hdr *h;               /* trend */
	double sum;                  /* counter sum; trend sum is in h */
	int64_t nz;                  /* rate: non-zero samples */
	int64_t total;               /* rate: samples */
	double g_last, g_min, g_max; /* gauge */
};

/* A worker's samples for one interval. Recording never takes a lock. */
struct sink {
	int64_t interval; /* interval number (second index since the run start) */
	bool final;       /* last sink of the worker */
	int vus;          /* the most VUs the worker had active at once in the interval */
	int vus_max;      /* VUs the worker had allocated at the end of the interval */
	int nslots;
	struct slot *slots;
	struct sink *next;
};

struct sink *sink_new(void);
void sink_free(struct sink *s);
/* Zero every slot (keeps allocations for reuse). */
void sink_reset(struct sink *s);
/* Make sure slot sid exists (grows the array; rare). */
struct slot *sink_slot(struct sink *s, int sid, enum metric_type type);

static inline void sink_add(struct sink *s, int sid, double v)
{
	struct slot *sl = sink_slot(s, sid, MT_COUNTER);
	sl->sum += v;
}

static inline void sink_trend(struct sink *s, int sid, int64_t us)
{
	struct slot *sl = sink_slot(s, sid, MT_TREND);
	hdr_record(sl->h, us);
}

static inline void sink_rate(struct sink *s, int sid, bool nonzero)
{
	struct slot *sl = sink_slot(s, sid, MT_RATE);
	sl->total++;
	sl->nz += nonzero;
}

void sink_gauge(struct sink *s, int sid, double v);

/* Merge slot src into dst (same type). */
void slot_merge(struct slot *dst, const struct slot *src);
void slot_reset(struct slot *s);
void slot_free(struct slot *s);

/* One per-second point of a series. For trends: count and p50/p90/p95/p99/max (in the
 * metric's unit, ms for time). Counters: count = sum. Rates: count = samples, v[0] =
 * rate. Gauges: v[0] = value. */
struct point {
	int32_t t;
	float count;
	float v[5];
};

/* At most this many points per series: when a series fills up, neighbouring points merge
 * and its step doubles, so a 24-hour soak keeps 32-second points in bounded memory. */
#define POINTS_MAX 4096

struct agg_series {
	struct slot total;
	struct slot cur; /* the interval being assembled */
	struct point *points;
	int npoints, cap;
	int step; /* seconds per point (1 until the series first fills up) */
};

/* Per-second points of a whole metric (all its series combined). */
struct metric_points {
	struct point *points;
	int npoints, cap;
	int step;
};

/* The coordinator's view: totals and per-second points per series and per metric. */
struct aggregate {
	struct registry *reg;
	struct agg_series *s;
	int ns;
	struct metric_points *mp; /* indexed by metric id */
	int nmp;
	int64_t intervals; /* finalized intervals */
};

void aggregate_init(struct aggregate *a, struct registry *reg);
void aggregate_destroy(struct aggregate *a);
/* Merge a worker's sink into the interval being assembled. */
void aggregate_add_sink(struct aggregate *a, const struct sink *s);
/* Fold a sink straight into the totals, without per-second points (setup, teardown). */
void aggregate_fold_sink(struct aggregate *a, const struct sink *s);
/* Close interval t: append points for every series used in it and fold them into the
 * totals. */
void aggregate_close_interval(struct aggregate *a, int32_t t);

/* A combined value over every series of a metric that matches a tag filter. */
struct combined {
	enum metric_type type;
	enum metric_unit unit;
	bool any;
	struct hdr *h; /* trend (owned) */
	double sum;
	int64_t nz, total;
	double g_last, g_min, g_max;
};

/* Combine the totals (or, with current, the interval being assembled) of every series of
 * metric whose tags include all of filter. */
void aggregate_combine(struct aggregate *a, int metric, const struct tag *filter, int nfilter,
                       bool current, struct combined *out);
void combined_free(struct combined *c);
/* A value of a combined metric by aggregation (threshold.h's enum thr_agg; pct for
 * THR_PCT). Time values in ms; a counter's rate is per second over duration_s. Returns
 * false for an aggregation that does not apply to the metric's type. */
bool combined_value(const struct combined *c, int agg, double pct, double duration_s, double *out);

#endif
