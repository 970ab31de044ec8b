/* test_loop.c: unit tests for the epoll loop's timer heap and fd dispatch. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "engine/loop.h"
#include "util/common.h"

#define TL_MAX 1024

/* Records the order in which timers fire; each timer's ud points at its tl_timer. */
struct tl_log {
	int order[TL_MAX];
	int64_t when[TL_MAX];
	int n;
};

struct tl_timer {
	struct loop_timer t;
	int id;
	struct tl_log *log;
	struct loop *loop;
	struct loop_timer *victim; /* cancelled from this timer's callback */
	int64_t rearm_at;          /* deadline for re-arming from the callback */
	int rearms;                /* how many more times to re-arm */
};

static void tl_fire(struct loop_timer *t, void *ud)
{
	struct tl_timer *x = ud;
	cr_assert_eq(t, &x->t);
	cr_assert_not(loop_timer_armed(t), "timer %d still armed inside its callback", x->id);
	cr_assert_lt(x->log->n, TL_MAX);
	x->log->order[x->log->n] = x->id;
	x->log->when[x->log->n] = t->when_us;
	x->log->n++;
	if (x->victim)
		loop_timer_cancel(x->loop, x->victim);
	if (x->rearms > 0) {
		x->rearms--;
		loop_timer_at(x->loop, t, x->rearm_at);
	}
}

static void tl_init(struct tl_timer *x, int id, struct tl_log *log, struct loop *l)
{
	memset(x, 0, sizeof(*x));
	x->id = id;
	x->log = log;
	x->loop = l;
	loop_timer_init(&x->t, tl_fire, x);
}

/* Run the loop until no timer is armed; every deadline used here is already past. */
static void tl_drain(struct loop *l)
{
	for (int i = 0; i < 100 && loop_timer_count(l) > 0; i++)
		cr_assert_eq(loop_run_once(l, 0), 0);
	cr_assert_eq(loop_timer_count(l), 0, "timers left after draining");
}

static struct loop *tl_new(void)
{
	struct loop *l = NULL;
	cr_assert_eq(loop_new(&l), 0);
	cr_assert_not_null(l);
	return l;
}

/* A base for deadlines that are all in the past: add small offsets to order them. */
static int64_t tl_past_base(struct loop *l)
{
	return loop_update_time(l) - 1000 * USEC_PER_SEC;
}

Test(loop, new_and_free)
{
	struct loop *l = tl_new();
	cr_expect_eq(loop_timer_count(l), 0);
	cr_expect_gt(loop_now(l), 0);
	int64_t before = loop_now(l);
	cr_expect_geq(loop_update_time(l), before);
	cr_expect_eq(loop_run_once(l, 0), 0, "an idle iteration with no wait");
	loop_free(l);
	loop_free(NULL);
}

Test(loop, timers_fire_in_deadline_order)
{
	struct loop *l = tl_new();
	int64_t base = tl_past_base(l);
	struct tl_log log = { .n = 0 };
	struct tl_timer t[6];
	static const int64_t offs[6] = { 50, 10, 40, 20, 60, 30 };

	for (int i = 0; i < 6; i++) {
		tl_init(&t[i], i, &log, l);
		cr_expect_not(loop_timer_armed(&t[i].t));
		loop_timer_at(l, &t[i].t, base + offs[i]);
		cr_expect(loop_timer_armed(&t[i].t));
	}
	cr_expect_eq(loop_timer_count(l), 6);
	cr_assert_eq(loop_run_once(l, 0), 0);
	cr_assert_eq(log.n, 6, "every expired timer runs in one iteration");
	static const int want[6] = { 1, 3, 5, 2, 0, 4 };
	for (int i = 0; i < 6; i++)
		cr_expect_eq(log.order[i], want[i], "position %d: timer %d, want %d", i,
		             log.order[i], want[i]);
	cr_expect_eq(loop_timer_count(l), 0);
	loop_free(l);
}

