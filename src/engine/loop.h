/* loop.h: a per-thread epoll event loop with a binary-heap timer queue.
 *
 * Each turn (loop_run_once) waits for I/O, dispatches the ready fds, then the ios made
 * pending before the turn, then every expired timer. A callback does a bounded amount of
 * work per call: an fd that still has work (a socket read to its budget with bytes left in
 * the kernel or in a TLS library's buffer) is made pending with loop_io_pending() instead
 * of being drained, and is called again on the next turn, after the timers and the other
 * fds have run. That is how edge-triggered fds yield: their edge does not fire again for
 * bytes already there, and the pending list stands in for it. */
#ifndef STAMPEDE_LOOP_H
#define STAMPEDE_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct loop_timer;

/* Called with the epoll event mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP). */
typedef void (*loop_io_fn)(void *ud, uint32_t events);
typedef void (*loop_timer_fn)(struct loop_timer *t, void *ud);

/* A timer is embedded in its owner; arming it never allocates (the heap grows only when
 * more timers are armed at once than ever before). */
struct loop_timer {
	int64_t when_us; /* monotonic deadline */
	int heap_index;  /* -1 when not armed */
	loop_timer_fn fn;
	void *ud;
};

/* A registered file descriptor's callback. Embedded in the owner; initialise with
 * (struct loop_io){ .fd = ..., .fn = ..., .ud = ... } (the rest zero). */
struct loop_io {
	int fd;
	loop_io_fn fn;
	void *ud;
	/* private (loop.c): the pending list, NULL when not on it, and the events to pass */
	struct loop_io *pend_prev, *pend_next;
	uint32_t pend_events;
};

/* Create a loop into *out. Returns 0 or a negative errno. */
int loop_new(struct loop **out);
/* Free the loop (does not close registered fds); accepts NULL. */
void loop_free(struct loop *l);

/* Register io->fd for events (EPOLLIN/EPOLLOUT/EPOLLET/EPOLLRDHUP...) with io as the
 * callback. Returns 0 or a negative errno. */
int loop_add_fd(struct loop *l, struct loop_io *io, uint32_t events);
int loop_mod_fd(struct loop *l, struct loop_io *io, uint32_t events);
/* Unregister (closing the fd also unregisters it). */
void loop_del_fd(struct loop *l, struct loop_io *io);

/* Call io->fn(io->ud, events) again on the next turn, after the timers and the other fds
 * of this one, as if its fd had fired (with edge-triggered epoll it would not: the data is
 * already there). The next turn's wait does not block. Events of repeated calls before the
 * next turn are or'ed; never allocates. The owner must loop_io_cancel_pending() before it
 * frees io or stops wanting the call (the fd's closing does not do it). */
void loop_io_pending(struct loop *l, struct loop_io *io, uint32_t events);
/* Take io off the pending list; harmless when it is not on it. */
void loop_io_cancel_pending(struct loop *l, struct loop_io *io);
static inline bool loop_io_is_pending(const struct loop_io *io)
{
	return io->pend_next != NULL;
}

void loop_timer_init(struct loop_timer *t, loop_timer_fn fn, void *ud);
/* Arm (or re-arm) t to fire at monotonic time when_us. */
void loop_timer_at(struct loop *l, struct loop_timer *t, int64_t when_us);
/* Disarm t; harmless when not armed. */
void loop_timer_cancel(struct loop *l, struct loop_timer *t);
static inline bool loop_timer_armed(const struct loop_timer *t)
{
	return t->heap_index >= 0;
}

/* Run one iteration: wait for I/O until the earliest timer (at most max_wait_us; not at all
 * when an io is pending), then dispatch I/O callbacks, the ios pending before this turn,
 * and every expired timer. Returns 0 or a negative errno. */
int loop_run_once(struct loop *l, int64_t max_wait_us);

/* The loop's cached monotonic time in µs, refreshed after each wait. */
int64_t loop_now(const struct loop *l);
/* Refresh the cached time and return it. */
int64_t loop_update_time(struct loop *l);
/* Number of armed timers. */
int loop_timer_count(const struct loop *l);

#endif
