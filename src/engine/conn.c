/* conn.c: HTTP/1.1 exchanges over pooled keep-alive connections, edge-triggered events
 * (epoll, or io_uring: plain TCP then reads and sends through the loop's streams). */
#include "engine/conn.h"

#include "engine/conn_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "util/common.h"

/* A connect that fails for want of local resources (fds, ports, socket memory) fails the
 * request only after a back-off that doubles per failure on the worker, as a real client
 * would, instead of letting its VU spin: 10 ms, 20 ms, ... up to 1 s; a connect that
 * succeeds resets it. */
#define BACKOFF_MIN_US 10000
#define BACKOFF_MAX_US 1000000

/* The most a connection reads per readiness event before it yields to the loop (see
 * conn_read): 512 KiB, and at most 64 reads (TLS records can be small). Large enough that
 * a big body costs one extra loop turn (a non-blocking epoll_wait) per 512 KiB, well under
 * 1% of reading it; small enough that timers, stop requests and the other connections
 * wait a fraction of a millisecond per connection streaming a body. */
#define READ_BUDGET_BYTES (512 * 1024)
#define READ_BUDGET_CALLS 64

/* The events that say there is something to read: data, the peer's FIN, an error. */
#define EV_INPUT (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)

static void conn_start_request(struct conn *k, int64_t now);
static void conn_read(struct conn *k, uint32_t events);
static void call_finish_at(struct conn *k, enum err_kind err, int64_t t_end);

/* End k's call with err now. */
static void call_finish(struct conn *k, enum err_kind err)
{
	call_finish_at(k, err, now_us());
}

/* --- parsers: only requests in flight hold one (8 kB each) ------------------------ */

void call_add_header(void *ud, const char *name, size_t nlen, const char *val, size_t vlen)
{
	struct http_call *c = ud;
	struct buf *b = &c->headers;
	buf_reserve(b, nlen + vlen + 2);
	char *p = b->p + b->len;
	memcpy(p, name, nlen);
	p[nlen] = '\0';
	memcpy(p + nlen + 1, val, vlen);
	p[nlen + 1 + vlen] = '\0';
	b->len += nlen + vlen + 2;
	b->p[b->len] = '\0';
	c->nheaders++;
	if (nlen == 10 && !strncasecmp(name, "set-cookie", 10))
		c->set_cookies++;
}

/* Past the call's limit nothing more is kept: conn_read ends the call after this feed. */
static void on_body(void *ud, const char *data, size_t len)
{
	struct http_call *c = ud;
	if (c->discard_body || (int64_t)(c->body.len + len) > c->body_limit)
		return;
	buf_add(&c->body, data, len);
}

static const struct http_parser_cb capture_cb = { .on_header = call_add_header,
	                                          .on_body = on_body };

static struct http_parser *parser_get(struct netctx *nc, struct http_call *c)
{
	struct http_parser *p = nc->free_parsers;
	if (p)
		nc->free_parsers = p->ud;
	else
		p = xcalloc(1, sizeof(*p));
	char *linebuf = p->linebuf; /* pooled parsers keep their line buffer */
	http_parser_init(p, c->capture ? &capture_cb : NULL, c);
	p->linebuf = linebuf;
	http_parser_reset(p, c->head);
	return p;
}

static void parser_put(struct netctx *nc, struct http_parser *p)
{
	p->ud = nc->free_parsers;
	nc->free_parsers = p;
}

void netctx_free(struct netctx *nc)
{
	while (nc->free_parsers) {
		struct http_parser *p = nc->free_parsers;
		nc->free_parsers = p->ud;
		http_parser_free(p);
		free(p);
	}
}

/* --- connections ------------------------------------------------------------------ */

/* Say once, clearly, when the machine runs out of file descriptors or ports. */
static void warn_conn_limit(struct netctx *nc, int err)
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
	if (__atomic_exchange_n(nc->limit_warned, 1, __ATOMIC_RELAXED))
		return;
	fprintf(stderr,
	        "\nstampede: cannot open more connections: %s, with %d connections open%s; "
	        "further attempts fail as connect_error\n",
	        what, __atomic_load_n(nc->conns_open, __ATOMIC_RELAXED), limit);
}

