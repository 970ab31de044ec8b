/* run.c: the coordinator thread: schedule, per-second collection, progress, signals. */
#include "engine/run.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "engine/monitor.h"
#include "result/build.h"
#include "script/script.h"
#include "util/common.h"
#include "util/procfs.h"
#include "util/suggest.h"

#define COLLECT_DELAY_US 30000
#define SATURATED        0.95
/* The last-resort bound: how long past the end of every scenario (or past a hard stop) a
 * worker may take to finish before the coordinator gives up on it (see give_up()). */
#define STUCK_MARGIN_US (5 * USEC_PER_SEC)

struct coord {
	struct engine e;
	struct registry reg;
	struct aggregate agg;
	struct run_opts *o;
	int abort_thr;      /* the abort-on-fail threshold that stopped the run, or -1 */
	double abort_value; /* its value then (over its window) */
	struct sink **pend_head, **pend_tail;
	bool *finished;     /* the worker's final sink has been merged */
	int *vus_max;       /* each worker's allocated VUs at its last interval */
	struct sink *csink; /* the coordinator's own samples (vus gauges) */
	int sid_vus, sid_vus_max;
	int64_t *cpu_prev;
	int64_t cpu_prev_at;
	uint64_t host_busy_prev, host_total_prev;
	int host_saturated_seconds;
	int saturated_seconds;
	double cpu_total_us;
	bool tty;
	int64_t last_plain_progress;
	bool aborted;
	char abort_reason[512];
	struct result_snapshots snaps; /* per-second snapshots for the outputs */
	int64_t end_us;                /* when the run ended (monotonic), once known */
	int sfd;                       /* signalfd of SIGINT, SIGTERM and SIGHUP */
	int nsig;                      /* stop signals received */
	bool interrupted;              /* a signal stopped the run (exit 105) */
	bool *stuck;                   /* the worker did not stop in time and was abandoned */
	int nstuck;                    /* how many */
};

/* Check every threshold's metric and aggregation, and give the registry their sub-metric
 * selectors, so the series they read exist whatever the series cap (metrics.h "Caps"). */
static int check_thresholds(struct registry *reg, struct run_opts *o)
{
	for (int i = 0; i < o->nthr; i++) {
		struct threshold *t = &o->thr[i];
		struct tag sel[TAG_MAX];
		int nsel = MIN(t->ntags, TAG_MAX);
		int m = registry_find_metric(reg, t->metric);
		if (m < 0) {
			int n = registry_nmetrics(reg);
			const char **names = xcalloc((size_t)MAX(n, 1), sizeof(*names));
			for (int k = 0; k < n; k++)
				names[k] = reg->metrics[k].name;
			int near = suggest_closest(t->metric, strlen(t->metric), names, n);
			fprintf(stderr, "stampede: threshold '%s': unknown metric '%s'%s%s%s\n",
			        t->source, t->metric, near >= 0 ? " (did you mean '" : "",
			        near >= 0 ? names[near] : "", near >= 0 ? "'?)" : "");
			free(names);
			return -EINVAL;
		}
		const char *why = threshold_check_type(t, reg->metrics[m].type);
		if (why) {
			fprintf(stderr, "stampede: threshold '%s': %s\n", t->source, why);
			return -EINVAL;
		}
		for (int j = 0; j < nsel; j++)
			sel[j] = (struct tag){ t->tags[j].key, t->tags[j].value };
		registry_keep_selector(reg, m, sel, nsel);
	}
	return 0;
}

static void queue_sinks(struct coord *c)
{
	for (int w = 0; w < c->e.nworkers; w++) {
		struct sink *s = worker_take_sinks(c->e.workers[w]);
		while (s) {
			struct sink *next = s->next;
			s->next = NULL;
			if (c->pend_tail[w])
				c->pend_tail[w]->next = s;
			else
				c->pend_head[w] = s;
			c->pend_tail[w] = s;
			s = next;
		}
	}
}

