/* k8s.h: Kubernetes autoscaling manifests from a capacity plan: a HorizontalPodAutoscaler
 * (autoscaling/v2, a Prometheus-Adapter per-pod custom metric) and a KEDA ScaledObject
 * (keda.sh/v1alpha1, a Prometheus trigger, optional scale to zero off-hours), as YAML
 * (issue #14, docs/capacity.md). */
#ifndef STAMPEDE_K8S_H
#define STAMPEDE_K8S_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* The largest replica count accepted (HPA's fields are int32). */
#define K8S_REPLICAS_MAX 100000

/* The largest req/s accepted for a pod's capacity and for a load (--rps-per-pod,
 * --current-rps, --peak-rps, a plan's): a billion requests per second. */
#define K8S_RPS_MAX 1e9

/* What the manifests name when not told otherwise (`capacity k8s` flags --name,
 * --namespace, --metric, --prometheus; the assessment report always). */
#define K8S_DEFAULT_NAME       "app"
#define K8S_DEFAULT_NAMESPACE  "default"
#define K8S_DEFAULT_METRIC     "http_requests_per_second"
#define K8S_DEFAULT_PROMETHEUS "http://prometheus.monitoring:9090"

/* The behaviour written into both manifests: scale up at once, scale down slowly. */
#define K8S_SCALE_UP_WINDOW_S   0
#define K8S_SCALE_DOWN_WINDOW_S 300

/* How a replica bound was obtained, for the manifests' header comments. */
enum k8s_source {
	K8S_FROM_DEFAULT,  /* min: 1 */
	K8S_FROM_FLAG,     /* --min-replicas / --max-replicas */
	K8S_FROM_RPS,      /* ceil(rps / rps_per_pod): --current-rps / --peak-rps */
	K8S_FROM_PLAN,     /* the plan's instance count for a load of it (plan->now, ->peak) */
	K8S_FROM_PLAN_RPS, /* ceil(a plan's load / rps_per_pod): R from --rps-per-pod, or
	                      the plan's count too few at R rounded down */
};

/* One load of a capacity plan and the instances it needs at the plan's buffer. */
struct k8s_plan_load {
	double rps;    /* req/s, in [0, K8S_RPS_MAX] */
	int instances; /* 1..K8S_REPLICAS_MAX */
	char what[48]; /* "today's load", "the 10x scenario", "month 12" */
};

/* What `capacity k8s --plan` takes from a plan document ("stampede-capacity-plan/1",
 * capplan_json): one instance's capacity at the buffer, today's load and the largest. */
struct k8s_plan {
	double per_instance_rps;   /* capacity.perInstanceRps: one instance at 100%, req/s */
	double buffer_percent;     /* inputs.bufferPercent, in (0, 100] */
	double rps_at_buffer;      /* per_instance_rps * buffer_percent / 100 (not rounded) */
	struct k8s_plan_load now;  /* months[0] */
	struct k8s_plan_load peak; /* the largest scenario, or the horizon's last month when it
	                              needs more instances */
};

/* A manifest pair's inputs. Strings are borrowed; the caller has checked them with
 * k8s_check(). */
struct k8s_autoscale {
	const char *name; /* the Deployment (and the HPA, the ScaledObject) */
	const char *ns;   /* namespace */
	/* req/s one pod serves at the headroom buffer, the target: a multiple of 0.001
	 * (k8s_rps_quantity), 0.001..K8S_RPS_MAX; and the value it was rounded from
	 * (--rps-per-pod, or the plan's rps_at_buffer; 0: rps_per_pod itself) */
	double rps_per_pod, rps_given;
	const struct k8s_plan *plan; /* R (unless r_from_flag) and bounds from a plan, or NULL */
	const char *plan_name;       /* the plan file's name, for the header (with plan) */
	bool r_from_flag;            /* rps_per_pod is --rps-per-pod's (even with a plan) */
	int min_replicas;            /* >= 1 */
	int max_replicas;            /* >= min_replicas */
	enum k8s_source min_src;     /* with min_rps: where min_replicas came from */
	enum k8s_source max_src;
	/* the current and peak req/s: --current-rps and --peak-rps for K8S_FROM_RPS, the
	 * plan's plan->now.rps and plan->peak.rps for K8S_FROM_PLAN* */
	double min_rps, max_rps;
	const char *metric;     /* the Prometheus Adapter custom metric's name */
	const char *prometheus; /* the KEDA trigger's serverAddress */
	const char *query;      /* its PromQL query (total req/s of the Deployment) */
	const char *off_start;  /* cron (5 fields) when off-hours begin, or NULL */
	const char *off_end;    /* cron when they end (working hours begin) */
	const char *timezone;   /* IANA zone of the crons (with off_start) */
};

/* v req/s as a Kubernetes quantity can hold it: rounded down to a multiple of 0.001 (a
 * quantity has at most 3 decimals and rounds the rest up, which would raise the target;
 * a value within 1e-9 of a multiple counts as it, so that 127.3 stays 127.3), in *milli
 * (thousandths). Returns 0, or -EINVAL (not finite, or below 0.001) or -ERANGE (above
 * K8S_RPS_MAX). */
