/* procfs.c: process and host readings from /proc (procfs.h). */
#include "util/procfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/common.h"

/* Read a small /proc file whole into buf (NUL-terminated, cut at len - 1 bytes). Returns
 * its length or -errno. open, read, close and nothing else (no stdio: its fstat and the
 * read that finds the end double the system calls, and the monitor reads two files per
 * thread of the target every second): a /proc file is a seq_file, whose read(2) fills the
 * buffer unless the file ends first, so a short read is the end. */
static ssize_t slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = 0;
	while (n < len - 1) {
		ssize_t r = read(fd, buf + n, len - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
		n += (size_t)r;
		if (r == 0 || n < len - 1) /* the end (a short read of a seq_file) */
			break;
	}
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

/* The number after "key" (a line "key: value" or "key value") in text; false if absent. */
static bool field_u64(const char *text, const char *key, uint64_t *out)
{
	size_t kl = strlen(key);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, kl) != 0 || (p[kl] != ':' && !isspace((unsigned char)p[kl])))
			continue;
		p += kl + (p[kl] == ':');
		char *end;
		unsigned long long v = strtoull(p, &end, 10);
		if (end == p)
			return false;
		*out = v;
		return true;
	}
	return false;
}

/* The utime + stime of a stat file's text, µs; false when it cannot be parsed. */
static bool stat_cpu_us(const char *buf, uint64_t *us)
{
	const char *p = strrchr(buf, ')');
	unsigned long long ut, st;
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return false;
	static long tck;
	if (!tck)
		tck = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
	*us = (uint64_t)(ut + st) * 1000000ull / (uint64_t)tck;
	return true;
}

/* What a tree reading collects besides the sums: the processes to read (each one's
 * children are appended) and, when thr is not NULL, each thread's CPU. */
struct walk {
	pid_t *list;
	int n, max;
	struct procfs_thread *thr;
	int nthr, maxthr;
	bool tree_capped, threads_capped; /* a process or thread was left out */
};

/* One thread's CPU into t: schedstat's ns on a CPU and ns waiting on a runqueue
 * (CONFIG_SCHED_INFO), else stat's utime + stime (ticks) and no wait. */
static bool thread_cpu(const char *task, struct procfs_thread *t)
{
	char path[128], buf[1024];
	unsigned long long run_ns, wait_ns;
	snprintf(path, sizeof(path), "%s/schedstat", task);
	if (slurp(path, buf, sizeof(buf)) > 0 && sscanf(buf, "%llu %llu", &run_ns, &wait_ns) == 2) {
		t->cpu_us = run_ns / 1000, t->wait_us = wait_ns / 1000;
		return true;
	}
	snprintf(path, sizeof(path), "%s/stat", task);
	return slurp(path, buf, sizeof(buf)) > 0 && stat_cpu_us(buf, &t->cpu_us);
}

/* Append the pids of a thread's children file (text "12 34 ") to w's list. */
static void add_children(const char *task, struct walk *w)
{
	char path[128], buf[4096];
	snprintf(path, sizeof(path), "%s/children", task);
	if (slurp(path, buf, sizeof(buf)) <= 0)
		return;
	char *p = buf, *end;
	for (long v; (v = strtol(p, &end, 10), end != p); p = end) {
		if (w->n == w->max) {
			w->tree_capped = true;
			return;
		}
		w->list[w->n++] = (pid_t)v;
	}
}

/* One pass over the threads of pid, at most PROCFS_TREE_MAX: their context switches into
 * out (a process's own status file counts its main thread's only) and, with w, their
 * children and CPU. One directory read and two or three small files per thread: the
 * monitor does this every second. */