static void sample_generator(struct coord *c)
{
	uint64_t busy, total;
	if (procfs_host_cpu(&busy, &total)) {
		if (c->host_total_prev && total > c->host_total_prev) {
			double frac = (double)(busy - c->host_busy_prev) /
			              (double)(total - c->host_total_prev);
			if (frac >= SATURATED)
				c->host_saturated_seconds++;
		}
		c->host_busy_prev = busy;
		c->host_total_prev = total;
	}
	int64_t now = now_us(), wall = now - c->cpu_prev_at;
	bool sat = false;
	if (wall <= 0)
		return;
	for (int w = 0; w < c->e.nworkers; w++) {
		int64_t cpu = worker_cpu_us(c->e.workers[w]);
		int64_t d = cpu - c->cpu_prev[w];
		c->cpu_prev[w] = cpu;
		c->cpu_total_us += (double)MAX(d, 0);
		if ((double)d >= SATURATED * (double)wall)
			sat = true;
	}
	c->cpu_prev_at = now;
	if (sat)
		c->saturated_seconds++;
}

static double elapsed_s(struct coord *c)
{
	return (double)(now_us() - c->e.start_us) / 1e6;
}

/* per_request: a counter's total over http_reqs' (both 0 when without samples); NAN
 * without requests (no value: the threshold fails). */
static double per_request(const struct combined *num, const struct combined *reqs)
{
	double n = num->any ? num->sum : 0, r = reqs->any ? reqs->sum : 0;
	return r > 0 ? n / r : NAN;
}

/* A threshold's value on the run's totals so far (k6's rules: a counter or rate without
 * samples counts 0). NAN when nothing applies. */
static double threshold_value(struct coord *c, const struct threshold *t)
{
	int m = registry_find_metric(&c->reg, t->metric);
	struct tag filter[TAG_MAX];
	int nf = MIN(t->ntags, TAG_MAX);
	double v = NAN;
	if (m < 0)
		return v;
	for (int j = 0; j < nf; j++)
		filter[j] = (struct tag){ t->tags[j].key, t->tags[j].value };
	struct combined cb;
	aggregate_combine(&c->agg, m, filter, nf, false, &cb);
	if (t->agg == THR_PER_REQUEST) {
		struct combined reqs;
		aggregate_combine(&c->agg, M_HTTP_REQS, NULL, 0, false, &reqs);
		v = cb.type == MT_COUNTER ? per_request(&cb, &reqs) : NAN;
		combined_free(&reqs);
	} else if (!cb.any) {
		if (cb.type == MT_COUNTER || cb.type == MT_RATE)
			v = 0;
	} else if (!combined_value(&cb, (int)t->agg, t->pct, elapsed_s(c), &v)) {
		v = NAN;
	}
	combined_free(&cb);
	return v;
}

/* A threshold's value over the run's last t->window_s seconds (aggregate_recent), for an
 * unfiltered selector; otherwise, or without such data, on the totals. */
static double threshold_value_recent(struct coord *c, const struct threshold *t)
{
	int m = registry_find_metric(&c->reg, t->metric);
	struct combined cb;
	double covered, v = NAN;
	if (m < 0 || t->ntags)
		return threshold_value(c, t);
	if (!aggregate_recent(&c->agg, m, t->window_s, &cb, &covered)) {
		combined_free(&cb);
		return threshold_value(c, t);
	}
	if (t->agg == THR_PER_REQUEST) {
		struct combined reqs;
		double rc;
		if (aggregate_recent(&c->agg, M_HTTP_REQS, t->window_s, &reqs, &rc))
			v = cb.type == MT_COUNTER ? per_request(&cb, &reqs) : NAN;
		else
			v = threshold_value(c, t);
		combined_free(&reqs);
	} else if (!cb.any) /* k6's rule: a counter or rate without samples counts 0 */
		v = cb.type == MT_COUNTER || cb.type == MT_RATE ? 0 : NAN;
	else if (!combined_value(&cb, (int)t->agg, t->pct, covered, &v))
		v = NAN;
	combined_free(&cb);
	return v;
}

static void check_abort(struct coord *c)
{
	struct run_opts *o = c->o;
	int64_t el = now_us() - c->e.start_us;
	if (c->aborted)
		return;
	const char *remote = o->remote_abort ? o->remote_abort(o->remote_ctx) : NULL;
	if (remote) {
		c->aborted = true;
		snprintf(c->abort_reason, sizeof(c->abort_reason), "%s", remote);
		if (c->tty && o->progress)
			fputc('\n', stderr);
		fprintf(stderr, "stampede: aborting: %s\n", c->abort_reason);
		engine_stop(&c->e, STOP_HARD);
		return;
	}
	if (o->remote_abort && (!o->remote_judging || o->remote_judging(o->remote_ctx)))
		return; /* the coordinator judges them on every instance's data */
	for (int i = 0; i < o->nthr; i++) {
		const struct threshold *t = &o->thr[i];
		if (!t->abort_on_fail || el < MAX(o->abort_delay_us, t->delay_abort_us))
			continue;
		double v = t->window_s > 0 ? threshold_value_recent(c, t) : threshold_value(c, t);
		if (!threshold_compare(t, v)) {
			c->aborted = true;
			c->abort_thr = i;
			c->abort_value = v;
			snprintf(c->abort_reason, sizeof(c->abort_reason),
			         "threshold '%s' on %s failed after %.1fs", t->expr, t->selector,
			         (double)el / 1e6);
			if (c->tty && o->progress)
				fputc('\n', stderr);
			fprintf(stderr, "stampede: aborting: %s\n", c->abort_reason);
			engine_stop(&c->e, STOP_HARD);
			return;
		}
	}
}

