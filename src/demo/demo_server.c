/* demo_server.c: the demo server's epoll front end: connections, framing, dispatch, stop. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "demo/demo.h"
#include "demo/demo_api.h"
#include "demo/demo_buf.h"
#include "demo/demo_config.h"
#include "demo/demo_h2.h"
#include "demo/demo_http.h"
#include "demo/demo_metrics.h"
#include "demo/demo_pool.h"
#include "demo/demo_tls.h"
#include "demo/demo_ws.h"
#include "util/common.h"
#include "util/outfile.h"

#define RBUF_INITIAL    4096
#define RBUF_MAX        (DEMO_MAX_HEAD + DEMO_MAX_BODY + 4096) /* one request always fits */
#define OUT_HIGH_WATER  (256 * 1024) /* stop answering pipelined requests above this */
#define BUF_KEEP        (64 * 1024)  /* buffers larger than this are released when empty */
#define LINGER_US       (2 * USEC_PER_SEC)
#define LINGER_DISCARD  (1 << 20)
#define SWEEP_US        100000
#define ACCEPT_PAUSE_US 100000
#define MAX_EVENTS      256
#define MAX_REJECTING   256 /* connections being answered 503; beyond: closed at once */
#define FREE_KEEP       256 /* closed connections kept for reuse */

/* A request handed to the pool; embedded in its exchange. */
struct demo_job {
	struct demo_exch *x;
	struct demo_job *next; /* completion list */
	struct demo_call call;
	struct demo_buf req;  /* the call's strings */
	struct demo_buf body; /* the response body */
	int status;
};

/* One request being answered: a connection's HTTP/1.1 request (embedded in it, one at a
 * time), or an HTTP/2 stream's (allocated per stream, freed once answered). */
struct demo_exch {
	struct demo_conn *conn;
	struct demo_exch *next_spare;
	struct demo_exch *all_prev, *all_next; /* every HTTP/2 exchange, for the final free */
	struct demo_job job;
	int32_t stream; /* HTTP/2 stream id; 0: HTTP/1.1 */
	bool pooled;    /* the job is with the pool */
	enum demo_method method;
	enum demo_route route;
	int minor;
	bool head, keep_alive;
	int64_t t0; /* when it was read completely */
};

struct demo_conn {
	struct demo_server *srv;
	int fd;                        /* -1 once closed */
	SSL *ssl;                      /* the TLS session (HTTPS), else NULL */
	struct demo_conn *prev, *next; /* live list, or graveyard / free list (next only) */
	struct demo_buf in;            /* unconsumed input, starting at a request */
	struct demo_buf out;
	size_t out_pos;
	struct demo_parser parser;
	struct demo_exch x; /* the HTTP/1.1 request being answered */
	struct demo_h2 *h2; /* HTTP/2: the session, else NULL */
	bool sniffing;      /* --http2 on plain TCP: the first bytes may be the preface */
	int64_t req_start;  /* first byte of the request being received, 0 when none */
	int64_t last_active, deadline;
	size_t discarded;
	int in_flight;      /* jobs with the pool */
	bool dead;          /* closed; kept until its jobs return */
	bool eof;           /* the client sent FIN */
	bool closing;       /* close once the output is sent */
	bool lingering;     /* output done, write side shut, discarding input until FIN */
	bool read_full;     /* stopped reading with a full buffer */
	bool rejecting;     /* over --max-connections: answer 503 and close */
	bool continue_sent; /* "100 Continue" sent for the current request */
	bool handshaking;   /* TLS handshake not complete yet */
	/* WebSocket, after a 101: the session, when the server's Close was sent, and the
	 * list of sessions that got output from another one (a chat message) */
	struct demo_ws *ws;
	int64_t ws_closing_since;
	struct demo_conn *wake_next;
	bool woken;
};

/* How bytes move on a connection: plain TCP or TLS (one table each, the server picks one). */
struct demo_transport {
	enum demo_io (*read)(struct demo_conn *c, void *buf, size_t len, size_t *n);
	enum demo_io (*write)(struct demo_conn *c, const void *buf, size_t len, size_t *n);
	/* after the last response, before the write side is shut */
	void (*finish)(struct demo_conn *c);
	/* a read shorter than asked means the socket is empty (not so for TLS records) */
	bool short_read_drains;
};

struct demo_worker {
	alignas(64) struct demo_config cfg;
	uint64_t gen;
	struct demo_ctx ctx;
};

struct demo_server {
	struct demo_live live;
	struct demo_config cfg; /* the front end's copy */
	uint64_t cfg_gen;
	int listen_fd, epfd, wake_fd, port;
	pthread_t thread;
	struct demo_pool *pool;
	struct demo_api *api;
	struct demo_worker *workers;
	struct demo_metrics metrics;
	const struct demo_transport *io;
	struct demo_tls *tls;                   /* HTTPS: the certificate and context */
	struct demo_buf index_text, index_json; /* GET / and GET /api, made at start */
	pthread_mutex_t done_lock;
	struct demo_job *done;                /* completions from the workers (LIFO) */
	struct demo_conn *conns;              /* live list */
	struct demo_conn *graveyard, *unused; /* released this batch / reusable */
	int nunused, nconns, nrejecting;
	_Atomic int stop; /* 1: graceful, 2: at once */
	_Atomic bool finished;
	bool draining;
	int64_t drain_deadline;
	int64_t accept_resume; /* accepting paused (out of fds) until then, 0: not paused */
	uint64_t queue_rejected, conn_rejected;
	_Atomic uint64_t responses;
	double start_time;
	time_t date_sec;
	char date[40];
	struct demo_buf scratch;
	struct demo_ws_hub *ws_hub;
	struct demo_conn *woken;      /* WebSocket connections with output to send */
	struct demo_exch *spare_exch; /* HTTP/2 exchanges kept for reuse */
	int nspare_exch;
	struct demo_exch *all_exch; /* every HTTP/2 exchange allocated (spare, or not) */
};

static char listen_tag, wake_tag; /* epoll data of the listening socket and the eventfd */

static void conn_run(struct demo_conn *c, uint32_t ev);
static void conn_close(struct demo_conn *c);

/* --- responses ------------------------------------------------------------------------- */

static const char *reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 417:
		return "Expectation Failed";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

