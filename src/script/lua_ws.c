/* lua_ws.c: the stampede.ws module (k6/ws): ws.connect and its socket, the VU's coroutine
 * waiting on the session's events and running the script's handlers for them. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/ws.h"
#include "metrics/metrics.h"
#include "script/lua_rt.h"
#include "util/common.h"

#define SOCKET_MT "stampede.ws.socket"
/* The largest message params.maxMessageSize may allow. */
#define WS_MSG_MAX_LIMIT ((int64_t)1 << 30)
/* Handshake header fields ws.connect sets itself. */
static const char *const own_headers[] = { "Upgrade", "Connection", "Sec-WebSocket-Key",
	                                   "Sec-WebSocket-Version", "Sec-WebSocket-Extensions" };

/* Where a ws.connect call is: the handshake, the setup function, then the events. */
enum lws_phase { PH_HANDSHAKE, PH_OPEN, PH_DISPATCH, PH_DONE };

static int connect_warned; /* atomic: the first failed handshake was printed */

/* The series a session records into (its tags are fixed at the handshake). */
enum {
	S_SESSIONS,
	S_DURATION,
	S_CONNECTING,
	S_SENT,
	S_RECEIVED,
	S_PING,
	S_DATA_OUT,
	S_DATA_IN,
	S__N
};

/* The script's socket object: points to its session until ws.connect returns. */
struct lsock {
	struct lws *w;
};

/* One ws.connect call of a VU. */
struct lws {
	struct lvu *lv;
	struct lws *next; /* lv->ws_list */
	struct http_call call;
	struct buf req;
	struct buf url; /* as the script gave it */
	char key[WS_KEY_LEN + 1];
	struct ws_session *ws;
	struct lsock *sock;
	int sock_ref; /* registry ref keeping the socket object alive */
	enum lws_phase phase;
	bool hs_done, opened;
	size_t msg_max;
	/* the event being dispatched: its handlers are called one after the other */
	struct ws_event *cur;
	const char *cur_name;
	int cur_i;
	int next_timer;
	struct buf tagbuf; /* params.tags: ntags "k\0v\0" pairs */
	int ntags;
	struct buf group; /* the group of the call */
	int sid[S__N];
	uint64_t sent_rec, recv_rec; /* bytes already counted in data_sent / data_received */
	int64_t t_start;
	int64_t t_closed; /* when the CLOSE event was taken (0 before) */
};

/* --- ending -------------------------------------------------------------------------- */

static void record(struct lws *w, int s, double v)
{
	struct sink *k = worker_sink(w->lv->v->w);
	if (s == S_DURATION || s == S_CONNECTING || s == S_PING)
		sink_trend(k, w->sid[s], (int64_t)v);
	else
		sink_add(k, w->sid[s], v);
}

/* Count the bytes the session moved since the last call in data_sent / data_received. */
static void record_bytes(struct lws *w)
{
	uint64_t sent, recv;
	if (!w->ws)
		return;
	ws_bytes(w->ws, &sent, &recv);
	if (sent > w->sent_rec)
		record(w, S_DATA_OUT, (double)(sent - w->sent_rec));
	if (recv > w->recv_rec)
		record(w, S_DATA_IN, (double)(recv - w->recv_rec));
	w->sent_rec = sent;
	w->recv_rec = recv;
}

