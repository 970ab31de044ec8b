/*
 * bottleneck.h: name the resource that saturated first (issue #12, docs/monitoring.md),
 * by Brendan Gregg's USE method: for every resource seen during the run, its
 * utilisation, saturation and errors, and when it first saturated, on the run's clock.
 *
 * Resources and what saturates them (every constant below is documented in
 * docs/monitoring.md "How the verdict is reached"):
 *   generator  a worker of stampede itself >= 95% busy for BN_GEN_SECONDS seconds or more
 *              (result.gen.saturated_seconds): said first, whatever else is found, since
 *              the numbers then understate the target
 *   CPU        the target's CPU >= 85% of the cores it can use (min(host CPUs, its
 *              threads)), or the machine's CPU >= 90% with the target using at least half
 *              of it, or one of its threads running or waiting for a CPU >= 90% of the
 *              time when it can use more than one core (the work serialised on that
 *              thread: target_thread_busy_max_percent), for 2 seconds running (needs
 *              --monitor-*)
 *   connections  requests turned away: connection refused/reset/timeouts, empty responses,
 *              or 503/429 answers, being at least half of the failures and 1% of the
 *              requests; or the kernel's listen-queue overflows (host_listen_overflows)
 *   memory     the target's RSS leaking (analyses.leaks), within 10% of its memory limit,
 *              or the host swapping (host_swap_used_bytes growing by 16 MiB or more)
 *   pool/queue the latency saturated (a window's p95 at least 4x the best window's p95 and
 *              10 ms over it, or iterations dropped in it) while CPU did not: requests
 *              waited for something other than CPU (workers, DB connections, a lock);
 *              the most served per second times the fastest response's time is a lower
 *              bound of that pool's size (Little's law, N = X R, every R >= the fastest)
 * The earliest onset is named; on a tie: connections, CPU, memory, pool. Without a
 * saturated resource: errors (failures with nothing saturated) or none (the headroom).
 */
#ifndef STAMPEDE_ANALYSIS_BOTTLENECK_H
#define STAMPEDE_ANALYSIS_BOTTLENECK_H

#include <jansson.h>
#include <stdbool.h>

#include "result/result.h"

#define BN_GEN_SECONDS 2 /* generator seconds >= 95% busy that count as saturated */

/* The run's evidence, per second of the run (NaN where not measured): the input of
 * bottleneck_judge, made from a result by bottleneck_analyse (and by the unit tests). */
struct bn_input {
	int n;                        /* seconds */
	bool monitored;               /* a target was watched (target_* metrics exist) */
	int host_cpus;                /* 0: unknown */
	double target_threads;        /* the most seen; NaN: unknown */
	const double *target_cpu;     /* % of one core */
	const double *thread_cpu_max; /* its busiest thread's demand: on or waiting for a CPU, % */
	const double *host_cpu;       /* % of the machine */
	const double *gen_cpu;        /* % of one core: stampede itself */
	const double *swap_used;      /* bytes */
	const double *rss;            /* the target's, bytes */
	double mem_limit;             /* bytes; NaN: none known */
	bool rss_leaking;             /* analyses.leaks.target_rss_bytes.leaking */
	double leak_per_request;      /* bytes; NaN: unknown */
	const double *listen_overflows; /* per second */
	/* the load, per latency window [win_t[i], win_t[i] + win_step) */
	int nwin, win_step;
	const double *win_t, *win_p95, *win_mean; /* ms */
	const double *win_reqs;                   /* responses in the window */
	const double *win_good;                   /* responses that did not fail */
	const double *win_dropped;                /* dropped iterations */
	double min_ms;                            /* the fastest response, ms; NaN: none */
	/* failures over the run */
	double requests, failed;
	double turned_away;     /* refused, reset, 503, 429 ... */
	const char *turned_top; /* the commonest such kind ("status_503"), or NULL */
	double turned_top_count;
	double failed_p50_ms;    /* failed responses' median latency; NaN: none */
	double fail_onset_s;     /* first second with >= 1% failures; NaN: none */
	const char *fail_top;    /* the commonest failure kind, or NULL */
	int gen_saturated_s;     /* result.gen.saturated_seconds */
	double gen_cpu_mean;     /* result.gen.cpu_percent: % of the workers' capacity */
	double host_saturated_s; /* result.gen.host_saturated_seconds */
};

/* The verdict for in: a new object {verdict: "generator" | "cpu" | "connections" |
 * "memory" | "pool" | "errors" | "none" | "unknown", resource (words), sinceS (when it
 * first saturated, s; null), summary (one or two sentences), evidence (sentences),
 * resources: [{resource, utilisation, saturation, errors (words), saturated, sinceS}],
 * monitored}. */
json_t *bottleneck_judge(const struct bn_input *in);

/* bottleneck_judge on the result's metrics, windows, errors and analyses (monitor,
 * leaks), or NULL for a run without http_req_duration windows. */
json_t *bottleneck_analyse(const struct result *r);

#endif
