/* coord_client.c: an instance's side of `stampede coordinate` over HTTP (libcurl): the
 * ready barrier, the interval sender thread, the coordinator's abort reason. */
#include "cli/coord_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cli/coord_server.h"
#include "engine/segment.h"
#include "metrics/hdr.h"
#include "result/result.h"
#include "util/common.h"

#define REQ_TIMEOUT_MS   2000               /* each request, connection included */
#define ANSWER_MAX       (64 << 10)         /* the largest answer read */
#define QUEUE_MAX        32                 /* intervals waiting for the sender thread */
#define FLUSH_US         (3 * USEC_PER_SEC) /* coord_client_finish: the queue's last chance */
#define BARRIER_RETRY_US (500 * 1000)       /* a registration without an answer: again after */
#define RUN_RETRY_US     (5 * USEC_PER_SEC) /* mid-run: a request unanswered this long is lost */
/* At the barrier, once the coordinator has taken a connection: its connections refused this long (as
 * long as it waits for a silent instance) and it is gone (exited, killed). */
#define GONE_US COORD_SILENT_US
/* The instance's name still registered by an earlier process (killed and restarted at the
 * barrier): asked again until the coordinator forgets it (after COORD_SILENT_US of
 * silence); refused still this long after the first refusal, it is a live process. */
#define DUPLICATE_WAIT_US (2 * COORD_SILENT_US)

/* An abort threshold's selection: its metric and the tags a series must have. */
struct csel {
	char *metric;
	int ntags;
	struct thr_tag *tags; /* copies */
};

struct coord_client {
	char *base; /* "http://HOST:PORT", without a trailing slash */
	char *instance;
	char token[33];
	int nsel;
	struct csel *sel;
	CURL *curl; /* start's, then the thread's, then finish's: never two at once */
	struct curl_slist *headers;
	char curl_err[CURL_ERROR_SIZE];
	CURLcode curl_rc; /* the last request's */
	bool connected;   /* the last request's connection was made (answered or not) */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	char *queue[QUEUE_MAX]; /* JSON bodies, oldest at head */
	int qhead, qlen;
	bool stop;
	int64_t flush_deadline;
	bool drop_warned;
	int64_t poll_us; /* the verdict's polling period while idle */
	bool lost;       /* the coordinator failed a request: nothing more is sent */
	char *abort;     /* the coordinator's reason, set once (atomic pointer) */
	char *alive;     /* the body of POST /v1/abort: {instance, token} */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Whether SIGINT, SIGTERM or SIGHUP is pending (blocked in the calling thread). */
static bool stop_pending(void)
{
	sigset_t p;
	return sigpending(&p) == 0 &&
	       (sigismember(&p, SIGINT) || sigismember(&p, SIGTERM) || sigismember(&p, SIGHUP));
}

/* --- one request ----------------------------------------------------------------- */

struct answer {
	char *buf;
	size_t len;
	bool too_big;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct answer *a = ud;
	size_t k = size * n;
	if (a->len + k > ANSWER_MAX) {
		a->too_big = true;
		return 0;
	}
	a->buf = xrealloc(a->buf, a->len + k + 1);
	memcpy(a->buf + a->len, p, k);
	a->len += k;
	a->buf[a->len] = '\0';
	return k;
}

/* POST body to the coordinator's path (GET when body is NULL). Returns the HTTP status with the answer's JSON
 * object in *ans (new reference, or NULL when it is not one), or -1 with the reason in
 * err (cannot connect, timed out, an answer too large). */
static long post(struct coord_client *c, const char *path, const char *body, json_t **ans,
                 char *err, size_t errlen)
{
	char url[600];
	struct answer a = { 0 };
	long status = -1;
	snprintf(url, sizeof(url), "%s%s", c->base, path);
	*ans = NULL;
	c->curl_err[0] = '\0';
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	if (body) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &a);
	CURLcode rc = curl_easy_perform(c->curl);
	curl_off_t conn_us = 0;
	curl_easy_getinfo(c->curl, CURLINFO_CONNECT_TIME_T, &conn_us);
	c->curl_rc = rc;
	/* a connection that was made, or failed once it was: something listened there */
	c->connected = rc == CURLE_OK || conn_us > 0 || rc == CURLE_RECV_ERROR ||
	               rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
	               rc == CURLE_PARTIAL_FILE;
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s",
		         a.too_big        ? "its answer is larger than 64 KiB"
		         : c->curl_err[0] ? c->curl_err
		                          : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	*ans = a.buf ? json_loadb(a.buf, a.len, 0, NULL) : NULL;
	if (*ans && !json_is_object(*ans)) {
		json_decref(*ans);
		*ans = NULL;
	}
	if (status != 200) { /* the coordinator's reason, or the status */
		const char *why = json_string_value(json_object_get(*ans, "error"));
		if (why)
			snprintf(err, errlen, "%s", why);
		else
			snprintf(err, errlen,
			         "HTTP status %ld for %s (is it `stampede coordinate`?)", status,
			         path);
	} else if (!*ans) {
		snprintf(err, errlen, "not a JSON object for %s (is it `stampede coordinate`?)",
		         path);
		status = -1;
	}
out:
	free(a.buf);
	return status;
}

