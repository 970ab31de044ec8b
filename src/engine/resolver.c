/* resolver.c: asynchronous DNS with c-ares driven by a worker's epoll loop, cached per host. */
#include "engine/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "engine/loop.h"
#include "util/common.h"

/* A c-ares socket registered with the loop. Slots are reused but only freed with the
 * resolver: epoll may already have fetched an event for a socket that c-ares closes while an
 * earlier event of the same batch is handled, and that event must find a valid struct. */
struct rsock {
	struct loop_io io; /* io.fd is -1 while the slot is free */
	uint32_t events;
	struct resolver *r;
	struct rsock *next;
};

/* A host's cache entry: answered (in the age list, expires) or pending (waiters). */
struct rentry {
	struct rentry *hnext;         /* hash chain */
	struct rentry *older, *newer; /* age list of answered entries */
	struct resolver *r;
	struct resolver_query *waiters;
	bool pending;
	int64_t expires; /* loop time; INT64_MAX for ever */
	uint32_t hash;
	uint32_t rr; /* round-robin position */
	int naddr, cap;
	union resolver_addr *addrs;
	char host[]; /* lower case */
};

struct resolver {
	struct loop *loop;
	ares_channel ch;
	struct loop_timer timer; /* c-ares' next timeout */
	struct rsock *socks;
	struct rentry **buckets;
	uint32_t mask; /* buckets - 1 */
	int nentries, max_hosts;
	struct rentry *oldest, *newest;
	int64_t ttl_us;
	enum resolver_select select;
	enum resolver_policy policy;
	uint64_t rng;
	bool closing;
};

/* The addresses of one answer, filtered by the policy. */
struct raddrs {
	int n;
	union resolver_addr a[RESOLVER_MAX_ADDRS];
};

/* --- options ---------------------------------------------------------------------- */

void resolver_opts_init(struct resolver_opts *o)
{
	*o = (struct resolver_opts){
		.ttl_us = RESOLVER_DEFAULT_TTL_US,
		.select = RESOLVER_SELECT_RANDOM,
		.policy = RESOLVER_PREFER_IPV4,
		.timeout_ms = RESOLVER_DEFAULT_TIMEOUT_MS,
		.tries = RESOLVER_DEFAULT_TRIES,
		.max_hosts = RESOLVER_DEFAULT_MAX_HOSTS,
	};
}

int resolver_parse_ttl(const char *s, int64_t *ttl_us, char *err, size_t errlen)
{
	int64_t ms;
	if (s && strcmp(s, "inf") == 0) {
		*ttl_us = -1;
		return 0;
	}
	if (s && *s && parse_int64(s, 0, INT64_MAX / 1000, &ms) == 0) {
		*ttl_us = ms * 1000; /* k6: a bare integer is milliseconds */
		return 0;
	}
	/* A duration needs a unit (parse_duration would read "1.5" as seconds). */
	if (s && s[strspn(s, "0123456789.")] && parse_duration(s, ttl_us) == 0)
		return 0;
	snprintf(err, errlen,
	         "invalid dns ttl '%s': expected \"inf\", \"0\" or a duration like \"5m\"",
	         s ? s : "");
	return -EINVAL;
}

static const char *const select_names[] = {
	[RESOLVER_SELECT_RANDOM] = "random",
	[RESOLVER_SELECT_FIRST] = "first",
	[RESOLVER_SELECT_ROUND_ROBIN] = "roundRobin",
};

static const char *const policy_names[] = {
	[RESOLVER_PREFER_IPV4] = "preferIPv4",
	[RESOLVER_PREFER_IPV6] = "preferIPv6",
	[RESOLVER_ONLY_IPV4] = "onlyIPv4",
	[RESOLVER_ONLY_IPV6] = "onlyIPv6",
	[RESOLVER_ANY] = "any",
};

static int name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

int resolver_parse_select(const char *s, enum resolver_select *out, char *err, size_t errlen)
{
	int i = name_index(select_names, ARRAY_SIZE(select_names), s);
	if (i < 0) {
		snprintf(
		    err, errlen,
		    "invalid dns select '%s': expected \"first\", \"random\" or \"roundRobin\"",
		    s ? s : "");
		return -EINVAL;
	}
	*out = (enum resolver_select)i;
	return 0;
}

