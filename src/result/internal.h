/* internal.h: what the result module files share: the arena that owns a result. */
#ifndef STAMPEDE_RESULT_INTERNAL_H
#define STAMPEDE_RESULT_INTERNAL_H

#include <stddef.h>

#include "result/result.h"

/* A result's allocations: freed all at once by result_free(). */
struct result_arena;

/* A new, empty result with its arena; options is an empty object. */
struct result *result_new(void);
/* size zeroed bytes owned by r (aborts on OOM, like xcalloc). */
void *result_alloc(struct result *r, size_t size);
/* A copy of s owned by r (NULL stays NULL), with bytes that are not UTF-8 replaced by
 * U+FFFD (tags, names and messages come from scripts and servers). */
const char *result_strdup(struct result *r, const char *s);

#endif
