/* cookie.c: RFC 6265 §5 cookie jar: Set-Cookie parsing, storage with caps, Cookie retrieval. */
#include "protocol/cookie.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "protocol/wire.h"
#include "util/common.h"

/* One stored cookie: info's strings live in data[] ("name\0value\0domain\0path\0"). */
struct cookie {
	int64_t creation_us, last_access_us; /* expiry is info.expires_us */
	uint64_t seq; /* creation order, breaks ties between equal creation times */
	size_t path_len;
	struct cookie_info info;
	char data[];
};

/* The cookies sharing one domain field (the unit of the per-domain cap). */
struct cookie_dom {
	char *name; /* lowercase domain */
	size_t len;
	uint32_t hash;
	struct cookie **v;
	size_t n, cap;
};

struct cookie_jar {
	struct cookie_dom *doms;
	size_t ndoms, domcap;
	size_t count;         /* cookies over all doms */
	uint64_t seq;         /* last creation sequence number handed out */
	struct cookie **hits; /* scratch: the cookies matching one request, reused */
	size_t hitcap;
};

/* --- strings, hosts and paths (§5.1) ---------------------------------------------- */

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim spaces and tabs from both ends of the counted string *p, *n. */
static void trim_wsp(const char **p, size_t *n)
{
	while (*n && is_wsp(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && is_wsp((*p)[*n - 1]))
		(*n)--;
}

static uint32_t hash_str(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void lower_copy(char *dst, const char *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] - 'A' + 'a') : src[i];
	dst[n] = '\0';
}

/* §5.1.2: the canonical (lowercase) host into out[COOKIE_MAX_HOST + 1]. */
static int canon_host(const char *host, char *out, size_t *len)
{
	size_t n = host ? strlen(host) : 0;
	if (n == 0 || n > COOKIE_MAX_HOST)
		return -EINVAL;
	lower_copy(out, host, n);
	*len = n;
	return 0;
}

/* Whether h is an IP address rather than a host name: IPv6 has ':', and a host whose last
 * label is all digits is read as IPv4 (as the WHATWG URL standard does). */
static bool is_ip(const char *h, size_t n)
{
	if (memchr(h, ':', n))
		return true;
	if (n && h[n - 1] == '.')
		n--;
	size_t i = n;
	while (i && h[i - 1] != '.')
		i--;
	if (i == n)
		return false;
	for (; i < n; i++) {
		if (!is_digit(h[i]))
			return false;
	}
	return true;
}

static bool domain_match(const char *h, size_t hl, const char *d, size_t dl)
{
	if (hl == dl && !strncasecmp(h, d, hl))
		return true;
	if (dl == 0 || dl >= hl || is_ip(h, hl))
		return false;
	return h[hl - dl - 1] == '.' && !strncasecmp(h + hl - dl, d, dl);
}

bool cookie_domain_match(const char *host, const char *domain)
{
	return domain_match(host, strlen(host), domain, strlen(domain));
}

/* The uri-path of a request target: up to '?' or '#'; "/" when it does not start with '/'. */
static const char *req_path(const char *target, size_t *len)
{
	if (!target || target[0] != '/') {
		*len = 1;
		return "/";
	}
	*len = strcspn(target, "?#");
	return target;
}

static bool path_match(const char *rp, size_t rl, const char *cp, size_t cl)
{
	if (cl == 0 || cl > rl || memcmp(rp, cp, cl) != 0)
		return false;
	return cl == rl || cp[cl - 1] == '/' || rp[cl] == '/';
}

bool cookie_path_match(const char *req, const char *cookie_path)
{
	size_t rl;
	const char *rp = req_path(req, &rl);
	return path_match(rp, rl, cookie_path, strlen(cookie_path));
}

