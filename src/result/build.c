/* build.c: the result of a run and its per-second snapshots, from the registry and the
 * coordinator's aggregate. */
#include "result/build.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/errkind.h"
#include "result/internal.h"
#include "util/common.h"

/* The registry's tags and the result's have the same layout: a series' tags are lent to
 * snapshots as they are. */
_Static_assert(sizeof(struct tag) == sizeof(struct result_tag) &&
                   offsetof(struct tag, key) == offsetof(struct result_tag, key) &&
                   offsetof(struct tag, value) == offsetof(struct result_tag, value),
               "struct tag and struct result_tag differ");

static enum result_unit unit_of(enum metric_unit u)
{
	switch (u) {
	case MU_TIME_US:
		return RU_TIME;
	case MU_BYTES:
		return RU_BYTES;
	case MU_MILLI:
		return RU_MILLI;
	default:
		return RU_NONE;
	}
}

/* A slot's values as result values (h borrowed). */
static void result_values_from_slot(const struct slot *sl, struct result_values *out)
{
	*out = (struct result_values){
		.type = sl->type,
		.any = sl->used,
		.sum = sl->sum,
		.nz = sl->nz,
		.total = sl->total,
		.g_last = sl->g_last,
		.g_min = sl->g_min,
		.g_max = sl->g_max,
		.g_seq = sl->g_seq,
		.h = sl->h,
	};
}

static void copy_ts(struct result *r, struct result_timeseries *dst, const struct point *pts, int n,
                    int step)
{
	_Static_assert(sizeof(struct point) == sizeof(struct result_point), "point layouts");
	dst->step = MAX(step, 1);
	dst->npoints = n;
	dst->points = n ? result_alloc(r, sizeof(*dst->points) * (size_t)n) : NULL;
	if (n)
		memcpy(dst->points, pts, sizeof(*dst->points) * (size_t)n);
}

static const char *tag_value(const struct result_series *s, const char *key)
{
	for (int i = 0; i < s->ntags; i++)
		if (!strcmp(s->tags[i].key, key))
			return s->tags[i].value;
	return NULL;
}

static enum err_kind kind_of_code(int code)
{
	for (int k = 1; k < ERR__COUNT; k++)
		if (err_kind_code((enum err_kind)k) == code)
			return (enum err_kind)k;
	return ERR_NONE;
}

static int cmp_error(const void *a, const void *b)
{
	const struct result_error *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->kind, y->kind);
}

/* Failed requests by kind, from http_reqs' series: an error_code tag, or a status judged
 * unexpected (expected_response false). */
static void build_errors(struct result *r)
{
	int m = result_find_metric(r, "http_reqs");
	int cap = 0;
	for (int i = 0; i < r->nseries; i++)
		cap += r->series[i].metric == m;
	r->errors = result_alloc(r, sizeof(*r->errors) * (size_t)MAX(cap, 1));
	for (int i = 0; i < r->nseries && m >= 0; i++) {
		const struct result_series *s = &r->series[i];
		if (s->metric != m || s->total.sum <= 0)
			continue;
		const char *code = tag_value(s, "error_code");
		const char *status = tag_value(s, "status");
		const char *expected = tag_value(s, "expected_response");
		char name[64];
		const char *desc;
		int ncode;
		if (code) {
			ncode = atoi(code);
			enum err_kind k = kind_of_code(ncode);
			snprintf(name, sizeof(name), "%s", err_kind_name(k));
			desc = err_kind_desc(k);
		} else if (status && expected && !strcmp(expected, "false")) {
			snprintf(name, sizeof(name), "status_%s", status);
			ncode = atoi(status);
			desc =
			    "HTTP status not expected (outside 200-399, or the response callback)";
		} else {
			continue;
		}
		struct result_error *e = NULL;
		for (int j = 0; j < r->nerrors && !e; j++)
			if (!strcmp(r->errors[j].kind, name))
				e = &r->errors[j];
		if (!e) {
			e = &r->errors[r->nerrors++];
			*e = (struct result_error){ .kind = result_strdup(r, name),
				                    .code = ncode,
				                    .description = result_strdup(r, desc) };
		}
		e->count += llround(s->total.sum);
	}
	qsort(r->errors, (size_t)r->nerrors, sizeof(*r->errors), cmp_error);
}

