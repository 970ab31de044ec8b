/* engine.h: run configuration and the shared state of a running test. */
#ifndef STAMPEDE_ENGINE_H
#define STAMPEDE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "engine/sched.h"
#include "metrics/metrics.h"
#include "protocol/request.h"

enum model { MODEL_CLOSED, MODEL_OPEN };

/* Everything a worker needs, read-only during the run. */
struct engine_cfg {
	struct request req;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	bool tls;
	void *tls_ctx;       /* SSL_CTX * */
	const char *host;    /* for SNI and certificate checks */
	bool verify;
	int threads;
	enum model model;
	int vus;             /* closed: start/constant VUs; open: preallocated VUs */
	int max_vus;         /* open: most VUs */
	int64_t iterations;  /* 0: unlimited */
	struct sched sched;  /* closed: VUs over time; open: iterations/s over time */
	bool poisson;
	int64_t duration_us; /* when new iterations stop (the schedule's length) */
	int64_t sleep_us;
	int64_t timeout_us;
	int64_t connect_timeout_us;
	int64_t grace_us;
	int64_t late_tolerance_us; /* an iteration starting later than this is "late" */
	uint64_t seed;
};

enum stop_level { STOP_NONE = 0, STOP_GRACEFUL = 1, STOP_HARD = 2 };

struct worker;

struct engine {
	const struct engine_cfg *cfg;
	struct registry *reg;
	int64_t start_us;      /* monotonic start of the measured run */
	int stop_level;        /* atomic enum stop_level */
	int64_t iter_claimed;  /* atomic: iterations handed out (iterations mode) */
	struct worker **workers;
	int nworkers;
	int conns_open;        /* atomic: connections open across workers */
	int conn_limit_warned; /* atomic: the out-of-fds/ports message was printed */
};

/* Per-worker counters the coordinator reads (relaxed atomics). */
struct worker_stats {
	int active_vus;      /* VUs running (closed) or busy (open) */
	int allocated_vus;
	int64_t interrupted; /* iterations cut short by a hard stop */
	int64_t backlog_max; /* deepest backlog of late starts (open) */
	bool done;
};

/* Create worker id of e->nworkers (allocates its VUs and loop). Returns 0 or -errno. */
int worker_new(struct engine *e, int id, struct worker **out);
void worker_free(struct worker *w);
/* Start the worker's thread. Returns 0 or -errno. */
int worker_start(struct worker *w);
void worker_join(struct worker *w);
/* Ask the worker to look at e->stop_level now (thread-safe). */
void worker_wake(struct worker *w);
/* Take the sinks the worker has finished (oldest first); the caller gives each back with
 * worker_return_sink after merging. Thread-safe. */
struct sink *worker_take_sinks(struct worker *w);
void worker_return_sink(struct worker *w, struct sink *s);
/* A snapshot of the worker's counters. */
void worker_get_stats(struct worker *w, struct worker_stats *st);
/* CPU time the worker thread has used, in µs (0 if unknown). */
int64_t worker_cpu_us(struct worker *w);

#endif
