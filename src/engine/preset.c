/* preset.c: test-type presets as schedules (preset.h). */
#include "engine/preset.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/common.h"

#define MIN_US  (60 * USEC_PER_SEC)
#define HOUR_US (60 * MIN_US)

static const char *const names[] = { "", "smoke", "load", "stress", "spike", "soak", "breakpoint" };

int test_type_parse(const char *s, enum test_type *out)
{
	for (int i = TT_SMOKE; i <= TT_BREAKPOINT; i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum test_type)i;
			return 0;
		}
	}
	return -1;
}

bool test_type_forbids_errors(enum test_type t)
{
	return t == TT_SMOKE;
}

const char *test_type_name(enum test_type t)
{
	return t >= TT_SMOKE && t <= TT_BREAKPOINT ? names[t] : "";
}

/* A level the model can run: whole VUs in the closed model (rounded), any rate in the
 * open one. */
static double whole(const struct preset_opts *o, double v)
{
	return o->open ? v : MAX(1, round(v));
}

static int64_t or_default(int64_t v, int64_t def)
{
	return v > 0 ? v : def;
}

static void add(struct preset_plan *p, const char *phase, int64_t d, double target)
{
	if (p->nstages >= PRESET_STAGES_MAX)
		return; /* preset_build bounds the number of steps first */
	p->stage[p->nstages] = (struct stage){ .duration_us = d, .target = target };
	snprintf(p->phase[p->nstages], sizeof(p->phase[0]), "%s", phase);
	p->nstages++;
	p->total_us += d;
}

/* Ramp up to the level, hold it, ramp down (load, soak), with these defaults. */
static void ramp_hold(struct preset_plan *p, const struct preset_opts *o, int64_t ramp,
                      int64_t hold, int64_t ramp_down)
{
	add(p, "ramp-up", or_default(o->ramp_us, ramp), o->level);
	add(p, "hold", or_default(o->hold_us, hold), o->level);
	if (ramp_down)
		add(p, "ramp-down", ramp_down, 0);
}

