/* analyses.c: every analysis of a run (analyses.h). */
#include "analysis/analyses.h"

#include <math.h>
#include <stdbool.h>
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

/* The USL fit of a stress test's steps (analysis/usl.h): X(N) at N VUs in the closed model
 * (a `capacity sweep`), at N = X.R in the open one. Other runs have none; a stress test the
 * fit cannot use (too few steps with responses, no convergence) gets {"model": "usl",
 * "error": why}. */
static json_t *capacity_analyse(const struct result *r)
{
	const json_t *tt = json_object_get(r->analyses, "testType");
	const char *type = json_string_value(json_object_get(tt, "type"));
	const char *model = json_string_value(json_object_get(tt, "model"));
	if (!type || strcmp(type, "stress") || !model)
		return NULL;
	bool open = !strcmp(model, "open");
	struct usl_point p[64];
	struct usl_fit f;
	char err[256];
	int n = usl_points_from_steps(tt, p, (int)(sizeof(p) / sizeof(p[0])), err, sizeof(err));
	if (n < 0 || usl_fit(p, n, &f, err, sizeof(err)) < 0)
		return json_pack("{s:s, s:s}", "model", "usl", "error", err);
	json_t *j = usl_json(&f, p, n);
	double worst = NAN, worst_n = NAN;
	size_t i;
	const json_t *row;
	json_array_foreach(json_object_get(tt, "steps"), i, row)
	{
		double e = json_number_value(json_object_get(row, "errorRate"));
		if (!json_object_get(row, "offeredFrom") && e > 0 && !(e <= worst))
			worst = e,
			worst_n = open ? NAN /* offered is a rate */
			               : json_number_value(json_object_get(row, "offered"));
	}
	usl_json_notes(j, &f, p, n, "/s", worst, worst_n);
	/* N: the VUs of each step, or in the open model the mean number of requests in
	 * service (Little's law, N = X.R), where a Little's-law check would be circular */
	json_object_set_new(j, "nSource", json_string(open ? "littles-law" : "vus"));
	if (open)
		json_object_set_new(j, "littles", json_null());
	return j;
}

void analyses_fill(struct result *r)
{
	fill(r, "testType", verdict_test_type);
	fill(r, "capacity", capacity_analyse); /* reads the test type's steps */
	fill(r, "leaks", leak_analyse);
	fill(r, "bottleneck", bottleneck_analyse); /* reads the leaks */
}
