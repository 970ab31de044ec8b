/* lua_vu.c: per-worker Lua states, VUs as coroutines, the `stampede` global, lifecycle. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/hdr.h"
#include "metrics/metrics.h"
#include "script/lua_rt.h"
#include "util/common.h"
#include "util/escape.h"

#define ABORT_MARKER "\x01stampede-abort\x01"
/* The error that unwinds Lua code a stop interrupted (not reported as a script error). */
#define STOP_MARKER "\x01stampede-stop\x01"

/* The count hook runs every HOOK_COUNT VM instructions (some 20-100 µs of Lua). */
#define HOOK_COUNT 10000
/* An iteration computing without waiting yields to its worker's event loop after this. */
#define SLICE_US 10000
/* Outside iterations, how often the hook looks at deadlines, stops and pending signals. */
#define CHECK_US 20000
/* Distinct script error messages kept (the rest are counted together) and printed. */
#define ERRORS_KEPT 100
/* The registry's weak set of the VUs' threads (script code cannot resume or close them). */
#define VU_THREADS "stampede.vu_threads"

#define ERRORS_PRINTED 20
/* Bytes of a script error message kept and printed (longer ones are cut, with their size). */
#define ERROR_MSG_MAX 1024
_Static_assert(ERRORS_PRINTED < ERRORS_KEPT, "the note follows the last message printed");

/* Lua side of group(), check() and the Locust-style helpers. Loaded into every state with
 * the C helpers as its argument. */
static const char prelude[] =
    "local C, stampede, vu_threads = ...\n"
    "local co_resume, co_close, error = coroutine.resume, coroutine.close, error\n"
    "function coroutine.resume(co, ...)\n"
    "  if vu_threads[co] then\n"
    "    error(\"a VU's own coroutine cannot be resumed by the script\", 2)\n"
    "  end\n"
    "  return co_resume(co, ...)\n"
    "end\n"
    "local setmt, rawget, type = setmetatable, rawget, type\n"
    "function setmetatable(t, mt)\n"
    "  if type(mt) == 'table' and rawget(mt, '__gc') ~= nil then\n"
    "    error('__gc metamethods are not available in stampede scripts (Lua runs them "
    "with no hooks: they could not be stopped)', 2)\n"
    "  end\n"
    "  return setmt(t, mt)\n"
    "end\n"
    "function coroutine.close(co)\n"
    "  if vu_threads[co] then\n"
    "    error(\"a VU's own coroutine cannot be closed by the script\", 2)\n"
    "  end\n"
    "  return co_close(co)\n"
    "end\n"
    "local pcall, error, pairs, type, math = pcall, error, pairs, type, math\n"
    "function stampede.group(name, fn)\n"
    "  local t0 = C.group_push(name)\n"
    "  local ok, r = pcall(fn)\n"
    "  C.group_pop(t0)\n"
    "  if not ok then error(r, 0) end\n"
    "  return r\n"
    "end\n"
    "function stampede.check(val, sets, tags)\n"
    "  local all = true\n"
    "  for name, fn in pairs(sets) do\n"
    "    local pass\n"
    "    if type(fn) == 'function' then\n"
    "      local ok, res = pcall(fn, val)\n"
    "      pass = ok and not not res\n"
    "    else pass = not not fn end\n"
    "    C.record_check(name, pass, tags)\n"
    "    if not pass then all = false end\n"
    "  end\n"
    "  return all\n"
    "end\n"
    "local locust = {}\n"
    "function locust.between(a, b)\n"
    "  return function() stampede.sleep(a + math.random() * (b - a)) end\n"
    "end\n"
    "function locust.constant(s) return function() stampede.sleep(s) end end\n"
    "function locust.constant_pacing(s)\n"
    "  return function()\n"
    "    local left = s - C.iteration_elapsed()\n"
    "    if left > 0 then stampede.sleep(left) end\n"
    "  end\n"
    "end\n"
    "function locust.tasks(list)\n"
    "  local total, cum = 0, {}\n"
    "  for i, t in ipairs(list) do\n"
    "    local w, fn = t.weight or t[1] or 1, t.fn or t[2]\n"
    "    if type(fn) ~= 'function' then error('task ' .. i .. ' has no function', 2) end\n"
    "    if type(w) ~= 'number' or w < 0 then error('task ' .. i .. ': bad weight', 2) end\n"
    "    total = total + w\n"
    "    cum[#cum + 1] = { total, fn }\n"
    "  end\n"
    "  if total <= 0 then error('tasks: the weights add up to 0', 2) end\n"
    "  return function(...)\n"
    "    local r = math.random() * total\n"
    "    for _, c in ipairs(cum) do\n"
    "      if r < c[1] then return c[2](...) end\n"
    "    end\n"
    "    return cum[#cum][2](...)\n"
    "  end\n"
    "end\n"
    "function locust.user(u)\n"
    "  local pick = locust.tasks(u.tasks)\n"
    "  local started = {}\n"
    "  return function(data)\n"
    "    local id = stampede.vu.id\n"
    "    if u.on_start and not started[id] then started[id] = true; u.on_start(data) end\n"
    "    pick(data)\n"
    "    if u.wait then u.wait() end\n"
    "  end\n"
    "end\n"
    "package.preload['stampede.locust'] = function() return locust end\n";

/* --- errors ------------------------------------------------------------------------ */

void script_report_error(struct script *s, const char *full)
{
	/* a bounded copy: a script can raise megabytes of message text */
	char msg[ERROR_MSG_MAX + 64];
	size_t len = strlen(full);
	if (len <= ERROR_MSG_MAX)
		memcpy(msg, full, len + 1);
	else {
		int cut = ERROR_MSG_MAX;
		while (cut > 0 && ((unsigned char)full[cut] & 0xC0) == 0x80)
			cut--; /* not inside a UTF-8 sequence: the export must stay valid JSON */
		snprintf(msg, sizeof(msg), "%.*s... (%zu bytes)", cut, full, len);
	}
	bool print = false, print_note = false;
	pthread_mutex_lock(&s->mu);
	int i = 0;
	while (i < s->nerrors && strcmp(s->errors[i].msg, msg) != 0)
		i++;
	if (i < s->nerrors) {
		s->errors[i].count++;
	} else if (s->nerrors < ERRORS_KEPT) {
		s->errors = xrealloc(s->errors, sizeof(*s->errors) * (size_t)(s->nerrors + 1));
		s->errors[s->nerrors++] = (struct script_error){ xstrdup(msg), 1 };
		print = s->nerrors <= ERRORS_PRINTED;
		print_note = s->nerrors == ERRORS_PRINTED + 1;
	} else {
		s->errors_other++;
	}
	pthread_mutex_unlock(&s->mu);
	if (print)
		fprintf(stderr, "\nstampede: script error: %s (later occurrences are counted)\n",
		        msg);
	else if (print_note)
		fprintf(stderr,
		        "\nstampede: more script errors with other messages: they are counted "
		        "in the summary, not printed\n");
}