int resolver_parse_policy(const char *s, enum resolver_policy *out, char *err, size_t errlen)
{
	int i = name_index(policy_names, ARRAY_SIZE(policy_names), s);
	if (i < 0) {
		snprintf(err, errlen,
		         "invalid dns policy '%s': expected \"preferIPv4\", \"preferIPv6\", "
		         "\"onlyIPv4\", \"onlyIPv6\" or \"any\"",
		         s ? s : "");
		return -EINVAL;
	}
	*out = (enum resolver_policy)i;
	return 0;
}

/* One "key=value" item of a --dns string. */
static int parse_item(const char *item, struct resolver_opts *o, char *err, size_t errlen)
{
	const char *eq = strchr(item, '=');
	if (!eq) {
		snprintf(err, errlen, "invalid dns option '%s': expected key=value", item);
		return -EINVAL;
	}
	size_t klen = (size_t)(eq - item);
	const char *v = eq + 1;
	if (klen == 3 && memcmp(item, "ttl", 3) == 0)
		return resolver_parse_ttl(v, &o->ttl_us, err, errlen);
	if (klen == 6 && memcmp(item, "select", 6) == 0)
		return resolver_parse_select(v, &o->select, err, errlen);
	if (klen == 6 && memcmp(item, "policy", 6) == 0)
		return resolver_parse_policy(v, &o->policy, err, errlen);
	snprintf(err, errlen, "unknown dns option '%.*s': expected ttl, select or policy",
	         (int)klen, item);
	return -EINVAL;
}

int resolver_opts_parse(const char *spec, struct resolver_opts *o, char *err, size_t errlen)
{
	struct resolver_opts tmp = *o;
	char item[128];
	const char *p = spec;
	while (p && *p) {
		size_t n = strcspn(p, ",");
		if (n >= sizeof(item)) {
			snprintf(err, errlen, "invalid dns option '%.*s'", (int)n, p);
			return -EINVAL;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (n > 0 && parse_item(item, &tmp, err, errlen) < 0)
			return -EINVAL;
		p += n + (p[n] == ',');
	}
	*o = tmp;
	return 0;
}

const char *resolver_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case RESOLVER_ENOTFOUND:
		return "no such host";
	case RESOLVER_ETIMEOUT:
		return "i/o timeout";
	case RESOLVER_EREFUSED:
		return "server refused the query";
	case RESOLVER_ENOADDR:
		return "no address of a family allowed by the dns policy";
	case RESOLVER_ESERVER:
		return "server misbehaving";
	case RESOLVER_EBADNAME:
		return "invalid host name";
	case RESOLVER_EFULL:
		return "too many hosts being resolved at once";
	case -ENOMEM:
		return "out of memory";
	case -ECANCELED:
		return "lookup cancelled";
	default:
		return "resolver error";
	}
}

