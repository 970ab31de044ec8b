/* k6_points.c: an interval's values as k6 samples (see k6_points.h). */
#include "output/k6_points.h"

#include "metrics/hdr.h"

/* A time trend's histogram holds µs and a non-time one value x 1000 (result.h); k6
 * writes ms and the plain value. */
static double unit_scale(enum result_unit u)
{
	return u == RU_TIME || u == RU_MILLI ? 1e-3 : 1.0;
}

void k6_points(const struct result_sample *s, k6_point_fn fn, void *ctx)
{
	const struct result_values *v = &s->v;
	struct hdr_iter it;
	if (!v->any)
		return;
	switch (s->type) {
	case MT_COUNTER:
		fn(ctx, v->sum, 1);
		break;
	case MT_GAUGE:
		fn(ctx, v->g_last, 1);
		break;
	case MT_RATE:
		if (v->nz > 0)
			fn(ctx, 1, v->nz);
		if (v->total > v->nz)
			fn(ctx, 0, v->total - v->nz);
		break;
	case MT_TREND:
		if (!v->h)
			break;
		hdr_iter_init(&it, v->h);
		while (hdr_iter_next(&it))
			fn(ctx, (double)it.value * unit_scale(s->unit), it.count);
		break;
	}
}