static void restart_waiters(struct conn *k);
static void start_on_pool(struct netctx *nc, struct connpool *pool, struct http_call *c,
                          int64_t now);

/* Close k's connection (its protocol drops the calls still on it without done(): a hard
 * stop, or an idle connection). */
static void conn_close(struct conn *k)
{
	if (k->ops && k->ops->detach)
		k->ops->detach(k, ERR_NONE);
	k->ops = NULL;
	if (k->waiters)
		restart_waiters(k);
	resolver_cancel(k->nc->resolver, &k->rq);
	loop_io_cancel_pending(k->nc->loop, &k->io);
	if (k->sock.fd >= 0) {
		loop_release_fd(k->nc->loop, &k->io);
		sock_close(&k->sock);
		__atomic_sub_fetch(k->nc->conns_open, 1, __ATOMIC_RELAXED);
	}
	loop_timer_cancel(k->nc->loop, &k->timer);
	k->sock.ops = &sock_plain_ops;
	k->target = NULL;
	k->reqs = 0;
	k->rs = RS_IDLE;
}

void conn_close_err(struct conn *k, enum err_kind err)
{
	if (k->ops && k->ops->detach)
		k->ops->detach(k, err);
	k->ops = NULL;
	conn_close(k);
}

static void arm_deadline(struct conn *k)
{
	int64_t when = k->call->deadline;
	if (k->rs == RS_CONNECTING || k->rs == RS_HANDSHAKE)
		when = MIN(when, k->conn_deadline);
	loop_timer_at(k->nc->loop, &k->timer, when);
}

/* Send the rest of the request. events: those of the readiness event that led here (0 when
 * none did): what they say about input is read once the request is out, since that edge is
 * spent (a server that closed its side at accept sends no further one). */
static void conn_write(struct conn *k, uint32_t events)
{
	struct http_call *c = k->call;
	while (k->wpos < c->req_len) {
		size_t n = 0;
		enum io_res r =
		    k->sock.ops->write(&k->sock, c->req + k->wpos, c->req_len - k->wpos, &n);
		if (r == IO_AGAIN)
			return; /* EPOLLOUT (edge) resumes */
		if (r != IO_OK) {
			call_finish(k, r == IO_EOF ? ERR_RESET : k->sock.err);
			return;
		}
		k->wpos += n;
		c->bytes_sent += n;
	}
	c->t_sent = now_us();
	loop_stream_sent_at(k->nc->loop, &k->io, &c->t_sent); /* io_uring: when all out */
	k->rs = RS_WAITING;
	/* a stream may hold input whose event came while the send was still queued */
	if ((events & EV_INPUT) || loop_stream_readable(k->nc->loop, &k->io))
		conn_read(k, events);
}

static void conn_ready_to_send(struct conn *k, uint32_t events)
{
	struct http_call *c = k->call;
	c->t_tls = now_us();
	c->t_send = c->t_tls;
	c->proto = PROTO_HTTP11;
	k->rs = RS_SENDING;
	arm_deadline(k);
	conn_write(k, events);
}

/* The call c, not yet on a protocol, ends with err at t (its connection was not made). */
static void fail_unattached(struct http_call *c, enum err_kind err, int64_t t)
{
	c->t_end = t;
	if (!c->t_conn || c->t_conn > t)
		c->t_conn = t;
	c->t_connected = c->t_tls = c->t_send = t;
	c->t_sent = c->t_first = 0;
	c->err = err;
	c->status = 0;
	c->conn = NULL;
	c->in_flight = false;
	c->done(c);
}

/* The calls that waited for k go to connections of their own (k speaks HTTP/1.1, or
 * closes before it could carry them). */
static void restart_waiters(struct conn *k)
{
	struct http_call *w = k->waiters;
	k->waiters = NULL;
	while (w) { /* not a retry: nothing was sent yet */
		struct http_call *next = w->link;
		w->conn = NULL;
		start_on_pool(k->nc, k->pool, w, now_us());
		w = next;
	}
}

/* k's connection (and TLS handshake) is up: attach the protocol the server chose by ALPN
 * (HTTP/2 with --http2 prior knowledge on plain http://), and send the calls over it. */
