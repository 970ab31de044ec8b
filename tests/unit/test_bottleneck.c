/* test_bottleneck.c: the USE verdict (analysis/bottleneck.h) on synthetic runs: each
 * resource is named when it, and only it, saturates; the earliest onset wins; the
 * generator is said first; healthy runs, errors without saturation and empty runs; sizes in
 * binary units; the memory limit rule in a run too short for the leak analysis. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "analysis/bottleneck.h"
#include "analysis/leak.h"
#include "metrics/hdr.h"

#define N  30 /* seconds */
#define NW 30 /* 1-second windows */

struct run {
	struct bn_input in;
	double tc[N], hc[N], gc[N], sw[N], rss[N], lo[N], cm[N];
	double wt[NW], p95[NW], mean[NW], reqs[NW], good[NW], drop[NW];
};

/* A healthy monitored run: 200/s, p95 5 ms, the target at 20% of a core on a 2-CPU
 * machine 30% busy, stampede at 10%. */
static void healthy(struct run *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < N; i++) {
		r->tc[i] = 20, r->hc[i] = 30, r->gc[i] = 10, r->sw[i] = 0, r->rss[i] = 50e6;
		r->lo[i] = 0, r->cm[i] = 0.2;
	}
	for (int i = 0; i < NW; i++) {
		r->wt[i] = i, r->p95[i] = 5, r->mean[i] = 2, r->reqs[i] = 200, r->good[i] = 200;
		r->drop[i] = 0;
	}
	struct bn_input *in = &r->in;
	in->n = N, in->monitored = true, in->host_cpus = 2, in->target_threads = 8;
	in->target_cpu = r->tc, in->host_cpu = r->hc, in->gen_cpu = r->gc;
	in->swap_used = r->sw, in->rss = r->rss, in->listen_overflows = r->lo;
	in->connect_max_ms = r->cm;
	in->mem_limit = NAN, in->leak_per_request = NAN;
	in->nwin = NW, in->win_step = 1;
	in->win_t = r->wt, in->win_p95 = r->p95, in->win_mean = r->mean, in->win_reqs = r->reqs;
	in->win_good = r->good, in->win_dropped = r->drop;
	in->min_ms = 1;
	in->requests = 200.0 * NW;
	in->failed_p50_ms = NAN, in->fail_onset_s = NAN;
	in->gen_cpu_mean = 10;
}

/* Latency queues from second `from` on: p95 x50, throughput flat at `x`/s. */
static void queueing(struct run *r, int from, double x)
{
	for (int i = from; i < NW; i++)
		r->p95[i] = 250 + 10.0 * i, r->good[i] = r->reqs[i] = x, r->mean[i] = 200;
}

static const char *verdict(json_t *o)
{
	return json_string_value(json_object_get(o, "verdict"));
}

static double since(json_t *o)
{
	json_t *s = json_object_get(o, "sinceS");
	return json_is_number(s) ? json_number_value(s) : NAN;
}

static const char *summary(json_t *o)
{
	return json_string_value(json_object_get(o, "summary"));
}

Test(bottleneck, healthy_run_names_nothing)
{
	struct run r;
	healthy(&r);
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "none");
	cr_assert(isnan(since(o)));
	cr_assert(strstr(summary(o), "No resource saturated"), "%s", summary(o));
	json_t *res = json_object_get(o, "resources");
	cr_assert_eq(json_array_size(res),
	             6); /* generator, target CPU, machine, memory, conns, pool */
	size_t i;
	json_t *e;
	json_array_foreach(res, i, e) cr_assert(json_is_false(json_object_get(e, "saturated")));
	json_decref(o);
}

Test(bottleneck, cpu_bound_when_the_targets_cpu_saturates)
{
	struct run r;
	healthy(&r);
	for (int i = 10; i < N; i++)
		r.tc[i] = 180, r.hc[i] = 98; /* 90% of the 2 cores it can use */
	queueing(&r, 11, 400);
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "cpu", "%s", summary(o));
	cr_assert_float_eq(since(o), 10, 1e-9);
	cr_assert(strstr(summary(o), "CPU-bound"), "%s", summary(o));
	json_decref(o);
}

