/* test_scrape.c: --scrape's recording (engine/scrape.h): counter deltas and resets, gauges,
 * names, label and series caps, families that come late or are declared without samples,
 * the probe's retries, bad bodies. Bodies are fed with
 * scraper_ingest(); the URL is a closed loopback port, so the baseline's own fetch fails at
 * once and the probe's values are the baseline. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/scrape.h"
#include "metrics/metrics.h"
#include "util/common.h"
#include "util/promtext.h"

#define NOWHERE "http://127.0.0.1:1/metrics"

static struct registry reg;
static struct sink *sk;
static struct scraper *sc;
static char err[256];

static void setup(void)
{
	registry_init(&reg);
	sk = sink_new();
	sc = NULL;
}

static void teardown(void)
{
	scraper_free(sc);
	sink_free(sk);
	registry_destroy(&reg);
}

TestSuite(scrape, .init = setup, .fini = teardown);

static void feed(const char *body)
{
	cr_assert_eq(scraper_ingest(sc, body, strlen(body), err, sizeof(err)), 0, "%s", err);
}

/* Probe with body, register, take the baseline. */
static void start(const char *body)
{
	sc = scraper_new(NOWHERE, NULL);
	feed(body);
	scraper_attach(sc, &reg, registry_nmetrics(&reg), NULL);
	scraper_baseline(sc);
}

static int sid_of(const char *metric, const struct tag *tags, int ntags)
{
	int m = registry_find_metric(&reg, metric);
	cr_assert_geq(m, 0, "metric %s not registered", metric);
	return registry_series(&reg, m, tags, ntags);
}

static const struct slot *slot_of(const char *metric)
{
	int sid = sid_of(metric, NULL, 0);
	return sid < sk->nslots ? &sk->slots[sid] : NULL;
}

static double counted(const char *metric)
{
	const struct slot *s = slot_of(metric);
	return s && s->used ? s->sum : -1;
}

static json_t *report(void)
{
	return scraper_json(sc);
}