/* The Date header value (RFC 9110 IMF-fixdate), formatted once per second. */
static const char *srv_date(struct demo_server *s)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = time(NULL);
	struct tm tm;

	if (t != s->date_sec) {
		gmtime_r(&t, &tm);
		snprintf(s->date, sizeof(s->date), "%s, %02d %s %04d %02d:%02d:%02d GMT",
		         days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
		         tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
		s->date_sec = t;
	}
	return s->date;
}

static void srv_count(struct demo_server *s, enum demo_method m, enum demo_route r, int status,
                      int64_t t0)
{
	demo_metrics_record(&s->metrics, m, r, status, now_us() - t0);
	atomic_store_explicit(&s->responses, s->metrics.total, memory_order_relaxed);
}

/* Queue a response to the current request and count it. */
static void exch_reply(struct demo_exch *x, int status, const char *ctype, const char *body,
                       size_t len, const char *extra)
{
	struct demo_conn *c = x->conn;
	struct demo_server *s = c->srv;

	if (x->stream) {
		char hdrs[320];
		snprintf(hdrs, sizeof(hdrs), "Date: %s\r\n%s", srv_date(s), extra ? extra : "");
		if (c->h2)
			demo_h2_respond(c->h2, x->stream, status, ctype, body, len, x->head, hdrs);
		srv_count(s, x->method, x->route, status, x->t0);
		return;
	}
	bool close = !x->keep_alive || s->draining || c->rejecting;

	demo_buf_printf(&c->out,
	                "HTTP/1.1 %d %s\r\nServer: stampede-demo\r\nDate: %s\r\n"
	                "Content-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
	                status, reason(status), srv_date(s), ctype, len, extra ? extra : "",
	                close           ? "Connection: close\r\n"
	                : x->minor == 0 ? "Connection: keep-alive\r\n"
	                                : "");
	if (!x->head)
		demo_buf_append(&c->out, body, len);
	srv_count(s, x->method, x->route, status, x->t0);
	if (close)
		c->closing = true;
}

static void exch_reply_json(struct demo_exch *x, int status, const char *json, const char *extra)
{
	exch_reply(x, status, "application/json", json, strlen(json), extra);
}

static void exch_reply_error(struct demo_exch *x, int status, const char *msg, const char *extra)
{
	struct demo_buf *b = &x->conn->srv->scratch;

	demo_buf_reset(b);
	demo_buf_puts(b, "{\"error\":");
	demo_buf_json_str(b, msg, strlen(msg));
	demo_buf_puts(b, "}");
	exch_reply(x, status, "application/json", b->data, b->len, extra);
}

/* Labels of a request that failed before it was complete: from its request line when
 * that was parsed (the parser's offsets are relative to the start of the input). */
static void conn_label_partial(struct demo_conn *c)
{
	const struct demo_parser *p = &c->parser;
	const char *param;
	size_t plen;

	c->x.method = DEMO_METHOD_OTHER;
	c->x.route = DEMO_ROUTE_UNMATCHED;
	c->x.head = false;
	c->x.minor = 1;
	if (p->line_seen) {
		c->x.method = p->method;
		c->x.head = p->method == DEMO_HEAD;
		c->x.minor = p->minor;
		if (p->path_len && p->path_off + p->path_len <= c->in.len)
			c->x.route =
			    demo_route_match(c->in.data + p->path_off, p->path_len, &param, &plen);
	}
	c->x.keep_alive = false;
	c->x.t0 = now_us();
}

/* --- inline routes (front end) ---------------------------------------------------------- */

static void srv_gauges(struct demo_server *s, struct demo_gauges *g)
{
	memset(g, 0, sizeof(*g));
	g->stats = demo_api_stats(s->api);
	g->connections = s->nconns;
	g->workers = s->cfg.workers;
	g->queue_capacity = s->cfg.queue;
	g->queue_waiting = demo_pool_waiting(s->pool);
	g->workers_busy = demo_pool_busy(s->pool);
	g->queue_rejected = s->queue_rejected;
	g->conn_rejected = s->conn_rejected;
	g->start_time = s->start_time;
	g->drift_us = demo_latency_drift(&s->cfg, now_us());
	demo_ws_hub_counts(s->ws_hub, &g->ws);
}

static void admin_config(struct demo_exch *x, const struct demo_req *req)
{
	struct demo_server *s = x->conn->srv;
	char err[256];
	struct demo_config before;

	if (req->method == DEMO_POST) {
		if (demo_live_update_json(&s->live, req->body, req->body_len, &before, err,
		                          sizeof(err)) < 0) {
			exch_reply_error(x, 400, err, NULL);
			return;
		}
		demo_live_refresh(&s->live, &s->cfg, &s->cfg_gen);
		if (before.cache_ttl_us != s->cfg.cache_ttl_us)
			demo_api_cache_flush(s->api);
	}
	char *json = demo_config_to_json(&s->cfg);
	exch_reply_json(x, 200, json, NULL);
	free(json);
}

static void exch_inline(struct demo_exch *x, const struct demo_req *req)
{
	struct demo_server *s = x->conn->srv;
	struct demo_gauges g;

	switch (x->route) {
	case DEMO_ROUTE_HEALTH:
		exch_reply_json(x, 200, "{\"status\":\"ok\"}", NULL);
		return;
	case DEMO_ROUTE_READY:
		if (s->draining)
			exch_reply_json(x, 503, "{\"status\":\"draining\"}", NULL);
		else
			exch_reply_json(x, 200, "{\"status\":\"ready\"}", NULL);
		return;
	case DEMO_ROUTE_METRICS:
		srv_gauges(s, &g);
		demo_buf_reset(&s->scratch);
		demo_metrics_render(&s->metrics, &g, &s->scratch);
		exch_reply(x, 200, "text/plain; version=0.0.4; charset=utf-8", s->scratch.data,
		           s->scratch.len, NULL);
		return;
	case DEMO_ROUTE_ADMIN:
		admin_config(x, req);
		return;
	case DEMO_ROUTE_INDEX:
		exch_reply(x, 200, "text/plain; charset=utf-8", s->index_text.data,
		           s->index_text.len, NULL);
		return;
	case DEMO_ROUTE_API_INDEX:
		exch_reply(x, 200, "application/json", s->index_json.data, s->index_json.len, NULL);
		return;
	default:
		exch_reply_error(x, 404, "not found", NULL);
		return;
	}
}

/* --- WebSocket ------------------------------------------------------------------------- */

