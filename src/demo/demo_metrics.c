/* demo_metrics.c: the demo server's own RED metrics in the Prometheus text format. */
#include "demo/demo_metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/common.h"

static const int statuses[DEMO_NSTATUS - 1] = {
	200, 201, 204, 400, 401, 403, 404, 405, 408, 411, 413,
	414, 417, 431, 500, 501, 503, 505, 429, 101, 426,
};

/* Upper bounds in microseconds, and as printed. */
static const int64_t bounds_us[DEMO_NBUCKETS] = {
	500,    1000,   2500,   5000,    10000,   25000,   50000,
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};
static const char *const bounds_txt[DEMO_NBUCKETS] = {
	"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
	"0.1",    "0.25",  "0.5",    "1",     "2.5",  "5",     "10",
};

static int status_index(int status)
{
	for (int i = 0; i < DEMO_NSTATUS - 1; i++)
		if (statuses[i] == status)
			return i;
	return DEMO_NSTATUS - 1;
}

void demo_metrics_init(struct demo_metrics *m)
{
	memset(m, 0, sizeof(*m));
}

void demo_metrics_record(struct demo_metrics *m, enum demo_method method, enum demo_route route,
                         int status, int64_t dur_us)
{
	if ((unsigned)method >= DEMO_METHOD__COUNT)
		method = DEMO_METHOD_OTHER;
	if ((unsigned)route >= DEMO_ROUTE__COUNT)
		route = DEMO_ROUTE_UNMATCHED;
	if (dur_us < 0)
		dur_us = 0;
	m->count[method][route][status_index(status)]++;
	m->total++;

	struct demo_hist *h = &m->dur[method][route];
	int b = 0;
	while (b < DEMO_NBUCKETS && dur_us > bounds_us[b])
		b++;
	if (b < DEMO_NBUCKETS)
		h->bucket[b]++;
	h->count++;
	h->sum_us += (uint64_t)dur_us;
}

static void render_requests(const struct demo_metrics *m, struct demo_buf *out)
{
	demo_buf_puts(out, "# HELP http_requests_total Responses sent, by method, route template "
	                   "and status.\n# TYPE http_requests_total counter\n");
	for (int me = 0; me < DEMO_METHOD__COUNT; me++)
		for (int r = 0; r < DEMO_ROUTE__COUNT; r++)
			for (int s = 0; s < DEMO_NSTATUS; s++) {
				uint64_t n = m->count[me][r][s];
				if (!n)
					continue;
				char st[8];
				if (s < DEMO_NSTATUS - 1)
					snprintf(st, sizeof(st), "%d", statuses[s]);
				else
					snprintf(st, sizeof(st), "other");
				demo_buf_printf(out,
				                "http_requests_total{method=\"%s\",route=\"%s\","
				                "status=\"%s\"} %" PRIu64 "\n",
				                demo_method_name(me), demo_route_label(r), st, n);
			}
}

static void render_durations(const struct demo_metrics *m, struct demo_buf *out)
{
	demo_buf_puts(out, "# HELP http_request_duration_seconds Time from a complete request "
	                   "to its response, by method and route template.\n"
	                   "# TYPE http_request_duration_seconds histogram\n");
	for (int me = 0; me < DEMO_METHOD__COUNT; me++)
		for (int r = 0; r < DEMO_ROUTE__COUNT; r++) {
			const struct demo_hist *h = &m->dur[me][r];
			const char *mn = demo_method_name(me), *rl = demo_route_label(r);
			uint64_t cum = 0;

			if (!h->count)
				continue;
			for (int b = 0; b < DEMO_NBUCKETS; b++) {
				cum += h->bucket[b];
				demo_buf_printf(
				    out,
				    "http_request_duration_seconds_bucket{method=\"%s\","
				    "route=\"%s\",le=\"%s\"} %" PRIu64 "\n",
				    mn, rl, bounds_txt[b], cum);
			}
			demo_buf_printf(
			    out,
			    "http_request_duration_seconds_bucket{method=\"%s\",route="
			    "\"%s\",le=\"+Inf\"} %" PRIu64 "\n"
			    "http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} "
			    "%.6f\n"
			    "http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} "
			    "%" PRIu64 "\n",
			    mn, rl, h->count, mn, rl, (double)h->sum_us / 1e6, mn, rl, h->count);
		}
}

