/* test_slo.c: SLO items and presets (util/slo.h), and the test-type presets
 * (engine/preset.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/preset.h"
#include "engine/sched.h"
#include "util/common.h"
#include "util/slo.h"

#define MIN_US (60 * USEC_PER_SEC)

static struct slo_set parse_ok(const char *spec)
{
	struct slo_set s = { 0 };
	char err[256] = "";
	cr_assert_eq(slo_parse(spec, &s, err, sizeof(err)), 0, "slo_parse(\"%s\"): %s", spec, err);
	return s;
}

static void thr_is(const struct slo *s, const char *want)
{
	char buf[128];
	slo_threshold(s, buf, sizeof(buf));
	cr_assert_str_eq(buf, want);
}

Test(slo, the_issue_example)
{
	struct slo_set s = parse_ok("p95<200ms,p99<500ms,errors<0.1%");
	cr_assert_eq(s.n, 3);
	thr_is(&s.item[0], "http_req_duration: p(95)<200");
	thr_is(&s.item[1], "http_req_duration: p(99)<500");
	thr_is(&s.item[2], "http_req_failed: rate<0.001");
	cr_assert_str_eq(s.item[0].text, "p95<200ms");
	cr_assert_str_eq(s.item[2].text, "errors<0.1%");
}

Test(slo, forms_and_units)
{
	struct slo_set s = parse_ok(" p(99.9) <= 1.5s , avg<250us, med<1m, max<1h, errors<=0.001 ");
	cr_assert_eq(s.n, 5);
	thr_is(&s.item[0], "http_req_duration: p(99.9)<=1500");
	thr_is(&s.item[1], "http_req_duration: avg<0.25");
	thr_is(&s.item[2], "http_req_duration: med<60000");
	thr_is(&s.item[3], "http_req_duration: max<3600000");
	thr_is(&s.item[4], "http_req_failed: rate<=0.001");
	cr_assert_str_eq(s.item[0].text, "p99.9<=1.5s");
	struct slo_set dup = { 0 };
	char err[256];
	cr_assert_eq(slo_parse("availability>=99.95%,errors==0", &dup, err, sizeof(err)), -1,
	             "both are the error rate: one spec gives it once");
	s = parse_ok("errors==0");
	thr_is(&s.item[0], "http_req_failed: rate==0");
	cr_assert_str_eq(s.item[0].text, "errors==0");
	s = parse_ok("availability>=99.95%");
	thr_is(&s.item[0], "http_req_failed: rate<=0.0005");
	s = parse_ok("availability>99%");
	thr_is(&s.item[0], "http_req_failed: rate<0.01");
}

Test(slo, later_items_replace_the_same_statistic)
{
	struct slo_set s = { 0 };
	char err[256];
	cr_assert_eq(slo_preset("user-facing", &s, err, sizeof(err)), 0);
	cr_assert_eq(slo_parse("p95<150ms,p(99.9)<2s", &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.n, 4);
	thr_is(&s.item[0], "http_req_duration: p(95)<150");
	thr_is(&s.item[1], "http_req_duration: p(99)<500");
	thr_is(&s.item[2], "http_req_failed: rate<=0.001");
	thr_is(&s.item[3], "http_req_duration: p(99.9)<2000");
	cr_assert_str_eq(s.preset, "user-facing");
}

Test(slo, presets_are_the_common_table)
{
	static const struct {
		const char *name, *p95, *p99, *errors;
	} want[] = {
		{ "user-facing", "http_req_duration: p(95)<200", "http_req_duration: p(99)<500",
		  "http_req_failed: rate<=0.001" },
		{ "internal", "http_req_duration: p(95)<100", "http_req_duration: p(99)<300",
		  "http_req_failed: rate<=0.005" },
		{ "real-time", "http_req_duration: p(95)<50", "http_req_duration: p(99)<100",
		  "http_req_failed: rate<=0.0005" },
		{ "background", "http_req_duration: p(95)<5000", "http_req_duration: p(99)<10000",
		  "http_req_failed: rate<=0.01" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		struct slo_set s = { 0 };
		char err[256];
		cr_assert_eq(slo_preset(want[i].name, &s, err, sizeof(err)), 0, "%s", want[i].name);
		cr_assert_eq(s.n, 3);
		thr_is(&s.item[0], want[i].p95);
		thr_is(&s.item[1], want[i].p99);
		thr_is(&s.item[2], want[i].errors);
	}
	struct slo_set s = { 0 };
	char err[256];
	cr_assert_eq(slo_preset("fast", &s, err, sizeof(err)), -1);
	cr_assert(strstr(err, "user-facing"), "%s", err);
}

Test(slo, bad_items_say_which_and_why)
{
	static const struct {
		const char *spec, *says;
	} bad[] = {
		{ "", "no objective" },
		{ ",,", "no objective" },
		{ "p95<200", "unit" },
		{ "p95<0ms", "> 0" },
		{ "p95>200ms", "ceiling" },
		{ "p0<1ms", "unknown statistic" },
		{ "p101<1ms", "unknown statistic" },
		{ "p(95<1ms", "unknown statistic" },
		{ "rps<1ms", "unknown statistic" },
		{ "errors<5", "percentage" },
		{ "errors<-1%", "percentage" },
		{ "errors>1%", "ceiling" },
		{ "errors<0", "never be met" },
		{ "errors==1%", "ceiling" },
		{ "availability<99%", "floor" },
		{ "availability>=101%", "percentage" },
		{ "p95", "expected" },
		{ "<200ms", "expected" },
		{ "p95<200ms,bogus", "bogus" },
		{ "p95<nanms", "unit" },
		{ "p95<1e999ms", "unit" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct slo_set s = { 0 };
		char err[256] = "";
		cr_assert_eq(slo_parse(bad[i].spec, &s, err, sizeof(err)), -1, "'%s' accepted",
		             bad[i].spec);
		cr_assert(strstr(err, bad[i].says), "'%s': '%s' lacks '%s'", bad[i].spec, err,
		          bad[i].says);
		cr_assert_eq(s.n, 0, "a failed parse leaves the set unchanged");
	}
	struct slo_set s = { 0 };
	char err[256], many[512] = "";
	for (int i = 1; i <= SLO_MAX + 1; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sp%d<1s",
		         i > 1 ? "," : "", i);
	cr_assert_eq(slo_parse(many, &s, err, sizeof(err)), -1);
	cr_assert(strstr(err, "more than"), "%s", err);
}

Test(slo, met)
{
	struct slo_set s = parse_ok("p95<200ms,errors<=1%,p99<=300ms");
	cr_assert(slo_met(&s.item[0], 199.9));
	cr_assert_not(slo_met(&s.item[0], 200));
	cr_assert(slo_met(&s.item[1], 0.01));
	cr_assert(slo_met(&s.item[2], 300));
	cr_assert_not(slo_met(&s.item[0], NAN), "no data never meets an objective");
	s = parse_ok("errors==0");
	cr_assert(slo_met(&s.item[0], 0));
	cr_assert_not(slo_met(&s.item[0], 1e-9));
}

/* --- presets ---------------------------------------------------------------------- */

