/*
 * scrape.h: `run --scrape URL` (issue #12, docs/monitoring.md): the target's own Prometheus
 * endpoint, read once a second during the run, its samples recorded as metrics of the run
 * on the run's clock.
 *
 * Names: a scraped sample named x (as exposed, e.g. demo_db_queries_total) becomes the
 * metric target_x (':' turned into '_'), so it never collides with stampede's own metrics.
 *   counter samples (TYPE counter: x or x_total; untyped named *_total)   -> counter
 *       target_x: what it grew by since the last scrape (per second in the time series);
 *       a value going down is a reset, counted from 0 as Prometheus does (increase()).
 *   gauge and other untyped samples                                       -> gauge target_x
 *   histogram and summary: x_sum and x_count only (mean = sum / count)     -> counters
 *   buckets, quantiles, _created                                           -> not recorded
 * A label set becomes the series' tags: at most SCRAPE_MAX_LABELS labels, in the order
 * written (the rest dropped, counted); label names starting with "__" are dropped; a label
 * "instance" becomes "exported_instance" when several URLs are scraped (each series then
 * carries instance="host:port").
 *
 * A NaN, +Inf or -Inf sample is skipped and counted (nonFinite): a counter's total and
 * baseline, a gauge's value and min/max are left as they were.
 *
 * Bounds: per URL, at most SCRAPE_MAX_METRICS metrics and SCRAPE_MAX_SERIES series (past
 * them: counted as dropped, never an error); names, label values and series identities
 * of at most SCRAPE_MAX_NAME, SCRAPE_MAX_LABEL_VALUE and SCRAPE_MAX_SERIES_KEY bytes
 * (past them: the sample is dropped, counted); a body of at most SCRAPE_MAX_BODY bytes;
 * one HTTP request at a time, SCRAPE_TIMEOUT_MS at most.
 *
 * Families: those of the probe (scraper_probe()) are registered by scraper_attach(), before
 * thresholds are checked, so thresholds may name them; that includes a family a "# TYPE"
 * line declares without any sample yet (a server that exposes a labelled family only at
 * its first increment, as the demo's http_requests_total), under the names its samples
 * get in format 0.0.4 (x; x_sum and x_count). A family, or a label set of a known one,
 * that first appears in a later scrape is recorded from that scrape on, within the bounds:
 * its metric is registered at the next scraper_sample() on the coordinator's thread
 * (registry_metric() is thread-safe and the registry never moves its entries; the scrape
 * thread never touches the registry), and the family counts in lateFamilies (recorded,
 * but no threshold could name it at the start). A counter series first seen after the
 * baseline (scraper_baseline()) counts its whole value: it was created during the run, so
 * all of it happened then. That is what k6 does with a counter created mid-run (every
 * increment is a sample), what Prometheus' increase() gives with created-timestamp zero
 * injection (a 0 sample at the series' creation; without it a new series' first value is
 * lost) and the OpenTelemetry collector's cumulative-to-delta "auto" rule (a series that
 * started after the collector keeps its first value). A series already there at the
 * baseline counts only what it grew by afterwards.
 *
 * Threads: a scraper's thread does the HTTP and the parsing, at each whole second of the
 * run's clock; scraper_sample() (the coordinator's 1 Hz tick, ~30 ms later) records the
 * latest scrape under a mutex and never waits on the network. Failures (connection,
 * timeout, HTTP status, oversize body, no sample in the body) of the run's scrapes (the
 * baseline's on: after scraper_attach()) are counted with the latest reason; the run goes
 * on. The probe's failed attempts (retried while a --monitor-cmd target comes up) are not
 * the run's: they count nowhere and never set lastError; its successful read counts as an
 * ok scrape (its values are the families and the fallback baseline).
 */
#ifndef STAMPEDE_ENGINE_SCRAPE_H
#define STAMPEDE_ENGINE_SCRAPE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/metrics.h"

#define SCRAPE_MAX_URLS    8
#define SCRAPE_MAX_METRICS 128
#define SCRAPE_MAX_SERIES  256
#define SCRAPE_MAX_LABELS  8
#define SCRAPE_MAX_BODY    (4u << 20) /* bytes */
#define SCRAPE_TIMEOUT_MS  800
/* Caps on what one series may make the scraper keep, so that a hostile or broken endpoint
 * (a new 3 MiB metric name per scrape) cannot grow the run's memory or its result files:
 * each name is copied into the metric, the registry and every output, each label value
 * into the series' tags. A sample past any of them is dropped, never stored, and counted
 * (scraper_json()'s droppedLongNames).
 * SCRAPE_MAX_NAME: bytes of a sample name. Real names are far shorter (the longest in
 * node_exporter, kube-state-metrics and the Go client are under 100 bytes); 200 leaves
 * room for long prefixes and keeps "target_" + name printable in a summary line.
 * SCRAPE_MAX_LABEL_VALUE: bytes of one label value (after unescaping): a route, a pod or
 * image name, a version string fit; a request body or a stack trace does not (that is a
 * log line, not a label). 256 is also what a column of stampede's tables can show.
 * SCRAPE_MAX_SERIES_KEY: bytes of the whole identity: the name plus every label's name
 * and value (two separator bytes each), also the labels past SCRAPE_MAX_LABELS and those
 * starting with "__", which still tell series apart. 4096 holds the name and 8 labels at
 * their caps with room for a few more short ones; all the series of one URL then hold at
 * most SCRAPE_MAX_SERIES * 4 KiB = 1 MiB of keys. */
