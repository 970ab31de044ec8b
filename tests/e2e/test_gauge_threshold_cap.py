"""Two bugs from a new user's trial (src/metrics/metrics.h "Caps" and "Gauges").

1. Past the series cap (2,000 tagged series, all metrics together), a new tag set goes to
   its metric's __overflow__ series, which drops `name` and custom tags: a threshold on a
   sub-metric such as http_req_duration{name:fixed} or my_counter{user:u4999} saw no data
   and failed (exit 99). The series a threshold selects now bypass the cap into a reserve,
   and the cap's warning says what it counts and that thresholds stay exact.
2. A gauge with several tag sets reported the sum of each set's last value (101 for
   add(100, {a="x"}) then add(1, {a="y"}), above its max of 100). k6: the value is the
   last sample of the whole metric; min and max over all samples.
"""

import pytest

from conftest import metric
from script_servers import column, echo_server, run_script, series, threshold_entry  # noqa: F401

# ~400 unique URLs (each makes ~10 built-in series) fill the cap, then requests named
# "fixed" and a custom counter tagged with 5,000 user ids.
PAST_THE_CAP = """
    local c = metrics.counter("my_counter")
    options = { iterations = 1, vus = 1,
      thresholds = {
        ["http_req_duration{name:fixed}"] = { "p(95)<1000" },
        ["http_reqs{name:fixed}"] = { "count==20" },
        ["http_reqs{name:fixed,status:200}"] = { "count==20" },
        ["my_counter{user:u4999}"] = { "count==1" },
        ["http_reqs{expected_response:true}"] = { "count==420" },
      } }
    function default()
      for i = 1, 400 do http.get(BASE .. "/x?id=" .. i) end
      for i = 1, 5000 do c:add(1, { user = "u" .. i }) end
      for i = 1, 20 do http.get(BASE .. "/fixed?i=" .. i, { tags = { name = "fixed" } }) end
    end
"""


@pytest.fixture(scope="module")
def past_the_cap(tmp_path_factory):
    from script_servers import EchoServer
    with EchoServer() as server:
        r = run_script(tmp_path_factory.mktemp("cap"), PAST_THE_CAP, base=server, expect=0,
                       timeout=60)
        r.served = len(server.entries())
    return r


def test_thresholds_on_tagged_sub_metrics_past_the_cap(past_the_cap):
    r = past_the_cap
    for sel, expr, value in (("http_reqs{name:fixed}", "count==20", 20),
                             ("http_reqs{name:fixed,status:200}", "count==20", 20),
                             ("my_counter{user:u4999}", "count==1", 1),
                             ("http_reqs{expected_response:true}", "count==420", 420)):
        e = threshold_entry(r.summary, sel, expr)
        assert e["ok"] is True and e["value"] == value, (e, r.stderr)
    e = threshold_entry(r.summary, "http_req_duration{name:fixed}", "p(95)<1000")
    assert e["ok"] is True and e["value"] > 0, e
    assert metric(r.summary, "http_req_duration{name:fixed}")["count"] == 20, r
    assert "no data" not in r.stdout, r.stdout


def test_totals_stay_exact_past_the_cap(past_the_cap):
    r = past_the_cap
    assert r.served == 420, r.served
    assert metric(r.summary, "http_reqs")["count"] == 420, r
    assert metric(r.summary, "my_counter")["count"] == 5000, r
    assert series(r.summary, "http_reqs", __overflow__="true"), "the cap was not reached"
    assert series(r.summary, "my_counter", __overflow__="true"), "the cap was not reached"
    # The reserved tag sets keep a series of their own, with every tag.
    fixed = series(r.summary, "http_req_duration", name="fixed", status="200")
    assert fixed and "__overflow__" not in fixed[0]["tags"], fixed
    assert series(r.summary, "my_counter", user="u4999"), "u4999 has no series of its own"


def test_cap_warning_says_what_it_counts(past_the_cap):
    lines = [ln for ln in past_the_cap.stderr.splitlines() if "series cap" in ln]
    assert len(lines) == 1, past_the_cap.stderr
    w = lines[0]
    assert "the 2000-series cap was reached (all metrics together:" in w, w
    assert "tag 'name'" in w and "http_* metrics" in w, w
    assert "thresholds" in w and "stay exact" in w, w
    assert "tags = { name = " in w, w
    assert "more than 2000 metric series" not in w, w


GAUGE = """
    local g = metrics.gauge("my_gauge")
    options = { iterations = 1, vus = 1,
      thresholds = {
        my_gauge = { "value==1", "min==1", "max==100" },
        ["my_gauge{a:x}"] = { "value==100" },
        ["my_gauge{a:y}"] = { "value==1" },
      } }
    function default()
      g:add(7, { a = "x" })
      g:add(100, { a = "x" })
      g:add(50, { a = "y" })
      g:add(1, { a = "y" })
    end
"""


def test_gauge_value_is_the_latest_sample_over_its_tag_sets(tmp_path):
    r = run_script(tmp_path, GAUGE, expect=0)
    g = metric(r.summary, "my_gauge")
    assert (g["value"], g["min"], g["max"]) == (1, 1, 100), g
    for sel, expr in (("my_gauge", "value==1"), ("my_gauge", "min==1"),
                      ("my_gauge", "max==100"), ("my_gauge{a:x}", "value==100"),
                      ("my_gauge{a:y}", "value==1")):
        assert threshold_entry(r.summary, sel, expr)["ok"] is True, (sel, expr, r.summary)
    # The whole metric's per-second point: the latest sample too, not 100 + 1.
    whole = [s for s in series(r.summary, "my_gauge") if not s["tags"]]
    assert len(whole) == 1, whole
    assert column(whole[0], "value")[-1] == 1, whole
    assert max(column(whole[0], "value")) <= 100, whole
    line = [ln for ln in r.stdout.splitlines() if "my_gauge" in ln and "min=" in ln]
    assert line and "101" not in line[0], r.stdout


# The selected tag sets themselves explode (name=fixed with a unique id tag each): the
# thresholds' reserve (500) fills too, and the rest count in overflow series that keep
# the selector's tags, so http_reqs{name:fixed} still counts every such request.
RESERVE_FULL = """
    options = { iterations = 1, vus = 1,
      thresholds = { ["http_reqs{name:fixed}"] = { "count==900" } } }
    function default()
      for i = 1, 300 do http.get(BASE .. "/x?id=" .. i) end
      for i = 1, 900 do
        http.get(BASE .. "/fixed", { tags = { name = "fixed", id = tostring(i) } })
      end
    end
"""


def test_threshold_series_stay_exact_when_the_reserve_fills(tmp_path, echo_server):  # noqa: F811
    r = run_script(tmp_path, RESERVE_FULL, base=echo_server, expect=0, timeout=90)
    e = threshold_entry(r.summary, "http_reqs{name:fixed}", "count==900")
    assert e["ok"] is True and e["value"] == 900, (e, r.stderr)
    assert metric(r.summary, "http_reqs")["count"] == 1200 == len(echo_server.entries())
    assert "http_reqs{name:fixed}" in r.stderr, "no warning named the full reserve"
