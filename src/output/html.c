/* html.c: the self-contained HTML report of a run: inline CSS and SVG charts (svgchart.h), no
 * script, font, image or request of any kind (--out html=FILE, `stampede report`). */
#include "output/html.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "metrics/hdr.h"
#include "output/output.h"
#include "output/svgchart.h"
#include "util/common.h"
#include "util/escape.h"
#include "util/outfile.h"

#define MAX_ENDPOINT_ROWS      500
#define NAME_MAX_CHARS         300        /* shown of one name, tag, path, selector or option */
#define MESSAGE_MAX_CHARS      2000       /* shown of one error message */
#define OPTIONS_MAX_CHARS      65536      /* shown of the options as JSON */
#define DIAG_ROWS_MAX          256        /* rows of evidence, resources, functions shown */
#define PROFILE_SVG_INLINE_MAX (5u << 20) /* bytes of flame graph embedded at most */

/* --- text ------------------------------------------------------------------------- */

static void put(struct buf *b, const char *s)
{
	buf_addstr(b, s);
}

/* Append s as HTML text or attribute value, its first max characters only (svgchart_text:
 * escaped, sanitized, capped with its full length). */
static void put_text_max(struct buf *b, const char *s, size_t max)
{
	svgchart_text(b, s, max);
}

/* A name, tag, group path, selector or option from the result, capped. */
static void put_name(struct buf *b, const char *s)
{
	put_text_max(b, s, NAME_MAX_CHARS);
}

/* A count from the result: a negative one (a damaged file) is shown as "n/a". */
static char *fmt_count(int64_t v, char *s, size_t len)
{
	if (v < 0)
		snprintf(s, len, "n/a");
	else
		snprintf(s, len, "%lld", (long long)v);
	return s;
}

/* A time in ms as k6 prints it: µs below 1 ms, ms below 1 s, then s. */
static char *fmt_ms(double ms, char *s, size_t len)
{
	if (!isfinite(ms))
		snprintf(s, len, "n/a");
	else if (ms == 0)
		snprintf(s, len, "0s");
	else if (fabs(ms) < 1)
		snprintf(s, len, "%.2fµs", ms * 1e3);
	else if (fabs(ms) < 1000)
		snprintf(s, len, "%.2fms", ms);
	else
		snprintf(s, len, "%.2fs", ms / 1e3);
	return s;
}

static char *fmt_num(double v, char *s, size_t len)
{
	return svgchart_num(v, s, len); /* the same figures as the charts' ticks */
}

static char *fmt_pct(double num, double den, char *s, size_t len)
{
	if (!(den > 0) || !(num >= 0) || num > den || !isfinite(den))
		snprintf(s, len, "n/a");
	else
		snprintf(s, len, "%.2f%%", 100.0 * num / den);
	return s;
}

/* Statistics that are times (in ms) for a time trend. */
static bool stat_is_time(const char *stat)
{
	return strcmp(stat, "avg") == 0 || strcmp(stat, "min") == 0 || strcmp(stat, "med") == 0 ||
	       strcmp(stat, "max") == 0 || strncmp(stat, "p(", 2) == 0;
}

/* A statistic's value in the unit of its metric. */
static char *fmt_stat(double v, enum result_unit unit, const char *stat, char *s, size_t len)
{
	if (unit == RU_TIME && stat_is_time(stat))
		return fmt_ms(v, s, len);
	if (unit == RU_BYTES && isfinite(v) &&
	    (strcmp(stat, "count") == 0 || strcmp(stat, "value") == 0 || stat_is_time(stat)))
		return format_bytes(v, s, len);
	return fmt_num(v, s, len);
}

/* --- charts (output/svgchart.h) ------------------------------------------------- */

