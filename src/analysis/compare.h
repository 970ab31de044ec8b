/*
 * compare.h: compare a run with a baseline, per metric and per endpoint, with statistics
 * that respect how load-test data behaves (issue #13, docs/compare.md).
 *
 * Requests are numerous and autocorrelated, so a per-request test calls every difference
 * significant. Each run is cut into intervals (its per-second time series, over the
 * steady part: the first 10% of the run, at least 1 s and at most 30 s, and the last
 * partial second are left out, or --from/--to), and each compared figure is a statistic
 * of those per-interval values:
 *
 *   - the figures: latency, the median of the per-second values of the statistic (the
 *     median per-second p95); throughput, the mean requests per second; the error rate,
 *     failed over all requests of the span. Per endpoint (the `name` tag), a second's
 *     percentile is the request-weighted mean of its series' (one series per status:
 *     exact when the endpoint answered with one status). The change is the ratio of the
 *     current figure to the baseline's (latency, throughput) or their difference in
 *     percentage points (error rate);
 *   - the evidence: a one-sided Mann–Whitney U test of the per-interval values (is the
 *     current run's distribution of per-second p95s shifted towards worse?), and a
 *     moving-block bootstrap 95% interval of the ratio of their medians (analysis/stats.h);
 *   - the verdict: "regression" when the change is past its limit in the worse direction
 *     AND the evidence says so: the U test's p < alpha and the ratio's interval lies
 *     wholly past COMPARE_CI_MARGIN (half) of the limit (a 20% limit: its lower end above
 *     1.10; every second of a run shares the machine's state, so noise that shifts a whole
 *     run gives a narrow interval away from 1: excluding 1 is not enough; for the error
 *     rate, whose limit is in points, the interval must lie above 1); "improvement"
 *     the same in the better direction; "inconclusive" when the change is past the limit
 *     but the evidence is not there (too few intervals, or too noisy); "no change" when the
 *     change is within its limit.
 *
 * Limits (--max-regression): a list "STAT=LIMIT,...": STAT a per-second statistic of
 * http_req_duration a result keeps (p50 or med, p90, p95, p99, max; also written p(95)),
 * "rps" (throughput, http_reqs per second) or "errors" (http_req_failed's rate);
 * LIMIT "20%" or "+20%" (latency: a rise of more than 20% is a regression), "-10%" (rps:
 * a fall of more than 10%), "+0.5pp" (errors: a rise of more than 0.5 percentage points).
 * A bare "20%" is every latency statistic's limit. The default: p95=+20%, p99=+30%,
 * rps=-10%, errors=+0.5pp (the seed's rule "fail the pipeline if p95 degrades more than
 * 20%" is `--max-regression p95=20%`).
 */
#ifndef STAMPEDE_ANALYSIS_COMPARE_H
#define STAMPEDE_ANALYSIS_COMPARE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "result/result.h"

#define COMPARE_MAX_LIMITS    16 /* items of --max-regression */
#define COMPARE_MAX_ENDPOINTS 64 /* endpoints (name tags) compared, by requests */
#define COMPARE_MIN_INTERVALS 5  /* fewer per run: "inconclusive" (too few intervals) */
#define COMPARE_ALPHA         0.05
#define COMPARE_RESAMPLES     2000
#define COMPARE_CI_MARGIN     0.5 /* the ratio's interval must lie past this share of a limit */
#define COMPARE_SEED          0x5354414d50454445ull /* reproducible intervals */

/* What a limit is on. */
enum compare_kind {
	CMP_LATENCY, /* a statistic of http_req_duration (ms): higher is worse */
	CMP_RPS,     /* throughput (http_reqs per second): lower is worse */
	CMP_ERRORS,  /* http_req_failed's rate: higher is worse, limit in percentage points */
};

struct compare_limit {
	enum compare_kind kind;
	char stat[16]; /* CMP_LATENCY: "med", "p(90)", "p(95)", "p(99)", "max" (k6's names) */
	double limit;  /* a fraction (0.2 for 20%) or, for CMP_ERRORS, points (0.005) */
};

struct compare_opts {
	struct compare_limit limits[COMPARE_MAX_LIMITS];
	int nlimits;
	double from_s, to_s; /* the compared span of each run, s; NAN: the steady part */
	bool endpoints;      /* also per endpoint (the `name` tag); default true */
	double alpha;        /* COMPARE_ALPHA */
	int resamples;       /* COMPARE_RESAMPLES */
};

/* The default options (the default limits, the steady part, endpoints). */
void compare_opts_default(struct compare_opts *o);

/*
 * Parse --max-regression's text into o's limits (replacing them). Returns 0, or -EINVAL
 * with the reason in err (which item, what was expected).
 */
int compare_parse_limits(const char *text, struct compare_opts *o, char *err, size_t errlen);

/*
 * Compare current with baseline. Returns the comparison as a new JSON object (the `--out
 * json=` document, docs/compare.md):
 *   {baseline: RUNINFO, current: RUNINFO, alpha, limits: [{kind, stat, limit, text}],
 *    rows: [{metric, stat, endpoint (or null), unit ("ms", "req/s", "%"), kind,
 *            baseline, current, change (ratio - 1, or the difference in points),
 *            ratio, ciLow, ciHigh (the ratio's 95% interval, or null), p (one-sided,
 *            towards worse), intervals: [nb, nc], limit (or null: shown, not judged),
 *            verdict ("regression", "improvement", "no change", "inconclusive", or
 *            "not judged" for a row without a limit), why}],
 *    onlyInBaseline: [endpoint...], onlyInCurrent: [endpoint...],
 *    verdict ("regression", "improvement", "no change", "inconclusive"), regressions,
 *    improvements, inconclusive, summary (one sentence)}
 * RUNINFO: {start (RFC 3339), durationS, version, source (the script or URL), scenarios,
 * fromS, toS (the compared span of that run, whole seconds)}; cmd_compare adds file.
 * Returns NULL with the reason in err when the two cannot be compared: different
 * scenarios (names them), a metric a limit needs missing from one (names it and the
 * file's role), no interval in the compared span.
 */
json_t *compare_runs(const struct result *baseline, const struct result *current,
                     const struct compare_opts *o, char *err, size_t errlen);

#endif
