"""The script sandbox, part 2 (issue #8): what a hostile script must not be able to do.

No binary chunks (load forces text mode, string.dump is gone); require gives the
sandboxed libraries and loads modules from the script's directory only; a VU's coroutine
cannot be resumed or closed by another VU; code that loops in __close after an error ends;
__gc metamethods are refused; metric values are finite, trends are clamped (never 0);
error messages are bounded; handle_summary() names at most 64 outputs.
"""

import pytest

from script_servers import echo_server, run_script, script_errors  # noqa: F401

# A corrupted Lua 5.4 binary chunk (string.dump output with 3 bytes changed): running it
# crashed the process.
BYTECODE = ("1b4c7561540019930d0a1a0a040808785600000000000000000000002877400089407333632e6c"
            "756181810200068d13e7000352f700008001000000020100d60200004e0103008d0102010d0202"
            "0334020400a2010304ae010406c8010200c701010081048478797a80808d000000000000000000"
            "0000000080838261808d8262808d8274868d80")


def test_binary_chunks_are_refused(tmp_path):
    r = run_script(tmp_path, f"""
        local chunk = ("{BYTECODE}"):gsub("%x%x", function(h)
          return string.char(tonumber(h, 16)) end)
        options = {{ iterations = 1 }}
        function default()
          local f, err = load(chunk, "x", "b")
          print("LOAD:", type(f), err)
          print("DUMP:", type(string.dump))
          print("TEXT:", load("return 6 * 7", "y", "b")())
          if f then f(1, 2) end
        end
    """, expect=0)
    assert "LOAD:\tnil\t" in r.stdout and "attempt to load a binary chunk" in r.stdout, r
    assert "DUMP:\tnil" in r.stdout and "TEXT:\t42" in r.stdout, r.stdout
    assert script_errors(r.summary) == []


def test_require_gives_the_sandboxed_libraries(tmp_path):
    r = run_script(tmp_path, """
        local d, o, i = require "debug", require "os", require "io"
        options = { iterations = 1 }
        function default()
          print("LIBS:", d == debug, d.sethook == nil, d.getinfo == nil, o == os, i == io)
          local ok, err = pcall(o.execute, "true")
          print("EXEC:", ok, err)
        end
    """, expect=0)
    assert "LIBS:\ttrue\ttrue\ttrue\ttrue\ttrue" in r.stdout, r.stdout
    assert "EXEC:\tfalse" in r.stdout and "os.execute is not available" in r.stdout, r


