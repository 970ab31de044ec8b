"""Scripted tests: stampede.check and stampede.group (docs/scripting.md "Checks and
groups"): root_group in the export, the `checks` rate metric, group tags and
group_duration."""

import pytest

from conftest import metric
from script_servers import echo_server, run_script, series, series_total  # noqa: F401

SCRIPT = """
    local returned = metrics.counter("check_returned_true")
    options = { iterations = 4, vus = 1 }
    function default()
      local even = stampede.vu.iteration % 2 == 0
      stampede.check(true, { ["root ok"] = function() return true end })
      stampede.group("outer", function()
        local ok = stampede.check(1, { ["outer pass"] = function(v) return v == 1 end })
        if ok then returned:add(1) end
        stampede.group("inner", function()
          local res = http.get(BASE .. "/inner")
          stampede.check(res, {
            ["alternating"] = function(r) return even end,
            ["raises"] = function(r) error("boom in check") end,
          }, { endpoint = "inner" })
        end)
      end)
      stampede.group("second", function() end)
      local all = stampede.check(0, { ["root fails"] = function() return false end })
      if not all then returned:add(100) end
    end
"""


@pytest.fixture
def checks_run(tmp_path, echo_server):
    return run_script(tmp_path, SCRIPT, base=echo_server)


def find_group(group, name):
    for g in group["groups"]:
        if g["name"] == name:
            return g
    raise AssertionError(f"no group {name!r} under {group.get('path')!r}: {group}")


def find_check(group, name):
    for c in group["checks"]:
        if c["name"] == name:
            return c
    raise AssertionError(f"no check {name!r} in group {group.get('path')!r}: {group}")


def test_root_group_structure(checks_run):
    rg = checks_run.summary["root_group"]
    assert rg["name"] == "" and rg["path"] == "", rg
    assert {g["name"] for g in rg["groups"]} == {"outer", "second"}, rg
    assert {c["name"] for c in rg["checks"]} == {"root ok", "root fails"}, rg
    assert find_check(rg, "root ok") == {"name": "root ok", "path": "::root ok",
                                         "passes": 4, "fails": 0}
    assert find_check(rg, "root fails")["fails"] == 4
    outer = find_group(rg, "outer")
    assert outer["path"] == "::outer", outer
    assert find_check(outer, "outer pass") == {"name": "outer pass", "path": "::outer::outer pass",
                                               "passes": 4, "fails": 0}
    inner = find_group(outer, "inner")
    assert inner["path"] == "::outer::inner", inner
    assert inner["groups"] == [], inner
    alt = find_check(inner, "alternating")
    assert (alt["passes"], alt["fails"]) == (2, 2), alt
    assert alt["path"] == "::outer::inner::alternating", alt
    second = find_group(rg, "second")
    assert second["path"] == "::second" and second["checks"] == [] and second["groups"] == []


def test_check_that_raises_counts_as_fail(checks_run):
    inner = find_group(find_group(checks_run.summary["root_group"], "outer"), "inner")
    raises = find_check(inner, "raises")
    assert (raises["passes"], raises["fails"]) == (0, 4), raises
    # a raising condition fails the check; it is not an iteration error
    assert checks_run.summary["script_errors"] == [], checks_run.summary["script_errors"]


def test_checks_rate_metric(checks_run):
    # per iteration: root ok (pass), outer pass (pass), alternating (2 of 4), raises (fail),
    # root fails (fail)  ->  4+4+2 passes, 2+4+4 fails
    checks = metric(checks_run.summary, "checks")
    assert checks["type"] == "rate"
    assert (checks["passes"], checks["fails"]) == (10, 10), checks
    assert checks["rate"] == pytest.approx(0.5), checks
    # tagged with check and group
    s = series(checks_run.summary, "checks", check="alternating", group="::outer::inner")
    assert s, [x["tags"] for x in series(checks_run.summary, "checks")]
    assert series_total(checks_run.summary, "checks", check="alternating") == 4
    assert all(x["tags"].get("endpoint") == "inner" for x in s), s
    assert series_total(checks_run.summary, "checks", check="root ok", group="") == 4