/* A GET on a WebSocket route: 101 and a session, or the handshake's error. */
static void conn_upgrade(struct demo_conn *c, const struct demo_req *req)
{
	struct demo_server *s = c->srv;
	bool chat = c->x.route == DEMO_ROUTE_WS_CHAT;
	char accept[32];
	const char *why = NULL;
	int status = demo_ws_handshake(req, accept, &why);

	if (status) {
		exch_reply_error(&c->x, status, why,
		                 status == 426 ? "Sec-WebSocket-Version: 13\r\n" : NULL);
		return;
	}
	if (chat && demo_ws_room_check(req->query, req->query_len) < 0) {
		exch_reply_error(&c->x, 400, "room: a name of 1 to 64 bytes", NULL);
		return;
	}
	if (demo_ws_hub_full(s->ws_hub)) {
		exch_reply_error(&c->x, 503, "too many WebSocket sessions", "Retry-After: 1\r\n");
		return;
	}
	demo_buf_printf(
	    &c->out,
	    "HTTP/1.1 101 Switching Protocols\r\nServer: stampede-demo\r\nDate: %s\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
	    srv_date(s), accept);
	srv_count(s, c->x.method, c->x.route, 101, c->x.t0);
	if (demo_ws_open(s->ws_hub, chat, req->query, req->query_len, c, &c->out, &c->ws) < 0)
		c->closing = true; /* not reached: checked above */
}

/* What a session asks of its connection. */
static void conn_ws_apply(struct demo_conn *c, enum demo_ws_state st)
{
	switch (st) {
	case DEMO_WS_OPEN:
		break;
	case DEMO_WS_CLOSING:
		if (!c->ws_closing_since)
			c->ws_closing_since = now_us();
		break;
	case DEMO_WS_DONE:
		c->closing = true;
		break;
	case DEMO_WS_DROP:
		conn_close(c);
		break;
	}
}

/* Hand the buffered input to the session. */
static void conn_ws_process(struct demo_conn *c)
{
	size_t pos = 0;

	while (!c->dead && !c->closing && pos < c->in.len) {
		size_t used = 0;
		enum demo_ws_state st =
		    demo_ws_input(c->ws, c->in.data + pos, c->in.len - pos, &used);
		pos += used;
		conn_ws_apply(c, st);
		if (used == 0)
			break;
	}
	if (c->dead)
		return;
	if (pos) {
		memmove(c->in.data, c->in.data + pos, c->in.len - pos);
		c->in.len -= pos;
	}
}

/* A chat message was queued to c's session while another connection was served. */
static void srv_ws_wake(void *owner)
{
	struct demo_conn *c = owner;
	struct demo_server *s = c->srv;

	if (c->woken)
		return;
	c->woken = true;
	c->wake_next = s->woken;
	s->woken = c;
}

/* --- dispatch --------------------------------------------------------------------------- */

/* Append n bytes and a NUL to b (which has room: no reallocation) and point *dst at them. */
static void job_copy(struct demo_buf *b, const char **dst, size_t *dlen, const char *src, size_t n)
{
	*dst = b->data + b->len;
	*dlen = n;
	demo_buf_append(b, src, n);
	b->data[b->len++] = '\0';
}

/* Copy what the worker needs out of the input buffer, which keeps moving. */
static void job_prepare(struct demo_job *j, enum demo_route r, const struct demo_req *req,
                        const char *param, size_t plen)
{
	struct demo_buf *b = &j->req;
	struct demo_call *call = &j->call;

	demo_buf_reset(b);
	demo_buf_reserve(b, plen + req->query_len + req->auth_len + req->body_len + 4);
	memset(call, 0, sizeof(*call));
	call->route = r;
	call->method = req->method;
	if (param)
		job_copy(b, &call->param, &call->param_len, param, plen);
	if (req->query)
		job_copy(b, &call->query, &call->query_len, req->query, req->query_len);
	if (req->auth)
		job_copy(b, &call->auth, &call->auth_len, req->auth, req->auth_len);
	job_copy(b, &call->body, &call->body_len, req->body, req->body_len);
}

static void exch_dispatch(struct demo_exch *x, const struct demo_req *req)
{
	struct demo_conn *c = x->conn;
	struct demo_server *s = c->srv;
	const char *param;
	size_t plen;
	char allow[64];

	x->route = demo_route_match(req->path, req->path_len, &param, &plen);
	x->method = req->method;
	x->head = req->method == DEMO_HEAD;
	x->keep_alive = req->keep_alive;
	x->minor = req->minor;
	x->t0 = now_us();
	if (c->rejecting) {
		s->conn_rejected++;
		exch_reply_json(x, 503, "{\"error\":\"too many connections\"}", NULL);
		if (c->h2)
			demo_h2_goaway(c->h2);
	} else if (req->method == DEMO_METHOD_OTHER) {
		exch_reply_error(x, 501, "method not implemented", NULL);
	} else if (x->route == DEMO_ROUTE_UNMATCHED) {
		exch_reply_error(x, 404, "not found", NULL);
	} else if (!demo_route_allows(x->route, req->method)) {
		snprintf(allow, sizeof(allow), "Allow: %s\r\n", demo_route_allow(x->route));
		exch_reply_error(x, 405, "method not allowed", allow);
	} else if (x->route == DEMO_ROUTE_WS_ECHO || x->route == DEMO_ROUTE_WS_CHAT) {
		if (x->stream) /* RFC 8441's extended CONNECT is not offered */
			exch_reply_error(x, 400, "WebSocket needs HTTP/1.1", NULL);
		else
			conn_upgrade(c, req);
	} else if (!demo_route_pooled(x->route)) {
		exch_inline(x, req);
	} else {
		job_prepare(&x->job, x->route, req, param, plen);
		if (demo_pool_submit(s->pool, &x->job)) {
			x->pooled = true;
			c->in_flight++;
		} else {
			s->queue_rejected++;
			exch_reply_error(x, 503,
			                 "server busy: every worker is busy and the queue is "
			                 "full",
			                 "Retry-After: 1\r\n");
		}
	}
}

/* --- HTTP/2 ------------------------------------------------------------------------------ */

/* An exchange for a stream: from the spares (with their buffers) or new. */
static struct demo_exch *exch_new(struct demo_conn *c, int32_t stream)
{
	struct demo_server *s = c->srv;
	struct demo_exch *x = s->spare_exch;
	struct demo_buf req = { 0 }, body = { 0 };
	struct demo_exch *prev = NULL, *next = s->all_exch;

