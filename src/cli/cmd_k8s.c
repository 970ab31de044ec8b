/* cmd_k8s.c: `stampede k8s render --parallelism N --script S.lua ...`: the Kubernetes
 * manifests of a distributed run (output/k8s_job.h, deploy/k8s/, docs/distributed.md). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "engine/run.h"
#include "output/k8s_job.h"
#include "util/buf.h"
#include "util/common.h"
#include "util/escape.h"
#include "util/outfile.h"

#define CMD "k8s render"

/* The files of -o DIR, in the order they are applied and written to a stream. */
/* (DOC_COORD, the coordinator's Service and Job, only with --coordinator.) */
enum { DOC_CONFIGMAP, DOC_PVC, DOC_COORD, DOC_JOB, DOC_MERGE, NDOCS };
static const char *const doc_files[NDOCS] = { "configmap.yaml", "pvc.yaml", "coordinator.yaml",
	                                      "job.yaml", "merge-job.yaml" };
static void (*const doc_yaml[NDOCS])(const struct k8s_job *,
                                     struct buf *) = { k8s_job_configmap_yaml, k8s_job_pvc_yaml,
	                                               k8s_job_coordinator_yaml, k8s_job_run_yaml,
	                                               k8s_job_merge_yaml };

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: stampede k8s render --parallelism N --script S.lua [--name NAME]\n"
	        "         [--namespace NS] [--image IMAGE] [--storage SIZE]\n"
	        "         [--storage-class CLASS] [--env NAME=VALUE]... [--deadline D]\n"
	        "         [--merge-wait D] [--coordinator] [-o DIR | -o -]\n\n"
	        "Write the Kubernetes manifests of a distributed run: the script in a ConfigMap\n"
	        "(NAME-script), a ReadWriteMany PersistentVolumeClaim for the results\n"
	        "(NAME-results), an Indexed Job (NAME) whose pod i runs `stampede run S.lua\n"
	        "--execution-segment i/N:(i+1)/N` and writes part-i.json, and a Job (NAME-merge)\n"
	        "that waits for the N parts, runs `stampede merge` into total.json and\n"
	        "`stampede report` into report.html, and exits with merge's exit code (99: a\n"
	        "threshold of the whole run failed). Sends nothing; the header of the output\n"
	        "says how to apply, watch and collect.\n\n"
	        "  -p, --parallelism N    pods (segments), 1 to %d (every pod is handed the\n"
	        "                         whole sequence of N+1 points and the Job's command maps\n"
	        "                         every index: both grow with N)\n"
	        "  -s, --script S.lua     the script (UTF-8 text, at most 1 MiB: a ConfigMap's\n"
	        "                         limit); its file name is the ConfigMap key\n"
	        "  --name NAME            the Job; the other objects are NAME-merge, NAME-script,\n"
	        "                         NAME-results (an RFC 1123 DNS label of at most %d\n"
	        "                         characters; default %s)\n"
	        "  -n, --namespace NS     the objects' namespace (default: none written, so\n"
	        "                         kubectl's current one)\n"
	        "  --image IMAGE          every pod's image (default stampede:%s: build the\n"
	        "                         repository's Dockerfile and push it to your registry)\n"
	        "  --storage SIZE         the claim's size, a Kubernetes quantity (default %s)\n"
	        "  --storage-class CLASS  its storageClassName (default: the cluster's default;\n"
	        "                         it must offer ReadWriteMany)\n"
	        "  -e, --env NAME=VALUE   an environment variable of the run pods (the script's\n"
	        "                         stampede.env); repeatable; NAME a C identifier\n"
	        "  --deadline D           the run Job's activeDeadlineSeconds: its pods are\n"
	        "                         stopped after D (a duration, 90s, 1h30m; default none)\n"
	        "  --merge-wait D         how long the merge Job waits for the parts before it\n"
	        "                         fails (default %dh, or the deadline + %dm)\n"
	        "  --coordinator          also a Service and a Job NAME-coordinator running\n"
	        "                         `stampede coordinate --instances N --listen\n"
	        "                         0.0.0.0:%d`: the pods (`run --coordinator\n"
	        "                         http://NAME-coordinator:%d`) start together and abort\n"
	        "                         together when an abort-on-fail threshold fails on\n"
	        "                         them all (the Job exits 108); ready barrier %dm (or\n"
	        "                         the deadline); NAME at most %d characters, from a-z\n"
	        "  -o, --output-dir DIR   write DIR/configmap.yaml, pvc.yaml, job.yaml and\n"
	        "                         merge-job.yaml, and coordinator.yaml (its Service and\n"
	        "                         Job) with --coordinator (DIR is made if its parent\n"
	        "                         exists); '-' (the default): all to stdout, '---'\n"
	        "                         between\n"
	        "  -h, --help             this help\n\n"
	        "exit codes: 0 written, 104 bad options, values or script, 110 a file not\n"
	        "written (-o DIR that cannot be made or written, a full disk). A run pod exits\n"
	        "as `stampede run` does, but 0 for 99 (a part's thresholds: the merge judges\n"
	        "the whole), 2 for an index without a segment, 3 when its part-i.json is on the\n"
	        "claim already (an earlier run's)\n",
	        K8S_JOB_PARALLELISM_MAX, K8S_JOB_NAME_MAX, K8S_JOB_DEFAULT_NAME, STAMPEDE_VERSION,
	        K8S_JOB_DEFAULT_STORAGE, K8S_JOB_MERGE_WAIT_S / 3600, K8S_JOB_MERGE_SLACK_S / 60,
	        K8S_JOB_COORD_PORT, K8S_JOB_COORD_PORT, K8S_JOB_COORD_READY_S / 60,
	        K8S_JOB_COORD_NAMEMAX);
}

