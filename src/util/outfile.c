/* outfile.c: one writer for every result file (--summary-export, handle_summary's files,
 * --out FILE outputs), whole or streamed as the run goes. */
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
#include <zlib.h>

#include "util/buf.h"
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

bool outfile_same(const char *in, const char *out)
{
	struct stat a, b;
	if (!strcmp(out, "-"))
		return false;
	if (stat(in, &a) == 0 && stat(out, &b) == 0 && S_ISREG(b.st_mode))
		return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	char *win = outfile_where(in), *wout = outfile_where(out);
	bool same = win && wout && strcmp(win, wout) == 0;
	free(win);
	free(wout);
	return same;
}

char *outfile_where(const char *path)
{
	struct target t;
	char err[8];
	if (resolve(path, &t, err, sizeof(err)) < 0)
		return NULL;
	if (t.kind != T_FILE) {
		free(t.path);
		return NULL;
	}
	char *dir = dir_of(t.path), *rdir = realpath(dir, NULL);
	free(dir);
	if (!rdir)
		return t.path;
	const char *base = base_of(t.path);
	size_t n = strlen(rdir) + strlen(base) + 2;
	char *where = xmalloc(n);
	snprintf(where, n, "%s%s%s", rdir, strcmp(rdir, "/") ? "/" : "", base);
	free(rdir);
	free(t.path);
	return where;
}

/* s[0..n) percent-encoded onto b (RFC 3986 §2.3 unreserved and '/' as they are). */
static void url_path_append(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~/", c))
			buf_printf(b, "%c", c);
		else
			buf_printf(b, "%%%02X", c);
	}
}

/* p made absolute (from the working directory) and normalised as a browser resolves a
 * URL's path (RFC 3986 §5.2.4): ".", ".." and empty components removed by the text, not by
 * following symlinks, so a page written through a symlinked directory links from where it
 * is opened. A new string without a trailing '/' ("/" for the root), or NULL. */
