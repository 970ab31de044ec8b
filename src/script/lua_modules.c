/* lua_modules.c: stampede.metrics, stampede.json and stampede.data, and Lua <-> JSON. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "script/lua_rt.h"
#include "util/common.h"

/* --- Lua <-> JSON ----------------------------------------------------------------- */

static json_t *to_json(lua_State *L, int idx, int depth)
{
	idx = lua_absindex(L, idx);
	if (depth > 64)
		luaL_error(L, "json: nesting too deep (a cycle?)");
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		return json_null();
	case LUA_TBOOLEAN:
		return json_boolean(lua_toboolean(L, idx));
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return json_integer(lua_tointeger(L, idx));
		{
			double d = lua_tonumber(L, idx);
			if (!isfinite(d))
				luaL_error(L, "json: cannot encode %f", d);
			return json_real(d);
		}
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		json_t *j = json_stringn(s, n);
		if (!j)
			luaL_error(L, "json: string is not valid UTF-8");
		return j;
	}
	case LUA_TTABLE: {
		lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
		size_t count = 0;
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			count++;
			lua_pop(L, 1);
		}
		if (n > 0 && (size_t)n == count) {
			json_t *a = json_array();
			for (lua_Integer i = 1; i <= n; i++) {
				lua_rawgeti(L, idx, i);
				json_array_append_new(a, to_json(L, -1, depth + 1));
				lua_pop(L, 1);
			}
			return a;
		}
		json_t *o = json_object();
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			char key[64];
			const char *k;
			if (lua_type(L, -2) == LUA_TSTRING) {
				k = lua_tostring(L, -2);
			} else if (lua_type(L, -2) == LUA_TNUMBER) {
				if (lua_isinteger(L, -2))
					snprintf(key, sizeof(key), "%lld",
					         (long long)lua_tointeger(L, -2));
				else
					snprintf(key, sizeof(key), "%.17g", lua_tonumber(L, -2));
				k = key;
			} else {
				json_decref(o);
				luaL_error(L, "json: table keys must be strings or numbers");
				return NULL;
			}
			json_object_set_new(o, k, to_json(L, -1, depth + 1));
			lua_pop(L, 1);
		}
		return o;
	}
	default:
		luaL_error(L, "json: cannot encode a %s", luaL_typename(L, idx));
		return NULL;
	}
}

json_t *lua_to_json(lua_State *L, int idx)
{
	return to_json(L, idx, 0);
}

static int p_to_json(lua_State *L)
{
	json_t **out = lua_touserdata(L, 2);
	*out = to_json(L, 1, 0);
	return 0;
}

json_t *lua_to_json_protected(lua_State *L, int idx, char *err, size_t errlen)
{
	json_t *out = NULL;
	idx = lua_absindex(L, idx);
	lua_pushcfunction(L, p_to_json);
	lua_pushvalue(L, idx);
	lua_pushlightuserdata(L, &out);
	if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
		snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
		lua_pop(L, 1);
		return NULL;
	}
	return out;
}

void json_to_lua(lua_State *L, const json_t *j)
{
	luaL_checkstack(L, 4, "json too deep");
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *v;
		lua_createtable(L, 0, (int)json_object_size(j));
		json_object_foreach((json_t *)j, k, v)
		{
			json_to_lua(L, v);
			lua_setfield(L, -2, k);
		}
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *v;
		lua_createtable(L, (int)json_array_size(j), 0);
		json_array_foreach(j, i, v)
		{
			json_to_lua(L, v);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	}
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		lua_pushinteger(L, json_integer_value(j));
		break;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(j));
		break;
	case JSON_TRUE:
		lua_pushboolean(L, 1);
		break;
	case JSON_FALSE:
		lua_pushboolean(L, 0);
		break;
	default:
		lua_pushnil(L);
		break;
	}
}

static int l_json_encode(lua_State *L)
{
	luaL_checkany(L, 1);
	json_t *j = lua_to_json(L, 1);
	size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17);
	if (lua_toboolean(L, 2))
		flags = JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17);
	char *s = json_dumps(j, flags);
	json_decref(j);
	if (!s)
		return luaL_error(L, "json.encode failed");
	lua_pushstring(L, s);
	free(s);
	return 1;
}

