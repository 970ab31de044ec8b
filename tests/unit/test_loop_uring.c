/* test_loop_uring.c: the event loop on both I/O backends (epoll, io_uring): timers, pending
 * ios, level- and edge-triggered readiness, many fds, and io_uring's streams (multishot recv
 * into the buffer ring, queued sends, EOF, reset, buffer exhaustion, release in flight). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/loop.h"
#include "util/common.h"

static enum loop_backend backends[] = { LOOP_IO_EPOLL, LOOP_IO_URING };

/* A loop of backend b; io_uring must work on the test machine (kernel >= 6.0). */
static struct loop *mk(enum loop_backend b)
{
	struct loop *l = NULL;
	int rc = loop_new_backend(&l, b);
	cr_assert_eq(rc, 0, "%s: %s", loop_backend_name(b), strerror(-rc));
	cr_assert_eq(loop_backend_of(l), b);
	return l;
}

struct rec {
	struct loop_io io;
	int calls;
	uint32_t events;
	int drain_fd; /* read the fd empty in the callback, if >= 0 */
};

static void rec_fn(void *ud, uint32_t events)
{
	struct rec *r = ud;
	r->calls++;
	r->events |= events;
	if (r->drain_fd >= 0) {
		char b[4096];
		while (read(r->drain_fd, b, sizeof(b)) > 0)
			;
	}
}

static void rec_init(struct rec *r, int fd, bool drain)
{
	*r = (struct rec){ .drain_fd = drain ? fd : -1 };
	r->io = (struct loop_io){ .fd = fd, .fn = rec_fn, .ud = r };
}

static void run(struct loop *l, int turns, int64_t wait_us)
{
	for (int i = 0; i < turns; i++)
		cr_assert_eq(loop_run_once(l, wait_us), 0);
}

struct tfire {
	struct loop_timer t;
	int *log, *n, id;
};

static void tfire_fn(struct loop_timer *t, void *ud)
{
	struct tfire *f = ud;
	f->log[(*f->n)++] = f->id;
}

ParameterizedTestParameters(loop_backends, timers_in_order)
{
	return cr_make_param_array(enum loop_backend, backends, 2);
}

ParameterizedTest(enum loop_backend *b, loop_backends, timers_in_order)
{
	struct loop *l = mk(*b);
	int log[3], n = 0;
	struct tfire f[3];
	int64_t now = loop_update_time(l);
	for (int i = 0; i < 3; i++) {
		f[i] = (struct tfire){ .log = log, .n = &n, .id = i };
		loop_timer_init(&f[i].t, tfire_fn, &f[i]);
	}
	loop_timer_at(l, &f[0].t, now + 3000);
	loop_timer_at(l, &f[1].t, now + 1000);
	loop_timer_at(l, &f[2].t, now + 2000);
	while (n < 3)
		cr_assert_eq(loop_run_once(l, 100000), 0);
	cr_assert_eq(log[0], 1);
	cr_assert_eq(log[1], 2);
	cr_assert_eq(log[2], 0);
	cr_assert_geq(loop_now(l), now + 3000, "the wait lasted until the last timer");
	loop_free(l);
}

ParameterizedTestParameters(loop_backends, pending_runs_next_turn)
{
	return cr_make_param_array(enum loop_backend, backends, 2);
}

ParameterizedTest(enum loop_backend *b, loop_backends, pending_runs_next_turn)
{
	struct loop *l = mk(*b);
	struct rec r;
	rec_init(&r, -1, false);
	loop_io_pending(l, &r.io, EPOLLIN);
	int64_t t0 = now_us();
	run(l, 1, 5 * USEC_PER_SEC); /* must not wait: an io is pending */
	cr_assert_lt(now_us() - t0, USEC_PER_SEC);
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(r.events, EPOLLIN);
	loop_free(l);
}

ParameterizedTestParameters(loop_backends, eventfd_level_triggered)
{
	return cr_make_param_array(enum loop_backend, backends, 2);
}

/* Without EPOLLET, an fd left readable is reported again each turn (the worker's eventfd,
 * c-ares' sockets). */
ParameterizedTest(enum loop_backend *b, loop_backends, eventfd_level_triggered)
{
	struct loop *l = mk(*b);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct rec r;
	rec_init(&r, efd, false);
	cr_assert_eq(loop_add_fd(l, &r.io, EPOLLIN), 0);
	run(l, 2, 1000);
	cr_assert_eq(r.calls, 0);
	uint64_t one = 1, v;
	cr_assert_eq(write(efd, &one, 8), 8);
	run(l, 1, 100000);
	cr_assert_eq(r.calls, 1);
	cr_assert(r.events & EPOLLIN);
	run(l, 1, 100000); /* not read: still readable, reported again */
	cr_assert_eq(r.calls, 2);
	cr_assert_eq(read(efd, &v, 8), 8);
	run(l, 3, 1000);
	cr_assert_leq(r.calls, 3, "at most the turn that raced the read");
	int before = r.calls;
	run(l, 2, 1000);
	cr_assert_eq(r.calls, before, "an empty eventfd is not reported");
	loop_del_fd(l, &r.io);
	cr_assert_eq(write(efd, &one, 8), 8);
	run(l, 2, 1000);
	cr_assert_eq(r.calls, before, "a deleted fd is not reported");
	close(efd);
	loop_free(l);
}

