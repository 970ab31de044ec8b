/* cmd_history.c: `stampede history add|list|show|baseline`: the run history in SQLite
 * (docs/history.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "cli/history_cli.h"
#include "cli/history_meta.h"
#include "engine/run.h"
#include "history/history.h"
#include "result/result.h"
#include "util/common.h"
#include "util/outfile.h"
#include "util/suggest.h"

#define HISTORY_ENV     "STAMPEDE_HISTORY"
#define HISTORY_DEFAULT "stampede-history.db"

void cmd_history_usage(void)
{
	printf("usage: stampede history COMMAND [flags]\n\n"
	       "Keep runs in a SQLite database and look back at them (docs/history.md).\n\n"
	       "  history add RESULT.json [--tag T]     add a result file; prints the run's id\n"
	       "  history list [--test HASH] [--tag T] [--limit N] [--json]\n"
	       "                                        runs, newest first (* = baseline)\n"
	       "  history show RUN [--json] [-o FILE]   one run; -o writes its stored result file\n"
	       "  history baseline set RUN              make RUN the baseline of its test\n"
	       "  history baseline show [--test HASH]   the baselines (or one test's)\n"
	       "  history trend [--test HASH] [--last N] [--out html=FILE] [--json]\n"
	       "                                        p50/p95/p99, throughput and errors over\n"
	       "                                        the last N runs (a sparkline each)\n"
	       "  history gate RESULT.json [compare's flags] [--last N] [--min-shift P]\n"
	       "                                        compare with the test's baseline, and\n"
	       "                                        look for a change point in its history\n\n"
	       "every command takes:\n"
	       "  --db FILE    the history database (default: $" HISTORY_ENV ", else\n"
	       "               ./" HISTORY_DEFAULT "); `add` creates it, the others need it\n"
	       "  -h, --help   this help\n\n"
	       "A test hash (16 hex digits) names what makes runs comparable: the options that\n"
	       "change what is sent and the script's content; `list` and `show` print it.\n\n"
	       "exit codes: 0 ok; 112 gate: a regression against the baseline; 113 gate: no\n"
	       "            regression, but the recent history changed for the worse (a\n"
	       "            change point since the baseline, or in the last 6 runs); 104 bad "
	       "input: invalid flags, a\n"
	       "            missing, corrupt or foreign database, a schema newer than this\n"
	       "            stampede, an unknown run id, an invalid result file, no baseline\n"
	       "            for --test; 1 the database failed otherwise (locked past 30 s,\n"
	       "            disk full); 110 an output not written\n");
}

/* --- shared pieces ----------------------------------------------------------------- */

const char *hist_default_db(void)
{
	const char *e = getenv(HISTORY_ENV);
	return e && *e ? e : HISTORY_DEFAULT;
}

int hist_flag(const char *cmd, int c, const char *arg, struct hist_flags *f)
{
	switch (c) {
	case 'h':
		cmd_history_usage();
		return EXIT_OK;
	case OPT_DB:
		if (!*arg)
			return cli_bad_value("--db", arg, "empty file name"), EXIT_INVALID_CONFIG;
		f->db = arg;
		return HIST_NEXT;
	case OPT_TEST:
		if (hist_check_hash(cmd, arg) < 0)
			return EXIT_INVALID_CONFIG;
		f->test = arg;
		return HIST_NEXT;
	case OPT_TAG:
		if (!history_tag_ok(arg))
			return cli_bad_value("--tag", arg,
			                     "a label of 1 to 200 characters without control "
			                     "characters"),
			       EXIT_INVALID_CONFIG;
		f->tag = arg;
		return HIST_NEXT;
	case OPT_JSON:
		f->json = true;
		return HIST_NEXT;
	}
	return HIST_NOT_MINE;
}

/* The exit code for a history_* error: bad input (104) or the database failing (1). */
int hist_exit_for(int rc)
{
	switch (rc) {
	case -EBUSY:
	case -ENOSPC:
	case -ENOMEM:
		return EXIT_FAILURE_GENERIC;
	default:
		return EXIT_INVALID_CONFIG;
	}
}

int hist_fail(const char *cmd, int rc, const char *err)
{
	fprintf(stderr, "stampede history %s: %s\n", cmd, err);
	return hist_exit_for(rc);
}