static double jnum(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

Test(scrape, counter_grows_by_the_delta_and_a_reset_counts_from_zero)
{
	start("# TYPE c counter\nc 10\n");
	feed("# TYPE c counter\nc 15\n");
	scraper_sample(sc, sk);
	cr_expect_float_eq(counted("target_c"), 5, 1e-9);
	sink_reset(sk);
	feed("# TYPE c counter\nc 3\n"); /* the target restarted */
	scraper_sample(sc, sk);
	cr_expect_float_eq(counted("target_c"), 3, 1e-9);
	sink_reset(sk);
	scraper_sample(sc, sk); /* nothing new: nothing recorded */
	cr_expect_float_eq(counted("target_c"), -1, 1e-9);
	scraper_set_requests(sc, 4);
	json_t *j = report();
	cr_expect_float_eq(jnum(json_object_get(j, "counters"), "target_c"), 8, 1e-9);
	cr_expect_float_eq(jnum(json_object_get(j, "perRequest"), "target_c"), 2, 1e-9);
	cr_expect_eq(json_integer_value(json_object_get(j, "okScrapes")), 3);
	cr_expect_eq(json_integer_value(json_object_get(j, "failedScrapes")), 1); /* baseline */
	json_decref(j);
}

Test(scrape, gauges_take_the_value_untyped_total_is_a_counter)
{
	start("# TYPE g gauge\ng 4.5\nu 7\nreqs_total 100\n");
	feed("# TYPE g gauge\ng -2\nu 9\nreqs_total 130\n");
	scraper_sample(sc, sk);
	const struct slot *g = slot_of("target_g");
	cr_assert(g && g->used && g->type == MT_GAUGE);
	cr_expect_float_eq(g->g_last, -2, 1e-9);
	cr_expect_float_eq(slot_of("target_u")->g_last, 9, 1e-9);
	cr_expect_eq(reg.metrics[registry_find_metric(&reg, "target_reqs_total")].type, MT_COUNTER);
	cr_expect_float_eq(counted("target_reqs_total"), 30, 1e-9);
}

Test(scrape, histograms_keep_sum_and_count_and_names_are_sanitised)
{
	const char *h = "# TYPE d histogram\n"
	                "d_bucket{le=\"0.1\"} 1\nd_bucket{le=\"+Inf\"} 2\nd_sum 0.3\nd_count 2\n"
	                "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 5\ns_count 5\n"
	                "# TYPE a:b counter\na:b 1\n";
	start(h);
	cr_expect_geq(registry_find_metric(&reg, "target_d_sum"), 0);
	cr_expect_geq(registry_find_metric(&reg, "target_d_count"), 0);
	cr_expect_geq(registry_find_metric(&reg, "target_s_sum"), 0);
	cr_expect_geq(registry_find_metric(&reg, "target_a_b"), 0);
	cr_expect_lt(registry_find_metric(&reg, "target_d_bucket"), 0);
	cr_expect_lt(registry_find_metric(&reg, "target_d"), 0);
	cr_expect_lt(registry_find_metric(&reg, "target_s"), 0);
	feed("# TYPE d histogram\nd_bucket{le=\"+Inf\"} 6\nd_sum 1.3\nd_count 6\n"
	     "# TYPE s summary\ns_sum 5\ns_count 5\n# TYPE a:b counter\na:b 4\n");
	scraper_sample(sc, sk);
	cr_expect_float_eq(counted("target_d_sum"), 1.0, 1e-9);
	cr_expect_float_eq(counted("target_d_count"), 4, 1e-9);
	cr_expect_float_eq(counted("target_a_b"), 3, 1e-9);
}

Test(scrape, labels_become_tags_and_new_label_sets_count_from_zero)
{
	start("# TYPE r counter\nr{route=\"/a\",status=\"200\"} 5\n");
	feed("# TYPE r counter\nr{route=\"/a\",status=\"200\"} 7\nr{route=\"/b\",status=\"500\"} "
	     "2\n");
	scraper_sample(sc, sk);
	struct tag a[] = { { "route", "/a" }, { "status", "200" } };
	struct tag b[] = { { "route", "/b" }, { "status", "500" } };
	cr_expect_float_eq(sk->slots[sid_of("target_r", a, 2)].sum, 2, 1e-9);
	cr_expect_float_eq(sk->slots[sid_of("target_r", b, 2)].sum, 2, 1e-9); /* born: from 0 */
}

Test(scrape, label_and_series_caps)
{
	char *body = xmalloc(64 * 1024);
	size_t n = (size_t)sprintf(body, "# TYPE many gauge\nwide{a=\"1\",b=\"2\",c=\"3\",d=\"4\","
	                                 "e=\"5\",f=\"6\",g=\"7\",h=\"8\",i=\"9\",j=\"10\"} 1\n");
	for (int i = 0; i < SCRAPE_MAX_SERIES + 44; i++)
		n += (size_t)sprintf(body + n, "many{i=\"%d\"} %d\n", i, i);
	start(body);
	json_t *j = report();
	cr_expect_eq(json_integer_value(json_object_get(j, "series")), SCRAPE_MAX_SERIES);
	cr_expect_eq(json_integer_value(json_object_get(j, "droppedSeries")), 45);
	cr_expect_eq(json_integer_value(json_object_get(j, "droppedLabels")), 1);
	json_decref(j);
	int m = registry_find_metric(&reg, "target_wide");
	for (int i = 0; i < registry_nseries(&reg); i++) {
		const struct series_info *si = registry_series_info(&reg, i);
		if (si->metric == m)
			cr_expect_eq(si->ntags, SCRAPE_MAX_LABELS);
	}
	free(body);
}

Test(scrape, collisions_are_reported_not_recorded_also_when_late)
{
	int own = registry_metric(&reg, "target_cpu_percent", MT_GAUGE, MU_NONE);
	cr_assert_geq(own, 0);
	sc = scraper_new(NOWHERE, NULL);
	static const char *const reserved[] = { "target_rss_bytes", "target_threads", NULL };
	feed("# TYPE cpu_percent gauge\ncpu_percent 50\n# TYPE x counter\nx 1\nrss_bytes 5\n");
	scraper_attach(sc, &reg, registry_nmetrics(&reg), reserved);
	cr_expect_lt(registry_find_metric(&reg, "target_rss_bytes"), 0, "a reserved name");
	scraper_baseline(sc);
	feed("cpu_percent 60\nx 2\nthreads 4\n"); /* late, and reserved too */
	scraper_sample(sc, sk);
	cr_expect_lt(registry_find_metric(&reg, "target_threads"), 0);
	int sid = registry_series(&reg, own, NULL, 0);
	cr_expect(sid >= sk->nslots || !sk->slots[sid].used, "stampede's own metric untouched");
	json_t *j = report();
	json_t *d = json_object_get(j, "droppedMetrics");
	cr_assert_eq(json_array_size(d), 3);
	static const char *const names[] = { "target_cpu_percent", "target_rss_bytes",
		                             "target_threads" };
	for (size_t i = 0; i < 3; i++)
		cr_expect_str_eq(json_string_value(json_object_get(json_array_get(d, i), "name")),
		                 names[i]);
	json_decref(j);
}

/* The reviewer's case: a family whose first sample comes after the start (a server's
 * labelled counter appears at its first increment) is recorded from then on, and a
 * counter born during the run counts its whole value. */
Test(scrape, late_families_are_recorded_from_their_first_sample)
{
	start("# TYPE x counter\nx 1\n");
	feed("x 2\nreqs_total{route=\"/a\"} 3\n# TYPE lg gauge\nlg 5\n"
	     "# TYPE lh histogram\nlh_bucket{le=\"+Inf\"} 3\nlh_sum 0.6\nlh_count 3\n");
	scraper_sample(sc, sk);
	struct tag a[] = { { "route", "/a" } }, b[] = { { "route", "/b" } };
	int reqs = registry_find_metric(&reg, "target_reqs_total");
	cr_assert_geq(reqs, 0, "a late family is registered");
	cr_expect_eq(reg.metrics[reqs].type, MT_COUNTER);
	cr_expect_float_eq(sk->slots[sid_of("target_reqs_total", a, 1)].sum, 3, 1e-9);
	cr_expect_float_eq(counted("target_x"), 1, 1e-9);
	cr_expect_float_eq(slot_of("target_lg")->g_last, 5, 1e-9);
	cr_expect_float_eq(counted("target_lh_sum"), 0.6, 1e-9);
	cr_expect_float_eq(counted("target_lh_count"), 3, 1e-9);
	sink_reset(sk);
	feed("x 2\nreqs_total{route=\"/a\"} 7\nreqs_total{route=\"/b\"} 2\nlg 6\n"
	     "lh_sum 0.8\nlh_count 4\n");
	scraper_sample(sc, sk);
	cr_expect_float_eq(sk->slots[sid_of("target_reqs_total", a, 1)].sum, 4, 1e-9);
	cr_expect_float_eq(sk->slots[sid_of("target_reqs_total", b, 1)].sum, 2, 1e-9);
	cr_expect_float_eq(counted("target_lh_count"), 1, 1e-9);
	scraper_set_requests(sc, 9);
	json_t *j = report();
	cr_expect_eq(json_integer_value(json_object_get(j, "lateFamilies")), 3);
	cr_expect_eq(json_integer_value(json_object_get(j, "families")), 4);
	cr_expect_eq(json_integer_value(json_object_get(j, "metrics")), 5);
	cr_expect_float_eq(jnum(json_object_get(j, "counters"), "target_reqs_total"), 9, 1e-9);
	cr_expect_float_eq(jnum(json_object_get(j, "perRequest"), "target_reqs_total"), 1, 1e-9);
	cr_expect_eq(json_array_size(json_object_get(j, "droppedMetrics")), 0);
	json_decref(j);
}

/* A family declared by "# TYPE" with no sample yet (the demo's http_requests_total before
 * its first request) is registered at attach, so a threshold may name it. */
Test(scrape, families_declared_without_samples_are_registered_at_attach)
{
	start("# TYPE http_requests_total counter\n# TYPE d histogram\n# TYPE s summary\n"
	      "# TYPE g gauge\n# TYPE u untyped\n# TYPE n_total untyped\nup 1\n");
	static const struct {
		const char *name;
		enum metric_type type;
	} want[] = { { "target_http_requests_total", MT_COUNTER },
		     { "target_d_sum", MT_COUNTER },
		     { "target_d_count", MT_COUNTER },
		     { "target_s_sum", MT_COUNTER },
		     { "target_s_count", MT_COUNTER },
		     { "target_g", MT_GAUGE },
		     { "target_u", MT_GAUGE },
		     { "target_n_total", MT_GAUGE } }; /* as its samples would be */
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		int m = registry_find_metric(&reg, want[i].name);
		cr_assert_geq(m, 0, "%s registered at attach", want[i].name);
		cr_expect_eq(reg.metrics[m].type, want[i].type, "%s", want[i].name);
	}
	cr_expect_lt(registry_find_metric(&reg, "target_d"), 0);
	cr_expect_lt(registry_find_metric(&reg, "target_d_bucket"), 0);
	feed("# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} 4\n"
	     "# TYPE d histogram\nd_bucket{le=\"+Inf\"} 4\nd_sum 0.5\nd_count 4\nup 1\n");
	scraper_sample(sc, sk);
	struct tag ok[] = { { "code", "200" } };
	cr_expect_float_eq(sk->slots[sid_of("target_http_requests_total", ok, 1)].sum, 4, 1e-9);
	cr_expect_float_eq(counted("target_d_sum"), 0.5, 1e-9);
	cr_expect_float_eq(counted("target_d_count"), 4, 1e-9);
	json_t *j = report();
	cr_expect_eq(json_integer_value(json_object_get(j, "lateFamilies")), 0);
	cr_expect_eq(json_integer_value(json_object_get(j, "families")), 7);
	json_decref(j);
}

