/* test_fold.c: folding `perf script` output (recorded fixtures from this repo's demo and
 * hand-written edge cases) and reading folded files. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/fold.h"
#include "util/buf.h"
#include "util/common.h"

/* A repository file: from the root (where `make` runs the tests), or found from this
 * source file's path. New string. */
static char *repo_file(const char *rel, size_t *len)
{
	char path[4096], *buf = NULL;
	if (read_file_max(rel, 1 << 24, &buf, len) == 0)
		return buf;
	const char *here = __FILE__;
	const char *cut = strstr(here, "tests/unit/");
	snprintf(path, sizeof(path), "%.*s%s", cut ? (int)(cut - here) : 0, here, rel);
	cr_assert_eq(read_file_max(path, 1 << 24, &buf, len), 0, "cannot read %s", rel);
	return buf;
}

/* The count of the stack written "a;b;c" (0 when absent). */
static uint64_t count_of(struct folded *f, const char *want)
{
	struct buf b = { 0 };
	const char *fr[FOLD_MAX_DEPTH];
	for (size_t i = 0; i < folded_nstacks(f); i++) {
		int d = folded_stack_frames(f, i, fr, FOLD_MAX_DEPTH);
		b.len = 0;
		for (int k = 0; k < d; k++) {
			if (k)
				buf_add(&b, ";", 1);
			buf_addstr(&b, fr[k]);
		}
		if (b.p && !strcmp(b.p, want)) {
			buf_free(&b);
			return folded_stack_count(f, i);
		}
	}
	buf_free(&b);
	return 0;
}

/* Sum of the counts of stacks whose leaf is leaf. */
static uint64_t self_of(struct folded *f, const char *leaf)
{
	const char *fr[FOLD_MAX_DEPTH];
	uint64_t n = 0;
	for (size_t i = 0; i < folded_nstacks(f); i++) {
		int d = folded_stack_frames(f, i, fr, FOLD_MAX_DEPTH);
		if (d && !strcmp(fr[d - 1], leaf))
			n += folded_stack_count(f, i);
	}
	return n;
}

static uint64_t root_total(struct folded *f, const char *root)
{
	const char *fr[1];
	uint64_t n = 0;
	for (size_t i = 0; i < folded_nstacks(f); i++)
		if (folded_stack_frames(f, i, fr, 1) && !strcmp(fr[0], root))
			n += folded_stack_count(f, i);
	return n;
}

static struct folded *fold_text(const char *text, struct fold_opts o)
{
	struct folded *f = folded_new();
	fold_perf_script(f, &o, text, strlen(text));
	return f;
}

/* The numbers below were counted from the fixture independently (a Python one-off over
 * the blank-line-separated samples: 656 samples, 639 of demo-worker, 550 with burn_cpu as
 * the leaf, every period 1001001). */
Test(fold, recorded_demo_fixture)
{
	size_t len;
	char *text = repo_file("tests/fixtures/perf/demo-cpu.perf-script.txt", &len);
	struct fold_opts o = fold_opts_default();
	struct folded *f = folded_new();
	fold_perf_script(f, &o, text, len);
	struct fold_stats st = folded_stats(f);
	cr_assert_eq(st.samples, 656);
	cr_assert_eq(st.total, 656);
	cr_assert_eq(st.dropped + st.truncated + st.lines_cut + st.no_stack, 0);
	cr_assert_eq(root_total(f, "demo-worker"), 639);
	cr_assert_eq(root_total(f, "demo-frontend"), 17);
	cr_assert_eq(self_of(f, "burn_cpu"), 550);
	cr_assert_eq(count_of(f, "demo-worker;burn_cpu"), 550);
	/* kernel frames are marked; offsets cut; leaf-first input is root-first output */
	cr_assert_gt(count_of(f, "demo-worker;clock_gettime@@GLIBC_2.17;__vdso_clock_gettime"), 0);
	cr_assert_gt(self_of(f, "_raw_spin_unlock_irqrestore_[k]"), 0);
	folded_free(f);

	o.by_period = true;
	f = folded_new();
	fold_perf_script(f, &o, text, len);
	cr_assert_eq(folded_stats(f).total, 656ULL * 1001001);
	folded_free(f);
	free(text);
}

/* "comm pid/tid [cpu] time: period event:" headers (perf script -F
 * comm,pid,tid,cpu,time,period,event,ip,sym,dso) and no symbol offsets. */
Test(fold, recorded_fixture_with_pid_tid_cpu)
{
	size_t len;
	char *text = repo_file("tests/fixtures/perf/demo-cpu-pid-cpu.perf-script.txt", &len);
	struct folded *f = folded_new();
	struct fold_opts o = fold_opts_default();
	fold_perf_script(f, &o, text, len);
	cr_assert_eq(folded_stats(f).total, 259);
	cr_assert_eq(self_of(f, "burn_cpu"), 240);
	cr_assert_eq(root_total(f, "demo-worker") + root_total(f, "demo-frontend"), 259);
	folded_free(f);
	free(text);
}

