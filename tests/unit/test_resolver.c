/* test_resolver.c: the asynchronous resolver against a fake DNS server on 127.0.0.1. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/loop.h"
#include "engine/resolver.h"
#include "util/common.h"

/* --- a fake DNS server: UDP on 127.0.0.1, answers only loopback addresses ---------- */

#define T_A      1
#define T_AAAA   28
#define FD_NAMES 32
#define FD_HELD  32
#define SLOW_US  (300 * 1000)

struct fd_count {
	char name[256];
	int a, aaaa;
};

struct fd_held {
	int64_t due;
	struct sockaddr_in to;
	uint8_t buf[512];
	size_t len;
};

struct fake_dns {
	int fd;
	int wake[2]; /* pipe: stop, or hold released */
	pthread_t th;
	pthread_mutex_t mu;
	bool stop, hold_slow;
	struct fd_count counts[FD_NAMES];
	int ncounts;
	struct fd_held held[FD_HELD];
	int nheld;
	char servers[32]; /* "127.0.0.1:PORT" */
};

static struct fake_dns fk;
static struct loop *lp;

/* Read the question's name (lower case, dotted) and type; returns the question's end. */
static size_t fd_question(const uint8_t *q, size_t len, char *name, size_t cap, int *qtype)
{
	size_t p = 12, n = 0;
	while (p < len && q[p]) {
		size_t l = q[p++];
		if (l > 63 || p + l > len || n + l + 2 > cap)
			return 0;
		if (n)
			name[n++] = '.';
		for (size_t i = 0; i < l; i++)
			name[n++] =
			    (char)(q[p + i] >= 'A' && q[p + i] <= 'Z' ? q[p + i] + 32 : q[p + i]);
		p += l;
	}
	name[n] = '\0';
	if (p + 5 > len)
		return 0;
	*qtype = q[p + 1] << 8 | q[p + 2];
	return p + 5;
}

static void fd_count_query(const char *name, int qtype)
{
	struct fd_count *c = NULL;
	for (int i = 0; i < fk.ncounts && !c; i++)
		if (strcmp(fk.counts[i].name, name) == 0)
			c = &fk.counts[i];
	if (!c && fk.ncounts < FD_NAMES) {
		c = &fk.counts[fk.ncounts++];
		snprintf(c->name, sizeof(c->name), "%s", name);
	}
	if (c && qtype == T_A)
		c->a++;
	else if (c && qtype == T_AAAA)
		c->aaaa++;
}

/* Queries the server has seen for name: A + AAAA, or of one type. */
static int fd_queries(const char *name, int qtype)
{
	int n = 0;
	pthread_mutex_lock(&fk.mu);
	for (int i = 0; i < fk.ncounts; i++)
		if (strcmp(fk.counts[i].name, name) == 0)
			n = qtype == T_A      ? fk.counts[i].a
			    : qtype == T_AAAA ? fk.counts[i].aaaa
			                      : fk.counts[i].a + fk.counts[i].aaaa;
	pthread_mutex_unlock(&fk.mu);
	return n;
}

static size_t fd_answer(uint8_t *out, size_t n, int qtype, const char *addr)
{
	uint8_t rdata[16];
	int family = qtype == T_A ? AF_INET : AF_INET6;
	size_t rdlen = qtype == T_A ? 4 : 16;
	cr_assert_eq(inet_pton(family, addr, rdata), 1);
	const uint8_t rr[] = { 0xc0, 12, 0, (uint8_t)qtype, 0, 1, 0, 0, 1, 44, 0, (uint8_t)rdlen };
	memcpy(out + n, rr, sizeof(rr));
	memcpy(out + n + sizeof(rr), rdata, rdlen);
	out[7]++; /* ANCOUNT */
	return n + sizeof(rr) + rdlen;
}

