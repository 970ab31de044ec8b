/* ws.c: a client WebSocket session: libwslay framing over a struct sock on the loop. */
#include "engine/ws.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <wslay/wslay.h>

#include "util/common.h"

/* Bytes read per readiness event before the session yields to the loop's other work. */
#define READ_BUDGET ((size_t)512 * 1024)

struct ws_timer {
	struct loop_timer t;
	struct ws_session *s;
	int id;
	int64_t every_us; /* 0: once */
	bool queued;      /* its event waits in the queue */
	struct ws_timer *prev, *next;
};

struct ws_session {
	struct netctx *nc;
	struct loop *loop;
	struct sock sock;
	struct loop_io io;
	struct buf extra; /* bytes read with the 101, fed to wslay first */
	size_t extra_off;
	wslay_event_context_ptr ctx;
	struct ws_opts o;
	ws_notify_fn notify;
	void *ud;
	struct ws_event *head, *tail;
	size_t q_bytes;
	bool fresh;      /* events were queued since the last notify */
	bool paused;     /* reading stopped: the queue holds queue_max bytes or more */
	bool budget_hit; /* this event's read budget is spent */
	size_t budget;
	bool eof, io_err;
	bool proto_err;                      /* wslay refused a frame: its Close was tried once */
	bool closing;                        /* the owner asked for the closing handshake */
	bool closed;                         /* the CLOSE event is queued; the connection is gone */
	int64_t pings[WS_PINGS_TRACKED];     /* when each ping went, oldest at ping_head */
	uint64_t ping_ids[WS_PINGS_TRACKED]; /* its payload: a sequence number */
	uint64_t ping_seq;
	int ping_head, ping_n;
	uint64_t sent, recv;
	struct loop_timer close_timer;
	struct ws_timer *timers;
	int ntimers;
};

/* --- the handshake's key ------------------------------------------------------------ */

void ws_make_key(char key[WS_KEY_LEN + 1])
{
	unsigned char raw[16];
	if (RAND_bytes(raw, sizeof(raw)) != 1) { /* never seen: fall back to the libc's */
		for (size_t i = 0; i < sizeof(raw); i++)
			raw[i] = (unsigned char)random();
	}
	EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
}

bool ws_accept_ok(const char *key, const char *accept, size_t len)
{
	char in[WS_KEY_LEN + sizeof(WS_GUID)];
	unsigned char md[EVP_MAX_MD_SIZE], want[WS_ACCEPT_LEN + 1];
	unsigned int mdlen = 0;
	int n = snprintf(in, sizeof(in), "%s%s", key, WS_GUID);
	if (n < 0 || (size_t)n >= sizeof(in) ||
	    !EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL))
		return false;
	EVP_EncodeBlock(want, md, (int)mdlen);
	return len == WS_ACCEPT_LEN && memcmp(want, accept, len) == 0;
}

/* --- the event queue ------------------------------------------------------------------ */

static struct ws_event *push(struct ws_session *s, enum ws_ev_kind k, const void *p, size_t len)
{
	struct ws_event *ev = xmalloc(sizeof(*ev) + len + 1);
	memset(ev, 0, sizeof(*ev));
	ev->kind = k;
	ev->len = len;
	ev->rtt_us = -1;
	if (len)
		memcpy(ev->data, p, len);
	ev->data[len] = '\0';
	if (s->tail)
		s->tail->next = ev;
	else
		s->head = ev;
	s->tail = ev;
	s->q_bytes += sizeof(*ev) + len;
	s->fresh = true;
	return ev;
}

static void push_error(struct ws_session *s, const char *why)
{
	push(s, WS_EV_ERROR, why, strlen(why));
}

static void notify(struct ws_session *s)
{
	if (!s->fresh)
		return;
	s->fresh = false;
	s->notify(s->ud);
}

void ws_event_free(struct ws_event *ev)
{
	free(ev);
}

