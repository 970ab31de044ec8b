"""options.summaryTrendStats chooses the trend statistics of the summary and the export."""

import json
from conftest import parse_result


SCRIPT = """
local http = require "stampede.http"
options = { iterations = 20, summaryTrendStats = { "avg", "p(50)", "p(99.99)", "count" } }
function default() http.get(stampede.env.BASE_URL .. "/") end
"""


def test_summary_trend_stats(nginx, stampede, tmp_path):
    script = tmp_path / "s.lua"
    script.write_text(SCRIPT)
    out = tmp_path / "s.json"
    r = stampede("run", str(script), "-e", f"BASE_URL={nginx.url.rstrip('/')}",
                 "--out", f"result={out}", timeout=30, expect=0)
    line = next(l for l in r.stdout.splitlines() if "http_req_duration" in l)
    assert "avg=" in line and "p(50)=" in line and "p(99.99)=" in line and "count=20" in line
    assert "p(90)=" not in line and "max=" not in line
    m = parse_result(out.read_text())["metrics"]["http_req_duration"]
    assert "p(50)" in m and "p(99.99)" in m and m["count"] == 20


def test_bad_summary_trend_stats(stampede, tmp_path):
    script = tmp_path / "s.lua"
    script.write_text('options = { summaryTrendStats = { "avg", "p95" } }\n'
                      'function default() end\n')
    r = stampede("run", str(script), timeout=30, expect=104)
    assert "summaryTrendStats" in r.stderr
