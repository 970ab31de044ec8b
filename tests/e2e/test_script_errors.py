"""Scripted tests: script errors and their exit codes (docs/scripting.md "Errors and exit
codes"): 107 for syntax/init/setup/teardown errors, 104 for invalid options, 108 for
stampede.abort(); an error inside an iteration only ends that iteration."""

import re
import subprocess

import pytest

from accounting import assert_accounting
from conftest import BIN, EXIT_ABORTED, EXIT_CONFIG, metric
from script_servers import (EXIT_SCRIPT, echo_server, line_of, run_script,  # noqa: F401
                            script_errors)


def test_syntax_error_exit_107_with_line(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          local x = = 1 -- SYNTAX
          http.get(BASE .. "/")
        end
    """, base=echo_server, expect=EXIT_SCRIPT)
    line = line_of(r.script, "-- SYNTAX")
    assert f"script.lua:{line}:" in r.stderr, f"expected script.lua:{line}: in stderr\n{r}"
    assert echo_server.log == []


def test_error_at_top_level_exit_107(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        local t = nil
        local n = t.field -- INIT ERROR
        function default() http.get(BASE .. "/") end
    """, base=echo_server, expect=EXIT_SCRIPT)
    line = line_of(r.script, "-- INIT ERROR")
    assert f"script.lua:{line}:" in r.stderr, r
    assert echo_server.log == []


def test_runtime_error_in_iteration(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 6, vus = 1 }
        function default()
          local i = stampede.vu.iteration
          http.get(BASE .. "/before?i=" .. i)
          if i % 2 == 1 then
            error("boom on odd iteration") -- RUNTIME
          end
          http.get(BASE .. "/after?i=" .. i)
        end
    """, base=echo_server, expect=0)
    line = line_of(r.script, "-- RUNTIME")
    errs = script_errors(r.summary)
    assert len(errs) == 1, errs
    assert "boom on odd iteration" in errs[0]["message"], errs
    assert f"script.lua:{line}:" in errs[0]["message"], errs
    assert errs[0]["count"] == 3, errs
    # the run went on: every iteration started, the even ones finished
    assert sorted(e["query"]["i"] for e in echo_server.entries(path="/before")) == \
        ["0", "1", "2", "3", "4", "5"]
    assert sorted(e["query"]["i"] for e in echo_server.entries(path="/after")) == \
        ["0", "2", "4"]
    assert metric(r.summary, "http_reqs")["count"] == 9
    assert_accounting(r.summary, server_count=len(echo_server.log))
    # printed once (with a count in the summary), not once per iteration
    assert r.stderr.count("boom on odd iteration") == 1, r.stderr
    assert "boom on odd iteration" in r.stdout, r.stdout


def test_distinct_errors_counted_separately(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 5, vus = 1 }
        function default()
          local i = stampede.vu.iteration
          if i < 2 then error("first kind") end
          if i < 5 then local t = nil; return t.x end
        end
    """, base=echo_server, expect=0)
    errs = {("first kind" in e["message"]): e["count"] for e in script_errors(r.summary)}
    assert errs == {True: 2, False: 3}, r.summary["script_errors"]


def test_error_in_setup_sends_no_load(tmp_path, nginx):
    before = nginx.access_count()
    r = run_script(tmp_path, """
        options = { vus = 2, iterations = 10 }
        function setup()
          error("setup exploded")
        end
        function default() http.get(BASE .. "/load") end
    """, base=nginx.url, expect=EXIT_SCRIPT)
    assert "setup exploded" in r.stderr, r
    assert nginx.settled_count(since=before, quiet=0.2) == 0, nginx.access_lines()[before:]