ParameterizedTestParameters(loop_backends, socketpair_edge_triggered)
{
	return cr_make_param_array(enum loop_backend, backends, 2);
}

/* EPOLLET: bytes left unread raise no new event; new bytes do. */
ParameterizedTest(enum loop_backend *b, loop_backends, socketpair_edge_triggered)
{
	struct loop *l = mk(*b);
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct rec r;
	rec_init(&r, sv[0], false);
	cr_assert_eq(loop_add_fd(l, &r.io, EPOLLIN | EPOLLRDHUP | EPOLLET), 0);
	run(l, 2, 1000);
	cr_assert_eq(r.calls, 0);
	cr_assert_eq(write(sv[1], "a", 1), 1);
	run(l, 1, 100000);
	cr_assert_eq(r.calls, 1);
	run(l, 2, 1000);
	cr_assert_eq(r.calls, 1, "edge-triggered: no event for bytes already reported");
	cr_assert_eq(write(sv[1], "b", 1), 1);
	run(l, 1, 100000);
	cr_assert_eq(r.calls, 2);
	close(sv[1]);
	r.events = 0;
	run(l, 1, 100000);
	cr_assert_eq(r.calls, 3);
	cr_assert(r.events & EPOLLRDHUP, "the peer's close is reported");
	loop_release_fd(l, &r.io);
	close(sv[0]);
	loop_free(l);
}

ParameterizedTestParameters(loop_backends, many_fds)
{
	return cr_make_param_array(enum loop_backend, backends, 2);
}

/* 300 registrations (more than epoll's 256 events per wait), each fired once. */
ParameterizedTest(enum loop_backend *b, loop_backends, many_fds)
{
	enum { N = 300 };
	struct loop *l = mk(*b);
	static int sv[N][2];
	static struct rec r[N];
	for (int i = 0; i < N; i++) {
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv[i]), 0);
		rec_init(&r[i], sv[i][0], true);
		cr_assert_eq(loop_add_fd(l, &r[i].io, EPOLLIN | EPOLLET), 0);
	}
	run(l, 1, 1000);
	for (int i = 0; i < N; i++)
		cr_assert_eq(write(sv[i][1], "x", 1), 1);
	int64_t deadline = now_us() + 5 * USEC_PER_SEC;
	int done = 0;
	while (done < N && now_us() < deadline) {
		run(l, 1, 100000);
		done = 0;
		for (int i = 0; i < N; i++)
			done += r[i].calls > 0;
	}
	for (int i = 0; i < N; i++) {
		cr_assert_eq(r[i].calls, 1, "fd %d called %d times", i, r[i].calls);
		loop_release_fd(l, &r[i].io);
		close(sv[i][0]);
		close(sv[i][1]);
	}
	loop_free(l);
}

ParameterizedTestParameters(loop_backends, release_then_reuse_io)
{
	return cr_make_param_array(enum loop_backend, backends, 2);
}

/* An io released with its fd closed can be registered again at once for another fd: events
 * of the old registration never reach it. */
ParameterizedTest(enum loop_backend *b, loop_backends, release_then_reuse_io)
{
	struct loop *l = mk(*b);
	int a[2], c[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, c), 0);
	struct rec r;
	rec_init(&r, a[0], true);
	cr_assert_eq(loop_add_fd(l, &r.io, EPOLLIN | EPOLLET), 0);
	cr_assert_eq(write(a[1], "x", 1), 1); /* an event in flight for the old registration */
	loop_release_fd(l, &r.io);
	close(a[0]);
	r.io.fd = c[0];
	r.drain_fd = c[0];
	cr_assert_eq(loop_add_fd(l, &r.io, EPOLLIN | EPOLLET), 0);
	run(l, 3, 1000);
	cr_assert_eq(r.calls, 0, "the old fd's event was dropped");
	cr_assert_eq(write(c[1], "y", 1), 1);
	run(l, 1, 100000);
	cr_assert_eq(r.calls, 1);
	loop_release_fd(l, &r.io);
	close(c[0]);
	close(a[1]);
	close(c[1]);
	loop_free(l);
}

/* --- streams (io_uring) ---------------------------------------------------------- */

