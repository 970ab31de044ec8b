/*
 * history.h: the run history, a SQLite database of runs (docs/history.md): each run's
 * metadata and headline figures, every metric's summary values, its thresholds and the
 * result file itself (zstd-compressed), and one baseline run per test.
 *
 * A database is ours when its PRAGMA application_id is HISTORY_APP_ID; its schema version
 * is PRAGMA user_version, migrated forward on open. It runs in WAL mode with a busy
 * timeout of HISTORY_BUSY_TIMEOUT_MS, so several processes (two CI jobs) may read and
 * write it at once; every write is one transaction.
 *
 * Errors: the functions that can fail return 0 (or an id) on success and a negative errno
 * on failure, with a one-line message naming the database's path in err (err may be NULL
 * when errlen is 0):
 *   -ENOENT  the file (history_open without create) or the run does not exist;
 *   -EINVAL  not a stampede history (garbage, a foreign SQLite database, an empty file
 *            opened without create), a schema newer than this binary, a bad argument;
 *   -EBUSY   another process held the database for longer than the busy timeout;
 *   -EACCES / -EROFS / -EISDIR  the path cannot be opened or written;
 *   -EIO     SQLite failed otherwise (a corrupt database: "database disk image is
 *            malformed"), the message says how;
 *   -ENOMEM  the stored result could not be (de)compressed or encoded.
 * Times are µs since the epoch (int64); figures that had no data are NAN.
 * A struct history is used by one thread at a time.
 */
#ifndef STAMPEDE_HISTORY_H
#define STAMPEDE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result/result.h"

/* PRAGMA application_id of a stampede history: "STMP" in ASCII. */
#define HISTORY_APP_ID 0x53544d50
/* The schema version (PRAGMA user_version) this binary writes. */
#define HISTORY_SCHEMA_VERSION 1
/* How long a writer waits for another process's transaction, ms. */
#define HISTORY_BUSY_TIMEOUT_MS 30000
/* The length of a test hash: hex digits. */
#define HISTORY_HASH_LEN 16

struct history;

/* What the caller knows about a run beyond its result (cli/history_meta.h computes them).
 * Every field may be NULL except test_hash. Borrowed for the call. */
struct history_meta {
	const char *git_commit; /* `git rev-parse HEAD`, or NULL outside a repository */
	const char *git_branch; /* `git rev-parse --abbrev-ref HEAD`, or NULL */
	const char *tag;        /* --tag: a free label ("nightly", "v1.2"), or NULL */
	const char *source;     /* the script's path or the URL of a quick run */
	const char *test_hash;  /* HISTORY_HASH_LEN hex digits: what makes runs comparable */
};

/* One run as the runs table keeps it. The strings are owned by the struct
 * (history_run_clear); NULL where unknown. */
struct history_run {
	int64_t id;            /* > 0, in order of addition */
	int64_t started_at_us; /* the run's wall-clock start, µs since the epoch */
	double duration_s;     /* measured run time, s */
	int64_t added_at_us;   /* when it was added to the history, µs since the epoch */
	char *version;         /* stampede's version that made the run */
	char *git_commit, *git_branch, *tag, *source, *test_hash;
	int thresholds_passed, thresholds_failed;
	bool interrupted, aborted;
	int64_t http_reqs;             /* http_reqs count (0 when none) */
	double rps;                    /* http_reqs per second over the run */
	double error_rate;             /* http_req_failed's rate, 0..1; NAN without requests */
	double p50_ms, p95_ms, p99_ms; /* http_req_duration's percentiles, ms; NAN: no data */
	int64_t result_bytes;          /* the result document's size, bytes */
	int64_t stored_bytes;          /* its compressed size in the database, bytes */
	bool baseline;                 /* it is its test's current baseline */
};

/* One threshold of a run. Strings owned by the array (history_thresholds_free). */
struct history_threshold {
	char *selector;   /* "http_req_duration" or "http_req_duration{name:/api}" */
	char *expression; /* "p(95)<200" */
	bool ok;
	double value; /* the statistic's value (ms for time), NAN when there was no data */
};

/* One summary value of a run: selector (a metric, or a metric with a name tag: see
 * history_add), k6's statistic name, value. Strings owned by the array. */
struct history_value {
	char *selector;
	char *stat;
	double value; /* NAN when the statistic had no data */
};

/* One point of a trend. */
struct history_point {
	int64_t run_id;
	int64_t started_at_us;
	double value; /* NAN when the run had no such value */
};

/* One baseline: the run chosen for a test hash. */
struct history_baseline {
	char test_hash[HISTORY_HASH_LEN + 1];
	int64_t run_id;
	int64_t set_at_us; /* when it was set, µs since the epoch */
};