/* The metric cap holds for the families that come late too. */
Test(scrape, late_families_respect_the_metric_cap)
{
	char *body = xmalloc(64 * 1024);
	size_t n = 0;
	for (int i = 0; i < SCRAPE_MAX_METRICS - 1; i++)
		n += (size_t)sprintf(body + n, "g%d %d\n", i, i);
	start(body);
	sprintf(body + n, "late_a 1\nlate_b 2\nlate_c 3\n");
	feed(body);
	feed(body);
	scraper_sample(sc, sk);
	cr_expect_geq(registry_find_metric(&reg, "target_late_a"), 0);
	cr_expect_lt(registry_find_metric(&reg, "target_late_b"), 0);
	cr_expect_lt(registry_find_metric(&reg, "target_late_c"), 0);
	json_t *j = report();
	cr_expect_eq(json_integer_value(json_object_get(j, "metrics")), SCRAPE_MAX_METRICS);
	json_t *d = json_array_get(json_object_get(j, "droppedMetrics"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(d, "name")), "...");
	json_decref(j);
	free(body);
}

/* The reviewer's case: the probe's retries (a target started by --monitor-cmd that is not
 * serving yet) are not failed scrapes of the run, nor its lastError. */
Test(scrape, probe_retries_are_not_failed_scrapes)
{
	sc = scraper_new(NOWHERE, NULL);
	for (int i = 0; i < 3; i++)
		cr_expect_lt(scraper_probe(sc, err, sizeof(err)), 0);
	const char *html = "<html>starting</html>";
	cr_expect_eq(scraper_ingest(sc, html, strlen(html), err, sizeof(err)), -EPROTO);
	feed("# TYPE c counter\nc 1\n"); /* the probe succeeds */
	scraper_attach(sc, &reg, registry_nmetrics(&reg), NULL);
	json_t *j = report();
	cr_expect_eq(json_integer_value(json_object_get(j, "failedScrapes")), 0);
	cr_expect_eq(json_integer_value(json_object_get(j, "okScrapes")), 1);
	cr_expect(json_is_null(json_object_get(j, "lastError")));
	json_decref(j);
	scraper_baseline(sc); /* a scrape of the run: its failure counts */
	j = report();
	cr_expect_eq(json_integer_value(json_object_get(j, "failedScrapes")), 1);
	const char *last = json_string_value(json_object_get(j, "lastError"));
	cr_expect(last && strstr(last, "onnect"), "%s", last ? last : "(null)");
	json_decref(j);
}

