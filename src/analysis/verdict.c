/* verdict.c: test-type verdicts from a result (verdict.h). */
#include "analysis/verdict.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/trend.h"
#include "metrics/hdr.h"
#include "util/common.h"
#include "util/slo.h"

#define PHASES_MAX     64
#define PLAN_MAX_S     (31.0 * 86400) /* the longest schedule a result may describe */
#define SLICES_MAX     12             /* rows of a breakpoint test's steps table */
#define BP_ROW_MIN     20   /* responses a breakpoint's row needs to be judged on its own */
#define DRIFT_MATERIAL 0.10 /* a soak's trend fails it when it moves the value by this share */

struct phase {
	const char *name;
	double a, b;     /* seconds from the start: [a, b) */
	double from, to; /* the offered level at a and at b */
};

struct plan {
	const char *type, *model;
	double level, start;
	int n;
	struct phase ph[PHASES_MAX];
	struct slo_set slo;
	const char *bad_slo; /* an options.slo item that does not parse (left out) */
};

/* Figures of a range [a, b) of the run. */
struct range {
	double a, b;
	double covered;       /* seconds of windows wholly inside [a, b) */
	double requests;      /* http_reqs in those seconds */
	double failed, total; /* http_req_failed's non-zero and all samples */
	double dropped;       /* dropped_iterations */
	double good;          /* requests that did not fail (http_reqs - failed) */
	struct hdr *h;        /* http_req_duration, merged (µs); NULL: no complete window */
	double cpu;           /* target_cpu_percent's mean (% of one core); NaN: not monitored */
	double rss;           /* target_rss_bytes' largest sample; NaN: not monitored */
};

/* A fraction as a run writes it ("0", "1", "3/4"), or NAN. */
static double frac_value(const char *s, size_t n)
{
	char buf[64], *slash, *end;
	if (n == 0 || n >= sizeof(buf))
		return NAN;
	memcpy(buf, s, n);
	buf[n] = '\0';
	slash = strchr(buf, '/');
	double num = strtod(buf, &end), den = 1;
	if (end == buf || (slash ? end != slash : *end))
		return NAN;
	if (slash) {
		den = strtod(slash + 1, &end);
		if (end == slash + 1 || *end || !(den > 0))
			return NAN;
	}
	return num / den;
}

/* The share of the load a part of a distributed run ran (options.executionSegment,
 * "FROM:TO" as `run` writes it), or 1: its schedule offered that share of the plan's. */
static double segment_share(const struct result *r)
{
	const char *seg = json_string_value(json_object_get(r->options, "executionSegment"));
	const char *colon = seg ? strchr(seg, ':') : NULL;
	if (!colon)
		return 1;
	double from = frac_value(seg, (size_t)(colon - seg));
	double to = frac_value(colon + 1, strlen(colon + 1));
	return isfinite(from) && isfinite(to) && from >= 0 && to > from && to <= 1 ? to - from : 1;
}

static bool load_plan(const struct result *r, struct plan *p)
{
	memset(p, 0, sizeof(*p));
	json_t *t = json_object_get(r->options, "testType");
	json_t *phs = json_object_get(t, "phases");
	if (!json_is_object(t) || !json_is_array(phs) || json_array_size(phs) == 0 ||
	    json_array_size(phs) > PHASES_MAX)
		return false;
	p->type = json_string_value(json_object_get(t, "type"));
	p->model = json_string_value(json_object_get(t, "model"));
	p->level = json_number_value(json_object_get(t, "level"));
	p->start = json_number_value(json_object_get(t, "start"));
	if (!p->type || !p->model)
		return false;
	/* startTimeS: a script's preset scenario that starts late (its phases are on the run's
	 * clock, from there) */
	double from = p->start, at = json_number_value(json_object_get(t, "startTimeS"));
	if (!isfinite(p->level) || !isfinite(p->start) || p->start < 0 || !isfinite(at) || at < 0 ||
	    at > PLAN_MAX_S)
		return false;
	size_t i;
	json_t *e;
	json_array_foreach(phs, i, e)
	{
		struct phase *ph = &p->ph[p->n++];
		double d = json_number_value(json_object_get(e, "durationS"));
		ph->name = json_string_value(json_object_get(e, "name"));
		ph->a = json_number_value(json_object_get(e, "startS"));
		ph->b = ph->a + d;
		ph->from = from;
		ph->to = from = json_number_value(json_object_get(e, "target"));
		/* in order, one after the other, finite, within PLAN_MAX_S: a hand-edited file
		 * cannot make the slices below loop for ever */
		if (!ph->name || !isfinite(ph->a) || !isfinite(d) || d < 0 ||
		    fabs(ph->a - at) > 1e-3 || ph->b > PLAN_MAX_S || !isfinite(ph->to) ||
		    ph->to < 0)
			return false;
		at = ph->b;
	}
	double share = segment_share(r); /* a part offered its share of every level */
	p->level *= share;
	p->start *= share;
	for (int k = 0; k < p->n; k++) {
		p->ph[k].from *= share;
		p->ph[k].to *= share;
	}
	json_t *slo = json_object_get(r->options, "slo");
	json_array_foreach(slo, i, e)
	{
		char err[256];
		if (!json_is_string(e) ||
		    slo_parse(json_string_value(e), &p->slo, err, sizeof(err)) < 0)
			p->bad_slo = json_is_string(e) ? json_string_value(e) : "(not a string)";
	}
	return true;
}

