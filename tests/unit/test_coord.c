/* test_coord.c: unit tests for `stampede coordinate`'s state (cli/coord_server.c): the
 * barrier's refusals and the thresholds judged on every instance's values together. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/coord_server.h"
#include "metrics/hdr.h"

#define NOW 1700000000000000LL

static struct coord_server *srv;

static void setup(void)
{
	srv = NULL;
}

static void teardown(void)
{
	coord_server_free(srv);
}

TestSuite(coord, .init = setup, .fini = teardown);

/* POST body (a JSON text) to path at wall clock now; returns the status, *ans the answer
 * (or NULL). */
static int post_at(const char *path, const char *body, int64_t now, json_t **ans)
{
	int status = 0;
	json_t *a = coord_server_handle(srv, "POST", path, body, strlen(body), now, &status);
	if (ans)
		*ans = a;
	else
		json_decref(a);
	return status;
}

static int post(const char *path, const char *body, json_t **ans)
{
	return post_at(path, body, NOW, ans);
}

static int reg(const char *name, const char *token, const char *thresholds, json_t **ans)
{
	char body[2048];
	snprintf(body, sizeof(body), "{\"instance\":\"%s\",\"token\":\"%s\",\"thresholds\":[%s]}",
	         name, token, thresholds);
	return post("/v1/register", body, ans);
}

/* One threshold: selector, expression, delayAbortEval (ms), window (s). */
static const char *thr(char *buf, size_t n, const char *sel, const char *expr, int delay_ms,
                       int window_s)
{
	snprintf(buf, n,
	         "{\"source\":\"%s: %s\",\"selector\":\"%s\",\"expr\":\"%s\",\"delay_abort_ms\":%d,"
	         "\"window_s\":%d}",
	         sel, expr, sel, expr, delay_ms, window_s);
	return buf;
}

/* An interval of instance name at t with values (a JSON array's contents). */
static int interval(const char *name, int t, double reqs, const char *values, json_t **ans)
{
	char body[8192];
	snprintf(body, sizeof(body),
	         "{\"instance\":\"%s\",\"token\":\"tok-%s\",\"t\":%d,\"length_s\":1,"
	         "\"http_reqs\":%g,\"values\":[%s]}",
	         name, name, t, reqs, values);
	return post("/v1/interval", body, ans);
}

static const char *abort_of(json_t *ans)
{
	return json_string_value(json_object_get(ans, "abort"));
}

/* N instances "i0".. registered with one threshold; the start fixed. */
static void start(int n, const char *sel, const char *expr, int delay_ms, int window_s)
{
	char t[512], name[32], tok[32];
	srv = coord_server_new(n);
	thr(t, sizeof(t), sel, expr, delay_ms, window_s);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "i%d", i);
		snprintf(tok, sizeof(tok), "tok-i%d", i);
		cr_assert_eq(reg(name, tok, t, NULL), 200);
	}
	cr_assert_eq(coord_server_start_us(srv), NOW + COORD_START_DELAY_US);
}

Test(coord, barrier_and_refusals)
{
	char t1[512], t2[512];
	json_t *ans;
	srv = coord_server_new(2);
	thr(t1, sizeof(t1), "http_reqs", "count<100", 0, 0);
	thr(t2, sizeof(t2), "http_reqs", "count<200", 0, 0);
	cr_assert_eq(reg("a", "ta", t1, &ans), 200);
	cr_assert_eq(json_integer_value(json_object_get(ans, "registered")), 1);
	cr_assert_null(json_object_get(ans, "start_unix_us"));
	json_decref(ans);
	cr_assert_eq(reg("a", "ta", t1, NULL), 200); /* the same process, polling */
	cr_assert_eq(reg("a", "other", t1, &ans), 409);
	cr_assert(strstr(json_string_value(json_object_get(ans, "error")), "registered already"));
	json_decref(ans);
	cr_assert_eq(reg("b", "tb", t2, &ans), 409);
	cr_assert(strstr(json_string_value(json_object_get(ans, "error")),
	                 "other abort-on-fail thresholds"));
	json_decref(ans);
	cr_assert_eq(reg("b", "tb", "", NULL), 409); /* none at all is other thresholds too */
	cr_assert_eq(coord_server_start_us(srv), 0);
	cr_assert_eq(reg("b", "tb", t1, &ans), 200);
	cr_assert_eq(json_integer_value(json_object_get(ans, "start_unix_us")),
	             NOW + COORD_START_DELAY_US);
	json_decref(ans);
	cr_assert_eq(reg("c", "tc", t1, &ans), 409);
	cr_assert(strstr(json_string_value(json_object_get(ans, "error")), "one too many"));
	json_decref(ans);
	cr_assert_eq(coord_server_registered(srv), 2);
}

