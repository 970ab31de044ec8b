/* fuzz_demo_request.c: libFuzzer target for the demo server's request parser and API handlers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo.h"
#include "demo/demo_api.h"
#include "demo/demo_http.h"
#include "demo/demo_metrics.h"

/*
 * Input layout: byte 0 = mode, bytes 1-3 = piece sizes, the rest is the byte stream a client
 * sends on one connection. The stream is parsed twice like a connection would (requests in
 * order, the buffer growing as bytes arrive): once whole, once in pieces; the requests and
 * whether it ends in an error must be identical. Every complete request is routed, and the API routes run on a worker context
 * with no latency (mode bit 0: with the cache, bit 1: N+1, bit 2: small pieces).
 */

static struct demo_api *api;
static struct demo_metrics metrics;

static void fz_mix(uint64_t *h, const void *data, size_t len)
{
	const unsigned char *s = data;

	for (size_t i = 0; i < len; i++) {
		*h ^= s[i];
		*h *= 0x100000001b3ULL;
	}
}

static void fz_mix_int(uint64_t *h, char tag, int64_t v)
{
	fz_mix(h, &tag, 1);
	fz_mix(h, &v, sizeof(v));
}

static bool fz_within(const char *p, size_t n, const char *buf, size_t len)
{
	return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

/* Route and serve one complete request; returns the response status. */
static int fz_serve(const struct demo_req *req, unsigned mode)
{
	struct demo_config cfg;
	struct demo_ctx ctx = { .cfg = &cfg, .rng = 1 };
	struct demo_buf body = { 0 };
	const char *param;
	size_t plen;
	int status;

	demo_config_defaults(&cfg);
	cfg.cache_ttl_us = (mode & 1) ? 1000000 : 0;
	cfg.n_plus_one = mode & 2;
	enum demo_route r = demo_route_match(req->path, req->path_len, &param, &plen);
	if (param && (!fz_within(param, plen, req->path, req->path_len) || plen == 0))
		abort();
	if (r == DEMO_ROUTE_UNMATCHED || !demo_route_allows(r, req->method)) {
		status = r == DEMO_ROUTE_UNMATCHED ? 404 : 405;
	} else if (r == DEMO_ROUTE_ADMIN && req->method == DEMO_POST) {
		char err[256];
		status =
		    demo_config_update_json(&cfg, req->body, req->body_len, err, sizeof(err)) < 0
		        ? 400
		        : 200;
		char *json = demo_config_to_json(&cfg);
		free(json);
	} else if (demo_route_pooled(r)) {
		struct demo_call call = {
			.route = r,
			.method = req->method,
			.param = param,
			.param_len = plen,
			.query = req->query,
			.query_len = req->query_len,
			.auth = req->auth,
			.auth_len = req->auth_len,
			.body = req->body,
			.body_len = req->body_len,
		};
		status = demo_api_serve(api, &ctx, &call, &body);
		if (status < 200 || status > 599 || body.len == 0 || body.data[0] != '{')
			abort();
	} else {
		status = 200;
	}
	demo_metrics_record(&metrics, req->method, r, status, 1);
	demo_buf_free(&body);
	return status;
}

/* Feed the stream in pieces of sizes[i % 3] bytes (all at once when sizes is NULL). */
static uint64_t fz_run(const char *d, size_t n, const size_t *sizes, unsigned mode)
{
	struct demo_parser p;
	struct demo_req req;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t start = 0, avail = 0, piece = 0;

	demo_parser_reset(&p);
	while (avail < n) {
		if (sizes) {
			avail += sizes[piece++ % 3];
			if (avail > n)
				avail = n;
		} else {
			avail = n;
		}
		for (;;) {
			int rc = demo_parser_feed(&p, d + start, avail - start, &req);
			if (rc == DEMO_PARSE_AGAIN)
				break;
			if (rc == DEMO_PARSE_ERROR) {
				if (req.status < 400 || req.status > 505 || !req.error)
					abort();
				/* a request with several faults may be rejected for another one of
				 * them when it comes in pieces (the line was still incomplete) */
				fz_mix_int(&h, 'E', 1);
				return h;
			}
			if (req.total_len == 0 || req.total_len > avail - start ||
			    req.body_len > DEMO_MAX_BODY ||
			    !fz_within(req.body, req.body_len, d + start, avail - start) ||
			    (req.path_len > 1 &&
			     !fz_within(req.path, req.path_len, d + start, avail - start)))
				abort();
			fz_mix_int(&h, 'M', req.method);
			fz_mix(&h, req.path, req.path_len);
			fz_mix_int(&h, 'L', (int64_t)req.total_len);
			fz_mix_int(&h, 'K', req.keep_alive);
			fz_mix_int(&h, 'S', fz_serve(&req, mode));
			start += req.total_len;
			demo_parser_reset(&p);
		}
	}
	fz_mix_int(&h, 'R', (int64_t)(n - start));
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t sizes[3];
	unsigned mode;

	if (size < 4)
		return 0;
	if (!api)
		api = demo_api_new();
	mode = data[0];
	for (int i = 0; i < 3; i++)
		sizes[i] = (mode & 4) ? (data[1 + i] & 7) + 1 : (size_t)data[1 + i] + 1;
	const char *d = (const char *)data + 4;
	size_t n = size - 4;
	uint64_t whole = fz_run(d, n, NULL, mode);
	if (fz_run(d, n, sizes, mode) != whole)
		abort();
	return 0;
}