/* --- ending ------------------------------------------------------------------------- */

static void timer_free(struct ws_session *s, struct ws_timer *tm)
{
	loop_timer_cancel(s->loop, &tm->t);
	if (tm->prev)
		tm->prev->next = tm->next;
	else
		s->timers = tm->next;
	if (tm->next)
		tm->next->prev = tm->prev;
	s->ntimers--;
	free(tm);
}

/* Close the connection and stop every timer (the queue stays). */
static void drop_conn(struct ws_session *s)
{
	while (s->timers)
		timer_free(s, s->timers);
	loop_timer_cancel(s->loop, &s->close_timer);
	loop_io_cancel_pending(s->loop, &s->io);
	if (s->sock.fd >= 0) {
		loop_release_fd(s->loop, &s->io);
		conn_upgraded_close(s->nc, &s->sock);
	}
}

/* The session is over: the connection goes, the CLOSE event is the queue's last. */
static void finish(struct ws_session *s, int code)
{
	if (s->closed)
		return;
	s->closed = true;
	drop_conn(s);
	push(s, WS_EV_CLOSE, NULL, 0)->code = code;
}

static void on_close_wait(struct loop_timer *t, void *ud)
{
	struct ws_session *s = ud;
	/* the server never answered our Close (or never read it): abnormal closure */
	finish(s, WSLAY_CODE_ABNORMAL_CLOSURE);
	notify(s);
}

/* The closing handshake's state after some I/O: done, failed by wslay, or waiting. */
static void settle(struct ws_session *s)
{
	bool rd = wslay_event_get_read_enabled(s->ctx);
	bool recvd = wslay_event_get_close_received(s->ctx);
	bool sent = wslay_event_get_close_sent(s->ctx);
	if (s->closed)
		return;
	if (recvd && sent) {
		finish(s, wslay_event_get_status_code_received(s->ctx));
		return;
	}
	if (sent && !rd && !recvd) { /* wslay failed the connection; its Close is out */
		int code = wslay_event_get_status_code_sent(s->ctx);
		char why[160];
		if (code == WSLAY_CODE_MESSAGE_TOO_BIG)
			snprintf(why, sizeof(why),
			         "a message from the server is larger than %zu bytes (closed with "
			         "1009)",
			         s->o.msg_max);
		else if (code == WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA)
			snprintf(why, sizeof(why),
			         "a text message from the server is not valid UTF-8 (closed with "
			         "1007)");
		else
			snprintf(why, sizeof(why),
			         "the server broke the WebSocket protocol (closed with %d)", code);
		push_error(s, why);
		finish(s, code);
		return;
	}
	if ((s->closing || !rd || sent) && !loop_timer_armed(&s->close_timer))
		loop_timer_at(s->loop, &s->close_timer, loop_now(s->loop) + WS_CLOSE_WAIT_US);
}

/* The connection failed (read or write): over, with 1006 unless a Close came already. */
static void lost(struct ws_session *s)
{
	char why[160];
	if (wslay_event_get_close_received(s->ctx)) {
		finish(s, wslay_event_get_status_code_received(s->ctx));
		return;
	}
	if (!s->closing) {
		if (s->io_err && s->sock.sys_errno)
			snprintf(why, sizeof(why), "connection lost: %s",
			         strerror(s->sock.sys_errno));
		else if (s->io_err)
			snprintf(why, sizeof(why), "connection lost: %s",
			         err_kind_name(s->sock.err));
		else if (s->eof)
			snprintf(why, sizeof(why),
			         "the server closed the connection without a Close frame (1006)");
		else { /* wslay refused a frame (a control frame over 125 bytes or fragmented, a
		        * length not in its shortest form...): it queued a Close */
			push_error(s, "the server broke the WebSocket protocol (closed with 1002)");
			if (!s->proto_err) {
				s->proto_err = true;
				wslay_event_send(s->ctx); /* our Close, if the socket takes it */
			}
			finish(s, WSLAY_CODE_PROTOCOL_ERROR);
			return;
		}
		push_error(s, why);
	}
	finish(s, WSLAY_CODE_ABNORMAL_CLOSURE);
}