Test(scrape, bad_bodies_are_counted_never_fatal)
{
	start("# TYPE c counter\nc 1\n");
	const char *html = "<html><body>not metrics</body></html>";
	cr_expect_eq(scraper_ingest(sc, html, strlen(html), err, sizeof(err)), -EPROTO);
	cr_expect(strstr(err, "no Prometheus sample"), "%s", err);
	char *big = xmalloc(SCRAPE_MAX_BODY + 2);
	memset(big, '#', SCRAPE_MAX_BODY + 1);
	big[SCRAPE_MAX_BODY + 1] = '\0';
	cr_expect_eq(scraper_ingest(sc, big, SCRAPE_MAX_BODY + 1, err, sizeof(err)), -EFBIG);
	free(big);
	const char bin[] = "c 2\n\x01\x02\xff garbage {{{\nc{ 9\n";
	cr_expect_eq(scraper_ingest(sc, bin, sizeof(bin) - 1, err, sizeof(err)), 0);
	scraper_sample(sc, sk);
	cr_expect_float_eq(counted("target_c"), 1, 1e-9);
	json_t *j = report();
	cr_expect_eq(json_integer_value(json_object_get(j, "failedScrapes")), 3);
	cr_expect_eq(json_integer_value(json_object_get(j, "badLines")), 2);
	cr_expect(strstr(json_string_value(json_object_get(j, "lastError")), "larger than"));
	json_decref(j);
}

