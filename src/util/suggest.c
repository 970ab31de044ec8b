/* suggest.c: "did you mean" hints by prefix and edit distance. */
#include "util/suggest.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/common.h"

/* Names longer than this are never suggested (no option or key comes close). */
#define SUGGEST_NAME_MAX 64

/* The optimal-string-alignment distance between a[0..la) and b[0..lb), ignoring case;
 * both at most SUGGEST_NAME_MAX long. */
static int edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	int d[SUGGEST_NAME_MAX + 1][SUGGEST_NAME_MAX + 1];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]);
			int cb = tolower((unsigned char)b[j - 1]);
			int v = MIN(d[i - 1][j] + 1, d[i][j - 1] + 1);
			v = MIN(v, d[i - 1][j - 1] + (ca != cb));
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    cb == tolower((unsigned char)a[i - 2]))
				v = MIN(v, d[i - 2][j - 2] + 1);
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

int suggest_closest(const char *given, size_t len, const char *const *names, int n)
{
	int best = -1, best_d = len <= 3 ? 1 : len <= 7 ? 2 : 3;
	size_t best_prefix = 0;

	if (len == 0 || len > SUGGEST_NAME_MAX)
		return -1;
	for (int i = 0; i < n; i++) { /* abbreviations first: the shortest name they start */
		size_t ln = names[i] ? strlen(names[i]) : 0;
		if (ln > len && strncasecmp(names[i], given, len) == 0 &&
		    (!best_prefix || ln < best_prefix)) {
			best = i;
			best_prefix = ln;
		}
	}
	if (best >= 0)
		return best;
	for (int i = 0; i < n; i++) {
		size_t ln = names[i] ? strlen(names[i]) : 0;
		if (ln == 0 || ln > SUGGEST_NAME_MAX)
			continue;
		int d = edit_distance(given, len, names[i], ln);
		if (d <= best_d && d < (int)len && (best < 0 || d < best_d)) {
			best = i;
			best_d = d;
		}
	}
	return best;
}
