"""Execution segments (issue #16): N instances, each running one segment of the load
(`--execution-segment`, `--execution-segment-sequence`, or a script's options), send
together exactly what one instance alone would: the whole run's VUs, iterations and
arrivals are dealt out, never approximated. Every run here is against a loopback demo
server this module starts, bounded in time.
"""

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from accounting import assert_accounting, scheduled_arrivals, settled
from conftest import BIN, read_summary
from demo_fixtures import demo_server_module  # noqa: F401 (fixture)

QUARTERS = "0,1/4,1/2,3/4,1"


def segments(sequence):
    pts = sequence.split(",")
    return [f"{a}:{b}" for a, b in zip(pts, pts[1:])]


def run_parts(tmp_path, args, sequence, name="p", script=None, extra=()):
    """Run every segment of sequence at the same time (as separate instances do); their
    result views in segment order."""
    procs, outs = [], []
    for i, seg in enumerate(segments(sequence)):
        out = tmp_path / f"{name}{i}.json"
        argv = [BIN, "run", *([str(script)] if script else []), *args, "-q", "--no-summary",
                "-t", "1", "--execution-segment", seg, "--execution-segment-sequence",
                sequence, "--out", f"result={out}", *extra]
        procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE))
        outs.append(out)
    views = []
    for p, out in zip(procs, outs):
        so, se = p.communicate(timeout=60)
        assert p.returncode == 0, (p.args, p.returncode, se.decode()[-2000:])
        views.append(read_summary(out))
    return views


def count(view, name):
    m = view["metrics"].get(name)
    return int(m["count"]) if m else 0


def started_or_dropped(view):
    return (count(view, "iterations") + count(view, "dropped_iterations") +
            int(view["state"]["interruptedIterations"]))


def test_open_model_parts_partition_the_arrival_schedule(demo_server_module, tmp_path):  # noqa: F811
    """A ramp of the arrival rate in 3 segments of 1/3: every arrival of the whole
    schedule is started or dropped by exactly one part, and the server saw every request."""
    demo = demo_server_module
    route = "/api/products/{id}"
    stages = [("1s", 600), ("1500ms", 150)]
    before = demo.metrics().value("http_requests_total", route=route)
    parts = run_parts(tmp_path, ["--url", demo.url_for("/api/products/1"), "--rate", "100",
                                 "-s", "1s:600,1500ms:150"], "0,1/3,2/3,1")
    served = settled(lambda: demo.metrics().value("http_requests_total", route=route)) - before
    scheduled = scheduled_arrivals(stages=stages, start_rate=100)
    assert sum(started_or_dropped(v) for v in parts) == scheduled
    assert sum(count(v, "http_reqs") for v in parts) == served
    # equal thirds: each part's share is within one arrival of a third
    for v in parts:
        assert abs(started_or_dropped(v) - scheduled / 3) <= 1, [started_or_dropped(p)
                                                                 for p in parts]
        assert_accounting(v)
        # the options say which part this is, and the whole run's shape
        assert v["options"]["executionSegmentSequence"] == "0,1/3,2/3,1"
        assert v["options"]["rate"] == 100
    assert [v["options"]["executionSegment"] for v in parts] == segments("0,1/3,2/3,1")


def test_unequal_segments_take_their_share(demo_server_module, tmp_path):  # noqa: F811
    """Segments of 10%, 25% and 65% of a constant 800/s for 2 s: exact shares."""
    demo = demo_server_module
    parts = run_parts(tmp_path, ["--url", demo.url_for("/health"), "--rate", "800",
                                 "--duration", "2s"], "0,0.1,35%,1")
    got = [started_or_dropped(v) for v in parts]
    assert sum(got) == scheduled_arrivals(800, "2s") == 1600
    assert got == [160, 400, 1040], got


