"""The metric series cap (issue #8 §1 and §2): tag values that never repeat (URLs with ids,
custom tags with ids) and thousands of custom metrics keep memory flat once the registry's
series cap is reached, never crash, and still count every sample: past the cap, samples
are folded into one overflow series per metric (tag __overflow__=true, keeping the
bounded tags scenario/method/status/expected_response/error_code/group), so http_reqs
stays equal to the server's count. One warning says the cap counts all metrics together and
names the tag that exploded and its metrics.
Custom metrics have a cap of their own (src/metrics/metrics.h, METRICS_CUSTOM_MAX).

RSS is sampled from /proc/PID/status while the run goes on: after the cap (reached in
the first second; the histograms of its series are all touched within a few more), it
must not keep growing with the number of unique tag values. Before the fix it grew by
about 1 KiB per unique URL (2 GB after 20 s here) and the 2,700-series run lost samples
to a negative slot index.
"""

import itertools
import re

import pytest

from conftest import SMALL_QUARANTINE_ENV, check_rc, metric, read_summary
from script_servers import EXIT_SCRIPT, series, write_script

MiB = 1024
PEAK_RSS_LIMIT_KB = 1200 * MiB  # peak RSS bound (measured ~800 MiB: 2,000 series of 184 KiB histograms)
GROWTH_LIMIT_KB = 40 * MiB      # RSS growth allowed between the two samples after the cap
WARNING = re.compile(r"warning: the \d+-series cap was reached \(all metrics together")


@pytest.fixture
def run_sampled(spawn, tmp_path):
    """run_sampled(source, *args) -> conftest.Spawned running the script `source` with
    --summary-export (its path in .export), its peak RSS sampled (maxrss_kb) and ASan's
    quarantine kept small (it would count as growth); r.wait(timeout, sample_at=(s, ...))
    records its RSS at those seconds."""
    numbers = itertools.count()

    def start(source, *args):
        d = tmp_path / f"run{next(numbers)}"
        d.mkdir()
        script = write_script(d, source)
        r = spawn("run", script, "--quiet", "--out", f"result={d / 'summary.json'}", *args,
                  cwd=d, env=SMALL_QUARANTINE_ENV, rss=True)
        r.export = d / "summary.json"
        return r

    return start


def warnings(r):
    return [line for line in r.stderr.splitlines() if WARNING.search(line)]


def assert_flat(r, early, late):
    grown = r.samples[late] - r.samples[early]
    print(f"\nRSS at {early}s: {r.samples[early] // 1024} MiB, at {late}s: "
          f"{r.samples[late] // 1024} MiB, peak {r.maxrss_kb // 1024} MiB")
    assert r.maxrss_kb < PEAK_RSS_LIMIT_KB, f"peak RSS {r.maxrss_kb} KiB\n{r}"
    assert grown < GROWTH_LIMIT_KB, (f"RSS grew {grown} KiB from {early}s to {late}s "
                                     f"after the series cap: {r.samples}\n{r}")


UNIQUE_URLS = """
    function default()
        http.get(BASE .. "/x?id=" .. math.random(1e12))
    end
"""


def test_unique_urls_memory_flat_and_counts_exact(run_sampled, nginx):
    """Each request has a URL never seen before (so a new `name` tag value): memory stays
    flat once the series cap is reached, http_reqs equals nginx's count, and one warning
    names the metric and the tag."""
    r = run_sampled(UNIQUE_URLS, "-e", f"BASE_URL={nginx.url.rstrip('/')}",
                    "--vus", "8", "--duration", "20s")
    res = r.wait(60, sample_at=(10, 19))
    check_rc(res, 0)
    s = read_summary(r.export, res)
    reqs = metric(s, "http_reqs")["count"]
    served = nginx.settled_count()
    print(f"\nrequests: {reqs} (nginx: {served})")
    assert reqs == served, f"http_reqs {reqs} != nginx's {served}\n{res}"
    assert reqs > 20000, f"too few requests to pass the cap: {reqs}\n{res}"
    assert_flat(res, 10, 19)
    over = series(s, "http_reqs", __overflow__="true")
    assert over, f"no overflow series for http_reqs\n{res}"
    assert all(o["tags"].get("status") == "200" and "name" not in o["tags"] for o in over), over
    w = warnings(res)
    assert len(w) == 1, f"expected one series-cap warning, got {len(w)}\n{res}"
    assert "tag 'name' of http_* metrics" in w[0], w[0]
    assert "more than" not in w[0], w[0]


UNIQUE_TAGS = """
    local c = metrics.counter("hits")
    local t = metrics.trend("lat")
    function default()
        for i = 1, 50 do
            local id = tostring(math.random(1e12))
            c:add(1, { id = id })
            t:add(i, { id = id })
        end
    end
"""


def test_unique_custom_tag_values_memory_flat(run_sampled):
    """Custom metrics with a tag value that never repeats: flat memory after the cap, and
    the counter's total is exactly 50 per iteration."""
    r = run_sampled(UNIQUE_TAGS, "--vus", "4", "--duration", "16s")
    res = r.wait(40, sample_at=(8, 15))
    check_rc(res, 0)
    s = read_summary(r.export, res)
    iters = metric(s, "iterations")["count"]
    assert metric(s, "hits")["count"] == 50 * iters, res
    assert metric(s, "lat")["count"] == 50 * iters, res
    assert_flat(res, 8, 15)
    assert series(s, "hits", __overflow__="true"), res
    w = warnings(res)
    assert len(w) == 1, f"expected one series-cap warning, got {len(w)}\n{res}"
    assert "tag 'id' of metric 'hits'" in w[0] or "tag 'id' of metric 'lat'" in w[0], w[0]


MANY_METRICS = """
    local m = {{}}
    for i = 1, {n} do m[i] = metrics.counter("m" .. i) end
    options = {{ iterations = 3, vus = 1 }}
    function default()
        for i = 1, {n} do
            m[i]:add(1, {{ k = tostring(stampede.vu.iteration) }})
        end
    end
"""


def test_many_custom_metrics_past_the_series_cap(run_sampled):
    """900 custom metrics x 3 tag values: 2,700 tagged series, past the series cap (this
    crashed with SIGSEGV: a negative error code used as a slot index). Every sample counts."""
    r = run_sampled(MANY_METRICS.format(n=900))
    res = r.wait(30)
    check_rc(res, 0)
    s = read_summary(r.export, res)
    for i in (1, 450, 900):
        assert metric(s, f"m{i}")["count"] == 3, (i, res)
    assert len(warnings(res)) == 1, res


def test_too_many_custom_metrics_is_a_script_error(run_sampled):
    """2,500 custom metrics: a script error naming the first metric past the cap, not a
    crash."""
    r = run_sampled(MANY_METRICS.format(n=2500))
    res = r.wait(30)
    check_rc(res, EXIT_SCRIPT)
    assert "m1001" in res.stderr and "custom metric" in res.stderr, res
