/* lua_http.c: the stampede.http module: requests that yield to the worker's event loop. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "protocol/content.h"
#include "protocol/url.h"
#include "protocol/wire.h"
#include "script/lua_rt.h"
#include "util/common.h"

#define RESPONSE_MT "stampede.response"
#define EXPECT_MT   "stampede.expectedStatuses"
#define JAR_MT      "stampede.CookieJar"
#define LRES_MT     "stampede.responseData"

static void hreq_start(struct hreq *r);
static void hreq_record(struct hreq *r, struct http_memo *memo);

/* --- targets (one per origin per worker) ------------------------------------------ */

const struct target *lw_target(struct lw *lw, const char *key, bool tls, const char *host,
                               const char *port)
{
	for (struct lw_target *t = lw->targets; t; t = t->next)
		if (strcmp(t->t.key, key) == 0)
			return &t->t;
	if (lw->ntargets >= TARGETS_MAX)
		return NULL;
	lw->ntargets++;
	struct lw_target *t = xcalloc(1, sizeof(*t));
	t->t.host = xstrdup(host);
	t->t.port = (uint16_t)strtol(port, NULL, 10); /* url_parse checked 1-65535 */
	t->t.tls = tls;
	t->t.key = xstrdup(key);
	t->next = lw->targets;
	lw->targets = t;
	return &t->t;
}

/* The parsed form and origin of url, through the VU's one-entry cache. NULL (with err) for
 * an invalid URL. The host is looked up when a connection is opened (a failed lookup is the
 * request's dns_error), so *t is never NULL. */
static const struct url *vu_url(struct lvu *lv, const char *url, const struct target **t, char *err,
                                size_t errlen)
{
	if (lv->urlc_s && !strcmp(lv->urlc_s, url)) {
		*t = lv->urlc_t;
		return &lv->urlc_u;
	}
	struct url u;
	if (url_parse(url, &u, err, errlen) < 0)
		return NULL;
	struct buf key = { 0 };
	buf_addstr(&key, u.tls ? "https://" : "http://");
	buf_addstr(&key, u.host);
	buf_addstr(&key, ":");
	buf_addstr(&key, u.port);
	const struct target *tg = lw_target(lv->lw, key.p, u.tls, u.host, u.port);
	buf_free(&key);
	if (!tg) {
		snprintf(err, errlen,
		         "too many distinct origins (scheme, host, port) in one run: "
		         "at most %d per worker",
		         TARGETS_MAX);
		url_free(&u);
		return NULL;
	}
	free(lv->urlc_s);
	url_free(&lv->urlc_u);
	lv->urlc_s = xstrdup(url);
	lv->urlc_u = u;
	lv->urlc_t = tg;
	*t = tg;
	return &lv->urlc_u;
}

void lua_http_vu_free(struct lvu *lv)
{
	for (int i = 0; i < lv->reqs_cap; i++) {
		struct hreq *r = &lv->reqs[i];
		if (r->call.in_flight)
			call_abort(worker_net(lv->v->w), &r->call);
		call_free(&r->call);
		buf_free(&r->bytes);
		buf_free(&r->url);
		buf_free(&r->name);
		buf_free(&r->tagbuf);
		buf_free(&r->body);
		buf_free(&r->memo_key);
		buf_free(&r->snap);
		buf_free(&r->cookie);
		free(r->hdrs);
	}
	free(lv->reqs);
	lv->reqs = NULL;
	lv->reqs_cap = 0;
	cookie_jar_free(lv->jar);
	lv->jar = NULL;
	free(lv->urlc_s);
	lv->urlc_s = NULL;
	url_free(&lv->urlc_u);
}

/* --- helpers ---------------------------------------------------------------------- */

/* The longest a duration parameter may be: a day. */
#define DURATION_PARAM_MAX_US (86400LL * USEC_PER_SEC)

/* A duration parameter (k6: a number is milliseconds; a string has a unit), more than 0
 * and at most a day; anything else is a script error naming it. */
static int64_t duration_param(lua_State *L, int idx, const char *what)
{
	int64_t us;
	if (lua_type(L, idx) == LUA_TNUMBER) {
		double ms = lua_tonumber(L, idx);
		if (!(ms > 0 && ms * 1000 <= (double)DURATION_PARAM_MAX_US))
			luaL_error(
			    L,
			    "invalid %s %f: expected milliseconds from 0 (excluded) to a day "
			    "(86400000), or a duration such as '10s'",
			    what, ms);
		return (int64_t)(ms * 1000);
	}
	const char *s = lua_tostring(L, idx);
	if (!s || parse_duration(s, &us) < 0 || us <= 0 || us > DURATION_PARAM_MAX_US) {
		char msg[160]; /* lua_pushfstring has no precision: shorten here */
		snprintf(msg, sizeof(msg),
		         "invalid %s '%.40s': expected a duration such as '10s' (more than 0, at "
		         "most a day)",
		         what, s ? s : luaL_typename(L, idx));
		luaL_error(L, "%s", msg);
	}
	return us;
}

/* The string at idx, which must hold no NUL byte (a NUL would cut a URL or a method short
 * in what is sent). */
static const char *checkstr(lua_State *L, int idx, const char *what)
{
	size_t n;
	const char *s = luaL_checklstring(L, idx, &n);
	if (strlen(s) != n)
		luaL_error(L, "%s contains a NUL byte", what);
	return s;
}

static void urlencode(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			buf_add(b, &s[i], 1);
		} else if (c == ' ') {
			buf_add(b, "+", 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			buf_add(b, e, 3);
		}
	}
}

/* --- cookie jars (k6's http.cookieJar() / new http.CookieJar()) ----------------------- */

/* A jar object: the VU's own jar (owned by the VU) or one the script made (owned here). */
struct ljar {
	struct lvu *lv; /* the VU's jar when not NULL */
	struct cookie_jar *own;
};

/* The request URL u as the cookie jar sees it. */
static struct cookie_url cookie_url_of(const struct url *u)
{
	return (struct cookie_url){ .host = u->host, .path = u->path, .secure = u->tls };
}

static struct cookie_jar *ljar_get(struct ljar *j)
{
	if (!j->lv)
		return j->own;
	if (!j->lv->jar)
		j->lv->jar = cookie_jar_new();
	return j->lv->jar;
}

/* --- building a request ----------------------------------------------------------- */

/* What a request sends besides its method, URL and body -- params.headers and
 * params.cookies -- is copied when the script makes the call (snap_params, under the call's
 * protection) into r->snap as records: kind, name, value. Serializing the request and each
 * redirect hop (build_bytes) reads only these, never the script's tables: a hop is built
 * from the event loop, outside any protected call, where a metamethod that raised would
 * abort the process and one that looped could not be stopped. */
enum snap_kind {
	SNAP_HEADER = 'H',         /* a params.headers field */
	SNAP_COOKIE = 'C',         /* a params.cookies pair, sent with the jar's */
	SNAP_COOKIE_REPLACE = 'R', /* { value = ..., replace = true }: instead of the jar's */
};

/* One record: name and value are NUL-terminated (and may hold NULs before that). */
struct snap_item {
	char kind;
	const char *name, *value;
	size_t name_len, value_len;
};

static void snap_add(struct buf *b, char kind, const char *name, size_t nlen, const char *value,
                     size_t vlen)
{
	size_t len[2] = { nlen, vlen };
	buf_add(b, &kind, 1);
	buf_add(b, len, sizeof(len));
	buf_add(b, name, nlen);
	buf_add(b, "", 1);
	buf_add(b, value, vlen);
	buf_add(b, "", 1);
}

/* The record at *at of b into it, and *at past it; false at the end. */
static bool snap_next(const struct buf *b, size_t *at, struct snap_item *it)
{
	size_t len[2];
	if (*at >= b->len)
		return false;
	const char *p = b->p + *at;
	it->kind = p[0];
	memcpy(len, p + 1, sizeof(len));
	it->name = p + 1 + sizeof(len);
	it->name_len = len[0];
	it->value = it->name + len[0] + 1;
	it->value_len = len[1];
	*at += 1 + sizeof(len) + len[0] + 1 + len[1] + 1;
	return true;
}

/* Whether r's snapshot holds a record of kind named name (case-insensitive: header names,
 * RFC 9110 §5.1) or, for cookies, exactly name (RFC 6265 §5.3 compares names as octets);
 * name NULL: of kind at all. */
static bool snap_has(const struct hreq *r, char kind, const char *name, size_t nlen)
{
	struct snap_item it;
	size_t at = 0;
	while (snap_next(&r->snap, &at, &it)) {
		if (it.kind != kind)
			continue;
		if (!name)
			return true;
		if (it.name_len == nlen && (kind == SNAP_HEADER ? !strncasecmp(it.name, name, nlen)
		                                                : !memcmp(it.name, name, nlen)))
			return true;
	}
	return false;
}

#define HEADERS_MAX 256

