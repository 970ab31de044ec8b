/* conn.h: one HTTP/1.1 exchange over a pooled keep-alive connection (plain or TLS).
 *
 * Bounded work: a connection reads at most a fixed budget (512 KiB) per readiness event,
 * then yields with loop_io_pending() (loop.h) and goes on at the loop's next turn, so a
 * server that sends without end cannot keep timers, timeouts and stop requests from
 * running. Bounded memory: a response body longer than the call's body_max ends the call
 * with ERR_BODY_TOO_LARGE, whether the body is kept or not. */
#ifndef STAMPEDE_CONN_H
#define STAMPEDE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "engine/loop.h"
#include "engine/resolver.h"
#include "engine/sock.h"
#include "protocol/errkind.h"
#include "protocol/http_parse.h"
#include "util/buf.h"

/* An origin (scheme, host, port), cached per worker and never freed during a run. The host
 * is looked up each time a new connection to it is opened (the resolver caches answers). */
struct target {
	char *host; /* name or IP literal (no brackets): resolved, and for SNI and certificates */
	uint16_t port;
	bool tls;
	char *key; /* "http://host:port" */
};

/* What the network layer of a worker shares across its connections. */
struct netctx {
	struct loop *loop;
	char *rbuf; /* read buffer shared by every connection of the worker */
	size_t rbuf_len;
	void *tls_ctx; /* SSL_CTX *, NULL without TLS */
	bool verify;
	int64_t connect_timeout_us;
	int *conns_open;                  /* atomic counter shared by all workers */
	int *limit_warned;                /* atomic flag: out-of-fds/ports message printed */
	int64_t connect_backoff_us;       /* wait before failing a connect that lacked fds/ports */
	struct http_parser *free_parsers; /* parsers are only held while a request is in flight */
	struct resolver *resolver;        /* the worker's; looks up hosts of new connections */
};

/* The default per-response body limit (maxResponseBodySize): 64 MiB. */
#define CALL_BODY_MAX_DEFAULT ((int64_t)64 << 20)

struct conn;
struct http_call;
typedef void (*call_done_fn)(struct http_call *c);

/* One request and its response. The caller fills the inputs, calls call_start(), and gets
 * done() exactly once (possibly before call_start returns). */
struct http_call {
	/* inputs */
	const struct target *target;
	const char *req; /* serialized request bytes, valid until done() */
	size_t req_len;
	bool head; /* HEAD: no response body */
	int64_t timeout_us;
	bool capture;      /* keep headers and body (scripts) */
	bool discard_body; /* with capture: keep headers only */
	bool no_reuse;     /* close the connection after this response */
	/* The method is idempotent (RFC 9110 §9.2.2) and the request may be sent again once
	 * on a fresh connection when a reused one closes before any response byte (RFC 9112
	 * §9.3.1). false: never resent; the failure is the request's result. */
	bool idempotent;
	/* The largest response body accepted, in bytes (0: CALL_BODY_MAX_DEFAULT), counted as
	 * received after chunked decoding (before any Content-Encoding), kept or not (capture,
	 * discard_body, quick mode alike). Past it the call ends with ERR_BODY_TOO_LARGE, its
	 * connection is closed (never reused) and no body is kept; a response whose
	 * Content-Length exceeds it fails as soon as its headers are parsed. The request had
	 * reached the server: its timings are those of any failure after sending. */
	int64_t body_max;
	call_done_fn done;
	void *ud;
	/* Whether the response was the expected one (k6's responseCallback), decided by the
	 * caller before recording: JUDGE_DEFAULT means a status in 200-399 without error. */
	enum call_judge { JUDGE_DEFAULT, JUDGE_EXPECTED, JUDGE_UNEXPECTED, JUDGE_NONE } judge;
	/* outputs */
	enum err_kind err;
	int status;
	/* t_conn: the connection was there (reused) or its address known (fresh: after the
	 * DNS lookup), so t_conn - t_start is http_req_blocked */
	int64_t t_start, t_conn, t_connected, t_tls, t_send, t_sent, t_first, t_end;
	bool conn_fresh; /* this call opened its connection */
	size_t bytes_sent, bytes_recv;
	struct buf headers; /* with capture: "name\0value\0" pairs */
	int nheaders;
	int set_cookies; /* how many of them are Set-Cookie (RFC 6265 §4.1) */
	struct buf body; /* with capture: the body as received (at most body_max bytes) */
	/* private */
	struct conn *conn;
	bool retried;
	bool in_flight;
	int64_t deadline;
	int64_t body_limit; /* body_max, or its default */
};

/* A VU's connections: idle keep-alive connections are reused per target. */
struct connpool {
	struct conn *conns; /* every connection struct of the owner, open or not */
};

/* Start c on a connection from pool (reusing an idle one to c->target, else looking up its
 * host with nc->resolver and opening one; a failed lookup ends c with ERR_DNS). c->done() is
 * called exactly once, possibly before this returns. */
void call_start(struct netctx *nc, struct connpool *pool, struct http_call *c);
/* Abandon a call in flight without calling done() (hard stop): closes its connection. */
void call_abort(struct netctx *nc, struct http_call *c);
/* true when the call's request had reached the server, at least in part. */
bool call_reached_server(const struct http_call *c);
/* Close every connection of pool and free the structs. */
void connpool_free(struct netctx *nc, struct connpool *pool);
/* Close idle connections of pool (keep the structs for reuse). */
void connpool_close_idle(struct netctx *nc, struct connpool *pool);
/* Release the buffers owned by c. */
void call_free(struct http_call *c);
/* Free the worker's parser pool (not the resolver: its creator frees it). */
void netctx_free(struct netctx *nc);

#endif
