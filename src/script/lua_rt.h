/* lua_rt.h: internals shared by the Lua runtime's modules (worker state, VUs, requests). */
#ifndef STAMPEDE_LUA_RT_H
#define STAMPEDE_LUA_RT_H

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "engine/conn.h"
#include "engine/engine.h"
#include "engine/loop.h"
#include "protocol/cookie.h"
#include "protocol/request.h"
#include "protocol/url.h"
#include "script/script.h"

#define GROUP_MAX    512
#define REQ_TAGS_MAX 8

/* An origin, cached per worker (its host is looked up per new connection). */
struct lw_target {
	struct target t;
	struct lw_target *next;
};

/* The Lua side of one worker thread: one lua_State, the compiled factory. */
struct lw {
	lua_State *L;
	struct worker *w; /* NULL in the options/summary states */
	struct script *sc;
	int factory_ref; /* function(_ENV) running the script's top level */
	int base_ref;    /* globals shared (read-only by convention) by the VUs */
	struct lw_target *targets;
	int ntargets;
	/* The count hook (lw_hook) that keeps CPU-bound Lua stoppable: */
	struct lvu *running;    /* the VU whose iteration is resumed; NULL outside iterations */
	lua_State *root;        /* the thread whose return to C ends the current call */
	int64_t check_at_us;    /* the hook looks at the clock again from then on */
	int64_t deadline_us;    /* outside iterations: stop then (0: never); see lw_limit */
	bool watch_signals;     /* outside workers: a pending SIGINT/SIGTERM/SIGHUP stops */
	bool stopping;          /* a stop was decided: every instruction raises until C */
	char deadline_msg[160]; /* the error a passed deadline raises */
	char stop_msg[160];     /* the error being raised */
	/* C closes the state or resets a thread: Lua that still runs there (__close) is ended
	 * at once; Lua runs it protected (luaD_closeprotected), the error is dropped */
	bool cleanup;
};

/* Origins a worker keeps (each a struct target that connections point to). */
#define TARGETS_MAX 4096

/* What a VU's coroutine is suspended on: nothing, requests, a sleep, its turn after
 * computing for a whole time slice (LW_PREEMPT), its interruption: a stop ended its
 * Lua call where it could not yield, and the worker's hard stop is yet to count it
 * (LW_STOPPED), or the events of a WebSocket session (LW_WS: ws.connect, lvu.ws_wait). */
enum lvu_wait { LW_NONE, LW_HTTP, LW_SLEEP, LW_PREEMPT, LW_STOPPED, LW_WS };

struct lws;

struct lvu;

/* One HTTP request of a VU (a single http.* call or one element of http.batch). */
struct hreq {
	struct http_call call;
	struct lvu *lv;
	struct buf bytes; /* serialized request */
	struct buf url;   /* the current URL (changes on redirects) */
	char method[16];
	struct buf name;   /* the `name` tag */
	struct buf tagbuf; /* user tags: ntags "k\0v\0" pairs */
	int ntags;
	const char *group; /* the VU's group when the call was made (lvu_group) */
	int redirects_left;
	bool capture_body;
	int anchor_ref; /* registry ref to a table keeping params.responseCallback and params.jar
	                 * alive while the request is in flight (LUA_NOREF until first needed) */
	struct http_memo memo; /* series of the last call from this slot */
	struct buf memo_key;   /* method, name, group and tags that memo is for */
	struct buf body;       /* request body (for 307/308 redirects) */
	/* What counts as expected (k6's responseCallback): NULL with judge_none false is
	 * the default (200-399); judge_none: not judged at all. */
	const struct expect_set *expect;
	bool judge_none;
	/* redirects: what a hop must no longer send */
	const struct target *first_target; /* origin of the script's URL */
	bool strip_content;                /* the method became GET: no body, no content headers */
	bool strip_auth;                   /* another origin: no Authorization, Host */
	struct request_hdr *hdrs;          /* scratch for the serializer */
	int hdrs_cap;
	/* params.headers and params.cookies as read when the call was made (lua_http.c snap_*):
	 * what the request and every redirect hop send */
	struct buf snap;
	struct buf cookie;      /* the Cookie value: jar + params.cookies */
	struct cookie_jar *jar; /* params.jar, or NULL for the VU's jar */
};

/* http.expectedStatuses(...): status codes and ranges that count as expected. */
#define EXPECT_MAX 64
struct expect_set {
	int n;
	struct {
		int min, max;
	} r[EXPECT_MAX];
};

/* The Lua side of one VU: a coroutine with its own global environment. */
struct lvu {
	struct vu *v; /* NULL for the options state's pseudo-VU */
	struct lw *lw;
	lua_State *co;
	int co_ref, env_ref, data_ref;
	struct cookie_jar *jar; /* the VU's cookie jar (RFC 6265), created on first use */
	/* http.setResponseCallback: 0 default (200-399), 1 resp_cb_ref holds the set, 2 none */
	int resp_cb_mode, resp_cb_ref;
	int scen_env_ref; /* the scenario's env, decoded once */
	enum lvu_wait waiting;
	struct loop_timer timer;
	struct hreq *reqs; /* reused across iterations */
	int nreqs, reqs_cap;
	int pending; /* requests of the current call still in flight */
	bool batch;
	bool in_iteration;
	bool is_setup; /* runs setup(): its return value is kept */
	/* The current group, "::outer::inner": GROUP_MAX bytes made at the first group(),
	 * NULL until then (the root, ""); read it with lvu_group(). */
	char *group_buf;
	/* the last URL parsed by this VU, and its origin (most scripts repeat URLs) */
	char *urlc_s;
	struct url urlc_u;
	const struct target *urlc_t;
	/* series of recent checks: name + group -> series id; CHECK_MEMO_MAX of them, made
	 * at the first check() (an idle VU pays a pointer, not 800 bytes) */
	struct check_memo *checks;
	int nchecks;
	int64_t iter_start_us;
	/* WebSocket sessions of the current iteration (lua_ws.c), and the one waited on */
	struct lws *ws_list, *ws_wait;
};

