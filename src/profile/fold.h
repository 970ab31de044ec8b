/* fold.h: stack samples folded into counted stacks (Brendan Gregg's "folded" format), from
 * `perf script` text or from a folded file. */
#ifndef STAMPEDE_FOLD_H
#define STAMPEDE_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Bounds of one struct folded. What does not fit is counted (struct fold_stats), never
 * stored: a sample whose stack is new once FOLD_MAX_STACKS distinct stacks are held is
 * dropped; a stack deeper than FOLD_MAX_DEPTH frames keeps its FOLD_MAX_DEPTH - 1 frames
 * nearest the root and ends in the frame "[truncated]"; a frame name longer than
 * FOLD_MAX_NAME bytes is cut; past FOLD_MAX_NAMES distinct names (or FOLD_MAX_NAME_BYTES of
 * them) a new name becomes "[names over cap]". Worst case about 64 MiB of stacks and 32 MiB
 * of names. */
#define FOLD_MAX_STACKS     65536
#define FOLD_MAX_DEPTH      256
#define FOLD_MAX_NAME       1024
#define FOLD_MAX_NAMES      262144
#define FOLD_MAX_NAME_BYTES (32u << 20)
/* A `perf script` line longer than this is cut (and counted in lines_cut). */
#define FOLD_MAX_LINE (64u << 10)

/* The suffix that marks a kernel frame (perf's dso "[kernel.kallsyms]"), as
 * stackcollapse-perf.pl --kernel writes it; the flame graph gives such frames their own hue. */
#define FOLD_KERNEL_SUFFIX "_[k]"

/* How `perf script` samples are folded. A zeroed struct is: no comm frame, one count per
 * sample, no kernel mark; fold_opts_default() is what stampede uses. */
struct fold_opts {
	bool with_comm;   /* the root frame is the thread's command name ("demo-worker") */
	bool by_period;   /* weigh each sample by its period (e.g. ns of cpu-clock), not 1 */
	bool mark_kernel; /* append FOLD_KERNEL_SUFFIX to frames of a [kernel*] dso */
};

/* with_comm and mark_kernel on, counted by samples (as stackcollapse-perf.pl's default). */
struct fold_opts fold_opts_default(void);

/* What was read and what did not fit. */
struct fold_stats {
	uint64_t samples;    /* samples (or folded lines) added, stored or not */
	uint64_t total;      /* sum of the counts stored (what the flame graph shows) */
	uint64_t dropped;    /* counts not stored: their stack was new past FOLD_MAX_STACKS */
	uint64_t truncated;  /* samples whose stack was cut to FOLD_MAX_DEPTH frames */
	uint64_t lines_cut;  /* perf script lines longer than FOLD_MAX_LINE (cut) */
	uint64_t no_stack;   /* perf script samples with no frame at all (not stored) */
	uint64_t names_over; /* frames renamed "[names over cap]" */
};

struct folded;

/* A new, empty set of folded stacks (never NULL: allocation failure aborts). Free it with
 * folded_free(). */
struct folded *folded_new(void);

/* Release f and every name it holds. Accepts NULL. */
void folded_free(struct folded *f);

/* Add count to the stack frames[0..depth) (root first; names are copied, ';' in a name
 * becomes ':', control characters '?'). depth 0 or count 0 adds nothing. Returns 0, or
 * -ENOSPC when the stack was new and FOLD_MAX_STACKS are held (the count is then in
 * stats.dropped). */
int folded_add(struct folded *f, const char *const *frames, int depth, uint64_t count);

/* Parse folded text ("root;child;leaf COUNT" lines, as stackcollapse-*.pl write them;
 * blank lines skipped; CRLF accepted) and add every line to f. Returns 0, or -EINVAL with
 * "line N: WHY" in err at the first malformed line (no count, a count that is not a whole
 * number, an empty frame): the lines before it stay added. */
int folded_parse(struct folded *f, const char *text, size_t len, char *err, size_t errlen);

/* Order the stacks by their frames' names (root first, byte order), as flamegraph.pl
 * expects them; folded_stack_*() then index that order. */
void folded_sort(struct folded *f);

/* Number of distinct stacks held. */
size_t folded_nstacks(const struct folded *f);

/* The count of stack i (i < folded_nstacks). */
uint64_t folded_stack_count(const struct folded *f, size_t i);

/* The names of stack i, root first, into names[0..max): returns the stack's depth (which
 * may exceed max: only max are written). The names belong to f. */
int folded_stack_frames(const struct folded *f, size_t i, const char **names, int max);

/* The reading and bounds counters of f. */
struct fold_stats folded_stats(const struct folded *f);

/* Append f as folded text, one "a;b;c COUNT\n" line per stack in the current order (call
 * folded_sort first for the canonical order). */
void folded_write(const struct folded *f, struct buf *out);

/* --- perf script ------------------------------------------------------------------- */

struct fold_perf;

/*
 * A parser of `perf script` text (its default fields) that adds each sample to f. A sample
 * is a header line "COMM PID[/TID] [CPU] TIME: [PERIOD] EVENT:" (COMM may hold spaces;
 * [CPU] and PERIOD are optional) followed by indented frame lines "ADDR SYMBOL+0xOFF (DSO)"
 * leaf first, then a blank line. The stack stored is root first: the comm (opts.with_comm),
 * then the frames with their +0xOFF cut; "[unknown]" stays "[unknown]". A header without
 * frame lines but with "ADDR SYMBOL (DSO)" after the event (perf record without -g) is a
 * one-frame stack. f must outlive the parser. Free with fold_perf_free().
 */
struct fold_perf *fold_perf_new(struct folded *f, const struct fold_opts *opts);

/* Feed the next len bytes of perf script output (any split: lines may span calls). */
void fold_perf_feed(struct fold_perf *p, const char *data, size_t len);

/* End of input: the last sample, even without its blank line, is added. */
void fold_perf_finish(struct fold_perf *p);

/* Release p (not its folded). Accepts NULL. */
void fold_perf_free(struct fold_perf *p);

/* fold_perf_new + feed(text) + finish + free in one call. */
void fold_perf_script(struct folded *f, const struct fold_opts *opts, const char *text, size_t len);

#endif
