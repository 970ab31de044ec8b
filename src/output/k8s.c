/* k8s.c: the HorizontalPodAutoscaler and KEDA ScaledObject of `stampede capacity k8s`,
 * written as YAML by hand (a fixed shape; every string scalar double-quoted). */
#include "output/k8s.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/common.h"
#include "util/escape.h"

#define PROM_URL_MAX 2048
#define QUERY_MAX    8192
#define METRIC_MAX   253
#define TZ_MAX       64

/* Both manifests say so: KEDA makes an HPA of its own for the ScaledObject. */
#define ONE_OF_TWO                                                                                 \
	"# Apply this or the other manifest (HPA / KEDA ScaledObject), not both: two\n"            \
	"# autoscalers on one Deployment fight over its replicas.\n"

int k8s_replicas(double rps, double rps_per_pod, int *out)
{
	if (!isfinite(rps) || !isfinite(rps_per_pod) || rps < 0 || rps_per_pod <= 0)
		return -EINVAL;
	double n = rps / rps_per_pod;
	if (!isfinite(n) || n > K8S_REPLICAS_MAX + 1.0)
		return -ERANGE;
	double c = ceil(n - 1e-9 * (n > 1 ? n : 1));
	if (c > K8S_REPLICAS_MAX)
		return -ERANGE;
	*out = c < 1 ? 1 : (int)c;
	return 0;
}

int k8s_plan_bound(const struct k8s_plan_load *l, double rps_per_pod, bool plan_count, int *n,
                   enum k8s_source *src)
{
	int c, e = k8s_replicas(l->rps, rps_per_pod, &c);
	if (e < 0)
		return e;
	bool count = plan_count && l->instances >= c;
	*n = count ? l->instances : c;
	*src = count ? K8S_FROM_PLAN : K8S_FROM_PLAN_RPS;
	return 0;
}

bool k8s_dns1123_label(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (c != '-' || i == 0 || i == n - 1))
			return false;
	}
	return true;
}

/* --- cron ------------------------------------------------------------------------------ */