Test(bottleneck, cpu_capacity_is_the_threads_it_has)
{
	/* one thread at 95% of a core on an 8-CPU machine: saturated, though the machine idles */
	struct run r;
	healthy(&r);
	r.in.host_cpus = 8, r.in.target_threads = 1;
	for (int i = 5; i < N; i++)
		r.tc[i] = 95, r.hc[i] = 15;
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "cpu", "%s", summary(o));
	cr_assert_float_eq(since(o), 5, 1e-9);
	json_decref(o);
	/* the same 95% of one core with 8 threads: not saturated */
	r.in.target_threads = 8;
	o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "none", "%s", summary(o));
	json_decref(o);
}

Test(bottleneck, one_thread_at_a_whole_core_is_cpu_bound_with_cores_to_spare)
{
	/* 8 threads on an 8-CPU machine: the process at 105% of a core is far from its 8
	 * cores, but its busiest thread is at 97%: the work is serialised on that thread */
	struct run r;
	double th[N];
	healthy(&r);
	r.in.host_cpus = 8, r.in.target_threads = 8;
	for (int i = 0; i < N; i++)
		th[i] = i >= 12 ? 97 : 15, r.tc[i] = i >= 12 ? 105 : 20, r.hc[i] = 20;
	queueing(&r, 13, 300);
	r.in.thread_cpu_max = th;
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "cpu", "%s", summary(o));
	cr_assert_float_eq(since(o), 12, 1e-9);
	cr_assert(strstr(summary(o), "one thread"), "%s", summary(o));
	json_t *cpu = json_array_get(json_object_get(o, "resources"), 1);
	cr_assert(strstr(json_string_value(json_object_get(cpu, "utilisation")),
	                 "busiest thread busy 97% at the peak"));
	json_decref(o);
	/* with the process's demand known: the busiest thread holds most of it (97 of 130) */
	double dem[N];
	for (int i = 0; i < N; i++)
		dem[i] = i >= 12 ? 130 : 30;
	r.in.cpu_demand = dem;
	o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "cpu", "%s", summary(o));
	cr_assert(strstr(summary(o), "one thread"), "%s", summary(o));
	json_decref(o);
	/* many threads all waiting for a machine that others keep busy: each wants a CPU
	 * 97% of the time, but the busiest holds a sixth of the demand: not one thread */
	for (int i = 0; i < N; i++)
		dem[i] = i >= 12 ? 580 : 30, r.hc[i] = i >= 12 ? 100 : 20;
	o = bottleneck_judge(&r.in);
	cr_assert(!strstr(summary(o), "one thread"), "%s", summary(o));
	json_decref(o);
	r.in.cpu_demand = NULL;
	for (int i = 0; i < N; i++)
		r.hc[i] = 20;
	/* the same thread at 60%: nothing is CPU-bound (the latency is a pool's) */
	for (int i = 0; i < N; i++)
		th[i] = 60;
	o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "pool", "%s", summary(o));
	json_decref(o);
}

Test(bottleneck, one_busy_second_is_not_saturation)
{
	struct run r;
	healthy(&r);
	r.tc[7] = 190, r.hc[7] = 99;
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "none", "%s", summary(o));
	json_decref(o);
}

Test(bottleneck, pool_bound_when_latency_rises_with_cpu_low)
{
	struct run r;
	healthy(&r);
	r.in.min_ms = 10; /* a request takes at least 10 ms */
	queueing(&r, 12, 400);
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "pool", "%s", summary(o));
	cr_assert_float_eq(since(o), 12, 1e-9);
	/* 400/s x 10 ms: at least 4 in service at once */
	cr_assert_float_eq(json_number_value(json_object_get(o, "concurrency")), 4.0, 1e-9);
	cr_assert(strstr(summary(o), "at least 4.0 requests"), "%s", summary(o));
	json_decref(o);
}

