/* engine.h: run configuration (scenarios, executors) and the shared state of a running test. */
#ifndef STAMPEDE_ENGINE_H
#define STAMPEDE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "engine/conn.h"
#include "engine/resolver.h"
#include "engine/sched.h"
#include "engine/segment.h"
#include "metrics/metrics.h"
#include "protocol/request.h"

enum model { MODEL_CLOSED, MODEL_OPEN };

/* k6's executors. */
enum executor {
	EX_SHARED_ITERATIONS,
	EX_PER_VU_ITERATIONS,
	EX_CONSTANT_VUS,
	EX_RAMPING_VUS,
	EX_CONSTANT_ARRIVAL_RATE,
	EX_RAMPING_ARRIVAL_RATE,
};

const char *executor_name(enum executor e);
/* Parse a k6 executor name; returns 0 or -EINVAL. */
int executor_parse(const char *s, enum executor *out);

/* One scenario: an executor and its parameters (k6 semantics). Read-only during the run,
 * except iter_claimed. */
struct scenario {
	char *name;
	enum executor executor;
	enum model model;
	int vus;            /* closed: constant/start VUs; open: preAllocatedVUs */
	int max_vus;        /* open: maxVUs */
	int64_t iterations; /* shared: total; per-VU: each; 0: unlimited */
	bool per_vu;
	struct sched sched; /* closed: VUs over time; open: iterations per second */
	bool poisson;
	int64_t start_us;    /* startTime */
	int64_t duration_us; /* no new iteration starts after start + duration */
	int64_t graceful_stop_us;
	int64_t graceful_ramp_down_us;
	int64_t sleep_us;     /* quick mode: think time */
	char *exec;           /* scripts: the function an iteration runs */
	char *env_json;       /* scripts: scenario env (JSON object) or NULL */
	int64_t iter_claimed; /* atomic: shared-iterations handed out */
	bool lifecycle;       /* setup()/teardown(): not counted as iterations */
	struct tag *tags;     /* scenario tags, added to every sample of the scenario */
	int ntags;
	int64_t iter_seq; /* atomic: iterations started (stampede.scenario.iteration) */
	/* This instance's execution segment (segment.h), or NULL: the whole run. Set with
	 * scenario_segment(); the closed model's VU counts and the open model's arrivals are
	 * taken from the whole run's through it while the run goes. */
	const struct exec_segment *seg;
};

struct vu;
struct worker;

/* What an iteration does: the quick mode's static request or a script's function. */
struct vu_body {
	/* Per-VU state, created when the VU is first used. Returns 0 or -errno. */
	int (*vu_init)(struct vu *v);
	void (*vu_free)(struct vu *v);
	/* Begin an iteration; the body later calls vu_iteration_end() exactly once
	 * (possibly before start returns). */
	void (*start)(struct vu *v);
	/* The run stops at once: drop the iteration in flight (no vu_iteration_end). */
	void (*abort)(struct vu *v);
};

