/* script.c: loading scripts, their options (k6's keys) as scenarios, handle_summary. */
#include "script/script.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/preset.h"
#include "metrics/threshold.h"
#include "script/lua_rt.h"
#include "util/common.h"
#include "util/outfile.h"
#include "util/slo.h"
#include "util/suggest.h"

extern char **environ;

#define DEFAULT_MAX_DURATION_US (600 * USEC_PER_SEC)
#define DEFAULT_GRACE_US        (30 * USEC_PER_SEC)
/* k6's budget for handleSummary(), which its handleSummaryTimeout option changes */
#define DEFAULT_HANDLE_SUMMARY_US (120 * USEC_PER_SEC)
/* The largest script file read. */
#define SCRIPT_MAX ((size_t)64 << 20)

static json_t *build_env(const char **overrides, int n)
{
	json_t *env = json_object();
	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq)
			continue;
		char *k = xstrndup(*e, (size_t)(eq - *e));
		json_object_set_new(env, k, json_string(eq + 1));
		free(k);
	}
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(overrides[i], '=');
		char *k =
		    xstrndup(overrides[i], eq ? (size_t)(eq - overrides[i]) : strlen(overrides[i]));
		json_object_set_new(env, k, json_string(eq ? eq + 1 : ""));
		free(k);
	}
	return env;
}

/* Raw lookups in the init context's environment: no script metamethod runs here, outside
 * any protected call. */
static bool env_has_function(lua_State *L, int env, const char *name)
{
	lua_pushstring(L, name);
	lua_rawget(L, env);
	bool yes = lua_isfunction(L, -1);
	lua_pop(L, 1);
	return yes;
}

/* Read options that change how requests are made. */
static void request_options(struct script *s)
{
	json_t *o = s->options;
	s->discard_bodies = json_is_true(json_object_get(o, "discardResponseBodies"));
	s->no_connection_reuse = json_is_true(json_object_get(o, "noConnectionReuse"));
	s->no_vu_connection_reuse = json_is_true(json_object_get(o, "noVUConnectionReuse"));
	json_t *ua = json_object_get(o, "userAgent");
	if (json_is_string(ua))
		s->user_agent = xstrdup(json_string_value(ua));
	json_t *mr = json_object_get(o, "maxRedirects");
	s->max_redirects = json_is_integer(mr) ? (int)json_integer_value(mr) : 10;
}

/* Whether a thresholds table (options.thresholds as JSON) has an abortOnFail one. */
static bool has_abort_threshold(json_t *thresholds)
{
	const char *k;
	json_t *list;
	json_object_foreach(thresholds, k, list)
	{
		size_t i;
		json_t *e;
		json_array_foreach(
		    list, i, e) if (json_is_true(json_object_get(e, "abortOnFail"))) return true;
	}
	return false;
}

/* A preset scenario given a startTime (options.scenarios.X.startTime = "1m"): its phases
 * start then, so testType's phases move by that much (startTimeS) and the verdicts and the
 * HTML bands follow the run's clock. The scenario is the one whose stages are the preset's. */
static void preset_start_time(json_t *options)
{
	json_t *tt = json_object_get(options, "testType");
	json_t *phases = json_object_get(tt, "phases");
	const char *k;
	json_t *sc;
	if (!json_is_array(phases))
		return;
	json_object_foreach(json_object_get(options, "scenarios"), k, sc)
	{
		json_t *stages = json_object_get(sc, "stages");
		const char *st = json_string_value(json_object_get(sc, "startTime"));
		if (!st || json_array_size(stages) != json_array_size(phases))
			continue;
		size_t i;
		json_t *e;
		bool same = true;
		json_array_foreach(stages, i, e)
		{
			json_t *ph = json_array_get(phases, i);
			const char *d = json_string_value(json_object_get(e, "duration"));
			int64_t us;
			same = same && d && parse_duration(d, &us) == 0 &&
			       llabs(us -
			             (int64_t)(json_number_value(json_object_get(ph, "durationS")) *
			                       1e6)) <= 1 &&
			       json_number_value(json_object_get(e, "target")) ==
			           json_number_value(json_object_get(ph, "target"));
		}
		int64_t at;
		if (!same || parse_duration(st, &at) < 0 || at <= 0)
			continue;
		json_array_foreach(phases, i, e)
		{
			double a = json_number_value(json_object_get(e, "startS"));
			json_object_set_new(e, "startS", json_real(a + (double)at / 1e6));
		}
		json_object_set_new(tt, "startTimeS", json_real((double)at / 1e6));
		return;
	}
}

/* A smoke preset allows no failed request, as --type smoke does: its SLOs carry
 * SLO_NO_ERRORS, as a threshold and in options.slo, unless the script has it already. */
static void smoke_no_errors(json_t *options)
{
	enum test_type t;
	const char *name =
	    json_string_value(json_object_get(json_object_get(options, "testType"), "type"));
	if (!name || test_type_parse(name, &t) < 0 || !test_type_forbids_errors(t))
		return;
	struct slo_set set = { 0 };
	char thr[128], err[128];
	if (slo_parse(SLO_NO_ERRORS, &set, err, sizeof(err)) < 0)
		return;
	slo_threshold(&set.item[0], thr, sizeof(thr)); /* "http_req_failed: rate==0" */
	char *expr = strchr(thr, ':');
	*expr = '\0';
	expr += 2;
	json_t *ths = json_object_get(options, "thresholds");
	if (!json_is_object(ths)) {
		ths = json_object();
		json_object_set_new(options, "thresholds", ths);
	}
	json_t *list = json_object_get(ths, thr);
	if (!json_is_array(list)) {
		list = json_array();
		json_object_set_new(ths, thr, list);
	}
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		const char *x = json_is_object(e)
		                    ? json_string_value(json_object_get(e, "threshold"))
		                    : json_string_value(e);
		if (x && !strcmp(x, expr))
			return;
	}
	json_array_append_new(list, json_string(expr));
	json_t *slo = json_object_get(options, "slo");
	if (!json_is_array(slo)) {
		slo = json_array();
		json_object_set_new(options, "slo", slo);
	}
	json_array_append_new(slo, json_string(SLO_NO_ERRORS));
}

static int64_t init_limit_us; /* script_set_init_limit() */

void script_set_init_limit(int64_t us)
{
	init_limit_us = us > 0 ? us : 0;
}

