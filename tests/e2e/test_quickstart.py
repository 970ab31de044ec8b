"""`stampede quickstart --journey`: the demo target, the bundled scripted journey, the report.
(`stampede quickstart` itself, the README's main job, is an assessment: test_assess_pool.py.)"""

import json
import re
import subprocess

from accounting import assert_accounting
from conftest import BIN, metric, parse_result, require_binary


def test_quickstart_journey_runs_end_to_end(tmp_path):
    require_binary()
    out = tmp_path / "res"
    p = subprocess.run([BIN, "quickstart", "--journey", "--out", str(out)], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60, cwd=tmp_path)
    stdout = p.stdout.decode()
    assert p.returncode == 0, (p.returncode, stdout[-3000:], p.stderr.decode()[-2000:])
    assert (out / "quickstart.lua").is_file()
    summary = parse_result((out / "quickstart-result.json").read_text())
    html = (out / "quickstart-report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "quickstart" in html, html[:200]
    assert summary["thresholds"] and all(t["ok"] for t in summary["thresholds"])
    groups = {g["name"] for g in summary["root_group"]["groups"]}
    assert groups == {"log in", "browse", "order"}
    assert metric(summary, "orders_placed")["count"] > 0
    # The demo server's own count of responses equals the generator's request count.
    served = int(re.search(r"the demo server answered (\d+) requests", stdout).group(1))
    assert served == metric(summary, "http_reqs")["count"]
    assert_accounting(summary, server_count=served)
    assert summary["state"]["testRunDurationMs"] < 40000
    assert "THRESHOLDS" in stdout and "quickstart-report.html" in stdout


def test_quickstart_rejects_unknown_flags():
    require_binary()
    p = subprocess.run([BIN, "quickstart", "--nope"], capture_output=True, timeout=10)
    assert p.returncode == 104
    assert "--nope" in p.stderr.decode()


def test_quickstart_rejects_an_unknown_weakness():
    require_binary()
    p = subprocess.run([BIN, "quickstart", "--weakness", "slowness"], capture_output=True,
                       timeout=10)
    assert p.returncode == 104
    err = p.stderr.decode()
    assert "--weakness" in err and "pool, cpu, leak or n+1" in err, err


def test_quickstart_journey_takes_no_weakness():
    require_binary()
    p = subprocess.run([BIN, "quickstart", "--journey", "--weakness", "cpu"],
                       capture_output=True, timeout=10)
    assert p.returncode == 104
    assert "--weakness applies to the assessment" in p.stderr.decode()
