/* analyses.c: every analysis of a run (analyses.h). */
#include "analysis/analyses.h"

#include "analysis/bottleneck.h"
#include "analysis/leak.h"
#include "analysis/verdict.h"

static void fill(struct result *r, const char *name, json_t *(*analyse)(const struct result *))
{
	if (json_object_get(r->analyses, name))
		return;
	json_t *a = analyse(r);
	if (a)
		json_object_set_new(r->analyses, name, a);
}

void analyses_fill(struct result *r)
{
	fill(r, "testType", verdict_test_type);
	fill(r, "leaks", leak_analyse);
	fill(r, "bottleneck", bottleneck_analyse); /* reads the leaks */
}
