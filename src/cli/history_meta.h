/* history_meta.h: what `history add` and `run --history` know about a run beyond its
 * result: the test hash, the script or URL, git's commit and branch (docs/history.md). */
#ifndef STAMPEDE_HISTORY_META_H
#define STAMPEDE_HISTORY_META_H

#include <stdbool.h>
#include <stddef.h>

#include "history/history.h"
#include "result/result.h"

/*
 * The test hash of a result into out (HISTORY_HASH_LEN hex digits and a NUL): the first
 * 16 hex digits of the SHA-256 of the canonical description of the test: the result's
 * options without the keys that do not change what is sent (outputs, thresholds, SLOs,
 * monitoring, profiling, run tags, threads, the I/O backend...: docs/history.md), as
 * compact JSON with sorted keys, "script" reduced to the file's base name; then, for a
 * script run, a newline and the script file's content. When the script cannot be read
 * (moved, deleted) the options alone are hashed and warn (when not NULL) gets "the script
 * 'PATH' cannot be read (REASON): its test hash covers the options only". Returns 0 or
 * -ENOMEM (hashing failed).
 */
int history_meta_test_hash(const struct result *r, char out[HISTORY_HASH_LEN + 1], char *warn,
                           size_t warnlen);

/* The first line git prints for argv (argv[0] = "git", ...), run in the current
 * directory without a shell, its stderr discarded: a new string, or NULL when git is
 * missing, fails (not a repository) or prints nothing. */
char *history_meta_git(const char *const argv[]);

/*
 * Fill m for r: test hash, source (options.script or options.url), git commit and branch
 * of the current directory (NULL outside a repository; the branch NULL on a detached
 * HEAD), tag (copied; may be NULL). The strings are new: release them with
 * history_meta_release(). warn as for history_meta_test_hash ("" when nothing to say).
 * Returns 0 or a negative errno.
 */
int history_meta_collect(const struct result *r, const char *tag, struct history_meta *m,
                         char *warn, size_t warnlen);

/* The longest --tag / --history-tag, bytes. */
#define HISTORY_TAG_MAX 200

/* Whether tag is a label to keep: 1 to HISTORY_TAG_MAX bytes, no control character (it is
 * printed in tables and pages). */
bool history_tag_ok(const char *tag);

/* Free the strings history_meta_collect() made; m is zeroed. Accepts a zeroed m. */
void history_meta_release(struct history_meta *m);

#endif
