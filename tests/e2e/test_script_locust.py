"""Scripted tests: the Locust-style helpers (docs/scripting.md "Locust-style helpers")."""

from collections import Counter

from conftest import metric
from script_servers import echo_server, run_script  # noqa: F401

LOCUST = 'local locust = require "stampede.locust"\n'


def test_weighted_tasks_and_on_start(tmp_path, echo_server):
    r = run_script(tmp_path, LOCUST + """
        local browse_n = metrics.counter("task_browse")
        local buy_n = metrics.counter("task_buy")
        local starts = metrics.counter("on_start_calls")
        options = { vus = 4, iterations = 400 }
        local function browse() browse_n:add(1) end
        local function buy() buy_n:add(1) end
        default = locust.user {
          on_start = function()
            starts:add(1)
            http.get(BASE .. "/start", { headers = { ["X-VU"] = tostring(stampede.vu.id) } })
          end,
          tasks = { { weight = 3, fn = browse }, { weight = 1, fn = buy } },
          wait = locust.constant(0),
        }
    """, base=echo_server, timeout=30)
    browse = metric(r.summary, "task_browse")["count"]
    buy = metric(r.summary, "task_buy")["count"]
    assert browse + buy == 400, (browse, buy)
    # weights 3:1 over 400 draws: browse is binomial(400, 0.75), 300 +- 8.7 (one sd); a
    # 6 sd band fails about once in 500 million runs (3.1 sd, 327:73, happened in CI)
    assert abs(browse - 300) <= 6 * 8.66, f"weights 3:1 gave {browse}:{buy}"
    assert metric(r.summary, "iterations")["count"] == 400
    # on_start ran once per VU that ran (at most 4), not once per iteration
    starts = metric(r.summary, "on_start_calls")["count"]
    vus = Counter(e["headers"]["x-vu"] for e in echo_server.entries(path="/start"))
    assert 1 <= starts <= 4 and sum(vus.values()) == starts, (starts, vus)
    assert all(n == 1 for n in vus.values()), vus
    assert r.summary["script_errors"] == []


def test_tasks_helper(tmp_path, echo_server):
    r = run_script(tmp_path, LOCUST + """
        local a = metrics.counter("task_a")
        local b = metrics.counter("task_b")
        local pick = locust.tasks({ { weight = 1, fn = function() a:add(1) end },
                                    { weight = 1, fn = function() b:add(1) end } })
        options = { iterations = 200 }
        function default() pick() end
    """, base=echo_server)
    na, nb = metric(r.summary, "task_a")["count"], metric(r.summary, "task_b")["count"]
    assert na + nb == 200 and na >= 60 and nb >= 60, (na, nb)


def test_constant_wait(tmp_path, echo_server):
    r = run_script(tmp_path, LOCUST + """
        options = { iterations = 3, vus = 1 }
        default = locust.user {
          tasks = { { weight = 1, fn = function() http.get(BASE .. "/t") end } },
          wait = locust.constant(0.2),
        }
    """, base=echo_server, timeout=20)
    assert len(echo_server.entries(path="/t")) == 3
    assert r.summary["script_errors"] == []
    # the wait is part of the iteration (or at least of the run): it cannot be shorter
    it = metric(r.summary, "iteration_duration")
    assert it["min"] >= 190 or r.summary["state"]["testRunDurationMs"] >= 390, \
        (it, r.summary["state"])


def test_between_wait(tmp_path, echo_server):
    r = run_script(tmp_path, LOCUST + """
        options = { iterations = 4, vus = 1 }
        default = locust.user {
          tasks = { { weight = 1, fn = function() http.get(BASE .. "/t") end } },
          wait = locust.between(0.1, 0.15),
        }
    """, base=echo_server, timeout=20)
    assert len(echo_server.entries(path="/t")) == 4
    assert r.summary["script_errors"] == []
    it = metric(r.summary, "iteration_duration")
    assert it["min"] >= 95 or r.summary["state"]["testRunDurationMs"] >= 290, \
        (it, r.summary["state"])


def test_constant_pacing(tmp_path, echo_server):
    r = run_script(tmp_path, LOCUST + """
        options = { iterations = 3, vus = 1 }
        default = locust.user {
          tasks = { { weight = 1, fn = function() http.get(BASE .. "/t?delay=50") end } },
          wait = locust.constant_pacing(0.25),
        }
    """, base=echo_server, timeout=20)
    log = echo_server.entries(path="/t")
    assert len(log) == 3
    assert r.summary["script_errors"] == []
    # task start to task start is at least the pacing (task 50 ms + wait 200 ms)
    gaps = [b["t"] - a["t"] for a, b in zip(log, log[1:])]
    assert all(g >= 0.23 for g in gaps), gaps
