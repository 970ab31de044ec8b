/* demo_ws.c: the demo server's WebSocket endpoints: RFC 6455 handshake, echo and chat
 * sessions framed by libwslay's event API, with memory released while a session idles. */
#include "demo/demo_ws.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#include "util/common.h"

#define WS_GUID       "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_OUT_HIGH   (256 * 1024) /* stop framing output above this many unsent bytes */
#define WS_IN_CHUNK   (64 * 1024)  /* input handed to wslay per step */
#define WS_MAX_QUEUED 4096         /* messages queued to a session that does not read */
#define WS_FRAG_MAX   1000         /* frag:N sends fragments of at most this many bytes */

struct ws_room {
	struct ws_room *next;
	struct demo_ws *members;
	size_t len;
	char name[DEMO_WS_MAX_ROOM + 1];
};

/* The source of a generated message (big:N, frag:N): bytes left, their value, the size
 * of one fragment. */
struct ws_gen {
	struct ws_gen *next;
	struct demo_ws *owner;
	size_t left, chunk;
	uint8_t byte;
};

struct demo_ws_hub {
	demo_ws_wake_fn wake;
	struct ws_room *rooms;
	struct demo_ws_counts counts;
};

struct demo_ws {
	struct demo_ws_hub *hub;
	wslay_event_context_ptr ctx; /* NULL while the session idles (made again on demand) */
	struct demo_buf *out;
	void *owner;
	struct ws_room *room; /* chat sessions only */
	struct demo_ws *rprev, *rnext;
	struct ws_gen *gens;
	const char *in; /* input being handed to wslay */
	size_t in_len, in_pos;
	uint64_t fed, framed; /* bytes given to wslay / bytes of the frames it began */
	bool msg_open;        /* a fragmented message is being received */
	bool drop;
	bool done; /* the closing handshake is over (the context is freed) */
};

static void ws_oom(void)
{
	fprintf(stderr, "stampede: out of memory (WebSocket session)\n");
	abort();
}

/* --- handshake ------------------------------------------------------------------------ */

void demo_ws_accept_key(const char *key, size_t n, char accept[32])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *mc = EVP_MD_CTX_new();

	if (!mc)
		ws_oom();
	EVP_DigestInit_ex(mc, EVP_sha1(), NULL);
	EVP_DigestUpdate(mc, key, n);
	EVP_DigestUpdate(mc, WS_GUID, strlen(WS_GUID));
	EVP_DigestFinal_ex(mc, md, &mdlen);
	EVP_MD_CTX_free(mc);
	EVP_EncodeBlock((unsigned char *)accept, md, (int)mdlen); /* 20 bytes: 28 chars + NUL */
}

/* A Sec-WebSocket-Key: the base64 of 16 bytes (RFC 6455 §4.1). */
static bool key_valid(const char *k, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	if (n != 24 || k[22] != '=' || k[23] != '=')
		return false;
	for (size_t i = 0; i < 22; i++)
		if (!k[i] || !strchr(b64, k[i]))
			return false;
	/* the last character carries 2 bits of data and 4 zero bits */
	return strchr("AQgw", k[21]) != NULL;
}

int demo_ws_handshake(const struct demo_req *req, char accept[32], const char **why)
{
	if (req->minor < 1) {
		*why = "WebSocket needs HTTP/1.1";
		return 400;
	}
	if (!req->upgrade_websocket || !req->conn_upgrade) {
		*why = "not a WebSocket handshake (Upgrade: websocket, Connection: Upgrade)";
		return 400;
	}
	if (req->ws_dup) {
		*why = "Sec-WebSocket-Key or Sec-WebSocket-Version given twice";
		return 400;
	}
	if (!req->ws_version) {
		*why = "missing Sec-WebSocket-Version";
		return 400;
	}
	if (req->ws_version_len != 2 || memcmp(req->ws_version, "13", 2) != 0) {
		*why = "unsupported Sec-WebSocket-Version (13 is)";
		return 426;
	}
	if (!req->ws_key || !key_valid(req->ws_key, req->ws_key_len)) {
		*why = "missing or invalid Sec-WebSocket-Key";
		return 400;
	}
	demo_ws_accept_key(req->ws_key, req->ws_key_len, accept);
	return 0;
}

/* The room that query names: "room=NAME" ("lobby" when absent). 0, or -EINVAL. */
static int room_of(const char *query, size_t qlen, const char **name, size_t *len)
{
	*name = "lobby";
	*len = 5;
	for (size_t i = 0; query && i < qlen;) {
		const char *amp = memchr(query + i, '&', qlen - i);
		size_t end = amp ? (size_t)(amp - query) : qlen;
		if (end - i >= 5 && memcmp(query + i, "room=", 5) == 0) {
			*name = query + i + 5;
			*len = end - i - 5;
		}
		i = end + 1;
	}
	return *len == 0 || *len > DEMO_WS_MAX_ROOM ? -EINVAL : 0;
}