/* params.headers (the table at params) into r's snapshot: names must be strings; a value
 * that is not a string or a number is converted as tostring() does, __tostring included,
 * once, here. Raises script errors (fn: ...) on bad input; metamethods run under the
 * call's protection, so their errors are the script's too. */
static void snap_headers(lua_State *L, struct hreq *r, const char *fn, int params)
{
	int n = 0;
	lua_getfield(L, params, "headers");
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return;
	}
	if (!lua_istable(L, -1))
		luaL_error(L, "%s: params.headers must be a table, not %s", fn,
		           luaL_typename(L, -1));
	int t = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, t)) {
		size_t nl, vl;
		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_error(L, "%s: params.headers: header names must be strings, not %s",
			           fn, luaL_typename(L, -2));
		if (++n > HEADERS_MAX)
			luaL_error(L, "%s: params.headers: more than %d headers", fn, HEADERS_MAX);
		const char *name = lua_tolstring(L, -2, &nl);
		int vt = lua_type(L, -1);
		lua_pushvalue(L, -1); /* converting a copy leaves the table's value alone */
		const char *v = vt == LUA_TSTRING || vt == LUA_TNUMBER ? lua_tolstring(L, -1, &vl)
		                                                       : luaL_tolstring(L, -1, &vl);
		snap_add(&r->snap, SNAP_HEADER, name, nl, v, vl);
		lua_settop(L, t + 1); /* the key, for lua_next */
	}
	lua_pop(L, 1);
}

/* One params.cookies entry, the key and value on top of L's stack, into r's snapshot: the
 * name must be a token and the value (a string or number, or { value = ..., replace = true
 * }) cookie-octets (RFC 6265 §4.1.1, through wire_check), so that nothing but "name=value"
 * reaches the Cookie field. Raises script errors naming the cookie and the byte. */
static void snap_cookie(lua_State *L, struct hreq *r, const char *fn)
{
	char why[320];
	size_t nlen, vlen;
	bool replace = false;

	if (lua_type(L, -2) != LUA_TSTRING)
		luaL_error(L, "%s: params.cookies: cookie names must be strings, not %s", fn,
		           luaL_typename(L, -2));
	const char *name = lua_tolstring(L, -2, &nlen);
	if (wire_check(WIRE_COOKIE_NAME, name, nlen, "cookie name", why, sizeof(why)) < 0)
		luaL_error(L, "%s: params.cookies: %s", fn, why);
	lua_pushvalue(L, -1); /* converting a copy leaves the table's key and value alone */
	bool boxed = lua_istable(L, -1);
	if (boxed) {
		lua_getfield(L, -1, "replace");
		replace = lua_toboolean(L, -1);
		lua_getfield(L, -2, "value");
		lua_replace(L, -3);
		lua_pop(L, 1);
	}
	int t = lua_type(L, -1);
	if (t != LUA_TSTRING && t != LUA_TNUMBER) {
		snprintf(why, sizeof(why), /* lua_pushfstring has no precision */
		         "params.cookies: cookie \"%.40s\": %s must be a string or a "
		         "number (or { value = ..., replace = true }), not %s",
		         name, boxed ? "the table's value field" : "the value",
		         luaL_typename(L, -1));
		luaL_error(L, "%s: %s", fn, why);
	}
	if (t == LUA_TNUMBER && !isfinite(lua_tonumber(L, -1))) {
		snprintf(why, sizeof(why), "params.cookies: cookie \"%.40s\": the value is %s",
		         name, isnan(lua_tonumber(L, -1)) ? "NaN" : "infinite");
		luaL_error(L, "%s: %s", fn, why);
	}
	const char *value = lua_tolstring(L, -1, &vlen);
	if (wire_check(WIRE_COOKIE_VALUE, value, vlen, NULL, NULL, 0) < 0) {
		char what[64];
		snprintf(what, sizeof(what), "cookie \"%.40s\": value", name);
		wire_check(WIRE_COOKIE_VALUE, value, vlen, what, why, sizeof(why));
		luaL_error(L, "%s: params.cookies: %s", fn, why);
	}
	snap_add(&r->snap, replace ? SNAP_COOKIE_REPLACE : SNAP_COOKIE, name, nlen, value, vlen);
	lua_pop(L, 1);
}

/* params.cookies (the table at params) into r's snapshot; see snap_cookie. */
static void snap_cookies(lua_State *L, struct hreq *r, const char *fn, int params)
{
	lua_getfield(L, params, "cookies");
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return;
	}
	if (!lua_istable(L, -1))
		luaL_error(L, "%s: params.cookies must be a table, not %s", fn,
		           luaL_typename(L, -1));
	int t = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, t)) {
		snap_cookie(L, r, fn);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

/* The snapshot of r: params.headers and params.cookies of the params table at params (0:
 * none). Raises script errors; see snap_headers and snap_cookie. */
static void snap_params(lua_State *L, struct hreq *r, const char *fn, int params)
{
	r->snap.len = 0;
	if (!params)
		return;
	snap_headers(L, r, fn, params);
	snap_cookies(L, r, fn, params);
}

/* A jar cookie goes with the request unless params.cookies replaces it (k6). */
static int add_jar_cookie(const struct cookie_info *ci, void *ud)
{
	struct hreq *r = ud;
	struct buf *b = &r->cookie;
	if (snap_has(r, SNAP_COOKIE_REPLACE, ci->name, ci->name_len))
		return 0;
	if (b->len)
		buf_addstr(b, "; ");
	buf_add(b, ci->name, ci->name_len);
	buf_addstr(b, "=");
	buf_add(b, ci->value, ci->value_len);
	return 0;
}

/* The Cookie value of a request to u into r->cookie (RFC 6265 §5.4: one field, "; "
 * between pairs): the jar's cookies for u, then the snapshot's params.cookies (which are
 * not sent to another origin than the first). */
static void cookie_value(struct hreq *r, const struct url *u)
{
	struct buf *b = &r->cookie;
	struct snap_item it;
	size_t at = 0;

	b->len = 0;
	struct cookie_jar *jar = r->jar ? r->jar : r->lv->jar;
	if (jar) {
		struct cookie_url cu = cookie_url_of(u);
		if (r->strip_auth || !snap_has(r, SNAP_COOKIE_REPLACE, NULL, 0))
			cookie_jar_header(jar, &cu, wall_us(), b);
		else
			cookie_jar_each(jar, &cu, wall_us(), add_jar_cookie, r);
	}
	if (r->strip_auth)
		return;
	while (snap_next(&r->snap, &at, &it)) {
		if (it.kind != SNAP_COOKIE && it.kind != SNAP_COOKIE_REPLACE)
			continue;
		if (b->len)
			buf_addstr(b, "; ");
		buf_add(b, it.name, it.name_len);
		buf_addstr(b, "=");
		buf_add(b, it.value, it.value_len);
	}
}

/* Headers a hop drops: after a method change to GET the content headers (RFC 9110 §15.4:
 * the body is gone), on another origin the credentials and the Host (RFC 9110 §15.4,
 * §11.6.2: Authorization is for the origin it was given to). */
static bool stripped(const struct hreq *r, const char *name)
{
	if (r->strip_content &&
	    (!strcasecmp(name, "Content-Length") || !strcasecmp(name, "Content-Type") ||
	     !strcasecmp(name, "Transfer-Encoding") || !strcasecmp(name, "Content-Encoding")))
		return true;
	return r->strip_auth &&
	       (!strcasecmp(name, "Authorization") || !strcasecmp(name, "Proxy-Authorization") ||
	        !strcasecmp(name, "Host") || !strcasecmp(name, "Cookie"));
}

/* Serialize r (method, r->url, body, the snapshot's headers and cookies, the jar's cookies
 * for u) through the one serializer (request_serialize). Touches no Lua value, so it runs
 * as well from the event loop (redirects). Returns 0, or -EINVAL with err set. */
static int build_bytes(struct hreq *r, const struct url *u, char *err, size_t errlen)
{
	struct script *sc = r->lv->lw->sc;
	struct snap_item it;
	size_t at = 0;
	int n = 0;

	while (snap_next(&r->snap, &at, &it)) {
		if (it.kind != SNAP_HEADER || stripped(r, it.name))
			continue;
		if (n >= r->hdrs_cap) {
			r->hdrs_cap = r->hdrs_cap ? r->hdrs_cap * 2 : 16;
			r->hdrs = xrealloc(r->hdrs, sizeof(*r->hdrs) * (size_t)r->hdrs_cap);
		}
		r->hdrs[n++] = (struct request_hdr){ it.name, it.name_len, it.value, it.value_len };
	}
	/* a request that says Connection: close is the connection's last (RFC 9112 §9.6) */
	r->call.no_reuse = r->lv->lw->sc->no_connection_reuse || request_headers_close(r->hdrs, n);
	cookie_value(r, u);
	struct request_msg m = {
		.method = r->method,
		.target = u->path,
		.authority = u->authority,
		.headers = r->hdrs,
		.nheaders = n,
		.cookie = r->cookie.p,
		.cookie_len = r->cookie.len,
		.user_agent = sc->user_agent,
		.body = r->body.p,
		.body_len = r->body.len,
	};
	return request_serialize(&r->bytes, &m, err, errlen);
}

/* Read the body argument into r->body: nil, a string, or a table sent as a form (fields
 * converted as tostring() does). Returns whether it is a form. */
static bool read_body(lua_State *L, struct hreq *r, int idx)
{
	r->body.len = 0;
	if (!idx || lua_isnil(L, idx))
		return false;
	if (lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER) {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		buf_add(&r->body, s, n);
		return false;
	}
	if (!lua_istable(L, idx))
		luaL_error(L, "request body must be a string or a table (form fields), not %s",
		           luaL_typename(L, idx));
	bool first = true;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		size_t kn, vn;
		const char *k = luaL_tolstring(L, -2, &kn);
		const char *v = luaL_tolstring(L, -2, &vn);
		if (!first)
			buf_add(&r->body, "&", 1);
		urlencode(&r->body, k, kn);
		buf_add(&r->body, "=", 1);
		urlencode(&r->body, v, vn);
		first = false;
		lua_pop(L, 3);
	}
	return true;
}

