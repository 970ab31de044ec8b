/* demo_pool.h: fixed pool of worker threads behind a bounded FIFO queue. */
#ifndef STAMPEDE_DEMO_POOL_H
#define STAMPEDE_DEMO_POOL_H

#include <stdbool.h>
#include <stdint.h>

struct demo_pool;

/* Runs an item on worker number worker (0 .. workers-1). */
typedef void (*demo_pool_fn)(void *ud, void *item, int worker);

/* Start workers threads taking items from a queue in which at most queue items wait for
 * a worker. Returns 0 and *out, or a negative errno. */
int demo_pool_create(int workers, int queue, demo_pool_fn fn, void *ud, struct demo_pool **out);

/* Hand an item to the pool. Returns false, keeping nothing, when every worker is busy and
 * the queue is full (the caller answers 503). */
bool demo_pool_submit(struct demo_pool *p, void *item);

/* Items waiting in the queue / items being run now. */
int demo_pool_waiting(struct demo_pool *p);
int demo_pool_busy(struct demo_pool *p);

/* Sleep for us microseconds on a worker thread; returns early once the pool is stopping. */
void demo_pool_sleep(struct demo_pool *p, int64_t us);
/* Sleep until end_us (now_us()'s monotonic clock), as demo_pool_sleep. */
void demo_pool_sleep_until(struct demo_pool *p, int64_t end_us);

/* Stop: the workers finish the item they run (sleeps return early) and exit; items still
 * queued are dropped (their owner frees them). Joins the threads and frees p; NULL is
 * accepted. */
void demo_pool_destroy(struct demo_pool *p);

#endif
