/* test_history.c: the run history store: create, add, list/get/load round trip, baselines,
 * trends, schema migration and refusal, foreign and broken files. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history/history.h"
#include "util/common.h"

#define FIXTURE "tests/data/history_result.json"

static char dir[] = "/tmp/stampede-test-history-XXXXXX";
static char dbpath[256];

static void setup(void)
{
	cr_assert(mkdtemp(dir));
	snprintf(dbpath, sizeof(dbpath), "%s/h.db", dir);
}

static void teardown(void)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(history, .init = setup, .fini = teardown);

static struct result *fixture(void)
{
	char err[512];
	struct result *r = result_load(FIXTURE, err, sizeof(err));
	cr_assert(r, "%s", err);
	return r;
}

static const struct history_meta meta_a = { "0123abcd", "main", "nightly", "http://x/",
	                                    "00112233445566aa" };
static const struct history_meta meta_b = { NULL, NULL, NULL, "http://y/", "ffeeddccbbaa9988" };

static struct history *open_new(void)
{
	char err[512];
	struct history *h;
	int rc = history_open(dbpath, true, &h, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s", err);
	return h;
}

/* Run a statement on the file with SQLite directly (to build old, foreign, newer files). */
static void raw(const char *path, const char *sql)
{
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	char *e = NULL;
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &e), SQLITE_OK, "%s", e ? e : "");
	sqlite3_close(db);
}

static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