int preset_build(const struct preset_opts *o, struct preset_plan *out, char *err, size_t errlen)
{
	struct preset_plan p = { .type = o->type, .open = o->open, .level = o->level };
	const double L = o->level;
	const char *unit = o->open ? "/s" : " VUs";

	if (!(L > 0) || !isfinite(L) || (o->open && L < PRESET_RATE_MIN)) {
		snprintf(err, errlen,
		         "--type %s needs the expected level: --rate R (open model, at least "
		         "%g/s) or --vus N (closed model), more than 0",
		         test_type_name(o->type), PRESET_RATE_MIN);
		return -1;
	}
	if (o->peak && (!(o->peak > 1) || o->peak > 1000)) {
		snprintf(err, errlen,
		         "--peak %g: a multiple of the level, more than 1 and at most "
		         "1000 (e.g. --peak 5 for 5x)",
		         o->peak);
		return -1;
	}
	double most = o->open ? PRESET_RATE_MAX : PRESET_VUS_MAX;
	double peak_of_type = o->type == TT_STRESS ? (o->peak ? o->peak : 5)
	                      : o->type == TT_SPIKE || o->type == TT_BREAKPOINT
	                          ? (o->peak ? o->peak : 10)
	                          : 1;
	if (L * peak_of_type > most) {
		snprintf(err, errlen,
		         "--type %s at %g%s goes to %g%s, past the most stampede runs "
		         "(%g%s)",
		         test_type_name(o->type), L, o->open ? "/s" : " VUs", L * peak_of_type,
		         o->open ? "/s" : " VUs", most, o->open ? "/s" : " VUs");
		return -1;
	}
	int64_t longest = MAX(MAX(o->ramp_us, o->hold_us), MAX(o->ramp_down_us, o->step_us));
	longest = MAX(longest, MAX(o->warmup_us, o->observe_us));
	if (longest > PRESET_PHASE_MAX_US) {
		snprintf(err, errlen, "a preset's phase lasts at most 7 days");
		return -1;
	}
	if (o->steps && (o->steps < 2 || o->steps > 20)) {
		snprintf(err, errlen, "--steps %d: from 2 to 20", o->steps);
		return -1;
	}
	if (o->nlevels && (o->steps || o->peak)) {
		snprintf(err, errlen,
		         "--levels gives the steps itself: leave out --steps and --peak");
		return -1;
	}
	if (o->nlevels < 0 || o->nlevels > PRESET_LEVELS_MAX ||
	    (o->nlevels && o->levels[o->nlevels - 1] * L > most)) {
		snprintf(err, errlen, "--levels: 1 to %d levels, up to %g%s", PRESET_LEVELS_MAX,
		         most, unit);
		return -1;
	}
	int64_t ramp_down = o->ramp_down_us >= 0 ? or_default(o->ramp_down_us, MIN_US) : 0;
	char ph[32];

	switch (o->type) {
	case TT_SMOKE:
		if (o->open && L > 10) {
			snprintf(err, errlen,
			         "a smoke test runs at most 10 iterations/s (got %g): it "
			         "checks that the service works, not how it scales; use "
			         "--type load",
			         L);
			return -1;
		}
		if (!o->open && L > 5) {
			snprintf(err, errlen,
			         "a smoke test runs 1-5 VUs (got %g): it checks that the "
			         "service works, not how it scales; use --type load",
			         L);
			return -1;
		}
		p.start = L;
		add(&p, "smoke", or_default(o->hold_us, MIN_US), L);
		p.errors_zero = test_type_forbids_errors(TT_SMOKE);
		p.question = "Does it work at all, under minimal load?";
		p.criteria = "no error at all; every SLO holds";
		break;
	case TT_LOAD:
		ramp_hold(&p, o, 2 * MIN_US, 15 * MIN_US, ramp_down);
		p.question = "Does it meet its SLOs at the expected load?";
		p.criteria = "every SLO holds during the hold (ramps excluded)";
		break;
	case TT_STRESS: {
		double peak = o->nlevels ? o->levels[o->nlevels - 1] : o->peak ? o->peak : 5;
		int steps = o->nlevels ? o->nlevels : o->steps ? o->steps : 5;
		p.peak = peak, p.steps = steps;
		double prev = 0;
		for (int i = 0; i < steps; i++) {
			double m = o->nlevels ? o->levels[i] : 1 + (peak - 1) * i / (steps - 1),
			       at = whole(o, L * m);
			if (o->nlevels && at <= prev) {
				snprintf(
				    err, errlen,
				    "--levels: the level %d (%g%s) is not above the one before "
				    "(%g%s): give increasing levels%s",
				    i + 1, at, unit, prev, unit, o->open ? "" : " of whole VUs");
				return -1;
			}
			if (at <= prev) { /* the closed model runs whole VUs */
				snprintf(
				    err, errlen,
				    "--steps %d from %g to %g VUs makes steps of less than one "
				    "VU: raise --vus or --peak, or give fewer --steps",
				    steps, L, L * peak);
				return -1;
			}
			prev = at;
			snprintf(ph, sizeof(ph), "to step %d", i + 1);
			add(&p, ph, or_default(o->ramp_us, MIN_US), at);
			snprintf(ph, sizeof(ph), "step %d (%.4gx)", i + 1, at / L);
			add(&p, ph, or_default(o->step_us, 5 * MIN_US), at);
		}
		if (ramp_down)
			add(&p, "ramp-down", ramp_down, 0);
		p.question = "Where does it break, and how: latency or errors, gracefully or in a "
		             "collapse?";
		p.criteria = o->open
		                 ? "every SLO holds at the expected level (step 1); the breaking "
		                   "point (the highest step where every SLO held and throughput "
		                   "kept up) and the throughput knee"
		                 : "every SLO holds at the expected level (step 1); the breaking "
		                   "point (the highest step where every SLO held)";
		break;
	}
	case TT_SPIKE: {
		double peak = o->peak ? o->peak : 10;
		p.peak = peak;
		p.start = L;
		add(&p, "base", or_default(o->warmup_us, 2 * MIN_US), L);
		add(&p, "jump", 0, whole(o, L * peak));
		snprintf(ph, sizeof(ph), "spike (%.4gx)", whole(o, L * peak) / L);
		add(&p, ph, or_default(o->hold_us, MIN_US), whole(o, L * peak));
		add(&p, "drop", 0, L);
		add(&p, "observe", or_default(o->observe_us, 5 * MIN_US), L);
		p.question = "Does it survive a sudden surge, and how fast does it recover?";
		p.criteria =
		    "errors and peak latency during the spike; the recovery time: from the "
		    "spike's end until p95 is back under its SLO and stays there";
		break;
	}
	case TT_SOAK:
		ramp_hold(&p, o, 5 * MIN_US, 2 * HOUR_US, ramp_down);
		p.question = "Does it stay stable over time (latency drift, errors, leaks)?";
		p.criteria =
		    "every SLO holds over the hold; no adverse trend over it (p95 or error "
		    "rate rising, throughput falling: Mann-Kendall, Sen's slope)";
		break;
	case TT_BREAKPOINT: {
		double peak = o->peak ? o->peak : 10;
		p.peak = peak;
		int64_t d = or_default(o->hold_us, 20 * MIN_US);
		snprintf(ph, sizeof(ph), "raise to %.4gx", whole(o, L * peak) / L);
		add(&p, ph, d, whole(o, L * peak));
		p.abort_on_slo = true;
		/* a cold start's first seconds are not the breaking point */
		p.abort_delay_us = MIN(30 * USEC_PER_SEC, MAX(d / 20, 5 * USEC_PER_SEC));
		p.question = "At what load does it break? (the run stops at the first SLO failure)";
		p.criteria = "the highest load at which every SLO held (judged per window of the "
		             "ramp, with throughput keeping up), the first SLO to fail and how";
		break;
	}
	default:
		snprintf(err, errlen, "unknown test type");
		return -1;
	}
	(void)unit;
	if (p.total_us > PRESET_TOTAL_MAX_US) {
		snprintf(err, errlen,
		         "the %s test would last %.0f days: at most 31 (shorten its phases)",
		         test_type_name(o->type), (double)p.total_us / 86400e6);
		return -1;
	}
	*out = p;
	return 0;
}

