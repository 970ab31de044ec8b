"""The verdicts each test type exists for (issue #11): the steps table, the breaking point
and the knee (stress, breakpoint), pass/fail on the hold (smoke, load), soak drift, in the
result (analyses.testType), the summary and the HTML report.

Against `stampede serve-demo --workers 4 --query-latency 10ms` (about 390 good responses/s:
4 workers / 10.2 ms), on loopback. The runs are short (seconds per step); the figures the
assertions use are the server's capacity, not timings of this machine.
"""

import json
import subprocess
import time

import pytest

import hdrhist
from conftest import BIN, parse_result
from serve_demo_proc import ServeDemo

EXIT_OK, EXIT_THRESHOLDS, EXIT_ABORTED = 0, 99, 108


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    s = ServeDemo(tmp_path_factory.mktemp("demo"),
                  ["--port", "0", "--workers", "4", "--query-latency", "10ms"])
    yield f"http://127.0.0.1:{s.port}/api/products/42"
    s.stop()


def verdicts(r):
    with open(r.export) as f:
        doc = json.load(f)
    return doc["analyses"]["testType"], doc


# (a breakpoint test finding the demo's capacity, its steps table and the SLO that stopped
# it: test_assess_pool.py, on the assessment's breakpoint phase of the same demo)


def test_stress_steps_table_shows_the_knee(demo, stampede):
    r = stampede.load(demo, "--type", "stress", "--rate", "100", "--peak", "5", "--steps",
                      "5", "--ramp", "1s", "--step-duration", "2s", "--ramp-down", "0",
                      "--slo", "p95<100ms,errors<1%", timeout=120, expect=EXIT_THRESHOLDS)
    v, _ = verdicts(r)
    steps = v["steps"]
    assert [s["phase"] for s in steps] == [f"step {i} ({i}x)" for i in range(1, 6)]
    assert [s["offered"] for s in steps] == [100, 200, 300, 400, 500]
    for s in steps[:3]:  # well under capacity: served as offered, fast
        assert abs(s["throughput"] - s["offered"]) <= 0.05 * s["offered"], s
        assert s["ok"] and s["p95"] < 100, s
    for s in steps[4:]:  # past capacity: throughput flat near 390/s, p95 far over the SLO
        assert 330 <= s["throughput"] <= 420, s
        assert not s["ok"] and s["p95"] > 100, s
    bp = v["breakingPoint"]
    assert bp["found"] and bp["lastGood"] in (300, 400) and bp["firstBad"] in (400, 500), bp
    knee = v["knee"]
    assert knee and knee["offered"] in (400, 500) and 330 <= knee["throughput"] <= 420, knee
    # Little's law at the knee: N = X * R
    assert knee["concurrency"] > 1
    assert v["degradation"] in ("graceful", "collapse")
    # the summary shows the table and the findings
    r2 = stampede("report", r.export, "-o", r.export.with_suffix(".html"), expect=EXIT_OK)
    html = r.export.with_suffix(".html").read_text()
    assert 'id="test-type"' in html and "step 5 (5x)" in html and "breaking point" in html
    assert '<line class="mark"' in html, "the breaking point is marked on the charts"
    assert bp["atS"] == next(s for s in steps if s["offered"] == bp["firstBad"])["start"], bp


def test_load_passes_on_the_hold_and_the_summary_says_so(demo, stampede):
    r = stampede("run", "--url", demo, "--type", "load", "--rate", "50", "--ramp", "1s",
                 "--hold", "3s", "--ramp-down", "0", "--slo-preset", "user-facing",
                 timeout=60, expect=EXIT_OK)
    assert "load TEST at 50 iterations/s: pass" in r.stdout, r.stdout
    assert "p95<200ms held over the hold" in r.stdout, r.stdout
    r = stampede.load(demo, "--type", "load", "--rate", "50", "--ramp", "1s", "--hold", "3s",
                      "--ramp-down", "0", "--slo", "p95<1ms", expect=EXIT_THRESHOLDS)
    v, _ = verdicts(r)
    assert v["verdict"] == "fail" and v["steps"][0]["phase"] == "hold", v
    assert v["steps"][0]["slo"][0] == {"slo": "p95<1ms", "value": v["steps"][0]["p95"],
                                       "ok": False}


