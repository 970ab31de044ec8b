/* prometheus.c: --out prometheus=ADDR: a /metrics endpoint in Prometheus' text format. */
/*
 * What is served (text exposition format 0.0.4, prometheus.io "Exposition formats"; names
 * follow "Metric and label naming": base units, counters end in _total):
 *
 *   counter C          stampede_C_total (bytes: stampede_C_bytes_total)          counter
 *   rate R             stampede_R_nonzero_total (true samples) and
 *                      stampede_R_samples_total (all samples)                      counters
 *   gauge G            stampede_G (the last value)                                 gauge
 *   time trend T       stampede_T_seconds_bucket{le=...}, _sum, _count             histogram
 *   other trend T      stampede_T_bucket{le=...}, _sum, _count (plain values)      histogram
 *   stampede_vus, stampede_vus_max (VUs busy / allocated in the last second)       gauges
 *
 * One sample line per series; its labels are the series' tags (names sanitised to
 * [a-zA-Z_][a-zA-Z0-9_]*, values escaped). Histogram buckets have fixed boundaries; the
 * counts come from the HDR histograms bucket by bucket (an HDR bucket that straddles a
 * boundary counts below it: an error within the HDR resolution, 0.1%).
 *
 * Threads: interval() and finish() run on the coordinator and fold into the cumulative
 * state under p->lock; a thread of this output's own serves the scrapes (many connections
 * at once, poll() over non-blocking sockets), formats the state under the lock and sends it
 * without it. The endpoint lives from open() to close(): a scrape after the run is not
 * possible, so finish() folds the result's totals in at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics/hdr.h"
#include "output/output.h"
#include "result/result.h"
#include "util/buf.h"
#include "util/common.h"
#include "util/escape.h"

#define PROM_PREFIX       "stampede_"
#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define PROM_REQ_MAX      8192  /* bytes of request line + headers */
#define PROM_READ_MS      2000  /* to receive a whole request */
#define PROM_WRITE_MS     10000 /* to send a whole response */
#define PROM_DRAIN_MS     200   /* to let the client close first */
#define PROM_BACKLOG      64
#define PROM_CONN_MAX     64 /* connections served at once */

/* The registry's reserved tag of overflow series (metrics.h TAG_OVERFLOW), shown as the
 * label stampede_overflow="true" instead: names starting with "__" are Prometheus'. */
#define OVERFLOW_TAG   "__overflow__"
#define OVERFLOW_LABEL "stampede_overflow"

/* Fixed histogram boundaries, in the HDR histogram's unit and as the le label. */
struct prom_bounds {
	int n;
	const int64_t *v;
	const char *const *le;
};

/* Time trends: the histogram holds µs; le in seconds. */
static const int64_t time_v[] = { 50,      100,     250,      500,      1000,    2500,   5000,
	                          10000,   25000,   50000,    100000,   250000,  500000, 1000000,
	                          2500000, 5000000, 10000000, 30000000, 60000000 };
static const char *const time_le[] = { "0.00005", "0.0001", "0.00025", "0.0005", "0.001",
	                               "0.0025",  "0.005",  "0.01",    "0.025",  "0.05",
	                               "0.1",     "0.25",   "0.5",     "1",      "2.5",
	                               "5",       "10",     "30",      "60" };
/* Other trends: the histogram holds value x 1000; le in plain values. */
static const int64_t milli_v[] = { 10,       25,        50,        100,       250,
	                           500,      1000,      2500,      5000,      10000,
	                           25000,    50000,     100000,    250000,    500000,
	                           1000000,  2500000,   5000000,   10000000,  25000000,
	                           50000000, 100000000, 250000000, 500000000, 1000000000 };
static const char *const milli_le[] = { "0.01",  "0.025", "0.05",    "0.1",   "0.25",
	                                "0.5",   "1",     "2.5",     "5",     "10",
	                                "25",    "50",    "100",     "250",   "500",
	                                "1000",  "2500",  "5000",    "10000", "25000",
	                                "50000", "1e+05", "2.5e+05", "5e+05", "1e+06" };

_Static_assert(ARRAY_SIZE(time_v) == ARRAY_SIZE(time_le), "time buckets");
_Static_assert(ARRAY_SIZE(milli_v) == ARRAY_SIZE(milli_le), "milli buckets");

static const struct prom_bounds time_bounds = { ARRAY_SIZE(time_v), time_v, time_le };
static const struct prom_bounds milli_bounds = { ARRAY_SIZE(milli_v), milli_v, milli_le };

/* One series: a metric with one rendered label set. */
struct prom_series {
	char *labels;      /* 'k="v",k2="v2"' ("" when untagged) */
	double sum;        /* counter */
	int64_t nz, total; /* rate */
	double last;       /* gauge */
	int64_t *buckets;  /* trend: bounds->n + 1 (the last: +Inf), not cumulative */
	double hsum;       /* trend: the sum in seconds (time) or plain values */
	int64_t count;     /* trend */
};

