/* demo_cache.h: cache-aside with a TTL and request coalescing (one load per cold key). */
#ifndef STAMPEDE_DEMO_CACHE_H
#define STAMPEDE_DEMO_CACHE_H

#include <stdint.h>

struct demo_cache;

enum demo_cache_result {
	DEMO_CACHE_HIT,       /* a fresh value was there */
	DEMO_CACHE_COALESCED, /* another caller was loading it; waited for its value */
	DEMO_CACHE_LOAD,      /* the caller must load the value and demo_cache_fill() it */
};

/* A cache for the keys 1..nkeys (other keys are never cached). */
struct demo_cache *demo_cache_new(uint32_t nkeys);
/* Free; NULL is accepted. No caller may be inside demo_cache_get(). */
void demo_cache_free(struct demo_cache *c);

/*
 * Look key up at time now (µs). A fresh entry: DEMO_CACHE_HIT and *value. A missing or
 * expired one: the first caller gets DEMO_CACHE_LOAD and must call demo_cache_fill(); the
 * callers that come while it loads wait for it and get DEMO_CACHE_COALESCED and its
 * value. Keys outside 1..nkeys always give DEMO_CACHE_LOAD (and need no fill).
 */
enum demo_cache_result demo_cache_get(struct demo_cache *c, uint32_t key, int64_t now,
                                      int32_t *value);

/* Store the loaded value of key, fresh until expires (µs), and wake the waiters. */
void demo_cache_fill(struct demo_cache *c, uint32_t key, int32_t value, int64_t expires);

/* Forget every value (loads in progress still complete and wake their waiters). */
void demo_cache_flush(struct demo_cache *c);

#endif