Test(loop_stream, epoll_has_none)
{
	struct loop *l = mk(LOOP_IO_EPOLL);
	struct rec r;
	rec_init(&r, -1, false);
	cr_assert_not(loop_has_streams(l));
	cr_assert_eq(loop_stream_start(l, &r.io), -EOPNOTSUPP);
	cr_assert_not(loop_stream_readable(l, &r.io));
	loop_free(l);
}

/* A connected loopback TCP pair: *cli non-blocking, *srv blocking. */
static void tcp_pair(int *cli, int *srv)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	cr_assert_eq(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(ls, 1), 0);
	cr_assert_eq(getsockname(ls, (struct sockaddr *)&a, &len), 0);
	*cli = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int rc = connect(*cli, (struct sockaddr *)&a, sizeof(a));
	cr_assert(rc == 0 || errno == EINPROGRESS);
	*srv = accept(ls, NULL, NULL);
	cr_assert_geq(*srv, 0);
	close(ls);
}

struct stream_fix {
	struct loop *l;
	struct rec r;
	int cli, srv;
};

static void stream_open(struct stream_fix *f)
{
	f->l = mk(LOOP_IO_URING);
	tcp_pair(&f->cli, &f->srv);
	rec_init(&f->r, f->cli, false);
	cr_assert_eq(loop_add_fd(f->l, &f->r.io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET), 0);
	cr_assert(loop_has_streams(f->l));
	cr_assert_eq(loop_stream_start(f->l, &f->r.io), 0);
}

/* Run turns until the io is called with something readable, at most 5 s. */
static void wait_input(struct stream_fix *f)
{
	int64_t deadline = now_us() + 5 * USEC_PER_SEC;
	while (!loop_stream_readable(f->l, &f->r.io) && now_us() < deadline)
		run(f->l, 1, 100000);
	cr_assert(loop_stream_readable(f->l, &f->r.io), "nothing arrived in 5 s");
}

Test(loop_stream, recv_send_eof)
{
	struct stream_fix f;
	stream_open(&f);
	char buf[64];
	cr_assert_eq(loop_stream_read(f.l, &f.r.io, buf, sizeof(buf)), -EAGAIN);
	cr_assert_eq(write(f.srv, "hello", 5), 5);
	wait_input(&f);
	cr_assert(f.r.events & EPOLLIN);
	cr_assert_eq(loop_stream_read(f.l, &f.r.io, buf, 2), 2); /* a chunk read in parts */
	cr_assert_eq(loop_stream_read(f.l, &f.r.io, buf + 2, sizeof(buf) - 2), 3);
	cr_assert_eq(memcmp(buf, "hello", 5), 0);
	cr_assert_eq(loop_stream_read(f.l, &f.r.io, buf, sizeof(buf)), -EAGAIN);

	static const char req[] = "GET / HTTP/1.1\r\n\r\n";
	f.r.events = 0;
	cr_assert_eq(loop_stream_send(f.l, &f.r.io, req, sizeof(req) - 1), (long)sizeof(req) - 1);
	cr_assert_eq(loop_stream_send(f.l, &f.r.io, req, 1), -EAGAIN, "one send at a time");
	run(f.l, 1, 0); /* submits */
	cr_assert_eq(recv(f.srv, buf, sizeof(req) - 1, MSG_WAITALL), (ssize_t)sizeof(req) - 1);
	cr_assert_eq(memcmp(buf, req, sizeof(req) - 1), 0);
	int64_t deadline = now_us() + 5 * USEC_PER_SEC;
	while (!(f.r.events & EPOLLOUT) && now_us() < deadline)
		run(f.l, 1, 100000);
	cr_assert(f.r.events & EPOLLOUT, "the waiting writer is told the send completed");

	cr_assert_eq(write(f.srv, "bye", 3), 3);
	close(f.srv);
	f.r.events = 0;
	deadline = now_us() + 5 * USEC_PER_SEC;
	while (!(f.r.events & EPOLLRDHUP) && now_us() < deadline)
		run(f.l, 1, 100000);
	cr_assert(f.r.events & EPOLLRDHUP);
	cr_assert_eq(loop_stream_read(f.l, &f.r.io, buf, sizeof(buf)), 3, "bytes before EOF");
	cr_assert_eq(loop_stream_read(f.l, &f.r.io, buf, sizeof(buf)), 0, "then EOF");
	loop_release_fd(f.l, &f.r.io);
	close(f.cli);
	loop_free(f.l);
}

