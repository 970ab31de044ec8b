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
	    "  stampede profile --pid PID       profile a process with perf: a flame graph\n"
	    "  stampede flamegraph FOLDED       a flame graph of folded stacks (--diff A B)\n"
	    "  stampede version                 print the version\n"
	    "  stampede help [COMMAND]          this help, or a command's\n\n"
	    "exit codes: 0 ok, 1 internal failure, 99 thresholds failed, 100 setup timeout,\n"
	    "            101 teardown timeout, 104 invalid flags, 105 interrupted, 107 script\n"
	    "            error, 108 aborted by a threshold, 110 an output not written\n"
	    "            (docs/cli.md)\n",
	    STAMPEDE_VERSION);
}

/* The sub-commands, for "did you mean". */
static const char *const commands[] = { "run",     "quickstart", "serve-demo", "report", "plan",
	                                "profile", "flamegraph", "version",    "help" };

static void unknown_command(const char *cmd)
{
	int i = suggest_closest(cmd, strlen(cmd), commands, (int)ARRAY_SIZE(commands));
	if (i >= 0)
		fprintf(stderr, "stampede: unknown command '%.200s' (did you mean '%s'?)\n\n", cmd,
		        commands[i]);
	else
		fprintf(stderr, "stampede: unknown command '%.200s'\n\n", cmd);
	usage(stderr);
}

/* `stampede help [COMMAND]`: the general usage, or the command's; an unknown command is
 * an error (exit 104). */
static int help(const char *cmd)
{
	if (!cmd || strcmp(cmd, "help") == 0 || strcmp(cmd, "version") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "run") == 0) {
		cmd_run_usage();
		return 0;
	}
	if (strcmp(cmd, "serve-demo") == 0) {
		cmd_serve_demo_usage();
		return 0;
	}
	if (strcmp(cmd, "report") == 0) {
		cmd_report_usage();
		return 0;
	}
	if (strcmp(cmd, "plan") == 0) {
		cmd_plan_usage();
		return 0;
	}
	if (strcmp(cmd, "profile") == 0) {
		cmd_profile_usage();
		return 0;
	}
	if (strcmp(cmd, "flamegraph") == 0) {
		cmd_flamegraph_usage();
		return 0;
	}
	if (strcmp(cmd, "quickstart") == 0) {
		char *qa[] = { "quickstart", "--help", NULL };
		return cmd_quickstart(2, qa);
	}
	unknown_command(cmd);
	return EXIT_INVALID_CONFIG;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_INVALID_CONFIG;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "serve-demo") == 0)
		return cmd_serve_demo(argc - 1, argv + 1);
	if (strcmp(cmd, "quickstart") == 0)
		return cmd_quickstart(argc - 1, argv + 1);
	if (strcmp(cmd, "report") == 0)
		return cmd_report(argc - 1, argv + 1);
	if (strcmp(cmd, "plan") == 0)
		return cmd_plan(argc - 1, argv + 1);
	if (strcmp(cmd, "profile") == 0)
		return cmd_profile(argc - 1, argv + 1);
	if (strcmp(cmd, "flamegraph") == 0)
		return cmd_flamegraph(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("stampede %s\n", STAMPEDE_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
		return help(argc > 2 ? argv[2] : NULL);
	unknown_command(cmd);
	return EXIT_INVALID_CONFIG;
}
