"""A worker stuck in C code no Lua hook interrupts (a pathological pattern match, a
blocking open() of a FIFO) does not keep the run alive: past the end of the run (duration
+ graceful stop) or a hard stop, plus a bounded wait, the coordinator gives up on it, warns,
still prints the summary and writes --summary-export, and exits 105 (docs/cli.md "What
bounds a run"). --body-file on a FIFO with no writer fails (104) after a bounded wait.
"""

import os
import signal
import subprocess
import time

from conftest import EXIT_CONFIG, EXIT_INTERRUPTED, check_rc, interrupted_summary

STUCK_MARGIN_S = 5      # run.c STUCK_MARGIN_US
SLACK_S = 5             # a loaded 2-core machine

# string.find with many '.-' on a long subject: minutes inside lstrlib's C matcher
PATTERN = """
function default()
  local s = ("a"):rep(20000)
  return s:find(".-.-.-.-b")
end
"""

WARNING = "did not stop"


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def check_gave_up(r, export):
    s = interrupted_summary(r, export)
    assert WARNING in r.stderr and "cannot be interrupted" in r.stderr, r.stderr
    return s


def test_pattern_match_ends_by_duration_grace_margin(spawn, tmp_path):
    script = write(tmp_path, "s.lua", 'options = { vus = 1, duration = "2s" }\n' + PATTERN)
    export = tmp_path / "summary.json"
    p = spawn("run", script, "--grace", "1s", "--quiet", "--out", f"result={export}")
    bound = 2 + 1 + STUCK_MARGIN_S + SLACK_S
    r = p.wait(timeout=bound + 10)
    assert r.elapsed < bound, r
    s = check_gave_up(r, export)
    assert "worker thread(s) 0" in r.stderr, r.stderr
    assert s["state"]["interruptedIterations"] >= 1, s["state"]
    assert "INTERRUPTED: a worker did not stop" in r.stdout, r.stdout


def test_pattern_match_second_sigint_ends_soon(spawn, tmp_path):
    script = write(tmp_path, "s.lua", 'options = { vus = 1, duration = "60s" }\n' +
                   PATTERN.replace("local s =", 'print("@@ matching")\n  local s ='))
    export = tmp_path / "summary.json"
    p = spawn("run", script, "--quiet", "--out", f"result={export}")
    p.wait_for_output("@@ matching")
    time.sleep(0.2)             # the only VU is inside the pattern match
    p.signal(signal.SIGINT)
    time.sleep(0.3)
    p.signal(signal.SIGINT)
    second = time.monotonic()
    r = p.wait(timeout=STUCK_MARGIN_S + SLACK_S + 10)
    assert time.monotonic() - second < STUCK_MARGIN_S + SLACK_S, r
    check_gave_up(r, export)
    assert "hard stop" in r.stderr, r.stderr


def test_fifo_open_in_vu_init(spawn, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    script = write(tmp_path, "s.lua",
                   'options = { vus = 1, duration = "2s" }\n'
                   f'if stampede.vu.id > 0 then local s = open("{fifo}") end\n'
                   "function default() end\n")
    export = tmp_path / "summary.json"
    p = spawn("run", script, "--grace", "1s", "--quiet", "--out", f"result={export}")
    bound = 2 + 1 + STUCK_MARGIN_S + SLACK_S
    r = p.wait(timeout=bound + 10)
    assert r.elapsed < bound, r
    # open() now gives up after 10 s without a writer; the run's own bound comes first
    check_gave_up(r, export)


def test_body_file_fifo_without_writer(stampede, tmp_path):
    fifo = tmp_path / "body"
    os.mkfifo(fifo)
    # nothing listens on the URL: the run must fail before any request is sent
    r = stampede("run", "--url", "http://127.0.0.1:9/", "-X", "POST", "--duration", "1s",
                 "--body-file", fifo, timeout=30)
    check_rc(r, EXIT_CONFIG)
    assert "no data and no writer" in r.stderr, r
    assert r.elapsed < 10 + SLACK_S, r


def test_body_file_fifo_with_writer(stampede, tmp_path, nginx):
    fifo = tmp_path / "body"
    os.mkfifo(fifo)
    # the writer blocks in its open() until stampede opens the FIFO, writes, quits
    w = subprocess.Popen(["sh", "-c", 'printf hello > "$1"', "sh", str(fifo)])
    try:
        r = stampede.load(nginx.url, "-X", "POST", "--duration", "1s", "--vus", "1",
                          "--body-file", fifo, timeout=30)
        assert r.summary["metrics"]["http_reqs"]["count"] > 0
    finally:
        w.kill()                # by pid; a no-op once it has exited
        w.wait(5)


def test_sigint_in_handle_summary_export_says_interrupted(spawn, tmp_path):
    script = write(tmp_path, "s.lua",
                   'options = { vus = 1, duration = "1s" }\n'
                   "function default() end\n"
                   "function handle_summary(data)\n"
                   '  print("@@ in handle_summary")\n'
                   "  while true do end\n"
                   "end\n")
    export = tmp_path / "summary.json"
    p = spawn("run", script, "--quiet", "--out", f"result={export}")
    p.wait_for_output("@@ in handle_summary")  # the run is over: handle_summary() spins
    p.signal(signal.SIGINT)
    r = p.wait(timeout=15)
    # exit 105, and the export agrees: the run was interrupted (in handle_summary)
    interrupted_summary(r, export)


def test_pattern_match_in_teardown(spawn, tmp_path):
    script = write(tmp_path, "s.lua",
                   'options = { vus = 1, duration = "1s", teardownTimeout = "1s" }\n'
                   "function default() end\n"
                   + PATTERN.replace("function default()", "function teardown()"))
    export = tmp_path / "summary.json"
    p = spawn("run", script, "--quiet", "--out", f"result={export}")
    bound = 1 + 1 + STUCK_MARGIN_S + SLACK_S
    r = p.wait(timeout=bound + 10)
    assert r.elapsed < bound, r
    check_rc(r, 101)            # teardown() ran past teardownTimeout
    assert "teardown() did not stop" in r.stderr, r.stderr
    assert r.stdout.strip() and export.stat().st_size > 0, r
