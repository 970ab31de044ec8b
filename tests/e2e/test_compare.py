"""`stampede compare BASELINE.json RESULT.json` (issue #13, docs/compare.md), end to end on
the demo target.

Two `stampede serve-demo` processes on loopback, started here: one with --query-latency
2ms, one with 2.6ms (a database 30% slower). A 10-second baseline on the first, a
10-second run on the second: compare reports a p95 regression and exits 112. Ten 7-second
runs of the unchanged configuration, each compared with the same baseline: no regression
at all (the module's headline: 0 false regressions). Unusable input exits 104 and says
which; every output is checked by its consumer: the JSON parsed, the JUnit XML by xmllint
against tests/fixtures/junit.xsd, the Markdown table, the HTML page in headless Chromium
(tests/e2e/browser.py: no request may leave it, no console error) with its screenshot in
BUILD/compare.png.

The runs measure latency and throughput ratios, so the module needs the CPU to itself
(the serial group): a parallel test that slows one unchanged run and not the baseline is
a real, significant drop in throughput, which compare rightly calls a regression. For the
same reason an unchanged run during which the machine was measurably disturbed (another
process's CPU, late wake-ups: Machine) and that compare finds slower is made again, at
most twice; a regression on a run as quiet as the baseline's fails the test.
"""

import contextlib
import json
import os
import re
import resource
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from browser import Chromium, TrapProxy, page_hits
from conftest import BIN, EXIT_CONFIG, Result, check_rc, require_binary, strict_json
from serve_demo_proc import ServeDemo

EXIT_REGRESSION = 112
EXIT_OUTPUT = 110
ROOT = Path(__file__).resolve().parents[2]
JUNIT_XSD = ROOT / "tests" / "fixtures" / "junit.xsd"
BUILD_DIR = Path(BIN).resolve().parent

QUERY_LATENCY = "2ms"
SLOWER = "2.6ms"         # +30%
VUS = 10
BASELINE_S = 10
UNCHANGED_S = 7          # 1 s left out at the start: 6 intervals, above the minimum of 5
REPEATS = 10
PATH = "/api/products/1"
VERDICTS = {"regression", "improvement", "no change", "inconclusive", "not judged"}
ROW_KEYS = {"metric", "stat", "endpoint", "unit", "kind", "baseline", "current", "change",
            "ratio", "ciLow", "ciHigh", "p", "intervals", "limit", "verdict", "why"}
ICON = {"regression": "❌", "inconclusive": "⚠️", "no change": "✅", "improvement": "✅",
        "not judged": "–"}
RUN_KEYS = {"start", "durationS", "version", "source", "scenarios", "fromS", "toS", "file"}

# a script of two endpoints (the `name` tag): the product reads the database, /health
# does not
ENDPOINTS_SCRIPT = r"""
local http = require "stampede.http"
local BASE = stampede.env.BASE
options = { scenarios = { browse = { executor = "constant-vus", vus = 10,
                                     duration = stampede.env.DURATION } } }
function default()
  http.get(BASE .. "/api/products/1", { tags = { name = "product" } })
  http.get(BASE .. "/health", { tags = { name = "health" } })
end
"""


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def stampede(args, timeout=30, expect=None, cwd=None):
    require_binary()
    argv = [BIN, *map(str, args)]
    start = time.monotonic()
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, text=True, cwd=cwd)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(argv)} did not exit within {timeout}s", pytrace=False)
    r = Result(argv, p.returncode, p.stdout, p.stderr, time.monotonic() - start)
    check_rc(r, expect)
    return r


TICK = os.sysconf("SC_CLK_TCK")


