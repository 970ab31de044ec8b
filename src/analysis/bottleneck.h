/*
 * bottleneck.h: name the resource that saturated first (issue #12, docs/monitoring.md),
 * by Brendan Gregg's USE method: for every resource seen during the run, its
 * utilisation, saturation and errors, and when it first saturated, on the run's clock.
 *
 * Resources and what saturates them, with the constants of bottleneck.c (each documented
 * in docs/monitoring.md "How the verdict is reached"). "Running": SUSTAIN (2) seconds or
 * windows in a row, or up to the run's end.
 *   generator  a worker of stampede itself >= 95% busy for BN_GEN_SECONDS (2) seconds or more
 *              (result.gen.saturated_seconds); or the machine's CPU >= CPU_HOST_PERCENT
 *              (90%) with stampede using at least half of it (generator_cpu_percent >=
 *              0.5 x host_cpu_percent x host CPUs), running: "most of the machine's CPU".
 *              Said first, whatever else is found, since the numbers then understate the
 *              target (the target's own verdict follows in the evidence)
 *   CPU        (needs a watched target) in a second, the target's CPU >= CPU_TARGET_SHARE
 *              (85%) of the cores it can use (min(host CPUs, its threads)); or the
 *              machine's CPU >= CPU_HOST_PERCENT (90%) with the target using at least half
 *              of it (target_cpu_percent >= 0.5 x host_cpu_percent x host CPUs); or its
 *              busiest thread running or waiting for a CPU >= CPU_THREAD_PERCENT (90%) of
 *              the time (target_thread_busy_max_percent) when it can use more than one
 *              core, and that thread holds at least CPU_THREAD_SHARE (half) of the
 *              process's demand (target_cpu_demand_percent: the work serialised on that
 *              thread, not many threads all waiting for a busy machine); running
 *   connections  failures >= FAIL_SHARE (1%) of the requests (and at least one) with the
 *              turned-away kinds (connection_refused, connection_reset, connect_timeout,
 *              connect_error, empty_response, write_error, status_503, status_429) >= half
 *              of the failures, from the first second with >= FAIL_SHARE failures (else
 *              0 s); or any second with the kernel's listen queue overflowing
 *              (host_listen_overflows > 0: the host's counter) that is the target's: one
 *              of the run's connections took CONN_SYN_RETRY_MS (900 ms: a dropped SYN is
 *              sent again after 1 s) or more to set up in it or the CONN_NEAR_S (3) seconds
 *              after (http_req_connecting), from the first such second
 *   memory     (needs a watched target) swap growing by SWAP_GROWTH (16 MiB) or more since
 *              the first reading (host_swap_used_bytes); or the target's RSS >=
 *              MEM_LIMIT_SHARE (90%) of its memory limit (leak_memory_limit: --memory-limit,
 *              else the cgroup's; whatever the run's length); each from its first second.
 *              A leak (analyses.leaks.target_rss_bytes.leaking) alone is named only when
 *              nothing else saturated, with no onset
 *   pool/queue a window whose p95 (of >= 5 responses) is >= LAT_FACTOR (4) x the best p95
 *              of the windows with >= LAT_MIN_REQS (20) responses and >= LAT_MARGIN_MS
 *              (10 ms) over it with at least LAT_MIN_BUSY (1) request in service at once
 *              (served/s x its mean response time: below one, nothing queued and the
 *              slowness is jitter), or whose dropped iterations are > DROP_SHARE (1%) of its
 *              arrivals (and at least one); running, in windows. With a watched target
 *              whose CPU saturated it is CPU's symptom and not named; otherwise requests
 *              waited for something other than CPU (workers, DB connections, a lock); the
 *              most served (without error) per second times the fastest response's time
 *              is a lower bound of that pool's size (Little's law, N = X R, every R >= the
 *              fastest). Without a watched target the verdict is "unknown"
 * The earliest onset is named: taken in the order connections, CPU, memory, pool, a later
 * one replaces the one named only when it saturated more than a window plus 1 s earlier.
 * Without a saturated resource: errors (failures >= FAIL_SHARE of the requests with
 * nothing saturated) or none (the headroom).
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
	const double *cpu_demand;     /* all its threads' demand (on or waiting for a CPU), % */
	const double *host_cpu;       /* % of the machine */
	const double *gen_cpu;        /* % of one core: stampede itself */
	const double *swap_used;      /* bytes */
	const double *rss;            /* the target's, bytes */
	double mem_limit;             /* bytes; NaN: none known */
	bool rss_leaking;             /* analyses.leaks.target_rss_bytes.leaking */
	double leak_per_request;      /* bytes; NaN: unknown */
	const double *listen_overflows; /* per second */
	const double *connect_max_ms;   /* per second: the longest connection set-up (ms) */
	/* the load, per latency window [win_t[i], win_t[i] + win_step) */
	int nwin, win_step;
	const double *win_t, *win_p95, *win_mean; /* ms */
	const double *win_reqs;                   /* responses in the window */
	const double *win_good;                   /* responses that did not fail */
	const double *win_dropped;                /* dropped iterations */
	double min_ms;                            /* the fastest response, ms; NaN: none */
	/* a closed-model stress test's knee (analyses.testType.knee): from queue_from_s on,
	 * added VUs brought no throughput, only latency: the windows there whose p95 rose
	 * are a queue whatever LAT_FACTOR says (false: no such knee) */
	bool queue_known;
	double queue_from_s;
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
