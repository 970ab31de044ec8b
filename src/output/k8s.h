/* k8s.h: Kubernetes autoscaling manifests from a capacity plan: a HorizontalPodAutoscaler
 * (autoscaling/v2, a Prometheus-Adapter per-pod custom metric) and a KEDA ScaledObject
 * (keda.sh/v1alpha1, a Prometheus trigger, optional scale to zero off-hours), as YAML
 * (issue #14, docs/capacity.md). */
#ifndef STAMPEDE_K8S_H
#define STAMPEDE_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* The largest replica count accepted (HPA's fields are int32). */
#define K8S_REPLICAS_MAX 100000

/* The behaviour written into both manifests: scale up at once, scale down slowly. */
#define K8S_SCALE_UP_WINDOW_S   0
#define K8S_SCALE_DOWN_WINDOW_S 300

/* How a replica bound was obtained, for the manifests' header comments. */
enum k8s_source {
	K8S_FROM_DEFAULT, /* min: 1 */
	K8S_FROM_FLAG,    /* --min-replicas / --max-replicas */
	K8S_FROM_RPS,     /* ceil(rps / rps_per_pod): --current-rps / --peak-rps */
};

/* A manifest pair's inputs. Strings are borrowed; the caller has checked them with
 * k8s_check(). */
struct k8s_autoscale {
	const char *name;        /* the Deployment (and the HPA, the ScaledObject) */
	const char *ns;          /* namespace */
	double rps_per_pod;      /* requests/s one pod serves at the headroom buffer, > 0 */
	int min_replicas;        /* >= 1 */
	int max_replicas;        /* >= min_replicas */
	enum k8s_source min_src; /* with min_rps: where min_replicas came from */
	enum k8s_source max_src;
	double min_rps, max_rps; /* the current and peak req/s, for K8S_FROM_RPS */
	const char *metric;      /* the Prometheus Adapter custom metric's name */
	const char *prometheus;  /* the KEDA trigger's serverAddress */
	const char *query;       /* its PromQL query (total req/s of the Deployment) */
	const char *off_start;   /* cron (5 fields) when off-hours begin, or NULL */
	const char *off_end;     /* cron when they end (working hours begin) */
	const char *timezone;    /* IANA zone of the crons (with off_start) */
};

/* The replicas needed to serve rps req/s at rps_per_pod each: ceil(rps / rps_per_pod),
 * at least 1 (a ratio within 1e-9 of an integer counts as that integer, so that 1273 /
 * 127.3 is 10, not 11). Returns 0 with *out, or -EINVAL (a value not finite, rps < 0,
 * rps_per_pod <= 0) or -ERANGE (more than K8S_REPLICAS_MAX). */
int k8s_replicas(double rps, double rps_per_pod, int *out);

/* Whether s is an RFC 1123 DNS label as Kubernetes checks names and namespaces: 1 to 63
 * characters of [a-z0-9-], starting and ending with a letter or digit. */
bool k8s_dns1123_label(const char *s);

/* Check a cron expression as KEDA's cron trigger reads it (robfig/cron, 5 fields: minute
 * 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC, day of week 0-6 or SUN-SAT;
 * each a comma list of '*' (or '?'), N or N-M, with an optional /STEP).
 * Returns 0, or -EINVAL with the reason ("field 2 (hour): 24 is out of 0-23") in err. */
int k8s_cron_check(const char *s, char *err, size_t errlen);

/* Split "CRON-START CRON-END" (10 whitespace-separated fields) into two 5-field crons,
 * each normalised to single spaces, into start and end (size at least strlen(s) + 1
 * each). Returns 0, or -EINVAL with the reason in err (field count, a bad field, start
 * and end the same: KEDA refuses it). */
int k8s_cron_pair(const char *s, char *start, char *end, size_t size, char *err, size_t errlen);

/* Check every field of a (name, namespace, metric, prometheus URL, timezone syntax,
 * replica bounds, rps_per_pod). Returns 0, or -EINVAL with one line naming the field and
 * the reason in err. */
int k8s_check(const struct k8s_autoscale *a, char *err, size_t errlen);

/* Append s as a YAML double-quoted scalar (read the same by YAML 1.1 and 1.2 parsers):
 * '"' and '\\' escaped, control characters, DEL, NEL, U+2028/U+2029 and a BOM as escapes,
 * bytes that are not UTF-8 as \uFFFD. NULL is "". */
void k8s_yaml_quote(struct buf *b, const char *s);

/* The default PromQL query of the KEDA trigger: the Deployment's total request rate,
 * `sum(rate(http_requests_total{namespace="NS",service="NAME"}[1m]))`: a new string. */
char *k8s_default_query(const char *name, const char *ns);

/* Append the HorizontalPodAutoscaler (one YAML document with a header comment saying how
 * the numbers were derived) to b. */
void k8s_hpa_yaml(const struct k8s_autoscale *a, struct buf *b);

/* Append the KEDA ScaledObject (one YAML document with a header comment) to b: with
 * off_start, minReplicaCount 0 and a cron trigger holding min_replicas over working hours
 * (from off_end to off_start in timezone). */
void k8s_keda_yaml(const struct k8s_autoscale *a, struct buf *b);

#endif