static struct preset_plan plan_ok(struct preset_opts o)
{
	struct preset_plan p;
	char err[256] = "";
	cr_assert_eq(preset_build(&o, &p, err, sizeof(err)), 0, "%s", err);
	return p;
}

static double value_at(const struct preset_plan *p, int64_t t)
{
	struct sched s = { .start = p->start,
		           .stages = (struct stage *)p->stage,
		           .nstages = p->nstages,
		           .total_us = p->total_us };
	return sched_value_at(&s, t);
}

Test(preset, defaults_follow_the_practice)
{
	struct preset_plan p = plan_ok((struct preset_opts){ .type = TT_SMOKE, .level = 2 });
	cr_assert_eq(p.total_us, MIN_US);
	cr_assert(p.errors_zero);
	cr_assert_eq(value_at(&p, 0), 2);

	p = plan_ok((struct preset_opts){ .type = TT_LOAD, .open = true, .level = 100 });
	cr_assert_eq(p.total_us, 18 * MIN_US, "2m ramp, 15m hold, 1m ramp-down");
	cr_assert_eq(value_at(&p, MIN_US), 50);
	cr_assert_eq(value_at(&p, 10 * MIN_US), 100);

	p = plan_ok((struct preset_opts){ .type = TT_STRESS, .open = true, .level = 1000 });
	cr_assert_eq(p.total_us, 31 * MIN_US);
	cr_assert_eq(p.steps, 5);
	double want[] = { 1000, 2000, 3000, 4000, 5000 };
	for (int i = 0; i < 5; i++)
		cr_assert_eq(value_at(&p, (6 * i + 4) * MIN_US), want[i], "step %d", i + 1);

	p = plan_ok((struct preset_opts){ .type = TT_SPIKE, .open = true, .level = 100 });
	cr_assert_eq(value_at(&p, 0), 100);
	cr_assert_eq(value_at(&p, 2 * MIN_US - 1), 100);
	cr_assert_eq(value_at(&p, 2 * MIN_US), 1000, "the spike starts at once");
	cr_assert_eq(value_at(&p, 3 * MIN_US), 100, "and ends at once");
	cr_assert_eq(p.total_us, 8 * MIN_US);

	p = plan_ok((struct preset_opts){ .type = TT_SOAK, .level = 10 });
	cr_assert_eq(p.total_us, (5 + 120 + 1) * MIN_US);

	p = plan_ok((struct preset_opts){ .type = TT_BREAKPOINT, .open = true, .level = 100 });
	cr_assert_eq(p.total_us, 20 * MIN_US);
	cr_assert(p.abort_on_slo);
	cr_assert_eq(value_at(&p, 10 * MIN_US), 500, "raised steadily to 10x");
	cr_assert_eq(p.abort_delay_us, 30 * USEC_PER_SEC);
}

