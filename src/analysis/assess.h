/*
 * assess.h: the assessment of one service (issue #15, docs/assess.md): from the result files
 * of the phases `stampede assess` ran (smoke, load, breakpoint, spike, soak), one document
 * ("stampede-assessment/1") with the verdict per test type, the breaking point, spike
 * recovery, soak stability and leaks, the bottleneck with its evidence, the scraped counters
 * per request, the profile, the steps table, a Universal Scalability Law fit and capacity
 * plan, and the findings ordered by impact.
 *
 * Reads only what the phases' results already hold (analyses.testType, .bottleneck, .leaks,
 * .monitor, .profile; analysis/verdict.h, bottleneck.h, leak.h): it adds no measurement, it
 * joins them and says what matters first. Pure: no I/O.
 */
#ifndef STAMPEDE_ANALYSIS_ASSESS_H
#define STAMPEDE_ANALYSIS_ASSESS_H

#include <jansson.h>
#include <stdbool.h>

#include "result/result.h"

#define ASSESS_FORMAT     "stampede-assessment/1"
#define ASSESS_PHASES_MAX 8

/* Counters per request at or above this, named like database queries (quer, sql, db), are
 * an N+1 pattern: a request making a query per item instead of one for the list. */
#define ASSESS_QUERIES_N1 3.0

/* What happened to one phase, as the command saw it. */
enum assess_ran {
	ASSESS_NOT_RUN,     /* skipped: reason says why */
	ASSESS_RAN,         /* ran to its end (or, for the breakpoint, to the SLO's abort) */
	ASSESS_INTERRUPTED, /* stopped by a signal: its result holds what was done */
	ASSESS_ERROR,       /* could not run or its result could not be read: reason */
};

struct assess_phase {
	const char *name;       /* "smoke", "load", "breakpoint", "spike", "soak" */
	double planned_s;       /* the planned length (s) */
	double ran_s;           /* the wall-clock length (s); NAN when not run */
	enum assess_ran ran;    /* */
	int exit_code;          /* the run's exit code; -1 when not run */
	const char *result;     /* the result file's name relative to the assessment's, or NULL */
	const char *report;     /* its HTML report, or NULL */
	double level;           /* R (/s), or the smoke test's VUs */
	bool vus;               /* level counts VUs (the smoke test) */
	double peak;            /* the top rate (/s) of the spike and breakpoint; NAN otherwise */
	const char *reason;     /* why it did not run, stopped or failed; NULL */
	const struct result *r; /* its result (borrowed), or NULL */
};

struct assess_in {
	const char *version;
	const char *started_at; /* RFC 3339 */
	double duration_s;
	const char *url;
	const char *script; /* or NULL */
	bool loopback;
	double expected_rps, max_rps, budget_s;
	const char *slo;
	const char *status; /* "complete", "stopped", "interrupted", "error" */
	const char *status_reason;
	int nphases;
	struct assess_phase phases[ASSESS_PHASES_MAX];
	/* the capacity plan's inputs (analysis/capplan.h): cost per instance and month (NAN:
	 * none), its currency (NULL), the monthly growth (0: none) */
	double cost_month;
	const char *currency;
	double growth;
};

/* The assessment document (docs/assess.md, "The assessment file"). Never fails: a part the
 * phases cannot support is null (or an object with an error) and the findings say why.
 * The caller owns the reference. */
json_t *assess_build(const struct assess_in *in);

/* The status of one phase in the document: "pass", "fail", "done" (the breakpoint),
 * "skipped", "interrupted", "error", from what the command saw and the phase's verdict. */
const char *assess_phase_status(const struct assess_phase *p);

#endif
