"""Watching the target during a run (issue #12): --monitor-pid, --monitor-port and
--monitor-cmd sample /proc once a second into target_*, host_* and generator_* metrics.

Every target is a demo server the test starts on loopback (or the one --monitor-cmd
starts); loads are a few seconds long. CPU figures are checked against what the demo's
--cpu-us knob costs (rate x CPU per request), in a wide band: this is accounting, not
timing.
"""

import json
import os
import socket
import subprocess
import time

import pytest

from conftest import BIN
from demo_fixtures import demo_server  # noqa: F401

EXIT_OK, EXIT_INVALID = 0, 104

TARGET_GAUGES = ["target_cpu_percent", "target_cpu_user_percent", "target_cpu_system_percent",
                 "target_rss_bytes", "target_threads", "target_open_fds"]
TARGET_COUNTERS = ["target_ctx_switches_voluntary", "target_ctx_switches_involuntary",
                   "target_disk_read_bytes", "target_disk_write_bytes"]
HOST = ["host_cpu_percent", "host_load1", "host_mem_available_bytes", "host_swap_used_bytes",
        "host_tcp_retransmits", "host_listen_overflows", "host_listen_drops"]
GENERATOR = ["generator_cpu_percent", "generator_rss_bytes"]


def result(r):
    with open(r.export) as f:
        return json.load(f)


def series_values(doc, name, col="value"):
    ts = doc["metrics"][name]["timeseries"]
    i = ts["columns"].index(col)
    return [p[i] for p in ts["points"]]


def test_monitor_cmd_measures_the_demos_cpu(stampede, free_port, tmp_path):
    """--monitor-cmd starts the demo, waits for its port, watches it and stops it after:
    200 requests/s x 2 ms of CPU each = 40% of a core."""
    log = tmp_path / "demo.log"
    cmd = f"{BIN} serve-demo --port {free_port} --cpu-us 2000"
    r = stampede.load(f"http://127.0.0.1:{free_port}/api/products/1", "--rate", "200",
                      "--duration", "5s", "--monitor-cmd", cmd, "--monitor-log", log,
                      timeout=60)
    doc = result(r)
    for m in TARGET_GAUGES + TARGET_COUNTERS + HOST + GENERATOR:
        assert m in doc["metrics"], m
    # the steady seconds (the first reading is the baseline of the rates)
    cpu = series_values(doc, "target_cpu_percent")[1:-1]
    assert cpu, doc["metrics"]["target_cpu_percent"]
    mean = sum(cpu) / len(cpu)
    assert 25 <= mean <= 70, cpu
    assert doc["metrics"]["target_threads"]["values"]["max"] >= 5  # main + 4 workers
    assert doc["metrics"]["target_rss_bytes"]["values"]["min"] > 1 << 20
    assert doc["metrics"]["target_ctx_switches_voluntary"]["values"]["count"] > 0
    assert doc["metrics"]["generator_cpu_percent"]["values"]["max"] > 0
    mon = doc["analyses"]["monitor"]
    assert mon["target"]["found"] == "--monitor-cmd" and mon["target"]["comm"] == "stampede"
    assert mon["target"]["exitedAtS"] is None
    assert mon["target"]["processesCapped"] is False
    assert mon["target"]["threadsCapped"] is False
    assert doc["options"]["monitor"]["cmd"] == cmd
    assert "listening on" in log.read_text()
    # the target was stopped after the run: nothing listens on the port any more
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", free_port)) != 0


def test_steps_table_has_the_targets_cpu_and_memory(stampede, free_port, tmp_path):
    """Issue #11's steps table with the target's CPU (mean over the step) and RSS (largest
    sample): 100, 200, 300 requests/s x 1 ms of CPU each = 10, 20, 30% of a core."""
    cmd = f"{BIN} serve-demo --port {free_port} --cpu-us 1000"
    r = stampede.load(f"http://127.0.0.1:{free_port}/api/products/1", "--type", "stress",
                      "--rate", "100", "--peak", "3", "--steps", "3", "--ramp", "1s",
                      "--step-duration", "3s", "--ramp-down", "0", "--slo", "p95<200ms",
                      "--monitor-cmd", cmd, timeout=60)
    doc = result(r)
    steps = doc["analyses"]["testType"]["steps"]
    cpu = [s["targetCpuPercent"] for s in steps]
    # three times the load, more CPU; each step near its share (a virtual machine's CPU
    # accounting counts time stolen by its host as the thread's own: one noisy second
    # moves a 3-second step's mean by several points, so the bounds are wide)
    assert len(cpu) == 3 and cpu[0] < cpu[2], steps
    for s, want in zip(steps, (10, 20, 30)):
        assert 0.5 * want <= s["targetCpuPercent"] <= 3 * want + 10, s
        assert s["targetRssBytes"] > 1 << 20, s
    header = next(line for line in r.stdout.splitlines() if "served/s" in line)
    assert "CPU" in header and "RSS" in header, r.stdout
    html = tmp_path / "steps.html"
    stampede("report", r.export, "-o", html)
    text = html.read_text()
    assert "<th>target CPU</th><th>target RSS</th>" in text
    assert f"{steps[2]['targetCpuPercent']:.0f}%</td>" in text


