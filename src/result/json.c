/* json.c: the result file, "stampede-result/1" (docs/result-format.md, JSON Schema in
 * docs/result.schema.json): the result as JSON and back. Everything a later command needs
 * is kept raw (a counter's sum, a rate's passes and fails, a gauge's values and order, a
 * trend's HDR histogram in HdrHistogram's V2 compressed encoding); the statistics beside
 * them ("values") are derived for readers and recomputed on load, so writing a loaded
 * result gives the same document. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result/internal.h"
#include "util/common.h"
#include "util/outfile.h"

#define RESULT_FILE_MAX (1024ul * 1024 * 1024)
/* The most samples a count may say (a series, a metric, a check): 2^53, exact in a double
 * and far from overflowing when a metric's series add up. */
#define COUNT_MAX (INT64_C(1) << 53)

static const char *const trend_default[] = { "avg",   "min",   "med",   "max",
	                                     "p(90)", "p(95)", "p(99)", "p(99.9)" };

/* Numbers are written with 15 significant digits (JSON_REAL_PRECISION(15)): every double
 * a run measures has fewer, and 17 would show binary noise (1.7690000000000001). A raw
 * value read back is then its 15-digit rounding, so the statistics derived from raw values
 * are computed from that rounding (round15) when written: a loaded result derives the same
 * ones, and writing it again gives the same document. */
#define REAL_DIGITS 15

/* The run's length in seconds as a reader of the file gets it (from durationMs). */
static double file_duration_s(const struct result *r)
{
	return result_round15(r->duration_s * 1e3) / 1e3;
}

/* A float (a per-second point) as the double of its shortest decimal form, so that it
 * prints as 1.769, not 1.76900005340576, and reads back as the same float. */
static double short_float(float f)
{
	char b[32];
	if (!isfinite(f))
		return f;
	for (int digits = 6; digits < 9; digits++) {
		snprintf(b, sizeof(b), "%.*g", digits, (double)f);
		if (strtof(b, NULL) == f)
			return strtod(b, NULL);
	}
	snprintf(b, sizeof(b), "%.9g", (double)f);
	return strtod(b, NULL);
}

