/* test_k8s.c: the autoscaling manifests of `stampede capacity k8s` (output/k8s.h): replica
 * derivation, name and cron checks, YAML quoting, the documents' shape. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output/k8s.h"
#include "util/buf.h"

static int replicas(double rps, double per_pod)
{
	int n = -1;
	cr_assert_eq(k8s_replicas(rps, per_pod, &n), 0, "k8s_replicas(%g, %g)", rps, per_pod);
	return n;
}

Test(k8s, replicas_are_the_ceiling_of_load_over_capacity)
{
	/* the worked example: capacity 1273 req/s at the 70% buffer on 10 pods */
	cr_expect_eq(replicas(1273, 127.3), 10); /* exact in decimal, not in binary */
	cr_expect_eq(replicas(1273.1, 127.3), 11);
	cr_expect_eq(replicas(1000, 127.3), 8);
	cr_expect_eq(replicas(10 * 1000, 127.3), 79); /* the 10x scenario */
	cr_expect_eq(replicas(0.3, 0.1), 3);
	cr_expect_eq(replicas(1, 3), 1);
	cr_expect_eq(replicas(0, 3), 1); /* no load still keeps one pod */
	cr_expect_eq(replicas(100000, 1), K8S_REPLICAS_MAX);
}

Test(k8s, replicas_refuse_bad_inputs)
{
	int n = 7;
	cr_expect_eq(k8s_replicas(100, 0, &n), -EINVAL);
	cr_expect_eq(k8s_replicas(100, -5, &n), -EINVAL);
	cr_expect_eq(k8s_replicas(-1, 5, &n), -EINVAL);
	cr_expect_eq(k8s_replicas(NAN, 5, &n), -EINVAL);
	cr_expect_eq(k8s_replicas(100, INFINITY, &n), -EINVAL);
	cr_expect_eq(k8s_replicas(100001, 1, &n), -ERANGE);
	cr_expect_eq(k8s_replicas(1e300, 1e-300, &n), -ERANGE);
	cr_expect_eq(n, 7, "untouched on failure");
}

