/* test_k8s.c: the autoscaling manifests of `stampede capacity k8s` (output/k8s.h): replica
 * derivation, name and cron checks, YAML quoting, the documents' shape. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
		/* the non-characters: U+FFFE and U+FFFF are outside YAML's printable set */
		{ "a\xef\xbf\xbez", "\"a\\uFFFEz\"" },
		{ "\xef\xbf\xbf", "\"\\uFFFF\"" },
		{ "\xef\xb7\x90\xef\xb7\xaf", "\"\\uFDD0\\uFDEF\"" },
		{ "\xf0\x9f\xbf\xbe\xf4\x8f\xbf\xbf", "\"\\U0001FFFE\\U0010FFFF\"" },
		/* their neighbours are printable and kept */
		{ "\xef\xbf\xbd\xef\xb7\x8f\xee\x80\x80\xf0\x9f\x98\x80\xc2\xa0",
		  "\"\xef\xbf\xbd\xef\xb7\x8f\xee\x80\x80\xf0\x9f\x98\x80\xc2\xa0\"" },
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
	case 15:
		x->rps_per_pod = 0.0014; /* not a quantity: k8s_rps_quantity rounds it first */
		return "in steps of 0.001";
	case 16:
		x->rps_per_pod = 2e9;
		return "at most 1000000000";
	case 17:
		x->off_start = "0 20 * * *";
		x->off_end = "0 8 * * *";
		x->timezone = "Factory";
		return "--timezone 'Factory'";
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
		"apiVersion: \"autoscaling/v2\"\nkind: \"HorizontalPodAutoscaler\"\n",
		"  name: \"checkout\"\n  namespace: \"shop\"\n",
		"    app.kubernetes.io/managed-by: \"stampede\"\n",
		"  scaleTargetRef:\n    apiVersion: \"apps/v1\"\n    kind: \"Deployment\"\n"
		"    name: \"checkout\"\n",
		"  minReplicas: 8\n  maxReplicas: 79\n",
		"    - type: \"Pods\"\n      pods:\n        metric:\n          name: "
		"\"http_requests_per_second\"\n        target:\n          type: \"AverageValue\"\n"
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
		"apiVersion: \"keda.sh/v1alpha1\"\nkind: \"ScaledObject\"\n",
		"  minReplicaCount: 8\n  maxReplicaCount: 79\n",
		"  advanced:\n    horizontalPodAutoscalerConfig:\n      behavior:\n        "
		"scaleUp:\n"
		"          stabilizationWindowSeconds: 0\n",
		"        scaleDown:\n          stabilizationWindowSeconds: 300\n",
		"    - type: \"prometheus\"\n      metricType: \"AverageValue\"\n      metadata:\n"
		"        serverAddress: \"http://prometheus.monitoring:9090\"\n"
		"        query: \"sum(rate(http_requests_total{service=\\\"checkout\\\"}[1m]))\"\n"
		"        threshold: \"127.3\"\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
		cr_expect(has(&b, want[i]), "the ScaledObject lacks:\n%s\n---\n%s", want[i], b.p);
	cr_expect(!has(&b, "type: \"cron\""), "a cron trigger without --off-hours");
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
	cr_expect(has(&b,
	              "    - type: \"cron\"\n      metadata:\n        timezone: \"Europe/Paris\"\n"
	              "        start: \"0 8 * * 1-5\"\n        end: \"0 20 * * 1-5\"\n"
	              "        desiredReplicas: \"8\"\n"),
	          "%s", b.p);
	buf_free(&b);
}

Test(k8s, rps_quantities_are_milli_units_rounded_down)
{
	const struct {
		double v;
		int64_t milli;
	} good[] = {
		{ 127.3, 127300 }, /* 127.3 * 1000 is not exactly 127300 in binary */
		{ 0.3, 300 },      { 0.001, 1 },
		{ 0.0014, 1 }, /* rounded down: a quantity rounds up, raising the target */
		{ 0.0019999, 1 },  { 1272.72727272727, 1272727 },
		{ 140, 140000 },   { 1e9, 1000000000000LL },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		int64_t m = -1;
		cr_expect_eq(k8s_rps_quantity(good[i].v, &m), 0, "%g refused", good[i].v);
		cr_expect_eq(m, good[i].milli, "%g: %lld, not %lld", good[i].v, (long long)m,
		             (long long)good[i].milli);
	}
	int64_t m = 7;
	cr_expect_eq(k8s_rps_quantity(0.0009, &m), -EINVAL);
	cr_expect_eq(k8s_rps_quantity(0, &m), -EINVAL);
	cr_expect_eq(k8s_rps_quantity(-1, &m), -EINVAL);
	cr_expect_eq(k8s_rps_quantity(NAN, &m), -EINVAL);
	cr_expect_eq(k8s_rps_quantity(INFINITY, &m), -EINVAL);
	cr_expect_eq(k8s_rps_quantity(1e9 + 1, &m), -ERANGE);
	cr_expect_eq(k8s_rps_quantity(1e63, &m), -ERANGE);
	cr_expect_eq(m, 7, "untouched on failure");
}