const char *cookie_default_path(const char *req, size_t *len)
{
	size_t rl;
	const char *rp = req_path(req, &rl);
	const char *slash = rp + rl;
	while (slash > rp && slash[-1] != '/')
		slash--;
	/* slash is just past the right-most '/'; at rp + 1 that '/' is the only one that counts */
	if (slash <= rp + 1) {
		*len = 1;
		return "/";
	}
	*len = (size_t)(slash - 1 - rp);
	return rp;
}

/* --- cookie-date (§5.1.1) --------------------------------------------------------- */

static bool is_date_delim(unsigned char c)
{
	return c == 0x09 || (c >= 0x20 && c <= 0x2f) || (c >= 0x3b && c <= 0x40) ||
	       (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

/* min..max DIGITs of t[*i..n) as a number, advancing *i; -1 when fewer than min. */
static int date_digits(const char *t, size_t n, size_t *i, size_t min, size_t max)
{
	size_t start = *i;
	int v = 0;
	while (*i < n && *i - start < max && is_digit(t[*i]))
		v = v * 10 + (t[(*i)++] - '0');
	return *i - start < min ? -1 : v;
}

/* A number ends a token, or is followed by a non-digit (then anything). */
static bool date_number_end(const char *t, size_t n, size_t i)
{
	return i == n || !is_digit(t[i]);
}

/* time = hms-time ( non-digit *OCTET ); hms-time = 1*2DIGIT ":" 1*2DIGIT ":" 1*2DIGIT */
static bool date_time(const char *t, size_t n, int hms[3])
{
	size_t i = 0;
	int v[3];
	for (int k = 0; k < 3; k++) {
		if (k && (i >= n || t[i++] != ':'))
			return false;
		v[k] = date_digits(t, n, &i, 1, 2);
		if (v[k] < 0)
			return false;
	}
	if (!date_number_end(t, n, i))
		return false;
	memcpy(hms, v, sizeof(v));
	return true;
}

/* min..max DIGITs then ( non-digit *OCTET ): the value, or -1. */
static int date_number(const char *t, size_t n, size_t min, size_t max)
{
	size_t i = 0;
	int v = date_digits(t, n, &i, min, max);
	return v >= 0 && date_number_end(t, n, i) ? v : -1;
}

/* month = ( "jan" / ... / "dec" ) *OCTET: 1..12, or -1. */
static int date_month(const char *t, size_t n)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	for (int m = 0; n >= 3 && m < 12; m++) {
		if (!strncasecmp(t, months + 3 * m, 3))
			return m + 1;
	}
	return -1;
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
	return m == 2 && leap ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (y >= 0). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = y / 400, yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int cookie_parse_date(const char *s, size_t len, int64_t *out_s)
{
	int hms[3] = { -1, -1, -1 }, day = -1, month = -1, year = -1;
	size_t i = 0;

	while (i < len) {
		while (i < len && is_date_delim((unsigned char)s[i]))
			i++;
		size_t start = i;
		while (i < len && !is_date_delim((unsigned char)s[i]))
			i++;
		const char *t = s + start;
		size_t n = i - start;
		int v;
		if (n == 0)
			break;
		if (hms[0] < 0 && date_time(t, n, hms))
			continue;
		if (day < 0 && (v = date_number(t, n, 1, 2)) >= 0)
			day = v;
		else if (month < 0 && (v = date_month(t, n)) >= 0)
			month = v;
		else if (year < 0 && (v = date_number(t, n, 2, 4)) >= 0)
			year = v;
	}
	if (year >= 70 && year <= 99)
		year += 1900;
	else if (year >= 0 && year <= 69)
		year += 2000;
	if (hms[0] < 0 || day < 0 || month < 0 || year < 0)
		return -EINVAL;
	if (day < 1 || day > 31 || year < 1601 || hms[0] > 23 || hms[1] > 59 || hms[2] > 59)
		return -EINVAL;
	if (day > days_in_month(year, month))
		return -EINVAL;
	*out_s = days_from_civil(year, month, day) * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2];
	return 0;
}

/* --- Set-Cookie (§5.2) ------------------------------------------------------------ */

static bool attr_is(const char *name, size_t n, const char *want)
{
	return n == strlen(want) && !strncasecmp(name, want, n);
}

/* §5.2.2: [-]1*DIGIT, saturating; false (attribute ignored) otherwise. */
static bool parse_max_age(const char *v, size_t n, int64_t *out)
{
	bool neg = n && v[0] == '-';
	size_t i = neg;
	int64_t x = 0;
	if (i == n)
		return false;
	for (; i < n; i++) {
		if (!is_digit(v[i]))
			return false;
		int d = v[i] - '0';
		x = x > (INT64_MAX - d) / 10 ? INT64_MAX : x * 10 + d;
	}
	*out = neg ? -x : x;
	return true;
}

/* Apply one cookie-av (already trimmed) to out, per §5.2.1-§5.2.6. */
static void parse_attr(const char *k, size_t kl, const char *v, size_t vl, struct cookie_attrs *out)
{
	if (vl > COOKIE_MAX_ATTR)
		return;
	if (attr_is(k, kl, "expires")) {
		if (cookie_parse_date(v, vl, &out->expires_s) == 0)
			out->has_expires = true;
	} else if (attr_is(k, kl, "max-age")) {
		if (parse_max_age(v, vl, &out->max_age_s))
			out->has_max_age = true;
	} else if (attr_is(k, kl, "domain")) {
		if (vl) {
			out->domain = v;
			out->domain_len = vl;
		}
	} else if (attr_is(k, kl, "path")) {
		bool ok = vl && v[0] == '/';
		out->path = ok ? v : NULL;
		out->path_len = ok ? vl : 0;
	} else if (attr_is(k, kl, "secure")) {
		out->secure = true;
	} else if (attr_is(k, kl, "httponly")) {
		out->http_only = true;
	}
}

int cookie_parse(const char *s, struct cookie_attrs *out)
{
	memset(out, 0, sizeof(*out));
	size_t nvl = strcspn(s, ";");
	const char *eq = memchr(s, '=', nvl);
	if (!eq)
		return -EINVAL;
	out->name = s;
	out->name_len = (size_t)(eq - s);
	out->value = eq + 1;
	out->value_len = nvl - out->name_len - 1;
	trim_wsp(&out->name, &out->name_len);
	trim_wsp(&out->value, &out->value_len);
	if (out->name_len == 0)
		return -EINVAL;
	if (out->name_len + out->value_len > COOKIE_MAX_NAME_VALUE)
		return -E2BIG;

	for (const char *p = s + nvl; *p == ';';) {
		p++;
		size_t avl = strcspn(p, ";");
		const char *aeq = memchr(p, '=', avl);
		const char *k = p, *v = aeq ? aeq + 1 : p + avl;
		size_t kl = aeq ? (size_t)(aeq - p) : avl, vl = (size_t)(p + avl - v);
		trim_wsp(&k, &kl);
		trim_wsp(&v, &vl);
		parse_attr(k, kl, v, vl, out);
		p += avl;
	}
	return 0;
}

/* --- storage (§5.3) --------------------------------------------------------------- */

struct cookie_jar *cookie_jar_new(void)
{
	return xcalloc(1, sizeof(struct cookie_jar));
}

static struct cookie_dom *dom_find(struct cookie_jar *jar, const char *d, size_t dl)
{
	uint32_t h = hash_str(d, dl);
	for (size_t i = 0; i < jar->ndoms; i++) {
		struct cookie_dom *b = &jar->doms[i];
		if (b->hash == h && b->len == dl && !memcmp(b->name, d, dl))
			return b;
	}
	return NULL;
}

static struct cookie_dom *dom_add(struct cookie_jar *jar, const char *d, size_t dl)
{
	if (jar->ndoms == jar->domcap) {
		jar->domcap = jar->domcap ? 2 * jar->domcap : 4;
		jar->doms = xrealloc(jar->doms, jar->domcap * sizeof(*jar->doms));
	}
	struct cookie_dom *b = &jar->doms[jar->ndoms++];
	memset(b, 0, sizeof(*b));
	b->name = xstrndup(d, dl);
	b->len = dl;
	b->hash = hash_str(d, dl);
	return b;
}

/* Remove cookie j of domain b, and b itself when that empties it (the last domain moves
 * into its slot, so callers walking doms go from the end). */
static void dom_remove(struct cookie_jar *jar, struct cookie_dom *b, size_t j)
{
	free(b->v[j]);
	b->v[j] = b->v[--b->n];
	jar->count--;
	if (b->n)
		return;
	free(b->v);
	free(b->name);
	*b = jar->doms[--jar->ndoms];
}

static bool cookie_expired(const struct cookie *c, int64_t now_us)
{
	return c->info.expires_us <= now_us;
}

/* a was accessed less recently than b (ties: created earlier). */
static bool cookie_older(const struct cookie *a, const struct cookie *b)
{
	if (a->last_access_us != b->last_access_us)
		return a->last_access_us < b->last_access_us;
	return a->seq < b->seq;
}

static void evict_expired(struct cookie_jar *jar, int64_t now_us)
{
	for (size_t i = jar->ndoms; i-- > 0;) {
		struct cookie_dom *b = &jar->doms[i];
		for (size_t j = b->n; j-- > 0;) {
			if (cookie_expired(b->v[j], now_us))
				dom_remove(jar, b, j);
		}
	}
}

/* Evict the least recently accessed cookie other than keep, from b or (b NULL) anywhere. */
static void evict_oldest(struct cookie_jar *jar, struct cookie_dom *b, const struct cookie *keep)
{
	struct cookie_dom *vb = NULL;
	size_t vj = 0, lo = b ? (size_t)(b - jar->doms) : 0, hi = b ? lo + 1 : jar->ndoms;
	for (size_t i = lo; i < hi; i++) {
		struct cookie_dom *d = &jar->doms[i];
		for (size_t j = 0; j < d->n; j++) {
			if (d->v[j] != keep && (!vb || cookie_older(d->v[j], vb->v[vj]))) {
				vb = d;
				vj = j;
			}
		}
	}
	if (vb)
		dom_remove(jar, vb, vj);
}

/* §5.3 (end): over a cap, evict expired cookies, then the least recently accessed ones of
 * the crowded domain, then of the whole jar; never the cookie just stored. */
static void enforce_caps(struct cookie_jar *jar, struct cookie *keep, int64_t now_us)
{
	const struct cookie_info *k = &keep->info;
	struct cookie_dom *b = dom_find(jar, k->domain, strlen(k->domain));
	if (b->n <= COOKIE_MAX_PER_DOMAIN && jar->count <= COOKIE_MAX_TOTAL)
		return;
	evict_expired(jar, now_us);
	b = dom_find(jar, k->domain, strlen(k->domain));
	while (b->n > COOKIE_MAX_PER_DOMAIN)
		evict_oldest(jar, b, keep);
	while (jar->count > COOKIE_MAX_TOTAL)
		evict_oldest(jar, NULL, keep);
}

/* RFC 6265bis §5.6: no CTL (HTAB allowed) in name or value; and, so that a header can be
 * written from it, no ';' in either and no '=' in the name (wire_check's WIRE_JAR_*). */
static int check_name_value(const struct cookie_attrs *a)
{
	if (!a->name || a->name_len == 0 || (!a->value && a->value_len))
		return -EINVAL;
	if (a->name_len + a->value_len > COOKIE_MAX_NAME_VALUE)
		return -E2BIG;
	if (wire_check(WIRE_JAR_NAME, a->name, a->name_len, NULL, NULL, 0) < 0 ||
	    wire_check(WIRE_JAR_VALUE, a->value ? a->value : "", a->value_len, NULL, NULL, 0) < 0)
		return -EINVAL;
	return 0;
}

/* §5.3 step 3: the expiry time of a, and whether it is persistent. */
static int64_t expiry_of(const struct cookie_attrs *a, int64_t now_us, bool *persistent)
{
	int64_t us;
	*persistent = a->has_max_age || a->has_expires;
	if (a->has_max_age) {
		if (a->max_age_s <= 0)
			return INT64_MIN;
		if (__builtin_mul_overflow(a->max_age_s, USEC_PER_SEC, &us) ||
		    __builtin_add_overflow(now_us, us, &us))
			return INT64_MAX;
		return us;
	}
	if (a->has_expires) {
		if (__builtin_mul_overflow(a->expires_s, USEC_PER_SEC, &us))
			return a->expires_s < 0 ? INT64_MIN : INT64_MAX;
		return us;
	}
	return INT64_MAX;
}

/* §5.3 steps 4-6: the cookie's lowercase domain into dom[COOKIE_MAX_HOST + 1]. */
static int domain_of(const struct cookie_attrs *a, const char *host, size_t hl, char *dom,
                     size_t *dl, bool *host_only)
{
	const char *d = a->domain;
	size_t n = d ? a->domain_len : 0;
	if (n && d[0] == '.') {
		d++;
		n--;
	}
	*host_only = n == 0;
	if (n == 0) {
		memcpy(dom, host, hl + 1);
		*dl = hl;
		return 0;
	}
	if (n > COOKIE_MAX_HOST)
		return -EPERM;
	lower_copy(dom, d, n);
	*dl = n;
	return domain_match(host, hl, dom, n) ? 0 : -EPERM;
}

static struct cookie *cookie_new(const struct cookie_attrs *a, const char *dom, size_t dl,
                                 const char *path, size_t pl)
{
	size_t nl = a->name_len, vl = a->value_len;
	struct cookie *c = xmalloc(sizeof(*c) + nl + vl + dl + pl + 4);
	char *p = c->data;
	memset(c, 0, sizeof(*c));
	c->info.name = memcpy(p, a->name, nl);
	p[nl] = '\0';
	p += nl + 1;
	c->info.value = vl ? memcpy(p, a->value, vl) : p;
	p[vl] = '\0';
	p += vl + 1;
	c->info.domain = memcpy(p, dom, dl + 1);
	p += dl + 1;
	c->info.path = memcpy(p, path, pl);
	p[pl] = '\0';
	c->info.name_len = nl;
	c->info.value_len = vl;
	c->path_len = pl;
	c->info.secure = a->secure;
	c->info.http_only = a->http_only;
	return c;
}

/* The index in b of the cookie with c's name and path, or b->n. */
static size_t dom_index(const struct cookie_dom *b, const struct cookie *c)
{
	size_t j = 0;
	for (; j < b->n; j++) {
		const struct cookie_info *o = &b->v[j]->info;
		if (b->v[j]->path_len == c->path_len && !strcmp(o->name, c->info.name) &&
		    !strcmp(o->path, c->info.path))
			break;
	}
	return j;
}

/* §5.3 steps 11-12: put c in place of its namesake (keeping the creation time) or add it;
 * an expired c only removes its namesake. Takes ownership of c. */
static int jar_put(struct cookie_jar *jar, struct cookie *c, int64_t now_us)
{
	const char *d = c->info.domain;
	size_t dl = strlen(d);
	struct cookie_dom *b = dom_find(jar, d, dl);
	size_t j = b ? dom_index(b, c) : 0;
	bool have_old = b && j < b->n;

	c->creation_us = c->last_access_us = now_us;
	c->seq = ++jar->seq;
	if (have_old && !cookie_expired(b->v[j], now_us)) {
		c->creation_us = b->v[j]->creation_us;
		c->seq = b->v[j]->seq;
	}
	if (cookie_expired(c, now_us)) {
		free(c);
		if (have_old)
			dom_remove(jar, b, j);
		return COOKIE_DELETED;
	}
	if (have_old) {
		free(b->v[j]);
		b->v[j] = c;
		return 0;
	}
	if (!b)
		b = dom_add(jar, d, dl);
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 4;
		b->v = xrealloc(b->v, b->cap * sizeof(*b->v));
	}
	b->v[b->n++] = c;
	jar->count++;
	enforce_caps(jar, c, now_us);
	return 0;
}

