/* metrics.c: metric/series registry, lock-free per-worker sinks, coordinator aggregation. */
#include "metrics/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/threshold.h"
#include "util/common.h"

static const struct {
	const char *name;
	enum metric_type type;
	enum metric_unit unit;
} builtin[M__BUILTIN] = {
	[M_HTTP_REQS] = { "http_reqs", MT_COUNTER, MU_NONE },
	[M_HTTP_REQ_FAILED] = { "http_req_failed", MT_RATE, MU_NONE },
	[M_HTTP_REQ_DURATION] = { "http_req_duration", MT_TREND, MU_TIME_US },
	[M_HTTP_REQ_BLOCKED] = { "http_req_blocked", MT_TREND, MU_TIME_US },
	[M_HTTP_REQ_CONNECTING] = { "http_req_connecting", MT_TREND, MU_TIME_US },
	[M_HTTP_REQ_TLS_HANDSHAKING] = { "http_req_tls_handshaking", MT_TREND, MU_TIME_US },
	[M_HTTP_REQ_SENDING] = { "http_req_sending", MT_TREND, MU_TIME_US },
	[M_HTTP_REQ_WAITING] = { "http_req_waiting", MT_TREND, MU_TIME_US },
	[M_HTTP_REQ_RECEIVING] = { "http_req_receiving", MT_TREND, MU_TIME_US },
	[M_HTTP_REQ_DURATION_UNCORRECTED] = { "http_req_duration_uncorrected", MT_TREND,
	                                      MU_TIME_US },
	[M_ITERATIONS] = { "iterations", MT_COUNTER, MU_NONE },
	[M_ITERATION_DURATION] = { "iteration_duration", MT_TREND, MU_TIME_US },
	[M_DROPPED_ITERATIONS] = { "dropped_iterations", MT_COUNTER, MU_NONE },
	[M_DATA_SENT] = { "data_sent", MT_COUNTER, MU_BYTES },
	[M_DATA_RECEIVED] = { "data_received", MT_COUNTER, MU_BYTES },
	[M_VUS] = { "vus", MT_GAUGE, MU_NONE },
	[M_VUS_MAX] = { "vus_max", MT_GAUGE, MU_NONE },
	[M_CHECKS] = { "checks", MT_RATE, MU_NONE },
	[M_GROUP_DURATION] = { "group_duration", MT_TREND, MU_TIME_US },
	[M_WS_SESSIONS] = { "ws_sessions", MT_COUNTER, MU_NONE },
	[M_WS_SESSION_DURATION] = { "ws_session_duration", MT_TREND, MU_TIME_US },
	[M_WS_CONNECTING] = { "ws_connecting", MT_TREND, MU_TIME_US },
	[M_WS_MSGS_SENT] = { "ws_msgs_sent", MT_COUNTER, MU_NONE },
	[M_WS_MSGS_RECEIVED] = { "ws_msgs_received", MT_COUNTER, MU_NONE },
	[M_WS_PING] = { "ws_ping", MT_TREND, MU_TIME_US },
};

/* A threshold's sub-metric selector kept past the series cap (registry_keep_selector). */
struct series_selector {
	int metric;
	int ntags;
	struct tag tags[TAG_MAX]; /* owned copies, in the order given */
	char *canon;              /* "metric{k:v,...}", for the warning */
};

/* The process-wide gauge sequence (see "Gauges" in metrics.h). */
static uint64_t gauge_seq;

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static void die(const char *what, int id)
{
	fprintf(stderr, "stampede: bug: %s %d out of range\n", what, id);
	abort();
}

void registry_init(struct registry *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	r->max_series = SERIES_MAX;
	r->max_reserved = SERIES_RESERVE_MAX;
	/* The hash never grows: at most half full with every series slot taken. */
	r->hash_cap = 1;
	while (r->hash_cap < 2 * SERIES_LIMIT)
		r->hash_cap *= 2;
	r->hash = xmalloc(sizeof(*r->hash) * (size_t)r->hash_cap);
	memset(r->hash, 0xff, sizeof(*r->hash) * (size_t)r->hash_cap);
	memset(r->mhash, 0xff, sizeof(r->mhash));
	/* Neither array ever moves: workers read entries without the lock. */
	r->metrics = xcalloc(METRICS_MAX, sizeof(*r->metrics));
	r->series = xcalloc(SERIES_LIMIT, sizeof(*r->series));
	for (int i = 0; i < M__BUILTIN; i++)
		registry_metric(r, builtin[i].name, builtin[i].type, builtin[i].unit);
}

void registry_destroy(struct registry *r)
{
	for (int i = 0; i < r->nmetrics; i++)
		free(r->metrics[i].name);
	for (int i = 0; i < r->nseries; i++) {
		struct series_info *si = &r->series[i];
		for (int j = 0; j < si->ntags; j++) {
			free((char *)si->tags[j].key);
			free((char *)si->tags[j].value);
		}
		free(si->canon);
	}
	for (int i = 0; i < r->nsel; i++) {
		for (int j = 0; j < r->sel[i].ntags; j++) {
			free((char *)r->sel[i].tags[j].key);
			free((char *)r->sel[i].tags[j].value);
		}
		free(r->sel[i].canon);
	}
	free(r->sel);
	free(r->metrics);
	free(r->series);
	free(r->hash);
	pthread_mutex_destroy(&r->mu);
}

