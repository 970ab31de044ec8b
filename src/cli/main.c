/* main.c: the stampede command: dispatch to sub-commands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/run.h"
#include "util/common.h"
#include "util/suggest.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "stampede %s - a performance-engineering toolkit for HTTP services\n\n"
	    "usage:\n"
	    "  stampede run --url URL [flags]   run a load test (see 'stampede help run')\n"
	    "  stampede run SCRIPT.lua [flags]  run a scripted test (docs/scripting.md)\n"
	    "  stampede quickstart              start the demo server, run a short test, report\n"
	    "  stampede serve-demo [flags]      run the demo server to load (docs/demo.md)\n"
	    "  stampede plan --type T --rate R  print a test type's schedule (sends nothing)\n"
	    "  stampede report RESULT.json -o report.html\n"
	    "                                   an HTML report from a result file\n"
	    "  stampede compare BASE.json RUN.json\n"
	    "                                   a run against a baseline: regressions\n"
	    "  stampede assess --url URL --slo ... --expected-rps R\n"
	    "                                   the whole practice: smoke, load, breakpoint,\n"
	    "                                   spike, soak; one report (docs/assess.md)\n"
	    "  stampede capacity sweep|fit|plan|k8s\n"
	    "                                   scalability (USL), growth plans, autoscalers\n"
	    "  stampede merge PART.json... -o TOTAL.json\n"
	    "                                   one result from the parts of a distributed\n"
	    "                                   run (--execution-segment), exactly\n"
	    "  stampede coordinate --instances N\n"
	    "                                   start a distributed run's instances together\n"
	    "                                   and judge its abort thresholds on all of them\n"
	    "  stampede k8s render --parallelism N --script S.lua\n"
	    "                                   Kubernetes manifests for a distributed run\n"
	    "                                   (docs/distributed.md)\n"
	    "  stampede history add|list|show|trend|baseline|gate --db FILE\n"
	    "                                   the run history in SQLite (docs/history.md)\n"
	    "  stampede profile --pid PID       profile a process with perf: a flame graph\n"
	    "  stampede flamegraph FOLDED       a flame graph of folded stacks (--diff A B)\n"
	    "  stampede version                 print the version\n"
	    "  stampede help [COMMAND]          this help, or a command's\n\n"
	    "exit codes: 0 ok, 1 internal failure, 99 thresholds failed, 100 setup timeout,\n"
	    "            101 teardown timeout, 104 invalid flags, 105 interrupted, 107 script\n"
	    "            error, 108 aborted by a threshold, 110 an output not written,\n"
	    "            111 profiling not possible, 112 a regression (compare), 113 a\n"
	    "            change point (history gate)\n"
	    "            (docs/cli.md)\n",
	    STAMPEDE_VERSION);
}

/* The sub-commands: name, entry point, usage (NULL: the entry point's --help). */
static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	void (*usage)(void);
} commands[] = {
	{ "run", cmd_run, cmd_run_usage },
	{ "quickstart", cmd_quickstart, NULL },
	{ "serve-demo", cmd_serve_demo, cmd_serve_demo_usage },
	{ "report", cmd_report, cmd_report_usage },
	{ "compare", cmd_compare, cmd_compare_usage },
	{ "capacity", cmd_capacity, cmd_capacity_usage },
	{ "assess", cmd_assess, cmd_assess_usage },
	{ "plan", cmd_plan, cmd_plan_usage },
	{ "history", cmd_history, cmd_history_usage },
	{ "profile", cmd_profile, cmd_profile_usage },
	{ "flamegraph", cmd_flamegraph, cmd_flamegraph_usage },
	{ "merge", cmd_merge, cmd_merge_usage },
	{ "k8s", cmd_k8s, cmd_k8s_usage },
	{ "coordinate", cmd_coordinate, cmd_coordinate_usage },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void unknown_command(const char *cmd)
{
	const char *names[ARRAY_SIZE(commands) + 2];
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		names[i] = commands[i].name;
	names[ARRAY_SIZE(commands)] = "version";
	names[ARRAY_SIZE(commands) + 1] = "help";
	int i = suggest_closest(cmd, strlen(cmd), names, (int)ARRAY_SIZE(names));
	if (i >= 0)
		fprintf(stderr, "stampede: unknown command '%.200s' (did you mean '%s'?)\n\n", cmd,
		        names[i]);
	else
		fprintf(stderr, "stampede: unknown command '%.200s'\n\n", cmd);
	usage(stderr);
}

/* `stampede help [COMMAND [SUB]]`: the general usage, or the command's (`help capacity
 * plan`: the sub-command's); an unknown command is an error (exit 104). */
static int help(const char *cmd, const char *sub)
{
	if (cmd && sub && !strcmp(cmd, "capacity")) { /* `help capacity plan` */
		char *av[] = { "capacity", (char *)sub, "--help", NULL };
		return cmd_capacity(3, av);
	}
	if (!cmd || strcmp(cmd, "help") == 0 || strcmp(cmd, "version") == 0) {
		usage(stdout);
		return 0;
	}
	const struct command *c = find_command(cmd);
	if (!c) {
		unknown_command(cmd);
		return EXIT_INVALID_CONFIG;
	}
	if (c->usage) {
		c->usage();
		return 0;
	}
	char *av[] = { (char *)c->name, "--help", NULL };
	return c->run(2, av);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_INVALID_CONFIG;
	}
	const char *cmd = argv[1];
	const struct command *c = find_command(cmd);
	if (c)
		return c->run(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("stampede %s\n", STAMPEDE_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
		return help(argc > 2 ? argv[2] : NULL, argc > 3 ? argv[3] : NULL);
	unknown_command(cmd);
	return EXIT_INVALID_CONFIG;
}
