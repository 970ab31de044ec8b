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
	M_WS_SESSIONS,         /* WebSocket (k6/ws): sessions opened, */
	M_WS_SESSION_DURATION, /* their length, */
	M_WS_CONNECTING,       /* their handshakes, */
	M_WS_MSGS_SENT,        /* messages, */
	M_WS_MSGS_RECEIVED,
	M_WS_PING, /* and ping -> pong round trips */
	M__BUILTIN
};

/* MU_MILLI: non-time trends record value * 1000 (histograms hold integers). */
enum metric_unit { MU_NONE, MU_TIME_US, MU_BYTES, MU_MILLI };

struct metric_def {
	char *name;
	enum metric_type type;
	enum metric_unit unit;
};

#define TAG_MAX                                                                                    \
	16 /* tags per series: the built-in ones (up to 7 on a request), the run's, the scenario's and a sample's own */
struct tag {
	const char *key;
	const char *value;
};

/*
 * Caps: every per-run collection of the registry is bounded, so memory stays flat
 * whatever tags a script or a server's URLs produce.
 *
 * - Metrics: at most METRICS_CUSTOM_MAX custom metrics besides the built-in ones;
 *   registry_metric() answers -ENOSPC past it and the caller reports a script error
 *   naming the metric.
 * - Series (metric + tag set): at most SERIES_MAX tagged series (r->max_series), shared by
 *   all metrics: each distinct tag set of each metric is one series, so one request with
 *   a URL of its own (no fixed `name`) makes about ten (http_reqs, http_req_failed,
 *   http_req_duration and its seven phases). A sample whose tag set is new once the cap
 *   is reached is not dropped: it counts in its metric's *overflow series* for its
 *   bounded tags: the tag set reduced to the keys that cannot explode (scenario, method,
 *   status, expected_response, error_code, group) plus TAG_OVERFLOW = "true"; the URL's
 *   `name`, `check` and user tags are dropped. At most SERIES_OVERFLOW_MAX such series
 *   exist; past that, the metric's one bare overflow series {TAG_OVERFLOW: "true"} takes
 *   the sample. Untagged series (one per metric) are always allowed. So every metric's
 *   totals stay exact (http_reqs equals the server's count; error kinds and
 *   expected_response or status filters keep their counts); only the split by the
 *   exploding tag is lost past the cap. The first overflow prints one warning line on
 *   stderr naming the tag with the most values and the metrics it is on, with advice (a
 *   fixed `name` for URLs with ids). Workers cache tag set -> series, but never a tag set
 *   that landed in an overflow series (engine/worker.c), so their caches stop growing
 *   with the registry.
 * - Thresholds' series: registry_keep_selector() gives the registry each threshold's
 *   sub-metric selector before the run. A selector with a tag key outside the bounded
 *   ones (e.g. http_req_duration{name:fixed}, my_counter{user:u7}) would see nothing in
 *   the overflow series, so past the cap a new tag set that it selects (same metric,
 *   every selector tag with that value) still gets a series of its own, from a reserve of
 *   SERIES_RESERVE_MAX (r->max_reserved) more. The per-request HTTP metrics (http_reqs to
 *   http_req_duration_uncorrected) count as one metric here: a request's series are
 *   created together, decided by its http_reqs series (engine/worker.c). Selectors on
 *   bounded keys only ({status:200}, {expected_response:true}) need no reserve: overflow
 *   series keep those tags. Once the reserve is full too, one more warning names the
 *   selector, and such a tag set counts in an overflow series that also keeps the tags of
 *   the selectors it matches, so the threshold still counts it (the HTTP path of
 *   engine/worker.c takes a request's overflow tag set from its http_reqs series).
 * - Ids: every series id is in [0, SERIES_LIMIT); registry_series() never fails for a
 *   valid metric id, and sink_slot() aborts on an id out of that range (a bug, not a
 *   condition to handle).
 *
 * k6 has no such cap (its memory grows with every tag set). TAG_OVERFLOW is a reserved
 * tag key: a tag set that carries it always maps to an overflow series.
 */
#define METRICS_CUSTOM_MAX  1000
#define METRICS_MAX         (M__BUILTIN + METRICS_CUSTOM_MAX)
#define SERIES_MAX          2000
#define SERIES_RESERVE_MAX  500
#define SERIES_OVERFLOW_MAX 500
#define SERIES_LIMIT        (SERIES_MAX + SERIES_RESERVE_MAX + SERIES_OVERFLOW_MAX + 2 * METRICS_MAX)
#define TAG_OVERFLOW        "__overflow__"
#define METRICS_HASH_CAP    4096 /* a power of two, at least 2 * METRICS_MAX */
_Static_assert(2 * METRICS_MAX <= METRICS_HASH_CAP, "the metric hash is at most half full");

