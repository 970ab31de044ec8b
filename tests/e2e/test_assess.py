"""`stampede assess` (docs/assess.md): the plan, bad input, a failing smoke test that stops
the assessment, Ctrl-C that still writes the report of what was done, scripts, the history.
The four weaknesses of the demo are in test_assess_{pool,cpu,leak,n1}.py."""

import json
import signal
import subprocess
import time

import pytest

from conftest import BIN, EXIT_CONFIG, EXIT_INTERRUPTED, EXIT_THRESHOLDS, require_binary, \
    strict_json
from serve_demo_proc import ServeDemo

SLO = "p95<200ms,errors<1%"


def assess(*args, cwd, timeout=60):
    require_binary()
    p = subprocess.run([BIN, "assess", *map(str, args)], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout, cwd=cwd)
    p.stdout, p.stderr = p.stdout.decode(), p.stderr.decode()
    return p


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = ServeDemo(tmp_path_factory.mktemp("demo"), ["--port", "0", "--workers", "4",
                                                    "--query-latency", "10ms"])
    yield d
    d.stop()


def test_plan_only_prints_the_phases_and_sends_nothing(tmp_path):
    # nothing listens on port 9: the plan must not need the target
    p = assess("--url", "http://127.0.0.1:9/x", "--slo", SLO, "--expected-rps", 50,
               "--budget", "10m", "--plan-only", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    for i, name in enumerate(["smoke", "load", "breakpoint", "spike", "soak"], 1):
        assert f"{i}. {name}" in out, out
    assert "budget 10m" in out and "raise 0 -> 500/s" in out, out
    secs = [int(line.split()[2]) for line in out.splitlines()
            if line.strip()[:2] in ("1.", "2.", "3.", "4.", "5.")]
    assert 480 <= sum(secs) <= 600, secs  # the phases share the budget
    assert not (tmp_path / "assessment").exists()


@pytest.mark.parametrize("args,says", [
    ([], "--url URL is required"),
    (["--url", "http://127.0.0.1:9/"], "--slo is required"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO], "give the expected load once"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5",
      "--expected-vus", "2"], "give the expected load once"),
    (["--url", "http://127.0.0.1:9/", "--slo", "p95<>3", "--expected-rps", "5"],
     "invalid --slo"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "-5"], "--expected-rps"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5",
      "--budget", "1m"], "at least 1m52s"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5",
      "--budget", "soon"], "--budget"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5",
      "--max-rps", "4"], "must be above the expected level"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5",
      "--max-concurrency", "40"], "--max-concurrency goes with --expected-vus"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5",
      "--type", "load"], "--type is set by each phase"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5", "-d", "5s"],
     "-d is set by each phase"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5",
      "--out", "json=x.json"], "--out is set by each phase"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5",
      "--execution-segment=0:1/2"], "distribute a `run` instead"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5", "extra"],
     "unexpected argument 'extra'"),
    (["--url", "http://127.0.0.1:9/", "--script", "s.lua", "--slo", SLO,
      "--expected-rps", "5"], "--expected-vus N instead"),
    (["--url", "ftp://127.0.0.1/", "--slo", SLO, "--expected-rps", "5"], "invalid --url"),
    (["--url", "http://192.0.2.1:9/", "--slo", SLO, "--expected-rps", "5", "--plan-only"],
     "--i-own-this-target"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5",
      "--cost-per-instance", "120"], "120/month, 0.17/h"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5",
      "--growth", "0.15"], "such as 15%"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "0.5"],
     "from 1 to 10000000"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-vus", "2",
      "--max-concurrency", "20.5"], "whole number"),
    # only literals and localhost count as loopback: no resolver is asked
    (["--url", "http://127.1:9/", "--slo", SLO, "--expected-rps", "5", "--plan-only"],
     "not a loopback address"),
    (["--url", "http://2130706433:9/", "--slo", SLO, "--expected-rps", "5", "--plan-only"],
     "not a loopback address"),
    # files are checked before anything is sent
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5", "--dir",
      "/etc/hostname"], "is not a directory"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5", "--dir",
      "/sys/kernel"], "cannot write there"),
    (["--url", "http://127.0.0.1:9/", "--script", "missing.lua", "--slo", SLO,
      "--expected-vus", "2"], "--script 'missing.lua'"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5", "--history",
      "/tmp"], "is a directory"),
    # what a phase's run would refuse at its start, found before anything is sent
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5", "--plan-only",
      "--monitor-pid", "4194303"], "no such process"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5", "--plan-only",
      "--monitor-port", "9"], "nothing listens on that port"),
    (["--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", "5", "--plan-only",
      "--history", "/nonexistent/dir/h.db"], "does not exist"),
])
def test_bad_input_is_refused_before_anything_runs(tmp_path, args, says):
    p = assess(*args, cwd=tmp_path, timeout=20)
    assert p.returncode == EXIT_CONFIG, (p.returncode, p.stdout, p.stderr)
    assert says in p.stderr, p.stderr
    assert p.stderr.count("\n") <= 3, p.stderr
    assert not (tmp_path / "assessment").exists()


