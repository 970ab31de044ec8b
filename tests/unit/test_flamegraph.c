/* test_flamegraph.c: the SVG flame graph (layout, widths, escaping, colours, diff mode) and
 * the top-functions table. Well-formedness in a browser and xmllint: tests/e2e/test_profile.py. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/flamegraph.h"
#include "profile/fold.h"
#include "util/buf.h"
#include "util/common.h"

static struct folded *parse(const char *text)
{
	char err[128];
	struct folded *f = folded_new();
	cr_assert_eq(folded_parse(f, text, strlen(text), err, sizeof(err)), 0, "%s", err);
	return f;
}

struct frame {
	char name[128];
	int depth;
	double x, w;
	unsigned long long n;
	char fill[48];
};

/* The drawn frames of an SVG, in document order. Returns how many (at most max). */
static int frames_of(const char *svg, struct frame *out, int max)
{
	int k = 0;
	for (const char *p = strstr(svg, "<g class=\"f\""); p && k < max;
	     p = strstr(p + 1, "<g class=\"f\"")) {
		struct frame *f = &out[k++];
		unsigned long long x;
		cr_assert_eq(sscanf(p,
		                    "<g class=\"f\" data-x=\"%llu\" data-n=\"%llu\" data-d=\"%d\"",
		                    &x, &f->n, &f->depth),
		             3);
		const char *nm = strstr(p, "data-name=\"") + 11;
		snprintf(f->name, sizeof(f->name), "%.*s", (int)(strchr(nm, '"') - nm), nm);
		const char *r = strstr(p, "<rect ");
		cr_assert(sscanf(r, "<rect x=\"%lf\" y=\"%*f\" width=\"%lf\"", &f->x, &f->w) == 2);
		const char *fill = strstr(r, "fill=\"") + 6;
		snprintf(f->fill, sizeof(f->fill), "%.*s", (int)(strchr(fill, '"') - fill), fill);
	}
	return k;
}

static const struct frame *find(const struct frame *fr, int n, const char *name, int depth)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(fr[i].name, name) && fr[i].depth == depth)
			return &fr[i];
	cr_assert_fail("no frame %s at depth %d", name, depth);
	return NULL;
}

