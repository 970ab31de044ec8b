/* test_common.c: unit tests for duration, size, byte and number parsing and formatting,
 * and capped file reads (util/common.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/common.h"

/* A parser of a string into an int64_t (parse_duration, parse_size): 0 or -errno. */
typedef int (*parse_i64_fn)(const char *s, int64_t *out);

/* A string and the value its parser gives for it. */
struct tc_i64 {
	const char *s;
	int64_t want;
};

/* Expects parse to accept each of the n cases with its value. */
static void expect_parsed(const char *name, parse_i64_fn parse, const struct tc_i64 *tc, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int64_t v = -42;
		int rc = parse(tc[i].s, &v);
		cr_expect_eq(rc, 0, "%s(\"%s\") returned %d", name, tc[i].s, rc);
		cr_expect_eq(v, tc[i].want, "%s(\"%s\") = %lld, want %lld", name, tc[i].s,
		             (long long)v, (long long)tc[i].want);
	}
}

/* Expects parse to reject each of the n strings with -EINVAL, leaving the output alone. */
static void expect_rejected(const char *name, parse_i64_fn parse, const char *const *bad, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int64_t v = -42;
		int rc = parse(bad[i], &v);
		cr_expect_eq(rc, -EINVAL, "%s(\"%s\") returned %d (value %lld), want -EINVAL", name,
		             bad[i], rc, (long long)v);
		cr_expect_eq(v, -42, "%s(\"%s\") wrote the output on failure", name, bad[i]);
	}
}

#define EXPECT_PARSED(parse, cases) expect_parsed(#parse, parse, cases, ARRAY_SIZE(cases))
#define EXPECT_REJECTED(parse, bad) expect_rejected(#parse, parse, bad, ARRAY_SIZE(bad))

static const struct tc_i64 tc_dur_valid[] = {
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
	EXPECT_PARSED(parse_duration, tc_dur_valid);
}

static const char *const tc_dur_invalid[] = {
	"",    "5x",  "-1s", "s",   "1m-", "1.2.3s", "ms", " 5s", "5s ",
	"5 s", "1 m", "5s5", "1ss", "1Ms", "1e999",  ".",  "+5s", "1m 30s",
};

