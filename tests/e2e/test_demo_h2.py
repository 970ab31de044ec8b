"""`stampede serve-demo --http2` (docs/demo.md, "HTTP/2"): h2c with prior knowledge on the
plain port beside HTTP/1.1, ALPN h2 with --tls, every endpoint and counter the same as over
HTTP/1.1 (h2load's count equals /metrics), streams multiplexed, request bodies, HEAD,
errors, and GOAWAY on a graceful stop. Clients: nghttp and h2load (nghttp2-client),
python3-h2 for the edge cases, http.client for HTTP/1.1."""

import http.client
import json
import re
import shutil
import socket
import ssl
import subprocess
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
import pytest

from serve_demo_proc import ServeDemo

NGHTTP = shutil.which("nghttp")
H2LOAD = shutil.which("h2load")
needs_nghttp = pytest.mark.skipif(not NGHTTP or not H2LOAD, reason="nghttp2-client missing")


@pytest.fixture(scope="module")
def h2c(tmp_path_factory):
    s = ServeDemo(tmp_path_factory.mktemp("h2c"), ["--port", "0", "--http2"])
    yield s
    assert s.stop() == 0, s.err.read_text()


@pytest.fixture(scope="module")
def h2tls(tmp_path_factory):
    d = tmp_path_factory.mktemp("h2tls")
    s = ServeDemo(d, ["--port", "0", "--http2", "--tls", "--write-ca", "ca.pem"])
    s.ca = d / "ca.pem"
    yield s
    assert s.stop() == 0, s.err.read_text()


def requests_total(port, tls_ca=None):
    """The sum of http_requests_total by route, read over HTTP/1.1."""
    if tls_ca:
        ctx = ssl.create_default_context(cafile=str(tls_ca))
        conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    out = {}
    for m in re.finditer(r'^http_requests_total\{method="(\w+)",route="([^"]+)",'
                         r'status="(\w+)"\} (\d+)$', text, re.M):
        key = (m.group(1), m.group(2), m.group(3))
        out[key] = int(m.group(4))
    return out


