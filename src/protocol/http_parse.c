/* http_parse.c: incremental, allocation-free HTTP/1.1 response parser (RFC 9112). */
#include "protocol/http_parse.h"

#include <stdlib.h>

#include "util/common.h"

#include <string.h>

/*
 * The parser works line by line for the head (status line, fields, chunk-size lines,
 * trailers) and span by span for body data. A line that lies wholly inside the caller's
 * buffer is parsed in place; only a line split across feeds is copied into p->linebuf.
 * Every limit is checked on the length of a line so far, never on where the input was
 * split, so the same bytes yield the same result however they are fed.
 */

enum hp_state {
	HPS_START,       /* nothing of the response yet; stray empty lines are skipped */
	HPS_START_LF,    /* a CR before the status line, LF must follow */
	HPS_STATUS,      /* status line */
	HPS_HEADER,      /* header field lines until the empty line */
	HPS_BODY_LENGTH, /* Content-Length body, p->remaining bytes left */
	HPS_BODY_CLOSE,  /* body delimited by the connection closing */
	HPS_CHUNK_SIZE,  /* chunk-size line */
	HPS_CHUNK_DATA,  /* chunk data, p->remaining bytes left */
	HPS_CHUNK_CR,    /* CRLF after chunk data */
	HPS_CHUNK_LF,    /* its LF */
	HPS_TRAILER,     /* trailer field lines until the empty line */
	HPS_DONE,
};

/* One complete line: text without its line ending, raw = bytes consumed including it. */
struct hp_line {
	const char *s;
	size_t len;
	size_t raw;
};

enum hp_take {
	HPL_MORE, /* no line end yet; the partial line is kept in p->linebuf */
	HPL_LINE, /* a complete line */
	HPL_LONG, /* the line is longer than p->linebuf can hold */
};

/* Byte classes: HPC_TCHAR for the bytes of a token (RFC 9110 tchar), HPC_BAD for the bytes
 * never allowed inside a line (NUL, and CR other than before LF). */
enum { HPC_TCHAR = 1, HPC_BAD = 2 };

static const unsigned char hp_class[256] = {
	['\0'] = HPC_BAD,          ['\r'] = HPC_BAD,          ['0' ... '9'] = HPC_TCHAR,
	['A' ... 'Z'] = HPC_TCHAR, ['a' ... 'z'] = HPC_TCHAR, ['!'] = HPC_TCHAR,
	['#'] = HPC_TCHAR,         ['$'] = HPC_TCHAR,         ['%'] = HPC_TCHAR,
	['&'] = HPC_TCHAR,         ['\''] = HPC_TCHAR,        ['*'] = HPC_TCHAR,
	['+'] = HPC_TCHAR,         ['-'] = HPC_TCHAR,         ['.'] = HPC_TCHAR,
	['^'] = HPC_TCHAR,         ['_'] = HPC_TCHAR,         ['`'] = HPC_TCHAR,
	['|'] = HPC_TCHAR,         ['~'] = HPC_TCHAR,
};

static inline bool hp_is_tchar(char c)
{
	return hp_class[(unsigned char)c] & HPC_TCHAR;
}

static const char *const hp_err_names[HPE__COUNT] = {
	[HPE_OK] = "ok",
	[HPE_BAD_STATUS_LINE] = "bad_status_line",
	[HPE_BAD_VERSION] = "bad_version",
	[HPE_BAD_HEADER] = "bad_header",
	[HPE_HEADER_TOO_LARGE] = "header_too_large",
	[HPE_TOO_MANY_HEADERS] = "too_many_headers",
	[HPE_BAD_CONTENT_LENGTH] = "bad_content_length",
	[HPE_BAD_CHUNK] = "bad_chunk",
	[HPE_BAD_TRANSFER_ENCODING] = "bad_transfer_encoding",
	[HPE_TRUNCATED] = "truncated",
};

const char *http_perr_name(enum http_perr e)
{
	if ((unsigned)e >= HPE__COUNT)
		return "unknown";
	return hp_err_names[e];
}

static inline bool hp_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static inline bool hp_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Value of a hex digit, or -1. */
static inline int hp_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Whether s contains a NUL or CR, which are never allowed inside a line. */
static bool hp_has_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hp_class[(unsigned char)s[i]] & HPC_BAD)
			return true;
	return false;
}