/* A number field of a JSON object (analyses, options.testType), NAN when absent. */
static double phase_num(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The bound of a threshold, "p(95)<200" -> 200, when its expression is its stat, an
 * operator and a number. */
static bool thr_bound(const struct result_threshold *t, double *bound)
{
	const char *e = t->expr;
	size_t sl = t->stat ? strlen(t->stat) : 0;
	if (!e || !t->stat || strncmp(e, t->stat, sl) != 0)
		return false;
	e += sl;
	while (*e == ' ' || *e == '<' || *e == '>' || *e == '=' || *e == '!')
		e++;
	char *end;
	double v = strtod(e, &end);
	if (end == e || !isfinite(v))
		return false;
	*bound = v;
	return true;
}

/* Every threshold on metric's time statistics as a reference line (an SLO). */
static void slo_refs(struct svgchart *c, const struct result *r, const char *metric)
{
	for (int i = 0; i < r->nthresholds; i++) {
		const struct result_threshold *t = &r->thresholds[i];
		double y;
		char label[200];
		if (!t->metric || strcmp(t->metric, metric) != 0 || !t->stat ||
		    !stat_is_time(t->stat) || !thr_bound(t, &y))
			continue;
		snprintf(label, sizeof(label), "%s%s%s (%s)", t->ntags ? t->selector : "",
		         t->ntags ? " " : "", t->expr, t->ok ? "passed" : "failed");
		svgchart_ref(c, y, label, t->ok ? "#059669" : "#dc2626");
	}
}

/* A chart over the run's time (x: seconds since the start, to its end at least). */
static struct svgchart *time_chart(const struct result *r, const char *id, const char *title,
                                   const char *ylabel)
{
	struct svgchart *c = svgchart_new(id, title, "seconds since the start", ylabel);
	svgchart_extend_x(c, r->duration_s);
	return c;
}

/* Render c into b and free it. */
static void render(struct buf *b, struct svgchart *c)
{
	svgchart_render(c, b);
	svgchart_free(c);
}

static void section_over_time(struct buf *b, const struct result *r)
{
	const json_t *phases = json_object_get(json_object_get(r->options, "testType"), "phases");
	const json_t *bp =
	    json_object_get(json_object_get(r->analyses, "testType"), "breakingPoint");
	double mark = json_is_true(json_object_get(bp, "found")) ? phase_num(bp, "atS") : NAN;
	struct svgchart *c =
	    time_chart(r, "chart-throughput", "Throughput and errors", "per second");
	svgchart_phases(c, phases);
	svgchart_mark(c, mark, "breaking point");
	struct svgchart_line *reqs =
	    svgchart_ts_metric(c, r, "http_reqs", SVGCHART_PER_SECOND, 0, "requests/s");
	struct svgchart_line *failed =
	    svgchart_ts_metric(c, r, "http_req_failed", SVGCHART_FAILED, 0, "failed requests/s");
	if (reqs && failed)
		svgchart_line_color(failed, "#dc2626");
	put(b, "<section id=\"over-time\"><h2>Over time</h2>\n");
	render(b, c);

	struct svgchart *l = time_chart(
	    r, "chart-latency", "Request duration percentiles (http_req_duration)", "milliseconds");
	svgchart_phases(l, phases);
	svgchart_mark(l, mark, "breaking point");
	static const char *const names[] = { "p50", "p90", "p95", "p99" };
	for (int k = 0; k < 4; k++)
		svgchart_ts_metric(l, r, "http_req_duration", SVGCHART_V, k, names[k]);
	slo_refs(l, r, "http_req_duration");
	/* a soak's p95 drift: Sen's line over the stretch it was tested on */
	const json_t *drift = json_object_get(json_object_get(r->analyses, "testType"), "drift");
	const json_t *d95 = json_object_get(drift, "p95");
	double from = phase_num(drift, "from"), to = phase_num(drift, "to");
	double slope = phase_num(d95, "slopePerHour") / 3600, icpt = phase_num(d95, "intercept");
	if (json_is_true(json_object_get(d95, "drifting")) && isfinite(from) && isfinite(to) &&
	    to > from && isfinite(slope) && isfinite(icpt)) {
		struct svgchart_line *t = svgchart_line(l, "p95 trend (Sen's slope)", 2);
		svgchart_line_color(t, "#111827");
		svgchart_add(t, from, icpt + slope * from);
		svgchart_add(t, to, icpt + slope * to);
	}
	render(b, l);

	struct svgchart *v = time_chart(r, "chart-vus", "Virtual users", "VUs");
	svgchart_phases(v, phases);
	svgchart_mark(v, mark, "breaking point");
	svgchart_ts_metric(v, r, "vus", SVGCHART_V, 0, "VUs");
	svgchart_ts_metric(v, r, "vus_max", SVGCHART_V, 0, "VUs allocated");
	render(b, v);
	put(b, "</section>\n");
}

/* --- the diagnosis (issue #12): the bottleneck, the target's own counters, the profile - */

/* The bottleneck verdict (analyses.bottleneck, analysis/bottleneck.h): its summary, the
 * evidence and the USE table (a row per resource: utilisation, saturation, errors). */
static void section_bottleneck(struct buf *b, const struct result *r)
{
	const json_t *bn = json_object_get(r->analyses, "bottleneck");
	if (!json_is_object(bn))
		return;
	const char *verdict = json_string_value(json_object_get(bn, "verdict")) ?: "?";
	const char *sum = json_string_value(json_object_get(bn, "summary")) ?: "";
	bool none = !strcmp(verdict, "none"), unknown = !strcmp(verdict, "unknown");
	put(b, "<section id=\"bottleneck\"><h2>Bottleneck</h2>\n<p>");
	buf_printf(b, "<span class=\"badge %s\" id=\"bottleneck-verdict\">",
	           none      ? "good"
	           : unknown ? "warn"
	                     : "bad");
	put_name(b, verdict);
	put(b, "</span> ");
	put_text_max(b, sum, MESSAGE_MAX_CHARS);
	put(b, "</p>\n");
	size_t i;
	const json_t *e;
	bool list = false;
	json_array_foreach(json_object_get(bn, "evidence"), i, e)
	{
		if (i == DIAG_ROWS_MAX)
			break;
		if (!json_is_string(e) || !strcmp(json_string_value(e), sum))
			continue; /* the first one is often the summary itself */
		put(b, list ? "<li>" : "<ul class=\"findings\"><li>");
		list = true;
		put_text_max(b, json_string_value(e), MESSAGE_MAX_CHARS);
		put(b, "</li>");
	}
	if (list)
		put(b, "</ul>\n");
	const json_t *rows = json_object_get(bn, "resources");
	if (json_array_size(rows)) {
		put(b, "<table class=\"use\"><thead><tr><th>resource</th><th>utilisation</th>"
		       "<th>saturation</th><th>errors</th><th>saturated</th><th>since</th></tr>"
		       "</thead><tbody>\n");
		json_array_foreach(rows, i, e)
		{
			if (i == DIAG_ROWS_MAX)
				break;
			static const char *const cols[] = { "resource", "utilisation", "saturation",
				                            "errors" };
			bool sat = json_is_true(json_object_get(e, "saturated"));
			buf_printf(b, "<tr class=\"%s\">", sat ? "fail" : "pass");
			for (size_t k = 0; k < ARRAY_SIZE(cols); k++) {
				put(b, k ? "<td>" : "<td><b>");
				put_text_max(b,
				             json_string_value(json_object_get(e, cols[k])) ?: "-",
				             NAME_MAX_CHARS);
				put(b, k ? "</td>" : "</b></td>");
			}
			double since = phase_num(e, "sinceS");
			buf_printf(b, "<td>%s</td><td class=\"n\">", sat ? "<b>yes</b>" : "no");
			if (isfinite(since))
				buf_printf(b, "%.0f s", since);
			put(b, "</td></tr>\n");
		}
		put(b, "</tbody></table>\n");
	}
	put(b, "</section>\n");
}

/* A cumulative ratio line on c: metric's running total over http_reqs' running total, at
 * the end of each second (the last point is the result's perRequest figure). */
static bool ratio_line(struct svgchart *c, const struct result *r, const char *metric)
{
	int m = result_find_metric(r, metric), h = result_find_metric(r, "http_reqs");
	if (m < 0 || h < 0 || r->metrics[m].ts.npoints <= 0)
		return false;
	const struct result_timeseries *a = &r->metrics[m].ts, *q = &r->metrics[h].ts;
	struct svgchart_line *l = svgchart_line(c, metric, a->npoints);
	if (!l)
		return false;
	double num = 0, den = 0;
	int j = 0;
	for (int i = 0; i < a->npoints; i++) {
		int32_t t = a->points[i].t;
		num += a->points[i].count;
		for (; j < q->npoints && q->points[j].t <= t; j++)
			den += q->points[j].count;
		double end = t + (a->step > 0 ? a->step : 1);
		if (isfinite(r->duration_s) && r->duration_s > 0)
			end = MIN(end, r->duration_s);
		svgchart_add(l, end, den > 0 ? num / den : NAN);
		svgchart_extend_x(c, end);
	}
	return true;
}

/* The target's own Prometheus endpoints (analyses.monitor.scrape[], engine/scrape.h): a
 * row per URL, a row per counter that grew, per request, and their running ratios. */
static void scrape_block(struct buf *b, const struct result *r, const json_t *list)
{
	size_t i;
	const json_t *e;
	char s[48], t[48];
	put(b, "<h3>The target's own metrics (--scrape)</h3>\n<table id=\"scrape\"><thead><tr>"
	       "<th>endpoint</th><th>scrapes</th><th>failed</th><th>last error</th></tr></thead>"
	       "<tbody>\n");
	json_array_foreach(list, i, e)
	{
		double failed = phase_num(e, "failedScrapes");
		buf_printf(b, "<tr class=\"%s\"><td>", failed > 0 ? "fail" : "pass");
		put_name(b, json_string_value(json_object_get(e, "url")) ?: "?");
		buf_printf(b, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td>",
		           fmt_num(phase_num(e, "okScrapes"), s, sizeof(s)),
		           fmt_num(failed, t, sizeof(t)));
		put_text_max(b, json_string_value(json_object_get(e, "lastError")) ?: "",
		             MESSAGE_MAX_CHARS);
		put(b, "</td></tr>\n");
	}
	put(b, "</tbody></table>\n<table class=\"num\" id=\"per-request\"><thead><tr>"
	       "<th>counter</th><th>total</th><th>per request</th></tr></thead><tbody>\n");
	struct svgchart *c =
	    time_chart(r, "chart-per-request", "Target counters per request (running ratio)",
	               "per request, since the start");
	int lines = 0;
	int rows = 0;
	json_array_foreach(list, i, e)
	{
		const char *name;
		const json_t *v;
		json_object_foreach((json_t *)json_object_get(e, "perRequest"), name, v)
		{
			double x = json_is_number(v) ? json_number_value(v) : NAN;
			if (x == 0 || rows++ >= MAX_ENDPOINT_ROWS)
				continue;
			put(b, "<tr><td class=\"name\">");
			put_name(b, name);
			buf_printf(
			    b, "</td><td>%s</td><td>%s</td></tr>\n",
			    fmt_num(phase_num(json_object_get(e, "counters"), name), s, sizeof(s)),
			    fmt_num(x, t, sizeof(t)));
			if (json_array_size(list) == 1)
				lines += ratio_line(c, r, name);
		}
	}
	put(b, "</tbody></table>\n");
	if (lines)
		svgchart_render(c, b);
	svgchart_free(c);
}

char *html_svg_base64(const char *path, size_t max)
{
	struct buf in = { 0 };
	char *out = NULL;
	FILE *f = path && *path ? fopen(path, "rb") : NULL;
	if (!f)
		return NULL;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && in.len <= max)
		buf_add(&in, chunk, n);
	fclose(f);
	if (in.len > 0 && in.len <= max && strstr(in.p, "<svg") &&
	    strstr(in.p, "http://www.w3.org/2000/svg")) {
		out = xmalloc(4 * ((in.len + 2) / 3) + 1);
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in.p, (int)in.len);
	}
	buf_free(&in);
	return out;
}

/* The target's CPU profile (analyses.profile, cli/profile_run.h): the top functions and
 * the flame graph as an image (data: URI: its own script never runs in a report, which
 * holds none), or the reason there is none. */