void cmd_k8s_usage(void)
{
	usage(stdout);
}

/* Print "stampede k8s render: MESSAGE" (one line); returns code. */
static int failv(int code, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "stampede " CMD ": %s\n", cli_one_line(msg));
	return code;
}

/* A bad flag, value or script: the message, EXIT_INVALID_CONFIG. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = failv(EXIT_INVALID_CONFIG, fmt, ap);
	va_end(ap);
	return rc;
}

/* An output that cannot be written (-o DIR not made, not writable): EXIT_OUTPUT_FAILED. */
static int fail_output(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail_output(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = failv(EXIT_OUTPUT_FAILED, fmt, ap);
	va_end(ap);
	return rc;
}

enum {
	OPT_NAME = 1000,
	OPT_IMAGE,
	OPT_STORAGE,
	OPT_STORAGE_CLASS,
	OPT_DEADLINE,
	OPT_MERGE_WAIT,
	OPT_COORDINATOR,
};

static const struct option long_opts[] = {
	{ "parallelism", required_argument, NULL, 'p' },
	{ "script", required_argument, NULL, 's' },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "namespace", required_argument, NULL, 'n' },
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "storage", required_argument, NULL, OPT_STORAGE },
	{ "storage-class", required_argument, NULL, OPT_STORAGE_CLASS },
	{ "env", required_argument, NULL, 'e' },
	{ "deadline", required_argument, NULL, OPT_DEADLINE },
	{ "merge-wait", required_argument, NULL, OPT_MERGE_WAIT },
	{ "coordinator", no_argument, NULL, OPT_COORDINATOR },
	{ "output-dir", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

struct render_args {
	struct k8s_job j;
	const char *parallelism, *script_path, *deadline, *merge_wait, *dir;
	struct k8s_env *env; /* argc entries at most */
	char image[64];      /* the default image */
};

/* "NAME=VALUE" into the next entry of r->env. 0 or the exit code. */
static int add_env(struct render_args *r, char *arg)
{
	char *eq = strchr(arg, '=');
	if (!eq)
		return fail("--env '%s': expected NAME=VALUE", arg);
	*eq = '\0';
	r->env[r->j.nenv].name = arg;
	r->env[r->j.nenv].value = eq + 1;
	r->j.nenv++;
	return 0;
}

/* Parse argv into r. 0, 1 for --help (usage printed), or the exit code. */
static int parse_args(int argc, char **argv, struct render_args *r)
{
	int c;
	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":hp:s:n:e:o:", long_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 1;
		case 'p':
			r->parallelism = optarg;
			break;
		case 's':
			r->script_path = optarg;
			break;
		case OPT_NAME:
			r->j.name = optarg;
			break;
		case 'n':
			r->j.ns = optarg;
			break;
		case OPT_IMAGE:
			r->j.image = optarg;
			break;
		case OPT_STORAGE:
			r->j.storage = optarg;
			break;
		case OPT_STORAGE_CLASS:
			r->j.storage_class = optarg;
			break;
		case 'e':
			if (add_env(r, optarg))
				return EXIT_INVALID_CONFIG;
			break;
		case OPT_DEADLINE:
			r->deadline = optarg;
			break;
		case OPT_MERGE_WAIT:
			r->merge_wait = optarg;
			break;
		case OPT_COORDINATOR:
			r->j.coordinator = true;
			break;
		case 'o':
			r->dir = optarg;
			break;
		default:
			cli_opt_report("k8s");
			return EXIT_INVALID_CONFIG;
		}
	}
	if (optind < argc)
		return fail("unexpected argument '%s' (see 'stampede k8s render --help')",
		            argv[optind]);
	if (!r->parallelism)
		return fail("--parallelism N is required (the number of pods, 1-%d)",
		            K8S_JOB_PARALLELISM_MAX);
	if (!r->script_path)
		return fail("--script S.lua is required");
	return 0;
}

