/* test_suggest.c: unit tests for "did you mean" (util/suggest.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "util/common.h"
#include "util/suggest.h"

static const char *const names[] = {
	"vus", "duration", "threads", "threshold", "discardResponseBodies", NULL, "tags"
};

static int closest(const char *given)
{
	return suggest_closest(given, strlen(given), names, (int)ARRAY_SIZE(names));
}

Test(suggest, an_abbreviation_gets_the_shortest_name_it_starts)
{
	cr_assert_eq(closest("vu"), 0);
	cr_assert_eq(closest("thr"), 2, "threads is shorter than threshold");
	cr_assert_eq(closest("thresh"), 3);
	cr_assert_eq(closest("DUR"), 1, "case is ignored");
}

Test(suggest, small_edit_distances_are_suggested)
{
	cr_assert_eq(closest("duraton"), 1);   /* a deletion */
	cr_assert_eq(closest("durration"), 1); /* an insertion */
	cr_assert_eq(closest("vsu"), 0);       /* a transposition */
	cr_assert_eq(closest("tag"), 6);       /* NULL entries are skipped, prefix */
	cr_assert_eq(closest("tahs"), 6);
	cr_assert_eq(closest("discardresponsebodys"), 4);
}

Test(suggest, far_names_are_not_suggested)
{
	cr_assert_eq(closest("bogus-flag"), -1);
	cr_assert_eq(closest("x"), -1);
	cr_assert_eq(closest("abc"), -1);
	cr_assert_eq(closest(""), -1);
	char longname[200];
	memset(longname, 'v', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cr_assert_eq(closest(longname), -1);
	cr_assert_eq(suggest_closest("vus", 3, names, 0), -1);
}
