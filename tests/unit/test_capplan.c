/* test_capplan.c: analysis/capplan: the seed's worked example (1000 RPS at 55%, a 70% buffer,
 * 15%/month: 1273 RPS at the buffer, crossed in month 3), scenarios, triggers, the flag
 * parsers, edge cases (already over the buffer, no growth, bad input), a USL model over
 * concurrency and over instances, and the JSON document and its outputs. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/capplan.h"
#include "output/capacity_report.h"
#include "util/common.h"

static struct capplan plan; /* large: not on the stack */

static void seed_inputs(struct capplan_in *in)
{
	capplan_in_default(in);
	in->current_rps = 1000;
	in->current_util = 0.55;
	in->buffer = 0.70;
	in->growth = 0.15;
	in->horizon = 12;
}

static void compute_ok(const struct capplan_in *in)
{
	char err[256] = "";
	cr_assert_eq(capplan_compute(in, &plan, err, sizeof(err)), 0, "%s", err);
}

static int compute_err(const struct capplan_in *in, char *err, size_t len)
{
	err[0] = '\0';
	int rc = capplan_compute(in, &plan, err, len);
	if (rc < 0)
		cr_assert(strlen(err) > 0 && !strchr(err, '\n'), "one line: '%s'", err);
	return rc;
}

static char *fmt0(double v)
{
	static char s[8][32];
	static int k;
	k = (k + 1) % 8;
	snprintf(s[k], sizeof(s[k]), "%.0f", v);
	return s[k];
}

Test(capplan, reproduces_the_worked_example)
{
	struct capplan_in in;
	seed_inputs(&in);
	compute_ok(&in);
	/* capacity at 100% = 1000/0.55 = 1818; at the 70% buffer = 1000 × 70/55 = 1273 */
	cr_assert_str_eq(fmt0(plan.cap_total), "1818");
	cr_assert_float_eq(plan.cap_buffer, 1000.0 * 70 / 55, 1e-9);
	cr_assert_str_eq(fmt0(plan.cap_buffer), "1273");
	/* month 1 1000 (55%), month 2 1150 (63%), month 3 1322 (73%), as the seed prints them */
	cr_assert_eq(plan.nmonths, 12);
	const char *rps[3] = { "1000", "1150", "1322" }, *util[3] = { "55", "63", "73" };
	for (int m = 0; m < 3; m++) {
		cr_assert_eq(plan.months[m].month, m + 1);
		cr_assert_str_eq(fmt0(plan.months[m].rps), rps[m], "month %d", m + 1);
		cr_assert_str_eq(fmt0(plan.months[m].util * 100), util[m], "month %d", m + 1);
	}
	cr_assert_str_eq(plan.months[0].status, "ok");
	cr_assert_str_eq(plan.months[1].status, "warn"); /* 63% >= the 60% warning */
	cr_assert_str_eq(plan.months[2].status, "over buffer");
	/* the buffer is crossed in month 3; the warning (60% by default) in month 2 */
	cr_assert_str_eq(plan.triggers[1].name, "buffer");
	cr_assert_eq(plan.triggers[1].month, 3);
	cr_assert(plan.triggers[1].within);
	cr_assert_float_eq(plan.triggers[1].in_months, log(70.0 / 55) / log(1.15), 1e-12);
	cr_assert_str_eq(plan.triggers[0].name, "warn");
	cr_assert_float_eq(plan.in.warn, 0.60, 1e-12);
	cr_assert_eq(plan.triggers[0].month, 2);
	/* 100% (1818 RPS) runs out in month 6 (2011 RPS) */
	cr_assert_eq(plan.triggers[2].month, 6);
	bool said = false;
	for (int i = 0; i < plan.nsummary; i++)
		said |= strstr(plan.summary[i], "the limit is crossed in month 3") != NULL;
	cr_assert(said, "the summary says when the limit is crossed");
}