/* Free w (its connection closed at once), recording its duration unless interrupted. */
static void lws_end(struct lws *w, bool interrupted)
{
	struct lvu *lv = w->lv;
	for (struct lws **p = &lv->ws_list; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	if (lv->ws_wait == w)
		lv->ws_wait = NULL;
	if (w->call.in_flight)
		call_abort(worker_net(lv->v->w), &w->call);
	if (w->opened) {
		record_bytes(w);
		if (!interrupted)
			record(w, S_DURATION,
			       (double)((w->t_closed ? w->t_closed : now_us()) - w->t_start));
	}
	ws_session_free(w->ws);
	ws_event_free(w->cur);
	if (w->sock) {
		w->sock->w = NULL;
		luaL_unref(lv->co, LUA_REGISTRYINDEX, w->sock_ref); /* the running thread, if any */
	}
	call_free(&w->call);
	conn_upgraded_close(worker_net(lv->v->w), &w->call.upgraded);
	buf_free(&w->req);
	buf_free(&w->url);
	buf_free(&w->tagbuf);
	buf_free(&w->group);
	free(w);
}

void lua_ws_vu_end(struct lvu *lv, bool interrupted)
{
	while (lv->ws_list)
		lws_end(lv->ws_list, interrupted);
}

/* --- waking the VU ------------------------------------------------------------------- */

/* Resume the VU if it waits for w, from a timer of its own: never inside ws.c or conn.c. */
static void lws_wake(struct lws *w)
{
	struct lvu *lv = w->lv;
	if (lv->waiting == LW_WS && lv->ws_wait == w)
		loop_timer_at(worker_loop(lv->v->w), &lv->timer, 0);
}

static void lws_notify(void *ud)
{
	lws_wake(ud);
}

static void lws_hs_done(struct http_call *c)
{
	struct lws *w = c->ud;
	w->hs_done = true;
	lws_wake(w);
}

/* --- the handshake ------------------------------------------------------------------ */

static bool own_header(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(own_headers); i++)
		if (!strcasecmp(name, own_headers[i]))
			return true;
	return false;
}

/* Drop the calls that raised an error before their handshake started. */
static void sweep_unstarted(struct lvu *lv)
{
	for (struct lws *w = lv->ws_list, *n; w; w = n) {
		n = w->next;
		if (w->phase == PH_HANDSHAKE && !w->t_start)
			lws_end(w, true);
	}
}

/* params.headers copied into w->req as "name\0value\0" records (the script's table is not
 * read again); returns how many. Raises script errors. */
static int snap_headers(lua_State *L, struct lws *w, int params)
{
	int n = 0;
	if (!params || lua_getfield(L, params, "headers") == LUA_TNIL) {
		if (params)
			lua_pop(L, 1);
		return 0;
	}
	int t = lua_gettop(L);
	if (!lua_istable(L, t))
		luaL_error(L, "ws.connect: params.headers must be a table, not %s",
		           luaL_typename(L, t));
	lua_pushnil(L);
	while (lua_next(L, t)) {
		size_t nl, vl;
		if (lua_type(L, -2) != LUA_TSTRING ||
		    (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER))
			luaL_error(L,
			           "ws.connect: params.headers: names and values must be strings");
		lua_pushvalue(L, -1); /* a number is turned into a string in this copy */
		const char *name = lua_tolstring(L, -3, &nl), *v = lua_tolstring(L, -1, &vl);
		if (strlen(name) != nl || strlen(v) != vl)
			luaL_error(L, "ws.connect: params.headers: '%s' holds a NUL byte", name);
		if (own_header(name))
			luaL_error(L, "ws.connect: params.headers: %s is set by ws.connect itself",
			           name);
		if (++n > 60)
			luaL_error(L, "ws.connect: params.headers: more than 60 headers");
		buf_add(&w->req, name, nl + 1);
		buf_add(&w->req, v, vl + 1);
		lua_pop(L, 2);
	}
	lua_pop(L, 1);
	return n;
}