Test(loop, future_timer_does_not_fire_early)
{
	struct loop *l = tl_new();
	int64_t base = tl_past_base(l);
	struct tl_log log = { .n = 0 };
	struct tl_timer past, future;

	tl_init(&past, 1, &log, l);
	tl_init(&future, 2, &log, l);
	loop_timer_at(l, &future.t, loop_update_time(l) + 3600 * USEC_PER_SEC);
	loop_timer_at(l, &past.t, base);
	/* The wait is bounded by the expired timer, not by the hour-away one. */
	cr_assert_eq(loop_run_once(l, 3600 * USEC_PER_SEC), 0);
	cr_expect_eq(log.n, 1);
	cr_expect_eq(log.order[0], 1);
	cr_expect(loop_timer_armed(&future.t));
	cr_expect_eq(loop_timer_count(l), 1);
	loop_timer_cancel(l, &future.t);
	cr_expect_eq(loop_timer_count(l), 0);
	loop_free(l);
}

Test(loop, cancel)
{
	struct loop *l = tl_new();
	int64_t base = tl_past_base(l);
	struct tl_log log = { .n = 0 };
	struct tl_timer a, b, c;

	tl_init(&a, 1, &log, l);
	tl_init(&b, 2, &log, l);
	tl_init(&c, 3, &log, l);
	loop_timer_cancel(l, &a.t); /* never armed: harmless */
	loop_timer_at(l, &a.t, base + 1);
	loop_timer_at(l, &b.t, base + 2);
	loop_timer_at(l, &c.t, base + 3);
	loop_timer_cancel(l, &b.t);
	cr_expect_not(loop_timer_armed(&b.t));
	loop_timer_cancel(l, &b.t); /* twice: harmless */
	cr_expect_eq(loop_timer_count(l), 2);
	tl_drain(l);
	cr_assert_eq(log.n, 2);
	cr_expect_eq(log.order[0], 1);
	cr_expect_eq(log.order[1], 3);
	loop_free(l);
}

Test(loop, cancel_from_another_callback)
{
	struct loop *l = tl_new();
	int64_t base = tl_past_base(l);
	struct tl_log log = { .n = 0 };
	struct tl_timer a, b, c;

	tl_init(&a, 1, &log, l);
	tl_init(&b, 2, &log, l);
	tl_init(&c, 3, &log, l);
	a.victim = &b.t; /* a fires first and cancels b, which has expired too */
	loop_timer_at(l, &c.t, base + 3);
	loop_timer_at(l, &b.t, base + 2);
	loop_timer_at(l, &a.t, base + 1);
	cr_assert_eq(loop_run_once(l, 0), 0);
	cr_assert_eq(log.n, 2);
	cr_expect_eq(log.order[0], 1);
	cr_expect_eq(log.order[1], 3);
	cr_expect_not(loop_timer_armed(&b.t));
	cr_expect_eq(loop_timer_count(l), 0);
	loop_free(l);
}

Test(loop, cancel_self_and_future_from_callback)
{
	struct loop *l = tl_new();
	int64_t base = tl_past_base(l);
	struct tl_log log = { .n = 0 };
	struct tl_timer a, far;

	tl_init(&a, 1, &log, l);
	tl_init(&far, 2, &log, l);
	a.victim = &a.t; /* cancelling itself after it was disarmed is harmless */
	loop_timer_at(l, &far.t, loop_update_time(l) + 3600 * USEC_PER_SEC);
	loop_timer_at(l, &a.t, base);
	cr_assert_eq(loop_run_once(l, 0), 0);
	cr_expect_eq(log.n, 1);
	cr_expect_eq(loop_timer_count(l), 1);

	a.victim = &far.t;
	loop_timer_at(l, &a.t, base);
	cr_assert_eq(loop_run_once(l, 0), 0);
	cr_expect_eq(log.n, 2);
	cr_expect_not(loop_timer_armed(&far.t));
	cr_expect_eq(loop_timer_count(l), 0);
	loop_free(l);
}

