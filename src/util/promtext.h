/*
 * promtext.h: a parser for the Prometheus text exposition format 0.0.4 (and the OpenMetrics
 * text a Prometheus endpoint commonly serves), for `--scrape URL` (issue #12).
 *
 * Source: prometheus.io/docs/instrumenting/exposition_formats ("Text format details"), and
 * where the page is loose, the reference parser it names (prometheus/common expfmt's
 * TextParser, which `promtool check metrics` runs). The grammar, per line:
 *
 *   blank line                        ignored (only blanks and tabs)
 *   # HELP name docstring             escapes \\ and \n only; one HELP per name
 *   # TYPE name counter|gauge|histogram|summary|untyped   (case-insensitive); one TYPE per
 *                                     name, before that name's first sample
 *   # anything else                   a comment (so OpenMetrics' "# UNIT name unit" is read
 *                                     as the family's unit, and "# EOF" ends the body)
 *   name [ "{" lname "=" "\"" lvalue "\"" { "," lname ... } [","] "}" ] value [ timestamp ]
 *
 *   name   [a-zA-Z_:][a-zA-Z0-9_:]*    lname [a-zA-Z_][a-zA-Z0-9_]*, not __name__, no repeat
 *   lvalue UTF-8; escapes \\ \" \n only
 *   value  Go's strconv.ParseFloat without hex: [+-]digits[.digits][e[+-]digits], .5, 5.,
 *          Inf / +Inf / -Inf / Infinity and NaN in any case (no sign on NaN); out of range
 *          (1e400) is an error, underflow (1e-400) is 0
 *   timestamp  int64 milliseconds, [+-]digits
 *
 * Samples belong to the family named by their name, else (as expfmt does) to the summary or
 * histogram family x of x_sum / x_count / x_bucket, else (OpenMetrics) to the counter family
 * x of x_total / x_created or the summary/histogram x of x_created; else they start an
 * untyped family of their own. "If there is no TYPE line for a metric name, the type is set
 * to untyped" (the spec): a name ending in _total without TYPE stays PROMTEXT_UNTYPED, and
 * promtext_family_is_counter() says whether to treat it as a counter (the naming convention).
 *
 * Modes. PROMTEXT_STRICT accepts exactly what promtool accepts as parseable (lint warnings
 * aside): so, like expfmt, it rejects a missing final line feed, CR before LF, whitespace
 * after the value or timestamp, and a TYPE of "counter " (the rest of the line is the type).
 * It stops at the first bad line with its number and a short reason. PROMTEXT_LENIENT (the
 * scraper's) strips CR and trailing blanks of each line, accepts a last line without LF, the
 * OpenMetrics type "unknown" (as untyped) and exemplars (" # {...} v" after the value or
 * timestamp: ignored), and skips each bad line, counting it. OpenMetrics' float timestamps
 * (seconds) are not read: such a line is bad.
 * Deliberate differences from promtool in both modes: "# EOF" ends the body (OpenMetrics;
 * promtool reads on), a line with more than PROMTEXT_LINE_LABELS labels is bad, and past
 * PROMTEXT_MAX_FAMILIES families the per-family checks (second HELP/TYPE) are not made for
 * the families not stored.
 *
 * Bounds: a body of at most PROMTEXT_MAX_BODY bytes; at most PROMTEXT_MAX_FAMILIES families,
 * PROMTEXT_MAX_SAMPLES samples and PROMTEXT_MAX_LABELS label pairs stored (past them: counted,
 * not stored, and `truncated` set; the families' sums still include every sample of a stored
 * family). Memory: the sample and label arrays grow to those caps at most, and a text arena
 * of 2 * body length + 16 bytes holds every string; all are kept for the next parse, so a
 * scraper that reuses one struct promtext allocates nothing once warm. Nothing is allocated
 * per sample.
 */
#ifndef STAMPEDE_PROMTEXT_H
#define STAMPEDE_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROMTEXT_MAX_BODY     (16u << 20) /* bytes */
#define PROMTEXT_MAX_FAMILIES 256
#define PROMTEXT_MAX_SAMPLES  10000
#define PROMTEXT_MAX_LABELS   (8 * PROMTEXT_MAX_SAMPLES) /* label pairs over all samples */
#define PROMTEXT_LINE_LABELS  256                        /* labels on one line */

struct promtext_pending;

enum promtext_mode { PROMTEXT_STRICT, PROMTEXT_LENIENT };

enum promtext_type {
	PROMTEXT_UNTYPED,
	PROMTEXT_COUNTER,
	PROMTEXT_GAUGE,
	PROMTEXT_HISTOGRAM,
	PROMTEXT_SUMMARY,
};

/* What a sample's name adds to its family's name. */
enum promtext_suffix {
	PROMTEXT_SFX_NONE,    /* the family's name: a counter, gauge, untyped value or a quantile */
	PROMTEXT_SFX_TOTAL,   /* _total of a counter family x (OpenMetrics) */
	PROMTEXT_SFX_SUM,     /* _sum of a histogram or summary */
	PROMTEXT_SFX_COUNT,   /* _count of a histogram or summary */
	PROMTEXT_SFX_BUCKET,  /* _bucket of a histogram */
	PROMTEXT_SFX_CREATED, /* _created (OpenMetrics): a start time, never summed */
};