int demo_ws_room_check(const char *query, size_t query_len)
{
	const char *name;
	size_t len;

	return room_of(query, query_len, &name, &len);
}

/* --- hub and rooms ----------------------------------------------------------------------- */

struct demo_ws_hub *demo_ws_hub_new(demo_ws_wake_fn wake)
{
	struct demo_ws_hub *h = xcalloc(1, sizeof(*h));

	h->wake = wake;
	return h;
}

void demo_ws_hub_free(struct demo_ws_hub *h)
{
	if (!h)
		return;
	while (h->rooms) {
		struct ws_room *r = h->rooms;
		h->rooms = r->next;
		free(r);
	}
	free(h);
}

void demo_ws_hub_counts(const struct demo_ws_hub *h, struct demo_ws_counts *out)
{
	*out = h->counts;
}

bool demo_ws_hub_full(const struct demo_ws_hub *h)
{
	return h->counts.open >= DEMO_WS_MAX_SESSIONS;
}

static void room_join(struct demo_ws *w, const char *name, size_t len)
{
	struct demo_ws_hub *h = w->hub;
	struct ws_room *r;

	for (r = h->rooms; r; r = r->next)
		if (r->len == len && memcmp(r->name, name, len) == 0)
			break;
	if (!r) {
		r = xcalloc(1, sizeof(*r));
		memcpy(r->name, name, len);
		r->len = len;
		r->next = h->rooms;
		h->rooms = r;
	}
	w->room = r;
	w->rnext = r->members;
	if (r->members)
		r->members->rprev = w;
	r->members = w;
}

static void room_leave(struct demo_ws *w)
{
	struct ws_room *r = w->room, **pp;

	if (!r)
		return;
	if (w->rprev)
		w->rprev->rnext = w->rnext;
	else
		r->members = w->rnext;
	if (w->rnext)
		w->rnext->rprev = w->rprev;
	w->room = NULL;
	if (r->members)
		return;
	for (pp = &w->hub->rooms; *pp != r; pp = &(*pp)->next)
		;
	*pp = r->next;
	free(r);
}

/* --- wslay callbacks -------------------------------------------------------------------- */

static ssize_t cb_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
	struct demo_ws *w = ud;
	size_t n = MIN(len, w->in_len - w->in_pos);

	UNUSED(flags);
	if (n == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	memcpy(buf, w->in + w->in_pos, n);
	w->in_pos += n;
	w->fed += n;
	return (ssize_t)n;
}

static ssize_t cb_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud)
{
	struct demo_ws *w = ud;

	UNUSED(flags);
	if (w->out->len >= WS_OUT_HIGH) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	demo_buf_append(w->out, data, len);
	return (ssize_t)len;
}

/* Frame boundaries, so that an idle session is known to be between frames and messages. */
static void cb_frame_start(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *a, void *ud)
{
	struct demo_ws *w = ud;
	uint64_t n = a->payload_length;

	UNUSED(ctx);
	w->framed += 2 + (n < 126 ? 0 : n < 65536 ? 2 : 8) + 4 + n; /* clients always mask */
	if (a->opcode == WSLAY_TEXT_FRAME || a->opcode == WSLAY_BINARY_FRAME ||
	    a->opcode == WSLAY_CONTINUATION_FRAME)
		w->msg_open = !a->fin;
}

static void cb_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                   void *ud);

static const struct wslay_event_callbacks callbacks = {
	.recv_callback = cb_recv,
	.send_callback = cb_send,
	.on_frame_recv_start_callback = cb_frame_start,
	.on_msg_recv_callback = cb_msg,
};

/* Make the session's wslay context when it has none (it idled). */
static void ws_wake(struct demo_ws *w)
{
	if (w->ctx || w->done)
		return;
	if (wslay_event_context_server_init(&w->ctx, &callbacks, w) != 0)
		ws_oom();
	wslay_event_config_set_max_recv_msg_length(w->ctx, DEMO_WS_MAX_MESSAGE);
	w->fed = w->framed = 0;
	w->msg_open = false;
}

/* Release the context of a session that has nothing under way: between messages, nothing
 * queued, no close started. A fresh context behaves the same for the next frame. */