Test(capplan, scenarios_give_instances_months_and_actions)
{
	struct capplan_in in;
	seed_inputs(&in);
	in.cost_month = 0.17 * 730;
	compute_ok(&in);
	cr_assert_eq(plan.nscenarios, 3);
	/* ceil(k × 1000 / 1273): 2x 2, 5x 4 (the seed's "add 3 more servers"), 10x 8 */
	const double k[3] = { 2, 5, 10 };
	const int n[3] = { 2, 4, 8 };
	for (int i = 0; i < 3; i++) {
		const struct capplan_scenario *s = &plan.scenarios[i];
		cr_assert_float_eq(s->multiple, k[i], 0);
		cr_assert_float_eq(s->rps, k[i] * 1000, 1e-9);
		cr_assert_eq(s->instances, n[i], "%gx: %d", k[i], s->instances);
		cr_assert_eq(s->add, n[i] - 1);
		cr_assert_float_eq(s->cost_month, n[i] * 124.1, 1e-9);
		cr_assert_float_eq(s->add_cost_month, (n[i] - 1) * 124.1, 1e-9);
		cr_assert_float_eq(s->in_months, log(k[i]) / log(1.15), 1e-12);
		cr_assert(s->util <= 0.70 + 1e-12);
		cr_assert_eq(s->first_by, 3); /* today's instance passes the buffer in month 3 */
	}
	/* 2x arrives in month 6 (1000 × 1.15^5 = 2011 >= 2000), 4.96 months from now */
	cr_assert_eq(plan.scenarios[0].month, 6);
	cr_assert(plan.scenarios[0].within);
	cr_assert_eq(plan.scenarios[1].month, 13);
	cr_assert_not(plan.scenarios[1].within);
	cr_assert_str_eq(plan.scenarios[0].action, "add 1 instance (to 2) before month 3");
	/* 5x: the last of 3 must be in before 3 instances (3818 RPS) are passed: month 11 */
	cr_assert_eq(plan.scenarios[1].last_by, 11);
	cr_assert(strstr(plan.scenarios[1].action, "the first before month 3, the last before "
	                                           "month 11"),
	          "%s", plan.scenarios[1].action);
}

Test(capplan, the_schedule_steps_through_the_horizon)
{
	struct capplan_in in;
	seed_inputs(&in);
	compute_ok(&in);
	/* 1 instance until month 3, 2 until month 8, 3 until month 11, 4 last past month 12 */
	const int acts[4] = { 3, 8, 11, 13 };
	cr_assert_eq(plan.nsteps, 4);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(plan.steps[i].instances, i + 1);
		cr_assert_eq(plan.steps[i].act_month, acts[i], "step %d: %d", i,
		             plan.steps[i].act_month);
		cr_assert(plan.steps[i].warn_month <= plan.steps[i].act_month);
	}
	cr_assert_eq(plan.months[11].instances, 4);
}

Test(capplan, user_scenarios_instances_and_warn)
{
	struct capplan_in in;
	seed_inputs(&in);
	in.instances = 4; /* 1000 RPS over 4 instances at 55%: 454.5 RPS each at 100% */
	in.warn = 0.50;
	cr_assert_eq(capplan_add_scenario(&in, 3), 0);
	cr_assert_eq(capplan_add_scenario(&in, 3), 0); /* present: kept once */
	cr_assert_eq(capplan_add_scenario(&in, 0), -EINVAL);
	compute_ok(&in);
	cr_assert_eq(plan.nscenarios, 4);
	cr_assert_float_eq(plan.scenarios[1].multiple, 3, 0);
	cr_assert_float_eq(plan.cap_instance, 1000 / 0.55 / 4, 1e-9);
	/* 3x = 3000 RPS: ceil(3000 / (0.7 × 454.5)) = ceil(9.43) = 10 */
	cr_assert_eq(plan.scenarios[1].instances, 10);
	cr_assert_eq(plan.scenarios[1].add, 6);
	cr_assert_eq(plan.triggers[0].month, 1); /* 55% is above a 50% warning already */
	cr_assert_eq(plan.triggers[1].month, 3);
}

Test(capplan, already_over_the_buffer_is_a_trigger_not_an_error)
{
	struct capplan_in in;
	seed_inputs(&in);
	in.current_util = 0.80;
	compute_ok(&in);
	cr_assert_eq(plan.triggers[1].month, 1);
	cr_assert_float_eq(plan.triggers[1].in_months, 0, 0);
	cr_assert_str_eq(plan.months[0].status, "over buffer");
	cr_assert_eq(plan.months[0].instances, 2);
	cr_assert(strstr(plan.summary[1], "Already over the buffer"), "%s", plan.summary[1]);
	cr_assert_eq(plan.scenarios[0].first_by, 1);
	cr_assert(strstr(plan.scenarios[0].action, "now"), "%s", plan.scenarios[0].action);
}

