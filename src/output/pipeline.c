/* pipeline.c: the outputs of one run behind one table (output.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"
#include "util/common.h"
#include "util/outfile.h"

#define OUT_MAX      64            /* --out flags */
#define PIPELINE_MAX (OUT_MAX + 8) /* and the outputs the command adds itself */

struct pipeline {
	const struct output_env *env;
	struct output out[PIPELINE_MAX];
	char *spec[PIPELINE_MAX]; /* as the user wrote it, for messages */
	bool opened[PIPELINE_MAX];
	int n;
};

/* The outputs --out can name, in the order `stampede help run` lists them. */
static const struct output_ops *const known[] = {
	&output_result, &output_json,     &output_csv, &output_prometheus,
	&output_junit,  &output_markdown, &output_hdr, &output_html,
};

struct pipeline *pipeline_new(const struct output_env *env)
{
	struct pipeline *p = xcalloc(1, sizeof(*p));
	p->env = env;
	return p;
}

static int add(struct pipeline *p, const struct output_ops *ops, const char *arg, const char *spec)
{
	if (p->n == PIPELINE_MAX)
		return -E2BIG;
	p->spec[p->n] = spec ? xstrdup(spec) : NULL;
	p->out[p->n] = (struct output){ .ops = ops, .arg = xstrdup(arg ? arg : ""), .env = p->env };
	p->n++;
	return 0;
}

void pipeline_add(struct pipeline *p, const struct output_ops *ops, const char *arg)
{
	if (add(p, ops, arg, NULL) < 0)
		abort(); /* the few outputs the command adds itself come first */
}

/* How messages name output i: "--out SPEC" as the user wrote it, or the flag that added
 * it ("--summary-export"). */
static void label(const struct pipeline *p, int i, char *buf, size_t len)
{
	if (p->spec[i])
		snprintf(buf, len, "--out %s", p->spec[i]);
	else if (p->out[i].ops == &output_k6_export)
		snprintf(buf, len, "--summary-export");
	else
		snprintf(buf, len, "%s", p->out[i].ops->name);
}

int pipeline_add_spec(struct pipeline *p, const char *spec, char *err, size_t errlen)
{
	const char *eq = strchr(spec, '=');
	size_t n = eq ? (size_t)(eq - spec) : strlen(spec);
	int nspecs = 0;
	for (int i = 0; i < p->n; i++)
		nspecs += p->spec[i] != NULL;
	if (nspecs == OUT_MAX) {
		snprintf(err, errlen, "too many outputs (at most %d --out)", OUT_MAX);
		return -E2BIG;
	}
	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		if (strlen(known[i]->name) == n && !strncmp(known[i]->name, spec, n)) {
			return add(p, known[i], eq ? eq + 1 : "", spec);
		}
	}
	size_t len =
	    (size_t)snprintf(err, errlen, "unknown output '%.*s' (known:", (int)MIN(n, 64), spec);
	for (size_t i = 0; i < ARRAY_SIZE(known) && len < errlen; i++)
		len += (size_t)snprintf(err + len, errlen - len, "%s %s", i ? "," : "",
		                        known[i]->name);
	if (len < errlen)
		snprintf(err + len, errlen - len, ")");
	return -EINVAL;
}

/* Where output i writes (util/outfile's canonical name), or NULL for an output that writes
 * no file of its own (the terminal, an endpoint, "-", a descriptor or device). */
static char *target_of(const struct pipeline *p, int i)
{
	const struct output *o = &p->out[i];
	if (o->ops == &output_summary || o->ops == &output_progress ||
	    o->ops == &output_prometheus || !*o->arg)
		return NULL;
	return outfile_where(o->arg);
}

int pipeline_open(struct pipeline *p)
{
	char err[1024];
	char *t[PIPELINE_MAX];
	for (int i = 0; i < p->n; i++)
		t[i] = target_of(p, i);
	int clash = -1, with = -1;
	for (int i = 0; i < p->n && clash < 0; i++)
		for (int j = 0; j < i && t[i]; j++)
			if (t[j] && !strcmp(t[i], t[j])) {
				clash = i;
				with = j;
				break;
			}
	for (int i = 0; i < p->n; i++)
		free(t[i]);
	if (clash >= 0) {
		char a[600], b[600];
		label(p, with, a, sizeof(a));
		label(p, clash, b, sizeof(b));
		fprintf(stderr, "stampede: %s and %s write the same file: give each its own\n", a,
		        b);
		return -EINVAL;
	}
	for (int i = 0; i < p->n; i++) {
		struct output *o = &p->out[i];
		err[0] = 0;
		int rc = o->ops->open ? o->ops->open(o, err, sizeof(err)) : 0;
		if (rc < 0) {
			char what[600];
			label(p, i, what, sizeof(what));
			fprintf(stderr, "stampede: %s: %s\n", what, err[0] ? err : strerror(-rc));
			return rc;
		}
		p->opened[i] = true;
	}
	return 0;
}

void pipeline_interval(struct pipeline *p, const struct result_interval *iv)
{
	for (int i = 0; i < p->n; i++)
		if (p->opened[i] && p->out[i].ops->interval)
			p->out[i].ops->interval(&p->out[i], iv);
}

int pipeline_finish(struct pipeline *p, const struct result *r, bool skip_summary)
{
	char err[1024];
	int failed = 0;
	for (int i = 0; i < p->n; i++) {
		struct output *o = &p->out[i];
		if (!p->opened[i] || !o->ops->finish || (skip_summary && o->ops == &output_summary))
			continue;
		err[0] = 0;
		int rc = o->ops->finish(o, r, err, sizeof(err));
		if (rc < 0) {
			char what[600];
			label(p, i, what, sizeof(what));
			fprintf(stderr, "stampede: %s: %s\n", what, err[0] ? err : strerror(-rc));
			failed++;
		}
	}
	return failed;
}

void pipeline_free(struct pipeline *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n; i++) {
		if (p->opened[i] && p->out[i].ops->close)
			p->out[i].ops->close(&p->out[i]);
		free((char *)p->out[i].arg);
		free(p->spec[i]);
	}
	free(p);
}