/* --- wslay's callbacks ----------------------------------------------------------------- */

/* A read or write that moved nothing: tell wslay to wait (IO_AGAIN) or that the
 * connection failed (the reason kept for lost()). Returns -1, as wslay wants. */
static ssize_t io_failed(struct ws_session *s, enum io_res r)
{
	if (r == IO_EOF)
		s->eof = true;
	else if (r == IO_ERR)
		s->io_err = true;
	wslay_event_set_error(s->ctx,
	                      r == IO_AGAIN ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
	return -1;
}

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
	struct ws_session *s = ud;
	if (s->q_bytes >= s->o.queue_max) {
		s->paused = true;
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (s->extra_off < s->extra.len) {
		size_t n = MIN(len, s->extra.len - s->extra_off);
		memcpy(buf, s->extra.p + s->extra_off, n);
		s->extra_off += n;
		if (s->extra_off == s->extra.len) {
			buf_free(&s->extra);
			s->extra_off = 0;
		}
		return (ssize_t)n;
	}
	if (s->budget == 0) {
		s->budget_hit = true;
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	size_t n = 0;
	enum io_res r = s->sock.ops->read(&s->sock, (char *)buf, len, &n);
	if (r == IO_OK) {
		s->recv += n;
		s->budget -= MIN(s->budget, n);
		return (ssize_t)n;
	}
	return io_failed(s, r);
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud)
{
	struct ws_session *s = ud;
	size_t n = 0;
	enum io_res r = s->sock.ops->write(&s->sock, (const char *)data, len, &n);
	if (r == IO_OK) {
		s->sent += n;
		return (ssize_t)n;
	}
	return io_failed(s, r);
}

static int on_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud)
{
	if (RAND_bytes(buf, (int)len) != 1) {
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)random();
	}
	return 0;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                   void *ud)
{
	struct ws_session *s = ud;
	switch (a->opcode) {
	case WSLAY_TEXT_FRAME:
		push(s, WS_EV_TEXT, a->msg, a->msg_length);
		break;
	case WSLAY_BINARY_FRAME:
		push(s, WS_EV_BINARY, a->msg, a->msg_length);
		break;
	case WSLAY_PING: /* wslay queued the Pong already */
		push(s, WS_EV_PING, NULL, 0);
		break;
	case WSLAY_PONG: {
		/* A Pong answers the ping whose payload it echoes (RFC 6455 §5.5.3); one with
		 * another payload is a heartbeat of the server's: no round trip (k6 matches
		 * by payload too). Older unanswered pings are forgotten. */
		struct ws_event *ev = push(s, WS_EV_PONG, NULL, 0);
		uint64_t id;
		if (a->msg_length != sizeof(id))
			break;
		memcpy(&id, a->msg, sizeof(id));
		for (int i = 0; i < s->ping_n; i++) {
			int at = (s->ping_head + i) % WS_PINGS_TRACKED;
			if (s->ping_ids[at] != id)
				continue;
			ev->rtt_us = MAX(0, loop_update_time(s->loop) - s->pings[at]);
			s->ping_head = (at + 1) % WS_PINGS_TRACKED;
			s->ping_n -= i + 1;
			break;
		}
		break;
	}
	default: /* Close: settle() ends the session once the answer is out */
		break;
	}
}

/* --- I/O ------------------------------------------------------------------------------ */

static void write_some(struct ws_session *s)
{
	if (s->closed || !wslay_event_want_write(s->ctx))
		return;
	if (wslay_event_send(s->ctx) != 0)
		lost(s);
}