def test_window_histograms_are_exact_and_in_the_result(demo, stampede):
    r = stampede.load(demo, "--rate", "40", "--duration", "3s")
    with open(r.export) as f:
        doc = json.load(f)
    m = doc["metrics"]["http_req_duration"]
    w = m["windows"]
    assert w["step"] == 1 and len(w["t"]) == len(w["histograms"]) >= 3, w["t"]
    assert w["t"] == sorted(w["t"])
    # the windows hold every sample once: their counts add up to the metric's
    total = sum(hdrhist.decode(h).total_count for h in w["histograms"])
    series = sum(hdrhist.decode(s["histogram"]).total_count for s in m["series"])
    assert total == series > 100, (total, series)
    assert "windows" not in doc["metrics"]["http_req_waiting"]


def test_soak_reports_the_injected_drift(tmp_path_factory, stampede):
    # the demo slows every request by 50 ms more every 10 s (5 ms/s = 18,000 ms per hour);
    # 16 workers at 20 requests/s never queue, so p95 follows the drift alone
    s = ServeDemo(tmp_path_factory.mktemp("drift"),
                  ["--port", "0", "--workers", "16", "--query-latency", "1ms",
                   "--latency-drift", "50ms/10s"])
    try:
        html = tmp_path_factory.mktemp("drift-report") / "r.html"
        r = stampede.load(f"http://127.0.0.1:{s.port}/api/products/42", "--type", "soak",
                          "--rate", "20", "--ramp", "1s", "--hold", "15s", "--ramp-down", "0",
                          "--out", f"html={html}", timeout=120)
    finally:
        s.stop()
    v, _ = verdicts(r)
    d = v["drift"]
    assert d["verdict"] == "drifting", d
    p95 = d["p95"]
    assert p95["direction"] == 1 and p95["drifting"], p95
    assert abs(p95["slopePerHour"] - 18000) <= 0.25 * 18000, p95
    assert p95["slopeLowPerHour"] <= p95["slopePerHour"] <= p95["slopeHighPerHour"], p95
    assert p95["describe"].startswith("rises"), p95
    assert any(f.startswith("p95 rises") for f in v["findings"]), v["findings"]
    assert "p95 trend (Sen" in html.read_text(), "the drift is drawn on the latency chart"


@pytest.mark.parametrize("slo,material", [("p95<2000ms", False), ("p95<400ms", True)])
def test_a_soak_drift_is_judged_against_the_room_under_the_slo(tmp_path_factory, stampede,
                                                               slo, material):
    # p95 rises about 90 ms over the judged hold (50 ms every 10 s): far more than 10% of its
    # level (a few ms), so without an objective it would fail the soak; it fails it only
    # when it also takes 10% of the room under the p95 objective (400 ms: 40 ms, yes; 2 s:
    # 200 ms would be needed, no). The rise is large next to a busy machine's few ms of
    # scheduling noise in a window's p95 (at 5 ms/10s, 9 ms over the span, it was not)
    s = ServeDemo(tmp_path_factory.mktemp("drift-slo"),
                  ["--port", "0", "--workers", "16", "--query-latency", "1ms",
                   "--latency-drift", "50ms/10s"])
    try:
        r = stampede.load(f"http://127.0.0.1:{s.port}/api/products/42", "--type", "soak",
                          "--rate", "20", "--ramp", "1s", "--hold", "20s", "--ramp-down", "0",
                          "--slo", slo, timeout=120)
    finally:
        s.stop()
    v, _ = verdicts(r)
    p95 = v["drift"]["p95"]
    assert p95["drifting"] and p95["direction"] == 1, p95
    assert 50 <= p95["changeOverSpan"] <= 200, p95
    assert p95["material"] is material, p95
    assert v["verdict"] == ("fail" if material else "pass"), v


