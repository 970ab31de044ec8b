"""`stampede serve-demo` is robust: malformed requests get 4xx/5xx (never a crash), slow and
idle clients time out, pipelining and HTTP/1.0 work, the connection limit holds, and
SIGTERM finishes in-flight requests before exiting 0."""

import random
import re
import signal
import socket
import threading
import time

import pytest

from demo_fixtures import demo_server, demo_server_module, raw_exchange, status_codes  # noqa: F401

H = b"Host: localhost\r\n"

MALFORMED = [
    ("garbage", b"GARBAGE\r\n\r\n", 400),
    ("binary", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64, 400),
    ("no version", b"GET /health\r\n\r\n", 400),
    ("HTTP/2.0", b"GET /health HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("HTTP/3.1", b"GET /health HTTP/3.1\r\n" + H + b"\r\n", 505),
    ("missing Host", b"GET /health HTTP/1.1\r\n\r\n", 400),
    ("two Hosts", b"GET /health HTTP/1.1\r\n" + H + H + b"\r\n", 400),
    ("header without colon", b"GET /health HTTP/1.1\r\n" + H + b"Broken\r\n\r\n", 400),
    ("space before colon", b"GET /health HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    ("obs-fold", b"GET /health HTTP/1.1\r\n" + H + b"X-A: 1\r\n 2\r\n\r\n", 400),
    ("NUL in value", b"GET /health HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n", 400),
    ("bare CR", b"GET /health HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", 400),
    ("relative target", b"GET health HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("bad content-length", b"POST /api/orders HTTP/1.1\r\n" + H + b"Content-Length: 12x\r\n\r\n",
     400),
    ("conflicting content-length", b"POST /api/orders HTTP/1.1\r\n" + H +
     b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
    ("chunked body", b"POST /api/orders HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 411),
    ("TE and CL", b"POST /api/orders HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello", 400),
    ("unknown coding", b"POST /api/orders HTTP/1.1\r\n" + H + b"Transfer-Encoding: br\r\n\r\n",
     501),
    ("unknown expectation", b"POST /api/auth/login HTTP/1.1\r\n" + H +
     b"Expect: tea\r\nContent-Length: 2\r\n\r\n{}", 417),
    ("body too large", b"POST /api/orders HTTP/1.1\r\n" + H + b"Content-Length: 10000000\r\n\r\n"
     + b"x" * 100000, 413),
    ("headers too large", b"GET /health HTTP/1.1\r\n" + H +
     b"".join(b"X-Filler-%d: %s\r\n" % (i, b"v" * 900) for i in range(20)) + b"\r\n", 431),
    ("too many headers", b"GET /health HTTP/1.1\r\n" + H +
     b"".join(b"X-%d: v\r\n" % i for i in range(150)) + b"\r\n", 431),
    ("request line too long", b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
]
# well framed, so the connection stays open for the next request
BAD_BUT_FRAMED = [
    ("unknown method", b"BREW /health HTTP/1.1\r\n" + H + b"\r\n", 501),
    ("bad JSON login", b"POST /api/auth/login HTTP/1.1\r\n" + H +
     b"Content-Length: 9\r\n\r\n{\"email\":", 400),
    ("unknown path", b"GET /etc/passwd HTTP/1.1\r\n" + H + b"\r\n", 404),
    ("wrong method", b"DELETE /api/products/1 HTTP/1.1\r\n" + H + b"\r\n", 405),
]


@pytest.mark.parametrize("name,data,status", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_request_gets_its_status(demo_server_module, name, data, status):
    s = demo_server_module
    out, closed = raw_exchange(s.port, data, timeout=5)
    assert status_codes(out)[:1] == [status], (name, out[:300])
    assert out.startswith(b"HTTP/1.1 %d " % status)
    assert b"Connection: close" in out and closed, (name, out[:300], closed)
    assert s.get("/health")[0] == 200


@pytest.mark.parametrize("name,data,status", BAD_BUT_FRAMED, ids=[m[0] for m in BAD_BUT_FRAMED])
def test_bad_but_framed_request_keeps_the_connection(demo_server_module, name, data, status):
    s = demo_server_module
    # the second request is answered on the same connection (and closes it, to be quick)
    out, closed = raw_exchange(s.port, data + b"GET /health HTTP/1.1\r\n" + H +
                               b"Connection: close\r\n\r\n", timeout=5)
    assert status_codes(out) == [status, 200], (name, out[:300])
    assert out.count(b"Connection: close") == 1 and closed


def test_malformed_requests_are_counted(demo_server):
    s = demo_server()
    for _, data, _ in MALFORMED[:5]:
        raw_exchange(s.port, data, timeout=5)
    m = s.metrics()
    counted = sum(v for lab, v in m.series("http_requests_total"))
    assert counted == 5, m.series("http_requests_total")
    assert m.value("http_requests_total", route="unmatched", method="OTHER", status="400") >= 2


def test_random_garbage_never_crashes_it(demo_server):
    s = demo_server("--request-timeout", "1s")
    rng = random.Random(1234)
    pieces = [b"GET ", b"POST ", b"/api/products/", b"/health", b" HTTP/1.1\r\n", b"Host: x\r\n",
              b"Content-Length: ", b"\r\n", b"\n", b"\r", b":", b" ", b"\x00", b"\xff", b"9" * 30,
              b"Transfer-Encoding: chunked\r\n", b"{\"email\":1}", b"\r\n\r\n"]
    for i in range(150):
        if i % 2:
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 400)))
        else:
            data = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 25)))
        out, _ = raw_exchange(s.port, data, timeout=0.3)
        for code in status_codes(out):
            assert 100 <= code <= 599
    assert s.proc.poll() is None, s.logs()
    assert s.get("/health")[0] == 200
    assert s.rss_bytes() < 100e6


