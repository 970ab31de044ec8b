/* slo.c: SLO items and presets (slo.h). */
#include "util/slo.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

const char *const slo_preset_names[] = { "user-facing", "internal", "real-time", "background",
	                                 NULL };

/* The common SLO table: p95, p99 (ms) and availability (%) per kind of service. */
static const struct {
	const char *name;
	double p95_ms, p99_ms, availability;
} presets[] = {
	{ "user-facing", 200, 500, 99.9 },
	{ "internal", 100, 300, 99.5 },
	{ "real-time", 50, 100, 99.95 },
	{ "background", 5000, 10000, 99 },
};

/* A number in s[0..n) (strtod over a bounded copy); *end: chars used. */
static bool number(const char *s, size_t n, double *out, size_t *used)
{
	char tmp[32];
	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (!isdigit((unsigned char)tmp[0]) && tmp[0] != '.')
		return false;
	/* plain decimals only: digits and one point (no exponent, hex, inf or nan) */
	size_t k = 0;
	for (bool point = false;
	     k < n && (isdigit((unsigned char)tmp[k]) || (tmp[k] == '.' && !point)); k++)
		point = point || tmp[k] == '.';
	tmp[k] = '\0';
	char *end;
	double v = strtod(tmp, &end);
	if (end == tmp || !isfinite(v) || v < 0)
		return false;
	*out = v;
	*used = (size_t)(end - tmp);
	return true;
}

/* "200ms", "1.5s", "250us", "250µs", "1m" into ms; a bare number is refused (which unit?). */
static bool duration_ms(const char *s, size_t n, double *ms)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = { { "us", 0.001 }, { "\xc2\xb5s", 0.001 }, { "\xce\xbcs", 0.001 }, { "ms", 1 },
		      { "s", 1000 },   { "m", 60000 },         { "h", 3600000 } };
	double v;
	size_t used;
	if (!number(s, n, &v, &used))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		size_t ul = strlen(units[i].unit);
		if (n - used == ul && !memcmp(s + used, units[i].unit, ul)) {
			*ms = v * units[i].ms;
			return true;
		}
	}
	return false;
}

/* "0.1%" (a percentage) or "0.001" (a fraction) into a fraction. */
static bool fraction(const char *s, size_t n, double *out)
{
	double v;
	size_t used;
	if (!number(s, n, &v, &used))
		return false;
	if (used + 1 == n && s[used] == '%')
		v /= 100;
	else if (used != n)
		return false;
	if (v > 1)
		return false;
	*out = v;
	return true;
}

/* %g without float noise: 0.1 stays "0.1", not "0.09999999999999". */
static void fmt_num(char *buf, size_t len, double v)
{
	snprintf(buf, len, "%.10g", round(v * 1e9) / 1e9);
}

static void set_text(struct slo *s)
{
	char num[24];
	if (s->kind == SLO_LATENCY) {
		char stat[32];
		if (s->stat[0] == 'p' && s->stat[1] == '(') {
			fmt_num(num, sizeof(num), s->pct);
			snprintf(stat, sizeof(stat), "p%s", num);
		} else {
			snprintf(stat, sizeof(stat), "%s", s->stat);
		}
		/* seconds from 1 s on when that is exact to a millisecond (1.5s, 2s), else ms */
		if (s->value >= 1000 && fmod(s->value, 1) == 0) {
			fmt_num(num, sizeof(num), s->value / 1000);
			snprintf(s->text, sizeof(s->text), "%s%s%ss", stat, s->op, num);
		} else {
			fmt_num(num, sizeof(num), s->value);
			snprintf(s->text, sizeof(s->text), "%s%s%sms", stat, s->op, num);
		}
	} else {
		fmt_num(num, sizeof(num), s->value * 100);
		snprintf(s->text, sizeof(s->text), "errors%s%s%s", s->op, num, s->value ? "%" : "");
	}
}