/* Build the answer to query q in out; returns its length, or 0 for no answer. */
static size_t fd_respond(const uint8_t *q, size_t qlen, uint8_t *out, bool *slow)
{
	static const struct {
		const char *name;
		const char *a[3];
		const char *aaaa;
		int rcode;
	} zone[] = {
		{ "a.test", { "127.0.0.1" }, NULL, 0 },
		{ "multi.test", { "127.0.0.1", "127.0.0.2", "127.0.0.3" }, NULL, 0 },
		{ "v6.test", { NULL }, "::1", 0 },
		{ "both.test", { "127.0.0.1" }, "::1", 0 },
		{ "slow.test", { "127.0.0.1" }, NULL, 0 },
		{ "refused.test", { NULL }, NULL, 5 },
		{ "drop.test", { NULL }, NULL, -1 },
	};
	char name[256];
	int qtype = 0;
	size_t end = fd_question(q, qlen, name, sizeof(name), &qtype);
	if (end == 0 || q[5] != 1)
		return 0;
	fd_count_query(name, qtype);
	int z = -1;
	for (size_t i = 0; i < ARRAY_SIZE(zone) && z < 0; i++)
		if (strcmp(zone[i].name, name) == 0)
			z = (int)i;
	if (z >= 0 && zone[z].rcode < 0)
		return 0;
	*slow = strcmp(name, "slow.test") == 0;
	memcpy(out, q, end);
	out[2] = (uint8_t)(0x80 | (q[2] & 0x79));               /* QR, opcode, RD */
	out[3] = (uint8_t)(0x80 | (z < 0 ? 3 : zone[z].rcode)); /* RA; NXDOMAIN when unknown */
	memset(out + 6, 0, 6);
	size_t n = end;
	for (int i = 0; z >= 0 && qtype == T_A && i < 3 && zone[z].a[i]; i++)
		n = fd_answer(out, n, T_A, zone[z].a[i]);
	if (z >= 0 && qtype == T_AAAA && zone[z].aaaa)
		n = fd_answer(out, n, T_AAAA, zone[z].aaaa);
	return n;
}

/* Send held answers that are due (all of them when stopping). */
static void fd_flush(int64_t now)
{
	for (int i = 0; i < fk.nheld;) {
		struct fd_held *h = &fk.held[i];
		if (fk.hold_slow || h->due > now) {
			i++;
			continue;
		}
		sendto(fk.fd, h->buf, h->len, 0, (struct sockaddr *)&h->to, sizeof(h->to));
		*h = fk.held[--fk.nheld];
	}
}

static void *fd_main(void *arg)
{
	for (;;) {
		pthread_mutex_lock(&fk.mu);
		bool stop = fk.stop;
		fd_flush(now_us());
		int timeout = fk.nheld ? 5 : -1;
		pthread_mutex_unlock(&fk.mu);
		if (stop)
			return NULL;
		struct pollfd p[2] = { { .fd = fk.fd, .events = POLLIN },
			               { .fd = fk.wake[0], .events = POLLIN } };
		if (poll(p, 2, timeout) < 0)
			continue;
		if (p[1].revents) {
			char c;
			(void)!read(fk.wake[0], &c, 1);
		}
		if (!(p[0].revents & POLLIN))
			continue;
		uint8_t q[512], out[512];
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fk.fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		if (n < 12)
			continue;
		bool slow = false;
		pthread_mutex_lock(&fk.mu);
		size_t len = fd_respond(q, (size_t)n, out, &slow);
		if (len && slow && fk.nheld < FD_HELD) {
			struct fd_held *h = &fk.held[fk.nheld++];
			h->due = now_us() + SLOW_US;
			h->to = from;
			memcpy(h->buf, out, len);
			h->len = len;
		} else if (len && !slow) {
			sendto(fk.fd, out, len, 0, (struct sockaddr *)&from, flen);
		}
		pthread_mutex_unlock(&fk.mu);
	}
}

static void fd_wake(void)
{
	(void)!write(fk.wake[1], "x", 1);
}

static void fd_set_hold(bool hold)
{
	pthread_mutex_lock(&fk.mu);
	fk.hold_slow = hold;
	pthread_mutex_unlock(&fk.mu);
	fd_wake();
}