static void read_some(struct ws_session *s)
{
	if (s->closed || !wslay_event_get_read_enabled(s->ctx))
		return;
	s->budget = READ_BUDGET;
	s->budget_hit = false;
	if (wslay_event_recv(s->ctx) != 0) {
		lost(s);
		return;
	}
	/* wslay answers each Ping with a Pong of its own, outside ws_send's cap: a server
	 * that pings without reading would make them pile up without end */
	if (wslay_event_get_queued_msg_length(s->ctx) > s->o.out_max) {
		char why[160];
		snprintf(why, sizeof(why),
		         "the server sends pings faster than it reads: over %zu bytes of pongs "
		         "wait to be sent (1008)",
		         s->o.out_max);
		push_error(s, why);
		finish(s, WSLAY_CODE_POLICY_VIOLATION);
		return;
	}
	if (s->budget_hit)
		loop_io_pending(s->loop, &s->io, EPOLLIN);
}

/* Read, answer, send what is queued, then see where the closing handshake is. */
static void pump(struct ws_session *s, bool readable)
{
	if (readable)
		read_some(s);
	write_some(s);
	if (!s->closed)
		settle(s);
}

static void on_io(void *ud, uint32_t events)
{
	struct ws_session *s = ud;
	if (s->closed)
		return;
	pump(s, events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR));
	notify(s);
}

/* --- the session ------------------------------------------------------------------------ */

