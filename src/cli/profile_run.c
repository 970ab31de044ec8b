/* profile_run.c: `run --profile`: perf on the target during the steady part of the run, then
 * the flame graph and the top functions (analyses.profile). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/profile_run.h"
#include "profile/flamegraph.h"
#include "profile/fold.h"
#include "profile/perf.h"
#include "util/buf.h"
#include "util/common.h"
#include "util/outfile.h"
#include "util/procfs.h"

#define PLAIN_FROM_MIN_US (1 * USEC_PER_SEC)
#define PLAIN_FROM_MAX_US (30 * USEC_PER_SEC)
#define POLL_US           100000  /* how often the thread looks whether perf ended */
#define FOLD_NOTICE_US    1000000 /* folding longer than this is said on stderr */

struct profile_run {
	struct profile_run_opts o;
	char *svg;
	char comm[64];
	bool threaded;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	int64_t start_us; /* the run's start on now_us()'s clock; -1 until the first tick */
	bool stop;
	/* written by the thread, read after it is joined */
	struct perf_capture *cap;
	double from_s, to_s;
	const char *ended_by;
	int err_code; /* a negative errno when profiling failed */
	char err[1024];
	bool warned; /* the one warning line was printed */
	bool done;
	bool said;        /* a line was printed after the run (the progress line is ended) */
	bool interrupted; /* a stop signal while folding dropped the profile */
};

void profile_run_window(const struct preset_plan *plan, int64_t planned_us, int64_t *from_us,
                        int64_t *to_us)
{
	int64_t from = planned_us / 10, to = planned_us - planned_us / 10;
	from = MIN(MAX(from, PLAIN_FROM_MIN_US), PLAIN_FROM_MAX_US);
	int n = plan->nstages;
	if (plan->type != TT_NONE && plan->type != TT_SMOKE && n > 0) {
		const struct stage *st = plan->stage;
		bool warmup = plan->type == TT_LOAD || plan->type == TT_SOAK ||
		              plan->type == TT_STRESS || plan->type == TT_SPIKE;
		bool ramp_down =
		    n > 1 && st[n - 1].target == 0 &&
		    (plan->type == TT_LOAD || plan->type == TT_SOAK || plan->type == TT_STRESS);
		if (warmup && n > 1)
			from = MAX(st[0].duration_us, PLAIN_FROM_MIN_US);
		to = ramp_down ? plan->total_us - st[n - 1].duration_us : 0;
	}
	if (planned_us <= 0 && plan->type == TT_NONE)
		to = 0;
	if (to && to - from < USEC_PER_SEC) { /* too short to leave anything out */
		from = PLAIN_FROM_MIN_US;
		to = 0;
	}
	*from_us = from;
	*to_us = to;
}

/* What starts a line on stderr: after the run (profile_run_finish), the progress line may
 * still be on the terminal for the first one. */
static const char *fresh_line(struct profile_run *p)
{
	if (!p->done || p->said)
		return "";
	p->said = true;
	return p->o.progress ? "\n" : "";
}

/* The one warning line of a run whose profile failed, ending with what it means (tail;
 * NULL: no profile, before or after the run). */
static void warn_as(struct profile_run *p, const char *why, const char *tail)
{
	if (p->warned)
		return;
	p->warned = true;
	if (!tail)
		tail = p->done ? "the result has no profile" : "the run goes on without a profile";
	fprintf(stderr, "%sstampede: warning: --profile: %s; %s\n", fresh_line(p), why, tail);
}

static void warn(struct profile_run *p, const char *why)
{
	warn_as(p, why, NULL);
}

/* Wait on p->cv until deadline (now_us()'s clock) or a signal. mu is held. */
static void wait_until(struct profile_run *p, int64_t deadline)
{
	struct timespec ts = { .tv_sec = deadline / USEC_PER_SEC,
		               .tv_nsec = (long)(deadline % USEC_PER_SEC) * 1000L };
	pthread_cond_timedwait(&p->cv, &p->mu, &ts);
}

/* The recording: wait for the window, start perf, wait for its end (or the run's, or the
 * target's), stop perf. Started and stopped in this thread (perf_record_start). */