Test(coord, malformed_requests)
{
	char t[512];
	srv = coord_server_new(1);
	cr_assert_eq(post("/v1/register", "{", NULL), 400);
	cr_assert_eq(post("/v1/register", "[]", NULL), 400);
	cr_assert_eq(post("/v1/register", "{\"instance\":\"a\"}", NULL), 400);
	cr_assert_eq(reg("a", "t", "{\"source\":\"x\"}", NULL), 400);
	thr(t, sizeof(t), "http_reqs", "p(95)<>1", 0, 0);
	cr_assert_eq(reg("a", "t", t, NULL), 400);
	thr(t, sizeof(t), "http_reqs", "count<1", 0, 99999);
	cr_assert_eq(reg("a", "t", t, NULL), 400);
	cr_assert_eq(post("/v1/nothing", "{}", NULL), 404);
	int status;
	json_decref(coord_server_handle(srv, "GET", "/v1/register", NULL, 0, NOW, &status));
	cr_assert_eq(status, 405);
	cr_assert_eq(interval("a", 0, 1, "null", NULL), 404); /* not registered */
	thr(t, sizeof(t), "http_reqs", "count<100", 0, 0);
	cr_assert_eq(reg("a", "tok-a", t, NULL), 200);
	cr_assert_eq(interval("a", 0, 1, "", NULL), 400);          /* one value missing */
	cr_assert_eq(interval("a", 0, 1, "null,null", NULL), 400); /* one too many */
	cr_assert_eq(
	    interval("a", 0, 1, "{\"type\":\"trend\",\"unit\":\"time\",\"hdr\":\"xx\"}", NULL),
	    400);
	cr_assert_eq(interval("a", 0, 1, "{\"type\":\"rate\",\"nz\":5,\"total\":1}", NULL), 400);
	cr_assert_eq(interval("a", -1, 1, "null", NULL), 400);
	cr_assert_eq(interval("a", 0, 1, "null", NULL), 200);
	cr_assert_not(coord_server_aborted(srv));
}

Test(coord, counter_fails_on_the_union)
{
	json_t *ans;
	start(3, "http_reqs", "count<250", 0, 0);
	const char *v = "{\"type\":\"counter\",\"sum\":100}";
	cr_assert_eq(interval("i0", 0, 100, v, &ans), 200);
	cr_assert_null(abort_of(ans));
	json_decref(ans);
	cr_assert_eq(interval("i1", 0, 100, v, NULL), 200);
	cr_assert_not(coord_server_aborted(srv));
	cr_assert_eq(interval("i2", 0, 100, v, &ans), 200);
	cr_assert_str_eq(abort_of(ans),
	                 "threshold 'count<250' on http_reqs failed across 3 instances after 1.0s");
	json_decref(ans);
	/* every later answer carries it, for every instance */
	cr_assert_eq(interval("i0", 1, 100, v, &ans), 200);
	cr_assert_str_eq(abort_of(ans),
	                 "threshold 'count<250' on http_reqs failed across 3 instances after 1.0s");
	json_decref(ans);
	int status;
	ans = coord_server_handle(srv, "GET", "/v1/abort", NULL, 0, NOW, &status);
	cr_assert(strstr(abort_of(ans), "count<250"));
	json_decref(ans);
	cr_assert(coord_server_aborted(srv));
}

static char *hdr_of(int64_t value_us, int64_t n)
{
	struct hdr *h = hdr_new_default();
	char *enc = NULL;
	hdr_record_n(h, value_us, n);
	cr_assert_eq(hdr_encode(h, &enc), 0);
	hdr_free(h);
	return enc;
}

Test(coord, trend_percentile_of_the_union)
{
	char v[4096];
	json_t *ans;
	start(2, "http_req_duration", "p(95)<50", 0, 0);
	char *fast = hdr_of(1000, 100), *slow = hdr_of(100000, 10);
	snprintf(v, sizeof(v), "{\"type\":\"trend\",\"unit\":\"time\",\"hdr\":\"%s\"}", fast);
	cr_assert_eq(interval("i0", 0, 100, v, &ans), 200);
	cr_assert_null(abort_of(ans)); /* 1 ms */
	json_decref(ans);
	snprintf(v, sizeof(v), "{\"type\":\"trend\",\"unit\":\"time\",\"hdr\":\"%s\"}", slow);
	cr_assert_eq(interval("i1", 0, 10, v, &ans), 200);
	/* 110 values, rank 105 is one of the slow ones: p(95) = 100 ms */
	cr_assert(strstr(abort_of(ans), "'p(95)<50' on http_req_duration failed across 2"));
	json_decref(ans);
	free(fast);
	free(slow);
}

