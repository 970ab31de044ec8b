/* cmd_assess.c: `stampede assess` (issue #15, docs/assess.md): smoke, load, breakpoint, spike
 * and soak against one service within a budget, each a `run --type T` whose result file is
 * kept, then one assessment (analysis/assess.h) written as JSON, HTML and markdown. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analysis/assess.h"
#include "analysis/capplan.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "engine/run.h"
#include "output/assess_report.h"
#include "output/output.h"
#include "protocol/url.h"
#include "result/result.h"
#include "util/common.h"
#include "util/outfile.h"
#include "util/slo.h"

#define BUDGET_DEFAULT_US (15 * 60 * USEC_PER_SEC)
#define BUDGET_MAX_US     (24LL * 3600 * USEC_PER_SEC)
#define NPHASES           5
#define SMOKE_VUS         2
#define WATCHDOG_MARGIN_S 1.0 /* the budget's end the report is written in */
#define TARGET_STOP_S     5.0 /* monitor_args_finish()'s wait before SIGKILL */
#define OVERHEAD_S        2.0 /* start-up and end of a phase (monitor, profile, files) */
#define SPIKE_MULTIPLE    10.0
#define CAP_MULTIPLE      10.0 /* the breakpoint's default safety cap: 10 x the level */
#define SPIKE_MIN_SHARE   1.05 /* a breaking point this close to the level: no spike */

/* Each phase's shortest length (s) and its share of the budget left over (sums to 1). */
static const struct {
	const char *name;
	double min_s, share, max_s;
} phase_spec[NPHASES] = {
	{ "smoke", 5, 0.03, 60 },   { "load", 15, 0.22, 1e9 }, { "breakpoint", 20, 0.25, 1e9 },
	{ "spike", 25, 0.15, 1e9 }, { "soak", 32, 0.35, 1e9 },
};

struct phase_plan {
	double dur_s;                        /* planned length */
	double ramp_s, hold_s, down_s;       /* load, soak, smoke (hold) */
	double warmup_s, spike_s, observe_s; /* spike */
	double peak;                         /* breakpoint, spike: a multiple of the level */
};

struct assess_args {
	const char *url, *script, *dir, *history, *history_tag, *currency;
	char *slo;
	double level, cap, cost, growth;
	bool open; /* --expected-rps (else --expected-vus) */
	int64_t budget_us;
	bool plan_only, own_target, no_profile, monitored, quiet;
	bool started_target; /* --monitor-cmd: each phase starts and stops it */
	char **pass;
	int npass;
	double grace_s;
	struct phase_plan plan[NPHASES];
};

void cmd_assess_usage(void)
{
	printf(
	    "usage: stampede assess --url URL --slo 'p95<200ms,errors<0.1%%' --expected-rps R\n"
	    "                       [--budget 15m] [--max-rps R] [--dir DIR] [monitoring] [...]\n"
	    "       stampede assess --script S.lua --url BASE --slo ... --expected-vus N [...]\n\n"
	    "The whole practice against one service, in order: smoke (stops here when it fails),\n"
	    "load at the expected level, breakpoint (raise the load until an SLO fails, up to a\n"
	    "safety cap), spike (to 10x the level or the breaking point, whichever is lower),\n"
	    "soak (the level for what the budget leaves). Each phase is a `stampede run --type`;\n"
	    "then one assessment report: verdict per test type, breaking point, spike recovery,\n"
	    "soak and leaks, the bottleneck with its evidence, the USL fit and capacity plan\n"
	    "(2x, 5x, 10x), autoscaler manifests, and findings ordered by impact.\n\n"
	    "      --url URL             the service (a script gets it as BASE_URL)\n"
	    "      --script FILE         a k6-style script instead of one URL (closed model:\n"
	    "                            give --expected-vus)\n"
	    "      --slo LIST            the objectives every phase is judged by (required;\n"
	    "                            repeatable), e.g. 'p95<200ms,p99<500ms,errors<0.1%%'\n"
	    "      --expected-rps R      the load expected in production, requests/s (open model)\n"
	    "      --expected-vus N      ... or concurrent users (closed model; scripts)\n"
	    "      --budget D            a hard cap on the whole assessment (default 15m; at\n"
	    "                            least 1m52s); the phases share it\n"
	    "      --max-rps R           the breakpoint's safety cap (default 10 x R)\n"
	    "      --max-concurrency N   the same for --expected-vus (default 10 x N)\n"
	    "      --dir DIR             where the report and the phases' results go\n"
	    "                            (default assessment)\n"
	    "      --plan-only           print the plan and its length, run nothing\n"
	    "      --i-own-this-target   required for a target that is not loopback: an\n"
	    "                            assessment is deliberately destructive\n"
	    "      --no-profile          no CPU profile of the watched target in the load phase\n"
	    "      --cost-per-instance C/PERIOD  an instance's cost: 120/month, 0.17/h, 4/day\n"
	    "      --currency NAME       its unit (USD, EUR ...)\n"
	    "      --growth G            monthly growth for the plan's timeline (e.g. 15%%)\n"
	    "      --history FILE.db     add each phase's run to this history\n"
	    "      --history-tag TAG     a label kept with them\n\n"
	    "Every other flag is `run`'s and applies to each phase: --monitor-pid PID,\n"
	    "--monitor-cmd CMD (started again for each phase), --monitor-port P, --scrape URL,\n"
	    "-H 'K: V', --threads N ... With a watched target the load phase also records a\n"
	    "profile (perf; without it a warning says why and the phase goes on).\n\n"
	    "Ctrl-C stops the current phase and still writes the report of what was done.\n"
	    "Exit: 0 when every judged phase held its SLOs, 99 when the smoke, load, spike or\n"
	    "soak failed them, 105 interrupted, 104 invalid options, 1 a phase could not run.\n\n"
	    "example: stampede serve-demo --port 8080 --workers 4 --query-latency 10ms &\n"
	    "         stampede assess --url http://127.0.0.1:8080/api/products/1 \\\n"
	    "             --slo 'p95<200ms,errors<1%%' --expected-rps 100 --budget 3m \\\n"
	    "             --monitor-pid $! --scrape http://127.0.0.1:8080/metrics\n");
}