/* Case-insensitive compare with a lower-case literal of letters and '-'. OR-ing 0x20 maps only
 * letters onto letters, and onto '-' only '-' and CR, which never gets this far. */
static bool hp_token_eq(const char *s, size_t n, const char *lit, size_t litlen)
{
	if (n != litlen)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((s[i] | 0x20) != lit[i])
			return false;
	return true;
}

#define HP_TOKEN_EQ(s, n, lit) hp_token_eq(s, n, lit, sizeof(lit) - 1)

static void hp_fail(struct http_parser *p, enum http_perr e)
{
	p->error = e;
}

/*
 * Next element of a comma-separated list (RFC 9110 §5.6.1), trimmed of OWS; empty elements
 * come back with length 0. *pos is NULL once the list is exhausted.
 */
static bool hp_list_next(const char **pos, const char *end, const char **el, size_t *len)
{
	const char *s = *pos, *e, *comma;

	if (!s)
		return false;
	comma = memchr(s, ',', end - s);
	e = comma ? comma : end;
	*pos = comma ? comma + 1 : NULL;
	while (s < e && hp_is_ows(*s))
		s++;
	while (e > s && hp_is_ows(e[-1]))
		e--;
	*el = s;
	*len = e - s;
	return true;
}

/*
 * Take the next line from [*cur, end). A line that is complete in the input is returned
 * in place; otherwise the bytes are appended to p->linebuf until the LF arrives. The
 * length limit (HTTP_LINE_MAX, counting a CR but not the LF) applies either way.
 */
static enum hp_take hp_take_line(struct http_parser *p, const char **cur, const char *end,
                                 struct hp_line *l)
{
	const char *s = *cur;
	size_t room = HTTP_LINE_MAX - p->line_len;
	size_t avail = end - s;
	size_t scan = avail < room + 1 ? avail : room + 1;
	const char *lf = memchr(s, '\n', scan);
	size_t n;

	if (!lf) {
		if (avail > room)
			return HPL_LONG;
		if (!p->linebuf)
			p->linebuf = xmalloc(HTTP_LINE_MAX);
		memcpy(p->linebuf + p->line_len, s, avail);
		p->line_len += avail;
		*cur = end;
		return HPL_MORE;
	}
	n = lf - s;
	*cur = lf + 1;
	if (p->line_len == 0) {
		l->s = s;
		l->len = n;
	} else {
		memcpy(p->linebuf + p->line_len, s, n);
		l->s = p->linebuf;
		l->len = p->line_len + n;
		p->line_len = 0;
	}
	l->raw = l->len + 1;
	if (l->len && l->s[l->len - 1] == '\r')
		l->len--;
	return HPL_LINE;
}

/* "HTTP/1.x NNN[ reason]"; the SP before an empty reason is optional (lenient). */
static void hp_status_line(struct http_parser *p, const char *s, size_t n)
{
	int status;

	if (n < 12 || memcmp(s, "HTTP/", 5) != 0 || !hp_is_digit(s[5]) || s[6] != '.' ||
	    !hp_is_digit(s[7])) {
		hp_fail(p, HPE_BAD_STATUS_LINE);
		return;
	}
	if (s[5] != '1' || (s[7] != '0' && s[7] != '1')) {
		hp_fail(p, HPE_BAD_VERSION);
		return;
	}
	if (s[8] != ' ' || s[9] < '1' || s[9] > '9' || !hp_is_digit(s[10]) || !hp_is_digit(s[11]) ||
	    (n > 12 && s[12] != ' ') || hp_has_ctl(s + 12, n - 12)) {
		hp_fail(p, HPE_BAD_STATUS_LINE);
		return;
	}
	status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	p->minor_version = s[7] - '0';
	p->status = status;
	p->interim = status < 200 && status != 101;
	p->state = HPS_HEADER;
	if (!p->interim && p->cb && p->cb->on_status)
		p->cb->on_status(p->ud, status);
}

