/* loop_uring.c: the io_uring backend of the event loop (liburing): readiness through
 * IORING_OP_POLL_ADD, and streams (loop.h) through one multishot recv per socket into a
 * provided-buffer ring plus IORING_OP_SEND. Every request a turn queues goes to the kernel
 * with the turn's wait, in one io_uring_enter(2) (io_uring_submit_and_wait_timeout(3)).
 *
 * Requests carry (registration index, generation, kind) in their user_data, never a
 * pointer: a registration released while requests are in flight gets a new generation,
 * so their late completions are recognised and dropped (their buffers returned), and the
 * loop_io may be reused or freed at once. */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "engine/loop_int.h"
#include "util/common.h"

/* Ring sizes: a turn that queues more than UR_SQ_ENTRIES requests submits early (one more
 * io_uring_enter); completions past UR_CQ_ENTRIES wait in the kernel's overflow list
 * (IORING_FEAT_NODROP). Both rings are mapped into the process and count in its RSS. */
#define UR_SQ_ENTRIES 256
#define UR_CQ_ENTRIES 4096
/* The provided-buffer ring: each received chunk takes one buffer until it is read. 256 x
 * 4 KiB = 1 MiB per worker (all of it resident once the ring has gone round); a connection
 * reads its chunks in the turn they arrive (or the next ones, past its read budget), so
 * buffers run out only when more than 256 chunks arrive in one turn: then the recvs that
 * found none end with ENOBUFS and are re-armed once buffers come back. */
#define UR_BUF_COUNT 256
#define UR_BUF_SIZE  4096
#define UR_BGID      0

/* What a request's user_data says: kind (2 bits), poll sequence (8), index (22), gen (32). */
enum ur_kind { K_IGNORE, K_POLL, K_RECV, K_SEND };
#define UD_IDX_MAX (1u << 22)

/* A registered fd. */
struct uslot {
	struct loop_io *io; /* NULL while free */
	uint32_t gen;
	uint32_t events; /* as registered (epoll flags) */
	uint8_t pseq;    /* the current poll request's sequence */
	bool poll_armed, stream, recv_armed, send_inflight, want_out, rearm_queued, eof;
	int err;           /* stream: a positive errno from recv or send, 0 while none */
	uint32_t send_len; /* the send in flight */
	int64_t *sent_at;  /* loop_stream_sent_at: set when the send in flight completes */
	int qhead, qtail;  /* stream: received chunks (buffer ids), -1 when none */
	uint32_t qoff;     /* bytes of the head chunk already read */
	uint32_t next_free;
};

struct ubuf {
	uint32_t len;
	int next;
};

struct loop_uring {
	struct io_uring ring;
	bool enabled; /* false until the first wait of a ring set up disabled */
	struct io_uring_buf_ring *br;
	char *bufs;
	int bufs_free; /* buffers the kernel may pick */
	struct ubuf meta[UR_BUF_COUNT];
	struct uslot *slots;
	uint32_t nslots, cap, free_head; /* free_head: 1 + index, 0 when none */
	uint64_t *rearm;                 /* (gen << 32 | index) of slots to arm again */
	int nrearm, rearm_cap;
	struct loop_io ready; /* sentinel: ios with events this turn */
};

static uint64_t ud_of(enum ur_kind k, uint32_t idx, const struct uslot *s)
{
	return ((uint64_t)s->gen << 32) | ((uint64_t)idx << 10) | ((uint64_t)s->pseq << 2) | k;
}

/* IORING_REGISTER_ENABLE_RINGS (io_uring_register(2)): liburing 2.3 declares
 * io_uring_enable_rings() but does not export it. The calling thread becomes the ring's
 * single issuer. Returns 0 or a negative errno. */
static int ur_enable(struct loop_uring *u)
{
	if (u->enabled)
		return 0;
	if (syscall(__NR_io_uring_register, u->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL,
	            0) < 0)
		return -errno;
	u->enabled = true;
	return 0;
}

/* A free SQE; when the submission queue is full, what it holds is submitted first. NULL
 * when that fails: called from a thread other than the ring's issuer (a loop torn down
 * after its thread ended, whose requests the kernel cancelled when the thread exited). */
static struct io_uring_sqe *ur_sqe(struct loop_uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (!sqe && ur_enable(u) == 0 && io_uring_submit(&u->ring) > 0)
		sqe = io_uring_get_sqe(&u->ring);
	return sqe;
}

