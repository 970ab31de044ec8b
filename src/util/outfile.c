/* outfile.c: one writer for every result file (--summary-export, handle_summary's files). */
#include "util/outfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/common.h"

#define SYMLINK_HOPS  40 /* as the kernel's MAXSYMLINKS */
#define FIFO_WAIT_US  (10 * USEC_PER_SEC)
#define FIFO_RETRY_NS (20 * 1000 * 1000)
#define POLL_SLICE_MS 100 /* how often a wait for a reader looks for a stop signal */
#define TMP_BASE_MAX  200 /* bytes of the target's name kept in a temporary name */

enum target_kind {
	T_FD,     /* a descriptor of this process: "-", /dev/stdout, /dev/fd/N ... */
	T_DEVICE, /* a character device or FIFO, written in place */
	T_FILE,   /* a regular file, or a name not there yet: replaced atomically */
};

struct target {
	enum target_kind kind;
	int fd;      /* T_FD */
	char *path;  /* T_DEVICE, T_FILE: the symlinks' final target (owned) */
	bool exists; /* T_FILE: the file is there (mode holds its permission bits) */
	mode_t mode;
};

static int fail(char *err, size_t errlen, const char *path, int rc, const char *why)
{
	snprintf(err, errlen, "cannot write '%s': %s", path, why ? why : strerror(-rc));
	return rc;
}

/* The directory part of p ("." for a bare name). New string. */
static char *dir_of(const char *p)
{
	const char *s = strrchr(p, '/');
	if (!s)
		return xstrdup(".");
	return s == p ? xstrdup("/") : xstrndup(p, (size_t)(s - p));
}

static const char *base_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* The descriptor p names when it is one of this process's (/dev/fd/N, /proc/self/fd/N,
 * /proc/PID/task/TID/fd/N: the directory resolves into /proc/PID), or -1. Writing such a
 * name means writing that descriptor, not reopening or replacing what it points at. */
static int own_fd(const char *p)
{
	const char *name = base_of(p);
	int64_t fd;
	if (name == p || !*name || name[strspn(name, "0123456789")] ||
	    parse_int64(name, 0, INT_MAX, &fd) < 0)
		return -1;
	char *dir = dir_of(p);
	char *real = realpath(dir, NULL);
	free(dir);
	if (!real)
		return -1;
	char mine[48];
	size_t n = (size_t)snprintf(mine, sizeof(mine), "/proc/%d/", (int)getpid());
	const char *rest = strncmp(real, mine, n) == 0 ? real + n : "";
	bool ok = strcmp(rest, "fd") == 0;
	if (strncmp(rest, "task/", 5) == 0) {
		size_t tid = strspn(rest + 5, "0123456789");
		ok = tid > 0 && strcmp(rest + 5 + tid, "/fd") == 0;
	}
	free(real);
	return ok ? (int)fd : -1;
}

/* Where the symlink at p points, relative targets taken from p's directory. New string,
 * or NULL with errno set. */
static char *link_target(const char *p)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(p, buf, sizeof(buf));
	if (n < 0)
		return NULL;
	if ((size_t)n >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (buf[0] == '/')
		return xstrndup(buf, (size_t)n);
	char *dir = dir_of(p);
	size_t len = strlen(dir) + (size_t)n + 2;
	char *out = xmalloc(len);
	snprintf(out, len, "%s/%.*s", dir, (int)n, buf);
	free(dir);
	return out;
}

/* Classify what cur (an owned string, consumed) is, following symlinks one at a time. */
static int resolve_from(char *cur, const char *path, struct target *t, char *err, size_t errlen)
{
	for (int hop = 0; hop <= SYMLINK_HOPS; hop++) {
		struct stat st;
		int fd = own_fd(cur);
		if (fd >= 0) {
			free(cur);
			t->kind = T_FD;
			t->fd = fd;
			return 0;
		}
		if (lstat(cur, &st) < 0) {
			int e = -errno;
			bool slash = cur[strlen(cur) - 1] == '/';
			if (e == -ENOENT && !slash) { /* nothing yet: a new file */
				t->kind = T_FILE;
				t->path = cur;
				return 0;
			}
			free(cur);
			return fail(err, errlen, path, e == -ENOENT ? -EISDIR : e,
			            e == -ENOENT ? "names a directory, which does not exist"
			                         : NULL);
		}
		if (S_ISLNK(st.st_mode)) {
			char *next = link_target(cur);
			int e = -errno;
			free(cur);
			if (!next)
				return fail(err, errlen, path, e, NULL);
			cur = next;
			continue;
		}
		if (S_ISREG(st.st_mode)) {
			t->kind = T_FILE;
			t->path = cur;
			t->exists = true;
			t->mode = st.st_mode & 0777;
			return 0;
		}
		if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
			t->kind = T_DEVICE;
			t->path = cur;
			return 0;
		}
		free(cur);
		if (S_ISDIR(st.st_mode))
			return fail(err, errlen, path, -EISDIR, "is a directory");
		return fail(err, errlen, path, -ENXIO,
		            S_ISSOCK(st.st_mode) ? "is a socket (use a FIFO, or '-' for stdout)"
		                                 : "is a block device");
	}
	free(cur);
	return fail(err, errlen, path, -ELOOP, NULL);
}

