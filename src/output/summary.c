/* summary.c: the k6-style end-of-test summary on the terminal, and its output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"
#include "util/common.h"

#define NAME_WIDTH 34

struct palette {
	const char *ok, *bad, *dim, *bold, *warn, *reset;
};

/* A time in ms printed as k6 does: µs below 1 ms, ms below 1 s, then s. */
static char *fmt_ms(double ms, char *buf, size_t len)
{
	if (!isfinite(ms))
		snprintf(buf, len, "n/a");
	else if (ms == 0)
		snprintf(buf, len, "0s");
	else if (ms < 1)
		snprintf(buf, len, "%.2fµs", ms * 1e3);
	else if (ms < 1000)
		snprintf(buf, len, "%.2fms", ms);
	else if (ms < 60000)
		snprintf(buf, len, "%.2fs", ms / 1e3);
	else
		snprintf(buf, len, "%.0fm%.1fs", floor(ms / 60000), fmod(ms, 60000) / 1e3);
	return buf;
}

static void print_name(FILE *f, const struct palette *p, const char *mark, const char *name)
{
	int len = (int)strlen(name);
	fprintf(f, "  %s %s%s", mark, name, p->dim);
	for (int i = len; i < NAME_WIDTH; i++)
		fputc('.', f);
	fprintf(f, ":%s ", p->reset);
}

static double stat(const struct result *r, const struct result_values *v, enum result_unit u,
                   const char *name)
{
	double x;
	return result_stat(v, u, name, r->duration_s, &x) ? x : NAN;
}

static void print_values(FILE *f, const struct result *r, const struct result_values *v,
                         enum result_unit unit)
{
	char a[32], b[32];
	switch (v->type) {
	case MT_TREND: {
		static const char *const defaults[] = { "avg",   "min",   "med",  "max",
			                                "p(90)", "p(95)", "p(99)" };
		const char *const *names = defaults;
		int n = (int)ARRAY_SIZE(defaults);
		if (r->trend_stats)
			names = result_trend_stats(r, &n);
		for (int i = 0; i < n; i++) {
			double x = stat(r, v, unit, names[i]);
			char val[32];
			if (!isfinite(x))
				snprintf(val, sizeof(val), "n/a");
			else if (!strcmp(names[i], "count"))
				snprintf(val, sizeof(val), "%.0f", x);
			else if (unit == RU_TIME)
				fmt_ms(x, val, sizeof(val));
			else
				snprintf(val, sizeof(val), "%.4g", x);
			fprintf(f, "%s%s=%s", i ? " " : "", names[i], val);
		}
		fputc('\n', f);
		break;
	}
	case MT_COUNTER:
		if (unit == RU_BYTES)
			fprintf(f, "%-10s %s/s\n", format_bytes(stat(r, v, unit, "count"), a, 32),
			        format_bytes(stat(r, v, unit, "rate"), b, 32));
		else
			fprintf(f, "%-10.0f %.2f/s\n", stat(r, v, unit, "count"),
			        stat(r, v, unit, "rate"));
		break;
	case MT_RATE:
		fprintf(f, "%.2f%%  %lld out of %lld\n", stat(r, v, unit, "rate") * 100,
		        (long long)v->nz, (long long)v->total);
		break;
	case MT_GAUGE:
		if (unit == RU_BYTES) { /* k6 humanizes a data gauge as it does a data counter */
			char c[32];
			fprintf(f, "%-10s min=%s max=%s\n", format_bytes_iec(v->g_last, a, 32),
			        format_bytes_iec(v->g_min, b, 32),
			        format_bytes_iec(v->g_max, c, 32));
		} else {
			fprintf(f, "%-10.6g min=%.6g max=%.6g\n", v->g_last, v->g_min, v->g_max);
		}
		break;
	}
}

/* The mark before a metric: ✓ or ✗ when thresholds apply to it, else blank. */
static const char *mark_for(const struct result *r, const struct palette *p, const char *sel,
                            char *buf, size_t len)
{
	bool any = false, ok = true;
	for (int i = 0; i < r->nthresholds; i++) {
		if (strcmp(r->thresholds[i].selector, sel) == 0) {
			any = true;
			ok = ok && r->thresholds[i].ok;
		}
	}
	if (!any)
		return " ";
	snprintf(buf, len, "%s%s%s", ok ? p->ok : p->bad, ok ? "✓" : "✗", p->reset);
	return buf;
}