static void task_walk(pid_t pid, struct procfs_proc *out, struct walk *w)
{
	char dir[64], task[96], path[128], buf[2048];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	for (int n = 0; (e = readdir(d));) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		if (n++ == PROCFS_TREE_MAX) {
			if (w)
				w->threads_capped = true;
			break;
		}
		snprintf(task, sizeof(task), "%s/%.16s", dir, e->d_name);
		snprintf(path, sizeof(path), "%s/status", task);
		uint64_t v;
		if (slurp(path, buf, sizeof(buf)) > 0) {
			if (field_u64(buf, "voluntary_ctxt_switches", &v))
				out->ctx_voluntary += v;
			if (field_u64(buf, "nonvoluntary_ctxt_switches", &v))
				out->ctx_involuntary += v;
		}
		if (!w)
			continue;
		add_children(task, w);
		struct procfs_thread t = { (pid_t)atoi(e->d_name), 0, 0 };
		if (w->thr && w->nthr == w->maxthr)
			w->threads_capped = true;
		else if (w->thr && thread_cpu(task, &t))
			w->thr[w->nthr++] = t;
	}
	closedir(d);
}

/* A process's stat: its CPU times and threads added to out, its parent in *ppid (when not
 * NULL). 0, -ESRCH when it is gone or a zombie, or another negative errno. */
static int proc_stat(pid_t pid, struct procfs_proc *out, pid_t *ppid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	ssize_t n = slurp(path, buf, sizeof(buf));
	if (n < 0)
		return n == -ENOENT ? -ESRCH : (int)n;
	/* the fields after the command name, which may hold spaces and parentheses */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	char state;
	long long f[22] = { 0 };
	int got = sscanf(p + 2,
	                 "%c %lld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld %*d %*d %*d "
	                 "%*d %lld",
	                 &state, &f[0], &f[1], &f[2], &f[3]);
	if (got < 5)
		return -EIO;
	if (state == 'Z' || state == 'X')
		return -ESRCH;
	static long tck;
	if (!tck)
		tck = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
	if (ppid)
		*ppid = (pid_t)f[0];
	out->user_us += (uint64_t)f[1] * 1000000ull / (uint64_t)tck;
	out->system_us += (uint64_t)f[2] * 1000000ull / (uint64_t)tck;
	out->threads += f[3];
	return 0;
}

/* One process: stat, status, its threads (task_walk, with w), io and fd. */
static int proc_one(pid_t pid, struct procfs_proc *out, pid_t *ppid, struct walk *w)
{
	char path[64], buf[4096];
	int e = proc_stat(pid, out, ppid);
	if (e < 0)
		return e;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (slurp(path, buf, sizeof(buf)) > 0) {
		uint64_t v;
		if (field_u64(buf, "VmRSS", &v))
			out->rss_bytes += v * 1024;
	}
	task_walk(pid, out, w);
	snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
	uint64_t rb, wb;
	if (slurp(path, buf, sizeof(buf)) > 0 && field_u64(buf, "read_bytes", &rb) &&
	    field_u64(buf, "write_bytes", &wb) && out->read_bytes >= 0) {
		out->read_bytes += (int64_t)rb;
		out->write_bytes += (int64_t)wb;
	} else {
		out->read_bytes = out->write_bytes = -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (d && out->fds >= 0) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				out->fds++;
	} else {
		out->fds = -1;
	}
	if (d)
		closedir(d);
	out->processes++;
	return 0;
}

int procfs_proc_read(pid_t pid, struct procfs_proc *out)
{
	memset(out, 0, sizeof(*out));
	return proc_one(pid, out, NULL, NULL);
}

int procfs_proc_cpu_rss(pid_t pid, struct procfs_proc *out)
{
	char path[64], buf[128];
	unsigned long long pages, resident;
	memset(out, 0, sizeof(*out));
	out->fds = out->read_bytes = out->write_bytes = -1;
	int e = proc_stat(pid, out, NULL);
	if (e < 0)
		return e;
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	if (slurp(path, buf, sizeof(buf)) > 0 && sscanf(buf, "%llu %llu", &pages, &resident) == 2)
		out->rss_bytes = resident * (uint64_t)sysconf(_SC_PAGESIZE);
	out->processes = 1;
	return 0;
}

static int thread_cmp(const void *a, const void *b)
{
	pid_t x = ((const struct procfs_thread *)a)->tid,
	      y = ((const struct procfs_thread *)b)->tid;
	return (x > y) - (x < y);
}

