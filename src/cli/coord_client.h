/*
 * coord_client.h: an instance's side of a distributed run's coordinator (`stampede run
 * --coordinator URL`, `stampede coordinate`; docs/distributed.md, "Live aggregation").
 *
 * The instance registers with the coordinator and waits at its ready barrier until every
 * instance has registered; they then all start at the same wall-clock time. While the run
 * goes, each closed second's values of the run's abort-on-fail thresholds are sent to the
 * coordinator (by a thread of the client's own: the run never waits on the network), which
 * judges those thresholds on every instance's data together and answers with an abort
 * reason when one fails (between two intervals the thread also asks for that verdict every
 * 250 ms or so, so that an abort caused by other instances' data is known before this
 * instance's next second closes); the run polls coord_client_abort() each second and aborts
 * (exit 108) with it. At the end the instance says it is done. The protocol (HTTP + JSON,
 * each request at most 2 s) is in cli/coord_server.h. A request that gets no answer (the
 * coordinator is busy, a connection was dropped) is asked again: at the barrier until the
 * barrier's timeout, mid-run for 5 s (as long as the coordinator waits before it counts the
 * instance as lost). At the barrier, a coordinator that answered once and then refuses
 * connections for 5 s in a row (nothing listens any more) is gone: no longer asked. A
 * coordinator that fails a request mid-run is warned
 * about once on stderr and not asked again: the run goes on with its own thresholds.
 */
#ifndef STAMPEDE_COORD_CLIENT_H
#define STAMPEDE_COORD_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/threshold.h"

struct coord_client;
struct exec_segment;
struct result;
struct result_interval;

/*
 * Register with the coordinator at url ("http://HOST:PORT", loopback or not) as instance
 * `instance` (the execution segment's text, "1/4:1/2", or any unique name), sending the
 * run's abort-on-fail thresholds thr[0 .. nthr) (the others are each instance's own), and
 * wait at the ready barrier for at most timeout_us. Returns 0 with *out and the common
 * start (*start_wall_us, µs since the epoch on this machine's clock: the coordinator's start
 * less its clock's offset as seen in its answer; the caller sleeps until then), or -1 with a
 * one-line reason in err (the coordinator cannot be reached: a refused connection at
 * once, no answer after the timeout; it went away: after taking a connection (answered or
 * not), its connections refused
 * for COORD_SILENT_US (5 s) in a row; it stopped waiting: its barrier timed out or it was
 * stopped, with its reason; it refused the instance: more instances than it waits for,
 * other thresholds than the first instance's, not one test with the others, a duplicate
 * name still registered 2 * COORD_SILENT_US (10 s) after the first refusal (a refusal as a
 * duplicate is asked again every 500 ms until then, with one warning: the name's earlier
 * registration may be this instance's own, killed and restarted, which the coordinator
 * forgets after COORD_SILENT_US of silence); the barrier timed out), or -2 when a stop
 * signal (SIGINT, SIGTERM, SIGHUP:
 * blocked in the calling thread, as `run` blocks them) is pending: the wait is a loop of
 * short requests that looks at sigpending() between them, and the signal is left pending.
 * Called with the stop signals blocked, so the client's thread inherits the mask.
 * The instance's execution segment is read from `instance` when it is one ("1/4:1/2"),
 * without its sequence: use coord_client_start_segment() to send the sequence too.
 */
int coord_client_start(const char *url, const char *instance, const struct threshold *thr, int nthr,
                       int64_t timeout_us, struct coord_client **out, int64_t *start_wall_us,
                       char *err, size_t errlen);

/* As coord_client_start(), with the instance's execution segment seg (NULL or whole: the
 * whole load) and its sequence registered, and its test: the options of the run's result
 * (options; NULL: not said) that `stampede merge` compares. The coordinator refuses an
 * instance that is not one test with the others (another sequence, an overlapping segment,
 * a sequence of another number of segments than the instances it waits for, segmented and
 * unsegmented mixed, options that differ from the first instance's: another URL, script,
 * executor, duration ...). */
int coord_client_start_segment(const char *url, const char *instance,
                               const struct exec_segment *seg, const json_t *options,
                               const struct threshold *thr, int nthr, int64_t timeout_us,
                               struct coord_client **out, int64_t *start_wall_us, char *err,
                               size_t errlen);

/* Each closed second (the run's interval hook, the run's coordinator thread): queue the
 * interval's values of every abort-on-fail threshold's selection (the series of its metric
 * whose tags include the threshold's: a counter's sum, a rate's non-zero and total counts, a
 * trend's HDR histogram, a gauge's last, min and max); never blocks on the network. The
 * queue holds 32 intervals; past that the oldest is dropped, with one warning. */
void coord_client_interval(struct coord_client *c, const struct result_interval *iv);

/* The coordinator's abort reason ("threshold 'p(95)<200' on http_req_duration failed
 * across 3 instances after 12.0s"), or NULL; thread-safe, never blocks. Fits
 * run_opts.remote_abort (engine/run.h). */
const char *coord_client_abort(void *c);

/* The run r ended aborted by the coordinator's reason (coord_client_abort()): mark the
 * threshold it names failed in r (ok false, aborted_run: it stopped the run, failed across
 * the instances as the reason says; its value stays this instance's own share's). Returns
 * the threshold's index in r, or -1 (another end, or no threshold of r named). */
int coord_client_mark_abort(struct coord_client *c, struct result *r);

/* Whether the coordinator still judges the abort-on-fail thresholds (false once it was
 * lost: the run judges them itself again). Fits run_opts.remote_judging. */
bool coord_client_judging(void *c);

/* The run has ended with exit code rc (r: its result, or NULL): tell the coordinator, stop
 * the client's thread (at most a few seconds) and free c. Accepts NULL. */
void coord_client_finish(struct coord_client *c, const struct result *r, int rc);

#endif
