/* promtext.c: the Prometheus text exposition format 0.0.4 parser (grammar in promtext.h). */
#include "util/promtext.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/common.h"
#include "util/escape.h"

#define VALUE_MAX 1024 /* bytes in one value token (strtod needs a NUL-terminated copy) */

struct span {
	const char *p;
	size_t n;
};

/* One line being read: the cursor c moves from the line's start to e. */
struct cur {
	const char *c, *e;
};

/* A sample line, read and checked before anything in the result changes. */
struct promtext_pending {
	struct span name;
	int family; /* index, or -1: a new family */
	enum promtext_suffix suffix;
	uint32_t nlabels;
	struct span lname[PROMTEXT_LINE_LABELS], lvalue[PROMTEXT_LINE_LABELS];
	double value;
	bool has_ts;
	int64_t ts_ms;
	const char *line0; /* the line's first byte, for columns in messages */
	char why[96];      /* a message built for this line */
};

static const char *const type_names[] = { "untyped", "counter", "gauge", "histogram", "summary" };

const char *promtext_type_name(enum promtext_type t)
{
	return (unsigned)t < ARRAY_SIZE(type_names) ? type_names[t] : "untyped";
}

void promtext_init(struct promtext *p)
{
	memset(p, 0, sizeof(*p));
}

void promtext_free(struct promtext *p)
{
	if (!p)
		return;
	free(p->arena);
	free(p->samples);
	free(p->labels);
	free(p->pending);
	promtext_init(p);
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool is_name_start(char ch, bool metric)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
	       (metric && ch == ':');
}

static bool is_name_char(char ch, bool metric)
{
	return is_name_start(ch, metric) || (ch >= '0' && ch <= '9');
}

static void skip_blank(struct cur *k)
{
	while (k->c < k->e && is_blank(*k->c))
		k->c++;
}

static bool at_eol(const struct cur *k)
{
	return k->c >= k->e;
}

/* A metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or label name (no ':') at the cursor; may be
 * empty. */
static struct span read_name(struct cur *k, bool metric)
{
	struct span s = { k->c, 0 };

	if (k->c < k->e && is_name_start(*k->c, metric))
		while (k->c < k->e && is_name_char(*k->c, metric))
			k->c++;
	s.n = (size_t)(k->c - s.p);
	return s;
}

/* The token from the cursor to the next blank, tab or the end of the line. */
static struct span read_token(struct cur *k)
{
	struct span s = { k->c, 0 };

	while (k->c < k->e && !is_blank(*k->c))
		k->c++;
	s.n = (size_t)(k->c - s.p);
	return s;
}

