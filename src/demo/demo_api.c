/* demo_api.c: the demo server's routes, their handlers and the simulated costs of a request. */
#include "demo/demo_api.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "demo/demo_cache.h"
#include "demo/demo_config.h"
#include "demo/demo_data.h"
#include "demo/demo_pool.h"
#include "util/common.h"

#define M(m)          (1u << (m))
#define GET_HEAD      (M(DEMO_GET) | M(DEMO_HEAD))
#define LIMIT_DEFAULT 20
#define LIMIT_MAX     100
#define PASSWORD      "testpassword"
#define TOKEN_SECRET  0x7374616d70656465ULL
#define MAX_QUANTITY  1000

static const struct {
	const char *label;
	unsigned methods;
	bool pooled;
	const char *allow;
} routes[DEMO_ROUTE__COUNT] = {
	[DEMO_ROUTE_LOGIN] = { "/api/auth/login", M(DEMO_POST), true, "POST" },
	[DEMO_ROUTE_PRODUCTS] = { "/api/products", GET_HEAD, true, "GET, HEAD" },
	[DEMO_ROUTE_PRODUCT] = { "/api/products/{id}", GET_HEAD, true, "GET, HEAD" },
	[DEMO_ROUTE_ORDERS] = { "/api/orders", M(DEMO_POST), true, "POST" },
	[DEMO_ROUTE_USER_ORDERS] = { "/api/users/{id}/orders", GET_HEAD, true, "GET, HEAD" },
	[DEMO_ROUTE_HEALTH] = { "/health", GET_HEAD, false, "GET, HEAD" },
	[DEMO_ROUTE_READY] = { "/ready", GET_HEAD, false, "GET, HEAD" },
	[DEMO_ROUTE_METRICS] = { "/metrics", GET_HEAD, false, "GET, HEAD" },
	[DEMO_ROUTE_ADMIN] = { "/admin/config", GET_HEAD | M(DEMO_POST), false, "GET, HEAD, POST" },
	[DEMO_ROUTE_INDEX] = { "/", GET_HEAD, false, "GET, HEAD" },
	[DEMO_ROUTE_API_INDEX] = { "/api", GET_HEAD, false, "GET, HEAD" },
	[DEMO_ROUTE_WS_ECHO] = { "/ws/echo", M(DEMO_GET), false, "GET" },
	[DEMO_ROUTE_WS_CHAT] = { "/ws/chat", M(DEMO_GET), false, "GET" },
	[DEMO_ROUTE_UNMATCHED] = { "unmatched", 0, false, "" },
};

/* What GET / and GET /api list, in this order. */
static const struct {
	const char *method, *path, *about;
} endpoints[] = {
	{ "POST", "/api/auth/login",
	  "{\"email\": \"userN@test.com\" (N = 1..100000), \"password\": \"testpassword\"} "
	  "-> {\"token\", \"userId\"}" },
	{ "GET", "/api/products?page=1&limit=20", "a page of the 10,000 products (or ?cursor=)" },
	{ "GET", "/api/products/{id}", "one product, id 1..10000" },
	{ "POST", "/api/orders",
	  "{\"productId\", \"quantity\", \"shippingAddress\"} with Authorization: Bearer "
	  "<token>" },
	{ "GET", "/api/users/{id}/orders", "a user (1..1000) with their orders" },
	{ "GET", "/health", "liveness" },
	{ "GET", "/ready", "readiness (503 while shutting down)" },
	{ "GET", "/metrics", "Prometheus metrics" },
	{ "GET", "/admin/config", "the knobs (POST a JSON object to change them)" },
	{ "GET", "/api", "this list as JSON" },
	{ "WS", "/ws/echo",
	  "WebSocket echo; text commands close, close:CODE, drop, big:N, frag:N, ping" },
	{ "WS", "/ws/chat?room=lobby",
	  "WebSocket chat: a message goes to every session in the room" },
};

void demo_api_index_text(struct demo_buf *b)
{
	demo_buf_puts(b, "stampede demo: a small JSON API with known behaviour, to load and to "
	                 "analyse (docs/demo.md).\n\n");
	for (size_t i = 0; i < ARRAY_SIZE(endpoints); i++)
		demo_buf_printf(b, "%-5s %-30s %s\n", endpoints[i].method, endpoints[i].path,
		                endpoints[i].about);
}