int hist_open_db(const char *cmd, const char *db, bool create, struct history **h)
{
	char err[1024];
	int rc = history_open(db, create, h, err, sizeof(err));
	if (rc < 0) {
		if (rc == -ENOENT && !create)
			fprintf(
			    stderr,
			    "stampede history %s: %s: no such history database (`stampede history "
			    "add` or `run --history` makes one; --db or $" HISTORY_ENV
			    " chooses it)\n",
			    cmd, db);
		else
			fprintf(stderr, "stampede history %s: %s\n", cmd, err);
		return hist_exit_for(rc);
	}
	return 0;
}

/* A run id operand: a positive integer. */
static int parse_run(const char *cmd, const char *s, int64_t *id)
{
	if (parse_int64(s, 1, INT64_MAX, id) < 0) {
		fprintf(stderr,
		        "stampede history %s: invalid run id '%s': expected a positive integer\n",
		        cmd, s);
		return -EINVAL;
	}
	return 0;
}

static bool valid_hash(const char *s)
{
	if (strlen(s) != HISTORY_HASH_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

int hist_check_hash(const char *cmd, const char *s)
{
	if (valid_hash(s))
		return 0;
	fprintf(stderr,
	        "stampede history %s: invalid --test '%s': a test hash is %d lowercase hex digits "
	        "(see `stampede history list`)\n",
	        cmd, s, HISTORY_HASH_LEN);
	return -EINVAL;
}

/* Whether exactly `want` operands follow the options (what: the missing one's name). */
int hist_operands(const char *cmd, int argc, char **argv, int want, const char *what)
{
	int got = argc - optind;
	if (got == want)
		return 0;
	if (got < want)
		fprintf(stderr, "stampede history %s: missing %s\n", cmd, what);
	else
		fprintf(stderr, "stampede history %s: unexpected operand '%.200s'\n", cmd,
		        argv[optind + want]);
	fprintf(stderr, "see 'stampede history --help'\n");
	return -EINVAL;
}

static char *when(int64_t us, char *buf, size_t len)
{
	time_t t = (time_t)(us / USEC_PER_SEC);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *run_json(const struct history_run *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "startedAtUs", json_integer(r->started_at_us));
	json_object_set_new(o, "durationS", json_real(r->duration_s));
	json_object_set_new(o, "addedAtUs", json_integer(r->added_at_us));
	json_object_set_new(o, "version", str_or_null(r->version));
	json_object_set_new(o, "gitCommit", str_or_null(r->git_commit));
	json_object_set_new(o, "gitBranch", str_or_null(r->git_branch));
	json_object_set_new(o, "tag", str_or_null(r->tag));
	json_object_set_new(o, "source", str_or_null(r->source));
	json_object_set_new(o, "testHash", str_or_null(r->test_hash));
	json_object_set_new(o, "thresholdsPassed", json_integer(r->thresholds_passed));
	json_object_set_new(o, "thresholdsFailed", json_integer(r->thresholds_failed));
	json_object_set_new(o, "interrupted", json_boolean(r->interrupted));
	json_object_set_new(o, "aborted", json_boolean(r->aborted));
	json_object_set_new(o, "httpReqs", json_integer(r->http_reqs));
	json_object_set_new(o, "rps", num_or_null(r->rps));
	json_object_set_new(o, "errorRate", num_or_null(r->error_rate));
	json_object_set_new(o, "p50Ms", num_or_null(r->p50_ms));
	json_object_set_new(o, "p95Ms", num_or_null(r->p95_ms));
	json_object_set_new(o, "p99Ms", num_or_null(r->p99_ms));
	json_object_set_new(o, "resultBytes", json_integer(r->result_bytes));
	json_object_set_new(o, "storedBytes", json_integer(r->stored_bytes));
	json_object_set_new(o, "baseline", json_boolean(r->baseline));
	return o;
}

static void print_json(json_t *doc)
{
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
	if (s)
		puts(s);
	free(s);
	json_decref(doc);
}

static const char *thresholds_cell(const struct history_run *r, char *buf, size_t len)
{
	int n = r->thresholds_passed + r->thresholds_failed;
	if (n == 0)
		snprintf(buf, len, "-");
	else if (r->thresholds_failed == 0)
		snprintf(buf, len, "%d/%d ok", n, n);
	else
		snprintf(buf, len, "%d/%d FAIL", r->thresholds_failed, n);
	return buf;
}

static const char *ms_cell(double v, char *buf, size_t len)
{
	if (isfinite(v))
		snprintf(buf, len, "%.2fms", v);
	else
		snprintf(buf, len, "-");
	return buf;
}

static const char *pct_cell(double v, char *buf, size_t len)
{
	if (isfinite(v))
		snprintf(buf, len, "%.2f%%", v * 100);
	else
		snprintf(buf, len, "-");
	return buf;
}

/* --- history add ------------------------------------------------------------------- */

static int history_add_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "tag", required_argument, NULL, OPT_TAG },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct hist_flags hf = { 0 };
	int c;
	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		int x = hist_flag("add", c, optarg, &hf);
		if (x == HIST_NOT_MINE) {
			cli_opt_report("history");
			return EXIT_INVALID_CONFIG;
		}
		if (x != HIST_NEXT)
			return x;
	}
	const char *db = hf.db ? hf.db : hist_default_db(), *tag = hf.tag;
	if (hist_operands("add", argc, argv, 1, "the result file (RESULT.json)") < 0)
		return EXIT_INVALID_CONFIG;
	char err[1024], warn[512];
	struct result *r = result_load(argv[optind], err, sizeof(err));
	if (!r) {
		fprintf(stderr, "stampede history add: %s\n", err);
		return EXIT_INVALID_CONFIG;
	}
	struct history_meta m;
	int rc = history_meta_collect(r, tag, &m, warn, sizeof(warn));
	if (rc < 0) {
		result_free(r);
		fprintf(stderr, "stampede history add: cannot compute the test hash\n");
		return EXIT_FAILURE_GENERIC;
	}
	if (*warn)
		fprintf(stderr, "stampede history add: warning: %s\n", warn);
	struct history *h;
	int ex = hist_open_db("add", db, true, &h);
	if (ex == 0) {
		int64_t id = history_add(h, r, &m, err, sizeof(err));
		if (id < 0) {
			ex = hist_fail("add", (int)id, err);
		} else {
			printf("%lld\n", (long long)id);
			fprintf(stderr, "stampede history add: %s: run %lld, test %s\n", db,
			        (long long)id, m.test_hash);
		}
		history_close(h);
	}
	history_meta_release(&m);
	result_free(r);
	return ex;
}