static void suite_init(void)
{
	memset(&fk, 0, sizeof(fk));
	pthread_mutex_init(&fk.mu, NULL);
	fk.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fk.fd, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET,
		                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);
	cr_assert_eq(bind(fk.fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(getsockname(fk.fd, (struct sockaddr *)&sin, &slen), 0);
	snprintf(fk.servers, sizeof(fk.servers), "127.0.0.1:%u", ntohs(sin.sin_port));
	cr_assert_eq(pipe2(fk.wake, O_CLOEXEC), 0);
	cr_assert_eq(pthread_create(&fk.th, NULL, fd_main, NULL), 0);
	cr_assert_eq(loop_new(&lp), 0);
}

static void suite_fini(void)
{
	pthread_mutex_lock(&fk.mu);
	fk.stop = true;
	pthread_mutex_unlock(&fk.mu);
	fd_wake();
	pthread_join(fk.th, NULL);
	close(fk.fd);
	close(fk.wake[0]);
	close(fk.wake[1]);
	loop_free(lp);
}

TestSuite(resolver, .init = suite_init, .fini = suite_fini, .timeout = 30);

/* --- helpers ---------------------------------------------------------------------- */

struct res {
	struct resolver_query q;
	int calls;
	int err;
	union resolver_addr addr;
	socklen_t len;
};

static void on_res(struct resolver_query *q, void *ud, int err, const struct sockaddr *a,
                   socklen_t len)
{
	struct res *x = ud;
	cr_assert_eq(q, &x->q);
	x->calls++;
	x->err = err;
	x->len = len;
	if (err == 0) {
		cr_assert_not_null(a);
		cr_assert_leq(len, sizeof(x->addr));
		memcpy(&x->addr, a, len);
	} else {
		cr_assert_null(a);
	}
}

/* Options that talk only to the fake server. */
static struct resolver_opts test_opts(void)
{
	struct resolver_opts o;
	resolver_opts_init(&o);
	o.servers = fk.servers;
	o.select = RESOLVER_SELECT_FIRST;
	return o;
}

static struct resolver *mk(const struct resolver_opts *o)
{
	struct resolver *r = NULL;
	cr_assert_eq(o->servers, fk.servers, "tests only ever use the fake server");
	cr_assert_eq(resolver_new(lp, o, 42, &r), 0);
	cr_assert_not_null(r);
	return r;
}

/* Run the loop until *calls is non-zero (bounded: 10 s). */
static void wait_for(const int *calls)
{
	int64_t deadline = now_us() + 10 * USEC_PER_SEC;
	while (!*calls && now_us() < deadline)
		cr_assert_eq(loop_run_once(lp, 20 * 1000), 0);
	cr_assert(*calls, "no answer within the bound");
}

static void lookup(struct resolver *r, struct res *x, const char *host, uint16_t port)
{
	memset(x, 0, sizeof(*x));
	resolver_lookup(r, &x->q, host, port, on_res, x);
}

/* Look up host and wait for the answer; returns whether it came synchronously. */
static bool lookup_wait(struct resolver *r, struct res *x, const char *host)
{
	lookup(r, x, host, 80);
	bool sync = x->calls > 0;
	wait_for(&x->calls);
	cr_assert_eq(x->calls, 1);
	return sync;
}

static char *ntop(const struct res *x, char *buf, size_t len)
{
	const void *a = x->addr.sa.sa_family == AF_INET ? (const void *)&x->addr.in.sin_addr
	                                                : (const void *)&x->addr.in6.sin6_addr;
	return (char *)inet_ntop(x->addr.sa.sa_family, a, buf, (socklen_t)len);
}

static void expect_addr(const struct res *x, const char *want, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];
	cr_assert_eq(x->err, 0, "error %d (%s)", x->err, resolver_strerror(x->err));
	cr_expect_str_eq(ntop(x, buf, sizeof(buf)), want);
	if (x->addr.sa.sa_family == AF_INET) {
		cr_expect_eq(x->len, sizeof(struct sockaddr_in));
		cr_expect_eq(ntohs(x->addr.in.sin_port), port);
	} else {
		cr_expect_eq(x->len, sizeof(struct sockaddr_in6));
		cr_expect_eq(ntohs(x->addr.in6.sin6_port), port);
	}
}

/* --- tests ------------------------------------------------------------------------ */

Test(resolver, ip_literals_answer_synchronously)
{
	struct resolver_opts o = test_opts();
	struct resolver *r = mk(&o);
	struct res x;

	lookup(r, &x, "127.0.0.1", 8080);
	cr_assert_eq(x.calls, 1);
	expect_addr(&x, "127.0.0.1", 8080);
	lookup(r, &x, "::1", 443);
	cr_assert_eq(x.calls, 1);
	expect_addr(&x, "::1", 443);
	lookup(r, &x, "[::1]", 80);
	cr_assert_eq(x.calls, 1);
	expect_addr(&x, "::1", 80);

	unsigned lo = if_nametoindex("lo");
	if (lo) {
		lookup(r, &x, "fe80::1%lo", 80);
		cr_assert_eq(x.calls, 1);
		expect_addr(&x, "fe80::1", 80);
		cr_expect_eq(x.addr.in6.sin6_scope_id, lo);
	}
	lookup(r, &x, "fe80::1%7", 80);
	cr_assert_eq(x.calls, 1);
	cr_expect_eq(x.addr.in6.sin6_scope_id, 7);
	lookup(r, &x, "fe80::1%nosuchif0", 80);
	cr_assert_eq(x.calls, 1);
	cr_expect_eq(x.err, RESOLVER_EBADNAME);
	lookup(r, &x, "[127.0.0.1", 80);
	cr_expect_eq(x.calls, 1);
	cr_expect_eq(x.err, RESOLVER_EBADNAME);
	lookup(r, &x, "", 80);
	cr_expect_eq(x.calls, 1);
	cr_expect_eq(x.err, RESOLVER_EBADNAME);
	lookup(r, &x, "bad name", 80);
	cr_expect_eq(x.calls, 1);
	cr_expect_eq(x.err, RESOLVER_EBADNAME);
	resolver_free(r);
}