/* Content-Length: 1*DIGIT, or a list of identical values (RFC 9110 §8.6). */
static void hp_content_length(struct http_parser *p, const char *v, size_t vlen)
{
	const char *pos = v, *el;
	size_t len;

	while (hp_list_next(&pos, v + vlen, &el, &len)) {
		int64_t n = 0;

		if (len == 0)
			goto bad;
		for (size_t i = 0; i < len; i++) {
			if (!hp_is_digit(el[i]) || n > (INT64_MAX - (el[i] - '0')) / 10)
				goto bad;
			n = n * 10 + (el[i] - '0');
		}
		if (p->seen_content_length && p->content_length != n)
			goto bad;
		p->seen_content_length = true;
		p->content_length = n;
	}
	return;
bad:
	hp_fail(p, HPE_BAD_CONTENT_LENGTH);
}

/*
 * Transfer-Encoding: a list of codings, each with optional parameters. Only the final
 * coding matters for framing; chunked applied twice or a field without any coding is an
 * error. p->chunked tracks whether the final coding so far is chunked.
 */
static void hp_transfer_encoding(struct http_parser *p, const char *v, size_t vlen)
{
	const char *pos = v, *el;
	size_t len, ncodings = 0;

	while (hp_list_next(&pos, v + vlen, &el, &len)) {
		size_t i = 0;
		bool chunked;

		if (len == 0)
			continue;
		while (i < len && hp_is_tchar(el[i]))
			i++;
		if (i == 0 || (i < len && el[i] != ';' && !hp_is_ows(el[i])))
			goto bad;
		chunked = HP_TOKEN_EQ(el, i, "chunked");
		if (chunked && p->te_chunked_seen)
			goto bad;
		p->te_chunked_seen |= chunked;
		p->chunked = chunked;
		ncodings++;
	}
	if (ncodings == 0)
		goto bad;
	p->seen_te = true;
	return;
bad:
	hp_fail(p, HPE_BAD_TRANSFER_ENCODING);
}

static void hp_connection(struct http_parser *p, const char *v, size_t vlen)
{
	const char *pos = v, *el;
	size_t len;

	while (hp_list_next(&pos, v + vlen, &el, &len)) {
		if (HP_TOKEN_EQ(el, len, "close"))
			p->conn_close = true;
		else if (HP_TOKEN_EQ(el, len, "keep-alive"))
			p->conn_keep_alive = true;
	}
}

/* Header and trailer field lines: "name:" OWS value OWS; no obs-fold. */
static void hp_field_line(struct http_parser *p, const char *s, size_t n)
{
	const char *v, *vend = s + n;
	size_t nlen = 0;

	while (nlen < n && hp_is_tchar(s[nlen]))
		nlen++;
	if (nlen == 0 || nlen == n || s[nlen] != ':') {
		hp_fail(p, HPE_BAD_HEADER);
		return;
	}
	v = s + nlen + 1;
	while (v < vend && hp_is_ows(*v))
		v++;
	while (vend > v && hp_is_ows(vend[-1]))
		vend--;
	if (hp_has_ctl(v, vend - v)) {
		hp_fail(p, HPE_BAD_HEADER);
		return;
	}
	if (++p->nheaders > p->max_headers) {
		hp_fail(p, HPE_TOO_MANY_HEADERS);
		return;
	}
	/* Trailers never affect framing; interim (1xx) fields are not reported. */
	if (p->state == HPS_TRAILER || p->interim)
		return;
	if (nlen == 10 && HP_TOKEN_EQ(s, nlen, "connection"))
		hp_connection(p, v, vend - v);
	else if (nlen == 14 && HP_TOKEN_EQ(s, nlen, "content-length"))
		hp_content_length(p, v, vend - v);
	else if (nlen == 17 && HP_TOKEN_EQ(s, nlen, "transfer-encoding"))
		hp_transfer_encoding(p, v, vend - v);
	if (p->error == HPE_OK && p->cb && p->cb->on_header)
		p->cb->on_header(p->ud, s, nlen, v, vend - v);
}

/* Start over for the final response after a 1xx interim one. */
static void hp_next_after_interim(struct http_parser *p)
{
	p->state = HPS_STATUS;
	p->interim = false;
	p->status = 0;
	p->header_bytes = 0;
	p->nheaders = 0;
}

