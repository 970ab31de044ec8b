/* cookie.h: a per-virtual-user cookie jar following RFC 6265 §5 (user-agent requirements). */
#ifndef STAMPEDE_COOKIE_H
#define STAMPEDE_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/*
 * Times are wall-clock microseconds since the epoch, passed in by the caller (wall_us() in
 * production, fixed values in tests). A jar is single-threaded: one per virtual user.
 *
 * Limitations: there is no public-suffix list (a response from a.example.co.uk may set a
 * cookie for co.uk), hosts are not IDNA-converted (only ASCII-lowercased), and the
 * RFC 6265bis additions (SameSite, __Host-/__Secure- prefixes, "secure cookies only from
 * secure origins", the 400-day expiry cap) are not implemented. Name and value are checked
 * for control characters as RFC 6265bis requires, so a value can never split a header.
 */

/* Caps. RFC 6265 §6.1 asks for at least 4096 bytes per cookie, 50 cookies per domain and
 * 3000 in total; the 1024-byte attribute cap is RFC 6265bis §5.6. */
#define COOKIE_MAX_NAME_VALUE 4096 /* bytes of name + value; a longer cookie is rejected */
#define COOKIE_MAX_ATTR       1024 /* bytes of one attribute value; a longer one is ignored */
#define COOKIE_MAX_HOST       255  /* bytes of a request host; a longer one is rejected */
#define COOKIE_MAX_PER_DOMAIN 50   /* cookies sharing one domain field */
#define COOKIE_MAX_TOTAL      3000 /* cookies in one jar */

/* Not a failure: the cookie was already expired when it arrived, so it removed the stored
 * cookie with its name, domain and path (if any) and was not stored itself. */
#define COOKIE_DELETED 1

struct cookie_jar;

/* A request URL, already split by the caller; borrowed for the call only. */
struct cookie_url {
	const char *host; /* host name or IP address: no port, no IPv6 brackets, any case */
	const char *path; /* request target "/path" or "/path?query" (the query is ignored);
	                   * NULL, "" or anything not starting with '/' counts as "/" */
	bool secure;      /* the scheme is https */
};

/*
 * One cookie as a Set-Cookie header or a script's jar.set() describes it, before the jar
 * applies the request URL. Strings are counted and point into the caller's memory.
 */
struct cookie_attrs {
	const char *name, *value;
	size_t name_len, value_len;
	const char *domain; /* Domain attribute as written (a leading '.' is allowed), or NULL */
	size_t domain_len;
	const char *path; /* Path attribute, or NULL for the default-path of the request */
	size_t path_len;
	int64_t expires_s; /* Expires, seconds since the epoch; meaningful if has_expires */
	int64_t max_age_s; /* Max-Age in seconds (<= 0: expire now); meaningful if has_max_age */
	bool has_expires, has_max_age; /* Max-Age wins over Expires; neither: a session cookie */
	bool secure, http_only;
};

/* A stored cookie as the jar shows it; every pointer is owned by the jar and valid until the
 * jar is next modified. */
struct cookie_info {
	const char *name, *value, *domain, *path; /* NUL-terminated; domain is lowercase */
	size_t name_len, value_len;
	int64_t expires_us; /* expiry, µs since the epoch; INT64_MAX when !persistent */
	bool persistent;    /* had Max-Age or Expires (otherwise a session cookie) */
	bool host_only;     /* no Domain attribute: sent to exactly this host only */
	bool secure, http_only;
};

/* Called once per cookie by cookie_jar_each(); a nonzero return stops the walk. It must not
 * modify the jar. */
typedef int (*cookie_visit_fn)(const struct cookie_info *c, void *ud);

/* Parse the cookie-date s[0..len) with the tolerant algorithm of RFC 6265 §5.1.1 (RFC 1123,
 * RFC 850 and asctime forms, among others) into seconds since the epoch in *out_s.
 * Returns 0, or -EINVAL (and leaves *out_s alone) when it is not a valid date. */
int cookie_parse_date(const char *s, size_t len, int64_t *out_s);

/* Parse a Set-Cookie header value per RFC 6265 §5.2 into *out, whose strings then point
 * into s. Unknown, malformed and over-long (> COOKIE_MAX_ATTR) attributes are ignored; for a
 * repeated attribute the last valid one wins. Returns 0, or -EINVAL when the RFC says to
 * ignore the whole header (no '=' in the name-value pair, an empty name), or -E2BIG when
 * name and value exceed COOKIE_MAX_NAME_VALUE bytes. */
int cookie_parse(const char *s, struct cookie_attrs *out);

/* RFC 6265 §5.1.3: whether host domain-matches domain (ASCII case-insensitive). An IP
 * address (anything with a ':' or whose last label is numeric) matches only itself. */
bool cookie_domain_match(const char *host, const char *domain);

/* RFC 6265 §5.1.4: whether the request path req_path (a "?query" is ignored) path-matches
 * cookie_path. */
bool cookie_path_match(const char *req_path, const char *cookie_path);

/* RFC 6265 §5.1.4: the default-path of req_path (a "?query" is ignored): everything before
 * its right-most '/', or "/". Returns a pointer into req_path or to a static "/", and the
 * length in *len (the result is not NUL-terminated). */
const char *cookie_default_path(const char *req_path, size_t *len);

/* A new empty jar; the caller owns it and releases it with cookie_jar_free(). */
struct cookie_jar *cookie_jar_new(void);

/* Release jar and every cookie in it; accepts NULL. */
void cookie_jar_free(struct cookie_jar *jar);

/* Store a cookie received on a request to url at now_us, per RFC 6265 §5.3: same name,
 * domain and path replaces (keeping the creation time); then evict per the caps. Returns
 * 0 when stored, COOKIE_DELETED, or (nothing changed) -EINVAL for a bad url or a name or
 * value with control characters, ';' or (in the name) '=', -E2BIG when over a size cap, or
 * -EPERM when Domain does not domain-match the host. Nothing of a is kept. */
int cookie_jar_store(struct cookie_jar *jar, const struct cookie_url *url,
                     const struct cookie_attrs *a, int64_t now_us);

/* cookie_parse() then cookie_jar_store(): take one Set-Cookie header value received from url
 * at now_us. Returns what those return (0 means stored). */
int cookie_jar_set_header(struct cookie_jar *jar, const struct cookie_url *url,
                          const char *set_cookie, int64_t now_us);

/* Append the Cookie header value for a request to url at now_us ("a=1; b=2", RFC 6265 §5.4:
 * longer paths first, then earlier creation) to out, and mark those cookies accessed.
 * Returns the number of cookies appended; appends nothing and allocates nothing when that
 * is 0. */
size_t cookie_jar_header(struct cookie_jar *jar, const struct cookie_url *url, int64_t now_us,
                         struct buf *out);

/* Call fn(cookie, ud) for each cookie the Cookie header for url at now_us would hold, in
 * the same order, marking them accessed. Returns 0, or the first nonzero value fn returned
 * (which stops the walk). */
int cookie_jar_each(struct cookie_jar *jar, const struct cookie_url *url, int64_t now_us,
                    cookie_visit_fn fn, void *ud);

/* Remove every cookie called name whose domain and path match url (whether Secure, expired
 * or not). Returns the number removed. */
size_t cookie_jar_delete(struct cookie_jar *jar, const struct cookie_url *url, const char *name);

/* Remove every cookie that would be sent to host, whatever its path or Secure flag: its
 * host-only cookies and the domain cookies it domain-matches. Returns the number removed. */
size_t cookie_jar_clear_host(struct cookie_jar *jar, const char *host);

/* Remove every cookie from jar (its memory is kept for reuse). */
void cookie_jar_clear(struct cookie_jar *jar);

/* The number of cookies stored, counting expired ones not yet evicted. */
size_t cookie_jar_count(const struct cookie_jar *jar);

#endif
