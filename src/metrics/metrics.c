/* metrics.c: metric/series registry, lock-free per-worker sinks, coordinator aggregation. */
#include "metrics/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/threshold.h"
#include "util/common.h"

#define DEFAULT_MAX_SERIES 2000

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
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

void registry_init(struct registry *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	r->max_series = DEFAULT_MAX_SERIES;
	r->hash_cap = 1024;
	r->hash = xmalloc(sizeof(*r->hash) * (size_t)r->hash_cap);
	memset(r->hash, 0xff, sizeof(*r->hash) * (size_t)r->hash_cap);
	/* Series slots never move once handed out: workers read infos without the lock. */
	r->series_cap = r->max_series + 256; /* room for untagged series past the cap */
	r->series = xcalloc((size_t)r->series_cap, sizeof(*r->series));
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
	free(r->metrics);
	free(r->series);
	free(r->hash);
	pthread_mutex_destroy(&r->mu);
}

int registry_find_metric(struct registry *r, const char *name)
{
	for (int i = 0; i < r->nmetrics; i++)
		if (strcmp(r->metrics[i].name, name) == 0)
			return i;
	return -ENOENT;
}

int registry_metric(struct registry *r, const char *name, enum metric_type type,
                    enum metric_unit unit)
{
	pthread_mutex_lock(&r->mu);
	int id = registry_find_metric(r, name);
	if (id >= 0) {
		if (r->metrics[id].type != type)
			id = -EEXIST;
		pthread_mutex_unlock(&r->mu);
		return id;
	}
	r->metrics = xrealloc(r->metrics, sizeof(*r->metrics) * (size_t)(r->nmetrics + 1));
	r->metrics[r->nmetrics] = (struct metric_def){ xstrdup(name), type, unit };
	id = r->nmetrics++;
	pthread_mutex_unlock(&r->mu);
	return id;
}

static int tag_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tag *)a)->key, ((const struct tag *)b)->key);
}

static char *canon_name(const char *metric, const struct tag *tags, int ntags)
{
	size_t len = strlen(metric) + 3;
	for (int i = 0; i < ntags; i++)
		len += strlen(tags[i].key) + strlen(tags[i].value) + 2;
	char *s = xmalloc(len);
	char *p = s + sprintf(s, "%s", metric);
	if (ntags) {
		*p++ = '{';
		for (int i = 0; i < ntags; i++)
			p += sprintf(p, "%s%s:%s", i ? "," : "", tags[i].key, tags[i].value);
		*p++ = '}';
		*p = '\0';
	}
	return s;
}

static void hash_insert(struct registry *r, const char *canon, int id)
{
	size_t mask = (size_t)r->hash_cap - 1;
	size_t i = fnv1a(canon) & mask;
	while (r->hash[i] >= 0)
		i = (i + 1) & mask;
	r->hash[i] = id;
}

int registry_series(struct registry *r, int metric, const struct tag *tags, int ntags)
{
	struct tag sorted[TAG_MAX];
	int n = 0;
	for (int i = 0; i < ntags && n < TAG_MAX; i++)
		if (tags[i].value)
			sorted[n++] = tags[i];
	qsort(sorted, (size_t)n, sizeof(*sorted), tag_cmp);
	char *canon = canon_name(r->metrics[metric].name, sorted, n);

	pthread_mutex_lock(&r->mu);
	size_t mask = (size_t)r->hash_cap - 1;
	for (size_t i = fnv1a(canon) & mask; r->hash[i] >= 0; i = (i + 1) & mask) {
		if (strcmp(r->series[r->hash[i]].canon, canon) == 0) {
			int id = r->hash[i];
			pthread_mutex_unlock(&r->mu);
			free(canon);
			return id;
		}
	}
	if (r->nseries >= r->max_series && (n > 0 || r->nseries >= r->series_cap)) {
		if (!r->cap_warned)
			fprintf(stderr,
			        "stampede: warning: more than %d metric series (tag values with "
			        "high cardinality, such as URLs with ids?); further tag sets are "
			        "recorded without tags\n",
			        r->max_series);
		r->cap_warned = true;
		pthread_mutex_unlock(&r->mu);
		free(canon);
		return -ENOSPC;
	}
	if ((r->nseries + 1) * 2 > r->hash_cap) {
		free(r->hash);
		r->hash_cap *= 2;
		r->hash = xmalloc(sizeof(*r->hash) * (size_t)r->hash_cap);
		memset(r->hash, 0xff, sizeof(*r->hash) * (size_t)r->hash_cap);
		for (int i = 0; i < r->nseries; i++)
			hash_insert(r, r->series[i].canon, i);
	}
	struct series_info *si = &r->series[r->nseries];
	si->metric = metric;
	si->ntags = n;
	for (int i = 0; i < n; i++) {
		si->tags[i].key = xstrdup(sorted[i].key);
		si->tags[i].value = xstrdup(sorted[i].value);
	}
	si->canon = canon;
	int id = r->nseries;
	hash_insert(r, canon, id);
	__atomic_store_n(&r->nseries, r->nseries + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&r->mu);
	return id;
}

