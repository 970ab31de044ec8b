/* assess_report.c: the assessment report of `stampede assess` (HTML, Markdown, the terminal
 * summary) from its document, "stampede-assessment/1" (docs/assess.md). */
#include "output/assess_report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "output/html.h"
#include "output/k8s.h"
#include "output/svgchart.h"
#include "util/common.h"
#include "util/escape.h"
#include "util/outfile.h"
#include "util/slo.h"

#define NAME_MAX_CHARS  300        /* shown of one name, URL, SLO, metric, function */
#define TEXT_MAX_CHARS  2000       /* shown of one sentence (a finding, a summary) */
#define CELL_MAX_CHARS  600        /* shown of one table cell */
#define ROWS_MAX        256        /* rows of one table or list shown */
#define PROFILE_SVG_MAX (5u << 20) /* bytes of flame graph embedded at most */
#define TERM_WIDTH      100        /* the terminal summary's lines wrap here */
#define MIB             1048576.0

/* The manifests' defaults, as `stampede capacity k8s` has them (cli/cmd_capacity_k8s.c). */
#define K8S_NAME      K8S_DEFAULT_NAME
#define K8S_NAMESPACE K8S_DEFAULT_NAMESPACE
#define K8S_METRIC    K8S_DEFAULT_METRIC
#define K8S_PROM      K8S_DEFAULT_PROMETHEUS

/* The formats a piece of text is written in. */
enum fmt { F_HTML, F_MD, F_TERM };

/* --- the document ----------------------------------------------------------------- */

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A number of o, NAN when absent or not a number. */
static double num(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static const json_t *obj(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_object(v) ? v : NULL;
}

static const json_t *arr(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_array(v) ? v : NULL;
}

/* What the renderers share: the document, the phases' results, the directory. */
struct ctx {
	const json_t *doc;
	struct result *const *phases;
	int nphases;
	const char *dir;
	const char *base; /* the prefix of every relative link (outfile_link_base), never NULL */
};

/* doc.phases[i] named name (by name, else by type), its index in *index; NULL when none. */
static const json_t *phase_of(const json_t *doc, const char *name, int *index)
{
	size_t i;
	json_t *p;
	json_array_foreach(arr(doc, "phases"), i, p)
	{
		const char *n = str(p, "name") ? str(p, "name") : str(p, "type");
		if (n && !strcmp(n, name)) {
			if (index)
				*index = (int)i;
			return p;
		}
	}
	return NULL;
}

/* The loaded result of the phase called name, or NULL. */
static const struct result *phase_result(const struct ctx *c, const char *name)
{
	int i = -1;
	if (!phase_of(c->doc, name, &i) || i < 0 || i >= c->nphases || !c->phases)
		return NULL;
	return c->phases[i];
}

/* Why a part from the phase called name is missing, as a sentence (plain text) after what
 * ("No breaking point"): the phase was not run, failed, or its analysis had nothing. */
static void why_missing(struct buf *t, const json_t *doc, const char *name, const char *what)
{
	const json_t *p = phase_of(doc, name, NULL);
	const char *st = str(p, "status"), *reason = str(p, "reason");
	buf_printf(t, "%s: ", what);
	if (!p)
		buf_printf(t, "the assessment has no %s phase.", name);
	else if (st && !strcmp(st, "skipped"))
		buf_printf(t, "the %s phase did not run (%s).", name, reason ? reason : "skipped");
	else if (st && !strcmp(st, "error"))
		buf_printf(t, "the %s phase could not run or be read (%s).", name,
		           reason ? reason : "no reason given");
	else if (st && !strcmp(st, "interrupted") && reason)
		buf_printf(t, "the %s phase was interrupted (%s).", name, reason);
	else
		buf_printf(t, "the %s phase's result has no such analysis.", name);
}

/* Whether the phase called name ran, to its end or interrupted: it has a result. */
static bool phase_ran(const json_t *doc, const char *name)
{
	const char *st = str(phase_of(doc, name, NULL), "status");
	return st && strcmp(st, "skipped") && strcmp(st, "error");
}

/* Why a part that the load phase (or, first, the phase called also) supplies is missing
 * (plain text into t): that phase did not run, else the sentence otherwise. */
static void why_missing_load(struct buf *t, const json_t *doc, const char *also, const char *what,
                             const char *otherwise)
{
	if (!phase_ran(doc, "load") && (!also || !phase_ran(doc, also)))
		why_missing(t, doc, "load", what);
	else
		buf_printf(t, "%s: %s", what, otherwise);
}

static void why_no_leaks(struct buf *t, const json_t *doc, const char *what)
{
	why_missing_load(t, doc, "soak", what,
	                 "no phase watched the target's process (--monitor-pid, --monitor-cmd or "
	                 "--monitor-port).");
}

static void why_no_bottleneck(struct buf *t, const json_t *doc, const char *what)
{
	why_missing_load(t, doc, "breakpoint", what,
	                 "neither the breakpoint's nor the load's result has one.");
}

/* --- numbers as the reports show them ----------------------------------------------- */

/* v with its unit, "–" when unknown (not finite). */
enum unit {
	U_RATE, /* "383/s", "12.5/s" */
	U_MS,   /* "345.6 ms" */
	U_FRAC, /* a fraction as a percentage: 0.0123 -> "1.2%" */
	U_PCT,  /* a percentage: 55 -> "55%" */
};

static char *fmt_unit(double v, enum unit u, char *s, size_t len)
{
	char n[48];
	if (!isfinite(v))
		snprintf(s, len, "–");
	else if (u == U_RATE)
		snprintf(s, len, "%s/s", format_rate(v, n, sizeof(n)));
	else if (u == U_MS)
		snprintf(s, len, "%s ms", svgchart_num(v, n, sizeof(n)));
	else
		snprintf(s, len, "%s%%", format_percent(u == U_FRAC ? v * 100 : v, n, sizeof(n)));
	return s;
}

#define fmt_rate(v, s, len) fmt_unit(v, U_RATE, s, len)
#define fmt_ms(v, s, len)   fmt_unit(v, U_MS, s, len)
#define fmt_frac(v, s, len) fmt_unit(v, U_FRAC, s, len)
#define fmt_pct(v, s, len)  fmt_unit(v, U_PCT, s, len)

/* Whether the assessment counted its load in VUs (--expected-vus: the closed model). */
static bool closed_model(const json_t *doc)
{
	const json_t *load = json_array_get(json_object_get(doc, "phases"), 1);
	const char *u = json_string_value(json_object_get(load, "unit"));
	return u && !strcmp(u, "VUs");
}

/* An assessment's level v (R, the cap): "100/s", or "20 VUs" when the load phase counted
 * VUs (--expected-vus). */
static char *fmt_level(const json_t *doc, double v, char *s, size_t len)
{
	if (!closed_model(doc) || !isfinite(v))
		return fmt_rate(v, s, len);
	char n[48];
	snprintf(s, len, "%s VUs", format_rate(v, n, sizeof(n)));
	return s;
}

/* Seconds: "15.2 s"; "–" when unknown. */
static char *fmt_s(double v, char *s, size_t len)
{
	if (!isfinite(v))
		snprintf(s, len, "–");
	else if (fabs(v) >= 100 || v == floor(v))
		snprintf(s, len, "%.0f s", v);
	else
		snprintf(s, len, "%.1f s", v);
	return s;
}

static char *fmt_n(double v, char *s, size_t len)
{
	return svgchart_num(v, s, len);
}

/* --- text in each format -------------------------------------------------------------- */

/* s for a terminal: controls (C0, DEL, C1: an escape sequence cannot be smuggled), the
 * bidirectional overrides and bytes that are not UTF-8 as '?', at most max characters then
 * "…". */
static void term_text(struct buf *b, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	for (size_t chars = 0; *p; chars++) {
		if (chars == max) {
			buf_addstr(b, "…");
			return;
		}
		int n = utf8_seq_len(p);
		bool bidi = n == 3 && p[0] == 0xe2 &&
		            ((p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
		             (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9));
		if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)) ||
		    (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) || bidi)
			buf_addstr(b, "?");
		else
			buf_add(b, p, (size_t)n);
		p += n ? n : 1;
	}
}

/* s as Markdown text (escape_markdown: no markup, no raw HTML, no line break), its first
 * max characters then "…". */
static void md_text(struct buf *b, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t chars = 0;
	while (p[0] && chars < max) {
		int n = utf8_seq_len(p);
		p += n ? n : 1;
		chars++;
	}
	char *cut = xstrndup(s ? s : "", (size_t)(p - (const unsigned char *)(s ? s : "")));
	escape_markdown(b, cut);
	free(cut);
	if (*p)
		buf_addstr(b, "…");
}

/* s in format f: escaped, sanitized, cut after max characters. */
static void put_text(struct buf *b, enum fmt f, const char *s, size_t max)
{
	if (f == F_HTML)
		svgchart_text(b, s, max);
	else if (f == F_MD)
		md_text(b, s, max);
	else
		term_text(b, s, max);
}

static void put(struct buf *b, const char *s)
{
	buf_addstr(b, s);
}

/* A relative link we can write as it is: a file name or relative path of [A-Za-z0-9._~+-/]
 * (no scheme, no "..", not absolute). */
static bool safe_href(const char *s)
{
	if (!s || !*s || *s == '/' || strlen(s) > 255 || strstr(s, ".."))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._~+-/", *p)))
			return false;
	return true;
}

/* --- figures: a list of (key, plain-text value) --------------------------------------- */

#define KVS_MAX 24

struct kvs {
	int n;
	const char *key[KVS_MAX]; /* constants */
	struct buf val[KVS_MAX];  /* plain text, escaped when written */
	struct buf spare;         /* what a full list's extra values go to */
};

/* A new figure called key: the buffer to write its value in. */
static struct buf *kv(struct kvs *l, const char *key)
{
	if (l->n == KVS_MAX) {
		l->spare.len = 0;
		return &l->spare;
	}
	l->key[l->n] = key;
	return &l->val[l->n++];
}

static void kvs_free(struct kvs *l)
{
	for (int i = 0; i < l->n; i++)
		buf_free(&l->val[i]);
	buf_free(&l->spare);
	l->n = 0;
}

static void kvs_html(struct buf *b, const struct kvs *l, const char *id)
{
	if (!l->n)
		return;
	buf_printf(b, "<dl class=\"kv\" id=\"%s\">", id);
	for (int i = 0; i < l->n; i++) {
		buf_printf(b, "<dt>%s</dt><dd>", l->key[i]);
		put_text(b, F_HTML, l->val[i].p ? l->val[i].p : "", TEXT_MAX_CHARS);
		put(b, "</dd>");
	}
	put(b, "</dl>\n");
}

static void kvs_md(struct buf *b, const struct kvs *l)
{
	for (int i = 0; i < l->n; i++) {
		buf_printf(b, "- **%s**: ", l->key[i]);
		put_text(b, F_MD, l->val[i].p ? l->val[i].p : "", TEXT_MAX_CHARS);
		put(b, "\n");
	}
	if (l->n)
		put(b, "\n");
}

/* The badge class of a status (a phase's or the assessment's). */
static const char *badge_of_status(const char *st)
{
	if (!st)
		return "none";
	if (!strcmp(st, "pass") || !strcmp(st, "done") || !strcmp(st, "complete"))
		return "good";
	if (!strcmp(st, "fail") || !strcmp(st, "error") || !strcmp(st, "stopped"))
		return "bad";
	if (!strcmp(st, "interrupted"))
		return "warn";
	return "none";
}

