/* perf.c: `perf record` and `perf script` as child processes (fork/exec, no shell), with
 * the checks that explain why profiling cannot work before trying. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "profile/perf.h"
#include "util/common.h"

#define CAP_SYS_ADMIN_BIT 21
#define CAP_PERFMON_BIT   38
#define START_GRACE_MS    500

#define HOW_PARANOID                                                                               \
	"run as root, give stampede CAP_PERFMON, or lower the level: sysctl "                      \
	"kernel.perf_event_paranoid=1"
#define HOW_CONTAINER                                                                              \
	"in a container, perf_event_open must be allowed (docker run --cap-add PERFMON, or "       \
	"a seccomp profile that permits it)"

struct perf_rec {
	pid_t child;
	int err_fd; /* memfd holding perf's stderr */
};

/* Whether pid is gone: no such process, or a zombie (or dead) one, which has nothing left to
 * profile: the state field of /proc/PID/stat (proc(5)), as util/procfs.h reads it. */
static bool pid_gone(pid_t pid)
{
	char path[64], buf[1024];
	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n == 0 || errno == ESRCH;
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: the state follows the last ')' */
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/* The samples perf record said it wrote ("[ perf record: Captured and wrote 0.1 MB
 * perf.data (1234 samples) ]" on its stderr, in fd), or -1 when it did not say. */
static int64_t recorded_samples(int fd)
{
	char *buf = xmalloc(PERF_STDERR_MAX + 1);
	ssize_t n = fd >= 0 ? pread(fd, buf, PERF_STDERR_MAX, 0) : -1;
	int64_t samples = -1;
	buf[n > 0 ? n : 0] = '\0';
	for (char *p = strstr(buf, "[ perf record: Captured"); p;
	     p = strstr(p + 1, "[ perf record: Captured")) {
		char *q = strstr(p, " samples)");
		char *nl = strchr(p, '\n');
		if (!q || (nl && q > nl))
			continue;
		char *d = q;
		while (d > p && d[-1] >= '0' && d[-1] <= '9')
			d--;
		if (d < q && d[-1] == '(')
			samples = strtoll(d, NULL, 10);
	}
	free(buf);
	return samples;
}

/* The full path of perf in PATH into out. Returns 0 or -ENOENT. */
static int find_perf(char *out, size_t len)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/bin:/bin";
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);
		struct stat st;
		snprintf(out, len, "%.*s/perf", (int)n, n ? path : ".");
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
		path += n + (colon ? 1 : 0);
	}
	return -ENOENT;
}

/* Whether this process has capability bit in its effective set. */
static bool has_cap(int bit)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long eff = 0;
	bool found = false;
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1) {
			found = true;
			break;
		}
	fclose(f);
	return found && (eff >> bit) & 1;
}

int perf_available(char *err, size_t errlen)
{
	char path[4096];
	FILE *f;
	int level = 0;

	if (find_perf(path, sizeof(path)) < 0) {
		snprintf(err, errlen,
		         "perf not found in PATH: install it (Debian: apt-get install linux-perf; "
		         "Ubuntu: linux-tools-$(uname -r))");
		return -ENOENT;
	}
	f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
	if (!f) {
		snprintf(err, errlen,
		         "this kernel offers no perf events (/proc/sys/kernel/perf_event_paranoid "
		         "is missing): it needs CONFIG_PERF_EVENTS; " HOW_CONTAINER);
		return -EACCES;
	}
	if (fscanf(f, "%d", &level) != 1)
		level = 2;
	fclose(f);
	if (level > 2 && !has_cap(CAP_PERFMON_BIT) && !has_cap(CAP_SYS_ADMIN_BIT)) {
		snprintf(err, errlen,
		         "perf may not profile here: kernel.perf_event_paranoid is %d and this "
		         "process has neither CAP_PERFMON nor CAP_SYS_ADMIN; " HOW_PARANOID,
		         level);
		return -EACCES;
	}
	return 0;
}

static int sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	return nanosleep(&ts, NULL);
}

/* What perf's stderr says went wrong, on one line: its first line naming an error (else
 * its first informative line), "[ perf record: ...]" chatter and bare "Error:" headings
 * left out, with the fix when it is about permissions. */
