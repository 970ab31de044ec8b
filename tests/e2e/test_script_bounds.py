"""Scripts stay bounded and their results are kept whatever they do (issue #8 §1, §2):
distinct error messages are capped (counts stay exact, stderr stays short), a large CSV
costs about its size, handle_summary's bad results are clear script errors that still leave
the default summary and the export, and options.maxResponseBodySize is parsed like k6's.
"""

import pytest

from script_servers import echo_server, run_script, script_errors  # noqa: F401

ERRORS_KEPT = 100      # distinct messages kept (src/script/lua_vu.c)
ERRORS_PRINTED = 20    # distinct messages printed on stderr


def metric_count(summary, name):
    m = summary["metrics"].get(name)
    return 0 if m is None else m.get("count", 0)


# --------------------------------------------------------------------------------------
# distinct error messages
# --------------------------------------------------------------------------------------
def test_unique_error_messages_are_capped_and_counted_exactly(tmp_path):
    r = run_script(tmp_path, """
        options = { vus = 2, duration = "2s" }
        local n = 0
        function default()
          n = n + 1
          error("unique " .. stampede.vu.id .. ":" .. n)
        end
    """, expect=0, timeout=30)
    errs = script_errors(r.summary)
    iterations = metric_count(r.summary, "iterations")
    assert iterations > ERRORS_KEPT * 2, f"too few iterations to test the cap: {iterations}"
    assert len(errs) == ERRORS_KEPT + 1, len(errs)
    # every iteration raised exactly one error: the counts add up to the iterations
    assert sum(e["count"] for e in errs) == iterations
    assert all(e["count"] == 1 for e in errs[:-1]), errs[:3]
    assert "other messages" in errs[-1]["message"], errs[-1]
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len([ln for ln in lines if "script error:" in ln]) == ERRORS_PRINTED, r.stderr
    assert len([ln for ln in lines if "not printed" in ln]) == 1, r.stderr
    assert len(lines) <= ERRORS_PRINTED + 5, r.stderr


def test_repeated_errors_stay_one_entry(tmp_path):
    r = run_script(tmp_path, """
        options = { vus = 1, iterations = 50 }
        function default() error("same") end
    """, expect=0)
    errs = script_errors(r.summary)
    assert len(errs) == 1 and errs[0]["count"] == 50, errs
    assert r.stderr.count("script error:") == 1, r.stderr


# --------------------------------------------------------------------------------------
# data sets
# --------------------------------------------------------------------------------------
ROWS = 500_000


def write_big_csv(path):
    with open(path, "w") as f:
        f.write("id,name,email,city\n")
        for i in range(ROWS):
            f.write(f"{i},user{i:07d}_name_padding_xxxxxxx,user{i:07d}@example.com,"
                    f"city{i % 977:04d}_somewhere_\n")
    return path.stat().st_size


CSV_SCRIPT = """
    local data = require "stampede.data"
    local d = data.csv("{name}")
    options = {{ vus = 4, duration = "1s" }}
    function default()
      assert(#d == {rows})
      local first, last = d:get(1), d:get({rows})
      assert(first.id == "0" and first.email == "user0000000@example.com", first.email)
      assert(last.id == "{last}" and last.city == "city{city}_somewhere_", last.id)
      local r = d:random(); assert(r.name and r.city)
      stampede.sleep(0.01)
    end
"""


def csv_run_rss(tmp_path, name, rows):
    r = run_script(tmp_path, CSV_SCRIPT.format(name=name, rows=rows, last=rows - 1,
                                               city=f"{(rows - 1) % 977:04d}"),
                   "--threads", "2", expect=0, timeout=90)
    assert script_errors(r.summary) == []
    assert metric_count(r.summary, "iterations") > 0
    return r.summary["generator"]["max_rss_kb"] * 1024


def test_large_csv_costs_about_its_size(tmp_path):
    size = write_big_csv(tmp_path / "big.csv")
    assert size > 40e6
    with open(tmp_path / "small.csv", "w") as f:
        f.write("id,name,email,city\n0,a,user0000000@example.com,city0000_somewhere_\n")
    base = csv_run_rss(tmp_path, "small.csv", 1)
    rss = csv_run_rss(tmp_path, "big.csv", ROWS)
    # before: ~11x the file (a jansson object per row); now the text once plus 4 bytes a
    # field (about 1.2x; the bound leaves room for the sanitizers' shadow memory)
    assert rss - base < 4 * size, \
        f"max RSS {rss / 1e6:.0f} MB ({base / 1e6:.0f} MB without data) for a " \
        f"{size / 1e6:.0f} MB CSV"


