/* compare.c: a run against a baseline, per metric and per endpoint (compare.h). */
#include "analysis/compare.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/stats.h"
#include "metrics/hdr.h"
#include "util/common.h"

#define SKIP_FRACTION 0.10 /* of the run left out at the start (the ramp, warm caches) */
#define SKIP_MIN_S    1.0
#define SKIP_MAX_S    30.0

/* The per-second statistics a time series point keeps (result.h: v = p50, p90, p95, p99,
 * max), by the names a limit may use. */
static const struct {
	const char *name, *k6; /* as typed, k6's name */
	int col;
} lat_stats[] = {
	{ "p50", "med", 0 },     { "med", "med", 0 },     { "p(50)", "med", 0 },
	{ "p90", "p(90)", 1 },   { "p(90)", "p(90)", 1 }, { "p95", "p(95)", 2 },
	{ "p(95)", "p(95)", 2 }, { "p99", "p(99)", 3 },   { "p(99)", "p(99)", 3 },
	{ "max", "max", 4 },
};

static int lat_col(const char *k6)
{
	for (size_t i = 0; i < ARRAY_SIZE(lat_stats); i++)
		if (!strcmp(lat_stats[i].k6, k6))
			return lat_stats[i].col;
	return -1;
}

void compare_opts_default(struct compare_opts *o)
{
	*o = (struct compare_opts){
		.limits = { { CMP_LATENCY, "p(95)", 0.20 },
		            { CMP_LATENCY, "p(99)", 0.30 },
		            { CMP_RPS, "", 0.10 },
		            { CMP_ERRORS, "", 0.005 } },
		.nlimits = 4,
		.from_s = NAN,
		.to_s = NAN,
		.endpoints = true,
		.alpha = COMPARE_ALPHA,
		.resamples = COMPARE_RESAMPLES,
	};
}

static int bad_limit(char *err, size_t errlen, const char *item, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad_limit(char *err, size_t errlen, const char *item, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "'%s': %s", item, why);
	return -EINVAL;
}

/* One "STAT=LIMIT" (or a bare "LIMIT") into o. */
static int parse_item(char *text, struct compare_opts *o, char *err, size_t errlen)
{
	char item[160]; /* as given, for the messages */
	snprintf(item, sizeof(item), "%s", text);
	char *eq = strchr(text, '='), *val = eq ? eq + 1 : text;
	const char *stat = eq ? text : NULL;
	if (eq)
		*eq = '\0';
	bool pp = false, pct = false;
	size_t n = strlen(val);
	if (n > 2 && !strcmp(val + n - 2, "pp"))
		pp = true, val[n - 2] = '\0';
	else if (n > 1 && val[n - 1] == '%')
		pct = true, val[n - 1] = '\0';
	char *end;
	errno = 0;
	double v = strtod(val, &end);
	if (end == val || *end || errno || !isfinite(v))
		return bad_limit(err, errlen, item,
		                 "the limit is a percentage (20%%, +20%%, -10%%) or, for errors, "
		                 "percentage points (+0.5pp)");
	if (!pp && !pct)
		return bad_limit(err, errlen, item,
		                 "give the limit's unit: %% (p95=20%%) or pp for errors (+0.5pp)");
	double mag = fabs(v) / 100;
	if (mag == 0 || mag > 100)
		return bad_limit(err, errlen, item,
		                 "the limit must be more than 0%% and at most "
		                 "10000%%");
	struct compare_limit l = { .limit = mag };
	if (!stat) { /* a bare percentage: every latency statistic */
		if (pp)
			return bad_limit(err, errlen, item,
			                 "percentage points go with errors "
			                 "(errors=+0.5pp)");
		static const char *const all[] = { "med", "p(90)", "p(95)", "p(99)", "max" };
		for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
			if (o->nlimits >= COMPARE_MAX_LIMITS)
				return bad_limit(err, errlen, item, "more than %d limits",
				                 COMPARE_MAX_LIMITS);
			l.kind = CMP_LATENCY;
			snprintf(l.stat, sizeof(l.stat), "%s", all[i]);
			o->limits[o->nlimits++] = l;
		}
		return 0;
	}
	if (!strcmp(stat, "rps")) {
		if (pp || v > 0)
			return bad_limit(err, errlen, item,
			                 "throughput's limit is a fall: rps=-10%%");
		l.kind = CMP_RPS;
	} else if (!strcmp(stat, "errors")) {
		if (!pp || v < 0)
			return bad_limit(err, errlen, item,
			                 "the error rate's limit is a rise in percentage points: "
			                 "errors=+0.5pp");
		l.kind = CMP_ERRORS;
	} else {
		const char *k6 = NULL;
		for (size_t i = 0; i < ARRAY_SIZE(lat_stats) && !k6; i++)
			if (!strcmp(lat_stats[i].name, stat))
				k6 = lat_stats[i].k6;
		if (!k6)
			return bad_limit(
			    err, errlen, item,
			    "unknown statistic '%s': compare takes p50 (med), p90, "
			    "p95, p99, max, rps or errors (the per-second statistics a "
			    "result keeps)",
			    stat);
		if (pp || v < 0)
			return bad_limit(err, errlen, item, "a latency limit is a rise: %s=20%%",
			                 stat);
		l.kind = CMP_LATENCY;
		snprintf(l.stat, sizeof(l.stat), "%s", k6);
	}
	for (int i = 0; i < o->nlimits; i++)
		if (o->limits[i].kind == l.kind && !strcmp(o->limits[i].stat, l.stat)) {
			o->limits[i] = l; /* the later one wins */
			return 0;
		}
	if (o->nlimits >= COMPARE_MAX_LIMITS)
		return bad_limit(err, errlen, item, "more than %d limits", COMPARE_MAX_LIMITS);
	o->limits[o->nlimits++] = l;
	return 0;
}

