/* errkind.c: names, codes and descriptions of request failure kinds. */
#include "protocol/errkind.h"

#include <stddef.h>

/* RFC 9113 §7's error codes 0x0-0xd, for the HTTP/2 kinds' names and descriptions */
#define H2_CODES(X)                                                                                \
	X(0x0, "no_error", "NO_ERROR")                                                             \
	X(0x1, "protocol_error", "PROTOCOL_ERROR")                                                 \
	X(0x2, "internal_error", "INTERNAL_ERROR")                                                 \
	X(0x3, "flow_control_error", "FLOW_CONTROL_ERROR")                                         \
	X(0x4, "settings_timeout", "SETTINGS_TIMEOUT")                                             \
	X(0x5, "stream_closed", "STREAM_CLOSED")                                                   \
	X(0x6, "frame_size_error", "FRAME_SIZE_ERROR")                                             \
	X(0x7, "refused_stream", "REFUSED_STREAM")                                                 \
	X(0x8, "cancel", "CANCEL")                                                                 \
	X(0x9, "compression_error", "COMPRESSION_ERROR")                                           \
	X(0xa, "connect_error", "CONNECT_ERROR")                                                   \
	X(0xb, "enhance_your_calm", "ENHANCE_YOUR_CALM")                                           \
	X(0xc, "inadequate_security", "INADEQUATE_SECURITY")                                       \
	X(0xd, "http_1_1_required", "HTTP_1_1_REQUIRED")
#define H2_KIND(base, code, prefix, what, name, NAME)                                              \
	[base + 1 + code] = { prefix name, code0 + 1 + code, what " (" NAME ")" },

static const struct {
	const char *name;
	int code;
	const char *desc;
} kinds[ERR__COUNT] = {
	[ERR_NONE] = { "none", 0, "no error" },
	[ERR_DNS] = { "dns_error", 1101, "host name did not resolve" },
	[ERR_CONNECT_TIMEOUT] = { "connect_timeout", 1211, "TCP connect timed out" },
	[ERR_CONN_REFUSED] = { "connection_refused", 1212, "connection refused" },
	[ERR_CONNECT] = { "connect_error", 1210, "could not open a connection" },
	[ERR_RESET] = { "connection_reset", 1220, "connection reset by peer" },
	[ERR_REQUEST_TIMEOUT] = { "request_timeout", 1050, "no complete response in time" },
	[ERR_TLS] = { "tls_error", 1300, "TLS handshake failed" },
	[ERR_TLS_AUTHORITY] = { "tls_unknown_authority", 1310, "certificate not trusted" },
	[ERR_TLS_HOSTNAME] = { "tls_hostname_mismatch", 1311,
	                       "certificate does not match the host" },
	[ERR_TLS_EXPIRED] = { "tls_certificate_expired", 1312, "certificate has expired" },
	[ERR_TLS_NOT_YET_VALID] = { "tls_certificate_not_yet_valid", 1313,
	                            "certificate is not yet valid" },
	[ERR_TLS_CERT] = { "tls_certificate_invalid", 1314,
	                   "certificate failed verification (other than trust, name or dates)" },
	[ERR_BODY_TOO_LARGE] = { "response_too_large", 1030,
	                         "response body larger than the limit (--max-response-body-size, "
	                         "maxResponseBodySize)" },
	[ERR_UNSUPPORTED_SCHEME] = { "unsupported_scheme", 1021,
	                             "redirect to a scheme other than http or https" },
	[ERR_EMPTY_RESPONSE] = { "empty_response", 1510,
	                         "connection closed before any response byte" },
	[ERR_WRITE] = { "write_error", 1202, "error writing the request" },
	[ERR_INTERRUPTED] = { "interrupted", 1099,
	                      "cut off by the end of the run, a signal or an abort" },
#define code0      1610
#define X(c, n, N) H2_KIND(ERR_H2_GOAWAY, c, "http2_goaway_", "the server's GOAWAY ended it", n, N)
	[ERR_H2_GOAWAY] = { "http2_goaway", 1610,
	                    "the server's GOAWAY ended it (an unknown code)" },
	H2_CODES(X)
#undef X
#undef code0
#define code0      1630
#define X(c, n, N) H2_KIND(ERR_H2_STREAM, c, "http2_stream_", "the stream was reset", n, N)
	    [ERR_H2_STREAM] = { "http2_stream_error", 1630,
	                        "the stream was reset (an unknown code)" },
	H2_CODES(X)
#undef X
#undef code0
#define code0      1650
#define X(c, n, N) H2_KIND(ERR_H2_CONN, c, "http2_connection_", "HTTP/2 connection error", n, N)
	    [ERR_H2_CONN] = { "http2_connection_error", 1650,
	                      "HTTP/2 connection error (an unknown code)" },
	H2_CODES(X)
#undef X
#undef code0
	    [ERR_PARSE_BASE + HPE_OK] = { "parse_ok", 1500, "no parse error" },
	[ERR_PARSE_BASE +
	    HPE_BAD_STATUS_LINE] = { "bad_status_line", 1501, "malformed status line" },
	[ERR_PARSE_BASE +
	    HPE_BAD_VERSION] = { "bad_version", 1502, "HTTP version other than 1.0/1.1" },
	[ERR_PARSE_BASE + HPE_BAD_HEADER] = { "bad_header", 1503, "malformed header field" },
	[ERR_PARSE_BASE +
	    HPE_HEADER_TOO_LARGE] = { "header_too_large", 1504, "response headers too large" },
	[ERR_PARSE_BASE +
	    HPE_TOO_MANY_HEADERS] = { "too_many_headers", 1505, "too many response headers" },
	[ERR_PARSE_BASE +
	    HPE_BAD_CONTENT_LENGTH] = { "bad_content_length", 1506, "invalid Content-Length" },
	[ERR_PARSE_BASE + HPE_BAD_CHUNK] = { "bad_chunk", 1507, "malformed chunked encoding" },
	[ERR_PARSE_BASE + HPE_BAD_TRANSFER_ENCODING] = { "bad_transfer_encoding", 1508,
	                                                 "malformed Transfer-Encoding" },
	[ERR_PARSE_BASE + HPE_TRUNCATED] = { "truncated", 1509, "connection closed mid-response" },
};

const char *err_kind_name(enum err_kind k)
{
	return (unsigned)k < ERR__COUNT && kinds[k].name ? kinds[k].name : "unknown";
}

int err_kind_code(enum err_kind k)
{
	return (unsigned)k < ERR__COUNT ? kinds[k].code : 1000;
}

const char *err_kind_desc(enum err_kind k)
{
	return (unsigned)k < ERR__COUNT && kinds[k].desc ? kinds[k].desc : "unknown error";
}
