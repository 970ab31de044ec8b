/* loop_int.h: the event loop's private definition, shared by loop.c (timers, pending list)
 * and its I/O backends, loop_epoll.c and loop_uring.c (a fixed static interface, as redis'
 * ae.c and its ae_epoll.c). Nothing outside src/engine/loop*.c includes it. */
#ifndef STAMPEDE_LOOP_INT_H
#define STAMPEDE_LOOP_INT_H

#include "engine/loop.h"

/* What a backend implements. wait blocks up to wait_us (µs; 0: poll) for I/O; dispatch
 * then calls the callbacks of what it found, each io at most once per turn. */
struct loop_backend_ops {
	const char *name;
	void (*free)(struct loop *l);
	int (*add)(struct loop *l, struct loop_io *io, uint32_t events);
	int (*mod)(struct loop *l, struct loop_io *io, uint32_t events);
	void (*del)(struct loop *l, struct loop_io *io);
	void (*release)(struct loop *l, struct loop_io *io);
	int (*wait)(struct loop *l, int64_t wait_us);
	void (*dispatch)(struct loop *l);
};

struct loop {
	const struct loop_backend_ops *ops;
	enum loop_backend backend;
	void *be; /* the backend's state */
	int64_t now;
	struct loop_timer **heap;
	int heap_len;
	int heap_cap;
	struct loop_io pending; /* sentinel of the circular list of pending ios */
};

/* Backend constructors: fill l->ops and l->be; 0 or a negative errno. */
int loop_epoll_init(struct loop *l);
int loop_uring_init(struct loop *l);
int loop_uring_probe(void);

/* List helpers on the pend_prev/pend_next links (one list per io at a time). */
void loop_list_init(struct loop_io *sentinel);
void loop_list_push(struct loop_io *sentinel, struct loop_io *io, uint32_t events);
/* Call and unlink every io of list (an io unlinked meanwhile is not called). */
void loop_list_run(struct loop *l, struct loop_io *list);

#endif