def test_closed_model_vus_and_shared_iterations_add_up(demo_server_module, tmp_path):  # noqa: F811
    demo = demo_server_module
    url = demo.url_for("/health")
    parts = run_parts(tmp_path, ["--url", url, "--vus", "10", "--duration", "1s"], QUARTERS)
    assert [int(v["metrics"]["vus_max"]["max"]) for v in parts] == [3, 3, 2, 2]
    assert all(v["options"]["vus"] == 10 for v in parts)  # the whole run's, in each part
    parts = run_parts(tmp_path, ["--url", url, "--vus", "4", "-i", "101"], QUARTERS, "i")
    assert [count(v, "iterations") for v in parts] == [26, 25, 25, 25]
    # fewer VUs than segments: the iterations follow the VUs, none is lost
    parts = run_parts(tmp_path, ["--url", url, "--vus", "3", "-i", "31"], QUARTERS, "j")
    assert [count(v, "iterations") for v in parts] == [11, 10, 10, 0]


SCRIPT = """
local http = require "stampede.http"
options = {
  executionSegment = "{seg}",
  executionSegmentSequence = "0,1/2,1",
  scenarios = {
    rate = { executor = "constant-arrival-rate", rate = 50, timeUnit = "1s",
             duration = "2s", preAllocatedVUs = 4, maxVUs = 8 },
    each = { executor = "per-vu-iterations", vus = 5, iterations = 3 },
    shared = { executor = "shared-iterations", vus = 3, iterations = 41 },
    ramp = { executor = "ramping-vus", startVUs = 0,
             stages = { { duration = "500ms", target = 7 }, { duration = "500ms", target = 7 } } },
  },
}
function default() http.get(stampede.env.BASE_URL .. "/health") end
"""


def scenario_counts(path):
    doc = json.loads(Path(path).read_text())
    return {s["tags"]["scenario"]: int(s["values"]["count"])
            for s in doc["metrics"]["iterations"]["series"]}