static int map_ares_status(int status)
{
	switch (status) {
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
	case ARES_ENONAME:
		return RESOLVER_ENOTFOUND;
	case ARES_ETIMEOUT:
		return RESOLVER_ETIMEOUT;
	case ARES_EREFUSED:
	case ARES_ECONNREFUSED:
		return RESOLVER_EREFUSED;
	case ARES_ESERVFAIL:
	case ARES_EFORMERR:
	case ARES_ENOTIMP:
	case ARES_EBADRESP:
	case ARES_EOF:
		return RESOLVER_ESERVER;
	case ARES_EBADNAME:
	case ARES_EBADQUERY:
	case ARES_EBADSTR:
		return RESOLVER_EBADNAME;
	case ARES_ENOMEM:
		return -ENOMEM;
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

/* --- loop integration ------------------------------------------------------------- */

/* Arm the timer for c-ares' next deadline (rounded up: ares_timeout truncates to ms), at
 * least 1 ms ahead so that re-arming from the timer never spins inside one loop pass. */
static void arm_timer(struct resolver *r)
{
	struct timeval tv;
	if (r->closing || !ares_timeout(r->ch, NULL, &tv)) {
		loop_timer_cancel(r->loop, &r->timer);
		return;
	}
	int64_t us = (int64_t)tv.tv_sec * USEC_PER_SEC + tv.tv_usec + 1000;
	loop_timer_at(r->loop, &r->timer, now_us() + us);
}

static void on_timer(struct loop_timer *t, void *ud)
{
	struct resolver *r = ud;
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	arm_timer(r);
}

static void on_sock_io(void *ud, uint32_t events)
{
	struct rsock *s = ud;
	struct resolver *r = s->r;
	int fd = s->io.fd;
	if (fd < 0)
		return; /* closed by c-ares earlier in this batch */
	/* An error or hang-up is reported as readable: c-ares' read then sees it. */
	ares_socket_t rfd =
	    (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) ? fd : ARES_SOCKET_BAD;
	ares_socket_t wfd = (events & EPOLLOUT) ? fd : ARES_SOCKET_BAD;
	ares_process_fd(r->ch, rfd, wfd); /* may close s's socket and reuse the slot */
	arm_timer(r);
}

static struct rsock *sock_find(struct resolver *r, int fd)
{
	for (struct rsock *s = r->socks; s; s = s->next)
		if (s->io.fd == fd)
			return s;
	return NULL;
}

/* c-ares opens, closes, or changes what it waits for on a socket. Level-triggered: c-ares
 * drains UDP sockets but may leave TCP bytes for its next call. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	uint32_t ev = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
	struct rsock *s = sock_find(r, fd);
	if (!ev) {
		if (s) {
			loop_del_fd(r->loop, &s->io);
			s->io.fd = -1;
		}
		return;
	}
	if (s) {
		if (s->events != ev && loop_mod_fd(r->loop, &s->io, ev) == 0)
			s->events = ev;
		return;
	}
	s = sock_find(r, -1);
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->r = r;
		s->next = r->socks;
		r->socks = s;
	}
	s->io = (struct loop_io){ .fd = fd, .fn = on_sock_io, .ud = s };
	s->events = ev;
	/* Unwatched, the socket's queries end with c-ares' timeout: no answer can hang. */
	if (loop_add_fd(r->loop, &s->io, ev) < 0)
		s->io.fd = -1;
}

/* --- cache ------------------------------------------------------------------------ */

static uint32_t hash_host(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static struct rentry *entry_find(struct resolver *r, const char *key, uint32_t h)
{
	for (struct rentry *e = r->buckets[h & r->mask]; e; e = e->hnext)
		if (e->hash == h && strcmp(e->host, key) == 0)
			return e;
	return NULL;
}

static void age_unlink(struct resolver *r, struct rentry *e)
{
	*(e->older ? &e->older->newer : &r->oldest) = e->newer;
	*(e->newer ? &e->newer->older : &r->newest) = e->older;
	e->older = e->newer = NULL;
}

static void age_push(struct resolver *r, struct rentry *e)
{
	e->older = r->newest;
	e->newer = NULL;
	*(r->newest ? &r->newest->newer : &r->oldest) = e;
	r->newest = e;
}

/* Remove an entry that has no waiters (answered, or just completed) and free it. */
static void entry_free(struct resolver *r, struct rentry *e, bool in_age_list)
{
	struct rentry **pp = &r->buckets[e->hash & r->mask];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (in_age_list)
		age_unlink(r, e);
	r->nentries--;
	free(e->addrs);
	free(e);
}

/* A new pending entry for key, evicting the oldest answered host when the cache is full.
 * NULL when every cached host is still being resolved. */
static struct rentry *entry_new(struct resolver *r, const char *key, size_t len, uint32_t h)
{
	if (r->nentries >= r->max_hosts) {
		if (!r->oldest)
			return NULL;
		entry_free(r, r->oldest, true);
	}
	struct rentry *e = xcalloc(1, sizeof(*e) + len + 1);
	memcpy(e->host, key, len + 1);
	e->r = r;
	e->hash = h;
	e->hnext = r->buckets[h & r->mask];
	r->buckets[h & r->mask] = e;
	r->nentries++;
	return e;
}

static void entry_store(struct resolver *r, struct rentry *e, const struct raddrs *got)
{
	if (e->cap < got->n) {
		e->cap = got->n;
		e->addrs = xrealloc(e->addrs, (size_t)e->cap * sizeof(*e->addrs));
	}
	memcpy(e->addrs, got->a, (size_t)got->n * sizeof(*got->a));
	e->naddr = got->n;
	e->expires = r->ttl_us < 0 ? INT64_MAX : loop_now(r->loop) + r->ttl_us;
	age_push(r, e);
}

/* --- answering -------------------------------------------------------------------- */

static uint64_t rng_next(struct resolver *r)
{
	uint64_t x = r->rng; /* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static int pick(struct resolver *r, int n, uint32_t rr)
{
	switch (r->select) {
	case RESOLVER_SELECT_FIRST:
		return 0;
	case RESOLVER_SELECT_ROUND_ROBIN:
		return (int)(rr % (uint32_t)n);
	case RESOLVER_SELECT_RANDOM:
		break;
	}
	return (int)(rng_next(r) % (uint64_t)n);
}

static void waiter_unlink(struct resolver_query *q)
{
	if (q->next)
		q->next->pprev = q->pprev;
	*q->pprev = q->next;
	q->next = NULL;
	q->pprev = NULL;
}

/* Call q's callback with err, or with a (the port set from q). */
static void finish(struct resolver_query *q, int err, const union resolver_addr *a)
{
	socklen_t len = 0;
	if (!err) {
		q->addr = *a;
		if (a->sa.sa_family == AF_INET) {
			q->addr.in.sin_port = htons(q->port);
			len = sizeof(q->addr.in);
		} else {
			q->addr.in6.sin6_port = htons(q->port);
			len = sizeof(q->addr.in6);
		}
	}
	q->cb(q, q->ud, err, err ? NULL : &q->addr.sa, len);
}

/* The addresses of ai that the policy allows, in c-ares' (RFC 6724) order. */
static int collect(const struct resolver *r, const struct ares_addrinfo *ai, struct raddrs *got)
{
	int n4 = 0, n6 = 0;
	for (const struct ares_addrinfo_node *n = ai ? ai->nodes : NULL; n; n = n->ai_next) {
		n4 += n->ai_family == AF_INET;
		n6 += n->ai_family == AF_INET6;
	}
	if (n4 + n6 == 0)
		return RESOLVER_ENOTFOUND;
	bool v4 = false, v6 = false;
	switch (r->policy) {
	case RESOLVER_PREFER_IPV4:
		v4 = n4 > 0;
		v6 = !v4;
		break;
	case RESOLVER_PREFER_IPV6:
		v6 = n6 > 0;
		v4 = !v6;
		break;
	case RESOLVER_ONLY_IPV4:
		v4 = true;
		break;
	case RESOLVER_ONLY_IPV6:
		v6 = true;
		break;
	case RESOLVER_ANY:
		v4 = v6 = true;
		break;
	}
	got->n = 0;
	for (const struct ares_addrinfo_node *n = ai->nodes; n && got->n < RESOLVER_MAX_ADDRS;
	     n = n->ai_next) {
		if ((n->ai_family == AF_INET && v4 &&
		     n->ai_addrlen >= sizeof(struct sockaddr_in)) ||
		    (n->ai_family == AF_INET6 && v6 &&
		     n->ai_addrlen >= sizeof(struct sockaddr_in6))) {
			union resolver_addr *a = &got->a[got->n++];
			memset(a, 0, sizeof(*a));
			memcpy(a, n->ai_addr,
			       n->ai_family == AF_INET ? sizeof(a->in) : sizeof(a->in6));
		}
	}
	return got->n > 0 ? 0 : RESOLVER_ENOADDR;
}

/* c-ares' answer for entry arg: cache it (or drop the entry) and answer every waiter. The
 * waiters move to a local list and the answer to the stack first, since a callback may look
 * up, cancel, or evict anything. */
static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct rentry *e = arg;
	struct resolver *r = e->r;
	struct raddrs got;
	if (r->closing) {
		ares_freeaddrinfo(ai);
		return;
	}
	int err = status == ARES_SUCCESS ? collect(r, ai, &got) : map_ares_status(status);
	/* The name exists without a record of the only family asked for. */
	if (status == ARES_ENODATA &&
	    (r->policy == RESOLVER_ONLY_IPV4 || r->policy == RESOLVER_ONLY_IPV6))
		err = RESOLVER_ENOADDR;
	ares_freeaddrinfo(ai);

	struct resolver_query *list = e->waiters;
	e->waiters = NULL;
	if (list)
		list->pprev = &list;
	uint32_t n = 0;
	for (struct resolver_query *q = list; q; q = q->next)
		n++;
	uint32_t rr = e->rr;
	e->pending = false;
	if (!err && r->ttl_us != 0) {
		e->rr += n;
		entry_store(r, e, &got);
	} else {
		entry_free(r, e, false);
	}
	while (list) {
		struct resolver_query *q = list;
		waiter_unlink(q);
		finish(q, err, err ? NULL : &got.a[pick(r, got.n, rr++)]);
	}
}

/* 1 with *a filled when host is an IP literal, 0 when it is a name, or RESOLVER_EBADNAME. */
static int parse_literal(const char *host, union resolver_addr *a)
{
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	size_t len = strlen(host);
	bool bracket = host[0] == '[';
	memset(a, 0, sizeof(*a));
	if (!bracket && inet_pton(AF_INET, host, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		return 1;
	}
	if (!bracket && !strchr(host, ':'))
		return 0;
	if (bracket) {
		if (len < 2 || host[len - 1] != ']')
			return RESOLVER_EBADNAME;
		host++;
		len -= 2;
	}
	if (len >= sizeof(buf))
		return RESOLVER_EBADNAME;
	memcpy(buf, host, len);
	buf[len] = '\0';
	char *zone = strchr(buf, '%');
	if (zone)
		*zone++ = '\0';
	if (inet_pton(AF_INET6, buf, &a->in6.sin6_addr) != 1)
		return RESOLVER_EBADNAME;
	a->in6.sin6_family = AF_INET6;
	if (zone) {
		int64_t idx;
		if (parse_int64(zone, 1, UINT32_MAX, &idx) == 0)
			a->in6.sin6_scope_id = (uint32_t)idx;
		else
			a->in6.sin6_scope_id = if_nametoindex(zone);
		if (a->in6.sin6_scope_id == 0)
			return RESOLVER_EBADNAME;
	}
	return 1;
}

/* Lower-case host into key (RESOLVER_MAX_HOST + 2 bytes, room for a final dot). Returns its
 * length or RESOLVER_EBADNAME. */
static int host_key(const char *host, char *key)
{
	size_t i;
	for (i = 0; host[i]; i++) {
		unsigned char c = (unsigned char)host[i];
		if (i > RESOLVER_MAX_HOST || c <= ' ' || c == 0x7f)
			return RESOLVER_EBADNAME;
		key[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	key[i] = '\0';
	if (i == 0 || (i == RESOLVER_MAX_HOST + 1 && key[i - 1] != '.'))
		return RESOLVER_EBADNAME;
	return (int)i;
}

static void start_query(struct resolver *r, struct rentry *e)
{
	struct ares_addrinfo_hints hints = { .ai_socktype = SOCK_STREAM };
	switch (r->policy) {
	case RESOLVER_ONLY_IPV4:
		hints.ai_family = AF_INET;
		break;
	case RESOLVER_ONLY_IPV6:
		hints.ai_family = AF_INET6;
		break;
	default:
		hints.ai_family = AF_UNSPEC;
		break;
	}
	e->pending = true;
	ares_getaddrinfo(r->ch, e->host, NULL, &hints, on_addrinfo, e); /* may answer now */
}

void resolver_lookup(struct resolver *r, struct resolver_query *q, const char *host, uint16_t port,
                     resolver_cb cb, void *ud)
{
	char key[RESOLVER_MAX_HOST + 2];
	q->cb = cb;
	q->ud = ud;
	q->port = port;
	q->next = NULL;
	q->pprev = NULL;

	int rc = parse_literal(host, &q->addr);
	if (rc != 0) {
		union resolver_addr a = q->addr;
		finish(q, rc < 0 ? rc : 0, &a);
		return;
	}
	int len = host_key(host, key);
	if (len < 0) {
		finish(q, len, NULL);
		return;
	}
	uint32_t h = hash_host(key);
	struct rentry *e = entry_find(r, key, h);
	if (e && !e->pending) {
		if (r->ttl_us < 0 || loop_now(r->loop) < e->expires) {
			finish(q, 0, &e->addrs[pick(r, e->naddr, e->rr++)]);
			return;
		}
		age_unlink(r, e); /* expired: resolve again */
	}
	if (!e)
		e = entry_new(r, key, (size_t)len, h);
	if (!e) {
		finish(q, RESOLVER_EFULL, NULL);
		return;
	}
	q->next = e->waiters;
	if (q->next)
		q->next->pprev = &q->next;
	q->pprev = &e->waiters;
	e->waiters = q;
	if (!e->pending)
		start_query(r, e);
	arm_timer(r);
}

void resolver_cancel(struct resolver *r, struct resolver_query *q)
{
	if (q->pprev)
		waiter_unlink(q);
}

bool resolver_pending(const struct resolver_query *q)
{
	return q->pprev != NULL;
}

/* --- life cycle ------------------------------------------------------------------- */

/* Use only the servers of csv ("127.0.0.1:5353,[::1]:53"). */
static int set_servers(struct resolver *r, const char *csv)
{
	struct ares_addr_port_node *list = NULL;
	if (!*csv || ares_set_servers_ports_csv(r->ch, csv) != ARES_SUCCESS)
		return -EINVAL;
	if (ares_get_servers_ports(r->ch, &list) != ARES_SUCCESS || !list) {
		ares_free_data(list);
		return -EINVAL;
	}
	ares_free_data(list);
	return 0;
}

int resolver_new(struct loop *loop, const struct resolver_opts *o, uint64_t seed,
                 struct resolver **out)
{
	static char lookups[] = "fb";           /* /etc/hosts, then DNS */
	static char empty_conf[] = "/dev/null"; /* explicit servers: ignore resolv.conf */
	struct resolver *r = xcalloc(1, sizeof(*r));
	int rc;
	r->loop = loop;
	r->ttl_us = o->ttl_us;
	r->select = o->select;
	r->policy = o->policy;
	r->max_hosts = o->max_hosts > 0 ? o->max_hosts : RESOLVER_DEFAULT_MAX_HOSTS;
	r->rng = (seed ^ 0x9e3779b97f4a7c15ULL) | 1;
	uint32_t nb = 16;
	while ((int64_t)nb < r->max_hosts && nb < (1u << 20))
		nb <<= 1;
	r->mask = nb - 1;
	r->buckets = xcalloc(nb, sizeof(*r->buckets));
	loop_timer_init(&r->timer, on_timer, r);

	struct ares_options ao = {
		.timeout = o->timeout_ms > 0 ? o->timeout_ms : RESOLVER_DEFAULT_TIMEOUT_MS,
		.tries = o->tries > 0 ? o->tries : RESOLVER_DEFAULT_TRIES,
		.lookups = lookups,
		.sock_state_cb = on_sock_state,
		.sock_state_cb_data = r,
	};
	int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB;
	if (o->servers) {
		ao.resolvconf_path = empty_conf;
		ao.ndomains = 0; /* no search list either (not even the host name's domain) */
		mask |= ARES_OPT_RESOLVCONF | ARES_OPT_DOMAINS;
	}
	int st = ares_init_options(&r->ch, &ao, mask);
	if (st != ARES_SUCCESS) {
		rc = st == ARES_ENOMEM ? -ENOMEM : -EIO;
		goto out_free;
	}
	/* Nothing is sent before the server list is replaced: a failure leaves no fallback. */
	if (o->servers && (rc = set_servers(r, o->servers)) < 0)
		goto out_destroy;
	*out = r;
	return 0;

out_destroy:
	ares_destroy(r->ch);
out_free:
	free(r->buckets);
	free(r);
	return rc;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	r->closing = true; /* ares_destroy's callbacks (ARES_EDESTRUCTION) are dropped */
	ares_destroy(r->ch);
	loop_timer_cancel(r->loop, &r->timer);
	for (uint32_t i = 0; i <= r->mask; i++) {
		while (r->buckets[i]) {
			struct rentry *e = r->buckets[i];
			while (e->waiters)
				waiter_unlink(e->waiters);
			entry_free(r, e, !e->pending);
		}
	}
	for (struct rsock *s = r->socks, *next; s; s = next) {
		next = s->next;
		if (s->io.fd >= 0)
			loop_del_fd(r->loop, &s->io);
		free(s);
	}
	free(r->buckets);
	free(r);
}