int compare_parse_limits(const char *text, struct compare_opts *o, char *err, size_t errlen)
{
	char buf[1024];
	if (!text || strlen(text) >= sizeof(buf)) {
		snprintf(err, errlen, "the list of limits is empty or too long");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	o->nlimits = 0;
	char *save = NULL;
	for (char *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*it))
			it++;
		char *e = it + strlen(it);
		while (e > it && isspace((unsigned char)e[-1]))
			*--e = '\0';
		/* "p95 +20%" (the seed's words) is "p95=+20%", and "p95 = 20%" is "p95=20%":
		 * the blanks around '=' (or standing for it) go */
		char *sp = strpbrk(it, " \t");
		if (sp && !strchr(it, '='))
			*sp = '=';
		for (char *q = it; *q;)
			if (isspace((unsigned char)*q))
				memmove(q, q + 1, strlen(q));
			else
				q++;
		if (!*it)
			continue;
		if (parse_item(it, o, err, errlen) < 0)
			return -EINVAL;
	}
	if (o->nlimits == 0) {
		snprintf(err, errlen, "no limit given (e.g. 'p95=20%%,errors=+0.5pp')");
		return -EINVAL;
	}
	return 0;
}

/* --- the runs' per-interval values ------------------------------------------------ */

/* The compared span of r: [from, to) s. */
static void span_of(const struct result *r, const struct compare_opts *o, double *from, double *to)
{
	double d = floor(r->duration_s); /* the last partial second left out */
	double skip = MIN(MAX(SKIP_FRACTION * r->duration_s, SKIP_MIN_S), SKIP_MAX_S);
	/* whole seconds: the per-second points start on them */
	*from = ceil(isfinite(o->from_s) ? o->from_s : skip);
	*to = isfinite(o->to_s) ? MIN(floor(o->to_s), d) : d;
}

static const char *tag_of(const struct result_series *s, const char *key)
{
	for (int i = 0; i < s->ntags; i++)
		if (!strcmp(s->tags[i].key, key))
			return s->tags[i].value;
	return NULL;
}

/* Per-interval sums over the span, by interval: w the weights (count), wv the weighted
 * values. */
