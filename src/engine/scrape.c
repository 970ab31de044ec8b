/* scrape.c: the target's Prometheus endpoint, read once a second into the run (scrape.h). */
#include "engine/scrape.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/common.h"
#include "util/promtext.h"

#define METRIC_SLOTS (2 * SCRAPE_MAX_METRICS) /* open addressing, at most half full */
#define SERIES_SLOTS (2 * SCRAPE_MAX_SERIES)
#define ERR_MAX      200

/* A metric of the run made from one exposed sample name. */
struct sc_metric {
	char *name;       /* target_x */
	char *sample;     /* x, as exposed */
	char *family;     /* the family it belongs to (x of x_sum, ...) */
	bool counter;     /* else a gauge */
	int id;           /* registry id; -1 before scraper_attach() or when dropped */
	const char *drop; /* why it was dropped, or NULL */
	double total;     /* counter: what was recorded over the run */
};

/* One exposed series (sample name + label set). */
struct sc_series {
	char *key; /* name, then "\1label\2value" per label as written */
	int metric;
	int sid; /* registry series; -1 until registered */
	int ntags;
	struct tag tags[SCRAPE_MAX_LABELS + 1]; /* owned strings (+ instance) */
	double cur;                             /* in the latest scrape ... */
	bool fresh;                             /* ... when it was there */
	double prev;                            /* coordinator: the value last taken */
	bool have_prev;
	bool born; /* first seen after the baseline: a counter counts from 0 */
};

struct scraper {
	char *url;
	char *shown; /* url without credentials (scrape_url_shown()) */
	char *instance;
	CURL *curl;
	char curl_err[CURL_ERROR_SIZE];
	char *body;
	size_t blen, bcap;
	bool overflow;
	struct promtext *pt;
	char *key; /* the key being built (reused) */
	size_t key_cap;

	pthread_mutex_t mu; /* guards what follows (the thread and the coordinator) */
	pthread_cond_t cv;
	pthread_t th;
	bool running, stop;
	int64_t start_us;
	struct sc_metric metrics[SCRAPE_MAX_METRICS];
	int nmetrics;
	int nfamilies;    /* families that gave a metric */
	int metrics_over; /* the most samples of one scrape whose name was past the cap */
	struct sc_series *series;
	int nseries;
	int16_t mindex[METRIC_SLOTS]; /* metric index + 1 by sample name, 0: empty */
	int16_t sindex[SERIES_SLOTS]; /* series index + 1 by key, 0: empty */
	bool attached, baseline_done;
	uint64_t gen, taken_gen;
	struct registry *reg;
	int first_foreign; /* scraper_attach()'s, for the metrics registered later */
	char **reserved;   /* its reserved names (copies), NULL-terminated */
	int64_t ok, failed;
	char last_err[ERR_MAX];
	uint64_t bad_lines; /* the last scrape's */
	int dropped_series; /* the most samples of one scrape without a series */
	int dropped_labels; /* series whose labels were cut */
	int late_families;  /* families first seen after scraper_attach() */
	/* the most in one scrape (scrape.h, scraper_json()): */
	int long_names;         /* samples past a length cap */
	int non_finite;         /* NaN / +-Inf samples skipped */
	uint64_t parse_dropped; /* samples the parser did not store */
	uint64_t families_lost; /* families past the parser's cap */
	double http_reqs;
	bool have_reqs;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static uint32_t hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct scraper *s = ctx;
	size_t len = size * n;
	if (s->blen + len > SCRAPE_MAX_BODY) {
		s->overflow = true;
		return 0; /* curl stops: CURLE_WRITE_ERROR */
	}
	if (s->blen + len > s->bcap) {
		s->bcap = MIN(MAX(s->bcap * 2, s->blen + len + 4096), (size_t)SCRAPE_MAX_BODY);
		s->body = xrealloc(s->body, s->bcap);
	}
	memcpy(s->body + s->blen, data, len);
	s->blen += len;
	return len;
}