int script_load(const char *path, const char **env_overrides, int noverrides, struct script **out)
{
	char *text;
	size_t n;
	int e = read_file_max(path, SCRIPT_MAX, &text, &n);
	if (e < 0) {
		if (e == -EFBIG)
			fprintf(stderr, "stampede: script '%s' is larger than %d MiB\n", path,
			        (int)(SCRIPT_MAX >> 20));
		else
			fprintf(stderr, "stampede: cannot open script '%s': %s\n", path,
			        read_file_strerror(e));
		return -EINVAL;
	}
	struct buf src = { 0 };
	static const char head[] = "return function(_ENV, ...) ";
	buf_add(&src, head, sizeof(head) - 1);
	buf_add(&src, text, n);
	free(text);
	/* A shebang line would not parse inside the wrapper: blank it (keeps line numbers). */
	if (src.len > sizeof(head) && src.p[sizeof(head) - 1] == '#')
		for (size_t i = sizeof(head) - 1; i < src.len && src.p[i] != '\n'; i++)
			src.p[i] = ' ';
	buf_addstr(&src, "\nend");

	struct script *s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->path = xstrdup(path);
	char *copy = xstrdup(path);
	s->dir = xstrdup(dirname(copy));
	free(copy);
	s->source = src.p;
	s->source_len = src.len;
	s->env = build_env(env_overrides, noverrides);
	s->max_redirects = 10;

	/* Compile and run the init context once: syntax errors, options, declared metrics. */
	struct lw *lw = lw_new(s, NULL);
	if (!lw) {
		script_free(s);
		return -EINVAL;
	}
	struct lvu lv = { .lw = lw, .data_ref = LUA_NOREF };
	/* init code has no time limit in a run (as in k6), but a stop signal ends it: the
	 * caller blocks SIGINT/SIGTERM/SIGHUP, the hook sees them pending */
	lw_limit(lw, init_limit_us ? now_us() + init_limit_us : 0,
	         "the script's init code ran past the time `plan` allows it", true);
	if (lw_init_vu(lw, &lv) < 0) {
		const char *err = lua_tostring(lw->L, -1);
		bool intr = err && !strcmp(err, LW_INTERRUPTED);
		if (intr)
			fprintf(stderr,
			        "stampede: interrupted while running the script's init code\n");
		else
			fprintf(stderr, "stampede: %s\n",
			        err ? err : "(error object is not a string)");
		lw_free(lw);
		script_free(s);
		return intr ? -EINTR : -EINVAL;
	}
	lw_limit(lw, 0, NULL, false);
	lua_State *L = lw->L;
	lua_rawgeti(L, LUA_REGISTRYINDEX, lv.env_ref);
	int env = lua_gettop(L);
	s->functions = json_array();
	lua_pushnil(L);
	while (lua_next(L, env)) {
		if (lua_type(L, -2) == LUA_TSTRING && lua_isfunction(L, -1))
			json_array_append_new(s->functions, json_string(lua_tostring(L, -2)));
		lua_pop(L, 1);
	}
	s->has_setup = env_has_function(L, env, "setup");
	s->has_teardown = env_has_function(L, env, "teardown");
	s->has_handle_summary = env_has_function(L, env, "handle_summary");
	lua_pushstring(L, "options");
	lua_rawget(L, env);
	if (lua_isnil(L, -1)) {
		s->options = json_object();
	} else if (!lua_istable(L, -1)) {
		fprintf(stderr, "stampede: %s: options must be a table, not %s\n", path,
		        luaL_typename(L, -1));
		lw_free(lw);
		script_free(s);
		return -EINVAL;
	} else {
		char err[512];
		json_t *o = lua_to_json_protected(L, lua_gettop(L), err, sizeof(err));
		if (!o) {
			fprintf(stderr, "stampede: %s: options: %s\n", path, err);
			lw_free(lw);
			script_free(s);
			return -EINVAL;
		}
		s->options = json_is_object(o) ? o : json_object();
		if (!json_is_object(o))
			json_decref(o);
	}
	/* what stampede.preset and stampede.slo built: the verdicts read them from options */
	static const char *const notes[][2] = { { "stampede.testType", "testType" },
		                                { "stampede.slo", "slo" } };
	for (size_t i = 0; i < ARRAY_SIZE(notes); i++) {
		if (lua_getfield(L, LUA_REGISTRYINDEX, notes[i][0]) == LUA_TSTRING &&
		    !json_object_get(s->options, notes[i][1])) {
			json_t *j = json_loads(lua_tostring(L, -1), JSON_DECODE_ANY, NULL);
			if (json_is_string(
			        j)) /* "several": two presets, no one schedule to judge */
				fprintf(
				    stderr,
				    "stampede: warning: %s calls stampede.preset more than once: "
				    "the run has no test-type verdicts (they follow one "
				    "preset's schedule)\n",
				    path);
			else if (j)
				json_object_set_new(s->options, notes[i][1], json_incref(j));
			if (i == 0 && json_is_object(j) &&
			    !strcmp(json_string_value(json_object_get(j, "type")) ?: "",
			            "breakpoint") &&
			    !has_abort_threshold(json_object_get(s->options, "thresholds")))
				fprintf(
				    stderr,
				    "stampede: warning: %s: a breakpoint preset without an "
				    "abort-on-fail threshold runs its whole ramp; give "
				    "thresholds = stampede.slo(\"p95<200ms\", {abortOnFail = true, "
				    "window = \"10s\"})\n",
				    path);
			json_decref(j);
		}
		lua_pop(L, 1);
	}
	smoke_no_errors(s->options);
	preset_start_time(s->options);
	lw_free(lw);
	request_options(s);
	*out = s;
	return 0;
}

void script_free(struct script *s)
{
	if (!s)
		return;
	free(s->path);
	free(s->dir);
	free(s->source);
	json_decref(s->env);
	json_decref(s->options);
	json_decref(s->functions);
	for (int i = 0; i < s->nmetrics; i++)
		free(s->metrics[i].name);
	free(s->metrics);
	free(s->user_agent);
	free(s->setup_json);
	for (int i = 0; i < s->nerrors; i++)
		free(s->errors[i].msg);
	free(s->errors);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* --- options -> scenarios ----------------------------------------------------------- */

struct octx {
	const char *where; /* "options" or "scenario 'x'" */
};

static int bad_opt(const struct octx *c, const char *key, const char *why)
{
	fprintf(stderr, "stampede: invalid %s.%s: %s\n", c->where, key, why);
	return -EINVAL;
}

/* A k6 duration: a string with units, or a number of milliseconds. */
static int o_duration(const struct octx *c, json_t *o, const char *key, int64_t def, int64_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!v) {
		*out = def;
		return 0;
	}
	if (json_is_number(v)) {
		double ms = json_number_value(v);
		if (ms < 0)
			return bad_opt(c, key, "must not be negative");
		*out = (int64_t)(ms * 1000);
		return 0;
	}
	if (!json_is_string(v) || parse_duration(json_string_value(v), out) < 0)
		return bad_opt(c, key, "expected a duration such as \"30s\" or \"1m30s\"");
	return 0;
}

static int o_int(const struct octx *c, json_t *o, const char *key, int64_t def, int64_t min,
                 int64_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_number(v) || json_number_value(v) != floor(json_number_value(v)))
		return bad_opt(c, key, "expected a whole number");
	*out = (int64_t)json_number_value(v);
	if (*out < min) {
		char why[64];
		snprintf(why, sizeof(why), "must be at least %lld", (long long)min);
		return bad_opt(c, key, why);
	}
	return 0;
}

static int o_stages(const struct octx *c, json_t *o, struct stage **out, int *n)
{
	json_t *st = json_object_get(o, "stages");
	if (!json_is_array(st) || json_array_size(st) == 0)
		return bad_opt(c, "stages", "expected a list of {duration, target}");
	struct stage *stages = xcalloc(json_array_size(st), sizeof(*stages));
	size_t i;
	json_t *e;
	json_array_foreach(st, i, e)
	{
		char where[128];
		snprintf(where, sizeof(where), "%s.stages[%zu]", c->where, i);
		struct octx sub = { where };
		int64_t t;
		if (!json_is_object(e) ||
		    o_duration(&sub, e, "duration", -1, &stages[i].duration_us) ||
		    stages[i].duration_us < 0 || o_int(&sub, e, "target", -1, 0, &t) || t < 0) {
			if (json_is_object(e) && (stages[i].duration_us < 0))
				bad_opt(&sub, "duration", "is required");
			else if (json_is_object(e))
				bad_opt(&sub, "target", "is required");
			else
				bad_opt(c, "stages",
				        "each stage must be {duration=..., target=...}");
			free(stages);
			return -EINVAL;
		}
		stages[i].target = (double)t;
	}
	*out = stages;
	*n = (int)json_array_size(st);
	return 0;
}