Test(flamegraph, layout_and_widths)
{
	struct folded *f = parse("main;work;hash 60\nmain;work 10\nmain;io 20\nother 10\n");
	struct buf b = { 0 };
	cr_assert_eq(flame_render(f, &(struct flame_opts){ .width = 1000 }, &b), 0);
	cr_assert(!strncmp(b.p, "<?xml version=\"1.0\"", 19));
	cr_assert(strstr(b.p, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	cr_assert(!strcmp(b.p + b.len - 7, "</svg>\n"));
	struct frame fr[16];
	int n = frames_of(b.p, fr, 16);
	cr_assert_eq(n, 6); /* all, main, work, io, hash, other */
	const struct frame *all = find(fr, n, "all", 0);
	cr_assert_eq(all->n, 100);
	cr_assert_float_eq(all->w, 980.0, 0.01);
	/* every level's widths sum to its parent's: depth 1 to the root */
	double sum1 = find(fr, n, "main", 1)->w + find(fr, n, "other", 1)->w;
	cr_assert_float_eq(sum1, all->w, 0.02);
	cr_assert_float_eq(find(fr, n, "main", 1)->w, 882.0, 0.01);
	cr_assert_float_eq(find(fr, n, "hash", 3)->w, 588.0, 0.01);
	/* siblings in name order, left to right; children start at their parent's edge */
	cr_assert_lt(find(fr, n, "io", 2)->x, find(fr, n, "work", 2)->x);
	cr_assert_float_eq(find(fr, n, "io", 2)->x, find(fr, n, "main", 1)->x, 0.01);
	cr_assert_float_eq(find(fr, n, "hash", 3)->x, find(fr, n, "work", 2)->x, 0.01);
	/* tooltips */
	cr_assert(strstr(b.p, "<title>hash (60 samples, 60.00%)</title>"));
	cr_assert(strstr(b.p, "<title>all (100 samples, 100.00%)</title>"));
	/* self-contained: the viewer and the style are inline, nothing is fetched */
	cr_assert(strstr(b.p, "<script type=\"text/ecmascript\"><![CDATA["));
	cr_assert(strstr(b.p, "<style type=\"text/css\"><![CDATA["));
	cr_assert_null(strstr(b.p, "href"));
	cr_assert_null(strstr(b.p, "url("));
	buf_free(&b);
	folded_free(f);
}

Test(flamegraph, names_are_escaped)
{
	struct folded *f = parse("main;<script>alert(\"x&y\")</script>;'q' 5\n");
	struct buf b = { 0 };
	cr_assert_eq(flame_render(f, &(struct flame_opts){ .title = "a<b & \"c\"" }, &b), 0);
	cr_assert_null(strstr(b.p, "<script>alert"));
	cr_assert_null(strstr(b.p, "a<b"));
	cr_assert(strstr(b.p, "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;"));
	cr_assert(strstr(b.p, "data-name=\"&apos;q&apos;\""));
	cr_assert(strstr(b.p, ">a&lt;b &amp; &quot;c&quot;</text>"));
	/* exactly one script element: ours */
	const char *s = strstr(b.p, "<script");
	cr_assert(s && !strstr(s + 1, "<script"));
	buf_free(&b);
	folded_free(f);
}

Test(flamegraph, labels_fit_their_frames)
{
	struct folded *f = parse("a_very_long_function_name_that_cannot_fit_in_a_narrow_frame 1\n"
	                         "wide 99\n");
	struct buf b = { 0 };
	flame_render(f, NULL, &b);
	/* 1% of 1180 px = 11.8 px: fewer than 3 characters fit, no label */
	cr_assert(strstr(b.p, "data-name=\"a_very_long_function_name_that_cannot_fit_in_a_narrow_"
	                      "frame\">"));
	cr_assert_null(
	    strstr(b.p, ">a_very_long_function_name_that_cannot_fit_in_a_narrow_frame<"));
	cr_assert(strstr(b.p, ">wide</text>"));
	buf_free(&b);
	folded_free(f);

	f = parse("a_very_long_function_name_that_cannot_fit_in_a_narrow_frame 10\nwide 90\n");
	flame_render(f, NULL, &b);
	/* 118 px: 16 characters, the last two ".." */
	cr_assert(strstr(b.p, ">a_very_long_fu..</text>"), "%s", strstr(b.p, "a_very_long_fu"));
	buf_free(&b);
	folded_free(f);
}

Test(flamegraph, colours_are_deterministic_and_kernel_distinct)
{
	struct folded *f = parse("app;burn 5\napp;do_syscall_64_[k] 5\n");
	struct buf b = { 0 }, c = { 0 };
	flame_render(f, NULL, &b);
	flame_render(f, NULL, &c);
	cr_assert_eq(b.len, c.len);
	cr_assert(!memcmp(b.p, c.p, b.len));
	struct frame fr[8];
	int n = frames_of(b.p, fr, 8);
	unsigned r, g, bl;
	cr_assert_eq(sscanf(find(fr, n, "burn", 2)->fill, "rgb(%u,%u,%u)", &r, &g, &bl), 3);
	cr_assert(r >= 205 && bl <= 55, "warm: %s", find(fr, n, "burn", 2)->fill);
	cr_assert_eq(
	    sscanf(find(fr, n, "do_syscall_64_[k]", 2)->fill, "rgb(%u,%u,%u)", &r, &g, &bl), 3);
	cr_assert(r < 120 && g > 150 && bl > 150, "kernel: %s",
	          find(fr, n, "do_syscall_64_[k]", 2)->fill);
	buf_free(&b), buf_free(&c);
	folded_free(f);
}

Test(flamegraph, diff_red_grew_blue_shrank)
{
	/* before: b and c half each; after: b 75%, c 25%, d new; e gone */
	struct folded *before = parse("a;b 10\na;c 8\na;e 2\n");
	struct folded *after = parse("a;d 0\nx 0\n"); /* only zero counts */
	struct folded *after2 = parse("a;b 60\na;c 20\n");
	struct buf b = { 0 };
	cr_assert_eq(flame_render_diff(before, after2, NULL, &b), 0);
	struct frame fr[16];
	int n = frames_of(b.p, fr, 16);
	cr_assert_eq(n, 4); /* all, a, b, c: e has no width after */
	cr_assert_eq(find(fr, n, "all", 0)->n, 80);
	cr_assert(!strncmp(find(fr, n, "b", 2)->fill, "rgb(255,", 8), "%s",
	          find(fr, n, "b", 2)->fill);
	const char *cf = find(fr, n, "c", 2)->fill;
	cr_assert(strlen(cf) > 5 && !strcmp(cf + strlen(cf) - 5, ",255)"), "%s", cf);
	cr_assert_str_eq(find(fr, n, "all", 0)->fill, "rgb(250,250,250)");
	/* b: 50% -> 75% is the largest change: the strongest red */
	cr_assert_str_eq(find(fr, n, "b", 2)->fill, "rgb(255,50,50)");
	cr_assert(strstr(b.p, "<title>b (60 samples, 75.00% after; 50.00% before; +25.00 pp)"));
	cr_assert_float_eq(find(fr, n, "b", 2)->w + find(fr, n, "c", 2)->w,
	                   find(fr, n, "all", 0)->w, 0.02);
	buf_free(&b);
	cr_assert_eq(flame_render_diff(before, after, NULL, &b), -ENODATA); /* after is empty */
	folded_free(before), folded_free(after), folded_free(after2);
}

Test(flamegraph, empty_is_nodata)
{
	struct folded *f = folded_new();
	struct buf b = { 0 };
	cr_assert_eq(flame_render(f, NULL, &b), -ENODATA);
	cr_assert_eq(b.len, 0);
	folded_free(f);
}

Test(flamegraph, top_functions_self_and_total)
{
	/* recursion: a and b twice in one stack, counted once in total */
	struct folded *f = parse("comm;a;b;a;b 2\ncomm;a;c 3\ncomm;d 5\n");
	struct flame_top top[8];
	int n = flame_top_functions(f, 1, top, 8);
	cr_assert_eq(n, 4); /* a b c d: the comm root skipped */
	cr_assert_str_eq(top[0].name, "d");
	cr_assert_eq(top[0].self, 5);
	cr_assert_str_eq(top[1].name, "c");
	cr_assert_eq(top[1].self, 3);
	cr_assert_str_eq(top[2].name, "b");
	cr_assert_eq(top[2].self, 2);
	cr_assert_eq(top[2].total, 2);
	cr_assert_str_eq(top[3].name, "a");
	cr_assert_eq(top[3].self, 0);
	cr_assert_eq(top[3].total, 5);
	cr_assert_eq(flame_top_functions(f, 1, top, 2), 2);
	n = flame_top_functions(f, 0, top, 8);
	cr_assert_eq(n, 5);
	cr_assert_str_eq(top[3].name, "comm"); /* self 0, total 10: before a (total 5) */
	cr_assert_eq(top[3].total, 10);
	folded_free(f);
}

/* Tiny frames are not drawn, but their samples still count in their parents. */
Test(flamegraph, narrow_frames_skipped)
{
	struct buf in = { 0 };
	buf_addstr(&in, "main;big 1000000\n");
	for (int i = 0; i < 50; i++) {
		char line[64];
		snprintf(line, sizeof(line), "main;tiny%02d 1\n", i);
		buf_addstr(&in, line);
	}
	struct folded *f = parse(in.p);
	struct buf b = { 0 };
	flame_render(f, NULL, &b);
	cr_assert_null(strstr(b.p, "tiny00"));
	cr_assert(strstr(b.p, "<title>main (1000050 samples, 100.00%)</title>"));
	buf_free(&b), buf_free(&in);
	folded_free(f);
}
