/* capplan.c: the capacity plan: growth against a headroom buffer, scenarios, triggers. */
#include "analysis/capplan.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

#define REL_EPS      1e-9 /* a load "above" a threshold must pass it by more than rounding */
#define MONTHS_NEVER 1e6  /* a crossing further away than this is "never" */

/* A rate or a percentage for a sentence (a buffer of the full expression's lifetime). */
#define RATE(v) format_rate((v), (char[40]){ 0 }, 40)
#define PCT(v)  format_percent((v), (char[40]){ 0 }, 40)

void capplan_in_default(struct capplan_in *in)
{
	*in = (struct capplan_in){
		.current_rps = NAN,
		.current_util = NAN,
		.buffer = 0.70,
		.warn = NAN,
		.growth = NAN,
		.horizon = 12,
		.instances = 1,
		.scenarios = { 2, 5, 10 },
		.nscenarios = 3,
		.cost_month = NAN,
	};
}

int capplan_add_scenario(struct capplan_in *in, double k)
{
	if (!isfinite(k) || k <= 0 || k > CAPPLAN_MULTIPLE_MAX)
		return -EINVAL;
	int i = 0;
	while (i < in->nscenarios && in->scenarios[i] < k)
		i++;
	if (i < in->nscenarios && in->scenarios[i] == k)
		return 0;
	if (in->nscenarios == CAPPLAN_SCENARIOS_MAX)
		return -ENOSPC;
	memmove(&in->scenarios[i + 1], &in->scenarios[i],
	        (size_t)(in->nscenarios - i) * sizeof(in->scenarios[0]));
	in->scenarios[i] = k;
	in->nscenarios++;
	return 0;
}

/* --- parsing flag values ------------------------------------------------------------ */

/* A plain decimal at s, its end in *end. */
static int decimal(const char *s, double *out, const char **end)
{
	const char *p = s;
	int digits = 0, dots = 0;
	while ((*p >= '0' && *p <= '9') || *p == '.') {
		digits += *p != '.';
		dots += *p == '.';
		p++;
	}
	if (!digits || dots > 1)
		return -EINVAL;
	char tmp[64];
	if ((size_t)(p - s) >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, (size_t)(p - s));
	tmp[p - s] = '\0';
	*out = strtod(tmp, NULL);
	*end = p;
	return isfinite(*out) ? 0 : -EINVAL;
}

static bool word_in(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (!strcasecmp(s, *words))
			return true;
	return false;
}

int capplan_parse_percent(const char *s, double *out)
{
	const char *end;
	double v;
	if (!s || decimal(s, &v, &end) < 0 || strcmp(end, "%"))
		return -EINVAL;
	*out = v / 100;
	return 0;
}

int capplan_parse_growth(const char *s, double *out)
{
	static const char *const month[] = { "month", "mo", "m", NULL };
	static const char *const week[] = { "week", "wk", "w", NULL };
	static const char *const quarter[] = { "quarter", "q", NULL };
	static const char *const year[] = { "year", "yr", "y", NULL };
	const char *end;
	double v;
	if (!s || decimal(s, &v, &end) < 0 || *end != '%')
		return -EINVAL;
	end++;
	double g = v / 100, months_per_unit;
	if (!*end)
		months_per_unit = 1;
	else if (*end != '/')
		return -EINVAL;
	else if (word_in(end + 1, month))
		months_per_unit = 1;
	else if (word_in(end + 1, week))
		months_per_unit = 7 * 24 / CAPPLAN_HOURS_PER_MONTH;
	else if (word_in(end + 1, quarter))
		months_per_unit = 3;
	else if (word_in(end + 1, year))
		months_per_unit = 12;
	else
		return -EINVAL;
	*out = months_per_unit == 1 ? g : pow(1 + g, 1 / months_per_unit) - 1;
	return 0;
}

int capplan_parse_cost(const char *s, double *out)
{
	static const char *const hour[] = { "h", "hour", "hr", NULL };
	static const char *const day[] = { "d", "day", NULL };
	static const char *const month[] = { "month", "mo", NULL };
	static const char *const year[] = { "year", "yr", "y", NULL };
	const char *end;
	double v;
	if (!s || decimal(s, &v, &end) < 0 || *end != '/')
		return -EINVAL;
	end++;
	if (word_in(end, hour))
		*out = v * CAPPLAN_HOURS_PER_MONTH;
	else if (word_in(end, day))
		*out = v * CAPPLAN_HOURS_PER_MONTH / 24;
	else if (word_in(end, month))
		*out = v;
	else if (word_in(end, year))
		*out = v / 12;
	else
		return -EINVAL;
	return 0;
}

