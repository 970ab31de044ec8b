"""End-of-test summary on stdout and the --summary-export JSON file."""

import os

from conftest import EXIT_CONFIG, TREND_STATS, metric, read_summary

STDOUT_STATS = ("avg=", "min=", "med=", "max=", "p(90)=", "p(95)=", "p(99)=")


def metric_line(stdout, name):
    """The stdout summary line of metric `name` (k6 style: 'name....: values')."""
    for line in stdout.splitlines():
        words = line.strip().lstrip("✓✗ ").split()
        if words and words[0].rstrip(".:") == name:
            return line
    raise AssertionError(f"no summary line for {name!r} on stdout:\n{stdout}")


def test_stdout_summary(counting_server, stampede):
    r = stampede.load(counting_server.url, "--iterations", "20", "--vus", "2")
    metric_line(r.stdout, "http_reqs")
    line = metric_line(r.stdout, "http_req_duration")
    missing = [s for s in STDOUT_STATS if s not in line]
    assert not missing, f"http_req_duration line lacks {missing}: {line!r}"


def test_no_summary_flag(counting_server, stampede):
    r = stampede.load(counting_server.url, "--iterations", "5", "--no-summary")
    assert "http_req_duration" not in r.stdout and "avg=" not in r.stdout, r.stdout
    assert metric(r.summary, "http_reqs")["count"] == 5   # the export is still written


def test_export_into_missing_directory_fails_before_load(nginx, stampede, tmp_path):
    target = tmp_path / "missing-dir" / "summary.json"
    r = stampede("run", "--url", nginx.url, "--vus", "2", "--duration", "5s", "--quiet",
                 "--summary-export", target, timeout=15, expect=EXIT_CONFIG)
    assert "missing-dir" in r.stderr, f"message does not name the path\n{r}"
    assert nginx.settled_count(quiet=0.2) == 0, "load was generated before the error"
    assert not target.parent.exists()


def test_export_is_atomic_and_valid(counting_server, stampede, tmp_path):
    d = tmp_path / "out"
    d.mkdir()
    target = d / "summary.json"
    target.write_text("stale, not JSON")
    r = stampede.load(counting_server.url, "--iterations", "10", export=target)
    assert sorted(os.listdir(d)) == ["summary.json"], f"leftover files: {os.listdir(d)}"
    assert read_summary(target)["metrics"]["http_reqs"]["count"] == 10
    assert r.summary["metrics"]["http_reqs"]["count"] == 10


def test_export_structure(counting_server, stampede):
    url = counting_server.url
    r = stampede.load(url, "--iterations", "30", "--vus", "3", "--threads", "1")
    s = r.summary
    assert s["format"] == "stampede-result/1", s.get("format")
    for key in ("metrics", "submetrics", "thresholds", "errors", "state", "options",
                "generator", "root_group", "script_errors", "setup_data", "analyses"):
        assert key in s, f"summary lacks {key!r}: {sorted(s)}"
    for name, m in s["metrics"].items():
        assert m.get("type") in ("counter", "gauge", "rate", "trend"), (name, m)
        if m["type"] == "trend":
            assert all(k in m for k in TREND_STATS), (name, m)
    assert s["thresholds"] == [] and s["errors"] == []
    state = s["state"]
    assert state["interrupted"] is False and state["aborted"] is False
    assert state["testRunDurationMs"] > 0
    opts = s["options"]
    assert opts["url"] == url and opts["vus"] == 3 and opts["threads"] == 1, opts
    gen = s["generator"]
    assert isinstance(gen["cpu_percent"], (int, float)) and gen["cpu_percent"] >= 0, gen
    assert isinstance(gen["cpu_saturated"], bool), gen
    assert gen["max_rss_kb"] > 0, gen
    assert metric(s, "http_reqs")["count"] == 30