json_t *script_errors_json(struct script *s)
{
	json_t *a = json_array();
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nerrors; i++) {
		json_t *e = json_object();
		char *fixed = utf8_fix(s->errors[i].msg); /* JSON strings are UTF-8 */
		json_object_set_new(e, "message", json_string(fixed ? fixed : s->errors[i].msg));
		free(fixed);
		json_object_set_new(e, "count", json_integer(s->errors[i].count));
		json_array_append_new(a, e);
	}
	if (s->errors_other) {
		char msg[160];
		snprintf(msg, sizeof(msg),
		         "(errors with other messages: only the first %d distinct messages are "
		         "kept)",
		         ERRORS_KEPT);
		json_t *e = json_object();
		json_object_set_new(e, "message", json_string(msg));
		json_object_set_new(e, "count", json_integer(s->errors_other));
		json_array_append_new(a, e);
	}
	pthread_mutex_unlock(&s->mu);
	return a;
}

/* --- stopping CPU-bound Lua ------------------------------------------------------------ */

/* The lw of any thread of its Lua state (the allocator's user data). */
static struct lw *lw_of(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	return ud;
}

/* Lua's allocator, as luaL_newstate's; its user data is the lw, for the hook. */
static void *lw_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	(void)ud;
	(void)osize;
	if (nsize == 0) {
		free(ptr);
		return NULL;
	}
	return realloc(ptr, nsize);
}

static int lw_panic(lua_State *L)
{
	const char *msg = lua_tostring(L, -1);
	fprintf(stderr, "stampede: internal error: unprotected Lua error: %s\n",
	        msg ? msg : "(not a string)");
	return 0; /* Lua aborts */
}

static void lw_hook(lua_State *L, lua_Debug *ar);

/* Raise msg (or the stop already decided) and keep raising at every instruction, in L and
 * in the call's root thread, until C has control back (lw_leave): no pcall in the script
 * can swallow the stop. */
static void stop_raise(lua_State *L, struct lw *lw, const char *msg) __attribute__((noreturn));

static void stop_raise(lua_State *L, struct lw *lw, const char *msg)
{
	if (!lw->stopping) {
		lw->stopping = true;
		snprintf(lw->stop_msg, sizeof(lw->stop_msg), "%s", msg);
	}
	lua_sethook(L, lw_hook, LUA_MASKCOUNT, 1);
	if (lw->root && lw->root != L)
		lua_sethook(lw->root, lw_hook, LUA_MASKCOUNT, 1);
	lua_pushstring(L, lw->stop_msg);
	lua_error(L);
	abort(); /* not reached */
}

/* Whether a VU iteration that cannot yield here must end now: a hard stop, the scenario's
 * end plus gracefulStop, or gracefulStop after a stop signal. */
static bool vu_must_stop(struct lw *lw, struct lvu *lv, int64_t now)
{
	struct engine *e = worker_engine(lv->v->w);
	const struct scenario *sc = vu_scenario(lv->v);
	int level = __atomic_load_n(&e->stop_level, __ATOMIC_ACQUIRE);
	if (level >= STOP_HARD || __atomic_load_n(&e->abort_requested, __ATOMIC_ACQUIRE))
		return true;
	if (now >= e->start_us + scenario_end_us(sc))
		return true;
	if (level >= STOP_GRACEFUL) {
		return now >= engine_graceful_at(e, now) + MAX(sc->graceful_stop_us, 0);
	}
	return false;
}

static bool stop_signal_pending(void)
{
	sigset_t set;
	if (sigpending(&set) < 0)
		return false;
	return sigismember(&set, SIGINT) == 1 || sigismember(&set, SIGTERM) == 1 ||
	       sigismember(&set, SIGHUP) == 1;
}

/* Outside iterations: why the code must stop now, or NULL. */
static const char *outside_must_stop(struct lw *lw, int64_t now)
{
	if (lw->deadline_us && now >= lw->deadline_us)
		return lw->deadline_msg;
	if (lw->w &&
	    __atomic_load_n(&worker_engine(lw->w)->stop_level, __ATOMIC_ACQUIRE) >= STOP_GRACEFUL)
		return STOP_MARKER;
	if (lw->watch_signals && stop_signal_pending())
		return LW_INTERRUPTED;
	return NULL;
}

/* Every HOOK_COUNT instructions: an iteration that has computed for a whole slice yields
 * to the event loop (which runs timers, stops and the other VUs, then resumes it), or,
 * where it cannot yield, ends if it must stop; other code ends at its deadline or stop. */
static void lw_hook(lua_State *L, lua_Debug *ar)
{
	struct lw *lw = lw_of(L);
	if (lw->cleanup) {
		/* __gc or __close run by lua_close or a thread reset: both are protected calls
		 * (GCTM, luaD_closeprotected), so raising ends them at once */
		lua_sethook(L, lw_hook, LUA_MASKCOUNT, 1);
		lua_pushstring(L, "the state is being closed: Lua code cannot run now");
		lua_error(L);
	}
	if (lw->stopping)
		stop_raise(L, lw, NULL);
	if (lua_gethookcount(L) != HOOK_COUNT) /* left at 1 by an earlier stop */
		lua_sethook(L, lw_hook, LUA_MASKCOUNT, HOOK_COUNT);
	if (!lw->root) /* Lua that C runs unprotected (a metamethod): raising would abort */
		return;
	int64_t now = now_us();
	if (now < lw->check_at_us)
		return;
	struct lvu *lv = lw->running;
	if (lv) {
		if (L == lv->co && lua_isyieldable(L)) {
			lv->waiting = LW_PREEMPT;
			loop_timer_at(worker_loop(lv->v->w), &lv->timer, now);
			lua_yield(L, 0);
			return;
		}
		lw->check_at_us = now + SLICE_US;
		if (vu_must_stop(lw, lv, now))
			stop_raise(L, lw, STOP_MARKER);
		return;
	}
	lw->check_at_us = now + CHECK_US;
	const char *why = outside_must_stop(lw, now);
	if (why)
		stop_raise(L, lw, why);
}

