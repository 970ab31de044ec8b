/* test_assess.c: the assessment document from phase results (analysis/assess.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "analysis/assess.h"

static const char *names[5] = { "smoke", "load", "breakpoint", "spike", "soak" };

/* A result that holds only analyses (all assess_build reads). */
struct fake {
	struct result r[5];
	struct assess_in in;
};

static json_t *row(const char *phase, double offered, double good, double mean, double p95, bool ok,
                   bool ramp)
{
	json_t *r = json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:b}", "phase", phase, "offered",
	                      offered, "throughput", good, "goodThroughput", good, "mean", mean,
	                      "p95", p95, "ok", ok);
	if (ramp) {
		json_object_set_new(r, "offeredFrom", json_real(offered - 10));
		json_object_set_new(r, "offeredTo", json_real(offered + 10));
	}
	return r;
}

/* A pool-limited service at about 400/s, expected 100/s, every phase ran. */
static void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	struct assess_in *in = &f->in;
	in->url = "http://127.0.0.1:1/x";
	in->expected_rps = 100;
	in->max_rps = 1000;
	in->budget_s = 120;
	in->slo = "p95<200ms,errors<1%";
	in->status = "complete";
	in->cost_month = NAN;
	in->nphases = 5;
	for (int i = 0; i < 5; i++) {
		f->r[i].analyses = json_object();
		in->phases[i] = (struct assess_phase){ .name = names[i],
			                               .planned_s = 20,
			                               .ran_s = 20,
			                               .ran = ASSESS_RAN,
			                               .exit_code = 0,
			                               .level = 100,
			                               .peak = NAN,
			                               .r = &f->r[i] };
	}
	json_object_set_new(f->r[0].analyses, "testType",
	                    json_pack("{s:s, s:s, s:[s]}", "type", "smoke", "verdict", "pass",
	                              "findings", "p95<200ms held over the smoke: 10 ms"));
	json_object_set_new(f->r[1].analyses, "testType",
	                    json_pack("{s:s, s:s, s:[o], s:[]}", "type", "load", "verdict", "pass",
	                              "steps", row("hold", 100, 100, 10.5, 11, true, false),
	                              "findings"));
	json_t *steps = json_array();
	double off[] = { 40, 120, 200, 280, 360, 440, 520 };
	double good[] = { 40, 120, 200, 280, 355, 392, 393 };
	double mean[] = { 10.2, 10.3, 10.4, 10.6, 14, 90, 260 };
	for (int i = 0; i < 7; i++)
		json_array_append_new(
		    steps, row("r", off[i], good[i], mean[i], mean[i] * 1.3, i < 6, true));
	json_object_set_new(
	    f->r[2].analyses, "testType",
	    json_pack("{s:s, s:o, s:{s:b, s:f, s:f, s:s, s:f, s:s}, s:n, s:s, s:[]}", "type",
	              "breakpoint", "steps", steps, "breakingPoint", "found", 1, "lastGood", 383.3,
	              "firstBad", 483.3, "failedSlo", "p95<200ms", "value", 345.6, "how", "latency",
	              "knee", "degradation", "graceful", "findings"));
	json_object_set_new(f->r[2].analyses, "bottleneck",
	                    json_pack("{s:s, s:s, s:s, s:[s], s:[{s:s, s:s}]}", "verdict", "pool",
	                              "resource", "a worker pool or queue", "summary",
	                              "Workers/queue: throughput levelled.", "evidence",
	                              "Workers/queue: throughput levelled.", "resources",
	                              "resource", "target CPU", "utilisation", "mean 4%"));
	json_object_set_new(f->r[3].analyses, "testType",
	                    json_pack("{s:s, s:{s:f, s:f, s:b, s:f}, s:[]}", "type", "spike",
	                              "spike", "p95", 37.0, "errorRate", 0.0, "recovered", 1,
	                              "recoverySeconds", 1.0, "findings"));
	in->phases[3].peak = 383.3;
	json_object_set_new(f->r[4].analyses, "testType",
	                    json_pack("{s:s, s:s, s:{s:s}, s:[]}", "type", "soak", "verdict",
	                              "pass", "drift", "verdict", "stable", "findings"));
}

