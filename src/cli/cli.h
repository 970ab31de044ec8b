/* cli.h: sub-command entry points. */
#ifndef STAMPEDE_CLI_H
#define STAMPEDE_CLI_H

#define STAMPEDE_VERSION "0.1.0"

/* `stampede run ...`: parse flags, run, return the exit code. */
int cmd_run(int argc, char **argv);
/* cmd_run's flags checked as a run would check them, and nothing sent or written: a
 * script is loaded (its init code runs) and its options checked. Returns 0, or the exit
 * code after saying why (104, 107 for a script that does not load). */
int cmd_run_check(int argc, char **argv);
/* Print the usage of `run`. */
void cmd_run_usage(void);

/* `stampede serve-demo ...`: run the demo system under test until SIGTERM/SIGINT. */
int cmd_serve_demo(int argc, char **argv);
/* Print the usage of `serve-demo`. */
void cmd_serve_demo_usage(void);

/* `stampede quickstart`: start the demo server, run the bundled test, report. */
int cmd_quickstart(int argc, char **argv);

/* `stampede report RESULT.json -o FILE.html`: the HTML report of a result file. */
int cmd_report(int argc, char **argv);

/* `stampede plan --type T ...`: print a test-type preset's schedule; sends nothing. */
int cmd_plan(int argc, char **argv);
void cmd_plan_usage(void);

/* `stampede profile --pid PID ...`: perf record, then an SVG flame graph and the top
 * functions (docs/profiling.md). */
int cmd_profile(int argc, char **argv);
void cmd_profile_usage(void);

/* `stampede flamegraph FOLDED | --diff BEFORE AFTER`: an SVG flame graph of folded stacks. */
int cmd_flamegraph(int argc, char **argv);
void cmd_flamegraph_usage(void);
void cmd_report_usage(void);

/* `stampede history add|list|show|baseline ...`: the run history (docs/history.md). */
int cmd_history(int argc, char **argv);
void cmd_history_usage(void);

/* `stampede compare BASELINE.json RESULT.json`: a run against a baseline (docs/compare.md). */
int cmd_compare(int argc, char **argv);
void cmd_compare_usage(void);

/* `stampede capacity sweep|fit|plan|k8s`: capacity planning (docs/capacity.md);
 * cli/capacity_cli.h has the sub-commands. */
int cmd_assess(int argc, char **argv);
void cmd_assess_usage(void);
int cmd_capacity(int argc, char **argv);
void cmd_capacity_usage(void);

/* `stampede merge PART.json... -o TOTAL.json`: one result from the result files of a
 * distributed run's parts (docs/distributed.md). */
int cmd_merge(int argc, char **argv);
void cmd_merge_usage(void);

/* `stampede coordinate --instances N`: a distributed run's ready barrier and its abort
 * thresholds judged on every instance's data (docs/distributed.md). */
int cmd_coordinate(int argc, char **argv);
void cmd_coordinate_usage(void);

/* `stampede k8s render --parallelism N --script S.lua`: the Kubernetes manifests of a
 * distributed run (deploy/k8s/, docs/distributed.md). */
int cmd_k8s(int argc, char **argv);
void cmd_k8s_usage(void);

#endif
