/* merge.c: one result from the results of a distributed run's parts (result_merge in
 * result.h; docs/result-format.md, "Merged results"). */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result/build.h"
#include "result/internal.h"
#include "util/buf.h"
#include "util/common.h"

/* Parts further apart than this are not one test (and a point's t must stay below a
 * month: the result file's limit). */
#define MERGE_SPAN_MAX_US (INT64_C(31) * 86400 * 1000000)
/* Distinct script error messages kept, and the entry the others count in: a run's
 * (script/lua_vu.c, ERRORS_KEPT). */
#define SCRIPT_ERRORS_KEPT 100
#define SCRIPT_ERRORS_OTHER                                                                        \
	"(errors with other messages: only the first 100 distinct messages are kept)"

struct merge {
	struct result *r;
	struct result *const *parts;
	const char *const *names;
	int n;
	int64_t *off_us; /* each part's start from the merged start */
	int64_t *end_us; /* each part's end, wall clock */
	int *rank;       /* each part's place when the parts are ordered by end (then index) */
	uint64_t *seq0;  /* added to a part's gauge seqs: every seq of a part that ended
	                  * earlier is below every seq of one that ended later */
	int **mmap;      /* mmap[i][m]: part i's metric m in the merged result */
	char *err;
	size_t errlen;
};

static struct result *fail(struct merge *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static struct result *fail(struct merge *g, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g->err, g->errlen, fmt, ap);
	va_end(ap);
	return NULL;
}

/* --- the parts themselves --------------------------------------------------------- */

/* The core HTTP metrics, as a run writes them: every request counts once in http_reqs,
 * and at most once in http_req_duration and in http_req_failed (engine/worker.c: a
 * request cut off by the end of the run has no duration and no verdict). */
static const struct {
	const char *name;
	enum metric_type type;
} core_metrics[] = {
	{ "http_reqs", MT_COUNTER },
	{ "http_req_duration", MT_TREND },
	{ "http_req_failed", MT_RATE },
};

/* How many samples (requests) p's metric m holds, every series together; -1 without it,
 * -2 for a counter whose sum is not 0 to 2^53. */
static int64_t samples(const struct result *p, int m)
{
	struct result_values v;
	if (m < 0)
		return -1;
	bool any = result_combine(p, m, NULL, 0, &v);
	int64_t n = !any                   ? 0
	            : v.type == MT_TREND   ? (v.h ? v.h->total_count : 0)
	            : v.type == MT_RATE    ? v.total
	            : v.type == MT_COUNTER ? (v.sum >= 0 && v.sum <= 0x1p53 ? llround(v.sum) : -2)
	                                   : 0;
	result_values_free(&v);
	return n;
}

/* Part i's core metrics agree with each other (an edited or truncated file would merge
 * into a request count that is not the number of requests its latencies were measured
 * on); false with the reason in g->err. */
static bool check_core(struct merge *g, int i)
{
	const struct result *p = g->parts[i];
	int64_t n[ARRAY_SIZE(core_metrics)];
	for (size_t k = 0; k < ARRAY_SIZE(core_metrics); k++) {
		int m = result_find_metric(p, core_metrics[k].name);
		if (m >= 0 && p->metrics[m].type != core_metrics[k].type) {
			fail(
			    g,
			    "%s: metrics.%s is a %s, but a run writes it as a %s (an edited part?)",
			    g->names[i], core_metrics[k].name, result_type_name(p->metrics[m].type),
			    result_type_name(core_metrics[k].type));
			return false;
		}
		n[k] = samples(p, m);
		/* the loader refuses such counts: this is for a result built otherwise */
		if (m >= 0 && n[k] < 0) {
			fail(g,
			     "%s: metrics.%s holds a count out of range (not a number of requests "
			     "from 0 to 2^53)",
			     g->names[i], core_metrics[k].name);
			return false;
		}
	}
	size_t most = n[1] >= n[2] ? 1 : 2; /* the larger of duration's and failed's */
	if (n[most] <= 0 || n[0] >= n[most])
		return true;
	if (n[0] < 0)
		fail(g,
		     "%s: metrics.http_reqs is missing, but %s holds %lld request%s: a run "
		     "counts every request in http_reqs (an edited or truncated part?)",
		     g->names[i], core_metrics[most].name, (long long)n[most],
		     n[most] == 1 ? "" : "s");
	else
		fail(g,
		     "%s: metrics.http_reqs counts %lld requests, but %s holds %lld: a run counts "
		     "every request in http_reqs (an edited part?)",
		     g->names[i], (long long)n[0], core_metrics[most].name, (long long)n[most]);
	return false;
}

/* Whether a and b are one run: the same result, as a copy of one file is. (Two runs, even
 * started together by a coordinator, do not measure the same; a result has no run id.) */
static bool same_run(const struct result *a, const struct result *b)
{
	if (a->start_wall_us != b->start_wall_us || a->duration_s != b->duration_s ||
	    !json_equal(a->options, b->options))
		return false;
	json_t *x = result_to_json(a), *y = result_to_json(b);
	bool same = json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return same;
}

/* A part without any metric ("metrics": {}) beside parts that sent requests: a run
 * always writes its metrics (vus and vus_max at least, even when it sent nothing), so
 * this is a truncated or edited file, which would count as having run its segment with
 * no request. False with the reason in g->err. */
static bool check_empty(struct merge *g)
{
	int empty = -1, busy = -1;
	int64_t reqs = 0;
	for (int i = 0; i < g->n; i++) {
		int64_t n = samples(g->parts[i], result_find_metric(g->parts[i], "http_reqs"));
		if (!g->parts[i]->nmetrics && empty < 0)
			empty = i;
		if (n > 0 && busy < 0) {
			busy = i;
			reqs = n;
		}
	}
	if (empty < 0 || busy < 0)
		return true;
	fail(g,
	     "%s holds no metric at all (\"metrics\": {}), but %s counts %lld request%s: a "
	     "run always writes its metrics (vus and vus_max at least), so the part is "
	     "truncated or edited, and would count as running its share with no request",
	     g->names[empty], g->names[busy], (long long)reqs, reqs == 1 ? "" : "s");
	return false;
}

/* Every part is a run's whole result with a start, and no run is given twice (its
 * requests would count twice); false with the reason in g->err. */
static bool check_parts(struct merge *g)
{
	for (int i = 0; i < g->n; i++) {
		/* the loader reads a missing or non-integer start as 0 */
		if (g->parts[i]->start_wall_us <= 0) {
			fail(g,
			     "%s: state.startUnixUs: expected the run's start, µs since the epoch "
			     "(an integer above 0)",
			     g->names[i]);
			return false;
		}
		if (!check_core(g, i))
			return false;
		for (int j = 0; j < i; j++)
			if (same_run(g->parts[j], g->parts[i])) {
				fail(g,
				     "%s and %s are the same run (the same start, options, "
				     "metrics and state: a copy of one result file?): its requests "
				     "would count twice",
				     g->names[j], g->names[i]);
				return false;
			}
	}
	return check_empty(g);
}

