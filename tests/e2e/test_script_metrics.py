"""Scripted tests: custom metrics (counter, gauge, rate, trend) in the export, and
thresholds on them (docs/scripting.md "Custom metrics")."""

import subprocess

import pytest

from conftest import BIN, EXIT_THRESHOLDS, metric
from script_servers import run_script, series_total, threshold_entry

METRICS_SCRIPT = """
    local c = metrics.counter("my_counter")
    local g = metrics.gauge("my_gauge")
    local rt = metrics.rate("my_rate")
    local tn = metrics.trend("my_trend")
    local tt = metrics.trend("my_time_trend", true)
    options = { iterations = 10, vus = 1 }
    function default()
      local i = stampede.vu.iteration          -- 0..9
      c:add(1)
      c:add(0.5, { kind = "half" })
      g:add(i + 1)                             -- last value 10
      rt:add(i % 2 == 0)                       -- 5 true, 5 false
      tn:add(5)
      tt:add((i + 1) * 10)                     -- 10, 20, ... 100 ms
    end
"""


@pytest.fixture(scope="module")
def metrics_run(tmp_path_factory):
    return run_script(tmp_path_factory.mktemp("metrics"), METRICS_SCRIPT)


def test_counter(metrics_run):
    c = metric(metrics_run.summary, "my_counter")
    assert c["type"] == "counter", c
    assert c["count"] == pytest.approx(15), c       # 10 x 1 + 10 x 0.5
    assert c["rate"] > 0, c
    assert series_total(metrics_run.summary, "my_counter", kind="half") == pytest.approx(5)


def test_gauge(metrics_run):
    g = metric(metrics_run.summary, "my_gauge")
    assert g["type"] == "gauge", g
    assert g["value"] == 10, g
    if "min" in g:
        assert g["min"] == 1 and g["max"] == 10, g


def test_rate(metrics_run):
    rt = metric(metrics_run.summary, "my_rate")
    assert rt["type"] == "rate", rt
    assert (rt["passes"], rt["fails"]) == (5, 5), rt
    assert rt["rate"] == pytest.approx(0.5), rt


def test_non_time_trend(metrics_run):
    t = metric(metrics_run.summary, "my_trend")
    assert t["type"] == "trend", t
    for k in ("avg", "min", "med", "max", "p(90)", "p(95)"):
        assert t[k] == pytest.approx(5, rel=0.01), (k, t)


def test_time_trend(metrics_run):
    t = metric(metrics_run.summary, "my_time_trend")
    assert t["type"] == "trend", t
    assert t["avg"] == pytest.approx(55, rel=0.01), t
    assert t["min"] == pytest.approx(10, rel=0.01), t
    assert t["max"] == pytest.approx(100, rel=0.01), t
    assert 50 <= t["med"] <= 60, t


def test_custom_metrics_in_stdout_summary(metrics_run):
    for name in ("my_counter", "my_gauge", "my_rate", "my_trend", "my_time_trend"):
        assert name in metrics_run.stdout, f"{name} missing from the summary\n{metrics_run}"


THRESHOLD_SCRIPT = """
    local c = metrics.counter("orders")
    local t = metrics.trend("size")
    local e = metrics.rate("order_errors")
    options = { iterations = 10, vus = 1,
      thresholds = {
        orders = { "count==10" },
        ["orders{kind:express}"] = { "count==%d" },
        size = { "avg==%s", "max<100" },
        order_errors = { "rate<0.5" },
      } }
    function default()
      c:add(1, { kind = stampede.vu.iteration %% 2 == 0 and "express" or "normal" })
      t:add(7)
      e:add(false)
    end
"""


def test_thresholds_on_custom_metrics_pass(tmp_path):
    r = run_script(tmp_path, THRESHOLD_SCRIPT % (5, "7"), expect=0)
    for sel, expr in (("orders", "count==10"), ("orders{kind:express}", "count==5"),
                      ("size", "avg==7"), ("size", "max<100"),
                      ("order_errors", "rate<0.5")):
        e = threshold_entry(r.summary, sel, expr)
        assert e["ok"] is True, e
    assert metric(r.summary, "orders{kind:express}")["count"] == 5
    assert metric(r.summary, "orders")["thresholds"]["count==10"]["ok"] is True


def test_threshold_on_custom_metric_fails(tmp_path):
    r = run_script(tmp_path, THRESHOLD_SCRIPT % (5, "8"), expect=EXIT_THRESHOLDS)
    bad = threshold_entry(r.summary, "size", "avg==8")
    assert bad["ok"] is False and bad["value"] == pytest.approx(7), bad
    assert threshold_entry(r.summary, "orders", "count==10")["ok"] is True
    assert metric(r.summary, "size")["thresholds"]["avg==8"]["ok"] is False


def test_a_scripts_add_to_a_built_in_counter_keeps_it_a_count(tmp_path):
    """Counter("http_reqs") is stampede's own counter: a negative or fractional request
    count is a script error at its line (a result holding it would not load again), a
    fractional data_sent is fine; the result file loads (`stampede report`)."""
    r = run_script(tmp_path, """
        local reqs = metrics.counter("http_reqs")
        local sent = metrics.counter("data_sent")
        options = { iterations = 3, vus = 1 }
        function default()
          sent:add(1.5)
          if stampede.vu.iteration == 0 then reqs:add(-1) end
          if stampede.vu.iteration == 1 then reqs:add(0.5) end
          if stampede.vu.iteration == 2 then sent:add(-2) end
        end
    """)
    assert "metric 'http_reqs' is stampede's own: it takes whole numbers of 0 or more " \
           "(got -1" in r.stdout + r.stderr, r
    assert "(got 0.5)" in r.stdout + r.stderr, r
    assert "metric 'data_sent' is stampede's own: it takes values of 0 or more (got -2" \
        in r.stdout + r.stderr, r
    assert metric(r.summary, "http_reqs")["count"] == 0, r.summary
    p = subprocess.run([BIN, "report", str(r.export), "-o", str(tmp_path / "r.html")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