/* Keep r->memo only while what it was computed for is unchanged: method, name, group and
 * tags, each ended by a NUL in r->memo_key. Compared in place: no allocation per request. */
static void memo_check(struct hreq *r)
{
	const char *part[4] = { r->method, r->name.p ? r->name.p : "", r->group,
		                r->tagbuf.len ? r->tagbuf.p : "" };
	size_t len[4] = { strlen(part[0]), strlen(part[1]), strlen(part[2]), r->tagbuf.len };
	size_t total = len[0] + len[1] + len[2] + len[3] + 3, off = 0;
	bool same = total == r->memo_key.len;
	for (int i = 0; same && i < 4; i++) {
		same = memcmp(r->memo_key.p + off, part[i], len[i]) == 0 &&
		       (i == 3 || r->memo_key.p[off + len[i]] == '\0');
		off += len[i] + 1;
	}
	if (same)
		return;
	r->memo.valid = false;
	r->memo_key.len = 0;
	for (int i = 0; i < 4; i++)
		buf_add(&r->memo_key, part[i], len[i] + (i < 3)); /* with the NUL, but the tags' */
}

static void read_tags(lua_State *L, struct hreq *r, int params, const char *url)
{
	r->ntags = 0;
	r->tagbuf.len = 0;
	r->name.len = 0;
	buf_addstr(&r->name, url);
	if (!params)
		return;
	lua_getfield(L, params, "tags");
	if (lua_istable(L, -1)) {
		/* "k\0v\0" pairs (hreq_record points tags into them) */
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			if (lua_type(L, -2) == LUA_TSTRING) {
				const char *k = lua_tostring(L, -2);
				const char *v = luaL_tolstring(L, -1, NULL);
				if (!strcmp(k, "name")) {
					r->name.len = 0;
					buf_addstr(&r->name, v);
				} else if (r->ntags < REQ_TAGS_MAX - 1) {
					buf_add(&r->tagbuf, k, strlen(k) + 1);
					buf_add(&r->tagbuf, v, strlen(v) + 1);
					r->ntags++;
				}
				lua_pop(L, 1);
			}
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
}

/* The method as sent: a token (wire_check) of at most 15 bytes, upper-cased into
 * r->method; anything else is a script error naming the offending byte. */
static void set_method(lua_State *L, struct hreq *r, const char *fn, const char *method)
{
	size_t mlen = strlen(method);
	char why[96], q[128];

	if (mlen >= sizeof(r->method)) {
		snprintf(why, sizeof(why), "longer than %zu bytes", sizeof(r->method) - 1);
	} else if (wire_check(WIRE_TOKEN, method, mlen, NULL, why, sizeof(why)) == 0) {
		for (size_t i = 0; i < mlen; i++)
			r->method[i] = (char)toupper((unsigned char)method[i]);
		r->method[mlen] = '\0';
		return;
	}
	wire_quote(q, sizeof(q), method, mlen, 40);
	luaL_error(L, "%s: invalid method '%s' (%s)", fn, q, why);
}

/* A size parameter (params.maxResponseBodySize): bytes as an integer, or a string with a
 * unit such as "64MB", "512kB" or "1GiB" (parse_size); more than 0. Anything else is a
 * script error naming it. */
static int64_t size_param(lua_State *L, int idx, const char *fn, const char *what)
{
	int64_t n = 0;
	int t = lua_type(L, idx);

	if (t == LUA_TNUMBER) {
		int isint;
		lua_Integer i = lua_tointegerx(L, idx, &isint);
		n = isint ? (int64_t)i : 0;
	} else if (t == LUA_TSTRING && parse_size(lua_tostring(L, idx), &n) < 0) {
		n = 0;
	}
	if (n > 0)
		return n;
	char msg[256]; /* lua_pushfstring has no precision: shorten here */
	snprintf(msg, sizeof(msg),
	         "%s: invalid %s '%.40s': expected bytes (an integer more than 0) or a size "
	         "such as '64MB', '512kB' or '1GiB'",
	         fn, what,
	         t == LUA_TNUMBER || t == LUA_TSTRING ? lua_tostring(L, idx)
	                                              : luaL_typename(L, idx));
	luaL_error(L, "%s", msg);
	return 0;
}

/* What r points into while it is in flight -- the userdata of params.responseCallback
 * (r->expect) and params.jar (r->jar's owner) -- is kept alive in r's own anchor table
 * (r->anchor_ref, made on first use), not through params, which the script may change
 * meanwhile (from another VU). */
enum { ANCHOR_EXPECT = 1, ANCHOR_JAR = 2 };

/* Anchor the value at idx (0: none) as r's slot. */
static void anchor(lua_State *L, struct hreq *r, int slot, int idx)
{
	if (!idx && r->anchor_ref == LUA_NOREF)
		return;
	idx = idx ? lua_absindex(L, idx) : 0;
	if (r->anchor_ref == LUA_NOREF) {
		lua_createtable(L, 2, 0);
		r->anchor_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->anchor_ref);
	if (idx)
		lua_pushvalue(L, idx);
	else
		lua_pushnil(L);
	lua_rawseti(L, -2, slot);
	lua_pop(L, 1);
}

/* The per-request settings of params (timeout, redirects, jar, responseCallback,
 * responseType, maxResponseBodySize) into r; raises script errors on bad values. */
static void read_params(lua_State *L, struct hreq *r, const char *fn, int params)
{
	struct http_call *c = &r->call;

	if (!params)
		return;
	lua_getfield(L, params, "maxResponseBodySize");
	if (!lua_isnil(L, -1))
		c->body_max = size_param(L, -1, fn, "params.maxResponseBodySize");
	lua_pop(L, 1);
	lua_getfield(L, params, "timeout");
	if (!lua_isnil(L, -1))
		c->timeout_us = duration_param(L, -1, "timeout");
	lua_pop(L, 1);
	lua_getfield(L, params, "redirects");
	if (!lua_isnil(L, -1)) {
		int isnum;
		lua_Integer n = lua_tointegerx(L, -1, &isnum);
		if (!isnum || n < 0 || n > 1000)
			luaL_error(L,
			           "params.redirects must be an integer from 0 to 1000, not "
			           "%s",
			           luaL_typename(L, -1));
		r->redirects_left = (int)n;
	}
	lua_pop(L, 1);
	lua_getfield(L, params, "jar");
	if (!lua_isnil(L, -1)) {
		struct ljar *j = luaL_testudata(L, -1, JAR_MT);
		if (!j)
			luaL_error(L,
			           "params.jar must be a cookie jar (http.cookieJar() or "
			           "http.CookieJar()), not %s",
			           luaL_typename(L, -1));
		if (!j->lv && !j->own) /* a finalizer kept it past its own __gc */
			luaL_error(L, "params.jar: cookie jar used after it was collected");
		r->jar = ljar_get(j);
		anchor(L, r, ANCHOR_JAR, -1);
	}
	lua_pop(L, 1);
	lua_getfield(L, params, "responseCallback");
	if (!lua_isnil(L, -1)) {
		if (!luaL_testudata(L, -1, EXPECT_MT))
			luaL_error(L,
			           "params.responseCallback must be an http.expectedStatuses(...) "
			           "object (as in k6), not %s",
			           luaL_typename(L, -1));
		r->expect = lua_touserdata(L, -1);
		anchor(L, r, ANCHOR_EXPECT, -1);
		r->judge_none = false;
	}
	lua_pop(L, 1);
	lua_getfield(L, params, "responseType");
	if (lua_isstring(L, -1))
		r->capture_body = strcmp(lua_tostring(L, -1), "none") != 0;
	lua_pop(L, 1);
}

/* Prepare r from (method, url, body, params) on L's stack for the http function fn
 * ("http.get"); raises Lua errors on bad input. Every script value the request and its
 * redirect hops need is read here, once, and copied (URL, body, tags, the snapshot of
 * headers and cookies), so that nothing after this call reads the script's tables. The
 * host is looked up when the request opens a connection (dns_error if it fails). */
static void prepare(lua_State *L, struct hreq *r, const char *fn, const char *method, int url_idx,
                    int body_idx, int params)
{
	struct lvu *lv = r->lv;
	struct script *sc = lv->lw->sc;
	char err[512];

	set_method(L, r, fn, method);
	const char *url = checkstr(L, url_idx, "the URL");
	if (params && !lua_istable(L, params))
		luaL_error(L, "params must be a table, not %s", luaL_typename(L, params));
	r->url.len = 0;
	buf_addstr(&r->url, url);
	snap_params(L, r, fn, params);
	/* A table body is a form: say so unless the script set a Content-Type. */
	if (read_body(L, r, body_idx) && !snap_has(r, SNAP_HEADER, "Content-Type", 12))
		snap_add(&r->snap, SNAP_HEADER, "Content-Type", 12,
		         "application/x-www-form-urlencoded", 33);
	read_tags(L, r, params, url);
	r->group = lvu_group(lv); /* unchanged while the VU waits for the call */
	memo_check(r);

	struct http_call *c = &r->call;
	const struct engine_cfg *ecfg = worker_cfg(lv->v->w);
	c->timeout_us = ecfg->timeout_us > 0 ? ecfg->timeout_us : 60 * USEC_PER_SEC; /* --timeout */
	c->body_max = ecfg->body_max; /* --max-response-body-size, options.maxResponseBodySize */
	r->redirects_left = sc->max_redirects;
	r->expect = NULL;
	r->jar = NULL;
	anchor(L, r, ANCHOR_EXPECT, 0);
	anchor(L, r, ANCHOR_JAR, 0);
	r->judge_none = lv->resp_cb_mode == 2;
	if (lv->resp_cb_mode == 1) { /* the VU's default, anchored: the registry's ref is not */
		lua_rawgeti(L, LUA_REGISTRYINDEX, lv->resp_cb_ref);
		r->expect = luaL_testudata(L, -1, EXPECT_MT);
		anchor(L, r, ANCHOR_EXPECT, -1); /* params' metamethods may drop the registry's */
		lua_pop(L, 1);
	}
	r->capture_body = !sc->discard_bodies;
	c->no_reuse = sc->no_connection_reuse;
	read_params(L, r, fn, params);

	const struct url *u = vu_url(lv, r->url.p, &c->target, err, sizeof(err));
	if (!u)
		luaL_error(L, "%s: %s", fn, err);
	c->err = ERR_NONE;
	if (u->tls && !worker_net(lv->v->w)->tls_ctx)
		luaL_error(L, "%s: https is not available (no TLS context)", fn);
	r->first_target = c->target;
	r->strip_content = r->strip_auth = false;
	if (build_bytes(r, u, err, sizeof(err)) < 0)
		luaL_error(L, "%s: %s", fn, err);
	c->head = !strcmp(r->method, "HEAD");
	c->idempotent = request_method_idempotent(r->method);
}

/* --- responses -------------------------------------------------------------------- */

void canonical_name(char *dst, const char *src, size_t n)
{
	bool up = true;
	size_t i;
	for (i = 0; i + 1 < n && src[i]; i++) {
		dst[i] = up ? (char)toupper((unsigned char)src[i])
		            : (char)tolower((unsigned char)src[i]);
		up = src[i] == '-';
	}
	dst[i] = '\0';
}

static double ms(int64_t us)
{
	return (double)us / 1e3;
}

/* What a response needs once its call's buffers are reused: copied into a userdata kept in
 * the response table, and turned into Lua values only when a script reads them. */
struct lres {
	int status;
	int err;
	bool has_body;
	bool tls;
	bool conn_fresh;
	int proto; /* enum call_proto */
	int nheaders;
	int64_t body_max; /* the request's body limit: also the most its body decodes to */
	int64_t t_start, t_conn, t_connected, t_tls, t_send, t_sent, t_first, t_end;
	size_t hdr_len, body_len, url_len;
	char method[16];
	char data[]; /* headers ("name\0value\0"...), body, url */
};

/* The lres of each response table lives in a weak-keyed (ephemeron) registry table under
 * this key, response table -> lres userdata (LRES_MT): never in the response table itself,
 * where pairs/next would find it and the script could replace it with another value. */
static const char lres_key;

static void push_timings(lua_State *L, const struct lres *c)
{
	int64_t t_send = c->t_send ? c->t_send : c->t_end;
	int64_t t_sent = c->t_sent ? c->t_sent : c->t_end;
	int64_t t_first = c->t_first ? c->t_first : c->t_end;
	lua_createtable(L, 0, 7);
	lua_pushnumber(L, ms(MAX(0, c->t_conn - c->t_start)));
	lua_setfield(L, -2, "blocked");
	lua_pushnumber(L, c->conn_fresh ? ms(MAX(0, c->t_connected - c->t_conn)) : 0);
	lua_setfield(L, -2, "connecting");
	lua_pushnumber(L, c->conn_fresh && c->tls ? ms(MAX(0, c->t_tls - c->t_connected)) : 0);
	lua_setfield(L, -2, "tls_handshaking");
	lua_pushnumber(L, ms(MAX(0, t_sent - t_send)));
	lua_setfield(L, -2, "sending");
	lua_pushnumber(L, c->t_sent ? ms(MAX(0, t_first - t_sent)) : 0);
	lua_setfield(L, -2, "waiting");
	lua_pushnumber(L, ms(MAX(0, c->t_end - t_first)));
	lua_setfield(L, -2, "receiving");
	lua_pushnumber(L, ms(MAX(0, c->t_end - t_send)));
	lua_setfield(L, -2, "duration");
}

void push_header_table(lua_State *L, const char *pairs, int n)
{
	lua_createtable(L, 0, n);
	const char *p = pairs;
	for (int i = 0; p && i < n; i++) {
		char name[256];
		const char *v = p + strlen(p) + 1;
		canonical_name(name, p, sizeof(name));
		lua_getfield(L, -1, name);
		if (lua_isstring(L, -1)) { /* repeated header: join as one list */
			lua_pushstring(L, ", ");
			lua_pushstring(L, v);
			lua_concat(L, 3);
		} else {
			lua_pop(L, 1);
			lua_pushstring(L, v);
		}
		lua_setfield(L, -2, name);
		p = v + strlen(v) + 1;
	}
}

static void push_response(lua_State *L, struct hreq *r)
{
	const struct http_call *c = &r->call;
	size_t hdr = c->err ? 0 : c->headers.len;
	size_t body = r->capture_body && !c->err ? c->body.len : 0;
	struct lres *x = lua_newuserdatauv(L, sizeof(*x) + hdr + body + r->url.len + 1, 0);
	x->status = c->status;
	x->err = c->err;
	x->has_body = r->capture_body && !c->err;
	x->body_max = c->body_max > 0 ? c->body_max : CALL_BODY_MAX_DEFAULT;
	x->tls = c->target && c->target->tls;
	x->conn_fresh = c->conn_fresh;
	x->proto = c->proto;
	x->nheaders = c->err ? 0 : c->nheaders;
	x->t_start = c->t_start, x->t_conn = c->t_conn, x->t_connected = c->t_connected;
	x->t_tls = c->t_tls, x->t_send = c->t_send, x->t_sent = c->t_sent;
	x->t_first = c->t_first, x->t_end = c->t_end;
	x->hdr_len = hdr, x->body_len = body, x->url_len = r->url.len;
	memcpy(x->method, r->method, sizeof(x->method));
	if (hdr)
		memcpy(x->data, c->headers.p, hdr);
	if (body)
		memcpy(x->data + hdr, c->body.p, body);
	memcpy(x->data + hdr + body, r->url.p, r->url.len + 1);
	luaL_setmetatable(L, LRES_MT);
	lua_createtable(L, 0, 4);
	lua_pushinteger(L, c->status);
	lua_setfield(L, -2, "status");
	luaL_setmetatable(L, RESPONSE_MT);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &lres_key);
	lua_pushvalue(L, -2);
	lua_pushvalue(L, -4);
	lua_rawset(L, -3);
	lua_pop(L, 1);
	lua_remove(L, -2);
}

