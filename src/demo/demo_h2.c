/* demo_h2.c: HTTP/2 on one connection of the demo server, framed by libnghttp2 (server
 * side): streams' requests handed to the server, responses with their bodies back. */
#include "demo/demo_h2.h"

#include <ctype.h>
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

#define H2_OUT_HIGH (256 * 1024) /* stop framing output above this many unsent bytes */

/* One stream: its request as received, then its response body as it is sent. */
struct h2_stream {
	struct h2_stream *prev, *next; /* the session's streams (nghttp2_session_del does not
	                                * report their closing) */
	struct demo_buf head;          /* method, path, authorization, each NUL-terminated */
	size_t method_off, path_off, auth_off;
	bool has_method, has_path, has_auth;
	struct demo_buf body;
	int status; /* an error found while receiving, 0 when none */
	const char *error;
	bool dispatched;  /* handed to the server */
	bool ended;       /* the client's END_STREAM arrived */
	bool reset_after; /* answered early (an error): RST_STREAM once the answer is sent */
	struct demo_buf resp;
	size_t resp_pos;
};

struct demo_h2 {
	nghttp2_session *session;
	demo_h2_request_fn on_request;
	void *owner;
	struct demo_buf *out;
	struct h2_stream *streams;
	int nstreams;
	bool failed;
};

static void stream_free(struct demo_h2 *h, struct h2_stream *st)
{
	if (st->prev)
		st->prev->next = st->next;
	else
		h->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	h->nstreams--;
	demo_buf_free(&st->head);
	demo_buf_free(&st->body);
	demo_buf_free(&st->resp);
	free(st);
}

static void stream_fail(struct h2_stream *st, int status, const char *why)
{
	if (!st->status) {
		st->status = status;
		st->error = why;
	}
}

/* Store a header value in the stream's head buffer; its offset into *off. */
static void stream_keep(struct h2_stream *st, const uint8_t *v, size_t n, size_t *off)
{
	*off = st->head.len;
	demo_buf_append(&st->head, v, n);
	demo_buf_append(&st->head, "", 1);
}

/* --- requests --------------------------------------------------------------------------- */

/* Hand a complete (or failed) request to the server. */
static void stream_dispatch(struct demo_h2 *h, int32_t id, struct h2_stream *st)
{
	struct demo_req req;

	memset(&req, 0, sizeof(req));
	st->dispatched = true;
	req.minor = 1;
	req.keep_alive = true;
	req.method = DEMO_METHOD_OTHER;
	if (st->has_method) {
		const char *m = st->head.data + st->method_off;
		req.method = demo_method_parse(m, strlen(m));
	}
	if (st->has_path) {
		const char *p = st->head.data + st->path_off;
		const char *q = strchr(p, '?');
		req.path = p;
		req.path_len = q ? (size_t)(q - p) : strlen(p);
		if (q) {
			req.query = q + 1;
			req.query_len = strlen(q + 1);
		}
		if (p[0] != '/')
			stream_fail(st, 400, "malformed request target");
	} else if (req.method != DEMO_METHOD_OTHER) {
		stream_fail(st, 400, "missing :path");
	}
	if (!req.path) {
		req.path = "/";
		req.path_len = 1;
	}
	if (st->has_auth) {
		req.auth = st->head.data + st->auth_off;
		req.auth_len = strlen(req.auth);
	}
	req.body = st->body.data ? st->body.data : "";
	req.body_len = st->body.len;
	req.status = st->status;
	req.error = st->error;
	h->on_request(h->owner, id, &req, st->status);
}

static int cb_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
	struct demo_h2 *h = ud;

	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	struct h2_stream *st = xcalloc(1, sizeof(*st));
	nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, st);
	st->next = h->streams;
	if (h->streams)
		h->streams->prev = st;
	h->streams = st;
	h->nstreams++;
	return 0;
}