/* params.tags (strings only, at most REQ_TAGS_MAX) into w->tagbuf. */
static void read_tags(lua_State *L, struct lws *w, int params)
{
	if (!params || lua_getfield(L, params, "tags") == LUA_TNIL) {
		if (params)
			lua_pop(L, 1);
		return;
	}
	int t = lua_gettop(L);
	if (!lua_istable(L, t))
		luaL_error(L, "ws.connect: params.tags must be a table, not %s",
		           luaL_typename(L, t));
	lua_pushnil(L);
	while (lua_next(L, t)) {
		if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "ws.connect: params.tags: names and values must be strings");
		if (w->ntags == REQ_TAGS_MAX)
			luaL_error(L, "ws.connect: params.tags: more than %d tags", REQ_TAGS_MAX);
		buf_addstr(&w->tagbuf, lua_tostring(L, -2));
		buf_add(&w->tagbuf, "", 1);
		buf_addstr(&w->tagbuf, lua_tostring(L, -1));
		buf_add(&w->tagbuf, "", 1);
		w->ntags++;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

/* A whole number of bytes from 1 to max, or a script error naming what. */
static int64_t bytes_param(lua_State *L, int idx, const char *what, int64_t max)
{
	int isnum;
	lua_Integer v = lua_tointegerx(L, idx, &isnum);
	if (!isnum || v < 1 || v > max)
		luaL_error(L, "ws.connect: %s must be a whole number of bytes from 1 to %I", what,
		           (lua_Integer)max);
	return v;
}

/* A duration in ms (number) or with a unit ("10s"), more than 0, at most a day. */
static int64_t duration_param(lua_State *L, int idx, const char *what)
{
	int64_t us = 0;
	if (lua_type(L, idx) == LUA_TNUMBER) {
		double ms = lua_tonumber(L, idx);
		if (ms > 0 && ms <= 86400e3)
			return (int64_t)(ms * 1000);
	} else if (lua_type(L, idx) == LUA_TSTRING &&
	           parse_duration(lua_tostring(L, idx), &us) == 0 && us > 0 &&
	           us <= 86400 * USEC_PER_SEC) {
		return us;
	}
	return luaL_error(L,
	                  "%s must be milliseconds (a number) or a duration such as '10s', more "
	                  "than 0 and at most a day",
	                  what);
}

/* The settings of params besides headers and tags. */
static void read_params(lua_State *L, struct lws *w, int params)
{
	const struct engine_cfg *ecfg = worker_cfg(w->lv->v->w);
	w->call.timeout_us = ecfg->timeout_us > 0 ? ecfg->timeout_us : 60 * USEC_PER_SEC;
	w->msg_max = WS_MSG_MAX_DEFAULT;
	if (!params)
		return;
	if (lua_getfield(L, params, "timeout") != LUA_TNIL)
		w->call.timeout_us = duration_param(L, -1, "ws.connect: params.timeout");
	if (lua_getfield(L, params, "maxMessageSize") != LUA_TNIL)
		w->msg_max = (size_t)bytes_param(L, -1, "params.maxMessageSize", WS_MSG_MAX_LIMIT);
	if (lua_getfield(L, params, "compression") != LUA_TNIL)
		luaL_error(L, "ws.connect: params.compression is not supported (messages are "
		              "sent and received uncompressed)");
	lua_pop(L, 3);
}

/* Parse url (ws:// or wss://), serialize the handshake into w->req and set w's target.
 * Raises script errors (nothing allocated is left behind but in w). */
static void prepare(lua_State *L, struct lws *w, const char *url, int params)
{
	struct lvu *lv = w->lv;
	char err[512];
	struct url u;
	bool tls = !strncasecmp(url, "wss://", 6);
	if (!tls && strncasecmp(url, "ws://", 5))
		luaL_error(L, "ws.connect: invalid URL '%s': it must start with ws:// or wss://",
		           url);
	buf_addstr(&w->url, url);
	read_tags(L, w, params);
	read_params(L, w, params);
	w->req.len = 0;
	int nh = snap_headers(L, w, params);
	struct buf http = { 0 }; /* the same URL as http(s):// for url_parse */
	buf_addstr(&http, tls ? "https://" : "http://");
	buf_addstr(&http, url + (tls ? 6 : 5));
	int rc = url_parse(http.p, &u, err, sizeof(err));
	buf_free(&http);
	if (rc < 0)
		luaL_error(L, "ws.connect: invalid URL '%s': %s", url, err);
	struct buf key = { 0 };
	buf_printf(&key, "%s://%s:%s", tls ? "https" : "http", u.host, u.port);
	w->call.target = lw_target(lv->lw, key.p, tls, u.host, u.port);
	buf_free(&key);
	if (!w->call.target)
		snprintf(err, sizeof(err), "too many distinct origins in one run (at most %d)",
		         TARGETS_MAX);
	else if (tls && !worker_net(lv->v->w)->tls_ctx)
		snprintf(err, sizeof(err), "wss:// is not available (no TLS context)");
	else
		err[0] = '\0';
	if (!err[0]) {
		struct request_hdr hdrs[64];
		int n = 0;
		struct buf snap = w->req; /* the records of snap_headers */
		const char *p = snap.p;
		w->req = (struct buf){ 0 };
		ws_make_key(w->key);
		hdrs[n++] = (struct request_hdr){ "Upgrade", 7, "websocket", 9 };
		hdrs[n++] = (struct request_hdr){ "Connection", 10, "Upgrade", 7 };
		hdrs[n++] = (struct request_hdr){ "Sec-WebSocket-Key", 17, w->key, WS_KEY_LEN };
		hdrs[n++] = (struct request_hdr){ "Sec-WebSocket-Version", 21, "13", 2 };
		for (int i = 0; i < nh; i++) {
			size_t nl = strlen(p), vl = strlen(p + nl + 1);
			hdrs[n++] = (struct request_hdr){ p, nl, p + nl + 1, vl };
			p += nl + vl + 2;
		}
		struct request_msg m = {
			.method = "GET",
			.target = u.path,
			.authority = u.authority,
			.headers = hdrs,
			.nheaders = n,
			.user_agent = lv->lw->sc->user_agent,
		};
		request_serialize(&w->req, &m, err, sizeof(err));
		buf_free(&snap);
	}
	url_free(&u);
	if (err[0])
		luaL_error(L, "ws.connect: %s", err);
}

/* --- the handshake's response -------------------------------------------------------- */

static const char *find_header(const struct http_call *c, const char *name)
{
	const char *p = c->headers.p;
	for (int i = 0; p && i < c->nheaders; i++) {
		const char *v = p + strlen(p) + 1;
		if (!strcasecmp(p, name))
			return v;
		p = v + strlen(v) + 1;
	}
	return NULL;
}

/* The response ws.connect returns (k6's): url, status, headers, body, error, error_code. */
static void push_response(lua_State *L, struct lws *w, const char *error, int code)
{
	const struct http_call *c = &w->call;
	lua_createtable(L, 0, 6);
	lua_pushlstring(L, w->url.p, w->url.len);
	lua_setfield(L, -2, "url");
	lua_pushinteger(L, c->status);
	lua_setfield(L, -2, "status");
	push_header_table(L, c->headers.p, c->nheaders);
	lua_setfield(L, -2, "headers");
	lua_pushlstring(L, c->body.p ? c->body.p : "", c->body.len);
	lua_setfield(L, -2, "body");
	if (error) {
		lua_pushstring(L, error);
		lua_setfield(L, -2, "error");
	}
	if (code) {
		lua_pushinteger(L, code);
		lua_setfield(L, -2, "error_code");
	}
}

/* The series of w: tags url, status, group, scenario (and its tags), params.tags; data_sent
 * and data_received by scenario only, as HTTP's. */
static void make_series(struct lws *w, bool opened)
{
	struct lvu *lv = w->lv;
	struct worker *wk = lv->v->w;
	const struct scenario *sc = vu_scenario(lv->v);
	struct tag tags[TAG_MAX];
	char st[16];
	int n = 0;
	tags[n++] = (struct tag){ "scenario", sc->name };
	for (int i = 0; i < sc->ntags && n < TAG_MAX; i++)
		tags[n++] = sc->tags[i];
	w->sid[S_DATA_OUT] = worker_series(wk, M_DATA_SENT, tags, n);
	w->sid[S_DATA_IN] = worker_series(wk, M_DATA_RECEIVED, tags, n);
	if (!opened)
		return;
	snprintf(st, sizeof(st), "%d", w->call.status);
	if (n + 3 <= TAG_MAX) {
		tags[n++] = (struct tag){ "url", w->url.p };
		tags[n++] = (struct tag){ "status", st };
		tags[n++] = (struct tag){ "group", w->group.p ? w->group.p : "" };
	}
	const char *sub = find_header(&w->call, "Sec-WebSocket-Protocol");
	if (sub && *sub && n < TAG_MAX) /* the subprotocol the server chose (k6's subproto) */
		tags[n++] = (struct tag){ "subproto", sub };
	const char *p = w->tagbuf.p;
	for (int i = 0; i < w->ntags; i++) { /* a params tag replaces a built-in one (k6) */
		const char *k = p, *v = p + strlen(p) + 1;
		p = v + strlen(v) + 1;
		int j = 0;
		while (j < n && strcmp(tags[j].key, k))
			j++;
		if (j == n && n == TAG_MAX)
			continue;
		tags[j] = (struct tag){ k, v };
		n += j == n;
	}
	static const int metric[] = {
		[S_SESSIONS] = M_WS_SESSIONS,      [S_DURATION] = M_WS_SESSION_DURATION,
		[S_CONNECTING] = M_WS_CONNECTING,  [S_SENT] = M_WS_MSGS_SENT,
		[S_RECEIVED] = M_WS_MSGS_RECEIVED, [S_PING] = M_WS_PING
	};
	for (int s = 0; s < S_DATA_OUT; s++)
		w->sid[s] = worker_series(wk, metric[s], tags, n);
}

/* The handshake ended: push the response (index 5) and start the session, or say why not.
 * Returns whether the session is open. */
static bool hs_finish(lua_State *L, struct lws *w)
{
	struct http_call *c = &w->call;
	char err[256] = "";
	int code = 0;
	if (c->err) {
		snprintf(err, sizeof(err), "the handshake failed: %s (%s)", err_kind_desc(c->err),
		         err_kind_name(c->err));
		code = err_kind_code(c->err);
	} else if (c->status != 101) {
		snprintf(err, sizeof(err),
		         "the server answered %d to the handshake, not 101 Switching Protocols",
		         c->status);
	} else {
		const char *acc = find_header(c, "Sec-WebSocket-Accept");
		const char *up = find_header(c, "Upgrade");
		const char *ext = find_header(c, "Sec-WebSocket-Extensions");
		if (!acc || !ws_accept_ok(w->key, acc, strlen(acc)))
			snprintf(err, sizeof(err),
			         "the server's Sec-WebSocket-Accept is %s (RFC 6455 §4.1)",
			         acc ? "wrong" : "missing");
		else if (!up || strcasecmp(up, "websocket"))
			snprintf(
			    err, sizeof(err),
			    "the server's 101 upgrades to %s%s%s, not websocket (RFC 6455 §4.1)",
			    up ? "'" : "", up ? up : "nothing", up ? "'" : "");
		else if (ext && *ext)
			snprintf(
			    err, sizeof(err),
			    "the server accepted extensions that were not offered: %.120s (RFC "
			    "6455 §4.1; stampede offers none)",
			    ext);
	}
	if (err[0] && !__atomic_exchange_n(&connect_warned, 1, __ATOMIC_RELAXED))
		fprintf(
		    stderr,
		    "\nstampede: warning: ws.connect(%s) failed: %s (res.error says so for each; "
		    "later failures are not printed)\n",
		    w->url.p, err);
	make_series(w, false);
	record(w, S_DATA_OUT, (double)c->bytes_sent);
	record(w, S_DATA_IN, (double)c->bytes_recv);
	if (!err[0]) {
		struct ws_opts o = { .msg_max = w->msg_max };
		int rc = ws_session_new(&w->ws, worker_net(w->lv->v->w), &c->upgraded,
		                        &c->upgraded_extra, &o, lws_notify, w);
		if (rc < 0)
			snprintf(err, sizeof(err), "cannot start the session: %s", strerror(-rc));
	}
	push_response(L, w, err[0] ? err : NULL, code);
	if (err[0])
		return false;
	w->opened = true;
	make_series(w, true);
	record(w, S_SESSIONS, 1);
	record(w, S_CONNECTING, (double)MAX(0, c->t_end - c->t_start));
	return true;
}

/* --- dispatching events to the script's handlers -------------------------------------- */

static int connect_k(lua_State *L, int status, lua_KContext ctx);

/* Stack of a ws.connect call: its arguments, the socket, then (once the handshake ended)
 * the response it returns. */
enum { I_URL = 1, I_PARAMS, I_FN, I_SOCKET, I_RESPONSE };

static const char *event_name(const struct ws_event *ev)
{
	switch (ev->kind) {
	case WS_EV_TEXT:
		return "message";
	case WS_EV_BINARY:
		return "binaryMessage";
	case WS_EV_PING:
		return "ping";
	case WS_EV_PONG:
		return "pong";
	case WS_EV_TIMER:
		return "timer";
	case WS_EV_ERROR:
		return "error";
	case WS_EV_CLOSE:
		return "close";
	}
	return "?";
}

/* Push the arguments of the current event's handlers; returns how many. */
static int push_args(lua_State *L, const struct lws *w)
{
	const struct ws_event *ev = w->cur;
	if (!ev)
		return 0;
	switch (ev->kind) {
	case WS_EV_TEXT:
	case WS_EV_BINARY:
	case WS_EV_ERROR:
		lua_pushlstring(L, ev->data, ev->len);
		return 1;
	case WS_EV_CLOSE:
		lua_pushinteger(L, ev->code);
		return 1;
	default:
		return 0;
	}
}

/* Push the next handler of the current event (and remove a fired timeout), or nothing
 * and false once all ran. */
static bool next_handler(lua_State *L, struct lws *w)
{
	if (w->cur && w->cur->kind == WS_EV_TIMER) {
		if (w->cur_i++ > 1)
			return false;
		lua_getiuservalue(L, I_SOCKET, 2); /* timers: id -> {fn, repeat} */
		if (lua_rawgeti(L, -1, w->cur->timer_id) != LUA_TTABLE) {
			lua_pop(L, 2);
			return false;
		}
		lua_rawgeti(L, -1, 2);
		bool repeat = lua_toboolean(L, -1);
		lua_pop(L, 1);
		lua_rawgeti(L, -1, 1);
		lua_replace(L, -3); /* fn, entry */
		lua_pop(L, 1);
		if (!repeat) {
			lua_getiuservalue(L, I_SOCKET, 2);
			lua_pushnil(L);
			lua_rawseti(L, -2, w->cur->timer_id);
			lua_pop(L, 1);
		}
		return true;
	}
	lua_getiuservalue(L, I_SOCKET, 1); /* handlers: name -> {fn...} */
	if (lua_getfield(L, -1, w->cur_name) != LUA_TTABLE ||
	    lua_rawgeti(L, -1, w->cur_i) != LUA_TFUNCTION) {
		lua_settop(L, I_RESPONSE);
		return false;
	}
	w->cur_i++;
	lua_replace(L, -3);
	lua_pop(L, 1);
	return true;
}

/* Count a taken event in the session's metrics. */
static void record_event(struct lws *w, const struct ws_event *ev)
{
	if (ev->kind == WS_EV_TEXT || ev->kind == WS_EV_BINARY)
		record(w, S_RECEIVED, 1);
	else if (ev->kind == WS_EV_PONG && ev->rtt_us >= 0)
		record(w, S_PING, (double)ev->rtt_us);
}

static int wait_events(lua_State *L, struct lws *w)
{
	w->lv->waiting = LW_WS;
	w->lv->ws_wait = w;
	return lua_yieldk(L, 0, (lua_KContext)w, connect_k);
}

/* The body of ws.connect after its first part: wait for the handshake, run the setup
 * function, then each event's handlers until the CLOSE event's; every wait yields to the
 * event loop and comes back here (a handler that yields too: lua_callk). */
static int connect_k(lua_State *L, int status, lua_KContext ctx)
{
	struct lws *w = (struct lws *)ctx;
	(void)status;
	for (;;) {
		switch (w->phase) {
		case PH_HANDSHAKE:
			if (!w->hs_done)
				return wait_events(L, w);
			lua_settop(L, I_SOCKET);
			if (!hs_finish(L, w)) {
				lws_end(w, false);
				return 1;
			}
			w->phase = PH_OPEN;
			lua_pushvalue(L, I_FN);
			lua_pushvalue(L, I_SOCKET);
			lua_callk(L, 1, 0, ctx, connect_k);
			break;
		case PH_OPEN: /* the setup function returned: 'open' comes first */
			w->cur_name = "open";
			w->cur_i = 1;
			w->phase = PH_DISPATCH;
			break;
		case PH_DISPATCH:
			lua_settop(L, I_RESPONSE);
			if (w->cur_name) {
				if (next_handler(L, w)) {
					int n = push_args(L, w);
					lua_callk(L, n, 0, ctx, connect_k);
					break;
				}
				if (w->cur && w->cur->kind == WS_EV_CLOSE)
					w->phase = PH_DONE;
				ws_event_free(w->cur);
				w->cur = NULL;
				w->cur_name = NULL;
				break;
			}
			record_bytes(w);
			if (ws_next(w->ws, &w->cur)) {
				if (w->cur->kind == WS_EV_CLOSE)
					w->t_closed = now_us();
				record_event(w, w->cur);
				w->cur_name = event_name(w->cur);
				w->cur_i = 1;
				break;
			}
			return wait_events(L, w);
		case PH_DONE:
			lua_settop(L, I_RESPONSE);
			lws_end(w, false);
			return 1;
		}
	}
}

/* ws.connect(url, [params,] function(socket) ... end): k6's. Returns the handshake's
 * response once the session is over. */
static int l_connect(lua_State *L)
{
	struct lvu *lv = lvu_check_iteration(L, "ws.connect()");
	if (!lv->v)
		return luaL_error(L, "ws.connect() cannot be called here");
	if (!lua_isyieldable(L))
		return luaL_error(L, "ws.connect() cannot be called here (inside a metamethod or "
		                     "sort?)");
	if (lua_gettop(L) == 2 && lua_isfunction(L, 2)) { /* ws.connect(url, fn) */
		lua_pushnil(L);
		lua_insert(L, I_PARAMS);
	}
	lua_settop(L, I_FN);
	size_t len;
	const char *url = luaL_checklstring(L, I_URL, &len);
	if (strlen(url) != len)
		return luaL_error(L, "ws.connect: the URL contains a NUL byte");
	if (!lua_isnil(L, I_PARAMS) && !lua_istable(L, I_PARAMS))
		return luaL_error(L, "ws.connect: params must be a table, not %s",
		                  luaL_typename(L, I_PARAMS));
	if (!lua_isfunction(L, I_FN))
		return luaL_error(L,
		                  "ws.connect: the last argument must be a function(socket), "
		                  "not %s",
		                  luaL_typename(L, I_FN));
	sweep_unstarted(lv);
	struct lws *w = xcalloc(1, sizeof(*w));
	w->lv = lv;
	w->sock_ref = LUA_NOREF;
	w->call.upgraded.fd = -1;
	w->next = lv->ws_list;
	lv->ws_list = w; /* from here on an error leaves w to the iteration's end */
	buf_addstr(&w->group, lvu_group(lv));
	prepare(L, w, url, lua_istable(L, I_PARAMS) ? I_PARAMS : 0);

	struct lsock *s = lua_newuserdatauv(L, sizeof(*s), 2);
	s->w = NULL;
	luaL_setmetatable(L, SOCKET_MT);
	lua_newtable(L);
	lua_setiuservalue(L, I_SOCKET, 1);
	lua_newtable(L);
	lua_setiuservalue(L, I_SOCKET, 2);
	lua_pushvalue(L, I_SOCKET);
	w->sock_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	w->sock = s;
	s->w = w;

	struct http_call *c = &w->call;
	c->req = w->req.p;
	c->req_len = w->req.len;
	c->capture = true;
	c->upgrade = true;
	c->no_reuse = true;
	c->body_max = worker_cfg(lv->v->w)->body_max;
	c->judge = JUDGE_NONE;
	c->done = lws_hs_done;
	c->ud = w;
	w->t_start = now_us();
	call_start(worker_net(lv->v->w), &lv->v->pool, c);
	return connect_k(L, LUA_OK, (lua_KContext)w);
}

/* --- the socket ------------------------------------------------------------------------- */

static const char *const events[] = { "open", "message", "binaryMessage", "ping",
	                              "pong", "close",   "error",         NULL };

/* The socket at index 1 and its session; raises once the session is over. */
static struct lws *check_open(lua_State *L, const char *fn)
{
	struct lsock *s = luaL_checkudata(L, 1, SOCKET_MT);
	if (!s->w || !s->w->ws)
		luaL_error(L, "socket:%s(): the WebSocket session is over (ws.connect returned)",
		           fn);
	return s->w;
}

static int l_on(lua_State *L)
{
	check_open(L, "on");
	int ev = luaL_checkoption(L, 2, NULL, events);
	luaL_checktype(L, 3, LUA_TFUNCTION);
	lua_getiuservalue(L, 1, 1);
	if (lua_getfield(L, -1, events[ev]) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, -3, events[ev]);
	}
	lua_pushvalue(L, 3);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	return 0;
}

