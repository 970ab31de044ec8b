/* test_demo_ws.c: the demo server's WebSocket module: RFC 6455's accept test vector, the
 * handshake checks, chat rooms, the session limit, and echo through libwslay in memory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "demo/demo_http.h"
#include "demo/demo_ws.h"

static int woken;

static void wake(void *owner)
{
	(void)owner;
	woken++;
}

/* A handshake request as the parser gives it. */
static struct demo_req hs(const char *key, const char *version)
{
	struct demo_req r;

	memset(&r, 0, sizeof(r));
	r.method = DEMO_GET;
	r.minor = 1;
	r.upgrade_websocket = true;
	r.conn_upgrade = true;
	if (key) {
		r.ws_key = key;
		r.ws_key_len = strlen(key);
	}
	if (version) {
		r.ws_version = version;
		r.ws_version_len = strlen(version);
	}
	return r;
}

/* A masked client frame (payload < 126 bytes) into buf; returns its length. */
static size_t client_frame(uint8_t *buf, int fin, int opcode, const char *payload)
{
	static const uint8_t mask[4] = { 1, 2, 3, 4 };
	size_t n = strlen(payload);

	buf[0] = (uint8_t)((fin ? 0x80 : 0) | opcode);
	buf[1] = (uint8_t)(0x80 | n);
	memcpy(buf + 2, mask, 4);
	for (size_t i = 0; i < n; i++)
		buf[6 + i] = (uint8_t)payload[i] ^ mask[i % 4];
	return 6 + n;
}

