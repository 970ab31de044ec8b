"""CPU-bound Lua stops when told (issue #8 §1): an instruction-count hook lets a computing
iteration yield to its worker's event loop every few milliseconds, so durations, gracefulStop,
signals and setupTimeout/teardownTimeout/handleSummaryTimeout all apply to `while true do
end`; where the code cannot yield (a coroutine of the script, a sort comparator), the hook
ends it at its deadline and keeps raising until it is back in C, so no pcall swallows the
stop. SIGHUP stops a run like SIGTERM. Timings are bounds with slack, never exact.
"""

import json
import signal
import time

import pytest

from conftest import EXIT_INTERRUPTED, check_rc, interrupted_summary
from script_servers import echo_server, run_script, script_errors, write_script  # noqa: F401
from test_outputs_safe import char_device

SLACK = 5  # seconds allowed past duration + gracefulStop on a loaded machine


def state(r):
    assert r.summary is not None, f"--summary-export not written\n{r}"
    return r.summary["state"]


def metric_count(summary, name):
    m = summary["metrics"].get(name)
    return 0 if m is None else m.get("count", 0)


def wait_for_file(path, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > 0:
            return
        time.sleep(0.05)
    pytest.fail(f"{path} did not appear within {timeout}s", pytrace=False)


# What a VU prints when it reaches the code a signal must find it in: the test waits for it
# (a fixed sleep could signal a loaded machine's process before it got there)
MARK = "@@ busy"
BUSY = f"print({MARK!r}) while true do end"

def busy_scenario(body, vus=2, duration="2s", grace="1s"):
    return f"""
        options = {{ scenarios = {{ s = {{ executor = "constant-vus", vus = {vus},
                     duration = "{duration}", gracefulStop = "{grace}" }} }} }}
        function default() {body} end
    """


# --------------------------------------------------------------------------------------
# iterations that never wait
# --------------------------------------------------------------------------------------
def test_busy_loop_ends_at_duration_plus_grace(tmp_path):
    r = run_script(tmp_path, busy_scenario("while true do end"), expect=0, timeout=30)
    assert r.elapsed < 3 + SLACK, f"the run did not end at duration + gracefulStop\n{r}"
    assert r.elapsed >= 2.5, f"the run ended before duration + gracefulStop\n{r}"
    assert "iterations" in r.stdout, f"no summary on stdout\n{r}"
    st = state(r)
    assert st["interruptedIterations"] == 2, st
    assert script_errors(r.summary) == []


def test_grace_flag_replaces_the_scripts_graceful_stop(tmp_path):
    # --grace given with a script replaces every scenario's gracefulStop (here 60 s): the
    # busy iterations are interrupted 1 s after the duration, not 60 s.
    r = run_script(tmp_path, busy_scenario("while true do end", grace="60s"), "--grace",
                   "1s", expect=0, timeout=40)
    assert r.elapsed < 3 + SLACK, f"--grace did not replace gracefulStop\n{r}"
    assert state(r)["interruptedIterations"] == 2, state(r)


# Each body tries to keep the CPU where the hook cannot simply yield, or to catch the stop.
SWALLOWERS = {
    "pcall": "while true do pcall(function() while true do end end) end",
    "xpcall_handler": "while true do xpcall(function() while true do end end, "
                      "function() while true do end end) end",
    "coroutine": "local co = coroutine.wrap(function() while true do end end) "
                 "while true do pcall(co) end",
    "new_coroutines": "while true do pcall(coroutine.wrap(function() while true do end "
                      "end)) end",
    "sort_comparator": "while true do pcall(table.sort, {3, 2, 1}, function() "
                       "while true do end end) end",
    "gsub_callback": "string.gsub(('a'):rep(10), 'a', function() while true do "
                     "pcall(error, 'x') end end)",
    "error_in_loop": "while true do pcall(function() error('x') end) end",
}


@pytest.mark.parametrize("body", SWALLOWERS.values(), ids=SWALLOWERS.keys())
def test_no_pcall_swallows_the_stop(tmp_path, body):
    r = run_script(tmp_path, busy_scenario(body, duration="1s", grace="1s"), expect=0,
                   timeout=30)
    # a loop that never let its worker's loop run ends at the deadline, and the worker
    # then still waits its gracefulStop once: at most twice the grace
    assert r.elapsed < 3 + SLACK, f"the run did not end\n{r}"
    assert "iterations" in r.stdout, f"no summary on stdout\n{r}"
    assert state(r)["interruptedIterations"] == 2, state(r)
    assert script_errors(r.summary) == [], "the stop must not count as a script error"


def test_computing_iteration_finishes_within_grace(tmp_path):
    # A long computation yields to the loop many times and still gets the right result;
    # the graceful stop at the end of the duration lets it finish (it is not interrupted).
    r = run_script(tmp_path, """
        options = { scenarios = { s = { executor = "constant-vus", vus = 2,
                     duration = "500ms", gracefulStop = "30s" } } }
        function default()
          local n, s = 30000000, 0
          for i = 1, n do s = s + i % 7 end
          local want = 21 * (n // 7) + (n % 7) * (n % 7 + 1) // 2
          stampede.check(s, { ["sum is right"] = function(v) return v == want end })
        end
    """, expect=0, timeout=60)
    assert state(r)["interruptedIterations"] == 0, state(r)
    iters = metric_count(r.summary, "iterations")
    assert iters >= 2, r.summary["metrics"].get("iterations")
    checks = r.summary["root_group"]["checks"]
    assert [(c["passes"], c["fails"]) for c in checks] == [(iters, 0)], checks


def test_computing_in_groups_checks_and_coroutines_keeps_semantics(tmp_path):
    # The hook yields only the VU's own coroutine: the script's coroutines still see only
    # their own yields, and group()/check() (pcall inside) still work across time slices.
    r = run_script(tmp_path, """
        options = { scenarios = { s = { executor = "per-vu-iterations", vus = 2,
                     iterations = 2 } } }
        local N = 3000000
        function default()
          local co = coroutine.wrap(function()
            for _ = 1, 3 do
              local s = 0
              for j = 1, N do s = s + j end
              coroutine.yield(s)
            end
          end)
          local a, b, c = co(), co(), co()
          stampede.check(a, { ["coroutine values"] = function()
            return a == b and b == c and a == N * (N + 1) // 2 end })
          stampede.group("g", function()
            local s = 0
            for _ = 1, 2 * N do s = s + 1 end
            stampede.check(s, { ["group sum"] = function(v) return v == 2 * N end })
          end)
        end
    """, expect=0, timeout=60)
    assert script_errors(r.summary) == []
    checks = {}
    def walk(g):
        for c in g.get("checks", []):
            checks[c["name"]] = (c["passes"], c["fails"])
        for sub in g.get("groups", []):
            walk(sub)
    walk(r.summary["root_group"])
    assert checks == {"coroutine values": (4, 0), "group sum": (4, 0)}, checks


def test_other_vus_of_the_worker_keep_running(tmp_path, echo_server):  # noqa: F811
    # One VU computes forever; another, on the same worker (--threads 1), keeps sending.
    r = run_script(tmp_path, """
        options = { scenarios = {
          busy = { executor = "constant-vus", vus = 1, duration = "2s", gracefulStop = "0s",
                   exec = "busy" },
          calm = { executor = "constant-vus", vus = 1, duration = "2s", exec = "calm" } } }
        function busy() while true do end end
        function calm() http.get(BASE .. "/calm"); stampede.sleep(0.05) end
    """, "--threads", "1", base=echo_server, expect=0, timeout=30)
    assert len(echo_server.entries(path="/calm")) >= 10, "the computing VU starved the other"
    assert state(r)["interruptedIterations"] == 1


def test_busy_init_code_in_workers_stops(tmp_path):
    # The init pass that reads options has no VU (id 0); the workers' VUs compute forever.
    r = run_script(tmp_path, """
        if stampede.vu.id > 0 then while true do end end
        options = { scenarios = { s = { executor = "constant-vus", vus = 2, duration = "1s",
                     gracefulStop = "1s" } } }
        function default() end
    """, expect=0, timeout=30)
    assert r.elapsed < 2 + SLACK, f"init code did not stop\n{r}"
    assert script_errors(r.summary) == []


# --------------------------------------------------------------------------------------
# signals
# --------------------------------------------------------------------------------------
def spawn_script(spawn, tmp_path, source, *args):
    script = write_script(tmp_path, source)
    export = tmp_path / "summary.json"
    p = spawn("run", script, "-q", "--out", f"result={export}", *args)
    return p, export


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_second_signal_stops_a_busy_loop_at_once(spawn, tmp_path, sig):
    p, export = spawn_script(spawn, tmp_path, busy_scenario(BUSY, duration="60s", grace="60s"))
    p.wait_for_output(MARK, count=2)  # both VUs are in their loop
    p.signal(sig)
    time.sleep(0.3)
    p.signal(sig)
    r = p.wait(timeout=10)
    s = interrupted_summary(r, export, "iterations")
    assert s["state"]["interruptedIterations"] == 2, s["state"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_one_signal_stops_a_busy_loop_after_grace(spawn, tmp_path, sig):
    p, export = spawn_script(spawn, tmp_path, busy_scenario(BUSY, duration="60s", grace="1s"))
    p.wait_for_output(MARK, count=2)
    t0 = time.monotonic()
    p.signal(sig)
    r = p.wait(timeout=1 + SLACK)
    assert time.monotonic() - t0 >= 0.8, "the graceful stop did not wait for gracefulStop"
    interrupted_summary(r, export, "iterations")


UNYIELDING = "table.sort({3, 2, 1, 5, 4}, function() while true do end end)"


def test_unyielding_code_gets_one_grace_after_the_end(tmp_path):
    # Code that cannot yield holds its worker's loop until its deadline (end + grace): the
    # loop must then not add another gracefulStop of its own (it used to end at 1 + 2x8 s).
    r = run_script(tmp_path, busy_scenario(UNYIELDING, vus=1, duration="1s", grace="8s"),
                   expect=0, timeout=40)
    assert r.elapsed < 9 + SLACK, f"unyielding code got more than one gracefulStop\n{r}"
    assert state(r)["interruptedIterations"] == 1, state(r)


def test_unyielding_code_gets_one_grace_after_a_signal(spawn, tmp_path):
    p, export = spawn_script(spawn, tmp_path, busy_scenario(f"print({MARK!r}) {UNYIELDING}",
                                                            vus=1, duration="60s", grace="6s"))
    p.wait_for_output(MARK)  # the VU is in the sort (its comparator never returns)
    t0 = time.monotonic()
    p.signal(signal.SIGINT)
    r = p.wait(timeout=30)
    took = time.monotonic() - t0
    assert 5 <= took < 6 + 4, f"stopped {took:.1f} s after the signal, gracefulStop 6 s\n{r}"
    interrupted_summary(r, export, "iterations")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_signal_ends_a_busy_init(spawn, tmp_path, sig):
    # The first pass over the script (reading options) has no time limit, as in k6, but a
    # stop signal ends it with 105 and says so (it used to die of the signal, silently).
    script = write_script(tmp_path, """
        options = { vus = 1, duration = "2s" }
        print("@@ busy")
        while true do end
        function default() end
    """)
    p = spawn("run", script, "-q")
    p.wait_for_output(MARK)  # in the init code's loop
    p.signal(sig)
    r = p.wait(timeout=10)
    check_rc(r, EXIT_INTERRUPTED)
    assert "interrupted while running the script's init code" in r.stderr, r


def test_a_script_that_never_ends_is_refused(stampede):
    # /dev/zero as the script (read, never written): read up to the 64 MiB cap, then a
    # clear error (it used to allocate until it aborted).
    r = stampede("run", "/dev/zero", timeout=30, expect=107)
    assert "larger than 64 MiB" in r.stderr, r


def test_sighup_ends_a_run_like_sigterm(spawn, tmp_path, echo_server):  # noqa: F811
    p, export = spawn_script(spawn, tmp_path, """
        options = { vus = 2, duration = "60s" }
        function default() http.get(BASE .. "/hup"); stampede.sleep(0.05) end
    """, "-e", f"BASE_URL={echo_server.base.rstrip('/')}")
    deadline = time.monotonic() + 10
    while not echo_server.entries(path="/hup") and time.monotonic() < deadline:
        time.sleep(0.05)
    p.signal(signal.SIGHUP)
    r = p.wait(timeout=10)
    s = interrupted_summary(r, export, "http_reqs")   # exit 105: not 129
    assert "Hangup received" in r.stderr, r.stderr    # and not silent
    assert s["metrics"]["http_reqs"]["count"] == len(echo_server.entries(path="/hup"))


def test_sigint_stops_a_busy_setup(spawn, tmp_path):
    p, _ = spawn_script(spawn, tmp_path, """
        options = { vus = 1, iterations = 1 }
        function setup() print("@@ busy") while true do end end
        function default() end
    """)
    p.wait_for_output(MARK)  # in setup()'s loop
    p.signal(signal.SIGINT)
    r = p.wait(timeout=5)
    check_rc(r, EXIT_INTERRUPTED)
    assert "setup() was interrupted" in r.stderr, r.stderr


# --------------------------------------------------------------------------------------
# setupTimeout, teardownTimeout (k6's exit codes 100 and 101)
# --------------------------------------------------------------------------------------
# setup() bodies: one the hook can yield, one it cannot (a sort comparator), and what the
# timeout says for each
BUSY_SETUPS = {
    "busy": ("while true do end", "setup() execution timed out after 1s"),
    "unyielding": ("table.sort({3, 2, 1}, function() while true do end end)",
                   "setup() execution timed out"),
}


@pytest.mark.parametrize("body, message", BUSY_SETUPS.values(), ids=BUSY_SETUPS.keys())
def test_busy_setup_times_out_with_100(tmp_path, body, message):
    r = run_script(tmp_path, """
        options = { vus = 1, iterations = 1, setupTimeout = "1s" }
        function setup() BODY end
        function default() end
    """.replace("BODY", body), expect=100, timeout=30)
    assert r.elapsed < 1 + SLACK, r
    assert message in r.stderr, r.stderr


def test_busy_teardown_times_out_with_101_and_writes_outputs(tmp_path):
    r = run_script(tmp_path, """
        options = { vus = 1, iterations = 1, teardownTimeout = "1s" }
        function default() end
        function teardown() while true do end end
    """, expect=101, timeout=30)
    assert "teardown() execution timed out after 1s" in r.stderr, r.stderr
    assert "iterations" in r.stdout, f"no summary on stdout\n{r}"
    assert r.summary is not None


# --------------------------------------------------------------------------------------
# exit code precedence when an output fails (108 > 107 > 105 > 99, then 110)
# --------------------------------------------------------------------------------------
# The failing output is a /dev/full-like node of the test's own (test_outputs_safe.py's
# char_device): run as root, a writer that wrongly replaced the target would otherwise
# replace the machine's /dev/full.
def dev_full(tmp_path):
    return char_device(tmp_path, "full", 7)


def test_export_failure_alone_exits_110(tmp_path):
    full = dev_full(tmp_path)
    r = run_script(tmp_path, """
        options = { vus = 1, iterations = 1 }
        function default() end
    """, "--out", f"result={full}", export=False, expect=110)
    assert "--out result=" in r.stderr and str(full) in r.stderr, r.stderr
    assert full.is_char_device()
    assert "iterations" in r.stdout


# runs that end with an exit code of higher precedence than the failed export's 110
WINS_OVER_EXPORT = {
    "thresholds": (99, """
        options = { vus = 1, iterations = 1, thresholds = { iterations = { "count>5" } } }
        function default() end
    """),
    "script_error": (107, """
        options = { vus = 1, iterations = 1 }
        function default() end
        function handle_summary() return { [1] = "y" } end
    """),
    "abort": (108, """
        options = { vus = 1, iterations = 1, thresholds = { iterations = { "count>5" } } }
        function default() stampede.abort("enough") end
    """),
}


@pytest.mark.parametrize("rc, source", WINS_OVER_EXPORT.values(), ids=WINS_OVER_EXPORT.keys())
def test_wins_over_a_failed_export(tmp_path, rc, source):
    full = dev_full(tmp_path)
    r = run_script(tmp_path, source, "--out", f"result={full}", export=False, expect=rc)
    assert str(full) in r.stderr, r.stderr
    assert full.is_char_device()


def test_interrupt_wins_over_a_failed_export(spawn, tmp_path):
    full = dev_full(tmp_path)
    script = write_script(tmp_path, busy_scenario(f"print({MARK!r}) stampede.sleep(0.1)",
                                                  duration="60s"))
    p = spawn("run", script, "-q", "--out", f"result={full}")
    p.wait_for_output(MARK)  # the run is under way
    p.signal(signal.SIGINT)
    r = p.wait(timeout=10)
    check_rc(r, EXIT_INTERRUPTED)
    assert str(full) in r.stderr, r.stderr
    assert full.is_char_device()


def test_handle_summary_file_failure_exits_110(tmp_path):
    full = dev_full(tmp_path)
    r = run_script(tmp_path, """
        options = { vus = 1, iterations = 1 }
        function default() end
        function handle_summary() return { [FULL] = "x", stdout = "HS-OUT\\n" } end
    """.replace("FULL", json.dumps(str(full))), expect=110)
    assert "handle_summary" in r.stderr and str(full) in r.stderr, r.stderr
    assert full.is_char_device()
    assert "HS-OUT" in r.stdout
    assert r.summary is not None


def test_handle_summary_file_failure_loses_to_thresholds(tmp_path):
    full = dev_full(tmp_path)
    r = run_script(tmp_path, """
        options = { vus = 1, iterations = 1, thresholds = { iterations = { "count>5" } } }
        function default() end
        function handle_summary() return { [FULL] = "x" } end
    """.replace("FULL", json.dumps(str(full))), expect=99)
    assert str(full) in r.stderr, r.stderr
    assert full.is_char_device()