static const struct {
	const char *what;
	int lo, hi;
	const char *names; /* 3-letter names for lo.., or NULL */
} cron_fields[5] = {
	{ "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },
	{ "day of month", 1, 31, NULL },
	{ "month", 1, 12, "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC" },
	{ "day of week", 0, 6, "SUNMONTUEWEDTHUFRISAT" },
};

enum { CRON_MIN, CRON_HOUR, CRON_DOM, CRON_MONTH, CRON_DOW };

/* A cron as robfig/cron reads it: the values each field matches, and whether the day
 * fields hold a '*' (or '?') without a step above 1 (its "star bit": then a day must match
 * both day fields, else either). */
struct cron_sched {
	uint64_t bits[5];
	bool star[5];
};

static int cron_fail(char *err, size_t errlen, int f, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int cron_fail(char *err, size_t errlen, int f, const char *fmt, ...)
{
	char why[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "field %d (%s): %s", f + 1, cron_fields[f].what, why);
	return -EINVAL;
}

/* The digits at *p as a number (saturated at 1e9), *p past them. */
static long cron_digits(const char **p)
{
	long x = 0;
	for (; isdigit((unsigned char)**p); (*p)++)
		x = x < 100000000 ? x * 10 + (**p - '0') : 1000000000;
	return x;
}

/* One value of field f at *p (a number or a name), advancing *p. 0 or -EINVAL. */
static int cron_value(int f, const char **p, int *v, char *err, size_t errlen)
{
	const char *s = *p;
	if (isdigit((unsigned char)*s)) {
		long x = cron_digits(&s);
		if (x < cron_fields[f].lo || x > cron_fields[f].hi) /* the number as written */
			return cron_fail(err, errlen, f, "%.*s is out of %d-%d", (int)(s - *p), *p,
			                 cron_fields[f].lo, cron_fields[f].hi);
		*v = (int)x;
		*p = s;
		return 0;
	}
	const char *names = cron_fields[f].names;
	for (int i = 0; names && names[3 * i]; i++) {
		if (strncasecmp(s, names + 3 * i, 3) == 0 && !isalpha((unsigned char)s[3])) {
			*v = cron_fields[f].lo + i;
			*p = s + 3;
			return 0;
		}
	}
	return cron_fail(err, errlen, f, "expected a number%s at '%s'",
	                 names ? " or a 3-letter name" : "", s);
}

/* One comma-separated item of field f into c: '*', '?', N or N-M, then an optional /STEP
 * (N/STEP is N-max/STEP, as robfig/cron reads it). */
static int cron_item(int f, const char *s, struct cron_sched *c, char *err, size_t errlen)
{
	int lo = cron_fields[f].lo, hi = cron_fields[f].hi, rc;
	bool star = *s == '*' || *s == '?', single = false;
	long step = 1;
	if (star) { /* robfig/cron reads '?' as '*' in any field */
		s++;
	} else {
		if ((rc = cron_value(f, &s, &lo, err, errlen)) < 0)
			return rc;
		hi = lo;
		single = *s != '-';
		if (*s == '-') {
			s++;
			if ((rc = cron_value(f, &s, &hi, err, errlen)) < 0)
				return rc;
			if (hi < lo)
				return cron_fail(err, errlen, f,
				                 "range %d-%d ends before it starts", lo, hi);
		}
	}
	if (*s == '/') {
		const char *d = ++s;
		step = cron_digits(&s);
		if (s == d || step == 0 || *s)
			return cron_fail(err, errlen, f, "a step must be a positive number");
		if (step > cron_fields[f].hi - cron_fields[f].lo + 1) /* as written */
			return cron_fail(err, errlen, f, "a step of %.*s is more than %d-%d holds",
			                 (int)(s - d), d, cron_fields[f].lo, cron_fields[f].hi);
		if (single)
			hi = cron_fields[f].hi;
	}
	if (*s)
		return cron_fail(err, errlen, f, "unexpected '%s'", s);
	for (long v = lo; v <= hi; v += step)
		c->bits[f] |= 1ull << v;
	c->star[f] |= star && step == 1;
	return 0;
}

/* The next whitespace-separated field of *p: its start, with its length in *n, and *p
 * past it; NULL at the end. */
static const char *next_field(const char **p, size_t *n)
{
	const char *s = *p;
	while (*s && isspace((unsigned char)*s))
		s++;
	if (!*s)
		return NULL;
	*n = strcspn(s, " \t\n\r\f\v");
	*p = s + *n;
	return s;
}

static int cron_parse(const char *s, struct cron_sched *c, char *err, size_t errlen)
{
	char field[64];
	int f = 0;
	const char *p = s ? s : "", *fp;
	size_t n;
	memset(c, 0, sizeof(*c));
	while ((fp = next_field(&p, &n))) {
		if (f == 5) {
			snprintf(err, errlen,
			         "more than 5 fields (minute hour day-of-month month "
			         "day-of-week)");
			return -EINVAL;
		}
		if (n >= sizeof(field))
			return cron_fail(err, errlen, f, "too long");
		memcpy(field, fp, n);
		field[n] = '\0';
		for (char *item = field, *next; item; item = next) {
			next = strchr(item, ',');
			if (next)
				*next++ = '\0';
			if (!*item)
				return cron_fail(err, errlen, f, "an empty list item");
			int rc = cron_item(f, item, c, err, errlen);
			if (rc < 0)
				return rc;
		}
		f++;
	}
	if (f != 5) {
		snprintf(err, errlen,
		         "%d field%s, expected 5 (minute hour day-of-month month "
		         "day-of-week)",
		         f, f == 1 ? "" : "s");
		return -EINVAL;
	}
	return 0;
}

int k8s_cron_check(const char *s, char *err, size_t errlen)
{
	struct cron_sched c;
	return cron_parse(s, &c, err, errlen);
}

/* Whether c fires on a day (month 1-12, day of month, day of week 0 = Sunday). */
static bool cron_day(const struct cron_sched *c, int month, int mday, int wday)
{
	if (!(c->bits[CRON_MONTH] >> month & 1))
		return false;
	bool dom = c->bits[CRON_DOM] >> mday & 1, dow = c->bits[CRON_DOW] >> wday & 1;
	return c->star[CRON_DOM] || c->star[CRON_DOW] ? dom && dow : dom || dow;
}

/* Walks each day of 28 years from 2000-01-01, a Saturday (the calendar's days of the week
 * repeat every 28 years within 1901-2099, leap days included): whether a and b fire on the
 * same days (b NULL: whether a fires on any day). */
static bool cron_days_same(const struct cron_sched *a, const struct cron_sched *b)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int wday = 6;
	for (int y = 2000; y < 2028; y++) {
		for (int m = 1; m <= 12; m++) {
			int n = mdays[m - 1] + (m == 2 && y % 4 == 0);
			for (int d = 1; d <= n; d++, wday = (wday + 1) % 7) {
				bool fa = cron_day(a, m, d, wday);
				if (!b && fa)
					return true;
				if (b && fa != cron_day(b, m, d, wday))
					return false;
			}
		}
	}
	return b != NULL;
}

int k8s_cron_pair(const char *s, char *start, char *end, size_t size, char *err, size_t errlen)
{
	const char *p = s ? s : "";
	char *dst[2] = { start, end };
	size_t len[2] = { 0, 0 };
	int fields = 0;
	const char *fp;
	size_t n;
	start[0] = end[0] = '\0';
	for (; (fp = next_field(&p, &n)); fields++) {
		if (fields >= 10)
			continue; /* counted for the message */
		int w = fields / 5;
		if (len[w] + n + 2 > size) {
			snprintf(err, errlen, "too long");
			return -EINVAL;
		}
		if (len[w])
			dst[w][len[w]++] = ' ';
		memcpy(dst[w] + len[w], fp, n);
		len[w] += n;
		dst[w][len[w]] = '\0';
	}
	if (fields != 10) {
		snprintf(err, errlen,
		         "%d fields: expected two 5-field crons, when off-hours begin "
		         "and when they end, e.g. '0 20 * * 1-5 0 8 * * 1-5'",
		         fields);
		return -EINVAL;
	}
	char why[200];
	struct cron_sched c[2];
	for (int w = 0; w < 2; w++) {
		const char *what = w ? "end" : "start";
		if (cron_parse(dst[w], &c[w], why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s cron '%s': %s", what, dst[w], why);
			return -EINVAL;
		}
		if (!cron_days_same(&c[w], NULL)) {
			snprintf(err, errlen,
			         "%s cron '%s' never fires: no date has that day of month in "
			         "those months",
			         what, dst[w]);
			return -EINVAL;
		}
	}
	if (c[0].bits[CRON_MIN] == c[1].bits[CRON_MIN] &&
	    c[0].bits[CRON_HOUR] == c[1].bits[CRON_HOUR] && cron_days_same(&c[0], &c[1])) {
		snprintf(err, errlen,
		         "off-hours start '%s' and end '%s' are the same cron (they fire at the "
		         "same times)",
		         start, end);
		return -EINVAL;
	}
	return 0;
}

/* --- checks ------------------------------------------------------------------------------ */

static bool prom_metric_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > METRIC_MAX || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != ':')
			return false;
	return true;
}