/* --- history list ------------------------------------------------------------------ */

static void list_table(const struct history_run *runs, int n)
{
	printf("%-5s %-19s %-8s %-14s %-12s %10s %10s %7s %-10s %s\n", "id", "when", "commit",
	       "branch", "tag", "p95", "rps", "errors", "thresholds", "test");
	for (int i = 0; i < n; i++) {
		const struct history_run *r = &runs[i];
		char w[32], p95[32], err[32], thr[32], idb[32];
		snprintf(idb, sizeof(idb), "%lld%s", (long long)r->id, r->baseline ? "*" : "");
		printf("%-5s %-19s %-8.8s %-14.14s %-12.12s %10s %10.1f %7s %-10s %s\n", idb,
		       when(r->started_at_us, w, sizeof(w)), r->git_commit ? r->git_commit : "-",
		       r->git_branch ? r->git_branch : "-", r->tag ? r->tag : "-",
		       ms_cell(r->p95_ms, p95, sizeof(p95)), isfinite(r->rps) ? r->rps : 0.0,
		       pct_cell(r->error_rate, err, sizeof(err)),
		       thresholds_cell(r, thr, sizeof(thr)), r->test_hash);
	}
	bool any = false;
	for (int i = 0; i < n; i++)
		any |= runs[i].baseline;
	if (n == 0)
		printf("(no runs)\n");
	else if (any)
		printf("* the baseline of its test\n");
}

