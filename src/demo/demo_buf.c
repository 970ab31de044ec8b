/* demo_buf.c: growable byte buffer for the demo server's requests, responses and JSON. */
#include "demo/demo_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

void demo_buf_reserve(struct demo_buf *b, size_t n)
{
	if (b->cap - b->len >= n)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < n)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void demo_buf_append(struct demo_buf *b, const void *s, size_t n)
{
	if (n == 0)
		return;
	demo_buf_reserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

void demo_buf_puts(struct demo_buf *b, const char *s)
{
	demo_buf_append(b, s, strlen(s));
}

void demo_buf_printf(struct demo_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	demo_buf_reserve(b, 128);
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		demo_buf_reserve(b, (size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void demo_buf_json_str(struct demo_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	demo_buf_reserve(b, n + 2);
	b->data[b->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		demo_buf_reserve(b, 7);
		if (ch == '"' || ch == '\\') {
			b->data[b->len++] = '\\';
			b->data[b->len++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			memcpy(b->data + b->len, "\\u00", 4);
			b->data[b->len + 4] = hex[ch >> 4];
			b->data[b->len + 5] = hex[ch & 15];
			b->len += 6;
		} else {
			b->data[b->len++] = (char)ch;
		}
	}
	demo_buf_reserve(b, 1);
	b->data[b->len++] = '"';
}

void demo_buf_reset(struct demo_buf *b)
{
	b->len = 0;
}

void demo_buf_shrink(struct demo_buf *b, size_t keep)
{
	if (b->cap > keep && b->len == 0)
		demo_buf_free(b);
}

void demo_buf_free(struct demo_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
