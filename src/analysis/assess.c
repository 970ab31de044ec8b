/* assess.c: the assessment document from the phases' results (assess.h, docs/assess.md). */
#include "analysis/assess.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/capplan.h"
#include "analysis/usl.h"
#include "util/common.h"

enum impact { IMP_CRITICAL, IMP_HIGH, IMP_MEDIUM, IMP_LOW, IMP_INFO, IMP_N };
static const char *const impact_name[IMP_N] = { "critical", "high", "medium", "low", "info" };

#define FINDINGS_MAX 32

struct finding {
	enum impact impact;
	const char *area;
	char text[600];
};

struct ctx {
	const struct assess_in *in;
	int nf;
	struct finding f[FINDINGS_MAX];
};

__attribute__((format(printf, 4, 5))) static void add(struct ctx *c, enum impact imp,
                                                      const char *area, const char *fmt, ...)
{
	if (c->nf == FINDINGS_MAX)
		return;
	struct finding *f = &c->f[c->nf++];
	f->impact = imp;
	f->area = area;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static double num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static const struct assess_phase *phase(const struct assess_in *in, const char *name)
{
	for (int i = 0; i < in->nphases; i++)
		if (!strcmp(in->phases[i].name, name))
			return &in->phases[i];
	return NULL;
}

/* The analysis name of a phase that has a result, or NULL. */
static const json_t *analysis(const struct assess_phase *p, const char *name)
{
	if (!p || !p->r || !p->r->analyses)
		return NULL;
	return json_object_get(p->r->analyses, name);
}

/* Whether the load phase counted VUs (--expected-vus: a closed-model assessment). */
static bool closed_model(const struct assess_in *in)
{
	return in->nphases > 1 && in->phases[1].vus;
}

/* The unit of the assessment's levels: requests per second, or VUs (--expected-vus, the
 * closed model: the load phase's level counts VUs). */
static const char *lvl_unit(const struct assess_in *in)
{
	return closed_model(in) ? " VUs" : "/s";
}

static const char *cap_flag(const struct assess_in *in)
{
	return closed_model(in) ? "--max-concurrency" : "--max-rps";
}

static bool is_type(const struct assess_phase *p, const char *type)
{
	return p && !strcmp(p->name, type);
}

/* Whether the phase's result has a test type's verdicts at all (a script's own thresholds
 * are judged by the exit code alone otherwise). */
static bool r_has_tt(const struct assess_phase *p)
{
	return analysis(p, "testType") != NULL;
}

/* Whether a threshold failed that is not one of the SLOs' (untagged http_req_duration or
 * http_req_failed). */
static bool other_threshold_failed(const struct assess_phase *p)
{
	for (int i = 0; p->r && i < p->r->nthresholds; i++) {
		const struct result_threshold *t = &p->r->thresholds[i];
		bool slo = t->ntags == 0 && (!strcmp(t->selector, "http_req_duration") ||
		                             !strcmp(t->selector, "http_req_failed"));
		if (!t->ok && !slo)
			return true;
	}
	return false;
}

const char *assess_phase_status(const struct assess_phase *p)
{
	switch (p->ran) {
	case ASSESS_NOT_RUN:
		return "skipped";
	case ASSESS_INTERRUPTED:
		return "interrupted";
	case ASSESS_ERROR:
		return "error";
	case ASSESS_RAN:
		break;
	}
	const json_t *tt = analysis(p, "testType");
	if (is_type(p, "breakpoint"))
		return "done";
	/* the target stopped answering: whatever the responses that came before say */
	if (json_is_number(json_object_get(tt, "responsesStoppedAt")))
		return "fail";
	/* a threshold failed over the whole run: the spike goes to the breaking point, so the
	 * SLOs' own thresholds (on http_req_duration and http_req_failed) may fail there by
	 * design and its recovery is its verdict; any other (a script's) fails it */
	if (p->exit_code == 99 && (!is_type(p, "spike") || other_threshold_failed(p)))
		return "fail";
	if (is_type(p, "spike")) {
		const json_t *rec = json_object_get(json_object_get(tt, "spike"), "recovered");
		return json_is_false(rec) ? "fail" : json_is_true(rec) ? "pass" : "not judged";
	}
	const char *v = str(tt, "verdict");
	if (v && !strcmp(v, "fail"))
		return "fail";
	if (v && !strcmp(v, "pass"))
		return "pass";
	return r_has_tt(p) ? "no data" : "pass";
}

/* The phase's verdict in words: the test type's verdict, or what the breakpoint and spike
 * found. */
static double top_offered(const json_t *tt);

/* Whether the breakpoint phase ran its whole ramp (to the cap) with the target answering:
 * only then does "no breaking point" mean none up to the cap. */
static bool bp_complete(const struct assess_phase *p)
{
	const json_t *tt = analysis(p, "testType");
	return p->ran == ASSESS_RAN && tt &&
	       !json_is_number(json_object_get(tt, "responsesStoppedAt")) &&
	       top_offered(tt) >= 0.9 * p->peak;
}

static json_t *phase_verdict(const struct assess_phase *p)
{
	const json_t *tt = analysis(p, "testType");
	if (!tt)
		return json_null();
	/* what it measured is in its report, not a verdict (the breakpoint's says below) */
	if (p->ran == ASSESS_INTERRUPTED && !is_type(p, "breakpoint"))
		return json_string("interrupted: not judged");
	if (json_is_number(json_object_get(tt, "responsesStoppedAt")))
		return json_string("the target stopped answering");
	if (is_type(p, "breakpoint")) {
		const json_t *bp = json_object_get(tt, "breakingPoint");
		return json_string(json_is_true(json_object_get(bp, "found"))
		                       ? "breaking point found"
		                   : bp_complete(p) ? "no breaking point"
		                                    : "breaking point not known");
	}
	if (is_type(p, "spike")) {
		const json_t *rec = json_object_get(json_object_get(tt, "spike"), "recovered");
		return json_string(json_is_true(rec)    ? "recovered"
		                   : json_is_false(rec) ? "did not recover"
		                                        : "recovery not judged");
	}
	const char *v = str(tt, "verdict");
	return v ? json_string(v) : json_null();
}

static double top_offered(const json_t *tt);

static json_t *phases_json(const struct assess_in *in)
{
	json_t *a = json_array();
	for (int i = 0; i < in->nphases; i++) {
		const struct assess_phase *p = &in->phases[i];
		const json_t *tt = analysis(p, "testType");
		const json_t *fi = json_object_get(tt, "findings");
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(p->name));
		json_object_set_new(o, "type", json_string(p->name));
		json_object_set_new(o, "plannedS", num_or_null(p->planned_s));
		json_object_set_new(o, "ranS", num_or_null(p->ran_s));
		json_object_set_new(o, "status", json_string(assess_phase_status(p)));
		json_object_set_new(o, "exitCode",
		                    p->exit_code >= 0 ? json_integer(p->exit_code) : json_null());
		json_object_set_new(o, "result", str_or_null(p->result));
		json_object_set_new(o, "report", str_or_null(p->report));
		json_object_set_new(o, "level", num_or_null(p->level));
		json_object_set_new(o, "unit", json_string(p->vus ? "VUs" : "/s"));
		/* the breakpoint's: the rate it reached (the cap when it did not stop early) */
		double peak = p->peak;
		if (is_type(p, "breakpoint") && tt && top_offered(tt) > 0)
			peak = MIN(top_offered(tt), peak);
		json_object_set_new(o, "peak", num_or_null(peak));
		json_object_set_new(o, "verdict", phase_verdict(p));
		json_object_set_new(o, "findings",
		                    json_is_array(fi) ? json_deep_copy(fi) : json_array());
		json_object_set_new(o, "reason", str_or_null(p->reason));
		json_array_append_new(a, o);
	}
	return a;
}