struct prom_metric {
	char *name; /* k6's */
	char *base; /* the Prometheus name without _total/_bucket... suffixes */
	enum metric_type type;
	enum result_unit unit;
	bool dropped; /* its Prometheus names collide with another metric's */
	const struct prom_bounds *bounds;
	int nseries, cap;
	struct prom_series *series;
};

struct prom_ref {
	int metric, series; /* -1, -1: ignored; 0, 0 with known == false: not seen yet */
	bool known;
};

struct prom {
	int lfd;
	int wake[2]; /* close() writes a byte: the server thread ends */
	bool started;
	pthread_t thread;
	pthread_mutex_t lock; /* guards everything below */
	int vus, vus_max;
	int nmetrics, mcap;
	struct prom_metric *metrics;
	/* coordinator only: interval series id -> (metric, series) */
	int nrefs;
	struct prom_ref *refs;
};

/* --- names and labels ------------------------------------------------------------ */

static const struct {
	const char *name, *help;
} builtin_help[] = {
	{ "http_reqs", "HTTP requests sent (k6 http_reqs)." },
	{ "http_req_failed", "Requests judged by expected_response (k6 http_req_failed); "
	                     "non-zero: failed." },
	{ "http_req_duration",
	  "Request time: sending + waiting + receiving (k6 http_req_duration)." },
	{ "http_req_duration_uncorrected",
	  "Request time measured from the actual send, without coordinated-omission correction." },
	{ "http_req_blocked",
	  "Time blocked before the request could start (k6 http_req_blocked)." },
	{ "http_req_connecting", "Time establishing the TCP connection (k6 http_req_connecting)." },
	{ "http_req_tls_handshaking", "Time in the TLS handshake (k6 http_req_tls_handshaking)." },
	{ "http_req_sending", "Time sending the request (k6 http_req_sending)." },
	{ "http_req_waiting", "Time waiting for the response's first byte (k6 http_req_waiting)." },
	{ "http_req_receiving", "Time receiving the response (k6 http_req_receiving)." },
	{ "iterations", "Iterations completed by the VUs (k6 iterations)." },
	{ "iteration_duration", "Time of one full iteration (k6 iteration_duration)." },
	{ "dropped_iterations",
	  "Iterations that could not start on time (k6 dropped_iterations)." },
	{ "data_sent", "Data sent (k6 data_sent)." },
	{ "data_received", "Data received (k6 data_received)." },
	{ "checks", "Check conditions (k6 checks); non-zero: passed." },
};

static const char *metric_help(const struct prom_metric *m)
{
	for (size_t i = 0; i < ARRAY_SIZE(builtin_help); i++)
		if (strcmp(builtin_help[i].name, m->name) == 0)
			return builtin_help[i].help;
	return NULL;
}

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/* The Prometheus base name of a metric: prefix, k6 name (invalid characters as '_'), unit. */
static char *base_name(const char *name, enum metric_type type, enum result_unit unit)
{
	struct buf b = { 0 };
	buf_addstr(&b, PROM_PREFIX);
	for (const char *c = name; *c; c++)
		buf_add(&b, name_char(*c, false) ? c : "_", 1);
	if (type == MT_TREND && unit == RU_TIME)
		buf_addstr(&b, "_seconds");
	else if (type == MT_COUNTER && unit == RU_BYTES)
		buf_addstr(&b, "_bytes");
	return b.p;
}

/* true when a sanitised label name is one Prometheus or this page reserves: "__x" (the
 * server's own labels), "le" (the histogram's) and OVERFLOW_LABEL (ours). */
static bool label_reserved(const char *name, size_t n)
{
	return (n >= 2 && memcmp(name, "__", 2) == 0) || (n == 2 && memcmp(name, "le", 2) == 0) ||
	       (n == strlen(OVERFLOW_LABEL) && memcmp(name, OVERFLOW_LABEL, n) == 0);
}

/* Append a label name made of key: invalid characters (bytes) become '_', a leading digit
 * (or an empty key) gets a '_' before it, and a result label_reserved() gets "tag_". */
static void add_label_name(struct buf *b, const char *key)
{
	size_t mark = b->len;
	if (*key == '\0' || (*key >= '0' && *key <= '9'))
		buf_addstr(b, "_");
	for (const char *c = key; *c; c++)
		buf_add(b, name_char(*c, false) ? c : "_", 1);
	if (label_reserved(b->p + mark, b->len - mark)) {
		buf_add(b, "tag_", 4);
		memmove(b->p + mark + 4, b->p + mark, b->len - 4 - mark);
		memcpy(b->p + mark, "tag_", 4);
	}
}

