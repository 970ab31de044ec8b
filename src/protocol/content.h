/* content.h: decoding of HTTP content codings (RFC 9110 §8.4): gzip, deflate, br, zstd. */
#ifndef STAMPEDE_CONTENT_H
#define STAMPEDE_CONTENT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* Most codings one Content-Encoding value may stack ("identity" elements not counted). */
#define CONTENT_MAX_CODINGS 8

/* Decode the inlen bytes at in, a body sent with the Content-Encoding field value
 * content_encoding (NULL or empty = none; a comma list, case-insensitive, OWS allowed;
 * gzip, x-gzip, deflate as zlib or raw, br, zstd, identity), undoing the codings in reverse
 * list order, and append the result to out (NUL-terminated; in must not point into out).
 * An empty body decodes to nothing whatever the codings. Returns 0; -ENOTSUP for an unknown
 * coding (nothing decoded: keep the raw body); -EFBIG when the result, or any intermediate
 * stage, would exceed max_out bytes; -EINVAL for corrupt, truncated or trailing data;
 * -ENOMEM when a decoder's state cannot be allocated. On failure out->len is unchanged
 * and err (errlen bytes, may be NULL when errlen is 0) says which coding failed and why. */
int content_decode(const char *content_encoding, const void *in, size_t inlen, struct buf *out,
                   size_t max_out, char *err, size_t errlen);

/* True when content_decode can undo every coding in the field value content_encoding
 * (NULL, empty and "identity" included). */
bool content_coding_supported(const char *content_encoding);

#endif
