/* history.c: the run history in SQLite: opening and migrating the schema, adding runs,
 * and the queries (history.h, docs/history.md). */
#include "history/history.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>

#include "util/common.h"

#define ZSTD_LEVEL      9
#define RESULT_TEXT_MAX (1024ll * 1024 * 1024) /* as result_load: 1 GiB */

struct history {
	sqlite3 *db;
	char *path;
};

/* --- schema ------------------------------------------------------------------------ */

/* migrations[i] takes a database from user_version i to i + 1. Append, never edit: a
 * database written by a released binary is at one of these steps. */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE runs ("
	" id INTEGER PRIMARY KEY,"
	" started_at INTEGER NOT NULL," /* µs since the epoch */
	" duration_s REAL NOT NULL,"
	" added_at INTEGER NOT NULL," /* µs since the epoch */
	" version TEXT NOT NULL,"
	" git_commit TEXT, git_branch TEXT, tag TEXT, source TEXT,"
	" test_hash TEXT NOT NULL,"
	" thresholds_passed INTEGER NOT NULL, thresholds_failed INTEGER NOT NULL,"
	" interrupted INTEGER NOT NULL, aborted INTEGER NOT NULL,"
	" http_reqs INTEGER NOT NULL, rps REAL, error_rate REAL,"
	" p50_ms REAL, p95_ms REAL, p99_ms REAL);"
	"CREATE INDEX runs_by_test ON runs(test_hash, started_at, id);"
	"CREATE INDEX runs_by_tag ON runs(tag, started_at, id);"
	"CREATE INDEX runs_by_start ON runs(started_at, id);"
	"CREATE TABLE metric_values ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" metric TEXT NOT NULL, selector TEXT NOT NULL, stat TEXT NOT NULL, value REAL,"
	" PRIMARY KEY (run_id, selector, stat)) WITHOUT ROWID;"
	"CREATE TABLE thresholds ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL, selector TEXT NOT NULL, expression TEXT NOT NULL,"
	" ok INTEGER NOT NULL, value REAL,"
	" PRIMARY KEY (run_id, idx)) WITHOUT ROWID;"
	"CREATE TABLE result_files ("
	" run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,"
	" encoding TEXT NOT NULL," /* "zstd" */
	" size INTEGER NOT NULL,"  /* the document's bytes */
	" stored_size INTEGER NOT NULL, data BLOB NOT NULL);"
	"CREATE TABLE baselines ("
	" test_hash TEXT PRIMARY KEY,"
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" set_at INTEGER NOT NULL);",
};

_Static_assert(ARRAY_SIZE(migrations) == HISTORY_SCHEMA_VERSION,
               "one migration per schema version");

/* --- errors ------------------------------------------------------------------------ */

static void say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A negative errno for SQLite's result code rc. */
static int sql_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_NOTADB:
		return -EINVAL;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	default:
		return -EIO;
	}
}

/* Report SQLite's last error on h as "PATH: WHAT: MESSAGE"; returns its negative errno. */
static int sql_fail(struct history *h, int rc, const char *what, char *err, size_t errlen)
{
	const char *msg = h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc);
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
		say(err, errlen, "%s: not a stampede history database (%s)", h->path, msg);
		break;
	case SQLITE_CORRUPT:
		say(err, errlen, "%s: the history database is corrupt (%s)", h->path, msg);
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		say(err, errlen,
		    "%s: %s: the database stayed locked by another process for %d s (%s)", h->path,
		    what, HISTORY_BUSY_TIMEOUT_MS / 1000, msg);
		break;
	default:
		say(err, errlen, "%s: %s: %s", h->path, what, msg);
	}
	return sql_errno(rc);
}

/* --- small statement helpers ------------------------------------------------------- */