def test_error_in_teardown_exit_107(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 3 }
        function default() http.get(BASE .. "/load") end
        function teardown() error("teardown exploded") end
    """, base=echo_server, expect=EXIT_SCRIPT)
    assert "teardown exploded" in r.stderr, r
    assert len(echo_server.entries(path="/load")) == 3


BAD_OPTIONS = {
    "unknown_key": ("options = { iterations = 1, vuss = 2 }", "vuss"),
    "vus_not_a_number": ('options = { vus = "x", duration = "1s" }', "vus"),
    "bad_duration": ('options = { vus = 1, duration = "ten seconds" }', "duration"),
    "arrival_rate_without_rate": (
        'options = { scenarios = { s = { executor = "constant-arrival-rate", duration = "1s", '
        'preAllocatedVUs = 1 } } }', "rate"),
    "unknown_executor": (
        'options = { scenarios = { s = { executor = "warp-speed", vus = 1 } } }', "executor"),
    "unknown_scenario_key": (
        'options = { scenarios = { s = { executor = "shared-iterations", iterations = 1, '
        'rate = 5 } } }', "rate"),
    "bad_threshold": ('options = { iterations = 1, thresholds = { http_reqs = { "count===" } } }',
                      "http_reqs"),
}


@pytest.mark.parametrize("case", list(BAD_OPTIONS))
def test_bad_options_exit_104(tmp_path, echo_server, case):
    opts, name = BAD_OPTIONS[case]
    r = run_script(tmp_path, opts + '\nfunction default() http.get(BASE .. "/") end\n',
                   base=echo_server, expect=EXIT_CONFIG)
    assert name in r.stderr, f"the message does not name {name!r}\n{r}"
    assert echo_server.log == []


def test_abort(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { scenarios = { c = { executor = "constant-vus", vus = 2, duration = "20s" } } }
        function default()
          http.get(BASE .. "/load")
          if stampede.vu.id == 1 and stampede.vu.iteration == 3 then
            stampede.abort("enough of this")
          end
          stampede.sleep(0.02)
        end
    """, base=echo_server, expect=EXIT_ABORTED, timeout=30)
    assert r.elapsed < 10, f"abort did not stop a 20 s test quickly\n{r}"
    assert r.summary is not None, f"no --summary-export after abort\n{r}"
    assert r.summary["state"]["aborted"] is True, r.summary["state"]
    assert "enough of this" in r.stderr + r.stdout, r
    assert metric(r.summary, "http_reqs")["count"] >= 4
    assert_accounting(r.summary, server_count=len(echo_server.log))


def test_abort_in_setup(tmp_path, echo_server):
    run_script(tmp_path, """
        options = { iterations = 5 }
        function setup() stampede.abort("no point") end
        function default() http.get(BASE .. "/load") end
    """, base=echo_server, expect=EXIT_ABORTED)
    assert echo_server.entries(path="/load") == []


def test_fail_fails_the_iteration(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 4, vus = 1 }
        function default()
          local i = stampede.vu.iteration
          if i % 2 == 0 then stampede.fail("custom failure reason") end
          http.get(BASE .. "/ok?i=" .. i)
        end
    """, base=echo_server, expect=0)
    errs = script_errors(r.summary)
    assert len(errs) == 1 and "custom failure reason" in errs[0]["message"], errs
    assert errs[0]["count"] == 2, errs
    assert sorted(e["query"]["i"] for e in echo_server.log) == ["1", "3"]


def test_http_in_init_context(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        local res = http.get(BASE .. "/init") -- INIT HTTP
        function default() end
    """, base=echo_server, expect=EXIT_SCRIPT)
    line = line_of(r.script, "-- INIT HTTP")
    assert re.search(r"init", r.stderr, re.I), f"the message does not say why\n{r}"
    assert f"script.lua:{line}:" in r.stderr, r
    assert echo_server.log == []


def test_sleep_in_init_context(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        stampede.sleep(0.01)
        function default() end
    """, base=echo_server, expect=EXIT_SCRIPT)
    assert re.search(r"init", r.stderr, re.I), r


def test_missing_default_function(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function setup() end
    """, base=echo_server, expect=(EXIT_CONFIG, EXIT_SCRIPT))
    assert "default" in r.stderr, r


def test_missing_script_file(tmp_path):
    p = subprocess.run([BIN, "run", str(tmp_path / "nope.lua"), "-q"], capture_output=True,
                       text=True, timeout=20, stdin=subprocess.DEVNULL)
    assert p.returncode in (EXIT_CONFIG, EXIT_SCRIPT), (p.returncode, p.stderr)
    assert "nope.lua" in p.stderr, p.stderr