Test(scrape, nan_samples_are_skipped_and_instance_tags_several_urls)
{
	sc = scraper_new(NOWHERE, "127.0.0.1:9100");
	feed("# TYPE g gauge\ng{instance=\"a\"} NaN\n");
	scraper_attach(sc, &reg, registry_nmetrics(&reg), NULL);
	scraper_baseline(sc);
	feed("# TYPE g gauge\ng{instance=\"a\"} 3\n");
	scraper_sample(sc, sk);
	struct tag t[] = { { "exported_instance", "a" }, { "instance", "127.0.0.1:9100" } };
	const struct slot *s = &sk->slots[sid_of("target_g", t, 2)];
	cr_expect(s->used);
	cr_expect_float_eq(s->g_last, 3, 1e-9);
}

Test(scrape, urls_are_shown_without_credentials)
{
	char out[128];
	scrape_url_shown("http://user:secret@127.0.0.1:9100/metrics?a=b@c", out, sizeof(out));
	cr_expect_str_eq(out, "http://***@127.0.0.1:9100/metrics?a=b@c");
	scrape_url_shown("https://127.0.0.1/metrics", out, sizeof(out));
	cr_expect_str_eq(out, "https://127.0.0.1/metrics");
	sc = scraper_new("http://u:p@127.0.0.1:1/metrics", NULL);
	json_t *j = report();
	cr_expect_str_eq(json_string_value(json_object_get(j, "url")),
	                 "http://***@127.0.0.1:1/metrics");
	json_decref(j);
}

static json_t *dropped_entry(json_t *j, const char *reason_part)
{
	json_t *d = json_object_get(j, "droppedMetrics"), *e;
	size_t i;
	json_array_foreach(d, i, e) if (strstr(json_string_value(json_object_get(e, "reason")),
	                                       reason_part)) return e;
	return NULL;
}

/* No metric of the registry has a name longer than "target_" + SCRAPE_MAX_NAME, and no
 * series a tag value longer than SCRAPE_MAX_LABEL_VALUE: whatever the endpoint served. */
static void expect_nothing_long_stored(void)
{
	for (int i = 0; i < registry_nmetrics(&reg); i++)
		cr_expect_leq(strlen(reg.metrics[i].name), 7 + SCRAPE_MAX_NAME);
	for (int i = 0; i < registry_nseries(&reg); i++) {
		const struct series_info *si = registry_series_info(&reg, i);
		for (int t = 0; t < si->ntags; t++)
			cr_expect_leq(strlen(si->tags[t].value), SCRAPE_MAX_LABEL_VALUE);
	}
}

/* The reviewer's hostile server: a new huge metric name per scrape (RSS to 891 MB). Names,
 * label values and whole identities past their caps are dropped, never stored, and
 * counted (the most in one scrape); those at the caps are kept. */