Test(coord, delay_abort_eval)
{
	json_t *ans;
	start(1, "http_reqs", "count<10", 3000, 0);
	const char *v = "{\"type\":\"counter\",\"sum\":100}";
	cr_assert_eq(interval("i0", 0, 100, v, NULL), 200);
	cr_assert_eq(interval("i0", 1, 100, v, NULL), 200);
	cr_assert_not(coord_server_aborted(srv)); /* 2 s < 3 s */
	cr_assert_eq(interval("i0", 2, 100, v, &ans), 200);
	cr_assert(strstr(abort_of(ans), "across 1 instance after 3.0s"));
	json_decref(ans);
}

Test(coord, window_judges_the_last_seconds)
{
	start(2, "http_reqs", "count<250", 0, 2);
	const char *v = "{\"type\":\"counter\",\"sum\":60}";
	/* 120 a second together: 240 per 2 s window, passes, while the run so far does not */
	for (int t = 0; t < 6; t++) {
		cr_assert_eq(interval("i0", t, 60, v, NULL), 200);
		cr_assert_eq(interval("i1", t, 60, v, NULL), 200);
	}
	cr_assert_not(coord_server_aborted(srv));
	const char *burst = "{\"type\":\"counter\",\"sum\":200}";
	cr_assert_eq(interval("i0", 6, 200, burst, NULL), 200);
	/* judged only once every instance has sent second 6: i1 has not yet */
	cr_assert_not(coord_server_aborted(srv));
	cr_assert_eq(interval("i1", 6, 60, v, NULL), 200);
	cr_assert(coord_server_aborted(srv)); /* 60 + 60 (t=5) + 200 + 60 (t=6) */
}

Test(coord, rate_and_additive_gauge)
{
	json_t *ans;
	start(2, "http_req_failed", "rate<0.1", 0, 0);
	cr_assert_eq(interval("i0", 0, 100, "{\"type\":\"rate\",\"nz\":0,\"total\":100}", NULL),
	             200);
	cr_assert_eq(interval("i1", 0, 100, "{\"type\":\"rate\",\"nz\":20,\"total\":100}", &ans),
	             200);
	cr_assert_not_null(abort_of(ans)); /* 20 of 200: 0.1 */
	json_decref(ans);
	coord_server_free(srv);

	start(2, "vus", "value<15", 0, 0);
	const char *g = "{\"type\":\"gauge\",\"last\":10,\"min\":0,\"max\":10}";
	cr_assert_eq(interval("i0", 0, 0, g, NULL), 200);
	cr_assert_not(coord_server_aborted(srv));
	cr_assert_eq(interval("i1", 0, 0, g, NULL), 200);
	cr_assert(coord_server_aborted(srv)); /* each runs its own VUs: 20 */
}

Test(coord, per_request_and_no_data)
{
	start(1, "errors", "per_request<0.5", 0, 0);
	cr_assert_eq(interval("i0", 0, 100, "null", NULL), 200); /* never typed: not judged */
	cr_assert_not(coord_server_aborted(srv));
	cr_assert_eq(interval("i0", 1, 100, "{\"type\":\"counter\",\"sum\":40}", NULL), 200);
	cr_assert_not(coord_server_aborted(srv)); /* 40 / 200 */
	cr_assert_eq(interval("i0", 2, 10, "{\"type\":\"counter\",\"sum\":80}", NULL), 200);
	cr_assert(coord_server_aborted(srv)); /* 120 / 210 */
}

Test(coord, done_and_leaving_the_barrier)
{
	char t[512];
	srv = coord_server_new(2);
	thr(t, sizeof(t), "http_reqs", "count<100", 0, 0);
	cr_assert_eq(reg("a", "tok-a", t, NULL), 200);
	cr_assert_eq(
	    post("/v1/done", "{\"instance\":\"a\",\"token\":\"tok-a\",\"exit_code\":105}", NULL),
	    200);
	cr_assert_eq(coord_server_registered(srv), 0); /* it left: its place is free */
	cr_assert_eq(reg("a", "tok-a2", t, NULL), 200);
	cr_assert_eq(reg("b", "tok-b", t, NULL), 200);
	cr_assert_not(coord_server_all_done(srv));
	cr_assert_eq(
	    post("/v1/done", "{\"instance\":\"a\",\"token\":\"tok-a2\",\"exit_code\":0}", NULL),
	    200);
	cr_assert_eq(
	    post("/v1/done", "{\"instance\":\"b\",\"token\":\"wrong\",\"exit_code\":0}", NULL),
	    404);
	cr_assert_not(coord_server_all_done(srv));
	cr_assert_eq(
	    post("/v1/done", "{\"instance\":\"b\",\"token\":\"tok-b\",\"exit_code\":0}", NULL),
	    200);
	cr_assert(coord_server_all_done(srv));
}

