/* test_demo_config.c: the demo server's knobs: flags, JSON updates, the stall schedule and
 * the latency drift. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo.h"
#include "demo/demo_config.h"

Test(demo_config, defaults)
{
	struct demo_config c;

	demo_config_defaults(&c);
	cr_assert_str_eq(c.host, "127.0.0.1");
	cr_assert_eq(c.port, 8080);
	cr_assert_eq(c.workers, 4);
	cr_assert_eq(c.queue, 1024);
	cr_assert_eq(c.query_latency_us, 0);
	cr_assert_eq(c.stall_every_us, 0);
	cr_assert_eq(c.request_timeout_us, 10000000);
}

Test(demo_config, set_by_flag_name)
{
	struct demo_config c;
	char err[256];

	demo_config_defaults(&c);
	cr_assert_eq(demo_config_set(&c, "query-latency", "10ms", err, sizeof(err)), 0);
	cr_assert_eq(c.query_latency_us, 10000);
	cr_assert_eq(demo_config_set(&c, "cache_ttl", "1m30s", err, sizeof(err)), 0);
	cr_assert_eq(c.cache_ttl_us, 90000000);
	cr_assert_eq(demo_config_set(&c, "n-plus-one", "true", err, sizeof(err)), 0);
	cr_assert(c.n_plus_one);
	cr_assert_eq(demo_config_set(&c, "n-plus-one", "off", err, sizeof(err)), 0);
	cr_assert_not(c.n_plus_one);
	cr_assert_eq(demo_config_set(&c, "stall", "10s:500ms", err, sizeof(err)), 0);
	cr_assert_eq(c.stall_every_us, 10000000);
	cr_assert_eq(c.stall_for_us, 500000);
	cr_assert_eq(demo_config_set(&c, "stall", "off", err, sizeof(err)), 0);
	cr_assert_eq(c.stall_every_us, 0);
	cr_assert_eq(demo_config_set(&c, "error-rate", "0.25", err, sizeof(err)), 0);
	cr_assert_float_eq(c.error_rate, 0.25, 1e-12);
	cr_assert_eq(demo_config_set(&c, "workers", "16", err, sizeof(err)), 0);
	cr_assert_eq(c.workers, 16);
	cr_assert_eq(demo_config_set(&c, "host", "::1", err, sizeof(err)), 0);
	cr_assert_str_eq(c.host, "::1");
}

Test(demo_config, bad_values_are_refused_and_explained)
{
	static const char *const bad[][2] = {
		{ "workers", "0" },
		{ "workers", "x" },
		{ "queue", "-1" },
		{ "port", "65536" },
		{ "query-latency", "fast" },
		{ "query-latency", "2m" },
		{ "cache-ttl", "-1s" },
		{ "stall", "1s" },
		{ "stall", "1s:1s" },
		{ "stall", "0s:1ms" },
		{ "stall", "x:1ms" },
		{ "error-rate", "1.01" },
		{ "error-rate", "nan" },
		{ "n-plus-one", "maybe" },
		{ "leak-bytes", "1e6" },
		{ "max-connections", "0" },
		{ "request-timeout", "0" },
		{ "host", "" },
		{ "latency-drift", "fast" },
		{ "latency-drift", "11s" },
		{ "latency-drift", "-1ms" },
		{ "latency-drift", "1ms/" },
		{ "latency-drift", "1ms/0" },
		{ "latency-drift", "/1s" },
		{ "latency-drift", "1ms/500us" },
		{ "latency-drift", "1ms/2d" },
		{ "latency-drift", "1ms/min/2" },
		{ "latency-drift", "1ms/fortnight" },
	};
	struct demo_config c, before;
	char err[256];

	demo_config_defaults(&c);
	before = c;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(demo_config_set(&c, bad[i][0], bad[i][1], err, sizeof(err)), -EINVAL,
		             "%s=%s accepted", bad[i][0], bad[i][1]);
		cr_assert_neq(err[0], '\0', "%s=%s: no message", bad[i][0], bad[i][1]);
	}
	cr_assert_eq(memcmp(&c, &before, sizeof(c)), 0, "a refused value changed the config");
	cr_assert_eq(demo_config_set(&c, "nope", "1", err, sizeof(err)), -ENOENT);
	cr_assert(demo_config_known("query_latency"));
	cr_assert_not(demo_config_known("query latency"));
	cr_assert(demo_config_runtime("stall"));
	cr_assert_not(demo_config_runtime("workers"));
}

Test(demo_config, json_update_is_all_or_nothing)
{
	struct demo_config c;
	char err[256];
	const char *ok = "{\"query_latency\": \"5ms\", \"n_plus_one\": true, \"cache_ttl\": 2, "
	                 "\"error_rate\": 0.5, \"leak_bytes\": 1024, \"stall\": null, "
	                 "\"cpu-us\": 250}";

	demo_config_defaults(&c);
	cr_assert_eq(demo_config_update_json(&c, ok, strlen(ok), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.query_latency_us, 5000);
	cr_assert(c.n_plus_one);
	cr_assert_eq(c.cache_ttl_us, 2000000, "a bare number is seconds");
	cr_assert_float_eq(c.error_rate, 0.5, 1e-12);
	cr_assert_eq(c.leak_bytes, 1024);
	cr_assert_eq(c.cpu_us, 250);

	static const char *const bad[] = {
		"{\"query_latency\": \"1ms\", \"workers\": 2}",
		"{\"query_latency\": \"1ms\", \"bogus\": 2}",
		"{\"query_latency\": \"1ms\", \"error_rate\": 3}",
		"{\"query_latency\": \"1ms\", \"n_plus_one\": {}}",
		"{\"query_latency\": \"1ms\", \"query_latency\": \"2ms\"}",
		"[1]",
		"{",
	};
	struct demo_config before = c;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(demo_config_update_json(&c, bad[i], strlen(bad[i]), err, sizeof(err)),
		             -EINVAL, "accepted %s", bad[i]);
		cr_assert_neq(err[0], '\0');
		cr_assert_eq(memcmp(&c, &before, sizeof(c)), 0, "%s changed the config", bad[i]);
	}
}

Test(demo_config, json_round_trip)
{
	struct demo_config c, d;
	char err[256];

	demo_config_defaults(&c);
	demo_config_set(&c, "query-latency", "1500us", err, sizeof(err));
	demo_config_set(&c, "stall", "3s:250ms", err, sizeof(err));
	demo_config_set(&c, "cache-ttl", "90s", err, sizeof(err));
	char *text = demo_config_to_json(&c);
	json_t *o = json_loads(text, 0, NULL);
	cr_assert_not_null(o, "%s", text);
	cr_assert_str_eq(json_string_value(json_object_get(o, "query_latency")), "1500us");
	cr_assert_str_eq(json_string_value(json_object_get(o, "stall")), "3s:250ms");
	cr_assert_str_eq(json_string_value(json_object_get(o, "cache_ttl")), "90s");
	cr_assert_eq(json_integer_value(json_object_get(o, "workers")), 4);

	/* the runtime knobs fed back give the same configuration */
	json_object_del(o, "host");
	json_object_del(o, "port");
	json_object_del(o, "workers");
	json_object_del(o, "queue");
	char *back = json_dumps(o, 0);
	demo_config_defaults(&d);
	cr_assert_eq(demo_config_update_json(&d, back, strlen(back), err, sizeof(err)), 0, "%s",
	             err);
	cr_assert_eq(d.query_latency_us, c.query_latency_us);
	cr_assert_eq(d.stall_every_us, c.stall_every_us);
	cr_assert_eq(d.stall_for_us, c.stall_for_us);
	cr_assert_eq(d.cache_ttl_us, c.cache_ttl_us);
	free(back);
	free(text);
	json_decref(o);
}

