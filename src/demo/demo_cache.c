/* demo_cache.c: cache-aside with a TTL and request coalescing (one load per cold key). */
#include "demo/demo_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util/common.h"

enum { E_EMPTY, E_LOADING, E_READY };

struct entry {
	uint8_t state;
	uint32_t gen;   /* generation of the flush epoch it was filled in */
	uint32_t loads; /* bumped by every fill, so waiters see their load end */
	int32_t value;
	int64_t expires;
};

struct demo_cache {
	pthread_mutex_t lock;
	pthread_cond_t filled;
	uint32_t gen;
	uint32_t nkeys;
	struct entry *e; /* e[key - 1] */
};

struct demo_cache *demo_cache_new(uint32_t nkeys)
{
	struct demo_cache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->filled, NULL);
	c->nkeys = nkeys;
	c->e = xcalloc(nkeys ? nkeys : 1, sizeof(*c->e));
	return c;
}

void demo_cache_free(struct demo_cache *c)
{
	if (!c)
		return;
	pthread_cond_destroy(&c->filled);
	pthread_mutex_destroy(&c->lock);
	free(c->e);
	free(c);
}

enum demo_cache_result demo_cache_get(struct demo_cache *c, uint32_t key, int64_t now,
                                      int32_t *value)
{
	enum demo_cache_result r = DEMO_CACHE_LOAD;

	if (key < 1 || key > c->nkeys)
		return DEMO_CACHE_LOAD;
	struct entry *e = &c->e[key - 1];
	pthread_mutex_lock(&c->lock);
	if (e->state == E_READY && e->gen == c->gen && now < e->expires) {
		*value = e->value;
		r = DEMO_CACHE_HIT;
	} else if (e->state == E_LOADING) {
		uint32_t loads = e->loads;
		while (e->state == E_LOADING && e->loads == loads)
			pthread_cond_wait(&c->filled, &c->lock);
		*value = e->value;
		r = DEMO_CACHE_COALESCED;
	} else {
		e->state = E_LOADING;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

void demo_cache_fill(struct demo_cache *c, uint32_t key, int32_t value, int64_t expires)
{
	if (key < 1 || key > c->nkeys)
		return;
	struct entry *e = &c->e[key - 1];
	pthread_mutex_lock(&c->lock);
	e->state = E_READY;
	e->gen = c->gen;
	e->loads++;
	e->value = value;
	e->expires = expires;
	pthread_cond_broadcast(&c->filled);
	pthread_mutex_unlock(&c->lock);
}

void demo_cache_flush(struct demo_cache *c)
{
	pthread_mutex_lock(&c->lock);
	c->gen++;
	pthread_mutex_unlock(&c->lock);
}