/* lua_resetthread(co) in cleanup mode: a __close the reset runs ends at once. */
static void lw_reset_thread(struct lw *lw, lua_State *co)
{
	bool was = lw->cleanup;
	lw->cleanup = true;
	lua_sethook(co, lw_hook, LUA_MASKCOUNT, 1);
	lua_resetthread(co);
	lua_sethook(co, lw_hook, LUA_MASKCOUNT, HOOK_COUNT);
	lw->cleanup = was;
}

/* The state runs Lua until the thread root returns to C: lv's iteration, or (lv NULL)
 * code outside iterations. */
static void lw_enter(struct lw *lw, struct lvu *lv, lua_State *root, int64_t now)
{
	lw->running = lv;
	lw->root = root;
	lw->stopping = false;
	lw->check_at_us = now + (lv ? SLICE_US : 0);
}

/* Back in C: returns whether a stop was raised, and ends it. */
static bool lw_leave(struct lw *lw)
{
	bool stopped = lw->stopping;
	if (stopped)
		lua_sethook(lw->root, lw_hook, LUA_MASKCOUNT, HOOK_COUNT);
	lw->running = NULL;
	lw->root = NULL;
	lw->stopping = false;
	return stopped;
}

void lw_limit(struct lw *lw, int64_t deadline_us, const char *msg, bool watch_signals)
{
	lw->deadline_us = deadline_us;
	snprintf(lw->deadline_msg, sizeof(lw->deadline_msg), "%s", msg ? msg : "");
	lw->watch_signals = watch_signals;
}

int lw_pcall(struct lw *lw, int nargs, int nresults)
{
	lw_enter(lw, NULL, lw->L, now_us());
	int st = lua_pcall(lw->L, nargs, nresults, 0);
	lw_leave(lw);
	return st;
}

struct lvu *lvu_check_iteration(lua_State *L, const char *what)
{
	struct lvu *lv = lvu_of(L);
	if (!lv || !lv->in_iteration)
		luaL_error(L,
		           "%s is only allowed in functions that VUs run (default, a scenario's "
		           "exec, setup, teardown), not in the init context or handle_summary",
		           what);
	return lv;
}

/* --- the stampede global ---------------------------------------------------------- */

static int l_sleep(lua_State *L)
{
	double secs = luaL_checknumber(L, 1);
	struct lvu *lv = lvu_check_iteration(L, "sleep()");
	if (!(secs >= 0) || secs > 86400 * 365)
		return luaL_error(L, "sleep(%f): expected seconds >= 0", secs);
	if (!lua_isyieldable(L))
		return luaL_error(L,
		                  "sleep() cannot be called here (inside a metamethod or sort?)");
	if (!lv->v) { /* options state: nothing to wait for */
		return 0;
	}
	lv->waiting = LW_SLEEP;
	loop_timer_at(worker_loop(lv->v->w), &lv->timer, now_us() + (int64_t)(secs * 1e6));
	return lua_yield(L, 0);
}

static int l_fail(lua_State *L)
{
	const char *msg = luaL_optstring(L, 1, "fail() called");
	lvu_check_iteration(L, "fail()");
	luaL_where(L, 1);
	lua_pushfstring(L, "fail: %s", msg);
	lua_concat(L, 2);
	return lua_error(L);
}

static int l_abort(lua_State *L)
{
	const char *msg = luaL_optstring(L, 1, "abort() called");
	struct lvu *lv = lvu_of(L);
	if (lv && lv->v) {
		char reason[256];
		snprintf(reason, sizeof(reason), "the script called abort(): %s", msg);
		engine_abort(worker_engine(lv->v->w), reason);
	}
	lua_pushstring(L, ABORT_MARKER);
	return lua_error(L);
}

static int l_group_push(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	struct lvu *lv = lvu_check_iteration(L, "group()");
	if (strstr(name, "::"))
		return luaL_error(L, "group name '%s' must not contain '::'", name);
	if (!lv->group_buf)
		lv->group_buf = xcalloc(1, GROUP_MAX);
	size_t len = strlen(lv->group_buf);
	if (len + 2 + strlen(name) >= GROUP_MAX)
		return luaL_error(L, "groups nested too deep");
	snprintf(lv->group_buf + len, GROUP_MAX - len, "::%s", name);
	lua_pushinteger(L, now_us());
	return 1;
}

static void group_reset(struct lvu *lv)
{
	if (lv->group_buf)
		lv->group_buf[0] = '\0';
}

/* Leave the innermost group. */
static void group_reset_to_parent(struct lvu *lv)
{
	char *last = lv->group_buf ? strrchr(lv->group_buf, ':') : NULL;
	if (last && last > lv->group_buf)
		last[-1] = '\0';
	else
		group_reset(lv);
}

static int l_group_pop(lua_State *L)
{
	int64_t t0 = luaL_checkinteger(L, 1);
	struct lvu *lv = lvu_check_iteration(L, "group()");
	if (lv->v) {
		struct tag tags[TAG_MAX];
		int n = lvu_base_tags(lv, tags, TAG_MAX); /* scenario, group, scenario's tags */
		struct worker *w = lv->v->w;
		int sid = worker_series(w, M_GROUP_DURATION, tags, n);
		sink_trend(worker_sink(w), sid, MAX(0, now_us() - t0));
	}
	group_reset_to_parent(lv);
	return 0;
}

