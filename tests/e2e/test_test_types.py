"""Test types (--type), SLOs (--slo, --slo-preset) and `stampede plan` (issue #11).

Short schedules (seconds) against the test's own nginx on loopback; the presets' default
lengths are checked by the unit tests (tests/unit/test_slo.c) and by `plan`'s output.
"""

import json
from pathlib import Path

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
    (["--type", "breakpoint", "--rate", "10", "--ramp", "40s", "--slo", "p95<1s"],
     "--ramp does not apply to --type breakpoint (it takes --duration, --peak)"),
    (["--type", "load", "--rate", "10", "--peak", "3"], "--peak does not apply"),
    (["--type", "smoke", "--rate", "100"], "at most 10 iterations/s"),
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
    (["--type", "load", "--rate", "10", "extra"], "or --type with its flags"),
    (["--type", "load", "--rate", "10", "--bogus"], "unknown option"),
    # numbers are plain decimals, levels the model can run, schedules the verdicts accept
    (["--type", "stress", "--vus", "2", "--peak", "1.5", "--steps", "3"],
     "steps of less than one VU"),
    (["--type", "stress", "--rate", "10", "--peak", "0x10"], "invalid --peak"),
    (["--type", "stress", "--rate", "10", "--steps", " 5"], "invalid --steps"),
    (["--type", "load", "--rate", "1e-300"], "invalid --rate"),
    (["--type", "load", "--rate", "0.001"], "at least 0.01/s"),
    (["--type", "stress", "--rate", "2", "--step-duration", "7d"], "at most 31"),
    (["--type", "load", "--rate", "10", "--slo", "p95<0x10ms"], "needs a unit"),
    (["--type", "load", "--rate", "10", "--slo", "p95 < 2 0 0 ms"], "a space inside"),
    (["--type", "load", "--rate", "10", "--slo", "p95<1ms,p(95)<5ms"], "same objective"),
    (["--type", "load", "--rate", "10", "--abort-delay", "1h"], "has no abort-on-fail"),
    (["--type", "breakpoint", "--rate", "10", "-d", "1m", "--abort-delay", "1h",
      "--slo", "p95<1ms"], "as long as the whole test"),
])
def test_plan_bad_input(stampede, args, says):
    r = stampede("plan", *args, expect=EXIT_INVALID)
    assert says in r.stderr, r.stderr


PRESET_SCRIPT = """
local http = require "stampede.http"
options = {
  scenarios = { main = stampede.preset{ type = "load", rate = 50, ramp = "1s", hold = 2,
                                        rampDown = 0 } },
  thresholds = stampede.slo("p95<1s,errors<1%", { abortOnFail = false }),
}
function default() http.get(stampede.env.BASE_URL .. "/") end
"""


def test_script_preset_and_slo(nginx, stampede, tmp_path):
    script = tmp_path / "preset.lua"
    script.write_text(PRESET_SCRIPT)
    out = tmp_path / "r.json"
    stampede("run", script, "-q", "--no-summary", "-e", f"BASE_URL={nginx.url.rstrip('/')}",
             "--out", f"result={out}", timeout=60, expect=EXIT_OK)
    doc = json.loads(out.read_text())
    o = doc["options"]
    assert o["testType"]["type"] == "load" and o["testType"]["model"] == "open"
    assert [p["name"] for p in o["testType"]["phases"]] == ["ramp-up", "hold"]
    assert o["slo"] == ["p95<1s", "errors<1%"]
    assert o["scenarios"]["main"]["executor"] == "ramping-arrival-rate"
    v = doc["analyses"]["testType"]
    assert v["verdict"] == "pass" and v["steps"][0]["phase"] == "hold", v


def test_script_smoke_preset_allows_no_error(free_port, stampede, tmp_path):
    # the same rule as --type smoke: the script's SLOs gain errors==0, once
    script = tmp_path / "smoke.lua"
    script.write_text(f"""
local http = require "stampede.http"
options = {{ scenarios = {{ s = stampede.preset{{ type = "smoke", vus = 1, duration = "1s" }} }},
  thresholds = stampede.slo("p95<1s") }}
function default() http.get("http://127.0.0.1:{free_port}/") stampede.sleep(0.2) end
""")
    plan = stampede("plan", script, expect=EXIT_OK)
    assert "SLOs:     p95<1s, errors==0" in plan.stdout, plan.stdout
    out = tmp_path / "r.json"
    stampede("run", script, "-q", "--no-summary", "--out", f"result={out}", timeout=60,
             expect=EXIT_THRESHOLDS)  # nothing listens on free_port: every request fails
    o = json.loads(out.read_text())["options"]
    assert o["slo"] == ["p95<1s", "errors==0"]
    assert o["thresholds"]["http_req_failed"] == ["rate==0"]