Test(coord, closed_barrier)
{
	char t[512];
	json_t *ans;
	srv = coord_server_new(3);
	thr(t, sizeof(t), "http_reqs", "count<100", 0, 0);
	cr_assert_eq(reg("a", "tok-a", t, NULL), 200);
	cr_assert_eq(reg("c", "tok-c", t, NULL), 200);
	coord_server_close(srv, "the coordinator gave up waiting");
	/* the coordinator serves on until each waiting instance has heard why */
	cr_assert_not(coord_server_all_told(srv));
	cr_assert_eq(reg("a", "tok-a", t, &ans), 503); /* the polling instance hears why */
	cr_assert_str_eq(json_string_value(json_object_get(ans, "error")),
	                 "the coordinator gave up waiting");
	json_decref(ans);
	cr_assert_not(coord_server_all_told(srv), "c has not polled yet");
	cr_assert_eq(reg("b", "tok-b", t, NULL), 503); /* a newcomer: refused, not waited for */
	cr_assert_not(coord_server_all_told(srv), "c has not polled yet");
	cr_assert_eq(reg("c", "tok-c", t, NULL), 503);
	cr_assert(coord_server_all_told(srv));
}

/* Attacker's finding 1: a second that only the fastest instance has sent is not judged (its
 * rate would be divided among all of them). */
Test(coord, a_second_is_judged_when_every_instance_sent_it)
{
	start(2, "http_reqs", "rate>=90", 0, 0);
	const char *v = "{\"type\":\"counter\",\"sum\":50}";
	for (int t = 0; t < 4; t++) {
		cr_assert_eq(interval("i0", t, 50, v, NULL), 200);
		cr_assert_not(coord_server_aborted(srv), "t=%d: judged before i1 sent it", t);
		cr_assert_eq(interval("i1", t, 50, v, NULL), 200);
		cr_assert_not(coord_server_aborted(srv), "t=%d: 100/s together", t);
	}
}

/* Attacker's finding 4: counts past 2^53 are refused (400), not summed into an overflow. */
Test(coord, huge_rate_counts_are_refused)
{
	start(1, "checks", "rate>0.5", 0, 3);
	const char *v = "{\"type\":\"rate\",\"nz\":9223372036854775807,"
	                "\"total\":9223372036854775807}";
	cr_assert_eq(interval("i0", 0, 1, v, NULL), 400);
	cr_assert_eq(interval("i0", 1, 1, v, NULL), 400);
	cr_assert_not(coord_server_aborted(srv));
}

static int interval_at(const char *name, int t, int64_t now, const char *values)
{
	char body[8192];
	snprintf(body, sizeof(body),
	         "{\"instance\":\"%s\",\"token\":\"tok-%s\",\"t\":%d,\"length_s\":1,"
	         "\"http_reqs\":100,\"values\":[%s]}",
	         name, name, t, values);
	return post_at("/v1/interval", body, now, NULL);
}

/* Reviewer's finding 1: an instance killed mid-run (kill -9: no word of its end) held back
 * every verdict, since a second was judged only once every running instance had sent it;
 * silent for COORD_SILENT_US, it is lost and the seconds are judged on the others. */