/* Any split of the input gives the same stacks. */
Test(fold, feed_in_pieces)
{
	size_t len;
	char *text = repo_file("tests/fixtures/perf/demo-cpu.perf-script.txt", &len);
	struct folded *a = folded_new(), *b = folded_new();
	struct fold_opts o = fold_opts_default();
	fold_perf_script(a, &o, text, len);
	struct fold_perf *p = fold_perf_new(b, &o);
	for (size_t i = 0; i < len; i += 7)
		fold_perf_feed(p, text + i, MIN((size_t)7, len - i));
	fold_perf_finish(p);
	fold_perf_free(p);
	struct buf x = { 0 }, y = { 0 };
	folded_sort(a), folded_sort(b);
	folded_write(a, &x), folded_write(b, &y);
	cr_assert_eq(x.len, y.len);
	cr_assert(!memcmp(x.p, y.p, x.len));
	buf_free(&x), buf_free(&y);
	folded_free(a), folded_free(b);
	free(text);
}

Test(fold, header_variants_and_frames)
{
	const char *text =
	    /* comm with a space, pid/tid, [cpu], period */
	    "Web Content 10/11 [003] 1.000001: 250000 cycles:u: \n"
	    "\t    7f01 leaf_fn+0x10 (/usr/lib/libx.so)\n"
	    "\t    7f02 mid_fn+0x2a (/usr/lib/libx.so)\n"
	    "\t    7f03 main+0x5 (/usr/bin/app)\n"
	    "\n"
	    /* tid only, no cpu, no period; an unknown frame; a kernel frame */
	    "app 42 2.5: cpu-clock: \n"
	    "\tffffffff81000000 do_syscall_64+0x71 ([kernel.kallsyms])\n"
	    "\t    7f04 [unknown] ([unknown])\n"
	    "\t    7f03 main+0x5 (/usr/bin/app)\n"
	    "\n"
	    /* C++ name with spaces and a ';' (the folded separator), CRLF, last sample has no
	     * blank line after it */
	    "app 42 3.0: 1 cpu-clock:\r\n"
	    "\t 1 std::map<int, int>::find(int const&) const+0x1 (/usr/bin/app)\r\n"
	    "\t 2 odd;name+0x3 (/usr/bin/app)\r\n";
	struct folded *f = fold_text(text, fold_opts_default());
	cr_assert_eq(count_of(f, "Web Content;main;mid_fn;leaf_fn"), 1);
	cr_assert_eq(count_of(f, "app;main;[unknown];do_syscall_64_[k]"), 1);
	cr_assert_eq(count_of(f, "app;odd:name;std::map<int, int>::find(int const&) const"), 1);
	cr_assert_eq(folded_stats(f).total, 3);
	folded_free(f);

	struct fold_opts o = { .with_comm = false, .by_period = true, .mark_kernel = false };
	f = fold_text(text, o);
	cr_assert_eq(count_of(f, "main;mid_fn;leaf_fn"), 250000);
	cr_assert_eq(count_of(f, "main;[unknown];do_syscall_64"), 1); /* no period: 1 */
	cr_assert_eq(count_of(f, "odd:name;std::map<int, int>::find(int const&) const"), 1);
	folded_free(f);
}

Test(fold, same_stack_summed_and_no_stack_counted)
{
	const char *text = "a 1 1.0: \n\t1 f+0x1 (x)\n\t2 g+0x2 (x)\n\n"
	                   "a 1 1.1: \n\t1 f+0x9 (x)\n\t2 g+0x3 (x)\n\n"
	                   "a 1 1.2: \n\n"                              /* no frame */
	                   "\t9 stray+0x1 (x)\n\n"                      /* outside a sample */
	                   "b 2 1.3: 1 task-clock: 5 solo+0x4 (x)\n\n"; /* perf record without -g */
	struct folded *f = fold_text(text, fold_opts_default());
	cr_assert_eq(count_of(f, "a;g;f"), 2);
	cr_assert_eq(count_of(f, "b;solo"), 1);
	cr_assert_eq(folded_stats(f).no_stack, 1);
	cr_assert_eq(folded_stats(f).total, 3);
	folded_free(f);
}

