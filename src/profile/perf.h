/* perf.h: Linux perf as a child process: `perf record -g` on a running process, then
 * `perf script` folded into stacks. */
#ifndef STAMPEDE_PERF_H
#define STAMPEDE_PERF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "profile/fold.h"

/* How long perf_record_stop() waits after SIGINT before SIGKILL, and how long
 * perf_fold_file() lets `perf script` run, in milliseconds. */
#define PERF_STOP_TIMEOUT_MS   10000
#define PERF_SCRIPT_TIMEOUT_MS 120000
/* At most this much of perf's stderr is kept for the error message. */
#define PERF_STDERR_MAX (64u << 10)
/* The most processes recorded: a pid and its descendants. */
#define PERF_TREE_MAX 256

struct perf_rec;

/*
 * Check that pid can be profiled, then start `perf record -F hz -g -p PID,... -o data_path`
 * on pid and its descendants at this moment (children of each of its threads, at most
 * PERF_TREE_MAX processes: a shell running the server, a pre-forking server's workers)
 * (fork/exec, no shell; perf is looked up in PATH; stdout to /dev/null, stderr kept; perf
 * gets SIGKILL if the calling thread ends first, so stop it from the thread that started
 * it).
 * Checks first, each failing with a one-line reason in err saying how to fix it: perf in
 * PATH (-ENOENT: "apt-get install linux-perf"), /proc/sys/kernel/perf_event_paranoid with
 * this process's capabilities (-EACCES when above 2 without CAP_PERFMON/CAP_SYS_ADMIN:
 * "sysctl kernel.perf_event_paranoid=1"), pid alive (-ESRCH "no process with pid N": also a
 * zombie, by the state in /proc/PID/stat). Then waits up to 500 ms for
 * perf to fail at once (no permission in a container's seccomp profile, a bad pid):
 * -EPERM or -EIO with perf's own message summarised. hz is 1..100000. Returns the
 * recording (free it with perf_record_stop) or NULL with err set and errno one of ENOENT,
 * EACCES, ESRCH, EINVAL (hz), EPERM (perf failed at once), EIO.
 */
struct perf_rec *perf_record_start(pid_t pid, int hz, const char *data_path, char *err,
                                   size_t errlen);

/* The pid of the perf child (for a caller that waits on it), or -1. */
pid_t perf_record_pid(const struct perf_rec *r);

/*
 * Stop the recording (SIGINT, then SIGKILL after PERF_STOP_TIMEOUT_MS), reap perf and free
 * r. Returns 0 when perf wrote its data (it exits 0, also when the target ended first), or
 * -EIO with perf's stderr summarised in err ("perf record failed (exit 255): ..."). Accepts
 * NULL (returns 0).
 */
int perf_record_stop(struct perf_rec *r, char *err, size_t errlen);

/* How often a watched `perf script` asks its watcher whether to go on, in milliseconds. */
#define PERF_WATCH_MS 100

/* A watcher of `perf script` (it can take seconds on a busy profile): check is called about
 * every PERF_WATCH_MS while it runs, with the samples folded so far; returning true stops
 * it (SIGKILL: a pending stop signal, say), and the fold returns -EINTR. */
struct perf_fold_watch {
	bool (*check)(void *ctx, uint64_t folded);
	void *ctx;
};

/*
 * Run `perf script -i data_path` and fold its output into out (fold_perf with opts; NULL:
 * fold_opts_default()) as it streams, nothing buffered whole, watched by w (NULL: not).
 * Returns 0, or a negative errno with a one-line reason in err: -ENOENT (no perf),
 * -ETIMEDOUT (ran longer than PERF_SCRIPT_TIMEOUT_MS: killed), -EINTR (w stopped it:
 * killed; err "interrupted"), -EIO (perf failed: its stderr summarised), -ENODATA (no
 * sample was recorded: the process used no CPU, or perf could not see it).
 */
int perf_fold_file(const char *data_path, const struct fold_opts *opts, struct folded *out,
                   const struct perf_fold_watch *w, char *err, size_t errlen);

/*
 * The profiling prerequisites without a pid: perf in PATH and the paranoid level against
 * this process's capabilities. Returns 0, or -ENOENT / -EACCES with the reason and the fix
 * in err (as perf_record_start).
 */
int perf_available(char *err, size_t errlen);

/* --- a recording in a temporary directory, as `profile` and `run --profile` take it ---- */

struct perf_capture;

/*
 * Create a temporary directory (/tmp/stampede-perf.XXXXXX) and start perf_record_start() on
 * pid into it. Returns the capture, or NULL with err and errno as perf_record_start (EIO
 * when the directory cannot be created). Stop, fold and free it from the thread that
 * started it, or at least stop it there (perf_record_start).
 */
struct perf_capture *perf_capture_start(pid_t pid, int hz, char *err, size_t errlen);

/* The perf child's pid, or -1 once stopped. */
pid_t perf_capture_pid(const struct perf_capture *c);

/* Whether perf ended on its own (the target exited, or perf failed): nothing more is
 * recorded. Does not reap it. */
bool perf_capture_ended(const struct perf_capture *c);

/* Stop the recording (perf_record_stop); later calls return the first one's answer.
 * Returns 0, or -EIO with the reason in err. Accepts NULL (0). */
int perf_capture_stop(struct perf_capture *c, char *err, size_t errlen);

/* Once stopped, the samples perf record said it wrote (its "[ perf record: Captured and
 * wrote ... (N samples) ]" line), or -1 when it did not say (or it is not stopped). */
int64_t perf_capture_samples(const struct perf_capture *c);

/* Stop (when not yet) and fold what was recorded into out (perf_fold_file, watched by w,
 * NULL: not). Returns 0 or a negative errno with the reason in err (as perf_capture_stop
 * and perf_fold_file). */
int perf_capture_fold(struct perf_capture *c, const struct fold_opts *opts, struct folded *out,
                      const struct perf_fold_watch *w, char *err, size_t errlen);

/* Stop (when not yet), remove the temporary directory and free c. Accepts NULL. */
void perf_capture_free(struct perf_capture *c);

#endif