static void *profile_thread(void *arg)
{
	struct profile_run *p = arg;
	char err[sizeof(p->err)];

	pthread_mutex_lock(&p->mu);
	while (!p->stop && (p->start_us < 0 || now_us() < p->start_us + p->o.from_us)) {
		if (p->start_us < 0)
			pthread_cond_wait(&p->cv, &p->mu);
		else
			wait_until(p, p->start_us + p->o.from_us);
	}
	int64_t start = p->start_us;
	bool stop = p->stop;
	pthread_mutex_unlock(&p->mu);
	if (stop)
		return NULL;

	int64_t began = now_us();
	struct perf_capture *cap = perf_capture_start(p->o.pid, p->o.hz, err, sizeof(err));
	if (!cap) {
		p->err_code = errno == ESRCH ? -ESRCH : -EIO;
		if (errno == ESRCH)
			snprintf(p->err, sizeof(p->err),
			         "the target (pid %d) exited before profiling began, %.1f s into "
			         "the run",
			         (int)p->o.pid, (double)(began - start) / 1e6);
		else
			snprintf(p->err, sizeof(p->err), "%s", err);
		return NULL;
	}
	p->cap = cap;
	p->from_s = (double)(began - start) / 1e6;
	int64_t end = began + PROFILE_RUN_MAX_US;
	p->ended_by = "the time limit";
	if (p->o.to_us && start + p->o.to_us < end) {
		end = start + p->o.to_us;
		p->ended_by = "the steady part's end";
	}

	pthread_mutex_lock(&p->mu);
	for (;;) {
		if (p->stop) {
			p->ended_by = "the run's end";
			break;
		}
		if (perf_capture_ended(cap)) {
			p->ended_by = "the target's exit";
			break;
		}
		if (now_us() >= end)
			break;
		wait_until(p, MIN(end, now_us() + POLL_US));
	}
	pthread_mutex_unlock(&p->mu);
	p->to_s = (double)(now_us() - start) / 1e6;
	if (perf_capture_stop(cap, err, sizeof(err)) < 0) {
		p->err_code = -EIO;
		snprintf(p->err, sizeof(p->err), "%s", err);
	}
	return NULL;
}

struct profile_run *profile_run_start(const struct profile_run_opts *o)
{
	struct profile_run *p = xcalloc(1, sizeof(*p));
	pthread_condattr_t ca;
	char err[sizeof(p->err)];