def test_script_preset_with_a_start_time_is_judged_on_the_run_clock(nginx, stampede, tmp_path):
    # the preset scenario starts 2 s into the run: its phases (and the steps table) move too
    script = tmp_path / "late.lua"
    script.write_text(PRESET_SCRIPT.replace(
        "function default()", "options.scenarios.main.startTime = '2s'\nfunction default()"))
    out = tmp_path / "r.json"
    stampede("run", script, "-q", "--no-summary", "-e", f"BASE_URL={nginx.url.rstrip('/')}",
             "--out", f"result={out}", timeout=60, expect=EXIT_OK)
    doc = json.loads(out.read_text())
    t = doc["options"]["testType"]
    assert t["startTimeS"] == 2 and [p["startS"] for p in t["phases"]] == [2, 3], t
    hold = doc["analyses"]["testType"]["steps"][0]
    assert hold["phase"] == "hold" and hold["start"] >= 3 and hold["offered"] == 50, hold
    assert doc["analyses"]["testType"]["verdict"] == "pass"


@pytest.mark.parametrize("call,says", [
    ('stampede.preset{ type = "bogus", rate = 1 }', "type must be"),
    ('stampede.preset{ type = "load" }', "expected level"),
    ('stampede.preset{ type = "load", rate = 1, vus = 1 }', "give the level once"),
    ('stampede.preset{ type = "load", rate = 1, ramp = "soon" }', "not a duration"),
    ('stampede.preset{ type = "stress", rate = 1, duration = "1m" }', "stepDuration"),
    ('stampede.preset{ type = "load", rate = 1, stepDuration = "1m" }',
     "stepDuration does not apply to load"),
    ('stampede.slo("p95<200")', "unit"),
    ('stampede.slo()', "no objective"),
])
def test_script_preset_bad_input(stampede, tmp_path, call, says):
    script = tmp_path / "bad.lua"
    script.write_text(f"options = {{ scenarios = {{ x = {call} }} }}\n"
                      "function default() end\n")
    r = stampede("run", script, "-q", "--no-summary", timeout=30)
    assert r.rc not in (0, None), r
    assert says in r.stderr, r.stderr


def test_smoke_with_a_full_slo_set_is_refused(stampede):
    # a smoke test adds errors==0: with 8 objectives already there is no room left
    r = stampede("run", "--url", "http://127.0.0.1:9/", "-q", "--type", "smoke", "--slo",
                 "p95<1s,p99<1s,p98<1s,p97<1s,p96<1s,avg<1s,med<1s,max<1s",
                 expect=EXIT_INVALID)
    assert "adds errors==0" in r.stderr, r.stderr


@pytest.mark.parametrize("slo,says", [
    ("errors<0.00000000001", "cannot be told from 0"),
    ("p95<0.0000001ms", "from 1us to 1h"),
    ("p95<100000000000000000000s", "from 1us to 1h"),
    ("errors<1e-20", "takes a percentage"),  # plain decimals only
    ("p95<1e308s", "needs a unit"),
])
def test_slo_values_out_of_range(stampede, slo, says):
    r = stampede("plan", "--type", "load", "--rate", "1", "--slo", slo, expect=EXIT_INVALID)
    assert says in r.stderr, r.stderr


@pytest.mark.parametrize("args,says", [
    (["--type", "stress", "--vus", "1000000"], "past the most stampede runs"),
    (["--type", "stress", "--rate", "19", "--ramp", "100000000h"], "at most 7 days"),
])
def test_preset_bounds(stampede, args, says):
    r = stampede("plan", *args, expect=EXIT_INVALID)
    assert says in r.stderr, r.stderr


def test_report_survives_a_hostile_test_type(nginx, stampede, tmp_path):
    """A hand-edited result whose phases are absurd gets no verdict, quickly, and a report."""
    r = stampede.load(nginx.url, "--type", "load", "--rate", "20", "--ramp", "1s", "--hold",
                      "1s", "--ramp-down", "0")
    doc = json.loads(r.export.read_text())
    doc["analyses"] = {}
    doc["options"]["testType"]["type"] = "breakpoint"
    doc["options"]["testType"]["phases"] = [
        {"name": "raise", "startS": -1e17, "durationS": 2e17, "target": 1e9}]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    out = tmp_path / "bad.html"
    stampede("report", bad, "-o", out, timeout=30, expect=EXIT_OK)
    assert 'id="test-type"' not in out.read_text()