int registry_nseries(struct registry *r)
{
	return __atomic_load_n(&r->nseries, __ATOMIC_ACQUIRE);
}

const struct series_info *registry_series_info(struct registry *r, int id)
{
	return &r->series[id];
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
		dst->g_last = src->g_last;
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
	if (__builtin_expect(sid >= s->nslots, 0)) {
		int n = MAX(sid + 1, s->nslots * 2);
		n = MAX(n, 32);
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
	bool first = sid >= s->nslots || !s->slots[sid].used;
	struct slot *sl = sink_slot(s, sid, MT_GAUGE);
	sl->g_last = v;
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
	for (int i = 0; i < a->nmp; i++)
		free(a->mp[i].points);
	free(a->mp);
	free(a->s);
	memset(a, 0, sizeof(*a));
}

static void ensure_series(struct aggregate *a, int n)
{
	if (n <= a->ns)
		return;
	a->s = xrealloc(a->s, sizeof(*a->s) * (size_t)n);
	memset(a->s + a->ns, 0, sizeof(*a->s) * (size_t)(n - a->ns));
	a->ns = n;
}

void aggregate_add_sink(struct aggregate *a, const struct sink *s)
{
	ensure_series(a, s->nslots);
	for (int i = 0; i < s->nslots; i++)
		slot_merge(&a->s[i].cur, &s->slots[i]);
}

static double unit_scale(const struct registry *r, int metric)
{
	enum metric_unit u = r->metrics[metric].unit;
	return u == MU_TIME_US || u == MU_MILLI ? 1e-3 : 1.0;
}

void aggregate_fold_sink(struct aggregate *a, const struct sink *s)
{
	ensure_series(a, s->nslots);
	for (int i = 0; i < s->nslots; i++)
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
 * last point when it falls in the same step, and halving the resolution when full. */
static void push_point(struct point **pts, int *n, int *cap, int *step, struct point p,
                       enum metric_type type)
{
	if (*step < 1)
		*step = 1;
	p.t -= p.t % *step;
	if (*n > 0 && (*pts)[*n - 1].t == p.t) {
		merge_point(&(*pts)[*n - 1], &p, type);
		return;
	}
	if (*n == *cap) {
		*cap = *cap ? MIN(*cap * 2, POINTS_MAX) : 64;
		*pts = xrealloc(*pts, sizeof(**pts) * (size_t)*cap);
	}
	(*pts)[(*n)++] = p;
	if (*n < POINTS_MAX)
		return;
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
	           as->cur.type);
}

/* Combine the interval's slots of every series of each metric into one point. */
static void metric_points(struct aggregate *a, int32_t t)
{
	int nm = a->reg->nmetrics;
	if (a->nmp < nm) {
		a->mp = xrealloc(a->mp, sizeof(*a->mp) * (size_t)nm);
		memset(a->mp + a->nmp, 0, sizeof(*a->mp) * (size_t)(nm - a->nmp));
		a->nmp = nm;
	}
	for (int m = 0; m < nm; m++) {
		struct slot acc = { 0 };
		for (int i = 0; i < a->ns; i++)
			if (a->reg->series[i].metric == m && a->s[i].cur.used)
				slot_merge(&acc, &a->s[i].cur);
		if (acc.used) {
			struct metric_points *mp = &a->mp[m];
			push_point(&mp->points, &mp->npoints, &mp->cap, &mp->step,
			           slot_point(&acc, unit_scale(a->reg, m), t), acc.type);
		}
		slot_free(&acc);
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
		case MT_GAUGE:
			out->g_last = out->any ? out->g_last + t->g_last : t->g_last;
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