static CURL *curl_handle(struct coord_client *c)
{
	CURL *h = curl_easy_init();
	if (!h)
		return NULL;
	c->headers = curl_slist_append(NULL, "Content-Type: application/json");
	c->headers = curl_slist_append(c->headers, "Expect:");
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)REQ_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)REQ_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*"); /* the coordinator, directly */
	curl_easy_setopt(h, CURLOPT_USERAGENT, "stampede-coordinate-client");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
	return h;
}

/* --- registration and the barrier ------------------------------------------------ */

static void client_free(struct coord_client *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nsel; i++) {
		free(c->sel[i].metric);
		for (int k = 0; k < c->sel[i].ntags; k++) {
			free(c->sel[i].tags[k].key);
			free(c->sel[i].tags[k].value);
		}
		free(c->sel[i].tags);
	}
	free(c->sel);
	for (int i = 0; i < c->qlen; i++)
		free(c->queue[(c->qhead + i) % QUEUE_MAX]);
	if (c->curl)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cond);
	free(c->abort);
	free(c->alive);
	free(c->base);
	free(c->instance);
	free(c);
}

/* The test the run's options say (a new object of result_test_keys' members), or NULL. */
static json_t *test_of(const json_t *options)
{
	if (!json_is_object(options))
		return NULL;
	json_t *t = json_object();
	for (const char *const *key = result_test_keys; *key; key++) {
		json_t *v = json_object_get(options, *key);
		if (v)
			json_object_set_new(t, *key, json_deep_copy(v));
	}
	return t;
}

/* The registration's body: the instance, its segment (seg NULL or whole: none; sequence
 * NULL: not said), its test (options NULL: not said) and its abort-on-fail thresholds; the
 * selections are kept in c for the intervals. */
static char *register_body(struct coord_client *c, const char *seg, const char *sequence,
                           const json_t *options, const struct threshold *thr, int nthr)
{
	json_t *arr = json_array();
	c->sel = xcalloc((size_t)MAX(nthr, 1), sizeof(*c->sel));
	for (int i = 0; i < nthr; i++) {
		const struct threshold *t = &thr[i];
		if (!t->abort_on_fail)
			continue;
		struct csel *s = &c->sel[c->nsel++];
		s->metric = xstrdup(t->metric);
		s->ntags = t->ntags;
		s->tags = xcalloc((size_t)MAX(t->ntags, 1), sizeof(*s->tags));
		for (int k = 0; k < t->ntags; k++)
			s->tags[k] =
			    (struct thr_tag){ xstrdup(t->tags[k].key), xstrdup(t->tags[k].value) };
		json_array_append_new(arr, json_pack("{sssssssIsi}", "source",
		                                     t->source ? t->source : t->expr, "selector",
		                                     t->selector, "expr", t->expr, "delay_abort_ms",
		                                     (json_int_t)(t->delay_abort_us / 1000),
		                                     "window_s", t->window_s));
	}
	json_t *o =
	    json_pack("{sssssO}", "instance", c->instance, "token", c->token, "thresholds", arr);
	if (seg)
		json_object_set_new(o, "segment", json_string(seg));
	if (seg && sequence)
		json_object_set_new(o, "sequence", json_string(sequence));
	json_t *test = test_of(options);
	if (test)
		json_object_set_new(o, "test", test);
	char *body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	json_decref(arr);
	return body;
}

static void new_token(char *out)
{
	uint64_t r[2] = { 0 };
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		r[0] = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
		r[1] = (uint64_t)wall_us();
	}
	snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, r[0], r[1]);
}

