"""`stampede profile` and `stampede flamegraph` (docs/profiling.md) against the demo target.

One demo server (`serve-demo --cpu-us 2000`: every request burns 2 ms of CPU in burn_cpu) on
a loopback port the kernel picks, loaded by a bounded run (2 VUs, 6 s), is profiled for 3 s
with perf. The proof is issue #12's: the function with the most self time, and the widest
frame off the trunk (the thread's root frame), is burn_cpu. The flame graph and a
differential one (against the same profile with burn_cpu's stacks halved: burn_cpu grew)
are checked with xmllint and in one headless Chromium for the module (the DevTools pipe
driver of test_html.py): they render, search finds burn_cpu and reports its share, a click
zooms, and nothing is logged as an error. Bad input exits 104 with a one-line error; no
perf exits 111 saying how to install it.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BIN, EXIT_CONFIG, require_binary
from demo_fixtures import DemoServer
from test_html import browser  # noqa: F401 - one Chromium for this module too

EXIT_PROFILE_UNAVAILABLE = 111
XMLLINT = shutil.which("xmllint") or "/usr/bin/xmllint"
PERF = shutil.which("perf")
TOP_RE = re.compile(r"^\s*([0-9.]+)%\s+([0-9.]+)%\s+(\S.*)$")


# perf's temporary directories go to TMPDIR: this module's own, so that its checks that
# none is left behind do not see another test's profile (an assessment profiles its load)
PRIVATE_TMP = Path(tempfile.mkdtemp(prefix="stampede-test-profile-"))


@pytest.fixture(scope="module", autouse=True)
def _private_tmp():
    yield
    shutil.rmtree(PRIVATE_TMP, ignore_errors=True)


def penv(env=None):
    """env (or ours) with TMPDIR set to this module's private directory."""
    return dict(env if env is not None else os.environ, TMPDIR=str(PRIVATE_TMP))