static void section_profile(struct buf *b, const struct result *r)
{
	const json_t *pr = json_object_get(r->analyses, "profile");
	if (!json_is_object(pr))
		return;
	char s[48], t[48];
	put(b, "<section id=\"profile\"><h2>CPU profile of the target</h2>\n");
	const char *err = json_string_value(json_object_get(pr, "error"));
	if (err) {
		put(b, "<p class=\"warn\" id=\"profile-error\">No profile: ");
		put_text_max(b, err, MESSAGE_MAX_CHARS);
		put(b, "</p></section>\n");
		return;
	}
	const char *svg = json_string_value(json_object_get(pr, "svg"));
	put(b, "<dl class=\"kv\"><dt>process</dt><dd>");
	put_name(b, json_string_value(json_object_get(pr, "comm")) ?: "?");
	buf_printf(b, " (pid %s)</dd><dt>samples</dt><dd>", fmt_num(phase_num(pr, "pid"), s, 48));
	buf_printf(b, "%s at %s Hz", fmt_num(phase_num(pr, "samples"), s, sizeof(s)),
	           fmt_num(phase_num(pr, "hz"), t, sizeof(t)));
	if (isfinite(phase_num(pr, "fromS")) && isfinite(phase_num(pr, "toS")))
		buf_printf(b, ", from %s s", fmt_num(phase_num(pr, "fromS"), s, sizeof(s))),
		    buf_printf(b, " to %s s", fmt_num(phase_num(pr, "toS"), t, sizeof(t)));
	put(b, "</dd><dt>flame graph</dt><dd><code id=\"profile-svg\">");
	put_name(b, svg ? svg : "(not written)");
	put(b, "</code> (open it on its own to zoom and search)</dd></dl>\n");
	const json_t *top = json_object_get(pr, "topFunctions");
	if (json_array_size(top)) {
		size_t i;
		const json_t *e;
		put(b, "<table class=\"num\" id=\"top-functions\"><thead><tr><th>function</th>"
		       "<th>self</th><th>total</th></tr></thead><tbody>\n");
		json_array_foreach(top, i, e)
		{
			if (i == DIAG_ROWS_MAX)
				break;
			put(b, "<tr><td class=\"name\">");
			put_name(b, json_string_value(json_object_get(e, "name")) ?: "?");
			buf_printf(b, "</td><td>%s</td>",
			           fmt_pct(phase_num(e, "self"), 1, s, sizeof(s)));
			buf_printf(b, "<td>%s</td></tr>\n",
			           fmt_pct(phase_num(e, "total"), 1, t, sizeof(t)));
		}
		put(b, "</tbody></table>\n");
	}
	char *b64 = html_svg_base64(svg, PROFILE_SVG_INLINE_MAX);
	if (b64) {
		put(b, "<figure class=\"flame\"><img id=\"flamegraph\" alt=\"flame graph\" "
		       "src=\"data:image/svg+xml;base64,");
		put(b, b64);
		put(b, "\"></figure>\n");
		free(b64);
	} else {
		put(b, "<p class=\"muted\">The flame graph could not be read here (missing, not a "
		       "flame graph, or over 5 MB): open the file above.</p>\n");
	}
	put(b, "</section>\n");
}

/* --- the target, the host and the generator (--monitor-*) ------------------------- */

#define MIB 1048576.0 /* memory in binary units, as the leak and bottleneck sentences */

/* A leak's Sen line (analyses.leaks.METRIC) on c, in MiB, when it was reported. */
static void leak_line(struct svgchart *c, const json_t *leak, const char *label)
{
	double from = phase_num(leak, "fromS"), to = phase_num(leak, "toS");
	double slope = phase_num(leak, "perSecond"), end = phase_num(leak, "level");
	if (!json_is_true(json_object_get(leak, "leaking")) || !isfinite(from) || !isfinite(to) ||
	    !(to > from) || !isfinite(slope) || !isfinite(end))
		return;
	struct svgchart_line *t = svgchart_line(c, label, 2);
	svgchart_line_color(t, "#111827");
	svgchart_add(t, from, (end - slope * (to - from)) / MIB);
	svgchart_add(t, to, end / MIB);
}

static void section_target(struct buf *b, const struct result *r)
{
	const json_t *mon = json_object_get(r->analyses, "monitor");
	if (!json_is_object(mon))
		return;
	const json_t *t = json_object_get(mon, "target");
	const json_t *leaks = json_object_get(r->analyses, "leaks");
	double cpus = phase_num(json_object_get(mon, "host"), "cpus");
	const json_t *phases = json_object_get(json_object_get(r->options, "testType"), "phases");
	put(b, "<section id=\"target\"><h2>The target and the host</h2>\n<p>");
	if (json_is_object(t)) {
		char pid[24];
		put(b, "Watched ");
		put_name(b, json_string_value(json_object_get(t, "comm")) ?: "?");
		buf_printf(b, " (pid %s, ", fmt_num(phase_num(t, "pid"), pid, sizeof(pid)));
		put_name(b, json_string_value(json_object_get(t, "found")) ?: "");
		double procs = phase_num(t, "processes");
		if (procs > 1)
			buf_printf(b, "; %.0f processes", procs);
		put(b, ") once a second");
		double gone = phase_num(t, "exitedAtS");
		if (isfinite(gone))
			buf_printf(b, "; <b>it exited %.0f s into the run</b>", gone);
		put(b, ". ");
	}
	put(b, "CPU is in % of one core (the host's too: 100% per core busy).</p>\n");
	const json_t *e;
	size_t i;
	if (json_array_size(json_object_get(leaks, "findings"))) {
		put(b, "<ul class=\"findings\">");
		json_array_foreach(json_object_get(leaks, "findings"), i, e)
		{
			put(b, "<li>");
			put_name(b, json_string_value(e) ?: "");
			put(b, "</li>");
		}
		put(b, "</ul>\n");
	}
	struct svgchart *cpu = time_chart(r, "chart-cpu", "CPU", "% of one core");
	svgchart_phases(cpu, phases);
	svgchart_ts_metric(cpu, r, "target_cpu_percent", SVGCHART_V, 0, "target");
	svgchart_ts_metric(cpu, r, "generator_cpu_percent", SVGCHART_V, 0, "stampede");
	svgchart_line_scale(
	    svgchart_ts_metric(cpu, r, "host_cpu_percent", SVGCHART_V, 0, "whole host"),
	    isfinite(cpus) && cpus > 0 ? cpus : 1);
	render(b, cpu);

	struct svgchart *mem = time_chart(r, "chart-memory", "Memory (RSS)", "MiB");
	svgchart_phases(mem, phases);
	svgchart_line_scale(svgchart_ts_metric(mem, r, "target_rss_bytes", SVGCHART_V, 0, "target"),
	                    1 / MIB);
	leak_line(mem, json_object_get(leaks, "target_rss_bytes"), "target's leak (Sen's slope)");
	svgchart_line_scale(
	    svgchart_ts_metric(mem, r, "generator_rss_bytes", SVGCHART_V, 0, "stampede"), 1 / MIB);
	render(b, mem);

	struct svgchart *res =
	    time_chart(r, "chart-resources", "Threads, descriptors and the listen queue",
	               "count (per second for overflows and retransmits)");
	svgchart_phases(res, phases);
	svgchart_ts_metric(res, r, "target_threads", SVGCHART_V, 0, "target threads");
	svgchart_ts_metric(res, r, "target_open_fds", SVGCHART_V, 0, "target open fds");
	svgchart_ts_metric(res, r, "host_listen_overflows", SVGCHART_PER_SECOND, 0,
	                   "listen overflows/s");
	svgchart_ts_metric(res, r, "host_tcp_retransmits", SVGCHART_PER_SECOND, 0,
	                   "TCP retransmits/s");
	render(b, res);
	if (json_array_size(json_object_get(mon, "scrape")))
		scrape_block(b, r, json_object_get(mon, "scrape"));
	put(b, "</section>\n");
}

/* --- the latency distribution ----------------------------------------------------- */