static json_t *number(double v)
{
	if (!isfinite(v))
		return json_null();
	if (v == floor(v) && fabs(v) < 9e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* The derived statistics of values (k6's names), as the summary shows them. */
static json_t *values_json(const struct result *r, const struct result_values *v,
                           enum result_unit unit)
{
	json_t *o = json_object();
	double x;
	switch (v->type) {
	case MT_TREND:
		for (size_t i = 0; i < ARRAY_SIZE(trend_default); i++)
			if (result_stat(v, unit, trend_default[i], r->duration_s, &x))
				json_object_set_new(o, trend_default[i], json_real(x));
		if (r->trend_stats) {
			size_t i;
			json_t *st;
			json_array_foreach(r->trend_stats, i, st)
			{
				const char *name = json_string_value(st);
				if (name && strcmp(name, "count") && !json_object_get(o, name) &&
				    result_stat(v, unit, name, r->duration_s, &x))
					json_object_set_new(o, name, json_real(x));
			}
		}
		json_object_set_new(o, "count",
		                    json_integer(v->h ? (json_int_t)v->h->total_count : 0));
		break;
	case MT_COUNTER: {
		double sum = result_round15(v->sum), d = file_duration_s(r);
		json_object_set_new(o, "count", number(sum));
		json_object_set_new(o, "rate", json_real(d > 0 ? sum / d : 0));
		break;
	}
	case MT_RATE:
		json_object_set_new(o, "rate",
		                    json_real(v->total ? (double)v->nz / (double)v->total : 0));
		json_object_set_new(o, "passes", json_integer(v->nz));
		json_object_set_new(o, "fails", json_integer(v->total - v->nz));
		break;
	case MT_GAUGE:
		if (v->any) {
			json_object_set_new(o, "value", number(v->g_last));
			json_object_set_new(o, "min", number(v->g_min));
			json_object_set_new(o, "max", number(v->g_max));
		}
		break;
	}
	return o;
}

static const char *const cols_trend[] = { "t", "count", "p50", "p90", "p95", "p99", "max" };
static const char *const cols_counter[] = { "t", "count" };
static const char *const cols_rate[] = { "t", "count", "rate" };
static const char *const cols_gauge[] = { "t", "count", "value", "min", "max" };

static int ncols(enum metric_type t)
{
	return t == MT_TREND     ? (int)ARRAY_SIZE(cols_trend)
	       : t == MT_COUNTER ? (int)ARRAY_SIZE(cols_counter)
	       : t == MT_RATE    ? (int)ARRAY_SIZE(cols_rate)
	                         : (int)ARRAY_SIZE(cols_gauge);
}

static json_t *ts_json(const struct result_timeseries *ts, enum metric_type type)
{
	const char *const *c = type == MT_TREND     ? cols_trend
	                       : type == MT_COUNTER ? cols_counter
	                       : type == MT_RATE    ? cols_rate
	                                            : cols_gauge;
	int nc = ncols(type);
	json_t *o = json_object(), *cols = json_array(), *pts = json_array();
	for (int i = 0; i < nc; i++)
		json_array_append_new(cols, json_string(c[i]));
	for (int i = 0; i < ts->npoints; i++) {
		const struct result_point *p = &ts->points[i];
		json_t *row = json_array();
		json_array_append_new(row, json_integer(p->t));
		json_array_append_new(row, number(short_float(p->count)));
		for (int j = 0; j < nc - 2; j++)
			json_array_append_new(row, number(short_float(p->v[j])));
		json_array_append_new(pts, row);
	}
	json_object_set_new(o, "step", json_integer(MAX(ts->step, 1)));
	json_object_set_new(o, "columns", cols);
	json_object_set_new(o, "points", pts);
	return o;
}

static json_t *tags_json(const struct result_tag *tags, int n)
{
	json_t *o = json_object();
	for (int i = 0; i < n; i++)
		json_object_set_new(o, tags[i].key, json_string(tags[i].value));
	return o;
}

static json_t *group_node(const char *name, const char *path)
{
	json_t *g = json_object();
	json_object_set_new(g, "name", json_string(name));
	json_object_set_new(g, "path", json_string(path));
	json_object_set_new(g, "groups", json_array());
	json_object_set_new(g, "checks", json_array());
	return g;
}

/* The node of group path "::a::b" under root (created on the way). Borrowed. */
static json_t *group_at(json_t *root, const char *path)
{
	json_t *node = root;
	const char *p = path;
	while (!strncmp(p, "::", 2)) {
		const char *name = p + 2;
		const char *end = strstr(name, "::");
		size_t n = end ? (size_t)(end - name) : strlen(name);
		size_t plen = (size_t)(name + n - path);
		json_t *kids = json_object_get(node, "groups"), *found = NULL, *k;
		size_t i;
		json_array_foreach(kids, i, k)
		{
			const char *kp = json_string_value(json_object_get(k, "path"));
			if (strlen(kp) == plen && !strncmp(kp, path, plen)) {
				found = k;
				break;
			}
		}
		if (!found) {
			char *nm = xstrndup(name, n), *pp = xstrndup(path, plen);
			found = group_node(nm, pp);
			json_array_append_new(kids, found);
			free(nm);
			free(pp);
		}
		node = found;
		p = name + n;
	}
	return node;
}

json_t *result_root_group(const struct result *r)
{
	json_t *root = group_node("", "");
	for (int i = 0; i < r->ngroups; i++)
		group_at(root, r->groups[i]);
	for (int i = 0; i < r->nchecks; i++) {
		const struct result_check *c = &r->checks[i];
		json_t *g = group_at(root, c->group), *o = json_object();
		size_t plen = strlen(c->group) + strlen(c->name) + 3;
		char *path = xmalloc(plen);
		snprintf(path, plen, "%s::%s", c->group, c->name);
		json_object_set_new(o, "name", json_string(c->name));
		json_object_set_new(o, "path", json_string(path));
		json_object_set_new(o, "passes", json_integer(c->passes));
		json_object_set_new(o, "fails", json_integer(c->fails));
		json_array_append_new(json_object_get(g, "checks"), o);
		free(path);
	}
	return root;
}

/* The verdicts of the thresholds on selector: {"p(95)<200": {"ok": true}, ...}. */
static json_t *verdicts_json(const struct result *r, const char *selector)
{
	json_t *o = json_object();
	for (int i = 0; i < r->nthresholds; i++) {
		if (strcmp(r->thresholds[i].selector, selector))
			continue;
		json_t *e = json_object();
		json_object_set_new(e, "ok", json_boolean(r->thresholds[i].ok));
		json_object_set_new(o, r->thresholds[i].expr, e);
	}
	return o;
}

json_t *result_to_json(const struct result *r)
{
	json_t *doc = json_object(), *state = json_object(), *metrics = json_object();
	json_object_set_new(doc, "format", json_string(RESULT_FORMAT));
	json_object_set_new(doc, "version", json_string(r->version ? r->version : ""));
	json_object_set_new(state, "startTime", json_real((double)r->start_wall_us / 1e6));
	json_object_set_new(state, "startUnixUs", json_integer(r->start_wall_us));
	json_object_set_new(state, "testRunDurationMs",
	                    json_real(result_round15(r->duration_s * 1e3)));
	json_object_set_new(state, "interrupted", json_boolean(r->interrupted));
	json_object_set_new(state, "aborted", json_boolean(r->aborted));
	json_object_set_new(state, "abortReason",
	                    r->abort_reason ? json_string(r->abort_reason) : json_null());
	json_object_set_new(state, "interruptedIterations",
	                    json_integer(r->interrupted_iterations));
	json_object_set_new(state, "teardownFailed", json_boolean(r->teardown_failed));
	json_object_set_new(state, "teardownTimeout", json_boolean(r->teardown_timeout));
	json_object_set_new(doc, "state", state);
	json_object_set_new(doc, "options", json_incref(r->options));
	json_object_set_new(doc, "summaryTrendStats",
	                    r->trend_stats ? json_incref(r->trend_stats) : json_null());

	for (int m = 0; m < r->nmetrics; m++) {
		const struct result_metric *rm = &r->metrics[m];
		json_t *o = json_object(), *series = json_array();
		struct result_values total;
		result_combine(r, m, NULL, 0, &total);
		json_object_set_new(o, "type", json_string(result_type_name(rm->type)));
		json_object_set_new(o, "contains", json_string(result_contains(rm->unit)));
		json_object_set_new(o, "values", values_json(r, &total, rm->unit));
		result_values_free(&total);
		json_t *thr = verdicts_json(r, rm->name);
		if (json_object_size(thr))
			json_object_set_new(o, "thresholds", thr);
		else
			json_decref(thr);
		json_object_set_new(o, "timeseries", ts_json(&rm->ts, rm->type));
		if (rm->win.n) {
			json_t *w = json_object(), *ts = json_array(), *hs = json_array();
			for (int i = 0; i < rm->win.n; i++) {
				char *enc = NULL;
				json_array_append_new(ts, json_integer(rm->win.t[i]));
				if (hdr_encode(rm->win.h[i], &enc) == 0)
					json_array_append_new(hs, json_string(enc));
				else
					json_array_append_new(hs, json_string(""));
				free(enc);
			}
			json_object_set_new(w, "step", json_integer(rm->win.step));
			json_object_set_new(w, "t", ts);
			json_object_set_new(w, "histograms", hs);
			json_object_set_new(o, "windows", w);
		}
		for (int i = 0; i < r->nseries; i++) {
			const struct result_series *s = &r->series[i];
			if (s->metric != m)
				continue;
			json_t *so = json_object();
			json_object_set_new(so, "tags", tags_json(s->tags, s->ntags));
			json_object_set_new(so, "overflow", json_boolean(s->overflow));
			json_object_set_new(so, "values", values_json(r, &s->total, rm->unit));
			if (rm->type == MT_TREND) {
				char *enc = NULL;
				if (s->total.h && hdr_encode(s->total.h, &enc) == 0)
					json_object_set_new(so, "histogram", json_string(enc));
				free(enc);
				/* what the encoding (bucket counts) cannot say: the exact extremes
				 * and sum of the recorded values, in the histogram's unit */
				if (s->total.h && s->total.h->total_count) {
					json_t *ex = json_object();
					json_object_set_new(ex, "min",
					                    json_integer(s->total.h->min));
					json_object_set_new(ex, "max",
					                    json_integer(s->total.h->max));
					json_object_set_new(ex, "sum", number(s->total.h->sum));
					json_object_set_new(so, "histogramExact", ex);
				}
			}
			if (rm->type == MT_GAUGE)
				json_object_set_new(so, "seq",
				                    json_integer((json_int_t)s->total.g_seq));
			json_object_set_new(so, "timeseries", ts_json(&s->ts, rm->type));
			json_array_append_new(series, so);
		}
		json_object_set_new(o, "series", series);
		json_object_set_new(metrics, rm->name, o);
	}
	json_object_set_new(doc, "metrics", metrics);

	json_t *sub = json_object(), *thr = json_array();
	for (int i = 0; i < r->nthresholds; i++) {
		const struct result_threshold *t = &r->thresholds[i];
		int m = result_find_metric(r, t->metric);
		if (t->ntags && m >= 0 && !json_object_get(sub, t->selector)) {
			struct result_values v;
			json_t *o = json_object();
			result_combine(r, m, t->tags, t->ntags, &v);
			json_object_set_new(o, "metric", json_string(t->metric));
			json_object_set_new(o, "type",
			                    json_string(result_type_name(r->metrics[m].type)));
			json_object_set_new(o, "contains",
			                    json_string(result_contains(r->metrics[m].unit)));
			json_object_set_new(o, "tags", tags_json(t->tags, t->ntags));
			json_object_set_new(o, "values", values_json(r, &v, r->metrics[m].unit));
			result_values_free(&v);
			json_object_set_new(o, "thresholds", verdicts_json(r, t->selector));
			json_object_set_new(sub, t->selector, o);
		}
		json_t *o = json_object(), *tags = json_array();
		for (int j = 0; j < t->ntags; j++) {
			json_t *pair = json_array();
			json_array_append_new(pair, json_string(t->tags[j].key));
			json_array_append_new(pair, json_string(t->tags[j].value));
			json_array_append_new(tags, pair);
		}
		json_object_set_new(o, "source", json_string(t->source));
		json_object_set_new(o, "metric", json_string(t->metric));
		json_object_set_new(o, "selector", json_string(t->selector));
		json_object_set_new(o, "tags", tags);
		json_object_set_new(o, "expression", json_string(t->expr));
		json_object_set_new(o, "stat", json_string(t->stat));
		json_object_set_new(o, "value", number(t->value));
		json_object_set_new(o, "ok", json_boolean(t->ok));
		json_object_set_new(o, "abortOnFail", json_boolean(t->abort_on_fail));
		json_object_set_new(o, "delayAbortEvalMs", json_integer(t->delay_abort_ms));
		if (t->window_s)
			json_object_set_new(o, "windowS", json_integer(t->window_s));
		if (t->aborted_run)
			json_object_set_new(o, "abortedRun", json_true());
		json_array_append_new(thr, o);
	}
	json_object_set_new(doc, "submetrics", sub);
	json_object_set_new(doc, "thresholds", thr);
	json_object_set_new(doc, "root_group", result_root_group(r));

	json_t *errs = json_array();
	for (int i = 0; i < r->nerrors; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "kind", json_string(r->errors[i].kind));
		json_object_set_new(e, "code", json_integer(r->errors[i].code));
		json_object_set_new(e, "description", json_string(r->errors[i].description));
		json_object_set_new(e, "count", json_integer(r->errors[i].count));
		json_array_append_new(errs, e);
	}
	json_object_set_new(doc, "errors", errs);
	json_t *serr = json_array();
	for (int i = 0; i < r->nscript_errors; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "message", json_string(r->script_errors[i].message));
		json_object_set_new(e, "count", json_integer(r->script_errors[i].count));
		json_array_append_new(serr, e);
	}
	json_object_set_new(doc, "script_errors", serr);

	const struct result_generator *g = &r->gen;
	json_t *gen = json_object();
	json_object_set_new(gen, "threads", json_integer(g->threads));
	json_object_set_new(gen, "cpu_percent", json_real(g->cpu_percent));
	json_object_set_new(
	    gen, "cpu_saturated",
	    json_boolean(g->saturated_seconds > 0 || g->host_saturated_seconds > 0));
	json_object_set_new(gen, "saturated_seconds", json_integer(g->saturated_seconds));
	json_object_set_new(gen, "host_saturated_seconds", json_integer(g->host_saturated_seconds));
	json_object_set_new(gen, "max_rss_kb", json_integer(g->max_rss_kb));
	json_object_set_new(gen, "open_model", json_boolean(g->open_model));
	json_object_set_new(gen, "late_start_backlog_max", json_integer(g->backlog_max));
	json_object_set_new(gen, "workers_stuck", json_integer(g->workers_stuck));
	json_object_set_new(doc, "generator", gen);
	json_object_set_new(doc, "setup_data",
	                    r->setup_data ? json_incref(r->setup_data) : json_null());
	json_object_set_new(doc, "analyses",
	                    r->analyses ? json_incref(r->analyses) : json_object());
	if (r->merge) /* only a merged result (stampede merge) has it */
		json_object_set_new(doc, "merge", json_incref(r->merge));
	return doc;
}

/* --- loading ---------------------------------------------------------------------- */

struct loader {
	struct result *r;
	char *err;
	size_t errlen;
	bool failed;
};

static bool fail(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct loader *l, const char *fmt, ...)
{
	if (!l->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(l->err, l->errlen, fmt, ap);
		va_end(ap);
	}
	l->failed = true;
	return false;
}

static json_t *need(struct loader *l, json_t *o, const char *key, int type, const char *where)
{
	json_t *v = json_object_get(o, key);
	if (!v || (int)json_typeof(v) != type) {
		static const char *const names[] = { "an object",  "an array", "a string",
			                             "an integer", "a number", "true",
			                             "false",      "null" };
		fail(l, "%s%s%s: expected %s", where, *where ? "." : "", key,
		     type == JSON_REAL ? "a number" : names[type]);
		return NULL;
	}
	return v;
}

static double num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

#define TS_T_MAX (31 * 86400) /* a point's t, s: a month */

static bool load_ts(struct loader *l, json_t *o, enum metric_type type,
                    struct result_timeseries *ts, const char *where)
{
	if (!json_is_object(o))
		return fail(l, "%s.timeseries: expected an object", where);
	json_t *pts = json_object_get(o, "points");
	json_int_t step = json_integer_value(json_object_get(o, "step"));
	if (!json_is_array(pts) || step < 1 || step > (1 << 30) || (step & (step - 1)))
		return fail(l, "%s.timeseries: expected a step of 1 or a power of two, and points",
		            where);
	int nc = ncols(type);
	const char *const *cn = type == MT_TREND     ? cols_trend
	                        : type == MT_COUNTER ? cols_counter
	                        : type == MT_RATE    ? cols_rate
	                                             : cols_gauge;
	json_t *cols = json_object_get(o, "columns");
	if (cols) { /* they name the numbers: another order would be read as this one */
		bool same = json_is_array(cols) && (int)json_array_size(cols) == nc;
		for (int j = 0; same && j < nc; j++)
			same = json_is_string(json_array_get(cols, (size_t)j)) &&
			       !strcmp(json_string_value(json_array_get(cols, (size_t)j)), cn[j]);
		if (!same)
			return fail(l,
			            "%s.timeseries.columns: expected the %d columns of a %s, in "
			            "their order (t, count, ...)",
			            where, nc, result_type_name(type));
	}
	ts->step = (int)step;
	ts->npoints = (int)json_array_size(pts);
	ts->points =
	    ts->npoints ? result_alloc(l->r, sizeof(*ts->points) * (size_t)ts->npoints) : NULL;
	size_t i;
	json_t *row;
	json_array_foreach(pts, i, row)
	{
		if (!json_is_array(row) || (int)json_array_size(row) != nc)
			return fail(l, "%s.timeseries.points[%zu]: expected %d numbers", where, i,
			            nc);
		for (int j = 0; j < nc; j++) {
			json_t *x = json_array_get(row, (size_t)j);
			if (!json_is_number(x) && !(j > 0 && json_is_null(x)))
				return fail(l, "%s.timeseries.points[%zu][%d]: expected a number",
				            where, i, j);
		}
		struct result_point *p = &ts->points[i];
		json_t *t = json_array_get(row, 0), *count = json_array_get(row, 1);
		json_int_t tv = json_integer_value(t);
		/* seconds from the run's start, in order: a point elsewhere would be read as
		 * another second's (at most a month: no run is longer) */
		if (!json_is_integer(t) || tv < 0 || tv > TS_T_MAX ||
		    (i > 0 && tv <= ts->points[i - 1].t))
			return fail(
			    l,
			    "%s.timeseries.points[%zu]: t must be whole seconds from 0 to %d, "
			    "each after the one before",
			    where, i, TS_T_MAX);
		if (!json_is_number(count) || json_number_value(count) < 0)
			return fail(l, "%s.timeseries.points[%zu]: a count of 0 or more", where, i);
		/* a point is kept as floats: a larger number would be read as infinity, and
		 * written back as null, which no reader takes */
		for (int j = 1; j < nc; j++) {
			json_t *x = json_array_get(row, (size_t)j);
			if (json_is_number(x) && !(fabs(json_number_value(x)) <= FLT_MAX))
				return fail(l,
				            "%s.timeseries.points[%zu][%d]: %g is out of range (at "
				            "most %g)",
				            where, i, j, json_number_value(x), (double)FLT_MAX);
		}
		p->t = (int32_t)tv;
		p->count = (float)json_number_value(count);
		for (int j = 0; j < nc - 2; j++) {
			json_t *x = json_array_get(row, (size_t)j + 2);
			p->v[j] = json_is_null(x) ? NAN : (float)json_number_value(x);
		}
	}
	return true;
}

static int cmp_tag(const void *a, const void *b)
{
	return strcmp(((const struct result_tag *)a)->key, ((const struct result_tag *)b)->key);
}

static bool load_tags(struct loader *l, json_t *o, const struct result_tag **out, int *n,
                      const char *where)
{
	if (!json_is_object(o))
		return fail(l, "%s.tags: expected an object", where);
	struct result_tag *tags = result_alloc(l->r, sizeof(*tags) * (json_object_size(o) + 1));
	const char *k;
	json_t *v;
	int i = 0;
	json_object_foreach(o, k, v)
	{
		if (!json_is_string(v))
			return fail(l, "%s.tags.%s: expected a string", where, k);
		tags[i++] = (struct result_tag){ result_strdup(l->r, k),
			                         result_strdup(l->r, json_string_value(v)) };
	}
	qsort(tags, (size_t)i, sizeof(*tags), cmp_tag);
	*out = tags;
	*n = i;
	return true;
}

static enum metric_type type_of(const char *s, bool *ok)
{
	*ok = true;
	if (s && !strcmp(s, "counter"))
		return MT_COUNTER;
	if (s && !strcmp(s, "gauge"))
		return MT_GAUGE;
	if (s && !strcmp(s, "rate"))
		return MT_RATE;
	if (s && !strcmp(s, "trend"))
		return MT_TREND;
	*ok = false;
	return MT_COUNTER;
}

/* The built-in counters a run writes (metrics/metrics.c) and what a series' count of
 * each may be: requests and iterations are whole numbers, and no built-in counter goes
 * down. A script's own counters may add any finite number, fractions and negative ones
 * too, as k6's Counter.add() does. */
static const struct {
	const char *name;
	bool whole; /* a whole number of requests or iterations, 0 to COUNT_MAX */
	const char *want;
} builtin_counters[] = {
	{ "http_reqs", true, "a whole number of requests from 0 to 2^53" },
	{ "iterations", true, "a whole number of iterations from 0 to 2^53" },
	{ "dropped_iterations", true, "a whole number of iterations from 0 to 2^53" },
	{ "data_sent", false, "0 or more bytes: a built-in counter never goes down" },
	{ "data_received", false, "0 or more bytes: a built-in counter never goes down" },
	{ "ws_sessions", false, "0 or more: a built-in counter never goes down" },
	{ "ws_msgs_sent", false, "0 or more: a built-in counter never goes down" },
	{ "ws_msgs_received", false, "0 or more: a built-in counter never goes down" },
};

/* Whether v (finite) may be a series' count of counter name: NULL when it may, else what
 * it should be. */
static const char *counter_value_bad(const char *name, double v)
{
	for (size_t i = 0; i < ARRAY_SIZE(builtin_counters); i++) {
		if (strcmp(builtin_counters[i].name, name))
			continue;
		bool ok = builtin_counters[i].whole
		              ? v >= 0 && v <= (double)COUNT_MAX && v == floor(v)
		              : v >= 0;
		return ok ? NULL : builtin_counters[i].want;
	}
	return NULL;
}

static bool load_series(struct loader *l, json_t *so, int m, struct result_series *s,
                        const char *where)
{
	struct result *r = l->r;
	enum metric_type type = r->metrics[m].type;
	json_t *vals;
	if (!json_is_object(so))
		return fail(l, "%s: expected an object", where);
	if (!load_tags(l, json_object_get(so, "tags"), &s->tags, &s->ntags, where))
		return false;
	if (!(vals = need(l, so, "values", JSON_OBJECT, where)))
		return false;
	s->metric = m;
	s->overflow = json_is_true(json_object_get(so, "overflow"));
	s->total.type = type;
	s->total.any = true;
	switch (type) {
	case MT_COUNTER:
		if (!json_is_number(json_object_get(vals, "count")))
			return fail(l, "%s.values.count: expected a number", where);
		s->total.sum = num(vals, "count");
		if (!isfinite(s->total.sum))
			return fail(l, "%s.values.count: not a finite number", where);
		const char *want = counter_value_bad(r->metrics[m].name, s->total.sum);
		if (want)
			return fail(l, "%s.values.count: %.17g is out of range (expected %s)",
			            where, s->total.sum, want);
		break;
	case MT_RATE:
		if (!json_is_integer(json_object_get(vals, "passes")) ||
		    !json_is_integer(json_object_get(vals, "fails")))
			return fail(l, "%s.values: expected integers passes and fails", where);
		s->total.nz = json_integer_value(json_object_get(vals, "passes"));
		int64_t fails = json_integer_value(json_object_get(vals, "fails"));
		if (s->total.nz < 0 || fails < 0 || s->total.nz > COUNT_MAX || fails > COUNT_MAX)
			return fail(l, "%s.values: passes and fails must be 0 to 2^53", where);
		s->total.total = s->total.nz + fails;
		break;
	case MT_GAUGE:
		if (!json_is_number(json_object_get(vals, "value")))
			return fail(l, "%s.values.value: expected a number", where);
		s->total.g_last = num(vals, "value");
		s->total.g_min = num(vals, "min");
		s->total.g_max = num(vals, "max");
		s->total.g_seq = (uint64_t)json_integer_value(json_object_get(so, "seq"));
		break;
	case MT_TREND: {
		json_t *h = need(l, so, "histogram", JSON_STRING, where);
		if (!h)
			return false;
		if (hdr_decode(json_string_value(h), json_string_length(h), &s->total.h) < 0)
			return fail(l, "%s.histogram: not a valid HdrHistogram encoding", where);
		json_t *ex = json_object_get(so, "histogramExact");
		struct hdr *hh = s->total.h;
		if (hh->total_count < 0 || hh->total_count > COUNT_MAX)
			return fail(l, "%s.histogram: holds more than 2^53 values", where);
		if (ex && hh->total_count) {
			json_t *mn = json_object_get(ex, "min"), *mx = json_object_get(ex, "max");
			json_t *sum = json_object_get(ex, "sum");
			if (!json_is_integer(mn) || !json_is_integer(mx) || !json_is_number(sum) ||
			    json_integer_value(mn) > json_integer_value(mx) ||
			    json_integer_value(mn) < 0 || json_integer_value(mx) > hh->highest ||
			    !isfinite(json_number_value(sum)))
				return fail(l,
				            "%s.histogramExact: expected 0 <= min <= max <= %lld "
				            "and a finite sum",
				            where, (long long)hh->highest);
			hh->min = json_integer_value(mn);
			hh->max = json_integer_value(mx);
			hh->sum = json_number_value(sum);
		}
		break;
	}
	}
	char w[600];
	snprintf(w, sizeof(w), "%s", where);
	return load_ts(l, json_object_get(so, "timeseries"), type, &s->ts, w);
}

/* "windows": {step, t: [...], histograms: [...]} (optional): the metric's exact
 * per-window histograms (result.h, struct result_windows). */
static bool load_windows(struct loader *l, json_t *wo, struct result_metric *rm, const char *where)
{
	if (!wo)
		return true;
	json_t *step = json_object_get(wo, "step"), *ts = json_object_get(wo, "t");
	json_t *hs = json_object_get(wo, "histograms");
	json_int_t sv = json_integer_value(step);
	if (!json_is_object(wo) || !json_is_integer(step) || sv < 1 || sv > (1 << 24) ||
	    (sv & (sv - 1)) || !json_is_array(ts) || !json_is_array(hs) ||
	    json_array_size(ts) != json_array_size(hs) ||
	    json_array_size(ts) > RESULT_WINDOWS_MAX || rm->type != MT_TREND)
		return fail(
		    l,
		    "%s.windows: expected a trend's {step (1 or a power of two), t, histograms} "
		    "with as many times as histograms (at most %d)",
		    where, RESULT_WINDOWS_MAX);
	size_t n = json_array_size(ts);
	int32_t *t = result_alloc(l->r, sizeof(*t) * (n + 1));
	rm->win.h = result_alloc(l->r, sizeof(*rm->win.h) * (n + 1));
	rm->win.t = t;
	rm->win.step = (int)json_integer_value(step);
	for (size_t i = 0; i < n; i++) {
		json_t *ti = json_array_get(ts, i), *hi = json_array_get(hs, i);
		if (!json_is_integer(ti) || json_integer_value(ti) < 0 ||
		    json_integer_value(ti) > INT32_MAX ||
		    (i > 0 && json_integer_value(ti) <= t[i - 1]))
			return fail(l, "%s.windows.t[%zu]: expected increasing seconds >= 0", where,
			            i);
		t[i] = (int32_t)json_integer_value(ti);
		if (!json_is_string(hi) ||
		    hdr_decode(json_string_value(hi), json_string_length(hi), &rm->win.h[i]) < 0)
			return fail(l,
			            "%s.windows.histograms[%zu]: not a valid HdrHistogram encoding",
			            where, i);
		rm->win.n = (int)i + 1; /* result_free() frees those counted */
		if (rm->win.h[i]->total_count < 0 || rm->win.h[i]->total_count > COUNT_MAX)
			return fail(l, "%s.windows.histograms[%zu]: holds more than 2^53 values",
			            where, i);
	}
	return true;
}

static int cmp_series_ptr(const void *a, const void *b)
{
	const struct result_series *x = *(const struct result_series *const *)a;
	const struct result_series *y = *(const struct result_series *const *)b;
	if (x->overflow != y->overflow)
		return x->overflow - y->overflow;
	if (x->ntags != y->ntags)
		return x->ntags - y->ntags;
	for (int i = 0; i < x->ntags; i++) { /* the tags are sorted by key (load_tags) */
		int c = strcmp(x->tags[i].key, y->tags[i].key);
		if (!c)
			c = strcmp(x->tags[i].value, y->tags[i].value);
		if (c)
			return c;
	}
	return x < y ? -1 : x > y;
}

/* One metric's series s[0..n) each have their own tag set (and overflow flag): a run
 * keeps one series per tag set, so a second one is an edited file's, and would count its
 * samples twice; false with both series named. */
static bool unique_series(struct loader *l, const struct result_series *s, int n, const char *where)
{
	if (n < 2)
		return true;
	const struct result_series **by = xmalloc(sizeof(*by) * (size_t)n);
	bool ok = true;
	for (int i = 0; i < n; i++)
		by[i] = &s[i];
	qsort(by, (size_t)n, sizeof(*by), cmp_series_ptr);
	for (int i = 1; i < n && ok; i++) {
		const struct result_series *a = by[i - 1], *b = by[i];
		bool same = a->overflow == b->overflow && a->ntags == b->ntags;
		for (int k = 0; same && k < a->ntags; k++)
			same = !strcmp(a->tags[k].key, b->tags[k].key) &&
			       !strcmp(a->tags[k].value, b->tags[k].value);
		if (same)
			ok = fail(l,
			          "%s.series[%td] has the tags of %s.series[%td] (and its overflow "
			          "flag): a run writes one series per tag set (an edited file?)",
			          where, b - s, where, a - s);
	}
	free(by);
	return ok;
}

static bool load_metrics(struct loader *l, json_t *metrics)
{
	struct result *r = l->r;
	size_t nm = json_object_size(metrics), ns = 0;
	const char *name;
	json_t *mo;
	json_object_foreach(metrics, name, mo)
	{
		json_t *series = json_object_get(mo, "series");
		ns += json_is_array(series) ? json_array_size(series) : 0;
	}
	r->metrics = result_alloc(r, sizeof(*r->metrics) * (nm + 1));
	r->series = result_alloc(r, sizeof(*r->series) * (ns + 1));
	json_object_foreach(metrics, name, mo)
	{
		char where[512];
		snprintf(where, sizeof(where), "metrics.%.400s", name);
		if (!json_is_object(mo))
			return fail(l, "%s: expected an object", where);
		bool ok;
		json_t *series = need(l, mo, "series", JSON_ARRAY, where);
		const char *ts = json_string_value(json_object_get(mo, "type"));
		const char *contains = json_string_value(json_object_get(mo, "contains"));
		if (!series)
			return false;
		struct result_metric *rm = &r->metrics[r->nmetrics];
		rm->name = result_strdup(r, name);
		rm->type = type_of(ts, &ok);
		if (!ok)
			return fail(l, "%s.type: expected counter, gauge, rate or trend", where);
		rm->unit = !contains                   ? RU_NONE
		           : !strcmp(contains, "time") ? RU_TIME
		           : !strcmp(contains, "data") ? RU_BYTES
		           : rm->type == MT_TREND      ? RU_MILLI
		                                       : RU_NONE;
		int m = r->nmetrics++;
		if (!load_ts(l, json_object_get(mo, "timeseries"), rm->type, &rm->ts, where))
			return false;
		if (!load_windows(l, json_object_get(mo, "windows"), rm, where))
			return false;
		size_t i;
		json_t *so;
		int64_t samples = 0; /* the metric's series together stay below COUNT_MAX */
		double sum = 0;      /* and a counter's add up to a number it may hold */
		json_array_foreach(series, i, so)
		{
			char sw[600];
			struct result_series *s = &r->series[r->nseries];
			snprintf(sw, sizeof(sw), "%s.series[%zu]", where, i);
			bool loaded = load_series(l, so, m, s, sw);
			r->nseries +=
			    loaded; /* result_free() frees the histograms of those counted */
			if (!loaded) {
				hdr_free(s->total.h);
				s->total.h = NULL;
				return false;
			}
			samples += s->total.h ? s->total.h->total_count : s->total.total;
			if (samples > COUNT_MAX)
				return fail(l, "%s: its series hold more than 2^53 samples", where);
			sum += rm->type == MT_COUNTER ? s->total.sum : 0;
			if (!isfinite(sum) || counter_value_bad(name, sum))
				return fail(l,
				            "%s: its series' counts add up to %.17g, out of range "
				            "(expected %s)",
				            where, sum,
				            counter_value_bad(name, sum) ?: "a finite number");
		}
		if (!unique_series(l, r->series + r->nseries - json_array_size(series),
		                   (int)json_array_size(series), where))
			return false;
	}
	return true;
}

static bool load_thresholds(struct loader *l, json_t *arr)
{
	struct result *r = l->r;
	size_t n = json_array_size(arr), i;
	json_t *o;
	r->thresholds = result_alloc(r, sizeof(*r->thresholds) * (n + 1));
	json_array_foreach(arr, i, o)
	{
		char where[64];
		snprintf(where, sizeof(where), "thresholds[%zu]", i);
		struct result_threshold *t = &r->thresholds[r->nthresholds];
		const char *keys[] = { "source", "metric", "selector", "expression", "stat" };
		const char *vals[ARRAY_SIZE(keys)];
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
			json_t *v = need(l, o, keys[k], JSON_STRING, where);
			if (!v)
				return false;
			vals[k] = result_strdup(r, json_string_value(v));
		}
		json_t *tags = need(l, o, "tags", JSON_ARRAY, where);
		if (!tags)
			return false;
		struct result_tag *tg = result_alloc(r, sizeof(*tg) * (json_array_size(tags) + 1));
		size_t j;
		json_t *pair;
		json_array_foreach(tags, j, pair)
		{
			const char *k = json_string_value(json_array_get(pair, 0));
			const char *v = json_string_value(json_array_get(pair, 1));
			if (!k || !v || json_array_size(pair) != 2)
				return fail(l, "%s.tags[%zu]: expected [key, value]", where, j);
			tg[j] = (struct result_tag){ result_strdup(r, k), result_strdup(r, v) };
		}
		json_t *value = json_object_get(o, "value");
		*t = (struct result_threshold){
			.source = vals[0],
			.metric = vals[1],
			.selector = vals[2],
			.expr = vals[3],
			.stat = vals[4],
			.ntags = (int)json_array_size(tags),
			.tags = tg,
			.abort_on_fail = json_is_true(json_object_get(o, "abortOnFail")),
			.delay_abort_ms =
			    json_integer_value(json_object_get(o, "delayAbortEvalMs")),
			.window_s =
			    json_is_integer(json_object_get(o, "windowS")) &&
			            json_integer_value(json_object_get(o, "windowS")) > 0 &&
			            json_integer_value(json_object_get(o, "windowS")) <= 86400
			        ? (int)json_integer_value(json_object_get(o, "windowS"))
			        : 0,
			.aborted_run = json_is_true(json_object_get(o, "abortedRun")),
			.ok = json_is_true(json_object_get(o, "ok")) &&
			      !json_is_true(json_object_get(o, "abortedRun")),
			.value = json_is_number(value) ? json_number_value(value) : NAN,
		};
		r->nthresholds++;
	}
	return true;
}