static bool printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static int check_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int check_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool tz_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > TZ_MAX || s[0] == '/' || s[n - 1] == '/' || strstr(s, "//") ||
	    strstr(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("/_+-.", s[i]))
			return false;
	return true;
}

/* The names under the tz database's directory that are TZif files but no zone. */
static bool tz_not_a_zone(const char *tz)
{
	static const char *const names[] = { "Factory", "posixrules", "localtime" };
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(tz, names[i]))
			return true;
	return !strncmp(tz, "posix/", 6) || !strncmp(tz, "right/", 6);
}

int k8s_tz_check(const char *dir, const char *tz, char *err, size_t errlen)
{
	static const char why[] = "not a time zone of the tz database (e.g. Europe/Paris, "
	                          "America/New_York, UTC)";
	struct stat st;
	if (!tz || !tz_name(tz))
		return check_fail(err, errlen, "%s", why);
	if (!strcmp(tz, "UTC") || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (tz_not_a_zone(tz))
		return check_fail(err, errlen, "%s", why);
	char path[PATH_MAX], magic[4];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, tz) >= sizeof(path))
		return check_fail(err, errlen, "%s", why);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return check_fail(err, errlen, "%s", why);
	ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, magic, 4) : -1;
	close(fd);
	if (n != 4 || memcmp(magic, "TZif", 4))
		return check_fail(err, errlen, "%s", why);
	return 0;
}

int k8s_rps_quantity(double v, int64_t *milli)
{
	if (!isfinite(v) || v < 0)
		return -EINVAL;
	if (v > K8S_RPS_MAX)
		return -ERANGE;
	double m = v * 1000, r = nearbyint(m);
	double q = fabs(m - r) <= 1e-9 * (r > 1 ? r : 1) ? r : floor(m);
	if (q < 1)
		return -EINVAL;
	*milli = (int64_t)q;
	return 0;
}

/* --- the plan document ------------------------------------------------------------------- */

/* The number at key of o into *v; false when o is not an object or the key is missing
 * or not a number (a JSON null too). */
static bool plan_number(const json_t *o, const char *key, double *v)
{
	const json_t *j = json_is_object(o) ? json_object_get(o, key) : NULL;
	if (!json_is_number(j))
		return false;
	*v = json_number_value(j);
	return isfinite(*v);
}