/* Everything a worker needs, read-only during the run. */
struct engine_cfg {
	const struct vu_body *body;
	void *body_ctx; /* the body's shared state (the compiled script) */
	/* Called in the worker thread as it exits, to release per-worker body state. */
	void (*body_worker_free)(struct worker *w);
	struct request req;   /* quick mode: the static request */
	struct target target; /* quick mode: its origin */
	void *tls_ctx;        /* SSL_CTX *, shared */
	bool verify;
	int threads;
	struct scenario *scen;
	int nscen;
	int64_t timeout_us;
	int64_t connect_timeout_us;
	int64_t late_tolerance_us; /* an iteration starting later than this is "late" */
	/* Open model: arrivals are started in batches, one wake-up per window (--arrival-window):
	 * an arrival starts at most this much before its intended time, never later because of
	 * it. 0: one wake-up per arrival. A wake-up costs ~9 µs of CPU on a VM, more than a
	 * request does (bench/README.md). */
	int64_t arrival_window_us;
	uint64_t seed;
	/* DNS (k6's dns option, our --dns-server): each worker's resolver is made from it;
	 * resolver_opts_init() gives k6's defaults (a zeroed struct would not cache). */
	struct resolver_opts dns;
	/* The largest response body accepted (maxResponseBodySize, --max-response-body-size),
	 * in bytes; a larger one ends its request with ERR_BODY_TOO_LARGE. 0: the default,
	 * CALL_BODY_MAX_DEFAULT. */
	int64_t body_max;
	/* --http-debug (k6's httpDebug): 0 off, 1 requests and responses without bodies,
	 * 2 ("full") with bodies; printed on stderr. */
	int http_debug;
	/* HTTP/2 (--http2, --http2-prior-knowledge; conn.h's netctx.h2) and --streams: the
	 * most streams per HTTP/2 connection (0: 100); in quick mode, also how many VUs share
	 * one connection (VU i uses the pool of VU i - i mod max_streams of its scenario). */
	enum h2_mode h2;
	int max_streams;
	bool h2_warn; /* HTTP/2 was asked for (a flag): say when a server does not choose it */
	/* --io: the event loops' I/O backend (loop.h); LOOP_IO_AUTO (0) picks io_uring when the
	 * kernel allows it, else epoll. */
	enum loop_backend io;
};

/* The longest a scenario may run: its start, duration and graceful stop. */
int64_t scenario_end_us(const struct scenario *s);
/* The most VUs a scenario may use at once (this instance's share of them). */
int scenario_max_vus(const struct scenario *s);
/* Give s the execution segment seg (kept, not copied; NULL or whole: the whole run): the
 * preallocated and maximum VUs of the open model become seg's share of them (segment.h);
 * a shared-iterations scenario's iteration k belongs to VU k mod VUs, so seg runs those of
 * its VUs (none without a VU: nothing is lost); a per-VU-iterations scenario keeps each
 * VU's count. Lifecycle scenarios (setup, teardown) are not segmented. */
void scenario_segment(struct scenario *s, const struct exec_segment *seg);
void scenario_free(struct scenario *s);

enum stop_level { STOP_NONE = 0, STOP_GRACEFUL = 1, STOP_HARD = 2 };

struct engine {
	const struct engine_cfg *cfg;
	int abort_requested; /* atomic: a script called abort() (exit 108) */
	char abort_reason[256];
	struct registry *reg;
	int64_t start_us; /* monotonic start of the measured run */
	int stop_level;   /* atomic enum stop_level */
	/* atomic: when a graceful stop of the whole run (a first signal) was first seen by a
	 * worker or a script hook, monotonic µs; 0 until then. See engine_graceful_at(). */
	int64_t graceful_at_us;
	struct worker **workers;
	int nworkers;
	int conns_open;        /* atomic: connections open across workers */
	int conn_limit_warned; /* atomic: the out-of-fds/ports message was printed */
	int h2_warned;         /* atomic: "did not choose HTTP/2" was printed */
	int vu_ids;            /* atomic: VU ids handed out (k6's __VU starts at 1) */
};

/* When the run's graceful stop began: the first caller's now (monotonic µs) is kept, so
 * gracefulStop is counted from when the stop was first seen, however late a busy thread
 * looks at it. */
static inline int64_t engine_graceful_at(struct engine *e, int64_t now)
{
	int64_t zero = 0;
	if (__atomic_compare_exchange_n(&e->graceful_at_us, &zero, now, false, __ATOMIC_ACQ_REL,
	                                __ATOMIC_ACQUIRE))
		return now;
	return zero;
}

/* Raise the run's stop level to level (never lower it) and wake every worker to see it.
 * Thread-safe; the one way anything stops a run. */
void engine_stop(struct engine *e, int level);
/* Abort the run (k6's exec.test.abort(), exit 108): the first reason is kept, then a hard
 * stop. Thread-safe (scripts call it from workers). */
void engine_abort(struct engine *e, const char *reason);