int cookie_jar_store(struct cookie_jar *jar, const struct cookie_url *url,
                     const struct cookie_attrs *a, int64_t now_us)
{
	char host[COOKIE_MAX_HOST + 1], dom[COOKIE_MAX_HOST + 1];
	size_t hl, dl, pl;
	const char *path;
	bool host_only, persistent;
	int rc;

	if ((rc = canon_host(url->host, host, &hl)) < 0 || (rc = check_name_value(a)) < 0 ||
	    (rc = domain_of(a, host, hl, dom, &dl, &host_only)) < 0)
		return rc;
	if (a->path && a->path_len && a->path[0] == '/') {
		path = a->path;
		pl = a->path_len;
		if (pl > COOKIE_MAX_ATTR || memchr(path, '\0', pl))
			return pl > COOKIE_MAX_ATTR ? -E2BIG : -EINVAL;
	} else {
		path = cookie_default_path(url->path, &pl);
	}
	int64_t expiry = expiry_of(a, now_us, &persistent);
	struct cookie *c = cookie_new(a, dom, dl, path, pl);
	c->info.expires_us = expiry;
	c->info.persistent = persistent;
	c->info.host_only = host_only;
	return jar_put(jar, c, now_us);
}

int cookie_jar_set_header(struct cookie_jar *jar, const struct cookie_url *url,
                          const char *set_cookie, int64_t now_us)
{
	struct cookie_attrs a;
	int rc = cookie_parse(set_cookie, &a);
	return rc < 0 ? rc : cookie_jar_store(jar, url, &a, now_us);
}