int registry_nmetrics(struct registry *r)
{
	return __atomic_load_n(&r->nmetrics, __ATOMIC_ACQUIRE);
}

/* Metric names are hashed into r->mhash (never more than half full); entries are
 * published with release stores after the metric itself, so look-ups need no lock. */
int registry_find_metric(struct registry *r, const char *name)
{
	size_t mask = ARRAY_SIZE(r->mhash) - 1;
	for (size_t i = fnv1a(name) & mask;; i = (i + 1) & mask) {
		int id = __atomic_load_n(&r->mhash[i], __ATOMIC_ACQUIRE);
		if (id < 0)
			return -ENOENT;
		if (strcmp(r->metrics[id].name, name) == 0)
			return id;
	}
}

static void mhash_insert(struct registry *r, int id)
{
	size_t mask = ARRAY_SIZE(r->mhash) - 1;
	size_t i = fnv1a(r->metrics[id].name) & mask;
	while (r->mhash[i] >= 0)
		i = (i + 1) & mask;
	__atomic_store_n(&r->mhash[i], id, __ATOMIC_RELEASE);
}

int registry_metric(struct registry *r, const char *name, enum metric_type type,
                    enum metric_unit unit)
{
	pthread_mutex_lock(&r->mu);
	int id = registry_find_metric(r, name);
	if (id >= 0) {
		if (r->metrics[id].type != type)
			id = -EEXIST;
	} else if (r->nmetrics >= METRICS_MAX) {
		id = -ENOSPC;
	} else {
		id = r->nmetrics;
		r->metrics[id] = (struct metric_def){ xstrdup(name), type, unit };
		__atomic_store_n(&r->nmetrics, id + 1, __ATOMIC_RELEASE);
		mhash_insert(r, id);
	}
	pthread_mutex_unlock(&r->mu);
	return id;
}

static int tag_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tag *)a)->key, ((const struct tag *)b)->key);
}

static size_t canon_len(const char *metric, const struct tag *tags, int ntags)
{
	size_t len = strlen(metric) + 3;
	for (int i = 0; i < ntags; i++)
		len += strlen(tags[i].key) + strlen(tags[i].value) + 2;
	return len;
}

/* "metric{k:v,...}" into s, which has room for canon_len() bytes. */
static void canon_name(char *s, const char *metric, const struct tag *tags, int ntags)
{
	char *p = s + sprintf(s, "%s", metric);
	if (ntags) {
		*p++ = '{';
		for (int i = 0; i < ntags; i++)
			p += sprintf(p, "%s%s:%s", i ? "," : "", tags[i].key, tags[i].value);
		*p++ = '}';
		*p = '\0';
	}
}

static void hash_insert(struct registry *r, const char *canon, int id)
{
	size_t mask = (size_t)r->hash_cap - 1;
	size_t i = fnv1a(canon) & mask;
	while (r->hash[i] >= 0)
		i = (i + 1) & mask;
	r->hash[i] = id;
}

static int hash_find(struct registry *r, const char *canon)
{
	size_t mask = (size_t)r->hash_cap - 1;
	for (size_t i = fnv1a(canon) & mask; r->hash[i] >= 0; i = (i + 1) & mask)
		if (strcmp(r->series[r->hash[i]].canon, canon) == 0)
			return r->hash[i];
	return -ENOENT;
}

static bool keep_past_cap(const char *key)
{
	static const char *const keep[] = { "scenario",          "method",     "status",
		                            "expected_response", "error_code", "group" };
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		if (strcmp(key, keep[i]) == 0)
			return true;
	return false;
}

int registry_overflow_tags(const struct tag *tags, int ntags, struct tag *out)
{
	int n = 0;
	for (int i = 0; i < ntags && n < TAG_MAX - 1; i++)
		if (tags[i].value && keep_past_cap(tags[i].key))
			out[n++] = tags[i];
	out[n++] = (struct tag){ TAG_OVERFLOW, "true" };
	return n;
}

/* Tags without NULL values (at most TAG_MAX), sorted by key, into out. Returns how many;
 * *overflow tells whether they carry TAG_OVERFLOW. */
static int sorted_tags(const struct tag *tags, int ntags, struct tag *out, bool *overflow)
{
	int n = 0;
	*overflow = false;
	for (int i = 0; i < ntags && n < TAG_MAX; i++) {
		if (!tags[i].value)
			continue;
		out[n++] = tags[i];
		*overflow |= strcmp(tags[i].key, TAG_OVERFLOW) == 0;
	}
	qsort(out, (size_t)n, sizeof(*out), tag_cmp);
	return n;
}