/* Groups (group_duration's and checks' group tags) and checks (checks' series). */
static void build_checks(struct result *r)
{
	int mc = result_find_metric(r, "checks"), mg = result_find_metric(r, "group_duration");
	r->groups = result_alloc(r, sizeof(*r->groups) * (size_t)MAX(r->nseries, 1));
	r->checks = result_alloc(r, sizeof(*r->checks) * (size_t)MAX(r->nseries, 1));
	for (int i = 0; i < r->nseries; i++) {
		const struct result_series *s = &r->series[i];
		if (s->metric != mc && s->metric != mg)
			continue;
		const char *g = tag_value(s, "group");
		g = g ? g : "";
		/* every ancestor of a group path is a group too */
		for (const char *p = g; *p;) {
			const char *next = strstr(p + 2, "::");
			size_t len = next ? (size_t)(next - g) : strlen(g);
			bool seen = false;
			for (int j = 0; j < r->ngroups && !seen; j++)
				seen =
				    strlen(r->groups[j]) == len && !strncmp(r->groups[j], g, len);
			if (!seen) {
				char *copy = result_alloc(r, len + 1);
				memcpy(copy, g, len);
				r->groups[r->ngroups++] = copy;
			}
			p = next ? next : g + len;
		}
		const char *name = tag_value(s, "check");
		if (s->metric != mc || !name)
			continue;
		struct result_check *c = NULL;
		for (int j = 0; j < r->nchecks && !c; j++)
			if (!strcmp(r->checks[j].group, g) && !strcmp(r->checks[j].name, name))
				c = &r->checks[j];
		if (!c) {
			c = &r->checks[r->nchecks++];
			*c = (struct result_check){ .group = result_strdup(r, g),
				                    .name = result_strdup(r, name) };
		}
		c->passes += s->total.nz;
		c->fails += s->total.total - s->total.nz;
	}
}

static void build_thresholds(struct result *r, const struct threshold *thr, int n)
{
	r->nthresholds = n;
	r->thresholds = result_alloc(r, sizeof(*r->thresholds) * (size_t)MAX(n, 1));
	for (int i = 0; i < n; i++) {
		const struct threshold *t = &thr[i];
		struct result_threshold *o = &r->thresholds[i];
		char stat[32];
		struct result_tag *tags = result_alloc(r, sizeof(*tags) * (size_t)MAX(t->ntags, 1));
		for (int j = 0; j < t->ntags; j++)
			tags[j] = (struct result_tag){ result_strdup(r, t->tags[j].key),
				                       result_strdup(r, t->tags[j].value) };
		*o = (struct result_threshold){
			.source = result_strdup(r, t->source),
			.metric = result_strdup(r, t->metric),
			.selector = result_strdup(r, t->selector),
			.ntags = t->ntags,
			.tags = tags,
			.expr = result_strdup(r, t->expr),
			.stat = result_strdup(r, threshold_agg_name(t, stat, sizeof(stat))),
			.abort_on_fail = t->abort_on_fail,
			.delay_abort_ms = t->delay_abort_us / 1000,
			.window_s = t->window_s,
			.value = NAN,
		};
	}
}

/* per_request: counter m's total (t's sub-metric) over http_reqs' total; NAN when not a
 * counter or without requests (no value: the threshold fails). */
static double per_request(struct result *r, int m, const struct result_threshold *t)
{
	struct result_values num, reqs;
	int h = result_find_metric(r, "http_reqs");
	double v = NAN;
	if (r->metrics[m].type != MT_COUNTER || h < 0)
		return v;
	bool any = result_combine(r, m, t->tags, t->ntags, &num);
	if (result_combine(r, h, NULL, 0, &reqs) && reqs.sum > 0)
		v = (any ? num.sum : 0) / reqs.sum;
	result_values_free(&num);
	result_values_free(&reqs);
	return v;
}