/* End of the header section: choose the body framing (RFC 9112 §6.3) and keep-alive. */
static void hp_headers_end(struct http_parser *p)
{
	int s = p->status;
	bool ka = p->minor_version == 1 ? !p->conn_close : p->conn_keep_alive && !p->conn_close;

	if (p->interim) {
		hp_next_after_interim(p);
		return;
	}
	if (p->head_request || s == 101 || s == 204 || s == 304) {
		p->chunked = false;
		p->state = HPS_DONE;
		/* after 101 the connection speaks another protocol */
		if (s == 101)
			ka = false;
	} else if (p->seen_te) {
		p->state = p->chunked ? HPS_CHUNK_SIZE : HPS_BODY_CLOSE;
		/* TE overrides CL, but the framing was ambiguous (§6.1): do not reuse. TE in
		 * HTTP/1.0 is faulty framing (§6.1), and a non-chunked TE reads until close. */
		if (!p->chunked || p->seen_content_length || p->minor_version == 0)
			ka = false;
	} else if (p->seen_content_length) {
		p->remaining = p->content_length;
		p->state = p->remaining ? HPS_BODY_LENGTH : HPS_DONE;
	} else {
		p->state = HPS_BODY_CLOSE;
		ka = false;
	}
	p->keep_alive = ka;
	if (p->cb && p->cb->on_headers_done)
		p->cb->on_headers_done(p->ud);
}

/* Status line, header and trailer lines, all counted against the header limits. */
static void hp_head_line(struct http_parser *p, const char **cur, const char *end)
{
	struct hp_line l;
	enum hp_take r = hp_take_line(p, cur, end, &l);

	if (r == HPL_LONG) {
		hp_fail(p, HPE_HEADER_TOO_LARGE);
		return;
	}
	if (r == HPL_MORE) {
		if (p->header_bytes + p->line_len > p->max_header_bytes)
			hp_fail(p, HPE_HEADER_TOO_LARGE);
		return;
	}
	p->header_bytes += l.raw;
	if (p->header_bytes > p->max_header_bytes) {
		hp_fail(p, HPE_HEADER_TOO_LARGE);
		return;
	}
	if (p->state == HPS_STATUS) {
		hp_status_line(p, l.s, l.len);
	} else if (l.len > 0) {
		if (hp_is_ows(l.s[0]))
			hp_fail(p, HPE_BAD_HEADER); /* obs-fold or leading whitespace */
		else
			hp_field_line(p, l.s, l.len);
	} else if (p->state == HPS_TRAILER) {
		p->state = HPS_DONE;
	} else {
		hp_headers_end(p);
	}
}

/* chunk-size [ BWS ";" chunk-ext ]; extensions are ignored. */
static void hp_chunk_size(struct http_parser *p, const char **cur, const char *end)
{
	struct hp_line l;
	enum hp_take r = hp_take_line(p, cur, end, &l);
	int64_t size = 0;
	size_t i = 0;
	int d;

	if (r == HPL_MORE)
		return;
	if (r == HPL_LONG)
		goto bad;
	for (; i < l.len && (d = hp_hex(l.s[i])) >= 0; i++) {
		if (size > (INT64_MAX >> 4))
			goto bad;
		size = size << 4 | d;
	}
	if (i == 0)
		goto bad;
	while (i < l.len && hp_is_ows(l.s[i]))
		i++;
	if ((i < l.len && l.s[i] != ';') || hp_has_ctl(l.s + i, l.len - i))
		goto bad;
	p->remaining = size;
	p->state = size ? HPS_CHUNK_DATA : HPS_TRAILER;
	return;
bad:
	hp_fail(p, HPE_BAD_CHUNK);
}

/* The CRLF (or bare LF) that must follow chunk data. */
static void hp_chunk_end(struct http_parser *p, const char **cur)
{
	char c = *(*cur)++;

	if (p->state == HPS_CHUNK_CR && c == '\r')
		p->state = HPS_CHUNK_LF;
	else if (c == '\n')
		p->state = HPS_CHUNK_SIZE;
	else
		hp_fail(p, HPE_BAD_CHUNK);
}

