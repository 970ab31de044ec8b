"""SIGINT/SIGTERM: exit 105, the summary is still printed and --summary-export written.

The first signal stops new iterations and lets in-flight requests finish for up to
--grace; a second one stops at once (docs/cli.md).
"""

import signal
import time

import pytest

from accounting import assert_accounting, interrupted, settled
from conftest import EXIT_INTERRUPTED, check_rc, interrupted_summary, metric, read_summary


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}", pytrace=False)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_writes_summary(nginx, spawn, tmp_path, sig):
    export = tmp_path / "summary.json"
    before = nginx.access_count()
    p = spawn("run", "--url", nginx.url, "--vus", "4", "--duration", "30s", "--quiet",
              "--out", f"result={export}")
    wait_for(lambda: nginx.access_count() > before or p.poll() is not None, 10,
             "the first request to reach nginx")
    time.sleep(1.0)
    p.signal(sig)
    r = p.wait(timeout=10)
    s = interrupted_summary(r, export, "http_reqs")
    count = metric(s, "http_reqs")["count"]
    assert count > 0
    # in-flight requests were allowed to finish: the counts still agree exactly
    lines = nginx.settled_count(since=before)
    assert count == lines
    assert_accounting(s, server_count=lines)
    assert interrupted(s) == 0, s["errors"]


def test_double_sigint_stops_at_once(slow_server, spawn, tmp_path):
    export = tmp_path / "summary.json"
    p = spawn("run", "--url", slow_server.url, "--vus", "4", "--duration", "30s", "--quiet",
              "--out", f"result={export}")
    wait_for(lambda: slow_server.requests >= 4 or p.poll() is not None, 10,
             "the 4 VUs' requests to reach the server")
    p.signal(signal.SIGINT)
    time.sleep(0.2)
    p.signal(signal.SIGINT)
    r = p.wait(timeout=5)   # the held requests (60 s timeout, 30 s grace) must not matter
    # no request ever completed, so the summary may list no http_reqs; it is still printed
    s = interrupted_summary(r, export)
    # the 4 requests the server held were cut: each counted once, as interrupted
    n = settled(lambda: slow_server.requests)
    assert_accounting(s, server_count=n)
    assert interrupted(s) == n == 4, (s["errors"], n)


def test_sigint_waits_at_most_grace(slow_server, spawn, tmp_path):
    export = tmp_path / "summary.json"
    p = spawn("run", "--url", slow_server.url, "--vus", "2", "--duration", "30s", "--quiet",
              "--grace", "1s", "--out", f"result={export}")
    wait_for(lambda: slow_server.requests >= 1 or p.poll() is not None, 10,
             "the first request to reach the server")
    p.signal(signal.SIGINT)
    r = p.wait(timeout=6)   # --grace 1s, not the 60 s request timeout
    check_rc(r, EXIT_INTERRUPTED)
    s = read_summary(export, r)
    assert s["state"]["interrupted"] is True, s["state"]
    n = settled(lambda: slow_server.requests)
    assert_accounting(s, server_count=n)
    assert interrupted(s) == n >= 1, (s["errors"], n)