/* One item, without spaces, in s[0..n). */
static int parse_item(const char *s, size_t n, struct slo *out, char *err, size_t errlen)
{
	size_t i = 0;
	while (i < n && s[i] != '<' && s[i] != '>' && s[i] != '=' && s[i] != '!')
		i++;
	if (i == 0 || i == n) {
		snprintf(err, errlen,
		         "'%.*s': expected STAT<VALUE, e.g. p95<200ms, avg<100ms, errors<0.1%%, "
		         "availability>=99.9%%",
		         (int)n, s);
		return -1;
	}
	size_t oplen = (i + 1 < n && s[i + 1] == '=') ? 2 : 1;
	char op[3] = { 0 };
	memcpy(op, s + i, oplen);
	const char *val = s + i + oplen;
	size_t vlen = n - i - oplen;
	struct slo o = { 0 };
	char name[24];
	if (i >= sizeof(name))
		goto bad_stat;
	memcpy(name, s, i);
	name[i] = '\0';

	if (!strcmp(name, "errors") || !strcmp(name, "error_rate") ||
	    !strcmp(name, "availability")) {
		bool avail = name[0] == 'a';
		double f;
		o.kind = SLO_ERRORS;
		snprintf(o.stat, sizeof(o.stat), "rate");
		if (!fraction(val, vlen, &f)) {
			snprintf(err, errlen, "'%.*s': %s takes a percentage such as %s", (int)n, s,
			         name, avail ? "99.9%" : "0.1% (or a fraction such as 0.001)");
			return -1;
		}
		if (avail) {
			if (strcmp(op, ">") && strcmp(op, ">=")) {
				snprintf(err, errlen,
				         "'%.*s': availability is a floor: use > or >=, e.g. "
				         "availability>=99.9%%",
				         (int)n, s);
				return -1;
			}
			/* availability >= A  <=>  errors <= 1 - A */
			snprintf(o.op, sizeof(o.op), "%s", op[1] ? "<=" : "<");
			o.value = round((1 - f) * 1e12) / 1e12;
		} else {
			if (strcmp(op, "<") && strcmp(op, "<=") && !(!strcmp(op, "==") && f == 0)) {
				snprintf(err, errlen,
				         "'%.*s': errors is a ceiling: use < or <= (or errors==0)",
				         (int)n, s);
				return -1;
			}
			snprintf(o.op, sizeof(o.op), "%s", op);
			o.value = f;
		}
		if (o.value > 0 && o.value < 1e-9) {
			snprintf(err, errlen,
			         "'%.*s': an error rate below 1e-7%% cannot be told from 0: use "
			         "errors==0",
			         (int)n, s);
			return -1;
		}
		if (!strcmp(o.op, "<") && o.value == 0) {
			snprintf(err, errlen, "'%.*s' can never be met: use errors==0", (int)n, s);
			return -1;
		}
		set_text(&o);
		*out = o;
		return 0;
	}

	o.kind = SLO_LATENCY;
	if (!strcmp(name, "avg") || !strcmp(name, "med") || !strcmp(name, "max")) {
		snprintf(o.stat, sizeof(o.stat), "%s", name);
	} else if (name[0] == 'p') {
		const char *p = name + 1;
		size_t pl = strlen(p);
		if (pl >= 2 && p[0] == '(' && p[pl - 1] == ')')
			p++, pl -= 2;
		double pct;
		size_t used;
		if (!number(p, pl, &pct, &used) || used != pl || pct < 0.001 || pct > 100)
			goto bad_stat;
		o.pct = pct;
		char num[24];
		fmt_num(num, sizeof(num), pct);
		snprintf(o.stat, sizeof(o.stat), "p(%s)", num);
	} else {
		goto bad_stat;
	}
	if (strcmp(op, "<") && strcmp(op, "<=")) {
		snprintf(err, errlen,
		         "'%.*s': a latency objective is a ceiling: use < or <=", (int)n, s);
		return -1;
	}
	snprintf(o.op, sizeof(o.op), "%s", op);
	if (!duration_ms(val, vlen, &o.value) || o.value <= 0) {
		snprintf(
		    err, errlen,
		    "'%.*s': the latency needs a unit and must be > 0, e.g. 200ms, 1.5s, 250us",
		    (int)n, s);
		return -1;
	}
	if (o.value < 0.001 || o.value > 3600000) { /* the latency histograms' range */
		snprintf(err, errlen, "'%.*s': a latency objective from 1us to 1h", (int)n, s);
		return -1;
	}
	set_text(&o);
	*out = o;
	return 0;

bad_stat:
	snprintf(err, errlen,
	         "'%.*s': unknown statistic '%.*s' (use p95, p(99.9), avg, med, max, errors or "
	         "availability)",
	         (int)n, s, (int)i, s);
	return -1;
}

static bool same_objective(const struct slo *a, const struct slo *b)
{
	return a->kind == b->kind && !strcmp(a->stat, b->stat);
}