/* A light load on a busy machine: 50/s, a few windows at 15 ms (against 2 ms): with a
 * quarter of a request in service at once, nothing queued: jitter, not a pool */
Test(bottleneck, slow_windows_without_a_queue_are_not_a_pool)
{
	struct run r;
	healthy(&r);
	for (int i = 0; i < NW; i++)
		r.p95[i] = 2, r.mean[i] = 1.5, r.good[i] = r.reqs[i] = 50;
	for (int i = NW - 4; i < NW; i++)
		r.p95[i] = 15, r.mean[i] = 5;
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "none", "%s", summary(o));
	json_decref(o);
	/* the same slowness with 10 requests in service at once (500/s x 20 ms) queues */
	for (int i = NW - 4; i < NW; i++)
		r.good[i] = r.reqs[i] = 500, r.mean[i] = 20;
	o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "pool", "%s", summary(o));
	json_decref(o);
}

Test(bottleneck, drops_alone_mark_the_onset)
{
	struct run r;
	healthy(&r);
	for (int i = 20; i < NW; i++)
		r.drop[i] = 30;
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "pool", "%s", summary(o));
	cr_assert_float_eq(since(o), 20, 1e-9);
	json_decref(o);
}

Test(bottleneck, unmonitored_saturation_is_unknown_and_says_how_to_tell)
{
	struct run r;
	healthy(&r);
	r.in.monitored = false;
	r.in.target_cpu = r.in.host_cpu = r.in.gen_cpu = r.in.swap_used = r.in.rss = NULL;
	r.in.listen_overflows = NULL;
	queueing(&r, 8, 300);
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "unknown", "%s", summary(o));
	cr_assert(strstr(summary(o), "--monitor-port"), "%s", summary(o));
	cr_assert_eq(json_array_size(json_object_get(o, "resources")), 3);
	json_decref(o);
}

Test(bottleneck, connections_when_requests_are_turned_away)
{
	struct run r;
	healthy(&r);
	r.in.failed = 3000, r.in.turned_away = 2900, r.in.turned_top = "status_503";
	r.in.turned_top_count = 2900, r.in.failed_p50_ms = 0.2, r.in.fail_onset_s = 3;
	r.in.fail_top = "status_503";
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "connections", "%s", summary(o));
	cr_assert_float_eq(since(o), 3, 1e-9);
	cr_assert(strstr(summary(o), "status_503"), "%s", summary(o));
	json_decref(o);
}

Test(bottleneck, listen_queue_overflows_are_connections)
{
	struct run r;
	healthy(&r);
	r.lo[9] = 12, r.lo[10] = 40;
	/* the host's counter alone: another process's socket overflowed, not the target's */
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "none", "%s", summary(o));
	json_decref(o);
	/* with the run's connections waiting for a SYN sent again (1 s) after them */
	r.cm[11] = 1003;
	o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "connections", "%s", summary(o));
	cr_assert_float_eq(since(o), 9, 1e-9);
	cr_assert(strstr(summary(o), "overflowed 52 times"), "%s", summary(o));
	json_decref(o);
}

Test(bottleneck, the_earliest_onset_wins_and_ties_go_to_connections)
{
	struct run r;
	healthy(&r);
	for (int i = 20; i < N; i++)
		r.tc[i] = 190, r.hc[i] = 99;
	r.lo[5] = 3, r.lo[6] = 3, r.cm[6] = 1005;
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "connections", "%s", summary(o)); /* 5 s before 20 s */
	json_t *ev = json_object_get(o, "evidence");
	bool also_cpu = false;
	size_t k;
	json_t *e;
	json_array_foreach(ev, k, e) also_cpu |= strncmp(json_string_value(e), "Also: CPU", 9) == 0;
	cr_assert(also_cpu, "the later CPU saturation is mentioned");
	json_decref(o);
	/* CPU first by far: CPU */
	healthy(&r);
	for (int i = 2; i < N; i++)
		r.tc[i] = 190, r.hc[i] = 99;
	r.lo[25] = 3, r.cm[25] = 1001;
	o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "cpu", "%s", summary(o));
	json_decref(o);
	/* the same second: connections (the tie order) */
	healthy(&r);
	for (int i = 4; i < N; i++)
		r.tc[i] = 190, r.hc[i] = 99;
	r.lo[4] = 3, r.cm[4] = 1001;
	o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "connections", "%s", summary(o));
	json_decref(o);
}

