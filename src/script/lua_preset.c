/*
 * lua_preset.c: the test-type presets and SLOs for scripts (docs/scripting.md, "Test types
 * and SLOs"): stampede.preset{...} returns a k6 scenario, stampede.slo("...") a thresholds
 * table; both note what they built in the Lua registry so that the run's options carry
 * testType and slo (script_load), for the verdicts (analysis/verdict.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/preset.h"
#include "script/lua_rt.h"
#include "util/common.h"
#include "util/slo.h"

/* A duration field of t at idx: a string ("30s") or a number of seconds; 0 when absent. */
static int64_t opt_duration(lua_State *L, int idx, const char *key)
{
	int64_t us = 0;
	int type = lua_getfield(L, idx, key);
	if (type == LUA_TNUMBER) {
		double s = lua_tonumber(L, -1);
		if (!(s >= 1e-6) || s > 1e7)
			luaL_error(L, "stampede.preset: %s must be from 1 us to 1e7 seconds", key);
		us = (int64_t)llround(s * 1e6);
	} else if (type == LUA_TSTRING) {
		if (parse_duration(lua_tostring(L, -1), &us) < 0 || us <= 0)
			luaL_error(L,
			           "stampede.preset: %s: '%s' is not a duration (e.g. '30s', '5m')",
			           key, lua_tostring(L, -1));
	} else if (type != LUA_TNIL) {
		luaL_error(L, "stampede.preset: %s must be a duration string or seconds", key);
	}
	lua_pop(L, 1);
	return us;
}

static double opt_number(lua_State *L, int idx, const char *key)
{
	double v = 0;
	int type = lua_getfield(L, idx, key);
	if (type == LUA_TNUMBER)
		v = lua_tonumber(L, -1);
	else if (type != LUA_TNIL)
		luaL_error(L, "stampede.preset: %s must be a number", key);
	lua_pop(L, 1);
	return v;
}

/* Keep json (its text) in the registry under key, for script_load to read back. */
static void note(lua_State *L, const char *key, json_t *json)
{
	char *text = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(json);
	lua_pushstring(L, text ? text : "null");
	free(text);
	lua_setfield(L, LUA_REGISTRYINDEX, key);
}

/* stampede.preset{type = "stress", rate = 100 | vus = 10, ramp, hold, rampDown, peak, steps,
 * stepDuration, warmup, observe, duration}: the scenario of that test (engine/preset.h). */
static int l_preset(lua_State *L)
{
	struct preset_opts o = { 0 };
	struct preset_plan p;
	char err[256];

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_getfield(L, 1, "type");
	if (!lua_isstring(L, -1) || test_type_parse(lua_tostring(L, -1), &o.type) < 0)
		return luaL_error(L,
		                  "stampede.preset: type must be smoke, load, stress, spike, soak "
		                  "or breakpoint");
	lua_pop(L, 1);
	double rate = opt_number(L, 1, "rate"), vus = opt_number(L, 1, "vus");
	if (rate && vus)
		return luaL_error(L, "stampede.preset: give the level once: rate (open model) or "
		                     "vus (closed model)");
	o.open = rate != 0;
	o.level = rate ? rate : vus ? vus : o.type == TT_SMOKE ? 1 : 0;
	o.ramp_us = opt_duration(L, 1, "ramp");
	o.hold_us = opt_duration(L, 1, "hold");
	int64_t duration = opt_duration(L, 1, "duration");
	if (duration && o.hold_us)
		return luaL_error(L, "stampede.preset: duration and hold both set the length: give "
		                     "one");
	if (duration && (o.type == TT_STRESS || o.type == TT_SPIKE))
		return luaL_error(L, "stampede.preset: duration does not apply to %s (use %s)",
		                  test_type_name(o.type),
		                  o.type == TT_STRESS ? "stepDuration" : "hold and observe");
	if (duration)
		o.hold_us = duration;
	lua_getfield(L, 1, "rampDown");
	bool no_ramp_down = lua_isnumber(L, -1) && lua_tonumber(L, -1) == 0;
	lua_pop(L, 1);
	o.ramp_down_us = no_ramp_down ? -1 : opt_duration(L, 1, "rampDown");
	o.step_us = opt_duration(L, 1, "stepDuration");
	o.warmup_us = opt_duration(L, 1, "warmup");
	o.observe_us = opt_duration(L, 1, "observe");
	o.peak = opt_number(L, 1, "peak");
	double steps = opt_number(L, 1, "steps");
	if (steps != floor(steps) || steps < 0 || steps > 20)
		return luaL_error(L, "stampede.preset: steps must be a whole number from 2 to 20");
	o.steps = (int)steps;
	const char *unused = preset_unused(&o);
	if (unused) /* the Lua field names: rampDown, stepDuration */
		return luaL_error(L, "stampede.preset: %s does not apply to %s",
		                  !strcmp(unused, "ramp-down")       ? "rampDown"
		                  : !strcmp(unused, "step-duration") ? "stepDuration"
		                                                     : unused,
		                  test_type_name(o.type));
	if (preset_build(&o, &p, err, sizeof(err)) < 0) {
		/* the messages name the CLI's flags: "--peak 1" reads "peak 1" here */
		char lua_err[256];
		size_t k = 0;
		for (const char *c = err; *c && k + 1 < sizeof(lua_err); c++)
			if (!(c[0] == '-' && c[1] == '-') &&
			    !(c[0] == '-' && c > err && c[-1] == '-'))
				lua_err[k++] = *c;
		lua_err[k] = '\0';
		return luaL_error(L, "stampede.preset: %s", lua_err);
	}

	/* the scenario, as k6 writes it */
	char d[32];
	/* k6's arrival-rate targets are whole iterations per timeUnit: a fractional rate
	 * (2.5/s) runs as whole ones over a longer unit (25 per 10s) */
	double unit = 1;
	for (bool frac = o.open; frac && unit < 1000; unit *= 10) {
		frac = fabs(p.start * unit - round(p.start * unit)) > 1e-9;
		for (int i = 0; i < p.nstages; i++)
			frac = frac || fabs(p.stage[i].target * unit -
			                    round(p.stage[i].target * unit)) > 1e-9;
		if (!frac)
			break;
	}
	lua_createtable(L, 0, 6);
	lua_pushstring(L, o.open ? "ramping-arrival-rate" : "ramping-vus");
	lua_setfield(L, -2, "executor");
	if (o.open) {
		lua_pushnumber(L, round(p.start * unit));
		lua_setfield(L, -2, "startRate");
		lua_pushfstring(L, "%ds", (int)unit);
		lua_setfield(L, -2, "timeUnit");
		double peak = p.start;
		for (int i = 0; i < p.nstages; i++)
			peak = MAX(peak, p.stage[i].target);
		lua_pushinteger(L, (lua_Integer)MIN(MAX(ceil(peak), 1), 100));
		lua_setfield(L, -2, "preAllocatedVUs");
		lua_pushinteger(L, (lua_Integer)MAX(1000, ceil(peak)));
		lua_setfield(L, -2, "maxVUs");
	} else {
		lua_pushinteger(L, (lua_Integer)p.start);
		lua_setfield(L, -2, "startVUs");
	}
	lua_createtable(L, p.nstages, 0);
	for (int i = 0; i < p.nstages; i++) {
		lua_createtable(L, 0, 2);
		snprintf(d, sizeof(d), "%lldus", (long long)p.stage[i].duration_us);
		lua_pushstring(L, d);
		lua_setfield(L, -2, "duration");
		lua_pushnumber(L,
		               o.open ? round(p.stage[i].target * unit) : floor(p.stage[i].target));
		lua_setfield(L, -2, "target");
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -2, "stages");
	/* one preset per run: the verdicts follow one schedule */
	lua_getfield(L, LUA_REGISTRYINDEX, "stampede.testType");
	bool again = !lua_isnil(L, -1);
	lua_pop(L, 1);
	note(L, "stampede.testType", again ? json_string("several") : preset_json(&p));
	return 1;
}