/* The most responses per second without error in a step that held every SLO (a
 * catch-up second after a stall serves more, but late). */
static double max_good(const json_t *steps)
{
	double best = NAN;
	size_t i;
	const json_t *row;
	json_array_foreach(steps, i, row)
	{
		if (!json_is_true(json_object_get(row, "ok")))
			continue;
		double g = num(row, "goodThroughput");
		if (isfinite(g) && !(g <= best))
			best = g;
	}
	return best;
}

/* The responses per second the load phase was served while it held its level (its
 * steps' "hold" row), NAN when it has none. */
static double held_rps(const struct assess_phase *p)
{
	const json_t *steps = json_object_get(analysis(p, "testType"), "steps");
	size_t i;
	const json_t *row;
	json_array_foreach(steps, i, row)
	{
		const char *ph = json_string_value(json_object_get(row, "phase"));
		if (ph && !strcmp(ph, "hold"))
			return num(row, "throughput");
	}
	return NAN;
}

/* A breaking point is disturbed when a stretch of other processes' CPU overlaps its failing
 * window (atS to atS + BP_WINDOW_S, the breakpoint's first windows) or ended at most
 * BP_DISTURBED_BEFORE_S before it (the queue it left behind). */
#define BP_WINDOW_S           1.0
#define BP_DISTURBED_BEFORE_S 1.0
/* The share of the phases' time that other processes may hold before the assessment says
 * its figures may be the machine's. */
#define MACHINE_SHARE 0.25
/* What "other processes held the machine's CPU" means (bottleneck.c's otherProcesses). */
#define OTHERS_HELD_CPU                                                                            \
	"other processes held the machine's CPU (90%% busy or more, neither the target nor "       \
	"stampede using half of it)"

/* Seconds of [from, to) (on phase p's clock) in which other processes held the machine's
 * CPU: the overlap of its bottleneck.otherProcesses.stretches with the span; *first (when
 * not NULL) the first stretch that overlaps it, or NULL. */
static double others_within(const struct assess_phase *p, double from, double to,
                            const json_t **first)
{
	const json_t *o = json_object_get(analysis(p, "bottleneck"), "otherProcesses");
	double sum = 0;
	size_t i;
	const json_t *st;
	if (first)
		*first = NULL;
	json_array_foreach(json_object_get(o, "stretches"), i, st)
	{
		double a = MAX(num(st, "fromS"), from), b = MIN(num(st, "toS"), to);
		if (!isfinite(a) || !isfinite(b) || b <= a)
			continue;
		sum += b - a;
		if (first && !*first)
			*first = st;
	}
	return sum;
}

static json_t *breaking_point(const struct assess_in *in)
{
	const json_t *tt = analysis(phase(in, "breakpoint"), "testType");
	if (!tt)
		return json_null();
	const json_t *bp = json_object_get(tt, "breakingPoint");
	json_t *o = json_is_object(bp) ? json_deep_copy(bp) : json_object();
	const json_t *knee = json_object_get(tt, "knee");
	json_object_set_new(o, "knee", knee ? json_deep_copy(knee) : json_null());
	json_object_set_new(o, "degradation", str_or_null(str(tt, "degradation")));
	json_object_set_new(o, "maxGoodThroughput",
	                    num_or_null(max_good(json_object_get(tt, "steps"))));
	/* a phase that ended early has not shown that every SLO held up to the cap */
	const struct assess_phase *p = phase(in, "breakpoint");
	if (!json_is_true(json_object_get(o, "found")) && !bp_complete(p)) {
		char why[200];
		bool stopped = json_is_number(json_object_get(tt, "responsesStoppedAt"));
		snprintf(why, sizeof(why),
		         "not known: the phase stopped at %.4g/s (%s), before any SLO failed in a "
		         "complete window and before the cap",
		         top_offered(tt),
		         stopped                        ? "the target stopped answering"
		         : p->ran == ASSESS_INTERRUPTED ? "interrupted"
		                                        : "it ended early");
		json_object_set_new(o, "why", json_string(why));
		json_object_set_new(o, "complete", json_false());
	} else {
		json_object_set_new(o, "complete", json_true());
	}
	/* other processes held the machine's CPU when it broke (a stretch of theirs overlaps
	 * the failing window, from a second before it): the generator's and the target's pace
	 * were the machine's, so the breaking point is not the target's capacity */
	double at = num(o, "atS");
	const json_t *st = NULL;
	if (json_is_true(json_object_get(o, "found")) && isfinite(at))
		others_within(phase(in, "breakpoint"), at - BP_DISTURBED_BEFORE_S, at + BP_WINDOW_S,
		              &st);
	json_object_set_new(o, "disturbed",
	                    st ? json_pack("{s:f, s:f}", "otherProcessesFromS", num(st, "fromS"),
	                                   "otherProcessesToS", num(st, "toS"))
	                       : json_null());
	return o;
}