/* Create series metric + tags (sorted) with canonical name canon. Locked; there is room. */
static int series_create(struct registry *r, int metric, const struct tag *tags, int n,
                         const char *canon, bool overflow)
{
	int id = r->nseries;
	if (id >= SERIES_LIMIT)
		die("series count", id);
	struct series_info *si = &r->series[id];
	si->metric = metric;
	si->ntags = n;
	si->overflow = overflow;
	for (int i = 0; i < n; i++) {
		si->tags[i].key = xstrdup(tags[i].key);
		si->tags[i].value = xstrdup(tags[i].value);
	}
	si->canon = xstrdup(canon);
	hash_insert(r, si->canon, id);
	__atomic_store_n(&r->nseries, id + 1, __ATOMIC_RELEASE);
	return id;
}

/* The series for metric + sorted tags, created if new when create says so. Locked.
 * Returns the id, or -ENOSPC when it is new and not created. */
static int series_get(struct registry *r, int metric, const struct tag *tags, int n, bool overflow,
                      bool create)
{
	char stack[512];
	size_t len = canon_len(r->metrics[metric].name, tags, n);
	char *canon = len <= sizeof(stack) ? stack : xmalloc(len);
	canon_name(canon, r->metrics[metric].name, tags, n);
	int id = hash_find(r, canon);
	if (id < 0 && create)
		id = series_create(r, metric, tags, n, canon, overflow);
	else if (id < 0)
		id = -ENOSPC;
	if (canon != stack)
		free(canon);
	return id;
}

/* --- thresholds' selectors: their series bypass the cap ---------------------------- */

/* The per-request HTTP metrics: a request's series are created together, decided by its
 * http_reqs series (engine/worker.c), so a selector on one of them keeps them all. */
static bool request_metric(int m)
{
	return m >= M_HTTP_REQS && m <= M_HTTP_REQ_DURATION_UNCORRECTED;
}

static bool has_tag(const struct tag *tags, int n, const struct tag *t)
{
	for (int i = 0; i < n; i++)
		if (strcmp(tags[i].key, t->key) == 0 && strcmp(tags[i].value, t->value) == 0)
			return true;
	return false;
}

/* True when selector sel selects metric + tags: the same metric (the request metrics
 * count as one) and every tag of sel in tags. */
static bool selects(const struct series_selector *sel, int metric, const struct tag *tags, int n)
{
	if (sel->metric != metric && !(request_metric(sel->metric) && request_metric(metric)))
		return false;
	for (int i = 0; i < sel->ntags; i++)
		if (!has_tag(tags, n, &sel->tags[i]))
			return false;
	return true;
}

/* The first kept selector that selects metric + tags, or NULL. Locked. */
static const struct series_selector *selector_for(struct registry *r, int metric,
                                                  const struct tag *tags, int n)
{
	for (int i = 0; i < r->nsel; i++)
		if (selects(&r->sel[i], metric, tags, n))
			return &r->sel[i];
	return NULL;
}

void registry_keep_selector(struct registry *r, int metric, const struct tag *tags, int ntags)
{
	struct tag t[TAG_MAX];
	int n = 0;
	bool unbounded = false;

	if (metric < 0 || metric >= registry_nmetrics(r))
		die("metric id", metric);
	for (int i = 0; i < ntags && n < TAG_MAX; i++) {
		if (!tags[i].value)
			continue;
		t[n++] = tags[i];
		unbounded |= !keep_past_cap(tags[i].key) && strcmp(tags[i].key, TAG_OVERFLOW) != 0;
	}
	if (!unbounded) /* overflow series keep bounded tags: nothing to reserve */
		return;
	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < r->nsel; i++) {
		const struct series_selector *o = &r->sel[i];
		bool same = o->metric == metric && o->ntags == n;
		for (int j = 0; same && j < n; j++)
			same = has_tag(o->tags, o->ntags, &t[j]);
		if (same)
			goto out_unlock;
	}
	r->sel = xrealloc(r->sel, sizeof(*r->sel) * (size_t)(r->nsel + 1));
	struct series_selector *sel = &r->sel[r->nsel++];
	sel->metric = metric;
	sel->ntags = n;
	for (int i = 0; i < n; i++)
		sel->tags[i] = (struct tag){ xstrdup(t[i].key), xstrdup(t[i].value) };
	sel->canon = xmalloc(canon_len(r->metrics[metric].name, t, n));
	canon_name(sel->canon, r->metrics[metric].name, t, n);
out_unlock:
	pthread_mutex_unlock(&r->mu);
}

/* --- past the cap ------------------------------------------------------------------- */

static void warn_cap(struct registry *r);
static void warn_reserve(struct registry *r, const struct series_selector *sel);

/* The overflow series of sorted tags (n of them): their bounded tags and the tags of the
 * kept selectors that select them, else (SERIES_OVERFLOW_MAX reached) the bare one.
 * Locked. */
