/* monitor.c: the target, host and generator readings of a run (monitor.h). */
#include "engine/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/scrape.h"
#include "util/common.h"
#include "util/procfs.h"

enum {
	T_CPU,
	T_CPU_USER,
	T_CPU_SYSTEM,
	T_RSS,
	T_THREADS,
	T_FDS,
	T_CTX_VOL,
	T_CTX_INVOL,
	T_READ,
	T_WRITE,
	T_THREAD_MAX,
	T_DEMAND,
	H_CPU,
	H_LOAD1,
	H_MEM_AVAIL,
	H_SWAP,
	H_RETRANS,
	H_OVERFLOWS,
	H_DROPS,
	G_CPU,
	G_RSS,
	MON_NMETRICS,
	MON_FIRST_HOST = H_CPU,
};

static const struct {
	const char *name;
	enum metric_type type;
	enum metric_unit unit;
} defs[MON_NMETRICS] = {
	[T_CPU] = { "target_cpu_percent", MT_GAUGE, MU_NONE },
	[T_CPU_USER] = { "target_cpu_user_percent", MT_GAUGE, MU_NONE },
	[T_CPU_SYSTEM] = { "target_cpu_system_percent", MT_GAUGE, MU_NONE },
	[T_RSS] = { "target_rss_bytes", MT_GAUGE, MU_BYTES },
	[T_THREADS] = { "target_threads", MT_GAUGE, MU_NONE },
	[T_FDS] = { "target_open_fds", MT_GAUGE, MU_NONE },
	[T_CTX_VOL] = { "target_ctx_switches_voluntary", MT_COUNTER, MU_NONE },
	[T_CTX_INVOL] = { "target_ctx_switches_involuntary", MT_COUNTER, MU_NONE },
	[T_READ] = { "target_disk_read_bytes", MT_COUNTER, MU_BYTES },
	[T_WRITE] = { "target_disk_write_bytes", MT_COUNTER, MU_BYTES },
	[T_THREAD_MAX] = { "target_thread_busy_max_percent", MT_GAUGE, MU_NONE },
	[T_DEMAND] = { "target_cpu_demand_percent", MT_GAUGE, MU_NONE },
	[H_CPU] = { "host_cpu_percent", MT_GAUGE, MU_NONE },
	[H_LOAD1] = { "host_load1", MT_GAUGE, MU_NONE },
	[H_MEM_AVAIL] = { "host_mem_available_bytes", MT_GAUGE, MU_BYTES },
	[H_SWAP] = { "host_swap_used_bytes", MT_GAUGE, MU_BYTES },
	[H_RETRANS] = { "host_tcp_retransmits", MT_COUNTER, MU_NONE },
	[H_OVERFLOWS] = { "host_listen_overflows", MT_COUNTER, MU_NONE },
	[H_DROPS] = { "host_listen_drops", MT_COUNTER, MU_NONE },
	[G_CPU] = { "generator_cpu_percent", MT_GAUGE, MU_NONE },
	[G_RSS] = { "generator_rss_bytes", MT_GAUGE, MU_BYTES },
};

struct monitor {
	pid_t pid;
	char found[64];
	char comm[32];
	bool named;           /* comm read once the target runs */
	int64_t cgroup_limit; /* its cgroup's memory limit, bytes; 0: none */
	int sid[MON_NMETRICS];
	bool attached;
	int64_t samples;
	int64_t prev_at; /* monotonic µs of the last reading; 0 before the first */
	struct procfs_proc tprev, gprev;
	struct procfs_host hprev;
	struct procfs_thread *thr[2]; /* per-thread CPU: the last reading, this one */
	int nthr[2];
	bool have_t, have_h, have_g;
	bool target_gone;
	double exited_at_s;
	int processes_max;
	bool processes_capped, threads_capped; /* PROCFS_TREE_MAX / PROCFS_THREADS_MAX hit */
	bool io_readable, fds_readable;
	int cpus;
	uint64_t mem_total;
	struct scraper *scr[SCRAPE_MAX_URLS];
	int nscr;
};

struct monitor *monitor_new(pid_t pid, const char *found)
{
	struct monitor *m = xcalloc(1, sizeof(*m));
	m->pid = pid;
	m->exited_at_s = -1;
	m->thr[0] = xcalloc(PROCFS_THREADS_MAX, sizeof(struct procfs_thread));
	m->thr[1] = xcalloc(PROCFS_THREADS_MAX, sizeof(struct procfs_thread));
	m->nthr[0] = -1;
	m->io_readable = m->fds_readable = true;
	snprintf(m->found, sizeof(m->found), "%s", found ? found : "");
	if (pid > 0 && procfs_tree_comm(pid, m->comm, sizeof(m->comm)) < 0)
		m->comm[0] = '\0';
	return m;
}

