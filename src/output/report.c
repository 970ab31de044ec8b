/* report.c: metric values, error grouping and threshold evaluation for the outputs. */
#include "output/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/errkind.h"
#include "util/common.h"

static const double trend_pcts[] = { 90, 95, 99, 99.9 };

static bool any_samples(const struct report *r, int metric)
{
	struct combined c;
	aggregate_combine(r->agg, metric, NULL, 0, false, &c);
	bool any = c.any;
	combined_free(&c);
	return any;
}

json_t *report_metric_values(const struct report *r, int metric, const struct tag *filter,
                             int nfilter)
{
	struct combined c;
	double v;
	aggregate_combine(r->agg, metric, filter, nfilter, false, &c);
	/* The request counters are reported even when nothing completed; http_req_failed not
	 * when requests were made but none judged (http.setResponseCallback(nil), as k6). */
	bool always =
	    nfilter == 0 && (metric == M_HTTP_REQS || metric == M_ITERATIONS ||
	                     (metric == M_HTTP_REQ_FAILED && !any_samples(r, M_HTTP_REQS)));
	if (!c.any && !always) {
		combined_free(&c);
		return NULL;
	}
	json_t *o = json_object();
	switch (c.type) {
	case MT_TREND:
		json_object_set_new(o, "type", json_string("trend"));
		combined_value(&c, THR_AVG, 0, 0, &v);
		json_object_set_new(o, "avg", json_real(v));
		combined_value(&c, THR_MIN, 0, 0, &v);
		json_object_set_new(o, "min", json_real(v));
		combined_value(&c, THR_MED, 0, 0, &v);
		json_object_set_new(o, "med", json_real(v));
		combined_value(&c, THR_MAX, 0, 0, &v);
		json_object_set_new(o, "max", json_real(v));
		for (size_t i = 0; i < ARRAY_SIZE(trend_pcts); i++) {
			char key[16];
			snprintf(key, sizeof(key), "p(%g)", trend_pcts[i]);
			combined_value(&c, THR_PCT, trend_pcts[i], 0, &v);
			json_object_set_new(o, key, json_real(v));
		}
		json_object_set_new(o, "count", json_integer(c.h->total_count));
		if (r->trend_stats) { /* summaryTrendStats may ask for other percentiles */
			size_t i;
			json_t *st;
			json_array_foreach(r->trend_stats, i, st)
			{
				double pct;
				const char *name = json_string_value(st);
				if (name && !json_object_get(o, name) &&
				    sscanf(name, "p(%lf)", &pct) == 1 && pct >= 0 && pct <= 100) {
					combined_value(&c, THR_PCT, pct, 0, &v);
					json_object_set_new(o, name, json_real(v));
				}
			}
		}
		break;
	case MT_COUNTER:
		json_object_set_new(o, "type", json_string("counter"));
		json_object_set_new(o, "count",
		                    c.sum == floor(c.sum) && fabs(c.sum) < 9e15
		                        ? json_integer((json_int_t)c.sum)
		                        : json_real(c.sum));
		json_object_set_new(o, "rate",
		                    json_real(r->duration_s > 0 ? c.sum / r->duration_s : 0));
		break;
	case MT_RATE:
		json_object_set_new(o, "type", json_string("rate"));
		json_object_set_new(o, "rate",
		                    json_real(c.total ? (double)c.nz / (double)c.total : 0));
		json_object_set_new(o, "passes", json_integer(c.nz));
		json_object_set_new(o, "fails", json_integer(c.total - c.nz));
		break;
	case MT_GAUGE:
		json_object_set_new(o, "type", json_string("gauge"));
		json_object_set_new(o, "value", json_real(c.g_last));
		json_object_set_new(o, "min", json_real(c.g_min));
		json_object_set_new(o, "max", json_real(c.g_max));
		break;
	}
	combined_free(&c);
	return o;
}

json_t *report_metric_empty(const struct report *r, int metric)
{
	static const char *const types[] = { [MT_COUNTER] = "counter",
		                             [MT_GAUGE] = "gauge",
		                             [MT_RATE] = "rate",
		                             [MT_TREND] = "trend" };
	json_t *v = json_object();
	if (metric >= 0 && metric < r->reg->nmetrics)
		json_object_set_new(v, "type", json_string(types[r->reg->metrics[metric].type]));
	json_object_set_new(v, "count", json_integer(0));
	return v;
}

bool report_metric_has_threshold(const struct report *r, const char *metric)
{
	for (int i = 0; i < r->nthr; i++)
		if (strcmp(r->thr[i].metric, metric) == 0)
			return true;
	return false;
}

static const char *tag_value(const struct series_info *si, const char *key)
{
	for (int i = 0; i < si->ntags; i++)
		if (strcmp(si->tags[i].key, key) == 0)
			return si->tags[i].value;
	return NULL;
}

static enum err_kind kind_of_code(int code)
{
	for (int k = 1; k < ERR__COUNT; k++)
		if (err_kind_code((enum err_kind)k) == code)
			return (enum err_kind)k;
	return ERR_NONE;
}

static int cmp_count_desc(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "count"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "count"));
	return x < y ? 1 : x > y ? -1 : 0;
}