Test(k8s, quantities_are_written_exactly)
{
	const struct {
		double v;
		const char *q;
	} cases[] = {
		{ 0.001, "0.001" },
		{ 1234.5, "1234.5" },
		{ 140, "140" },
		{ 1e9, "1000000000" },
		{ 0.12, "0.12" },
		{ 1272.727, "1272.727" },
		{ 999999999.999, "999999999.999" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct k8s_autoscale a = sample();
		a.rps_per_pod = cases[i].v;
		char err[256], want[128];
		cr_expect_eq(k8s_check(&a, err, sizeof(err)), 0, "%g: %s", cases[i].v, err);
		struct buf b = { 0 };
		k8s_hpa_yaml(&a, &b);
		snprintf(want, sizeof(want), "averageValue: \"%s\"\n", cases[i].q);
		cr_expect(has(&b, want), "%g: lacks %s", cases[i].v, want);
		snprintf(want, sizeof(want), "# One pod serves %s req/s", cases[i].q);
		cr_expect(has(&b, want), "%g: lacks %s", cases[i].v, want);
		buf_free(&b);
		k8s_keda_yaml(&a, &b);
		snprintf(want, sizeof(want), "threshold: \"%s\"\n", cases[i].q);
		cr_expect(has(&b, want), "%g: lacks %s", cases[i].v, want);
		buf_free(&b);
	}
}

Test(k8s, header_says_a_rounded_target_and_uses_it)
{
	struct k8s_autoscale a = sample();
	a.rps_given = 0.0014;
	a.rps_per_pod = 0.001;
	a.min_rps = 0.0014;
	a.min_replicas = 2; /* ceil(0.0014 / 0.001): the value written, not 0.0014 */
	a.max_rps = 0.01;
	a.max_replicas = 10;
	struct buf b = { 0 };
	k8s_hpa_yaml(&a, &b);
	cr_expect(has(&b, "# One pod serves 0.001 req/s"), "%s", b.p);
	cr_expect(has(&b, "# (--rps-per-pod 0.0014 rounded down to 0.001 req/s"), "%s", b.p);
	cr_expect(has(&b, "# minReplicas 2 = ceil(0.0014 req/s now (--current-rps) / 0.001).\n"),
	          "%s", b.p);
	cr_expect(has(&b, "# maxReplicas 10 = ceil(0.01 req/s at peak (--peak-rps) / 0.001).\n"),
	          "%s", b.p);
	cr_expect(has(&b, "averageValue: \"0.001\"\n"), "%s", b.p);
	buf_free(&b);
}

Test(k8s, names_are_quoted_whatever_yaml_would_make_of_them)
{
	const char *names[] = { "null", "true", "on",   "no",   "y",   "n",         "123",
		                "0b1",  "1e3",  "0x1f", "0o17", "012", "2001-12-14" };
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		struct k8s_autoscale a = sample();
		a.name = a.ns = names[i];
		char err[256], want[256];
		cr_expect_eq(k8s_check(&a, err, sizeof(err)), 0, "%s: %s", names[i], err);
		struct buf b = { 0 };
		k8s_hpa_yaml(&a, &b);
		k8s_keda_yaml(&a, &b);
		snprintf(want, sizeof(want), "  name: \"%s\"\n  namespace: \"%s\"\n", names[i],
		         names[i]);
		cr_expect(has(&b, want), "%s:\n%s", names[i], b.p);
		snprintf(want, sizeof(want), "    kind: \"Deployment\"\n    name: \"%s\"\n",
		         names[i]);
		cr_expect(has(&b, want), "%s:\n%s", names[i], b.p);
		snprintf(want, sizeof(want), "name: %s\n", names[i]);
		cr_expect(!has(&b, want), "%s unquoted:\n%s", names[i], b.p);
		buf_free(&b);
	}
}

