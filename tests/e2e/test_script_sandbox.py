"""The script sandbox (issue #8 §5): no process control, no file system, no debug library.

Every forbidden function raises a script error naming itself (file:line), at the top level
(exit 107, nothing run) and inside an iteration (counted in script_errors); the run still
ends with its summary. The harmless parts of os, io and debug stay.
"""

import pytest

from script_servers import echo_server, run_script, script_errors  # noqa: F401

FORBIDDEN = ["os.exit(3)", "os.execute('true')", "os.remove('x')", "os.rename('a', 'b')",
             "os.tmpname()", "io.open('/etc/passwd')", "io.popen('id')", "io.lines('x')",
             "io.output('x')", "dofile('x.lua')", "loadfile('x.lua')",
             "package.loadlib('x.so', 'f')", "debug.sethook()", "debug.getinfo(1)"]


@pytest.mark.parametrize("call", FORBIDDEN)
def test_forbidden_in_an_iteration_is_a_script_error(tmp_path, echo_server, call):  # noqa: F811
    r = run_script(tmp_path, f"""
        options = {{ iterations = 2, vus = 1 }}
        function default() {call} end
    """, base=echo_server, expect=0)
    errs = script_errors(r.summary)
    assert len(errs) == 1 and errs[0]["count"] == 2, errs
    name = call.split("(")[0]
    msg = errs[0]["message"]
    if name.startswith("debug."):   # debug keeps traceback only: the rest is nil
        assert "attempt to call a nil value" in msg, msg
    else:
        assert f"{name} is not available in stampede scripts" in msg, msg
    assert "script.lua:" in msg, msg


def test_forbidden_at_top_level_exits_107(tmp_path):
    r = run_script(tmp_path, """
        os.exit(0)
        options = { iterations = 1, vus = 1 }
        function default() end
    """, expect=107, export=False)
    assert "os.exit is not available" in r.stderr, r.stderr


def test_harmless_parts_stay(tmp_path):
    r = run_script(tmp_path, """
        options = { iterations = 1, vus = 1 }
        function default()
          io.write("W:", tostring(os.time() > 0), tostring(os.clock() >= 0),
                   type(os.date("%Y")), type(os.getenv("PATH")),
                   type(debug.traceback("x")), "\\n")
        end
    """, expect=0)
    assert "W:truetruestringstringstring" in r.stdout, r.stdout
    assert script_errors(r.summary) == []
