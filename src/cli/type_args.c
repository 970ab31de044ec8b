/* type_args.c: --type and --slo flags for `run` and `plan` (type_args.h). */
#include "cli/type_args.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_opts.h"
#include "util/common.h"

const char type_args_usage[] =
    "test type and SLOs (docs/cli.md, \"Test types and SLOs\"):\n"
    "      --type T              smoke|load|stress|spike|soak|breakpoint: the schedule\n"
    "                            of that test around the level (--rate R or --vus N)\n"
    "      --slo 'p95<200ms,p99<500ms,errors<0.1%'\n"
    "                            objectives, evaluated as thresholds (repeatable)\n"
    "      --slo-preset P        user-facing|internal|real-time|background\n"
    "      --ramp D  --hold D  --ramp-down D  --peak X  --steps N\n"
    "      --step-duration D  --warmup D  --observe D\n"
    "      --levels M1,M2,... stress: steps at these multiples of the level\n"
    "                            change the preset's shape (`stampede plan` shows it)\n";

static int positive_duration(const char *flag, const char *v, int64_t *out)
{
	if (parse_duration(v, out) < 0)
		return cli_bad_value(flag, v, "expected a duration such as 30s, 5m, 1h30m");
	if (*out <= 0)
		return cli_bad_value(flag, v, "must be more than 0");
	return 1;
}

static char *join(char *list, const char *item)
{
	if (!list)
		return xstrdup(item);
	size_t n = strlen(list) + strlen(item) + 2;
	char *both = xmalloc(n);
	snprintf(both, n, "%s,%s", list, item);
	free(list);
	return both;
}

int type_args_flag(struct type_args *t, int opt, const char *arg)
{
	char err[256];
	struct slo_set probe = { 0 };
	struct preset_opts *po = &t->preset;

	switch (opt) {
	case OPT_TYPE:
		if (test_type_parse(arg, &po->type) < 0)
			return cli_bad_value("--type", arg,
			                     "use smoke, load, stress, spike, soak or breakpoint");
		return 1;
	case OPT_SLO:
		if (slo_parse(arg, &probe, err, sizeof(err)) < 0) {
			fprintf(stderr, "stampede: invalid --slo: %s\n", err);
			return -EINVAL;
		}
		t->slo_specs = join(t->slo_specs, arg);
		return 1;
	case OPT_SLO_PRESET:
		if (slo_preset(arg, &probe, err, sizeof(err)) < 0) {
			fprintf(stderr, "stampede: invalid --slo-preset: %s\n", err);
			return -EINVAL;
		}
		t->slo_preset = arg;
		return 1;
	case OPT_PEAK: {
		char *end;
		double v = strtod(arg, &end);
		if (end != arg && (*end == 'x' || *end == 'X'))
			end++;
		if (end == arg || *end || !(v > 1) || v > 1000 ||
		    !cli_decimal(arg, (int)strcspn(arg, "xX")) ||
		    (arg[strcspn(arg, "xX")] && arg[strcspn(arg, "xX") + 1]))
			return cli_bad_value(
			    "--peak", arg,
			    "a multiple of the level, more than 1 and at most 1000 (e.g. 5 or 5x)");
		po->peak = v;
		return 1;
	}
	case OPT_STEPS: {
		char *end;
		long v = strtol(arg, &end, 10);
		if (end == arg || *end || v < 2 || v > 20 || !cli_decimal(arg, -1) ||
		    strchr(arg, '.'))
			return cli_bad_value("--steps", arg, "a whole number from 2 to 20");
		po->steps = (int)v;
		return 1;
	}
	case OPT_LEVELS: {
		const char *why =
		    "multiples of the level, more than 0 and increasing, e.g. 1,2,4,8";
		po->nlevels = 0;
		for (const char *s = arg;;) {
			size_t n = strcspn(s, ",");
			char item[32];
			if (n == 0 || n >= sizeof(item) || po->nlevels == PRESET_LEVELS_MAX)
				return cli_bad_value("--levels", arg,
				                     n == 0 ? why : "at most 30 levels");
			memcpy(item, s, n);
			item[n] = '\0';
			size_t k = n && (item[n - 1] == 'x' || item[n - 1] == 'X') ? n - 1 : n;
			char *end;
			double v = strtod(item, &end);
			if (!cli_decimal(item, (int)k) || end != item + k || !(v > 0) || v > 1e6 ||
			    (po->nlevels && v <= po->levels[po->nlevels - 1]))
				return cli_bad_value("--levels", arg, why);
			po->levels[po->nlevels++] = v;
			if (!s[n])
				break;
			s += n + 1;
		}
		return 1;
	}
	case OPT_RAMP:
		return positive_duration("--ramp", arg, &po->ramp_us);
	case OPT_HOLD:
		return positive_duration("--hold", arg, &po->hold_us);
	case OPT_RAMP_DOWN:
		if (parse_duration(arg, &po->ramp_down_us) < 0 || po->ramp_down_us < 0)
			return cli_bad_value("--ramp-down", arg,
			                     "expected a duration such as 30s (0: none)");
		if (po->ramp_down_us == 0)
			po->ramp_down_us = -1; /* none */
		t->ramp_down_set = true;
		return 1;
	case OPT_STEP_DURATION:
		return positive_duration("--step-duration", arg, &po->step_us);
	case OPT_WARMUP:
		return positive_duration("--warmup", arg, &po->warmup_us);
	case OPT_OBSERVE:
		return positive_duration("--observe", arg, &po->observe_us);
	default:
		return 0;
	}
}