static void fake_free(struct fake *f)
{
	for (int i = 0; i < 5; i++)
		json_decref(f->r[i].analyses);
}

static int impact_rank(const char *s)
{
	const char *order[] = { "critical", "high", "medium", "low", "info" };
	for (int i = 0; i < 5; i++)
		if (!strcmp(order[i], s))
			return i;
	return 99;
}

/* The findings' texts joined, and a check that they are ordered by impact. */
static char *findings_text(const json_t *doc)
{
	static char all[16384];
	all[0] = '\0';
	int last = -1;
	size_t i;
	const json_t *f;
	json_array_foreach(json_object_get(doc, "findings"), i, f)
	{
		int r = impact_rank(json_string_value(json_object_get(f, "impact")));
		cr_assert(r < 99);
		cr_assert(r >= last, "findings not ordered by impact at %zu", i);
		last = r;
		strncat(all, json_string_value(json_object_get(f, "text")),
		        sizeof(all) - strlen(all) - 2);
		strcat(all, "\n");
	}
	return all;
}

static const json_t *finding(const json_t *doc, const char *area)
{
	size_t i;
	const json_t *f;
	json_array_foreach(json_object_get(doc, "findings"), i, f)
	{
		if (!strcmp(json_string_value(json_object_get(f, "area")), area))
			return f;
	}
	return NULL;
}

Test(assess, full_assessment_names_the_breaking_point_and_the_pool)
{
	struct fake f;
	fake_init(&f);
	json_t *doc = assess_build(&f.in);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "format")), ASSESS_FORMAT);
	char *all = findings_text(doc);
	const json_t *bp = finding(doc, "breaking point");
	cr_assert(bp);
	const char *t = json_string_value(json_object_get(bp, "text"));
	cr_assert(strstr(t, "383.3/s"), "%s", t);
	cr_assert(strstr(t, "pool"), "%s", t);
	cr_assert(strstr(t, "3.8x"), "%s", t);
	/* 3.8x headroom: medium */
	cr_assert_str_eq(json_string_value(json_object_get(bp, "impact")), "medium");
	cr_assert(strstr(all, "every SLO"), "%s", all);
	/* phases */
	const json_t *ph = json_object_get(doc, "phases");
	cr_assert_eq(json_array_size(ph), 5);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ph, 2), "status")),
	                 "done");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ph, 2), "verdict")),
	                 "breaking point found");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ph, 3), "verdict")),
	                 "recovered");
	/* the breaking point's best good throughput; the bottleneck from the breakpoint */
	cr_assert_float_eq(json_number_value(json_object_get(json_object_get(doc, "breakingPoint"),
	                                                     "maxGoodThroughput")),
	                   392, 1e-9); /* 393/s in the last step failed the SLO: left out */
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(doc, "bottleneck"), "phase")),
	    "breakpoint");
	/* a USL fit of the load's hold and the 7 steps, and a plan with 2x/5x/10x */
	const json_t *cap = json_object_get(doc, "capacity");
	const json_t *fit = json_object_get(cap, "fit");
	cr_assert(json_is_number(json_object_get(fit, "sigma")), "%s",
	          json_string_value(json_object_get(fit, "error")));
	cr_assert_eq(json_integer_value(json_object_get(fit, "npoints")), 8);
	const json_t *plan = json_object_get(cap, "plan");
	cr_assert(json_is_object(plan), "%s", json_string_value(json_object_get(cap, "planError")));
	cr_assert_eq(json_array_size(json_object_get(plan, "scenarios")), 3);
	/* the plan's capacity is the breaking point (the SLOs'), not the fit's X_max */
	cr_assert_str_eq(json_string_value(json_object_get(cap, "basis")), "breaking point");
	cr_assert_float_eq(json_number_value(json_object_get(cap, "sloCapacity")), 383.3, 1e-9);
	cr_assert(json_is_false(json_object_get(cap, "lowerBound")));
	cr_assert(strstr(all, "10x the expected load (1000/s) needs"), "%s", all);
	json_decref(doc);
	fake_free(&f);
}