/* --- execution segments: exact fractions ------------------------------------------ */

struct mfrac {
	int64_t num, den; /* reduced, den >= 1 */
};

static int64_t gcd64(int64_t a, int64_t b)
{
	while (b) {
		int64_t t = a % b;
		a = b;
		b = t;
	}
	return a ? a : 1;
}

static int frac_cmp(struct mfrac a, struct mfrac b)
{
	__int128 x = (__int128)a.num * b.den, y = (__int128)b.num * a.den;
	return x < y ? -1 : x > y;
}

/* One bound of a segment as k6 writes it, exactly: "1/4", "0", "1", "0.25", "25%". */
static bool frac_read(const char *s, size_t len, struct mfrac *out)
{
	int64_t num = 0, den = 1;
	size_t i = 0;
	int digits = 0;
	while (i < len && isdigit((unsigned char)s[i]) && digits < 10) {
		num = num * 10 + (s[i++] - '0');
		digits++;
	}
	if (!digits || digits > 9)
		return false;
	if (i < len && s[i] == '/') {
		den = 0;
		for (digits = 0, i++; i < len && isdigit((unsigned char)s[i]) && digits < 10;
		     digits++)
			den = den * 10 + (s[i++] - '0');
		if (!digits || digits > 9 || den == 0)
			return false;
	} else if (i < len && s[i] == '.') {
		for (digits = 0, i++; i < len && isdigit((unsigned char)s[i]) && digits < 10;
		     digits++) {
			num = num * 10 + (s[i++] - '0');
			den *= 10;
		}
		if (!digits || digits > 9)
			return false;
	}
	if (i < len && s[i] == '%') {
		den *= 100;
		i++;
	}
	if (i != len || num > den)
		return false;
	int64_t g = gcd64(num, den);
	*out = (struct mfrac){ num / g, den / g };
	return out->den <= 1000000000; /* as `run` accepts them (engine/segment.h) */
}

static const char *frac_text(struct mfrac f, char *buf, size_t len)
{
	if (f.num == 0 || f.num == f.den)
		snprintf(buf, len, "%d", f.num != 0);
	else
		snprintf(buf, len, "%lld/%lld", (long long)f.num, (long long)f.den);
	return buf;
}

struct segment {
	struct mfrac from, to;
	int part;
};

/* "FROM:TO", or "TO" for 0:TO (k6). */
static bool segment_read(const char *s, struct segment *seg)
{
	const char *colon = strchr(s, ':');
	seg->from = (struct mfrac){ 0, 1 };
	if (colon && !frac_read(s, (size_t)(colon - s), &seg->from))
		return false;
	const char *to = colon ? colon + 1 : s;
	return frac_read(to, strlen(to), &seg->to) && frac_cmp(seg->from, seg->to) < 0;
}

static const char *segment_text(struct mfrac from, struct mfrac to, char *buf, size_t len)
{
	char a[32], b[32];
	snprintf(buf, len, "%s:%s", frac_text(from, a, sizeof(a)), frac_text(to, b, sizeof(b)));
	return buf;
}

static int cmp_segment(const void *a, const void *b)
{
	const struct segment *x = a, *y = b;
	int c = frac_cmp(x->from, y->from);
	return c ? c : frac_cmp(x->to, y->to) ? frac_cmp(x->to, y->to) : x->part - y->part;
}

/* acc + num/den (both >= 0, below 2^64), exactly when the sum fits in 64 bits (false
 * otherwise). */
static bool frac_add(struct mfrac *acc, __int128 num, __int128 den)
{
	__int128 n = (__int128)acc->num * den + num * acc->den, d = (__int128)acc->den * den;
	__int128 x = n, y = d;
	while (y) {
		__int128 t = x % y;
		x = y;
		y = t;
	}
	if (x > 1) {
		n /= x;
		d /= x;
	}
	if (d > INT64_MAX || n > INT64_MAX)
		return false;
	*acc = (struct mfrac){ (int64_t)n, (int64_t)d };
	return true;
}

/* The parts' segments, into seg (have of them); without: the first part without one (or
 * -1). False with the reason in g->err for a malformed one. */
static bool read_segments(struct merge *g, struct segment *seg, int *have, int *without)
{
	*have = 0;
	*without = -1;
	for (int i = 0; i < g->n; i++) {
		json_t *v = json_object_get(g->parts[i]->options, "executionSegment");
		if (!v || json_is_null(v)) {
			*without = *without < 0 ? i : *without;
			continue;
		}
		if (!json_is_string(v) || !segment_read(json_string_value(v), &seg[*have])) {
			fail(g,
			     "%s: options.executionSegment: expected a segment such as \"1/4:1/2\" "
			     "(fractions from 0 to 1, FROM below TO)",
			     g->names[i]);
			return false;
		}
		seg[(*have)++].part = i;
	}
	return true;
}

/* seg[0..have) sorted: false with the reason in g->err when two overlap. */
static bool check_overlap(struct merge *g, const struct segment *seg, int have)
{
	char a[80];
	int widest = 0; /* the segment so far that reaches furthest */
	for (int i = 1; i < have; i++) {
		if (frac_cmp(seg[i].from, seg[widest].to) < 0) {
			struct mfrac to =
			    frac_cmp(seg[i].to, seg[widest].to) < 0 ? seg[i].to : seg[widest].to;
			int x = MIN(seg[i].part, seg[widest].part),
			    y = MAX(seg[i].part, seg[widest].part);
			bool twice = !strcmp(g->names[x], g->names[y]);
			fail(g, "parts overlap: %s and %s both run %s%s", g->names[x], g->names[y],
			     segment_text(seg[i].from, to, a, sizeof(a)),
			     twice ? " (the same file given twice)" : "");
			return false;
		}
		if (frac_cmp(seg[i].to, seg[widest].to) > 0)
			widest = i;
	}
	return true;
}

/* seg[0..have) sorted, without overlaps: how many gaps they leave in 0:1, each warned
 * about on stderr with the share they cover. */
static int warn_gaps(const struct segment *seg, int have)
{
	struct mfrac at = { 0, 1 }, covered = { 0, 1 }, one = { 1, 1 };
	struct segment *gap = xcalloc((size_t)have + 1, sizeof(*gap));
	bool exact = true;
	int gaps = 0;
	char a[80], b[80];
	for (int i = 0; i <= have; i++) {
		struct mfrac next = i < have ? seg[i].from : one;
		if (frac_cmp(at, next) < 0)
			gap[gaps++] = (struct segment){ at, next, -1 };
		if (i < have) { /* its length, to - from (at most 10^18 / 10^18) */
			__int128 num = (__int128)seg[i].to.num * seg[i].from.den -
			               (__int128)seg[i].from.num * seg[i].to.den;
			exact = exact &&
			        frac_add(&covered, num, (__int128)seg[i].to.den * seg[i].from.den);
			at = seg[i].to;
		}
	}
	if (gaps) {
		struct buf missing = { 0 };
		for (int i = 0; i < gaps; i++)
			buf_printf(&missing, "%s%s",
			           i == 0          ? ""
			           : i == gaps - 1 ? " and "
			                           : ", ",
			           segment_text(gap[i].from, gap[i].to, a, sizeof(a)));
		if (exact)
			frac_text(covered, b, sizeof(b));
		else
			snprintf(b, sizeof(b), "part");
		fprintf(stderr,
		        "stampede: warning: the parts cover %s of the load: %s %s missing (the "
		        "merged result holds what they ran, not the whole test)\n",
		        b, missing.p, gaps > 1 ? "are" : "is");
		buf_free(&missing);
	}
	free(gap);
	return gaps;
}

