"""Scripted tests: scenarios and the six executors, with k6's semantics
(docs/scripting.md "Scenarios and executors").  Rate bounds are the ones the spec asks
for (constant arrival rate within 2 %, ramping arrival rate within ~5 % of the integral);
nothing else depends on timing except lower bounds that a correct run cannot miss."""

import contextlib
import threading
from collections import Counter

import pytest

from accounting import assert_accounting, scheduled_arrivals
from conftest import metric
from script_servers import (EchoServer, column, echo_server, run_script,  # noqa: F401
                            series, series_total, threshold_entry)

VU_REQUEST = 'http.get(BASE .. "/it%s", { headers = { ["X-VU"] = tostring(stampede.vu.id) } })'


def vu_counts(server, path="/it"):
    return Counter(e["headers"]["x-vu"] for e in server.entries(path=path))


def test_shared_iterations_exact(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { scenarios = { s = { executor = "shared-iterations", vus = 3, iterations = 17 } } }
        function default() %s end
    """ % (VU_REQUEST % "",), base=echo_server)
    assert metric(r.summary, "iterations")["count"] == 17
    assert metric(r.summary, "http_reqs")["count"] == 17
    counts = vu_counts(echo_server)
    assert sum(counts.values()) == 17 and set(counts) <= {"1", "2", "3"}, counts
    assert_accounting(r.summary, server_count=len(echo_server.log))


def test_shortcut_iterations_is_shared(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { vus = 4, iterations = 9 }
        function default() %s end
    """ % (VU_REQUEST % "",), base=echo_server)
    assert metric(r.summary, "iterations")["count"] == 9
    assert sum(vu_counts(echo_server).values()) == 9


def test_per_vu_iterations(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { scenarios = { p = { executor = "per-vu-iterations", vus = 3, iterations = 4 } } }
        function default() %s end
    """ % (VU_REQUEST % "",), base=echo_server)
    assert metric(r.summary, "iterations")["count"] == 12
    assert vu_counts(echo_server) == {"1": 4, "2": 4, "3": 4}
    assert_accounting(r.summary, server_count=len(echo_server.log))


def test_max_duration_stops_iterations(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { scenarios = { s = { executor = "shared-iterations", vus = 1, iterations = 1000,
                                        maxDuration = "600ms", gracefulStop = "1s" } } }
        function default() http.get(BASE .. "/it"); stampede.sleep(0.1) end
    """, base=echo_server, timeout=20)
    n = metric(r.summary, "iterations")["count"]
    assert 1 <= n <= 10, f"{n} iterations of >= 100 ms within maxDuration 600ms"
    assert r.summary["state"]["testRunDurationMs"] < 5000, r.summary["state"]


def test_constant_vus_runs_for_the_duration(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { scenarios = { c = { executor = "constant-vus", vus = 3, duration = "1s" } } }
        function default()
          http.get(BASE .. "/it?delay=50", { headers = { ["X-VU"] = tostring(stampede.vu.id) } })
        end
    """, base=echo_server, timeout=20)
    state = r.summary["state"]
    assert state["testRunDurationMs"] >= 990, state
    assert state["testRunDurationMs"] < 5000, state
    counts = vu_counts(echo_server)
    assert set(counts) == {"1", "2", "3"}, counts
    n = metric(r.summary, "iterations")["count"]
    # at most 1 s / 50 ms (+1 in flight) per VU; at least a quarter of that
    assert 15 <= n <= 3 * 21, n
    assert metric(r.summary, "http_reqs")["count"] == len(echo_server.log)
    assert_accounting(r.summary, server_count=len(echo_server.log))


def test_shortcut_vus_duration_is_constant_vus(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { vus = 2, duration = "500ms" }
        function default() %s; stampede.sleep(0.05) end
    """ % (VU_REQUEST % "",), base=echo_server, timeout=20)
    assert r.summary["state"]["testRunDurationMs"] >= 490, r.summary["state"]
    assert set(vu_counts(echo_server)) == {"1", "2"}


