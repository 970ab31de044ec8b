"""Malformed responses and network failures: each request fails with the documented error
kind and code (docs/cli.md "Error kinds"), counted once per failed request, and the run
still ends normally (exit 0 or 99, never a signal)."""

import pytest

from accounting import assert_accounting
from conftest import ERROR_CODES, EXIT_OK, EXIT_THRESHOLDS, errors_by_kind, metric

ITERATIONS = 20

BIG_HEADERS = (b"HTTP/1.1 200 OK\r\n"
               + b"".join(b"X-Pad-%02d: %s\r\n" % (i, b"a" * 2000) for i in range(35))
               + b"Content-Length: 0\r\n\r\n")                  # ~70 KB, 36 fields
MANY_HEADERS = (b"HTTP/1.1 200 OK\r\n"
                + b"".join(b"X-H-%d: v\r\n" % i for i in range(150))
                + b"Content-Length: 0\r\n\r\n")                 # 151 fields, ~2 KB

CASES = {
    # id: (raw response, what the server does after it, expected kind)
    "garbage_status_line": (b"this is not http\r\nContent-Length: 0\r\n\r\n", "keep",
                            "bad_status_line"),
    "bad_version": (b"HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n", "keep", "bad_version"),
    "header_without_colon": (b"HTTP/1.1 200 OK\r\nNoColonHere\r\nContent-Length: 0\r\n\r\n",
                             "keep", "bad_header"),
    "header_block_70k": (BIG_HEADERS, "keep", "header_too_large"),
    "150_headers": (MANY_HEADERS, "keep", "too_many_headers"),
    "non_numeric_content_length": (b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", "keep",
                                   "bad_content_length"),
    "conflicting_content_length": (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                                   b"Content-Length: 4\r\n\r\nok\n", "keep",
                                   "bad_content_length"),
    "bad_chunk_size": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "keep",
                       "bad_chunk"),
    "empty_transfer_encoding": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\n\r\n",
                                "keep", "bad_transfer_encoding"),
    "chunked_applied_twice": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"
                              b"0\r\n\r\n", "keep", "bad_transfer_encoding"),
    "short_body_then_close": (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
                              "close", "truncated"),
    "partial_body_then_reset": (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
                                "reset", "connection_reset"),
    "reset_before_response": (b"", "reset", "connection_reset"),
}


def assert_all_failed_with(summary, kind, n):
    errs = errors_by_kind(summary)
    assert kind in errs, f"expected error kind {kind!r}, got {summary['errors']}"
    assert errs[kind]["code"] == ERROR_CODES[kind], errs[kind]
    assert errs[kind]["count"] == n, f"{kind}: expected count {n}: {summary['errors']}"
    assert set(errs) == {kind}, f"unexpected other error kinds: {summary['errors']}"
    failed = metric(summary, "http_req_failed")
    assert failed["rate"] == 1, failed
    assert failed["passes"] == n, failed


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_response(scripted_server, stampede, case):
    response, after, kind = CASES[case]
    srv = scripted_server(response, after=after)
    r = stampede.load(srv.url, "--iterations", ITERATIONS, "--vus", "2", "--timeout", "1s",
                      timeout=40, expect=(EXIT_OK, EXIT_THRESHOLDS))
    assert srv.requests == ITERATIONS, f"server got {srv.requests} requests"
    assert_all_failed_with(r.summary, kind, ITERATIONS)
    assert_accounting(r.summary, server_count=srv.requests)


def test_non_chunked_transfer_coding_reads_until_close(scripted_server, stampede):
    """RFC 9112 6.3: a final coding other than chunked means the body ends at close."""
    srv = scripted_server(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nbody", after="close")
    r = stampede.load(srv.url, "--iterations", ITERATIONS, "--vus", "2", "--timeout", "5s",
                      timeout=40)
    assert r.summary["errors"] == []
    assert metric(r.summary, "http_reqs")["count"] == ITERATIONS
    assert metric(r.summary, "http_req_failed")["rate"] == 0
    assert_accounting(r.summary, server_count=srv.requests)


def test_connection_refused(free_port, stampede):
    r = stampede.load(f"http://127.0.0.1:{free_port}/", "--iterations", "5", timeout=30,
                      expect=(EXIT_OK, EXIT_THRESHOLDS))
    assert_all_failed_with(r.summary, "connection_refused", 5)
    assert_accounting(r.summary, server_count=0)   # none reached a server


def test_request_timeout(slow_server, stampede):
    r = stampede.load(slow_server.url, "--timeout", "500ms", "--iterations", "2", timeout=30,
                      expect=(EXIT_OK, EXIT_THRESHOLDS))
    assert_all_failed_with(r.summary, "request_timeout", 2)
    assert slow_server.requests == 2
    assert_accounting(r.summary, server_count=2)
