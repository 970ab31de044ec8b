/* ws.h: one client WebSocket session (RFC 6455) over an upgraded connection: framing by
 * libwslay, non-blocking I/O on the worker's loop, timers, and a bounded queue of events
 * that its owner (the script layer) takes one at a time.
 *
 * Bounded memory: a message longer than msg_max fails the session with Close 1009 and an
 * error event; reading stops while the queued events hold more than queue_max bytes (and
 * goes on once the owner took them); ws_send refuses a message that would take the
 * outgoing queue past out_max. Bounded work: at most 512 KiB are read per readiness event
 * (then loop_io_pending, loop.h). */
#ifndef STAMPEDE_WS_H
#define STAMPEDE_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/conn.h"
#include "engine/loop.h"
#include "engine/sock.h"
#include "util/buf.h"

/* The GUID of RFC 6455 §1.3 and the length of a Sec-WebSocket-Key / -Accept value. */
#define WS_GUID       "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_LEN    24
#define WS_ACCEPT_LEN 28

/* Defaults of the bounds (ws_opts, 0 takes these). */
#define WS_MSG_MAX_DEFAULT   ((size_t)16 << 20)
#define WS_QUEUE_MAX_DEFAULT ((size_t)1 << 20)
/* Timers (ws_timer_add) armed at once per session, and the wait for the server's Close
 * after ours before the connection is dropped. */
#define WS_TIMERS_MAX    1000
#define WS_CLOSE_WAIT_US (2 * 1000000LL)
#define WS_PINGS_TRACKED 16

enum ws_ev_kind {
	WS_EV_TEXT,
	WS_EV_BINARY,
	WS_EV_PING,
	WS_EV_PONG,
	WS_EV_TIMER,
	WS_EV_ERROR, /* data: the reason, a C string */
	WS_EV_CLOSE, /* the last event of a session; code: the close code */
};

/* One event; the owner frees it with ws_event_free(). */
struct ws_event {
	enum ws_ev_kind kind;
	int code;       /* CLOSE: the status code (1005 none given, 1006 no Close frame) */
	int timer_id;   /* TIMER */
	int64_t rtt_us; /* PONG: round trip of our oldest unanswered ping, -1 if none */
	size_t len;
	struct ws_event *next;
	char data[]; /* len bytes, then a NUL */
};

struct ws_opts {
	size_t msg_max;   /* largest message received (0: WS_MSG_MAX_DEFAULT) */
	size_t out_max;   /* most bytes queued for sending (0: msg_max) */
	size_t queue_max; /* most bytes of events queued for the owner (0: WS_QUEUE_MAX_DEFAULT) */
};

struct ws_session;
/* Called (from the loop) when the session queued events the owner has not seen: the
 * owner takes them with ws_next() later, never from inside this call. */
typedef void (*ws_notify_fn)(void *ud);

/* Base64 of 16 random bytes (a Sec-WebSocket-Key) into key[WS_KEY_LEN + 1]. */
void ws_make_key(char key[WS_KEY_LEN + 1]);
/* Whether accept (len bytes) is base64(SHA-1(key + WS_GUID)) (RFC 6455 §4.1, item 4). */
bool ws_accept_ok(const char *key, const char *accept, size_t len);

/* Start a session on the connection an upgrade handed over (http_call.upgraded; *s is
 * taken: s->fd is -1 afterwards) with the bytes already read past the 101 (extra: its
 * contents are taken too). Registers the fd with nc's loop. Returns 0 with *out set, or a
 * negative errno (the connection is closed then). */
int ws_session_new(struct ws_session **out, struct netctx *nc, struct sock *s, struct buf *extra,
                   const struct ws_opts *o, ws_notify_fn notify, void *ud);
/* Close the connection at once (no Close handshake), cancel the timers and free the
 * session and its queued events; accepts NULL. */
void ws_session_free(struct ws_session *s);

/* Queue a text (binary false) or binary message. Returns 0; -EPIPE once the session is
 * closing or closed (nothing is sent); -ENOBUFS when the outgoing queue would pass out_max
 * (the server is not reading). */
int ws_send(struct ws_session *s, bool binary, const char *p, size_t len);
/* Send a Ping (its time is kept for the PONG event's rtt_us). 0, -EPIPE or -ENOBUFS. */
int ws_ping(struct ws_session *s);
/* Start the closing handshake with code (RFC 6455 §7.4). The CLOSE event comes when the
 * server answered, or after WS_CLOSE_WAIT_US. Harmless once closing. */
void ws_close(struct ws_session *s, int code);
/* Queue a TIMER event with id after delay_us, then every delay_us with repeat (never
 * more than one such event queued per timer). Returns 0, -EPIPE once closed, -ENOSPC past
 * WS_TIMERS_MAX. Timers end with the session. */
int ws_timer_add(struct ws_session *s, int id, int64_t delay_us, bool repeat);

/* Take the oldest queued event into *ev (the caller owns it). false when none is queued. */
bool ws_next(struct ws_session *s, struct ws_event **ev);
/* Whether the session is over: its CLOSE event was queued (and maybe taken already). */
bool ws_closed(const struct ws_session *s);
/* Bytes sent and received on the connection so far (frames, TLS records excluded). */
void ws_bytes(const struct ws_session *s, uint64_t *sent, uint64_t *recv);
void ws_event_free(struct ws_event *ev);

#endif
