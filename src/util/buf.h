/* buf.h: a growable byte buffer, reused across requests (no allocation once warm). */
#ifndef STAMPEDE_BUF_H
#define STAMPEDE_BUF_H

#include <stddef.h>

/* p is NUL-terminated after every add (p[len] == '\0') once anything was added; a zeroed
 * struct is an empty buffer. */
struct buf {
	char *p;
	size_t len, cap;
};

/* Make room for extra more bytes (plus the terminating NUL). Aborts on out-of-memory. */
void buf_reserve(struct buf *b, size_t extra);
/* Append n bytes of p (may contain NULs). */
void buf_add(struct buf *b, const void *p, size_t n);
/* Append the C string s. */
void buf_addstr(struct buf *b, const char *s);
/* Append printf(fmt, ...); any length (a long piece is formatted again in place). */
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Release b's memory and zero it; accepts a zeroed struct. */
void buf_free(struct buf *b);

#endif
