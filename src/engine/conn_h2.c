/* conn_h2.c: HTTP/2 (RFC 9113) behind the protocol interface of conn_int.h, with libnghttp2
 * for framing, HPACK, flow control and stream states (never hand-written framing).
 *
 * One session per connection; each call is a stream. Requests come serialized as HTTP/1.1
 * by the one request serializer (protocol/request.h) and are turned into header lists
 * here (RFC 9113 §8.2.2, §8.3.1: lower-case names, pseudo-header fields, no
 * connection-specific fields). Timings are those of HTTP/1.1, per stream: t_send when the
 * stream is submitted, t_sent when its last frame has been written to the socket,
 * t_first at the read that brought its first HEADERS frame, t_end at the read that closed
 * it. Bytes are counted per frame (9-byte header + payload, so HPACK-compressed header
 * blocks count as sent and received); connection-level frames (the preface, SETTINGS,
 * WINDOW_UPDATE, PING, GOAWAY) go to the oldest stream in flight, or the next one.
 *
 * nghttp2's callbacks never call done(): finished calls are queued and their done() runs
 * once nghttp2 has returned, so a done() may submit the VU's next request on this same
 * connection, or close it. */
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "engine/conn_int.h"
#include "util/common.h"

/* The local windows: 16 MiB per stream, 64 MiB for the connection. Received data is
 * consumed at once (counted, kept or dropped), so large windows only spare WINDOW_UPDATEs. */
#define H2_STREAM_WINDOW (16 << 20)
#define H2_CONN_WINDOW   (64 << 20)
/* The most streams per connection when --streams does not say (nghttp2 assumes 100 until
 * the server's SETTINGS say otherwise). */
#define H2_MAX_STREAMS_DEFAULT 100
/* Reads per readiness event before yielding to the loop (as HTTP/1.1's budget). */
#define H2_READ_BUDGET_BYTES (512 * 1024)
#define H2_WRITE_GATHER      (64 * 1024) /* frames gathered into one write */
#define H2_OUT_KEEP          (16 * 1024) /* larger write buffers are released once written */
#define H2_LAST_STREAM_ID    0x7ffffff0  /* past it, no new stream: another connection */

struct h2conn {
	nghttp2_session *s;
	struct conn *k;
	struct http_call *calls; /* streams in flight (link) */
	int ncalls;
	struct http_call *done_head; /* ended inside nghttp2, done() not yet called (link) */
	struct http_call **done_tail;
	struct http_call *retry; /* not processed by the server: to send again (link) */
	struct buf out;          /* bytes nghttp2 produced that the socket did not take */
	size_t out_pos;
	uint64_t pend_sent, pend_recv; /* connection-level bytes not yet given to a stream */
	int64_t t_read;                /* when the bytes being fed were read */
	int depth;                     /* entries into this file in progress */
	bool dead;                     /* detached: freed when depth drops to 0 */
	bool goaway;                   /* the server's GOAWAY came: no new streams */
	bool sent_pending;             /* some stream's last frame waits to be written */
	bool write_later;              /* submitted from outside: written at the loop's next turn */
	bool no_more;        /* a call said noConnectionReuse: no new streams, closed once idle */
	bool got_bytes;      /* the server has sent something */
	int32_t goaway_last; /* its last processed stream */
	uint32_t goaway_code;
	uint32_t our_goaway; /* + 1: the code of the GOAWAY we sent (a connection error) */
	nghttp2_nv *nv;      /* scratch for a request's header list */
	int nv_cap;
	struct buf names; /* scratch: lower-cased field names */
	size_t *name_off; /* scratch: their offsets in names */
	char auth[300];   /* scratch: :authority of a request without Host */
	int off_cap;
};

static nghttp2_session_callbacks *callbacks;
static int http1_warned; /* atomic: the "answered in HTTP/1.1" warning was printed */
static nghttp2_option *options;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static struct h2conn *h2_of(const struct conn *k)
{
	return k->ps;
}

/* --- finishing calls ------------------------------------------------------------------ */

static void unlink_call(struct h2conn *h, struct http_call *c)
{
	for (struct http_call **pp = &h->calls; *pp; pp = &(*pp)->link)
		if (*pp == c) {
			*pp = c->link;
			h->ncalls--;
			return;
		}
}