/* Append a label value escaped as the format wants (\\, \", \n); bytes that are not UTF-8
 * become U+FFFD. */
static void add_label_value(struct buf *b, const char *value)
{
	const unsigned char *s = (const unsigned char *)value;
	while (*s) {
		int n = utf8_seq_len(s);
		if (n == 0) {
			buf_addstr(b, "\xef\xbf\xbd");
			n = 1;
		} else if (*s == '\\') {
			buf_addstr(b, "\\\\");
		} else if (*s == '"') {
			buf_addstr(b, "\\\"");
		} else if (*s == '\n') {
			buf_addstr(b, "\\n");
		} else {
			buf_add(b, s, (size_t)n);
		}
		s += n;
	}
}

/* true when the label name at b->p + from (up to '=') already appears before it. */
static bool label_seen(const struct buf *b, size_t from)
{
	size_t n = b->len - from;
	const char *name = b->p + from;
	for (size_t i = 0; i < from; i++) {
		if ((i == 0 || b->p[i - 1] == ',') && i + n < from && b->p[i + n] == '=' &&
		    memcmp(b->p + i, name, n) == 0)
			return true;
		if (b->p[i] == '"') /* skip the quoted value, escapes included */
			for (i++; i < from && b->p[i] != '"'; i++)
				if (b->p[i] == '\\')
					i++;
	}
	return false;
}

static void add_label(struct buf *b, const char *key, const char *value)
{
	size_t mark = b->len;
	if (mark)
		buf_addstr(b, ",");
	size_t name = b->len;
	add_label_name(b, key);
	if (label_seen(b, name)) { /* two tags that sanitise alike: keep the first */
		b->len = mark;
		if (b->p)
			b->p[mark] = '\0';
		return;
	}
	buf_addstr(b, "=\"");
	add_label_value(b, value);
	buf_addstr(b, "\"");
}

/* The rendered labels of a tag set (a new string). */
static char *render_labels(const struct result_tag *tags, int ntags, bool overflow)
{
	struct buf b = { 0 };
	for (int i = 0; i < ntags; i++)
		if (tags[i].key && tags[i].value && strcmp(tags[i].key, OVERFLOW_TAG) != 0)
			add_label(&b, tags[i].key, tags[i].value);
	if (overflow) /* no tag can take this name: add_label_name() prefixes it */
		buf_addstr(&b, b.len ? "," OVERFLOW_LABEL "=\"true\"" : OVERFLOW_LABEL "=\"true\"");
	return b.p ? b.p : xstrdup("");
}

/* --- the cumulative state (callers hold p->lock) ---------------------------------- */

/* The names a metric puts on the page, for collision checks: up to 4. */
static int family_names(const struct prom_metric *m, char out[4][256])
{
	static const char *const suffix[][4] = {
		[MT_COUNTER] = { "_total" },
		[MT_GAUGE] = { "" },
		[MT_RATE] = { "_nonzero_total", "_samples_total" },
		[MT_TREND] = { "", "_bucket", "_sum", "_count" },
	};
	static const int count[] = {
		[MT_COUNTER] = 1, [MT_GAUGE] = 1, [MT_RATE] = 2, [MT_TREND] = 4
	};
	for (int i = 0; i < count[m->type]; i++)
		snprintf(out[i], sizeof(out[i]), "%s%s", m->base, suffix[m->type][i]);
	return count[m->type];
}

static bool collides(const struct prom *p, const struct prom_metric *m)
{
	static const char *const fixed[] = { PROM_PREFIX "vus", PROM_PREFIX "vus_max" };
	char mine[4][256], theirs[4][256];
	int n = family_names(m, mine);
	for (int i = 0; i < n; i++)
		for (size_t k = 0; k < ARRAY_SIZE(fixed); k++)
			if (strcmp(mine[i], fixed[k]) == 0)
				return true;
	for (int j = 0; j < p->nmetrics; j++) {
		if (p->metrics[j].dropped)
			continue;
		int tn = family_names(&p->metrics[j], theirs);
		for (int i = 0; i < n; i++)
			for (int k = 0; k < tn; k++)
				if (strcmp(mine[i], theirs[k]) == 0)
					return true;
	}
	return false;
}

/* The metric called name, created on first sight; -1 for the VU gauges (served from the
 * intervals' own fields) and for a metric whose names collide with another's. */