static bool span_is(struct span s, const char *lit)
{
	return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

static bool span_is_nocase(struct span s, const char *lit)
{
	return s.n == strlen(lit) && strncasecmp(s.p, lit, s.n) == 0;
}

static bool span_ends(struct span s, const char *sfx)
{
	size_t n = strlen(sfx);
	return s.n > n && memcmp(s.p + s.n - n, sfx, n) == 0;
}

/* A float as Go's strconv.ParseFloat reads it, without hexadecimal forms (expfmt refuses
 * 'p' and '_', and a hexadecimal mantissa needs 'p'). Overflow is an error, underflow 0. */
static bool parse_value(struct span s, double *out)
{
	size_t i = 0, digits = 0;
	bool sign = s.n > 0 && (s.p[0] == '+' || s.p[0] == '-');
	struct span rest = { s.p + sign, s.n - sign };
	char buf[VALUE_MAX];

	if (span_is_nocase(rest, "inf") || span_is_nocase(rest, "infinity")) {
		*out = s.p[0] == '-' ? -INFINITY : INFINITY;
		return true;
	}
	if (!sign && span_is_nocase(s, "nan")) {
		*out = NAN;
		return true;
	}
	i = sign;
	for (; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++)
		digits++;
	if (i < s.n && s.p[i] == '.')
		for (i++; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return false;
	if (i < s.n && (s.p[i] == 'e' || s.p[i] == 'E')) {
		size_t expdigits = 0;
		i++;
		if (i < s.n && (s.p[i] == '+' || s.p[i] == '-'))
			i++;
		for (; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++)
			expdigits++;
		if (expdigits == 0)
			return false;
	}
	if (i != s.n || s.n >= sizeof(buf))
		return false;
	memcpy(buf, s.p, s.n);
	buf[s.n] = 0;
	errno = 0;
	*out = strtod(buf, NULL);
	return !(errno == ERANGE && isinf(*out));
}

/* An int64 in base 10 with an optional sign (Go's strconv.ParseInt(s, 10, 64)). */
static bool parse_ts(struct span s, int64_t *out)
{
	size_t i = s.n > 0 && (s.p[0] == '+' || s.p[0] == '-');
	bool neg = s.n > 0 && s.p[0] == '-';
	uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;

	if (i == s.n)
		return false;
	for (; i < s.n; i++) {
		unsigned d = (unsigned char)s.p[i] - '0';
		if (d > 9 || v > (lim - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static uint32_t hash_name(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* The slot of name in p->index: where it is, or the empty slot where it would go. */
static size_t index_slot(const struct promtext *p, const char *s, size_t n)
{
	size_t mask = ARRAY_SIZE(p->index) - 1;
	size_t i = hash_name(s, n) & mask;

	while (p->index[i]) {
		const char *name = p->families[p->index[i] - 1].name;
		if (strncmp(name, s, n) == 0 && name[n] == 0)
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static int lookup(const struct promtext *p, const char *s, size_t n)
{
	return p->index[index_slot(p, s, n)] - 1;
}

const struct promtext_family *promtext_find(const struct promtext *p, const char *name)
{
	int i = lookup(p, name, strlen(name));
	return i >= 0 ? &p->families[i] : NULL;
}

static bool family_has_type(const struct promtext_family *f)
{
	return f->typed || f->nsamples > 0;
}

/* The family a name belongs to, as expfmt's setOrCreateCurrentMF finds it (exact name, then
 * the summary or histogram x of x_sum, x_count, x_bucket), then for sample lines (om) the
 * OpenMetrics counter x of x_total / x_created and the x_created of a summary or histogram.
 * Returns the index, or -1 when the name starts a family of its own. */
static int resolve(const struct promtext *p, struct span name, bool om, enum promtext_suffix *sfx)
{
	static const struct {
		const char *text;
		enum promtext_suffix sfx;
		bool om;
	} suffixes[] = {
		{ "_sum", PROMTEXT_SFX_SUM, false },        { "_count", PROMTEXT_SFX_COUNT, false },
		{ "_bucket", PROMTEXT_SFX_BUCKET, false },  { "_total", PROMTEXT_SFX_TOTAL, true },
		{ "_created", PROMTEXT_SFX_CREATED, true },
	};
	int i = lookup(p, name.p, name.n);

	*sfx = PROMTEXT_SFX_NONE;
	if (i >= 0)
		return i;
	for (size_t k = 0; k < ARRAY_SIZE(suffixes); k++) {
		enum promtext_type t;
		if ((suffixes[k].om && !om) || !span_ends(name, suffixes[k].text))
			continue;
		i = lookup(p, name.p, name.n - strlen(suffixes[k].text));
		if (i < 0)
			return -1;
		t = p->families[i].type;
		if (!p->families[i].typed)
			return -1;
		switch (suffixes[k].sfx) {
		case PROMTEXT_SFX_SUM:
		case PROMTEXT_SFX_COUNT:
			if (t == PROMTEXT_SUMMARY || t == PROMTEXT_HISTOGRAM)
				break;
			return -1;
		case PROMTEXT_SFX_BUCKET:
			if (t == PROMTEXT_HISTOGRAM)
				break;
			return -1;
		case PROMTEXT_SFX_TOTAL:
			if (t == PROMTEXT_COUNTER)
				break;
			return -1;
		default:
			if (t == PROMTEXT_COUNTER || t == PROMTEXT_SUMMARY ||
			    t == PROMTEXT_HISTOGRAM)
				break;
			return -1;
		}
		*sfx = suffixes[k].sfx;
		return i;
	}
	return -1;
}

/* A copy of s (unescaping \\, \n and, for label values, \") in the arena, or NULL when the
 * arena is full (it is sized so that it never is). The escapes were checked before. */
static const char *arena_put(struct promtext *p, struct span s, bool unescape)
{
	char *out, *o;

	if (p->arena_len + s.n + 1 > p->arena_cap)
		return NULL;
	out = o = p->arena + p->arena_len;
	for (size_t i = 0; i < s.n; i++) {
		char ch = s.p[i];
		if (unescape && ch == '\\' && i + 1 < s.n) {
			ch = s.p[++i];
			if (ch == 'n')
				ch = '\n';
		}
		*o++ = ch;
	}
	*o++ = 0;
	p->arena_len = (size_t)(o - p->arena);
	return out;
}

/* A new family named name (untyped), or -1 past the cap (counted). */
static int family_new(struct promtext *p, struct span name)
{
	size_t slot = index_slot(p, name.p, name.n);
	struct promtext_family *f;

	if (p->nfamilies >= PROMTEXT_MAX_FAMILIES) {
		p->families_dropped++;
		if (name.n != p->lost_len || memcmp(name.p, p->lost_name, name.n) != 0)
			p->families_lost++;
		p->lost_name = name.p;
		p->lost_len = name.n;
		p->truncated = true;
		return -1;
	}
	f = &p->families[p->nfamilies];
	memset(f, 0, sizeof(*f));
	f->name = arena_put(p, name, false);
	if (!f->name) {
		p->families_dropped++;
		p->truncated = true;
		return -1;
	}
	p->index[slot] = (int16_t)(p->nfamilies + 1);
	return p->nfamilies++;
}

/* Escapes in HELP text (\\ and \n) or label values (also \"): the reason when bad. */
static const char *check_escapes(struct span s, bool quote)
{
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] != '\\')
			continue;
		if (i + 1 == s.n)
			return "invalid escape sequence: '\\' at the end of the line";
		i++;
		if (s.p[i] != '\\' && s.p[i] != 'n' && !(quote && s.p[i] == '"'))
			return "invalid escape sequence";
	}
	return NULL;
}

static bool valid_utf8(struct span s)
{
	/* s is followed by its closing quote, so utf8_seq_len never reads past the body */
	for (size_t i = 0; i < s.n;) {
		int n = utf8_seq_len((const unsigned char *)s.p + i);
		if (n == 0 || i + (size_t)n > s.n)
			return false;
		i += (size_t)n;
	}
	return true;
}

/* The quoted label value at the cursor (on its opening quote): the span inside the quotes. */
static const char *read_label_value(struct cur *k, struct span *v)
{
	const char *q = ++k->c;

	while (k->c < k->e && *k->c != '"')
		k->c += *k->c == '\\' && k->c + 1 < k->e ? 2 : 1;
	if (k->c >= k->e)
		return "label value without its closing quote";
	v->p = q;
	v->n = (size_t)(k->c - q);
	k->c++;
	if (check_escapes(*v, true))
		return "invalid escape sequence in label value";
	if (!valid_utf8(*v))
		return "label value is not UTF-8";
	return NULL;
}

/* The label set at the cursor (on '{'), into s; the cursor ends after the '}'. */
static const char *read_labels(struct cur *k, enum promtext_type t, struct promtext_pending *s)
{
	k->c++;
	for (;;) {
		struct span name, value;
		const char *why;
		double f;

		skip_blank(k);
		if (!at_eol(k) && *k->c == '}') {
			k->c++;
			return NULL;
		}
		name = read_name(k, false);
		if (name.n == 0)
			return "invalid label name";
		skip_blank(k);
		if (at_eol(k) || *k->c != '=')
			return "expected '=' after label name";
		k->c++;
		if (span_is(name, "__name__"))
			return "label name \"__name__\" is reserved";
		bool special = (t == PROMTEXT_SUMMARY && span_is(name, "quantile")) ||
		               (t == PROMTEXT_HISTOGRAM && span_is(name, "le"));
		for (uint32_t i = 0; i < s->nlabels && !special; i++)
			if (s->lname[i].n == name.n && !memcmp(s->lname[i].p, name.p, name.n))
				return "duplicate label name";
		if (s->nlabels == PROMTEXT_LINE_LABELS)
			return "more labels than a line may have (256)";
		skip_blank(k);
		if (at_eol(k) || *k->c != '"')
			return "expected '\"' at the start of the label value";
		why = read_label_value(k, &value);
		if (why)
			return why;
		if (special && (check_escapes(value, false) || !parse_value(value, &f)))
			return t == PROMTEXT_SUMMARY
			           ? "expected a float as the quantile label's value"
			           : "expected a float as the le label's value";
		s->lname[s->nlabels] = name;
		s->lvalue[s->nlabels++] = value;
		skip_blank(k);
		if (!at_eol(k) && *k->c == ',') {
			k->c++;
			continue;
		}
		if (!at_eol(k) && *k->c == '}') {
			k->c++;
			return NULL;
		}
		return "expected ',' or '}' after the label value";
	}
}

/* A sample line (the cursor on its name), checked whole into s. */
static const char *read_sample(const struct promtext *p, struct cur *k, struct promtext_pending *s,
                               bool lenient)
{
	struct span tok;
	const char *why;
	enum promtext_type t;

	s->name = read_name(k, true);
	if (s->name.n == 0)
		return "invalid metric name";
	s->family = resolve(p, s->name, true, &s->suffix);
	t = s->family >= 0 ? p->families[s->family].type : PROMTEXT_UNTYPED;
	s->nlabels = 0;
	skip_blank(k);
	if (!at_eol(k) && *k->c == '{') {
		if ((why = read_labels(k, t, s)))
			return why;
		skip_blank(k);
	}
	tok = read_token(k);
	if (!parse_value(tok, &s->value)) {
		if (tok.p != s->name.p + s->name.n)
			return "expected a float as the value";
		/* the token starts at the name's end ("a+1" is a value right after the name, as
		 * expfmt reads it): "café 1" or "a-b 1" is a name with a byte no name may hold,
		 * so say that, and where, rather than blame the value */
		snprintf(s->why, sizeof(s->why),
		         "invalid character in the metric name at column %zu",
		         (size_t)(tok.p - s->line0) + 1);
		return s->why;
	}
	s->has_ts = false;
	if (at_eol(k))
		return NULL;
	skip_blank(k);
	if (lenient && !at_eol(k) && *k->c == '#')
		return NULL; /* an OpenMetrics exemplar: " # {labels} value [ts]", ignored */
	tok = read_token(k);
	if (!parse_ts(tok, &s->ts_ms))
		return "expected an integer (ms) as the timestamp";
	s->has_ts = true;
	skip_blank(k);
	if (lenient && !at_eol(k) && *k->c == '#')
		return NULL;
	if (k->c != tok.p + tok.n || !at_eol(k)) /* strict: not even a blank */
		return "spurious text after the timestamp";
	return NULL;
}

/* Room for need elements in *arr (capacity *cap, at most max, first allocation first). */
static bool reserve(void **arr, uint32_t *cap, uint32_t need, uint32_t max, size_t elem,
                    uint32_t first)
{
	uint32_t n = *cap ? *cap : first;

	if (need <= *cap)
		return true;
	if (need > max)
		return false;
	while (n < need)
		n *= 2;
	n = MIN(n, max);
	*arr = xrealloc(*arr, n * elem);
	*cap = n;
	return true;
}

/* Store sample s (room allowing) in family f's arrays. */
static void store_sample(struct promtext *p, const struct promtext_pending *s, int family,
                         uint32_t line)
{
	struct promtext_sample *o;

	if (!reserve((void **)&p->samples, &p->samples_cap, p->nsamples + 1, PROMTEXT_MAX_SAMPLES,
	             sizeof(*p->samples), 256) ||
	    !reserve((void **)&p->labels, &p->labels_cap, p->nlabels + s->nlabels,
	             PROMTEXT_MAX_LABELS, sizeof(*p->labels), 1024)) {
		p->samples_dropped++;
		p->truncated = true;
		return;
	}
	o = &p->samples[p->nsamples];
	o->name = arena_put(p, s->name, false);
	o->family = family;
	o->suffix = s->suffix;
	o->label0 = p->nlabels;
	o->nlabels = s->nlabels;
	o->value = s->value;
	o->has_ts = s->has_ts;
	o->ts_ms = s->has_ts ? s->ts_ms : 0;
	o->line = line;
	for (uint32_t i = 0; i < s->nlabels; i++) {
		p->labels[p->nlabels + i].name = arena_put(p, s->lname[i], false);
		p->labels[p->nlabels + i].value = arena_put(p, s->lvalue[i], true);
	}
	p->nlabels += s->nlabels;
	p->nsamples++;
}

/* Add an accepted sample line to its family's sums and store it. */
static void commit_sample(struct promtext *p, const struct promtext_pending *s, uint32_t line)
{
	int fi = s->family >= 0 ? s->family : family_new(p, s->name);
	struct promtext_family *f;
	bool nan = isnan(s->value);

	p->samples_total++;
	if (fi < 0) {
		p->samples_dropped++;
		return;
	}
	f = &p->families[fi];
	f->nsamples++;
	f->nnan += nan;
	switch (s->suffix) {
	case PROMTEXT_SFX_NONE:
		if (f->type == PROMTEXT_HISTOGRAM || f->type == PROMTEXT_SUMMARY)
			break;
		/* fall through */
	case PROMTEXT_SFX_TOTAL:
		f->nseries++;
		f->value += nan ? 0 : s->value;
		break;
	case PROMTEXT_SFX_SUM:
		f->sum += nan ? 0 : s->value;
		break;
	case PROMTEXT_SFX_COUNT:
		f->nseries++;
		f->count += nan ? 0 : s->value;
		break;
	default:
		break;
	}
	store_sample(p, s, fi, line);
}

/* "# HELP name text" or "# TYPE name type", the cursor after the keyword. */
static const char *read_meta(struct promtext *p, struct cur *k, bool help, enum promtext_mode mode)
{
	static const char *const types[] = { "untyped", "counter", "gauge", "histogram",
		                             "summary" };
	enum promtext_suffix sfx;
	struct span name, rest;
	int fi, type = -1;
	const char *why;

	skip_blank(k);
	name = read_name(k, true);
	if (at_eol(k))
		return NULL; /* "# HELP" or "# HELP name" alone: not an error (expfmt) */
	if (!is_blank(*k->c))
		return "invalid metric name in comment";
	fi = resolve(p, name, false, &sfx);
	skip_blank(k);
	if (at_eol(k))
		return NULL;
	rest = (struct span){ k->c, (size_t)(k->e - k->c) };
	if (help) {
		if (fi >= 0 && p->families[fi].help)
			return "second HELP line for this metric name";
		if ((why = check_escapes(rest, false)))
			return why;
	} else {
		if (fi >= 0 && family_has_type(&p->families[fi]))
			return "second TYPE line for this metric name, or TYPE after its samples";
		for (size_t i = 0; i < ARRAY_SIZE(types); i++)
			if (span_is_nocase(rest, types[i]))
				type = (int)i;
		if (type < 0 && mode == PROMTEXT_LENIENT && span_is_nocase(rest, "unknown"))
			type = PROMTEXT_UNTYPED;
		if (type < 0)
			return "unknown metric type";
	}
	if (fi < 0 && (fi = family_new(p, name)) < 0)
		return NULL;
	if (help) {
		p->families[fi].help = arena_put(p, rest, true);
	} else {
		p->families[fi].type = (enum promtext_type)type;
		p->families[fi].typed = true;
	}
	return NULL;
}

/* "# UNIT name unit" (OpenMetrics): kept when well-formed, else a comment like any other. */
static void read_unit(struct promtext *p, struct cur *k)
{
	enum promtext_suffix sfx;
	struct span name, unit;
	int fi;

	skip_blank(k);
	name = read_name(k, true);
	if (name.n == 0 || at_eol(k) || !is_blank(*k->c))
		return;
	skip_blank(k);
	unit = read_token(k);
	if (unit.n == 0 || !at_eol(k))
		return;
	fi = resolve(p, name, false, &sfx);
	if (fi < 0)
		fi = family_new(p, name);
	if (fi >= 0 && !p->families[fi].unit)
		p->families[fi].unit = arena_put(p, unit, false);
}

/* A comment line, the cursor after '#'. Sets *eof on OpenMetrics' "# EOF". */
static const char *read_comment(struct promtext *p, struct cur *k, enum promtext_mode mode,
                                bool *eof)
{
	struct span kw;

	skip_blank(k);
	kw = read_token(k);
	if (span_is(kw, "EOF")) {
		skip_blank(k);
		*eof = at_eol(k);
		return NULL;
	}
	if (at_eol(k))
		return NULL;
	if (span_is(kw, "HELP") || span_is(kw, "TYPE"))
		return read_meta(p, k, span_is(kw, "HELP"), mode);
	if (span_is(kw, "UNIT"))
		read_unit(p, k);
	return NULL;
}

static void set_error(struct promtext *p, uint32_t line, const char *why, struct span name)
{
	p->err_line = line;
	if (name.n)
		snprintf(p->err, sizeof(p->err), "line %u: %s (%.*s)", line, why,
		         (int)MIN(name.n, 48), name.p);
	else
		snprintf(p->err, sizeof(p->err), "line %u: %s", line, why);
}

static void reset(struct promtext *p, size_t len)
{
	size_t need = 2 * len + 16;

	if (p->arena_cap < need) {
		free(p->arena);
		p->arena = xmalloc(need);
		p->arena_cap = need;
	}
	p->arena_len = 0;
	p->nfamilies = 0;
	p->nsamples = p->nlabels = 0;
	p->lines = p->samples_total = p->families_dropped = p->samples_dropped = 0;
	p->families_lost = 0;
	p->lost_name = NULL;
	p->lost_len = 0;
	p->bad_lines = 0;
	p->truncated = p->eof_marker = false;
	p->err_line = 0;
	p->err[0] = 0;
	memset(p->index, 0, sizeof(p->index));
}

int promtext_parse(struct promtext *p, const char *body, size_t len, enum promtext_mode mode)
{
	const char *at = body, *end = body + len;
	struct promtext_pending *s;
	int rc = 0;

	if (len > PROMTEXT_MAX_BODY) {
		reset(p, 0);
		snprintf(p->err, sizeof(p->err), "body of %zu bytes is over the %u-byte cap", len,
		         PROMTEXT_MAX_BODY);
		return -EFBIG;
	}
	reset(p, len);
	if (!p->pending)
		p->pending = xmalloc(sizeof(*p->pending)); /* 8 KiB of label spans, kept */
	s = p->pending;
	while (at < end && !p->eof_marker) {
		const char *nl = memchr(at, '\n', (size_t)(end - at));
		struct cur k = { at, nl ? nl : end };
		uint32_t line = (uint32_t)++p->lines;
		const char *why = NULL;

		s->line0 = at;

		at = nl ? nl + 1 : end;
		if (mode == PROMTEXT_LENIENT)
			while (k.e > k.c && (is_blank(k.e[-1]) || k.e[-1] == '\r'))
				k.e--;
		skip_blank(&k);
		if (at_eol(&k))
			continue;
		s->name = (struct span){ NULL, 0 };
		if (!nl && mode == PROMTEXT_STRICT) {
			why = "the last line does not end with a line feed";
		} else if (*k.c == '#') {
			k.c++;
			why = read_comment(p, &k, mode, &p->eof_marker);
		} else {
			why = read_sample(p, &k, s, mode == PROMTEXT_LENIENT);
			if (!why)
				commit_sample(p, s, line);
		}
		if (!why)
			continue;
		if (!p->err_line)
			set_error(p, line, why, s->name);
		if (mode == PROMTEXT_STRICT) {
			rc = -EINVAL;
			break;
		}
		p->bad_lines++;
	}
	return rc;
}

const struct promtext_label *promtext_sample_labels(const struct promtext *p,
                                                    const struct promtext_sample *s)
{
	return p->labels + s->label0;
}

const char *promtext_label_value(const struct promtext *p, const struct promtext_sample *s,
                                 const char *name)
{
	const struct promtext_label *l = promtext_sample_labels(p, s);

	for (uint32_t i = 0; i < s->nlabels; i++)
		if (strcmp(l[i].name, name) == 0)
			return l[i].value;
	return NULL;
}

bool promtext_family_is_counter(const struct promtext_family *f)
{
	size_t n = strlen(f->name);

	return f->type == PROMTEXT_COUNTER || (f->type == PROMTEXT_UNTYPED && !f->typed && n > 6 &&
	                                       strcmp(f->name + n - 6, "_total") == 0);
}
