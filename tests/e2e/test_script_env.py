"""Scripted tests: stampede.env (-e NAME=VALUE and the process environment) and the VU /
scenario information (docs/scripting.md "Control")."""

from collections import Counter

import pytest

from accounting import assert_accounting
from conftest import metric
from script_servers import echo_server, run_script, threshold_entry  # noqa: F401


def test_env_from_flag_and_environment(tmp_path, echo_server):
    run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          http.get(BASE .. "/env", { headers = {
            ["X-Flag"] = stampede.env.MY_FLAG,
            ["X-Spaces"] = stampede.env.WITH_SPACES,
            ["X-Proc"] = stampede.env.STAMPEDE_TEST_PROC_VAR,
            ["X-Override"] = stampede.env.OVERRIDDEN,
            ["X-Missing"] = tostring(stampede.env.SURELY_NOT_SET_ANYWHERE),
          } })
        end
    """, "-e", "MY_FLAG=hello", "-e", "WITH_SPACES=a b=c", "-e", "OVERRIDDEN=from-flag",
        base=echo_server,
        env={"STAMPEDE_TEST_PROC_VAR": "from-proc", "OVERRIDDEN": "from-proc"})
    (e,) = echo_server.entries(path="/env")
    h = e["headers"]
    assert h.get("x-flag") == "hello", h
    assert h.get("x-spaces") == "a b=c", h
    assert h.get("x-proc") == "from-proc", h
    assert h.get("x-override") == "from-flag", h
    assert h.get("x-missing") == "nil", h


def test_env_in_init_context_and_options(tmp_path, echo_server):
    # env is readable at the top level, e.g. to size the test
    r = run_script(tmp_path, """
        options = { iterations = tonumber(stampede.env.ITERS), vus = 2 }
        function default() http.get(BASE .. "/x") end
    """, "-e", "ITERS=7", base=echo_server)
    assert metric(r.summary, "iterations")["count"] == 7
    assert len(echo_server.log) == 7
    assert_accounting(r.summary, server_count=7)


def test_vu_ids_and_iterations(tmp_path, echo_server):
    run_script(tmp_path, """
        options = { scenarios = { main = { executor = "per-vu-iterations", vus = 5, iterations = 3 } } }
        function default()
          http.get(BASE .. "/vu", { headers = {
            ["X-VU"] = tostring(stampede.vu.id),
            ["X-Iter"] = tostring(stampede.vu.iteration),
            ["X-Scenario"] = stampede.scenario.name,
            ["X-Executor"] = stampede.scenario.executor,
            ["X-Scenario-Iter"] = tostring(stampede.scenario.iteration),
          } })
        end
    """, base=echo_server)
    log = echo_server.entries(path="/vu")
    assert len(log) == 15
    vus = Counter(e["headers"]["x-vu"] for e in log)
    assert vus == {str(i): 3 for i in range(1, 6)}, vus
    for vu in map(str, range(1, 6)):
        iters = [e["headers"]["x-iter"] for e in log if e["headers"]["x-vu"] == vu]
        assert iters == ["0", "1", "2"], (vu, iters)
    assert {e["headers"]["x-scenario"] for e in log} == {"main"}
    assert {e["headers"]["x-executor"] for e in log} == {"per-vu-iterations"}
    for e in log:
        assert e["headers"]["x-scenario-iter"].isdigit(), e["headers"]


def test_vu_ids_shared_iterations(tmp_path, echo_server):
    run_script(tmp_path, """
        options = { vus = 4, iterations = 40 }
        function default()
          http.get(BASE .. "/vu?delay=5", { headers = { ["X-VU"] = tostring(stampede.vu.id) } })
        end
    """, base=echo_server)
    vus = Counter(e["headers"]["x-vu"] for e in echo_server.entries(path="/vu"))
    assert sum(vus.values()) == 40
    assert set(vus) <= {"1", "2", "3", "4"}, vus
    assert len(vus) >= 2, f"40 iterations of 5 ms shared by 4 VUs ran on one VU: {vus}"


def test_vu_id_in_metric_tags(tmp_path):
    r = run_script(tmp_path, """
        local per_vu = metrics.counter("per_vu")
        options = { scenarios = { s = { executor = "per-vu-iterations", vus = 3, iterations = 2 } },
                    thresholds = { ["per_vu{vu:1}"] = { "count==2" }, ["per_vu{vu:2}"] = { "count==2" },
                                   ["per_vu{vu:3}"] = { "count==2" }, ["per_vu{vu:4}"] = { "count==0" } } }
        function default() per_vu:add(1, { vu = tostring(stampede.vu.id) }) end
    """)
    for i in (1, 2, 3):
        assert metric(r.summary, f"per_vu{{vu:{i}}}")["count"] == 2
    # no VU 4: the sub-metric has no samples (its entry may hold only the thresholds)
    assert metric(r.summary, "per_vu{vu:4}").get("count", 0) == 0
    assert threshold_entry(r.summary, "per_vu{vu:4}", "count==0")["ok"] is True


def test_vu_ids_unique_across_scenarios(tmp_path, echo_server):
    run_script(tmp_path, """
        options = { scenarios = {
          a = { executor = "per-vu-iterations", vus = 2, iterations = 2 },
          b = { executor = "per-vu-iterations", vus = 3, iterations = 2 } } }
        function default()
          http.get(BASE .. "/vu", { headers = { ["X-VU"] = tostring(stampede.vu.id),
                                                ["X-Scenario"] = stampede.scenario.name } })
        end
    """, base=echo_server)
    by_vu = {}
    for e in echo_server.entries(path="/vu"):
        by_vu.setdefault(e["headers"]["x-vu"], set()).add(e["headers"]["x-scenario"])
    assert sorted(by_vu, key=int) == ["1", "2", "3", "4", "5"], by_vu
    assert all(len(s) == 1 for s in by_vu.values()), f"a VU id used by two scenarios: {by_vu}"


def test_scenario_iteration_is_unique_in_the_scenario(tmp_path, echo_server):
    run_script(tmp_path, """
        options = { vus = 3, iterations = 12 }
        function default()
          http.get(BASE .. "/si", { headers = { ["X-SI"] = tostring(stampede.scenario.iteration) } })
        end
    """, base=echo_server)
    got = sorted(int(e["headers"]["x-si"]) for e in echo_server.entries(path="/si"))
    assert got == list(range(12)), got