static void buf_recycle(struct loop_uring *u, int bid)
{
	io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * UR_BUF_SIZE, UR_BUF_SIZE,
	                      (unsigned short)bid, io_uring_buf_ring_mask(UR_BUF_COUNT), 0);
	io_uring_buf_ring_advance(u->br, 1);
	u->bufs_free++;
}

static struct uslot *slot_of(struct loop_uring *u, const struct loop_io *io)
{
	return io->slot ? &u->slots[io->slot - 1] : NULL;
}

static void queue_rearm(struct loop_uring *u, uint32_t idx)
{
	struct uslot *s = &u->slots[idx];
	if (s->rearm_queued)
		return;
	if (u->nrearm == u->rearm_cap) {
		u->rearm_cap = u->rearm_cap ? 2 * u->rearm_cap : 64;
		u->rearm = xrealloc(u->rearm, (size_t)u->rearm_cap * sizeof(*u->rearm));
	}
	u->rearm[u->nrearm++] = ((uint64_t)s->gen << 32) | idx;
	s->rearm_queued = true;
}

/* Readiness: multishot for edge-triggered registrations (a multishot poll completes once
 * per wake-up, as EPOLLET reports), one-shot re-armed after each dispatch otherwise (so a
 * still-ready fd fires again: level-triggered). io_uring_prep_poll_multishot(3). */
static void arm_poll(struct loop_uring *u, uint32_t idx)
{
	struct uslot *s = &u->slots[idx];
	struct io_uring_sqe *sqe = ur_sqe(u);
	if (!sqe) {
		queue_rearm(u, idx);
		return;
	}
	unsigned mask =
	    s->events & (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLERR | EPOLLHUP);
	if (s->events & EPOLLET)
		io_uring_prep_poll_multishot(sqe, s->io->fd, mask);
	else
		io_uring_prep_poll_add(sqe, s->io->fd, mask);
	io_uring_sqe_set_data64(sqe, ud_of(K_POLL, idx, s));
	s->poll_armed = true;
}

static void cancel_poll(struct loop_uring *u, uint32_t idx)
{
	struct uslot *s = &u->slots[idx];
	if (!s->poll_armed)
		return;
	struct io_uring_sqe *sqe = ur_sqe(u);
	if (sqe) {
		io_uring_prep_poll_remove(sqe, ud_of(K_POLL, idx, s));
		io_uring_sqe_set_data64(sqe, K_IGNORE);
	}
	s->poll_armed = false;
	s->pseq++; /* the removed poll's last completion is stale */
}