/* Every segmented part ran with the same options.executionSegmentSequence: the stripes
 * of different sequences do not partition the load (their shares would not add up). */
static bool check_sequences(struct merge *g)
{
	const char *first = NULL;
	int at = -1;
	for (int i = 0; i < g->n; i++) {
		json_t *q = json_object_get(g->parts[i]->options, "executionSegmentSequence");
		const char *v = json_is_string(q) ? json_string_value(q) : "(none)";
		if (!first) {
			first = v;
			at = i;
		} else if (strcmp(first, v) != 0) {
			fail(g,
			     "%s ran with the segment sequence %.200s but %s with %.200s: the "
			     "shares of different sequences do not add up to the whole load; run "
			     "every instance with the same --execution-segment-sequence",
			     g->names[at], first, g->names[i], v);
			return false;
		}
	}
	return true;
}

/* The coverage ("full", "partial", "unknown") from the parts' options.executionSegment;
 * NULL with the reason in g->err for overlapping parts, a mix, or a malformed segment.
 * A gap is warned about on stderr. */
static const char *check_segments(struct merge *g)
{
	struct segment *seg = xcalloc((size_t)g->n, sizeof(*seg));
	const char *coverage = NULL;
	int have, without;
	char a[80];
	if (!read_segments(g, seg, &have, &without))
		goto out;
	if (have == 0) {
		coverage = "unknown";
	} else if (without >= 0) {
		fail(g,
		     "%s ran a segment of the load (%s) but %s did not: merge the parts of one "
		     "distributed run, or independent runs, not both",
		     g->names[seg[0].part], segment_text(seg[0].from, seg[0].to, a, sizeof(a)),
		     g->names[without]);
	} else if (check_sequences(g)) {
		qsort(seg, (size_t)have, sizeof(*seg), cmp_segment);
		if (check_overlap(g, seg, have))
			coverage = warn_gaps(seg, have) ? "partial" : "full";
	}
out:
	free(seg);
	return coverage;
}

/* --- time series ------------------------------------------------------------------ */

/* Fold b, the points that follow a in one run, into a: as the run merges neighbours when
 * its step doubles (metrics.c, merge_point). */
static void point_follow(struct result_point *a, const struct result_point *b,
                         enum metric_type type)
{
	float ca = a->count, cb = b->count, c = ca + cb;
	switch (type) {
	case MT_TREND:
		for (int i = 0; i < 4; i++)
			a->v[i] = c > 0 ? (a->v[i] * ca + b->v[i] * cb) / c : 0;
		a->v[4] = MAX(a->v[4], b->v[4]);
		a->count = c;
		break;
	case MT_COUNTER:
		a->count = c;
		break;
	case MT_RATE:
		a->v[0] = c > 0 ? (a->v[0] * ca + b->v[0] * cb) / c : 0;
		a->count = c;
		break;
	case MT_GAUGE:
		a->v[0] = b->v[0];
		a->v[1] = MIN(a->v[1], b->v[1]);
		a->v[2] = MAX(a->v[2], b->v[2]);
		break;
	}
}

/* Fold b, the same second (or step) of another part, into a. */
static void point_join(struct result_point *a, const struct result_point *b, enum metric_type type,
                       bool additive)
{
	float ca = a->count, cb = b->count, c = ca + cb;
	switch (type) {
	case MT_TREND:
		for (int i = 0; i < 4; i++)
			a->v[i] = c > 0 ? (a->v[i] * ca + b->v[i] * cb) / c : a->v[i];
		a->v[4] = MAX(a->v[4], b->v[4]);
		break;
	case MT_COUNTER:
		break;
	case MT_RATE:
		a->v[0] = c > 0 ? (a->v[0] * ca + b->v[0] * cb) / c : a->v[0];
		break;
	case MT_GAUGE:
		if (additive) { /* each instance's VUs: they add up */
			for (int i = 0; i < 3; i++)
				a->v[i] += b->v[i];
		} else {
			a->v[0] = c > 0 ? (a->v[0] * ca + b->v[0] * cb) / c : a->v[0];
			a->v[1] = MIN(a->v[1], b->v[1]);
			a->v[2] = MAX(a->v[2], b->v[2]);
		}
		break;
	}
	a->count = c;
}

/* pts brought to `step` seconds per point (neighbours merged as a run merges them). */
static int coarsen(struct result_point *pts, int n, int step, enum metric_type type)
{
	int m = 0;
	for (int i = 0; i < n; i++) {
		struct result_point q = pts[i];
		q.t -= q.t % step;
		if (m > 0 && pts[m - 1].t == q.t)
			point_follow(&pts[m - 1], &q, type);
		else
			pts[m++] = q;
	}
	return m;
}

/* A part's offset in whole steps of `step` seconds, rounded to the nearest one. */
static int32_t shift_s(int64_t off_us, int step)
{
	int64_t unit = (int64_t)step * 1000000;
	return (int32_t)((off_us + unit / 2) / unit * step);
}

struct tpoint {
	struct result_point p;
	int order;
};

static int cmp_tpoint(const void *a, const void *b)
{
	const struct tpoint *x = a, *y = b;
	if (x->p.t != y->p.t)
		return x->p.t < y->p.t ? -1 : 1;
	return x->order - y->order;
}

struct ts_src {
	const struct result_timeseries *ts;
	int64_t off_us;
};