/* A duration flag as whole seconds (rounded up), at least 1. 0 or the exit code. */
static int parse_seconds(const char *flag, const char *s, int64_t *out)
{
	int64_t us;
	if (parse_duration(s, &us) < 0 || us <= 0 || us > INT64_MAX - 1000000)
		return fail("invalid %s '%s': expected a duration above zero (90s, 10m, 1h30m)",
		            flag, s);
	*out = (us + 999999) / 1000000;
	return 0;
}

/* The script's text as a ConfigMap holds it: 1 byte or more of UTF-8 without NUL bytes
 * (k8s_job_check() checks it too, naming the key; here the path given). 0 or the exit
 * code. */
static int check_text(const char *path, const char *text, size_t len)
{
	if (len == 0)
		return fail("--script '%s': the file is empty", path);
	if (strlen(text) != len)
		return fail("--script '%s': holds a NUL byte: not a text file", path);
	char *fixed = utf8_fix(text);
	if (fixed) {
		free(fixed);
		return fail("--script '%s': not UTF-8 text", path);
	}
	return 0;
}

/* The numbers, and the script read into r->j (text owned by the caller afterwards). 0 or
 * the exit code. */
static int derive(struct render_args *r)
{
	int64_t n;
	if (parse_int64(r->parallelism, 1, K8S_JOB_PARALLELISM_MAX, &n) < 0)
		return fail("invalid --parallelism '%s': expected a pod count from 1 to %d (each "
		            "pod's command and the sequence it is handed grow with it)",
		            r->parallelism, K8S_JOB_PARALLELISM_MAX);
	r->j.parallelism = (int)n;
	if (r->deadline && parse_seconds("--deadline", r->deadline, &r->j.deadline_s))
		return EXIT_INVALID_CONFIG;
	r->j.merge_wait_s =
	    r->j.deadline_s ? r->j.deadline_s + K8S_JOB_MERGE_SLACK_S : K8S_JOB_MERGE_WAIT_S;
	if (r->merge_wait && parse_seconds("--merge-wait", r->merge_wait, &r->j.merge_wait_s))
		return EXIT_INVALID_CONFIG;
	const char *slash = strrchr(r->script_path, '/');
	r->j.key = slash ? slash + 1 : r->script_path;
	char *text = NULL;
	size_t len;
	int rc = read_file_max(r->script_path, K8S_JOB_SCRIPT_MAX, &text, &len);
	if (rc == -EFBIG) {
		struct stat st;
		if (stat(r->script_path, &st) == 0 && S_ISREG(st.st_mode))
			return fail("--script '%s': %lld bytes, more than the %u (1 MiB) a "
			            "ConfigMap holds",
			            r->script_path, (long long)st.st_size, K8S_JOB_SCRIPT_MAX);
		return fail("--script '%s': more than the %u bytes (1 MiB) a ConfigMap holds",
		            r->script_path, K8S_JOB_SCRIPT_MAX);
	}
	if (rc < 0)
		return fail("--script '%s': %s", r->script_path, read_file_strerror(rc));
	r->j.script = text;
	r->j.script_len = len;
	return check_text(r->script_path, text, len);
}

/* Whether a document is written: the coordinator's only with --coordinator. */
static bool doc_wanted(const struct k8s_job *j, int doc)
{
	return doc != DOC_COORD || j->coordinator;
}

