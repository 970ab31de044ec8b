/* cmd_plan.c: `stampede plan --type T --rate R|--vus N [shape] [--slo ...]`: the schedule
 * a test-type preset would run, its length, the question it answers and how it is judged;
 * sends nothing (docs/cli.md, "stampede plan"). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "cli/type_args.h"
#include "engine/engine.h"
#include "engine/run.h"
#include "metrics/threshold.h"
#include "script/script.h"
#include "util/common.h"

void cmd_plan_usage(void)
{
	printf("usage: stampede plan --type T (--rate R | --vus N) [flags]\n"
	       "       stampede plan SCRIPT.lua [-e NAME=VALUE ...]\n\n"
	       "Print the schedule a test-type preset runs (its stages, a chart of the load over\n"
	       "time, the total duration), the question the test answers and how it is judged.\n"
	       "Sends nothing. The same flags given to `stampede run --url URL` run that plan.\n\n"
	       "  -u, --vus N               the level in VUs (closed model)\n"
	       "      --rate R              the level in iterations/s (open model)\n"
	       "  -d, --duration D          the main phase's length (smoke, load, soak: the hold;\n"
	       "                            breakpoint: the ramp)\n"
	       "      --abort-delay D       breakpoint: judge the SLOs only after D\n");
	fputs(type_args_usage, stdout);
	printf("\nWith a script: each scenario's executor, function and schedule (a table and a\n"
	       "chart), its thresholds, and the test type and SLOs of stampede.preset and\n"
	       "stampede.slo. Runs the script's init code only; sends nothing.\n");
	printf("\nexample: stampede plan --type stress --rate 1000 --slo 'p95<200ms'\n");
}

enum { OPT_HELP = 300, OPT_RATE, OPT_ABORT_DELAY };

/* How long `plan` lets a script's init code run (a run has no such limit, as in k6). */
#define PLAN_INIT_LIMIT_US (10 * USEC_PER_SEC)

/* "GET /api/x": the method and the name tag (or URL), the method once when the name
 * already starts with it (k6's habit: name = "GET /api/products/{id}"). */
static void call_label(const json_t *c, char *buf, size_t len)
{
	const char *m = json_string_value(json_object_get(c, "method"));
	const char *n = json_string_value(json_object_get(c, "name"));
	m = m ? m : "?", n = n ? n : "?";
	size_t ml = strlen(m);
	if (!strncmp(n, m, ml) && n[ml] == ' ')
		snprintf(buf, len, "%s", n);
	else
		snprintf(buf, len, "%s %s", m, n);
}

struct tally {
	char *label; /* a request's "METHOD name", or a journey's labels joined by " > " */
	int count;
	int requests; /* journeys: requests in it */
};

static int tally_cmp(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;
	return x->count != y->count ? y->count - x->count : strcmp(x->label, y->label);
}

/* Count label in *t (n entries, grown as needed). */
static struct tally *tally_add(struct tally *t, int *n, const char *label, int requests)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(t[i].label, label)) {
			t[i].count++;
			return t;
		}
	t = xrealloc(t, sizeof(*t) * (size_t)(*n + 1));
	t[(*n)++] = (struct tally){ xstrdup(label), 1, requests };
	return t;
}

static void tally_free(struct tally *t, int n)
{
	for (int i = 0; i < n; i++)
		free(t[i].label);
	free(t);
}

/* The traffic model of scenario s, from a sample of dry-run iterations of its function
 * (script_dry_run): requests and think time per iteration, the first iteration's requests
 * in order with their group and think time, the distinct journeys (request sequences) and
 * how often each came, and the mix by name with the rate each name gets at the scenario's
 * peak (open model). */