/* --- tables: rows of plain-text cells ---------------------------------------------------- */

#define TAB_COLS 12

struct tab {
	int ncols, nrows, cap;
	const char *head[TAB_COLS]; /* constants */
	bool right[TAB_COLS];       /* a column of numbers */
	bool link[TAB_COLS];        /* a column of relative links (written as links when safe) */
	bool badge[TAB_COLS];       /* a column of statuses (badges in HTML) */
	char **cell;                /* nrows x ncols, plain text */
	const char **cls;           /* a row's class ("pass", "fail") or NULL */
	size_t more;                /* rows past ROWS_MAX, not kept */
	int col;                    /* the next cell of the last row */
};

/* A table with the columns named in head (NULL-terminated); a name starting with '#' is a
 * column of numbers (the '#' is not shown), with '@' a column of links, with '!' one of
 * statuses. */
static void tab_init(struct tab *t, const char *const *head)
{
	memset(t, 0, sizeof(*t));
	for (; head[t->ncols] && t->ncols < TAB_COLS; t->ncols++) {
		const char *h = head[t->ncols];
		t->right[t->ncols] = *h == '#';
		t->link[t->ncols] = *h == '@';
		t->badge[t->ncols] = *h == '!';
		t->head[t->ncols] = *h == '#' || *h == '@' || *h == '!' ? h + 1 : h;
	}
}

/* Start a row of class cls (or NULL). Returns false (and keeps nothing of it) past
 * ROWS_MAX rows. */
static bool tab_row(struct tab *t, const char *cls)
{
	if (t->nrows == ROWS_MAX) {
		t->more++;
		return false;
	}
	if (t->nrows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 8;
		t->cell = xrealloc(t->cell, (size_t)t->cap * (size_t)t->ncols * sizeof(*t->cell));
		t->cls = xrealloc(t->cls, (size_t)t->cap * sizeof(*t->cls));
	}
	for (int k = 0; k < t->ncols; k++)
		t->cell[(size_t)t->nrows * (size_t)t->ncols + (size_t)k] = NULL;
	t->cls[t->nrows++] = cls;
	t->col = 0;
	return true;
}

/* The next cell of the row begun last: printf. */
static void tab_cell(struct tab *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tab_cell(struct tab *t, const char *fmt, ...)
{
	if (!t->nrows || t->col >= t->ncols)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = xstrdup("");
	va_end(ap);
	t->cell[(size_t)(t->nrows - 1) * (size_t)t->ncols + (size_t)t->col++] = s;
}

/* The next cell: the string s as it is (NULL: "–"). */
static void tab_str(struct tab *t, const char *s)
{
	tab_cell(t, "%s", s ? s : "–");
}

static void tab_free(struct tab *t)
{
	for (size_t i = 0; i < (size_t)t->nrows * (size_t)t->ncols; i++)
		free(t->cell[i]);
	free(t->cell);
	free(t->cls);
	memset(t, 0, sizeof(*t));
}

static const char *tab_at(const struct tab *t, int r, int k)
{
	const char *s = t->cell[(size_t)r * (size_t)t->ncols + (size_t)k];
	return s ? s : "";
}

static void tab_html(struct buf *b, const struct tab *t, const char *id, const char *base)
{
	buf_printf(b, "<table id=\"%s\"><thead><tr>", id);
	for (int k = 0; k < t->ncols; k++)
		buf_printf(b, "<th>%s</th>", t->head[k]);
	put(b, "</tr></thead><tbody>\n");
	for (int r = 0; r < t->nrows; r++) {
		if (t->cls[r])
			buf_printf(b, "<tr class=\"%s\">", t->cls[r]);
		else
			put(b, "<tr>");
		for (int k = 0; k < t->ncols; k++) {
			const char *s = tab_at(t, r, k);
			put(b, t->right[k] ? "<td class=\"n\">" : "<td>");
			if (t->link[k] && safe_href(s)) {
				buf_printf(b, "<a href=\"%s%s\">%s</a>", base, s, s);
			} else if (t->badge[k]) {
				buf_printf(b, "<span class=\"badge %s\">", badge_of_status(s));
				put_text(b, F_HTML, s, 40);
				put(b, "</span>");
			} else {
				put_text(b, F_HTML, s, CELL_MAX_CHARS);
			}
			put(b, "</td>");
		}
		put(b, "</tr>\n");
	}
	if (t->more)
		buf_printf(b, "<tr><td colspan=\"%d\">… %zu more rows</td></tr>\n", t->ncols,
		           t->more);
	put(b, "</tbody></table>\n");
}

static void tab_md(struct buf *b, const struct tab *t, const char *base)
{
	put(b, "|");
	for (int k = 0; k < t->ncols; k++)
		buf_printf(b, " %s |", t->head[k]);
	put(b, "\n|");
	for (int k = 0; k < t->ncols; k++)
		put(b, t->right[k] ? "---:|" : "---|");
	put(b, "\n");
	for (int r = 0; r < t->nrows; r++) {
		put(b, "|");
		for (int k = 0; k < t->ncols; k++) {
			const char *s = tab_at(t, r, k);
			put(b, " ");
			if (t->link[k] && safe_href(s))
				buf_printf(b, "[%s](%s%s)", s, base, s);
			else
				put_text(b, F_MD, s, CELL_MAX_CHARS);
			put(b, " |");
		}
		put(b, "\n");
	}
	if (t->more)
		buf_printf(b, "\n… %zu more rows\n", t->more);
	put(b, "\n");
}

/* --- the parts, as figures and tables (shared by the formats) ----------------------------- */

static const char *const impacts[] = { "critical", "high", "medium", "low", "info" };

/* The impact's class ("impact-high"), or "none" for an unknown one. */
static const char *impact_class(const char *imp)
{
	static const char *const cls[] = { "impact-critical", "impact-high", "impact-medium",
		                           "impact-low", "impact-info" };
	for (size_t i = 0; imp && i < ARRAY_SIZE(impacts); i++)
		if (!strcmp(imp, impacts[i]))
			return cls[i];
	return "none";
}

static void summary_kvs(const json_t *doc, struct kvs *l)
{
	const json_t *t = obj(doc, "target");
	char a[64];
	buf_addstr(kv(l, "target"), str(t, "url") ? str(t, "url") : "(unknown)");
	if (str(t, "script"))
		buf_addstr(kv(l, "script"), str(t, "script"));
	if (json_is_boolean(json_object_get(t, "loopback")))
		buf_addstr(kv(l, "loopback"), json_is_true(json_object_get(t, "loopback"))
		                                  ? "yes"
		                                  : "no (confirmed as the user's own)");
	buf_addstr(kv(l, "expected load (R)"),
	           fmt_level(doc, num(doc, "expectedRps"), a, sizeof(a)));
	if (isfinite(num(doc, "maxRps")))
		buf_addstr(kv(l, "safety cap"), fmt_level(doc, num(doc, "maxRps"), a, sizeof(a)));
	buf_addstr(kv(l, "SLOs"), str(doc, "slo") ? str(doc, "slo") : "(none)");
	if (isfinite(num(doc, "budgetS")))
		buf_addstr(kv(l, "budget"), fmt_s(num(doc, "budgetS"), a, sizeof(a)));
	if (str(doc, "startedAt"))
		buf_addstr(kv(l, "started"), str(doc, "startedAt"));
	buf_addstr(kv(l, "duration"), fmt_s(num(doc, "durationS"), a, sizeof(a)));
	struct buf *st = kv(l, "status");
	buf_addstr(st, str(doc, "status") ? str(doc, "status") : "unknown");
	if (str(doc, "statusReason"))
		buf_printf(st, ": %s", str(doc, "statusReason"));
	if (str(doc, "version"))
		buf_addstr(kv(l, "stampede"), str(doc, "version"));
}

/* The verdict per test type: a row per phase. */
static void phases_tab(const json_t *doc, struct tab *t)
{
	static const char *const head[] = { "phase", "#level",  "!status", "verdict", "#planned",
		                            "#ran",  "@report", "notes",   NULL };
	tab_init(t, head);
	size_t i;
	json_t *p;
	json_array_foreach(arr(doc, "phases"), i, p)
	{
		const char *st = str(p, "status");
		const char *b = badge_of_status(st);
		if (!tab_row(t, !strcmp(b, "good") ? "pass" : !strcmp(b, "bad") ? "fail" : NULL))
			continue;
		char a[64], c[64];
		tab_str(t, str(p, "name") ? str(p, "name") : str(p, "type"));
		const char *unit = str(p, "unit") ? str(p, "unit") : "";
		const char *sep = strcmp(unit, "/s") && *unit ? " " : ""; /* "40 VUs", "40/s" */
		double level = num(p, "level"), peak = num(p, "peak");
		/* the breakpoint ramps from 0: up to the rate it reached */
		if (str(p, "name") && !strcmp(str(p, "name"), "breakpoint") && isfinite(peak))
			tab_cell(t, "0 → %s%s%s", fmt_n(peak, c, sizeof(c)), sep, unit);
		else if (isfinite(peak) && isfinite(level))
			tab_cell(t, "%s → %s%s%s", fmt_n(level, a, sizeof(a)),
			         fmt_n(peak, c, sizeof(c)), sep, unit);
		else if (isfinite(level))
			tab_cell(t, "%s%s%s", fmt_n(level, a, sizeof(a)), sep, unit);
		else
			tab_str(t, NULL);
		tab_str(t, st);
		tab_str(t, str(p, "verdict"));
		tab_str(t, fmt_s(num(p, "plannedS"), a, sizeof(a)));
		tab_str(t, fmt_s(num(p, "ranS"), a, sizeof(a)));
		tab_str(t, str(p, "report") ? str(p, "report") : "");
		tab_str(t, str(p, "reason") ? str(p, "reason") : "");
	}
}

/* The breaking point's figures; false when there is none to show. */
static bool bp_kvs(const json_t *doc, struct kvs *l)
{
	const json_t *bp = obj(doc, "breakingPoint");
	if (!bp)
		return false;
	char a[64], c[64], d[64];
	bool found = json_is_true(json_object_get(bp, "found"));
	struct buf *v = kv(l, "breaking point");
	if (found) {
		if (isfinite(num(bp, "lastGood")))
			buf_printf(v, "every SLO held up to %s; ",
			           fmt_level(doc, num(bp, "lastGood"), a, sizeof(a)));
		buf_printf(v, "at %s %s failed", fmt_level(doc, num(bp, "firstBad"), c, sizeof(c)),
		           str(bp, "failedSlo") ? str(bp, "failedSlo") : "an SLO");
	} else if (json_is_false(json_object_get(bp, "complete"))) {
		/* the phase ended early: its why says the breaking point is not known */
		buf_addstr(v, str(bp, "why") ? str(bp, "why") : "not known: the phase ended early");
	} else {
		buf_addstr(v, "none found");
		if (str(bp, "why"))
			buf_printf(v, ": %s", str(bp, "why"));
	}
	if (obj(bp, "disturbed"))
		buf_addstr(kv(l, "trusted"), "no: other processes held the machine's CPU when it "
		                             "broke (see the findings)");
	if (isfinite(num(bp, "lastGood")))
		buf_addstr(kv(l, "last good level"),
		           fmt_level(doc, num(bp, "lastGood"), a, sizeof(a)));
	if (isfinite(num(bp, "firstBad")))
		buf_addstr(kv(l, "first bad level"),
		           fmt_level(doc, num(bp, "firstBad"), a, sizeof(a)));
	if (str(bp, "failedSlo") || str(bp, "how")) {
		v = kv(l, "failed objective");
		const char *how = str(bp, "how");
		buf_printf(v, "%s", str(bp, "failedSlo") ? str(bp, "failedSlo") : "?");
		if (how && !strcmp(how, "errors"))
			buf_printf(v, " (errors: %s)", fmt_frac(num(bp, "value"), a, sizeof(a)));
		else if (how)
			buf_printf(v, " (%s: %s)", how, fmt_ms(num(bp, "value"), a, sizeof(a)));
	}
	if (isfinite(num(bp, "atS")))
		buf_printf(kv(l, "when"), "%s into the breakpoint phase",
		           fmt_s(num(bp, "atS"), a, sizeof(a)));
	const json_t *knee = obj(bp, "knee");
	if (knee) {
		v = kv(l, "throughput knee");
		buf_printf(v, "%s served at %s offered",
		           fmt_rate(num(knee, "throughput"), a, sizeof(a)),
		           fmt_level(doc, num(knee, "offered"), c, sizeof(c)));
		if (isfinite(num(knee, "concurrency")))
			buf_printf(v, ", %s requests in service (N = X·R)",
			           fmt_n(num(knee, "concurrency"), d, sizeof(d)));
	}
	if (str(bp, "degradation"))
		buf_addstr(kv(l, "past it"), str(bp, "degradation"));
	if (isfinite(num(bp, "maxGoodThroughput")))
		buf_printf(kv(l, "max good throughput"), "%s (responses without error)",
		           fmt_rate(num(bp, "maxGoodThroughput"), a, sizeof(a)));
	return true;
}

/* The steps table of the breakpoint phase; false when there is none. */
static bool steps_tab(const json_t *doc, struct tab *t)
{
	const json_t *steps = arr(doc, "steps");
	memset(t, 0, sizeof(*t));
	if (!json_array_size(steps))
		return false;
	bool target = false;
	size_t i;
	json_t *e;
	json_array_foreach(steps, i, e)
	{
		if (isfinite(num(e, "targetCpuPercent")) || isfinite(num(e, "targetRssBytes")))
			target = true;
	}
	static const char *const head[] = { "step", "#offered/s", "#served/s", "#good/s", "#errors",
		                            "#p50", "#p95",       "#p99",      "SLOs",    NULL };
	static const char *const head_target[] = { "step",        "#offered/s", "#served/s",
		                                   "#good/s",     "#errors",    "#p50",
		                                   "#p95",        "#p99",       "#target CPU",
		                                   "#target RSS", "SLOs",       NULL };
	tab_init(t, target ? head_target : head);
	if (closed_model(doc)) /* a closed model offers VUs, not a rate */
		t->head[1] = "offered VUs";
	json_array_foreach(steps, i, e)
	{
		bool judged = json_array_size(json_object_get(e, "slo")) > 0;
		bool ok = json_is_true(json_object_get(e, "ok"));
		if (!tab_row(t, !judged ? NULL : ok ? "pass" : "fail"))
			continue;
		char a[64], c[64], r1[48], r2[48];
		tab_str(t, str(e, "phase"));
		double from = num(e, "offeredFrom"), to = num(e, "offeredTo");
		if (isfinite(from) && isfinite(to) && from != to)
			tab_cell(t, "%s–%s", format_rate(from, r1, sizeof(r1)),
			         format_rate(to, r2, sizeof(r2)));
		else
			tab_str(t, format_rate(num(e, "offered"), r1, sizeof(r1)));
		tab_str(t, format_rate(num(e, "throughput"), r1, sizeof(r1)));
		tab_str(t, format_rate(num(e, "goodThroughput"), r1, sizeof(r1)));
		tab_str(t, fmt_frac(num(e, "errorRate"), a, sizeof(a)));
		tab_str(t, fmt_ms(num(e, "p50"), a, sizeof(a)));
		tab_str(t, fmt_ms(num(e, "p95"), a, sizeof(a)));
		tab_str(t, fmt_ms(num(e, "p99"), a, sizeof(a)));
		if (target) {
			double cpu = num(e, "targetCpuPercent"), rss = num(e, "targetRssBytes");
			tab_str(t, isfinite(cpu) ? fmt_pct(cpu, a, sizeof(a)) : "-");
			tab_str(t, isfinite(rss) ? format_bytes_iec(rss, c, sizeof(c)) : "-");
		}
		tab_str(t, !judged ? "-" : ok ? "held" : "failed");
	}
	return true;
}

/* How the spike went; false when it did not run. */
static bool spike_kvs(const json_t *doc, struct kvs *l)
{
	const json_t *sp = obj(doc, "spike");
	if (!sp)
		return false;
	char a[64], c[64], d[64];
	struct buf *v = kv(l, "peak");
	buf_addstr(v, fmt_level(doc, num(sp, "peakRps"), a, sizeof(a)));
	if (isfinite(num(doc, "expectedRps")))
		buf_printf(v, ", from %s", fmt_level(doc, num(doc, "expectedRps"), c, sizeof(c)));
	buf_printf(kv(l, "during the spike"), "p95 %s, p99 %s, max %s",
	           fmt_ms(num(sp, "p95"), a, sizeof(a)), fmt_ms(num(sp, "p99"), c, sizeof(c)),
	           fmt_ms(num(sp, "max"), d, sizeof(d)));
	v = kv(l, "errors");
	buf_addstr(v, fmt_frac(num(sp, "errorRate"), a, sizeof(a)));
	if (num(sp, "dropped") > 0)
		buf_printf(v, "; %s iterations dropped (no free VU)",
		           fmt_n(num(sp, "dropped"), c, sizeof(c)));
	const json_t *rec = json_object_get(sp, "recovered");
	const char *basis = str(sp, "recoveryBasis");
	double thr = num(sp, "recoveryThreshold"), hold = num(sp, "stableForS");
	v = kv(l, "recovered");
	if (json_is_true(rec)) {
		buf_printf(v, "yes, %s after the spike", fmt_s(num(sp, "recoverySeconds"), a, 64));
		if (isfinite(thr))
			buf_printf(v, " (p95 back under %s", fmt_ms(thr, c, sizeof(c)));
		if (isfinite(thr) && basis)
			buf_printf(v, ", %s", basis);
		if (isfinite(thr) && isfinite(hold))
			buf_printf(v, ", and stayed there %s", fmt_s(hold, d, sizeof(d)));
		if (isfinite(thr))
			buf_addstr(v, ")");
	} else if (json_is_false(rec)) {
		buf_addstr(v, "no: ");
		if (isfinite(num(sp, "backUnderAfterS")))
			buf_printf(v,
			           "p95 was back under %s %s after the spike, but the observation "
			           "ended before it held %s",
			           fmt_ms(thr, a, sizeof(a)),
			           fmt_s(num(sp, "backUnderAfterS"), c, sizeof(c)),
			           fmt_s(hold, d, sizeof(d)));
		else
			buf_printf(v, "p95 not back under %s for %s within the observation",
			           fmt_ms(thr, a, sizeof(a)), fmt_s(hold, c, sizeof(c)));
	} else {
		buf_addstr(v, "not judged (no p95 objective and no base phase to compare)");
	}
	return true;
}

static const char *drift_label(const char *k)
{
	return !strcmp(k, "p95") ? "p95 latency" : !strcmp(k, "errorRate") ? "error rate" : k;
}

/* The soak's stability; false when it did not run. */
static bool soak_kvs(const json_t *doc, struct kvs *l)
{
	const json_t *so = obj(doc, "soak");
	if (!so)
		return false;
	char a[64], c[64], w[64], ws[64];
	/* the soak's own verdict: its SLOs and its drift together */
	buf_addstr(kv(l, "verdict"), str(so, "verdict") ? str(so, "verdict") : "?");
	const json_t *d = obj(so, "drift");
	if (!d) {
		buf_addstr(kv(l, "drift"), "not judged (no drift analysis in the soak's result)");
		return true;
	}
	buf_addstr(kv(l, "stability"), str(d, "verdict") ? str(d, "verdict") : "?");
	static const char *const keys[] = { "p95", "errorRate", "throughput" };
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const json_t *m = obj(d, keys[i]);
		if (!m)
			continue;
		struct buf *v = kv(l, drift_label(keys[i]));
		buf_addstr(v, str(m, "describe") ? str(m, "describe") : "?");
		if (json_is_true(json_object_get(m, "drifting")))
			buf_addstr(v,
			           json_is_true(json_object_get(m, "adverse"))
			               ? " (drifting, for the worse)"
			           : json_is_false(json_object_get(m, "material"))
			               ? " (a significant trend, too small to matter over the span)"
			               : " (drifting)");
	}
	if (isfinite(num(d, "from")) && isfinite(num(d, "to")))
		buf_printf(kv(l, "judged over"), "%s to %s of the soak, %s windows of %s",
		           fmt_s(num(d, "from"), a, sizeof(a)), fmt_s(num(d, "to"), c, sizeof(c)),
		           fmt_n(num(d, "windows"), w, sizeof(w)),
		           fmt_s(num(d, "windowS"), ws, sizeof(ws)));
	return true;
}