static int metric_for(struct prom *p, const char *name, enum metric_type type,
                      enum result_unit unit)
{
	if (strcmp(name, "vus") == 0 || strcmp(name, "vus_max") == 0)
		return -1;
	for (int i = 0; i < p->nmetrics; i++)
		if (strcmp(p->metrics[i].name, name) == 0)
			return p->metrics[i].dropped ? -1 : i;
	if (p->nmetrics == p->mcap) {
		p->mcap = p->mcap ? 2 * p->mcap : 16;
		p->metrics = xrealloc(p->metrics, (size_t)p->mcap * sizeof(*p->metrics));
	}
	struct prom_metric *m = &p->metrics[p->nmetrics];
	*m = (struct prom_metric){ .name = xstrdup(name), .type = type, .unit = unit };
	m->base = base_name(name, type, unit);
	if (type == MT_TREND)
		m->bounds = unit == RU_TIME ? &time_bounds : &milli_bounds;
	m->dropped = collides(p, m);
	p->nmetrics++;
	if (!m->dropped)
		return p->nmetrics - 1;
	fprintf(stderr,
	        "stampede: prometheus: metric '%s' is not served: its name '%s' collides "
	        "with another metric's\n",
	        name, m->base);
	return -1;
}

/* The series of metric m with these labels (taken over), created on first sight. */
static int series_for(struct prom_metric *m, char *labels)
{
	for (int i = 0; i < m->nseries; i++)
		if (strcmp(m->series[i].labels, labels) == 0) {
			free(labels);
			return i;
		}
	if (m->nseries == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 8;
		m->series = xrealloc(m->series, (size_t)m->cap * sizeof(*m->series));
	}
	struct prom_series *s = &m->series[m->nseries];
	*s = (struct prom_series){ .labels = labels };
	if (m->bounds)
		s->buckets = xcalloc((size_t)m->bounds->n + 1, sizeof(*s->buckets));
	return m->nseries++;
}

/* Add (or, with replace, set) a histogram's counts into the series' buckets. */
static void add_hdr(const struct prom_metric *m, struct prom_series *s, const struct hdr *h,
                    bool replace)
{
	const struct prom_bounds *b = m->bounds;
	struct hdr_iter it;
	int64_t count = 0;
	if (replace)
		memset(s->buckets, 0, ((size_t)b->n + 1) * sizeof(*s->buckets));
	hdr_iter_init(&it, h);
	for (int k = 0; hdr_iter_next(&it);) {
		while (k < b->n && it.value_low > b->v[k])
			k++;
		s->buckets[k] += it.count;
		count += it.count;
	}
	double sum = hdr_mean(h) * (double)h->total_count / (m->unit == RU_TIME ? 1e6 : 1e3);
	s->count = replace ? count : s->count + count;
	s->hsum = replace ? sum : s->hsum + sum;
}

static void add_values(const struct prom_metric *m, struct prom_series *s,
                       const struct result_values *v, bool replace)
{
	switch (m->type) {
	case MT_COUNTER:
		s->sum = replace ? v->sum : s->sum + v->sum;
		break;
	case MT_RATE:
		s->nz = replace ? v->nz : s->nz + v->nz;
		s->total = replace ? v->total : s->total + v->total;
		break;
	case MT_GAUGE:
		if (v->any)
			s->last = v->g_last;
		break;
	case MT_TREND:
		if (v->h)
			add_hdr(m, s, v->h, replace);
		break;
	}
}

static struct prom_ref *ref_for(struct prom *p, int id)
{
	if (id >= p->nrefs) {
		int n = MAX(id + 1, 2 * p->nrefs);
		p->refs = xrealloc(p->refs, (size_t)n * sizeof(*p->refs));
		memset(p->refs + p->nrefs, 0, (size_t)(n - p->nrefs) * sizeof(*p->refs));
		p->nrefs = n;
	}
	return &p->refs[id];
}

static void fold_sample(struct prom *p, const struct result_sample *smp)
{
	struct prom_ref tmp = { 0 }, *ref = smp->series >= 0 ? ref_for(p, smp->series) : &tmp;
	if (!ref->known) {
		ref->known = true;
		ref->metric = metric_for(p, smp->metric, smp->type, smp->unit);
		ref->series = -1;
		if (ref->metric >= 0)
			ref->series =
			    series_for(&p->metrics[ref->metric],
			               render_labels(smp->tags, smp->ntags, smp->overflow));
	}
	if (ref->metric < 0 || ref->series < 0)
		return;
	struct prom_metric *m = &p->metrics[ref->metric];
	if (m->type == smp->type)
		add_values(m, &m->series[ref->series], &smp->v, false);
}

/* --- formatting (the server thread, under p->lock) -------------------------------- */

