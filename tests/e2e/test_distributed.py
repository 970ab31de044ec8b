"""The proof of issue #16 on loopback: 4 processes run the 4 segments of one `--rate 4000
--duration 10s` test against one demo server; `stampede merge` combines their result
files, and the merged numbers are exact:

  * iterations + dropped_iterations (+ interrupted) == the single-process schedule, 40,000;
  * http_reqs == the server's own count of requests;
  * every merged histogram is the sum of the parts' (bucket by bucket), so the merged p99
    is the p99 of the union of the parts' samples, not an average of their p99s;
  * the merged file feeds report and compare.
"""

import json
import math
import subprocess
from collections import Counter
from pathlib import Path

import pytest

import hdrhist
from accounting import scheduled_arrivals, settled
from conftest import BIN, read_summary
from demo_fixtures import DemoServer

QUARTERS = "0,1/4,1/2,3/4,1"
SEGMENTS = ["0:1/4", "1/4:1/2", "1/2:3/4", "3/4:1"]


@pytest.fixture(scope="module")
def distributed(tmp_path_factory):
    d = tmp_path_factory.mktemp("distributed")
    demo = DemoServer(["--workers", "8", "--query-latency", "0"], d)
    demo.start()
    try:
        route = "/health"
        before = demo.metrics().value("http_requests_total", route=route)
        procs = []
        for i, seg in enumerate(SEGMENTS):
            out = d / f"part-{i}.json"
            argv = [BIN, "run", "--url", demo.url_for(route), "--rate", "4000", "--duration",
                    "10s", "-t", "1", "-q", "--no-summary", "--execution-segment", seg,
                    "--execution-segment-sequence", QUARTERS, "--out", f"result={out}"]
            procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        for p in procs:
            _, err = p.communicate(timeout=90)
            assert p.returncode == 0, (p.args, p.returncode, err.decode()[-2000:])
        served = settled(lambda: demo.metrics().value("http_requests_total", route=route))
        served -= before
    finally:
        demo.stop()
    parts = [d / f"part-{i}.json" for i in range(4)]
    total = d / "total.json"
    m = subprocess.run([BIN, "merge", *map(str, parts), "-o", str(total)],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert m.returncode == 0, (m.returncode, m.stderr.decode()[-2000:])
    return {"dir": d, "parts": parts, "total": total, "served": int(served),
            "stdout": m.stdout.decode(), "stderr": m.stderr.decode()}


def doc(path):
    return json.loads(Path(path).read_text())


def count(view, name):
    m = view["metrics"].get(name)
    return int(m["count"]) if m else 0


def test_merged_arrivals_equal_the_single_process_schedule(distributed):
    v = read_summary(distributed["total"])   # validated against the schema too
    started = count(v, "iterations") + count(v, "dropped_iterations") + \
        int(v["state"]["interruptedIterations"])
    assert scheduled_arrivals(4000, "10s") == 40000
    assert started == 40000
    # and each part ran exactly its quarter
    for p in distributed["parts"]:
        pv = read_summary(p)
        assert count(pv, "iterations") + count(pv, "dropped_iterations") + \
            int(pv["state"]["interruptedIterations"]) == 10000


def test_merged_http_reqs_equal_the_servers_count(distributed):
    v = read_summary(distributed["total"])
    assert count(v, "http_reqs") == distributed["served"] > 0
    assert sum(count(read_summary(p), "http_reqs") for p in distributed["parts"]) == \
        distributed["served"]


def histograms(d, metric):
    """{tags as a tuple: decoded histogram} of metric's series."""
    return {tuple(sorted(s["tags"].items())): hdrhist.decode(s["histogram"])
            for s in d["metrics"][metric]["series"]}


def test_merged_histograms_are_the_union_and_p99_is_the_unions(distributed):
    total = doc(distributed["total"])
    parts = [doc(p) for p in distributed["parts"]]
    for metric in ("http_req_duration", "http_req_waiting", "iteration_duration"):
        want = {}
        for p in parts:
            for tags, h in histograms(p, metric).items():
                want.setdefault(tags, Counter()).update(h.counts)
        got = {tags: Counter(h.counts) for tags, h in histograms(total, metric).items()}
        assert got == want, metric
    # the merged p99 lies in the bucket of rank ceil(0.99 n) of the union (k6's rank)
    union = Counter()
    some = None
    for p in parts:
        for h in histograms(p, "http_req_duration").values():
            union.update(h.counts)
            some = h
    n = sum(union.values())
    rank, seen = math.ceil(0.99 * n), 0
    for idx in sorted(union):
        seen += union[idx]
        if seen >= rank:
            break
    lo, hi = some.value_low(idx) / 1000, some.value_high(idx) / 1000   # µs -> ms
    p99 = total["metrics"]["http_req_duration"]["values"]["p(99)"]
    assert lo <= p99 <= hi + 0.001, (p99, lo, hi)


def test_merged_time_series_are_aligned_and_complete(distributed):
    total = doc(distributed["total"])
    ts = total["metrics"]["http_reqs"]["timeseries"]
    assert sum(p[1] for p in ts["points"]) == total["metrics"]["http_reqs"]["values"]["count"]
    # four parts started within a second or two of each other: about 10 s, not 40
    assert 9.5 <= total["state"]["testRunDurationMs"] / 1000 <= 15
    assert len(ts["points"]) <= 16
    merge = total["merge"]
    assert merge["coverage"] == "full"
    assert [p["executionSegment"] for p in merge["parts"]] == SEGMENTS


def test_the_merged_result_feeds_report_and_compare(distributed):
    d = distributed["dir"]
    r = subprocess.run([BIN, "report", str(distributed["total"]), "-o", str(d / "r.html")],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    assert (d / "r.html").stat().st_size > 1000
    c = subprocess.run([BIN, "compare", str(distributed["parts"][0]),
                        str(distributed["total"])], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60)
    assert c.returncode in (0, 112), c.stderr.decode()