int result_eval_thresholds(struct result *r)
{
	int failed = 0;
	for (int i = 0; i < r->nthresholds; i++) {
		struct result_threshold *t = &r->thresholds[i];
		struct threshold parsed;
		if (t->aborted_run) { /* its verdict is the failing window's, kept as it is */
			failed++;
			continue;
		}
		char err[256];
		double v = NAN;
		bool ok = false;
		if (threshold_parse_parts(t->selector, t->expr, &parsed, err, sizeof(err)) == 0) {
			int m = result_find_metric(r, t->metric);
			struct result_values vals;
			if (m >= 0 && parsed.agg == THR_PER_REQUEST) {
				v = per_request(r, m, t);
			} else if (m >= 0) {
				bool any = result_combine(r, m, t->tags, t->ntags, &vals);
				enum metric_type type = r->metrics[m].type;
				if (!any && (type == MT_COUNTER || type == MT_RATE))
					v = 0; /* no samples: a counter counts 0, a rate is 0 (k6) */
				else if (!result_stat(&vals, r->metrics[m].unit, t->stat,
				                      r->duration_s, &v))
					v = NAN;
				result_values_free(&vals);
			}
			ok = threshold_compare(&parsed, v);
			threshold_free(&parsed);
		}
		t->ok = ok;
		t->value = result_round15(v); /* as the result file keeps it */
		failed += !ok;
	}
	return failed;
}

struct result *result_build(struct registry *reg, struct aggregate *agg,
                            const struct result_run_info *info)
{
	struct result *r = result_new();
	r->version = result_strdup(r, info->version);
	if (info->options) {
		json_decref(r->options);
		r->options = json_deep_copy(info->options);
	}
	r->trend_stats = info->trend_stats ? json_deep_copy(info->trend_stats) : NULL;
	r->start_wall_us = info->start_wall_us;
	r->duration_s = info->duration_s;
	r->interrupted = info->interrupted;
	r->aborted = info->aborted;
	r->abort_reason = result_strdup(r, info->abort_reason);
	r->interrupted_iterations = info->interrupted_iterations;
	r->teardown_failed = info->teardown_failed;
	r->teardown_timeout = info->teardown_timeout;
	r->gen = info->gen;
	r->setup_data = info->setup_data ? json_deep_copy(info->setup_data) : NULL;

	int nm = registry_nmetrics(reg);
	r->nmetrics = nm;
	r->metrics = result_alloc(r, sizeof(*r->metrics) * (size_t)MAX(nm, 1));
	for (int m = 0; m < nm; m++) {
		struct result_metric *rm = &r->metrics[m];
		rm->name = result_strdup(r, reg->metrics[m].name);
		rm->type = reg->metrics[m].type;
		rm->unit = unit_of(reg->metrics[m].unit);
		if (m < agg->nmp)
			copy_ts(r, &rm->ts, agg->mp[m].points, agg->mp[m].npoints, agg->mp[m].step);
		else
			rm->ts.step = 1;
		if (m < agg->nmp && agg->mp[m].win.n) {
			const struct metric_windows *w = &agg->mp[m].win;
			int32_t *t = result_alloc(r, sizeof(*t) * (size_t)w->n);
			rm->win.h = result_alloc(r, sizeof(*rm->win.h) * (size_t)w->n);
			for (int i = 0; i < w->n; i++) {
				t[i] = w->t[i];
				rm->win.h[i] = hdr_new_default();
				hdr_merge(rm->win.h[i], w->h[i]);
			}
			rm->win.t = t;
			rm->win.step = w->step;
			rm->win.n = w->n;
		}
	}
	r->series = result_alloc(r, sizeof(*r->series) * (size_t)MAX(agg->ns, 1));
	for (int i = 0; i < agg->ns; i++) {
		struct agg_series *as = &agg->s[i];
		const struct series_info *si = registry_series_info(reg, i);
		if (!as->total.used)
			continue;
		struct result_series *s = &r->series[r->nseries++];
		struct result_tag *tags =
		    result_alloc(r, sizeof(*tags) * (size_t)MAX(si->ntags, 1));
		for (int j = 0; j < si->ntags; j++)
			tags[j] = (struct result_tag){ result_strdup(r, si->tags[j].key),
				                       result_strdup(r, si->tags[j].value) };
		s->metric = si->metric;
		s->ntags = si->ntags;
		s->tags = tags;
		s->overflow = si->overflow;
		result_values_from_slot(&as->total, &s->total);
		as->total.h = NULL; /* moved into the result */
		copy_ts(r, &s->ts, as->points, as->npoints, as->step);
	}
	build_errors(r);
	build_checks(r);
	if (info->script_errors) {
		size_t n = json_array_size(info->script_errors), i;
		json_t *e;
		r->script_errors = result_alloc(r, sizeof(*r->script_errors) * (n ? n : 1));
		json_array_foreach(info->script_errors, i, e)
		{
			r->script_errors[r->nscript_errors++] = (struct result_script_error){
				.message = result_strdup(
				    r, json_string_value(json_object_get(e, "message")) ?: ""),
				.count = json_integer_value(json_object_get(e, "count")),
			};
		}
	}
	build_thresholds(r, info->thr, info->nthr);
	result_eval_thresholds(r);
	return r;
}

