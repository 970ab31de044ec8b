/* lua_modules.c: stampede.metrics, stampede.json and stampede.data, and Lua <-> JSON. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/hdr.h"
#include "metrics/metrics.h"
#include "script/lua_rt.h"
#include "util/common.h"

/* --- Lua <-> JSON ----------------------------------------------------------------- */

/* Deepest nesting of tables json.encode accepts (the outermost table is level 1). It keeps
 * the C recursion short and bounds the Lua stack an encode needs to a few hundred slots. */
#define JSON_MAX_DEPTH 64

/* One Lua -> JSON conversion. It never raises a Lua error: a failure frees the part already
 * built and leaves its reason in err, so the caller can raise (or report) it with nothing
 * left referenced only from a C local. */
struct encoder {
	lua_State *L;
	const void *path[JSON_MAX_DEPTH]; /* the tables being converted, outermost first */
	int depth;
	char err[160];
};

static json_t *to_json(struct encoder *e, int idx);

static json_t *fail(struct encoder *e, json_t *partial, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static json_t *fail(struct encoder *e, json_t *partial, const char *fmt, ...)
{
	if (fmt) { /* NULL: an inner level already said why */
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->err, sizeof(e->err), fmt, ap);
		va_end(ap);
	}
	json_decref(partial);
	return NULL;
}

/* Whether the table at idx is a sequence: keys exactly 1..#t, and at least one. */
static bool is_sequence(lua_State *L, int idx)
{
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
	lua_Integer count = 0;
	bool seq = n > 0;
	lua_pushnil(L);
	while (seq && lua_next(L, idx)) {
		lua_Integer k = lua_isinteger(L, -2) ? lua_tointeger(L, -2) : 0;
		seq = k >= 1 && k <= n;
		count++;
		lua_pop(L, 1);
	}
	if (!seq && n > 0)
		lua_pop(L, 1); /* the key lua_next left when the walk stopped early */
	return seq && count == n;
}

/* The metatable (in the registry) that marks an empty table decoded from a JSON [] so
 * that it encodes back as [] (an empty Lua table otherwise encodes as {}). */
#define JSON_EMPTY_ARRAY_MT "stampede.json.empty_array"

static json_t *array_to_json(struct encoder *e, int idx)
{
	lua_State *L = e->L;
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
	json_t *a = json_array();
	if (!a)
		return fail(e, NULL, "out of memory");
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, idx, i);
		json_t *v = to_json(e, -1);
		lua_pop(L, 1);
		if (!v || json_array_append_new(a, v))
			return fail(e, a, v ? "out of memory" : NULL);
	}
	return a;
}

static json_t *object_to_json(struct encoder *e, int idx)
{
	lua_State *L = e->L;
	json_t *o = json_object();
	if (!o)
		return fail(e, NULL, "out of memory");
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		char num[64];
		const char *k = num;
		size_t klen;
		if (lua_type(L, -2) == LUA_TSTRING)
			k = lua_tolstring(L, -2, &klen);
		else if (lua_isinteger(L, -2))
			klen = (size_t)snprintf(num, sizeof(num), "%lld",
			                        (long long)lua_tointeger(L, -2));
		else if (lua_type(L, -2) == LUA_TNUMBER)
			klen = (size_t)snprintf(num, sizeof(num), "%.17g", lua_tonumber(L, -2));
		else
			return fail(e, o, "table keys must be strings or numbers, not %s",
			            luaL_typename(L, -2));
		json_t *v = to_json(e, -1);
		if (!v)
			return fail(e, o, NULL);
		if (json_object_setn_new(o, k, klen, v)) /* it releases v */
			return fail(e, o, "table key is not valid UTF-8");
		lua_pop(L, 1);
	}
	return o;
}

