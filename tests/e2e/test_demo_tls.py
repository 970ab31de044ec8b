"""`stampede serve-demo --tls --write-ca FILE` (docs/demo.md, "HTTPS"), and the index
pages `/` and `/api` that the README's tour loads."""

import http.client
import json
import re
import socket
import ssl

import pytest

from conftest import EXIT_CONFIG, metric
from serve_demo_proc import ServeDemo

@pytest.fixture(scope="module")
def tls_demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("tlsdemo")
    s = ServeDemo(d, ["--port", "0", "--tls", "--write-ca", "ca.pem", "--request-timeout",
                      "500ms"])
    s.ca = d / "ca.pem"
    yield s
    assert s.stop() == 0, s.err.read_text()


@pytest.fixture(scope="module")
def plain_demo(tmp_path_factory):
    s = ServeDemo(tmp_path_factory.mktemp("demo"), ["--port", "0"])
    yield s
    assert s.stop() == 0, s.err.read_text()


def https(demo, host="localhost"):
    ctx = ssl.create_default_context(cafile=str(demo.ca))
    return http.client.HTTPSConnection(host, demo.port, context=ctx, timeout=10)


def get(conn, path, method="GET"):
    conn.request(method, path)
    r = conn.getresponse()
    return r.status, r.getheader("Content-Type"), r.read()


# --------------------------------------------------------------------------------------
# flags
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("args,needle", [
    (["--write-ca", "ca.pem"], "--write-ca needs --tls"),
    (["--tls", "--write-ca", "/nonexistent-dir/ca.pem"], "--write-ca"),
    (["--tls=yes"], "--tls"),
])
def test_bad_tls_flags_are_refused(stampede, tmp_path, args, needle):
    r = stampede("serve-demo", "--port", "0", *args, expect=EXIT_CONFIG, timeout=10)
    assert needle in r.stderr, r.stderr
    assert not (tmp_path / "ca.pem").exists()


def test_help_lists_the_tls_flags(stampede):
    out = stampede("serve-demo", "--help", expect=0).stdout
    assert "--tls" in out and "--write-ca FILE" in out and "default 1ms" in out


# --------------------------------------------------------------------------------------
# HTTPS
# --------------------------------------------------------------------------------------
def test_certificate_is_written_before_the_server_says_it_listens(tls_demo):
    assert tls_demo.scheme == "https"
    pem = tls_demo.ca.read_text()
    assert pem.startswith("-----BEGIN CERTIFICATE-----\n"), pem[:100]
    assert pem.count("BEGIN CERTIFICATE") == 1 and "PRIVATE KEY" not in pem
    assert "--cacert" in tls_demo.out.read_text()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_clients_that_trust_the_written_certificate_verify_it(tls_demo, host):
    conn = https(tls_demo, host)
    status, ctype, body = get(conn, "/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    # keep-alive: a second request on the same TLS connection, and a larger body
    status, _, body = get(conn, "/api/products?page=1&limit=100")
    assert status == 200 and len(json.loads(body)["data"]) == 100
    conn.close()


def test_a_client_without_the_certificate_refuses_it(tls_demo):
    ctx = ssl.create_default_context()  # the system's CAs only
    conn = http.client.HTTPSConnection("localhost", tls_demo.port, context=ctx, timeout=10)
    with pytest.raises(ssl.SSLCertVerificationError):
        conn.request("GET", "/health")
    conn.close()


def test_stampede_verifies_with_cacert_and_reports_unknown_authority_without(stampede,
                                                                             tls_demo):
    url = f"https://localhost:{tls_demo.port}/api/products/7"
    ok = stampede.load(url, "--cacert", tls_demo.ca, "--vus", "2", "--iterations", "50")
    assert metric(ok.summary, "http_reqs")["count"] == 50
    bad = stampede.load(url, "--vus", "1", "--iterations", "3")
    kinds = {e.get("kind") or e.get("name") for e in bad.summary["errors"]}
    assert "tls_unknown_authority" in kinds, bad.summary["errors"]


def test_plain_http_and_silent_clients_are_disconnected(tls_demo):
    with socket.create_connection(("127.0.0.1", tls_demo.port), timeout=10) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        try:   # no plain-text answer: a TLS alert at most, then the end or a reset
            got = s.recv(4096)
            assert b"HTTP/1.1" not in got and s.recv(4096) == b"", got
        except ConnectionResetError:
            pass
    with socket.create_connection(("127.0.0.1", tls_demo.port), timeout=10) as s:
        # no ClientHello: closed after --request-timeout (500 ms here), well before 10 s
        assert s.recv(4096) == b""
    conn = https(tls_demo)
    assert get(conn, "/ready")[0] == 200, "the server still serves"
    conn.close()


# --------------------------------------------------------------------------------------
# the index pages
# --------------------------------------------------------------------------------------
def test_root_and_api_list_the_endpoints(plain_demo):
    conn = http.client.HTTPConnection("127.0.0.1", plain_demo.port, timeout=10)
    status, ctype, text = get(conn, "/")
    assert status == 200 and ctype.startswith("text/plain"), (status, ctype)
    status, ctype, body = get(conn, "/api")
    assert status == 200 and ctype == "application/json"
    index = json.loads(body)
    paths = [e["path"] for e in index["endpoints"]]
    assert {"/api/auth/login", "/api/products/{id}", "/api/orders", "/health",
            "/metrics", "/api"} <= set(paths), paths
    for e in index["endpoints"]:
        assert e["path"] in text.decode() and e["description"]
        if e["method"] == "GET":   # every GET that it lists answers
            path = e["path"].replace("{id}", "7")
            assert get(conn, path)[0] == 200, path
    status, _, body = get(conn, "/api", "HEAD")
    assert status == 200 and body == b""
    status, _, _ = get(conn, "/", "POST")
    assert status == 405
    conn.close()


def test_index_pages_have_their_own_metrics_labels(plain_demo):
    conn = http.client.HTTPConnection("127.0.0.1", plain_demo.port, timeout=10)
    get(conn, "/")
    get(conn, "/api")
    _, _, body = get(conn, "/metrics")
    text = body.decode()
    assert re.search(r'http_requests_total\{method="GET",route="/",status="200"\} \d+', text)
    assert re.search(r'http_requests_total\{method="GET",route="/api",status="200"\} \d+',
                     text)
    conn.close()