/* dst: the time series of src[0..n) merged (result.h, result_merge: "Time series"). */
static void ts_merge(struct result *r, struct result_timeseries *dst, const struct ts_src *src,
                     int n, enum metric_type type, bool additive, int max)
{
	int step = 1, total = 0, na = 0;
	for (int k = 0; k < n; k++) {
		step = MAX(step, src[k].ts->step);
		total += src[k].ts->npoints;
	}
	struct tpoint *all = xcalloc((size_t)MAX(total, 1), sizeof(*all));
	struct result_point *tmp = xcalloc((size_t)MAX(total, 1), sizeof(*tmp));
	for (int k = 0; k < n; k++) {
		const struct result_timeseries *ts = src[k].ts;
		if (!ts->npoints)
			continue;
		memcpy(tmp, ts->points, sizeof(*tmp) * (size_t)ts->npoints);
		int m = coarsen(tmp, ts->npoints, step, type);
		int32_t sh = shift_s(src[k].off_us, step);
		for (int i = 0; i < m; i++) {
			all[na] = (struct tpoint){ .p = tmp[i], .order = na };
			all[na++].p.t += sh;
		}
	}
	qsort(all, (size_t)na, sizeof(*all), cmp_tpoint);
	int m = 0;
	for (int i = 0; i < na; i++) {
		if (m > 0 && tmp[m - 1].t == all[i].p.t)
			point_join(&tmp[m - 1], &all[i].p, type, additive);
		else
			tmp[m++] = all[i].p;
	}
	while (m >= max) { /* no more than a run would hold */
		step *= 2;
		m = coarsen(tmp, m, step, type);
	}
	dst->step = step;
	dst->npoints = m;
	dst->points = m ? result_alloc(r, sizeof(*dst->points) * (size_t)m) : NULL;
	if (m)
		memcpy(dst->points, tmp, sizeof(*tmp) * (size_t)m);
	free(all);
	free(tmp);
}

/* --- windows ---------------------------------------------------------------------- */

struct twin {
	int32_t t;
	int order;
	struct hdr *h;
};

static int cmp_twin(const void *a, const void *b)
{
	const struct twin *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->order - y->order;
}

/* w[0..n) brought to `step` (histograms of one window merged, the others freed). */
static int coarsen_windows(struct twin *w, int n, int step)
{
	int m = 0;
	for (int i = 0; i < n; i++) {
		int32_t t = w[i].t - w[i].t % step;
		if (m > 0 && w[m - 1].t == t) {
			hdr_merge(w[m - 1].h, w[i].h);
			hdr_free(w[i].h);
		} else {
			w[m] = w[i];
			w[m++].t = t;
		}
	}
	return m;
}

/* Merged metric m's windows from the parts' (result.h, result_merge: "Windows"). */
static void windows_merge(struct merge *g, int m)
{
	int step = 1, total = 0, na = 0;
	for (int i = 0; i < g->n; i++)
		for (int k = 0; k < g->parts[i]->nmetrics; k++)
			if (g->mmap[i][k] == m && g->parts[i]->metrics[k].win.n) {
				step = MAX(step, g->parts[i]->metrics[k].win.step);
				total += g->parts[i]->metrics[k].win.n;
			}
	if (!total)
		return;
	struct twin *all = xcalloc((size_t)total, sizeof(*all));
	for (int i = 0; i < g->n; i++)
		for (int k = 0; k < g->parts[i]->nmetrics; k++) {
			const struct result_windows *w = &g->parts[i]->metrics[k].win;
			if (g->mmap[i][k] != m || !w->n)
				continue;
			int from = na;
			for (int j = 0; j < w->n; j++) {
				all[na] = (struct twin){ .t = w->t[j],
					                 .order = na,
					                 .h = hdr_new_default() };
				hdr_merge(all[na++].h, w->h[j]);
			}
			int kept = coarsen_windows(all + from, na - from, step);
			int64_t sh = shift_s(g->off_us[i], step);
			na = from + kept;
			for (int j = from; j < na; j++) { /* a file's t may be anything to 2^31 */
				all[j].t = (int32_t)MIN(all[j].t + sh, INT32_MAX);
				all[j].order = j;
			}
		}
	qsort(all, (size_t)na, sizeof(*all), cmp_twin);
	na = coarsen_windows(all, na, step); /* the same window of several parts */
	while (na >= RESULT_WINDOWS_MAX) {
		step *= 2;
		na = coarsen_windows(all, na, step);
	}
	struct result_windows *dst = &g->r->metrics[m].win;
	int32_t *t = result_alloc(g->r, sizeof(*t) * (size_t)na);
	dst->h = result_alloc(g->r, sizeof(*dst->h) * (size_t)na);
	for (int j = 0; j < na; j++) {
		t[j] = all[j].t;
		dst->h[j] = all[j].h;
	}
	dst->t = t;
	dst->step = step;
	dst->n = na;
	free(all);
}

/* A trend's merged points whose second has an exact merged window of the same step (a
 * run of up to about 4 minutes: both are 1 s) take their percentiles from it, exactly as
 * a single run computes them (metrics.c, slot_point), instead of the parts' weighted
 * means. */
static void exact_points(struct result_metric *m)
{
	struct result_timeseries *ts = &m->ts;
	const struct result_windows *w = &m->win;
	if (m->type != MT_TREND || !w->n || w->step != ts->step)
		return;
	double k = 1e-3; /* µs -> ms, or value x 1000 -> value */
	for (int i = 0, j = 0; i < ts->npoints; i++) {
		while (j < w->n && w->t[j] < ts->points[i].t)
			j++;
		if (j == w->n)
			break;
		if (w->t[j] != ts->points[i].t)
			continue;
		const struct hdr *h = w->h[j];
		struct result_point *p = &ts->points[i];
		p->v[0] = (float)(hdr_value_at_percentile(h, 50) * k);
		p->v[1] = (float)(hdr_value_at_percentile(h, 90) * k);
		p->v[2] = (float)(hdr_value_at_percentile(h, 95) * k);
		p->v[3] = (float)(hdr_value_at_percentile(h, 99) * k);
		p->v[4] = (float)(hdr_max(h) * k);
	}
}

/* --- metrics and series ----------------------------------------------------------- */

static const char *type_unit(const struct result_metric *m, char *buf, size_t len)
{
	snprintf(buf, len, "%s (%s%s)", result_type_name(m->type), result_contains(m->unit),
	         m->unit == RU_MILLI ? ", x1000" : "");
	return buf;
}

static bool merge_metrics(struct merge *g)
{
	struct result *r = g->r;
	int cap = 0;
	for (int i = 0; i < g->n; i++)
		cap += g->parts[i]->nmetrics;
	r->metrics = result_alloc(r, sizeof(*r->metrics) * (size_t)MAX(cap, 1));
	int *first = xcalloc((size_t)MAX(cap, 1), sizeof(*first)); /* the part it came from */
	for (int i = 0; i < g->n; i++) {
		const struct result *p = g->parts[i];
		g->mmap[i] = xcalloc((size_t)MAX(p->nmetrics, 1), sizeof(**g->mmap));
		for (int k = 0; k < p->nmetrics; k++) {
			const struct result_metric *pm = &p->metrics[k];
			int m = result_find_metric(r, pm->name);
			if (m < 0) {
				m = r->nmetrics++;
				r->metrics[m] = (struct result_metric){
					.name = result_strdup(r, pm->name),
					.type = pm->type,
					.unit = pm->unit,
				};
				first[m] = i;
			} else if (r->metrics[m].type != pm->type ||
			           r->metrics[m].unit != pm->unit) {
				char a[64], b[64];
				fail(g, "metric %s is a %s in %s but a %s in %s: not the same test",
				     pm->name, type_unit(&r->metrics[m], a, sizeof(a)),
				     g->names[first[m]], type_unit(pm, b, sizeof(b)), g->names[i]);
				free(first);
				return false;
			}
			g->mmap[i][k] = m;
		}
	}
	free(first);
	return true;
}