/* The lres of the response table at idx, pushed and left on the stack (it anchors the
 * pointer returned for as long as the caller uses it). Raises a script error when idx is not
 * a response this module made. */
static const struct lres *lres_of(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &lres_key);
	lua_pushvalue(L, idx);
	lua_rawget(L, -2);
	lua_remove(L, -2);
	const struct lres *x = luaL_testudata(L, -1, LRES_MT);
	if (!x)
		luaL_error(L, "response object was tampered with (not a response from http.*)");
	return x;
}

/* The values of every header field called name in x, joined by ", " (RFC 9110 §5.3) into
 * b. Returns false when there is none. */
static bool lres_header(const struct lres *x, const char *name, struct buf *b)
{
	const char *p = x->data;
	bool any = false;
	for (int i = 0; i < x->nheaders; i++) {
		const char *v = p + strlen(p) + 1;
		if (!strcasecmp(p, name)) {
			if (any)
				buf_addstr(b, ", ");
			buf_addstr(b, v);
			any = true;
		}
		p = v + strlen(v) + 1;
	}
	return any;
}

/* response.body: decoded by its Content-Encoding (gzip, deflate, br, zstd) when read, as
 * k6 does; a body that cannot be decoded stays as received and response.error says why. */
static void push_body(lua_State *L, const struct lres *x)
{
	if (!x->has_body) {
		lua_pushnil(L);
		return;
	}
	const char *raw = x->data + x->hdr_len;
	struct buf ce = { 0 };
	if (!x->body_len || !lres_header(x, "content-encoding", &ce)) {
		buf_free(&ce);
		lua_pushlstring(L, raw, x->body_len);
		return;
	}
	struct buf out = { 0 };
	char err[256];
	/* a decompression bomb stops at the same limit as a body on the wire */
	int rc =
	    content_decode(ce.p, raw, x->body_len, &out, (size_t)x->body_max, err, sizeof(err));
	if (rc == 0) {
		lua_pushlstring(L, out.p ? out.p : "", out.len);
	} else {
		lua_pushstring(L, "_decode_error");
		lua_pushfstring(L, "content decoding failed: %s", err);
		lua_rawset(L, 1);
		lua_pushlstring(L, raw, x->body_len);
	}
	buf_free(&out);
	buf_free(&ce);
}

