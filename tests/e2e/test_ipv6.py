"""IPv6 literal URLs over ::1 (skipped when IPv6 loopback does not work here)."""

from accounting import assert_accounting
from conftest import metric


def test_ipv6_literal_url(require_ipv6, nginx, stampede):
    before = nginx.access_count()
    r = stampede.load(nginx.url6, "--iterations", "50", "--vus", "2", timeout=30)
    assert metric(r.summary, "http_reqs")["count"] == 50
    assert metric(r.summary, "http_req_failed")["rate"] == 0
    nginx.settled_count(since=before)
    lines = nginx.access_lines()[before:]
    assert len(lines) == 50, f"nginx logged {len(lines)} requests"
    assert_accounting(r.summary, server_count=len(lines))
    assert all(line.split()[0] == "::1" for line in lines), lines[:3]


def test_ipv6_literal_url_with_path_and_query(require_ipv6, nginx, stampede):
    url = f"http://[::1]:{nginx.port}/some/path?x=1&y=2"
    r = stampede.load(url, "--iterations", "5", timeout=30)
    assert metric(r.summary, "http_req_failed")["rate"] == 0
    assert_accounting(r.summary, server_count=nginx.settled_count())
    assert any('"GET /some/path?x=1&y=2 HTTP/1.' in line for line in nginx.access_lines()), \
        nginx.access_lines()[-3:]


def test_ipv6_tls(require_ipv6, tls_server, stampede):
    r = stampede.load(tls_server.url6, "--insecure", "--iterations", "10", timeout=30)
    assert metric(r.summary, "http_reqs")["count"] == 10
    assert metric(r.summary, "http_req_failed")["rate"] == 0
    assert tls_server.requests == 10
    assert_accounting(r.summary, server_count=10)
