"""A k6 user's flags on `stampede run` (issue #9 §4): -s repeatable and cumulative, --tag on
every sample, --no-thresholds, --summary-trend-stats for every output, --no-color and
NO_COLOR, --out repeatable, no abbreviated long options, a hint for a positional URL."""

import json
import os

from conftest import EXIT_CONFIG, EXIT_OK, metric


def test_stages_are_cumulative(counting_server, stampede):
    r = stampede.load(counting_server.url, "-s", "500ms:2", "-s", "500ms:0")
    assert r.summary["options"]["stages"] == "500ms:2,500ms:0", r.summary["options"]
    assert r.summary["state"]["testRunDurationMs"] >= 900, r.summary["state"]


def test_tag_on_every_sample_and_threshold(counting_server, stampede):
    r = stampede.load(counting_server.url, "-i", "20", "--tag", "testid=abc",
                      "--tag", "env=ci", "--tag", "env=prod",
                      "--threshold", "http_req_duration{testid:abc}: p(95)<60000")
    assert r.summary["options"]["tags"] == {"testid": "abc", "env": "prod"}
    sub = metric(r.summary, "http_req_duration{testid:abc}")
    assert sub["count"] == 20, sub
    doc = json.loads(r.export.read_text())
    for name in ("http_reqs", "http_req_duration", "iterations", "data_sent"):
        for s in doc["metrics"][name]["series"]:
            assert s["tags"].get("testid") == "abc", (name, s["tags"])


def test_no_thresholds(counting_server, stampede):
    r = stampede.load(counting_server.url, "-i", "5", "--threshold",
                      "http_req_duration: p(95)<0.000001", "--no-thresholds")
    assert r.summary["thresholds"] == [], r.summary["thresholds"]


def test_summary_trend_stats_in_every_output(counting_server, stampede, tmp_path):
    md = tmp_path / "s.md"
    r = stampede.load(counting_server.url, "-i", "5", "--summary-trend-stats",
                      "avg,p(99.9),count", "--out", f"markdown={md}", quiet=False)
    assert "avg=" in r.stdout and "p(99.9)=" in r.stdout and "count=5" in r.stdout, r.stdout
    assert "med=" not in r.stdout, r.stdout
    assert r.summary["summaryTrendStats"] == ["avg", "p(99.9)", "count"]
    assert "p(99.9)" in metric(r.summary, "http_req_duration"), r.summary
    r = stampede("run", "--url", counting_server.url, "-i", "1", "--summary-trend-stats",
                 "p(101)", expect=EXIT_CONFIG)
    assert "--summary-trend-stats" in r.stderr, r.stderr


def test_no_color(counting_server, stampede):
    """Colours only on a terminal; --no-color and NO_COLOR (no-color.org) turn them off.
    A pipe is not a terminal, so the check is that nothing is coloured here either way."""
    for extra, env in ((["--no-color"], None), ([], dict(os.environ, NO_COLOR="1"))):
        r = stampede("run", "--url", counting_server.url, "-i", "2", *extra, env=env,
                     expect=EXIT_OK)
        assert "\033[" not in r.stdout and "\033[" not in r.stderr, repr(r.stdout[:200])


def test_out_repeatable(counting_server, stampede, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    stampede("run", "--url", counting_server.url, "-i", "3", "-q", "-o", f"result={a}",
             "--out", f"result={b}", expect=EXIT_OK)
    assert json.loads(a.read_text())["metrics"]["http_reqs"]["values"]["count"] == 3
    assert json.loads(b.read_text())["metrics"]["http_reqs"]["values"]["count"] == 3


def test_no_abbreviations_and_hints(counting_server, stampede):
    r = stampede("run", "--url", counting_server.url, "--vu", "5", expect=EXIT_CONFIG)
    assert "unknown option '--vu'" in r.stderr and "did you mean '--vus'" in r.stderr, r
    r = stampede("run", "--url", counting_server.url, "--dura", "1s", expect=EXIT_CONFIG)
    assert "'--dura'" in r.stderr and "--duration" in r.stderr, r
    r = stampede("run", counting_server.url, expect=EXIT_CONFIG)
    assert "looks like a URL: use --url" in r.stderr, r.stderr
    assert counting_server.requests == 0, "a refused command line sent load"


def test_out_refusals_before_any_load(counting_server, stampede, tmp_path):
    """Two outputs writing one file (after symlinks), or more than 64 --out: exit 104
    before a request is sent."""
    (tmp_path / "link.json").symlink_to(tmp_path / "a.json")
    for outs in ([f"result={tmp_path / 'a.json'}", f"html={tmp_path / 'a.json'}"],
                 [f"json={tmp_path / 'b.out'}", f"csv={tmp_path}/./b.out"],
                 [f"result={tmp_path / 'link.json'}", f"json={tmp_path / 'a.json'}"]):
        args = [x for o in outs for x in ("--out", o)]
        r = stampede("run", "--url", counting_server.url, "-i", "1", *args,
                     expect=EXIT_CONFIG)
        assert "write the same file" in r.stderr, r.stderr
    r = stampede("run", "--url", counting_server.url, "-i", "1", "--summary-export",
                 tmp_path / "c.json", "--out", f"result={tmp_path / 'c.json'}",
                 expect=EXIT_CONFIG)
    assert "--summary-export and --out result=" in r.stderr, r.stderr
    many = [x for i in range(65) for x in ("--out", f"markdown={tmp_path / f'm{i}.md'}")]
    r = stampede("run", "--url", counting_server.url, "-i", "1", *many, expect=EXIT_CONFIG)
    assert "at most 64 --out" in r.stderr, r.stderr
    assert counting_server.requests == 0


def test_k6_script_habits(stampede, tmp_path):
    """A k6 JavaScript file or a script on stdin: a clear 104, not a Lua syntax error."""
    js = tmp_path / "t.js"
    js.write_text("import http from 'k6/http';\nexport default function () {}\n")
    r = stampede("run", js, expect=EXIT_CONFIG)
    assert "Lua scripts, not k6's JavaScript" in r.stderr, r.stderr
    r = stampede("run", "-", expect=EXIT_CONFIG)
    assert "stdin" in r.stderr, r.stderr