/* One cookie as k6 shows it: {name, value, domain, path, http_only, secure, max_age,
 * expires (ms since the epoch, 0 when absent)}. */
static void push_cookie(lua_State *L, const char *name, size_t nlen, const char *value, size_t vlen,
                        const char *domain, size_t dlen, const char *path, size_t plen,
                        bool http_only, bool secure, int64_t max_age, int64_t expires_ms)
{
	lua_createtable(L, 0, 8);
	lua_pushlstring(L, name, nlen);
	lua_setfield(L, -2, "name");
	lua_pushlstring(L, value, vlen);
	lua_setfield(L, -2, "value");
	lua_pushlstring(L, domain ? domain : "", domain ? dlen : 0);
	lua_setfield(L, -2, "domain");
	lua_pushlstring(L, path ? path : "", path ? plen : 0);
	lua_setfield(L, -2, "path");
	lua_pushboolean(L, http_only);
	lua_setfield(L, -2, "http_only");
	lua_pushboolean(L, secure);
	lua_setfield(L, -2, "secure");
	lua_pushinteger(L, max_age);
	lua_setfield(L, -2, "max_age");
	lua_pushinteger(L, expires_ms);
	lua_setfield(L, -2, "expires");
}

/* Append the value on top of the stack to the list t[name] of the table below it. */
static void append_to_list(lua_State *L, const char *name, size_t nlen)
{
	lua_pushlstring(L, name, nlen);
	lua_rawget(L, -3);
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushlstring(L, name, nlen);
		lua_pushvalue(L, -2);
		lua_rawset(L, -5);
	}
	lua_insert(L, -2);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	lua_pop(L, 1);
}

/* response.cookies: the response's Set-Cookie fields, name -> list of cookies (k6). */
static void push_res_cookies(lua_State *L, const struct lres *x)
{
	lua_newtable(L);
	const char *p = x->data;
	for (int i = 0; i < x->nheaders; i++) {
		const char *v = p + strlen(p) + 1;
		struct cookie_attrs a;
		if (!strcasecmp(p, "set-cookie") && cookie_parse(v, &a) == 0) {
			push_cookie(L, a.name, a.name_len, a.value, a.value_len, a.domain,
			            a.domain_len, a.path, a.path_len, a.http_only, a.secure,
			            a.has_max_age ? a.max_age_s : 0,
			            a.has_expires ? a.expires_s * 1000 : 0);
			append_to_list(L, a.name, a.name_len);
		}
		p = v + strlen(v) + 1;
	}
}

/* response.__index: the fields not built yet (cached in the table once built). */
static int l_res_index(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	if (lua_type(L, 2) != LUA_TSTRING)
		return 0;
	const char *k = lua_tostring(L, 2);
	lua_pushvalue(L, 2);
	lua_rawget(L, lua_upvalueindex(1)); /* the methods, out of the script's reach */
	if (!lua_isnil(L, -1))
		return 1;
	lua_settop(L, 2);
	const struct lres *x = lres_of(L, 1); /* stays at index 3 while x is used */
	if (!strcmp(k, "body")) {
		push_body(L, x);
	} else if (!strcmp(k, "cookies")) {
		push_res_cookies(L, x);
	} else if (!strcmp(k, "headers")) {
		push_header_table(L, x->data, x->nheaders);
	} else if (!strcmp(k, "timings")) {
		push_timings(L, x);
	} else if (!strcmp(k, "error")) {
		if (!x->err && x->has_body) { /* a body that does not decode says so here */
			lua_getfield(L, 1, "body");
			lua_pop(L, 1);
			lua_pushstring(L, "_decode_error");
			lua_rawget(L, 1);
			if (lua_isstring(L, -1))
				return 1; /* not cached under "error": body may still be read */
			lua_pop(L, 1);
		}
		lua_pushstring(L, x->err ? err_kind_desc(x->err) : "");
	} else if (!strcmp(k, "error_code")) {
		lua_pushinteger(L, x->err ? err_kind_code(x->err) : 0);
	} else if (!strcmp(k, "url")) {
		lua_pushlstring(L, x->data + x->hdr_len + x->body_len, x->url_len);
	} else if (!strcmp(k, "method")) {
		lua_pushstring(L, x->method);
	} else if (!strcmp(k, "proto")) { /* k6: "HTTP/1.1", "HTTP/2.0"; "" when it failed */
		lua_pushstring(L, x->err && !x->status ? "" : call_proto_name(x->proto));
	} else {
		return 0;
	}
	lua_pushvalue(L, 2);
	lua_pushvalue(L, -2);
	lua_rawset(L, 1);
	return 1;
}

static int l_res_json(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_getfield(L, 1, "body");
	size_t n;
	const char *body = lua_tolstring(L, -1, &n);
	if (!body)
		return luaL_error(L, "response has no body to decode (discarded, or the request "
		                     "failed)");
	json_error_t je;
	json_t *j = json_loadb(body, n, JSON_DECODE_ANY, &je);
	if (!j)
		return luaL_error(L, "response body is not JSON: %s (line %d)", je.text, je.line);
	json_to_lua(L, j);
	json_decref(j);
	return 1;
}

static int l_res_header(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	const char *name = luaL_checkstring(L, 2);
	lua_getfield(L, 1, "headers"); /* through __index: built on first use */
	if (!lua_istable(L, -1))
		return luaL_error(L, "response.headers is not a table (%s): was it replaced?",
		                  luaL_typename(L, -1));
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		if (lua_type(L, -2) == LUA_TSTRING && !strcasecmp(lua_tostring(L, -2), name))
			return 1;
		lua_pop(L, 1);
	}
	lua_pushnil(L);
	return 1;
}

/* --- completion, cookies and redirects -------------------------------------------- */

static const char *find_header(const struct http_call *c, const char *name, const char **from)
{
	const char *p = *from ? *from : c->headers.p;
	const char *end = c->headers.p + c->headers.len;
	while (p && p < end) {
		const char *v = p + strlen(p) + 1;
		const char *next = v + strlen(v) + 1;
		if (!strcasecmp(p, name)) {
			*from = next;
			return v;
		}
		p = next;
	}
	return NULL;
}

/* The cookie jar of r: params.jar, or the VU's own (created on first use). */
static struct cookie_jar *req_jar(struct hreq *r)
{
	if (r->jar)
		return r->jar;
	if (!r->lv->jar)
		r->lv->jar = cookie_jar_new();
	return r->lv->jar;
}

/* Keep the response's Set-Cookie fields in r's jar (RFC 6265 §5.3); the ones the jar
 * rejects (a Domain that does not match the host, too large) are ignored, as browsers do. */
static void store_cookies(struct hreq *r, const struct url *u)
{
	const char *from = NULL, *v;
	if (!r->call.set_cookies)
		return;
	struct cookie_url cu = cookie_url_of(u);
	int64_t now = wall_us();
	while ((v = find_header(&r->call, "set-cookie", &from)) != NULL)
		cookie_jar_set_header(req_jar(r), &cu, v, now);
}