def machine_busy_s():
    """CPU seconds the whole machine has spent busy (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / TICK


def process_cpu_s(pid):
    """CPU seconds (user + system) process pid has used (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Machine:
    """How disturbed the machine was while a run went on, measured apart from compare:
    - foreign: the CPUs used by processes other than this test, its finished children (the
      run) and the demos (pids), on average (/proc/stat's busy time less theirs): another
      job on the machine;
    - late_p99_us: the 99th percentile of how late a thread sleeping 2 ms at a time (as the
      demo's queries do) woke up: a machine slowed as a whole.
    Three busy processes on this 2-CPU machine made a 7-s run's p95 +30% and p99 +73%
    (foreign 1.8 CPUs), where a quiet machine shows under 0.05."""

    def __init__(self, pids):
        self.pids = pids
        self.late = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._measure, daemon=True)

    def _measure(self):
        while not self._stop.is_set():
            t0 = time.monotonic()
            time.sleep(0.002)
            self.late.append(time.monotonic() - t0 - 0.002)

    def _ours(self):
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime +
                sum(process_cpu_s(p) for p in self.pids))

    def __enter__(self):
        self._t0, self._busy0, self._ours0 = time.monotonic(), machine_busy_s(), self._ours()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        wall = time.monotonic() - self._t0
        ours = self._ours() - self._ours0
        self.foreign = max(machine_busy_s() - self._busy0 - ours, 0) / wall
        late = sorted(self.late) or [0]
        self.late_p99_us = late[int(len(late) * 0.99)] * 1e6

    def __str__(self):
        return (f"other processes used {self.foreign:.2f} CPUs; 2-ms sleeps woke "
                f"{self.late_p99_us:.0f} µs late at p99")


def load(port, out, seconds, machine=None):
    """`stampede run --url` on the demo's product page, bounded by --duration; machine: a
    Machine measured while it runs."""
    with machine or contextlib.nullcontext():
        stampede(["run", "--url", f"http://127.0.0.1:{port}{PATH}", "--vus", VUS,
                  "--duration", f"{seconds}s", "-q", "--no-summary", "--out",
                  f"result={out}"], timeout=seconds + 30, expect=0)
    assert out.exists(), f"{out} was not written"
    return out


def disturbed(m, base):
    """Whether the machine was disturbed during a run (Machine m) as it was not during the
    baseline (base): other processes took a quarter of a CPU or more, or sleepers woke
    three times as late at p99 (and 200 µs later at least). A comparison of that run with
    the baseline is right to find it slower; it says nothing of compare's false alarms, so
    the run is made again."""
    return (m.foreign >= 0.25 + base.foreign or
            m.late_p99_us > max(3 * base.late_p99_us, base.late_p99_us + 200))


def compare(base, cur, *args, expect=None, tmp=None):
    """`stampede compare` with --out json= (to tmp, or beside cur); returns (Result, doc)."""
    js = Path(tmp or cur.parent) / f"cmp-{base.stem}-{cur.stem}.json"
    r = stampede(["compare", base, cur, "--no-color", "--out", f"json={js}", *args],
                 expect=expect)
    return r, strict_json(js.read_text())


def whole(doc, stat):
    """The whole run's row of (metric, stat): stat a latency statistic, or "rps",
    "errors"."""
    metric = {"rps": "http_reqs", "errors": "http_req_failed"}.get(stat, "http_req_duration")
    stat = "rate" if stat in ("rps", "errors") else stat
    rows = [r for r in doc["rows"] if r["endpoint"] is None and r["metric"] == metric
            and r["stat"] == stat]
    assert len(rows) == 1, (metric, stat, doc["rows"])
    return rows[0]


def brief(doc):
    return "; ".join(f"{r['stat']}{'[' + r['endpoint'] + ']' if r['endpoint'] else ''} "
                     f"{r['change']:+.3f} p={r['p']} {r['verdict']}" for r in doc["rows"])


# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo target twice: the database at 2 ms, and 30% slower."""
    d = tmp_path_factory.mktemp("demo")
    fast = ServeDemo(d, ["--port", 0, "--query-latency", QUERY_LATENCY], name="fast")
    try:
        slow = ServeDemo(d, ["--port", 0, "--query-latency", SLOWER], name="slow")
    except BaseException:
        fast.stop()
        raise
    yield {"fast": fast, "slow": slow}
    slow.stop()
    fast.stop()


@pytest.fixture(scope="module")
def runs(demo, tmp_path_factory):
    """The baseline and the run against the slower database, one after the other."""
    d = tmp_path_factory.mktemp("runs")
    machine = Machine([demo["fast"].proc.pid, demo["slow"].proc.pid])
    return {"dir": d,
            "base": load(demo["fast"].port, d / "base.json", BASELINE_S, machine),
            "machine": machine,
            "slow": load(demo["slow"].port, d / "slow.json", BASELINE_S)}


