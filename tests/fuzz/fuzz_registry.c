/* fuzz_registry.c: libFuzzer target for the metrics registry, sinks and aggregation past
 * every cap (metrics, series, overflow series). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "util/common.h"

/*
 * Input: byte 0 is the tagged-series cap (0-63, so the caps are reached in a few ops);
 * then a program of ops, each an op byte and its operands:
 *   0 name    register a metric: type = next byte & 3, name = up to 12 bytes (any chars)
 *   1 sample  metric, sink, tag count, tags (key from a vocabulary, value bytes or NULL)
 *   2 bulk    metric, n: 4 * n samples with a unique `id` tag each, 194 overflow tag
 *             sets (`scenario` x `status`), not trends
 *   3 many    n: register 8 * n generated counter metrics (reaches METRICS_CUSTOM_MAX)
 *   4 close   merge every sink into the interval and close it
 *   5 fold    fold every sink straight into the totals
 * Invariants: every series id is in range and belongs to its metric, the registry never
 * exceeds SERIES_LIMIT nor the aggregate the registry, and in the end each metric's
 * totals count exactly the samples given to it (sums of integers, so exact in doubles).
 */

#define FZ_SINKS 3

struct fz {
	const uint8_t *p, *end;
	struct registry reg;
	struct aggregate agg;
	struct sink *sinks[FZ_SINKS];
	double expect[METRICS_MAX]; /* counter sum, trend/rate sample count */
	int64_t interval;
};

static const char *const fz_keys[] = { "name",  "status",     "method", "scenario",
	                               "group", "error_code", "check",  "expected_response",
	                               "id",    TAG_OVERFLOW, "url",    "" };

static int fz_byte(struct fz *f)
{
	return f->p < f->end ? *f->p++ : 0;
}

/* Up to max bytes of input as a NUL-terminated string in buf (may be empty). */
static char *fz_str(struct fz *f, char *buf, int max)
{
	int n = fz_byte(f) % (max + 1), i;
	for (i = 0; i < n && f->p < f->end; i++) {
		char c = (char)*f->p++;
		buf[i] = c ? c : 'z';
	}
	buf[i] = '\0';
	return buf;
}

static void fz_check_id(struct fz *f, int metric, int id)
{
	if (id < 0 || id >= SERIES_LIMIT || id >= registry_nseries(&f->reg))
		abort();
	const struct series_info *si = registry_series_info(&f->reg, id);
	if (si->metric != metric || si->ntags > TAG_MAX)
		abort();
	if (si->overflow != (strstr(si->canon, TAG_OVERFLOW ":true") != NULL))
		abort();
}

static void fz_record(struct fz *f, int metric, int sink, int id, int v)
{
	struct sink *s = f->sinks[sink];
	switch (f->reg.metrics[metric].type) {
	case MT_COUNTER:
		sink_add(s, id, v);
		f->expect[metric] += v;
		break;
	case MT_TREND:
		sink_trend(s, id, v);
		f->expect[metric] += 1;
		break;
	case MT_RATE:
		sink_rate(s, id, v & 1);
		f->expect[metric] += 1;
		break;
	case MT_GAUGE:
		sink_gauge(s, id, v);
		break;
	}
}

static void fz_sample(struct fz *f)
{
	char vals[TAG_MAX + 2][16];
	struct tag t[TAG_MAX + 2];
	int metric = fz_byte(f) % registry_nmetrics(&f->reg);
	int sink = fz_byte(f) % FZ_SINKS;
	int n = fz_byte(f) % (TAG_MAX + 3);
	for (int i = 0; i < n; i++) {
		int k = fz_byte(f);
		t[i].key = fz_keys[k % ARRAY_SIZE(fz_keys)];
		t[i].value = k & 0x80 ? NULL : fz_str(f, vals[i], 15);
	}
	int id = registry_series(&f->reg, metric, t, n);
	fz_check_id(f, metric, id);
	fz_record(f, metric, sink, id, fz_byte(f) + 1);
}