int k8s_rps_quantity(double v, int64_t *milli);

/* Read what `capacity k8s --plan` needs of a plan document doc (format
 * "stampede-capacity-plan/1"; keys as listed above capplan_json in analysis/capplan.c)
 * into *p: capacity.perInstanceRps and inputs.bufferPercent, months[0] (today: rps,
 * instances, at least 1), the scenario of the largest multiple and the last month (the
 * one needing more instances is the peak). Returns 0, or -EINVAL with one line in err:
 * not such a plan, a missing or mistyped key, no per-instance capacity (a USL model over
 * instances: a cluster's total), a load without an instance count that carries it, or
 * more than K8S_REPLICAS_MAX instances or K8S_RPS_MAX req/s. */
int k8s_plan_read(const json_t *doc, struct k8s_plan *p, char *err, size_t errlen);

/* The replicas needed to serve rps req/s at rps_per_pod each: ceil(rps / rps_per_pod),
 * at least 1 (a ratio within 1e-9 of an integer counts as that integer, so that 1273 /
 * 127.3 is 10, not 11). Returns 0 with *out, or -EINVAL (a value not finite, rps < 0,
 * rps_per_pod <= 0) or -ERANGE (more than K8S_REPLICAS_MAX). */
int k8s_replicas(double rps, double rps_per_pod, int *out);

/* Whether s is an RFC 1123 DNS label as Kubernetes checks names and namespaces: 1 to 63
 * characters of [a-z0-9-], starting and ending with a letter or digit. */
bool k8s_dns1123_label(const char *s);

/* The replicas for a plan's load l at rps_per_pod req/s each: the plan's instance count
 * for it, or ceil(l->rps / rps_per_pod) when that is more (R rounded down to a quantity)
 * or when plan_count is false (R is not the plan's). Sets *n and *src (K8S_FROM_PLAN or
 * K8S_FROM_PLAN_RPS). Returns 0, or k8s_replicas()'s -EINVAL / -ERANGE. */
int k8s_plan_bound(const struct k8s_plan_load *l, double rps_per_pod, bool plan_count, int *n,
                   enum k8s_source *src);

/* Check a cron expression as KEDA's cron trigger reads it (robfig/cron, 5 fields: minute
 * 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC, day of week 0-6 or SUN-SAT;
 * each a comma list of '*' (or '?'), N or N-M, with an optional /STEP).
 * Returns 0, or -EINVAL with the reason ("field 2 (hour): 24 is out of 0-23") in err. */
int k8s_cron_check(const char *s, char *err, size_t errlen);

/* Split "CRON-START CRON-END" (10 whitespace-separated fields) into two 5-field crons,
 * each normalised to single spaces, into start and end (size at least strlen(s) + 1
 * each). Returns 0, or -EINVAL with the reason in err: the field count, a bad field, a
 * cron that never fires ('0 20 31 2 *': no day 31 in February), start and end firing at
 * the same times (KEDA refuses the same cron; '00 20 * * 1-5' and '0 20 * * MON-FRI'
 * are '0 20 * * 1-5' too). */
int k8s_cron_pair(const char *s, char *start, char *end, size_t size, char *err, size_t errlen);

/* Whether tz names a time zone of the tz database under dir (ZONEINFO, normally
 * /usr/share/zoneinfo): a TZif file (starting with the magic "TZif"; the database's
 * tables such as zone.tab or tzdata.zi are not zones), and not one of its non-zones
 * ("Factory", "posixrules", "localtime", the "posix/" and "right/" copies). "UTC" is a
 * zone without a look; so is any name when dir is missing (no database to ask).
 * Returns 0, or -EINVAL with the reason in err. */
int k8s_tz_check(const char *dir, const char *tz, char *err, size_t errlen);

/* Check every field of a (name, namespace, metric, prometheus URL, query, timezone
 * syntax, replica bounds, rps_per_pod a multiple of 0.001 up to K8S_RPS_MAX). Returns 0,
 * or -EINVAL with one line naming the field and the reason in err. */
int k8s_check(const struct k8s_autoscale *a, char *err, size_t errlen);

/* Whether YAML readers need code point c escaped (or kept out of a comment): controls
 * other than tab and line feed, DEL, C1 controls (NEL is a line break), U+2028/U+2029
 * (line breaks), the BOM (dropped by YAML 1.1 readers) and the non-characters (U+FFFE and
 * U+FFFF are outside YAML's printable set, which PyYAML and go-yaml enforce). */
bool k8s_yaml_special(unsigned c);

/* Append s as a YAML double-quoted scalar (read the same by YAML 1.1 and 1.2 parsers, and
 * always a string: "null", "on", "123" stay strings): '"' and '\\' escaped; control
 * characters, DEL, NEL, U+2028/U+2029, a BOM and the Unicode non-characters (U+FDD0..
 * U+FDEF and U+xxFFFE/U+xxFFFF, which YAML's printable set lacks in part) as escapes;
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