/* A refused send: a script error saying why. */
static int send_failed(lua_State *L, struct lws *w, const char *fn, int rc)
{
	if (rc == -ENOBUFS)
		return luaL_error(L,
		                  "socket:%s(): more than %d bytes wait to be sent (the server "
		                  "does not read them)",
		                  fn, (int)w->msg_max);
	return 0; /* closing or closed: nothing is sent, as in k6 */
}

static int send_msg(lua_State *L, bool binary)
{
	const char *fn = binary ? "sendBinary" : "send";
	struct lws *w = check_open(L, fn);
	size_t len;
	const char *p = luaL_checklstring(L, 2, &len);
	int rc = ws_send(w->ws, binary, p, len);
	if (rc == 0) {
		record(w, S_SENT, 1);
		return 0;
	}
	return send_failed(L, w, fn, rc);
}

static int l_send(lua_State *L)
{
	return send_msg(L, false);
}

static int l_send_binary(lua_State *L)
{
	return send_msg(L, true);
}

static int l_ping(lua_State *L)
{
	struct lws *w = check_open(L, "ping");
	int rc = ws_ping(w->ws);
	return rc ? send_failed(L, w, "ping", rc) : 0;
}

static int l_close(lua_State *L)
{
	struct lws *w = check_open(L, "close");
	lua_Integer code = luaL_optinteger(L, 2, 1000);
	/* RFC 6455 §7.4: what an endpoint may send */
	if (!(code == 1000 || (code >= 1001 && code <= 1003) || (code >= 1007 && code <= 1011) ||
	      (code >= 3000 && code <= 4999)))
		return luaL_error(
		    L,
		    "socket:close(%I): not a close code a client may send (1000-1003, "
		    "1007-1011, 3000-4999)",
		    code);
	ws_close(w->ws, (int)code);
	return 0;
}