Test(loop, cancel_in_the_middle_of_the_heap)
{
	enum { N = 31 };
	struct loop *l = tl_new();
	int64_t base = tl_past_base(l);
	struct tl_log log = { .n = 0 };
	struct tl_timer t[N];
	bool cancelled[N] = { false };

	for (int i = 0; i < N; i++) {
		tl_init(&t[i], i, &log, l);
		loop_timer_at(l, &t[i].t, base + i * 10);
	}
	/* Cancel inner nodes (neither root nor last), so the last element must move up or
	 * down into the hole. */
	static const int victims[] = { 5, 1, 12, 2, 20, 7 };
	for (size_t k = 0; k < ARRAY_SIZE(victims); k++) {
		int v = victims[k];
		cr_assert(loop_timer_armed(&t[v].t));
		loop_timer_cancel(l, &t[v].t);
		cancelled[v] = true;
	}
	cr_expect_eq(loop_timer_count(l), N - (int)ARRAY_SIZE(victims));
	tl_drain(l);
	cr_assert_eq(log.n, N - (int)ARRAY_SIZE(victims));
	int pos = 0;
	for (int i = 0; i < N; i++) {
		if (cancelled[i])
			continue;
		cr_expect_eq(log.order[pos], i, "position %d: timer %d, want %d", pos,
		             log.order[pos], i);
		pos++;
	}
	loop_free(l);
}