Test(coord, a_silent_instance_is_lost_and_the_others_are_judged)
{
	json_t *ans;
	start(2, "http_reqs", "count<250", 0, 0);
	int64_t t0 = NOW + COORD_START_DELAY_US, s = 1000000;
	const char *v = "{\"type\":\"counter\",\"sum\":100}";
	cr_assert_eq(interval_at("i0", 0, t0 + s, v), 200);
	cr_assert_eq(interval_at("i1", 0, t0 + s, v), 200); /* 200 together */
	for (int t = 1; t < 5; t++)                         /* i1 is killed */
		cr_assert_eq(interval_at("i0", t, t0 + (t + 1) * s, v), 200);
	cr_assert_not(coord_server_aborted(srv)); /* i1 may only be late */
	cr_assert_not(coord_server_all_done(srv));
	coord_server_tick(srv, t0 + s + COORD_SILENT_US + s / 10);
	cr_assert(coord_server_aborted(srv), "600 on the survivor's seconds: judged without i1");
	ans = coord_server_handle(srv, "GET", "/v1/abort", NULL, 0, t0 + 7 * s, &(int){ 0 });
	cr_assert_str_eq(abort_of(ans), "threshold 'count<250' on http_reqs failed across 2 "
	                                "instances (1 lost) after 5.0s");
	json_decref(ans);
	cr_assert_eq(post_at("/v1/done",
	                     "{\"instance\":\"i0\",\"token\":\"tok-i0\",\"exit_code\":108}",
	                     t0 + 7 * s, NULL),
	             200);
	cr_assert(coord_server_all_done(srv)); /* the coordinator need not wait for i1 */
	cr_assert_eq(coord_server_incomplete(srv), 1);
	ans = coord_server_handle(srv, "GET", "/v1/status", NULL, 0, t0 + 7 * s, &(int){ 0 });
	cr_assert(json_is_true(
	    json_object_get(json_array_get(json_object_get(ans, "members"), 1), "lost")));
	json_decref(ans);
}

/* The drop also happens on any request (no tick), also for an instance that never sent an
 * interval; one that speaks again is waited for again. */
Test(coord, lost_from_the_start_and_back)
{
	start(2, "http_reqs", "count<1000", 0, 0);
	int64_t t0 = NOW + COORD_START_DELAY_US, s = 1000000;
	const char *v = "{\"type\":\"counter\",\"sum\":100}";
	for (int t = 0; t < 7; t++)
		cr_assert_eq(interval_at("i0", t, t0 + (t + 1) * s, v), 200);
	cr_assert_not(coord_server_aborted(srv)); /* 700 < 1000, i1 lost at t0 + 5 s */
	cr_assert_eq(interval_at("i1", 0, t0 + 8 * s, v), 200); /* back, far behind */
	cr_assert_eq(interval_at("i0", 7, t0 + 8 * s, v), 200);
	cr_assert_eq(interval_at("i0", 8, t0 + 9 * s, v), 200);
	cr_assert_eq(interval_at("i0", 9, t0 + 10 * s, v), 200);
	/* 1,100 sent, but the seconds are not judged until i1 has caught up again */
	cr_assert_not(coord_server_aborted(srv));
	cr_assert_eq(interval_at("i1", 9, t0 + 10 * s, v), 200);
	cr_assert(coord_server_aborted(srv));
}

/* Register name (token "tok-NAME", no threshold) with more (members to add, each after a
 * comma: ",\"segment\":...", or ""); the status must be want_status and the answer's error
 * hold expect (NULL: any). Returns the status. */
static int reg_with(int want_status, const char *name, const char *more, const char *expect)
{
	char body[2048];
	json_t *ans = NULL;
	snprintf(body, sizeof(body),
	         "{\"instance\":\"%s\",\"token\":\"tok-%s\",\"thresholds\":[]%s}", name, name,
	         more);
	int st = post("/v1/register", body, &ans);
	const char *err = json_string_value(json_object_get(ans, "error"));
	cr_assert_eq(st, want_status, "%s: %d (%s)", name, st, err ? err : "");
	if (expect)
		cr_assert(err && strstr(err, expect), "%s: %s", name, err ? err : "(no error)");
	json_decref(ans);
	return st;
}

static int reg_seg(int want_status, const char *name, const char *seg, const char *seq,
                   const char *expect)
{
	char more[512] = "";
	if (seg)
		snprintf(more, sizeof(more), ",\"segment\":\"%s\"%s%s%s", seg,
		         seq ? ",\"sequence\":\"" : "", seq ? seq : "", seq ? "\"" : "");
	return reg_with(want_status, name, more, expect);
}

/* Reviewer's finding 2: instances that are not one test are refused at the barrier, as
 * `stampede merge` refuses their parts. */