def test_csv_quoting_and_blank_lines(tmp_path):
    (tmp_path / "q.csv").write_bytes(b'\xef\xbb\xbfa,b\r\n"x,1","say ""hi"""\r\n\r\n'
                                     b'"multi\nline",\n')
    r = run_script(tmp_path, """
        local d = require("stampede.data").csv("q.csv")
        options = { vus = 1, iterations = 1 }
        function default()
          assert(#d == 2, #d)
          local r1, r2 = d:get(1), d:get(2)
          assert(r1.a == "x,1" and r1.b == 'say "hi"', r1.a .. "|" .. r1.b)
          assert(r2.a == "multi\\nline" and r2.b == "", r2.a)
          assert(d:get(3) == nil)
        end
    """, expect=0)
    assert script_errors(r.summary) == []


def test_random_row_checks_math_random(tmp_path):
    (tmp_path / "d.csv").write_text("a\n1\n2\n")
    r = run_script(tmp_path, """
        local d = require("stampede.data").csv("d.csv")
        options = { vus = 1, iterations = 2 }
        function default() math.random = function() return -7 end; d:random() end
    """, expect=0)
    errs = script_errors(r.summary)
    assert len(errs) == 1 and "not a row number" in errs[0]["message"], errs


# --------------------------------------------------------------------------------------
# handle_summary's result
# --------------------------------------------------------------------------------------
BAD_RESULTS = {
    "number_key": ('{ [1] = "y" }', "key 1 (a number)"),
    "number_value": ('{ stdout = 5 }', "the value 5 (a number)"),
    "table_value": ('{ stdout = { x = 1 } }', "of type table"),
    "boolean_key": ('{ [true] = "y" }', "key true (a boolean)"),
    "not_a_table": ("42", "not a number"),
    "empty_path": ('{ [""] = "x" }', "empty file path"),
    "raises": ('error("summary boom")', "summary boom"),
    "busy_loop": ("(function() while true do end end)()", "timed out after 1s"),
}


@pytest.mark.parametrize("ret,why", BAD_RESULTS.values(), ids=BAD_RESULTS.keys())
def test_bad_handle_summary_is_a_script_error_with_outputs(tmp_path, ret, why):
    r = run_script(tmp_path, f"""
        options = {{ vus = 1, iterations = 1, handleSummaryTimeout = "1s" }}
        function default() end
        function handle_summary(data) return {ret} end
    """, expect=107, timeout=30)
    assert why in r.stderr, r.stderr
    assert "handle_summary" in r.stderr, r.stderr
    assert "iterations" in r.stdout, f"the default summary was not printed\n{r}"
    assert r.summary is not None, "--summary-export was not written"
    assert metric_count(r.summary, "iterations") == 1


def test_bad_handle_summary_writes_none_of_its_files(tmp_path):
    run_script(tmp_path, """
        options = { vus = 1, iterations = 1 }
        function default() end
        function handle_summary() return { ["out.txt"] = "x", stdout = 1 } end
    """, expect=107)
    assert not (tmp_path / "out.txt").exists()


def test_handle_summary_cannot_hide_behind_metatables(tmp_path):
    r = run_script(tmp_path, """
        options = { vus = 1, iterations = 1 }
        function default() end
        function handle_summary() return { ["ok.txt"] = "fine\\n", stdout = "HS\\n" } end
        setmetatable(_ENV, { __index = function(_, k) error("no global " .. k) end })
    """, expect=0)
    assert (tmp_path / "ok.txt").read_text() == "fine\n"
    assert "HS" in r.stdout


# --------------------------------------------------------------------------------------
# options.maxResponseBodySize
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ['"64MB"', '"512kB"', '"1GiB"', "1048576", '"10"'])
def test_max_response_body_size_accepts(tmp_path, value):
    run_script(tmp_path, f"""
        options = {{ vus = 1, iterations = 1, maxResponseBodySize = {value} }}
        function default() end
    """, expect=0)


@pytest.mark.parametrize("value", ['"-1"', '"10XB"', "0", "-5", "true", '""', "1.5",
                                   '"1 MB"', '"0kB"', "{}"])
def test_max_response_body_size_rejects(tmp_path, value):
    r = run_script(tmp_path, f"""
        options = {{ vus = 1, iterations = 1, maxResponseBodySize = {value} }}
        function default() end
    """, expect=104, export=False)
    assert "maxResponseBodySize" in r.stderr, r.stderr
    assert "expected a size in bytes" in r.stderr, r.stderr


def test_max_response_body_size_limits_bodies(tmp_path, echo_server):  # noqa: F811
    # Needs cmd_run.c to apply script_body_max() to engine_cfg.body_max.
    r = run_script(tmp_path, """
        options = { vus = 1, iterations = 1, maxResponseBodySize = "1kB" }
        function default()
          local small = http.get(BASE .. "/big?size=1000")
          local big = http.get(BASE .. "/big?size=5000")
          stampede.check(small, { small = function(x) return x.status == 200 end })
          stampede.check(big, { big = function(x) return x.error_code == 1030 end })
        end
    """, base=echo_server, expect=0)
    checks = {c["name"]: (c["passes"], c["fails"]) for c in r.summary["root_group"]["checks"]}
    assert checks == {"small": (1, 0), "big": (1, 0)}, checks