Test(loop, cancel_where_last_must_sift_up)
{
	enum { N = 15 };
	struct loop *l = tl_new();
	int64_t base = tl_past_base(l);
	int64_t future = loop_now(l) + 3600 * USEC_PER_SEC;
	struct tl_log log = { .n = 0 };
	struct tl_timer t[N];
	/* Each key is at least its parent's, so timer i sits at heap index i. The left subtree
	 * of the root holds future timers (>= 1000), the right subtree expired ones. Cancelling
	 * index 10 moves the last timer (13, expired) under the future ones, where it must sift
	 * up, or it would be stuck behind them. */
	static const int64_t keys[N] = { 1,    1000, 10,   1001, 1002, 11, 12, 1003,
		                         1004, 1005, 1006, 20,   21,   22, 13 };
	for (int i = 0; i < N; i++) {
		tl_init(&t[i], (int)keys[i], &log, l);
		loop_timer_at(l, &t[i].t, keys[i] >= 1000 ? future + keys[i] : base + keys[i]);
		cr_assert_eq(t[i].t.heap_index, i);
	}
	loop_timer_cancel(l, &t[10].t);
	cr_expect_eq(t[14].t.heap_index, 1, "the moved timer rose to the root's child");
	cr_assert_eq(loop_run_once(l, 0), 0);
	static const int want[] = { 1, 10, 11, 12, 13, 20, 21, 22 };
	cr_assert_eq(log.n, (int)ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		cr_expect_eq(log.order[i], want[i], "position %zu: %d, want %d", i, log.order[i],
		             want[i]);
	cr_expect_eq(loop_timer_count(l), 6, "the future timers stay armed");
	loop_free(l);
}

Test(loop, rearm_moves_timer)
{
	struct loop *l = tl_new();
	int64_t base = tl_past_base(l);
	struct tl_log log = { .n = 0 };
	struct tl_timer a, b, c;

	tl_init(&a, 1, &log, l);
	tl_init(&b, 2, &log, l);
	tl_init(&c, 3, &log, l);
	loop_timer_at(l, &a.t, base + 10);
	loop_timer_at(l, &b.t, base + 20);
	loop_timer_at(l, &c.t, base + 30);
	loop_timer_at(l, &a.t, base + 40); /* later: a moves to the end */
	loop_timer_at(l, &c.t, base + 5);  /* earlier: c moves to the front */
	cr_expect_eq(loop_timer_count(l), 3, "re-arming does not add a timer");
	loop_timer_at(l, &b.t, loop_update_time(l) + 3600 * USEC_PER_SEC); /* into the future */
	cr_assert_eq(loop_run_once(l, 0), 0);
	cr_assert_eq(log.n, 2);
	cr_expect_eq(log.order[0], 3);
	cr_expect_eq(log.order[1], 1);
	cr_expect(loop_timer_armed(&b.t));
	loop_timer_at(l, &b.t, base); /* and back into the past */
	cr_assert_eq(loop_run_once(l, 0), 0);
	cr_assert_eq(log.n, 3);
	cr_expect_eq(log.order[2], 2);
	loop_free(l);
}

Test(loop, rearm_from_own_callback)
{
	struct loop *l = tl_new();
	int64_t base = tl_past_base(l);
	struct tl_log log = { .n = 0 };
	struct tl_timer a;

	tl_init(&a, 1, &log, l);
	a.rearm_at = base;
	a.rearms = 3;
	loop_timer_at(l, &a.t, base);
	tl_drain(l);
	cr_expect_eq(log.n, 4, "fired once plus three re-arms");
	loop_free(l);
}

static uint32_t tl_rand(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return *state >> 8;
}

Test(loop, many_random_timers_fire_sorted)
{
	enum { N = 1000 };
	struct loop *l = tl_new();
	int64_t base = tl_past_base(l);
	struct tl_log *log = calloc(1, sizeof(*log));
	struct tl_timer *t = calloc(N, sizeof(*t));
	uint32_t seed = 12345;
	cr_assert_not_null(log);
	cr_assert_not_null(t);

	/* More than the initial heap capacity, many equal deadlines, random re-arms and
	 * cancels in between. */
	for (int i = 0; i < N; i++) {
		tl_init(&t[i], i, log, l);
		loop_timer_at(l, &t[i].t, base + tl_rand(&seed) % 5000);
	}
	for (int k = 0; k < 300; k++) {
		int i = (int)(tl_rand(&seed) % N);
		if (k % 3 == 0)
			loop_timer_cancel(l, &t[i].t);
		else
			loop_timer_at(l, &t[i].t, base + tl_rand(&seed) % 5000);
	}
	int armed = 0;
	for (int i = 0; i < N; i++)
		armed += loop_timer_armed(&t[i].t);
	cr_expect_eq(loop_timer_count(l), armed);
	cr_assert_eq(loop_run_once(l, 0), 0);
	cr_assert_eq(log->n, armed);
	for (int i = 1; i < log->n; i++)
		cr_assert_leq(log->when[i - 1], log->when[i],
		              "fired out of order at %d: %lld > %lld", i,
		              (long long)log->when[i - 1], (long long)log->when[i]);
	for (int i = 0; i < log->n; i++)
		cr_expect_eq(t[log->order[i]].t.when_us, log->when[i]);
	cr_expect_eq(loop_timer_count(l), 0);
	free(t);
	free(log);
	loop_free(l);
}

struct tl_io {
	struct loop_io io;
	int calls;
	uint32_t events;
	uint64_t read_value;
	ssize_t nread;
};

static void tl_on_io(void *ud, uint32_t events)
{
	struct tl_io *x = ud;
	x->calls++;
	x->events = events;
	if (events & EPOLLIN)
		x->nread = read(x->io.fd, &x->read_value, sizeof(x->read_value));
}

Test(loop, eventfd_readable_runs_callback)
{
	struct loop *l = tl_new();
	struct tl_io x = { .calls = 0 };
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	cr_assert_geq(fd, 0);
	x.io = (struct loop_io){ .fd = fd, .fn = tl_on_io, .ud = &x };
	cr_assert_eq(loop_add_fd(l, &x.io, EPOLLIN), 0);
	cr_expect_eq(loop_add_fd(l, &x.io, EPOLLIN), -EEXIST, "adding twice is an error");

	cr_assert_eq(loop_run_once(l, 0), 0);
	cr_expect_eq(x.calls, 0, "not readable yet");

	uint64_t one = 7;
	cr_assert_eq(write(fd, &one, sizeof(one)), 8);
	/* Readable already: the wait returns at once; the bound only guards against a hang. */
	cr_assert_eq(loop_run_once(l, 5 * USEC_PER_SEC), 0);
	cr_expect_eq(x.calls, 1);
	cr_expect(x.events & EPOLLIN, "events 0x%x", x.events);
	cr_expect_eq(x.nread, 8);
	cr_expect_eq(x.read_value, 7);

	cr_assert_eq(loop_run_once(l, 0), 0);
	cr_expect_eq(x.calls, 1, "drained: no further callback");

	loop_del_fd(l, &x.io);
	cr_assert_eq(write(fd, &one, sizeof(one)), 8);
	cr_assert_eq(loop_run_once(l, 0), 0);
	cr_expect_eq(x.calls, 1, "no callback after loop_del_fd");
	close(fd);
	loop_free(l);
}

Test(loop, pipe_in_and_out_with_mod)
{
	struct loop *l = tl_new();
	struct tl_io rd = { .calls = 0 }, wr = { .calls = 0 };
	int p[2];
	cr_assert_eq(pipe(p), 0);
	rd.io = (struct loop_io){ .fd = p[0], .fn = tl_on_io, .ud = &rd };
	wr.io = (struct loop_io){ .fd = p[1], .fn = tl_on_io, .ud = &wr };
	cr_assert_eq(loop_add_fd(l, &rd.io, EPOLLIN), 0);
	cr_assert_eq(loop_add_fd(l, &wr.io, EPOLLOUT), 0);

	cr_assert_eq(loop_run_once(l, 5 * USEC_PER_SEC), 0);
	cr_expect_eq(wr.calls, 1);
	cr_expect(wr.events & EPOLLOUT, "events 0x%x", wr.events);
	cr_expect_eq(rd.calls, 0);

	cr_assert_eq(loop_mod_fd(l, &wr.io, 0), 0);
	static const char msg[8] = "12345678";
	cr_assert_eq(write(p[1], msg, sizeof(msg)), 8);
	cr_assert_eq(loop_run_once(l, 5 * USEC_PER_SEC), 0);
	cr_expect_eq(rd.calls, 1);
	cr_expect(rd.events & EPOLLIN, "events 0x%x", rd.events);
	cr_expect_eq(rd.nread, 8);
	cr_expect_eq(wr.calls, 1, "writer interest was removed by loop_mod_fd");

	close(p[1]);
	cr_assert_eq(loop_run_once(l, 5 * USEC_PER_SEC), 0);
	cr_expect_eq(rd.calls, 2);
	cr_expect(rd.events & EPOLLHUP, "hang-up reported, events 0x%x", rd.events);
	loop_del_fd(l, &rd.io);
	close(p[0]);
	loop_free(l);
}

Test(loop, io_runs_before_timers_in_one_iteration)
{
	struct loop *l = tl_new();
	int64_t base = tl_past_base(l);
	struct tl_log log = { .n = 0 };
	struct tl_timer a;
	struct tl_io x = { .calls = 0 };
	int fd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
	cr_assert_geq(fd, 0);
	x.io = (struct loop_io){ .fd = fd, .fn = tl_on_io, .ud = &x };
	cr_assert_eq(loop_add_fd(l, &x.io, EPOLLIN), 0);
	tl_init(&a, 1, &log, l);
	loop_timer_at(l, &a.t, base);
	cr_assert_eq(loop_run_once(l, 0), 0);
	cr_expect_eq(x.calls, 1);
	cr_expect_eq(log.n, 1);
	close(fd);
	loop_free(l);
}

Test(loop, add_bad_fd)
{
	struct loop *l = tl_new();
	struct tl_io x = { .calls = 0 };
	x.io = (struct loop_io){ .fd = -1, .fn = tl_on_io, .ud = &x };
	cr_expect_eq(loop_add_fd(l, &x.io, EPOLLIN), -EBADF);
	cr_expect_eq(loop_mod_fd(l, &x.io, EPOLLIN), -EBADF);
	loop_free(l);
}