def test_pipelined_requests_are_answered_in_order(demo_server):
    s = demo_server("--query-latency", "20ms")
    data = (b"GET /api/products/1 HTTP/1.1\r\n" + H + b"\r\n"
            b"GET /health HTTP/1.1\r\n" + H + b"\r\n"
            b"GET /nope HTTP/1.1\r\n" + H + b"\r\n"
            b"POST /api/auth/login HTTP/1.1\r\n" + H + b"Content-Length: 52\r\n\r\n"
            b'{"email":"user1@test.com","password":"testpassword"}'
            b"GET /api/products/2 HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n")
    out, closed = raw_exchange(s.port, data, timeout=5)
    assert status_codes(out) == [200, 200, 404, 200, 200], out
    assert out.index(b'"id":1') < out.index(b'"status":"ok"') < out.index(b"token") \
        < out.index(b'"id":2')
    assert closed


def test_pipelined_requests_split_into_single_bytes(demo_server_module):
    s = demo_server_module
    data = (b"GET /health HTTP/1.1\r\n" + H + b"\r\n") * 3
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(data)):
            c.send(data[i:i + 1])
        out = b""
        while out.count(b"HTTP/1.1 200") < 3:
            chunk = c.recv(65536)
            assert chunk
            out += chunk
    assert status_codes(out) == [200, 200, 200]


def test_http_10_and_keep_alive(demo_server_module):
    s = demo_server_module
    out, closed = raw_exchange(s.port, b"GET /health HTTP/1.0\r\n\r\n", timeout=5)
    assert status_codes(out) == [200] and closed
    assert b"Connection: close" in out
    out, closed = raw_exchange(s.port, b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                               b"GET /health HTTP/1.0\r\n\r\n", timeout=5)
    assert status_codes(out) == [200, 200] and closed
    assert b"Connection: keep-alive" in out
    # HTTP/1.1 keeps the connection open: the answer comes (however busy the machine), then
    # the connection stays open for a while
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        c.sendall(b"GET /health HTTP/1.1\r\n" + H + b"\r\n")
        out = b""
        while True:
            head, sep, body = out.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            if sep and length and len(body) >= int(length.group(1)):
                break
            chunk = c.recv(65536)
            assert chunk, f"the server closed the connection after {out!r}"
            out += chunk
        assert status_codes(out) == [200], out
        c.settimeout(0.5)
        with pytest.raises(socket.timeout):
            assert c.recv(1) == b"", "the server closed a keep-alive connection"