/* A leak verdict in a few words. */
static const char *leak_word(const json_t *m)
{
	const json_t *lk = json_object_get(m, "leaking");
	if (json_is_false(json_object_get(m, "judged")))
		return "not judged";
	return json_is_true(lk) ? "LEAKING" : json_is_false(lk) ? "no leak" : "not judged";
}

/* The leak verdicts: a row per watched metric; false when none was judged. */
static bool leaks_tab(const json_t *doc, struct tab *t)
{
	const json_t *lk = obj(obj(doc, "leaks"), "verdicts");
	static const char *const head[] = { "metric", "verdict", "detail", NULL };
	tab_init(t, head);
	const char *k;
	json_t *m;
	json_object_foreach((json_t *)lk, k, m)
	{
		if (!json_is_object(m))
			continue; /* "findings" */
		bool leaking = json_is_true(json_object_get(m, "leaking"));
		if (!tab_row(t, leaking ? "fail" : NULL))
			continue;
		tab_str(t, k);
		tab_str(t, leak_word(m));
		tab_str(t, str(m, "describe") ? str(m, "describe") : str(m, "why"));
	}
	return t->nrows > 0;
}

/* Strings of the array a, each as a list item. */
static void list_html(struct buf *b, const json_t *a, const char *cls, const char *skip)
{
	size_t i;
	json_t *e;
	bool open = false;
	json_array_foreach(a, i, e)
	{
		if (i == ROWS_MAX)
			break;
		if (!json_is_string(e) || (skip && !strcmp(json_string_value(e), skip)))
			continue;
		if (!open)
			buf_printf(b, "<ul class=\"%s\">", cls);
		open = true;
		put(b, "<li>");
		put_text(b, F_HTML, json_string_value(e), TEXT_MAX_CHARS);
		put(b, "</li>");
	}
	if (open)
		put(b, "</ul>\n");
}

static void list_md(struct buf *b, const json_t *a, const char *skip)
{
	size_t i;
	json_t *e;
	bool any = false;
	json_array_foreach(a, i, e)
	{
		if (i == ROWS_MAX)
			break;
		if (!json_is_string(e) || (skip && !strcmp(json_string_value(e), skip)))
			continue;
		put(b, "- ");
		put_text(b, F_MD, json_string_value(e), TEXT_MAX_CHARS);
		put(b, "\n");
		any = true;
	}
	if (any)
		put(b, "\n");
}