static void ws_sleep(struct demo_ws *w)
{
	wslay_event_context_ptr ctx = w->ctx;

	if (!ctx || w->fed != w->framed || w->msg_open || w->gens || wslay_event_want_write(ctx) ||
	    !wslay_event_want_read(ctx) || wslay_event_get_close_sent(ctx) ||
	    wslay_event_get_close_received(ctx) || wslay_event_get_queued_msg_count(ctx))
		return;
	wslay_event_context_free(ctx);
	w->ctx = NULL;
}

/* Frame what is queued into the output buffer (as far as it takes it). */
static void ws_send(struct demo_ws *w)
{
	if (w->ctx && !w->drop && wslay_event_want_write(w->ctx) && wslay_event_send(w->ctx) != 0)
		w->drop = true;
}

static enum demo_ws_state ws_state(struct demo_ws *w)
{
	if (w->drop)
		return DEMO_WS_DROP;
	if (w->done)
		return DEMO_WS_DONE;
	ws_sleep(w);
	if (!w->ctx)
		return DEMO_WS_OPEN;
	bool rd = wslay_event_want_read(w->ctx), wr = wslay_event_want_write(w->ctx);
	if (!rd && !wr) { /* nothing more to read or to send: the context can go */
		wslay_event_context_free(w->ctx);
		w->ctx = NULL;
		w->done = true;
		return DEMO_WS_DONE;
	}
	if (rd && wslay_event_get_close_sent(w->ctx))
		return DEMO_WS_CLOSING;
	return DEMO_WS_OPEN;
}

static void ws_queue(struct demo_ws *w, uint8_t opcode, const uint8_t *msg, size_t len)
{
	struct wslay_event_msg m = { .opcode = opcode, .msg = msg, .msg_length = len };

	ws_wake(w);
	if (!w->ctx)
		return; /* closed */
	if (wslay_event_get_queued_msg_count(w->ctx) >= WS_MAX_QUEUED) {
		w->drop = true; /* it does not read what it is sent */
		return;
	}
	int rc = wslay_event_queue_msg(w->ctx, &m);
	if (rc == WSLAY_ERR_NOMEM)
		ws_oom();
	if (rc == 0 && opcode != WSLAY_PING)
		w->hub->counts.messages_sent++;
}

static ssize_t gen_read(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                        const union wslay_event_msg_source *src, int *eof, void *ud)
{
	struct ws_gen *g = src->data, **pp;
	struct demo_ws *w = ud;
	size_t n = MIN(MIN(len, g->chunk), g->left);

	UNUSED(ctx);
	memset(buf, g->byte, n);
	g->left -= n;
	if (g->left == 0) {
		*eof = 1;
		for (pp = &w->gens; *pp != g; pp = &(*pp)->next)
			;
		*pp = g->next;
		free(g);
	}
	return (ssize_t)n;
}

/* Queue one message of n bytes of byte, framed chunk bytes at a time, generated as it is
 * sent (a 16 MiB message costs no 16 MiB buffer). */
static void ws_queue_generated(struct demo_ws *w, uint8_t opcode, size_t n, uint8_t byte,
                               size_t chunk)
{
	struct ws_gen *g = xcalloc(1, sizeof(*g));
	struct wslay_event_fragmented_msg m = { .opcode = opcode, .read_callback = gen_read };

	ws_wake(w);
	if (n == 0) { /* an empty message: one frame */
		free(g);
		ws_queue(w, opcode, NULL, 0);
		return;
	}
	g->owner = w;
	g->left = n;
	g->chunk = chunk;
	g->byte = byte;
	m.source.data = g;
	if (wslay_event_queue_fragmented_msg(w->ctx, &m) != 0) {
		free(g);
		return;
	}
	g->next = w->gens;
	w->gens = g;
	w->hub->counts.messages_sent++;
}

/* "name:N" with 0 <= N <= DEMO_WS_MAX_MESSAGE: N, else -1. */
static long command_arg(const uint8_t *msg, size_t len, const char *name, long max)
{
	size_t nl = strlen(name);
	long v = 0;

	if (len <= nl + 1 || len > nl + 9 || memcmp(msg, name, nl) != 0 || msg[nl] != ':')
		return -1;
	for (size_t i = nl + 1; i < len; i++) {
		if (msg[i] < '0' || msg[i] > '9')
			return -1;
		v = v * 10 + (msg[i] - '0');
	}
	return v <= max ? v : -1;
}

static bool is_cmd(const uint8_t *msg, size_t len, const char *cmd)
{
	return len == strlen(cmd) && memcmp(msg, cmd, len) == 0;
}

