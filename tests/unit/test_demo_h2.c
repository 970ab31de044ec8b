/* test_demo_h2.c: the demo server's HTTP/2 module: preface detection, and a request and
 * its response through a libnghttp2 client session in memory. */
#include <criterion/criterion.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo_h2.h"

Test(demo_h2, preface)
{
	const char *p = DEMO_H2_PREFACE;

	cr_assert_eq(demo_h2_is_preface(p, 24), 1);
	cr_assert_eq(demo_h2_is_preface(p, 10), -1);
	cr_assert_eq(demo_h2_is_preface("PRI /x HTTP/1.1\r\n", 17), 0);
	cr_assert_eq(demo_h2_is_preface("GET / HTTP/1.1\r\n", 16), 0);
}

/* What the server side saw, and what the client side got back. */
static struct {
	int requests;
	int status;
	char path[64], query[64];
	size_t body_len;
	struct demo_h2 *h;
	int resp_status;
	char resp_body[64];
	size_t resp_len;
} t;

static void on_request(void *owner, int32_t id, const struct demo_req *req, int status)
{
	(void)owner;
	t.requests++;
	t.status = status;
	snprintf(t.path, sizeof(t.path), "%.*s", (int)req->path_len, req->path);
	snprintf(t.query, sizeof(t.query), "%.*s", (int)req->query_len,
	         req->query ? req->query : "");
	t.body_len = req->body_len;
	demo_h2_respond(t.h, id, 201, "application/json", "{\"ok\":1}", 8, false, "Allow: GET\r\n");
}

static int cl_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                     const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
	(void)s, (void)f, (void)flags, (void)ud;
	if (nl == 7 && memcmp(name, ":status", 7) == 0)
		t.resp_status = atoi((const char *)value); /* NUL-terminated (nghttp2) */
	(void)vl;
	return 0;
}

static int cl_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *ud)
{
	(void)s, (void)flags, (void)id, (void)ud;
	memcpy(t.resp_body + t.resp_len, data, len);
	t.resp_len += len;
	return 0;
}

static ssize_t cl_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                       nghttp2_data_source *src, void *ud)
{
	(void)s, (void)id, (void)src, (void)ud, (void)len;
	memcpy(buf, "abc", 3);
	*flags |= NGHTTP2_DATA_FLAG_EOF;
	return 3;
}

/* Move bytes both ways until neither side has anything to send. */
static void pump(nghttp2_session *client, struct demo_buf *out)
{
	for (int round = 0; round < 20; round++) {
		const uint8_t *data;
		ssize_t n;
		bool moved = false;
		while ((n = nghttp2_session_mem_send(client, &data)) > 0) {
			cr_assert_eq(demo_h2_input(t.h, (const char *)data, (size_t)n), 0);
			moved = true;
		}
		if (out->len) {
			cr_assert_eq(
			    nghttp2_session_mem_recv(client, (const uint8_t *)out->data, out->len),
			    (ssize_t)out->len);
			out->len = 0;
			moved = true;
		}
		demo_h2_output(t.h);
		if (!moved && !out->len)
			return;
	}
}

Test(demo_h2, request_and_response_in_memory)
{
	nghttp2_session_callbacks *cbs;
	nghttp2_session *client;
	struct demo_buf out = { 0 };
	nghttp2_nv nva[] = {
		{ (uint8_t *)":method", (uint8_t *)"POST", 7, 4, 0 },
		{ (uint8_t *)":path", (uint8_t *)"/api/x?a=1", 5, 10, 0 },
		{ (uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0 },
		{ (uint8_t *)":authority", (uint8_t *)"127.0.0.1", 10, 9, 0 },
	};
	nghttp2_data_provider prd = { .read_callback = cl_body };

	memset(&t, 0, sizeof(t));
	cr_assert_eq(demo_h2_new(on_request, NULL, &out, &t.h), 0);
	nghttp2_session_callbacks_new(&cbs);
	nghttp2_session_callbacks_set_on_header_callback(cbs, cl_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, cl_data);
	nghttp2_session_client_new(&client, cbs, NULL);
	nghttp2_session_callbacks_del(cbs);
	nghttp2_submit_settings(client, NGHTTP2_FLAG_NONE, NULL, 0);
	/* mem_send of a client session starts with the preface */
	cr_assert_gt(nghttp2_submit_request(client, NULL, nva, 4, &prd, NULL), 0);
	pump(client, &out);
	cr_assert_eq(t.requests, 1);
	cr_assert_eq(t.status, 0);
	cr_assert_str_eq(t.path, "/api/x");
	cr_assert_str_eq(t.query, "a=1");
	cr_assert_eq(t.body_len, 3);
	cr_assert_eq(t.resp_status, 201);
	cr_assert_eq(t.resp_len, 8);
	cr_assert_eq(memcmp(t.resp_body, "{\"ok\":1}", 8), 0);
	cr_assert_eq(demo_h2_streams(t.h), 0);
	demo_h2_goaway(t.h);
	pump(client, &out);
	cr_assert(demo_h2_done(t.h));
	nghttp2_session_del(client);
	demo_h2_free(t.h);
	demo_buf_free(&out);
}