static void summarize_stderr(int fd, const char *what, int status, char *err, size_t errlen)
{
	char *buf = xmalloc(PERF_STDERR_MAX + 1), first[512] = "", last[512] = "";
	ssize_t n = fd >= 0 ? pread(fd, buf, PERF_STDERR_MAX, 0) : -1;
	buf[n > 0 ? n : 0] = '\0';
	bool paranoid = strcasestr(buf, "paranoid") != NULL;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		while (*line == ' ' || *line == '\t')
			line++;
		size_t len = strlen(line);
		/* chatter, and bare headings such as "Error:" that say nothing yet */
		if (!len || !strncmp(line, "[ perf record:", 14) ||
		    (line[len - 1] == ':' && !strchr(line, ' ')))
			continue;
		if (!last[0]) /* (the first informative line) */
			snprintf(last, sizeof(last), "%s", line);
		if (!first[0] &&
		    (strcasestr(line, "error") || strcasestr(line, "fail") ||
		     strcasestr(line, "permission") || strcasestr(line, "not permitted") ||
		     strcasestr(line, "denied") || strcasestr(line, "limited") ||
		     strcasestr(line, "no such") || strcasestr(line, "invalid")))
			snprintf(first, sizeof(first), "%s", line);
	}
	const char *msg = first[0] ? first : last[0] ? last : "no message";
	char how[64];
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exit %d", WEXITSTATUS(status));
	bool perm = paranoid || strcasestr(msg, "permission") || strcasestr(msg, "not permitted") ||
	            strcasestr(msg, "access");
	snprintf(err, errlen, "%s failed (%s): %.300s%s%s", what, how, msg, perm ? "; " : "",
	         perm ? HOW_PARANOID "; " HOW_CONTAINER : "");
	free(buf);
}

/* fork/exec argv with stdin and stdout from/to the given fds (-1: /dev/null) and stderr
 * into err_fd. Returns the child's pid, or a negative errno (exec failure included). */