Test(resolver, localhost_never_reaches_the_server)
{
	struct resolver_opts o = test_opts();
	o.policy = RESOLVER_ANY;
	struct resolver *r = mk(&o);
	struct res x;
	char buf[INET6_ADDRSTRLEN];

	lookup_wait(r, &x, "localhost");
	cr_assert_eq(x.err, 0, "%s", resolver_strerror(x.err));
	ntop(&x, buf, sizeof(buf));
	cr_expect(strncmp(buf, "127.", 4) == 0 || strcmp(buf, "::1") == 0, "localhost is %s", buf);
	cr_expect_eq(fd_queries("localhost", 0), 0, "c-ares answers localhost itself (RFC 6761)");
	resolver_free(r);
}

/* A name that /etc/hosts maps to a 127.x address, if it has one besides localhost. */
static bool hosts_loopback_name(char *name, size_t cap, char *addr, size_t acap)
{
	FILE *f = fopen("/etc/hosts", "r");
	char line[512];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f)) {
		char *save = NULL, *a = strtok_r(line, " \t\r\n", &save);
		if (!a || a[0] == '#' || strncmp(a, "127.", 4) != 0)
			continue;
		for (char *n = strtok_r(NULL, " \t\r\n", &save); n && !found;
		     n = strtok_r(NULL, " \t\r\n", &save)) {
			if (n[0] == '#')
				break;
			if (strcasecmp(n, "localhost") && strlen(n) < cap && strlen(a) < acap) {
				strcpy(name, n);
				strcpy(addr, a);
				found = true;
			}
		}
	}
	if (f)
		fclose(f);
	return found;
}

Test(resolver, etc_hosts_names_resolve_without_dns)
{
	char name[256], addr[64];
	if (!hosts_loopback_name(name, sizeof(name), addr, sizeof(addr)))
		cr_skip_test("/etc/hosts maps no other name to 127.x");
	struct resolver_opts o = test_opts();
	o.policy = RESOLVER_ONLY_IPV4;
	struct resolver *r = mk(&o);
	struct res x;
	lookup_wait(r, &x, name);
	expect_addr(&x, addr, 80);
	cr_expect_eq(fd_queries(name, 0), 0);
	resolver_free(r);
}

Test(resolver, cache_hit_is_synchronous_and_queries_once)
{
	struct resolver_opts o = test_opts();
	struct resolver *r = mk(&o);
	struct res x;

	cr_expect_not(lookup_wait(r, &x, "a.test"), "a name goes to the server");
	expect_addr(&x, "127.0.0.1", 80);
	int sent = fd_queries("a.test", 0);
	cr_expect_eq(sent, 2, "preferIPv4 asks for A and AAAA once");

	lookup(r, &x, "A.Test", 9000);
	cr_assert_eq(x.calls, 1, "a cache hit answers before resolver_lookup returns");
	expect_addr(&x, "127.0.0.1", 9000);
	cr_expect_eq(fd_queries("a.test", 0), sent);
	resolver_free(r);
}

Test(resolver, ttl_zero_resolves_every_time)
{
	struct resolver_opts o = test_opts();
	o.ttl_us = 0;
	o.policy = RESOLVER_ONLY_IPV4;
	struct resolver *r = mk(&o);
	struct res x;

	cr_expect_not(lookup_wait(r, &x, "a.test"));
	cr_expect_not(lookup_wait(r, &x, "a.test"));
	expect_addr(&x, "127.0.0.1", 80);
	cr_expect_eq(fd_queries("a.test", T_A), 2);
	cr_expect_eq(fd_queries("a.test", T_AAAA), 0, "onlyIPv4 sends no AAAA query");
	resolver_free(r);
}