Test(bottleneck, the_generator_is_said_first)
{
	struct run r;
	healthy(&r);
	r.in.gen_saturated_s = 6;
	queueing(&r, 10, 300);
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "generator", "%s", summary(o));
	cr_assert(strncmp(summary(o), "stampede itself saturated first", 31) == 0, "%s",
	          summary(o));
	/* the target's own verdict follows */
	cr_assert(strstr(summary(o), "Workers/queue"), "%s", summary(o));
	json_decref(o);
	/* stampede using most of a saturated machine counts too */
	healthy(&r);
	for (int i = 3; i < N; i++)
		r.hc[i] = 97, r.gc[i] = 150;
	o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "generator", "%s", summary(o));
	cr_assert_float_eq(since(o), 3, 1e-9);
	json_decref(o);
}

Test(bottleneck, other_processes_on_a_busy_machine_are_mentioned)
{
	struct run r;
	healthy(&r);
	for (int i = 0; i < N; i++)
		r.hc[i] = 99; /* target 20%, stampede 10% of one core: someone else */
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "none", "%s", summary(o));
	char *dump = json_dumps(json_object_get(o, "evidence"), 0);
	cr_assert(strstr(dump, "other processes"), "%s", dump);
	free(dump);
	json_decref(o);
}

Test(bottleneck, errors_without_saturation)
{
	struct run r;
	healthy(&r);
	r.in.failed = 600, r.in.fail_top = "status_500", r.in.fail_onset_s = 0;
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "errors", "%s", summary(o));
	cr_assert(strstr(summary(o), "status_500"), "%s", summary(o));
	json_decref(o);
	/* under 1% of the requests: noise, not a verdict */
	r.in.failed = 30;
	o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "none", "%s", summary(o));
	json_decref(o);
}

Test(bottleneck, memory_swapping_near_the_limit_and_leaking)
{
	struct run r;
	healthy(&r);
	for (int i = 15; i < N; i++)
		r.sw[i] = 64e6;
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "memory", "%s", summary(o));
	cr_assert_float_eq(since(o), 15, 1e-9);
	cr_assert(strstr(summary(o), "swapping"), "%s", summary(o));
	json_decref(o);

	healthy(&r);
	r.in.mem_limit = 100e6;
	for (int i = 0; i < N; i++)
		r.rss[i] = 50e6 + 2e6 * i; /* 90 MB at 20 s: 90% of the limit */
	o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "memory", "%s", summary(o));
	cr_assert_float_eq(since(o), 20, 1e-9);
	json_decref(o);

	healthy(&r);
	r.in.rss_leaking = true, r.in.leak_per_request = 10000;
	o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "memory", "%s", summary(o));
	cr_assert(strstr(summary(o), "leaking"), "%s", summary(o));
	cr_assert(isnan(since(o)), "a leak is not yet saturation");
	json_decref(o);
}

Test(bottleneck, memory_names_what_came_first_at_its_own_time)
{
	/* RSS at 90% of its limit from 20 s, swapping from 25 s: the limit, at 20 s */
	struct run r;
	healthy(&r);
	r.in.mem_limit = 100e6;
	for (int i = 0; i < N; i++)
		r.rss[i] = 50e6 + 2e6 * i, r.sw[i] = i >= 25 ? 64e6 : 0;
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "memory", "%s", summary(o));
	cr_assert_float_eq(since(o), 20, 1e-9);
	cr_assert(strstr(summary(o), "reached 85.8 MiB at 20 s"), "%s", summary(o));
	json_decref(o);
	/* swapping from 5 s: the swap, at 5 s */
	for (int i = 0; i < N; i++)
		r.sw[i] = i >= 5 ? 64e6 : 0;
	o = bottleneck_judge(&r.in);
	cr_assert_float_eq(since(o), 5, 1e-9);
	cr_assert(strstr(summary(o), "started swapping at 5 s (swap grew 61.0 MiB)"), "%s",
	          summary(o));
	json_decref(o);
}