struct grid {
	int step, n;
	double t0;
	double *w, *wv;
};

static void grid_init(struct grid *g, int step, double from, double to)
{
	g->step = step > 0 ? step : 1;
	g->t0 = from;
	g->n = to > from ? (int)ceil((to - from) / g->step) : 0;
	g->w = xcalloc((size_t)MAX(g->n, 1), sizeof(double));
	g->wv = xcalloc((size_t)MAX(g->n, 1), sizeof(double));
}

static void grid_free(struct grid *g)
{
	free(g->w);
	free(g->wv);
}

/* Add a series' points whose whole interval lies in the span. what: a point column (0..4:
 * v[col] weighted by count), or -1 for the count itself (summed), or -2 for a rate's
 * failures (v[0] x count, weights count). */
static void grid_add(struct grid *g, const struct result_timeseries *ts, int what, double to)
{
	if (ts->step != g->step)
		return; /* a series merged to another step: left out */
	for (int i = 0; i < ts->npoints; i++) {
		const struct result_point *p = &ts->points[i];
		if (p->t < g->t0 || p->t + ts->step > to)
			continue;
		int k = (int)((p->t - g->t0) / g->step);
		if (k < 0 || k >= g->n)
			continue;
		if (what == -1) {
			g->w[k] += 1, g->wv[k] += p->count;
		} else if (what == -2) {
			g->w[k] += p->count, g->wv[k] += (double)p->v[0] * p->count;
		} else if (p->count > 0) {
			g->w[k] += p->count, g->wv[k] += (double)p->v[what] * p->count;
		}
	}
}

/* The values a row compares: per interval, and the whole span's figure. */
struct sample {
	double *v;
	int n;
	double figure; /* what is shown: median per-second pXX, mean req/s, the error rate */
};

static void sample_free(struct sample *s)
{
	free(s->v);
	s->v = NULL;
}

/* The sample of one row from r: kind on the metric's series with name == endpoint (NULL:
 * the whole metric). Returns false when the metric is missing. */
static bool sample_of(const struct result *r, const struct compare_opts *o, enum compare_kind kind,
                      const char *stat, const char *endpoint, struct sample *out)
{
	static const char *const metric[] = { "http_req_duration", "http_reqs", "http_req_failed" };
	*out = (struct sample){ .figure = NAN };
	int m = result_find_metric(r, metric[kind]);
	if (m < 0)
		return false;
	double from, to;
	span_of(r, o, &from, &to);
	int what = kind == CMP_LATENCY ? lat_col(stat) : kind == CMP_RPS ? -1 : -2;
	struct grid g;
	int step = r->metrics[m].ts.step;
	grid_init(&g, step, from, to);
	if (!endpoint) {
		grid_add(&g, &r->metrics[m].ts, what, to);
	} else {
		for (int i = 0; i < r->nseries; i++) {
			const struct result_series *s = &r->series[i];
			const char *name = s->metric == m ? tag_of(s, "name") : NULL;
			if (name && !strcmp(name, endpoint))
				grid_add(&g, &s->ts, what, to);
		}
	}
	out->v = xcalloc((size_t)MAX(g.n, 1), sizeof(double));
	double w = 0, wv = 0;
	for (int k = 0; k < g.n; k++) {
		if (kind == CMP_RPS) { /* a second without a request served none */
			out->v[out->n++] = g.wv[k] / g.step;
			wv += g.wv[k];
			continue;
		}
		if (g.w[k] <= 0)
			continue;
		out->v[out->n++] = g.wv[k] / g.w[k];
		w += g.w[k], wv += g.wv[k];
	}
	grid_free(&g);
	if (out->n == 0)
		return true;
	if (kind == CMP_LATENCY) {
		double *tmp = xmalloc(sizeof(double) * (size_t)out->n);
		memcpy(tmp, out->v, sizeof(double) * (size_t)out->n);
		out->figure = stats_median(tmp, out->n);
		free(tmp);
	} else if (kind == CMP_RPS) {
		out->figure = wv / (out->n * (double)step);
	} else {
		out->figure = w > 0 ? wv / w : NAN;
	}
	return true;
}