void demo_api_index_json(struct demo_buf *b)
{
	demo_buf_puts(b, "{\"name\":\"stampede-demo\",\"docs\":\"docs/demo.md\",\"endpoints\":[");
	for (size_t i = 0; i < ARRAY_SIZE(endpoints); i++) {
		demo_buf_puts(b, i ? ",{\"method\":" : "{\"method\":");
		demo_buf_json_str(b, endpoints[i].method, strlen(endpoints[i].method));
		demo_buf_puts(b, ",\"path\":");
		demo_buf_json_str(b, endpoints[i].path, strlen(endpoints[i].path));
		demo_buf_puts(b, ",\"description\":");
		demo_buf_json_str(b, endpoints[i].about, strlen(endpoints[i].about));
		demo_buf_puts(b, "}");
	}
	demo_buf_puts(b, "]}");
}

struct leak_block {
	struct leak_block *next;
};

struct demo_api {
	struct demo_data data;
	struct demo_cache *cache;
	struct demo_stats stats;
	pthread_mutex_t leak_lock;
	struct leak_block *leaks; /* reachable, never freed while the server runs */
	_Atomic int64_t next_order_id;
};

const char *demo_route_label(enum demo_route r)
{
	return (unsigned)r < DEMO_ROUTE__COUNT ? routes[r].label : "unmatched";
}

bool demo_route_allows(enum demo_route r, enum demo_method m)
{
	return (unsigned)r < DEMO_ROUTE__COUNT && (routes[r].methods & M(m));
}

const char *demo_route_allow(enum demo_route r)
{
	return (unsigned)r < DEMO_ROUTE__COUNT ? routes[r].allow : "";
}

bool demo_route_pooled(enum demo_route r)
{
	return (unsigned)r < DEMO_ROUTE__COUNT && routes[r].pooled;
}

static bool seg_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* If path starts with prefix and continues with one non-empty segment, then suffix,
 * return that segment. */
static bool match_param(const char *path, size_t len, const char *prefix, const char *suffix,
                        const char **param, size_t *plen)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);

	if (len <= pl + sl || memcmp(path, prefix, pl) != 0 ||
	    memcmp(path + len - sl, suffix, sl) != 0)
		return false;
	const char *seg = path + pl;
	size_t n = len - pl - sl;
	if (memchr(seg, '/', n))
		return false;
	*param = seg;
	*plen = n;
	return true;
}

enum demo_route demo_route_match(const char *path, size_t len, const char **param,
                                 size_t *param_len)
{
	static const struct {
		const char *path;
		enum demo_route route;
	} exact[] = {
		{ "/health", DEMO_ROUTE_HEALTH },      { "/api/products", DEMO_ROUTE_PRODUCTS },
		{ "/api/orders", DEMO_ROUTE_ORDERS },  { "/api/auth/login", DEMO_ROUTE_LOGIN },
		{ "/ready", DEMO_ROUTE_READY },        { "/metrics", DEMO_ROUTE_METRICS },
		{ "/admin/config", DEMO_ROUTE_ADMIN }, { "/", DEMO_ROUTE_INDEX },
		{ "/api", DEMO_ROUTE_API_INDEX },      { "/ws/echo", DEMO_ROUTE_WS_ECHO },
		{ "/ws/chat", DEMO_ROUTE_WS_CHAT },
	};

	*param = NULL;
	*param_len = 0;
	for (size_t i = 0; i < ARRAY_SIZE(exact); i++)
		if (seg_eq(path, len, exact[i].path))
			return exact[i].route;
	if (match_param(path, len, "/api/products/", "", param, param_len))
		return DEMO_ROUTE_PRODUCT;
	if (match_param(path, len, "/api/users/", "/orders", param, param_len))
		return DEMO_ROUTE_USER_ORDERS;
	return DEMO_ROUTE_UNMATCHED;
}

struct demo_api *demo_api_new(void)
{
	struct demo_api *api = xcalloc(1, sizeof(*api));