def run(args, timeout=60, env=None):
    require_binary()
    return subprocess.run([BIN, *map(str, args)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, env=penv(env))


def describe(p):
    return (f"command: {' '.join(map(str, p.args))}\nexit {p.returncode}\n--- stdout ---\n"
            f"{p.stdout[-3000:]}\n--- stderr ---\n{p.stderr[-3000:]}")


def perf_usable():
    if not PERF:
        return False, "perf is not installed"
    p = subprocess.run([PERF, "record", "-o", "/dev/null", "-q", "--", "true"],
                       capture_output=True, text=True, timeout=30)
    return p.returncode == 0, p.stderr.strip()[:300]


def read_folded(path):
    stacks = []
    for line in Path(path).read_text().splitlines():
        stack, count = line.rsplit(" ", 1)
        stacks.append((stack.split(";"), int(count)))
    return stacks


@pytest.fixture(scope="module")
def profiled(tmp_path_factory):
    ok, why = perf_usable()
    if not ok:
        pytest.skip(f"perf cannot record here: {why}")
    d = tmp_path_factory.mktemp("profile")
    demo = DemoServer(["--cpu-us", "2000"], d).start()
    load = None
    try:
        load = subprocess.Popen([BIN, "run", "--url", f"{demo.url}/api/products/1", "--vus",
                                 "2", "--duration", "6s", "--quiet"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        p = run(["profile", "--pid", demo.pid, "--duration", "3s", "-o", d / "flame.svg",
                 "--folded", d / "flame.folded", "--top", "10", "--title", "demo <cpu>"],
                timeout=60)
    finally:
        if load is not None:
            if load.poll() is None:
                load.send_signal(signal.SIGINT)   # the profile is taken: end the load now
            try:
                load.wait(15)
            except subprocess.TimeoutExpired:
                load.kill()
                load.wait(5)
        demo.stop()
    assert p.returncode == 0, describe(p)
    # the differential graph: before = the same profile with burn_cpu's stacks halved (a
    # stack of one sample is left out: kept at 1 it would not have grown, and after the
    # graph's normalisation to the same total it would show as shrunk)
    before = d / "before.folded"
    with open(before, "w") as f:
        for frames, count in read_folded(d / "flame.folded"):
            if "burn_cpu" in frames:
                count //= 2
            if count > 0:
                f.write(f"{';'.join(frames)} {count}\n")
    q = run(["flamegraph", "--diff", before, d / "flame.folded", "-o", d / "diff.svg"])
    assert q.returncode == 0, describe(q)
    r = run(["flamegraph", d / "flame.folded", "-o", d / "again.svg", "--top", "3"])
    assert r.returncode == 0, describe(r)
    return {"dir": d, "profile": p, "diff": q, "again": r}


def top_table(stdout):
    rows = []
    for line in stdout.splitlines():
        m = TOP_RE.match(line)
        if m:
            rows.append((float(m.group(1)), float(m.group(2)), m.group(3)))
    return rows


def is_kernel(name):
    """A kernel frame (perf's [kernel.kallsyms], folded with the _[k] suffix). On some
    virtual machines (e.g. a PVM guest) the sampling timer's interrupt is taken when the
    kernel re-enables interrupts, so a kernel function such as pvm_irq_enable can hold as
    many samples as the demo's own code: the checks are on the user-space functions."""
    return name.endswith("_[k]")


def test_burn_cpu_has_the_most_self_time(profiled):
    rows = top_table(profiled["profile"].stdout)
    assert rows, describe(profiled["profile"])
    user = [r for r in rows if not is_kernel(r[2])]
    assert user, describe(profiled["profile"])
    self_pct, total_pct, name = user[0]
    assert name == "burn_cpu", describe(profiled["profile"])
    assert self_pct >= 20, describe(profiled["profile"])
    assert rows == sorted(rows, key=lambda r: -r[0]), "the table is not ordered by self"


def test_widest_frame_off_the_trunk_is_burn_cpu(profiled):
    """Each function's total (stacks holding it, once per stack) without the root frame
    (the thread's name): burn_cpu is the widest. The demo is built without frame pointers,
    so most of burn_cpu's stacks end at it; the check holds either way."""
    stacks = read_folded(profiled["dir"] / "flame.folded")
    assert stacks
    total = {}
    for frames, count in stacks:
        for name in set(f for f in frames[1:] if not is_kernel(f)):
            total[name] = total.get(name, 0) + count
    widest = max(total, key=total.get)
    assert widest == "burn_cpu", sorted(total.items(), key=lambda kv: -kv[1])[:5]
    assert {frames[0] for frames, _ in stacks} <= {"demo-worker", "demo-frontend",
                                                   "stampede"}


@pytest.mark.parametrize("name", ["flame.svg", "diff.svg", "again.svg"])
def test_svg_is_well_formed_and_self_contained(profiled, name):
    path = profiled["dir"] / name
    p = subprocess.run([XMLLINT, "--noout", str(path)], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr[:2000]
    svg = path.read_text()
    assert svg.count("<script") == 1 and "<style" in svg
    assert not re.search(r"""(?:href|src)\s*=|url\s*\(|@import""", svg, re.I)


def test_profile_folded_matches_the_graph(profiled):
    stacks = read_folded(profiled["dir"] / "flame.folded")
    svg = (profiled["dir"] / "flame.svg").read_text()
    m = re.search(r'data-total="(\d+)"', svg)
    assert m and int(m.group(1)) == sum(c for _, c in stacks)
    assert "<title>all (" in svg and "demo &lt;cpu&gt;" in svg


def test_flame_graph_in_chromium(profiled, browser):
    page = browser.load((profiled["dir"] / "flame.svg").as_uri())
    try:
        assert page.eval("document.querySelectorAll('g.f').length") > 3
        pct = page.eval("flamegraph.search('burn_cpu')")
        assert pct >= 30, pct
        shown = page.eval("document.getElementById('matched').textContent")
        assert shown == f"Matched: {pct:.1f}%"
        magenta = page.eval("[...document.querySelectorAll('g.f')].filter(g => "
                            "g.getAttribute('data-name') === 'burn_cpu').every(g => "
                            "g.querySelector('rect').getAttribute('fill') === "
                            "'rgb(230,0,230)')")
        assert magenta
        assert page.eval("flamegraph.search('no_such_function_anywhere')") == 0
        assert page.eval("document.getElementById('matched').textContent") == "Matched: none"
        page.eval("flamegraph.reset_search()")
        # zoom by clicking burn_cpu's widest frame: it fills the width, its ancestors stay
        # (full width, faded), unrelated frames are hidden
        page.eval("""(() => {
            const gs = [...document.querySelectorAll('g.f')]
                .filter(g => g.getAttribute('data-name') === 'burn_cpu');
            gs.sort((a, b) => b.getAttribute('data-n') - a.getAttribute('data-n'));
            gs[0].querySelector('rect').dispatchEvent(new MouseEvent('click', {bubbles: true}));
        })()""")
        vis = page.eval("flamegraph.visible()")
        width = page.eval("+document.documentElement.getAttribute('width')") - 20
        burn = [f for f in vis if f["name"] == "burn_cpu"]
        assert burn and abs(max(f["w"] for f in burn) - width) < 0.5, burn
        names = {f["name"] for f in vis}
        assert "demo-frontend" not in names, names
        assert page.eval("document.getElementById('unzoom').classList.contains('hide')") is False
        page.eval("flamegraph.unzoom()")
        assert len(page.eval("flamegraph.visible()")) > len(vis)
        assert page.errors() == [], page.errors()
        assert page.requests() == [], page.requests()
        page.screenshot(Path(BIN).resolve().parent / "flamegraph.png")
    finally:
        page.close()


def test_diff_graph_in_chromium(profiled, browser):
    page = browser.load((profiled["dir"] / "diff.svg").as_uri())
    try:
        fills = page.eval("[...document.querySelectorAll('g.f')].filter(g => "
                          "g.getAttribute('data-name') === 'burn_cpu').map(g => "
                          "g.querySelector('rect').getAttribute('fill'))")
        assert fills and all(f.startswith("rgb(255,") for f in fills), fills
        assert page.eval("flamegraph.search('burn')") > 0
        assert page.errors() == [], page.errors()
    finally:
        page.close()


# --------------------------------------------------------------------------------------
# bad input and missing perf: one line, the documented exit code
# --------------------------------------------------------------------------------------
def one_line_error(p, code, *needles):
    assert p.returncode == code, describe(p)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert lines and lines[0].startswith("stampede: "), describe(p)
    # the error is one line (profile says what it samples first; a bad option is followed
    # by "see 'stampede help CMD'")
    assert any(ln.startswith("stampede: ") and all(n in ln for n in needles)
               for ln in lines), describe(p)


def test_flamegraph_bad_folded_file(tmp_path):
    bad = tmp_path / "bad.folded"
    bad.write_text("main;work 10\nmain;oops\n")
    p = run(["flamegraph", bad, "-o", tmp_path / "x.svg"])
    one_line_error(p, EXIT_CONFIG, "line 2", "no count")
    assert not (tmp_path / "x.svg").exists()
    empty = tmp_path / "empty.folded"
    empty.write_text("\n")
    one_line_error(run(["flamegraph", empty, "-o", tmp_path / "x.svg"]), EXIT_CONFIG,
                   "no samples")
    one_line_error(run(["flamegraph", tmp_path / "missing.folded"]), EXIT_CONFIG, "cannot read")
    one_line_error(run(["flamegraph", "--diff", bad]), EXIT_CONFIG, "two folded files")
    one_line_error(run(["flamegraph"]), EXIT_CONFIG, "one folded file")
    one_line_error(run(["flamegraph", "--dif", bad]), EXIT_CONFIG, "--dif")


def test_flamegraph_writes_stdout(tmp_path):
    f = tmp_path / "a.folded"
    f.write_text("main;a 3\nmain;b 1\n")
    p = run(["flamegraph", f, "-o", "-"])
    assert p.returncode == 0, describe(p)
    assert p.stdout.startswith("<?xml") and p.stdout.rstrip().endswith("</svg>")


def test_profile_bad_flags(tmp_path):
    one_line_error(run(["profile"]), EXIT_CONFIG, "--pid")
    one_line_error(run(["profile", "--pid", "abc"]), EXIT_CONFIG, "--pid")
    one_line_error(run(["profile", "--pid", "1", "--duration", "0s"]), EXIT_CONFIG,
                   "--duration")
    one_line_error(run(["profile", "--pid", "1", "--freq", "0"]), EXIT_CONFIG, "--freq")
    one_line_error(run(["profile", "--pid", "1", "-o", tmp_path / "no" / "dir.svg"]),
                   EXIT_CONFIG)
    one_line_error(run(["profile", "--pid", "1", "-o", tmp_path / "same",
                        "--folded", tmp_path / "same"]), EXIT_CONFIG, "same file")
    # a pid that does not exist: found before perf runs (pid_max is at most 4194304)
    if PERF and perf_usable()[0]:
        one_line_error(run(["profile", "--pid", "4194304", "--duration", "1s", "-o",
                            tmp_path / "p.svg"]), EXIT_CONFIG, "no process")


def test_profile_without_perf_says_how_to_get_it(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))   # an empty directory: no perf in PATH
    p = run(["profile", "--pid", os.getpid(), "--duration", "1s", "-o", tmp_path / "p.svg"],
            env=env)
    one_line_error(p, EXIT_PROFILE_UNAVAILABLE, "perf not found", "apt-get install linux-perf")
    assert not (tmp_path / "p.svg").exists()


# --------------------------------------------------------------------------------------
# a stand-in perf in PATH: the driver's side of the protocol, without the kernel
# --------------------------------------------------------------------------------------
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "perf" / "demo-cpu.perf-script.txt"


def fake_perf(directory, body):
    path = Path(directory) / "perf"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return dict(os.environ, PATH=f"{directory}:/usr/bin:/bin")


def test_profile_pipeline_with_a_stand_in_perf(tmp_path):
    """`perf record` waits for SIGINT, `perf script` prints the recorded fixture: the
    driver stops the first, folds the second, and the table is the fixture's (550 of 656
    samples in burn_cpu, counted independently in tests/unit/test_fold.c)."""
    env = fake_perf(tmp_path, f"""case "$1" in
record) trap 'exit 0' INT; while :; do sleep 0.05; done ;;
script) cat '{FIXTURE}' ;;
*) exit 2 ;;
esac
""")
    p = run(["profile", "--pid", os.getpid(), "--duration", "300ms", "-o", tmp_path / "f.svg",
             "--top", "3"], env=env, timeout=30)
    assert p.returncode == 0, describe(p)
    rows = top_table(p.stdout)
    assert rows[0][2] == "burn_cpu" and rows[0][0] == 83.84, describe(p)
    assert "656 samples" in p.stdout


def test_profile_reports_perf_failing_at_once(tmp_path):
    env = fake_perf(tmp_path, """echo 'Error:' >&2
echo 'Access to performance monitoring and observability operations is limited.' >&2
echo 'perf_event_open(..., PERF_FLAG_FD_CLOEXEC) failed with unexpected error 1 (Operation not permitted)' >&2
exit 255
""")
    p = run(["profile", "--pid", os.getpid(), "--duration", "1s", "-o", tmp_path / "f.svg"],
            env=env)
    one_line_error(p, EXIT_PROFILE_UNAVAILABLE, "perf record failed (exit 255)",
                   "operations is limited", "kernel.perf_event_paranoid=1", "seccomp")
    assert not (tmp_path / "f.svg").exists()


def test_profile_reports_perf_script_failing(tmp_path):
    env = fake_perf(tmp_path, """case "$1" in
record) trap 'exit 0' INT; while :; do sleep 0.05; done ;;
script) echo 'failed to open perf.data: Invalid argument' >&2; exit 1 ;;
esac
""")
    p = run(["profile", "--pid", os.getpid(), "--duration", "200ms", "-o", tmp_path / "f.svg"],
            env=env)
    one_line_error(p, EXIT_PROFILE_UNAVAILABLE, "perf script failed (exit 1)",
                   "failed to open perf.data")


# --------------------------------------------------------------------------------------
# `run --profile`: perf on the watched target during the steady part of a run
# (docs/profiling.md "Profiling during a run"), the result's analyses.profile
# --------------------------------------------------------------------------------------
def perf_dirs():
    return set(PRIVATE_TMP.glob("stampede-perf.*"))


def perf_recording(pid):
    """Processes running `perf record` on pid (none must outlive the run)."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"record" in argv and any(str(pid).encode() in a.split(b",") for a in argv):
            found.append(int(d.name))
    return found


def profile_of(result_path):
    with open(result_path) as f:
        doc = json.load(f)
    return doc["analyses"].get("profile"), doc["options"].get("profile")


def demo_cmd(port, *knobs):
    return f"{BIN} serve-demo --port {port} {' '.join(map(str, knobs))}"


def test_run_profile_draws_the_demos_flame_graph(tmp_path, free_port):
    """100 requests/s x 2 ms of CPU in burn_cpu for 6 s, the demo started by --monitor-cmd:
    the flame graph goes beside the result file (r.json -> r.profile.svg), is valid SVG, and
    burn_cpu has the most self time. The window starts after the first second or more."""
    ok, why = perf_usable()
    if not ok:
        pytest.skip(f"perf cannot record here: {why}")
    before = perf_dirs()
    res = tmp_path / "r.json"
    p = run(["run", "--url", f"http://127.0.0.1:{free_port}/api/products/1", "--rate", "100",
             "--duration", "6s", "--monitor-cmd", demo_cmd(free_port, "--cpu-us", 2000),
             "--profile", "-q", "--no-summary", "--out", f"result={res}"], timeout=90)
    assert p.returncode == 0, describe(p)
    prof, opts = profile_of(res)
    assert prof and "error" not in prof, (prof, describe(p))
    assert prof["svg"] == str(tmp_path / "r.profile.svg")
    assert opts == {"svg": prof["svg"], "hz": 99}
    x = subprocess.run([XMLLINT, "--noout", prof["svg"]], capture_output=True, text=True,
                       timeout=30)
    assert x.returncode == 0, x.stderr[:2000]
    assert prof["samples"] > 0 and prof["stacks"] > 0 and prof["hz"] == 99
    assert prof["comm"] and prof["pid"] > 0
    assert prof["fromS"] > 0 and prof["toS"] >= prof["fromS"], prof
    assert prof["endedBy"] in ("the steady part's end", "the run's end",
                               "the target's exit"), prof
    top = prof["topFunctions"]
    user = [t for t in top if not is_kernel(t["name"])]
    assert user and user[0]["name"] == "burn_cpu", top
    assert 0 < user[0]["self"] <= user[0]["total"] <= 1, top
    assert top == sorted(top, key=lambda r: -r["self"])
    assert "warning: --profile" not in p.stderr, describe(p)
    assert perf_dirs() - before == set()
    assert perf_recording(prof["pid"]) == []


def test_run_profile_interrupted_keeps_what_was_recorded(tmp_path, free_port):
    """Ctrl-C during the run: it ends (105) with the profile of what was recorded, or, when
    the signal came before the window opened (2 s into a 20 s run) or before perf took a
    sample (a busy machine gives the target little CPU), an error saying so; perf is
    stopped and its temporary directory removed either way."""
    ok, why = perf_usable()
    if not ok:
        pytest.skip(f"perf cannot record here: {why}")
    before = perf_dirs()
    res = tmp_path / "r.json"
    svg = tmp_path / "flame.svg"
    proc = subprocess.Popen([BIN, "run", "--url", f"http://127.0.0.1:{free_port}/api/products/1",
                             "--rate", "50", "--duration", "20s", "--monitor-cmd",
                             demo_cmd(free_port, "--cpu-us", 2000), "--profile",
                             "--profile-out", svg, "-q", "--no-summary", "--out",
                             f"result={res}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=penv())
    try:
        deadline = time.monotonic() + 30    # the target listens: the run starts
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", free_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(4)                       # past the window's start (2 s), usually
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 105, err[-3000:]
    prof, _ = profile_of(res)
    if "error" in prof:
        assert "steady part" in prof["error"] or "recorded no sample" in prof["error"], prof
        assert not svg.exists()
    else:
        assert prof["samples"] > 0 and prof["endedBy"] == "the run's end", prof
        assert prof["svg"] == str(svg) and svg.exists()
    assert perf_dirs() - before == set()
    assert perf_recording(prof["pid"]) == []


def test_run_profile_needs_a_watched_target():
    p = run(["run", "--url", "http://127.0.0.1:9/", "--profile", "-d", "1s"])
    one_line_error(p, EXIT_CONFIG, "--profile", "--monitor-pid", "--monitor-port",
                   "--monitor-cmd")
    p = run(["run", "--url", "http://127.0.0.1:9/", "--profile-out", "x.svg"])
    one_line_error(p, EXIT_CONFIG, "--profile-out", "--profile")


@pytest.mark.parametrize("hz", ["0", "100001", "fast"])
def test_run_profile_hz_out_of_range(hz):
    p = run(["run", "--url", "http://127.0.0.1:9/", "--profile", "--monitor-pid",
             os.getpid(), "--profile-hz", hz])
    one_line_error(p, EXIT_CONFIG, "--profile-hz", "1 to 100000")


def test_run_profile_out_that_cannot_be_written(tmp_path):
    p = run(["run", "--url", "http://127.0.0.1:9/", "--profile", "--monitor-pid",
             os.getpid(), "--profile-out", tmp_path / "no" / "dir" / "f.svg"])
    one_line_error(p, EXIT_CONFIG, "--profile-out", "does not exist")


def test_run_profile_without_perf_goes_on(tmp_path, free_port):
    """No perf in PATH (the binary and the demo by absolute path): one warning, the run
    goes on and exits 0, analyses.profile.error says how to install perf."""
    empty = tmp_path / "bin"
    empty.mkdir()
    res = tmp_path / "r.json"
    svg = tmp_path / "flame.svg"
    p = run(["run", "--url", f"http://127.0.0.1:{free_port}/api/products/1", "--rate", "20",
             "--duration", "2s", "--monitor-cmd", demo_cmd(free_port), "--profile",
             "--profile-out", svg, "-q", "--no-summary", "--out", f"result={res}"],
            env=dict(os.environ, PATH=str(empty)), timeout=60)
    assert p.returncode == 0, describe(p)
    prof, opts = profile_of(res)
    assert prof["error"] and "perf not found" in prof["error"], prof
    assert prof["hz"] == 99 and prof["pid"] > 0
    assert opts == {"svg": str(svg), "hz": 99}
    warnings = [ln for ln in p.stderr.splitlines() if "warning" in ln]
    assert len(warnings) == 1 and "--profile" in warnings[0], describe(p)
    assert not svg.exists()


# --------------------------------------------------------------------------------------
# a zombie pid, an SVG that cannot be written, a signal while the profile is folded
# --------------------------------------------------------------------------------------
def zombie():
    """A child of this process that has exited and is not reaped: state Z in its stat."""
    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stat = Path(f"/proc/{child.pid}/stat").read_text()
        if stat[stat.rindex(")") + 2] == "Z":
            return child
        time.sleep(0.02)
    pytest.fail(f"pid {child.pid} did not become a zombie")


def test_profile_zombie_pid_is_no_process(tmp_path):
    """A zombie is not a live process: 104 "no process with pid N" before perf runs (the
    stand-in perf fails as perf does on a zombie, so running it would be 111)."""
    env = fake_perf(tmp_path, """echo 'Error:' >&2
echo 'The sys_perf_event_open() syscall returned with 3 (No such process)' >&2
exit 255
""")
    child = zombie()
    try:
        p = run(["profile", "-p", child.pid, "--duration", "1s", "-o", tmp_path / "z.svg"],
                env=env)
    finally:
        child.wait()
    one_line_error(p, EXIT_CONFIG, f"no process with pid {child.pid}")
    assert "perf record failed" not in p.stderr, describe(p)
    assert not (tmp_path / "z.svg").exists()


# `perf record` says what it wrote when stopped, as perf does; `perf script` prints the
# demo's recorded output (656 samples), then (SLOW) keeps running as a long one does
STAND_IN_PERF = f"""case "$1" in
record) trap 'echo "[ perf record: Captured and wrote 0.1 MB perf.data (656 samples) ]" >&2; exit 0' INT
        while :; do sleep 0.05; done ;;
script) echo $$ > "$0.script-pid"; cat '{FIXTURE}'; [ -n "$SLOW" ] && exec sleep 60; exit 0 ;;
*) exit 2 ;;
esac
"""


def stand_in_processes(directory, *words):
    """Processes of the stand-in perf in directory (with each of words in their argv)."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(str(directory).encode() in a for a in argv) and \
                all(w.encode() in argv for w in words):
            found.append(int(d.name))
    return found


