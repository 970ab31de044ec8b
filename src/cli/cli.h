/* cli.h: sub-command entry points. */
#ifndef STAMPEDE_CLI_H
#define STAMPEDE_CLI_H

#define STAMPEDE_VERSION "0.1.0"

/* `stampede run ...`: parse flags, run, return the exit code. */
int cmd_run(int argc, char **argv);
/* Print the usage of `run`. */
void cmd_run_usage(void);

#endif
