/* demo.h: `stampede serve-demo`, the demo system under test: its knobs and its lifecycle. */
#ifndef STAMPEDE_DEMO_H
#define STAMPEDE_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most --latency-drift adds to one request, however long the server runs. */
#define DEMO_DRIFT_MAX_US (10 * 1000000LL)

/* Every knob of the demo server (docs/demo.md). Durations are in microseconds; 0 turns a
 * simulated effect off. The runtime knobs may be changed while it runs (POST
 * /admin/config); host, port, workers and queue are fixed at start. */
struct demo_config {
	char host[64];               /* listen address (default 127.0.0.1) */
	int port;                    /* 0: a free port chosen by the kernel (default 8080) */
	int workers;                 /* worker threads (default 4) */
	int queue;                   /* requests that may wait for a worker (default 1024) */
	int64_t query_latency_us;    /* time per simulated query */
	int64_t cpu_us;              /* CPU time burned per API request */
	bool n_plus_one;             /* users/{id}/orders: one query per order */
	int64_t cache_ttl_us;        /* cache-aside in front of product reads; 0: no cache */
	int64_t leak_bytes;          /* bytes leaked per API request */
	int64_t stall_every_us;      /* the whole server stops answering every ... */
	int64_t stall_for_us;        /* ... for this long; 0/0: never */
	double error_rate;           /* fraction of API requests answered with 500 */
	int max_connections;         /* more open connections get 503 and are closed */
	int64_t request_timeout_us;  /* a request must arrive completely within this (408) */
	int64_t idle_timeout_us;     /* idle keep-alive connections are closed after this */
	int64_t shutdown_timeout_us; /* graceful stop: in-flight requests get this long */
	/* every API request waits latency_drift_us more per latency_drift_period_us (by
	 * default a minute) since the start or since the knob changed, up to
	 * DEMO_DRIFT_MAX_US; 0: off */
	int64_t latency_drift_us;
	int64_t latency_drift_period_us;
	/* HTTPS instead of HTTP, with a self-signed certificate made at start (not a knob:
	 * absent from /admin/config) */
	bool tls;
	/* HTTP/2 as well: h2c with prior knowledge on the plain port, ALPN "h2" with --tls
	 * (not a knob either) */
	bool http2;
	/* internal: start of the stall schedule and of the latency drift (monotonic µs); set
	 * by the server */
	int64_t stall_anchor_us;
	int64_t drift_anchor_us;
};

/* Fill cfg with the defaults. */
void demo_config_defaults(struct demo_config *cfg);

/* Set one knob from text, by its flag name without dashes ("query-latency"; '_' works as
 * '-'), the way the command line gives it ("10ms", "4", "true", "5s:500ms"). Returns 0, or
 * -ENOENT for an unknown knob, -EINVAL for a bad value, with a message in err. */
int demo_config_set(struct demo_config *cfg, const char *knob, const char *value, char *err,
                    size_t errlen);

/* Whether a knob exists and whether it may be changed while the server runs. */
bool demo_config_known(const char *knob);
bool demo_config_runtime(const char *knob);

/* Apply a JSON object of knobs ({"query_latency": "10ms", "n_plus_one": true, ...}) to
 * cfg, all or nothing. Values are strings as on the command line, numbers (durations: a
 * bare number is seconds) or booleans; only runtime knobs are accepted. Returns 0 or
 * -EINVAL with a message in err (cfg unchanged). */
int demo_config_update_json(struct demo_config *cfg, const char *json, size_t len, char *err,
                            size_t errlen);

/* The configuration as a JSON object text (knob names with '_'), NUL-terminated, owned by
 * the caller (free()). Durations are strings that the setters accept back. */
char *demo_config_to_json(const struct demo_config *cfg);

struct demo_server;

/* Start a server: bind cfg->host:cfg->port (port 0: a free port), generate the data, start
 * the front-end thread and the worker pool, and return at once. The server's threads block
 * every signal. Returns 0 and *out, or a negative errno (nothing left running). */
int demo_server_start(const struct demo_config *cfg, struct demo_server **out);

/* The port it listens on (useful after port 0). */
int demo_server_port(const struct demo_server *s);

/* The server's certificate in PEM (owned by s) when it serves HTTPS, else NULL. */
const char *demo_server_cert_pem(const struct demo_server *s);

/* Responses produced so far (the sum of http_requests_total). */
uint64_t demo_server_responses(const struct demo_server *s);

/* Stop gracefully: stop accepting, let in-flight requests finish (up to
 * cfg->shutdown_timeout_us), close every connection, join the threads and free s. */
void demo_server_stop(struct demo_server *s);

/* The `serve-demo` command: start, write the certificate (PEM) to ca_path when it is not
 * NULL and the server serves HTTPS, print the URL on stdout, serve until SIGTERM/SIGINT (a
 * second signal cuts the graceful stop short), stop. Returns the exit code (0, or 1 when
 * the server cannot start or the certificate cannot be written). */
int demo_server_run(const struct demo_config *cfg, const char *ca_path);

#endif
