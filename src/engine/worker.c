/* worker.c: one worker thread: its event loop, scenarios (executors), VUs and metric sinks. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/loop.h"
#include "util/common.h"

#define RBUF_SIZE         (64 * 1024)
#define CONTROL_PERIOD_US 10000

enum vu_state { VU_OFF, VU_IDLE, VU_BUSY, VU_SLEEP, VU_PENDING };

/* Series ids of the built-in HTTP metrics for one tag set. */
struct series_set {
	int reqs, failed, duration, blocked, connecting, tls, sending, waiting, receiving,
	    uncorrected, sent, recv;
};

/* A tag set's series, cached per worker so that recording takes no lock: "m<metric>..."
 * keys give a series id (worker_series), "http..." keys the HTTP metrics' set. */
struct scache_entry {
	char *key;
	uint64_t hash;
	int sid;                /* worker_series */
	struct series_set *set; /* worker_record_http */
};

/* The most tag sets a worker caches. Tag sets that land in an overflow series past the
 * registry's cap are never cached (their overflow tag set is), so the cache stops
 * growing with the registry; this bound holds whatever happens. */
#define SCACHE_MAX 8192

/* A scenario as this worker runs it: its share of VUs and arrivals. */
struct scen_rt {
	struct worker *w;
	const struct scenario *cfg;
	struct vu *vus;
	int nvus;      /* capacity: most VUs this worker may run for the scenario */
	int allocated; /* VUs initialised */
	int target;    /* closed: VUs that should run now */
	int running;   /* closed: VUs started and not stopped; open: busy VUs */
	int busy;      /* VUs inside an iteration */
	struct vu *idle;
	int in_start; /* depth guard: defer iterations started from a finishing one */
	int64_t t0;   /* absolute start */
	/* open model */
	struct loop_timer arrival;
	int64_t arrival_k;
	double arrival_x;
	/* the workers that take the scenario's arrivals: those with a share of its VUs (at
	 * least worker 0, which drops them when the scenario has none) */
	int arrival_workers;
	uint64_t rng;
	int64_t *backlog;
	int bl_head, bl_len, bl_cap;
	bool arrivals_closed; /* stopped: arrivals after this are not scheduled */
	/* life cycle */
	struct loop_timer start_timer, control, end_timer, hard_timer, ramp_timer;
	int local_stop;
	bool started;
	bool done;
	int sid_iterations, sid_iter_duration, sid_dropped;
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
	struct netctx net;

	/* metrics */
	struct sink *cur;
	int64_t interval;
	struct loop_timer tick;
	pthread_mutex_t mu;
	struct sink *full_head, *full_tail;
	struct sink *spare;
	struct scache_entry *cache;
	int cache_cap, cache_len;
	struct buf key;            /* the tag-set key being looked up (reused) */
	struct buf debug;          /* --http-debug: the block being written (reused) */
	struct series_set scratch; /* a set that the full cache could not keep */

	struct scen_rt *scen;
	int nscen;
	void *body_state;
	int global_stop;
	bool exit_loop;
	int active;   /* VUs running (closed) or busy (open), over all scenarios */
	int vus_peak; /* the most active at once in the current interval (the vus gauge) */
	struct worker_stats stats; /* written with atomics */
	clockid_t cpu_clock;
	bool have_cpu_clock;
	int64_t cpu_final_us; /* atomic: the thread's CPU time when it finished */
};

static void vu_start_iteration(struct vu *v, int64_t intended, int64_t now);
static void scen_check_done(struct scen_rt *s);
static void scen_stop(struct scen_rt *s, int level, int64_t since);

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

static uint64_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

/* --- the series cache: tag-set key -> series ids ----------------------------------- */

