/* test_ws.c: unit tests for the WebSocket session (engine/ws.c): the handshake key, and
 * frames from a "server" end of a socketpair (raw bytes, RFC 6455 §5.7's examples). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/ws.h"
#include "util/common.h"

Test(ws, accept_is_rfc6455_test_vector)
{
	/* RFC 6455 §1.3 */
	const char *acc = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
	cr_assert(ws_accept_ok("dGhlIHNhbXBsZSBub25jZQ==", acc, strlen(acc)));
	cr_assert_not(ws_accept_ok("dGhlIHNhbXBsZSBub25jZQ==", acc, strlen(acc) - 1));
	cr_assert_not(ws_accept_ok("dGhlIHNhbXBsZSBub25jZR==", acc, strlen(acc)));
}

Test(ws, keys_are_base64_of_16_bytes_and_differ)
{
	char a[WS_KEY_LEN + 1], b[WS_KEY_LEN + 1];
	ws_make_key(a);
	ws_make_key(b);
	cr_assert_eq(strlen(a), WS_KEY_LEN);
	cr_assert_eq(a[22], '=');
	cr_assert_eq(a[23], '=');
	cr_assert_str_neq(a, b);
}

struct fixture {
	struct loop *loop;
	struct netctx nc;
	int conns_open;
	int peer;
	struct ws_session *s;
	int notified;
};

static void on_notify(void *ud)
{
	((struct fixture *)ud)->notified++;
}

/* A session on one end of a socketpair; extra: bytes "read with the 101". */
static void start(struct fixture *f, const void *extra, size_t len, size_t msg_max)
{
	int sv[2];
	memset(f, 0, sizeof(*f));
	cr_assert_eq(loop_new(&f->loop), 0);
	f->nc.loop = f->loop;
	f->nc.conns_open = &f->conns_open;
	f->conns_open = 1;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	f->peer = sv[1];
	struct sock s = { .fd = sv[0], .ops = &sock_plain_ops };
	struct buf b = { 0 };
	buf_add(&b, extra, len);
	struct ws_opts o = { .msg_max = msg_max };
	cr_assert_eq(ws_session_new(&f->s, &f->nc, &s, &b, &o, on_notify, f), 0);
	cr_assert_eq(s.fd, -1);
	cr_assert_eq(b.len, 0);
}

static void stop(struct fixture *f)
{
	ws_session_free(f->s);
	cr_assert_eq(f->conns_open, 0);
	close(f->peer);
	loop_free(f->loop);
}

/* Run the loop until an event is queued (at most 200 turns), and take it. */
static struct ws_event *next_event(struct fixture *f)
{
	struct ws_event *ev = NULL;
	for (int i = 0; i < 200 && !ws_next(f->s, &ev); i++)
		loop_run_once(f->loop, 10000);
	cr_assert_not_null(ev);
	return ev;
}

Test(ws, frames_read_with_the_101_come_first)
{
	struct fixture f;
	/* RFC 6455 §5.7: unmasked "Hello", then the fragmented "Hel" + "lo" */
	static const unsigned char frames[] = { 0x81, 0x05, 'H', 'e', 'l',  'l',  'o', 0x01,
		                                0x03, 'H',  'e', 'l', 0x80, 0x02, 'l', 'o' };
	start(&f, frames, sizeof(frames), 0);
	for (int i = 0; i < 2; i++) {
		struct ws_event *ev = next_event(&f);
		cr_assert_eq(ev->kind, WS_EV_TEXT);
		cr_assert_eq(ev->len, 5);
		cr_assert_str_eq(ev->data, "Hello");
		ws_event_free(ev);
	}
	cr_assert_gt(f.notified, 0);
	stop(&f);
}

Test(ws, server_close_ends_with_its_code)
{
	struct fixture f;
	start(&f, NULL, 0, 0);
	static const unsigned char close_frame[] = { 0x88, 0x02, 0x0f, 0xa1 }; /* 4001 */
	cr_assert_eq(write(f.peer, close_frame, sizeof(close_frame)), sizeof(close_frame));
	struct ws_event *ev = next_event(&f);
	cr_assert_eq(ev->kind, WS_EV_CLOSE);
	cr_assert_eq(ev->code, 4001);
	cr_assert(ws_closed(f.s));
	cr_assert_eq(ws_send(f.s, false, "x", 1), -EPIPE);
	ws_event_free(ev);
	unsigned char reply[16];
	ssize_t n = read(f.peer, reply, sizeof(reply)); /* our Close, masked, same code */
	cr_assert_geq(n, 8);
	cr_assert_eq(reply[0], 0x88);
	cr_assert_eq(reply[1], 0x82);
	stop(&f);
}

Test(ws, oversize_message_fails_with_1009)
{
	struct fixture f;
	start(&f, NULL, 0, 10);
	static const unsigned char big[] = { 0x82, 0x0b, 'x', 'x', 'x', 'x', 'x',
		                             'x',  'x',  'x', 'x', 'x', 'x' };
	cr_assert_eq(write(f.peer, big, sizeof(big)), sizeof(big));
	struct ws_event *ev = next_event(&f);
	cr_assert_eq(ev->kind, WS_EV_ERROR);
	cr_assert(strstr(ev->data, "larger than 10 bytes"));
	ws_event_free(ev);
	ev = next_event(&f);
	cr_assert_eq(ev->kind, WS_EV_CLOSE);
	cr_assert_eq(ev->code, 1009);
	ws_event_free(ev);
	stop(&f);
}

Test(ws, peer_gone_is_1006_with_an_error)
{
	struct fixture f;
	start(&f, NULL, 0, 0);
	shutdown(f.peer, SHUT_RDWR);
	struct ws_event *ev = next_event(&f);
	cr_assert_eq(ev->kind, WS_EV_ERROR);
	ws_event_free(ev);
	ev = next_event(&f);
	cr_assert_eq(ev->kind, WS_EV_CLOSE);
	cr_assert_eq(ev->code, 1006);
	ws_event_free(ev);
	stop(&f);
}

Test(ws, outgoing_queue_is_bounded)
{
	struct fixture f;
	start(&f, NULL, 0, 1 << 20);
	static char chunk[256 * 1024];
	int rc = 0, sent = 0;
	while (rc == 0 && sent < 100) { /* the peer never reads: the queue fills */
		rc = ws_send(f.s, true, chunk, sizeof(chunk));
		sent++;
	}
	cr_assert_eq(rc, -ENOBUFS);
	stop(&f);
}

Test(ws, timers_fire_and_end_with_the_session)
{
	struct fixture f;
	start(&f, NULL, 0, 0);
	cr_assert_eq(ws_timer_add(f.s, 7, 1000, false), 0);
	cr_assert_eq(ws_timer_add(f.s, 8, 1000, true), 0);
	int seen7 = 0, seen8 = 0;
	for (int i = 0; i < 4; i++) {
		struct ws_event *ev = next_event(&f);
		cr_assert_eq(ev->kind, WS_EV_TIMER);
		seen7 += ev->timer_id == 7;
		seen8 += ev->timer_id == 8;
		ws_event_free(ev);
	}
	cr_assert_eq(seen7, 1);
	cr_assert_eq(seen8, 3);
	cr_assert_eq(loop_timer_count(f.loop), 1);
	stop(&f);
}