/* --- rows --------------------------------------------------------------------------- */

static json_t *num(double v)
{
	if (!isfinite(v))
		return json_null();
	char b[32];
	snprintf(b, sizeof(b), "%.6g", v);
	return json_real(strtod(b, NULL));
}

/* "p < 0.001" or "p = 0.034". */
static const char *p_text(double p, char *buf, size_t len)
{
	if (p < 0.001)
		snprintf(buf, len, "p < 0.001");
	else
		snprintf(buf, len, "p = %.3f", p);
	return buf;
}

static const char *kind_name(enum compare_kind k)
{
	return k == CMP_LATENCY ? "latency" : k == CMP_RPS ? "throughput" : "errors";
}

/* The limit on (kind, stat), or NULL. */
static const struct compare_limit *limit_of(const struct compare_opts *o, enum compare_kind k,
                                            const char *stat)
{
	for (int i = 0; i < o->nlimits; i++)
		if (o->limits[i].kind == k &&
		    (k != CMP_LATENCY || !strcmp(o->limits[i].stat, stat)))
			return &o->limits[i];
	return NULL;
}

static void limit_text(const struct compare_limit *l, char *s, size_t len)
{
	if (l->kind == CMP_ERRORS)
		snprintf(s, len, "+%gpp", l->limit * 100);
	else
		snprintf(s, len, "%s%g%%", l->kind == CMP_RPS ? "-" : "+", l->limit * 100);
}

static void add_row_counts(json_t *doc, const char *verdict)
{
	const char *key = !strcmp(verdict, "regression")     ? "regressions"
	                  : !strcmp(verdict, "improvement")  ? "improvements"
	                  : !strcmp(verdict, "inconclusive") ? "inconclusive"
	                                                     : NULL;
	if (key)
		json_object_set_new(
		    doc, key, json_integer(json_integer_value(json_object_get(doc, key)) + 1));
}

/* One row: (kind, stat) on endpoint (or the whole metric). Returns the row, or NULL when
 * the metric is missing from one run (*missing: which). */