Test(assess, n_plus_one_and_leaks_are_high_findings)
{
	struct fake f;
	fake_init(&f);
	json_object_set_new(f.r[1].analyses, "monitor",
	                    json_pack("{s:[{s:{s:f, s:f, s:f}}]}", "scrape", "perRequest",
	                              "target_demo_db_queries_total", 30.0,
	                              "target_http_requests_total", 7.0,
	                              "target_process_cpu_seconds_total", 0.001));
	json_object_set_new(f.r[4].analyses, "leaks",
	                    json_pack("{s:{s:b, s:b, s:s}, s:[]}", "target_rss_bytes", "judged", 1,
	                              "leaking", 1, "describe", "grows 1.6 MB/s", "findings"));
	json_t *doc = assess_build(&f.in);
	char *all = findings_text(doc);
	const json_t *q = finding(doc, "queries");
	cr_assert(q);
	cr_assert_str_eq(json_string_value(json_object_get(q, "impact")), "high");
	cr_assert(strstr(json_string_value(json_object_get(q, "text")), "N+1"));
	/* a requests counter at 7 per request is not a query pattern */
	cr_assert(!strstr(all, "target_http_requests_total"), "%s", all);
	const json_t *l = finding(doc, "leak");
	cr_assert(l);
	cr_assert_str_eq(json_string_value(json_object_get(l, "impact")), "high");
	cr_assert(strstr(json_string_value(json_object_get(l, "text")), "memory leak"), "%s",
	          json_string_value(json_object_get(l, "text")));
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "leaks"), "phase")),
	                 "soak");
	cr_assert_eq(json_array_size(json_object_get(doc, "perRequest")), 3);
	json_decref(doc);
	fake_free(&f);
}

Test(assess, a_failed_smoke_test_is_critical_and_first)
{
	struct fake f;
	fake_init(&f);
	json_object_set_new(f.r[0].analyses, "testType",
	                    json_pack("{s:s, s:s, s:[s]}", "type", "smoke", "verdict", "fail",
	                              "findings", "errors==0 failed over the smoke: 100%"));
	f.in.status = "stopped";
	f.in.status_reason = "the smoke test failed: nothing heavier ran";
	for (int i = 1; i < 5; i++) {
		f.in.phases[i].ran = ASSESS_NOT_RUN;
		f.in.phases[i].r = NULL;
		f.in.phases[i].exit_code = -1;
		f.in.phases[i].ran_s = NAN;
		f.in.phases[i].reason = "the smoke test failed";
	}
	json_t *doc = assess_build(&f.in);
	findings_text(doc);
	const json_t *first = json_array_get(json_object_get(doc, "findings"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(first, "impact")), "critical");
	cr_assert(strstr(json_string_value(json_object_get(first, "text")), "errors==0 failed"));
	const json_t *ph = json_object_get(doc, "phases");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ph, 0), "status")),
	                 "fail");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ph, 1), "status")),
	                 "skipped");
	cr_assert(json_is_null(json_object_get(json_array_get(ph, 1), "exitCode")));
	cr_assert(json_is_null(json_object_get(doc, "breakingPoint")));
	cr_assert(json_is_null(json_object_get(doc, "spike")));
	cr_assert(json_is_string(json_object_get(json_object_get(doc, "capacity"), "planError")));
	json_decref(doc);
	fake_free(&f);
}

/* CI's case: the breakpoint failed 4 s in while other processes held the machine's CPU from
 * 2 s to 7 s (an earlier stretch, 0-2 s, is not the one that overlaps): the breaking point
 * is kept, marked, and said not to be trusted. */