Test(scrape, names_and_label_values_past_their_caps_are_dropped_and_counted)
{
	size_t huge = 64 * 1024;
	char *name = xmalloc(huge + 1), *body = xmalloc(3 * huge);
	memset(name, 'n', huge);
	name[huge] = '\0';
	char v256[SCRAPE_MAX_LABEL_VALUE + 2];
	memset(v256, 'v', sizeof(v256) - 1);
	v256[sizeof(v256) - 1] = '\0'; /* 257 bytes */
	/* at the caps: a 200-byte name, a 256-byte value */
	size_t n = (size_t)sprintf(body, "%.*s 1\nkept{l=\"%.*s\"} 2\nok 1\n", SCRAPE_MAX_NAME,
	                           name, SCRAPE_MAX_LABEL_VALUE, v256);
	/* past them: a 201-byte name, a 257-byte value, a TYPE-only family of 201 bytes */
	n += (size_t)sprintf(body + n, "%.*s 1\nlong{l=\"%s\"} 2\n# TYPE t%.*s gauge\n",
	                     SCRAPE_MAX_NAME + 1, name, v256, SCRAPE_MAX_NAME, name);
	/* an identity past SCRAPE_MAX_SERIES_KEY made of short labels */
	n += (size_t)sprintf(body + n, "wide{");
	for (int i = 0; i < SCRAPE_MAX_SERIES_KEY / 250 + 1; i++)
		n += (size_t)sprintf(body + n, "l%d=\"%.*s\",", i, 240, v256);
	n += (size_t)sprintf(body + n, "} 3\n");
	start(body);
	cr_expect_geq(registry_find_metric(&reg, "target_kept"), 0);
	cr_expect_lt(registry_find_metric(&reg, "target_long"), 0);
	cr_expect_lt(registry_find_metric(&reg, "target_wide"), 0);
	int nmetrics = registry_nmetrics(&reg);
	json_t *j = report();
	cr_expect_eq(json_integer_value(json_object_get(j, "metrics")), 3,
	             "the 200-byte name, kept and ok");
	cr_expect_eq(json_integer_value(json_object_get(j, "droppedLongNames")), 4);
	cr_expect_eq(json_integer_value(json_object_get(j, "series")), 3);
	json_decref(j);
	/* then a new huge name each scrape: nothing grows */
	for (int k = 0; k < 5; k++) {
		name[0] = (char)('a' + k);
		sprintf(body, "ok %d\n%s_total %d\n", k + 2, name, k);
		feed(body);
		scraper_sample(sc, sk);
	}
	cr_expect_eq(registry_nmetrics(&reg), nmetrics);
	j = report();
	cr_expect_eq(json_integer_value(json_object_get(j, "metrics")), 3);
	cr_expect_eq(json_integer_value(json_object_get(j, "series")), 3);
	cr_expect_eq(json_integer_value(json_object_get(j, "droppedLongNames")), 4,
	             "the most in one scrape");
	cr_expect_eq(json_array_size(json_object_get(j, "droppedMetrics")), 0);
	json_decref(j);
	expect_nothing_long_stored();
	free(name);
	free(body);
}

/* NaN / +Inf / -Inf: a counter's total and baseline are untouched (no "inf" total, no
 * JSON null), a gauge keeps its value and min/max; each is counted. A counter going
 * down is a reset: it counts from 0 again, as Prometheus's rate() and increase() do. */
Test(scrape, non_finite_samples_are_skipped_and_counted_and_resets_count_from_zero)
{
	start("# TYPE c counter\nc 10\n# TYPE g gauge\ng 5\n");
	static const char *const bad[] = { "NaN", "+Inf", "-Inf" };
	char body[128];
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		sprintf(body, "# TYPE c counter\nc %s\n# TYPE g gauge\ng %s\n", bad[i], bad[i]);
		feed(body);
		scraper_sample(sc, sk);
		cr_expect_float_eq(counted("target_c"), -1, 1e-9, "%s: nothing recorded", bad[i]);
		const struct slot *g = slot_of("target_g");
		cr_expect(!g || !g->used, "%s: the gauge is not recorded", bad[i]);
		sink_reset(sk);
	}
	feed("# TYPE c counter\nc 12\n# TYPE g gauge\ng 7\n");
	scraper_sample(sc, sk);
	cr_expect_float_eq(counted("target_c"), 2, 1e-9, "from the last finite value");
	const struct slot *g = slot_of("target_g");
	cr_assert(g && g->used);
	cr_expect_float_eq(g->g_last, 7, 1e-9);
	cr_expect(isfinite(g->g_min) && isfinite(g->g_max));
	sink_reset(sk);
	feed("# TYPE c counter\nc 3\n# TYPE g gauge\ng 7\n"); /* the target restarted */
	scraper_sample(sc, sk);
	cr_expect_float_eq(counted("target_c"), 3, 1e-9, "a reset counts from 0");
	sink_reset(sk);
	feed("# TYPE c counter\nc 4.5\n# TYPE g gauge\ng 7\n");
	scraper_sample(sc, sk);
	cr_expect_float_eq(counted("target_c"), 1.5, 1e-9);
	/* a new series whose first value is not finite: no series until a finite one */
	feed("# TYPE c counter\nc 4.5\nc{x=\"new\"} +Inf\nn_total NaN\n");
	feed("# TYPE c counter\nc 4.5\nc{x=\"new\"} 2\nn_total 1\n");
	sink_reset(sk);
	scraper_sample(sc, sk);
	struct tag t[] = { { "x", "new" } };
	cr_expect_float_eq(sk->slots[sid_of("target_c", t, 1)].sum, 2, 1e-9, "born: from 0");
	json_t *j = report();
	double total = jnum(json_object_get(j, "counters"), "target_c");
	cr_expect(isfinite(total));
	cr_expect_float_eq(total, 2 + 3 + 1.5 + 2, 1e-9);
	cr_expect_eq(json_integer_value(json_object_get(j, "nonFinite")), 2,
	             "the most in one scrape");
	json_decref(j);
}