/* io_uring_prep_recv_multishot(3) with IOSQE_BUFFER_SELECT from the loop's buffer group. */
static void arm_recv(struct loop_uring *u, uint32_t idx)
{
	struct uslot *s = &u->slots[idx];
	struct io_uring_sqe *sqe = ur_sqe(u);
	if (!sqe) {
		queue_rearm(u, idx);
		return;
	}
	io_uring_prep_recv_multishot(sqe, s->io->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = UR_BGID;
	io_uring_sqe_set_data64(sqe, ud_of(K_RECV, idx, s));
	s->recv_armed = true;
}

static void cancel_req(struct loop_uring *u, enum ur_kind k, uint32_t idx)
{
	struct io_uring_sqe *sqe = ur_sqe(u);
	if (!sqe)
		return; /* released anyway: its late completions are stale */
	io_uring_prep_cancel64(sqe, ud_of(k, idx, &u->slots[idx]), 0);
	io_uring_sqe_set_data64(sqe, K_IGNORE);
}

static void ur_free(struct loop *l)
{
	struct loop_uring *u = l->be;
	io_uring_queue_exit(&u->ring);
	free(u->br);
	free(u->bufs);
	free(u->slots);
	free(u->rearm);
	free(u);
}

static int ur_add(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct loop_uring *u = l->be;
	uint32_t idx;
	if (io->slot)
		return -EEXIST;
	if (u->free_head) {
		idx = u->free_head - 1;
		u->free_head = u->slots[idx].next_free;
	} else {
		if (u->nslots == UD_IDX_MAX)
			return -ENOSPC;
		if (u->nslots == u->cap) {
			u->cap = u->cap ? 2 * u->cap : 64;
			u->slots = xrealloc(u->slots, (size_t)u->cap * sizeof(*u->slots));
		}
		idx = u->nslots++;
		u->slots[idx].gen = 0;
	}
	struct uslot *s = &u->slots[idx];
	*s = (struct uslot){ .io = io, .gen = s->gen, .events = events, .qhead = -1, .qtail = -1 };
	io->slot = idx + 1;
	arm_poll(u, idx);
	return 0;
}

static int ur_mod(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct loop_uring *u = l->be;
	struct uslot *s = slot_of(u, io);
	if (!s)
		return -ENOENT;
	s->events = events;
	if (s->stream)
		return 0;
	cancel_poll(u, io->slot - 1);
	arm_poll(u, io->slot - 1);
	return 0;
}

static void ur_release(struct loop *l, struct loop_io *io)
{
	struct loop_uring *u = l->be;
	struct uslot *s = slot_of(u, io);
	if (!s)
		return;
	uint32_t idx = io->slot - 1;
	cancel_poll(u, idx);
	if (s->recv_armed)
		cancel_req(u, K_RECV, idx);
	if (s->send_inflight) {
		/* The send counted as written: make it so before the socket goes (the loop may
		 * not turn again, at a hard stop). One io_uring_enter(2), only when a connection
		 * closes with its request just queued; fails harmlessly off the issuer thread. */
		s->sent_at = NULL; /* its request is being finished */
		io_uring_submit(&u->ring);
		cancel_req(u, K_SEND, idx);
	}
	while (s->qhead >= 0) {
		int bid = s->qhead;
		s->qhead = u->meta[bid].next;
		buf_recycle(u, bid);
	}
	s->sent_at = NULL;
	s->io = NULL;
	s->gen++;
	s->rearm_queued = false;
	s->next_free = u->free_head;
	u->free_head = idx + 1;
	io->slot = 0;
}

/* Arm again what ended: polls (one-shot, or a multishot the kernel stopped) and recvs
 * (ended by ENOBUFS: once buffers are back). */
static void run_rearm(struct loop_uring *u)
{
	int keep = 0;
	for (int i = 0; i < u->nrearm; i++) {
		uint32_t idx = (uint32_t)u->rearm[i];
		struct uslot *s = &u->slots[idx];
		if (!s->io || s->gen != (uint32_t)(u->rearm[i] >> 32))
			continue;
		if (s->stream) {
			if (s->recv_armed || s->eof || s->err) {
				s->rearm_queued = false;
				continue;
			}
			if (u->bufs_free == 0) {
				u->rearm[keep++] = u->rearm[i];
				continue;
			}
			arm_recv(u, idx);
		} else if (!s->poll_armed) {
			arm_poll(u, idx);
		}
		s->rearm_queued = false;
	}
	u->nrearm = keep;
}

static int ur_wait(struct loop *l, int64_t wait)
{
	struct loop_uring *u = l->be;
	run_rearm(u);
	int rc = ur_enable(u); /* the thread that runs the loop becomes its single issuer */
	if (rc < 0)
		return rc;
	struct __kernel_timespec ts = { .tv_sec = wait / USEC_PER_SEC,
		                        .tv_nsec = (wait % USEC_PER_SEC) * NSEC_PER_USEC };
	struct io_uring_cqe *cqe;
	rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
	if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN)
		return rc;
	return 0;
}

static void deliver(struct loop_uring *u, struct uslot *s, uint32_t events)
{
	loop_list_push(&u->ready, s->io, events);
}

