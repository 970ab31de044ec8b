/* coord_server.c: `stampede coordinate`'s state: barrier, instances, thresholds judged on
 * every instance's values together (the protocol is in coord_server.h). */
#include "cli/coord_server.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "engine/segment.h"
#include "metrics/hdr.h"
#include "metrics/threshold.h"
#include "result/result.h"
#include "util/common.h"

/* One threshold's values over some span, every instance's together. */
struct cagg {
	bool any_interval; /* some instance sent an interval (with or without samples) */
	struct result_values v;
	double reqs; /* http_reqs in the span (per_request) */
};

/* A second of the run (windowed thresholds): every instance's values of interval t. */
struct cslot {
	int32_t t; /* -1: unused */
	struct cagg a;
};

/* An instance's latest gauge values of one threshold (the run so far). */
struct cgauge {
	bool any;
	double last, min, max;
};

struct cthr {
	struct threshold t; /* parsed from selector and expr */
	char *source;
	bool typed; /* values have arrived: type and unit known */
	enum metric_type type;
	enum result_unit unit;
	bool additive; /* vus, vus_max: each instance runs its own */
	struct cagg total;
	struct cslot *ring; /* window_s slots, by t mod window_s */
	double gauge_last;  /* the latest gauge value received */
};

/* CI_LOST: silent for COORD_SILENT_US after the start (killed, partitioned): no longer
 * waited for when a second is judged; it is back if it speaks again. */
enum cstate { CI_WAITING, CI_RUNNING, CI_DONE, CI_LOST };

/* An instance's execution segment, as it registered it. */
struct cseg {
	bool on; /* it runs a segment (false: the whole load) */
	struct frac from, to;
	char text[64];  /* "1/3:2/3" */
	char *sequence; /* canonical ("0,1/3,2/3,1"), NULL when the instance did not say */
	int nseq;       /* the sequence's segments (with sequence) */
};

struct cinst {
	char *name, *token;
	struct cseg seg;
	json_t *test; /* what test it runs (options that `merge` compares), or NULL */
	enum cstate state;
	int exit_code;
	int64_t intervals;
	int32_t last_t;
	double end_s;          /* t + length_s of its latest interval */
	int64_t seen_us;       /* its latest request (the barrier forgets a silent one) */
	char *dup_token;       /* the latest token refused as a duplicate of it (said once) */
	struct cgauge *gauges; /* per threshold */
	bool told;             /* it polled the closed barrier: it heard why */
};

/* An instance that registered, then went away before the start (the summary says so). */
struct cgone {
	char *name;
	char *why; /* "left the barrier (exit 105)" */
};

struct coord_server {
	pthread_mutex_t mu;
	int want, n;
	struct cinst *inst;
	int ngone;
	struct cgone *gone; /* by name: the latest departure of each, none registered again */
	int nthr;
	struct cthr *thr; /* the first instance's */
	int64_t start_us;
	double elapsed_s; /* the largest t + length_s of any interval */
	char *closed;     /* why registrations are refused, or NULL */
	char *abort_reason;
};

static const char *const unit_names[] = {
	[RU_NONE] = "none", [RU_TIME] = "time", [RU_BYTES] = "bytes", [RU_MILLI] = "milli"
};

struct coord_server *coord_server_new(int instances)
{
	struct coord_server *s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->want = instances;
	s->inst = xcalloc((size_t)instances, sizeof(*s->inst));
	return s;
}

static void cagg_free(struct cagg *a)
{
	hdr_free(a->v.h);
	memset(a, 0, sizeof(*a));
}

static void thresholds_free(struct cthr *thr, int n)
{
	for (int i = 0; i < n; i++) {
		threshold_free(&thr[i].t);
		free(thr[i].source);
		cagg_free(&thr[i].total);
		for (int k = 0; thr[i].ring && k < thr[i].t.window_s; k++)
			cagg_free(&thr[i].ring[k].a);
		free(thr[i].ring);
	}
	free(thr);
}

static void cinst_free(struct cinst *in)
{
	free(in->name);
	free(in->token);
	free(in->dup_token);
	free(in->seg.sequence);
	json_decref(in->test);
	free(in->gauges);
}

/* Forget name's departure (it registers again). */
static void unforget(struct coord_server *s, const char *name)
{
	for (int i = 0; i < s->ngone; i++)
		if (!strcmp(s->gone[i].name, name)) {
			free(s->gone[i].name);
			free(s->gone[i].why);
			s->gone[i] = s->gone[--s->ngone];
			return;
		}
}

/* Remove instance k (before the start: it left or was forgotten, why says which); the next
 * first instance sets the thresholds when none is left. */
static void remove_instance(struct coord_server *s, int k, const char *why)
{
	unforget(s, s->inst[k].name);
	s->gone = xrealloc(s->gone, sizeof(*s->gone) * (size_t)(s->ngone + 1));
	s->gone[s->ngone++] = (struct cgone){ xstrdup(s->inst[k].name), xstrdup(why) };
	cinst_free(&s->inst[k]);
	memmove(&s->inst[k], &s->inst[k + 1], sizeof(*s->inst) * (size_t)(s->n - k - 1));
	if (--s->n == 0) {
		thresholds_free(s->thr, s->nthr);
		s->thr = NULL;
		s->nthr = 0;
	}
}

void coord_server_free(struct coord_server *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++)
		cinst_free(&s->inst[i]);
	free(s->inst);
	for (int i = 0; i < s->ngone; i++) {
		free(s->gone[i].name);
		free(s->gone[i].why);
	}
	free(s->gone);
	thresholds_free(s->thr, s->nthr);
	free(s->closed);
	free(s->abort_reason);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static json_t *error_json(int *status, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *error_json(int *status, int code, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*status = code;
	return json_pack("{ss}", "error", buf);
}

/* --- registration: the barrier ----------------------------------------------------- */

/* A JSON string member of at most max bytes, printable, or NULL. */
static const char *member_str(json_t *o, const char *key, size_t max)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);
	if (!s || !*s || json_string_length(v) > max || strlen(s) != json_string_length(v))
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return NULL;
	return s;
}