/* End r with err at a redirect hop to url that cannot be sent (k6: Go's client returns an
 * error for it): the hop counts as a failed request of its own (status 0, error_code, no
 * time, no bytes; the 3xx before it was recorded as it came) and is the response the script
 * gets, with url as its url. */
static void fail_hop(struct hreq *r, const char *url, enum err_kind err)
{
	struct http_call *c = &r->call;
	int64_t now = now_us();

	r->url.len = 0;
	buf_addstr(&r->url, url);
	c->err = err;
	c->status = 0;
	c->t_start = c->t_conn = c->t_connected = c->t_tls = c->t_send = c->t_end = now;
	c->t_sent = c->t_first = 0; /* never sent */
	c->conn_fresh = false;
	c->bytes_sent = c->bytes_recv = 0;
	c->headers.len = c->body.len = 0;
	c->nheaders = 0;
	hreq_record(r, &r->memo);
}

/* The authority of the absolute URL u (after "scheme://"), or NULL when it has none. */
static char *authority_of(char *u)
{
	char *colon = strchr(u, ':');
	return colon && colon[1] == '/' && colon[2] == '/' ? colon + 3 : NULL;
}

/* Drop the userinfo ("user:pass@") of the absolute http(s) URL u, in place: a redirect
 * target is followed without credentials, as a request URL cannot carry them (url_parse). */
static void strip_userinfo(char *u)
{
	char *auth = authority_of(u);
	if (!auth)
		return;
	size_t n = strcspn(auth, "/?#");
	char *at = NULL;
	for (char *p = auth; p < auth + n; p++)
		if (*p == '@')
			at = p;
	if (at)
		memmove(auth, at + 1, strlen(at + 1) + 1);
}

/* Follow a redirect (RFC 9110 §15.4) from r's response: resolve Location against the
 * current URL (RFC 3986 §5.2, url_resolve), change the method as k6 (Go) does — 301, 302
 * and 303 turn anything but GET and HEAD into a GET without a body or content headers; 307
 * and 308 keep method and body — and on another origin drop the credentials. Returns false
 * when there is nothing to follow; the 3xx is then the response. A target whose scheme is
 * not http or https ("ftp://...", "javascript:...") ends r with ERR_UNSUPPORTED_SCHEME
 * (fail_hop). A target's userinfo is dropped (strip_userinfo). One with an authority that
 * cannot be connected to ("http://h:0/", "http://h:99999/", "http:///x") ends r with
 * ERR_CONNECT, as k6 (Go's dialer) does; one without an authority ("http:/x", as RFC 3986
 * resolves it strictly) is not followed. */
static bool follow_redirect(struct hreq *r)
{
	int st = r->call.status;
	if (r->call.err || r->redirects_left <= 0 ||
	    !(st == 301 || st == 302 || st == 303 || st == 307 || st == 308))
		return false;
	const char *from = NULL;
	const char *loc = find_header(&r->call, "location", &from);
	if (!loc || !*loc)
		return false;
	char err[512];
	char *next = NULL;
	if (url_resolve(r->url.p, loc, &next, err, sizeof(err)) < 0)
		return false;
	if (!url_scheme_is_http(next)) {
		fail_hop(r, next, ERR_UNSUPPORTED_SCHEME);
		free(next);
		return false;
	}
	strip_userinfo(next);
	struct url probe;
	if (url_parse(next, &probe, err, sizeof(err)) < 0) {
		if (authority_of(next))
			fail_hop(r, next, ERR_CONNECT);
		free(next);
		return false;
	}
	url_free(&probe);
	r->redirects_left--;
	if (st <= 303 && strcmp(r->method, "GET") && strcmp(r->method, "HEAD")) {
		snprintf(r->method, sizeof(r->method), "GET");
		r->body.len = 0;
		r->strip_content = true;
	}
	/* RFC 9110 §10.2.2: a Location without a fragment inherits the request's. */
	const char *frag = strchr(r->url.p, '#');
	struct buf keep = { 0 };
	if (frag && !strchr(next, '#'))
		buf_addstr(&keep, frag);
	r->url.len = 0;
	buf_addstr(&r->url, next);
	if (keep.len)
		buf_add(&r->url, keep.p, keep.len);
	buf_free(&keep);
	free(next);

	const struct url *u = vu_url(r->lv, r->url.p, &r->call.target, err, sizeof(err));
	if (!u)
		return false;
	r->call.err = ERR_NONE;
	if (r->call.target != r->first_target)
		r->strip_auth = true; /* and for every later hop, even back to the first origin */
	if (build_bytes(r, u, err, sizeof(err)) < 0)
		return false;
	r->call.head = !strcmp(r->method, "HEAD");
	r->call.idempotent = request_method_idempotent(r->method);
	return true;
}

/* Push what the http call returns: one response, or the batch's list in order. */
static void push_results(lua_State *L, struct lvu *lv)
{
	if (!lv->batch) {
		push_response(L, &lv->reqs[0]);
		return;
	}
	lua_createtable(L, lv->nreqs, 0);
	for (int i = 0; i < lv->nreqs; i++) {
		push_response(L, &lv->reqs[i]);
		lua_rawseti(L, -2, i + 1);
	}
}

/* The continuation of an http call that waited for its requests: it runs inside the VU's
 * lua_resume, so building the responses (which allocates) is under its protection. */
static int results_k(lua_State *L, int status, lua_KContext ctx)
{
	(void)status;
	(void)ctx;
	luaL_checkstack(L, 8, "http: building the responses");
	push_results(L, lvu_of(L));
	return 1;
}

/* Called from the event loop as requests end: resumes the VU when the last one has. Runs
 * no Lua of its own: results_k builds the responses once the VU runs again. */
static void resume_if_ready(struct lvu *lv)
{
	if (lv->pending > 0 || lv->waiting != LW_HTTP)
		return;
	lvu_resume(lv, 0);
}

static bool expect_match(const struct expect_set *e, int status)
{
	for (int i = 0; i < e->n; i++)
		if (status >= e->r[i].min && status <= e->r[i].max)
			return true;
	return false;
}

/* Record r's call with its tags: group and the request's own (name is passed apart). */
static void hreq_record(struct hreq *r, struct http_memo *memo)
{
	struct http_call *c = &r->call;
	if (r->judge_none)
		c->judge = JUDGE_NONE;
	else if (!r->expect)
		c->judge = JUDGE_DEFAULT;
	else /* a status of 0 (no response) is expected only when listed, as in k6 */
		c->judge = expect_match(r->expect, c->status) ? JUDGE_EXPECTED : JUDGE_UNEXPECTED;
	struct tag extra[REQ_TAGS_MAX + 1];
	int n = 0;
	extra[n++] = (struct tag){ "group", r->group };
	const char *p = r->tagbuf.p;
	for (int i = 0; i < r->ntags; i++) { /* the "k\0v\0" pairs of read_tags */
		extra[n].key = p;
		p += strlen(p) + 1;
		extra[n++].value = p;
		p += strlen(p) + 1;
	}
	worker_record_http(r->lv->v->w, r->lv->v, &r->call, r->method, r->name.p, extra, n, memo);
}

static void hreq_done(struct http_call *c)
{
	struct hreq *r = c->ud;
	struct lvu *lv = r->lv;

	hreq_record(r, &r->memo);

	char err[256];
	const struct target *t;
	const struct url *u = c->err ? NULL : vu_url(lv, r->url.p, &t, err, sizeof(err));
	if (u) {
		if (c->nheaders)
			store_cookies(r, u);
		if (follow_redirect(r)) {
			hreq_start(r);
			return;
		}
	}
	lv->pending--;
	resume_if_ready(lv);
}

static void hreq_start(struct hreq *r)
{
	struct http_call *c = &r->call;
	struct lvu *lv = r->lv;
	c->capture = true;
	c->discard_body = !r->capture_body;
	c->req = r->bytes.p;
	c->req_len = r->bytes.len;
	c->done = hreq_done;
	c->ud = r;
	call_start(worker_net(lv->v->w), &lv->v->pool, c);
}

static struct hreq *req_slot(struct lvu *lv, int i)
{
	if (i >= lv->reqs_cap) {
		int cap = MAX(i + 1, lv->reqs_cap * 2);
		lv->reqs = xrealloc(lv->reqs, sizeof(*lv->reqs) * (size_t)cap);
		memset(lv->reqs + lv->reqs_cap, 0,
		       sizeof(*lv->reqs) * (size_t)(cap - lv->reqs_cap));
		for (int j = lv->reqs_cap; j < cap; j++)
			lv->reqs[j].anchor_ref = LUA_NOREF;
		lv->reqs_cap = cap;
	}
	struct hreq *r = &lv->reqs[i];
	r->lv = lv;
	return r;
}