static void print_traffic(struct script *sc, const struct scenario *s)
{
	const char *fn = s->exec ? s->exec : "default";
	json_t *d = script_dry_run(sc, fn);
	json_t *its = json_object_get(d, "iterations");
	size_t k = json_array_size(its), i, j;
	json_t *it, *c;

	printf("\n  traffic model (%zu dry-run iteration%s of %s(): no request sent, every "
	       "response a fake 200):\n",
	       k, k == 1 ? "" : "s", fn);
	if (!d) {
		printf("    not available (the dry run could not start)\n");
		return;
	}
	struct tally *mix = NULL, *jour = NULL;
	int nmix = 0, njour = 0;
	size_t total = 0, rmin = SIZE_MAX, rmax = 0;
	double think = 0, tmin = INFINITY, tmax = 0;
	json_array_foreach(its, i, it)
	{
		json_t *calls = json_object_get(it, "calls");
		size_t n = json_array_size(calls);
		double t = json_number_value(json_object_get(it, "think"));
		total += n, rmin = MIN(rmin, n), rmax = MAX(rmax, n);
		think += t, tmin = MIN(tmin, t), tmax = MAX(tmax, t);
		char path[1024] = "";
		size_t len = 0;
		json_array_foreach(calls, j, c)
		{
			char what[512];
			call_label(c, what, sizeof(what));
			mix = tally_add(mix, &nmix, what, 1);
			len += (size_t)snprintf(path + MIN(len, sizeof(path) - 1),
			                        sizeof(path) - MIN(len, sizeof(path) - 1), "%s%s",
			                        j ? " > " : "", what);
		}
		if (len >= sizeof(path)) /* cut at a character, not inside one */
			memcpy(path + sizeof(path) - 5, " ...", 5);
		jour = tally_add(jour, &njour, n ? path : "(no request)", (int)n);
	}
	if (k == 0) {
		printf("    no iteration completed\n");
	} else {
		if (rmin == rmax)
			printf("    %zu request%s per iteration", rmin, rmin == 1 ? "" : "s");
		else
			printf("    %.3g requests per iteration on average (%zu to %zu)",
			       (double)total / (double)k, rmin, rmax);
		if (tmax - tmin < 1e-9)
			printf(", think time %.3g s\n", tmin);
		else
			printf(", think time %.3g s on average (%.3g to %.3g s)\n",
			       think / (double)k, tmin, tmax);
	}
	if (k > 0) {
		json_t *calls = json_object_get(json_array_get(its, 0), "calls");
		size_t n = json_array_size(calls);
		if (njour > 1)
			printf("    the first iteration:\n");
		json_array_foreach(calls, i, c)
		{
			const char *g = json_string_value(json_object_get(c, "group"));
			double t = json_number_value(json_object_get(c, "think"));
			if (i == 40) {
				printf("    ... %zu more\n", n - i);
				break;
			}
			char what[512];
			call_label(c, what, sizeof(what));
			printf("    %-3zu %s%s%s", i + 1, what, g && *g ? "   group " : "",
			       g && *g ? g : "");
			if (t > 0)
				printf("   then %.3g s think time", t);
			printf("\n");
		}
	}
	if (njour > 1) {
		qsort(jour, (size_t)njour, sizeof(*jour), tally_cmp);
		printf("    journeys: %d distinct in %zu iterations\n", njour, k);
		for (int x = 0; x < njour && x < 8; x++)
			printf("      %5.1f%%  %d request%s: %.160s%s\n",
			       100.0 * jour[x].count / (double)k, jour[x].requests,
			       jour[x].requests == 1 ? "" : "s", jour[x].label,
			       strlen(jour[x].label) > 160 ? " ..." : "");
		if (njour > 8)
			printf("      ... %d more\n", njour - 8);
	}
	if (nmix == 1 && njour <= 1 && s->model == MODEL_OPEN) {
		double peak = sched_max(&s->sched), per_it = (double)mix[0].count / (double)k;
		printf("    %s: %.4g/s at the peak of %.4g iterations/s\n", mix[0].label,
		       peak * per_it, peak);
	} else if (nmix > 1 || njour > 1) {
		double peak = sched_max(&s->sched);
		qsort(mix, (size_t)nmix, sizeof(*mix), tally_cmp);
		printf("    mix (over all %zu requests):\n", total);
		for (int x = 0; x < nmix; x++) {
			double per_it = (double)mix[x].count / (double)k;
			printf("      %5.1f%%  %s   (%.3g per iteration",
			       100.0 * mix[x].count / (double)total, mix[x].label, per_it);
			if (s->model == MODEL_OPEN)
				printf("; %.4g/s at the peak of %.4g iterations/s", peak * per_it,
				       peak);
			printf(")\n");
		}
	}
	tally_free(mix, nmix);
	tally_free(jour, njour);
	const char *serr = json_string_value(json_object_get(d, "setupError"));
	if (serr)
		printf("    setup() failed in the dry run (%s): the iterations got stand-in data\n",
		       serr);
	const char *err = json_string_value(json_object_get(d, "error"));
	if (err)
		printf("    %s stopped here: %s (it may need real responses past this "
		       "point)\n",
		       k > 1 ? "the last iteration" : "the iteration", err);
	json_decref(d);
}

