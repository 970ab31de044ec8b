/* summary.c: the k6-style end-of-test summary on the terminal. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output/report.h"
#include "util/common.h"

#define NAME_WIDTH 34

struct palette {
	const char *ok, *bad, *dim, *bold, *warn, *reset;
};

/* A time in ms printed as k6 does: µs below 1 ms, ms below 1 s, then s. */
static char *fmt_ms(double ms, char *buf, size_t len)
{
	if (!isfinite(ms))
		snprintf(buf, len, "n/a");
	else if (ms == 0)
		snprintf(buf, len, "0s");
	else if (ms < 1)
		snprintf(buf, len, "%.2fµs", ms * 1e3);
	else if (ms < 1000)
		snprintf(buf, len, "%.2fms", ms);
	else if (ms < 60000)
		snprintf(buf, len, "%.2fs", ms / 1e3);
	else
		snprintf(buf, len, "%.0fm%.1fs", floor(ms / 60000), fmod(ms, 60000) / 1e3);
	return buf;
}

static double num(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static void print_name(FILE *f, const struct palette *p, const char *mark, const char *name)
{
	int len = (int)strlen(name);
	fprintf(f, "  %s %s%s", mark, name, p->dim);
	for (int i = len; i < NAME_WIDTH; i++)
		fputc('.', f);
	fprintf(f, ":%s ", p->reset);
}

static void print_values(FILE *f, const struct report *r, const struct palette *p, json_t *v,
                         enum metric_unit unit)
{
	char a[32], b[32];
	const char *type = json_string_value(json_object_get(v, "type"));
	if (strcmp(type, "trend") == 0) {
		static const char *const defaults[] = { "avg",   "min",   "med",  "max",
			                                "p(90)", "p(95)", "p(99)" };
		size_t n = r->trend_stats ? json_array_size(r->trend_stats) : ARRAY_SIZE(defaults);
		for (size_t i = 0; i < n; i++) {
			const char *stat =
			    r->trend_stats ? json_string_value(json_array_get(r->trend_stats, i))
			                   : defaults[i];
			json_t *x = json_object_get(v, stat);
			char val[32];
			if (!x)
				snprintf(val, sizeof(val), "n/a");
			else if (!strcmp(stat, "count"))
				snprintf(val, sizeof(val), "%lld",
				         (long long)json_integer_value(x));
			else if (unit == MU_TIME_US)
				fmt_ms(json_number_value(x), val, sizeof(val));
			else
				snprintf(val, sizeof(val), "%.4g", json_number_value(x));
			fprintf(f, "%s%s=%s", i ? " " : "", stat, val);
		}
		fputc('\n', f);
	} else if (strcmp(type, "counter") == 0) {
		if (unit == MU_BYTES) {
			fprintf(f, "%-10s %s/s\n", format_bytes(num(v, "count"), a, 32),
			        format_bytes(num(v, "rate"), b, 32));
		} else {
			fprintf(f, "%-10.0f %.2f/s\n", num(v, "count"), num(v, "rate"));
		}
	} else if (strcmp(type, "rate") == 0) {
		double passes = num(v, "passes"), fails = num(v, "fails");
		fprintf(f, "%.2f%%  %.0f out of %.0f\n", num(v, "rate") * 100, passes,
		        passes + fails);
	} else {
		fprintf(f, "%-10g min=%g max=%g\n", num(v, "value"), num(v, "min"), num(v, "max"));
	}
}

/* The mark before a metric: ✓ or ✗ when thresholds apply to it, else blank. */
static const char *mark_for(const struct report *r, const struct palette *p, const char *sel,
                            char *buf, size_t len)
{
	bool any = false, ok = true;
	for (int i = 0; i < r->nthr; i++) {
		if (strcmp(r->thr[i].selector, sel) == 0) {
			any = true;
			ok = ok && r->thr[i].ok;
		}
	}
	if (!any)
		return " ";
	snprintf(buf, len, "%s%s%s", ok ? p->ok : p->bad, ok ? "✓" : "✗", p->reset);
	return buf;
}

static void print_metric(FILE *f, const struct report *r, const struct palette *p, const char *sel,
                         json_t *v, enum metric_unit unit)
{
	char mark[64];
	print_name(f, p, mark_for(r, p, sel, mark, sizeof(mark)), sel);
	print_values(f, r, p, v, unit);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_thresholds(FILE *f, const struct report *r, const struct palette *p)
{
	if (!r->nthr)
		return;
	fprintf(f, "\n  %sTHRESHOLDS%s\n", p->bold, p->reset);
	for (int i = 0; i < r->nthr; i++) {
		const struct threshold *t = &r->thr[i];
		char val[48], agg[32];
		int m = registry_find_metric(r->reg, t->metric);
		bool time = m >= 0 && r->reg->metrics[m].unit == MU_TIME_US && t->agg != THR_COUNT;
		if (!isfinite(t->last_value))
			snprintf(val, sizeof(val), "no data");
		else if (time)
			fmt_ms(t->last_value, val, sizeof(val));
		else
			snprintf(val, sizeof(val), "%g", t->last_value);
		fprintf(f, "    %s%s%s %s '%s' %s=%s%s%s\n", t->ok ? p->ok : p->bad,
		        t->ok ? "✓" : "✗", p->reset, t->selector, t->expr,
		        threshold_agg_name(t, agg, sizeof(agg)), val,
		        t->abort_on_fail ? " (abort on fail)" : "", t->ok ? "" : "  FAILED");
	}
}

static void print_group(FILE *f, const struct palette *p, json_t *g, int depth)
{
	size_t i;
	json_t *c;
	const char *name = json_string_value(json_object_get(g, "name"));
	int ind = 4 + 2 * depth;
	if (depth > 0)
		fprintf(f, "%*s█ %s\n", ind - 2, "", name);
	json_array_foreach(json_object_get(g, "checks"), i, c)
	{
		json_int_t pass = json_integer_value(json_object_get(c, "passes"));
		json_int_t fail = json_integer_value(json_object_get(c, "fails"));
		bool ok = fail == 0;
		fprintf(f, "%*s%s%s%s %s", ind, "", ok ? p->ok : p->bad, ok ? "✓" : "✗", p->reset,
		        json_string_value(json_object_get(c, "name")));
		if (!ok)
			fprintf(f, "  %s↳ %.0f%% — ✓ %lld / ✗ %lld%s", p->dim,
			        100.0 * (double)pass / (double)MAX(pass + fail, 1), (long long)pass,
			        (long long)fail, p->reset);
		fputc('\n', f);
	}
	json_array_foreach(json_object_get(g, "groups"), i, c) print_group(f, p, c, depth + 1);
}

static void print_checks(FILE *f, const struct report *r, const struct palette *p)
{
	json_t *root = report_root_group(r);
	if (json_array_size(json_object_get(root, "checks")) ||
	    json_array_size(json_object_get(root, "groups"))) {
		fprintf(f, "\n  %sCHECKS AND GROUPS%s\n", p->bold, p->reset);
		print_group(f, p, root, 0);
	}
	json_decref(root);
}

static void print_script_errors(FILE *f, const struct report *r, const struct palette *p)
{
	if (!r->script_errors || !json_array_size(r->script_errors))
		return;
	fprintf(f, "\n  %sSCRIPT ERRORS%s (iterations that raised an error)\n", p->bold, p->reset);
	size_t i;
	json_t *e;
	json_array_foreach(r->script_errors, i, e)
	    fprintf(f, "    %s%8lld%s  %s\n", p->bad,
	            (long long)json_integer_value(json_object_get(e, "count")), p->reset,
	            json_string_value(json_object_get(e, "message")));
}

static void print_errors(FILE *f, const struct report *r, const struct palette *p)
{
	json_t *errs = report_errors(r);
	if (json_array_size(errs)) {
		fprintf(f, "\n  %sERRORS%s\n", p->bold, p->reset);
		size_t i;
		json_t *e;
		json_array_foreach(errs, i, e)
		{
			fprintf(f, "    %s%8lld%s  %s (%lld): %s\n", p->bad,
			        (long long)json_integer_value(json_object_get(e, "count")),
			        p->reset, json_string_value(json_object_get(e, "kind")),
			        (long long)json_integer_value(json_object_get(e, "code")),
			        json_string_value(json_object_get(e, "description")));
		}
	}
	json_decref(errs);
}

void summary_print(FILE *f, const struct report *r, bool color)
{
	static const struct palette colors = { "\033[32m", "\033[31m", "\033[2m",
		                               "\033[1m",  "\033[33m", "\033[0m" };
	static const struct palette plain = { "", "", "", "", "", "" };
	const struct palette *p = color ? &colors : &plain;
	char dur[32];

	fprintf(f, "\n");
	if (r->aborted)
		fprintf(f, "  %sABORTED%s: %s\n", p->bad, p->reset,
		        r->abort_reason ? r->abort_reason : "threshold failed");
	if (r->interrupted)
		fprintf(f, "  %sINTERRUPTED%s: %s\n", p->warn, p->reset,
		        r->workers_stuck ? "a worker did not stop (see the warning above)"
		                         : "stopped by a signal");
	print_checks(f, r, p);
	print_thresholds(f, r, p);

	fprintf(f, "\n  %sMETRICS%s (run time %s)\n", p->bold, p->reset,
	        format_duration((int64_t)(r->duration_s * 1e6), dur, sizeof(dur)));
	/* Metrics in name order, each followed by the sub-metrics its thresholds name. */
	char **names = xcalloc((size_t)r->reg->nmetrics, sizeof(*names));
	int n = 0;
	for (int m = 0; m < r->reg->nmetrics; m++)
		names[n++] = r->reg->metrics[m].name;
	qsort(names, (size_t)n, sizeof(*names), cmp_str);
	for (int i = 0; i < n; i++) {
		int m = registry_find_metric(r->reg, names[i]);
		json_t *v = report_metric_values(r, m, NULL, 0);
		if (v) {
			print_metric(f, r, p, names[i], v, r->reg->metrics[m].unit);
			json_decref(v);
		} else if (report_metric_has_threshold(r, names[i])) {
			char mark[64];
			print_name(f, p, mark_for(r, p, names[i], mark, sizeof(mark)), names[i]);
			fprintf(f, "no samples\n");
		} else {
			continue;
		}
		for (int j = 0; j < r->nthr; j++) {
			const struct threshold *t = &r->thr[j];
			if (!t->ntags || strcmp(t->metric, names[i]) != 0)
				continue;
			bool dup = false;
			for (int k = 0; k < j; k++)
				dup = dup || strcmp(r->thr[k].selector, t->selector) == 0;
			if (dup)
				continue;
			struct tag flt[TAG_MAX];
			int nf = MIN(t->ntags, TAG_MAX);
			for (int k = 0; k < nf; k++)
				flt[k] = (struct tag){ t->tags[k].key, t->tags[k].value };
			json_t *sv = report_metric_values(r, m, flt, nf);
			if (sv) {
				print_metric(f, r, p, t->selector, sv, r->reg->metrics[m].unit);
				json_decref(sv);
			} else {
				char mark[64];
				print_name(f, p, mark_for(r, p, t->selector, mark, sizeof(mark)),
				           t->selector);
				fprintf(f, "no samples\n");
			}
		}
	}
	free(names);

	struct combined dropped;
	aggregate_combine(r->agg, M_DROPPED_ITERATIONS, NULL, 0, false, &dropped);
	if (dropped.any && dropped.sum > 0)
		fprintf(
		    f,
		    "\n  %sWARNING%s: %.0f iterations were dropped: no VU was free to start "
		    "them when due (every VU up to maxVUs was busy: the target did not keep up "
		    "with the arrival rate, or maxVUs is too low for its latency), or they were "
		    "still waiting when the run stopped\n",
		    p->bad, p->reset, dropped.sum);
	combined_free(&dropped);
	if (r->interrupted_iterations > 0)
		fprintf(
		    f,
		    "\n  %sWARNING%s: %lld iterations were cut off when the run stopped (their "
		    "requests in flight count as 'interrupted', in no latency or failure rate); "
		    "a longer --grace (gracefulStop) lets them finish, unless they never end\n",
		    p->warn, p->reset, (long long)r->interrupted_iterations);
	print_errors(f, r, p);
	print_script_errors(f, r, p);
	if (r->saturated_seconds > 0)
		fprintf(
		    f,
		    "\n  %sWARNING%s: the generator's own CPU was saturated for %d s of the run "
		    "(workers at %.0f%% on average): its figures understate what the target "
		    "can do. Use more --threads or a bigger machine.\n",
		    p->warn, p->reset, r->saturated_seconds, r->cpu_percent);
	else if (r->host_saturated_seconds > 0)
		fprintf(
		    f,
		    "\n  %sWARNING%s: the machine's CPU was saturated for %d s of the run (the "
		    "generator's workers averaged %.0f%%): the generator competed for CPU, so its "
		    "figures may understate what the target can do.\n",
		    p->warn, p->reset, r->host_saturated_seconds, r->cpu_percent);
	fprintf(f, "\n");
}
