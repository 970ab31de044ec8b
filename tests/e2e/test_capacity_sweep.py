"""`stampede capacity sweep` (issue #14, docs/capacity.md) end to end on the demo target.

The issue's proof: a sweep against `serve-demo --workers 4 --query-latency 10ms` (four
workers, each holding a request 10 ms: at most 400 responses/s) fits the Universal
Scalability Law with X_max within 10% of the demo's real capacity, and a plan built from
that fit gives the instance counts for 2x, 5x and 10x a stated current load. The sweep's
result carries the steps and the fit (analyses.capacity); the summary and the HTML report
show them. The sweep measures throughput, so the module is in the serial group.
"""

import json
import math
import re
from pathlib import Path

import pytest

from browser import Chromium, TrapProxy, page_hits
from conftest import BIN, EXIT_CONFIG, strict_json, validate_result
from serve_demo_proc import ServeDemo

CAPACITY = 400.0  # 4 workers / 10 ms
LEVELS = "1,2,4,8,16"
BUILD_DIR = Path(BIN).resolve().parent


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, stampede):
    d = tmp_path_factory.mktemp("sweep")
    demo = ServeDemo(d, ["--port", 0, "--workers", 4, "--query-latency", "10ms"])
    try:
        out = d / "sweep.json"
        r = stampede("capacity", "sweep", "--url",
                     f"http://127.0.0.1:{demo.port}/api/products/1", "--concurrency", LEVELS,
                     "--step", "3s", "--warmup", "1s", "--no-color", "--monitor-pid",
                     demo.proc.pid, "--out", f"result={out}", timeout=90, expect=0)
    finally:
        demo.stop()
    doc = strict_json(out.read_text())
    return {"dir": d, "run": r, "file": out, "doc": doc}


def test_sweep_fits_the_demos_capacity(sweep):
    doc = sweep["doc"]
    validate_result(doc)
    tt = doc["options"]["testType"]
    assert tt["type"] == "stress" and tt["model"] == "closed", tt
    steps = doc["analyses"]["testType"]["steps"]
    assert [s["offered"] for s in steps] == [1, 2, 4, 8, 16], steps
    # the knee of the closed model: 4 VUs serve about 4 x 95/s, 8 add latency, not
    # throughput (on a busy machine 4 VUs may fall short of it: the knee is then at 8)
    knee = doc["analyses"]["testType"]["knee"]
    assert knee and knee["offered"] in (4, 8) and 300 <= knee["throughput"] <= 420, knee
    assert any(f.startswith(f"throughput knee at {knee['offered']:g} VUs")
               for f in doc["analyses"]["testType"]["findings"]), doc["analyses"]["testType"]
    # past the knee the VUs queue for the 4 workers, CPU low: the pool is named
    bn = doc["analyses"]["bottleneck"]
    assert bn["verdict"] == "pool", bn["summary"]
    cap = doc["analyses"]["capacity"]
    assert cap["model"] == "usl", cap
    # a plateau from 4 workers: measured flat past the fit's N*, never a measured fall
    assert cap["verdict"].startswith("throughput levels off at about"), cap["verdict"]
    assert abs(cap["xMax"] - CAPACITY) <= 0.10 * CAPACITY, cap
    assert [p["n"] for p in cap["points"]] == [1, 2, 4, 8, 16], cap["points"]
    assert cap["r2"] > 0.9, cap
    # Little's law on every measured point: N = X.R within 20% in a closed loop without
    # think time
    for p in cap["points"]:
        assert abs(p["littleN"] - p["n"]) <= 0.2 * p["n"], p
    out = sweep["run"].stdout
    assert "SCALABILITY" in out and "sigma" in out and "N* =" in out or "levels off" in out, out


def test_fit_and_plan_from_the_sweep(sweep, stampede):
    d = sweep["dir"]
    fit = d / "usl.json"
    r = stampede("capacity", "fit", sweep["file"], "--out", f"json={fit}", expect=0)
    model = strict_json(fit.read_text())
    assert abs(model["xMax"] - sweep["doc"]["analyses"]["capacity"]["xMax"]) < 1e-6 * CAPACITY
    assert "sigma" in r.stdout.lower() or "σ" in r.stdout, r.stdout
    plan = d / "plan.json"
    r = stampede("capacity", "plan", "--model", fit, "--current-rps", 150, "--buffer", "70%",
                 "--growth", "15%/month", "--horizon", 24, "--out", f"json={plan}", expect=0)
    p = strict_json(plan.read_text())
    text = json.dumps(p)
    # 2x, 5x and 10x of 150 req/s against about 0.7 x 400 req/s per instance: one
    # instance's 100% is the lower of the fit's X_max and the best measured X
    per = 0.7 * min(model["xMax"], model["xMeasured"])
    assert p["capacity"]["perInstanceRps"] == pytest.approx(per / 0.7)
    assert p["capacity"]["basis"] == ("measured" if model["xMeasured"] < model["xMax"]
                                      else "fitted")
    for mult in (2, 5, 10):
        assert f"{mult}" in text
        want = math.ceil(mult * 150 / per)
        assert re.search(rf"\b{want}\b", r.stdout), (mult, want, r.stdout)