Test(capplan, no_growth_never_crosses)
{
	struct capplan_in in;
	seed_inputs(&in);
	in.growth = 0;
	compute_ok(&in);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(plan.triggers[i].month, 0);
		cr_assert(isinf(plan.triggers[i].in_months));
		cr_assert_not(plan.triggers[i].within);
	}
	cr_assert_float_eq(plan.months[11].rps, 1000, 1e-9);
	cr_assert_eq(plan.scenarios[0].month, 0);
	cr_assert(isinf(plan.scenarios[0].in_months));
	cr_assert(strstr(plan.summary[1], "never crossed"), "%s", plan.summary[1]);
	cr_assert(strstr(plan.scenarios[0].action, "before the load reaches 2x"), "%s",
	          plan.scenarios[0].action);
	cr_assert_eq(plan.nsteps, 1);
}

Test(capplan, slow_growth_says_beyond_the_horizon)
{
	struct capplan_in in;
	seed_inputs(&in);
	in.growth = 0.01; /* 1%/month: 70/55 is reached in 24.2 months: month 26 */
	compute_ok(&in);
	cr_assert_eq(plan.triggers[1].month, 26);
	cr_assert_not(plan.triggers[1].within);
	cr_assert(strstr(plan.summary[1], "not crossed within the 12-month horizon"), "%s",
	          plan.summary[1]);
}

Test(capplan, bad_input_is_one_line)
{
	struct capplan_in in;
	char err[256];
	seed_inputs(&in);
	in.current_rps = 0;
	cr_assert_eq(compute_err(&in, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "--current-rps"), "%s", err);
	seed_inputs(&in);
	in.current_util = 1.2;
	cr_assert_eq(compute_err(&in, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "--current-util"), "%s", err);
	seed_inputs(&in);
	in.current_util = NAN;
	cr_assert_eq(compute_err(&in, err, sizeof(err)), -EINVAL);
	seed_inputs(&in);
	in.buffer = 0;
	cr_assert_eq(compute_err(&in, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "--buffer"), "%s", err);
	seed_inputs(&in);
	in.warn = 0.75;
	cr_assert_eq(compute_err(&in, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "--warn"), "%s", err);
	seed_inputs(&in);
	in.growth = -0.1;
	cr_assert_eq(compute_err(&in, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "--growth"), "%s", err);
	seed_inputs(&in);
	in.horizon = 0;
	cr_assert_eq(compute_err(&in, err, sizeof(err)), -EINVAL);
	seed_inputs(&in);
	in.instances = 0;
	cr_assert_eq(compute_err(&in, err, sizeof(err)), -EINVAL);
	seed_inputs(&in);
	in.cost_month = -1;
	cr_assert_eq(compute_err(&in, err, sizeof(err)), -EINVAL);
	seed_inputs(&in);
	in.optimise = 1;
	cr_assert_eq(compute_err(&in, err, sizeof(err)), -EINVAL);
}