/* A duration in k6's syntax with whole units ("1h30m", "90s", "250ms"). */
static void k6_duration(int64_t us, char *buf, size_t len)
{
	if (us % USEC_PER_SEC) {
		snprintf(buf, len, "%lldms", (long long)(us / 1000));
		return;
	}
	int64_t s = us / USEC_PER_SEC, h = s / 3600, m = s / 60 % 60;
	size_t n = 0;
	buf[0] = '\0';
	if (h)
		n += (size_t)snprintf(buf + n, len - n, "%lldh", (long long)h);
	if (m && n < len)
		n += (size_t)snprintf(buf + n, len - n, "%lldm", (long long)m);
	if ((s % 60 || !s) && n < len)
		snprintf(buf + n, len - n, "%llds", (long long)(s % 60));
}

bool preset_stages_string(const struct preset_plan *p, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int i = 0; i < p->nstages; i++) {
		char d[32];
		k6_duration(p->stage[i].duration_us, d, sizeof(d));
		int w =
		    /* k6's -s syntax: whole targets (a VU count, or a script's stage target) */
		    snprintf(buf + n, len - n, p->open ? "%s%s:%.6g" : "%s%s:%.0f", i ? "," : "", d,
		             p->stage[i].target);
		if (w < 0 || (size_t)w >= len - n)
			return false;
		n += (size_t)w;
	}
	return true;
}

json_t *preset_json(const struct preset_plan *p)
{
	json_t *j = json_object(), *phases = json_array();
	json_object_set_new(j, "type", json_string(test_type_name(p->type)));
	json_object_set_new(j, "model", json_string(p->open ? "open" : "closed"));
	json_object_set_new(j, "level", json_real(p->level));
	if (p->peak)
		json_object_set_new(j, "peak", json_real(p->peak));
	if (p->steps)
		json_object_set_new(j, "steps", json_integer(p->steps));
	json_object_set_new(j, "start", json_real(p->start));
	int64_t at = 0;
	for (int i = 0; i < p->nstages; i++) {
		json_t *ph = json_object();
		json_object_set_new(ph, "name", json_string(p->phase[i]));
		json_object_set_new(ph, "startS", json_real((double)at / 1e6));
		json_object_set_new(ph, "durationS",
		                    json_real((double)p->stage[i].duration_us / 1e6));
		json_object_set_new(ph, "target", json_real(p->stage[i].target));
		json_array_append_new(phases, ph);
		at += p->stage[i].duration_us;
	}
	json_object_set_new(j, "phases", phases);
	return j;
}