static char *lexical_path(const char *p)
{
	char *cwd = *p == '/' ? NULL : getcwd(NULL, 0);
	if (*p != '/' && !cwd)
		return NULL;
	size_t n = (cwd ? strlen(cwd) : 0) + strlen(p) + 2;
	char *all = xmalloc(n), *out = xmalloc(n);
	snprintf(all, n, "%s/%s", cwd ? cwd : "", p);
	free(cwd);
	size_t len = 0;
	for (char *save = NULL, *c = strtok_r(all, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--; /* the '/' before the dropped component */
			continue;
		}
		out[len++] = '/';
		memcpy(out + len, c, strlen(c));
		len += strlen(c);
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	free(all);
	return out;
}

char *outfile_link_base(const char *out, const char *dir)
{
	struct buf b = { 0 };
	char *where = outfile_where(out); /* NULL: "-", a descriptor or device */
	char *odir = NULL, *rdir = NULL;
	if (where) {
		char *od = dir_of(out);
		odir = lexical_path(od);
		rdir = lexical_path(dir && *dir ? dir : ".");
		free(od);
	}
	free(where);
	if (!odir || !rdir || !strcmp(odir, rdir)) {
		free(odir);
		free(rdir);
		return xstrdup("");
	}
	/* the common leading components, then one ".." per component of odir past them */
	size_t i = 0, last = 0;
	while (odir[i] && odir[i] == rdir[i]) {
		if (odir[i] == '/')
			last = i;
		i++;
	}
	if ((!odir[i] && rdir[i] == '/') || (!rdir[i] && odir[i] == '/'))
		last = i;
	for (const char *p = odir + last; *p; p++)
		if (*p == '/' && p[1])
			buf_addstr(&b, "../");
	const char *rest = rdir + last;
	while (*rest == '/')
		rest++;
	if (*rest) {
		url_path_append(&b, rest, strlen(rest));
		buf_addstr(&b, "/");
	}
	free(odir);
	free(rdir);
	return b.p ? b.p : xstrdup("");
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

/* Open a character device or FIFO in place (no O_CREAT, no O_TRUNC), waiting up to
 * FIFO_WAIT_US for a FIFO's reader. The descriptor, or a negative errno with err set. */
static int open_device(const char *path, const struct target *t, char *err, size_t errlen)
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
	return fd;
}

/* A character device or FIFO, opened in place and written. */
static int write_device(const char *path, const struct target *t, const void *data, size_t len,
                        char *err, size_t errlen)
{
	int fd = open_device(path, t, err, errlen);
	if (fd < 0)
		return fd;
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

/* Create the temporary file for a replacement of t->path (removing stale ones first);
 * *tmp gets its name (owned). The descriptor, or a negative errno (*tmp is NULL). */
static int open_tmp(const struct target *t, char **tmp)
{
	char *dir = dir_of(t->path);
	remove_stale(dir, base_of(t->path));
	free(dir);
	*tmp = tmp_name(t->path, (long)getpid());
	unlink(*tmp); /* ours: left by an earlier write of this process that was cut short */
	int fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0) {
		int e = -errno;
		free(*tmp);
		*tmp = NULL;
		return e;
	}
	if (t->exists)
		fchmod(fd, t->mode); /* best effort: the replacement keeps the file's mode */
	return fd;
}

/* Finish a replacement: when rc is 0, fsync fd and rename tmp over t->path; otherwise (or
 * when that fails) remove tmp. Closes fd. Returns rc or the new error. */
static int finish_tmp(int fd, const char *tmp, const struct target *t, int rc)
{
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0 && errno != EINTR)
		rc = -errno;
	if (rc == 0 && rename(tmp, t->path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	char *dir = dir_of(t->path);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) { /* best effort: the rename itself survives a crash */
		fsync(dfd);
		close(dfd);
	}
	free(dir);
	return 0;
}

/* Write a temporary file next to t->path, fsync it and rename it over t->path. */
static int write_atomic(const char *path, const struct target *t, const void *data, size_t len,
                        char *err, size_t errlen)
{
	char *tmp;
	int fd = open_tmp(t, &tmp);
	if (fd < 0)
		return fail(err, errlen, path, fd, NULL);
	int rc = finish_tmp(fd, tmp, t, write_all(fd, data, len));
	free(tmp);
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

/* --- streaming -------------------------------------------------------------------- */

#define GZ_CHUNK    (64 * 1024)
#define QUEUE_CHUNK (1u << 20) /* the queue is a list of chunks of at least 1 MiB */

struct chunk {
	struct chunk *next;
	size_t len, cap;
	char data[];
};

struct outfile_stream {
	char *path; /* as the user gave it, for messages */
	struct target t;
	int fd;
	bool own_fd; /* fd is ours to close (not "-" or an inherited descriptor) */
	char *tmp;   /* T_FILE: the temporary file, renamed at commit */
	bool gzip;
	z_stream z;
	unsigned char *zout;

	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake;       /* the writer: data queued, or closing */
	pthread_cond_t drain;      /* the producer: the queue shrank */
	struct chunk *head, *tail; /* what the producer queued, not yet taken by the writer */
	size_t queued;             /* bytes queued or being written */
	bool closing;              /* the writer ends once the queue is empty */
	bool abandon;              /* ... and drops what is queued */
	int rc;                    /* the first error (latched) */
};

/* Compress p[0..len) (flush: Z_NO_FLUSH or Z_FINISH) and write the output. 0 or -errno. */
static int gz_write(struct outfile_stream *s, const char *p, size_t len, int flush)
{
	s->z.next_in = (unsigned char *)p;
	s->z.avail_in = (uInt)len;
	int zr;
	do {
		s->z.next_out = s->zout;
		s->z.avail_out = GZ_CHUNK;
		zr = deflate(&s->z, flush);
		if (zr == Z_STREAM_ERROR)
			return -EIO;
		size_t n = GZ_CHUNK - s->z.avail_out;
		int rc = n ? write_all(s->fd, (const char *)s->zout, n) : 0;
		if (rc < 0)
			return rc;
	} while (flush == Z_FINISH ? zr != Z_STREAM_END : s->z.avail_out == 0);
	return 0;
}

/* Write one batch the writer took from the queue (len < 4 GiB per deflate call). */
static int stream_out(struct outfile_stream *s, const char *p, size_t len)
{
	if (!s->gzip)
		return write_all(s->fd, p, len);
	while (len > 0) {
		size_t n = MIN(len, (size_t)1 << 30);
		int rc = gz_write(s, p, n, Z_NO_FLUSH);
		if (rc < 0)
			return rc;
		p += n;
		len -= n;
	}
	return 0;
}

static void free_chunks(struct chunk *c)
{
	while (c) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
}

static void *stream_thread(void *arg)
{
	struct outfile_stream *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->head && !s->closing)
			pthread_cond_wait(&s->wake, &s->mu);
		if (s->abandon || (!s->head && s->closing))
			break;
		struct chunk *list = s->head; /* take the queue */
		s->head = s->tail = NULL;
		while (list) {
			struct chunk *c = list;
			bool failed = s->rc < 0;
			list = c->next;
			pthread_mutex_unlock(&s->mu);
			int rc = failed ? 0 : stream_out(s, c->data, c->len);
			pthread_mutex_lock(&s->mu);
			s->queued -= c->len;
			free(c);
			if (rc < 0 && s->rc == 0)
				s->rc = rc;
			pthread_cond_broadcast(&s->drain);
			if (s->abandon) {
				free_chunks(list);
				list = NULL;
			}
		}
	}
	if (!s->abandon && s->gzip && s->rc == 0) {
		int rc = gz_write(s, "", 0, Z_FINISH);
		if (rc < 0)
			s->rc = rc;
	}
	pthread_cond_broadcast(&s->drain);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Open what t names for streaming: sets s->fd (and s->tmp for a regular file). */
static int stream_target(struct outfile_stream *s, char *err, size_t errlen)
{
	int rc = 0;
	switch (s->t.kind) {
	case T_FD:
		rc = check_fd(s->path, s->t.fd, err, errlen);
		s->fd = s->t.fd;
		if (rc == 0) /* keep the order of the text already printed */
			fflush(s->fd == STDERR_FILENO ? stderr : stdout);
		return rc;
	case T_DEVICE:
		s->fd = open_device(s->path, &s->t, err, errlen);
		s->own_fd = s->fd >= 0;
		return s->fd < 0 ? s->fd : 0;
	case T_FILE:
		rc = check_file(s->path, &s->t, err, errlen);
		if (rc < 0)
			return rc;
		s->fd = open_tmp(&s->t, &s->tmp);
		s->own_fd = s->fd >= 0;
		return s->fd < 0 ? fail(err, errlen, s->path, s->fd, NULL) : 0;
	}
	return 0;
}

int outfile_stream_open(const char *path, unsigned flags, struct outfile_stream **out, char *err,
                        size_t errlen)
{
	struct outfile_stream *s = xcalloc(1, sizeof(*s));
	int rc = resolve(path, &s->t, err, errlen);
	s->fd = -1;
	if (rc < 0)
		goto out_free;
	s->path = xstrdup(path);
	rc = stream_target(s, err, errlen);
	if (rc < 0)
		goto out_free;
	if (flags & OUTFILE_GZIP) {
		/* windowBits 15 + 16: a gzip header and trailer around the deflate stream */
		if (deflateInit2(&s->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			rc = fail(err, errlen, path, -ENOMEM, "cannot start zlib's deflate");
			goto out_free;
		}
		s->gzip = true;
		s->zout = xmalloc(GZ_CHUNK);
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->wake, NULL);
	pthread_cond_init(&s->drain, NULL);
	/* the writer never takes the process's signals (SIGINT, SIGTERM... are for the
	 * thread that reads them from a signalfd): block all of them in the new thread */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = -pthread_create(&s->thread, NULL, stream_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		fail(err, errlen, path, rc, "cannot start its writer thread");
		pthread_cond_destroy(&s->drain);
		pthread_cond_destroy(&s->wake);
		pthread_mutex_destroy(&s->mu);
		goto out_free;
	}
	*out = s;
	return 0;

out_free:
	if (s->gzip)
		deflateEnd(&s->z);
	free(s->zout);
	if (s->own_fd)
		close(s->fd);
	if (s->tmp)
		unlink(s->tmp);
	free(s->tmp);
	free(s->t.path);
	free(s->path);
	free(s);
	return rc;
}

int outfile_stream_write(struct outfile_stream *s, const void *data, size_t len)
{
	pthread_mutex_lock(&s->mu);
	while (s->rc == 0 && !s->closing && s->queued > OUTFILE_STREAM_QUEUE_MAX &&
	       !stop_pending()) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += POLL_SLICE_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->drain, &s->mu, &until);
	}
	int rc = s->rc;
	if (rc == 0 && !s->closing && len > 0) {
		struct chunk *c = s->tail;
		if (!c || c->cap - c->len < len) {
			size_t cap = MAX(QUEUE_CHUNK, len);
			c = xmalloc(sizeof(*c) + cap);
			c->next = NULL;
			c->len = 0;
			c->cap = cap;
			if (s->tail)
				s->tail->next = c;
			else
				s->head = c;
			s->tail = c;
		}
		memcpy(c->data + c->len, data, len);
		c->len += len;
		s->queued += len;
		pthread_cond_signal(&s->wake);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Tell the writer to end (dropping the queue when abandon) and wait for it. */
static void stream_stop(struct outfile_stream *s, bool abandon)
{
	pthread_mutex_lock(&s->mu);
	bool running = !s->closing;
	s->closing = true;
	s->abandon = s->abandon || abandon;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mu);
	if (running)
		pthread_join(s->thread, NULL);
}

int outfile_stream_commit(struct outfile_stream *s, char *err, size_t errlen)
{
	stream_stop(s, false);
	int rc = s->rc;
	if (s->tmp) {
		rc = finish_tmp(s->fd, s->tmp, &s->t, rc);
		s->own_fd = false; /* finish_tmp closed it */
		free(s->tmp);
		s->tmp = NULL;
	} else if (s->own_fd) {
		if (close(s->fd) < 0 && rc == 0 && errno != EINTR)
			rc = -errno;
		s->own_fd = false;
	}
	if (rc == -EINTR)
		return fail(err, errlen, s->path, rc, "interrupted while waiting for the reader");
	return rc < 0 ? fail(err, errlen, s->path, rc, NULL) : 0;
}

void outfile_stream_free(struct outfile_stream *s)
{
	if (!s)
		return;
	stream_stop(s, true);
	if (s->own_fd)
		close(s->fd);
	if (s->tmp)
		unlink(s->tmp);
	if (s->gzip)
		deflateEnd(&s->z);
	pthread_cond_destroy(&s->drain);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->mu);
	free_chunks(s->head);
	free(s->zout);
	free(s->tmp);
	free(s->t.path);
	free(s->path);
	free(s);
}