static bool additive_gauge(const struct result_metric *m)
{
	return m->type == MT_GAUGE && (!strcmp(m->name, "vus") || !strcmp(m->name, "vus_max"));
}

/* A series' key in the hash: metric, overflow, tags. */
static uint64_t series_hash(int metric, const struct result_series *s)
{
	uint64_t h = 1469598103934665603ull;
	const unsigned char mix[] = { (unsigned char)metric, (unsigned char)(metric >> 8),
		                      (unsigned char)(metric >> 16), s->overflow };
	for (size_t i = 0; i < sizeof(mix); i++)
		h = (h ^ mix[i]) * 1099511628211ull;
	for (int i = 0; i < s->ntags; i++)
		for (int j = 0; j < 2; j++)
			for (const char *c = j ? s->tags[i].value : s->tags[i].key;; c++) {
				h = (h ^ (unsigned char)*c) * 1099511628211ull;
				if (!*c)
					break;
			}
	return h;
}

static bool same_series(int metric, const struct result_series *s, const struct result_series *t)
{
	if (t->metric != metric || t->overflow != s->overflow || t->ntags != s->ntags)
		return false;
	for (int i = 0; i < s->ntags; i++)
		if (strcmp(s->tags[i].key, t->tags[i].key) ||
		    strcmp(s->tags[i].value, t->tags[i].value))
			return false;
	return true;
}

/* Add part i's totals of one series into merged series d. */
static void total_add(struct merge *g, int i, struct result_series *d,
                      const struct result_series *s)
{
	struct result_values *dv = &d->total;
	const struct result_values *sv = &s->total;
	const struct result_metric *m = &g->r->metrics[d->metric];
	if (!sv->any)
		return;
	switch (dv->type) {
	case MT_TREND:
		if (sv->h)
			hdr_merge(dv->h, sv->h);
		break;
	case MT_COUNTER:
		dv->sum += sv->sum;
		break;
	case MT_RATE:
		if (__builtin_add_overflow(dv->nz, sv->nz, &dv->nz))
			dv->nz = INT64_MAX;
		if (__builtin_add_overflow(dv->total, sv->total, &dv->total))
			dv->total = INT64_MAX;
		break;
	case MT_GAUGE:
		if (additive_gauge(m)) {
			dv->g_last = dv->any ? dv->g_last + sv->g_last : sv->g_last;
			dv->g_min = dv->any ? dv->g_min + sv->g_min : sv->g_min;
			dv->g_max = dv->any ? dv->g_max + sv->g_max : sv->g_max;
		} else {
			dv->g_min = dv->any ? MIN(dv->g_min, sv->g_min) : sv->g_min;
			dv->g_max = dv->any ? MAX(dv->g_max, sv->g_max) : sv->g_max;
		}
		/* parts come in the order given; the one that ended last gives the value */
		if (!dv->any || sv->g_seq + g->seq0[i] >= dv->g_seq) {
			if (!additive_gauge(m))
				dv->g_last = sv->g_last;
			dv->g_seq = sv->g_seq + g->seq0[i];
		}
		break;
	}
	dv->any = true;
}

struct src_ref {
	int merged, part, series;
};

static int cmp_src_ref(const void *a, const void *b)
{
	const struct src_ref *x = a, *y = b;
	if (x->merged != y->merged)
		return x->merged < y->merged ? -1 : 1;
	return x->part != y->part ? x->part - y->part : x->series - y->series;
}

/* A new merged series like s (of merged metric m), without values yet. */
static int series_new(struct result *r, int m, const struct result_series *s)
{
	struct result_series *d = &r->series[r->nseries];
	struct result_tag *tags = result_alloc(r, sizeof(*tags) * (size_t)MAX(s->ntags, 1));
	for (int j = 0; j < s->ntags; j++)
		tags[j] = (struct result_tag){ result_strdup(r, s->tags[j].key),
			                       result_strdup(r, s->tags[j].value) };
	*d = (struct result_series){
		.metric = m, .ntags = s->ntags, .tags = tags, .overflow = s->overflow
	};
	d->total.type = r->metrics[m].type;
	if (d->total.type == MT_TREND)
		d->total.h = hdr_new_default();
	return r->nseries++;
}

/* Every part's series matched to a merged one by metric, tags and overflow (the merged
 * series created in first-seen order): refs[0..cap) = (merged, part, series). */
static void match_series(struct merge *g, struct src_ref *refs, int cap)
{
	struct result *r = g->r;
	size_t hcap = 16;
	while (hcap < (size_t)cap * 2)
		hcap *= 2;
	int *table = xmalloc(sizeof(*table) * hcap);
	memset(table, 0xff, sizeof(*table) * hcap); /* -1: empty */
	r->series = result_alloc(r, sizeof(*r->series) * (size_t)MAX(cap, 1));
	int nref = 0;
	for (int i = 0; i < g->n; i++)
		for (int k = 0; k < g->parts[i]->nseries; k++) {
			const struct result_series *s = &g->parts[i]->series[k];
			int m = g->mmap[i][s->metric];
			size_t h = series_hash(m, s) & (hcap - 1);
			while (table[h] >= 0 && !same_series(m, s, &r->series[table[h]]))
				h = (h + 1) & (hcap - 1);
			if (table[h] < 0)
				table[h] = series_new(r, m, s);
			refs[nref++] = (struct src_ref){ table[h], i, k };
		}
	free(table);
}

static void merge_series(struct merge *g)
{
	struct result *r = g->r;
	int nref = 0;
	for (int i = 0; i < g->n; i++)
		nref += g->parts[i]->nseries;
	struct src_ref *refs = xcalloc((size_t)MAX(nref, 1), sizeof(*refs));
	match_series(g, refs, nref);
	/* each merged series' totals and points from its parts, in the order given */
	qsort(refs, (size_t)nref, sizeof(*refs), cmp_src_ref);
	/* a file may hold one tag set twice: as many sources as references */
	struct ts_src *src = xcalloc((size_t)MAX(nref, g->n) + 1, sizeof(*src));
	for (int a = 0, b; a < nref; a = b) {
		struct result_series *d = &r->series[refs[a].merged];
		int nsrc = 0;
		/* the gauge's value comes from the part that ended last: add them by end */
		for (int rank = 0; rank < g->n; rank++)
			for (b = a; b < nref && refs[b].merged == refs[a].merged; b++)
				if (g->rank[refs[b].part] == rank)
					total_add(g, refs[b].part, d,
					          &g->parts[refs[b].part]->series[refs[b].series]);
		for (b = a; b < nref && refs[b].merged == refs[a].merged; b++)
			src[nsrc++] = (struct ts_src){
				&g->parts[refs[b].part]->series[refs[b].series].ts,
				g->off_us[refs[b].part],
			};
		ts_merge(r, &d->ts, src, nsrc, d->total.type,
		         additive_gauge(&r->metrics[d->metric]), RESULT_SERIES_POINTS_MAX);
	}
	for (int m = 0; m < r->nmetrics; m++) {
		int nsrc = 0;
		for (int i = 0; i < g->n; i++)
			for (int k = 0; k < g->parts[i]->nmetrics; k++)
				if (g->mmap[i][k] == m)
					src[nsrc++] = (struct ts_src){ &g->parts[i]->metrics[k].ts,
						                       g->off_us[i] };
		ts_merge(r, &r->metrics[m].ts, src, nsrc, r->metrics[m].type,
		         additive_gauge(&r->metrics[m]), RESULT_METRIC_POINTS_MAX);
		windows_merge(g, m);
		if (g->n > 1) /* one part: its own points, as its run computed them */
			exact_points(&r->metrics[m]);
	}
	free(src);
	free(refs);
}