/* Per-worker counters the coordinator reads (relaxed atomics). */
struct worker_stats {
	int active_vus; /* VUs running (closed) or busy (open) */
	int allocated_vus;
	int64_t interrupted; /* iterations cut short by a hard stop */
	int64_t backlog_max; /* deepest backlog of late starts (open) */
	bool done;
};

/* A caller's memo of the series of its last recorded call: valid while the caller's tags
 * (method, name, extra) are unchanged; the caller clears `valid` when they change. */
struct http_memo {
	bool valid;
	int status;
	int err;
	int judge;
	int proto; /* enum call_proto */
	void *set;
};

/* A virtual user. Bodies keep their own state in body_state. */
struct vu {
	struct worker *w;
	struct scen_rt *s;
	int idx;   /* index within its scenario on this worker */
	int id;    /* global VU id, from 1 */
	int state; /* private to the worker */
	struct connpool pool;
	struct loop_timer timer; /* think time, deferred start, body timers */
	int64_t intended;        /* intended start of the iteration (open model), 0 if none */
	int64_t t_iter;          /* actual start of the iteration */
	int64_t iterations;      /* iterations this VU completed in its scenario */
	int64_t surplus_since;   /* when a ramp-down made this busy VU surplus; 0 if not */
	int64_t scen_iteration;  /* the scenario's iteration number this VU is running */
	bool initialised;
	bool init_failed; /* its body's vu_init failed: it never runs an iteration */
	void *body_state;
	struct vu *next_idle;
};

/* Create worker id of e->nworkers (allocates its loop). Returns 0 or -errno. */
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

/* --- for iteration bodies (worker thread only) ----------------------------------- */

/* The iteration of v ended (failed: an error ended it early). */
void vu_iteration_end(struct vu *v, bool failed);
/* The same, when the caller has just read the clock: t_end is now_us() (µs) as of the
 * iteration's last event (quick mode: the read that completed its response). A next
 * iteration that starts at once starts at t_end. */
void vu_iteration_end_at(struct vu *v, bool failed, int64_t t_end);
struct netctx *worker_net(struct worker *w);
/* The connection pool v's requests go through: its own, or with n > 1 the one it shares
 * with the n - 1 VUs next to it (VU i of a scenario on a worker uses VU i - i mod n's). */
struct connpool *vu_shared_pool(struct vu *v, int n);
/* Per-worker state of the iteration body (e.g. its Lua state), NULL until set. */
void *worker_body_state(struct worker *w);
void worker_set_body_state(struct worker *w, void *state);
struct loop *worker_loop(struct worker *w);
const struct engine_cfg *worker_cfg(struct worker *w);
struct engine *worker_engine(struct worker *w);
int worker_id(struct worker *w);
/* The sink recording goes into now (it changes every second: do not keep it). */
struct sink *worker_sink(struct worker *w);
/* The series id for metric + tags, through a per-worker cache (lock-free when warm).
 * Never fails: past the registry's series cap it is the metric's overflow series
 * (metrics/metrics.h, "Caps"), and the cache stays bounded. */
int worker_series(struct worker *w, int metric, const struct tag *tags, int ntags);
/* Record the built-in HTTP metrics of a finished call with the given tags (method, name,
 * group, user tags...; status, error_code, expected_response and scenario are added).
 * c->judge says whether the response was expected: http_req_failed gets the reverse, and
 * with JUDGE_NONE neither the tag nor http_req_failed is emitted (k6). An interrupted call
 * (ERR_INTERRUPTED) counts in http_reqs and data only. */
void worker_record_http(struct worker *w, struct vu *v, const struct http_call *c,
                        const char *method, const char *name, const struct tag *extra, int nextra,
                        struct http_memo *memo);
/* The scenario of a VU and its index on this worker. */
const struct scenario *vu_scenario(const struct vu *v);
/* True once the VU's scenario stops starting iterations (graceful stop under way). */
bool vu_stopping(const struct vu *v);

#endif
