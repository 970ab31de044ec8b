/*
 * coord_server.h: the state of `stampede coordinate` (docs/distributed.md, "Live
 * aggregation"): the ready barrier, the instances, and the abort-on-fail thresholds judged
 * on every instance's interval values together. No HTTP here: cmd_coordinate.c serves it
 * (libmicrohttpd), tests/unit/test_coord.c drives it directly.
 *
 * The protocol (JSON bodies, every answer a JSON object; an error is {"error": REASON}
 * with a 4xx/5xx status):
 *   POST /v1/register {instance, token, thresholds: [{source, selector, expr,
 *        delay_abort_ms, window_s}], segment: "FROM:TO" (optional; none: the whole load),
 *        sequence: "0,...,1" (optional, with segment), test: {url, script, scriptSha256,
 *        executor, vus, duration, scenarios, ...} (optional: the run's options that
 *        `stampede merge` compares, the segment excluded)}: joins the barrier (idempotent
 *        for the same instance and token: the client polls with it). 200 {registered,
 *        instances, poll_ms, now_unix_us, start_unix_us (once every instance has
 *        registered)}; 409 a duplicate name (another token: {error, duplicate: true,
 *        silent_ms: how long the registered one has been silent}; the client asks again,
 *        as it may be its own earlier process, not forgotten yet), one instance too many, other thresholds than
 *        the first instance's, or not one test with the others (as `stampede merge`
 *        refuses parts): a sequence with another number of segments than N, another
 *        sequence than a registered instance's, a segment overlapping a registered one,
 *        segmented and unsegmented instances mixed, a test whose options differ from the
 *        first registered instance's (a script by its file name; a test not said is not
 *        compared); 400 a malformed request (a body that is not a JSON object: "expected a
 *        JSON object, got an array"); 503 the coordinator no longer waits (its barrier
 *        timed out, it was stopped: the reason). Every refusal is said on stderr with its
 *        reason (a duplicate's once per token).
 *   POST /v1/interval {instance, token, t, length_s, http_reqs, values: [per threshold,
 *        in the registered order: null (no sample) or {type: "counter", sum} | {type:
 *        "rate", nz, total} | {type: "trend", unit, hdr (V2 base64)} | {type: "gauge",
 *        last, min, max}]}: 200 {abort: REASON or null}; 404 an unknown instance. The
 *        counts (a rate's nz and total, each at most 2^53; a histogram's) are summed
 *        saturating at INT64_MAX: a histogram that would pass it is not added.
 *   POST /v1/done {instance, token, exit_code}: 200 {abort}.
 *   POST /v1/abort {instance, token}: 200 {abort}; the instances poll it between their
 *        intervals, which also says they are alive (404 an unknown instance).
 *   GET /v1/abort: {abort}.
 *   GET /v1/status: {instances, registered, start_unix_us, abort, members: [{instance,
 *        done, lost, exit_code, intervals, segment, sequence (when it said them)}]}.
 *
 * An instance that sends nothing for COORD_SILENT_US is dropped: at the barrier it is
 * forgotten (its place is free again); after the start it is lost (killed, cut off): the
 * seconds are judged on the others' data, it counts as not run to its end, and it is
 * judged with them again if it speaks again.
 */
#ifndef STAMPEDE_COORD_SERVER_H
#define STAMPEDE_COORD_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Bounds of what the coordinator accepts. */
#define COORD_INSTANCES_MAX  1000
#define COORD_NAME_MAX       200
#define COORD_THRESHOLDS_MAX 100
#define COORD_WINDOW_MAX_S   3600
#define COORD_BODY_MAX       (8 << 20)
/* The common start is this long after the last registration: every polling client learns
 * it before then (they poll every poll_ms <= 500 ms). */
#define COORD_START_DELAY_US 2000000LL
/* An instance silent this long is dropped (its intervals come every second). */
#define COORD_SILENT_US (5 * 1000000LL)

struct coord_server;

/* A coordinator waiting for `instances` (1..COORD_INSTANCES_MAX) instances. Never NULL. */
struct coord_server *coord_server_new(int instances);
/* Accepts NULL. */
void coord_server_free(struct coord_server *s);

/* Answer one request (method "GET" or "POST", path, body[0..len)) at wall clock now_us:
 * returns the answer's JSON object (new reference) and sets *status (200, 4xx, 5xx).
 * Thread-safe. The first failed threshold's reason is printed on stderr once. */
json_t *coord_server_handle(struct coord_server *s, const char *method, const char *path,
                            const char *body, size_t len, int64_t now_us, int *status);

/* Drop the instances silent for COORD_SILENT_US at wall clock now_us (see above; said on
 * stderr); call it a few times a second. Thread-safe. */
void coord_server_tick(struct coord_server *s, int64_t now_us);

/* Refuse registrations from now on (the barrier timed out, the coordinator stops); the
 * answer to them (503), and to the polls of those waiting at the barrier, says why
 * (reason, copied). */
void coord_server_close(struct coord_server *s, const char *reason);

/* Whether every instance still registered at the closed barrier has polled it since it
 * closed, and so heard why (true when none is registered). Thread-safe. */
bool coord_server_all_told(struct coord_server *s);
/* The common start (µs since the epoch), 0 while the barrier waits. */
int64_t coord_server_start_us(struct coord_server *s);
/* Instances registered so far. */
int coord_server_registered(struct coord_server *s);
/* Whether every instance has registered and said it is done or was lost, and one at least
 * said it is done (every one lost: they may come back, the coordinator waits). */
bool coord_server_all_done(struct coord_server *s);
/* Whether a threshold failed (the run was aborted). */
bool coord_server_aborted(struct coord_server *s);
/* One line per instance ("  0:1/3: done, exit 108, 6 intervals"; one that registered and
 * went away before the start: "  1/3:2/3: registered, then left the barrier (exit 105)"),
 * how many never registered, then one per threshold with its value on every instance's
 * data ("  threshold 'p(95)<200' on http_req_duration: 12.3 (ok)") and the abort reason,
 * if any, to f. */
void coord_server_summary(struct coord_server *s, FILE *f);
/* How many of the N instances did not run to their end: never registered or started,
 * not done (lost included), no interval sent, or done with another exit code than 0, 99
 * or 108. */
int coord_server_incomplete(struct coord_server *s);

/* The start of the coordinator's abort reason for threshold expr on selector ("threshold
 * 'count<2500' on http_reqs failed across ", then "3 instances after 5.0s") into buf (len
 * bytes, truncated); returns its length untruncated, as snprintf. */
size_t coord_abort_prefix(const char *expr, const char *selector, char *buf, size_t len);

#endif