static int resolve(const char *path, struct target *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	if (!path || !*path)
		return fail(err, errlen, "", -EINVAL,
		            "empty path (name a file, or '-' for stdout)");
	if (strcmp(path, "-") == 0) {
		t->kind = T_FD;
		t->fd = STDOUT_FILENO;
		return 0;
	}
	return resolve_from(xstrdup(path), path, t, err, errlen);
}

static int check_fd(const char *path, int fd, char *err, size_t errlen)
{
	char why[64];
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & O_ACCMODE) != O_RDONLY)
		return 0;
	snprintf(why, sizeof(why), "descriptor %d is not open%s", fd, fl < 0 ? "" : " for writing");
	return fail(err, errlen, path, -EBADF, why);
}

/* A new file, or the replacement of t->path, goes in its directory: it must be there and
 * writable, and so must an existing file (its read-only mode is respected). */
static int check_file(const char *path, const struct target *t, char *err, size_t errlen)
{
	char why[PATH_MAX + 64];
	struct stat st;
	char *dir = dir_of(t->path);
	int rc = 0;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(why, sizeof(why), "directory '%s' does not exist", dir);
		rc = fail(err, errlen, path, -ENOENT, why);
	} else if (access(dir, W_OK | X_OK) < 0) {
		snprintf(why, sizeof(why), "directory '%s' is not writable", dir);
		rc = fail(err, errlen, path, -EACCES, why);
	} else if (t->exists && access(t->path, W_OK) < 0) {
		rc = fail(err, errlen, path, -EACCES, "the file is not writable");
	}
	free(dir);
	return rc;
}

int outfile_check(const char *path, char *err, size_t errlen)
{
	struct target t;
	int rc = resolve(path, &t, err, errlen);
	if (rc < 0)
		return rc;
	switch (t.kind) {
	case T_FD:
		rc = check_fd(path, t.fd, err, errlen);
		break;
	case T_DEVICE: /* a FIFO is not opened: its reader would see the end of its input */
		if (access(t.path, W_OK) < 0)
			rc = fail(err, errlen, path, -errno, NULL);
		break;
	case T_FILE:
		rc = check_file(path, &t, err, errlen);
		break;
	}
	free(t.path);
	return rc;
}

/* True when SIGINT, SIGTERM or SIGHUP is pending (the run blocks them and reads them from a
 * signalfd): the user wants out, so waits for a reader end. */
static bool stop_pending(void)
{
	sigset_t set;
	return sigpending(&set) == 0 && (sigismember(&set, SIGINT) || sigismember(&set, SIGTERM) ||
	                                 sigismember(&set, SIGHUP));
}

/* Wait until fd takes data (or has an error for write() to report). 0, or -EINTR when a
 * stop signal is pending. */
static int wait_writable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	for (;;) {
		int r = poll(&pfd, 1, POLL_SLICE_MS);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (stop_pending())
			return -EINTR;
	}
}

/* Write all of p[0..len) to fd: short writes and EINTR retried; to a pipe, socket or device,
 * only what it can take without blocking (after waiting for room, which a stop signal
 * ends: -EINTR), so a reader that stalls cannot hold the process past a signal; an EPIPE
 * raises no SIGPIPE. 0 or -errno. */