Test(resolver, expired_entries_are_resolved_again)
{
	struct resolver_opts o = test_opts();
	o.ttl_us = 1;
	o.policy = RESOLVER_ONLY_IPV4;
	struct resolver *r = mk(&o);
	struct res x;

	lookup_wait(r, &x, "a.test");
	int64_t t = loop_now(lp);
	while (loop_now(lp) <= t + 1)
		cr_assert_eq(loop_run_once(lp, 1000), 0);
	cr_expect_not(lookup_wait(r, &x, "a.test"));
	expect_addr(&x, "127.0.0.1", 80);
	cr_expect_eq(fd_queries("a.test", T_A), 2);
	resolver_free(r);
}

Test(resolver, forever_ttl_keeps_answers)
{
	struct resolver_opts o = test_opts();
	char err[128];
	cr_assert_eq(resolver_parse_ttl("inf", &o.ttl_us, err, sizeof(err)), 0);
	struct resolver *r = mk(&o);
	struct res x;

	lookup_wait(r, &x, "a.test");
	cr_expect(lookup_wait(r, &x, "a.test"));
	cr_expect_eq(fd_queries("a.test", 0), 2);
	resolver_free(r);
}

Test(resolver, concurrent_lookups_share_one_query)
{
	struct resolver_opts o = test_opts();
	o.policy = RESOLVER_ONLY_IPV4;
	struct resolver *r = mk(&o);
	struct res x[3];

	for (int i = 0; i < 3; i++) {
		lookup(r, &x[i], "a.test", (uint16_t)(1000 + i));
		cr_expect_eq(x[i].calls, 0);
		cr_expect(resolver_pending(&x[i].q));
	}
	for (int i = 0; i < 3; i++) {
		wait_for(&x[i].calls);
		cr_expect_eq(x[i].calls, 1);
		cr_expect_not(resolver_pending(&x[i].q));
		expect_addr(&x[i], "127.0.0.1", (uint16_t)(1000 + i));
	}
	cr_expect_eq(fd_queries("a.test", T_A), 1, "three waiters, one query");
	resolver_free(r);
}

struct reentry {
	struct res x;
	struct resolver *r;
	struct res inner;
};

static void on_reentry(struct resolver_query *q, void *ud, int err, const struct sockaddr *a,
                       socklen_t len)
{
	struct reentry *e = ud;
	on_res(q, &e->x, err, a, len);
	lookup(e->r, &e->inner, "a.test", 2);
	cr_expect_eq(e->inner.calls, 1, "the answer is cached before waiters are called");
}

Test(resolver, callbacks_may_look_up_again)
{
	struct resolver_opts o = test_opts();
	struct resolver *r = mk(&o);
	struct reentry e = { .r = r };

	resolver_lookup(r, &e.x.q, "a.test", 1, on_reentry, &e);
	wait_for(&e.x.calls);
	expect_addr(&e.x, "127.0.0.1", 1);
	expect_addr(&e.inner, "127.0.0.1", 2);
	resolver_free(r);
}

Test(resolver, select_first_and_round_robin)
{
	struct resolver_opts o = test_opts();
	struct resolver *r = mk(&o);
	struct res x;
	char first[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN];

	lookup_wait(r, &x, "multi.test");
	cr_assert_eq(x.err, 0);
	ntop(&x, first, sizeof(first));
	for (int i = 0; i < 5; i++) {
		lookup(r, &x, "multi.test", 80);
		cr_assert_eq(x.calls, 1);
		cr_expect_str_eq(ntop(&x, buf, sizeof(buf)), first,
		                 "first always answers the same");
	}
	resolver_free(r);

	o.select = RESOLVER_SELECT_ROUND_ROBIN;
	r = mk(&o);
	int sent = fd_queries("multi.test", T_A);
	char seq[6][INET6_ADDRSTRLEN];
	for (int i = 0; i < 6; i++) {
		lookup_wait(r, &x, "multi.test");
		cr_assert_eq(x.err, 0);
		ntop(&x, seq[i], sizeof(seq[i]));
		cr_expect(!strcmp(seq[i], "127.0.0.1") || !strcmp(seq[i], "127.0.0.2") ||
		              !strcmp(seq[i], "127.0.0.3"),
		          "%s", seq[i]);
	}
	cr_expect_str_neq(seq[0], seq[1]);
	cr_expect_str_neq(seq[1], seq[2]);
	cr_expect_str_neq(seq[0], seq[2]);
	for (int i = 3; i < 6; i++)
		cr_expect_str_eq(seq[i], seq[i - 3], "round robin repeats every 3 addresses");
	cr_expect_eq(fd_queries("multi.test", T_A), sent + 1, "one query, then cache hits");
	resolver_free(r);

	o.select = RESOLVER_SELECT_RANDOM;
	r = mk(&o);
	for (int i = 0; i < 10; i++) {
		lookup_wait(r, &x, "multi.test");
		cr_assert_eq(x.err, 0);
		cr_expect_eq(strncmp(ntop(&x, buf, sizeof(buf)), "127.0.0.", 8), 0);
	}
	resolver_free(r);
}

