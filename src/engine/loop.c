/* loop.c: epoll event loop with a binary-heap timer queue (one per worker thread). */
#include "engine/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "util/common.h"

#define LOOP_MAX_EVENTS 256

struct loop {
	int epfd;
	int64_t now;
	struct loop_timer **heap;
	int heap_len;
	int heap_cap;
	struct loop_io pending; /* sentinel of the circular list of pending ios */
	struct epoll_event events[LOOP_MAX_EVENTS];
};

int loop_new(struct loop **out)
{
	struct loop *l = xcalloc(1, sizeof(*l));
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int err = -errno;
		free(l);
		return err;
	}
	l->heap_cap = 64;
	l->heap = xcalloc((size_t)l->heap_cap, sizeof(*l->heap));
	l->pending.pend_next = l->pending.pend_prev = &l->pending;
	l->now = now_us();
	*out = l;
	return 0;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l->heap);
	free(l);
}

int loop_add_fd(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0 ? -errno : 0;
}

int loop_mod_fd(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0 ? -errno : 0;
}

void loop_del_fd(struct loop *l, struct loop_io *io)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

void loop_io_pending(struct loop *l, struct loop_io *io, uint32_t events)
{
	io->pend_events |= events;
	if (io->pend_next)
		return;
	io->pend_prev = l->pending.pend_prev;
	io->pend_next = &l->pending;
	l->pending.pend_prev->pend_next = io;
	l->pending.pend_prev = io;
}

void loop_io_cancel_pending(struct loop *l, struct loop_io *io)
{
	if (!io->pend_next)
		return;
	io->pend_prev->pend_next = io->pend_next;
	io->pend_next->pend_prev = io->pend_prev;
	io->pend_next = io->pend_prev = NULL;
	io->pend_events = 0;
}

/* Move the pending ios to the empty list batch (a sentinel): the ones this turn calls. */
static void take_pending(struct loop *l, struct loop_io *batch)
{
	batch->pend_next = batch->pend_prev = batch;
	if (l->pending.pend_next == &l->pending)
		return;
	batch->pend_next = l->pending.pend_next;
	batch->pend_prev = l->pending.pend_prev;
	batch->pend_next->pend_prev = batch;
	batch->pend_prev->pend_next = batch;
	l->pending.pend_next = l->pending.pend_prev = &l->pending;
}

/* Call the ios of batch. One a callback cancels is not called; one it makes pending again
 * (itself included) moves to the loop's list, for the next turn. */
static void run_batch(struct loop *l, struct loop_io *batch)
{
	while (batch->pend_next != batch) {
		struct loop_io *io = batch->pend_next;
		uint32_t events = io->pend_events;
		loop_io_cancel_pending(l, io);
		io->fn(io->ud, events);
	}
}

void loop_timer_init(struct loop_timer *t, loop_timer_fn fn, void *ud)
{
	t->when_us = 0;
	t->heap_index = -1;
	t->fn = fn;
	t->ud = ud;
}

static void heap_set(struct loop *l, int i, struct loop_timer *t)
{
	l->heap[i] = t;
	t->heap_index = i;
}

static void heap_up(struct loop *l, int i)
{
	struct loop_timer *t = l->heap[i];
	while (i > 0) {
		int parent = (i - 1) / 2;
		if (l->heap[parent]->when_us <= t->when_us)
			break;
		heap_set(l, i, l->heap[parent]);
		i = parent;
	}
	heap_set(l, i, t);
}

static void heap_down(struct loop *l, int i)
{
	struct loop_timer *t = l->heap[i];
	for (;;) {
		int c = 2 * i + 1;
		if (c >= l->heap_len)
			break;
		if (c + 1 < l->heap_len && l->heap[c + 1]->when_us < l->heap[c]->when_us)
			c++;
		if (t->when_us <= l->heap[c]->when_us)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	int i = t->heap_index;
	if (i < 0)
		return;
	t->heap_index = -1;
	l->heap_len--;
	if (i == l->heap_len)
		return;
	struct loop_timer *last = l->heap[l->heap_len];
	heap_set(l, i, last);
	heap_up(l, i);
	heap_down(l, last->heap_index);
}

void loop_timer_at(struct loop *l, struct loop_timer *t, int64_t when_us)
{
	if (t->heap_index >= 0) {
		int64_t old = t->when_us;
		t->when_us = when_us;
		if (when_us < old)
			heap_up(l, t->heap_index);
		else
			heap_down(l, t->heap_index);
		return;
	}
	if (l->heap_len == l->heap_cap) {
		l->heap_cap *= 2;
		l->heap = xrealloc(l->heap, (size_t)l->heap_cap * sizeof(*l->heap));
	}
	t->when_us = when_us;
	heap_set(l, l->heap_len++, t);
	heap_up(l, t->heap_index);
}

int64_t loop_now(const struct loop *l)
{
	return l->now;
}

int64_t loop_update_time(struct loop *l)
{
	l->now = now_us();
	return l->now;
}

int loop_timer_count(const struct loop *l)
{
	return l->heap_len;
}

static void run_timers(struct loop *l)
{
	while (l->heap_len > 0 && l->heap[0]->when_us <= l->now) {
		struct loop_timer *t = l->heap[0];
		loop_timer_cancel(l, t);
		t->fn(t, t->ud);
	}
}

int loop_run_once(struct loop *l, int64_t max_wait_us)
{
	int64_t wait = max_wait_us;
	if (l->pending.pend_next != &l->pending) {
		wait = 0; /* an io has work left */
	} else if (l->heap_len > 0) {
		int64_t until = l->heap[0]->when_us - now_us();
		wait = MAX(0, MIN(wait, until));
	}
	struct timespec ts = { .tv_sec = wait / USEC_PER_SEC,
		               .tv_nsec = (wait % USEC_PER_SEC) * NSEC_PER_USEC };
	static int have_pwait2 = 1; /* kernels before 5.11 (and valgrind) lack epoll_pwait2 */
	int n;
	bool pwait2 = __atomic_load_n(&have_pwait2, __ATOMIC_RELAXED);
	if (pwait2) {
		n = epoll_pwait2(l->epfd, l->events, LOOP_MAX_EVENTS, &ts, NULL);
		if (n < 0 && errno == ENOSYS) {
			__atomic_store_n(&have_pwait2, 0, __ATOMIC_RELAXED);
			pwait2 = false;
		}
	}
	if (!pwait2) /* millisecond timeouts, rounded up */
		n = epoll_wait(l->epfd, l->events, LOOP_MAX_EVENTS, (int)((wait + 999) / 1000));
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	l->now = now_us();
	/* the ios pending so far, not those the callbacks below make pending */
	struct loop_io batch;
	take_pending(l, &batch);
	for (int i = 0; i < n; i++) {
		struct loop_io *io = l->events[i].data.ptr;
		io->fn(io->ud, l->events[i].events);
	}
	run_batch(l, &batch);
	run_timers(l);
	return 0;
}