Test(loop_stream, reset_is_an_error)
{
	struct stream_fix f;
	stream_open(&f);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	cr_assert_eq(setsockopt(f.srv, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(f.srv); /* RST */
	wait_input(&f);
	char buf[16];
	long r = loop_stream_read(f.l, &f.r.io, buf, sizeof(buf));
	cr_assert(r == -ECONNRESET || r == 0, "read after RST: %ld", r);
	if (r < 0)
		cr_assert(f.r.events & EPOLLERR);
	/* a send on the dead socket fails, surfaced as an error */
	loop_stream_send(f.l, &f.r.io, "x", 1);
	run(f.l, 3, 1000);
	r = loop_stream_read(f.l, &f.r.io, buf, sizeof(buf));
	cr_assert(r < 0 || r == 0);
	loop_release_fd(f.l, &f.r.io);
	close(f.cli);
	loop_free(f.l);
}

/* 8 MiB, eight times the buffer ring, read slowly: the recv ends with ENOBUFS when every
 * buffer is full and is re-armed once the reader returns some; every byte arrives in order. */
Test(loop_stream, buffer_exhaustion_rearms, .timeout = 60)
{
	struct stream_fix f;
	stream_open(&f);
	enum { TOTAL = 8 << 20 };
	int fl = fcntl(f.srv, F_GETFL);
	fcntl(f.srv, F_SETFL, fl | O_NONBLOCK);
	static char out[1 << 16], in[1 << 16];
	size_t sent = 0, got = 0;
	int64_t deadline = now_us() + 50 * USEC_PER_SEC;
	int turn = 0;
	while (got < TOTAL && now_us() < deadline) {
		while (sent < TOTAL) {
			size_t n = MIN(sizeof(out), (size_t)(TOTAL - sent));
			for (size_t i = 0; i < n; i++)
				out[i] = (char)((sent + i) * 7);
			ssize_t w = write(f.srv, out, n);
			if (w <= 0)
				break;
			sent += (size_t)w;
		}
		run(f.l, 1, 10000);
		if (++turn % 4) /* read on one turn of four: let the ring run dry */
			continue;
		long r = loop_stream_read(f.l, &f.r.io, in, sizeof(in));
		if (r == -EAGAIN)
			continue;
		cr_assert_gt(r, 0, "read: %ld", r);
		for (long i = 0; i < r; i++)
			cr_assert_eq(in[i], (char)((got + (size_t)i) * 7), "byte %zu",
			             got + (size_t)i);
		got += (size_t)r;
	}
	cr_assert_eq(got, (size_t)TOTAL);
	loop_release_fd(f.l, &f.r.io);
	close(f.cli);
	close(f.srv);
	loop_free(f.l);
}

/* Released with a recv armed, chunks queued and a send in flight, and its memory freed:
 * the late completions must not touch it (run under ASan), and the loop goes on. */
Test(loop_stream, release_in_flight_then_free)
{
	struct loop *l = mk(LOOP_IO_URING);
	int cli, srv;
	tcp_pair(&cli, &srv);
	struct rec *r = malloc(sizeof(*r));
	rec_init(r, cli, false);
	cr_assert_eq(loop_add_fd(l, &r->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET), 0);
	cr_assert_eq(loop_stream_start(l, &r->io), 0);
	cr_assert_eq(write(srv, "queued", 6), 6);
	while (!loop_stream_readable(l, &r->io))
		run(l, 1, 100000);
	cr_assert_eq(write(srv, "late", 4), 4); /* a completion after the release */
	static const char msg[] = "in flight";
	cr_assert_eq(loop_stream_send(l, &r->io, msg, sizeof(msg)), (long)sizeof(msg));
	loop_release_fd(l, &r->io);
	close(cli);
	free(r);
	/* another stream keeps working, and gets every buffer it needs */
	struct stream_fix f;
	f.l = l;
	tcp_pair(&f.cli, &f.srv);
	rec_init(&f.r, f.cli, false);
	cr_assert_eq(loop_add_fd(l, &f.r.io, EPOLLIN | EPOLLET), 0);
	cr_assert_eq(loop_stream_start(l, &f.r.io), 0);
	run(l, 3, 1000);
	cr_assert_eq(write(f.srv, "ok", 2), 2);
	wait_input(&f);
	char buf[8];
	cr_assert_eq(loop_stream_read(l, &f.r.io, buf, sizeof(buf)), 2);
	loop_release_fd(l, &f.r.io);
	close(f.cli);
	close(f.srv);
	close(srv);
	loop_free(l);
}

Test(loop_backend, names_and_probe)
{
	cr_assert_str_eq(loop_backend_name(LOOP_IO_EPOLL), "epoll");
	cr_assert_str_eq(loop_backend_name(LOOP_IO_URING), "io_uring");
	cr_assert_str_eq(loop_backend_name(LOOP_IO_AUTO), "auto");
	cr_assert_eq(loop_backend_probe(LOOP_IO_EPOLL), 0);
	cr_assert_eq(loop_backend_probe(LOOP_IO_URING), 0, "io_uring works on this machine");
	struct loop *l;
	cr_assert_eq(loop_new_backend(&l, LOOP_IO_AUTO), 0);
	cr_assert_eq(loop_backend_of(l), LOOP_IO_URING, "auto picks io_uring when it works");
	loop_free(l);
}
