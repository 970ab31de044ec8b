/* monitor_args.c: `run`'s monitoring flags (monitor_args.h). */
#include "cli/monitor_args.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_opts.h"
#include "util/common.h"
#include "util/procfs.h"

/* How long --monitor-cmd's target has to start listening. */
#define SPAWN_WAIT_US (30 * USEC_PER_SEC)
#define STOP_GRACE_US (5 * USEC_PER_SEC)

const char monitor_args_usage[] =
    "\nWatching the target (docs/monitoring.md): once a second, CPU, memory, threads, fds,\n"
    "context switches and disk I/O of the target's process tree, the host's CPU, load,\n"
    "memory, TCP retransmits and listen-queue overflows, and stampede's own CPU, as\n"
    "metrics of the run (target_*, host_*, generator_*); leaks and the bottleneck are\n"
    "judged from them at the end.\n"
    "      --monitor-pid PID     watch process PID (and its children)\n"
    "      --monitor-port PORT   watch the process listening on loopback port PORT\n"
    "      --monitor-cmd \"CMD\"   start CMD (/bin/sh -c) as the target, wait until it\n"
    "                            listens (--monitor-port, or --url's port), stop it after\n"
    "      --monitor-log FILE    --monitor-cmd's output (default: discarded)\n"
    "      --memory-limit SIZE   the target's memory limit (e.g. 512MiB), for the time a\n"
    "                            leak takes to reach it (default: its cgroup's limit)\n";

int monitor_args_flag(struct monitor_args *m, int c, const char *arg)
{
	char *end;
	switch (c) {
	case OPT_MONITOR_PID: {
		long v = strtol(arg, &end, 10);
		if (end == arg || *end || v < 1 || v > 4194304)
			return cli_bad_value("--monitor-pid", arg, "a process id");
		m->pid = (pid_t)v;
		return 1;
	}
	case OPT_MONITOR_PORT: {
		long v = strtol(arg, &end, 10);
		if (end == arg || *end || v < 1 || v > 65535)
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
	case OPT_MEMORY_LIMIT: {
		int64_t v;
		if (parse_size(arg, &v) < 0 || v <= 0)
			return cli_bad_value("--memory-limit", arg,
			                     "a size such as 512MiB or 2GB, more than 0");
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

int monitor_args_start(struct monitor_args *m, int url_port)
{
	char found[64], err[256];
	pid_t pid = m->pid;
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
	if (!monitor_args_any(m))
		return 0;
	if ((m->pid != 0) + (m->cmd != NULL) > 1 || (m->pid && m->port)) {
		fprintf(stderr, "stampede: give one target to watch: --monitor-pid, --monitor-port "
		                "or --monitor-cmd (with --monitor-port for its port)\n");
		return -EINVAL;
	}
	if (m->cmd) {
		int port = m->port ? m->port : url_port;
		if (!port) {
			fprintf(stderr,
			        "stampede: --monitor-cmd: give --monitor-port, the port the "
			        "command listens on\n");
			return -EINVAL;
		}
		fprintf(stderr, "stampede: starting the target: %s\n", m->cmd);
		pid = monitor_spawn(m->cmd, port, SPAWN_WAIT_US, m->log, stop_signalled, err,
		                    sizeof(err));
		if (pid < 0) {
			fprintf(stderr, "stampede: --monitor-cmd: %s\n", err);
			return pid == -EINTR ? -EINTR : -EINVAL;
		}
		m->child = pid;
		snprintf(found, sizeof(found), "--monitor-cmd");
	} else if (m->port) {
		pid = procfs_port_pid(m->port);
		if (pid == -ENOENT) {
			fprintf(
			    stderr,
			    "stampede: --monitor-port %d: nothing listens on that port (start the "
			    "target first, or give --monitor-cmd)\n",
			    m->port);
			return -ESRCH;
		}
		if (pid < 0) {
			fprintf(
			    stderr,
			    "stampede: --monitor-port %d: a process listens there but it cannot be "
			    "seen (another user's: run as that user or as root, or give "
			    "--monitor-pid)\n",
			    m->port);
			return -ESRCH;
		}
		snprintf(found, sizeof(found), "port %d", m->port);
	} else {
		struct procfs_proc p;
		if (procfs_proc_read(pid, &p) < 0) {
			fprintf(stderr, "stampede: --monitor-pid %d: no such process\n", (int)pid);
			return -ESRCH;
		}
		snprintf(found, sizeof(found), "--monitor-pid");
	}
	m->mon = monitor_new(pid, found);
	return 0;
}

void monitor_args_options(const struct monitor_args *m, json_t *options)
{
	if (!monitor_args_any(m))
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