/* End c with err at t (queued: done() runs in complete()). */
static void finish(struct h2conn *h, struct http_call *c, enum err_kind err, int64_t t)
{
	unlink_call(h, c);
	if (c->h2_id > 0 && !h->dead)
		nghttp2_session_set_stream_user_data(h->s, c->h2_id, NULL);
	c->t_end = t;
	/* a request still being sent when its response came (or when it failed) was being
	 * sent until then (as HTTP/1.1's in conn.c) */
	if ((!c->t_sent && c->t_first) || (c->t_first && c->t_sent > c->t_first))
		c->t_sent = c->t_first;
	c->err = err;
	if (err) {
		c->status = 0;
		c->body.len = 0;
	}
	c->proto = PROTO_HTTP2;
	c->link = NULL;
	*h->done_tail = c;
	h->done_tail = &c->link;
}

/* May c be sent again, once, on another connection? When the server said it did not process
 * it (REFUSED_STREAM, or a stream past its GOAWAY's last stream id: RFC 9113 §8.7, "can be
 * safely retried"), whatever its method, as k6's Go client does; when its fate is unknown
 * (the connection closed with it in flight), only when it is idempotent (RFC 9110 §9.2.2),
 * as for HTTP/1.1. Never once part of its response came. */
static bool may_retry(const struct http_call *c, bool unprocessed)
{
	if (c->retried || c->h2_final || c->t_first)
		return false;
	return unprocessed || c->idempotent;
}

static void queue_retry(struct h2conn *h, struct http_call *c)
{
	unlink_call(h, c);
	if (c->h2_id > 0 && !h->dead)
		nghttp2_session_set_stream_user_data(h->s, c->h2_id, NULL);
	c->link = h->retry;
	h->retry = c;
}

/* Run the queued done()s and retries; h stays valid (depth > 0). */
static void complete(struct h2conn *h)
{
	while (h->done_head || h->retry) {
		struct http_call *c = h->done_head;
		if (c) {
			h->done_head = c->link;
			if (!h->done_head)
				h->done_tail = &h->done_head;
			c->link = NULL;
			c->conn = NULL;
			c->in_flight = false;
			c->done(c);
			continue;
		}
		c = h->retry;
		h->retry = c->link;
		c->link = NULL;
		c->conn = NULL;
		c->h2_boff = 0;
		conn_restart_call(h->k->nc, h->k->pool, c);
	}
}

static void h2_free(struct h2conn *h)
{
	if (h->s)
		nghttp2_session_del(h->s);
	buf_free(&h->out);
	buf_free(&h->names);
	free(h->name_off);
	free(h->nv);
	free(h);
}

static enum err_kind flush(struct h2conn *h);
static bool finished(const struct h2conn *h);
static void arm_timer(struct h2conn *h);
static bool flush_or_close(struct h2conn *h);
static void fail_conn(struct h2conn *h, enum err_kind err);

/* Leave an entry (each entry point increments depth). The outermost one writes what the
 * session has to send, runs the done()s and retries that were queued (they may submit new
 * streams: written in turn), re-arms the deadline, and frees h if it was detached. */
static void leave(struct h2conn *h)
{
	if (h->depth == 1 && h->write_later) {
		/* Requests submitted one at a time from outside (a VU's next iteration) go out
		 * together: the loop calls h2_on_io at its next turn, after its other events. */
		h->write_later = false;
		loop_io_pending(h->k->nc->loop, &h->k->io, EPOLLOUT);
	} else if (h->depth == 1) {
		for (;;) {
			complete(h);
			if (h->dead)
				break;
			if (!flush_or_close(h))
				continue; /* closed: run what the close queued */
			if (h->our_goaway > 1 && !nghttp2_session_want_read(h->s)) {
				/* we ended the session for a connection error of the server's */
				fail_conn(h, err_h2(ERR_H2_CONN, h->our_goaway - 1));
				continue;
			}
			if (!h->ncalls && !h->done_head && !h->retry && finished(h)) {
				/* it takes no more streams (noConnectionReuse, the server's GOAWAY,
				 * or its SETTINGS allow none) and has none left: close it, or idle
				 * connections would pile up, one per request */
				fail_conn(h, ERR_NONE);
				continue;
			}
			if (!h->done_head && !h->retry)
				break;
		}
		if (!h->dead)
			arm_timer(h);
	}
	if (--h->depth == 0 && h->dead)
		h2_free(h);
}

/* --- writing -------------------------------------------------------------------------- */