void scrape_url_shown(const char *url, char *out, size_t len)
{
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	const char *end = h + strcspn(h, "/?#");
	const char *at = memchr(h, '@', (size_t)(end - h));
	while (at && memchr(at + 1, '@', (size_t)(end - at - 1))) /* the last '@' ends them */
		at = memchr(at + 1, '@', (size_t)(end - at - 1));
	if (at)
		snprintf(out, len, "%.*s***%s", (int)(h - url), url, at);
	else
		snprintf(out, len, "%s", url);
}

struct scraper *scraper_new(const char *url, const char *instance)
{
	char shown[1024];
	struct scraper *s = xcalloc(1, sizeof(*s));
	pthread_condattr_t ca;
	pthread_once(&curl_once, curl_init);
	s->url = xstrdup(url);
	scrape_url_shown(url, shown, sizeof(shown));
	s->shown = xstrdup(shown);
	s->instance = instance ? xstrdup(instance) : NULL;
	s->pt = xmalloc(sizeof(*s->pt));
	promtext_init(s->pt);
	s->series = xcalloc(SCRAPE_MAX_SERIES, sizeof(*s->series));
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	s->curl = curl_easy_init();
	if (s->curl) {
		CURL *c = s->curl;
		curl_easy_setopt(c, CURLOPT_URL, s->url);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)SCRAPE_TIMEOUT_MS);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)SCRAPE_TIMEOUT_MS);
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* the target, directly */
		curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
		curl_easy_setopt(c, CURLOPT_USERAGENT, "stampede-scrape");
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->curl_err);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
		static const char *const accept = "Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1";
		struct curl_slist *h = curl_slist_append(NULL, accept);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_PRIVATE, h); /* freed with the handle */
	}
	return s;
}

/* One GET of the URL into s->body. Returns 0 or a negative errno with the reason in err. */
static int fetch(struct scraper *s, char *err, size_t errlen)
{
	long code = 0;
	s->blen = 0;
	s->overflow = false;
	s->curl_err[0] = '\0';
	if (!s->curl) {
		snprintf(err, errlen, "libcurl could not be set up");
		return -ENOMEM;
	}
	CURLcode c = curl_easy_perform(s->curl);
	if (c != CURLE_OK) {
		if (s->overflow) {
			snprintf(err, errlen, "the body is larger than %u MiB",
			         SCRAPE_MAX_BODY >> 20);
			return -EFBIG;
		}
		snprintf(err, errlen, "%s", s->curl_err[0] ? s->curl_err : curl_easy_strerror(c));
		return c == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
		       : c == CURLE_COULDNT_CONNECT  ? -ECONNREFUSED
		                                     : -EIO;
	}
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299) {
		snprintf(err, errlen, "HTTP status %ld", code);
		return -EIO;
	}
	return 0;
}

/* -1: not recorded; 0: a gauge; 1: a counter (see scrape.h "Names"). */
static int sample_kind(const struct promtext *p, const struct promtext_sample *x)
{
	const struct promtext_family *f = &p->families[x->family];
	switch (f->type) {
	case PROMTEXT_COUNTER:
		return x->suffix == PROMTEXT_SFX_NONE || x->suffix == PROMTEXT_SFX_TOTAL ? 1 : -1;
	case PROMTEXT_GAUGE:
		return x->suffix == PROMTEXT_SFX_NONE ? 0 : -1;
	case PROMTEXT_UNTYPED:
		if (x->suffix != PROMTEXT_SFX_NONE)
			return -1;
		return promtext_family_is_counter(f) ? 1 : 0;
	case PROMTEXT_HISTOGRAM:
	case PROMTEXT_SUMMARY:
		return x->suffix == PROMTEXT_SFX_SUM || x->suffix == PROMTEXT_SFX_COUNT ? 1 : -1;
	}
	return -1;
}