/* A load of the plan (an element of months or scenarios) into l, needing at least one
 * instance. 0 or -EINVAL with the reason in err. */
static int plan_load(const json_t *o, const char *where, struct k8s_plan_load *l, char *err,
                     size_t errlen)
{
	const json_t *n = json_is_object(o) ? json_object_get(o, "instances") : NULL;
	if (!plan_number(o, "rps", &l->rps) || l->rps < 0)
		return check_fail(err, errlen, "%s: expected rps, req/s as a number >= 0", where);
	if (l->rps > K8S_RPS_MAX)
		return check_fail(err, errlen, "%s: %g req/s is more than the %.0f accepted", where,
		                  l->rps, K8S_RPS_MAX);
	if (json_is_null(n))
		return check_fail(err, errlen,
		                  "%s: the plan has no instance count that carries its load "
		                  "(past the model's capacity, or more than it counts); give "
		                  "--max-replicas or --peak-rps",
		                  where);
	if (!json_is_integer(n) || json_integer_value(n) < 0)
		return check_fail(err, errlen, "%s: expected instances, a whole number >= 0",
		                  where);
	if (json_integer_value(n) > K8S_REPLICAS_MAX)
		return check_fail(err, errlen,
		                  "%s needs %lld instances, more than the %d replicas accepted",
		                  where, (long long)json_integer_value(n), K8S_REPLICAS_MAX);
	l->instances = json_integer_value(n) < 1 ? 1 : (int)json_integer_value(n);
	return 0;
}

int k8s_plan_read(const json_t *doc, struct k8s_plan *p, char *err, size_t errlen)
{
	const json_t *f = json_is_object(doc) ? json_object_get(doc, "format") : NULL;
	if (!json_is_string(f) || strcmp(json_string_value(f), "stampede-capacity-plan/1"))
		return check_fail(err, errlen,
		                  "not a capacity plan (format \"stampede-capacity-plan/1\", "
		                  "written by `stampede capacity plan --out json=FILE`)");
	const json_t *cap = json_object_get(doc, "capacity");
	const json_t *per = json_is_object(cap) ? json_object_get(cap, "perInstanceRps") : NULL;
	if (json_is_null(per))
		return check_fail(err, errlen,
		                  "the plan has no per-instance capacity (capacity.perInstanceRps "
		                  "is null: its USL model is over instances, a cluster's total); "
		                  "plan with --current-util or a model over concurrency");
	if (!plan_number(cap, "perInstanceRps", &p->per_instance_rps) || p->per_instance_rps <= 0)
		return check_fail(err, errlen,
		                  "capacity.perInstanceRps: expected req/s, a number above 0");
	if (!plan_number(json_object_get(doc, "inputs"), "bufferPercent", &p->buffer_percent) ||
	    p->buffer_percent <= 0 || p->buffer_percent > 100)
		return check_fail(err, errlen,
		                  "inputs.bufferPercent: expected a percentage in (0, 100]");
	p->rps_at_buffer = p->per_instance_rps * p->buffer_percent / 100;
	const json_t *months = json_object_get(doc, "months");
	size_t nm = json_array_size(months);
	if (!json_is_array(months) || nm == 0)
		return check_fail(err, errlen, "months: expected the projection's months");
	int rc = plan_load(json_array_get(months, 0), "months[0] (today)", &p->now, err, errlen);
	if (rc < 0)
		return rc;
	snprintf(p->now.what, sizeof(p->now.what), "today's load");
	const json_t *scenarios = json_object_get(doc, "scenarios"), *big = NULL, *s;
	double k = 0, kbig = 0;
	size_t i;
	if (!json_is_array(scenarios))
		return check_fail(err, errlen, "scenarios: expected the growth scenarios");
	json_array_foreach(scenarios, i, s)
	{
		if (!plan_number(s, "multiple", &k) || k <= 0)
			return check_fail(err, errlen,
			                  "scenarios[%zu]: expected multiple, a number above 0", i);
		if (!big || k > kbig) {
			big = s;
			kbig = k;
		}
	}
	char where[64];
	struct k8s_plan_load last;
	const json_t *lastm = json_array_get(months, nm - 1);
	double mno = 0;
	plan_number(lastm, "month", &mno);
	snprintf(where, sizeof(where), "months[%zu]", nm - 1);
	if ((rc = plan_load(lastm, where, &last, err, errlen)) < 0)
		return rc;
	snprintf(last.what, sizeof(last.what), "month %.0f of the horizon", mno);
	p->peak = last;
	if (big) {
		struct k8s_plan_load sc;
		snprintf(where, sizeof(where), "the %.15gx scenario", kbig);
		if ((rc = plan_load(big, where, &sc, err, errlen)) < 0)
			return rc;
		snprintf(sc.what, sizeof(sc.what), "the %.15gx scenario", kbig);
		if (sc.instances >= last.instances)
			p->peak = sc;
	}
	return 0;
}