static void arm_timer(struct h2conn *h)
{
	int64_t when = INT64_MAX;
	for (struct http_call *c = h->calls; c; c = c->link)
		when = MIN(when, c->deadline);
	if (when == INT64_MAX)
		loop_timer_cancel(h->k->nc->loop, &h->k->timer);
	else
		loop_timer_at(h->k->nc->loop, &h->k->timer, when);
}

/* Write what nghttp2 has to send, as far as the socket takes it. Returns 0, or an error
 * kind when the connection failed (the caller closes it). */
static enum err_kind flush(struct h2conn *h)
{
	struct sock *s = &h->k->sock;
	for (;;) {
		if (h->out_pos < h->out.len) {
			size_t n = 0;
			enum io_res r =
			    s->ops->write(s, h->out.p + h->out_pos, h->out.len - h->out_pos, &n);
			if (r == IO_AGAIN)
				return ERR_NONE; /* EPOLLOUT (edge) resumes */
			if (r != IO_OK)
				return r == IO_EOF ? ERR_RESET : (s->err ? s->err : ERR_WRITE);
			h->out_pos += n;
			continue;
		}
		/* nghttp2 hands out one frame at a time: gather them (up to 64 KiB) into one
		 * write, as its documentation advises */
		h->out.len = h->out_pos = 0;
		for (;;) {
			const uint8_t *data;
			ssize_t len = nghttp2_session_mem_send(h->s, &data);
			if (len < 0)
				return err_h2(ERR_H2_CONN, NGHTTP2_INTERNAL_ERROR);
			if (len == 0)
				break;
			buf_add(&h->out, (const char *)data, (size_t)len);
			if (h->out.len >= H2_WRITE_GATHER)
				break;
		}
		if (!h->out.len)
			break;
	}
	if (h->out.cap > H2_OUT_KEEP) /* an idle connection keeps a small buffer only */
		buf_free(&h->out);
	if (h->sent_pending) { /* every frame produced so far is written */
		int64_t now = now_us();
		for (struct http_call *c = h->calls; c; c = c->link) {
			c->h2_on_wire = c->h2_hdr_out;
			if (c->h2_end_queued && !c->t_sent)
				c->t_sent = now;
		}
		h->sent_pending = false;
	}
	return ERR_NONE;
}

/* The connection failed with err: every stream on it ends (or is sent again elsewhere).
 * Once h is detached, k may already carry another connection: h never touches it again. */
static void fail_conn(struct h2conn *h, enum err_kind err)
{
	if (!h->dead)
		conn_close_err(h->k, err);
}

/* Flush; on failure close the connection with the error. Returns false if it is closed. */
static bool flush_or_close(struct h2conn *h)
{
	if (h->dead)
		return false;
	enum err_kind e = flush(h);
	if (!e)
		return true;
	fail_conn(h, e);
	return false;
}

/* --- nghttp2 callbacks ---------------------------------------------------------------- */

static struct http_call *call_of(struct h2conn *h, int32_t id)
{
	return id > 0 ? nghttp2_session_get_stream_user_data(h->s, id) : NULL;
}

static int on_begin_frame(nghttp2_session *s, const nghttp2_frame_hd *hd, void *ud)
{
	struct h2conn *h = ud;
	struct http_call *c = call_of(h, hd->stream_id);
	uint64_t n = hd->length + 9;
	if (!c) {
		if (h->calls) /* the oldest stream in flight carries the connection's bytes */
			h->calls->bytes_recv += n;
		else
			h->pend_recv += n;
		return 0;
	}
	c->bytes_recv += n;
	if (hd->type == NGHTTP2_HEADERS && !c->t_first)
		c->t_first = h->t_read;
	return 0;
}

/* Fail c's stream with err: the stream is reset (CANCEL) and, when it closes, the call ends
 * with err. Within a header block the reset waits for the block's end (on_frame_recv):
 * nghttp2 does not send one submitted while it decodes the block. */