int capplan_parse_multiple(const char *s, double *out)
{
	const char *end;
	double v;
	if (!s || decimal(s, &v, &end) < 0)
		return -EINVAL;
	if (*end && strcasecmp(end, "x") && strcmp(end, "×"))
		return -EINVAL;
	if (v <= 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* --- the model of capacity ---------------------------------------------------------- */

static bool over_instances(const struct capplan *p)
{
	return p->has_model && p->in.over == CAPPLAN_OVER_INSTANCES;
}

/* The throughput of n instances at 100% (n >= 1). */
static double capacity_of(const struct capplan *p, double n)
{
	if (over_instances(p))
		return usl_throughput(&p->model, n);
	return n * p->cap_instance;
}

/* The fewest instances whose capacity at share s (the buffer) carries rps; -1 when no count
 * up to CAPPLAN_INSTANCES_MAX does. opt: a cut of the cost per request (capacity / (1-opt)). */
static int instances_for(const struct capplan *p, double rps, double s, double opt)
{
	double need = rps * (1 - opt) / s; /* the capacity at 100% that is needed */
	double n;
	if (over_instances(p)) {
		n = usl_concurrency_for(&p->model, need * (1 - REL_EPS));
		if (!isfinite(n))
			return -1;
		n = ceil(n - REL_EPS);
		if (n < 1)
			n = 1;
		if (usl_throughput(&p->model, n) < need * (1 - REL_EPS))
			return -1; /* the peak falls between two whole counts */
	} else {
		n = ceil(need / p->cap_instance - REL_EPS);
	}
	if (n < 1)
		n = 1;
	return n > CAPPLAN_INSTANCES_MAX ? -1 : (int)n;
}

/* Months from now until the load, growing by g a month from rps, reaches t: 0 when it is
 * there already, INFINITY when it never does. */
static double months_to(double rps, double g, double t)
{
	if (rps >= t * (1 - REL_EPS))
		return 0;
	if (g <= 0)
		return INFINITY;
	double m = log(t / rps) / log1p(g);
	return m > MONTHS_NEVER ? INFINITY : m;
}

static double load_in(const struct capplan *p, int month)
{
	return p->in.current_rps * pow(1 + p->in.growth, month - 1);
}

/* Whether load l is above t (strict) or at least t (!strict), beyond rounding. */
static bool past(double l, double t, bool strict)
{
	return strict ? l > t * (1 + REL_EPS) : l >= t * (1 - REL_EPS);
}

/* The first month whose load is above t (strict) or at least t (!strict): 1 when today's
 * is; 0 when never. */
static int first_month(const struct capplan *p, double t, bool strict)
{
	if (past(p->in.current_rps, t, strict))
		return 1;
	double m = months_to(p->in.current_rps, p->in.growth, t);
	if (!isfinite(m))
		return 0;
	int month = MAX((int)floor(m) + 1, 1);
	/* settle rounding at the boundary by the loads themselves */
	for (int k = 0; k < 4; k++) {
		if (!past(load_in(p, month), t, strict))
			month++;
		else if (month > 1 && past(load_in(p, month - 1), t, strict))
			month--;
		else
			break;
	}
	return month;
}

static void say(struct capplan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct capplan *p, const char *fmt, ...)
{
	if (p->nsummary == (int)ARRAY_SIZE(p->summary))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->summary[p->nsummary++], sizeof(p->summary[0]), fmt, ap);
	va_end(ap);
}

static const char *plural(double n)
{
	return n == 1 ? "" : "s";
}

/* --- checking the inputs ------------------------------------------------------------ */

static int bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int check_inputs(const struct capplan_in *in, char *err, size_t errlen)
{
	if (!(isfinite(in->current_rps) && in->current_rps > 0 &&
	      in->current_rps <= CAPPLAN_RPS_MAX))
		return bad(err, errlen,
		           "give today's peak load with --current-rps (above 0, at most %g RPS)",
		           CAPPLAN_RPS_MAX);
	if (in->model && isfinite(in->current_util))
		return bad(err, errlen,
		           "--current-util and --model both give the capacity: give one of them");
	if (!in->model &&
	    !(isfinite(in->current_util) && in->current_util > 0 && in->current_util <= 1))
		return bad(err, errlen, "%s",
		           isnan(in->current_util)
		               ? "give today's utilisation with --current-util (e.g. 55%), or a "
		                 "fitted model with --model FIT.json"
		               : "--current-util must be above 0% and at most 100%");
	if (!(isfinite(in->buffer) && in->buffer > 0 && in->buffer <= 1))
		return bad(err, errlen, "--buffer must be above 0%% and at most 100%%");
	if (!isnan(in->warn) && !(isfinite(in->warn) && in->warn > 0 && in->warn < in->buffer))
		return bad(err, errlen, "--warn must be above 0%% and below the buffer (%g%%)",
		           in->buffer * 100);
	if (!(isfinite(in->growth) && in->growth >= 0 && in->growth <= CAPPLAN_GROWTH_MAX))
		return bad(err, errlen, "%s",
		           isnan(in->growth)
		               ? "give the growth rate with --growth (e.g. 15%/month; "
		                 "0% for none)"
		               : "--growth must be 0% or more, at most 1000% a month");
	if (in->horizon < 1 || in->horizon > CAPPLAN_HORIZON_MAX)
		return bad(err, errlen, "--horizon must be 1 to %d months", CAPPLAN_HORIZON_MAX);
	if (in->instances < 1 || in->instances > CAPPLAN_INSTANCES_MAX)
		return bad(err, errlen, "--instances must be 1 to %d", CAPPLAN_INSTANCES_MAX);
	if (in->nscenarios < 0 || in->nscenarios > CAPPLAN_SCENARIOS_MAX)
		return bad(err, errlen, "at most %d scenarios", CAPPLAN_SCENARIOS_MAX);
	for (int i = 0; i < in->nscenarios; i++)
		if (!(isfinite(in->scenarios[i]) && in->scenarios[i] > 0 &&
		      in->scenarios[i] <= CAPPLAN_MULTIPLE_MAX))
			return bad(err, errlen,
			           "a scenario's multiple must be above 0 and at most %g",
			           CAPPLAN_MULTIPLE_MAX);
	if (!isnan(in->cost_month) && !(isfinite(in->cost_month) && in->cost_month >= 0 &&
	                                in->cost_month <= CAPPLAN_COST_MAX))
		return bad(err, errlen, "--cost-per-instance must be 0 or more, at most %g a month",
		           CAPPLAN_COST_MAX);
	if (!(isfinite(in->optimise) && in->optimise >= 0 && in->optimise < 1))
		return bad(err, errlen, "--optimise must be 0%% or more and below 100%%");
	if (in->model) {
		const struct usl_fit *f = in->model;
		if (!(isfinite(f->x_max) && f->x_max > 0))
			return bad(err, errlen,
			           "the model gives no capacity (X_max %s: %s scaling); plan with "
			           "--current-util instead",
			           isinf(f->x_max) ? "infinite" : "not positive",
			           f->limit ? f->limit : "?");
		if (f->x_max < CAPPLAN_XMAX_MIN || f->lambda < CAPPLAN_XMAX_MIN)
			return bad(err, errlen,
			           "the model gives no usable capacity (λ %.3g, X_max %.3g RPS: "
			           "at least %g RPS is needed); check the fit's units",
			           f->lambda, f->x_max, CAPPLAN_XMAX_MIN);
		if (!(isfinite(f->lambda) && f->lambda > 0 && f->sigma >= 0 && f->kappa >= 0))
			return bad(err, errlen, "the model's coefficients are not a USL fit");
	}
	return 0;
}

/* --- the parts of the plan ---------------------------------------------------------- */

static void capacities(struct capplan *p)
{
	const struct capplan_in *in = &p->in;
	if (p->has_model) {
		double xm = p->model.x_max;
		p->cap_basis = "fitted";
		if (isfinite(p->model.x_measured) && p->model.x_measured > 0 &&
		    p->model.x_measured < xm) {
			xm = p->model.x_measured;
			p->cap_basis = "measured";
		}
		if (over_instances(p)) {
			p->cap_basis = "fitted";
			p->cap_instance = NAN;
			p->cap_total = usl_throughput(&p->model, in->instances);
			/* no count carries more than the best measured (a smooth curve
			 * overshoots a plateau) */
			if (isfinite(p->model.x_measured) && p->model.x_measured > 0 &&
			    p->cap_total > p->model.x_measured) {
				p->cap_total = p->model.x_measured;
				p->cap_basis = "measured";
			}
		} else {
			p->cap_instance = xm;
			p->cap_total = xm * in->instances;
			p->conc_buffer = usl_concurrency_for(&p->model, in->buffer * xm);
		}
		p->util_now = in->current_rps / p->cap_total;
		p->in.current_util = p->util_now;
	} else {
		p->cap_total = in->current_rps / in->current_util;
		p->cap_instance = p->cap_total / in->instances;
		p->util_now = in->current_util;
	}
	p->cap_buffer = p->cap_total * in->buffer;
	p->cap_warn = p->cap_total * in->warn;
}

static void months(struct capplan *p)
{
	p->nmonths = p->in.horizon;
	for (int m = 1; m <= p->nmonths; m++) {
		struct capplan_month *mo = &p->months[m - 1];
		mo->month = m;
		mo->rps = load_in(p, m);
		mo->util = mo->rps / p->cap_total;
		mo->instances = instances_for(p, mo->rps, p->in.buffer, 0);
		mo->status = mo->util > 1 + REL_EPS              ? "over capacity"
		             : mo->util > p->in.buffer + REL_EPS ? "over buffer"
		             : mo->util >= p->in.warn - REL_EPS  ? "warn"
		                                                 : "ok";
	}
}

static void triggers(struct capplan *p)
{
	static const char *const names[3] = { "warn", "buffer", "capacity" };
	const double utils[3] = { p->in.warn, p->in.buffer, 1 };
	for (int i = 0; i < 3; i++) {
		struct capplan_trigger *t = &p->triggers[i];
		t->name = names[i];
		t->util = utils[i];
		t->rps = p->cap_total * utils[i];
		t->month = first_month(p, t->rps, true);
		t->in_months =
		    t->month == 1 ? 0 : months_to(p->in.current_rps, p->in.growth, t->rps);
		t->within = t->month >= 1 && t->month <= p->in.horizon;
	}
}

/* The scaling schedule: from today's fleet, the month each count's buffer is crossed and
 * the count the load of that month needs next, until a count lasts past the horizon (or no
 * count carries the load: past a model's N*, or more than CAPPLAN_INSTANCES_MAX). */
static void schedule(struct capplan *p)
{
	int n = p->in.instances;
	for (;;) {
		if (p->nsteps == CAPPLAN_STEPS_MAX) {
			p->steps_truncated = true;
			return;
		}
		double c = capacity_of(p, n);
		struct capplan_step *s = &p->steps[p->nsteps++];
		s->instances = n;
		s->rps_warn = c * p->in.warn;
		s->rps_buffer = c * p->in.buffer;
		s->warn_month = first_month(p, s->rps_warn, true);
		s->act_month = first_month(p, s->rps_buffer, true);
		if (s->act_month == 0 || s->act_month > p->in.horizon)
			return;
		int next = instances_for(p, load_in(p, s->act_month), p->in.buffer, 0);
		if (next > 0 && next <= n && over_instances(p)) {
			/* past N* fewer instances carry that month's load: shrink, not add */
			p->steps_shrink = true;
			return;
		}
		if (next <= n) { /* no count carries that month's load */
			p->steps_capped = over_instances(p);
			p->steps_truncated = !p->steps_capped;
			return;
		}
		n = next;
	}
}

/* Where the model's throughput peaks, for a sentence: "X_max 396 RPS at N* = 23.4" or, with
 * no coherency cost (κ = 0: X levels off at λ/σ), "X_max 396 RPS, approached but never
 * reached". */
static const char *peak(const struct capplan *p, char *s, size_t len)
{
	if (isfinite(p->model.n_star))
		snprintf(s, len, "X_max %s RPS at N* = %.1f", RATE(p->model.x_max),
		         p->model.n_star);
	else
		snprintf(s, len, "X_max %s RPS, approached but never reached",
		         RATE(p->model.x_max));
	return s;
}

/* "now", "before month M", or (never reached) "before the load reaches Kx". */
static void when(char *w, size_t len, int month, double k)
{
	if (month == 1)
		snprintf(w, len, "now");
	else if (month > 1)
		snprintf(w, len, "before month %d", month);
	else
		snprintf(w, len, "before the load reaches %gx", k);
}

static void scenario_action(struct capplan *p, struct capplan_scenario *s)
{
	char *a = s->action, first[64], last[64], pk[128], best[128];
	size_t len = sizeof(s->action), off = 0;
#define ADD(...) (off += (size_t)snprintf(a + off, off < len ? len - off : 0, __VA_ARGS__))
	when(first, sizeof(first), s->first_by, s->multiple);
	when(last, sizeof(last), s->last_by, s->multiple);
	if (s->instances < 0 && over_instances(p))
		ADD("no number of these instances carries %s RPS at the %.0f%% buffer (%s): more "
		    "instances of the same kind do not help; use bigger instances, shard, or cut "
		    "the shared work",
		    RATE(s->rps), p->in.buffer * 100, peak(p, pk, sizeof(pk)));
	else if (s->remove > 0)
		ADD("shrink to %d instance%s (remove %d) %s: past N* today's %d carry only %s RPS "
		    "at "
		    "100%% and fewer carry more (%s)",
		    s->instances, plural(s->instances), s->remove,
		    (when(best, sizeof(best), s->first_by, s->multiple), best), p->in.instances,
		    RATE(p->cap_total), peak(p, pk, sizeof(pk)));
	else if (s->instances < 0)
		ADD("more than %d instances: beyond planning", CAPPLAN_INSTANCES_MAX);
	else if (s->add == 0)
		ADD("today's %d instance%s carr%s it at %s%%: no change", p->in.instances,
		    plural(p->in.instances), p->in.instances == 1 ? "ies" : "y",
		    PCT(s->util * 100));
	else if (s->add == 1 || !strcmp(first, last))
		ADD("add %d instance%s (to %d) %s", s->add, plural(s->add), s->instances, last);
	else
		ADD("add %d instances (to %d): the first %s, the last %s", s->add, s->instances,
		    first, last);
	if (p->has_model && !over_instances(p) && s->instances > 1 && isnan(s->concurrency))
		ADD("; one instance cannot carry it at any concurrency (%s: more concurrency does "
		    "not help)",
		    peak(p, pk, sizeof(pk)));
	if (s->instances_optimised > 0 && s->instances > 0 && s->instances_optimised < s->instances)
		ADD("; or %d with hot paths %.0f%% cheaper", s->instances_optimised,
		    p->in.optimise * 100);
#undef ADD
}

static void scenarios(struct capplan *p)
{
	const struct capplan_in *in = &p->in;
	const struct capplan_trigger *buf = &p->triggers[1];
	p->nscenarios = in->nscenarios;
	for (int i = 0; i < in->nscenarios; i++) {
		struct capplan_scenario *s = &p->scenarios[i];
		s->multiple = in->scenarios[i];
		s->rps = s->multiple * in->current_rps;
		s->instances = instances_for(p, s->rps, in->buffer, 0);
		s->instances_optimised =
		    in->optimise > 0 ? instances_for(p, s->rps, in->buffer, in->optimise) : 0;
		s->add = s->instances > in->instances ? s->instances - in->instances : 0;
		s->util = s->instances > 0 ? s->rps / capacity_of(p, s->instances) : NAN;
		s->remove = 0;
		if (over_instances(p) && s->instances > 0 && s->instances < in->instances) {
			/* fewer than today's carry it: today's fleet stays unless it is past N*
			 * and does not carry the load at the buffer; then shrink */
			double today = s->rps / p->cap_total;
			if (today <= in->buffer * (1 + REL_EPS)) {
				s->instances = in->instances;
				s->util = today;
			} else {
				s->remove = in->instances - s->instances;
			}
		}
		s->cost_month = s->instances > 0 ? s->instances * in->cost_month : NAN;
		s->add_cost_month = s->add * in->cost_month;
		s->in_months =
		    s->multiple <= 1 ? 0 : months_to(in->current_rps, in->growth, s->rps);
		s->month = first_month(p, s->rps, false);
		s->within = s->month >= 1 && s->month <= in->horizon;
		s->first_by = s->add > 0 || s->remove > 0 ? buf->month : 0;
		s->last_by =
		    s->add > 0 ? first_month(p, capacity_of(p, s->instances - 1) * in->buffer, true)
		    : s->remove > 0 ? s->first_by
		                    : 0;
		s->concurrency = p->has_model && !over_instances(p)
		                     ? usl_concurrency_for(&p->model, s->rps)
		                     : NAN;
		scenario_action(p, s);
	}
}

/* Over instances: the whole count of the highest throughput (next to N*), at least 1. */
static int best_count(const struct capplan *p)
{
	double ns = p->model.n_star;
	if (!isfinite(ns) || ns >= CAPPLAN_INSTANCES_MAX)
		return CAPPLAN_INSTANCES_MAX;
	int lo = MAX(1, (int)floor(ns)), hi = lo + 1;
	return usl_throughput(&p->model, hi) > usl_throughput(&p->model, lo) ? hi : lo;
}

static void summary(struct capplan *p)
{
	const struct capplan_in *in = &p->in;
	const struct capplan_trigger *w = &p->triggers[0], *b = &p->triggers[1],
	                             *c = &p->triggers[2];
	char g[48], pk[128];
	snprintf(g, sizeof(g), "%g%%/month", in->growth * 100);

	if (p->has_model && over_instances(p))
		say(p,
		    "Capacity from the USL fit over instances: %d instance%s carr%s %s RPS at "
		    "100%% "
		    "and %s RPS at the %.0f%% buffer; the cluster's %s (%s-limited); today's %s "
		    "RPS is %s%%.",
		    in->instances, plural(in->instances), in->instances == 1 ? "ies" : "y",
		    RATE(p->cap_total), RATE(p->cap_buffer), in->buffer * 100,
		    peak(p, pk, sizeof(pk)), p->model.limit ?: "?", RATE(in->current_rps),
		    PCT(p->util_now * 100));
	else if (p->has_model)
		say(p,
		    "Capacity from the USL fit: one instance's %s (%s-limited); its 100%% is %s "
		    "RPS "
		    "(%s), %s RPS at the %.0f%% buffer (concurrency %.1f); %d instance%s carr%s %s "
		    "RPS at the buffer; today's %s RPS is %s%%.",
		    peak(p, pk, sizeof(pk)), p->model.limit ?: "?", RATE(p->cap_instance),
		    p->cap_basis && !strcmp(p->cap_basis, "measured") ? "the best measured"
		                                                      : "the fit's X_max",
		    RATE(p->cap_instance * in->buffer), in->buffer * 100, p->conc_buffer,
		    in->instances, plural(in->instances), in->instances == 1 ? "ies" : "y",
		    RATE(p->cap_buffer), RATE(in->current_rps), PCT(p->util_now * 100));
	else
		say(p,
		    "Capacity: %s RPS at 100%% (%s RPS at %s%%), %s RPS at the %.0f%% buffer "
		    "(%s x %.0f/%s), on %d instance%s.",
		    RATE(p->cap_total), RATE(in->current_rps), PCT(in->current_util * 100),
		    RATE(p->cap_buffer), in->buffer * 100, RATE(in->current_rps), in->buffer * 100,
		    PCT(in->current_util * 100), in->instances, plural(in->instances));

	if (over_instances(p)) {
		int best = best_count(p);
		double xb = usl_throughput(&p->model, best);
		if (best < in->instances && xb > p->cap_total * (1 + REL_EPS))
			say(p,
			    "Today's %d instances are past N* ≈ %.1f: %d instance%s carr%s %s RPS "
			    "at "
			    "100%%, more than today's %s; shrink to %d before adding any.",
			    in->instances, p->model.n_star, best, plural(best),
			    best == 1 ? "ies" : "y", RATE(xb), RATE(p->cap_total), best);
	}
	if (p->has_model && p->util_now > 1 + REL_EPS)
		say(p,
		    "Today's load is above the model's capacity (%s%%): the fit underestimates "
		    "this service, or it is overloaded now; check the model against today's "
		    "utilisation.",
		    PCT(p->util_now * 100));
	if (b->month == 1) {
		int need = p->nmonths ? p->months[0].instances : -1;
		if (need > 0)
			say(p,
			    "Already over the buffer: today's %s%% is above %.0f%%; add capacity "
			    "now "
			    "(%d instance%s carr%s today's load at the buffer).",
			    PCT(p->util_now * 100), in->buffer * 100, need, plural(need),
			    need == 1 ? "ies" : "y");
		else
			say(p, "Already over the buffer: today's %s%% is above %.0f%%; act now.",
			    PCT(p->util_now * 100), in->buffer * 100);
	} else if (in->growth == 0) {
		say(p,
		    "With no growth the load stays at %s RPS (%s%%): the %.0f%% buffer is never "
		    "crossed.",
		    RATE(in->current_rps), PCT(p->util_now * 100), in->buffer * 100);
	} else if (!b->within) {
		if (b->month > 0)
			say(p,
			    "At %s the %.0f%% buffer is not crossed within the %d-month horizon "
			    "(it is "
			    "in month %d, %.1f months from now).",
			    g, in->buffer * 100, in->horizon, b->month, b->in_months);
		else
			say(p, "At %s the %.0f%% buffer is not crossed in any foreseeable time.", g,
			    in->buffer * 100);
	} else {
		const struct capplan_month *wm = w->within ? &p->months[w->month - 1] : NULL,
		                           *bm = &p->months[b->month - 1];
		char warn[200] = "";
		if (wm && w->month > 1)
			snprintf(warn, sizeof(warn),
			         "the %.0f%% warning in month %d (%s RPS, %s%%) and ",
			         w->util * 100, w->month, RATE(wm->rps), PCT(wm->util * 100));
		else if (w->month == 1)
			snprintf(warn, sizeof(warn), "(already above the %.0f%% warning) ",
			         w->util * 100);
		say(p,
		    "At %s the load crosses %sthe %.0f%% buffer in month %d (%s RPS, %s%%): the "
		    "limit is crossed in month %d; add capacity before month %d.",
		    g, warn, in->buffer * 100, b->month, RATE(bm->rps), PCT(bm->util * 100),
		    b->month, b->month);
	}
	if (c->within && c->month > 1)
		say(p, "Without a change, capacity itself (100%%) runs out in month %d (%s RPS).",
		    c->month, RATE(p->months[c->month - 1].rps));
	if (in->growth > 0 && p->nmonths > 0) {
		const struct capplan_month *last = &p->months[p->nmonths - 1];
		if (last->instances > 0)
			say(p,
			    "In month %d the load is %s RPS: %d instance%s at the buffer (today "
			    "%d).",
			    last->month, RATE(last->rps), last->instances, plural(last->instances),
			    in->instances);
		else
			say(p,
			    "In month %d the load is %s RPS: no number of these instances carries "
			    "it "
			    "at the buffer.",
			    last->month, RATE(last->rps));
	}
	if (p->steps_capped)
		say(p,
		    "More instances of the same kind stop helping (the cluster's %s): plan bigger "
		    "instances or less shared state before the last step of the schedule.",
		    peak(p, pk, sizeof(pk)));
	if (in->optimise > 0)
		say(p,
		    "Optimising hot paths by %.0f%% (less work per request) raises the capacity at "
		    "the buffer from %s to %s RPS.",
		    in->optimise * 100, RATE(p->cap_buffer),
		    RATE(p->cap_buffer / (1 - in->optimise)));
}

int capplan_compute(const struct capplan_in *in, struct capplan *out, char *err, size_t errlen)
{
	if (check_inputs(in, err, errlen) < 0)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->in = *in;
	out->in.model = NULL;
	out->conc_buffer = NAN;
	if (in->model) {
		out->has_model = true;
		out->model = *in->model;
		out->in.current_util = NAN;
	} else {
		out->in.over = CAPPLAN_OVER_CONCURRENCY;
	}
	if (isnan(out->in.warn))
		out->in.warn = in->buffer > 0.10 + REL_EPS ? in->buffer - 0.10 : in->buffer / 2;
	capacities(out);
	months(out);
	triggers(out);
	schedule(out);
	scenarios(out);
	summary(out);
	return 0;
}

/* --- JSON ----------------------------------------------------------------------------- */

/*
 * The plan document (docs/capacity.md, "plan"); rates in RPS, percentages in percent, costs
 * per instance-month of 730 h in the user's currency unit; null where a value does not exist:
 *
 *   format        "stampede-capacity-plan/1"
 *   source        "utilisation" (--current-util) or "usl" (--model)
 *   inputs        {currentRps, currentUtilPercent (null with a model), bufferPercent,
 *                  warnPercent, growthPercentPerMonth, horizonMonths, instances,
 *                  scenarios: [multiples], costPerInstanceMonth, currency, optimisePercent,
 *                  modelOver ("concurrency" | "instances", with a model)}
 *   capacity      {perInstanceRps (100%, null over instances), totalRps (today's fleet at
 *                  100%), bufferRps, warnRps, utilPercent (today), costMonth (today's fleet)}
 *   model         (with a model) {sigma, kappa, lambda, r2, nStar, xMax, limit,
 *                  concurrencyAtBuffer (over concurrency), xMeasured (the best measured
 *                  X; null when unknown)}
 *   months        [{month (1 = today), rps, utilPercent (today's fleet), instances (needed at
 *                  the buffer; null: none), status ("ok" | "warn" | "over buffer" |
 *                  "over capacity")}]
 *   triggers      [{name ("warn" | "buffer" | "capacity"), utilPercent, rps, inMonths (null:
 *                  never), month (first month above it; 1: already; null: never),
 *                  withinHorizon}]
 *   schedule      [{instances, warnRps, bufferRps, warnMonth, actMonth (have one more
 *                  before it; null: never)}], scheduleTruncated, scheduleCapped (past N*
 *                  no count carries the load), scheduleShrink (past N* fewer instances carry
 *                  it: shrink rather than add)
 *   scenarios     [{multiple, rps, instances (null: none carries it), add, remove (a
 *                  model over instances past N*: fewer carry more), utilPercent,
 *                  costMonth, addedCostMonth, instancesOptimised, inMonths, month,
 *                  withinHorizon, firstBy, lastBy, concurrency (one instance, over
 *                  concurrency; null past X_max), action}]
 *   summary       [sentences]
 *   modelWarnings (added by `capacity plan` with --model, not here) [sentences]: what to
 *                  distrust in the model (the fit's "warnings", or usl_warnings())
 *   generated     (added by `capacity plan`, not here) the time of the plan, ISO 8601 UTC
 */

static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/* A string from the user (the currency): null when it is not UTF-8. */
static json_t *jstr(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;
	return j ? j : json_null();
}

static json_t *jmonth(int m)
{
	return m > 0 ? json_integer(m) : json_null();
}

static json_t *jcount(int n)
{
	return n >= 0 ? json_integer(n) : json_null();
}

static json_t *inputs_json(const struct capplan *p)
{
	const struct capplan_in *in = &p->in;
	json_t *sc = json_array();
	for (int i = 0; i < in->nscenarios; i++)
		json_array_append_new(sc, json_real(in->scenarios[i]));
	json_t *o =
	    json_pack("{s:o, s:o, s:o, s:o, s:o, s:i, s:i, s:o, s:o, s:o, s:o}", "currentRps",
	              json_real(in->current_rps), "currentUtilPercent",
	              p->has_model ? json_null() : jnum(in->current_util * 100), "bufferPercent",
	              json_real(in->buffer * 100), "warnPercent", json_real(in->warn * 100),
	              "growthPercentPerMonth", json_real(in->growth * 100), "horizonMonths",
	              in->horizon, "instances", in->instances, "scenarios", sc,
	              "costPerInstanceMonth", jnum(in->cost_month), "currency", jstr(in->currency),
	              "optimisePercent", json_real(in->optimise * 100));
	if (p->has_model)
		json_object_set_new(o, "modelOver",
		                    json_string(over_instances(p) ? "instances" : "concurrency"));
	return o;
}

json_t *capplan_json(const struct capplan *p)
{
	json_t *doc = json_object(), *a;
	json_object_set_new(doc, "format", json_string("stampede-capacity-plan/1"));
	json_object_set_new(doc, "source", json_string(p->has_model ? "usl" : "utilisation"));
	json_object_set_new(doc, "inputs", inputs_json(p));
	json_object_set_new(doc, "capacity",
	                    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "perInstanceRps",
	                              jnum(p->cap_instance), "totalRps", jnum(p->cap_total),
	                              "bufferRps", jnum(p->cap_buffer), "warnRps",
	                              jnum(p->cap_warn), "utilPercent", jnum(p->util_now * 100),
	                              "costMonth", jnum(p->in.instances * p->in.cost_month),
	                              "basis",
	                              p->cap_basis ? json_string(p->cap_basis) : json_null()));
	if (p->has_model)
		json_object_set_new(doc, "model",
		                    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o}", "sigma",
		                              jnum(p->model.sigma), "kappa", jnum(p->model.kappa),
		                              "lambda", jnum(p->model.lambda), "r2",
		                              jnum(p->model.r2), "nStar", jnum(p->model.n_star),
		                              "xMax", jnum(p->model.x_max), "limit",
		                              p->model.limit ? p->model.limit : "?",
		                              "concurrencyAtBuffer", jnum(p->conc_buffer)));
	if (p->has_model) {
		json_object_set_new(json_object_get(doc, "model"), "xMeasured",
		                    jnum(p->model.x_measured));
		char v[512];
		usl_verdict(&p->model, " RPS", v, sizeof(v));
		json_object_set_new(json_object_get(doc, "model"), "verdict", json_string(v));
	}
	a = json_array();
	for (int i = 0; i < p->nmonths; i++) {
		const struct capplan_month *m = &p->months[i];
		json_array_append_new(a, json_pack("{s:i, s:o, s:o, s:o, s:s}", "month", m->month,
		                                   "rps", jnum(m->rps), "utilPercent",
		                                   jnum(m->util * 100), "instances",
		                                   jcount(m->instances), "status", m->status));
	}
	json_object_set_new(doc, "months", a);
	a = json_array();
	for (int i = 0; i < 3; i++) {
		const struct capplan_trigger *t = &p->triggers[i];
		json_array_append_new(a, json_pack("{s:s, s:o, s:o, s:o, s:o, s:b}", "name",
		                                   t->name, "utilPercent", json_real(t->util * 100),
		                                   "rps", jnum(t->rps), "inMonths",
		                                   jnum(t->in_months), "month", jmonth(t->month),
		                                   "withinHorizon", t->within));
	}
	json_object_set_new(doc, "triggers", a);
	a = json_array();
	for (int i = 0; i < p->nsteps; i++) {
		const struct capplan_step *s = &p->steps[i];
		json_array_append_new(
		    a, json_pack("{s:i, s:o, s:o, s:o, s:o}", "instances", s->instances, "warnRps",
		                 jnum(s->rps_warn), "bufferRps", jnum(s->rps_buffer), "warnMonth",
		                 jmonth(s->warn_month), "actMonth", jmonth(s->act_month)));
	}
	json_object_set_new(doc, "schedule", a);
	json_object_set_new(doc, "scheduleTruncated", json_boolean(p->steps_truncated));
	json_object_set_new(doc, "scheduleCapped", json_boolean(p->steps_capped));
	json_object_set_new(doc, "scheduleShrink", json_boolean(p->steps_shrink));
	a = json_array();
	for (int i = 0; i < p->nscenarios; i++) {
		const struct capplan_scenario *s = &p->scenarios[i];
		json_t *o = json_pack(
		    "{s:o, s:o, s:o, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:s}",
		    "multiple", json_real(s->multiple), "rps", jnum(s->rps), "instances",
		    jcount(s->instances), "add", s->add, "utilPercent", jnum(s->util * 100),
		    "costMonth", jnum(s->cost_month), "addedCostMonth", jnum(s->add_cost_month),
		    "instancesOptimised",
		    s->instances_optimised ? jcount(s->instances_optimised) : json_null(),
		    "inMonths", jnum(s->in_months), "month", jmonth(s->month), "withinHorizon",
		    s->within, "firstBy", jmonth(s->first_by), "lastBy", jmonth(s->last_by),
		    "concurrency", jnum(s->concurrency), "action", s->action);
		json_object_set_new(o, "remove", json_integer(s->remove));
		json_array_append_new(a, o);
	}
	json_object_set_new(doc, "scenarios", a);
	a = json_array();
	for (int i = 0; i < p->nsummary; i++)
		json_array_append_new(a, json_string(p->summary[i]));
	json_object_set_new(doc, "summary", a);
	return doc;
}
