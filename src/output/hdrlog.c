/* hdrlog.c: --out hdr=FILE, http_req_duration as an HdrHistogram interval log. */
/*
 * The interval log of HdrHistogram's HistogramLogWriter (format version 1.3, read by its
 * HistogramLogReader and HistogramLogProcessor): comment lines "#[StartTime: S (seconds
 * since epoch), DATE]" and "#[BaseTime: S ...]", the legend line, then one line per
 * second of the run, "START,LENGTH,MAX,HISTOGRAM": START seconds since BaseTime (the run's
 * start), LENGTH the interval's length (1.000, less for the run's last), MAX the
 * interval's largest value in ms, HISTOGRAM the interval's histogram of
 * http_req_duration (all series) in the V2 compressed base64 encoding.
 * The histogram's values are microseconds, as stampede records them: the Max column is
 * written with a "max value unit ratio" of 1000 (µs to ms), as HistogramLogWriter writes
 * ns with its default ratio of 1000000. Each line of the whole metric is followed by one
 * "Tag=NAME," line per value of the request's `name` tag (commas and white space in NAME
 * become '_', which the format does not allow in tags); readers that are not asked for a
 * tag skip those lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics/hdr.h"
#include "output/output.h"
#include "util/buf.h"
#include "util/common.h"
#include "util/outfile.h"

#define HDR_METRIC "http_req_duration"
#define MAX_RATIO  1000.0 /* µs in the histograms, ms in the Max column */

struct by_name {
	const char *name; /* borrowed from the interval */
	struct hdr *h;
};

struct hdr_out {
	struct outfile_stream *file;
	struct buf line;
	bool header; /* the comment lines and the legend are written */
	struct hdr *empty;
	struct by_name *names;
	int nnames, cap;
	int rc;
};

static void header(struct hdr_out *h, int64_t start_wall_us)
{
	char date[64] = "";
	time_t sec = (time_t)(start_wall_us / USEC_PER_SEC);
	struct tm tm;
	double s = (double)start_wall_us / USEC_PER_SEC;
	if (localtime_r(&sec, &tm))
		strftime(date, sizeof(date), "%a %b %d %H:%M:%S %Z %Y", &tm);
	char text[512];
	snprintf(text, sizeof(text),
	         "#[stampede: " HDR_METRIC " per second, values in microseconds]\n"
	         "#[Histogram log format version 1.3]\n"
	         "#[StartTime: %.3f (seconds since epoch), %s]\n"
	         "#[BaseTime: %.3f (seconds since epoch)]\n"
	         "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
	         "\"Interval_Compressed_Histogram\"\n",
	         s, date, s);
	buf_addstr(&h->line, text);
	h->header = true;
}

/* One interval line (tag NULL: the whole metric). */
static void log_line(struct hdr_out *h, int32_t t, double length_s, const char *tag,
                     const struct hdr *hist)
{
	char *enc = NULL, num[128];
	int rc = hdr_encode(hist, &enc);
	if (rc < 0) {
		h->rc = rc;
		return;
	}
	if (tag) {
		buf_addstr(&h->line, "Tag=");
		for (const char *p = tag; *p; p++) /* the format's tags hold no ',' or space */
			buf_add(&h->line, strchr(", \t\r\n", *p) ? "_" : p, 1);
		buf_add(&h->line, ",", 1);
	}
	snprintf(num, sizeof(num), "%d.000,%.3f,%.3f,", t, length_s > 0 ? length_s : 1.0,
	         (double)hdr_max(hist) / MAX_RATIO);
	buf_addstr(&h->line, num);
	buf_addstr(&h->line, enc);
	buf_add(&h->line, "\n", 1);
	free(enc);
}

static const char *name_tag(const struct result_sample *s)
{
	for (int i = 0; i < s->ntags; i++)
		if (strcmp(s->tags[i].key, "name") == 0)
			return s->tags[i].value;
	return NULL;
}

/* Merge the interval's series of the metric by their name tag into h->names. */
static void group_by_name(struct hdr_out *h, const struct result_interval *iv)
{
	h->nnames = 0;
	for (int i = 0; i < iv->nsamples; i++) {
		const struct result_sample *s = &iv->samples[i];
		const char *name = name_tag(s);
		int k;
		if (!name || !s->v.h || strcmp(s->metric, HDR_METRIC) != 0)
			continue;
		for (k = 0; k < h->nnames && strcmp(h->names[k].name, name) != 0; k++)
			;
		if (k == h->nnames) {
			if (k == h->cap) {
				h->cap = h->cap ? 2 * h->cap : 8;
				h->names = xrealloc(h->names, (size_t)h->cap * sizeof(*h->names));
				for (int j = k; j < h->cap; j++)
					h->names[j].h = NULL;
			}
			if (!h->names[k].h)
				h->names[k].h = hdr_new_default();
			hdr_reset(h->names[k].h);
			h->names[k].name = name;
			h->nnames++;
		}
		hdr_merge(h->names[k].h, s->v.h);
	}
}

static void hdr_interval(struct output *o, const struct result_interval *iv)
{
	struct hdr_out *h = o->state;
	if (h->rc < 0)
		return;
	if (!h->header)
		header(h, iv->start_wall_us);
	const struct result_sample *m = result_interval_metric(iv, HDR_METRIC);
	log_line(h, iv->t, iv->length_s, NULL, m && m->v.h ? m->v.h : h->empty);
	group_by_name(h, iv);
	for (int i = 0; i < h->nnames && h->rc == 0; i++)
		log_line(h, iv->t, iv->length_s, h->names[i].name, h->names[i].h);
	if (h->rc == 0)
		h->rc = outfile_stream_write(h->file, h->line.p, h->line.len);
	h->line.len = 0;
}

static int hdr_open(struct output *o, char *err, size_t errlen)
{
	struct hdr_out *h = xcalloc(1, sizeof(*h));
	int rc = outfile_stream_open(*o->arg ? o->arg : "-", 0, &h->file, err, errlen);
	if (rc < 0) { /* the pipeline closes only what opened */
		free(h);
		return rc;
	}
	h->empty = hdr_new_default();
	o->state = h;
	return 0;
}

static int hdr_finish(struct output *o, const struct result *r, char *err, size_t errlen)
{
	struct hdr_out *h = o->state;
	if (!h->header && h->rc == 0) { /* a run without a closed second: the header only */
		header(h, r->start_wall_us);
		h->rc = outfile_stream_write(h->file, h->line.p, h->line.len);
		h->line.len = 0;
	}
	int rc = outfile_stream_commit(h->file, err, errlen);
	if (rc == 0 && h->rc < 0) {
		snprintf(err, errlen, "cannot encode a histogram: %s", strerror(-h->rc));
		rc = h->rc;
	}
	return rc;
}

static void hdr_close(struct output *o)
{
	struct hdr_out *h = o->state;
	if (!h)
		return;
	outfile_stream_free(h->file);
	for (int i = 0; i < h->cap; i++)
		hdr_free(h->names[i].h);
	free(h->names);
	hdr_free(h->empty);
	buf_free(&h->line);
	free(h);
	o->state = NULL;
}

const struct output_ops output_hdr = {
	.name = "hdr",
	.open = hdr_open,
	.interval = hdr_interval,
	.finish = hdr_finish,
	.close = hdr_close,
};
