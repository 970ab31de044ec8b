/* monitor_args.c: `run`'s monitoring flags (monitor_args.h). */
#include "cli/monitor_args.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli_opts.h"
#include "util/common.h"
#include "util/outfile.h"
#include "util/procfs.h"

/* How long --monitor-cmd's target has to start listening. */
#define SPAWN_WAIT_US (30 * USEC_PER_SEC)
#define STOP_GRACE_US (5 * USEC_PER_SEC)

static int monitor_args_watch(struct monitor_args *m, int url_port);

const char monitor_args_usage[] =
    "\nWatching the target (docs/monitoring.md): once a second, CPU, memory, threads, fds,\n"
    "context switches and disk I/O of the target's process tree, the host's CPU, load,\n"
    "memory, TCP retransmits and listen-queue overflows, and stampede's own CPU, as\n"
    "metrics of the run (target_*, host_*, generator_*); leaks and the bottleneck are\n"
    "judged from them at the end.\n"
    "      --monitor-pid PID     watch process PID (and its children)\n"
    "      --monitor-port PORT   watch the process listening on TCP port PORT here\n"
    "      --monitor-cmd \"CMD\"   start CMD (/bin/sh -c) as the target, wait until it\n"
    "                            listens (--monitor-port, or --url's port), stop it after\n"
    "      --monitor-log FILE    --monitor-cmd's output (default: discarded)\n"
    "      --memory-limit SIZE   the target's memory limit (e.g. 512MiB), for the time a\n"
    "                            leak takes to reach it (default: its cgroup's limit)\n"
    "      --scrape URL          the target's Prometheus endpoint (http:// or https://),\n"
    "                            read each second: metrics target_<name>; counters per\n"
    "                            second and per request (threshold 'per_request<N');\n"
    "                            repeatable (up to 8); refused when unreadable at start\n";

/* The least --memory-limit: below, it is a typo (1.5 is 2 bytes, not 1.5 GiB). */
#define MEM_LIMIT_MIN (1024 * 1024)

/* arg as a number of digits only (no sign, space or base prefix), at most max; -1 when
 * not. */
static long digits_only(const char *arg, long max)
{
	size_t n = strspn(arg, "0123456789");
	if (n == 0 || arg[n] || n > 9)
		return -1;
	long v = strtol(arg, NULL, 10);
	return v <= max ? v : -1;
}

int monitor_args_flag(struct monitor_args *m, int c, const char *arg)
{
	switch (c) {
	case OPT_MONITOR_PID: {
		long v = digits_only(arg, 4194304);
		if (v < 1)
			return cli_bad_value("--monitor-pid", arg, "a process id");
		m->pid = (pid_t)v;
		return 1;
	}
	case OPT_MONITOR_PORT: {
		long v = digits_only(arg, 65535);
		if (v < 1)
			return cli_bad_value("--monitor-port", arg, "a TCP port from 1 to 65535");
		m->port = (int)v;
		return 1;
	}
	case OPT_MONITOR_CMD:
		if (!*arg || strspn(arg, " \t") == strlen(arg))
			return cli_bad_value("--monitor-cmd", arg, "a command to start the target");
		m->cmd = arg;
		return 1;
	case OPT_MONITOR_LOG:
		if (!*arg)
			return cli_bad_value("--monitor-log", arg,
			                     "a file for the command's output");
		m->log = arg;
		return 1;
	case OPT_SCRAPE: {
		const char *host = !strncasecmp(arg, "http://", 7)    ? arg + 7
		                   : !strncasecmp(arg, "https://", 8) ? arg + 8
		                                                      : NULL;
		if (!host || !*host || *host == '/' || strpbrk(arg, " \t\r\n"))
			return cli_bad_value("--scrape", arg,
			                     "an http:// or https:// URL of a Prometheus endpoint, "
			                     "e.g. http://127.0.0.1:8080/metrics");
		for (int i = 0; i < m->nscrape; i++)
			if (!strcmp(m->scrape[i], arg)) {
				fprintf(stderr, "stampede: --scrape %s: given twice\n", arg);
				return -EINVAL;
			}
		if (m->nscrape == SCRAPE_MAX_URLS) {
			fprintf(stderr, "stampede: --scrape: at most %d URLs\n", SCRAPE_MAX_URLS);
			return -EINVAL;
		}
		m->scrape[m->nscrape++] = arg;
		return 1;
	}
	case OPT_MEMORY_LIMIT: {
		int64_t v;
		int e = parse_size(arg, &v);
		if (e == -ERANGE)
			return cli_bad_value("--memory-limit", arg,
			                     "a size such as 512MiB or 2GB: this one is too large");
		if (e < 0)
			return cli_bad_value("--memory-limit", arg, "a size such as 512MiB or 2GB");
		if (v < MEM_LIMIT_MIN)
			return cli_bad_value("--memory-limit", arg,
			                     "a size of at least 1MiB, with its unit (e.g. 512MiB "
			                     "or 2GB; a bare number is bytes)");
		m->mem_limit = v;
		return 1;
	}
	}
	return 0;
}