/* A table of tags (options.tags, a scenario's tags): non-empty names to strings, numbers
 * or booleans; empty (an empty Lua table is an empty JSON array). */
static int check_tags(const struct octx *c, json_t *tags)
{
	const char *tk;
	json_t *tv;
	if (json_is_array(tags) && json_array_size(tags) == 0)
		return 0; /* an empty Lua table */
	if (!json_is_object(tags))
		return bad_opt(c, "tags", "expected a table of name = value");
	json_object_foreach(tags, tk, tv)
	{
		if (!json_is_string(tv) && !json_is_number(tv) && !json_is_boolean(tv))
			return bad_opt(c, "tags", "tag values must be strings or numbers");
		if (!tk[0])
			return bad_opt(c, "tags", "tag names must not be empty");
	}
	return 0;
}

/* A checked tag value as a new string: strings as they are, numbers and booleans as JSON. */
static char *tag_value(json_t *v)
{
	return json_is_string(v) ? xstrdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY);
}

static const char *const common_keys[] = { "executor", "startTime", "gracefulStop", "exec", "env",
	                                   "tags",     NULL };

static bool key_allowed(const char *k, const char *const *extra)
{
	for (int i = 0; common_keys[i]; i++)
		if (!strcmp(k, common_keys[i]))
			return true;
	for (int i = 0; extra[i]; i++)
		if (!strcmp(k, extra[i]))
			return true;
	return false;
}

static int parse_scenario(const char *name, json_t *o, struct scenario *sc, bool shortcut)
{
	char where[160];
	snprintf(where, sizeof(where), shortcut ? "options" : "scenarios.%s", name);
	struct octx c = { where };
	const char *ex = json_string_value(json_object_get(o, "executor"));
	int64_t v;

	if (!json_is_object(o))
		return bad_opt(&c, "", "a scenario must be a table");
	if (!ex || executor_parse(ex, &sc->executor) < 0)
		return bad_opt(&c, "executor",
		               "expected shared-iterations, per-vu-iterations, constant-vus, "
		               "ramping-vus, constant-arrival-rate or ramping-arrival-rate");
	sc->name = xstrdup(name);
	json_t *exec = json_object_get(o, "exec");
	sc->exec = xstrdup(json_is_string(exec) ? json_string_value(exec) : "default");
	if (o_duration(&c, o, "startTime", 0, &sc->start_us) ||
	    o_duration(&c, o, "gracefulStop", DEFAULT_GRACE_US, &sc->graceful_stop_us))
		return -EINVAL;
	sc->graceful_ramp_down_us = DEFAULT_GRACE_US;
	json_t *env = json_object_get(o, "env"), *tags = json_object_get(o, "tags");
	if (env)
		sc->env_json = json_dumps(env, JSON_COMPACT | JSON_ENCODE_ANY);
	if (tags) {
		const char *tk;
		json_t *tv;
		if (check_tags(&c, tags) < 0)
			return -EINVAL;
		sc->tags = xcalloc(json_object_size(tags) + 1, sizeof(*sc->tags));
		json_object_foreach(tags, tk, tv)
		{
			sc->tags[sc->ntags++] = (struct tag){ xstrdup(tk), tag_value(tv) };
		}
	}

	static const char *const k_shared[] = { "vus", "iterations", "maxDuration", NULL };
	static const char *const k_const_vus[] = { "vus", "duration", NULL };
	static const char *const k_ramp_vus[] = { "startVUs", "stages", "gracefulRampDown", NULL };
	static const char *const k_const_rate[] = { "rate",     "timeUnit",
		                                    "duration", "preAllocatedVUs",
		                                    "maxVUs",   NULL };
	static const char *const k_ramp_rate[] = { "startRate",       "timeUnit", "stages",
		                                   "preAllocatedVUs", "maxVUs",   NULL };
	const char *const *keys = k_shared;
	switch (sc->executor) {
	case EX_SHARED_ITERATIONS:
	case EX_PER_VU_ITERATIONS: {
		int64_t iters, maxd;
		if (o_int(&c, o, "vus", 1, 1, &v) || o_int(&c, o, "iterations", 1, 1, &iters) ||
		    o_duration(&c, o, "maxDuration", DEFAULT_MAX_DURATION_US, &maxd))
			return -EINVAL;
		sc->model = MODEL_CLOSED;
		sc->per_vu = sc->executor == EX_PER_VU_ITERATIONS;
		if (!sc->per_vu && iters < v)
			v = iters; /* k6: no more VUs than iterations */
		sc->vus = (int)v;
		sc->iterations = iters;
		sched_constant(&sc->sched, (double)v, maxd);
		break;
	}
	case EX_CONSTANT_VUS: {
		int64_t d;
		keys = k_const_vus;
		if (o_int(&c, o, "vus", 1, 1, &v) || o_duration(&c, o, "duration", -1, &d))
			return -EINVAL;
		if (d <= 0)
			return bad_opt(&c, "duration", "is required and must be more than 0");
		sc->model = MODEL_CLOSED;
		sc->vus = (int)v;
		sched_constant(&sc->sched, (double)v, d);
		break;
	}
	case EX_RAMPING_VUS: {
		struct stage *st;
		int n;
		keys = k_ramp_vus;
		if (o_int(&c, o, "startVUs", 1, 0, &v) ||
		    o_duration(&c, o, "gracefulRampDown", DEFAULT_GRACE_US,
		               &sc->graceful_ramp_down_us) ||
		    o_stages(&c, o, &st, &n))
			return -EINVAL;
		sc->model = MODEL_CLOSED;
		sc->vus = (int)v;
		sched_ramp(&sc->sched, (double)v, st, n);
		if (sched_max(&sc->sched) < 1)
			return bad_opt(&c, "stages", "never reach a VU: nothing would run");
		break;
	}
	case EX_CONSTANT_ARRIVAL_RATE:
	case EX_RAMPING_ARRIVAL_RATE: {
		int64_t unit, pre, maxv, rate;
		bool ramp = sc->executor == EX_RAMPING_ARRIVAL_RATE;
		keys = ramp ? k_ramp_rate : k_const_rate;
		if (o_duration(&c, o, "timeUnit", USEC_PER_SEC, &unit) ||
		    o_int(&c, o, "preAllocatedVUs", -1, 0, &pre))
			return -EINVAL;
		if (unit <= 0)
			return bad_opt(&c, "timeUnit", "must be more than 0");
		if (pre < 0)
			return bad_opt(&c, "preAllocatedVUs", "is required");
		if (o_int(&c, o, "maxVUs", pre, 0, &maxv))
			return -EINVAL;
		if (maxv < pre)
			return bad_opt(&c, "maxVUs", "must not be less than preAllocatedVUs");
		if (maxv < 1)
			return bad_opt(&c, "maxVUs", "must be at least 1");
		double per_s = 1e6 / (double)unit;
		sc->model = MODEL_OPEN;
		sc->vus = (int)pre;
		sc->max_vus = (int)maxv;
		if (ramp) {
			struct stage *st;
			int n;
			if (o_int(&c, o, "startRate", 0, 0, &rate) || o_stages(&c, o, &st, &n))
				return -EINVAL;
			for (int i = 0; i < n; i++)
				st[i].target *= per_s;
			sched_ramp(&sc->sched, (double)rate * per_s, st, n);
		} else {
			int64_t d;
			if (o_int(&c, o, "rate", -1, 1, &rate) ||
			    o_duration(&c, o, "duration", -1, &d))
				return -EINVAL;
			if (rate < 1)
				return bad_opt(&c, "rate", "is required");
			if (d <= 0)
				return bad_opt(&c, "duration",
				               "is required and must be more than 0");
			sched_constant(&sc->sched, (double)rate * per_s, d);
		}
		break;
	}
	}
	const char *k;
	json_t *val;
	json_object_foreach(o, k, val)
	{
		if (!key_allowed(k, keys)) {
			char why[160];
			snprintf(why, sizeof(why), "unknown option for the %s executor",
			         executor_name(sc->executor));
			return bad_opt(&c, k, why);
		}
	}
	sc->duration_us = sc->sched.total_us;
	return 0;
}