static json_t *table_to_json(struct encoder *e, int idx)
{
	lua_State *L = e->L;
	const void *self = lua_topointer(L, idx);
	for (int i = 0; i < e->depth; i++)
		if (e->path[i] == self)
			return fail(e, NULL, "a table contains itself (a cycle)");
	if (e->depth == JSON_MAX_DEPTH)
		return fail(e, NULL, "tables nested deeper than %d levels", JSON_MAX_DEPTH);
	/* a level holds at most a key, a value and the key of the walk below it */
	if (!lua_checkstack(L, 4))
		return fail(e, NULL, "no Lua stack left to convert nested tables");
	e->path[e->depth++] = self;
	bool array = is_sequence(L, idx);
	if (!array && lua_getmetatable(L, idx)) { /* an empty table decoded from [] */
		luaL_getmetatable(L, JSON_EMPTY_ARRAY_MT);
		bool marked = lua_rawequal(L, -1, -2);
		lua_pop(L, 2);
		if (marked) {
			lua_pushnil(L);
			if (lua_next(L, idx))
				lua_pop(L, 2); /* not empty any more: an object */
			else
				array = true;
		}
	}
	json_t *j = array ? array_to_json(e, idx) : object_to_json(e, idx);
	e->depth--;
	return j;
}

static json_t *to_json(struct encoder *e, int idx)
{
	lua_State *L = e->L;
	int top = lua_gettop(L);
	json_t *j = NULL;
	double d;
	idx = lua_absindex(L, idx);
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		return json_null();
	case LUA_TBOOLEAN:
		return json_boolean(lua_toboolean(L, idx));
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return json_integer(lua_tointeger(L, idx));
		d = lua_tonumber(L, idx);
		if (!isfinite(d))
			return fail(e, NULL, "cannot encode %s: JSON numbers are finite",
			            isnan(d) ? "NaN"
			            : d > 0  ? "inf"
			                     : "-inf");
		return json_real(d);
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		j = json_stringn(s, n);
		return j ? j : fail(e, NULL, "string is not valid UTF-8");
	}
	case LUA_TTABLE:
		j = table_to_json(e, idx);
		lua_settop(L, top); /* a failed walk may leave its key and value */
		return j;
	default:
		return fail(e, NULL, "cannot encode a %s", luaL_typename(L, idx));
	}
}

/* Convert the value at idx; NULL with the reason in e->err on failure. */
static json_t *encode(lua_State *L, int idx, struct encoder *e)
{
	e->L = L;
	e->depth = 0;
	e->err[0] = '\0';
	json_t *j = to_json(e, idx);
	if (!j && !e->err[0])
		snprintf(e->err, sizeof(e->err), "out of memory");
	return j;
}

json_t *lua_to_json_protected(lua_State *L, int idx, char *err, size_t errlen)
{
	struct encoder e;
	json_t *j = encode(L, idx, &e); /* raises no Lua error, so no pcall is needed */
	if (!j)
		snprintf(err, errlen, "%s", e.err);
	return j;
}

void json_to_lua(lua_State *L, const json_t *j)
{
	luaL_checkstack(L, 4, "json: no Lua stack left for nested arrays and objects");
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		const char *k;
		size_t klen;
		json_t *v;
		lua_createtable(L, 0, (int)json_object_size(j));
		json_object_keylen_foreach((json_t *)j, k, klen, v)
		{
			lua_pushlstring(L, k, klen); /* keys may hold NUL bytes */
			json_to_lua(L, v);
			lua_rawset(L, -3);
		}
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *v;
		lua_createtable(L, (int)json_array_size(j), 0);
		if (json_array_size(j) == 0) { /* so that it encodes back as [] (lua-cjson's way) */
			luaL_newmetatable(L, JSON_EMPTY_ARRAY_MT);
			lua_setmetatable(L, -2);
		}
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

static void release_json(void *p)
{
	json_decref(p);
}

/* Call fn(p) protected, release p whatever happened, then return fn's one result or raise
 * its error: C memory held across a Lua call that may raise is freed on both paths. */
static int call_then_release(lua_State *L, lua_CFunction fn, void *p, void (*release)(void *))
{
	lua_pushcfunction(L, fn);
	lua_pushlightuserdata(L, p);
	int rc = lua_pcall(L, 1, 1, 0);
	release(p);
	return rc == LUA_OK ? 1 : lua_error(L);
}

static int push_cstring(lua_State *L)
{
	lua_pushstring(L, lua_touserdata(L, 1));
	return 1;
}

static int push_json(lua_State *L)
{
	json_to_lua(L, lua_touserdata(L, 1));
	return 1;
}

static int l_json_encode(lua_State *L)
{
	luaL_checkany(L, 1);
	struct encoder e;
	json_t *j = encode(L, 1, &e);
	if (!j)
		return luaL_error(L, "json.encode: %s", e.err);
	size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17);
	if (lua_toboolean(L, 2))
		flags = JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17);
	char *s = json_dumps(j, flags);
	json_decref(j);
	if (!s)
		return luaL_error(L, "json.encode failed");
	return call_then_release(L, push_cstring, s, free);
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
	return call_then_release(L, push_json, j, release_json);
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
	char name[129]; /* valid_metric_name: at most 128 characters */
};