def test_require_loads_from_the_script_directory_only(tmp_path):
    (tmp_path / "mymod.lua").write_text("return { v = 'mine' }\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "sub.lua").write_text("return { v = 'sub' }\n")
    (tmp_path / "pkg" / "init.lua").write_text("return { v = 'init' }\n")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.lua"
    outside.write_text("return { v = 'outside' }\n")
    r = run_script(tmp_path, f"""
        local a, b, c = require "mymod", require "pkg.sub", require "pkg"
        print("MODS:", a.v, b.v, c.v)
        package.path = "{tmp_path.parent}/?.lua;/etc/?"
        for _, n in ipairs({{ "{outside.stem}", "passwd", "../{outside.stem}", "/etc/passwd" }}) do
          local ok, err = pcall(require, n)
          print("REQ:", n, ok)
        end
        print("SEARCHPATH:", pcall(package.searchpath, "passwd", "/etc/?"))
        options = {{ iterations = 1 }}
        function default() end
    """, expect=0)
    assert "MODS:\tmine\tsub\tinit" in r.stdout, r.stdout
    reqs = [line for line in r.stdout.splitlines() if line.startswith("REQ:")]
    assert len(reqs) >= 4 and all(line.endswith("\tfalse") for line in reqs), r.stdout
    assert "SEARCHPATH:\tfalse" in r.stdout, r.stdout


def test_a_vu_cannot_resume_another_vus_coroutine(tmp_path, echo_server):  # noqa: F811
    r = run_script(tmp_path, """
        options = { vus = 2, duration = "2s" }
        function default()
          if stampede.vu.id == 1 then
            _G.victim = coroutine.running()
            http.get(BASE .. "/slow?delay=200")
          else
            stampede.sleep(0.05)
            local v = _G.victim
            if v and coroutine.status(v) == "suspended" then coroutine.resume(v) end
            if v then coroutine.close(v) end
          end
        end
    """, "-t", "1", base=echo_server, expect=0, timeout=40)
    msgs = [e["message"] for e in script_errors(r.summary)]
    assert any("a VU's own coroutine cannot be resumed by the script" in m
               or "a VU's own coroutine cannot be closed by the script" in m
               for m in msgs), msgs


def test_script_coroutines_still_work(tmp_path):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          local co = coroutine.create(function(a) local b = coroutine.yield(a + 1); return b * 2 end)
          local _, x = coroutine.resume(co, 1)
          local _, y = coroutine.resume(co, 10)
          local w = coroutine.wrap(function() coroutine.yield(5) end)
          print("CO:", x, y, w(), coroutine.status(co), coroutine.close(co))
        end
    """, expect=0)
    assert "CO:\t2\t20\t5\tdead\ttrue" in r.stdout, r.stdout


def test_close_that_loops_after_an_error_ends(tmp_path):
    r = run_script(tmp_path, """
        options = { iterations = 3 }
        function default()
          local x <close> = setmetatable({}, { __close = function() while true do end end })
          error("boom")
        end
    """, expect=0, timeout=30)
    errs = script_errors(r.summary)
    assert len(errs) == 1 and "boom" in errs[0]["message"] and errs[0]["count"] == 3, errs


@pytest.mark.parametrize("where", ["init", "iteration", "handle_summary"])
def test_gc_metamethods_are_refused(tmp_path, where):
    gc = "G = setmetatable({}, { __gc = function() while true do end end })"
    r = run_script(tmp_path, f"""
        options = {{ iterations = 1 }}
        {gc if where == "init" else ""}
        function default() {gc if where == "iteration" else ""} end
        function handle_summary() {gc if where == "handle_summary" else ""} return {{}} end
    """, expect=0 if where == "iteration" else 107, timeout=30,
        export=where != "init")
    text = r.stderr + str(r.summary)
    assert "__gc metamethods are not available" in text, r


def test_file_handle_metatable_is_out_of_reach(tmp_path):
    # io.stdout's metatable is already marked for finalization: a __gc rawset into it
    # would run, with no hook, when the state closes (it hung the run before any load).
    r = run_script(tmp_path, """
        print("mt", getmetatable(io.stdout))
        print("rawset", pcall(rawset, getmetatable(io.stdout), "__gc",
                              function() while true do end end))
        options = { iterations = 1 }
        function default() io.write("wrote\\n") end
    """, expect=0, timeout=30)
    assert "mt\tfalse" in r.stdout and "rawset\tfalse" in r.stdout, r
    assert "wrote" in r.stdout, r


def test_non_finite_metric_values_are_script_errors(tmp_path):
    r = run_script(tmp_path, """
        local c, g, t, rt = metrics.counter("cnan"), metrics.gauge("ginf"),
                            metrics.trend("tinf"), metrics.rate("rnan")
        options = { iterations = 1 }
        function default()
          for _, f in ipairs({ function() c:add(0/0) end, function() g:add(1/0) end,
                               function() t:add(-1/0) end, function() rt:add(0/0) end }) do
            local ok, err = pcall(f)
            print("ADD:", ok, err)
          end
          c:add(1)
        end
    """, expect=0)
    for name in ("cnan", "ginf", "tinf", "rnan"):
        assert f"metric '{name}': values must be finite numbers" in r.stdout, r.stdout
    assert r.summary["metrics"]["cnan"]["count"] == 1, r.summary["metrics"]["cnan"]


def test_huge_trend_values_are_clamped_not_zero(tmp_path):
    r = run_script(tmp_path, """
        local ts = {}
        local vals = { 1e6, 1e9, 1e16, 1e17, 1e300 }
        for i in ipairs(vals) do ts[i] = metrics.trend("t" .. i) end
        options = { iterations = 1 }
        function default() for i, v in ipairs(vals) do ts[i]:add(v); ts[i]:add(v) end end
    """, expect=0)
    m = r.summary["metrics"]
    assert m["t1"]["max"] == pytest.approx(1e6, rel=1e-3), m["t1"]
    for i in range(2, 6):
        assert m[f"t{i}"]["count"] == 2 and m[f"t{i}"]["min"] == 3600000, m[f"t{i}"]
        assert r.stderr.count(f"trend 't{i}' got a value above 3600000") == 1, r.stderr


def test_long_error_messages_are_cut(tmp_path):
    r = run_script(tmp_path, """
        local big = string.rep("x", 1000000)
        options = { iterations = 5 }
        function default() error(stampede.scenario.iteration .. big, 0) end
    """, expect=0)
    errs = script_errors(r.summary)
    assert len(errs) == 5, [e["message"][:40] for e in errs]
    for e in errs:
        assert len(e["message"]) < 1100 and e["message"].endswith(" (1000001 bytes)"), e
    assert len(r.stderr) < 20000, len(r.stderr)


def test_handle_summary_outputs_are_bounded(tmp_path):
    out = tmp_path / "many"
    out.mkdir()
    r = run_script(tmp_path, f"""
        options = {{ iterations = 1 }}
        function default() end
        function handle_summary()
          local t = {{ stdout = "HS-OUT" }}
          for i = 1, 1000 do t["{out}/k" .. i] = "" end
          return t
        end
    """, expect=107)
    assert "more than 64 outputs" in r.stderr, r.stderr
    assert list(out.iterdir()) == [] and "HS-OUT" not in r.stdout, r.stdout
    assert r.summary is not None  # the export is still written