Test(assess, a_breaking_point_on_a_machine_busy_with_others_is_not_trusted)
{
	struct fake f;
	fake_init(&f);
	json_t *bp = json_object_get(json_object_get(f.r[2].analyses, "testType"), "breakingPoint");
	json_object_set_new(bp, "atS", json_real(4));
	json_object_set_new(json_object_get(f.r[2].analyses, "bottleneck"), "otherProcesses",
	                    json_pack("{s:i, s:f, s:[{s:i, s:i}, {s:i, s:i}]}", "seconds", 7,
	                              "sinceS", 0.0, "stretches", "fromS", 0, "toS", 2, "fromS", 2,
	                              "toS", 7));
	json_t *doc = assess_build(&f.in);
	const json_t *d = json_object_get(json_object_get(doc, "breakingPoint"), "disturbed");
	cr_assert(json_is_object(d));
	cr_assert_float_eq(json_number_value(json_object_get(d, "otherProcessesFromS")), 2, 1e-9);
	cr_assert_float_eq(json_number_value(json_object_get(d, "otherProcessesToS")), 7, 1e-9);
	const json_t *m = finding(doc, "machine");
	cr_assert(m);
	const char *t = json_string_value(json_object_get(m, "text"));
	cr_assert(strstr(t, "not trusted") && strstr(t, "from 2 s to 7 s") && strstr(t, "at 4 s"),
	          "%s", t);
	cr_assert_str_eq(json_string_value(json_object_get(m, "impact")), "high");
	findings_text(doc); /* still ordered by impact */
	json_decref(doc);
	fake_free(&f);
}

/* Other processes that came after the failing window, or were gone well before it (the
 * reviewer's case: 2 s at the start of a run that broke at 60 s), leave it trusted. */