Test(capplan, parses_flag_values)
{
	double v;
	cr_assert_eq(capplan_parse_percent("55%", &v), 0);
	cr_assert_float_eq(v, 0.55, 1e-15);
	cr_assert_eq(capplan_parse_percent("55", &v), -EINVAL); /* the % is required */
	cr_assert_eq(capplan_parse_percent("-5%", &v), -EINVAL);
	cr_assert_eq(capplan_parse_percent("5%%", &v), -EINVAL);
	cr_assert_eq(capplan_parse_growth("15%/month", &v), 0);
	cr_assert_float_eq(v, 0.15, 1e-15);
	cr_assert_eq(capplan_parse_growth("15%", &v), 0);
	cr_assert_float_eq(v, 0.15, 1e-15);
	cr_assert_eq(capplan_parse_growth("20%/year", &v), 0);
	cr_assert_float_eq(pow(1 + v, 12), 1.2, 1e-12);
	cr_assert_eq(capplan_parse_growth("10%/quarter", &v), 0);
	cr_assert_float_eq(pow(1 + v, 3), 1.1, 1e-12);
	cr_assert_eq(capplan_parse_growth("1%/week", &v), 0);
	cr_assert_float_eq(pow(1 + v, 168 / 730.0), 1.01, 1e-12);
	cr_assert_eq(capplan_parse_growth("15%/fortnight", &v), -EINVAL);
	cr_assert_eq(capplan_parse_growth("-15%/month", &v), -EINVAL);
	cr_assert_eq(capplan_parse_growth("15/month", &v), -EINVAL);
	cr_assert_eq(capplan_parse_cost("0.17/h", &v), 0);
	cr_assert_float_eq(v, 124.1, 1e-9);
	cr_assert_eq(capplan_parse_cost("120/month", &v), 0);
	cr_assert_float_eq(v, 120, 0);
	cr_assert_eq(capplan_parse_cost("1440/year", &v), 0);
	cr_assert_float_eq(v, 120, 1e-12);
	cr_assert_eq(capplan_parse_cost("4/day", &v), 0);
	cr_assert_float_eq(v, 4 * 730 / 24.0, 1e-12);
	cr_assert_eq(capplan_parse_cost("0.17", &v), -EINVAL); /* a unit is required */
	cr_assert_eq(capplan_parse_cost("0.17/minute", &v), -EINVAL);
	cr_assert_eq(capplan_parse_multiple("3x", &v), 0);
	cr_assert_float_eq(v, 3, 0);
	cr_assert_eq(capplan_parse_multiple("2.5×", &v), 0);
	cr_assert_float_eq(v, 2.5, 0);
	cr_assert_eq(capplan_parse_multiple("0x", &v), -EINVAL);
	cr_assert_eq(capplan_parse_multiple("3y", &v), -EINVAL);
}

/* A fit by hand: σ = 0.02, κ = 0.0005, λ = 30: N* = sqrt(0.98/0.0005) = 44.3. */
static void hand_fit(struct usl_fit *f)
{
	*f = (struct usl_fit){ .sigma = 0.02, .kappa = 0.0005, .lambda = 30, .r2 = 0.99 };
	f->n_star = sqrt((1 - f->sigma) / f->kappa);
	f->x_max = usl_throughput(f, f->n_star);
	f->limit = "coherency";
}

Test(capplan, a_model_over_concurrency_gives_the_capacity)
{
	struct usl_fit f;
	struct capplan_in in;
	char err[256];
	hand_fit(&f);
	capplan_in_default(&in);
	in.current_rps = 1000;
	in.growth = 0.15;
	in.instances = 4;
	in.model = &f;
	compute_ok(&in);
	cr_assert(plan.has_model);
	cr_assert_float_eq(plan.cap_instance, f.x_max, 1e-9);
	cr_assert_float_eq(plan.util_now, 1000 / (4 * f.x_max), 1e-12);
	cr_assert_float_eq(plan.cap_buffer, 0.7 * 4 * f.x_max, 1e-9);
	/* the concurrency that gives 70% of X_max on one instance */
	cr_assert_float_eq(usl_throughput(&f, plan.conc_buffer), 0.7 * f.x_max, 1e-6);
	/* 2x = 2000 RPS: ceil(2000 / (0.7 X_max)) instances */
	cr_assert_eq(plan.scenarios[0].instances, (int)ceil(2000 / (0.7 * f.x_max)));
	/* one instance cannot carry 2000 RPS at any concurrency: said */
	cr_assert(isnan(plan.scenarios[0].concurrency));
	cr_assert(strstr(plan.scenarios[0].action, "more concurrency does not help"), "%s",
	          plan.scenarios[0].action);
	/* the utilisation and the model together are ambiguous */
	in.current_util = 0.5;
	cr_assert_eq(compute_err(&in, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "--current-util"), "%s", err);
	/* a linear model has no capacity */
	in.current_util = NAN;
	f = (struct usl_fit){
		.lambda = 10, .n_star = INFINITY, .x_max = INFINITY, .limit = "linear"
	};
	cr_assert_eq(compute_err(&in, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "no capacity"), "%s", err);
}

