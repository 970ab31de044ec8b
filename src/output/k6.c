/* k6.c: k6's two JSON summary documents, built from the result: the data object that
 * handleSummary(data) receives, and the legacy --summary-export document. */
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"
#include "util/common.h"
#include "util/outfile.h"

/*
 * Sources (grafana/k6, the version current at the time of writing):
 *   internal/js/summary.go      summarizeMetricsToObject(), exportGroup(), metricValueGetter():
 *                               the handleSummary(data) object;
 *   internal/js/summary-wrapper.js  oldJSONSummary(), transformGroup(): --summary-export is
 *                               that object with options and state deleted, each metric
 *                               replaced by its values (plus thresholds {SOURCE: failed},
 *                               a rate's "rate" renamed "value") and groups and checks turned
 *                               into objects keyed by name, written with 4-space indents;
 *   internal/metrics/engine/engine.go  which metrics appear ("observed" ones: any sample, or
 *                               named by a threshold, with the parent of a sub-metric);
 *   metrics/metric.go AddSubmetric  a sub-metric's name: "metric{" + the selector text + "}";
 *   metrics/sink.go             the values of each type, 0 for an empty sink;
 *   lib/models.go               group and check paths ("::a::b") and ids (md5 hex of the path).
 */

/* Paths longer than this are cut in the tree (group names come from scripts). */

/* A number as JSON.stringify writes a JS number: integral values without a fraction. k6
 * never holds NaN or infinity in these documents; should one come, it is written as 0. */
static json_t *k6_num(double v)
{
	if (!isfinite(v))
		return json_integer(0);
	if (v == trunc(v) && fabs(v) < 9007199254740992.0) /* 2^53: exact as an integer */
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* md5 hex of s, as k6 computes group and check ids (lib/models.go). */
static void k6_id(const char *s, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!EVP_Digest(s, strlen(s), md, &n, EVP_md5(), NULL) || n != 16) {
		out[0] = '\0';
		return;
	}
	for (unsigned int i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* --- root_group ------------------------------------------------------------------- */

/* A copy of a root_group node (result_root_group()) with k6's "id" after its "path",
 * its checks given theirs, its groups copied the same way. New reference. */
static json_t *k6_node(json_t *node, int depth)
{
	json_t *o = json_object();
	const char *key;
	json_t *v;
	char id[33];
	json_object_foreach(node, key, v)
	{
		if (!strcmp(key, "groups") || !strcmp(key, "checks")) {
			json_t *a = json_array(), *kid;
			size_t i;
			json_array_foreach(v, i, kid) json_array_append_new(
			    a, depth < 64 ? k6_node(kid, depth + 1) : json_deep_copy(kid));
			json_object_set_new(o, key, a);
		} else {
			json_object_set(o, key, v);
		}
		if (!strcmp(key, "path")) {
			k6_id(json_string_value(v), id);
			json_object_set_new(o, "id", json_string(id));
		}
	}
	return o;
}

/* summary.go exportGroup(): {name, path, id, groups: [...], checks: [...]}, in the order
 * groups and checks were first seen: the result's tree with k6's ids. */
static json_t *k6_root_group(const struct result *r)
{
	json_t *tree = result_root_group(r);
	json_t *root = k6_node(tree, 0);
	json_decref(tree);
	return root;
}

/* --- metrics ---------------------------------------------------------------------- */

/* summaryTrendStats: the result's, else the run's (env), else k6's default. */
static json_t *k6_trend_stats(const struct result *r, const struct output_env *env)
{
	if (!r->trend_stats && env && json_is_array(env->trend_stats) &&
	    json_array_size(env->trend_stats))
		return json_deep_copy(env->trend_stats);
	int n;
	const char *const *stats = result_trend_stats(r, &n);
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(stats[i]));
	return a;
}

static void k6_set_stat(json_t *o, const struct result_values *v, enum result_unit unit,
                        const char *stat, double duration_s)
{
	double x = 0; /* an empty sink's value (metrics/sink.go) */
	if (!result_stat(v, unit, stat, duration_s, &x))
		x = 0;
	json_object_set_new(o, stat, k6_num(x));
}

/* summary.go metricValueGetter(): trend: the summaryTrendStats; counter: count, rate;
 * gauge: value, min, max; rate: rate, passes, fails. */
static json_t *k6_values(const struct result *r, const struct result_values *v,
                         enum result_unit unit, json_t *trend_stats)
{
	static const char *const counter[] = { "count", "rate" };
	static const char *const gauge[] = { "value", "min", "max" };
	static const char *const rate[] = { "rate", "passes", "fails" };
	json_t *o = json_object();
	const char *const *keys = NULL;
	size_t n = 0, i;
	json_t *st;
	switch (v->type) {
	case MT_TREND:
		json_array_foreach(trend_stats, i, st)
		{
			if (json_string_value(st))
				k6_set_stat(o, v, unit, json_string_value(st), r->duration_s);
		}
		return o;
	case MT_COUNTER:
		keys = counter, n = ARRAY_SIZE(counter);
		break;
	case MT_GAUGE:
		keys = gauge, n = ARRAY_SIZE(gauge);
		break;
	case MT_RATE:
		keys = rate, n = ARRAY_SIZE(rate);
		break;
	}
	for (i = 0; i < n; i++)
		k6_set_stat(o, v, unit, keys[i], r->duration_s);
	return o;
}

/* The text of a threshold as the user gave it, k6's key in "thresholds": the expression
 * (stampede's --threshold 'METRIC: EXPR' form keeps the part after the colon). */
static const char *k6_threshold_key(const struct result_threshold *t)
{
	const char *s = t->source ? t->source : t->expr;
	if (!s)
		return "";
	int depth = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '{')
			depth++;
		else if (*p == '}')
			depth--;
		else if (*p == ':' && depth == 0) {
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
	}
	return s;
}