@pytest.fixture(scope="module")
def unchanged(demo, runs):
    """REPEATS short runs of the unchanged configuration, each compared with the shared
    baseline at once (the comparisons are what the test judges). A run that compare finds
    slower while the machine itself was disturbed (disturbed(): CI saw one run's p95 +63%,
    p99 +136% and throughput -13%, every second of it) is made again, at most twice; the
    runs set aside are kept in r.redone for a failure's message."""
    out = []
    for i in range(REPEATS):
        redone = []
        for attempt in range(3):
            m = Machine([demo["fast"].proc.pid, demo["slow"].proc.pid])
            cur = load(demo["fast"].port, runs["dir"] / f"same{i}-{attempt}.json",
                       UNCHANGED_S, m)
            r, doc = compare(runs["base"], cur)
            r.loadavg = os.getloadavg()[0]  # the machine's load when it ended
            r.machine = m
            if r.rc == 0 or not disturbed(m, runs["machine"]):
                break
            redone.append(f"{cur.name}: exit {r.rc} while {m} (during the baseline: "
                          f"{runs['machine']}): made again")
        r.redone = redone
        out.append((cur, r, doc))
    return out


# --------------------------------------------------------------------------------------
# the proofs
# --------------------------------------------------------------------------------------
def test_a_30_percent_slower_database_is_a_p95_regression(runs):
    r, doc = compare(runs["base"], runs["slow"], expect=EXIT_REGRESSION)
    p95 = whole(doc, "p(95)")
    assert p95["verdict"] == "regression", brief(doc)
    assert p95["change"] > 0.20 and p95["limit"] == "+20%", p95
    assert p95["ciLow"] > 1 and p95["p"] < doc["alpha"], p95
    assert p95["intervals"][0] >= 5 and p95["intervals"][1] >= 5, p95
    assert doc["verdict"] == "regression" and doc["regressions"] >= 1, doc["summary"]
    # the summary names the largest regression (p95 here, or p99 when it passed its +30%)
    assert re.match(r"Regression: p\(9[59]\) of http_req_duration changed \+\d+%",
                    doc["summary"]), doc["summary"]
    # the table on stdout says so too
    line = next(ln for ln in r.stdout.splitlines() if re.match(r"\s*p\(95\) latency", ln))
    assert line.rstrip().endswith("regression"), r.stdout
    assert "Regression" in r.stdout, r.stdout


def test_the_seed_rule_is_one_line(runs, unchanged, tmp_path):
    """--max-regression 'p95 +20%' (the seed's words): p95 alone is judged."""
    r, doc = compare(runs["base"], runs["slow"], "--max-regression", "p95 +20%",
                     expect=EXIT_REGRESSION, tmp=tmp_path)
    assert doc["limits"] == [{"kind": "latency", "stat": "p(95)", "limit": 0.2,
                              "text": "+20%"}], doc["limits"]
    assert whole(doc, "p(95)")["verdict"] == "regression", brief(doc)
    for other in ("med", "rps", "errors"):
        row = whole(doc, other)
        assert row["limit"] is None and row["verdict"] == "not judged", row
    assert doc["regressions"] == 1, brief(doc)
    # the same rule on an unchanged run
    _, same = compare(runs["base"], unchanged[0][0], "--max-regression", "p95 +20%",
                      expect=0, tmp=tmp_path)
    assert whole(same, "p(95)")["verdict"] == "no change", brief(same)