int k8s_check(const struct k8s_autoscale *a, char *err, size_t errlen)
{
	static const char dns[] = "not an RFC 1123 DNS label (1-63 characters of a-z, 0-9 and "
	                          "'-', starting and ending with a letter or digit)";
	if (!k8s_dns1123_label(a->name))
		return check_fail(err, errlen, "--name '%s': %s", a->name, dns);
	if (!k8s_dns1123_label(a->ns))
		return check_fail(err, errlen, "--namespace '%s': %s", a->ns, dns);
	int64_t milli;
	if (k8s_rps_quantity(a->rps_per_pod, &milli) < 0 || (double)milli / 1000 != a->rps_per_pod)
		return check_fail(err, errlen,
		                  "--rps-per-pod must be at least 0.001 req/s, at most %.0f, "
		                  "in steps of 0.001",
		                  K8S_RPS_MAX);
	if (a->min_replicas < 1 || a->min_replicas > K8S_REPLICAS_MAX)
		return check_fail(err, errlen, "min replicas %d: must be 1-%d", a->min_replicas,
		                  K8S_REPLICAS_MAX);
	if (a->max_replicas < a->min_replicas || a->max_replicas > K8S_REPLICAS_MAX)
		return check_fail(err, errlen,
		                  "max replicas %d: must be from min replicas (%d) to %d",
		                  a->max_replicas, a->min_replicas, K8S_REPLICAS_MAX);
	if (!prom_metric_name(a->metric))
		return check_fail(err, errlen,
		                  "--metric '%s': not a metric name ([a-zA-Z_:]"
		                  "[a-zA-Z0-9_:]*)",
		                  a->metric);
	if (!a->prometheus || strlen(a->prometheus) > PROM_URL_MAX ||
	    !printable_ascii(a->prometheus) ||
	    !((strncmp(a->prometheus, "http://", 7) == 0 && a->prometheus[7]) ||
	      (strncmp(a->prometheus, "https://", 8) == 0 && a->prometheus[8])))
		return check_fail(err, errlen,
		                  "--prometheus '%s': not an http:// or https:// URL "
		                  "(without spaces)",
		                  a->prometheus ? a->prometheus : "");
	if (!a->query || !*a->query || strlen(a->query) > QUERY_MAX)
		return check_fail(err, errlen, "--query: empty or longer than %d bytes", QUERY_MAX);
	char *fixed = utf8_fix(a->query);
	if (fixed) {
		free(fixed);
		return check_fail(err, errlen, "--query: not UTF-8 text");
	}
	if (a->off_start && (!a->timezone || !tz_name(a->timezone) || tz_not_a_zone(a->timezone)))
		return check_fail(err, errlen,
		                  "--timezone '%s': not an IANA time zone name "
		                  "(e.g. Europe/Paris, UTC)",
		                  a->timezone ? a->timezone : "");
	return 0;
}

/* --- YAML ------------------------------------------------------------------------------ */

/* The code point of the well-formed UTF-8 sequence p of n bytes. */
static unsigned utf8_code(const unsigned char *p, int n)
{
	if (n == 1)
		return p[0];
	unsigned c = p[0] & (0x7f >> n);
	for (int i = 1; i < n; i++)
		c = c << 6 | (p[i] & 0x3f);
	return c;
}

bool k8s_yaml_special(unsigned c)
{
	return c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0x2028 || c == 0x2029 || c == 0xfeff ||
	       (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe;
}

void k8s_yaml_quote(struct buf *b, const char *s)
{
	buf_addstr(b, "\"");
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		int n = utf8_seq_len(p);
		if (n == 0) {
			buf_addstr(b, "\\uFFFD");
			p++;
			continue;
		}
		unsigned c = utf8_code(p, n);
		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c == '\t')
			buf_addstr(b, "\\t");
		else if (!k8s_yaml_special(c))
			buf_add(b, p, (size_t)n);
		else if (c == '\n')
			buf_addstr(b, "\\n");
		else if (c == 0x85)
			buf_addstr(b, "\\N");
		else if (c == 0x2028 || c == 0x2029)
			buf_addstr(b, c == 0x2028 ? "\\L" : "\\P");
		else if (c < 0x100)
			buf_printf(b, "\\x%02X", c);
		else if (c < 0x10000)
			buf_printf(b, "\\u%04X", c);
		else
			buf_printf(b, "\\U%08X", c);
		p += n;
	}
	buf_addstr(b, "\"");
}

