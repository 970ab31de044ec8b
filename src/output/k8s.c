/* k8s.c: the HorizontalPodAutoscaler and KEDA ScaledObject of `stampede capacity k8s`,
 * written as YAML by hand (a fixed shape; every user string double-quoted). */
#include "output/k8s.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* One value of field f at *p (a number or a name), advancing *p. 0 or -EINVAL. */
static int cron_value(int f, const char **p, int *v, char *err, size_t errlen)
{
	const char *s = *p;
	if (isdigit((unsigned char)*s)) {
		long x = 0;
		while (isdigit((unsigned char)*s) && x < 1000)
			x = x * 10 + (*s++ - '0');
		if (isdigit((unsigned char)*s) || x < cron_fields[f].lo || x > cron_fields[f].hi)
			return cron_fail(err, errlen, f, "%.*s is out of %d-%d", (int)(s - *p + 1),
			                 *p, cron_fields[f].lo, cron_fields[f].hi);
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

/* One comma-separated item of field f: '*', '?', N or N-M, then an optional /STEP. */
static int cron_item(int f, const char *s, char *err, size_t errlen)
{
	int lo = cron_fields[f].lo, hi = cron_fields[f].hi, rc;
	if (*s == '*' || *s == '?') { /* robfig/cron reads '?' as '*' in any field */
		s++;
	} else {
		if ((rc = cron_value(f, &s, &lo, err, errlen)) < 0)
			return rc;
		hi = lo;
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
		s++;
		long step = 0;
		const char *d = s;
		while (isdigit((unsigned char)*s) && step < 1000)
			step = step * 10 + (*s++ - '0');
		if (s == d || step == 0 || *s)
			return cron_fail(err, errlen, f, "a step must be a positive number");
	}
	if (*s)
		return cron_fail(err, errlen, f, "unexpected '%s'", s);
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

int k8s_cron_check(const char *s, char *err, size_t errlen)
{
	char field[64];
	int f = 0;
	const char *p = s ? s : "", *fp;
	size_t n;
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
			int rc = cron_item(f, item, err, errlen);
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
	for (int w = 0; w < 2; w++) {
		if (k8s_cron_check(dst[w], why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s cron '%s': %s", w ? "end" : "start", dst[w], why);
			return -EINVAL;
		}
	}
	if (strcmp(start, end) == 0) {
		snprintf(err, errlen, "off-hours start and end are the same cron");
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

int k8s_check(const struct k8s_autoscale *a, char *err, size_t errlen)
{
	static const char dns[] = "not an RFC 1123 DNS label (1-63 characters of a-z, 0-9 and "
	                          "'-', starting and ending with a letter or digit)";
	if (!k8s_dns1123_label(a->name))
		return check_fail(err, errlen, "--name '%s': %s", a->name, dns);
	if (!k8s_dns1123_label(a->ns))
		return check_fail(err, errlen, "--namespace '%s': %s", a->ns, dns);
	if (!isfinite(a->rps_per_pod) || a->rps_per_pod < 0.001)
		return check_fail(err, errlen, "--rps-per-pod must be at least 0.001 req/s");
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
	if (a->off_start && (!a->timezone || !tz_name(a->timezone)))
		return check_fail(err, errlen,
		                  "--timezone '%s': not an IANA time zone name "
		                  "(e.g. Europe/Paris, UTC)",
		                  a->timezone ? a->timezone : "");
	return 0;
}

/* --- YAML ------------------------------------------------------------------------------ */

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
		if (n == 1) {
			unsigned char c = *p++;
			if (c == '"' || c == '\\')
				buf_printf(b, "\\%c", c);
			else if (c == '\n')
				buf_addstr(b, "\\n");
			else if (c == '\t')
				buf_addstr(b, "\\t");
			else if (c < 0x20 || c == 0x7f)
				buf_printf(b, "\\x%02X", c);
			else
				buf_add(b, &c, 1);
			continue;
		}
		/* NEL, LS, PS are line breaks and a BOM is dropped by YAML 1.1 readers */
		if (n == 2 && p[0] == 0xc2 && p[1] == 0x85)
			buf_addstr(b, "\\N");
		else if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
			buf_printf(b, "\\x%02X", p[1]); /* C1 controls */
		else if (n == 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
			buf_addstr(b, p[2] == 0xa8 ? "\\L" : "\\P");
		else if (n == 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
			buf_addstr(b, "\\uFEFF");
		else
			buf_add(b, p, (size_t)n);
		p += n;
	}
	buf_addstr(b, "\"");
}

char *k8s_default_query(const char *name, const char *ns)
{
	struct buf b = { 0 };
	buf_printf(&b, "sum(rate(http_requests_total{namespace=\"%s\",service=\"%s\"}[1m]))", ns,
	           name);
	return b.p;
}

/* A Kubernetes quantity (and KEDA threshold) for req/s: at most 3 decimals, no trailing
 * zeros ("127.3", "140"). */
static const char *quantity(double v, char *out, size_t size)
{
	snprintf(out, size, "%.3f", v);
	char *dot = strchr(out, '.');
	if (dot) {
		char *e = out + strlen(out) - 1;
		while (e > dot && *e == '0')
			*e-- = '\0';
		if (e == dot)
			*e = '\0';
	}
	return out;
}

static void header_numbers(const struct k8s_autoscale *a, struct buf *b, const char *min_field,
                           int min, const char *max_field)
{
	char r[64], q[64];
	quantity(a->rps_per_pod, r, sizeof(r));
	buf_printf(b,
	           "# One pod serves %s req/s at the headroom buffer (--rps-per-pod: the plan's\n"
	           "# capacity per instance at <= 70%% of its maximum), the target per pod.\n",
	           r);
	if (a->min_src == K8S_FROM_RPS)
		buf_printf(b, "# %s %d = ceil(%s req/s now (--current-rps) / %s).\n", min_field,
		           min, quantity(a->min_rps, q, sizeof(q)), r);
	else
		buf_printf(b, "# %s %d: %s.\n", min_field, min,
		           a->min_src == K8S_FROM_FLAG ? "--min-replicas" : "default");
	if (a->max_src == K8S_FROM_RPS)
		buf_printf(b, "# %s %d = ceil(%s req/s at peak (--peak-rps) / %s).\n", max_field,
		           a->max_replicas, quantity(a->max_rps, q, sizeof(q)), r);
	else
		buf_printf(b, "# %s %d: --max-replicas.\n", max_field, a->max_replicas);
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
	           "%*s    selectPolicy: Max\n"
	           "%*s    policies:\n"
	           "%*s      - type: Percent\n"
	           "%*s        value: 100\n"
	           "%*s        periodSeconds: 15\n"
	           "%*s      - type: Pods\n"
	           "%*s        value: 4\n"
	           "%*s        periodSeconds: 15\n"
	           "%*s  scaleDown:\n"
	           "%*s    stabilizationWindowSeconds: %d\n"
	           "%*s    selectPolicy: Max\n"
	           "%*s    policies:\n"
	           "%*s      - type: Percent\n"
	           "%*s        value: 10\n"
	           "%*s        periodSeconds: 60\n",
	           ind, "", ind, "", ind, "", K8S_SCALE_UP_WINDOW_S, ind, "", ind, "", ind, "", ind,
	           "", ind, "", ind, "", ind, "", ind, "", ind, "", ind, "",
	           K8S_SCALE_DOWN_WINDOW_S, ind, "", ind, "", ind, "", ind, "", ind, "");
}

static void metadata_yaml(const struct k8s_autoscale *a, struct buf *b)
{
	buf_printf(b,
	           "metadata:\n"
	           "  name: %s\n"
	           "  namespace: %s\n"
	           "  labels:\n"
	           "    app.kubernetes.io/managed-by: stampede\n",
	           a->name, a->ns); /* DNS labels (k8s_check): plain scalars, never numbers */
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
	buf_addstr(b, "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n");
	metadata_yaml(a, b);
	buf_printf(b,
	           "spec:\n"
	           "  scaleTargetRef:\n"
	           "    apiVersion: apps/v1\n"
	           "    kind: Deployment\n"
	           "    name: %s\n"
	           "  minReplicas: %d\n"
	           "  maxReplicas: %d\n"
	           "  metrics:\n"
	           "    - type: Pods\n"
	           "      pods:\n"
	           "        metric:\n"
	           "          name: ",
	           a->name, a->min_replicas, a->max_replicas);
	k8s_yaml_quote(b, a->metric);
	buf_printf(b,
	           "\n"
	           "        target:\n"
	           "          type: AverageValue\n"
	           "          averageValue: \"%s\"\n",
	           r);
	behavior_yaml(b, 2);
}

void k8s_keda_yaml(const struct k8s_autoscale *a, struct buf *b)
{
	char r[64];
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
	buf_addstr(b, "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\n");
	metadata_yaml(a, b);
	buf_printf(b,
	           "spec:\n"
	           "  scaleTargetRef:\n"
	           "    apiVersion: apps/v1\n"
	           "    kind: Deployment\n"
	           "    name: %s\n"
	           "  minReplicaCount: %d\n"
	           "  maxReplicaCount: %d\n"
	           "  advanced:\n"
	           "    horizontalPodAutoscalerConfig:\n",
	           a->name, a->off_start ? 0 : a->min_replicas, a->max_replicas);
	behavior_yaml(b, 6);
	buf_addstr(b, "  triggers:\n"
	              "    - type: prometheus\n"
	              "      metricType: AverageValue\n"
	              "      metadata:\n"
	              "        serverAddress: ");
	k8s_yaml_quote(b, a->prometheus);
	buf_addstr(b, "\n        query: ");
	k8s_yaml_quote(b, a->query);
	buf_printf(b, "\n        threshold: \"%s\"\n", r);
	if (!a->off_start)
		return;
	buf_addstr(b, "    - type: cron\n"
	              "      metadata:\n"
	              "        timezone: ");
	k8s_yaml_quote(b, a->timezone);
	buf_addstr(b, "\n        start: ");
	k8s_yaml_quote(b, a->off_end);
	buf_addstr(b, "\n        end: ");
	k8s_yaml_quote(b, a->off_start);
	buf_printf(b, "\n        desiredReplicas: \"%d\"\n", a->min_replicas);
}