def test_plan_a_script(stampede):
    """`plan SCRIPT.lua`: the scenarios as they would run; sends nothing."""
    ex = Path(__file__).resolve().parents[2] / "examples"
    r = stampede("plan", ex / "stress.lua", "-e", "TIME_SCALE=0.1", expect=EXIT_OK)
    out = r.stdout
    assert "1 scenario" in out and "test type: stress (stampede.preset)" in out, out
    assert "scenario 'stress': ramping-vus, runs default()" in out, out
    assert "step 3 (3x)" in out and "total 2m18s" in out, out
    assert "threshold: http_req_failed rate<0.05" in out, out
    r = stampede("plan", ex / "api_journey.lua", expect=EXIT_OK)
    assert "2 scenarios" in r.stdout and "starts at 16m0s" in r.stdout, r.stdout
    r = stampede("plan", ex / "stress.lua", "--type", "load", "--rate", "5",
                 expect=EXIT_INVALID)
    assert "or --type with its flags" in r.stderr, r.stderr


def test_html_report_shades_the_phases(nginx, stampede, tmp_path):
    html = tmp_path / "r.html"
    stampede.load(nginx.url, "--type", "load", "--rate", "20", "--ramp", "1s", "--hold", "2s",
                  "--ramp-down", "1s", "--out", f"html={html}")
    text = html.read_text()
    assert '<rect class="phase' in text, "the hold is shaded on the over-time charts"
    assert ">hold</text>" in text


def test_plan_a_script_gives_its_traffic_model(stampede):
    """Dry-run iterations: the requests in order, their groups, think time and the mix;
    nothing is sent (BASE_URL points at a closed port)."""
    ex = Path(__file__).resolve().parents[2] / "examples"
    r = stampede("plan", ex / "api_journey.lua", "-e", "BASE_URL=http://127.0.0.1:9",
                 expect=EXIT_OK)
    out = r.stdout
    assert "3 requests per iteration" in out, out
    assert "1   POST /api/auth/login" in out, out
    assert "GET /api/products   group ::API Operations::List Products" in out, out
    assert "POST /api/orders   group ::API Operations::Create Order" in out, out
    assert "traffic model: as above (the same function, default())" in out, out
    r = stampede("plan", ex / "load.lua", expect=EXIT_OK)
    assert "1 request per iteration" in r.stdout and "GET /api/products/{id}" in r.stdout
    assert "GET /api/products/{id}: 100/s at the peak of 100 iterations/s" in r.stdout


def test_script_preset_lua_words_and_breakpoint_warning(stampede, tmp_path):
    bad = tmp_path / "bad.lua"
    bad.write_text('options = { scenarios = { b = stampede.preset{ type = "stress", rate = 10, '
                   'peak = 1 } } }\nfunction default() end\n')
    r = stampede("plan", bad, expect=107)
    assert "stampede.preset: peak 1:" in r.stderr and "--" not in r.stderr, r.stderr
    bp = tmp_path / "bp.lua"
    bp.write_text('options = { scenarios = { b = stampede.preset{ type = "breakpoint", '
                  'rate = 10, duration = "2s" } } }\nfunction default() end\n')
    r = stampede("plan", bp, expect=EXIT_OK)
    assert "without an abort-on-fail threshold" in r.stderr, r.stderr


BRANCHING = """
local http = require "stampede.http"
options = { scenarios = { s = { executor = "constant-arrival-rate", rate = 200,
                                timeUnit = "1s", duration = "10s", preAllocatedVUs = 5 } } }
function setup()
  local r = http.post("http://127.0.0.1:9/login", "{}")
  return { token = r:json().token }
end
function default(data)
  local i = stampede.vu.iterationInScenario or 0
  if math.random() < 0.75 then
    http.get("http://127.0.0.1:9/browse", { headers = { Authorization = "Bearer " .. data.token },
      tags = { name = "browse" } })
  else
    http.get("http://127.0.0.1:9/browse", { tags = { name = "browse" } })
    local res = http.post("http://127.0.0.1:9/buy", "{}", { tags = { name = "buy" } })
    http.get("http://127.0.0.1:9/order/" .. res:json().items[1].id, { tags = { name = "order" } })
    stampede.sleep(2)
  end
end
"""