/* An echo session's text commands; false when msg is not one. */
static bool echo_command(struct demo_ws *w, const uint8_t *msg, size_t len)
{
	long v = is_cmd(msg, len, "close") ? WSLAY_CODE_NORMAL_CLOSURE
	                                   : command_arg(msg, len, "close", 4999);

	if (v >= 1000) { /* close, close:CODE */
		uint16_t code = (uint16_t)v;
		if (wslay_event_queue_close(w->ctx, code, (const uint8_t *)"bye", 3) != 0)
			w->drop = true; /* a code that may not be sent (1005, 1006, 1015) */
		return true;
	}
	if (is_cmd(msg, len, "drop")) {
		w->drop = true;
		return true;
	}
	if (is_cmd(msg, len, "ping")) {
		ws_queue(w, WSLAY_PING, (const uint8_t *)"demo", 4);
		return true;
	}
	if ((v = command_arg(msg, len, "big", DEMO_WS_MAX_MESSAGE)) >= 0) {
		ws_queue_generated(w, WSLAY_BINARY_FRAME, (size_t)v, 'x', SIZE_MAX);
		return true;
	}
	if ((v = command_arg(msg, len, "frag", DEMO_WS_MAX_MESSAGE)) >= 0) {
		ws_queue_generated(w, WSLAY_TEXT_FRAME, (size_t)v, 'y', WS_FRAG_MAX);
		return true;
	}
	return false;
}

static void cb_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                   void *ud)
{
	struct demo_ws *w = ud;

	UNUSED(ctx);
	if (a->opcode != WSLAY_TEXT_FRAME && a->opcode != WSLAY_BINARY_FRAME)
		return; /* wslay answers pings and closes itself */
	w->hub->counts.messages_received++;
	if (w->drop)
		return;
	if (!w->room) {
		if (a->opcode == WSLAY_TEXT_FRAME && echo_command(w, a->msg, a->msg_length))
			return;
		ws_queue(w, a->opcode, a->msg, a->msg_length);
		return;
	}
	for (struct demo_ws *m = w->room->members; m; m = m->rnext) {
		if (m->drop || m->done)
			continue;
		ws_queue(m, a->opcode, a->msg, a->msg_length);
		if (m != w) {
			ws_send(m);
			ws_sleep(m); /* one context at a time, however large the room */
			w->hub->wake(m->owner);
		}
	}
}

/* --- sessions ------------------------------------------------------------------------- */

int demo_ws_open(struct demo_ws_hub *h, bool chat, const char *query, size_t query_len, void *owner,
                 struct demo_buf *out, struct demo_ws **out_ws)
{
	const char *room;
	size_t rlen;

	if (demo_ws_hub_full(h))
		return -EBUSY;
	if (chat && room_of(query, query_len, &room, &rlen) < 0)
		return -EINVAL;
	struct demo_ws *w = xcalloc(1, sizeof(*w));
	w->hub = h;
	w->out = out;
	w->owner = owner;
	if (chat)
		room_join(w, room, rlen);
	h->counts.open++;
	h->counts.sessions_total++;
	*out_ws = w;
	return 0;
}

enum demo_ws_state demo_ws_input(struct demo_ws *w, const char *data, size_t len, size_t *used)
{
	*used = 0;
	if (w->done) {
		*used = len; /* after the closing handshake: nothing more is read */
		return ws_state(w);
	}
	if (w->drop || len == 0)
		return ws_state(w);
	if (w->ctx && !wslay_event_want_read(w->ctx)) {
		*used = len; /* after a Close: nothing more is read */
		return ws_state(w);
	}
	if (w->out->len >= WS_OUT_HIGH)
		return ws_state(w); /* the client does not read: stop reading it */
	ws_wake(w);
	w->in = data;
	w->in_len = MIN(len, (size_t)WS_IN_CHUNK);
	w->in_pos = 0;
	if (wslay_event_recv(w->ctx) != 0)
		w->drop = true;
	*used = w->in_pos;
	w->in = NULL;
	w->in_len = w->in_pos = 0;
	ws_send(w);
	return ws_state(w);
}

enum demo_ws_state demo_ws_output(struct demo_ws *w)
{
	ws_send(w);
	return ws_state(w);
}

enum demo_ws_state demo_ws_going_away(struct demo_ws *w)
{
	if (w->done || w->drop)
		return ws_state(w);
	ws_wake(w);
	if (!wslay_event_get_close_sent(w->ctx))
		wslay_event_queue_close(w->ctx, WSLAY_CODE_GOING_AWAY,
		                        (const uint8_t *)"going away", 10);
	ws_send(w);
	return ws_state(w);
}

void demo_ws_close(struct demo_ws *w)
{
	if (!w)
		return;
	room_leave(w);
	if (w->ctx)
		wslay_event_context_free(w->ctx);
	while (w->gens) {
		struct ws_gen *g = w->gens;
		w->gens = g->next;
		free(g);
	}
	w->hub->counts.open--;
	free(w);
}