	p->o = *o;
	p->svg = xstrdup(o->svg);
	p->o.svg = p->svg;
	p->start_us = -1;
	if (procfs_tree_comm(o->pid, p->comm, sizeof(p->comm)) < 0)
		snprintf(p->comm, sizeof(p->comm), "?");
	int e = perf_available(err, sizeof(err));
	if (e < 0) {
		p->err_code = e;
		snprintf(p->err, sizeof(p->err), "%s", err);
		warn(p, err);
		return p;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* now_us()'s clock */
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	e = pthread_create(&p->thread, NULL, profile_thread, p);
	if (e) {
		p->err_code = -e;
		snprintf(p->err, sizeof(p->err), "cannot start the profiling thread: %s",
		         strerror(e));
		warn(p, p->err);
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
		return p;
	}
	p->threaded = true;
	return p;
}

void profile_run_tick(struct profile_run *p, const struct result_interval *iv)
{
	if (!p || !p->threaded)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->start_us < 0)
		p->start_us = now_us() - (wall_us() - iv->start_wall_us);
	if (iv->final)
		p->stop = true;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Stop and join the thread (once). */
static void stop_thread(struct profile_run *p)
{
	if (!p->threaded)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	p->threaded = false;
}

/* A share of all samples, to 4 decimals. */
static json_t *share(uint64_t n, uint64_t total)
{
	return json_real(round(1e4 * (double)n / (double)total) / 1e4);
}

/* {error, pid, hz} after the warning line (why; NULL: the error itself). */
static json_t *error_json_as(struct profile_run *p, const char *error, const char *why)
{
	warn(p, why ? why : error);
	json_t *j = json_object();
	json_object_set_new(j, "error", json_string(error));
	json_object_set_new(j, "pid", json_integer(p->o.pid));
	json_object_set_new(j, "hz", json_integer(p->o.hz));
	return j;
}

static json_t *error_json(struct profile_run *p, const char *why)
{
	return error_json_as(p, why, NULL);
}

/* Whether SIGINT, SIGTERM or SIGHUP is pending: the run blocks them and its signalfd is no
 * longer read once the load has ended, so one that comes while the profile is folded waits
 * there (and the outputs after this one see it too). */
static bool stop_pending(void)
{
	sigset_t set;
	return sigpending(&set) == 0 &&
	       (sigismember(&set, SIGINT) == 1 || sigismember(&set, SIGTERM) == 1 ||
	        sigismember(&set, SIGHUP) == 1);
}

/* The folding's watcher (perf_fold_watch): a stop signal stops `perf script`; past
 * FOLD_NOTICE_US, one line says what stampede is doing. */
struct fold_watch {
	struct profile_run *p;
	int64_t began;
	bool noticed;
};

static bool fold_check(void *ctx, uint64_t folded)
{
	struct fold_watch *w = ctx;
	if (stop_pending())
		return true;
	if (!w->noticed && now_us() - w->began >= FOLD_NOTICE_US) {
		int64_t n = perf_capture_samples(w->p->cap);
		const char *nl = fresh_line(w->p);
		w->noticed = true;
		if (n >= 0)
			fprintf(stderr,
			        "%sstampede: folding %lld samples of the profile (perf script; "
			        "Ctrl-C drops the profile)...\n",
			        nl, (long long)n);
		else
			fprintf(stderr,
			        "%sstampede: folding the profile's samples (perf script, %llu so "
			        "far; Ctrl-C drops the profile)...\n",
			        nl, (unsigned long long)folded);
	}
	return false;
}

/* The flame graph of f written to p->svg, and analyses.profile. */
static json_t *render(struct profile_run *p, struct folded *f, bool *write_failed)
{
	char title[128], sub[512], err[1024];
	struct buf svg = { 0 };
	uint64_t total = folded_stats(f).total;

	snprintf(title, sizeof(title), "CPU flame graph: %.64s under load", p->comm);
	snprintf(sub, sizeof(sub),
	         "pid %d (%s), %.1f s to %.1f s of the run at %d Hz, %llu samples", (int)p->o.pid,
	         p->comm, p->from_s, p->to_s, p->o.hz, (unsigned long long)total);
	flame_render(f, &(struct flame_opts){ .title = title, .subtitle = sub }, &svg);
	int e = outfile_write(p->svg, svg.p ? svg.p : "", svg.len, err, sizeof(err));
	buf_free(&svg);
	json_t *j = json_object();
	if (e < 0) { /* what was computed stays: only the graph is missing */
		*write_failed = true;
		warn_as(p, err, "the flame graph is not written (the result keeps the profile)");
		json_object_set_new(j, "svg", json_null());
		json_object_set_new(j, "svgError", json_string(err));
	} else {
		json_object_set_new(j, "svg", json_string(p->svg));
	}
	json_object_set_new(j, "pid", json_integer(p->o.pid));
	json_object_set_new(j, "comm", json_string(p->comm));
	json_object_set_new(j, "samples", json_integer((json_int_t)total));
	json_object_set_new(j, "stacks", json_integer((json_int_t)folded_nstacks(f)));
	json_object_set_new(j, "hz", json_integer(p->o.hz));
	json_object_set_new(j, "fromS", json_real(round(p->from_s * 10) / 10));
	json_object_set_new(j, "toS", json_real(round(p->to_s * 10) / 10));
	json_object_set_new(j, "endedBy", json_string(p->ended_by));
	struct flame_top top[PROFILE_RUN_TOP];
	int n = flame_top_functions(f, 1, top, PROFILE_RUN_TOP); /* without the comm frame */
	json_t *rows = json_array();
	for (int i = 0; i < n; i++) {
		json_t *row = json_object();
		json_object_set_new(row, "name", json_string(top[i].name));
		json_object_set_new(row, "self", share(top[i].self, total));
		json_object_set_new(row, "total", share(top[i].total, total));
		json_array_append_new(rows, row);
	}
	json_object_set_new(j, "topFunctions", rows);
	return j;
}

json_t *profile_run_finish(struct profile_run *p, bool *write_failed)
{
	char err[1024];
	if (!p || p->done)
		return NULL;
	p->done = true;
	stop_thread(p);
	if (p->err_code < 0)
		return error_json(p, p->err);
	if (!p->cap) {
		snprintf(err, sizeof(err),
		         "the run ended before its steady part began (%.1f s in): profile a "
		         "longer run",
		         (double)p->o.from_us / 1e6);
		return error_json(p, err);
	}
	struct fold_opts fo = fold_opts_default();
	struct folded *f = folded_new();
	struct fold_watch fw = { .p = p, .began = now_us() };
	struct perf_fold_watch w = { .check = fold_check, .ctx = &fw };
	int e = perf_capture_fold(p->cap, &fo, f, &w, err, sizeof(err));
	json_t *j;
	if (e == -EINTR) { /* the user wants out: no profile, the run is interrupted (105) */
		p->interrupted = true;
		j = error_json_as(p, "interrupted",
		                  "interrupted by a signal while its samples were folded");
	} else {
		j = e < 0 ? error_json(p, err) : render(p, f, write_failed);
	}
	folded_free(f);
	perf_capture_free(p->cap);
	p->cap = NULL;
	return j;
}

bool profile_run_interrupted(const struct profile_run *p)
{
	return p && p->interrupted;
}

void profile_run_free(struct profile_run *p)
{
	if (!p)
		return;
	stop_thread(p);
	perf_capture_free(p->cap);
	free(p->svg);
	free(p);
}