	if (x) {
		s->spare_exch = x->next_spare;
		s->nspare_exch--;
		req = x->job.req;
		body = x->job.body;
		prev = x->all_prev;
		next = x->all_next;
	} else {
		x = xcalloc(1, sizeof(*x));
		if (next)
			next->all_prev = x;
		s->all_exch = x;
	}
	memset(x, 0, sizeof(*x));
	x->all_prev = prev;
	x->all_next = next;
	x->job.req = req;
	x->job.body = body;
	x->job.x = x;
	x->conn = c;
	x->stream = stream;
	return x;
}

/* Unlink an HTTP/2 exchange from the server's list and free it. */
static void exch_destroy(struct demo_server *s, struct demo_exch *x)
{
	if (x->all_prev)
		x->all_prev->all_next = x->all_next;
	else
		s->all_exch = x->all_next;
	if (x->all_next)
		x->all_next->all_prev = x->all_prev;
	demo_buf_free(&x->job.req);
	demo_buf_free(&x->job.body);
	free(x);
}

static void exch_free(struct demo_exch *x)
{
	struct demo_server *s = x->conn->srv;

	if (s->nspare_exch < FREE_KEEP) {
		demo_buf_shrink(&x->job.req, BUF_KEEP);
		demo_buf_shrink(&x->job.body, BUF_KEEP);
		x->next_spare = s->spare_exch;
		s->spare_exch = x;
		s->nspare_exch++;
		return;
	}
	exch_destroy(s, x);
}

/* A stream's request, complete (or refused with status): dispatched as an HTTP/1.1
 * request is, to the same handlers, pool and counters. */
static void srv_h2_request(void *owner, int32_t id, const struct demo_req *req, int status)
{
	struct demo_conn *c = owner;
	struct demo_exch *x = exch_new(c, id);
	const char *param;
	size_t plen;

	if (status) {
		x->method = req->method;
		x->route = demo_route_match(req->path, req->path_len, &param, &plen);
		x->head = req->method == DEMO_HEAD;
		x->t0 = now_us();
		exch_reply_error(x, status, req->error, NULL);
	} else {
		exch_dispatch(x, req);
	}
	if (!x->pooled)
		exch_free(x);
}

static void conn_h2_start(struct demo_conn *c)
{
	c->sniffing = false;
	if (demo_h2_new(srv_h2_request, c, &c->out, &c->h2) < 0)
		conn_close(c);
}

/* Hand the buffered input to the session (it takes all of it). */
static void conn_h2_process(struct demo_conn *c)
{
	int rc = demo_h2_input(c->h2, c->in.data, c->in.len);

	c->in.len = 0;
	if (rc < 0 || demo_h2_done(c->h2))
		c->closing = true;
}

/* Parse and answer the buffered requests, in order, until one goes to the pool. */
static void conn_process(struct demo_conn *c)
{
	struct demo_server *s = c->srv;
	size_t pos = 0;

	if (c->ws) {
		conn_ws_process(c);
		return;
	}
	if (c->sniffing && c->in.len > 0) {
		int pre = demo_h2_is_preface(c->in.data, c->in.len);
		if (pre < 0)
			return; /* a prefix of the preface: wait for the rest */
		c->sniffing = false;
		if (pre == 1)
			conn_h2_start(c);
	}
	if (c->h2) {
		if (!c->dead)
			conn_h2_process(c);
		return;
	}
	while (!c->in_flight && !c->closing && !c->dead && !s->draining && !c->ws &&
	       c->out.len - c->out_pos < OUT_HIGH_WATER && pos < c->in.len) {
		struct demo_req req;

		if (!c->req_start)
			c->req_start = now_us();
		int rc = demo_parser_feed(&c->parser, c->in.data + pos, c->in.len - pos, &req);
		if (rc == DEMO_PARSE_AGAIN) {
			if (req.expect_continue && !c->continue_sent) {
				demo_buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
				c->continue_sent = true;
			}
			break;
		}
		if (rc == DEMO_PARSE_ERROR) {
			if (pos) { /* labels come from the parser's offsets, relative to pos */
				memmove(c->in.data, c->in.data + pos, c->in.len - pos);
				c->in.len -= pos;
				pos = 0;
			}
			conn_label_partial(c);
			exch_reply_error(&c->x, req.status, req.error, NULL);
			break;
		}
		exch_dispatch(&c->x, &req);
		pos += req.total_len;
		demo_parser_reset(&c->parser);
		c->continue_sent = false;
		c->req_start = 0;
	}
	if (pos) {
		memmove(c->in.data, c->in.data + pos, c->in.len - pos);
		c->in.len -= pos;
	}
	if (c->ws && !c->dead)
		conn_ws_process(c); /* frames sent right after the handshake */
}

/* --- transports ------------------------------------------------------------------------- */

static enum demo_io plain_read(struct demo_conn *c, void *buf, size_t len, size_t *n)
{
	for (;;) {
		ssize_t r = recv(c->fd, buf, len, 0);
		if (r > 0) {
			*n = (size_t)r;
			return DEMO_IO_OK;
		}
		if (r == 0)
			return DEMO_IO_EOF;
		if (errno != EINTR)
			return errno == EAGAIN || errno == EWOULDBLOCK ? DEMO_IO_AGAIN
			                                               : DEMO_IO_ERR;
	}
}

static enum demo_io plain_write(struct demo_conn *c, const void *buf, size_t len, size_t *n)
{
	for (;;) {
		ssize_t r = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (r >= 0) {
			*n = (size_t)r;
			return r > 0 ? DEMO_IO_OK : DEMO_IO_ERR;
		}
		if (errno != EINTR)
			return errno == EAGAIN || errno == EWOULDBLOCK ? DEMO_IO_AGAIN
			                                               : DEMO_IO_ERR;
	}
}

static void plain_finish(struct demo_conn *c)
{
	UNUSED(c);
}

static enum demo_io tls_read(struct demo_conn *c, void *buf, size_t len, size_t *n)
{
	return demo_tls_read(c->ssl, buf, len, n);
}

/* (OpenSSL writes with write(2): a SIGPIPE it raises stays pending on the server's
 * threads, which block every signal.) */
static enum demo_io tls_write(struct demo_conn *c, const void *buf, size_t len, size_t *n)
{
	return demo_tls_write(c->ssl, buf, len, n);
}

static void tls_finish(struct demo_conn *c)
{
	demo_tls_shutdown(c->ssl);
}