Test(k8s, cron_numbers_are_reported_as_written)
{
	char err[256];
	cr_expect_eq(k8s_cron_check("0 99999999999999999999 * * *", err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "field 2 (hour): 99999999999999999999 is out of 0-23"), "%s", err);
	cr_expect_eq(k8s_cron_check("0 8-24,5 * * *", err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "field 2 (hour): 24 is out of 0-23"), "%s", err);
	cr_expect_eq(k8s_cron_check("100 8 * * *", err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "field 1 (minute): 100 is out of 0-59"), "%s", err);
	cr_expect_eq(k8s_cron_check("0 */99999999999999999999 * * *", err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "field 2 (hour): a step of 99999999999999999999 is more than 0-23 "
	                      "holds"),
	          "%s", err);
	cr_expect_eq(k8s_cron_check("*/60 */24 */31 */12 */7", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(k8s_cron_check("*/61 * * * *", err, sizeof(err)), -EINVAL);
	cr_expect_eq(k8s_cron_check("5/15 8 * * *", err, sizeof(err)), 0, "%s", err);
}

Test(k8s, cron_pairs_firing_at_the_same_times_are_refused)
{
	char start[64], end[64], err[256];
	const char *same[] = {
		"0 20 * * 1-5 00 20 * * 1-5",      "0 20 * * MON-FRI 0 20 * * 1-5",
		"0 20 * * * 0 20 ? * ?",           "0 20 * * * 0 20 * * 0-6",
		"0 20 * * * 0 20 1-31 * *",        "*/30 8 * jan-dec * 0,30 8 * * *",
		"0 20 * * 1,2,3,4,5 0 20 * * 1-5", "0 20 * * 1-5/1 0 20 * * 1-5",
	};
	for (size_t i = 0; i < sizeof(same) / sizeof(*same); i++) {
		err[0] = '\0';
		cr_expect_eq(k8s_cron_pair(same[i], start, end, sizeof(start), err, sizeof(err)),
		             -EINVAL, "'%s' accepted", same[i]);
		cr_expect(strstr(err, "the same cron"), "'%s': %s", same[i], err);
	}
	const char *differ[] = {
		"0 20 * * 1-5 0 8 * * 1-5",
		"0 20 */2 * 1 0 20 * * 1",   /* odd days or Mondays, against Mondays */
		"0 20 1-31 * 1 0 20 * * 1",  /* any day (either field), against Mondays */
		"0 0 29 2 * 0 8 * * *",      /* fires in leap years */
		"0 20 31 2 1 0 8 * * *",     /* no star: day 31 or Monday, so Mondays */
		"0 20 30,31 2,4 * 0 8 * * *" /* 30 April */
	};
	for (size_t i = 0; i < sizeof(differ) / sizeof(*differ); i++)
		cr_expect_eq(k8s_cron_pair(differ[i], start, end, sizeof(start), err, sizeof(err)),
		             0, "'%s': %s", differ[i], err);
}

Test(k8s, crons_that_never_fire_are_refused)
{
	char start[64], end[64], err[256];
	const struct {
		const char *pair, *why;
	} bad[] = {
		{ "0 20 31 2 * 0 8 * * *", "start cron '0 20 31 2 *' never fires" },
		{ "0 20 * * * 0 8 30,31 feb *", "end cron '0 8 30,31 feb *' never fires" },
		{ "0 20 31 4,6,9,11 ? 0 8 * * *", "never fires" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err[0] = '\0';
		cr_expect_eq(
		    k8s_cron_pair(bad[i].pair, start, end, sizeof(start), err, sizeof(err)),
		    -EINVAL, "'%s' accepted", bad[i].pair);
		cr_expect(strstr(err, bad[i].why), "'%s': %s", bad[i].pair, err);
	}
}

/* A file named path under dir holding text (parents made). */
static void put(const char *dir, const char *path, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, path);
	for (char *s = strchr(p + strlen(dir) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	FILE *f = fopen(p, "w");
	cr_assert(f, "%s", p);
	fputs(text, f);
	fclose(f);
}

Test(k8s, time_zones_are_tzif_files_of_the_database)
{
	char dir[] = "/tmp/k8s-zoneinfo-XXXXXX", err[256];
	cr_assert(mkdtemp(dir));
	put(dir, "Europe/Paris", "TZif2\n...");
	put(dir, "Etc/GMT+5", "TZif2\n...");
	put(dir, "zone.tab", "# tz zone descriptions\nFR\t+4852+00220\tEurope/Paris\n");
	put(dir, "tzdata.zi", "# version 2024a\n");
	put(dir, "leapseconds", "# Allowance for leap seconds\n");
	put(dir, "Tiny", "TZ");
	put(dir, "Factory", "TZif2\n...");
	put(dir, "posixrules", "TZif2\n...");
	put(dir, "posix/Europe/Paris", "TZif2\n...");
	put(dir, "right/UTC", "TZif2\n...");
	const char *good[] = { "Europe/Paris", "Etc/GMT+5", "UTC" };
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		cr_expect_eq(k8s_tz_check(dir, good[i], err, sizeof(err)), 0, "%s: %s", good[i],
		             err);
	const char *bad[] = { "zone.tab", "tzdata.zi",   "leapseconds",         "Tiny",
		              "Factory",  "posixrules",  "posix/Europe/Paris",  "right/UTC",
		              "Europe",   "Europe/Lyon", "../k8s/Europe/Paris", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err[0] = '\0';
		cr_expect_eq(k8s_tz_check(dir, bad[i], err, sizeof(err)), -EINVAL, "'%s' accepted",
		             bad[i]);
		cr_expect(strstr(err, "not a time zone of the tz database"), "%s: %s", bad[i], err);
	}
	/* no database: nothing to ask, the name's syntax is all */
	cr_expect_eq(k8s_tz_check("/nonexistent/zoneinfo", "Europe/Paris", err, sizeof(err)), 0);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
	/* the machine's own database, when it has one */
	struct stat st;
	if (stat("/usr/share/zoneinfo/Europe/Paris", &st) == 0) {
		cr_expect_eq(k8s_tz_check("/usr/share/zoneinfo", "Europe/Paris", err, sizeof(err)),
		             0, "%s", err);
		const char *tables[] = { "zone.tab", "tzdata.zi", "iso3166.tab", "Factory" };
		for (size_t i = 0; i < sizeof(tables) / sizeof(*tables); i++)
			if (stat("/usr/share/zoneinfo", &st) == 0)
				cr_expect_eq(k8s_tz_check("/usr/share/zoneinfo", tables[i], err,
				                          sizeof(err)),
				             -EINVAL, "%s accepted", tables[i]);
	}
}

/* A plan document as `capacity plan --out json=` writes it (the keys k8s reads). */
static json_t *plan_doc(double per_instance, int today, int last, int biggest)
{
	return json_pack("{s:s, s:{s:f, s:f}, s:{s:f}, s:[{s:i, s:f, s:i}, {s:i, s:f, s:i}], "
	                 "s:[{s:f, s:f, s:i}, {s:f, s:f, s:i}]}",
	                 "format", "stampede-capacity-plan/1", "inputs", "currentRps", 1000.0,
	                 "bufferPercent", 70.0, "capacity", "perInstanceRps", per_instance,
	                 "months", "month", 1, "rps", 1000.0, "instances", today, "month", 12,
	                 "rps", 3138.43, "instances", last, "scenarios", "multiple", 10.0, "rps",
	                 10000.0, "instances", biggest, "multiple", 2.0, "rps", 2000.0, "instances",
	                 2);
}

Test(k8s, plan_is_read)
{
	struct k8s_plan p;
	char err[512];
	json_t *doc = plan_doc(1818.18181818182, 1, 3, 8);
	cr_assert_eq(k8s_plan_read(doc, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_float_eq(p.per_instance_rps, 1818.18181818182, 1e-9);
	cr_expect_float_eq(p.buffer_percent, 70, 1e-12);
	cr_expect_float_eq(p.rps_at_buffer, 1272.727272727274, 1e-9);
	cr_expect_eq(p.now.instances, 1);
	cr_expect_float_eq(p.now.rps, 1000, 1e-12);
	cr_expect_str_eq(p.now.what, "today's load");
	cr_expect_eq(p.peak.instances, 8); /* the largest scenario, not the first */
	cr_expect_float_eq(p.peak.rps, 10000, 1e-12);
	cr_expect_str_eq(p.peak.what, "the 10x scenario");
	json_decref(doc);
	/* the horizon's last month when it needs more; no load still keeps one pod */
	doc = plan_doc(1818.18181818182, 0, 9, 8);
	cr_assert_eq(k8s_plan_read(doc, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(p.now.instances, 1);
	cr_expect_eq(p.peak.instances, 9);
	cr_expect_str_eq(p.peak.what, "month 12 of the horizon");
	json_decref(doc);
}

Test(k8s, plan_refusals)
{
	struct k8s_plan p;
	char err[512];
	const struct {
		const char *path; /* key to spoil: "a.b" */
		json_t *value;    /* its new value (NULL: removed) */
		const char *why;
	} cases[] = {
		{ "format", json_string("stampede-capacity-fit/1"), "not a capacity plan" },
		{ "capacity.perInstanceRps", json_null(), "no per-instance capacity" },
		{ "capacity.perInstanceRps", json_real(0), "capacity.perInstanceRps: expected" },
		{ "capacity.perInstanceRps", json_string("2000"), "capacity.perInstanceRps" },
		{ "inputs.bufferPercent", json_real(170), "inputs.bufferPercent" },
		{ "inputs.bufferPercent", NULL, "inputs.bufferPercent" },
		{ "months", json_array(), "months: expected" },
		{ "scenarios", json_string("x"), "scenarios: expected" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		json_t *doc = plan_doc(2000, 1, 3, 8), *o = doc;
		char key[64];
		snprintf(key, sizeof(key), "%s", cases[i].path);
		char *dot = strchr(key, '.');
		if (dot) {
			*dot = '\0';
			o = json_object_get(doc, key);
		}
		const char *leaf = dot ? dot + 1 : key;
		if (cases[i].value)
			json_object_set_new(o, leaf, cases[i].value);
		else
			json_object_del(o, leaf);
		err[0] = '\0';
		cr_expect_eq(k8s_plan_read(doc, &p, err, sizeof(err)), -EINVAL, "case %zu", i);
		cr_expect(strstr(err, cases[i].why), "case %zu: '%s' lacks '%s'", i, err,
		          cases[i].why);
		json_decref(doc);
	}
	json_t *doc = plan_doc(2000, 1, 3, 8);
	json_object_set_new(json_array_get(json_object_get(doc, "scenarios"), 0), "instances",
	                    json_null());
	cr_expect_eq(k8s_plan_read(doc, &p, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "the 10x scenario: the plan has no instance count"), "%s", err);
	json_decref(doc);
	doc = plan_doc(2000, 1, 200000, 8);
	cr_expect_eq(k8s_plan_read(doc, &p, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "months[1] needs 200000 instances, more than the 100000"), "%s", err);
	json_decref(doc);
	cr_expect_eq(k8s_plan_read(NULL, &p, err, sizeof(err)), -EINVAL);
}

Test(k8s, header_says_where_the_plan_numbers_came_from)
{
	struct k8s_plan p = { .per_instance_rps = 1818.18181818182,
		              .buffer_percent = 70,
		              .rps_at_buffer = 1818.18181818182 * 70 / 100,
		              .now = { 1000, 1, "today's load" },
		              .peak = { 10000, 8, "the 10x scenario" } };
	struct k8s_autoscale a = sample();
	a.plan = &p;
	a.plan_name = "plan\n.json"; /* a comment cannot be ended by the name */
	a.rps_per_pod = 1272.727;
	a.rps_given = p.rps_at_buffer;
	a.min_src = K8S_FROM_PLAN;
	a.min_replicas = 1;
	a.min_rps = 1000;
	a.max_src = K8S_FROM_PLAN;
	a.max_replicas = 8;
	a.max_rps = 10000;
	struct buf b = { 0 };
	k8s_hpa_yaml(&a, &b);
	const char *want[] = {
		"# One pod serves 1272.727 req/s at the headroom buffer, the target per pod,\n"
		"# from plan?.json: 1818.18181818182 req/s per instance at 100% x its 70% buffer = "
		"1272.72727272727",
		"rounded down to 0.001 req/s",
		"# minReplicas 1: from plan?.json: today's load (1000 req/s) needs 1 instance at "
		"its "
		"70% buffer.\n",
		"# maxReplicas 8: from plan?.json: the 10x scenario (10000 req/s) needs 8 "
		"instances "
		"at its 70% buffer.\n",
		"averageValue: \"1272.727\"\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
		cr_expect(has(&b, want[i]), "the HPA lacks:\n%s\n---\n%s", want[i], b.p);
	buf_free(&b);
	a.r_from_flag = true;
	a.rps_per_pod = 140;
	a.rps_given = 140;
	a.max_src = K8S_FROM_PLAN_RPS;
	a.max_replicas = 72;
	k8s_keda_yaml(&a, &b);
	cr_expect(has(&b, "# One pod serves 140 req/s at the headroom buffer (--rps-per-pod"), "%s",
	          b.p);
	cr_expect(has(&b, "# maxReplicaCount 72 = ceil(10000 req/s, the 10x scenario in "
	                  "plan?.json, / 140 (--rps-per-pod)).\n"),
	          "%s", b.p);
	buf_free(&b);
}