/* Parse the thresholds of a registration into *out (n of them). Returns 0, or -1 with a
 * reason in err. */
static int parse_thresholds(json_t *arr, struct cthr **out, int *n, char *err, size_t errlen)
{
	size_t cnt = json_array_size(arr);
	if (!json_is_array(arr)) {
		snprintf(err, errlen, "'thresholds' must be an array");
		return -1;
	}
	if (cnt > COORD_THRESHOLDS_MAX) {
		snprintf(err, errlen, "%zu abort-on-fail thresholds: at most %d", cnt,
		         COORD_THRESHOLDS_MAX);
		return -1;
	}
	struct cthr *thr = xcalloc(MAX(cnt, 1), sizeof(*thr));
	for (size_t i = 0; i < cnt; i++) {
		json_t *o = json_array_get(arr, i);
		const char *src = member_str(o, "source", 1024);
		const char *sel = member_str(o, "selector", 1024);
		const char *expr = member_str(o, "expr", 1024);
		json_t *delay = json_object_get(o, "delay_abort_ms");
		json_t *win = json_object_get(o, "window_s");
		char perr[256];
		if (!src || !sel || !expr || !json_is_integer(delay) || !json_is_integer(win) ||
		    json_integer_value(delay) < 0 || json_integer_value(delay) > INT32_MAX ||
		    json_integer_value(win) < 0 || json_integer_value(win) > COORD_WINDOW_MAX_S) {
			snprintf(err, errlen,
			         "thresholds[%zu]: expected source, selector, expr, delay_abort_ms "
			         "and window_s (0..%d)",
			         i, COORD_WINDOW_MAX_S);
			goto out_free;
		}
		if (threshold_parse_parts(sel, expr, &thr[i].t, perr, sizeof(perr)) < 0) {
			snprintf(err, errlen, "thresholds[%zu] '%s': %s", i, src, perr);
			goto out_free;
		}
		thr[i].source = xstrdup(src);
		thr[i].t.abort_on_fail = true;
		thr[i].t.delay_abort_us = json_integer_value(delay) * 1000;
		thr[i].t.window_s = (int)json_integer_value(win);
		thr[i].additive =
		    !strcmp(thr[i].t.metric, "vus") || !strcmp(thr[i].t.metric, "vus_max");
		if (thr[i].t.window_s > 0) {
			thr[i].ring = xcalloc((size_t)thr[i].t.window_s, sizeof(*thr[i].ring));
			for (int k = 0; k < thr[i].t.window_s; k++)
				thr[i].ring[k].t = -1;
		}
	}
	*n = (int)cnt;
	*out = thr;
	return 0;
out_free:
	thresholds_free(thr, (int)cnt); /* zeroed entries are fine */
	return -1;
}

/* Whether a and b are the same abort thresholds; else a reason in err. */
static bool same_thresholds(const struct cthr *a, int na, const struct cthr *b, int nb, char *err,
                            size_t errlen)
{
	if (na != nb) {
		snprintf(err, errlen, "%d abort-on-fail threshold%s, the first instance's %d", nb,
		         nb == 1 ? "" : "s", na);
		return false;
	}
	for (int i = 0; i < na; i++) {
		const struct threshold *x = &a[i].t, *y = &b[i].t;
		if (strcmp(x->selector, y->selector) || strcmp(x->expr, y->expr) ||
		    x->delay_abort_us != y->delay_abort_us || x->window_s != y->window_s) {
			snprintf(err, errlen, "threshold %d is '%s', the first instance's '%s'",
			         i + 1, b[i].source, a[i].source);
			return false;
		}
	}
	return true;
}

static int poll_ms(const struct coord_server *s)
{
	return MIN(MAX(s->want / 2, 100), 500);
}

static json_t *barrier_json(const struct coord_server *s, int64_t now)
{
	json_t *o = json_pack("{sisisisI}", "registered", s->n, "instances", s->want, "poll_ms",
	                      poll_ms(s), "now_unix_us", (json_int_t)now);
	if (s->start_us)
		json_object_set_new(o, "start_unix_us", json_integer(s->start_us));
	return o;
}

static struct cinst *find_instance(struct coord_server *s, const char *name)
{
	for (int i = 0; name && i < s->n; i++)
		if (!strcmp(s->inst[i].name, name))
			return &s->inst[i];
	return NULL;
}

/* Before the start, an instance that stopped asking (killed at the barrier) for
 * COORD_SILENT_US is forgotten, so that it may register again (a restarted pod). */
static void forget_silent(struct coord_server *s, int64_t now)
{
	for (int k = 0; !s->start_us && k < s->n;) {
		struct cinst *in = &s->inst[k];
		if (!in->seen_us || now - in->seen_us <= COORD_SILENT_US) {
			k++;
			continue;
		}
		fprintf(stderr,
		        "stampede: coordinate: '%s' stopped asking at the barrier: forgotten\n",
		        in->name);
		remove_instance(s, k, "stopped asking at the barrier: forgotten");
	}
}

/* --- registration: one test (the checks of `stampede merge`, result/merge.c) ------------ */

/* The segment a registration names ("segment": "FROM:TO", "sequence": its points; both
 * optional) into *out. Returns 0, or -1 with the reason in err (malformed). */
