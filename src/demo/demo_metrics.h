/* demo_metrics.h: the demo server's own RED metrics in the Prometheus text format. */
#ifndef STAMPEDE_DEMO_METRICS_H
#define STAMPEDE_DEMO_METRICS_H

#include <stdint.h>

#include "demo/demo_api.h"
#include "demo/demo_buf.h"
#include "demo/demo_http.h"
#include "demo/demo_ws.h"

#define DEMO_NSTATUS  22 /* the statuses the server can answer, plus "other" */
#define DEMO_NBUCKETS 14 /* histogram bounds (the +Inf bucket is the count) */

/* Requests by method, route and status, and their durations by method and route. Written
 * and read by the front-end thread only, so nothing is atomic. */
struct demo_metrics {
	uint64_t count[DEMO_METHOD__COUNT][DEMO_ROUTE__COUNT][DEMO_NSTATUS];
	struct demo_hist {
		uint64_t bucket[DEMO_NBUCKETS]; /* non-cumulative */
		uint64_t count;
		uint64_t sum_us;
	} dur[DEMO_METHOD__COUNT][DEMO_ROUTE__COUNT];
	uint64_t total;
};

/* Gauges and counters owned by other parts of the server, sampled for one scrape. */
struct demo_gauges {
	const struct demo_stats *stats;
	int connections;
	int workers;
	int queue_capacity;
	int queue_waiting;
	int workers_busy;
	uint64_t queue_rejected;  /* 503: pool and queue full */
	uint64_t conn_rejected;   /* 503: over --max-connections */
	double start_time;        /* Unix time of the start, seconds */
	int64_t drift_us;         /* what --latency-drift adds to an API request now */
	struct demo_ws_counts ws; /* WebSocket sessions and messages */
};

void demo_metrics_init(struct demo_metrics *m);

/* Count one response of the given status, dur_us after the request was read. */
void demo_metrics_record(struct demo_metrics *m, enum demo_method method, enum demo_route route,
                         int status, int64_t dur_us);

/* Append the exposition (text format 0.0.4) to out. */
void demo_metrics_render(const struct demo_metrics *m, const struct demo_gauges *g,
                         struct demo_buf *out);

#endif
