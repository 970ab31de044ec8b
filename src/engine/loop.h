/* loop.h: a per-thread event loop (epoll or io_uring) with a binary-heap timer queue.
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
	uint32_t slot; /* private (loop_uring.c): 1 + its registration's index, 0 if none */
};

/* The I/O backend of a loop. AUTO: io_uring when the kernel lets this process set up a ring
 * (io_uring_setup(2) fails with ENOSYS on old kernels, EPERM under a seccomp profile that
 * forbids it or with sysctl kernel.io_uring_disabled=2), else epoll. */
enum loop_backend { LOOP_IO_AUTO, LOOP_IO_EPOLL, LOOP_IO_URING };

/* Create an epoll loop into *out. Returns 0 or a negative errno. */
int loop_new(struct loop **out);
/* Create a loop with backend b into *out (AUTO: see enum loop_backend). Returns 0 or a
 * negative errno (LOOP_IO_URING: the errno of io_uring_queue_init_params(3) or
 * io_uring_register_buf_ring(3); -EOPNOTSUPP before Linux 6.0, which lacks multishot recv). */
int loop_new_backend(struct loop **out, enum loop_backend b);
/* Whether backend b can be used here: 0, or the negative errno that stops it (AUTO and
 * EPOLL: always 0). Sets up and frees a small ring for LOOP_IO_URING. */
int loop_backend_probe(enum loop_backend b);
/* The backend a loop uses (never AUTO), and a backend's name ("epoll", "io_uring",
 * "auto"). */
enum loop_backend loop_backend_of(const struct loop *l);
const char *loop_backend_name(enum loop_backend b);
/* Free the loop (does not close registered fds); accepts NULL. */
void loop_free(struct loop *l);

/* Register io->fd for events (EPOLLIN/EPOLLOUT/EPOLLET/EPOLLRDHUP...) with io as the
 * callback. Returns 0 or a negative errno. */
int loop_add_fd(struct loop *l, struct loop_io *io, uint32_t events);
int loop_mod_fd(struct loop *l, struct loop_io *io, uint32_t events);
/* Unregister io (the fd stays open). */
void loop_del_fd(struct loop *l, struct loop_io *io);
/* Forget io because its fd is about to be closed: epoll does nothing (closing the fd
 * unregisters it); io_uring cancels the requests of io (their late completions are dropped,
 * so io may be reused or freed at once) and returns its unread stream buffers. Call it
 * before close(2); harmless when io is not registered. */
void loop_release_fd(struct loop *l, struct loop_io *io);

/* --- streams: completion-based socket I/O (io_uring only) --------------------------------
 * A connected TCP socket registered with loop_add_fd can be switched to a stream: the loop
 * then receives into its provided-buffer ring with one multishot recv per socket
 * (io_uring_prep_recv_multishot(3), io_uring_register_buf_ring(3)) and calls io->fn with
 * EPOLLIN (| EPOLLRDHUP at EOF, | EPOLLERR on an error) each turn that brought something;
 * it sends with IORING_OP_SEND (io_uring_prep_send(3)), submitted with the turn's other
 * requests by one io_uring_enter(2). Edge-triggered: EPOLLIN is not repeated for bytes
 * left unread. */

/* Whether this loop offers streams (io_uring). */
bool loop_has_streams(const struct loop *l);
/* Switch registered io (a connected TCP socket) from readiness to a stream. Returns 0 or
 * a negative errno (-EOPNOTSUPP on epoll). */
int loop_stream_start(struct loop *l, struct loop_io *io);
/* Copy up to len received bytes into buf. Returns the count (> 0), 0 at EOF (once the
 * bytes before it are read), -EAGAIN when nothing is there yet, or the socket's negative
 * errno (recv's, or a failed or short send's). */
long loop_stream_read(struct loop *l, struct loop_io *io, char *buf, size_t len);
/* Whether loop_stream_read would return something other than -EAGAIN. */
bool loop_stream_readable(const struct loop *l, const struct loop_io *io);
/* Queue a send of buf[0, len) (MSG_WAITALL | MSG_NOSIGNAL) and return len: the bytes
 * count as written. buf must stay unchanged until the request is answered, the socket
 * released, or this call made again. A send that fails or comes out short is reported by
 * loop_stream_read (EPOLLERR). -EAGAIN while a previous send is in flight (EPOLLOUT comes
 * when it completes). */
long loop_stream_send(struct loop *l, struct loop_io *io, const char *buf, size_t len);
/* A send queued on io is not out when loop_stream_send returns: have the loop write the
 * time its completion is seen (monotonic µs, now_us) into *at, so that a request's
 * sending phase ends when its last byte went to the kernel (for a body larger than the
 * socket buffers, when the server has read most of it), not when it was queued. NULL
 * forgets an earlier *at. Returns whether a send is still in flight (with epoll, where a
 * write is done when it returns: always false). *at must stay valid until the send
 * completes, io is released, or this is called again. */
bool loop_stream_sent_at(struct loop *l, struct loop_io *io, int64_t *at);

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
 * and every expired timer. io_uring submits what the previous turn queued with this wait,
 * in one io_uring_enter(2). Returns 0 or a negative errno. */
int loop_run_once(struct loop *l, int64_t max_wait_us);

/* The loop's cached monotonic time in µs, refreshed after each wait. */
int64_t loop_now(const struct loop *l);
/* Refresh the cached time and return it. */
int64_t loop_update_time(struct loop *l);
/* Number of armed timers. */
int loop_timer_count(const struct loop *l);

#endif