/* Flags of `run` that assess sets itself for each phase. */
static const char *const owned_long[] = {
	"--type",
	"--rate",
	"--vus",
	"--duration",
	"--stages",
	"--iterations",
	"--peak",
	"--steps",
	"--levels",
	"--ramp",
	"--hold",
	"--ramp-down",
	"--step-duration",
	"--warmup",
	"--observe",
	"--out",
	"--profile",
	"--profile-out",
	"--no-summary",
	"--grace",
	"--summary-export",
	"--slo-preset",
	"--threshold-abort",
	"--abort-delay",
};
#define RUN_SHORT_WITH_VALUE "ucdsitXHeo"
#define OWNED_SHORT          "ucdsio"

static int bad(const char *flag, const char *v, const char *why)
{
	cli_bad_value(flag, v, why);
	return EXIT_INVALID_CONFIG;
}

static bool positive(const char *v, double *out)
{
	char *end;
	*out = strtod(v, &end);
	return cli_decimal(v, -1) && !*end && *out > 0 && isfinite(*out);
}

/* Whether host is loopback without asking any resolver: an address literal in
 * 127.0.0.0/8 or ::1 (also IPv4-mapped) as inet_pton reads it, which is how the engine
 * reads literals too, or the name "localhost" or a name under it (RFC 6761 §6.3 reserves
 * them for loopback). Any other name could resolve elsewhere (a search domain, DNS
 * rebinding between phases) and needs --i-own-this-target. */
static bool loopback_host(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	size_t n = strlen(host);
	if (n && host[n - 1] == '.')
		n--; /* the root's dot: "localhost." */
	return (n == 9 && !strncasecmp(host, "localhost", 9)) ||
	       (n > 10 && !strncasecmp(host + n - 10, ".localhost", 10));
}

static double clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Share the budget: each phase its minimum, then its share of what is left. Returns 0, or
 * -1 when the budget cannot hold the minimums (with the least budget in *need_s). */
static int make_plan(struct assess_args *a, double *need_s)
{
	double budget = (double)a->budget_us / USEC_PER_SEC;
	a->grace_s = clampd(floor(budget / 100), 1, 10);
	double reserve = NPHASES * (a->grace_s + OVERHEAD_S), mins = 0;
	for (int i = 0; i < NPHASES; i++)
		mins += phase_spec[i].min_s;
	double extra = budget - reserve - mins;
	if (extra < 0) {
		*need_s = ceil(reserve + mins);
		return -1;
	}
	double spare = 0;
	for (int i = 0; i < NPHASES; i++) {
		double d = phase_spec[i].min_s + extra * phase_spec[i].share;
		if (d > phase_spec[i].max_s) {
			spare += d - phase_spec[i].max_s;
			d = phase_spec[i].max_s;
		}
		a->plan[i].dur_s = floor(d);
	}
	a->plan[4].dur_s = floor(a->plan[4].dur_s + spare); /* the soak takes the rest */

	struct phase_plan *p = a->plan;
	p[0].hold_s = p[0].dur_s;                               /* smoke */
	p[1].ramp_s = clampd(round(p[1].dur_s * 0.15), 2, 120); /* load */
	p[1].down_s = clampd(round(p[1].dur_s * 0.10), 1, 60);
	p[1].hold_s = p[1].dur_s - p[1].ramp_s - p[1].down_s;
	p[2].peak = a->cap / a->level;                            /* breakpoint */
	p[3].warmup_s = clampd(round(p[3].dur_s * 0.15), 2, 120); /* spike */
	p[3].spike_s = clampd(round(p[3].dur_s * 0.15), 3, 120);
	/* the observation: at least the recovery's 10 s of p95 held back under, and time to
	 * get there */
	p[3].observe_s = p[3].dur_s - p[3].warmup_s - p[3].spike_s;
	p[3].peak = MIN(SPIKE_MULTIPLE, a->cap / a->level); /* until the breaking point is known */
	p[4].ramp_s = clampd(round(p[4].dur_s * 0.08), 2, 300); /* soak */
	p[4].down_s = clampd(round(p[4].dur_s * 0.04), 1, 60);
	p[4].hold_s = p[4].dur_s - p[4].ramp_s - p[4].down_s;
	return 0;
}

static const char *unit(const struct assess_args *a)
{
	return a->open ? "/s" : " VUs";
}

