"""Shared by the test_assess_*.py modules: run `stampede quickstart --weakness W` (the demo
target with one weakness switched on, assessed by `stampede assess` with --monitor-pid and
--scrape; docs/assess.md) and read what it wrote."""

import json
import subprocess
from pathlib import Path

from conftest import BIN, parse_result, require_binary, strict_json

BUILD_DIR = Path(BIN).resolve().parent
PHASES = ["smoke", "load", "breakpoint", "spike", "soak"]


class Assessment:
    def __init__(self, out):
        self.out = out
        self.dir = out / "assessment"
        self.doc = strict_json((self.dir / "assessment.json").read_text())
        self.md = (self.dir / "assessment.md").read_text()
        self.html = self.dir / "assessment.html"

    def findings(self, area=None):
        return [f for f in self.doc["findings"] if area is None or f["area"] == area]

    def text(self):
        return "\n".join(f["text"] for f in self.doc["findings"])

    def phase(self, name):
        return next(p for p in self.doc["phases"] if p["name"] == name)


def quickstart(weakness, tmp_path_factory):
    """Run the compact assessment of the demo with `weakness` on (None: quickstart's
    default, which `make demo` runs); returns (process, the
    Assessment). At most 4 minutes (its budget is 2 minutes, a hard cap)."""
    require_binary()
    out = tmp_path_factory.mktemp(f"assess-{(weakness or 'default').replace('+', 'p')}")
    args = ["--weakness", weakness] if weakness else []  # None: the default, as make demo
    p = subprocess.run([BIN, "quickstart", *args, "--out", str(out)],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=240, cwd=out)
    p.stdout, p.stderr = p.stdout.decode(), p.stderr.decode()
    assert (out / "assessment" / "assessment.json").is_file(), (p.returncode, p.stdout[-3000:],
                                                                p.stderr[-3000:])
    return p, Assessment(out)


def assert_not_trusted(doc):
    """The assessment's breaking point was reached while other processes held the machine:
    it is marked (breakingPoint.disturbed) and a high finding says it is not trusted."""
    d, at = doc["breakingPoint"]["disturbed"], doc["breakingPoint"]["atS"]
    # a stretch of at least 2 s of other processes' CPU that overlaps the failing window
    assert d["otherProcessesToS"] - d["otherProcessesFromS"] >= 2, d
    assert d["otherProcessesFromS"] <= at + 1 and d["otherProcessesToS"] >= at - 1, (d, at)
    machine = [f for f in doc["findings"] if f["area"] == "machine"]
    assert machine and machine[0]["impact"] == "high", doc["findings"]
    assert "The breaking point is not trusted: other processes" in machine[0]["text"], machine
    print(f"breaking point not trusted (other processes): {machine[0]['text']}")


def load_not_trusted(doc):
    """Whether the assessment says its load phase failed on a machine that other processes
    held (a high `machine` finding): the parallel tests can do that to a 16-s load."""
    return any(f["area"] == "machine" and f["impact"] == "high" and
               "The load phase's failure is not trusted: other processes" in f["text"]
               for f in doc["findings"])


def check_common(p, a, known_capacity=None):
    """What every assessment of the demo must hold: each phase ran (or was skipped for a
    reason) and kept a readable result; the findings are ordered by impact; the breaking
    point is within 20% of the demo's known capacity when the knobs give one."""
    doc = a.doc
    assert doc["format"] == "stampede-assessment/1"
    assert doc["status"] == "complete", (doc["status"], doc["statusReason"])
    assert doc["durationS"] <= doc["budgetS"], "the budget is a hard cap"
    for ph in doc["phases"]:
        if ph["status"] == "skipped":
            assert ph["reason"], ph
            continue
        assert ph["status"] in ("pass", "fail", "done"), ph
        res = parse_result((a.dir / ph["result"]).read_text())
        assert res["options"]["testType"]["type"] == ph["name"]
        assert (a.dir / ph["report"]).is_file()
    order = ["critical", "high", "medium", "low", "info"]
    ranks = [order.index(f["impact"]) for f in doc["findings"]]
    assert ranks == sorted(ranks), ranks
    if known_capacity:
        bp = doc["breakingPoint"]
        assert bp["found"], bp
        got = bp["lastGood"]
        if bp.get("disturbed"):
            # other processes held the machine when it broke (the parallel tests): the
            # assessment says its breaking point is not the target's, and is not held to it
            assert_not_trusted(doc)
        else:
            assert abs(got - known_capacity) <= 0.2 * known_capacity, \
                f"breaking point {got}/s, the demo's capacity is {known_capacity}/s"
    # what the terminal shows: the findings and the report's path
    assert "findings, most important first" in p.stdout or "findings" in p.stdout, p.stdout
    assert str(a.html.name) in p.stdout


def quickstart_many(weaknesses, tmp_path_factory):
    """quickstart() for several weaknesses at once, each its own demo on its own port: the
    assessments wait on their fixed-length phases (the demos' capacities are set by sleeps,
    not by the CPU), so three side by side take the time of one. Returns {weakness:
    (process, Assessment)}."""
    require_binary()
    started = {}
    for w in weaknesses:  # None: quickstart's default (pool), exactly as `make demo`
        out = tmp_path_factory.mktemp(f"assess-{(w or 'default').replace('+', 'p')}")
        args = ["--weakness", w] if w else []
        started[w] = (out, subprocess.Popen(
            [BIN, "quickstart", *args, "--out", str(out)], cwd=out,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    done = {}
    for w, (out, proc) in started.items():
        try:
            o, e = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            o, e = proc.communicate()
        p = subprocess.CompletedProcess(proc.args, proc.returncode, o.decode(), e.decode())
        assert (out / "assessment" / "assessment.json").is_file(), (w, p.returncode,
                                                                    p.stdout[-3000:],
                                                                    p.stderr[-3000:])
        done[w] = (p, Assessment(out))
    return done