/* The phase whose bottleneck verdict speaks for the service: the breakpoint's (it pushed the
 * target past saturation), else the load's. */
static const struct assess_phase *bottleneck_phase(const struct assess_in *in)
{
	const char *order[] = { "breakpoint", "load", "spike", "soak", "smoke" };
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		const struct assess_phase *p = phase(in, order[i]);
		if (analysis(p, "bottleneck"))
			return p;
	}
	return NULL;
}

/* The longest phase with a watched target's leak verdicts: the soak, else the load. */
static const struct assess_phase *leak_phase(const struct assess_in *in)
{
	const char *order[] = { "soak", "load" };
	const struct assess_phase *judged = NULL, *any = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		const struct assess_phase *p = phase(in, order[i]);
		const json_t *l = analysis(p, "leaks");
		if (!json_is_object(json_object_get(l, "target_rss_bytes")))
			continue;
		if (!any)
			any = p;
		if (!judged &&
		    json_is_true(json_object_get(json_object_get(l, "target_rss_bytes"), "judged")))
			judged = p;
	}
	return judged ? judged : any;
}

static json_t *leaks_json(const struct assess_phase *p)
{
	const json_t *l = analysis(p, "leaks");
	if (!p || !l)
		return json_null();
	json_t *o = json_object(), *v = json_object();
	const char *key;
	const json_t *val;
	json_object_foreach((json_t *)l, key, val)
	{
		if (strcmp(key, "findings"))
			json_object_set(v, key, (json_t *)val);
	}
	json_object_set_new(o, "phase", json_string(p->name));
	json_object_set_new(o, "verdicts", v);
	const json_t *fi = json_object_get(l, "findings");
	json_object_set_new(o, "findings", json_is_array(fi) ? json_deep_copy(fi) : json_array());
	return o;
}

/* Whether a counter's name says it counts database queries. */
static bool query_counter(const char *name)
{
	char low[128];
	size_t n = 0;
	for (; name[n] && n + 1 < sizeof(low); n++)
		low[n] = (char)tolower((unsigned char)name[n]);
	low[n] = '\0';
	return strstr(low, "quer") || strstr(low, "sql") || strstr(low, "_db_") ||
	       !strncmp(low, "db_", 3);
}

static json_t *per_request(const struct assess_in *in)
{
	json_t *a = json_array();
	const struct assess_phase *p = phase(in, "load");
	const json_t *scr = json_object_get(analysis(p, "monitor"), "scrape");
	size_t i;
	const json_t *s;
	json_array_foreach(scr, i, s)
	{
		const char *key;
		const json_t *v;
		json_object_foreach((json_t *)json_object_get(s, "perRequest"), key, v)
		{
			if (!json_is_number(v) || json_array_size(a) >= 64)
				continue;
			json_array_append_new(a,
			                      json_pack("{s:s, s:f, s:s}", "metric", key, "value",
			                                json_number_value(v), "phase", p->name));
		}
	}
	return a;
}

static json_t *profile_json(const struct assess_in *in)
{
	const struct assess_phase *p = phase(in, "load");
	const json_t *pr = analysis(p, "profile");
	if (!json_is_object(pr))
		return json_null();
	json_t *o = json_deep_copy(pr);
	const char *svg = str(pr, "svg");
	if (svg) { /* relative to the assessment's directory: its base name */
		const char *b = strrchr(svg, '/');
		json_object_set_new(o, "svg", json_string(b ? b + 1 : svg));
	}
	json_object_set_new(o, "phase", json_string(p->name));
	return o;
}

/* The points of the USL fit: the load's hold and every breakpoint step with responses, at
 * N = X.R (Little's law: the mean number of requests in service), X the good throughput. */
static int usl_points(const struct assess_in *in, struct usl_point *pt, int max)
{
	const char *names[] = { "load", "breakpoint" };
	int n = 0;
	for (size_t k = 0; k < ARRAY_SIZE(names); k++) {
		const json_t *tt = analysis(phase(in, names[k]), "testType");
		size_t i;
		const json_t *row;
		json_array_foreach(json_object_get(tt, "steps"), i, row)
		{
			const char *ph = str(row, "phase");
			if (k == 0 && (!ph || strcmp(ph, "hold")))
				continue;
			double x = num(row, "goodThroughput"), r = num(row, "mean") / 1000.0;
			if (!(x > 0) || !(r > 0) || n == max)
				continue;
			pt[n++] = (struct usl_point){ .n = x * r, .x = x, .r = r };
		}
	}
	return n;
}