/* k6's shortcuts: top-level vus/duration/iterations/stages make one "default" scenario. */
static int default_scenario(json_t *o, struct scenario *sc)
{
	struct octx c = { "options" };
	json_t *sh = json_object();
	json_t *stages = json_object_get(o, "stages");
	json_t *iters = json_object_get(o, "iterations");
	json_t *dur = json_object_get(o, "duration");
	json_t *vus = json_object_get(o, "vus");
	int64_t d = 0;

	if (o_duration(&c, o, "duration", 0, &d))
		goto out_err;
	if (stages) {
		if (iters || dur) {
			fprintf(stderr,
			        "stampede: options.stages cannot be combined with options.%s\n",
			        iters ? "iterations" : "duration");
			goto out_err;
		}
		json_object_set_new(sh, "executor", json_string("ramping-vus"));
		json_object_set(sh, "stages", stages);
		if (vus)
			json_object_set(sh, "startVUs", vus);
	} else if (iters) {
		json_object_set_new(sh, "executor", json_string("shared-iterations"));
		json_object_set(sh, "iterations", iters);
		if (vus)
			json_object_set(sh, "vus", vus);
		if (dur)
			json_object_set(sh, "maxDuration", dur);
	} else if (dur && d > 0) {
		json_object_set_new(sh, "executor", json_string("constant-vus"));
		json_object_set(sh, "duration", dur);
		if (vus)
			json_object_set(sh, "vus", vus);
	} else {
		json_object_set_new(sh, "executor", json_string("shared-iterations"));
		json_object_set_new(sh, "iterations", json_integer(1));
		if (vus)
			json_object_set(sh, "vus", vus);
	}
	int rc = parse_scenario("default", sh, sc, true);
	json_decref(sh);
	return rc;
out_err:
	json_decref(sh);
	return -EINVAL;
}

static int add_threshold(const char *selector, json_t *e, struct threshold **thr, int *nthr)
{
	char err[512];
	const char *expr = NULL;
	bool abort_on_fail = false;
	int64_t delay = 0, window = 0;
	if (json_is_string(e)) {
		expr = json_string_value(e);
	} else if (json_is_object(e)) {
		expr = json_string_value(json_object_get(e, "threshold"));
		abort_on_fail = json_is_true(json_object_get(e, "abortOnFail"));
		struct octx c = { "thresholds" };
		if (o_duration(&c, e, "delayAbortEval", 0, &delay) ||
		    o_duration(&c, e, "window", 0, &window))
			return -EINVAL;
		if (window && (window < USEC_PER_SEC || window > 3600 * USEC_PER_SEC)) {
			fprintf(stderr,
			        "stampede: invalid thresholds['%s'].window: from 1s to 1h\n",
			        selector);
			return -EINVAL;
		}
	}
	if (!expr) {
		fprintf(stderr,
		        "stampede: invalid thresholds['%s']: expected strings such as "
		        "\"p(95)<200\" or {threshold = \"...\", abortOnFail = true}\n",
		        selector);
		return -EINVAL;
	}
	struct threshold t;
	if (threshold_parse_parts(selector, expr, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: %s\n", err);
		return -EINVAL;
	}
	t.abort_on_fail = abort_on_fail;
	t.delay_abort_us = delay;
	t.window_s = (int)(window / USEC_PER_SEC);
	*thr = xrealloc(*thr, sizeof(**thr) * (size_t)(*nthr + 1));
	(*thr)[(*nthr)++] = t;
	return 0;
}

static const char *const known_options[] = {
	"vus",
	"duration",
	"iterations",
	"stages",
	"scenarios",
	"thresholds",
	"discardResponseBodies",
	"insecureSkipTLSVerify",
	"userAgent",
	"summaryTrendStats",
	"noConnectionReuse",
	"noVUConnectionReuse",
	"maxRedirects",
	"setupTimeout",
	"teardownTimeout",
	"tags",
	"dns",
	"maxResponseBodySize",
	"handleSummaryTimeout",
	"httpDebug",
	"executionSegment",         /* a distributed run's share (engine/segment.h) */
	"executionSegmentSequence", /* read by `run` (cli/cmd_run.c) */
	"testType",                 /* set by stampede.preset (script/lua_preset.c) */
	"slo",                      /* set by stampede.slo (or --slo) */
	"sloPreset",                /* --slo-preset */
	"monitor",                  /* --monitor-pid/-port/-cmd (cli/monitor_args.h) */
	NULL,
};

/* k6 options stampede does not implement and that change nothing that is sent (what is
 * shown, kept or reported, or k6-only services): a warning names them and the run goes
 * on. */
static const char *const ignored_options[] = {
	"summaryTimeUnit",         /* the summary's time unit */
	"systemTags",              /* which built-in tags samples carry */
	"noUsageReport",           /* k6's usage report to Grafana */
	"ext",                     /* k6 Cloud and extension settings */
	"cloud",                   /* k6 Cloud settings */
	"metricSamplesBufferSize", /* k6's internal buffer */
	"logOutput",               /* where console.log goes */
	"logFormat",               /* how console.log is formatted */
	"consoleOutput",           /* a file for console.log */
	"vusMax",                  /* k6 < 0.27: VUs to pre-allocate for scaling */
	"noThresholds",            /* a config-file key in k6: use --no-thresholds */
	"noSummary",               /* a config-file key in k6: use --no-summary */
	NULL,
};

/* k6 options stampede does not implement and that change what is sent, or to where:
 * running as if they were absent would not be the test the script describes, so the run
 * does not start (exit 104). Each with what it does. */
static const struct {
	const char *key, *what;
} refused_options[] = {
	{ "hosts", "it overrides DNS: requests would go to other addresses" },
	{ "blacklistIPs", "it blocks requests to IP ranges" },
	{ "blockHostnames", "it blocks requests to host names" },
	{ "localIPs", "it chooses the source addresses" },
	{ "tlsAuth", "it presents client certificates" },
	{ "tlsCipherSuites", "it restricts the TLS cipher suites" },
	{ "tlsVersion", "it restricts the TLS versions" },
	{ "rps", "it caps the request rate" },
	{ "batch", "it caps http.batch's parallel requests" },
	{ "batchPerHost", "it caps http.batch's parallel requests per host" },
	{ "minIterationDuration", "it paces iterations" },
	{ "noCookiesReset", "it keeps cookies across iterations" },
	{ "throw", "it ends iterations at failed requests" },
	{ "noSetup", "it skips setup()" },
	{ "noTeardown", "it skips teardown()" },
	{ "paused", "it starts the test paused" },
};

/* A value that turns an option off: false, 0, "", an empty table, or null. */
static bool inert(json_t *v)
{
	return json_is_false(v) || json_is_null(v) ||
	       (json_is_number(v) && json_number_value(v) == 0) ||
	       (json_is_string(v) && !json_string_length(v)) ||
	       (json_is_object(v) && !json_object_size(v)) ||
	       (json_is_array(v) && !json_array_size(v));
}

static bool in_list(const char *k, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(k, list[i]))
			return true;
	return false;
}

