/* script.h: Lua 5.4 test scripts: loading, options, VUs as coroutines, lifecycle hooks. */
#ifndef STAMPEDE_SCRIPT_H
#define STAMPEDE_SCRIPT_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "metrics/mtype.h"

/* A custom metric a script declares (metrics.counter(...) etc.). */
struct metric_decl {
	char *name;
	enum metric_type type;
	bool is_time;
};

/* A script error message and how often it happened (reported once per distinct message). */
struct script_error {
	char *msg;
	int64_t count;
};

/* A compiled script, shared read-only by every worker (but for the guarded parts). */
struct script {
	char *path;
	char *dir;    /* directory of the script, for relative paths */
	char *source; /* the wrapped source: a factory taking the VU's _ENV */
	size_t source_len;
	json_t *env;     /* stampede.env: the environment plus -e overrides */
	json_t *options; /* the script's `options` table as JSON (never NULL) */
	bool has_setup, has_teardown, has_handle_summary;
	json_t *functions; /* names of the functions the init context defines */
	struct metric_decl *metrics;
	int nmetrics;
	/* k6 options that change how requests are made */
	bool discard_bodies;
	bool no_connection_reuse;
	bool no_vu_connection_reuse;
	char *user_agent;
	int max_redirects;
	/* guarded by mu */
	pthread_mutex_t mu;
	char *setup_json;            /* what setup() returned, as JSON; NULL before/without */
	struct script_error *errors; /* the first distinct messages (at most 100) */
	int nerrors;
	int64_t errors_other; /* errors with messages past those kept */
	int setup_failed;     /* atomic: setup() or teardown() raised an error */
};

/* Load and compile path (at most 64 MiB), run its init context once (to read options and
 * declared metrics). env_overrides are "-e NAME=VALUE" strings. On failure prints "file:line:
 * message" to stderr and returns -EINVAL (syntax or init error: exit 107), or -EINTR when a
 * SIGINT/SIGTERM/SIGHUP came while init code ran (the caller must have blocked them;
 * exit 105). */
int script_load(const char *path, const char **env_overrides, int noverrides, struct script **out);
/* Limit the init code of the scripts loaded from now on to us microseconds (0: no limit,
 * the default, as in k6): `plan` runs a script it does not run for real, and must end. */
void script_set_init_limit(int64_t us);
void script_free(struct script *s);

/* A sample of exec's iterations in a Lua state of its own, with stampede.http's requests,
 * sleep, check and group recording instead of acting (no network; every response a fake
 * 200 with an empty body; math.random seeded with 1 so the sample is the same every time):
 * up to 1,000 iterations, 5,000 requests (500 in one iteration) or 2.5 s of Lua, whichever
 * comes first. {iterations: [{calls: [{method, name (the name tag or the URL), group,
 * think (s after it)}], think (s)}], checks: [...], error (when an iteration raised: the
 * last iteration stopped there), setupError (setup() raised: the iterations got stand-in
 * data)}. For `stampede plan SCRIPT.lua`'s traffic model. NULL when
 * Lua could not be set up. */
json_t *script_dry_run(struct script *s, const char *exec);

/* The iteration body that runs a scenario's exec function in Lua coroutines. */
extern const struct vu_body script_body;
/* Frees the per-worker Lua state; set as engine_cfg.body_worker_free. */
void script_worker_free(struct worker *w);

/* Turn the script's options (and CLI overrides already merged into them) into scenarios
 * and thresholds. options.tags (k6's run tags) are added to every scenario's tags (a
 * scenario's own tag of the same name wins), so every sample of the run carries them. A k6
 * option stampede does not implement gets a warning on stderr when ignoring it changes
 * nothing that is sent, and is an error otherwise (docs/scripting.md lists both). Returns
 * 0, or -EINVAL after printing what is wrong (exit 104). */
struct threshold;
int script_scenarios(struct script *s, json_t *options, struct scenario **out, int *n,
                     struct threshold **thr, int *nthr);

/* --tag NAME=VALUE flags (n of them) as k6's run tags: when n > 0 they replace
 * options.tags (as in k6, tags given on the command line replace the script's), before
 * script_scenarios() adds them to every scenario. Returns 0, or -EINVAL after printing which
 * flag is not NAME=VALUE with a non-empty NAME (exit 104). */
int script_cli_tags(json_t *options, const char *const *tags, int n);

/* k6's options.httpDebug into *out: 0 when absent, false or ""; 1 (requests and responses
 * without bodies) for true or "headers"; 2 (with bodies) for "full". Returns 0, or -EINVAL
 * after printing what is wrong (exit 104). */
int script_http_debug(json_t *options, int *out);

/* Read k6's options.dns ({ ttl, select, policy }) from options into o, leaving the fields it
 * does not set. Returns 0, or -EINVAL after printing what is wrong (exit 104). */
int script_dns_options(json_t *options, struct resolver_opts *o);

/* Call handle_summary(data) with the summary (as exported) in a fresh Lua state, within
 * options.handleSummaryTimeout (k6's 120 s by default). Writes the files it returns
 * (outfile_write) and prints its "stdout" and "stderr"; *printed is set once it ran and
 * returned a valid result (as in k6, it then replaces the default summary). Returns 0;
 * -EINVAL after printing the script's error (it raised one, returned something else than
 * nil or a table of strings keyed by "stdout", "stderr" or paths, or ran out of time);
 * -EINTR when a (blocked, pending) SIGINT, SIGTERM or SIGHUP stopped it (also between two
 * of its outputs); -EIO after printing which files could not be written. A result naming
 * more than 64 outputs is an error (nothing is written). */
int script_handle_summary(struct script *s, json_t *summary, bool *printed);

/* options.maxResponseBodySize (bytes as a whole number, or a size such as "64MB", "512kB",
 * "1GiB") into *out, 0 when the option is absent. Returns 0, or -EINVAL after printing
 * what is wrong (exit 104). */
int script_body_max(json_t *options, int64_t *out);

/* Record a script error message (thread-safe). Messages longer than 1 KiB are cut there
 * (with "... (N bytes)" appended) before being kept or printed. The first 100 distinct
 * messages are kept with their counts and the first 20 printed on stderr once each; errors
 * with any other message are counted together, and a single line says that they are not
 * printed. */
void script_report_error(struct script *s, const char *msg);

/* The script errors as the export's script_errors: [{message, count}], plus one entry
 * counting the errors whose messages were not kept. A new reference. */
json_t *script_errors_json(struct script *s);

#endif
