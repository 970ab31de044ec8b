/* test_demo_cache.c: the demo server's cache-aside (TTL, flush, coalescing) and worker pool. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "demo/demo_cache.h"
#include "demo/demo_pool.h"
#include "util/common.h"

Test(demo_cache, miss_fill_hit_expire)
{
	struct demo_cache *c = demo_cache_new(10);
	int32_t v = -1;

	cr_assert_eq(demo_cache_get(c, 3, 100, &v), DEMO_CACHE_LOAD);
	demo_cache_fill(c, 3, 33, 200);
	cr_assert_eq(demo_cache_get(c, 3, 150, &v), DEMO_CACHE_HIT);
	cr_assert_eq(v, 33);
	cr_assert_eq(demo_cache_get(c, 3, 200, &v), DEMO_CACHE_LOAD, "expired at its deadline");
	demo_cache_fill(c, 3, 34, 1000);
	cr_assert_eq(demo_cache_get(c, 3, 300, &v), DEMO_CACHE_HIT);
	cr_assert_eq(v, 34);
	demo_cache_flush(c);
	cr_assert_eq(demo_cache_get(c, 3, 300, &v), DEMO_CACHE_LOAD, "flushed");
	demo_cache_fill(c, 3, 35, 1000);
	/* keys out of range are never cached */
	cr_assert_eq(demo_cache_get(c, 0, 1, &v), DEMO_CACHE_LOAD);
	cr_assert_eq(demo_cache_get(c, 11, 1, &v), DEMO_CACHE_LOAD);
	demo_cache_fill(c, 11, 1, 1000);
	cr_assert_eq(demo_cache_get(c, 11, 1, &v), DEMO_CACHE_LOAD);
	demo_cache_free(c);
	demo_cache_free(NULL);
}

struct burst {
	struct demo_cache *cache;
	_Atomic int loads, coalesced, hits;
	pthread_barrier_t go;
};

static void *burst_one(void *arg)
{
	struct burst *b = arg;
	int32_t v = 0;

	pthread_barrier_wait(&b->go);
	switch (demo_cache_get(b->cache, 7, now_us(), &v)) {
	case DEMO_CACHE_LOAD:
		atomic_fetch_add(&b->loads, 1);
		usleep(100000); /* a slow query */
		demo_cache_fill(b->cache, 7, 77, now_us() + 60 * USEC_PER_SEC);
		return NULL;
	case DEMO_CACHE_COALESCED:
		atomic_fetch_add(&b->coalesced, 1);
		break;
	case DEMO_CACHE_HIT:
		atomic_fetch_add(&b->hits, 1);
		break;
	}
	cr_assert_eq(v, 77, "a waiter got %d", v);
	return NULL;
}

Test(demo_cache, a_burst_on_a_cold_key_loads_once)
{
	enum { N = 24 };
	struct burst b = { .cache = demo_cache_new(100) };
	pthread_t t[N];

	pthread_barrier_init(&b.go, NULL, N);
	for (int i = 0; i < N; i++)
		pthread_create(&t[i], NULL, burst_one, &b);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(b.loads, 1);
	cr_assert_eq(b.coalesced + b.hits, N - 1);
	cr_assert_gt(b.coalesced, 0);
	pthread_barrier_destroy(&b.go);
	demo_cache_free(b.cache);
}

struct pool_probe {
	_Atomic int ran;
	_Atomic int release; /* workers block until set */
	struct demo_pool *pool;
};

static void pool_fn(void *ud, void *item, int worker)
{
	struct pool_probe *p = ud;

	cr_assert_geq(worker, 0);
	while (!atomic_load(&p->release))
		demo_pool_sleep(p->pool, 1000);
	atomic_fetch_add(&p->ran, 1);
}

Test(demo_pool, admits_workers_plus_queue_then_refuses)
{
	struct pool_probe p = { 0 };
	struct demo_pool *pool;
	int items[16];

	cr_assert_eq(demo_pool_create(2, 3, pool_fn, &p, &pool), 0);
	p.pool = pool;
	for (int i = 0; i < 5; i++)
		cr_assert(demo_pool_submit(pool, &items[i]), "item %d refused", i);
	cr_assert_not(demo_pool_submit(pool, &items[5]), "admitted past workers + queue");
	int64_t deadline = now_us() + 5 * USEC_PER_SEC;
	while (demo_pool_busy(pool) < 2 && now_us() < deadline)
		usleep(1000);
	cr_assert_eq(demo_pool_busy(pool), 2);
	cr_assert_eq(demo_pool_waiting(pool), 3);
	atomic_store(&p.release, 1);
	while (atomic_load(&p.ran) < 5 && now_us() < deadline)
		usleep(1000);
	cr_assert_eq(atomic_load(&p.ran), 5);
	cr_assert(demo_pool_submit(pool, &items[6]), "room again once they ran");
	demo_pool_destroy(pool);
	demo_pool_destroy(NULL);
}

Test(demo_pool, queue_zero_means_no_waiting)
{
	struct pool_probe p = { 0 };
	struct demo_pool *pool;
	int item;

	cr_assert_eq(demo_pool_create(1, 0, pool_fn, &p, &pool), 0);
	p.pool = pool;
	cr_assert(demo_pool_submit(pool, &item));
	cr_assert_not(demo_pool_submit(pool, &item));
	atomic_store(&p.release, 1);
	demo_pool_destroy(pool);
}

Test(demo_pool, destroy_interrupts_sleeps)
{
	struct pool_probe p = { 0 };
	struct demo_pool *pool;
	int item;

	cr_assert_eq(demo_pool_create(1, 4, pool_fn, &p, &pool), 0);
	p.pool = pool;
	cr_assert(demo_pool_submit(pool, &item));
	cr_assert(demo_pool_submit(pool, &item));
	usleep(20000);
	/* the running item sleeps until released; destroy must not wait for that */
	int64_t start = now_us();
	atomic_store(&p.release, 1);
	demo_pool_destroy(pool);
	cr_assert_lt(now_us() - start, USEC_PER_SEC);
}
