"""HTTPS: certificate verification (--insecure, --cacert), TLS error kinds, handshake
metric. The server's certificates are self-signed and made at fixture time (conftest)."""

import socket

import pytest

from accounting import assert_accounting
from conftest import (ERROR_CODES, EXIT_CONFIG, EXIT_OK, EXIT_THRESHOLDS, errors_by_kind,
                      metric)

N = 20


@pytest.fixture(scope="module")
def localhost_is_loopback():
    try:
        addrs = {ai[4][0] for ai in socket.getaddrinfo("localhost", 443, type=socket.SOCK_STREAM)}
    except OSError:
        addrs = set()
    if not addrs or not addrs <= {"127.0.0.1", "::1"}:
        pytest.skip(f"'localhost' does not resolve to loopback only here: {addrs}")


def assert_success(r, server, n=N):
    assert metric(r.summary, "http_reqs")["count"] == n
    assert metric(r.summary, "http_req_failed")["rate"] == 0
    assert r.summary.get("errors", []) == [], r.summary["errors"]
    assert server.requests == n
    assert_accounting(r.summary, server_count=server.requests)


def assert_all_failed_with(r, kind, n, server):
    errs = errors_by_kind(r.summary)
    assert kind in errs, f"expected {kind!r}, got {r.summary['errors']}"
    assert errs[kind]["code"] == ERROR_CODES[kind], errs[kind]
    assert errs[kind]["count"] == n, r.summary["errors"]
    assert set(errs) == {kind}, r.summary["errors"]
    assert metric(r.summary, "http_req_failed")["rate"] == 1
    # a failed handshake: the request never reached the server, yet counts in http_reqs
    assert_accounting(r.summary, server_count=server.requests)
    assert server.requests == 0


def test_untrusted_certificate_fails(tls_server, stampede):
    r = stampede.load(tls_server.url, "--iterations", "5", timeout=30,
                      expect=(EXIT_OK, EXIT_THRESHOLDS))
    assert_all_failed_with(r, "tls_unknown_authority", 5, tls_server)


def test_wrong_cacert_fails(tls_server, certs, stampede):
    other_ca = certs["dns"][0]
    r = stampede.load(tls_server.url, "--cacert", other_ca, "--iterations", "5", timeout=30,
                      expect=(EXIT_OK, EXIT_THRESHOLDS))
    assert_all_failed_with(r, "tls_unknown_authority", 5, tls_server)


def test_insecure_succeeds(tls_server, stampede):
    r = stampede.load(tls_server.url, "--insecure", "--iterations", N, "--vus", "2",
                      timeout=30)
    assert_success(r, tls_server)
    # each VU keeps its own connection: two handshakes in all
    assert 1 <= tls_server.connections <= 2, f"{tls_server.connections} TLS connections for 2 VUs"


def test_tls_handshaking_metric(tls_server, stampede):
    r = stampede.load(tls_server.url, "--insecure", "--iterations", "10", "--vus", "2",
                      timeout=30)
    assert_accounting(r.summary, server_count=tls_server.requests)
    hs = metric(r.summary, "http_req_tls_handshaking")
    assert hs["type"] == "trend", hs
    assert hs["max"] > 0, hs


def test_cacert_with_hostname(tls_server, stampede, localhost_is_loopback):
    url = f"https://localhost:{tls_server.port}/"
    r = stampede.load(url, "--cacert", tls_server.cert, "--iterations", N, "--vus", "2",
                      timeout=30)
    assert_success(r, tls_server)


def test_cacert_with_ip_san(tls_server, stampede):
    r = stampede.load(tls_server.url, "--cacert", tls_server.cert, "--iterations", N,
                      "--vus", "2", timeout=30)
    assert_success(r, tls_server)


def test_hostname_mismatch(tls_server_dns_only, stampede):
    # the certificate names DNS:localhost only; the URL's host is 127.0.0.1
    r = stampede.load(tls_server_dns_only.url, "--cacert", tls_server_dns_only.cert,
                      "--iterations", "5", timeout=30, expect=(EXIT_OK, EXIT_THRESHOLDS))
    assert_all_failed_with(r, "tls_hostname_mismatch", 5, tls_server_dns_only)


def test_missing_cacert_file_is_config_error(tls_server, stampede, tmp_path):
    r = stampede("run", "--url", tls_server.url, "--cacert", tmp_path / "nope.pem",
                 "--iterations", "1", timeout=15, expect=EXIT_CONFIG)
    assert "nope.pem" in r.stderr, r
    assert tls_server.connections == 0