Test(demo_config, stall_schedule)
{
	struct demo_config c;

	demo_config_defaults(&c);
	c.stall_anchor_us = 1000000;
	cr_assert_eq(demo_stall_remaining(&c, 5000000), 0, "no stall configured");
	c.stall_every_us = 2000000;
	c.stall_for_us = 500000;
	cr_assert_eq(demo_stall_remaining(&c, 1000000), 0, "not at the start");
	cr_assert_eq(demo_stall_remaining(&c, 2999999), 0);
	cr_assert_eq(demo_stall_remaining(&c, 3000000), 500000, "first stall at anchor + EVERY");
	cr_assert_eq(demo_stall_remaining(&c, 3400000), 100000);
	cr_assert_eq(demo_stall_remaining(&c, 3500000), 0);
	cr_assert_eq(demo_stall_remaining(&c, 5100000), 400000, "and every EVERY after");
}

Test(demo_config, live_refresh_only_on_change)
{
	struct demo_live l;
	struct demo_config c, copy, before;
	uint64_t gen = 0;
	char err[128];

	demo_config_defaults(&c);
	demo_live_init(&l, &c);
	demo_live_refresh(&l, &copy, &gen);
	cr_assert_eq(copy.workers, 4);
	uint64_t g1 = gen;
	demo_live_refresh(&l, &copy, &gen);
	cr_assert_eq(gen, g1);
	const char *upd = "{\"stall\": \"1s:100ms\"}";
	cr_assert_eq(demo_live_update_json(&l, upd, strlen(upd), &before, err, sizeof(err)), 0);
	cr_assert_eq(before.stall_every_us, 0);
	demo_live_refresh(&l, &copy, &gen);
	cr_assert_neq(gen, g1);
	cr_assert_eq(copy.stall_every_us, 1000000);
	cr_assert_geq(copy.stall_anchor_us, c.stall_anchor_us, "the schedule restarts");
	demo_live_destroy(&l);
}

