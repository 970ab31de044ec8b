/* capacity_report.c: a capacity plan as a terminal table and a Markdown document. */
#include "output/capacity_report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/common.h"
#include "util/escape.h"

/* --- reading the document --------------------------------------------------------- */

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static double num(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static bool flag(const json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

/* v in format (one double conversion), or none when v is not finite. Returns s. */
static char *fmt_num(double v, const char *format, const char *none, char *s, size_t len)
{
	if (isfinite(v))
		snprintf(s, len, format, v);
	else
		snprintf(s, len, "%s", none);
	return s;
}

/* RPS "1273", "0.4", "1.273e+135" (format_rate); "–" when absent. */
static char *fmt_rps(double v, char *s, size_t len)
{
	if (!isfinite(v))
		return fmt_num(v, "", "–", s, len);
	format_rate(v, s, len);
	return s;
}

/* A percentage "55%", "0.4%", "1e+123%"; "–" when absent. */
static char *fmt_pct(double v, char *s, size_t len)
{
	char p[40];
	if (!isfinite(v))
		return fmt_num(v, "", "–", s, len);
	snprintf(s, len, "%s%%", format_percent(v, p, sizeof(p)));
	return s;
}

/* A cost "124.10", "1.273e+13" from FORMAT_SCI_FROM; "–" when absent. */
static char *fmt_cost(double v, char *s, size_t len)
{
	return fmt_num(v, fabs(v) >= FORMAT_SCI_FROM ? "%.4g" : "%.2f", "–", s, len);
}

/* A count "4" ("none": no count carries it). */
#define fmt_count(v, s, len) fmt_num(v, "%.0f", "none", s, len)

/* N*: "23.4", or "none" (κ = 0: no peak, X levels off at X_max). */
static char *fmt_nstar(const json_t *model, char *s, size_t len)
{
	return fmt_num(num(model, "nStar"), "%.1f", "none", s, len);
}

/* "month 3", "now" (month 1), "month 13 (after the horizon)", "never". */
static char *fmt_month(const json_t *doc, double m, char *s, size_t len)
{
	double horizon = num(json_object_get(doc, "inputs"), "horizonMonths");
	if (!isfinite(m))
		snprintf(s, len, "never");
	else if (m == 1)
		snprintf(s, len, "now");
	else if (isfinite(horizon) && m > horizon)
		snprintf(s, len, "month %.0f (after the horizon)", m);
	else
		snprintf(s, len, "month %.0f", m);
	return s;
}

/* "in 1.7 months", "now", "never". */
static char *fmt_in(double months, char *s, size_t len)
{
	if (!isfinite(months))
		snprintf(s, len, "never");
	else if (months <= 0)
		snprintf(s, len, "now");
	else
		snprintf(s, len, "in %.1f months", months);
	return s;
}

/* When a scenario's load arrives: "month 6 (in 5.0 months)", "month 13 (in 11.5 months;
 * after the horizon)", "now", "never". */
static char *fmt_reached(const json_t *doc, const json_t *sc, char *s, size_t len)
{
	double m = num(sc, "month"), in = num(sc, "inMonths");
	double horizon = num(json_object_get(doc, "inputs"), "horizonMonths");
	if (!isfinite(m))
		snprintf(s, len, "never");
	else if (m == 1 || !(in > 0))
		snprintf(s, len, "now");
	else
		snprintf(s, len, "month %.0f (in %.1f months%s)", m, in,
		         isfinite(horizon) && m > horizon ? "; after the horizon" : "");
	return s;
}

/* The currency as given when it is printable ASCII or UTF-8 text (no controls), else "". */
static const char *currency(const json_t *doc)
{
	const char *c = str(json_object_get(doc, "inputs"), "currency");
	if (!c)
		return "";
	for (const unsigned char *p = (const unsigned char *)c; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return "";
	return c;
}

static bool has_cost(const json_t *doc)
{
	return isfinite(num(json_object_get(doc, "inputs"), "costPerInstanceMonth"));
}

static bool has_optimised(const json_t *doc)
{
	return num(json_object_get(doc, "inputs"), "optimisePercent") > 0;
}

static bool over_concurrency(const json_t *doc)
{
	const char *o = str(json_object_get(doc, "inputs"), "modelOver");
	return o && !strcmp(o, "concurrency");
}

/* "1000 RPS today at 55% on 1 instance; buffer 70%, warning 60%; growth 15%/month over 12
 * months" */
static void headline(struct buf *b, const json_t *doc)
{
	const json_t *in = json_object_get(doc, "inputs"), *cap = json_object_get(doc, "capacity");
	double n = num(in, "instances");
	char r[40], u[48];
	buf_printf(b,
	           "%s RPS today at %s on %.0f instance%s; buffer %.0f%%, warning %.0f%%; "
	           "growth %g%%/month over %.0f months",
	           fmt_rps(num(in, "currentRps"), r, sizeof(r)),
	           fmt_pct(num(cap, "utilPercent"), u, sizeof(u)), n, n == 1 ? "" : "s",
	           num(in, "bufferPercent"), num(in, "warnPercent"),
	           num(in, "growthPercentPerMonth"), num(in, "horizonMonths"));
}

static const char *trigger_label(const char *name)
{
	return !strcmp(name, "warn") ? "warning" : name;
}

/* --- the terminal ----------------------------------------------------------------- */

/* s padded to w display columns (UTF-8 characters counted once), right-aligned when w < 0. */
static void pad(struct buf *b, const char *s, int w)
{
	int cols = 0, aw = w < 0 ? -w : w;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		cols += (*p & 0xc0) != 0x80;
	/* a cell as wide as its column or wider keeps one space from its neighbour */
	if (w < 0)
		for (int c = cols; c < aw || (c == cols && cols >= aw); c++)
			buf_add(b, " ", 1);
	buf_addstr(b, s);
	if (w > 0)
		for (int c = cols; c < aw || (c == cols && cols >= aw); c++)
			buf_add(b, " ", 1);
}

static const char *status_color(const char *s)
{
	return !strcmp(s, "warn")            ? "\033[33m"
	       : !strcmp(s, "over buffer")   ? "\033[31m"
	       : !strcmp(s, "over capacity") ? "\033[1;31m"
	                                     : "";
}

static void text_capacity(struct buf *b, const json_t *doc)
{
	const json_t *in = json_object_get(doc, "inputs"), *cap = json_object_get(doc, "capacity"),
	             *model = json_object_get(doc, "model");
	char x[48], y[48];
	const char *basis = str(cap, "basis");
	bool many = num(in, "instances") > 1;
	buf_printf(b, "  capacity at 100%%      %s RPS",
	           fmt_rps(num(cap, "totalRps"), x, sizeof(x)));
	if (isfinite(num(cap, "perInstanceRps")) && many)
		buf_printf(b, " (%s per instance",
		           fmt_rps(num(cap, "perInstanceRps"), y, sizeof(y)));
	if (basis && model)
		buf_printf(b, "%s%s", many ? ": " : " (",
		           !strcmp(basis, "measured") ? "the best measured; the fit's X_max is "
		                                      : "the fit's X_max; the best measured is ");
	if (basis && model)
		buf_printf(b, "%s",
		           !strcmp(basis, "measured") ? fmt_rps(num(model, "xMax"), y, sizeof(y))
		           : isfinite(num(model, "xMeasured"))
		               ? fmt_rps(num(model, "xMeasured"), y, sizeof(y))
		               : "unknown");
	if ((isfinite(num(cap, "perInstanceRps")) && many) || (basis && model))
		buf_addstr(b, ")");
	buf_printf(b, "\n  at the %3.0f%% buffer    %s RPS\n  at the %3.0f%% warning   %s RPS\n",
	           num(in, "bufferPercent"), fmt_rps(num(cap, "bufferRps"), x, sizeof(x)),
	           num(in, "warnPercent"), fmt_rps(num(cap, "warnRps"), y, sizeof(y)));
	if (model)
		buf_printf(b,
		           "  USL model             sigma %.4g, kappa %.4g, lambda %.4g, R² %.4f: "
		           "X_max %s RPS at N* %s\n                        %s\n",
		           num(model, "sigma"), num(model, "kappa"), num(model, "lambda"),
		           num(model, "r2"), fmt_rps(num(model, "xMax"), y, sizeof(y)),
		           fmt_nstar(model, x, sizeof(x)), str(model, "verdict") ?: "");
	if (has_cost(doc))
		buf_printf(b, "  cost today            %s%s%s per month\n",
		           fmt_cost(num(cap, "costMonth"), x, sizeof(x)), *currency(doc) ? " " : "",
		           currency(doc));
}

static void text_months(struct buf *b, const json_t *doc, bool color)
{
	size_t i;
	const json_t *m;
	buf_addstr(b, "\n  month       RPS   util  instances  status\n");
	json_array_foreach(json_object_get(doc, "months"), i, m)
	{
		char r[48], u[48], n[48];
		const char *st = str(m, "status") ?: "?", *c = color ? status_color(st) : "";
		buf_printf(b, "  %5.0f  ", num(m, "month"));
		pad(b, fmt_rps(num(m, "rps"), r, sizeof(r)), -8);
		pad(b, fmt_pct(num(m, "utilPercent"), u, sizeof(u)), -7);
		pad(b, fmt_count(num(m, "instances"), n, sizeof(n)), -11);
		buf_printf(b, "  %s%s%s\n", c, st, *c ? "\033[0m" : "");
	}
}

static void text_triggers(struct buf *b, const json_t *doc)
{
	size_t i;
	const json_t *t;
	buf_addstr(b, "\n  ");
	pad(b, "trigger", 10);
	pad(b, "at", -5);
	pad(b, "", 3);
	pad(b, "RPS", -8);
	buf_addstr(b, "   ");
	pad(b, "crossed in (today's fleet)", 30);
	buf_addstr(b, "from now\n");
	json_array_foreach(json_object_get(doc, "triggers"), i, t)
	{
		char r[48], mo[48], in[32], what[32];
		snprintf(what, sizeof(what), "%.0f%%", num(t, "utilPercent"));
		buf_addstr(b, "  ");
		pad(b, trigger_label(str(t, "name") ?: "?"), 10);
		pad(b, what, -5);
		pad(b, "", 3);
		pad(b, fmt_rps(num(t, "rps"), r, sizeof(r)), -8);
		buf_addstr(b, "   ");
		pad(b, fmt_month(doc, num(t, "month"), mo, sizeof(mo)), 30);
		buf_printf(b, "%s\n", fmt_in(num(t, "inMonths"), in, sizeof(in)));
	}
}

static void text_schedule(struct buf *b, const json_t *doc)
{
	size_t i;
	const json_t *s;
	buf_addstr(b,
	           "\n  scaling schedule (order the next instance at the warning; have it before "
	           "the buffer)\n"
	           "  instances   warning at   buffer at   ");
	pad(b, "order the next", 30); /* wide enough for "month 13 (after the horizon)" */
	buf_addstr(b, "in place before\n");
	json_array_foreach(json_object_get(doc, "schedule"), i, s)
	{
		char w[48], bu[48], wm[48], am[48];
		buf_printf(b, "  %9.0f  ", num(s, "instances"));
		pad(b, fmt_rps(num(s, "warnRps"), w, sizeof(w)), -11);
		pad(b, fmt_rps(num(s, "bufferRps"), bu, sizeof(bu)), -12);
		buf_addstr(b, "   ");
		pad(b, fmt_month(doc, num(s, "warnMonth"), wm, sizeof(wm)), 30);
		buf_printf(b, "%s\n", fmt_month(doc, num(s, "actMonth"), am, sizeof(am)));
	}
	if (flag(doc, "scheduleTruncated"))
		buf_addstr(b, "  ... (more steps within the horizon, or past any count)\n");
	if (flag(doc, "scheduleCapped"))
		buf_addstr(b,
		           "  (past N* no number of these instances carries the load: no further "
		           "step)\n");
	if (flag(doc, "scheduleShrink"))
		buf_addstr(b, "  (past N* fewer instances carry more: shrink, as the summary says, "
		              "rather than add)\n");
}

static void text_scenarios(struct buf *b, const json_t *doc)
{
	size_t i;
	const json_t *s;
	bool cost = has_cost(doc), opt = has_optimised(doc), conc = over_concurrency(doc);
	buf_addstr(b, "\n  ");
	pad(b, "scenario", 8);
	pad(b, "RPS", -9);
	pad(b, "instances", -11);
	pad(b, "add", -6);
	pad(b, "util", -7);
	if (opt)
		pad(b, "optimised", -11);
	if (conc)
		pad(b, "1-instance N", -14);
	if (cost)
		pad(b, "cost/month", -12);
	buf_addstr(b, "  reached\n");
	json_array_foreach(json_object_get(doc, "scenarios"), i, s)
	{
		char k[32], r[48], n[48], a[16], u[48], c[48], reached[96];
		snprintf(k, sizeof(k), "%gx", num(s, "multiple"));
		if (isfinite(num(s, "instances")))
			snprintf(a, sizeof(a), "+%.0f", num(s, "add"));
		else
			snprintf(a, sizeof(a), "–");
		buf_addstr(b, "  ");
		pad(b, k, 8);
		pad(b, fmt_rps(num(s, "rps"), r, sizeof(r)), -9);
		pad(b, fmt_count(num(s, "instances"), n, sizeof(n)), -11);
		pad(b, a, -6);
		pad(b, fmt_pct(num(s, "utilPercent"), u, sizeof(u)), -7);
		if (opt)
			pad(b, fmt_count(num(s, "instancesOptimised"), n, sizeof(n)), -11);
		if (conc) {
			double cc = num(s, "concurrency");
			if (isfinite(cc))
				snprintf(n, sizeof(n), "%.1f", cc);
			else
				snprintf(n, sizeof(n), "past X_max");
			pad(b, n, -14);
		}
		if (cost)
			pad(b, fmt_cost(num(s, "costMonth"), c, sizeof(c)), -12);
		buf_printf(b, "  %s\n", fmt_reached(doc, s, reached, sizeof(reached)));
	}
	json_array_foreach(json_object_get(doc, "scenarios"), i, s)
	    buf_printf(b, "  %gx: %s\n", num(s, "multiple"), str(s, "action") ?: "");
	if (cost)
		buf_printf(b, "  (cost per month of 730 h, in %s)\n",
		           *currency(doc) ? currency(doc) : "the unit of --cost-per-instance");
}

int capacity_plan_text(FILE *f, const json_t *doc, bool color)
{
	struct buf b = { 0 };
	size_t i;
	const json_t *s;
	buf_addstr(&b, "\ncapacity plan: ");
	headline(&b, doc);
	buf_addstr(&b, "\n\n");
	text_capacity(&b, doc);
	text_months(&b, doc, color);
	text_triggers(&b, doc);
	text_schedule(&b, doc);
	text_scenarios(&b, doc);
	buf_addstr(&b, "\n");
	json_array_foreach(json_object_get(doc, "summary"), i, s)
	    buf_printf(&b, "%s\n", json_string_value(s) ?: "");
	if (json_array_size(json_object_get(doc, "modelWarnings")))
		buf_addstr(&b, "\nmodel warnings (what to distrust in the fit):\n");
	json_array_foreach(json_object_get(doc, "modelWarnings"), i, s)
	    buf_printf(&b, "  - %s\n", json_string_value(s) ?: "");
	size_t n = fwrite(b.p, 1, b.len, f);
	bool ok = n == b.len && fflush(f) == 0 && !ferror(f);
	buf_free(&b);
	return ok ? 0 : -EIO;
}

/* --- Markdown --------------------------------------------------------------------- */

/* One table row of cells (escaped). */
static void md_row(struct buf *b, const char *const *cells, int n)
{
	buf_addstr(b, "|");
	for (int i = 0; i < n; i++) {
		buf_addstr(b, " ");
		escape_markdown(b, cells[i]);
		buf_addstr(b, " |");
	}
	buf_addstr(b, "\n");
}

static void md_kv(struct buf *b, const char *k, const char *v)
{
	const char *c[2] = { k, v };
	md_row(b, c, 2);
}

static void md_consumption(struct buf *b, const json_t *doc)
{
	const json_t *in = json_object_get(doc, "inputs"), *cap = json_object_get(doc, "capacity"),
	             *model = json_object_get(doc, "model");
	char v[240], k[64], x[48], y[48];
	buf_addstr(b, "## Current consumption\n\n| | |\n|---|---:|\n");
	snprintf(v, sizeof(v), "%s RPS", fmt_rps(num(in, "currentRps"), x, sizeof(x)));
	md_kv(b, "Peak load today", v);
	snprintf(v, sizeof(v), "%s%s", fmt_pct(num(cap, "utilPercent"), x, sizeof(x)),
	         model ? " (from the model)" : "");
	md_kv(b, "Utilisation at the peak", v);
	snprintf(v, sizeof(v), "%.0f", num(in, "instances"));
	md_kv(b, "Instances", v);
	snprintf(v, sizeof(v), "%s RPS", fmt_rps(num(cap, "totalRps"), x, sizeof(x)));
	if (isfinite(num(cap, "perInstanceRps")))
		snprintf(v + strlen(v), sizeof(v) - strlen(v), " (%s RPS per instance%s%s)",
		         fmt_rps(num(cap, "perInstanceRps"), y, sizeof(y)),
		         str(cap, "basis") && !strcmp(str(cap, "basis"), "measured")
		             ? ": the best measured; the fit's X_max is "
		         : str(cap, "basis") ? ": the fit's X_max"
		                             : "",
		         str(cap, "basis") && !strcmp(str(cap, "basis"), "measured")
		             ? fmt_rps(num(model, "xMax"), x, sizeof(x))
		             : "");
	md_kv(b, "Capacity at 100%", v);
	snprintf(k, sizeof(k), "Capacity at the %.0f%% buffer", num(in, "bufferPercent"));
	snprintf(v, sizeof(v), "%s RPS", fmt_rps(num(cap, "bufferRps"), x, sizeof(x)));
	md_kv(b, k, v);
	snprintf(k, sizeof(k), "Warning trigger (%.0f%%)", num(in, "warnPercent"));
	snprintf(v, sizeof(v), "%s RPS", fmt_rps(num(cap, "warnRps"), x, sizeof(x)));
	md_kv(b, k, v);
	if (model) {
		snprintf(v, sizeof(v), "σ %.4g, κ %.4g, λ %.4g, R² %.4f", num(model, "sigma"),
		         num(model, "kappa"), num(model, "lambda"), num(model, "r2"));
		md_kv(b, "USL fit", v);
		snprintf(v, sizeof(v), "%s RPS at N* = %s (N counts %s)",
		         fmt_rps(num(model, "xMax"), y, sizeof(y)), fmt_nstar(model, x, sizeof(x)),
		         str(in, "modelOver") ?: "?");
		md_kv(b, "X_max", v);
		if (str(model, "verdict"))
			md_kv(b, "Verdict", str(model, "verdict"));
		if (isfinite(num(model, "concurrencyAtBuffer"))) {
			snprintf(v, sizeof(v), "%.1f", num(model, "concurrencyAtBuffer"));
			md_kv(b, "Concurrency per instance at the buffer", v);
		}
	}
	if (has_cost(doc)) {
		snprintf(v, sizeof(v), "%s%s%s per month (%s per instance)",
		         fmt_cost(num(cap, "costMonth"), x, sizeof(x)), *currency(doc) ? " " : "",
		         currency(doc), fmt_cost(num(in, "costPerInstanceMonth"), y, sizeof(y)));
		md_kv(b, "Cost today", v);
	}
	buf_addstr(b, "\n");
}

static void md_months(struct buf *b, const json_t *doc)
{
	const json_t *in = json_object_get(doc, "inputs"), *m;
	size_t i;
	buf_printf(b,
	           "## Growth projection\n\nGrowth %g%% per month, compounded, over %.0f months; "
	           "month 1 is today. Utilisation is with today's instances.\n\n"
	           "| Month | Load (RPS) | Utilisation | Instances at the buffer | Status |\n"
	           "|---:|---:|---:|---:|---|\n",
	           num(in, "growthPercentPerMonth"), num(in, "horizonMonths"));
	json_array_foreach(json_object_get(doc, "months"), i, m)
	{
		char mo[16], r[48], u[48], n[48];
		snprintf(mo, sizeof(mo), "%.0f", num(m, "month"));
		const char *c[5] = { mo, fmt_rps(num(m, "rps"), r, sizeof(r)),
			             fmt_pct(num(m, "utilPercent"), u, sizeof(u)),
			             fmt_count(num(m, "instances"), n, sizeof(n)),
			             str(m, "status") ?: "?" };
		md_row(b, c, 5);
	}
	buf_addstr(b, "\n");
}

static void md_triggers(struct buf *b, const json_t *doc)
{
	const json_t *t;
	size_t i;
	buf_addstr(b, "## Triggers\n\nThe thresholds of today's instances, and when the growth "
	              "crosses them: at the warning, order capacity; before the buffer is "
	              "crossed, have it in place.\n\n"
	              "| Trigger | Utilisation | Load (RPS) | Crossed in | From now |\n"
	              "|---|---:|---:|---|---|\n");
	json_array_foreach(json_object_get(doc, "triggers"), i, t)
	{
		char u[48], r[48], mo[48], in[32];
		const char *c[5] = { trigger_label(str(t, "name") ?: "?"),
			             fmt_pct(num(t, "utilPercent"), u, sizeof(u)),
			             fmt_rps(num(t, "rps"), r, sizeof(r)),
			             fmt_month(doc, num(t, "month"), mo, sizeof(mo)),
			             fmt_in(num(t, "inMonths"), in, sizeof(in)) };
		md_row(b, c, 5);
	}
	buf_addstr(b, "\n");
}

static void md_scenarios(struct buf *b, const json_t *doc)
{
	const json_t *in = json_object_get(doc, "inputs"), *s;
	size_t i;
	bool cost = has_cost(doc), opt = has_optimised(doc), conc = over_concurrency(doc);
	buf_printf(b,
	           "## Scenarios: resources and cost\n\nInstances are the fewest that carry the "
	           "load at the %.0f%% buffer.",
	           num(in, "bufferPercent"));
	if (cost) {
		buf_addstr(b, " Costs are per month of 730 hours");
		if (*currency(doc)) {
			buf_addstr(b, ", in ");
			escape_markdown(b, currency(doc));
		}
		buf_addstr(b, ".");
	}
	buf_addstr(b, "\n\n| Scenario | Load (RPS) | Instances | Added | Utilisation |");
	if (opt)
		buf_printf(b, " Instances, hot paths %.0f%% cheaper |", num(in, "optimisePercent"));
	if (conc)
		buf_addstr(b, " Concurrency on one instance |");
	if (cost)
		buf_addstr(b, " Cost per month | Added cost per month |");
	buf_addstr(b, " Reached |\n|---|---:|---:|---:|---:|");
	if (opt)
		buf_addstr(b, "---:|");
	if (conc)
		buf_addstr(b, "---:|");
	if (cost)
		buf_addstr(b, "---:|---:|");
	buf_addstr(b, "---|\n");
	json_array_foreach(json_object_get(doc, "scenarios"), i, s)
	{
		char k[32], r[48], n[48], a[16], u[48], o[16], cc[48], c1[48], c2[48], reached[96];
		const char *cells[11];
		int nc = 0;
		snprintf(k, sizeof(k), "%gx", num(s, "multiple"));
		if (isfinite(num(s, "instances")))
			snprintf(a, sizeof(a), "%.0f", num(s, "add"));
		else
			snprintf(a, sizeof(a), "–");
		fmt_reached(doc, s, reached, sizeof(reached));
		cells[nc++] = k;
		cells[nc++] = fmt_rps(num(s, "rps"), r, sizeof(r));
		cells[nc++] = fmt_count(num(s, "instances"), n, sizeof(n));
		cells[nc++] = a;
		cells[nc++] = fmt_pct(num(s, "utilPercent"), u, sizeof(u));
		if (opt)
			cells[nc++] = fmt_count(num(s, "instancesOptimised"), o, sizeof(o));
		if (conc) {
			if (isfinite(num(s, "concurrency")))
				snprintf(cc, sizeof(cc), "%.1f", num(s, "concurrency"));
			else
				snprintf(cc, sizeof(cc), "none (past X_max)");
			cells[nc++] = cc;
		}
		if (cost) {
			cells[nc++] = fmt_cost(num(s, "costMonth"), c1, sizeof(c1));
			cells[nc++] = fmt_cost(num(s, "addedCostMonth"), c2, sizeof(c2));
		}
		cells[nc++] = reached;
		md_row(b, cells, nc);
	}
	buf_addstr(b, "\n");
}

static void md_changes(struct buf *b, const json_t *doc)
{
	const json_t *s;
	size_t i;
	buf_addstr(b,
	           "## What must change before each threshold\n\n"
	           "| Instances | Warning at (RPS) | Buffer at (RPS) | Order the next | In place "
	           "before |\n|---:|---:|---:|---|---|\n");
	json_array_foreach(json_object_get(doc, "schedule"), i, s)
	{
		char n[48], w[48], bu[48], wm[48], am[48];
		snprintf(n, sizeof(n), "%.0f", num(s, "instances"));
		const char *c[5] = { n, fmt_rps(num(s, "warnRps"), w, sizeof(w)),
			             fmt_rps(num(s, "bufferRps"), bu, sizeof(bu)),
			             fmt_month(doc, num(s, "warnMonth"), wm, sizeof(wm)),
			             fmt_month(doc, num(s, "actMonth"), am, sizeof(am)) };
		md_row(b, c, 5);
	}
	buf_addstr(b, "\n");
	if (flag(doc, "scheduleTruncated"))
		buf_addstr(b, "More steps follow within the horizon.\n\n");
	if (flag(doc, "scheduleCapped"))
		buf_addstr(b, "Past N* no number of instances of the same kind carries the load: "
		              "no further step helps.\n\n");
	if (flag(doc, "scheduleShrink"))
		buf_addstr(b, "Past N* fewer instances carry more: shrink, as the summary says, "
		              "rather than add.\n\n");
	json_array_foreach(json_object_get(doc, "scenarios"), i, s)
	{
		char k[32];
		snprintf(k, sizeof(k), "%gx", num(s, "multiple"));
		buf_printf(b, "- **%s**: ", k);
		escape_markdown(b, str(s, "action") ?: "");
		buf_addstr(b, "\n");
	}
	buf_addstr(b, "\n");
}

char *capacity_plan_markdown(const json_t *doc)
{
	struct buf b = { 0 };
	const json_t *s;
	size_t i;
	buf_addstr(&b, "# Capacity plan\n\n");
	if (str(doc, "generated")) {
		buf_addstr(&b, "Made by `stampede capacity plan` on ");
		escape_markdown(&b, str(doc, "generated"));
		buf_addstr(&b, ": ");
	}
	headline(&b, doc);
	buf_addstr(&b, ".\n\n## Summary\n\n");
	json_array_foreach(json_object_get(doc, "summary"), i, s)
	{
		buf_addstr(&b, "- ");
		escape_markdown(&b, json_string_value(s));
		buf_addstr(&b, "\n");
	}
	buf_addstr(&b, "\n");
	if (json_array_size(json_object_get(doc, "modelWarnings")))
		buf_addstr(&b,
		           "## Model warnings\n\nWhat to distrust in the USL fit the plan rests "
		           "on:\n\n");
	json_array_foreach(json_object_get(doc, "modelWarnings"), i, s)
	{
		buf_addstr(&b, "- ");
		escape_markdown(&b, json_string_value(s) ?: "");
		buf_addstr(&b, "\n");
	}
	if (json_array_size(json_object_get(doc, "modelWarnings")))
		buf_addstr(&b, "\n");
	md_consumption(&b, doc);
	md_months(&b, doc);
	md_triggers(&b, doc);
	md_scenarios(&b, doc);
	md_changes(&b, doc);
	buf_addstr(
	    &b, "## Method\n\nCapacity at 100% is today's load divided by its utilisation (or "
	        "the lower of the Universal Scalability Law fit's X_max and the best throughput "
	        "measured); the buffer is the "
	        "share of it never to be exceeded under normal load. The load of month m is "
	        "today's × (1 + growth)^(m − 1); a threshold is crossed in the first month whose "
	        "load is above it, and reached log(threshold / today) / log(1 + growth) months "
	        "from now. A scenario's instances are the fewest whose capacity at the buffer "
	        "carries its load.\n");
	return b.p ? b.p : xstrdup("");
}