Test(bottleneck, an_empty_run_does_not_crash)
{
	struct bn_input in;
	memset(&in, 0, sizeof(in));
	in.mem_limit = in.leak_per_request = in.min_ms = in.failed_p50_ms = in.fail_onset_s = NAN;
	in.target_threads = NAN;
	json_t *o = bottleneck_judge(&in);
	cr_assert_str_eq(verdict(o), "none");
	json_decref(o);
}

Test(bottleneck, memory_sizes_are_in_binary_units)
{
	struct run r;
	healthy(&r);
	r.in.mem_limit = 512.0 * 1024 * 1024;
	for (int i = 0; i < N; i++)
		r.rss[i] = 400.0 * 1024 * 1024 + 4.0 * 1024 * 1024 * i; /* 460.8 MiB at 15 s */
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "memory", "%s", summary(o));
	cr_assert_float_eq(since(o), 16, 1e-9);
	cr_assert(strstr(summary(o), "reached 464 MiB at 16 s, within 10% of its limit (512 MiB); "
	                             "it peaked at 516 MiB."),
	          "%s", summary(o));
	json_decref(o);
	healthy(&r);
	r.in.rss_leaking = true, r.in.leak_per_request = 10016; /* as leak.c prints it */
	o = bottleneck_judge(&r.in);
	cr_assert(strstr(summary(o), "about 9.78 KiB per request"), "%s", summary(o));
	json_decref(o);
}

/* --- from a result: a 15 s run near its memory limit (too short to judge leaks) -------- */

#define SN 15

struct short_run {
	struct result r;
	struct result_metric m[5];
	struct result_point dur[SN], reqs[SN], fail[SN], cpu[SN], rss[SN];
	int32_t wt[SN];
	struct hdr *wh[SN];
};

/* 100 requests a second of 2 ms, the target at 20% of a core, its RSS 60 MB + 3 MB/s:
 * 90 MB (90% of 100 MB) at 10 s. */
static void short_run(struct short_run *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < SN; i++) {
		s->wt[i] = i;
		s->wh[i] = hdr_new_default();
		hdr_record_n(s->wh[i], 2000, 100);
		s->dur[i] = (struct result_point){ i, 100, { 2, 2, 2, 2, 2 } };
		s->reqs[i] = (struct result_point){ i, 100, { 0 } };
		s->fail[i] = (struct result_point){ i, 100, { 0 } };
		s->cpu[i] = (struct result_point){ i, 1, { 20, 20, 20 } };
		float b = (float)(60e6 + 3e6 * i);
		s->rss[i] = (struct result_point){ i, 1, { b, b, b } };
	}
	s->m[0] = (struct result_metric){
		"http_req_duration", MT_TREND, RU_TIME, { 1, SN, s->dur }, { 1, SN, s->wt, s->wh }
	};
	s->m[1] =
	    (struct result_metric){ "http_reqs", MT_COUNTER, RU_NONE, { 1, SN, s->reqs }, { 0 } };
	s->m[2] = (struct result_metric){
		"http_req_failed", MT_RATE, RU_NONE, { 1, SN, s->fail }, { 0 }
	};
	s->m[3] = (struct result_metric){
		"target_cpu_percent", MT_GAUGE, RU_NONE, { 1, SN, s->cpu }, { 0 }
	};
	s->m[4] = (struct result_metric){
		"target_rss_bytes", MT_GAUGE, RU_BYTES, { 1, SN, s->rss }, { 0 }
	};
	s->r.metrics = s->m, s->r.nmetrics = 5;
	s->r.duration_s = SN;
	s->r.options = json_object();
	s->r.analyses = json_pack("{s:{s:{s:i}, s:{s:i}}}", "monitor", "target", "pid", 4242,
	                          "host", "cpus", 2);
}