static int overflow_series(struct registry *r, int metric, const struct tag *sorted, int n)
{
	struct tag over[TAG_MAX], kept[TAG_MAX];
	bool overflow;
	int no = registry_overflow_tags(sorted, n, over);
	for (int i = 0; i < r->nsel; i++) {
		const struct series_selector *sel = &r->sel[i];
		if (!selects(sel, metric, sorted, n))
			continue;
		for (int j = 0; j < sel->ntags && no < TAG_MAX; j++)
			if (!has_tag(over, no, &sel->tags[j]))
				over[no++] = sel->tags[j];
	}
	no = sorted_tags(over, no, kept, &overflow);
	int before = r->nseries;
	int id = series_get(r, metric, kept, no, true, r->noverflow < SERIES_OVERFLOW_MAX);
	if (id >= 0 && r->nseries > before)
		r->noverflow++;
	if (id < 0) /* one per metric: SERIES_LIMIT has room for it */
		id = series_get(r, metric, &(struct tag){ TAG_OVERFLOW, "true" }, 1, true, true);
	return id;
}

/* The series of a tag set that is new past the cap (sorted, n > 0): a reserved series
 * when a kept selector selects it and the reserve has room, else its overflow series.
 * Locked. */
static int series_past_cap(struct registry *r, int metric, const struct tag *sorted, int n,
                           bool overflow)
{
	const struct series_selector *sel = overflow ? NULL : selector_for(r, metric, sorted, n);
	if (sel && r->nreserved < MIN(r->max_reserved, SERIES_RESERVE_MAX)) {
		r->nreserved++;
		return series_get(r, metric, sorted, n, false, true);
	}
	if (!r->cap_warned && !overflow) {
		warn_cap(r);
		r->cap_warned = true;
	}
	if (sel && !r->reserve_warned) {
		warn_reserve(r, sel);
		r->reserve_warned = true;
	}
	return overflow_series(r, metric, sorted, n);
}

int registry_series(struct registry *r, int metric, const struct tag *tags, int ntags)
{
	struct tag sorted[TAG_MAX];
	bool overflow;

	if (metric < 0 || metric >= registry_nmetrics(r))
		die("metric id", metric);
	int n = sorted_tags(tags, ntags, sorted, &overflow);
	pthread_mutex_lock(&r->mu);
	bool room = n == 0 || (!overflow && r->ntagged < MIN(r->max_series, SERIES_MAX));
	int before = r->nseries;
	int id = series_get(r, metric, sorted, n, overflow, room);
	if (n > 0 && r->nseries > before)
		r->ntagged++;
	if (id < 0)
		id = series_past_cap(r, metric, sorted, n, overflow);
	pthread_mutex_unlock(&r->mu);
	return id;
}

bool registry_series_overflow(struct registry *r, int id)
{
	if (id < 0 || id >= registry_nseries(r))
		die("series id", id);
	return r->series[id].overflow;
}

int registry_nseries(struct registry *r)
{
	return __atomic_load_n(&r->nseries, __ATOMIC_ACQUIRE);
}

const struct series_info *registry_series_info(struct registry *r, int id)
{
	if (id < 0 || id >= registry_nseries(r))
		die("series id", id);
	return &r->series[id];
}

/* --- the cap's warnings: which tag exploded ---------------------------------------- */

struct kv {
	const char *key, *value;
	int metric;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : strcmp(x->value, y->value);
}

/* The tag key with the most distinct values over every series (one of them in *example,
 * their number in *nvalues), or NULL when no series has tags; *metric: the metric with
 * the most series carrying that key. Locked. */
static const char *worst_tag(struct registry *r, int *metric, const char **example, int *nvalues)
{
	struct kv *kv = xmalloc(sizeof(*kv) * ((size_t)r->nseries * TAG_MAX + 1));
	size_t n = 0;
	for (int i = 0; i < r->nseries; i++)
		for (int j = 0; j < r->series[i].ntags; j++)
			kv[n++] = (struct kv){ r->series[i].tags[j].key, r->series[i].tags[j].value,
				               r->series[i].metric };
	qsort(kv, n, sizeof(*kv), kv_cmp);
	const char *key = NULL;
	int run = 0; /* distinct values of kv[i].key so far */
	*nvalues = 0;
	for (size_t i = 0; i < n; i++) {
		bool same_key = i > 0 && strcmp(kv[i].key, kv[i - 1].key) == 0;
		if (!same_key)
			run = 0;
		if (!same_key || strcmp(kv[i].value, kv[i - 1].value) != 0)
			run++;
		if (run > *nvalues) {
			*nvalues = run;
			key = kv[i].key;
			*example = kv[i].value;
		}
	}
	int *count = xcalloc(METRICS_MAX, sizeof(*count));
	*metric = 0;
	for (size_t i = 0; key && i < n; i++)
		if (strcmp(kv[i].key, key) == 0 && ++count[kv[i].metric] > count[*metric])
			*metric = kv[i].metric;
	free(count);
	free(kv);
	return key;
}