/* Close every interval for which all workers have delivered their sink. */
static void close_ready_intervals(struct coord *c)
{
	int nw = c->e.nworkers;
	for (;;) {
		int32_t k = (int32_t)c->agg.intervals;
		bool ready = true, any = false;
		for (int w = 0; w < nw; w++) {
			if (c->finished[w])
				continue;
			if (c->pend_head[w] && c->pend_head[w]->interval == k)
				any = true;
			else if (!c->stuck[w]) /* an abandoned worker delivers no more */
				ready = false;
		}
		if (!ready || !any)
			return;
		int vus = 0;
		for (int w = 0; w < nw; w++) {
			struct sink *s = c->pend_head[w];
			if (c->finished[w] || !s || s->interval != k)
				continue;
			c->pend_head[w] = s->next;
			if (!c->pend_head[w])
				c->pend_tail[w] = NULL;
			aggregate_add_sink(&c->agg, s);
			if (s->final)
				c->finished[w] = true;
			vus += s->vus;
			c->vus_max[w] = s->vus_max;
			worker_return_sink(c->e.workers[w], s);
		}
		int alloc = 0;
		bool all_done = true;
		for (int w = 0; w < nw; w++) {
			all_done = all_done && (c->finished[w] || c->stuck[w]);
			alloc += c->vus_max[w];
		}
		/* vus: the most VUs active at once in the interval, summed over workers (each
		 * worker's own peak), the last partial second included. */
		sink_gauge(c->csink, c->sid_vus, vus);
		sink_gauge(c->csink, c->sid_vus_max, alloc);
		aggregate_add_sink(&c->agg, c->csink);
		sink_reset(c->csink);
		c->snaps.vus = vus;
		c->snaps.vus_max = alloc;
		c->snaps.final = all_done;
		/* the last interval ends with the run (its end, or now, within the collection
		 * delay), not a second after its start */
		double len =
		    ((double)((c->end_us ? c->end_us : now_us()) - c->e.start_us) / 1e6) - k;
		c->snaps.length_s = all_done ? MAX(MIN(len, 1.0), 0.001) : 1.0;
		aggregate_close_interval(&c->agg, k); /* hands the interval to the outputs */
		check_abort(c);
	}
}

/* Read the stop signals received; returns how many. */
static int read_signals(struct coord *c, int *last)
{
	struct signalfd_siginfo si;
	int n = 0;
	while (c->sfd >= 0 && read(c->sfd, &si, sizeof(si)) == sizeof(si)) {
		n++;
		c->nsig++;
		c->interrupted = true;
		*last = (int)si.ssi_signo;
	}
	return n;
}

/* Wait for the worker running setup() or teardown() to finish. A stop signal meanwhile
 * stops it at once (lifecycle functions have no graceful stop); *signalled says whether one
 * did. Returns false if the worker did not finish within STUCK_MARGIN_US of its timeout or
 * of the signal (code that no hook interrupts): it must then be neither joined nor freed. */