/* The offered level at t (the schedule's piecewise-linear value). */
static double offered_at(const struct plan *p, double t)
{
	double v = p->start;
	if (p->n > 0 && t < p->ph[0].a)
		return 0; /* before a late-starting preset scenario: nothing offered yet */
	for (int i = 0; i < p->n; i++) {
		const struct phase *ph = &p->ph[i];
		if (t < ph->b)
			return ph->b > ph->a
			           ? ph->from + (ph->to - ph->from) * (t - ph->a) / (ph->b - ph->a)
			           : ph->to;
		v = ph->to;
	}
	return v;
}

static const struct result_metric *metric(const struct result *r, const char *name)
{
	int m = result_find_metric(r, name);
	return m >= 0 ? &r->metrics[m] : NULL;
}

/* Sum of a counter's counts, or of a rate's (non-zero, all) samples, over the points that
 * lie wholly inside [a, b). */
static void ts_sum(const struct result_metric *m, double a, double b, double *sum, double *nz)
{
	*sum = 0;
	if (nz)
		*nz = 0;
	if (!m)
		return;
	const struct result_timeseries *ts = &m->ts;
	for (int i = 0; i < ts->npoints; i++) {
		const struct result_point *pt = &ts->points[i];
		if (pt->t < a || pt->t + ts->step > b)
			continue;
		*sum += pt->count;
		if (nz)
			*nz += (double)pt->count * pt->v[0];
	}
}

/* From http_req_failed's points: *good_at, the end of the last point with a request that
 * did not fail (0 when none), and *tried_after, the end of the last point with any
 * request (a connection refused or reset is a failed request at 0 ms: http_req_duration
 * alone would show a dead target still answering). */
static void last_success(const struct result *r, double *good_at, double *tried_after)
{
	*good_at = *tried_after = 0;
	const struct result_metric *m = metric(r, "http_req_failed");
	if (!m)
		return;
	const struct result_timeseries *ts = &m->ts;
	for (int i = 0; i < ts->npoints; i++) {
		const struct result_point *pt = &ts->points[i];
		if (pt->count == 0)
			continue;
		*tried_after = MAX(*tried_after, pt->t + ts->step);
		if ((double)pt->count * (1 - pt->v[0]) >= 0.5)
			*good_at = MAX(*good_at, pt->t + ts->step);
	}
}

/* A gauge over the points wholly inside [a, b): the mean of its values, or the largest
 * sample (points: v = last value, min, max); NaN when it has no sample there. */
static double gauge_over(const struct result_metric *m, double a, double b, bool largest)
{
	if (!m || m->type != MT_GAUGE)
		return NAN;
	const struct result_timeseries *ts = &m->ts;
	double sum = 0, n = 0, max = -INFINITY;
	for (int i = 0; i < ts->npoints; i++) {
		const struct result_point *pt = &ts->points[i];
		if (pt->t < a || pt->t + ts->step > b || pt->count <= 0)
			continue;
		sum += pt->v[0], n++;
		max = MAX(max, (double)pt->v[2]);
	}
	return n == 0 ? NAN : largest ? max : sum / n;
}

static void range_free(struct range *g)
{
	hdr_free(g->h);
	g->h = NULL;
}

/* The figures of [a, b): windows of http_req_duration wholly inside (and the points of the
 * counters over the same seconds). */
static void range_of(const struct result *r, double a, double b, struct range *g)
{
	memset(g, 0, sizeof(*g));
	g->a = a, g->b = b;
	/* the target's resources over the whole step, from the monitoring (issue #12) */
	g->cpu = gauge_over(metric(r, "target_cpu_percent"), a, MIN(b, r->duration_s), false);
	g->rss = gauge_over(metric(r, "target_rss_bytes"), a, MIN(b, r->duration_s), true);
	const struct result_metric *d = metric(r, "http_req_duration");
	if (!d || !d->win.n)
		return;
	double lo = INFINITY, hi = -INFINITY;
	for (int i = 0; i < d->win.n; i++) {
		double ta = d->win.t[i], tb = ta + d->win.step;
		if (ta < a || tb > b || tb > r->duration_s) /* the run's last second may be cut */
			continue;
		if (!g->h)
			g->h = hdr_new_default();
		hdr_merge(g->h, d->win.h[i]);
		lo = MIN(lo, ta), hi = MAX(hi, tb);
	}
	if (!g->h)
		return;
	/* counters over the windows' span (their points are at most as coarse as the
	 * windows: a metric keeps 1,024 points, the windows 256) */
	g->covered = hi - lo;
	ts_sum(metric(r, "http_reqs"), lo, hi, &g->requests, NULL);
	ts_sum(metric(r, "http_req_failed"), lo, hi, &g->total, &g->failed);
	ts_sum(metric(r, "dropped_iterations"), lo, hi, &g->dropped, NULL);
	g->good = MAX(0, g->requests - g->failed);
}

/* The value of SLO s over g: ms for latency, a fraction for errors; NaN without data. */
static double slo_value(const struct slo *s, const struct range *g)
{
	if (s->kind == SLO_ERRORS)
		return g->total > 0 ? g->failed / g->total : NAN;
	if (!g->h || !g->h->total_count)
		return NAN;
	if (!strcmp(s->stat, "avg"))
		return hdr_mean(g->h) / 1000.0;
	if (!strcmp(s->stat, "max"))
		return (double)hdr_max(g->h) / 1000.0;
	double pct = !strcmp(s->stat, "med") ? 50 : s->pct;
	return (double)hdr_value_at_percentile(g->h, pct) / 1000.0;
}

static double pct_ms(const struct range *g, double p)
{
	return g->h && g->h->total_count ? (double)hdr_value_at_percentile(g->h, p) / 1000.0 : NAN;
}

/* v with 6 significant digits (an error rate of 0.00115 stays 0.00115), or null. */
static json_t *num_or_null(double v)
{
	if (!isfinite(v))
		return json_null();
	char buf[32];
	snprintf(buf, sizeof(buf), "%.6g", v);
	return json_real(strtod(buf, NULL));
}