/* Trends record values up to HDR_HIGHEST in the histogram's unit (µs for time trends,
 * milli-units for the others): 3,600,000 ms or 3,600,000 units. Larger values are recorded
 * as that (counted), with one warning per metric and process. */
#define TREND_MAX_VALUE ((double)HDR_HIGHEST / 1000)
static unsigned char trend_warned[METRICS_MAX];

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
	snprintf(m->name, sizeof(m->name), "%s", name);
	struct registry *reg = metric_registry(L);
	if (reg) {
		m->id = registry_metric(reg, name, type,
		                        is_time            ? MU_TIME_US
		                        : type == MT_TREND ? MU_MILLI
		                                           : MU_NONE);
		if (m->id == -EEXIST)
			return luaL_error(L, "metric '%s' already exists with another type", name);
		if (m->id == -ENOSPC)
			return luaL_error(
			    L, "too many custom metrics: '%s' would be number %d (at most %d)",
			    name, METRICS_CUSTOM_MAX + 1, METRICS_CUSTOM_MAX);
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
			if (sc->nmetrics >= METRICS_CUSTOM_MAX)
				return luaL_error(
				    L,
				    "too many custom metrics: '%s' would be number %d "
				    "(at most %d)",
				    name, sc->nmetrics + 1, METRICS_CUSTOM_MAX);
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
	if (!isfinite(v))
		return luaL_error(L, "metric '%s': values must be finite numbers (got %s)", m->name,
		                  isnan(v) ? "NaN"
		                  : v > 0  ? "inf"
		                           : "-inf");
	if (m->id < 0 || !lv->v)
		return 0;
	/* a built-in counter a script adds to (Counter("data_sent")) counts what stampede's own
	 * do: never down, and requests and iterations in whole numbers (a result file holding
	 * anything else is refused when it is read back: docs/result-format.md) */
	if (m->type == MT_COUNTER && m->id < M__BUILTIN) {
		bool whole =
		    m->id == M_HTTP_REQS || m->id == M_ITERATIONS || m->id == M_DROPPED_ITERATIONS;
		if (v < 0 || (whole && v != floor(v)))
			return luaL_error(L,
			                  "metric '%s' is stampede's own: it takes %s of 0 or more "
			                  "(got %f)",
			                  m->name, whole ? "whole numbers" : "values", v);
	}
	if (m->type == MT_TREND) {
		if (v < 0)
			return luaL_error(L, "metric '%s': trend values must be 0 or more (got %f)",
			                  m->name, v);
		if (v > TREND_MAX_VALUE) {
			v = TREND_MAX_VALUE;
			if (m->id < METRICS_MAX &&
			    !__atomic_exchange_n(&trend_warned[m->id], 1, __ATOMIC_RELAXED))
				fprintf(stderr,
				        "\nstampede: warning: trend '%s' got a value above %.0f%s: "
				        "such values are recorded as %.0f (later ones are not "
				        "reported)\n",
				        m->name, TREND_MAX_VALUE, m->is_time ? " ms" : "",
				        TREND_MAX_VALUE);
		}
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

/* The largest data file (and open() file) a script may load. */
#define DATA_FILE_MAX ((size_t)1 << 30)

/* A data file parsed once per process and shared read-only by every VU of every worker
 * (k6's SharedArray idea). CSV rows are kept packed, so that a data set costs about its
 * size: every field's bytes back to back, and where each ends; a row becomes a Lua table
 * only when read. */
struct dataset {
	char *path;
	size_t nrows;
	size_t ncols; /* csv: fields per row */
	char *blob;   /* csv: the header's fields, then each row's, unquoted */
	uint32_t
	    *ends;    /* csv: end of field i in blob, (nrows + 1) * ncols; i starts at i-1's end */
	json_t *rows; /* json: the array of rows (NULL for csv) */
	int64_t unique; /* atomic cursor for the "unique" strategy */
	struct dataset *next;
};

_Static_assert(DATA_FILE_MAX < UINT32_MAX, "csv field offsets are 32-bit");

static pthread_mutex_t data_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dataset *datasets;

#define DATA_MT "stampede.dataset"

struct ldata {
	struct dataset *d;
	int64_t seq; /* per VU (per Lua state copy) sequential cursor */
};

/* Fields being packed. The text is unquoted in place: blob is the text itself, whose
 * every byte written has been read before (a field never grows when unquoted). */
struct csv_out {
	char *blob;
	size_t len;
	uint32_t *ends;
	size_t n, cap;
};

static void csv_end_field(struct csv_out *o)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 1024;
		o->ends = xrealloc(o->ends, o->cap * sizeof(*o->ends));
	}
	o->ends[o->n++] = (uint32_t)o->len;
}