# The three longest runs (3-4 s each, mostly idle) run at the same time, each against its
# own EchoServer, to keep the suite short; the tests below read their results.
TIMED = {
    # 0 -> 4 VUs over 1.5 s, 4 for 1 s, then down to 0 over 1.5 s: the once-a-second
    # samples of `vus` rise to 4 (at 2 s, inside the plateau) and fall back
    "ramping_vus": """
        options = { scenarios = { r = { executor = "ramping-vus", startVUs = 0, gracefulRampDown = "1s",
          stages = { { duration = "1500ms", target = 4 }, { duration = "1s", target = 4 },
                     { duration = "1500ms", target = 0 } } } } }
        function default()
          http.get(BASE .. "/it", { headers = { ["X-VU"] = tostring(stampede.vu.id) } })
          stampede.sleep(0.1)
        end
    """,
    "constant_arrival_rate": """
        options = { scenarios = { car = { executor = "constant-arrival-rate", rate = 50, timeUnit = "1s",
                                          duration = "4s", preAllocatedVUs = 5, maxVUs = 20 } } }
        function default() http.get(BASE .. "/it") end
    """,
    # 0 -> 100/s over 1 s (50), 100/s for 1 s (100), 100 -> 0/s over 1 s (50): 200
    "ramping_arrival_rate": """
        options = { scenarios = { rar = { executor = "ramping-arrival-rate", startRate = 0, timeUnit = "1s",
          preAllocatedVUs = 5, maxVUs = 20,
          stages = { { duration = "1s", target = 100 }, { duration = "1s", target = 100 },
                     { duration = "1s", target = 0 } } } } }
        function default() http.get(BASE .. "/it") end
    """,
}


@pytest.fixture(scope="module")
def timed_runs(tmp_path_factory):
    """{name: (Result or the exception its run raised, EchoServer)} for TIMED."""
    out = {}
    dirs = {name: tmp_path_factory.mktemp(name) for name in TIMED}   # mktemp: not thread-safe

    def work(name, server):
        try:
            r = run_script(dirs[name], TIMED[name], base=server, timeout=30)
        except BaseException as e:  # noqa: BLE001 - re-raised in the test
            r = e
        out[name] = (r, server)

    with contextlib.ExitStack() as stack:
        threads = []
        for name in TIMED:
            srv = stack.enter_context(EchoServer())
            threads.append(threading.Thread(target=work, args=(name, srv)))
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    return out


def timed(runs, name):
    r, server = runs[name]
    if isinstance(r, BaseException):
        raise r
    return r, server


def test_ramping_vus_rise_and_fall(timed_runs):
    r, echo = timed(timed_runs, "ramping_vus")
    vus = metric(r.summary, "vus")
    assert vus["type"] == "gauge", vus
    assert vus["max"] == 4, vus
    vmax = metric(r.summary, "vus_max")
    assert vmax["type"] == "gauge" and vmax["value"] >= 4, vmax
    (s,) = series(r.summary, "vus")
    values = column(s, "value")
    peak = values.index(max(values))
    assert max(values) == 4, values
    assert values[0] < 4 and values[-1] < 4, f"vus did not rise and fall: {values}"
    assert 0 < peak < len(values) - 1, values
    assert set(vu_counts(echo)) == {"1", "2", "3", "4"}
    assert r.summary["state"]["testRunDurationMs"] >= 3900, r.summary["state"]
    assert_accounting(r.summary, server_count=len(echo.log))


def test_constant_arrival_rate(timed_runs):
    r, echo = timed(timed_runs, "constant_arrival_rate")
    n = metric(r.summary, "iterations")["count"]
    assert 196 <= n <= 204, f"{n} iterations at 50/s for 4 s (expected 200 +- 2%)"
    assert metric(r.summary, "http_reqs")["count"] == n == len(echo.log)
    assert metric(r.summary, "dropped_iterations")["count"] == 0
    assert_accounting(r.summary, server_count=len(echo.log),
                      scheduled=scheduled_arrivals(50, "4s"))


def test_ramping_arrival_rate_follows_integral(timed_runs):
    r, echo = timed(timed_runs, "ramping_arrival_rate")
    n = metric(r.summary, "iterations")["count"]
    assert 190 <= n <= 210, f"{n} iterations, expected the integral 200 +- 5%"
    # exactly: each of the 200 scheduled arrivals started or was dropped
    scheduled = scheduled_arrivals(stages=[("1s", 100), ("1s", 100), ("1s", 0)])
    assert scheduled == 200
    assert_accounting(r.summary, server_count=len(echo.log), scheduled=scheduled)
    (s,) = series(r.summary, "iterations", scenario="rar")
    counts = column(s, "count")
    assert len(counts) >= 3, s
    # the middle second (100/s) is busier than the first (ramping up from 0)
    assert counts[1] > counts[0], counts