static json_t *capacity_json(struct ctx *c, struct usl_fit *fit, bool *have_fit)
{
	const struct assess_in *in = c->in;
	struct usl_point pt[64];
	char err[256];
	int n = usl_points(in, pt, (int)ARRAY_SIZE(pt));
	json_t *o = json_object();
	*have_fit = false;
	if (n < USL_POINTS_MIN) {
		snprintf(
		    err, sizeof(err),
		    "%d point%s with responses in the load's hold and the breakpoint's steps: %d "
		    "needed",
		    n, n == 1 ? "" : "s", USL_POINTS_MIN);
		json_object_set_new(o, "fit",
		                    json_pack("{s:s, s:s}", "model", "usl", "error", err));
	} else if (usl_fit(pt, n, fit, err, sizeof(err)) < 0) {
		json_object_set_new(o, "fit",
		                    json_pack("{s:s, s:s}", "model", "usl", "error", err));
	} else {
		json_t *j = usl_json(fit, pt, n);
		usl_json_notes(j, fit, pt, n, "/s", NAN, NAN);
		json_object_set_new(j, "nSource", json_string("littles-law"));
		json_object_set_new(o, "fit", j);
		*have_fit = true;
	}
	/* The plan's capacity is the one that holds the SLOs: the breaking point's last good
	 * rate; without one, the most served within the SLOs is a lower bound. The USL fit above
	 * describes the shape; its X_max may lie above the SLOs or be a poor extrapolation. */
	const struct assess_phase *bpp = phase(in, "breakpoint");
	const json_t *btt = analysis(bpp, "testType");
	const json_t *bp = json_object_get(btt, "breakingPoint");
	bool found = json_is_true(json_object_get(bp, "found"));
	/* A closed model (--expected-vus) counts its levels in VUs, but a plan counts load in
	 * requests per second (the unit capacity is bought in): its capacity is the most
	 * served within the SLOs, and today's load what the load phase's R VUs were served. */
	bool closed = closed_model(in);
	double cap =
	    found && !closed ? num(bp, "lastGood") : max_good(json_object_get(btt, "steps"));
	double current = closed ? held_rps(phase(in, "load")) : in->expected_rps;
	bool lower = !found;
	json_object_set_new(o, "lowerBound", json_boolean(lower));
	json_object_set_new(o, "sloCapacity", num_or_null(cap));
	json_object_set_new(
	    o, "basis",
	    json_string(found ? "breaking point" : "most served within the SLOs (a lower bound)"));
	if (!btt || !(cap > 0)) {
		json_object_set_new(o, "plan", json_null());
		json_object_set_new(
		    o, "planError",
		    json_string(btt ? "no rate held the SLOs in the breakpoint phase"
		                    : "the breakpoint phase did not run"));
		return o;
	}
	const struct assess_phase *lp = phase(in, "load");
	if (lp && lp->ran == ASSESS_RAN && !strcmp(assess_phase_status(lp), "fail")) {
		json_object_set_new(o, "plan", json_null());
		json_object_set_new(o, "planError",
		                    json_string("the SLOs did not hold at the expected load (the "
		                                "load phase): fix that before planning growth"));
		return o;
	}
	if (!(current > 0)) {
		json_object_set_new(o, "plan", json_null());
		json_object_set_new(o, "planError",
		                    json_string("the load phase served nothing to plan from"));
		return o;
	}
	if (cap < current) {
		char why[200];
		snprintf(why, sizeof(why),
		         "the service holds its SLOs only up to %.4g/s, below the expected %.4g/s: "
		         "fix that before planning growth",
		         cap, current);
		json_object_set_new(o, "plan", json_null());
		json_object_set_new(o, "planError", json_string(why));
		return o;
	}
	struct capplan_in ci;
	capplan_in_default(&ci);
	ci.current_rps = current;
	ci.current_util = current / cap;
	ci.growth = in->growth;
	ci.cost_month = in->cost_month;
	ci.currency = in->currency;
	struct capplan *plan = xcalloc(1, sizeof(*plan));
	if (capplan_compute(&ci, plan, err, sizeof(err)) < 0) {
		json_object_set_new(o, "plan", json_null());
		json_object_set_new(o, "planError", json_string(err));
	} else {
		json_object_set_new(o, "plan", capplan_json(plan));
		json_object_set_new(o, "planError", json_null());
		for (int i = 0; i < plan->nscenarios; i++) {
			const struct capplan_scenario *s = &plan->scenarios[i];
			char cost[96] = "";
			if (isfinite(s->cost_month))
				snprintf(cost, sizeof(cost), ", %.2f%s%s a month", s->cost_month,
				         ci.currency ? " " : "", ci.currency ? ci.currency : "");
			char served[96] = "";
			if (closed)
				snprintf(served, sizeof(served),
				         "; the load phase's %.4g VUs were "
				         "served %.4g/s",
				         in->expected_rps, current);
			if (s->instances > 0)
				add(c, IMP_INFO, "capacity",
				    "%gx the expected load (%.4g/s%s) needs %d instance%s at the "
				    "%.0f%% "
				    "headroom buffer%s (one instance holds the SLOs up to "
				    "%s%.4g/s, %s).",
				    s->multiple, s->rps, served, s->instances,
				    s->instances == 1 ? "" : "s", ci.buffer * 100, cost,
				    lower ? "at least " : "", cap,
				    !lower ? "its breaking point"
				    : bp_complete(bpp)
				        ? "no breaking point up to the cap: fewer may do"
				        : "the breaking point is not known (the breakpoint ended "
				          "early): fewer may do");
		}
	}
	free(plan);
	return o;
}

/* The levers for a bottleneck verdict, one sentence. */
static const char *levers(const char *verdict)
{
	if (!strcmp(verdict, "cpu"))
		return "cutting the CPU each request costs (the flame graph shows where it goes) "
		       "or "
		       "adding cores or instances are the levers";
	if (!strcmp(verdict, "pool"))
		return "raising the pool's size (workers, database connections) or cutting the "
		       "time "
		       "each request holds it (query latency) are the levers";
	if (!strcmp(verdict, "connections"))
		return "raising the listen backlog and connection limits, or reusing connections, "
		       "are "
		       "the levers";
	if (!strcmp(verdict, "memory"))
		return "fixing what holds memory (a leak, an unbounded cache) or raising the "
		       "memory "
		       "limit are the levers";
	if (!strcmp(verdict, "generator"))
		return "the generator, not the target, was the limit: run stampede from a larger "
		       "machine or several (the numbers understate the target)";
	if (!strcmp(verdict, "errors"))
		return "the failures came before any resource saturated: read the errors by kind";
	return NULL;
}