static int l_json_decode(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	json_error_t e;
	json_t *j = json_loadb(s, n, JSON_DECODE_ANY, &e);
	if (!j)
		return luaL_error(L, "json.decode: %s at line %d column %d", e.text, e.line,
		                  e.column);
	json_to_lua(L, j);
	json_decref(j);
	return 1;
}

int luaopen_stampede_json(lua_State *L)
{
	static const luaL_Reg fns[] = { { "encode", l_json_encode },
		                        { "decode", l_json_decode },
		                        { NULL, NULL } };
	luaL_newlib(L, fns);
	return 1;
}

/* --- custom metrics --------------------------------------------------------------- */

#define METRIC_MT "stampede.metric"

struct lmetric {
	int id;
	enum metric_type type;
	bool is_time;
};

/* The registry, when running inside a test; the options state records declarations. */
static struct registry *metric_registry(lua_State *L)
{
	struct lvu *lv = lvu_of(L);
	if (lv && lv->v)
		return worker_engine(lv->v->w)->reg;
	return NULL;
}

static bool valid_metric_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 128 ||
	    !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static int new_metric(lua_State *L, enum metric_type type)
{
	const char *name = luaL_checkstring(L, 1);
	bool is_time = type == MT_TREND && lua_toboolean(L, 2);
	if (!valid_metric_name(name))
		return luaL_error(L,
		                  "invalid metric name '%s': use letters, digits and '_', "
		                  "starting with a letter or '_'",
		                  name);
	struct lvu *lv = lvu_of(L);
	struct lw *lw = NULL;
	if (lv)
		lw = lv->lw;
	struct lmetric *m = lua_newuserdatauv(L, sizeof(*m), 0);
	m->type = type;
	m->is_time = is_time;
	m->id = -1;
	struct registry *reg = metric_registry(L);
	if (reg) {
		m->id = registry_metric(reg, name, type,
		                        is_time            ? MU_TIME_US
		                        : type == MT_TREND ? MU_MILLI
		                                           : MU_NONE);
		if (m->id == -EEXIST)
			return luaL_error(L, "metric '%s' already exists with another type", name);
	} else if (lw) {
		/* the options pass: remember the declaration for the run */
		struct script *sc = lw->sc;
		bool known = false;
		for (int i = 0; i < sc->nmetrics; i++) {
			if (!strcmp(sc->metrics[i].name, name)) {
				if (sc->metrics[i].type != type)
					return luaL_error(L,
					                  "metric '%s' declared twice with "
					                  "different types",
					                  name);
				known = true;
			}
		}
		if (!known) {
			sc->metrics = xrealloc(sc->metrics,
			                       sizeof(*sc->metrics) * (size_t)(sc->nmetrics + 1));
			sc->metrics[sc->nmetrics++] =
			    (struct metric_decl){ xstrdup(name), type, is_time };
		}
	}
	luaL_setmetatable(L, METRIC_MT);
	return 1;
}

static int l_counter(lua_State *L)
{
	return new_metric(L, MT_COUNTER);
}

static int l_gauge(lua_State *L)
{
	return new_metric(L, MT_GAUGE);
}

static int l_rate(lua_State *L)
{
	return new_metric(L, MT_RATE);
}

static int l_trend(lua_State *L)
{
	return new_metric(L, MT_TREND);
}

static int l_metric_add(lua_State *L)
{
	struct lmetric *m = luaL_checkudata(L, 1, METRIC_MT);
	double v;
	if (m->type == MT_RATE && lua_isboolean(L, 2))
		v = lua_toboolean(L, 2);
	else if (m->type == MT_RATE && lua_isnil(L, 2))
		v = 0;
	else
		v = luaL_checknumber(L, 2);
	if (lua_gettop(L) >= 3 && !lua_isnil(L, 3))
		luaL_checktype(L, 3, LUA_TTABLE);
	struct lvu *lv = lvu_check_iteration(L, "adding to a metric");
	if (m->id < 0 || !lv->v)
		return 0;
	if (m->type == MT_TREND) {
		if (!isfinite(v) || v < 0)
			return luaL_error(L, "trend values must be finite and 0 or more (got %f)",
			                  v);
		v = v * 1000; /* ms -> µs, or value -> milli-units */
	}
	lvu_record(L, lv, m->id, m->type, v, lua_istable(L, 3) ? 3 : 0, NULL);
	return 0;
}