/* The USE table of the bottleneck (a row per resource). */
static bool use_tab(const json_t *bn, struct tab *t)
{
	static const char *const head[] = { "resource",  "utilisation", "saturation", "errors",
		                            "saturated", "#since",      NULL };
	tab_init(t, head);
	size_t i;
	json_t *e;
	json_array_foreach(arr(bn, "resources"), i, e)
	{
		bool sat = json_is_true(json_object_get(e, "saturated"));
		if (!tab_row(t, sat ? "fail" : "pass"))
			continue;
		char a[64];
		tab_str(t, str(e, "resource"));
		tab_str(t, str(e, "utilisation"));
		tab_str(t, str(e, "saturation"));
		tab_str(t, str(e, "errors"));
		tab_str(t, sat ? "yes" : "no");
		tab_str(t, isfinite(num(e, "sinceS")) ? fmt_s(num(e, "sinceS"), a, sizeof(a)) : "");
	}
	return t->nrows > 0;
}

static bool per_request_tab(const json_t *doc, struct tab *t)
{
	static const char *const head[] = { "counter", "#per request", "phase", NULL };
	tab_init(t, head);
	size_t i;
	json_t *e;
	json_array_foreach(arr(doc, "perRequest"), i, e)
	{
		char a[64];
		if (num(e, "value") == 0 || !tab_row(t, NULL))
			continue; /* a counter that did not grow */
		tab_str(t, str(e, "metric"));
		tab_str(t, fmt_n(num(e, "value"), a, sizeof(a)));
		tab_str(t, str(e, "phase"));
	}
	return t->nrows > 0;
}

static bool top_functions_tab(const json_t *pr, struct tab *t)
{
	static const char *const head[] = { "function", "#self", "#total", NULL };
	tab_init(t, head);
	size_t i;
	json_t *e;
	json_array_foreach(arr(pr, "topFunctions"), i, e)
	{
		char a[64];
		if (!tab_row(t, NULL))
			continue;
		tab_str(t, str(e, "name"));
		tab_str(t, fmt_frac(num(e, "self"), a, sizeof(a)));
		tab_str(t, fmt_frac(num(e, "total"), a, sizeof(a)));
	}
	return t->nrows > 0;
}

/* The profile's figures (not its error). */
static void profile_kvs(const json_t *pr, struct kvs *l)
{
	char a[64], c[64];
	struct buf *v = kv(l, "process");
	buf_addstr(v, str(pr, "comm") ? str(pr, "comm") : "?");
	if (isfinite(num(pr, "pid")))
		buf_printf(v, " (pid %s)", fmt_n(num(pr, "pid"), a, sizeof(a)));
	v = kv(l, "samples");
	buf_printf(v, "%s at %s Hz", fmt_n(num(pr, "samples"), a, sizeof(a)),
	           fmt_n(num(pr, "hz"), c, sizeof(c)));
	if (isfinite(num(pr, "fromS")) && isfinite(num(pr, "toS")))
		buf_printf(v, ", from %s", fmt_s(num(pr, "fromS"), a, sizeof(a))),
		    buf_printf(v, " to %s of the load phase", fmt_s(num(pr, "toS"), c, sizeof(c)));
	if (str(pr, "endedBy"))
		buf_printf(v, " (ended by %s)", str(pr, "endedBy"));
	buf_addstr(kv(l, "flame graph"), str(pr, "svg") ? str(pr, "svg") : "(not written)");
}

/* The USL fit's figures; false when there is no fit (fit->error says why). */
static bool fit_kvs(const json_t *fit, struct kvs *l)
{
	if (!fit || str(fit, "error"))
		return false;
	char a[64], c[64], d[64];
	buf_printf(kv(l, "model"),
	           "X(N) = λN / (1 + σ(N−1) + κN(N−1)), N = X·R (Little's law: requests in "
	           "service)");
	buf_printf(kv(l, "coefficients"), "σ (contention) = %s, κ (coherency) = %s, λ = %s/s",
	           fmt_n(num(fit, "sigma"), a, sizeof(a)), fmt_n(num(fit, "kappa"), c, sizeof(c)),
	           fmt_n(num(fit, "lambda"), d, sizeof(d)));
	double nstar = num(fit, "nStar"), xmax = num(fit, "xMax");
	struct buf *v = kv(l, "peak");
	if (isfinite(xmax) && isfinite(nstar))
		buf_printf(v, "X_max = %s at N* = %s", fmt_rate(xmax, a, sizeof(a)),
		           fmt_n(nstar, c, sizeof(c)));
	else if (isfinite(xmax))
		buf_printf(v, "levels off towards X_max = %s", fmt_rate(xmax, a, sizeof(a)));
	else
		buf_addstr(v, "no limit over the measured levels (linear)");
	buf_addstr(kv(l, "R²"), fmt_n(num(fit, "r2"), a, sizeof(a)));
	if (str(fit, "limit"))
		buf_addstr(kv(l, "limit"), str(fit, "limit"));
	if (str(fit, "verdict"))
		buf_addstr(kv(l, "verdict"), str(fit, "verdict"));
	return true;
}

static bool has_cost(const json_t *plan)
{
	return isfinite(num(obj(plan, "inputs"), "costPerInstanceMonth"));
}

/* The plan's capacity figures. */
static void plan_kvs(const json_t *plan, struct kvs *l)
{
	const json_t *in = obj(plan, "inputs"), *cap = obj(plan, "capacity");
	char a[64], c[64], d[64];
	buf_printf(kv(l, "today"), "%s at %s utilisation on %s instance%s",
	           fmt_rate(num(in, "currentRps"), a, sizeof(a)),
	           fmt_pct(num(cap, "utilPercent"), c, sizeof(c)),
	           fmt_n(num(in, "instances"), d, sizeof(d)), num(in, "instances") == 1 ? "" : "s");
	buf_printf(kv(l, "one instance"), "%s at 100%%, %s at the %s buffer",
	           fmt_rate(num(cap, "perInstanceRps"), a, sizeof(a)),
	           fmt_rate(num(cap, "bufferRps") / MAX(num(in, "instances"), 1), c, sizeof(c)),
	           fmt_pct(num(in, "bufferPercent"), d, sizeof(d)));
	if (isfinite(num(in, "growthPercentPerMonth")) && num(in, "growthPercentPerMonth") > 0)
		buf_printf(kv(l, "growth"), "%s per month",
		           fmt_pct(num(in, "growthPercentPerMonth"), a, sizeof(a)));
	if (has_cost(plan)) {
		struct buf *v = kv(l, "cost");
		buf_printf(v, "%s per instance-month",
		           fmt_n(num(in, "costPerInstanceMonth"), a, 64));
		if (str(in, "currency"))
			buf_printf(v, " (%s)", str(in, "currency"));
	}
}

/* The plan's scenarios (2x, 5x, 10x...). */
static bool scenarios_tab(const json_t *plan, struct tab *t)
{
	bool cost = has_cost(plan);
	static const char *const head[] = { "scenario",     "#load", "#instances", "#add",
		                            "#utilisation", "when",  "action",     NULL };
	static const char *const head_cost[] = { "scenario", "#load",        "#instances",
		                                 "#add",     "#utilisation", "#cost/month",
		                                 "when",     "action",       NULL };
	tab_init(t, cost ? head_cost : head);
	size_t i;
	json_t *s;
	json_array_foreach(arr(plan, "scenarios"), i, s)
	{
		char a[64];
		if (!tab_row(t, NULL))
			continue;
		tab_cell(t, "%sx", fmt_n(num(s, "multiple"), a, sizeof(a)));
		tab_str(t, fmt_rate(num(s, "rps"), a, sizeof(a)));
		tab_str(t, isfinite(num(s, "instances")) ? fmt_n(num(s, "instances"), a, sizeof(a))
		                                         : "none carries it");
		double add = num(s, "add"), rem = num(s, "remove");
		if (rem > 0)
			tab_cell(t, "−%s", fmt_n(rem, a, sizeof(a)));
		else
			tab_cell(t, "+%s", fmt_n(isfinite(add) ? add : 0, a, sizeof(a)));
		tab_str(t, fmt_pct(num(s, "utilPercent"), a, sizeof(a)));
		if (cost)
			tab_cell(t, "%.2f", num(s, "costMonth"));
		double m = num(s, "month");
		if (isfinite(m))
			tab_cell(t, "month %.0f%s", m,
			         json_is_false(json_object_get(s, "withinHorizon"))
			             ? " (after the horizon)"
			             : "");
		else
			tab_str(t, isfinite(num(s, "inMonths")) ? NULL : "no growth reaches it");
		tab_str(t, str(s, "action"));
	}
	return t->nrows > 0;
}

/* The manifests (HPA, KEDA) of plan into hpa and keda; false with the reason in err. */
static bool manifests(const json_t *plan, struct buf *hpa, struct buf *keda, char *err,
                      size_t errlen)
{
	struct k8s_plan p;
	if (k8s_plan_read(plan, &p, err, errlen) < 0)
		return false;
	struct k8s_autoscale a = {
		.name = K8S_NAME,
		.ns = K8S_NAMESPACE,
		.metric = K8S_METRIC,
		.prometheus = K8S_PROM,
		.plan = &p,
		.plan_name = "the assessment's capacity plan",
	};
	int64_t milli;
	int e = k8s_rps_quantity(p.rps_at_buffer, &milli);
	if (e < 0) {
		snprintf(err, errlen, "one instance at the buffer serves %g req/s: %s",
		         p.rps_at_buffer,
		         e == -ERANGE ? "more than the 1e9 accepted"
		                      : "less than 0.001 (a Kubernetes quantity's precision)");
		return false;
	}
	a.rps_per_pod = (double)milli / 1000;
	a.rps_given = p.rps_at_buffer;
	/* as `capacity k8s --plan`: a load's instance count, or more when R was rounded down */
	const struct k8s_plan_load *ld[2] = { &p.now, &p.peak };
	int *n[2] = { &a.min_replicas, &a.max_replicas };
	enum k8s_source *src[2] = { &a.min_src, &a.max_src };
	double *rps[2] = { &a.min_rps, &a.max_rps };
	for (int i = 0; i < 2; i++) {
		if (k8s_plan_bound(ld[i], a.rps_per_pod, true, n[i], src[i]) < 0) {
			snprintf(err, errlen, "%s needs more than %d replicas", ld[i]->what,
			         K8S_REPLICAS_MAX);
			return false;
		}
		*rps[i] = ld[i]->rps;
	}
	if (a.max_replicas < a.min_replicas)
		a.max_replicas = a.min_replicas;
	char *query = k8s_default_query(a.name, a.ns);
	a.query = query;
	bool ok = k8s_check(&a, err, errlen) == 0;
	if (ok) {
		k8s_hpa_yaml(&a, hpa);
		k8s_keda_yaml(&a, keda);
	}
	free(query);
	return ok;
}

/* Why there are no manifests, when the plan is missing. */
static void no_plan(struct buf *t, const json_t *cap)
{
	buf_addstr(t, "No capacity plan");
	if (str(cap, "planError"))
		buf_printf(t, ": %s", str(cap, "planError"));
	else if (!cap)
		buf_addstr(t, ": the assessment has no capacity part");
	buf_addstr(t, ".");
}

/* =========================================================================================
 * The report: one writer for HTML and Markdown (charts in HTML only)
 * ========================================================================================= */