/* `stampede plan SCRIPT.lua`: the script's scenarios as they would run. */
static int plan_script(const char *path, const char **env, int nenv)
{
	struct script *sc = NULL;
	struct scenario *scen = NULL;
	struct threshold *thr = NULL;
	int nscen = 0, nthr = 0, rc = EXIT_INVALID_CONFIG;
	char d[32];

	/* init code and the dry run stop at a signal (pending: blocked here) or a deadline */
	cli_block_stop_signals();
	script_set_init_limit(PLAN_INIT_LIMIT_US);
	int e = script_load(path, env, nenv, &sc);
	if (e < 0)
		return e == -EINTR ? EXIT_INTERRUPTED : EXIT_SCRIPT_ERROR;
	if (script_scenarios(sc, sc->options, &scen, &nscen, &thr, &nthr) < 0)
		goto out;
	json_t *tt = json_object_get(sc->options, "testType");
	printf("%s: %d scenario%s\n", path, nscen, nscen == 1 ? "" : "s");
	if (json_is_object(tt)) {
		enum test_type t = TT_NONE;
		const char *name = json_string_value(json_object_get(tt, "type"));
		printf("  test type: %s (stampede.preset)\n", name ? name : "?");
		if (name && test_type_parse(name, &t) == 0) {
			struct preset_plan p;
			struct preset_opts o = { .type = t, .level = 1 };
			char err[128];
			if (preset_build(&o, &p, err, sizeof(err)) == 0)
				printf("  answers:  %s\n  judged by: %s\n", p.question, p.criteria);
		}
	}
	json_t *slo = json_object_get(sc->options, "slo");
	if (json_array_size(slo)) {
		size_t i;
		json_t *v;
		printf("  SLOs:     ");
		json_array_foreach(slo, i, v) printf(
		    "%s%s", i ? ", " : "", json_string_value(v) ? json_string_value(v) : "?");
		printf("\n");
	}
	for (int i = 0; i < nthr; i++)
		printf("  threshold: %s %s%s\n", thr[i].selector, thr[i].expr,
		       thr[i].abort_on_fail ? " (abort on fail)" : "");
	/* in the order they start (then as the options give them), and the run's length */
	int *order = xcalloc((size_t)MAX(nscen, 1), sizeof(*order));
	int64_t run_end = 0;
	for (int i = 0; i < nscen; i++) {
		int k = i;
		while (k > 0 && scen[order[k - 1]].start_us > scen[i].start_us) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = i;
		run_end = MAX(run_end, scen[i].start_us + scen[i].sched.total_us);
	}
	if (nscen > 1)
		printf("  the scenarios run %s in all (plus the graceful stops)\n",
		       format_duration(run_end, d, sizeof(d)));
	for (int oi = 0; oi < nscen; oi++) {
		int i = order[oi];
		const struct scenario *s = &scen[i];
		bool open = s->model == MODEL_OPEN;
		printf("\nscenario '%s': %s, runs %s()", s->name, executor_name(s->executor),
		       s->exec ? s->exec : "default");
		if (s->start_us)
			printf(", starts at %s", format_duration(s->start_us, d, sizeof(d)));
		if (open)
			printf(", %d VUs preallocated, at most %d", s->vus, s->max_vus);
		printf("\n");
		if (s->iterations)
			printf("  %lld iterations%s, within %s\n", (long long)s->iterations,
			       s->per_vu ? " per VU" : " shared",
			       format_duration(s->sched.total_us, d, sizeof(d)));
		/* a preset's scenario: its phases' names */
		json_t *phs = json_object_get(tt, "phases");
		char(*names)[32] = NULL;
		if (nscen == 1 && (int)json_array_size(phs) == s->sched.nstages) {
			names = xcalloc((size_t)s->sched.nstages, sizeof(*names));
			for (int k = 0; k < s->sched.nstages; k++) {
				const char *nm = json_string_value(
				    json_object_get(json_array_get(phs, (size_t)k), "name"));
				snprintf(names[k], sizeof(names[k]), "%s", nm ? nm : "?");
			}
		}
		type_args_print_schedule(stdout, &s->sched, (const char(*)[32])names, open);
		free(names);
		bool seen = false; /* the same function as an earlier scenario: said once */
		for (int k = 0; k < oi && !seen; k++)
			seen = !strcmp(scen[order[k]].exec ? scen[order[k]].exec : "default",
			               s->exec ? s->exec : "default");
		if (seen)
			printf("\n  traffic model: as above (the same function, %s())\n",
			       s->exec ? s->exec : "default");
		else
			print_traffic(sc, s);
	}
	free(order);
	rc = 0;
out:
	for (int i = 0; i < nscen; i++)
		scenario_free(&scen[i]);
	free(scen);
	for (int i = 0; i < nthr; i++)
		threshold_free(&thr[i]);
	free(thr);
	script_free(sc);
	return rc;
}