static json_t *row(const struct result *b, const struct result *c, const struct compare_opts *o,
                   enum compare_kind kind, const char *stat, const char *endpoint,
                   const char **missing)
{
	struct sample x, y;
	bool hb = sample_of(b, o, kind, stat, endpoint, &x),
	     hc = sample_of(c, o, kind, stat, endpoint, &y);
	if (!hb || !hc) {
		*missing = !hb ? "baseline" : "current run";
		sample_free(&x);
		sample_free(&y);
		return NULL;
	}
	bool worse_up = kind != CMP_RPS;
	const struct compare_limit *l = limit_of(o, kind, stat);
	double change = kind == CMP_ERRORS ? y.figure - x.figure : y.figure / x.figure - 1;
	double ratio = y.figure / x.figure;
	struct stats_ratio_ci ci = { .ratio = NAN, .lo = NAN, .hi = NAN };
	struct stats_mwu worse = { .p = NAN }, better = { .p = NAN };
	bool enough = x.n >= COMPARE_MIN_INTERVALS && y.n >= COMPARE_MIN_INTERVALS;
	if (enough) {
		stats_block_bootstrap_ratio(x.v, x.n, y.v, y.n,
		                            kind == CMP_LATENCY ? stats_median : stats_mean, 0,
		                            o->resamples, 0.95, COMPARE_SEED, &ci);
		stats_mann_whitney(y.v, y.n, x.v, x.n, worse_up ? STATS_GREATER : STATS_LESS,
		                   &worse);
		stats_mann_whitney(y.v, y.n, x.v, x.n, worse_up ? STATS_LESS : STATS_GREATER,
		                   &better);
	}
	/* The interval is the evidence: "worse" when it lies wholly past half the limit (a
	 * ratio, latency and throughput: every second of a run shares the machine's state, so
	 * a whole run shifted by noise shows a narrow interval away from 1; an interval past
	 * half the limit, with the figure itself past the limit, says the change is of the
	 * limit's size, while one that merely excludes 1 does not). The error rate's limit is
	 * in points, not a ratio: its interval must lie wholly above 1 (no interval: a
	 * baseline of 0 errors, the U test alone). */
	bool ci_ok = isfinite(ci.lo) && isfinite(ci.hi);
	double lim = l ? COMPARE_CI_MARGIN * l->limit : 0;
	if (kind == CMP_ERRORS)
		lim = 0;
	bool ci_worse = ci_ok ? (worse_up ? ci.lo > 1 + lim : ci.hi < 1 - lim) : kind == CMP_ERRORS;
	bool ci_better =
	    ci_ok ? (worse_up ? ci.hi < 1 - lim : ci.lo > 1 + lim) : kind == CMP_ERRORS;
	bool ev_worse = enough && worse.p < o->alpha && ci_worse;
	bool ev_better = enough && better.p < o->alpha && ci_better;
	const char *verdict = "not judged";
	char why[320] = "no limit on it: shown, not judged";
	if (l && isfinite(change)) {
		double signed_change = worse_up ? change : -change; /* > 0: worse */
		bool past_worse = signed_change > l->limit, past_better = -signed_change > l->limit;
		char lt[24], ps[24];
		limit_text(l, lt, sizeof(lt));
		if (past_worse && ev_worse) {
			verdict = "regression";
			snprintf(why, sizeof(why),
			         "past its limit %s, and the intervals say so (%s)", lt,
			         p_text(worse.p, ps, sizeof(ps)));
		} else if (past_better && ev_better) {
			verdict = "improvement";
			snprintf(why, sizeof(why),
			         "better by more than %s, and the intervals say so", lt);
		} else if ((past_worse || past_better) && !enough) {
			verdict = "inconclusive";
			snprintf(
			    why, sizeof(why),
			    "past %s, but too few intervals to tell (%d and %d; at least %d each)",
			    lt, x.n, y.n, COMPARE_MIN_INTERVALS);
		} else if (past_worse || past_better) {
			verdict = "inconclusive";
			if (ci_ok && kind != CMP_ERRORS)
				snprintf(
				    why, sizeof(why),
				    "past %s, but not surely: the ratio's 95%% interval (%.2f to "
				    "%.2f) reaches back within half the limit (%s)",
				    lt, ci.lo, ci.hi,
				    p_text(past_worse ? worse.p : better.p, ps, sizeof(ps)));
			else
				snprintf(
				    why, sizeof(why),
				    "past %s, but the intervals do not show it beyond their noise "
				    "(%s%s)",
				    lt, p_text(past_worse ? worse.p : better.p, ps, sizeof(ps)),
				    ci_ok ? ", the ratio's interval includes 1" : "");
		} else {
			verdict = "no change";
			snprintf(why, sizeof(why), "within its limit %s", lt);
		}
	} else if (l) {
		verdict = "inconclusive";
		snprintf(why, sizeof(why), "no value to compare (no request in the span of %s)",
		         !isfinite(x.figure) ? "the baseline" : "the current run");
	}
	json_t *j = json_object();
	json_object_set_new(j, "metric",
	                    json_string(kind == CMP_LATENCY ? "http_req_duration"
	                                : kind == CMP_RPS   ? "http_reqs"
	                                                    : "http_req_failed"));
	json_object_set_new(j, "stat",
	                    json_string(kind == CMP_LATENCY ? stat
	                                : kind == CMP_RPS   ? "rate"
	                                                    : "rate"));
	json_object_set_new(j, "endpoint", endpoint ? json_string(endpoint) : json_null());
	json_object_set_new(j, "kind", json_string(kind_name(kind)));
	json_object_set_new(j, "unit",
	                    json_string(kind == CMP_LATENCY ? "ms"
	                                : kind == CMP_RPS   ? "req/s"
	                                                    : "%"));
	double k = kind == CMP_ERRORS ? 100 : 1; /* error rates in % */
	json_object_set_new(j, "baseline", num(x.figure * k));
	json_object_set_new(j, "current", num(y.figure * k));
	json_object_set_new(j, "change", num(change * k));
	json_object_set_new(j, "ratio", num(ratio));
	json_object_set_new(j, "ciLow", num(ci.lo));
	json_object_set_new(j, "ciHigh", num(ci.hi));
	json_object_set_new(j, "p", num(worse.p));
	json_object_set_new(j, "intervals", json_pack("[i,i]", x.n, y.n));
	if (l) {
		char lt[24];
		limit_text(l, lt, sizeof(lt));
		json_object_set_new(j, "limit", json_string(lt));
	} else {
		json_object_set_new(j, "limit", json_null());
	}
	json_object_set_new(j, "verdict", json_string(verdict));
	json_object_set_new(j, "why", json_string(why));
	sample_free(&x);
	sample_free(&y);
	return j;
}

