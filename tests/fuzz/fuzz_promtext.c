/* fuzz_promtext.c: libFuzzer target for the Prometheus text parser (util/promtext.h): any
 * body parses in both modes without a crash, within the caps, into strings that live in
 * the parser's arena; what strict mode accepts, lenient mode reads the same; a second parse
 * in the same struct gives the same result.
 *
 * (tests/tools/promtext_check.c prints the strict verdict of files, for the comparison
 * with promtool in tests/e2e/test_promtext_promtool.py.) */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"
#include "util/promtext.h"

static uint64_t fz_hash;

static void fz_mix(const void *data, size_t len)
{
	const unsigned char *s = data;

	for (size_t i = 0; i < len; i++) {
		fz_hash ^= s[i];
		fz_hash *= 0x100000001b3ULL;
	}
}

static void fz_in_arena(const struct promtext *p, const char *s)
{
	if (!s)
		return;
	if (s < p->arena || s >= p->arena + p->arena_len)
		abort();
	fz_mix(s, strlen(s) + 1);
}

/* Check the invariants of one parse and hash what it holds. */
static uint64_t fz_check(const struct promtext *p)
{
	fz_hash = 0xcbf29ce484222325ULL;
	if (p->nfamilies > PROMTEXT_MAX_FAMILIES || p->nsamples > PROMTEXT_MAX_SAMPLES ||
	    p->nlabels > PROMTEXT_MAX_LABELS || p->nsamples > p->samples_total ||
	    p->nsamples + p->samples_dropped != p->samples_total || p->bad_lines > p->lines ||
	    p->arena_len > p->arena_cap)
		abort();
	if ((p->samples_dropped || p->families_dropped) && !p->truncated)
		abort();
	for (int i = 0; i < p->nfamilies; i++) {
		const struct promtext_family *f = &p->families[i];
		fz_in_arena(p, f->name);
		fz_in_arena(p, f->help);
		fz_in_arena(p, f->unit);
		if (promtext_find(p, f->name) != f || f->nnan > f->nsamples)
			abort();
		fz_mix(&f->type, sizeof(f->type));
		fz_mix(&f->nsamples, sizeof(f->nsamples));
	}
	for (uint32_t i = 0; i < p->nsamples; i++) {
		const struct promtext_sample *s = &p->samples[i];
		const struct promtext_label *l = promtext_sample_labels(p, s);
		if (s->family < 0 || s->family >= p->nfamilies ||
		    s->label0 + s->nlabels > p->nlabels)
			abort();
		fz_in_arena(p, s->name);
		for (uint32_t j = 0; j < s->nlabels; j++) {
			fz_in_arena(p, l[j].name);
			fz_in_arena(p, l[j].value);
		}
		fz_mix(&s->value, sizeof(s->value));
	}
	return fz_hash;
}

static bool fz_same_sum(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct promtext strict, lenient; /* reused, as a scraper does */
	const char *body = (const char *)data;
	int rc = promtext_parse(&strict, body, size, PROMTEXT_STRICT);
	uint64_t h;

	if (rc != 0 && (rc != -EINVAL || !strict.err[0] || strict.err_line == 0))
		abort();
	fz_check(&strict);
	if (promtext_parse(&lenient, body, size, PROMTEXT_LENIENT) != 0)
		abort();
	h = fz_check(&lenient);
	if (promtext_parse(&lenient, body, size, PROMTEXT_LENIENT) != 0 || fz_check(&lenient) != h)
		abort();
	if (rc != 0 || lenient.eof_marker != strict.eof_marker)
		return 0;
	/* strict accepted it: lenient reads the same samples into the same sums */
	if (lenient.bad_lines || lenient.samples_total != strict.samples_total)
		abort();
	for (int i = 0; i < strict.nfamilies; i++) {
		const struct promtext_family *a = &strict.families[i];
		const struct promtext_family *b = promtext_find(&lenient, a->name);
		if (!b || a->type != b->type || a->nseries != b->nseries ||
		    !fz_same_sum(a->value, b->value) || !fz_same_sum(a->sum, b->sum) ||
		    !fz_same_sum(a->count, b->count))
			abort();
	}
	return 0;
}