static int l_record_check(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	bool pass = lua_toboolean(L, 2);
	struct lvu *lv = lvu_check_iteration(L, "check()");
	if (!lv->v)
		return 0;
	if (!lua_istable(L, 3)) {
		/* the usual case, no extra tags: remember the series per check name and group */
		char key[96];
		const char *group = lvu_group(lv);
		size_t nl = strlen(name), gl = strlen(group);
		int n = (int)(nl + 1 + gl);
		if (nl + 1 + gl < sizeof(key)) { /* "name\x1fgroup", built without printf */
			memcpy(key, name, nl);
			key[nl] = '\x1f';
			memcpy(key + nl + 1, group, gl + 1);
			for (int i = 0; i < lv->nchecks; i++) {
				if (!strcmp(lv->checks[i].key, key)) {
					sink_rate(worker_sink(lv->v->w), lv->checks[i].sid, pass);
					return 0;
				}
			}
			struct tag tags[TAG_MAX];
			int nt = lvu_base_tags(lv, tags, TAG_MAX - 1); /* and the scenario's tags */
			tags[nt++] = (struct tag){ "check", name };
			int sid = worker_series(lv->v->w, M_CHECKS, tags, nt);
			if (!lv->checks)
				lv->checks = xcalloc(CHECK_MEMO_MAX, sizeof(*lv->checks));
			int slot = lv->nchecks < CHECK_MEMO_MAX ? lv->nchecks++ : 0;
			memcpy(lv->checks[slot].key, key, (size_t)n + 1);
			lv->checks[slot].sid = sid;
			sink_rate(worker_sink(lv->v->w), sid, pass);
			return 0;
		}
	}
	lvu_record(L, lv, M_CHECKS, MT_RATE, pass, lua_istable(L, 3) ? 3 : 0, name);
	return 0;
}

static int l_iteration_elapsed(lua_State *L)
{
	struct lvu *lv = lvu_check_iteration(L, "constant_pacing()");
	lua_pushnumber(L, (double)(now_us() - lv->iter_start_us) / 1e6);
	return 1;
}

/* stampede.vu and stampede.scenario: values of the running VU. Under an execution segment
 * the engine counts VUs and iterations within this instance (idInInstance,
 * iterationInInstance); the numbers in the whole test (k6's idInTest, iterationInTest, and
 * stampede.vu.id, stampede.scenario.iteration) are the whole run's indices of those
 * (segment.h), the same in an unsegmented run. */

int64_t lvu_id_in_test(const struct vu *v)
{
	return exec_segment_index(vu_scenario(v)->seg, v->id - 1) + 1;
}

/* A scenario with a count of iterations deals the whole run's to its VUs (iteration k to
 * VU k mod VUs: scenario_segment()), the others number theirs in the instance's stripe. */
static int64_t iteration_in_test(const struct vu *v)
{
	const struct scenario *sc = vu_scenario(v);
	if (sc->model == MODEL_CLOSED && sc->iterations)
		return exec_segment_deal(sc->seg, (int64_t)ceil(sched_max(&sc->sched) - 1e-9),
		                         v->scen_iteration);
	return exec_segment_index(sc->seg, v->scen_iteration);
}

static int l_vu_index(lua_State *L)
{
	const char *k = luaL_checkstring(L, 2);
	struct lvu *lv = lvu_of(L);
	struct vu *v = lv ? lv->v : NULL;
	if (strcmp(k, "id") == 0 || strcmp(k, "idInTest") == 0)
		lua_pushinteger(L, v ? lvu_id_in_test(v) : 0);
	else if (strcmp(k, "idInInstance") == 0)
		lua_pushinteger(L, v ? v->id : 0);
	else if (strcmp(k, "iteration") == 0 || strcmp(k, "iterationInInstance") == 0 ||
	         strcmp(k, "iterationInScenario") == 0) /* a VU runs one scenario */
		lua_pushinteger(L, v ? v->iterations : 0);
	else
		lua_pushnil(L);
	return 1;
}

static int l_scenario_index(lua_State *L)
{
	const char *k = luaL_checkstring(L, 2);
	struct lvu *lv = lvu_of(L);
	const struct vu *v = lv ? lv->v : NULL;
	const struct scenario *sc = v ? vu_scenario(v) : NULL;
	if (strcmp(k, "name") == 0)
		lua_pushstring(L, sc ? sc->name : "");
	else if (strcmp(k, "iteration") == 0 || strcmp(k, "iterationInTest") == 0)
		lua_pushinteger(L, v ? iteration_in_test(v) : 0);
	else if (strcmp(k, "iterationInInstance") == 0)
		lua_pushinteger(L, v ? v->scen_iteration : 0);
	else if (strcmp(k, "executor") == 0)
		lua_pushstring(L, sc ? executor_name(sc->executor) : "");
	else
		lua_pushnil(L);
	return 1;
}

static int l_env_index(lua_State *L)
{
	struct lvu *lv = lvu_of(L);
	if (lv && lv->v && vu_scenario(lv->v)->env_json) {
		if (lv->scen_env_ref == LUA_NOREF || lv->scen_env_ref == 0) {
			json_t *j = json_loads(vu_scenario(lv->v)->env_json, JSON_DECODE_ANY, NULL);
			if (j) {
				json_to_lua(L, j);
				json_decref(j);
			} else {
				lua_newtable(L);
			}
			lv->scen_env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
		}
		lua_rawgeti(L, LUA_REGISTRYINDEX, lv->scen_env_ref);
		lua_pushvalue(L, 2);
		lua_rawget(L, -2);
		if (!lua_isnil(L, -1))
			return 1;
		lua_pop(L, 2);
	}
	lua_pushvalue(L, 2);
	lua_rawget(L, lua_upvalueindex(1));
	return 1;
}

static void push_proxy(lua_State *L, lua_CFunction index)
{
	lua_newtable(L);
	lua_newtable(L);
	lua_pushcfunction(L, index);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
}

/* The largest file open() reads. */
#define OPEN_FILE_MAX ((size_t)1 << 30)

struct lstr {
	const char *p;
	size_t n;
};

static int push_lstr(lua_State *L)
{
	const struct lstr *s = lua_touserdata(L, 1);
	lua_pushlstring(L, s->p, s->n);
	return 1;
}

/* open(path): a file's contents, read once per worker (init context), at most 1 GiB. */
static int l_open(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	lua_settop(L, 1);
	lua_getfield(L, LUA_REGISTRYINDEX, "stampede.open_cache"); /* 2 */
	lua_getfield(L, 2, path);
	if (!lua_isnil(L, -1))
		return 1;
	lua_pop(L, 1);
	lua_getfield(L, LUA_REGISTRYINDEX, "stampede.dir");
	const char *dir = lua_tostring(L, -1);
	char full[4096];
	if (path[0] == '/' || !dir)
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "%s/%s", dir, path);
	lua_pop(L, 1);
	char *text;
	size_t len;
	int e = read_file_max(full, OPEN_FILE_MAX, &text, &len);
	if (e == -EFBIG)
		return luaL_error(L, "open('%s'): larger than %d MiB, the most open() reads", path,
		                  (int)(OPEN_FILE_MAX >> 20));
	if (e < 0)
		return luaL_error(L, "open('%s'): %s", path, read_file_strerror(e));
	struct lstr ls = { text, len };
	lua_pushcfunction(L, push_lstr);
	lua_pushlightuserdata(L, &ls);
	int st = lua_pcall(L, 1, 1, 0); /* text is freed whatever happens */
	free(text);
	if (st != LUA_OK)
		return lua_error(L);
	lua_pushvalue(L, -1);
	lua_setfield(L, 2, path);
	return 1;
}