/* --- the runs --------------------------------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The scenario names of r (sorted, joined by ", "): options.scenarios' keys, else
 * "default". */
static void scenarios_of(const struct result *r, char *s, size_t len)
{
	const json_t *sc = json_object_get(r->options, "scenarios");
	const char *names[64];
	int n = 0;
	const char *k;
	const json_t *v;
	if (json_is_object(sc))
		json_object_foreach((json_t *)sc, k, v)
		{
			if (n < (int)ARRAY_SIZE(names))
				names[n++] = k;
		}
	if (n == 0)
		names[n++] = "default";
	qsort(names, (size_t)n, sizeof(*names), name_cmp);
	s[0] = '\0';
	for (int i = 0; i < n; i++)
		snprintf(s + strlen(s), len - strlen(s), "%s%s", i ? ", " : "", names[i]);
}

static json_t *run_info(const struct result *r, const struct compare_opts *o)
{
	char when[40] = "", sc[512];
	time_t t = (time_t)(r->start_wall_us / 1000000);
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	const char *src = json_string_value(json_object_get(r->options, "script"));
	if (!src)
		src = json_string_value(json_object_get(r->options, "url"));
	scenarios_of(r, sc, sizeof(sc));
	double from, to;
	span_of(r, o, &from, &to);
	return json_pack("{s:s, s:o, s:s, s:s?, s:s, s:o, s:o}", "start", when, "durationS",
	                 num(r->duration_s), "version", r->version ? r->version : "", "source", src,
	                 "scenarios", sc, "fromS", num(from), "toS", num(to));
}

/* The endpoints (name tags) of http_req_duration in r, by requests, most first. */
struct ep {
	const char *name;
	double reqs;
};

static int ep_cmp(const void *a, const void *b)
{
	const struct ep *x = a, *y = b;
	return (x->reqs < y->reqs) - (x->reqs > y->reqs);
}

static int endpoints_of(const struct result *r, struct ep *out, int max)
{
	int m = result_find_metric(r, "http_req_duration"), n = 0;
	if (m < 0)
		return 0;
	for (int i = 0; i < r->nseries; i++) {
		const struct result_series *s = &r->series[i];
		const char *name = s->metric == m ? tag_of(s, "name") : NULL;
		if (!name)
			continue;
		double c = s->total.h ? (double)s->total.h->total_count : 0;
		int k = 0;
		while (k < n && strcmp(out[k].name, name))
			k++;
		if (k == n) {
			if (n == max)
				continue;
			out[n++] = (struct ep){ name, 0 };
		}
		out[k].reqs += c;
	}
	qsort(out, (size_t)n, sizeof(*out), ep_cmp);
	return n;
}

static bool ep_has(const struct ep *e, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(e[i].name, name))
			return true;
	return false;
}

/* The rows of one endpoint (or of the whole run: endpoint NULL): every latency statistic
 * with a limit, and p95 and the median always; throughput; errors. */