/* --- what the merged result may hold --------------------------------------------- */

/* Whether the points of ts can be written: a count and numbers that a float holds (a
 * statistic may be NaN, written as null). */
static bool points_finite(const struct result_timeseries *ts)
{
	for (int i = 0; i < ts->npoints; i++) {
		if (!isfinite(ts->points[i].count))
			return false;
		for (int j = 0; j < 5; j++)
			if (isinf(ts->points[i].v[j]))
				return false;
	}
	return true;
}

/* Whether v's numbers are finite (a sum that overflowed is infinite: written as null, which
 * no reader takes). */
static bool values_finite(const struct result_values *v)
{
	switch (v->type) {
	case MT_COUNTER:
		return isfinite(v->sum);
	case MT_GAUGE:
		return isfinite(v->g_last) && isfinite(v->g_min) && isfinite(v->g_max);
	case MT_TREND:
		return !v->h || isfinite(v->h->sum);
	case MT_RATE:
		return true;
	}
	return true;
}

/* Every merged number can be written and read back: the parts' values may add up past
 * what a double (or a point's float) holds, which would write a file no command loads.
 * False with the metric, the series and the value named in g->err. */
static bool check_finite(struct merge *g)
{
	struct result *r = g->r;
	for (int m = 0; m < r->nmetrics; m++) {
		const struct result_metric *rm = &r->metrics[m];
		struct result_values v;
		const char *what = rm->type == MT_COUNTER ? "values.count"
		                   : rm->type == MT_GAUGE ? "values"
		                                          : "histogramExact.sum";
		bool ok = true;
		if (!points_finite(&rm->ts)) {
			fail(g,
			     "metrics.%s.timeseries: the parts' points add up past what a point "
			     "holds (%g): the merged result could not be read back, so it is not "
			     "written",
			     rm->name, (double)FLT_MAX);
			return false;
		}
		for (int i = 0, k = 0; i < r->nseries && ok; i++) {
			const struct result_series *s = &r->series[i];
			if (s->metric != m)
				continue;
			if (!values_finite(&s->total) || !points_finite(&s->ts)) {
				fail(g,
				     "metrics.%s.series[%d].%s: the parts' values add up to more "
				     "than a number holds (an edited part?): the merged result "
				     "could "
				     "not be read back, so it is not written",
				     rm->name, k, values_finite(&s->total) ? "timeseries" : what);
				return false;
			}
			k++;
		}
		result_combine(r, m, NULL, 0, &v);
		ok = values_finite(&v);
		result_values_free(&v);
		if (!ok) {
			fail(g,
			     "metrics.%s.%s: its series add up to more than a number holds (an "
			     "edited part?): the merged result could not be read back, so it is "
			     "not written",
			     rm->name, what);
			return false;
		}
	}
	return true;
}

/* The merged result reads back as it is written (result_from_json): whatever it holds
 * that the loader refuses is said, and nothing is written. */
static bool check_loads(struct merge *g)
{
	char why[512];
	json_t *doc = result_to_json(g->r);
	struct result *back = result_from_json(doc, why, sizeof(why));
	json_decref(doc);
	if (!back) {
		fail(g, "the merged result would not load (%s): an edited part? Nothing written",
		     why);
		return false;
	}
	result_free(back);
	return true;
}

/* --- thresholds, checks, errors --------------------------------------------------- */

static void merge_thresholds(struct merge *g)
{
	struct result *r = g->r;
	int cap = 0;
	for (int i = 0; i < g->n; i++)
		cap += g->parts[i]->nthresholds;
	r->thresholds = result_alloc(r, sizeof(*r->thresholds) * (size_t)MAX(cap, 1));
	for (int i = 0; i < g->n; i++)
		for (int k = 0; k < g->parts[i]->nthresholds; k++) {
			const struct result_threshold *t = &g->parts[i]->thresholds[k];
			struct result_threshold *d = NULL;
			for (int j = 0; j < r->nthresholds && !d; j++)
				if (!strcmp(r->thresholds[j].selector, t->selector) &&
				    !strcmp(r->thresholds[j].expr, t->expr))
					d = &r->thresholds[j];
			if (d && (d->aborted_run || !t->aborted_run))
				continue;
			if (!d)
				d = &r->thresholds[r->nthresholds++];
			struct result_tag *tags =
			    result_alloc(r, sizeof(*tags) * (size_t)MAX(t->ntags, 1));
			for (int j = 0; j < t->ntags; j++)
				tags[j] = (struct result_tag){ result_strdup(r, t->tags[j].key),
					                       result_strdup(r, t->tags[j].value) };
			*d = *t; /* the verdict: evaluated again, or the aborted part's */
			d->source = result_strdup(r, t->source);
			d->metric = result_strdup(r, t->metric);
			d->selector = result_strdup(r, t->selector);
			d->tags = tags;
			d->expr = result_strdup(r, t->expr);
			d->stat = result_strdup(r, t->stat);
		}
}

static void merge_checks(struct merge *g)
{
	struct result *r = g->r;
	int ncap = 0, gcap = 0;
	for (int i = 0; i < g->n; i++) {
		ncap += g->parts[i]->nchecks;
		gcap += g->parts[i]->ngroups;
	}
	r->checks = result_alloc(r, sizeof(*r->checks) * (size_t)MAX(ncap, 1));
	r->groups = result_alloc(r, sizeof(*r->groups) * (size_t)MAX(gcap, 1));
	for (int i = 0; i < g->n; i++) {
		const struct result *p = g->parts[i];
		for (int k = 0; k < p->ngroups; k++) {
			bool seen = false;
			for (int j = 0; j < r->ngroups && !seen; j++)
				seen = !strcmp(r->groups[j], p->groups[k]);
			if (!seen)
				r->groups[r->ngroups++] = result_strdup(r, p->groups[k]);
		}
		for (int k = 0; k < p->nchecks; k++) {
			const struct result_check *c = &p->checks[k];
			struct result_check *d = NULL;
			for (int j = 0; j < r->nchecks && !d; j++)
				if (!strcmp(r->checks[j].group, c->group) &&
				    !strcmp(r->checks[j].name, c->name))
					d = &r->checks[j];
			if (!d) {
				d = &r->checks[r->nchecks++];
				*d = (struct result_check){ .group = result_strdup(r, c->group),
					                    .name = result_strdup(r, c->name) };
			}
			d->passes += c->passes;
			d->fails += c->fails;
		}
	}
}