Test(k8s, dns1123_labels)
{
	const char *good[] = {
		"a",    "web",   "checkout-api",
		"0abc", "a1-b2", "abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abc"
	};
	const char *bad[] = { "",
		              "-web",
		              "web-",
		              "Web",
		              "web_api",
		              "web.api",
		              "wéb",
		              "a b",
		              "abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abcd",
		              "web\n" };
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		cr_expect(k8s_dns1123_label(good[i]), "'%s' refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_expect(!k8s_dns1123_label(bad[i]), "'%s' accepted", bad[i]);
	cr_expect(!k8s_dns1123_label(NULL));
}

Test(k8s, cron_expressions)
{
	char err[256];
	const char *good[] = { "0 8 * * 1-5",   "*/15 * * * *",    "0 20 * * MON-FRI",
		               "30 7 1,15 * ?", "0 0 1 jan,jul *", "5-10/2 0-23/6 * * 0",
		               "59 23 31 12 6", "? 8 * * *" };
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		cr_expect_eq(k8s_cron_check(good[i], err, sizeof(err)), 0, "'%s': %s", good[i],
		             err);
	const struct {
		const char *cron, *why;
	} bad[] = {
		{ "0 8 * *", "4 fields, expected 5" },
		{ "0 8 * * 1-5 *", "more than 5 fields" },
		{ "0 24 * * *", "field 2 (hour): 24 is out of 0-23" },
		{ "60 8 * * *", "field 1 (minute): 60 is out of 0-59" },
		{ "0 8 0 * *", "field 3 (day of month): 0 is out of 1-31" },
		{ "0 8 * 13 *", "field 4 (month): 13 is out of 1-12" },
		{ "0 8 * * 7", "field 5 (day of week): 7 is out of 0-6" },
		{ "0 8 * * FRI-MON", "field 5 (day of week): range 5-1 ends before it starts" },
		{ "0 8 * * */0", "field 5 (day of week): a step must be a positive number" },
		{ "0 8 * * 1,,2", "an empty list item" },
		{ "x 8 * * *", "field 1 (minute): expected a number at 'x'" },
		{ "0 8 * * MOND", "field 5 (day of week): expected a number or a 3-letter name" },
		{ "0 8 * JANUARY *",
		  "field 4 (month): expected a number or a 3-letter name at 'JANUARY'" },
		{ "0 8-9x * * *", "field 2 (hour): unexpected 'x'" },
		{ "@daily", "field 1 (minute): expected a number at '@daily'" },
		{ "", "0 fields" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err[0] = '\0';
		cr_expect_eq(k8s_cron_check(bad[i].cron, err, sizeof(err)), -EINVAL,
		             "'%s' accepted", bad[i].cron);
		cr_expect(strstr(err, bad[i].why), "'%s': '%s' lacks '%s'", bad[i].cron, err,
		          bad[i].why);
	}
}

Test(k8s, cron_pairs)
{
	char start[64], end[64], err[256];
	cr_assert_eq(k8s_cron_pair("  0 20 * * 1-5\t0  8 * * 1-5 ", start, end, sizeof(start), err,
	                           sizeof(err)),
	             0, "%s", err);
	cr_expect_str_eq(start, "0 20 * * 1-5");
	cr_expect_str_eq(end, "0 8 * * 1-5");
	cr_expect_eq(k8s_cron_pair("0 20 * * *", start, end, sizeof(start), err, sizeof(err)),
	             -EINVAL);
	cr_expect(strstr(err, "5 fields: expected two 5-field crons"), "%s", err);
	cr_expect_eq(
	    k8s_cron_pair("0 20 * * * 0 25 * * *", start, end, sizeof(start), err, sizeof(err)),
	    -EINVAL);
	cr_expect(strstr(err, "end cron '0 25 * * *': field 2 (hour): 25 is out of 0-23"), "%s",
	          err);
	cr_expect_eq(
	    k8s_cron_pair("0 8 * * * 0 8 * * *", start, end, sizeof(start), err, sizeof(err)),
	    -EINVAL);
	cr_expect(strstr(err, "the same"), "%s", err);
}

static char *quoted(const char *s)
{
	struct buf b = { 0 };
	k8s_yaml_quote(&b, s);
	return b.p;
}

Test(k8s, yaml_quoting)
{
	const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "\"plain\"" },
		{ "", "\"\"" },
		{ "140", "\"140\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
		{ "x{a=\"b\"}[1m] # not a comment", "\"x{a=\\\"b\\\"}[1m] # not a comment\"" },
		{ "l1\nl2\tx\r", "\"l1\\nl2\\tx\\x0D\"" },
		{ "\x01\x7f", "\"\\x01\\x7F\"" },
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },             /* UTF-8 kept */
		{ "a\xc2\x85z", "\"a\\Nz\"" },                    /* NEL */
		{ "a\xe2\x80\xa8z\xe2\x80\xa9", "\"a\\Lz\\P\"" }, /* LS, PS */
		{ "\xef\xbb\xbfx", "\"\\uFEFFx\"" },              /* BOM */
		{ "\xc2\x9b", "\"\\x9B\"" },                      /* a C1 control */
		{ "bad\xff", "\"bad\\uFFFD\"" },
		{ "yes", "\"yes\"" },
		{ "- x: y", "\"- x: y\"" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *got = quoted(cases[i].in);
		cr_expect_str_eq(got, cases[i].out);
		free(got);
	}
	char *got = quoted(NULL);
	cr_expect_str_eq(got, "\"\"");
	free(got);
}

static struct k8s_autoscale sample(void)
{
	return (struct k8s_autoscale){ .name = "checkout",
		                       .ns = "shop",
		                       .rps_per_pod = 127.3,
		                       .min_replicas = 8,
		                       .max_replicas = 79,
		                       .min_src = K8S_FROM_RPS,
		                       .max_src = K8S_FROM_RPS,
		                       .min_rps = 1000,
		                       .max_rps = 10000,
		                       .metric = "http_requests_per_second",
		                       .prometheus = "http://prometheus.monitoring:9090",
		                       .query = "sum(rate(x[1m]))" };
}

/* Spoil field i of x; the message k8s_check must give. */
static const char *spoil(struct k8s_autoscale *x, int i)
{
	switch (i) {
	case 0:
		x->name = "Checkout";
		return "--name 'Checkout': not an RFC 1123 DNS label";
	case 1:
		x->ns = "a_b";
		return "--namespace 'a_b': not an RFC 1123 DNS label";
	case 2:
		x->rps_per_pod = 0;
		return "--rps-per-pod must be at least 0.001";
	case 3:
		x->rps_per_pod = NAN;
		return "--rps-per-pod";
	case 4:
		x->min_replicas = 0;
		return "min replicas 0";
	case 5:
		x->max_replicas = 7;
		return "max replicas 7: must be from min replicas (8)";
	case 6:
		x->metric = "http-requests";
		return "--metric 'http-requests': not a metric name";
	case 7:
		x->metric = "1x";
		return "--metric '1x'";
	case 8:
		x->prometheus = "prometheus:9090";
		return "--prometheus 'prometheus:9090'";
	case 9:
		x->prometheus = "http://a b";
		return "--prometheus";
	case 10:
		x->prometheus = "http://";
		return "--prometheus";
	case 11:
		x->query = "";
		return "--query: empty";
	case 12:
		x->query = "sum(\xff)";
		return "--query: not UTF-8";
	case 13:
		x->off_start = "0 20 * * *";
		x->off_end = "0 8 * * *";
		return "--timezone ''";
	case 14:
		x->off_start = "0 20 * * *";
		x->off_end = "0 8 * * *";
		x->timezone = "../../etc/passwd";
		return "--timezone '../../etc/passwd': not an IANA time zone name";
	default:
		return NULL;
	}
}

Test(k8s, check_refuses_each_bad_field)
{
	char err[512];
	struct k8s_autoscale a = sample();
	cr_assert_eq(k8s_check(&a, err, sizeof(err)), 0, "%s", err);
	const char *why;
	for (int i = 0; (a = sample(), why = spoil(&a, i)); i++) {
		err[0] = '\0';
		cr_expect_eq(k8s_check(&a, err, sizeof(err)), -EINVAL, "case %d accepted", i);
		cr_expect(strstr(err, why), "case %d: '%s' lacks '%s'", i, err, why);
	}
}

Test(k8s, default_query)
{
	char *q = k8s_default_query("checkout", "shop");
	cr_expect_str_eq(q, "sum(rate(http_requests_total{namespace=\"shop\",service=\"checkout\"}"
	                    "[1m]))");
	free(q);
}

static bool has(const struct buf *b, const char *s)
{
	return b->p && strstr(b->p, s);
}

Test(k8s, hpa_document)
{
	struct k8s_autoscale a = sample();
	struct buf b = { 0 };
	k8s_hpa_yaml(&a, &b);
	const char *want[] = {
		"# minReplicas 8 = ceil(1000 req/s now (--current-rps) / 127.3).\n",
		"# maxReplicas 79 = ceil(10000 req/s at peak (--peak-rps) / 127.3).\n",
		"apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n",
		"  name: checkout\n  namespace: shop\n",
		"  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: "
		"checkout\n",
		"  minReplicas: 8\n  maxReplicas: 79\n",
		"    - type: Pods\n      pods:\n        metric:\n          name: "
		"\"http_requests_per_second\"\n        target:\n          type: AverageValue\n"
		"          averageValue: \"127.3\"\n",
		"  behavior:\n    scaleUp:\n      stabilizationWindowSeconds: 0\n",
		"    scaleDown:\n      stabilizationWindowSeconds: 300\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
		cr_expect(has(&b, want[i]), "the HPA lacks:\n%s\n---\n%s", want[i], b.p);
	cr_expect(!has(&b, "\n\n"), "a blank line");
	buf_free(&b);
}

Test(k8s, hpa_header_says_where_flags_came_from)
{
	struct k8s_autoscale a = sample();
	a.min_src = K8S_FROM_DEFAULT;
	a.min_replicas = 1;
	a.max_src = K8S_FROM_FLAG;
	a.max_replicas = 12;
	a.rps_per_pod = 140;
	struct buf b = { 0 };
	k8s_hpa_yaml(&a, &b);
	cr_expect(has(&b, "# minReplicas 1: default.\n"), "%s", b.p);
	cr_expect(has(&b, "# maxReplicas 12: --max-replicas.\n"), "%s", b.p);
	cr_expect(has(&b, "averageValue: \"140\"\n"), "%s", b.p);
	buf_free(&b);
}

Test(k8s, keda_document)
{
	struct k8s_autoscale a = sample();
	a.query = "sum(rate(http_requests_total{service=\"checkout\"}[1m]))";
	struct buf b = { 0 };
	k8s_keda_yaml(&a, &b);
	const char *want[] = {
		"apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\n",
		"  minReplicaCount: 8\n  maxReplicaCount: 79\n",
		"  advanced:\n    horizontalPodAutoscalerConfig:\n      behavior:\n        "
		"scaleUp:\n"
		"          stabilizationWindowSeconds: 0\n",
		"        scaleDown:\n          stabilizationWindowSeconds: 300\n",
		"    - type: prometheus\n      metricType: AverageValue\n      metadata:\n"
		"        serverAddress: \"http://prometheus.monitoring:9090\"\n"
		"        query: \"sum(rate(http_requests_total{service=\\\"checkout\\\"}[1m]))\"\n"
		"        threshold: \"127.3\"\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
		cr_expect(has(&b, want[i]), "the ScaledObject lacks:\n%s\n---\n%s", want[i], b.p);
	cr_expect(!has(&b, "type: cron"), "a cron trigger without --off-hours");
	buf_free(&b);
}

Test(k8s, keda_scale_to_zero_off_hours)
{
	struct k8s_autoscale a = sample();
	a.off_start = "0 20 * * 1-5";
	a.off_end = "0 8 * * 1-5";
	a.timezone = "Europe/Paris";
	struct buf b = { 0 };
	k8s_keda_yaml(&a, &b);
	cr_expect(has(&b, "  minReplicaCount: 0\n"), "%s", b.p);
	struct buf h = { 0 };
	k8s_hpa_yaml(&a, &h);
	cr_expect(has(&h, "  minReplicas: 8\n"), "%s", h.p);
	cr_expect(has(&h, "# --off-hours is in the KEDA ScaledObject only"), "%s", h.p);
	buf_free(&h);
	cr_expect(has(&b, "# working-hours replicas 8 = ceil(1000 req/s"), "%s", b.p);
	cr_expect(has(&b, "    - type: cron\n      metadata:\n        timezone: \"Europe/Paris\"\n"
	                  "        start: \"0 8 * * 1-5\"\n        end: \"0 20 * * 1-5\"\n"
	                  "        desiredReplicas: \"8\"\n"),
	          "%s", b.p);
	buf_free(&b);
}