def test_unchanged_runs_give_no_false_regression(runs, unchanged):
    """REPEATS comparisons of the unchanged configuration with the shared baseline: 0 false
    regressions (exit 0, no regression row, verdict not regression)."""
    false = []
    for cur, r, doc in unchanged:
        assert r.rc in (0, EXIT_REGRESSION), r
        regressed = [row for row in doc["rows"] if row["verdict"] == "regression"]
        if r.rc != 0 or regressed or doc["verdict"] == "regression":
            false.append(f"{cur.name}: exit {r.rc}, {brief(doc)} (load average "
                         f"{r.loadavg:.1f} on {os.cpu_count()} CPUs; {r.machine}; "
                         f"during the baseline {runs['machine']})" + "".join(
                             f"\n    before it: {x}" for x in r.redone))
        assert whole(doc, "p(95)")["intervals"][1] >= 5, doc["rows"]
    changes = [whole(doc, "p(95)")["change"] for _, _, doc in unchanged]
    verdicts = [doc["verdict"] for _, _, doc in unchanged]
    assert false == [], (f"{len(false)} false regression(s) in {REPEATS} unchanged runs:\n" +
                         "\n".join(false))
    assert len(unchanged) == REPEATS
    # the remakes are for a machine disturbed now and then: most runs are judged first time
    remade = [cur.name for cur, r, _ in unchanged if r.redone]
    assert len(remade) <= REPEATS // 2, (
        f"{len(remade)} of {REPEATS} unchanged runs were made again on a disturbed machine: "
        f"too few quiet runs to judge compare's false alarms:\n" +
        "\n".join(x for _, r, _ in unchanged for x in r.redone))
    redone = [x for _, r, _ in unchanged for x in r.redone]
    print(f"unchanged: {REPEATS} comparisons, 0 false regressions; verdicts {verdicts}; "
          f"p95 changes {[f'{c:+.1%}' for c in changes]}; other processes' CPUs "
          f"{[round(r.machine.foreign, 2) for _, r, _ in unchanged]}, p99 wake-up delays "
          f"{[round(r.machine.late_p99_us) for _, r, _ in unchanged]} µs (baseline: "
          f"{runs['machine']}); made again: {redone}")


def test_an_unchanged_run_says_no_regression(runs, unchanged):
    cur, r, doc = unchanged[0]
    assert r.rc == 0, r
    assert doc["regressions"] == 0 and doc["verdict"] != "regression", brief(doc)
    assert abs(whole(doc, "p(95)")["change"]) < 0.20, brief(doc)
    assert "Regression" not in r.stdout and "no regression" in r.stdout.lower(), r.stdout