Test(assess, other_processes_away_from_the_break_leave_it_trusted)
{
	struct {
		double at;
		int from, to;
	} cases[] = { { 4, 6, 9 }, { 60, 0, 2 }, { 60, 10, 58 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake f;
		fake_init(&f);
		json_t *bp =
		    json_object_get(json_object_get(f.r[2].analyses, "testType"), "breakingPoint");
		json_object_set_new(bp, "atS", json_real(cases[i].at));
		json_object_set_new(
		    json_object_get(f.r[2].analyses, "bottleneck"), "otherProcesses",
		    json_pack("{s:i, s:f, s:[{s:i, s:i}]}", "seconds", cases[i].to - cases[i].from,
		              "sinceS", (double)cases[i].from, "stretches", "fromS", cases[i].from,
		              "toS", cases[i].to));
		json_t *doc = assess_build(&f.in);
		cr_assert(json_is_null(
		              json_object_get(json_object_get(doc, "breakingPoint"), "disturbed")),
		          "case %zu", i);
		cr_assert_null(finding(doc, "machine"), "case %zu", i);
		json_decref(doc);
		fake_free(&f);
	}
}

Test(assess, breaking_below_the_expected_load_is_critical)
{
	struct fake f;
	fake_init(&f);
	json_t *bp = json_object_get(json_object_get(f.r[2].analyses, "testType"), "breakingPoint");
	json_object_set_new(bp, "lastGood", json_real(60));
	json_object_set_new(bp, "firstBad", json_real(80));
	json_t *doc = assess_build(&f.in);
	const json_t *b = finding(doc, "breaking point");
	cr_assert_str_eq(json_string_value(json_object_get(b, "impact")), "critical");
	json_decref(doc);
	fake_free(&f);
}

Test(assess, a_load_that_fails_its_slos_is_critical)
{
	struct fake f;
	fake_init(&f);
	json_object_set_new(f.r[1].analyses, "testType",
	                    json_pack("{s:s, s:s, s:[s, s]}", "type", "load", "verdict", "fail",
	                              "findings", "p95<200ms failed over the hold: 340 ms",
	                              "errors<1% held over the hold: 0%"));
	json_t *doc = assess_build(&f.in);
	const json_t *l = finding(doc, "load");
	cr_assert_str_eq(json_string_value(json_object_get(l, "impact")), "critical");
	cr_assert(strstr(json_string_value(json_object_get(l, "text")), "340 ms"));
	cr_assert(!strstr(json_string_value(json_object_get(l, "text")), "held"));
	json_decref(doc);
	fake_free(&f);
}

/* A clean run (-n 8) saw the make-demo assessment's load fail (p95 1056 ms at 100/s against
 * a 400/s pool) while other processes held the machine for 15 s of its 16: said not trusted.
 * Half the hold or less (or no stretch at all) leaves the failure as it is. */
Test(assess, a_load_failed_on_a_busy_machine_is_not_trusted)
{
	struct {
		int from, to;
		bool flagged;
	} cases[] = { { 3, 16, true }, { 0, 2, false }, { 10, 14, false } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake f;
		fake_init(&f);
		json_t *hold = row("hold", 100, 100, 900, 1055.7, false, false);
		json_object_set_new(hold, "start", json_real(2));
		json_object_set_new(hold, "end", json_real(14));
		json_object_set_new(f.r[1].analyses, "testType",
		                    json_pack("{s:s, s:s, s:[o], s:[s]}", "type", "load", "verdict",
		                              "fail", "steps", hold, "findings",
		                              "p95<200ms FAILED over the hold: 1055.74 ms"));
		json_object_set_new(f.r[1].analyses, "bottleneck",
		                    json_pack("{s:s, s:{s:i, s:f, s:[{s:i, s:i}]}}", "verdict",
		                              "pool", "otherProcesses", "seconds",
		                              cases[i].to - cases[i].from, "sinceS",
		                              (double)cases[i].from, "stretches", "fromS",
		                              cases[i].from, "toS", cases[i].to));
		json_t *doc = assess_build(&f.in);
		const json_t *m = finding(doc, "machine");
		cr_assert_eq(m != NULL, cases[i].flagged, "case %zu", i);
		if (m) {
			const char *t = json_string_value(json_object_get(m, "text"));
			cr_assert(strstr(t, "load phase's failure is not trusted") &&
			              strstr(t, "for 11 s of its 12 s hold"),
			          "%s", t);
		}
		cr_assert_str_eq(json_string_value(json_object_get(finding(doc, "load"), "impact")),
		                 "critical");
		json_decref(doc);
		fake_free(&f);
	}
}

/* A new user's finding: with three busy loops the whole assessment ran on a machine held by
 * other processes, nothing broke, and nothing said so. A quarter of the phases' time or
 * more gets a medium machine finding; less (or one said already) does not. */
Test(assess, an_assessment_on_a_machine_held_by_others_says_so)
{
	for (int busy = 0; busy <= 1; busy++) {
		struct fake f;
		fake_init(&f);
		for (int i = 0; i < 5; i++) { /* each phase ran 20 s: others 20 s, or 2 s */
			json_t *bn = json_object_get(f.r[i].analyses, "bottleneck");
			if (!bn) {
				bn = json_object();
				json_object_set_new(f.r[i].analyses, "bottleneck", bn);
			}
			json_object_set_new(bn, "otherProcesses",
			                    json_pack("{s:i, s:i, s:[{s:i, s:i}]}", "seconds",
			                              busy ? 20 : 2, "sinceS", 0, "stretches",
			                              "fromS", 0, "toS", busy ? 20 : 2));
		}
		json_t *doc = assess_build(&f.in);
		const json_t *m = finding(doc, "machine");
		cr_assert_eq(m != NULL, busy == 1);
		if (m) {
			const char *t = json_string_value(json_object_get(m, "text"));
			cr_assert(strstr(t, "may be the machine's") && strstr(t, "for 100 s of the "
			                                                         "phases' 100 s"),
			          "%s", t);
			cr_assert_str_eq(json_string_value(json_object_get(m, "impact")), "medium");
		}
		json_decref(doc);
		fake_free(&f);
	}
}

Test(assess, phase_states)
{
	struct assess_phase p = { .name = "load", .ran = ASSESS_NOT_RUN };
	cr_assert_str_eq(assess_phase_status(&p), "skipped");
	p.ran = ASSESS_INTERRUPTED;
	cr_assert_str_eq(assess_phase_status(&p), "interrupted");
	p.ran = ASSESS_ERROR;
	cr_assert_str_eq(assess_phase_status(&p), "error");
	p.ran = ASSESS_RAN; /* no result: nothing says it failed, but the exit code */
	p.exit_code = 99;
	cr_assert_str_eq(assess_phase_status(&p), "fail");
	p.exit_code = 0;
	cr_assert_str_eq(assess_phase_status(&p), "pass");
}

Test(assess, nothing_ran_gives_a_sane_document)
{
	struct assess_in in = { .url = "http://127.0.0.1:1/",
		                .expected_rps = 10,
		                .max_rps = 100,
		                .nphases = 5,
		                .status = "interrupted",
		                .cost_month = NAN,
		                .status_reason = "stopped by a signal before the smoke phase" };
	for (int i = 0; i < 5; i++)
		in.phases[i] = (struct assess_phase){ .name = names[i],
			                              .ran = ASSESS_NOT_RUN,
			                              .exit_code = -1,
			                              .ran_s = NAN,
			                              .peak = NAN,
			                              .reason = "the assessment was interrupted" };
	json_t *doc = assess_build(&in);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "status")), "interrupted");
	cr_assert(json_is_null(json_object_get(doc, "bottleneck")));
	cr_assert(json_is_null(json_object_get(doc, "profile")));
	cr_assert_eq(json_array_size(json_object_get(doc, "steps")), 0);
	char *all = findings_text(doc);
	cr_assert(strstr(all, "interrupted"), "%s", all);
	json_decref(doc);
}