static const char extra_style[] =
    ".impact-critical{background:#7f1d1d;color:#fff}.impact-high{background:#fee2e2;"
    "color:#991b1b}.impact-medium{background:#fef3c7;color:#92400e}.impact-low{background:"
    "#dbeafe;color:#1e40af}.impact-info{background:#e5e7eb;color:#374151}"
    "ol.findings li{margin:6px 0}ol.findings .badge{font-size:12px;min-width:58px;"
    "text-align:center;margin-right:6px}.area{color:#6b7280;margin-right:6px}"
    "ul.phase-findings{margin:2px 0 8px;padding-left:20px}td .badge{padding:1px 8px}"
    "p.verdict .badge{margin-right:8px}#autoscaling pre{background:#f9fafb;padding:8px 10px;"
    "border-radius:6px;border:1px solid #e5e7eb}dl.kv dd{word-break:normal;"
    "overflow-wrap:anywhere}main li,main p{overflow-wrap:anywhere}td{overflow-wrap:"
    "break-word}";

/* Where a report goes: its buffer, its format (F_HTML or F_MD), what it shows. */
struct out {
	struct buf *b;
	enum fmt f;
	const struct ctx *c;
	const json_t *doc;
};

/* A section: <section id=ID><h2>TITLE</h2> or "## TITLE"; o_end() closes it. */
static void o_section(struct out *o, const char *id, const char *title)
{
	if (o->f == F_HTML)
		buf_printf(o->b, "<section id=\"%s\"><h2>%s</h2>\n", id, title);
	else
		buf_printf(o->b, "## %s\n\n", title);
}

static void o_end(struct out *o)
{
	if (o->f == F_HTML)
		put(o->b, "</section>\n");
}

static void o_h3(struct out *o, const char *title)
{
	buf_printf(o->b, o->f == F_HTML ? "<h3>%s</h3>\n" : "### %s\n\n", title);
}

/* A sentence of plain text: a paragraph (with id and class in HTML when given). */
static void o_para(struct out *o, const char *id, const char *cls, const char *text)
{
	if (o->f == F_HTML) {
		put(o->b, "<p");
		if (cls)
			buf_printf(o->b, " class=\"%s\"", cls);
		if (id)
			buf_printf(o->b, " id=\"%s\"", id);
		put(o->b, ">");
	}
	put_text(o->b, o->f, text, TEXT_MAX_CHARS);
	put(o->b, o->f == F_HTML ? "</p>\n" : "\n\n");
}

/* Why a part is missing (a muted note with id). */
static void o_note(struct out *o, const char *id, const char *text)
{
	o_para(o, id, "muted", text);
}

/* A muted note with id in an HTML page. */
static void html_note(struct buf *b, const char *id, const char *text)
{
	struct out o = { b, F_HTML, NULL, NULL };
	o_note(&o, id, text);
}