/* The parser's caps (PROMTEXT_MAX_SAMPLES, PROMTEXT_MAX_FAMILIES) and the scraper's metric
 * cap are reported with counts: droppedSamples, and droppedMetrics' "..." entries. */
Test(scrape, every_cap_is_reported_with_a_count)
{
	char *body = xmalloc(1 << 20);
	size_t n = 0;
	for (int i = 0; i < 1000; i++) /* 1,000 families */
		n += (size_t)sprintf(body + n, "# TYPE f%d gauge\nf%d %d\n", i, i, i);
	start(body);
	json_t *j = report();
	json_t *names = dropped_entry(j, "metric names");
	json_t *fams = dropped_entry(j, "families");
	cr_assert(names && fams, "%s", json_dumps(j, 0));
	cr_expect_eq(json_integer_value(json_object_get(names, "count")),
	             PROMTEXT_MAX_FAMILIES - SCRAPE_MAX_METRICS);
	cr_expect_eq(json_integer_value(json_object_get(fams, "count")),
	             1000 - PROMTEXT_MAX_FAMILIES);
	cr_expect_eq(json_integer_value(json_object_get(j, "droppedSamples")),
	             1000 - PROMTEXT_MAX_FAMILIES);
	json_decref(j);
	n = 0;
	for (int i = 0; i < PROMTEXT_MAX_SAMPLES + 7; i++)
		n += (size_t)sprintf(body + n, "f0{i=\"%d\"} 1\n", i);
	feed(body);
	j = report();
	cr_expect_eq(json_integer_value(json_object_get(j, "droppedSamples")), 744,
	             "the most in one scrape");
	json_decref(j);
	n = 0;
	for (int i = 0; i < PROMTEXT_MAX_SAMPLES + 800; i++)
		n += (size_t)sprintf(body + n, "f0{i=\"%d\"} 1\n", i);
	feed(body);
	j = report();
	cr_expect_eq(json_integer_value(json_object_get(j, "droppedSamples")), 800);
	/* 128 series (f0..f127) were there: 128 more of f0 fit */
	cr_expect_eq(json_integer_value(json_object_get(j, "droppedSeries")),
	             PROMTEXT_MAX_SAMPLES - (SCRAPE_MAX_SERIES - SCRAPE_MAX_METRICS));
	json_decref(j);
	free(body);
}

/* URL schemes are case-insensitive (RFC 3986 section 3.1): HTTP:// is fetched as http://
 * (refused connection here, not an unsupported protocol). */
Test(scrape, url_schemes_are_case_insensitive)
{
	static const char *const urls[] = { "HTTP://127.0.0.1:1/metrics",
		                            "Http://127.0.0.1:1/metrics" };
	for (size_t i = 0; i < ARRAY_SIZE(urls); i++) {
		struct scraper *x = scraper_new(urls[i], NULL);
		cr_expect_eq(scraper_probe(x, err, sizeof(err)), -ECONNREFUSED, "%s: %s", urls[i],
		             err);
		scraper_free(x);
	}
	char out[128];
	scrape_url_shown("HTTPS://u:p@127.0.0.1/metrics", out, sizeof(out));
	cr_expect_str_eq(out, "HTTPS://***@127.0.0.1/metrics");
}
