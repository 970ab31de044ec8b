/* demo_tls.h: HTTPS for the demo server: a self-signed certificate made at start, and
 * non-blocking TLS sessions on the front end's sockets. */
#ifndef STAMPEDE_DEMO_TLS_H
#define STAMPEDE_DEMO_TLS_H

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>

/* What a non-blocking read, write or handshake step did. */
enum demo_io {
	DEMO_IO_OK,    /* done, or some bytes moved */
	DEMO_IO_AGAIN, /* the socket would block: wait for the next epoll event */
	DEMO_IO_EOF,   /* the peer closed (reads only) */
	DEMO_IO_ERR,   /* the connection is unusable: close it */
};

/* How long the certificate is valid: it is made for one run of the server. */
#define DEMO_TLS_VALID_DAYS 7

struct demo_tls;

/*
 * Make a fresh P-256 key and a self-signed X.509 v3 certificate for it (CN 127.0.0.1,
 * subjectAltName 127.0.0.1, localhost and ::1, serverAuth, valid from an hour ago for
 * DEMO_TLS_VALID_DAYS), in memory, and a server context (TLS 1.2 and 1.3) that uses them.
 * Returns 0 and *out (free with demo_tls_free), or -ENOMEM / -EIO with OpenSSL's reason in
 * err.
 */
int demo_tls_new(struct demo_tls **out, char *err, size_t errlen);

/* ALPN: offer "h2" then "http/1.1" when h2 is true, else "http/1.1" only (a client that
 * offers neither gets no ALPN and speaks HTTP/1.1). Set before the first session. */
void demo_tls_set_h2(struct demo_tls *t, bool h2);

/* Whether the handshake of ssl chose "h2". */
bool demo_tls_is_h2(SSL *ssl);

/* Free t (NULL is accepted); sessions made from it must be closed first. */
void demo_tls_free(struct demo_tls *t);

/* The certificate in PEM, NUL-terminated, owned by t: what a client passes to --cacert. */
const char *demo_tls_cert_pem(const struct demo_tls *t);

/* A server session on the connected non-blocking socket fd (which stays the caller's to
 * close), in the accepting state; NULL when out of memory. */
SSL *demo_tls_session(struct demo_tls *t, int fd);

/* One step of the handshake: DEMO_IO_OK once it is complete, DEMO_IO_AGAIN to wait for the
 * socket, DEMO_IO_ERR when the client is not speaking TLS or gave up. */
enum demo_io demo_tls_handshake(SSL *ssl);

/* Read up to len decrypted bytes; *n gets the count on DEMO_IO_OK. */
enum demo_io demo_tls_read(SSL *ssl, void *buf, size_t len, size_t *n);

/* Write up to len bytes (partial writes allowed; after DEMO_IO_AGAIN the same bytes may be
 * offered again from another address); *n gets the count on DEMO_IO_OK. */
enum demo_io demo_tls_write(SSL *ssl, const void *buf, size_t len, size_t *n);

/* Send close_notify once, if the handshake is complete and the socket takes it now (never
 * waits): before the server half-closes after its last response. */
void demo_tls_shutdown(SSL *ssl);

/* demo_tls_shutdown, then free the session. NULL is accepted. */
void demo_tls_close(SSL *ssl);

#endif
