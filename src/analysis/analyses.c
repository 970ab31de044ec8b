/* analyses.c: every analysis of a run (analyses.h). */
#include "analysis/analyses.h"

#include <string.h>

#include "analysis/bottleneck.h"
#include "analysis/leak.h"
#include "analysis/usl.h"
#include "analysis/verdict.h"

static void fill(struct result *r, const char *name, json_t *(*analyse)(const struct result *))
{
	if (json_object_get(r->analyses, name))
		return;
	json_t *a = analyse(r);
	if (a)
		json_object_set_new(r->analyses, name, a);
}

/* The USL fit of a stress test in the closed model (a `capacity sweep`): its steps are
 * X(N) at N VUs. An open-model or other run has none; a sweep the fit cannot use (too
 * few steps with responses, no convergence) gets {"model": "usl", "error": why}. */
static json_t *capacity_analyse(const struct result *r)
{
	const json_t *tt = json_object_get(r->analyses, "testType");
	const char *type = json_string_value(json_object_get(tt, "type"));
	const char *model = json_string_value(json_object_get(tt, "model"));
	if (!type || strcmp(type, "stress") || !model || strcmp(model, "closed"))
		return NULL;
	struct usl_point p[64];
	struct usl_fit f;
	char err[256];
	int n = usl_points_from_steps(tt, p, (int)(sizeof(p) / sizeof(p[0])), err, sizeof(err));
	if (n < 0 || usl_fit(p, n, &f, err, sizeof(err)) < 0)
		return json_pack("{s:s, s:s}", "model", "usl", "error", err);
	return usl_json(&f, p, n);
}

void analyses_fill(struct result *r)
{
	fill(r, "testType", verdict_test_type);
	fill(r, "capacity", capacity_analyse); /* reads the test type's steps */
	fill(r, "leaks", leak_analyse);
	fill(r, "bottleneck", bottleneck_analyse); /* reads the leaks */
}
