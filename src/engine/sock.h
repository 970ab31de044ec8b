/* sock.h: a socket with pluggable transport (plain TCP or TLS), wrk-style ops table. */
#ifndef STAMPEDE_SOCK_H
#define STAMPEDE_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "engine/loop.h"
#include "protocol/errkind.h"

enum io_res { IO_OK, IO_AGAIN, IO_EOF, IO_ERR };

struct sock;
struct sock_ops {
	/* Continue the transport handshake after TCP connect (TLS); IO_OK when done. */
	enum io_res (*handshake)(struct sock *s);
	/* Read up to len bytes into buf; *n is set on IO_OK. */
	enum io_res (*read)(struct sock *s, char *buf, size_t len, size_t *n);
	/* Write up to len bytes; *n is set on IO_OK (may be short). */
	enum io_res (*write)(struct sock *s, const char *buf, size_t len, size_t *n);
	/* Release transport state (not the fd). */
	void (*close)(struct sock *s);
};

struct sock {
	int fd;    /* -1 when closed */
	void *ssl; /* SSL * for TLS */
	const struct sock_ops *ops;
	enum err_kind err; /* set with IO_ERR */
	int sys_errno;     /* errno behind err, if any */
	bool want_write;   /* TLS handshake waits for writability */
	/* stream sockets: the loop and registration they read and send through */
	struct loop *loop;
	struct loop_io *io;
};

extern const struct sock_ops sock_plain_ops;
extern const struct sock_ops sock_tls_ops;
/* Plain TCP through the loop's completion-based stream (loop.h, io_uring): write queues
 * an IORING_OP_SEND and counts the bytes as written (a failed send surfaces as a read
 * error), read copies what the multishot recv brought. */
extern const struct sock_ops sock_stream_ops;

/* Switch connected plain socket s, registered in loop as io, to sock_stream_ops when the
 * loop offers streams. Returns true if it did (false: s stays plain, nothing changed). */
bool sock_stream_attach(struct sock *s, struct loop *loop, struct loop_io *io);

/* Start a non-blocking TCP connect to addr. On success s->fd is set and the return is
 * IO_OK (connected) or IO_AGAIN (in progress: wait for EPOLLOUT, then sock_finish_connect).
 * IO_ERR sets s->err (connect_error when out of fds or ports, with s->sys_errno). */
enum io_res sock_connect(struct sock *s, const struct sockaddr *addr, socklen_t len);
/* After EPOLLOUT on a connecting socket: IO_OK or IO_ERR with s->err set. */
enum io_res sock_finish_connect(struct sock *s);
/* Close fd and transport state; safe when already closed. */
void sock_close(struct sock *s);

/* TLS: build a client context. verify: check the peer's certificate against the system
 * store (or cafile when given). Returns 0 or -EINVAL with the reason in err. The context
 * is shared by all workers (OpenSSL contexts are thread-safe once built). */
int tls_ctx_new(void **ctx_out, bool verify, const char *cafile, char *err, size_t errlen);
void tls_ctx_free(void *ctx);
/* Attach a TLS session to a connected s->fd for host (SNI and name check; IP literals are
 * checked as IP addresses, without SNI). h2: offer HTTP/2 by ALPN ("h2", then "http/1.1";
 * RFC 7301, RFC 9113 §3.2); else no ALPN. Returns 0 or -ENOMEM. */
int tls_attach(struct sock *s, void *ctx, const char *host, bool verify, bool h2);
/* After the handshake: whether the server chose "h2" by ALPN. */
bool tls_alpn_is_h2(const struct sock *s);

#endif