int monitor_attach(struct monitor *m, struct registry *reg)
{
	for (int i = m->pid > 0 ? 0 : MON_FIRST_HOST; i < MON_NMETRICS; i++) {
		int id = registry_metric(reg, defs[i].name, defs[i].type, defs[i].unit);
		if (id < 0)
			return id;
		m->sid[i] = registry_series(reg, id, NULL, 0);
	}
	int first_foreign = registry_nmetrics(reg);
	const char *reserved[MON_NMETRICS + 1] = { 0 }; /* target_* too when no pid is watched */
	for (int i = 0; i < MON_NMETRICS; i++)
		reserved[i] = defs[i].name;
	for (int i = 0; i < m->nscr; i++)
		scraper_attach(m->scr[i], reg, first_foreign, reserved);
	m->attached = true;
	return 0;
}

void monitor_add_scraper(struct monitor *m, struct scraper *s)
{
	if (m->nscr == SCRAPE_MAX_URLS) {
		scraper_free(s);
		return;
	}
	m->scr[m->nscr++] = s;
}

void monitor_baseline(struct monitor *m)
{
	for (int i = 0; m && m->attached && i < m->nscr; i++)
		scraper_baseline(m->scr[i]);
}

void monitor_start(struct monitor *m, int64_t start_us)
{
	for (int i = 0; m && m->attached && i < m->nscr; i++)
		scraper_start(m->scr[i], start_us);
}

void monitor_end(struct monitor *m, struct sink *s)
{
	for (int i = 0; m && m->attached && i < m->nscr; i++)
		scraper_end(m->scr[i], s);
}

void monitor_set_requests(struct monitor *m, double http_reqs)
{
	for (int i = 0; m && i < m->nscr; i++)
		scraper_set_requests(m->scr[i], http_reqs);
}

/* CPU time used in dt_us as % of one core. */
static double cpu_pct(uint64_t now, uint64_t before, int64_t dt_us)
{
	return now > before && dt_us > 0 ? 100.0 * (double)(now - before) / (double)dt_us : 0;
}

static double delta(uint64_t now, uint64_t before)
{
	return now > before ? (double)(now - before) : 0; /* counters reset: no negative rate */
}

/* The busiest thread's CPU demand (running or waiting for a CPU) as % of the interval: a
 * single-threaded event loop (or one lock holder) is CPU-bound at 100% of one core while
 * the process's total stays low on a many-core machine. */
static void sample_threads(struct monitor *m, struct sink *s, int64_t dt, int n)
{
	if (m->nthr[0] >= 0 && dt > 0) {
		uint64_t busiest =
		    procfs_threads_busiest(m->thr[0], m->nthr[0], m->thr[1], n, NULL);
		/* one thread cannot use more than the interval: more is the readings' jitter */
		sink_gauge(s, m->sid[T_THREAD_MAX], MIN(100.0, cpu_pct(busiest, 0, dt)));
		sink_gauge(
		    s, m->sid[T_DEMAND],
		    cpu_pct(procfs_threads_demand(m->thr[0], m->nthr[0], m->thr[1], n), 0, dt));
	}
	struct procfs_thread *t = m->thr[0];
	m->thr[0] = m->thr[1], m->thr[1] = t;
	m->nthr[0] = n;
}