static void expect_policy(enum resolver_policy p, const char *host, int err, const char *addr)
{
	struct resolver_opts o = test_opts();
	o.policy = p;
	struct resolver *r = mk(&o);
	struct res x;
	lookup_wait(r, &x, host);
	if (err)
		cr_expect_eq(x.err, err, "policy %d, %s: %d (%s)", p, host, x.err,
		             resolver_strerror(x.err));
	else
		expect_addr(&x, addr, 80);
	resolver_free(r);
}

Test(resolver, policy_filters_and_orders_families)
{
	expect_policy(RESOLVER_PREFER_IPV4, "both.test", 0, "127.0.0.1");
	expect_policy(RESOLVER_PREFER_IPV6, "both.test", 0, "::1");
	expect_policy(RESOLVER_ONLY_IPV4, "both.test", 0, "127.0.0.1");
	expect_policy(RESOLVER_ONLY_IPV6, "both.test", 0, "::1");
	expect_policy(RESOLVER_PREFER_IPV4, "v6.test", 0, "::1");
	expect_policy(RESOLVER_PREFER_IPV6, "a.test", 0, "127.0.0.1");
	expect_policy(RESOLVER_ANY, "v6.test", 0, "::1");
	expect_policy(RESOLVER_ONLY_IPV6, "a.test", RESOLVER_ENOADDR, NULL);
	expect_policy(RESOLVER_ONLY_IPV4, "v6.test", RESOLVER_ENOADDR, NULL);
	cr_expect_eq(fd_queries("v6.test", T_A), 3, "A asked by preferIPv4, any, onlyIPv4 only");
}

Test(resolver, nxdomain_is_not_found_and_not_cached)
{
	struct resolver_opts o = test_opts();
	struct resolver *r = mk(&o);
	struct res x;

	lookup_wait(r, &x, "nx.test");
	cr_expect_eq(x.err, RESOLVER_ENOTFOUND);
	cr_expect_str_eq(resolver_strerror(x.err), "no such host");
	int sent = fd_queries("nx.test", 0);
	cr_expect_gt(sent, 0);
	cr_expect_not(lookup_wait(r, &x, "nx.test"), "failures are not cached");
	cr_expect_eq(x.err, RESOLVER_ENOTFOUND);
	cr_expect_gt(fd_queries("nx.test", 0), sent);
	resolver_free(r);
}

Test(resolver, refused_is_reported)
{
	struct resolver_opts o = test_opts();
	o.policy = RESOLVER_ONLY_IPV4;
	o.tries = 1;
	struct resolver *r = mk(&o);
	struct res x;

	lookup_wait(r, &x, "refused.test");
	cr_expect_eq(x.err, RESOLVER_EREFUSED, "%d (%s)", x.err, resolver_strerror(x.err));
	resolver_free(r);
}

Test(resolver, unanswered_query_times_out)
{
	struct resolver_opts o = test_opts();
	o.timeout_ms = 50;
	o.tries = 1;
	struct resolver *r = mk(&o);
	struct res x;

	lookup_wait(r, &x, "drop.test");
	cr_expect_eq(x.err, RESOLVER_ETIMEOUT);
	cr_expect_str_eq(resolver_strerror(x.err), "i/o timeout");
	cr_expect_eq(loop_timer_count(lp), 0, "no timer left armed once nothing is pending");
	resolver_free(r);
}