/* What a forbidden library function says when called (its name is the upvalue). */
static int l_forbidden(lua_State *L)
{
	return luaL_error(L,
	                  "%s is not available in stampede scripts: scripts have no process "
	                  "control and no file system access (read files at init time with "
	                  "open() or stampede.data; see docs/scripting.md, \"Sandbox\")",
	                  lua_tostring(L, lua_upvalueindex(1)));
}

static void forbid(lua_State *L, int table, const char *lib, const char *name)
{
	lua_pushfstring(L, "%s%s%s", lib ? lib : "", lib ? "." : "", name);
	lua_pushcclosure(L, l_forbidden, 1);
	lua_setfield(L, table, name);
}

/* load(chunk [, name [, mode [, env]]]): Lua's load, text chunks only whatever mode says
 * (a binary chunk is not verified by Lua: a corrupted one crashes the process). */
static int l_load_text(lua_State *L)
{
	if (lua_gettop(L) < 3)
		lua_settop(L, 3); /* an env given stays given, one not given stays absent */
	lua_pushliteral(L, "t");
	lua_replace(L, 3);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* require's one searcher after package.preload's: NAME ("a.b" is a/b) as NAME.lua or
 * NAME/init.lua in the script's directory, a text chunk; package.path is ignored, and a
 * name that could leave the directory (absolute, "..", a separator) is refused. */
static int l_search_dir(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	size_t n = lua_rawlen(L, 1);
	bool ok = n > 0 && n < 256 && strlen(name) == n && name[0] != '.' && name[n - 1] != '.' &&
	          !strstr(name, "..");
	for (size_t i = 0; ok && i < n; i++)
		ok = name[i] == '.' || name[i] == '_' || name[i] == '-' ||
		     (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		     (name[i] >= '0' && name[i] <= '9');
	if (!ok) {
		lua_pushfstring(L,
		                "\n\tno module '%s': module names are letters, digits, '_', '-' "
		                "and '.' (scripts require modules from their own directory only)",
		                name);
		return 1;
	}
	lua_getfield(L, LUA_REGISTRYINDEX, "stampede.dir");
	const char *dir = lua_tostring(L, -1);
	const char *rel = luaL_gsub(L, name, ".", "/");
	static const char *const forms[] = { "%s/%s.lua", "%s/%s/init.lua" };
	for (int i = 0; i < 2; i++) {
		const char *path = lua_pushfstring(L, forms[i], dir, rel);
		FILE *f = fopen(path, "r");
		if (!f) {
			lua_pop(L, 1);
			continue;
		}
		fclose(f);
		if (luaL_loadfilex(L, path, "t") != LUA_OK)
			return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s",
			                  name, path, lua_tostring(L, -1));
		lua_pushvalue(L, -2); /* the path: the loader's second argument */
		return 2;
	}
	lua_pushfstring(L, "\n\tno file '%s/%s.lua'\n\tno file '%s/%s/init.lua'", dir, rel, dir,
	                rel);
	return 1;
}

/* The k6-like sandbox: VU code gets no process control, no file system and no debug
 * library. os keeps time, clock, date, difftime and getenv; io keeps write (to stdout);
 * debug keeps traceback; everything else of os, io and debug, dofile, loadfile and C
 * modules (package.loadlib, package.cpath) raise a clear error when called. */
static void sandbox(lua_State *L)
{
	static const char *const os_out[] = { "exit",    "execute",   "remove", "rename",
		                              "tmpname", "setlocale", NULL };
	static const char *const io_out[] = { "open",   "popen", "lines",   "read", "input",
		                              "output", "close", "tmpfile", "type", NULL };
	lua_getglobal(L, "os");
	for (const char *const *n = os_out; *n; n++)
		forbid(L, lua_gettop(L), "os", *n);
	lua_pop(L, 1);
	lua_getglobal(L, "io");
	for (const char *const *n = io_out; *n; n++)
		forbid(L, lua_gettop(L), "io", *n);
	lua_pushnil(L);
	lua_setfield(L, -2, "stdin");
	lua_pushnil(L);
	lua_setfield(L, -2, "stderr");
	lua_pop(L, 1);
	/* io.stdout's metatable is out of reach: a __gc rawset into it would run, hook-less,
	 * when the state closes (setmetatable's own __gc refusal cannot see it) */
	luaL_getmetatable(L, LUA_FILEHANDLE);
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);
	lua_createtable(L, 0, 1); /* debug: traceback only */
	lua_getglobal(L, "debug");
	lua_getfield(L, -1, "traceback");
	lua_setfield(L, -3, "traceback");
	lua_pop(L, 1);
	lua_setglobal(L, "debug");
	lua_pushglobaltable(L);
	forbid(L, lua_gettop(L), NULL, "dofile");
	forbid(L, lua_gettop(L), NULL, "loadfile");
	lua_getfield(L, -1, "load");
	lua_pushcclosure(L, l_load_text, 1);
	lua_setfield(L, -2, "load");
	lua_pop(L, 1);
	lua_getglobal(L, "string"); /* no binary chunks to make either */
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_pop(L, 1);
	lua_getglobal(L, "package");
	forbid(L, lua_gettop(L), "package", "loadlib");
	forbid(L, lua_gettop(L), "package", "searchpath");
	lua_pushstring(L, "");
	lua_setfield(L, -2, "cpath");
	lua_getfield(L, -1, "loaded"); /* require "debug" etc. give the sandboxed tables */
	lua_getglobal(L, "debug");
	lua_setfield(L, -2, "debug");
	lua_getglobal(L, "io");
	lua_setfield(L, -2, "io");
	lua_getglobal(L, "os");
	lua_setfield(L, -2, "os");
	lua_getglobal(L, "string");
	lua_setfield(L, -2, "string");
	lua_pop(L, 1);
	lua_createtable(L, 2, 0); /* searchers: package.preload, then the script's directory */
	lua_getfield(L, -2, "searchers");
	lua_rawgeti(L, -1, 1);
	lua_rawseti(L, -3, 1);
	lua_pop(L, 1);
	lua_pushcfunction(L, l_search_dir);
	lua_rawseti(L, -2, 2);
	lua_setfield(L, -2, "searchers");
	lua_pop(L, 1);
}