/* Append s to a comment: what k8s_yaml_special says (a tab too), and bytes that are not
 * UTF-8, as '?', so that a file name cannot end the comment or spoil the stream. */
static void comment_text(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		int n = utf8_seq_len(p);
		if (n == 0 || k8s_yaml_special(utf8_code(p, n))) {
			buf_addstr(b, "?");
			p += n ? n : 1;
			continue;
		}
		buf_add(b, p, (size_t)n);
		p += n;
	}
}

char *k8s_default_query(const char *name, const char *ns)
{
	struct buf b = { 0 };
	buf_printf(&b, "sum(rate(http_requests_total{namespace=\"%s\",service=\"%s\"}[1m]))", ns,
	           name);
	return b.p;
}

/* A Kubernetes quantity (and KEDA threshold) for req/s v, a multiple of 0.001 (k8s_check):
 * exactly v, at most 3 decimals, no trailing zeros ("127.3", "140", "0.001"). */
static const char *quantity(double v, char *out, size_t size)
{
	long long m = llround(v * 1000);
	int len = snprintf(out, size, "%lld.%03lld", m / 1000, m % 1000);
	while (len > 0 && out[len - 1] == '0')
		out[--len] = '\0';
	if (len > 0 && out[len - 1] == '.')
		out[--len] = '\0';
	return out;
}

/* v (>= 0) for a comment, in the fewest decimals that read back as v ("1000", "0.0014",
 * "1818.18181818182"). */
static const char *num(double v, char *out, size_t size)
{
	if (!isfinite(v) || fabs(v) >= 1e15) {
		snprintf(out, size, "%.17g", v);
		return out;
	}
	for (int d = 0; d <= 17; d++) {
		snprintf(out, size, "%.*f", d, v);
		if (strtod(out, NULL) == v)
			return out;
	}
	snprintf(out, size, "%.17g", v);
	return out;
}

static bool rounded(const struct k8s_autoscale *a)
{
	return a->rps_given > 0 && a->rps_given != a->rps_per_pod;
}

/* The header's line on the target per pod, R. */
static void header_target(const struct k8s_autoscale *a, struct buf *b, const char *r)
{
	char x[64], y[64], z[64];
	if (a->plan && !a->r_from_flag) {
		buf_printf(b,
		           "# One pod serves %s req/s at the headroom buffer, the target per pod,\n"
		           "# from ",
		           r);
		comment_text(b, a->plan_name);
		buf_printf(b, ": %s req/s per instance at 100%% x its %s%% buffer = %s",
		           num(a->plan->per_instance_rps, x, sizeof(x)),
		           num(a->plan->buffer_percent, y, sizeof(y)),
		           num(a->plan->rps_at_buffer, z, sizeof(z)));
		buf_addstr(b, rounded(a) ? ",\n# rounded down to 0.001 req/s (a Kubernetes "
		                           "quantity has at most 3 decimals).\n"
		                         : ".\n");
		return;
	}
	buf_printf(b,
	           "# One pod serves %s req/s at the headroom buffer (--rps-per-pod: the plan's\n"
	           "# capacity per instance at <= 70%% of its maximum), the target per pod.\n",
	           r);
	if (rounded(a))
		buf_printf(b,
		           "# (--rps-per-pod %s rounded down to 0.001 req/s: a Kubernetes "
		           "quantity has at most 3 decimals.)\n",
		           num(a->rps_given, x, sizeof(x)));
}