/* A sample value: integers exactly, others in the shortest form that reads back. */
static void add_number(struct buf *b, double v)
{
	char tmp[40];
	if (isnan(v))
		snprintf(tmp, sizeof(tmp), "NaN");
	else if (isinf(v))
		snprintf(tmp, sizeof(tmp), v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(tmp, sizeof(tmp), "%.0f", v);
	else
		for (int prec = 6; prec <= 17; prec++) {
			snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
			if (strtod(tmp, NULL) == v)
				break;
		}
	buf_addstr(b, tmp);
}

/* "# HELP name text\n# TYPE name type\n" (HELP escapes \ and newlines). */
static void add_header(struct buf *b, const char *name, const char *type, const char *help,
                       const char *more)
{
	buf_addstr(b, "# HELP ");
	buf_addstr(b, name);
	buf_addstr(b, " ");
	for (const char *s = help; *s; s++) {
		if (*s == '\\')
			buf_addstr(b, "\\\\");
		else if (*s == '\n')
			buf_addstr(b, "\\n");
		else
			buf_add(b, s, 1);
	}
	buf_addstr(b, more);
	buf_addstr(b, "\n# TYPE ");
	buf_addstr(b, name);
	buf_addstr(b, " ");
	buf_addstr(b, type);
	buf_addstr(b, "\n");
}

/* "name{labels,extra} value\n"; labels and extra may be empty. */
static void add_line(struct buf *b, const char *name, const char *suffix, const char *labels,
                     const char *extra, double v)
{
	buf_addstr(b, name);
	buf_addstr(b, suffix);
	if (*labels || *extra) {
		buf_addstr(b, "{");
		buf_addstr(b, labels);
		buf_addstr(b, *labels && *extra ? "," : "");
		buf_addstr(b, extra);
		buf_addstr(b, "}");
	}
	buf_addstr(b, " ");
	add_number(b, v);
	buf_addstr(b, "\n");
}

static void format_histogram(struct buf *b, const struct prom_metric *m,
                             const struct prom_series *s)
{
	char le[48];
	int64_t cum = 0;
	for (int k = 0; k <= m->bounds->n; k++) {
		cum += s->buckets[k];
		snprintf(le, sizeof(le), "le=\"%s\"", k < m->bounds->n ? m->bounds->le[k] : "+Inf");
		add_line(b, m->base, "_bucket", s->labels, le, (double)cum);
	}
	add_line(b, m->base, "_sum", s->labels, "", s->hsum);
	add_line(b, m->base, "_count", s->labels, "", (double)s->count);
}

static void format_metric(struct buf *b, const struct prom_metric *m)
{
	char name[300], generic[200];
	const char *help = metric_help(m);
	if (!help) {
		snprintf(generic, sizeof(generic), "k6 %s metric %s.", result_type_name(m->type),
		         m->name);
		help = generic;
	}
	switch (m->type) {
	case MT_COUNTER:
		snprintf(name, sizeof(name), "%s_total", m->base);
		add_header(b, name, "counter", help, "");
		for (int i = 0; i < m->nseries; i++)
			add_line(b, name, "", m->series[i].labels, "", m->series[i].sum);
		break;
	case MT_GAUGE:
		add_header(b, m->base, "gauge", help, " Last value.");
		for (int i = 0; i < m->nseries; i++)
			add_line(b, m->base, "", m->series[i].labels, "", m->series[i].last);
		break;
	case MT_RATE:
		snprintf(name, sizeof(name), "%s_nonzero_total", m->base);
		add_header(b, name, "counter", help, " Samples that were non-zero (true).");
		for (int i = 0; i < m->nseries; i++)
			add_line(b, name, "", m->series[i].labels, "", (double)m->series[i].nz);
		snprintf(name, sizeof(name), "%s_samples_total", m->base);
		add_header(b, name, "counter", help, " All samples.");
		for (int i = 0; i < m->nseries; i++)
			add_line(b, name, "", m->series[i].labels, "", (double)m->series[i].total);
		break;
	case MT_TREND:
		add_header(b, m->base, "histogram", help, m->unit == RU_TIME ? " In seconds." : "");
		for (int i = 0; i < m->nseries; i++)
			format_histogram(b, m, &m->series[i]);
		break;
	}
}

static void format_page(struct prom *p, struct buf *b)
{
	pthread_mutex_lock(&p->lock);
	add_header(b, PROM_PREFIX "vus", "gauge", "VUs busy at once in the last second.", "");
	add_line(b, PROM_PREFIX "vus", "", "", "", p->vus);
	add_header(b, PROM_PREFIX "vus_max", "gauge", "VUs allocated.", "");
	add_line(b, PROM_PREFIX "vus_max", "", "", "", p->vus_max);
	for (int i = 0; i < p->nmetrics; i++)
		if (!p->metrics[i].dropped && p->metrics[i].nseries)
			format_metric(b, &p->metrics[i]);
	pthread_mutex_unlock(&p->lock);
}

/* --- the HTTP server thread ------------------------------------------------------- */

/*
 * One thread serves up to PROM_CONN_MAX connections at once with poll() over non-blocking
 * sockets, so that slow or silent clients cannot delay a scrape: each connection has its
 * own deadline and request-size cap, and when all slots are taken a new connection evicts
 * the oldest one still waiting for its request (else the oldest of all).
 */
enum prom_conn_state { PC_FREE, PC_READ, PC_WRITE, PC_DRAIN };

struct prom_conn {
	int fd;
	enum prom_conn_state state;
	int64_t accepted; /* now_us() at accept: the eviction order */
	int64_t deadline; /* now_us() by which the current state must be done */
	size_t len;       /* PC_READ: request bytes in req */
	size_t sent;      /* PC_WRITE: bytes of out sent */
	struct buf out;   /* PC_WRITE: the response */
	char req[PROM_REQ_MAX + 1];
};

static void conn_close(struct prom_conn *c)
{
	close(c->fd);
	buf_free(&c->out);
	c->fd = -1;
	c->state = PC_FREE;
}

/* Send what the socket takes; once all is sent, half-close and drain: letting the client
 * read everything and close first keeps unread request bytes from turning our close into a
 * reset that loses the response. */
static void conn_write(struct prom_conn *c)
{
	while (c->sent < c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->sent += (size_t)n;
	}
	buf_free(&c->out);
	shutdown(c->fd, SHUT_WR);
	c->state = PC_DRAIN;
	c->deadline = now_us() + PROM_DRAIN_MS * 1000LL;
}

static void conn_drain(struct prom_conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->req, PROM_REQ_MAX, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
	}
}