/* One line (written at once): what the cap counts, the culprit and what to do. Locked. */
static void warn_cap(struct registry *r)
{
	const char *example = NULL;
	char what[512] = "", where[160];
	int m, nvalues = 0;
	const char *key = worst_tag(r, &m, &example, &nvalues);
	if (key) {
		if (request_metric(m))
			snprintf(where, sizeof(where), "http_* metrics");
		else
			snprintf(where, sizeof(where), "metric '%.100s'", r->metrics[m].name);
		snprintf(what, sizeof(what),
		         "; most come from tag '%.64s' of %s (%d distinct values so far, e.g. "
		         "'%.80s')",
		         key, where, nvalues, example);
	}
	fprintf(stderr,
	        "stampede: warning: the %d-series cap was reached (all metrics together: each "
	        "distinct tag set of each metric is one series)%s. New tag sets now count only "
	        "in each metric's %s series (keeping the tags scenario, method, status, "
	        "expected_response, error_code and group): totals and the series that "
	        "thresholds select stay exact, the split by other tags is lost. %s\n",
	        MIN(r->max_series, SERIES_MAX), what, TAG_OVERFLOW,
	        key && strcmp(key, "name") == 0
	            ? "Give requests whose URLs vary a fixed name: "
	              "http.get(url, { tags = { name = \"...\" } })."
	            : "Avoid tag values that vary without bound (ids, timestamps).");
}

/* One line, when the thresholds' reserve is full too, naming the selector. Locked. */
static void warn_reserve(struct registry *r, const struct series_selector *sel)
{
	fprintf(stderr,
	        "stampede: warning: the %d extra series kept for thresholds past the series cap "
	        "are all taken; new tag sets that threshold '%.200s' selects now count in "
	        "%s series, where it may miss them. Keep the values of the other tags of "
	        "those samples bounded (no ids or timestamps).\n",
	        MIN(r->max_reserved, SERIES_RESERVE_MAX), sel->canon, TAG_OVERFLOW);
}

/* --- slots and sinks ------------------------------------------------------------- */

void slot_reset(struct slot *s)
{
	s->used = false;
	if (s->h)
		hdr_reset(s->h);
	s->sum = 0;
	s->nz = s->total = 0;
	s->g_last = s->g_min = s->g_max = 0;
	s->g_seq = 0;
}

void slot_free(struct slot *s)
{
	hdr_free(s->h);
	s->h = NULL;
}

void slot_merge(struct slot *dst, const struct slot *src)
{
	if (!src->used)
		return;
	if (!dst->used) {
		dst->type = src->type;
		if (src->type == MT_GAUGE) {
			dst->g_last = src->g_last;
			dst->g_seq = src->g_seq;
			dst->g_min = src->g_min;
			dst->g_max = src->g_max;
		}
	}
	switch (src->type) {
	case MT_TREND:
		if (!dst->h)
			dst->h = hdr_new_default();
		hdr_merge(dst->h, src->h);
		break;
	case MT_COUNTER:
		dst->sum += src->sum;
		break;
	case MT_RATE:
		dst->nz += src->nz;
		dst->total += src->total;
		break;
	case MT_GAUGE:
		if (src->g_seq >= dst->g_seq) { /* the later sample, from whichever sink */
			dst->g_last = src->g_last;
			dst->g_seq = src->g_seq;
		}
		dst->g_min = MIN(dst->g_min, src->g_min);
		dst->g_max = MAX(dst->g_max, src->g_max);
		break;
	}
	dst->used = true;
}

struct sink *sink_new(void)
{
	return xcalloc(1, sizeof(struct sink));
}

void sink_free(struct sink *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nslots; i++)
		slot_free(&s->slots[i]);
	free(s->slots);
	free(s);
}

void sink_reset(struct sink *s)
{
	for (int i = 0; i < s->nslots; i++)
		if (s->slots[i].used)
			slot_reset(&s->slots[i]);
	s->final = false;
	s->next = NULL;
}

struct slot *sink_slot(struct sink *s, int sid, enum metric_type type)
{
	if (__builtin_expect((unsigned)sid >= (unsigned)s->nslots, 0)) {
		if (sid < 0 || sid >= SERIES_LIMIT)
			die("series id", sid);
		int n = MIN(MAX(MAX(sid + 1, s->nslots * 2), 32), SERIES_LIMIT);
		s->slots = xrealloc(s->slots, sizeof(*s->slots) * (size_t)n);
		memset(s->slots + s->nslots, 0, sizeof(*s->slots) * (size_t)(n - s->nslots));
		s->nslots = n;
	}
	struct slot *sl = &s->slots[sid];
	if (__builtin_expect(!sl->used, 0)) {
		sl->used = true;
		sl->type = type;
		if (type == MT_TREND && !sl->h)
			sl->h = hdr_new_default();
	}
	return sl;
}

void sink_gauge(struct sink *s, int sid, double v)
{
	bool first = sid < 0 || sid >= s->nslots || !s->slots[sid].used;
	struct slot *sl = sink_slot(s, sid, MT_GAUGE);
	sl->g_last = v;
	sl->g_seq = __atomic_add_fetch(&gauge_seq, 1, __ATOMIC_RELAXED);
	if (first) {
		sl->g_min = sl->g_max = v;
	} else {
		sl->g_min = MIN(sl->g_min, v);
		sl->g_max = MAX(sl->g_max, v);
	}
}