def test_check_return_value(checks_run):
    # check() returned true for "outer pass" each time (4), false for "root fails" (4 x 100)
    assert metric(checks_run.summary, "check_returned_true")["count"] == 404


def test_group_tags_and_duration(checks_run, echo_server):
    s = checks_run.summary
    gd = metric(s, "group_duration")
    assert gd["type"] == "trend" and gd["min"] >= 0, gd
    # three groups entered per iteration, 4 iterations
    assert gd.get("count", 12) == 12, gd
    for g in ("::outer", "::outer::inner", "::second"):
        assert series_total(s, "group_duration", group=g) == 4, \
            (g, [x["tags"] for x in series(s, "group_duration")])
    # requests inside a group carry its path
    assert series_total(s, "http_reqs", group="::outer::inner") == 4
    assert len(echo_server.entries(path="/inner")) == 4


def test_check_summary_on_stdout(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 2 }
        function default()
          stampede.group("shop", function()
            stampede.check(http.get(BASE .. "/"), { ["status is 200"] = function(r) return r.status == 200 end })
          end)
        end
    """, base=echo_server)
    assert "shop" in r.stdout and "status is 200" in r.stdout, r.stdout


def test_checks_threshold(tmp_path, echo_server):
    src = """
        options = { iterations = 4, thresholds = { checks = { "rate>0.9" } } }
        function default()
          stampede.check(nil, { ["c"] = function() return stampede.vu.iteration < LIMIT end })
        end
    """
    run_script(tmp_path, "LIMIT = 10\n" + src, base=echo_server, expect=0)
    r = run_script(tmp_path, "LIMIT = 2\n" + src, base=echo_server, expect=99)
    assert metric(r.summary, "checks")["thresholds"]["rate>0.9"]["ok"] is False


def test_thresholds_on_group_and_check_submetrics(tmp_path):
    r = run_script(tmp_path, """
        options = { iterations = 3, thresholds = {
          ["group_duration{group:::outer}"] = { "max<60000" },
          ["checks{check:status is ok}"] = { "rate==1" },
          ["checks{check:always fails}"] = { "rate==0" } } }
        function default()
          stampede.group("outer", function()
            stampede.check(1, { ["status is ok"] = function() return true end,
                                ["always fails"] = function() return false end })
          end)
        end
    """)
    assert metric(r.summary, "group_duration{group:::outer}")["count"] == 3
    ok = metric(r.summary, "checks{check:status is ok}")
    assert (ok["passes"], ok["fails"]) == (3, 0), ok
    bad = metric(r.summary, "checks{check:always fails}")
    assert (bad["passes"], bad["fails"]) == (0, 3), bad
    assert all(e["ok"] for e in r.summary["thresholds"]), r.summary["thresholds"]


def test_many_and_long_check_names(tmp_path):
    r = run_script(tmp_path, """
        local long = string.rep("L", 150)
        options = { scenarios = { s = { executor = "per-vu-iterations", vus = 2, iterations = 3 } } }
        function default()
          for i = 1, 40 do
            stampede.check(i, { ["check " .. i] = function(v) return v % 4 ~= 0 end })
          end
          stampede.group(string.rep("G", 100), function()
            stampede.check(0, { [long] = function() return true end })
            stampede.check(0, { ["short"] = function() return false end })
          end)
        end
    """)
    rg = r.summary["root_group"]
    checks = {c["name"]: (c["passes"], c["fails"]) for c in rg["checks"]}
    assert len(checks) == 40, sorted(checks)
    for i in range(1, 41):
        assert checks[f"check {i}"] == ((0, 6) if i % 4 == 0 else (6, 0)), (i, checks)
    (g,) = rg["groups"]
    assert g["name"] == "G" * 100 and g["path"] == "::" + "G" * 100, g
    inner = {c["name"]: (c["passes"], c["fails"]) for c in g["checks"]}
    assert inner == {"L" * 150: (6, 0), "short": (0, 6)}, inner
    m = metric(r.summary, "checks")
    assert (m["passes"], m["fails"]) == (30 * 6 + 6, 10 * 6 + 6), m
    assert series_total(r.summary, "checks", check="L" * 150) == 6
    assert series_total(r.summary, "checks", check="check 40") == 6