#define SCRAPE_MAX_NAME        200
#define SCRAPE_MAX_LABEL_VALUE 256
#define SCRAPE_MAX_SERIES_KEY  4096

struct scraper;

/* url as results show it: the user and password of "scheme://user:pass@host/..." become
 * three asterisks, so that result files carry no credentials. */
void scrape_url_shown(const char *url, char *out, size_t len);

/* A scraper of url (http:// or https://; copied). instance: the value of the instance tag
 * every series gets (when several URLs are scraped), or NULL for none. No I/O yet. */
struct scraper *scraper_new(const char *url, const char *instance);

/* The first scrape, synchronous (at most SCRAPE_TIMEOUT_MS): fetch and read the body; its
 * families (with samples, or declared by "# TYPE") become the metrics scraper_attach()
 * registers. May be called again after a failure (not counted as a failed scrape).
 * Returns 0, or a negative errno with the reason in err: -ECONNREFUSED / -ETIMEDOUT / -EIO
 * (no answer, or HTTP status not 2xx), -EFBIG (body over SCRAPE_MAX_BODY), -EPROTO (no
 * Prometheus sample in the body). */
int scraper_probe(struct scraper *s, char *err, size_t errlen);

/* Read body[0..len) as one scrape would (the probe's, when before scraper_attach()). Returns
 * 0, or -EFBIG / -EPROTO with the reason in err (counted as a failed scrape once
 * attached). For tests and for scraper_probe(); the thread uses it too. */
int scraper_ingest(struct scraper *s, const char *body, size_t len, char *err, size_t errlen);

/* Register the probe's metrics in reg (before thresholds are checked). first_foreign: the
 * metrics with an id below it are not a scraper's (stampede's own, a script's, the
 * monitor's); reserved: more names that are not a scraper's (the monitor's target_*, also
 * when they are not registered), NULL-terminated, or NULL (copied: the same rules apply to
 * the metrics registered later). A scraped name among them is dropped, and so is a metric
 * past the registry's cap or registered by another scraper with another type; each is
 * listed in scraper_json()'s droppedMetrics. Never fails. */
void scraper_attach(struct scraper *s, struct registry *reg, int first_foreign,
                    const char *const *reserved);

/* Before the run's clock starts: a fresh scrape (synchronous, at most SCRAPE_TIMEOUT_MS)
 * as the baseline of the counters; when it fails, the probe's values are the baseline. */
void scraper_baseline(struct scraper *s);

/* Start the thread: it scrapes at start_us + k seconds (k = 1, 2, ...; monotonic µs). */
void scraper_start(struct scraper *s, int64_t start_us);

/* Record the latest scrape into sink (the coordinator's), if a new one arrived since the
 * last call: counters what they grew by, gauges their value; the metrics of families that
 * appeared since are registered first (call it from one thread: the coordinator's). Takes
 * the scraper's mutex briefly; never does I/O. */
void scraper_sample(struct scraper *s, struct sink *sink);

/* After the load: stop the thread, take one last scrape (synchronous) and record it, so the
 * counters cover every request of the run. */
void scraper_end(struct scraper *s, struct sink *sink);

/* The run's http_reqs total, for the per-request ratios of scraper_json(). */
void scraper_set_requests(struct scraper *s, double http_reqs);

/* For analyses.monitor.scrape[]: {url, okScrapes, failedScrapes, lastError (or null),
 * families (that gave a metric), metrics (registered), series, droppedSeries,
 * droppedLabels, lateFamilies (first seen after the start, recorded from then), badLines,
 * droppedLongNames, nonFinite, droppedSamples, droppedMetrics: [{name, reason[, count]}],
 * counters: {METRIC: total}, perRequest: {METRIC: total / http_reqs} (when there were
 * requests)}. A new reference.
 * The counts of samples not recorded are each THE MOST IN ANY ONE SCRAPE of the run (the
 * probe's, the baseline's and the last included), not totals over the run: an endpoint
 * exposes the same series every second, so a total would grow with the run's length and
 * count one series sixty times a minute; the most in one scrape says how much of one
 * exposition was lost. They are:
 *   droppedSeries     samples of a recorded name that had no series: SCRAPE_MAX_SERIES
 *                     series were there already
 *   droppedLongNames  samples whose name, a label value or whole identity was past
 *                     SCRAPE_MAX_NAME, SCRAPE_MAX_LABEL_VALUE or SCRAPE_MAX_SERIES_KEY
 *                     (and families declared by TYPE alone whose name was)
 *   nonFinite         samples of NaN, +Inf or -Inf, skipped: a counter's baseline and
 *                     total stay as they were (its next finite value counts from the last
 *                     finite one), a gauge keeps its last value and min/max
 *   droppedSamples    samples the parser did not store (over PROMTEXT_MAX_SAMPLES in the
 *                     body, or of a family past PROMTEXT_MAX_FAMILIES)
 * badLines is the last scrape's count of lines skipped; droppedLabels counts series (over
 * the run) whose labels were cut to SCRAPE_MAX_LABELS. droppedMetrics lists each metric
 * dropped by name, then at most two summary entries named "...", with count, the most in
 * one scrape: sample names past SCRAPE_MAX_METRICS (a name's consecutive samples count
 * once), and families past the parser's PROMTEXT_MAX_FAMILIES (likewise). */
json_t *scraper_json(const struct scraper *s);

/* Stop the thread if running and free; accepts NULL. */
void scraper_free(struct scraper *s);

#endif