static int add_timer(lua_State *L, bool repeat)
{
	const char *fn = repeat ? "setInterval" : "setTimeout";
	struct lws *w = check_open(L, fn);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	double ms = luaL_checknumber(L, 3);
	if (!(ms >= 0 && ms <= 86400e3) || (repeat && ms < 1))
		return luaL_error(L, "socket:%s(): %f ms: expected %s to 86400000", fn, ms,
		                  repeat ? "1" : "0");
	int id = ++w->next_timer;
	int rc = ws_timer_add(w->ws, id, (int64_t)(ms * 1000), repeat);
	if (rc == -ENOSPC)
		return luaL_error(L, "socket:%s(): more than %d timers at once", fn, WS_TIMERS_MAX);
	if (rc < 0)
		return 0; /* the session is closed: the timer would never fire */
	lua_getiuservalue(L, 1, 2);
	lua_createtable(L, 2, 0);
	lua_pushvalue(L, 2);
	lua_rawseti(L, -2, 1);
	lua_pushboolean(L, repeat);
	lua_rawseti(L, -2, 2);
	lua_rawseti(L, -2, id);
	return 0;
}

static int l_set_timeout(lua_State *L)
{
	return add_timer(L, false);
}

static int l_set_interval(lua_State *L)
{
	return add_timer(L, true);
}

int luaopen_stampede_ws(lua_State *L)
{
	if (luaL_newmetatable(L, SOCKET_MT)) {
		static const luaL_Reg methods[] = {
			{ "on", l_on },
			{ "send", l_send },
			{ "sendBinary", l_send_binary },
			{ "ping", l_ping },
			{ "close", l_close },
			{ "setTimeout", l_set_timeout },
			{ "setInterval", l_set_interval },
			{ NULL, NULL },
		};
		luaL_newlib(L, methods);
		lua_setfield(L, -2, "__index");
		lua_pushboolean(L, 0);
		lua_setfield(L, -2, "__metatable");
	}
	lua_pop(L, 1);
	static const luaL_Reg fns[] = {
		{ "connect", l_connect },
		{ NULL, NULL },
	};
	luaL_newlib(L, fns);
	return 1;
}