static void key_put(struct scraper *s, size_t *len, const char *str, size_t n)
{
	if (*len + n + 1 > s->key_cap) {
		s->key_cap = MAX(s->key_cap * 2, *len + n + 256);
		s->key = xrealloc(s->key, s->key_cap);
	}
	memcpy(s->key + *len, str, n);
	*len += n;
	s->key[*len] = '\0';
}

/* The series key of x into s->key; returns its length. */
static size_t build_key(struct scraper *s, const struct promtext_sample *x)
{
	const struct promtext_label *l = promtext_sample_labels(s->pt, x);
	size_t len = 0;
	key_put(s, &len, x->name, strlen(x->name));
	for (uint32_t i = 0; i < x->nlabels; i++) {
		key_put(s, &len, "\1", 1);
		key_put(s, &len, l[i].name, strlen(l[i].name));
		key_put(s, &len, "\2", 1);
		key_put(s, &len, l[i].value, strlen(l[i].value));
	}
	return len;
}

/* Whether x is past a length cap (SCRAPE_MAX_NAME, SCRAPE_MAX_LABEL_VALUE,
 * SCRAPE_MAX_SERIES_KEY): checked before anything is copied. */
static bool too_long(const struct scraper *s, const struct promtext_sample *x)
{
	const struct promtext_label *l = promtext_sample_labels(s->pt, x);
	size_t key = strlen(x->name);
	if (key > SCRAPE_MAX_NAME)
		return true;
	for (uint32_t i = 0; i < x->nlabels; i++) {
		size_t v = strlen(l[i].value);
		if (v > SCRAPE_MAX_LABEL_VALUE)
			return true;
		key += 2 + strlen(l[i].name) + v; /* as build_key() lays it out */
		if (key > SCRAPE_MAX_SERIES_KEY)
			return true;
	}
	return false;
}

static int find_metric(const struct scraper *s, const char *sample)
{
	size_t n = strlen(sample);
	for (uint32_t i = hash(sample, n) % METRIC_SLOTS;; i = (i + 1) % METRIC_SLOTS) {
		int j = s->mindex[i] - 1;
		if (j < 0)
			return -1;
		if (!strcmp(s->metrics[j].sample, sample))
			return j;
	}
}

static int find_series(const struct scraper *s, const char *key, size_t len)
{
	for (uint32_t i = hash(key, len) % SERIES_SLOTS;; i = (i + 1) % SERIES_SLOTS) {
		int j = s->sindex[i] - 1;
		if (j < 0)
			return -1;
		if (!strcmp(s->series[j].key, key))
			return j;
	}
}

static bool family_known(const struct scraper *s, const char *family)
{
	for (int i = 0; i < s->nmetrics; i++)
		if (!strcmp(s->metrics[i].family, family))
			return true;
	return false;
}

/* A new metric for the sample name sample of family. Returns its index, or -1 past
 * SCRAPE_MAX_METRICS. A family seen for the first time counts in nfamilies, and in
 * late_families once attached (it is registered at the next take()). */
static int add_metric(struct scraper *s, const char *sample, const char *family, bool counter)
{
	if (s->nmetrics == SCRAPE_MAX_METRICS)
		return -1;
	if (!family_known(s, family)) {
		s->nfamilies++;
		s->late_families += s->attached;
	}
	struct sc_metric *m = &s->metrics[s->nmetrics];
	size_t n = strlen(sample);
	m->sample = xstrdup(sample);
	m->family = xstrdup(family);
	m->name = xmalloc(n + 8);
	memcpy(m->name, "target_", 7);
	for (size_t i = 0; i <= n; i++)
		m->name[7 + i] = sample[i] == ':' ? '_' : sample[i];
	m->counter = counter;
	m->id = -1;
	uint32_t i = hash(sample, n) % METRIC_SLOTS;
	while (s->mindex[i])
		i = (i + 1) % METRIC_SLOTS;
	s->mindex[i] = (int16_t)(s->nmetrics + 1);
	return s->nmetrics++;
}