/* Start the prepared requests 0..n-1 and wait for all of them. */
static int run_requests(lua_State *L, struct lvu *lv, int n, bool batch)
{
	lv->nreqs = n;
	lv->batch = batch;
	lv->pending = n;
	lv->waiting = LW_NONE;
	for (int i = 0; i < n; i++)
		hreq_start(&lv->reqs[i]);
	if (lv->pending == 0) { /* all finished at once (e.g. connection refused) */
		push_results(L, lv);
		return 1;
	}
	lv->waiting = LW_HTTP;
	return lua_yieldk(L, 0, 0, results_k);
}

void lua_http_abort_all(struct lvu *lv)
{
	for (int i = 0; i < lv->nreqs && i < lv->reqs_cap; i++) {
		struct hreq *r = &lv->reqs[i];
		struct http_call *c = &r->call;
		if (!c->in_flight)
			continue;
		if (call_reached_server(c)) {
			c->err = ERR_INTERRUPTED;
			c->status = 0;
			c->t_end = now_us();
			hreq_record(r, NULL);
		}
		call_abort(worker_net(lv->v->w), c);
	}
	lv->pending = 0;
}

/* --- the module ------------------------------------------------------------------- */

static struct lvu *http_vu(lua_State *L)
{
	struct lvu *lv = lvu_check_iteration(L, "an HTTP request");
	if (!lv->v)
		luaL_error(L, "HTTP requests cannot be made here");
	if (!lua_isyieldable(L))
		luaL_error(L, "HTTP requests cannot be made here (inside a metamethod or sort?)");
	return lv;
}

static int one(lua_State *L, const char *fn, const char *method, int url, int body, int params)
{
	struct lvu *lv = http_vu(L);
	int top = lua_gettop(L);
	if (params > top || (params && lua_isnil(L, params)))
		params = 0;
	if (body > top)
		body = 0;
	struct hreq *r = req_slot(lv, 0);
	prepare(L, r, fn, method, url, body, params);
	return run_requests(L, lv, 1, false);
}

static int l_get(lua_State *L)
{
	return one(L, "http.get", "GET", 1, 0, 2);
}

static int l_head(lua_State *L)
{
	return one(L, "http.head", "HEAD", 1, 0, 2);
}

static int l_options(lua_State *L)
{
	return one(L, "http.options", "OPTIONS", 1, 2, 3);
}

static int l_post(lua_State *L)
{
	return one(L, "http.post", "POST", 1, 2, 3);
}

static int l_put(lua_State *L)
{
	return one(L, "http.put", "PUT", 1, 2, 3);
}

static int l_patch(lua_State *L)
{
	return one(L, "http.patch", "PATCH", 1, 2, 3);
}

static int l_del(lua_State *L)
{
	return one(L, "http.del", "DELETE", 1, 2, 3);
}

static int l_request(lua_State *L)
{
	const char *method = checkstr(L, 1, "the method");
	return one(L, "http.request", method, 2, 3, 4);
}

/* A jar method's arguments start after the jar itself when called as jar:m(...). */
static struct ljar *jar_args(lua_State *L, int *base)
{
	struct ljar *j = luaL_checkudata(L, lua_upvalueindex(1), JAR_MT);
	*base = lua_touserdata(L, 1) == j ? 2 : 1;
	if (!j->lv && !j->own) /* a finalizer kept it past its own __gc */
		luaL_error(L, "cookie jar used after it was collected");
	return j;
}

static void jar_url(lua_State *L, int idx, struct url *u)
{
	char err[512];
	if (url_parse(checkstr(L, idx, "the URL"), u, err, sizeof(err)) < 0)
		luaL_error(L, "%s", err);
}

/* opts[k] converted as tostring() does (__tostring included), or NULL when nil. The value
 * and its string are left on the stack (two slots, or one for nil): the string is the only
 * reference to the converted text, and later conversions may run Lua and the collector, so
 * the caller pops them only when done with the pointer. */
static const char *opt_string(lua_State *L, int t, const char *k, size_t *len)
{
	luaL_checkstack(L, 2, "jar.set options");
	lua_getfield(L, t, k);
	return lua_isnil(L, -1) ? NULL : luaL_tolstring(L, -1, len);
}

/* jar.set(url, name, value, { domain, path, expires, max_age, secure, http_only }) */
static int l_jar_set(lua_State *L)
{
	int b;
	struct ljar *j = jar_args(L, &b);
	struct url u;
	struct cookie_attrs a = { 0 };
	a.name = luaL_checklstring(L, b + 1, &a.name_len);
	a.value = luaL_checklstring(L, b + 2, &a.value_len);
	int opts = lua_istable(L, b + 3) ? b + 3 : 0;
	if (opts) {
		const char *exp;
		size_t n;
		/* the converted strings stay on the stack until the cookie is stored */
		a.domain = opt_string(L, opts, "domain", &a.domain_len);
		a.path = opt_string(L, opts, "path", &a.path_len);
		if ((exp = opt_string(L, opts, "expires", &n)) != NULL) {
			if (cookie_parse_date(exp, n, &a.expires_s) < 0)
				return luaL_error(
				    L,
				    "jar.set: expires '%s' is not a cookie date (RFC "
				    "6265 §5.1.1, e.g. 'Wed, 09 Jun 2021 10:18:14 GMT')",
				    exp);
			a.has_expires = true;
		}
		lua_getfield(L, opts, "max_age");
		if (!lua_isnil(L, -1)) {
			int isnum;
			a.max_age_s = (int64_t)lua_tointegerx(L, -1, &isnum);
			if (!isnum)
				return luaL_error(L,
				                  "jar.set: max_age must be an integer (seconds), "
				                  "not %s",
				                  luaL_typename(L, -1));
			a.has_max_age = true;
		}
		lua_getfield(L, opts, "secure");
		a.secure = lua_toboolean(L, -1);
		lua_getfield(L, opts, "http_only");
		a.http_only = lua_toboolean(L, -1);
		lua_pop(L, 3);
	}
	char why[320];
	if (wire_check(WIRE_COOKIE_NAME, a.name, a.name_len, "cookie name", why, sizeof(why)) < 0 ||
	    wire_check(WIRE_COOKIE_VALUE, a.value, a.value_len, "cookie value", why, sizeof(why)) <
	        0)
		return luaL_error(L, "jar.set: %s", why);
	jar_url(L, b, &u);
	struct cookie_url cu = cookie_url_of(&u);
	int rc = cookie_jar_store(ljar_get(j), &cu, &a, wall_us());
	url_free(&u);
	if (rc < 0)
		return luaL_error(L, "jar.set: cookie '%s' refused: %s", a.name,
		                  rc == -EPERM   ? "its domain does not match the URL's host"
		                  : rc == -E2BIG ? "too large"
		                                 : "invalid name, value or host");
	return 0;
}

/* A jar cookie into the C buffer ud as a snapshot record (snap_add). */
static int cookie_to_buf(const struct cookie_info *ci, void *ud)
{
	snap_add(ud, SNAP_COOKIE, ci->name, ci->name_len, ci->value, ci->value_len);
	return 0;
}

/* name -> list of values of the cookie records in the buffer (light userdata) at 1. */
static int push_cookie_lists(lua_State *L)
{
	const struct buf *b = lua_touserdata(L, 1);
	struct snap_item it;
	size_t at = 0;
	lua_newtable(L);
	while (snap_next(b, &at, &it)) {
		lua_pushlstring(L, it.value, it.value_len);
		append_to_list(L, it.name, it.name_len);
	}
	return 1;
}

/* jar.cookiesForURL(url): name -> list of values the jar would send to url (k6). The jar is
 * copied out first: building Lua values may run finalizers (__gc), and one that changed the
 * jar (jar.clear) must not do it while cookie_jar_each walks it. */
static int l_jar_cookies_for_url(lua_State *L)
{
	int b;
	struct ljar *j = jar_args(L, &b);
	struct url u;
	struct buf list = { 0 };
	jar_url(L, b, &u);
	struct cookie_url cu = cookie_url_of(&u);
	cookie_jar_each(ljar_get(j), &cu, wall_us(), cookie_to_buf, &list);
	url_free(&u);
	lua_pushcfunction(L, push_cookie_lists);
	lua_pushlightuserdata(L, &list);
	int rc = lua_pcall(L, 1, 1, 0); /* so that list is freed on a memory error too */
	buf_free(&list);
	return rc == LUA_OK ? 1 : lua_error(L);
}

/* jar.clear(url): forget every cookie that would be sent to url's host. */
static int l_jar_clear(lua_State *L)
{
	int b;
	struct ljar *j = jar_args(L, &b);
	struct url u;
	jar_url(L, b, &u);
	cookie_jar_clear_host(ljar_get(j), u.host);
	url_free(&u);
	return 0;
}

/* jar.delete(url, name): forget the cookies called name that would be sent to url. */
static int l_jar_delete(lua_State *L)
{
	int b;
	struct ljar *j = jar_args(L, &b);
	struct url u;
	const char *name = luaL_checkstring(L, b + 1);
	jar_url(L, b, &u);
	struct cookie_url cu = cookie_url_of(&u);
	cookie_jar_delete(ljar_get(j), &cu, name);
	url_free(&u);
	return 0;
}