static bool rows_of(json_t *rows, json_t *doc, const struct result *b, const struct result *c,
                    const struct compare_opts *o, const char *endpoint, char *err, size_t errlen)
{
	const char *stats[8];
	int ns = 0;
	stats[ns++] = "med";
	stats[ns++] = "p(95)";
	for (int i = 0; i < o->nlimits && ns < (int)ARRAY_SIZE(stats); i++) {
		const struct compare_limit *l = &o->limits[i];
		bool have = false;
		for (int k = 0; k < ns; k++)
			have |= !strcmp(stats[k], l->stat);
		if (l->kind == CMP_LATENCY && !have)
			stats[ns++] = l->stat;
	}
	for (int i = 0; i < ns + 2; i++) {
		enum compare_kind kind = i < ns ? CMP_LATENCY : i == ns ? CMP_RPS : CMP_ERRORS;
		const char *missing = NULL;
		json_t *j = row(b, c, o, kind, i < ns ? stats[i] : "", endpoint, &missing);
		if (!j) {
			if (endpoint)
				continue; /* an endpoint's failures alone: no series, no row */
			if (!limit_of(o, kind, i < ns ? stats[i] : ""))
				continue;
			snprintf(err, errlen,
			         "the %s has no %s metric, which the limit on %s needs", missing,
			         kind == CMP_LATENCY ? "http_req_duration"
			         : kind == CMP_RPS   ? "http_reqs"
			                             : "http_req_failed",
			         kind == CMP_LATENCY ? stats[i]
			         : kind == CMP_RPS   ? "rps"
			                             : "errors");
			return false;
		}
		add_row_counts(doc, json_string_value(json_object_get(j, "verdict")));
		json_array_append_new(rows, j);
	}
	return true;
}

static void summary_sentence(json_t *doc)
{
	json_t *rows = json_object_get(doc, "rows"), *worst = NULL, *r;
	size_t i;
	double worst_change = -INFINITY;
	json_array_foreach(rows, i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "verdict")), "regression"))
			continue;
		double ch = fabs(json_number_value(json_object_get(r, "change")));
		if (!worst || ch > worst_change)
			worst = r, worst_change = ch;
	}
	long reg = (long)json_integer_value(json_object_get(doc, "regressions")),
	     inc = (long)json_integer_value(json_object_get(doc, "inconclusive")),
	     imp = (long)json_integer_value(json_object_get(doc, "improvements"));
	char s[640];
	if (worst) {
		const char *ep = json_string_value(json_object_get(worst, "endpoint"));
		const char *unit = json_string_value(json_object_get(worst, "unit"));
		double ch = json_number_value(json_object_get(worst, "change"));
		const json_t *lo = json_object_get(worst, "ciLow"),
		             *hi = json_object_get(worst, "ciHigh");
		char chs[64], cis[96] = "";
		if (!strcmp(unit, "%"))
			snprintf(chs, sizeof(chs), "%+.2f points", ch);
		else
			snprintf(chs, sizeof(chs), "%+.0f%%", ch * 100);
		if (json_is_number(lo) && json_is_number(hi))
			snprintf(cis, sizeof(cis), " (95%% interval of the ratio %.2f to %.2f)",
			         json_number_value(lo), json_number_value(hi));
		snprintf(s, sizeof(s),
		         "Regression: %s of %s%s%s changed %s%s, past its limit %s%s.",
		         json_string_value(json_object_get(worst, "stat")),
		         json_string_value(json_object_get(worst, "metric")), ep ? " on " : "",
		         ep ? ep : "", chs, cis, json_string_value(json_object_get(worst, "limit")),
		         reg > 1 ? " (and more: see the rows)" : "");
	} else if (inc) {
		snprintf(s, sizeof(s),
		         "No regression shown, but %ld figure%s moved past %s limit without enough "
		         "evidence to tell: inconclusive (a longer run gives more intervals).",
		         inc, inc == 1 ? "" : "s", inc == 1 ? "its" : "their");
	} else if (imp) {
		snprintf(s, sizeof(s), "No regression; %ld figure%s improved past %s limit.", imp,
		         imp == 1 ? "" : "s", imp == 1 ? "its" : "their");
	} else {
		snprintf(s, sizeof(s), "No regression: every judged figure is within its limit.");
	}
	json_object_set_new(doc, "verdict",
	                    json_string(worst ? "regression"
	                                : inc ? "inconclusive"
	                                : imp ? "improvement"
	                                      : "no change"));
	json_object_set_new(doc, "summary", json_string(s));
}

