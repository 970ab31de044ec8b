/* demo_ws.h: the demo server's WebSocket endpoints (/ws/echo, /ws/chat): the RFC 6455
 * handshake, and sessions framed by libwslay (docs/demo.md, "WebSocket"). */
#ifndef STAMPEDE_DEMO_WS_H
#define STAMPEDE_DEMO_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "demo/demo_buf.h"
#include "demo/demo_http.h"

#define DEMO_WS_MAX_SESSIONS  10000      /* more: 503 before upgrading */
#define DEMO_WS_MAX_MESSAGE   (16 << 20) /* a larger message: Close 1009 */
#define DEMO_WS_MAX_ROOM      64         /* bytes of a chat room's name */
#define DEMO_WS_CLOSE_WAIT_US 2000000    /* after its Close, the server waits this long */

/* What the connection should do after a call into a session. */
enum demo_ws_state {
	DEMO_WS_OPEN,    /* keep going */
	DEMO_WS_CLOSING, /* the server sent its Close: wait for the client's (at most 2 s) */
	DEMO_WS_DONE,    /* the closing handshake is over: close once the output is sent */
	DEMO_WS_DROP,    /* close the TCP connection now, without a Close frame */
};

/* Counters for /metrics. */
struct demo_ws_counts {
	uint64_t sessions_total;
	uint64_t messages_received; /* text and binary messages, not control frames */
	uint64_t messages_sent;
	int open;
};

/* Called for a session that got output while another session was being served (a chat
 * message): its connection should send its output buffer. */
typedef void (*demo_ws_wake_fn)(void *owner);

struct demo_ws_hub;
struct demo_ws;

/* Every session, the chat rooms and the counters of one server; used by one thread. The
 * hub never fails to be made (allocation aborts). Free with demo_ws_hub_free once every
 * session is closed (NULL is accepted). */
struct demo_ws_hub *demo_ws_hub_new(demo_ws_wake_fn wake);
void demo_ws_hub_free(struct demo_ws_hub *h);
void demo_ws_hub_counts(const struct demo_ws_hub *h, struct demo_ws_counts *out);

/*
 * Check a WebSocket handshake request (a GET whose route is a WebSocket endpoint). Returns
 * 0 with the Sec-WebSocket-Accept value (base64(SHA-1(key + GUID)), NUL-terminated) in
 * accept, or the HTTP status to answer instead: 400 (not a valid handshake) or 426 (a
 * version other than 13; answer with "Sec-WebSocket-Version: 13"), with a reason in *why.
 */
int demo_ws_handshake(const struct demo_req *req, char accept[32], const char **why);

/* The accept value of key (n bytes), NUL-terminated into accept. */
void demo_ws_accept_key(const char *key, size_t n, char accept[32]);

/*
 * Open a session after the 101 response: an echo session, or a chat session in the room
 * that query's "room" parameter names ("lobby" when absent). Output is appended to out
 * (the connection's output buffer, which must outlive the session); owner is passed to
 * the wake function. Returns 0 and *out_ws, -EBUSY when DEMO_WS_MAX_SESSIONS are open,
 * or -EINVAL for a room name that is empty or longer than DEMO_WS_MAX_ROOM bytes.
 */
int demo_ws_room_check(const char *query, size_t query_len);
int demo_ws_open(struct demo_ws_hub *h, bool chat, const char *query, size_t query_len, void *owner,
                 struct demo_buf *out, struct demo_ws **out_ws);

/* Whether the hub has room for one more session. */
bool demo_ws_hub_full(const struct demo_ws_hub *h);

/* Feed received bytes; *used gets how many were taken (fewer than len while the output
 * buffer is full: offer the rest after it drained). */
enum demo_ws_state demo_ws_input(struct demo_ws *w, const char *data, size_t len, size_t *used);

/* The output buffer was sent: append more of what is queued. */
enum demo_ws_state demo_ws_output(struct demo_ws *w);

/* The server closes the session (idle timeout, stop): Close 1001 "going away". */
enum demo_ws_state demo_ws_going_away(struct demo_ws *w);

/* Close the session (its connection is closed): leave its room and free it. NULL is
 * accepted. */
void demo_ws_close(struct demo_ws *w);

#endif