/* --- retrieval (§5.4) ------------------------------------------------------------- */

/* The next domain after offset off of host h whose cookies may match h: each suffix that
 * follows a '.' (none for an IP address). Returns hl when there is none. */
static size_t next_domain(const char *h, size_t hl, size_t off, bool ip)
{
	const char *dot = ip ? NULL : memchr(h + off, '.', hl - off);
	return dot ? (size_t)(dot - h) + 1 : hl;
}

/* §5.4 order: longer paths first, then earlier creation. */
static int cookie_cmp(const void *pa, const void *pb)
{
	const struct cookie *a = *(struct cookie *const *)pa, *b = *(struct cookie *const *)pb;
	if (a->path_len != b->path_len)
		return a->path_len > b->path_len ? -1 : 1;
	if (a->creation_us != b->creation_us)
		return a->creation_us < b->creation_us ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void hit_add(struct cookie_jar *jar, size_t n, struct cookie *c)
{
	if (n == jar->hitcap) {
		jar->hitcap = jar->hitcap ? 2 * jar->hitcap : 8;
		jar->hits = xrealloc(jar->hits, jar->hitcap * sizeof(*jar->hits));
	}
	jar->hits[n] = c;
}

/* §5.4 steps 1-3: gather into jar->hits the cookies for url at now_us, sorted, and mark
 * them accessed. Returns how many. */
static size_t collect(struct cookie_jar *jar, const struct cookie_url *url, int64_t now_us)
{
	char host[COOKIE_MAX_HOST + 1];
	size_t hl, rl, n = 0;

	if (jar->count == 0 || canon_host(url->host, host, &hl) < 0)
		return 0;
	const char *rp = req_path(url->path, &rl);
	bool ip = is_ip(host, hl);
	for (size_t off = 0; off < hl; off = next_domain(host, hl, off, ip)) {
		struct cookie_dom *b = dom_find(jar, host + off, hl - off);
		for (size_t j = 0; b && j < b->n; j++) {
			struct cookie *c = b->v[j];
			if ((c->info.host_only && off) || cookie_expired(c, now_us) ||
			    (c->info.secure && !url->secure) ||
			    !path_match(rp, rl, c->info.path, c->path_len))
				continue;
			hit_add(jar, n++, c);
		}
	}
	if (n > 1)
		qsort(jar->hits, n, sizeof(*jar->hits), cookie_cmp);
	for (size_t i = 0; i < n; i++)
		jar->hits[i]->last_access_us = now_us;
	return n;
}

size_t cookie_jar_header(struct cookie_jar *jar, const struct cookie_url *url, int64_t now_us,
                         struct buf *out)
{
	size_t n = collect(jar, url, now_us), need = 0;
	for (size_t i = 0; i < n; i++)
		need += jar->hits[i]->info.name_len + jar->hits[i]->info.value_len + 3;
	if (n)
		buf_reserve(out, need);
	for (size_t i = 0; i < n; i++) {
		const struct cookie_info *c = &jar->hits[i]->info;
		if (i)
			buf_add(out, "; ", 2);
		buf_add(out, c->name, c->name_len);
		buf_add(out, "=", 1);
		buf_add(out, c->value, c->value_len);
	}
	return n;
}

int cookie_jar_each(struct cookie_jar *jar, const struct cookie_url *url, int64_t now_us,
                    cookie_visit_fn fn, void *ud)
{
	size_t n = collect(jar, url, now_us);
	for (size_t i = 0; i < n; i++) {
		int rc = fn(&jar->hits[i]->info, ud);
		if (rc)
			return rc;
	}
	return 0;
}

/* --- removal ---------------------------------------------------------------------- */

/* Remove the cookies sent to host (any Secure flag or expiry) that are called name (NULL:
 * any) and path-match rp[0..rl) (rp NULL: any path). Returns how many. */
static size_t remove_matching(struct cookie_jar *jar, const char *host_in, const char *name,
                              const char *rp, size_t rl)
{
	char host[COOKIE_MAX_HOST + 1];
	size_t hl, removed = 0;

	if (jar->count == 0 || canon_host(host_in, host, &hl) < 0)
		return 0;
	bool ip = is_ip(host, hl);
	for (size_t off = 0; off < hl; off = next_domain(host, hl, off, ip)) {
		struct cookie_dom *b = dom_find(jar, host + off, hl - off);
		for (size_t j = b ? b->n : 0; j-- > 0;) {
			const struct cookie *c = b->v[j];
			if ((c->info.host_only && off) || (name && strcmp(c->info.name, name)) ||
			    (rp && !path_match(rp, rl, c->info.path, c->path_len)))
				continue;
			dom_remove(jar, b, j);
			removed++;
		}
	}
	return removed;
}

size_t cookie_jar_delete(struct cookie_jar *jar, const struct cookie_url *url, const char *name)
{
	size_t rl;
	const char *rp = req_path(url->path, &rl);
	return name ? remove_matching(jar, url->host, name, rp, rl) : 0;
}

size_t cookie_jar_clear_host(struct cookie_jar *jar, const char *host)
{
	return remove_matching(jar, host, NULL, NULL, 0);
}

void cookie_jar_clear(struct cookie_jar *jar)
{
	for (size_t i = 0; i < jar->ndoms; i++) {
		struct cookie_dom *b = &jar->doms[i];
		for (size_t j = 0; j < b->n; j++)
			free(b->v[j]);
		free(b->v);
		free(b->name);
	}
	jar->ndoms = 0;
	jar->count = 0;
}

size_t cookie_jar_count(const struct cookie_jar *jar)
{
	return jar->count;
}

void cookie_jar_free(struct cookie_jar *jar)
{
	if (!jar)
		return;
	cookie_jar_clear(jar);
	free(jar->doms);
	free(jar->hits);
	free(jar);
}