static const struct demo_transport transport_plain = {
	.read = plain_read,
	.write = plain_write,
	.finish = plain_finish,
	.short_read_drains = true,
};

static const struct demo_transport transport_tls = {
	.read = tls_read,
	.write = tls_write,
	.finish = tls_finish,
	.short_read_drains = false,
};

/* --- connections ------------------------------------------------------------------------ */

static void conn_unlink(struct demo_conn *c)
{
	struct demo_server *s = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* The connection is closed and its job is back: reuse it after this batch of events. */
static void conn_release(struct demo_conn *c)
{
	struct demo_server *s = c->srv;

	conn_unlink(c);
	c->next = s->graveyard;
	s->graveyard = c;
}

static void conn_close(struct demo_conn *c)
{
	struct demo_server *s = c->srv;

	if (c->fd >= 0) {
		demo_tls_close(c->ssl);
		c->ssl = NULL;
		close(c->fd);
		c->fd = -1;
	}
	demo_ws_close(c->ws);
	c->ws = NULL;
	demo_h2_free(c->h2);
	c->h2 = NULL;
	if (!c->dead) {
		c->dead = true;
		if (c->rejecting)
			s->nrejecting--;
		else
			s->nconns--;
	}
	if (!c->in_flight)
		conn_release(c);
}

static void conn_free(struct demo_conn *c)
{
	demo_buf_free(&c->in);
	demo_buf_free(&c->out);
	demo_buf_free(&c->x.job.req);
	demo_buf_free(&c->x.job.body);
	free(c);
}

/* Move the connections released during the last batch to the reusable list. */
static void srv_bury(struct demo_server *s)
{
	while (s->graveyard) {
		struct demo_conn *c = s->graveyard;

		s->graveyard = c->next;
		if (s->nunused >= FREE_KEEP) {
			conn_free(c);
			continue;
		}
		c->in.len = c->out.len = c->out_pos = 0; /* leftovers of a closed connection */
		demo_buf_reset(&c->x.job.req);
		demo_buf_reset(&c->x.job.body);
		demo_buf_shrink(&c->in, RBUF_INITIAL);
		demo_buf_shrink(&c->out, BUF_KEEP);
		demo_buf_shrink(&c->x.job.req, BUF_KEEP);
		demo_buf_shrink(&c->x.job.body, BUF_KEEP);
		c->next = s->unused;
		s->unused = c;
		s->nunused++;
	}
}

static struct demo_conn *conn_new(struct demo_server *s, int fd)
{
	struct demo_conn *c = s->unused;
	struct demo_buf in, out, req, body;

	if (c) {
		s->unused = c->next;
		s->nunused--;
	} else {
		c = xcalloc(1, sizeof(*c));
	}
	in = c->in;
	out = c->out;
	req = c->x.job.req;
	body = c->x.job.body;
	memset(c, 0, sizeof(*c));
	c->in = in;
	c->out = out;
	c->x.job.req = req;
	c->x.job.body = body;
	demo_buf_reset(&c->in);
	demo_buf_reset(&c->out);
	c->srv = s;
	c->fd = fd;
	c->x.conn = c;
	c->x.job.x = &c->x;
	c->last_active = now_us();
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	return c;
}

/* Read what the socket has. ev: the epoll events (a short read is the end unless the
 * event also said the peer closed). Returns the bytes read. */
static size_t conn_read(struct demo_conn *c, uint32_t ev)
{
	size_t total = 0;

	while (!c->dead && !c->eof) {
		if (c->in.cap - c->in.len < 1024) {
			/* grow only for the request being received, not for a pipelined backlog */
			size_t want =
			    MIN(MAX(c->in.cap * 2, (size_t)RBUF_INITIAL), (size_t)RBUF_MAX);
			if (c->in.cap < RBUF_INITIAL ||
			    ((!c->in_flight || c->h2) && c->in.cap < RBUF_MAX))
				demo_buf_reserve(&c->in, want - c->in.len);
		}
		size_t room = c->in.cap - c->in.len;
		if (room == 0) {
			c->read_full = true;
			break;
		}
		size_t n = 0;
		enum demo_io io = c->srv->io->read(c, c->in.data + c->in.len, room, &n);
		if (io == DEMO_IO_OK) {
			c->in.len += n;
			total += n;
			c->last_active = now_us();
			if (n < room && c->srv->io->short_read_drains &&
			    !(ev & (EPOLLRDHUP | EPOLLHUP)))
				break;
			continue;
		}
		if (io == DEMO_IO_EOF)
			c->eof = true;
		else if (io == DEMO_IO_ERR)
			conn_close(c);
		break;
	}
	return total;
}

/* Send the queued output. Returns false when the connection was closed. */
static bool conn_flush(struct demo_conn *c)
{
	while (c->out_pos < c->out.len) {
		size_t n = 0;
		enum demo_io io =
		    c->srv->io->write(c, c->out.data + c->out_pos, c->out.len - c->out_pos, &n);
		if (io == DEMO_IO_OK) {
			c->out_pos += n;
			c->last_active = now_us();
			continue;
		}
		if (io == DEMO_IO_AGAIN)
			return true;
		conn_close(c);
		return false;
	}
	c->out.len = c->out_pos = 0;
	demo_buf_shrink(&c->out, BUF_KEEP);
	return true;
}

/* Discard input after the last response until the client closes (so that closing does
 * not reset the connection while the response is still unread, RFC 9112 §9.6). */
static void conn_linger_read(struct demo_conn *c)
{
	char sink[4096]; /* not a buffer per connection: thousands may linger at once */

	for (;;) {
		ssize_t n = recv(c->fd, sink, sizeof(sink), 0);
		if (n > 0) {
			c->discarded += (size_t)n;
			if (c->discarded > LINGER_DISCARD) {
				conn_close(c);
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_close(c);
		return;
	}
}

static void conn_linger(struct demo_conn *c)
{
	c->lingering = true;
	c->in.len = 0;
	c->deadline = now_us() + LINGER_US;
	c->srv->io->finish(c);
	shutdown(c->fd, SHUT_WR);
	conn_linger_read(c);
}

/* After I/O: close, linger, or set the deadline of the connection's state. */
static void conn_settle(struct demo_conn *c)
{
	struct demo_server *s = c->srv;
	bool out_pending = c->out_pos < c->out.len;

	if (c->dead || c->lingering)
		return;
	if (!out_pending && !c->in_flight) {
		if (c->closing) {
			conn_linger(c);
			return;
		}
		if (c->eof || s->draining) {
			conn_close(c);
			return;
		}
	}
	if (c->h2 && !out_pending)
		c->deadline = c->in_flight ? 0
		                           : c->last_active + (demo_h2_streams(c->h2)
		                                                   ? s->cfg.request_timeout_us
		                                                   : s->cfg.idle_timeout_us);
	else if (c->ws && c->ws_closing_since)
		c->deadline = c->ws_closing_since + DEMO_WS_CLOSE_WAIT_US;
	else if (c->ws && !out_pending && c->in.len == 0) {
		/* an idle session keeps no buffers */
		demo_buf_free(&c->in);
		demo_buf_free(&c->out);
		c->out_pos = 0;
		c->deadline = c->last_active + s->cfg.idle_timeout_us;
	} else if (c->in_flight)
		c->deadline = 0;
	else if (out_pending)
		c->deadline = c->last_active + s->cfg.idle_timeout_us;
	else if (c->in.len > 0 || c->rejecting || c->handshaking)
		c->deadline =
		    (c->req_start ? c->req_start : c->last_active) + s->cfg.request_timeout_us;
	else
		c->deadline = c->last_active + s->cfg.idle_timeout_us;
}

/* Process input, send output, and repeat while a full buffer held input back. */
static void conn_run(struct demo_conn *c, uint32_t ev)
{
	for (;;) {
		size_t in_before = c->in.len;

		conn_process(c);
		if (c->dead || !conn_flush(c))
			return;
		if (c->h2 && c->out_pos == c->out.len) {
			/* the output went out: frame more of the responses */
			if (demo_h2_output(c->h2) < 0 || demo_h2_done(c->h2))
				c->closing = true;
			if (c->out.len > 0)
				continue;
		}
		if (c->ws && c->out_pos == c->out.len) {
			/* the output went out: frame more of what the session queued */
			conn_ws_apply(c, demo_ws_output(c->ws));
			if (c->dead)
				return;
			if (c->out.len > 0 ||
			    (c->in.len > 0 && c->in.len < in_before && !c->closing))
				continue;
		}
		if (!c->read_full || c->eof || c->in.len == c->in.cap)
			break;
		c->read_full = false;
		if (conn_read(c, ev) == 0)
			break;
	}
	conn_settle(c);
}

/* One step of the TLS handshake; true once it is complete. */
static bool conn_handshake(struct demo_conn *c)
{
	switch (demo_tls_handshake(c->ssl)) {
	case DEMO_IO_OK:
		c->handshaking = false;
		c->req_start = 0; /* the request timeout now runs from the first request byte */
		c->last_active = now_us();
		if (c->srv->cfg.http2 && demo_tls_is_h2(c->ssl))
			conn_h2_start(c);
		return !c->dead;
	case DEMO_IO_AGAIN:
		conn_settle(c);
		return false;
	default:
		conn_close(c);
		return false;
	}
}

static void conn_event(struct demo_conn *c, uint32_t ev)
{
	if (c->fd < 0)
		return; /* closed earlier in this batch */
	if (ev & EPOLLERR) {
		conn_close(c);
		return;
	}
	if (c->lingering) {
		conn_linger_read(c);
		return;
	}
	if (c->handshaking && !conn_handshake(c))
		return;
	/* TLS: a record may wait in the session, or a read may need the socket writable */
	if (c->ssl || (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)))
		conn_read(c, ev);
	if (!c->dead)
		conn_run(c, ev);
}

/* The slow-client timer: answer 408 to an incomplete request, close the rest. */
static void srv_sweep(struct demo_server *s, int64_t now)
{
	struct demo_conn *c = s->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->dead || !c->deadline || now < c->deadline)
			continue;
		if (c->h2 && !c->lingering) {
			/* idle, or a stream's request not received in time: GOAWAY, then close */
			if (c->closing) {
				conn_close(c);
				continue;
			}
			demo_h2_goaway(c->h2);
			c->closing = true;
			conn_run(c, 0);
		} else if (c->ws && !c->lingering && !c->ws_closing_since) {
			/* idle: Close 1001, then the client gets 2 s to answer */
			conn_ws_apply(c, demo_ws_going_away(c->ws));
			c->ws_closing_since = now;
			if (!c->dead)
				conn_run(c, 0);
		} else if (!c->lingering && !c->in_flight && c->out_pos == c->out.len &&
		           c->in.len > 0) {
			conn_label_partial(c);
			exch_reply_error(&c->x, 408, "request not received in time", NULL);
			conn_run(c, 0);
		} else {
			conn_close(c);
		}
	}
	if (s->accept_resume && now >= s->accept_resume && s->listen_fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &listen_tag };
		epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &ev);
		s->accept_resume = 0;
	}
}