/* --- aggregation ------------------------------------------------------------------ */

void aggregate_init(struct aggregate *a, struct registry *reg)
{
	memset(a, 0, sizeof(*a));
	a->reg = reg;
}

void aggregate_destroy(struct aggregate *a)
{
	for (int i = 0; i < a->ns; i++) {
		slot_free(&a->s[i].total);
		slot_free(&a->s[i].cur);
		free(a->s[i].points);
	}
	for (int i = 0; i < a->nmp; i++) {
		free(a->mp[i].points);
		slot_free(&a->mp[i].acc);
		for (int k = 0; k < a->mp[i].win.n; k++)
			hdr_free(a->mp[i].win.h[k]);
		free(a->mp[i].win.h);
		free(a->mp[i].win.t);
	}
	free(a->mp);
	free(a->s);
	memset(a, 0, sizeof(*a));
}

/* Room for the series of s's used slots; returns how many slots of s to merge. A sink's
 * array may be longer than the registry (it grows by doubling), but a used slot is
 * always a registered series: the aggregate never indexes past the registry. */
static int ensure_series(struct aggregate *a, const struct sink *s)
{
	int n = s->nslots;
	while (n > 0 && !s->slots[n - 1].used)
		n--;
	if (n > registry_nseries(a->reg))
		die("series id", n - 1);
	if (n > a->ns) {
		a->s = xrealloc(a->s, sizeof(*a->s) * (size_t)n);
		memset(a->s + a->ns, 0, sizeof(*a->s) * (size_t)(n - a->ns));
		a->ns = n;
	}
	return n;
}

void aggregate_add_sink(struct aggregate *a, const struct sink *s)
{
	int n = ensure_series(a, s);
	for (int i = 0; i < n; i++)
		slot_merge(&a->s[i].cur, &s->slots[i]);
}

static double unit_scale(const struct registry *r, int metric)
{
	enum metric_unit u = r->metrics[metric].unit;
	return u == MU_TIME_US || u == MU_MILLI ? 1e-3 : 1.0;
}

void aggregate_fold_sink(struct aggregate *a, const struct sink *s)
{
	int n = ensure_series(a, s);
	for (int i = 0; i < n; i++)
		slot_merge(&a->s[i].total, &s->slots[i]);
}

/* Fold point b into a (b follows a). Trend percentiles and rates are weighted by count
 * (an approximation; the run's totals stay exact), maxima stay exact. */
static void merge_point(struct point *a, const struct point *b, enum metric_type type)
{
	float ca = a->count, cb = b->count, c = ca + cb;
	switch (type) {
	case MT_TREND:
		for (int i = 0; i < 4; i++)
			a->v[i] = c > 0 ? (a->v[i] * ca + b->v[i] * cb) / c : 0;
		a->v[4] = MAX(a->v[4], b->v[4]);
		a->count = c;
		break;
	case MT_COUNTER:
		a->count = c;
		break;
	case MT_RATE:
		a->v[0] = c > 0 ? (a->v[0] * ca + b->v[0] * cb) / c : 0;
		a->count = c;
		break;
	case MT_GAUGE:
		a->v[0] = b->v[0];
		a->v[1] = MIN(a->v[1], b->v[1]);
		a->v[2] = MAX(a->v[2], b->v[2]);
		break;
	}
}

/* Append p (one second) to a series of points `*step` seconds each, merging it into the
 * last point when it falls in the same step, and halving the resolution when `max` are
 * there. The array is allocated whole (max points) with the first one: a long run's memory
 * is flat from its first second on, not growing for the 17 minutes a metric's 1,024
 * points take to fill (issue #10). */
static void push_point(struct point **pts, int *n, int *cap, int *step, struct point p,
                       enum metric_type type, int max)
{
	if (*step < 1)
		*step = 1;
	p.t -= p.t % *step;
	if (*n > 0 && (*pts)[*n - 1].t == p.t) {
		merge_point(&(*pts)[*n - 1], &p, type);
		return;
	}
	if (*n == *cap) { /* the first point: the whole array, touched, so RSS does not creep */
		*cap = max;
		*pts = xrealloc(*pts, sizeof(**pts) * (size_t)*cap);
		memset(*pts + *n, 0, sizeof(**pts) * (size_t)(*cap - *n));
	}
	(*pts)[(*n)++] = p;
	/* Full: double the step until the points merge into fewer (a sparse series, one point
	 * every other second, needs more than one doubling to shrink). */
	while (*n >= max) {
		*step *= 2;
		int m = 0;
		for (int i = 0; i < *n; i++) {
			struct point q = (*pts)[i];
			q.t -= q.t % *step;
			if (m > 0 && (*pts)[m - 1].t == q.t)
				merge_point(&(*pts)[m - 1], &q, type);
			else
				(*pts)[m++] = q;
		}
		*n = m;
	}
}