static void fail_stream(nghttp2_session *s, struct http_call *c, enum err_kind err, bool in_headers)
{
	if (c->h2_err)
		return;
	c->h2_err = err;
	if (!in_headers)
		nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, c->h2_id, NGHTTP2_CANCEL);
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct h2conn *h = ud;
	struct http_call *c = call_of(h, f->hd.stream_id);
	if (!c || f->hd.type != NGHTTP2_HEADERS || c->h2_err)
		return 0;
	/* HTTP/1.1's limits on a header section (http_parse.h), so that a few bytes of HPACK
	 * cannot make us keep megabytes: each field counted as RFC 9113 §6.5.2 does */
	c->h2_hdr_bytes += (int64_t)(nlen + vlen + 32);
	if (++c->h2_nhdr > HTTP_MAX_HEADERS_DEFAULT + 1) { /* + :status */
		fail_stream(s, c, err_from_parse(HPE_TOO_MANY_HEADERS), true);
		return 0;
	}
	if (c->h2_hdr_bytes > HTTP_MAX_HEADER_BYTES_DEFAULT) {
		fail_stream(s, c, err_from_parse(HPE_HEADER_TOO_LARGE), true);
		return 0;
	}
	if (nlen == 7 && !memcmp(name, ":status", 7)) {
		int st = 0;
		for (size_t i = 0; i < vlen && i < 3; i++)
			st = st * 10 + (value[i] - '0');
		if (st < 100) { /* "000", "099": not a status (RFC 9110 §15) */
			fail_stream(s, c, err_h2(ERR_H2_STREAM, NGHTTP2_PROTOCOL_ERROR), true);
			return 0;
		}
		if (st >= 200) {
			c->status = st;
			c->h2_final = true;
		}
		/* an interim (1xx) response's fields are not reported: start over */
		c->headers.len = 0;
		c->nheaders = c->set_cookies = 0;
		c->h2_nhdr = 1;
		c->h2_hdr_bytes = (int64_t)(nlen + vlen + 32);
		return 0;
	}
	if (!c->h2_final || c->h2_rbody > 0 || name[0] == ':')
		return 0; /* interim fields, and trailers, are not kept */
	if (nlen == 14 && !memcmp(name, "content-length", 14)) {
		int64_t cl = 0;
		for (size_t i = 0; i < vlen && cl <= c->body_limit; i++)
			cl = cl * 10 + (value[i] - '0');
		if (cl > c->body_limit) { /* it will not fit: fail as soon as it is known */
			fail_stream(s, c, ERR_BODY_TOO_LARGE, true);
			return 0;
		}
	}
	if (c->capture)
		call_add_header(c, (const char *)name, nlen, (const char *)value, vlen);
	return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud)
{
	struct h2conn *h = ud;
	struct http_call *c = call_of(h, id);
	if (!c || c->h2_err)
		return 0;
	c->h2_rbody += (int64_t)len;
	if (c->h2_rbody > c->body_limit) {
		fail_stream(s, c, ERR_BODY_TOO_LARGE, false);
		return 0;
	}
	if (c->capture && !c->discard_body)
		buf_add(&c->body, (const char *)data, len);
	return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct h2conn *h = ud;
	if (f->hd.type == NGHTTP2_GOAWAY) {
		h->goaway = true;
		h->goaway_last = f->goaway.last_stream_id;
		h->goaway_code = f->goaway.error_code;
	} else if (f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) {
		struct http_call *c = call_of(h, f->hd.stream_id);
		if (c && c->h2_final && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
			c->h2_ended = true; /* the whole response came */
		if (c && c->h2_err && f->hd.type == NGHTTP2_HEADERS &&
		    !(f->hd.flags & NGHTTP2_FLAG_END_STREAM)) /* failed in its header block */
			nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id,
			                          NGHTTP2_CANCEL);
	}
	return 0;
}

static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct h2conn *h = ud;
	struct http_call *c = call_of(h, f->hd.stream_id);
	uint64_t n = f->hd.length + 9;
	if (!c) {
		if (h->calls)
			h->calls->bytes_sent += n;
		else
			h->pend_sent += n;
		if (f->hd.type == NGHTTP2_GOAWAY) /* nghttp2 found a connection error */
			h->our_goaway = f->goaway.error_code + 1;
		return 0;
	}
	c->bytes_sent += n;
	if (f->hd.type == NGHTTP2_HEADERS) {
		c->h2_hdr_out = true;
		h->sent_pending = true;
	}
	if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
	    (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
		c->h2_end_queued = true;
		h->sent_pending = true;
	}
	return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	struct h2conn *h = ud;
	struct http_call *c = call_of(h, id);
	if (!c)
		return 0;
	int64_t t = h->t_read ? h->t_read : now_us();
	if (h->our_goaway > 1) { /* we ended the connection for the server's protocol error */
		finish(h, c, err_h2(ERR_H2_CONN, h->our_goaway - 1), t);
	} else if (c->h2_err) {
		finish(h, c, c->h2_err, t);
	} else if (c->h2_final && c->h2_ended) { /* (an RST NO_ERROR after it: RFC 9113 §8.1) */
		finish(h, c, ERR_NONE, t);
	} else if (code == NGHTTP2_NO_ERROR && c->h2_final) { /* reset mid-response */
		finish(h, c, err_from_parse(HPE_TRUNCATED), t);
	} else if (h->goaway && id > h->goaway_last) { /* not processed (RFC 9113 §6.8) */
		if (may_retry(c, true))
			queue_retry(h, c);
		else
			finish(h, c, err_h2(ERR_H2_GOAWAY, h->goaway_code), t);
	} else if (code == NGHTTP2_REFUSED_STREAM && may_retry(c, true)) { /* §8.7 */
		queue_retry(h, c);
	} else {
		finish(h, c, err_h2(ERR_H2_STREAM, code == NGHTTP2_NO_ERROR ? 1 : code), t);
	}
	return 0;
}