/* Sleep ms, waking early for a stop signal; returns whether one is pending. */
static bool nap(int64_t us)
{
	int64_t end = now_us() + us;
	while (now_us() < end) {
		if (stop_pending())
			return true;
		int64_t d = MIN(end - now_us(), 20000);
		struct timespec ts = { 0, (long)MAX(d, 0) * 1000 };
		nanosleep(&ts, NULL);
	}
	return stop_pending();
}

/* Say the instance ended with rc (best effort); before the start it leaves the barrier
 * and the coordinator frees its place. */
static void leave(struct coord_client *c, int rc)
{
	char err[512];
	json_t *ans = NULL;
	json_t *o =
	    json_pack("{sssssi}", "instance", c->instance, "token", c->token, "exit_code", rc);
	char *s = json_dumps(o, JSON_COMPACT);
	if (s)
		post(c, "/v1/done", s, &ans, err, sizeof(err));
	json_decref(ans);
	json_decref(o);
	free(s);
}

/* Whether a request that failed with rc is worth asking again: the coordinator did not
 * answer in time, or dropped the connection (busy: its connections are all taken). A
 * refused connection or an unknown host before the coordinator ever took a connection is a
 * wrong URL, said at once; after that (answered: it took one), a coordinator restarting
 * (the barrier gives it GONE_US). */
static bool transient(CURLcode rc, bool answered)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return true;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return answered;
	default:
		return false;
	}
}

/* A registration that got no answer: warn once, then wait a little before asking again.
 * Returns 0 to ask again, -1 past the deadline (err says why), -2 for a stop signal. */
static int barrier_retry(struct coord_client *c, const char *why, bool answered, int64_t timeout_us,
                         int64_t deadline, bool *warned, char *err, size_t errlen)
{
	char d[32];
	format_duration(timeout_us, d, sizeof(d));
	if (now_us() >= deadline) {
		snprintf(err, errlen, "%s within %s: %s",
		         answered ? "lost the coordinator at the barrier"
		                  : "cannot reach the coordinator",
		         d, why);
		return -1;
	}
	if (!*warned)
		fprintf(
		    stderr,
		    "stampede: warning: the coordinator at %s did not answer (%s): asking again "
		    "for up to %s (--coordinator-timeout)\n",
		    c->base, why, d);
	*warned = true;
	return nap(MIN(BARRIER_RETRY_US, MAX(deadline - now_us(), 0))) ? -2 : 0;
}

/* Whether a request that failed with rc found nothing at the coordinator's address: the
 * connection refused (nothing listens there), or the host unknown (its Service gone). */
static bool nobody_there(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST;
}

/* The state of the barrier's loop of requests. */
struct barrier_wait {
	int64_t deadline;   /* --coordinator-timeout (monotonic µs) */
	bool answered;      /* the coordinator answered once */
	bool reached;       /* it took a connection once (answered or not: a registration
	                     * whose answer was lost registered all the same) */
	bool warned;        /* "did not answer" said */
	int64_t refused_us; /* since when its connections are refused (0: they are not) */
	int64_t dup_us;     /* since when the name is refused as registered already (0: not) */
};

/* A refusal that lasts, first seen at since: past limit after it (or past the deadline)
 * returns 1, give up; else naps before the next request: 0, or -2 for a stop signal. */
static int refusal_lasts(const struct barrier_wait *w, int64_t since, int64_t limit)
{
	if (now_us() - since >= limit || now_us() >= w->deadline)
		return 1;
	return nap(MIN(BARRIER_RETRY_US, MAX(w->deadline - now_us(), 0))) ? -2 : 0;
}

/* A registration whose connection was refused after the coordinator had taken one: for
 * GONE_US in a row, it is gone. Returns 0 to ask again, -1 with err, -2 for a signal. */
static int barrier_refused(struct coord_client *c, struct barrier_wait *w, const char *why,
                           char *err, size_t errlen)
{
	char d[32];
	if (!w->refused_us) {
		w->refused_us = now_us();
		fprintf(stderr,
		        "stampede: warning: the coordinator at %s refuses connections (%s): it "
		        "has gone away if this lasts %s\n",
		        c->base, why, format_duration(GONE_US, d, sizeof(d)));
	}
	int r = refusal_lasts(w, w->refused_us, GONE_US);
	if (r == 1) {
		snprintf(err, errlen,
		         "the coordinator went away at the barrier: its connections were refused "
		         "for %s (%s)",
		         format_duration(now_us() - w->refused_us, d, sizeof(d)), why);
		return -1;
	}
	return r;
}