static struct scache_entry *cache_lookup(struct worker *w, const char *key, uint64_t h)
{
	if (!w->cache_cap)
		return NULL;
	size_t mask = (size_t)w->cache_cap - 1;
	for (size_t i = h & mask; w->cache[i].key; i = (i + 1) & mask) {
		struct scache_entry *e = &w->cache[i];
		if (e->hash == h && strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

/* Add key (known to be absent). Returns its entry (sid -1, no set), or NULL when the
 * cache holds SCACHE_MAX tag sets already. */
static struct scache_entry *cache_insert(struct worker *w, const char *key, size_t len, uint64_t h)
{
	if (w->cache_len >= SCACHE_MAX)
		return NULL;
	if ((w->cache_len + 1) * 2 > w->cache_cap) {
		int cap = w->cache_cap ? w->cache_cap * 2 : 64;
		struct scache_entry *n = xcalloc((size_t)cap, sizeof(*n));
		for (int i = 0; i < w->cache_cap; i++) {
			struct scache_entry *o = &w->cache[i];
			if (!o->key)
				continue;
			size_t j = o->hash & (size_t)(cap - 1);
			while (n[j].key)
				j = (j + 1) & (size_t)(cap - 1);
			n[j] = *o;
		}
		free(w->cache);
		w->cache = n;
		w->cache_cap = cap;
	}
	size_t mask = (size_t)w->cache_cap - 1;
	size_t i = h & mask;
	while (w->cache[i].key)
		i = (i + 1) & mask;
	struct scache_entry *e = &w->cache[i];
	*e = (struct scache_entry){ xstrndup(key, len), h, -1, NULL };
	w->cache_len++;
	return e;
}

/* Append to dst[0..n) (room for max) the tags of src[0..nsrc) whose names are not in
 * dst yet: the tags already there win (a request's own over its scenario's, the scenario
 * tag over a tag that would rename it). Returns the new count. */
static int add_tags(struct tag *dst, int n, int max, const struct tag *src, int nsrc)
{
	int base = n;
	for (int i = 0; i < nsrc && n < max; i++) {
		bool dup = false;
		for (int j = 0; j < base && !dup; j++)
			dup = strcmp(dst[j].key, src[i].key) == 0;
		if (!dup)
			dst[n++] = src[i];
	}
	return n;
}

/* The cache key of a tag set into w->key: prefix, then each tag with a value. Returns
 * its hash. */
static uint64_t tags_key(struct worker *w, const char *prefix, const struct tag *tags, int ntags)
{
	struct buf *k = &w->key;
	k->len = 0;
	buf_addstr(k, prefix);
	for (int i = 0; i < ntags; i++) {
		if (!tags[i].value)
			continue;
		buf_addstr(k, "\x1f");
		buf_addstr(k, tags[i].key);
		buf_addstr(k, "\x1e");
		buf_addstr(k, tags[i].value);
	}
	return hash_bytes(k->p, k->len);
}

int worker_series(struct worker *w, int metric, const struct tag *tags, int ntags)
{
	char prefix[16];
	snprintf(prefix, sizeof(prefix), "m%d", metric);
	uint64_t h = tags_key(w, prefix, tags, ntags);
	struct scache_entry *e = cache_lookup(w, w->key.p, h);
	if (e)
		return e->sid;
	int id = registry_series(w->e->reg, metric, tags, ntags);
	/* An overflow series stands for any number of tag sets: caching each would grow
	 * without bound. */
	if (!registry_series_overflow(w->e->reg, id) &&
	    (e = cache_insert(w, w->key.p, w->key.len, h)))
		e->sid = id;
	return id;
}

/* The series of the built-in HTTP metrics for tags. *stable: the set is cached and stays
 * valid for the worker's life; otherwise it is the worker's scratch set, valid until the
 * next call. Past the series cap a new tag set takes the set of its overflow tag set
 * (cached once), so a unique URL per request costs one registry look-up and no memory. */
static struct series_set *series_set_for(struct worker *w, const struct tag *tags, int n,
                                         const struct tag *plain, int np, bool *stable)
{
	struct tag over[TAG_MAX], over_plain[1];
	uint64_t h = tags_key(w, "http", tags, n);
	struct scache_entry *e = cache_lookup(w, w->key.p, h);
	*stable = true;
	if (e && e->set)
		return e->set;
	int reqs = registry_series(w->e->reg, M_HTTP_REQS, tags, n);
	if (registry_series_overflow(w->e->reg, reqs)) {
		/* the registry's overflow tag set: it keeps the tags thresholds select */
		const struct series_info *si = registry_series_info(w->e->reg, reqs);
		n = MIN(si->ntags, TAG_MAX);
		memcpy(over, si->tags, sizeof(*over) * (size_t)n);
		tags = over;
		h = tags_key(w, "http", tags, n);
		e = cache_lookup(w, w->key.p, h);
		if (e && e->set)
			return e->set;
		np = 0; /* the overflow set's data series: by scenario only */
		for (int i = 0; i < n && np < (int)ARRAY_SIZE(over_plain); i++)
			if (strcmp(tags[i].key, "scenario") == 0)
				over_plain[np++] = tags[i];
		plain = over_plain;
	}
	struct series_set *s = &w->scratch;
	s->reqs = worker_series(w, M_HTTP_REQS, tags, n);
	s->failed = worker_series(w, M_HTTP_REQ_FAILED, tags, n);
	s->duration = worker_series(w, M_HTTP_REQ_DURATION, tags, n);
	s->blocked = worker_series(w, M_HTTP_REQ_BLOCKED, tags, n);
	s->connecting = worker_series(w, M_HTTP_REQ_CONNECTING, tags, n);
	s->tls = worker_series(w, M_HTTP_REQ_TLS_HANDSHAKING, tags, n);
	s->sending = worker_series(w, M_HTTP_REQ_SENDING, tags, n);
	s->waiting = worker_series(w, M_HTTP_REQ_WAITING, tags, n);
	s->receiving = worker_series(w, M_HTTP_REQ_RECEIVING, tags, n);
	s->uncorrected = worker_series(w, M_HTTP_REQ_DURATION_UNCORRECTED, tags, n);
	s->sent = worker_series(w, M_DATA_SENT, plain, np);
	s->recv = worker_series(w, M_DATA_RECEIVED, plain, np);
	/* worker_series reused the key buffer: make ours again. */
	h = tags_key(w, "http", tags, n);
	e = cache_insert(w, w->key.p, w->key.len, h);
	if (!e) {
		*stable = false;
		return s;
	}
	e->set = xmalloc(sizeof(*e->set));
	*e->set = *s;
	return e->set;
}

static int64_t late_by(const struct vu *v)
{
	int64_t late = v->intended ? v->t_iter - v->intended : 0;
	return late > v->w->cfg->late_tolerance_us ? late : 0;
}

/* --http-debug: the most bytes of a request or response body shown. */
#define HTTP_DEBUG_BODY_MAX (64 * 1024)

/* A body for --http-debug=full: at most HTTP_DEBUG_BODY_MAX bytes, then how many more. */
static void debug_body(struct buf *b, const char *p, size_t len)
{
	char more[64];
	buf_add(b, p, MIN(len, (size_t)HTTP_DEBUG_BODY_MAX));
	if (len > HTTP_DEBUG_BODY_MAX) {
		snprintf(more, sizeof(more), "\n[... %zu more bytes]",
		         len - (size_t)HTTP_DEBUG_BODY_MAX);
		buf_addstr(b, more);
	}
	buf_addstr(b, "\n");
}

/* Print c's request and response on stderr in k6's --http-debug layout: "Request:", the
 * request as sent (its body too with level 2, "full"), "Response:", the status line and the
 * headers as received (when the body kept them: scripts do; the quick mode only with
 * capture on), the body with level 2. The block is built first and written with one
 * fwrite, which holds stderr's lock throughout, so blocks of several workers never mix. */
static void http_debug_print(struct worker *w, const struct http_call *c, int level)
{
	struct buf *b = &w->debug;
	char line[160];
	b->len = 0;
	buf_addstr(b, "Request:\n");
	const char *end = c->req ? memmem(c->req, c->req_len, "\r\n\r\n", 4) : NULL;
	size_t head = end ? (size_t)(end - c->req) + 4 : c->req_len;
	const char *eol = c->req ? memmem(c->req, head, " HTTP/1.1\r\n", 11) : NULL;
	if (eol && c->proto == PROTO_HTTP2) { /* k6 prints the version the request went in */
		buf_add(b, c->req, (size_t)(eol - c->req));
		buf_addstr(b, " HTTP/2.0\r\n");
		buf_add(b, eol + 11, head - (size_t)(eol + 11 - c->req));
	} else if (c->req) {
		buf_add(b, c->req, head);
	}
	if (level >= 2 && c->req_len > head)
		debug_body(b, c->req + head, c->req_len - head);
	buf_addstr(b, "\nResponse:\n");
	if (c->err && !c->status) {
		snprintf(line, sizeof(line), "(no response: %s, error_code %d)\n\n",
		         err_kind_name(c->err), err_kind_code(c->err));
		buf_addstr(b, line);
	} else {
		snprintf(line, sizeof(line), "%s %d\r\n", call_proto_name(c->proto), c->status);
		buf_addstr(b, line);
		const char *h = c->headers.p;
		for (int i = 0; c->capture && h && i < c->nheaders; i++) {
			size_t nl = strlen(h);
			buf_add(b, h, nl);
			buf_addstr(b, ": ");
			buf_addstr(b, h + nl + 1);
			buf_addstr(b, "\r\n");
			h += nl + 1 + strlen(h + nl + 1) + 1;
		}
		buf_addstr(b, "\r\n");
		if (level >= 2 && c->capture && !c->discard_body && c->body.len)
			debug_body(b, c->body.p, c->body.len);
		buf_addstr(b, "\n");
	}
	fwrite(b->p, 1, b->len, stderr);
}

void worker_record_http(struct worker *w, struct vu *v, const struct http_call *c,
                        const char *method, const char *name, const struct tag *extra, int nextra,
                        struct http_memo *memo)
{
	if (__builtin_expect(w->cfg->http_debug != 0, 0))
		http_debug_print(w, c, w->cfg->http_debug);
	char st[16], code[16];
	struct tag tags[TAG_MAX + 8];
	int n = 0;
	bool expected = c->judge == JUDGE_EXPECTED || (c->judge == JUDGE_DEFAULT && !c->err &&
	                                               c->status >= 200 && c->status < 400);
	bool judged = c->judge != JUDGE_NONE;
	struct series_set *ss = NULL;

	if (memo && memo->valid && memo->status == c->status && memo->err == (int)c->err &&
	    memo->judge == (int)c->judge && memo->proto == (int)c->proto) {
		ss = memo->set;
		goto record;
	}
	snprintf(st, sizeof(st), "%d", c->status);
	tags[n++] = (struct tag){ "method", method };
	tags[n++] = (struct tag){ "name", name };
	tags[n++] = (struct tag){ "status", st };
	if (c->proto != PROTO_NONE) /* none: no connection was made for it */
		tags[n++] = (struct tag){ "proto", call_proto_name(c->proto) };
	if (judged)
		tags[n++] = (struct tag){ "expected_response", expected ? "true" : "false" };
	tags[n++] = (struct tag){ "scenario", v->s->cfg->name };
	if (c->err) {
		snprintf(code, sizeof(code), "%d", err_kind_code(c->err));
		tags[n++] = (struct tag){ "error_code", code };
	}
	for (int i = 0; i < nextra && n < (int)ARRAY_SIZE(tags); i++)
		tags[n++] = extra[i];
	/* the scenario's tags (run tags included, script_scenarios): every sample has them */
	const struct scenario *sc = v->s->cfg;
	n = add_tags(tags, n, (int)ARRAY_SIZE(tags), sc->tags, sc->ntags);
	/* data_sent and data_received: per scenario and its tags, not per request */
	struct tag plain[TAG_MAX] = { { "scenario", sc->name } };
	int np = add_tags(plain, 1, TAG_MAX, sc->tags, sc->ntags);
	bool stable;
	ss = series_set_for(w, tags, n, plain, np, &stable);
	if (memo)
		*memo = (struct http_memo){ stable,        c->status,     (int)c->err,
			                    (int)c->judge, (int)c->proto, ss };
record:;
	struct sink *s = w->cur;

	int64_t t_end = c->t_end;
	int64_t t_send = c->t_send ? c->t_send : t_end;
	int64_t t_sent = c->t_sent ? c->t_sent : t_end;
	int64_t t_first = c->t_first ? c->t_first : t_end;
	int64_t sending = MAX(0, t_sent - t_send);
	int64_t waiting = MAX(0, MIN(t_first, t_end) - t_sent);
	int64_t receiving = MAX(0, t_end - t_first);
	if (!c->t_sent) { /* never fully sent: the whole time was spent sending */
		sending = MAX(0, t_end - t_send);
		waiting = receiving = 0;
	}
	int64_t duration = sending + waiting + receiving;
	bool tls = c->target && c->target->tls;

	sink_add(s, ss->reqs, 1);
	sink_add(s, ss->sent, (double)c->bytes_sent);
	sink_add(s, ss->recv, (double)c->bytes_recv);
	/* Cut off by the end of the run, a signal or an abort: the server received it, so it
	 * counts in http_reqs, but its truncated time says nothing about the server, and it
	 * did not fail: no trend, no http_req_failed sample. */
	if (c->err == ERR_INTERRUPTED)
		return;
	if (judged)
		sink_rate(s, ss->failed, !expected);
	sink_trend(s, ss->duration, duration + late_by(v));
	if (v->s->cfg->model == MODEL_OPEN)
		sink_trend(s, ss->uncorrected, duration);
	sink_trend(s, ss->blocked, MAX(0, c->t_conn - c->t_start));
	sink_trend(s, ss->connecting, c->conn_fresh ? MAX(0, c->t_connected - c->t_conn) : 0);
	sink_trend(s, ss->tls, c->conn_fresh && tls ? MAX(0, c->t_tls - c->t_connected) : 0);
	sink_trend(s, ss->sending, sending);
	sink_trend(s, ss->waiting, waiting);
	sink_trend(s, ss->receiving, receiving);
}

/* --- sinks ------------------------------------------------------------------------ */

static void publish_sink(struct worker *w, bool final)
{
	struct sink *s = w->cur;
	s->interval = w->interval;
	s->final = final;
	s->vus = w->vus_peak;
	s->vus_max = __atomic_load_n(&w->stats.allocated_vus, __ATOMIC_RELAXED);
	w->vus_peak = w->active;
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

/* --- accessors for iteration bodies ----------------------------------------------- */

struct connpool *vu_shared_pool(struct vu *v, int n)
{
	return n > 1 ? &v->s->vus[v->idx - v->idx % n].pool : &v->pool;
}

struct netctx *worker_net(struct worker *w)
{
	return &w->net;
}

void *worker_body_state(struct worker *w)
{
	return w->body_state;
}

void worker_set_body_state(struct worker *w, void *state)
{
	w->body_state = state;
}

struct loop *worker_loop(struct worker *w)
{
	return w->loop;
}

const struct engine_cfg *worker_cfg(struct worker *w)
{
	return w->cfg;
}

struct engine *worker_engine(struct worker *w)
{
	return w->e;
}

int worker_id(struct worker *w)
{
	return w->id;
}

struct sink *worker_sink(struct worker *w)
{
	return w->cur;
}

const struct scenario *vu_scenario(const struct vu *v)
{
	return v->s->cfg;
}

bool vu_stopping(const struct vu *v)
{
	return v->s->local_stop >= STOP_GRACEFUL || v->idx >= v->s->target;
}

/* --- iterations ------------------------------------------------------------------- */

static void scen_stats(struct scen_rt *s)
{
	struct worker *w = s->w;
	int alloc = 0;
	for (int i = 0; i < w->nscen; i++)
		alloc += w->scen[i].allocated;
	__atomic_store_n(&w->stats.active_vus, w->active, __ATOMIC_RELAXED);
	__atomic_store_n(&w->stats.allocated_vus, alloc, __ATOMIC_RELAXED);
}

/* s->running changes by delta; the worker's active count and its peak follow. */
static void running_add(struct scen_rt *s, int delta)
{
	struct worker *w = s->w;
	s->running += delta;
	w->active += delta;
	if (w->active > w->vus_peak)
		w->vus_peak = w->active;
	__atomic_store_n(&w->stats.active_vus, w->active, __ATOMIC_RELAXED);
}

static void vu_go_idle(struct vu *v)
{
	struct scen_rt *s = v->s;
	v->state = VU_IDLE;
	v->next_idle = s->idle;
	s->idle = v;
}

static void vu_go_off(struct vu *v)
{
	v->state = VU_OFF;
	running_add(v->s, -1);
}

void vu_iteration_end(struct vu *v, bool failed)
{
	vu_iteration_end_at(v, failed, now_us());
}

void vu_iteration_end_at(struct vu *v, bool failed, int64_t t_end)
{
	struct scen_rt *s = v->s;
	struct worker *w = s->w;
	const struct scenario *sc = s->cfg;

	int64_t from = late_by(v) ? v->intended : v->t_iter;
	if (!sc->lifecycle) {
		sink_add(w->cur, s->sid_iterations, 1);
		sink_trend(w->cur, s->sid_iter_duration, MAX(0, t_end - from));
	}
	v->iterations++;
	s->busy--;
	if (sc->model == MODEL_OPEN)
		running_add(s, -1);

	if (s->local_stop >= STOP_GRACEFUL) {
		if (sc->model == MODEL_CLOSED)
			vu_go_off(v);
		else
			v->state = VU_IDLE;
		scen_check_done(s);
		return;
	}
	if (sc->model == MODEL_CLOSED) {
		bool vu_done = sc->per_vu && sc->iterations && v->iterations >= sc->iterations;
		if (v->idx >= s->target || vu_done) {
			vu_go_off(v);
			if (vu_done)
				scen_check_done(s);
			return;
		}
		if (sc->sleep_us > 0 || s->in_start) {
			/* Think time, or a deferred start when this iteration ended at once. */
			v->state = VU_SLEEP;
			loop_timer_at(w->loop, &v->timer,
			              sc->sleep_us > 0 ? t_end + sc->sleep_us
			                               : loop_now(w->loop) + 1);
			return;
		}
		vu_start_iteration(v, 0, t_end); /* back to back: this end is the next start */
		return;
	}
	/* Open model: take the oldest late start, or go idle. */
	if (s->bl_len > 0) {
		int64_t intended = s->backlog[s->bl_head];
		s->bl_head = (s->bl_head + 1) % s->bl_cap;
		s->bl_len--;
		if (s->in_start) {
			v->state = VU_PENDING;
			v->intended = intended;
			loop_timer_at(w->loop, &v->timer, loop_now(w->loop) + 1);
			return;
		}
		vu_start_iteration(v, intended, t_end);
		return;
	}
	vu_go_idle(v);
}

/* Claim one iteration of a shared-iterations scenario; false when all are handed out. */
static bool claim_iteration(struct scen_rt *s)
{
	const struct scenario *sc = s->cfg;
	if (!sc->iterations || sc->per_vu)
		return true;
	return __atomic_fetch_add(&((struct scenario *)sc)->iter_claimed, 1, __ATOMIC_RELAXED) <
	       sc->iterations;
}

/* Start v's next iteration, intended to start at intended (open model; 0: now). now is the
 * clock (now_us(), µs) when the caller just read it, or 0 to read it here. */
static void vu_start_iteration(struct vu *v, int64_t intended, int64_t now)
{
	struct scen_rt *s = v->s;
	struct worker *w = s->w;
	if (!claim_iteration(s)) {
		if (s->cfg->model == MODEL_CLOSED)
			vu_go_off(v);
		else
			vu_go_idle(v);
		scen_stop(s, STOP_GRACEFUL, loop_now(w->loop));
		scen_check_done(s);
		return;
	}
	if (!v->initialised) {
		v->initialised = true;
		v->init_failed = w->cfg->body->vu_init && w->cfg->body->vu_init(v) < 0;
	}
	if (v->init_failed) {
		/* The VU cannot run (its init failed; the body said why): every later start
		 * (a closed model's next target, an arrival) finds it failed too, not a VU
		 * without its state */
		if (s->cfg->model == MODEL_CLOSED)
			vu_go_off(v);
		scen_check_done(s);
		return;
	}
	v->state = VU_BUSY;
	v->intended = intended;
	v->scen_iteration =
	    __atomic_fetch_add(&((struct scenario *)s->cfg)->iter_seq, 1, __ATOMIC_RELAXED);
	s->busy++;
	if (s->cfg->model == MODEL_OPEN)
		running_add(s, 1);
	s->in_start++;
	v->t_iter = now ? now : now_us();
	w->cfg->body->start(v);
	s->in_start--;
}

static void vu_on_timer(struct loop_timer *t, void *ud)
{
	struct vu *v = ud;
	struct scen_rt *s = v->s;

	switch (v->state) {
	case VU_SLEEP:
		if (s->local_stop >= STOP_GRACEFUL || v->idx >= s->target) {
			vu_go_off(v);
			scen_check_done(s);
			return;
		}
		vu_start_iteration(v, 0, 0);
		return;
	case VU_PENDING:
		vu_start_iteration(v, v->intended, 0);
		return;
	default:
		return;
	}
}

/* --- VU allocation and the closed model ------------------------------------------ */

static struct vu *vu_get(struct scen_rt *s, int idx)
{
	struct worker *w = s->w;
	for (int i = s->allocated; i <= idx; i++) {
		struct vu *u = &s->vus[i];
		u->w = w;
		u->s = s;
		u->idx = i;
		u->id = __atomic_add_fetch(&w->e->vu_ids, 1, __ATOMIC_RELAXED);
		u->state = VU_OFF;
		loop_timer_init(&u->timer, vu_on_timer, u);
	}
	if (idx >= s->allocated) {
		s->allocated = idx + 1;
		scen_stats(s);
	}
	return &s->vus[idx];
}

static void closed_apply_target(struct scen_rt *s)
{
	struct worker *w = s->w;
	int64_t t = loop_now(w->loop) - s->t0;
	int total = (int)exec_segment_scale(
	    s->cfg->seg, (int64_t)floor(sched_value_at(&s->cfg->sched, MAX(0, t)) + 1e-9));
	int target = MIN(sched_share(total, w->id, w->cfg->threads), s->nvus);
	s->target = target;
	for (int i = 0; i < target; i++) {
		struct vu *v = vu_get(s, i);
		if (v->state == VU_OFF) {
			if (s->cfg->per_vu && s->cfg->iterations &&
			    v->iterations >= s->cfg->iterations)
				continue;
			running_add(s, 1);
			vu_start_iteration(v, 0, 0);
			if (s->local_stop)
				return;
		}
	}
	/* VUs above the target stop after their iteration; sleeping ones stop now. */
	for (int i = target; i < s->allocated; i++) {
		struct vu *v = &s->vus[i];
		if (v->state == VU_SLEEP) {
			loop_timer_cancel(w->loop, &v->timer);
			vu_go_off(v);
		}
	}
	/* Busy VUs above the target finish their iteration within gracefulRampDown, each
	 * counted from the moment it became surplus. */
	int64_t now = loop_now(w->loop), first = 0;
	for (int i = 0; i < s->allocated; i++) {
		struct vu *v = &s->vus[i];
		if (i < target || v->state != VU_BUSY) {
			v->surplus_since = 0;
			continue;
		}
		if (!v->surplus_since)
			v->surplus_since = now;
		if (!first || v->surplus_since < first)
			first = v->surplus_since;
	}
	if (first && !loop_timer_armed(&s->ramp_timer))
		loop_timer_at(w->loop, &s->ramp_timer, first + s->cfg->graceful_ramp_down_us);
	scen_stats(s);
}

/* gracefulRampDown passed: interrupt VUs above the target that are still busy. */
static void on_ramp_timer(struct loop_timer *t, void *ud)
{
	struct scen_rt *s = ud;
	struct worker *w = s->w;
	int64_t now = loop_now(w->loop), next = 0;
	for (int i = s->target; i < s->allocated; i++) {
		struct vu *v = &s->vus[i];
		if (v->state != VU_BUSY || !v->surplus_since)
			continue;
		if (v->surplus_since + s->cfg->graceful_ramp_down_us > now) {
			if (!next || v->surplus_since < next)
				next = v->surplus_since;
			continue;
		}
		w->cfg->body->abort(v);
		__atomic_add_fetch(&w->stats.interrupted, 1, __ATOMIC_RELAXED);
		s->busy--;
		v->surplus_since = 0;
		vu_go_off(v);
	}
	if (next)
		loop_timer_at(w->loop, &s->ramp_timer, next + s->cfg->graceful_ramp_down_us);
	scen_check_done(s);
}

static void on_control(struct loop_timer *t, void *ud)
{
	struct scen_rt *s = ud;
	if (s->local_stop)
		return;
	closed_apply_target(s);
	if (!s->local_stop)
		loop_timer_at(s->w->loop, &s->control, loop_now(s->w->loop) + CONTROL_PERIOD_US);
}

/* --- the open model --------------------------------------------------------------- */

/* Intended time (absolute µs) of this worker's next arrival, or -1 after the schedule. */
static int64_t next_arrival(struct scen_rt *s)
{
	const struct scenario *sc = s->cfg;
	int nw = s->arrival_workers;
	if (s->w->id >= nw) /* no VU of the scenario here: its arrivals go to those with one */
		return -1;
	/* the whole run's arrival number of this worker's next one (segment.h) */
	double n = sc->poisson ? s->arrival_x
	                       : (double)exec_segment_index(sc->seg, s->arrival_k * nw + s->w->id);
	int64_t t = sched_time_of(&sc->sched, n);
	if (t < 0 || t >= sc->duration_us)
		return -1;
	return s->t0 + t;
}

static void advance_arrival(struct scen_rt *s)
{
	s->arrival_k++;
	if (s->cfg->poisson)
		s->arrival_x +=
		    rng_exp(&s->rng) * s->arrival_workers / exec_segment_fraction(s->cfg->seg);
}

/* Start every arrival due before the window (engine_cfg.arrival_window_us) from now ends,
 * then sleep until the next one is due: one wake-up per window, each arrival started at
 * most a window early and never late because of it. An early one keeps its intended time,
 * so it is never "late" (late_by) and its latency counts from its actual start. Only a free
 * VU starts an arrival early: one that would wait in the backlog or be dropped waits for
 * its intended time instead, so the window never drops what exact spacing would not. */
static void on_arrival(struct loop_timer *t, void *ud)
{
	struct scen_rt *s = ud;
	struct worker *w = s->w;
	int64_t window = w->cfg->arrival_window_us;
	int64_t now = now_us();
	while (s->local_stop == STOP_NONE) {
		int64_t when = next_arrival(s);
		if (when < 0)
			return;
		if (when > now + window) {
			loop_timer_at(w->loop, &s->arrival, when);
			return;
		}
		if (when > now && !s->idle && s->allocated >= s->nvus) {
			/* Early, and no VU free: it waits for its own time, where the backlog
			 * or the drop is decided as it would be without the window. */
			loop_timer_at(w->loop, &s->arrival, when);
			return;
		}
		advance_arrival(s);
		struct vu *v = s->idle;
		if (v) {
			s->idle = v->next_idle;
		} else if (s->allocated < s->nvus) {
			v = vu_get(s, s->allocated);
		} else if (s->bl_len < s->bl_cap) {
			s->backlog[(s->bl_head + s->bl_len) % s->bl_cap] = when;
			s->bl_len++;
			if (s->bl_len > w->stats.backlog_max)
				__atomic_store_n(&w->stats.backlog_max, (int64_t)s->bl_len,
				                 __ATOMIC_RELAXED);
			continue;
		} else {
			sink_add(w->cur, s->sid_dropped, 1);
			continue;
		}
		vu_start_iteration(v, when, 0);
	}
}

/* --- starting and stopping -------------------------------------------------------- */

/* The open model stops starting iterations: every arrival that was due by now (and within
 * the schedule) but has not started is dropped, whether it waited in the backlog or its
 * timer had not fired yet, so that scheduled = started + dropped_iterations exactly. */
static void open_drop_pending(struct scen_rt *s)
{
	struct worker *w = s->w;
	int64_t dropped = s->bl_len;
	int64_t now = MIN(now_us(), s->t0 + s->cfg->duration_us);
	s->bl_len = 0;
	if (s->arrivals_closed) /* the schedule ended at the first stop: nothing is due since */
		return;
	s->arrivals_closed = true;
	for (;;) {
		int64_t when = next_arrival(s);
		if (when < 0 || when > now)
			break;
		advance_arrival(s);
		dropped++;
	}
	if (dropped)
		sink_add(w->cur, s->sid_dropped, (double)dropped);
}

static void worker_check_exit(struct worker *w)
{
	for (int i = 0; i < w->nscen; i++)
		if (!w->scen[i].done)
			return;
	w->exit_loop = true;
}

static void scen_check_done(struct scen_rt *s)
{
	if (s->done)
		return;
	bool finished = s->local_stop >= STOP_GRACEFUL && s->busy == 0;
	/* per-vu-iterations: every VU has run its iterations */
	if (!finished && s->started && s->cfg->model == MODEL_CLOSED && s->cfg->per_vu &&
	    s->cfg->iterations && s->running == 0 && s->busy == 0)
		finished = true;
	if (!finished)
		return;
	s->done = true;
	loop_timer_cancel(s->w->loop, &s->hard_timer);
	loop_timer_cancel(s->w->loop, &s->end_timer);
	loop_timer_cancel(s->w->loop, &s->ramp_timer);
	loop_timer_cancel(s->w->loop, &s->control);
	loop_timer_cancel(s->w->loop, &s->arrival);
	scen_stats(s);
	worker_check_exit(s->w);
}

static void scen_hard_stop(struct scen_rt *s)
{
	struct worker *w = s->w;
	for (int i = 0; i < s->allocated; i++) {
		struct vu *v = &s->vus[i];
		if (v->state == VU_BUSY) {
			w->cfg->body->abort(v);
			__atomic_add_fetch(&w->stats.interrupted, 1, __ATOMIC_RELAXED);
		}
		loop_timer_cancel(w->loop, &v->timer);
		v->state = VU_OFF;
	}
	running_add(s, -s->running);
	s->busy = 0;
	if (s->cfg->model == MODEL_OPEN)
		open_drop_pending(s);
	scen_check_done(s);
}

/* Stop s at level. A graceful stop gives iterations in flight gracefulStop counted from
 * since (monotonic µs: when the stop was due, e.g. the scenario's end or the first signal),
 * not from when this loop got to it: a loop held up by code that could not yield must not
 * add its delay to the grace. */
static void scen_stop(struct scen_rt *s, int level, int64_t since)
{
	struct worker *w = s->w;
	if (level <= s->local_stop || s->done)
		return;
	s->local_stop = level;
	loop_timer_cancel(w->loop, &s->start_timer);
	loop_timer_cancel(w->loop, &s->arrival);
	loop_timer_cancel(w->loop, &s->control);
	if (level >= STOP_HARD) {
		scen_hard_stop(s);
		return;
	}
	/* Graceful: no new iterations; sleeping and pending VUs stop now. */
	for (int i = 0; i < s->allocated; i++) {
		struct vu *v = &s->vus[i];
		if (v->state == VU_SLEEP || v->state == VU_PENDING) {
			loop_timer_cancel(w->loop, &v->timer);
			if (s->cfg->model == MODEL_CLOSED)
				vu_go_off(v);
			else
				v->state = VU_IDLE;
		}
	}
	if (s->cfg->model == MODEL_OPEN)
		open_drop_pending(s);
	int64_t hard_at = since + MAX(s->cfg->graceful_stop_us, 0);
	if (s->busy > 0) {
		if (hard_at <= loop_now(w->loop))
			scen_hard_stop(s);
		else
			loop_timer_at(w->loop, &s->hard_timer, hard_at);
	}
	scen_check_done(s);
}

static void on_end(struct loop_timer *t, void *ud)
{
	struct scen_rt *s = ud;
	/* Arrivals due before the end whose timer has not fired yet still start. */
	if (s->cfg->model == MODEL_OPEN && s->local_stop == STOP_NONE)
		on_arrival(&s->arrival, s);
	scen_stop(s, STOP_GRACEFUL, s->t0 + s->cfg->duration_us);
}

static void on_hard(struct loop_timer *t, void *ud)
{
	struct scen_rt *s = ud;
	scen_stop(s, STOP_HARD, loop_now(s->w->loop));
}

static void scen_begin(struct loop_timer *t, void *ud)
{
	struct scen_rt *s = ud;
	struct worker *w = s->w;
	const struct scenario *sc = s->cfg;

	s->started = true;
	/* This worker has no share of the scenario's VUs: it has nothing to run, and in the
	 * open model no arrival either (arrival_workers), unless the scenario has no VU at all:
	 * then worker 0 drops its arrivals (counted), so that scheduled = started +
	 * dropped_iterations holds for every segment. */
	if (s->nvus == 0 && (sc->model == MODEL_CLOSED || w->id >= s->arrival_workers)) {
		s->done = true;
		worker_check_exit(w);
		return;
	}
	loop_timer_at(w->loop, &s->end_timer, s->t0 + sc->duration_us);
	if (sc->model == MODEL_CLOSED) {
		vu_get(s, s->nvus - 1); /* all VUs exist from the start, as k6's vus_max */
		closed_apply_target(s);
		if (!s->local_stop &&
		    (sc->sched.nstages > 1 || sc->sched.start != sc->sched.stages[0].target))
			loop_timer_at(w->loop, &s->control, loop_now(w->loop) + CONTROL_PERIOD_US);
		if (!s->local_stop && s->running == 0 && s->target == 0 &&
		    sched_max(&sc->sched) <= sc->sched.start)
			scen_stop(s, STOP_GRACEFUL, loop_now(w->loop));
	} else {
		/* Preallocate VUs; they are cheap until they connect. */
		int pre = MIN(sched_share(sc->vus, w->id, w->cfg->threads), s->nvus);
		if (pre > 0)
			vu_get(s, pre - 1);
		for (int i = pre - 1; i >= 0; i--)
			vu_go_idle(&s->vus[i]);
		sink_add(w->cur, s->sid_dropped, 0); /* reported even when none drop */
		on_arrival(&s->arrival, s);
	}
}

static void worker_stop_all(struct worker *w, int level)
{
	if (level <= w->global_stop)
		return;
	w->global_stop = level;
	int64_t since = loop_now(w->loop);
	if (level == STOP_GRACEFUL)
		since = engine_graceful_at(w->e, since);
	for (int i = 0; i < w->nscen; i++) {
		struct scen_rt *s = &w->scen[i];
		if (!s->started) {
			loop_timer_cancel(w->loop, &s->start_timer);
			s->started = true;
			s->done = true;
			continue;
		}
		scen_stop(s, level, since);
	}
	worker_check_exit(w);
}

static void on_wake(void *ud, uint32_t events)
{
	struct worker *w = ud;
	uint64_t val;
	if (read(w->evfd, &val, sizeof(val)) < 0 && errno != EAGAIN)
		return;
	int level = __atomic_load_n(&w->e->stop_level, __ATOMIC_ACQUIRE);
	if (level > w->global_stop)
		worker_stop_all(w, level);
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

	w->have_cpu_clock = pthread_getcpuclockid(pthread_self(), &w->cpu_clock) == 0;
	while (now_us() < w->e->start_us) {
		int64_t d = w->e->start_us - now_us();
		struct timespec ts = { d / USEC_PER_SEC, (d % USEC_PER_SEC) * 1000 };
		if (d > 0)
			nanosleep(&ts, NULL);
	}
	loop_update_time(w->loop);
	loop_timer_at(w->loop, &w->tick, w->e->start_us + USEC_PER_SEC);
	for (int i = 0; i < w->nscen; i++) {
		struct scen_rt *s = &w->scen[i];
		s->t0 = w->e->start_us + s->cfg->start_us;
		loop_timer_at(w->loop, &s->start_timer, s->t0);
	}
	int level = __atomic_load_n(&w->e->stop_level, __ATOMIC_ACQUIRE);
	if (level)
		worker_stop_all(w, level);
	while (!w->exit_loop) {
		int rc = loop_run_once(w->loop, 100000);
		if (rc < 0) {
			fprintf(stderr, "stampede: worker %d: event loop failed: %s\n", w->id,
			        strerror(-rc));
			break;
		}
	}
	__atomic_store_n(&w->stats.active_vus, 0, __ATOMIC_RELAXED);
	for (int i = 0; i < w->nscen; i++) {
		for (int j = 0; j < w->scen[i].allocated; j++) {
			struct vu *v = &w->scen[i].vus[j];
			if (v->initialised && w->cfg->body->vu_free)
				w->cfg->body->vu_free(v);
			v->initialised = false;
			connpool_close_idle(&w->net, &v->pool);
		}
	}
	if (w->cfg->body_worker_free)
		w->cfg->body_worker_free(w);
	publish_sink(w, true);
	/* the thread's CPU clock goes with it: keep what it used for the coordinator's last
	 * reading (worker_cpu_us) */
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
		__atomic_store_n(&w->cpu_final_us,
		                 (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000,
		                 __ATOMIC_RELEASE);
	__atomic_store_n(&w->stats.done, true, __ATOMIC_RELEASE);
	return NULL;
}

static void scen_init(struct worker *w, struct scen_rt *s, const struct scenario *sc)
{
	const struct engine_cfg *cfg = w->cfg;
	struct tag tags[TAG_MAX] = { { "scenario", sc->name } };
	int nt = add_tags(tags, 1, TAG_MAX, sc->tags, sc->ntags);

	s->w = w;
	s->cfg = sc;
	s->nvus = sched_share(scenario_max_vus(sc), w->id, cfg->threads);
	s->vus = xcalloc((size_t)MAX(s->nvus, 1), sizeof(*s->vus));
	if (sc->model == MODEL_OPEN) {
		s->bl_cap = MAX(s->nvus, 1);
		s->backlog = xcalloc((size_t)s->bl_cap, sizeof(*s->backlog));
		s->rng = cfg->seed ^ ((uint64_t)(w->id + 1) * 0x9e3779b97f4a7c15ULL) ^
		         hash_bytes(sc->name, strlen(sc->name));
		s->arrival_workers = MAX(1, MIN(cfg->threads, scenario_max_vus(sc)));
		s->arrival_x = sc->poisson ? rng_exp(&s->rng) * s->arrival_workers /
		                                 exec_segment_fraction(sc->seg)
		                           : 0;
	}
	loop_timer_init(&s->start_timer, scen_begin, s);
	loop_timer_init(&s->control, on_control, s);
	loop_timer_init(&s->arrival, on_arrival, s);
	loop_timer_init(&s->end_timer, on_end, s);
	loop_timer_init(&s->hard_timer, on_hard, s);
	loop_timer_init(&s->ramp_timer, on_ramp_timer, s);
	s->sid_iterations = worker_series(w, M_ITERATIONS, tags, nt);
	s->sid_iter_duration = worker_series(w, M_ITERATION_DURATION, tags, nt);
	s->sid_dropped = worker_series(w, M_DROPPED_ITERATIONS, tags, nt);
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
	rc = loop_new_backend(&w->loop, cfg->io);
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
	struct resolver *res;
	rc = resolver_new(w->loop, &cfg->dns, cfg->seed ^ (uint64_t)id, &res);
	if (rc < 0)
		goto out_evfd;
	w->net = (struct netctx){
		.loop = w->loop,
		.rbuf = xmalloc(RBUF_SIZE),
		.rbuf_len = RBUF_SIZE,
		.tls_ctx = cfg->tls_ctx,
		.verify = cfg->verify,
		.connect_timeout_us = cfg->connect_timeout_us,
		.conns_open = &e->conns_open,
		.limit_warned = &e->conn_limit_warned,
		.h2_warned = cfg->h2_warn ? &e->h2_warned : NULL,
		.resolver = res,
		.h2 = cfg->h2,
		.max_streams = cfg->max_streams,
	};
	w->cur = sink_new();
	loop_timer_init(&w->tick, on_tick, w);
	w->nscen = cfg->nscen;
	w->scen = xcalloc((size_t)MAX(cfg->nscen, 1), sizeof(*w->scen));
	for (int i = 0; i < cfg->nscen; i++)
		scen_init(w, &w->scen[i], &cfg->scen[i]);
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
	for (int i = 0; i < w->nscen; i++) {
		struct scen_rt *s = &w->scen[i];
		for (int j = 0; j < s->allocated; j++) {
			struct vu *v = &s->vus[j];
			if (v->initialised && w->cfg->body->vu_free)
				w->cfg->body->vu_free(v);
			connpool_free(&w->net, &v->pool);
		}
		free(s->vus);
		free(s->backlog);
	}
	free(w->scen);
	sink_free(w->cur);
	for (struct sink *s = w->full_head, *n; s; s = n) {
		n = s->next;
		sink_free(s);
	}
	for (struct sink *s = w->spare, *n; s; s = n) {
		n = s->next;
		sink_free(s);
	}
	for (int i = 0; i < w->cache_cap; i++) {
		free(w->cache[i].key);
		free(w->cache[i].set);
	}
	free(w->cache);
	buf_free(&w->key);
	buf_free(&w->debug);
	netctx_free(&w->net);
	resolver_free(w->net.resolver);
	free(w->net.rbuf);
	close(w->evfd);
	loop_free(w->loop);
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
	if (__atomic_load_n(&w->stats.done, __ATOMIC_ACQUIRE))
		return __atomic_load_n(&w->cpu_final_us, __ATOMIC_ACQUIRE);
	if (!w->have_cpu_clock || clock_gettime(w->cpu_clock, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}
