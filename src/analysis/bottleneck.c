/* bottleneck.c: the USE verdict (bottleneck.h). */
#include "analysis/bottleneck.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/leak.h"
#include "metrics/hdr.h"
#include "util/common.h"

#define CPU_TARGET_SHARE   0.85 /* of the cores the target can use */
#define CPU_HOST_PERCENT   90.0 /* the machine's CPU, % */
#define CPU_THREAD_PERCENT 90.0 /* one thread's demand: running or waiting for a CPU, % */
#define CPU_THREAD_SHARE   0.5  /* ... and its share of the process's demand, at least */
#define LAT_FACTOR         4.0  /* a window's p95 against the best window's */
#define LAT_MARGIN_MS      10.0 /* ... and at least this much over it */
#define LAT_MIN_BUSY       1.0  /* ... with at least this many requests in service at once */
/* A listen-queue overflow drops the SYN, and the client sends it again 1 s later (Linux's
 * initial RTO): a connection that took this long, near an overflow, is the target's */
#define CONN_SYN_RETRY_MS   900.0
#define CONN_NEAR_S         3    /* seconds after an overflow where such a connection counts */
#define LAT_MIN_REQS        20   /* a window with fewer responses sets no baseline */
#define DROP_SHARE          0.01 /* of a window's arrivals */
#define FAIL_SHARE          0.01 /* of the requests: errors that matter */
#define SWAP_GROWTH         (16.0 * 1024 * 1024)
#define MEM_LIMIT_SHARE     0.90
#define SUSTAIN             2  /* seconds (or windows) running */
#define OTHER_STRETCHES_MAX 32 /* otherProcesses.stretches kept (the first ones) */

enum res { R_CONN, R_CPU, R_MEM, R_POOL, R__N }; /* the tie order */

static const char *const verdict_name[R__N] = { "connections", "cpu", "memory", "pool" };

struct judged {
	double since[R__N]; /* onset, s; NaN: not saturated */
	int cap_cores;
	double cpu_mean, cpu_peak, host_mean, host_peak, gen_peak;
	int cpu_sat_s, host_sat_s;
	double thread_peak; /* the busiest thread, % of one core; NaN: not read */
	double demand_peak; /* all threads' demand (running or waiting), % of one core */
	int thread_sat_s;   /* seconds one thread was saturated and the whole was not */
	double base_p95, worst_p95, x_max, x_sat, pool, dropped;
	int lat_sat_windows;
	double swap_growth, rss_first, rss_last, rss_peak, overflows;
	double swap_since,
	    limit_since;     /* when swap grew SWAP_GROWTH, RSS reached the limit's share */
	double rss_at_limit; /* the RSS then */
	bool gen_saturated, gen_host;
	double gen_host_since;
	double host_since; /* the machine's CPU >= CPU_HOST_PERCENT, sustained */
	int other_s;       /* seconds of that when neither the target nor stampede used half */
	json_t *other_stretches; /* [{fromS, toS}]: those seconds, SUSTAIN or more running */
	int other_sustained_s;   /* the seconds in them */
};

static bool fin(double v)
{
	return isfinite(v);
}

static double at(const double *a, int i)
{
	return a ? a[i] : NAN;
}

/* The first index from which cond holds SUSTAIN entries running (or to the end). */
static int onset(const bool *cond, int n)
{
	for (int i = 0; i < n; i++) {
		int k = 0;
		while (i + k < n && cond[i + k] && k < SUSTAIN)
			k++;
		if (k == SUSTAIN || (k > 0 && i + k == n))
			return i;
	}
	return -1;
}