/* The coordinator refused the registration because the instance's name is registered by
 * another token: an earlier process of this instance (killed at the barrier, restarted)
 * that it has not forgotten yet, or a live duplicate. Asked again until the earlier one is
 * forgotten; refused DUPLICATE_WAIT_US after the first refusal (or past the deadline), it
 * is a live one. Returns 0 to ask again, -1 with err, -2 for a signal. */
static int barrier_duplicate(struct coord_client *c, struct barrier_wait *w, const char *why,
                             char *err, size_t errlen)
{
	char d[32];
	if (!w->dup_us) {
		w->dup_us = now_us();
		fprintf(stderr,
		        "stampede: warning: the coordinator at %s has an earlier registration of "
		        "'%s' that it has not forgotten yet (%s): asking again for up to %s, until "
		        "it forgets it after %.0fs of silence\n",
		        c->base, c->instance, why, format_duration(DUPLICATE_WAIT_US, d, sizeof(d)),
		        (double)COORD_SILENT_US / USEC_PER_SEC);
	}
	int r = refusal_lasts(w, w->dup_us, DUPLICATE_WAIT_US);
	if (r == 1) {
		snprintf(err, errlen,
		         "the coordinator refused this instance: %s; that registration was still "
		         "alive %s after the first refusal: another process runs this instance",
		         why, format_duration(now_us() - w->dup_us, d, sizeof(d)));
		return -1;
	}
	return r;
}

/* The barrier: register, then poll with the same registration until the start is fixed;
 * a request without an answer is asked again until the deadline, connections refused for
 * GONE_US after an answer give up at once. Returns 0 with *start, -1 with err, -2 for a
 * stop signal. */
static int barrier(struct coord_client *c, const char *body, int64_t timeout_us, int64_t *start,
                   char *err, size_t errlen)
{
	struct barrier_wait w = { .deadline = now_us() + timeout_us };
	char why[512];
	for (;;) {
		json_t *ans;
		int r;
		if (stop_pending())
			return -2;
		long st = post(c, "/v1/register", body, &ans, why, sizeof(why));
		int64_t at = wall_us();
		w.reached = w.reached || c->connected;
		bool refused = st < 0 && w.reached && nobody_there(c->curl_rc);
		if (!refused)
			w.refused_us = 0;
		if (st != 409 || !json_is_true(json_object_get(ans, "duplicate")))
			w.dup_us = 0;
		if (refused) {
			json_decref(ans);
			if ((r = barrier_refused(c, &w, why, err, errlen)) < 0)
				return r;
			continue;
		}
		if (st < 0 && c->curl_rc != CURLE_OK && transient(c->curl_rc, w.reached)) {
			json_decref(ans);
			r = barrier_retry(c, why, w.answered, timeout_us, w.deadline, &w.warned,
			                  err, errlen);
			if (r < 0)
				return r;
			continue;
		}
		if (st < 0) {
			snprintf(err, errlen, "%s: %s",
			         w.answered ? "lost the coordinator at the barrier"
			                    : "cannot reach the coordinator",
			         why);
			json_decref(ans);
			return -1;
		}
		if (st == 409 && json_is_true(json_object_get(ans, "duplicate"))) {
			json_decref(ans);
			w.answered = true;
			if ((r = barrier_duplicate(c, &w, why, err, errlen)) < 0)
				return r;
			continue;
		}
		if (st == 503) { /* it stopped waiting (timed out, stopped): its reason */
			snprintf(err, errlen, "%s", why);
			json_decref(ans);
			return -1;
		}
		if (st != 200) {
			snprintf(err, errlen, "the coordinator refused this instance: %s", why);
			json_decref(ans);
			return -1;
		}
		w.answered = true;
		json_t *js = json_object_get(ans, "start_unix_us");
		json_t *jn = json_object_get(ans, "now_unix_us");
		int64_t poll = json_integer_value(json_object_get(ans, "poll_ms"));
		int reg = (int)json_integer_value(json_object_get(ans, "registered"));
		int of = (int)json_integer_value(json_object_get(ans, "instances"));
		c->poll_us = MIN(MAX(poll, 250), 1000) * 1000;
		if (json_is_integer(js) && json_is_integer(jn)) {
			/* the coordinator's clock, as an offset: clocks may differ */
			*start = at + (json_integer_value(js) - json_integer_value(jn));
			json_decref(ans);
			return 0;
		}
		json_decref(ans);
		if (now_us() >= w.deadline) {
			char d[32];
			snprintf(
			    err, errlen,
			    "the ready barrier timed out after %s: %d of %d instances registered",
			    format_duration(timeout_us, d, sizeof(d)), reg, of);
			leave(c, 104);
			return -1;
		}
		poll = MIN(MAX(poll, 20), 1000);
		if (nap(MIN(poll * 1000, MAX(w.deadline - now_us(), 0))))
			return -2;
	}
}