def test_constant_arrival_rate_time_unit(tmp_path, echo_server):
    # 30 per 2 s for 1 s = 15 iterations
    r = run_script(tmp_path, """
        options = { scenarios = { car = { executor = "constant-arrival-rate", rate = 30, timeUnit = "2s",
                                          duration = "1s", preAllocatedVUs = 2, maxVUs = 5 } } }
        function default() http.get(BASE .. "/it") end
    """, base=echo_server, timeout=30)
    n = metric(r.summary, "iterations")["count"]
    assert 14 <= n <= 16, f"{n} iterations for rate=30 timeUnit=2s over 1s (expected 15)"
    assert_accounting(r.summary, server_count=len(echo_server.log),
                      scheduled=scheduled_arrivals(30, "1s", time_unit="2s"))


def test_dropped_iterations_with_too_few_vus(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { scenarios = { car = { executor = "constant-arrival-rate", rate = 50, timeUnit = "1s",
                                          duration = "1s", preAllocatedVUs = 1, maxVUs = 1,
                                          gracefulStop = "3s" } } }
        function default() http.get(BASE .. "/slow?delay=1000") end
    """, base=echo_server, timeout=30)
    dropped = metric(r.summary, "dropped_iterations")
    n = metric(r.summary, "iterations")["count"]
    assert dropped["type"] == "counter" and dropped["count"] > 0, dropped
    assert n <= 3, f"{n} iterations of 1 s on one VU within ~1 s"
    assert n + dropped["count"] <= 51, (n, dropped)
    assert len(echo_server.log) <= 3
    assert metric(r.summary, "vus_max")["value"] == 1
    assert_accounting(r.summary, server_count=len(echo_server.log),
                      scheduled=scheduled_arrivals(50, "1s"))


def test_several_scenarios(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { scenarios = {
          first = { executor = "shared-iterations", vus = 2, iterations = 6, exec = "fa" },
          second = { executor = "per-vu-iterations", vus = 2, iterations = 3, exec = "fb",
                     startTime = "700ms" },
          third = { executor = "constant-arrival-rate", rate = 20, timeUnit = "1s", duration = "1s",
                    preAllocatedVUs = 2, maxVUs = 4, startTime = "300ms", exec = "fc" },
        } }
        local function hit(path)
          http.get(BASE .. path, { headers = { ["X-Scenario"] = stampede.scenario.name } })
        end
        function fa() hit("/a") end
        function fb() hit("/b") end
        function fc() hit("/c") end
        -- no default(): every scenario names its exec function
    """, "--threshold", "iterations{scenario:first}: count==6",
         "--threshold", "iterations{scenario:second}: count==6",
         base=echo_server, timeout=30)
    assert threshold_entry(r.summary, "iterations{scenario:first}", "count==6")["ok"]
    assert threshold_entry(r.summary, "iterations{scenario:second}", "count==6")["ok"]
    third = series_total(r.summary, "iterations", scenario="third")
    assert 19 <= third <= 21, third
    assert metric(r.summary, "iterations")["count"] == 12 + third
    a, b, c = (echo_server.entries(path=p) for p in ("/a", "/b", "/c"))
    assert len(a) == 6 and len(b) == 6 and len(c) == third
    assert {e["headers"]["x-scenario"] for e in a} == {"first"}
    assert {e["headers"]["x-scenario"] for e in b} == {"second"}
    assert {e["headers"]["x-scenario"] for e in c} == {"third"}
    assert_accounting(r.summary, server_count=len(echo_server.log))
    # startTime: "second" starts 700 ms after the test, "third" 300 ms after
    t0 = min(e["t"] for e in a)
    assert min(e["t"] for e in b) - t0 >= 0.6, "scenario 'second' started before its startTime"
    assert min(e["t"] for e in c) - t0 >= 0.2, "scenario 'third' started before its startTime"


