/* ndjson.c: --out json=FILE[.gz], k6's JSON output (NDJSON Metric and Point lines). */
/*
 * The format is k6's output/json (output/json/wrapper.go, json_test.go; docs
 * "Results output > Real-time > JSON"): one line {"type":"Metric","data":{"name","type",
 * "contains","thresholds","submetrics"},"metric":NAME} before a metric's first point, then
 * {"type":"Point","data":{"time","value","tags"},"metric":NAME} per sample; gzip when
 * FILE ends in ".gz". stampede aggregates per second, so the points of one interval are
 * rebuilt from its totals (output/k6_points.h): a consumer that sums counters, averages
 * rates or takes percentiles of trends gets the run's values (trends within the
 * histograms' 3 significant digits); every point carries the time of its second.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output/k6_points.h"
#include "output/output.h"
#include "util/buf.h"
#include "util/common.h"
#include "util/escape.h"
#include "util/outfile.h"

struct json_out {
	struct outfile_stream *file;
	struct buf batch; /* one interval's lines */
	char **metrics;   /* metrics whose Metric line is written */
	int nmetrics;
	unsigned char *by_series; /* 1: the series' metric line is written (by series id) */
	int nby_series;
	int rc; /* the file's first error */
	/* The run's thresholds, for the Metric lines (none until output_env carries them). */
	const struct result_threshold *th;
	int nth;
};

/* The shortest "%.Ng" that reads back as v (as Go's strconv 'g', -1 does). */
static void fmt_num(char *out, size_t len, double v)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(out, len, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

/* RFC 3339 with nanoseconds and the local offset, as Go marshals a time.Time: trailing
 * zeros of the fraction dropped, "Z" for UTC. */
static void fmt_time(char *out, size_t len, int64_t wall_us)
{
	time_t sec = (time_t)(wall_us / USEC_PER_SEC);
	long ns = (long)(wall_us % USEC_PER_SEC) * 1000;
	struct tm tm;
	char frac[16] = "", off[24] = "Z";
	localtime_r(&sec, &tm);
	if (ns) {
		int n = snprintf(frac, sizeof(frac), ".%09ld", ns);
		while (n > 1 && frac[n - 1] == '0')
			frac[--n] = '\0';
	}
	if (tm.tm_gmtoff) {
		long m = labs(tm.tm_gmtoff) / 60;
		snprintf(off, sizeof(off), "%c%02ld:%02ld", tm.tm_gmtoff < 0 ? '-' : '+', m / 60,
		         m % 60);
	}
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac, off);
}

/* k6's "thresholds" (the expressions on the metric itself) and "submetrics" (one per
 * tagged selector of the metric: name, suffix, tags) of a Metric line. */
static void metric_thresholds(struct json_out *j, const char *metric)
{
	struct buf *b = &j->batch;
	int nsub = 0;
	buf_addstr(b, ",\"thresholds\":[");
	for (int i = 0, n = 0; i < j->nth; i++) {
		if (strcmp(j->th[i].metric, metric) != 0 || j->th[i].ntags)
			continue;
		if (n++)
			buf_add(b, ",", 1);
		escape_json(b, j->th[i].expr);
	}
	buf_addstr(b, "],\"submetrics\":");
	for (int i = 0; i < j->nth; i++) {
		const struct result_threshold *t = &j->th[i];
		bool dup = false;
		if (strcmp(t->metric, metric) != 0 || !t->ntags)
			continue;
		for (int k = 0; k < i && !dup; k++)
			dup = strcmp(j->th[k].selector, t->selector) == 0;
		if (dup)
			continue;
		const char *brace = strchr(t->selector, '{');
		if (!brace || !brace[1])
			continue;
		char *suffix = xstrndup(brace + 1, strlen(brace + 1) - 1); /* inside the braces */
		buf_addstr(b, nsub++ ? "," : "[");
		buf_addstr(b, "{\"name\":");
		escape_json(b, t->selector);
		buf_addstr(b, ",\"suffix\":");
		escape_json(b, suffix);
		buf_addstr(b, ",\"tags\":{");
		for (int k = 0; k < t->ntags; k++) {
			if (k)
				buf_add(b, ",", 1);
			escape_json(b, t->tags[k].key);
			buf_add(b, ":", 1);
			escape_json(b, t->tags[k].value);
		}
		buf_addstr(b, "}}");
		free(suffix);
	}
	buf_addstr(b, nsub ? "]" : "null");
}