Test(capplan, a_model_over_instances_stops_at_n_star)
{
	struct usl_fit f;
	struct capplan_in in;
	hand_fit(&f); /* here N counts instances: the cluster peaks at 44.3 of them */
	capplan_in_default(&in);
	in.current_rps = 150; /* X(10) = 244.9: 61% */
	in.growth = 0.15;
	in.horizon = 60;
	in.instances = 10;
	in.model = &f;
	in.over = CAPPLAN_OVER_INSTANCES;
	compute_ok(&in);
	cr_assert(isnan(plan.cap_instance));
	cr_assert_float_eq(plan.cap_total, usl_throughput(&f, 10), 1e-9);
	/* 2x (300 RPS): the fewest n with 0.7 X(n) >= 300 */
	int n = plan.scenarios[0].instances;
	cr_assert_gt(n, 10);
	cr_assert_geq(0.7 * usl_throughput(&f, n), 300 * (1 - 1e-9));
	cr_assert_lt(0.7 * usl_throughput(&f, n - 1), 300);
	/* 10x (1500 RPS) is above 0.7 X_max (329): no number of instances carries it */
	cr_assert_gt(1500, 0.7 * f.x_max);
	cr_assert_eq(plan.scenarios[2].instances, -1);
	cr_assert(strstr(plan.scenarios[2].action, "more instances of the same kind do not help"),
	          "%s", plan.scenarios[2].action);
	cr_assert(plan.steps_capped, "the schedule stops at N*");
	cr_assert_leq(plan.steps[plan.nsteps - 1].instances, (int)ceil(f.n_star));
}

Test(capplan, the_json_document_and_its_outputs)
{
	struct capplan_in in;
	seed_inputs(&in);
	in.cost_month = 120;
	in.currency = "USD";
	compute_ok(&in);
	json_t *doc = capplan_json(&plan);
	cr_assert_not_null(doc);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "format")),
	                 "stampede-capacity-plan/1");
	const json_t *cap = json_object_get(doc, "capacity");
	cr_assert_str_eq(fmt0(json_number_value(json_object_get(cap, "bufferRps"))), "1273");
	const json_t *m3 = json_array_get(json_object_get(doc, "months"), 2);
	cr_assert_eq(json_integer_value(json_object_get(m3, "month")), 3);
	cr_assert_str_eq(json_string_value(json_object_get(m3, "status")), "over buffer");
	const json_t *buf = json_array_get(json_object_get(doc, "triggers"), 1);
	cr_assert_eq(json_integer_value(json_object_get(buf, "month")), 3);
	const json_t *s10 = json_array_get(json_object_get(doc, "scenarios"), 2);
	cr_assert_eq(json_integer_value(json_object_get(s10, "instances")), 8);
	cr_assert_float_eq(json_number_value(json_object_get(s10, "costMonth")), 960, 1e-9);

	/* the terminal table carries the example's figures */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_eq(capacity_plan_text(f, doc, false), 0);
	fclose(f);
	cr_assert(strstr(text, "1273 RPS"), "%s", text);
	cr_assert(strstr(text, "1322    73"), "%s", text);
	cr_assert(strstr(text, "the limit is crossed in month 3"), "%s", text);
	cr_assert_null(strchr(text, '\033'), "no colour when not asked");
	free(text);

	/* the Markdown document: its sections and a table whose rows have the header's cells */
	char *md = capacity_plan_markdown(doc);
	const char *sections[] = { "# Capacity plan",
		                   "## Current consumption",
		                   "## Growth projection",
		                   "## Triggers",
		                   "## Scenarios: resources and cost",
		                   "## What must change before each threshold" };
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		cr_assert(strstr(md, sections[i]), "%s missing", sections[i]);
	cr_assert(strstr(md, "| 3 | 1322 | 73% | 2 | over buffer |"), "%s", md);
	cr_assert(strstr(md, "| 10x | 10000 | 8 | 7 | 69% | 960.00 | 840.00 |"), "%s", md);
	free(md);
	json_decref(doc);
}