static int history_list_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "test", required_argument, NULL, OPT_TEST },
		{ "tag", required_argument, NULL, OPT_TAG },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct hist_flags hf = { 0 };
	struct history_filter f = { 0 };
	int64_t lim;
	int c;
	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		int x = hist_flag("list", c, optarg, &hf);
		if (x != HIST_NEXT && x != HIST_NOT_MINE)
			return x;
		switch (x == HIST_NEXT ? 0 : c) {
		case 0:
			break;
		case OPT_LIMIT:
			if (parse_int64(optarg, 1, 1000000, &lim) < 0)
				return cli_bad_value("--limit", optarg, "expected 1 to 1000000"),
				       EXIT_INVALID_CONFIG;
			f.limit = (int)lim;
			break;
		default:
			cli_opt_report("history");
			return EXIT_INVALID_CONFIG;
		}
	}
	const char *db = hf.db ? hf.db : hist_default_db();
	bool as_json = hf.json;
	f.test_hash = hf.test, f.tag = hf.tag;
	if (hist_operands("list", argc, argv, 0, "") < 0)
		return EXIT_INVALID_CONFIG;
	struct history *h;
	int ex = hist_open_db("list", db, false, &h);
	if (ex)
		return ex;
	char err[1024];
	struct history_run *runs;
	int n;
	int rc = history_list(h, &f, &runs, &n, err, sizeof(err));
	if (rc < 0) {
		ex = hist_fail("list", rc, err);
	} else if (as_json) {
		json_t *a = json_array();
		for (int i = 0; i < n; i++)
			json_array_append_new(a, run_json(&runs[i]));
		print_json(a);
	} else {
		list_table(runs, n);
	}
	history_runs_free(runs, rc < 0 ? 0 : n);
	history_close(h);
	return ex;
}

/* --- history show ------------------------------------------------------------------ */

static void show_text(const struct history_run *r, const struct history_threshold *t, int nt,
                      const struct history_value *v, int nv)
{
	char w[32], a[32], b[32], c[32];
	printf("run %lld%s\n", (long long)r->id, r->baseline ? " (baseline of its test)" : "");
	printf("  test       %s\n", r->test_hash);
	printf("  source     %s\n", r->source ? r->source : "-");
	printf("  started    %s, %.1f s%s%s\n", when(r->started_at_us, w, sizeof(w)), r->duration_s,
	       r->interrupted ? ", interrupted" : "", r->aborted ? ", aborted" : "");
	printf("  git        %s%s%s\n", r->git_commit ? r->git_commit : "-",
	       r->git_branch ? " " : "", r->git_branch ? r->git_branch : "");
	printf("  tag        %s\n", r->tag ? r->tag : "-");
	printf("  stampede   %s, added %s\n", r->version, when(r->added_at_us, w, sizeof(w)));
	printf("  requests   %lld, %.1f/s, errors %s\n", (long long)r->http_reqs,
	       isfinite(r->rps) ? r->rps : 0.0, pct_cell(r->error_rate, a, sizeof(a)));
	printf("  latency    p50 %s  p95 %s  p99 %s\n", ms_cell(r->p50_ms, a, sizeof(a)),
	       ms_cell(r->p95_ms, b, sizeof(b)), ms_cell(r->p99_ms, c, sizeof(c)));
	printf("  result     %lld bytes (%lld stored)\n", (long long)r->result_bytes,
	       (long long)r->stored_bytes);
	if (nt) {
		printf("thresholds (%s):\n", thresholds_cell(r, a, sizeof(a)));
		for (int i = 0; i < nt; i++)
			printf("  %s %s: %s (value %s)\n", t[i].ok ? "ok  " : "FAIL", t[i].selector,
			       t[i].expression,
			       isfinite(t[i].value) ? (snprintf(b, sizeof(b), "%g", t[i].value), b)
			                            : "no data");
	}
	bool head = false;
	for (int i = 0; i < nv; i++) {
		if (strncmp(v[i].selector, "http_req_duration{name:", 23) != 0 ||
		    strcmp(v[i].stat, "p(95)") != 0)
			continue;
		if (!head)
			printf("p95 per endpoint (name tag):\n");
		head = true;
		int len = (int)strlen(v[i].selector + 23) - 1; /* without the closing brace */
		printf("  %-60.*s %s\n", len, v[i].selector + 23,
		       ms_cell(v[i].value, a, sizeof(a)));
	}
}

static json_t *show_json(const struct history_run *r, const struct history_threshold *t, int nt,
                         const struct history_value *v, int nv)
{
	json_t *o = run_json(r);
	json_t *ta = json_array();
	for (int i = 0; i < nt; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "selector", json_string(t[i].selector));
		json_object_set_new(e, "expression", json_string(t[i].expression));
		json_object_set_new(e, "ok", json_boolean(t[i].ok));
		json_object_set_new(e, "value", num_or_null(t[i].value));
		json_array_append_new(ta, e);
	}
	json_object_set_new(o, "thresholds", ta);
	json_t *vo = json_object();
	for (int i = 0; i < nv; i++) {
		json_t *s = json_object_get(vo, v[i].selector);
		if (!s)
			json_object_set_new(vo, v[i].selector, s = json_object());
		json_object_set_new(s, v[i].stat, num_or_null(v[i].value));
	}
	json_object_set_new(o, "values", vo);
	return o;
}

