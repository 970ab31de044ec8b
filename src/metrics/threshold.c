/* threshold.c: parse, type-check and evaluate k6 threshold expressions and metric selectors. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/threshold.h"
#include "util/common.h"

/* Room for the reason a parse failed; the caller's spec is added around it by thr_report(). */
#define THR_WHY_MAX 512
/* Room for a number printed by thr_fmt_num() ("-1.2345678901234567e-300"). */
#define THR_NUM_MAX 32

static const char *const thr_op_names[] = {
	[THR_LT] = "<",  [THR_LE] = "<=", [THR_GT] = ">",
	[THR_GE] = ">=", [THR_EQ] = "==", [THR_NE] = "!=",
};

/* Named aggregations; p(N) is parsed separately. */
static const struct {
	const char *name;
	enum thr_agg agg;
} thr_aggs[] = {
	{ "avg", THR_AVG },     { "min", THR_MIN },
	{ "max", THR_MAX },     { "med", THR_MED },
	{ "count", THR_COUNT }, { "rate", THR_RATE },
	{ "value", THR_VALUE }, { "per_request", THR_PER_REQUEST },
};

/* Which aggregations each metric type supports, and the hint printed when one does not. */
#define THR_BIT(a) (1u << (a))
static const struct {
	const char *type;
	unsigned int allowed;
	const char *hint;
} thr_types[] = {
	[MT_COUNTER] = { "counter",
	                 THR_BIT(THR_COUNT) | THR_BIT(THR_RATE) | THR_BIT(THR_PER_REQUEST),
	                 "count, rate or per_request" },
	[MT_GAUGE] = { "gauge", THR_BIT(THR_VALUE) | THR_BIT(THR_MIN) | THR_BIT(THR_MAX),
	               "value, min or max" },
	[MT_RATE] = { "rate", THR_BIT(THR_RATE), "rate" },
	[MT_TREND] = { "trend",
	               THR_BIT(THR_AVG) | THR_BIT(THR_MIN) | THR_BIT(THR_MAX) | THR_BIT(THR_MED) |
	                   THR_BIT(THR_PCT),
	               "avg, min, max, med or p(N)" },
};