static void fz_bulk(struct fz *f)
{
	char v[32], st[8];
	int metric = fz_byte(f) % registry_nmetrics(&f->reg);
	int n = 4 * (fz_byte(f) + 1);
	if (f->reg.metrics[metric].type == MT_TREND) /* 184 KB histograms: keep RSS small */
		metric = M_HTTP_REQS;
	for (int i = 0; i < n; i++) {
		snprintf(v, sizeof(v), "%lld-%d", (long long)f->interval, i);
		snprintf(st, sizeof(st), "%d", i % 97);
		struct tag t[] = { { "id", v },
			           { "scenario", i & 1 ? "a" : "b" },
			           { "status", st } };
		int id = registry_series(&f->reg, metric, t, 3);
		fz_check_id(f, metric, id);
		fz_record(f, metric, i % FZ_SINKS, id, 1);
	}
}

static void fz_many(struct fz *f)
{
	char name[32];
	int n = 8 * (fz_byte(f) + 1);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "gen_%d", registry_nmetrics(&f->reg));
		int id = registry_metric(&f->reg, name, MT_COUNTER, MU_NONE);
		if (id == -ENOSPC ? registry_nmetrics(&f->reg) != METRICS_MAX : id < 0)
			abort();
	}
}

static void fz_metric(struct fz *f)
{
	char name[16];
	enum metric_type type = (enum metric_type)(fz_byte(f) & 3);
	fz_str(f, name, 12);
	int before = registry_nmetrics(&f->reg);
	int id = registry_metric(&f->reg, name, type, MU_NONE);
	int found = registry_find_metric(&f->reg, name);
	if (id >= 0         ? found != id || f->reg.metrics[id].type != type
	    : id == -EEXIST ? found < 0 || f->reg.metrics[found].type == type
	                    : id != -ENOSPC || before != METRICS_MAX || found >= 0)
		abort();
}

static void fz_flush(struct fz *f, bool fold)
{
	for (int i = 0; i < FZ_SINKS; i++) {
		if (fold)
			aggregate_fold_sink(&f->agg, f->sinks[i]);
		else
			aggregate_add_sink(&f->agg, f->sinks[i]);
		sink_reset(f->sinks[i]);
	}
	if (!fold)
		aggregate_close_interval(&f->agg, (int32_t)f->interval++);
	if (f->agg.ns > registry_nseries(&f->reg) || registry_nseries(&f->reg) > SERIES_LIMIT)
		abort();
}

static void fz_check_totals(struct fz *f)
{
	for (int m = 0; m < registry_nmetrics(&f->reg); m++) {
		struct combined c;
		double got;
		aggregate_combine(&f->agg, m, NULL, 0, false, &c);
		switch (c.type) {
		case MT_COUNTER:
			got = c.sum;
			break;
		case MT_TREND:
			got = (double)c.h->total_count;
			break;
		case MT_RATE:
			got = (double)c.total;
			break;
		default:
			got = f->expect[m];
			break;
		}
		combined_free(&c);
		if (got != f->expect[m])
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz f;
	static FILE *devnull;
	FILE *err = stderr;

	if (size < 1)
		return 0;
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	stderr = devnull ? devnull : err; /* the one cap warning per input */
	memset(&f, 0, sizeof(f));
	f.p = data + 1;
	f.end = data + size;
	registry_init(&f.reg);
	f.reg.max_series = data[0] & 63;
	aggregate_init(&f.agg, &f.reg);
	for (int i = 0; i < FZ_SINKS; i++)
		f.sinks[i] = sink_new();
	while (f.p < f.end) {
		switch (fz_byte(&f) % 6) {
		case 0:
			fz_metric(&f);
			break;
		case 1:
			fz_sample(&f);
			break;
		case 2:
			fz_bulk(&f);
			break;
		case 3:
			fz_many(&f);
			break;
		case 4:
			fz_flush(&f, false);
			break;
		case 5:
			fz_flush(&f, true);
			break;
		}
	}
	fz_flush(&f, false);
	fz_check_totals(&f);
	for (int i = 0; i < FZ_SINKS; i++)
		sink_free(f.sinks[i]);
	aggregate_destroy(&f.agg);
	registry_destroy(&f.reg);
	stderr = err;
	return 0;
}