	demo_data_generate(&api->data);
	api->cache = demo_cache_new((uint32_t)api->data.nproducts);
	pthread_mutex_init(&api->leak_lock, NULL);
	atomic_init(&api->next_order_id, api->data.norders + 1);
	return api;
}

void demo_api_free(struct demo_api *api)
{
	if (!api)
		return;
	while (api->leaks) {
		struct leak_block *b = api->leaks;
		api->leaks = b->next;
		free(b);
	}
	pthread_mutex_destroy(&api->leak_lock);
	demo_cache_free(api->cache);
	demo_data_free(&api->data);
	free(api);
}

const struct demo_stats *demo_api_stats(const struct demo_api *api)
{
	return &api->stats;
}

void demo_api_cache_flush(struct demo_api *api)
{
	demo_cache_flush(api->cache);
}

/* --- simulated costs ----------------------------------------------------------------- */

static uint64_t ctx_rand(struct demo_ctx *ctx)
{
	/* xorshift64* */
	uint64_t x = ctx->rng ? ctx->rng : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	ctx->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static int64_t thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / NSEC_PER_USEC;
}

/* Burn us microseconds of this thread's CPU time (not wall time: a busy host still costs
 * the same CPU per request). */
static __attribute__((noinline)) void burn_cpu(int64_t us)
{
	static _Atomic uint64_t sink;
	uint64_t x = (uint64_t)us;
	int64_t end = thread_cpu_us() + us;

	do {
		for (int i = 0; i < 2000; i++)
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	} while (thread_cpu_us() < end);
	atomic_store_explicit(&sink, x, memory_order_relaxed);
}

/* Keep n bytes forever (until the server is freed), touched so that RSS grows. */
static void leak(struct demo_api *api, int64_t n)
{
	struct leak_block *b = xmalloc(sizeof(*b) + (size_t)n);

	memset(b + 1, 0x5a, (size_t)n);
	pthread_mutex_lock(&api->leak_lock);
	b->next = api->leaks;
	api->leaks = b;
	pthread_mutex_unlock(&api->leak_lock);
	atomic_fetch_add_explicit(&api->stats.leaked_bytes, (uint64_t)n, memory_order_relaxed);
}

/* One simulated database query: counted, and the worker waits query-latency. A request's
 * queries run back to back: each is due query-latency after the one before it was due, so
 * a late wake-up (a busy machine's scheduling, the timer's slack) shortens the next query
 * instead of adding up over an N+1 request's 30 queries (by at most one query: a wake-up
 * later than that starts the next query afresh). The demo's capacity is then what its
 * knobs say, not what the host's timers make of them. */
static void db_query(struct demo_api *api, struct demo_ctx *ctx)
{
	int64_t lat = ctx->cfg->query_latency_us;
	atomic_fetch_add_explicit(&api->stats.db_queries, 1, memory_order_relaxed);
	if (lat <= 0)
		return;
	int64_t now = now_us();
	int64_t from =
	    ctx->db_due && ctx->db_due <= now && ctx->db_due > now - lat ? ctx->db_due : now;
	ctx->db_due = from + lat;
	demo_pool_sleep_until(ctx->pool, ctx->db_due);
}

/* --- helpers ------------------------------------------------------------------------- */

static int error_body(struct demo_buf *b, int status, const char *msg)
{
	demo_buf_puts(b, "{\"error\":");
	demo_buf_json_str(b, msg, strlen(msg));
	demo_buf_puts(b, "}");
	return status;
}