static struct point slot_point(const struct slot *c, double k, int32_t t)
{
	struct point p = { .t = t };

	switch (c->type) {
	case MT_TREND:
		p.count = (float)c->h->total_count;
		p.v[0] = (float)(hdr_value_at_percentile(c->h, 50) * k);
		p.v[1] = (float)(hdr_value_at_percentile(c->h, 90) * k);
		p.v[2] = (float)(hdr_value_at_percentile(c->h, 95) * k);
		p.v[3] = (float)(hdr_value_at_percentile(c->h, 99) * k);
		p.v[4] = (float)(hdr_max(c->h) * k);
		break;
	case MT_COUNTER:
		p.count = (float)c->sum;
		break;
	case MT_RATE:
		p.count = (float)c->total;
		p.v[0] = c->total ? (float)((double)c->nz / (double)c->total) : 0;
		break;
	case MT_GAUGE:
		p.count = 1;
		p.v[0] = (float)c->g_last;
		p.v[1] = (float)c->g_min;
		p.v[2] = (float)c->g_max;
		break;
	}
	return p;
}

static void make_point(struct aggregate *a, int sid, int32_t t)
{
	struct agg_series *as = &a->s[sid];
	double k = unit_scale(a->reg, a->reg->series[sid].metric);
	push_point(&as->points, &as->npoints, &as->cap, &as->step, slot_point(&as->cur, k, t),
	           as->cur.type, SERIES_POINTS_MAX);
}

/* Add second t's histogram h to w (metric_windows in metrics.h): merged into the last
 * window when t falls in it, else a new window; when WINDOWS_MAX are there, the step
 * doubles and neighbours merge (exactly: histograms add). */
static void window_add(struct metric_windows *w, const struct hdr *h, int32_t t)
{
	if (w->step < 1)
		w->step = 1;
	int32_t wt = t - t % w->step;
	if (w->n > 0 && w->t[w->n - 1] == wt) {
		hdr_merge(w->h[w->n - 1], h);
		return;
	}
	if (!w->h) {
		w->h = xcalloc(WINDOWS_MAX, sizeof(*w->h));
		w->t = xcalloc(WINDOWS_MAX, sizeof(*w->t));
	}
	struct hdr *nh = hdr_new_default();
	hdr_merge(nh, h);
	w->h[w->n] = nh;
	w->t[w->n++] = wt;
	while (w->n >= WINDOWS_MAX) {
		w->step *= 2;
		int m = 0;
		for (int i = 0; i < w->n; i++) {
			int32_t q = w->t[i] - w->t[i] % w->step;
			if (m > 0 && w->t[m - 1] == q) {
				hdr_merge(w->h[m - 1], w->h[i]);
				hdr_free(w->h[i]);
			} else {
				w->h[m] = w->h[i];
				w->t[m++] = q;
			}
		}
		for (int i = m; i < w->n; i++)
			w->h[i] = NULL;
		w->n = m;
	}
}

/* Combine the interval's slots of every series of each metric into one point: one pass
 * over the series (a->ns never exceeds the registry's series, whose metric ids are below
 * the registry's metric count). */
static void metric_points(struct aggregate *a, int32_t t)
{
	int nm = registry_nmetrics(a->reg);
	if (a->nmp < nm) {
		a->mp = xrealloc(a->mp, sizeof(*a->mp) * (size_t)nm);
		memset(a->mp + a->nmp, 0, sizeof(*a->mp) * (size_t)(nm - a->nmp));
		a->nmp = nm;
	}
	for (int i = 0; i < a->ns; i++)
		if (a->s[i].cur.used)
			slot_merge(&a->mp[a->reg->series[i].metric].acc, &a->s[i].cur);
	if (a->on_interval) /* the interval complete: every series' cur and metric's acc */
		a->on_interval(a->on_interval_ctx, a, t);
	for (int m = 0; m < nm; m++) {
		struct metric_points *mp = &a->mp[m];
		if (!mp->acc.used)
			continue;
		push_point(&mp->points, &mp->npoints, &mp->cap, &mp->step,
		           slot_point(&mp->acc, unit_scale(a->reg, m), t), mp->acc.type,
		           METRIC_POINTS_MAX);
		if (m == M_HTTP_REQ_DURATION && mp->acc.type == MT_TREND && mp->acc.h)
			window_add(&mp->win, mp->acc.h, t);
		slot_reset(&mp->acc);
	}
}

void aggregate_close_interval(struct aggregate *a, int32_t t)
{
	metric_points(a, t);
	for (int i = 0; i < a->ns; i++) {
		struct agg_series *as = &a->s[i];
		if (!as->cur.used)
			continue;
		make_point(a, i, t);
		slot_merge(&as->total, &as->cur);
		slot_reset(&as->cur);
	}
	a->intervals = t + 1;
}

