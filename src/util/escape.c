/* escape.c: JSON, XML and Markdown escaping of UTF-8 text. */
#include "util/escape.h"

#include <stdbool.h>
#include <string.h>

#include "util/common.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

int utf8_seq_len(const unsigned char *s)
{
	unsigned c = s[0];
	int n = c < 0x80                 ? 1
	        : c >= 0xc2 && c <= 0xdf ? 2
	        : c >= 0xe0 && c <= 0xef ? 3
	        : c >= 0xf0 && c <= 0xf4 ? 4
	                                 : 0;
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* overlong 3- and 4-byte forms, UTF-16 surrogates, past U+10FFFF */
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

char *utf8_fix(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t bad = 0, len = 0;
	for (; p && *p; len++) {
		int n = utf8_seq_len(p);
		bad += n == 0;
		p += n ? n : 1;
		len += n ? (size_t)n - 1 : 0;
	}
	if (!bad)
		return NULL;
	char *out = xmalloc(len + 2 * bad + 1), *o = out; /* U+FFFD is 3 bytes for 1 */
	for (p = (const unsigned char *)s; *p;) {
		int n = utf8_seq_len(p);
		if (n == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
		} else {
			memcpy(o, p, (size_t)n);
			o += n;
			p += n;
		}
	}
	*o = 0;
	return out;
}

void escape_json(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	buf_add(b, "\"", 1);
	while (*p) {
		int n = utf8_seq_len(p);
		if (n == 0) {
			buf_addstr(b, "\\ufffd");
			p++;
		} else if (*p == '"' || *p == '\\') {
			char e[2] = { '\\', (char)*p++ };
			buf_add(b, e, 2);
		} else if (*p < 0x20) {
			char e[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };
			buf_add(b, e, 6);
			p++;
		} else {
			buf_add(b, p, (size_t)n);
			p += n;
		}
	}
	buf_add(b, "\"", 1);
}

void escape_xml(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		int n = utf8_seq_len(p);
		const char *ent = NULL;
		switch (n == 1 ? *p : 0) {
		case '&':
			ent = "&amp;";
			break;
		case '<':
			ent = "&lt;";
			break;
		case '>':
			ent = "&gt;";
			break;
		case '"':
			ent = "&quot;";
			break;
		case '\'':
			ent = "&apos;";
			break;
		case '\t': /* kept as a character reference: attribute values normalize it */
			ent = "&#9;";
			break;
		case '\n':
			ent = "&#10;";
			break;
		case '\r':
			ent = "&#13;";
			break;
		}
		/* U+FFFE and U+FFFF are not XML characters either */
		bool bad = n == 0 || (n == 1 && *p < 0x20 && !ent) ||
		           (n == 3 && p[0] == 0xef && p[1] == 0xbf && p[2] >= 0xbe);
		if (bad)
			buf_addstr(b, REPLACEMENT);
		else if (ent)
			buf_addstr(b, ent);
		else
			buf_add(b, p, (size_t)n);
		p += n ? n : 1;
	}
}

void escape_markdown(struct buf *b, const char *s)
{
	/* what opens inline syntax inside a table cell: code spans, emphasis, links and
	 * images ('(' and '!' need a '['), strikethrough, the cell's end; a cell never starts
	 * a line, so block syntax (# + - > 1.) cannot start there */
	static const char punct[] = "\\`*_[]|~";
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		int n = utf8_seq_len(p);
		if (n == 0) {
			buf_addstr(b, REPLACEMENT);
			p++;
			continue;
		}
		if (n > 1) {
			buf_add(b, p, (size_t)n);
			p += n;
			continue;
		}
		if (*p == '<')
			buf_addstr(b, "&lt;");
		else if (*p == '>')
			buf_addstr(b, "&gt;");
		else if (*p == '&')
			buf_addstr(b, "&amp;");
		else if (*p < 0x20 || *p == 0x7f)
			buf_add(b, " ", 1);
		else if (strchr(punct, *p)) {
			char e[2] = { '\\', (char)*p };
			buf_add(b, e, 2);
		} else
			buf_add(b, p, 1);
		p++;
	}
}
