/* progress.c: the live progress line on stderr (one line rewritten on a terminal, a line
 * every 10 s otherwise) and the closing "done" line. */
#include <stdio.h>
#include <stdlib.h>

#include "output/output.h"
#include "util/common.h"

struct progress {
	int64_t reqs, failed; /* totals so far */
	int32_t last_t;
};

static char phase_label[48];
static int64_t phase_later_us;

void progress_set_phase(const char *label, int64_t later_us)
{
	snprintf(phase_label, sizeof(phase_label), "%s", label ? label : "");
	phase_later_us = later_us > 0 ? later_us : 0;
}

/* "load 2/5 [#####.....] " and after the figures ", 3m10s left in all", for a phase. */
static void phase_parts(int64_t el_us, int64_t planned_us, char *head, size_t hlen, char *tail,
                        size_t tlen)
{
	head[0] = tail[0] = '\0';
	if (!phase_label[0])
		return;
	char bar[21], left[32];
	int fill = planned_us > 0 ? (int)MIN(20, 20 * el_us / planned_us) : 0;
	for (int i = 0; i < 20; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[20] = '\0';
	snprintf(head, hlen, "%s [%s] ", phase_label, bar);
	int64_t rest = MAX(planned_us - el_us, 0) + phase_later_us;
	format_duration(rest / USEC_PER_SEC * USEC_PER_SEC, left, sizeof(left));
	snprintf(tail, tlen, "  (%s left in all)", left);
}

static int progress_open(struct output *o, char *err, size_t errlen)
{
	o->state = xcalloc(1, sizeof(struct progress));
	return 0;
}

static double interval_stat(const struct result_interval *iv, const char *metric, const char *stat)
{
	const struct result_sample *s = result_interval_metric(iv, metric);
	double x;
	return s && result_stat(&s->v, s->unit, stat, 1.0, &x) ? x : 0;
}

static void progress_interval(struct output *o, const struct result_interval *iv)
{
	struct progress *p = o->state;
	double reqs = interval_stat(iv, "http_reqs", "count");
	double p95 = interval_stat(iv, "http_req_duration", "p(95)");
	p->reqs += (int64_t)reqs;
	p->failed += (int64_t)interval_stat(iv, "http_req_failed", "passes");
	p->last_t = iv->t;
	if (o->env->quiet || iv->final)
		return;
	if (!o->env->stderr_tty && (iv->t + 1) % 10 != 0)
		return;
	char el[32], total[40] = "", line[384];
	format_duration((int64_t)(iv->t + 1) * USEC_PER_SEC, el, sizeof(el));
	if (o->env->planned_us) {
		total[0] = '/';
		format_duration(o->env->planned_us, total + 1, sizeof(total) - 1);
	}
	double err_pct = p->reqs ? 100.0 * (double)p->failed / (double)p->reqs : 0;
	char head[96], tail[64];
	phase_parts((int64_t)(iv->t + 1) * USEC_PER_SEC, o->env->planned_us, head, sizeof(head),
	            tail, sizeof(tail));
	snprintf(line, sizeof(line),
	         "%s%s[%6s%s] VUs %d/%d  reqs %lld  %.0f/s  p95 %.2fms  errors %lld (%.2f%%)%s",
	         head, head[0] ? "" : "running ", el, total, iv->vus, iv->vus_max,
	         (long long)p->reqs, reqs, p95, (long long)p->failed, err_pct, tail);
	if (o->env->stderr_tty)
		fprintf(stderr, "\r\033[K%s", line);
	else
		fprintf(stderr, "%s\n", line);
	fflush(stderr);
}

static int progress_finish(struct output *o, const struct result *r, char *err, size_t errlen)
{
	if (o->env->quiet)
		return 0;
	struct result_values reqs, failed;
	result_combine(r, result_find_metric(r, "http_reqs"), NULL, 0, &reqs);
	result_combine(r, result_find_metric(r, "http_req_failed"), NULL, 0, &failed);
	char el[32], total[40] = "", line[256];
	int64_t us = (int64_t)(r->duration_s * 1e6);
	/* whole seconds from 10 s on; a short run shows its milliseconds */
	format_duration(us >= 10 * USEC_PER_SEC ? us / USEC_PER_SEC * USEC_PER_SEC
	                                        : us / 1000 * 1000,
	                el, sizeof(el));
	if (o->env->planned_us) {
		total[0] = '/';
		format_duration(o->env->planned_us, total + 1, sizeof(total) - 1);
	}
	double secs = MAX(r->duration_s, 1e-3);
	double err_pct = reqs.sum > 0 ? 100.0 * (double)failed.nz / reqs.sum : 0;
	snprintf(line, sizeof(line),
	         "%s%sdone    [%6s%s] reqs %.0f  %.0f/s on average  errors %lld (%.2f%%)",
	         phase_label, phase_label[0] ? " " : "", el, total, reqs.sum, reqs.sum / secs,
	         (long long)failed.nz, err_pct);
	fprintf(stderr, "%s%s\n", o->env->stderr_tty ? "\r\033[K" : "", line);
	fflush(stderr);
	result_values_free(&reqs);
	result_values_free(&failed);
	return 0;
}

static void progress_close(struct output *o)
{
	free(o->state);
}

const struct output_ops output_progress = {
	.name = "progress",
	.open = progress_open,
	.interval = progress_interval,
	.finish = progress_finish,
	.close = progress_close,
};
