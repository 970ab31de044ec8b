/* test_svgchart.c: the inline SVG charts: lines, gaps, dashed lines, bands, reference
 * lines, the empty chart, and names escaped, sanitized and capped. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output/svgchart.h"
#include "util/buf.h"

static int count(const char *h, const char *needle)
{
	int n = 0;
	for (const char *p = h; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

Test(svgchart, draws_lines_gaps_bands_and_references)
{
	struct svgchart *c = svgchart_new("chart-x", "A <title>", "seconds", "ms");
	struct svgchart_line *a = svgchart_line(c, "a&b", 4);
	svgchart_add(a, 0.5, 1);
	svgchart_add(a, 1.5, NAN); /* a gap: two polylines */
	svgchart_add(a, 2.5, 3);
	svgchart_add(a, 3.5, 4);
	svgchart_add(a, 4.5, 5); /* past the room it was made with: ignored */
	struct svgchart_line *b = svgchart_line(c, "base", 2);
	svgchart_line_dashed(b, true);
	svgchart_line_color(b, "#9ca3af");
	svgchart_add(b, 0, 2);
	svgchart_add(b, 4, 2);
	svgchart_line_scale(b, 2);
	svgchart_extend_x(c, 4);
	svgchart_band(c, 1, 3, "span <1>", "#2563eb");
	svgchart_band(c, 3, 1, "backwards: ignored", "#2563eb");
	svgchart_ref(c, 4.5, "p(95)<4.5", "#059669");
	svgchart_ref(c, 1000, "far above", "#dc2626");
	struct buf out = { 0 };
	svgchart_render(c, &out);
	svgchart_free(c);
	const char *h = out.p;
	cr_expect(strncmp(h, "<figure class=\"chart\" id=\"chart-x\"><figcaption>A &lt;title&gt;",
	                  62) == 0,
	          "%s", h);
	cr_expect_eq(count(h, "<polyline"), 3, "%s", h);
	cr_expect_eq(count(h, "stroke-dasharray=\"6 4\" points="), 1, "%s", h);
	cr_expect_eq(count(h, "<circle"), 5, "%s", h);
	cr_expect_eq(count(h, "<rect class=\"band\""), 1, "%s", h);
	cr_expect_not_null(strstr(h, "<title>span &lt;1&gt;</title>"), "%s", h);
	cr_expect_eq(count(h, "<line class=\"ref\""), 1, "the far one is only tagged: %s", h);
	cr_expect_not_null(strstr(h, "<b>SLO 2</b>: far above (above the chart)"), "%s", h);
	cr_expect_not_null(strstr(h, "<i class=\"dash\" style=\"border-color:#9ca3af\"></i>base"));
	cr_expect_not_null(strstr(h, "</i>a&amp;b</span>"), "%s", h);
	cr_expect_null(strstr(h, "no data"));
	buf_free(&out);
}

Test(svgchart, an_empty_chart_says_no_data)
{
	struct svgchart *c = svgchart_new("e", "empty", "s", "ms");
	cr_expect_null(svgchart_ts(c, NULL, NULL, SVGCHART_V, 0, "none"));
	for (int i = 0; i < SVGCHART_MAX_LINES; i++)
		cr_expect_not_null(svgchart_line(c, "l", 1));
	cr_expect_null(svgchart_line(c, "one too many", 1));
	svgchart_add(NULL, 1, 1); /* accepted, nothing happens */
	struct buf out = { 0 };
	svgchart_render(c, &out);
	svgchart_free(c);
	svgchart_free(NULL);
	cr_expect_not_null(strstr(out.p, ">no data</text>"));
	buf_free(&out);
}

Test(svgchart, text_is_escaped_sanitized_and_capped)
{
	struct buf b = { 0 };
	svgchart_text(&b, "a<b>&\"c\" \x01 \xe2\x80\xae \xff", 100);
	cr_expect_str_eq(b.p, "a&lt;b&gt;&amp;&quot;c&quot; \xef\xbf\xbd \xef\xbf\xbd "
	                      "\xef\xbf\xbd");
	buf_free(&b);
	svgchart_text(&b, "éééé", 2);
	cr_expect_str_eq(b.p, "éé&#8230; (8 bytes in all)");
	buf_free(&b);
	svgchart_text(&b, NULL, 10);
	cr_expect(b.len == 0);
	buf_free(&b);
}