static void conn_attach(struct conn *k, uint32_t events)
{
	struct http_call *c = k->call;
	struct netctx *nc = k->nc;
	bool h2 = !c->upgrade && (k->target->tls ? tls_alpn_is_h2(&k->sock) : nc->h2 == H2_PRIOR);
	if (!h2) {
		k->ops = &proto_h1_ops;
		if (k->target->tls && nc->h2 != H2_OFF && nc->h2_warned && !c->upgrade &&
		    !__atomic_exchange_n(nc->h2_warned, 1, __ATOMIC_RELAXED))
			fprintf(stderr,
			        "\nstampede: warning: %s:%u did not choose HTTP/2 by ALPN: its "
			        "requests go over HTTP/1.1 (the proto tag says which)\n",
			        k->target->host, k->target->port);
		restart_waiters(k);
		conn_ready_to_send(k, events);
		return;
	}
	int64_t now = now_us();
	c->t_tls = c->t_send = now;
	parser_put(nc, k->parser);
	k->parser = NULL;
	k->call = NULL;
	struct http_call *w = k->waiters;
	k->waiters = NULL;
	k->ops = &proto_h2_ops;
	k->rs = RS_OPEN;
	loop_timer_cancel(nc->loop, &k->timer);
	enum err_kind e = k->ops->attach(k);
	if (e) {
		k->ops = NULL;
		conn_close(k);
		fail_unattached(c, e, now);
		while (w) {
			struct http_call *next = w->link;
			fail_unattached(w, e, now);
			w = next;
		}
		return;
	}
	k->ops->submit(k, c, events);
	while (w) {
		struct http_call *next = w->link;
		if (k->rs == RS_OPEN && k->ops->can_take_more(k)) {
			w->t_conn = w->t_connected = w->t_tls = w->t_send = now;
			w->conn_fresh = false;
			w->conn = k;
			k->ops->submit(k, w, 0);
		} else {
			w->conn = NULL;
			start_on_pool(nc, k->pool, w, now);
		}
		w = next;
	}
}

/* The TCP connect of k succeeded (events: as for conn_write). */
static void conn_connected(struct conn *k, uint32_t events)
{
	struct http_call *c = k->call;
	struct netctx *nc = k->nc;
	c->t_connected = now_us();
	nc->connect_backoff_us = 0;
	if (k->target->tls) {
		if (tls_attach(&k->sock, nc->tls_ctx, k->target->host, nc->verify,
		               nc->h2 != H2_OFF && !c->upgrade) < 0) {
			call_finish(k, ERR_TLS);
			return;
		}
		k->rs = RS_HANDSHAKE;
		enum io_res r = k->sock.ops->handshake(&k->sock);
		if (r == IO_AGAIN)
			return;
		if (r != IO_OK) {
			call_finish(k, k->sock.err ? k->sock.err : ERR_TLS);
			return;
		}
	} else if (!c->upgrade && nc->h2 != H2_PRIOR) {
		/* io_uring: recv and send (HTTP/1.1 only: upgraded sockets and HTTP/2's
		 * writes go on without the loop's streams) */
		sock_stream_attach(&k->sock, nc->loop, &k->io);
	}
	conn_attach(k, events);
}

static bool retry_allowed(struct conn *k)
{
	struct http_call *c = k->call;
	return c->idempotent && !c->conn_fresh && !c->retried && c->bytes_recv == 0 &&
	       http_parser_idle(k->parser) && k->parser->header_bytes == 0;
}

/* A reused keep-alive connection failed before any response byte: most often the server
 * closed it as idle while the request was on its way, so an idempotent request is sent
 * again once on a fresh connection (RFC 9112 §9.3.1). A non-idempotent one never is: the
 * server may have processed it; it fails instead. */
static void conn_retry(struct conn *k)
{
	k->call->retried = true;
	conn_close(k);
	k->target = k->call->target;
	conn_start_request(k, now_us());
}

/* The response's body passed the call's limit, or its Content-Length says it will. */
static bool body_too_large(const struct conn *k)
{
	int64_t max = k->call->body_limit;
	return k->parser->body_bytes > max || http_parser_body_length(k->parser) > max;
}