static bool lifecycle_wait(struct coord *c, struct engine *e, struct worker *w, const char *fn,
                           int64_t timeout_us, bool *signalled)
{
	int64_t deadline = e->start_us + MAX(timeout_us, 0) + STUCK_MARGIN_US;
	*signalled = false;
	for (;;) {
		struct worker_stats st;
		worker_get_stats(w, &st);
		if (st.done)
			return true;
		if (now_us() >= deadline) {
			fprintf(
			    stderr,
			    "stampede: warning: %s() did not stop within 5 s of its %s; giving "
			    "up on it (what follows is skipped: handleSummary(), and after "
			    "setup() the run). Likely cause: script code that cannot be "
			    "interrupted (a long pattern match, or a blocking open() of a FIFO or "
			    "device)\n",
			    fn, *signalled ? "interruption" : "timeout");
			return false;
		}
		struct pollfd pfd = { .fd = c->sfd, .events = POLLIN };
		int sig = 0;
		if (poll(&pfd, 1, 50) > 0 && (pfd.revents & POLLIN) && read_signals(c, &sig)) {
			if (!*signalled) {
				fprintf(stderr, "\nstampede: %s received: stopping %s()\n",
				        strsignal(sig), fn);
				deadline = MIN(deadline, now_us() + STUCK_MARGIN_US);
			}
			*signalled = true;
			engine_stop(e, STOP_HARD);
		}
	}
}

/* Run setup() or teardown(): one VU, one iteration, on its own worker; its samples are
 * folded into the totals (they count, as in k6, but have no per-second points). */
static int run_lifecycle(struct coord *c, struct engine_cfg *cfg, const char *fn,
                         int64_t timeout_us)
{
	struct script *scr = c->o->script;
	/* on the heap: a stuck worker keeps using them after this returns (then leaked) */
	struct lc_run {
		struct scenario sc;
		struct engine_cfg lc;
		struct engine e;
		struct worker *w;
	} *lr = xcalloc(1, sizeof(*lr));
	lr->sc = (struct scenario){
		.name = (char *)fn,
		.exec = (char *)fn,
		.executor = EX_PER_VU_ITERATIONS,
		.model = MODEL_CLOSED,
		.vus = 1,
		.iterations = 1,
		.per_vu = true,
		.graceful_stop_us = 0,
		.lifecycle = true,
	};
	struct scenario *sc = &lr->sc;
	struct engine *e = &lr->e;
	sched_constant(&sc->sched, 1, timeout_us);
	sc->duration_us = timeout_us;
	lr->lc = *cfg;
	lr->lc.scen = sc;
	lr->lc.nscen = 1;
	lr->lc.threads = 1;
	*e = (struct engine){ .cfg = &lr->lc, .reg = &c->reg, .nworkers = 1 };
	int rc = worker_new(e, 0, &lr->w);
	if (rc < 0) {
		sched_free(&sc->sched);
		free(lr);
		return rc;
	}
	struct worker *w = lr->w;
	e->workers = &lr->w;
	e->start_us = now_us();
	rc = worker_start(w);
	bool signalled = false;
	if (rc == 0) {
		if (!lifecycle_wait(c, e, w, fn, timeout_us, &signalled)) {
			c->nstuck++; /* lr, w and its VU stay as they are */
			c->interrupted = c->interrupted || signalled;
			return signalled ? -EINTR : -ETIMEDOUT;
		}
		worker_join(w);
	}
	struct worker_stats st;
	worker_get_stats(w, &st);
	for (struct sink *s = worker_take_sinks(w), *n; s; s = n) {
		n = s->next;
		aggregate_fold_sink(&c->agg, s);
		sink_free(s);
	}
	worker_free(w);
	sched_free(&sc->sched);
	if (__atomic_load_n(&e->abort_requested, __ATOMIC_ACQUIRE)) {
		c->aborted = true;
		snprintf(c->abort_reason, sizeof(c->abort_reason), "%s (in %s())", e->abort_reason,
		         fn);
		free(lr);
		return -ECANCELED;
	}
	free(lr);
	if (signalled) {
		fprintf(stderr, "stampede: %s() was interrupted\n", fn);
		return -EINTR;
	}
	if (st.interrupted) { /* k6's words */
		char d[32];
		fprintf(stderr,
		        "stampede: %s() execution timed out after %s (the %sTimeout option sets "
		        "the limit)\n",
		        fn, format_duration(timeout_us, d, sizeof(d)), fn);
		return -ETIMEDOUT;
	}
	if (__atomic_load_n(&scr->setup_failed, __ATOMIC_ACQUIRE)) {
		fprintf(stderr, "stampede: %s() failed (see the error above)\n", fn);
		return -EINVAL;
	}
	return 0;
}

/* What the run came to; exit_code() turns it into the exit code. */
struct outcome {
	bool aborted;          /* abort() or abortOnFail */
	bool script_error;     /* teardown() or handle_summary() failed */
	bool teardown_timeout; /* teardown() ran past teardownTimeout */
	bool interrupted;      /* a stop signal */
	bool thresholds;       /* a threshold failed */
	bool output_failed;    /* --summary-export or a handle_summary() file not written */
};