static void *sender_main(void *arg);

int coord_client_start_segment(const char *url, const char *instance,
                               const struct exec_segment *seg, const json_t *options,
                               const struct threshold *thr, int nthr, int64_t timeout_us,
                               struct coord_client **out, int64_t *start_wall_us, char *err,
                               size_t errlen)
{
	struct coord_client *c = xcalloc(1, sizeof(*c));
	int nabort = 0, rc = -1;
	char *body = NULL;
	pthread_once(&curl_once, curl_init);
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = NULL;
	for (int i = 0; i < nthr; i++)
		nabort += thr[i].abort_on_fail;
	if (nabort > COORD_THRESHOLDS_MAX) {
		snprintf(err, errlen, "%d abort-on-fail thresholds: a coordinator takes at most %d",
		         nabort, COORD_THRESHOLDS_MAX);
		goto out_free;
	}
	if (strlen(instance) > COORD_NAME_MAX || strlen(url) > 500) {
		snprintf(err, errlen, "the instance name or the URL is too long");
		goto out_free;
	}
	c->base = xstrdup(url);
	for (size_t n = strlen(c->base); n > 7 && c->base[n - 1] == '/'; n--)
		c->base[n - 1] = '\0';
	c->instance = xstrdup(instance);
	new_token(c->token);
	c->curl = curl_handle(c);
	if (!c->curl) {
		snprintf(err, errlen, "cannot create an HTTP client (libcurl)");
		goto out_free;
	}
	if (seg && !seg->whole)
		body = register_body(c, seg->text, seg->sequence, options, thr, nthr);
	else
		body = register_body(c, NULL, NULL, options, thr, nthr);
	rc = barrier(c, body, timeout_us, start_wall_us, err, errlen);
	if (rc == -2)
		leave(c, 105);
	if (rc < 0)
		goto out_free;
	json_t *alive = json_pack("{ssss}", "instance", c->instance, "token", c->token);
	c->alive = json_dumps(alive, JSON_COMPACT); /* NULL: a GET, which says nothing more */
	json_decref(alive);
	if (pthread_create(&c->thread, NULL, sender_main, c) != 0) {
		snprintf(err, errlen, "cannot start the coordinator client's thread");
		leave(c, 104);
		rc = -1;
		goto out_free;
	}
	c->thread_started = true;
	free(body);
	*out = c;
	return 0;
out_free:
	free(body);
	client_free(c);
	return rc;
}

int coord_client_start(const char *url, const char *instance, const struct threshold *thr, int nthr,
                       int64_t timeout_us, struct coord_client **out, int64_t *start_wall_us,
                       char *err, size_t errlen)
{
	struct exec_segment es;
	char why[256];
	/* `run` names a segmented instance by its segment, FROM:TO; the sequence is not known */
	if (!strchr(instance, ':') || exec_segment_init(&es, instance, NULL, why, sizeof(why)) < 0)
		es = (struct exec_segment){ .whole = true };
	free(es.sequence);
	es.sequence = NULL;
	int r = coord_client_start_segment(url, instance, &es, NULL, thr, nthr, timeout_us, out,
	                                   start_wall_us, err, errlen);
	exec_segment_free(&es);
	return r;
}

/* --- intervals ------------------------------------------------------------------- */

static bool has_tags(const struct result_sample *s, const struct csel *sel)
{
	for (int k = 0; k < sel->ntags; k++) {
		bool found = false;
		for (int j = 0; j < s->ntags && !found; j++)
			found = !strcmp(s->tags[j].key, sel->tags[k].key) &&
			        !strcmp(s->tags[j].value, sel->tags[k].value);
		if (!found)
			return false;
	}
	return true;
}