Test(resolver, cancelled_lookup_gets_no_callback)
{
	struct resolver_opts o = test_opts();
	o.policy = RESOLVER_ONLY_IPV4;
	struct resolver *r = mk(&o);
	struct res a, b, z;

	memset(&z, 0, sizeof(z));
	resolver_cancel(r, &z.q); /* never used: harmless */
	lookup(r, &a, "slow.test", 80);
	lookup(r, &b, "slow.test", 81);
	resolver_cancel(r, &a.q);
	cr_expect_not(resolver_pending(&a.q));
	resolver_cancel(r, &a.q);
	wait_for(&b.calls);
	expect_addr(&b, "127.0.0.1", 81);
	cr_expect_eq(a.calls, 0);

	/* A lookup whose only waiter was cancelled still fills the cache. */
	lookup(r, &a, "a.test", 80);
	resolver_cancel(r, &a.q);
	int64_t deadline = now_us() + 10 * USEC_PER_SEC;
	while (fd_queries("a.test", T_A) == 0 || loop_timer_count(lp) > 0) {
		cr_assert_lt(now_us(), deadline);
		cr_assert_eq(loop_run_once(lp, 20 * 1000), 0);
	}
	cr_expect_eq(a.calls, 0);
	lookup(r, &a, "a.test", 80);
	cr_expect_eq(a.calls, 1, "answered from the cache");
	resolver_free(r);
}