/* printf of plain text as a note. */
static void o_notef(struct out *o, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void o_notef(struct out *o, const char *id, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	o_note(o, id, s ? s : "");
	free(s);
}

static void o_why_missing(struct out *o, const char *phase, const char *what, const char *id)
{
	struct buf t = { 0 };
	why_missing(&t, o->doc, phase, what);
	o_note(o, id, t.p);
	buf_free(&t);
}

static void o_kvs(struct out *o, const struct kvs *l, const char *id)
{
	if (o->f == F_HTML)
		kvs_html(o->b, l, id);
	else
		kvs_md(o->b, l);
}

static void o_tab(struct out *o, const struct tab *t, const char *id)
{
	if (o->f == F_HTML)
		tab_html(o->b, t, id, o->c->base);
	else
		tab_md(o->b, t, o->c->base);
}

/* The strings of the array a (but skip) as a list of class cls. */
static void o_list(struct out *o, const json_t *a, const char *cls, const char *skip)
{
	if (o->f == F_HTML)
		list_html(o->b, a, cls, skip);
	else
		list_md(o->b, a, skip);
}

/* Markdown: where the phase's charts are (its own report). */
static void o_charts_link(struct out *o, const char *phase)
{
	const char *rep = str(phase_of(o->doc, phase, NULL), "report");
	if (o->f == F_MD && safe_href(rep))
		buf_printf(o->b, "Charts: the %s phase's report, [%s](%s%s).\n\n", phase, rep,
		           o->c->base, rep);
}

/* The SLOs' latency objectives at percentile pct as reference lines on c. */
static void slo_refs(struct svgchart *c, const json_t *doc, double pct)
{
	struct slo_set set = { 0 };
	char err[256];
	const char *spec = str(doc, "slo");
	if (!spec || slo_parse(spec, &set, err, sizeof(err)) < 0)
		return;
	for (int i = 0; i < set.n; i++)
		if (set.item[i].kind == SLO_LATENCY && set.item[i].pct == pct)
			svgchart_ref(c, set.item[i].value, set.item[i].text, "#dc2626");
}

static void render(struct buf *b, struct svgchart *c)
{
	svgchart_render(c, b);
	svgchart_free(c);
}

/* The phases of r's test type, for shading. */
static const json_t *tt_phases(const struct result *r)
{
	return r ? json_object_get(json_object_get(r->options, "testType"), "phases") : NULL;
}

/* The breakpoint phase's offered and served rate, and its latency, over time. */
static void html_bp_charts(struct buf *b, const struct ctx *c)
{
	const struct result *r = phase_result(c, "breakpoint");
	const json_t *steps = arr(c->doc, "steps");
	const json_t *bp = obj(c->doc, "breakingPoint");
	int n = (int)MIN(json_array_size(steps), (size_t)ROWS_MAX);
	if (!r && !n)
		return;
	double mark = json_is_true(json_object_get(bp, "found")) ? num(bp, "atS") : NAN;
	struct svgchart *ch =
	    svgchart_new("chart-breakpoint-rate", "Offered and served rate (breakpoint phase)",
	                 "seconds since the phase's start", "requests per second");
	if (r)
		svgchart_extend_x(ch, r->duration_s);
	svgchart_mark(ch, mark, "breaking point");
	/* a closed model's steps offer VUs: not on a requests-per-second axis */
	struct svgchart_line *off =
	    n && !closed_model(c->doc) ? svgchart_line(ch, "offered/s", 2 * n) : NULL;
	struct svgchart_line *srv = NULL;
	if (r)
		srv = svgchart_ts_metric(ch, r, "http_reqs", SVGCHART_PER_SECOND, 0, "served/s");
	struct svgchart_line *srv_steps =
	    !srv && n ? svgchart_line(ch, "served/s (steps)", n) : NULL;
	for (int i = 0; i < n; i++) {
		const json_t *e = json_array_get(steps, (size_t)i);
		double a = num(e, "start"), z = num(e, "end"), o = num(e, "offered");
		double from = num(e, "offeredFrom"), to = num(e, "offeredTo");
		svgchart_add(off, a, isfinite(from) ? from : o);
		svgchart_add(off, z, isfinite(to) ? to : o);
		svgchart_add(srv_steps, (a + z) / 2, num(e, "throughput"));
		if (isfinite(z))
			svgchart_extend_x(ch, z);
	}
	svgchart_line_dashed(off, true);
	svgchart_line_color(off, "#6b7280");
	if (r) {
		struct svgchart_line *f =
		    svgchart_ts_metric(ch, r, "http_req_failed", SVGCHART_FAILED, 0, "failed/s");
		svgchart_line_color(f, "#dc2626");
	}
	render(b, ch);

	struct svgchart *l =
	    svgchart_new("chart-breakpoint-latency", "Latency as the rate rose (breakpoint phase)",
	                 "seconds since the phase's start", "milliseconds");
	if (r) {
		svgchart_extend_x(l, r->duration_s);
		svgchart_ts_metric(l, r, "http_req_duration", SVGCHART_V, 2, "p95");
		svgchart_ts_metric(l, r, "http_req_duration", SVGCHART_V, 3, "p99");
	} else {
		struct svgchart_line *p = svgchart_line(l, "p95 (steps)", n);
		for (int i = 0; i < n; i++) {
			const json_t *e = json_array_get(steps, (size_t)i);
			svgchart_add(p, (num(e, "start") + num(e, "end")) / 2, num(e, "p95"));
			svgchart_extend_x(l, num(e, "end"));
		}
	}
	svgchart_mark(l, mark, "breaking point");
	slo_refs(l, c->doc, 95);
	slo_refs(l, c->doc, 99);
	render(b, l);
}

/* The spike phase's rate and latency over time, the spike shaded. */
static void html_spike_charts(struct buf *b, const struct ctx *c)
{
	const struct result *r = phase_result(c, "spike");
	if (!r)
		return;
	const json_t *phases = tt_phases(r);
	const json_t *sp = obj(c->doc, "spike");
	double from = NAN, to = NAN;
	size_t i;
	json_t *p;
	json_array_foreach(phases, i, p)
	{
		const char *n = str(p, "name");
		if (n && !strncmp(n, "spike", 5) && num(p, "durationS") > 0) {
			from = num(p, "startS");
			to = from + num(p, "durationS");
		}
	}
	char peak[64], label[96];
	snprintf(label, sizeof(label), "the spike (%s)",
	         fmt_level(c->doc, num(sp, "peakRps"), peak, sizeof(peak)));
	struct svgchart *ch =
	    svgchart_new("chart-spike-rate", "Request rate (spike phase)",
	                 "seconds since the phase's start", "requests per second");
	svgchart_extend_x(ch, r->duration_s);
	svgchart_phases(ch, phases);
	if (isfinite(from))
		svgchart_band(ch, from, to, label, "#dc2626");
	svgchart_ts_metric(ch, r, "http_reqs", SVGCHART_PER_SECOND, 0, "served/s");
	svgchart_line_color(
	    svgchart_ts_metric(ch, r, "http_req_failed", SVGCHART_FAILED, 0, "failed/s"),
	    "#dc2626");
	render(b, ch);
	struct svgchart *l = svgchart_new("chart-spike-latency", "Latency through the spike",
	                                  "seconds since the phase's start", "milliseconds");
	svgchart_extend_x(l, r->duration_s);
	svgchart_phases(l, phases);
	if (isfinite(from))
		svgchart_band(l, from, to, label, "#dc2626");
	svgchart_ts_metric(l, r, "http_req_duration", SVGCHART_V, 2, "p95");
	svgchart_ts_metric(l, r, "http_req_duration", SVGCHART_V, 3, "p99");
	double thr = num(sp, "recoveryThreshold");
	if (isfinite(thr))
		svgchart_ref(l, thr, "recovery threshold (p95)", "#d97706");
	render(b, l);
}

/* The target's CPU and memory over the phase the bottleneck was judged on (else the load
 * phase), when it was watched. */
static void html_resource_charts(struct buf *b, const struct ctx *c, const json_t *bn)
{
	const char *name = str(bn, "phase");
	const struct result *r = name ? phase_result(c, name) : NULL;
	if (!r || result_find_metric(r, "target_cpu_percent") < 0) {
		name = "load";
		r = phase_result(c, name);
	}
	if (!r || (result_find_metric(r, "target_cpu_percent") < 0 &&
	           result_find_metric(r, "target_rss_bytes") < 0))
		return;
	double since = num(bn, "sinceS");
	bool same = str(bn, "phase") && !strcmp(str(bn, "phase"), name);
	struct svgchart *ch = svgchart_new(
	    "chart-target-cpu",
	    !strcmp(name, "load") ? "The target's CPU and the throughput (load phase)"
	                          : "The target's CPU and the throughput (the phase the "
	                            "bottleneck was judged on)",
	    "seconds since the phase's start", "CPU % of one core; requests/s");
	svgchart_extend_x(ch, r->duration_s);
	svgchart_phases(ch, tt_phases(r));
	if (same)
		svgchart_mark(ch, since, "saturated");
	svgchart_ts_metric(ch, r, "target_cpu_percent", SVGCHART_V, 0, "target CPU %");
	svgchart_line_color(
	    svgchart_ts_metric(ch, r, "http_reqs", SVGCHART_PER_SECOND, 0, "served/s"), "#6b7280");
	render(b, ch);
	struct svgchart *m = svgchart_new("chart-target-memory", "The target's memory (RSS)",
	                                  "seconds since the phase's start", "MiB");
	svgchart_extend_x(m, r->duration_s);
	svgchart_phases(m, tt_phases(r));
	svgchart_line_scale(svgchart_ts_metric(m, r, "target_rss_bytes", SVGCHART_V, 0, "target"),
	                    1 / MIB);
	render(b, m);
	struct svgchart *d =
	    svgchart_new("chart-target-fds", "The target's threads and descriptors",
	                 "seconds since the phase's start", "count");
	svgchart_extend_x(d, r->duration_s);
	svgchart_phases(d, tt_phases(r));
	svgchart_ts_metric(d, r, "target_threads", SVGCHART_V, 0, "threads");
	svgchart_ts_metric(d, r, "target_open_fds", SVGCHART_V, 0, "open fds");
	render(b, d);
}

/* The flame graph doc.profile.svg, read under dir: a relative path without "..". */
static void html_flame(struct buf *b, const struct ctx *c, const char *svg)
{
	char *b64 = NULL;
	if (svg && *svg && svg[0] != '/' && !strstr(svg, "..")) {
		char *path = NULL;
		if (asprintf(&path, "%s/%s", c->dir && *c->dir ? c->dir : ".", svg) < 0)
			path = NULL;
		b64 = html_svg_base64(path, PROFILE_SVG_MAX);
		free(path);
	}
	if (b64) {
		put(b, "<figure class=\"flame\"><img id=\"flamegraph\" alt=\"flame graph of the "
		       "target\" src=\"data:image/svg+xml;base64,");
		put(b, b64);
		put(b, "\"></figure>\n");
		free(b64);
	} else {
		html_note(b, "flamegraph-missing",
		          "The flame graph could not be read beside the report (missing, not an "
		          "SVG, or over 5 MB).");
	}
}

/* The measured points and the fitted curve X(N). */
static void html_fit_chart(struct buf *b, const json_t *fit)
{
	const json_t *pts = arr(fit, "points");
	if (!json_array_size(pts))
		return;
	double sigma = num(fit, "sigma"), kappa = num(fit, "kappa"), lambda = num(fit, "lambda");
	double nstar = num(fit, "nStar"), top = 0, low = INFINITY;
	size_t i;
	json_t *e;
	json_array_foreach(pts, i, e)
	{
		if (isfinite(num(e, "n"))) {
			top = MAX(top, num(e, "n"));
			low = MIN(low, num(e, "n"));
		}
	}
	if (!(low > 0) || !isfinite(low))
		low = 1;
	if (isfinite(nstar) && nstar > top && nstar < 4 * top)
		top = nstar * 1.15;
	struct svgchart *ch =
	    svgchart_new("chart-capacity", "Throughput by concurrency (USL fit)",
	                 "concurrency N = X·R (Little's law)", "responses per second");
	svgchart_extend_x(ch, top);
	int np = (int)MIN(json_array_size(pts), (size_t)4096);
	struct svgchart_line *m = svgchart_line(ch, "measured X(N)", np);
	json_array_foreach(pts, i, e) svgchart_add(m, num(e, "n"), num(e, "x"));
	svgchart_line_points(m, true);
	if (isfinite(sigma) && isfinite(kappa) && isfinite(lambda) && top > low) {
		svgchart_usl_curve(ch, sigma, kappa, lambda, low, top);
	}
	if (isfinite(nstar) && nstar <= top)
		svgchart_mark(ch, nstar, "N*");
	render(b, ch);
}

/* What each phase found, in its own words. */
static void o_phase_findings(struct out *o)
{
	size_t i;
	json_t *p;
	bool any = false;
	json_array_foreach(arr(o->doc, "phases"), i, p)
	{
		if (i == ROWS_MAX)
			break;
		if (!json_array_size(arr(p, "findings")))
			continue;
		if (!any && o->f == F_HTML)
			put(o->b,
			    "<details open id=\"phase-findings\"><summary>What each phase found"
			    "</summary>\n<dl class=\"kv\">");
		any = true;
		put(o->b, o->f == F_HTML ? "<dt>" : "**");
		put_text(o->b, o->f, str(p, "name") ? str(p, "name") : "?", NAME_MAX_CHARS);
		put(o->b, o->f == F_HTML ? "</dt><dd>" : "**\n\n");
		o_list(o, arr(p, "findings"), "phase-findings", NULL);
		if (o->f == F_HTML)
			put(o->b, "</dd>");
	}
	if (any && o->f == F_HTML)
		put(o->b, "</dl></details>\n");
}

static void sec_summary(struct out *o)
{
	struct kvs l = { 0 };
	struct tab t;
	o_section(o, "summary", "Summary");
	summary_kvs(o->doc, &l);
	o_kvs(o, &l, "summary-figures");
	kvs_free(&l);
	o_h3(o, "Verdict per test type");
	phases_tab(o->doc, &t);
	if (t.nrows)
		o_tab(o, &t, "phases");
	else
		o_note(o, "phases-missing", "No phase is listed in the assessment.");
	tab_free(&t);
	o_phase_findings(o);
	o_end(o);
}

static void sec_findings(struct out *o)
{
	const json_t *f = arr(o->doc, "findings");
	o_section(o, "findings", "Findings");
	if (!json_array_size(f)) {
		o_note(o, "findings-none", "No finding.");
		o_end(o);
		return;
	}
	bool html = o->f == F_HTML;
	if (html)
		put(o->b, "<ol class=\"findings\">\n");
	size_t i;
	json_t *e;
	json_array_foreach(f, i, e)
	{
		if (i == ROWS_MAX)
			break;
		const char *imp = str(e, "impact") ? str(e, "impact") : "?";
		if (html)
			buf_printf(o->b, "<li><span class=\"badge %s\">", impact_class(imp));
		else
			buf_printf(o->b, "%zu. **", i + 1);
		put_text(o->b, o->f, imp, 20);
		put(o->b, html ? "</span>" : "**");
		if (str(e, "area")) {
			put(o->b, html ? "<span class=\"area\">" : " (");
			put_text(o->b, o->f, str(e, "area"), 40);
			put(o->b, html ? "</span>" : ")");
		}
		put(o->b, html ? "" : ": ");
		put_text(o->b, o->f, str(e, "text") ? str(e, "text") : "", TEXT_MAX_CHARS);
		put(o->b, html ? "</li>\n" : "\n");
	}
	put(o->b, html ? "</ol>\n" : "\n");
	o_end(o);
}

/* The figures fill() finds in the document (as ID-figures), or why the phase called phase
 * left none (what: "No spike"; as ID-missing). */
static void o_figures(struct out *o, bool (*fill)(const json_t *, struct kvs *), const char *id,
                      const char *phase, const char *what)
{
	struct kvs l = { 0 };
	char name[64];
	if (fill(o->doc, &l)) {
		snprintf(name, sizeof(name), "%s-figures", id);
		o_kvs(o, &l, name);
	} else {
		snprintf(name, sizeof(name), "%s-missing", id);
		o_why_missing(o, phase, what, name);
	}
	kvs_free(&l);
}

static void sec_breaking_point(struct out *o)
{
	struct tab t;
	o_section(o, "breaking-point", "Breaking point");
	o_figures(o, bp_kvs, "breaking-point", "breakpoint", "No breaking point");
	if (o->f == F_HTML)
		html_bp_charts(o->b, o->c);
	if (steps_tab(o->doc, &t)) {
		o_h3(o, "Steps");
		o_tab(o, &t, "steps");
		o_para(o, "steps-note", "note",
		       "The breaking point above is judged on each window of the ramp (1 s by "
		       "default), where the target still kept up with the offered rate; this table "
		       "groups the ramp in wider slices, so its rows straddle it.");
	}
	tab_free(&t);
	o_charts_link(o, "breakpoint");
	o_end(o);
}

static void sec_spike(struct out *o)
{
	o_section(o, "spike", "Spike");
	o_figures(o, spike_kvs, "spike", "spike", "No spike");
	if (o->f == F_HTML)
		html_spike_charts(o->b, o->c);
	o_charts_link(o, "spike");
	o_end(o);
}

static void sec_soak(struct out *o)
{
	struct tab t;
	o_section(o, "soak", "Soak: stability and leaks");
	o_figures(o, soak_kvs, "soak", "soak", "No soak");
	const json_t *lk = obj(o->doc, "leaks");
	o_h3(o, "Leaks");
	if (leaks_tab(o->doc, &t)) {
		struct buf w = { 0 };
		buf_printf(&w, "Watched in the %s phase.",
		           str(lk, "phase") ? str(lk, "phase") : "?");
		o_para(o, NULL, NULL, w.p);
		buf_free(&w);
		o_tab(o, &t, "leaks");
		o_list(o, arr(lk, "findings"), "findings", NULL);
	} else {
		struct buf w = { 0 };
		why_no_leaks(&w, o->doc, "No leak verdict");
		o_note(o, "leaks-missing", w.p);
		buf_free(&w);
	}
	tab_free(&t);
	o_charts_link(o, "soak");
	o_end(o);
}

/* The bottleneck's verdict line: the verdict (a badge), the resource, the phase. */
static void o_bottleneck_verdict(struct out *o, const json_t *bn)
{
	const char *v = str(bn, "verdict") ? str(bn, "verdict") : "?";
	bool html = o->f == F_HTML;
	if (html)
		buf_printf(o->b, "<p><span class=\"badge %s\" id=\"bottleneck-verdict\">",
		           !strcmp(v, "none")      ? "good"
		           : !strcmp(v, "unknown") ? "warn"
		                                   : "bad");
	else
		put(o->b, "**");
	put_text(o->b, o->f, v, NAME_MAX_CHARS);
	put(o->b, html ? "</span> <b>" : "**: ");
	put_text(o->b, o->f, str(bn, "resource") ? str(bn, "resource") : "", NAME_MAX_CHARS);
	put(o->b, html ? "</b>" : "");
	if (str(bn, "phase")) {
		put(o->b, " (judged on the ");
		put_text(o->b, o->f, str(bn, "phase"), NAME_MAX_CHARS);
		put(o->b, " phase)");
	}
	put(o->b, html ? "</p>\n" : "\n\n");
}

static void o_profile(struct out *o)
{
	const json_t *pr = obj(o->doc, "profile");
	struct kvs l = { 0 };
	struct tab t;
	if (o->f == F_HTML)
		put(o->b, "<h3 id=\"profile\">CPU profile of the target (load phase)</h3>\n");
	else
		o_h3(o, "CPU profile of the target (load phase)");
	if (!pr) {
		struct buf w = { 0 };
		why_missing_load(
		    &w, o->doc, NULL, "No CPU profile",
		    "the load phase ran without --profile or without a watched target.");
		o_note(o, "profile-missing", w.p);
		buf_free(&w);
		return;
	}
	if (str(pr, "error")) {
		o_notef(o, "profile-error", "No profile: %s", str(pr, "error"));
		return;
	}
	profile_kvs(pr, &l);
	o_kvs(o, &l, "profile-figures");
	kvs_free(&l);
	if (top_functions_tab(pr, &t))
		o_tab(o, &t, "top-functions");
	tab_free(&t);
	const char *svg = str(pr, "svg");
	if (o->f == F_HTML)
		html_flame(o->b, o->c, svg);
	else if (safe_href(svg))
		buf_printf(o->b, "The flame graph: [%s](%s%s).\n\n", svg, o->c->base, svg);
}

static void sec_bottleneck(struct out *o)
{
	const json_t *bn = obj(o->doc, "bottleneck");
	struct tab t;
	o_section(o, "bottleneck", "Bottleneck");
	if (bn) {
		o_bottleneck_verdict(o, bn);
		o_para(o, "bottleneck-summary", NULL, str(bn, "summary") ? str(bn, "summary") : "");
		o_list(o, arr(bn, "evidence"), "findings", str(bn, "summary"));
		if (use_tab(bn, &t)) {
			o_h3(o, "Resources (utilisation, saturation, errors)");
			o_tab(o, &t, "use");
		}
		tab_free(&t);
	} else {
		struct buf w = { 0 };
		why_no_bottleneck(&w, o->doc, "No bottleneck verdict");
		o_note(o, "bottleneck-missing", w.p);
		buf_free(&w);
	}
	if (o->f == F_HTML)
		html_resource_charts(o->b, o->c, bn);
	o_h3(o, "Per request");
	if (per_request_tab(o->doc, &t))
		o_tab(o, &t, "per-request");
	else {
		struct buf w = { 0 };
		why_missing_load(&w, o->doc, NULL, "No counter per request",
		                 "the target's metrics were not scraped (--scrape), or none grew.");
		o_note(o, "per-request-missing", w.p);
		buf_free(&w);
	}
	tab_free(&t);
	o_profile(o);
	o_end(o);
}

static void sec_capacity(struct out *o)
{
	const json_t *cap = obj(o->doc, "capacity");
	const json_t *fit = obj(cap, "fit"), *plan = obj(cap, "plan");
	struct kvs l = { 0 };
	struct tab t;
	o_section(o, "capacity", "Capacity");
	o_h3(o, "Scalability (Universal Scalability Law)");
	if (fit_kvs(fit, &l)) {
		o_kvs(o, &l, "fit-figures");
		o_list(o, arr(fit, "warnings"), "warnings", NULL);
		if (o->f == F_HTML)
			html_fit_chart(o->b, fit);
	} else {
		o_notef(o, "fit-error", "Not fitted: %s",
		        str(fit, "error") ? str(fit, "error")
		                          : "the assessment has no fit (no load or breakpoint step "
		                            "with responses).");
	}
	kvs_free(&l);
	o_h3(o, "Plan for growth");
	if (plan) {
		plan_kvs(plan, &l);
		o_kvs(o, &l, "plan-figures");
		kvs_free(&l);
		if (scenarios_tab(plan, &t))
			o_tab(o, &t, "scenarios");
		tab_free(&t);
		o_list(o, arr(plan, "summary"), "findings", NULL);
	} else {
		struct buf e = { 0 };
		no_plan(&e, cap);
		o_note(o, "plan-error", e.p);
		buf_free(&e);
	}
	o_end(o);
}

/* s in a Markdown fenced code block whose fence no line of s can close, its lines
 * sanitized as for a terminal. */
static void md_code(struct buf *b, const char *lang, const char *s)
{
	int run = 0, longest = 0;
	for (const char *p = s; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		longest = MAX(longest, run);
	}
	int fence = MAX(3, longest + 1);
	for (int i = 0; i < fence; i++)
		put(b, "`");
	buf_printf(b, "%s\n", lang);
	for (const char *p = s; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, n);
		term_text(b, line, 65536);
		free(line);
		put(b, "\n");
		p += n + (nl ? 1 : 0);
	}
	for (int i = 0; i < fence; i++)
		put(b, "`");
	put(b, "\n\n");
}