@pytest.mark.parametrize("host", ["localhost", "a.localhost", "[::1]", "[::ffff:127.0.0.1]",
                                  "127.0.0.2"])
def test_loopback_names_and_literals_need_no_confirmation(tmp_path, host):
    p = assess("--url", f"http://{host}:9/", "--slo", SLO, "--expected-rps", 5,
               "--plan-only", cwd=tmp_path, timeout=20)
    assert p.returncode == 0, p.stderr
    assert "NON-LOOPBACK" not in p.stderr


@pytest.mark.parametrize("flag", [["--frobnicate"], ["--timeout", "soon"], ["--io", "uring"],
                                  ["--streams", "4"], ["--monitor-pid", "x"],
                                  ["--header", "no colon"]])
@pytest.mark.parametrize("plan_only", [True, False])
def test_a_flag_run_refuses_is_refused_before_anything_runs(tmp_path, flag, plan_only):
    # every phase's run command line is checked first, --plan-only too: nothing is sent
    # (nothing listens on port 9) and no directory is made
    p = assess("--url", "http://127.0.0.1:9/api/products/1", "--slo", SLO,
               "--expected-rps", 20, "--budget", "2m", *flag,
               *(["--plan-only"] if plan_only else []), cwd=tmp_path, timeout=20)
    assert p.returncode == EXIT_CONFIG, (p.returncode, p.stderr[-2000:])
    assert flag[0].lstrip("-") in p.stderr, p.stderr
    assert "the smoke phase's run was refused" in p.stderr, p.stderr
    assert "phase 1/5" not in p.stdout
    assert not (tmp_path / "assessment").exists()


def test_a_pass_through_warning_is_said_once(tmp_path):
    p = assess("--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", 20,
               "--http2", "--plan-only", cwd=tmp_path, timeout=20)
    assert p.returncode == 0, p.stderr
    assert p.stderr.count("--http2 offers HTTP/2") == 1, p.stderr


def test_a_failing_smoke_test_stops_the_assessment(tmp_path):
    d = ServeDemo(tmp_path, ["--port", "0", "--error-rate", "0.5"])
    try:
        p = assess("--url", f"http://127.0.0.1:{d.port}/api/products/1", "--slo", SLO,
                   "--expected-rps", 20, "--budget", "2m", cwd=tmp_path)
    finally:
        d.stop()
    assert p.returncode == EXIT_THRESHOLDS, (p.returncode, p.stderr[-2000:])
    doc = strict_json((tmp_path / "assessment" / "assessment.json").read_text())
    assert doc["status"] == "stopped"
    assert [ph["status"] for ph in doc["phases"]] == ["fail"] + ["skipped"] * 4
    first = doc["findings"][0]
    assert first["impact"] == "critical" and first["area"] == "smoke", first
    assert "The smoke test failed" in first["text"]
    assert (tmp_path / "assessment" / "smoke.json").is_file()
    assert doc["durationS"] < 30


