/*
 * slo.h: service level objectives, the way performance engineers write them:
 * "p95<200ms,p99<500ms,errors<0.1%", or a named preset from the common SLO table.
 *
 * An SLO set turns into k6 thresholds (slo_threshold(): "http_req_duration: p(95)<200",
 * "http_req_failed: rate<0.001") that the run evaluates like any --threshold, and it is
 * kept in the result's options ("slo": the canonical items) so that analyses can judge
 * each window of a run against the same objectives (docs/cli.md, "SLOs").
 *
 * Grammar (items separated by ','; spaces ignored):
 *   latency:      STAT OP DURATION   STAT: p95, p(95), p99.9, avg, med, max
 *                                    DURATION: a number with a unit: 250us 200ms 1.5s 1m
 *   errors:       errors OP PERCENT|FRACTION      errors<0.1%  errors<=0.001  errors==0
 *   availability: availability OP PERCENT         availability>=99.9%  (errors <= 0.1%)
 *   OP: < <= (latency, errors), > >= (availability), == (errors==0 only)
 */
#ifndef STAMPEDE_SLO_H
#define STAMPEDE_SLO_H

#include <stdbool.h>
#include <stddef.h>

#define SLO_MAX 8

enum slo_kind { SLO_LATENCY, SLO_ERRORS };

struct slo {
	enum slo_kind kind;
	char stat[32]; /* k6's name: "p(95)", "avg", "med", "max"; errors: "rate" */
	double pct;    /* latency percentile 0..100 (p(N) only), else 0 */
	char op[3];    /* "<", "<=", "==" (availability is stored as its error rate) */
	double value;  /* latency: ms; errors: a fraction (0.001 = 0.1%) */
	char text[80]; /* canonical item, e.g. "p95<200ms", "errors<0.1%" */
};

struct slo_set {
	int n;
	struct slo item[SLO_MAX];
	char preset[24]; /* the preset it started from, or "" */
};

/* Parse spec (grammar above) into *out (replacing same-statistic items already in *out,
 * so "--slo-preset X --slo p95<150ms" tightens one objective of X). Returns 0, or -1 with
 * a one-line reason naming the bad item in err (out unchanged). */
int slo_parse(const char *spec, struct slo_set *out, char *err, size_t errlen);

/* The objective a smoke test always carries, whatever else the SLOs say: no failed request
 * (engine/preset.h's errors_zero; added by --type smoke and by stampede.preset{type =
 * "smoke"}). */
#define SLO_NO_ERRORS "errors==0"

/* Load a named preset from the common SLO table into *out (replacing it):
 *   user-facing  p95<200ms, p99<500ms, availability 99.9%  (errors<0.1%)
 *   internal     p95<100ms, p99<300ms, availability 99.5%  (errors<0.5%)
 *   real-time    p95<50ms,  p99<100ms, availability 99.95% (errors<0.05%)
 *   background   p95<5s,    p99<10s,   availability 99%    (errors<1%)
 * Returns 0, or -1 with the known names in err. */
int slo_preset(const char *name, struct slo_set *out, char *err, size_t errlen);

/* The names of the presets, NULL-terminated. */
extern const char *const slo_preset_names[];

/* The k6 threshold for s, "METRIC: EXPR" with time in ms: "http_req_duration: p(95)<200",
 * "http_req_failed: rate<0.001". Writes at most len bytes (NUL included). */
void slo_threshold(const struct slo *s, char *buf, size_t len);

/* Whether value (ms for latency, a fraction for errors) meets s. NaN never does. */
bool slo_met(const struct slo *s, double value);

#endif