def test_plan_samples_iterations_of_a_branching_script(stampede, tmp_path):
    """A script that branches at random: the mix comes from a sample of iterations (the same
    sample every time), with the distinct journeys; setup()'s data and response fields are
    stand-ins, so the iteration goes on past r:json().token."""
    script = tmp_path / "branch.lua"
    script.write_text(BRANCHING)
    r = stampede("plan", script, expect=EXIT_OK)
    out = r.stdout
    assert "1000 dry-run iterations of default()" in out, out
    assert "journeys: 2 distinct in 1000 iterations" in out, out
    assert "stopped here" not in out, out
    shares = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith("%") and parts[1] == "GET" or \
                len(parts) >= 2 and parts[0].endswith("%") and parts[1] == "POST":
            shares.setdefault(parts[2], float(parts[0][:-1]))
    # per iteration: browse once; buy and order with probability 1/4 -> browse 4/6 of all
    # requests, buy and order 1/6 each; 1000 samples: a band of about 3 standard errors
    assert 62 <= shares["browse"] <= 72, shares
    assert 13 <= shares["buy"] <= 20 and shares["buy"] == shares["order"], shares
    assert "/s at the peak of 200 iterations/s" in out, out
    again = stampede("plan", script, expect=EXIT_OK)
    assert again.stdout == out, "the same sample every time"


@pytest.mark.parametrize("lua,says", [
    ('options = { vus = 1, duration = "1s", slo = { "p95<1ms", "zzz" } }',
     "options.slo[1]"),
    ('options = { vus = 1, duration = "1s", slo = "p95<1ms" }', "expected a list"),
    ('options = { vus = 1, duration = "1s", testType = { type = "stress", phases = '
     '{ { name = "x", startS = 0, durationS = 1e300, target = 1 } } } }',
     "options.testType"),
])
def test_script_test_options_are_checked(stampede, tmp_path, lua, says):
    """options.slo and options.testType written by hand are what the verdicts read: checked
    as --slo is (exit 104), not printed as '?' or dropped later."""
    script = tmp_path / "o.lua"
    script.write_text(lua + "\nfunction default() end\n")
    r = stampede("plan", script, expect=EXIT_INVALID)
    assert says in r.stderr, r.stderr


def test_plan_of_a_script_takes_no_test_flags(stampede):
    ex = Path(__file__).resolve().parents[2] / "examples"
    for flags in (["--slo", "p95<1ms"], ["--peak", "5"], ["-d", "5m"], ["--abort-delay", "1s"]):
        r = stampede("plan", ex / "smoke.lua", *flags, expect=EXIT_INVALID)
        assert "with -e only" in r.stderr, (flags, r.stderr)


def test_dry_run_names_odd_errors_and_warns_of_two_presets(stampede, tmp_path):
    odd = tmp_path / "odd.lua"
    odd.write_text('function setup() error("boom") end\nfunction default() error({1}) end\n')
    r = stampede("plan", odd, expect=EXIT_OK)
    assert "setup() failed in the dry run" in r.stdout and "boom" in r.stdout, r.stdout
    assert "an error whose value is not a string (a table)" in r.stdout, r.stdout
    two = tmp_path / "two.lua"
    two.write_text('local a = stampede.preset{ type = "load", vus = 2 }\n'
                   'local b = stampede.preset{ type = "spike", vus = 1 }\n'
                   'options = { scenarios = { a = a, b = b } }\nfunction default() end\n')
    r = stampede("plan", two, expect=EXIT_OK)
    assert "calls stampede.preset more than once" in r.stderr, r.stderr


def test_lua_preset_with_a_fractional_rate_runs_it(stampede, tmp_path):
    """2.5 iterations/s: k6's whole targets per timeUnit become 25 per 10 s."""
    script = tmp_path / "frac.lua"
    script.write_text('options = { scenarios = { a = stampede.preset{ type = "load", '
                      'rate = 2.5, ramp = "2s", hold = "3s", rampDown = 0 } } }\n'
                      'function default() end\n')
    out = tmp_path / "r.json"
    stampede("run", script, "-q", "--no-summary", "--out", f"result={out}", timeout=60,
             expect=EXIT_OK)
    doc = json.loads(out.read_text())
    sc = doc["options"]["scenarios"]["a"]
    assert sc["timeUnit"] == "10s" and [st["target"] for st in sc["stages"]] == [25, 25]
    # 0 -> 2.5/s over 2 s (2.5), then 2.5/s for 3 s (7.5)
    assert doc["metrics"]["iterations"]["values"]["count"] == 10