static double num(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

int preset_json_check(const json_t *j, char *err, size_t errlen)
{
	enum test_type t;
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *model = json_string_value(json_object_get(j, "model"));
	const json_t *phs = json_object_get(j, "phases");
	if (!json_is_object(j) || !type || test_type_parse(type, &t) < 0) {
		snprintf(err, errlen,
		         "expected an object whose type is smoke, load, stress, spike, "
		         "soak or breakpoint");
		return -1;
	}
	if (!model || (strcmp(model, "open") && strcmp(model, "closed")) ||
	    !(num(j, "level") > 0) || !isfinite(num(j, "level"))) {
		snprintf(err, errlen, "expected a model (open or closed) and a level above 0");
		return -1;
	}
	size_t n = json_array_size(phs), i;
	if (n < 1 || n > PRESET_STAGES_MAX) {
		snprintf(err, errlen, "expected 1 to %d phases", PRESET_STAGES_MAX);
		return -1;
	}
	double at = json_object_get(j, "startTimeS") ? num(j, "startTimeS") : 0;
	const json_t *ph;
	json_array_foreach(phs, i, ph)
	{
		double a = num(ph, "startS"), d = num(ph, "durationS"), tg = num(ph, "target");
		const char *name = json_string_value(json_object_get(ph, "name"));
		if (!name || strlen(name) >= sizeof(((struct preset_plan *)0)->phase[0]) ||
		    !isfinite(a) || fabs(a - at) > 1e-3 || !(d >= 0) || !isfinite(tg) || tg < 0) {
			snprintf(err, errlen,
			         "phases[%zu]: expected {name, startS (where the last one ended), "
			         "durationS >= 0, target >= 0}",
			         i);
			return -1;
		}
		at = a + d;
	}
	if (!(at <= (double)PRESET_TOTAL_MAX_US / 1e6)) {
		snprintf(err, errlen, "the phases end past 31 days");
		return -1;
	}
	return 0;
}

/* Which shaping fields each type uses (breakpoint: hold is its ramp's length, as
 * --duration). */
enum {
	F_RAMP = 1,
	F_HOLD = 2,
	F_DOWN = 4,
	F_STEP = 8,
	F_WARMUP = 16,
	F_OBSERVE = 32,
	F_PEAK = 64,
	F_STEPS = 128,
	F_LEVELS = 256
};
static const int uses[] = {
	[TT_SMOKE] = F_HOLD,
	[TT_LOAD] = F_RAMP | F_HOLD | F_DOWN,
	[TT_STRESS] = F_RAMP | F_STEP | F_DOWN | F_PEAK | F_STEPS | F_LEVELS,
	[TT_SPIKE] = F_WARMUP | F_HOLD | F_OBSERVE | F_PEAK,
	[TT_SOAK] = F_RAMP | F_HOLD | F_DOWN,
	[TT_BREAKPOINT] = F_HOLD | F_PEAK,
};
static const char *const fnames[] = { "ramp",    "hold", "ramp-down", "step-duration", "warmup",
	                              "observe", "peak", "steps",     "levels" };

const char *preset_unused(const struct preset_opts *o)
{
	int set = (o->ramp_us ? F_RAMP : 0) | (o->hold_us ? F_HOLD : 0) |
	          (o->ramp_down_us ? F_DOWN : 0) | (o->step_us ? F_STEP : 0) |
	          (o->warmup_us ? F_WARMUP : 0) | (o->observe_us ? F_OBSERVE : 0) |
	          (o->peak ? F_PEAK : 0) | (o->steps ? F_STEPS : 0) | (o->nlevels ? F_LEVELS : 0);
	if (o->type < TT_SMOKE || o->type > TT_BREAKPOINT)
		return NULL;
	int extra = set & ~uses[o->type];
	for (int i = 0; i < (int)ARRAY_SIZE(fnames); i++)
		if (extra & (1 << i))
			return fnames[i];
	return NULL;
}

const char *preset_takes(enum test_type t)
{
	static char buf[TT_BREAKPOINT + 1][160];
	if (t < TT_SMOKE || t > TT_BREAKPOINT)
		return "";
	size_t n = 0;
	buf[t][0] = '\0';
	for (int i = 0; i < (int)ARRAY_SIZE(fnames); i++)
		if (uses[t] & (1 << i))
			n += (size_t)snprintf(
			    buf[t] + n, sizeof(buf[t]) - n, "%s--%s", n ? ", " : "",
			    t == TT_BREAKPOINT && i == 1 ? "duration" : fnames[i]);
	return buf[t];
}
