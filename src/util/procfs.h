/* procfs.h: readings of a process (tree) and of the host from Linux's /proc, for the
 * monitoring of a run's target (engine/monitor.h). Sources: proc(5) — /proc/PID/stat
 * (fields 14 utime, 15 stime, 20 num_threads), /proc/PID/status (VmRSS,
 * voluntary_ctxt_switches, nonvoluntary_ctxt_switches), /proc/PID/io (read_bytes,
 * write_bytes), /proc/PID/fd, /proc/stat, /proc/loadavg, /proc/meminfo, /proc/net/snmp
 * (Tcp: RetransSegs), /proc/net/netstat (TcpExt: ListenOverflows, ListenDrops),
 * /proc/net/tcp and tcp6 (listening sockets). Every function reads the files afresh;
 * nothing is cached. */
#ifndef STAMPEDE_UTIL_PROCFS_H
#define STAMPEDE_UTIL_PROCFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The most processes a tree reading follows (a pid and its descendants). */
#define PROCFS_TREE_MAX 256

/* One reading of a process, or of a process tree (the sums over its processes). */
struct procfs_proc {
	uint64_t user_us, system_us; /* CPU time used so far, µs */
	uint64_t rss_bytes;          /* resident set size (VmRSS) */
	int64_t threads;
	int64_t fds;            /* open file descriptors; -1 when /proc/PID/fd is not readable */
	uint64_t ctx_voluntary; /* context switches so far */
	uint64_t ctx_involuntary;
	int64_t read_bytes, write_bytes; /* storage I/O so far; -1 when /proc/PID/io is not
	                                  * readable (another user's process, without root) */
	int processes;                   /* processes read (1 for a single pid) */
	bool tree_capped;    /* a tree reading left processes out (more than PROCFS_TREE_MAX) */
	bool threads_capped; /* a per-thread reading left threads out (more than its max, or
	                      * more than PROCFS_TREE_MAX in one process) */
};

/* Read process pid alone (processes = 1). Returns 0, -ESRCH when it is gone (or a zombie),
 * or another negative errno. */
int procfs_proc_read(pid_t pid, struct procfs_proc *out);

/* Process pid's CPU times, threads and RSS alone (stat and statm: fds, io and context
 * switches are -1 or 0): what a reading every second of a process with thousands of
 * descriptors, the generator itself, needs. Returns as procfs_proc_read. */
int procfs_proc_cpu_rss(pid_t pid, struct procfs_proc *out);

/* Read pid and its descendants (children through /proc/PID/task/TID/children, at most
 * PROCFS_TREE_MAX processes), summing their readings: a pre-forking server (nginx's
 * workers, gunicorn's) is one target. Returns 0 or -ESRCH when pid itself is gone. */
int procfs_tree_read(pid_t pid, struct procfs_proc *out);

/* The most threads a per-thread reading follows (over a whole tree). */
#define PROCFS_THREADS_MAX 1024

/* One thread's CPU time so far, and its time waiting for a CPU (runnable, on a runqueue)
 * so far: /proc/PID/task/TID/schedstat (Documentation/scheduler/sched-stats.rst), or,
 * without it, /proc/PID/task/TID/stat's utime + stime and no wait (0). */
struct procfs_thread {
	pid_t tid;
	uint64_t cpu_us;
	uint64_t wait_us;
};

/* The CPU time of every thread of pid and its descendants (as procfs_tree_read), at most
 * max, sorted by tid. Returns the count, or -ESRCH when pid itself is gone. */
int procfs_tree_threads(pid_t pid, struct procfs_thread *out, int max);

/* procfs_tree_read and procfs_tree_threads in one pass over the tree's threads (what the
 * monitor does every second: each thread's directory is read once). thr may be NULL
 * (max 0). Returns the threads' count, or -ESRCH when pid itself is gone. */
int procfs_tree_read_threads(pid_t pid, struct procfs_proc *out, struct procfs_thread *thr,
                             int max);

/* The most CPU demand of one thread between two readings of procfs_tree_threads (µs): its
 * time on a CPU plus its time waiting for one, so a thread that always had work to run
 * shows the whole interval even on a machine too busy to run it all the time (USE:
 * utilisation plus saturation). A thread counts only when it is in both readings; its tid
 * in *tid (when not NULL; 0 for none). */
uint64_t procfs_threads_busiest(const struct procfs_thread *prev, int nprev,
                                const struct procfs_thread *cur, int ncur, pid_t *tid);

/* The CPU demand of all threads between two readings (µs): the sum of each thread's time
 * on a CPU plus its time waiting for one, over the threads in both readings. Against the
 * busiest thread's, it says whether the work is on one thread (an event loop) or spread
 * over many that all wait for a busy machine. */
uint64_t procfs_threads_demand(const struct procfs_thread *prev, int nprev,
                               const struct procfs_thread *cur, int ncur);

/* How many processes of process group pgid run (zombies not counted: an orphan that
 * its new parent has not reaped yet), or -1 when /proc cannot be read. */
int procfs_group_live(pid_t pgid);

/* Whether pid is root or one of its descendants (following pid's parents up). */
bool procfs_in_tree(pid_t root, pid_t pid);

/* The process's command name (comm, at most 15 characters) into buf; 0 or -ESRCH. */
int procfs_comm(pid_t pid, char *buf, size_t len);

/* The name of the tree at pid: its comm, or when pid is a shell (sh, dash, bash) with a
 * child, the first child's (--monitor-cmd "cd app && ./server" is "server"). 0 or
 * -ESRCH. */
int procfs_tree_comm(pid_t pid, char *buf, size_t len);

/* The memory limit of pid's cgroup in bytes: the smallest of memory.max (cgroup v2) or
 * memory.limit_in_bytes (v1) from its cgroup up to the root of /sys/fs/cgroup; 0 when
 * there is none (or it cannot be read). */
int64_t procfs_cgroup_mem_limit(pid_t pid);

/* One reading of the host. */
struct procfs_host {
	uint64_t cpu_busy, cpu_total; /* /proc/stat "cpu" jiffies: all but idle and iowait */
	int cpus;                     /* online CPUs */
	double load1;                 /* 1-minute load average */
	uint64_t mem_total_bytes, mem_available_bytes;
	uint64_t swap_used_bytes;
	uint64_t tcp_retrans_segs; /* Tcp: RetransSegs so far */
	uint64_t listen_overflows; /* TcpExt: ListenOverflows so far (accept queue full) */
	uint64_t listen_drops;     /* TcpExt: ListenDrops so far */
};

/* Read the host. Returns 0, or a negative errno when /proc/stat cannot be read (the other
 * fields are 0 when their file is missing). */
int procfs_host_read(struct procfs_host *out);

/* The /proc/stat "cpu" line alone: busy and total jiffies since boot. */
bool procfs_host_cpu(uint64_t *busy, uint64_t *total);

/* The process listening on TCP port (IPv4 or IPv6, any local address) — for a tree of
 * processes sharing the socket, the one whose parent does not hold it (nginx's master).
 * Returns the pid, -ENOENT when nothing listens there, -EACCES when a listener exists but
 * its process could not be seen (another user's, without root). */
pid_t procfs_port_pid(int port);

#endif