Test(coord, instances_of_one_test_only)
{
	srv = coord_server_new(3);
	reg_seg(409, "a", "0:1/4", "0,1/4,1/2,3/4,1",
	        "has 4 segments but the coordinator waits for 3");
	reg_seg(400, "a", "0:1/2", "0,1/3,1", "not one of the sequence's segments");
	reg_seg(200, "a", "0:1/3", "0,1/3,2/3,1", NULL);
	reg_seg(409, "b", "1/3:1/2", "0,1/3,1/2,1",
	        "segment sequence 0,1/3,1/2,1 but 'a' with "
	        "0,1/3,2/3,1");
	reg_seg(409, "b", "1/4:1/2", NULL, "its segment 1/4:1/2 overlaps 'a''s (0:1/3)");
	reg_seg(409, "host:123", NULL, NULL,
	        "'a' runs a segment of the load (0:1/3) but 'host:123' "
	        "does not");
	reg_seg(200, "b", "1/3:2/3", "1/3,2/3", NULL); /* the same sequence, written otherwise */
	cr_assert_eq(coord_server_registered(srv), 2);
	coord_server_free(srv);

	srv = coord_server_new(2);
	reg_seg(200, "host:1", NULL, NULL, NULL); /* independent whole runs: allowed */
	reg_seg(409, "b", "1/2:1", "0,1/2,1",
	        "'b' runs a segment of the load (1/2:1) but 'host:1'");
	reg_seg(200, "host:2", NULL, NULL, NULL);
}

/* Between intervals an instance says it is alive (POST /v1/abort): not lost while it
 * writes its results; when every one is silent, the coordinator waits for them. */
Test(coord, alive_between_intervals_and_all_silent)
{
	start(2, "http_reqs", "count<1000", 0, 0);
	int64_t t0 = NOW + COORD_START_DELAY_US, s = 1000000;
	const char *v = "{\"type\":\"counter\",\"sum\":10}";
	cr_assert_eq(interval_at("i0", 0, t0 + s, v), 200);
	cr_assert_eq(interval_at("i1", 0, t0 + s, v), 200);
	for (int k = 2; k < 9; k++)
		cr_assert_eq(post_at("/v1/abort", "{\"instance\":\"i0\",\"token\":\"tok-i0\"}",
		                     t0 + k * s, NULL),
		             200);
	cr_assert_eq(
	    post_at("/v1/abort", "{\"instance\":\"i9\",\"token\":\"x\"}", t0 + 9 * s, NULL), 404);
	coord_server_tick(srv, t0 + 9 * s);
	json_t *ans =
	    coord_server_handle(srv, "GET", "/v1/status", NULL, 0, t0 + 9 * s, &(int){ 0 });
	json_t *m = json_object_get(ans, "members");
	cr_assert(json_is_false(json_object_get(json_array_get(m, 0), "lost")));
	cr_assert(json_is_true(json_object_get(json_array_get(m, 1), "lost")));
	json_decref(ans);
	coord_server_tick(srv, t0 + 20 * s); /* i0 silent too now */
	cr_assert_not(coord_server_all_done(srv));
}

/* Register name (token "tok-NAME", no threshold) with the test (a JSON object's text, or
 * NULL: none said); the answer's error must hold expect (NULL: any). */
static void reg_test(int want_status, const char *name, const char *test, const char *expect)
{
	char more[1536] = "";
	if (test)
		snprintf(more, sizeof(more), ",\"test\":%s", test);
	reg_with(want_status, name, more, expect);
}

/* Review finding 1: instances running different tests (another URL, executor, script...)
 * were started together; `stampede merge` refused their parts only afterwards. */
Test(coord, instances_of_different_tests_are_refused)
{
	srv = coord_server_new(4);
	reg_test(200, "a", "{\"url\":\"http://h/api/products/42\",\"executor\":\"x\"}", NULL);
	reg_test(409, "b", "{\"url\":\"http://h/health\",\"executor\":\"x\"}",
	         "'a' and 'b' run different tests (options.url: \"http://h/api/products/42\" "
	         "and \"http://h/health\"): options.url differs from the first instance's");
	reg_test(409, "b", "{\"url\":\"http://h/api/products/42\",\"executor\":\"y\"}",
	         "options.executor differs");
	reg_test(409, "b", "{\"url\":\"http://h/api/products/42\",\"executor\":\"x\",\"vus\":2}",
	         "(options.vus: (none) and 2)");
	reg_test(400, "b", "[1]", "'test' must be an object");
	reg_test(200, "b", "{\"executor\":\"x\",\"url\":\"http://h/api/products/42\"}", NULL);
	reg_test(200, "c", NULL, NULL); /* an instance that does not say: not compared */
	cr_assert_eq(coord_server_registered(srv), 3);
	coord_server_free(srv);

	/* a script by its file name and what it held (merge's rule) */
	srv = coord_server_new(4);
	reg_test(200, "a", "{\"script\":\"/srv/t/load.lua\",\"scriptSha256\":\"ab\"}", NULL);
	reg_test(200, "b", "{\"script\":\"./load.lua\",\"scriptSha256\":\"ab\"}", NULL);
	reg_test(200, "c", "{\"script\":\"load.lua\"}", NULL); /* no hash: an older instance */
	reg_test(409, "d", "{\"script\":\"load.lua\",\"scriptSha256\":\"cd\"}",
	         "options.scriptSha256 differs");
	reg_test(409, "d", "{\"script\":\"other.lua\",\"scriptSha256\":\"ab\"}",
	         "options.script differs");
}