/* print(...): Lua's print, but one write per line, so that the lines of VUs running on
 * several worker threads never interleave (k6's console.log is line-atomic too). */
static int l_print(lua_State *L)
{
	int n = lua_gettop(L);
	luaL_checkstack(L, n, "too many arguments to print");
	for (int i = 1; i <= n; i++) /* __tostring may raise: convert all before writing */
		luaL_tolstring(L, i, NULL);
	flockfile(stdout); /* the line is written whole; strings are not copied */
	for (int i = 1; i <= n; i++) {
		size_t len;
		const char *s = lua_tolstring(L, n + i, &len);
		if (i > 1)
			putc_unlocked('\t', stdout);
		fwrite_unlocked(s, 1, len, stdout);
	}
	putc_unlocked('\n', stdout);
	fflush_unlocked(stdout);
	funlockfile(stdout);
	return 0;
}

static void lw_open_libs(struct lw *lw)
{
	lua_State *L = lw->L;
	luaL_openlibs(L);
	sandbox(L);
	lua_register(L, "print", l_print);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, "stampede.open_cache");
	lua_pushstring(L, lw->sc->dir);
	lua_setfield(L, LUA_REGISTRYINDEX, "stampede.dir");
	lua_newtable(L); /* the VUs' threads, a weak set */
	lua_newtable(L);
	lua_pushstring(L, "k");
	lua_setfield(L, -2, "__mode");
	lua_setmetatable(L, -2);
	lua_setfield(L, LUA_REGISTRYINDEX, VU_THREADS);

	/* package.path documents where require looks (the searcher ignores it) */
	lua_getglobal(L, "package");
	lua_pushfstring(L, "%s/?.lua;%s/?/init.lua", lw->sc->dir, lw->sc->dir);
	lua_setfield(L, -2, "path");
	lua_getfield(L, -1, "preload");
	lua_pushcfunction(L, luaopen_stampede_http);
	lua_setfield(L, -2, "stampede.http");
	lua_pushcfunction(L, luaopen_stampede_metrics);
	lua_setfield(L, -2, "stampede.metrics");
	lua_pushcfunction(L, luaopen_stampede_json);
	lua_setfield(L, -2, "stampede.json");
	lua_pushcfunction(L, luaopen_stampede_data);
	lua_setfield(L, -2, "stampede.data");
	lua_pushcfunction(L, luaopen_stampede_ws);
	lua_setfield(L, -2, "stampede.ws");
	lua_pop(L, 2);

	/* the stampede global */
	lua_newtable(L);
	lua_pushcfunction(L, l_sleep);
	lua_setfield(L, -2, "sleep");
	lua_pushcfunction(L, l_fail);
	lua_setfield(L, -2, "fail");
	lua_pushcfunction(L, l_abort);
	lua_setfield(L, -2, "abort");
	lua_preset_register(L);
	lua_newtable(L); /* stampede.env: a proxy over the scenario's env, then the process's */
	lua_newtable(L);
	json_to_lua(L, lw->sc->env);
	lua_pushcclosure(L, l_env_index, 1);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	lua_setfield(L, -2, "env");
	push_proxy(L, l_vu_index);
	lua_setfield(L, -2, "vu");
	push_proxy(L, l_scenario_index);
	lua_setfield(L, -2, "scenario");
	lua_setglobal(L, "stampede");
	lua_pushcfunction(L, l_open);
	lua_setglobal(L, "open");

	/* the prelude, with its C helpers */
	if (luaL_loadbuffer(L, prelude, sizeof(prelude) - 1, "=prelude") != LUA_OK) {
		fprintf(stderr, "stampede: internal error: %s\n", lua_tostring(L, -1));
		abort();
	}
	lua_newtable(L);
	static const luaL_Reg helpers[] = {
		{ "group_push", l_group_push },
		{ "group_pop", l_group_pop },
		{ "record_check", l_record_check },
		{ "iteration_elapsed", l_iteration_elapsed },
		{ NULL, NULL },
	};
	luaL_setfuncs(L, helpers, 0);
	lua_getglobal(L, "stampede");
	lua_getfield(L, LUA_REGISTRYINDEX, VU_THREADS);
	if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
		fprintf(stderr, "stampede: internal error: %s\n", lua_tostring(L, -1));
		abort();
	}
}

struct lw *lw_new(struct script *sc, struct worker *w)
{
	struct lw *lw = xcalloc(1, sizeof(*lw));
	lw->sc = sc;
	lw->w = w;
	lw->L = lua_newstate(lw_alloc, lw);
	if (!lw->L) {
		free(lw);
		return NULL;
	}
	lua_atpanic(lw->L, lw_panic);
	/* every thread made later (VUs, the script's coroutines) inherits the hook */
	lua_sethook(lw->L, lw_hook, LUA_MASKCOUNT, HOOK_COUNT);
	*(struct lvu **)lua_getextraspace(lw->L) = NULL;
	lw_open_libs(lw);
	/* Response tables die young: the generational collector keeps the heap near the live
	 * size, which is what 10,000 idle VUs need. */
	lua_gc(lw->L, LUA_GCGEN, 0, 0);
	char chunk[4200];
	const char *base = strrchr(sc->path, '/');
	/* Lua keeps 60 characters of a chunk name: prefer the file name to a cut path */
	snprintf(chunk, sizeof(chunk), "@%s",
	         strlen(sc->path) <= 55 || !base ? sc->path : base + 1);
	if (luaL_loadbuffer(lw->L, sc->source, sc->source_len, chunk) != LUA_OK ||
	    lua_pcall(lw->L, 0, 1, 0) != LUA_OK) {
		fprintf(stderr, "stampede: %s\n", lua_tostring(lw->L, -1));
		lw_free(lw);
		return NULL;
	}
	lw->factory_ref = luaL_ref(lw->L, LUA_REGISTRYINDEX);
	return lw;
}