/* Write a reason into why and return -EINVAL, so parse errors are one statement. */
static int __attribute__((format(printf, 3, 4)))
thr_fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *thr_skip_ws(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* Narrow [*b, *e) so it has no leading or trailing whitespace. */
static void thr_trim(const char **b, const char **e)
{
	while (*b < *e && isspace((unsigned char)**b))
		(*b)++;
	while (*e > *b && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

/* Length of the decimal number at s ("-1.5e3", ".5", "200"), or 0 if there is none. Hex,
 * "inf" and "nan" are deliberately not numbers here, unlike for strtod(). */
static size_t thr_scan_number(const char *s)
{
	size_t i = 0, digits = 0;

	if (s[i] == '+' || s[i] == '-')
		i++;
	for (; isdigit((unsigned char)s[i]); i++)
		digits++;
	if (s[i] == '.')
		for (i++; isdigit((unsigned char)s[i]); i++)
			digits++;
	if (!digits)
		return 0;
	if (s[i] == 'e' || s[i] == 'E') {
		size_t j = i + 1;

		if (s[j] == '+' || s[j] == '-')
			j++;
		if (isdigit((unsigned char)s[j])) {
			while (isdigit((unsigned char)s[j]))
				j++;
			i = j;
		}
	}
	return i;
}

/* Convert the len-character number at s; -EINVAL when it is not finite (e.g. "1e999"). */
static int thr_convert_number(const char *s, size_t len, double *out)
{
	char *text = xstrndup(s, len);
	int ret = parse_double(text, out);

	free(text);
	return ret;
}

/* Shortest text that reads back as v, in plain notation up to 1e17 ("200", "99.9", "0.01"). */
static char *thr_fmt_num(double v, char *buf, size_t len)
{
	int prec, exp;

	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, len, "%.*e", prec - 1, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	/* %g switches to exponent notation once the exponent reaches the precision. */
	snprintf(buf, len, "%.*e", prec - 1, v);
	exp = atoi(strchr(buf, 'e') + 1);
	if (exp >= prec && exp < 17)
		prec = exp + 1;
	snprintf(buf, len, "%.*g", prec, v);
	return buf;
}

static bool thr_valid_metric_name(const char *s, size_t len)
{
	if (!len || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

/* Parse one "key:value" item [b, e) of a tag selector and append it to t->tags. */
static int thr_parse_tag(const char *b, const char *e, struct threshold *t, char *why, size_t len)
{
	const char *colon, *kb = b, *ke, *vb, *ve;
	int n = (int)(e - b);

	colon = memchr(b, ':', e - b);
	if (!colon)
		return thr_fail(why, len, "tag '%.*s' has no ':' (expected KEY:VALUE)", n, b);
	ke = colon;
	vb = colon + 1;
	ve = e;
	thr_trim(&kb, &ke);
	thr_trim(&vb, &ve);
	if (kb == ke)
		return thr_fail(why, len, "tag '%.*s' has an empty key", n, b);
	if (vb < ve && (*vb == '"' || *vb == '\'')) {
		if (ve - vb < 2 || ve[-1] != *vb)
			return thr_fail(why, len, "unterminated quote in tag '%.*s'", n, b);
		vb++;
		ve--;
	}
	if (vb == ve)
		return thr_fail(why, len, "tag '%.*s' has an empty value", n, b);
	for (int i = 0; i < t->ntags; i++) {
		const char *k = t->tags[i].key;

		if (strlen(k) == (size_t)(ke - kb) && !memcmp(k, kb, ke - kb))
			return thr_fail(why, len, "duplicate tag '%s'", k);
	}
	t->tags[t->ntags].key = xstrndup(kb, ke - kb);
	t->tags[t->ntags].value = xstrndup(vb, ve - vb);
	t->ntags++;
	return 0;
}

/* Parse the inside of "{...}" ([b, e), braces excluded) into t->tags. */
static int thr_parse_tags(const char *b, const char *e, struct threshold *t, char *why, size_t len)
{
	const char *item, *p;
	int n = 1;

	thr_trim(&b, &e);
	if (b == e)
		return thr_fail(why, len, "empty tag selector '{}'");
	for (p = b; p < e; p++)
		n += *p == ',';
	t->tags = xcalloc(n, sizeof(*t->tags));
	for (item = b, p = b; p <= e; p++) {
		int ret;

		if (p < e && *p != ',')
			continue;
		if (p == item || thr_skip_ws(item) >= p)
			return thr_fail(why, len, "empty tag in '{%.*s}'", (int)(e - b), b);
		ret = thr_parse_tag(item, p, t, why, len);
		if (ret)
			return ret;
		item = p + 1;
	}
	return 0;
}

/* Build "metric{k:v,...}" from t->metric and t->tags. */
static char *thr_canonical_selector(const struct threshold *t)
{
	size_t size = strlen(t->metric) + 3;
	char *out, *p;

	for (int i = 0; i < t->ntags; i++)
		size += strlen(t->tags[i].key) + strlen(t->tags[i].value) + 2;
	out = xmalloc(size);
	p = stpcpy(out, t->metric);
	for (int i = 0; i < t->ntags; i++) {
		*p++ = i ? ',' : '{';
		p = stpcpy(p, t->tags[i].key);
		*p++ = ':';
		p = stpcpy(p, t->tags[i].value);
	}
	if (t->ntags)
		*p++ = '}';
	*p = '\0';
	return out;
}

/* Parse the selector [b, e) ("METRIC" or "METRIC{k:v,...}") into metric, tags and selector. */
static int thr_parse_selector(const char *b, const char *e, struct threshold *t, char *why,
                              size_t len)
{
	const char *open, *close = NULL, *ne;
	int ret;

	thr_trim(&b, &e);
	open = memchr(b, '{', e - b);
	ne = open ? open : e;
	thr_trim(&b, &ne);
	if (b == ne)
		return thr_fail(why, len,
		                open ? "missing metric name before '{'" : "missing metric name");
	if (!thr_valid_metric_name(b, ne - b))
		return thr_fail(why, len,
		                "invalid metric name '%.*s' (use letters, digits and '_')",
		                (int)(ne - b), b);
	if (open) {
		/* The tag block runs to the final '}': values may hold braces, as in k6's
		 * "http_req_duration{name:GET /api/products/{id}}". */
		close = memrchr(open, '}', e - open);
		if (!close)
			return thr_fail(why, len, "unbalanced '{' in '%.*s'", (int)(e - b), b);
		if (close + 1 != e)
			return thr_fail(why, len, "unexpected '%.*s' after '}'",
			                (int)(e - close - 1), close + 1);
	}
	t->metric = xstrndup(b, ne - b);
	if (open) {
		ret = thr_parse_tags(open + 1, close, t, why, len);
		if (ret)
			return ret;
	}
	t->selector = thr_canonical_selector(t);
	return 0;
}

/* Length of the word at s that the user probably meant as an aggregation, for messages. */
static int thr_token_len(const char *s)
{
	int n = 0;

	while (s[n] && !isspace((unsigned char)s[n]) && !strchr("<>=!", s[n]))
		n++;
	return n;
}

/* Parse "(N)" following a 'p' at *sp (which points past the 'p'); start is the 'p'. */
static int thr_parse_pct(const char **sp, const char *start, struct threshold *t, char *why,
                         size_t len)
{
	const char *s = thr_skip_ws(*sp) + 1; /* past '(' */
	char num[THR_NUM_MAX];
	size_t n;

	s = thr_skip_ws(s);
	n = thr_scan_number(s);
	if (!n) {
		const char *close = strchr(s, ')');
		int shown = close ? (int)(close + 1 - start) : thr_token_len(start);

		return thr_fail(why, len, "expected a number in '%.*s'", shown, start);
	}
	if (thr_convert_number(s, n, &t->pct))
		return thr_fail(why, len, "percentile '%.*s' out of range 0..100", (int)n, s);
	s = thr_skip_ws(s + n);
	if (*s != ')')
		return thr_fail(why, len, "expected ')' after the percentile in '%.*s'",
		                thr_token_len(start), start);
	if (t->pct < 0 || t->pct > 100)
		return thr_fail(why, len, "percentile %s out of range 0..100",
		                thr_fmt_num(t->pct, num, sizeof(num)));
	t->agg = THR_PCT;
	*sp = s + 1;
	return 0;
}

/* Parse the aggregation at *sp: a name from thr_aggs or p(N). */
static int thr_parse_agg(const char **sp, struct threshold *t, char *why, size_t len)
{
	const char *s = *sp;
	size_t n = 0;

	while (isalnum((unsigned char)s[n]) || s[n] == '_')
		n++;
	if (n == 1 && s[0] == 'p' && *thr_skip_ws(s + 1) == '(') {
		*sp = s + 1;
		return thr_parse_pct(sp, s, t, why, len);
	}
	for (size_t i = 0; i < ARRAY_SIZE(thr_aggs); i++) {
		if (n && strlen(thr_aggs[i].name) == n && !memcmp(thr_aggs[i].name, s, n)) {
			t->agg = thr_aggs[i].agg;
			*sp = s + n;
			return 0;
		}
	}
	if (!thr_token_len(s))
		return thr_fail(why, len, "expected an aggregation before '%s'", s);
	return thr_fail(why, len,
	                "unknown aggregation '%.*s' (expected avg, min, max, med, count, rate, "
	                "value, per_request or p(N))",
	                thr_token_len(s), s);
}

/* Parse the comparison operator at *sp; agg names what precedes it, for messages. */
static int thr_parse_op(const char **sp, struct threshold *t, const char *agg, char *why,
                        size_t len)
{
	const char *s = *sp;
	int best = -1;

	for (size_t i = 0; i < ARRAY_SIZE(thr_op_names); i++) {
		size_t n = strlen(thr_op_names[i]);

		if (!strncmp(s, thr_op_names[i], n) && (best < 0 || n > strlen(thr_op_names[best])))
			best = (int)i;
	}
	if (best >= 0) {
		t->op = (enum thr_op)best;
		*sp = s + strlen(thr_op_names[best]);
		return 0;
	}
	if (s[0] == '=' && (s[1] == '<' || s[1] == '>'))
		return thr_fail(why, len, "unknown operator '=%c' (did you mean '%c='?)", s[1],
		                s[1]);
	if (s[0] == '=')
		return thr_fail(why, len, "unknown operator '=' (use '==' to test equality)");
	if (!*s)
		return thr_fail(why, len,
		                "expected an operator (<, <=, >, >=, == or !=) after '%s'", agg);
	return thr_fail(why, len,
	                "expected an operator (<, <=, >, >=, == or !=) after '%s', got '%.*s'", agg,
	                (int)strcspn(s, " \t\r\n\v\f"), s);
}

/* Parse "AGG OP NUMBER" into agg, pct, op, target and the canonical expr. */
static int thr_parse_expr(const char *s, struct threshold *t, char *why, size_t len)
{
	char agg[THR_NUM_MAX + 4], num[THR_NUM_MAX], canon[2 * THR_NUM_MAX + 8];
	const char *rest, *end;
	size_t n;
	int ret;

	s = thr_skip_ws(s);
	if (!*s)
		return thr_fail(why, len, "empty expression (expected e.g. 'p(95)<200')");
	ret = thr_parse_agg(&s, t, why, len);
	if (ret)
		return ret;
	threshold_agg_name(t, agg, sizeof(agg));
	s = thr_skip_ws(s);
	ret = thr_parse_op(&s, t, agg, why, len);
	if (ret)
		return ret;
	s = thr_skip_ws(s);
	n = thr_scan_number(s);
	if (!n)
		return thr_fail(why, len, "expected a number after '%s'", thr_op_names[t->op]);
	if (thr_convert_number(s, n, &t->target))
		return thr_fail(why, len, "number '%.*s' out of range", (int)n, s);
	rest = s + n;
	end = rest + strlen(rest);
	thr_trim(&rest, &end);
	if (rest != end)
		return thr_fail(why, len, "unexpected '%.*s' after '%.*s'", (int)(end - rest), rest,
		                (int)n, s);
	snprintf(canon, sizeof(canon), "%s%s%s", agg, thr_op_names[t->op],
	         thr_fmt_num(t->target, num, sizeof(num)));
	t->expr = xstrdup(canon);
	return 0;
}

/* Format a parse error into the caller's buffer, tolerating a NULL or empty one. */
static void __attribute__((format(printf, 3, 4)))
thr_report(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Index of the first ':' outside "{...}" in spec, or a negative errno with why filled in. */
static int thr_split(const char *spec, size_t *colon, char *why, size_t len)
{
	int depth = 0;

	for (size_t i = 0; spec[i]; i++) {
		if (spec[i] == '{') {
			depth++;
		} else if (spec[i] == '}') {
			if (--depth < 0)
				return thr_fail(why, len, "unbalanced '}'");
		} else if (spec[i] == ':' && !depth) {
			*colon = i;
			return 0;
		}
	}
	if (depth)
		return thr_fail(why, len, "unbalanced '{'");
	return thr_fail(why, len, "expected 'METRIC: EXPRESSION'");
}

int threshold_parse(const char *spec, struct threshold *t, char *err, size_t errlen)
{
	char why[THR_WHY_MAX];
	size_t colon = 0;
	int ret;

	memset(t, 0, sizeof(*t));
	if (!spec) {
		thr_report(err, errlen, "threshold: missing specification");
		return -EINVAL;
	}
	ret = thr_split(spec, &colon, why, sizeof(why));
	if (ret)
		goto out_report;
	t->source = xstrdup(spec);
	ret = thr_parse_selector(spec, spec + colon, t, why, sizeof(why));
	if (ret)
		goto out_free;
	ret = thr_parse_expr(spec + colon + 1, t, why, sizeof(why));
	if (ret)
		goto out_free;
	return 0;

out_free:
	threshold_free(t);
	memset(t, 0, sizeof(*t));
out_report:
	thr_report(err, errlen, "threshold '%s': %s", spec, why);
	return ret;
}

int threshold_parse_parts(const char *selector, const char *expr, struct threshold *t, char *err,
                          size_t errlen)
{
	char why[THR_WHY_MAX];
	int ret;

	memset(t, 0, sizeof(*t));
	if (!selector || !expr) {
		thr_report(err, errlen, "threshold: missing selector or expression");
		return -EINVAL;
	}
	t->source = xstrdup(expr);
	ret = thr_parse_selector(selector, selector + strlen(selector), t, why, sizeof(why));
	if (ret) {
		thr_report(err, errlen, "threshold selector '%s': %s", selector, why);
		goto out_free;
	}
	ret = thr_parse_expr(expr, t, why, sizeof(why));
	if (ret) {
		thr_report(err, errlen, "threshold '%s' on '%s': %s", expr, selector, why);
		goto out_free;
	}
	return 0;

out_free:
	threshold_free(t);
	memset(t, 0, sizeof(*t));
	return ret;
}

const char *threshold_check_type(const struct threshold *t, enum metric_type mt)
{
	/* The message names the aggregation, so it needs storage that outlives the call. */
	static _Thread_local char msg[160];
	char agg[THR_NUM_MAX + 4];

	if ((unsigned int)mt >= ARRAY_SIZE(thr_types) || !thr_types[mt].type) {
		snprintf(msg, sizeof(msg), "unknown metric type %d", (int)mt);
		return msg;
	}
	if (thr_types[mt].allowed & THR_BIT(t->agg))
		return NULL;
	snprintf(msg, sizeof(msg), "'%s' does not apply to a %s metric (use %s)",
	         threshold_agg_name(t, agg, sizeof(agg)), thr_types[mt].type, thr_types[mt].hint);
	return msg;
}

bool threshold_compare(const struct threshold *t, double value)
{
	/* No value (e.g. the average of zero samples) never satisfies a threshold. */
	if (isnan(value))
		return false;
	switch (t->op) {
	case THR_LT:
		return value < t->target;
	case THR_LE:
		return value <= t->target;
	case THR_GT:
		return value > t->target;
	case THR_GE:
		return value >= t->target;
	case THR_EQ:
		return value == t->target;
	case THR_NE:
		return value != t->target;
	}
	return false;
}

const char *threshold_agg_name(const struct threshold *t, char *buf, size_t len)
{
	char num[THR_NUM_MAX];
	const char *name = "?";

	if (t->agg == THR_PCT) {
		snprintf(buf, len, "p(%s)", thr_fmt_num(t->pct, num, sizeof(num)));
		return buf;
	}
	for (size_t i = 0; i < ARRAY_SIZE(thr_aggs); i++)
		if (thr_aggs[i].agg == t->agg)
			name = thr_aggs[i].name;
	snprintf(buf, len, "%s", name);
	return buf;
}

void threshold_free(struct threshold *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->ntags; i++) {
		free(t->tags[i].key);
		free(t->tags[i].value);
	}
	free(t->tags);
	free(t->source);
	free(t->metric);
	free(t->selector);
	free(t->expr);
	t->tags = NULL;
	t->ntags = 0;
	t->source = NULL;
	t->metric = NULL;
	t->selector = NULL;
	t->expr = NULL;
}