def test_script_options_segment_every_executor(demo_server_module, tmp_path):  # noqa: F811
    """A script's own options.executionSegment (each half run by one instance) splits
    every executor: arrivals, per-VU iterations (each VU keeps its count), shared
    iterations, and a VU ramp."""
    demo = demo_server_module
    views = []
    for i, seg in enumerate(["0:1/2", "1/2:1"]):
        script = tmp_path / f"half{i}.lua"
        script.write_text(SCRIPT.replace("{seg}", seg))
        out = tmp_path / f"half{i}.json"
        p = subprocess.run([BIN, "run", str(script), "-q", "--no-summary", "-t", "1",
                            "-e", f"BASE_URL={demo.url}", "--out", f"result={out}"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr.decode()[-2000:]
        views.append(read_summary(out))
    a, b = (scenario_counts(tmp_path / f"half{i}.json") for i in range(2))
    assert a["rate"] + b["rate"] == 100
    assert a["each"] + b["each"] == 15 and {a["each"], b["each"]} == {9, 6}
    # iteration k is VU k mod 3's: the half with VUs 0 and 2 runs 27, the other 14
    assert a["shared"] + b["shared"] == 41 and {a["shared"], b["shared"]} == {27, 14}
    assert a["ramp"] > 0 and b["ramp"] > 0
    assert views[0]["options"]["executionSegment"] == "0:1/2"


def test_the_flags_win_over_the_scripts_options(demo_server_module, tmp_path):  # noqa: F811
    demo = demo_server_module
    script = tmp_path / "s.lua"
    script.write_text(SCRIPT.replace("{seg}", "0:1/2"))
    out = tmp_path / "s.json"
    p = subprocess.run([BIN, "run", str(script), "-q", "--no-summary", "-t", "1",
                        "-e", f"BASE_URL={demo.url}", "--execution-segment", "1/4:1/2",
                        "--execution-segment-sequence", QUARTERS, "--out", f"result={out}"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    v = read_summary(out)
    assert v["options"]["executionSegment"] == "1/4:1/2"
    assert scenario_counts(out)["shared"] == 14  # VU 1 of 3: 41 = 14 + 14 + 13 + 0


def test_poisson_arrivals_keep_their_share(demo_server_module, tmp_path):  # noqa: F811
    """Poisson arrivals are random: each part runs a Poisson process at its share of the
    rate, and together they make one at the whole rate (about 2,000 here)."""
    demo = demo_server_module
    parts = run_parts(tmp_path, ["--url", demo.url_for("/health"), "--rate", "1000",
                                 "--duration", "2s", "--arrival", "poisson"], "0,1/2,1")
    total = sum(started_or_dropped(v) for v in parts)
    assert 1700 <= total <= 2300, total  # sd ~45: beyond 6 sd
    assert all(700 <= started_or_dropped(v) <= 1300 for v in parts)


BAD = [
    (["--execution-segment", "1/4:1/4"], "below its end"),
    (["--execution-segment", "3/4:1/2"], "below its end"),
    (["--execution-segment", "a/b"], "not a fraction"),
    (["--execution-segment", "5/4"], "more than 1"),
    (["--execution-segment", "9999999999.709551616:1/2"], "not a fraction"),
    (["--execution-segment", "1/4:"], "--execution-segment '1/4:'"),
    (["--execution-segment", "1/3:2/3", "--execution-segment-sequence", QUARTERS],
     "not one of the sequence's segments"),
    (["--execution-segment", "0:1/2", "--execution-segment-sequence", "0,1/2,1/4,1"],
     "must increase"),
    (["--execution-segment", "1/999983:2/999979"], "stripe"),
    # a segment alone is named as one, not as a sequence
    (["--execution-segment", "0:1/1000001"], "execution segment '0:1/1000001': its"),
    # a repeated point (a segment of no load), first or later: k6 refuses them too
    (["--execution-segment", "0:1/2", "--execution-segment-sequence", "0,0,1/2,1"],
     "must increase"),
    (["--execution-segment", "0:1/2", "--execution-segment-sequence", "0,1/2,1/2,1"],
     "must increase"),
]


@pytest.mark.parametrize("flags,message", BAD, ids=[" ".join(f) for f, _ in BAD])
def test_bad_segments_are_refused_before_anything_is_sent(flags, message, tmp_path):
    # the port is closed: nothing may be sent, the flags are refused first
    p = subprocess.run([BIN, "run", "--url", "http://127.0.0.1:9/", "--vus", "1",
                        "--duration", "1s", *flags], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30)
    err = p.stderr.decode()
    assert p.returncode == 104, (p.returncode, err)
    assert message in err, err
    assert "Traceback" not in err and "Sanitizer" not in err


def test_a_scripts_bad_segment_option_names_it(tmp_path):
    script = tmp_path / "bad.lua"
    script.write_text('options = { executionSegment = 3 }\nfunction default() end\n')
    p = subprocess.run([BIN, "run", str(script)], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30)
    assert p.returncode == 104, p.stderr.decode()
    assert "options.executionSegment" in p.stderr.decode()


def test_a_segment_without_vus_says_so(demo_server_module, tmp_path):  # noqa: F811
    """One VU in four segments: three parts have none; their arrivals are counted as
    dropped (the union still accounts for every arrival) and a warning says why."""
    demo = demo_server_module
    outs, errs = [], []
    for i, seg in enumerate(segments(QUARTERS)):
        out = tmp_path / f"v{i}.json"
        p = subprocess.run([BIN, "run", "--url", demo.url_for("/health"), "--rate", "20",
                            "--duration", "1s", "--max-vus", "1", "--vus", "1", "-q",
                            "--no-summary", "--execution-segment", seg,
                            "--execution-segment-sequence", QUARTERS, "--out",
                            f"result={out}"], stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30)
        assert p.returncode == 0, p.stderr.decode()
        outs.append(read_summary(out))
        errs.append(p.stderr.decode())
    assert sum(started_or_dropped(v) for v in outs) == 20
    assert sum("gets none of the VUs of scenario" in e for e in errs) == 3, errs


MIXED = """
local http = require "stampede.http"
options = { scenarios = {
  users = { executor = "constant-vus", vus = 2, duration = "2s", exec = "idle" },
  rate = { executor = "constant-arrival-rate", rate = 5, timeUnit = "1s", duration = "2s",
           preAllocatedVUs = 1, maxVUs = 1 },
} }
function idle() stampede.sleep(0.1) end
function default() http.get(stampede.env.BASE_URL .. "/health") end
"""


def test_arrivals_go_to_the_workers_that_have_vus(demo_server_module, tmp_path):  # noqa: F811
    """Two threads, and a rate scenario with one VU: its arrivals all go to the worker
    that has the VU; none is dropped for want of a VU on the other (attacker's #3)."""
    script = tmp_path / "mixed.lua"
    script.write_text(MIXED)
    out = tmp_path / "mixed.json"
    p = subprocess.run([BIN, "run", str(script), "-q", "--no-summary", "-t", "2", "-e",
                        f"BASE_URL={demo_server_module.url}", "--out", f"result={out}"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    counts = scenario_counts(out)
    doc = json.loads(out.read_text())
    dropped = doc["metrics"]["dropped_iterations"]["values"].get("count", 0)
    # 5/s: 200 ms between arrivals, so a busy machine's stall does not find the one VU
    # still busy with the last one (a drop that is not the one this test looks for)
    assert counts["rate"] == 10 and dropped == 0, (counts, dropped)



NUMBERS = """
options = {{ scenarios = {{ {scenarios} }} }}
function default()
  local v, s = stampede.vu, stampede.scenario
  print(string.format("n %s %d %d %d %d %d %d", s.name, v.id, v.idInTest, v.idInInstance,
                      s.iteration, s.iterationInTest, s.iterationInInstance))
end
"""
EACH = 'each = {{ executor = "per-vu-iterations", vus = {vus}, iterations = 2 }},'
SHARED = 'shared = {{ executor = "shared-iterations", vus = {vus}, iterations = {iters} }},'


def run_numbers(tmp_path, sequence, scenarios, threads="1"):
    """Run NUMBERS with these scenarios in every segment of sequence (or alone, sequence
    None); per part, a row (scenario, vu.id, idInTest, idInInstance, scenario.iteration,
    iterationInTest, iterationInInstance) per iteration. Nothing is sent anywhere."""
    script = tmp_path / "numbers.lua"
    script.write_text(NUMBERS.format(scenarios=scenarios))
    seg_args = ([["--execution-segment", seg, "--execution-segment-sequence", sequence]
                 for seg in segments(sequence)] if sequence else [[]])
    procs = [subprocess.Popen([BIN, "run", str(script), "-q", "--no-summary", "-t", threads,
                               *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for args in seg_args]
    parts = []
    for p in procs:
        so, se = p.communicate(timeout=60)
        assert p.returncode == 0, (p.args, p.returncode, se.decode()[-2000:])
        rows = [line.split()[1:] for line in so.decode().splitlines() if line.startswith("n ")]
        assert all(r[1] == r[2] and r[4] == r[5] for r in rows), rows  # id is idInTest ...
        parts.append([(r[0], *map(int, r[1:])) for r in rows])
    return parts


def assert_partition(per_part, start, n, what):
    """The parts' numbers never meet and together are start .. start + n - 1."""
    got = [k for part in per_part for k in part]
    assert len(got) == len(set(got)), (what, per_part)
    assert sorted(got) == list(range(start, start + n)), (what, per_part)


def assert_local(per_part, start, what):
    """Within each part, the instance's numbers count from start with no gap."""
    for part in per_part:
        assert sorted(part) == list(range(start, start + len(part))), (what, part)


SPLITS = [("0,1/2,1", 5, "1"), (QUARTERS, 6, "2"), ("0,1/3,1", 7, "1"),
          ("0,0.1,35%,1", 9, "2")]


@pytest.mark.parametrize("sequence,vus,threads", SPLITS)
def test_segments_number_the_tests_vus_and_iterations(tmp_path, sequence, vus, threads):
    """k6's exec.vu.idInTest (issue #16): the parts' VU ids (stampede.vu.id) are disjoint
    and together 1..N, each part's idInInstance 1..its VUs; so are a per-VU-iterations
    scenario's iteration numbers (stampede.scenario.iteration, iterationInTest: 0..N-1)."""
    parts = run_numbers(tmp_path, sequence, EACH.format(vus=vus), threads)
    assert all(parts), "every part has VUs here"
    assert_partition([{r[2] for r in rows} for rows in parts], 1, vus, "idInTest")
    assert_local([{r[3] for r in rows} for rows in parts], 1, "idInInstance")
    for rows in parts:  # one test-wide id per local one
        assert len({(r[2], r[3]) for r in rows}) == len({r[3] for r in rows}), rows
    assert_partition([[r[5] for r in rows] for rows in parts], 0, 2 * vus, "iterationInTest")
    assert_local([[r[6] for r in rows] for rows in parts], 0, "iterationInInstance")


@pytest.mark.parametrize("sequence,vus,threads", SPLITS)
@pytest.mark.parametrize("iters", [10, 23])
def test_shared_iterations_number_the_tests_iterations(tmp_path, sequence, vus, threads,
                                                       iters):
    """Shared iterations split in parts (the brief's case: 10 iterations in two halves
    used to number 0..4 in both): iterationInTest disjoint and together 0..N-1, each
    part's iterationInInstance 0..its count - 1."""
    parts = run_numbers(tmp_path, sequence, SHARED.format(vus=vus, iters=iters), threads)
    assert_partition([[r[5] for r in rows] for rows in parts], 0, iters, "iterationInTest")
    assert_local([[r[6] for r in rows] for rows in parts], 0, "iterationInInstance")


def test_several_scenarios_keep_the_numbers_apart(tmp_path):
    """Two scenarios in two halves: VU ids are still unique across the parts (numbered
    in the order each instance makes its VUs, so as in k6 there may be gaps), and each
    scenario's iterations are numbered 0..N-1 across the parts."""
    parts = run_numbers(tmp_path, "0,1/2,1", EACH.format(vus=5) + SHARED.format(vus=3, iters=11))
    ids = [{r[2] for r in rows} for rows in parts]
    assert not ids[0] & ids[1] and min(ids[0] | ids[1]) == 1, ids
    assert_local([{r[3] for r in rows} for rows in parts], 1, "idInInstance")
    for name, n in (("each", 10), ("shared", 11)):
        assert_partition([[r[5] for r in rows if r[0] == name] for rows in parts], 0, n, name)


def test_an_unsegmented_run_numbers_as_before(tmp_path):
    """One instance: the test-wide numbers are the instance's."""
    (rows,) = run_numbers(tmp_path, None, EACH.format(vus=3) + SHARED.format(vus=2, iters=7))
    assert all(r[1] == r[2] == r[3] and r[4] == r[5] == r[6] for r in rows), rows
    assert sorted({r[1] for r in rows}) == list(range(1, 6))
    assert sorted(r[4] for r in rows if r[0] == "shared") == list(range(7))
    assert sorted(r[4] for r in rows if r[0] == "each") == list(range(6))


UNIQUE = """
local data = require "stampede.data"
local users = data.csv("users.csv")
options = {{ scenarios = {{ take = {{ executor = "shared-iterations", vus = 10,
                                      iterations = {iters} }} }} }}
function default()
  local u = users:unique()
  print("u " .. (u and u.id or "nil"))
end
"""


@pytest.mark.parametrize("sequence", ["0,1/2,1", QUARTERS, "0,0.1,35%,1"])
def test_unique_rows_are_unique_across_the_instances(tmp_path, sequence):
    """data:unique() under segments: each instance takes its own share of the rows (the
    stripe its VUs come from), so no row goes to two instances and every row is used once
    the instances together have drawn more than there are."""
    rows = 40
    (tmp_path / "users.csv").write_text("id\n" + "".join(f"r{i}\n" for i in range(rows)))
    script = tmp_path / "unique.lua"
    script.write_text(UNIQUE.format(iters=2 * rows))
    procs = [subprocess.Popen([BIN, "run", str(script), "-q", "--no-summary",
                               "--execution-segment", seg, "--execution-segment-sequence",
                               sequence], cwd=tmp_path, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for seg in segments(sequence)]
    taken = []
    for p in procs:
        so, se = p.communicate(timeout=60)
        assert p.returncode == 0, (p.args, se.decode()[-2000:])
        taken.append([ln.split()[1] for ln in so.decode().splitlines() if ln.startswith("u ")])
    got = [u for part in taken for u in part if u != "nil"]
    assert len(got) == len(set(got)), taken  # no row twice
    assert sorted(got) == sorted(f"r{i}" for i in range(rows)), taken  # every row once