struct series_info {
	int metric;
	int ntags;
	bool overflow;            /* an overflow series (tags TAG_OVERFLOW: "true") */
	struct tag tags[TAG_MAX]; /* owned copies, sorted by key */
	char *canon;              /* "metric{k:v,...}" */
};

struct series_selector; /* a threshold's selector, kept past the cap (metrics.c) */

/* The registry of metrics and of series (metric + tag set). Shared by all threads: a
 * worker takes the mutex only when it meets a tag set for the first time. Both arrays
 * have a fixed capacity (METRICS_MAX, SERIES_LIMIT) and never move, so an entry below
 * nmetrics / nseries can be read without the lock. */
struct registry {
	pthread_mutex_t mu;
	struct metric_def *metrics;  /* METRICS_MAX entries */
	int nmetrics;                /* published with release stores */
	int mhash[METRICS_HASH_CAP]; /* metric ids by name (open addressing), -1 empty */
	struct series_info *series;  /* SERIES_LIMIT entries */
	int nseries;                 /* published with release stores */
	int *hash;                   /* open addressing over canon, -1 empty */
	int hash_cap;
	int max_series;   /* tagged-series cap, at most SERIES_MAX (lower in tests) */
	int max_reserved; /* thresholds' reserve, at most SERIES_RESERVE_MAX (lower in tests) */
	int ntagged;      /* tagged series below the cap */
	int nreserved;    /* series taken from the thresholds' reserve */
	int noverflow;    /* overflow series with bounded tags */
	struct series_selector *sel; /* thresholds' selectors (registry_keep_selector) */
	int nsel;
	bool cap_warned;
	bool reserve_warned;
};

void registry_init(struct registry *r);
void registry_destroy(struct registry *r);
/* Register a metric (or return the id of an existing one with the same name and type).
 * Returns the id; -EEXIST when the name exists with another type; -ENOSPC when
 * METRICS_CUSTOM_MAX custom metrics exist already (the caller reports it, naming the
 * metric). Thread-safe. */
int registry_metric(struct registry *r, const char *name, enum metric_type type,
                    enum metric_unit unit);
/* The id of the metric called name, or -ENOENT. Thread-safe. */
int registry_find_metric(struct registry *r, const char *name);
/* Number of metrics registered so far (thread-safe snapshot). */
int registry_nmetrics(struct registry *r);
/* Keep the series that a threshold's sub-metric selector metric{tags} will read past the
 * series cap (see "Caps": they come from a reserve of their own). Call it for each
 * threshold before the samples are recorded (tag sets met before keep the series they
 * got); a selector whose keys are all bounded ones, or one already given, is ignored.
 * At most TAG_MAX tags are kept (a series has no more). The registry copies the strings.
 * metric must be an id from registry_metric() (else abort). Thread-safe. */
void registry_keep_selector(struct registry *r, int metric, const struct tag *tags, int ntags);
/* The series id for metric + tags (interned; thread-safe; tags with a NULL value are
 * left out, at most TAG_MAX are kept). Never fails: past the series cap it returns a
 * reserved series when a kept selector selects the tag set, else the metric's overflow
 * series (see "Caps" above), so the id is always in [0, SERIES_LIMIT).
 * metric must be an id from registry_metric(); any other value aborts (a bug). */
int registry_series(struct registry *r, int metric, const struct tag *tags, int ntags);
/* True if series id is an overflow series (it stands for many tag sets). */
bool registry_series_overflow(struct registry *r, int id);
/* The overflow tag set of tags (see "Caps"): the tags with a bounded key (scenario,
 * method, status, expected_response, error_code, group), then TAG_OVERFLOW: "true". out has room for TAG_MAX tags and
 * borrows tags' strings. Returns the number of tags in out (1 to TAG_MAX). */
int registry_overflow_tags(const struct tag *tags, int ntags, struct tag *out);
/* Number of series registered so far (thread-safe snapshot). */
int registry_nseries(struct registry *r);
/* A series' info (stable once created); id must be below registry_nseries(). */
const struct series_info *registry_series_info(struct registry *r, int id);

/*
 * Gauges: as in k6, a gauge's value is the last sample recorded on the whole metric (or
 * on the series a sub-metric selects), whatever its tag set or its worker; min and max
 * are over all samples. Each sample takes a number from one process-wide sequence
 * (atomic, so it orders samples from every thread as they happened); a slot keeps its
 * last value with that number (g_seq), and merging slots or combining series keeps the
 * value with the highest one. So the metric's value, its per-second points and its
 * sub-metrics are never a sum of several tag sets' values.
 */