/* The header's line on one replica bound (min: is_min) of value n. */
static void header_bound(const struct k8s_autoscale *a, struct buf *b, const char *field, int n,
                         bool is_min, const char *r)
{
	enum k8s_source src = is_min ? a->min_src : a->max_src;
	double rps = is_min ? a->min_rps : a->max_rps;
	const struct k8s_plan_load *l = !a->plan ? NULL : is_min ? &a->plan->now : &a->plan->peak;
	char x[64], y[64];
	switch (src) {
	case K8S_FROM_DEFAULT:
		buf_printf(b, "# %s %d: default.\n", field, n);
		return;
	case K8S_FROM_FLAG:
		buf_printf(b, "# %s %d: %s.\n", field, n,
		           is_min ? "--min-replicas" : "--max-replicas");
		return;
	case K8S_FROM_RPS:
		buf_printf(b, "# %s %d = ceil(%s req/s %s / %s).\n", field, n,
		           num(rps, x, sizeof(x)),
		           is_min ? "now (--current-rps)" : "at peak (--peak-rps)", r);
		return;
	case K8S_FROM_PLAN:
		buf_printf(b, "# %s %d: from ", field, n);
		comment_text(b, a->plan_name);
		buf_printf(b, ": %s (%s req/s) needs %d instance%s at its %s%% buffer.\n", l->what,
		           num(l->rps, x, sizeof(x)), l->instances, l->instances == 1 ? "" : "s",
		           num(a->plan->buffer_percent, y, sizeof(y)));
		return;
	case K8S_FROM_PLAN_RPS:
		buf_printf(b, "# %s %d = ceil(%s req/s, %s in ", field, n, num(rps, x, sizeof(x)),
		           l->what);
		comment_text(b, a->plan_name);
		buf_printf(b, ", / %s%s)", r, a->r_from_flag ? " (--rps-per-pod)" : "");
		if (!a->r_from_flag)
			buf_printf(b,
			           ": more than the plan's %d instance%s, counted at the "
			           "unrounded %s req/s",
			           l->instances, l->instances == 1 ? "" : "s",
			           num(a->plan->rps_at_buffer, y, sizeof(y)));
		buf_addstr(b, ".\n");
		return;
	}
}

static void header_numbers(const struct k8s_autoscale *a, struct buf *b, const char *min_field,
                           int min, const char *max_field)
{
	char r[64];
	quantity(a->rps_per_pod, r, sizeof(r));
	header_target(a, b, r);
	header_bound(a, b, min_field, min, true, r);
	header_bound(a, b, max_field, a->max_replicas, false, r);
	buf_printf(b,
	           "# Scale up at once (stabilization %d s, up to +100%% or +4 pods per 15 s),\n"
	           "# down slowly (stabilization %d s, at most -10%% per 60 s).\n",
	           K8S_SCALE_UP_WINDOW_S, K8S_SCALE_DOWN_WINDOW_S);
}

/* The behavior block (HPA's spec.behavior, KEDA's horizontalPodAutoscalerConfig.behavior),
 * indented by ind spaces. */
static void behavior_yaml(struct buf *b, int ind)
{
	buf_printf(b,
	           "%*sbehavior:\n"
	           "%*s  scaleUp:\n"
	           "%*s    stabilizationWindowSeconds: %d\n"
	           "%*s    selectPolicy: \"Max\"\n"
	           "%*s    policies:\n"
	           "%*s      - type: \"Percent\"\n"
	           "%*s        value: 100\n"
	           "%*s        periodSeconds: 15\n"
	           "%*s      - type: \"Pods\"\n"
	           "%*s        value: 4\n"
	           "%*s        periodSeconds: 15\n"
	           "%*s  scaleDown:\n"
	           "%*s    stabilizationWindowSeconds: %d\n"
	           "%*s    selectPolicy: \"Max\"\n"
	           "%*s    policies:\n"
	           "%*s      - type: \"Percent\"\n"
	           "%*s        value: 10\n"
	           "%*s        periodSeconds: 60\n",
	           ind, "", ind, "", ind, "", K8S_SCALE_UP_WINDOW_S, ind, "", ind, "", ind, "", ind,
	           "", ind, "", ind, "", ind, "", ind, "", ind, "", ind, "",
	           K8S_SCALE_DOWN_WINDOW_S, ind, "", ind, "", ind, "", ind, "", ind, "");
}

/* "KEY: VALUE\n" with VALUE a double-quoted string: every string scalar is quoted, so
 * that a name such as null, on, 123 or 1e3 is read as a string (YAML 1.1 reads them as
 * null, true and numbers). */
static void field_yaml(struct buf *b, int ind, const char *key, const char *value)
{
	buf_printf(b, "%*s%s: ", ind, "", key);
	k8s_yaml_quote(b, value);
	buf_addstr(b, "\n");
}

