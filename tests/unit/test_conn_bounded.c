/* test_conn_bounded.c: unit tests for conn.c's bounds: the per-response body limit (exact
 * boundary, Content-Length refused at the headers, not kept, never reused), a read loop
 * that yields, so that a request timeout fires while a server floods the connection, and
 * no request left waiting for its timeout on a connection the server closed at accept.
 * The server is a thread on 127.0.0.1 with blocking sockets; the test drives the loop. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/conn.h"
#include "util/common.h"

#define LIMIT 100000

enum cb_framing { CB_LENGTH, CB_CHUNKED, CB_CLOSE, CB_HEADERS_ONLY, CB_ENDLESS, CB_FIN_AT_ACCEPT };

/* The server: answers each request with a response of `size` body bytes in `framing`. */
struct cb_server {
	int lfd;
	uint16_t port;
	enum cb_framing framing;
	size_t size;
	int accepts; /* atomic */
	pthread_t thread;
};

static bool send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Read one request head; false at EOF or error. */
static bool read_request(int fd)
{
	char buf[4096];
	size_t have = 0;
	while (have < sizeof(buf)) {
		ssize_t r = recv(fd, buf + have, sizeof(buf) - have, 0);
		if (r <= 0)
			return false;
		have += (size_t)r;
		if (memmem(buf, have, "\r\n\r\n", 4))
			return true;
	}
	return false;
}

/* Write one response; false when the connection is to be closed. */
static bool respond(struct cb_server *s, int fd)
{
	static char body[64 * 1024];
	char head[256];
	memset(body, 'x', sizeof(body));
	if (s->framing == CB_FIN_AT_ACCEPT) /* no answer: the FIN went at accept */
		return false;
	switch (s->framing) {
	case CB_LENGTH:
	case CB_HEADERS_ONLY:
		snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
		         s->size);
		break;
	case CB_CHUNKED:
		snprintf(head, sizeof(head),
		         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
		break;
	default:
		snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
		break;
	}
	if (!send_all(fd, head, strlen(head)))
		return false;
	if (s->framing == CB_HEADERS_ONLY) { /* hold the body back until the client closes */
		char c;
		while (recv(fd, &c, 1, 0) > 0)
			;
		return false;
	}
	if (s->framing == CB_ENDLESS) {
		while (send_all(fd, body, sizeof(body)))
			;
		return false;
	}
	for (size_t left = s->size; left > 0;) {
		size_t n = MIN(left, (size_t)4096);
		char line[32];
		snprintf(line, sizeof(line), "%zx\r\n", n);
		if (s->framing == CB_CHUNKED && !send_all(fd, line, strlen(line)))
			return false;
		if (!send_all(fd, body, n))
			return false;
		if (s->framing == CB_CHUNKED && !send_all(fd, "\r\n", 2))
			return false;
		left -= n;
	}
	if (s->framing == CB_CHUNKED)
		return send_all(fd, "0\r\n\r\n", 5);
	return s->framing != CB_CLOSE;
}

static void *serve(void *arg)
{
	struct cb_server *s = arg;
	for (;;) {
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			return NULL;
		__atomic_add_fetch(&s->accepts, 1, __ATOMIC_RELAXED);
		if (s->framing == CB_FIN_AT_ACCEPT)
			shutdown(fd, SHUT_WR);
		while (read_request(fd) && respond(s, fd))
			;
		close(fd);
	}
}