static const char *unit_name(enum result_unit u)
{
	return u == RU_TIME ? "time" : u == RU_BYTES ? "bytes" : u == RU_MILLI ? "milli" : "none";
}

/* The selection's values in one interval: every matching series together, or null. */
static json_t *selection_json(const struct csel *sel, const struct result_interval *iv)
{
	const struct result_sample *first = NULL, *latest = NULL;
	struct result_values v = { 0 };
	struct hdr *h = NULL;
	for (int i = 0; i < iv->nsamples; i++) {
		const struct result_sample *s = &iv->samples[i];
		if (!s->v.any || strcmp(s->metric, sel->metric) || !has_tags(s, sel))
			continue;
		if (first && s->type != first->type)
			continue;
		if (!first) {
			first = s;
			v.g_min = s->v.g_min;
			v.g_max = s->v.g_max;
		}
		v.sum += s->v.sum;
		v.nz += s->v.nz;
		v.total += s->v.total;
		v.g_min = MIN(v.g_min, s->v.g_min);
		v.g_max = MAX(v.g_max, s->v.g_max);
		if (!latest || s->v.g_seq >= latest->v.g_seq)
			latest = s;
		if (s->type == MT_TREND && s->v.h && first != s && first->v.h) {
			if (!h && hdr_init(&h, first->v.h->lowest, first->v.h->highest,
			                   first->v.h->sigfigs) == 0)
				hdr_merge(h, first->v.h);
			if (h)
				hdr_merge(h, s->v.h);
		}
	}
	json_t *o = NULL;
	char *enc = NULL;
	if (!first)
		return json_null();
	switch (first->type) {
	case MT_COUNTER:
		o = json_pack("{sssf}", "type", "counter", "sum", v.sum);
		break;
	case MT_RATE:
		o = json_pack("{sssIsI}", "type", "rate", "nz", (json_int_t)v.nz, "total",
		              (json_int_t)v.total);
		break;
	case MT_GAUGE:
		o = json_pack("{sssfsfsf}", "type", "gauge", "last", latest->v.g_last, "min",
		              v.g_min, "max", v.g_max);
		break;
	case MT_TREND:
		if ((h || first->v.h) && hdr_encode(h ? h : first->v.h, &enc) == 0)
			o = json_pack("{ssssss}", "type", "trend", "unit", unit_name(first->unit),
			              "hdr", enc);
		break;
	}
	hdr_free(h);
	free(enc);
	return o ? o : json_null();
}

void coord_client_interval(struct coord_client *c, const struct result_interval *iv)
{
	if (!c || __atomic_load_n(&c->lost, __ATOMIC_ACQUIRE))
		return;
	const struct result_sample *reqs = result_interval_metric(iv, "http_reqs");
	json_t *vals = json_array();
	for (int i = 0; i < c->nsel; i++)
		json_array_append_new(vals, selection_json(&c->sel[i], iv));
	json_t *o = json_pack("{sssssisfsbsfso}", "instance", c->instance, "token", c->token, "t",
	                      (int)iv->t, "length_s", iv->length_s, "final", iv->final, "http_reqs",
	                      reqs && reqs->v.any ? reqs->v.sum : 0.0, "values", vals);
	char *body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!body)
		return;
	pthread_mutex_lock(&c->mu);
	if (c->qlen == QUEUE_MAX) { /* the coordinator is slow: the oldest goes */
		free(c->queue[c->qhead]);
		c->qhead = (c->qhead + 1) % QUEUE_MAX;
		c->qlen--;
		if (!c->drop_warned)
			fprintf(stderr,
			        "stampede: warning: the coordinator at %s is slow: dropping the "
			        "oldest interval snapshots\n",
			        c->base);
		c->drop_warned = true;
	}
	c->queue[(c->qhead + c->qlen++) % QUEUE_MAX] = body;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->mu);
}

/* Send one interval (or ask for the verdict, saying the instance is alive: body NULL);
 * false when the coordinator failed it. */