static int parse_segment(json_t *req, struct cseg *out, char *err, size_t errlen)
{
	json_t *js = json_object_get(req, "segment"), *jq = json_object_get(req, "sequence");
	struct exec_segment es;
	char why[300];
	*out = (struct cseg){ 0 };
	if (!js || json_is_null(js))
		return 0;
	const char *seg = member_str(req, "segment", 63);
	const char *seq = jq && !json_is_null(jq) ? member_str(req, "sequence", 32768) : NULL;
	if (!seg || (jq && !json_is_null(jq) && !seq)) {
		snprintf(err, errlen,
		         "'segment' and 'sequence' must be strings such as \"1/3:2/3\" "
		         "and \"0,1/3,2/3,1\"");
		return -1;
	}
	if (exec_segment_init(&es, seg, seq, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	out->on = !es.whole;
	out->from = es.from;
	out->to = es.to;
	snprintf(out->text, sizeof(out->text), "%s", es.text);
	if (seq) { /* the canonical text: sequences written differently compare equal */
		out->sequence = es.sequence;
		out->nseq = es.nseq;
		es.sequence = NULL;
	}
	exec_segment_free(&es);
	return 0;
}

static bool frac_less(struct frac a, struct frac b)
{
	return (__int128)a.num * b.den < (__int128)b.num * a.den;
}

/* Whether an instance `name` with segment g would be one test with those registered:
 * one segment per segment of its sequence (--instances), the same sequence, no segments
 * overlapping, not segmented and unsegmented mixed. False with the reason in err. */
static bool one_test(const struct coord_server *s, const char *name, const struct cseg *g,
                     char *err, size_t errlen)
{
	if (g->sequence && g->nseq != s->want) {
		snprintf(err, errlen,
		         "its execution segment sequence %.200s has %d segment%s but the "
		         "coordinator waits for %d instance%s (--instances): run one instance per "
		         "segment, or the run is not the whole test",
		         g->sequence, g->nseq, g->nseq == 1 ? "" : "s", s->want,
		         s->want == 1 ? "" : "s");
		return false;
	}
	for (int k = 0; k < s->n; k++) {
		const struct cinst *o = &s->inst[k];
		if (o->seg.on != g->on) {
			const struct cinst *a = g->on ? NULL : o;
			snprintf(
			    err, errlen,
			    "'%s' runs a segment of the load (%s) but '%s' does not: the "
			    "instances of one run either all run a segment (--execution-segment) "
			    "or none does",
			    a ? a->name : name, a ? a->seg.text : g->text, a ? name : o->name);
			return false;
		}
		if (g->sequence && o->seg.sequence && strcmp(g->sequence, o->seg.sequence)) {
			snprintf(
			    err, errlen,
			    "it runs with the segment sequence %.200s but '%s' with %.200s: the "
			    "shares of different sequences do not add up to the whole load; run "
			    "every instance with the same --execution-segment-sequence",
			    g->sequence, o->name, o->seg.sequence);
			return false;
		}
		if (g->on && frac_less(g->from, o->seg.to) && frac_less(o->seg.from, g->to)) {
			snprintf(
			    err, errlen,
			    "its segment %s overlaps '%s''s (%s): the load would run twice there",
			    g->text, o->name, o->seg.text);
			return false;
		}
	}
	return true;
}

/* A refused registration: said on stderr with its reason, answered with status. */
static json_t *refuse(int *status, int code, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static json_t *refuse(int *status, int code, const char *name, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (name)
		fprintf(stderr, "stampede: coordinate: refused '%s': %s\n", name, buf);
	else
		fprintf(stderr, "stampede: coordinate: refused a registration: %s\n", buf);
	return error_json(status, code, "%s", buf);
}

/* The first option in which tests a and b differ, or NULL: a's keys, then b's others. */
static const char *test_difference(json_t *a, json_t *b)
{
	const char *key;
	json_t *v;
	json_object_foreach(
	    a, key, v) if (!result_same_test_option(key, v, json_object_get(b, key))) return key;
	json_object_foreach(b, key, v) if (!json_object_get(a, key) &&
	                                   !result_same_test_option(key, NULL, v)) return key;
	return NULL;
}

/* Whether an instance `name` running test (NULL: it did not say) runs the first
 * registered instance's test; false with the reason in err, in `stampede merge`'s words. */
static bool same_test(const struct coord_server *s, const char *name, json_t *test, char *err,
                      size_t errlen)
{
	const struct cinst *first = s->n ? &s->inst[0] : NULL;
	const char *key = first && first->test && test ? test_difference(first->test, test) : NULL;
	if (!key)
		return true;
	json_t *a = json_object_get(first->test, key), *b = json_object_get(test, key);
	char *sa = a ? json_dumps(a, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	char *sb = b ? json_dumps(b, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	snprintf(err, errlen,
	         "'%s' and '%s' run different tests (options.%s: %.120s and %.120s): "
	         "options.%s differs from the first instance's; every instance must run the "
	         "same test, as `stampede merge` would refuse their parts",
	         first->name, name, key, sa ? sa : "(none)", sb ? sb : "(none)", key);
	free(sa);
	free(sb);
	return false;
}

/* The test a registration says it runs ("test": an object of options, optional) into
 * *out (new reference, or NULL). Returns 0, or -1 when it is not an object. */
static int parse_test(json_t *req, json_t **out)
{
	json_t *t = json_object_get(req, "test");
	*out = NULL;
	if (!t || json_is_null(t))
		return 0;
	if (!json_is_object(t))
		return -1;
	*out = json_incref(t);
	return 0;
}

/* A registration of in's name with another token: 409 {error, duplicate: true, silent_ms
 * (how long in has been silent)}. The client asks again while in may be an earlier process
 * of its own that is not forgotten yet (killed at the barrier, restarted), so the refusal
 * is said on stderr once per token. */
static json_t *refuse_duplicate(struct cinst *in, const char *token, int64_t now, int *status)
{
	char buf[600];
	json_t *ans;
	snprintf(buf, sizeof(buf),
	         "instance '%s' has registered already (another process): each instance needs "
	         "its own name (its --execution-segment)",
	         in->name);
	if (!in->dup_token || strcmp(in->dup_token, token)) {
		free(in->dup_token);
		in->dup_token = xstrdup(token);
		fprintf(stderr, "stampede: coordinate: refused '%s': %s\n", in->name, buf);
	}
	ans = error_json(status, 409, "%s", buf);
	json_object_set_new(ans, "duplicate", json_true());
	json_object_set_new(ans, "silent_ms", json_integer(MAX(now - in->seen_us, 0) / 1000));
	return ans;
}

static json_t *do_register(struct coord_server *s, json_t *req, int64_t now, int *status)
{
	const char *name = member_str(req, "instance", COORD_NAME_MAX);
	const char *token = member_str(req, "token", 64);
	char err[1024];
	if (!name || !token)
		return refuse(status, 400, NULL,
		              "expected 'instance' (1..%d printable bytes) and 'token'",
		              COORD_NAME_MAX);
	forget_silent(s, now);
	struct cinst *in = find_instance(s, name);
	if (in && !strcmp(in->token, token)) { /* the same process, polling */
		in->seen_us = now;
		if (s->closed && !s->start_us) {
			in->told = true;
			return error_json(status, 503, "%s", s->closed);
		}
		*status = 200;
		return barrier_json(s, now);
	}
	if (in)
		return refuse_duplicate(in, token, now, status);
	if (s->closed)
		return refuse(status, 503, name, "%s", s->closed);
	if (s->n == s->want)
		return refuse(status, 409, name,
		              "the coordinator waits for %d instance%s and has them all: '%s' "
		              "is one too many",
		              s->want, s->want == 1 ? "" : "s", name);
	struct cseg seg;
	json_t *test;
	if (parse_segment(req, &seg, err, sizeof(err)) < 0)
		return refuse(status, 400, name, "%s", err);
	if (parse_test(req, &test) < 0) {
		free(seg.sequence);
		return refuse(status, 400, name, "'test' must be an object of options");
	}
	if (!one_test(s, name, &seg, err, sizeof(err)) ||
	    !same_test(s, name, test, err, sizeof(err))) {
		free(seg.sequence);
		json_decref(test);
		return refuse(status, 409, name, "%s", err);
	}
	struct cthr *thr = NULL;
	int nthr = 0;
	if (parse_thresholds(json_object_get(req, "thresholds"), &thr, &nthr, err, sizeof(err)) <
	    0) {
		free(seg.sequence);
		json_decref(test);
		return refuse(status, 400, name, "%s", err);
	}
	if (s->n == 0) {
		s->thr = thr;
		s->nthr = nthr;
	} else {
		bool same = same_thresholds(s->thr, s->nthr, thr, nthr, err, sizeof(err));
		thresholds_free(thr, nthr);
		if (!same) {
			free(seg.sequence);
			json_decref(test);
			return refuse(status, 409, name,
			              "other abort-on-fail thresholds than the first instance's "
			              "('%s'): %s; every instance must run the same test",
			              s->inst[0].name, err);
		}
	}
	in = &s->inst[s->n++];
	*in = (struct cinst){ .name = xstrdup(name),
		              .token = xstrdup(token),
		              .seg = seg,
		              .test = test,
		              .last_t = -1,
		              .seen_us = now,
		              .gauges = xcalloc((size_t)MAX(s->nthr, 1), sizeof(*in->gauges)) };
	unforget(s, name);
	fprintf(stderr, "stampede: coordinate: '%s' registered (%d of %d)\n", name, s->n, s->want);
	if (s->n == s->want) {
		s->start_us = now + COORD_START_DELAY_US;
		fprintf(stderr,
		        "stampede: coordinate: every instance is ready; the run starts in %.1fs\n",
		        (double)COORD_START_DELAY_US / 1e6);
	}
	*status = 200;
	return barrier_json(s, now);
}

/* --- intervals: values, totals, windows, the verdict ---------------------------- */

/* One threshold's values in one instance's interval. */
struct cval {
	bool any;
	enum metric_type type;
	enum result_unit unit;
	struct result_values v; /* v.h owned */
};

static bool finite_member(json_t *o, const char *key, double *out)
{
	json_t *v = json_object_get(o, key);
	*out = json_number_value(v);
	return json_is_number(v) && isfinite(*out);
}

static int parse_value(json_t *o, struct cval *out, char *err, size_t errlen)
{
	const char *type = json_string_value(json_object_get(o, "type"));
	*out = (struct cval){ 0 };
	if (json_is_null(o))
		return 0;
	out->any = true;
	out->v.any = true;
	if (type && !strcmp(type, "counter")) {
		out->type = MT_COUNTER;
		if (finite_member(o, "sum", &out->v.sum))
			return 0;
	} else if (type && !strcmp(type, "rate")) {
		json_t *nz = json_object_get(o, "nz"), *tot = json_object_get(o, "total");
		out->type = MT_RATE;
		out->v.nz = json_integer_value(nz);
		out->v.total = json_integer_value(tot);
		if (json_is_integer(nz) && json_is_integer(tot) && out->v.nz >= 0 &&
		    out->v.nz <= out->v.total && out->v.total <= (INT64_C(1) << 53))
			return 0;
	} else if (type && !strcmp(type, "gauge")) {
		out->type = MT_GAUGE;
		if (finite_member(o, "last", &out->v.g_last) &&
		    finite_member(o, "min", &out->v.g_min) &&
		    finite_member(o, "max", &out->v.g_max))
			return 0;
	} else if (type && !strcmp(type, "trend")) {
		const char *unit = json_string_value(json_object_get(o, "unit"));
		json_t *h = json_object_get(o, "hdr");
		out->type = MT_TREND;
		out->unit = RU_NONE;
		for (size_t u = 0; unit && u < ARRAY_SIZE(unit_names); u++)
			if (!strcmp(unit, unit_names[u]))
				out->unit = (enum result_unit)u, unit = NULL;
		if (!unit && json_is_string(h) &&
		    hdr_decode(json_string_value(h), json_string_length(h), &out->v.h) == 0)
			return 0;
	}
	snprintf(err, errlen,
	         "expected null or {type: counter, sum}, {type: rate, nz, total}, {type: "
	         "trend, unit, hdr} or {type: gauge, last, min, max}");
	return -1;
}

/* a + b for counts (b >= 0): INT64_MAX past it, not a signed overflow (each interval's
 * counts are at most 2^53, their sums are not bounded: a hostile client sends many). */
static int64_t count_add(int64_t a, int64_t b)
{
	int64_t r;
	return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

/* Add one instance's interval values to a (a slot: gauges of additive metrics add up). */
static void cagg_add(struct cagg *a, const struct cval *cv, bool additive, double reqs)
{
	struct result_values *v = &a->v;
	a->any_interval = true;
	a->reqs += reqs;
	if (!cv->any)
		return;
	v->type = cv->type;
	switch (cv->type) {
	case MT_COUNTER:
		v->sum += cv->v.sum;
		break;
	case MT_RATE:
		v->nz = count_add(v->nz, cv->v.nz); /* saturated: nz <= total still */
		v->total = count_add(v->total, cv->v.total);
		break;
	case MT_TREND:
		if (!cv->v.h ||
		    (!v->h && hdr_init(&v->h, cv->v.h->lowest, cv->v.h->highest, cv->v.h->sigfigs)))
			return;
		/* saturated: a histogram whose count would pass INT64_MAX is not added (its
		 * buckets hold at most its count: none of them overflows either) */
		if (cv->v.h->total_count <= INT64_MAX - v->h->total_count)
			hdr_merge(v->h, cv->v.h);
		break;
	case MT_GAUGE:
		if (additive && v->any) {
			v->g_last += cv->v.g_last;
			v->g_min += cv->v.g_min;
			v->g_max += cv->v.g_max;
		} else {
			v->g_last = cv->v.g_last;
			v->g_min = v->any ? MIN(v->g_min, cv->v.g_min) : cv->v.g_min;
			v->g_max = v->any ? MAX(v->g_max, cv->v.g_max) : cv->v.g_max;
		}
		break;
	}
	v->any = true;
}

static void apply_value(struct coord_server *s, struct cthr *ct, struct cinst *in, int i, int32_t t,
                        const struct cval *cv, double reqs)
{
	if (cv->any && !ct->typed) {
		if (threshold_check_type(&ct->t, cv->type))
			return; /* the instances checked it: another metric of that name */
		ct->typed = true;
		ct->type = cv->type;
		ct->unit = cv->type == MT_TREND ? cv->unit : RU_NONE;
	}
	if (cv->any && (cv->type != ct->type || (ct->type == MT_TREND && cv->unit != ct->unit)))
		return;                        /* inconsistent instances: ignored */
	if (cv->any && cv->type == MT_GAUGE) { /* the run so far: from each one's latest */
		struct cgauge *g = &in->gauges[i];
		g->min = g->any ? MIN(g->min, cv->v.g_min) : cv->v.g_min;
		g->max = g->any ? MAX(g->max, cv->v.g_max) : cv->v.g_max;
		g->last = cv->v.g_last;
		g->any = true;
		ct->gauge_last = cv->v.g_last;
		ct->total.any_interval = true;
		ct->total.v.any = true;
	} else {
		cagg_add(&ct->total, cv, ct->additive, reqs);
	}
	if (ct->t.window_s <= 0)
		return;
	struct cslot *sl = &ct->ring[t % ct->t.window_s];
	if (sl->t > t)
		return; /* older than the window */
	if (sl->t < t) {
		cagg_free(&sl->a);
		sl->t = t;
	}
	cagg_add(&sl->a, cv, ct->additive, reqs);
}

/* The run-so-far gauge of every instance's latest values. */
static void total_gauge(const struct coord_server *s, int i, struct result_values *v)
{
	const struct cthr *ct = &s->thr[i];
	bool any = false;
	*v = (struct result_values){ .type = MT_GAUGE, .g_last = ct->gauge_last };
	for (int k = 0; k < s->n; k++) {
		const struct cgauge *g = &s->inst[k].gauges[i];
		if (!g->any)
			continue;
		if (ct->additive) {
			v->g_last = (any ? v->g_last : 0) + g->last;
			v->g_min = (any ? v->g_min : 0) + g->min;
			v->g_max = (any ? v->g_max : 0) + g->max;
		} else {
			v->g_min = any ? MIN(v->g_min, g->min) : g->min;
			v->g_max = any ? MAX(v->g_max, g->max) : g->max;
		}
		any = true;
	}
	v->any = any;
}

/* A threshold's value on values v of duration_s seconds (k6's rules, as the run's). */
static double value_of(const struct cthr *ct, struct result_values *v, double reqs,
                       double duration_s)
{
	char stat[32];
	double x;
	v->type = ct->type;
	if (ct->t.agg == THR_PER_REQUEST)
		return ct->type == MT_COUNTER && reqs > 0 ? (v->any ? v->sum : 0) / reqs : NAN;
	if (!v->any)
		return ct->type == MT_COUNTER || ct->type == MT_RATE ? 0 : NAN;
	threshold_agg_name(&ct->t, stat, sizeof(stat));
	return result_stat(v, ct->unit, stat, duration_s, &x) ? x : NAN;
}

/* The value over the last window_s seconds that arrived; the run so far without any. */
static double window_value(const struct coord_server *s, int i, bool *used)
{
	const struct cthr *ct = &s->thr[i];
	int32_t last = -1;
	struct cagg w = { 0 };
	struct cval cv = { 0 };
	int covered = 0;
	for (int k = 0; k < ct->t.window_s; k++)
		last = MAX(last, ct->ring[k].t);
	const struct cslot *newest = NULL;
	for (int k = 0; k < ct->t.window_s; k++) {
		const struct cslot *sl = &ct->ring[k];
		if (sl->t < 0 || sl->t <= last - ct->t.window_s)
			continue;
		covered++;
		if (sl->t == last)
			newest = sl;
		cv = (struct cval){ .any = sl->a.v.any, .type = ct->type, .v = sl->a.v };
		cagg_add(&w, &cv, false, sl->a.reqs);
	}
	if (ct->type == MT_GAUGE && newest && newest->a.v.any) /* the newest second's value */
		w.v.g_last = newest->a.v.g_last;
	*used = covered > 0;
	double v = covered ? value_of(ct, &w.v, w.reqs, covered) : NAN;
	cagg_free(&w);
	return v;
}

static double threshold_value(struct coord_server *s, int i)
{
	struct cthr *ct = &s->thr[i];
	bool used = false;
	if (ct->t.window_s > 0) {
		double v = window_value(s, i, &used);
		if (used)
			return v;
	}
	if (ct->type != MT_GAUGE)
		return value_of(ct, &ct->total.v, ct->total.reqs, s->elapsed_s);
	struct result_values g;
	total_gauge(s, i, &g);
	return value_of(ct, &g, 0, s->elapsed_s);
}

static int lost_count(const struct coord_server *s)
{
	int n = 0;
	for (int k = 0; k < s->n; k++)
		n += s->inst[k].state == CI_LOST;
	return n;
}

/* Judge every abort threshold whose delay has passed; the first failure aborts the run. */
static void evaluate(struct coord_server *s)
{
	for (int i = 0; i < s->nthr && !s->abort_reason; i++) {
		struct cthr *ct = &s->thr[i];
		if (!ct->typed || s->elapsed_s * 1e6 < (double)ct->t.delay_abort_us)
			continue;
		double v = threshold_value(s, i);
		if (threshold_compare(&ct->t, v))
			continue;
		char buf[600], what[500], lost[40] = "";
		int nlost = lost_count(s);
		if (nlost)
			snprintf(lost, sizeof(lost), " (%d lost)", nlost);
		coord_abort_prefix(ct->t.expr, ct->t.selector, what, sizeof(what));
		snprintf(buf, sizeof(buf), "%s%d instance%s%s after %.1fs", what, s->n,
		         s->n == 1 ? "" : "s", lost, s->elapsed_s);
		s->abort_reason = xstrdup(buf);
		fprintf(stderr, "stampede: coordinate: aborting the run: %s (value %g)\n", buf, v);
	}
}

size_t coord_abort_prefix(const char *expr, const char *selector, char *buf, size_t len)
{
	int n = snprintf(buf, len, "threshold '%s' on %s failed across ", expr, selector);
	return n < 0 ? 0 : (size_t)n;
}

static json_t *abort_json(const struct coord_server *s)
{
	return json_pack("{so}", "abort",
	                 s->abort_reason ? json_string(s->abort_reason) : json_null());
}

/* The instance a request names, with its token; NULL with *err (the answer) otherwise. */
static struct cinst *request_instance(struct coord_server *s, json_t *req, int64_t now, int *status,
                                      json_t **err)
{
	const char *name = member_str(req, "instance", COORD_NAME_MAX);
	const char *token = member_str(req, "token", 64);
	struct cinst *in = find_instance(s, name);
	if (!in || !token || strcmp(in->token, token)) {
		*err = error_json(status, 404, "unknown instance '%s' (not registered here)",
		                  name ? name : "?");
		return NULL;
	}
	in->seen_us = now;
	return in;
}

/* Whether every instance still running (not done, not lost) has sent the same latest second: only then are
 * the totals those of one moment of the whole run (judged earlier, a second that only the
 * fastest instance has sent would be divided among all of them). */
static bool in_step(const struct coord_server *s)
{
	int32_t top = INT32_MIN;
	for (int k = 0; k < s->n; k++)
		if (s->inst[k].intervals && s->inst[k].state != CI_LOST)
			top = MAX(top, s->inst[k].last_t);
	for (int k = 0; k < s->n; k++) {
		const struct cinst *in = &s->inst[k];
		if (in->state != CI_DONE && in->state != CI_LOST &&
		    (!in->intervals || in->last_t < top))
			return false;
	}
	return true;
}

static json_t *do_interval(struct coord_server *s, json_t *req, int64_t now, int *status)
{
	json_t *err = NULL, *vals = json_object_get(req, "values");
	struct cinst *in = request_instance(s, req, now, status, &err);
	json_t *jt = json_object_get(req, "t");
	double len, reqs;
	char why[300];
	if (!in)
		return err;
	if (!s->start_us)
		return error_json(status, 409, "the run has not started: the barrier waits");
	if (!json_is_integer(jt) || json_integer_value(jt) < 0 ||
	    json_integer_value(jt) > 100000000 || !finite_member(req, "length_s", &len) ||
	    len < 0 || len > 10 || !finite_member(req, "http_reqs", &reqs) || reqs < 0 ||
	    json_array_size(vals) != (size_t)s->nthr)
		return error_json(status, 400,
		                  "expected t (seconds), length_s, http_reqs and values (%d)",
		                  s->nthr);
	struct cval *cv = xcalloc((size_t)MAX(s->nthr, 1), sizeof(*cv));
	int i;
	for (i = 0; i < s->nthr; i++)
		if (parse_value(json_array_get(vals, i), &cv[i], why, sizeof(why)) < 0)
			break;
	if (i == s->nthr) {
		int32_t t = (int32_t)json_integer_value(jt);
		if (in->state == CI_LOST) /* it speaks again: its seconds are waited for again */
			fprintf(
			    stderr,
			    "stampede: coordinate: '%s' is back (t=%ds): judged with the others "
			    "again\n",
			    in->name, (int)t);
		if (in->state != CI_DONE)
			in->state = CI_RUNNING;
		in->intervals++;
		in->last_t = MAX(in->last_t, t);
		in->end_s = MAX(in->end_s, t + len);
		s->elapsed_s = MAX(s->elapsed_s, in->end_s);
		for (int k = 0; k < s->nthr; k++)
			apply_value(s, &s->thr[k], in, k, t, &cv[k], reqs);
		if (!s->abort_reason && in_step(s))
			evaluate(s);
		*status = 200;
	}
	for (int k = 0; k < s->nthr; k++)
		hdr_free(cv[k].v.h);
	free(cv);
	if (i < s->nthr)
		return error_json(status, 400, "values[%d]: %s", i, why);
	return abort_json(s);
}

static json_t *do_done(struct coord_server *s, json_t *req, int64_t now, int *status)
{
	json_t *err = NULL, *rc = json_object_get(req, "exit_code");
	struct cinst *in = request_instance(s, req, now, status, &err);
	if (!in)
		return err;
	if (!json_is_integer(rc) || json_integer_value(rc) < 0 || json_integer_value(rc) > 255)
		return error_json(status, 400, "expected exit_code (0..255)");
	if (!s->start_us) { /* it leaves the barrier: another may take its place */
		int k = (int)(in - s->inst);
		char why[64];
		snprintf(why, sizeof(why), "left the barrier (exit %d)",
		         (int)json_integer_value(rc));
		fprintf(stderr, "stampede: coordinate: '%s' %s\n", in->name, why);
		remove_instance(s, k, why);
		*status = 200;
		return abort_json(s);
	}
	if (in->state == CI_DONE) { /* said once: the first word stands */
		*status = 200;
		return abort_json(s);
	}
	fprintf(stderr, "stampede: coordinate: '%s' done (exit %d)\n", in->name,
	        (int)json_integer_value(rc));
	in->state = CI_DONE;
	in->exit_code = (int)json_integer_value(rc);
	if (!s->abort_reason && in_step(s)) /* the others' seconds wait no more for it */
		evaluate(s);
	*status = 200;
	return abort_json(s);
}

/* POST /v1/abort: the verdict, to an instance that says it is alive (between intervals). */
static json_t *do_alive(struct coord_server *s, json_t *req, int64_t now, int *status)
{
	json_t *err = NULL;
	if (!request_instance(s, req, now, status, &err))
		return err;
	*status = 200;
	return abort_json(s);
}

/* After the start, an instance not done that has sent nothing for COORD_SILENT_US (killed,
 * cut off: its interval comes every second) is lost: the seconds are judged on the others
 * (else a dead instance would hold every verdict back, and none would abort any more). */
static void drop_silent(struct coord_server *s, int64_t now)
{
	bool dropped = false;
	if (!s->start_us || now < s->start_us)
		return;
	for (int k = 0; k < s->n; k++) {
		struct cinst *in = &s->inst[k];
		int64_t since = MAX(in->seen_us, s->start_us);
		if (in->state == CI_DONE || in->state == CI_LOST || now - since <= COORD_SILENT_US)
			continue;
		in->state = CI_LOST;
		dropped = true;
		fprintf(
		    stderr,
		    "stampede: coordinate: '%s' silent for %.0fs (%s): lost; the thresholds are "
		    "judged on the other instances' data\n",
		    in->name, (double)(now - since) / 1e6,
		    in->intervals ? "no interval since its last" : "no interval at all");
	}
	if (dropped && !s->abort_reason && in_step(s))
		evaluate(s);
}

static json_t *do_status(struct coord_server *s)
{
	json_t *m = json_array();
	for (int i = 0; i < s->n; i++) {
		const struct cinst *in = &s->inst[i];
		json_t *o =
		    json_pack("{sssbsbsisI}", "instance", in->name, "done", in->state == CI_DONE,
		              "lost", in->state == CI_LOST, "exit_code", in->exit_code, "intervals",
		              (json_int_t)in->intervals);
		if (in->seg.on)
			json_object_set_new(o, "segment", json_string(in->seg.text));
		if (in->seg.sequence)
			json_object_set_new(o, "sequence", json_string(in->seg.sequence));
		json_array_append_new(m, o);
	}
	json_t *o =
	    json_pack("{sisisIsfsoso}", "instances", s->want, "registered", s->n, "start_unix_us",
	              (json_int_t)s->start_us, "elapsed_s", s->elapsed_s, "abort",
	              s->abort_reason ? json_string(s->abort_reason) : json_null(), "members", m);
	return o;
}

/* What a JSON value is, with its article ("an array"). */
static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

json_t *coord_server_handle(struct coord_server *s, const char *method, const char *path,
                            const char *body, size_t len, int64_t now_us, int *status)
{
	bool post = !strcmp(method, "POST");
	json_t *req = NULL, *ans;
	json_error_t jerr;
	if ((!strcmp(path, "/v1/status") || !strcmp(path, "/v1/abort")) && !strcmp(method, "GET")) {
		pthread_mutex_lock(&s->mu);
		drop_silent(s, now_us);
		ans = !strcmp(path, "/v1/status") ? do_status(s) : abort_json(s);
		pthread_mutex_unlock(&s->mu);
		*status = 200;
		return ans;
	}
	if (strcmp(path, "/v1/register") && strcmp(path, "/v1/interval") &&
	    strcmp(path, "/v1/done") && strcmp(path, "/v1/abort"))
		return error_json(status, 404,
		                  "no such endpoint (POST /v1/register, /v1/interval, /v1/done, "
		                  "/v1/abort; GET /v1/abort, /v1/status)");
	if (!post)
		return error_json(status, 405, "%s wants POST", path);
	if (len > COORD_BODY_MAX)
		return error_json(status, 413, "a body of at most %d bytes", COORD_BODY_MAX);
	req = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!req)
		return error_json(status, 400, "expected a JSON object: %s", jerr.text);
	if (!json_is_object(req)) {
		ans = error_json(status, 400, "expected a JSON object, got %s", json_kind(req));
		json_decref(req);
		return ans;
	}
	pthread_mutex_lock(&s->mu);
	drop_silent(s, now_us);
	if (!strcmp(path, "/v1/register"))
		ans = do_register(s, req, now_us, status);
	else if (!strcmp(path, "/v1/interval"))
		ans = do_interval(s, req, now_us, status);
	else if (!strcmp(path, "/v1/abort"))
		ans = do_alive(s, req, now_us, status);
	else
		ans = do_done(s, req, now_us, status);
	pthread_mutex_unlock(&s->mu);
	json_decref(req);
	return ans;
}

void coord_server_tick(struct coord_server *s, int64_t now_us)
{
	pthread_mutex_lock(&s->mu);
	forget_silent(s, now_us);
	drop_silent(s, now_us);
	pthread_mutex_unlock(&s->mu);
}

void coord_server_close(struct coord_server *s, const char *reason)
{
	pthread_mutex_lock(&s->mu);
	if (!s->closed)
		s->closed = xstrdup(reason);
	pthread_mutex_unlock(&s->mu);
}

bool coord_server_all_told(struct coord_server *s)
{
	pthread_mutex_lock(&s->mu);
	bool all = true;
	for (int k = 0; k < s->n && all; k++)
		all = s->inst[k].told;
	pthread_mutex_unlock(&s->mu);
	return all;
}

int64_t coord_server_start_us(struct coord_server *s)
{
	pthread_mutex_lock(&s->mu);
	int64_t v = s->start_us;
	pthread_mutex_unlock(&s->mu);
	return v;
}

int coord_server_registered(struct coord_server *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->n;
	pthread_mutex_unlock(&s->mu);
	return n;
}

bool coord_server_all_done(struct coord_server *s)
{
	pthread_mutex_lock(&s->mu);
	bool done = s->n == s->want, some = false;
	for (int i = 0; done && i < s->n; i++) {
		done = s->inst[i].state == CI_DONE || s->inst[i].state == CI_LOST;
		some = some || s->inst[i].state == CI_DONE;
	}
	done = done && some; /* every one lost: the coordinator may be the one cut off */
	pthread_mutex_unlock(&s->mu);
	return done;
}

bool coord_server_aborted(struct coord_server *s)
{
	pthread_mutex_lock(&s->mu);
	bool a = s->abort_reason != NULL;
	pthread_mutex_unlock(&s->mu);
	return a;
}

void coord_server_summary(struct coord_server *s, FILE *f)
{
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->n; i++) {
		const struct cinst *in = &s->inst[i];
		if (in->state == CI_DONE)
			fprintf(f, "  %s: done, exit %d, %lld interval%s\n", in->name,
			        in->exit_code, (long long)in->intervals,
			        in->intervals == 1 ? "" : "s");
		else if (in->state == CI_LOST && in->intervals)
			fprintf(f,
			        "  %s: lost: silent after %lld interval%s (the last t=%ds), judged "
			        "without it since\n",
			        in->name, (long long)in->intervals, in->intervals == 1 ? "" : "s",
			        (int)in->last_t);
		else if (in->state == CI_LOST)
			fprintf(f, "  %s: lost: silent from the start (no interval)\n", in->name);
		else if (!s->start_us)
			fprintf(
			    f, "  %s: registered, waited at the barrier: the run never started%s\n",
			    in->name, in->told ? " (told why)" : "");
		else if (in->intervals)
			fprintf(f, "  %s: no word of its end (%lld interval%s, the last t=%ds)\n",
			        in->name, (long long)in->intervals, in->intervals == 1 ? "" : "s",
			        (int)in->last_t);
		else
			fprintf(f, "  %s: no word of its end (no interval)\n", in->name);
	}
	for (int i = 0; i < s->ngone; i++)
		fprintf(f, "  %s: registered, then %s\n", s->gone[i].name, s->gone[i].why);
	int never = s->want - s->n - s->ngone;
	if (never > 0)
		fprintf(f, "  %d of %d instance%s never registered\n", never, s->want,
		        s->want == 1 ? "" : "s");
	for (int i = 0; i < s->nthr; i++) { /* the values judged, every instance's together */
		const struct cthr *ct = &s->thr[i];
		double v = ct->typed ? threshold_value(s, i) : NAN;
		fprintf(f, "  threshold '%s' on %s: %.15g (%s)\n", ct->t.expr, ct->t.selector, v,
		        !ct->typed                     ? "no data"
		        : threshold_compare(&ct->t, v) ? "ok"
		                                       : "failed");
	}
	if (s->abort_reason)
		fprintf(f, "  aborted: %s\n", s->abort_reason);
	pthread_mutex_unlock(&s->mu);
}

int coord_server_incomplete(struct coord_server *s)
{
	int n = 0;
	pthread_mutex_lock(&s->mu);
	for (int k = 0; k < s->n; k++) {
		const struct cinst *in = &s->inst[k];
		int rc = in->exit_code;
		n += in->state != CI_DONE || !in->intervals || (rc != 0 && rc != 99 && rc != 108);
	}
	if (s->n < s->want)
		n += s->want - s->n;
	pthread_mutex_unlock(&s->mu);
	return n;
}