Test(resolver, free_drops_pending_lookups)
{
	struct resolver_opts o = test_opts();
	struct resolver *r = mk(&o);
	struct res x;

	lookup(r, &x, "drop.test", 80);
	cr_expect(resolver_pending(&x.q));
	resolver_free(r);
	cr_expect_eq(x.calls, 0);
	cr_expect_not(resolver_pending(&x.q));
	cr_expect_eq(loop_timer_count(lp), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(loop_run_once(lp, 1000), 0, "no stale registration fires");
	resolver_free(NULL);
}

struct ticker {
	struct loop_timer t;
	int ticks;
	const struct res *slow;
	int pending_ticks; /* ticks that ran while the slow lookup was pending */
};

static void on_tick(struct loop_timer *t, void *ud)
{
	struct ticker *k = ud;
	k->ticks++;
	if (k->slow->calls == 0)
		k->pending_ticks++;
	if (k->ticks < 5)
		loop_timer_at(lp, t, loop_now(lp) + 1000);
}

Test(resolver, slow_answer_does_not_block_the_loop)
{
	struct resolver_opts o = test_opts();
	o.policy = RESOLVER_ONLY_IPV4;
	struct resolver *r = mk(&o);
	struct res x;
	struct ticker k = { .slow = &x };

	fd_set_hold(true); /* the answer waits until the ticks have run */
	lookup(r, &x, "slow.test", 80);
	cr_expect_eq(x.calls, 0, "resolver_lookup returns before the answer");
	loop_timer_init(&k.t, on_tick, &k);
	loop_timer_at(lp, &k.t, loop_now(lp) + 1000);
	int64_t deadline = now_us() + 10 * USEC_PER_SEC;
	while (k.ticks < 5) {
		cr_assert_lt(now_us(), deadline);
		cr_assert_eq(loop_run_once(lp, 20 * 1000), 0);
	}
	cr_expect_eq(k.pending_ticks, 5, "the loop ran timers while the lookup was pending");
	cr_expect_eq(x.calls, 0);
	fd_set_hold(false);
	wait_for(&x.calls);
	expect_addr(&x, "127.0.0.1", 80);
	resolver_free(r);
}

Test(resolver, cache_is_capped_and_evicts_the_oldest)
{
	struct resolver_opts o = test_opts();
	o.max_hosts = 2;
	o.policy = RESOLVER_ONLY_IPV4;
	struct resolver *r = mk(&o);
	struct res x, y, z;

	lookup_wait(r, &x, "a.test");
	lookup_wait(r, &x, "multi.test");
	lookup_wait(r, &x, "both.test"); /* evicts a.test */
	cr_expect(lookup_wait(r, &x, "both.test"));
	cr_expect(lookup_wait(r, &x, "multi.test"));
	cr_expect_not(lookup_wait(r, &x, "a.test"), "the oldest host was evicted");
	cr_expect_eq(fd_queries("a.test", T_A), 2);

	/* Two hosts pending fill the cache: a third lookup fails instead of growing it. */
	resolver_free(r);
	r = mk(&o);
	lookup(r, &x, "slow.test", 80);
	lookup(r, &y, "drop.test", 80);
	lookup(r, &z, "a.test", 80);
	cr_expect_eq(z.calls, 1);
	cr_expect_eq(z.err, RESOLVER_EFULL);
	resolver_free(r);
}

Test(resolver, bad_server_lists_are_rejected)
{
	struct resolver_opts o = test_opts();
	struct resolver *r = NULL;
	o.servers = "";
	cr_expect_eq(resolver_new(lp, &o, 1, &r), -EINVAL);
	o.servers = "not-an-address";
	cr_expect_eq(resolver_new(lp, &o, 1, &r), -EINVAL);
	cr_expect_null(r);
}

Test(resolver, k6_option_strings)
{
	char err[256];
	int64_t ttl;
	enum resolver_select s;
	enum resolver_policy p;

	cr_expect_eq(resolver_parse_ttl("5m", &ttl, err, sizeof(err)), 0);
	cr_expect_eq(ttl, 300 * USEC_PER_SEC);
	cr_expect_eq(resolver_parse_ttl("0", &ttl, err, sizeof(err)), 0);
	cr_expect_eq(ttl, 0);
	cr_expect_eq(resolver_parse_ttl("inf", &ttl, err, sizeof(err)), 0);
	cr_expect_lt(ttl, 0);
	cr_expect_eq(resolver_parse_ttl("1500", &ttl, err, sizeof(err)), 0);
	cr_expect_eq(ttl, 1500 * 1000, "a bare integer is milliseconds, as in k6");
	cr_expect_eq(resolver_parse_ttl("1h30m", &ttl, err, sizeof(err)), 0);
	cr_expect_eq(ttl, 5400 * USEC_PER_SEC);
	cr_expect_eq(resolver_parse_ttl("1.5", &ttl, err, sizeof(err)), -EINVAL);
	cr_expect_eq(resolver_parse_ttl("forever", &ttl, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "forever"), "%s", err);

	cr_expect_eq(resolver_parse_select("first", &s, err, sizeof(err)), 0);
	cr_expect_eq(s, RESOLVER_SELECT_FIRST);
	cr_expect_eq(resolver_parse_select("roundRobin", &s, err, sizeof(err)), 0);
	cr_expect_eq(s, RESOLVER_SELECT_ROUND_ROBIN);
	cr_expect_eq(resolver_parse_select("random", &s, err, sizeof(err)), 0);
	cr_expect_eq(s, RESOLVER_SELECT_RANDOM);
	cr_expect_eq(resolver_parse_select("roundrobin", &s, err, sizeof(err)), -EINVAL);

	static const char *const names[] = { "preferIPv4", "preferIPv6", "onlyIPv4", "onlyIPv6",
		                             "any" };
	static const enum resolver_policy want[] = { RESOLVER_PREFER_IPV4, RESOLVER_PREFER_IPV6,
		                                     RESOLVER_ONLY_IPV4, RESOLVER_ONLY_IPV6,
		                                     RESOLVER_ANY };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		cr_expect_eq(resolver_parse_policy(names[i], &p, err, sizeof(err)), 0);
		cr_expect_eq(p, want[i]);
	}
	cr_expect_eq(resolver_parse_policy("ipv4", &p, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "ipv4"), "%s", err);

	struct resolver_opts o;
	resolver_opts_init(&o);
	cr_expect_eq(o.ttl_us, 300 * USEC_PER_SEC);
	cr_expect_eq(o.select, RESOLVER_SELECT_RANDOM);
	cr_expect_eq(o.policy, RESOLVER_PREFER_IPV4);
	cr_expect_null(o.servers);
	cr_expect_eq(
	    resolver_opts_parse("ttl=1m,select=first,policy=onlyIPv6", &o, err, sizeof(err)), 0);
	cr_expect_eq(o.ttl_us, 60 * USEC_PER_SEC);
	cr_expect_eq(o.select, RESOLVER_SELECT_FIRST);
	cr_expect_eq(o.policy, RESOLVER_ONLY_IPV6);
	cr_expect_eq(resolver_opts_parse("select=roundRobin", &o, err, sizeof(err)), 0);
	cr_expect_eq(o.select, RESOLVER_SELECT_ROUND_ROBIN);
	cr_expect_eq(o.ttl_us, 60 * USEC_PER_SEC, "keys not given keep their value");
	cr_expect_eq(resolver_opts_parse("ttl=1m,colour=blue", &o, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "colour"), "%s", err);
	cr_expect_eq(resolver_opts_parse("ttl", &o, err, sizeof(err)), -EINVAL);
	cr_expect_eq(o.select, RESOLVER_SELECT_ROUND_ROBIN, "a failed parse changes nothing");

	cr_expect_str_eq(resolver_strerror(RESOLVER_ENOTFOUND), "no such host");
	cr_expect_str_eq(resolver_strerror(RESOLVER_ETIMEOUT), "i/o timeout");
}
