/* conn_int.h: what conn.c (connections: lookup, connect, TLS, the pool, deadlines) shares
 * with the protocols behind it (HTTP/1.1 in conn.c, HTTP/2 in conn_h2.c). Private to
 * engine/conn*.c.
 *
 * A connection is opened for a call (its opener: lookup, TCP connect, TLS handshake with
 * ALPN) and then attached to a protocol, which carries calls over it: one at a time for
 * HTTP/1.1, many streams at once for HTTP/2. conn.c picks the connection of each new call
 * (a protocol's can_take_more says whether an open one takes it) and leaves the exchange,
 * the deadlines of its calls once the connection is open, and its reading and writing to
 * the protocol. */
#ifndef STAMPEDE_CONN_INT_H
#define STAMPEDE_CONN_INT_H

#include "engine/conn.h"

enum req_state {
	RS_IDLE,
	RS_BACKOFF,   /* a connect lacked fds/ports: the timer fails the call */
	RS_RESOLVING, /* a new connection waits for its host's address */
	RS_CONNECTING,
	RS_HANDSHAKE,
	RS_SENDING, /* HTTP/1.1: the request is being written */
	RS_WAITING, /* HTTP/1.1: the response is being read */
	RS_OPEN     /* attached to a multiplexing protocol (HTTP/2), which drives it */
};

struct conn;

/* A protocol over an open connection (attached after the connect and the TLS handshake).
 * Each function is called by conn.c with k attached to this protocol. */
struct proto_ops {
	enum call_proto proto;
	/* The connection is up: set up the protocol's state. The opener (k->call) and the
	 * calls that waited for the connection are submitted next. Returns 0, or an error kind
	 * that fails them. */
	enum err_kind (*attach)(struct conn *k);
	/* Start c on k (can_take_more said yes). c->t_start/t_conn are set; events: those of
	 * the readiness event that led here (0: none). Ends c with done() on failure. */
	void (*submit)(struct conn *k, struct http_call *c, uint32_t events);
	/* Readiness of k's fd. */
	void (*on_io)(struct conn *k, uint32_t events);
	/* k's timer fired (the protocol arms it through conn_arm). */
	void (*on_timer)(struct conn *k);
	/* Whether k takes one more call now. */
	bool (*can_take_more)(const struct conn *k);
	/* Abandon c (hard stop) without done(). */
	void (*abort)(struct conn *k, struct http_call *c);
	/* Whether c's request has reached the server, at least in part. */
	bool (*reached)(const struct conn *k, const struct http_call *c);
	/* Calls in flight on k (0: idle, and connpool_close_idle may close it). */
	int (*inflight)(const struct conn *k);
	/* The connection is being closed: end every call still on it with err (retrying those
	 * that may be), without touching the socket, and release the protocol's state. */
	void (*detach)(struct conn *k, enum err_kind err);
};

struct conn {
	struct netctx *nc;
	struct connpool *pool;
	const struct target *target; /* NULL when the struct holds no connection */
	struct sock sock;
	struct loop_io io;
	struct loop_timer timer;
	struct resolver_query rq; /* RS_RESOLVING: the lookup of target->host */
	enum req_state rs;
	enum err_kind backoff_err;   /* RS_BACKOFF: the error the call ends with */
	int reqs;                    /* requests completed on this connection */
	struct http_call *call;      /* HTTP/1.1: in flight; else the opener until attached */
	struct http_call *waiters;   /* calls waiting for this connection to be attached */
	const struct proto_ops *ops; /* NULL until attached */
	void *ps;                    /* the protocol's state (HTTP/2: struct h2conn) */
	struct http_parser *parser;  /* HTTP/1.1: borrowed from the netctx while in flight */
	size_t wpos;
	int64_t conn_deadline;
	struct conn *next;
};

extern const struct proto_ops proto_h1_ops;
extern const struct proto_ops proto_h2_ops;

/* Keep a response header field in c->headers (capture: "name\0value\0" pairs). */
void call_add_header(void *ud, const char *name, size_t nlen, const char *val, size_t vlen);
/* Close k's connection: its protocol ends the calls still on it with err. */
void conn_close_err(struct conn *k, enum err_kind err);
/* Start c again from the beginning on a connection of its pool (a retry after the server
 * closed or refused it before processing it). */
void conn_restart_call(struct netctx *nc, struct connpool *pool, struct http_call *c);

#endif