def test_steps_table_without_monitoring_has_no_resource_columns(stampede, demo_server):
    d = demo_server()
    r = stampede.load(f"{d.url}/health", "--type", "stress", "--rate", "20", "--peak", "2",
                      "--steps", "2", "--ramp", "1s", "--step-duration", "2s",
                      "--ramp-down", "0", timeout=60)
    steps = result(r)["analyses"]["testType"]["steps"]
    assert steps and all("targetCpuPercent" not in s for s in steps), steps
    header = next(line for line in r.stdout.splitlines() if "served/s" in line)
    assert "CPU" not in header, r.stdout


def test_monitor_port_and_pid_find_the_same_process(stampede, demo_server):
    d = demo_server()
    by_port = result(stampede.load(f"{d.url}/health", "--vus", "1", "--duration", "2s",
                                   "--monitor-port", d.port))
    assert by_port["analyses"]["monitor"]["target"]["pid"] == d.pid
    assert by_port["analyses"]["monitor"]["target"]["found"] == f"port {d.port}"
    by_pid = result(stampede.load(f"{d.url}/health", "--vus", "1", "--duration", "2s",
                                  "--monitor-pid", d.pid))
    assert by_pid["analyses"]["monitor"]["target"]["pid"] == d.pid
    assert d.proc.poll() is None, "--monitor-pid does not stop a process it did not start"


def test_monitor_follows_a_process_tree(stampede, free_port, tmp_path):
    """A shell that forks the server: the tree (sh and its child) is the target."""
    cmd = f"{BIN} serve-demo --port {free_port} --cpu-us 1000 & wait"
    r = stampede.load(f"http://127.0.0.1:{free_port}/api/products/1", "--rate", "100",
                      "--duration", "3s", "--monitor-cmd", cmd, timeout=60)
    doc = result(r)
    assert doc["analyses"]["monitor"]["target"]["processes"] == 2
    assert max(series_values(doc, "target_cpu_percent")) > 5


