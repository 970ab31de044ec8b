/* main.c: the stampede command: dispatch to sub-commands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/run.h"

static void usage(FILE *f)
{
	fprintf(f, "stampede %s - a performance-engineering toolkit for HTTP services\n\n"
		   "usage:\n"
		   "  stampede run --url URL [flags]   run a load test (see 'stampede help run')\n"
		   "  stampede version                 print the version\n"
		   "  stampede help [run]              this help\n\n"
		   "exit codes: 0 ok, 99 thresholds failed, 104 invalid flags, 105 interrupted,\n"
		   "            107 script error, 108 aborted by a threshold\n",
		STAMPEDE_VERSION);
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
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("stampede %s\n", STAMPEDE_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		if (argc > 2 && strcmp(argv[2], "run") == 0)
			cmd_run_usage();
		else
			usage(stdout);
		return 0;
	}
	fprintf(stderr, "stampede: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return EXIT_INVALID_CONFIG;
}