/* The request's content: its bytes after the header section (decoded when chunked). */
static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
	struct http_call *c = src->ptr;
	size_t n = MIN(len, c->h2_blen - c->h2_boff);
	memcpy(buf, c->h2_body + c->h2_boff, n);
	c->h2_boff += n;
	if (c->h2_boff == c->h2_blen)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static void init_callbacks(void)
{
	nghttp2_session_callbacks_new(&callbacks);
	nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, on_begin_frame);
	nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
	nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, on_frame_send);
	nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
	nghttp2_option_new(&options);
	/* RFC 9113 §6.5.2: until the server's SETTINGS, assume 100 concurrent streams */
	nghttp2_option_set_peer_max_concurrent_streams(options, 100);
}

/* --- the request as a header list ----------------------------------------------------- */

static bool field_is(const char *name, size_t nlen, const char *want)
{
	return strlen(want) == nlen && !strncasecmp(name, want, nlen);
}

/* Decode a chunk-encoded content (as the serializer wrote it: RFC 9112 §7.1) into out.
 * Returns false when it is not well-formed. */
static bool dechunk(const char *p, size_t len, struct buf *out)
{
	const char *end = p + len;
	out->len = 0;
	for (;;) {
		size_t size = 0;
		int digits = 0;
		while (p < end &&
		       ((*p >= '0' && *p <= '9') || ((*p | 32) >= 'a' && (*p | 32) <= 'f'))) {
			if (++digits > 15)
				return false;
			size = size * 16 + (size_t)(*p <= '9' ? *p - '0' : (*p | 32) - 'a' + 10);
			p++;
		}
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!digits || !eol)
			return false;
		p = eol + 2;
		if (size == 0)
			return true; /* trailers, if any, are dropped */
		if ((size_t)(end - p) < size + 2)
			return false;
		buf_add(out, p, size);
		p += size + 2;
	}
}

/* Turn c's serialized HTTP/1.1 request into h->nv (RFC 9113 §8.3.1). Returns the number of
 * fields, or -1 when the request is not one the serializer makes. */