int procfs_tree_read_threads(pid_t pid, struct procfs_proc *out, struct procfs_thread *thr, int max)
{
	pid_t list[PROCFS_TREE_MAX];
	struct walk w = { list, 1, PROCFS_TREE_MAX, thr, 0, thr ? max : 0, false, false };
	list[0] = pid;
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < w.n; i++) {
		int e = proc_one(list[i], out, NULL, &w);
		if (e < 0 && i == 0)
			return e;
	}
	out->tree_capped = w.tree_capped;
	out->threads_capped = thr && w.threads_capped;
	if (thr)
		qsort(thr, (size_t)w.nthr, sizeof(*thr), thread_cmp);
	return w.nthr;
}

int procfs_tree_read(pid_t pid, struct procfs_proc *out)
{
	int n = procfs_tree_read_threads(pid, out, NULL, 0);
	return n < 0 ? n : 0;
}

int procfs_tree_threads(pid_t pid, struct procfs_thread *out, int max)
{
	struct procfs_proc p;
	return procfs_tree_read_threads(pid, &p, out, max);
}

/* The merge of two tid-sorted readings: the largest and the total Δ(cpu + wait) of the
 * threads in both. */
static void demand_walk(const struct procfs_thread *prev, int nprev,
                        const struct procfs_thread *cur, int ncur, uint64_t *best, pid_t *tid,
                        uint64_t *total)
{
	*best = *total = 0;
	if (tid)
		*tid = 0;
	for (int i = 0, j = 0; i < nprev && j < ncur;) {
		if (prev[i].tid < cur[j].tid) {
			i++;
		} else if (prev[i].tid > cur[j].tid) {
			j++;
		} else {
			uint64_t c = cur[j].cpu_us + cur[j].wait_us,
			         p = prev[i].cpu_us + prev[i].wait_us;
			if (c > p) {
				*total += c - p;
				if (c - p > *best) {
					*best = c - p;
					if (tid)
						*tid = cur[j].tid;
				}
			}
			i++, j++;
		}
	}
}

uint64_t procfs_threads_busiest(const struct procfs_thread *prev, int nprev,
                                const struct procfs_thread *cur, int ncur, pid_t *tid)
{
	uint64_t best, total;
	demand_walk(prev, nprev, cur, ncur, &best, tid, &total);
	return best;
}

uint64_t procfs_threads_demand(const struct procfs_thread *prev, int nprev,
                               const struct procfs_thread *cur, int ncur)
{
	uint64_t best, total;
	demand_walk(prev, nprev, cur, ncur, &best, NULL, &total);
	return total;
}

int procfs_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	ssize_t n = slurp(path, buf, len);
	if (n < 0)
		return n == -ENOENT ? -ESRCH : (int)n;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int procfs_tree_comm(pid_t pid, char *buf, size_t len)
{
	int e = procfs_comm(pid, buf, len);
	if (e < 0 || (strcmp(buf, "sh") && strcmp(buf, "dash") && strcmp(buf, "bash")))
		return e;
	pid_t kids[8];
	char task[64];
	struct walk w = { kids, 0, ARRAY_SIZE(kids), NULL, 0, 0, false, false };
	snprintf(task, sizeof(task), "/proc/%d/task/%d", (int)pid, (int)pid); /* a shell's one */
	add_children(task, &w);
	if (w.n > 0)
		procfs_comm(kids[0], buf, len);
	return 0;
}

int procfs_group_live(pid_t pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[64], buf[512], state;
		int grp;
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%.16s/stat", e->d_name);
		if (slurp(path, buf, sizeof(buf)) <= 0)
			continue;
		char *p = strrchr(buf, ')');
		/* state ppid pgrp */
		if (p && sscanf(p + 2, "%c %*d %d", &state, &grp) == 2 && grp == (int)pgid &&
		    state != 'Z' && state != 'X')
			n++;
	}
	closedir(d);
	return n;
}

