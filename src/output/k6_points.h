/* k6_points.h: the k6 samples that one interval of a series stands for, shared by the
 * outputs that write k6's per-sample formats (--out json, --out csv). */
#ifndef STAMPEDE_K6_POINTS_H
#define STAMPEDE_K6_POINTS_H

#include <stdint.h>

#include "result/result.h"

/* Called with one sample value and how many samples had it (repeat >= 1). */
typedef void (*k6_point_fn)(void *ctx, double value, int64_t repeat);

/*
 * stampede aggregates per second, so a per-sample format is rebuilt from an interval's
 * values: a counter gives one sample, the interval's sum; a gauge one, its last value; a
 * rate one sample of 1 per non-zero sample and one of 0 per other; a trend one sample per
 * recorded value, at its histogram bucket's highest equivalent value (within 3
 * significant digits), in ms for time trends. Summing counters, averaging rates or taking
 * percentiles of trends over the samples gives the run's values. Nothing for a sample
 * without data.
 */
void k6_points(const struct result_sample *s, k6_point_fn fn, void *ctx);

#endif
