/* test_script_errors.c: unit tests for the script error record (script_report_error,
 * script_errors_json in script/lua_vu.c): distinct messages capped, counts exact across
 * threads. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "script/script.h"
#include "util/common.h"

#define KEPT       100 /* ERRORS_KEPT in lua_vu.c */
#define THREADS    4
#define PER_THREAD 5000

static struct script *new_script(void)
{
	struct script *s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	return s;
}

static int64_t total(json_t *a)
{
	int64_t n = 0;
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) n += json_integer_value(json_object_get(e, "count"));
	return n;
}

Test(script_errors, repeated_message_is_one_entry)
{
	struct script *s = new_script();
	for (int i = 0; i < 1000; i++)
		script_report_error(s, "same");
	json_t *a = script_errors_json(s);
	cr_assert_eq(json_array_size(a), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "message")),
	                 "same");
	cr_assert_eq(total(a), 1000);
	json_decref(a);
	script_free(s);
}

struct worker_arg {
	struct script *s;
	int id;
};

static void *report_unique(void *p)
{
	struct worker_arg *w = p;
	char msg[64];
	for (int i = 0; i < PER_THREAD; i++) {
		snprintf(msg, sizeof(msg), "error %d/%d", w->id, i % 1000);
		script_report_error(w->s, msg);
	}
	return NULL;
}

Test(script_errors, distinct_messages_capped_counts_exact_across_threads)
{
	struct script *s = new_script();
	pthread_t t[THREADS];
	struct worker_arg args[THREADS];
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct worker_arg){ s, i };
		cr_assert_eq(pthread_create(&t[i], NULL, report_unique, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(s->nerrors, KEPT);
	json_t *a = script_errors_json(s);
	cr_assert_eq(json_array_size(a), KEPT + 1);
	cr_assert_eq(total(a), (int64_t)THREADS * PER_THREAD);
	const char *last = json_string_value(json_object_get(json_array_get(a, KEPT), "message"));
	cr_assert(strstr(last, "other messages"), "%s", last);
	json_decref(a);
	script_free(s);
}

Test(script_errors, no_entry_for_others_until_the_cap)
{
	struct script *s = new_script();
	char msg[32];
	for (int i = 0; i < KEPT; i++) {
		snprintf(msg, sizeof(msg), "e%d", i);
		script_report_error(s, msg);
	}
	json_t *a = script_errors_json(s);
	cr_assert_eq(json_array_size(a), KEPT);
	json_decref(a);
	script_report_error(s, "one more");
	script_report_error(s, "e5"); /* a kept message still counts in its own entry */
	a = script_errors_json(s);
	cr_assert_eq(json_array_size(a), KEPT + 1);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(a, 5), "count")), 2);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(a, KEPT), "count")), 1);
	json_decref(a);
	script_free(s);
}