static void on_recv(struct loop_uring *u, uint32_t idx, const struct io_uring_cqe *cqe)
{
	struct uslot *s = &u->slots[idx];
	bool buffered = cqe->flags & IORING_CQE_F_BUFFER;
	int bid = (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
	if (!(cqe->flags & IORING_CQE_F_MORE))
		s->recv_armed = false;
	if (cqe->res > 0 && buffered) {
		u->meta[bid] = (struct ubuf){ .len = (uint32_t)cqe->res, .next = -1 };
		if (s->qtail >= 0)
			u->meta[s->qtail].next = bid;
		else
			s->qhead = bid;
		s->qtail = bid;
		deliver(u, s, EPOLLIN);
	} else {
		if (buffered)
			buf_recycle(u, bid);
		if (cqe->res == 0) {
			s->eof = true;
			deliver(u, s, EPOLLIN | EPOLLRDHUP);
		} else if (cqe->res < 0 && cqe->res != -ENOBUFS && cqe->res != -ECANCELED) {
			s->err = -cqe->res;
			deliver(u, s, EPOLLIN | EPOLLERR);
		}
	}
	if (!s->recv_armed)
		queue_rearm(u, idx);
}

static void on_send(struct loop_uring *u, struct uslot *s, const struct io_uring_cqe *cqe)
{
	s->send_inflight = false;
	if (s->sent_at) { /* loop_stream_sent_at: the request's bytes are all out now */
		*s->sent_at = now_us();
		s->sent_at = NULL;
	}
	if (cqe->res < 0 || (uint32_t)cqe->res < s->send_len) {
		if (!s->err)
			s->err = cqe->res < 0 ? -cqe->res : EPIPE;
		deliver(u, s, EPOLLIN | EPOLLERR);
	}
	if (s->want_out) {
		s->want_out = false;
		deliver(u, s, EPOLLOUT);
	}
}

static void on_cqe(struct loop_uring *u, const struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;
	enum ur_kind kind = (enum ur_kind)(ud & 3);
	uint32_t idx = (uint32_t)(ud >> 10) & (UD_IDX_MAX - 1);
	bool buffered = cqe->flags & IORING_CQE_F_BUFFER;
	if (buffered)
		u->bufs_free--;
	struct uslot *s = kind != K_IGNORE && idx < u->nslots ? &u->slots[idx] : NULL;
	if (!s || !s->io || s->gen != (uint32_t)(ud >> 32)) { /* released meanwhile */
		if (buffered)
			buf_recycle(u, (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
		return;
	}
	switch (kind) {
	case K_POLL:
		if (s->stream || (uint8_t)(ud >> 2) != s->pseq)
			return;
		if (!(cqe->flags & IORING_CQE_F_MORE)) {
			s->poll_armed = false;
			queue_rearm(u, idx);
		}
		if (cqe->res > 0)
			deliver(u, s, (uint32_t)cqe->res);
		return;
	case K_RECV:
		on_recv(u, idx, cqe);
		return;
	case K_SEND:
		on_send(u, s, cqe);
		return;
	default:
		return;
	}
}

static void ur_dispatch(struct loop *l)
{
	struct loop_uring *u = l->be;
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	io_uring_for_each_cqe(&u->ring, head, cqe)
	{
		on_cqe(u, cqe);
		n++;
	}
	io_uring_cq_advance(&u->ring, n);
	loop_list_run(l, &u->ready);
}

static const struct loop_backend_ops uring_ops = {
	.name = "io_uring",
	.free = ur_free,
	.add = ur_add,
	.mod = ur_mod,
	.del = ur_release,
	.release = ur_release,
	.wait = ur_wait,
	.dispatch = ur_dispatch,
};

/* Set up the ring with the cheapest task-work mode this kernel has: DEFER_TASKRUN (6.1;
 * needs SINGLE_ISSUER, so the ring starts disabled and the thread that first waits on it
 * enables it), else COOP_TASKRUN (5.19), else neither (io_uring_setup(2)). Only EINVAL
 * (an unknown flag) tries the next; any other error is io_uring's answer. */
static int ring_setup(struct loop_uring *u)
{
	static const unsigned modes[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	int rc = -EINVAL;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]) && rc == -EINVAL; i++) {
		struct io_uring_params p = {
			.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | modes[i],
			.cq_entries = UR_CQ_ENTRIES,
		};
		rc = io_uring_queue_init_params(UR_SQ_ENTRIES, &u->ring, &p);
		if (rc == 0) {
			u->enabled = !(modes[i] & IORING_SETUP_R_DISABLED);
			if (!(p.features &
			      IORING_FEAT_EXT_ARG)) { /* 5.11: timed waits in one call */
				io_uring_queue_exit(&u->ring);
				return -EOPNOTSUPP;
			}
		}
	}
	return rc;
}

/* The provided-buffer ring (io_uring_register_buf_ring(3), 5.19), filled. */
static int bufs_setup(struct loop_uring *u)
{
	size_t ring_bytes = UR_BUF_COUNT * sizeof(struct io_uring_buf);
	if (posix_memalign((void **)&u->br, 4096, ring_bytes))
		return -ENOMEM;
	u->bufs = xmalloc((size_t)UR_BUF_COUNT * UR_BUF_SIZE);
	struct io_uring_buf_reg reg = {
		.ring_addr = (unsigned long)u->br,
		.ring_entries = UR_BUF_COUNT,
		.bgid = UR_BGID,
	};
	int rc = io_uring_register_buf_ring(&u->ring, &reg, 0);
	if (rc < 0)
		return rc;
	io_uring_buf_ring_init(u->br);
	for (int i = 0; i < UR_BUF_COUNT; i++)
		buf_recycle(u, i);
	return 0;
}

/* Multishot recv needs Linux 6.0 (io_uring_prep_recv_multishot(3)); older kernels would
 * take the request and fail it with EINVAL on every connection. */
static bool kernel_has_multishot_recv(void)
{
	struct utsname un;
	int major = 0;
	if (uname(&un) < 0 || sscanf(un.release, "%d.", &major) != 1)
		return false;
	return major >= 6;
}

int loop_uring_init(struct loop *l)
{
	if (!kernel_has_multishot_recv())
		return -EOPNOTSUPP;
	struct loop_uring *u = xcalloc(1, sizeof(*u));
	int rc = ring_setup(u);
	if (rc < 0) {
		free(u);
		return rc;
	}
	rc = bufs_setup(u);
	if (rc < 0) {
		io_uring_queue_exit(&u->ring);
		free(u->br);
		free(u->bufs);
		free(u);
		return rc;
	}
	loop_list_init(&u->ready);
	l->be = u;
	l->ops = &uring_ops;
	l->backend = LOOP_IO_URING;
	return 0;
}

int loop_uring_probe(void)
{
	struct loop l = { 0 };
	int rc = loop_uring_init(&l);
	if (rc == 0)
		ur_free(&l);
	return rc;
}

/* --- streams --------------------------------------------------------------------- */

bool loop_has_streams(const struct loop *l)
{
	return l->backend == LOOP_IO_URING;
}

int loop_stream_start(struct loop *l, struct loop_io *io)
{
	if (l->backend != LOOP_IO_URING)
		return -EOPNOTSUPP;
	struct loop_uring *u = l->be;
	struct uslot *s = slot_of(u, io);
	if (!s)
		return -ENOENT;
	if (s->stream)
		return 0;
	cancel_poll(u, io->slot - 1);
	s->stream = true;
	arm_recv(u, io->slot - 1);
	return 0;
}

long loop_stream_read(struct loop *l, struct loop_io *io, char *buf, size_t len)
{
	struct loop_uring *u = l->be;
	struct uslot *s = l->backend == LOOP_IO_URING ? slot_of(u, io) : NULL;
	if (!s)
		return -EBADF;
	size_t n = 0;
	while (n < len && s->qhead >= 0) {
		int bid = s->qhead;
		struct ubuf *b = &u->meta[bid];
		size_t take = MIN(len - n, b->len - s->qoff);
		memcpy(buf + n, u->bufs + (size_t)bid * UR_BUF_SIZE + s->qoff, take);
		n += take;
		s->qoff += (uint32_t)take;
		if (s->qoff == b->len) {
			s->qhead = b->next;
			if (s->qhead < 0)
				s->qtail = -1;
			s->qoff = 0;
			buf_recycle(u, bid);
		}
	}
	if (n)
		return (long)n;
	if (s->err)
		return -s->err;
	return s->eof ? 0 : -EAGAIN;
}

bool loop_stream_readable(const struct loop *l, const struct loop_io *io)
{
	if (l->backend != LOOP_IO_URING || !io->slot)
		return false;
	const struct loop_uring *u = l->be;
	const struct uslot *s = &u->slots[io->slot - 1];
	return s->qhead >= 0 || s->eof || s->err;
}

long loop_stream_send(struct loop *l, struct loop_io *io, const char *buf, size_t len)
{
	struct loop_uring *u = l->be;
	struct uslot *s = l->backend == LOOP_IO_URING ? slot_of(u, io) : NULL;
	if (!s)
		return -EBADF;
	if (s->err)
		return -s->err;
	if (s->send_inflight) {
		s->want_out = true;
		return -EAGAIN;
	}
	if (len > (1u << 30))
		len = 1u << 30;
	struct io_uring_sqe *sqe = ur_sqe(u);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_send(sqe, io->fd, buf, len, MSG_NOSIGNAL | MSG_WAITALL);
	io_uring_sqe_set_data64(sqe, ud_of(K_SEND, io->slot - 1, s));
	s->send_inflight = true;
	s->send_len = (uint32_t)len;
	s->sent_at = NULL;
	return (long)len;
}

bool loop_stream_sent_at(struct loop *l, struct loop_io *io, int64_t *at)
{
	if (l->backend != LOOP_IO_URING || !io->slot)
		return false;
	struct loop_uring *u = l->be;
	struct uslot *s = &u->slots[io->slot - 1];
	s->sent_at = s->send_inflight ? at : NULL;
	return s->send_inflight;
}