static void sample_target(struct monitor *m, struct sink *s, int64_t dt, double elapsed_s)
{
	struct procfs_proc p;
	if (m->target_gone)
		return;
	int nthr = procfs_tree_read_threads(m->pid, &p, m->thr[1], PROCFS_THREADS_MAX);
	if (nthr < 0) {
		m->target_gone = true;
		m->exited_at_s = elapsed_s;
		fprintf(
		    stderr,
		    "\nstampede: warning: the monitored process %d%s%s%s exited %.0f s into the "
		    "run\n",
		    (int)m->pid, m->comm[0] ? " (" : "", m->comm, m->comm[0] ? ")" : "", elapsed_s);
		return;
	}
	m->processes_max = MAX(m->processes_max, p.processes);
	if (p.tree_capped && !m->processes_capped) {
		m->processes_capped = true;
		fprintf(stderr,
		        "stampede: warning: the target has more than %d processes: the readings "
		        "cover the first %d\n",
		        PROCFS_TREE_MAX, PROCFS_TREE_MAX);
	}
	if (p.threads_capped && !m->threads_capped) {
		m->threads_capped = true;
		fprintf(stderr,
		        "stampede: warning: the target has more than %d threads (or more than %d "
		        "in one process): the per-thread readings (target_thread_busy_max_percent, "
		        "target_cpu_demand_percent) cover the first ones\n",
		        PROCFS_THREADS_MAX, PROCFS_TREE_MAX);
	}
	if (!m->named) { /* after --monitor-cmd's shell has started the command */
		procfs_tree_comm(m->pid, m->comm, sizeof(m->comm));
		m->cgroup_limit = procfs_cgroup_mem_limit(m->pid);
		m->named = true;
	}
	sink_gauge(s, m->sid[T_RSS], (double)p.rss_bytes);
	sink_gauge(s, m->sid[T_THREADS], (double)p.threads);
	if (p.fds >= 0)
		sink_gauge(s, m->sid[T_FDS], (double)p.fds);
	else
		m->fds_readable = false;
	if (p.read_bytes < 0)
		m->io_readable = false;
	if (m->have_t && dt > 0) {
		const struct procfs_proc *q = &m->tprev;
		double u = cpu_pct(p.user_us, q->user_us, dt),
		       y = cpu_pct(p.system_us, q->system_us, dt);
		sink_gauge(s, m->sid[T_CPU], u + y);
		sink_gauge(s, m->sid[T_CPU_USER], u);
		sink_gauge(s, m->sid[T_CPU_SYSTEM], y);
		sink_add(s, m->sid[T_CTX_VOL], delta(p.ctx_voluntary, q->ctx_voluntary));
		sink_add(s, m->sid[T_CTX_INVOL], delta(p.ctx_involuntary, q->ctx_involuntary));
		if (p.read_bytes >= 0 && q->read_bytes >= 0) {
			sink_add(s, m->sid[T_READ],
			         delta((uint64_t)p.read_bytes, (uint64_t)q->read_bytes));
			sink_add(s, m->sid[T_WRITE],
			         delta((uint64_t)p.write_bytes, (uint64_t)q->write_bytes));
		}
	}
	m->tprev = p;
	m->have_t = true;
	sample_threads(m, s, dt, nthr);
}

static void sample_host(struct monitor *m, struct sink *s)
{
	struct procfs_host h;
	if (procfs_host_read(&h) < 0)
		return;
	m->cpus = h.cpus;
	m->mem_total = h.mem_total_bytes;
	sink_gauge(s, m->sid[H_LOAD1], h.load1);
	sink_gauge(s, m->sid[H_MEM_AVAIL], (double)h.mem_available_bytes);
	sink_gauge(s, m->sid[H_SWAP], (double)h.swap_used_bytes);
	if (m->have_h) {
		const struct procfs_host *q = &m->hprev;
		if (h.cpu_total > q->cpu_total)
			sink_gauge(s, m->sid[H_CPU],
			           100.0 * delta(h.cpu_busy, q->cpu_busy) /
			               (double)(h.cpu_total - q->cpu_total));
		sink_add(s, m->sid[H_RETRANS], delta(h.tcp_retrans_segs, q->tcp_retrans_segs));
		sink_add(s, m->sid[H_OVERFLOWS], delta(h.listen_overflows, q->listen_overflows));
		sink_add(s, m->sid[H_DROPS], delta(h.listen_drops, q->listen_drops));
	}
	m->hprev = h;
	m->have_h = true;
}

static void sample_generator(struct monitor *m, struct sink *s, int64_t dt)
{
	struct procfs_proc g;
	if (procfs_proc_cpu_rss(getpid(), &g) < 0)
		return;
	sink_gauge(s, m->sid[G_RSS], (double)g.rss_bytes);
	if (m->have_g && dt > 0)
		sink_gauge(
		    s, m->sid[G_CPU],
		    cpu_pct(g.user_us + g.system_us, m->gprev.user_us + m->gprev.system_us, dt));
	m->gprev = g;
	m->have_g = true;
}

void monitor_sample(struct monitor *m, struct sink *s, double elapsed_s)
{
	if (!m || !m->attached)
		return;
	int64_t now = now_us(), dt = m->prev_at ? now - m->prev_at : 0;
	if (m->pid > 0)
		sample_target(m, s, dt, elapsed_s);
	sample_host(m, s);
	sample_generator(m, s, dt);
	for (int i = 0; i < m->nscr; i++)
		scraper_sample(m->scr[i], s);
	m->prev_at = now;
	m->samples++;
}