/* stampede.slo("p95<200ms,errors<0.1%" [, {preset = "user-facing", abortOnFail = true,
 * delayAbortEval = "10s", window = "10s"}]): a thresholds table for options.thresholds. */
static int l_slo(lua_State *L)
{
	struct slo_set set = { 0 };
	char err[256];
	const char *spec = luaL_optstring(L, 1, NULL);
	bool has_opts = lua_istable(L, 2);
	if (has_opts) {
		lua_getfield(L, 2, "preset");
		if (lua_isstring(L, -1) &&
		    slo_preset(lua_tostring(L, -1), &set, err, sizeof(err)) < 0)
			return luaL_error(L, "stampede.slo: %s", err);
		lua_pop(L, 1);
	}
	if (spec && slo_parse(spec, &set, err, sizeof(err)) < 0)
		return luaL_error(L, "stampede.slo: %s", err);
	if (set.n == 0)
		return luaL_error(L,
		                  "stampede.slo: no objective (e.g. stampede.slo(\"p95<200ms\") or "
		                  "stampede.slo(nil, {preset = \"user-facing\"}))");
	lua_newtable(L); /* { metric = { threshold, ... } } */
	json_t *texts = json_array();
	for (int i = 0; i < set.n; i++) {
		char thr[128];
		slo_threshold(&set.item[i], thr, sizeof(thr));
		char *colon = strchr(thr, ':');
		*colon = '\0';
		if (lua_getfield(L, -1, thr) == LUA_TNIL) {
			lua_pop(L, 1);
			lua_newtable(L);
			lua_pushvalue(L, -1);
			lua_setfield(L, -3, thr);
		}
		lua_createtable(L, 0, 4);
		lua_pushstring(L, colon + 2);
		lua_setfield(L, -2, "threshold");
		if (has_opts) {
			static const char *const keys[] = { "abortOnFail", "delayAbortEval",
				                            "window" };
			for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
				lua_getfield(L, 2, keys[k]);
				lua_setfield(L, -2, keys[k]);
			}
		}
		lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
		lua_pop(L, 1);
		json_array_append_new(texts, json_string(set.item[i].text));
	}
	note(L, "stampede.slo", texts);
	return 1;
}

void lua_preset_register(lua_State *L)
{
	lua_pushcfunction(L, l_preset);
	lua_setfield(L, -2, "preset");
	lua_pushcfunction(L, l_slo);
	lua_setfield(L, -2, "slo");
}