int ws_session_new(struct ws_session **out, struct netctx *nc, struct sock *sk, struct buf *extra,
                   const struct ws_opts *o, ws_notify_fn fn, void *ud)
{
	static const struct wslay_event_callbacks cbs = {
		.recv_callback = on_recv,
		.send_callback = on_send,
		.genmask_callback = on_genmask,
		.on_msg_recv_callback = on_msg,
	};
	struct ws_session *s = xcalloc(1, sizeof(*s));
	int rc;
	s->nc = nc;
	s->loop = nc->loop;
	s->sock = *sk;
	sk->fd = -1;
	sk->ssl = NULL;
	s->extra = *extra;
	*extra = (struct buf){ 0 };
	s->o.msg_max = o && o->msg_max ? o->msg_max : WS_MSG_MAX_DEFAULT;
	s->o.out_max = o && o->out_max ? o->out_max : s->o.msg_max;
	s->o.queue_max = o && o->queue_max ? o->queue_max : WS_QUEUE_MAX_DEFAULT;
	s->notify = fn;
	s->ud = ud;
	loop_timer_init(&s->close_timer, on_close_wait, s);
	if (wslay_event_context_client_init(&s->ctx, &cbs, s) != 0) {
		rc = -ENOMEM;
		goto out_close;
	}
	wslay_event_config_set_max_recv_msg_length(s->ctx, s->o.msg_max);
	s->io = (struct loop_io){ .fd = s->sock.fd, .fn = on_io, .ud = s };
	s->sock.loop = s->loop;
	s->sock.io = &s->io;
	rc = loop_add_fd(s->loop, &s->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
	if (rc < 0)
		goto out_free_ctx;
	if (s->extra.len) /* frames that came with the 101 */
		loop_io_pending(s->loop, &s->io, EPOLLIN);
	*out = s;
	return 0;

out_free_ctx:
	wslay_event_context_free(s->ctx);
out_close:
	conn_upgraded_close(nc, &s->sock);
	buf_free(&s->extra);
	free(s);
	return rc;
}

void ws_session_free(struct ws_session *s)
{
	if (!s)
		return;
	drop_conn(s);
	while (s->head) {
		struct ws_event *n = s->head->next;
		free(s->head);
		s->head = n;
	}
	wslay_event_context_free(s->ctx);
	buf_free(&s->extra);
	free(s);
}

/* Whether nothing more may be sent: closed, or a Close went either way. */
static bool send_done(const struct ws_session *s)
{
	return s->closed || s->closing || wslay_event_get_close_received(s->ctx) ||
	       !wslay_event_get_write_enabled(s->ctx);
}

static int queue(struct ws_session *s, uint8_t opcode, const char *p, size_t len)
{
	if (send_done(s))
		return -EPIPE;
	if (wslay_event_get_queued_msg_length(s->ctx) + len > s->o.out_max)
		return -ENOBUFS;
	struct wslay_event_msg m = { opcode, (const uint8_t *)p, len };
	if (wslay_event_queue_msg(s->ctx, &m) != 0)
		return -EPIPE;
	pump(s, false);
	notify(s);
	return 0;
}

int ws_send(struct ws_session *s, bool binary, const char *p, size_t len)
{
	return queue(s, binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME, p, len);
}

int ws_ping(struct ws_session *s)
{
	int64_t now = loop_update_time(s->loop);
	uint64_t id = ++s->ping_seq;
	int rc = queue(s, WSLAY_PING, (const char *)&id, sizeof(id));
	if (rc < 0)
		return rc;
	if (s->ping_n == WS_PINGS_TRACKED) { /* forget the oldest */
		s->ping_head = (s->ping_head + 1) % WS_PINGS_TRACKED;
		s->ping_n--;
	}
	s->pings[(s->ping_head + s->ping_n) % WS_PINGS_TRACKED] = now;
	s->ping_ids[(s->ping_head + s->ping_n) % WS_PINGS_TRACKED] = id;
	s->ping_n++;
	return 0;
}

void ws_close(struct ws_session *s, int code)
{
	if (send_done(s))
		return;
	s->closing = true;
	if (wslay_event_queue_close(s->ctx, (uint16_t)code, NULL, 0) != 0) {
		finish(s, code);
		notify(s);
		return;
	}
	pump(s, false);
	notify(s);
}

static void on_timer(struct loop_timer *t, void *ud)
{
	struct ws_timer *tm = ud;
	struct ws_session *s = tm->s;
	if (!tm->queued) {
		push(s, WS_EV_TIMER, NULL, 0)->timer_id = tm->id;
		tm->queued = true;
	}
	if (tm->every_us)
		loop_timer_at(s->loop, &tm->t, loop_now(s->loop) + tm->every_us);
	else
		timer_free(s, tm);
	notify(s);
}

int ws_timer_add(struct ws_session *s, int id, int64_t delay_us, bool repeat)
{
	if (s->closed)
		return -EPIPE;
	if (s->ntimers >= WS_TIMERS_MAX)
		return -ENOSPC;
	struct ws_timer *tm = xcalloc(1, sizeof(*tm));
	tm->s = s;
	tm->id = id;
	tm->every_us = repeat ? MAX(delay_us, 1) : 0;
	loop_timer_init(&tm->t, on_timer, tm);
	tm->next = s->timers;
	if (s->timers)
		s->timers->prev = tm;
	s->timers = tm;
	s->ntimers++;
	loop_timer_at(s->loop, &tm->t, loop_update_time(s->loop) + MAX(delay_us, 0));
	return 0;
}

bool ws_next(struct ws_session *s, struct ws_event **out)
{
	struct ws_event *ev = s->head;
	if (!ev)
		return false;
	s->head = ev->next;
	if (!s->head)
		s->tail = NULL;
	ev->next = NULL;
	s->q_bytes -= sizeof(*ev) + ev->len;
	if (ev->kind == WS_EV_TIMER) {
		for (struct ws_timer *tm = s->timers; tm; tm = tm->next)
			if (tm->id == ev->timer_id)
				tm->queued = false;
	}
	if (s->paused && s->q_bytes < s->o.queue_max && !s->closed) {
		s->paused = false; /* read what waits (the edge came already) */
		loop_io_pending(s->loop, &s->io, EPOLLIN);
	}
	*out = ev;
	return true;
}

bool ws_closed(const struct ws_session *s)
{
	return s->closed;
}

void ws_bytes(const struct ws_session *s, uint64_t *sent, uint64_t *recv)
{
	*sent = s->sent;
	*recv = s->recv;
}
