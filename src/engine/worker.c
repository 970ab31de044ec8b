/* worker.c: one worker thread: its event loop, virtual users, connections and sinks. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/loop.h"
#include "engine/sock.h"
#include "protocol/http_parse.h"
#include "util/common.h"

#define RBUF_SIZE (64 * 1024)
#define CONTROL_PERIOD_US 10000
#define SERIES_CACHE 16
/* Arrivals due within this slack share one wake-up; it stays far below the lateness
 * tolerance (1 ms), so no iteration counts as late because of it. */
#define ARRIVAL_SLACK_US 200

enum vu_state { VU_OFF, VU_IDLE, VU_BUSY, VU_SLEEP, VU_PENDING };
enum req_state { RS_NONE, RS_CONNECTING, RS_HANDSHAKE, RS_SENDING, RS_WAITING };

struct vu {
	struct worker *w;
	int idx;              /* index within the worker */
	enum vu_state state;
	enum req_state rs;
	struct sock sock;
	struct loop_io io;
	struct loop_timer timer; /* connect/request deadline, think time, deferred start */
	struct http_parser parser;
	int reqs_on_conn;     /* requests completed on the current connection */
	bool retried;
	bool conn_fresh;      /* the current request opened its connection */
	size_t wpos;
	size_t bytes_sent;
	size_t bytes_recv;
	int64_t intended;     /* intended start of the iteration (open model), 0 if none */
	int64_t t_iter;       /* actual start of the iteration */
	int64_t t_req, t_conn, t_connected, t_tls, t_send, t_sent, t_first;
	int64_t conn_deadline, req_deadline;
	struct vu *next_idle;
};

/* Series ids for one (status, error) combination of the static request. */
struct series_set {
	int status;
	int err;
	int reqs, failed, duration, blocked, connecting, tls, sending, waiting, receiving,
		uncorrected, sent, recv;
};

struct worker {
	struct engine *e;
	const struct engine_cfg *cfg;
	int id;
	pthread_t th;
	bool started;
	struct loop *loop;
	int evfd;
	struct loop_io evio;
	char *rbuf;

	/* metrics */
	struct sink *cur;
	int64_t interval;
	struct loop_timer tick;
	pthread_mutex_t mu;
	struct sink *full_head, *full_tail;
	struct sink *spare;
	struct series_set cache[SERIES_CACHE];
	int ncache;
	int sid_iterations, sid_iter_duration, sid_dropped;

	/* VUs */
	struct vu *vus;
	int nvus;      /* capacity (most VUs this worker may run) */
	int target;    /* closed: VUs that should run now */
	int running;   /* closed: VUs started and not stopped; open: busy VUs */
	int busy;      /* VUs with a request in flight or about to start one */
	int allocated; /* VUs initialised */
	struct vu *idle;
	int in_start;  /* depth guard: defer iterations started from a finishing one */

	/* open model */
	struct loop_timer arrival;
	int64_t arrival_k;
	double arrival_x;
	bool arrivals_done;
	uint64_t rng;
	int64_t *backlog;
	int bl_head, bl_len, bl_cap;

	/* life cycle */
	struct loop_timer control;
	struct loop_timer end_timer;
	struct loop_timer hard_timer;
	int local_stop;
	bool exit_loop;
	struct worker_stats stats; /* written with atomics */
	clockid_t cpu_clock;
	bool have_cpu_clock;
};

static void vu_start_iteration(struct vu *v, int64_t intended);
static void vu_begin_request(struct vu *v);
static void vu_finish(struct vu *v, enum err_kind err);
static void worker_check_done(struct worker *w);
static void worker_stop(struct worker *w, int level);