Test(common, parse_duration_invalid)
{
	EXPECT_REJECTED(parse_duration, tc_dur_invalid);
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

static const struct tc_i64 tc_size_valid[] = {
	{ "0", 0 },
	{ "1", 1 },
	{ "1048576", 1048576 },
	{ "10B", 10 },
	{ "10b", 10 },
	{ "1kB", 1000 },
	{ "1KB", 1000 },
	{ "1.5kB", 1500 },
	{ "10MB", 10000000 },
	{ "2GB", 2000000000 },
	{ "1TB", 1000000000000LL },
	{ "1KiB", 1024 },
	{ "1kib", 1024 },
	{ "64MiB", 64LL << 20 },
	{ "1.5MiB", 3LL << 19 },
	{ "1GiB", 1LL << 30 },
	{ "2TiB", 2LL << 40 },
	{ ".5KiB", 512 },
	{ "0.4", 0 },
	{ "0.6", 1 },
	{ "8388607TiB", 8388607LL << 40 },
};

Test(common, parse_size_valid)
{
	EXPECT_PARSED(parse_size, tc_size_valid);
}

static const char *const tc_size_invalid[] = {
	"",    "-1",  "+1",    "-1MB",  " 1",    "1 ",   "1 MB", "MB",  "1M",
	"1K",  "1k",  "1mbit", "1e3",   "0x10",  "1..5", "1.5.", "abc", "10MiBs",
	"1iB", "inf", "nan",   "1,000", "1_000", "1MB1", ".",    "1/2",
};

Test(common, parse_size_invalid)
{
	EXPECT_REJECTED(parse_size, tc_size_invalid);
	cr_expect_eq(parse_size(NULL, &(int64_t){ 0 }), -EINVAL);
}

Test(common, parse_size_out_of_range)
{
	int64_t v = -42;
	cr_expect_eq(parse_size("8388608TiB", &v), -ERANGE);
	cr_expect_eq(parse_size("9223372036854775808", &v), -ERANGE);
	cr_expect_eq(parse_size("99999999999999999999999GB", &v), -ERANGE);
	cr_expect_eq(v, -42);
}

static char *write_tmp(const char *data, size_t len)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/test_read_file_max.XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

Test(common, read_file_max_reads_a_file_whole_with_a_nul)
{
	char *p = write_tmp("hello\0world", 11), *buf = NULL;
	size_t len = 0;
	cr_assert_eq(read_file_max(p, 11, &buf, &len), 0);
	cr_expect_eq(len, 11);
	cr_expect(memcmp(buf, "hello\0world", 12) == 0);
	free(buf);
	cr_assert_eq(read_file_max(p, 100, &buf, &len), 0);
	cr_expect_eq(len, 11);
	free(buf);
	buf = NULL;
	cr_expect_eq(read_file_max(p, 10, &buf, &len), -EFBIG, "one byte over the cap");
	cr_expect_null(buf);
	unlink(p);
	cr_expect_eq(read_file_max(p, 10, &buf, &len), -ENOENT);
	cr_expect_eq(read_file_max("/tmp", 10, &buf, &len), -EISDIR);
}

Test(common, read_file_max_empty_file)
{
	char *p = write_tmp("", 0), *buf = NULL;
	size_t len = 42;
	cr_assert_eq(read_file_max(p, 0, &buf, &len), 0);
	cr_expect_eq(len, 0);
	cr_expect_eq(buf[0], '\0');
	free(buf);
	unlink(p);
}

Test(common, read_file_max_endless_devices_stop_at_the_cap)
{
	char *buf = NULL;
	size_t len = 0;
	cr_expect_eq(read_file_max("/dev/zero", 1 << 20, &buf, &len), -EFBIG);
	cr_expect_null(buf);
	cr_expect_eq(read_file_max("/dev/null", 1 << 20, &buf, &len), 0);
	cr_expect_eq(len, 0);
	free(buf);
}

Test(common, read_file_max_fifo_up_to_the_cap)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/test_read_file_max.fifo.%d", (int)getpid());
	cr_assert_eq(mkfifo(path, 0600), 0);
	pid_t child = fork();
	if (child == 0) {
		int fd = open(path, O_WRONLY);
		char block[1000] = { 'x' };
		for (int i = 0; i < 100; i++)
			if (write(fd, block, sizeof(block)) < 0)
				_exit(1);
		_exit(0);
	}
	char *buf = NULL;
	size_t len = 0;
	cr_expect_eq(read_file_max(path, 100000, &buf, &len), 0);
	cr_expect_eq(len, 100000);
	free(buf);
	unlink(path);
}

Test(common, rates_and_percentages_for_people_keep_small_and_huge_values)
{
	char s[40];
	cr_assert_str_eq(format_rate(0.4, s, sizeof(s)), "0.4");
	cr_assert_str_eq(format_rate(12.54, s, sizeof(s)), "12.5");
	cr_assert_str_eq(format_rate(1273.2, s, sizeof(s)), "1273");
	cr_assert_str_eq(format_rate(0, s, sizeof(s)), "0");
	cr_assert_str_eq(format_rate(1e135, s, sizeof(s)), "1e+135");
	cr_assert_str_eq(format_rate(1.2345e9, s, sizeof(s)), "1.234e+09");
	cr_assert_str_eq(format_rate(NAN, s, sizeof(s)), "–");
	cr_assert_str_eq(format_percent(55.4, s, sizeof(s)), "55");
	cr_assert_str_eq(format_percent(0.42, s, sizeof(s)), "0.42");
	cr_assert_str_eq(format_percent(1e123, s, sizeof(s)), "1e+123");
}