/* Groups and checks from the root_group tree, depth first (the order they are written). */
static bool load_group(struct loader *l, json_t *g, int depth)
{
	struct result *r = l->r;
	const char *path = json_string_value(json_object_get(g, "path"));
	json_t *groups = json_object_get(g, "groups"), *checks = json_object_get(g, "checks");
	if (!path || !json_is_array(groups) || !json_is_array(checks) || depth > 64)
		return fail(l, "root_group: a group needs path, groups and checks");
	const char *gpath = result_strdup(r, path); /* shared by the group's checks */
	if (*path)
		r->groups[r->ngroups++] = gpath;
	size_t i;
	json_t *c;
	json_array_foreach(checks, i, c)
	{
		const char *name = json_string_value(json_object_get(c, "name"));
		json_int_t passes = json_integer_value(json_object_get(c, "passes"));
		json_int_t fails = json_integer_value(json_object_get(c, "fails"));
		if (!name)
			return fail(l, "root_group: a check in '%.200s' needs a name", path);
		if (passes < 0 || fails < 0 || passes > COUNT_MAX || fails > COUNT_MAX)
			return fail(
			    l, "root_group: check '%.200s': passes and fails must be 0 to 2^53",
			    name);
		r->checks[r->nchecks++] = (struct result_check){
			.group = gpath,
			.name = result_strdup(r, name),
			.passes = passes,
			.fails = fails,
		};
	}
	json_array_foreach(groups, i, c) if (!load_group(l, c, depth + 1)) return false;
	return true;
}