ENV_TAGS_SCRIPT = """
    options = { scenarios = {
      one = { executor = "shared-iterations", vus = 1, iterations = 2, exec = "f",
              env = { WHO = "one-env" }, tags = { team = "alpha" } },
      two = { executor = "shared-iterations", vus = 1, iterations = 2, exec = "f" },
    } }
    function f()
      http.get(BASE .. "/" .. stampede.scenario.name,
               { headers = { ["X-Who"] = tostring(stampede.env.WHO) } })
    end
"""


def test_scenario_env(tmp_path, echo_server):
    run_script(tmp_path, ENV_TAGS_SCRIPT, "-e", "OTHER=1", base=echo_server)
    assert [e["headers"]["x-who"] for e in echo_server.entries(path="/one")] == ["one-env"] * 2
    assert [e["headers"]["x-who"] for e in echo_server.entries(path="/two")] == ["nil"] * 2


def test_scenario_tags(tmp_path, echo_server):
    r = run_script(tmp_path, ENV_TAGS_SCRIPT, "--threshold", "http_reqs{team:alpha}: count==2",
                   base=echo_server, expect=(0, 99))
    assert metric(r.summary, "http_reqs{team:alpha}").get("count") == 2
    assert series_total(r.summary, "http_reqs", scenario="one", team="alpha") == 2
    assert series_total(r.summary, "http_reqs", scenario="two", team="alpha") == 0
    assert r.rc == 0


def test_exec_must_name_a_function(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { scenarios = { s = { executor = "shared-iterations", exec = "nope" } } }
        function default() http.get(BASE .. "/") end
    """, base=echo_server, expect=None)
    assert r.rc in (104, 107), r
    assert "nope" in r.stderr, r
    assert echo_server.log == []


def test_graceful_stop_zero_interrupts_iterations(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { scenarios = { c = { executor = "constant-vus", vus = 2, duration = "500ms",
                                        gracefulStop = "0s" } } }
        function default()
          http.get(BASE .. "/start")
          stampede.sleep(5)
          http.get(BASE .. "/never")
        end
    """, base=echo_server, timeout=20)
    assert r.elapsed < 4, f"gracefulStop 0s did not cut 5 s iterations short\n{r}"
    assert echo_server.entries(path="/never") == []
    assert len(echo_server.entries(path="/start")) == 2
    assert r.summary["state"].get("interruptedIterations", 2) == 2, r.summary["state"]
    assert_accounting(r.summary, server_count=len(echo_server.log))


def test_graceful_stop_lets_iterations_finish(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { scenarios = { c = { executor = "constant-vus", vus = 2, duration = "300ms",
                                        gracefulStop = "5s" } } }
        function default()
          http.get(BASE .. "/start")
          stampede.sleep(0.6)
          http.get(BASE .. "/end")
        end
    """, base=echo_server, timeout=20)
    # started before the end of the duration, finished within gracefulStop
    assert len(echo_server.entries(path="/end")) == 2 == len(echo_server.entries(path="/start"))
    assert metric(r.summary, "iterations")["count"] == 2
    assert_accounting(r.summary, server_count=len(echo_server.log))


def test_arrival_rate_allocates_vus_up_to_max(tmp_path, echo_server):
    # 20 iterations/s of 250 ms each need ~5 VUs: 1 pre-allocated, up to 10 allowed
    r = run_script(tmp_path, """
        options = { scenarios = { car = { executor = "constant-arrival-rate", rate = 20, timeUnit = "1s",
                                          duration = "1s", preAllocatedVUs = 1, maxVUs = 10 } } }
        function default()
          http.get(BASE .. "/it?delay=250", { headers = { ["X-VU"] = tostring(stampede.vu.id) } })
        end
    """, base=echo_server, timeout=30)
    n = metric(r.summary, "iterations")["count"]
    assert 19 <= n <= 21, n
    assert metric(r.summary, "dropped_iterations")["count"] == 0
    vmax = metric(r.summary, "vus_max")["max"]
    assert 4 <= vmax <= 10, metric(r.summary, "vus_max")
    assert 4 <= len(vu_counts(echo_server)) <= 10, vu_counts(echo_server)
    assert_accounting(r.summary, server_count=len(echo_server.log),
                      scheduled=scheduled_arrivals(20, "1s"))
