/* demo_h2.h: HTTP/2 on one connection of the demo server (libnghttp2, server side): each
 * stream's request handed to the server as a parsed request, responses submitted back. */
#ifndef STAMPEDE_DEMO_H2_H
#define STAMPEDE_DEMO_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "demo/demo_buf.h"
#include "demo/demo_http.h"

#define DEMO_H2_MAX_STREAMS 128 /* SETTINGS_MAX_CONCURRENT_STREAMS */
#define DEMO_H2_PREFACE     "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define DEMO_H2_PREFACE_LEN 24

struct demo_h2;

/*
 * A complete request on stream id: req as the HTTP/1.1 parser would give it (minor 1,
 * keep_alive true; its pointers valid during the call only). status is 0, or the error
 * the request gets instead of being served (400, 413, 501...), with req->error saying
 * why. The server answers later or at once with demo_h2_respond().
 */
typedef void (*demo_h2_request_fn)(void *owner, int32_t id, const struct demo_req *req, int status);

/* A new session on a connection whose client sent (or will send) the preface; out is the
 * connection's output buffer (it must outlive the session). Returns 0 and *out_h2, or
 * -ENOMEM. Free with demo_h2_free (NULL is accepted). */
int demo_h2_new(demo_h2_request_fn on_request, void *owner, struct demo_buf *out,
                struct demo_h2 **out_h2);
void demo_h2_free(struct demo_h2 *h);

/* Whether len bytes at data start like the connection preface: 1 (all 24 bytes are
 * there), 0 (not the preface), -1 (a prefix of it: wait for more). */
int demo_h2_is_preface(const char *data, size_t len);

/* Feed received bytes (all are taken) and append what is to be sent to the output buffer.
 * Returns 0, or -EPROTO when the session failed (close the connection after sending). */
int demo_h2_input(struct demo_h2 *h, const char *data, size_t len);

/* The output buffer was sent: append more. 0 or -EPROTO. */
int demo_h2_output(struct demo_h2 *h);

/* Answer stream id: status, Content-Type, the body (copied; HEAD: its length only), and
 * extra header lines ("Name: value\r\n"..., or NULL). A stream that is gone (reset by
 * the client) is skipped. */
void demo_h2_respond(struct demo_h2 *h, int32_t id, int status, const char *ctype, const char *body,
                     size_t len, bool head, const char *extra);

/* Reset stream id (RST_STREAM with error code: 0 NO_ERROR, 8 CANCEL...). */
void demo_h2_reset(struct demo_h2 *h, int32_t id, uint32_t code);

/* Graceful stop: GOAWAY with the last stream the server took; those streams finish. */
void demo_h2_goaway(struct demo_h2 *h);

/* Streams open now (requests being received or answered). */
int demo_h2_streams(const struct demo_h2 *h);

/* Whether the session is over (nothing more to read or to send): close the connection
 * once the output is sent. */
bool demo_h2_done(const struct demo_h2 *h);

#endif