Test(fold, depth_is_capped_root_side_kept)
{
	struct buf b = { 0 };
	char line[64];
	buf_addstr(&b, "deep 1 1.0: \n");
	for (int i = FOLD_MAX_DEPTH + 50; i > 0; i--) { /* leaf first: f300 ... f1 (root) */
		snprintf(line, sizeof(line), "\t%x f%d+0x1 (x)\n", i, i);
		buf_addstr(&b, line);
	}
	buf_addstr(&b, "\n");
	struct fold_opts o = fold_opts_default();
	struct folded *f = folded_new();
	fold_perf_script(f, &o, b.p, b.len);
	const char *fr[FOLD_MAX_DEPTH];
	cr_assert_eq(folded_nstacks(f), 1);
	int d = folded_stack_frames(f, 0, fr, FOLD_MAX_DEPTH);
	cr_assert_eq(d, FOLD_MAX_DEPTH);
	cr_assert_str_eq(fr[0], "deep");
	cr_assert_str_eq(fr[1], "f1");
	cr_assert_str_eq(fr[FOLD_MAX_DEPTH - 2], "f254");
	cr_assert_str_eq(fr[FOLD_MAX_DEPTH - 1], "[truncated]");
	cr_assert_eq(folded_stats(f).truncated, 1);
	folded_free(f);
	buf_free(&b);
}

Test(fold, distinct_stacks_are_capped)
{
	struct folded *f = folded_new();
	char name[32];
	const char *fr[2] = { "root", name };
	for (int i = 0; i < FOLD_MAX_STACKS + 10; i++) {
		snprintf(name, sizeof(name), "fn%d", i);
		int rc = folded_add(f, fr, 2, 3);
		cr_assert_eq(rc, i < FOLD_MAX_STACKS ? 0 : -ENOSPC);
	}
	snprintf(name, sizeof(name), "fn%d", 5); /* a known stack still counts */
	cr_assert_eq(folded_add(f, fr, 2, 1), 0);
	struct fold_stats st = folded_stats(f);
	cr_assert_eq(folded_nstacks(f), FOLD_MAX_STACKS);
	cr_assert_eq(st.dropped, 30);
	cr_assert_eq(st.total, (uint64_t)FOLD_MAX_STACKS * 3 + 1);
	folded_free(f);
}

Test(fold, long_lines_are_cut)
{
	struct buf b = { 0 };
	buf_addstr(&b, "c 1 1.0: \n\t1 ");
	for (size_t i = 0; i < FOLD_MAX_LINE + 100; i++)
		buf_add(&b, "x", 1);
	buf_addstr(&b, "+0x1 (d)\n\n");
	struct fold_opts o = fold_opts_default();
	struct folded *f = folded_new();
	fold_perf_script(f, &o, b.p, b.len);
	const char *fr[2];
	cr_assert_eq(folded_stats(f).lines_cut, 1);
	cr_assert_eq(folded_stack_frames(f, 0, fr, 2), 2);
	cr_assert_eq(strlen(fr[1]), FOLD_MAX_NAME);
	folded_free(f);
	buf_free(&b);
}

Test(fold, folded_round_trip)
{
	const char *text = "b;c 2\r\na;b 5\n\na;b 1\nz 0\nmain;x y z 7\n";
	char err[128];
	struct folded *f = folded_new();
	cr_assert_eq(folded_parse(f, text, strlen(text), err, sizeof(err)), 0, "%s", err);
	folded_sort(f);
	struct buf b = { 0 };
	folded_write(f, &b);
	cr_assert_str_eq(b.p, "a;b 6\nb;c 2\nmain;x y z 7\n");
	cr_assert_eq(folded_stats(f).total, 15);
	buf_free(&b);
	folded_free(f);
}

Test(fold, folded_errors_name_the_line)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "a;b 1\nno_count\n", "line 2: expected 'frame;frame;... COUNT': no count" },
		{ "a;b 1\n\na;b x1\n", "line 3: the count is not a whole number" },
		{ "a;b -1\n", "line 1: the count is not a whole number" },
		{ "a;;b 1\n", "line 1: empty frame name" },
		{ ";a 1\n", "line 1: empty frame name" },
		{ "a; 1\n", "line 1: empty frame name" },
		{ "a 99999999999999999999999\n", "line 1: the count is not a whole number" },
		{ "a 1\nb 2 \n", "line 2: expected" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[128] = "";
		struct folded *f = folded_new();
		int rc = folded_parse(f, cases[i].text, strlen(cases[i].text), err, sizeof(err));
		cr_expect_eq(rc, -EINVAL, "case %zu", i);
		cr_expect(!strncmp(err, cases[i].want, strlen(cases[i].want)), "case %zu: '%s'", i,
		          err);
		folded_free(f);
	}
	char err[64];
	struct folded *f = folded_new();
	cr_assert_eq(folded_parse(f, "a 1\0b 2\n", 8, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "line 1: a NUL byte (not a text file?)");
	folded_free(f);
}
