/* k8s_job.h: the Kubernetes manifests of a distributed run (`stampede k8s render`, issue
 * #16, docs/distributed.md): a ConfigMap holding the script, a PersistentVolumeClaim for
 * the parts' result files, an Indexed Job whose pod of index i runs segment i of N, and a
 * merge Job that waits for the N parts, merges them and renders the report; optionally
 * (--coordinator) a Service and a Job running `stampede coordinate` for the run pods. */
#ifndef STAMPEDE_K8S_JOB_H
#define STAMPEDE_K8S_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* The most pods (segments) of a run: every pod is handed the whole sequence of N + 1
 * points, and the Job's command maps every index to its segment, so both grow with N;
 * `run` takes at most 1024 segments, and a thousand load generators is far more than a
 * load test needs (each one drives thousands of VUs). */
#define K8S_JOB_PARALLELISM_MAX 1000

/* The most bytes of a script: a ConfigMap holds at most 1 MiB of data. */
#define K8S_JOB_SCRIPT_MAX (1u << 20)

/* A ConfigMap key's longest name (a DNS subdomain's length). */
#define K8S_JOB_KEY_MAX 253

/* The longest NAME: the merge Job is NAME-merge, a DNS label of at most 63 characters. */
#define K8S_JOB_MERGE_SUFFIX "-merge"
#define K8S_JOB_NAME_MAX     (63 - (int)(sizeof(K8S_JOB_MERGE_SUFFIX) - 1))

/* The coordinator (--coordinator): a Service and a Job NAME-coordinator, `stampede
 * coordinate` listening on this port; NAME is then at most 51 characters and starts with a
 * letter (a Service's name is an RFC 1035 label). It waits for the pods' registrations at
 * most K8S_JOB_COORD_READY_S (or --deadline when shorter), as they do. */
#define K8S_JOB_COORD_SUFFIX  "-coordinator"
#define K8S_JOB_COORD_NAMEMAX (63 - (int)(sizeof(K8S_JOB_COORD_SUFFIX) - 1))
#define K8S_JOB_COORD_PORT    6565
#define K8S_JOB_COORD_READY_S 1800

#define K8S_JOB_DEFAULT_NAME    "stampede"
#define K8S_JOB_DEFAULT_STORAGE "1Gi"

/* How long the merge Job waits for the parts when not told (with a deadline: the
 * deadline plus K8S_JOB_MERGE_SLACK_S), in seconds; the header's `kubectl wait` waits
 * K8S_JOB_MERGE_SLACK_S more (the merge itself). */
#define K8S_JOB_MERGE_WAIT_S  (6 * 3600)
#define K8S_JOB_MERGE_SLACK_S 600

/* Where the pods mount the script's ConfigMap and the results' volume, and the variable
 * holding the latter in their commands (set in every container's env). */
#define K8S_JOB_SCRIPTS_DIR "/scripts"
#define K8S_JOB_RESULTS_DIR "/results"
#define K8S_JOB_RESULTS_ENV "STAMPEDE_RESULTS_DIR"

/* The non-root user and group of the image (Dockerfile), which the pods run as. */
#define K8S_JOB_UID 10001

/* An environment variable of the run pods (--env NAME=VALUE). */
struct k8s_env {
	const char *name, *value;
};

/* A distributed run's manifests. Strings are borrowed; check with k8s_job_check(). */
struct k8s_job {
	const char *name;          /* the Job; NAME-merge, NAME-script, NAME-results the others */
	const char *ns;            /* namespace, or NULL: none written (kubectl's current one) */
	const char *image;         /* the container image of every pod */
	const char *key;           /* the script's ConfigMap key: its file's base name */
	const char *script;        /* its text, script_len bytes (UTF-8) */
	size_t script_len;         /* 1..K8S_JOB_SCRIPT_MAX */
	int parallelism;           /* N pods, 1..K8S_JOB_PARALLELISM_MAX */
	const char *storage;       /* the claim's size, a Kubernetes quantity ("1Gi") */
	const char *storage_class; /* its storageClassName, or NULL (the cluster's default) */
	int64_t deadline_s;        /* the run Job's activeDeadlineSeconds, or 0: none */
	int64_t merge_wait_s;      /* how long the merge Job waits for the parts, >= 1 */
	const struct k8s_env *env; /* the run pods' --env, nenv of them */
	int nenv;
	bool coordinator;    /* --coordinator: the Service and Job NAME-coordinator too */
	const char *version; /* stampede's, for the header */
};

/* Check every field of j (names, image, storage, script key and text, counts, env).
 * Returns 0, or -EINVAL with one line naming the flag and the reason in err. */
int k8s_job_check(const struct k8s_job *j, char *err, size_t errlen);

/* Whether s is a Kubernetes storage quantity as written here: a plain decimal above zero
 * with an optional unit Ki Mi Gi Ti Pi Ei or k M G T P E ("1Gi", "500M", "1.5Ti"). */
bool k8s_job_quantity(const char *s);

/* Segment i (0..n-1) of n equal ones as `run --execution-segment` prints it, with reduced
 * fractions ("0:1/4", "1/4:1/2", "3/4:1"; "0:1" for n = 1), into buf. Returns buf. */
const char *k8s_job_segment(int i, int n, char *buf, size_t size);

/* Append the sequence of n equal segments, "0,1/4,1/2,3/4,1", to b. */
void k8s_job_sequence(struct buf *b, int n);

/* The comment that opens the manifests: what they are, how to apply them, watch the run
 * and collect the results (dir: where the files are, for the kubectl commands, or NULL
 * for a single stream). Appended to b. */
void k8s_job_header(const struct k8s_job *j, struct buf *b, const char *dir);

/* Append one YAML document (with a comment saying what it is) to b: the ConfigMap, the
 * PersistentVolumeClaim, the run's Indexed Job, the merge Job. */
void k8s_job_configmap_yaml(const struct k8s_job *j, struct buf *b);
void k8s_job_pvc_yaml(const struct k8s_job *j, struct buf *b);
void k8s_job_run_yaml(const struct k8s_job *j, struct buf *b);
void k8s_job_merge_yaml(const struct k8s_job *j, struct buf *b);

/* With j->coordinator: the coordinator's Service, "---", then its Job (two documents). */
void k8s_job_coordinator_yaml(const struct k8s_job *j, struct buf *b);

#endif