json_t *compare_runs(const struct result *b, const struct result *c, const struct compare_opts *o,
                     char *err, size_t errlen)
{
	char sb[512], sc[512];
	scenarios_of(b, sb, sizeof(sb));
	scenarios_of(c, sc, sizeof(sc));
	if (strcmp(sb, sc)) {
		snprintf(err, errlen,
		         "the runs are of different tests: the baseline's scenarios are %s, the "
		         "current run's %s",
		         sb, sc);
		return NULL;
	}
	double fb, tb, fc, tc;
	span_of(b, o, &fb, &tb);
	span_of(c, o, &fc, &tc);
	if (tb - fb < 1 || tc - fc < 1) {
		snprintf(err, errlen,
		         "the %s has no whole second to compare between %.0f s and %.0f s (it "
		         "lasted %.1f s)",
		         tb - fb < 1 ? "baseline" : "current run", tb - fb < 1 ? fb : fc,
		         tb - fb < 1 ? tb : tc, tb - fb < 1 ? b->duration_s : c->duration_s);
		return NULL;
	}
	json_t *doc = json_object(), *rows = json_array(), *limits = json_array();
	json_object_set_new(doc, "baseline", run_info(b, o));
	json_object_set_new(doc, "current", run_info(c, o));
	json_object_set_new(doc, "alpha", num(o->alpha));
	for (int i = 0; i < o->nlimits; i++) {
		char lt[24];
		limit_text(&o->limits[i], lt, sizeof(lt));
		json_array_append_new(
		    limits,
		    json_pack("{s:s, s:s, s:o, s:s}", "kind", kind_name(o->limits[i].kind), "stat",
		              o->limits[i].kind == CMP_LATENCY ? o->limits[i].stat : "rate",
		              "limit", num(o->limits[i].limit), "text", lt));
	}
	json_object_set_new(doc, "limits", limits);
	json_object_set_new(doc, "regressions", json_integer(0));
	json_object_set_new(doc, "improvements", json_integer(0));
	json_object_set_new(doc, "inconclusive", json_integer(0));
	json_object_set_new(doc, "rows", rows);
	if (!rows_of(rows, doc, b, c, o, NULL, err, errlen)) {
		json_decref(doc);
		return NULL;
	}
	json_t *only_b = json_array(), *only_c = json_array();
	if (o->endpoints) {
		struct ep eb[COMPARE_MAX_ENDPOINTS], ec[COMPARE_MAX_ENDPOINTS];
		int nb = endpoints_of(b, eb, COMPARE_MAX_ENDPOINTS),
		    nc = endpoints_of(c, ec, COMPARE_MAX_ENDPOINTS);
		for (int i = 0; i < nb; i++) {
			if (!ep_has(ec, nc, eb[i].name)) {
				json_array_append_new(only_b, json_string(eb[i].name));
				continue;
			}
			if (nb < 2 && nc < 2)
				break; /* one endpoint: its rows are the whole run's */
			rows_of(rows, doc, b, c, o, eb[i].name, err, errlen);
		}
		for (int i = 0; i < nc; i++)
			if (!ep_has(eb, nb, ec[i].name))
				json_array_append_new(only_c, json_string(ec[i].name));
		if (nb == 1 && nc == 1) { /* one each (a quick run's URL): the same test */
			json_array_clear(only_b);
			json_array_clear(only_c);
		}
	}
	json_object_set_new(doc, "onlyInBaseline", only_b);
	json_object_set_new(doc, "onlyInCurrent", only_c);
	summary_sentence(doc);
	return doc;
}