static size_t count_nodes(json_t *g, size_t *checks, int depth)
{
	size_t n = 1, i;
	json_t *k;
	if (depth > 64)
		return n;
	*checks += json_array_size(json_object_get(g, "checks"));
	json_array_foreach(json_object_get(g, "groups"), i, k) n +=
	    count_nodes(k, checks, depth + 1);
	return n;
}

/* "merge" (a merged result only): {parts: [{file, executionSegment, startUnixUs,
 * durationMs, httpReqs}], alignment, coverage}, kept as it is. */
static bool load_merge(struct loader *l, json_t *m)
{
	json_t *parts = json_object_get(m, "parts"), *p;
	const char *cov = json_string_value(json_object_get(m, "coverage"));
	size_t i;
	if (!json_is_object(m) || !json_is_array(parts) || !json_array_size(parts) ||
	    !json_is_string(json_object_get(m, "alignment")) || !cov ||
	    (strcmp(cov, "full") && strcmp(cov, "partial") && strcmp(cov, "unknown")))
		return fail(l, "merge: expected {parts (at least one), alignment, coverage (full, "
		               "partial or unknown)}");
	json_array_foreach(parts, i, p)
	{
		json_t *seg = json_object_get(p, "executionSegment");
		if (!json_is_string(json_object_get(p, "file")) ||
		    !(json_is_string(seg) || json_is_null(seg)) ||
		    !json_is_integer(json_object_get(p, "startUnixUs")) ||
		    !json_is_number(json_object_get(p, "durationMs")) ||
		    !json_is_integer(json_object_get(p, "httpReqs")))
			return fail(l,
			            "merge.parts[%zu]: expected {file, executionSegment (or null), "
			            "startUnixUs, durationMs, httpReqs}",
			            i);
	}
	l->r->merge = json_deep_copy(m);
	return true;
}

