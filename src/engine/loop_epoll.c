/* loop_epoll.c: the epoll backend of the event loop (readiness only, no streams). */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "engine/loop_int.h"
#include "util/common.h"

#define EPOLL_MAX_EVENTS 256

struct loop_epoll {
	int epfd;
	int n; /* events of the last wait */
	struct epoll_event events[EPOLL_MAX_EVENTS];
};

static void ep_free(struct loop *l)
{
	struct loop_epoll *ep = l->be;
	close(ep->epfd);
	free(ep);
}

static int ep_ctl(struct loop *l, int op, struct loop_io *io, uint32_t events)
{
	struct loop_epoll *ep = l->be;
	struct epoll_event ev = { .events = events, .data.ptr = io };
	return epoll_ctl(ep->epfd, op, io->fd, &ev) < 0 ? -errno : 0;
}

static int ep_add(struct loop *l, struct loop_io *io, uint32_t events)
{
	return ep_ctl(l, EPOLL_CTL_ADD, io, events);
}

static int ep_mod(struct loop *l, struct loop_io *io, uint32_t events)
{
	return ep_ctl(l, EPOLL_CTL_MOD, io, events);
}

static void ep_del(struct loop *l, struct loop_io *io)
{
	ep_ctl(l, EPOLL_CTL_DEL, io, 0);
}

static void ep_release(struct loop *l, struct loop_io *io)
{
	/* close(2) removes the fd from the epoll set (epoll(7)): no syscall needed */
}

static int ep_wait(struct loop *l, int64_t wait)
{
	struct loop_epoll *ep = l->be;
	struct timespec ts = { .tv_sec = wait / USEC_PER_SEC,
		               .tv_nsec = (wait % USEC_PER_SEC) * NSEC_PER_USEC };
	static int have_pwait2 = 1; /* kernels before 5.11 (and valgrind) lack epoll_pwait2 */
	int n;
	bool pwait2 = __atomic_load_n(&have_pwait2, __ATOMIC_RELAXED);
	if (pwait2) {
		n = epoll_pwait2(ep->epfd, ep->events, EPOLL_MAX_EVENTS, &ts, NULL);
		if (n < 0 && errno == ENOSYS) {
			__atomic_store_n(&have_pwait2, 0, __ATOMIC_RELAXED);
			pwait2 = false;
		}
	}
	if (!pwait2) /* millisecond timeouts, rounded up */
		n = epoll_wait(ep->epfd, ep->events, EPOLL_MAX_EVENTS, (int)((wait + 999) / 1000));
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	ep->n = n;
	return 0;
}

static void ep_dispatch(struct loop *l)
{
	struct loop_epoll *ep = l->be;
	for (int i = 0; i < ep->n; i++) {
		struct loop_io *io = ep->events[i].data.ptr;
		io->fn(io->ud, ep->events[i].events);
	}
	ep->n = 0;
}

static const struct loop_backend_ops epoll_ops = {
	.name = "epoll",
	.free = ep_free,
	.add = ep_add,
	.mod = ep_mod,
	.del = ep_del,
	.release = ep_release,
	.wait = ep_wait,
	.dispatch = ep_dispatch,
};

int loop_epoll_init(struct loop *l)
{
	struct loop_epoll *ep = xcalloc(1, sizeof(*ep));
	ep->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ep->epfd < 0) {
		int err = -errno;
		free(ep);
		return err;
	}
	l->be = ep;
	l->ops = &epoll_ops;
	l->backend = LOOP_IO_EPOLL;
	return 0;
}