/* A figure that shows the resource: the busiest target CPU during the phase. */
static void cpu_note(const json_t *bn, char *out, size_t len)
{
	out[0] = '\0';
	size_t i;
	const json_t *r;
	json_array_foreach(json_object_get(bn, "resources"), i, r)
	{
		const char *name = str(r, "resource"), *u = str(r, "utilisation");
		if (name && u && !strcmp(name, "target CPU")) {
			snprintf(out, len, " (target CPU: %s)", u);
			return;
		}
	}
}

static const char *bottleneck_words(const char *v)
{
	if (!strcmp(v, "cpu"))
		return "the target's CPU saturates first";
	if (!strcmp(v, "pool"))
		return "a worker pool or queue saturates first while CPU is left";
	if (!strcmp(v, "connections"))
		return "connections are turned away first";
	if (!strcmp(v, "memory"))
		return "memory runs out first";
	if (!strcmp(v, "generator"))
		return "the load generator saturated first";
	if (!strcmp(v, "errors"))
		return "requests failed before any resource saturated";
	if (!strcmp(v, "unknown"))
		return "something saturated (watch the target with --monitor-pid to tell what)";
	return NULL;
}

static void smoke_findings(struct ctx *c)
{
	const struct assess_phase *p = phase(c->in, "smoke");
	if (!p || p->ran != ASSESS_RAN || strcmp(assess_phase_status(p), "fail"))
		return;
	const json_t *fi = json_object_get(analysis(p, "testType"), "findings");
	const char *why = NULL;
	size_t i;
	const json_t *s;
	json_array_foreach(fi, i, s)
	{
		const char *t = json_string_value(s);
		if (t && (strstr(t, "failed") || strstr(t, "fail")) && !why)
			why = t;
	}
	/* a latency objective failing at 2 VUs is the service's own speed, not an error */
	bool latency = why && why[0] == 'p' && !strstr(why, "errors");
	/* the commonest error, named: "connection_refused (1212): 920 of 920 requests" */
	char err[300] = "";
	const struct result *r = p->r;
	if (r && r->nerrors > 0 && r->errors[0].kind) {
		int64_t all = 0;
		for (int k = 0; k < r->nerrors; k++)
			all += r->errors[k].count;
		snprintf(err, sizeof(err),
		         " The commonest error: %.60s (%d)%s%.120s, %lld of %lld.",
		         r->errors[0].kind, r->errors[0].code, r->errors[0].description ? ": " : "",
		         r->errors[0].description ? r->errors[0].description : "",
		         (long long)r->errors[0].count, (long long)all);
	}
	add(c, IMP_CRITICAL, "smoke", "The smoke test failed, so nothing heavier ran: %s.%s %s",
	    why ? why : "see its report", err,
	    latency ? "The service is slower than the SLO already at a few users: no load can "
	              "meet it; check the SLO against its baseline latency, or what each request "
	              "waits for (a profile, --monitor-pid)."
	            : "Fix this first (stampede run --url ... --vus 1 --http-debug shows the "
	              "requests and responses).");
}

/* The test type's sentences that say an objective failed, joined with "; " into out. */
static void failed_slos(const json_t *tt, char *out, size_t len)
{
	size_t k = 0, i;
	const json_t *s;
	out[0] = '\0';
	json_array_foreach(json_object_get(tt, "findings"), i, s)
	{
		const char *t = json_string_value(s);
		if (t && strstr(t, "failed") && k + 4 < len)
			k += (size_t)snprintf(out + k, len - k, "%s%s", k ? "; " : "", t);
	}
}

/* A load phase that failed its SLOs while other processes held the machine's CPU for half
 * its hold or more: the failure may be the machine's (a machine finding says so). */
static void load_disturbed(struct ctx *c, const struct assess_phase *p, const json_t *tt)
{
	size_t i;
	const json_t *row;
	json_array_foreach(json_object_get(tt, "steps"), i, row)
	{
		const char *ph = str(row, "phase");
		double from = num(row, "start"), to = num(row, "end");
		if (!ph || strcmp(ph, "hold") || !isfinite(from) || !isfinite(to) || to <= from)
			continue;
		double busy = others_within(p, from, to, NULL);
		if (busy >= 0.5 * (to - from))
			add(c, IMP_HIGH, "machine",
			    "The load phase's failure is not trusted: " OTHERS_HELD_CPU
			    " for %.0f s "
			    "of its %.0f s hold; the SLOs may have failed for the machine, not the "
			    "target. Run the assessment again on a quiet machine.",
			    busy, to - from);
		return;
	}
}

/* Other processes that held the machine's CPU for a quarter or more of the phases' time,
 * when no finding said so already (a breaking point or load not trusted): every figure
 * may be the machine's, a breaking point not found and a plan included. */
static void machine_findings(struct ctx *c)
{
	for (int i = 0; i < c->nf; i++)
		if (!strcmp(c->f[i].area, "machine"))
			return;
	double busy = 0, ran = 0;
	for (int i = 0; i < c->in->nphases; i++) {
		const struct assess_phase *p = &c->in->phases[i];
		if (p->ran == ASSESS_NOT_RUN || !isfinite(p->ran_s))
			continue;
		ran += p->ran_s;
		busy += others_within(p, 0, p->ran_s, NULL);
	}
	if (ran > 0 && busy >= MACHINE_SHARE * ran)
		add(c, IMP_MEDIUM, "machine",
		    "The figures may be the machine's: " OTHERS_HELD_CPU " for %.0f s of the "
		    "phases' %.0f s. Run the assessment again on a quiet machine before trusting "
		    "them.",
		    busy, ran);
}

static void load_findings(struct ctx *c)
{
	const struct assess_phase *p = phase(c->in, "load");
	if (!p || p->ran != ASSESS_RAN)
		return;
	const json_t *tt = analysis(p, "testType");
	const char *st = assess_phase_status(p);
	char failed[400];
	failed_slos(tt, failed, sizeof(failed));
	if (!strcmp(st, "fail") && json_is_number(json_object_get(tt, "responsesStoppedAt")))
		return; /* said by stopped_findings */
	if (!strcmp(st, "fail")) {
		add(c, IMP_CRITICAL, "load",
		    "At the expected load (%.4g%s) the SLOs do not hold: %s.", c->in->expected_rps,
		    lvl_unit(c->in), failed[0] ? failed : "see the load phase's report");
		load_disturbed(c, p, tt);
	} else if (!strcmp(st, "pass"))
		add(c, IMP_INFO, "load", "At the expected load (%.4g%s) every SLO (%s) held.",
		    c->in->expected_rps, lvl_unit(c->in), c->in->slo ? c->in->slo : "none given");
	else
		add(c, IMP_HIGH, "load",
		    "The load phase has no data to judge the SLOs by (%s): the expected load was "
		    "not verified.",
		    str(tt, "verdict") ? str(tt, "verdict") : st);
}