/* Put item into set (replacing the same statistic); false when the set is full. */
static bool put(struct slo_set *set, const struct slo *item)
{
	for (int i = 0; i < set->n; i++) {
		if (same_objective(&set->item[i], item)) {
			set->item[i] = *item;
			return true;
		}
	}
	if (set->n >= SLO_MAX)
		return false;
	set->item[set->n++] = *item;
	return true;
}

/* A character of a number, a unit or a statistic's name. */
static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '%' || (unsigned char)c >= 0x80;
}

int slo_parse(const char *spec, struct slo_set *out, char *err, size_t errlen)
{
	struct slo_set set = *out;
	struct slo mine[SLO_MAX]; /* this spec's items, for duplicates within it */
	int given = 0;
	char item[64];
	const char *p = spec;
	bool any = false;

	for (;;) {
		size_t n = 0;
		bool toolong = false;
		const char *item_start = p;
		while (*p && *p != ',') {
			/* spaces may stand around the parts, not inside a number or a unit */
			if (isspace((unsigned char)*p) && n > 0 && word_char(item[n - 1])) {
				const char *q = p;
				while (isspace((unsigned char)*q))
					q++;
				if (word_char(*q)) {
					snprintf(
					    err, errlen,
					    "'%.*s': a space inside a number or a unit",
					    (int)MIN(strcspn(spec + (item_start - spec), ","), 40),
					    item_start);
					return -1;
				}
			}
			if (!isspace((unsigned char)*p)) {
				if (n + 1 < sizeof(item))
					item[n++] = *p;
				else
					toolong = true;
			}
			p++;
		}
		if (toolong) {
			snprintf(err, errlen, "'%.20s...': item too long", item);
			return -1;
		}
		if (n > 0) {
			struct slo s;
			if (parse_item(item, n, &s, err, errlen) < 0)
				return -1;
			for (int i = 0; i < given; i++)
				if (same_objective(&mine[i], &s)) { /* a preset's may be replaced */
					snprintf(err, errlen,
					         "'%s' and '%s' set the same objective: give one",
					         mine[i].text, s.text);
					return -1;
				}
			if (given < SLO_MAX)
				mine[given++] = s;
			if (!put(&set, &s)) {
				snprintf(err, errlen, "more than %d objectives", SLO_MAX);
				return -1;
			}
			any = true;
		}
		if (!*p)
			break;
		p++;
	}
	if (!any) {
		snprintf(err, errlen,
		         "no objective given (e.g. 'p95<200ms,p99<500ms,errors<0.1%%')");
		return -1;
	}
	*out = set;
	return 0;
}

int slo_preset(const char *name, struct slo_set *out, char *err, size_t errlen)
{
	for (size_t i = 0; i < ARRAY_SIZE(presets); i++) {
		if (strcmp(name, presets[i].name))
			continue;
		char spec[128], num[3][24];
		fmt_num(num[0], sizeof(num[0]), presets[i].p95_ms);
		fmt_num(num[1], sizeof(num[1]), presets[i].p99_ms);
		fmt_num(num[2], sizeof(num[2]), presets[i].availability);
		snprintf(spec, sizeof(spec), "p95<%sms,p99<%sms,availability>=%s%%", num[0], num[1],
		         num[2]);
		struct slo_set set = { 0 };
		if (slo_parse(spec, &set, err, errlen) < 0)
			return -1; /* cannot happen: the table is ours */
		snprintf(set.preset, sizeof(set.preset), "%s", name);
		*out = set;
		return 0;
	}
	snprintf(err, errlen,
	         "unknown SLO preset '%s' (use user-facing, internal, real-time or "
	         "background)",
	         name);
	return -1;
}

void slo_threshold(const struct slo *s, char *buf, size_t len)
{
	char num[32];
	if (s->kind == SLO_LATENCY) {
		fmt_num(num, sizeof(num), s->value);
		snprintf(buf, len, "http_req_duration: %s%s%s", s->stat, s->op, num);
	} else {
		fmt_num(num, sizeof(num), s->value);
		snprintf(buf, len, "http_req_failed: rate%s%s", s->op, num);
	}
}

bool slo_met(const struct slo *s, double value)
{
	if (isnan(value))
		return false;
	if (!strcmp(s->op, "<"))
		return value < s->value;
	if (!strcmp(s->op, "<="))
		return value <= s->value;
	return value == s->value; /* "==" */
}
