/* test_common.c: unit tests for duration, byte and number parsing and formatting. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "util/common.h"

struct tc_dur {
	const char *s;
	int64_t us;
};

static const struct tc_dur tc_dur_valid[] = {
	{ "500ms", 500000 },
	{ "10s", 10000000 },
	{ "1m30s", 90000000 },
	{ "1h", 3600000000LL },
	{ "2h3m4s", (2 * 3600 + 3 * 60 + 4) * 1000000LL },
	{ "250us", 250 },
	{ "250µs", 250 },
	{ "1.5s", 1500000 },
	{ "0.5ms", 500 },
	{ ".5s", 500000 },
	{ "5", 5000000 },
	{ "0", 0 },
	{ "0s", 0 },
	{ "1d", 86400000000LL },
	{ "1s500ms", 1500000 },
};

Test(common, parse_duration_valid)
{
	for (size_t i = 0; i < ARRAY_SIZE(tc_dur_valid); i++) {
		int64_t us = -42;
		int rc = parse_duration(tc_dur_valid[i].s, &us);
		cr_expect_eq(rc, 0, "parse_duration(\"%s\") returned %d", tc_dur_valid[i].s, rc);
		cr_expect_eq(us, tc_dur_valid[i].us, "parse_duration(\"%s\") = %lld, want %lld",
		             tc_dur_valid[i].s, (long long)us, (long long)tc_dur_valid[i].us);
	}
}

static const char *const tc_dur_invalid[] = {
	"",    "5x",  "-1s", "s",   "1m-", "1.2.3s", "ms", " 5s", "5s ",
	"5 s", "1 m", "5s5", "1ss", "1Ms", "1e999",  ".",  "+5s", "1m 30s",
};

Test(common, parse_duration_invalid)
{
	for (size_t i = 0; i < ARRAY_SIZE(tc_dur_invalid); i++) {
		int64_t us = -42;
		int rc = parse_duration(tc_dur_invalid[i], &us);
		cr_expect_eq(rc, -EINVAL, "parse_duration(\"%s\") returned %d (value %lld)",
		             tc_dur_invalid[i], rc, (long long)us);
		cr_expect_eq(us, -42, "parse_duration(\"%s\") wrote the output on failure",
		             tc_dur_invalid[i]);
	}
}

Test(common, parse_duration_null_and_overflow)
{
	int64_t us = -42;
	cr_expect_eq(parse_duration(NULL, &us), -EINVAL);
	cr_expect_eq(parse_duration("1e300s", &us), -EINVAL);
	cr_expect_eq(parse_duration("9999999999999h", &us), -EINVAL);
	cr_expect_eq(us, -42);
}

Test(common, parse_duration_rejects_non_decimal_numbers)
{
	int64_t us = -42;
	/* k6 (Go's time.ParseDuration) accepts only plain decimal numbers. */
	cr_expect_eq(parse_duration("1e999s", &us), -EINVAL);
	cr_expect_eq(parse_duration("inf", &us), -EINVAL);
	cr_expect_eq(us, -42);
	cr_expect_eq(parse_duration("1e3ms", &us), -EINVAL);
	cr_expect_eq(parse_duration("0x10s", &us), -EINVAL);
	cr_expect_eq(parse_duration("+5s", &us), -EINVAL);
}

struct tc_fmt {
	int64_t us;
	const char *s;
};

static const struct tc_fmt tc_fmt_cases[] = {
	{ 0, "0µs" },          { 250, "250µs" },           { 999, "999µs" },
	{ 1000, "1ms" },       { 1500, "1.5ms" },          { 250000, "250ms" },
	{ 123456, "123.5ms" }, { 1000000, "1s" },          { 1500000, "1.5s" },
	{ 10000000, "10s" },   { 60000000, "1m0s" },       { 90000000, "1m30s" },
	{ 90500000, "1m30s" }, { 3600000000LL, "1h0m0s" }, { 7384000000LL, "2h3m4s" },
};

Test(common, format_duration)
{
	char buf[64];
	for (size_t i = 0; i < ARRAY_SIZE(tc_fmt_cases); i++) {
		char *r = format_duration(tc_fmt_cases[i].us, buf, sizeof(buf));
		cr_expect_eq(r, buf);
		cr_expect_str_eq(buf, tc_fmt_cases[i].s,
		                 "format_duration(%lld) = \"%s\", want \"%s\"",
		                 (long long)tc_fmt_cases[i].us, buf, tc_fmt_cases[i].s);
	}
}

Test(common, format_duration_round_trips_through_parse)
{
	static const int64_t values[] = { 250, 1000, 250000, 1500000, 90000000, 7384000000LL };
	char buf[64];
	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		int64_t back = -1;
		format_duration(values[i], buf, sizeof(buf));
		cr_expect_eq(parse_duration(buf, &back), 0, "cannot parse \"%s\"", buf);
		cr_expect_eq(back, values[i], "\"%s\" parsed as %lld, want %lld", buf,
		             (long long)back, (long long)values[i]);
	}
}

