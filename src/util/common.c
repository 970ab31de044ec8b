/* common.c: allocation wrappers, clocks, duration/number/size parsing, bounded file reads. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void oom(size_t size)
{
	fprintf(stderr, "stampede: out of memory allocating %zu bytes\n", size);
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		oom(size);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);
	if (!q)
		oom(size);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t now_us(void)
{
	return now_ns() / NSEC_PER_USEC;
}

int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / NSEC_PER_USEC;
}

static int unit_scale(const char *u, size_t n, double *scale)
{
	static const struct {
		const char *name;
		double us;
	} units[] = {
		{ "us", 1 },   { "µs", 1 },     { "ms", 1e3 },    { "s", 1e6 },
		{ "m", 60e6 }, { "h", 3600e6 }, { "d", 86400e6 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0) {
			*scale = units[i].us;
			return 0;
		}
	}
	return -EINVAL;
}

int parse_duration(const char *s, int64_t *out_us)
{
	double total = 0;
	const char *p = s;
	bool any = false;

	if (!s || !*s)
		return -EINVAL;
	while (*p) {
		char *end;
		double scale = 1e6;

		/* Plain decimals only (as Go's time.ParseDuration): no sign, exponent or hex. */
		size_t digits = strspn(p, "0123456789");
		size_t frac = p[digits] == '.' ? strspn(p + digits + 1, "0123456789") : 0;
		if (digits + frac == 0)
			return -EINVAL;
		size_t numlen = digits + (p[digits] == '.' ? 1 + frac : 0);
		errno = 0;
		double v = strtod(p, &end);
		if (end != p + numlen)
			return -EINVAL;
		if (end == p || errno || !isfinite(v) || v < 0)
			return -EINVAL;
		p = end;
		const char *u = p;
		while (*p && !(*p >= '0' && *p <= '9') && *p != '.')
			p++;
		if (p == u) {
			/* A bare number is seconds, and only as the whole string. */
			if (any || *p)
				return -EINVAL;
		} else if (unit_scale(u, (size_t)(p - u), &scale) < 0) {
			return -EINVAL;
		}
		total += v * scale;
		any = true;
	}
	if (total > 9.2e18)
		return -EINVAL;
	*out_us = (int64_t)llround(total);
	return 0;
}

char *format_duration(int64_t us, char *buf, size_t len)
{
	/* Pick the unit after rounding to 4 digits, so 999999 µs prints as 1s, not 1000ms. */
	if (us < 1000)
		snprintf(buf, len, "%lldµs", (long long)us);
	else if (us < 999950)
		snprintf(buf, len, "%.4gms", us / 1e3);
	else if (us < 59999500)
		snprintf(buf, len, "%.4gs", us / 1e6);
	else {
		long long s = (us + 500) / USEC_PER_SEC; /* 59.9999995 s is 1m0s */
		if (s >= 3600)
			snprintf(buf, len, "%lldh%lldm%llds", s / 3600, (s / 60) % 60, s % 60);
		else
			snprintf(buf, len, "%lldm%llds", s / 60, s % 60);
	}
	return buf;
}

char *format_bytes_iec(double v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	if (!isfinite(v)) {
		snprintf(buf, len, "?");
		return buf;
	}
	int u = 0;
	double a = fabs(v);
	while (a >= 1023.5 && u < 4)
		a /= 1024, v /= 1024, u++;
	if (u == 0)
		snprintf(buf, len, "%.0f B", v);
	else
		snprintf(buf, len, "%.*f %s", a < 9.995 ? 2 : a < 99.95 ? 1 : 0, v, units[u]);
	return buf;
}

char *format_bytes(double bytes, char *buf, size_t len)
{
	static const char *units[] = { "B", "kB", "MB", "GB", "TB" };
	size_t i = 0;
	while (bytes >= (i == 0 ? 999.5 : 999.95) && i + 1 < ARRAY_SIZE(units)) {
		bytes /= 1000;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%.0f %s", bytes, units[i]);
	else
		snprintf(buf, len, "%.1f %s", bytes, units[i]);
	return buf;
}

int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end || end == s)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_double(const char *s, double *out)
{
	char *end;
	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	double v = strtod(s, &end);
	if (*end || end == s || errno || !isfinite(v))
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_size(const char *s, int64_t *out)
{
	static const struct {
		const char *name;
		double bytes;
	} units[] = {
		{ "", 1 },         { "b", 1 },        { "kb", 1e3 },     { "mb", 1e6 },
		{ "gb", 1e9 },     { "tb", 1e12 },    { "kib", 1024.0 }, { "mib", 1048576.0 },
		{ "gib", 0x1p30 }, { "tib", 0x1p40 },
	};
	if (!s)
		return -EINVAL;
	size_t digits = strspn(s, "0123456789");
	size_t frac = s[digits] == '.' ? strspn(s + digits + 1, "0123456789") : 0;
	size_t numlen = digits + (s[digits] == '.' ? 1 + frac : 0);
	if (digits + frac == 0)
		return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end != s + numlen || errno || !isfinite(v))
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcasecmp(end, units[i].name) != 0)
			continue;
		double b = nearbyint(v * units[i].bytes);
		if (b >= 0x1p63)
			return -ERANGE;
		*out = (int64_t)b;
		return 0;
	}
	return -EINVAL;
}

int read_file_max(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	int rc = 0;
	/* O_NONBLOCK: a FIFO's open() does not wait for a writer (poll() does, bounded) */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out_close;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		rc = -EFBIG;
		goto out_close;
	}
	size_t cap = MIN(S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096, max + 1), n = 0;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		if (n == cap) /* room for max + 1 bytes: one more than allowed says "too large" */
			buf = xrealloc(buf, (cap = MIN(cap * 2, max + 1)) + 1);
		/* a FIFO reads 0 before its first writer came: wait for data or the writer's
		 * close (POLLHUP comes only once one was there); others read at once */
		if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			int p = poll(&pfd, 1, (int)(READ_FILE_WAIT_US / 1000));
			if (p < 0 && errno == EINTR)
				continue;
			if (p <= 0) {
				rc = p == 0 ? -ETIMEDOUT : -errno;
				break;
			}
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0) {
			rc = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			rc = -EFBIG;
			break;
		}
	}
	if (rc < 0) {
		free(buf);
		goto out_close;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
out_close:
	close(fd);
	return rc;
}

const char *read_file_strerror(int e)
{
	return e == -ETIMEDOUT ? "no data and no writer for 10 s" : strerror(-e);
}

const char *format_rate(double v, char *buf, size_t size)
{
	double a = fabs(v);
	if (!isfinite(v))
		snprintf(buf, size, "%s", isnan(v) ? "–" : v > 0 ? "∞" : "-∞");
	else if (a >= FORMAT_SCI_FROM)
		snprintf(buf, size, "%.4g", v);
	else if (a >= 100 || a == 0)
		snprintf(buf, size, "%.0f", v);
	else
		snprintf(buf, size, "%.3g", v);
	return buf;
}

const char *format_percent(double v, char *buf, size_t size)
{
	double a = fabs(v);
	if (!isfinite(v))
		snprintf(buf, size, "%s", isnan(v) ? "–" : v > 0 ? "∞" : "-∞");
	else if (a >= FORMAT_SCI_FROM)
		snprintf(buf, size, "%.4g", v);
	else if (a >= 1 || a == 0)
		snprintf(buf, size, "%.0f", v);
	else
		snprintf(buf, size, "%.2g", v);
	return buf;
}

int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}