Test(assess, a_target_that_stops_answering_is_critical_not_a_pass)
{
	struct fake f;
	fake_init(&f);
	json_object_set_new(json_object_get(f.r[1].analyses, "testType"), "responsesStoppedAt",
	                    json_real(4));
	json_t *doc = assess_build(&f.in);
	findings_text(doc);
	const json_t *first = json_array_get(json_object_get(doc, "findings"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(first, "impact")), "critical");
	cr_assert_str_eq(json_string_value(json_object_get(first, "area")), "availability");
	cr_assert(strstr(json_string_value(json_object_get(first, "text")), "load phase"));
	cr_assert_str_eq(json_string_value(json_object_get(
	                     json_array_get(json_object_get(doc, "phases"), 1), "status")),
	                 "fail");
	cr_assert_null(finding(doc, "load")); /* no "every SLO held" */
	cr_assert_str_eq(json_string_value(json_object_get(
	                     json_array_get(json_object_get(doc, "phases"), 1), "verdict")),
	                 "the target stopped answering");
	json_decref(doc);
	fake_free(&f);
}

Test(assess, no_data_is_not_a_pass)
{
	struct fake f;
	fake_init(&f);
	json_object_set_new(json_object_get(f.r[1].analyses, "testType"), "verdict",
	                    json_string("no data"));
	json_t *doc = assess_build(&f.in);
	cr_assert_str_eq(json_string_value(json_object_get(
	                     json_array_get(json_object_get(doc, "phases"), 1), "status")),
	                 "no data");
	const json_t *l = finding(doc, "load");
	cr_assert_str_eq(json_string_value(json_object_get(l, "impact")), "high");
	cr_assert(!strstr(json_string_value(json_object_get(l, "text")), "held"));
	json_decref(doc);
	fake_free(&f);
}

