/* errkind.h: the kinds of request failure, with k6-style numeric codes. */
#ifndef STAMPEDE_ERRKIND_H
#define STAMPEDE_ERRKIND_H

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
	ERR_PARSE_BASE, /* + enum http_perr (HPE_BAD_STATUS_LINE ...) */
	ERR__COUNT = ERR_PARSE_BASE + HPE__COUNT
};

/* Stable snake_case name ("connection_refused"). */
const char *err_kind_name(enum err_kind k);
/* k6-style numeric code (1212 for connection_refused). */
int err_kind_code(enum err_kind k);
/* One-line description for the summary. */
const char *err_kind_desc(enum err_kind k);

static inline enum err_kind err_from_parse(enum http_perr e)
{
	return (enum err_kind)(ERR_PARSE_BASE + (int)e);
}

#endif