def test_per_endpoint_rows(demo, tmp_path):
    """A script of two endpoints (name tags) against each database: the product page's
    p95 regresses, /health's does not (it reads no database)."""
    script = tmp_path / "endpoints.lua"
    script.write_text(ENDPOINTS_SCRIPT)
    # both at once, each against its own demo: the same machine under the same load, so
    # the databases' 30% is the difference (and the module waits 7 s, not 14)
    res, procs = {}, []
    for which in ("fast", "slow"):
        res[which] = tmp_path / f"ep_{which}.json"
        procs.append(subprocess.Popen(
            [BIN, "run", str(script), "-q", "--no-summary", "-e",
             f"BASE=http://127.0.0.1:{demo[which].port}", "-e", f"DURATION={UNCHANGED_S}s",
             "--out", f"result={res[which]}"], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for p in procs:
        out, err = p.communicate(timeout=UNCHANGED_S + 30)
        assert p.returncode == 0, (p.args, err[-2000:])
    r, doc = compare(res["fast"], res["slow"], expect=EXIT_REGRESSION)
    rows = {(row["endpoint"], row["stat"]): row for row in doc["rows"]
            if row["metric"] == "http_req_duration"}
    assert {"product", "health", None} == {e for e, _ in rows}, doc["rows"]
    assert rows[("product", "p(95)")]["verdict"] == "regression", brief(doc)
    # (/health reads no database, but it is served by the same loaded machine: its p95 is
    # not asserted, a busy CPU moves a 250 µs answer by more than 20%)
    assert rows[("health", "p(95)")]["limit"] == "+20%", brief(doc)
    assert doc["onlyInBaseline"] == [] and doc["onlyInCurrent"] == [], doc
    assert re.search(r"p\(95\) latency\s+product\s.*regression", r.stdout), r.stdout
    # without endpoints: the whole run only
    (tmp_path / "flat").mkdir()
    _, flat = compare(res["fast"], res["slow"], "--no-endpoints", expect=EXIT_REGRESSION,
                      tmp=tmp_path / "flat")
    assert all(row["endpoint"] is None for row in flat["rows"]), flat["rows"]


# --------------------------------------------------------------------------------------
# unusable input: exit 104, saying which
# --------------------------------------------------------------------------------------
def test_missing_file(runs, tmp_path):
    r = stampede(["compare", runs["base"], tmp_path / "nope.json"], expect=EXIT_CONFIG)
    assert "the current run" in r.stderr and "nope.json" in r.stderr, r
    r = stampede(["compare", tmp_path / "gone.json", runs["base"]], expect=EXIT_CONFIG)
    assert "the baseline" in r.stderr and "gone.json" in r.stderr, r
    assert r.stdout == "", r


@pytest.mark.parametrize("text, says", [
    ('{"format": "something-else"}', "not a stampede result"),
    ('{"a": 1}', "not a stampede result"),
    ("garbage", "not valid JSON"),
    ("", ""),
])
def test_not_a_result(runs, tmp_path, text, says):
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    r = stampede(["compare", runs["base"], bad], expect=EXIT_CONFIG)
    assert "bad.json" in r.stderr and says in r.stderr and "the current run" in r.stderr, r


def test_runs_of_different_scenarios(demo, runs, tmp_path):
    """A script run (scenario "a") against a quick run (the "default" scenario)."""
    script = tmp_path / "a.lua"
    script.write_text('local http = require "stampede.http"\n'
                      'options = { scenarios = { a = { executor = "constant-vus", vus = 2, '
                      'duration = "2s" } } }\n'
                      'function default() http.get(stampede.env.BASE .. "/health") end\n')
    res = tmp_path / "script.json"
    stampede(["run", script, "-q", "--no-summary", "-e",
              f"BASE=http://127.0.0.1:{demo['fast'].port}", "--out", f"result={res}"],
             timeout=40, expect=0)
    for base, cur in ((runs["base"], res), (res, runs["base"])):
        r = stampede(["compare", base, cur], expect=EXIT_CONFIG)
        assert "different tests" in r.stderr, r
        assert re.search(r"scenarios are a\b.*\bdefault\b|scenarios are default\b.*\ba\b",
                         r.stderr), r
        assert r.stdout == "", r


@pytest.mark.parametrize("metric, role, limit", [
    ("http_req_duration", "current run", "p(95)"),
    ("http_req_failed", "current run", "errors"),
    ("http_reqs", "current run", "rps"),
])
def test_a_metric_a_limit_needs_is_missing(runs, tmp_path, metric, role, limit):
    d = json.loads(runs["slow"].read_text())
    del d["metrics"][metric]
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(d))
    r = stampede(["compare", runs["base"], cut], expect=EXIT_CONFIG)
    assert f"the {role} has no {metric} metric" in r.stderr and limit in r.stderr, r


@pytest.mark.parametrize("items, says", [
    ("p97=20%", "unknown statistic 'p97'"),
    ("p95=20", "give the limit's unit"),
    ("p95=-20%", "a latency limit is a rise"),
    ("rps=+10%", "throughput's limit is a fall"),
    ("errors=1%", "percentage points"),
    ("errors=-0.5pp", "percentage points"),
    ("p95=0%", "more than 0%"),
    ("p95=abc%", "the limit is a percentage"),
    ("0.5pp", "percentage points go with errors"),
    ("", "no limit given"),
    (" , ", "no limit given"),
])
def test_bad_max_regression(runs, items, says):
    r = stampede(["compare", runs["base"], runs["slow"], "--max-regression", items],
                 expect=EXIT_CONFIG)
    assert "--max-regression" in r.stderr and says in r.stderr, r
    assert r.stdout == "", r


def test_bad_max_regression_names_the_whole_item(runs):
    r = stampede(["compare", runs["base"], runs["slow"], "--max-regression",
                  "p95=20%,p97=25%"], expect=EXIT_CONFIG)
    assert "'p97=25%'" in r.stderr, r


def test_to_before_from(runs):
    for frm, to in (("5s", "3s"), ("5s", "5s")):
        r = stampede(["compare", runs["base"], runs["slow"], "--from", frm, "--to", to],
                     expect=EXIT_CONFIG)
        assert "--to must be after --from" in r.stderr, r
    r = stampede(["compare", runs["base"], runs["slow"], "--from", "soon"],
                 expect=EXIT_CONFIG)
    assert "--from" in r.stderr, r


def test_a_span_past_the_runs_end(runs):
    r = stampede(["compare", runs["base"], runs["slow"], "--from", "1h"], expect=EXIT_CONFIG)
    assert "no whole second to compare" in r.stderr, r


def test_unwritable_out_is_refused_before_anything_is_computed(runs, tmp_path):
    """An --out in a missing directory: 104, no table, and not even the --out given
    before it is written (the paths are checked before the files are read)."""
    ok = tmp_path / "ok.json"
    r = stampede(["compare", runs["base"], runs["slow"], "--out", f"json={ok}",
                  "--out", f"html={tmp_path / 'no' / 'c.html'}"], expect=EXIT_CONFIG)
    assert "html=" in r.stderr and "does not exist" in r.stderr, r
    assert r.stdout == "" and not ok.exists(), r
    # and before the inputs are read: a missing baseline is not what it complains about
    r = stampede(["compare", tmp_path / "gone.json", runs["slow"],
                  "--out", f"junit={tmp_path / 'no' / 'c.xml'}"], expect=EXIT_CONFIG)
    assert "junit=" in r.stderr and "gone.json" not in r.stderr, r
    r = stampede(["compare", runs["base"], runs["slow"], "--out", "pdf=x.pdf"],
                 expect=EXIT_CONFIG, cwd=tmp_path)
    assert "json, markdown, junit and html" in r.stderr, r
    assert not (tmp_path / "x.pdf").exists()


def test_an_output_that_fails_while_written(runs, unchanged):
    """/dev/full: checked writable, fails when written: 110, unless there is a regression
    (the verdict wins)."""
    r = stampede(["compare", runs["base"], unchanged[0][0], "-q", "--out", "json=/dev/full"],
                 expect=EXIT_OUTPUT)
    assert "/dev/full" in r.stderr, r
    stampede(["compare", runs["base"], runs["slow"], "-q", "--out", "json=/dev/full"],
             expect=EXIT_REGRESSION)


def test_usage(runs):
    r = stampede(["compare", runs["base"]], expect=EXIT_CONFIG)
    assert "give the baseline's and the run's result files" in r.stderr, r
    r = stampede(["compare", runs["base"], runs["slow"], runs["slow"]], expect=EXIT_CONFIG)
    assert "expected two result files" in r.stderr, r
    r = stampede(["compare", "--help"], expect=0)
    assert r.stdout.startswith("usage: stampede compare") and "112" in r.stdout, r


# --------------------------------------------------------------------------------------
# the outputs, each checked by its consumer
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def outputs(runs, unchanged, tmp_path_factory):
    """Every format of the regression, and of the first unchanged comparison."""
    d = tmp_path_factory.mktemp("outputs")
    out = {}
    for name, cur, rc in (("slow", runs["slow"], EXIT_REGRESSION),
                          ("same", unchanged[0][0], 0)):
        files = {f: d / f"{name}.{ext}" for f, ext in
                 (("json", "json"), ("markdown", "md"), ("junit", "xml"), ("html", "html"))}
        args = ["compare", runs["base"], cur, "-q"]
        for f, p in files.items():
            args += ["--out", f"{f}={p}"]
        r = stampede(args, expect=rc)
        assert r.stdout == "", r
        for f, p in files.items():
            assert p.exists(), f"{p} was not written\n{r}"
            assert f"wrote {p}" in r.stderr, r
        out[name] = files
    return out


@pytest.mark.parametrize("name", ["slow", "same"])
def test_json_shape(outputs, runs, name):
    doc = strict_json(outputs[name]["json"].read_text())
    assert set(doc) >= {"baseline", "current", "alpha", "limits", "rows", "onlyInBaseline",
                        "onlyInCurrent", "verdict", "regressions", "improvements",
                        "inconclusive", "summary"}, sorted(doc)
    for role in ("baseline", "current"):
        assert set(doc[role]) >= RUN_KEYS, doc[role]
        assert doc[role]["scenarios"] == "default" and doc[role]["source"].endswith(PATH)
        assert doc[role]["fromS"] >= 1 and doc[role]["toS"] > doc[role]["fromS"], doc[role]
    assert doc["baseline"]["file"] == str(runs["base"])
    assert doc["alpha"] == 0.05
    assert doc["limits"] == [
        {"kind": "latency", "stat": "p(95)", "limit": 0.2, "text": "+20%"},
        {"kind": "latency", "stat": "p(99)", "limit": 0.3, "text": "+30%"},
        {"kind": "throughput", "stat": "rate", "limit": 0.1, "text": "-10%"},
        {"kind": "errors", "stat": "rate", "limit": 0.005, "text": "+0.5pp"}], doc["limits"]
    assert [(r["metric"], r["stat"]) for r in doc["rows"]] == [
        ("http_req_duration", "med"), ("http_req_duration", "p(95)"),
        ("http_req_duration", "p(99)"), ("http_reqs", "rate"),
        ("http_req_failed", "rate")], doc["rows"]
    for row in doc["rows"]:
        assert set(row) == ROW_KEYS, row
        assert row["verdict"] in VERDICTS, row
        assert (row["limit"] is None) == (row["verdict"] == "not judged"), row
        assert row["unit"] == {"latency": "ms", "throughput": "req/s", "errors": "%"}[
            row["kind"]], row
        if row["kind"] != "errors":
            assert row["ciLow"] <= row["ratio"] <= row["ciHigh"], row
            assert abs(row["ratio"] - row["current"] / row["baseline"]) < 1e-3, row
        assert 0 <= row["p"] <= 1 and min(row["intervals"]) >= 5, row
    for key, verdict in (("regressions", "regression"), ("improvements", "improvement"),
                         ("inconclusive", "inconclusive")):
        assert doc[key] == sum(r["verdict"] == verdict for r in doc["rows"]), (key, doc)
    assert doc["verdict"] == ("regression" if name == "slow" else doc["verdict"])
    assert (doc["regressions"] > 0) == (name == "slow"), brief(doc)


@pytest.mark.parametrize("name", ["slow", "same"])
def test_junit_validates_and_a_regression_is_a_failure(outputs, name):
    xml = outputs[name]["junit"]
    p = subprocess.run(["xmllint", "--noout", "--schema", str(JUNIT_XSD), str(xml)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, f"{xml} does not validate:\n{p.stderr}\n{xml.read_text()}"
    doc = strict_json(outputs[name]["json"].read_text())
    judged = [r for r in doc["rows"] if r["limit"] is not None]
    suite = ET.parse(xml).getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert len(cases) == len(judged) == int(suite.get("tests")), xml.read_text()
    failures = sorted(n for n, c in cases.items() if c.find("failure") is not None)
    want = sorted(f"{r['metric']} {r['stat']}" for r in judged if r["verdict"] == "regression")
    assert failures == want and int(suite.get("failures")) == len(want), xml.read_text()
    for r in judged:
        case = cases[f"{r['metric']} {r['stat']}"]
        if r["verdict"] == "regression":
            f = case.find("failure")
            assert f.get("type") == "regression" and r["limit"] in f.get("message"), \
                ET.tostring(f)
        assert (case.find("skipped") is not None) == (r["verdict"] == "inconclusive"), \
            ET.tostring(case)
    assert (name == "slow") == bool(want), (name, want)
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["verdict"] == doc["verdict"], props


def test_markdown_has_the_table(outputs):
    md = outputs["slow"]["markdown"].read_text()
    doc = strict_json(outputs["slow"]["json"].read_text())
    assert md.startswith(f"## {ICON[doc['verdict']]} stampede compare: {doc['verdict']}"), \
        md[:200]
    lines = md.splitlines()
    head = [i for i, ln in enumerate(lines) if ln.startswith("|") and "Verdict" in ln]
    assert len(head) == 1, md
    i = head[0]
    assert re.fullmatch(r"\|(?:-+:?\|)+", lines[i + 1].replace(" ", "")), lines[i + 1]
    ncols = lines[i].count("|")
    rows = []
    for ln in lines[i + 2:]:
        if not ln.startswith("|"):
            break
        assert ln.count("|") == ncols, ln
        rows.append([c.strip() for c in ln.strip("|").split("|")])
    assert len(rows) == len(doc["rows"]) == 5, rows
    for cells, row in zip(rows, doc["rows"]):
        assert cells[-1] == row["verdict"] and cells[0] == ICON[row["verdict"]], cells
        assert cells[-2] == (row["limit"] or "–"), cells
    p95 = next(r for r in rows if r[1] == "p(95) latency")
    assert p95[-2] == "+20%" and p95[2] == "(all)" and p95[3].endswith(" ms"), p95
    assert "How this was judged" in md and "Mann-Whitney" in md
    # the unchanged run: its heading is its own verdict's, never a regression ("no change",
    # or "inconclusive" when a short run moved a figure past its limit without evidence)
    same = outputs["same"]["markdown"].read_text()
    same_doc = strict_json(outputs["same"]["json"].read_text())
    assert same_doc["verdict"] != "regression", same_doc["summary"]
    assert same.startswith(f"## {ICON[same_doc['verdict']]} stampede compare: "
                           f"{same_doc['verdict']}"), same[:200]


@pytest.fixture(scope="module")
def browser_(tmp_path_factory):
    proxy = TrapProxy()
    b = Chromium(tmp_path_factory.mktemp("chromium"), proxy.port)
    b.proxy = proxy
    yield b
    b.close()
    proxy.close()


@pytest.fixture(scope="module")
def pages(outputs, browser_):
    time.sleep(0.2)
    before = len(browser_.proxy.hits)
    loaded = {n: browser_.load(outputs[n]["html"].as_uri()) for n in ("slow", "same")}
    time.sleep(0.3)
    loaded["slow"].screenshot(BUILD_DIR / "compare.png")
    return loaded, page_hits(browser_.proxy.hits[before:])


@pytest.mark.parametrize("name", ["slow", "same"])
def test_html_in_chromium(pages, outputs, name):
    loaded, hits = pages
    page = loaded[name]
    assert page.requests() == [], f"the page made requests: {page.requests()}"
    assert hits == [], f"requests reached the trap proxy: {hits}"
    assert page.errors() == [], f"the page logged errors: {page.errors()}"
    doc = strict_json(outputs[name]["json"].read_text())
    assert page.eval("document.getElementById('verdict').dataset.verdict") == doc["verdict"]
    cells = page.eval("""[...document.querySelectorAll('#rows tbody tr')].map(tr =>
        [...tr.cells].map(c => c.textContent))""")
    assert len(cells) == len(doc["rows"]), cells
    p95 = next(c for c in cells if c[0] == "p(95) latency")
    assert p95[-1].startswith(whole(doc, "p(95)")["verdict"]), p95
    # the two runs overlaid on each chart
    for chart in ("chart-p95", "chart-throughput", "chart-errors"):
        n = page.eval(f"document.querySelectorAll('#{chart} svg polyline').length")
        assert n >= 2, f"{chart} has {n} lines"
        box = page.eval(f"(() => {{ const r = document.querySelector('#{chart} svg')"
                        ".getBoundingClientRect(); return [r.width, r.height]; })()")
        assert box[0] > 600 and box[1] > 150, f"{chart} is drawn at {box}"
        bands = page.eval(f"document.querySelectorAll('#{chart} svg rect.band').length")
        assert bands == 2, f"{chart}: {bands} compared spans shaded"


def test_screenshot_written(pages):
    data = (BUILD_DIR / "compare.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000, len(data)


def test_html_escapes_the_p_cell(outputs):
    html = outputs["slow"]["html"].read_text()
    assert not re.search(r"<(?![a-zA-Z/!?])", html), \
        re.search(r".{40}<(?![a-zA-Z/!?]).{20}", html).group(0)


def test_no_output_replaces_an_input(runs, tmp_path):
    """An --out onto either result file (also through a symlink), or two --out on one file,
    is refused before anything is read or written: the inputs stay as they were."""
    base, slow = runs["base"], runs["slow"]
    before = base.read_bytes(), slow.read_bytes()
    link = tmp_path / "link.json"
    link.symlink_to(base)
    for outs in (["--out", f"json={base}"], ["--out", f"markdown={slow}"],
                 ["--out", f"html={link}"]):
        r = stampede(["compare", base, slow, *outs], expect=EXIT_CONFIG)
        assert "would replace it" in r.stderr, r
    r = stampede(["compare", base, slow, "--out", f"json={tmp_path / 'y'}",
                  "--out", f"html={tmp_path / 'y'}"], expect=EXIT_CONFIG)
    assert "are one file" in r.stderr, r
    assert (base.read_bytes(), slow.read_bytes()) == before