/* A new series for sample x of metric mi, with key s->key (len). */
static void add_series(struct scraper *s, const struct promtext_sample *x, int mi, size_t len)
{
	struct sc_series *r = &s->series[s->nseries];
	const struct promtext_label *l = promtext_sample_labels(s->pt, x);
	bool several = s->instance != NULL, cut = false;
	r->key = xstrndup(s->key, len);
	r->metric = mi;
	r->sid = -1;
	for (uint32_t i = 0; i < x->nlabels; i++) {
		const char *k = l[i].name;
		if (!strncmp(k, "__", 2))
			continue;
		if (r->ntags == SCRAPE_MAX_LABELS) {
			cut = true;
			continue;
		}
		if (several && !strcmp(k, "instance"))
			k = "exported_instance";
		r->tags[r->ntags++] = (struct tag){ xstrdup(k), xstrdup(l[i].value) };
	}
	if (several)
		r->tags[r->ntags++] = (struct tag){ xstrdup("instance"), xstrdup(s->instance) };
	s->dropped_labels += cut;
	r->cur = x->value;
	r->fresh = true;
	r->born = s->baseline_done;
	uint32_t i = hash(s->key, len) % SERIES_SLOTS;
	while (s->sindex[i])
		i = (i + 1) % SERIES_SLOTS;
	s->sindex[i] = (int16_t)(s->nseries + 1);
	s->nseries++;
}

/* The metrics of the families a TYPE line declares without any sample (yet): a server
 * that exposes a family only once it has a sample still has its metrics registered at
 * scraper_attach(), so that thresholds may name them. The names are those the text
 * format 0.0.4 gives their samples: x for a counter, gauge or untyped family, x_sum and
 * x_count for a histogram or summary. *over: names past SCRAPE_MAX_METRICS; *long_names:
 * names past SCRAPE_MAX_NAME. */
static void declare_families(struct scraper *s, int *over, int *long_names)
{
	const struct promtext *p = s->pt;
	char name[512];
	for (int i = 0; i < p->nfamilies; i++) {
		const struct promtext_family *f = &p->families[i];
		bool hist = f->type == PROMTEXT_HISTOGRAM || f->type == PROMTEXT_SUMMARY;
		if (!f->typed || f->nsamples > 0)
			continue;
		for (int k = 0; k < (hist ? 2 : 1); k++) {
			const char *sfx = !hist ? "" : k ? "_count" : "_sum";
			if (strlen(f->name) + strlen(sfx) > SCRAPE_MAX_NAME) {
				(*long_names)++;
				continue;
			}
			snprintf(name, sizeof(name), "%s%s", f->name, sfx);
			bool counter = hist || promtext_family_is_counter(f); /* as sample_kind() */
			if (find_metric(s, name) < 0 && add_metric(s, name, f->name, counter) < 0)
				(*over)++;
		}
	}
}

/* Fold the parse in s->pt into the series (s->mu held). A sample name not met before gets
 * a metric (registered by scraper_attach(), or once attached by the next take()). */
static void apply(struct scraper *s)
{
	const struct promtext *p = s->pt;
	int dropped = 0, over = 0, long_names = 0, non_finite = 0;
	const char *over_name = "";
	for (int i = 0; i < s->nseries; i++)
		s->series[i].fresh = false;
	for (uint32_t i = 0; i < p->nsamples; i++) {
		const struct promtext_sample *x = &p->samples[i];
		int kind = sample_kind(p, x);
		if (kind < 0)
			continue;
		if (too_long(s, x)) {
			long_names++; /* never copied: not a metric, a series nor a key */
			continue;
		}
		/* NaN, +Inf, -Inf: not a value to add to a counter's total or to take as a
		 * gauge's (its min/max would be Inf, null in JSON): skipped, counted. The
		 * series stays not fresh, so a counter's baseline stays its last finite value. */
		bool finite = isfinite(x->value);
		non_finite += !finite;
		size_t len = build_key(s, x);
		int j = find_series(s, s->key, len);
		if (j >= 0) {
			if (finite) {
				s->series[j].cur = x->value;
				s->series[j].fresh = true;
			}
			continue;
		}
		int mi = find_metric(s, x->name);
		if (mi < 0)
			mi = add_metric(s, x->name, p->families[x->family].name, kind == 1);
		if (mi < 0) {
			over += strcmp(over_name, x->name) != 0; /* a name's samples count once */
			over_name = x->name;
			continue;
		}
		if (!finite || s->metrics[mi].drop)
			continue; /* no value yet; or dropped at registration */
		if (s->nseries == SCRAPE_MAX_SERIES) {
			dropped++;
			continue;
		}
		add_series(s, x, mi, len);
	}
	if (!s->attached)
		declare_families(s, &over, &long_names);
	s->dropped_series = MAX(s->dropped_series, dropped);
	s->metrics_over = MAX(s->metrics_over, over);
	s->long_names = MAX(s->long_names, long_names);
	s->non_finite = MAX(s->non_finite, non_finite);
	s->parse_dropped = MAX(s->parse_dropped, p->samples_dropped);
	s->families_lost = MAX(s->families_lost, p->families_lost);
	s->bad_lines = p->bad_lines;
}

