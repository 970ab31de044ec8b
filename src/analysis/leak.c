/* leak.c: leaks from the monitoring's gauges (leak.h). */
#include "analysis/leak.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/trend.h"
#include "util/common.h"

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

/* The verdict of a judged series from its figures: each test once, the first one failed
 * (in the order significant, the floor, the noise, persistent) is the reason, and the
 * flags are read from the same tests. */
static void decide(struct leak_verdict *v, double floor_abs, double floor_rel)
{
	v->floor_abs = floor_abs;
	v->floor_rel = floor_rel;
	v->floor = MAX(floor_abs, floor_rel * fabs(v->start_level));
	bool rises = v->rising && v->per_s_lo > 0;
	bool above_floor = v->growth >= v->floor;
	bool above_noise = v->growth >= LEAK_NOISE_FACTOR * v->noise;
	bool both_halves = v->half_per_s[0] > 0 && v->half_per_s[1] > 0; /* false on NaN */
	v->reason = !rises         ? LEAK_NOT_SIGNIFICANT
	            : !above_floor ? LEAK_BELOW_FLOOR
	            : !above_noise ? LEAK_IN_NOISE
	            : !both_halves ? LEAK_NOT_PERSISTENT
	                           : LEAK_LEAKS;
	v->significant = rises;
	v->material = above_floor && above_noise;
	v->persistent = both_halves;
	v->leaking = v->reason == LEAK_LEAKS;
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
	out->rising = tr.direction > 0;
	out->start_level = tr.intercept + tr.slope * from_s;
	out->end_level = tr.intercept + tr.slope * to_s;
	out->growth = tr.slope * span;
	out->noise = robust_sd(xs, ys, got, tr.slope, tr.intercept);
	out->half_per_s[0] = out->half_per_s[1] = NAN;
	/* persistent: each half of the window rises on its own (a wandering level rises in
	 * one half and falls in the other; a leak rises in both) */
	struct trend_result h1, h2;
	int half = got / 2;
	if (half >= TREND_MIN_N &&
	    trend_test(xs, ys, half, LEAK_ALPHA, TREND_CORR_HAMED_RAO, &h1) == 0 &&
	    trend_test(xs + half, ys + half, got - half, LEAK_ALPHA, TREND_CORR_HAMED_RAO, &h2) ==
	        0) {
		out->half_per_s[0] = h1.slope;
		out->half_per_s[1] = h2.slope;
	}
	decide(out, floor_abs, floor_rel);
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

/* v in binary units when bytes, else a count ("12", "3.50"), into buf. */
static const char *amount(double v, bool bytes, char *buf, size_t len)
{
	if (bytes)
		return format_bytes_iec(v, buf, len);
	snprintf(buf, len, "%.*f", fabs(v) < 10 ? 2 : fabs(v) < 100 ? 1 : 0, v);
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

/* Append to buf (len bytes, *k used); a sentence cut at len stays NUL-terminated. */
static void appendf(char *buf, size_t len, size_t *k, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void appendf(char *buf, size_t len, size_t *k, const char *fmt, ...)
{
	if (*k + 1 >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(buf + *k, len - *k, fmt, ap);
	va_end(ap);
	if (w > 0)
		*k = MIN(*k + (size_t)w, len - 1);
}

/* "it leaks: ..." for a leaking verdict, into buf. */
static void leak_text(const struct leak_verdict *v, const char *what, bool bytes, double per_req,
                      double limit, double to_limit, char *buf, size_t len)
{
	char a[32], b[32], c[32], d[32];
	size_t k = 0;
	if (len)
		buf[0] = 0;
	appendf(buf, len, &k, "%s leaks: it grows %s/s (95%% CI %s/s to %s/s)", what,
	        amount(v->per_s, bytes, a, sizeof(a)), amount(v->per_s_lo, bytes, b, sizeof(b)),
	        amount(v->per_s_hi, bytes, c, sizeof(c)));
	if (isfinite(per_req))
		appendf(buf, len, &k, ", %s per request", amount(per_req, bytes, a, sizeof(a)));
	if (isfinite(to_limit) && to_limit <= 0) {
		appendf(buf, len, &k, "; it is already above its %s limit",
		        format_bytes_iec(limit, a, sizeof(a)));
	} else if (isfinite(to_limit)) {
		span_text(to_limit, d, sizeof(d));
		appendf(buf, len, &k, "; at this rate it reaches its %s limit in %s",
		        format_bytes_iec(limit, a, sizeof(a)), d);
	}
	appendf(buf, len, &k, " (from %.0f s to %.0f s, after the warm-up)", v->from_s, v->to_s);
}

const char *leak_sentence(const struct leak_verdict *v, const char *what, bool bytes,
                          double per_request, double limit, double to_limit, char *buf, size_t len)
{
	char g[32], a[32], b[32], c[32];
	double from = v->from_s, to = v->to_s;
	amount(v->growth, bytes, g, sizeof(g));
	switch (v->reason) {
	case LEAK_UNJUDGED:
		snprintf(buf, len, "%s: not judged (%s)", what, v->why ? v->why : "no data");
		break;
	case LEAK_LEAKS:
		leak_text(v, what, bytes, per_request, limit, to_limit, buf, len);
		break;
	case LEAK_NOT_SIGNIFICANT:
		if (!v->rising)
			snprintf(buf, len,
			         "%s: no leak (no upward trend from %.0f s to %.0f s, p=%.2g)",
			         what, from, to, v->p);
		else
			snprintf(
			    buf, len,
			    "%s: no leak (the test says rising from %.0f s to %.0f s, p=%.2g, but "
			    "the slope's 95%% CI, %s to %s/s, includes 0)",
			    what, from, to, v->p, amount(v->per_s_lo, bytes, a, sizeof(a)),
			    amount(v->per_s_hi, bytes, b, sizeof(b)));
		break;
	case LEAK_BELOW_FLOOR:
		snprintf(buf, len,
		         "%s: no leak; it grew %s from %.0f s to %.0f s, less than what counts: %s "
		         "(the larger of %s and %.0f%% of its starting level, %s)",
		         what, g, from, to, amount(v->floor, bytes, a, sizeof(a)),
		         amount(v->floor_abs, bytes, b, sizeof(b)), 100 * v->floor_rel,
		         amount(v->start_level, bytes, c, sizeof(c)));
		break;
	case LEAK_IN_NOISE:
		snprintf(buf, len,
		         "%s: no leak; it grew %s from %.0f s to %.0f s, within the noise: the "
		         "readings stray %s around the trend, and a leak grows at least %.0fx that "
		         "(%s)",
		         what, g, from, to, amount(v->noise, bytes, a, sizeof(a)),
		         LEAK_NOISE_FACTOR,
		         amount(LEAK_NOISE_FACTOR * v->noise, bytes, b, sizeof(b)));
		break;
	case LEAK_NOT_PERSISTENT:
		if (isfinite(v->half_per_s[0]) && isfinite(v->half_per_s[1]))
			snprintf(
			    buf, len,
			    "%s: no leak; it grew %s from %.0f s to %.0f s, but not in each half "
			    "of that window (%s/s in the first, %s/s in the second): a level that "
			    "wandered, not a steady rise",
			    what, g, from, to, amount(v->half_per_s[0], bytes, a, sizeof(a)),
			    amount(v->half_per_s[1], bytes, b, sizeof(b)));
		else
			snprintf(
			    buf, len,
			    "%s: no leak; it grew %s from %.0f s to %.0f s, but too few readings "
			    "to see each half of that window rise",
			    what, g, from, to);
		break;
	}
	return buf;
}

double leak_memory_limit(const struct result *r)
{
	double limit = json_num(json_object_get(r->options, "monitor"), "memoryLimit");
	if (!(limit > 0)) {
		const json_t *mon = json_object_get(r->analyses, "monitor");
		limit = json_num(json_object_get(mon, "target"), "cgroupMemoryLimit");
	}
	return limit > 0 ? limit : NAN;
}

json_t *leak_analyse(const struct result *r)
{
	json_t *mon = json_object_get(r->analyses, "monitor");
	if (!json_is_object(mon))
		return NULL;
	double limit = leak_memory_limit(r);
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
		/* stampede's own memory follows the VUs it runs: when an open-model run started
		 * more VUs after the warm-up than before (the target, or a busy machine, slowed
		 * the answers), its growth is those VUs, not a leak */
		double before = 0, after = 0;
		int vi = is_target ? -1 : result_find_metric(r, "vus");
		for (int i = 0; vi >= 0 && i < r->metrics[vi].ts.npoints; i++) {
			const struct result_point *pt = &r->metrics[vi].ts.points[i];
			if (pt->count <= 0)
				continue;
			if (pt->t < warm)
				before = MAX(before, pt->v[2]);
			else
				after = MAX(after, pt->v[2]);
		}
		char vus_why[160]; /* copied by json_string() below, in this iteration */
		if (v.judged && vi >= 0 && after > before) {
			snprintf(vus_why, sizeof(vus_why),
			         "stampede ran more VUs after the warm-up (up to %.0f, %.0f "
			         "before): its "
			         "memory follows them",
			         after, before);
			v.judged = false;
			v.why = vus_why;
		}
		/* the limit is the target's memory's, known or not whatever the run's length */
		bool mem = watched[w].bytes && is_target;
		double lim = mem ? limit : NAN;
		json_t *j = json_object();
		json_object_set_new(j, "judged", json_boolean(v.judged));
		json_object_set_new(j, "fromS", json_real(v.from_s));
		json_object_set_new(j, "toS", json_real(v.to_s));
		if (!v.judged) {
			json_object_set_new(j, "why", json_string(v.why));
			json_object_set_new(j, "leaking", json_null());
			if (mem)
				json_object_set_new(j, "limit", num_or_null(lim));
			json_object_set_new(out, watched[w].metric, j);
			continue;
		}
		double rate = request_rate(r, v.from_s, v.to_s);
		double per_req = rate > 0 ? v.per_s / rate : NAN;
		double to_limit = NAN;
		if (v.leaking && isfinite(lim) && v.per_s > 0)
			to_limit = MAX(0, (lim - v.end_level) / v.per_s);
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
		json_object_set_new(j, "limit", num_or_null(lim));
		json_object_set_new(j, "secondsToLimit", num_or_null(to_limit));
		char sentence[512];
		leak_sentence(&v, watched[w].what, watched[w].bytes, per_req, lim, to_limit,
		              sentence, sizeof(sentence));
		if (v.leaking)
			json_array_append_new(findings, json_string(sentence));
		json_object_set_new(j, "describe", json_string(sentence));
		json_object_set_new(out, watched[w].metric, j);
	}
	json_object_set_new(out, "findings", findings);
	return out;
}