static void section_distribution(struct buf *b, const struct result *r)
{
	int m = result_find_metric(r, "http_req_duration");
	struct result_values v = { 0 };
	put(b, "<section id=\"distribution\"><h2>Latency distribution</h2>\n");
	if (m < 0 || !result_combine(r, m, NULL, 0, &v) || !v.h || v.h->total_count <= 0) {
		put(b, "<p class=\"muted\">No request completed: no distribution.</p></section>\n");
		result_values_free(&v);
		return;
	}
	const struct hdr *h = v.h;
	double xmax = MIN(6, MAX(1, log10((double)h->total_count)));
	struct svgchart *c = svgchart_new(
	    "chart-distribution", "http_req_duration by percentile (HdrHistogram, all requests)",
	    "percentile", "milliseconds");
	svgchart_percentile_axis(c, xmax);
	enum { NPTS = 241 };
	struct svgchart_line *l = svgchart_line(c, "http_req_duration", NPTS);
	for (int i = 0; i < NPTS; i++) {
		double x = xmax * i / (NPTS - 1);
		svgchart_add(l, x, hdr_value_at_percentile(h, 100 * (1 - pow(10, -x))) / 1000.0);
	}
	slo_refs(c, r, "http_req_duration");
	render(b, c);

	static const double pcts[] = { 50, 75, 90, 95, 99, 99.9, 99.99, 100 };
	char s[48];
	put(b, "<table class=\"num\" id=\"percentiles\"><thead><tr><th></th>");
	for (size_t i = 0; i < ARRAY_SIZE(pcts); i++)
		if (pcts[i] == 100)
			put(b, "<th>max</th>");
		else
			buf_printf(b, "<th>p%g</th>", pcts[i]);
	put(b, "</tr></thead><tr><td class=\"name\">http_req_duration</td>");
	for (size_t i = 0; i < ARRAY_SIZE(pcts); i++)
		buf_printf(b, "<td>%s</td>",
		           fmt_ms(hdr_value_at_percentile(h, pcts[i]) / 1000.0, s, sizeof(s)));
	buf_printf(
	    b,
	    "</tr></table>\n<p class=\"muted\">%lld requests; the x axis is 1/(1&minus;p) on "
	    "a log scale, as HdrHistogram plots it.</p></section>\n",
	    (long long)h->total_count);
	result_values_free(&v);
}

/* --- tables ----------------------------------------------------------------------- */

static const char *tag_value(const struct result_series *s, const char *key)
{
	for (int i = 0; i < s->ntags; i++)
		if (strcmp(s->tags[i].key, key) == 0)
			return s->tags[i].value;
	return NULL;
}

struct ep_ref {
	const char *name; /* NULL: series without a name tag */
	int series;
};

static int ep_cmp(const void *a, const void *b)
{
	const struct ep_ref *x = a, *y = b;
	if (!x->name || !y->name)
		return (x->name == NULL) - (y->name == NULL);
	return strcmp(x->name, y->name);
}

struct endpoint {
	double reqs, fails, judged; /* double: sums of counts from a file cannot overflow */
	struct hdr *h;
};

static void endpoint_add(struct endpoint *e, const struct result *r, int mreqs, int mfail, int mdur,
                         const struct result_series *s)
{
	if (!s->total.any)
		return;
	if (s->metric == mreqs)
		e->reqs += s->total.sum;
	else if (s->metric == mfail) {
		e->fails += (double)s->total.nz;
		e->judged += (double)s->total.total;
	} else if (s->metric == mdur && s->total.h) {
		if (!e->h)
			e->h = hdr_new_default();
		hdr_merge(e->h, s->total.h);
	}
	UNUSED(r);
}

static void endpoint_row(struct buf *b, const struct result *r, const char *name,
                         const struct endpoint *e)
{
	char s[48];
	buf_printf(b, "<tr><td class=\"name\">");
	if (name)
		put_name(b, name);
	else
		put(b, "<i>(no name tag)</i>");
	buf_printf(b, "</td><td>%.0f</td><td>%.2f</td><td>%s</td>", e->reqs,
	           r->duration_s > 0 ? e->reqs / r->duration_s : 0,
	           fmt_pct(e->fails, e->fails >= 0 ? e->judged : 0, s, sizeof(s)));
	static const char *const stats[] = { "p(50)", "p(95)", "p(99)" };
	struct result_values v = { .type = MT_TREND,
		                   .any = e->h && e->h->total_count > 0,
		                   .h = e->h };
	for (size_t i = 0; i < ARRAY_SIZE(stats); i++) {
		double x = NAN;
		if (!v.any || !result_stat(&v, RU_TIME, stats[i], r->duration_s, &x))
			x = NAN;
		buf_printf(b, "<td>%s</td>", fmt_ms(x, s, sizeof(s)));
	}
	put(b, "</tr>\n");
}

static void section_endpoints(struct buf *b, const struct result *r)
{
	int mreqs = result_find_metric(r, "http_reqs");
	int mfail = result_find_metric(r, "http_req_failed");
	int mdur = result_find_metric(r, "http_req_duration");
	struct ep_ref *refs = xcalloc((size_t)MAX(r->nseries, 1), sizeof(*refs));
	int n = 0;
	for (int i = 0; i < r->nseries; i++) {
		int m = r->series[i].metric;
		if (m >= 0 && (m == mreqs || m == mfail || m == mdur))
			refs[n++] = (struct ep_ref){ tag_value(&r->series[i], "name"), i };
	}
	qsort(refs, (size_t)n, sizeof(*refs), ep_cmp);
	put(b, "<section id=\"endpoints\"><h2>Endpoints (by the <code>name</code> tag)</h2>\n");
	if (n == 0) {
		put(b, "<p class=\"muted\">No HTTP request was made.</p></section>\n");
		free(refs);
		return;
	}
	put(b, "<table class=\"num\"><thead><tr><th>name</th><th>requests</th><th>req/s</th>"
	       "<th>failed</th><th>p50</th><th>p95</th><th>p99</th></tr></thead><tbody>\n");
	int rows = 0;
	for (int i = 0; i < n;) {
		int j = i;
		struct endpoint e = { 0 };
		while (j < n && ep_cmp(&refs[i], &refs[j]) == 0) {
			endpoint_add(&e, r, mreqs, mfail, mdur, &r->series[refs[j].series]);
			j++;
		}
		if (rows++ < MAX_ENDPOINT_ROWS)
			endpoint_row(b, r, refs[i].name, &e);
		hdr_free(e.h);
		i = j;
	}
	put(b, "</tbody></table>\n");
	if (rows > MAX_ENDPOINT_ROWS)
		buf_printf(b, "<p class=\"muted\">%d more names not shown.</p>\n",
		           rows - MAX_ENDPOINT_ROWS);
	put(b, "</section>\n");
	free(refs);
}

static void section_thresholds(struct buf *b, const struct result *r)
{
	char s[48];
	put(b, "<section id=\"thresholds\"><h2>Thresholds</h2>\n");
	if (r->nthresholds == 0) {
		put(b, "<p class=\"muted\">No thresholds were set.</p></section>\n");
		return;
	}
	put(b, "<table><thead><tr><th>outcome</th><th>series</th><th>threshold</th><th>value</th>"
	       "<th>abortOnFail</th></tr></thead><tbody>\n");
	for (int i = 0; i < r->nthresholds; i++) {
		const struct result_threshold *t = &r->thresholds[i];
		int m = result_find_metric(r, t->metric ? t->metric : "");
		enum result_unit unit = m >= 0 ? r->metrics[m].unit : RU_NONE;
		buf_printf(b, "<tr class=\"thr %s\" data-ok=\"%s\"><td><b>%s</b></td><td>",
		           t->ok ? "pass" : "fail", t->ok ? "true" : "false",
		           t->ok ? "passed" : "FAILED");
		put_name(b, t->selector);
		put(b, "</td><td><code>");
		put_name(b, t->expr);
		buf_printf(b, "</code></td><td class=\"n\">%s</td><td>%s</td></tr>\n",
		           isnan(t->value)
		               ? "no data"
		               : fmt_stat(t->value, unit, t->stat ? t->stat : "", s, sizeof(s)),
		           t->aborted_run     ? "yes: <b>stopped the run</b>"
		           : t->abort_on_fail ? "yes"
		                              : "");
		if (t->aborted_run && t->window_s) /* the value is its window's */
			buf_printf(
			    b,
			    "<tr><td></td><td colspan=\"3\">the value over the last %d s, when "
			    "it failed</td><td></td></tr>\n",
			    t->window_s);
	}
	put(b, "</tbody></table></section>\n");
}

/* The most rows of a steps table a report shows (a real one has about 64 at most). */
#define STEPS_SHOWN_MAX 256