/* One metrics entry {type, contains, values} for metric m filtered by tags, or NULL when
 * it has no sample and must_show is false. */
static json_t *k6_metric(const struct result *r, int m, const struct result_tag *tags, int ntags,
                         bool must_show, json_t *trend_stats)
{
	const struct result_metric *rm = &r->metrics[m];
	struct result_values v;
	bool any = result_combine(r, m, tags, ntags, &v);
	if (!any && !must_show) {
		result_values_free(&v);
		return NULL;
	}
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string(result_type_name(rm->type)));
	json_object_set_new(o, "contains", json_string(result_contains(rm->unit)));
	json_object_set_new(o, "values", k6_values(r, &v, rm->unit, trend_stats));
	result_values_free(&v);
	return o;
}

static bool k6_has_threshold(const struct result *r, const char *selector)
{
	for (int i = 0; i < r->nthresholds; i++)
		if (r->thresholds[i].selector && !strcmp(r->thresholds[i].selector, selector))
			return true;
	return false;
}

/* Whether systemTags (when given) includes expected_response, as k6's default does. */
static bool k6_expected_response_tag(const struct result *r)
{
	json_t *st = json_object_get(r->options, "systemTags");
	if (!json_is_array(st))
		return true;
	size_t i;
	json_t *t;
	json_array_foreach(st, i, t)
	{
		if (json_string_value(t) && !strcmp(json_string_value(t), "expected_response"))
			return true;
	}
	return false;
}

static json_t *k6_metrics(const struct result *r, json_t *trend_stats)
{
	json_t *metrics = json_object();
	/* Every metric with a sample, and every metric a threshold names (engine.go). */
	for (int m = 0; m < r->nmetrics; m++) {
		bool named = false;
		for (int i = 0; i < r->nthresholds && !named; i++)
			named = r->thresholds[i].metric &&
			        !strcmp(r->thresholds[i].metric, r->metrics[m].name);
		json_t *o = k6_metric(r, m, NULL, 0, named, trend_stats);
		if (o)
			json_object_set_new(metrics, r->metrics[m].name, o);
	}
	/* Sub-metrics named by thresholds, shown even without samples. */
	for (int i = 0; i < r->nthresholds; i++) {
		const struct result_threshold *t = &r->thresholds[i];
		int m = t->metric ? result_find_metric(r, t->metric) : -1;
		if (m < 0 || !t->ntags || !t->selector || json_object_get(metrics, t->selector))
			continue;
		json_object_set_new(metrics, t->selector,
		                    k6_metric(r, m, t->tags, t->ntags, true, trend_stats));
	}
	/* k6 adds http_req_duration{expected_response:true} when the expected_response system
	 * tag is on (engine.go InitSubMetricsAndThresholds); it shows once a sample matches. */
	static const struct result_tag expected = { "expected_response", "true" };
	static const char *const expected_name = "http_req_duration{expected_response:true}";
	int hd = result_find_metric(r, "http_req_duration");
	if (hd >= 0 && k6_expected_response_tag(r) && !json_object_get(metrics, expected_name) &&
	    !k6_has_threshold(r, expected_name)) {
		json_t *o = k6_metric(r, hd, &expected, 1, false, trend_stats);
		if (o)
			json_object_set_new(metrics, expected_name, o);
	}
	/* thresholds: {SOURCE: {ok}} on the metric or sub-metric they name. */
	for (int i = 0; i < r->nthresholds; i++) {
		const struct result_threshold *t = &r->thresholds[i];
		json_t *o = t->selector ? json_object_get(metrics, t->selector) : NULL;
		if (!o)
			continue;
		json_t *th = json_object_get(o, "thresholds");
		if (!th) {
			th = json_object();
			json_object_set_new(o, "thresholds", th);
		}
		json_t *e = json_object();
		json_object_set_new(e, "ok", json_boolean(t->ok));
		json_object_set_new(th, k6_threshold_key(t), e);
	}
	return metrics;
}

/* --- the two documents ------------------------------------------------------------ */