static bool has_threshold(const struct result *r, const char *metric)
{
	for (int i = 0; i < r->nthresholds; i++)
		if (strcmp(r->thresholds[i].metric, metric) == 0)
			return true;
	return false;
}

/* One metric line (or sub-metric: filter). Metrics without samples are shown only when a
 * threshold names them, and http_reqs and iterations always (k6). */
static void print_metric(FILE *f, const struct result *r, const struct palette *p, int m,
                         const char *sel, const struct result_tag *filter, int nfilter)
{
	const struct result_metric *rm = &r->metrics[m];
	struct result_values v;
	char mark[64];
	bool any = result_combine(r, m, filter, nfilter, &v);
	bool always =
	    nfilter == 0 && (!strcmp(rm->name, "http_reqs") || !strcmp(rm->name, "iterations"));
	if (any || always) {
		print_name(f, p, mark_for(r, p, sel, mark, sizeof(mark)), sel);
		print_values(f, r, &v, rm->unit);
	} else if (nfilter || has_threshold(r, rm->name)) {
		print_name(f, p, mark_for(r, p, sel, mark, sizeof(mark)), sel);
		fprintf(f, "no samples\n");
	}
	result_values_free(&v);
}

static int cmp_metric_name(const void *a, const void *b, void *ctx)
{
	const struct result *r = ctx;
	return strcmp(r->metrics[*(const int *)a].name, r->metrics[*(const int *)b].name);
}

static void print_thresholds(FILE *f, const struct result *r, const struct palette *p)
{
	if (!r->nthresholds)
		return;
	fprintf(f, "\n  %sTHRESHOLDS%s\n", p->bold, p->reset);
	for (int i = 0; i < r->nthresholds; i++) {
		const struct result_threshold *t = &r->thresholds[i];
		char val[48];
		int m = result_find_metric(r, t->metric);
		bool time = m >= 0 && r->metrics[m].unit == RU_TIME && strcmp(t->stat, "count");
		if (!isfinite(t->value))
			snprintf(val, sizeof(val), "no data");
		else if (time)
			fmt_ms(t->value, val, sizeof(val));
		else
			snprintf(val, sizeof(val), "%g", t->value);
		char win[64] = "";
		if (t->aborted_run && t->window_s)
			snprintf(win, sizeof(win), " over the last %d s", t->window_s);
		fprintf(f, "    %s%s%s %s '%s' %s=%s%s%s%s\n", t->ok ? p->ok : p->bad,
		        t->ok ? "✓" : "✗", p->reset, t->selector, t->expr, t->stat, val, win,
		        t->aborted_run     ? " (stopped the run)"
		        : t->abort_on_fail ? " (abort on fail)"
		                           : "",
		        t->ok ? "" : "  FAILED");
	}
}