static void srv_accept(struct demo_server *s)
{
	for (int i = 0; i < 128; i++) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* out of descriptors: stop polling the listener for a while */
				struct epoll_event ev = { .events = 0, .data.ptr = &listen_tag };
				epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &ev);
				s->accept_resume = now_us() + ACCEPT_PAUSE_US;
			}
			return;
		}
		bool reject = s->nconns >= s->cfg.max_connections;
		if (reject && s->nrejecting >= MAX_REJECTING) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct demo_conn *c = conn_new(s, fd);
		c->rejecting = reject;
		c->sniffing = s->cfg.http2 && !s->tls;
		if (reject)
			s->nrejecting++;
		else
			s->nconns++;
		if (s->tls) {
			c->ssl = demo_tls_session(s->tls, fd);
			c->handshaking = true;
			c->req_start = c->last_active; /* the handshake must end in time */
			if (!c->ssl) {
				conn_close(c);
				continue;
			}
		}
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
			                  .data.ptr = c };
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			conn_close(c);
		else
			conn_settle(c);
	}
}

/* --- workers and completions ------------------------------------------------------------ */

static void srv_work(void *ud, void *item, int worker)
{
	struct demo_server *s = ud;
	struct demo_job *j = item;
	struct demo_worker *w = &s->workers[worker];

	demo_live_refresh(&s->live, &w->cfg, &w->gen);
	w->ctx.cfg = &w->cfg;
	w->ctx.pool = s->pool;
	int64_t stall = demo_stall_remaining(&w->cfg, now_us());
	if (stall > 0)
		demo_pool_sleep(s->pool, stall);
	j->status = demo_api_serve(s->api, &w->ctx, &j->call, &j->body);

	pthread_mutex_lock(&s->done_lock);
	bool was_empty = s->done == NULL;
	j->next = s->done;
	s->done = j;
	pthread_mutex_unlock(&s->done_lock);
	if (was_empty) {
		uint64_t one = 1;
		ssize_t n = write(s->wake_fd, &one, sizeof(one));
		UNUSED(n);
	}
}