/* A failed scrape of the run. Before scraper_attach() a failure is the probe's (retried
 * while a target started by --monitor-cmd comes up): the run has not begun, so it is not
 * counted and leaves lastError alone. */
static void count_failure(struct scraper *s, const char *err)
{
	pthread_mutex_lock(&s->mu);
	if (s->attached) {
		s->failed++;
		snprintf(s->last_err, sizeof(s->last_err), "%s", err);
	}
	pthread_mutex_unlock(&s->mu);
}

int scraper_ingest(struct scraper *s, const char *body, size_t len, char *err, size_t errlen)
{
	int rc = promtext_parse(s->pt, body, len, PROMTEXT_LENIENT);
	if (rc == -EFBIG || len > SCRAPE_MAX_BODY) {
		snprintf(err, errlen, "the body is larger than %u MiB", SCRAPE_MAX_BODY >> 20);
		rc = -EFBIG;
	} else if (s->pt->samples_total == 0) {
		snprintf(err, errlen, "no Prometheus sample in the body%s%s",
		         s->pt->err[0] ? ": " : "", s->pt->err);
		rc = -EPROTO;
	}
	if (rc < 0) {
		count_failure(s, err);
		return rc;
	}
	pthread_mutex_lock(&s->mu);
	apply(s);
	s->ok++;
	s->gen++;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* Fetch and ingest; failures are counted. Returns 0 or a negative errno (reason in err). */
static int scrape_once(struct scraper *s, char *err, size_t errlen)
{
	int rc = fetch(s, err, errlen);
	if (rc < 0) {
		count_failure(s, err);
		return rc;
	}
	return scraper_ingest(s, s->body, s->blen, err, errlen);
}

int scraper_probe(struct scraper *s, char *err, size_t errlen)
{
	return scrape_once(s, err, errlen);
}

static bool is_reserved(const struct scraper *s, const char *name)
{
	for (char *const *r = s->reserved; r && *r; r++)
		if (!strcmp(name, *r))
			return true;
	return false;
}

/* Register metric m in s->reg (s->mu held), or say why it is dropped. */
static void register_metric(struct scraper *s, struct sc_metric *m)
{
	int have = registry_find_metric(s->reg, m->name);
	if ((have >= 0 && have < s->first_foreign) || is_reserved(s, m->name)) {
		m->drop = "a name stampede or the script uses";
		return;
	}
	int id = registry_metric(s->reg, m->name, m->counter ? MT_COUNTER : MT_GAUGE, MU_NONE);
	if (id == -EEXIST)
		m->drop = "another --scrape URL has it with another type";
	else if (id < 0)
		m->drop = "too many metrics in the run";
	else
		m->id = id;
}

/* Register the metrics not registered yet (s->mu held). */
static void register_new(struct scraper *s)
{
	for (int i = 0; i < s->nmetrics; i++)
		if (s->metrics[i].id < 0 && !s->metrics[i].drop)
			register_metric(s, &s->metrics[i]);
}

void scraper_attach(struct scraper *s, struct registry *reg, int first_foreign,
                    const char *const *reserved)
{
	size_t n = 0;
	while (reserved && reserved[n])
		n++;
	pthread_mutex_lock(&s->mu);
	s->reg = reg;
	s->first_foreign = first_foreign;
	s->reserved = xcalloc(n + 1, sizeof(*s->reserved));
	for (size_t i = 0; i < n; i++)
		s->reserved[i] = xstrdup(reserved[i]);
	register_new(s);
	for (int i = 0; i < s->nseries; i++) {
		struct sc_series *r = &s->series[i];
		if (s->metrics[r->metric].id >= 0)
			r->sid = registry_series(reg, s->metrics[r->metric].id, r->tags, r->ntags);
	}
	s->attached = true;
	pthread_mutex_unlock(&s->mu);
}

/* Take the latest scrape, if new: counters' growth and gauges' values into sink when
 * record, else only the counters' baseline. s->mu held. */
static void take(struct scraper *s, struct sink *sink, bool record)
{
	if (s->gen == s->taken_gen || !s->attached)
		return;
	s->taken_gen = s->gen;
	register_new(s); /* the families that appeared since the last take */
	for (int i = 0; i < s->nseries; i++) {
		struct sc_series *r = &s->series[i];
		struct sc_metric *m = &s->metrics[r->metric];
		if (!r->fresh || m->id < 0)
			continue;
		if (r->sid < 0)
			r->sid = registry_series(s->reg, m->id, r->tags, r->ntags);
		if (!m->counter) {
			if (record)
				sink_gauge(sink, r->sid, r->cur);
			continue;
		}
		/* Prometheus' increase(): a value going down is a reset, counted from 0 */
		double d = r->have_prev ? (r->cur >= r->prev ? r->cur - r->prev : r->cur)
		           : r->born    ? r->cur
		                        : -1;
		r->prev = r->cur;
		r->have_prev = true;
		if (record && d >= 0) {
			sink_add(sink, r->sid, d);
			m->total += d;
		}
	}
}

void scraper_baseline(struct scraper *s)
{
	char err[ERR_MAX];
	scrape_once(s, err, sizeof(err));
	pthread_mutex_lock(&s->mu);
	take(s, NULL, false);
	for (int i = 0; i < s->nseries; i++)
		if (!s->series[i].have_prev) /* not there at the baseline: counts from 0 */
			s->series[i].born = true;
	s->baseline_done = true;
	pthread_mutex_unlock(&s->mu);
}

static void *scrape_thread(void *arg)
{
	struct scraper *s = arg;
	char err[ERR_MAX];
	for (int64_t k = 1;; k++) {
		int64_t at = s->start_us + k * USEC_PER_SEC;
		struct timespec ts = { .tv_sec = at / USEC_PER_SEC,
			               .tv_nsec = (long)(at % USEC_PER_SEC) * 1000 };
		pthread_mutex_lock(&s->mu);
		while (!s->stop && now_us() < at)
			pthread_cond_timedwait(&s->cv, &s->mu, &ts);
		bool stop = s->stop;
		pthread_mutex_unlock(&s->mu);
		if (stop)
			break;
		scrape_once(s, err, sizeof(err));
		int64_t behind = (now_us() - s->start_us) / USEC_PER_SEC;
		k = MAX(k, behind); /* a slow scrape: skip the seconds it took */
	}
	return NULL;
}

void scraper_start(struct scraper *s, int64_t start_us)
{
	s->start_us = start_us;
	s->stop = false;
	s->running = pthread_create(&s->th, NULL, scrape_thread, s) == 0;
}

static void stop_thread(struct scraper *s)
{
	if (!s->running)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->th, NULL);
	s->running = false;
}