def test_expect_100_continue(demo_server_module):
    s = demo_server_module
    body = b'{"email":"user2@test.com","password":"testpassword"}'
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
        c.sendall(b"POST /api/auth/login HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        assert c.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        c.sendall(body)
        out = b""
        while b"token" not in out:
            chunk = c.recv(65536)
            assert chunk
            out += chunk
    assert status_codes(out) == [200]


def test_half_closed_client_still_gets_its_answer(demo_server_module):
    out, closed = raw_exchange(demo_server_module.port,
                               b"GET /api/products/3 HTTP/1.1\r\n" + H + b"\r\n",
                               timeout=5, shut_write=True)
    assert status_codes(out) == [200] and closed


# --------------------------------------------------------------------------------------
# timeouts, limits
# --------------------------------------------------------------------------------------
def test_slow_client_gets_408(demo_server):
    s = demo_server("--request-timeout", "1s")
    start = time.monotonic()
    out, closed = raw_exchange(s.port, b"GET /health HTTP/1.1\r\nHo", timeout=5)
    elapsed = time.monotonic() - start
    assert status_codes(out) == [408] and closed, out
    assert 0.9 <= elapsed < 3, elapsed
    # a slow body too
    out, closed = raw_exchange(s.port, b"POST /api/auth/login HTTP/1.1\r\n" + H +
                               b"Content-Length: 100\r\n\r\n{", timeout=5)
    assert status_codes(out) == [408] and closed, out
    m = s.metrics()
    assert m.value("http_requests_total", status="408") == 2
    assert m.value("http_requests_total", route="/api/auth/login", status="408") == 1


def test_idle_keep_alive_connection_is_closed(demo_server):
    s = demo_server("--idle-timeout", "1s")
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
        c.sendall(b"GET /health HTTP/1.1\r\n" + H + b"\r\n")
        assert status_codes(c.recv(65536)) == [200]
        start = time.monotonic()
        assert c.recv(65536) == b""  # closed by the server, without a response
        assert 0.8 <= time.monotonic() - start < 3
    # a connection that never sends anything is closed as well
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
        assert c.recv(65536) == b""
    assert s.metrics().value("http_requests_total", status="408") == 0


def test_max_connections(demo_server):
    s = demo_server("--max-connections", "3")
    conns = [s.connect() for _ in range(3)]
    for c in conns:
        assert s.get("/health", conn=c)[0] == 200
    out, closed = raw_exchange(s.port, b"GET /health HTTP/1.1\r\n" + H + b"\r\n", timeout=5)
    assert status_codes(out) == [503] and closed, out
    assert b"Connection: close" in out
    for c in conns:  # the first three still work
        assert s.get("/health", conn=c)[0] == 200
    conns[0].close()
    deadline = time.monotonic() + 5
    while True:
        out, _ = raw_exchange(s.port, b"GET /health HTTP/1.1\r\n" + H +
                              b"Connection: close\r\n\r\n", timeout=5)
        if status_codes(out) == [200] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status_codes(out) == [200], "a freed slot was not reused"
    for c in conns[1:]:
        c.close()
    m = s.metrics()
    assert m.value("demo_connections_rejected_total") >= 1
    assert m.value("http_requests_total", route="/health", status="503") == \
        m.value("demo_connections_rejected_total")


def test_max_connections_changed_at_runtime(demo_server):
    s = demo_server()
    s.admin(max_connections=1)
    keep = s.connect()
    try:
        assert s.get("/health", conn=keep)[0] == 200
        out, _ = raw_exchange(s.port, b"GET /health HTTP/1.1\r\n" + H + b"\r\n", timeout=5)
        assert status_codes(out) == [503]
        status, _, body = s.request("POST", "/admin/config", body=b'{"max_connections": 10}',
                                    conn=keep)
        assert status == 200, body
        assert s.get("/health")[0] == 200
    finally:
        keep.close()


# --------------------------------------------------------------------------------------
# SIGTERM
# --------------------------------------------------------------------------------------
def test_sigterm_finishes_in_flight_requests_and_exits_0(demo_server):
    s = demo_server("--query-latency", "1s", "--workers", "4")
    results = []

    def one():
        results.append(s.get("/api/products/1", timeout=10)[0])

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while s.metrics().value("demo_workers_busy") < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    s.signal(signal.SIGTERM)
    start = time.monotonic()
    rc = s.wait(10)
    elapsed = time.monotonic() - start
    for t in threads:
        t.join(5)
    assert rc == 0, s.logs()
    assert results == [200] * 4, results
    assert elapsed < 3, elapsed
    assert "stopped after" in s.err.read_text()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", s.port), timeout=1).close()


def test_sigterm_with_idle_connections_exits_at_once(demo_server):
    s = demo_server()
    conns = [s.connect() for _ in range(5)]
    for c in conns:
        assert s.get("/health", conn=c)[0] == 200
    start = time.monotonic()
    s.signal(signal.SIGTERM)
    assert s.wait(10) == 0
    assert time.monotonic() - start < 1.5
    for c in conns:
        c.close()


def test_second_signal_stops_at_once(demo_server):
    s = demo_server("--query-latency", "20s", "--shutdown-timeout", "60s")
    def cut_off():
        try:
            s.get("/api/products/1", timeout=30)
        except OSError:  # closed without a response: expected
            pass

    t = threading.Thread(target=cut_off, daemon=True)
    t.start()
    deadline = time.monotonic() + 5
    while s.metrics().value("demo_workers_busy") < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    s.signal(signal.SIGTERM)
    time.sleep(0.3)
    assert s.proc.poll() is None, "exited before the in-flight request finished"
    s.signal(signal.SIGINT)
    start = time.monotonic()
    assert s.wait(10) == 0
    assert time.monotonic() - start < 2