static void respond(struct prom_conn *c, const char *status, const char *extra,
                    const struct buf *body, bool head_only)
{
	char head[512];
	const char *type =
	    strncmp(status, "200 ", 4) == 0 ? PROM_CONTENT_TYPE : "text/plain; charset=utf-8";
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
	                 "Connection: close\r\n\r\n",
	                 status, type, body->len, extra);
	buf_add(&c->out, head, (size_t)n);
	if (!head_only && body->len)
		buf_add(&c->out, body->p, body->len);
	c->sent = 0;
	c->state = PC_WRITE;
	c->deadline = now_us() + PROM_WRITE_MS * 1000LL;
	conn_write(c);
}

/* Answer the request in c->req: GET or HEAD /metrics (any query string), 404 elsewhere;
 * too_large: its head did not fit in PROM_REQ_MAX bytes. */
static void answer(struct prom *p, struct prom_conn *c, bool too_large)
{
	const char *req = c->req;
	struct buf body = { 0 };
	const char *sp1 = strchr(req, ' ');
	const char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	bool head_only = sp1 && sp1 - req == 4 && memcmp(req, "HEAD", 4) == 0;
	bool get = sp1 && sp1 - req == 3 && memcmp(req, "GET", 3) == 0;
	size_t plen = sp2 ? strcspn(sp1 + 1, " ?") : 0;
	if (too_large) {
		buf_addstr(&body, "request header too large\n");
		respond(c, "431 Request Header Fields Too Large", "", &body, false);
	} else if (!sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		buf_addstr(&body, "bad request\n");
		respond(c, "400 Bad Request", "", &body, false);
	} else if (!get && !head_only) {
		buf_addstr(&body, "method not allowed: GET /metrics\n");
		respond(c, "405 Method Not Allowed", "Allow: GET, HEAD\r\n", &body, false);
	} else if (plen != 8 || memcmp(sp1 + 1, "/metrics", 8) != 0) {
		buf_addstr(&body, "not found: stampede serves GET /metrics\n");
		respond(c, "404 Not Found", "", &body, head_only);
	} else {
		format_page(p, &body);
		respond(c, "200 OK", "", &body, head_only);
	}
	buf_free(&body);
}

/* Read what the client sent; answer once the head (up to the empty line) is complete or
 * has filled PROM_REQ_MAX bytes. */