Test(assess, an_interrupted_breakpoint_does_not_claim_the_cap)
{
	struct fake f;
	fake_init(&f);
	json_t *bp = json_object_get(json_object_get(f.r[2].analyses, "testType"), "breakingPoint");
	json_object_set_new(bp, "found", json_false());
	f.in.phases[2].ran = ASSESS_INTERRUPTED;
	f.in.status = "interrupted";
	json_t *doc = assess_build(&f.in);
	const json_t *b = finding(doc, "breaking point");
	const char *t = json_string_value(json_object_get(b, "text"));
	cr_assert(strstr(t, "stopped at 530/s (interrupted)"), "%s", t);
	cr_assert(!strstr(t, "No breaking point up to the safety cap"), "%s", t);
	/* nor does the breaking point's own sentence, nor the phase's verdict */
	const json_t *bpd = json_object_get(doc, "breakingPoint");
	cr_assert(strstr(json_string_value(json_object_get(bpd, "why")), "not known"));
	cr_assert(json_is_false(json_object_get(bpd, "complete")));
	cr_assert_str_eq(json_string_value(json_object_get(
	                     json_array_get(json_object_get(doc, "phases"), 2), "verdict")),
	                 "breaking point not known");
	/* the plan's capacity is then a lower bound: the most served within the SLOs */
	const json_t *cap = json_object_get(doc, "capacity");
	cr_assert(json_is_true(json_object_get(cap, "lowerBound")));
	cr_assert_float_eq(json_number_value(json_object_get(cap, "sloCapacity")), 392, 1e-9);
	json_decref(doc);
	fake_free(&f);
}

Test(assess, no_plan_when_the_service_breaks_below_the_expected_load)
{
	struct fake f;
	fake_init(&f);
	json_t *bp = json_object_get(json_object_get(f.r[2].analyses, "testType"), "breakingPoint");
	json_object_set_new(bp, "lastGood", json_real(60));
	json_t *doc = assess_build(&f.in);
	const json_t *cap = json_object_get(doc, "capacity");
	cr_assert(json_is_null(json_object_get(cap, "plan")));
	cr_assert(
	    strstr(json_string_value(json_object_get(cap, "planError")), "below the expected"));
	json_decref(doc);
	fake_free(&f);
}

/* A virtual machine's sampling artefact (the timer interrupt taken where the kernel enables
 * interrupts again) can make a kernel frame the hottest: the finding names the target's own
 * hottest function, and the kernel's beside it. */
Test(assess, the_hottest_function_is_the_targets_own)
{
	struct fake f;
	fake_init(&f);
	json_object_set_new(f.r[1].analyses, "profile",
	                    json_pack("{s:s, s:[{s:s, s:f, s:f}, {s:s, s:f, s:f}]}", "svg",
	                              "/tmp/x/load.svg", "topFunctions", "name",
	                              "pvm_irq_enable_[k]", "self", 0.42, "total", 0.42, "name",
	                              "burn_cpu", "self", 0.40, "total", 0.41));
	json_t *doc = assess_build(&f.in);
	const json_t *p = finding(doc, "profile");
	cr_assert(p);
	const char *t = json_string_value(json_object_get(p, "text"));
	cr_assert(strstr(t, "load phase: burn_cpu (40% of the samples"), "%s", t);
	cr_assert(strstr(t, "the kernel's pvm_irq_enable_[k] has 42%"), "%s", t);
	json_decref(doc);
	fake_free(&f);
}

/* A spike to the breaking point fails the SLOs' thresholds over its whole run by design:
 * its recovery is its status; a script's own threshold failing still fails it. */
Test(assess, spike_status_is_its_recovery)
{
	struct fake f;
	fake_init(&f);
	struct assess_phase *p = &f.in.phases[3];
	struct result_threshold t[2] = {
		{ .selector = "http_req_duration", .ok = false },
		{ .selector = "checks", .ok = true },
	};
	f.r[3].thresholds = t;
	f.r[3].nthresholds = 2;
	p->exit_code = 99;
	cr_assert_str_eq(assess_phase_status(p), "pass");
	t[1].ok = false;
	cr_assert_str_eq(assess_phase_status(p), "fail");
	f.r[3].thresholds = NULL;
	f.r[3].nthresholds = 0;
	fake_free(&f);
}

