/* junit.c: --out junit=FILE, thresholds and checks as JUnit XML test cases. */
/*
 * The JUnit XML format as CI systems read it (Ant's JUnit task and JUnitReport; Jenkins'
 * junit plugin; GitLab "Unit test reports"; GitHub test reporters): a <testsuites> root
 * with the totals, one <testsuite name="thresholds"> and one <testsuite name="checks">.
 * A threshold is a test case named "SELECTOR: EXPR" (classname "thresholds"), failed with
 * the measured value; a check is a test case named by the check (classname "checks" or
 * "checks::GROUP::PATH"), failed when any call of it failed, with the passes and fails.
 * tests/fixtures/junit.xsd describes exactly what is written.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output/output.h"
#include "util/buf.h"
#include "util/common.h"
#include "util/escape.h"
#include "util/outfile.h"

static void attr(struct buf *b, const char *name, const char *value)
{
	buf_add(b, " ", 1);
	buf_addstr(b, name);
	buf_addstr(b, "=\"");
	escape_xml(b, value);
	buf_add(b, "\"", 1);
}

static void attr_int(struct buf *b, const char *name, long long v)
{
	char s[32];
	snprintf(s, sizeof(s), "%lld", v);
	attr(b, name, s);
}

/* The opening tag of a suite (or of the root) with its counts. */
static void suite_open(struct buf *b, const char *tag, const char *name, int tests, int failures,
                       const struct result *r, const char *timestamp)
{
	char t[32];
	snprintf(t, sizeof(t), "%.3f", r->duration_s);
	buf_addstr(b, tag);
	attr(b, "name", name);
	attr_int(b, "tests", tests);
	attr_int(b, "failures", failures);
	attr_int(b, "errors", 0);
	attr_int(b, "skipped", 0);
	attr(b, "time", t);
	if (timestamp)
		attr(b, "timestamp", timestamp);
	buf_addstr(b, ">\n");
}

/* A failed test case's <failure> and the end of the case. */
static void failure(struct buf *b, const char *type, const char *msg)
{
	buf_addstr(b, ">\n      <failure");
	attr(b, "message", msg);
	attr(b, "type", type);
	buf_add(b, ">", 1);
	escape_xml(b, msg);
	buf_addstr(b, "</failure>\n    </testcase>\n");
}

static void threshold_case(struct buf *b, const struct result_threshold *th)
{
	struct buf name = { 0 };
	char val[128];
	buf_addstr(&name, th->selector);
	buf_addstr(&name, ": ");
	buf_addstr(&name, th->expr);
	buf_addstr(b, "    <testcase");
	attr(b, "classname", "thresholds");
	attr(b, "name", name.p);
	attr(b, "time", "0");
	if (th->ok) {
		buf_addstr(b, "/>\n");
	} else {
		if (isnan(th->value))
			snprintf(val, sizeof(val), " failed (no data)");
		else
			snprintf(val, sizeof(val), " failed (%s=%g)", th->stat, th->value);
		buf_addstr(&name, val); /* the message: "SELECTOR: EXPR failed (STAT=VALUE)" */
		failure(b, th->abort_on_fail ? "threshold_abort" : "threshold", name.p);
	}
	buf_free(&name);
}

static void check_case(struct buf *b, const struct result_check *c)
{
	struct buf cls = { 0 };
	char msg[128];
	buf_addstr(&cls, "checks");
	buf_addstr(&cls, c->group);
	buf_addstr(b, "    <testcase");
	attr(b, "classname", cls.p);
	attr(b, "name", c->name);
	attr(b, "time", "0");
	buf_free(&cls);
	if (c->fails == 0) {
		buf_addstr(b, "/>\n");
		return;
	}
	snprintf(msg, sizeof(msg), "%lld of %lld failed (passes=%lld fails=%lld)",
	         (long long)c->fails, (long long)(c->passes + c->fails), (long long)c->passes,
	         (long long)c->fails);
	failure(b, "check", msg);
}

/* The whole document for r. */
static void junit_doc(struct buf *b, const struct result *r)
{
	char ts[32] = "";
	time_t start = (time_t)(r->start_wall_us / USEC_PER_SEC);
	struct tm tm;
	int th_failed = 0, ck_failed = 0;
	for (int i = 0; i < r->nthresholds; i++)
		th_failed += !r->thresholds[i].ok;
	for (int i = 0; i < r->nchecks; i++)
		ck_failed += r->checks[i].fails > 0;
	/* ISO 8601 without a zone (xs:dateTime as the Ant schema has it), in UTC */
	if (gmtime_r(&start, &tm))
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

	buf_addstr(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	suite_open(b, "<testsuites", "stampede", r->nthresholds + r->nchecks, th_failed + ck_failed,
	           r, NULL);
	suite_open(b, "  <testsuite", "thresholds", r->nthresholds, th_failed, r, ts);
	for (int i = 0; i < r->nthresholds; i++)
		threshold_case(b, &r->thresholds[i]);
	buf_addstr(b, "  </testsuite>\n");
	suite_open(b, "  <testsuite", "checks", r->nchecks, ck_failed, r, ts);
	for (int i = 0; i < r->nchecks; i++)
		check_case(b, &r->checks[i]);
	buf_addstr(b, "  </testsuite>\n</testsuites>\n");
}

static int junit_open(struct output *o, char *err, size_t errlen)
{
	return outfile_check(*o->arg ? o->arg : "-", err, errlen);
}

static int junit_finish(struct output *o, const struct result *r, char *err, size_t errlen)
{
	struct buf b = { 0 };
	junit_doc(&b, r);
	int rc = outfile_write(*o->arg ? o->arg : "-", b.p, b.len, err, errlen);
	buf_free(&b);
	return rc;
}

const struct output_ops output_junit = {
	.name = "junit",
	.open = junit_open,
	.finish = junit_finish,
};
