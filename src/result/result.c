/* result.c: reading a result: combined values and statistics, k6's names; the arena. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result/internal.h"
#include "util/common.h"
#include "util/escape.h"

struct result_arena {
	struct result_arena *next;
	max_align_t data[];
};

struct result *result_new(void)
{
	struct result *r = xcalloc(1, sizeof(*r));
	r->options = json_object();
	r->analyses = json_object();
	return r;
}

void *result_alloc(struct result *r, size_t size)
{
	struct result_arena *a = xcalloc(1, sizeof(*a) + (size ? size : 1));
	a->next = r->arena;
	r->arena = a;
	return a->data;
}

const char *result_strdup(struct result *r, const char *s)
{
	if (!s)
		return NULL;
	char *fixed = utf8_fix(s); /* a result holds UTF-8 only (JSON cannot carry more) */
	const char *src = fixed ? fixed : s;
	size_t n = strlen(src) + 1;
	char *p = result_alloc(r, n);
	memcpy(p, src, n);
	free(fixed);
	return p;
}

void result_free(struct result *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nseries; i++)
		hdr_free(r->series[i].total.h);
	for (int m = 0; m < r->nmetrics; m++)
		for (int i = 0; i < r->metrics[m].win.n; i++)
			hdr_free(r->metrics[m].win.h[i]);
	json_decref(r->options);
	json_decref(r->trend_stats);
	json_decref(r->setup_data);
	json_decref(r->analyses);
	json_decref(r->merge);
	for (struct result_arena *a = r->arena, *n; a; a = n) {
		n = a->next;
		free(a);
	}
	free(r);
}

int result_find_metric(const struct result *r, const char *name)
{
	for (int i = 0; i < r->nmetrics; i++)
		if (strcmp(r->metrics[i].name, name) == 0)
			return i;
	return -1;
}

static bool has_tags(const struct result_series *s, const struct result_tag *filter, int n)
{
	for (int i = 0; i < n; i++) {
		bool found = false;
		for (int j = 0; j < s->ntags && !found; j++)
			found = !strcmp(s->tags[j].key, filter[i].key) &&
			        !strcmp(s->tags[j].value, filter[i].value);
		if (!found)
			return false;
	}
	return true;
}

/* Add src into dst (same type; dst->h exists for trends). */
static void values_add(struct result_values *dst, const struct result_values *src)
{
	if (!src->any)
		return;
	switch (dst->type) {
	case MT_TREND:
		if (src->h)
			hdr_merge(dst->h, src->h);
		break;
	case MT_COUNTER:
		dst->sum += src->sum;
		break;
	case MT_RATE: /* saturating: a result from a file may hold any counts */
		if (__builtin_add_overflow(dst->nz, src->nz, &dst->nz))
			dst->nz = INT64_MAX;
		if (__builtin_add_overflow(dst->total, src->total, &dst->total))
			dst->total = INT64_MAX;
		break;
	case MT_GAUGE: /* the latest sample of the series combined, and their extremes */
		if (!dst->any || src->g_seq >= dst->g_seq) {
			dst->g_last = src->g_last;
			dst->g_seq = src->g_seq;
		}
		dst->g_min = dst->any ? MIN(dst->g_min, src->g_min) : src->g_min;
		dst->g_max = dst->any ? MAX(dst->g_max, src->g_max) : src->g_max;
		break;
	}
	dst->any = true;
}

bool result_combine(const struct result *r, int metric, const struct result_tag *filter,
                    int nfilter, struct result_values *out)
{
	memset(out, 0, sizeof(*out));
	if (metric < 0 || metric >= r->nmetrics)
		return false;
	out->type = r->metrics[metric].type;
	if (out->type == MT_TREND)
		out->h = hdr_new_default();
	for (int i = 0; i < r->nseries; i++) {
		const struct result_series *s = &r->series[i];
		if (s->metric == metric && has_tags(s, filter, nfilter))
			values_add(out, &s->total);
	}
	return out->any;
}

