/* suggest.h: "did you mean" hints: the known name closest to a mistyped one. */
#ifndef STAMPEDE_SUGGEST_H
#define STAMPEDE_SUGGEST_H

#include <stddef.h>

/* The index in names[0..n) of the name closest to given[0..len), or -1 when none is close.
 * A name that given abbreviates (given is a prefix of it) wins, the shortest such first;
 * otherwise the name at the smallest edit distance (insertions, deletions, substitutions
 * and transpositions of adjacent letters, ignoring case), if that distance is small for
 * the length of given (1 up to 3 letters, 2 up to 7, 3 beyond). Ties go to the earlier
 * name. NULL entries are skipped. */
int suggest_closest(const char *given, size_t len, const char *const *names, int n);

#endif
