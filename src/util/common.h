/* common.h: allocation wrappers, time helpers and small macros shared by every module. */
#ifndef STAMPEDE_COMMON_H
#define STAMPEDE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)     ((a) < (b) ? (a) : (b))
#define MAX(a, b)     ((a) > (b) ? (a) : (b))
#define UNUSED(x)     ((void)(x))

#define USEC_PER_SEC  1000000LL
#define NSEC_PER_USEC 1000LL

/* Allocation wrappers: abort with a message on out-of-memory, never return NULL. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* qsort's comparison of two doubles, ascending (NaNs compare equal to everything). */
int cmp_double(const void *a, const void *b);

/* Monotonic clock in microseconds (CLOCK_MONOTONIC). */
int64_t now_us(void);
/* Monotonic clock in nanoseconds. */
int64_t now_ns(void);
/* Wall clock in microseconds since the epoch (CLOCK_REALTIME). */
int64_t wall_us(void);

/* Parse a k6-style duration ("500ms", "10s", "1m30s", "1h", "250us", bare number =
 * seconds) into microseconds. Returns 0 or -EINVAL. */
int parse_duration(const char *s, int64_t *out_us);

/* Format a duration given in microseconds the way k6 prints it ("1m30s", "250ms",
 * "1.5s") into buf. Returns buf. */
char *format_duration(int64_t us, char *buf, size_t len);

/* Format a byte count with a binary-free SI unit ("1.2 MB") into buf. Returns buf. */
char *format_bytes(double bytes, char *buf, size_t len);
/* bytes in binary units, three significant figures: "512 B", "9.78 KiB", "1.91 MiB",
 * "1.00 GiB" (B, KiB, MiB, GiB, TiB; the sign kept; "?" when not finite), into buf. For
 * memory (RSS, limits), which users give and the kernel counts in binary units. */
char *format_bytes_iec(double bytes, char *buf, size_t len);

/* A rate (requests/s) for people, into buf: no decimals from 100 up, 3 significant digits
 * below (0.4, 12.5), %.4g scientific notation from FORMAT_SCI_FROM (1.273e+135); "–" for
 * NaN, "∞" for infinity. Returns buf (40 bytes are enough). */
#define FORMAT_SCI_FROM 1e9
const char *format_rate(double v, char *buf, size_t size);

/* A percentage (55 for 55%, without the sign) likewise: no decimals from 1 up, 2
 * significant digits below, scientific from FORMAT_SCI_FROM. Returns buf. */
const char *format_percent(double v, char *buf, size_t size);

/* Parse a non-negative integer in [min, max]. Returns 0 or -EINVAL / -ERANGE. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Parse a finite double. Returns 0 or -EINVAL. */
int parse_double(const char *s, double *out);

/* Parse a size in bytes: a plain decimal number ("1048576", "1.5"), optionally followed at
 * once by a unit, case-insensitive: B, kB = 1000, MB, GB, TB, KiB = 1024, MiB, GiB, TiB
 * ("10MB", "64MiB", "1.5kib"). A fraction of a byte is rounded to the nearest. No sign,
 * spaces, exponent or other unit. Returns 0 with *out >= 0 (0 is allowed: callers that
 * need a positive size say so), -EINVAL when s is not such a size, -ERANGE past INT64_MAX
 * bytes. */
int parse_size(const char *s, int64_t *out);

/* How long read_file_max() waits for a FIFO's writer or for more data from a FIFO or a
 * character device, in µs. */
#define READ_FILE_WAIT_US (10 * 1000000LL)

/* Read the file at path (a regular file, FIFO or character device) into a new buffer with
 * a NUL after the data: *out (the caller frees it), *len bytes without the NUL. At most max
 * bytes are accepted: a larger regular file fails at once (by its size), anything else
 * (a FIFO, /dev/zero) after max + 1 bytes were read, with -EFBIG. A FIFO or device that
 * has no writer, or sends nothing more, for READ_FILE_WAIT_US fails with -ETIMEDOUT (the
 * open() itself never waits). Returns 0 or a negative errno (-ENOENT, -EACCES, -EISDIR,
 * -EFBIG, -ETIMEDOUT, -EIO ...); *out is untouched on failure. */
int read_file_max(const char *path, size_t max, char **out, size_t *len);
/* What read_file_max's error e (negative) means, for a message: strerror, except
 * -ETIMEDOUT, "no data and no writer for 10 s" (a FIFO or device that gave nothing). */
const char *read_file_strerror(int e);

#endif