static double jnum(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* A rate or level with the digits that matter: 433, 85.9, 3.33 (as the HTML report). */
static void fmt_rate(double v, char *buf, size_t len)
{
	double a = fabs(v);
	snprintf(buf, len, "%.*f", a >= 100 ? 0 : a >= 10 ? 1 : 2, v);
}

/* The mean of a gauge's per-second values, and its first and last; false without any. */
static bool gauge_stats(const struct result *r, const char *name, double *mean, double *first,
                        double *last, double *max)
{
	int m = result_find_metric(r, name);
	if (m < 0)
		return false;
	const struct result_timeseries *ts = &r->metrics[m].ts;
	double sum = 0;
	int n = 0;
	for (int i = 0; i < ts->npoints; i++) {
		if (ts->points[i].count <= 0)
			continue;
		double v = ts->points[i].v[0];
		if (n == 0)
			*first = v, *max = v;
		*max = MAX(*max, ts->points[i].v[2]);
		*last = v;
		sum += v;
		n++;
	}
	*mean = n ? sum / n : NAN;
	return n > 0;
}

static double counter_total(const struct result *r, const char *name)
{
	int m = result_find_metric(r, name);
	struct result_values v;
	if (m < 0 || !result_combine(r, m, NULL, 0, &v))
		return NAN;
	double sum = v.sum;
	result_values_free(&v);
	return sum;
}

/* The watched target, host and generator (analyses.monitor, the target_ host_ and
 * generator_ metrics), and the leak findings. */
static void print_target(FILE *f, const struct result *r, const struct palette *p)
{
	const json_t *mon = json_object_get(r->analyses, "monitor");
	if (!json_is_object(mon))
		return;
	const json_t *t = json_object_get(mon, "target");
	double cpus = jnum(json_object_get(mon, "host"), "cpus");
	double mean, first, last, max;
	char a[32], b[32];
	if (json_is_object(t)) {
		fprintf(f, "\n  %sTARGET%s %s (pid %.0f, %s)", p->bold, p->reset,
		        json_string_value(json_object_get(t, "comm")) ?: "?", jnum(t, "pid"),
		        json_string_value(json_object_get(t, "found")) ?: "");
		if (isfinite(jnum(t, "exitedAtS")))
			fprintf(f, ": %sexited %.0f s into the run%s", p->bad, jnum(t, "exitedAtS"),
			        p->reset);
		fprintf(f, "\n");
	} else {
		fprintf(f, "\n  %sHOST%s\n", p->bold, p->reset);
	}
	fprintf(f, "    CPU:    ");
	if (gauge_stats(r, "target_cpu_percent", &mean, &first, &last, &max))
		fprintf(f, "target %.0f%% of a core on average (max %.0f%%); ", mean, max);
	if (gauge_stats(r, "generator_cpu_percent", &mean, &first, &last, &max))
		fprintf(f, "stampede %.0f%% (max %.0f%%); ", mean, max);
	if (gauge_stats(r, "host_cpu_percent", &mean, &first, &last, &max))
		fprintf(f, "host %.0f%% of its %.0f cores (max %.0f%%)", mean,
		        isfinite(cpus) ? cpus : 0, max);
	fprintf(f, "\n    memory: ");
	if (gauge_stats(r, "target_rss_bytes", &mean, &first, &last, &max))
		fprintf(f, "target %s -> %s; ", format_bytes_iec(first, a, sizeof(a)),
		        format_bytes_iec(last, b, sizeof(b)));
	if (gauge_stats(r, "generator_rss_bytes", &mean, &first, &last, &max))
		fprintf(f, "stampede %s -> %s", format_bytes_iec(first, a, sizeof(a)),
		        format_bytes_iec(last, b, sizeof(b)));
	fprintf(f, "\n");
	double th_mean, th_first, th_last, th_max, fd_mean, fd_first, fd_last, fd_max;
	if (gauge_stats(r, "target_threads", &th_mean, &th_first, &th_last, &th_max) &&
	    gauge_stats(r, "target_open_fds", &fd_mean, &fd_first, &fd_last, &fd_max))
		fprintf(f, "    target: %.0f threads at most, %.0f open fds at most\n", th_max,
		        fd_max);
	double ov = counter_total(r, "host_listen_overflows");
	double rt = counter_total(r, "host_tcp_retransmits");
	if (isfinite(ov))
		fprintf(f,
		        "    TCP:    %s%.0f listen-queue overflows%s, %.0f retransmits (the whole "
		        "host)\n",
		        ov > 0 ? p->bad : "", ov, ov > 0 ? p->reset : "", rt);
	size_t i;
	const json_t *fi;
	json_array_foreach(json_object_get(json_object_get(r->analyses, "leaks"), "findings"), i,
	                   fi)
	    fprintf(f, "    - %s%s%s\n", p->bad, json_string_value(fi), p->reset);
}

/* A per-request ratio with the digits that matter: 13.6, 2.0, 0.000399. */
static void fmt_ratio(double v, char *buf, size_t len)
{
	if (!isfinite(v))
		snprintf(buf, len, "n/a");
	else if (fabs(v) >= 1 || v == 0)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.3g", v);
}

/* The target's own endpoints (analyses.monitor.scrape[], engine/scrape.h): per URL its
 * failed scrapes when any, and each counter that grew per request of the run. */
static void print_scrape(FILE *f, const struct result *r, const struct palette *p)
{
	const json_t *list = json_object_get(json_object_get(r->analyses, "monitor"), "scrape");
	size_t i;
	const json_t *e;
	json_array_foreach(list, i, e)
	{
		const char *url = json_string_value(json_object_get(e, "url"));
		double failed = jnum(e, "failedScrapes");
		fprintf(f, "\n  %sSCRAPED%s %s (%.0f scrapes", p->bold, p->reset, url ? url : "?",
		        isfinite(jnum(e, "okScrapes")) ? jnum(e, "okScrapes") : 0);
		if (failed > 0)
			fprintf(f, ", %s%.0f failed%s: %s", p->bad, failed, p->reset,
			        json_string_value(json_object_get(e, "lastError")) ?: "?");
		fprintf(f, ")\n");
		const char *name;
		const json_t *v;
		int zero = 0;
		json_object_foreach((json_t *)json_object_get(e, "perRequest"), name, v)
		{
			char val[32];
			if (!json_is_number(v) || json_number_value(v) == 0) {
				zero++;
				continue;
			}
			fmt_ratio(json_number_value(v), val, sizeof(val));
			fprintf(f, "    %-44s %10s per request\n", name, val);
		}
		if (zero)
			fprintf(f, "    %s(%d other counter%s did not grow)%s\n", p->dim, zero,
			        zero == 1 ? "" : "s", p->reset);
	}
}

/* The bottleneck verdict (analyses.bottleneck, analysis/bottleneck.h): its summary, then
 * the evidence that says more; "none" and "unknown" in one line. */
static void print_bottleneck(FILE *f, const struct result *r, const struct palette *p)
{
	const json_t *b = json_object_get(r->analyses, "bottleneck");
	if (!json_is_object(b))
		return;
	const char *verdict = json_string_value(json_object_get(b, "verdict")) ?: "?";
	const char *sum = json_string_value(json_object_get(b, "summary")) ?: "";
	bool none = !strcmp(verdict, "none"), unknown = !strcmp(verdict, "unknown");
	fprintf(f, "\n  %sBOTTLENECK%s %s%s%s", p->bold, p->reset,
	        none      ? p->ok
	        : unknown ? p->warn
	                  : p->bad,
	        verdict, p->reset);
	if (none || unknown) {
		fprintf(f, ": %s\n", sum);
		return;
	}
	const char *res = json_string_value(json_object_get(b, "resource"));
	double since = jnum(b, "sinceS");
	if (res && !strcmp(res, verdict)) /* "memory (memory)": said once */
		res = NULL;
	if (res || isfinite(since))
		fprintf(f, " (%s%s", res ? res : "", res && isfinite(since) ? ", " : "");
	if (isfinite(since))
		fprintf(f, "from %.0f s on", since);
	fprintf(f, "%s\n    %s\n", res || isfinite(since) ? ")" : "", sum);
	size_t i;
	const json_t *e;
	json_array_foreach(json_object_get(b, "evidence"), i, e)
	{
		const char *s = json_string_value(e);
		if (s && strcmp(s, sum)) /* the first one is often the summary itself */
			fprintf(f, "      - %s\n", s);
	}
}

/* The CPU profile of the target (analyses.profile, cli/profile_run.h): the flame graph's
 * path, the samples and their window, the top 5 functions; or why there is none. */
static void print_profile(FILE *f, const struct result *r, const struct palette *p)
{
	const json_t *pr = json_object_get(r->analyses, "profile");
	if (!json_is_object(pr))
		return;
	const char *err = json_string_value(json_object_get(pr, "error"));
	if (err) {
		fprintf(f, "\n  %sPROFILE%s %snot taken%s: %s\n", p->bold, p->reset, p->warn,
		        p->reset, err);
		return;
	}
	const char *comm = json_string_value(json_object_get(pr, "comm"));
	fprintf(f, "\n  %sPROFILE%s %s (pid %.0f): %.0f samples at %.0f Hz", p->bold, p->reset,
	        comm ? comm : "?", jnum(pr, "pid"), jnum(pr, "samples"), jnum(pr, "hz"));
	if (isfinite(jnum(pr, "fromS")) && isfinite(jnum(pr, "toS")))
		fprintf(f, " from %.1f s to %.1f s", jnum(pr, "fromS"), jnum(pr, "toS"));
	fprintf(f, "\n    flame graph: %s\n",
	        json_string_value(json_object_get(pr, "svg")) ?: "(not written)");
	const json_t *top = json_object_get(pr, "topFunctions");
	if (!json_array_size(top))
		return;
	fprintf(f, "    %7s %7s  %s\n", "self", "total", "function");
	size_t i;
	const json_t *e;
	json_array_foreach(top, i, e)
	{
		if (i == 5)
			break;
		fprintf(f, "    %6.1f%% %6.1f%%  %s\n", jnum(e, "self") * 100,
		        jnum(e, "total") * 100,
		        json_string_value(json_object_get(e, "name")) ?: "?");
	}
}

/* The test type's verdicts (analyses.testType, docs/result-format.md): the steps table and
 * the findings, each a line. */
static void print_test_type(FILE *f, const struct result *r, const struct palette *p)
{
	const json_t *v = json_object_get(r->analyses, "testType");
	const json_t *steps = json_object_get(v, "steps");
	if (!json_is_object(v))
		return;
	const char *type = json_string_value(json_object_get(v, "type"));
	const char *unit = json_string_value(json_object_get(v, "unit"));
	const char *verdict = json_string_value(json_object_get(v, "verdict"));
	bool vus = unit && !strcmp(unit, "VUs");
	/* a stress test's steps: from the level to the last step's (its verdict is step 1's) */
	bool stress = type && !strcmp(type, "stress");
	double top =
	    stress ? jnum(json_array_get(steps, json_array_size(steps) - 1), "offered") : NAN;
	if (stress && isfinite(top) && top > jnum(v, "level"))
		fprintf(f, "\n  %s%s TEST%s from %g to %g %s", p->bold, type, p->reset,
		        jnum(v, "level"), top, unit ? unit : "");
	else
		fprintf(f, "\n  %s%s TEST%s at %g %s", p->bold, type ? type : "?", p->reset,
		        jnum(v, "level"),
		        vus && jnum(v, "level") == 1 ? "VU"
		        : unit                       ? unit
		                                     : "");
	if (verdict)
		fprintf(f, ": %s%s%s%s", stress ? "step 1 " : "",
		        !strcmp(verdict, "pass") ? p->ok : p->bad, verdict, p->reset);
	fprintf(f, "\n");
	if (json_array_size(steps)) {
		char a[24], b[24], c[24];
		size_t i;
		const json_t *row;
		/* the target's CPU and memory per step, when it was monitored (issue #12) */
		bool target = false;
		json_array_foreach(steps, i, row)
		{
			if (json_object_get(row, "targetCpuPercent") ||
			    json_object_get(row, "targetRssBytes"))
				target = true;
		}
		fprintf(f, "    %-16s %9s %10s %7s %10s %10s %10s", "step",
		        vus ? "VUs" : "offered/s", "served/s", "errors", "p50", "p95", "p99");
		if (target)
			fprintf(f, " %7s %10s", "CPU", "RSS");
		fprintf(f, "  %s\n", "SLOs");
		json_array_foreach(steps, i, row)
		{
			if (i == 256) { /* a real verdict has about 64 at most: a made-up file */
				fprintf(f, "    ... %zu more rows\n", json_array_size(steps) - i);
				break;
			}
			bool judged = json_array_size(json_object_get(row, "slo")) > 0;
			bool ok = json_is_true(json_object_get(row, "ok"));
			double er = jnum(row, "errorRate");
			char err[16];
			if (isfinite(er))
				snprintf(err, sizeof(err), "%.2f%%", er * 100);
			else
				snprintf(err, sizeof(err), "n/a");
			char off[24], thr[24];
			fmt_rate(jnum(row, "offered"), off, sizeof(off));
			fmt_rate(jnum(row, "throughput"), thr, sizeof(thr));
			fprintf(f, "    %-16.16s %9s %10s %7s %10s %10s %10s",
			        json_string_value(json_object_get(row, "phase")),
			        isfinite(jnum(row, "offered")) ? off : "-",
			        isfinite(jnum(row, "throughput")) ? thr : "-", err,
			        fmt_ms(jnum(row, "p50"), a, sizeof(a)),
			        fmt_ms(jnum(row, "p95"), b, sizeof(b)),
			        fmt_ms(jnum(row, "p99"), c, sizeof(c)));
			if (target) {
				double cpu = jnum(row, "targetCpuPercent");
				double rss = jnum(row, "targetRssBytes");
				char cp[16];
				snprintf(cp, sizeof(cp), "%.0f%%", cpu);
				fprintf(f, " %7s %10s", isfinite(cpu) ? cp : "-",
				        isfinite(rss) ? format_bytes_iec(rss, a, sizeof(a)) : "-");
			}
			fprintf(f, "  %s%s%s\n",
			        !judged ? ""
			        : ok    ? p->ok
			                : p->bad,
			        !judged ? "-"
			        : ok    ? "held"
			                : "failed",
			        p->reset);
		}
	}
	size_t i;
	const json_t *fi;
	json_array_foreach(json_object_get(v, "findings"), i, fi)
	    fprintf(f, "    - %s\n", json_string_value(fi));
}

/* The USL fit of a sweep (analyses.capacity, analysis/usl.h), in three lines. */
static void print_capacity(FILE *f, const struct result *r, const struct palette *p)
{
	const json_t *c = json_object_get(r->analyses, "capacity");
	if (!json_is_object(c))
		return;
	fprintf(f, "\n  %sSCALABILITY%s (Universal Scalability Law, fitted to the steps)\n",
	        p->bold, p->reset);
	const char *error = json_string_value(json_object_get(c, "error"));
	if (error) {
		fprintf(f, "    not fitted: %s\n", error);
		return;
	}
	const char *src = json_string_value(json_object_get(c, "nSource"));
	bool little = src && !strcmp(src, "littles-law");
	double nstar = jnum(c, "nStar"), xmax = jnum(c, "xMax"), xm = jnum(c, "xMeasured");
	fprintf(f,
	        "    sigma (contention) %.4g   kappa (coherency) %.4g   lambda %.4g/s per %s   "
	        "R2 %.3f\n",
	        jnum(c, "sigma"), jnum(c, "kappa"), jnum(c, "lambda"),
	        little ? "request in service" : "VU", jnum(c, "r2"));
	if (little)
		fprintf(f, "    (open model: N is the mean number of requests in service, X.R by "
		           "Little's law)\n");
	if (isfinite(nstar) && isfinite(xmax))
		fprintf(f, "    X_max %.4g/s at N* = %.3g; best measured %.4g/s\n", xmax, nstar,
		        xm);
	else if (isfinite(xmax))
		fprintf(f, "    X_max %.4g/s (levels off, no peak); best measured %.4g/s\n", xmax,
		        xm);
	else
		fprintf(f, "    no limit over the measured levels (linear); best measured %.4g/s\n",
		        xm);
	const char *verdict = json_string_value(json_object_get(c, "verdict"));
	if (verdict)
		fprintf(f, "    %s\n", verdict);
	size_t i;
	const json_t *w;
	json_array_foreach(json_object_get(c, "warnings"), i, w)
	    fprintf(f, "    %s- %s%s\n", p->warn, json_string_value(w), p->reset);
	if (isfinite(xmax))
		fprintf(f, "    next: keep the result (--out result=FILE), then `stampede capacity "
		           "plan --model FILE`\n");
}

/* The checks of group path g, then its child groups, depth first. */
static void print_group(FILE *f, const struct result *r, const struct palette *p, const char *g,
                        int depth)
{
	int ind = 4 + 2 * depth;
	if (depth > 0) {
		const char *name = g, *sep;
		while ((sep = strstr(name, "::")))
			name = sep + 2;
		fprintf(f, "%*s█ %s\n", ind - 2, "", name);
	}
	for (int i = 0; i < r->nchecks; i++) {
		const struct result_check *c = &r->checks[i];
		if (strcmp(c->group, g))
			continue;
		bool ok = c->fails == 0;
		fprintf(f, "%*s%s%s%s %s", ind, "", ok ? p->ok : p->bad, ok ? "✓" : "✗", p->reset,
		        c->name);
		if (!ok)
			fprintf(f, "  %s↳ %.0f%% — ✓ %lld / ✗ %lld%s", p->dim,
			        100.0 * (double)c->passes / (double)MAX(c->passes + c->fails, 1),
			        (long long)c->passes, (long long)c->fails, p->reset);
		fputc('\n', f);
	}
	size_t len = strlen(g);
	for (int i = 0; i < r->ngroups; i++) { /* children: g + "::" + a name without "::" */
		const char *k = r->groups[i];
		if (strncmp(k, g, len) || strncmp(k + len, "::", 2) || strstr(k + len + 2, "::"))
			continue;
		print_group(f, r, p, k, depth + 1);
	}
}

static void print_errors(FILE *f, const struct result *r, const struct palette *p)
{
	if (r->nerrors) {
		fprintf(f, "\n  %sERRORS%s\n", p->bold, p->reset);
		for (int i = 0; i < r->nerrors; i++)
			fprintf(f, "    %s%8lld%s  %s (%d): %s\n", p->bad,
			        (long long)r->errors[i].count, p->reset, r->errors[i].kind,
			        r->errors[i].code, r->errors[i].description);
	}
	if (r->nscript_errors) {
		fprintf(f, "\n  %sSCRIPT ERRORS%s (iterations that raised an error)\n", p->bold,
		        p->reset);
		for (int i = 0; i < r->nscript_errors; i++)
			fprintf(f, "    %s%8lld%s  %s\n", p->bad,
			        (long long)r->script_errors[i].count, p->reset,
			        r->script_errors[i].message);
	}
}

/* A merged result: from how many parts, and how much of the load they cover; a part of a
 * distributed run: which share, and that the merge judges the whole. */
static void print_distributed(FILE *f, const struct result *r, const struct palette *p)
{
	const json_t *seg = json_object_get(r->options, "executionSegment");
	if (!r->merge) {
		if (json_is_string(seg))
			fprintf(
			    f,
			    "  %sSEGMENT%s %s of %s: this run is one part of a distributed test; "
			    "its thresholds judge its share, `stampede merge` judges the whole\n",
			    p->bold, p->reset, json_string_value(seg),
			    json_string_value(
			        json_object_get(r->options, "executionSegmentSequence"))
			        ?: "its sequence");
		return;
	}
	const json_t *parts = json_object_get(r->merge, "parts"), *q;
	const char *cov = json_string_value(json_object_get(r->merge, "coverage"));
	size_t i, stopped = 0;
	json_array_foreach(parts, i, q) stopped +=
	    json_is_true(json_object_get(q, "interrupted")) ||
	    json_is_true(json_object_get(q, "aborted"));
	bool partial = cov && !strcmp(cov, "partial");
	fprintf(f, "  %sMERGED%s from %zu part%s, %s%s%s%s\n", p->bold, p->reset,
	        json_array_size(parts), json_array_size(parts) == 1 ? "" : "s",
	        partial ? p->warn : "",
	        partial                       ? "covering only part of the load"
	        : cov && !strcmp(cov, "full") ? "covering the whole load"
	                                      : "independent runs (no segments)",
	        partial ? p->reset : "", stopped ? " (a part stopped before its end)" : "");
}

void summary_print(FILE *f, const struct result *r, const struct output_env *env, bool color)
{
	static const struct palette colors = { "\033[32m", "\033[31m", "\033[2m",
		                               "\033[1m",  "\033[33m", "\033[0m" };
	static const struct palette plain = { "", "", "", "", "", "" };
	const struct palette *p = color ? &colors : &plain;
	char dur[32];
	(void)env;

	fprintf(f, "\n");
	print_distributed(f, r, p);
	if (r->aborted)
		fprintf(f, "  %sABORTED%s: %s\n", p->bad, p->reset,
		        r->abort_reason ? r->abort_reason : "threshold failed");
	if (r->interrupted)
		fprintf(f, "  %sINTERRUPTED%s: %s\n", p->warn, p->reset,
		        r->gen.workers_stuck ? "a worker did not stop (see the warning above)"
		                             : "stopped by a signal");
	if (r->nchecks || r->ngroups) {
		fprintf(f, "\n  %sCHECKS AND GROUPS%s\n", p->bold, p->reset);
		print_group(f, r, p, "", 0);
	}
	print_thresholds(f, r, p);
	print_test_type(f, r, p);
	print_capacity(f, r, p);
	print_target(f, r, p);
	print_scrape(f, r, p);
	print_bottleneck(f, r, p);
	print_profile(f, r, p);

	fprintf(f, "\n  %sMETRICS%s (run time %s)\n", p->bold, p->reset,
	        format_duration((int64_t)(r->duration_s * 1e6), dur, sizeof(dur)));
	/* Metrics in name order, each followed by the sub-metrics its thresholds name. */
	int *order = xcalloc((size_t)MAX(r->nmetrics, 1), sizeof(*order));
	for (int m = 0; m < r->nmetrics; m++)
		order[m] = m;
	qsort_r(order, (size_t)r->nmetrics, sizeof(*order), cmp_metric_name, (void *)r);
	for (int i = 0; i < r->nmetrics; i++) {
		int m = order[i];
		print_metric(f, r, p, m, r->metrics[m].name, NULL, 0);
		for (int j = 0; j < r->nthresholds; j++) {
			const struct result_threshold *t = &r->thresholds[j];
			if (!t->ntags || strcmp(t->metric, r->metrics[m].name) != 0)
				continue;
			bool dup = false;
			for (int k = 0; k < j; k++)
				dup = dup || strcmp(r->thresholds[k].selector, t->selector) == 0;
			if (!dup)
				print_metric(f, r, p, m, t->selector, t->tags, t->ntags);
		}
	}
	free(order);

	int md = result_find_metric(r, "dropped_iterations");
	struct result_values dropped;
	if (result_combine(r, md, NULL, 0, &dropped) && dropped.sum > 0)
		fprintf(f,
		        "\n  %sWARNING%s: %.0f iteration%s dropped: no VU was free to start %s "
		        "when due (every VU up to maxVUs was busy: the target did not keep up with "
		        "the arrival rate, or maxVUs is too low for its latency), or %s still "
		        "waiting when the run stopped\n",
		        p->bad, p->reset, dropped.sum, dropped.sum == 1 ? " was" : "s were",
		        dropped.sum == 1 ? "it" : "them",
		        dropped.sum == 1 ? "it was" : "they were");
	result_values_free(&dropped);
	if (r->interrupted_iterations > 0)
		fprintf(
		    f,
		    "\n  %sWARNING%s: %lld iterations were cut off when the run stopped (their "
		    "requests in flight count as 'interrupted', in no latency or failure rate); "
		    "a longer --grace (gracefulStop) lets them finish, unless they never end\n",
		    p->warn, p->reset, (long long)r->interrupted_iterations);
	print_errors(f, r, p);
	/* one sample per second begun: a 6.2 s run has 7 */
	int samples = MAX((int)ceil(r->duration_s - 1e-9),
	                  MAX(r->gen.saturated_seconds, r->gen.host_saturated_seconds));
	if (r->gen.saturated_seconds > 0)
		fprintf(
		    f,
		    "\n  %sWARNING%s: the generator's own CPU was saturated in %d of the run's %d "
		    "one-second samples (workers at %.0f%% on average): its figures understate "
		    "what the target can do. Use more --threads or a bigger machine.\n",
		    p->warn, p->reset, r->gen.saturated_seconds, samples, r->gen.cpu_percent);
	else if (r->gen.host_saturated_seconds > 0)
		fprintf(f,
		        "\n  %sWARNING%s: the machine's CPU was saturated in %d of the run's %d "
		        "one-second samples (the generator's workers averaged %.0f%%): the "
		        "generator had to share the CPU with whatever else ran, so its figures may "
		        "understate what the target can do.\n",
		        p->warn, p->reset, r->gen.host_saturated_seconds, samples,
		        r->gen.cpu_percent);
	fprintf(f, "\n");
}

static int summary_finish(struct output *o, const struct result *r, char *err, size_t errlen)
{
	summary_print(stdout, r, o->env, o->env->color_stdout);
	fflush(stdout);
	return 0;
}

const struct output_ops output_summary = {
	.name = "summary",
	.finish = summary_finish,
};