def test_report_has_the_capacity_section(sweep, stampede, tmp_path_factory):
    """The run report's "Scalability" section in headless Chromium (tests/e2e/browser.py:
    no request may leave the page, no console error): the measured points as circles, the
    fitted curve as a line, N* marked, one table row per point; its screenshot is
    BUILD/capacity.png."""
    html = sweep["dir"] / "report.html"
    stampede("report", sweep["file"], "-o", html, expect=0)
    text = html.read_text()
    assert 'id="capacity"' in text and 'id="capacity-chart"' in text
    assert "USL fit" in text and "measured X(N)" in text
    proxy = TrapProxy()
    browser = Chromium(tmp_path_factory.mktemp("chromium"), proxy.port)
    try:
        page = browser.load(html.as_uri())
        try:
            assert page.errors() == [], page.errors()
            assert page.requests() == [], page.requests()
            chart = "#capacity-chart svg"
            assert page.eval(f"document.querySelectorAll('{chart} circle').length") == 5
            assert page.eval(f"document.querySelectorAll('{chart} polyline').length") == 1
            assert page.eval(f"document.querySelectorAll('{chart} line.mark').length") == 1
            rows = page.eval("document.querySelectorAll('#capacity table tbody tr').length")
            assert rows == 5, rows
            box = page.eval("(() => { const r = document.querySelector('#capacity-chart svg')"
                            ".getBoundingClientRect(); return [r.width, r.height]; })()")
            assert box[0] > 600 and box[1] > 150, box
            page.eval("document.getElementById('capacity').scrollIntoView()")
            page.screenshot(BUILD_DIR / "capacity.png")
        finally:
            page.close()
    finally:
        browser.close()
        proxy.close()
    assert page_hits(proxy.hits) == [], proxy.hits


@pytest.mark.parametrize("args, says", [
    (["--up-to", "2"], "--up-to"),
    (["--concurrency", "4,2,8"], "--concurrency"),
    (["--concurrency", "1,2"], "3 levels at least"),
    (["--concurrency", "1,2,x"], "--concurrency"),
    (["--step", "0s"], "--step"),
    (["--type", "load"], "sets --type itself"),
    (["--vus", "3"], "sets --vus itself"),
    (["--rate", "100"], "runs the closed model"),
    (["-u5"], "sets -u itself"),
    (["-qd5s"], "sets -d itself"),
    (["-c", "3"], "sets -c itself"),
    (["--iterations", "9"], "sets --iterations itself"),
    (["--concurrency", "1,2,4", "--concurrency", "1,2,8"], "--concurrency is given twice"),
    (["--concurrency", "1,2,4", "--up-to", "8"], "give one of"),
    (["--step"], "needs a value"),
])
def test_bad_sweep_flags_are_refused(stampede, args, says):
    r = stampede("capacity", "sweep", "--url", "http://127.0.0.1:9/", *args,
                 expect=EXIT_CONFIG)
    assert says in r.stderr, r.stderr
    assert r.stdout == "" or "usage" not in r.stdout


def test_a_dead_target_has_no_capacity(stampede, free_port, tmp_path):
    """Refused connections are answered at once: counted as throughput they made a
    capacity of tens of thousands per second. The fit counts the good responses only, so
    a target that serves nothing is not fitted (and the summary says why)."""
    out = tmp_path / "dead.json"
    r = stampede("capacity", "sweep", "--url", f"http://127.0.0.1:{free_port}/",
                 "--concurrency", "1,2,4", "--step", "1s", "--warmup", "1s", "--no-color",
                 "--out", f"result={out}", timeout=60)
    cap = strict_json(out.read_text())["analyses"]["capacity"]
    assert "error" in cap and "every response failed in 3 steps" in cap["error"], cap
    assert "not fitted" in r.stdout, r.stdout
    p = stampede("capacity", "plan", "--model", out, "--current-rps", 10, "--growth",
                 "5%/month", expect=EXIT_CONFIG)
    assert "every response failed" in p.stderr, p.stderr


def test_a_script_sweep_says_its_scenarios_are_replaced(stampede, tmp_path):
    script = tmp_path / "s.lua"
    script.write_text('options = { vus = 3, duration = "1s" }\nfunction default() end\n')
    r = stampede("capacity", "sweep", script, "--up-to", "3", "--step", "1s", "--warmup", "1s",
                 "-q", "--no-summary", timeout=60, expect=0)
    assert "s.lua's scenarios and options.stages are replaced by the sweep's levels" \
        in r.stderr, r.stderr


def test_capacity_without_a_sub_command(stampede):
    r = stampede("capacity", expect=EXIT_CONFIG)
    assert "sweep" in r.stdout and "plan" in r.stdout
    r = stampede("capacity", "sweeps", expect=EXIT_CONFIG)
    assert "unknown capacity command 'sweeps'" in r.stderr
    assert stampede("capacity", "--help", expect=0).stdout.startswith("usage: stampede capacity")
    assert "--concurrency" in stampede("capacity", "sweep", "--help", expect=0).stdout
    assert "--current-util" in stampede("help", "capacity", "plan", expect=0).stdout