/* jar.<method>: a closure bound to the jar, so jar.set(...) and jar:set(...) both work. */
static int l_jar_index(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "set", l_jar_set },     { "cookiesForURL", l_jar_cookies_for_url },
		{ "clear", l_jar_clear }, { "delete", l_jar_delete },
		{ NULL, NULL },
	};
	luaL_checkudata(L, 1, JAR_MT);
	const char *k = luaL_checkstring(L, 2);
	for (const luaL_Reg *m = methods; m->name; m++) {
		if (!strcmp(k, m->name)) {
			lua_pushvalue(L, 1);
			lua_pushcclosure(L, m->func, 1);
			return 1;
		}
	}
	return luaL_error(L, "cookie jar has no method '%s'", k);
}

static int l_jar_gc(lua_State *L)
{
	struct ljar *j = luaL_checkudata(L, 1, JAR_MT);
	cookie_jar_free(j->own);
	j->own = NULL;
	return 0;
}

static void push_jar(lua_State *L, struct lvu *lv)
{
	struct ljar *j = lua_newuserdatauv(L, sizeof(*j), 0);
	j->lv = lv;
	j->own = lv ? NULL : cookie_jar_new();
	luaL_setmetatable(L, JAR_MT);
}

/* http.cookieJar(): the VU's own jar (the one requests use by default). */
static int l_cookie_jar(lua_State *L)
{
	struct lvu *lv = lvu_check_iteration(L, "http.cookieJar()");
	push_jar(L, lv);
	return 1;
}

/* http.CookieJar(): a new, empty jar for params.jar (k6's new http.CookieJar()). */
static int l_new_cookie_jar(lua_State *L)
{
	push_jar(L, NULL);
	return 1;
}

static int status_arg(lua_State *L, int idx, const char *what, int arg)
{
	int isnum;
	lua_Integer v = lua_tointegerx(L, idx, &isnum);
	if (!isnum || v < 0 || v > 999)
		luaL_error(L,
		           "http.expectedStatuses: argument %d: %s must be an integer status code "
		           "(0-999), not %s",
		           arg, what, luaL_typename(L, idx));
	return (int)v;
}

/* http.expectedStatuses(200, {min=201, max=299}, ...): k6's status-only response callback. */
static int l_expected_statuses(lua_State *L)
{
	int n = lua_gettop(L);
	if (n == 0)
		return luaL_error(L, "http.expectedStatuses: give at least one status code or "
		                     "{ min = ..., max = ... }");
	if (n > EXPECT_MAX)
		return luaL_error(L, "http.expectedStatuses: at most %d arguments", EXPECT_MAX);
	struct expect_set *e = lua_newuserdatauv(L, sizeof(*e), 0);
	e->n = 0;
	for (int i = 1; i <= n; i++) {
		int lo, hi;
		if (lua_type(L, i) == LUA_TTABLE) {
			lua_getfield(L, i, "min");
			lua_getfield(L, i, "max");
			lo = status_arg(L, -2, "min", i);
			hi = status_arg(L, -1, "max", i);
			lua_pop(L, 2);
			if (lo > hi)
				return luaL_error(
				    L,
				    "http.expectedStatuses: argument %d: min %d is more "
				    "than max %d",
				    i, lo, hi);
		} else {
			lo = hi = status_arg(L, i, "a status", i);
		}
		e->r[e->n].min = lo;
		e->r[e->n].max = hi;
		e->n++;
	}
	luaL_setmetatable(L, EXPECT_MT);
	return 1;
}

/* http.setResponseCallback(cb): the VU's default for what counts as expected; nil turns
 * the expected_response tag and http_req_failed off (k6). */
static int l_set_response_callback(lua_State *L)
{
	struct lvu *lv = lvu_of(L);
	if (!lv)
		return luaL_error(L, "http.setResponseCallback cannot be called here");
	if (!lua_isnoneornil(L, 1) && !luaL_testudata(L, 1, EXPECT_MT))
		return luaL_error(L,
		                  "http.setResponseCallback: the callback must be an "
		                  "http.expectedStatuses(...) object or nil (as in k6), not %s",
		                  luaL_typename(L, 1));
	if (lv->resp_cb_mode == 1)
		luaL_unref(L, LUA_REGISTRYINDEX, lv->resp_cb_ref);
	if (lua_isnoneornil(L, 1)) {
		lv->resp_cb_mode = 2;
		return 0;
	}
	lua_pushvalue(L, 1);
	lv->resp_cb_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lv->resp_cb_mode = 1;
	return 0;
}

/* http.batch{ "url", {"GET", "url"}, {method=, url=, body=, params=} ... } */
static int l_batch(lua_State *L)
{
	struct lvu *lv = http_vu(L);
	luaL_checktype(L, 1, LUA_TTABLE);
	int n = (int)luaL_len(L, 1);
	if (n == 0) {
		lua_pushnil(L);
		if (lua_next(L, 1))
			return luaL_error(L,
			                  "http.batch: give a list of requests ({ r1, r2, ... }); "
			                  "named keys are not supported");
		lua_newtable(L);
		return 1;
	}
	if (n > 1000)
		return luaL_error(L, "http.batch: at most 1000 requests at once");
	for (int i = 0; i < n; i++) {
		struct hreq *r = req_slot(lv, i);
		lua_settop(L, 1);
		lua_rawgeti(L, 1, i + 1);
		int e = lua_gettop(L);
		if (lua_type(L, e) == LUA_TSTRING) {
			prepare(L, r, "http.batch", "GET", e, 0, 0);
			continue;
		}
		if (!lua_istable(L, e))
			return luaL_error(L, "http.batch: request %d must be a URL or a table",
			                  i + 1);
		lua_getfield(L, e, "method");
		lua_getfield(L, e, "url");
		lua_getfield(L, e, "body");
		lua_getfield(L, e, "params");
		if (lua_isnil(L, e + 2)) { /* array form: { method, url, body, params } */
			lua_settop(L, e);
			lua_rawgeti(L, e, 1);
			lua_rawgeti(L, e, 2);
			lua_rawgeti(L, e, 3);
			lua_rawgeti(L, e, 4);
		}
		const char *method = lua_isnil(L, e + 1) ? "GET" : checkstr(L, e + 1, "the method");
		if (!lua_isstring(L, e + 2))
			return luaL_error(L, "http.batch: request %d has no url", i + 1);
		prepare(L, r, "http.batch", method, e + 2, lua_isnil(L, e + 3) ? 0 : e + 3,
		        lua_istable(L, e + 4) ? e + 4 : 0);
	}
	lua_settop(L, 1);
	return run_requests(L, lv, n, true);
}

/* The metatable on top of L hidden from getmetatable and fixed against setmetatable: its
 * metamethods (__gc, __index) take only the objects this module made. */
static void protect_metatable(lua_State *L)
{
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
}

int luaopen_stampede_http(lua_State *L)
{
	if (luaL_newmetatable(L, RESPONSE_MT)) {
		lua_newtable(L);
		lua_pushcfunction(L, l_res_json);
		lua_setfield(L, -2, "json");
		lua_pushcfunction(L, l_res_header);
		lua_setfield(L, -2, "header");
		lua_setfield(L, -2, "methods");
		lua_getfield(L, -1, "methods");
		lua_pushcclosure(L, l_res_index, 1);
		lua_setfield(L, -2, "__index");
		protect_metatable(L);
	}
	lua_pop(L, 1);
	luaL_newmetatable(L, LRES_MT);
	protect_metatable(L);
	lua_pop(L, 1);
	luaL_newmetatable(L, EXPECT_MT);
	protect_metatable(L);
	lua_pop(L, 1);
	if (luaL_newmetatable(L, JAR_MT)) {
		lua_pushcfunction(L, l_jar_index);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, l_jar_gc);
		lua_setfield(L, -2, "__gc");
		protect_metatable(L);
	}
	lua_pop(L, 1);
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &lres_key) != LUA_TTABLE) {
		lua_newtable(L); /* response table -> lres, weak keys (an ephemeron table) */
		lua_createtable(L, 0, 1);
		lua_pushliteral(L, "k");
		lua_setfield(L, -2, "__mode");
		lua_setmetatable(L, -2);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &lres_key);
	}
	lua_pop(L, 1);
	static const luaL_Reg fns[] = {
		{ "get", l_get },
		{ "head", l_head },
		{ "post", l_post },
		{ "put", l_put },
		{ "patch", l_patch },
		{ "del", l_del },
		{ "options", l_options },
		{ "request", l_request },
		{ "batch", l_batch },
		{ "expectedStatuses", l_expected_statuses },
		{ "setResponseCallback", l_set_response_callback },
		{ "cookieJar", l_cookie_jar },
		{ "CookieJar", l_new_cookie_jar },
		{ NULL, NULL },
	};
	luaL_newlib(L, fns);
	return 1;
}
