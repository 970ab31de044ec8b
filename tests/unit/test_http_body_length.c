/* test_http_body_length.c: unit tests for http_parser_body_length(), which lets the
 * connection refuse a body larger than its limit as soon as the headers are parsed. */
#include <criterion/criterion.h>
#include <string.h>

#include "protocol/http_parse.h"

static int64_t length_after(const char *resp, bool head)
{
	struct http_parser p;
	http_parser_init(&p, NULL, NULL);
	http_parser_reset(&p, head);
	size_t n = strlen(resp);
	cr_assert_eq(http_parser_feed(&p, resp, n), n);
	cr_assert_eq(p.error, HPE_OK, "%s", http_perr_name(p.error));
	int64_t len = http_parser_body_length(&p);
	http_parser_free(&p);
	return len;
}

Test(http_body_length, content_length_once_headers_are_parsed)
{
	cr_assert_eq(length_after("HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n", false), -1,
	             "headers not complete yet");
	cr_assert_eq(length_after("HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n", false),
	             1073741824);
	cr_assert_eq(length_after("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false), 10,
	             "the announced length, not what is left");
}

Test(http_body_length, none_when_no_length_frames_the_body)
{
	cr_assert_eq(length_after("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true), -1,
	             "HEAD");
	cr_assert_eq(
	    length_after("HTTP/1.1 304 Not Modified\r\nContent-Length: 99999\r\n\r\n", false), -1);
	cr_assert_eq(
	    length_after("HTTP/1.1 204 No Content\r\nContent-Length: 99999\r\n\r\n", false), -1);
	cr_assert_eq(length_after("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false),
	             -1);
	cr_assert_eq(length_after("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	                          "Content-Length: 99999\r\n\r\n",
	                          false),
	             -1, "Transfer-Encoding overrides Content-Length");
	cr_assert_eq(length_after("HTTP/1.1 200 OK\r\n\r\n", false), -1, "close-delimited");
	cr_assert_eq(length_after("HTTP/1.1 100 Continue\r\nContent-Length: 99999\r\n\r\n", false),
	             -1, "interim response");
	cr_assert_eq(length_after("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", false), -1,
	             "response complete");
}