def test_monitor_sees_the_target_exit(demo_server):
    """The demo stops 1.5 s into a 4 s run: the monitor says when it went, and the run
    goes on."""
    d = demo_server()
    out = d.dir / "r.json"
    p = subprocess.Popen([BIN, "run", "--url", f"{d.url}/health", "--rate", "20",
                          "--duration", "4s", "-q", "--monitor-pid", str(d.pid), "--out",
                          f"result={out}"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(1.5)
        d.stop()
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    doc = json.loads(out.read_text())
    gone = doc["analyses"]["monitor"]["target"]["exitedAtS"]
    assert gone is not None and 0.5 <= gone <= 4.5, doc["analyses"]["monitor"]
    assert b"exited" in err, err


@pytest.mark.parametrize("args,says", [
    (["--monitor-pid", "0"], "invalid --monitor-pid"),
    (["--monitor-pid", "x"], "invalid --monitor-pid"),
    (["--monitor-port", "70000"], "invalid --monitor-port"),
    # digits only: no space, sign or base prefix that strtol would accept
    (["--monitor-port", " 21200"], "invalid --monitor-port"),
    (["--monitor-port", "+80"], "invalid --monitor-port"),
    (["--monitor-port", "0x50"], "invalid --monitor-port"),
    (["--monitor-pid", " 1"], "invalid --monitor-pid"),
    (["--memory-limit", "1.5"], "at least 1MiB"),
    (["--memory-limit", "1048575"], "at least 1MiB"),
    (["--memory-limit", "99999999999TiB"], "too large"),
    (["--monitor-cmd", "  "], "invalid --monitor-cmd"),
    (["--memory-limit", "lots"], "invalid --memory-limit"),
    (["--monitor-log", "x.log"], "--monitor-log is --monitor-cmd's output"),
    (["--monitor-pid", "1", "--monitor-port", "80"], "give one target"),
    (["--memory-limit", "1GiB"], "--memory-limit is the watched target's"),
])
def test_monitor_bad_flags(stampede, free_port, args, says):
    r = stampede("run", "--url", f"http://127.0.0.1:{free_port}/", "--duration", "1s",
                 *args, expect=EXIT_INVALID)
    assert says in r.stderr, r.stderr


def test_monitor_missing_targets(stampede, free_port, tmp_path):
    url = f"http://127.0.0.1:{free_port}/"
    # a pid that does not exist (pid_max is at most 4194304; pick one that is free now)
    pid = 4194303
    while os.path.exists(f"/proc/{pid}"):
        pid -= 1
    r = stampede("run", "--url", url, "--duration", "1s", "--monitor-pid", pid,
                 expect=EXIT_INVALID)
    assert f"--monitor-pid {pid}: no such process" in r.stderr
    r = stampede("run", "--url", url, "--duration", "1s", "--monitor-port", free_port,
                 expect=EXIT_INVALID)
    assert "nothing listens on that port" in r.stderr
    r = stampede("run", "--url", url, "--duration", "1s", "--monitor-cmd", "exit 3",
                 expect=EXIT_INVALID)
    assert "exited with status 3 before listening" in r.stderr
    script = tmp_path / "s.lua"
    script.write_text("function default() end\n")
    r = stampede("run", script, "--duration", "1s", "--monitor-cmd", "sleep 5",
                 expect=EXIT_INVALID)
    assert "give --monitor-port" in r.stderr


def test_monitor_cmd_refuses_a_busy_port(stampede, demo_server):
    d = demo_server()
    r = stampede("run", "--url", f"{d.url}/health", "--duration", "1s", "--monitor-cmd",
                 f"{BIN} serve-demo --port {d.port}", expect=EXIT_INVALID)
    assert f"port {d.port} is in use already (pid {d.pid}" in r.stderr, r.stderr


def test_ctrl_c_while_the_target_starts_is_an_interruption(free_port, tmp_path):
    """Ctrl-C while --monitor-cmd waits for its target's port is exit 105 (interrupted,
    as everywhere else), not 104 (bad input), and the started command is stopped."""
    pidfile = tmp_path / "child.pid"
    cmd = f"echo $$ > {pidfile}; exec sleep 60"  # never listens
    p = subprocess.Popen([BIN, "run", "--url", f"http://127.0.0.1:{free_port}/",
                          "--duration", "1s", "--monitor-cmd", cmd],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not (pidfile.exists() and pidfile.read_text().strip()) and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    assert pidfile.exists(), "the command was not started"
    child = int(pidfile.read_text())
    p.send_signal(2)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 105, (p.returncode, err)
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{child}") and time.monotonic() < deadline:
        with open(f"/proc/{child}/stat") as f:
            if f.read().split(") ")[1][0] == "Z":
                break
        time.sleep(0.05)
    alive = os.path.exists(f"/proc/{child}")
    if alive:
        with open(f"/proc/{child}/stat") as f:
            alive = f.read().split(") ")[1][0] != "Z"
    assert not alive, f"the --monitor-cmd target {child} was left running"


def alive(pid):
    """Whether pid runs (a zombie is not running)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] not in "ZX"
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_gone(pid, limit=10):
    deadline = time.monotonic() + limit
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def test_monitor_memory_limit_of_one_mib_is_accepted(stampede, demo_server):
    d = demo_server()
    doc = result(stampede.load(f"{d.url}/health", "--vus", "1", "--duration", "1s",
                               "--monitor-pid", d.pid, "--memory-limit", "1MiB"))
    assert doc["options"]["monitor"]["memoryLimit"] == 1 << 20


def test_a_command_that_fails_before_listening_is_stopped_with_its_group(stampede,
                                                                        free_port,
                                                                        tmp_path):
    """The shell exits 1 leaving a background child in its process group: the child is
    stopped too, not left running."""
    pidfile = tmp_path / "bg.pid"
    r = stampede("run", "--url", f"http://127.0.0.1:{free_port}/", "--duration", "1s",
                 "--monitor-cmd", f"sleep 333 & echo $! > {pidfile}; exit 1",
                 expect=EXIT_INVALID)
    assert "exited with status 1 before listening" in r.stderr, r.stderr
    bg = int(pidfile.read_text())
    assert wait_gone(bg), f"the command's background child {bg} was left running"


def test_a_command_refuses_a_listener_that_is_not_its_own(stampede, free_port, tmp_path):
    """Another process binds the port while the command runs: refused (exit 104), not
    watched as if it were the command's, and the command is stopped."""
    pidfile = tmp_path / "cmd.pid"
    p = subprocess.Popen([BIN, "run", "--url", f"http://127.0.0.1:{free_port}/",
                          "--duration", "1s", "--monitor-cmd",
                          f"echo $$ > {pidfile}; exec sleep 60"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not (pidfile.exists() and pidfile.read_text().strip()) and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        assert pidfile.exists(), "the command was not started"
        with socket.socket() as other:  # this test process: not the command's
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            other.bind(("127.0.0.1", free_port))
            other.listen()
            _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == EXIT_INVALID, (p.returncode, err)
    assert f"port {free_port} is held by pid {os.getpid()}" in err, err
    assert "not by the command" in err, err
    assert wait_gone(int(pidfile.read_text())), "the command was left running"


def test_a_command_that_daemonizes_is_followed(stampede, free_port, tmp_path):
    """The shell starts the server in the background and exits 0: the server (same
    process group) is the target, and it is stopped after the run."""
    pidfile = tmp_path / "server.pid"
    cmd = f"{BIN} serve-demo --port {free_port} & echo $! > {pidfile}; exit 0"
    r = stampede.load(f"http://127.0.0.1:{free_port}/health", "--rate", "20",
                      "--duration", "2s", "--monitor-cmd", cmd, timeout=60)
    server = int(pidfile.read_text())
    target = result(r)["analyses"]["monitor"]["target"]
    assert target["pid"] == server, (target, r.stderr)
    assert target["processes"] >= 1 and target["exitedAtS"] is None, target
    assert "daemonized" in r.stderr, r.stderr
    assert wait_gone(server), "the daemonized server was left running"


def test_a_tree_beyond_the_process_cap_is_said(stampede, free_port, tmp_path):
    """301 processes: the readings cover 256, and the run says so (stderr and result)."""
    cmd = (f"for i in $(seq 300); do sleep 120 & done; "
           f"exec {BIN} serve-demo --port {free_port}")
    r = stampede.load(f"http://127.0.0.1:{free_port}/health", "--rate", "10",
                      "--duration", "2s", "--monitor-cmd", cmd, timeout=90)
    target = result(r)["analyses"]["monitor"]["target"]
    assert target["processes"] == 256, target
    assert target["processesCapped"] is True, target
    assert r.stderr.count("more than 256 processes") == 1, r.stderr
    # the whole group (the 300 sleeps too) is stopped after the run
    out = subprocess.run(["pgrep", "-g", str(target["pid"])], capture_output=True,
                         text=True).stdout.split()
    assert not [p for p in out if alive(int(p))], out


def test_a_simple_command_is_stopped_when_stampede_is_killed(free_port, tmp_path):
    """SIGKILL of stampede: a command without shell syntax is exec'd by the shell, so the
    server itself gets PR_SET_PDEATHSIG's SIGTERM and does not outlive stampede."""
    out = tmp_path / "r.json"
    p = subprocess.Popen([BIN, "run", "--url", f"http://127.0.0.1:{free_port}/health",
                          "--rate", "5", "--duration", "30s", "-q", "--monitor-cmd",
                          f"{BIN} serve-demo --port {free_port}", "--out",
                          f"result={out}"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    server = None
    try:
        deadline = time.monotonic() + 20
        while server is None and time.monotonic() < deadline and p.poll() is None:
            kids = open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()
            with socket.socket() as s:
                if kids and s.connect_ex(("127.0.0.1", free_port)) == 0:
                    server = int(kids[0])
            time.sleep(0.05)
        assert server is not None, "the target did not start"
        with open(f"/proc/{server}/comm") as f:
            assert f.read().strip() == "stampede", "the shell was not replaced by the command"
    finally:
        p.kill()
        p.communicate(timeout=30)
    assert wait_gone(server), f"the target {server} outlived a killed stampede"
