"""Thresholds: exit codes 0/99/108, thresholds[] and per-metric results, sub-metrics."""

import pytest

from accounting import assert_accounting
from conftest import EXIT_ABORTED, EXIT_THRESHOLDS, metric


def threshold_entry(summary, selector, expression):
    entries = summary.get("thresholds")
    assert isinstance(entries, list), f"'thresholds' is not a list: {entries!r}"
    for e in entries:
        if e.get("selector") == selector and e.get("expression") == expression:
            return e
    raise AssertionError(f"no thresholds[] entry {selector}: {expression} in {entries}")


def summary_lines_with(stdout, text):
    lines = [ln for ln in stdout.splitlines() if text in ln]
    assert lines, f"stdout summary does not mention {text!r}:\n{stdout}"
    return lines


def test_passing_thresholds(counting_server, stampede):
    r = stampede.load(counting_server.url, "--iterations", "50", "--vus", "2",
                      "--threshold", "http_req_duration: p(95)<5000",
                      "--threshold", "http_req_failed: rate<0.01",
                      "--threshold", "http_reqs: count==50", expect=0)
    entries = r.summary["thresholds"]
    assert len(entries) == 3, entries
    for e in entries:
        assert {"metric", "selector", "expression", "value", "ok", "abortOnFail"} <= set(e), e
        assert e["ok"] is True, e
        assert e["abortOnFail"] is False, e
    e = threshold_entry(r.summary, "http_req_duration", "p(95)<5000")
    assert e["metric"] == "http_req_duration"
    assert e["value"] == pytest.approx(metric(r.summary, "http_req_duration")["p(95)"],
                                       rel=1e-3, abs=1e-3)
    assert threshold_entry(r.summary, "http_reqs", "count==50")["value"] == 50
    dur = metric(r.summary, "http_req_duration")
    assert dur["thresholds"]["p(95)<5000"]["ok"] is True, dur.get("thresholds")
    assert metric(r.summary, "http_req_failed")["thresholds"]["rate<0.01"]["ok"] is True
    assert_accounting(r.summary, server_count=counting_server.requests)


def test_failing_threshold_exit_99(counting_server, stampede):
    r = stampede.load(counting_server.url, "--iterations", "20", "--vus", "2",
                      "--threshold", "http_req_duration: p(95)<0",
                      "--threshold", "http_reqs: count>0", expect=EXIT_THRESHOLDS)
    bad = threshold_entry(r.summary, "http_req_duration", "p(95)<0")
    assert bad["ok"] is False, bad
    assert bad["value"] > 0, bad
    assert threshold_entry(r.summary, "http_reqs", "count>0")["ok"] is True
    assert metric(r.summary, "http_req_duration")["thresholds"]["p(95)<0"]["ok"] is False
    for line in summary_lines_with(r.stdout, "p(95)<0"):
        assert "✗" in line or "FAIL" in line.upper(), f"failed threshold not marked: {line!r}"
    assert_accounting(r.summary, server_count=counting_server.requests)


def test_failed_requests_fail_rate_threshold(free_port, stampede):
    r = stampede.load(f"http://127.0.0.1:{free_port}/", "--iterations", "5",
                      "--threshold", "http_req_failed: rate<0.01", expect=EXIT_THRESHOLDS)
    e = threshold_entry(r.summary, "http_req_failed", "rate<0.01")
    assert e["ok"] is False and e["value"] == 1, e
    assert_accounting(r.summary, server_count=0)   # connection refused: none reached one


def test_submetric_threshold(counting_server, stampede):
    r = stampede.load(counting_server.url, "--iterations", "30", "--vus", "2",
                      "--threshold", "http_reqs{status:200}: count>0",
                      "--threshold", "http_req_duration{status:200}: p(99)<5000", expect=0)
    sub = metric(r.summary, "http_reqs{status:200}")
    assert sub["count"] == metric(r.summary, "http_reqs")["count"] == 30, sub
    e = threshold_entry(r.summary, "http_reqs{status:200}", "count>0")
    assert e["metric"] == "http_reqs" and e["ok"] is True, e
    subdur = metric(r.summary, "http_req_duration{status:200}")
    assert "p(99)" in subdur, subdur
    assert threshold_entry(r.summary, "http_req_duration{status:200}", "p(99)<5000")["ok"]
    assert_accounting(r.summary, server_count=counting_server.requests)


def test_abort_on_fail(counting_server, stampede):
    r = stampede.load(counting_server.url, "--vus", "2", "--duration", "20s",
                      "--threshold-abort", "http_req_duration: p(95)<0",
                      timeout=15, expect=EXIT_ABORTED)
    assert r.summary["state"]["aborted"] is True, r.summary["state"]
    e = threshold_entry(r.summary, "http_req_duration", "p(95)<0")
    assert e["ok"] is False and e["abortOnFail"] is True, e
    assert "http_reqs" in r.stdout, f"no summary on stdout\n{r}"
    # requests cut by the abort are counted once (interrupted), and fail nothing
    assert_accounting(r.summary, server_count=counting_server.requests)


def test_abort_delay(counting_server, stampede):
    r = stampede.load(counting_server.url, "--vus", "2", "--duration", "20s",
                      "--threshold-abort", "http_req_duration: p(95)<0",
                      "--abort-delay", "2s", timeout=15, expect=EXIT_ABORTED)
    state = r.summary["state"]
    assert state["aborted"] is True, state
    # abort thresholds are not evaluated before --abort-delay has passed
    assert state["testRunDurationMs"] >= 1950, state
    assert_accounting(r.summary, server_count=counting_server.requests)


def test_a_misspelt_metric_is_refused_with_a_suggestion(counting_server, stampede):
    """A threshold on a metric that does not exist is refused before anything is sent,
    naming the closest metric that does."""
    from conftest import EXIT_CONFIG
    r = stampede("run", "--url", counting_server.url, "--iterations", "5",
                 "--threshold", "http_req_duraton: p(95)<100", expect=EXIT_CONFIG)
    assert "unknown metric 'http_req_duraton' (did you mean 'http_req_duration'?)" \
        in r.stderr, r.stderr
    assert counting_server.requests == 0