/* -o FILE: the stored result document, byte for byte. */
static int extract(struct history *h, int64_t id, const char *out)
{
	char err[1024];
	char *text;
	size_t len;
	int rc = history_result_text(h, id, &text, &len, err, sizeof(err));
	if (rc < 0)
		return hist_fail("show", rc, err);
	rc = outfile_write(out, text, len, err, sizeof(err));
	free(text);
	if (rc < 0) {
		fprintf(stderr, "stampede history show: %s\n", err);
		return EXIT_OUTPUT_FAILED;
	}
	if (strcmp(out, "-") != 0)
		fprintf(stderr, "stampede history show: wrote %s\n", out);
	return EXIT_OK;
}

static int show_run(struct history *h, int64_t id, bool as_json)
{
	char err[1024];
	struct history_run r;
	struct history_threshold *t = NULL;
	struct history_value *v = NULL;
	int nt = 0, nv = 0;
	int rc = history_get(h, id, &r, err, sizeof(err));
	if (rc < 0)
		return hist_fail("show", rc, err);
	if ((rc = history_thresholds(h, id, &t, &nt, err, sizeof(err))) < 0 ||
	    (rc = history_values(h, id, &v, &nv, err, sizeof(err))) < 0) {
		history_thresholds_free(t, nt);
		history_run_clear(&r);
		return hist_fail("show", rc, err);
	}
	if (as_json)
		print_json(show_json(&r, t, nt, v, nv));
	else
		show_text(&r, t, nt, v, nv);
	history_values_free(v, nv);
	history_thresholds_free(t, nt);
	history_run_clear(&r);
	return EXIT_OK;
}

static int history_show_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct hist_flags hf = { 0 };
	const char *out = NULL;
	int c;
	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		int x = hist_flag("show", c, optarg, &hf);
		if (x != HIST_NEXT && x != HIST_NOT_MINE)
			return x;
		switch (x == HIST_NEXT ? 0 : c) {
		case 0:
			break;
		case 'o':
			if (!*optarg)
				return cli_bad_value("-o", optarg, "empty file name"),
				       EXIT_INVALID_CONFIG;
			out = optarg;
			break;
		default:
			cli_opt_report("history");
			return EXIT_INVALID_CONFIG;
		}
	}
	const char *db = hf.db ? hf.db : hist_default_db();
	bool as_json = hf.json;
	int64_t id;
	if (hist_operands("show", argc, argv, 1, "the run id (RUN)") < 0 ||
	    parse_run("show", argv[optind], &id) < 0)
		return EXIT_INVALID_CONFIG;
	struct history *h;
	int ex = hist_open_db("show", db, false, &h);
	if (ex)
		return ex;
	if (out && outfile_same(db, out)) {
		fprintf(stderr,
		        "stampede history show: -o %s is the history database: writing "
		        "there would replace it; choose another file\n",
		        out);
		history_close(h);
		return EXIT_INVALID_CONFIG;
	}
	ex = out ? extract(h, id, out) : show_run(h, id, as_json);
	history_close(h);
	return ex;
}

/* --- history baseline -------------------------------------------------------------- */

static int baseline_set(struct history *h, int64_t id)
{
	char err[1024];
	int64_t prev;
	struct history_run r = { 0 };
	int rc = history_get(h, id, &r, err, sizeof(err));
	if (rc == 0)
		rc = history_baseline_set(h, id, &prev, err, sizeof(err));
	if (rc < 0) {
		history_run_clear(&r);
		return hist_fail("baseline set", rc, err);
	}
	if (prev && prev != id)
		printf("baseline of test %s: run %lld (was run %lld)\n", r.test_hash, (long long)id,
		       (long long)prev);
	else
		printf("baseline of test %s: run %lld\n", r.test_hash, (long long)id);
	history_run_clear(&r);
	return EXIT_OK;
}