/* A manifest: <pre id=ID> or a YAML code block. */
static void o_yaml(struct out *o, const char *title, const char *id, const char *yaml)
{
	if (o->f == F_HTML) {
		buf_printf(o->b, "<h3>%s</h3>\n<pre id=\"%s\">", title, id);
		put_text(o->b, F_HTML, yaml, 65536);
		put(o->b, "</pre>\n");
	} else {
		buf_printf(o->b, "#### %s\n\n", title);
		md_code(o->b, "yaml", yaml ? yaml : "");
	}
}

static void sec_autoscaling(struct out *o)
{
	const json_t *cap = obj(o->doc, "capacity");
	const json_t *plan = obj(cap, "plan");
	struct buf hpa = { 0 }, keda = { 0 }, e = { 0 };
	char err[512];
	o_section(o, "autoscaling", "Autoscaling");
	if (!plan) {
		no_plan(&e, cap);
		buf_addstr(&e, " No manifests without one.");
		o_note(o, "autoscaling-missing", e.p);
	} else if (!manifests(plan, &hpa, &keda, err, sizeof(err))) {
		o_notef(o, "autoscaling-missing", "No manifests: %s.", err);
	} else {
		o_para(o, NULL, NULL,
		       "For a Deployment called " K8S_NAME " in the namespace " K8S_NAMESPACE
		       " (stampede capacity k8s --plan sets the names, the metric and "
		       "off-hours).");
		o_yaml(o, "HorizontalPodAutoscaler", "hpa-yaml", hpa.p);
		o_yaml(o, "KEDA ScaledObject", "keda-yaml", keda.p);
	}
	buf_free(&hpa);
	buf_free(&keda);
	buf_free(&e);
	o_end(o);
}

/* Every section, in order. */
static void o_sections(struct out *o)
{
	sec_summary(o);
	sec_findings(o);
	sec_breaking_point(o);
	sec_spike(o);
	sec_soak(o);
	sec_bottleneck(o);
	sec_capacity(o);
	sec_autoscaling(o);
}

static void html_header(struct buf *b, const json_t *doc)
{
	const char *url = str(obj(doc, "target"), "url");
	const char *st = str(doc, "status");
	put(b, "<header><h1>stampede assessment: ");
	put_text(b, F_HTML, url ? url : "(unknown target)", NAME_MAX_CHARS);
	put(b, "</h1>\n<p class=\"verdict\">");
	buf_printf(b, "<span class=\"badge %s\" id=\"status\">", badge_of_status(st));
	put_text(b, F_HTML, st ? st : "unknown", 40);
	put(b, "</span>");
	if (str(doc, "statusReason"))
		put_text(b, F_HTML, str(doc, "statusReason"), TEXT_MAX_CHARS);
	put(b, "</p>\n</header>\n");
}

void assess_html_render(const json_t *doc, struct result *const *phases, int nphases,
                        const char *dir, const char *link_base, struct buf *b)
{
	struct ctx c = { doc, phases, nphases > 0 ? nphases : 0, dir, link_base ? link_base : "" };
	struct out o = { b, F_HTML, &c, doc };
	const char *url = str(obj(doc, "target"), "url");
	put(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	       "style-src 'unsafe-inline'; img-src data:\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	       "<link rel=\"icon\" href=\"data:,\">\n<title>stampede assessment: ");
	put_text(b, F_HTML, url ? url : "(unknown target)", NAME_MAX_CHARS);
	buf_printf(b, "</title>\n<style>%s%s</style></head>\n<body>\n", html_report_style,
	           extra_style);
	html_header(b, doc);
	put(b, "<nav><a href=\"#summary\">summary</a><a href=\"#findings\">findings</a>"
	       "<a href=\"#breaking-point\">breaking point</a><a href=\"#spike\">spike</a>"
	       "<a href=\"#soak\">soak</a><a href=\"#bottleneck\">bottleneck</a>"
	       "<a href=\"#capacity\">capacity</a><a href=\"#autoscaling\">autoscaling</a></nav>\n"
	       "<main>\n");
	o_sections(&o);
	put(b, "</main>\n<footer>Generated by stampede ");
	put_text(b, F_HTML, str(doc, "version") ? str(doc, "version") : "", NAME_MAX_CHARS);
	put(b, " from the assessment. Self-contained: no script, no external resource; each "
	       "phase's own report is linked from the summary.</footer>\n</body></html>\n");
}

int assess_html_write(const json_t *doc, struct result *const *phases, int nphases, const char *dir,
                      const char *link_base, const char *path, char *err, size_t errlen)
{
	struct buf b = { 0 };
	assess_html_render(doc, phases, nphases, dir, link_base, &b);
	int rc = outfile_write(path, b.p, b.len, err, errlen);
	buf_free(&b);
	return rc;
}

char *assess_markdown(const json_t *doc, const char *link_base)
{
	struct buf b = { 0 };
	struct ctx c = { doc, NULL, 0, NULL, link_base ? link_base : "" };
	struct out o = { &b, F_MD, &c, doc };
	const char *url = str(obj(doc, "target"), "url");
	put(&b, "# stampede assessment: ");
	put_text(&b, F_MD, url ? url : "(unknown target)", NAME_MAX_CHARS);
	put(&b, "\n\n**Status: ");
	put_text(&b, F_MD, str(doc, "status") ? str(doc, "status") : "unknown", 40);
	put(&b, "**");
	if (str(doc, "statusReason")) {
		put(&b, ": ");
		put_text(&b, F_MD, str(doc, "statusReason"), TEXT_MAX_CHARS);
	}
	put(&b, "\n\n");
	o_sections(&o);
	put(&b, "---\nGenerated by stampede");
	if (str(doc, "version")) {
		put(&b, " ");
		put_text(&b, F_MD, str(doc, "version"), NAME_MAX_CHARS);
	}
	put(&b, " from the assessment (assessment.json).\n");
	return b.p ? b.p : xstrdup("");
}

/* =========================================================================================
 * The terminal summary
 * ========================================================================================= */

struct term {
	struct buf *b;
	bool color;
};

static const char *status_color(const char *st)
{
	const char *b = badge_of_status(st);
	return !strcmp(b, "good")   ? "\033[32m"
	       : !strcmp(b, "bad")  ? "\033[31m"
	       : !strcmp(b, "warn") ? "\033[33m"
	                            : "";
}

static const char *impact_color(const char *imp)
{
	return !imp                       ? ""
	       : !strcmp(imp, "critical") ? "\033[1;31m"
	       : !strcmp(imp, "high")     ? "\033[31m"
	       : !strcmp(imp, "medium")   ? "\033[33m"
	                                  : "";
}

/* s (sanitized, cut at max) in color when the summary has colours. */
static void term_col(struct term *t, const char *col, const char *s, size_t max)
{
	bool c = t->color && col && *col;
	if (c)
		put(t->b, col);
	term_text(t->b, s, max);
	if (c)
		put(t->b, "\033[0m");
}

/* Columns of text padded to w display columns (a UTF-8 character counted once). */
static void term_pad(struct buf *b, const char *s, size_t max, int w)
{
	size_t start = b->len;
	term_text(b, s, max);
	int cols = 0;
	for (size_t i = start; i < b->len; i++)
		cols += (b->p[i] & 0xc0) != 0x80;
	for (; cols < w; cols++)
		put(b, " ");
}

/* The plain text s (sanitized, cut at max characters) wrapped at TERM_WIDTH, written from
 * column col on (what is before it on the line is the caller's), the next lines indented
 * by indent columns; ends the line. */