json_t *monitor_json(const struct monitor *m)
{
	json_t *j = json_object(), *t = json_null();
	if (m->pid > 0) {
		t = json_pack("{s:i, s:s, s:s, s:i, s:b, s:b}", "pid", (int)m->pid, "comm", m->comm,
		              "found", m->found, "processes", m->processes_max, "ioReadable",
		              m->io_readable, "fdsReadable", m->fds_readable);
		json_object_set_new(t, "processesCapped", json_boolean(m->processes_capped));
		json_object_set_new(t, "threadsCapped", json_boolean(m->threads_capped));
		json_object_set_new(t, "cgroupMemoryLimit",
		                    m->cgroup_limit ? json_integer(m->cgroup_limit) : json_null());
		json_object_set_new(t, "exitedAtS",
		                    m->exited_at_s >= 0 ? json_real(m->exited_at_s) : json_null());
	}
	json_object_set_new(j, "target", t);
	json_object_set_new(
	    j, "host",
	    json_pack("{s:i, s:f}", "cpus", m->cpus, "memTotalBytes", (double)m->mem_total));
	json_object_set_new(j, "samples", json_integer(m->samples));
	if (m->nscr) {
		json_t *a = json_array();
		for (int i = 0; i < m->nscr; i++)
			json_array_append_new(a, scraper_json(m->scr[i]));
		json_object_set_new(j, "scrape", a);
	}
	return j;
}

void monitor_free(struct monitor *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->nscr; i++)
		scraper_free(m->scr[i]);
	free(m->thr[0]);
	free(m->thr[1]);
	free(m);
}

/* Stop process group pgid whose leader (pid pgid, our child) may be reaped already
 * (*reaped, its status in *st): SIGTERM, then SIGKILL to what is left after grace_us.
 * Returns once the leader is reaped and no process of the group is left (or after the
 * SIGKILL, when the leader is reaped). */
static void stop_group(pid_t pgid, int64_t grace_us, bool *reaped, int *st)
{
	kill(-pgid, SIGTERM);
	int64_t until = now_us() + grace_us;
	for (;;) {
		pid_t w = *reaped ? 0 : waitpid(pgid, st, WNOHANG);
		if (w == pgid || (w < 0 && errno == ECHILD)) /* ECHILD: reaped elsewhere */
			*reaped = true;
		/* the group is gone when nothing of it runs: the leader reaped, its orphans
		 * gone or zombies (an init that does not reap them, in a container) */
		if (*reaped &&
		    ((kill(-pgid, 0) < 0 && errno == ESRCH) || procfs_group_live(pgid) == 0))
			return;
		if (now_us() >= until)
			break;
		usleep(20 * 1000);
	}
	kill(-pgid, SIGKILL);
	if (!*reaped && waitpid(pgid, st, 0) == pgid)
		*reaped = true;
}

/* The port's holder once it listens, against the command's process group pid: 0 when it
 * is the command's tree (*watch = pid) or a process of its group outside the tree (a
 * daemonized server: *watch = that process), else -EADDRINUSE with the reason in err. */
static int check_holder(pid_t pid, pid_t holder, int port, pid_t *watch, char *err, size_t errlen)
{
	char comm[32] = "?";
	if (procfs_in_tree(pid, holder)) {
		*watch = pid;
		return 0;
	}
	procfs_comm(holder, comm, sizeof(comm));
	if (getpgid(holder) == pid) {
		fprintf(stderr,
		        "stampede: --monitor-cmd: port %d is held by pid %d (%s), which left the "
		        "command's process tree but not its group (it daemonized): watching "
		        "it\n",
		        port, (int)holder, comm);
		*watch = holder;
		return 0;
	}
	snprintf(err, errlen,
	         "port %d is held by pid %d (%s), not by the command: it started listening "
	         "while the command ran (stop that process, or monitor it with --monitor-port "
	         "%d)",
	         port, (int)holder, comm, port);
	return -EADDRINUSE;
}

/* Whether cmd is one simple command (words, quotes, no operator, redirection, expansion,
 * group or leading assignment): then "exec CMD" replaces the shell with it, so the
 * command itself gets PR_SET_PDEATHSIG's SIGTERM when stampede dies (kept across exec;
 * a shell would die of it and leave its child running). */