static void print_plan(const struct assess_args *a, FILE *f)
{
	const struct phase_plan *p = a->plan;
	double total = 0;
	for (int i = 0; i < NPHASES; i++)
		total += p[i].dur_s + a->grace_s + OVERHEAD_S;
	char b[32], t[32];
	format_duration(a->budget_us, b, sizeof(b));
	format_duration((int64_t)total * USEC_PER_SEC, t, sizeof(t));
	fprintf(f, "assessment plan for %s (%s)\n", a->url, a->script ? a->script : "one URL");
	fprintf(f,
	        "  expected %.6g%s; SLOs %s; budget %s (at most %s with each phase's %.0f s "
	        "grace and start-up)\n",
	        a->level, unit(a), a->slo, b, t, a->grace_s);
	fprintf(f,
	        "  1. smoke       %4.0f s  %d VUs; no error allowed; stops the assessment when "
	        "it fails\n",
	        p[0].dur_s, SMOKE_VUS);
	fprintf(
	    f, "  2. load        %4.0f s  ramp %.0f s to %.6g%s, hold %.0f s, ramp down %.0f s%s\n",
	    p[1].dur_s, p[1].ramp_s, a->level, unit(a), p[1].hold_s, p[1].down_s,
	    a->monitored && !a->no_profile ? "; target profiled" : "");
	fprintf(f,
	        "  3. breakpoint  %4.0f s  raise 0 -> %.6g%s (the safety cap); stops where an "
	        "SLO fails\n",
	        p[2].dur_s, a->cap, unit(a));
	fprintf(f,
	        "  4. spike       %4.0f s  %.6g%s for %.0f s, then %.6g%s (or the breaking "
	        "point) for %.0f s, observe %.0f s\n",
	        p[3].dur_s, a->level, unit(a), p[3].warmup_s,
	        MIN(SPIKE_MULTIPLE * a->level, a->cap), unit(a), p[3].spike_s, p[3].observe_s);
	fprintf(f,
	        "  5. soak        %4.0f s  ramp %.0f s to %.6g%s, hold %.0f s, ramp down %.0f s\n",
	        p[4].dur_s, p[4].ramp_s, a->level, unit(a), p[4].hold_s, p[4].down_s);
	fprintf(f,
	        "  results in %s/ (assessment.html, assessment.md, assessment.json, one result "
	        "per phase)\n",
	        a->dir);
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool stop_pending(void)
{
	sigset_t set;
	return sigpending(&set) == 0 && (sigismember(&set, SIGINT) || sigismember(&set, SIGTERM) ||
	                                 sigismember(&set, SIGHUP));
}

/* argv builder: as long as the command line needs (NULL-terminated) */
struct av {
	char **v, **own;
	int n, nown;
};

static void push(struct av *v, const char *s)
{
	v->v = xrealloc(v->v, sizeof(*v->v) * (size_t)(v->n + 2));
	v->v[v->n++] = (char *)s;
}

static void pushf(struct av *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pushf(struct av *v, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		perror("stampede: assess");
		exit(EXIT_FAILURE);
	}
	v->own = xrealloc(v->own, sizeof(*v->own) * (size_t)(v->nown + 1));
	v->own[v->nown++] = s;
	push(v, s);
}

static void av_free(struct av *v)
{
	for (int i = 0; i < v->nown; i++)
		free(v->own[i]);
	free(v->own);
	free(v->v);
}

/* The argv of phase i's `run`. */
static void phase_argv(const struct assess_args *a, int i, const char *dir, struct av *v)
{
	const struct phase_plan *p = &a->plan[i];
	const char *name = phase_spec[i].name;
	push(v, "run");
	if (a->script) {
		push(v, a->script);
		push(v, "-e");
		pushf(v, "BASE_URL=%s", a->url);
	} else {
		push(v, "--url");
		push(v, a->url);
	}
	push(v, "--type");
	push(v, name);
	const char *lv = a->open ? "--rate" : "--vus";
	if (i == 0) {
		pushf(v, "--vus=%d", SMOKE_VUS);
		pushf(v, "--hold=%.0fs", p->hold_s);
	} else {
		pushf(v, "%s=%.10g", lv, a->level);
	}
	switch (i) {
	case 1:
	case 4:
		pushf(v, "--ramp=%.0fs", p->ramp_s);
		pushf(v, "--hold=%.0fs", p->hold_s);
		pushf(v, "--ramp-down=%.0fs", p->down_s);
		break;
	case 2:
		pushf(v, "--peak=%.10g", p->peak);
		pushf(v, "--duration=%.0fs", p->dur_s);
		break;
	case 3:
		pushf(v, "--peak=%.10g", p->peak);
		pushf(v, "--warmup=%.0fs", p->warmup_s);
		pushf(v, "--hold=%.0fs", p->spike_s);
		pushf(v, "--observe=%.0fs", p->observe_s);
		break;
	}
	push(v, "--slo");
	push(v, a->slo);
	pushf(v, "--grace=%.0fs", a->grace_s);
	push(v, "--no-summary");
	pushf(v, "--out=result=%s/%s.json", dir, name);
	pushf(v, "--out=html=%s/%s.html", dir, name);
	if (i == 1 && a->monitored && !a->no_profile)
		push(v, "--profile");
	if (a->history) {
		push(v, "--history");
		push(v, a->history);
		if (a->history_tag) {
			push(v, "--history-tag");
			push(v, a->history_tag);
		}
	}
	for (int k = 0; k < a->npass; k++)
		push(v, a->pass[k]);
	v->v[v->n] = NULL;
}

/* Parse the command line into *a. Returns 0, or an exit code (the message printed). */
static int parse(int argc, char **argv, struct assess_args *a, bool *help)
{
	bool rps = false, vus = false;
	const char *cap_flag = NULL;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
			*help = true;
			return 0;
		}
		if (!strcmp(s, "--plan-only")) {
			a->plan_only = true;
			continue;
		}
		if (!strcmp(s, "--i-own-this-target")) {
			a->own_target = true;
			continue;
		}
		if (!strcmp(s, "--no-profile")) {
			a->no_profile = true;
			continue;
		}
		static const char *const mine[] = {
			"--url",          "--script",
			"--slo",          "--expected-rps",
			"--expected-vus", "--budget",
			"--max-rps",      "--max-concurrency",
			"--dir",          "--cost-per-instance",
			"--currency",     "--growth",
			"--history",      "--history-tag",
		};
		const char *flag = NULL;
		for (size_t k = 0; k < ARRAY_SIZE(mine) && !flag; k++)
			if (cli_flag_is(s, mine[k]))
				flag = mine[k];
		if (flag) {
			const char *v = cli_flag_value(argc, argv, &i, flag);
			if (!v) {
				fprintf(stderr, "stampede: assess: %s needs a value\n", flag);
				return EXIT_INVALID_CONFIG;
			}
			double x;
			if (!strcmp(flag, "--url")) {
				a->url = v;
			} else if (!strcmp(flag, "--script")) {
				a->script = v;
			} else if (!strcmp(flag, "--slo")) {
				char err[256];
				struct slo_set probe = { 0 };
				if (slo_parse(v, &probe, err, sizeof(err)) < 0) {
					fprintf(stderr, "stampede: assess: invalid --slo: %s\n",
					        err);
					return EXIT_INVALID_CONFIG;
				}
				if (!a->slo) {
					a->slo = xstrdup(v);
				} else {
					size_t n = strlen(a->slo) + strlen(v) + 2;
					char *both = xmalloc(n);
					snprintf(both, n, "%s,%s", a->slo, v);
					free(a->slo);
					a->slo = both;
				}
			} else if (!strcmp(flag, "--expected-rps") ||
			           !strcmp(flag, "--expected-vus")) {
				bool r = flag[11] == 'r';
				if (!positive(v, &x) || x < 1 || x > (r ? 1e7 : 1e6) ||
				    (!r && x != floor(x)))
					return bad(
					    flag, v,
					    r ? "expected requests per second, from 1 to 10000000"
					      : "expected a whole number of VUs, from 1 to "
					        "1000000");
				a->level = x;
				rps |= r;
				vus |= !r;
			} else if (!strcmp(flag, "--budget")) {
				int64_t us;
				if (parse_duration(v, &us) < 0 || us <= 0 || us > BUDGET_MAX_US)
					return bad(flag, v,
					           "expected a duration such as 15m, up to 24h");
				a->budget_us = us;
			} else if (!strcmp(flag, "--max-rps") ||
			           !strcmp(flag, "--max-concurrency")) {
				bool whole = !strcmp(flag, "--max-concurrency");
				if (!positive(v, &x) || x > 1e7 || (whole && x != floor(x)))
					return bad(
					    flag, v,
					    whole ? "expected a whole number of VUs > 0"
					          : "expected requests per second, up to 10000000");
				a->cap = x;
				cap_flag = flag;
			} else if (!strcmp(flag, "--dir")) {
				a->dir = v;
			} else if (!strcmp(flag, "--cost-per-instance")) {
				if (capplan_parse_cost(v, &a->cost) < 0)
					return bad(flag, v,
					           "expected an amount per instance and period: "
					           "120/month, "
					           "0.17/h, 4/day, 1440/year");
			} else if (!strcmp(flag, "--currency")) {
				a->currency = v;
			} else if (!strcmp(flag, "--growth")) {
				if (capplan_parse_growth(v, &a->growth) < 0)
					return bad(flag, v,
					           "expected a growth rate such as 15% (a month), "
					           "15%/month, 3%/week, 40%/year");
			} else if (!strcmp(flag, "--history")) {
				a->history = v;
			} else {
				a->history_tag = v;
			}
			continue;
		}
		if (cli_flag_is(s, "--execution-segment") ||
		    cli_flag_is(s, "--execution-segment-sequence")) {
			fprintf(stderr,
			        "stampede: assess: an assessment runs from one generator: its "
			        "phases are judged on their own numbers, which a segment's share "
			        "would not be; distribute a `run` instead (docs/distributed.md)\n");
			return EXIT_INVALID_CONFIG;
		}
		for (size_t k = 0; k < ARRAY_SIZE(owned_long); k++)
			if (cli_flag_is(s, owned_long[k])) {
				fprintf(
				    stderr,
				    "stampede: assess: %s is set by each phase (docs/assess.md); "
				    "shape the assessment with --budget, --expected-rps and "
				    "--max-rps\n",
				    owned_long[k]);
				return EXIT_INVALID_CONFIG;
			}
		char c = cli_owned_short(s, OWNED_SHORT, RUN_SHORT_WITH_VALUE);
		if (c) {
			fprintf(stderr,
			        "stampede: assess: -%c is set by each phase (docs/assess.md)\n", c);
			return EXIT_INVALID_CONFIG;
		}
		if (s[0] != '-' || !strcmp(s, "-") || !strcmp(s, "--")) {
			fprintf(
			    stderr,
			    "stampede: assess: unexpected argument '%.200s' (a script goes with "
			    "--script FILE)\n",
			    s);
			return EXIT_INVALID_CONFIG;
		}
		if (cli_flag_is(s, "--monitor-pid") || cli_flag_is(s, "--monitor-cmd") ||
		    cli_flag_is(s, "--monitor-port"))
			a->monitored = true;
		if (cli_flag_is(s, "--monitor-cmd"))
			a->started_target = true;
		if (!strcmp(s, "-q") || !strcmp(s, "--quiet"))
			a->quiet = true;
		a->pass[a->npass++] = argv[i];
		/* a flag's separate value goes along with it; run checks it */
		if (s[1] == '-' && !strchr(s, '=') && i + 1 < argc && argv[i + 1][0] != '-') {
			static const char *const boolean[] = { "--insecure", "--no-color",
				                               "--no-thresholds", "--quiet" };
			bool is_bool = false;
			for (size_t k = 0; k < ARRAY_SIZE(boolean); k++)
				is_bool |= !strcmp(s, boolean[k]);
			if (!is_bool && strncmp(s, "--http-debug", 12))
				a->pass[a->npass++] = argv[++i];
		} else if (s[1] != '-' && s[2] == '\0' && strchr(RUN_SHORT_WITH_VALUE, s[1]) &&
		           i + 1 < argc) {
			a->pass[a->npass++] = argv[++i];
		}
	}
	if (!a->url) {
		fprintf(stderr, "stampede: assess: --url URL is required (the service to assess; "
		                "try `stampede serve-demo` for a target of your own)\n");
		return EXIT_INVALID_CONFIG;
	}
	if (!a->slo) {
		fprintf(stderr,
		        "stampede: assess: --slo is required: the objectives every phase is "
		        "judged by, e.g. --slo 'p95<200ms,p99<500ms,errors<0.1%%'\n");
		return EXIT_INVALID_CONFIG;
	}
	if (rps == vus) {
		fprintf(stderr, "stampede: assess: give the expected load once: --expected-rps R "
		                "(requests per second) or --expected-vus N (concurrent users)\n");
		return EXIT_INVALID_CONFIG;
	}
	a->open = rps;
	if (a->script && a->open) {
		fprintf(stderr, "stampede: assess: a script runs in the closed model: give "
		                "--expected-vus N instead of --expected-rps\n");
		return EXIT_INVALID_CONFIG;
	}
	if (cap_flag && strcmp(cap_flag, a->open ? "--max-rps" : "--max-concurrency")) {
		fprintf(stderr, "stampede: assess: %s goes with %s\n", cap_flag,
		        a->open ? "--expected-vus (use --max-rps)"
		                : "--expected-rps (use --max-concurrency)");
		return EXIT_INVALID_CONFIG;
	}
	if (!a->cap) /* at most what run takes: 10,000,000/s, 1,000,000 VUs */
		a->cap = MIN(CAP_MULTIPLE * a->level, a->open ? 1e7 : 1e6);
	if (!(a->cap > a->level * 1.01) || a->cap / a->level > 1000) {
		fprintf(stderr,
		        "stampede: assess: the safety cap (%.6g) must be above the expected level "
		        "(%.6g) and at most 1000 times it\n",
		        a->cap, a->level);
		return EXIT_INVALID_CONFIG;
	}
	if (!a->open && a->cap > 1e6) {
		fprintf(stderr, "stampede: assess: at most 1000000 VUs\n");
		return EXIT_INVALID_CONFIG;
	}
	return 0;
}