Test(demo_config, latency_drift_syntax)
{
	static const struct {
		const char *text;
		int64_t amount, period;
		const char *json;
	} ok[] = {
		{ "2ms", 2000, 60000000, "2ms/min" },
		{ "2ms/min", 2000, 60000000, "2ms/min" },
		{ "2ms/1m", 2000, 60000000, "2ms/min" },
		{ "6ms/10s", 6000, 10000000, "6ms/10s" },
		{ "50ms/2s", 50000, 2000000, "50ms/2s" },
		{ "3ms/h", 3000, 3600000000, "3ms/3600s" },
		{ "1500us/s", 1500, 1000000, "1500us/1s" },
		{ "10s/1ms", 10000000, 1000, "10s/1ms" },
		{ "off", 0, 60000000, "0" },
		{ "0/10s", 0, 60000000, "0" },
	};
	struct demo_config c, d;
	char err[256];

	demo_config_defaults(&c);
	cr_assert_eq(c.latency_drift_us, 0, "off by default");
	cr_assert_eq(c.latency_drift_period_us, 60000000, "per minute by default");
	cr_assert(demo_config_runtime("latency_drift"));
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(demo_config_set(&c, "latency-drift", ok[i].text, err, sizeof(err)), 0,
		             "%s: %s", ok[i].text, err);
		cr_assert_eq(c.latency_drift_us, ok[i].amount, "%s", ok[i].text);
		cr_assert_eq(c.latency_drift_period_us, ok[i].period, "%s", ok[i].text);

		/* /admin/config shows it in a form that it accepts back */
		char *text = demo_config_to_json(&c);
		json_t *o = json_loads(text, 0, NULL);
		const char *shown = json_string_value(json_object_get(o, "latency_drift"));
		cr_assert_str_eq(shown, ok[i].json, "%s", ok[i].text);
		char upd[96];
		snprintf(upd, sizeof(upd), "{\"latency_drift\": \"%s\"}", shown);
		demo_config_defaults(&d);
		cr_assert_eq(demo_config_update_json(&d, upd, strlen(upd), err, sizeof(err)), 0,
		             "%s", err);
		cr_assert_eq(d.latency_drift_us, c.latency_drift_us, "%s", shown);
		cr_assert_eq(d.latency_drift_period_us, c.latency_drift_period_us, "%s", shown);
		json_decref(o);
		free(text);
	}
	const char *num = "{\"latency_drift\": 0.002}";
	cr_assert_eq(demo_config_update_json(&c, num, strlen(num), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.latency_drift_us, 2000, "a bare number is seconds per minute");
	const char *bad = "{\"latency_drift\": \"11s/min\"}";
	cr_assert_eq(demo_config_update_json(&c, bad, strlen(bad), err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "10s"), "the cap is named: %s", err);
}