Test(capplan, a_contention_limited_model_levels_off)
{
	/* κ = 0: X(N) = λN / (1 + σ(N − 1)) rises to λ/σ = 1000 and never falls */
	struct usl_fit f = { .sigma = 0.05,
		             .kappa = 0,
		             .lambda = 50,
		             .r2 = 0.98,
		             .n_star = INFINITY,
		             .x_max = 1000,
		             .limit = "contention" };
	struct capplan_in in;
	capplan_in_default(&in);
	in.current_rps = 1500;
	in.instances = 3;
	in.growth = 0.10;
	in.model = &f;
	compute_ok(&in);
	cr_assert_float_eq(plan.cap_total, 3000, 1e-9);
	cr_assert_float_eq(usl_throughput(&f, plan.conc_buffer), 700, 1e-6);
	cr_assert_eq(plan.scenarios[0].instances, 5); /* ceil(3000 / 700) */
	cr_assert(strstr(plan.summary[0], "approached but never reached"), "%s", plan.summary[0]);
	/* over instances, today's load above the model's capacity is said, not refused */
	in.over = CAPPLAN_OVER_INSTANCES;
	in.instances = 12;
	in.current_rps = 500; /* X(12) = 387 */
	compute_ok(&in);
	cr_assert_gt(plan.util_now, 1);
	cr_assert(strstr(plan.summary[1], "above the model's capacity"), "%s", plan.summary[1]);
	cr_assert_eq(plan.triggers[1].month, 1);
}

Test(capplan, small_loads_are_not_zero_in_the_summary)
{
	struct capplan_in in;
	seed_inputs(&in);
	in.current_rps = 0.4;
	in.current_util = 0.5;
	compute_ok(&in);
	cr_assert(strstr(plan.summary[0], "Capacity: 0.8 RPS at 100% (0.4 RPS at 50%)"), "%s",
	          plan.summary[0]);
}

Test(capplan, a_model_without_usable_capacity_is_refused)
{
	struct usl_fit f;
	struct capplan_in in;
	char err[256];
	hand_fit(&f);
	f.lambda = 1e-308;
	f.x_max = 1e-307;
	capplan_in_default(&in);
	in.current_rps = 1000;
	in.growth = 0.15;
	in.model = &f;
	cr_assert_eq(compute_err(&in, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "no usable capacity"), "%s", err);
	f.x_max = NAN;
	cr_assert_eq(compute_err(&in, err, sizeof(err)), -EINVAL);
}

Test(capplan, todays_fleet_past_n_star_is_judged_as_it_is)
{
	struct usl_fit f;
	struct capplan_in in;
	hand_fit(&f); /* N counts instances: the cluster peaks at 44.3 of them */
	capplan_in_default(&in);
	in.instances = 150; /* far past N*: fewer carry more */
	in.model = &f;
	in.over = CAPPLAN_OVER_INSTANCES;
	double today = usl_throughput(&f, 150);
	in.current_rps = 0.3 * today;
	in.growth = 0.10;
	in.nscenarios = 0;
	cr_assert_eq(capplan_add_scenario(&in, 1.5), 0); /* 45% of today's: no change */
	/* 0.7 x_max above today's 100%: today's fleet does not carry it, 40 instances do */
	double k = 0.69 * f.x_max / in.current_rps;
	cr_assert_gt(k * in.current_rps, 0.7 * today);
	cr_assert_eq(capplan_add_scenario(&in, k), 0);
	compute_ok(&in);
	const struct capplan_scenario *a = &plan.scenarios[0], *b = &plan.scenarios[1];
	cr_assert_eq(a->instances, 150);
	cr_assert_eq(a->remove, 0);
	cr_assert_float_eq(a->util, 1.5 * in.current_rps / today, 1e-12);
	cr_assert(strstr(a->action, "today's 150 instances carry it at 45%: no change"), "%s",
	          a->action);
	cr_assert_gt(b->remove, 0);
	cr_assert_eq(b->instances + b->remove, 150);
	cr_assert_lt(b->instances, 150);
	cr_assert_geq(0.7 * usl_throughput(&f, b->instances), b->rps * (1 - 1e-9));
	cr_assert(strstr(b->action, "shrink to"), "%s", b->action);
	bool said = false;
	for (int i = 0; i < plan.nsummary; i++)
		said |=
		    strstr(plan.summary[i], "past N*") && strstr(plan.summary[i], "shrink to 44");
	cr_assert(said, "%s", plan.summary[1]);
}

Test(capplan, one_instance_carries)
{
	struct usl_fit f;
	struct capplan_in in;
	hand_fit(&f);
	capplan_in_default(&in);
	in.current_rps = 10;
	in.growth = 0.01;
	in.model = &f;
	compute_ok(&in);
	cr_assert(strstr(plan.summary[0], "1 instance carries"), "%s", plan.summary[0]);
	cr_assert_str_eq(plan.cap_basis, "fitted"); /* nothing measured is known */
}