/* --- small helpers ---------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rng_exp(uint64_t *s)
{
	double u = ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
	return -log(u);
}

static void stat_store(int *p, int v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static int series(struct worker *w, int metric, struct tag *tags, int ntags)
{
	int id = registry_series(w->e->reg, metric, tags, ntags);
	if (id < 0)
		id = registry_series(w->e->reg, metric, tags, 0);
	return id;
}

static struct series_set *series_for(struct worker *w, int status, enum err_kind err)
{
	for (int i = 0; i < w->ncache; i++) {
		if (w->cache[i].status == status && w->cache[i].err == (int)err) {
			if (i > 0) { /* move to front */
				struct series_set t = w->cache[i];
				memmove(&w->cache[1], &w->cache[0], sizeof(t) * (size_t)i);
				w->cache[0] = t;
			}
			return &w->cache[0];
		}
	}
	/* A new combination: intern its series (takes the registry lock; rare). */
	char st[16], code[16];
	snprintf(st, sizeof(st), "%d", status);
	snprintf(code, sizeof(code), "%d", err_kind_code(err));
	struct tag tags[] = {
		{ "method", w->cfg->req.method },
		{ "name", w->cfg->req.name },
		{ "status", st },
		{ "expected_response", (status >= 200 && status < 400 && !err) ? "true" : "false" },
		{ "scenario", "default" },
		{ "error_code", err ? code : NULL },
	};
	int n = (int)ARRAY_SIZE(tags);
	struct tag plain[] = { { "scenario", "default" } };
	struct series_set s = {
		.status = status,
		.err = (int)err,
		.reqs = series(w, M_HTTP_REQS, tags, n),
		.failed = series(w, M_HTTP_REQ_FAILED, tags, n),
		.duration = series(w, M_HTTP_REQ_DURATION, tags, n),
		.blocked = series(w, M_HTTP_REQ_BLOCKED, tags, n),
		.connecting = series(w, M_HTTP_REQ_CONNECTING, tags, n),
		.tls = series(w, M_HTTP_REQ_TLS_HANDSHAKING, tags, n),
		.sending = series(w, M_HTTP_REQ_SENDING, tags, n),
		.waiting = series(w, M_HTTP_REQ_WAITING, tags, n),
		.receiving = series(w, M_HTTP_REQ_RECEIVING, tags, n),
		.uncorrected = series(w, M_HTTP_REQ_DURATION_UNCORRECTED, tags, n),
		.sent = series(w, M_DATA_SENT, plain, 1),
		.recv = series(w, M_DATA_RECEIVED, plain, 1),
	};
	if (w->ncache < SERIES_CACHE)
		w->ncache++;
	memmove(&w->cache[1], &w->cache[0], sizeof(s) * (size_t)(w->ncache - 1));
	w->cache[0] = s;
	return &w->cache[0];
}

/* --- sinks ------------------------------------------------------------------------ */

static void publish_sink(struct worker *w, bool final)
{
	struct sink *s = w->cur;
	s->interval = w->interval;
	s->final = final;
	s->next = NULL;
	pthread_mutex_lock(&w->mu);
	if (w->full_tail)
		w->full_tail->next = s;
	else
		w->full_head = s;
	w->full_tail = s;
	struct sink *next = w->spare;
	if (next)
		w->spare = next->next;
	pthread_mutex_unlock(&w->mu);
	if (!next)
		next = sink_new();
	next->next = NULL;
	w->cur = next;
	w->interval++;
}

static void on_tick(struct loop_timer *t, void *ud)
{
	struct worker *w = ud;
	publish_sink(w, false);
	loop_timer_at(w->loop, &w->tick, w->e->start_us + (w->interval + 1) * USEC_PER_SEC);
}

struct sink *worker_take_sinks(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	struct sink *s = w->full_head;
	w->full_head = w->full_tail = NULL;
	pthread_mutex_unlock(&w->mu);
	return s;
}

void worker_return_sink(struct worker *w, struct sink *s)
{
	sink_reset(s);
	pthread_mutex_lock(&w->mu);
	s->next = w->spare;
	w->spare = s;
	pthread_mutex_unlock(&w->mu);
}

/* --- connections ------------------------------------------------------------------ */

static void vu_close_conn(struct vu *v)
{
	if (v->sock.fd >= 0) {
		sock_close(&v->sock);
		__atomic_sub_fetch(&v->w->e->conns_open, 1, __ATOMIC_RELAXED);
	}
	v->sock.ops = &sock_plain_ops;
	v->reqs_on_conn = 0;
}

static void arm_deadline(struct vu *v)
{
	int64_t when = v->req_deadline;
	if (v->rs == RS_CONNECTING || v->rs == RS_HANDSHAKE)
		when = MIN(when, v->conn_deadline);
	loop_timer_at(v->w->loop, &v->timer, when);
}

static void vu_write(struct vu *v)
{
	const struct request *req = &v->w->cfg->req;
	while (v->wpos < req->len) {
		size_t n = 0;
		enum io_res r = v->sock.ops->write(&v->sock, req->bytes + v->wpos, req->len - v->wpos, &n);
		if (r == IO_AGAIN)
			return; /* EPOLLOUT (edge) resumes */
		if (r != IO_OK) {
			enum err_kind k = r == IO_EOF ? ERR_RESET : v->sock.err;
			vu_finish(v, k);
			return;
		}
		v->wpos += n;
		v->bytes_sent += n;
	}
	v->t_sent = now_us();
	v->rs = RS_WAITING;
	http_parser_reset(&v->parser, req->head);
}