/* The highest offered rate a stepped or ramped phase reached (its steps' offeredTo or
 * offered). */
static double top_offered(const json_t *tt)
{
	double top = 0;
	size_t i;
	const json_t *row;
	json_array_foreach(json_object_get(tt, "steps"), i, row)
	{
		double o = num(row, "offeredTo");
		if (!isfinite(o))
			o = num(row, "offered");
		if (isfinite(o) && o > top)
			top = o;
	}
	return top;
}

/* A phase in which the target stopped answering: critical, whatever else it measured. */
static void stopped_findings(struct ctx *c)
{
	for (int i = 0; i < c->in->nphases; i++) {
		const struct assess_phase *p = &c->in->phases[i];
		const json_t *at = json_object_get(analysis(p, "testType"), "responsesStoppedAt");
		if (!json_is_number(at))
			continue;
		if (json_number_value(at) <= 0)
			add(c, IMP_CRITICAL, "availability",
			    "In the %s phase the target did not answer at all: no request "
			    "succeeded (see the errors by kind); nothing could be judged.",
			    p->name);
		else
			add(c, IMP_CRITICAL, "availability",
			    "In the %s phase the target stopped answering: no request succeeded "
			    "after %.4g s of it (later ones failed, timed out or were cut off at "
			    "the end); nothing after that point could be judged.",
			    p->name, json_number_value(at));
	}
}

static void breakpoint_findings(struct ctx *c, const json_t *bp, const json_t *bn)
{
	const struct assess_phase *p = phase(c->in, "breakpoint");
	if (!p || !p->r || !json_is_object(bp))
		return;
	double R = c->in->expected_rps;
	const char *v = str(bn, "verdict");
	char cpu[200] = "", who[640] = "";
	if (v && bottleneck_words(v)) {
		cpu_note(bn, cpu, sizeof(cpu));
		const char *lv = levers(v);
		snprintf(who, sizeof(who), "; %s%s%s%s", bottleneck_words(v), cpu, lv ? "; " : "",
		         lv ? lv : "");
	}
	if (json_is_true(json_object_get(bp, "found"))) {
		double good = num(bp, "lastGood"), bad = num(bp, "firstBad");
		double head = good / R;
		enum impact imp = !(head >= 1) ? IMP_CRITICAL
		                  : head < 2   ? IMP_HIGH
		                  : head < 5   ? IMP_MEDIUM
		                               : IMP_LOW;
		const char *slo = str(bp, "failedSlo");
		double val = num(bp, "value");
		char at[160] = "";
		if (isfinite(bad))
			snprintf(at, sizeof(at), " (at %.4g%s: %s)", bad, lvl_unit(c->in),
			         isfinite(val) ? "" : "failed");
		if (isfinite(bad) && isfinite(val))
			snprintf(at, sizeof(at), " (at %.4g%s it measured %.4g%s)", bad,
			         lvl_unit(c->in), val,
			         slo && (slo[0] == 'p' || strstr(slo, "latency")) ? " ms" : "");
		if (isfinite(good))
			add(c, imp, "breaking point",
			    "%s breaches the SLO above %.4g%s, %.2gx the expected %.4g%s%s%s.",
			    slo ? slo : "An SLO", good, lvl_unit(c->in), head, R, lvl_unit(c->in),
			    at, who);
		else
			add(c, IMP_CRITICAL, "breaking point",
			    "%s fails already at the breakpoint's first step%s%s.",
			    slo ? slo : "An SLO", at, who);
		const json_t *dist = json_object_get(bp, "disturbed");
		if (json_is_object(dist))
			add(c, IMP_HIGH, "machine",
			    "The breaking point is not trusted: " OTHERS_HELD_CPU " from %.4g s to "
			    "%.4g s into the breakpoint phase, when the SLO "
			    "failed (at %.4g s); the target's capacity, the bottleneck and the "
			    "capacity plan built on them may be the machine's. Run the assessment "
			    "again on a quiet machine.",
			    num(dist, "otherProcessesFromS"), num(dist, "otherProcessesToS"),
			    num(bp, "atS"));
	} else {
		const json_t *tt = analysis(p, "testType");
		double top = max_good(json_object_get(tt, "steps")), reached = top_offered(tt);
		bool stopped = json_is_number(json_object_get(tt, "responsesStoppedAt"));
		if (bp_complete(p))
			add(c, IMP_LOW, "breaking point",
			    "No breaking point up to the safety cap of %.4g%s (%.2gx the expected "
			    "load; the most served within the SLOs: %.4g/s)%s: raise %s to find "
			    "it.",
			    c->in->max_rps, lvl_unit(c->in), c->in->max_rps / R, top, who,
			    cap_flag(c->in));
		else {
			char most[96];
			if (isfinite(top))
				snprintf(most, sizeof(most),
				         "the most served within the SLOs: %.4g/s", top);
			else
				snprintf(most, sizeof(most), "no step held every SLO");
			add(c, IMP_MEDIUM, "breaking point",
			    "The breakpoint phase stopped at %.4g/s (%s) before the safety cap of "
			    "%.4g/s, without a complete window that failed an SLO: the breaking "
			    "point "
			    "is not known (%s).",
			    reached,
			    stopped                        ? "the target stopped answering"
			    : p->ran == ASSESS_INTERRUPTED ? "interrupted"
			                                   : "it ended early",
			    c->in->max_rps, most);
		}
	}
}