/* apiVersion, kind, metadata and spec.scaleTargetRef. */
static void head_yaml(const struct k8s_autoscale *a, struct buf *b, const char *api,
                      const char *kind)
{
	field_yaml(b, 0, "apiVersion", api);
	field_yaml(b, 0, "kind", kind);
	buf_addstr(b, "metadata:\n");
	field_yaml(b, 2, "name", a->name);
	field_yaml(b, 2, "namespace", a->ns);
	buf_addstr(b, "  labels:\n");
	field_yaml(b, 4, "app.kubernetes.io/managed-by", "stampede");
	buf_addstr(b, "spec:\n  scaleTargetRef:\n");
	field_yaml(b, 4, "apiVersion", "apps/v1");
	field_yaml(b, 4, "kind", "Deployment");
	field_yaml(b, 4, "name", a->name);
}

void k8s_hpa_yaml(const struct k8s_autoscale *a, struct buf *b)
{
	char r[64];
	quantity(a->rps_per_pod, r, sizeof(r));
	buf_printf(b,
	           "# HorizontalPodAutoscaler for Deployment %s, written by `stampede capacity "
	           "k8s`.\n",
	           a->name);
	header_numbers(a, b, "minReplicas", a->min_replicas, "maxReplicas");
	buf_printf(b,
	           "# The metric %s (requests per second per pod) comes from the\n"
	           "# Prometheus Adapter, e.g. the rule:\n"
	           "#   seriesQuery: 'http_requests_total{namespace!=\"\",pod!=\"\"}'\n"
	           "#   name: {matches: \"^http_requests_total$\", as: \"%s\"}\n"
	           "#   metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by "
	           "(<<.GroupBy>>)'\n",
	           a->metric, a->metric);
	if (a->off_start)
		buf_addstr(b,
		           "# --off-hours is in the KEDA ScaledObject only: an HPA does not scale "
		           "to zero.\n");
	buf_addstr(b, ONE_OF_TWO);
	head_yaml(a, b, "autoscaling/v2", "HorizontalPodAutoscaler");
	buf_printf(b,
	           "  minReplicas: %d\n"
	           "  maxReplicas: %d\n"
	           "  metrics:\n"
	           "    - type: \"Pods\"\n"
	           "      pods:\n"
	           "        metric:\n",
	           a->min_replicas, a->max_replicas);
	field_yaml(b, 10, "name", a->metric);
	buf_addstr(b, "        target:\n");
	field_yaml(b, 10, "type", "AverageValue");
	field_yaml(b, 10, "averageValue", r);
	behavior_yaml(b, 2);
}

void k8s_keda_yaml(const struct k8s_autoscale *a, struct buf *b)
{
	char r[64], n[16];
	quantity(a->rps_per_pod, r, sizeof(r));
	buf_printf(b,
	           "# KEDA ScaledObject for Deployment %s, written by `stampede capacity k8s`.\n",
	           a->name);
	header_numbers(a, b, a->off_start ? "working-hours replicas" : "minReplicaCount",
	               a->min_replicas, "maxReplicaCount");
	buf_printf(b,
	           "# The prometheus trigger's query is the Deployment's total req/s: KEDA\n"
	           "# keeps ceil(query / threshold) replicas, threshold %s.\n",
	           r);
	buf_addstr(b, ONE_OF_TWO);
	if (a->off_start)
		buf_addstr(
		    b, "# Off-hours (--off-hours): minReplicaCount 0, so the Deployment scales\n"
		       "# to zero when idle; the cron trigger holds the working-hours replicas\n"
		       "# from when off-hours end to when they begin again (--timezone).\n");
	head_yaml(a, b, "keda.sh/v1alpha1", "ScaledObject");
	buf_printf(b,
	           "  minReplicaCount: %d\n"
	           "  maxReplicaCount: %d\n"
	           "  advanced:\n"
	           "    horizontalPodAutoscalerConfig:\n",
	           a->off_start ? 0 : a->min_replicas, a->max_replicas);
	behavior_yaml(b, 6);
	buf_addstr(b, "  triggers:\n"
	              "    - type: \"prometheus\"\n");
	field_yaml(b, 6, "metricType", "AverageValue");
	buf_addstr(b, "      metadata:\n");
	field_yaml(b, 8, "serverAddress", a->prometheus);
	field_yaml(b, 8, "query", a->query);
	field_yaml(b, 8, "threshold", r);
	if (!a->off_start)
		return;
	buf_addstr(b, "    - type: \"cron\"\n"
	              "      metadata:\n");
	field_yaml(b, 8, "timezone", a->timezone);
	field_yaml(b, 8, "start", a->off_end);
	field_yaml(b, 8, "end", a->off_start);
	snprintf(n, sizeof(n), "%d", a->min_replicas);
	field_yaml(b, 8, "desiredReplicas", n);
}