static void add(json_t *arr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(json_t *arr, const char *fmt, ...)
{
	char s[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	json_array_append_new(arr, json_string(s));
}

/* A time in ms in words, three figures without an exponent: "0.249", "12.5", "4160". */
static const char *ms_text(double v, char *buf, size_t len)
{
	if (!fin(v))
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%.*f", fabs(v) < 10 ? 2 : fabs(v) < 100 ? 1 : 0, v);
	return buf;
}

static void cpu_facts(const struct bn_input *in, struct judged *j)
{
	int cpus = in->host_cpus > 0 ? in->host_cpus : 1;
	j->cap_cores = cpus;
	if (fin(in->target_threads) && in->target_threads >= 1 && in->target_threads < cpus)
		j->cap_cores = (int)in->target_threads;
	bool *cpu = calloc((size_t)MAX(in->n, 1), sizeof(bool));
	bool *gen = calloc((size_t)MAX(in->n, 1), sizeof(bool));
	bool *host = calloc((size_t)MAX(in->n, 1), sizeof(bool));
	bool *oth = calloc((size_t)MAX(in->n, 1), sizeof(bool));
	double sum = 0, hsum = 0;
	int cnt = 0, hcnt = 0;
	j->cpu_peak = j->host_peak = j->gen_peak = j->thread_peak = j->demand_peak = NAN;
	for (int i = 0; i < in->n && cpu && gen && host && oth; i++) {
		double tc = at(in->target_cpu, i), hc = at(in->host_cpu, i),
		       gc = at(in->gen_cpu, i);
		if (fin(tc)) {
			sum += tc, cnt++;
			j->cpu_peak = fin(j->cpu_peak) ? MAX(j->cpu_peak, tc) : tc;
		}
		if (fin(hc)) {
			hsum += hc, hcnt++;
			j->host_peak = fin(j->host_peak) ? MAX(j->host_peak, hc) : hc;
		}
		if (fin(gc))
			j->gen_peak = fin(j->gen_peak) ? MAX(j->gen_peak, gc) : gc;
		double th = at(in->thread_cpu_max, i);
		if (fin(th))
			j->thread_peak = fin(j->thread_peak) ? MAX(j->thread_peak, th) : th;
		bool host_busy = fin(hc) && hc >= CPU_HOST_PERCENT;
		/* USE: running (utilisation) or waiting to run (saturation) for the cores it
		 * can use: its threads wanted more CPU than they got */
		double dem = at(in->cpu_demand, i);
		if (fin(dem))
			j->demand_peak = fin(j->demand_peak) ? MAX(j->demand_peak, dem) : dem;
		/* waiting for a CPU that other processes hold is the machine's saturation, not
		 * the target's: its demand counts when it is not the minor user of a busy
		 * machine (on a shared host at 100% a target at 5% waits too) */
		bool others = host_busy && fin(tc) && tc < 0.5 * hc * cpus;
		cpu[i] = fin(tc) &&
		         (tc >= CPU_TARGET_SHARE * 100.0 * j->cap_cores ||
		          (host_busy && tc >= 0.5 * hc * cpus) ||
		          (!others && fin(dem) && dem >= CPU_TARGET_SHARE * 100.0 * j->cap_cores));
		/* one thread at a whole core: the work is serialised on it, whatever the
		 * process's total (an event loop, a lock holder, a single worker) */
		bool one = fin(th) && th >= CPU_THREAD_PERCENT && j->cap_cores > 1 &&
		           (!fin(dem) || th >= CPU_THREAD_SHARE * dem);
		j->thread_sat_s += one && !cpu[i];
		cpu[i] = cpu[i] || one;
		gen[i] = fin(gc) && host_busy && gc >= 0.5 * hc * cpus;
		host[i] = host_busy;
		oth[i] = host_busy && !cpu[i] && !gen[i] && fin(tc) && fin(gc) &&
		         tc + gc < 0.5 * hc * cpus;
		j->other_s += oth[i];
		j->cpu_sat_s += cpu[i];
		j->host_sat_s += host_busy;
	}
	j->cpu_mean = cnt ? sum / cnt : NAN;
	j->host_mean = hcnt ? hsum / hcnt : NAN;
	int o = cpu ? onset(cpu, in->n) : -1;
	j->since[R_CPU] = o >= 0 ? o : NAN;
	int g = gen ? onset(gen, in->n) : -1;
	j->gen_host = g >= 0;
	j->gen_host_since = g >= 0 ? g : NAN;
	int h = host ? onset(host, in->n) : -1;
	j->host_since = h >= 0 ? h : NAN;
	j->other_stretches = json_array();
	for (int i = 0; oth && i < in->n;) {
		int k = 0;
		while (i + k < in->n && oth[i + k])
			k++;
		if (k >= SUSTAIN) {
			j->other_sustained_s += k;
			if (json_array_size(j->other_stretches) < OTHER_STRETCHES_MAX)
				json_array_append_new(
				    j->other_stretches,
				    json_pack("{s:i, s:i}", "fromS", i, "toS", i + k));
		}
		i += k ? k : 1;
	}
	free(cpu);
	free(gen);
	free(host);
	free(oth);
}

static void latency_facts(const struct bn_input *in, struct judged *j)
{
	j->base_p95 = j->worst_p95 = NAN;
	j->x_max = 0;
	for (int i = 0; i < in->nwin; i++) {
		if (in->win_reqs[i] >= LAT_MIN_REQS && fin(in->win_p95[i])) {
			j->base_p95 =
			    fin(j->base_p95) ? MIN(j->base_p95, in->win_p95[i]) : in->win_p95[i];
		}
		if (fin(in->win_p95[i]))
			j->worst_p95 =
			    fin(j->worst_p95) ? MAX(j->worst_p95, in->win_p95[i]) : in->win_p95[i];
		j->x_max = MAX(j->x_max, in->win_good[i] / MAX(in->win_step, 1));
		j->dropped += in->win_dropped ? in->win_dropped[i] : 0;
	}
	bool *sat = calloc((size_t)MAX(in->nwin, 1), sizeof(bool));
	if (!sat)
		return;
	double *xs = calloc((size_t)MAX(in->nwin, 1), sizeof(double));
	if (!xs) {
		free(sat);
		return;
	}
	for (int i = 0; i < in->nwin; i++) {
		double p = in->win_p95[i], d = in->win_dropped ? in->win_dropped[i] : 0;
		/* requests in service at once (Little's law: served/s x mean time); below
		 * one no worker waits for another: the slowness is jitter, not a queue */
		double busy = in->win_good[i] / MAX(in->win_step, 1) * in->win_mean[i] / 1000.0;
		bool slow = fin(j->base_p95) && fin(p) && in->win_reqs[i] >= 5 &&
		            p >= MAX(LAT_FACTOR * j->base_p95, j->base_p95 + LAT_MARGIN_MS) &&
		            !(fin(busy) && busy < LAT_MIN_BUSY);
		bool drops = d > DROP_SHARE * (in->win_reqs[i] + d) && d >= 1;
		bool queued = in->queue_known && in->win_t[i] >= in->queue_from_s &&
		              fin(j->base_p95) && fin(p) && p >= 1.5 * j->base_p95;
		sat[i] = slow || drops || queued;
		if (sat[i])
			xs[j->lat_sat_windows++] = in->win_good[i] / MAX(in->win_step, 1);
	}
	int o = onset(sat, in->nwin);
	j->since[R_POOL] = o >= 0 ? in->win_t[o] : NAN;
	/* the level it levelled at: the upper quartile of the saturated windows' throughput
	 * (their mean lies below the plateau when a ramp still rose into it) */
	if (j->lat_sat_windows) {
		qsort(xs, (size_t)j->lat_sat_windows, sizeof(double), cmp_double);
		j->x_sat = xs[(3 * (j->lat_sat_windows - 1)) / 4];
	} else {
		j->x_sat = NAN;
	}
	free(xs);
	/* Little's law at the bottleneck: every request is in service for at least the
	 * fastest response's time, so the most served per second times that is a lower
	 * bound of how many were in service at once */
	j->pool = fin(in->min_ms) && in->min_ms > 0 ? j->x_max * in->min_ms / 1000.0 : NAN;
	free(sat);
}

static void conn_facts(const struct bn_input *in, struct judged *j)
{
	j->since[R_CONN] = NAN;
	bool turned = in->failed >= FAIL_SHARE * in->requests && in->failed > 0 &&
	              in->turned_away >= 0.5 * in->failed;
	if (turned)
		j->since[R_CONN] = fin(in->fail_onset_s) ? in->fail_onset_s : 0;
	for (int i = 0; i < in->n; i++) {
		double o = at(in->listen_overflows, i);
		/* the counter is the host's: an overflow is the target's only when one of the
		 * run's connections waited for a SYN to be sent again near it */
		bool ours = false;
		for (int k = i; k < MIN(in->n, i + CONN_NEAR_S + 1) && !ours; k++)
			ours = fin(at(in->connect_max_ms, k)) &&
			       at(in->connect_max_ms, k) >= CONN_SYN_RETRY_MS;
		if (fin(o) && o > 0 && ours) {
			j->overflows += o;
			if (!fin(j->since[R_CONN]) || i < j->since[R_CONN])
				j->since[R_CONN] = i;
		}
	}
}

static void mem_facts(const struct bn_input *in, struct judged *j)
{
	double swap0 = NAN;
	j->rss_first = j->rss_last = j->rss_peak = NAN;
	j->swap_since = j->limit_since = j->rss_at_limit = NAN;
	for (int i = 0; i < in->n; i++) {
		double s = at(in->swap_used, i), r = at(in->rss, i);
		if (fin(s)) {
			if (!fin(swap0))
				swap0 = s;
			j->swap_growth = MAX(j->swap_growth, s - swap0);
			if (s - swap0 >= SWAP_GROWTH && !fin(j->swap_since))
				j->swap_since = i;
		}
		if (fin(r)) {
			if (!fin(j->rss_first))
				j->rss_first = r;
			j->rss_last = r;
			j->rss_peak = fin(j->rss_peak) ? MAX(j->rss_peak, r) : r;
			if (fin(in->mem_limit) && in->mem_limit > 0 &&
			    r >= MEM_LIMIT_SHARE * in->mem_limit && !fin(j->limit_since))
				j->limit_since = i, j->rss_at_limit = r;
		}
	}
	j->since[R_MEM] = !fin(j->limit_since)  ? j->swap_since
	                  : !fin(j->swap_since) ? j->limit_since
	                                        : MIN(j->swap_since, j->limit_since);
}

static json_t *row(const char *resource, const char *util, const char *sat, const char *err,
                   double since)
{
	json_t *o = json_object();
	json_object_set_new(o, "resource", json_string(resource));
	json_object_set_new(o, "utilisation", json_string(util));
	json_object_set_new(o, "saturation", json_string(sat));
	json_object_set_new(o, "errors", json_string(err));
	json_object_set_new(o, "saturated", json_boolean(fin(since)));
	json_object_set_new(o, "sinceS", fin(since) ? json_real(since) : json_null());
	return o;
}

/* The USE table: one row per resource seen. */
static json_t *use_table(const struct bn_input *in, const struct judged *j)
{
	json_t *t = json_array();
	char u[160], s[160], e[160], a[32], b[32], c[32];
	snprintf(u, sizeof(u), "workers averaged %.0f%% of their capacity", in->gen_cpu_mean);
	snprintf(s, sizeof(s), "%d s with a worker at 95%% or more", in->gen_saturated_s);
	json_array_append_new(t, row("generator CPU", u, s, "-",
	                             j->gen_saturated ? 0
	                             : j->gen_host    ? j->gen_host_since
	                                              : NAN));
	if (in->monitored) {
		int w =
		    snprintf(u, sizeof(u), "mean %.0f%%, peak %.0f%% of one core (it can use %d)",
		             j->cpu_mean, j->cpu_peak, j->cap_cores);
		if (fin(j->thread_peak) && w > 0 && (size_t)w < sizeof(u))
			snprintf(u + w, sizeof(u) - (size_t)w,
			         "; busiest thread busy %.0f%% at the peak", j->thread_peak);
		w = snprintf(s, sizeof(s), "%d s saturated", j->cpu_sat_s);
		if (j->thread_sat_s && w > 0 && (size_t)w < sizeof(s))
			snprintf(s + w, sizeof(s) - (size_t)w, " (%d s by one thread alone)",
			         j->thread_sat_s);
		json_array_append_new(t, row("target CPU", u, s, "-", j->since[R_CPU]));
		snprintf(u, sizeof(u), "mean %.0f%%, peak %.0f%% of %d CPUs", j->host_mean,
		         j->host_peak, in->host_cpus);
		snprintf(s, sizeof(s), "%d s at %.0f%% or more", j->host_sat_s, CPU_HOST_PERCENT);
		json_array_append_new(t, row("machine CPU", u, s, "-", j->host_since));
		snprintf(
		    u, sizeof(u), "RSS %s -> %s%s%s", format_bytes_iec(j->rss_first, a, sizeof(a)),
		    format_bytes_iec(j->rss_last, b, sizeof(b)), fin(in->mem_limit) ? " of " : "",
		    fin(in->mem_limit) ? format_bytes_iec(in->mem_limit, c, sizeof(c)) : "");
		snprintf(s, sizeof(s), "swap grew %s%s",
		         format_bytes_iec(j->swap_growth, a, sizeof(a)),
		         in->rss_leaking ? "; leaking" : "");
		json_array_append_new(t, row("memory", u, s, "-", j->since[R_MEM]));
	}
	snprintf(u, sizeof(u), "%.0f requests", in->requests);
	snprintf(s, sizeof(s), "%.0f listen-queue overflows", j->overflows);
	if (in->turned_away > 0)
		snprintf(e, sizeof(e), "%.0f turned away (%s x%.0f)", in->turned_away,
		         in->turned_top ? in->turned_top : "?", in->turned_top_count);
	else
		snprintf(e, sizeof(e), "none turned away");
	json_array_append_new(t,
	                      row("connections", u, in->monitored ? s : "-", e, j->since[R_CONN]));
	snprintf(u, sizeof(u), "served up to %.0f/s; at least %.1f in service at once", j->x_max,
	         j->pool);
	char m1[24], m2[24];
	snprintf(s, sizeof(s), "p95 %s -> %s ms; %.0f iterations dropped",
	         ms_text(j->base_p95, m1, sizeof(m1)), ms_text(j->worst_p95, m2, sizeof(m2)),
	         j->dropped);
	json_array_append_new(t, row("workers/queue (latency)", u, s, "-", j->since[R_POOL]));
	return t;
}

/* How the target's CPU was while requests were turned away: facts, not a judgement, so
 * that the sentence never contradicts a CPU saturation named with it. */
static const char *cpu_words(const struct bn_input *in, const struct judged *j, char *buf,
                             size_t len)
{
	if (!in->monitored || !fin(j->cpu_mean))
		snprintf(buf, len, "was not watched");
	else
		snprintf(buf, len, "averaged %.0f%% of one core (it can use %d)", j->cpu_mean,
		         j->cap_cores);
	return buf;
}

/* The sentence naming resource k, with its evidence. */
static void name_it(int k, const struct bn_input *in, const struct judged *j, char *s, size_t len)
{
	char a[32], b[80], c[32];
	switch (k) {
	case R_CONN:
		if (in->turned_away > 0)
			snprintf(
			    s, len,
			    "Connections: the target turned requests away from %.0f s on "
			    "(%.1f%% of requests: %s x%.0f, answered in %s ms at the median) "
			    "while its CPU %s: a connection or admission limit (max connections, "
			    "the accept backlog, a rate limiter), not its capacity.",
			    j->since[R_CONN], 100.0 * in->turned_away / MAX(in->requests, 1),
			    in->turned_top ? in->turned_top : "?", in->turned_top_count,
			    ms_text(in->failed_p50_ms, a, sizeof(a)),
			    cpu_words(in, j, b, sizeof(b)));
		else
			snprintf(
			    s, len,
			    "Connections: the kernel's listen queue overflowed %.0f times from "
			    "%.0f s on: the target did not accept connections as fast as they "
			    "came (raise its backlog, accept faster, or add workers).",
			    j->overflows, j->since[R_CONN]);
		break;
	case R_CPU:
		if (2 * j->thread_sat_s > j->cpu_sat_s) {
			snprintf(
			    s, len,
			    "CPU: one thread of the target saturated from %.0f s on (the busiest "
			    "thread wanted a CPU %.0f%% of the time at the peak, while the whole "
			    "process averaged %.0f%% of one core and could use %d)%s: the work is "
			    "serialised on one thread (an event loop, a lock holder, a single "
			    "worker), so more cores do not help until it is spread; its flame "
			    "graph (--profile) shows where that thread's time goes.",
			    j->since[R_CPU], j->thread_peak, j->cpu_mean, j->cap_cores,
			    fin(j->since[R_POOL]) ? ", and latency rose with it" : "");
			break;
		}
		{
			char dem[96] = "";
			if (fin(j->demand_peak) && j->demand_peak > j->cpu_peak * 1.2)
				snprintf(
				    dem, sizeof(dem),
				    "; its threads wanted %.0f%% at the peak, running or waiting "
				    "for a CPU",
				    j->demand_peak);
			snprintf(
			    s, len,
			    "CPU: the target's CPU saturated from %.0f s on (mean %.0f%%, peak "
			    "%.0f%% of one core; it can use %d core%s%s; the machine peaked at "
			    "%.0f%%)%s: it is CPU-bound; its flame graph (--profile) shows where "
			    "the time goes.",
			    j->since[R_CPU], j->cpu_mean, j->cpu_peak, j->cap_cores,
			    j->cap_cores == 1 ? "" : "s", dem, j->host_peak,
			    fin(j->since[R_POOL]) ? ", and latency rose with it" : "");
		}
		break;
	case R_MEM:
		if (fin(j->swap_since) && !(j->limit_since < j->swap_since))
			snprintf(s, len,
			         "Memory: the machine started swapping at %.0f s (swap grew %s): "
			         "memory ran out before anything else.",
			         j->swap_since, format_bytes_iec(j->swap_growth, a, sizeof(a)));
		else if (fin(j->limit_since))
			snprintf(
			    s, len,
			    "Memory: the target's RSS reached %s at %.0f s, within %.0f%% of its "
			    "limit (%s); it peaked at %s.",
			    format_bytes_iec(j->rss_at_limit, a, sizeof(a)), j->limit_since,
			    100 * (1 - MEM_LIMIT_SHARE),
			    format_bytes_iec(in->mem_limit, b, sizeof(b)),
			    format_bytes_iec(j->rss_peak, c, sizeof(c)));
		else
			snprintf(s, len,
			         "Memory: nothing saturated, but the target's RSS is leaking "
			         "(about %s per request; see the leak analysis): it will run out.",
			         format_bytes_iec(in->leak_per_request, a, sizeof(a)));
		break;
	case R_POOL:
		if (in->monitored) {
			/* Little's law only when it names at least one request in service */
			char little[200] = "";
			if (fin(j->pool) && j->pool >= 1)
				snprintf(
				    little, sizeof(little),
				    " %.0f/s served, each taking at least %s ms, puts at least "
				    "%.1f requests in service at once: a pool of about that "
				    "size (Little's law).",
				    j->x_max, ms_text(in->min_ms, c, sizeof(c)), j->pool);
			snprintf(
			    s, len,
			    "Workers/queue: from %.0f s on, throughput levelled at about %.0f/s "
			    "while p95 rose from %s to %s ms and the target's CPU stayed at "
			    "%.0f%% (of %d core%s): requests waited for something other than CPU "
			    "(a worker pool, database connections, a lock).%s",
			    j->since[R_POOL], j->x_sat, ms_text(j->base_p95, a, sizeof(a)),
			    ms_text(j->worst_p95, b, sizeof(b)), j->cpu_mean, j->cap_cores,
			    j->cap_cores == 1 ? "" : "s", little);
		} else {
			snprintf(
			    s, len,
			    "The target saturated from %.0f s on: throughput levelled at about "
			    "%.0f/s while p95 rose from %s to %s ms. Watch it (--monitor-port "
			    "PORT) to tell CPU from a pool: at least %.1f requests were in service "
			    "at once (Little's law).",
			    j->since[R_POOL], j->x_sat, ms_text(j->base_p95, a, sizeof(a)),
			    ms_text(j->worst_p95, b, sizeof(b)), fin(j->pool) ? j->pool : 0.0);
		}
		break;
	}
}

json_t *bottleneck_judge(const struct bn_input *in)
{
	struct judged j;
	memset(&j, 0, sizeof(j));
	for (int k = 0; k < R__N; k++)
		j.since[k] = NAN;
	j.swap_since = j.limit_since = j.rss_at_limit = NAN;
	cpu_facts(in, &j);
	latency_facts(in, &j);
	conn_facts(in, &j);
	if (in->monitored)
		mem_facts(in, &j);
	j.gen_saturated = in->gen_saturated_s >= BN_GEN_SECONDS;

	/* the earliest onset; within a window of each other, the tie order */
	int first = -1;
	double tol = MAX(in->win_step, 1) + 1;
	for (int k = 0; k < R__N; k++) {
		if (!fin(j.since[k]))
			continue;
		if (k == R_POOL && in->monitored && fin(j.since[R_CPU]))
			continue; /* latency rose because CPU ran out: not a pool */
		if (first < 0 || j.since[k] < j.since[first] - tol)
			first = k;
	}
	bool leak_only = first < 0 && in->monitored && in->rss_leaking;

	json_t *o = json_object(), *ev = json_array();
	const char *verdict;
	char text[700] = "", lead[400] = "";
	if (j.gen_saturated || j.gen_host) {
		snprintf(lead, sizeof(lead),
		         "stampede itself saturated first (%s): its figures understate the target; "
		         "give it more CPU (another machine, --threads) and run again.",
		         j.gen_saturated ? "a worker was 95% busy or more"
		                         : "it used most of the "
		                           "machine's CPU");
	}
	if (first >= 0) {
		verdict = verdict_name[first];
		name_it(first, in, &j, text, sizeof(text));
		if (first == R_POOL && !in->monitored)
			verdict = "unknown";
	} else if (leak_only) {
		verdict = "memory";
		name_it(R_MEM, in, &j, text, sizeof(text));
	} else if (in->failed >= FAIL_SHARE * in->requests && in->failed > 0) {
		verdict = "errors";
		snprintf(
		    text, sizeof(text),
		    "Errors, not saturation: %.1f%% of requests failed (mostly %s) while no "
		    "resource saturated: the failures are the target's own (its logs say why).",
		    100.0 * in->failed / MAX(in->requests, 1), in->fail_top ? in->fail_top : "?");
	} else {
		verdict = "none";
		char mt[24];
		if (!isfinite(j.worst_p95))
			snprintf(text, sizeof(text),
			         "Not judged: the run was too short for a per-second latency "
			         "(nothing was turned away).");
		else if (in->monitored)
			snprintf(
			    text, sizeof(text),
			    "No resource saturated: the target kept up (p95 at most %s ms) with "
			    "its CPU at %.0f%% at the peak of the %d core%s it can use.",
			    ms_text(j.worst_p95, mt, sizeof(mt)), j.cpu_peak, j.cap_cores,
			    j.cap_cores == 1 ? "" : "s");
		else
			snprintf(
			    text, sizeof(text),
			    "No sign of saturation: latency held (p95 at most %s ms) and nothing "
			    "was turned away. Watch the target (--monitor-port PORT) to see its "
			    "CPU and memory headroom.",
			    ms_text(j.worst_p95, mt, sizeof(mt)));
	}
	if (*lead) {
		json_array_append_new(ev, json_string(lead));
		verdict = "generator";
	}
	if (*text)
		json_array_append_new(ev, json_string(text));
	/* the other resources that saturated too, later */
	for (int k = 0; k < R__N; k++) {
		char s[700];
		if (k == first || !fin(j.since[k]) || (k == R_POOL && fin(j.since[R_CPU])))
			continue;
		name_it(k, in, &j, s, sizeof(s));
		add(ev, "Also: %s", s);
	}
	if (in->monitored && in->rss_leaking && first != R_MEM && !leak_only) {
		char a[32];
		add(ev, "Also: the target's RSS is leaking (about %s per request).",
		    format_bytes_iec(in->leak_per_request, a, sizeof(a)));
	}
	if (j.other_s >= SUSTAIN)
		add(ev,
		    "Also: the machine's CPU was %.0f%% busy or more for %d s with neither the "
		    "target nor stampede using half of it: other processes competed, and may have "
		    "disturbed the figures.",
		    CPU_HOST_PERCENT, j.other_s);
	char summary[1200];
	snprintf(summary, sizeof(summary), "%s%s%s", lead, *lead && *text ? " " : "", text);
	json_object_set_new(o, "verdict", json_string(verdict));
	json_object_set_new(o, "resource",
	                    json_string(!strcmp(verdict, "generator")     ? "the generator's CPU"
	                                : !strcmp(verdict, "cpu")         ? "the target's CPU"
	                                : !strcmp(verdict, "connections") ? "connections"
	                                : !strcmp(verdict, "memory")      ? "memory"
	                                : !strcmp(verdict, "pool")        ? "a worker pool or queue"
	                                                                  : verdict));
	double since = !strcmp(verdict, "generator") ? (j.gen_saturated ? NAN : j.gen_host_since)
	               : first >= 0                  ? j.since[first]
	                                             : NAN;
	json_object_set_new(o, "sinceS", fin(since) ? json_real(since) : json_null());
	json_object_set_new(o, "summary", json_string(summary));
	json_object_set_new(o, "evidence", ev);
	json_object_set_new(o, "resources", use_table(in, &j));
	json_object_set_new(o, "monitored", json_boolean(in->monitored));
	if (fin(j.pool))
		json_object_set_new(o, "concurrency", json_real(round(j.pool * 10) / 10));
	const json_t *stretch0 = json_array_get(j.other_stretches, 0);
	if (stretch0)
		json_object_set_new(o, "otherProcesses",
		                    json_pack("{s:i, s:O, s:o}", "seconds", j.other_sustained_s,
		                              "sinceS", json_object_get(stretch0, "fromS"),
		                              "stretches", j.other_stretches));
	else {
		json_object_set_new(o, "otherProcesses", json_null());
		json_decref(j.other_stretches);
	}
	return o;
}

/* --- from a result ------------------------------------------------------------------ */

static const struct result_metric *metric(const struct result *r, const char *name)
{
	int m = result_find_metric(r, name);
	return m >= 0 ? &r->metrics[m] : NULL;
}

/* A metric per second of the run (n seconds): a gauge's value, a counter's count per
 * second; NaN where it has no point. NULL when the metric is absent. */
static double *per_second(const struct result *r, const char *name, int n)
{
	const struct result_metric *m = metric(r, name);
	if (!m || !m->ts.npoints)
		return NULL;
	double *a = malloc((size_t)MAX(n, 1) * sizeof(double));
	if (!a)
		return NULL;
	for (int i = 0; i < n; i++)
		a[i] = NAN;
	int step = MAX(m->ts.step, 1);
	for (int p = 0; p < m->ts.npoints; p++) {
		const struct result_point *pt = &m->ts.points[p];
		for (int s = 0; s < step; s++) {
			int i = pt->t + s;
			if (i < 0 || i >= n)
				continue;
			if (m->type == MT_GAUGE)
				a[i] = pt->count > 0 ? pt->v[0] : NAN;
			else if (m->type == MT_COUNTER)
				a[i] = pt->count / step;
			else if (m->type == MT_TREND) /* the interval's largest (ms) */
				a[i] = pt->count > 0 ? pt->v[4] : NAN;
		}
	}
	return a;
}

/* A counter's or rate's totals over [a, b): counts, and a rate's non-zero samples. */
static void sum_over(const struct result_metric *m, double a, double b, double *sum, double *nz)
{
	*sum = 0;
	if (nz)
		*nz = 0;
	for (int i = 0; m && i < m->ts.npoints; i++) {
		const struct result_point *pt = &m->ts.points[i];
		if (pt->t < a || pt->t + m->ts.step > b)
			continue;
		*sum += pt->count;
		if (nz)
			*nz += (double)pt->count * pt->v[0];
	}
}

static bool turned_away_kind(const char *k)
{
	static const char *const kinds[] = { "connection_refused", "connection_reset",
		                             "connect_timeout",    "connect_error",
		                             "empty_response",     "write_error",
		                             "status_503",         "status_429" };
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (!strcmp(k, kinds[i]))
			return true;
	return false;
}

/* The failed responses' median latency (ms), from http_req_duration{expected_response:false}. */
static double failed_p50(const struct result *r)
{
	int m = result_find_metric(r, "http_req_duration");
	struct result_tag f = { "expected_response", "false" };
	struct result_values v;
	double ms = NAN;
	if (m < 0)
		return NAN;
	if (result_combine(r, m, &f, 1, &v) &&
	    !result_stat(&v, r->metrics[m].unit, "med", r->duration_s, &ms))
		ms = NAN;
	result_values_free(&v);
	return ms;
}

json_t *bottleneck_analyse(const struct result *r)
{
	const struct result_metric *d = metric(r, "http_req_duration");
	if (!d || !d->win.n)
		return NULL;
	struct bn_input in;
	memset(&in, 0, sizeof(in));
	int n = (int)floor(r->duration_s);
	in.n = MAX(n, 0);
	in.monitored = metric(r, "target_cpu_percent") != NULL;
	const json_t *mon = json_object_get(r->analyses, "monitor");
	const json_t *host = json_object_get(mon, "host");
	in.host_cpus = (int)json_integer_value(json_object_get(host, "cpus"));
	if (!in.host_cpus && json_is_real(json_object_get(host, "cpus")))
		in.host_cpus = (int)json_real_value(json_object_get(host, "cpus"));
	const struct result_metric *th = metric(r, "target_threads");
	in.target_threads = NAN;
	for (int i = 0; th && i < th->ts.npoints; i++)
		if (th->ts.points[i].count > 0)
			in.target_threads = fin(in.target_threads)
			                        ? MAX(in.target_threads, th->ts.points[i].v[2])
			                        : th->ts.points[i].v[2];
	double *tc = per_second(r, "target_cpu_percent", in.n);
	double *tm = per_second(r, "target_thread_busy_max_percent", in.n);
	double *dm = per_second(r, "target_cpu_demand_percent", in.n);
	double *hc = per_second(r, "host_cpu_percent", in.n);
	double *gc = per_second(r, "generator_cpu_percent", in.n);
	double *sw = per_second(r, "host_swap_used_bytes", in.n);
	double *rss = per_second(r, "target_rss_bytes", in.n);
	double *lo = per_second(r, "host_listen_overflows", in.n);
	double *cm = per_second(r, "http_req_connecting", in.n);
	in.target_cpu = tc, in.host_cpu = hc, in.gen_cpu = gc, in.swap_used = sw, in.rss = rss;
	in.listen_overflows = lo;
	in.connect_max_ms = cm;
	in.thread_cpu_max = tm;
	in.cpu_demand = dm;
	const json_t *leak =
	    json_object_get(json_object_get(r->analyses, "leaks"), "target_rss_bytes");
	in.rss_leaking = json_is_true(json_object_get(leak, "leaking"));
	const json_t *per = json_object_get(leak, "perRequest");
	in.leak_per_request = json_is_number(per) ? json_number_value(per) : NAN;
	in.mem_limit = leak_memory_limit(r); /* whether or not the leaks were judged */

	/* the latency windows wholly inside the run */
	in.min_ms = NAN;
	/* the closed model's knee: the step after it is where added VUs only queued */
	const json_t *tt = json_object_get(r->analyses, "testType");
	const json_t *knee = json_object_get(tt, "knee");
	const char *model = json_string_value(json_object_get(tt, "model"));
	if (json_is_object(knee) && model && !strcmp(model, "closed")) {
		size_t k;
		const json_t *row;
		bool past = false;
		json_array_foreach(json_object_get(tt, "steps"), k, row)
		{
			double off = json_number_value(json_object_get(row, "offered"));
			if (past && off > json_number_value(json_object_get(knee, "offered"))) {
				in.queue_known = true;
				in.queue_from_s = json_number_value(json_object_get(row, "start"));
				break;
			}
			past = past || off == json_number_value(json_object_get(knee, "offered"));
		}
	}
	int nw = 0;
	double *w = calloc((size_t)d->win.n * 6, sizeof(double));
	const struct result_metric *reqs = metric(r, "http_reqs");
	const struct result_metric *fail = metric(r, "http_req_failed");
	const struct result_metric *drop = metric(r, "dropped_iterations");
	for (int i = 0; w && i < d->win.n; i++) {
		double a = d->win.t[i], b = a + d->win.step;
		if (b > r->duration_s || !d->win.h[i] || !d->win.h[i]->total_count)
			continue;
		double q, f, tot;
		w[nw] = a;
		w[d->win.n + nw] = (double)hdr_value_at_percentile(d->win.h[i], 95) / 1000.0;
		w[2 * d->win.n + nw] = hdr_mean(d->win.h[i]) / 1000.0;
		double mn = (double)hdr_min(d->win.h[i]) / 1000.0;
		in.min_ms = fin(in.min_ms) ? MIN(in.min_ms, mn) : mn;
		sum_over(reqs, a, b, &q, NULL);
		sum_over(fail, a, b, &tot, &f);
		w[3 * d->win.n + nw] = q;
		w[4 * d->win.n + nw] = MAX(0, q - f);
		sum_over(drop, a, b, &w[5 * d->win.n + nw], NULL);
		nw++;
	}
	in.nwin = nw, in.win_step = d->win.step;
	if (w) {
		in.win_t = w, in.win_p95 = w + d->win.n, in.win_mean = w + 2 * d->win.n;
		in.win_reqs = w + 3 * d->win.n, in.win_good = w + 4 * d->win.n;
		in.win_dropped = w + 5 * d->win.n;
	} else {
		in.nwin = 0;
	}

	/* failures */
	double tot, f;
	sum_over(fail, -1, INFINITY, &tot, &f);
	sum_over(reqs, -1, INFINITY, &in.requests, NULL);
	in.failed = f;
	for (int i = 0; i < r->nerrors; i++) {
		const struct result_error *e = &r->errors[i];
		if (!in.fail_top)
			in.fail_top = e->kind;
		if (turned_away_kind(e->kind)) {
			in.turned_away += (double)e->count;
			if (!in.turned_top)
				in.turned_top = e->kind, in.turned_top_count = (double)e->count;
		}
	}
	in.failed_p50_ms = failed_p50(r);
	in.fail_onset_s = NAN;
	for (int i = 0; fail && i < fail->ts.npoints; i++) {
		const struct result_point *pt = &fail->ts.points[i];
		if (pt->count > 0 && pt->v[0] >= FAIL_SHARE) {
			in.fail_onset_s = pt->t;
			break;
		}
	}
	in.gen_saturated_s = r->gen.saturated_seconds;
	in.gen_cpu_mean = r->gen.cpu_percent;
	in.host_saturated_s = r->gen.host_saturated_seconds;

	json_t *o = bottleneck_judge(&in);
	free(tc), free(tm), free(dm), free(cm), free(hc), free(gc), free(sw), free(rss), free(lo),
	    free(w);
	return o;
}