/*
 * Open the history at path. create: make the file and its schema when the file does not
 * exist or is empty (a writer: `history add`, `run --history`); otherwise a missing file
 * is -ENOENT and an empty one -EINVAL. An older schema (lower user_version) is migrated
 * forward in one transaction; a newer one is refused (-EINVAL: "PATH: history schema
 * version N is newer than this stampede knows (1): use a newer stampede"), as are a file
 * that is not SQLite and a SQLite database that is not a history (another application_id,
 * or other tables without ours). Sets WAL, the busy timeout and foreign keys. Returns 0
 * with *out set (release with history_close), or a negative errno with the reason.
 */
int history_open(const char *path, bool create, struct history **out, char *err, size_t errlen);

/* Close the database. Accepts NULL. */
void history_close(struct history *h);

/* The path h was opened with (owned by h). */
const char *history_path(const struct history *h);

/*
 * Add a run: its row (meta's fields, the headline figures), every metric's summary values
 * as the result file's "values" show them (selector = the metric's name), and for the
 * http_req_* trends, http_reqs and http_req_failed the same per value of the `name` tag
 * (selector "http_req_duration{name:/api}"), the thresholds with their verdicts, and the
 * result document (as result_write writes it) compressed with zstd. One transaction:
 * all or nothing. Returns the new run's id (> 0) or a negative errno.
 */
int64_t history_add(struct history *h, const struct result *r, const struct history_meta *meta,
                    char *err, size_t errlen);

/* Which runs history_list returns: NULL fields do not filter; limit <= 0: all. */
struct history_filter {
	const char *test_hash;
	const char *tag;
	int limit;
};

/* The runs that match f (f may be NULL), newest first (by start time, then id). Returns 0
 * with *runs (a new array of *n runs, NULL when *n is 0; history_runs_free) or a negative
 * errno. */
int history_list(struct history *h, const struct history_filter *f, struct history_run **runs,
                 int *n, char *err, size_t errlen);
void history_runs_free(struct history_run *runs, int n);

/* Run id's row into *out (history_run_clear releases its strings). Returns 0, -ENOENT
 * ("PATH: no run ID") or another negative errno. */
int history_get(struct history *h, int64_t id, struct history_run *out, char *err, size_t errlen);
void history_run_clear(struct history_run *run);

/* Run id's thresholds in the order of its result. Returns 0 with a new array (*n items,
 * history_thresholds_free) or a negative errno (-ENOENT for an unknown run). */
int history_thresholds(struct history *h, int64_t id, struct history_threshold **out, int *n,
                       char *err, size_t errlen);
void history_thresholds_free(struct history_threshold *t, int n);

/* Run id's summary values, sorted by selector then stat. Returns 0 with a new array (*n
 * items, history_values_free) or a negative errno (-ENOENT for an unknown run). */
int history_values(struct history *h, int64_t id, struct history_value **out, int *n, char *err,
                   size_t errlen);
void history_values_free(struct history_value *v, int n);

/* Run id's stored result document, decompressed: *text (a new NUL-terminated buffer of
 * *len bytes, ending with a newline; the caller frees it). Returns 0, -ENOENT, -EIO (the
 * stored data does not decompress to its recorded size) or another negative errno. */
int history_result_text(struct history *h, int64_t id, char **text, size_t *len, char *err,
                        size_t errlen);

/* Run id's result, loaded from its stored document (result_from_json): *out, released
 * with result_free. Returns 0 or a negative errno (-EIO when the stored document is not
 * a valid result). */
int history_load_result(struct history *h, int64_t id, struct result **out, char *err,
                        size_t errlen);

/* Make run id the baseline of its test hash (replacing the previous one, if any); *prev
 * (may be NULL) gets the replaced run's id or 0. Returns 0, -ENOENT or a negative errno. */
int history_baseline_set(struct history *h, int64_t id, int64_t *prev, char *err, size_t errlen);

/* The baseline of test_hash into *out. Returns 0, -ENOENT when the test has none ("PATH:
 * no baseline for test HASH"), or a negative errno. */
int history_baseline_get(struct history *h, const char *test_hash, struct history_baseline *out,
                         char *err, size_t errlen);

/* Every baseline, by test hash. Returns 0 with a new array (*n items; free()) or a
 * negative errno. */
int history_baselines(struct history *h, struct history_baseline **out, int *n, char *err,
                      size_t errlen);

/*
 * A trend: the value of (selector, stat) (e.g. "http_req_duration", "p(95)") for the last
 * `last` runs of test_hash (all when last <= 0), oldest first (by start time, then id),
 * with their run ids; a run without that value has NAN. Returns 0 with a new array (*n
 * points, NULL when 0; free()) or a negative errno.
 */
int history_trend(struct history *h, const char *test_hash, const char *selector, const char *stat,
                  int last, struct history_point **out, int *n, char *err, size_t errlen);

#endif