void scraper_sample(struct scraper *s, struct sink *sink)
{
	pthread_mutex_lock(&s->mu);
	take(s, sink, true);
	pthread_mutex_unlock(&s->mu);
}

void scraper_end(struct scraper *s, struct sink *sink)
{
	char err[ERR_MAX];
	stop_thread(s);
	scraper_sample(s, sink); /* a scrape the coordinator has not taken yet */
	scrape_once(s, err, sizeof(err));
	scraper_sample(s, sink);
}

void scraper_set_requests(struct scraper *s, double http_reqs)
{
	s->http_reqs = http_reqs;
	s->have_reqs = true;
}

json_t *scraper_json(const struct scraper *cs)
{
	struct scraper *s = (struct scraper *)cs; /* the mutex only */
	json_t *j, *dropped = json_array(), *counters = json_object(), *per = json_object();
	int nmetrics = 0;
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nmetrics; i++) {
		const struct sc_metric *m = &s->metrics[i];
		if (m->drop)
			json_array_append_new(
			    dropped, json_pack("{s:s, s:s}", "name", m->name, "reason", m->drop));
		if (m->id < 0)
			continue;
		nmetrics++;
		if (!m->counter)
			continue;
		json_object_set_new(counters, m->name, json_real(m->total));
		if (s->have_reqs && s->http_reqs > 0)
			json_object_set_new(per, m->name, json_real(m->total / s->http_reqs));
	}
	if (s->metrics_over)
		json_array_append_new(
		    dropped, json_pack("{s:s, s:s, s:i}", "name", "...", "reason",
		                       "more than 128 metric names at one URL (the first kept)",
		                       "count", s->metrics_over));
	if (s->families_lost)
		json_array_append_new(
		    dropped, json_pack("{s:s, s:s, s:I}", "name", "...", "reason",
		                       "more than 256 families in one body (the first kept)",
		                       "count", (json_int_t)s->families_lost));
	j = json_pack("{s:s, s:I, s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:I}", "url", s->shown,
	              "okScrapes", (json_int_t)s->ok, "failedScrapes", (json_int_t)s->failed,
	              "families", s->nfamilies, "metrics", nmetrics, "series", s->nseries,
	              "droppedSeries", s->dropped_series, "droppedLabels", s->dropped_labels,
	              "lateFamilies", s->late_families, "badLines", (json_int_t)s->bad_lines);
	json_object_set_new(j, "droppedLongNames", json_integer(s->long_names));
	json_object_set_new(j, "nonFinite", json_integer(s->non_finite));
	json_object_set_new(j, "droppedSamples", json_integer((json_int_t)s->parse_dropped));
	json_object_set_new(j, "lastError",
	                    s->last_err[0] ? json_string(s->last_err) : json_null());
	json_object_set_new(j, "droppedMetrics", dropped);
	json_object_set_new(j, "counters", counters);
	json_object_set_new(j, "perRequest", per);
	if (s->instance)
		json_object_set_new(j, "instance", json_string(s->instance));
	pthread_mutex_unlock(&s->mu);
	return j;
}

void scraper_free(struct scraper *s)
{
	if (!s)
		return;
	stop_thread(s);
	if (s->curl) {
		struct curl_slist *h = NULL;
		curl_easy_getinfo(s->curl, CURLINFO_PRIVATE, (char **)&h);
		curl_easy_cleanup(s->curl);
		curl_slist_free_all(h);
	}
	for (int i = 0; i < s->nmetrics; i++) {
		free(s->metrics[i].name);
		free(s->metrics[i].sample);
		free(s->metrics[i].family);
	}
	for (char **r = s->reserved; r && *r; r++)
		free(*r);
	free(s->reserved);
	for (int i = 0; i < s->nseries; i++) {
		free(s->series[i].key);
		for (int t = 0; t < s->series[i].ntags; t++) {
			free((char *)s->series[i].tags[t].key);
			free((char *)s->series[i].tags[t].value);
		}
	}
	free(s->series);
	promtext_free(s->pt);
	free(s->pt);
	free(s->body);
	free(s->key);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->url);
	free(s->shown);
	free(s->instance);
	free(s);
}