/* The test type's verdicts (analyses.testType): the steps table and the findings. */
static void section_test_type(struct buf *b, const struct result *r)
{
	const json_t *v = json_object_get(r->analyses, "testType");
	if (!json_is_object(v))
		return;
	const char *type = json_string_value(json_object_get(v, "type"));
	const char *unit = json_string_value(json_object_get(v, "unit"));
	const char *verdict = json_string_value(json_object_get(v, "verdict"));
	char a[48], c[48], d[48];
	put(b, "<section id=\"test-type\"><h2>");
	put_name(b, type ? type : "");
	char lv[24], tp[24];
	const json_t *steps = json_object_get(v, "steps");
	bool stress = type && !strcmp(type, "stress");
	double top =
	    stress ? phase_num(json_array_get(steps, json_array_size(steps) - 1), "offered") : NAN;
	if (stress && isfinite(top) && top > phase_num(v, "level")) {
		/* a stress test's steps: from the level to the last step's */
		buf_printf(b, " test from %s to %s ",
		           fmt_num(phase_num(v, "level"), lv, sizeof(lv)),
		           fmt_num(top, tp, sizeof(tp)));
		put_name(b, unit ? unit : "");
	} else {
		buf_printf(b, " test at %s ", fmt_num(phase_num(v, "level"), lv, sizeof(lv)));
		put_name(b, unit && !strcmp(unit, "VUs") && phase_num(v, "level") == 1 ? "VU"
		            : unit                                                     ? unit
		                                                                       : "");
	}
	if (verdict) {
		put(b, stress ? ": step 1 " : ": ");
		put_name(b, verdict);
	}
	put(b, "</h2>\n<ul class=\"findings\">");
	size_t i;
	const json_t *e;
	json_array_foreach(json_object_get(v, "findings"), i, e)
	{
		put(b, "<li>");
		put_name(b, json_string_value(e) ? json_string_value(e) : "");
		put(b, "</li>");
	}
	put(b, "</ul>\n");
	if (json_array_size(steps)) {
		/* the target's CPU and memory per step, when it was monitored (issue #12) */
		bool target = false;
		json_array_foreach(steps, i, e)
		{
			if (json_object_get(e, "targetCpuPercent") ||
			    json_object_get(e, "targetRssBytes"))
				target = true;
		}
		buf_printf(b,
		           "<table><thead><tr><th>step</th><th>%s</th><th>served/s</th>"
		           "<th>errors</th><th>p50</th><th>p95</th><th>p99</th>%s<th>SLOs</th></tr>"
		           "</thead><tbody>\n",
		           unit && !strcmp(unit, "VUs") ? "VUs" : "offered/s",
		           target ? "<th>target CPU</th><th>target RSS</th>" : "");
		json_array_foreach(steps, i, e)
		{
			if (i ==
			    STEPS_SHOWN_MAX) { /* a verdict has at most about 64: a made-up file */
				buf_printf(b,
				           "<tr><td colspan=\"%d\">... %zu more rows</td></tr>\n",
				           target ? 10 : 8, json_array_size(steps) - i);
				break;
			}
			bool judged = json_array_size(json_object_get(e, "slo")) > 0;
			bool ok = json_is_true(json_object_get(e, "ok"));
			double er = phase_num(e, "errorRate");
			buf_printf(b, "<tr class=\"step %s\"><td>",
			           !judged ? ""
			           : ok    ? "pass"
			                   : "fail");
			put_name(b, json_string_value(json_object_get(e, "phase")) ?: "");
			char o1[24], o2[24];
			buf_printf(b,
			           "</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
			           "<td class=\"n\">%s</td>",
			           fmt_num(phase_num(e, "offered"), o1, sizeof(o1)),
			           fmt_num(phase_num(e, "throughput"), o2, sizeof(o2)),
			           isfinite(er) ? (snprintf(a, sizeof(a), "%.2f%%", er * 100), a)
			                        : "n/a");
			buf_printf(b, "<td class=\"n\">%s</td>",
			           fmt_stat(phase_num(e, "p50"), RU_TIME, "p(50)", c, sizeof(c)));
			buf_printf(b, "<td class=\"n\">%s</td>",
			           fmt_stat(phase_num(e, "p95"), RU_TIME, "p(95)", d, sizeof(d)));
			buf_printf(b, "<td class=\"n\">%s</td>",
			           fmt_stat(phase_num(e, "p99"), RU_TIME, "p(99)", a, sizeof(a)));
			if (target) {
				double cpu = phase_num(e, "targetCpuPercent");
				double rss = phase_num(e, "targetRssBytes");
				if (isfinite(cpu))
					snprintf(c, sizeof(c), "%.0f%%", cpu);
				buf_printf(b, "<td class=\"n\">%s</td><td class=\"n\">%s</td>",
				           isfinite(cpu) ? c : "-",
				           isfinite(rss) ? format_bytes_iec(rss, d, sizeof(d))
				                         : "-");
			}
			buf_printf(b, "<td>%s</td></tr>\n",
			           !judged ? "-"
			           : ok    ? "held"
			                   : "<b>failed</b>");
		}
		put(b, "</tbody></table>\n");
	}
	put(b, "</section>\n");
}

/* The USL fit of a sweep (analyses.capacity, analysis/usl.h): the fitted curve X(N) over the
 * measured points, N* marked, and the coefficients. */
static void section_capacity(struct buf *b, const struct result *r)
{
	const json_t *c = json_object_get(r->analyses, "capacity");
	const json_t *pts = json_object_get(c, "points");
	const char *error = json_string_value(json_object_get(c, "error"));
	if (json_is_object(c) && error) {
		put(b, "<section id=\"capacity\"><h2>Scalability (Universal Scalability Law)</h2>\n"
		       "<p>Not fitted: ");
		put_name(b, error);
		put(b, "</p>\n</section>\n");
		return;
	}
	if (!json_is_object(c) || !json_is_array(pts) || json_array_size(pts) == 0)
		return;
	double sigma = phase_num(c, "sigma"), kappa = phase_num(c, "kappa"),
	       lambda = phase_num(c, "lambda"), nstar = phase_num(c, "nStar"),
	       xmax = phase_num(c, "xMax"), r2 = phase_num(c, "r2");
	const char *src = json_string_value(json_object_get(c, "nSource"));
	bool little = src && !strcmp(src, "littles-law");
	char s1[48], s2[48], s3[48], s4[48], s5[48], s6[48];
	put(b, "<section id=\"capacity\"><h2>Scalability (Universal Scalability Law)</h2>\n<p>");
	buf_printf(
	    b,
	    "X(N) = &lambda;N / (1 + &sigma;(N&minus;1) + &kappa;N(N&minus;1)) fitted to the "
	    "steps: &sigma; (contention) = %s, &kappa; (coherency) = %s, &lambda; = %s/s "
	    "per %s, R&sup2; = %s",
	    svgchart_num(sigma, s1, sizeof(s1)), svgchart_num(kappa, s2, sizeof(s2)),
	    svgchart_num(lambda, s3, sizeof(s3)), little ? "request in service" : "VU",
	    svgchart_num(r2, s4, sizeof(s4)));
	if (isfinite(xmax) && isfinite(nstar))
		buf_printf(b, ". Peak throughput X<sub>max</sub> = %s/s at N* = %s",
		           svgchart_num(xmax, s5, sizeof(s5)), svgchart_num(nstar, s6, sizeof(s6)));
	else if (isfinite(xmax))
		buf_printf(b, ". Throughput levels off towards X<sub>max</sub> = %s/s",
		           svgchart_num(xmax, s5, sizeof(s5)));
	else
		put(b, ". No limit shows over the measured levels (linear)");
	put(b, ".");
	if (little)
		put(b,
		    " An open-model test sets the arrival rate, not the concurrency: N here is the "
		    "mean number of requests in service, X&middot;R (Little's law).");
	double top = 0, best = 0, low = 1;
	size_t i;
	json_t *e;
	json_array_foreach(pts, i, e)
	{
		top = MAX(top, phase_num(e, "n"));
		low = MIN(low, phase_num(e, "n"));
		best = MAX(best, phase_num(e, "x"));
	}
	if (!(low > 0))
		low = 1; /* a hand-edited file's point: the curve starts at 1 */
	if (best > 0 && isfinite(xmax) && xmax > 1.25 * best)
		buf_printf(b,
		           " <b>The peak is an extrapolation</b>: the best level measured served "
		           "%s/s; sweep higher concurrency to place it.",
		           svgchart_num(best, s1, sizeof(s1)));
	put(b, " <code>stampede capacity plan</code> turns it into instances and dates.</p>\n");
	const char *verdict = json_string_value(json_object_get(c, "verdict"));
	if (verdict) {
		put(b, "<p><b>Verdict:</b> ");
		put_text_max(b, verdict, 600);
		put(b, "</p>\n");
	}
	const json_t *warns = json_object_get(c, "warnings");
	if (json_array_size(warns)) {
		put(b, "<ul class=\"warnings\">");
		json_array_foreach(warns, i, e)
		{
			put(b, "<li>");
			put_text_max(b, json_string_value(e), 600);
			put(b, "</li>");
		}
		put(b, "</ul>\n");
	}

	if (isfinite(nstar) && nstar > top && nstar < 4 * top)
		top = nstar * 1.15; /* show the peak when it is near the measured range */
	struct svgchart *ch =
	    svgchart_new("capacity-chart", "Throughput by concurrency",
	                 little ? "concurrency N = X·R (Little's law)" : "concurrency N (VUs)",
	                 "responses per second");
	svgchart_extend_x(ch, top);
	struct svgchart_line *m = svgchart_line(ch, "measured X(N)", (int)json_array_size(pts));
	json_array_foreach(pts, i, e) svgchart_add(m, phase_num(e, "n"), phase_num(e, "x"));
	svgchart_line_points(m, true);
	svgchart_usl_curve(ch, sigma, kappa, lambda, low, top);
	if (isfinite(nstar) && nstar <= top)
		svgchart_mark(ch, nstar, "N*");
	svgchart_render(ch, b);
	svgchart_free(ch);

	put(b, "<table><thead><tr><th>N</th><th>X measured</th><th>X fitted</th>"
	       "<th>residual</th><th>mean latency</th><th>N = X&middot;R (Little)</th></tr>"
	       "</thead><tbody>\n");
	json_array_foreach(pts, i, e)
	{
		double rr = phase_num(e, "r");
		double x = phase_num(e, "x"), fx = phase_num(e, "fitted");
		buf_printf(b, "<tr><td>%s</td><td>%s/s</td><td>%s/s</td><td>%+.1f%%</td><td>",
		           svgchart_num(phase_num(e, "n"), s1, sizeof(s1)),
		           svgchart_num(x, s2, sizeof(s2)), svgchart_num(fx, s3, sizeof(s3)),
		           x > 0 ? 100 * (x - fx) / x : 0.0);
		if (isfinite(rr))
			buf_printf(b, "%s ms", svgchart_num(rr * 1000, s4, sizeof(s4)));
		else
			put(b, "n/a");
		buf_printf(b, "</td><td>%s</td></tr>\n",
		           svgchart_num(phase_num(e, "littleN"), s5, sizeof(s5)));
	}
	put(b, "</tbody></table>\n</section>\n");
}