/* Pack one CSV record (RFC 4180 quoting) starting at *p into o; returns its number of
 * fields, 0 at the end of the text. */
static size_t csv_record(const char **p, const char *end, struct csv_out *o)
{
	const char *s = *p;
	size_t nf = 0;
	if (s >= end)
		return 0;
	for (;;) {
		if (s < end && *s == '"') {
			s++;
			while (s < end) {
				if (*s == '"' && s + 1 < end && s[1] == '"') {
					o->blob[o->len++] = '"';
					s += 2;
				} else if (*s == '"') {
					s++;
					break;
				} else {
					o->blob[o->len++] = *s++;
				}
			}
		}
		while (s < end && *s != ',' && *s != '\n' && *s != '\r')
			o->blob[o->len++] = *s++;
		csv_end_field(o);
		nf++;
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
	return nf;
}

/* Parse CSV text with a header row into d, which takes text (len bytes + a NUL) over.
 * Returns 0, or -EINVAL with the reason in err (text freed). */
static int parse_csv(char *text, size_t len, struct dataset *d, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) /* a UTF-8 byte order mark */
		p += 3;
	struct csv_out o = { .blob = text };
	size_t ncols = csv_record(&p, end, &o);
	if (ncols == 0) {
		snprintf(err, errlen, "no header row");
		goto out_free;
	}
	int line = 1;
	while (p < end) {
		size_t n0 = o.n, len0 = o.len;
		line++;
		size_t nf = csv_record(&p, end, &o);
		if (nf == 1 && o.len == len0) { /* a blank line */
			o.n = n0;
			continue;
		}
		if (nf != ncols) {
			snprintf(err, errlen, "line %d has %zu fields, the header has %zu", line,
			         nf, ncols);
			goto out_free;
		}
		d->nrows++;
	}
	d->ncols = ncols;
	d->blob = xrealloc(o.blob, o.len + 1);
	d->ends = xrealloc(o.ends, o.n * sizeof(*o.ends));
	return 0;
out_free:
	free(o.blob);
	free(o.ends);
	return -EINVAL;
}

static int parse_json_rows(const char *text, size_t len, struct dataset *d, char *err,
                           size_t errlen)
{
	json_error_t je;
	json_t *rows = json_loadb(text, len, 0, &je);
	if (!rows) {
		snprintf(err, errlen, "%s at line %d", je.text, je.line);
		return -EINVAL;
	}
	if (!json_is_array(rows)) {
		json_t *a = json_array();
		json_array_append_new(a, rows);
		rows = a;
	}
	d->rows = rows;
	d->nrows = json_array_size(rows);
	return 0;
}

/* The data set of the file at full, loaded on first use. Returns NULL with the reason in
 * err. Called with data_mu held. */