struct result *result_from_json(json_t *doc, char *err, size_t errlen)
{
	struct loader l = { .r = result_new(), .err = err, .errlen = errlen };
	struct result *r = l.r;
	json_t *v, *state, *metrics, *thr, *root, *arr;
	const char *fmt = json_string_value(json_object_get(doc, "format"));
	if (!json_is_object(doc)) {
		fail(&l, "not a JSON object");
		goto bad;
	}
	if (!fmt || strcmp(fmt, RESULT_FORMAT) != 0) {
		fail(&l, "format: expected \"%s\", got %s%s%s", RESULT_FORMAT, fmt ? "\"" : "",
		     fmt ? fmt : "none (not a stampede result file)", fmt ? "\"" : "");
		goto bad;
	}
	if (!(state = need(&l, doc, "state", JSON_OBJECT, "")) ||
	    !(metrics = need(&l, doc, "metrics", JSON_OBJECT, "")) ||
	    !(thr = need(&l, doc, "thresholds", JSON_ARRAY, "")) ||
	    !(root = need(&l, doc, "root_group", JSON_OBJECT, "")))
		goto bad;
	r->version = result_strdup(r, json_string_value(json_object_get(doc, "version")) ?: "");
	r->start_wall_us = json_integer_value(json_object_get(state, "startUnixUs"));
	if (r->start_wall_us < 0 || r->start_wall_us > COUNT_MAX) { /* past the year 2255 */
		fail(&l, "state.startUnixUs: expected µs since the epoch, 0 to 2^53");
		goto bad;
	}
	r->duration_s = num(state, "testRunDurationMs") / 1e3;
	r->interrupted = json_is_true(json_object_get(state, "interrupted"));
	r->aborted = json_is_true(json_object_get(state, "aborted"));
	r->abort_reason =
	    result_strdup(r, json_string_value(json_object_get(state, "abortReason")));
	r->interrupted_iterations =
	    json_integer_value(json_object_get(state, "interruptedIterations"));
	r->teardown_failed = json_is_true(json_object_get(state, "teardownFailed"));
	r->teardown_timeout = json_is_true(json_object_get(state, "teardownTimeout"));
	if (json_is_object(v = json_object_get(doc, "options"))) {
		json_decref(r->options);
		r->options = json_deep_copy(v);
	}
	if (json_is_array(v = json_object_get(doc, "summaryTrendStats")))
		r->trend_stats = json_deep_copy(v);
	if (!load_metrics(&l, metrics) || !load_thresholds(&l, thr))
		goto bad;
	size_t nchecks = 0, ngroups = count_nodes(root, &nchecks, 0);
	r->groups = result_alloc(r, sizeof(*r->groups) * (ngroups + 1));
	r->checks = result_alloc(r, sizeof(*r->checks) * (nchecks + 1));
	if (!load_group(&l, root, 0))
		goto bad;
	arr = json_object_get(doc, "errors");
	r->errors = result_alloc(r, sizeof(*r->errors) * (json_array_size(arr) + 1));
	size_t i;
	json_array_foreach(arr, i, v)
	{
		json_int_t c = json_integer_value(json_object_get(v, "count"));
		if (c < 0 || c > COUNT_MAX) {
			fail(&l, "errors[%zu].count: expected 0 to 2^53", i);
			goto bad;
		}
		r->errors[r->nerrors++] = (struct result_error){
			.kind =
			    result_strdup(r, json_string_value(json_object_get(v, "kind")) ?: ""),
			.code = (int)json_integer_value(json_object_get(v, "code")),
			.description = result_strdup(
			    r, json_string_value(json_object_get(v, "description")) ?: ""),
			.count = MAX(json_integer_value(json_object_get(v, "count")), 0),
		};
	}
	arr = json_object_get(doc, "script_errors");
	r->script_errors = result_alloc(r, sizeof(*r->script_errors) * (json_array_size(arr) + 1));
	json_array_foreach(arr, i, v)
	{
		json_int_t c = json_integer_value(json_object_get(v, "count"));
		if (c < 0 || c > COUNT_MAX) {
			fail(&l, "script_errors[%zu].count: expected 0 to 2^53", i);
			goto bad;
		}
		r->script_errors[r->nscript_errors++] = (struct result_script_error){
			.message = result_strdup(r, json_string_value(json_object_get(v, "message"))
			                                ?: ""),
			.count = json_integer_value(json_object_get(v, "count")),
		};
	}
	json_t *gen = json_object_get(doc, "generator");
	r->gen = (struct result_generator){
		.threads = (int)json_integer_value(json_object_get(gen, "threads")),
		.cpu_percent = num(gen, "cpu_percent"),
		.saturated_seconds =
		    (int)json_integer_value(json_object_get(gen, "saturated_seconds")),
		.host_saturated_seconds =
		    (int)json_integer_value(json_object_get(gen, "host_saturated_seconds")),
		.max_rss_kb = (long)json_integer_value(json_object_get(gen, "max_rss_kb")),
		.open_model = json_is_true(json_object_get(gen, "open_model")),
		.backlog_max = json_integer_value(json_object_get(gen, "late_start_backlog_max")),
		.workers_stuck = (int)json_integer_value(json_object_get(gen, "workers_stuck")),
	};
	v = json_object_get(doc, "setup_data");
	r->setup_data = v && !json_is_null(v) ? json_deep_copy(v) : NULL;
	if (json_is_object(v = json_object_get(doc, "analyses"))) {
		json_decref(r->analyses);
		r->analyses = json_deep_copy(v);
	}
	if ((v = json_object_get(doc, "merge")) && !load_merge(&l, v))
		goto bad;
	return r;
bad:
	result_free(r);
	return NULL;
}

struct result *result_load(const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int rc = read_file_max(path, RESULT_FILE_MAX, &text, &len);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path,
		         rc == -EFBIG ? "larger than 1 GiB" : read_file_strerror(rc));
		return NULL;
	}
	json_error_t je;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (!doc) {
		snprintf(err, errlen, "%s:%d: not valid JSON: %s", path, je.line, je.text);
		return NULL;
	}
	char why[512];
	struct result *r = result_from_json(doc, why, sizeof(why));
	json_decref(doc);
	if (!r)
		snprintf(err, errlen, "%s: not a stampede result: %s", path, why);
	return r;
}

int result_write(const char *path, const struct result *r, char *err, size_t errlen)
{
	json_t *doc = result_to_json(r);
	char *text = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(REAL_DIGITS));
	json_decref(doc);
	if (!text) {
		snprintf(err, errlen, "cannot write '%s': the result could not be encoded", path);
		return -ENOMEM;
	}
	size_t len = strlen(text);
	text = xrealloc(text, len + 2);
	memcpy(text + len, "\n", 2);
	int rc = outfile_write(path, text, len + 1, err, errlen);
	free(text);
	return rc;
}