/* --- per-second snapshots ----------------------------------------------------------- */

static struct result_sample *grow(struct result_sample **arr, int *cap, int need)
{
	if (need > *cap) {
		*cap = MAX(need, *cap * 2);
		*arr = xrealloc(*arr, sizeof(**arr) * (size_t)*cap);
	}
	return *arr;
}

void result_snapshot_emit(void *ctx, const struct aggregate *a, int32_t t)
{
	struct result_snapshots *b = ctx;
	const struct registry *reg = b->reg;
	int ns = 0, nm = 0;
	for (int i = 0; i < a->ns; i++)
		ns += a->s[i].cur.used;
	for (int m = 0; m < a->nmp; m++)
		nm += a->mp[m].acc.used;
	grow(&b->samples, &b->cap_samples, MAX(ns, 1));
	grow(&b->metrics, &b->cap_metrics, MAX(nm, 1));
	ns = nm = 0;
	for (int i = 0; i < a->ns; i++) {
		if (!a->s[i].cur.used)
			continue;
		const struct series_info *si = &reg->series[i];
		const struct metric_def *md = &reg->metrics[si->metric];
		struct result_sample *s = &b->samples[ns++];
		*s = (struct result_sample){
			.series = i,
			.metric = md->name,
			.type = md->type,
			.unit = unit_of(md->unit),
			.ntags = si->ntags,
			.tags = (const struct result_tag *)si->tags,
			.overflow = si->overflow,
		};
		result_values_from_slot(&a->s[i].cur, &s->v);
	}
	for (int m = 0; m < a->nmp; m++) {
		if (!a->mp[m].acc.used)
			continue;
		const struct metric_def *md = &reg->metrics[m];
		struct result_sample *s = &b->metrics[nm++];
		*s = (struct result_sample){
			.series = -1,
			.metric = md->name,
			.type = md->type,
			.unit = unit_of(md->unit),
		};
		result_values_from_slot(&a->mp[m].acc, &s->v);
	}
	struct result_interval iv = {
		.t = t,
		.start_wall_us = b->start_wall_us,
		.vus = b->vus,
		.vus_max = b->vus_max,
		.final = b->final,
		.length_s = b->length_s > 0 ? b->length_s : 1.0,
		.nmetrics = nm,
		.metrics = b->metrics,
		.nsamples = ns,
		.samples = b->samples,
	};
	if (b->emit)
		b->emit(b->ctx, &iv);
}

void result_snapshots_free(struct result_snapshots *s)
{
	free(s->samples);
	free(s->metrics);
	s->samples = s->metrics = NULL;
	s->cap_samples = s->cap_metrics = 0;
}