int luaopen_stampede_metrics(lua_State *L)
{
	if (luaL_newmetatable(L, METRIC_MT)) {
		lua_newtable(L);
		lua_pushcfunction(L, l_metric_add);
		lua_setfield(L, -2, "add");
		lua_setfield(L, -2, "__index");
	}
	lua_pop(L, 1);
	static const luaL_Reg fns[] = { { "counter", l_counter },
		                        { "gauge", l_gauge },
		                        { "rate", l_rate },
		                        { "trend", l_trend },
		                        { NULL, NULL } };
	luaL_newlib(L, fns);
	return 1;
}

/* --- shared data files ------------------------------------------------------------ */

/* A file parsed once per process and shared read-only by every VU of every worker. */
struct dataset {
	char *path;
	json_t *rows;   /* array: of objects (csv with a header row) or any JSON values */
	int64_t unique; /* atomic cursor for the "unique" strategy */
	struct dataset *next;
};

static pthread_mutex_t data_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dataset *datasets;

#define DATA_MT "stampede.dataset"

struct ldata {
	struct dataset *d;
	int64_t seq; /* per VU (per Lua state copy) sequential cursor */
};

/* Split one CSV record (RFC 4180 quoting) starting at *p; returns false at the end. */
static bool csv_record(const char **p, const char *end, json_t *fields)
{
	const char *s = *p;
	if (s >= end)
		return false;
	for (;;) {
		char *val = xmalloc((size_t)(end - s) + 1);
		size_t n = 0;
		if (s < end && *s == '"') {
			s++;
			while (s < end) {
				if (*s == '"' && s + 1 < end && s[1] == '"') {
					val[n++] = '"';
					s += 2;
				} else if (*s == '"') {
					s++;
					break;
				} else {
					val[n++] = *s++;
				}
			}
		}
		while (s < end && *s != ',' && *s != '\n' && *s != '\r')
			val[n++] = *s++;
		json_array_append_new(fields, json_stringn(val, n));
		free(val);
		if (s < end && *s == ',') {
			s++;
			continue;
		}
		if (s < end && *s == '\r')
			s++;
		if (s < end && *s == '\n')
			s++;
		break;
	}
	*p = s;
	return true;
}

static json_t *parse_csv(const char *text, size_t len, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) /* a UTF-8 byte order mark */
		p += 3;
	json_t *header = json_array();
	json_t *rows = json_array();
	if (!csv_record(&p, end, header) || json_array_size(header) == 0) {
		snprintf(err, errlen, "no header row");
		json_decref(header);
		json_decref(rows);
		return NULL;
	}
	int line = 1;
	while (p < end) {
		json_t *f = json_array();
		line++;
		csv_record(&p, end, f);
		if (json_array_size(f) == 1 && json_string_length(json_array_get(f, 0)) == 0) {
			json_decref(f); /* blank line */
			continue;
		}
		if (json_array_size(f) != json_array_size(header)) {
			snprintf(err, errlen, "line %d has %zu fields, the header has %zu", line,
			         json_array_size(f), json_array_size(header));
			json_decref(f);
			json_decref(header);
			json_decref(rows);
			return NULL;
		}
		json_t *o = json_object();
		for (size_t i = 0; i < json_array_size(header); i++)
			json_object_set(o, json_string_value(json_array_get(header, i)),
			                json_array_get(f, i));
		json_array_append_new(rows, o);
		json_decref(f);
	}
	json_decref(header);
	return rows;
}