static pid_t spawn(char *const argv[], int out_fd, int err_fd)
{
	int ep[2], e = 0;
	pid_t parent = getpid();
	if (pipe2(ep, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		e = -errno;
		close(ep[0]), close(ep[1]);
		return e;
	}
	if (pid == 0) {
		/* never outlive stampede (nor the thread that started it) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		setpgid(0, 0); /* a Ctrl-C at the terminal is stampede's to act on, not perf's */
		int null = open("/dev/null", O_RDWR);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		dup2(null, 0);
		dup2(out_fd >= 0 ? out_fd : null, 1);
		dup2(err_fd >= 0 ? err_fd : null, 2);
		execv(argv[0], argv);
		e = errno;
		if (write(ep[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(ep[1]);
	ssize_t n;
	do
		n = read(ep[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	if (n == (ssize_t)sizeof(e)) {
		waitpid(pid, NULL, 0);
		return -e;
	}
	return pid;
}

/* Wait for pid up to ms; returns true with *status once it exited. */
static bool wait_ms(pid_t pid, int ms, int *status)
{
	for (int t = 0;; t += 10) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid || (w < 0 && errno == ECHILD))
			return true;
		if (t >= ms)
			return false;
		sleep_ms(10);
	}
}

/* Append the children of pid (those of each of its threads) to list, which holds n and has
 * room for max. Returns the new count. */
static int add_children(pid_t pid, pid_t *list, int n, int max)
{
	char path[96], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return n;
	for (struct dirent *e; (e = readdir(d)) && n < max;) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/children", (int)pid, e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t k = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		buf[k > 0 ? k : 0] = '\0';
		char *p = buf, *end;
		for (long v; n < max && (v = strtol(p, &end, 10), end != p); p = end)
			list[n++] = (pid_t)v;
	}
	closedir(d);
	return n;
}

/* pid and its descendants as perf's -p list ("PID,CHILD,..."), at most PERF_TREE_MAX. */
static void tree_list(pid_t pid, char *out, size_t len)
{
	pid_t list[PERF_TREE_MAX];
	int n = 1;
	size_t used = 0;
	list[0] = pid;
	for (int i = 0; i < n; i++)
		n = add_children(list[i], list, n, PERF_TREE_MAX);
	out[0] = '\0';
	for (int i = 0; i < n && used < len; i++)
		used +=
		    (size_t)snprintf(out + used, len - used, "%s%d", i ? "," : "", (int)list[i]);
}

struct perf_rec *perf_record_start(pid_t pid, int hz, const char *data_path, char *err,
                                   size_t errlen)
{
	char perf[4096], hz_s[16], pid_s[PERF_TREE_MAX * 12];
	int status = 0;

	int e = perf_available(err, errlen);
	if (e < 0) {
		errno = -e;
		return NULL;
	}
	if (pid_gone(pid)) {
		snprintf(err, errlen, "no process with pid %d", (int)pid);
		errno = ESRCH;
		return NULL;
	}
	if (hz < 1 || hz > 100000) {
		snprintf(err, errlen, "sampling frequency %d Hz out of 1..100000", hz);
		errno = EINVAL;
		return NULL;
	}
	find_perf(perf, sizeof(perf));
	snprintf(hz_s, sizeof(hz_s), "%d", hz);
	tree_list(pid, pid_s, sizeof(pid_s));
	char *argv[] = { perf, "record",          "-F", hz_s, "-g", "-p", pid_s,
		         "-o", (char *)data_path, NULL };
	int efd = memfd_create("perf-stderr", MFD_CLOEXEC);
	if (efd < 0) {
		snprintf(err, errlen, "cannot capture perf's messages: %s", strerror(errno));
		errno = EIO;
		return NULL;
	}
	pid_t child = spawn(argv, -1, efd);
	if (child < 0) {
		snprintf(err, errlen, "cannot run %s: %s", perf, strerror((int)-child));
		close(efd);
		errno = EIO;
		return NULL;
	}
	/* perf that cannot open its events exits at once: catch that here */
	if (wait_ms(child, START_GRACE_MS, &status)) {
		summarize_stderr(efd, "perf record", status, err, errlen);
		close(efd);
		errno = EPERM;
		return NULL;
	}
	struct perf_rec *r = xcalloc(1, sizeof(*r));
	r->child = child, r->err_fd = efd;
	return r;
}

pid_t perf_record_pid(const struct perf_rec *r)
{
	return r ? r->child : -1;
}

/* perf_record_stop, with the samples perf said it wrote in *samples (-1: unknown). */
static int record_stop(struct perf_rec *r, int64_t *samples, char *err, size_t errlen)
{
	int status = 0, rc = 0;
	*samples = -1;
	if (!r)
		return 0;
	kill(r->child, SIGINT);
	if (!wait_ms(r->child, PERF_STOP_TIMEOUT_MS, &status)) {
		kill(r->child, SIGKILL);
		waitpid(r->child, &status, 0);
		snprintf(err, errlen, "perf record did not stop within %d s of SIGINT: killed",
		         PERF_STOP_TIMEOUT_MS / 1000);
		rc = -EIO;
	} else if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) &&
	           !(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT)) {
		summarize_stderr(r->err_fd, "perf record", status, err, errlen);
		rc = -EIO;
	}
	if (!rc)
		*samples = recorded_samples(r->err_fd);
	close(r->err_fd);
	free(r);
	return rc;
}

int perf_record_stop(struct perf_rec *r, char *err, size_t errlen)
{
	int64_t samples;
	return record_stop(r, &samples, err, errlen);
}

/* Stream the child's stdout (fd) into the folder (filling out) until EOF or the deadline,
 * asking w (when not NULL) every PERF_WATCH_MS whether to go on. Returns 0, -ETIMEDOUT or
 * -EINTR (w said stop). */
static int pump(int fd, struct fold_perf *fp, const struct folded *out, int64_t deadline_us,
                const struct perf_fold_watch *w)
{
	char buf[1 << 16];
	int64_t next_watch = now_us() + PERF_WATCH_MS * 1000LL;
	for (;;) {
		int64_t now = now_us(), left = (deadline_us - now) / 1000;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0)
			return -ETIMEDOUT;
		if (w && w->check && now >= next_watch) {
			next_watch = now + PERF_WATCH_MS * 1000LL;
			if (w->check(w->ctx, folded_stats(out).samples))
				return -EINTR;
		}
		int k = poll(&p, 1, (int)MIN(left, w && w->check ? PERF_WATCH_MS : 1000));
		if (k < 0 && errno != EINTR)
			return -errno;
		if (k <= 0)
			continue;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : 0;
		fold_perf_feed(fp, buf, (size_t)n);
	}
}

int perf_fold_file(const char *data_path, const struct fold_opts *opts, struct folded *out,
                   const struct perf_fold_watch *w, char *err, size_t errlen)
{
	char perf[4096];
	int op[2], status = 0, rc;
	uint64_t before = folded_stats(out).samples;

	if (find_perf(perf, sizeof(perf)) < 0)
		return perf_available(err, errlen);
	int efd = memfd_create("perf-stderr", MFD_CLOEXEC);
	if (efd < 0 || pipe2(op, O_CLOEXEC) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot run perf script: %s", strerror(errno));
		if (efd >= 0)
			close(efd);
		return rc;
	}
	char *argv[] = { perf, "script", "-i", (char *)data_path, NULL };
	pid_t child = spawn(argv, op[1], efd);
	close(op[1]);
	if (child < 0) {
		snprintf(err, errlen, "cannot run %s: %s", perf, strerror((int)-child));
		close(op[0]), close(efd);
		return (int)child;
	}
	struct fold_perf *fp = fold_perf_new(out, opts);
	rc = pump(op[0], fp, out, now_us() + PERF_SCRIPT_TIMEOUT_MS * 1000LL, w);
	fold_perf_finish(fp);
	fold_perf_free(fp);
	close(op[0]);
	if (rc == -ETIMEDOUT || rc == -EINTR) {
		kill(child, SIGKILL);
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		if (rc == -EINTR)
			snprintf(err, errlen, "interrupted");
		else
			snprintf(err, errlen, "perf script ran longer than %d s: killed",
			         PERF_SCRIPT_TIMEOUT_MS / 1000);
	} else {
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			summarize_stderr(efd, "perf script", status, err, errlen);
			rc = -EIO;
		} else if (folded_stats(out).samples == before) {
			snprintf(err, errlen,
			         "perf recorded no sample: the process used no CPU while it was "
			         "profiled, or perf could not see it");
			rc = -ENODATA;
		}
	}
	close(efd);
	return rc;
}