def test_a_target_that_dies_fails_the_load(tmp_path):
    # refused connections are failed requests at 0 ms: they must not read as a target still
    # answering (and pull p95 down to a pass) once it is gone
    s = ServeDemo(tmp_path, ["--port", "0"])
    out = tmp_path / "r.json"
    p = subprocess.Popen([BIN, "run", "--url", f"http://127.0.0.1:{s.port}/api/products/1",
                          "--type", "load", "--rate", "20", "--ramp", "1s", "--hold", "14s",
                          "--ramp-down", "0", "--slo", "p95<500ms", "--no-summary",
                          "--out", f"result={out}"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(4)
    finally:
        s.stop()
    p.communicate(timeout=60)
    v = parse_result(out.read_text())["analyses"]["testType"]
    assert v["verdict"] == "fail", v
    assert 2 <= v["responsesStoppedAt"] <= 10, v
    assert any("no request succeeded after" in f for f in v["findings"]), v["findings"]


def test_a_long_think_time_is_not_a_target_that_stopped(tmp_path):
    # two VUs each send one request, then think 6 s past the smoke's end: no request went
    # unanswered, so the target did not stop answering
    s = ServeDemo(tmp_path, ["--port", "0"])
    script = tmp_path / "think.lua"
    script.write_text('local http = require "stampede.http"\n'
                      'function default()\n'
                      '  http.get(stampede.env.BASE_URL .. "/health")\n'
                      '  stampede.sleep(6)\n'
                      'end\n')
    out = tmp_path / "r.json"
    try:
        p = subprocess.run([BIN, "run", str(script), "-e", f"BASE_URL=http://127.0.0.1:{s.port}",
                            "--type", "smoke", "--vus", "2", "--hold", "5s", "--slo",
                            "p95<5s", "--no-summary", "-q", "--out", f"result={out}"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    finally:
        s.stop()
    assert p.returncode == 0, p.stderr
    v = parse_result(out.read_text())["analyses"]["testType"]
    assert "responsesStoppedAt" not in v, v
    assert v["verdict"] == "pass", v


def test_spike_recovery_matches_queueing_theory(demo, stampede):
    """100/s, then 1,000/s for 4 s, then 100/s again, against 4 workers behind a queue of
    1,024 (beyond which the demo answers 503 at once). The spike fills the server to
    N = workers + queue = 1,028 requests; afterwards the backlog drains at mu - lambda0
    (service rate minus the base rate). A request arriving t s after the spike waits for the
    N - (mu - lambda0) t ahead of it, so latency falls under the 100 ms SLO for requests
    arriving after t* = (N - 0.1 mu) / (mu - lambda0), which complete at t* + 0.1 s: the
    expected recovery time. The generator may not be the bottleneck: --max-vus 3000."""
    r = stampede.load(demo, "--type", "spike", "--rate", "100", "--peak", "10", "--warmup",
                      "3s", "--hold", "4s", "--observe", "14s", "--max-vus", "3000", "--slo",
                      "p95<100ms", timeout=120, expect=EXIT_THRESHOLDS)
    v, _ = verdicts(r)
    sp = v["spike"]
    spike_row = next(s for s in v["steps"] if s["phase"].startswith("spike"))
    # mu, measured: during the spike the server is saturated; its good answers are its rate
    mu = spike_row["throughput"] * (1 - spike_row["errorRate"])
    assert 330 <= mu <= 420, spike_row
    n, lam0, slo = 4 + 1024, 100, 0.100
    expected = (n - slo * mu) / (mu - lam0) + slo
    assert sp["recovered"] is True, sp
    # one window of resolution (1 s) plus half a second for mu's measurement
    assert abs(sp["recoverySeconds"] - expected) <= 1.5, (sp, expected, mu)
    # during the spike: the queue's wait (N / mu, about 2.6 s) and the 503s beyond it
    assert abs(sp["p95"] / 1000 - n / mu) <= 0.3 * n / mu, (sp, n / mu)
    assert sp["errorRate"] > 0.3, sp