#define CHECK_MEMO_MAX 8
struct check_memo {
	char key[96];
	int sid;
};

/* The VU's current group: "" at the root. */
static inline const char *lvu_group(const struct lvu *lv)
{
	return lv->group_buf ? lv->group_buf : "";
}

/* The VU whose coroutine is running (stored in the thread's extra space). */
static inline struct lvu *lvu_of(lua_State *L)
{
	return *(struct lvu **)lua_getextraspace(L);
}

/* Raise an error unless called from inside an iteration (not in the init context). */
struct lvu *lvu_check_iteration(lua_State *L, const char *what);

/* Modules. */
int luaopen_stampede_http(lua_State *L);
int luaopen_stampede_metrics(lua_State *L);
int luaopen_stampede_json(lua_State *L);
int luaopen_stampede_data(lua_State *L);
int luaopen_stampede_ws(lua_State *L);

/* End the VU's WebSocket sessions (its iteration ended or was interrupted): connections
 * closed at once, timers stopped, everything freed; a session that was open records its
 * ws_session_duration unless interrupted is true (hard stop). */
void lua_ws_vu_end(struct lvu *lv, bool interrupted);

/* Lua value -> JSON (jansson): a new reference, or NULL with the reason in err (a cycle,
 * nesting deeper than 64, a value JSON cannot hold); raises no Lua error, leaks nothing. */
json_t *lua_to_json_protected(lua_State *L, int idx, char *err, size_t errlen);
void json_to_lua(lua_State *L, const json_t *j);

/* Record a custom or built-in metric sample from a VU with the usual tags (scenario,
 * group, and check when not NULL) plus the user tags in the table at tags_idx of L (0 for
 * none). Trend values are in the histogram's unit (µs, or value * 1000). */
void lvu_record(lua_State *L, struct lvu *lv, int metric, enum metric_type type, double value,
                int tags_idx, const char *check);

/* v's id in the whole test, from 1 (stampede.vu.id, k6's idInTest): under an execution
 * segment, the whole run's number of this instance's v->id (unique across the instances),
 * else v->id. */
int64_t lvu_id_in_test(const struct vu *v);

/* The tags every script sample carries: scenario, group, the scenario's tags. Returns n. */
int lvu_base_tags(struct lvu *lv, struct tag *tags, int max);

/* Resume the VU's coroutine with nargs values on its stack; handles completion/errors. */
void lvu_resume(struct lvu *lv, int nargs);
/* Drop the VU's requests in flight (hard stop); counts the ones the server received. */
void lua_http_abort_all(struct lvu *lv);
/* Release what the http module keeps per VU: its requests (aborting any in flight), the
 * URL cache and the cookie jar. */
void lua_http_vu_free(struct lvu *lv);

/* Limit the Lua code lw runs outside VU iterations (init code, handle_summary) until the
 * next call: once deadline_us passes (monotonic µs, 0: never) it fails with msg; with
 * watch_signals, a pending (blocked) SIGINT, SIGTERM or SIGHUP stops it too. In a worker,
 * init code also stops when the test stops (no error is reported for that). */
void lw_limit(struct lw *lw, int64_t deadline_us, const char *msg, bool watch_signals);
/* The error a pending signal raises under lw_limit's watch_signals. */
#define LW_INTERRUPTED "interrupted by a signal"

/* lua_pcall(lw->L, nargs, nresults, 0) under lw's limits (lw_limit). */
int lw_pcall(struct lw *lw, int nargs, int nresults);

/* Create a lw for sc (compiles the factory). Returns NULL after printing on failure. */
struct lw *lw_new(struct script *sc, struct worker *w);
void lw_free(struct lw *lw);
/* Add stampede.preset and stampede.slo to the table on top of L's stack (lua_preset.c). */
void lua_preset_register(lua_State *L);
/* Create a VU environment and run the script's top level in it (init context). Returns
 * 0, or -1 with the error message pushed on lw->L. */
int lw_init_vu(struct lw *lw, struct lvu *lv);

/* The worker's target for origin scheme_host_port, made on first use (port: decimal, as
 * url_parse gives it); lw owns it until lw_free. NULL once TARGETS_MAX origins exist. */
const struct target *lw_target(struct lw *lw, const char *scheme_host_port, bool tls,
                               const char *host, const char *port);

/* A header name as k6 (Go) gives it: "sec-websocket-accept" -> "Sec-Websocket-Accept",
 * into dst of n bytes (lua_http.c; used by lua_ws.c too). */
void canonical_name(char *dst, const char *src, size_t n);
/* Push a table of n header fields ("name\0value\0" pairs), names canonical, repeated
 * fields joined with ", " (RFC 9110 §5.3), as responses give them. */
void push_header_table(lua_State *L, const char *pairs, int n);

#endif
