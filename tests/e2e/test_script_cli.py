"""Scripted tests: command-line flags and the script's options (docs/scripting.md
"Options": --vus/--duration/--iterations/--stages replace the scenarios, --threshold
adds thresholds)."""

from conftest import EXIT_THRESHOLDS, metric
from script_servers import echo_server, run_script, threshold_entry  # noqa: F401

LONG_SCENARIOS = """
    options = {
      scenarios = {
        long = { executor = "constant-vus", vus = 10, duration = "30s" },
        other = { executor = "per-vu-iterations", vus = 5, iterations = 100, exec = "other" },
      },
      thresholds = { http_reqs = { "count>0" } },
    }
    function default()
      http.get(BASE .. "/it", { headers = { ["X-VU"] = tostring(stampede.vu.id),
                                            ["X-Scenario"] = stampede.scenario.name } })
    end
    function other() http.get(BASE .. "/other") end
"""


def test_vus_and_iterations_replace_scenarios(tmp_path, echo_server):
    r = run_script(tmp_path, LONG_SCENARIOS, "--vus", "2", "--iterations", "6",
                   base=echo_server, timeout=20)
    assert r.elapsed < 10, f"the script's 30 s scenario was not replaced\n{r}"
    assert metric(r.summary, "iterations")["count"] == 6
    log = echo_server.entries(path="/it")
    assert len(log) == 6 and echo_server.entries(path="/other") == []
    assert {e["headers"]["x-vu"] for e in log} <= {"1", "2"}
    # the script's thresholds still apply
    assert threshold_entry(r.summary, "http_reqs", "count>0")["ok"] is True


def test_duration_flag_replaces_scenarios(tmp_path, echo_server):
    r = run_script(tmp_path, LONG_SCENARIOS + "\n", "--vus", "3", "--duration", "600ms",
                   base=echo_server, timeout=20)
    assert r.elapsed < 10, r
    state = r.summary["state"]
    assert 590 <= state["testRunDurationMs"] < 5000, state
    assert {e["headers"]["x-vu"] for e in echo_server.entries(path="/it")} == {"1", "2", "3"}
    assert echo_server.entries(path="/other") == []


def test_iterations_flag_alone(tmp_path, echo_server):
    r = run_script(tmp_path, LONG_SCENARIOS, "--iterations", "4", base=echo_server,
                   timeout=20)
    assert metric(r.summary, "iterations")["count"] == 4
    assert len(echo_server.entries(path="/it")) == 4


def test_stages_flag_replaces_scenarios(tmp_path, echo_server):
    r = run_script(tmp_path, LONG_SCENARIOS, "--stages", "500ms:2,500ms:0",
                   base=echo_server, timeout=20)
    assert r.elapsed < 10, r
    assert metric(r.summary, "iterations")["count"] > 0
    assert echo_server.entries(path="/other") == []
    assert {e["headers"]["x-vu"] for e in echo_server.entries(path="/it")} <= {"1", "2"}


def test_threshold_flag_adds_to_script_thresholds(tmp_path, echo_server):
    src = """
        options = { iterations = 5, thresholds = { http_reqs = { "count==5" } } }
        function default() http.get(BASE .. "/") end
    """
    r = run_script(tmp_path, src, "--threshold", "iterations: count==5",
                   "--threshold", "http_reqs: count>0", base=echo_server)
    sels = {(e["selector"], e["expression"]) for e in r.summary["thresholds"]}
    assert sels == {("http_reqs", "count==5"), ("http_reqs", "count>0"),
                    ("iterations", "count==5")}, sels
    assert all(e["ok"] for e in r.summary["thresholds"])
    # a failing command-line threshold fails the run; the script's one still passes
    r = run_script(tmp_path, src, "--threshold", "iterations: count==6", base=echo_server,
                   expect=EXIT_THRESHOLDS)
    assert threshold_entry(r.summary, "iterations", "count==6")["ok"] is False
    assert threshold_entry(r.summary, "http_reqs", "count==5")["ok"] is True


def test_threshold_abort_on_fail_from_options(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { vus = 2, duration = "20s",
          thresholds = { http_req_duration = { { threshold = "max<0", abortOnFail = true } } } }
        function default() http.get(BASE .. "/"); stampede.sleep(0.01) end
    """, base=echo_server, expect=108, timeout=30)
    assert r.elapsed < 10, r
    assert r.summary["state"]["aborted"] is True
    e = threshold_entry(r.summary, "http_req_duration", "max<0")
    assert e["abortOnFail"] is True and e["ok"] is False, e


def test_delay_abort_eval(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { vus = 1, duration = "20s",
          thresholds = { http_req_duration = {
            { threshold = "max<0", abortOnFail = true, delayAbortEval = "1500ms" } } } }
        function default() http.get(BASE .. "/"); stampede.sleep(0.01) end
    """, base=echo_server, expect=108, timeout=30)
    assert r.summary["state"]["aborted"] is True
    assert r.summary["state"]["testRunDurationMs"] >= 1450, r.summary["state"]
    assert r.elapsed < 12, r