/* Read and parse what the socket has, up to the read budget. Past the budget, k yields:
 * its io is made pending, so that the loop calls this again on its next turn (with the same
 * events) after its timers and other fds; the edge-triggered fd would not fire again for
 * bytes already in the kernel or in OpenSSL's buffer. */
static void conn_read(struct conn *k, uint32_t events)
{
	struct http_call *c = k->call;
	struct netctx *nc = k->nc;
	size_t budget = READ_BUDGET_BYTES;
	int calls = READ_BUDGET_CALLS;
	/* A short read means the socket is drained and the next arrival raises a new edge,
	 * unless the peer's FIN (or an error) came with this event: then read to the end. */
	bool until_again =
	    k->sock.ops == &sock_tls_ops || (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR));
	for (;;) {
		size_t n = 0;
		enum io_res r = k->sock.ops->read(&k->sock, nc->rbuf, nc->rbuf_len, &n);
		if (r == IO_AGAIN)
			return;
		if (r == IO_OK) {
			int64_t t_read = 0; /* set when this read is the first: then it is now */
			if (c->bytes_recv == 0)
				c->t_first = t_read = now_us();
			c->bytes_recv += n;
			budget -= MIN(budget, n);
			size_t used = http_parser_feed(k->parser, nc->rbuf, n);
			if (k->parser->error != HPE_OK) {
				call_finish(k, err_from_parse(k->parser->error));
				return;
			}
			if (body_too_large(k)) {
				call_finish(k, ERR_BODY_TOO_LARGE);
				return;
			}
			if (http_parser_done(k->parser)) {
				if (c->upgrade && k->parser->status == 101) /* the new protocol's */
					buf_add(&c->upgraded_extra, nc->rbuf + used, n - used);
				/* Bytes nobody asked for, or the server's FIN came with the
				 * response (no new edge would say so): do not reuse. */
				if (used < n || (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
					k->parser->keep_alive = false;
				call_finish_at(k, ERR_NONE, t_read ? t_read : now_us());
				return;
			}
			if (n < nc->rbuf_len && !until_again)
				return;
			if (budget == 0 || --calls == 0) { /* yield; the loop calls again */
				loop_io_pending(nc->loop, &k->io, events);
				return;
			}
			continue;
		}
		if (r == IO_EOF) {
			if (retry_allowed(k)) {
				conn_retry(k);
				return;
			}
			enum http_perr pe = http_parser_eof(k->parser);
			if (http_parser_done(k->parser)) {
				k->parser->keep_alive = false;
				call_finish(k, ERR_NONE);
			} else if (c->bytes_recv == 0) {
				call_finish(k, ERR_EMPTY_RESPONSE);
			} else {
				call_finish(k, err_from_parse(pe == HPE_OK ? HPE_TRUNCATED : pe));
			}
			return;
		}
		if (retry_allowed(k)) {
			conn_retry(k);
			return;
		}
		call_finish(k, k->sock.err ? k->sock.err : ERR_RESET);
		return;
	}
}

/* An idle keep-alive connection became readable: the server closed it (or sent something
 * nobody asked for). Either way it cannot be reused. */
static void conn_idle_event(struct conn *k)
{
	size_t n;
	enum io_res r = k->sock.ops->read(&k->sock, k->nc->rbuf, k->nc->rbuf_len, &n);
	if (r != IO_AGAIN)
		conn_close(k);
}

/* HTTP/1.1's readiness: an idle keep-alive connection, or the one call in flight. */
static void h1_on_io(struct conn *k, uint32_t events)
{
	switch (k->rs) {
	case RS_IDLE:
		if (k->sock.fd >= 0 && (events & EV_INPUT))
			conn_idle_event(k);
		break;
	case RS_SENDING:
		conn_write(k, events);
		break;
	case RS_WAITING:
		if (events & EV_INPUT)
			conn_read(k, events);
		break;
	default:
		break;
	}
}

static void conn_on_io(void *ud, uint32_t events)
{
	struct conn *k = ud;
	if (k->ops) { /* attached: the protocol's */
		k->ops->on_io(k, events);
		return;
	}
	switch (k->rs) {
	case RS_BACKOFF: /* no socket: the timer ends the call */
	case RS_RESOLVING:
	case RS_IDLE:
		break;
	case RS_CONNECTING:
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			break;
		if (sock_finish_connect(&k->sock) != IO_OK) {
			call_finish(k, k->sock.err);
			break;
		}
		conn_connected(k, events);
		break;
	case RS_HANDSHAKE: {
		enum io_res r = k->sock.ops->handshake(&k->sock);
		if (r == IO_AGAIN)
			break;
		if (r != IO_OK) {
			call_finish(k, k->sock.err ? k->sock.err : ERR_TLS);
			break;
		}
		conn_attach(k, events);
		break;
	}
	default:
		break;
	}
}

static void h1_on_timer(struct conn *k)
{
	if (k->call)
		call_finish(k, ERR_REQUEST_TIMEOUT);
}

static void conn_on_timer(struct loop_timer *t, void *ud)
{
	struct conn *k = ud;
	if (k->ops) { /* attached: the deadlines of the calls on it */
		k->ops->on_timer(k);
		return;
	}
	if (!k->call)
		return;
	if (k->rs == RS_BACKOFF) {
		call_finish(k, k->backoff_err);
		return;
	}
	/* Before the request could be sent, the phase that did not finish in time is the
	 * error, whichever deadline (--connect-timeout or --timeout) came first: the server
	 * never saw the request, and the kind says so (docs/cli.md, "What the counts mean"). */
	switch (k->rs) {
	case RS_RESOLVING:
		call_finish(k, ERR_DNS);
		break;
	case RS_CONNECTING:
		call_finish(k, ERR_CONNECT_TIMEOUT);
		break;
	case RS_HANDSHAKE:
		call_finish(k, ERR_TLS);
		break;
	default:
		call_finish(k, ERR_REQUEST_TIMEOUT);
		break;
	}
}

static bool local_shortage(int e)
{
	return e == EMFILE || e == ENFILE || e == EADDRNOTAVAIL || e == ENOBUFS || e == ENOMEM;
}

/* The connect of k failed for want of local resources: end the call after the worker's
 * back-off (bounded by the call's deadline) rather than at once. Returns true if it will. */
static bool connect_backoff(struct conn *k)
{
	struct netctx *nc = k->nc;
	if (!local_shortage(k->sock.sys_errno))
		return false;
	nc->connect_backoff_us = nc->connect_backoff_us
	                             ? MIN(nc->connect_backoff_us * 2, BACKOFF_MAX_US)
	                             : BACKOFF_MIN_US;
	k->backoff_err = k->sock.err;
	k->rs = RS_BACKOFF;
	loop_timer_at(nc->loop, &k->timer,
	              MIN(loop_now(nc->loop) + nc->connect_backoff_us, k->call->deadline));
	return true;
}

/* Open a connection to addr (the target's host, looked up) and send k->call over it. */
static void conn_connect(struct conn *k, const struct sockaddr *addr, socklen_t addrlen)
{
	struct http_call *c = k->call;
	struct netctx *nc = k->nc;

	k->rs = RS_CONNECTING;
	k->conn_deadline = c->t_conn + nc->connect_timeout_us;
	k->sock.ops = &sock_plain_ops;
	k->sock.err = ERR_NONE;
	enum io_res r = sock_connect(&k->sock, addr, addrlen);
	if (k->sock.fd >= 0)
		__atomic_add_fetch(nc->conns_open, 1, __ATOMIC_RELAXED);
	if (r == IO_ERR) {
		warn_conn_limit(nc, k->sock.sys_errno);
		if (!connect_backoff(k))
			call_finish(k, k->sock.err);
		return;
	}
	k->io.fd = k->sock.fd;
	if (loop_add_fd(nc->loop, &k->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0) {
		call_finish(k, ERR_CONNECT);
		return;
	}
	if (r == IO_OK) {
		conn_connected(k, 0);
		return;
	}
	arm_deadline(k);
}

/* The lookup of k's target host answered (possibly within resolver_lookup): the wait so far
 * counts as blocked, and the connect starts now. */
static void conn_on_resolved(struct resolver_query *q, void *ud, int err,
                             const struct sockaddr *addr, socklen_t len)
{
	struct conn *k = ud;
	struct http_call *c = k->call;

	c->t_conn = now_us();
	if (err) {
		call_finish(k, ERR_DNS);
		return;
	}
	conn_connect(k, addr, len);
}

/* Whether idle k can still carry a request: nothing (no FIN, no stray bytes, no TLS alert)
 * is waiting to be read. Costs one recv(MSG_PEEK), so it is asked only before a request
 * that must not be resent (RFC 9112 §9.3.1): a POST sent on a connection the server has
 * already closed would fail although the server never saw it. */
static bool conn_still_open(struct conn *k)
{
	char b;
	if (loop_stream_readable(k->nc->loop, &k->io)) /* received, not yet read */
		return false;
	ssize_t n = recv(k->sock.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0) /* over TLS it may be a session ticket: only EOF says closed */
		return k->sock.ops == &sock_tls_ops;
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Send k->call on k: over the open connection, or after looking up k->target's host and
 * opening one (k6 resolves at dial time, so a new connection may reach another address). */
static void conn_start_request(struct conn *k, int64_t now)
{
	struct http_call *c = k->call;
	struct netctx *nc = k->nc;

	k->wpos = 0;
	c->bytes_recv = 0;
	c->t_first = 0;
	c->t_sent = 0;
	c->headers.len = 0;
	c->nheaders = 0;
	c->set_cookies = 0;
	c->body.len = 0;
	http_parser_reset(k->parser, c->head);
	c->t_conn = c->t_connected = c->t_tls = c->t_send = now;
	if (k->sock.fd >= 0 && !c->idempotent && !conn_still_open(k)) {
		conn_close(k); /* closed by the server while idle: a fresh one below */
		k->target = c->target;
	}
	if (k->sock.fd >= 0) {
		c->conn_fresh = false;
		c->proto = PROTO_HTTP11;
		k->rs = RS_SENDING;
		arm_deadline(k);
		conn_write(k, 0);
		return;
	}
	c->conn_fresh = true;
	k->rs = RS_RESOLVING;
	arm_deadline(k); /* the request's timeout covers the lookup */
	/* last: the answer may come at once (IP literal, cached host) and end the call */
	resolver_lookup(nc->resolver, &k->rq, k->target->host, k->target->port, conn_on_resolved,
	                k);
}

/* A call that fails before its request could be sent ends the phase it was in (lookup,
 * connect, handshake) now, and the later ones take no time. */
static void end_unreached_phases(struct conn *k, int64_t now)
{
	struct http_call *c = k->call;
	switch (k->rs) {
	case RS_RESOLVING: /* the lookup failed, or the deadline came first */
		resolver_cancel(k->nc->resolver, &k->rq);
		c->t_conn = now;
		/* fall through */
	case RS_BACKOFF: /* the connect failed for want of fds or ports */
	case RS_CONNECTING:
		c->t_connected = now;
		/* fall through */
	case RS_HANDSHAKE:
		c->t_tls = c->t_send = now;
		break;
	default:
		break;
	}
}

/* End k's call with err at t_end (now_us() clock, µs): conn_read passes the time of the read
 * that brought the response's last byte, so a response read whole costs one clock read. */
static void call_finish_at(struct conn *k, enum err_kind err, int64_t t_end)
{
	struct http_call *c = k->call;
	struct netctx *nc = k->nc;

	c->t_end = t_end;
	end_unreached_phases(k, c->t_end);
	/* io_uring: a send still in flight (the server answered, or the call failed, before
	 * reading the whole request) was sending until then; one that completed is never
	 * after the response's first byte (its completion may be seen in the same turn) */
	if (k->sock.fd >= 0 && loop_stream_sent_at(nc->loop, &k->io, NULL))
		c->t_sent = c->t_first ? c->t_first : c->t_end;
	else if (c->t_first && c->t_sent > c->t_first)
		c->t_sent = c->t_first;
	c->err = err;
	c->status = err ? 0 : k->parser->status;
	if (err == ERR_BODY_TOO_LARGE)
		c->body.len = 0;
	bool reuse = !err && k->parser->keep_alive && !c->no_reuse;
	loop_timer_cancel(nc->loop, &k->timer);
	loop_io_cancel_pending(nc->loop, &k->io);
	if (!err && c->upgrade && c->status == 101 && k->sock.fd >= 0) {
		/* hand the connection over: the caller speaks the new protocol on it */
		loop_del_fd(nc->loop, &k->io);
		c->upgraded = k->sock;
		k->sock.fd = -1;
		k->sock.ssl = NULL;
		/* still counted in conns_open until conn_upgraded_close() */
		reuse = false;
	}
	parser_put(nc, k->parser);
	k->parser = NULL;
	k->call = NULL;
	c->conn = NULL;
	c->in_flight = false;
	/* calls waiting for this connection (it failed before it was made) fail with it */
	struct http_call *w = k->waiters;
	k->waiters = NULL;
	if (reuse) {
		k->reqs++;
		k->rs = RS_IDLE;
	} else {
		conn_close(k);
	}
	c->done(c);
	while (w) {
		struct http_call *next = w->link;
		if (err) {
			fail_unattached(w, err, c->t_end);
		} else { /* never expected: they go to connections of their own */
			w->conn = NULL;
			start_on_pool(nc, k->pool, w, now_us());
		}
		w = next;
	}
}

/* --- HTTP/1.1 behind the protocol interface (conn_int.h) ----------------------------- */

static enum err_kind h1_attach(struct conn *k)
{
	return ERR_NONE;
}

/* An idle keep-alive connection takes the call (conn.c opens new ones itself). */
static void h1_submit(struct conn *k, struct http_call *c, uint32_t events)
{
	k->call = c;
	c->conn = k;
	k->parser = parser_get(k->nc, c);
	conn_start_request(k, c->t_conn);
}

static bool h1_can_take_more(const struct conn *k)
{
	return k->rs == RS_IDLE && !k->call && k->sock.fd >= 0;
}

static void h1_abort(struct conn *k, struct http_call *c)
{
	call_abort(k->nc, c);
}

static bool h1_reached(const struct conn *k, const struct http_call *c)
{
	return k->call == c && k->rs >= RS_SENDING && (k->wpos > 0 || c->t_sent);
}

static int h1_inflight(const struct conn *k)
{
	return k->call != NULL;
}

const struct proto_ops proto_h1_ops = {
	.proto = PROTO_HTTP11,
	.attach = h1_attach,
	.submit = h1_submit,
	.on_io = h1_on_io,
	.on_timer = h1_on_timer,
	.can_take_more = h1_can_take_more,
	.abort = h1_abort,
	.reached = h1_reached,
	.inflight = h1_inflight,
	.detach = NULL, /* its one call has ended (call_finish_at) or was aborted */
};

static struct conn *conn_new(struct netctx *nc, struct connpool *pool)
{
	struct conn *k = xcalloc(1, sizeof(*k));
	k->nc = nc;
	k->sock.fd = -1;
	k->sock.ops = &sock_plain_ops;
	k->pool = pool;
	k->io = (struct loop_io){ .fd = -1, .fn = conn_on_io, .ud = k };
	loop_timer_init(&k->timer, conn_on_timer, k);
	k->next = pool->conns;
	pool->conns = k;
	return k;
}

/* Whether k, still connecting, may come to speak HTTP/2 (then calls to its origin wait for
 * it rather than open connections of their own, as k6's one connection per VU and origin). */
static bool may_become_h2(const struct conn *k)
{
	const struct netctx *nc = k->nc;
	if (k->rs < RS_RESOLVING || k->rs > RS_HANDSHAKE || !k->call || k->call->upgrade)
		return false;
	if (k->ops) /* attached: the protocol is known */
		return false;
	return k->target->tls ? nc->h2 != H2_OFF : nc->h2 == H2_PRIOR;
}

/* Start c (t_start, deadline set) at now on a connection of pool: a stream of an open
 * HTTP/2 connection to its origin that takes one more, a wait for one being made, an idle
 * keep-alive HTTP/1.1 connection, or a new connection. */
static void start_on_pool(struct netctx *nc, struct connpool *pool, struct http_call *c,
                          int64_t now)
{
	struct conn *k, *spare = NULL;

	c->proto = PROTO_NONE;
	c->upgraded.fd = -1;
	c->upgraded_extra.len = 0;
	for (k = pool->conns; k; k = k->next) {
		if (k->target == c->target && !c->upgrade) {
			if (k->ops && k->ops->can_take_more(k)) { /* open, and it takes one more */
				c->t_conn = c->t_connected = c->t_tls = c->t_send = now;
				c->conn_fresh = false;
				c->conn = k;
				k->ops->submit(k, c, 0);
				return;
			}
			if (nc->h2 != H2_OFF && may_become_h2(k)) {
				struct http_call **pp = &k->waiters; /* in order: batch order */
				while (*pp)
					pp = &(*pp)->link;
				c->conn = k;
				c->link = NULL;
				*pp = c;
				return;
			}
		}
		if (!spare && k->rs == RS_IDLE && k->sock.fd < 0)
			spare = k;
	}
	k = spare ? spare : conn_new(nc, pool);
	k->target = c->target;
	k->call = c;
	c->conn = k;
	k->parser = parser_get(nc, c);
	conn_start_request(k, now);
}

void call_start(struct netctx *nc, struct connpool *pool, struct http_call *c)
{
	c->err = ERR_NONE;
	c->status = 0;
	c->retried = false;
	c->bytes_sent = 0;
	c->t_start = now_us();
	c->deadline = c->t_start + c->timeout_us;
	c->body_limit = c->body_max > 0 ? c->body_max : CALL_BODY_MAX_DEFAULT;
	c->in_flight = true;
	start_on_pool(nc, pool, c, c->t_start); /* the same instant: one clock read */
}

void conn_restart_call(struct netctx *nc, struct connpool *pool, struct http_call *c)
{
	c->retried = true;
	c->err = ERR_NONE;
	c->status = 0;
	c->in_flight = true;
	start_on_pool(nc, pool, c, now_us());
}

void call_abort(struct netctx *nc, struct http_call *c)
{
	struct conn *k = c->conn;
	if (!k)
		return;
	c->t_end = now_us();
	if (k->rs == RS_OPEN) { /* one stream of a multiplexed connection */
		k->ops->abort(k, c);
		c->conn = NULL;
		c->in_flight = false;
		return;
	}
	if (k->call != c) { /* waiting for k to be made */
		struct http_call **pp = &k->waiters;
		while (*pp && *pp != c)
			pp = &(*pp)->link;
		if (*pp)
			*pp = c->link;
		c->conn = NULL;
		c->in_flight = false;
		return;
	}
	k->call = NULL;
	c->conn = NULL;
	c->in_flight = false;
	if (k->parser) {
		parser_put(nc, k->parser);
		k->parser = NULL;
	}
	conn_close(k);
}

bool call_reached_server(const struct http_call *c)
{
	const struct conn *k = c->conn;
	if (k && k->rs == RS_OPEN)
		return k->ops->reached(k, c);
	return k && k->call == c && k->rs >= RS_SENDING && (k->wpos > 0 || c->t_sent);
}

void connpool_close_idle(struct netctx *nc, struct connpool *pool)
{
	for (struct conn *k = pool->conns; k; k = k->next)
		if ((k->rs == RS_IDLE && k->sock.fd >= 0) ||
		    (k->rs == RS_OPEN && k->ops->inflight(k) == 0))
			conn_close(k);
}

void connpool_free(struct netctx *nc, struct connpool *pool)
{
	struct conn *k = pool->conns;
	while (k) {
		struct conn *next = k->next;
		if (k->parser)
			parser_put(nc, k->parser);
		conn_close(k);
		free(k);
		k = next;
	}
	pool->conns = NULL;
}

void conn_upgraded_close(struct netctx *nc, struct sock *s)
{
	if (s->fd < 0)
		return;
	sock_close(s);
	__atomic_sub_fetch(nc->conns_open, 1, __ATOMIC_RELAXED);
}

const char *call_proto_name(enum call_proto p)
{
	return p == PROTO_HTTP2 ? "HTTP/2.0" : p == PROTO_HTTP11 ? "HTTP/1.1" : "";
}

void call_free(struct http_call *c)
{
	buf_free(&c->headers);
	buf_free(&c->body);
	buf_free(&c->upgraded_extra);
	buf_free(&c->h2_dechunked);
}