static int baseline_show(struct history *h, const char *test, bool as_json)
{
	char err[1024], w[32];
	struct history_baseline one, *all = NULL;
	int n = 0, rc;
	if (test) {
		rc = history_baseline_get(h, test, &one, err, sizeof(err));
		if (rc < 0)
			return hist_fail("baseline show", rc, err);
		all = &one;
		n = 1;
	} else if ((rc = history_baselines(h, &all, &n, err, sizeof(err))) < 0) {
		return hist_fail("baseline show", rc, err);
	}
	json_t *a = as_json ? json_array() : NULL;
	if (!as_json)
		printf("%-16s  %-6s  %s\n", "test", "run", "set");
	for (int i = 0; i < n; i++) {
		if (as_json) {
			json_t *e = json_object();
			json_object_set_new(e, "testHash", json_string(all[i].test_hash));
			json_object_set_new(e, "runId", json_integer(all[i].run_id));
			json_object_set_new(e, "setAtUs", json_integer(all[i].set_at_us));
			json_array_append_new(a, e);
		} else {
			printf("%-16s  %-6lld  %s\n", all[i].test_hash, (long long)all[i].run_id,
			       when(all[i].set_at_us, w, sizeof(w)));
		}
	}
	if (as_json)
		print_json(a);
	else if (n == 0)
		printf("(no baselines: `stampede history baseline set RUN` chooses one)\n");
	if (all != &one)
		free(all);
	return EXIT_OK;
}

static int history_baseline_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "test", required_argument, NULL, OPT_TEST },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct hist_flags hf = { 0 };
	int c;
	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		int x = hist_flag("baseline", c, optarg, &hf);
		if (x == HIST_NOT_MINE) {
			cli_opt_report("history");
			return EXIT_INVALID_CONFIG;
		}
		if (x != HIST_NEXT)
			return x;
	}
	const char *db = hf.db ? hf.db : hist_default_db(), *test = hf.test;
	bool as_json = hf.json;
	const char *what = optind < argc ? argv[optind] : NULL;
	bool set = what && strcmp(what, "set") == 0, show = what && strcmp(what, "show") == 0;
	if (!set && !show) {
		fprintf(stderr,
		        "stampede history baseline: %s: expected 'set RUN' or 'show'\n"
		        "see 'stampede history --help'\n",
		        what ? "unknown action" : "missing the action");
		return EXIT_INVALID_CONFIG;
	}
	optind++;
	int64_t id = 0;
	if (set && (test || as_json)) {
		fprintf(stderr,
		        "stampede history baseline set: --test and --json are for 'show'\n");
		return EXIT_INVALID_CONFIG;
	}
	if (set ? hist_operands("baseline set", argc, argv, 1, "the run id (RUN)") < 0 ||
	              parse_run("baseline set", argv[optind], &id) < 0
	        : hist_operands("baseline show", argc, argv, 0, "") < 0)
		return EXIT_INVALID_CONFIG;
	struct history *h;
	int ex = hist_open_db(set ? "baseline set" : "baseline show", db, false, &h);
	if (ex)
		return ex;
	ex = set ? baseline_set(h, id) : baseline_show(h, test, as_json);
	history_close(h);
	return ex;
}

/* --- dispatch ---------------------------------------------------------------------- */

/* The sub-commands (trend and gate: cli/cmd_history_gate.c). Each gets argv from its own
 * name on (argv[0] = "add"). */
static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} subcommands[] = {
	{ "add", history_add_cmd },     { "list", history_list_cmd },
	{ "show", history_show_cmd },   { "baseline", history_baseline_cmd },
	{ "trend", history_trend_cmd }, { "gate", history_gate_cmd },
};

int cmd_history(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "stampede history: missing the command (add, list, show, baseline, "
		                "trend, gate)\n");
		fprintf(stderr, "see 'stampede history --help'\n");
		return EXIT_INVALID_CONFIG;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		cmd_history_usage();
		return EXIT_OK;
	}
	const char *names[ARRAY_SIZE(subcommands)];
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++) {
		if (strcmp(sub, subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
		names[i] = subcommands[i].name;
	}
	int i = suggest_closest(sub, strlen(sub), names, (int)ARRAY_SIZE(names));
	if (i >= 0)
		fprintf(stderr, "stampede history: unknown command '%.200s' (did you mean '%s'?)\n",
		        sub, names[i]);
	else
		fprintf(stderr, "stampede history: unknown command '%.200s'\n", sub);
	fprintf(stderr, "see 'stampede history --help'\n");
	return EXIT_INVALID_CONFIG;
}