static const struct option opts[] = {
	{ "vus", required_argument, NULL, 'u' },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "duration", required_argument, NULL, 'd' },
	{ "abort-delay", required_argument, NULL, OPT_ABORT_DELAY },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "env", required_argument, NULL, 'e' },
	TYPE_ARGS_LONG_OPTS,
	{ 0 },
};

int cmd_plan(int argc, char **argv)
{
	struct type_args t = { 0 };
	struct type_level lv = { 0 };
	int64_t abort_delay = -1;
	const char **env = NULL;
	int nenv = 0;
	int rc = EXIT_INVALID_CONFIG, c;

	opterr = 0;
	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":u:d:e:", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case OPT_HELP:
			cmd_plan_usage();
			rc = 0;
			goto out;
		case '?':
		case ':':
			cli_opt_report("plan");
			goto out;
		case 'u': {
			long v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v < 1 || v > 1000000 ||
			    !cli_decimal(optarg, -1)) {
				fprintf(stderr,
				        "stampede: invalid --vus '%s': a whole number from 1\n",
				        optarg);
				goto out;
			}
			lv.vus_set = true, lv.vus = v;
			break;
		}
		case OPT_RATE:
			lv.rate = strtod(optarg, &end);
			if (end == optarg || *end || !(lv.rate > 0) || lv.rate > 1e9 ||
			    !cli_decimal(optarg, -1)) {
				fprintf(stderr,
				        "stampede: invalid --rate '%s': iterations per second, "
				        "more than 0\n",
				        optarg);
				goto out;
			}
			lv.rate_set = true;
			break;
		case 'e':
			env = xrealloc(env, sizeof(*env) * (size_t)(nenv + 1));
			env[nenv++] = optarg;
			break;
		case OPT_ABORT_DELAY:
			if (parse_duration(optarg, &abort_delay) < 0 || abort_delay < 0) {
				fprintf(stderr, "stampede: invalid --abort-delay '%s'\n", optarg);
				goto out;
			}
			break;
		case 'd':
			if (parse_duration(optarg, &lv.duration_us) < 0 || lv.duration_us <= 0) {
				fprintf(stderr, "stampede: invalid --duration '%s'\n", optarg);
				goto out;
			}
			lv.duration_set = true;
			break;
		default:
			if (type_args_flag(&t, c, optarg) <= 0)
				goto out;
		}
	}
	if (optind < argc) {
		if (optind + 1 < argc || type_args_any(&t) || lv.rate_set || lv.vus_set ||
		    lv.duration_set || abort_delay >= 0) {
			fprintf(
			    stderr,
			    "stampede: plan takes one script (with -e only), or --type with its "
			    "flags; not both ('%s'). A script run with --type gets the schedule "
			    "`stampede plan --type T --vus N` prints\n",
			    argv[optind]);
			goto out;
		}
		rc = plan_script(argv[optind], env, nenv);
		goto out;
	}
	if (t.preset.type == TT_NONE) {
		fprintf(stderr,
		        "stampede: plan needs --type smoke|load|stress|spike|soak|breakpoint "
		        "(see 'stampede help plan')\n");
		goto out;
	}
	if (lv.rate_set && lv.vus_set) {
		fprintf(stderr, "stampede: give the level once: --rate R (open model) or --vus N "
		                "(closed model)\n");
		goto out;
	}
	if (type_args_resolve(&t, &lv) < 0)
		goto out;
	if (abort_delay >= 0 && !t.plan.abort_on_slo) {
		fprintf(stderr,
		        "stampede: --abort-delay applies to a breakpoint test's SLOs (it "
		        "stops at the first failure); a %s test has no abort-on-fail\n",
		        test_type_name(t.plan.type));
		goto out;
	}
	if (abort_delay >= 0 && abort_delay >= t.plan.total_us) {
		fprintf(stderr,
		        "stampede: --abort-delay is as long as the whole test: no SLO would "
		        "ever be judged\n");
		goto out;
	}
	if (abort_delay >= 0)
		t.plan.abort_delay_us = abort_delay;
	type_args_print_plan(&t, stdout);
	rc = 0;
out:
	type_args_free(&t);
	free(env);
	return rc;
}
