/* test_bottleneck.c: the USE verdict (analysis/bottleneck.h) on synthetic runs: each
 * resource is named when it, and only it, saturates; the earliest onset wins; the
 * generator is said first; healthy runs, errors without saturation and empty runs. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "analysis/bottleneck.h"

#define N  30 /* seconds */
#define NW 30 /* 1-second windows */

struct run {
	struct bn_input in;
	double tc[N], hc[N], gc[N], sw[N], rss[N], lo[N];
	double wt[NW], p95[NW], mean[NW], reqs[NW], good[NW], drop[NW];
};

/* A healthy monitored run: 200/s, p95 5 ms, the target at 20% of a core on a 2-CPU
 * machine 30% busy, stampede at 10%. */
static void healthy(struct run *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < N; i++) {
		r->tc[i] = 20, r->hc[i] = 30, r->gc[i] = 10, r->sw[i] = 0, r->rss[i] = 50e6;
		r->lo[i] = 0;
	}
	for (int i = 0; i < NW; i++) {
		r->wt[i] = i, r->p95[i] = 5, r->mean[i] = 2, r->reqs[i] = 200, r->good[i] = 200;
		r->drop[i] = 0;
	}
	struct bn_input *in = &r->in;
	in->n = N, in->monitored = true, in->host_cpus = 2, in->target_threads = 8;
	in->target_cpu = r->tc, in->host_cpu = r->hc, in->gen_cpu = r->gc;
	in->swap_used = r->sw, in->rss = r->rss, in->listen_overflows = r->lo;
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
	json_t *o = bottleneck_judge(&r.in);
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
	r.lo[5] = 3, r.lo[6] = 3;
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
	r.lo[25] = 3;
	o = bottleneck_judge(&r.in);
	cr_assert_str_eq(verdict(o), "cpu", "%s", summary(o));
	json_decref(o);
	/* the same second: connections (the tie order) */
	healthy(&r);
	for (int i = 4; i < N; i++)
		r.tc[i] = 190, r.hc[i] = 99;
	r.lo[4] = 3;
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