static int open_dataset(lua_State *L, bool csv)
{
	const char *path = luaL_checkstring(L, 1);
	lua_getfield(L, LUA_REGISTRYINDEX, "stampede.dir");
	const char *dir = lua_tostring(L, -1);
	char full[4096];
	if (path[0] == '/' || !dir)
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "%s/%s", dir, path);
	lua_pop(L, 1);

	pthread_mutex_lock(&data_mu);
	struct dataset *d;
	for (d = datasets; d; d = d->next)
		if (!strcmp(d->path, full))
			break;
	if (!d) {
		char err[256] = "";
		json_t *rows = NULL;
		FILE *f = fopen(full, "rb");
		if (!f) {
			snprintf(err, sizeof(err), "%s", strerror(errno));
		} else {
			struct buf b = { 0 };
			char chunk[8192];
			size_t n;
			while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
				buf_add(&b, chunk, n);
			fclose(f);
			if (csv) {
				rows = parse_csv(b.p ? b.p : "", b.len, err, sizeof(err));
			} else {
				json_error_t je;
				rows = json_loadb(b.p ? b.p : "", b.len, 0, &je);
				if (!rows)
					snprintf(err, sizeof(err), "%s at line %d", je.text,
					         je.line);
				else if (!json_is_array(rows)) {
					json_t *a = json_array();
					json_array_append_new(a, rows);
					rows = a;
				}
			}
			buf_free(&b);
		}
		if (!rows) {
			pthread_mutex_unlock(&data_mu);
			return luaL_error(L, "data.%s('%s'): %s", csv ? "csv" : "json", path, err);
		}
		d = xcalloc(1, sizeof(*d));
		d->path = xstrdup(full);
		d->rows = rows;
		d->next = datasets;
		datasets = d;
	}
	pthread_mutex_unlock(&data_mu);
	struct ldata *ld = lua_newuserdatauv(L, sizeof(*ld), 0);
	ld->d = d;
	ld->seq = 0;
	luaL_setmetatable(L, DATA_MT);
	return 1;
}

static int l_csv(lua_State *L)
{
	return open_dataset(L, true);
}

static int l_jsonfile(lua_State *L)
{
	return open_dataset(L, false);
}

static int push_row(lua_State *L, struct ldata *ld, int64_t i)
{
	size_t n = json_array_size(ld->d->rows);
	if (n == 0)
		return luaL_error(L, "data set '%s' is empty", ld->d->path);
	json_to_lua(L, json_array_get(ld->d->rows, (size_t)(i % (int64_t)n)));
	return 1;
}

static int l_data_len(lua_State *L)
{
	struct ldata *ld = luaL_checkudata(L, 1, DATA_MT);
	lua_pushinteger(L, (lua_Integer)json_array_size(ld->d->rows));
	return 1;
}

static int l_data_get(lua_State *L)
{
	struct ldata *ld = luaL_checkudata(L, 1, DATA_MT);
	lua_Integer i = luaL_checkinteger(L, 2);
	if (i < 1 || (size_t)i > json_array_size(ld->d->rows)) {
		lua_pushnil(L);
		return 1;
	}
	return push_row(L, ld, i - 1);
}

/* Sequential per VU: each VU walks the rows from its own offset (VU id). */
static int l_data_next(lua_State *L)
{
	struct ldata *ld = luaL_checkudata(L, 1, DATA_MT);
	struct lvu *lv = lvu_of(L);
	int64_t start = lv && lv->v ? lv->v->id - 1 : 0;
	return push_row(L, ld, start + ld->seq++);
}

/* Unique across all VUs of all workers; nil once every row was handed out. */
static int l_data_unique(lua_State *L)
{
	struct ldata *ld = luaL_checkudata(L, 1, DATA_MT);
	int64_t i = __atomic_fetch_add(&ld->d->unique, 1, __ATOMIC_RELAXED);
	if ((size_t)i >= json_array_size(ld->d->rows)) {
		lua_pushnil(L);
		return 1;
	}
	return push_row(L, ld, i);
}

static int l_data_random(lua_State *L)
{
	struct ldata *ld = luaL_checkudata(L, 1, DATA_MT);
	size_t n = json_array_size(ld->d->rows);
	lua_getglobal(L, "math");
	lua_getfield(L, -1, "random");
	lua_pushinteger(L, (lua_Integer)MAX(n, 1));
	lua_call(L, 1, 1);
	int64_t i = lua_tointeger(L, -1) - 1;
	lua_pop(L, 2);
	return push_row(L, ld, i);
}

int luaopen_stampede_data(lua_State *L)
{
	if (luaL_newmetatable(L, DATA_MT)) {
		lua_newtable(L);
		static const luaL_Reg m[] = {
			{ "get", l_data_get },       { "next", l_data_next },
			{ "unique", l_data_unique }, { "random", l_data_random },
			{ "len", l_data_len },       { NULL, NULL }
		};
		luaL_setfuncs(L, m, 0);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, l_data_len);
		lua_setfield(L, -2, "__len");
	}
	lua_pop(L, 1);
	static const luaL_Reg fns[] = { { "csv", l_csv }, { "json", l_jsonfile }, { NULL, NULL } };
	luaL_newlib(L, fns);
	return 1;
}