Test(preset, overrides)
{
	struct preset_plan p = plan_ok((struct preset_opts){ .type = TT_STRESS,
	                                                     .open = true,
	                                                     .level = 10,
	                                                     .peak = 3,
	                                                     .steps = 3,
	                                                     .ramp_us = USEC_PER_SEC,
	                                                     .step_us = 2 * USEC_PER_SEC,
	                                                     .ramp_down_us = -1 });
	cr_assert_eq(p.nstages, 6);
	cr_assert_eq(p.total_us, 9 * USEC_PER_SEC);
	cr_assert_eq(value_at(&p, 2 * USEC_PER_SEC), 10);
	cr_assert_eq(value_at(&p, 5 * USEC_PER_SEC), 20);
	cr_assert_eq(value_at(&p, 8 * USEC_PER_SEC), 30);
	char s[256];
	cr_assert(preset_stages_string(&p, s, sizeof(s)));
	cr_assert_str_eq(s, "1s:10,2s:10,1s:20,2s:20,1s:30,2s:30");

	p = plan_ok((struct preset_opts){ .type = TT_SPIKE,
	                                  .level = 5,
	                                  .peak = 4,
	                                  .warmup_us = 3 * USEC_PER_SEC,
	                                  .hold_us = 2 * USEC_PER_SEC,
	                                  .observe_us = 5 * USEC_PER_SEC });
	cr_assert(preset_stages_string(&p, s, sizeof(s)));
	cr_assert_str_eq(s, "3s:5,0s:20,2s:20,0s:5,5s:5");
	cr_assert_eq(p.start, 5);
}