/* Every top-level key of options: known, ignored with a warning, or an error (exit 104)
 * naming it. Returns 0 or -EINVAL. */
static int check_option_keys(const struct script *s, json_t *o)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		if (in_list(k, known_options))
			continue;
		if (in_list(k, ignored_options)) {
			fprintf(stderr,
			        "stampede: warning: options.%s is not supported and is "
			        "ignored\n",
			        k);
			continue;
		}
		for (size_t i = 0; i < ARRAY_SIZE(refused_options); i++) {
			if (!strcmp(k, refused_options[i].key) && inert(v)) {
				fprintf(stderr,
				        "stampede: warning: options.%s is not supported and is "
				        "ignored (it is off here)\n",
				        k);
				goto next;
			}
			if (!strcmp(k, refused_options[i].key)) {
				fprintf(
				    stderr,
				    "stampede: options.%s is not supported, and running without "
				    "it would not be the test %s describes (%s)\n",
				    k, s->path, refused_options[i].what);
				return -EINVAL;
			}
		}
		int hint = suggest_closest(k, strlen(k), known_options,
		                           (int)ARRAY_SIZE(known_options) - 1);
		if (hint >= 0)
			fprintf(stderr,
			        "stampede: unknown option '%s' in %s (did you mean '%s'?)\n", k,
			        s->path, known_options[hint]);
		else
			fprintf(stderr, "stampede: unknown option '%s' in %s\n", k, s->path);
		return -EINVAL;
	next:;
	}
	return 0;
}

/* options.slo and options.testType, when a script writes them itself (stampede.slo and
 * stampede.preset write valid ones): what the verdicts would read. Returns 0, or -EINVAL
 * after saying what is wrong (exit 104). */
static int check_test_options(const struct script *s, json_t *o)
{
	char err[256];
	json_t *slo = json_object_get(o, "slo"), *e;
	size_t i;
	if (slo && !json_is_array(slo)) {
		fprintf(stderr,
		        "stampede: options.slo in %s: expected a list of objectives such as "
		        "[\"p95<200ms\", \"errors<0.1%%\"]\n",
		        s->path);
		return -EINVAL;
	}
	json_array_foreach(slo, i, e)
	{
		struct slo_set set = { 0 };
		if (!json_is_string(e) ||
		    slo_parse(json_string_value(e), &set, err, sizeof(err)) < 0) {
			fprintf(stderr, "stampede: options.slo[%zu] in %s: %s\n", i, s->path,
			        json_is_string(e) ? err
			                          : "expected a string such as \"p95<200ms\"");
			return -EINVAL;
		}
	}
	json_t *tt = json_object_get(o, "testType");
	if (tt && preset_json_check(tt, err, sizeof(err)) < 0) {
		fprintf(stderr,
		        "stampede: options.testType in %s: %s (stampede.preset writes it)\n",
		        s->path, err);
		return -EINVAL;
	}
	return 0;
}

/* Add options.tags (k6's run tags, already checked) to every scenario's tags; a scenario's
 * own tag of the same name wins, as in k6. */
static void add_run_tags(json_t *tags, struct scenario *scen, int ns)
{
	const char *tk;
	json_t *tv;
	for (int i = 0; i < ns && tags; i++) {
		struct scenario *sc = &scen[i];
		sc->tags = xrealloc(sc->tags, sizeof(*sc->tags) *
		                                  ((size_t)sc->ntags + json_object_size(tags) + 1));
		int own = sc->ntags;
		json_object_foreach(tags, tk, tv)
		{
			bool shadowed = false;
			for (int j = 0; j < own && !shadowed; j++)
				shadowed = !strcmp(sc->tags[j].key, tk);
			if (!shadowed)
				sc->tags[sc->ntags++] = (struct tag){ xstrdup(tk), tag_value(tv) };
		}
	}
}

int script_cli_tags(json_t *options, const char *const *tags, int n)
{
	if (n == 0)
		return 0;
	json_t *o = json_object();
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(tags[i], '=');
		if (!eq || eq == tags[i]) {
			fprintf(stderr, "stampede: invalid --tag '%s': expected NAME=VALUE\n",
			        tags[i]);
			json_decref(o);
			return -EINVAL;
		}
		char *k = xstrndup(tags[i], (size_t)(eq - tags[i]));
		json_object_set_new(o, k, json_string(eq + 1));
		free(k);
	}
	json_object_set_new(options, "tags", o);
	return 0;
}

int script_http_debug(json_t *options, int *out)
{
	json_t *v = json_object_get(options, "httpDebug");
	const char *str = json_string_value(v);
	*out = 0;
	if (!v || json_is_false(v) || (str && !str[0]))
		return 0;
	if (json_is_true(v) || (str && !strcmp(str, "headers"))) {
		*out = 1;
		return 0;
	}
	if (str && !strcmp(str, "full")) {
		*out = 2;
		return 0;
	}
	fprintf(stderr, "stampede: invalid options.httpDebug: expected \"full\" (with bodies), "
	                "\"headers\" or true (without), or false\n");
	return -EINVAL;
}

/* options.maxResponseBodySize: bytes as a whole number, or a size such as "64MB", "512kB"
 * or "1GiB"; more than 0. */