static void conn_read(struct prom *p, struct prom_conn *c)
{
	ssize_t n;
	do
		n = recv(c->fd, c->req + c->len, PROM_REQ_MAX - c->len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	size_t from = c->len > 3 ? c->len - 3 : 0; /* the end may straddle two reads */
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (memmem(c->req + from, c->len - from, "\r\n\r\n", 4) ||
	    memmem(c->req + from, c->len - from, "\n\n", 2))
		answer(p, c, false);
	else if (c->len == PROM_REQ_MAX)
		answer(p, c, true);
}

/* Move c on after poll() reported revents for it; close it past its deadline. */
static void conn_step(struct prom *p, struct prom_conn *c, short revents)
{
	if (revents) {
		switch (c->state) {
		case PC_READ:
			conn_read(p, c);
			break;
		case PC_WRITE:
			conn_write(c);
			break;
		case PC_DRAIN:
			conn_drain(c);
			break;
		case PC_FREE:
			break;
		}
	}
	if (c->state != PC_FREE && now_us() >= c->deadline)
		conn_close(c);
}

/* A free slot of conns, made by closing the oldest connection still reading its request
 * (else the oldest of all) when every slot is taken. */
static struct prom_conn *conn_slot(struct prom_conn *conns)
{
	struct prom_conn *victim = NULL;
	for (int i = 0; i < PROM_CONN_MAX; i++) {
		struct prom_conn *c = &conns[i];
		if (c->state == PC_FREE)
			return c;
		bool reading = c->state == PC_READ, vreading = victim && victim->state == PC_READ;
		if (!victim || (reading && !vreading) ||
		    (reading == vreading && c->accepted < victim->accepted))
			victim = c;
	}
	conn_close(victim);
	return victim;
}

/* Accept the pending connections. Returns the now_us() until which not to accept again
 * (out of descriptors: do not spin), or 0. */
static int64_t accept_conns(struct prom *p, struct prom_conn *conns)
{
	for (int k = 0; k < PROM_CONN_MAX; k++) {
		int fd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0)
			return errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			               errno == ENOMEM
			           ? now_us() + 100 * 1000LL
			           : 0;
		struct prom_conn *c = conn_slot(conns);
		c->fd = fd;
		c->state = PC_READ;
		c->accepted = now_us();
		c->deadline = c->accepted + PROM_READ_MS * 1000LL;
		c->len = c->sent = 0;
	}
	return 0;
}

/* poll() timeout in ms until the earliest deadline of conns (-1: none). */
static int next_timeout(const struct prom_conn *conns, int64_t pause)
{
	int64_t next = pause ? pause : INT64_MAX;
	for (int i = 0; i < PROM_CONN_MAX; i++)
		if (conns[i].state != PC_FREE)
			next = MIN(next, conns[i].deadline);
	if (next == INT64_MAX)
		return -1;
	return (int)MIN(MAX(next - now_us(), 0) / 1000 + 1, 1000);
}

static void *prom_serve(void *arg)
{
	struct prom *p = arg;
	struct prom_conn *conns = xcalloc(PROM_CONN_MAX, sizeof(*conns));
	struct pollfd pf[PROM_CONN_MAX + 2];
	int slot[PROM_CONN_MAX + 2];
	int64_t pause = 0;
	for (;;) {
		if (pause && now_us() >= pause)
			pause = 0;
		int n = 2;
		pf[0] = (struct pollfd){ p->wake[0], POLLIN, 0 };
		pf[1] = (struct pollfd){ pause ? -1 : p->lfd, POLLIN, 0 };
		for (int i = 0; i < PROM_CONN_MAX; i++)
			if (conns[i].state != PC_FREE) {
				short ev = conns[i].state == PC_WRITE ? POLLOUT : POLLIN;
				pf[n] = (struct pollfd){ conns[i].fd, ev, 0 };
				slot[n++] = i;
			}
		if (poll(pf, (nfds_t)n, next_timeout(conns, pause)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents)
			break;
		for (int k = 2; k < n; k++)
			conn_step(p, &conns[slot[k]], pf[k].revents);
		if (pf[1].revents)
			pause = accept_conns(p, conns);
	}
	for (int i = 0; i < PROM_CONN_MAX; i++)
		if (conns[i].state != PC_FREE)
			conn_close(&conns[i]);
	free(conns);
	return NULL;
}

/* --- the output ------------------------------------------------------------------- */

#define ADDR_FORMS "prometheus=127.0.0.1:PORT or prometheus=[::1]:PORT"

/* A port: 1-5 ASCII digits without sign, space or leading zero, 1-65535. */
static bool parse_port(const char *s, uint16_t *port)
{
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n > 5 || s[n] != '\0' || s[0] == '0')
		return false;
	long v = strtol(s, NULL, 10);
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* Parse "127.0.0.1:PORT", "[::1]:PORT" or "localhost:PORT" into a loopback address. */
static int parse_addr(const char *arg, struct sockaddr_storage *ss, socklen_t *sslen, char *err,
                      size_t errlen)
{
	char host[128];
	const char *colon;
	uint16_t port;
	memset(ss, 0, sizeof(*ss));
	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');
		if (!end || end[1] != ':' || (size_t)(end - arg - 1) >= sizeof(host))
			goto bad_form;
		snprintf(host, sizeof(host), "%.*s", (int)(end - arg - 1), arg + 1);
		colon = end + 1;
	} else {
		colon = strrchr(arg, ':');
		if (!colon || (size_t)(colon - arg) >= sizeof(host))
			goto bad_form;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - arg), arg);
		if (strchr(host, ':')) {
			snprintf(err, errlen, "write an IPv6 address in brackets: [%s]:PORT", host);
			return -EINVAL;
		}
	}
	if (!parse_port(colon + 1, &port)) {
		snprintf(err, errlen, "'%s' is not a port (1-65535); use " ADDR_FORMS, colon + 1);
		return -EINVAL;
	}
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1 && arg[0] != '[') {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*sslen = sizeof(*in);
		if ((ntohl(in->sin_addr.s_addr) >> 24) == 127)
			return 0;
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1 && arg[0] == '[') {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*sslen = sizeof(*in6);
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return 0;
	} else {
		snprintf(err, errlen, "'%s' is not an IP address; use " ADDR_FORMS, host);
		return -EINVAL;
	}
	snprintf(err, errlen,
	         "'%s' is not a loopback address: the endpoint has no authentication, so it "
	         "listens on 127.0.0.1 or [::1] only (scrape from this host, or forward the port)",
	         host);
	return -EINVAL;