json_t *k6_summary_data(const struct result *r, const struct output_env *env)
{
	json_t *trend_stats = k6_trend_stats(r, env);
	json_t *d = json_object();
	json_object_set_new(d, "root_group", k6_root_group(r));

	json_t *opts = json_object();
	json_t *unit = json_object_get(r->options, "summaryTimeUnit");
	json_object_set(opts, "summaryTrendStats", trend_stats);
	json_object_set_new(opts, "summaryTimeUnit",
	                    json_string(json_is_string(unit) ? json_string_value(unit) : ""));
	/* k6's --no-color or NO_COLOR: a terminal without colours says so; elsewhere only the
	 * environment can. */
	bool no_color = (env && env->stdout_tty && !env->color_stdout) || getenv("NO_COLOR");
	json_object_set_new(opts, "noColor", json_boolean(no_color));
	json_object_set_new(d, "options", opts);

	json_t *state = json_object();
	json_object_set_new(state, "isStdOutTTY", json_boolean(env && env->stdout_tty));
	json_object_set_new(state, "isStdErrTTY", json_boolean(env && env->stderr_tty));
	json_object_set_new(state, "testRunDurationMs", k6_num(r->duration_s * 1e3));
	json_object_set_new(d, "state", state);

	json_object_set_new(d, "metrics", k6_metrics(r, trend_stats));
	if (r->setup_data)
		json_object_set_new(d, "setup_data", json_deep_copy(r->setup_data));
	json_decref(trend_stats);
	return d;
}

/* summary-wrapper.js transformGroup(): groups and checks as objects keyed by name. */
static void k6_legacy_group(json_t *g)
{
	const char *const lists[] = { "groups", "checks" };
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		json_t *arr = json_object_get(g, lists[l]);
		if (!json_is_array(arr))
			continue;
		json_t *obj = json_object();
		size_t i;
		json_t *e;
		json_array_foreach(arr, i, e)
		{
			if (l == 0)
				k6_legacy_group(e);
			json_object_set(obj, json_string_value(json_object_get(e, "name")), e);
		}
		json_object_set_new(g, lists[l], obj);
	}
}

/* summary-wrapper.js oldJSONSummary(): each metric becomes its values; thresholds
 * {SOURCE: !ok} (true: failed); a rate's "rate" becomes "value" (added last). */
static void k6_legacy_metric(json_t *metrics, const char *name, json_t *metric)
{
	json_t *old = json_incref(json_object_get(metric, "values"));
	if (!old)
		old = json_object();
	json_t *th = json_object_get(metric, "thresholds");
	if (json_object_size(th) > 0) {
		json_t *flags = json_object();
		const char *src;
		json_t *t;
		json_object_foreach(th, src, t)
		{
			json_object_set_new(flags, src,
			                    json_boolean(!json_is_true(json_object_get(t, "ok"))));
		}
		json_object_set_new(old, "thresholds", flags);
	}
	const char *type = json_string_value(json_object_get(metric, "type"));
	json_t *rate = json_object_get(old, "rate");
	if (type && !strcmp(type, "rate") && rate) {
		json_incref(rate);
		json_object_del(old, "rate");
		json_object_set_new(old, "value", rate);
	}
	json_object_set_new(metrics, name, old); /* releases metric */
}

json_t *k6_legacy_export(const struct result *r, const struct output_env *env)
{
	json_t *d = k6_summary_data(r, env);
	json_object_del(d, "options");
	json_object_del(d, "state");
	json_t *metrics = json_object_get(d, "metrics");
	const char *name;
	json_t *m;
	void *tmp;
	json_object_foreach_safe(metrics, tmp, name, m)
	{
		k6_legacy_metric(metrics, name, m);
	}
	k6_legacy_group(json_object_get(d, "root_group"));
	return d;
}

/* --- --summary-export FILE -------------------------------------------------------- */

static int k6_export_open(struct output *o, char *err, size_t errlen)
{
	return outfile_check(o->arg ? o->arg : "", err, errlen);
}

static int k6_export_finish(struct output *o, const struct result *r, char *err, size_t errlen)
{
	json_t *doc = k6_legacy_export(r, o->env);
	char *text = json_dumps(doc, JSON_INDENT(4) | JSON_REAL_PRECISION(15));
	json_decref(doc);
	if (!text) {
		snprintf(err, errlen, "cannot write '%s': the summary could not be encoded",
		         o->arg);
		return -ENOMEM;
	}
	size_t len = strlen(text);
	char *out = xmalloc(len + 2);
	memcpy(out, text, len);
	memcpy(out + len, "\n", 2);
	free(text);
	int rc = outfile_write(o->arg, out, len + 1, err, errlen);
	free(out);
	return rc;
}

static void k6_export_interval(struct output *o, const struct result_interval *iv)
{
	UNUSED(o);
	UNUSED(iv);
}

static void k6_export_close(struct output *o)
{
	UNUSED(o);
}

const struct output_ops output_k6_export = {
	.name = "summary-export",
	.open = k6_export_open,
	.interval = k6_export_interval,
	.finish = k6_export_finish,
	.close = k6_export_close,
};
