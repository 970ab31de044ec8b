/* test_docs.c: docs/cli.md lists every error kind (name and code) and every exit code. */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/errkind.h"
#include "util/common.h"

/* A repository file: from the root (where `make` runs the tests), or found from this
 * source file's path. New string. */
static char *repo_file(const char *rel)
{
	char path[4096], *buf = NULL;
	size_t len;
	if (read_file_max(rel, 1 << 24, &buf, &len) == 0)
		return buf;
	const char *here = __FILE__; /* .../tests/unit/test_docs.c */
	const char *cut = strstr(here, "tests/unit/");
	snprintf(path, sizeof(path), "%.*s%s", cut ? (int)(cut - here) : 0, here, rel);
	cr_assert_eq(read_file_max(path, 1 << 24, &buf, &len), 0, "cannot read %s", rel);
	return buf;
}

Test(docs, cli_md_lists_every_error_kind)
{
	char *doc = repo_file("docs/cli.md");
	char row[128];
	for (int k = 0; k < ERR__COUNT; k++) {
		if (k == ERR_NONE || k == (int)err_from_parse(HPE_OK))
			continue; /* not failures: never reported */
		snprintf(row, sizeof(row), "| `%s` | %d |", err_kind_name(k), err_kind_code(k));
		cr_expect(strstr(doc, row),
		          "docs/cli.md's error kinds table lacks the row '%s ...'", row);
	}
	free(doc);
}

Test(docs, cli_md_lists_every_exit_code)
{
	char *doc = repo_file("docs/cli.md");
	char *hdr = repo_file("src/engine/run.h");
	char row[32];
	regex_t re;
	regmatch_t m[2];
	int n = 0;
	cr_assert_eq(regcomp(&re, "EXIT_[A-Z_]+ = ([0-9]+),", REG_EXTENDED), 0);
	for (const char *p = hdr; regexec(&re, p, 2, m, 0) == 0; p += m[0].rm_eo, n++) {
		int code = atoi(p + m[1].rm_so);
		snprintf(row, sizeof(row), "\n| %d |", code);
		cr_expect(strstr(doc, row), "docs/cli.md's exit codes table lacks %d", code);
	}
	cr_expect_geq(n, 6, "found only %d EXIT_ codes in src/engine/run.h", n);
	regfree(&re);
	free(hdr);
	free(doc);
}
