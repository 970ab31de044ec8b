/* leak.c: leaks from the monitoring's gauges (leak.h). */
#include "analysis/leak.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/trend.h"
#include "util/common.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n) /* sorts v */
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The spread of y around Sen's line: 1.4826 x the median absolute deviation of the
 * residuals (the standard deviation for normal noise, robust to the outliers). */
static double robust_sd(const double *x, const double *y, int n, double slope, double icpt)
{
	double *r = xcalloc((size_t)n, sizeof(*r));
	for (int i = 0; i < n; i++)
		r[i] = y[i] - (icpt + slope * x[i]);
	double med = median(r, n);
	for (int i = 0; i < n; i++)
		r[i] = fabs(r[i] - med);
	double mad = median(r, n);
	free(r);
	return 1.4826 * mad;
}

void leak_judge(const double *t, const double *y, int n, double step_s, double from_s, double to_s,
                double floor_abs, double floor_rel, struct leak_verdict *out)
{
	memset(out, 0, sizeof(*out));
	out->from_s = from_s;
	out->to_s = to_s;
	double span = to_s - from_s;
	if (!(span >= LEAK_MIN_WINDOW_S)) {
		out->why = "the run is too short after the warm-up (20 s at least)";
		return;
	}
	step_s = MAX(step_s, 1);
	/* intervals of whole points, about LEAK_INTERVALS of them */
	double k = step_s * MAX(1, floor(span / LEAK_INTERVALS / step_s));
	int m = (int)floor(span / k);
	double *xs = xcalloc((size_t)MAX(m, 1), sizeof(*xs));
	double *ys = xcalloc((size_t)MAX(m, 1), sizeof(*ys));
	int got = 0;
	for (int i = 0; i < m; i++) {
		double a = from_s + i * k, b = a + k, lo = INFINITY;
		for (int j = 0; j < n; j++)
			if (t[j] >= a && t[j] + step_s <= b + 1e-9 && isfinite(y[j]))
				lo = MIN(lo, y[j]);
		if (isfinite(lo)) {
			xs[got] = a + k / 2;
			ys[got++] = lo;
		}
	}
	out->interval_s = k;
	out->intervals = got;
	struct trend_result tr;
	if (got < LEAK_MIN_INTERVALS ||
	    trend_test(xs, ys, got, LEAK_ALPHA, TREND_CORR_HAMED_RAO, &tr) < 0) {
		out->why = "too few readings after the warm-up";
		free(xs);
		free(ys);
		return;
	}
	out->judged = true;
	out->per_s = tr.slope;
	out->per_s_lo = tr.slope_lo;
	out->per_s_hi = tr.slope_hi;
	out->p = tr.p;
	out->start_level = tr.intercept + tr.slope * from_s;
	out->end_level = tr.intercept + tr.slope * to_s;
	out->growth = tr.slope * span;
	out->significant = tr.direction > 0 && tr.slope_lo > 0;
	out->noise = robust_sd(xs, ys, got, tr.slope, tr.intercept);
	/* persistent: each half of the window rises on its own (a wandering level rises in
	 * one half and falls in the other; a leak rises in both) */
	struct trend_result h1, h2;
	int half = got / 2;
	out->persistent = half >= TREND_MIN_N &&
	                  trend_test(xs, ys, half, LEAK_ALPHA, TREND_CORR_HAMED_RAO, &h1) == 0 &&
	                  trend_test(xs + half, ys + half, got - half, LEAK_ALPHA,
	                             TREND_CORR_HAMED_RAO, &h2) == 0 &&
	                  h1.slope > 0 && h2.slope > 0;
	out->material = out->growth >= floor_abs &&
	                out->growth >= floor_rel * fabs(out->start_level) &&
	                out->growth >= LEAK_NOISE_FACTOR * out->noise;
	out->leaking = out->significant && out->material && out->persistent;
	free(xs);
	free(ys);
}

