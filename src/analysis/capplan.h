/*
 * capplan.h: the capacity plan (issue #14, docs/capacity.md): from today's load and either its
 * utilisation or a fitted Universal Scalability Law (usl.h), project monthly growth against a
 * headroom buffer, and give per growth scenario (2x, 5x, 10x ...) the instances, cost, the
 * month it arrives and what must change before each threshold.
 *
 * The method is the one of the usual capacity-planning practice (baseline the current peak,
 * measure the growth rate, project exhaustion against a buffer that is never exceeded under
 * normal load, plan the scenarios, set trigger points):
 *
 *   capacity at 100%     C = rps / util                 (or the USL's X_max per instance)
 *   capacity at buffer   B = C × buffer                 (1000 RPS at 55%, 70%: 1273 RPS)
 *   load in month m      L(m) = rps × (1 + g)^(m − 1)   (m = 1 is today)
 *   a threshold T is crossed in the first month m with L(m) > T; it is reached
 *   log(T / rps) / log(1 + g) months from now (continuous compounding of the monthly rate)
 *   instances at buffer  n(k) = ceil(k × rps / (B / instances))
 *
 * Rates are requests per second at the peak; utilisations, the buffer and the growth are
 * fractions (0.55 for 55%); a cost is per instance and per month (730 hours) in the user's
 * currency unit. All functions are pure: no I/O.
 */
#ifndef STAMPEDE_CAPPLAN_H
#define STAMPEDE_CAPPLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "analysis/usl.h"

#define CAPPLAN_HORIZON_MAX     120 /* months (10 years) */
#define CAPPLAN_SCENARIOS_MAX   16
#define CAPPLAN_STEPS_MAX       64 /* rows of the scaling schedule */
#define CAPPLAN_INSTANCES_MAX   1000000
#define CAPPLAN_RPS_MAX         1e12  /* today's load */
#define CAPPLAN_MULTIPLE_MAX    1e6   /* a scenario */
#define CAPPLAN_GROWTH_MAX      10.0  /* a month (1000%) */
#define CAPPLAN_COST_MAX        1e12  /* per instance and month */
#define CAPPLAN_HOURS_PER_MONTH 730.0 /* 8760 / 12, the cloud providers' billing month */
#define CAPPLAN_XMAX_MIN        1e-6  /* a model's λ and X_max below this: no usable capacity */

/* What the USL model's N counts (--model-over). */
enum capplan_over {
	CAPPLAN_OVER_CONCURRENCY, /* N = concurrent users of one instance: scale out linearly */
	CAPPLAN_OVER_INSTANCES,   /* N = instances of a cluster: X(N) is the cluster's total */
};

struct capplan_in {
	double current_rps;  /* today's peak, in (0, CAPPLAN_RPS_MAX] */
	double current_util; /* today's utilisation at that peak, in (0, 1]; NAN with a model */
	double buffer;       /* never run above this share of capacity, in (0, 1]; 0.70 */
	double warn;         /* the earlier warning trigger, in (0, buffer); NAN: the default
	                        buffer − 0.10 (buffer / 2 when that is <= 0) */
	double growth;       /* per month, in [0, CAPPLAN_GROWTH_MAX] (0: the load stays) */
	int horizon;         /* months, 1..CAPPLAN_HORIZON_MAX; 12 */
	int instances;       /* instances carrying today's load, >= 1; 1 */
	double scenarios[CAPPLAN_SCENARIOS_MAX]; /* multiples of today's load, sorted, in
	                                            (0, CAPPLAN_MULTIPLE_MAX] */
	int nscenarios;                          /* 2, 5, 10 by default */
	double cost_month;    /* per instance and month, in [0, CAPPLAN_COST_MAX]; NAN: none */
	const char *currency; /* the cost's unit for people ("USD", "€"); NULL: none */
	double optimise;      /* the "optimise hot paths" lever: a cut of the cost per request,
	                        in [0, 1) (0.3 gives capacity / 0.7); 0: not planned */
	const struct usl_fit *model; /* a fitted USL (borrowed), or NULL */
	enum capplan_over over;      /* what the model's N counts */
};

/* One month of the projection. */
struct capplan_month {
	int month;          /* 1 = today */
	double rps;         /* projected peak */
	double util;        /* with today's instances (may exceed 1) */
	int instances;      /* needed at the buffer for that load; -1 when no count carries it (past
	                  a model's X_max, or more than CAPPLAN_INSTANCES_MAX) */
	const char *status; /* "ok", "warn" (>= warn), "over buffer", "over capacity" (> 1) */
};

/* A threshold of today's fleet, and when the growth crosses it. */
struct capplan_trigger {
	const char *name; /* "warn", "buffer", "capacity" */
	double util;      /* the threshold (fraction) */
	double rps;       /* the load at which today's fleet reaches it */
	double in_months; /* log(rps_t / rps) / log(1 + g): 0 when already there; INFINITY
	                     with no growth */
	int month;        /* the first month whose load is above it (1: already; 0: never) */
	bool within;      /* month within the horizon */
};

/* One step of the scaling schedule within the horizon: n instances are enough until month
 * act_month; the (n+1)-th must be in place before it, and is ordered at warn_month. */
struct capplan_step {
	int instances;     /* n */
	double rps_warn;   /* n instances' load at the warning trigger */
	double rps_buffer; /* ... and at the buffer */
	int warn_month;    /* first month above rps_warn (1: already) */
	int act_month;     /* first month above rps_buffer: have n+1 before it */
};