struct promtext_label {
	const char *name;
	const char *value; /* unescaped */
};

struct promtext_sample {
	const char *name;            /* as written, e.g. "http_requests_total" */
	int family;                  /* index into families */
	enum promtext_suffix suffix; /* relative to the family's name */
	uint32_t label0;             /* first label in promtext.labels */
	uint32_t nlabels;            /* le and quantile included, in the order written */
	double value;
	bool has_ts;
	int64_t ts_ms; /* milliseconds since the epoch, when has_ts */
	uint32_t line; /* 1-based line number in the body */
};

struct promtext_family {
	const char *name;
	const char *help; /* unescaped, or NULL without a HELP line */
	const char *unit; /* OpenMetrics "# UNIT", or NULL */
	enum promtext_type type;
	bool typed; /* a TYPE line named the type (else untyped by default) */
	/* Sums over every label set, NaN values left out (counted in nnan):
	 * value: counter, gauge, untyped: the samples named x (and x_total for a counter);
	 * sum, count: histogram and summary: the x_sum and x_count samples. */
	double value;
	double sum;
	double count;
	uint32_t nseries;  /* samples that add to value (counter/gauge/untyped) or to count */
	uint32_t nsamples; /* every sample of the family */
	uint32_t nnan;     /* samples whose value was NaN */
};

/* The result of one parse (about 20 KiB itself: keep it off small stacks). Read the fields;
 * write them only through these functions. */
struct promtext {
	struct promtext_family families[PROMTEXT_MAX_FAMILIES];
	int nfamilies;
	struct promtext_sample *samples; /* nsamples stored, in body order */
	uint32_t nsamples;
	struct promtext_label *labels; /* shared by the samples: label0 .. label0 + nlabels */
	uint32_t nlabels;
	uint64_t lines;            /* lines read (up to "# EOF" when there is one) */
	uint64_t samples_total;    /* sample lines accepted, stored or not */
	uint64_t families_dropped; /* lines that would have started a family past the cap */
	uint64_t families_lost;    /* their names, a run of lines of one name counted once (a
	                            * family's HELP, TYPE and samples are consecutive) */
	uint64_t samples_dropped;  /* accepted samples not stored: a cap was reached */
	uint64_t bad_lines;        /* lenient mode: lines skipped */
	bool truncated;            /* something was counted but not stored */
	bool eof_marker;           /* the body ended with OpenMetrics' "# EOF" */
	uint32_t err_line;         /* strict error (or the first bad line in lenient): 1-based */
	char err[160];             /* "line N: reason", or "" */
	/* private: storage reused across parses */
	char *arena;
	size_t arena_cap, arena_len;
	const char *lost_name; /* the last name past the family cap (in the body), and ... */
	size_t lost_len;       /* ... its length */
	uint32_t samples_cap, labels_cap;
	int16_t index[2 * PROMTEXT_MAX_FAMILIES]; /* open addressing: family index + 1, or 0 */
	struct promtext_pending *pending;         /* the line being read */
};

/* Make p empty and ready for promtext_parse(); no allocation yet. */
void promtext_init(struct promtext *p);

/* Parse body[0..len) into p, replacing what p held (strings from the previous parse are
 * invalid afterwards). Returns 0; -EFBIG when len > PROMTEXT_MAX_BODY (p is left empty);
 * -EINVAL in strict mode at the first malformed line (p->err_line, p->err say which and why;
 * what came before it is in p). In lenient mode bad lines are skipped and counted in
 * p->bad_lines (p->err names the first), and the result is 0. The body need not be
 * NUL-terminated; a NUL in a label value or HELP ends the stored string there. */
int promtext_parse(struct promtext *p, const char *body, size_t len, enum promtext_mode mode);

/* Free what p holds and make it empty (p itself is the caller's). Accepts NULL. */
void promtext_free(struct promtext *p);

/* The stored family of that exact name, or NULL. */
const struct promtext_family *promtext_find(const struct promtext *p, const char *name);

/* The labels of sample s (s->nlabels of them). */
const struct promtext_label *promtext_sample_labels(const struct promtext *p,
                                                    const struct promtext_sample *s);

/* The value of label name on sample s, or NULL. */
const char *promtext_label_value(const struct promtext *p, const struct promtext_sample *s,
                                 const char *name);

/* Whether the family counts up (so a scraper turns it into a rate): TYPE counter, or untyped
 * with a name ending in "_total" (the naming convention for counters; the type itself stays
 * untyped, as the spec says). */
bool promtext_family_is_counter(const struct promtext_family *f);

/* "counter", "gauge", "histogram", "summary", "untyped". */
const char *promtext_type_name(enum promtext_type t);

#endif
