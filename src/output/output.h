/*
 * output.h: the output table. Every way a run's numbers leave the process is an output:
 * the terminal summary, the progress line, the result file, k6's formats, Prometheus,
 * JUnit, Markdown, the HdrHistogram log and the HTML report. The coordinator hands each
 * output a per-second snapshot (interval) and, at the end, the result (finish).
 *
 * Dependency rule (scripts/check-layers.sh, run by `make test`): files in output/ include
 * only result/result.h, metrics/hdr.h, output/output.h and util/.
 *
 * Life of an output, all on the coordinator's thread (never a worker's):
 *   open      before any load is sent: check the argument, acquire what is needed
 *             (a listening socket, a writable path). An error here is exit 104.
 *   interval  once per closed second (struct result_interval, borrowed for the call).
 *             Must not block: buffer, or hand off to a thread of the output's own.
 *   finish    once, with the final result: write what the output writes. An error is
 *             reported (exit 110 when no verdict applies) and the other outputs still run.
 *   close     release everything; called only after a successful open (an open that
 *             fails releases what it took itself), with or without finish.
 */
#ifndef STAMPEDE_OUTPUT_H
#define STAMPEDE_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "result/result.h"

/* What every output may know before the run starts. */
struct output_env {
	int64_t planned_us;  /* the plan's length: the latest scenario end (start+duration);
	                      * 0 when every scenario runs a number of iterations */
	bool quiet;          /* --quiet: no progress line */
	bool no_color;       /* --no-color or NO_COLOR: no colours anywhere (k6's noColor) */
	bool color_stdout;   /* colours on stdout (a TTY, no --no-color, no NO_COLOR) */
	bool stdout_tty;     /* stdout is a terminal */
	bool stderr_tty;     /* stderr is a terminal */
	json_t *trend_stats; /* summaryTrendStats or NULL (borrowed) */
	/* The run's thresholds as parsed before it starts (source, metric, selector, tags,
	 * expr, stat; ok and value are not meaningful yet), for outputs that list them up
	 * front (k6's NDJSON Metric lines). Borrowed. */
	const struct result_threshold *thresholds;
	int nthresholds;
};

struct output;

struct output_ops {
	const char *name; /* as in --out NAME=ARG */
	/* 0, or -errno with a one-line reason in err (the caller prefixes "--out NAME=ARG: "). */
	int (*open)(struct output *o, char *err, size_t errlen);
	void (*interval)(struct output *o, const struct result_interval *iv);
	/* 0, or -errno with a one-line reason in err. */
	int (*finish)(struct output *o, const struct result *r, char *err, size_t errlen);
	void (*close)(struct output *o);
};

struct output {
	const struct output_ops *ops;
	const char *arg;              /* what follows "NAME=" ("" when nothing does) */
	const struct output_env *env; /* borrowed, lives for the whole run */
	void *state;                  /* the output's own */
};

/* The outputs. --out NAME=ARG selects one by name. */
extern const struct output_ops output_summary;    /* terminal summary (stdout); arg unused */
extern const struct output_ops output_progress;   /* live progress line (stderr) */

/* A run that is one phase of a longer job (`stampede assess`): the progress line starts
 * with label (e.g. "load 2/5"), a bar of the phase's planned time, and the job's time left
 * after this phase (later_us, added to the phase's own). label NULL: a plain run. Set it
 * before the run; the string is copied (at most 47 bytes). */
void progress_set_phase(const char *label, int64_t later_us);
extern const struct output_ops output_result;     /* result=FILE: stampede-result/1 */
extern const struct output_ops output_k6_export;  /* --summary-export FILE: k6 legacy */
extern const struct output_ops output_json;       /* json=FILE[.gz]: k6 NDJSON */
extern const struct output_ops output_csv;        /* csv=FILE[.gz]: k6 CSV */
extern const struct output_ops output_prometheus; /* prometheus=127.0.0.1:PORT */
extern const struct output_ops output_junit;      /* junit=FILE */
extern const struct output_ops output_markdown;   /* markdown=FILE */
extern const struct output_ops output_hdr;        /* hdr=FILE: HdrHistogram log */
extern const struct output_ops output_html;       /* html=FILE: self-contained report */

/* --- the pipeline: the outputs of one run ------------------------------------------- */

struct pipeline;

struct pipeline *pipeline_new(const struct output_env *env);
/* Add an output from an --out spec "NAME=ARG" (or "NAME"). Returns 0, -EINVAL with
 * "unknown output 'x' (known: json, csv, ...)" in err, or -E2BIG past 64 --out. */
int pipeline_add_spec(struct pipeline *p, const char *spec, char *err, size_t errlen);
/* Add an output by its ops (the summary, the progress line, --summary-export). */
void pipeline_add(struct pipeline *p, const struct output_ops *ops, const char *arg);
/* Open every output; on the first failure prints "stampede: --out SPEC: reason" on
 * stderr and returns -errno (exit 104). Two outputs that would write the same file (after
 * symlinks) are refused first. */
int pipeline_open(struct pipeline *p);
void pipeline_interval(struct pipeline *p, const struct result_interval *iv);
/* Finish every output with r, except the terminal summary when skip_summary (a
 * handle_summary() replaced it). Prints each failure on stderr; returns how many failed. */
int pipeline_finish(struct pipeline *p, const struct result *r, bool skip_summary);
/* Close every output and free p. Accepts NULL. */
void pipeline_free(struct pipeline *p);

/* --- k6's summary formats (output/k6.c) ------------------------------------------- */

/* The data object k6 passes to handleSummary(data): { root_group, options, state,
 * metrics, setup_data } exactly as k6 builds it (k6 docs "Custom summary"; k6's
 * js/summary.go). New reference. */
json_t *k6_summary_data(const struct result *r, const struct output_env *env);
/* k6's legacy --summary-export document (k6 < 0.30 JSON export, still written by
 * --summary-export). New reference. */
json_t *k6_legacy_export(const struct result *r, const struct output_env *env);

/* --- the terminal summary (output/summary.c) -------------------------------------- */

/* Print the k6-style end-of-test summary of r. */
void summary_print(FILE *f, const struct result *r, const struct output_env *env, bool color);

#endif