/* Review finding 3: an instance that registered and left the barrier was counted among
 * those that never registered. */
Test(coord, summary_says_who_left_the_barrier)
{
	char *text = NULL;
	size_t len = 0;
	srv = coord_server_new(3);
	reg_test(200, "a", NULL, NULL);
	reg_test(200, "b", NULL, NULL);
	cr_assert_eq(
	    post("/v1/done", "{\"instance\":\"b\",\"token\":\"tok-b\",\"exit_code\":105}", NULL),
	    200);
	FILE *f = open_memstream(&text, &len);
	coord_server_summary(srv, f);
	fclose(f);
	cr_assert(strstr(text, "  b: registered, then left the barrier (exit 105)\n"), "%s", text);
	cr_assert(strstr(text, "  1 of 3 instances never registered\n"), "%s", text);
	cr_assert_eq(coord_server_incomplete(srv), 3); /* a not done, b gone, one never */
	free(text);

	reg_test(200, "b", NULL, NULL); /* back: registered again, not gone */
	f = open_memstream(&text, &len);
	coord_server_summary(srv, f);
	fclose(f);
	cr_assert_null(strstr(text, "left the barrier"), "%s", text);
	cr_assert(strstr(text, "  1 of 3 instances never registered\n"), "%s", text);
	free(text);
}

/* The coordinator's abort reason starts with coord_abort_prefix(): the instances find
 * the threshold it names by it. */
Test(coord, abort_reason_names_the_threshold)
{
	char prefix[256];
	json_t *ans;
	const char *v = "{\"type\":\"counter\",\"sum\":60}";
	start(2, "http_reqs", "count<100", 0, 0);
	cr_assert_eq(interval("i0", 0, 60, v, NULL), 200);
	cr_assert_eq(interval("i1", 0, 60, v, &ans), 200);
	size_t n = coord_abort_prefix("count<100", "http_reqs", prefix, sizeof(prefix));
	cr_assert_str_eq(prefix, "threshold 'count<100' on http_reqs failed across ");
	cr_assert_eq(n, strlen(prefix));
	cr_assert(abort_of(ans) && !strncmp(abort_of(ans), prefix, n), "%s", abort_of(ans));
	cr_assert_str_eq(abort_of(ans) + n, "2 instances after 1.0s");
	json_decref(ans);
}

/* The threshold's value in the coordinator's summary ("  threshold 'EXPR' on SEL: V"). */
static double summary_value(const char *expr)
{
	char *text = NULL, pat[256];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	coord_server_summary(srv, f);
	fclose(f);
	snprintf(pat, sizeof(pat), "threshold '%s' on ", expr);
	const char *p = strstr(text, pat);
	cr_assert_not_null(p, "%s", text);
	p = strstr(p, ": ");
	cr_assert_not_null(p, "%s", text);
	double v = strtod(p + 2, NULL);
	free(text);
	return v;
}

/* Adversarial review finding 2: each interval's rate counts are checked against 2^53, the
 * running sums were not: 1,024 intervals of 2^53 overflowed the int64 sums (UBSan: signed
 * integer overflow), the total turned negative and so did the rate. They saturate at
 * INT64_MAX: the rate stays within [0, 1]. */
Test(coord, rate_sums_saturate_instead_of_overflowing)
{
	const char *none = "{\"type\":\"rate\",\"nz\":0,\"total\":9007199254740992}";
	const char *all = "{\"type\":\"rate\",\"nz\":9007199254740992,\"total\":9007199254740992}";
	start(1, "http_req_failed", "rate>=0", 0, 3); /* the run so far and a window's slot */
	for (int i = 0; i < 1100; i++)
		cr_assert_eq(interval("i0", 0, 1, none, NULL), 200, "interval %d", i);
	cr_assert_eq(interval("i0", 0, 1, all, NULL), 200);
	cr_assert_not(coord_server_aborted(srv)); /* wrapped: the rate was negative */
	double v = summary_value("rate>=0");      /* 2^53 / INT64_MAX */
	cr_assert(v > 0.0009 && v < 0.0010, "%g", v);
	coord_server_free(srv);

	start(1, "http_req_failed", "rate<0.5", 0, 0); /* nz saturates as total does */
	for (int t = 0; t < 1100; t++)
		cr_assert_eq(interval("i0", t, 1, all, NULL), 200);
	cr_assert(coord_server_aborted(srv));
	cr_assert_float_eq(summary_value("rate<0.5"), 1.0, 1e-9);
}

