/* csv.c: --out csv=FILE[.gz], k6's CSV output. */
/*
 * The columns are k6's output/csv (MakeHeader, SampleToRow): metric_name, timestamp (unix
 * seconds, k6's default timeFormat), metric_value ("%f"), one column per system tag that
 * k6 enables by default, in name order (check ... url), then extra_tags (every other tag
 * as k=v joined by '&') and metadata (empty: stampede has no per-sample metadata). Fields
 * are quoted as RFC 4180 and Go's encoding/csv do; lines end in "\n" as k6's do. The rows
 * of one interval are rebuilt from its totals as for --out json (output/k6_points.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/k6_points.h"
#include "output/output.h"
#include "util/buf.h"
#include "util/common.h"
#include "util/outfile.h"

/* k6's default system tags (metrics.DefaultSystemTagSet), sorted as its header is. */
static const char *const tag_columns[] = {
	"check",       "error", "error_code", "expected_response", "group",  "method",
	"name",        "proto", "scenario",   "service",           "status", "subproto",
	"tls_version", "url",
};

#define BATCH_FLUSH (1u << 20)

struct csv_out {
	struct outfile_stream *file;
	struct buf batch;
	struct buf head, tail; /* one sample's row around its value */
	int rc;
};

/* Append s as one CSV field: quoted when it holds a comma, a quote, CR or LF, or starts
 * with a space (Go's fieldNeedsQuotes), quotes doubled. */
static void field(struct buf *b, const char *s)
{
	bool quote = strpbrk(s, ",\"\r\n") || s[0] == ' ' || s[0] == '\t';
	if (!quote) {
		buf_addstr(b, s);
		return;
	}
	buf_add(b, "\"", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			buf_add(b, "\"", 1);
		buf_add(b, p, 1);
	}
	buf_add(b, "\"", 1);
}

static bool is_column(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(tag_columns); i++)
		if (strcmp(tag_columns[i], key) == 0)
			return true;
	return false;
}

static const char *tag_value(const struct result_sample *s, const char *key)
{
	for (int i = 0; i < s->ntags; i++)
		if (strcmp(s->tags[i].key, key) == 0)
			return s->tags[i].value;
	return "";
}

static void flush_batch(struct csv_out *c)
{
	if (c->rc == 0 && c->batch.len)
		c->rc = outfile_stream_write(c->file, c->batch.p, c->batch.len);
	c->batch.len = 0;
}

static void row(void *ctx, double value, int64_t repeat)
{
	struct csv_out *c = ctx;
	char num[400];
	if (!isfinite(value))
		return;
	snprintf(num, sizeof(num), "%f", value);
	while (repeat-- > 0 && c->rc == 0) {
		buf_add(&c->batch, c->head.p, c->head.len);
		buf_addstr(&c->batch, num);
		buf_add(&c->batch, c->tail.p, c->tail.len);
		if (c->batch.len >= BATCH_FLUSH)
			flush_batch(c);
	}
}

/* The part of s's rows after the value: the tag columns, extra_tags, metadata. */
static void row_tail(struct buf *b, const struct result_sample *s)
{
	struct buf extra = { 0 };
	for (size_t i = 0; i < ARRAY_SIZE(tag_columns); i++) {
		buf_add(b, ",", 1);
		field(b, tag_value(s, tag_columns[i]));
	}
	for (int i = 0; i < s->ntags; i++) {
		if (is_column(s->tags[i].key))
			continue;
		if (extra.len)
			buf_add(&extra, "&", 1);
		buf_addstr(&extra, s->tags[i].key);
		buf_add(&extra, "=", 1);
		buf_addstr(&extra, s->tags[i].value);
	}
	buf_add(b, ",", 1);
	field(b, extra.len ? extra.p : "");
	buf_addstr(b, ",\n"); /* metadata: empty */
	buf_free(&extra);
}

static void csv_interval(struct output *o, const struct result_interval *iv)
{
	struct csv_out *c = o->state;
	char ts[32];
	if (c->rc < 0)
		return;
	snprintf(ts, sizeof(ts), ",%lld,", (long long)((iv->start_wall_us / USEC_PER_SEC) + iv->t));
	for (int i = 0; i < iv->nsamples && c->rc == 0; i++) {
		const struct result_sample *s = &iv->samples[i];
		c->head.len = c->tail.len = 0;
		field(&c->head, s->metric);
		buf_addstr(&c->head, ts);
		row_tail(&c->tail, s);
		k6_points(s, row, c);
	}
	flush_batch(c);
}

static int csv_open(struct output *o, char *err, size_t errlen)
{
	struct csv_out *c = xcalloc(1, sizeof(*c));
	const char *path = *o->arg ? o->arg : "-"; /* k6: no file name is stdout */
	size_t n = strlen(path);
	unsigned flags = n >= 3 && strcmp(path + n - 3, ".gz") == 0 ? OUTFILE_GZIP : 0;
	int rc = outfile_stream_open(path, flags, &c->file, err, errlen);
	if (rc < 0) { /* the pipeline closes only what opened */
		free(c);
		return rc;
	}
	o->state = c;
	buf_addstr(&c->batch, "metric_name,timestamp,metric_value");
	for (size_t i = 0; i < ARRAY_SIZE(tag_columns); i++) {
		buf_add(&c->batch, ",", 1);
		buf_addstr(&c->batch, tag_columns[i]);
	}
	buf_addstr(&c->batch, ",extra_tags,metadata\n");
	flush_batch(c);
	return 0;
}

static int csv_finish(struct output *o, const struct result *r, char *err, size_t errlen)
{
	struct csv_out *c = o->state;
	if (!c || !c->file)
		return 0;
	return outfile_stream_commit(c->file, err, errlen);
}

static void csv_close(struct output *o)
{
	struct csv_out *c = o->state;
	if (!c)
		return;
	outfile_stream_free(c->file);
	buf_free(&c->batch);
	buf_free(&c->head);
	buf_free(&c->tail);
	free(c);
	o->state = NULL;
}

const struct output_ops output_csv = {
	.name = "csv",
	.open = csv_open,
	.interval = csv_interval,
	.finish = csv_finish,
	.close = csv_close,
};