static int cb_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);

	UNUSED(flags);
	UNUSED(ud);
	if (!st || frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0; /* trailers are not kept */
	if (st->head.len + valuelen > DEMO_MAX_HEAD) {
		stream_fail(st, 431, "request header fields too large");
		return 0;
	}
	if (namelen == 7 && memcmp(name, ":method", 7) == 0) {
		stream_keep(st, value, valuelen, &st->method_off);
		st->has_method = true;
	} else if (namelen == 5 && memcmp(name, ":path", 5) == 0) {
		if (valuelen > DEMO_MAX_REQUEST_LINE)
			stream_fail(st, 414, "request target too long");
		stream_keep(st, value, valuelen, &st->path_off);
		st->has_path = true;
	} else if (namelen == 13 && memcmp(name, "authorization", 13) == 0) {
		if (st->has_auth)
			stream_fail(st, 400, "more than one Authorization header");
		stream_keep(st, value, valuelen, &st->auth_off);
		st->has_auth = true;
	} else if (namelen == 14 && memcmp(name, "content-length", 14) == 0) {
		char num[24];
		size_t n = MIN(valuelen, sizeof(num) - 1);
		memcpy(num, value, n);
		num[n] = '\0';
		if (strtoull(num, NULL, 10) > DEMO_MAX_BODY || valuelen > 20)
			stream_fail(st, 413, "request body too large");
	} else if (namelen == 6 && memcmp(name, "expect", 6) == 0) {
		if (valuelen != 12 || strncasecmp((const char *)value, "100-continue", 12) != 0)
			stream_fail(st, 417, "unsupported expectation");
	}
	return 0;
}

static int cb_data(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
                   size_t len, void *ud)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(session, id);

	UNUSED(flags);
	UNUSED(ud);
	if (!st || st->dispatched)
		return 0;
	if (st->body.len + len > DEMO_MAX_BODY)
		stream_fail(st, 413, "request body too large");
	else
		demo_buf_append(&st->body, data, len);
	return 0;
}

static int cb_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
	struct demo_h2 *h = ud;
	int32_t id = frame->hd.stream_id;
	struct h2_stream *st;

	if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
		return 0;
	st = nghttp2_session_get_stream_user_data(session, id);
	if (st && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
		st->ended = true;
	if (!st || st->dispatched)
		return 0;
	/* complete, or failed already: an error is answered without waiting for the body */
	if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) || st->status)
		stream_dispatch(h, id, st);
	return 0;
}

/* An error answered before the request was complete: the rest is not wanted (as HTTP/1.1
 * closes the connection, RFC 9113 §8.1 resets the stream, NO_ERROR, after the answer). */
static int cb_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
	int32_t id = frame->hd.stream_id;
	struct h2_stream *st;

	UNUSED(ud);
	if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) ||
	    (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA))
		return 0;
	st = nghttp2_session_get_stream_user_data(session, id);
	if (st && st->reset_after && !st->ended)
		nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR);
	return 0;
}

static int cb_stream_close(nghttp2_session *session, int32_t id, uint32_t code, void *ud)
{
	struct demo_h2 *h = ud;
	struct h2_stream *st = nghttp2_session_get_stream_user_data(session, id);

	UNUSED(code);
	if (!st)
		return 0;
	nghttp2_session_set_stream_user_data(session, id, NULL);
	stream_free(h, st);
	return 0;
}

/* --- session -------------------------------------------------------------------------- */

int demo_h2_is_preface(const char *data, size_t len)
{
	size_t n = MIN(len, (size_t)DEMO_H2_PREFACE_LEN);

	if (memcmp(data, DEMO_H2_PREFACE, n) != 0)
		return 0;
	return n == DEMO_H2_PREFACE_LEN ? 1 : -1;
}

int demo_h2_new(demo_h2_request_fn on_request, void *owner, struct demo_buf *out,
                struct demo_h2 **out_h2)
{
	nghttp2_session_callbacks *cbs;
	struct demo_h2 *h = xcalloc(1, sizeof(*h));
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, DEMO_H2_MAX_STREAMS },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 2 * DEMO_MAX_HEAD },
	};

	if (nghttp2_session_callbacks_new(&cbs) != 0)
		goto out_free;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, cb_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, cb_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, cb_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, cb_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, cb_stream_close);
	nghttp2_session_callbacks_set_on_frame_send_callback(cbs, cb_frame_send);
	int rc = nghttp2_session_server_new(&h->session, cbs, h);
	nghttp2_session_callbacks_del(cbs);
	if (rc != 0)
		goto out_free;
	h->on_request = on_request;
	h->owner = owner;
	h->out = out;
	if (nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, iv, ARRAY_SIZE(iv)) != 0)
		goto out_free;
	*out_h2 = h;
	return 0;
out_free:
	demo_h2_free(h);
	return -ENOMEM;
}

void demo_h2_free(struct demo_h2 *h)
{
	if (!h)
		return;
	nghttp2_session_del(h->session);
	while (h->streams)
		stream_free(h, h->streams);
	free(h);
}