/* A decimal number of at most 18 digits, no sign. */
static int parse_id(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;

	if (n == 0 || n > 18)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* The value of the first key=value pair named key in the query string. */
static bool query_get(const char *q, size_t qlen, const char *key, const char **val, size_t *vlen)
{
	size_t klen = strlen(key), i = 0;

	while (q && i < qlen) {
		const char *amp = memchr(q + i, '&', qlen - i);
		size_t end = amp ? (size_t)(amp - q) : qlen;
		const char *pair = q + i;
		size_t plen = end - i;

		if (plen >= klen && memcmp(pair, key, klen) == 0 &&
		    (plen == klen || pair[klen] == '=')) {
			*val = plen == klen ? pair + plen : pair + klen + 1;
			*vlen = plen == klen ? 0 : plen - klen - 1;
			return true;
		}
		i = end + 1;
	}
	return false;
}

static void put_product(struct demo_buf *b, const struct demo_product *p)
{
	demo_buf_printf(b,
	                "{\"id\":%d,\"name\":\"%s\",\"category\":\"%s\",\"price\":%d.%02d,"
	                "\"stock\":%d}",
	                p->id, p->name, demo_data_category(p->category), p->price_cents / 100,
	                p->price_cents % 100, p->stock);
}

/* --- handlers ------------------------------------------------------------------------ */

static int products_list(struct demo_api *api, struct demo_ctx *ctx, const struct demo_call *c,
                         struct demo_buf *b)
{
	const char *v;
	size_t vn;
	int64_t limit = LIMIT_DEFAULT, page = 0, start = 0;
	bool by_cursor = query_get(c->query, c->query_len, "cursor", &v, &vn);

	if (by_cursor && vn > 0 && (parse_id(v, vn, &start) < 0 || start > api->data.nproducts))
		return error_body(b, 400, "invalid cursor");
	if (query_get(c->query, c->query_len, "page", &v, &vn)) {
		if (by_cursor)
			return error_body(b, 400, "use either page or cursor, not both");
		if (parse_id(v, vn, &page) < 0 || page < 1 || page > 1000000)
			return error_body(b, 400, "invalid page: expected 1 to 1000000");
	}
	if (query_get(c->query, c->query_len, "limit", &v, &vn) &&
	    (parse_id(v, vn, &limit) < 0 || limit < 1 || limit > LIMIT_MAX))
		return error_body(b, 400, "invalid limit: expected 1 to 100");
	if (!by_cursor)
		start = ((page ? page : 1) - 1) * limit;

	db_query(api, ctx);
	int64_t end = MIN(start + limit, (int64_t)api->data.nproducts);
	demo_buf_puts(b, "{\"data\":[");
	for (int64_t i = start; i < end; i++) {
		if (i > start)
			demo_buf_puts(b, ",");
		put_product(b, &api->data.products[i]);
	}
	demo_buf_puts(b, "]");
	if (!by_cursor)
		demo_buf_printf(b, ",\"page\":%" PRId64, page ? page : 1);
	demo_buf_printf(b, ",\"limit\":%" PRId64 ",\"total\":%d,\"next_cursor\":", limit,
	                api->data.nproducts);
	if (end < api->data.nproducts && end > start)
		demo_buf_printf(b, "\"%" PRId64 "\"}", end);
	else
		demo_buf_puts(b, "null}");
	return 200;
}

static int product_get(struct demo_api *api, struct demo_ctx *ctx, const struct demo_call *c,
                       struct demo_buf *b)
{
	struct demo_stats *st = &api->stats;
	int64_t id;

	if (parse_id(c->param, c->param_len, &id) < 0)
		return error_body(b, 404, "product not found");
	if (ctx->cfg->cache_ttl_us > 0) {
		int64_t now = now_us();
		int32_t value;

		switch (demo_cache_get(api->cache, (uint32_t)MIN(id, INT32_MAX), now, &value)) {
		case DEMO_CACHE_HIT:
			atomic_fetch_add_explicit(&st->cache_hits, 1, memory_order_relaxed);
			break;
		case DEMO_CACHE_COALESCED:
			atomic_fetch_add_explicit(&st->cache_misses, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&st->cache_coalesced, 1, memory_order_relaxed);
			break;
		case DEMO_CACHE_LOAD:
			atomic_fetch_add_explicit(&st->cache_misses, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&st->cache_loads, 1, memory_order_relaxed);
			db_query(api, ctx);
			demo_cache_fill(api->cache, (uint32_t)MIN(id, INT32_MAX), (int32_t)id,
			                now_us() + ctx->cfg->cache_ttl_us);
			break;
		}
	} else {
		db_query(api, ctx);
	}
	const struct demo_product *p = demo_data_product(&api->data, id);
	if (!p)
		return error_body(b, 404, "product not found");
	put_product(b, p);
	return 200;
}

static int user_orders(struct demo_api *api, struct demo_ctx *ctx, const struct demo_call *c,
                       struct demo_buf *b)
{
	int64_t id;
	const struct demo_user *u;

	if (parse_id(c->param, c->param_len, &id) < 0)
		return error_body(b, 404, "user not found");
	db_query(api, ctx); /* the user */
	u = demo_data_user(&api->data, id);
	if (!u)
		return error_body(b, 404, "user not found");
	db_query(api, ctx); /* eager: orders joined with products; N+1: the order ids */
	if (ctx->cfg->n_plus_one)
		for (int32_t i = 0; i < u->norders; i++)
			db_query(api, ctx); /* each order with its product */

	demo_buf_printf(b,
	                "{\"data\":{\"id\":%d,\"name\":\"User %d\",\"email\":\"user%d@test.com\","
	                "\"orders\":[",
	                u->id, u->id, u->id);
	for (int32_t i = 0; i < u->norders; i++) {
		const struct demo_order *o = &api->data.orders[u->first_order + i];
		const struct demo_product *p = demo_data_product(&api->data, o->product_id);

		demo_buf_printf(b,
		                "%s{\"id\":%d,\"productId\":%d,\"productName\":\"%s\","
		                "\"quantity\":%d,\"total\":%d.%02d,\"status\":\"%s\"}",
		                i ? "," : "", o->id, o->product_id, p ? p->name : "", o->quantity,
		                o->total_cents / 100, o->total_cents % 100,
		                demo_data_order_status(o->status));
	}
	demo_buf_puts(b, "]}}");
	return 200;
}

static uint64_t token_mac(int64_t id)
{
	uint64_t z = (uint64_t)id * 0x9e3779b97f4a7c15ULL ^ TOKEN_SECRET;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void demo_api_token(const struct demo_api *api, int64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "demo.%" PRId64 ".%016" PRIx64, id, token_mac(id));
}

/* "userN@test.com" with N in 1..DEMO_LOGIN_USERS: N, else -1. */
static int64_t login_user(const char *email)
{
	const char *at = strchr(email, '@');
	int64_t n;

	if (strncmp(email, "user", 4) != 0 || !at || strcmp(at, "@test.com") != 0 ||
	    email[4] == '0' || parse_id(email + 4, (size_t)(at - email - 4), &n) < 0 || n < 1 ||
	    n > DEMO_LOGIN_USERS)
		return -1;
	return n;
}

static int login(struct demo_api *api, struct demo_ctx *ctx, const struct demo_call *c,
                 struct demo_buf *b)
{
	json_error_t jerr;
	json_t *root = json_loadb(c->body ? c->body : "", c->body_len, 0, &jerr);
	const char *email, *password;
	int status;

	if (!root || !json_is_object(root) || !json_is_string(json_object_get(root, "email")) ||
	    !json_is_string(json_object_get(root, "password"))) {
		status = error_body(b, 400, "expected a JSON object with email and password");
		goto out;
	}
	email = json_string_value(json_object_get(root, "email"));
	password = json_string_value(json_object_get(root, "password"));
	db_query(api, ctx); /* the user by email */
	int64_t id = login_user(email);
	if (id < 0 || strcmp(password, PASSWORD) != 0) {
		status = error_body(b, 401, "invalid email or password");
		goto out;
	}
	char token[64];
	demo_api_token(api, id, token, sizeof(token));
	demo_buf_printf(b, "{\"token\":\"%s\",\"userId\":%" PRId64 "}", token, id);
	status = 200;
out:
	json_decref(root);
	return status;
}

/* The user id of a valid "Bearer demo.<id>.<mac>" Authorization value, else -1. */
static int64_t bearer_user(const struct demo_api *api, const char *v, size_t n)
{
	char want[64];
	int64_t id;

	if (!v || n < 7 || strncasecmp(v, "bearer ", 7) != 0)
		return -1;
	v += 7;
	n -= 7;
	while (n && *v == ' ')
		v++, n--;
	if (n < 5 || memcmp(v, "demo.", 5) != 0)
		return -1;
	const char *dot = memchr(v + 5, '.', n - 5);
	if (!dot || parse_id(v + 5, (size_t)(dot - v - 5), &id) < 0 || id < 1 ||
	    id > DEMO_LOGIN_USERS)
		return -1;
	demo_api_token(api, id, want, sizeof(want));
	return strlen(want) == n && memcmp(want, v, n) == 0 ? id : -1;
}

static int order_create(struct demo_api *api, struct demo_ctx *ctx, const struct demo_call *c,
                        struct demo_buf *b)
{
	json_error_t jerr;
	json_t *root = NULL, *addr;
	int64_t user = bearer_user(api, c->auth, c->auth_len), pid, qty;
	int status;

	if (user < 0)
		return error_body(b, 401, "missing or invalid bearer token");
	root = json_loadb(c->body ? c->body : "", c->body_len, 0, &jerr);
	if (!root || !json_is_object(root)) {
		status = error_body(b, 400, "expected a JSON object");
		goto out;
	}
	if (!json_is_integer(json_object_get(root, "productId")) ||
	    !demo_data_product(&api->data,
	                       pid = json_integer_value(json_object_get(root, "productId")))) {
		status = error_body(b, 400, "productId must be the id of a product");
		goto out;
	}
	if (!json_is_integer(json_object_get(root, "quantity")) ||
	    (qty = json_integer_value(json_object_get(root, "quantity"))) < 1 ||
	    qty > MAX_QUANTITY) {
		status = error_body(b, 400, "quantity must be a whole number from 1 to 1000");
		goto out;
	}
	addr = json_object_get(root, "shippingAddress");
	if (!addr || !((json_is_string(addr) && json_string_length(addr) > 0) ||
	               (json_is_object(addr) && json_object_size(addr) > 0))) {
		status = error_body(b, 400, "shippingAddress must be a non-empty string or object");
		goto out;
	}
	db_query(api, ctx); /* the insert */
	const struct demo_product *p = demo_data_product(&api->data, pid);
	int64_t oid = atomic_fetch_add_explicit(&api->next_order_id, 1, memory_order_relaxed);
	int64_t total = qty * p->price_cents;
	atomic_fetch_add_explicit(&api->stats.orders_created, 1, memory_order_relaxed);
	demo_buf_printf(b,
	                "{\"data\":{\"orderId\":%" PRId64 ",\"userId\":%" PRId64
	                ",\"productId\":%" PRId64 ",\"quantity\":%" PRId64 ",\"total\":%" PRId64
	                ".%02" PRId64 ",\"status\":\"pending\"}}",
	                oid, user, pid, qty, total / 100, total % 100);
	status = 201;
out:
	json_decref(root);
	return status;
}

int demo_api_serve(struct demo_api *api, struct demo_ctx *ctx, const struct demo_call *call,
                   struct demo_buf *body)
{
	const struct demo_config *cfg = ctx->cfg;

	demo_buf_reset(body);
	ctx->db_due = 0; /* a new request: its first query starts when it is made */
	if (cfg->leak_bytes > 0)
		leak(api, cfg->leak_bytes);
	if (cfg->cpu_us > 0)
		burn_cpu(cfg->cpu_us);
	if (cfg->error_rate > 0 && (double)(ctx_rand(ctx) >> 11) * 0x1p-53 < cfg->error_rate) {
		atomic_fetch_add_explicit(&api->stats.injected_errors, 1, memory_order_relaxed);
		return error_body(body, 500, "injected failure (--error-rate)");
	}
	int64_t drift = demo_latency_drift(cfg, now_us());
	if (drift > 0) {
		atomic_fetch_add_explicit(&api->stats.drift_us, (uint64_t)drift,
		                          memory_order_relaxed);
		demo_pool_sleep(ctx->pool, drift);
	}
	switch (call->route) {
	case DEMO_ROUTE_LOGIN:
		return login(api, ctx, call, body);
	case DEMO_ROUTE_PRODUCTS:
		return products_list(api, ctx, call, body);
	case DEMO_ROUTE_PRODUCT:
		return product_get(api, ctx, call, body);
	case DEMO_ROUTE_ORDERS:
		return order_create(api, ctx, call, body);
	case DEMO_ROUTE_USER_ORDERS:
		return user_orders(api, ctx, call, body);
	default:
		return error_body(body, 404, "not found");
	}
}