void lw_free(struct lw *lw)
{
	if (!lw)
		return;
	if (lw->L) {
		lw->cleanup = true; /* finalizers that loop end at once */
		lw->root = NULL;
		lw->stopping = false;
		lua_sethook(lw->L, lw_hook, LUA_MASKCOUNT, 1);
		lua_close(lw->L);
	}
	for (struct lw_target *t = lw->targets, *n; t; t = n) {
		n = t->next;
		free(t->t.host);
		free(t->t.key);
		free(t);
	}
	free(lw);
}

int lw_init_vu(struct lw *lw, struct lvu *lv)
{
	lua_State *L = lw->L;
	lv->lw = lw;
	lv->co = lua_newthread(L);
	lv->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	*(struct lvu **)lua_getextraspace(lv->co) = lv;
	/* the script must not resume or close it (the prelude's coroutine.resume/close) */
	lua_getfield(L, LUA_REGISTRYINDEX, VU_THREADS);
	lua_rawgeti(L, LUA_REGISTRYINDEX, lv->co_ref);
	lua_pushboolean(L, 1);
	lua_rawset(L, -3);
	lua_pop(L, 1);
	lua_newtable(L); /* the VU's globals, falling back to the shared ones */
	lua_newtable(L);
	lua_pushglobaltable(L);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	lv->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lv->data_ref = LUA_NOREF;
	lv->scen_env_ref = LUA_NOREF;

	lua_State *co = lv->co;
	lua_rawgeti(co, LUA_REGISTRYINDEX, lw->factory_ref);
	lua_rawgeti(co, LUA_REGISTRYINDEX, lv->env_ref);
	int nres = 0;
	lw_enter(lw, NULL, co, now_us());
	int st = lua_resume(co, L, 1, &nres);
	lw_leave(lw);
	if (st == LUA_OK) {
		lua_settop(co, 0);
		return 0;
	}
	if (st == LUA_YIELD)
		lua_pushstring(L, "the init context cannot sleep or make requests");
	else
		lua_pushstring(L, lua_tostring(co, -1) ? lua_tostring(co, -1) : "error in init");
	lw_reset_thread(lw, co);
	return -1;
}

/* --- metrics from scripts --------------------------------------------------------- */

int lvu_base_tags(struct lvu *lv, struct tag *tags, int max)
{
	const struct scenario *sc = vu_scenario(lv->v);
	int n = 0;
	tags[n++] = (struct tag){ "scenario", sc->name };
	tags[n++] = (struct tag){ "group", lvu_group(lv) };
	for (int i = 0; i < sc->ntags && n < max; i++)
		tags[n++] = sc->tags[i];
	return n;
}

void lvu_record(lua_State *L, struct lvu *lv, int metric, enum metric_type type, double value,
                int tags_idx, const char *check)
{
	if (!lv->v)
		return;
	struct worker *w = lv->v->w;
	struct tag tags[TAG_MAX];
	int n = lvu_base_tags(lv, tags, TAG_MAX - 1);
	if (check)
		tags[n++] = (struct tag){ "check", check };
	if (tags_idx) {
		lua_pushnil(L);
		while (lua_next(L, tags_idx) && n < TAG_MAX) {
			if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING)
				tags[n++] =
				    (struct tag){ lua_tostring(L, -2), lua_tostring(L, -1) };
			lua_pop(L, 1);
		}
	}
	int sid = worker_series(w, metric, tags, n);
	struct sink *s = worker_sink(w);
	switch (type) {
	case MT_COUNTER:
		sink_add(s, sid, value);
		break;
	case MT_RATE:
		sink_rate(s, sid, value != 0);
		break;
	case MT_GAUGE:
		sink_gauge(s, sid, value);
		break;
	case MT_TREND:
		/* a double beyond int64_t would make llround undefined (it gave 0) */
		sink_trend(s, sid,
		           value >= (double)HDR_HIGHEST ? HDR_HIGHEST
		           : value > 0                  ? (int64_t)llround(value)
		                                        : 0);
		break;
	}
}

/* --- VUs -------------------------------------------------------------------------- */