/* The files an assessment needs, checked before anything is sent: --dir a writable
 * directory (or creatable), --script a readable file, --history not a directory. */
static int check_files(const struct assess_args *a)
{
	struct stat st;
	if (stat(a->dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			fprintf(stderr, "stampede: assess: --dir '%s' is not a directory\n",
			        a->dir);
			return EXIT_INVALID_CONFIG;
		}
		if (access(a->dir, W_OK | X_OK) < 0) {
			fprintf(stderr, "stampede: assess: --dir '%s': cannot write there: %s\n",
			        a->dir, strerror(errno));
			return EXIT_INVALID_CONFIG;
		}
	} else if (errno != ENOENT || lstat(a->dir, &st) == 0) {
		fprintf(stderr, "stampede: assess: --dir '%s': %s\n", a->dir,
		        errno == ENOENT ? "a dangling symbolic link" : strerror(errno));
		return EXIT_INVALID_CONFIG;
	}
	if (a->script) {
		const char *why = stat(a->script, &st) < 0      ? strerror(errno)
		                  : !S_ISREG(st.st_mode)        ? "not a regular file"
		                  : access(a->script, R_OK) < 0 ? strerror(errno)
		                                                : NULL;
		if (why) {
			fprintf(stderr, "stampede: assess: --script '%s': %s\n", a->script, why);
			return EXIT_INVALID_CONFIG;
		}
	}
	if (a->history && stat(a->history, &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "stampede: assess: --history '%s' is a directory (give a file)\n",
		        a->history);
		return EXIT_INVALID_CONFIG;
	}
	/* the assessment's own files, when --dir exists: writable (not a directory...) */
	static const char *const own[] = { "assessment.json", "assessment.html", "assessment.md" };
	for (size_t k = 0; k < ARRAY_SIZE(own) && stat(a->dir, &st) == 0; k++) {
		char path[4096], err[4096 + 256];
		snprintf(path, sizeof(path), "%s/%s", a->dir, own[k]);
		if (outfile_check(path, err, sizeof(err)) < 0) {
			fprintf(stderr, "stampede: assess: %s\n", err);
			return EXIT_INVALID_CONFIG;
		}
	}
	return 0;
}

