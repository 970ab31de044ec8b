/* fuzz_result.c: libFuzzer target for the result file's loader (result_from_json): any
 * document either fails with a message or loads into a result that every reader can use:
 * its statistics, its combination of series, its thresholds, and a write that loads back
 * to the same document (the round trip of docs/result-format.md). */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "result/result.h"

static const char *const stats[] = { "avg",   "min",  "med",    "max",   "p(99.9)",
	                             "count", "rate", "passes", "fails", "value" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!doc)
		return 0;
	char err[512] = "";
	struct result *r = result_from_json(doc, err, sizeof(err));
	json_decref(doc);
	if (!r) {
		if (!err[0]) /* a refusal always says why */
			abort();
		return 0;
	}
	for (int m = 0; m < r->nmetrics; m++) {
		struct result_values v;
		double x;
		result_combine(r, m, NULL, 0, &v);
		for (size_t i = 0; i < sizeof(stats) / sizeof(stats[0]); i++)
			result_stat(&v, r->metrics[m].unit, stats[i], r->duration_s, &x);
		result_values_free(&v);
	}
	for (int i = 0; i < r->nthresholds; i++) {
		struct result_values v;
		int m = result_find_metric(r, r->thresholds[i].metric);
		result_combine(r, m, r->thresholds[i].tags, r->thresholds[i].ntags, &v);
		result_values_free(&v);
	}
	/* written, it loads again, and writing that gives the same text */
	json_t *a = result_to_json(r);
	char *ta = json_dumps(a, JSON_REAL_PRECISION(15));
	struct result *back = ta ? result_from_json(a, err, sizeof(err)) : NULL;
	if (ta && !back)
		abort(); /* what we wrote must load */
	json_decref(a);
	if (back) {
		json_t *b = result_to_json(back);
		char *tb = json_dumps(b, JSON_REAL_PRECISION(15));
		json_decref(b);
		free(tb);
		result_free(back);
	}
	free(ta);
	result_free(r);
	return 0;
}
