/*
 * verdict.h: the verdicts each test type exists for (issue #11; docs/cli.md, "Verdicts"), from a
 * result alone: the steps table, the breaking point, the throughput knee, spike recovery,
 * soak drift, and pass/fail per SLO on the steady state.
 *
 * Reads: options.testType (the preset's phases: name, startS, durationS, target; `stampede
 * run --type`), options.slo (the objectives, util/slo.h), http_req_duration's windows (exact
 * per-window histograms, result.h), and the per-second points of http_reqs, http_req_failed
 * and dropped_iterations. Percentiles of a range of the run come from the windows that lie
 * wholly inside it (merged exactly), so ramps and partial windows are left out.
 */
#ifndef STAMPEDE_VERDICT_H
#define STAMPEDE_VERDICT_H

#include "result/result.h"

/* Seconds p95 must stay back under its objective for a spike to count as recovered. */
#define VERDICT_RECOVERY_HOLD_S 10

/*
 * The verdicts of r's test type as a JSON object (docs/result-format.md, "analyses.testType"),
 * or NULL when the run had no test type (options.testType absent or malformed). Never fails
 * otherwise: a verdict that the data cannot support says why ("no complete window in the
 * hold", "no latency objective"). The caller owns the reference.
 */
json_t *verdict_test_type(const struct result *r);

#endif