static int exec(struct history *h, const char *sql, const char *what, char *err, size_t errlen)
{
	int rc = sqlite3_exec(h->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : sql_fail(h, rc, what, err, errlen);
}

static int prepare(struct history *h, const char *sql, sqlite3_stmt **st, const char *what,
                   char *err, size_t errlen)
{
	int rc = sqlite3_prepare_v2(h->db, sql, -1, st, NULL);
	return rc == SQLITE_OK ? 0 : sql_fail(h, rc, what, err, errlen);
}

/* The integer a one-row query (a PRAGMA) returns into *out. */
static int query_int(struct history *h, const char *sql, int64_t *out, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc = prepare(h, sql, &st, "reading its header", err, errlen);
	if (rc < 0)
		return rc;
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (s == SQLITE_DONE)
		*out = 0;
	else
		rc = sql_fail(h, s, "reading its header", err, errlen);
	sqlite3_finalize(st);
	return rc;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/* NAN is stored as NULL (SQLite has no NaN) and read back as NAN. */
static void bind_real(sqlite3_stmt *st, int i, double v)
{
	if (isfinite(v))
		sqlite3_bind_double(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static double col_real(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? xstrdup((const char *)s) : NULL;
}

/* --- opening ----------------------------------------------------------------------- */

/* Bring the schema from version `from` to HISTORY_SCHEMA_VERSION in one IMMEDIATE
 * transaction (re-reading the version inside it: another process may have migrated in
 * the meantime). A first creation also sets the application_id. */
static int migrate(struct history *h, char *err, size_t errlen)
{
	int rc = exec(h, "BEGIN IMMEDIATE", "starting the schema migration", err, errlen);
	if (rc < 0)
		return rc;
	int64_t v, app;
	if ((rc = query_int(h, "PRAGMA user_version", &v, err, errlen)) < 0 ||
	    (rc = query_int(h, "PRAGMA application_id", &app, err, errlen)) < 0)
		goto out_rollback;
	if (app != HISTORY_APP_ID && app != 0) {
		say(err, errlen, "%s: not a stampede history database (another application's)",
		    h->path);
		rc = -EINVAL;
		goto out_rollback;
	}
	if (v > HISTORY_SCHEMA_VERSION) {
		say(err, errlen,
		    "%s: history schema version %lld is newer than this stampede knows (%d): use a "
		    "newer stampede",
		    h->path, (long long)v, HISTORY_SCHEMA_VERSION);
		rc = -EINVAL;
		goto out_rollback;
	}
	char sql[64];
	for (; v < HISTORY_SCHEMA_VERSION; v++) {
		if ((rc = exec(h, migrations[v], "migrating its schema", err, errlen)) < 0)
			goto out_rollback;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %lld", (long long)v + 1);
		if ((rc = exec(h, sql, "migrating its schema", err, errlen)) < 0)
			goto out_rollback;
	}
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", HISTORY_APP_ID);
	if ((rc = exec(h, sql, "setting its application_id", err, errlen)) < 0)
		goto out_rollback;
	return exec(h, "COMMIT", "committing the schema migration", err, errlen);
out_rollback:
	sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Whether the database is ours, empty, or something else; migrate when needed. */
static int check_schema(struct history *h, bool create, char *err, size_t errlen)
{
	int64_t app, v, tables;
	int rc;
	/* the three in one read transaction: read one by one, a writer creating the history
	 * between them made an empty file's application_id 0 next to its new tables, which
	 * read as another application's database (two CI jobs starting at once) */
	if ((rc = exec(h, "BEGIN", "reading its schema", err, errlen)) < 0)
		return rc;
	if ((rc = query_int(h, "PRAGMA application_id", &app, err, errlen)) < 0 ||
	    (rc = query_int(h, "PRAGMA user_version", &v, err, errlen)) < 0 ||
	    (rc = query_int(h, "SELECT count(*) FROM sqlite_master", &tables, err, errlen)) < 0) {
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	if ((rc = exec(h, "COMMIT", "reading its schema", err, errlen)) < 0)
		return rc;
	if (app != HISTORY_APP_ID && (app != 0 || tables > 0 || v != 0)) {
		say(err, errlen,
		    "%s: not a stampede history database (a SQLite database of another "
		    "application: application_id %#llx, %lld schema objects)",
		    h->path, (unsigned long long)(uint32_t)app, (long long)tables);
		return -EINVAL;
	}
	if (app == 0 && !create) {
		say(err, errlen, "%s: an empty database, not a stampede history yet", h->path);
		return -EINVAL;
	}
	if (v > HISTORY_SCHEMA_VERSION) {
		say(err, errlen,
		    "%s: history schema version %lld is newer than this stampede knows (%d): use a "
		    "newer stampede",
		    h->path, (long long)v, HISTORY_SCHEMA_VERSION);
		return -EINVAL;
	}
	if ((rc = exec(h, "PRAGMA journal_mode = WAL", "setting WAL mode", err, errlen)) < 0 ||
	    (rc = exec(h, "PRAGMA foreign_keys = ON", "enabling foreign keys", err, errlen)) < 0)
		return rc;
	if (app == 0 || v < HISTORY_SCHEMA_VERSION)
		return migrate(h, err, errlen);
	return 0;
}

/* What stat(2) says against opening path: a directory, or missing without create. */
static int check_path(const char *path, bool create, char *err, size_t errlen)
{
	struct stat sb;
	if (stat(path, &sb) < 0) {
		if (errno == ENOENT && create)
			return 0;
		int e = errno;
		say(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (S_ISDIR(sb.st_mode)) {
		say(err, errlen, "%s: is a directory, not a history database", path);
		return -EISDIR;
	}
	if (!S_ISREG(sb.st_mode)) {
		say(err, errlen, "%s: not a regular file", path);
		return -EINVAL;
	}
	return 0;
}

int history_open(const char *path, bool create, struct history **out, char *err, size_t errlen)
{
	if (!path || !*path) {
		say(err, errlen, "history: empty database path");
		return -EINVAL;
	}
	int rc = check_path(path, create, err, errlen);
	if (rc < 0)
		return rc;
	struct history *h = xcalloc(1, sizeof(*h));
	h->path = xstrdup(path);
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	int s = sqlite3_open_v2(path, &h->db, flags, NULL);
	if (s != SQLITE_OK) {
		say(err, errlen, "%s: cannot open: %s", path,
		    h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(s));
		rc = sql_errno(s);
		goto out_close;
	}
	sqlite3_extended_result_codes(h->db, 1);
	sqlite3_busy_timeout(h->db, HISTORY_BUSY_TIMEOUT_MS);
	if ((rc = check_schema(h, create, err, errlen)) < 0)
		goto out_close;
	*out = h;
	return 0;
out_close:
	history_close(h);
	return rc;
}

void history_close(struct history *h)
{
	if (!h)
		return;
	sqlite3_close_v2(h->db);
	free(h->path);
	free(h);
}

const char *history_path(const struct history *h)
{
	return h->path;
}

/* --- adding a run ------------------------------------------------------------------ */

/* A statistic of the result document: doc.metrics[metric].values[stat], or NAN. */
static double doc_value(json_t *doc, const char *metric, const char *stat)
{
	json_t *v = json_object_get(
	    json_object_get(json_object_get(json_object_get(doc, "metrics"), metric), "values"),
	    stat);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static int insert_value(struct history *h, sqlite3_stmt *st, int64_t id, const char *metric,
                        const char *selector, const char *stat, double v, char *err, size_t errlen)
{
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, metric);
	bind_text(st, 3, selector);
	bind_text(st, 4, stat);
	bind_real(st, 5, v);
	int s = sqlite3_step(st);
	return s == SQLITE_DONE ? 0 : sql_fail(h, s, "adding a metric value", err, errlen);
}

/* Whether metric's values are also kept per `name` tag. */
static bool per_name(const char *metric)
{
	return strncmp(metric, "http_req_", 9) == 0 || strcmp(metric, "http_reqs") == 0;
}

/* The values of metric m per value of its `name` tag, with the statistics its whole
 * values object (stats) names. */
static int insert_per_name(struct history *h, sqlite3_stmt *st, int64_t id, const struct result *r,
                           int m, json_t *stats, char *err, size_t errlen)
{
	const struct result_metric *rm = &r->metrics[m];
	int n = 0;
	const char **seen = xcalloc((size_t)r->nseries + 1, sizeof(*seen));
	int rc = 0;
	for (int i = 0; i < r->nseries && rc == 0; i++) {
		const struct result_series *s = &r->series[i];
		if (s->metric != m)
			continue;
		const char *name = NULL;
		for (int t = 0; t < s->ntags; t++)
			if (strcmp(s->tags[t].key, "name") == 0)
				name = s->tags[t].value;
		int j = 0;
		while (name && j < n && strcmp(seen[j], name))
			j++;
		if (!name || j < n)
			continue;
		seen[n++] = name;
		struct result_tag filter = { "name", name };
		struct result_values v;
		result_combine(r, m, &filter, 1, &v);
		size_t sellen = strlen(rm->name) + strlen(name) + 8;
		char *sel = xmalloc(sellen);
		snprintf(sel, sellen, "%s{name:%s}", rm->name, name);
		const char *stat;
		json_t *unused;
		json_object_foreach(stats, stat, unused)
		{
			double x;
			if (!result_stat(&v, rm->unit, stat, r->duration_s, &x))
				x = NAN;
			if ((rc = insert_value(h, st, id, rm->name, sel, stat, x, err, errlen)) < 0)
				break;
		}
		free(sel);
		result_values_free(&v);
	}
	free(seen);
	return rc;
}

/* Every metric's values (overall from the document, per name for some). */
static int insert_values(struct history *h, int64_t id, const struct result *r, json_t *doc,
                         char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc = prepare(h,
	                 "INSERT INTO metric_values (run_id, metric, selector, stat, value) "
	                 "VALUES (?, ?, ?, ?, ?)",
	                 &st, "adding metric values", err, errlen);
	if (rc < 0)
		return rc;
	json_t *metrics = json_object_get(doc, "metrics");
	for (int m = 0; m < r->nmetrics && rc == 0; m++) {
		const char *name = r->metrics[m].name;
		json_t *stats = json_object_get(json_object_get(metrics, name), "values");
		const char *stat;
		json_t *v;
		json_object_foreach(stats, stat, v)
		{
			double x = json_is_number(v) ? json_number_value(v) : NAN;
			if ((rc = insert_value(h, st, id, name, name, stat, x, err, errlen)) < 0)
				break;
		}
		if (rc == 0 && per_name(name) && json_is_object(stats))
			rc = insert_per_name(h, st, id, r, m, stats, err, errlen);
	}
	sqlite3_finalize(st);
	return rc;
}

static int insert_thresholds(struct history *h, int64_t id, const struct result *r, char *err,
                             size_t errlen)
{
	sqlite3_stmt *st;
	int rc = prepare(h,
	                 "INSERT INTO thresholds (run_id, idx, selector, expression, ok, value) "
	                 "VALUES (?, ?, ?, ?, ?, ?)",
	                 &st, "adding thresholds", err, errlen);
	for (int i = 0; rc == 0 && i < r->nthresholds; i++) {
		const struct result_threshold *t = &r->thresholds[i];
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int(st, 2, i);
		bind_text(st, 3, t->selector);
		bind_text(st, 4, t->expr);
		sqlite3_bind_int(st, 5, t->ok);
		bind_real(st, 6, t->value);
		int s = sqlite3_step(st);
		if (s != SQLITE_DONE)
			rc = sql_fail(h, s, "adding thresholds", err, errlen);
	}
	sqlite3_finalize(st);
	return rc;
}

/* The result document as result_write writes it, compressed: *data (new) of *stored bytes,
 * *size the document's length. */
static int compress_doc(json_t *doc, void **data, size_t *stored, size_t *size)
{
	char *text = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(15));
	if (!text)
		return -ENOMEM;
	size_t len = strlen(text);
	text = xrealloc(text, len + 2);
	memcpy(text + len, "\n", 2);
	len++;
	size_t cap = ZSTD_compressBound(len);
	void *z = xmalloc(cap);
	size_t zn = ZSTD_compress(z, cap, text, len, ZSTD_LEVEL);
	free(text);
	if (ZSTD_isError(zn)) {
		free(z);
		return -ENOMEM;
	}
	*data = z;
	*stored = zn;
	*size = len;
	return 0;
}

static int insert_file(struct history *h, int64_t id, json_t *doc, char *err, size_t errlen)
{
	void *z;
	size_t zn, len;
	if (compress_doc(doc, &z, &zn, &len) < 0) {
		say(err, errlen, "%s: the result could not be encoded and compressed", h->path);
		return -ENOMEM;
	}
	sqlite3_stmt *st;
	int rc = prepare(h,
	                 "INSERT INTO result_files (run_id, encoding, size, stored_size, data) "
	                 "VALUES (?, 'zstd', ?, ?, ?)",
	                 &st, "adding the result file", err, errlen);
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)len);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)zn);
		sqlite3_bind_blob64(st, 4, z, zn, SQLITE_STATIC);
		int s = sqlite3_step(st);
		if (s != SQLITE_DONE)
			rc = sql_fail(h, s, "adding the result file", err, errlen);
		sqlite3_finalize(st);
	}
	free(z);
	return rc;
}

static int insert_run(struct history *h, const struct result *r, const struct history_meta *m,
                      json_t *doc, int64_t *id, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc = prepare(
	    h,
	    "INSERT INTO runs (started_at, duration_s, added_at, version, git_commit, git_branch,"
	    " tag, source, test_hash, thresholds_passed, thresholds_failed, interrupted, aborted,"
	    " http_reqs, rps, error_rate, p50_ms, p95_ms, p99_ms)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    &st, "adding the run", err, errlen);
	if (rc < 0)
		return rc;
	int failed = result_thresholds_failed(r);
	double reqs = doc_value(doc, "http_reqs", "count");
	double total = doc_value(doc, "http_req_failed", "passes") +
	               doc_value(doc, "http_req_failed", "fails");
	sqlite3_bind_int64(st, 1, r->start_wall_us);
	sqlite3_bind_double(st, 2, isfinite(r->duration_s) ? r->duration_s : 0);
	sqlite3_bind_int64(st, 3, wall_us());
	bind_text(st, 4, r->version ? r->version : "");
	bind_text(st, 5, m->git_commit);
	bind_text(st, 6, m->git_branch);
	bind_text(st, 7, m->tag);
	bind_text(st, 8, m->source);
	bind_text(st, 9, m->test_hash);
	sqlite3_bind_int(st, 10, r->nthresholds - failed);
	sqlite3_bind_int(st, 11, failed);
	sqlite3_bind_int(st, 12, r->interrupted);
	sqlite3_bind_int(st, 13, r->aborted);
	sqlite3_bind_int64(st, 14, isfinite(reqs) ? (sqlite3_int64)reqs : 0);
	bind_real(st, 15, isfinite(reqs) ? doc_value(doc, "http_reqs", "rate") : 0);
	bind_real(st, 16, total > 0 ? doc_value(doc, "http_req_failed", "rate") : NAN);
	bind_real(st, 17, doc_value(doc, "http_req_duration", "med"));
	bind_real(st, 18, doc_value(doc, "http_req_duration", "p(95)"));
	bind_real(st, 19, doc_value(doc, "http_req_duration", "p(99)"));
	int s = sqlite3_step(st);
	if (s == SQLITE_DONE)
		*id = sqlite3_last_insert_rowid(h->db);
	else
		rc = sql_fail(h, s, "adding the run", err, errlen);
	sqlite3_finalize(st);
	return rc;
}

/* A test hash: HISTORY_HASH_LEN lowercase hex digits. */
static bool valid_hash(const char *s)
{
	if (!s || strlen(s) != HISTORY_HASH_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

int64_t history_add(struct history *h, const struct result *r, const struct history_meta *meta,
                    char *err, size_t errlen)
{
	if (!meta || !valid_hash(meta->test_hash)) {
		say(err, errlen, "%s: a run needs a test hash of %d hex digits", h->path,
		    HISTORY_HASH_LEN);
		return -EINVAL;
	}
	json_t *doc = result_to_json(r);
	int64_t id = 0;
	int rc = exec(h, "BEGIN IMMEDIATE", "adding the run", err, errlen);
	if (rc < 0)
		goto out;
	if ((rc = insert_run(h, r, meta, doc, &id, err, errlen)) < 0 ||
	    (rc = insert_values(h, id, r, doc, err, errlen)) < 0 ||
	    (rc = insert_thresholds(h, id, r, err, errlen)) < 0 ||
	    (rc = insert_file(h, id, doc, err, errlen)) < 0 ||
	    (rc = exec(h, "COMMIT", "committing the run", err, errlen)) < 0) {
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
out:
	json_decref(doc);
	return rc < 0 ? rc : id;
}

/* --- reading runs ------------------------------------------------------------------ */

#define RUN_COLUMNS                                                                                \
	"r.id, r.started_at, r.duration_s, r.added_at, r.version, r.git_commit, r.git_branch,"     \
	" r.tag, r.source, r.test_hash, r.thresholds_passed, r.thresholds_failed,"                 \
	" r.interrupted, r.aborted, r.http_reqs, r.rps, r.error_rate, r.p50_ms, r.p95_ms,"         \
	" r.p99_ms, f.size, f.stored_size, (b.run_id IS NOT NULL)"
#define RUN_FROM                                                                                   \
	" FROM runs r LEFT JOIN result_files f ON f.run_id = r.id"                                 \
	" LEFT JOIN baselines b ON b.test_hash = r.test_hash AND b.run_id = r.id"

static void read_run(sqlite3_stmt *st, struct history_run *o)
{
	*o = (struct history_run){
		.id = sqlite3_column_int64(st, 0),
		.started_at_us = sqlite3_column_int64(st, 1),
		.duration_s = sqlite3_column_double(st, 2),
		.added_at_us = sqlite3_column_int64(st, 3),
		.version = col_text(st, 4),
		.git_commit = col_text(st, 5),
		.git_branch = col_text(st, 6),
		.tag = col_text(st, 7),
		.source = col_text(st, 8),
		.test_hash = col_text(st, 9),
		.thresholds_passed = sqlite3_column_int(st, 10),
		.thresholds_failed = sqlite3_column_int(st, 11),
		.interrupted = sqlite3_column_int(st, 12) != 0,
		.aborted = sqlite3_column_int(st, 13) != 0,
		.http_reqs = sqlite3_column_int64(st, 14),
		.rps = col_real(st, 15),
		.error_rate = col_real(st, 16),
		.p50_ms = col_real(st, 17),
		.p95_ms = col_real(st, 18),
		.p99_ms = col_real(st, 19),
		.result_bytes = sqlite3_column_int64(st, 20),
		.stored_bytes = sqlite3_column_int64(st, 21),
		.baseline = sqlite3_column_int(st, 22) != 0,
	};
}

void history_run_clear(struct history_run *run)
{
	if (!run)
		return;
	free(run->version);
	free(run->git_commit);
	free(run->git_branch);
	free(run->tag);
	free(run->source);
	free(run->test_hash);
	memset(run, 0, sizeof(*run));
}

void history_runs_free(struct history_run *runs, int n)
{
	for (int i = 0; runs && i < n; i++)
		history_run_clear(&runs[i]);
	free(runs);
}

int history_list(struct history *h, const struct history_filter *f, struct history_run **runs,
                 int *n, char *err, size_t errlen)
{
	static const struct history_filter none = { 0 };
	if (!f)
		f = &none;
	sqlite3_stmt *st;
	int rc = prepare(h,
	                 "SELECT " RUN_COLUMNS RUN_FROM
	                 " WHERE (?1 IS NULL OR r.test_hash = ?1) AND (?2 IS NULL OR r.tag = ?2)"
	                 " ORDER BY r.started_at DESC, r.id DESC LIMIT ?3",
	                 &st, "listing runs", err, errlen);
	if (rc < 0)
		return rc;
	bind_text(st, 1, f->test_hash);
	bind_text(st, 2, f->tag);
	sqlite3_bind_int64(st, 3, f->limit > 0 ? f->limit : -1);
	struct history_run *a = NULL;
	int cnt = 0, cap = 0, s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? 2 * cap : 16;
			a = xrealloc(a, sizeof(*a) * (size_t)cap);
		}
		read_run(st, &a[cnt++]);
	}
	if (s != SQLITE_DONE) {
		rc = sql_fail(h, s, "listing runs", err, errlen);
		history_runs_free(a, cnt);
		a = NULL;
		cnt = 0;
	}
	sqlite3_finalize(st);
	*runs = a;
	*n = cnt;
	return rc;
}

static int no_run(struct history *h, int64_t id, char *err, size_t errlen)
{
	say(err, errlen, "%s: no run %lld", h->path, (long long)id);
	return -ENOENT;
}

int history_get(struct history *h, int64_t id, struct history_run *out, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc = prepare(h, "SELECT " RUN_COLUMNS RUN_FROM " WHERE r.id = ?", &st, "reading a run",
	                 err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		read_run(st, out);
	else if (s == SQLITE_DONE)
		rc = no_run(h, id, err, errlen);
	else
		rc = sql_fail(h, s, "reading a run", err, errlen);
	sqlite3_finalize(st);
	return rc;
}

/* Whether run id exists: 0, -ENOENT, or an error. */
static int run_exists(struct history *h, int64_t id, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc = prepare(h, "SELECT 1 FROM runs WHERE id = ?", &st, "reading a run", err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	int s = sqlite3_step(st);
	if (s == SQLITE_DONE)
		rc = no_run(h, id, err, errlen);
	else if (s != SQLITE_ROW)
		rc = sql_fail(h, s, "reading a run", err, errlen);
	sqlite3_finalize(st);
	return rc;
}

void history_thresholds_free(struct history_threshold *t, int n)
{
	for (int i = 0; t && i < n; i++) {
		free(t[i].selector);
		free(t[i].expression);
	}
	free(t);
}

int history_thresholds(struct history *h, int64_t id, struct history_threshold **out, int *n,
                       char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	int rc = run_exists(h, id, err, errlen);
	sqlite3_stmt *st;
	if (rc < 0 || (rc = prepare(h,
	                            "SELECT selector, expression, ok, value FROM thresholds"
	                            " WHERE run_id = ? ORDER BY idx",
	                            &st, "reading thresholds", err, errlen)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	int s, cap = 0;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 8;
			*out = xrealloc(*out, sizeof(**out) * (size_t)cap);
		}
		(*out)[(*n)++] =
		    (struct history_threshold){ col_text(st, 0), col_text(st, 1),
			                        sqlite3_column_int(st, 2) != 0, col_real(st, 3) };
	}
	if (s != SQLITE_DONE) {
		rc = sql_fail(h, s, "reading thresholds", err, errlen);
		history_thresholds_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

void history_values_free(struct history_value *v, int n)
{
	for (int i = 0; v && i < n; i++) {
		free(v[i].selector);
		free(v[i].stat);
	}
	free(v);
}

int history_values(struct history *h, int64_t id, struct history_value **out, int *n, char *err,
                   size_t errlen)
{
	*out = NULL;
	*n = 0;
	int rc = run_exists(h, id, err, errlen);
	sqlite3_stmt *st;
	if (rc < 0 || (rc = prepare(h,
	                            "SELECT selector, stat, value FROM metric_values"
	                            " WHERE run_id = ? ORDER BY selector, stat",
	                            &st, "reading metric values", err, errlen)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	int s, cap = 0;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			*out = xrealloc(*out, sizeof(**out) * (size_t)cap);
		}
		(*out)[(*n)++] =
		    (struct history_value){ col_text(st, 0), col_text(st, 1), col_real(st, 2) };
	}
	if (s != SQLITE_DONE) {
		rc = sql_fail(h, s, "reading metric values", err, errlen);
		history_values_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int history_result_text(struct history *h, int64_t id, char **text, size_t *len, char *err,
                        size_t errlen)
{
	sqlite3_stmt *st;
	int rc = prepare(h, "SELECT encoding, size, data FROM result_files WHERE run_id = ?", &st,
	                 "reading the result file", err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	int s = sqlite3_step(st);
	if (s != SQLITE_ROW) {
		rc = s == SQLITE_DONE ? no_run(h, id, err, errlen)
		                      : sql_fail(h, s, "reading the result file", err, errlen);
		goto out;
	}
	const char *enc = (const char *)sqlite3_column_text(st, 0);
	int64_t size = sqlite3_column_int64(st, 1);
	const void *z = sqlite3_column_blob(st, 2);
	size_t zn = (size_t)sqlite3_column_bytes(st, 2);
	if (!enc || strcmp(enc, "zstd") != 0 || size < 0 || size > RESULT_TEXT_MAX) {
		say(err, errlen, "%s: run %lld: the stored result file has an unknown encoding",
		    h->path, (long long)id);
		rc = -EIO;
		goto out;
	}
	char *t = xmalloc((size_t)size + 1);
	size_t got = ZSTD_decompress(t, (size_t)size, z, zn);
	if (ZSTD_isError(got) || got != (size_t)size ||
	    ZSTD_getFrameContentSize(z, zn) != (unsigned long long)size) {
		say(err, errlen, "%s: run %lld: the stored result file does not decompress (%s)",
		    h->path, (long long)id,
		    ZSTD_isError(got) ? ZSTD_getErrorName(got) : "wrong size");
		free(t);
		rc = -EIO;
		goto out;
	}
	t[size] = '\0';
	*text = t;
	*len = (size_t)size;
out:
	sqlite3_finalize(st);
	return rc;
}

int history_load_result(struct history *h, int64_t id, struct result **out, char *err,
                        size_t errlen)
{
	char *text;
	size_t len;
	int rc = history_result_text(h, id, &text, &len, err, errlen);
	if (rc < 0)
		return rc;
	json_error_t je;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (!doc) {
		say(err, errlen, "%s: run %lld: the stored result is not valid JSON: %s", h->path,
		    (long long)id, je.text);
		return -EIO;
	}
	char why[512];
	*out = result_from_json(doc, why, sizeof(why));
	json_decref(doc);
	if (!*out) {
		say(err, errlen, "%s: run %lld: the stored result is not valid: %s", h->path,
		    (long long)id, why);
		return -EIO;
	}
	return 0;
}

/* --- baselines --------------------------------------------------------------------- */

int history_baseline_set(struct history *h, int64_t id, int64_t *prev, char *err, size_t errlen)
{
	if (prev)
		*prev = 0;
	int rc = exec(h, "BEGIN IMMEDIATE", "setting the baseline", err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = NULL;
	if ((rc =
	         prepare(h,
	                 "SELECT b.run_id FROM runs r JOIN baselines b ON b.test_hash = r.test_hash"
	                 " WHERE r.id = ?",
	                 &st, "setting the baseline", err, errlen)) < 0)
		goto out_rollback;
	sqlite3_bind_int64(st, 1, id);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW && prev)
		*prev = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if ((rc = prepare(h,
	                  "INSERT INTO baselines (test_hash, run_id, set_at)"
	                  " SELECT test_hash, id, ? FROM runs WHERE id = ?"
	                  " ON CONFLICT(test_hash) DO UPDATE SET run_id = excluded.run_id,"
	                  " set_at = excluded.set_at",
	                  &st, "setting the baseline", err, errlen)) < 0)
		goto out_rollback;
	sqlite3_bind_int64(st, 1, wall_us());
	sqlite3_bind_int64(st, 2, id);
	s = sqlite3_step(st);
	int changed = sqlite3_changes(h->db);
	sqlite3_finalize(st);
	if (s != SQLITE_DONE) {
		rc = sql_fail(h, s, "setting the baseline", err, errlen);
		goto out_rollback;
	}
	if (changed == 0) {
		rc = no_run(h, id, err, errlen);
		goto out_rollback;
	}
	return exec(h, "COMMIT", "setting the baseline", err, errlen);
out_rollback:
	sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static void read_baseline(sqlite3_stmt *st, struct history_baseline *b)
{
	const char *hash = (const char *)sqlite3_column_text(st, 0);
	snprintf(b->test_hash, sizeof(b->test_hash), "%s", hash ? hash : "");
	b->run_id = sqlite3_column_int64(st, 1);
	b->set_at_us = sqlite3_column_int64(st, 2);
}

int history_baseline_get(struct history *h, const char *test_hash, struct history_baseline *out,
                         char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc = prepare(h, "SELECT test_hash, run_id, set_at FROM baselines WHERE test_hash = ?",
	                 &st, "reading the baseline", err, errlen);
	if (rc < 0)
		return rc;
	bind_text(st, 1, test_hash);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		read_baseline(st, out);
	else if (s == SQLITE_DONE) {
		say(err, errlen, "%s: no baseline for test %s", h->path, test_hash);
		rc = -ENOENT;
	} else
		rc = sql_fail(h, s, "reading the baseline", err, errlen);
	sqlite3_finalize(st);
	return rc;
}

int history_baselines(struct history *h, struct history_baseline **out, int *n, char *err,
                      size_t errlen)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st;
	int rc = prepare(h, "SELECT test_hash, run_id, set_at FROM baselines ORDER BY test_hash",
	                 &st, "reading the baselines", err, errlen);
	if (rc < 0)
		return rc;
	int s, cap = 0;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 8;
			*out = xrealloc(*out, sizeof(**out) * (size_t)cap);
		}
		read_baseline(st, &(*out)[(*n)++]);
	}
	if (s != SQLITE_DONE) {
		rc = sql_fail(h, s, "reading the baselines", err, errlen);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* --- trends ------------------------------------------------------------------------ */

int history_trend(struct history *h, const char *test_hash, const char *selector, const char *stat,
                  int last, struct history_point **out, int *n, char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st;
	int rc = prepare(h,
	                 "SELECT id, started_at, value FROM ("
	                 " SELECT r.id, r.started_at, v.value FROM runs r"
	                 " LEFT JOIN metric_values v ON v.run_id = r.id AND v.selector = ?2"
	                 " AND v.stat = ?3 WHERE r.test_hash = ?1"
	                 " ORDER BY r.started_at DESC, r.id DESC LIMIT ?4)"
	                 " ORDER BY started_at, id",
	                 &st, "reading a trend", err, errlen);
	if (rc < 0)
		return rc;
	bind_text(st, 1, test_hash);
	bind_text(st, 2, selector);
	bind_text(st, 3, stat);
	sqlite3_bind_int64(st, 4, last > 0 ? last : -1);
	int s, cap = 0;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 32;
			*out = xrealloc(*out, sizeof(**out) * (size_t)cap);
		}
		(*out)[(*n)++] =
		    (struct history_point){ sqlite3_column_int64(st, 0),
			                    sqlite3_column_int64(st, 1), col_real(st, 2) };
	}
	if (s != SQLITE_DONE) {
		rc = sql_fail(h, s, "reading a trend", err, errlen);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	sqlite3_finalize(st);
	return rc;
}