def stand_in_recording(directory):
    return stand_in_processes(directory, "record")


def run_profile_args(port, svg, res, duration="3s"):
    return ["run", "--url", f"http://127.0.0.1:{port}/api/products/1", "--rate", "20",
            "--duration", duration, "--monitor-cmd", demo_cmd(port), "--profile",
            "--profile-out", svg, "-q", "--no-summary", "--out", f"result={res}"]


@pytest.mark.parametrize("where", ["dev-full", "read-only-dir"])
def test_run_profile_svg_not_written_keeps_the_profile(tmp_path, free_port, where):
    """The SVG cannot be written at the end: exit 110 and one warning, but analyses.profile
    keeps its samples and top functions, with svg null and svgError saying why."""
    env = fake_perf(tmp_path, STAND_IN_PERF)
    res = tmp_path / "r.json"
    if where == "dev-full":
        svg = Path("/dev/full")
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        svg = ro / "flame.svg"
    args = run_profile_args(free_port, svg, res)
    if where == "read-only-dir":
        # writable when the flags are checked; once perf records, the directory becomes a
        # file (root writes into a read-only directory): the SVG's rename fails at the end
        proc = subprocess.Popen([BIN, *map(str, args)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)
        try:
            deadline = time.monotonic() + 30
            while not stand_in_recording(tmp_path) and proc.poll() is None:
                assert time.monotonic() < deadline, "perf record never started"
                time.sleep(0.05)
            svg.parent.rmdir()
            svg.parent.write_text("a file now, not a directory\n")
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        code = proc.returncode
    else:
        p = run(args, env=env, timeout=60)
        code, err = p.returncode, p.stderr
    assert code == 110, err[-3000:]
    prof, _ = profile_of(res)
    assert prof["svg"] is None and prof["svgError"], prof
    assert "error" not in prof, prof
    assert prof["samples"] == 656 and prof["stacks"] > 0, prof
    assert prof["topFunctions"][0]["name"] == "burn_cpu", prof
    assert prof["comm"] and prof["endedBy"] and prof["toS"] >= prof["fromS"] > 0, prof
    warnings = [ln for ln in err.splitlines() if "warning" in ln]
    assert len(warnings) == 1 and "--profile" in warnings[0], err[-3000:]


def test_run_profile_signal_while_folding_drops_it(tmp_path, free_port):
    """A `perf script` that takes long after the load: stampede says it is folding (with
    perf record's sample count), and SIGINT twice then stops it: exit 105, analyses.profile
    is {error: "interrupted", pid, hz}, no SVG, no perf left, the temporary data removed."""
    env = dict(fake_perf(tmp_path, STAND_IN_PERF), SLOW="1")
    res = tmp_path / "r.json"
    svg = tmp_path / "flame.svg"
    before = perf_dirs()
    proc = subprocess.Popen([BIN, *map(str, run_profile_args(free_port, svg, res))],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=penv(env))
    lines = []
    try:
        for line in proc.stderr:         # the notice comes about a second into the folding
            lines.append(line)
            if "folding" in line:
                break
        assert any("stampede: folding 656 samples of the profile" in ln for ln in lines), \
            "".join(lines)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.2)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    err = "".join(lines) + err
    assert proc.returncode == 105, err[-3000:]
    prof, _ = profile_of(res)
    assert prof["error"] == "interrupted" and prof["pid"] > 0 and prof["hz"] == 99, prof
    assert not svg.exists()
    warnings = [ln for ln in err.splitlines() if "warning" in ln]
    assert len(warnings) == 1 and "interrupted" in warnings[0], err[-3000:]
    assert perf_dirs() - before == set()
    script = int((tmp_path / "perf.script-pid").read_text())
    assert not Path(f"/proc/{script}").exists(), "perf script outlived the run"


def test_run_profile_out_empty_path():
    """--profile-out "": 104, and the hint does not offer '-' (refused for this flag)."""
    p = run(["run", "--url", "http://127.0.0.1:9/", "--profile", "--monitor-pid", os.getpid(),
             "--profile-out", ""])
    one_line_error(p, EXIT_CONFIG, "--profile-out")
    assert "'-' for stdout" not in p.stderr, describe(p)