/* Append the frames nghttp2 has ready to the output buffer, up to its high-water mark. */
static int h2_flush(struct demo_h2 *h)
{
	while (h->out->len < H2_OUT_HIGH) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(h->session, &data);
		if (n < 0) {
			h->failed = true;
			return -EPROTO;
		}
		if (n == 0)
			break;
		demo_buf_append(h->out, data, (size_t)n);
	}
	return h->failed ? -EPROTO : 0;
}

int demo_h2_input(struct demo_h2 *h, const char *data, size_t len)
{
	if (!h->failed && len) {
		ssize_t n = nghttp2_session_mem_recv(h->session, (const uint8_t *)data, len);
		if (n < 0) {
			/* a broken session: nghttp2 queued a GOAWAY when it could */
			h2_flush(h);
			h->failed = true;
			return -EPROTO;
		}
	}
	return h2_flush(h);
}

int demo_h2_output(struct demo_h2 *h)
{
	return h2_flush(h);
}

static ssize_t body_read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct h2_stream *st = src->ptr;
	size_t n = MIN(length, st->resp.len - st->resp_pos);

	UNUSED(session);
	UNUSED(id);
	UNUSED(ud);
	memcpy(buf, st->resp.data + st->resp_pos, n);
	st->resp_pos += n;
	if (st->resp_pos == st->resp.len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

#define NV(n, v, nl, vl)                                                                           \
	((nghttp2_nv){ (uint8_t *)(n), (uint8_t *)(v), (nl), (vl), NGHTTP2_NV_FLAG_NONE })

/* Add "Name: value\r\n" lines to nva (names lowercased into names). Returns the count. */
static size_t extra_headers(const char *extra, nghttp2_nv *nva, size_t max, char *names,
                            size_t names_len)
{
	size_t n = 0, used = 0;

	while (extra && *extra && n < max) {
		const char *colon = strchr(extra, ':'), *eol = strstr(extra, "\r\n");
		if (!colon || !eol || colon > eol)
			break;
		size_t nl = (size_t)(colon - extra);
		const char *v = colon + 1;
		while (*v == ' ')
			v++;
		if (used + nl > names_len)
			break;
		for (size_t i = 0; i < nl; i++)
			names[used + i] = (char)tolower((unsigned char)extra[i]);
		nva[n++] = NV(names + used, v, nl, (size_t)(eol - v));
		used += nl;
		extra = eol + 2;
	}
	return n;
}

void demo_h2_respond(struct demo_h2 *h, int32_t id, int status, const char *ctype, const char *body,
                     size_t len, bool head, const char *extra)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(h->session, id);
	char code[8], clen[24], names[256];
	nghttp2_nv nva[12];
	size_t n = 0;

	if (!st || h->failed)
		return; /* reset by the client, or the session is gone */
	snprintf(code, sizeof(code), "%d", status);
	snprintf(clen, sizeof(clen), "%zu", len);
	nva[n++] = NV(":status", code, 7, strlen(code));
	nva[n++] = NV("server", "stampede-demo", 6, 13);
	nva[n++] = NV("content-type", ctype, 12, strlen(ctype));
	nva[n++] = NV("content-length", clen, 14, strlen(clen));
	n += extra_headers(extra, nva + n, ARRAY_SIZE(nva) - n, names, sizeof(names));
	demo_buf_reset(&st->resp);
	st->resp_pos = 0;
	st->reset_after = !st->ended;
	if (head || len == 0) {
		nghttp2_submit_response(h->session, id, nva, n, NULL);
		return;
	}
	demo_buf_append(&st->resp, body, len);
	nghttp2_data_provider prd = { .source.ptr = st, .read_callback = body_read };
	nghttp2_submit_response(h->session, id, nva, n, &prd);
}

void demo_h2_reset(struct demo_h2 *h, int32_t id, uint32_t code)
{
	nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, id, code);
}

void demo_h2_goaway(struct demo_h2 *h)
{
	nghttp2_submit_goaway(h->session, NGHTTP2_FLAG_NONE,
	                      nghttp2_session_get_last_proc_stream_id(h->session), NGHTTP2_NO_ERROR,
	                      NULL, 0);
}

int demo_h2_streams(const struct demo_h2 *h)
{
	return h->nstreams;
}

bool demo_h2_done(const struct demo_h2 *h)
{
	return h->failed ||
	       (!nghttp2_session_want_read(h->session) && !nghttp2_session_want_write(h->session));
}
