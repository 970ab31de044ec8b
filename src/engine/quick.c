/* quick.c: the quick mode's iteration body: one static request per iteration. */
#include "engine/quick.h"

#include <stdlib.h>

#include "util/common.h"

/* A quick-mode VU's state (body_state), made at its first iteration: a script's VUs do
 * without it (each of their requests has its own call). */
struct quick_vu {
	struct http_call call; /* the VU's current request */
	struct http_memo memo; /* its series */
};

static int quick_vu_init(struct vu *v)
{
	v->body_state = xcalloc(1, sizeof(struct quick_vu));
	return 0;
}

static void quick_vu_free(struct vu *v)
{
	struct quick_vu *q = v->body_state;
	if (q)
		call_free(&q->call);
	free(q);
	v->body_state = NULL;
}

static void quick_done(struct http_call *c)
{
	struct vu *v = c->ud;
	struct quick_vu *q = v->body_state;
	const struct engine_cfg *cfg = worker_cfg(v->w);
	worker_record_http(v->w, v, c, cfg->req.method, cfg->req.name, NULL, 0, &q->memo);
	vu_iteration_end_at(v, c->err != ERR_NONE, c->t_end);
}

static void quick_start(struct vu *v)
{
	const struct engine_cfg *cfg = worker_cfg(v->w);
	struct http_call *c = &((struct quick_vu *)v->body_state)->call;
	c->target = &cfg->target;
	c->req = cfg->req.bytes;
	c->req_len = cfg->req.len;
	c->head = cfg->req.head;
	c->idempotent = cfg->req.idempotent;
	c->no_reuse = cfg->req.close; /* it said Connection: close (RFC 9112 §9.6) */
	c->timeout_us = cfg->timeout_us;
	c->body_max = cfg->body_max;
	c->capture = cfg->http_debug != 0; /* --http-debug prints the response headers */
	c->discard_body = cfg->http_debug < 2;
	c->done = quick_done;
	c->ud = v;
	call_start(worker_net(v->w), vu_shared_pool(v, cfg->h2 ? cfg->max_streams : 1), c);
}

/* A request the server has (partly) received is counted as interrupted, so that our count
 * still matches the server's log. */
static void quick_abort(struct vu *v)
{
	struct quick_vu *q = v->body_state;
	if (!q)
		return;
	struct http_call *c = &q->call;
	if (!c->in_flight)
		return;
	if (call_reached_server(c)) {
		const struct engine_cfg *cfg = worker_cfg(v->w);
		c->err = ERR_INTERRUPTED;
		c->status = 0;
		c->t_end = now_us();
		worker_record_http(v->w, v, c, cfg->req.method, cfg->req.name, NULL, 0, NULL);
	}
	call_abort(worker_net(v->w), c);
}

const struct vu_body quick_body = {
	.vu_init = quick_vu_init,
	.vu_free = quick_vu_free,
	.start = quick_start,
	.abort = quick_abort,
};