/* One row of the steps table; *all_ok: every SLO held; *first_bad: the first that did not
 * (index in p->slo), -1 when all held or nothing could be judged. */
static json_t *row_json(const struct plan *p, const char *name, const struct range *g,
                        double offered_a, double offered_b, bool *all_ok, int *first_bad)
{
	json_t *o = json_object();
	json_object_set_new(o, "phase", json_string(name));
	json_object_set_new(o, "start", json_real(g->a));
	json_object_set_new(o, "end", json_real(g->b));
	json_object_set_new(o, "offered", num_or_null((offered_a + offered_b) / 2));
	if (offered_a != offered_b) {
		json_object_set_new(o, "offeredFrom", num_or_null(offered_a));
		json_object_set_new(o, "offeredTo", num_or_null(offered_b));
	}
	json_object_set_new(o, "seconds", json_real(g->covered));
	json_object_set_new(o, "requests", json_real(g->requests));
	json_object_set_new(o, "throughput",
	                    num_or_null(g->covered > 0 ? g->requests / g->covered : NAN));
	json_object_set_new(o, "goodThroughput",
	                    num_or_null(g->covered > 0 ? g->good / g->covered : NAN));
	json_object_set_new(o, "errorRate", num_or_null(g->total > 0 ? g->failed / g->total : NAN));
	json_object_set_new(o, "dropped", json_real(g->dropped));
	json_object_set_new(o, "p50", num_or_null(pct_ms(g, 50)));
	json_object_set_new(o, "p95", num_or_null(pct_ms(g, 95)));
	json_object_set_new(o, "p99", num_or_null(pct_ms(g, 99)));
	json_object_set_new(o, "mean",
	                    num_or_null(g->h && g->h->total_count ? hdr_mean(g->h) / 1000 : NAN));
	if (isfinite(g->cpu))
		json_object_set_new(o, "targetCpuPercent", num_or_null(g->cpu));
	if (isfinite(g->rss))
		json_object_set_new(o, "targetRssBytes", json_real(g->rss));
	json_t *slo = json_array();
	bool ok = true, judged = g->h != NULL && g->h->total_count > 0;
	*first_bad = -1;
	for (int i = 0; i < p->slo.n && judged; i++) {
		double v = slo_value(&p->slo.item[i], g);
		bool met = slo_met(&p->slo.item[i], v);
		json_t *e = json_object();
		json_object_set_new(e, "slo", json_string(p->slo.item[i].text));
		json_object_set_new(e, "value", num_or_null(v));
		json_object_set_new(e, "ok", json_boolean(met));
		json_array_append_new(slo, e);
		if (!met && ok) {
			ok = false;
			*first_bad = i;
		}
	}
	json_object_set_new(o, "slo", slo);
	/* ok: true, false, or null when not judged (no SLO, or no complete window: a step the
	 * run never reached) */
	json_object_set_new(o, "ok", judged && p->slo.n > 0 ? json_boolean(ok) : json_null());
	*all_ok = judged && ok;
	return o;
}

