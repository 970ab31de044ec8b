/* scenario.c: k6 executor names and scenario bounds. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "util/common.h"

static const char *const names[] = {
	[EX_SHARED_ITERATIONS] = "shared-iterations",
	[EX_PER_VU_ITERATIONS] = "per-vu-iterations",
	[EX_CONSTANT_VUS] = "constant-vus",
	[EX_RAMPING_VUS] = "ramping-vus",
	[EX_CONSTANT_ARRIVAL_RATE] = "constant-arrival-rate",
	[EX_RAMPING_ARRIVAL_RATE] = "ramping-arrival-rate",
};

const char *executor_name(enum executor e)
{
	return (unsigned)e < ARRAY_SIZE(names) ? names[e] : "unknown";
}

int executor_parse(const char *s, enum executor *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum executor)i;
			return 0;
		}
	}
	return -EINVAL;
}

int64_t scenario_end_us(const struct scenario *s)
{
	return s->start_us + s->duration_us + MAX(s->graceful_stop_us, 0);
}

int scenario_max_vus(const struct scenario *s)
{
	if (s->model == MODEL_OPEN)
		return s->max_vus;
	return (int)exec_segment_scale(s->seg, (int64_t)ceil(sched_max(&s->sched) - 1e-9));
}

void scenario_segment(struct scenario *s, const struct exec_segment *seg)
{
	if (!seg || seg->whole || s->lifecycle)
		return;
	s->seg = seg;
	if (s->model == MODEL_OPEN) {
		s->vus = (int)exec_segment_scale(seg, s->vus);
		s->max_vus = (int)exec_segment_scale(seg, s->max_vus);
		return;
	}
	/* shared-iterations: the whole run's iteration k goes to VU k mod V, so a segment
	 * runs the iterations of its own VUs, and one without a VU has none to lose */
	int64_t v = (int64_t)ceil(sched_max(&s->sched) - 1e-9);
	if (!s->per_vu && s->iterations && v > 0)
		s->iterations = s->iterations / v * exec_segment_scale(seg, v) +
		                exec_segment_scale(seg, s->iterations % v);
	s->vus = (int)exec_segment_scale(seg, s->vus);
}

void scenario_free(struct scenario *s)
{
	free(s->name);
	free(s->exec);
	free(s->env_json);
	for (int i = 0; i < s->ntags; i++) {
		free((char *)s->tags[i].key);
		free((char *)s->tags[i].value);
	}
	free(s->tags);
	sched_free(&s->sched);
	memset(s, 0, sizeof(*s));
}