bool monitor_args_any(const struct monitor_args *m)
{
	return m->pid || m->port || m->cmd;
}

static bool stop_signalled(void)
{
	sigset_t p;
	return sigpending(&p) == 0 &&
	       (sigismember(&p, SIGINT) || sigismember(&p, SIGTERM) || sigismember(&p, SIGHUP));
}

/* The instance tag of url i: its host and port as written ("127.0.0.1:8080"), or with the
 * path too ("127.0.0.1:8080/metrics") when another --scrape URL has the same host and
 * port, so that their series stay apart. */
static void url_instance(const struct monitor_args *m, int i, char *out, size_t len)
{
	const char *h[SCRAPE_MAX_URLS] = { 0 };
	size_t n[SCRAPE_MAX_URLS] = { 0 };
	bool shared = false;
	for (int k = 0; k < m->nscrape; k++) {
		h[k] = strstr(m->scrape[k], "://") + 3;
		const char *end = h[k] + strcspn(h[k], "/?#");
		const char *at = memchr(h[k], '@', (size_t)(end - h[k]));
		if (at)
			h[k] = at + 1;
		n[k] = (size_t)(end - h[k]);
	}
	for (int k = 0; k < m->nscrape; k++)
		shared = shared || (k != i && n[k] == n[i] && !memcmp(h[k], h[i], n[i]));
	snprintf(out, len, "%.*s", shared ? (int)strcspn(h[i], "#") : (int)n[i], h[i]);
}

/* Probe each --scrape URL and hand the scrapers to m->mon. Returns 0 or -EINVAL after
 * printing why. */
static int start_scrapers(struct monitor_args *m)
{
	char err[256], inst[256];
	for (int i = 0; i < m->nscrape; i++) {
		url_instance(m, i, inst, sizeof(inst));
		struct scraper *s = scraper_new(m->scrape[i], m->nscrape > 1 ? inst : NULL);
		int64_t until = now_us() + (m->child > 0 ? 3 * USEC_PER_SEC : 0);
		int rc;
		/* a target just started may listen before it serves its metrics */
		while ((rc = scraper_probe(s, err, sizeof(err))) < 0 && now_us() < until)
			usleep(100 * 1000);
		if (rc < 0) {
			fprintf(stderr,
			        "stampede: --scrape %s: %s (nothing to record: check the URL, or "
			        "start the target first)\n",
			        m->scrape[i], err);
			scraper_free(s);
			return -EINVAL;
		}
		monitor_add_scraper(m->mon, s);
	}
	return 0;
}

int monitor_args_start(struct monitor_args *m, int url_port)
{
	int rc = monitor_args_watch(m, url_port);
	if (rc < 0 || !m->nscrape)
		return rc;
	if (!m->mon)
		m->mon = monitor_new(0, NULL);
	if (start_scrapers(m) < 0) {
		monitor_args_finish(m); /* stops a --monitor-cmd target */
		return -EINVAL;
	}
	return 0;
}

/* The flags' combinations monitor_args_watch() refuses. 0, or -EINVAL after saying why. */
static int watch_flags(const struct monitor_args *m)
{
	if (m->mem_limit && !monitor_args_any(m)) {
		fprintf(stderr, "stampede: --memory-limit is the watched target's: give "
		                "--monitor-pid, --monitor-port or --monitor-cmd\n");
		return -EINVAL;
	}
	if (m->log && !m->cmd) {
		fprintf(stderr, "stampede: --monitor-log is --monitor-cmd's output: give the "
		                "command\n");
		return -EINVAL;
	}
	if ((m->pid != 0) + (m->cmd != NULL) > 1 || (m->pid && m->port)) {
		fprintf(stderr, "stampede: give one target to watch: --monitor-pid, --monitor-port "
		                "or --monitor-cmd (with --monitor-port for its port)\n");
		return -EINVAL;
	}
	return 0;
}