def run_until(args, cwd, marker, after_s):
    """Start `assess ARGS`, send SIGINT after_s seconds after marker appears on stdout."""
    require_binary()
    out = cwd / "out.txt"
    with open(out, "wb") as o:
        proc = subprocess.Popen([BIN, "assess", *map(str, args)], cwd=cwd,
                                stdin=subprocess.DEVNULL, stdout=o, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while marker not in out.read_text() and time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    assert marker in out.read_text(), out.read_text()
    time.sleep(after_s)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.returncode, out.read_text(), err.decode()


def test_ctrl_c_writes_the_report_of_what_was_done(demo, tmp_path):
    url = f"http://127.0.0.1:{demo.port}/api/products/1"
    rc, out, err = run_until(["--url", url, "--slo", SLO, "--expected-rps", 50, "--budget",
                              "3m", "--history", tmp_path / "h.db", "--history-tag", "nightly"],
                             tmp_path, "phase 2/5: load", 3)
    assert rc == EXIT_INTERRUPTED, (rc, out[-2000:], err[-2000:])
    doc = strict_json((tmp_path / "assessment" / "assessment.json").read_text())
    assert doc["status"] == "interrupted", doc["status"]
    st = [ph["status"] for ph in doc["phases"]]
    assert st == ["pass", "interrupted", "skipped", "skipped", "skipped"], st
    load = doc["phases"][1]
    assert load["result"] and (tmp_path / "assessment" / load["result"]).is_file()
    assert (tmp_path / "assessment" / "assessment.html").is_file()
    assert (tmp_path / "assessment" / "assessment.md").is_file()
    assert "assessment.html" in out
    # the phases that ran are in the history, with the tag
    h = subprocess.run([BIN, "history", "list", "--db", tmp_path / "h.db", "--json"],
                       capture_output=True, timeout=20)
    assert h.returncode == 0, h.stderr
    runs = json.loads(h.stdout)
    assert len(runs) >= 1 and all(r.get("tag") == "nightly" for r in runs), runs


def test_a_script_in_the_closed_model(demo, tmp_path):
    script = tmp_path / "s.lua"
    script.write_text('local http = require "stampede.http"\n'
                      'function default()\n'
                      '  http.get(stampede.env.BASE_URL .. "/api/products/1")\n'
                      'end\n')
    rc, out, err = run_until(["--script", script, "--url", f"http://127.0.0.1:{demo.port}",
                              "--slo", SLO, "--expected-vus", 2, "--budget", "2m",
                              "--max-concurrency", 8],
                             tmp_path, "phase 2/5: load", 2)
    assert rc == EXIT_INTERRUPTED, (rc, out[-2000:], err[-2000:])
    doc = strict_json((tmp_path / "assessment" / "assessment.json").read_text())
    assert doc["target"]["script"] == str(script)
    smoke = strict_json((tmp_path / "assessment" / "smoke.json").read_text())
    assert smoke["options"]["testType"]["type"] == "smoke"
    assert smoke["options"]["testType"]["model"] == "closed"
    assert doc["phases"][0]["status"] == "pass", doc["phases"][0]
    assert doc["phases"][1]["unit"] == "VUs"


@pytest.mark.parametrize("plan_only", [True, False])
def test_a_script_that_does_not_load_is_refused_with_its_line(tmp_path, plan_only):
    (tmp_path / "bad.lua").write_text("local ok = 1\nfunction default()\n  x = = 2\nend\n")
    p = assess("--url", "http://127.0.0.1:9/", "--script", "bad.lua", "--slo", SLO,
               "--expected-vus", 2, "--budget", "2m", *(["--plan-only"] if plan_only else []),
               cwd=tmp_path, timeout=20)
    assert p.returncode == 107, (p.returncode, p.stderr)
    assert "bad.lua:3:" in p.stderr, p.stderr
    assert not (tmp_path / "assessment").exists()


def test_many_pass_through_flags_all_reach_run(tmp_path):
    # the phases' command lines are as long as they need: 150 headers and then a bad flag;
    # the bad flag is seen (nothing is silently cut off)
    hdrs = [x for i in range(150) for x in ("-H", f"X-N{i}: v")]
    p = assess("--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", 5,
               *hdrs, "--plan-only", cwd=tmp_path, timeout=20)
    assert p.returncode == 0, p.stderr
    p = assess("--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", 5,
               *hdrs, "--no-such-flag-zz", "--plan-only", cwd=tmp_path, timeout=20)
    assert p.returncode == EXIT_CONFIG and "--no-such-flag-zz" in p.stderr, p.stderr


def test_the_reports_paths_are_checked_before_anything_is_sent(tmp_path):
    (tmp_path / "assessment" / "assessment.json").mkdir(parents=True)
    p = assess("--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", 5,
               "--plan-only", cwd=tmp_path, timeout=20)
    assert p.returncode == EXIT_CONFIG, p.stderr
    assert "assessment.json" in p.stderr and "directory" in p.stderr, p.stderr


def test_an_earlier_assessments_phase_files_are_not_reported_as_this_ones(tmp_path):
    # a smoke.json from an earlier assessment in --dir; this one's smoke fails to start
    # (nothing listens): the report must not read the old file
    d = tmp_path / "assessment"
    d.mkdir()
    old = {"format": "stampede-result/1", "stale": True}
    (d / "smoke.json").write_text(json.dumps(old))
    (d / "smoke.html").write_text("<p>old</p>")
    p = assess("--url", "http://127.0.0.1:9/", "--slo", SLO, "--expected-rps", 5,
               "--budget", "2m", cwd=tmp_path, timeout=60)
    doc = strict_json((d / "assessment.json").read_text())
    smoke = doc["phases"][0]
    assert smoke["status"] == "fail", smoke
    assert "stale" not in (d / "smoke.json").read_text()
    assert (d / "smoke.html").read_text() != "<p>old</p>"
    assert "connection_refused" in p.stdout, p.stdout[-3000:]


def test_a_target_that_dies_ends_the_assessment(tmp_path):
    # the demo is stopped during the load phase: that phase fails as 'the target stopped
    # answering' and nothing heavier runs against a dead target
    d = ServeDemo(tmp_path, ["--port", "0"])
    p = subprocess.Popen([BIN, "assess", "--url", f"http://127.0.0.1:{d.port}/api/products/1",
                          "--slo", "p95<500ms", "--expected-rps", "20", "--budget", "1m52s"],
                         cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (tmp_path / "assessment" / "smoke.json").exists():
            time.sleep(0.2)
        time.sleep(4)  # into the load phase
    finally:
        d.stop()
    out, err = p.communicate(timeout=120)
    assert p.returncode == EXIT_THRESHOLDS, (p.returncode, out[-2000:], err[-2000:])
    doc = strict_json((tmp_path / "assessment" / "assessment.json").read_text())
    assert doc["status"] == "stopped", doc["statusReason"]
    assert "stopped answering in the load phase" in doc["statusReason"]
    assert [ph["status"] for ph in doc["phases"]] == ["pass", "fail"] + ["skipped"] * 3
    crit = [f["text"] for f in doc["findings"] if f["impact"] == "critical"]
    assert any("stopped answering" in t for t in crit), crit
    assert not any("every SLO" in f["text"] and "held" in f["text"]
                   for f in doc["findings"]), doc["findings"]
