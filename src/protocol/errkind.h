/* errkind.h: the kinds of request failure, with k6-style numeric codes. */
#ifndef STAMPEDE_ERRKIND_H
#define STAMPEDE_ERRKIND_H

#include <stdint.h>

#include "protocol/http_parse.h"

enum err_kind {
	ERR_NONE = 0,
	ERR_DNS,
	ERR_CONNECT_TIMEOUT,
	ERR_CONN_REFUSED,
	ERR_CONNECT,
	ERR_RESET,
	ERR_REQUEST_TIMEOUT,
	ERR_TLS,
	ERR_TLS_AUTHORITY,
	ERR_TLS_HOSTNAME,
	ERR_TLS_EXPIRED,        /* X509_V_ERR_CERT_HAS_EXPIRED */
	ERR_TLS_NOT_YET_VALID,  /* X509_V_ERR_CERT_NOT_YET_VALID */
	ERR_TLS_CERT,           /* any other certificate verification failure */
	ERR_BODY_TOO_LARGE,     /* the response body passed the per-response limit */
	ERR_UNSUPPORTED_SCHEME, /* a redirect to a scheme other than http/https */
	ERR_EMPTY_RESPONSE,
	ERR_WRITE,
	ERR_INTERRUPTED,
	/* HTTP/2 (RFC 9113 §7): + 0 for an error code past those RFC 9113 names, + 1 + code
	 * for code 0x0-0xd (k6's numbering: 1610/1611+code, 1630/1631+code, 1650/1651+code) */
	ERR_H2_GOAWAY,                      /* the server's GOAWAY ended the request */
	ERR_H2_STREAM = ERR_H2_GOAWAY + 15, /* RST_STREAM on the request's stream */
	ERR_H2_CONN = ERR_H2_STREAM + 15,   /* a connection error (ours or the peer's) */
	ERR_PARSE_BASE = ERR_H2_CONN + 15,  /* + enum http_perr (HPE_BAD_STATUS_LINE ...) */
	ERR__COUNT = ERR_PARSE_BASE + HPE__COUNT
};

/* Stable snake_case name ("connection_refused"). */
const char *err_kind_name(enum err_kind k);
/* k6-style numeric code (1212 for connection_refused). */
int err_kind_code(enum err_kind k);
/* One-line description for the summary. */
const char *err_kind_desc(enum err_kind k);

/* base (ERR_H2_GOAWAY, ERR_H2_STREAM or ERR_H2_CONN) with the HTTP/2 error code code. */
static inline enum err_kind err_h2(enum err_kind base, uint32_t code)
{
	return (enum err_kind)(base + (code <= 0xd ? (int)code + 1 : 0));
}

static inline enum err_kind err_from_parse(enum http_perr e)
{
	return (enum err_kind)(ERR_PARSE_BASE + (int)e);
}

#endif