static double jnum(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static void finding(json_t *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void finding(json_t *v, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(json_object_get(v, "findings"), json_string(buf));
}

static const char *unit_of(const struct plan *p)
{
	return !strcmp(p->model, "open") ? "/s" : " VUs";
}

/* Steps: the rows of a stepped or ramped run, and the breaking point, the knee and how it
 * degraded (stress, breakpoint). rows: ranges already computed. */
static bool row_judged_bad(json_t *rows, size_t i)
{
	return json_is_false(json_object_get(json_array_get(rows, i), "ok"));
}

/* sustained: a failure counts when the next row fails too (or it is the last): one noisy
 * window of a continuous ramp is not the breaking point. */
static void breaking_point(json_t *v, const struct plan *p, json_t *rows, bool sustained)
{
	size_t n = json_array_size(rows);
	int last_good = -1, first_bad = -1;
	bool open = !strcmp(p->model, "open");
	for (size_t i = 0; i < n && first_bad < 0; i++) {
		json_t *row = json_array_get(rows, i);
		/* held: every SLO met and, in the open model, the target kept up (served 95% of
		 * the offered rate without error): past its capacity the SLOs hold only until
		 * the queue builds up, which a fast ramp outruns */
		if (json_is_true(json_object_get(row, "ok")) &&
		    (!open || jnum(row, "goodThroughput") >= 0.95 * jnum(row, "offered")))
			last_good = (int)i;
		else if (row_judged_bad(rows, i) &&
		         (!sustained || i + 1 == n || row_judged_bad(rows, i + 1)))
			first_bad = (int)i;
	}
	json_t *bp = json_object();
	const char *u = unit_of(p);
	if (p->slo.n == 0) {
		json_object_set_new(bp, "found", json_false());
		json_object_set_new(bp, "why", json_string("no SLO given (--slo or --slo-preset)"));
		finding(v, "no breaking point: no SLO was given to judge the steps by");
	} else if (first_bad < 0) {
		json_object_set_new(bp, "found", json_false());
		json_object_set_new(bp, "why", json_string("every SLO held at every step"));
		if (last_good >= 0) {
			json_t *row = json_array_get(rows, last_good);
			json_t *to = json_object_get(row, "offeredTo");
			finding(v, "no breaking point: every SLO held up to %.4g%s",
			        json_number_value(to ? to : json_object_get(row, "offered")), u);
		}
	} else {
		json_t *bad = json_array_get(rows, first_bad);
		json_t *sl = json_object_get(bad, "slo");
		const char *which = NULL, *how = "latency";
		double val = NAN;
		size_t k;
		json_t *e;
		json_array_foreach(sl, k, e)
		{
			if (!json_is_true(json_object_get(e, "ok"))) {
				which = json_string_value(json_object_get(e, "slo"));
				val = json_number_value(json_object_get(e, "value"));
				if (!strncmp(which, "errors", 6))
					how = "errors";
				break;
			}
		}
		json_object_set_new(bp, "found", json_true());
		double good = last_good >= 0 ? json_number_value(json_object_get(
		                                   json_array_get(rows, last_good), "offered"))
		                             : NAN;
		double badv = json_number_value(json_object_get(bad, "offered"));
		json_object_set_new(bp, "atS", num_or_null(jnum(bad, "start")));
		json_object_set_new(bp, "lastGood", num_or_null(good));
		json_object_set_new(bp, "firstBad", num_or_null(badv));
		json_object_set_new(bp, "failedSlo", which ? json_string(which) : json_null());
		json_object_set_new(bp, "how", json_string(how));
		json_object_set_new(bp, "value", num_or_null(val));
		if (last_good >= 0)
			finding(v,
			        "breaking point: every SLO held, with the target keeping up, up to "
			        "%.4g%s; at %.4g%s %s failed "
			        "(%s: %.4g%s)",
			        good, u, badv, u, which ? which : "an SLO", how,
			        !strcmp(how, "errors") ? val * 100 : val,
			        !strcmp(how, "errors") ? "%" : " ms");
		else
			finding(v,
			        "breaking point below the first step: at %.6g%s %s already failed",
			        badv, u, which ? which : "an SLO");
	}
	json_object_set_new(v, "breakingPoint", bp);

	/* The knee (open model): the first row whose throughput falls 5% short of the offered
	 * rate while latency climbs; concurrency there by Little's law, N = X * R. */
	if (!strcmp(p->model, "open")) {
		json_t *knee = json_null();
		double p95_0 = NAN;
		for (size_t i = 0; i < n; i++) {
			json_t *row = json_array_get(rows, i);
			double off = json_number_value(json_object_get(row, "offered"));
			double x = json_number_value(json_object_get(row, "goodThroughput"));
			double p95 = json_number_value(json_object_get(row, "p95"));
			double mean = json_number_value(json_object_get(row, "mean"));
			if (isnan(p95_0) && isfinite(p95))
				p95_0 = p95;
			json_t *next = json_array_get(rows, i + 1);
			bool short_next =
			    !next || json_number_value(json_object_get(next, "goodThroughput")) <
			                 0.95 * json_number_value(json_object_get(next, "offered"));
			if (off > 0 && x < 0.95 * off && p95 > p95_0 && short_next &&
			    json_number_value(json_object_get(row, "requests")) >= 20) {
				knee = json_object();
				json_object_set_new(knee, "offered", num_or_null(off));
				json_object_set_new(knee, "throughput", num_or_null(x));
				json_object_set_new(knee, "concurrency",
				                    num_or_null(x * mean / 1000));
				finding(v,
				        "throughput knee at %.4g/s offered: %.4g/s answered "
				        "without error (%.0f%%), p95 %.4g ms; concurrency there "
				        "%.3g (Little's law, N = X·R with R the mean %.4g ms, "
				        "waiting for a VU included)",
				        off, x, 100 * x / off, p95, x * mean / 1000, mean);
				break;
			}
		}
		json_object_set_new(v, "knee", knee);
	} else {
		/* The knee (closed model): the last step before one whose added VUs bring less than
		 * a quarter of their proportional throughput while p95 climbs: past it more VUs
		 * only queue (Little's law: R grows with N at a flat X). */
		json_t *knee = json_null();
		for (size_t i = 1; i < n; i++) {
			json_t *a = json_array_get(rows, i - 1), *b = json_array_get(rows, i);
			double na = json_number_value(json_object_get(a, "offered"));
			double nb = json_number_value(json_object_get(b, "offered"));
			double xa = json_number_value(json_object_get(a, "goodThroughput"));
			double xb = json_number_value(json_object_get(b, "goodThroughput"));
			double pa = json_number_value(json_object_get(a, "p95"));
			double pb = json_number_value(json_object_get(b, "p95"));
			if (!(na > 0 && nb > na && xa > 0 && isfinite(xb) && pb > pa) ||
			    json_number_value(json_object_get(a, "requests")) < 20 ||
			    xb >= xa * (1 + 0.25 * (nb / na - 1)))
				continue;
			knee = json_object();
			json_object_set_new(knee, "offered", num_or_null(na));
			json_object_set_new(knee, "throughput", num_or_null(xa));
			json_object_set_new(
			    knee, "concurrency",
			    num_or_null(xa * json_number_value(json_object_get(a, "mean")) / 1000));
			finding(
			    v,
			    "throughput knee at %.4g VUs: %.4g/s without error; at %.4g VUs %.4g/s "
			    "(%+.0f%% for %.3gx the VUs) while p95 went from %.4g to %.4g ms: past "
			    "the knee more VUs only wait (the target is saturated)",
			    na, xa, nb, xb, 100 * (xb / xa - 1), nb / na, pa, pb);
			break;
		}
		json_object_set_new(v, "knee", knee);
	}

	/* How it degraded past the breaking point: a collapse when throughput falls below 90%
	 * of its best so far, errors reach 10%, or p95 grows 10x over the last good step;
	 * graceful otherwise (latency grows, errors stay low). */
	if (first_bad >= 0) {
		double best = 0, p95_good = NAN, worst_x = INFINITY, worst_er = 0, worst_p95 = 0;
		if (last_good >= 0)
			p95_good = json_number_value(
			    json_object_get(json_array_get(rows, last_good), "p95"));
		for (size_t i = 0; i < n; i++) {
			json_t *row = json_array_get(rows, i);
			double x = json_number_value(json_object_get(row, "goodThroughput"));
			if (json_is_null(json_object_get(row, "ok")))
				continue; /* not judged: no data */
			if ((int)i >= first_bad) {
				if (best > 0)
					worst_x = MIN(worst_x, x / best);
				worst_er = MAX(
				    worst_er, json_number_value(json_object_get(row, "errorRate")));
				worst_p95 =
				    MAX(worst_p95, json_number_value(json_object_get(row, "p95")));
			}
			best = MAX(best, x);
		}
		char why[256] = "";
		size_t w = 0;
		if (worst_x < 0.9)
			w += (size_t)snprintf(why + w, sizeof(why) - w,
			                      "%sthroughput fell to %.0f%% of its best",
			                      w ? ", " : "", 100 * worst_x);
		if (worst_er >= 0.10 && w < sizeof(why))
			w += (size_t)snprintf(why + w, sizeof(why) - w, "%serrors reached %.1f%%",
			                      w ? ", " : "", 100 * worst_er);
		if (isfinite(p95_good) && worst_p95 >= 10 * p95_good && w < sizeof(why))
			snprintf(why + w, sizeof(why) - w, "%sp95 grew %.0fx (%.4g -> %.4g ms)",
			         w ? ", " : "", worst_p95 / p95_good, p95_good, worst_p95);
		bool collapse = why[0] != '\0';
		json_object_set_new(v, "degradation",
		                    json_string(collapse ? "collapse" : "graceful"));
		if (collapse)
			finding(v, "past it, a collapse: %s", why);
		else
			finding(v, "past it, graceful: p95 at most %.4g ms, errors at most %.2f%%",
			        worst_p95, 100 * worst_er);
	}
}

/* The steps table of a breakpoint test: the ramp cut into equal slices of whole windows. */
static json_t *breakpoint_rows(const struct result *r, const struct plan *p)
{
	json_t *rows = json_array();
	const struct result_metric *d = metric(r, "http_req_duration");
	if (!d || !d->win.n)
		return rows;
	double step = d->win.step;
	double end = MIN((double)d->win.t[d->win.n - 1] + step, /* it may have stopped early */
	                 floor(r->duration_s));
	double a = p->ph[0].a, b = MIN(p->ph[0].b, end);
	double slice = step * MAX(1, ceil((b - a) / step / SLICES_MAX));
	for (int k = 0; k < SLICES_MAX && a + k * slice + step <= b + 1e-9; k++) {
		double t = a + k * slice, e = MIN(t + slice, b);
		struct range g;
		bool ok;
		int bad;
		char name[32];
		range_of(r, t, e, &g);
		snprintf(name, sizeof(name), "%gs-%gs", t, e);
		json_array_append_new(
		    rows, row_json(p, name, &g, offered_at(p, t), offered_at(p, e), &ok, &bad));
		range_free(&g);
	}
	return rows;
}

/* One row per window of the ramp (the first, slow seconds gathered until a row has
 * BP_ROW_MIN responses), for finding the breaking point at the windows'
 * resolution (not shown: the steps table has the slices). */
static json_t *window_rows(const struct result *r, const struct plan *p)
{
	json_t *rows = json_array();
	const struct result_metric *d = metric(r, "http_req_duration");
	double from = NAN; /* the start of the row being gathered */
	for (int i = 0; d && i < d->win.n; i++) {
		double ta = d->win.t[i], tb = ta + (double)d->win.step;
		if (ta < p->ph[0].a || ta >= p->ph[0].b || tb > r->duration_s)
			continue;
		if (isnan(from))
			from = ta;
		struct range g;
		bool ok;
		int bad;
		char name[32];
		range_of(r, from, tb, &g);
		/* a p95 of a handful of responses is their slowest: gather the first, slow
		 * seconds of the ramp until a row has BP_ROW_MIN responses (or the ramp ends) */
		bool last = i + 1 == d->win.n || d->win.t[i + 1] >= p->ph[0].b ||
		            d->win.t[i + 1] + (double)d->win.step > r->duration_s;
		if ((!g.h || g.h->total_count < BP_ROW_MIN) && !last) {
			range_free(&g);
			continue;
		}
		snprintf(name, sizeof(name), "%gs-%gs", from, tb);
		json_array_append_new(rows,
		                      row_json(p, name, &g, offered_at(p, from),
		                               offered_at(p, MIN(tb, p->ph[0].b)), &ok, &bad));
		range_free(&g);
		from = NAN;
	}
	return rows;
}

/* Spike: peak latency and errors during the spike, and the recovery time: from the spike's
 * end until p95 is back under its objective and stays so for VERDICT_RECOVERY_HOLD_S. */
static void spike_recovery(json_t *v, const struct result *r, const struct plan *p)
{
	const struct phase *spike = NULL, *base = NULL;
	for (int i = 0; i < p->n; i++) {
		if (!strncmp(p->ph[i].name, "spike", 5))
			spike = &p->ph[i];
		if (!strcmp(p->ph[i].name, "base"))
			base = &p->ph[i];
	}
	const struct result_metric *d = metric(r, "http_req_duration");
	json_t *o = json_object();
	json_object_set_new(v, "spike", o);
	if (!spike || !d || !d->win.n) {
		json_object_set_new(o, "why", json_string("no spike phase or no latency data"));
		finding(v, "spike not judged: %s",
		        !spike ? "no spike phase" : "no response at all");
		return;
	}
	if (r->duration_s < spike->b) {
		json_object_set_new(o, "why", json_string("the run ended before the spike did"));
		finding(v, "spike recovery not judged: the run ended %.4g s into the spike",
		        r->duration_s - spike->a);
		return;
	}
	/* the objective p95 must return under: the SLO's, else 1.2x the base phase's p95 */
	double limit = NAN;
	const char *basis = NULL;
	char bbuf[96];
	for (int i = 0; i < p->slo.n; i++) {
		if (p->slo.item[i].kind == SLO_LATENCY && !strcmp(p->slo.item[i].stat, "p(95)")) {
			limit = p->slo.item[i].value;
			snprintf(bbuf, sizeof(bbuf), "the SLO %s", p->slo.item[i].text);
			basis = bbuf;
		}
	}
	if (isnan(limit) && base) {
		struct range g;
		range_of(r, base->a, base->b, &g);
		limit = 1.2 * pct_ms(&g, 95);
		range_free(&g);
		snprintf(bbuf, sizeof(bbuf),
		         "1.2 x the base phase's p95 of %.4g ms, as no p95 SLO was given",
		         limit / 1.2);
		basis = bbuf;
	}
	struct range g;
	range_of(r, spike->a, spike->b, &g);
	json_object_set_new(o, "p95", num_or_null(pct_ms(&g, 95)));
	json_object_set_new(o, "p99", num_or_null(pct_ms(&g, 99)));
	json_object_set_new(o, "max", num_or_null(g.h ? (double)hdr_max(g.h) / 1000 : NAN));
	json_object_set_new(o, "errorRate", num_or_null(g.total > 0 ? g.failed / g.total : NAN));
	json_object_set_new(o, "dropped", json_real(g.dropped));
	range_free(&g);
	finding(v,
	        "during the spike: p95 %.4g ms, p99 %.4g ms, max %.4g ms, errors %.3g%%%s; the "
	        "requests queued then finish in the observation phase, which can show higher "
	        "percentiles than the spike itself",
	        jnum(o, "p95"), jnum(o, "p99"), jnum(o, "max"), 100 * jnum(o, "errorRate"),
	        jnum(o, "dropped") > 0 ? " (and dropped iterations: no free VU)" : "");
	json_object_set_new(o, "recoveryThreshold", num_or_null(limit));
	json_object_set_new(o, "recoveryBasis", basis ? json_string(basis) : json_null());
	json_object_set_new(o, "stableForS", json_integer(VERDICT_RECOVERY_HOLD_S));
	if (!isfinite(limit)) {
		json_object_set_new(o, "recovered", json_null());
		finding(v,
		        "spike recovery not judged: no p95 objective and no base phase to compare");
		return;
	}
	/* scan the windows from the spike's end; the first good window after which every window
	 * for the hold time stays good */
	double end = spike->b, rec = NAN, last_t = end;
	int step = d->win.step;
	for (int i = 0; i < d->win.n; i++) {
		double ta = d->win.t[i];
		if (ta + step <= end || ta + step > r->duration_s) /* before, or cut by the end */
			continue;
		last_t = ta + step;
		double p95 = d->win.h[i]->total_count
		                 ? (double)hdr_value_at_percentile(d->win.h[i], 95) / 1000
		                 : 0;
		if (p95 > limit) {
			rec = NAN;
			continue;
		}
		if (isnan(rec))
			rec = MAX(ta, end);
	}
	bool recovered = isfinite(rec) && last_t - rec >= VERDICT_RECOVERY_HOLD_S;
	json_object_set_new(o, "recovered", json_boolean(recovered));
	json_object_set_new(o, "recoverySeconds", num_or_null(recovered ? rec - end : NAN));
	json_object_set_new(o, "windowS", json_integer(step));
	if (recovered)
		finding(v,
		        "recovered %.4g s after the spike (p95 back under %.4g ms, %s, and "
		        "stayed there %d s; resolution %d s)",
		        rec - end, limit, basis, VERDICT_RECOVERY_HOLD_S, step);
	else if (isfinite(rec)) {
		json_object_set_new(o, "backUnderAfterS", num_or_null(rec - end));
		finding(v,
		        "p95 was back under %.4g ms (%s) %.4g s after the spike, but the "
		        "observation ended %.4g s later (%d s of it are needed to call it "
		        "recovered): lengthen the observation (--observe)",
		        limit, basis, rec - end, last_t - rec, VERDICT_RECOVERY_HOLD_S);
	} else {
		finding(v,
		        "did not recover within the observation window (%.4g s after the spike, "
		        "p95 not back under %.4g ms (%s) for %d s)",
		        last_t - end, limit, basis, VERDICT_RECOVERY_HOLD_S);
	}
}

/* The room left under the run's objective on metric k of the soak's drift test (0: p95 in
 * ms, 1: the error rate) from value base: the tightest "p95<L" or "errors<L" minus base
 * (at least 0); NAN when no such objective. */
static double slo_room(const struct slo_set *set, int k, double base)
{
	double lim = NAN;
	for (int i = 0; i < set->n; i++) {
		const struct slo *s = &set->item[i];
		bool p95 = s->kind == SLO_LATENCY && !strcmp(s->stat, "p(95)");
		bool err = s->kind == SLO_ERRORS;
		if ((k == 0 && p95) || (k == 1 && err))
			lim = isfinite(lim) ? MIN(lim, s->value) : s->value;
	}
	return isfinite(lim) ? MAX(lim - base, 0) : NAN;
}

/* Soak: trend tests on per-window p95, error rate and throughput over the hold, after a
 * warm-up (the first 10% of the hold, at most 5 minutes). */
static void soak_drift(json_t *v, const struct result *r, const struct plan *p)
{
	const struct phase *hold = NULL;
	for (int i = 0; i < p->n; i++)
		if (!strcmp(p->ph[i].name, "hold"))
			hold = &p->ph[i];
	const struct result_metric *d = metric(r, "http_req_duration");
	json_t *o = json_object();
	json_object_set_new(v, "drift", o);
	if (!hold || !d || !d->win.n) {
		json_object_set_new(o, "why", json_string("no hold phase or no latency data"));
		return;
	}
	double a = hold->a + MIN(0.1 * (hold->b - hold->a), 300), b = hold->b;
	int n = 0, step = d->win.step;
	double *x = xcalloc((size_t)d->win.n, sizeof(*x));
	double *y95 = xcalloc((size_t)d->win.n, sizeof(*y95));
	double *yer = xcalloc((size_t)d->win.n, sizeof(*yer));
	double *yx = xcalloc((size_t)d->win.n, sizeof(*yx));
	for (int i = 0; i < d->win.n; i++) {
		double ta = d->win.t[i];
		if (ta < a || ta + step > b || !d->win.h[i]->total_count)
			continue;
		struct range g;
		range_of(r, ta, ta + step, &g);
		x[n] = ta + step / 2.0;
		y95[n] = (double)hdr_value_at_percentile(d->win.h[i], 95) / 1000;
		yer[n] = g.total > 0 ? g.failed / g.total : 0;
		yx[n] = g.covered > 0 ? g.requests / g.covered : 0;
		range_free(&g);
		n++;
	}
	json_object_set_new(o, "from", json_real(a));
	json_object_set_new(o, "to", json_real(b));
	json_object_set_new(o, "windows", json_integer(n));
	json_object_set_new(o, "windowS", json_integer(step));
	static const struct {
		const char *key, *unit, *what;
	} what[] = { { "p95", "ms", "p95" },
		     { "errorRate", "", "error rate" },
		     { "throughput", "req/s", "throughput" } };
	double *ys[] = { y95, yer, yx };
	bool drifting = false;
	int tested = 0;
	for (int k = 0; k < 3; k++) {
		struct trend_result tr;
		json_t *e = json_object();
		json_object_set_new(o, what[k].key, e);
		if (trend_test(x, ys[k], n, 0.05, TREND_CORR_HAMED_RAO, &tr) < 0) {
			json_object_set_new(
			    e, "why",
			    json_string("fewer than 4 complete windows after the warm-up"));
			continue;
		}
		char desc[160];
		trend_describe(&tr, what[k].unit, b - a < 7200 ? TREND_PER_MINUTE : TREND_PER_HOUR,
		               desc, sizeof(desc));
		json_object_set_new(e, "direction", json_integer(tr.direction));
		json_object_set_new(e, "slopePerHour", num_or_null(tr.slope * 3600));
		json_object_set_new(e, "intercept", num_or_null(tr.intercept)); /* at 0 s */
		json_object_set_new(e, "slopeLowPerHour", num_or_null(tr.slope_lo * 3600));
		json_object_set_new(e, "slopeHighPerHour", num_or_null(tr.slope_hi * 3600));
		json_object_set_new(e, "p", num_or_null(tr.p));
		json_object_set_new(e, "describe", json_string(desc));
		bool sig = tr.direction != 0 && (tr.slope_lo > 0 || tr.slope_hi < 0);
		/* material: over the judged span the trend moves the value by at least
		 * DRIFT_MATERIAL of its level at the span's start (and at least the metric's floor:
		 * 1 ms, 0.1 percentage point of errors, 1 req/s); a significant but smaller trend
		 * (a short soak's noise, a slope of 1 ms a minute over 30 s) does not fail it */
		static const double floor_[] = { 1.0, 0.001, 1.0 };
		double base = fabs(tr.intercept + tr.slope * a), change = fabs(tr.slope) * (b - a);
		bool material = change >= MAX(DRIFT_MATERIAL * base, floor_[k]);
		/* with an objective on the value (p95 < L, errors < L) the rise must also take
		 * DRIFT_MATERIAL of the room left under it: 4 ms over a 30 s soak at 11 ms is
		 * noise next to a 200 ms SLO, 40 ms over an hour is not */
		double room = slo_room(&p->slo, k, base);
		if (isfinite(room) && k < 2 && tr.slope > 0)
			material = material && change >= DRIFT_MATERIAL * room;
		/* adverse: latency or errors rising, throughput falling, materially */
		bool adverse = sig && material && (k == 2 ? tr.slope_hi < 0 : tr.slope_lo > 0);
		json_object_set_new(e, "drifting", json_boolean(sig));
		json_object_set_new(e, "material", json_boolean(material));
		json_object_set_new(e, "changeOverSpan", num_or_null(tr.slope * (b - a)));
		json_object_set_new(e, "adverse", json_boolean(adverse));
		drifting |= adverse;
		tested++;
		finding(v, "%s %s", what[k].what, desc);
	}
	json_object_set_new(o, "verdict",
	                    json_string(drifting ? "drifting"
	                                : tested ? "stable"
	                                         : "not enough data"));
	if (drifting && json_is_string(json_object_get(v, "verdict")) &&
	    !strcmp(json_string_value(json_object_get(v, "verdict")), "pass")) {
		json_object_set_new(v, "verdict", json_string("fail"));
		finding(v,
		        "the soak fails: the service degrades over time (an adverse trend above), "
		        "though every SLO held over the hold as a whole");
	}
	if (!tested)
		finding(v,
		        "drift not judged: fewer than 4 complete windows of %d s after the "
		        "warm-up (hold longer)",
		        step);
	free(x), free(y95), free(yer), free(yx);
}

json_t *verdict_test_type(const struct result *r)
{
	struct plan p;
	if (!r || !load_plan(r, &p))
		return NULL;
	json_t *v = json_object(), *rows = json_array(), *slo = json_array();
	json_object_set_new(v, "type", json_string(p.type));
	json_object_set_new(v, "model", json_string(p.model));
	json_object_set_new(v, "level", json_real(p.level));
	json_object_set_new(v, "unit",
	                    json_string(!strcmp(p.model, "open") ? "iterations/s" : "VUs"));
	for (int i = 0; i < p.slo.n; i++)
		json_array_append_new(slo, json_string(p.slo.item[i].text));
	json_object_set_new(v, "slo", slo);
	json_object_set_new(v, "findings", json_array());
	if (p.bad_slo)
		finding(v,
		        "the SLO '%.80s' in the options does not parse: left out of the verdicts",
		        p.bad_slo);

	bool breakpoint = !strcmp(p.type, "breakpoint");
	if (breakpoint) {
		json_decref(rows);
		rows = breakpoint_rows(r, &p);
	} else {
		/* the steady phases: steps, holds, the spike's base, spike and observation */
		for (int i = 0; i < p.n; i++) {
			const struct phase *ph = &p.ph[i];
			if (ph->b <= ph->a || ph->from != ph->to)
				continue; /* ramps and jumps */
			struct range g;
			bool ok;
			int bad;
			range_of(r, ph->a, ph->b, &g);
			json_array_append_new(
			    rows, row_json(&p, ph->name, &g, ph->from, ph->to, &ok, &bad));
			range_free(&g);
		}
	}
	json_object_set_new(v, "steps", rows);
	const struct result_metric *d = metric(r, "http_req_duration");
	double last = d && d->win.n ? (double)d->win.t[d->win.n - 1] + d->win.step : 0;
	double good_at, tried_after;
	last_success(r, &good_at, &tried_after);
	bool failing = good_at < last && tried_after > good_at; /* refused, reset, 5xx ... */
	if (failing)
		last = good_at;
	double gap = r->duration_s - last;
	/* requests were sent that got no answer: counted after the last response (a request
	 * cut off at the end counts in http_reqs only); a long think time sends none */
	double after;
	ts_sum(metric(r, "http_reqs"), last, INFINITY, &after, NULL);
	if (gap >= MAX(5, 2.0 * (d ? d->win.step : 1)) && p.ph[p.n - 1].b > last + 1 &&
	    (failing || after > 0)) {
		json_object_set_new(v, "responsesStoppedAt", json_real(last));
		if (failing && last <= 0)
			finding(v,
			        "no request succeeded (every one failed: see the errors by kind): "
			        "the target is not answering; nothing is judged");
		else if (failing)
			finding(v,
			        "no request succeeded after %.4g s, %.4g s before the run ended "
			        "(every later one failed: see the errors by kind): the target "
			        "stopped answering; nothing past it is judged",
			        last, gap);
		else
			finding(v,
			        "no response completed after %.4g s, %.4g s before the run ended: "
			        "the target stopped answering (or every request was still in "
			        "flight); nothing past it is judged",
			        last, gap);
	}

	if (!strcmp(p.type, "stress")) {
		/* pass or fail at the expected level (step 1); past it, the breaking point */
		json_t *first = json_array_get(rows, 0);
		if (!first || json_is_null(json_object_get(first, "p95")))
			json_object_set_new(v, "verdict", json_string("no data"));
		else if (p.slo.n == 0)
			json_object_set_new(v, "verdict", json_string("no SLO"));
		else
			json_object_set_new(v, "verdict",
			                    json_string(json_is_true(json_object_get(first, "ok"))
			                                    ? "pass"
			                                    : "fail"));
		breaking_point(v, &p, rows, false);
	} else if (breakpoint) {
		json_t *wrows = window_rows(r, &p);
		breaking_point(v, &p, wrows, true);
		json_decref(wrows);
	} else if (!strcmp(p.type, "spike")) {
		spike_recovery(v, r, &p);
	} else {
		/* smoke, load, soak: pass or fail per SLO over the hold */
		json_t *hold =
		    json_array_size(rows) ? json_array_get(rows, json_array_size(rows) - 1) : NULL;
		bool pass = hold && json_is_true(json_object_get(hold, "ok"));
		bool no_data = !hold || json_is_null(json_object_get(hold, "p95"));
		if (no_data) {
			json_object_set_new(v, "verdict", json_string("no data"));
			finding(v, "no verdict: no complete second of responses in the %s",
			        hold ? json_string_value(json_object_get(hold, "phase")) : "hold");
		} else if (p.slo.n == 0)
			json_object_set_new(v, "verdict", json_string("no SLO"));
		else
			json_object_set_new(v, "verdict", json_string(pass ? "pass" : "fail"));
		if (!no_data && p.slo.n) {
			size_t k;
			json_t *e;
			json_array_foreach(json_object_get(hold, "slo"), k, e)
			{
				double val = json_number_value(json_object_get(e, "value"));
				const char *s = json_string_value(json_object_get(e, "slo"));
				bool errs = s && !strncmp(s, "errors", 6);
				finding(v, "%s %s over the %s: %.6g%s", s,
				        json_is_true(json_object_get(e, "ok")) ? "held" : "FAILED",
				        json_string_value(json_object_get(hold, "phase")),
				        errs ? val * 100 : val, errs ? "%" : " ms");
			}
		}
		if (!strcmp(p.type, "soak"))
			soak_drift(v, r, &p);
		/* a target that stopped answering does not pass, whatever came before */
		const char *vd = json_string_value(json_object_get(v, "verdict"));
		if (json_object_get(v, "responsesStoppedAt") && vd && !strcmp(vd, "pass")) {
			json_object_set_new(v, "verdict", json_string("fail"));
			finding(v, "the %s fails: the target stopped answering before its end",
			        p.type);
		}
	}
	return v;
}