/* One value slot of a sink or an aggregate. */
struct slot {
	bool used;
	enum metric_type type;
	struct hdr *h;               /* trend */
	double sum;                  /* counter sum; trend sum is in h */
	int64_t nz;                  /* rate: non-zero samples */
	int64_t total;               /* rate: samples */
	double g_last, g_min, g_max; /* gauge */
	uint64_t g_seq;              /* gauge: sequence number of g_last (see "Gauges") */
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
/* Make sure slot sid exists (grows the array; rare). sid must be in [0, SERIES_LIMIT):
 * any other value aborts with a message (a negative error code used as an id is a bug). */
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

/* Record gauge value v in slot sid: it becomes the slot's last value, stamped with the
 * next number of the process-wide gauge sequence (see "Gauges"). */
void sink_gauge(struct sink *s, int sid, double v);

/* Merge slot src into dst (same type). A gauge keeps the later of the two last values
 * (the higher g_seq; src's on a tie). */
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

/* At most this many points per series, and per metric (all its series combined): when
 * they fill up, neighbouring points merge and the step doubles, so memory stays flat
 * however long the run (issue #10). Each is one array allocated whole at the first point:
 * SERIES_POINTS_MAX (1.8 kB) per series, a 1-hour run keeping 64-second points per series
 * (10 minutes: 16-second); METRIC_POINTS_MAX (28 kB) per metric, a 1-hour run keeping
 * 4-second points per metric and any run up to 17 minutes every second. The outputs see
 * every second as it closes. */
#define SERIES_POINTS_MAX 64
#define METRIC_POINTS_MAX 1024

struct agg_series {
	struct slot total;
	struct slot cur; /* the interval being assembled */
	struct point *points;
	int npoints, cap;
	int step; /* seconds per point (1 until the series first fills up) */
};

/* Per-second points of a whole metric (all its series combined). */
/* The windows of a metric's histogram: at most WINDOWS_MAX histograms of `step` seconds
 * each (1, doubling while the run goes on: a 20-minute run has 8-second windows, a day
 * 512-second ones), each exact for its window (every series combined). Kept for
 * http_req_duration, so that per-window percentiles (a step of a stress test, a minute of a
 * soak) are exact rather than averages of per-second ones (issue #11). */
#define WINDOWS_MAX 256
struct metric_windows {
	struct hdr **h; /* n histograms (WINDOWS_MAX slots once the first is there) */
	int32_t *t;     /* each window's first second (a multiple of step) */
	int n, step;
};

struct metric_points {
	struct point *points;
	int npoints, cap;
	int step;
	struct slot acc;           /* the interval's series combined (reused) */
	struct metric_windows win; /* http_req_duration only (see above) */
};

/* The coordinator's view: totals and per-second points per series and per metric. */
struct aggregate {
	struct registry *reg;
	struct agg_series *s;     /* indexed by series id */
	int ns;                   /* never more than registry_nseries(reg) */
	struct metric_points *mp; /* indexed by metric id */
	int nmp;
	int64_t intervals; /* finalized intervals */
	/* Called by aggregate_close_interval(t) once the interval is complete and before it
	 * is folded into the totals: a->s[i].cur holds each series' interval and
	 * a->mp[m].acc each metric's (every series combined); both are reset afterwards. */
	void (*on_interval)(void *ctx, const struct aggregate *a, int32_t t);
	void *on_interval_ctx;
};

void aggregate_init(struct aggregate *a, struct registry *reg);
void aggregate_destroy(struct aggregate *a);
/* Merge a worker's sink into the interval being assembled. Every used slot of s must be
 * a series of a->reg (aborts otherwise). */
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
	uint64_t g_seq; /* gauge: g_last is the latest sample of the matching series */
};

/* Combine the totals (or, with current, the interval being assembled) of every series of
 * metric whose tags include all of filter: trends, counters and rates add up; a gauge
 * takes the latest last value of those series, and their min and max. */
void aggregate_combine(struct aggregate *a, int metric, const struct tag *filter, int nfilter,
                       bool current, struct combined *out);
void combined_free(struct combined *c);
/* The same over the run's last window_s elapsed seconds (every series of metric combined),
 * for thresholds judged on the load now rather than on the run so far (a breakpoint test's
 * SLOs): a trend from its windows (metric_windows: http_req_duration only; a window that
 * overlaps the span counts whole), a rate or a counter from the metric's per-second points.
 * Seconds without samples count: when nothing completed in them, out->any is false (a
 * trend's statistic is then NaN: no data fails a threshold). *covered_s: the seconds
 * spanned. Returns false when the metric keeps no such data (the caller falls back to the
 * totals). */
bool aggregate_recent(struct aggregate *a, int metric, int window_s, struct combined *out,
                      double *covered_s);
/* A value of a combined metric by aggregation (threshold.h's enum thr_agg; pct for
 * THR_PCT). Time values in ms; a counter's rate is per second over duration_s. Returns
 * false for an aggregation that does not apply to the metric's type. */
bool combined_value(const struct combined *c, int agg, double pct, double duration_s, double *out);

#endif