static void short_run_free(struct short_run *s)
{
	for (int i = 0; i < SN; i++)
		hdr_free(s->wh[i]);
	json_decref(s->r.options);
	json_decref(s->r.analyses);
}

static void assert_near_its_limit(struct short_run *s)
{
	json_t *o = bottleneck_analyse(&s->r);
	cr_assert_not_null(o);
	cr_assert_str_eq(verdict(o), "memory", "%s", summary(o));
	cr_assert_float_eq(since(o), 10, 1e-9);
	cr_assert(strstr(summary(o), "within 10% of its limit (95.4 MiB)"), "%s", summary(o));
	json_decref(o);
}

Test(bottleneck, a_short_run_near_its_memory_limit)
{
	struct short_run s;
	short_run(&s);
	json_object_set_new(s.r.options, "monitor", json_pack("{s:f}", "memoryLimit", 100e6));
	/* the leaks are not judged in 15 s, but report the limit */
	json_t *leaks = leak_analyse(&s.r);
	json_t *rss = json_object_get(leaks, "target_rss_bytes");
	cr_assert(json_is_false(json_object_get(rss, "judged")));
	cr_assert_float_eq(json_number_value(json_object_get(rss, "limit")), 100e6, 1e-3);
	json_object_set_new(s.r.analyses, "leaks", leaks);
	assert_near_its_limit(&s);
	/* a result written before the leaks reported it: the limit is read all the same */
	json_object_del(rss, "limit");
	assert_near_its_limit(&s);
	json_object_del(s.r.analyses, "leaks");
	assert_near_its_limit(&s);
	/* the cgroup's limit when --memory-limit is not given */
	json_object_del(s.r.options, "monitor");
	json_object_set_new(json_object_get(json_object_get(s.r.analyses, "monitor"), "target"),
	                    "cgroupMemoryLimit", json_real(100e6));
	assert_near_its_limit(&s);
	/* no limit known: nothing saturated */
	json_object_del(json_object_get(json_object_get(s.r.analyses, "monitor"), "target"),
	                "cgroupMemoryLimit");
	cr_assert(isnan(leak_memory_limit(&s.r)));
	json_t *o = bottleneck_analyse(&s.r);
	cr_assert_str_eq(verdict(o), "none", "%s", summary(o));
	json_decref(o);
	short_run_free(&s);
}

/* A target at 5% of a core on a machine others keep at 100%: its threads wait for a CPU
 * (demand high), but the CPU is the machine's saturation, not the target's. */
Test(bottleneck, waiting_on_a_machine_others_saturate_is_not_cpu_bound)
{
	struct run r;
	healthy(&r);
	double dem[N];
	for (int i = 0; i < N; i++)
		r.tc[i] = 5, r.hc[i] = 100, dem[i] = 400;
	r.in.cpu_demand = dem;
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_neq(verdict(o), "cpu", "%s", summary(o));
	char *dump = json_dumps(json_object_get(o, "evidence"), 0);
	cr_assert(strstr(dump, "other processes"), "%s", dump);
	free(dump);
	json_decref(o);
	/* the same demand with the target the machine's main user: CPU-bound */
	for (int i = 0; i < N; i++)
		r.tc[i] = 150;
	o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "cpu", "%s", summary(o));
	json_decref(o);
}

/* A run shorter than a window has no per-second p95: its summary says it was not judged,
 * not "p95 at most ? ms". */
Test(bottleneck, a_run_without_windows_says_so)
{
	struct run r;
	healthy(&r);
	r.in.nwin = 0, r.in.monitored = false, r.in.n = 0, r.in.requests = 3;
	json_t *o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "none");
	cr_assert(!strchr(summary(o), '?'), "%s", summary(o));
	cr_assert(strstr(summary(o), "too short"), "%s", summary(o));
	json_decref(o);
}
