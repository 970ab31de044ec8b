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

const char *test_type_name(enum test_type t)
{
	return t >= TT_SMOKE && t <= TT_BREAKPOINT ? names[t] : "";
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

int preset_build(const struct preset_opts *o, struct preset_plan *out, char *err, size_t errlen)
{
	struct preset_plan p = { .type = o->type, .open = o->open, .level = o->level };
	const double L = o->level;
	const char *unit = o->open ? "/s" : " VUs";

	if (!(L > 0) || !isfinite(L)) {
		snprintf(err, errlen,
		         "--type %s needs the expected level: --rate R (open model) or "
		         "--vus N (closed model), more than 0",
		         test_type_name(o->type));
		return -1;
	}
	if (o->peak && (!(o->peak > 1) || o->peak > 1000)) {
		snprintf(err, errlen,
		         "--peak %g: a multiple of the level, more than 1 and at most "
		         "1000 (e.g. --peak 5 for 5x)",
		         o->peak);
		return -1;
	}
	if (o->steps && (o->steps < 2 || o->steps > 20)) {
		snprintf(err, errlen, "--steps %d: from 2 to 20", o->steps);
		return -1;
	}
	int64_t ramp_down = o->ramp_down_us >= 0 ? or_default(o->ramp_down_us, MIN_US) : 0;
	char ph[24];

	switch (o->type) {
	case TT_SMOKE:
		if (!o->open && L > 5) {
			snprintf(err, errlen,
			         "a smoke test runs 1-5 VUs (got %g): it checks that the "
			         "service works, not how it scales; use --type load",
			         L);
			return -1;
		}
		p.start = L;
		add(&p, "smoke", or_default(o->hold_us, MIN_US), L);
		p.errors_zero = true;
		p.question = "Does it work at all, under minimal load?";
		p.criteria = "no error at all; every SLO holds";
		break;
	case TT_LOAD:
		add(&p, "ramp-up", or_default(o->ramp_us, 2 * MIN_US), L);
		add(&p, "hold", or_default(o->hold_us, 15 * MIN_US), L);
		if (ramp_down)
			add(&p, "ramp-down", ramp_down, 0);
		p.question = "Does it meet its SLOs at the expected load?";
		p.criteria = "every SLO holds during the hold (ramps excluded)";
		break;
	case TT_STRESS: {
		double peak = o->peak ? o->peak : 5;
		int steps = o->steps ? o->steps : 5;
		p.peak = peak, p.steps = steps;
		for (int i = 0; i < steps; i++) {
			double m = 1 + (peak - 1) * i / (steps - 1);
			snprintf(ph, sizeof(ph), "to step %d", i + 1);
			add(&p, ph, or_default(o->ramp_us, MIN_US), L * m);
			snprintf(ph, sizeof(ph), "step %d (%.3gx)", i + 1, m);
			add(&p, ph, or_default(o->step_us, 5 * MIN_US), L * m);
		}
		if (ramp_down)
			add(&p, "ramp-down", ramp_down, 0);
		p.question = "Where does it break, and how: latency or errors, gracefully or in a "
		             "collapse?";
		p.criteria = "every SLO holds at the expected level (step 1); the breaking point "
		             "(the highest step where every SLO held) and the throughput knee";
		break;
	}
	case TT_SPIKE: {
		double peak = o->peak ? o->peak : 10;
		p.peak = peak;
		p.start = L;
		add(&p, "base", or_default(o->warmup_us, 2 * MIN_US), L);
		add(&p, "jump", 0, L * peak);
		snprintf(ph, sizeof(ph), "spike (%.3gx)", peak);
		add(&p, ph, or_default(o->hold_us, MIN_US), L * peak);
		add(&p, "drop", 0, L);
		add(&p, "observe", or_default(o->observe_us, 5 * MIN_US), L);
		p.question = "Does it survive a sudden surge, and how fast does it recover?";
		p.criteria =
		    "errors and peak latency during the spike; the recovery time: from the "
		    "spike's end until p95 is back under its SLO and stays there";
		break;
	}
	case TT_SOAK:
		add(&p, "ramp-up", or_default(o->ramp_us, 5 * MIN_US), L);
		add(&p, "hold", or_default(o->hold_us, 2 * HOUR_US), L);
		if (ramp_down)
			add(&p, "ramp-down", ramp_down, 0);
		p.question = "Does it stay stable over time (latency drift, errors, leaks)?";
		p.criteria = "every SLO holds; no trend in p95, error rate or throughput over the "
		             "hold (Mann-Kendall, Sen's slope)";
		break;
	case TT_BREAKPOINT: {
		double peak = o->peak ? o->peak : 10;
		p.peak = peak;
		int64_t d = or_default(o->hold_us, 20 * MIN_US);
		snprintf(ph, sizeof(ph), "raise to %.3gx", peak);
		add(&p, ph, d, L * peak);
		p.abort_on_slo = true;
		/* a cold start's first seconds are not the breaking point */
		p.abort_delay_us = MIN(30 * USEC_PER_SEC, MAX(d / 20, 5 * USEC_PER_SEC));
		p.question = "At what load does it break? (the run stops at the first SLO failure)";
		p.criteria =
		    "the highest load at which every SLO held, the first SLO to fail and how";
		break;
	}
	default:
		snprintf(err, errlen, "unknown test type");
		return -1;
	}
	(void)unit;
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
		    snprintf(buf + n, len - n, "%s%s:%.10g", i ? "," : "", d, p->stage[i].target);
		if (w < 0 || (size_t)w >= len - n)
			return false;
		n += (size_t)w;
	}
	return true;
}