static int build_nv(struct h2conn *h, struct http_call *c, bool *has_body)
{
	const char *p = c->req, *end = c->req + c->req_len;
	const char *sp1 = memchr(p, ' ', (size_t)(end - p));
	const char *eol = sp1 ? memmem(sp1, (size_t)(end - sp1), "\r\n", 2) : NULL;
	if (!eol)
		return -1;
	const char *sp2 = eol - 9; /* " HTTP/1.1" */
	if (sp2 <= sp1 || *sp2 != ' ')
		return -1;
	const char *head_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
	if (!head_end)
		return -1;
	/* lower-cased names go to h->names; offsets first (it may move as it grows) */
	int n = 0, cap = 4;
	for (const char *q = eol + 2; q < head_end + 2;
	     q = (const char *)memmem(q, (size_t)(end - q), "\r\n", 2) + 2)
		cap++;
	if (cap > h->nv_cap) {
		h->nv = xrealloc(h->nv, sizeof(*h->nv) * (size_t)cap);
		h->nv_cap = cap;
	}
	h->names.len = 0;
	const char *authority = NULL;
	size_t alen = 0;
	bool chunked = false;
	nghttp2_nv *nv = h->nv;
#define NV(nm, nmlen, val, vlen)                                                                   \
	nv[n++] = (nghttp2_nv){ (uint8_t *)(nm), (uint8_t *)(val), (nmlen), (vlen),                \
		                NGHTTP2_NV_FLAG_NONE }
	NV(":method", 7, p, (size_t)(sp1 - p));
	NV(":scheme", 7, c->target->tls ? "https" : "http", c->target->tls ? 5u : 4u);
	int auth_at = n++; /* :authority, filled below */
	NV(":path", 5, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	int first_field = n;
	if (cap > h->off_cap) {
		h->name_off = xrealloc(h->name_off, sizeof(*h->name_off) * (size_t)cap);
		h->off_cap = cap;
	}
	size_t *name_off = h->name_off;
	for (const char *q = eol + 2; q < head_end + 2;) {
		const char *le = memmem(q, (size_t)(end - q), "\r\n", 2);
		const char *colon = memchr(q, ':', (size_t)(le - q));
		if (!colon)
			return -1;
		const char *name = q;
		size_t nlen = (size_t)(colon - q);
		const char *v = colon + 1;
		while (v < le && (*v == ' ' || *v == '\t'))
			v++;
		size_t vlen = (size_t)(le - v);
		q = le + 2;
		if (field_is(name, nlen, "host")) {
			authority = v, alen = vlen;
			continue;
		}
		if (field_is(name, nlen, "transfer-encoding")) {
			chunked = true; /* the serializer allows chunked last only */
			continue;
		}
		/* RFC 9113 §8.2.2: connection-specific fields are not sent */
		if (field_is(name, nlen, "connection") || field_is(name, nlen, "keep-alive") ||
		    field_is(name, nlen, "proxy-connection") || field_is(name, nlen, "upgrade"))
			continue;
		if (field_is(name, nlen, "te") && !(vlen == 8 && !strncasecmp(v, "trailers", 8)))
			continue;
		name_off[n - first_field] = h->names.len;
		for (size_t i = 0; i < nlen; i++) {
			char ch = name[i];
			buf_add(&h->names, &(char){ (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch) },
			        1);
		}
		NV(NULL, nlen, v, vlen);
	}
#undef NV
	for (int i = first_field; i < n; i++)
		nv[i].name = (uint8_t *)h->names.p + name_off[i - first_field];
	if (!authority) { /* a request without Host: the target's */
		bool v6 = strchr(c->target->host, ':') != NULL;
		snprintf(h->auth, sizeof(h->auth), "%s%s%s:%u", v6 ? "[" : "", c->target->host,
		         v6 ? "]" : "", c->target->port);
		authority = h->auth;
		alen = strlen(authority);
	}
	nv[auth_at] = (nghttp2_nv){ (uint8_t *)":authority", (uint8_t *)authority, 10, alen,
		                    NGHTTP2_NV_FLAG_NONE };
	const char *body = head_end + 4;
	size_t blen = (size_t)(end - body);
	if (chunked) {
		if (!dechunk(body, blen, &c->h2_dechunked))
			return -1;
		body = c->h2_dechunked.p;
		blen = c->h2_dechunked.len;
	}
	c->h2_body = body;
	c->h2_blen = blen;
	c->h2_boff = 0;
	*has_body = blen > 0;
	return n;
}

/* --- the protocol interface ----------------------------------------------------------- */

static enum err_kind h2_attach(struct conn *k)
{
	pthread_once(&once, init_callbacks);
	struct h2conn *h = xcalloc(1, sizeof(*h));
	h->k = k;
	h->done_tail = &h->done_head;
	if (nghttp2_session_client_new2(&h->s, callbacks, h, options) != 0) {
		free(h);
		return err_h2(ERR_H2_CONN, NGHTTP2_INTERNAL_ERROR);
	}
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW },
	};
	nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, ARRAY_SIZE(iv));
	nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW);
	h->pend_sent = 24; /* the client connection preface (RFC 9113 §3.4) */
	k->ps = h;
	return ERR_NONE;
}

/* Append c to h's streams (the oldest first: it carries the connection's bytes). */
static void add_call(struct h2conn *h, struct http_call *c)
{
	struct http_call **pp = &h->calls;
	while (*pp)
		pp = &(*pp)->link;
	*pp = c;
	c->link = NULL;
	h->ncalls++;
}