static struct dataset *dataset_get(const char *full, bool csv, char *err, size_t errlen)
{
	struct dataset *d;
	for (d = datasets; d; d = d->next)
		if (!strcmp(d->path, full))
			return d;
	char *text;
	size_t len;
	int e = read_file_max(full, DATA_FILE_MAX, &text, &len);
	if (e == -EFBIG) {
		snprintf(err, errlen, "larger than %zu MiB, the most a data file may hold",
		         DATA_FILE_MAX >> 20);
		return NULL;
	}
	if (e < 0) {
		snprintf(err, errlen, "%s", read_file_strerror(e));
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	if (csv) {
		e = parse_csv(text, len, d, err, errlen);
	} else {
		e = parse_json_rows(text, len, d, err, errlen);
		free(text);
	}
	if (e < 0) {
		free(d);
		return NULL;
	}
	d->path = xstrdup(full);
	d->next = datasets;
	datasets = d;
	return d;
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

	char err[256] = "";
	pthread_mutex_lock(&data_mu);
	struct dataset *d = dataset_get(full, csv, err, sizeof(err));
	pthread_mutex_unlock(&data_mu);
	if (!d)
		return luaL_error(L, "data.%s('%s'): %s", csv ? "csv" : "json", path, err);
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

/* Field i of a csv data set (0: the header's first). */
static void push_field(lua_State *L, const struct dataset *d, size_t i)
{
	uint32_t start = i ? d->ends[i - 1] : 0;
	lua_pushlstring(L, d->blob + start, d->ends[i] - start);
}

static int push_row(lua_State *L, struct ldata *ld, int64_t i)
{
	const struct dataset *d = ld->d;
	if (d->nrows == 0)
		return luaL_error(L, "data set '%s' is empty", d->path);
	size_t r = (size_t)i % d->nrows;
	if (d->rows) {
		json_to_lua(L, json_array_get(d->rows, r));
		return 1;
	}
	lua_createtable(L, 0, (int)d->ncols);
	for (size_t c = 0; c < d->ncols; c++) {
		push_field(L, d, c);
		push_field(L, d, (r + 1) * d->ncols + c);
		lua_rawset(L, -3);
	}
	return 1;
}

static int l_data_len(lua_State *L)
{
	struct ldata *ld = luaL_checkudata(L, 1, DATA_MT);
	lua_pushinteger(L, (lua_Integer)ld->d->nrows);
	return 1;
}

static int l_data_get(lua_State *L)
{
	struct ldata *ld = luaL_checkudata(L, 1, DATA_MT);
	lua_Integer i = luaL_checkinteger(L, 2);
	if (i < 1 || (size_t)i > ld->d->nrows) {
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
	int64_t start = lv && lv->v ? lvu_id_in_test(lv->v) - 1 : 0; /* across segments too */
	return push_row(L, ld, start + ld->seq++);
}

/* Unique across all VUs of all workers, and of all instances under execution segments:
 * this instance's k-th row is the whole test's exec_segment_index(k) (the instances' stripes
 * share no index), so each takes its share of the rows; nil once they were handed out.
 * setup() and teardown() run whole in every instance: their rows are the instance's own. */
static int l_data_unique(lua_State *L)
{
	struct ldata *ld = luaL_checkudata(L, 1, DATA_MT);
	struct lvu *lv = lvu_of(L);
	int64_t i = __atomic_fetch_add(&ld->d->unique, 1, __ATOMIC_RELAXED);
	if (lv && lv->v)
		i = exec_segment_index(vu_scenario(lv->v)->seg, i);
	if ((size_t)i >= ld->d->nrows) {
		lua_pushnil(L);
		return 1;
	}
	return push_row(L, ld, i);
}

/* A random row, by math.random (so that math.randomseed makes runs repeatable); what it
 * returns is checked, since a script may replace it. */
static int l_data_random(lua_State *L)
{
	struct ldata *ld = luaL_checkudata(L, 1, DATA_MT);
	size_t n = ld->d->nrows;
	if (n == 0)
		return luaL_error(L, "data set '%s' is empty", ld->d->path);
	lua_getglobal(L, "math");
	lua_getfield(L, -1, "random");
	lua_pushinteger(L, (lua_Integer)n);
	lua_call(L, 1, 1);
	int ok;
	lua_Integer i = lua_tointegerx(L, -1, &ok);
	if (!ok || i < 1 || (size_t)i > n)
		return luaL_error(L, "data:random(): math.random(%d) returned %s, not a row number",
		                  (int)MIN(n, (size_t)INT32_MAX), luaL_tolstring(L, -1, NULL));
	lua_pop(L, 2);
	return push_row(L, ld, i - 1);
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