static void group_label(struct buf *b, const char *group)
{
	if (!group || !*group) {
		put(b, "<i>(root)</i>");
		return;
	}
	put_name(b, group);
}

static void section_checks(struct buf *b, const struct result *r)
{
	char s[48];
	put(b, "<section id=\"checks\"><h2>Checks</h2>\n");
	if (r->nchecks == 0) {
		put(b, "<p class=\"muted\">No checks ran.</p></section>\n");
		return;
	}
	put(b, "<table><thead><tr><th>group</th><th>check</th><th>passes</th><th>fails</th>"
	       "<th>passed</th></tr></thead><tbody>\n");
	for (int i = 0; i < r->nchecks; i++) {
		const struct result_check *k = &r->checks[i];
		/* in double: counts from a file may be anything (2^62 each, negative) */
		bool valid = k->passes >= 0 && k->fails >= 0;
		buf_printf(b, "<tr class=\"check %s\"><td>", k->fails != 0 ? "fail" : "pass");
		group_label(b, k->group);
		put(b, "</td><td>");
		put_name(b, k->name);
		buf_printf(b, "</td><td class=\"n\">%s</td>", fmt_count(k->passes, s, sizeof(s)));
		buf_printf(b, "<td class=\"n\">%s</td>", fmt_count(k->fails, s, sizeof(s)));
		buf_printf(b, "<td class=\"n\">%s</td></tr>\n",
		           fmt_pct((double)k->passes,
		                   valid ? (double)k->passes + (double)k->fails : 0, s, sizeof(s)));
	}
	put(b, "</tbody></table></section>\n");
}

static void section_errors(struct buf *b, const struct result *r)
{
	char s[48];
	put(b, "<section id=\"errors\"><h2>Errors by kind</h2>\n");
	if (r->nerrors == 0)
		put(b, "<p class=\"muted\">No request failed with an error or an unexpected "
		       "status.</p>\n");
	else {
		put(b, "<table><thead><tr><th>kind</th><th>code</th><th>description</th>"
		       "<th>count</th></tr></thead><tbody>\n");
		for (int i = 0; i < r->nerrors; i++) {
			const struct result_error *e = &r->errors[i];
			put(b, "<tr><td><code>");
			put_name(b, e->kind);
			buf_printf(b, "</code></td><td class=\"n\">%d</td><td>", e->code);
			put_name(b, e->description);
			buf_printf(b, "</td><td class=\"n\">%s</td></tr>\n",
			           fmt_count(e->count, s, sizeof(s)));
		}
		put(b, "</tbody></table>\n");
	}
	if (r->nscript_errors > 0) {
		put(b, "<h3>Script errors</h3>\n<table><thead><tr><th>message</th><th>count</th>"
		       "</tr></thead><tbody>\n");
		for (int i = 0; i < r->nscript_errors; i++) {
			put(b, "<tr><td><pre>");
			put_text_max(b, r->script_errors[i].message, MESSAGE_MAX_CHARS);
			buf_printf(b, "</pre></td><td class=\"n\">%s</td></tr>\n",
			           fmt_count(r->script_errors[i].count, s, sizeof(s)));
		}
		put(b, "</tbody></table>\n");
	}
	put(b, "</section>\n");
}

/* One statistic of a metric's totals; NAN when it has no sample. */
static double total_stat(const struct result *r, const char *metric, const char *stat)
{
	struct result_values v = { 0 };
	double x = NAN;
	int m = result_find_metric(r, metric);
	if (m < 0)
		return NAN;
	if (!result_combine(r, m, NULL, 0, &v) ||
	    !result_stat(&v, r->metrics[m].unit, stat, r->duration_s, &x))
		x = NAN;
	result_values_free(&v);
	return x;
}

/* What went wrong with the generator, in the terminal summary's words (summary.c): its own
 * CPU saturated, or only the machine's, workers given up on, iterations dropped. */
static void generator_warnings(struct buf *b, const struct result *r, double dropped)
{
	const struct result_generator *g = &r->gen;
	/* one sample per second begun: a 6.2 s run has 7 */
	int samples = MAX((int)ceil(r->duration_s - 1e-9), g->saturated_seconds);
	samples = MAX(samples, g->host_saturated_seconds);
	if (g->saturated_seconds > 0)
		buf_printf(
		    b,
		    "<p class=\"warn\" id=\"gen-saturated\">The generator's own CPU was saturated "
		    "in %d of the run's %d one-second samples (workers at %.0f%% on average): its "
		    "figures understate what the target can do. Use more threads or a bigger "
		    "machine.</p>\n",
		    g->saturated_seconds, samples, g->cpu_percent);
	else if (g->host_saturated_seconds > 0)
		buf_printf(
		    b,
		    "<p class=\"warn\" id=\"host-saturated\">The machine's CPU was saturated in "
		    "%d of the run's %d one-second samples (the generator's workers averaged "
		    "%.0f%%): the generator "
		    "had to share the CPU with whatever else ran, so its figures may understate "
		    "what the target can do.</p>\n",
		    g->host_saturated_seconds, samples, g->cpu_percent);
	if (g->workers_stuck > 0)
		buf_printf(
		    b,
		    "<p class=\"warn\" id=\"workers-stuck\">%d worker%s did not stop when the run "
		    "ended and %s given up on: what %s still doing is missing from these "
		    "figures.</p>\n",
		    g->workers_stuck, g->workers_stuck == 1 ? "" : "s",
		    g->workers_stuck == 1 ? "was" : "were",
		    g->workers_stuck == 1 ? "it was" : "they were");
	if (dropped > 0)
		buf_printf(
		    b,
		    "<p class=\"warn\" id=\"dropped-warning\">%.0f iteration%s dropped: no VU "
		    "was free to start %s when due (every VU up to maxVUs was busy: the target "
		    "did not keep up with the arrival rate, or maxVUs is too low for its latency), "
		    "or %s still waiting when the run stopped.</p>\n",
		    dropped, dropped == 1 ? " was" : "s were", dropped == 1 ? "it" : "them",
		    dropped == 1 ? "it was" : "they were");
}