static void term_wrap_at(struct buf *b, int col, int indent, const char *s, size_t max)
{
	struct buf t = { 0 };
	term_text(&t, s, max);
	int start = col;
	const char *p = t.p ? t.p : "";
	while (*p) {
		const char *sp = strchr(p, ' ');
		size_t n = sp ? (size_t)(sp - p) : strlen(p);
		int w = 0;
		for (size_t i = 0; i < n; i++)
			w += (p[i] & 0xc0) != 0x80;
		if (col > start && col + 1 + w > TERM_WIDTH) {
			buf_printf(b, "\n%*s", indent, "");
			col = start = indent;
		} else if (col > start) {
			put(b, " ");
			col++;
		}
		/* a word wider than a line is cut where the line ends */
		while (w > TERM_WIDTH - col && TERM_WIDTH - col > 0) {
			size_t k = 0;
			for (int cols = 0; cols < TERM_WIDTH - col; k++)
				cols += (p[k + 1] & 0xc0) != 0x80;
			buf_add(b, p, k);
			buf_printf(b, "\n%*s", indent, "");
			w -= TERM_WIDTH - col;
			p += k;
			n -= k;
			col = start = indent;
		}
		buf_add(b, p, n);
		col += w;
		p += n;
		while (*p == ' ')
			p++;
	}
	put(b, "\n");
	buf_free(&t);
}

/* "  LABEL" padded to indent columns, then s wrapped (term_wrap_at). */
static void term_wrap(struct buf *b, const char *label, int indent, const char *s, size_t max)
{
	put(b, "  ");
	term_pad(b, label, 40, indent - 2);
	term_wrap_at(b, indent, indent, s, max);
}

/* s right-aligned in w display columns. */
static void term_rpad(struct buf *b, const char *s, int w)
{
	int cols = 0;
	for (const char *p = s; *p; p++)
		cols += (*p & 0xc0) != 0x80;
	for (; cols < w; cols++)
		put(b, " ");
	term_text(b, s, 40);
}

static void term_phases(struct term *t, const json_t *doc)
{
	size_t i;
	json_t *p;
	if (!json_array_size(arr(doc, "phases"))) {
		put(t->b, "  no phase listed\n");
		return;
	}
	buf_printf(t->b, "  %-12s%-13s%-22s%9s%9s\n", "phase", "status", "verdict", "planned",
	           "ran");
	json_array_foreach(arr(doc, "phases"), i, p)
	{
		if (i == 16)
			break;
		char a[32], c[32];
		const char *st = str(p, "status") ? str(p, "status") : "?";
		struct buf padded = { 0 };
		put(t->b, "  ");
		term_pad(t->b, str(p, "name") ? str(p, "name") : "?", 11, 12);
		term_pad(&padded, st, 12, 13);
		bool col = t->color && *status_color(st);
		buf_printf(t->b, "%s%s%s", col ? status_color(st) : "", padded.p,
		           col ? "\033[0m" : "");
		buf_free(&padded);
		term_pad(t->b, str(p, "verdict") ? str(p, "verdict") : "–", 21, 22);
		term_rpad(t->b, fmt_s(num(p, "plannedS"), a, sizeof(a)), 9);
		term_rpad(t->b, fmt_s(num(p, "ranS"), c, sizeof(c)), 9);
		if (str(p, "reason")) {
			put(t->b, "  ");
			term_text(t->b, str(p, "reason"), 60);
		}
		put(t->b, "\n");
	}
}

/* Empty b for reuse (its text too). */
static void reset(struct buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

/* The figure called key of l, or NULL. */
static const char *kv_get(const struct kvs *l, const char *key)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->key[i], key))
			return l->val[i].p;
	return NULL;
}

static void term_parts(struct term *t, const json_t *doc)
{
	struct kvs l = { 0 };
	struct buf s = { 0 };
	/* the breaking point: the sentence, the knee, past it */
	if (bp_kvs(doc, &l)) {
		const char *how = kv_get(&l, "failed objective");
		const char *paren = how ? strchr(how, '(') : NULL;
		buf_addstr(&s, kv_get(&l, "breaking point"));
		if (paren)
			buf_printf(&s, " %s", paren);
		if (kv_get(&l, "throughput knee"))
			buf_printf(&s, "; knee: %s", kv_get(&l, "throughput knee"));
		if (kv_get(&l, "past it"))
			buf_printf(&s, "; past it: %s", kv_get(&l, "past it"));
		if (kv_get(&l, "trusted"))
			buf_printf(&s, "; not trusted: other processes held the machine's CPU");
	} else {
		why_missing(&s, doc, "breakpoint", "none");
	}
	term_wrap(t->b, "breaking point", 18, s.p, 600);
	kvs_free(&l);
	reset(&s);
	if (spike_kvs(doc, &l)) {
		buf_printf(&s, "peak %s; %s; errors %s; recovered: %s", kv_get(&l, "peak"),
		           kv_get(&l, "during the spike"), kv_get(&l, "errors"),
		           kv_get(&l, "recovered"));
		term_wrap(t->b, "spike", 18, s.p, 600);
	} else {
		why_missing(&s, doc, "spike", "none");
		term_wrap(t->b, "spike", 18, s.p, 600);
	}
	kvs_free(&l);
	reset(&s);
	if (soak_kvs(doc, &l)) {
		buf_printf(&s, "%s", kv_get(&l, "verdict") ? kv_get(&l, "verdict") : "?");
		if (kv_get(&l, "stability"))
			buf_printf(&s, ", %s", kv_get(&l, "stability"));
		for (int i = 0; i < l.n; i++)
			if (strcmp(l.key[i], "stability") &&
			    strstr(l.val[i].p ? l.val[i].p : "", "drifting"))
				buf_printf(&s, "; %s %s", l.key[i], l.val[i].p);
		term_wrap(t->b, "soak", 18, s.p, 600);
	} else {
		why_missing(&s, doc, "soak", "none");
		term_wrap(t->b, "soak", 18, s.p, 600);
	}
	kvs_free(&l);
	reset(&s);
	/* leaks: the leaking metrics, else how many were judged */
	const json_t *lk = obj(obj(doc, "leaks"), "verdicts");
	const char *k;
	json_t *m;
	int judged = 0, watched = 0;
	json_object_foreach((json_t *)lk, k, m)
	{
		if (!json_is_object(m))
			continue;
		watched++;
		judged += strcmp(leak_word(m), "not judged") != 0;
		if (json_is_true(json_object_get(m, "leaking")))
			buf_printf(&s, "%s%s: %s", s.len ? "; " : "", k,
			           str(m, "describe") ? str(m, "describe") : "leaking");
	}
	if (!watched)
		why_no_leaks(&s, doc, "none");
	else if (!s.len && judged)
		buf_printf(&s, "none (%d of %d watched metrics judged)", judged, watched);
	else if (!s.len)
		buf_printf(&s, "not judged (%s)",
		           str(json_object_get(lk, "target_rss_bytes"), "why")
		               ? str(json_object_get(lk, "target_rss_bytes"), "why")
		               : "too short");
	term_wrap(t->b, "leaks", 18, s.p, 600);
	reset(&s);
	const json_t *bn = obj(doc, "bottleneck");
	if (bn) {
		buf_printf(&s, "%s", str(bn, "verdict") ? str(bn, "verdict") : "?");
		if (str(bn, "resource"))
			buf_printf(&s, " (%s)", str(bn, "resource"));
		if (str(bn, "summary"))
			buf_printf(&s, ": %s", str(bn, "summary"));
	} else {
		why_no_bottleneck(&s, doc, "none");
	}
	term_wrap(t->b, "bottleneck", 18, s.p, 2 * (TERM_WIDTH - 18) - 1);
	reset(&s);
	const json_t *cap = obj(doc, "capacity"), *fit = obj(cap, "fit");
	if (fit_kvs(fit, &l))
		buf_printf(&s, "USL %s", kv_get(&l, "peak") ? kv_get(&l, "peak") : "");
	else
		buf_printf(&s, "USL not fitted (%s)",
		           str(fit, "error") ? str(fit, "error") : "none");
	kvs_free(&l);
	const json_t *sc;
	size_t i;
	json_array_foreach(arr(obj(cap, "plan"), "scenarios"), i, sc)
	{
		char a[48], c[48];
		if (i == 6)
			break;
		buf_printf(&s, "%s%sx: %s", i ? ", " : "; instances for ",
		           fmt_n(num(sc, "multiple"), a, 48),
		           isfinite(num(sc, "instances"))
		               ? fmt_n(num(sc, "instances"), c, sizeof(c))
		               : "none carries it");
	}
	if (!obj(cap, "plan") && str(cap, "planError"))
		buf_printf(&s, "; no plan (%s)", str(cap, "planError"));
	term_wrap(t->b, "capacity", 18, s.p, 600);
	buf_free(&s);
}

static void term_findings(struct term *t, const json_t *doc)
{
	const json_t *f = arr(doc, "findings");
	if (!json_array_size(f)) {
		put(t->b, "\nno finding\n");
		return;
	}
	put(t->b, "\nfindings, most important first:\n");
	size_t i;
	json_t *e;
	json_array_foreach(f, i, e)
	{
		if (i == 20) {
			buf_printf(t->b, "  … %zu more in the report\n", json_array_size(f) - i);
			break;
		}
		const char *imp = str(e, "impact") ? str(e, "impact") : "?";
		struct buf line = { 0 };
		buf_printf(t->b, "%3zu. ", i + 1);
		term_col(t, impact_color(imp), imp, 10);
		put(t->b, ": ");
		if (str(e, "area"))
			buf_printf(&line, "%s: ", str(e, "area"));
		buf_addstr(&line, str(e, "text") ? str(e, "text") : "");
		/* the report has them in full: here six lines of the important ones (their
		 * levers too), two of the others (a capacity line ends with its instances and
		 * cost) */
		bool minor = !strcmp(imp, "low") || !strcmp(imp, "info");
		int width = TERM_WIDTH - 7;
		term_wrap_at(t->b, 7 + (int)strlen(imp), 7, line.p,
		             minor ? (size_t)(2 * width - (int)strlen(imp) - 3)
		                   : (size_t)(6 * width - 30));
		buf_free(&line);
	}
}

void assess_text(FILE *f, const json_t *doc, bool color)
{
	struct buf b = { 0 };
	struct term t = { &b, color };
	char a[48], c[48];
	const char *st = str(doc, "status") ? str(doc, "status") : "unknown";
	put(&b, "assessment ");
	term_col(&t, status_color(st), st, 40);
	buf_printf(&b, " in %s: ", fmt_s(num(doc, "durationS"), a, sizeof(a)));
	term_text(&b, str(obj(doc, "target"), "url") ? str(obj(doc, "target"), "url") : "?", 200);
	buf_printf(&b, "\n  expected %s, SLOs ",
	           fmt_level(doc, num(doc, "expectedRps"), a, sizeof(a)));
	term_text(&b, str(doc, "slo") ? str(doc, "slo") : "none", 200);
	buf_printf(&b, ", budget %s\n", fmt_s(num(doc, "budgetS"), c, sizeof(c)));
	if (str(doc, "statusReason"))
		term_wrap(&b, "", 2, str(doc, "statusReason"), 600);
	put(&b, "\n");
	term_phases(&t, doc);
	put(&b, "\n");
	term_parts(&t, doc);
	term_findings(&t, doc);
	if (b.len)
		fwrite(b.p, 1, b.len, f);
	buf_free(&b);
}