static int check_target(const struct assess_args *a)
{
	struct url u;
	char err[256];
	if (url_parse(a->url, &u, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: assess: invalid --url '%.200s': %s\n", a->url, err);
		return EXIT_INVALID_CONFIG;
	}
	bool lo = loopback_host(u.host);
	if (!lo && !a->own_target) {
		fprintf(stderr,
		        "stampede: assess: %s is not a loopback address (127.0.0.0/8, ::1, "
		        "localhost). An assessment is "
		        "deliberately destructive (it loads the target until it breaks); give "
		        "--i-own-this-target if you own it and mean it\n",
		        u.host);
		url_free(&u);
		return EXIT_INVALID_CONFIG;
	}
	if (!lo && !a->plan_only)
		fprintf(stderr,
		        "stampede: assess: loading %s, a NON-LOOPBACK target, until it "
		        "breaks (--i-own-this-target)\n",
		        u.host);
	url_free(&u);
	return 0;
}

/* Every phase's `run` command line checked as run checks it (the pass-through flags
 * too), before anything is sent: a bad flag is refused now, not after the smoke test.
 * --dir need not exist yet (--plan-only makes nothing): the output paths are checked in
 * the system's temporary directory then, as check_files checked --dir. */
static int check_phases(const struct assess_args *a)
{
	struct stat st;
	const char *dir = stat(a->dir, &st) == 0 ? a->dir : P_tmpdir;
	/* a script is loaded (its init code run) once: the phases add only their own shape
	 * flags to it, which the assessment writes itself */
	for (int i = 0; i < (a->script ? 1 : NPHASES); i++) {
		struct av v = { 0 };
		phase_argv(a, i, dir, &v);
		/* the phases share their flags: the first phase's warnings are enough */
		int saved = -1, null = i ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -1;
		if (null >= 0) {
			fflush(stderr);
			saved = dup(STDERR_FILENO);
			if (saved >= 0)
				dup2(null, STDERR_FILENO);
			close(null);
		}
		int rc = cmd_run_check(v.n, v.v);
		if (saved >= 0) {
			fflush(stderr);
			dup2(saved, STDERR_FILENO);
			close(saved);
			if (rc) /* again, to say why */
				rc = cmd_run_check(v.n, v.v);
		}
		av_free(&v);
		if (rc == EXIT_INTERRUPTED)
			return rc;
		if (rc) {
			fprintf(stderr,
			        "stampede: assess: the %s phase's run was refused (above); "
			        "nothing was sent\n",
			        phase_spec[i].name);
			return rc;
		}
	}
	return 0;
}

/* The budget's hard cap: a thread that, unless cancelled first, interrupts the phase
 * running at the deadline as Ctrl-C would (a SIGINT to the process, which the run's
 * signalfd takes, or which the loop sees pending between phases), so a phase that
 * overruns its plan (a script's init code that never returns, a target that ignores its
 * stop) cannot take the assessment past its budget. */
struct watchdog {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct timespec deadline; /* CLOCK_MONOTONIC */
	bool cancelled, fired, started;
};

static void *watchdog_main(void *arg)
{
	struct watchdog *w = arg;
	pthread_mutex_lock(&w->mu);
	int e = 0;
	while (!w->cancelled && e != ETIMEDOUT)
		e = pthread_cond_timedwait(&w->cv, &w->mu, &w->deadline);
	if (!w->cancelled) {
		w->fired = true;
		kill(getpid(), SIGINT);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void watchdog_start(struct watchdog *w, double in_s)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&w->mu, NULL);
	clock_gettime(CLOCK_MONOTONIC, &w->deadline);
	double t = (double)w->deadline.tv_sec + (double)w->deadline.tv_nsec / 1e9 + MAX(in_s, 0);
	w->deadline.tv_sec = (time_t)t;
	w->deadline.tv_nsec = (long)((t - floor(t)) * 1e9);
	w->started = pthread_create(&w->th, NULL, watchdog_main, w) == 0;
}

/* Cancel it; returns whether it fired. */
static bool watchdog_stop(struct watchdog *w)
{
	if (!w->started)
		return false;
	pthread_mutex_lock(&w->mu);
	w->cancelled = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	w->started = false;
	return w->fired;
}

static bool watchdog_fired(struct watchdog *w)
{
	if (!w->started)
		return w->fired;
	pthread_mutex_lock(&w->mu);
	bool f = w->fired;
	pthread_mutex_unlock(&w->mu);
	return f;
}

struct outcome {
	struct assess_in in;
	struct result *res[NPHASES];
	char result_name[NPHASES][32], report_name[NPHASES][32];
	char reason[NPHASES][600];
};

static void skip_rest(struct outcome *o, int from, const char *why)
{
	for (int i = from; i < NPHASES; i++) {
		if (o->in.phases[i].ran != ASSESS_NOT_RUN || o->in.phases[i].reason)
			continue;
		snprintf(o->reason[i], sizeof(o->reason[i]), "%s", why);
		o->in.phases[i].reason = o->reason[i];
	}
}

/* The breakpoint's last good level (NAN when none was found). */
static double breaking_point(const struct result *r, bool *found)
{
	const json_t *bp =
	    json_object_get(json_object_get(r ? r->analyses : NULL, "testType"), "breakingPoint");
	*found = json_is_true(json_object_get(bp, "found"));
	const json_t *g = json_object_get(bp, "lastGood");
	return *found && json_is_number(g) ? json_number_value(g) : NAN;
}

static int write_text(const char *path, const char *text, char *err, size_t errlen)
{
	return outfile_write(path, text, strlen(text), err, errlen);
}

int cmd_assess(int argc, char **argv)
{
	struct assess_args a = { .dir = "assessment", .budget_us = BUDGET_DEFAULT_US, .cost = NAN };
	a.pass = xcalloc((size_t)argc + 1, sizeof(*a.pass));
	bool help = false;
	int rc = parse(argc, argv, &a, &help);
	struct outcome *o = NULL;
	struct watchdog wd = { 0 };
	if (help) {
		cmd_assess_usage();
		goto out;
	}
	if (rc)
		goto out;
	double need;
	if (make_plan(&a, &need) < 0) {
		char d[32];
		format_duration((int64_t)need * USEC_PER_SEC, d, sizeof(d));
		fprintf(stderr,
		        "stampede: assess: --budget is too short for five phases: at least "
		        "%s\n",
		        d);
		rc = EXIT_INVALID_CONFIG;
		goto out;
	}
	if ((rc = check_target(&a)) || (rc = check_files(&a)))
		goto out;
	if (!a.plan_only) {
		/* the budget's hard cap from here on (a script's init code runs in the check);
		 * a stop stays pending until a phase or the loop takes it */
		cli_block_stop_signals();
		/* a phase stopped by it still stops a --monitor-cmd target (SIGTERM, then
		 * SIGKILL after TARGET_STOP_S) and writes its files */
		watchdog_start(&wd, (double)a.budget_us / USEC_PER_SEC - WATCHDOG_MARGIN_S -
		                        (a.started_target ? TARGET_STOP_S : 0));
	}
	if ((rc = check_phases(&a))) {
		if (rc == EXIT_INTERRUPTED && watchdog_fired(&wd))
			fprintf(stderr, "stampede: assess: the budget ran out while the script "
			                "loaded: nothing was sent\n");
		goto out;
	}
	if (a.plan_only) {
		print_plan(&a, stdout);
		goto out;
	}
	if (mkdir(a.dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "stampede: assess: cannot create '%s': %s\n", a.dir,
		        strerror(errno));
		rc = EXIT_INVALID_CONFIG;
		goto out;
	}
	{ /* a file can be written there (root passes access(); a read-only or virtual file
	     system does not take one) */
		char probe[4096];
		snprintf(probe, sizeof(probe), "%s/.stampede-assess-XXXXXX", a.dir);
		int fd = mkstemp(probe);
		if (fd < 0) {
			fprintf(stderr, "stampede: assess: --dir '%s': cannot write there: %s\n",
			        a.dir, strerror(errno));
			rc = EXIT_INVALID_CONFIG;
			goto out;
		}
		close(fd);
		unlink(probe);
	}

	o = xcalloc(1, sizeof(*o));
	struct assess_in *in = &o->in;
	in->version = STAMPEDE_VERSION;
	in->url = a.url;
	in->script = a.script;
	in->loopback = true;
	{
		struct url u;
		char err[64];
		if (url_parse(a.url, &u, err, sizeof(err)) == 0) {
			in->loopback = loopback_host(u.host);
			url_free(&u);
		}
	}
	in->expected_rps = a.level;
	in->max_rps = a.cap;
	in->budget_s = (double)a.budget_us / USEC_PER_SEC;
	in->slo = a.slo;
	in->cost_month = a.cost;
	in->currency = a.currency;
	in->growth = a.growth;
	in->nphases = NPHASES;
	in->status = "complete";
	for (int i = 0; i < NPHASES; i++) {
		struct assess_phase *p = &in->phases[i];
		p->name = phase_spec[i].name;
		p->planned_s = a.plan[i].dur_s;
		p->ran_s = NAN;
		p->exit_code = -1;
		p->level = i == 0 ? SMOKE_VUS : a.level;
		p->vus = i == 0 || !a.open;
		p->peak = i == 2 ? a.cap : NAN;
	}
	char started[40];
	time_t now = time(NULL);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	in->started_at = started;

	if (!a.quiet)
		print_plan(&a, stdout);
	fflush(stdout);
	double t0 = mono_s(), budget = in->budget_s;
	bool stop = false;
	static char status_reason[800];
	char budget_text[32];
	format_duration(a.budget_us, budget_text, sizeof(budget_text));

	for (int i = 0; i < NPHASES && !stop; i++) {
		struct assess_phase *p = &in->phases[i];
		struct phase_plan *pp = &a.plan[i];
		if (stop_pending()) {
			in->status = "interrupted";
			if (watchdog_fired(&wd))
				snprintf(status_reason, sizeof(status_reason),
				         "the budget (%s) ran out before the %s phase", budget_text,
				         p->name);
			else
				snprintf(status_reason, sizeof(status_reason),
				         "stopped by a signal before the %s phase", p->name);
			in->status_reason = status_reason;
			skip_rest(o, i, "the assessment was interrupted");
			break;
		}
		if (i == 3) { /* the spike goes to the breaking point when it is below 10 x */
			bool found;
			double bp = breaking_point(o->res[2], &found);
			double top = MIN(SPIKE_MULTIPLE * a.level, a.cap);
			if (found && isfinite(bp) && bp < top)
				top = bp;
			if (found && !(bp > SPIKE_MIN_SHARE * a.level)) {
				if (isfinite(bp))
					snprintf(
					    o->reason[i], sizeof(o->reason[i]),
					    "the breaking point (%.6g%s) is not above the expected "
					    "level: a spike would only measure overload",
					    bp, unit(&a));
				else
					snprintf(
					    o->reason[i], sizeof(o->reason[i]),
					    "the SLOs failed from the breakpoint's start: a spike "
					    "would only measure overload");
				p->reason = o->reason[i];
				continue;
			}
			pp->peak = top / a.level;
			p->peak = top;
		}
		/* the hard cap: what is left of the budget */
		double left = budget - (mono_s() - t0);
		double later = 0;
		for (int k = i + 1; k < NPHASES; k++)
			later += a.plan[k].dur_s + a.grace_s + OVERHEAD_S;
		if (i == 4 && pp->dur_s + a.grace_s + OVERHEAD_S > left) { /* shorten the soak */
			double hold =
			    floor(left - a.grace_s - OVERHEAD_S - pp->ramp_s - pp->down_s);
			if (hold >= 10) {
				pp->hold_s = hold;
				pp->dur_s = pp->ramp_s + hold + pp->down_s;
				p->planned_s = pp->dur_s;
			}
		}
		if (pp->dur_s + a.grace_s + OVERHEAD_S > left) {
			snprintf(o->reason[i], sizeof(o->reason[i]),
			         "the budget was spent (%.0f s left, the phase needs %.0f s)",
			         MAX(left, 0), pp->dur_s + a.grace_s);
			p->reason = o->reason[i];
			continue;
		}
		struct av v = { 0 };
		phase_argv(&a, i, a.dir, &v);
		char label[48];
		snprintf(label, sizeof(label), "%s %d/%d", p->name, i + 1, NPHASES);
		progress_set_phase(label, (int64_t)later * USEC_PER_SEC);
		if (!a.quiet) {
			printf("\nassess: phase %d/%d: %s\n", i + 1, NPHASES, p->name);
			fflush(stdout);
		}
		/* an earlier assessment's files of this phase go first: what is read after the
		 * phase is what it wrote, or nothing */
		static const char *const ext[] = { ".json", ".html", ".profile.svg" };
		for (size_t k = 0; k < ARRAY_SIZE(ext); k++) {
			char stale[4096];
			snprintf(stale, sizeof(stale), "%s/%s%s", a.dir, p->name, ext[k]);
			if (unlink(stale) < 0 && errno != ENOENT)
				fprintf(
				    stderr,
				    "stampede: assess: warning: cannot remove the earlier '%s': "
				    "%s\n",
				    stale, strerror(errno));
		}
		double ts = mono_s();
		int prc = cmd_run(v.n, v.v);
		p->ran_s = mono_s() - ts;
		p->exit_code = prc;
		progress_set_phase(NULL, 0);
		av_free(&v);
		snprintf(o->result_name[i], sizeof(o->result_name[i]), "%s.json", p->name);
		snprintf(o->report_name[i], sizeof(o->report_name[i]), "%s.html", p->name);
		char path[4096], err[512];
		snprintf(path, sizeof(path), "%s/%s", a.dir, o->result_name[i]);
		bool have = access(path, R_OK) == 0 && prc != EXIT_INVALID_CONFIG &&
		            prc != EXIT_SCRIPT_ERROR;
		if (have && !(o->res[i] = result_load(path, err, sizeof(err)))) {
			have = false;
			snprintf(o->reason[i], sizeof(o->reason[i]), "its result is unreadable: %s",
			         err);
		}
		if (have) {
			p->r = o->res[i];
			p->result = o->result_name[i];
			snprintf(path, sizeof(path), "%s/%s", a.dir, o->report_name[i]);
			if (access(path, R_OK) == 0)
				p->report = o->report_name[i];
		}
		if (prc == EXIT_INTERRUPTED) {
			p->ran = ASSESS_INTERRUPTED;
			in->status = "interrupted";
			if (watchdog_fired(&wd))
				snprintf(
				    status_reason, sizeof(status_reason),
				    "the budget (%s) ran out during the %s phase: it was stopped "
				    "at the hard cap",
				    budget_text, p->name);
			else
				snprintf(status_reason, sizeof(status_reason),
				         "stopped by a signal during the %s phase", p->name);
			in->status_reason = status_reason;
			skip_rest(o, i + 1, "the assessment was interrupted");
			stop = true;
		} else if (!have || !(prc == EXIT_OK || prc == EXIT_THRESHOLDS_FAILED ||
		                      prc == EXIT_ABORTED)) {
			p->ran = ASSESS_ERROR;
			if (!o->reason[i][0])
				snprintf(o->reason[i], sizeof(o->reason[i]),
				         "stampede run exited with %d (see its messages above)",
				         prc);
			p->reason = o->reason[i];
			in->status = "error";
			snprintf(status_reason, sizeof(status_reason),
			         "the %s phase could not run: %s", p->name, o->reason[i]);
			in->status_reason = status_reason;
			skip_rest(o, i + 1, "an earlier phase could not run");
			stop = true;
			/* the flags were checked before anything ran: a 104 now is the world
			 * changing under the assessment (a watched target gone), 1 */
			if (prc == EXIT_SCRIPT_ERROR)
				rc = prc;
		} else {
			p->ran = ASSESS_RAN;
			if (i == 0 && !strcmp(assess_phase_status(p), "fail")) {
				in->status = "stopped";
				snprintf(status_reason, sizeof(status_reason),
				         "the smoke test failed: nothing heavier ran");
				in->status_reason = status_reason;
				skip_rest(o, 1, "the smoke test failed");
				stop = true;
			} else if (json_is_number(json_object_get(
			               json_object_get(o->res[i]->analyses, "testType"),
			               "responsesStoppedAt"))) {
				/* heavier phases against a target that no longer answers measure
				 * nothing */
				in->status = "stopped";
				snprintf(status_reason, sizeof(status_reason),
				         "the target stopped answering in the %s phase: the phases "
				         "after it did not run",
				         p->name);
				in->status_reason = status_reason;
				skip_rest(o, i + 1, "the target stopped answering");
				stop = true;
			}
		}
		if (!a.quiet) {
			printf("assess: %s: %s\n", p->name, assess_phase_status(p));
			fflush(stdout);
		}
	}
	if (watchdog_stop(&wd) && !strcmp(in->status, "complete")) {
		/* it fired as the last phase ended: the SIGINT it sent is pending, unread */
		sigset_t set;
		int sig;
		sigemptyset(&set);
		sigaddset(&set, SIGINT);
		if (stop_pending())
			sigwait(&set, &sig);
	}
	in->duration_s = mono_s() - t0;

	/* the report, also after a stop */
	json_t *doc = assess_build(in);
	char path[4096], err[512];
	int wrc = 0;
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
	snprintf(path, sizeof(path), "%s/assessment.json", a.dir);
	if (!text || write_text(path, text, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: assess: %s\n", text ? err : "out of memory");
		wrc = EXIT_OUTPUT_FAILED;
	}
	/* every other output reads the document as written (its numbers at the file's
	 * precision): `stampede report assessment.json` renders the same report again */
	json_t *written = text ? json_loads(text, 0, NULL) : NULL;
	if (written) {
		json_decref(doc);
		doc = written;
	}
	free(text);
	snprintf(path, sizeof(path), "%s/assessment.html", a.dir);
	if (assess_html_write(doc, o->res, NPHASES, a.dir, NULL, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: assess: %s\n", err);
		wrc = EXIT_OUTPUT_FAILED;
	}
	char *md = assess_markdown(doc, NULL);
	snprintf(path, sizeof(path), "%s/assessment.md", a.dir);
	if (!md || write_text(path, md, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: assess: %s\n", md ? err : "out of memory");
		wrc = EXIT_OUTPUT_FAILED;
	}
	free(md);
	printf("\n");
	const char *nc = getenv("NO_COLOR");
	assess_text(stdout, doc, isatty(STDOUT_FILENO) && !(nc && *nc));
	printf("\nassess: the report is %s/assessment.html (also assessment.md, assessment.json "
	       "and one result per phase in %s/)\n",
	       a.dir, a.dir);
	fflush(stdout);

	if (!rc) {
		const char *st = in->status;
		bool failed = false;
		for (int i = 0; i < NPHASES; i++)
			failed |= i != 2 && !strcmp(assess_phase_status(&in->phases[i]), "fail");
		rc = !strcmp(st, "interrupted") ? EXIT_INTERRUPTED
		     : !strcmp(st, "error")     ? EXIT_FAILURE_GENERIC
		     : wrc                      ? wrc
		     : failed                   ? EXIT_THRESHOLDS_FAILED
		                                : EXIT_OK;
	}
	json_decref(doc);
out:
	watchdog_stop(&wd);
	if (o)
		for (int i = 0; i < NPHASES; i++)
			result_free(o->res[i]);
	free(o);
	free(a.slo);
	free(a.pass);
	return rc;
}
