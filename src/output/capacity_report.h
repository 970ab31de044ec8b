/* capacity_report.h: the outputs of `stampede capacity plan` (issue #14, docs/capacity.md):
 * a terminal table and the Markdown "capacity planning document" a team keeps. */
/*
 * Each reads the plan document that analysis/capplan.h's capplan_json() builds (its keys are
 * listed above capplan_json in capplan.c: format, source, inputs, capacity, model, months,
 * triggers, schedule, scenarios, summary; optional "generated", an ISO 8601 time the caller
 * adds). Missing or null values are shown as "–"; nothing here recomputes the plan. Strings
 * from the user (the currency) are escaped for the format.
 */
#ifndef STAMPEDE_CAPACITY_REPORT_H
#define STAMPEDE_CAPACITY_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* Print the plan on f: a header line with the inputs, today's capacity (100%, buffer,
 * warning), the months table (load, utilisation with today's fleet, instances needed at the
 * buffer, status), the triggers, the scaling schedule, the scenarios table (load,
 * instances, added, utilisation, cost per month, the month reached, the action) and the
 * summary sentences. With color, statuses are coloured (warn yellow, over red). Returns 0,
 * or -EIO when f reports a write error. */
int capacity_plan_text(FILE *f, const json_t *doc, bool color);

/* The plan as a GitHub-flavoured Markdown document: summary, current consumption, growth
 * projection, triggers, scenarios with resources and cost, what must change before each
 * threshold (the schedule and each scenario's action), and the method. A new string
 * (free()). */
char *capacity_plan_markdown(const json_t *doc);

#endif