Test(history, create_sets_identity_version_and_wal)
{
	struct history *h = open_new();
	cr_expect_str_eq(history_path(h), dbpath);
	history_close(h);
	cr_expect_eq(raw_int(dbpath, "PRAGMA application_id"), HISTORY_APP_ID);
	cr_expect_eq(raw_int(dbpath, "PRAGMA user_version"), HISTORY_SCHEMA_VERSION);
	sqlite3 *db;
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_expect_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

Test(history, add_get_list_and_values)
{
	struct result *r = fixture();
	struct history *h = open_new();
	char err[512];
	int64_t a = history_add(h, r, &meta_a, err, sizeof(err));
	cr_assert_gt(a, 0, "%s", err);
	int64_t b = history_add(h, r, &meta_b, err, sizeof(err));
	cr_assert_eq(b, a + 1);

	struct history_run run;
	cr_assert_eq(history_get(h, a, &run, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(run.started_at_us, r->start_wall_us);
	cr_expect_str_eq(run.git_commit, "0123abcd");
	cr_expect_str_eq(run.git_branch, "main");
	cr_expect_str_eq(run.tag, "nightly");
	cr_expect_str_eq(run.test_hash, "00112233445566aa");
	cr_expect_eq(run.thresholds_passed, 1);
	cr_expect_eq(run.thresholds_failed, 1);
	cr_expect_gt(run.http_reqs, 0);
	cr_expect_gt(run.rps, 0);
	cr_expect_eq(run.error_rate, 0);
	cr_expect(isfinite(run.p95_ms) && run.p95_ms >= run.p50_ms && run.p99_ms >= run.p95_ms);
	cr_expect_gt(run.result_bytes, run.stored_bytes);
	cr_expect(!run.baseline);
	history_run_clear(&run);
	cr_expect_eq(history_get(h, 999, &run, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "no run 999"), "%s", err);

	struct history_run *runs;
	int n;
	cr_assert_eq(history_list(h, NULL, &runs, &n, err, sizeof(err)), 0);
	cr_expect_eq(n, 2);
	cr_expect_eq(runs[0].id, b, "newest first (same start: higher id first)");
	history_runs_free(runs, n);
	struct history_filter f = { .tag = "nightly" };
	cr_assert_eq(history_list(h, &f, &runs, &n, err, sizeof(err)), 0);
	cr_expect_eq(n, 1);
	cr_expect_eq(runs[0].id, a);
	history_runs_free(runs, n);
	f = (struct history_filter){ .test_hash = "ffeeddccbbaa9988", .limit = 5 };
	cr_assert_eq(history_list(h, &f, &runs, &n, err, sizeof(err)), 0);
	cr_expect_eq(n, 1);
	cr_expect_eq(runs[0].id, b);
	history_runs_free(runs, n);

	struct history_threshold *t;
	cr_assert_eq(history_thresholds(h, a, &t, &n, err, sizeof(err)), 0);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(t[0].selector, "http_req_duration");
	cr_expect_str_eq(t[0].expression, "p(95)<200");
	cr_expect(t[0].ok);
	cr_expect(!t[1].ok);
	history_thresholds_free(t, n);

	/* every value of the document's metrics, and per name */
	struct history_value *v;
	cr_assert_eq(history_values(h, a, &v, &n, err, sizeof(err)), 0);
	json_t *doc = result_to_json(r);
	bool p95 = false, per_name = false;
	for (int i = 0; i < n; i++) {
		if (strcmp(v[i].selector, "http_req_duration") == 0 &&
		    strcmp(v[i].stat, "p(95)") == 0) {
			p95 = true;
			cr_expect_eq(
			    v[i].value,
			    json_number_value(json_object_get(
			        json_object_get(json_object_get(json_object_get(doc, "metrics"),
			                                        "http_req_duration"),
			                        "values"),
			        "p(95)")));
		}
		if (strncmp(v[i].selector, "http_req_duration{name:", 23) == 0 &&
		    strcmp(v[i].stat, "p(95)") == 0)
			per_name = true;
	}
	cr_expect(p95 && per_name);
	json_t *metrics = json_object_get(doc, "metrics");
	const char *name;
	json_t *m;
	size_t want = 0;
	json_object_foreach(metrics, name, m) want +=
	    json_object_size(json_object_get(m, "values"));
	cr_expect_gt((size_t)n, want, "all %zu overall values and the per-name ones", want);
	history_values_free(v, n);
	json_decref(doc);
	history_close(h);
	result_free(r);
}

Test(history, stored_result_round_trips)
{
	struct result *r = fixture();
	struct history *h = open_new();
	char err[512];
	int64_t id = history_add(h, r, &meta_a, err, sizeof(err));
	cr_assert_gt(id, 0, "%s", err);
	char *text;
	size_t len;
	cr_assert_eq(history_result_text(h, id, &text, &len, err, sizeof(err)), 0, "%s", err);
	char *orig;
	size_t olen;
	cr_assert_eq(read_file_max(FIXTURE, 1 << 26, &orig, &olen), 0);
	cr_expect_eq(len, olen);
	cr_expect(memcmp(text, orig, len) == 0, "the stored file is the original, byte for byte");
	free(orig);
	free(text);
	struct result *back;
	cr_assert_eq(history_load_result(h, id, &back, err, sizeof(err)), 0, "%s", err);
	json_t *a = result_to_json(r), *b = result_to_json(back);
	cr_expect(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	result_free(back);
	cr_expect_eq(history_load_result(h, 77, &back, err, sizeof(err)), -ENOENT);
	history_close(h);
	result_free(r);
}

Test(history, baseline_per_test_hash)
{
	struct result *r = fixture();
	struct history *h = open_new();
	char err[512];
	int64_t a1 = history_add(h, r, &meta_a, err, sizeof(err));
	int64_t a2 = history_add(h, r, &meta_a, err, sizeof(err));
	int64_t b1 = history_add(h, r, &meta_b, err, sizeof(err));
	struct history_baseline bl;
	cr_expect_eq(history_baseline_get(h, meta_a.test_hash, &bl, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "no baseline for test 00112233445566aa"), "%s", err);
	int64_t prev = -1;
	cr_assert_eq(history_baseline_set(h, a1, &prev, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(prev, 0);
	cr_assert_eq(history_baseline_set(h, a2, &prev, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(prev, a1);
	cr_assert_eq(history_baseline_set(h, b1, &prev, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(prev, 0, "another test's baseline is its own");
	cr_expect_eq(history_baseline_set(h, 4242, &prev, err, sizeof(err)), -ENOENT);
	cr_assert_eq(history_baseline_get(h, meta_a.test_hash, &bl, err, sizeof(err)), 0);
	cr_expect_eq(bl.run_id, a2);
	cr_expect_str_eq(bl.test_hash, meta_a.test_hash);
	cr_expect_gt(bl.set_at_us, 0);
	struct history_baseline *all;
	int n;
	cr_assert_eq(history_baselines(h, &all, &n, err, sizeof(err)), 0);
	cr_expect_eq(n, 2);
	free(all);
	struct history_run run;
	cr_assert_eq(history_get(h, a2, &run, err, sizeof(err)), 0);
	cr_expect(run.baseline);
	history_run_clear(&run);
	cr_assert_eq(history_get(h, a1, &run, err, sizeof(err)), 0);
	cr_expect(!run.baseline);
	history_run_clear(&run);
	history_close(h);
	result_free(r);
}

Test(history, trend_last_n_oldest_first)
{
	struct result *r = fixture();
	struct history *h = open_new();
	char err[512];
	int64_t ids[6];
	int64_t start = r->start_wall_us;
	for (int i = 0; i < 6; i++) {
		r->start_wall_us = start + i * USEC_PER_SEC; /* runs in time order */
		ids[i] = history_add(h, r, i == 3 ? &meta_b : &meta_a, err, sizeof(err));
		cr_assert_gt(ids[i], 0, "%s", err);
	}
	struct history_point *p;
	int n;
	cr_assert_eq(history_trend(h, meta_a.test_hash, "http_req_duration", "p(95)", 3, &p, &n,
	                           err, sizeof(err)),
	             0, "%s", err);
	cr_assert_eq(n, 3);
	cr_expect_eq(p[0].run_id, ids[2]);
	cr_expect_eq(p[1].run_id, ids[4]);
	cr_expect_eq(p[2].run_id, ids[5]);
	cr_expect(p[0].started_at_us < p[1].started_at_us);
	cr_expect(isfinite(p[0].value) && p[0].value > 0);
	free(p);
	cr_assert_eq(history_trend(h, meta_a.test_hash, "no_such_metric", "p(95)", 0, &p, &n, err,
	                           sizeof(err)),
	             0);
	cr_expect_eq(n, 5, "every run of the test, NAN where the value is missing");
	cr_expect(isnan(p[0].value));
	free(p);
	history_close(h);
	result_free(r);
}

Test(history, older_schema_is_migrated)
{
	/* a version-0 file of ours: the identity set, no schema yet */
	raw(dbpath, "PRAGMA application_id = 1398033744; PRAGMA user_version = 0;"
	            "CREATE TABLE leftover (x);");
	struct history *h = open_new();
	history_close(h);
	cr_expect_eq(raw_int(dbpath, "PRAGMA user_version"), HISTORY_SCHEMA_VERSION);
	cr_expect_eq(raw_int(dbpath, "SELECT count(*) FROM sqlite_master WHERE name = 'runs'"), 1);
	/* and it works */
	struct result *r = fixture();
	char err[512];
	h = open_new();
	cr_expect_gt(history_add(h, r, &meta_a, err, sizeof(err)), 0, "%s", err);
	history_close(h);
	result_free(r);
}

Test(history, newer_schema_is_refused)
{
	history_close(open_new());
	raw(dbpath, "PRAGMA user_version = 99");
	char err[512];
	struct history *h = NULL;
	cr_expect_eq(history_open(dbpath, true, &h, err, sizeof(err)), -EINVAL);
	cr_expect_null(h);
	cr_expect(strstr(err, "schema version 99 is newer than this stampede knows (1)"), "%s",
	          err);
	cr_expect(strstr(err, dbpath), "%s", err);
	cr_expect_eq(raw_int(dbpath, "PRAGMA user_version"), 99, "left alone");
}

Test(history, foreign_database_is_refused)
{
	char err[512];
	struct history *h = NULL;
	raw(dbpath, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
	cr_expect_eq(history_open(dbpath, true, &h, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "not a stampede history database"), "%s", err);
	cr_expect_eq(raw_int(dbpath, "SELECT count(*) FROM sqlite_master"), 1, "left alone");
	unlink(dbpath);
	raw(dbpath, "PRAGMA application_id = 42");
	cr_expect_eq(history_open(dbpath, true, &h, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "0x2a"), "%s", err);
	cr_expect_null(h);
}

Test(history, garbage_and_truncated_files_are_refused)
{
	char err[512];
	struct history *h = NULL;
	FILE *f = fopen(dbpath, "wb");
	cr_assert(f);
	for (int i = 0; i < 8192; i++)
		fputc((i * 7919 + 13) & 0xff, f);
	fclose(f);
	cr_expect_eq(history_open(dbpath, true, &h, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, dbpath) && strstr(err, "not a stampede history database"), "%s", err);
	/* a real history cut short */
	unlink(dbpath);
	struct result *r = fixture();
	h = open_new();
	for (int i = 0; i < 5; i++)
		cr_assert_gt(history_add(h, r, &meta_a, err, sizeof(err)), 0);
	history_close(h);
	raw(dbpath, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE");
	cr_assert_eq(truncate(dbpath, 4096 + 100), 0);
	h = NULL;
	int rc = history_open(dbpath, false, &h, err, sizeof(err));
	if (rc == 0) { /* the header survived: the damage shows on reading */
		struct history_run *runs;
		int n;
		rc = history_list(h, NULL, &runs, &n, err, sizeof(err));
		if (rc == 0)
			history_runs_free(runs, n);
		history_close(h);
	}
	cr_expect_lt(rc, 0);
	cr_expect(strstr(err, dbpath), "%s", err);
	result_free(r);
}

Test(history, missing_empty_and_unwritable_paths)
{
	char err[512], p[300];
	struct history *h = NULL;
	cr_expect_eq(history_open(dbpath, false, &h, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, dbpath), "%s", err);
	FILE *f = fopen(dbpath, "w"); /* an empty file: fine to create into, not to read */
	fclose(f);
	cr_expect_eq(history_open(dbpath, false, &h, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "empty"), "%s", err);
	cr_assert_eq(history_open(dbpath, true, &h, err, sizeof(err)), 0, "%s", err);
	history_close(h);
	snprintf(p, sizeof(p), "%s/no/such/dir/h.db", dir);
	cr_expect_eq(history_open(p, true, &h, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, p), "%s", err);
	cr_expect_eq(history_open(dir, true, &h, err, sizeof(err)), -EISDIR);
	cr_expect(strstr(err, "is a directory"), "%s", err);
	cr_expect_lt(history_open("/proc/version", true, &h, err, sizeof(err)), 0);
	cr_expect(strstr(err, "/proc/version"), "%s", err);
}

Test(history, add_needs_a_test_hash)
{
	struct result *r = fixture();
	struct history *h = open_new();
	char err[512];
	struct history_meta m = meta_a;
	m.test_hash = "XYZ";
	cr_expect_eq(history_add(h, r, &m, err, sizeof(err)), -EINVAL);
	struct history_run *runs;
	int n;
	cr_assert_eq(history_list(h, NULL, &runs, &n, err, sizeof(err)), 0);
	cr_expect_eq(n, 0, "nothing added");
	history_close(h);
	result_free(r);
}