static bool simple_command(const char *cmd)
{
	/* the shell's own words: exec'ing them would be "not found" */
	static const char *const builtin[] = {
		"exit",     "cd",      "export",   "set",   "unset", "eval",   "exec",
		"return",   "shift",   "trap",     "wait",  "read",  "ulimit", "umask",
		"alias",    "unalias", "readonly", "local", ".",     ":",      "break",
		"continue", "if",      "for",      "while", "until", "case",   "command",
		"type",     "hash",    "getopts",  "jobs",  "fg",    "bg",     "times",
		"then",     "do",      "done",     "fi",    "esac",
	};
	const char *w = cmd + strspn(cmd, " \t");
	size_t first = strcspn(w, " \t");
	if (!first || strpbrk(cmd, ";&|<>()$`\\\n{}#!") || memchr(w, '=', first))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(builtin); i++)
		if (strlen(builtin[i]) == first && !strncmp(w, builtin[i], first))
			return false;
	return true;
}

pid_t monitor_spawn(const char *cmd, int port, int64_t wait_us, const char *log_path,
                    bool (*stop)(void), pid_t *watch, char *err, size_t errlen)
{
	int logfd = -1;
	pid_t busy = procfs_port_pid(port);
	*watch = 0;
	if (busy > 0 || busy == -EACCES) {
		char comm[32] = "?";
		if (busy > 0)
			procfs_comm(busy, comm, sizeof(comm));
		if (busy > 0)
			snprintf(err, errlen,
			         "port %d is in use already (pid %d, %s): stop that process, or "
			         "monitor it with --monitor-port %d",
			         port, (int)busy, comm, port);
		else
			snprintf(err, errlen,
			         "port %d is in use already (by another user's process)", port);
		return -EADDRINUSE;
	}
	if (log_path) {
		logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (logfd < 0) {
			snprintf(err, errlen, "cannot open '%s': %s", log_path, strerror(errno));
			return -errno;
		}
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot start it: %s", strerror(e));
		if (logfd >= 0)
			close(logfd);
		return -e;
	}
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, STDIN_FILENO);
		int out = logfd >= 0 ? logfd : open("/dev/null", O_WRONLY);
		if (out >= 0) {
			dup2(out, STDOUT_FILENO);
			dup2(out, STDERR_FILENO);
		}
		char *line = NULL;
		if (simple_command(cmd) && asprintf(&line, "exec %s", cmd) < 0)
			line = NULL;
		execl("/bin/sh", "sh", "-c", line ? line : cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid); /* both sides: no race with the first kill */
	if (logfd >= 0)
		close(logfd);
	int64_t until = now_us() + wait_us;
	int rc = 0, st = 0;
	bool reaped = false;
	for (;;) {
		if (!reaped && waitpid(pid, &st, WNOHANG) == pid)
			reaped = true;
		/* the shell gone: a failure, unless it exited 0 and left processes of its group
		 * (a server that daemonizes: it may listen after its parent's exit) */
		if (reaped && procfs_port_pid(port) <= 0 &&
		    !(WIFEXITED(st) && WEXITSTATUS(st) == 0 && procfs_group_live(pid) > 0)) {
			if (WIFEXITED(st))
				snprintf(err, errlen,
				         "it exited with status %d before listening on port %d",
				         WEXITSTATUS(st), port);
			else
				snprintf(err, errlen,
				         "it was killed by signal %d before listening on port %d",
				         WIFSIGNALED(st) ? WTERMSIG(st) : 0, port);
			rc = -ECHILD;
			break;
		}
		pid_t holder = procfs_port_pid(port);
		if (holder > 0) {
			if ((rc = check_holder(pid, holder, port, watch, err, errlen)) == 0)
				return pid;
			break;
		}
		if (stop && stop()) {
			snprintf(err, errlen, "interrupted while waiting for it to listen");
			rc = -EINTR;
			break;
		}
		if (now_us() >= until) {
			snprintf(err, errlen, "nothing listened on port %d within %.0f s", port,
			         (double)wait_us / 1e6);
			rc = -ETIMEDOUT;
			break;
		}
		usleep(50 * 1000);
	}
	/* every failure after the start: the whole group, whether or not its shell is gone */
	stop_group(pid, USEC_PER_SEC, &reaped, &st);
	return rc;
}

int monitor_stop_child(pid_t pid, int64_t grace_us)
{
	int st = -1;
	bool reaped = false;
	if (pid <= 0)
		return -1;
	/* the shell may be gone (reaped here, or by a waitpid of monitor_spawn) while the
	 * group lives on: a daemonized server gets the grace too */
	stop_group(pid, grace_us, &reaped, &st);
	return reaped ? st : -1;
}