static void capture_setup_result(struct lvu *lv)
{
	struct script *sc = lv->lw->sc;
	lua_State *co = lv->co;
	char *text = NULL;
	if (lua_gettop(co) >= 1 && !lua_isnil(co, 1)) {
		char err[512];
		json_t *j = lua_to_json_protected(co, 1, err, sizeof(err));
		if (j) {
			text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
			json_decref(j);
		} else {
			char msg[600];
			snprintf(msg, sizeof(msg),
			         "setup() returned data that JSON cannot hold: %s", err);
			script_report_error(sc, msg);
			__atomic_store_n(&sc->setup_failed, 1, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_lock(&sc->mu);
	free(sc->setup_json);
	sc->setup_json = text ? text : xstrdup("null");
	pthread_mutex_unlock(&sc->mu);
}

void lvu_resume(struct lvu *lv, int nargs)
{
	lua_State *co = lv->co;
	struct lw *lw = lv->lw;
	int nres = 0;
	lv->waiting = LW_NONE;
	lw_enter(lw, lv->v ? lv : NULL, co, lv->v ? loop_now(worker_loop(lv->v->w)) : now_us());
	int st = lua_resume(co, lw->L, nargs, &nres);
	bool stopped = lw_leave(lw);
	if (stopped && st != LUA_OK && st != LUA_YIELD && lv->v) {
		/* A stop ended the iteration where it could not yield: the worker's hard stop,
		 * due now, interrupts it (and counts it as interrupted). */
		lw_reset_thread(lw, co);
		*(struct lvu **)lua_getextraspace(co) = lv;
		lua_ws_vu_end(lv, true);
		lv->waiting = LW_STOPPED;
		lv->in_iteration = false;
		group_reset(lv);
		return;
	}
	if (st == LUA_YIELD) {
		if (lv->waiting != LW_NONE) {
			lua_pop(co, nres);
			return;
		}
		lua_settop(co, 0);
		lua_pushstring(co, "coroutine.yield() outside a coroutine of the script's own");
		st = LUA_ERRRUN;
	}
	bool failed = false;
	if (st == LUA_OK) {
		if (lv->is_setup)
			capture_setup_result(lv);
		lua_settop(co, 0);
	} else {
		const char *msg = lua_tostring(co, -1);
		if (!msg)
			msg = "(error object is not a string)";
		if (!strstr(msg, ABORT_MARKER))
			script_report_error(lv->lw->sc, msg);
		if (lv->v && vu_scenario(lv->v)->lifecycle)
			__atomic_store_n(&lv->lw->sc->setup_failed, 1, __ATOMIC_RELEASE);
		lw_reset_thread(lw, co);
		*(struct lvu **)lua_getextraspace(co) = lv;
		failed = true;
	}
	lua_ws_vu_end(lv, false);
	lv->in_iteration = false;
	group_reset(lv);
	if (lv->v) {
		if (lv->lw->sc->no_vu_connection_reuse)
			connpool_close_idle(worker_net(lv->v->w), &lv->v->pool);
		vu_iteration_end(lv->v, failed);
	}
}

static void lvu_on_timer(struct loop_timer *t, void *ud)
{
	struct lvu *lv = ud;
	if (lv->waiting == LW_SLEEP || lv->waiting == LW_PREEMPT || lv->waiting == LW_WS)
		lvu_resume(lv, 0);
}

static int sb_vu_init(struct vu *v)
{
	struct worker *w = v->w;
	struct script *sc = worker_cfg(w)->body_ctx;
	struct lw *lw = worker_body_state(w);
	if (!lw) {
		lw = lw_new(sc, w);
		if (!lw)
			return -EINVAL;
		worker_set_body_state(w, lw);
	}
	struct lvu *lv = xcalloc(1, sizeof(*lv));
	lv->v = v;
	loop_timer_init(&lv->timer, lvu_on_timer, lv);
	/* init code stops with the test, at the latest at the scenario's end */
	lw_limit(lw, worker_engine(w)->start_us + scenario_end_us(vu_scenario(v)), STOP_MARKER,
	         false);
	int rc = lw_init_vu(lw, lv);
	lw_limit(lw, 0, NULL, false);
	if (rc < 0) {
		const char *msg = lua_tostring(lw->L, -1);
		bool stopped = msg && strstr(msg, STOP_MARKER);
		if (vu_scenario(v)->lifecycle) { /* setup() or teardown() cannot run: it failed */
			char why[200];
			snprintf(why, sizeof(why), "%s(): the init code did not finish in time",
			         vu_scenario(v)->exec);
			script_report_error(sc, stopped ? why : msg);
			__atomic_store_n(&sc->setup_failed, 1, __ATOMIC_RELEASE);
		} else if (!stopped) {
			script_report_error(sc, msg ? msg : "(error object is not a string)");
		}
		lua_pop(lw->L, 1);
		free(lv);
		return -EINVAL;
	}
	lv->is_setup = strcmp(vu_scenario(v)->exec, "setup") == 0 &&
	               strcmp(vu_scenario(v)->name, "setup") == 0;
	v->body_state = lv;
	return 0;
}

static void sb_vu_free(struct vu *v)
{
	struct lvu *lv = v->body_state;
	if (!lv)
		return;
	loop_timer_cancel(worker_loop(v->w), &lv->timer);
	lua_ws_vu_end(lv, true);
	lua_http_vu_free(lv);
	free(lv->group_buf);
	free(lv->checks);
	free(lv);
	v->body_state = NULL;
}

/* Push the function the VU's environment (env_ref) or the shared globals name, without
 * metamethods (this runs outside any protected call), or nil. */
static void push_env_function(lua_State *L, int env_ref, const char *name)
{
	lua_rawgeti(L, LUA_REGISTRYINDEX, env_ref);
	lua_pushstring(L, name);
	lua_rawget(L, -2);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_pushglobaltable(L);
		lua_pushstring(L, name);
		lua_rawget(L, -2);
		lua_remove(L, -2);
	}
	lua_remove(L, -2);
}

static void sb_start(struct vu *v)
{
	struct lvu *lv = v->body_state;
	struct script *sc = lv->lw->sc;
	const struct scenario *scn = vu_scenario(v);
	lua_State *co = lv->co;

	lua_settop(co, 0);
	push_env_function(co, lv->env_ref, scn->exec);
	if (!lua_isfunction(co, -1)) {
		char msg[256];
		snprintf(msg, sizeof(msg),
		         "%s: scenario '%s' runs function '%s', which the script "
		         "does not define",
		         sc->path, scn->name, scn->exec);
		lua_settop(co, 0);
		script_report_error(sc, msg);
		vu_iteration_end(v, true);
		return;
	}
	/* the setup() data, decoded once per VU */
	if (!lv->is_setup && lv->data_ref == LUA_NOREF) {
		pthread_mutex_lock(&sc->mu);
		json_t *j =
		    sc->setup_json ? json_loads(sc->setup_json, JSON_DECODE_ANY, NULL) : NULL;
		pthread_mutex_unlock(&sc->mu);
		if (j) {
			json_to_lua(co, j);
			json_decref(j);
		} else {
			lua_pushnil(co);
		}
		lv->data_ref = luaL_ref(co, LUA_REGISTRYINDEX);
	}
	if (lv->is_setup)
		lua_pushnil(co);
	else
		lua_rawgeti(co, LUA_REGISTRYINDEX, lv->data_ref);
	lv->in_iteration = true;
	group_reset(lv);
	lv->iter_start_us = v->t_iter;
	lvu_resume(lv, 1);
}

/* Requests in flight the server has (partly) received are counted as interrupted, so that
 * counts still match the server's log. */
void lua_http_abort_all(struct lvu *lv);

static void sb_abort(struct vu *v)
{
	struct lvu *lv = v->body_state;
	if (!lv)
		return;
	lua_http_abort_all(lv);
	loop_timer_cancel(worker_loop(v->w), &lv->timer);
	lw_reset_thread(lv->lw, lv->co);
	*(struct lvu **)lua_getextraspace(lv->co) = lv;
	lua_ws_vu_end(lv, true);
	lv->waiting = LW_NONE;
	lv->in_iteration = false;
	group_reset(lv);
}

void script_worker_free(struct worker *w)
{
	struct lw *lw = worker_body_state(w);
	lw_free(lw);
	worker_set_body_state(w, NULL);
}

const struct vu_body script_body = {
	.vu_init = sb_vu_init,
	.vu_free = sb_vu_free,
	.start = sb_start,
	.abort = sb_abort,
};