static void section_generator(struct buf *b, const struct result *r)
{
	const struct result_generator *g = &r->gen;
	char s[48];
	put(b, "<section id=\"generator\"><h2>Load generator health</h2>\n<dl class=\"kv\">");
	buf_printf(b, "<dt>threads</dt><dd>%d</dd><dt>workers' CPU</dt><dd>%.1f%%</dd>", g->threads,
	           g->cpu_percent);
	buf_printf(b, "<dt>seconds a worker was &ge;95%% busy</dt><dd>%d</dd>",
	           g->saturated_seconds);
	buf_printf(b, "<dt>seconds the host was &ge;95%% busy</dt><dd>%d</dd>",
	           g->host_saturated_seconds);
	buf_printf(b, "<dt>peak memory (RSS)</dt><dd>%s</dd>",
	           format_bytes_iec((double)g->max_rss_kb * 1024, s, sizeof(s)));
	buf_printf(b, "<dt>model</dt><dd>%s</dd>",
	           g->open_model ? "open (arrival rate)" : "closed");
	if (g->open_model)
		buf_printf(b, "<dt>deepest backlog of late starts</dt><dd>%s</dd>",
		           fmt_count(g->backlog_max, s, sizeof(s)));
	double dropped = total_stat(r, "dropped_iterations", "count");
	if (dropped > 0)
		buf_printf(b, "<dt>dropped iterations</dt><dd>%.0f</dd>", dropped);
	if (g->workers_stuck)
		buf_printf(b, "<dt>workers that did not stop</dt><dd>%d</dd>", g->workers_stuck);
	put(b, "</dl>\n");
	generator_warnings(b, r, dropped);
	put(b, "</section>\n");
}

static void metric_values(struct buf *b, const struct result *r, const struct result_metric *mt,
                          const struct result_values *v)
{
	static const char *const counter[] = { "count", "rate" };
	static const char *const rate[] = { "rate", "passes", "fails" };
	static const char *const gauge[] = { "value", "min", "max" };
	const char *const *stats;
	int n;
	char s[48];
	switch (mt->type) {
	case MT_TREND:
		stats = result_trend_stats(r, &n);
		break;
	case MT_COUNTER:
		stats = counter;
		n = ARRAY_SIZE(counter);
		break;
	case MT_RATE:
		stats = rate;
		n = ARRAY_SIZE(rate);
		break;
	default:
		stats = gauge;
		n = ARRAY_SIZE(gauge);
	}
	for (int i = 0; i < n; i++) {
		double x;
		if (!result_stat(v, mt->unit, stats[i], r->duration_s, &x))
			continue;
		put(b, "<span class=\"stat\">");
		put_name(b, stats[i]);
		put(b, "=");
		if (mt->type == MT_RATE && strcmp(stats[i], "rate") == 0)
			fmt_pct(x, 1, s, sizeof(s));
		else if (mt->type == MT_COUNTER && strcmp(stats[i], "rate") == 0)
			snprintf(s, sizeof(s), "%.2f/s", x);
		else
			fmt_stat(x, mt->unit, stats[i], s, sizeof(s));
		escape_xml(b, s);
		put(b, "</span> ");
	}
}

static void section_metrics(struct buf *b, const struct result *r)
{
	put(b, "<section id=\"metrics\"><h2>All metrics</h2>\n<table><thead><tr><th>metric</th>"
	       "<th>type</th><th>values</th></tr></thead><tbody>\n");
	for (int i = 0; i < r->nmetrics; i++) {
		struct result_values v = { 0 };
		if (result_combine(r, i, NULL, 0, &v)) {
			put(b, "<tr><td><code>");
			put_name(b, r->metrics[i].name);
			buf_printf(b, "</code></td><td>%s</td><td>",
			           result_type_name(r->metrics[i].type));
			metric_values(b, r, &r->metrics[i], &v);
			put(b, "</td></tr>\n");
		}
		result_values_free(&v);
	}
	put(b, "</tbody></table></section>\n");
}

/* --- the header ------------------------------------------------------------------- */

static const char *target_of(const struct result *r)
{
	const char *t = json_string_value(json_object_get(r->options, "url"));
	if (!t)
		t = json_string_value(json_object_get(r->options, "script"));
	return t ? t : "(unknown target)";
}

static void verdict(struct buf *b, const struct result *r)
{
	int failed = result_thresholds_failed(r);
	put(b, "<p class=\"verdict\">");
	if (r->nthresholds == 0)
		put(b, "<span class=\"badge none\" id=\"verdict\" data-thresholds=\"none\">"
		       "no thresholds</span>");
	else if (failed)
		buf_printf(b,
		           "<span class=\"badge bad\" id=\"verdict\" data-thresholds=\"failed\">"
		           "thresholds failed: %d of %d</span>",
		           failed, r->nthresholds);
	else
		buf_printf(b,
		           "<span class=\"badge good\" id=\"verdict\" data-thresholds=\"passed\">"
		           "thresholds passed: %d of %d</span>",
		           r->nthresholds, r->nthresholds);
	if (r->aborted) {
		put(b, " <span class=\"badge bad\" id=\"aborted\">aborted");
		if (r->abort_reason) {
			put(b, ": ");
			put_name(b, r->abort_reason);
		}
		put(b, "</span>");
	}
	if (r->interrupted)
		put(b, " <span class=\"badge warn\" id=\"interrupted\">interrupted</span>");
	if (r->merge) { /* stampede merge: how many parts, and whether they cover the load */
		const json_t *parts = json_object_get(r->merge, "parts");
		const char *cov = json_string_value(json_object_get(r->merge, "coverage"));
		bool partial = cov && !strcmp(cov, "partial");
		size_t i, stopped = 0;
		const json_t *q;
		json_array_foreach(parts, i, q) stopped +=
		    json_is_true(json_object_get(q, "interrupted")) ||
		    json_is_true(json_object_get(q, "aborted"));
		buf_printf(
		    b,
		    " <span class=\"badge %s\" id=\"merged\" data-coverage=\"%s\">merged from "
		    "%zu part%s%s%s</span>",
		    partial || stopped ? "bad" : "good", cov ? cov : "unknown",
		    json_array_size(parts), json_array_size(parts) == 1 ? "" : "s",
		    partial                       ? ": only part of the load"
		    : cov && !strcmp(cov, "full") ? ", the whole load"
		                                  : "",
		    stopped ? " (a part stopped before its end)" : "");
	} else if (json_is_string(json_object_get(r->options, "executionSegment"))) {
		put(b, " <span class=\"badge warn\" id=\"segment\">one segment (");
		put_name(b, json_string_value(json_object_get(r->options, "executionSegment")));
		put(b, ") of a distributed run</span>");
	}
	double dropped = total_stat(r, "dropped_iterations", "count");
	if (dropped > 0)
		buf_printf(b,
		           " <a class=\"badge bad\" id=\"dropped\" href=\"#dropped-warning\">%.0f "
		           "iteration%s dropped</a>",
		           dropped, dropped == 1 ? "" : "s");
	if (r->teardown_failed)
		put(b, " <span class=\"badge warn\">teardown() failed</span>");
	if (r->teardown_timeout)
		put(b, " <span class=\"badge warn\">teardown() timed out</span>");
	put(b, "</p>\n");
}