/* Deliver as much body as the input holds, as one span. */
static void hp_body(struct http_parser *p, const char **cur, const char *end)
{
	size_t n = end - *cur;

	if (p->state != HPS_BODY_CLOSE && (uint64_t)p->remaining < n)
		n = p->remaining;
	if (p->cb && p->cb->on_body)
		p->cb->on_body(p->ud, *cur, n);
	*cur += n;
	p->body_bytes += n;
	if (p->state == HPS_BODY_CLOSE)
		return;
	p->remaining -= n;
	if (p->remaining == 0)
		p->state = p->state == HPS_BODY_LENGTH ? HPS_DONE : HPS_CHUNK_CR;
}

/* Skip CRLF / LF before the status line (robustness, RFC 9112 §2.2). */
static void hp_start(struct http_parser *p, const char **cur)
{
	char c = **cur;

	if (p->state == HPS_START_LF && c != '\n') {
		hp_fail(p, HPE_BAD_STATUS_LINE);
		return;
	}
	if (c == '\r' || c == '\n') {
		p->state = c == '\r' ? HPS_START_LF : HPS_START;
		(*cur)++;
		if (++p->header_bytes > p->max_header_bytes)
			hp_fail(p, HPE_HEADER_TOO_LARGE);
		return;
	}
	p->state = HPS_STATUS;
}

static void hp_complete(struct http_parser *p)
{
	if (p->cb && p->cb->on_complete)
		p->cb->on_complete(p->ud);
}

size_t http_parser_feed(struct http_parser *p, const char *data, size_t len)
{
	const char *cur = data, *end;

	if (p->error != HPE_OK || p->state == HPS_DONE || len == 0)
		return 0;
	end = data + len;
	while (cur < end) {
		switch (p->state) {
		case HPS_START:
		case HPS_START_LF:
			hp_start(p, &cur);
			break;
		case HPS_STATUS:
		case HPS_HEADER:
		case HPS_TRAILER:
			hp_head_line(p, &cur, end);
			break;
		case HPS_CHUNK_SIZE:
			hp_chunk_size(p, &cur, end);
			break;
		case HPS_CHUNK_CR:
		case HPS_CHUNK_LF:
			hp_chunk_end(p, &cur);
			break;
		default:
			hp_body(p, &cur, end);
			break;
		}
		if (p->error != HPE_OK)
			break;
		if (p->state == HPS_DONE) {
			/* return right after the callback: it may reset the parser */
			hp_complete(p);
			break;
		}
	}
	return cur - data;
}

enum http_perr http_parser_eof(struct http_parser *p)
{
	if (p->error != HPE_OK || p->state == HPS_DONE)
		return p->error;
	if (p->state == HPS_BODY_CLOSE) {
		p->state = HPS_DONE;
		hp_complete(p);
		return HPE_OK;
	}
	hp_fail(p, HPE_TRUNCATED);
	return p->error;
}

void http_parser_init(struct http_parser *p, const struct http_parser_cb *cb, void *ud)
{
	memset(p, 0, sizeof(*p));
	p->max_header_bytes = HTTP_MAX_HEADER_BYTES_DEFAULT;
	p->max_headers = HTTP_MAX_HEADERS_DEFAULT;
	p->cb = cb;
	p->ud = ud;
	http_parser_reset(p, false);
}

void http_parser_free(struct http_parser *p)
{
	free(p->linebuf);
	p->linebuf = NULL;
}

void http_parser_reset(struct http_parser *p, bool head_request)
{
	/* field by field: the line buffer is kept for the next response */
	p->head_request = head_request;
	p->status = 0;
	p->minor_version = 0;
	p->keep_alive = false;
	p->chunked = false;
	p->content_length = -1;
	p->body_bytes = 0;
	p->header_bytes = 0;
	p->nheaders = 0;
	p->error = HPE_OK;
	p->state = HPS_START;
	p->remaining = 0;
	p->line_len = 0;
	p->seen_content_length = false;
	p->seen_te = false;
	p->conn_close = false;
	p->conn_keep_alive = false;
	p->interim = false;
	p->te_chunked_seen = false;
}

bool http_parser_idle(const struct http_parser *p)
{
	return p->state == HPS_START || p->state == HPS_START_LF;
}

bool http_parser_done(const struct http_parser *p)
{
	return p->state == HPS_DONE;
}

int64_t http_parser_body_length(const struct http_parser *p)
{
	return p->state == HPS_BODY_LENGTH ? p->content_length : -1;
}