Test(demo_config, latency_drift_grows_linearly_up_to_the_cap)
{
	struct demo_config c;
	char err[128];

	demo_config_defaults(&c);
	c.drift_anchor_us = 5000000;
	cr_assert_eq(demo_latency_drift(&c, 5000000 + 3600000000LL), 0, "off: nothing added");
	cr_assert_eq(demo_config_set(&c, "latency-drift", "2ms", err, sizeof(err)), 0);
	cr_assert_eq(demo_latency_drift(&c, 4000000), 0, "before the anchor");
	cr_assert_eq(demo_latency_drift(&c, 5000000), 0, "nothing at the start");
	cr_assert_eq(demo_latency_drift(&c, 5000000 + 30000000), 1000, "continuous: half a minute");
	cr_assert_eq(demo_latency_drift(&c, 5000000 + 600000000), 20000, "2ms/min: 10 min, 20 ms");
	cr_assert_eq(demo_latency_drift(&c, 5000000 + 5 * 3600000000LL), 600000, "5 h, 600 ms");
	cr_assert_eq(demo_latency_drift(&c, 5000000 + 100 * 3600000000LL), DEMO_DRIFT_MAX_US,
	             "capped");
	cr_assert_eq(demo_latency_drift(&c, INT64_MAX), DEMO_DRIFT_MAX_US, "no overflow");
	cr_assert_eq(demo_config_set(&c, "latency-drift", "50ms/2s", err, sizeof(err)), 0);
	cr_assert_eq(demo_latency_drift(&c, 5000000 + 3000000), 75000, "50ms/2s: 3 s, 75 ms");
}

Test(demo_config, latency_drift_restarts_when_changed)
{
	struct demo_live l;
	struct demo_config c, copy, before;
	uint64_t gen = 0;
	char err[128];

	demo_config_defaults(&c);
	demo_config_set(&c, "latency-drift", "6ms/10s", err, sizeof(err));
	demo_live_init(&l, &c);
	demo_live_refresh(&l, &copy, &gen);
	cr_assert_gt(copy.drift_anchor_us, 0, "the drift starts with the server");
	int64_t start = copy.drift_anchor_us;

	const char *other = "{\"query_latency\": \"2ms\"}";
	cr_assert_eq(demo_live_update_json(&l, other, strlen(other), &before, err, sizeof(err)), 0);
	demo_live_refresh(&l, &copy, &gen);
	cr_assert_eq(copy.drift_anchor_us, start, "another knob leaves the drift running");

	const char *same = "{\"latency_drift\": \"6ms/10s\"}";
	cr_assert_eq(demo_live_update_json(&l, same, strlen(same), &before, err, sizeof(err)), 0);
	demo_live_refresh(&l, &copy, &gen);
	cr_assert_eq(copy.drift_anchor_us, start, "the same value is no change");

	const char *faster = "{\"latency_drift\": \"6ms/5s\"}";
	cr_assert_eq(demo_live_update_json(&l, faster, strlen(faster), &before, err, sizeof(err)),
	             0);
	demo_live_refresh(&l, &copy, &gen);
	cr_assert_eq(before.latency_drift_period_us, 10000000);
	cr_assert_eq(copy.latency_drift_period_us, 5000000);
	cr_assert_geq(copy.drift_anchor_us, start, "a new rate starts from nothing");
	cr_assert_eq(demo_latency_drift(&copy, copy.drift_anchor_us), 0);
	demo_live_destroy(&l);
}
