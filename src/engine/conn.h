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
	int *h2_warned; /* atomic flag: "the server chose HTTP/1.1" printed (NULL: never) */
	/* HTTP/2 (RFC 9113): H2_ALPN offers "h2" then "http/1.1" on TLS and speaks what the
	 * server chose (plain http:// stays HTTP/1.1); H2_PRIOR also speaks HTTP/2 at once on
	 * plain http:// (h2c with prior knowledge, §3.3). Calls to an origin share its
	 * HTTP/2 connection as streams, up to the server's SETTINGS_MAX_CONCURRENT_STREAMS and
	 * max_streams (0: 100). */
	enum h2_mode { H2_OFF = 0, H2_ALPN, H2_PRIOR } h2;
	int max_streams;
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
	/* An upgrade (RFC 9110 §7.8; WebSocket, RFC 6455 §4.1): the call always opens its own
	 * connection, and a 101 response ends it with that connection handed over in upgraded
	 * (connected, removed from the loop, plain or TLS transport ops, never io_uring streams)
	 * and the bytes that came after the 101's header section in upgraded_extra. The caller
	 * owns both then: conn_upgraded_close() ends the connection. Any other response ends
	 * the call as usual (its connection is closed). */
	bool upgrade;
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
	/* the protocol of the connection the request went on; PROTO_NONE when it never got one
	 * (a lookup, connect or TLS failure) */
	enum call_proto { PROTO_NONE = 0, PROTO_HTTP11, PROTO_HTTP2 } proto;
	struct sock upgraded;      /* upgrade: the connection after a 101 (fd -1 otherwise) */
	struct buf upgraded_extra; /* upgrade: bytes read past the 101's header section */
	/* private */
	struct conn *conn;
	bool retried;
	bool in_flight;
	int64_t deadline;
	int64_t body_limit; /* body_max, or its default */
	/* private: HTTP/2 (conn_h2.c) */
	struct http_call *link; /* the connection's streams, or the calls waiting for it */
	int32_t h2_id;          /* the stream */
	bool h2_end_queued;     /* its last frame went to the socket: t_sent once written */
	bool h2_final;          /* a final (non-1xx) response header section came */
	bool h2_hdr_out;        /* nghttp2 produced its HEADERS frame */
	bool h2_on_wire;        /* ... and it was written to the socket */
	bool h2_ended;          /* the response's END_STREAM came */
	int h2_nhdr;            /* response header fields received (its last section) */
	int64_t h2_hdr_bytes;   /* and their size (name + value + 32 each, RFC 9113 §6.5.2) */
	enum err_kind h2_err;   /* ends the stream with this (body too large) */
	const char *h2_body;    /* the request's content (after the header section) */
	size_t h2_blen, h2_boff;
	int64_t h2_rbody;        /* response body bytes received */
	struct buf h2_dechunked; /* a chunk-encoded request's content, decoded */
};

/* A VU's connections: idle keep-alive connections are reused per target; an HTTP/2
 * connection carries the VU's concurrent calls to its origin (http.batch) as streams. */
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
/* Close a connection handed over by an upgrade (http_call.upgraded) and count it closed;
 * safe when s holds none (fd -1). */
void conn_upgraded_close(struct netctx *nc, struct sock *s);
/* The k6 name of a call's protocol: "HTTP/1.1", "HTTP/2.0" (the proto tag), or "" (none). */
const char *call_proto_name(enum call_proto p);
/* Release the buffers owned by c. */
void call_free(struct http_call *c);
/* Free the worker's parser pool (not the resolver: its creator frees it). */
void netctx_free(struct netctx *nc);

#endif