/* The verdicts first, 108 > 107 > 101 > 105 > 99; a failed output (110) only when none
 * applies, so that a CI gate never mistakes a failed test for a failed write. */
static int exit_code(const struct outcome *o)
{
	if (o->aborted)
		return EXIT_ABORTED;
	if (o->script_error)
		return EXIT_SCRIPT_ERROR;
	if (o->teardown_timeout)
		return EXIT_TEARDOWN_TIMEOUT;
	if (o->interrupted)
		return EXIT_INTERRUPTED;
	if (o->thresholds)
		return EXIT_THRESHOLDS_FAILED;
	if (o->output_failed)
		return EXIT_OUTPUT_FAILED;
	return EXIT_OK;
}

static bool any_open(const struct engine_cfg *cfg)
{
	for (int i = 0; i < cfg->nscen; i++)
		if (cfg->scen[i].model == MODEL_OPEN)
			return true;
	return false;
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The process's peak RSS in kB: VmHWM of /proc/self/status, the high-water mark of this
 * program's own memory. getrusage()'s ru_maxrss is the fallback only: Linux carries it
 * across execve(), so a process started by a big parent (a test runner, a shell holding
 * much memory) would report the parent's size at fork time. */
static long peak_rss_kb(const struct rusage *ru)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb >= 0 ? kb : ru->ru_maxrss;
}