int type_args_resolve(struct type_args *t, const struct type_level *lv)
{
	char err[256];
	struct preset_opts *po = &t->preset;

	if (t->slo_preset)
		slo_preset(t->slo_preset, &t->slo, err, sizeof(err)); /* checked when read */
	if (t->slo_specs && slo_parse(t->slo_specs, &t->slo, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: invalid --slo: %s\n", err);
		return -EINVAL;
	}
	bool shaping = po->peak || po->steps || po->nlevels || po->ramp_us || po->hold_us ||
	               t->ramp_down_set || po->step_us || po->warmup_us || po->observe_us;
	if (po->type == TT_NONE) {
		if (shaping) {
			fprintf(stderr,
			        "stampede: --peak, --steps, --levels, --ramp, --hold, --ramp-down, "
			        "--step-duration, --warmup and --observe shape a --type preset: "
			        "add --type (or use --stages)\n");
			return -EINVAL;
		}
		return 0;
	}
	const char *tn = test_type_name(po->type);
	if (lv->duration_set) { /* the main phase's length */
		if (po->type == TT_STRESS || po->type == TT_SPIKE) {
			fprintf(stderr,
			        "stampede: --duration does not apply to --type %s: use %s\n", tn,
			        po->type == TT_STRESS
			            ? "--step-duration (each step's hold)"
			            : "--hold (the spike's length) and --observe");
			return -EINVAL;
		}
		if (po->hold_us) {
			fprintf(stderr,
			        "stampede: --duration and --hold both set the %s test's length: "
			        "give one\n",
			        tn);
			return -EINVAL;
		}
		po->hold_us = lv->duration_us;
	}
	const char *unused = preset_unused(po);
	if (unused) {
		fprintf(stderr, "stampede: --%s does not apply to --type %s (it takes %s)\n",
		        unused, tn, preset_takes(po->type));
		return -EINVAL;
	}
	po->open = lv->rate_set;
	po->level = lv->rate_set           ? lv->rate
	            : lv->vus_set          ? (double)lv->vus
	            : po->type == TT_SMOKE ? 1
	                                   : 0;
	if (preset_build(po, &t->plan, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: %s\n", err);
		return -EINVAL;
	}
	if (t->plan.errors_zero) { /* smoke: no error allowed, whatever else the SLO says */
		struct slo_set z = t->slo;
		if (slo_parse(SLO_NO_ERRORS, &z, err, sizeof(err)) < 0) {
			fprintf(stderr,
			        "stampede: a smoke test adds " SLO_NO_ERRORS " to the SLOs: %s\n",
			        err);
			return -EINVAL;
		}
		t->slo = z;
	}
	if (t->plan.abort_on_slo && t->slo.n == 0) {
		fprintf(stderr,
		        "stampede: a breakpoint test stops at the first SLO that fails: give "
		        "one, e.g. --slo 'p95<200ms,errors<1%%' or --slo-preset user-facing\n");
		return -EINVAL;
	}
	return 0;
}

void type_args_threshold(const struct type_args *t, int i, char *buf, size_t len)
{
	slo_threshold(&t->slo.item[i], buf, len);
}

void type_args_options(const struct type_args *t, json_t *o)
{
	if (t->slo.n) {
		json_t *arr = json_array();
		for (int i = 0; i < t->slo.n; i++)
			json_array_append_new(arr, json_string(t->slo.item[i].text));
		json_object_set_new(o, "slo", arr);
		if (t->slo.preset[0])
			json_object_set_new(o, "sloPreset", json_string(t->slo.preset));
	}
	if (t->plan.type != TT_NONE)
		json_object_set_new(o, "testType", preset_json(&t->plan));
}

/* m:ss or h:mm:ss */
static void clock_str(int64_t us, char *buf, size_t len)
{
	int64_t s = us / USEC_PER_SEC, ms = us / 1000 % 1000;
	int n;
	if (s >= 3600)
		n = snprintf(buf, len, "%lld:%02lld:%02lld", (long long)(s / 3600),
		             (long long)(s / 60 % 60), (long long)(s % 60));
	else
		n = snprintf(buf, len, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
	if (ms && n > 0 && (size_t)n < len) /* a start inside a second: 0:24.99 */
		snprintf(buf + n, len - (size_t)n, ".%02lld", (long long)(ms / 10));
}

#define CHART_W 60
#define CHART_H 8

void type_args_print_schedule(FILE *f, const struct sched *s, const char (*names)[32], bool open)
{
	const char *unit = open ? "iter/s" : "VUs";
	char d[32], at[32], total[32], name[32];
	double max = s->start;

	fprintf(f, "  %-3s %-16s %10s %10s %10s %9s\n", "#", "phase", "from", "to", "duration",
	        "starts");
	double from = s->start;
	int64_t t0 = 0;
	for (int i = 0; i < s->nstages; i++) {
		const struct stage *st = &s->stages[i];
		clock_str(t0, at, sizeof(at));
		if (names)
			snprintf(name, sizeof(name), "%s", names[i]);
		else
			snprintf(name, sizeof(name), "stage %d", i + 1);
		fprintf(f, "  %-3d %-16s %10.6g %10.6g %10s %9s\n", i + 1, name, from, st->target,
		        st->duration_us ? format_duration(st->duration_us, d, sizeof(d))
		                        : "at once",
		        at);
		from = st->target;
		max = MAX(max, st->target);
		t0 += st->duration_us;
	}
	format_duration(s->total_us, total, sizeof(total));
	fprintf(f, "\n  total %s (plus up to the graceful stop for iterations in flight)\n\n",
	        total);
	if (!(max > 0) || s->total_us <= 0)
		return;

	/* load over time: one column per 1/CHART_W of the run, the column's largest value */
	double col[CHART_W];
	for (int c = 0; c < CHART_W; c++) {
		int64_t a = s->total_us * c / CHART_W, b = s->total_us * (c + 1) / CHART_W;
		double v = 0;
		for (int k = 0; k <= 8; k++)
			v = MAX(v, sched_value_at(s, a + (b - a) * k / 8));
		col[c] = v;
	}
	for (int r = CHART_H; r >= 1; r--) {
		double lvl = max * (r - 0.5) / CHART_H;
		if (r == CHART_H)
			fprintf(f, "  %8.6g |", max);
		else if (r == 1)
			fprintf(f, "  %8d |", 0);
		else
			fprintf(f, "  %8s |", "");
		for (int c = 0; c < CHART_W; c++) /* any load shows in the bottom row */
			fputc((col[c] >= lvl || r == 1) && col[c] > 0 ? '#' : ' ', f);
		fputc('\n', f);
	}
	fprintf(f, "  %8s +", "");
	for (int c = 0; c < CHART_W; c++)
		fputc('-', f);
	fprintf(f, "\n  %8s  0%*s\n", unit, CHART_W - 1, total);
}

void type_args_print_plan(const struct type_args *t, FILE *f)
{
	const struct preset_plan *p = &t->plan;
	const char *unit = p->open ? "iterations/s" : "VUs";
	char d[32];

	fprintf(f, "%s test at %g %s%s\n", test_type_name(p->type), p->level,
	        !p->open && p->level == 1 ? "VU" : unit,
	        p->open ? " (open model: ramping-arrival-rate)" : " (closed model: ramping-vus)");
	fprintf(f, "  answers:  %s\n", p->question);
	fprintf(f, "  judged by: %s\n", p->criteria);
	if (t->slo.n) {
		fprintf(f, "  SLOs:     ");
		for (int i = 0; i < t->slo.n; i++)
			fprintf(f, "%s%s", i ? ", " : "", t->slo.item[i].text);
		fprintf(f, "%s%s%s\n", t->slo.preset[0] ? " (preset " : "", t->slo.preset,
		        t->slo.preset[0] ? ")" : "");
		if (p->abort_on_slo)
			fprintf(
			    f,
			    "            (abort-on-fail after %s, judged over the last %d s: the "
			    "run stops at the first failure)\n",
			    p->abort_delay_us > 0 ? format_duration(p->abort_delay_us, d, sizeof(d))
			                          : "0s",
			    PRESET_ABORT_WINDOW_S);
	} else {
		fprintf(
		    f, "  SLOs:     none given (--slo 'p95<200ms,errors<0.1%%' or --slo-preset)\n");
	}
	fputc('\n', f);
	const struct sched s = { .start = p->start,
		                 .stages = (struct stage *)p->stage,
		                 .nstages = p->nstages,
		                 .total_us = p->total_us };
	type_args_print_schedule(f, &s, p->phase, p->open);
}

void type_args_free(struct type_args *t)
{
	free(t->slo_specs);
	t->slo_specs = NULL;
}

bool type_args_any(const struct type_args *t)
{
	const struct preset_opts *o = &t->preset;
	return o->type != TT_NONE || t->slo_specs || t->slo_preset || o->ramp_us || o->hold_us ||
	       o->ramp_down_us || t->ramp_down_set || o->step_us || o->warmup_us || o->observe_us ||
	       o->peak || o->steps || o->nlevels;
}