/* Write the Metric line of s's metric unless it was written. */
static void metric_line(struct json_out *j, const struct result_sample *s)
{
	if (s->series >= 0 && s->series < j->nby_series && j->by_series[s->series])
		return;
	bool seen = false;
	for (int i = 0; i < j->nmetrics && !seen; i++)
		seen = strcmp(j->metrics[i], s->metric) == 0;
	if (!seen) {
		j->metrics = xrealloc(j->metrics, (size_t)(j->nmetrics + 1) * sizeof(*j->metrics));
		j->metrics[j->nmetrics++] = xstrdup(s->metric);
		buf_addstr(&j->batch, "{\"type\":\"Metric\",\"data\":{\"name\":");
		escape_json(&j->batch, s->metric);
		buf_addstr(&j->batch, ",\"type\":\"");
		buf_addstr(&j->batch, result_type_name(s->type));
		buf_addstr(&j->batch, "\",\"contains\":\"");
		buf_addstr(&j->batch, result_contains(s->unit));
		buf_addstr(&j->batch, "\"");
		metric_thresholds(j, s->metric);
		buf_addstr(&j->batch, "},\"metric\":");
		escape_json(&j->batch, s->metric);
		buf_addstr(&j->batch, "}\n");
	}
	if (s->series >= 0) {
		if (s->series >= j->nby_series) {
			int n = MAX(s->series + 1, 2 * j->nby_series);
			j->by_series = xrealloc(j->by_series, (size_t)n);
			memset(j->by_series + j->nby_series, 0, (size_t)(n - j->nby_series));
			j->nby_series = n;
		}
		j->by_series[s->series] = 1;
	}
}

#define BATCH_FLUSH (1u << 20) /* hand the lines to the file's writer past 1 MiB */

static void flush_batch(struct json_out *j)
{
	if (j->rc == 0 && j->batch.len)
		j->rc = outfile_stream_write(j->file, j->batch.p, j->batch.len);
	j->batch.len = 0;
}

/* One sample's points share everything but the value: head + value + tail. */
struct point_line {
	struct json_out *j;
	struct buf head, tail;
};

static void point_line(void *ctx, double value, int64_t repeat)
{
	struct point_line *pl = ctx;
	struct buf *out = &pl->j->batch;
	char num[40];
	if (!isfinite(value))
		return;
	fmt_num(num, sizeof(num), value);
	while (repeat-- > 0 && pl->j->rc == 0) {
		buf_add(out, pl->head.p, pl->head.len);
		buf_addstr(out, num);
		buf_add(out, pl->tail.p, pl->tail.len);
		if (out->len >= BATCH_FLUSH)
			flush_batch(pl->j);
	}
}

static void json_interval(struct output *o, const struct result_interval *iv)
{
	struct json_out *j = o->state;
	struct point_line pl = { .j = j };
	char when[64];
	if (j->rc < 0)
		return;
	fmt_time(when, sizeof(when), iv->start_wall_us + (int64_t)iv->t * USEC_PER_SEC);
	for (int i = 0; i < iv->nsamples; i++) {
		const struct result_sample *s = &iv->samples[i];
		metric_line(j, s);
		pl.head.len = pl.tail.len = 0;
		buf_addstr(&pl.head, "{\"type\":\"Point\",\"data\":{\"time\":\"");
		buf_addstr(&pl.head, when);
		buf_addstr(&pl.head, "\",\"value\":");
		buf_addstr(&pl.tail, ",\"tags\":{");
		for (int t = 0; t < s->ntags; t++) {
			if (t)
				buf_add(&pl.tail, ",", 1);
			escape_json(&pl.tail, s->tags[t].key);
			buf_add(&pl.tail, ":", 1);
			escape_json(&pl.tail, s->tags[t].value);
		}
		buf_addstr(&pl.tail, "}},\"metric\":");
		escape_json(&pl.tail, s->metric);
		buf_addstr(&pl.tail, "}\n");
		k6_points(s, point_line, &pl);
	}
	buf_free(&pl.head);
	buf_free(&pl.tail);
	flush_batch(j);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int json_open(struct output *o, char *err, size_t errlen)
{
	struct json_out *j = xcalloc(1, sizeof(*j));
	const char *path = *o->arg ? o->arg : "-"; /* k6: no file name is stdout */
	j->th = o->env->thresholds; /* listed in each metric's Metric line, as k6 does */
	j->nth = o->env->nthresholds;
	int rc = outfile_stream_open(path, ends_with(path, ".gz") ? OUTFILE_GZIP : 0, &j->file, err,
	                             errlen);
	if (rc < 0) /* the pipeline closes only what opened */
		free(j);
	else
		o->state = j;
	return rc;
}

static int json_finish(struct output *o, const struct result *r, char *err, size_t errlen)
{
	struct json_out *j = o->state;
	if (!j || !j->file)
		return 0;
	return outfile_stream_commit(j->file, err, errlen);
}

static void json_close(struct output *o)
{
	struct json_out *j = o->state;
	if (!j)
		return;
	outfile_stream_free(j->file);
	for (int i = 0; i < j->nmetrics; i++)
		free(j->metrics[i]);
	free(j->metrics);
	free(j->by_series);
	buf_free(&j->batch);
	free(j);
	o->state = NULL;
}

const struct output_ops output_json = {
	.name = "json",
	.open = json_open,
	.interval = json_interval,
	.finish = json_finish,
	.close = json_close,
};
