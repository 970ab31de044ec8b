/* resolver.h: per-worker asynchronous DNS (c-ares inside the epoll loop) with a k6-style cache. */
#ifndef STAMPEDE_RESOLVER_H
#define STAMPEDE_RESOLVER_H

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct loop;

/* Which address of a host a lookup answers with (k6 dns.select). */
enum resolver_select { RESOLVER_SELECT_RANDOM, RESOLVER_SELECT_FIRST, RESOLVER_SELECT_ROUND_ROBIN };

/* Which address families a lookup may answer with (k6 dns.policy). */
enum resolver_policy {
	RESOLVER_PREFER_IPV4, /* IPv4 addresses if the host has any, else IPv6 */
	RESOLVER_PREFER_IPV6, /* IPv6 addresses if the host has any, else IPv4 */
	RESOLVER_ONLY_IPV4,   /* IPv4 only (A queries only) */
	RESOLVER_ONLY_IPV6,   /* IPv6 only (AAAA queries only) */
	RESOLVER_ANY,         /* every address, in RFC 6724 order */
};

#define RESOLVER_DEFAULT_TTL_US     (300 * 1000000LL) /* k6: 5m */
#define RESOLVER_DEFAULT_TIMEOUT_MS 2000
#define RESOLVER_DEFAULT_TRIES      2
#define RESOLVER_DEFAULT_MAX_HOSTS  4096
#define RESOLVER_MAX_ADDRS          16 /* addresses kept per host */
#define RESOLVER_MAX_HOST           253

struct resolver_opts {
	/* How long an answer is cached, whatever the records' own TTLs (as k6): 0 = not at
	 * all (concurrent lookups of a host still share one query), < 0 = for ever. */
	int64_t ttl_us;
	enum resolver_select select;
	enum resolver_policy policy;
	/* NULL: /etc/resolv.conf. Else "127.0.0.1:5353,[::1]:53": only these servers, and
	 * /etc/resolv.conf is not read at all (no search domains). */
	const char *servers;
	int timeout_ms; /* first try; c-ares doubles it on each retry (2 s + 4 s); 0 = default */
	int tries;      /* attempts per server; 0 = default */
	int max_hosts;  /* hosts in the cache; 0 = default */
};

/* Negative errno values a lookup fails with; resolver_strerror() gives the text. */
#define RESOLVER_ENOTFOUND (-ENOENT)        /* NXDOMAIN, or no A/AAAA record */
#define RESOLVER_ETIMEOUT  (-ETIMEDOUT)     /* no answer after every try */
#define RESOLVER_EREFUSED  (-ECONNREFUSED)  /* REFUSED, or the server port is closed */
#define RESOLVER_ENOADDR   (-EADDRNOTAVAIL) /* addresses exist, none of the policy's family */
#define RESOLVER_ESERVER   (-EPROTO)        /* SERVFAIL, FORMERR, NOTIMP, bad response */
#define RESOLVER_EBADNAME  (-EINVAL)        /* invalid host name or IPv6 zone */
#define RESOLVER_EFULL     (-ENOBUFS)       /* max_hosts hosts are all being resolved */

struct resolver;
struct resolver_query;

/* An IPv4 or IPv6 socket address. */
union resolver_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* err is 0 (addr/len: the chosen address with the port set) or a negative errno above
 * (addr NULL). addr points into q and stays valid until q is used again. */
typedef void (*resolver_cb)(struct resolver_query *q, void *ud, int err,
                            const struct sockaddr *addr, socklen_t len);

/* One lookup, embedded in its owner (a connection) like a loop_timer, so that lookups never
 * allocate and can be cancelled. Its fields belong to resolver.c. */
struct resolver_query {
	resolver_cb cb;
	void *ud;
	struct resolver_query *next, **pprev; /* waiters of a host being resolved */
	uint16_t port;
	union resolver_addr addr;
};

/* Fill o with k6's defaults: ttl 5m, select random, policy preferIPv4, system servers,
 * 2 s timeout, 2 tries, 4096 hosts. */
void resolver_opts_init(struct resolver_opts *o);
/* Parse k6's dns.ttl: "inf" (forever: -1), "0" (no cache), a duration ("5m", "1h30m", "2d")
 * or a bare integer of milliseconds (as k6). Returns 0 or -EINVAL with the reason in err. */
int resolver_parse_ttl(const char *s, int64_t *ttl_us, char *err, size_t errlen);
/* Parse k6's dns.select: "first", "random" or "roundRobin". Returns 0 or -EINVAL (err). */
int resolver_parse_select(const char *s, enum resolver_select *out, char *err, size_t errlen);
/* Parse k6's dns.policy: "preferIPv4", "preferIPv6", "onlyIPv4", "onlyIPv6" or "any".
 * Returns 0 or -EINVAL (err). */
int resolver_parse_policy(const char *s, enum resolver_policy *out, char *err, size_t errlen);
/* Parse k6's --dns / K6_DNS string "ttl=1m,select=first,policy=any" (any subset) into o,
 * leaving the other fields as they are. Returns 0 or -EINVAL (err). */
int resolver_opts_parse(const char *spec, struct resolver_opts *o, char *err, size_t errlen);

/* Create a resolver for the worker that owns loop (single-threaded: call it from that thread
 * only). seed drives "random" selection; o is only read during the call. Returns 0 or a negative errno
 * (-EINVAL for an invalid server list, with nothing sent anywhere). */
int resolver_new(struct loop *loop, const struct resolver_opts *o, uint64_t seed,
                 struct resolver **out);
/* Free r: lookups still pending are dropped and their callbacks never called. Closes the
 * resolver's sockets and disarms its timer; the loop must outlive r. Accepts NULL. Not to be
 * called from a resolver callback. */
void resolver_free(struct resolver *r);

/* Resolve host (a name, an IPv4 literal, or an IPv6 literal with or without brackets and a
 * "%zone") for port. cb is called exactly once, possibly before this returns (literal, cache
 * hit, /etc/hosts, immediate error), unless q is cancelled first. Literals skip the policy.
 * q must not be pending already; q (and host only during this call) are the caller's. */
void resolver_lookup(struct resolver *r, struct resolver_query *q, const char *host, uint16_t port,
                     resolver_cb cb, void *ud);
/* Cancel q: its callback will not be called. Harmless when q is not pending (zeroed, or its
 * callback already ran). The host's query goes on and still fills the cache. */
void resolver_cancel(struct resolver *r, struct resolver_query *q);
/* true while q waits for its answer. */
bool resolver_pending(const struct resolver_query *q);

/* The text for a lookup error ("no such host", "i/o timeout"...), for "lookup HOST: TEXT". */
const char *resolver_strerror(int err);

#endif