/* The paths of -o DIR (made when missing), checked writable. 0 or the exit code: 104 for
 * a DIR that is something else, 110 for one that cannot be made or written. */
static int plan_files(const struct k8s_job *j, const char *dir, char paths[NDOCS][PATH_MAX])
{
	struct stat st;
	char err[PATH_MAX + 128];
	if (stat(dir, &st) < 0 && errno == ENOENT && mkdir(dir, 0777) < 0)
		return fail_output("-o '%s': cannot create the directory: %s", dir,
		                   strerror(errno));
	if (stat(dir, &st) < 0)
		return fail_output("-o '%s': %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail("-o '%s': not a directory", dir);
	for (int i = 0; i < NDOCS; i++) {
		if (!doc_wanted(j, i))
			continue;
		if ((size_t)snprintf(paths[i], PATH_MAX, "%s/%s", dir, doc_files[i]) >= PATH_MAX)
			return fail("-o '%s': the path is too long", dir);
		if (outfile_check(paths[i], err, sizeof(err)) < 0)
			return fail_output("%s", err);
	}
	return 0;
}

static int write_one(const char *path, const struct buf *b)
{
	char err[PATH_MAX + 128];
	if (outfile_write(path, b->p, b->len, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede " CMD ": %s\n", err);
		return EXIT_OUTPUT_FAILED;
	}
	return 0;
}

/* Every document to stdout ("---" between), or each to its file of -o DIR. */
static int write_outputs(const struct render_args *r)
{
	static char paths[NDOCS][PATH_MAX];
	bool stream = !r->dir || strcmp(r->dir, "-") == 0;
	struct buf b = { 0 };
	int rc = stream ? 0 : plan_files(&r->j, r->dir, paths);
	if (rc)
		return rc;
	for (int i = 0; !stream && i < NDOCS; i++) /* a file of -o DIR that is the script */
		if (doc_wanted(&r->j, i) && outfile_same(paths[i], r->script_path))
			return fail("-o '%s': %s is the script %s: writing it would replace the "
			            "script; choose another directory",
			            r->dir, paths[i], r->script_path);
	for (int i = 0; i < NDOCS && !rc; i++) {
		if (!doc_wanted(&r->j, i))
			continue;
		if (!stream || i == 0)
			k8s_job_header(&r->j, &b, stream ? NULL : r->dir);
		else
			buf_addstr(&b, "---\n");
		doc_yaml[i](&r->j, &b);
		if (!stream) {
			rc = write_one(paths[i], &b);
			b.len = 0;
		}
	}
	if (stream && !rc)
		rc = write_one("-", &b);
	buf_free(&b);
	return rc;
}

static int render(int argc, char **argv)
{
	struct render_args r = { .j = { .name = K8S_JOB_DEFAULT_NAME,
		                        .storage = K8S_JOB_DEFAULT_STORAGE,
		                        .version = STAMPEDE_VERSION } };
	char err[1024];
	snprintf(r.image, sizeof(r.image), "stampede:%s", STAMPEDE_VERSION);
	r.j.image = r.image;
	r.env = xcalloc((size_t)argc + 1, sizeof(*r.env));
	r.j.env = r.env;
	int rc = parse_args(argc, argv, &r);
	if (rc) {
		rc = rc == 1 ? EXIT_OK : rc;
		goto out_free_env;
	}
	if ((rc = derive(&r)))
		goto out_free_script;
	if (k8s_job_check(&r.j, err, sizeof(err)) < 0) {
		rc = fail("%s", err);
		goto out_free_script;
	}
	rc = write_outputs(&r);
out_free_script:
	free((char *)r.j.script);
out_free_env:
	free(r.env);
	return rc;
}

int cmd_k8s(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "stampede k8s: a sub-command is needed\n");
		usage(stderr);
		return EXIT_INVALID_CONFIG;
	}
	const char *s = argv[1];
	if (!strcmp(s, "--help") || !strcmp(s, "-h") || !strcmp(s, "help")) {
		cmd_k8s_usage();
		return EXIT_OK;
	}
	if (!strcmp(s, "render"))
		return render(argc - 1, argv + 1);
	fprintf(stderr, "stampede k8s: unknown sub-command '%.100s': use render\n", s);
	usage(stderr);
	return EXIT_INVALID_CONFIG;
}