/* The running target of --monitor-port or --monitor-pid (not --monitor-cmd's), in *pid.
 * 0, or -ESRCH after saying why. */
static int watch_found(const struct monitor_args *m, pid_t *pid)
{
	if (m->port) {
		*pid = procfs_port_pid(m->port);
		if (*pid == -ENOENT) {
			fprintf(
			    stderr,
			    "stampede: --monitor-port %d: nothing listens on that port (start the "
			    "target first, or give --monitor-cmd)\n",
			    m->port);
			return -ESRCH;
		}
		if (*pid < 0) {
			fprintf(
			    stderr,
			    "stampede: --monitor-port %d: a process listens there but it cannot be "
			    "seen (another user's: run as that user or as root, or give "
			    "--monitor-pid)\n",
			    m->port);
			return -ESRCH;
		}
		return 0;
	}
	struct procfs_proc p;
	*pid = m->pid;
	if (procfs_proc_read(m->pid, &p) < 0) {
		fprintf(stderr, "stampede: --monitor-pid %d: no such process\n", (int)m->pid);
		return -ESRCH;
	}
	return 0;
}

int monitor_args_check(const struct monitor_args *m)
{
	char err[4096 + 256];
	if (watch_flags(m) < 0)
		return -EINVAL;
	if (m->cmd)
		return m->log && outfile_check(m->log, err, sizeof(err)) < 0
		           ? (fprintf(stderr, "stampede: --monitor-log: %s\n", err), -EINVAL)
		           : 0;
	pid_t pid;
	return monitor_args_any(m) && watch_found(m, &pid) < 0 ? -EINVAL : 0;
}

/* The target to watch (monitor_args_start() without --scrape). */
static int monitor_args_watch(struct monitor_args *m, int url_port)
{
	char found[64], err[256];
	pid_t pid = m->pid;
	if (watch_flags(m) < 0)
		return -EINVAL;
	if (!monitor_args_any(m))
		return 0;
	if (m->cmd) {
		int port = m->port ? m->port : url_port;
		if (!port) {
			fprintf(stderr,
			        "stampede: --monitor-cmd: give --monitor-port, the port the "
			        "command listens on\n");
			return -EINVAL;
		}
		fprintf(stderr, "stampede: starting the target: %s\n", m->cmd);
		pid_t watch = 0, child = monitor_spawn(m->cmd, port, SPAWN_WAIT_US, m->log,
		                                       stop_signalled, &watch, err, sizeof(err));
		if (child < 0) {
			fprintf(stderr, "stampede: --monitor-cmd: %s\n", err);
			return child == -EINTR ? -EINTR : -EINVAL;
		}
		m->child = child;
		pid = watch;
		snprintf(found, sizeof(found), "--monitor-cmd");
	} else {
		if (watch_found(m, &pid) < 0)
			return -ESRCH;
		if (m->port)
			snprintf(found, sizeof(found), "port %d", m->port);
		else
			snprintf(found, sizeof(found), "--monitor-pid");
	}
	m->mon = monitor_new(pid, found);
	return 0;
}

void monitor_args_options(const struct monitor_args *m, json_t *options)
{
	if (!monitor_args_any(m) && !m->nscrape)
		return;
	json_t *o = json_object();
	if (m->pid)
		json_object_set_new(o, "pid", json_integer(m->pid));
	if (m->port)
		json_object_set_new(o, "port", json_integer(m->port));
	if (m->cmd)
		json_object_set_new(o, "cmd", json_string(m->cmd));
	if (m->mem_limit)
		json_object_set_new(o, "memoryLimit", json_integer(m->mem_limit));
	if (m->nscrape) {
		json_t *a = json_array();
		for (int i = 0; i < m->nscrape; i++) {
			char shown[1024];
			scrape_url_shown(m->scrape[i], shown, sizeof(shown));
			json_array_append_new(a, json_string(shown));
		}
		json_object_set_new(o, "scrape", a);
	}
	json_object_set_new(options, "monitor", o);
}

void monitor_args_finish(struct monitor_args *m)
{
	if (m->child > 0) {
		monitor_stop_child(m->child, STOP_GRACE_US);
		m->child = 0;
	}
	monitor_free(m->mon);
	m->mon = NULL;
}