def nghttp(*args, timeout=30):
    r = subprocess.run([NGHTTP, *args], capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


class H2:
    """A python-h2 client connection (prior knowledge, or TLS with ALPN h2)."""

    def __init__(self, port, ca=None):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if ca:
            ctx = ssl.create_default_context(cafile=str(ca))
            ctx.set_alpn_protocols(["h2"])
            sock = ctx.wrap_socket(sock, server_hostname="localhost")
            assert sock.selected_alpn_protocol() == "h2"
        self.sock = sock
        self.port = port
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.flush()
        self.streams = {}
        self.events = []

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, method, path, body=b"", headers=()):
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":path", path), (":scheme", "http"),
                (":authority", f"127.0.0.1:{self.port}"), *headers]
        if body:
            hdrs.append(("content-length", str(len(body))))
        self.streams[sid] = {"headers": None, "data": b"", "done": False, "reset": None}
        self.conn.send_headers(sid, hdrs, end_stream=not body)
        if body:
            self.send_body(sid, body)
        self.flush()
        return sid

    def send_body(self, sid, body):
        """Send body, as flow control allows, until the server ends the stream."""
        while body and not self.streams[sid]["done"]:
            n = min(len(body), self.conn.local_flow_control_window(sid),
                    self.conn.max_outbound_frame_size)
            if n == 0:
                self.flush()
                self.pump()
                continue
            try:
                self.conn.send_data(sid, body[:n], end_stream=len(body) == n)
            except h2.exceptions.StreamClosedError:
                break
            body = body[n:]
        self.flush()

    def pump(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        for ev in self.conn.receive_data(data):
            self.events.append(ev)
            st = self.streams.get(getattr(ev, "stream_id", None))
            if isinstance(ev, h2.events.ResponseReceived):
                st["headers"] = dict((k.decode(), v.decode()) for k, v in ev.headers)
            elif isinstance(ev, h2.events.DataReceived):
                st["data"] += ev.data
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                st["done"] = True
            elif isinstance(ev, h2.events.StreamReset):
                st["reset"] = ev.error_code
                st["done"] = True
        self.flush()

    def wait(self, *sids):
        while not all(self.streams[s]["done"] for s in sids):
            self.pump()
        return [self.streams[s] for s in sids]

    def get(self, path, method="GET", body=b"", headers=()):
        st = self.wait(self.request(method, path, body, headers))[0]
        return int(st["headers"][":status"]), st["headers"], st["data"]

    def close(self):
        self.sock.close()


# --------------------------------------------------------------------------------------
# nghttp, h2load
# --------------------------------------------------------------------------------------
@needs_nghttp
def test_nghttp_prior_knowledge(h2c):
    rc, out = nghttp("-nv", f"http://127.0.0.1:{h2c.port}/health")
    assert rc == 0, out
    assert "recv SETTINGS frame" in out and "SETTINGS_MAX_CONCURRENT_STREAMS(0x03):128" in out
    assert re.search(r"recv \(stream_id=\d+\) :status: 200", out), out
    rc, out = nghttp("-n", "-s", f"http://127.0.0.1:{h2c.port}/api/products/7",
                     f"http://127.0.0.1:{h2c.port}/api", f"http://127.0.0.1:{h2c.port}/nope")
    assert rc == 0, out
    codes = sorted(int(c) for c in re.findall(r"^\s*\d+\s+\S+\s+\S+\s+\S+\s+(\d{3})\s", out, re.M))
    assert codes == [200, 200, 404], out


@needs_nghttp
def test_nghttp_over_tls_negotiates_h2(h2tls):
    rc, out = nghttp("-nv", f"https://127.0.0.1:{h2tls.port}/api/products/1")
    assert rc == 0, out
    assert "The negotiated protocol: h2" in out, out
    assert re.search(r":status: 200", out), out


@needs_nghttp
@pytest.mark.parametrize("tls", [False, True])
def test_h2load_count_equals_the_servers_count(h2c, h2tls, tls):
    demo = h2tls if tls else h2c
    ca = demo.ca if tls else None
    before = requests_total(demo.port, ca)
    key = ("GET", "/api/products/{id}", "200")
    scheme = "https" if tls else "http"
    r = subprocess.run([H2LOAD, "-n", "2000", "-c", "4", "-m", "10",
                        f"{scheme}://127.0.0.1:{demo.port}/api/products/3"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded", r.stdout)
    assert m and m.group(4) == "2000", r.stdout
    if tls:
        assert "Application protocol: h2" in r.stdout, r.stdout
    after = requests_total(demo.port, ca)
    assert after.get(key, 0) - before.get(key, 0) == 2000


# --------------------------------------------------------------------------------------
# HTTP/1.1 beside HTTP/2
# --------------------------------------------------------------------------------------
def test_http11_still_works_on_the_same_port(h2c):
    conn = http.client.HTTPConnection("127.0.0.1", h2c.port, timeout=10)
    for path in ("/health", "/api/products/2", "/api"):
        conn.request("GET", path)
        r = conn.getresponse()
        assert r.status == 200 and r.version == 11, path
        r.read()
    conn.close()
    # a request that starts like the preface, but is not it
    with socket.create_connection(("127.0.0.1", h2c.port), timeout=10) as s:
        s.sendall(b"PRI /x HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 501 ")


def test_http11_over_tls_with_alpn(h2tls):
    ctx = ssl.create_default_context(cafile=str(h2tls.ca))
    ctx.set_alpn_protocols(["http/1.1"])
    conn = http.client.HTTPSConnection("localhost", h2tls.port, context=ctx, timeout=10)
    conn.request("GET", "/health")
    r = conn.getresponse()
    assert r.status == 200 and json.loads(r.read()) == {"status": "ok"}
    assert conn.sock.selected_alpn_protocol() == "http/1.1"
    conn.close()


def test_without_http2_the_preface_is_an_http11_error(tmp_path):
    s = ServeDemo(tmp_path, ["--port", "0"])
    try:
        with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
            c.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            assert re.match(rb"HTTP/1.1 (400|505) ", c.recv(100))
    finally:
        assert s.stop() == 0
    d = tmp_path / "tls"
    d.mkdir()
    s = ServeDemo(d, ["--port", "0", "--tls", "--write-ca", "ca.pem"])
    try:
        ctx = ssl.create_default_context(cafile=str(d / "ca.pem"))
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", s.port), timeout=10),
                             server_hostname="localhost") as c:
            assert c.selected_alpn_protocol() == "http/1.1"
    finally:
        assert s.stop() == 0


# --------------------------------------------------------------------------------------
# the API over HTTP/2 (python-h2)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("tls", [False, True])
def test_endpoints_bodies_head_and_errors(h2c, h2tls, tls):
    c = H2(h2tls.port, h2tls.ca) if tls else H2(h2c.port)
    try:
        status, hdrs, body = c.get("/health")
        assert status == 200 and json.loads(body) == {"status": "ok"}
        assert hdrs["content-type"] == "application/json" and "date" in hdrs
        status, hdrs, body = c.get("/api/products/1", "HEAD")
        assert status == 200 and body == b"" and int(hdrs["content-length"]) > 0
        login = json.dumps({"email": "user5@test.com", "password": "testpassword"}).encode()
        status, _, body = c.get("/api/auth/login", "POST", login,
                                [("content-type", "application/json")])
        assert status == 200, body
        token = json.loads(body)["token"]
        order = json.dumps({"productId": 3, "quantity": 2, "shippingAddress": "x"}).encode()
        status, _, body = c.get("/api/orders", "POST", order,
                                [("authorization", f"Bearer {token}")])
        assert status == 201 and json.loads(body)["data"]["quantity"] == 2
        status, _, _ = c.get("/api/orders", "POST", order)
        assert status == 401
        status, _, _ = c.get("/nope")
        assert status == 404
        status, hdrs, _ = c.get("/api/orders")
        assert status == 405 and hdrs["allow"] == "POST"
        status, _, _ = c.get("/health", "BREW")
        assert status == 501
        status, _, _ = c.get("/api/products?page=0")
        assert status == 400
        status, _, _ = c.get("/ws/echo")
        assert status == 400
        status, _, body = c.get("/api/orders", "POST", b"x" * 70000,
                                [("authorization", f"Bearer {token}")])
        assert status == 413, body
        status, _, body = c.get("/admin/config")
        assert status == 200 and "query_latency" in json.loads(body)
    finally:
        c.close()


def test_an_early_error_ends_the_stream_with_rst_stream(h2c):
    """413 as soon as content-length says so, then RST_STREAM (NO_ERROR): the rest of the
    body is not wanted (where HTTP/1.1 closes the connection); the connection stays."""
    c = H2(h2c.port)
    try:
        sid = c.conn.get_next_available_stream_id()
        c.streams[sid] = {"headers": None, "data": b"", "done": False, "reset": None}
        c.conn.send_headers(sid, [(":method", "POST"), (":path", "/api/orders"),
                                  (":scheme", "http"), (":authority", "x"),
                                  ("content-length", "70000")])
        c.flush()
        while c.streams[sid]["reset"] is None:
            c.pump()
        st = c.streams[sid]
        assert int(st["headers"][":status"]) == 413 and b"too large" in st["data"]
        assert st["reset"] == 0
        assert c.get("/health")[0] == 200
    finally:
        c.close()


def test_streams_are_multiplexed(h2c):
    before = requests_total(h2c.port)
    c = H2(h2c.port)
    try:
        sids = [c.request("GET", f"/api/products/{i}") for i in range(1, 101)]
        sids += [c.request("GET", "/health") for _ in range(20)]
        done = c.wait(*sids)
        assert all(int(st["headers"][":status"]) == 200 for st in done)
        assert [json.loads(st["data"])["id"] for st in done[:100]] == list(range(1, 101))
    finally:
        c.close()
    after = requests_total(h2c.port)
    key = ("GET", "/api/products/{id}", "200")
    assert after[key] - before.get(key, 0) == 100
    hk = ("GET", "/health", "200")
    assert after[hk] - before.get(hk, 0) == 20


def test_max_concurrent_streams_is_announced(h2c):
    c = H2(h2c.port)
    try:
        c.get("/health")
        assert c.conn.remote_settings.max_concurrent_streams == 128
    finally:
        c.close()


def test_client_reset_stream_leaves_the_connection_usable(h2c):
    c = H2(h2c.port)
    try:
        sid = c.request("GET", "/api/users/3/orders")
        c.conn.reset_stream(sid)
        c.flush()
        del c.streams[sid]
        status, _, _ = c.get("/health")
        assert status == 200
    finally:
        c.close()


@needs_nghttp
def test_graceful_stop_sends_goaway_and_finishes_streams(tmp_path):
    """SIGTERM while a stream is with a worker: GOAWAY (NO_ERROR), then its response."""
    s = ServeDemo(tmp_path, ["--port", "0", "--http2", "--query-latency", "300ms"])
    try:
        p = subprocess.Popen([NGHTTP, "-nv", f"http://127.0.0.1:{s.port}/api/products/9"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            while True:   # until the request is with a worker (not a timing assertion)
                conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
                conn.request("GET", "/metrics")
                text = conn.getresponse().read().decode()
                conn.close()
                if re.search(r"^demo_workers_busy [1-9]", text, re.M):
                    break
                assert p.poll() is None, p.stdout.read()
                time.sleep(0.02)
            s.terminate()
            out = p.communicate(timeout=30)[0]
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        assert re.search(r"recv GOAWAY frame.*\n.*error_code=NO_ERROR", out), out
        assert out.index("recv GOAWAY") < out.index(":status: 200"), out
        assert p.returncode == 0, out
    finally:
        assert s.stop() == 0, s.err.read_text()
