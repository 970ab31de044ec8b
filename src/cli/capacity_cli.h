/* capacity_cli.h: `stampede capacity sweep|fit|plan|k8s` (issue #14, docs/capacity.md).
 * cmd_capacity.c dispatches; each sub-command is in its own file. Each takes argv with
 * argv[0] the sub-command's name ("fit", ...), returns the exit code (0, or 104 for bad
 * options or input: src/engine/run.h EXIT_*), and prints its usage for --help. */
#ifndef STAMPEDE_CAPACITY_CLI_H
#define STAMPEDE_CAPACITY_CLI_H

int cmd_capacity_sweep(int argc, char **argv); /* cmd_capacity.c */
int cmd_capacity_fit(int argc, char **argv);   /* cmd_capacity_fit.c */
int cmd_capacity_plan(int argc, char **argv);  /* cmd_capacity_plan.c */
int cmd_capacity_k8s(int argc, char **argv);   /* cmd_capacity_k8s.c */

void cmd_capacity_sweep_usage(void);
void cmd_capacity_fit_usage(void);
void cmd_capacity_plan_usage(void);
void cmd_capacity_k8s_usage(void);

#endif
