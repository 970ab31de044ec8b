/* escape.h: text written into other formats (JSON strings, XML, Markdown tables), with
 * bytes that are not UTF-8 replaced, for outputs whose names come from scripts and
 * servers. */
#ifndef STAMPEDE_ESCAPE_H
#define STAMPEDE_ESCAPE_H

#include <stddef.h>

#include "util/buf.h"

/* The length of the well-formed UTF-8 sequence at s (1 for ASCII, 2..4), or 0 when s does
 * not start one (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF,
 * a sequence cut short). s[0] must not be NUL. */
int utf8_seq_len(const unsigned char *s);

/* s with every byte that does not start a well-formed UTF-8 sequence replaced by U+FFFD:
 * a new string (xmalloc), or NULL when s is valid UTF-8 already (or NULL). */
char *utf8_fix(const char *s);

/* Append s as a JSON string with its quotes: '"', '\\' and control characters escaped,
 * bytes that are not UTF-8 as \ufffd (as Go's encoding/json does). NULL is "". */
void escape_json(struct buf *b, const char *s);

/* Append s as XML 1.0 character data or an attribute value: & < > " ' as entities;
 * characters XML 1.0 does not allow (controls other than tab, LF, CR) and bytes that are
 * not UTF-8 as U+FFFD. NULL is "". */
void escape_xml(struct buf *b, const char *s);

/* Append s as the text of a GitHub-flavoured Markdown table cell: \ ` * _ [ ] ~ backslash-
 * escaped (so a name cannot open a link, emphasis or code span), '|' as "\|",
 * < > & as entities (no raw HTML), line breaks and other controls as spaces, bytes that are
 * not UTF-8 as U+FFFD. NULL is "". */
void escape_markdown(struct buf *b, const char *s);

#endif