static int cmp_error(const void *a, const void *b)
{
	const struct result_error *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->kind, y->kind);
}

static void merge_errors(struct merge *g)
{
	struct result *r = g->r;
	int cap = 0, scap = 0;
	for (int i = 0; i < g->n; i++) {
		cap += g->parts[i]->nerrors;
		scap += g->parts[i]->nscript_errors;
	}
	r->errors = result_alloc(r, sizeof(*r->errors) * (size_t)MAX(cap, 1));
	r->script_errors = result_alloc(r, sizeof(*r->script_errors) * (size_t)(scap + 1));
	for (int i = 0; i < g->n; i++)
		for (int k = 0; k < g->parts[i]->nerrors; k++) {
			const struct result_error *e = &g->parts[i]->errors[k];
			struct result_error *d = NULL;
			for (int j = 0; j < r->nerrors && !d; j++)
				if (!strcmp(r->errors[j].kind, e->kind))
					d = &r->errors[j];
			if (!d) {
				d = &r->errors[r->nerrors++];
				*d = (struct result_error){ .kind = result_strdup(r, e->kind),
					                    .code = e->code,
					                    .description =
					                        result_strdup(r, e->description) };
			}
			d->count += e->count;
		}
	qsort(r->errors, (size_t)r->nerrors, sizeof(*r->errors), cmp_error);
	int64_t other = 0;
	for (int i = 0; i < g->n; i++)
		for (int k = 0; k < g->parts[i]->nscript_errors; k++) {
			const struct result_script_error *e = &g->parts[i]->script_errors[k];
			struct result_script_error *d = NULL;
			if (!strcmp(e->message, SCRIPT_ERRORS_OTHER)) {
				other += e->count;
				continue;
			}
			for (int j = 0; j < r->nscript_errors && !d; j++)
				if (!strcmp(r->script_errors[j].message, e->message))
					d = &r->script_errors[j];
			if (!d && r->nscript_errors == SCRIPT_ERRORS_KEPT) {
				other += e->count; /* as a run counts a message past the cap */
				continue;
			}
			if (!d) {
				d = &r->script_errors[r->nscript_errors++];
				*d = (struct result_script_error){ .message = result_strdup(
					                               r, e->message) };
			}
			d->count += e->count;
		}
	if (other)
		r->script_errors[r->nscript_errors++] =
		    (struct result_script_error){ .message = SCRIPT_ERRORS_OTHER, .count = other };
}

/* --- the rest --------------------------------------------------------------------- */

static void merge_state(struct merge *g)
{
	struct result *r = g->r;
	struct result_generator *gen = &r->gen;
	double cpu = 0, plain = 0;
	gen->open_model = true;
	for (int i = 0; i < g->n; i++) {
		const struct result *p = g->parts[i];
		r->interrupted = r->interrupted || p->interrupted;
		r->aborted = r->aborted || p->aborted;
		r->teardown_failed = r->teardown_failed || p->teardown_failed;
		r->teardown_timeout = r->teardown_timeout || p->teardown_timeout;
		if (!r->abort_reason && p->abort_reason)
			r->abort_reason = result_strdup(r, p->abort_reason);
		r->interrupted_iterations += p->interrupted_iterations;
		if (!r->setup_data && p->setup_data)
			r->setup_data = json_deep_copy(p->setup_data);
		gen->threads += p->gen.threads;
		cpu += p->gen.cpu_percent * p->gen.threads;
		plain += p->gen.cpu_percent;
		gen->saturated_seconds = MAX(gen->saturated_seconds, p->gen.saturated_seconds);
		gen->host_saturated_seconds =
		    MAX(gen->host_saturated_seconds, p->gen.host_saturated_seconds);
		gen->max_rss_kb = MAX(gen->max_rss_kb, p->gen.max_rss_kb);
		gen->backlog_max = MAX(gen->backlog_max, p->gen.backlog_max);
		gen->workers_stuck += p->gen.workers_stuck;
		gen->open_model = gen->open_model && p->gen.open_model;
	}
	gen->cpu_percent = gen->threads > 0 ? cpu / gen->threads : plain / g->n;
	const struct result *first = g->parts[0];
	r->version = result_strdup(r, first->version);
	json_decref(r->options);
	r->options = json_deep_copy(first->options);
	json_object_del(r->options, "executionSegment"); /* the merged run is the whole */
	r->trend_stats = first->trend_stats ? json_deep_copy(first->trend_stats) : NULL;
}

const char *const result_test_keys[] = {
	"url",      "method",  "script",       "executor",   "model",  "rate",
	"vus",      "maxVUs",  "duration",     "iterations", "stages", "scenarios",
	"testType", "arrival", "scriptSha256", NULL,
};

bool result_same_test_option(const char *key, const json_t *a, const json_t *b)
{
	if (!strcmp(key, "scriptSha256") && (!a || !b))
		return true; /* a run from before the hash was recorded */
	if (!a || !b)
		return !a && !b;
	if (strcmp(key, "script") || !json_is_string(a) || !json_is_string(b))
		return json_equal(a, b);
	const char *x = json_string_value(a), *y = json_string_value(b);
	const char *bx = strrchr(x, '/'), *by = strrchr(y, '/');
	return !strcmp(bx ? bx + 1 : x, by ? by + 1 : y);
}

/* A counter's total over the run (0 without a sample). */
static int64_t counter_total(const struct result *p, const char *name)
{
	struct result_values v;
	int m = result_find_metric(p, name);
	if (m < 0)
		return 0;
	bool any = result_combine(p, m, NULL, 0, &v);
	result_values_free(&v);
	return any ? llround(v.sum) : 0;
}

static int64_t http_reqs(const struct result *p)
{
	return counter_total(p, "http_reqs");
}

/* The most VUs a part had (vus_max's largest value), 0 without a sample. */
static double vus_max(const struct result *p)
{
	struct result_values v;
	int m = result_find_metric(p, "vus_max");
	if (m < 0)
		return 0;
	bool any = result_combine(p, m, NULL, 0, &v);
	result_values_free(&v);
	return any ? v.g_max : 0;
}