Test(demo_ws, accept_key_is_rfc6455s_test_vector)
{
	char accept[32];

	demo_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, accept);
	cr_assert_str_eq(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

Test(demo_ws, handshake_checks)
{
	char accept[32];
	const char *why = NULL;
	struct demo_req r = hs("dGhlIHNhbXBsZSBub25jZQ==", "13");

	cr_assert_eq(demo_ws_handshake(&r, accept, &why), 0);
	cr_assert_str_eq(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	r = hs("dGhlIHNhbXBsZSBub25jZQ==", "8");
	cr_assert_eq(demo_ws_handshake(&r, accept, &why), 426);
	r = hs("dGhlIHNhbXBsZSBub25jZQ==", NULL);
	cr_assert_eq(demo_ws_handshake(&r, accept, &why), 400);
	r = hs(NULL, "13");
	cr_assert_eq(demo_ws_handshake(&r, accept, &why), 400);
	r = hs("dGhlIHNhbXBsZSBub25jZQ=", "13"); /* 23 characters */
	cr_assert_eq(demo_ws_handshake(&r, accept, &why), 400);
	r = hs("dGhlIHNhbXBsZSBub25jZR==", "13"); /* not the base64 of 16 bytes */
	cr_assert_eq(demo_ws_handshake(&r, accept, &why), 400);
	r = hs("dGhlIHNhbXBsZSBub25jZQ==", "13");
	r.conn_upgrade = false;
	cr_assert_eq(demo_ws_handshake(&r, accept, &why), 400);
	r = hs("dGhlIHNhbXBsZSBub25jZQ==", "13");
	r.minor = 0;
	cr_assert_eq(demo_ws_handshake(&r, accept, &why), 400);
	cr_assert_not_null(why);
}

Test(demo_ws, room_names)
{
	char q[100];

	cr_assert_eq(demo_ws_room_check(NULL, 0), 0); /* lobby */
	cr_assert_eq(demo_ws_room_check("room=a", 6), 0);
	cr_assert_eq(demo_ws_room_check("x=1&room=b&y=2", 14), 0);
	cr_assert_eq(demo_ws_room_check("room=", 5), -EINVAL);
	memset(q, 'r', sizeof(q));
	memcpy(q, "room=", 5);
	cr_assert_eq(demo_ws_room_check(q, 5 + 64), 0);
	cr_assert_eq(demo_ws_room_check(q, 5 + 65), -EINVAL);
}

Test(demo_ws, session_limit)
{
	struct demo_ws_hub *h = demo_ws_hub_new(wake);
	static struct demo_ws *ws[DEMO_WS_MAX_SESSIONS];
	struct demo_buf out = { 0 };
	struct demo_ws *extra = NULL;
	struct demo_ws_counts c;

	for (int i = 0; i < DEMO_WS_MAX_SESSIONS; i++)
		cr_assert_eq(demo_ws_open(h, i % 2, NULL, 0, NULL, &out, &ws[i]), 0);
	cr_assert(demo_ws_hub_full(h));
	cr_assert_eq(demo_ws_open(h, false, NULL, 0, NULL, &out, &extra), -EBUSY);
	demo_ws_close(ws[0]);
	cr_assert_eq(demo_ws_open(h, false, NULL, 0, NULL, &out, &ws[0]), 0);
	demo_ws_hub_counts(h, &c);
	cr_assert_eq(c.open, DEMO_WS_MAX_SESSIONS);
	cr_assert_eq(c.sessions_total, DEMO_WS_MAX_SESSIONS + 1);
	for (int i = 0; i < DEMO_WS_MAX_SESSIONS; i++)
		demo_ws_close(ws[i]);
	demo_ws_hub_free(h);
}

Test(demo_ws, echo_and_fragments_in_memory)
{
	struct demo_ws_hub *h = demo_ws_hub_new(wake);
	struct demo_buf out = { 0 };
	struct demo_ws *w;
	uint8_t in[256];
	size_t n = 0, used = 0;

	cr_assert_eq(demo_ws_open(h, false, NULL, 0, NULL, &out, &w), 0);
	n += client_frame(in + n, 0, 0x1, "he");
	n += client_frame(in + n, 1, 0x0, "llo");
	/* split inside the second frame's header: nothing is lost between the calls */
	cr_assert_eq(demo_ws_input(w, (const char *)in, 9, &used), DEMO_WS_OPEN);
	cr_assert_eq(used, 9);
	cr_assert_eq(out.len, 0);
	cr_assert_eq(demo_ws_input(w, (const char *)in + 9, n - 9, &used), DEMO_WS_OPEN);
	cr_assert_eq(out.len, 7);
	cr_assert_eq(memcmp(out.data, "\x81\x05hello", 7), 0);
	out.len = 0;
	n = client_frame(in, 1, 0x1, "close:4001");
	cr_assert_eq(demo_ws_input(w, (const char *)in, n, &used), DEMO_WS_CLOSING);
	cr_assert_eq(memcmp(out.data,
	                    "\x88\x05\x0f\xa1"
	                    "bye",
	                    7),
	             0);
	out.len = 0;
	n = client_frame(in, 1, 0x8, "");
	cr_assert_eq(demo_ws_input(w, (const char *)in, n, &used), DEMO_WS_DONE);
	demo_ws_close(w);
	demo_ws_hub_free(h);
	demo_buf_free(&out);
}

Test(demo_ws, chat_wakes_the_other_members)
{
	struct demo_ws_hub *h = demo_ws_hub_new(wake);
	struct demo_buf out[3] = { { 0 } };
	struct demo_ws *w[3];
	uint8_t in[64];
	size_t used;

	for (int i = 0; i < 3; i++)
		cr_assert_eq(demo_ws_open(h, true, "room=t", 6, NULL, &out[i], &w[i]), 0);
	woken = 0;
	size_t n = client_frame(in, 1, 0x2, "hi");
	cr_assert_eq(demo_ws_input(w[1], (const char *)in, n, &used), DEMO_WS_OPEN);
	cr_assert_eq(woken, 2);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(out[i].len, 4);
		cr_assert_eq(memcmp(out[i].data, "\x82\x02hi", 4), 0);
		demo_ws_close(w[i]);
		demo_buf_free(&out[i]);
	}
	demo_ws_hub_free(h);
}