struct capplan_scenario {
	double multiple;         /* k */
	double rps;              /* k × today's load */
	int instances;           /* needed at the buffer; -1 when no count reaches it (a USL model
	                        over instances past X_max) */
	int add;                 /* instances − today's (>= 0) */
	int remove;              /* a model over instances, today's fleet past N* and not carrying
	                        the load at the buffer: today's − instances (fewer carry more);
	                        else 0. Otherwise instances >= today's */
	double util;             /* utilisation at that count (fraction); NAN when -1 */
	double cost_month;       /* instances × cost; NAN without a cost */
	double add_cost_month;   /* add × cost */
	int instances_optimised; /* with the optimise lever; 0 when not planned */
	double in_months;        /* when the growth reaches k: log(k)/log(1+g); 0 when k <= 1;
	                        INFINITY with no growth */
	int month;               /* the first month whose load is >= k × today (0: never) */
	bool within;             /* month within the horizon */
	int first_by;            /* the first added instance must be in place before this month
	                        (0: never within reach of the growth; 1: now) */
	int last_by;             /* the last added instance before this month (as first_by) */
	double concurrency;      /* with a model over concurrency: the concurrency one instance
	                        needs for this load (NAN past X_max: more concurrency does not
	                        help); with a model over instances: NAN */
	char action[400];        /* what must change, one sentence */
};

struct capplan {
	struct capplan_in in; /* the inputs, defaults filled in (model pointer not kept) */
	bool has_model;
	struct usl_fit model; /* a copy, when has_model */
	double cap_instance;  /* one instance at 100% (RPS); NAN over instances */
	double cap_total;     /* today's fleet at 100% */
	double cap_buffer;    /* today's fleet at the buffer */
	double cap_warn;      /* today's fleet at the warning trigger */
	double util_now;      /* today's utilisation (fraction) */
	/* model over concurrency: what one instance's 100% is, "measured" (the best X of the
	 * sweep, when it is below the fit's X_max: a smooth curve overshoots a plateau) or
	 * "fitted" (X_max); NULL without a model or over instances */
	const char *cap_basis;
	double conc_buffer; /* model over concurrency: the concurrency of one instance at
	                           the buffer (X = buffer × X_max); NAN otherwise */
	int nmonths;
	struct capplan_month months[CAPPLAN_HORIZON_MAX];
	struct capplan_trigger triggers[3]; /* warn, buffer, capacity */
	int nsteps;
	bool steps_truncated; /* more steps than CAPPLAN_STEPS_MAX within the horizon */
	bool steps_capped;    /* a model over instances: past N* no further step helps */
	bool steps_shrink;    /* a model over instances: today's fleet is past N* and fewer
	                         instances carry the load that crosses its buffer: shrink */
	struct capplan_step steps[CAPPLAN_STEPS_MAX];
	int nscenarios;
	struct capplan_scenario scenarios[CAPPLAN_SCENARIOS_MAX];
	int nsummary;
	char summary[10][480]; /* the plan in sentences, most urgent first */
};

/* Defaults: buffer 0.70, warn NAN (buffer − 0.10), horizon 12, 1 instance, scenarios 2, 5,
 * 10, no cost, no model, current_rps, current_util and growth NAN (to be given). */
void capplan_in_default(struct capplan_in *in);

/* Add a scenario multiple k unless present; keeps them sorted. Returns 0, or -EINVAL (k not
 * in (0, CAPPLAN_MULTIPLE_MAX]) or -ENOSPC (CAPPLAN_SCENARIOS_MAX reached). */
int capplan_add_scenario(struct capplan_in *in, double k);

/* Compute the plan. Returns 0 with *out filled, or -EINVAL with one line in err naming the
 * input at fault: a missing or out-of-range value (see struct capplan_in), both a
 * utilisation and a model (the model gives the capacity), a model with no capacity (linear:
 * X_max infinite; not finite or not positive) or none usable (λ or X_max below
 * CAPPLAN_XMAX_MIN). Today's utilisation above the buffer is not
 * an error: the triggers are in month 1 and the summary says "already over the buffer". */
int capplan_compute(const struct capplan_in *in, struct capplan *out, char *err, size_t errlen);

/* The plan as a JSON document (docs/capacity.md, "plan"; the keys are listed in capplan.c
 * above capplan_json). A new reference. */
json_t *capplan_json(const struct capplan *p);

/* Rates and percentages for people: util/common.h's format_rate() and format_percent(). */

/* Flag-value parsers, for the CLI and scripts. Each returns 0 or -EINVAL. */

/* "55%" or "55.5%" -> 0.55 (a percent sign is required; the range is the caller's). */
int capplan_parse_percent(const char *s, double *out);

/* "15%/month" (also "/mo", "/m"), "/week" ("/wk"), "/quarter", "/year" ("/yr", "/y"), or
 * "15%" (per month) -> the equivalent compound monthly rate (0.15; "/year" 1.2^(1/12)−1; a
 * week is 7/30.4167 of a month). Negative rates are refused. */
int capplan_parse_growth(const char *s, double *out);

/* "0.17/h" ("/hour", "/hr"), "4/day", "120/month" ("/mo"), "1440/year" ("/yr") -> per
 * month of 730 hours (0.17/h -> 124.1). The unit is required; the amount >= 0. */
int capplan_parse_cost(const char *s, double *out);

/* "3x", "3X", "3×" or "3" -> 3 (> 0). */
int capplan_parse_multiple(const char *s, double *out);

#endif