/* The series judged, with their floors and units. */
static const struct {
	const char *metric;
	const char *what;
	bool bytes;
	double floor_abs, floor_rel;
} watched[] = {
	{ "target_rss_bytes", "the target's memory (RSS)", true, 1 << 20, 0.02 },
	{ "target_open_fds", "the target's open file descriptors", false, 8, 0.02 },
	{ "generator_rss_bytes", "stampede's own memory (RSS)", true, 1 << 20, 0.02 },
};

/* "12.3 MB" (decimal units, as the summary's data) or "12" for counts, into buf. */
static const char *amount(double v, bool bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	if (!bytes) {
		snprintf(buf, len, "%.*f", fabs(v) < 10 ? 2 : fabs(v) < 100 ? 1 : 0, v);
		return buf;
	}
	int u = 0;
	double a = fabs(v);
	while (a >= 1000 && u < 4)
		a /= 1000, v /= 1000, u++;
	snprintf(buf, len, "%.*f %s", a < 10 ? 2 : a < 100 ? 1 : 0, v, units[u]);
	return buf;
}

/* "4 min", "2.5 h", "3 days": a human span of s seconds. */
static void span_text(double s, char *buf, size_t len)
{
	if (s < 120)
		snprintf(buf, len, "%.0f s", s);
	else if (s < 7200)
		snprintf(buf, len, "%.0f min", s / 60);
	else if (s < 3 * 86400)
		snprintf(buf, len, "%.1f h", s / 3600);
	else
		snprintf(buf, len, "%.0f days", s / 86400);
}

/* The requests per second over [a, b): http_reqs' points wholly inside. */
static double request_rate(const struct result *r, double a, double b)
{
	int m = result_find_metric(r, "http_reqs");
	if (m < 0)
		return NAN;
	const struct result_timeseries *ts = &r->metrics[m].ts;
	double sum = 0, secs = 0;
	for (int i = 0; i < ts->npoints; i++) {
		double t = ts->points[i].t;
		if (t >= a && t + ts->step <= b + 1e-9) {
			sum += ts->points[i].count;
			secs += ts->step;
		}
	}
	return secs > 0 ? sum / secs : NAN;
}

