/*
 * segment.h: execution segments: one instance's share of a run split across several
 * (k6's `--execution-segment` and `--execution-segment-sequence`, docs/distributed.md).
 *
 * A segment is a part (from, to] of the whole load [0, 1]; a sequence is the points that
 * cut the load into the segments of every instance ("0,1/4,1/2,3/4,1"). The whole run's
 * VUs, iterations and arrivals are numbered 0, 1, 2, ... and every index belongs to
 * exactly one segment of the sequence, so the union of the instances runs exactly what one
 * instance alone would:
 *
 *   - indices are dealt out in a stripe that repeats every `period` indices (the least
 *     common multiple of the segments' lengths' denominators): segment i owns count_i =
 *     length_i x period positions of each period, spread evenly (position p goes to the
 *     segment furthest behind its share (p + 1) x length_i, ties to the longer segment,
 *     then to the earlier one), so each instance's share of any first n indices is within
 *     one of n x length;
 *   - VUs: an instance runs the VU indices of its stripe below the whole run's count (a
 *     ramp to 10 VUs in 4 segments gives 3, 3, 2, 2, and 10 together at every moment);
 *   - preallocated/maximum VUs: the indices of its stripe below the total; iterations
 *     (shared-iterations) follow the VUs: the whole run's iteration k is VU k mod VUs';
 *   - numbers in the whole test (k6's exec.vu.idInTest, exec.scenario.iterationInTest):
 *     the instance's k-th VU or iteration is the whole run's exec_segment_index(k), or
 *     exec_segment_deal(VUs, k) where the iterations follow the VUs, so the instances'
 *     numbers never meet;
 *   - arrival-rate executors: the whole run's arrival sequence (arrival n at the time the
 *     schedule's integral reaches n) is partitioned: the instance starts the arrivals of
 *     its stripe, at the times the whole run would, so iterations + dropped_iterations
 *     summed over the instances equal the single-process schedule exactly. Poisson
 *     arrivals are random: each instance runs a Poisson process at its share of the rate,
 *     and their union is a Poisson process at the whole rate (superposition).
 *
 * k6 deals indices out in the same spirit (its "striped offsets"); the exact interleaving
 * of rounding leftovers is ours, the totals are the same.
 */
#ifndef STAMPEDE_SEGMENT_H
#define STAMPEDE_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most segments a sequence may have, and the longest stripe period accepted. */
#define SEGMENT_SEQUENCE_MAX 1024
#define SEGMENT_PERIOD_MAX   1000000

/* A fraction num/den in [0, 1], reduced, den >= 1. */
struct frac {
	int64_t num, den;
};

struct exec_segment {
	bool whole; /* no segment: every index (0:1); the fields below are unused */
	struct frac from, to;
	int index, nseq; /* this segment's place in the sequence, and how many it has */
	int64_t period;  /* the stripe repeats every period indices */
	int64_t *pos;    /* the positions of a period this segment owns, increasing */
	int64_t npos;    /* how many: length x period */
	char text[64];   /* the segment as stampede prints it: "1/4:1/2" */
	char *sequence;  /* the sequence as printed: "0,1/4,1/2,3/4,1" (malloc'd) */
};

/* Parse a fraction: "1/4", "0.25", "25%", "0", "1" (at most 9 decimals, 1e9 as a
 * denominator). Returns 0, or -1 with the reason in err. */
int frac_parse(const char *s, struct frac *out, char *err, size_t errlen);
/* "1/4", "0", "1" into buf. */
const char *frac_format(struct frac f, char *buf, size_t len);

/*
 * Build the segment `segment` ("FROM:TO", or "TO" meaning "0:TO") of `sequence` (points
 * "0,1/4,...,1", increasing; 0 and 1 are added when missing, as k6 does; NULL: the points
 * 0, FROM, TO, 1). segment NULL: the whole run (a sequence alone is not used, as in k6:
 * a script's sequence run by one instance). Errors (-1, reason in err): a bad fraction,
 * from >= to, a sequence that does not increase strictly (a point given twice, 0 too, as
 * k6 refuses it) or has more than SEGMENT_SEQUENCE_MAX
 * segments, a segment that is not one of the sequence's, a stripe period above
 * SEGMENT_PERIOD_MAX.
 */
int exec_segment_init(struct exec_segment *es, const char *segment, const char *sequence, char *err,
                      size_t errlen);
void exec_segment_free(struct exec_segment *es);

/* How many of the indices 0 .. n-1 belong to es (n for the whole run). n >= 0. */
int64_t exec_segment_scale(const struct exec_segment *es, int64_t n);
/* The whole run's index of es's k-th index (k for the whole run). k >= 0. */
int64_t exec_segment_index(const struct exec_segment *es, int64_t k);
/*
 * The whole run's number of es's k-th item when the whole run deals its items out by
 * owner, item i to owner i mod owners (a shared- or per-VU-iterations scenario's
 * iterations to its VUs, engine.h's scenario_segment()), and es has the owners of its
 * stripe below `owners`: es's items go round its owners, so its items 0 .. n-1 are
 * numbered by the whole run's rounds. k for the whole run, or when es has no owner below
 * `owners`. k >= 0.
 */
int64_t exec_segment_deal(const struct exec_segment *es, int64_t owners, int64_t k);
/* es's share of the load, length (to - from), as a double (1 for the whole run). */
double exec_segment_fraction(const struct exec_segment *es);

#endif
