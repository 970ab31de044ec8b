/* test_script_tags.c: unit tests for --tag as k6's run tags and options.httpDebug
 * (script/script.c: script_cli_tags, script_http_debug). */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>

#include "script/script.h"

Test(script_tags, cli_tags_replace_options_tags)
{
	json_t *o = json_pack("{s:{s:s,s:s}}", "tags", "testid", "abc", "team", "web");
	const char *tags[] = { "testid=cli", "env=a=b", "testid=last" };
	cr_assert_eq(script_cli_tags(o, tags, 3), 0);
	json_t *t = json_object_get(o, "tags");
	cr_assert_eq(json_object_size(t), 2, "the script's tags are replaced (k6)");
	cr_assert_str_eq(json_string_value(json_object_get(t, "testid")), "last");
	cr_assert_str_eq(json_string_value(json_object_get(t, "env")), "a=b");
	json_decref(o);
}

Test(script_tags, no_cli_tags_keep_options_tags)
{
	json_t *o = json_pack("{s:{s:s}}", "tags", "testid", "abc");
	cr_assert_eq(script_cli_tags(o, NULL, 0), 0);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "tags"), "testid")),
	                 "abc");
	json_decref(o);
}

Test(script_tags, bad_cli_tags_are_refused_and_change_nothing)
{
	static const char *const bad[] = { "novalue", "=v", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *o = json_pack("{s:{s:s}}", "tags", "testid", "abc");
		const char *tags[] = { "ok=1", bad[i] };
		FILE *saved = stderr;
		stderr = fopen("/dev/null", "w");
		int rc = script_cli_tags(o, tags, 2);
		fclose(stderr);
		stderr = saved;
		cr_assert_eq(rc, -EINVAL, "'%s'", bad[i]);
		cr_assert_str_eq(
		    json_string_value(json_object_get(json_object_get(o, "tags"), "testid")),
		    "abc");
		json_decref(o);
	}
}

Test(script_tags, http_debug_levels)
{
	static const struct {
		const char *json;
		int rc, level;
	} tc[] = {
		{ "{}", 0, 0 },
		{ "{\"httpDebug\": false}", 0, 0 },
		{ "{\"httpDebug\": \"\"}", 0, 0 },
		{ "{\"httpDebug\": true}", 0, 1 },
		{ "{\"httpDebug\": \"headers\"}", 0, 1 },
		{ "{\"httpDebug\": \"full\"}", 0, 2 },
		{ "{\"httpDebug\": \"loud\"}", -EINVAL, 0 },
		{ "{\"httpDebug\": 1}", -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		json_t *o = json_loads(tc[i].json, 0, NULL);
		cr_assert_not_null(o);
		int level = -1;
		FILE *saved = stderr;
		stderr = fopen("/dev/null", "w");
		int rc = script_http_debug(o, &level);
		fclose(stderr);
		stderr = saved;
		cr_assert_eq(rc, tc[i].rc, "%s", tc[i].json);
		if (rc == 0)
			cr_assert_eq(level, tc[i].level, "%s", tc[i].json);
		json_decref(o);
	}
}