static void tiles(struct buf *b, const struct result *r)
{
	char s[48];
	double reqs = total_stat(r, "http_reqs", "count");
	double failed = total_stat(r, "http_req_failed", "rate");
	put(b, "<div class=\"tiles\">");
	buf_printf(b,
	           "<div class=\"tile\"><b id=\"http-reqs\" data-value=\"%.0f\">%.0f</b>"
	           "<span>requests</span></div>",
	           isfinite(reqs) ? reqs : 0, isfinite(reqs) ? reqs : 0);
	buf_printf(b,
	           "<div class=\"tile\"><b id=\"http-rps\">%.1f</b><span>requests/s</span></div>",
	           r->duration_s > 0 && isfinite(reqs) ? reqs / r->duration_s : 0);
	buf_printf(b, "<div class=\"tile\"><b id=\"http-failed\">%s</b><span>failed</span></div>",
	           fmt_pct(failed, 1, s, sizeof(s)));
	buf_printf(b, "<div class=\"tile\"><b>%s</b><span>p95 latency</span></div>",
	           fmt_ms(total_stat(r, "http_req_duration", "p(95)"), s, sizeof(s)));
	double checks = total_stat(r, "checks", "rate");
	if (isfinite(checks))
		buf_printf(b, "<div class=\"tile\"><b>%s</b><span>checks passed</span></div>",
		           fmt_pct(checks, 1, s, sizeof(s)));
	double iters = total_stat(r, "iterations", "count");
	if (isfinite(iters))
		buf_printf(b, "<div class=\"tile\"><b>%.0f</b><span>iterations</span></div>",
		           iters);
	put(b, "</div>\n");
}

static void options_block(struct buf *b, const struct result *r)
{
	const char *key;
	json_t *v;
	char s[64];
	put(b, "<dl class=\"kv\">");
	json_object_foreach(r->options, key, v)
	{
		if (json_is_object(v) || json_is_array(v))
			continue;
		put(b, "<dt>");
		put_name(b, key);
		put(b, "</dt><dd>");
		if (json_is_string(v))
			put_name(b, json_string_value(v));
		else if (json_is_number(v))
			escape_xml(b, fmt_num(json_number_value(v), s, sizeof(s)));
		else
			put(b, json_is_true(v) ? "true" : json_is_false(v) ? "false" : "null");
		put(b, "</dd>");
	}
	put(b, "</dl>\n");
	char *all = json_dumps(r->options, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (all) {
		put(b, "<details><summary>All options</summary><pre>");
		put_text_max(b, all, OPTIONS_MAX_CHARS);
		put(b, "</pre></details>\n");
		free(all);
	}
}

static void header(struct buf *b, const struct result *r)
{
	char start[64] = "unknown", dur[32];
	time_t sec = (time_t)(r->start_wall_us / USEC_PER_SEC);
	struct tm tm;
	if (r->start_wall_us > 0 && gmtime_r(&sec, &tm))
		strftime(start, sizeof(start), "%Y-%m-%d %H:%M:%S UTC", &tm);
	put(b, "<header><h1>stampede report: ");
	put_name(b, target_of(r));
	put(b, "</h1>\n");
	verdict(b, r);
	buf_printf(b, "<dl class=\"kv\"><dt>started</dt><dd id=\"started\">%s</dd>", start);
	if (r->duration_s >= 0 && r->duration_s < 1e9)
		format_duration((int64_t)llround(r->duration_s * USEC_PER_SEC), dur, sizeof(dur));
	else
		snprintf(dur, sizeof(dur), "unknown");
	buf_printf(b, "<dt>duration</dt><dd id=\"duration\">%s</dd>", dur);
	if (r->interrupted_iterations)
		buf_printf(b, "<dt>interrupted iterations</dt><dd>%lld</dd>",
		           (long long)r->interrupted_iterations);
	put(b, "<dt>stampede</dt><dd>");
	put_name(b, r->version);
	put(b, "</dd></dl>\n");
	tiles(b, r);
	options_block(b, r);
	put(b, "</header>\n");
}

const char html_report_style[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
    "margin:0 auto;max-width:1040px;padding:16px 24px;color:#1f2937;background:#fff}"
    "h1{font-size:22px;margin:8px 0;word-break:break-all}h2{font-size:18px;margin:28px 0 8px;"
    "border-bottom:1px solid #e5e7eb;padding-bottom:4px}h3{font-size:15px}"
    "nav a{margin-right:12px;color:#2563eb;text-decoration:none}"
    ".badge{display:inline-block;padding:3px 10px;border-radius:12px;font-weight:600}"
    ".good{background:#d1fae5;color:#065f46}.bad{background:#fee2e2;color:#991b1b}"
    ".warn{background:#fef3c7;color:#92400e}.none{background:#e5e7eb;color:#374151}"
    "p.warn{padding:6px 10px;border-radius:6px}.muted{color:#6b7280}"
    "dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}"
    "dl.kv dt{color:#6b7280}dl.kv dd{margin:0;word-break:break-all}"
    ".tiles{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}.tile{border:1px solid #e5e7eb;"
    "border-radius:8px;padding:8px 14px;min-width:110px}.tile b{display:block;font-size:20px}"
    ".tile span{color:#6b7280;font-size:12px}"
    "table{border-collapse:collapse;width:100%;margin:6px 0}th,td{padding:4px 8px;"
    "border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}"
    "th{background:#f9fafb;font-weight:600}td.n,table.num td{text-align:right;"
    "font-variant-numeric:tabular-nums}table.num td.name{text-align:left;word-break:break-all}"
    "tr.fail td:first-child{border-left:4px solid #dc2626}"
    "tr.pass td:first-child{border-left:4px solid #059669}"
    "pre{white-space:pre-wrap;word-break:break-all;margin:0;font-size:12px}"
    "figure.chart{margin:12px 0 20px}figcaption{font-weight:600;margin-bottom:4px}"
    "svg{width:100%;height:auto;display:block}figure.flame img{width:100%;height:auto}" SVGCHART_CSS
    ".stat{margin-right:10px;white-space:nowrap}footer{margin:32px 0 8px;color:#9ca3af;"
    "font-size:12px}";

void html_report_render(const struct result *r, struct buf *b)
{
	put(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	       "style-src 'unsafe-inline'; img-src data:\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	       "<link rel=\"icon\" href=\"data:,\">\n<title>stampede report: ");
	put_name(b, target_of(r));
	buf_printf(b, "</title>\n<style>%s</style></head>\n<body>\n", html_report_style);
	header(b, r);
	put(b, "<nav><a href=\"#over-time\">over time</a>");
	if (json_is_object(json_object_get(r->analyses, "monitor")))
		put(b, "<a href=\"#target\">target</a>");
	if (json_is_object(json_object_get(r->analyses, "bottleneck")))
		put(b, "<a href=\"#bottleneck\">bottleneck</a>");
	if (json_is_object(json_object_get(r->analyses, "profile")))
		put(b, "<a href=\"#profile\">profile</a>");
	if (json_is_object(json_object_get(r->analyses, "capacity")))
		put(b, "<a href=\"#capacity\">capacity</a>");
	put(b, "<a href=\"#distribution\">distribution</a>"
	       "<a href=\"#endpoints\">endpoints</a><a href=\"#thresholds\">thresholds</a>"
	       "<a href=\"#checks\">checks</a><a href=\"#errors\">errors</a>"
	       "<a href=\"#generator\">generator</a><a href=\"#metrics\">metrics</a></nav>\n"
	       "<main>\n");
	section_test_type(b, r);
	section_capacity(b, r);
	section_over_time(b, r);
	section_target(b, r);
	section_bottleneck(b, r);
	section_profile(b, r);
	section_distribution(b, r);
	section_endpoints(b, r);
	section_thresholds(b, r);
	section_checks(b, r);
	section_errors(b, r);
	section_generator(b, r);
	section_metrics(b, r);
	put(b, "</main>\n<footer>Generated by stampede ");
	put_name(b, r->version ? r->version : "");
	put(b, " from the run's result. Self-contained: no script, no external resource."
	       "</footer>\n</body></html>\n");
}

int html_report_write(const struct result *r, const char *path, char *err, size_t errlen)
{
	struct buf b = { 0 };
	html_report_render(r, &b);
	int rc = outfile_write(path, b.p, b.len, err, errlen);
	buf_free(&b);
	return rc;
}

/* --- the output ------------------------------------------------------------------- */

static int html_open(struct output *o, char *err, size_t errlen)
{
	return outfile_check(o->arg ? o->arg : "", err, errlen);
}

static void html_interval(struct output *o, const struct result_interval *iv)
{
	UNUSED(o);
	UNUSED(iv);
}

static int html_finish(struct output *o, const struct result *r, char *err, size_t errlen)
{
	return html_report_write(r, o->arg, err, errlen);
}

static void html_close(struct output *o)
{
	UNUSED(o);
}

const struct output_ops output_html = {
	.name = "html",
	.open = html_open,
	.interval = html_interval,
	.finish = html_finish,
	.close = html_close,
};