static bool send_interval(struct coord_client *c, const char *body)
{
	char why[512];
	json_t *ans;
	int64_t give_up = now_us() + RUN_RETRY_US;
	long st;
	/* unanswered (busy, a dropped connection): again, for a few seconds; refused: it is
	 * gone (one that started again would not know this instance) */
	for (;;) {
		st = post(c, body ? "/v1/interval" : "/v1/abort", body ? body : c->alive, &ans, why,
		          sizeof(why));
		bool ending = __atomic_load_n(&c->stop, __ATOMIC_ACQUIRE) &&
		              now_us() >= __atomic_load_n(&c->flush_deadline, __ATOMIC_ACQUIRE);
		if (st >= 0 || c->curl_rc == CURLE_OK || !transient(c->curl_rc, false) ||
		    now_us() >= give_up || ending)
			break;
		json_decref(ans);
		struct timespec ts = { 0, 250 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (st == 200) {
		const char *reason = json_string_value(json_object_get(ans, "abort"));
		if (reason && !__atomic_load_n(&c->abort, __ATOMIC_ACQUIRE))
			__atomic_store_n(&c->abort, xstrdup(reason), __ATOMIC_RELEASE);
		json_decref(ans);
		return true;
	}
	json_decref(ans);
	fprintf(stderr,
	        "stampede: warning: the coordinator at %s failed (%s): the run goes on with "
	        "this instance's own thresholds\n",
	        c->base, why);
	return false;
}

/* The sender thread: the queued intervals in order; between them, every poll_us, the
 * coordinator's verdict (an abort another instance's data caused is learnt before this
 * instance's next second closes). */
static void *sender_main(void *arg)
{
	struct coord_client *c = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals are the run's */
	pthread_mutex_lock(&c->mu);
	for (;;) {
		bool ok;
		while (!c->qlen && !c->stop) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			int64_t ns = ts.tv_nsec + (c->poll_us % USEC_PER_SEC) * 1000;
			ts.tv_sec += c->poll_us / USEC_PER_SEC + ns / 1000000000;
			ts.tv_nsec = ns % 1000000000;
			if (pthread_cond_timedwait(&c->cond, &c->mu, &ts) == ETIMEDOUT &&
			    !c->qlen && !c->stop)
				break;
		}
		if (!c->qlen && !c->stop) { /* idle: ask for the verdict (and say it is alive,
		                             * also once aborted: its results are being written) */
			pthread_mutex_unlock(&c->mu);
			ok = send_interval(c, NULL);
			pthread_mutex_lock(&c->mu);
		} else if (!c->qlen || (c->stop && now_us() > c->flush_deadline)) {
			break;
		} else {
			char *body = c->queue[c->qhead];
			c->qhead = (c->qhead + 1) % QUEUE_MAX;
			c->qlen--;
			pthread_mutex_unlock(&c->mu);
			ok = send_interval(c, body);
			free(body);
			pthread_mutex_lock(&c->mu);
		}
		if (!ok) {
			__atomic_store_n(&c->lost, true, __ATOMIC_RELEASE);
			break;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

const char *coord_client_abort(void *c)
{
	struct coord_client *cc = c;
	return cc ? __atomic_load_n(&cc->abort, __ATOMIC_ACQUIRE) : NULL;
}

int coord_client_mark_abort(struct coord_client *c, struct result *r)
{
	const char *why = coord_client_abort(c);
	char prefix[1200];
	if (!why || !r || !r->aborted || !r->abort_reason || strcmp(r->abort_reason, why))
		return -1; /* the run ended otherwise: its own verdicts stand */
	for (int i = 0; i < r->nthresholds; i++) {
		struct result_threshold *t = &r->thresholds[i];
		size_t n = coord_abort_prefix(t->expr, t->selector, prefix, sizeof(prefix));
		if (!t->abort_on_fail || n >= sizeof(prefix) || strncmp(why, prefix, n))
			continue;
		t->ok = false; /* its value stays this instance's own */
		t->aborted_run = true;
		return i;
	}
	return -1;
}

bool coord_client_judging(void *c)
{
	struct coord_client *cc = c;
	return cc && !__atomic_load_n(&cc->lost, __ATOMIC_ACQUIRE);
}

void coord_client_finish(struct coord_client *c, const struct result *r, int rc)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	__atomic_store_n(&c->flush_deadline, now_us() + FLUSH_US, __ATOMIC_RELEASE);
	__atomic_store_n(&c->stop, true, __ATOMIC_RELEASE);
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->mu);
	if (c->thread_started)
		pthread_join(c->thread, NULL);
	if (!c->lost)
		leave(c, rc);
	client_free(c);
}