static void metric(struct demo_buf *out, const char *name, const char *type, const char *help,
                   double v)
{
	demo_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	if (v == floor(v) && fabs(v) < 1e15)
		demo_buf_printf(out, "%s %.0f\n", name, v);
	else
		demo_buf_printf(out, "%s %.6f\n", name, v);
}

static uint64_t ld(const _Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static void render_backend(const struct demo_gauges *g, struct demo_buf *out)
{
	const struct demo_stats *s = g->stats;

	metric(out, "demo_db_queries_total", "counter", "Simulated database queries.",
	       (double)ld(&s->db_queries));
	metric(out, "demo_cache_hits_total", "counter", "Product reads served from the cache.",
	       (double)ld(&s->cache_hits));
	metric(out, "demo_cache_misses_total", "counter",
	       "Product reads that found no fresh cache entry.", (double)ld(&s->cache_misses));
	metric(out, "demo_cache_loads_total", "counter", "Cache misses that queried the database.",
	       (double)ld(&s->cache_loads));
	metric(out, "demo_cache_coalesced_total", "counter",
	       "Cache misses that waited for a load already in progress.",
	       (double)ld(&s->cache_coalesced));
	metric(out, "demo_leaked_bytes_total", "counter", "Bytes leaked on purpose (--leak-bytes).",
	       (double)ld(&s->leaked_bytes));
	metric(out, "demo_injected_errors_total", "counter", "500s injected by --error-rate.",
	       (double)ld(&s->injected_errors));
	metric(out, "demo_orders_created_total", "counter", "Orders created.",
	       (double)ld(&s->orders_created));
	metric(out, "demo_latency_drift_seconds", "gauge",
	       "Latency that --latency-drift adds to an API request now.",
	       (double)g->drift_us / 1e6);
	metric(out, "demo_latency_drift_added_seconds_total", "counter",
	       "Latency added by --latency-drift, summed over the API requests.",
	       (double)ld(&s->drift_us) / 1e6);
	metric(out, "demo_queue_rejected_total", "counter",
	       "Requests answered 503 because every worker was busy and the queue full.",
	       (double)g->queue_rejected);
	metric(out, "demo_connections_rejected_total", "counter",
	       "Connections answered 503 because of --max-connections.", (double)g->conn_rejected);
	metric(out, "demo_connections_active", "gauge", "Open client connections.", g->connections);
	metric(out, "demo_queue_waiting", "gauge", "Requests waiting for a worker.",
	       g->queue_waiting);
	metric(out, "demo_workers_busy", "gauge", "Workers running a request.", g->workers_busy);
	metric(out, "demo_workers", "gauge", "Worker threads.", g->workers);
	metric(out, "demo_queue_capacity", "gauge", "Requests that may wait for a worker.",
	       g->queue_capacity);
	metric(out, "demo_ws_sessions_total", "counter", "WebSocket sessions opened (101 sent).",
	       (double)g->ws.sessions_total);
	metric(out, "demo_ws_sessions_open", "gauge", "WebSocket sessions open now.", g->ws.open);
	metric(out, "demo_ws_messages_received_total", "counter",
	       "WebSocket text and binary messages received.", (double)g->ws.messages_received);
	metric(out, "demo_ws_messages_sent_total", "counter",
	       "WebSocket text and binary messages sent.", (double)g->ws.messages_sent);
}

static void render_process(const struct demo_gauges *g, struct demo_buf *out)
{
	struct rusage ru;
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	metric(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
	       (double)rss * (double)sysconf(_SC_PAGESIZE));
	metric(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent.", cpu);
	metric(out, "process_start_time_seconds", "gauge",
	       "Start time of the server since the Unix epoch in seconds.", g->start_time);
}

void demo_metrics_render(const struct demo_metrics *m, const struct demo_gauges *g,
                         struct demo_buf *out)
{
	render_requests(m, out);
	render_durations(m, out);
	render_backend(g, out);
	render_process(g, out);
}