static void vu_connected(struct vu *v)
{
	v->t_connected = now_us();
	if (v->w->cfg->tls) {
		if (tls_attach(&v->sock, v->w->cfg->tls_ctx, v->w->cfg->host, v->w->cfg->verify) < 0) {
			v->sock.err = ERR_TLS;
			vu_finish(v, ERR_TLS);
			return;
		}
		v->rs = RS_HANDSHAKE;
		enum io_res r = v->sock.ops->handshake(&v->sock);
		if (r == IO_AGAIN)
			return;
		if (r != IO_OK) {
			vu_finish(v, v->sock.err ? v->sock.err : ERR_TLS);
			return;
		}
	}
	v->t_tls = now_us();
	v->t_send = v->t_tls;
	v->rs = RS_SENDING;
	arm_deadline(v);
	vu_write(v);
}

static bool vu_retry_allowed(struct vu *v)
{
	return !v->conn_fresh && !v->retried && v->parser.header_bytes == 0 &&
	       http_parser_idle(&v->parser) && v->w->local_stop < STOP_HARD;
}

static void vu_read(struct vu *v, uint32_t events)
{
	struct worker *w = v->w;
	/* A short read means the socket is drained and the next arrival raises a new edge,
	 * unless the peer's FIN (or an error) came with this event: then read to the end. */
	bool until_again = v->sock.ops == &sock_tls_ops ||
			   (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR));
	for (;;) {
		size_t n = 0;
		enum io_res r = v->sock.ops->read(&v->sock, w->rbuf, RBUF_SIZE, &n);
		if (r == IO_AGAIN)
			return;
		if (r == IO_OK) {
			if (v->bytes_recv == 0)
				v->t_first = now_us();
			v->bytes_recv += n;
			size_t used = http_parser_feed(&v->parser, w->rbuf, n);
			if (v->parser.error != HPE_OK) {
				vu_finish(v, err_from_parse(v->parser.error));
				return;
			}
			if (http_parser_done(&v->parser)) {
				if (used < n) /* bytes nobody asked for: do not reuse */
					v->parser.keep_alive = false;
				vu_finish(v, ERR_NONE);
				return;
			}
			if (n < RBUF_SIZE && !until_again)
				return;
			continue;
		}
		if (r == IO_EOF) {
			if (v->bytes_recv == 0 && vu_retry_allowed(v)) {
				v->retried = true;
				vu_close_conn(v);
				vu_begin_request(v);
				return;
			}
			enum http_perr pe = http_parser_eof(&v->parser);
			if (http_parser_done(&v->parser)) {
				v->parser.keep_alive = false;
				vu_finish(v, ERR_NONE);
			} else if (v->bytes_recv == 0) {
				vu_finish(v, ERR_EMPTY_RESPONSE);
			} else {
				vu_finish(v, err_from_parse(pe == HPE_OK ? HPE_TRUNCATED : pe));
			}
			return;
		}
		if (v->bytes_recv == 0 && vu_retry_allowed(v)) {
			v->retried = true;
			vu_close_conn(v);
			vu_begin_request(v);
			return;
		}
		vu_finish(v, v->sock.err ? v->sock.err : ERR_RESET);
		return;
	}
}

/* A keep-alive connection with no request on it became readable: the server closed it
 * (or sent something nobody asked for). Either way it cannot be reused. */
static void vu_idle_conn_event(struct vu *v)
{
	size_t n;
	enum io_res r = v->sock.ops->read(&v->sock, v->w->rbuf, RBUF_SIZE, &n);
	if (r != IO_AGAIN)
		vu_close_conn(v);
}

