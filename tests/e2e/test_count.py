"""The key acceptance test: stampede's request count equals the server's, exactly.

nginx writes one access-log line per request it answered (unbuffered), so
metrics.http_reqs.count must equal the number of lines the run added to the log.
"""

import json
import pytest

import hdrhist
from accounting import assert_accounting
from conftest import TREND_STATS, metric


@pytest.fixture(scope="module")
def vus20(nginx_factory, stampede):
    """One 5 s closed-model run with 20 VUs against a fresh nginx, shared by the tests
    below: (result, access-log lines added by the run)."""
    ng = nginx_factory()
    before = ng.access_count()
    r = stampede.load(ng.url, "--vus", "20", "--duration", "5s", timeout=45)
    lines = ng.settled_count(since=before)
    r.nginx_lines = ng.access_lines()[before:]
    ng.stop()
    return r, lines


def test_duration_run_count_matches_access_log(vus20):
    r, lines = vus20
    count = metric(r.summary, "http_reqs")["count"]
    assert lines > 0, "nginx logged no request"
    assert count == lines, (f"http_reqs.count={count} but nginx answered {lines} "
                            f"requests ({count - lines:+d})")
    assert_accounting(r.summary, server_count=lines)


def test_duration_run_has_no_failures(vus20):
    r, _ = vus20
    failed = metric(r.summary, "http_req_failed")
    count = metric(r.summary, "http_reqs")["count"]
    assert failed["type"] == "rate"
    assert failed["rate"] == 0, failed
    assert failed["passes"] == 0, failed
    assert failed["fails"] == count, (failed, count)
    assert r.summary.get("errors", []) == [], r.summary.get("errors")


def test_duration_run_counter_fields(vus20):
    r, _ = vus20
    reqs = metric(r.summary, "http_reqs")
    assert reqs["type"] == "counter"
    assert isinstance(reqs["count"], int), reqs
    assert reqs["rate"] > 0, reqs


def test_duration_run_trend_stats(vus20):
    r, _ = vus20
    dur = metric(r.summary, "http_req_duration")
    assert dur["type"] == "trend"
    missing = [k for k in TREND_STATS if k not in dur]
    assert not missing, f"http_req_duration lacks {missing}: {dur}"
    assert 0 <= dur["min"] <= dur["med"] <= dur["p(90)"] <= dur["p(95)"] <= dur["p(99)"] \
        <= dur["p(99.9)"] <= dur["max"], dur
    assert dur["min"] <= dur["avg"] <= dur["max"], dur


def test_duration_run_histogram(vus20):
    """The result file keeps each trend series' HDR histogram (V2 encoding): together they
    hold every request's duration."""
    r, _ = vus20
    doc = json.loads(r.export.read_text())
    series = doc["metrics"]["http_req_duration"]["series"]
    assert series, doc["metrics"]["http_req_duration"]
    total, lo, hi = 0, None, 0
    for s in series:
        enc = s["histogram"]
        assert enc.startswith("HISTFAA"), enc[:40]
        h = hdrhist.decode(enc)
        total += h.total_count
        assert h.total_count == s["values"]["count"], (h.total_count, s["values"])
        slo, shi = h.max_range()
        hi = max(hi, shi)
        lo = slo if lo is None else max(lo, slo)
    count = metric(r.summary, "http_reqs")["count"]
    assert total == count, f"histograms hold {total} values, {count} requests"
    # the histograms record microseconds; the highest bucket must hold the trend's max (ms)
    max_us = metric(r.summary, "http_req_duration")["max"] * 1000
    assert max_us <= hi * 1.01 + 1, (hi, max_us)


def test_duration_run_timeseries(vus20):
    r, _ = vus20
    ts = r.summary.get("timeseries")
    assert isinstance(ts, list) and ts, f"timeseries is empty: {ts!r}"
    for series in ts:
        assert {"metric", "columns", "points"} <= set(series), series
        assert series["points"], series
        for point in series["points"]:
            assert len(point) == len(series["columns"]), (series["columns"], point)
    assert any(s["metric"] == "http_req_duration" for s in ts), [s["metric"] for s in ts]


def test_duration_run_state(vus20):
    r, _ = vus20
    state = r.summary["state"]
    assert state["interrupted"] is False and state["aborted"] is False, state
    assert state["testRunDurationMs"] >= 4900, state  # a 5 s run cannot be shorter


def test_iterations_exact(nginx, stampede):
    before = nginx.access_count()
    r = stampede.load(nginx.url, "--iterations", "1000", "--vus", "10", timeout=60)
    lines = nginx.settled_count(since=before)
    assert lines == 1000, f"nginx answered {lines} requests for --iterations 1000"
    assert_accounting(r.summary, server_count=lines)
    assert metric(r.summary, "http_reqs")["count"] == 1000
    assert metric(r.summary, "http_req_failed")["rate"] == 0


def test_iterations_exact_counting_server(counting_server, stampede):
    r = stampede.load(counting_server.url, "--iterations", "300", "--vus", "3", timeout=60)
    assert counting_server.requests == 300
    assert_accounting(r.summary, server_count=300)
    assert metric(r.summary, "http_reqs")["count"] == 300


def test_duration_count_counting_server(counting_server, stampede):
    r = stampede.load(counting_server.url, "--vus", "4", "--duration", "2s", timeout=45)
    count = metric(r.summary, "http_reqs")["count"]
    assert count > 0
    assert_accounting(r.summary, server_count=counting_server.requests)
    assert count == counting_server.requests, \
        f"http_reqs.count={count}, server answered {counting_server.requests}"


def test_stages_count_counting_server(counting_server, stampede):
    r = stampede.load(counting_server.url, "--stages", "1s:4,1s:0", timeout=45)
    count = metric(r.summary, "http_reqs")["count"]
    assert count > 0
    assert_accounting(r.summary, server_count=counting_server.requests)
    assert count == counting_server.requests, \
        f"http_reqs.count={count}, server answered {counting_server.requests}"


def test_each_vu_keeps_its_connection(vus20):
    # `$connection` (nginx's connection serial number) is the 2nd field of each line
    r, _ = vus20
    conns = {line.split()[1] for line in r.nginx_lines}
    assert len(conns) == 20, f"{len(conns)} connections for 20 keep-alive VUs"
    assert all(line.split()[3] == "200" for line in r.nginx_lines)
    assert r.summary["options"]["vus"] == 20, r.summary.get("options")