static void h2_submit(struct conn *k, struct http_call *c, uint32_t events)
{
	struct h2conn *h = h2_of(k);
	h->depth++;
	bool has_body = false;
	c->conn = k;
	c->proto = PROTO_HTTP2;
	c->h2_end_queued = c->h2_final = c->h2_hdr_out = c->h2_on_wire = c->h2_ended = false;
	c->h2_nhdr = 0;
	c->h2_hdr_bytes = 0;
	c->h2_err = ERR_NONE;
	c->h2_rbody = 0;
	c->h2_id = 0;
	c->bytes_recv = 0;
	c->t_first = c->t_sent = 0;
	c->headers.len = 0;
	c->nheaders = c->set_cookies = 0;
	c->body.len = 0;
	add_call(h, c);
	if (c->no_reuse) /* options.noConnectionReuse: this connection takes no more */
		h->no_more = true;
	int n = build_nv(h, c, &has_body);
	nghttp2_data_provider dp = { .source.ptr = c, .read_callback = read_body };
	int32_t id =
	    n < 0 ? -1
	          : nghttp2_submit_request(h->s, NULL, h->nv, (size_t)n, has_body ? &dp : NULL, c);
	if (id < 0) {
		finish(h, c, n < 0 ? ERR_WRITE : err_h2(ERR_H2_CONN, NGHTTP2_INTERNAL_ERROR),
		       now_us());
	} else {
		c->h2_id = id;
		c->bytes_sent += h->pend_sent, h->pend_sent = 0;
		c->bytes_recv += h->pend_recv, h->pend_recv = 0;
	}
	if (h->depth == 1 && !h->done_head && !h->retry)
		h->write_later = true;
	leave(h); /* sends it now, at the loop's next turn, or with the entry in progress */
}