static void bottleneck_findings(struct ctx *c, const json_t *bn, const struct assess_phase *p)
{
	const char *v = str(bn, "verdict");
	if (!v)
		return;
	const char *summary = str(bn, "summary");
	if (!strcmp(v, "generator"))
		add(c, IMP_HIGH, "generator",
		    "The load generator saturated in the %s phase: its numbers understate the "
		    "target. "
		    "%s",
		    p->name, summary ? summary : "");
	else if (!strcmp(v, "none") || !strcmp(v, "unknown"))
		add(c, IMP_INFO, "bottleneck", "Bottleneck (%s phase): %s", p->name,
		    summary ? summary : v);
	else
		add(c, IMP_MEDIUM, "bottleneck", "Bottleneck (%s phase): %s", p->name,
		    summary ? summary : v);
}

static void leak_findings(struct ctx *c, const json_t *leaks)
{
	const json_t *v = json_object_get(leaks, "verdicts");
	const char *key;
	const json_t *l;
	json_object_foreach((json_t *)v, key, l)
	{
		if (!json_is_true(json_object_get(l, "leaking")))
			continue;
		const char *d = str(l, "describe");
		bool target = !strncmp(key, "target_", 7);
		add(c, target ? IMP_HIGH : IMP_MEDIUM, "leak", "%s leak (%s, %s phase): %s",
		    strstr(key, "fds")   ? "A file-descriptor"
		    : strstr(key, "rss") ? "A memory"
		                         : "A",
		    key, str(leaks, "phase"), d ? d : "it grows steadily");
	}
}

static void query_findings(struct ctx *c, const json_t *per)
{
	size_t i;
	const json_t *e;
	json_array_foreach(per, i, e)
	{
		const char *m = str(e, "metric");
		double v = num(e, "value");
		if (!m || !query_counter(m) || !isfinite(v))
			continue;
		if (v >= ASSESS_QUERIES_N1)
			add(c, IMP_HIGH, "queries",
			    "N+1 queries: %.3g database queries per request (%s, load phase): a "
			    "request "
			    "queries once per item instead of once for the list; batch them (one "
			    "query "
			    "with IN (...) or a join).",
			    v, m);
		else
			add(c, IMP_INFO, "queries", "%.3g database quer%s per request (%s).", v,
			    v == 1 ? "y" : "ies", m);
	}
}

static void spike_findings(struct ctx *c, const json_t *sp, const struct assess_phase *p)
{
	if (!json_is_object(sp))
		return;
	const json_t *rec = json_object_get(sp, "recovered");
	double secs = num(sp, "recoverySeconds"), peak = num(sp, "peakRps");
	double er = num(sp, "errorRate"), p95 = num(sp, "p95");
	if (!isfinite(p95) || !isfinite(er)) {
		add(c, IMP_MEDIUM, "spike",
		    "The spike to %.4g%s has no responses to judge: recovery not known.", peak,
		    lvl_unit(c->in));
		return;
	}
	if (json_is_false(rec))
		add(c, IMP_HIGH, "spike",
		    "After a spike to %.4g%s the service did not recover within the observation "
		    "(p95 during the spike %.4g ms, errors %.3g%%).",
		    peak, lvl_unit(c->in), p95, er * 100);
	else if (json_is_true(rec) && p && p->exit_code == 99)
		add(c, IMP_MEDIUM, "spike",
		    "A spike to %.4g%s broke the SLOs while it lasted (p95 %.4g ms, %.3g%% errors "
		    "during it); the service recovered %.3g s after it ended.",
		    peak, lvl_unit(c->in), p95, er * 100, secs);
	else if (json_is_true(rec))
		add(c, secs > 5 || er > 0.01 ? IMP_MEDIUM : IMP_INFO, "spike",
		    "A spike to %.4g%s: p95 %.4g ms and %.3g%% errors during it; recovered %.3g s "
		    "after.",
		    peak, lvl_unit(c->in), p95, er * 100, secs);
}

static void soak_findings(struct ctx *c, const json_t *soak, const json_t *tt)
{
	const json_t *d = json_object_get(soak, "drift");
	const char *names[] = { "p95", "errorRate", "throughput" };
	int drifts = 0;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		const json_t *m = json_object_get(d, names[i]);
		if (json_is_true(json_object_get(m, "drifting")) &&
		    json_is_true(json_object_get(m, "adverse"))) {
			add(c, IMP_HIGH, "soak", "Over the soak, %s %s.", names[i],
			    str(m, "describe") ? str(m, "describe") : "drifts");
			drifts++;
		}
	}
	const char *v = str(soak, "verdict");
	if (v && !strcmp(v, "fail")) {
		/* a soak fails on its SLOs or on a drift: the SLOs are blamed only when one
		 * failed (a drift alone is the finding above) */
		char failed[400];
		failed_slos(tt, failed, sizeof(failed));
		if (failed[0])
			add(c, IMP_HIGH, "soak",
			    "The SLOs did not hold over the soak at the expected load: %s.",
			    failed);
		else if (!drifts)
			add(c, IMP_HIGH, "soak",
			    "The soak failed (see the soak phase's report for why).");
	}
}

static void profile_findings(struct ctx *c, const json_t *pr, const char *bn_verdict)
{
	if (!json_is_object(pr))
		return;
	if (str(pr, "error")) {
		add(c, IMP_INFO, "profile", "No profile: %s", str(pr, "error"));
		return;
	}
	/* The hottest function of the target's own code: a kernel frame (the _[k] suffix of
	 * profile/fold.h) is named beside it when it holds more, since on some virtual
	 * machines the sampling interrupt lands where the kernel re-enables interrupts. */
	const json_t *rows = json_object_get(pr, "topFunctions"), *top = NULL, *kern = NULL;
	for (size_t i = 0; i < json_array_size(rows) && !top; i++) {
		const json_t *r = json_array_get(rows, i);
		const char *name = str(r, "name");
		size_t n = name ? strlen(name) : 0;
		if (n > 4 && !strcmp(name + n - 4, "_[k]")) {
			if (!kern)
				kern = r;
		} else if (name) {
			top = r;
		}
	}
	if (!top)
		top = kern, kern = NULL;
	char also[256] = "";
	if (kern)
		snprintf(also, sizeof(also), "; the kernel's %s has %.0f%%", str(kern, "name"),
		         num(kern, "self") * 100);
	if (top && str(top, "name"))
		add(c, bn_verdict && !strcmp(bn_verdict, "cpu") ? IMP_MEDIUM : IMP_INFO, "profile",
		    "The hottest function on the target's CPU in the load phase: %s (%.0f%% of the "
		    "samples on it, %.0f%% under it%s); the flame graph is %s.",
		    str(top, "name"), num(top, "self") * 100, num(top, "total") * 100, also,
		    str(pr, "svg") ? str(pr, "svg") : "in the report");
}