/* --- a recording in a temporary directory ------------------------------------------- */

struct perf_capture {
	struct perf_rec *rec; /* NULL once stopped */
	char dir[64], data[80];
	int stop_rc;
	int64_t samples; /* what perf record said it wrote, -1: unknown */
	char stop_err[1024];
};

struct perf_capture *perf_capture_start(pid_t pid, int hz, char *err, size_t errlen)
{
	struct perf_capture *c = xcalloc(1, sizeof(*c));
	int e;
	/* $TMPDIR when it is an absolute path that fits, else /tmp */
	const char *tmp = getenv("TMPDIR");
	if (!tmp || tmp[0] != '/' || strlen(tmp) > sizeof(c->dir) - 32)
		tmp = "/tmp";
	snprintf(c->dir, sizeof(c->dir), "%s/stampede-perf.XXXXXX", tmp);
	if (!mkdtemp(c->dir)) {
		e = errno;
		snprintf(err, errlen, "cannot create a temporary directory in %s: %s", tmp,
		         strerror(e));
		free(c);
		errno = EIO;
		return NULL;
	}
	snprintf(c->data, sizeof(c->data), "%s/perf.data", c->dir);
	c->samples = -1;
	c->rec = perf_record_start(pid, hz, c->data, err, errlen);
	if (!c->rec) {
		e = errno;
		rmdir(c->dir);
		free(c);
		errno = e;
		return NULL;
	}
	return c;
}

pid_t perf_capture_pid(const struct perf_capture *c)
{
	return c ? perf_record_pid(c->rec) : -1;
}

bool perf_capture_ended(const struct perf_capture *c)
{
	siginfo_t si = { 0 };
	pid_t pid = perf_capture_pid(c);
	if (pid <= 0)
		return true;
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0;
}

int perf_capture_stop(struct perf_capture *c, char *err, size_t errlen)
{
	if (c && c->rec) {
		c->stop_rc = record_stop(c->rec, &c->samples, c->stop_err, sizeof(c->stop_err));
		c->rec = NULL;
	}
	if (c && c->stop_rc < 0)
		snprintf(err, errlen, "%s", c->stop_err);
	return c ? c->stop_rc : 0;
}

int64_t perf_capture_samples(const struct perf_capture *c)
{
	return c && !c->rec ? c->samples : -1;
}

int perf_capture_fold(struct perf_capture *c, const struct fold_opts *opts, struct folded *out,
                      const struct perf_fold_watch *w, char *err, size_t errlen)
{
	int rc = perf_capture_stop(c, err, errlen);
	return rc < 0 ? rc : perf_fold_file(c->data, opts, out, w, err, errlen);
}

void perf_capture_free(struct perf_capture *c)
{
	char err[1024];
	if (!c)
		return;
	perf_capture_stop(c, err, sizeof(err));
	unlink(c->data);
	rmdir(c->dir);
	free(c);
}
