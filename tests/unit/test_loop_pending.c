/* test_loop_pending.c: unit tests for the loop's pending ios (loop_io_pending): how an
 * edge-triggered fd with work left yields to the timers and the other fds. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "engine/loop.h"
#include "util/common.h"

/* An io that counts its calls and, while repend > 0, makes itself pending again. */
struct lp_io {
	struct loop_io io;
	struct loop *loop;
	int calls;
	uint32_t last_events;
	int repend;             /* times to make itself pending from its callback */
	struct loop_io *victim; /* cancelled from this io's callback */
	int turn_of_call[16];   /* the turn of each call */
	int *turn;
};

static void lp_fn(void *ud, uint32_t events)
{
	struct lp_io *x = ud;
	cr_assert_not(loop_io_is_pending(&x->io), "an io is off the list inside its callback");
	if (x->calls < 16)
		x->turn_of_call[x->calls] = *x->turn;
	x->calls++;
	x->last_events = events;
	if (x->victim)
		loop_io_cancel_pending(x->loop, x->victim);
	if (x->repend > 0) {
		x->repend--;
		loop_io_pending(x->loop, &x->io, events);
	}
}

static void lp_init(struct lp_io *x, struct loop *l, int *turn)
{
	*x = (struct lp_io){ .loop = l, .turn = turn };
	x->io = (struct loop_io){ .fd = -1, .fn = lp_fn, .ud = x };
}

static void turns(struct loop *l, int *turn, int n, int64_t max_wait_us)
{
	for (int i = 0; i < n; i++) {
		(*turn)++;
		cr_assert_eq(loop_run_once(l, max_wait_us), 0);
	}
}

Test(loop_pending, called_next_turn_without_waiting)
{
	struct loop *l;
	int turn = 0;
	struct lp_io a;
	cr_assert_eq(loop_new(&l), 0);
	lp_init(&a, l, &turn);
	loop_io_pending(l, &a.io, 0x1);
	loop_io_pending(l, &a.io, 0x2000); /* events of repeated calls are or'ed */
	cr_assert(loop_io_is_pending(&a.io));
	int64_t t0 = now_us();
	turns(l, &turn, 1, 5 * USEC_PER_SEC);
	cr_assert_lt(now_us() - t0, USEC_PER_SEC, "the turn waited although an io was pending");
	cr_assert_eq(a.calls, 1);
	cr_assert_eq(a.last_events, 0x2001u);
	cr_assert_not(loop_io_is_pending(&a.io));
	turns(l, &turn, 2, 0);
	cr_assert_eq(a.calls, 1, "called again without being made pending");
	loop_free(l);
}

Test(loop_pending, repending_waits_for_the_next_turn)
{
	struct loop *l;
	int turn = 0;
	struct lp_io a;
	cr_assert_eq(loop_new(&l), 0);
	lp_init(&a, l, &turn);
	a.repend = 3;
	loop_io_pending(l, &a.io, 0x1);
	turns(l, &turn, 6, 0);
	cr_assert_eq(a.calls, 4);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(a.turn_of_call[i], i + 1, "call %d in turn %d", i, a.turn_of_call[i]);
	loop_free(l);
}

Test(loop_pending, cancelled_is_not_called)
{
	struct loop *l;
	int turn = 0;
	struct lp_io a, b, c;
	cr_assert_eq(loop_new(&l), 0);
	lp_init(&a, l, &turn);
	lp_init(&b, l, &turn);
	lp_init(&c, l, &turn);
	loop_io_pending(l, &a.io, 0x1);
	loop_io_pending(l, &b.io, 0x1);
	loop_io_pending(l, &c.io, 0x1);
	loop_io_cancel_pending(l, &b.io);
	loop_io_cancel_pending(l, &b.io); /* harmless twice */
	a.victim = &c.io;                 /* cancelled within the same turn, before its call */
	turns(l, &turn, 2, 0);
	cr_assert_eq(a.calls, 1);
	cr_assert_eq(b.calls, 0);
	cr_assert_eq(c.calls, 0);
	loop_free(l);
}

struct lp_timer {
	struct loop_timer t;
	int fired_turn;
	int *turn;
};

static void lp_timer_fn(struct loop_timer *t, void *ud)
{
	struct lp_timer *x = ud;
	x->fired_turn = *x->turn;
}

/* An io that always has work left (an endless body) does not keep timers from running. */
Test(loop_pending, endless_work_does_not_starve_timers)
{
	struct loop *l;
	int turn = 0;
	struct lp_io a;
	struct lp_timer tm = { .fired_turn = 0, .turn = &turn };
	cr_assert_eq(loop_new(&l), 0);
	lp_init(&a, l, &turn);
	a.repend = 1 << 30;
	loop_io_pending(l, &a.io, 0x1);
	loop_timer_init(&tm.t, lp_timer_fn, &tm);
	loop_timer_at(l, &tm.t, now_us() + 20000);
	int64_t t0 = now_us();
	while (!tm.fired_turn && now_us() - t0 < 5 * USEC_PER_SEC)
		turns(l, &turn, 1, USEC_PER_SEC);
	cr_assert(tm.fired_turn, "the timer never fired");
	cr_assert_eq(a.calls, turn, "the io ran once per turn: %d calls in %d turns", a.calls,
	             turn);
	loop_io_cancel_pending(l, &a.io);
	loop_free(l);
}