/* r->merge: the parts, how they were aligned, and the coverage. */
static void merge_record(struct merge *g, const char *coverage)
{
	json_t *rec = json_object(), *parts = json_array();
	struct buf a = { 0 };
	buf_printf(&a,
	           "Each part's points and windows were moved by its start's offset from the "
	           "earliest start, rounded to the nearest multiple of their step (the nearest "
	           "second for 1-second points), after bringing the parts to the coarsest step:");
	for (int i = 0; i < g->n; i++) {
		const struct result *p = g->parts[i];
		json_t *o = json_object(), *seg = json_object_get(p->options, "executionSegment");
		json_object_set_new(o, "file", json_string(g->names[i]));
		json_object_set_new(o, "executionSegment",
		                    json_is_string(seg) ? json_incref(seg) : json_null());
		json_object_set_new(o, "startUnixUs", json_integer(p->start_wall_us));
		json_object_set_new(o, "durationMs",
		                    json_real(result_round15(p->duration_s * 1e3)));
		json_object_set_new(o, "httpReqs", json_integer(http_reqs(p)));
		json_object_set_new(o, "interrupted", json_boolean(p->interrupted));
		json_object_set_new(o, "aborted", json_boolean(p->aborted));
		int64_t dropped = counter_total(p, "dropped_iterations");
		json_object_set_new(o, "droppedIterations", json_integer(dropped));
		json_array_append_new(parts, o);
		/* a segment that got none of a scenario's VUs drops its whole share: the merged
		 * result's drops are then the split's, not the target's */
		if (dropped > 0 && !(vus_max(p) > 0))
			fprintf(
			    stderr,
			    "stampede: warning: %s had no VU (its segment's share of maxVUs was "
			    "0): its %lld iterations were all dropped; give each scenario at least "
			    "as many VUs (maxVUs) as there are segments\n",
			    g->names[i], (long long)dropped);
		if (p->interrupted || p->aborted)
			fprintf(
			    stderr,
			    "stampede: warning: %s was %s before its end (%s): the merged result "
			    "holds what it ran, not its whole share\n",
			    g->names[i], p->aborted ? "aborted" : "interrupted",
			    p->abort_reason ? p->abort_reason : "stopped by a signal");
		buf_printf(&a, "%s %s +%.3f s", i ? "," : "", g->names[i],
		           (double)g->off_us[i] / 1e6);
	}
	buf_addstr(&a, ".");
	json_object_set_new(rec, "parts", parts);
	json_object_set_new(rec, "alignment", json_string(a.p));
	json_object_set_new(rec, "coverage", json_string(coverage));
	buf_free(&a);
	g->r->merge = rec;
}

/* Parts that did not start together (more than 1 s, or 10% of the shortest run, apart)
 * make a longer, thinner merged run than the test: say which started last, and by how
 * much. */
static void warn_skew(struct merge *g, int64_t start)
{
	int late = 0, first = 0;
	double shortest = INFINITY;
	for (int i = 0; i < g->n; i++) {
		if (g->parts[i]->start_wall_us > g->parts[late]->start_wall_us)
			late = i;
		if (g->parts[i]->start_wall_us == start && g->parts[first]->start_wall_us != start)
			first = i;
		shortest = MIN(shortest, g->parts[i]->duration_s);
	}
	double skew = (double)(g->parts[late]->start_wall_us - start) / 1e6;
	if (skew > MAX(1.0, 0.1 * shortest))
		fprintf(stderr,
		        "stampede: warning: %s started %.1f s after %s (the shortest part ran %.1f "
		        "s): the parts did not run at the same time, so the merged run is longer "
		        "and its rate per second lower than the test's; start the instances "
		        "together (docs/distributed.md)\n",
		        g->names[late], skew, g->names[first], shortest);
}

/* The merged clock: offsets, ends, and the parts' order by end (for gauges). */
static bool merge_clock(struct merge *g)
{
	int64_t start = INT64_MAX, end = INT64_MIN;
	for (int i = 0; i < g->n; i++) {
		const struct result *p = g->parts[i];
		double d = p->duration_s * 1e6;
		if (!isfinite(d) || d < 0 || d > (double)MERGE_SPAN_MAX_US ||
		    p->start_wall_us < 0) {
			fail(g, "%s: state: the start or the duration is out of range",
			     g->names[i]);
			return false;
		}
		g->end_us[i] = p->start_wall_us + llround(d);
		start = MIN(start, p->start_wall_us);
		end = MAX(end, g->end_us[i]);
	}
	if (end - start > MERGE_SPAN_MAX_US) {
		fail(g, "the parts span more than 31 days (from the earliest start to the latest "
		        "end): not one test");
		return false;
	}
	g->r->start_wall_us = start;
	g->r->duration_s = (double)(end - start) / 1e6;
	warn_skew(g, start);
	for (int i = 0; i < g->n; i++) /* one part both first and last: its own figure */
		if (g->parts[i]->start_wall_us == start && g->end_us[i] == end)
			g->r->duration_s = g->parts[i]->duration_s;
	for (int i = 0; i < g->n; i++) {
		g->off_us[i] = g->parts[i]->start_wall_us - start;
		g->rank[i] = 0;
		for (int j = 0; j < g->n; j++) /* ordered by end, then as given */
			g->rank[i] +=
			    g->end_us[j] < g->end_us[i] || (g->end_us[j] == g->end_us[i] && j < i);
	}
	uint64_t base = 0; /* a part's seqs come after those of every part that ended before */
	for (int rank = 0; rank < g->n; rank++) {
		int i = 0;
		while (g->rank[i] != rank)
			i++;
		uint64_t top = 0;
		for (int k = 0; k < g->parts[i]->nseries; k++)
			top = MAX(top, g->parts[i]->series[k].total.g_seq);
		g->seq0[i] = base;
		base += top + 1;
	}
	return true;
}

struct result *result_merge(struct result *const *parts, const char *const *names, int n, char *err,
                            size_t errlen)
{
	struct merge g = { .parts = parts, .names = names, .n = n, .err = err, .errlen = errlen };
	if (n < 1)
		return fail(&g, "no part to merge");
	if (!check_parts(&g))
		return NULL;
	const char *coverage = check_segments(&g);
	if (!coverage)
		return NULL;
	g.r = result_new();
	g.off_us = xcalloc((size_t)n, sizeof(*g.off_us));
	g.end_us = xcalloc((size_t)n, sizeof(*g.end_us));
	g.rank = xcalloc((size_t)n, sizeof(*g.rank));
	g.seq0 = xcalloc((size_t)n, sizeof(*g.seq0));
	g.mmap = xcalloc((size_t)n, sizeof(*g.mmap));
	bool ok = merge_clock(&g) && merge_metrics(&g);
	if (ok) {
		merge_series(&g);
		ok = check_finite(&g);
	}
	if (ok) {
		merge_thresholds(&g);
		merge_checks(&g);
		merge_errors(&g);
		merge_state(&g);
		merge_record(&g, coverage);
		result_eval_thresholds(g.r);
		ok = check_loads(&g);
	}
	for (int i = 0; i < n; i++)
		free(g.mmap[i]);
	free(g.mmap);
	free(g.seq0);
	free(g.rank);
	free(g.end_us);
	free(g.off_us);
	if (!ok) {
		result_free(g.r);
		return NULL;
	}
	return g.r;
}