void result_values_free(struct result_values *v)
{
	hdr_free(v->h);
	v->h = NULL;
}

double result_round15(double v)
{
	char b[40];
	if (!isfinite(v))
		return v;
	snprintf(b, sizeof(b), "%.15g", v);
	return strtod(b, NULL);
}

bool result_stat(const struct result_values *v, enum result_unit unit, const char *stat,
                 double duration_s, double *out)
{
	double k = unit == RU_TIME || unit == RU_MILLI ? 1e-3 : 1.0;
	double pct;
	char close;
	switch (v->type) {
	case MT_TREND:
		if (!strcmp(stat, "count")) {
			*out = v->h ? (double)v->h->total_count : 0;
			return true;
		}
		if (!v->any || !v->h || v->h->total_count == 0)
			return false;
		if (!strcmp(stat, "avg"))
			*out = hdr_mean(v->h) * k;
		else if (!strcmp(stat, "min"))
			*out = (double)hdr_min(v->h) * k;
		else if (!strcmp(stat, "max"))
			*out = (double)hdr_max(v->h) * k;
		else if (!strcmp(stat, "med"))
			*out = (double)hdr_value_at_percentile(v->h, 50) * k;
		else if (sscanf(stat, "p(%lf%c", &pct, &close) == 2 && close == ')' && pct >= 0 &&
		         pct <= 100)
			*out = (double)hdr_value_at_percentile(v->h, pct) * k;
		else
			return false;
		return true;
	case MT_COUNTER:
		if (!strcmp(stat, "count"))
			*out = v->sum;
		else if (!strcmp(stat, "rate"))
			*out = duration_s > 0 ? v->sum / duration_s : 0;
		else
			return false;
		return true;
	case MT_RATE:
		if (!strcmp(stat, "rate"))
			*out = v->total ? (double)v->nz / (double)v->total : 0;
		else if (!strcmp(stat, "passes"))
			*out = (double)v->nz;
		else if (!strcmp(stat, "fails"))
			*out = (double)(v->total - v->nz);
		else
			return false;
		return true;
	case MT_GAUGE:
		if (!v->any)
			return false;
		if (!strcmp(stat, "value"))
			*out = v->g_last;
		else if (!strcmp(stat, "min"))
			*out = v->g_min;
		else if (!strcmp(stat, "max"))
			*out = v->g_max;
		else
			return false;
		return true;
	}
	return false;
}

const char *const *result_trend_stats(const struct result *r, int *n)
{
	static const char *const defaults[] = { "avg", "min", "med", "max", "p(90)", "p(95)" };
	static __thread const char *given[64];
	size_t cnt = r->trend_stats ? json_array_size(r->trend_stats) : 0;
	if (cnt == 0) {
		*n = (int)ARRAY_SIZE(defaults);
		return defaults;
	}
	cnt = MIN(cnt, ARRAY_SIZE(given));
	for (size_t i = 0; i < cnt; i++) {
		const char *s = json_string_value(json_array_get(r->trend_stats, i));
		given[i] = s ? s : "avg";
	}
	*n = (int)cnt;
	return given;
}

const char *result_contains(enum result_unit u)
{
	return u == RU_TIME ? "time" : u == RU_BYTES ? "data" : "default";
}

const char *result_type_name(enum metric_type t)
{
	static const char *const names[] = { [MT_COUNTER] = "counter",
		                             [MT_GAUGE] = "gauge",
		                             [MT_RATE] = "rate",
		                             [MT_TREND] = "trend" };
	return (unsigned)t < ARRAY_SIZE(names) ? names[t] : "counter";
}

int result_thresholds_failed(const struct result *r)
{
	int n = 0;
	for (int i = 0; i < r->nthresholds; i++)
		n += !r->thresholds[i].ok;
	return n;
}

const struct result_sample *result_interval_metric(const struct result_interval *iv,
                                                   const char *name)
{
	for (int i = 0; i < iv->nmetrics; i++)
		if (strcmp(iv->metrics[i].metric, name) == 0)
			return &iv->metrics[i];
	return NULL;
}
