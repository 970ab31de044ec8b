/* promtext_check.c: `promtext_check FILE...` prints "ok" or the strict parse error of each
 * Prometheus text exposition file (util/promtext.h); exit 1 when any is refused.
 * tests/e2e/test_promtext_promtool.py compares it with promtool. */
#include <stdio.h>
#include <stdlib.h>

#include "util/common.h"
#include "util/promtext.h"

int main(int argc, char **argv)
{
	struct promtext p;
	int bad = 0;

	promtext_init(&p);
	for (int i = 1; i < argc; i++) {
		char *body;
		size_t len;
		int rc = read_file_max(argv[i], PROMTEXT_MAX_BODY, &body, &len);
		if (rc) {
			printf("%s: cannot read: %s\n", argv[i], read_file_strerror(rc));
			return 2;
		}
		rc = promtext_parse(&p, body, len, PROMTEXT_STRICT);
		if (rc)
			printf("%s: error: %s\n", argv[i], p.err);
		else
			printf("%s: ok: %d families, %llu samples\n", argv[i], p.nfamilies,
			       (unsigned long long)p.samples_total);
		bad |= rc != 0;
		free(body);
	}
	promtext_free(&p);
	return bad;
}