static void server_start(struct cb_server *s, enum cb_framing framing, size_t size)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	*s = (struct cb_server){ .framing = framing, .size = size };
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(s->lfd, 0);
	cr_assert_eq(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(s->lfd, 16), 0);
	cr_assert_eq(getsockname(s->lfd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	cr_assert_eq(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct cb_server *s)
{
	shutdown(s->lfd, SHUT_RDWR); /* wakes accept() */
	close(s->lfd);
	pthread_join(s->thread, NULL);
}

/* The client side: a worker's network context with one VU's pool. */
struct cb_client {
	struct loop *loop;
	struct resolver *res;
	struct netctx nc;
	struct connpool pool;
	struct target target;
	int conns_open, warned;
	char key[64];
	struct http_call call;
	int done;
	int turns; /* loop turns the last call took */
};

static void on_done(struct http_call *c)
{
	struct cb_client *cl = c->ud;
	cl->done++;
}

static void client_init(struct cb_client *cl, uint16_t port)
{
	struct resolver_opts o;
	*cl = (struct cb_client){ 0 };
	cr_assert_eq(loop_new(&cl->loop), 0);
	resolver_opts_init(&o);
	cr_assert_eq(resolver_new(cl->loop, &o, 1, &cl->res), 0);
	cl->nc = (struct netctx){
		.loop = cl->loop,
		.rbuf = xmalloc(64 * 1024),
		.rbuf_len = 64 * 1024,
		.connect_timeout_us = 2 * USEC_PER_SEC,
		.conns_open = &cl->conns_open,
		.limit_warned = &cl->warned,
		.resolver = cl->res,
	};
	snprintf(cl->key, sizeof(cl->key), "http://127.0.0.1:%u", port);
	cl->target = (struct target){ .host = "127.0.0.1", .port = port, .key = cl->key };
}

static void client_free(struct cb_client *cl)
{
	call_free(&cl->call);
	connpool_free(&cl->nc, &cl->pool);
	netctx_free(&cl->nc);
	resolver_free(cl->res);
	free(cl->nc.rbuf);
	loop_free(cl->loop);
}

static const char REQ[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/* Run one call to its end (at most 10 s); returns its duration in µs. */
static int64_t run_call(struct cb_client *cl, bool capture, int64_t body_max, int64_t timeout_us)
{
	struct http_call *c = &cl->call;
	c->target = &cl->target;
	c->req = REQ;
	c->req_len = sizeof(REQ) - 1;
	c->idempotent = true;
	c->timeout_us = timeout_us;
	c->capture = capture;
	c->body_max = body_max;
	c->done = on_done;
	c->ud = cl;
	int before = cl->done;
	int64_t t0 = now_us();
	call_start(&cl->nc, &cl->pool, c);
	for (cl->turns = 0; cl->done == before && now_us() - t0 < 10 * USEC_PER_SEC; cl->turns++)
		cr_assert_eq(loop_run_once(cl->loop, 100000), 0);
	cr_assert_eq(cl->done, before + 1, "the call did not end");
	return now_us() - t0;
}

static void check_boundary(enum cb_framing framing, bool capture)
{
	struct cb_server s;
	struct cb_client cl;

	/* at the limit: accepted, kept, and the connection reused when the framing allows */
	server_start(&s, framing, LIMIT);
	client_init(&cl, s.port);
	for (int i = 0; i < 3; i++) {
		run_call(&cl, capture, LIMIT, 5 * USEC_PER_SEC);
		cr_assert_eq(cl.call.err, ERR_NONE, "%s", err_kind_name(cl.call.err));
		cr_assert_eq(cl.call.status, 200);
		cr_assert_eq(cl.call.body.len, capture ? (size_t)LIMIT : 0);
	}
	cr_assert_eq(__atomic_load_n(&s.accepts, __ATOMIC_RELAXED), framing == CB_CLOSE ? 3 : 1);
	client_free(&cl);
	server_stop(&s);

	/* one byte more: refused, nothing kept, and the connection never reused */
	server_start(&s, framing, LIMIT + 1);
	client_init(&cl, s.port);
	for (int i = 0; i < 3; i++) {
		run_call(&cl, capture, LIMIT, 5 * USEC_PER_SEC);
		cr_assert_eq(cl.call.err, ERR_BODY_TOO_LARGE, "%s", err_kind_name(cl.call.err));
		cr_assert_eq(cl.call.status, 0);
		cr_assert_eq(cl.call.body.len, 0);
		cr_assert_gt(cl.call.bytes_recv, 0);
	}
	cr_assert_eq(__atomic_load_n(&s.accepts, __ATOMIC_RELAXED), 3);
	client_free(&cl);
	server_stop(&s);
}

Test(conn_bounded, content_length_boundary)
{
	check_boundary(CB_LENGTH, true);
}

Test(conn_bounded, content_length_boundary_quick)
{
	check_boundary(CB_LENGTH, false);
}

Test(conn_bounded, chunked_boundary)
{
	check_boundary(CB_CHUNKED, true);
}

Test(conn_bounded, chunked_boundary_quick)
{
	check_boundary(CB_CHUNKED, false);
}

Test(conn_bounded, close_delimited_boundary)
{
	check_boundary(CB_CLOSE, true);
}

Test(conn_bounded, close_delimited_boundary_quick)
{
	check_boundary(CB_CLOSE, false);
}

/* A Content-Length over the limit fails at the headers: no waiting for the body. */
Test(conn_bounded, content_length_refused_at_headers)
{
	struct cb_server s;
	struct cb_client cl;
	server_start(&s, CB_HEADERS_ONLY, (size_t)1 << 40);
	client_init(&cl, s.port);
	int64_t took = run_call(&cl, true, 0, 5 * USEC_PER_SEC);
	cr_assert_eq(cl.call.err, ERR_BODY_TOO_LARGE, "%s", err_kind_name(cl.call.err));
	cr_assert_lt(took, 4 * USEC_PER_SEC, "waited %lld µs for a body", (long long)took);
	client_free(&cl);
	server_stop(&s);
}

/* The default limit (64 MiB) holds without any setting. */
Test(conn_bounded, default_limit_on_endless_body)
{
	struct cb_server s;
	struct cb_client cl;
	server_start(&s, CB_ENDLESS, 0);
	client_init(&cl, s.port);
	run_call(&cl, true, 0, 60 * USEC_PER_SEC);
	cr_assert_eq(cl.call.err, ERR_BODY_TOO_LARGE, "%s", err_kind_name(cl.call.err));
	cr_assert_geq(cl.call.bytes_recv, (size_t)CALL_BODY_MAX_DEFAULT);
	cr_assert_lt(cl.call.bytes_recv, (size_t)CALL_BODY_MAX_DEFAULT + (1 << 20));
	cr_assert_leq(cl.call.body.cap, (size_t)2 * CALL_BODY_MAX_DEFAULT);
	client_free(&cl);
	server_stop(&s);
}

/* The read loop yields: a connection reads a bounded amount per loop turn (conn.c: 512 KiB
 * per callback, and a turn may call it twice), so the request timeout fires while the
 * server floods the connection. Reads of 4 KiB make the client slower than the server's
 * 64 KiB writes, so most reads fill the buffer. */
Test(conn_bounded, timeout_fires_during_endless_body)
{
	struct cb_server s;
	struct cb_client cl;
	server_start(&s, CB_ENDLESS, 0);
	client_init(&cl, s.port);
	cl.nc.rbuf_len = 4096;
	for (int capture = 0; capture < 2; capture++) {
		cl.call.discard_body = true; /* with capture: headers only, as responseType none */
		int64_t took = run_call(&cl, capture, INT64_MAX, 200000);
		cr_assert_eq(cl.call.err, ERR_REQUEST_TIMEOUT, "%s", err_kind_name(cl.call.err));
		cr_assert_lt(took, 5 * USEC_PER_SEC, "the 200 ms timeout took %lld µs",
		             (long long)took);
		cr_assert_leq(cl.call.bytes_recv, (size_t)(cl.turns + 1) << 20,
		              "%zu bytes read in %d loop turns", cl.call.bytes_recv, cl.turns);
	}
	client_free(&cl);
	server_stop(&s);
}

/* The server closes its side at accept (FIN), then reads the request and closes without a
 * word: the FIN comes with the connect's event, before the request is sent, and no later
 * event repeats it. The request must end at once as empty_response, not wait for its
 * timeout. The pause before the first loop turn makes sure the FIN is there by then. */
Test(conn_bounded, fin_at_accept_is_not_lost)
{
	struct cb_server s;
	struct cb_client cl;
	struct http_call *c = &cl.call;
	server_start(&s, CB_FIN_AT_ACCEPT, 0);
	client_init(&cl, s.port);
	*c = (struct http_call){ .target = &cl.target,
		                 .req = REQ,
		                 .req_len = sizeof(REQ) - 1,
		                 .idempotent = true,
		                 .timeout_us = 30 * USEC_PER_SEC,
		                 .done = on_done,
		                 .ud = &cl };
	call_start(&cl.nc, &cl.pool, c);
	usleep(100000);
	for (int i = 0; i < 100 && !cl.done; i++)
		cr_assert_eq(loop_run_once(cl.loop, 100000), 0);
	cr_assert_eq(cl.done, 1, "the request still waits (for its 30 s timeout)");
	cr_assert_eq(c->err, ERR_EMPTY_RESPONSE, "%s", err_kind_name(c->err));
	client_free(&cl);
	server_stop(&s);
}
