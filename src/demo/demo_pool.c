/* demo_pool.c: fixed pool of worker threads behind a bounded FIFO queue. */
#include "demo/demo_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

#include "util/common.h"

struct demo_pool_thread {
	struct demo_pool *pool;
	pthread_t tid;
	int index;
};

struct demo_pool {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	void **ring;     /* workers + queue slots: every admitted item fits */
	int cap;         /* ring slots */
	int head, count; /* count: items queued, not yet taken */
	int running;     /* items taken and being run */
	int limit;       /* most items admitted at once (queued + running) */
	_Atomic bool stopping;
	demo_pool_fn fn;
	void *ud;
	int nthreads;
	struct demo_pool_thread *threads;
};

static void *pool_main(void *arg)
{
	struct demo_pool_thread *t = arg;
	struct demo_pool *p = t->pool;

	/* precise simulated latencies: wake from sleeps within microseconds, not 50 µs */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	pthread_setname_np(pthread_self(), "demo-worker");
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->count == 0 && !atomic_load(&p->stopping))
			pthread_cond_wait(&p->nonempty, &p->lock);
		if (atomic_load(&p->stopping))
			break;
		void *item = p->ring[p->head];
		p->head = (p->head + 1) % p->cap;
		p->count--;
		p->running++;
		pthread_mutex_unlock(&p->lock);
		p->fn(p->ud, item, t->index);
		pthread_mutex_lock(&p->lock);
		p->running--;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int demo_pool_create(int workers, int queue, demo_pool_fn fn, void *ud, struct demo_pool **out)
{
	struct demo_pool *p = xcalloc(1, sizeof(*p));
	int rc = 0;

	if (workers < 1 || queue < 0) {
		free(p);
		return -EINVAL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->nonempty, NULL);
	p->limit = workers + queue;
	p->cap = p->limit;
	p->ring = xcalloc((size_t)p->cap, sizeof(*p->ring));
	p->fn = fn;
	p->ud = ud;
	p->threads = xcalloc((size_t)workers, sizeof(*p->threads));
	for (int i = 0; i < workers; i++) {
		p->threads[i].pool = p;
		p->threads[i].index = i;
		rc = -pthread_create(&p->threads[i].tid, NULL, pool_main, &p->threads[i]);
		if (rc < 0)
			break;
		p->nthreads++;
	}
	if (rc < 0) {
		demo_pool_destroy(p);
		return rc;
	}
	*out = p;
	return 0;
}

bool demo_pool_submit(struct demo_pool *p, void *item)
{
	bool ok = false;

	pthread_mutex_lock(&p->lock);
	if (p->count + p->running < p->limit && !atomic_load(&p->stopping)) {
		p->ring[(p->head + p->count) % p->cap] = item;
		p->count++;
		ok = true;
		pthread_cond_signal(&p->nonempty);
	}
	pthread_mutex_unlock(&p->lock);
	return ok;
}

int demo_pool_waiting(struct demo_pool *p)
{
	pthread_mutex_lock(&p->lock);
	int n = p->count;
	pthread_mutex_unlock(&p->lock);
	return n;
}

int demo_pool_busy(struct demo_pool *p)
{
	pthread_mutex_lock(&p->lock);
	int n = p->running;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void demo_pool_sleep(struct demo_pool *p, int64_t us)
{
	if (us > 0)
		demo_pool_sleep_until(p, now_us() + us);
}

void demo_pool_sleep_until(struct demo_pool *p, int64_t end)
{
	struct timespec ts;

	while (!(p && atomic_load_explicit(&p->stopping, memory_order_relaxed))) {
		int64_t left = end - now_us();
		if (left <= 0)
			return;
		/* slices of at most 50 ms so a stopping pool is noticed */
		int64_t until = left > 50000 ? now_us() + 50000 : end;
		ts.tv_sec = until / USEC_PER_SEC;
		ts.tv_nsec = (until % USEC_PER_SEC) * NSEC_PER_USEC;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
}

void demo_pool_destroy(struct demo_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	atomic_store(&p->stopping, true);
	pthread_cond_broadcast(&p->nonempty);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i].tid, NULL);
	pthread_cond_destroy(&p->nonempty);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p->ring);
	free(p);
}
