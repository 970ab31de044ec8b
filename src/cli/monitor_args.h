/*
 * monitor_args.h: `run`'s flags for watching the target during the run (issue #12,
 * docs/monitoring.md): --monitor-pid PID, --monitor-port PORT, --monitor-cmd "CMD"
 * (with --monitor-log FILE), --memory-limit SIZE and --scrape URL (repeatable: the
 * target's Prometheus endpoint, engine/scrape.h).
 */
#ifndef STAMPEDE_MONITOR_ARGS_H
#define STAMPEDE_MONITOR_ARGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/monitor.h"
#include "engine/scrape.h"

enum {
	OPT_MONITOR_PID = 500,
	OPT_MONITOR_PORT,
	OPT_MONITOR_CMD,
	OPT_MONITOR_LOG,
	OPT_MEMORY_LIMIT,
	OPT_SCRAPE,
};

/* The entries for a struct option table. */
#define MONITOR_ARGS_LONG_OPTS                                                                     \
	{ "monitor-pid", required_argument, NULL, OPT_MONITOR_PID },                               \
	    { "monitor-port", required_argument, NULL, OPT_MONITOR_PORT },                         \
	    { "monitor-cmd", required_argument, NULL, OPT_MONITOR_CMD },                           \
	    { "monitor-log", required_argument, NULL, OPT_MONITOR_LOG },                           \
	    { "memory-limit", required_argument, NULL, OPT_MEMORY_LIMIT },                         \
	{                                                                                          \
		"scrape", required_argument, NULL, OPT_SCRAPE                                      \
	}

/* The --help lines for these flags. */
extern const char monitor_args_usage[];

struct monitor_args {
	pid_t pid;                           /* --monitor-pid */
	int port;                            /* --monitor-port */
	const char *cmd;                     /* --monitor-cmd */
	const char *log;                     /* --monitor-log */
	int64_t mem_limit;                   /* --memory-limit, bytes; 0: none given */
	const char *scrape[SCRAPE_MAX_URLS]; /* --scrape URLs, in the order given */
	int nscrape;
	pid_t child;         /* the --monitor-cmd process, once started */
	struct monitor *mon; /* after monitor_args_start(), or NULL without monitoring */
};

/* Handle flag c with its argument. Returns 1 when it was one of these flags, 0 when not,
 * or -EINVAL after printing why the value is bad. */
int monitor_args_flag(struct monitor_args *m, int c, const char *arg);

/* Whether a target to watch was given (--monitor-pid, --monitor-port, --monitor-cmd);
 * --scrape alone is not one. */
bool monitor_args_any(const struct monitor_args *m);

/* Find or start the target and make the monitor (m->mon): --monitor-pid as given (it must
 * exist); --monitor-port: the process listening there (refused when nothing does);
 * --monitor-cmd: started now, waited for until it listens on --monitor-port or, without
 * it, on url_port (quick mode's --url; 0 in a script run). Then each --scrape URL is read
 * once (scraper_probe(); after --monitor-cmd's start, retried for up to 3 s): a URL that
 * cannot be read, or serves no Prometheus sample, is refused with the reason. --scrape
 * alone makes a monitor of the host and the generator with the scrapers. Without any
 * flag, m->mon stays NULL. Returns 0, or -EINVAL/-ESRCH/-EINTR after printing why (exit
 * 104); on failure a started --monitor-cmd is stopped again. */
int monitor_args_start(struct monitor_args *m, int url_port);

/* What monitor_args_start() would refuse that can be told without starting anything or
 * sending a request: --monitor-pid not a running process, nothing listening on
 * --monitor-port, --monitor-log in a directory that cannot be written. 0, or -EINVAL
 * after printing why (exit 104). */
int monitor_args_check(const struct monitor_args *m);

/* The monitoring in the run's options (options.monitor: {pid, port, cmd, memoryLimit,
 * scrape: [URL...]}, each only when given). */
void monitor_args_options(const struct monitor_args *m, json_t *options);

/* Stop the --monitor-cmd child (SIGTERM, then SIGKILL after 5 s) and free the monitor. */
void monitor_args_finish(struct monitor_args *m);

#endif