Test(preset, stress_at_given_levels)
{
	/* `capacity sweep --concurrency 2,4,8,16`: --vus 2 --levels 1,2,4,8 */
	struct preset_plan p = plan_ok((struct preset_opts){ .type = TT_STRESS,
	                                                     .level = 2,
	                                                     .nlevels = 4,
	                                                     .levels = { 1, 2, 4, 8 },
	                                                     .ramp_us = USEC_PER_SEC,
	                                                     .step_us = 3 * USEC_PER_SEC,
	                                                     .ramp_down_us = -1 });
	cr_assert_eq(p.nstages, 8);
	cr_assert_eq(p.steps, 4);
	cr_assert_eq(p.peak, 8);
	char s[256];
	cr_assert(preset_stages_string(&p, s, sizeof(s)));
	cr_assert_str_eq(s, "1s:2,3s:2,1s:4,3s:4,1s:8,3s:8,1s:16,3s:16");
	cr_assert_str_eq(p.phase[7], "step 4 (8x)");

	static const struct {
		struct preset_opts o;
		const char *says;
	} bad[] = {
		/* 1.2 x 1 VU rounds to 1 VU: not above the level before */
		{ { .type = TT_STRESS, .level = 1, .nlevels = 2, .levels = { 1, 1.2 } },
		  "is not above the one before" },
		{ { .type = TT_STRESS, .level = 1, .nlevels = 2, .levels = { 1, 2 }, .steps = 3 },
		  "leave out --steps and --peak" },
		{ { .type = TT_STRESS, .level = 1, .nlevels = 2, .levels = { 1, 2e6 } }, "up to" },
		{ { .type = TT_LOAD, .level = 1, .nlevels = 2, .levels = { 1, 2 } }, "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char err[256] = "";
		if (bad[i].o.type == TT_LOAD) {
			cr_assert_str_eq(preset_unused(&bad[i].o), "levels");
			continue;
		}
		cr_assert_eq(preset_build(&bad[i].o, &p, err, sizeof(err)), -1, "case %zu", i);
		cr_assert(strstr(err, bad[i].says), "case %zu: '%s' lacks '%s'", i, err,
		          bad[i].says);
	}
}

Test(preset, bad_levels_and_shapes)
{
	static const struct {
		struct preset_opts o;
		const char *says;
	} bad[] = {
		{ { .type = TT_LOAD }, "expected level" },
		{ { .type = TT_LOAD, .level = NAN }, "expected level" },
		{ { .type = TT_LOAD, .level = -1 }, "expected level" },
		{ { .type = TT_SMOKE, .level = 6 }, "1-5 VUs" },
		{ { .type = TT_STRESS, .level = 1, .peak = 1 }, "more than 1" },
		{ { .type = TT_STRESS, .level = 1, .steps = 1 }, "from 2 to 20" },
		{ { .type = TT_STRESS, .level = 1, .steps = 21 }, "from 2 to 20" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct preset_plan p;
		char err[256] = "";
		cr_assert_eq(preset_build(&bad[i].o, &p, err, sizeof(err)), -1, "case %zu", i);
		cr_assert(strstr(err, bad[i].says), "case %zu: '%s' lacks '%s'", i, err,
		          bad[i].says);
	}
	enum test_type t;
	cr_assert_eq(test_type_parse("spike", &t), 0);
	cr_assert_eq(t, TT_SPIKE);
	cr_assert_eq(test_type_parse("Spike", &t), -1);
	cr_assert_str_eq(test_type_name(TT_BREAKPOINT), "breakpoint");
}

Test(slo, one_spec_gives_each_objective_once)
{
	struct slo_set s = { 0 };
	char err[256];
	cr_assert_eq(slo_parse("p95<200ms,p95<100ms", &s, err, sizeof(err)), -1);
	cr_assert(strstr(err, "'p95<200ms' and 'p95<100ms' set the same objective"), "%s", err);
	cr_assert_eq(s.n, 0, "the set is unchanged");
	/* a preset's objective is replaced by a later spec: that is what tightening is */
	cr_assert_eq(slo_preset("internal", &s, err, sizeof(err)), 0);
	cr_assert_eq(slo_parse("p95<50ms", &s, err, sizeof(err)), 0);
	cr_assert_str_eq(s.item[0].text, "p95<50ms");
	cr_assert_eq(s.n, 3);
}

Test(slo, seconds_are_written_as_seconds)
{
	struct slo_set s = { 0 };
	char err[256];
	cr_assert_eq(slo_parse("p(99.9)<1.5s,max<2s,p95<1234.5ms,p90<999ms", &s, err, sizeof(err)),
	             0);
	cr_assert_str_eq(s.item[0].text, "p99.9<1.5s");
	cr_assert_str_eq(s.item[1].text, "max<2s");
	cr_assert_str_eq(s.item[2].text, "p95<1234.5ms");
	cr_assert_str_eq(s.item[3].text, "p90<999ms");
}
