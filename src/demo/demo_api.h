/* demo_api.h: the demo server's routes, their handlers and the simulated costs of a request. */
#ifndef STAMPEDE_DEMO_API_H
#define STAMPEDE_DEMO_API_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "demo/demo.h"
#include "demo/demo_buf.h"
#include "demo/demo_http.h"

struct demo_pool;

/* Routes; their labels are the route templates used in /metrics. */
enum demo_route {
	DEMO_ROUTE_LOGIN,       /* POST /api/auth/login */
	DEMO_ROUTE_PRODUCTS,    /* GET /api/products?page=|cursor=&limit= */
	DEMO_ROUTE_PRODUCT,     /* GET /api/products/{id} */
	DEMO_ROUTE_ORDERS,      /* POST /api/orders */
	DEMO_ROUTE_USER_ORDERS, /* GET /api/users/{id}/orders */
	DEMO_ROUTE_HEALTH,      /* GET /health */
	DEMO_ROUTE_READY,       /* GET /ready */
	DEMO_ROUTE_METRICS,     /* GET /metrics */
	DEMO_ROUTE_ADMIN,       /* GET, POST /admin/config */
	DEMO_ROUTE_INDEX,       /* GET / : the endpoints as text */
	DEMO_ROUTE_API_INDEX,   /* GET /api : the endpoints as JSON */
	DEMO_ROUTE_WS_ECHO,     /* GET /ws/echo with a WebSocket handshake (demo_ws) */
	DEMO_ROUTE_WS_CHAT,     /* GET /ws/chat?room=NAME with a WebSocket handshake */
	DEMO_ROUTE_UNMATCHED,   /* anything else, and requests that could not be parsed */
	DEMO_ROUTE__COUNT
};

/* The route template ("/api/products/{id}", ..., "unmatched"). */
const char *demo_route_label(enum demo_route r);

/* Match a path; *param gets the {id} segment of the routes that have one. */
enum demo_route demo_route_match(const char *path, size_t len, const char **param,
                                 size_t *param_len);

/* Whether the route answers method m (HEAD wherever GET). */
bool demo_route_allows(enum demo_route r, enum demo_method m);
/* The Allow header value of a route ("GET, HEAD"). */
const char *demo_route_allow(enum demo_route r);
/* Whether the route is served by the worker pool (the API) or by the front end. */
bool demo_route_pooled(enum demo_route r);

/* The index of the endpoints, for GET / (plain text, for people) and GET /api (JSON:
 * {"name", "docs", "endpoints": [{"method", "path", "description"}...]}), appended to b. */
void demo_api_index_text(struct demo_buf *b);
void demo_api_index_json(struct demo_buf *b);

/* Counters of the simulated backend, read by /metrics. */
struct demo_stats {
	_Atomic uint64_t db_queries;
	_Atomic uint64_t cache_hits;
	_Atomic uint64_t cache_misses; /* = loads + coalesced (+ uncacheable ids) */
	_Atomic uint64_t cache_loads;
	_Atomic uint64_t cache_coalesced;
	_Atomic uint64_t leaked_bytes;
	_Atomic uint64_t injected_errors;
	_Atomic uint64_t orders_created;
	_Atomic uint64_t drift_us; /* latency added by --latency-drift, summed */
};

/* One API request as handed to a worker. */
struct demo_call {
	enum demo_route route;
	enum demo_method method;
	const char *param; /* {id} */
	size_t param_len;
	const char *query;
	size_t query_len;
	const char *auth; /* Authorization value */
	size_t auth_len;
	const char *body;
	size_t body_len;
};

/* What a worker brings to a call: its copy of the knobs, its random state (seed it), and
 * the pool whose sleep simulates query latency (NULL is allowed with no latency). */
struct demo_ctx {
	const struct demo_config *cfg;
	uint64_t rng;
	struct demo_pool *pool;
	int64_t db_due; /* when the request's latest query was due to end (0: none yet) */
};

struct demo_api;

/* The API over a freshly generated catalogue, with an empty cache. */
struct demo_api *demo_api_new(void);
/* Free it, with the deliberately leaked blocks; NULL is accepted. */
void demo_api_free(struct demo_api *api);

/* Counters, for /metrics. */
const struct demo_stats *demo_api_stats(const struct demo_api *api);

/* Forget every cached value (after the TTL changes). */
void demo_api_cache_flush(struct demo_api *api);

/*
 * Serve one call on a worker: leak, burn CPU and maybe fail as the knobs say, wait the
 * latency drift, then run the route's handler with its simulated queries. Writes the JSON
 * body into body (reset first) and returns the status. The route must allow the method.
 */
int demo_api_serve(struct demo_api *api, struct demo_ctx *ctx, const struct demo_call *call,
                   struct demo_buf *body);

/* The bearer token of user id (as login returns it) into buf. */
void demo_api_token(const struct demo_api *api, int64_t id, char *buf, size_t len);

#endif