static void vu_on_io(void *ud, uint32_t events)
{
	struct vu *v = ud;
	switch (v->rs) {
	case RS_NONE:
		if (v->sock.fd >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
			vu_idle_conn_event(v);
		break;
	case RS_CONNECTING:
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			break;
		if (sock_finish_connect(&v->sock) != IO_OK) {
			vu_finish(v, v->sock.err);
			break;
		}
		vu_connected(v);
		break;
	case RS_HANDSHAKE: {
		enum io_res r = v->sock.ops->handshake(&v->sock);
		if (r == IO_AGAIN)
			break;
		if (r != IO_OK) {
			vu_finish(v, v->sock.err ? v->sock.err : ERR_TLS);
			break;
		}
		v->t_tls = now_us();
		v->t_send = v->t_tls;
		v->rs = RS_SENDING;
		arm_deadline(v);
		vu_write(v);
		break;
	}
	case RS_SENDING:
		vu_write(v);
		break;
	case RS_WAITING:
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			vu_read(v, events);
		break;
	}
}

/* Say once, clearly, when the machine runs out of file descriptors or ports. */
static void warn_conn_limit(struct worker *w, int err)
{
	const char *what;
	struct rlimit rl = { 0 };
	char limit[96] = "";

	switch (err) {
	case EMFILE:
		getrlimit(RLIMIT_NOFILE, &rl);
		snprintf(limit, sizeof(limit), " (RLIMIT_NOFILE is %llu; raise it with ulimit -n)",
			 (unsigned long long)rl.rlim_cur);
		what = "the process is out of file descriptors";
		break;
	case ENFILE:
		what = "the system is out of file descriptors (fs.file-max)";
		break;
	case EADDRNOTAVAIL:
		what = "out of ephemeral ports (see net.ipv4.ip_local_port_range)";
		break;
	case ENOBUFS:
	case ENOMEM:
		what = "the kernel is out of socket memory";
		break;
	default:
		return;
	}
	if (__atomic_exchange_n(&w->e->conn_limit_warned, 1, __ATOMIC_RELAXED))
		return;
	fprintf(stderr,
		"\nstampede: cannot open more connections: %s, with %d connections open%s; "
		"further attempts fail as connect_error\n",
		what, __atomic_load_n(&w->e->conns_open, __ATOMIC_RELAXED), limit);
}

/* Start (or restart, after a stale keep-alive) the VU's request. */
static void vu_begin_request(struct vu *v)
{
	struct worker *w = v->w;
	const struct engine_cfg *cfg = w->cfg;
	int64_t now = now_us();

	v->wpos = 0;
	v->bytes_recv = 0;
	v->t_first = 0;
	v->t_sent = 0;
	http_parser_reset(&v->parser, cfg->req.head);
	if (v->sock.fd >= 0) {
		v->conn_fresh = false;
		v->t_conn = v->t_connected = v->t_tls = v->t_send = now;
		v->rs = RS_SENDING;
		arm_deadline(v);
		vu_write(v);
		return;
	}
	v->conn_fresh = true;
	v->t_conn = now;
	v->conn_deadline = now + cfg->connect_timeout_us;
	v->sock.ops = &sock_plain_ops;
	v->sock.err = ERR_NONE;
	enum io_res r = sock_connect(&v->sock, (const struct sockaddr *)&cfg->addr, cfg->addrlen);
	if (v->sock.fd >= 0)
		__atomic_add_fetch(&w->e->conns_open, 1, __ATOMIC_RELAXED);
	if (r == IO_ERR) {
		warn_conn_limit(w, v->sock.sys_errno);
		v->t_connected = v->t_tls = v->t_send = now_us();
		vu_finish(v, v->sock.err);
		return;
	}
	v->io.fd = v->sock.fd;
	if (loop_add_fd(w->loop, &v->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0) {
		v->sock.sys_errno = errno;
		vu_close_conn(v);
		v->t_connected = v->t_tls = v->t_send = now_us();
		vu_finish(v, ERR_CONNECT);
		return;
	}
	if (r == IO_OK) {
		vu_connected(v);
		return;
	}
	v->rs = RS_CONNECTING;
	arm_deadline(v);
}

/* --- recording -------------------------------------------------------------------- */

static void record_request(struct vu *v, enum err_kind err, int64_t t_end)
{
	struct worker *w = v->w;
	struct sink *s = w->cur;
	int status = err ? 0 : v->parser.status;
	struct series_set *ss = series_for(w, status, err);

	int64_t t_send = v->t_send ? v->t_send : t_end;
	int64_t t_sent = v->t_sent ? v->t_sent : t_end;
	int64_t t_first = v->t_first ? v->t_first : t_end;
	int64_t sending = MAX(0, t_sent - t_send);
	int64_t waiting = MAX(0, MIN(t_first, t_end) - t_sent);
	int64_t receiving = MAX(0, t_end - t_first);
	if (!v->t_sent) /* never fully sent: the whole time was spent sending */
		sending = MAX(0, t_end - t_send), waiting = receiving = 0;
	int64_t duration = sending + waiting + receiving;
	int64_t late = 0;
	if (v->intended && v->t_iter - v->intended > w->cfg->late_tolerance_us)
		late = v->t_iter - v->intended;

	sink_add(s, ss->reqs, 1);
	sink_rate(s, ss->failed, err != ERR_NONE || status >= 400 || status < 200);
	sink_trend(s, ss->duration, duration + late);
	if (w->cfg->model == MODEL_OPEN)
		sink_trend(s, ss->uncorrected, duration);
	sink_trend(s, ss->blocked, MAX(0, v->t_conn - v->t_req));
	sink_trend(s, ss->connecting, v->conn_fresh ? MAX(0, v->t_connected - v->t_conn) : 0);
	sink_trend(s, ss->tls,
		   v->conn_fresh && w->cfg->tls ? MAX(0, v->t_tls - v->t_connected) : 0);
	sink_trend(s, ss->sending, sending);
	sink_trend(s, ss->waiting, waiting);
	sink_trend(s, ss->receiving, receiving);
	sink_add(s, ss->sent, (double)v->bytes_sent);
	sink_add(s, ss->recv, (double)v->bytes_recv);
}

static void vu_finish(struct vu *v, enum err_kind err)
{
	struct worker *w = v->w;
	int64_t t_end = now_us();

	loop_timer_cancel(w->loop, &v->timer);
	record_request(v, err, t_end);
	if (err || !v->parser.keep_alive)
		vu_close_conn(v);
	else
		v->reqs_on_conn++;
	v->rs = RS_NONE;

	/* The iteration (one request in quick mode) ends here. */
	int64_t from = v->t_iter;
	if (v->intended && v->t_iter - v->intended > w->cfg->late_tolerance_us)
		from = v->intended;
	sink_add(w->cur, w->sid_iterations, 1);
	sink_trend(w->cur, w->sid_iter_duration, MAX(0, t_end - from));

	w->busy--;
	if (w->cfg->model == MODEL_OPEN)
		w->running--;

	if (w->local_stop >= STOP_GRACEFUL) {
		if (w->cfg->model == MODEL_CLOSED) {
			v->state = VU_OFF;
			w->running--;
		} else {
			v->state = VU_IDLE;
		}
		worker_check_done(w);
		return;
	}
	if (w->cfg->model == MODEL_CLOSED) {
		if (v->idx >= w->target) {
			v->state = VU_OFF;
			w->running--;
			return;
		}
		if (w->cfg->sleep_us > 0 || w->in_start) {
			/* Think time, or a deferred start when this iteration failed at once. */
			v->state = VU_SLEEP;
			loop_timer_at(w->loop, &v->timer,
				      w->cfg->sleep_us > 0 ? t_end + w->cfg->sleep_us
							   : loop_now(w->loop) + 1);
			return;
		}
		vu_start_iteration(v, 0);
		return;
	}
	/* Open model: take the oldest late start, or go idle. */
	if (w->bl_len > 0) {
		int64_t intended = w->backlog[w->bl_head];
		w->bl_head = (w->bl_head + 1) % w->bl_cap;
		w->bl_len--;
		if (w->in_start) {
			v->state = VU_PENDING;
			v->intended = intended;
			loop_timer_at(w->loop, &v->timer, loop_now(w->loop) + 1);
			return;
		}
		vu_start_iteration(v, intended);
		return;
	}
	v->state = VU_IDLE;
	v->next_idle = w->idle;
	w->idle = v;
}

/* Claim one iteration in iterations mode; false when all have been handed out. */
static bool claim_iteration(struct worker *w)
{
	int64_t limit = w->cfg->iterations;
	if (!limit)
		return true;
	return __atomic_fetch_add(&w->e->iter_claimed, 1, __ATOMIC_RELAXED) < limit;
}

static void vu_start_iteration(struct vu *v, int64_t intended)
{
	struct worker *w = v->w;
	if (!claim_iteration(w)) {
		if (w->cfg->model == MODEL_CLOSED) {
			v->state = VU_OFF;
			w->running--;
		} else {
			v->state = VU_IDLE;
			v->next_idle = w->idle;
			w->idle = v;
		}
		worker_stop(w, STOP_GRACEFUL);
		worker_check_done(w);
		return;
	}
	v->state = VU_BUSY;
	v->intended = intended;
	v->retried = false;
	v->bytes_sent = 0;
	w->busy++;
	if (w->cfg->model == MODEL_OPEN)
		w->running++;
	w->in_start++;
	v->t_iter = v->t_req = now_us();
	v->req_deadline = v->t_req + w->cfg->timeout_us;
	vu_begin_request(v);
	w->in_start--;
}

static void vu_on_timer(struct loop_timer *t, void *ud)
{
	struct vu *v = ud;
	struct worker *w = v->w;

	switch (v->state) {
	case VU_SLEEP:
		if (w->local_stop >= STOP_GRACEFUL || v->idx >= w->target) {
			v->state = VU_OFF;
			w->running--;
			worker_check_done(w);
			return;
		}
		vu_start_iteration(v, 0);
		return;
	case VU_PENDING:
		vu_start_iteration(v, v->intended);
		return;
	case VU_BUSY:
		if (v->rs == RS_CONNECTING || v->rs == RS_HANDSHAKE) {
			vu_finish(v, loop_now(w->loop) >= v->req_deadline ? ERR_REQUEST_TIMEOUT
									  : ERR_CONNECT_TIMEOUT);
		} else {
			vu_finish(v, ERR_REQUEST_TIMEOUT);
		}
		return;
	default:
		return;
	}
}

/* --- VU allocation and the closed model ------------------------------------------ */

static struct vu *vu_get(struct worker *w, int idx)
{
	struct vu *v = &w->vus[idx];
	if (idx >= w->allocated) {
		for (int i = w->allocated; i <= idx; i++) {
			struct vu *u = &w->vus[i];
			u->w = w;
			u->idx = i;
			u->state = VU_OFF;
			u->sock.fd = -1;
			u->sock.ops = &sock_plain_ops;
			u->io.fn = vu_on_io;
			u->io.ud = u;
			u->io.fd = -1;
			loop_timer_init(&u->timer, vu_on_timer, u);
			http_parser_init(&u->parser, NULL, u);
		}
		w->allocated = idx + 1;
		stat_store(&w->stats.allocated_vus, w->allocated);
	}
	return v;
}

static void closed_apply_target(struct worker *w)
{
	int64_t t = loop_now(w->loop) - w->e->start_us;
	int total = (int)floor(sched_value_at(&w->cfg->sched, MAX(0, t)) + 1e-9);
	int target = MIN(sched_share(total, w->id, w->cfg->threads), w->nvus);
	w->target = target;
	for (int i = 0; i < target; i++) {
		struct vu *v = vu_get(w, i);
		if (v->state == VU_OFF) {
			w->running++;
			vu_start_iteration(v, 0);
			if (w->local_stop)
				return;
		}
	}
	/* VUs above the target stop after their iteration; sleeping ones stop now. */
	for (int i = target; i < w->allocated; i++) {
		struct vu *v = &w->vus[i];
		if (v->state == VU_SLEEP) {
			loop_timer_cancel(w->loop, &v->timer);
			v->state = VU_OFF;
			w->running--;
		}
	}
}

static void on_control(struct loop_timer *t, void *ud)
{
	struct worker *w = ud;
	if (w->local_stop)
		return;
	closed_apply_target(w);
	if (!w->local_stop)
		loop_timer_at(w->loop, &w->control, loop_now(w->loop) + CONTROL_PERIOD_US);
}

/* --- the open model --------------------------------------------------------------- */

/* Intended time (absolute µs) of this worker's next arrival, or -1 after the schedule. */
static int64_t next_arrival(struct worker *w)
{
	const struct engine_cfg *cfg = w->cfg;
	double n;
	if (cfg->poisson)
		n = w->arrival_x;
	else
		n = (double)(w->arrival_k * cfg->threads + w->id);
	int64_t t = sched_time_of(&cfg->sched, n);
	if (t < 0 || t >= cfg->duration_us)
		return -1;
	return w->e->start_us + t;
}

static void advance_arrival(struct worker *w)
{
	w->arrival_k++;
	if (w->cfg->poisson)
		w->arrival_x += rng_exp(&w->rng) * w->cfg->threads;
}

static void on_arrival(struct loop_timer *t, void *ud)
{
	struct worker *w = ud;
	int64_t now = now_us();
	while (w->local_stop == STOP_NONE) {
		int64_t when = next_arrival(w);
		if (when < 0) {
			w->arrivals_done = true;
			return;
		}
		if (when > now) {
			loop_timer_at(w->loop, &w->arrival, when + ARRIVAL_SLACK_US);
			return;
		}
		advance_arrival(w);
		struct vu *v = w->idle;
		if (v) {
			w->idle = v->next_idle;
		} else if (w->allocated < w->nvus) {
			v = vu_get(w, w->allocated);
		} else if (w->bl_len < w->bl_cap) {
			w->backlog[(w->bl_head + w->bl_len) % w->bl_cap] = when;
			w->bl_len++;
			if (w->bl_len > w->stats.backlog_max)
				__atomic_store_n(&w->stats.backlog_max, (int64_t)w->bl_len,
						 __ATOMIC_RELAXED);
			continue;
		} else {
			sink_add(w->cur, w->sid_dropped, 1);
			continue;
		}
		vu_start_iteration(v, when);
	}
}

/* --- stopping --------------------------------------------------------------------- */

static void worker_check_done(struct worker *w)
{
	if (w->local_stop >= STOP_GRACEFUL && w->busy == 0)
		w->exit_loop = true;
}

static void hard_stop(struct worker *w)
{
	for (int i = 0; i < w->allocated; i++) {
		struct vu *v = &w->vus[i];
		if (v->state == VU_BUSY) {
			/* A request the server has (partly) received is counted, so that our
			 * count still matches the server's log. */
			if ((v->rs == RS_SENDING && v->wpos > 0) || v->rs == RS_WAITING)
				record_request(v, ERR_INTERRUPTED, now_us());
			__atomic_add_fetch(&w->stats.interrupted, 1, __ATOMIC_RELAXED);
			w->busy--;
		}
		loop_timer_cancel(w->loop, &v->timer);
		vu_close_conn(v);
		v->rs = RS_NONE;
		v->state = VU_OFF;
	}
	w->running = 0;
	w->busy = 0;
	w->exit_loop = true;
}

static void worker_stop(struct worker *w, int level)
{
	if (level <= w->local_stop)
		return;
	w->local_stop = level;
	loop_timer_cancel(w->loop, &w->arrival);
	loop_timer_cancel(w->loop, &w->control);
	if (level >= STOP_HARD) {
		hard_stop(w);
		return;
	}
	/* Graceful: no new iterations; sleeping and pending VUs stop now. */
	for (int i = 0; i < w->allocated; i++) {
		struct vu *v = &w->vus[i];
		if (v->state == VU_SLEEP || v->state == VU_PENDING) {
			loop_timer_cancel(w->loop, &v->timer);
			v->state = VU_OFF;
			if (w->cfg->model == MODEL_CLOSED)
				w->running--;
		}
	}
	w->bl_len = 0;
	if (w->cfg->grace_us <= 0) {
		if (w->busy > 0)
			hard_stop(w);
	} else {
		loop_timer_at(w->loop, &w->hard_timer, loop_now(w->loop) + w->cfg->grace_us);
	}
	worker_check_done(w);
}

static void on_end(struct loop_timer *t, void *ud)
{
	worker_stop(ud, STOP_GRACEFUL);
}

static void on_hard(struct loop_timer *t, void *ud)
{
	worker_stop(ud, STOP_HARD);
}

static void on_wake(void *ud, uint32_t events)
{
	struct worker *w = ud;
	uint64_t val;
	if (read(w->evfd, &val, sizeof(val)) < 0 && errno != EAGAIN)
		return;
	int level = __atomic_load_n(&w->e->stop_level, __ATOMIC_ACQUIRE);
	if (level > w->local_stop)
		worker_stop(w, level);
}

void worker_wake(struct worker *w)
{
	uint64_t one = 1;
	ssize_t r = write(w->evfd, &one, sizeof(one));
	(void)r;
}

/* --- thread ----------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct engine_cfg *cfg = w->cfg;

	w->have_cpu_clock = pthread_getcpuclockid(pthread_self(), &w->cpu_clock) == 0;
	/* Wait for the common start. */
	while (now_us() < w->e->start_us) {
		int64_t d = w->e->start_us - now_us();
		struct timespec ts = { d / USEC_PER_SEC, (d % USEC_PER_SEC) * 1000 };
		if (d > 0)
			nanosleep(&ts, NULL);
	}
	loop_update_time(w->loop);
	loop_timer_at(w->loop, &w->tick, w->e->start_us + USEC_PER_SEC);
	loop_timer_at(w->loop, &w->end_timer, w->e->start_us + cfg->duration_us);
	if (__atomic_load_n(&w->e->stop_level, __ATOMIC_ACQUIRE))
		worker_stop(w, __atomic_load_n(&w->e->stop_level, __ATOMIC_ACQUIRE));
	if (!w->local_stop) {
		if (cfg->model == MODEL_CLOSED) {
			if (w->nvus > 0) /* all VUs exist from the start, as k6's vus_max */
				vu_get(w, w->nvus - 1);
			closed_apply_target(w);
			if (cfg->sched.nstages > 1 || cfg->sched.start != cfg->sched.stages[0].target)
				loop_timer_at(w->loop, &w->control, loop_now(w->loop) + CONTROL_PERIOD_US);
		} else {
			/* Preallocate VUs; they are cheap until they connect. */
			int pre = MIN(sched_share(cfg->vus, w->id, cfg->threads), w->nvus);
			for (int i = pre - 1; i >= 0; i--) {
				struct vu *v = vu_get(w, i);
				v->state = VU_IDLE;
				v->next_idle = w->idle;
				w->idle = v;
			}
			sink_add(w->cur, w->sid_dropped, 0); /* reported even when none drop */
			on_arrival(&w->arrival, w);
		}
	}
	while (!w->exit_loop) {
		stat_store(&w->stats.active_vus, w->running);
		if (loop_run_once(w->loop, 100000) < 0)
			break;
		if (cfg->model == MODEL_CLOSED && w->local_stop == STOP_NONE && w->running == 0 &&
		    cfg->sched.nstages == 1 && cfg->sched.start == cfg->sched.stages[0].target &&
		    w->target == 0)
			worker_stop(w, STOP_GRACEFUL); /* this worker has no VU share */
	}
	stat_store(&w->stats.active_vus, 0);
	for (int i = 0; i < w->allocated; i++)
		vu_close_conn(&w->vus[i]);
	publish_sink(w, true);
	__atomic_store_n(&w->stats.done, true, __ATOMIC_RELEASE);
	return NULL;
}

int worker_new(struct engine *e, int id, struct worker **out)
{
	const struct engine_cfg *cfg = e->cfg;
	struct worker *w = xcalloc(1, sizeof(*w));
	int rc;

	w->e = e;
	w->cfg = cfg;
	w->id = id;
	pthread_mutex_init(&w->mu, NULL);
	rc = loop_new(&w->loop);
	if (rc < 0)
		goto out_free;
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->evfd < 0) {
		rc = -errno;
		goto out_loop;
	}
	w->evio = (struct loop_io){ .fd = w->evfd, .fn = on_wake, .ud = w };
	rc = loop_add_fd(w->loop, &w->evio, EPOLLIN);
	if (rc < 0)
		goto out_evfd;
	w->rbuf = xmalloc(RBUF_SIZE);
	w->cur = sink_new();
	int most = cfg->model == MODEL_OPEN ? cfg->max_vus : (int)ceil(sched_max(&cfg->sched));
	w->nvus = sched_share(most, id, cfg->threads);
	w->vus = xcalloc((size_t)MAX(w->nvus, 1), sizeof(*w->vus));
	if (cfg->model == MODEL_OPEN) {
		w->bl_cap = MAX(w->nvus, 1);
		w->backlog = xcalloc((size_t)w->bl_cap, sizeof(*w->backlog));
		w->rng = cfg->seed ^ ((uint64_t)(id + 1) * 0x9e3779b97f4a7c15ULL);
		w->arrival_x = cfg->poisson ? rng_exp(&w->rng) * cfg->threads : 0;
	}
	loop_timer_init(&w->tick, on_tick, w);
	loop_timer_init(&w->control, on_control, w);
	loop_timer_init(&w->arrival, on_arrival, w);
	loop_timer_init(&w->end_timer, on_end, w);
	loop_timer_init(&w->hard_timer, on_hard, w);

	struct tag sc[] = { { "scenario", "default" } };
	w->sid_iterations = series(w, M_ITERATIONS, sc, 1);
	w->sid_iter_duration = series(w, M_ITERATION_DURATION, sc, 1);
	w->sid_dropped = series(w, M_DROPPED_ITERATIONS, sc, 1);
	*out = w;
	return 0;

out_evfd:
	close(w->evfd);
out_loop:
	loop_free(w->loop);
out_free:
	pthread_mutex_destroy(&w->mu);
	free(w);
	return rc;
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->allocated; i++)
		vu_close_conn(&w->vus[i]);
	sink_free(w->cur);
	for (struct sink *s = w->full_head, *n; s; s = n) {
		n = s->next;
		sink_free(s);
	}
	for (struct sink *s = w->spare, *n; s; s = n) {
		n = s->next;
		sink_free(s);
	}
	close(w->evfd);
	loop_free(w->loop);
	free(w->rbuf);
	free(w->vus);
	free(w->backlog);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

int worker_start(struct worker *w)
{
	int rc = pthread_create(&w->th, NULL, worker_main, w);
	if (rc)
		return -rc;
	w->started = true;
	return 0;
}

void worker_join(struct worker *w)
{
	if (w->started)
		pthread_join(w->th, NULL);
	w->started = false;
}

void worker_get_stats(struct worker *w, struct worker_stats *st)
{
	st->active_vus = __atomic_load_n(&w->stats.active_vus, __ATOMIC_RELAXED);
	st->allocated_vus = __atomic_load_n(&w->stats.allocated_vus, __ATOMIC_RELAXED);
	st->interrupted = __atomic_load_n(&w->stats.interrupted, __ATOMIC_RELAXED);
	st->backlog_max = __atomic_load_n(&w->stats.backlog_max, __ATOMIC_RELAXED);
	st->done = __atomic_load_n(&w->stats.done, __ATOMIC_ACQUIRE);
}

int64_t worker_cpu_us(struct worker *w)
{
	struct timespec ts;
	if (!w->have_cpu_clock || clock_gettime(w->cpu_clock, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}