Test(common, format_duration_truncates_to_buffer)
{
	char buf[4];
	format_duration(7384000000LL, buf, sizeof(buf));
	cr_expect_str_eq(buf, "2h3");
}

struct tc_bytes {
	double b;
	const char *s;
};

static const struct tc_bytes tc_bytes_cases[] = {
	{ 0, "0 B" },       { 1, "1 B" },         { 999, "999 B" },
	{ 1000, "1.0 kB" }, { 1234, "1.2 kB" },   { 1234567, "1.2 MB" },
	{ 5e9, "5.0 GB" },  { 2.5e12, "2.5 TB" }, { 3e15, "3000.0 TB" },
};

Test(common, format_bytes)
{
	char buf[64];
	for (size_t i = 0; i < ARRAY_SIZE(tc_bytes_cases); i++) {
		char *r = format_bytes(tc_bytes_cases[i].b, buf, sizeof(buf));
		cr_expect_eq(r, buf);
		cr_expect_str_eq(buf, tc_bytes_cases[i].s, "format_bytes(%g) = \"%s\", want \"%s\"",
		                 tc_bytes_cases[i].b, buf, tc_bytes_cases[i].s);
	}
}

Test(common, parse_int64_bounds)
{
	int64_t v = -42;
	cr_expect_eq(parse_int64("0", 0, 10, &v), 0);
	cr_expect_eq(v, 0);
	cr_expect_eq(parse_int64("10", 0, 10, &v), 0);
	cr_expect_eq(v, 10);
	cr_expect_eq(parse_int64("-5", -5, 5, &v), 0);
	cr_expect_eq(v, -5);
	cr_expect_eq(parse_int64("9223372036854775807", 0, INT64_MAX, &v), 0);
	cr_expect_eq(v, INT64_MAX);
	cr_expect_eq(parse_int64("-9223372036854775808", INT64_MIN, 0, &v), 0);
	cr_expect_eq(v, INT64_MIN);

	v = -42;
	cr_expect_eq(parse_int64("11", 0, 10, &v), -ERANGE);
	cr_expect_eq(parse_int64("-1", 0, 10, &v), -ERANGE);
	cr_expect_eq(parse_int64("9223372036854775808", 0, INT64_MAX, &v), -ERANGE);
	cr_expect_eq(parse_int64("-9223372036854775809", INT64_MIN, 0, &v), -ERANGE);
	cr_expect_eq(parse_int64("99999999999999999999999", 0, 10, &v), -ERANGE);
	cr_expect_eq(v, -42, "output written on range failure");
}

Test(common, parse_int64_syntax)
{
	static const char *const bad[] = { "", "abc", "5x", "5 ", "1.5", "0x", "--1", "1e3" };
	int64_t v = -42;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		cr_expect_eq(parse_int64(bad[i], 0, 1000, &v), -EINVAL, "parse_int64(\"%s\")",
		             bad[i]);
	cr_expect_eq(parse_int64(NULL, 0, 1000, &v), -EINVAL);
	cr_expect_eq(v, -42);
	cr_expect_eq(parse_int64("007", 0, 1000, &v), 0, "leading zeros are decimal");
	cr_expect_eq(v, 7);
}

Test(common, parse_double)
{
	static const struct {
		const char *s;
		double v;
	} good[] = {
		{ "0", 0 }, { "1.5", 1.5 }, { "-2", -2 }, { "1e3", 1000 }, { ".25", 0.25 },
	};
	static const char *const bad[] = { "", "x", "1.5x", "1.5 ", "inf", "-inf", "nan", "1e400" };
	double d;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		d = -42;
		cr_expect_eq(parse_double(good[i].s, &d), 0, "parse_double(\"%s\")", good[i].s);
		cr_expect_float_eq(d, good[i].v, 1e-12, "parse_double(\"%s\") = %g", good[i].s, d);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		d = -42;
		cr_expect_eq(parse_double(bad[i], &d), -EINVAL, "parse_double(\"%s\")", bad[i]);
		cr_expect_float_eq(d, -42, 0, "output written for \"%s\"", bad[i]);
	}
	cr_expect_eq(parse_double(NULL, &d), -EINVAL);
}

Test(common, format_units_round_up_at_boundaries)
{
	char buf[32];
	cr_expect_str_eq(format_duration(999999, buf, sizeof(buf)), "1s");
	cr_expect_str_eq(format_duration(59999999, buf, sizeof(buf)), "1m0s");
	cr_expect_str_eq(format_duration(1500, buf, sizeof(buf)), "1.5ms");
	cr_expect_str_eq(format_bytes(999999, buf, sizeof(buf)), "1.0 MB");
	cr_expect_str_eq(format_bytes(999, buf, sizeof(buf)), "999 B");
}
