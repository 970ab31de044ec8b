/* export.c: the end-of-test JSON summary (--summary-export), written by outfile. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/outfile.h"
#include "output/report.h"
#include "util/common.h"

static json_t *tags_json(const struct series_info *si)
{
	json_t *o = json_object();
	for (int i = 0; i < si->ntags; i++)
		json_object_set_new(o, si->tags[i].key, json_string(si->tags[i].value));
	return o;
}

static json_t *points_json(const struct point *pts, int n, enum metric_type type)
{
	json_t *arr = json_array();
	for (int i = 0; i < n; i++) {
		const struct point *p = &pts[i];
		json_t *row = json_array();
		json_array_append_new(row, json_integer(p->t));
		json_array_append_new(row, json_real(p->count));
		int nv = type == MT_TREND ? 5 : type == MT_COUNTER ? 0 : type == MT_RATE ? 1 : 3;
		for (int j = 0; j < nv; j++)
			json_array_append_new(row, json_real(p->v[j]));
		json_array_append_new(arr, row);
	}
	return arr;
}

static json_t *columns_json(enum metric_type type)
{
	static const char *trend[] = { "t", "count", "p50", "p90", "p95", "p99", "max" };
	static const char *counter[] = { "t", "count" };
	static const char *rate[] = { "t", "count", "rate" };
	static const char *gauge[] = { "t", "count", "value", "min", "max" };
	const char **c;
	size_t n;
	switch (type) {
	case MT_TREND:
		c = trend, n = ARRAY_SIZE(trend);
		break;
	case MT_COUNTER:
		c = counter, n = ARRAY_SIZE(counter);
		break;
	case MT_RATE:
		c = rate, n = ARRAY_SIZE(rate);
		break;
	default:
		c = gauge, n = ARRAY_SIZE(gauge);
		break;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(c[i]));
	return a;
}

static json_t *timeseries_json(const struct report *r)
{
	json_t *arr = json_array();
	struct aggregate *a = r->agg;
	/* Whole-metric series first (tags {}), then one per tag set. */
	for (int m = 0; m < a->nmp; m++) {
		if (!a->mp[m].npoints)
			continue;
		enum metric_type type = r->reg->metrics[m].type;
		json_t *o = json_object();
		json_object_set_new(o, "metric", json_string(r->reg->metrics[m].name));
		json_object_set_new(o, "tags", json_object());
		json_object_set_new(o, "columns", columns_json(type));
		json_object_set_new(o, "step", json_integer(MAX(a->mp[m].step, 1)));
		json_object_set_new(o, "points",
		                    points_json(a->mp[m].points, a->mp[m].npoints, type));
		json_array_append_new(arr, o);
	}
	for (int i = 0; i < a->ns; i++) {
		const struct series_info *si = &r->reg->series[i];
		if (!a->s[i].npoints || si->ntags == 0)
			continue;
		enum metric_type type = r->reg->metrics[si->metric].type;
		json_t *o = json_object();
		json_object_set_new(o, "metric", json_string(r->reg->metrics[si->metric].name));
		json_object_set_new(o, "tags", tags_json(si));
		json_object_set_new(o, "columns", columns_json(type));
		json_object_set_new(o, "step", json_integer(MAX(a->s[i].step, 1)));
		json_object_set_new(o, "points",
		                    points_json(a->s[i].points, a->s[i].npoints, type));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *histograms_json(const struct report *r)
{
	json_t *o = json_object();
	for (int m = 0; m < r->reg->nmetrics; m++) {
		if (r->reg->metrics[m].type != MT_TREND)
			continue;
		struct combined c;
		aggregate_combine(r->agg, m, NULL, 0, false, &c);
		char *enc = NULL;
		if (c.any && hdr_encode(c.h, &enc) == 0)
			json_object_set_new(o, r->reg->metrics[m].name, json_string(enc));
		free(enc);
		combined_free(&c);
	}
	return o;
}

static void add_threshold_to_metric(json_t *metrics, const struct threshold *t)
{
	json_t *m = json_object_get(metrics, t->selector);
	if (!m)
		return;
	json_t *th = json_object_get(m, "thresholds");
	if (!th) {
		th = json_object();
		json_object_set_new(m, "thresholds", th);
	}
	json_t *e = json_object();
	json_object_set_new(e, "ok", json_boolean(t->ok));
	json_object_set_new(th, t->expr, e);
}

json_t *export_build(const struct report *r)
{
	json_t *root = json_object();
	json_t *metrics = json_object();
	for (int m = 0; m < r->reg->nmetrics; m++) {
		const char *name = r->reg->metrics[m].name;
		json_t *v = report_metric_values(r, m, NULL, 0);
		if (!v && report_metric_has_threshold(r, name))
			v = report_metric_empty(r, m); /* its failed threshold shows where it is */
		if (v)
			json_object_set_new(metrics, name, v);
	}
	json_t *thr = json_array();
	for (int i = 0; i < r->nthr; i++) {
		const struct threshold *t = &r->thr[i];
		if (t->ntags && !json_object_get(metrics, t->selector)) {
			struct tag f[TAG_MAX];
			int nf = MIN(t->ntags, TAG_MAX);
			for (int j = 0; j < nf; j++)
				f[j] = (struct tag){ t->tags[j].key, t->tags[j].value };
			int m = registry_find_metric(r->reg, t->metric);
			json_t *v = m >= 0 ? report_metric_values(r, m, f, nf) : NULL;
			if (!v) /* a sub-metric with no samples: its type, and nothing seen */
				v = report_metric_empty(r, m);
			json_object_set_new(metrics, t->selector, v);
		}
		add_threshold_to_metric(metrics, t);
		json_t *o = json_object();
		json_object_set_new(o, "metric", json_string(t->metric));
		json_object_set_new(o, "selector", json_string(t->selector));
		json_object_set_new(o, "expression", json_string(t->expr));
		json_object_set_new(
		    o, "value", isfinite(t->last_value) ? json_real(t->last_value) : json_null());
		json_object_set_new(o, "ok", json_boolean(t->ok));
		json_object_set_new(o, "abortOnFail", json_boolean(t->abort_on_fail));
		json_array_append_new(thr, o);
	}
	json_object_set_new(root, "metrics", metrics);
	json_object_set_new(root, "thresholds", thr);
	json_object_set_new(root, "errors", report_errors(r));
	json_object_set_new(root, "root_group", report_root_group(r));
	json_object_set_new(root, "script_errors",
	                    r->script_errors ? json_incref(r->script_errors) : json_array());

	json_t *state = json_object();
	json_object_set_new(state, "testRunDurationMs", json_real(r->duration_s * 1e3));
	json_object_set_new(state, "interrupted", json_boolean(r->interrupted));
	json_object_set_new(state, "aborted", json_boolean(r->aborted));
	if (r->abort_reason)
		json_object_set_new(state, "abortReason", json_string(r->abort_reason));
	json_object_set_new(state, "interruptedIterations",
	                    json_integer(r->interrupted_iterations));
	json_object_set_new(state, "startTime", json_real((double)r->start_wall_us / 1e6));
	json_object_set_new(root, "state", state);
	json_object_set_new(root, "options", r->options ? json_incref(r->options) : json_object());

	json_t *gen = json_object();
	json_object_set_new(gen, "threads", json_integer(r->threads));
	json_object_set_new(gen, "cpu_percent", json_real(r->cpu_percent));
	json_object_set_new(
	    gen, "cpu_saturated",
	    json_boolean(r->saturated_seconds > 0 || r->host_saturated_seconds > 0));
	json_object_set_new(gen, "saturated_seconds", json_integer(r->saturated_seconds));
	json_object_set_new(gen, "host_saturated_seconds", json_integer(r->host_saturated_seconds));
	json_object_set_new(gen, "max_rss_kb", json_integer(r->max_rss_kb));
	if (r->open_model)
		json_object_set_new(gen, "late_start_backlog_max", json_integer(r->backlog_max));
	json_object_set_new(root, "generator", gen);
	json_object_set_new(root, "timeseries", timeseries_json(r));
	json_object_set_new(root, "histograms", histograms_json(r));
	return root;
}

int export_check_path(const char *path, char *err, size_t errlen)
{
	return outfile_check(path, err, errlen);
}

int export_write(const char *path, const struct report *r, char *err, size_t errlen)
{
	json_t *root = export_build(r);
	char *text = json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
	json_decref(root);
	if (!text) {
		snprintf(err, errlen, "cannot write '%s': the summary could not be encoded", path);
		return -ENOMEM;
	}
	size_t len = strlen(text);
	text = xrealloc(text, len + 2);
	memcpy(text + len, "\n", 2);
	int rc = outfile_write(path, text, len + 1, err, errlen);
	free(text);
	return rc;
}