bool procfs_in_tree(pid_t root, pid_t pid)
{
	/* up the parents from pid: at most a few hundred steps on any real system */
	for (int i = 0; i < 4096 && pid > 1; i++) {
		struct procfs_proc p = { 0 };
		pid_t pp = 0;
		if (pid == root)
			return true;
		if (proc_stat(pid, &p, &pp) < 0)
			return false;
		pid = pp;
	}
	return pid == root && root > 0;
}

/* The smallest limit in file name of dir and its parents up to base. */
static int64_t cgroup_walk(const char *base, const char *path, const char *name)
{
	char dir[1024], file[1200], buf[64];
	int64_t best = 0;
	snprintf(dir, sizeof(dir), "%s%s", base, path);
	for (;;) {
		snprintf(file, sizeof(file), "%s/%s", dir, name);
		if (slurp(file, buf, sizeof(buf)) > 0 && isdigit((unsigned char)buf[0])) {
			unsigned long long v = strtoull(buf, NULL, 10);
			if (v > 0 && v < (1ull << 62) && (best == 0 || (int64_t)v < best))
				best = (int64_t)v; /* "max" and v1's 2^63-4096: no limit */
		}
		char *slash = strrchr(dir, '/');
		if (!slash || strlen(dir) <= strlen(base))
			break;
		*slash = '\0';
	}
	return best;
}

int64_t procfs_cgroup_mem_limit(pid_t pid)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	FILE *f = fopen(path, "re");
	int64_t v2 = 0, v1 = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
		if (!b || b[1] != '/')
			continue;
		if (b == a + 1) /* "0::/path" */
			v2 = cgroup_walk("/sys/fs/cgroup", b[2] ? b + 1 : "", "memory.max");
		else if (!strncmp(a + 1, "memory:", 7) || strstr(a + 1, ",memory:"))
			v1 = cgroup_walk("/sys/fs/cgroup/memory", b[2] ? b + 1 : "",
			                 "memory.limit_in_bytes");
	}
	fclose(f);
	return v2 && v1 ? MIN(v2, v1) : v2 ? v2 : v1;
}

bool procfs_host_cpu(uint64_t *busy, uint64_t *total)
{
	char buf[512];
	unsigned long long v[10] = { 0 };
	if (slurp("/proc/stat", buf, sizeof(buf)) <= 0)
		return false;
	int n = sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
	               &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	if (n < 4)
		return false;
	*total = 0;
	for (int i = 0; i < 8; i++) /* guest time is already in user */
		*total += v[i];
	*busy = *total - v[3] - v[4]; /* minus idle and iowait */
	return true;
}

/* The value of column key in the "Prefix: names" / "Prefix: values" line pair of text
 * (/proc/net/snmp, /proc/net/netstat). */
static bool pair_u64(const char *text, const char *prefix, const char *key, uint64_t *out)
{
	size_t pl = strlen(prefix);
	const char *names = NULL;
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, prefix, pl) != 0)
			continue;
		if (!names) {
			names = p + pl;
			continue;
		}
		/* p: the values line; walk both lines' space-separated columns together */
		const char *a = names, *b = p + pl;
		size_t kl = strlen(key);
		while (*a && *a != '\n' && *b && *b != '\n') {
			while (*a == ' ')
				a++;
			while (*b == ' ')
				b++;
			size_t al = strcspn(a, " \n");
			if (al == kl && !strncmp(a, key, kl)) {
				char *end;
				unsigned long long v = strtoull(b, &end, 10);
				if (end == b)
					return false;
				*out = v;
				return true;
			}
			a += al;
			b += strcspn(b, " \n");
		}
		return false;
	}
	return false;
}

