/* demo_buf.h: growable byte buffer for the demo server's requests, responses and JSON. */
#ifndef STAMPEDE_DEMO_BUF_H
#define STAMPEDE_DEMO_BUF_H

#include <stddef.h>

/* A zeroed struct is an empty buffer; the memory is kept across demo_buf_reset() so a
 * connection's buffers are allocated once and reused by every request. */
struct demo_buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Make room for n more bytes (aborts on out-of-memory). */
void demo_buf_reserve(struct demo_buf *b, size_t n);
/* Append n bytes / a NUL-terminated string / formatted text. */
void demo_buf_append(struct demo_buf *b, const void *s, size_t n);
void demo_buf_puts(struct demo_buf *b, const char *s);
void demo_buf_printf(struct demo_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal (quoted, escaped; bytes >= 0x80 are passed through). */
void demo_buf_json_str(struct demo_buf *b, const char *s, size_t n);
/* Forget the contents, keep the memory. */
void demo_buf_reset(struct demo_buf *b);
/* Release the memory when it has grown past keep bytes (so a spike does not pin it). */
void demo_buf_shrink(struct demo_buf *b, size_t keep);
/* Release the memory; the buffer is empty afterwards. Accepts an empty buffer. */
void demo_buf_free(struct demo_buf *b);

#endif