static int body_max_option(json_t *options, int64_t *out)
{
	json_t *v = json_object_get(options, "maxResponseBodySize");
	static const char expect[] = "expected a size in bytes more than 0: a whole number, or a "
	                             "string such as \"512kB\", \"64MB\" or \"1GiB\"";
	if (!v) {
		*out = 0;
		return 0;
	}
	int64_t n = -1;
	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
	         json_real_value(v) > 0 && json_real_value(v) < 0x1p63)
		n = (int64_t)json_real_value(v);
	else if (json_is_string(v) && parse_size(json_string_value(v), &n) < 0)
		n = -1;
	if (n <= 0) {
		char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		fprintf(stderr, "stampede: invalid options.maxResponseBodySize %s: %s\n",
		        text ? text : "", expect);
		free(text);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

int script_body_max(json_t *options, int64_t *out)
{
	return body_max_option(options, out);
}

/* options.handleSummaryTimeout (k6 2.2), or k6's 120 s. */
static int handle_summary_timeout(json_t *options, int64_t *out)
{
	struct octx c = { "options" };
	if (o_duration(&c, options, "handleSummaryTimeout", DEFAULT_HANDLE_SUMMARY_US, out) < 0)
		return -EINVAL;
	if (*out <= 0)
		return bad_opt(&c, "handleSummaryTimeout", "must be more than 0");
	return 0;
}

int script_scenarios(struct script *s, json_t *o, struct scenario **out, int *n,
                     struct threshold **thr, int *nthr)
{
	struct scenario *scen = NULL;
	int ns = 0;
	const char *k;
	json_t *v;

	if (check_option_keys(s, o) < 0 || check_test_options(s, o) < 0)
		return -EINVAL;
	int64_t unused;
	int debug;
	if (body_max_option(o, &unused) < 0 || handle_summary_timeout(o, &unused) < 0 ||
	    script_http_debug(o, &debug) < 0)
		return -EINVAL;
	struct octx c = { "options" };
	json_t *run_tags = json_object_get(o, "tags");
	if (run_tags && check_tags(&c, run_tags) < 0)
		return -EINVAL;
	json_t *scs = json_object_get(o, "scenarios");
	if (scs && (!json_is_object(scs) || json_object_size(scs) == 0)) {
		fprintf(stderr, "stampede: invalid options.scenarios: expected a table of named "
		                "scenarios\n");
		return -EINVAL;
	}
	if (scs) {
		scen = xcalloc(json_object_size(scs), sizeof(*scen));
		json_object_foreach(scs, k, v)
		{
			if (parse_scenario(k, v, &scen[ns], false) < 0) {
				scenario_free(&scen[ns]);
				goto out_err;
			}
			ns++;
		}
	} else {
		scen = xcalloc(1, sizeof(*scen));
		if (default_scenario(o, &scen[0]) < 0) {
			scenario_free(&scen[0]);
			goto out_err;
		}
		ns = 1;
	}
	add_run_tags(run_tags, scen, ns);
	for (int i = 0; i < ns; i++) { /* every exec function must exist (k6 checks this too) */
		bool found = false;
		size_t fi;
		json_t *fv;
		json_array_foreach(s->functions, fi, fv) found =
		    found || !strcmp(json_string_value(fv), scen[i].exec);
		if (!found) {
			fprintf(
			    stderr,
			    "stampede: %s: scenario '%s' runs function '%s', which the script does "
			    "not define%s\n",
			    s->path, scen[i].name, scen[i].exec,
			    strcmp(scen[i].exec, "default") ? ""
			                                    : " (define default(), or set exec)");
			goto out_err;
		}
	}
	json_t *th = json_object_get(o, "thresholds");
	if (th && !json_is_object(th)) {
		fprintf(stderr, "stampede: invalid options.thresholds: expected a table\n");
		goto out_err;
	}
	json_object_foreach(th, k, v)
	{
		if (json_is_array(v)) {
			size_t i;
			json_t *e;
			json_array_foreach(v, i,
			                   e) if (add_threshold(k, e, thr, nthr) < 0) goto out_err;
		} else if (add_threshold(k, v, thr, nthr) < 0) {
			goto out_err;
		}
	}
	*out = scen;
	*n = ns;
	return 0;
out_err:
	for (int i = 0; i < ns; i++)
		scenario_free(&scen[i]);
	free(scen);
	return -EINVAL;
}

/* One field of options.dns into o (ttl: also a number of milliseconds, as in k6). */
static int dns_field(const char *key, json_t *v, struct resolver_opts *o, char *err, size_t errlen)
{
	const char *str = json_string_value(v);
	if (!strcmp(key, "ttl") && json_is_number(v)) {
		double ms = json_number_value(v);
		if (!(ms >= 0 && ms <= (double)(INT64_MAX / 1000))) {
			snprintf(err, errlen,
			         "invalid dns ttl %g: expected \"inf\", \"0\", a duration "
			         "like \"5m\", or milliseconds (not negative)",
			         ms);
			return -EINVAL;
		}
		o->ttl_us = (int64_t)(ms * 1000);
		return 0;
	}
	if (!str) {
		snprintf(err, errlen, "dns %s must be a string", key);
		return -EINVAL;
	}
	if (!strcmp(key, "ttl"))
		return resolver_parse_ttl(str, &o->ttl_us, err, errlen);
	if (!strcmp(key, "select"))
		return resolver_parse_select(str, &o->select, err, errlen);
	if (!strcmp(key, "policy"))
		return resolver_parse_policy(str, &o->policy, err, errlen);
	snprintf(err, errlen, "unknown dns option '%s': expected ttl, select or policy", key);
	return -EINVAL;
}

int script_dns_options(json_t *options, struct resolver_opts *o)
{
	json_t *dns = json_object_get(options, "dns");
	const char *k;
	json_t *v;
	char err[256];
	if (!dns)
		return 0;
	if (!json_is_object(dns)) {
		fprintf(stderr, "stampede: invalid options.dns: expected a table such as "
		                "{ ttl = \"1m\", select = \"first\", policy = \"preferIPv4\" }\n");
		return -EINVAL;
	}
	struct resolver_opts tmp = *o;
	json_object_foreach(dns, k, v)
	{
		if (dns_field(k, v, &tmp, err, sizeof(err)) < 0) {
			fprintf(stderr, "stampede: options.dns: %s\n", err);
			return -EINVAL;
		}
	}
	*o = tmp;
	return 0;
}

/* --- handle_summary ----------------------------------------------------------------- */

/* Outputs ("stdout", "stderr", files) one handle_summary() result may name. */
#define HS_OUTPUTS_MAX 64

/* "VALUE (a TYPE)" for the key or value at idx of L, into b. */
static const char *describe(lua_State *L, int idx, char *b, size_t len)
{
	idx = lua_absindex(L, idx);
	int t = lua_type(L, idx);
	if (t == LUA_TSTRING || t == LUA_TNUMBER) {
		lua_pushvalue(L, idx); /* a copy: converting a key in place would break lua_next */
		snprintf(b, len, "%s (a %s)", lua_tostring(L, -1), lua_typename(L, t));
		lua_pop(L, 1);
	} else if (t == LUA_TBOOLEAN) {
		snprintf(b, len, "%s (a boolean)", lua_toboolean(L, idx) ? "true" : "false");
	} else {
		snprintf(b, len, "of type %s", lua_typename(L, t));
	}
	return b;
}

/* Protected, under the state's limits: handle_summary(data), and a check of its result:
 * nil, or a table whose keys are "stdout", "stderr" or file paths and whose values are
 * strings. Leaves the result on the stack. */
static int hs_call(lua_State *L)
{
	json_t *summary = lua_touserdata(L, 1);
	lua_settop(L, 2); /* the function */
	json_to_lua(L, summary);
	lua_call(L, 1, 1);
	if (lua_isnil(L, -1))
		return 1;
	if (!lua_istable(L, -1))
		return luaL_error(L,
		                  "handle_summary() must return a table mapping \"stdout\", "
		                  "\"stderr\" or file paths to strings (or nothing), not a %s",
		                  luaL_typename(L, -1));
	int t = lua_gettop(L), n = 0;
	char k[200], v[200];
	lua_pushnil(L);
	while (lua_next(L, t)) {
		if (++n > HS_OUTPUTS_MAX)
			return luaL_error(
			    L,
			    "handle_summary() returned more than %d outputs (\"stdout\", "
			    "\"stderr\" and files): nothing was written",
			    HS_OUTPUTS_MAX);
		if (lua_type(L, -2) != LUA_TSTRING)
			return luaL_error(L,
			                  "handle_summary() returned the key %s: keys must be "
			                  "\"stdout\", \"stderr\" or file paths (strings)",
			                  describe(L, -2, k, sizeof(k)));
		if (lua_rawlen(L, -2) == 0 || strlen(lua_tostring(L, -2)) != lua_rawlen(L, -2))
			return luaL_error(L, "handle_summary() returned an empty file path or one "
			                     "with a NUL byte");
		if (lua_type(L, -1) != LUA_TSTRING)
			return luaL_error(L,
			                  "handle_summary() returned, for '%s', the value %s: "
			                  "expected the text to write (a string)",
			                  lua_tostring(L, -2), describe(L, -1, v, sizeof(v)));
		lua_pop(L, 1);
	}
	return 1;
}

/* Whether SIGINT, SIGTERM or SIGHUP is pending (the caller blocks them). */
static bool hs_signal_pending(void)
{
	sigset_t set;
	return sigpending(&set) == 0 &&
	       (sigismember(&set, SIGINT) == 1 || sigismember(&set, SIGTERM) == 1 ||
	        sigismember(&set, SIGHUP) == 1);
}

/* Write what a checked handle_summary() result (on top of L) asks for. Returns 0, -EIO
 * after printing which files could not be written, or -EINTR when a stop signal came
 * (the outputs not yet written are not). */
static int hs_write(lua_State *L)
{
	int rc = 0, t = lua_gettop(L);
	char err[512];
	lua_pushnil(L);
	while (lua_next(L, t)) { /* hs_call checked: string keys and values only */
		if (hs_signal_pending()) {
			fprintf(stderr, "stampede: handle_summary: interrupted by a signal while "
			                "writing its outputs\n");
			lua_pop(L, 2);
			fflush(stdout);
			return -EINTR;
		}
		size_t len;
		const char *key = lua_tostring(L, -2);
		const char *val = lua_tolstring(L, -1, &len);
		if (!strcmp(key, "stdout")) {
			fwrite(val, 1, len, stdout);
		} else if (!strcmp(key, "stderr")) {
			fwrite(val, 1, len, stderr);
		} else if (outfile_write(key, val, len, err, sizeof(err)) < 0) {
			fprintf(stderr, "stampede: handle_summary: %s\n", err);
			rc = -EIO;
		}
		lua_pop(L, 1);
	}
	fflush(stdout);
	return rc;
}

int script_handle_summary(struct script *s, json_t *summary, bool *printed)
{
	*printed = false; /* until it ran: then, as in k6, it replaces the default summary */
	int64_t timeout;
	if (handle_summary_timeout(s->options, &timeout) < 0)
		return -EINVAL;
	struct lw *lw = lw_new(s, NULL);
	if (!lw)
		return -EINVAL;
	char msg[160], d[32];
	snprintf(msg, sizeof(msg),
	         "handle_summary() execution timed out after %s (the handleSummaryTimeout "
	         "option sets the limit)",
	         format_duration(timeout, d, sizeof(d)));
	lw_limit(lw, now_us() + timeout, msg, true);
	struct lvu lv = { .lw = lw, .data_ref = LUA_NOREF };
	lua_State *L = lw->L;
	int rc = 0;
	if (lw_init_vu(lw, &lv) < 0) {
		rc = -EINVAL;
		goto out_error;
	}
	lua_pushcfunction(L, hs_call);
	lua_pushlightuserdata(L, summary);
	lua_rawgeti(L, LUA_REGISTRYINDEX, lv.env_ref);
	lua_pushstring(L, "handle_summary");
	lua_rawget(L, -2);
	lua_remove(L, -2);
	if (lw_pcall(lw, 2, 1) != LUA_OK) {
		rc = -EINVAL;
		goto out_error;
	}
	*printed = true;
	if (!lua_isnil(L, -1))
		rc = hs_write(L);
	lw_free(lw);
	return rc;

out_error:;
	const char *err = lua_tostring(L, -1);
	if (err && !strcmp(err, LW_INTERRUPTED))
		rc = -EINTR;
	fprintf(stderr, "stampede: handle_summary: %s (the default summary is printed instead)\n",
	        err ? err : "(error object is not a string)");
	lw_free(lw);
	return rc;
}

/* --- dry run (stampede plan SCRIPT.lua: the traffic model) ---------------------------- */

#define DRY_RUN_ITERATIONS 1000 /* a sample of the iterations, for scripts that branch */
#define DRY_RUN_REQUESTS   5000
#define DRY_RUN_US         (5 * USEC_PER_SEC)

/* Replaces stampede.http's requests, stampede.sleep, check and group with recorders, before
 * the script's init code captures them; returns the record table. */
static const char dryrun_lua[] =
    "local real = require 'stampede.http'\n"
    "local rec = { calls = {}, think = 0, checks = {}, group = '', iterations = {} }\n"
    "math.randomseed(1) -- the same sample of iterations every time\n"
    "local function name_of(url, params)\n"
    "  local t = type(params) == 'table' and params.tags\n"
    "  if type(t) == 'table' and t.name ~= nil then return tostring(t.name) end\n"
    "  return tostring(url)\n"
    "end\n"
    "-- a stand-in for what a real response would hold (r.json().token, items[1].id):\n"
    "-- any field, one element, concatenates as 'dry', compares false, counts as 0\n"
    "local dry = {}\n"
    "local dmt = {}\n"
    "local function zero() return 0 end\n"
    "local function no() return false end\n"
    "local function text(v) if v == dry then return 'dry' end return tostring(v) end\n"
    "dmt.__index = function(_, k) if type(k) == 'string' or k == 1 then return dry end end\n"
    "dmt.__concat = function(a, b) return text(a) .. text(b) end\n"
    "dmt.__tostring = function() return 'dry' end\n"
    "dmt.__len = function() return 1 end\n"
    "dmt.__call = function() return dry end\n"
    "dmt.__add, dmt.__sub, dmt.__mul, dmt.__div, dmt.__mod = zero, zero, zero, zero, zero\n"
    "dmt.__idiv, dmt.__unm, dmt.__pow, dmt.__lt, dmt.__le = zero, zero, zero, no, no\n"
    "setmetatable(dry, dmt)\n"
    "local function response(url)\n"
    "  local r = { status = 200, body = '', headers = {}, cookies = {}, url = tostring(url),\n"
    "    error = '', error_code = 0, proto = 'HTTP/1.1',\n"
    "    timings = { duration = 0, blocked = 0, connecting = 0, tls_handshaking = 0,\n"
    "      sending = 0, waiting = 0, receiving = 0 } }\n"
    "  function r.json() return dry end\n"
    "  function r.html() return dry end\n"
    "  return r\n"
    "end\n"
    "local function add(method, url, params)\n"
    "  if #rec.calls >= 500 then error('more than 500 requests in one iteration', 0) end\n"
    "  rec.calls[#rec.calls + 1] = { method = tostring(method):upper(),\n"
    "    name = name_of(url, params), group = rec.group, think = 0 }\n"
    "  return response(url)\n"
    "end\n"
    "local fake = setmetatable({}, { __index = real })\n"
    "function fake.get(u, p) return add('GET', u, p) end\n"
    "function fake.head(u, p) return add('HEAD', u, p) end\n"
    "function fake.post(u, b, p) return add('POST', u, p) end\n"
    "function fake.put(u, b, p) return add('PUT', u, p) end\n"
    "function fake.patch(u, b, p) return add('PATCH', u, p) end\n"
    "function fake.del(u, b, p) return add('DELETE', u, p) end\n"
    "function fake.options(u, b, p) return add('OPTIONS', u, p) end\n"
    "function fake.request(m, u, b, p) return add(m, u, p) end\n"
    "function fake.batch(reqs)\n"
    "  local out = {}\n"
    "  for k, r in pairs(reqs) do\n"
    "    if type(r) == 'string' then out[k] = add('GET', r)\n"
    "    elseif type(r) == 'table' then\n"
    "      local m, u, p = r.method or r[1], r.url or r[2], r.params or r[4]\n"
    "      if r.url == nil and r[2] == nil then m, u = 'GET', r[1] end\n"
    "      out[k] = add(m or 'GET', u, p)\n"
    "    end\n"
    "  end\n"
    "  return out\n"
    "end\n"
    "package.loaded['stampede.http'] = fake\n"
    "-- ws.connect: its handshake is the request; the handlers never run (no messages)\n"
    "package.loaded['stampede.ws'] = { connect = function(u, p)\n"
    "  local r = add('GET', u, type(p) == 'table' and p or nil)\n"
    "  r.status = 101\n"
    "  return r\n"
    "end }\n"
    "local metric = { add = function() end }\n"
    "local function new_metric() return metric end\n"
    "package.loaded['stampede.metrics'] = { Counter = new_metric, Gauge = new_metric,\n"
    "  Rate = new_metric, Trend = new_metric, counter = new_metric, gauge = new_metric,\n"
    "  rate = new_metric, trend = new_metric }\n"
    "stampede.sleep = function(s)\n"
    "  s = tonumber(s) or 0\n"
    "  rec.think = rec.think + s\n"
    "  local last = rec.calls[#rec.calls]\n"
    "  if last then last.think = last.think + s end\n"
    "end\n"
    "stampede.group = function(name, fn)\n"
    "  local prev = rec.group\n"
    "  rec.group = prev .. '::' .. tostring(name)\n"
    "  local ok, r = pcall(fn)\n"
    "  rec.group = prev\n"
    "  if not ok then error(r, 0) end\n"
    "  return r\n"
    "end\n"
    "stampede.check = function(val, sets)\n"
    "  for n in pairs(type(sets) == 'table' and sets or {}) do rec.checks[#rec.checks + 1] = "
    "tostring(n) end\n"
    "  return true\n"
    "end\n"
    "local function finish()\n"
    "  rec.iterations[#rec.iterations + 1] = { calls = rec.calls, think = rec.think }\n"
    "  rec.calls, rec.think, rec.group = {}, 0, ''\n"
    "end\n"
    "-- setup()'s data, from the same recorders (its requests are not the iteration's)\n"
    "local function prepare(env)\n"
    "  local data = {}\n"
    "  if type(env.setup) == 'function' then\n"
    "    local ok, r = pcall(env.setup)\n"
    "    if not ok then data, rec.setupError = dry, tostring(r) elseif r ~= nil then data = "
    "r end\n"
    "  end\n"
    "  rec.calls, rec.think, rec.group, rec.checks = {}, 0, '', {}\n"
    "  return data\n"
    "end\n"
    "return rec, finish, prepare\n";

/* The error on top of L's stack as text: a non-string error value (error({}), error(nil))
 * is named by its type. The string stays on the stack. */
static const char *error_text(lua_State *L)
{
	if (lua_type(L, -1) == LUA_TSTRING)
		return lua_tostring(L, -1);
	return lua_pushfstring(L, "an error whose value is not a string (a %s)",
	                       luaL_typename(L, -1));
}

json_t *script_dry_run(struct script *s, const char *exec)
{
	struct lw *lw = lw_new(s, NULL);
	if (!lw)
		return NULL;
	lua_State *L = lw->L;
	json_t *out = NULL;
	char err[256];
	int64_t until = now_us() + DRY_RUN_US;
	lw_limit(lw, until, "the dry run ran more than 5 s", true);
	if (luaL_loadbuffer(L, dryrun_lua, sizeof(dryrun_lua) - 1, "=dryrun") != LUA_OK ||
	    lw_pcall(lw, 0, 3) != LUA_OK) {
		lw_free(lw);
		return NULL;
	}
	int prepare = luaL_ref(L, LUA_REGISTRYINDEX), data = LUA_NOREF;
	int finish = luaL_ref(L, LUA_REGISTRYINDEX);
	int rec = luaL_ref(L, LUA_REGISTRYINDEX);
	struct lvu lv = { .lw = lw, .data_ref = LUA_NOREF };
	const char *fail = NULL;
	if (lw_init_vu(lw, &lv) < 0) {
		fail = error_text(L);
	} else {
		lua_rawgeti(L, LUA_REGISTRYINDEX, prepare);
		lua_rawgeti(L, LUA_REGISTRYINDEX, lv.env_ref);
		if (lw_pcall(lw, 1, 1) != LUA_OK)
			fail = error_text(L);
		else
			data = luaL_ref(L, LUA_REGISTRYINDEX);
	}
	/* iterations until DRY_RUN_ITERATIONS, DRY_RUN_REQUESTS recorded, half the time, or an
	 * error (the iteration it stopped is kept: its requests so far) */
	for (int it = 0, calls = 0; !fail && it < DRY_RUN_ITERATIONS; it++) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, lv.env_ref);
		lua_getfield(L, -1, exec);
		lua_remove(L, -2);
		if (!lua_isfunction(L, -1)) {
			lua_pop(L, 1);
			lua_pushfstring(L, "no function '%s'", exec);
			fail = error_text(L);
			break;
		}
		lua_rawgeti(L, LUA_REGISTRYINDEX, data); /* setup()'s, from the dry run */
		if (lw_pcall(lw, 1, 0) != LUA_OK)
			fail = error_text(L);
		lua_rawgeti(L, LUA_REGISTRYINDEX, rec);
		lua_getfield(L, -1, "calls");
		calls += (int)lua_rawlen(L, -1);
		lua_pop(L, 2);
		lua_rawgeti(L, LUA_REGISTRYINDEX, finish);
		if (lua_pcall(L, 0, 0, 0) != LUA_OK || calls >= DRY_RUN_REQUESTS ||
		    now_us() > until - DRY_RUN_US / 2)
			break;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, rec);
	lua_pushnil(L); /* the per-iteration scratch fields: not part of the answer */
	lua_setfield(L, -2, "calls");
	lua_pushnil(L);
	lua_setfield(L, -2, "think");
	lua_pushnil(L);
	lua_setfield(L, -2, "group");
	if (fail) {
		lua_pushstring(L, fail);
		lua_setfield(L, -2, "error");
	}
	out = lua_to_json_protected(L, lua_gettop(L), err, sizeof(err));
	lw_free(lw);
	return out;
}