int procfs_host_read(struct procfs_host *out)
{
	static char buf[16384];
	memset(out, 0, sizeof(*out));
	if (!procfs_host_cpu(&out->cpu_busy, &out->cpu_total))
		return -EIO;
	long c = sysconf(_SC_NPROCESSORS_ONLN);
	out->cpus = c > 0 ? (int)c : 1;
	if (slurp("/proc/loadavg", buf, sizeof(buf)) > 0)
		out->load1 = strtod(buf, NULL);
	if (slurp("/proc/meminfo", buf, sizeof(buf)) > 0) {
		uint64_t total = 0, avail = 0, st = 0, sf = 0;
		field_u64(buf, "MemTotal", &total);
		field_u64(buf, "MemAvailable", &avail);
		field_u64(buf, "SwapTotal", &st);
		field_u64(buf, "SwapFree", &sf);
		out->mem_total_bytes = total * 1024;
		out->mem_available_bytes = avail * 1024;
		out->swap_used_bytes = st > sf ? (st - sf) * 1024 : 0;
	}
	if (slurp("/proc/net/snmp", buf, sizeof(buf)) > 0)
		pair_u64(buf, "Tcp:", "RetransSegs", &out->tcp_retrans_segs);
	if (slurp("/proc/net/netstat", buf, sizeof(buf)) > 0) {
		pair_u64(buf, "TcpExt:", "ListenOverflows", &out->listen_overflows);
		pair_u64(buf, "TcpExt:", "ListenDrops", &out->listen_drops);
	}
	return 0;
}

#define PORT_INODES_MAX 16
#define PORT_PIDS_MAX   64

/* The inodes of the sockets listening on port in one /proc/net/tcp* file. */
static int listen_inodes(const char *path, int port, unsigned long *ino, int n)
{
	FILE *f = fopen(path, "re");
	char line[512];
	if (!f)
		return n;
	while (n < PORT_INODES_MAX && fgets(line, sizeof(line), f)) {
		char local[128];
		unsigned st, lport;
		unsigned long inode;
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, " %*d: %127s %*s %x %*s %*s %*s %*u %*u %lu", local, &st,
		           &inode) != 3)
			continue;
		char *colon = strrchr(local, ':');
		if (!colon || sscanf(colon + 1, "%x", &lport) != 1)
			continue;
		if (st == 0x0A && (int)lport == port && inode) /* TCP_LISTEN */
			ino[n++] = inode;
	}
	fclose(f);
	return n;
}

/* Whether process pid holds one of the inodes as an open socket. */
static bool holds_socket(const char *pid, const unsigned long *ino, int n)
{
	char path[96], link[64];
	snprintf(path, sizeof(path), "/proc/%.16s/fd", pid);
	DIR *d = opendir(path);
	if (!d)
		return false;
	struct dirent *e;
	bool found = false;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%.16s/fd/%.32s", pid, e->d_name);
		ssize_t l = readlink(path, link, sizeof(link) - 1);
		unsigned long v;
		if (l <= 8 || strncmp(link, "socket:[", 8) != 0)
			continue;
		link[l] = '\0';
		v = strtoul(link + 8, NULL, 10);
		for (int i = 0; i < n && !found; i++)
			found = v == ino[i];
	}
	closedir(d);
	return found;
}

pid_t procfs_port_pid(int port)
{
	unsigned long ino[PORT_INODES_MAX];
	int n = listen_inodes("/proc/net/tcp", port, ino, 0);
	n = listen_inodes("/proc/net/tcp6", port, ino, n);
	if (n == 0)
		return -ENOENT;
	pid_t pids[PORT_PIDS_MAX], ppids[PORT_PIDS_MAX];
	int np = 0;
	DIR *d = opendir("/proc");
	if (!d)
		return -EACCES;
	struct dirent *e;
	while (np < PORT_PIDS_MAX && (e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]) || !holds_socket(e->d_name, ino, n))
			continue;
		struct procfs_proc p = { 0 };
		pid_t pid = (pid_t)atoi(e->d_name), pp = 0;
		if (proc_one(pid, &p, &pp, NULL) == 0) {
			pids[np] = pid;
			ppids[np++] = pp;
		}
	}
	closedir(d);
	/* the holder whose parent is not a holder: the top of a pre-forked tree */
	for (int i = 0; i < np; i++) {
		bool child = false;
		for (int j = 0; j < np && !child; j++)
			child = ppids[i] == pids[j];
		if (!child)
			return pids[i];
	}
	return np ? pids[0] : -EACCES;
}