static double json_num(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *leak_analyse(const struct result *r)
{
	json_t *mon = json_object_get(r->analyses, "monitor");
	if (!json_is_object(mon))
		return NULL;
	double limit = json_num(json_object_get(r->options, "monitor"), "memoryLimit");
	if (!(limit > 0))
		limit = json_num(json_object_get(mon, "target"), "cgroupMemoryLimit");
	double exited = json_num(json_object_get(mon, "target"), "exitedAtS");
	double dur = r->duration_s;
	double warm = MIN(MAX(LEAK_WARMUP_FRAC * dur, LEAK_WARMUP_MIN_S), LEAK_WARMUP_MAX_S);
	/* whole seconds only: the last, partial one is left out; so is what follows the
	 * target's exit */
	double end = floor(isfinite(exited) ? MIN(exited, dur) : dur);
	json_t *out = json_object(), *findings = json_array();
	for (size_t w = 0; w < ARRAY_SIZE(watched); w++) {
		int mi = result_find_metric(r, watched[w].metric);
		if (mi < 0)
			continue;
		const struct result_timeseries *ts = &r->metrics[mi].ts;
		int min_col = 1; /* gauge points: v = value, min, max */
		double *t = xcalloc((size_t)MAX(ts->npoints, 1), sizeof(*t));
		double *y = xcalloc((size_t)MAX(ts->npoints, 1), sizeof(*y));
		int n = 0;
		for (int i = 0; i < ts->npoints; i++) {
			if (ts->points[i].count <= 0)
				continue;
			t[n] = ts->points[i].t;
			y[n++] = ts->points[i].v[min_col];
		}
		struct leak_verdict v;
		bool is_target = !strncmp(watched[w].metric, "target_", 7);
		leak_judge(t, y, n, ts->step, warm, is_target ? end : floor(dur),
		           watched[w].floor_abs, watched[w].floor_rel, &v);
		free(t);
		free(y);
		json_t *j = json_object();
		char a[32], b[32], c[32], d[64], sentence[512];
		json_object_set_new(j, "judged", json_boolean(v.judged));
		json_object_set_new(j, "fromS", json_real(v.from_s));
		json_object_set_new(j, "toS", json_real(v.to_s));
		if (!v.judged) {
			json_object_set_new(j, "why", json_string(v.why));
			json_object_set_new(j, "leaking", json_null());
			json_object_set_new(out, watched[w].metric, j);
			continue;
		}
		double rate = request_rate(r, v.from_s, v.to_s);
		double per_req = rate > 0 ? v.per_s / rate : NAN;
		double to_limit = NAN;
		bool mem = watched[w].bytes && is_target;
		if (v.leaking && mem && limit > 0 && v.per_s > 0)
			to_limit = MAX(0, (limit - v.end_level) / v.per_s);
		json_object_set_new(j, "leaking", json_boolean(v.leaking));
		json_object_set_new(j, "significant", json_boolean(v.significant));
		json_object_set_new(j, "material", json_boolean(v.material));
		json_object_set_new(j, "persistent", json_boolean(v.persistent));
		json_object_set_new(j, "noise", num_or_null(v.noise));
		json_object_set_new(j, "intervalS", json_real(v.interval_s));
		json_object_set_new(j, "intervals", json_integer(v.intervals));
		json_object_set_new(j, "perSecond", num_or_null(v.per_s));
		json_object_set_new(j, "perSecondLow", num_or_null(v.per_s_lo));
		json_object_set_new(j, "perSecondHigh", num_or_null(v.per_s_hi));
		json_object_set_new(j, "perRequest", num_or_null(per_req));
		json_object_set_new(j, "p", num_or_null(v.p));
		json_object_set_new(j, "growth", num_or_null(v.growth));
		json_object_set_new(j, "level", num_or_null(v.end_level));
		json_object_set_new(j, "limit", mem && limit > 0 ? json_real(limit) : json_null());
		json_object_set_new(j, "secondsToLimit", num_or_null(to_limit));
		bool bytes = watched[w].bytes;
		if (v.leaking) {
			int k = snprintf(sentence, sizeof(sentence),
			                 "%s leaks: it grows %s/s (95%% CI %s to %s/s)",
			                 watched[w].what, amount(v.per_s, bytes, a, sizeof(a)),
			                 amount(v.per_s_lo, bytes, b, sizeof(b)),
			                 amount(v.per_s_hi, bytes, c, sizeof(c)));
			if (isfinite(per_req))
				k += snprintf(sentence + k, sizeof(sentence) - (size_t)k,
				              ", %s per request",
				              amount(per_req, bytes, a, sizeof(a)));
			if (isfinite(to_limit)) {
				span_text(to_limit, d, sizeof(d));
				k += snprintf(sentence + k, sizeof(sentence) - (size_t)k,
				              "; at this rate it reaches its %s limit in %s",
				              amount(limit, true, a, sizeof(a)), d);
			}
			snprintf(sentence + k, sizeof(sentence) - (size_t)k,
			         " (from %.0f s to %.0f s, after the warm-up)", v.from_s, v.to_s);
			json_array_append_new(findings, json_string(sentence));
		} else if (v.significant) {
			snprintf(sentence, sizeof(sentence),
			         "%s: no leak; it grew %s from %.0f s to %.0f s, below what counts "
			         "(%s and %.0f%%)",
			         watched[w].what, amount(v.growth, bytes, a, sizeof(a)), v.from_s,
			         v.to_s, amount(watched[w].floor_abs, bytes, b, sizeof(b)),
			         100 * watched[w].floor_rel);
		} else {
			snprintf(sentence, sizeof(sentence),
			         "%s: no leak (no upward trend from %.0f s to %.0f s, p=%.2g)",
			         watched[w].what, v.from_s, v.to_s, v.p);
		}
		json_object_set_new(j, "describe", json_string(sentence));
		json_object_set_new(out, watched[w].metric, j);
	}
	json_object_set_new(out, "findings", findings);
	return out;
}