static void status_findings(struct ctx *c)
{
	const struct assess_in *in = c->in;
	if (in->status && strcmp(in->status, "complete") && in->status_reason)
		add(c, IMP_INFO, "assessment", "The assessment %s: %s",
		    !strcmp(in->status, "error")         ? "could not finish"
		    : !strcmp(in->status, "interrupted") ? "was interrupted"
		    : !strcmp(in->status, "stopped")     ? "stopped early"
		                                         : in->status,
		    in->status_reason);
	for (int i = 0; i < in->nphases; i++) {
		const struct assess_phase *p = &in->phases[i];
		if ((p->ran == ASSESS_NOT_RUN || p->ran == ASSESS_ERROR) && p->reason)
			add(c, p->ran == ASSESS_ERROR ? IMP_MEDIUM : IMP_INFO, "assessment",
			    "The %s phase %s: %s", p->name,
			    p->ran == ASSESS_ERROR ? "failed to run" : "did not run", p->reason);
	}
}

static json_t *findings_json(const struct ctx *c)
{
	json_t *a = json_array();
	for (int imp = 0; imp < IMP_N; imp++)
		for (int i = 0; i < c->nf; i++)
			if ((int)c->f[i].impact == imp)
				json_array_append_new(
				    a, json_pack("{s:s, s:s, s:s}", "impact", impact_name[imp],
				                 "area", c->f[i].area, "text", c->f[i].text));
	return a;
}

json_t *assess_build(const struct assess_in *in)
{
	struct ctx *c = xcalloc(1, sizeof(*c));
	c->in = in;
	json_t *doc = json_object();
	json_object_set_new(doc, "format", json_string(ASSESS_FORMAT));
	json_object_set_new(doc, "version", str_or_null(in->version));
	json_object_set_new(doc, "startedAt", str_or_null(in->started_at));
	json_object_set_new(doc, "durationS", num_or_null(in->duration_s));
	json_object_set_new(doc, "target",
	                    json_pack("{s:o, s:o, s:b}", "url", str_or_null(in->url), "script",
	                              str_or_null(in->script), "loopback", in->loopback));
	json_object_set_new(doc, "expectedRps", num_or_null(in->expected_rps));
	json_object_set_new(doc, "maxRps", num_or_null(in->max_rps));
	json_object_set_new(doc, "slo", str_or_null(in->slo));
	json_object_set_new(doc, "budgetS", num_or_null(in->budget_s));
	json_object_set_new(doc, "status", json_string(in->status ? in->status : "complete"));
	json_object_set_new(doc, "statusReason", str_or_null(in->status_reason));
	json_object_set_new(doc, "phases", phases_json(in));

	json_t *bp = breaking_point(in);
	json_object_set_new(doc, "breakingPoint", bp);

	const struct assess_phase *sp = phase(in, "spike");
	const json_t *spj = json_object_get(analysis(sp, "testType"), "spike");
	json_t *spike = json_null();
	if (json_is_object(spj)) {
		spike = json_deep_copy(spj);
		json_object_set_new(spike, "peakRps", num_or_null(sp->peak));
	}
	json_object_set_new(doc, "spike", spike);

	const json_t *stt = analysis(phase(in, "soak"), "testType");
	json_t *soak = json_null();
	if (stt) {
		const json_t *d = json_object_get(stt, "drift");
		soak = json_pack("{s:o, s:o}", "verdict", str_or_null(str(stt, "verdict")), "drift",
		                 d ? json_deep_copy(d) : json_null());
	}
	json_object_set_new(doc, "soak", soak);

	json_t *leaks = leaks_json(leak_phase(in));
	json_object_set_new(doc, "leaks", leaks);

	const struct assess_phase *bnp = bottleneck_phase(in);
	const json_t *bn = analysis(bnp, "bottleneck");
	json_t *bnj = json_null();
	if (json_is_object(bn)) {
		bnj = json_deep_copy(bn);
		json_object_set_new(bnj, "phase", json_string(bnp->name));
	}
	json_object_set_new(doc, "bottleneck", bnj);

	json_t *per = per_request(in);
	json_object_set_new(doc, "perRequest", per);
	json_t *prof = profile_json(in);
	json_object_set_new(doc, "profile", prof);

	const json_t *btt = analysis(phase(in, "breakpoint"), "testType");
	const json_t *steps = json_object_get(btt, "steps");
	json_object_set_new(doc, "steps",
	                    json_is_array(steps) ? json_deep_copy(steps) : json_array());

	/* findings, in the order the practice asks; sorted by impact below */
	smoke_findings(c);
	stopped_findings(c);
	load_findings(c);
	breakpoint_findings(c, bp, bn);
	if (bnp)
		bottleneck_findings(c, bn, bnp);
	leak_findings(c, leaks);
	query_findings(c, per);
	spike_findings(c, spike, sp);
	soak_findings(c, soak, stt);
	profile_findings(c, prof, str(bn, "verdict"));
	struct usl_fit fit;
	bool have_fit;
	json_object_set_new(doc, "capacity", capacity_json(c, &fit, &have_fit));
	machine_findings(c);
	status_findings(c);
	json_object_set_new(doc, "findings", findings_json(c));
	free(c);
	return doc;
}