/* Answer the requests the workers finished, oldest first. */
static void srv_complete(struct demo_server *s)
{
	uint64_t v;
	struct demo_job *list, *fifo = NULL;
	ssize_t n = read(s->wake_fd, &v, sizeof(v));

	UNUSED(n);
	pthread_mutex_lock(&s->done_lock);
	list = s->done;
	s->done = NULL;
	pthread_mutex_unlock(&s->done_lock);
	while (list) {
		struct demo_job *j = list;
		list = j->next;
		j->next = fifo;
		fifo = j;
	}
	while (fifo) {
		struct demo_job *j = fifo;
		struct demo_exch *x = j->x;
		struct demo_conn *c = x->conn;

		fifo = j->next;
		c->in_flight--;
		x->pooled = false;
		if (c->dead) { /* the client is gone; the response still counts as produced */
			srv_count(s, x->method, x->route, j->status, x->t0);
			if (x->stream)
				exch_free(x);
			if (!c->in_flight)
				conn_release(c);
			continue;
		}
		exch_reply(x, j->status, "application/json", j->body.data, j->body.len, NULL);
		if (x->stream)
			exch_free(x);
		conn_run(c, 0);
	}
}

/* Send what chat messages queued to other sessions. */
static void srv_run_woken(struct demo_server *s)
{
	while (s->woken) {
		struct demo_conn *c = s->woken;

		s->woken = c->wake_next;
		c->wake_next = NULL;
		c->woken = false;
		if (!c->dead && c->ws)
			conn_run(c, 0);
	}
}

/* --- the loop ----------------------------------------------------------------------------- */

static void srv_begin_drain(struct demo_server *s, int64_t now)
{
	struct demo_conn *c, *next;

	s->draining = true;
	s->drain_deadline = now + s->cfg.shutdown_timeout_us;
	if (s->listen_fd >= 0) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
		close(s->listen_fd);
		s->listen_fd = -1;
	}
	for (c = s->conns; c; c = next) {
		next = c->next;
		if (c->h2 && !c->dead && !c->lingering) { /* GOAWAY: its streams finish */
			demo_h2_goaway(c->h2);
			conn_run(c, 0);
			continue;
		}
		if (c->dead || c->lingering || c->in_flight)
			continue;
		if (c->ws) { /* Close 1001, sent before the connection is closed */
			conn_ws_apply(c, demo_ws_going_away(c->ws));
			if (c->dead)
				continue;
			c->closing = true;
			conn_run(c, 0);
			continue;
		}
		if (c->out_pos < c->out.len)
			c->closing = true;
		else
			conn_close(c);
	}
}

static void srv_close_all(struct demo_server *s)
{
	struct demo_conn *c, *next;

	for (c = s->conns; c; c = next) {
		next = c->next;
		if (!c->dead)
			conn_close(c);
	}
	s->woken = NULL;
	srv_bury(s);
}

/* Stop answering for us microseconds (the --stall knob), or until told to stop. */
static void srv_stall(struct demo_server *s, int64_t us)
{
	int64_t end = now_us() + us;

	while (!atomic_load(&s->stop)) {
		int64_t left = end - now_us();
		if (left <= 0)
			break;
		struct timespec ts = { 0, (long)MIN(left, 10000) * 1000 };
		nanosleep(&ts, NULL);
	}
}

static void *srv_main(void *arg)
{
	struct demo_server *s = arg;
	struct epoll_event evs[MAX_EVENTS];
	int64_t next_sweep = now_us() + SWEEP_US;

	pthread_setname_np(pthread_self(), "demo-frontend");
	for (;;) {
		int64_t now = now_us();
		int stop = atomic_load(&s->stop);

		demo_live_refresh(&s->live, &s->cfg, &s->cfg_gen);
		if (stop && !s->draining)
			srv_begin_drain(s, now);
		if (s->draining && (!s->conns || stop >= 2 || now >= s->drain_deadline))
			break;
		int timeout = (int)MAX(1, (next_sweep - now + 999) / 1000);
		int n = epoll_wait(s->epfd, evs, MAX_EVENTS, timeout);
		now = now_us();
		int64_t stall = demo_stall_remaining(&s->cfg, now);
		if (stall > 0 && !s->draining)
			srv_stall(s, stall);
		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;
			if (tag == &listen_tag) {
				if (s->listen_fd >= 0)
					srv_accept(s);
			} else if (tag == &wake_tag) {
				srv_complete(s);
			} else {
				conn_event(tag, evs[i].events);
			}
		}
		srv_run_woken(s);
		now = now_us();
		if (now >= next_sweep) {
			srv_sweep(s, now);
			next_sweep = now + SWEEP_US;
		}
		srv_run_woken(s);
		srv_bury(s);
	}
	srv_close_all(s);
	atomic_store(&s->finished, true);
	return NULL;
}

/* --- lifecycle ---------------------------------------------------------------------------- */

static int srv_listen(struct demo_server *s, const char *host, int port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
		                  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	char portstr[16];
	int rc = -EADDRNOTAVAIL, one = 1;

	snprintf(portstr, sizeof(portstr), "%d", port);
	if (getaddrinfo(host, portstr, &hints, &res) != 0 || !res)
		return -EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                ai->ai_protocol);
		if (fd < 0) {
			rc = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
			rc = -errno;
			close(fd);
			continue;
		}
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &len);
		s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                                         : ((struct sockaddr_in *)&ss)->sin_port);
		s->listen_fd = fd;
		rc = 0;
		break;
	}
	freeaddrinfo(res);
	return rc;
}

