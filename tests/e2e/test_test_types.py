"""Test types (--type), SLOs (--slo, --slo-preset) and `stampede plan` (issue #11).

Short schedules (seconds) against the test's own nginx on loopback; the presets' default
lengths are checked by the unit tests (tests/unit/test_slo.c) and by `plan`'s output.
"""

import json

import pytest

from conftest import metric

EXIT_OK, EXIT_THRESHOLDS, EXIT_INVALID, EXIT_ABORTED = 0, 99, 104, 108


def options(r):
    with open(r.export) as f:
        return json.load(f)["options"]


def test_load_preset_runs_its_schedule(nginx, stampede):
    r = stampede.load(nginx.url, "--type", "load", "--rate", "200", "--ramp", "1s",
                      "--hold", "2s", "--ramp-down", "1s", "--slo", "p95<1s,errors<1%",
                      timeout=60)
    o = options(r)
    t = o["testType"]
    assert t["type"] == "load" and t["model"] == "open" and t["level"] == 200
    assert [p["name"] for p in t["phases"]] == ["ramp-up", "hold", "ramp-down"]
    assert [p["durationS"] for p in t["phases"]] == [1, 2, 1]
    assert o["slo"] == ["p95<1s", "errors<1%"]
    # 0 -> 200/s over 1 s (100), 200/s for 2 s (400), 200 -> 0 over 1 s (100)
    started = metric(r.summary, "iterations")["count"]
    dropped = metric(r.summary, "dropped_iterations")["count"] if "dropped_iterations" in \
        r.summary["metrics"] else 0
    assert abs(started + dropped - 600) <= 2, (started, dropped)
    thr = r.summary["metrics"]["http_req_duration"]["thresholds"]
    assert "p(95)<1000" in thr, thr
    assert "rate<0.01" in r.summary["metrics"]["http_req_failed"]["thresholds"]


def test_smoke_allows_no_error(free_port, stampede):
    # nothing listens on free_port: every request fails, so the smoke test fails
    r = stampede.load(f"http://127.0.0.1:{free_port}/", "--type", "smoke",
                      "--duration", "1s", expect=EXIT_THRESHOLDS)
    o = options(r)
    assert o["slo"] == ["errors==0"]
    assert o["testType"]["type"] == "smoke"
    assert "rate==0" in r.summary["metrics"]["http_req_failed"]["thresholds"]


def test_smoke_with_a_preset_keeps_the_preset_and_adds_zero_errors(nginx, stampede):
    r = stampede.load(nginx.url, "--type", "smoke", "--vus", "2", "--duration", "1s",
                      "--slo-preset", "internal")
    o = options(r)
    assert o["slo"] == ["p95<100ms", "p99<300ms", "errors==0"]
    assert o["sloPreset"] == "internal"


def test_breakpoint_stops_at_the_first_failing_slo(nginx, stampede):
    # an SLO nothing meets (1 us) fails at once: abort-on-fail ends the run early (108)
    r = stampede.load(nginx.url, "--type", "breakpoint", "--rate", "50", "--duration",
                      "20s", "--slo", "p95<0.001ms", "--abort-delay", "1s",
                      timeout=60, expect=EXIT_ABORTED)
    assert r.elapsed < 15, f"the breakpoint run did not stop at the failure ({r.elapsed}s)"


@pytest.mark.parametrize("args,says", [
    (["--type", "bogus", "--rate", "10"], "smoke, load, stress"),
    (["--type", "load"], "expected level"),
    (["--peak", "5"], "add --type"),
    (["--type", "stress", "--rate", "10", "--duration", "1m"], "--step-duration"),
    (["--type", "spike", "--rate", "10", "--duration", "1m"], "--hold"),
    (["--type", "load", "--rate", "10", "--stages", "1s:10"], "drop --stages"),
    (["--type", "load", "--rate", "10", "--duration", "1m", "--hold", "1m"], "give one"),
    (["--type", "breakpoint", "--rate", "10"], "give one, e.g. --slo"),
    (["--type", "smoke", "--vus", "6"], "1-5 VUs"),
    (["--type", "stress", "--rate", "10", "--peak", "1"], "more than 1"),
    (["--type", "stress", "--rate", "10", "--steps", "50"], "from 2 to 20"),
    (["--type", "load", "--rate", "10", "--ramp", "0s"], "more than 0"),
    (["--slo", "p95<200"], "unit"),
    (["--slo", "errors>1%"], "ceiling"),
    (["--slo-preset", "fast"], "user-facing"),
])
def test_bad_type_and_slo_flags(stampede, args, says):
    # nothing is sent: the flags are refused first (the URL is never contacted)
    r = stampede("run", "--url", "http://127.0.0.1:9/", "-q", *args, expect=EXIT_INVALID)
    assert says in r.stderr, r.stderr


def test_plan_prints_the_schedule_and_sends_nothing(stampede):
    r = stampede("plan", "--type", "stress", "--rate", "1000", "--slo", "p95<200ms",
                 expect=EXIT_OK)
    out = r.stdout
    assert "stress test at 1000 iterations/s" in out
    assert "step 5 (5x)" in out and "5000" in out
    assert "total 31m0s" in out
    assert "SLOs:     p95<200ms" in out
    assert "Where does it break" in out
    assert "#" in out.split("total")[1], "the chart of load over time"


def test_plan_spike_and_breakpoint(stampede):
    r = stampede("plan", "--type", "spike", "--vus", "10", "--hold", "10s", "--warmup",
                 "30s", "--observe", "1m", expect=EXIT_OK)
    assert "at once" in r.stdout and "spike (10x)" in r.stdout
    assert "total 1m40s" in r.stdout
    r = stampede("plan", "--type", "breakpoint", "--rate", "100", "--slo-preset",
                 "user-facing", expect=EXIT_OK)
    assert "abort-on-fail" in r.stdout and "(preset user-facing)" in r.stdout


@pytest.mark.parametrize("args,says", [
    ([], "plan needs --type"),
    (["--type", "load"], "expected level"),
    (["--type", "load", "--rate", "10", "--vus", "2"], "give the level once"),
    (["--type", "load", "--rate", "0"], "more than 0"),
    (["--type", "load", "--rate", "10", "extra"], "takes no operand"),
    (["--type", "load", "--rate", "10", "--bogus"], "unknown option"),
])
def test_plan_bad_input(stampede, args, says):
    r = stampede("plan", *args, expect=EXIT_INVALID)
    assert says in r.stderr, r.stderr