static int write_all(int fd, const char *p, size_t len)
{
	sigset_t pipe_set, old, pending;
	struct stat st;
	int fl = fcntl(fd, F_GETFL);
	bool may_block = fstat(fd, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode);
	/* a blocking write of at most PIPE_BUF bytes after POLLOUT does not block */
	size_t most = may_block && fl >= 0 && !(fl & O_NONBLOCK) ? PIPE_BUF : (size_t)1 << 30;
	int rc = 0;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	bool was_pending = sigismember(&pending, SIGPIPE);
	while (len > 0 && rc == 0) {
		if (may_block && (rc = wait_writable(fd)) < 0)
			break;
		ssize_t n = write(fd, p, MIN(len, most));
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n == 0) {
			rc = -EIO;
		} else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
			rc = -errno;
		}
	}
	if (rc == -EPIPE && !was_pending) { /* take the SIGPIPE this write raised */
		struct timespec zero = { 0 };
		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* A character device or FIFO, opened in place (no O_CREAT, no O_TRUNC) and written. */
static int write_device(const char *path, const struct target *t, const void *data, size_t len,
                        char *err, size_t errlen)
{
	int64_t deadline = now_us() + FIFO_WAIT_US;
	int fd;
	while ((fd = open(t->path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		struct stat st;
		if (errno == EINTR)
			continue;
		if (errno != ENXIO || stat(t->path, &st) < 0 || !S_ISFIFO(st.st_mode))
			return fail(err, errlen, path, -errno, NULL);
		if (now_us() >= deadline)
			return fail(err, errlen, path, -ENXIO,
			            "no process opened the FIFO for reading within 10 s");
		if (stop_pending())
			return fail(err, errlen, path, -EINTR,
			            "interrupted while waiting for a reader of the FIFO");
		struct timespec ts = { .tv_nsec = FIFO_RETRY_NS };
		nanosleep(&ts, NULL);
	}
	int rc = write_all(fd, data, len);
	if (close(fd) < 0 && rc == 0 && errno != EINTR)
		rc = -errno;
	if (rc == -EINTR)
		return fail(err, errlen, path, rc, "interrupted while waiting for the reader");
	return rc < 0 ? fail(err, errlen, path, rc, NULL) : 0;
}

/* The temporary name for a replacement of target written by process pid: ".NAME" +
 * OUTFILE_TMP_TAG + PID in target's directory. New string. */
static char *tmp_name(const char *target, long pid)
{
	const char *base = base_of(target);
	size_t n = (size_t)(base - target) + TMP_BASE_MAX + sizeof(OUTFILE_TMP_TAG) + 32;
	char *tmp = xmalloc(n);
	snprintf(tmp, n, "%.*s.%.*s" OUTFILE_TMP_TAG "%ld", (int)(base - target), target,
	         TMP_BASE_MAX, base, pid);
	return tmp;
}

/* Remove the temporary files for dir/base that processes no longer running left behind
 * (a kill -9 in the middle of a write). */
static void remove_stale(const char *dir, const char *base)
{
	char prefix[TMP_BASE_MAX + sizeof(OUTFILE_TMP_TAG) + 2];
	size_t n =
	    (size_t)snprintf(prefix, sizeof(prefix), ".%.*s" OUTFILE_TMP_TAG, TMP_BASE_MAX, base);
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d))) {
		const char *digits = e->d_name + n;
		int64_t pid;
		if (strncmp(e->d_name, prefix, n) != 0 || digits[strspn(digits, "0123456789")] ||
		    parse_int64(digits, 1, INT_MAX, &pid) < 0 || pid == getpid())
			continue;
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/* Write a temporary file next to t->path, fsync it and rename it over t->path. */
static int write_atomic(const char *path, const struct target *t, const void *data, size_t len,
                        char *err, size_t errlen)
{
	char *dir = dir_of(t->path);
	char *tmp = tmp_name(t->path, (long)getpid());
	int rc = 0;

	remove_stale(dir, base_of(t->path));
	unlink(tmp); /* ours: left by an earlier write of this process that was cut short */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0) {
		rc = -errno;
		goto out_free;
	}
	if (t->exists)
		fchmod(fd, t->mode); /* best effort: the replacement keeps the file's mode */
	rc = write_all(fd, data, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0 && errno != EINTR)
		rc = -errno;
	if (rc == 0 && rename(tmp, t->path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
	} else {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) { /* best effort: the rename itself survives a crash */
			fsync(dfd);
			close(dfd);
		}
	}
out_free:
	free(tmp);
	free(dir);
	return rc < 0 ? fail(err, errlen, path, rc, NULL) : 0;
}

int outfile_write(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
	struct target t;
	int rc = resolve(path, &t, err, errlen);
	if (rc < 0)
		return rc;
	switch (t.kind) {
	case T_FD:
		rc = check_fd(path, t.fd, err, errlen);
		if (rc < 0)
			break;
		fflush(t.fd == STDERR_FILENO ? stderr : stdout); /* keep the order of the text */
		rc = write_all(t.fd, data, len);
		if (rc < 0)
			fail(err, errlen, path, rc, NULL);
		break;
	case T_DEVICE:
		rc = write_device(path, &t, data, len, err, errlen);
		break;
	case T_FILE:
		rc = check_file(path, &t, err, errlen);
		if (rc == 0)
			rc = write_atomic(path, &t, data, len, err, errlen);
		break;
	}
	free(t.path);
	return rc;
}