/* --expected-vus: the levels are VUs in the findings, and the cap's flag is
 * --max-concurrency. */
Test(assess, closed_model_levels_are_vus)
{
	struct fake f;
	fake_init(&f);
	for (int i = 1; i < 5; i++)
		f.in.phases[i].vus = true;
	json_t *doc = assess_build(&f.in);
	const char *l = json_string_value(json_object_get(finding(doc, "load"), "text"));
	cr_assert(l && strstr(l, "(100 VUs)"), "%s", l);
	const char *b = json_string_value(json_object_get(finding(doc, "breaking point"), "text"));
	cr_assert(b && strstr(b, "above 383.3 VUs") && strstr(b, "expected 100 VUs"), "%s", b);
	json_decref(doc);
	fake_free(&f);
}

/* A closed model counts its levels in VUs (R = 100 VUs here) but plans in requests per
 * second: today's load is what the load phase's VUs were served while they held (100/s
 * in the fake's hold row: 250/s here), the capacity the most served within the SLOs (392/s
 * in the breakpoint's last good step), never a VU count against a rate. */
Test(assess, closed_model_plans_in_requests_per_second)
{
	struct fake f;
	fake_init(&f);
	for (int i = 1; i < 5; i++)
		f.in.phases[i].vus = true;
	json_t *steps = json_object_get(json_object_get(f.r[1].analyses, "testType"), "steps");
	json_object_set_new(json_array_get(steps, 0), "throughput", json_real(250));
	json_t *doc = assess_build(&f.in);
	const json_t *cap = json_object_get(doc, "capacity");
	cr_assert_float_eq(json_number_value(json_object_get(cap, "sloCapacity")), 392, 1e-9);
	const json_t *plan = json_object_get(cap, "plan");
	cr_assert(json_is_object(plan), "%s", json_string_value(json_object_get(cap, "planError")));
	cr_assert_float_eq(
	    json_number_value(json_object_get(json_object_get(plan, "inputs"), "currentRps")), 250,
	    1e-9);
	const char *c = json_string_value(json_object_get(finding(doc, "capacity"), "text"));
	cr_assert(c &&
	              strstr(c, "2x the expected load (500/s; the load phase's 100 VUs were "
	                        "served 250/s)") &&
	              strstr(c, "up to 392/s"),
	          "%s", c);
	json_decref(doc);
	/* a load phase without a hold row: nothing to plan from, said */
	json_array_clear(steps);
	doc = assess_build(&f.in);
	cap = json_object_get(doc, "capacity");
	cr_assert(json_is_null(json_object_get(cap, "plan")));
	cr_assert(strstr(json_string_value(json_object_get(cap, "planError")), "served nothing"));
	json_decref(doc);
	fake_free(&f);
}

/* A soak that fails on a drift alone: the drift is the finding, the SLOs are not blamed. */
Test(assess, a_soak_failed_by_a_drift_does_not_blame_the_slos)
{
	struct fake f;
	fake_init(&f);
	json_object_set_new(f.r[4].analyses, "testType",
	                    json_pack("{s:s, s:s, s:{s:s, s:{s:b, s:b, s:s}}, s:[]}", "type",
	                              "soak", "verdict", "fail", "drift", "verdict", "drifting",
	                              "throughput", "drifting", 1, "adverse", 1, "describe",
	                              "fell 20% over the hold", "findings"));
	json_t *doc = assess_build(&f.in);
	const char *all = findings_text(doc);
	cr_assert(strstr(all, "Over the soak, throughput fell 20% over the hold."), "%s", all);
	cr_assert(!strstr(all, "SLOs did not hold over the soak"), "%s", all);
	json_decref(doc);
	fake_free(&f);
}