bool aggregate_recent(struct aggregate *a, int metric, int window_s, struct combined *out,
                      double *covered_s)
{
	memset(out, 0, sizeof(*out));
	*covered_s = 0;
	if (metric < 0 || metric >= a->nmp || window_s < 1)
		return false;
	const struct metric_points *mp = &a->mp[metric];
	out->type = a->reg->metrics[metric].type;
	out->unit = a->reg->metrics[metric].unit;
	/* the last window_s seconds of the run, counted in elapsed seconds: a second without a
	 * response is part of it too (a target that stops answering has no recent samples,
	 * not old good ones) */
	int64_t end = a->intervals, from = MAX(0, end - window_s);
	*covered_s = (double)(end - from);
	if (out->type == MT_TREND) {
		const struct metric_windows *w = &mp->win;
		if (!w->h && metric != M_HTTP_REQ_DURATION)
			return false;
		out->h = hdr_new_default();
		for (int i = w->n - 1; i >= 0 && (int64_t)w->t[i] + w->step > from; i--)
			hdr_merge(out->h, w->h[i]);
		out->any = out->h->total_count > 0;
		return true;
	}
	if (out->type != MT_RATE && out->type != MT_COUNTER)
		return false;
	for (int i = mp->npoints - 1; i >= 0 && (int64_t)mp->points[i].t + mp->step > from; i--) {
		const struct point *pt = &mp->points[i];
		if (out->type == MT_RATE) {
			out->total += (int64_t)pt->count;
			out->nz += (int64_t)llround(pt->count * pt->v[0]);
		} else {
			out->sum += pt->count;
		}
	}
	out->any = out->total > 0 || out->sum > 0;
	return true;
}

static bool tags_match(const struct series_info *si, const struct tag *filter, int nfilter)
{
	for (int i = 0; i < nfilter; i++) {
		bool found = false;
		for (int j = 0; j < si->ntags; j++) {
			if (strcmp(si->tags[j].key, filter[i].key) == 0 &&
			    strcmp(si->tags[j].value, filter[i].value) == 0) {
				found = true;
				break;
			}
		}
		if (!found)
			return false;
	}
	return true;
}

void aggregate_combine(struct aggregate *a, int metric, const struct tag *filter, int nfilter,
                       bool current, struct combined *out)
{
	memset(out, 0, sizeof(*out));
	out->type = a->reg->metrics[metric].type;
	out->unit = a->reg->metrics[metric].unit;
	if (out->type == MT_TREND)
		out->h = hdr_new_default();
	for (int i = 0; i < a->ns; i++) {
		const struct series_info *si = &a->reg->series[i];
		const struct slot *t = current ? &a->s[i].cur : &a->s[i].total;
		if (si->metric != metric || !t->used || !tags_match(si, filter, nfilter))
			continue;
		switch (out->type) {
		case MT_TREND:
			hdr_merge(out->h, t->h);
			break;
		case MT_COUNTER:
			out->sum += t->sum;
			break;
		case MT_RATE:
			out->nz += t->nz;
			out->total += t->total;
			break;
		case MT_GAUGE: /* the latest sample of the matching series */
			if (!out->any || t->g_seq >= out->g_seq) {
				out->g_last = t->g_last;
				out->g_seq = t->g_seq;
			}
			out->g_min = out->any ? MIN(out->g_min, t->g_min) : t->g_min;
			out->g_max = out->any ? MAX(out->g_max, t->g_max) : t->g_max;
			break;
		}
		out->any = true;
	}
}

void combined_free(struct combined *c)
{
	hdr_free(c->h);
	c->h = NULL;
}

bool combined_value(const struct combined *c, int agg, double pct, double duration_s, double *out)
{
	double k = c->unit == MU_TIME_US || c->unit == MU_MILLI ? 1e-3 : 1.0;
	switch (c->type) {
	case MT_TREND:
		switch (agg) {
		case THR_AVG:
			*out = hdr_mean(c->h) * k;
			return true;
		case THR_MIN:
			*out = (double)hdr_min(c->h) * k;
			return true;
		case THR_MAX:
			*out = (double)hdr_max(c->h) * k;
			return true;
		case THR_MED:
			*out = (double)hdr_value_at_percentile(c->h, 50) * k;
			return true;
		case THR_PCT:
			*out = (double)hdr_value_at_percentile(c->h, pct) * k;
			return true;
		case THR_COUNT:
			*out = (double)c->h->total_count;
			return true;
		}
		return false;
	case MT_COUNTER:
		if (agg == THR_COUNT) {
			*out = c->sum;
			return true;
		}
		if (agg == THR_RATE) {
			*out = duration_s > 0 ? c->sum / duration_s : 0;
			return true;
		}
		return false;
	case MT_RATE:
		if (agg == THR_RATE) {
			*out = c->total ? (double)c->nz / (double)c->total : 0;
			return true;
		}
		return false;
	case MT_GAUGE:
		switch (agg) {
		case THR_VALUE:
			*out = c->g_last;
			return true;
		case THR_MIN:
			*out = c->g_min;
			return true;
		case THR_MAX:
			*out = c->g_max;
			return true;
		}
		return false;
	}
	return false;
}