bad_form:
	snprintf(err, errlen, "'%s' is not an address and port; use " ADDR_FORMS, arg);
	return -EINVAL;
}

static int listen_on(struct prom *p, const char *arg, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int one = 1, e = parse_addr(arg, &ss, &sslen, err, errlen);
	if (e < 0)
		return e;
	p->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->lfd < 0 || setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(p->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(p->lfd, (struct sockaddr *)&ss, sslen) < 0 || listen(p->lfd, PROM_BACKLOG) < 0) {
		e = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", arg, strerror(-e));
		return e;
	}
	return 0;
}

static void prom_close(struct output *o);

/* Listen and start the server thread. On failure everything is released at once (close()
 * is then a no-op), whether or not the caller calls close() after a failed open. */
static int prom_open(struct output *o, char *err, size_t errlen)
{
	struct prom *p = xcalloc(1, sizeof(*p));
	sigset_t all, old;
	p->lfd = p->wake[0] = p->wake[1] = -1;
	pthread_mutex_init(&p->lock, NULL);
	o->state = p;
	int e = listen_on(p, o->arg ? o->arg : "", err, errlen);
	if (e < 0)
		goto out_close;
	if (pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		e = -errno;
		snprintf(err, errlen, "cannot create a pipe: %s", strerror(-e));
		goto out_close;
	}
	/* The server thread takes no signals: SIGINT and friends stay the coordinator's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	e = -pthread_create(&p->thread, NULL, prom_serve, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e < 0) {
		snprintf(err, errlen, "cannot start the server thread: %s", strerror(-e));
		goto out_close;
	}
	p->started = true;
	return 0;
out_close:
	prom_close(o);
	return e;
}

static void prom_interval(struct output *o, const struct result_interval *iv)
{
	struct prom *p = o->state;
	pthread_mutex_lock(&p->lock);
	p->vus = iv->vus;
	p->vus_max = iv->vus_max;
	for (int i = 0; i < iv->nsamples; i++)
		fold_sample(p, &iv->samples[i]);
	pthread_mutex_unlock(&p->lock);
}

/* The run's totals replace what the intervals added up, so that the scrapes until close()
 * show the summary's numbers, the run's last partial second included. */
static int prom_finish(struct output *o, const struct result *r, char *err, size_t errlen)
{
	struct prom *p = o->state;
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < r->nseries; i++) {
		const struct result_series *rs = &r->series[i];
		const struct result_metric *rm = &r->metrics[rs->metric];
		int mi = metric_for(p, rm->name, rm->type, rm->unit);
		if (mi < 0 || p->metrics[mi].type != rm->type)
			continue;
		struct prom_metric *m = &p->metrics[mi];
		int si = series_for(m, render_labels(rs->tags, rs->ntags, rs->overflow));
		add_values(m, &m->series[si], &rs->total, true);
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static void prom_close(struct output *o)
{
	struct prom *p = o->state;
	if (!p)
		return;
	if (p->started) {
		while (write(p->wake[1], "x", 1) < 0 && errno == EINTR)
			;
		pthread_join(p->thread, NULL);
	}
	if (p->lfd >= 0)
		close(p->lfd);
	for (int i = 0; i < 2; i++)
		if (p->wake[i] >= 0)
			close(p->wake[i]);
	for (int i = 0; i < p->nmetrics; i++) {
		struct prom_metric *m = &p->metrics[i];
		for (int k = 0; k < m->nseries; k++) {
			free(m->series[k].labels);
			free(m->series[k].buckets);
		}
		free(m->series);
		free(m->name);
		free(m->base);
	}
	free(p->metrics);
	free(p->refs);
	pthread_mutex_destroy(&p->lock);
	free(p);
	o->state = NULL;
}

const struct output_ops output_prometheus = {
	.name = "prometheus",
	.open = prom_open,
	.interval = prom_interval,
	.finish = prom_finish,
	.close = prom_close,
};