static void srv_free(struct demo_server *s)
{
	struct demo_conn *c;

	demo_pool_destroy(s->pool);
	while ((c = s->conns)) {
		conn_unlink(c);
		demo_ws_close(c->ws);
		if (c->fd >= 0) {
			demo_tls_close(c->ssl);
			close(c->fd);
		}
		conn_free(c);
	}
	srv_bury(s);
	while ((c = s->unused)) {
		s->unused = c->next;
		conn_free(c);
	}
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	if (s->epfd >= 0)
		close(s->epfd);
	demo_api_free(s->api);
	demo_tls_free(s->tls);
	demo_ws_hub_free(s->ws_hub);
	while (s->all_exch) /* spares, and the streams' jobs the pool dropped at the stop */
		exch_destroy(s, s->all_exch);
	demo_buf_free(&s->index_text);
	demo_buf_free(&s->index_json);
	demo_buf_free(&s->scratch);
	free(s->workers);
	pthread_mutex_destroy(&s->done_lock);
	demo_live_destroy(&s->live);
	free(s);
}

int demo_server_start(const struct demo_config *cfg, struct demo_server **out)
{
	struct demo_server *s = xcalloc(1, sizeof(*s));
	sigset_t all, old;
	int rc;

	if (cfg->workers < 1 || cfg->queue < 0 || cfg->max_connections < 1) {
		free(s);
		return -EINVAL;
	}
	s->listen_fd = s->epfd = s->wake_fd = -1;
	pthread_mutex_init(&s->done_lock, NULL);
	demo_live_init(&s->live, cfg);
	s->start_time = (double)wall_us() / 1e6;
	demo_metrics_init(&s->metrics);
	s->ws_hub = demo_ws_hub_new(srv_ws_wake);
	demo_api_index_text(&s->index_text);
	demo_api_index_json(&s->index_json);
	s->io = &transport_plain;
	if (cfg->tls) {
		char err[256];
		rc = demo_tls_new(&s->tls, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "serve-demo: %s\n", err);
			goto out_free;
		}
		s->io = &transport_tls;
		demo_tls_set_h2(s->tls, cfg->http2);
	}
	rc = srv_listen(s, cfg->host, cfg->port);
	if (rc < 0)
		goto out_free;
	s->live.cfg.port = s->port;
	demo_live_refresh(&s->live, &s->cfg, &s->cfg_gen);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->epfd < 0 || s->wake_fd < 0) {
		rc = -errno;
		goto out_free;
	}
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = &listen_tag };
	struct epoll_event wev = { .events = EPOLLIN, .data.ptr = &wake_tag };
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &lev) < 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wake_fd, &wev) < 0) {
		rc = -errno;
		goto out_free;
	}
	s->api = demo_api_new();
	s->workers = xcalloc((size_t)cfg->workers, sizeof(*s->workers));
	for (int i = 0; i < cfg->workers; i++)
		s->workers[i].ctx.rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);

	/* the server's threads never take the process's signals */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = demo_pool_create(cfg->workers, cfg->queue, srv_work, s, &s->pool);
	if (rc == 0) {
		rc = -pthread_create(&s->thread, NULL, srv_main, s);
		if (rc < 0) {
			demo_pool_destroy(s->pool);
			s->pool = NULL;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0)
		goto out_free;
	*out = s;
	return 0;
out_free:
	srv_free(s);
	return rc;
}

int demo_server_port(const struct demo_server *s)
{
	return s->port;
}

const char *demo_server_cert_pem(const struct demo_server *s)
{
	return s->tls ? demo_tls_cert_pem(s->tls) : NULL;
}

uint64_t demo_server_responses(const struct demo_server *s)
{
	return atomic_load_explicit(&s->responses, memory_order_relaxed);
}

/* Ask the front end to stop: level 1 gracefully, 2 at once. */
static void srv_request_stop(struct demo_server *s, int level)
{
	uint64_t one = 1;

	if (atomic_load(&s->stop) < level)
		atomic_store(&s->stop, level);
	ssize_t n = write(s->wake_fd, &one, sizeof(one));
	UNUSED(n);
}

void demo_server_stop(struct demo_server *s)
{
	if (!s)
		return;
	srv_request_stop(s, 1);
	pthread_join(s->thread, NULL);
	srv_free(s);
}

static bool host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Write the server's certificate for clients' --cacert. Returns 0 or a negative errno. */
static int srv_write_ca(const struct demo_server *s, const char *path)
{
	const char *pem = demo_server_cert_pem(s);
	char err[512];
	int rc;

	if (!pem)
		return 0;
	rc = outfile_write(path, pem, strlen(pem), err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "stampede serve-demo: --write-ca: %s\n", err);
	return rc;
}

int demo_server_run(const struct demo_config *cfg, const char *ca_path)
{
	struct demo_server *s;
	sigset_t set, old;
	int sig, rc;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	raise_fd_limit();
	rc = demo_server_start(cfg, &s);
	if (rc < 0) {
		fprintf(stderr, "stampede serve-demo: cannot listen on %s port %d: %s\n", cfg->host,
		        cfg->port, strerror(-rc));
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return 1;
	}
	if (ca_path && srv_write_ca(s, ca_path) < 0) {
		demo_server_stop(s);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return 1;
	}
	bool v6 = strchr(cfg->host, ':') != NULL;
	printf("serve-demo: listening on %s://%s%s%s:%d (%d workers, queue %d)\n",
	       cfg->tls ? "https" : "http", v6 ? "[" : "", cfg->host, v6 ? "]" : "", s->port,
	       cfg->workers, cfg->queue);
	if (ca_path && cfg->tls)
		printf("serve-demo: certificate written to %s (stampede run --cacert %s)\n",
		       ca_path, ca_path);
	fflush(stdout);
	if (!host_is_loopback(cfg->host))
		fprintf(stderr,
		        "serve-demo: warning: %s is not a loopback address; anyone who "
		        "reaches it may load the server and change its knobs (/admin/config)\n",
		        cfg->host);

	while (sigwait(&set, &sig) != 0)
		;
	fprintf(stderr, "serve-demo: %s: finishing in-flight requests\n",
	        sig == SIGTERM ? "SIGTERM" : "SIGINT");
	srv_request_stop(s, 1);
	while (!atomic_load(&s->finished)) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		if (sigtimedwait(&set, NULL, &ts) > 0) {
			fprintf(stderr,
			        "serve-demo: second signal: closing every connection now\n");
			srv_request_stop(s, 2);
		}
	}
	uint64_t n = demo_server_responses(s);
	demo_server_stop(s);
	fprintf(stderr, "serve-demo: stopped after %llu responses\n", (unsigned long long)n);
	struct timespec zero = { 0, 0 };
	while (sigtimedwait(&set, NULL, &zero) > 0)
		; /* a signal that came late must not kill us when unblocked */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}