static void h2_read(struct h2conn *h, uint32_t events)
{
	struct conn *k = h->k;
	struct netctx *nc = k->nc;
	size_t budget = H2_READ_BUDGET_BYTES;
	for (;;) {
		size_t n = 0;
		enum io_res r = k->sock.ops->read(&k->sock, nc->rbuf, nc->rbuf_len, &n);
		if (r == IO_AGAIN)
			break;
		if (r != IO_OK) {
			h->t_read = now_us();
			flush(h);
			fail_conn(h, h->our_goaway > 1 ? err_h2(ERR_H2_CONN, h->our_goaway - 1)
			             : r == IO_EOF     ? ERR_RESET
			             : k->sock.err     ? k->sock.err
			                               : ERR_RESET);
			return;
		}
		h->t_read = now_us();
		if (!h->got_bytes && n >= 7 && !memcmp(nc->rbuf, "HTTP/1.", 7) &&
		    !__atomic_exchange_n(&http1_warned, 1, __ATOMIC_RELAXED))
			fprintf(stderr,
			        "\nstampede: warning: %s answered HTTP/2's connection preface "
			        "in HTTP/1.1: it does not speak HTTP/2 there (without "
			        "--http2-prior-knowledge, or over https:// with --http2, "
			        "HTTP/1.1 is used)\n",
			        k->target->host);
		h->got_bytes = true;
		ssize_t used = nghttp2_session_mem_recv(h->s, (const uint8_t *)nc->rbuf, n);
		if (used < 0) { /* a connection error: nghttp2 queued a GOAWAY; send it and close */
			flush(h);
			fail_conn(h, err_h2(ERR_H2_CONN, used == NGHTTP2_ERR_FLOODED
			                                     ? NGHTTP2_ENHANCE_YOUR_CALM
			                                     : NGHTTP2_PROTOCOL_ERROR));
			return;
		}
		budget -= MIN(budget, n);
		/* a short read drained the socket: the next bytes raise a new edge (not so for
		 * TLS, whose buffer may hold more, nor when the peer's FIN came with the event) */
		if (n < nc->rbuf_len && k->sock.ops != &sock_tls_ops &&
		    !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
			break;
		if (budget == 0) { /* yield; the loop calls again */
			loop_io_pending(nc->loop, &k->io, events);
			break;
		}
	}
	h->t_read = 0;
	if (!flush_or_close(h))
		return;
	if (h->done_head) /* let done() submit the next requests before judging */
		return;
	if (!nghttp2_session_want_read(h->s) && !nghttp2_session_want_write(h->s) && !h->ncalls)
		fail_conn(h, ERR_RESET); /* GOAWAY done: nothing more on this connection */
}

static void h2_on_io(struct conn *k, uint32_t events)
{
	struct h2conn *h = h2_of(k);
	h->depth++;
	if ((events & EPOLLOUT) && h->out_pos < h->out.len && !flush_or_close(h)) {
		leave(h);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		h2_read(h, events);
	leave(h);
}

/* The earliest deadline came: the streams past theirs are cancelled (RST_STREAM CANCEL). */
static void h2_on_timer(struct conn *k)
{
	struct h2conn *h = h2_of(k);
	h->depth++;
	int64_t now = now_us();
	struct http_call *c = h->calls;
	while (c) {
		struct http_call *next = c->link;
		if (c->deadline <= now) {
			nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, c->h2_id,
			                          NGHTTP2_CANCEL);
			finish(h, c, ERR_REQUEST_TIMEOUT, now);
		}
		c = next;
	}
	leave(h);
}

/* h will never take another stream. */
static bool finished(const struct h2conn *h)
{
	return h->goaway || h->our_goaway || h->no_more || !nghttp2_session_want_read(h->s) ||
	       nghttp2_session_get_remote_settings(h->s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) ==
	           0 ||
	       nghttp2_session_get_next_stream_id(h->s) > H2_LAST_STREAM_ID;
}

static bool h2_can_take_more(const struct conn *k)
{
	const struct h2conn *h = h2_of(k);
	if (!h || h->dead || h->goaway || h->our_goaway || h->no_more ||
	    !nghttp2_session_want_read(h->s))
		return false;
	int max = k->nc->max_streams > 0 ? k->nc->max_streams : H2_MAX_STREAMS_DEFAULT;
	uint32_t remote =
	    nghttp2_session_get_remote_settings(h->s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
	return h->ncalls < max && (uint32_t)h->ncalls < remote &&
	       nghttp2_session_get_next_stream_id(h->s) <= H2_LAST_STREAM_ID;
}

/* A hard stop: the stream is cancelled, and its call forgotten. */
static void h2_abort(struct conn *k, struct http_call *c)
{
	struct h2conn *h = h2_of(k);
	h->depth++;
	unlink_call(h, c);
	c->link = NULL;
	if (c->h2_id > 0) {
		nghttp2_session_set_stream_user_data(h->s, c->h2_id, NULL);
		nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, c->h2_id, NGHTTP2_CANCEL);
	}
	c->proto = PROTO_HTTP2;
	leave(h);
}

/* Its HEADERS frame was written to the socket (produced is not enough: the write may be
 * deferred to the loop's next turn, or still queued, when a hard stop comes). */
static bool h2_reached(const struct conn *k, const struct http_call *c)
{
	return c->h2_on_wire;
}

static int h2_inflight(const struct conn *k)
{
	const struct h2conn *h = h2_of(k);
	return h ? h->ncalls : 0;
}

/* The connection closes: its streams end with err (those the server cannot have processed
 * are sent again elsewhere when they may be), or, with ERR_NONE (a hard stop), are dropped. */
static void h2_detach(struct conn *k, enum err_kind err)
{
	struct h2conn *h = h2_of(k);
	if (!h)
		return;
	h->depth++;
	int64_t t = h->t_read ? h->t_read : now_us();
	if (err == ERR_NONE && h->calls && k->sock.fd >= 0) {
		/* A hard stop with streams in flight: read what the server sent, so that closing
		 * sends a FIN rather than a reset (unread bytes make the kernel reset), which
		 * would throw away requests the server has received but not read yet, and were
		 * counted as interrupted here. */
		for (int i = 0; i < 16; i++) {
			size_t n = 0;
			if (k->sock.ops->read(&k->sock, k->nc->rbuf, k->nc->rbuf_len, &n) != IO_OK)
				break;
		}
		shutdown(k->sock.fd, SHUT_WR);
	}
	while (h->calls) {
		struct http_call *c = h->calls;
		if (err == ERR_NONE) {
			unlink_call(h, c);
			c->link = NULL;
			c->conn = NULL;
			c->in_flight = false;
		} else if (may_retry(c, false) && !c->conn_fresh) {
			queue_retry(h, c);
		} else {
			finish(h, c, err, t);
		}
	}
	h->dead = true;
	k->ps = NULL;
	loop_timer_cancel(k->nc->loop, &k->timer);
	leave(h); /* runs the done()s and retries, then frees h */
}

const struct proto_ops proto_h2_ops = {
	.proto = PROTO_HTTP2,
	.attach = h2_attach,
	.submit = h2_submit,
	.on_io = h2_on_io,
	.on_timer = h2_on_timer,
	.can_take_more = h2_can_take_more,
	.abort = h2_abort,
	.reached = h2_reached,
	.inflight = h2_inflight,
	.detach = h2_detach,
};