/* The same for a trend's histograms: one whose count would pass INT64_MAX is not added
 * (wrapped, the count was negative and so was the average). */
Test(coord, trend_counts_saturate_instead_of_overflowing)
{
	char v[4096];
	char *fast = hdr_of(1000, INT64_C(1) << 62);
	start(1, "http_req_duration", "avg>0.5", 0, 0);
	snprintf(v, sizeof(v), "{\"type\":\"trend\",\"unit\":\"time\",\"hdr\":\"%s\"}", fast);
	for (int t = 0; t < 3; t++)
		cr_assert_eq(interval("i0", t, 1, v, NULL), 200); /* the 2nd: 2^63, not added */
	cr_assert_not(coord_server_aborted(srv));
	cr_assert_float_eq(summary_value("avg>0.5"), 1.0, 0.01); /* 1 ms */
	free(fast);
}

/* Adversarial review finding 5: a body that is JSON but not an object was refused with an
 * empty reason ("expected a JSON object: "). */
Test(coord, a_body_that_is_not_an_object_says_what_it_is)
{
	json_t *ans;
	srv = coord_server_new(1);
	cr_assert_eq(post("/v1/register", "[1,2,3]", &ans), 400);
	cr_assert_str_eq(json_string_value(json_object_get(ans, "error")),
	                 "expected a JSON object, got an array");
	json_decref(ans);
	cr_assert_eq(post("/v1/register", "3", &ans), 400);
	cr_assert_str_eq(json_string_value(json_object_get(ans, "error")),
	                 "expected a JSON object, got a number");
	json_decref(ans);
	cr_assert_eq(post("/v1/register", "{", &ans), 400);
	const char *why = json_string_value(json_object_get(ans, "error"));
	cr_assert(!strncmp(why, "expected a JSON object: ", 24) && strlen(why) > 24, "%s", why);
	json_decref(ans);
}

static int reg_at(const char *name, const char *token, int64_t now, json_t **ans)
{
	char body[512];
	snprintf(body, sizeof(body), "{\"instance\":\"%s\",\"token\":\"%s\",\"thresholds\":[]}",
	         name, token);
	return post_at("/v1/register", body, now, ans);
}

/* Adversarial review finding 4: a duplicate's refusal says it is one (duplicate: true, how
 * long the registered one has been silent), so that an instance restarted at the barrier
 * asks again until its earlier registration is forgotten, then registers. */
Test(coord, a_duplicate_is_refused_until_the_silent_one_is_forgotten)
{
	json_t *ans;
	srv = coord_server_new(2);
	cr_assert_eq(reg_at("a", "old", NOW, NULL), 200);
	cr_assert_eq(reg_at("a", "new", NOW + 2000000, &ans), 409);
	cr_assert(json_is_true(json_object_get(ans, "duplicate")));
	cr_assert_eq(json_integer_value(json_object_get(ans, "silent_ms")), 2000);
	cr_assert(strstr(json_string_value(json_object_get(ans, "error")), "registered already"));
	json_decref(ans);
	cr_assert_eq(reg_at("a", "new", NOW + COORD_SILENT_US, NULL), 409); /* not yet */
	cr_assert_eq(reg_at("a", "new", NOW + COORD_SILENT_US + 1, &ans), 200);
	cr_assert_eq(json_integer_value(json_object_get(ans, "registered")), 1);
	json_decref(ans);
	/* the one that polls stays: a live duplicate is refused as long as it polls */
	cr_assert_eq(reg_at("a", "old", NOW + COORD_SILENT_US + 2, &ans), 409);
	cr_assert(json_is_true(json_object_get(ans, "duplicate")));
	json_decref(ans);
	/* other refusals are not duplicates: the client does not ask again */
	cr_assert_eq(reg_at("b", "tb", NOW + COORD_SILENT_US + 3, NULL), 200);
	cr_assert_eq(reg_at("c", "tc", NOW + COORD_SILENT_US + 4, &ans), 409);
	cr_assert_null(json_object_get(ans, "duplicate"));
	json_decref(ans);
}