void engine_stop(struct engine *e, int level)
{
	int cur = __atomic_load_n(&e->stop_level, __ATOMIC_ACQUIRE);
	while (cur < level && !__atomic_compare_exchange_n(&e->stop_level, &cur, level, false,
	                                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	for (int w = 0; w < e->nworkers; w++)
		if (e->workers[w])
			worker_wake(e->workers[w]);
}

void engine_abort(struct engine *e, const char *reason)
{
	if (!__atomic_exchange_n(&e->abort_requested, 1, __ATOMIC_ACQ_REL))
		snprintf(e->abort_reason, sizeof(e->abort_reason), "%s", reason);
	engine_stop(e, STOP_HARD);
}

/* Give up on the workers that have not finished: mark them stuck and say which, why their
 * last samples are missing, and what likely keeps them. */
static void give_up(struct coord *c, const char *why)
{
	char list[256] = "";
	size_t len = 0;
	for (int w = 0; w < c->e.nworkers; w++) {
		struct worker_stats st;
		worker_get_stats(c->e.workers[w], &st);
		if (st.done)
			continue;
		c->stuck[w] = true;
		c->nstuck++;
		if (len < sizeof(list))
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d",
			                        len ? ", " : "", w);
	}
	if (c->tty && c->o->progress)
		fputc('\n', stderr);
	fprintf(stderr,
	        "stampede: warning: worker thread(s) %s did not stop %s; giving up on them: "
	        "their samples since their last completed interval are missing from the "
	        "results, teardown() and handleSummary() are skipped. Likely cause: script code "
	        "that cannot be interrupted (a long pattern match such as string.find with many "
	        "'.-', or a blocking open() of a FIFO or device)\n",
	        list, why);
	fflush(stderr);
}

/* Wait for the workers, collecting their samples each second and handling signals and
 * aborts. Returns 0 once every worker is done, or 1 if some did not stop by the last-resort
 * bound (STUCK_MARGIN_US past the end of every scenario, past the graceful stop of a first
 * signal, or past a hard stop; plus 1 ms per VU the unfinished workers hold, which they
 * free on the way out): those are marked in c->stuck and must be neither joined nor freed. */
static int coordinate(struct coord *c)
{
	int nw = c->e.nworkers;
	int64_t k = 1, plan_end = 0, grace_max = 0;
	for (int i = 0; i < c->e.cfg->nscen; i++) {
		plan_end = MAX(plan_end, scenario_end_us(&c->e.cfg->scen[i]));
		grace_max = MAX(grace_max, c->e.cfg->scen[i].graceful_stop_us);
	}
	int64_t deadline = c->e.start_us + plan_end + STUCK_MARGIN_US;
	bool hard_seen = false;
	for (;;) {
		bool all_done = true;
		int64_t vus_left = 0; /* the VUs a worker frees after its loop: 1 ms each */
		for (int w = 0; w < nw; w++) {
			struct worker_stats st;
			worker_get_stats(c->e.workers[w], &st);
			all_done = all_done && st.done;
			vus_left += st.done ? 0 : st.allocated_vus;
		}
		if (all_done)
			break;
		if (!hard_seen &&
		    __atomic_load_n(&c->e.stop_level, __ATOMIC_ACQUIRE) == STOP_HARD) {
			hard_seen = true; /* a second signal, an abort: the workers stop at once */
			deadline = MIN(deadline, now_us() + STUCK_MARGIN_US);
		}
		if (now_us() >= deadline + vus_left * 1000) {
			give_up(c, hard_seen ? "within 5 s of the hard stop"
			                     : "within 5 s of the end of the run (duration + "
			                       "graceful stop)");
			return 1;
		}
		int64_t next = c->e.start_us + k * USEC_PER_SEC + COLLECT_DELAY_US;
		int64_t wait = next - now_us();
		struct pollfd pfd = { .fd = c->sfd, .events = POLLIN };
		int n = poll(&pfd, 1, wait > 0 ? (int)MIN((wait + 999) / 1000, 200) : 0);
		int sig = 0, before = c->nsig;
		if (n > 0 && (pfd.revents & POLLIN) && read_signals(c, &sig)) {
			if (c->tty && c->o->progress)
				fputc('\n', stderr);
			if (before == 0)
				fprintf(stderr,
				        "stampede: %s received: stopping; in-flight requests may "
				        "finish (signal again to stop at once)\n",
				        strsignal(sig));
			if (c->nsig >= 2)
				fprintf(stderr, "stampede: stopping now\n");
			engine_stop(&c->e, c->nsig == 1 ? STOP_GRACEFUL : STOP_HARD);
			if (before == 0) /* the run now ends by the longest graceful stop */
				deadline = MIN(deadline, now_us() + grace_max + STUCK_MARGIN_US);
		}
		if (!c->aborted && __atomic_load_n(&c->e.abort_requested, __ATOMIC_ACQUIRE)) {
			c->aborted = true;
			snprintf(c->abort_reason, sizeof(c->abort_reason), "%s", c->e.abort_reason);
			if (c->tty && c->o->progress)
				fputc('\n', stderr);
			fprintf(stderr, "stampede: aborting: %s\n", c->abort_reason);
			engine_stop(&c->e, STOP_HARD);
		}
		if (now_us() >= next) {
			sample_generator(c);
			monitor_sample(c->o->monitor, c->csink, elapsed_s(c));
			queue_sinks(c);
			close_ready_intervals(c);
			k = (now_us() - c->e.start_us - COLLECT_DELAY_US) / USEC_PER_SEC + 1;
		}
	}
	return 0;
}

int run_execute(struct engine_cfg *cfg, struct run_opts *o)
{
	struct coord c = { .o = o, .abort_thr = -1 };
	int rc = EXIT_OK;
	struct outcome out = { 0 };

	registry_init(&c.reg);
	aggregate_init(&c.agg, &c.reg);
	for (int i = 0; o->script && i < o->script->nmetrics; i++) {
		const struct metric_decl *d = &o->script->metrics[i];
		int id = registry_metric(&c.reg, d->name, d->type,
		                         d->is_time            ? MU_TIME_US
		                         : d->type == MT_TREND ? MU_MILLI
		                                               : MU_NONE);
		if (id < 0) {
			if (id == -ENOSPC)
				fprintf(stderr,
				        "stampede: too many custom metrics: '%s' (at most %d)\n",
				        d->name, METRICS_CUSTOM_MAX);
			else
				fprintf(
				    stderr,
				    "stampede: custom metric '%s' clashes with a built-in metric\n",
				    d->name);
			rc = EXIT_SCRIPT_ERROR;
			goto out_reg;
		}
	}
	if (o->monitor && monitor_attach(o->monitor, &c.reg) < 0) {
		fprintf(stderr, "stampede: too many metrics to add the monitoring's\n");
		rc = EXIT_SCRIPT_ERROR;
		goto out_reg;
	}
	if (check_thresholds(&c.reg, o) < 0) {
		rc = EXIT_INVALID_CONFIG;
		goto out_reg;
	}
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP); /* a closed terminal or session: stop as for SIGTERM */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	c.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);

	c.e.cfg = cfg;
	c.e.reg = &c.reg;
	c.e.nworkers = cfg->threads;
	c.e.workers = xcalloc((size_t)cfg->threads, sizeof(*c.e.workers));
	c.pend_head = xcalloc((size_t)cfg->threads, sizeof(*c.pend_head));
	c.pend_tail = xcalloc((size_t)cfg->threads, sizeof(*c.pend_tail));
	c.finished = xcalloc((size_t)cfg->threads, sizeof(*c.finished));
	c.stuck = xcalloc((size_t)cfg->threads, sizeof(*c.stuck));
	c.vus_max = xcalloc((size_t)cfg->threads, sizeof(*c.vus_max));
	c.cpu_prev = xcalloc((size_t)cfg->threads, sizeof(*c.cpu_prev));
	c.csink = sink_new();
	c.snaps = (struct result_snapshots){
		.reg = &c.reg,
		.emit = o->hooks ? o->hooks->interval : NULL,
		.ctx = o->hooks ? o->hooks->ctx : NULL,
	};
	c.agg.on_interval = result_snapshot_emit;
	c.agg.on_interval_ctx = &c.snaps;
	c.sid_vus = registry_series(&c.reg, M_VUS, NULL, 0);
	c.sid_vus_max = registry_series(&c.reg, M_VUS_MAX, NULL, 0);
	c.tty = isatty(STDERR_FILENO);
	if (o->script) {
		if (o->script->has_setup) {
			int e = run_lifecycle(&c, cfg, "setup", o->setup_timeout_us);
			if (e < 0 && c.nstuck) { /* nothing ran: no outputs, and nothing to free */
				fflush(stdout);
				_exit(e == -EINTR ? EXIT_INTERRUPTED : EXIT_SETUP_TIMEOUT);
			}
			if (e < 0) {
				rc = e == -ECANCELED   ? EXIT_ABORTED
				     : e == -ETIMEDOUT ? EXIT_SETUP_TIMEOUT
				     : e == -EINTR     ? EXIT_INTERRUPTED
				                       : EXIT_SCRIPT_ERROR;
				goto out_workers;
			}
		}
	}
	for (int w = 0; w < cfg->threads; w++) {
		int e = worker_new(&c.e, w, &c.e.workers[w]);
		if (e < 0) {
			fprintf(stderr, "stampede: cannot create worker %d: %s\n", w, strerror(-e));
			c.e.nworkers = w;
			rc = EXIT_FAILURE_GENERIC;
			goto out_workers;
		}
	}
	monitor_baseline(o->monitor); /* --scrape: synchronous, before the clock starts */
	int64_t start_wall = wall_us();
	c.snaps.start_wall_us = start_wall;
	c.e.start_us = now_us() + 20000;
	c.cpu_prev_at = c.e.start_us;
	procfs_host_cpu(&c.host_busy_prev, &c.host_total_prev);
	monitor_sample(o->monitor, c.csink, 0); /* the baseline of the rates */
	monitor_start(o->monitor, c.e.start_us);
	for (int w = 0; w < c.e.nworkers; w++) {
		int e = worker_start(c.e.workers[w]);
		if (e < 0) {
			fprintf(stderr, "stampede: cannot start worker %d: %s\n", w, strerror(-e));
			c.e.nworkers = w;
			engine_stop(&c.e, STOP_HARD);
			rc = EXIT_FAILURE_GENERIC;
			break;
		}
	}
	if (coordinate(&c)) {
		/* Abandoned workers: as for an interrupted run, and their still-busy VUs count
		 * as interrupted iterations (read below, they are atomics). */
		c.interrupted = true;
		engine_stop(&c.e, STOP_HARD);
	}
	int64_t end = now_us();
	c.end_us = end;
	int64_t interrupted_iters = 0, backlog_max = 0;
	for (int w = 0; w < c.e.nworkers; w++) {
		struct worker_stats st;
		if (c.stuck[w]) {
			worker_get_stats(c.e.workers[w], &st);
			interrupted_iters += st.active_vus;
			backlog_max = MAX(backlog_max, st.backlog_max);
			continue;
		}
		worker_join(c.e.workers[w]);
		worker_get_stats(c.e.workers[w], &st);
		interrupted_iters += st.interrupted;
		backlog_max = MAX(backlog_max, st.backlog_max);
	}
	sample_generator(&c);
	monitor_end(o->monitor, c.csink); /* --scrape: the last scrape, after the load */
	queue_sinks(&c);
	close_ready_intervals(&c);
	/* what no closed interval took (every interval was closed already) counts in the totals */
	aggregate_fold_sink(&c.agg, c.csink);
	sink_reset(c.csink);
	/* teardown() runs unless the run was aborted, a second signal said "now" or a worker
	 * is stuck (it may hold the script's shared state; give_up() said so) */
	if (o->script && o->script->has_teardown && !c.aborted && c.nsig < 2 && !c.nstuck) {
		int e = run_lifecycle(&c, cfg, "teardown", o->teardown_timeout_us);
		out.script_error = e == -EINVAL;
		out.teardown_timeout = e == -ETIMEDOUT;
	}

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double duration_s = (double)(end - c.e.start_us) / 1e6;
	double run_s = MAX(duration_s, 1e-3);
	/* samples are per second: the last, partial one can exceed the run by < 1 s */
	int run_secs = (int)ceil(duration_s);
	json_t *script_errors = o->script ? script_errors_json(o->script) : NULL;
	json_t *setup_data = NULL;
	if (o->script && o->script->setup_json)
		setup_data = json_loads(o->script->setup_json, JSON_DECODE_ANY, NULL);
	struct result_run_info info = {
		.version = o->version,
		.options = o->options,
		.trend_stats = o->trend_stats,
		.start_wall_us = start_wall,
		.duration_s = duration_s,
		.interrupted = c.interrupted,
		.aborted = c.aborted,
		.abort_reason = c.aborted ? c.abort_reason : NULL,
		.interrupted_iterations = interrupted_iters,
		.teardown_failed = out.script_error,
		.teardown_timeout = out.teardown_timeout,
		.thr = o->thr,
		.nthr = o->nthr,
		.script_errors = script_errors,
		.setup_data = setup_data,
		.gen = {
			.threads = cfg->threads,
			.cpu_percent = 100.0 * c.cpu_total_us / (run_s * 1e6 * cfg->threads),
			.saturated_seconds = MIN(c.saturated_seconds, run_secs),
			.host_saturated_seconds = MIN(c.host_saturated_seconds, run_secs),
			.max_rss_kb = peak_rss_kb(&ru),
			.open_model = any_open(cfg),
			.backlog_max = backlog_max,
			.workers_stuck = c.nstuck,
		},
	};
	if (o->monitor) { /* the scrapers' per-request ratios */
		struct combined reqs;
		aggregate_combine(&c.agg, M_HTTP_REQS, NULL, 0, false, &reqs);
		monitor_set_requests(o->monitor, reqs.any ? reqs.sum : 0);
		combined_free(&reqs);
	}
	struct result *res = result_build(&c.reg, &c.agg, &info);
	if (c.abort_thr >= 0 && c.abort_thr < res->nthresholds) {
		/* the threshold that stopped the run failed, on the value that stopped it */
		struct result_threshold *t = &res->thresholds[c.abort_thr];
		t->aborted_run = true;
		t->ok = false;
		t->value = result_round15(c.abort_value);
	}
	json_decref(script_errors);
	json_decref(setup_data);
	out.thresholds = result_thresholds_failed(res) > 0;
	if (o->hooks && o->hooks->finish) {
		int f = o->hooks->finish(o->hooks->ctx, res);
		out.script_error = out.script_error || (f & RUN_OUT_SCRIPT_ERROR);
		out.output_failed = f & RUN_OUT_FAILED;
		c.interrupted = c.interrupted || (f & RUN_OUT_INTERRUPTED);
	}
	fflush(stdout);
	result_free(res);
	out.aborted = c.aborted;
	out.interrupted = c.interrupted;
	if (rc == EXIT_OK) /* a worker that could not start says more than any verdict */
		rc = exit_code(&out);
	if (c.nstuck) {
		/* The stuck threads still run and use the engine, the script and their VUs:
		 * nothing may be freed or joined. The outputs are written; end here. */
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}

out_workers:
	for (int w = 0; w < cfg->threads; w++)
		worker_free(c.e.workers[w]);
	for (int w = 0; w < cfg->threads; w++)
		for (struct sink *s = c.pend_head[w], *n; s; s = n) {
			n = s->next;
			sink_free(s);
		}
	free(c.e.workers);
	free(c.pend_head);
	free(c.pend_tail);
	free(c.finished);
	free(c.stuck);
	free(c.vus_max);
	free(c.cpu_prev);
	sink_free(c.csink);
	result_snapshots_free(&c.snaps);
	if (c.sfd >= 0)
		close(c.sfd);
out_reg:
	aggregate_destroy(&c.agg);
	registry_destroy(&c.reg);
	return rc;
}
