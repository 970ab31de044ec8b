/* monitor.h: watch the target and the host during a run (issue #12, docs/monitoring.md):
 * once a second, read the target's process tree, the host and the generator itself from
 * /proc (util/procfs.h) and record them as metrics of the run, on the run's clock:
 *
 *   target_cpu_percent, target_cpu_user_percent, target_cpu_system_percent  gauges, % of
 *       one core (200 = two cores busy); target_rss_bytes, target_threads,
 *       target_open_fds gauges; target_thread_busy_max_percent gauge (the busiest
 *       thread's demand, on a CPU or waiting for one, % of one core: a single-threaded
 *       loop saturates at 100 while the process's total stays low); target_ctx_switches_voluntary,
 *       target_ctx_switches_involuntary, target_disk_read_bytes, target_disk_write_bytes
 *       counters (per second in the time series)
 *   host_cpu_percent (% of the whole machine), host_load1, host_mem_available_bytes,
 *       host_swap_used_bytes gauges; host_tcp_retransmits, host_listen_overflows,
 *       host_listen_drops counters
 *   generator_cpu_percent (% of one core: this process), generator_rss_bytes gauges
 *
 * The target is a pid and its descendants (a pre-forking server is one target). Costs a
 * few /proc reads a second in the coordinator's thread, three small files per thread of
 * the target (measured: 0.2 ms for 3 threads, 1.7 ms for 66, 7 ms for 258 a second);
 * nothing on the request path.
 *
 * --scrape URL (engine/scrape.h): the monitor also owns the run's scrapers, so they are
 * registered, sampled on the same tick and reported with it (analyses.monitor.scrape). */
#ifndef STAMPEDE_ENGINE_MONITOR_H
#define STAMPEDE_ENGINE_MONITOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "metrics/metrics.h"

struct monitor;
struct scraper;

/* A monitor of pid (0: the host and the generator only); found says how the pid was
 * given, for the result ("--monitor-pid", "port 8080", "--monitor-cmd"); copied. */
struct monitor *monitor_new(pid_t pid, const char *found);

/* Give m a scraper (engine/scrape.h) whose probe succeeded; m owns it afterwards. At most
 * SCRAPE_MAX_URLS (more are freed and ignored). */
void monitor_add_scraper(struct monitor *m, struct scraper *s);

/* Register the metrics in reg (before thresholds are checked, so thresholds may select
 * them), the scrapers' after the monitor's own. Returns 0 or a negative errno (-ENOSPC:
 * too many metrics for the monitor's own; a scraped metric that does not fit is dropped
 * and reported instead). */
int monitor_attach(struct monitor *m, struct registry *reg);

/* Before the run's clock starts: the scrapers' baselines (synchronous: up to
 * SCRAPE_TIMEOUT_MS per URL). Accepts NULL. */
void monitor_baseline(struct monitor *m);

/* When the run's clock starts (start_us, monotonic): start the scrapers' threads. Accepts
 * NULL. */
void monitor_start(struct monitor *m, int64_t start_us);

/* After the load: stop the scrapers and record their last scrape into s (synchronous).
 * Accepts NULL. */
void monitor_end(struct monitor *m, struct sink *s);

/* The run's http_reqs total, for the scrapers' per-request ratios. Accepts NULL. */
void monitor_set_requests(struct monitor *m, double http_reqs);

/* Take one reading and record it into s (the coordinator's sink): gauges get the
 * reading, counters what happened since the last one. The first call only sets the
 * baseline of the rates. elapsed_s: the run's clock, for when the target exited. The
 * scrapers' latest scrapes are recorded too (without waiting on the network). */
void monitor_sample(struct monitor *m, struct sink *s, double elapsed_s);

/* What was watched, for the result's analyses.monitor: {target: {pid, comm, found,
 * processes (most seen at once), exitedAtS (when it was gone), cgroupMemoryLimit
 * (bytes, or null), ioReadable, fdsReadable} or null, host: {cpus, memTotalBytes}, samples,
 * scrape: [scraper_json() per --scrape URL] (only with --scrape)}. A new reference. */
json_t *monitor_json(const struct monitor *m);

void monitor_free(struct monitor *m);

/* --monitor-cmd: start cmd with /bin/sh -c CMD in a process group of its own, stdout and
 * stderr to log_path (or discarded when NULL), then wait until something listens on port
 * (at most wait_us). The listener must be the command's: in its process tree (*watch =
 * the returned pid), or in its process group outside the tree (it daemonized, the shell
 * may have exited: *watch = the listener, said on stderr). Returns the pid (the group's
 * id), or a negative errno with a reason in err (-EADDRINUSE: something listens on port
 * already, or another process started listening there; -ECHILD: the command exited
 * first, with a failure status or leaving no process of its group; -ETIMEDOUT: no listener in time; -EINTR: stop(), polled while waiting, said
 * stop). On every failure after the start, the whole process group is stopped (SIGTERM,
 * SIGKILL after 1 s), the shell's children too. The shell gets SIGTERM if stampede dies
 * (PR_SET_PDEATHSIG: that one process only, not its children). */
pid_t monitor_spawn(const char *cmd, int port, int64_t wait_us, const char *log_path,
                    bool (*stop)(void), pid_t *watch, char *err, size_t errlen);

/* Stop a process group started by monitor_spawn, even when its first process (the shell)
 * has exited already: SIGTERM to the group, then SIGKILL to what is left after grace_us;
 * reaps the shell. Returns the shell's wait status, or -1 (reaped elsewhere). */
int monitor_stop_child(pid_t pid, int64_t grace_us);

#endif