json_t *report_errors(const struct report *r)
{
	json_t *by = json_object(); /* kind name -> {kind, code, count} */
	for (int i = 0; i < r->agg->ns; i++) {
		const struct series_info *si = &r->reg->series[i];
		const struct slot *t = &r->agg->s[i].total;
		if (si->metric != M_HTTP_REQS || !t->used || t->sum <= 0)
			continue;
		const char *code = tag_value(si, "error_code");
		const char *status = tag_value(si, "status");
		const char *expected = tag_value(si, "expected_response");
		char name[64];
		const char *desc;
		int ncode = 0;
		if (code) {
			ncode = atoi(code);
			enum err_kind k = kind_of_code(ncode);
			snprintf(name, sizeof(name), "%s", err_kind_name(k));
			desc = err_kind_desc(k);
		} else if (status && expected && !strcmp(expected, "false")) {
			/* judged unexpected (200-399 by default, or the script's callback) */
			snprintf(name, sizeof(name), "status_%s", status);
			ncode = atoi(status);
			desc =
			    "HTTP status not expected (outside 200-399, or the response callback)";
		} else {
			continue;
		}
		json_t *e = json_object_get(by, name);
		if (!e) {
			e = json_object();
			json_object_set_new(e, "kind", json_string(name));
			json_object_set_new(e, "code", json_integer(ncode));
			json_object_set_new(e, "description", json_string(desc));
			json_object_set_new(e, "count", json_integer(0));
			json_object_set_new(by, name, e);
		}
		json_int_t n = json_integer_value(json_object_get(e, "count"));
		json_object_set_new(e, "count", json_integer(n + (json_int_t)llround(t->sum)));
	}
	size_t n = json_object_size(by), i = 0;
	json_t **items = xcalloc(n ? n : 1, sizeof(*items));
	const char *key;
	json_t *val;
	json_object_foreach(by, key, val) items[i++] = val;
	qsort(items, n, sizeof(*items), cmp_count_desc);
	json_t *arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append(arr, items[i]);
	free(items);
	json_decref(by);
	return arr;
}

int report_eval_thresholds(struct report *r)
{
	int failed = 0;
	for (int i = 0; i < r->nthr; i++) {
		struct threshold *t = &r->thr[i];
		int m = registry_find_metric(r->reg, t->metric);
		struct combined c;
		double v = NAN;
		struct tag filter[TAG_MAX];
		int nf = MIN(t->ntags, TAG_MAX);
		for (int j = 0; j < nf; j++)
			filter[j] = (struct tag){ t->tags[j].key, t->tags[j].value };
		if (m >= 0) {
			aggregate_combine(r->agg, m, filter, nf, false, &c);
			if (!c.any) {
				/* No samples: a counter counts 0 and a rate is 0 (k6 semantics). */
				if (c.type == MT_COUNTER || c.type == MT_RATE)
					v = 0;
			} else if (!combined_value(&c, (int)t->agg, t->pct, r->duration_s, &v)) {
				v = NAN;
			}
			combined_free(&c);
		}
		t->evaluated = true;
		t->last_value = v;
		t->ok = threshold_compare(t, v);
		if (!t->ok)
			failed++;
	}
	return failed;
}

/* --- root_group: the tree of groups and checks, from the series' tags ------------------ */

static json_t *group_node(const char *name, const char *path)
{
	json_t *g = json_object();
	json_object_set_new(g, "name", json_string(name));
	json_object_set_new(g, "path", json_string(path));
	json_object_set_new(g, "groups", json_array());
	json_object_set_new(g, "checks", json_array());
	return g;
}

/* The node for group path "::a::b" (created on the way). Borrowed reference. */
static json_t *group_at(json_t *root, const char *path)
{
	json_t *node = root;
	const char *p = path;
	while (*p) {
		if (strncmp(p, "::", 2) != 0)
			break;
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

json_t *report_root_group(const struct report *r)
{
	json_t *root = group_node("", "");
	for (int i = 0; i < r->agg->ns; i++) {
		const struct series_info *si = &r->reg->series[i];
		const struct slot *t = &r->agg->s[i].total;
		if (!t->used || (si->metric != M_CHECKS && si->metric != M_GROUP_DURATION))
			continue;
		const char *group = tag_value(si, "group");
		json_t *g = group_at(root, group ? group : "");
		if (si->metric != M_CHECKS)
			continue;
		const char *name = tag_value(si, "check");
		if (!name)
			continue;
		json_t *checks = json_object_get(g, "checks"), *c = NULL, *k;
		size_t j;
		json_array_foreach(checks, j, k)
		{
			if (!strcmp(json_string_value(json_object_get(k, "name")), name)) {
				c = k;
				break;
			}
		}
		if (!c) {
			c = json_object();
			json_object_set_new(c, "name", json_string(name));
			char path[1024];
			snprintf(path, sizeof(path), "%s::%s", group ? group : "", name);
			json_object_set_new(c, "path", json_string(path));
			json_object_set_new(c, "passes", json_integer(0));
			json_object_set_new(c, "fails", json_integer(0));
			json_array_append_new(checks, c);
		}
		json_int_t p = json_integer_value(json_object_get(c, "passes"));
		json_int_t f = json_integer_value(json_object_get(c, "fails"));
		json_object_set_new(c, "passes", json_integer(p + t->nz));
		json_object_set_new(c, "fails", json_integer(f + (t->total - t->nz)));
	}
	return root;
}
