/* loop.c: the event loop's timers, pending list and turn, over an I/O backend
 * (loop_epoll.c, loop_uring.c). One per worker thread. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "engine/loop_int.h"
#include "util/common.h"

static int loop_init_backend(struct loop *l, enum loop_backend b)
{
	if (b == LOOP_IO_URING)
		return loop_uring_init(l);
	if (b == LOOP_IO_EPOLL)
		return loop_epoll_init(l);
	return loop_uring_init(l) == 0 ? 0 : loop_epoll_init(l);
}

int loop_new_backend(struct loop **out, enum loop_backend b)
{
	struct loop *l = xcalloc(1, sizeof(*l));
	int rc = loop_init_backend(l, b);
	if (rc < 0) {
		free(l);
		return rc;
	}
	l->heap_cap = 64;
	l->heap = xcalloc((size_t)l->heap_cap, sizeof(*l->heap));
	loop_list_init(&l->pending);
	l->now = now_us();
	*out = l;
	return 0;
}

int loop_new(struct loop **out)
{
	return loop_new_backend(out, LOOP_IO_EPOLL);
}

int loop_backend_probe(enum loop_backend b)
{
	return b == LOOP_IO_URING ? loop_uring_probe() : 0;
}

enum loop_backend loop_backend_of(const struct loop *l)
{
	return l->backend;
}

const char *loop_backend_name(enum loop_backend b)
{
	switch (b) {
	case LOOP_IO_EPOLL:
		return "epoll";
	case LOOP_IO_URING:
		return "io_uring";
	default:
		return "auto";
	}
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	l->ops->free(l);
	free(l->heap);
	free(l);
}

int loop_add_fd(struct loop *l, struct loop_io *io, uint32_t events)
{
	return l->ops->add(l, io, events);
}

int loop_mod_fd(struct loop *l, struct loop_io *io, uint32_t events)
{
	return l->ops->mod(l, io, events);
}

void loop_del_fd(struct loop *l, struct loop_io *io)
{
	l->ops->del(l, io);
}

void loop_release_fd(struct loop *l, struct loop_io *io)
{
	l->ops->release(l, io);
}

void loop_list_init(struct loop_io *sentinel)
{
	sentinel->pend_next = sentinel->pend_prev = sentinel;
}

void loop_list_push(struct loop_io *sentinel, struct loop_io *io, uint32_t events)
{
	io->pend_events |= events;
	if (io->pend_next)
		return;
	io->pend_prev = sentinel->pend_prev;
	io->pend_next = sentinel;
	sentinel->pend_prev->pend_next = io;
	sentinel->pend_prev = io;
}

void loop_io_pending(struct loop *l, struct loop_io *io, uint32_t events)
{
	loop_list_push(&l->pending, io, events);
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
void loop_list_run(struct loop *l, struct loop_io *batch)
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
	int rc = l->ops->wait(l, wait);
	if (rc < 0)
		return rc;
	l->now = now_us();
	/* the ios pending so far, not those the callbacks below make pending */
	struct loop_io batch;
	take_pending(l, &batch);
	l->ops->dispatch(l);
	loop_list_run(l, &batch);
	run_timers(l);
	return 0;
}
