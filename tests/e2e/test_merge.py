"""`stampede merge PART.json... -o TOTAL.json` (issue #16, docs/cli.md "stampede merge",
docs/result-format.md "Merged results"): real quick-mode runs against a loopback server,
merged into one result whose counts are the parts' sums and whose p99 is the p99 of the
union of the parts' histograms as HdrHistogram's own Java library computes it; the merged
file validates against docs/result.schema.json and `report` and `compare` read it; a
threshold that fails only on the merged data exits 99; parts run with
--execution-segment cover the load exactly; bad input is exit 104 with a clear message.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import (BIN, EXIT_CONFIG, EXIT_OK, EXIT_THRESHOLDS, read_summary,
                      require_binary, strict_json, validate_result)
from servers import CountingServer

HDR_JAR = Path("/usr/share/java/hdrhistogram.jar")

# The union of base64 V2 histograms (one per line of a file) by HdrHistogram's Java
# library: its count, p99, p50 and max (µs).
JAVA_UNION = """
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Base64;
import org.HdrHistogram.Histogram;

public class HdrUnion {
    public static void main(String[] args) throws Exception {
        Histogram total = null;
        for (String line : Files.readAllLines(Paths.get(args[0]))) {
            if (line.isBlank()) continue;
            byte[] raw = Base64.getDecoder().decode(line.trim());
            Histogram h = Histogram.decodeFromCompressedByteBuffer(ByteBuffer.wrap(raw), 0);
            if (total == null)
                total = new Histogram(h.getLowestDiscernibleValue(),
                                      h.getHighestTrackableValue(),
                                      h.getNumberOfSignificantValueDigits());
            total.add(h);
        }
        System.out.println(total.getTotalCount() + " " + total.getValueAtPercentile(99.0)
                           + " " + total.getValueAtPercentile(50.0) + " "
                           + total.getMaxValue());
    }
}
"""


def stampede(*args, timeout=60, cwd=None):
    require_binary()
    p = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd)
    assert p.returncode >= 0, f"killed by signal {-p.returncode}\n{p.stderr}"
    return p


def merge(*args, expect=EXIT_OK, cwd=None):
    p = stampede("merge", *args, cwd=cwd)
    assert p.returncode == expect, (f"stampede merge {' '.join(map(str, args))}: exit "
                                    f"{p.returncode}, expected {expect}\n--- stdout ---\n"
                                    f"{p.stdout[-3000:]}\n--- stderr ---\n{p.stderr[-3000:]}")
    return p


def start_runs(url, outs, *extra_per_run):
    """Start one `run` per out file at once (the parts of a distributed run)."""
    require_binary()
    procs = []
    for i, out in enumerate(outs):
        extra = extra_per_run[i] if i < len(extra_per_run) else ()
        procs.append(subprocess.Popen(
            [BIN, "run", "--url", url, "--quiet", "--no-summary", "--out", f"result={out}",
             *map(str, extra)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True))
    results = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()  # by its pid: Popen.kill
            out, err = p.communicate()
        results.append((p.returncode, out, err))
    return results


def doc(path):
    return strict_json(Path(path).read_text())


def metric_sum(d, name):
    m = d["metrics"].get(name)
    return sum(s["values"]["count"] for s in m["series"]) if m else 0


@pytest.fixture(scope="module")
def server():
    with CountingServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def parts(server, tmp_path_factory):
    """Three 2-second runs of 2 VUs: two started at once, the third after them."""
    d = tmp_path_factory.mktemp("merge")
    outs = [d / "p1.json", d / "p2.json"]
    first = start_runs(server.url, outs, *[("--vus", 2, "--duration", "2s")] * 2)
    late = start_runs(server.url, [d / "p3.json"], ("--vus", 2, "--duration", "2s"))
    for rc, _out, err in first + late:
        assert rc == EXIT_OK, err
    total = d / "total.json"
    p = merge(*outs, d / "p3.json", "-o", total)
    return {"dir": d, "parts": outs + [d / "p3.json"], "total": total, "merge": p}


def test_counts_are_the_sums_of_the_parts(parts):
    total = read_summary(parts["total"])  # validates against docs/result.schema.json
    docs = [doc(p) for p in parts["parts"]]
    t = doc(parts["total"])
    for name in ("http_reqs", "iterations", "data_received", "data_sent"):
        want = sum(metric_sum(x, name) for x in docs)
        assert metric_sum(t, name) == want, name
        assert t["metrics"][name]["values"]["count"] == want, name
    assert total["metrics"]["http_reqs"]["count"] > 0
    # http_req_failed: passes and fails add up
    for k in ("passes", "fails"):
        assert t["metrics"]["http_req_failed"]["values"][k] == sum(
            x["metrics"]["http_req_failed"]["values"][k] for x in docs)
    # the trend's count is the union's
    assert t["metrics"]["http_req_duration"]["values"]["count"] == sum(
        x["metrics"]["http_req_duration"]["values"]["count"] for x in docs)
    # VUs add up: three instances of 2
    assert t["metrics"]["vus_max"]["values"]["max"] == 6
    # the per-second points hold every request
    pts = t["metrics"]["http_reqs"]["timeseries"]["points"]
    assert sum(p[1] for p in pts) == metric_sum(t, "http_reqs")
    # the clock: from the earliest start to the latest end
    starts = [x["state"]["startUnixUs"] for x in docs]
    ends = [x["state"]["startUnixUs"] + x["state"]["testRunDurationMs"] * 1000 for x in docs]
    assert t["state"]["startUnixUs"] == min(starts)
    assert t["state"]["testRunDurationMs"] == pytest.approx((max(ends) - min(starts)) / 1000,
                                                            abs=0.01)
    rec = t["merge"]
    assert rec["coverage"] == "unknown"
    assert [p["file"] for p in rec["parts"]] == [str(p) for p in parts["parts"]]
    assert [p["httpReqs"] for p in rec["parts"]] == [metric_sum(x, "http_reqs") for x in docs]
    assert all(p["executionSegment"] is None for p in rec["parts"])
    assert rec["alignment"].endswith(".")
    # the summary of the merged run, as `run` prints it
    out = parts["merge"].stdout
    assert "http_reqs" in out and str(metric_sum(t, "http_reqs")) in out, out
    assert "wrote" in parts["merge"].stderr


def test_p99_is_the_p99_of_the_union_by_hdrhistograms_java_library(parts, tmp_path):
    if not HDR_JAR.exists() or not shutil.which("java"):
        pytest.fail("HdrHistogram's Java jar is missing (Debian: libhdrhistogram-java, "
                    "default-jre-headless; make deps)", pytrace=False)
    lines, exact_max = [], 0
    for p in parts["parts"]:
        for s in doc(p)["metrics"]["http_req_duration"]["series"]:
            lines.append(s["histogram"])
            exact_max = max(exact_max, s["histogramExact"]["max"])
    (tmp_path / "hists.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "HdrUnion.java").write_text(JAVA_UNION)
    j = subprocess.run(["java", "-cp", str(HDR_JAR), str(tmp_path / "HdrUnion.java"),
                        str(tmp_path / "hists.txt")], capture_output=True, text=True,
                       timeout=120)
    assert j.returncode == 0, j.stdout + j.stderr
    count, p99, p50, _ = (int(x) for x in j.stdout.split())
    values = doc(parts["total"])["metrics"]["http_req_duration"]["values"]
    assert values["count"] == count
    # stampede caps a percentile at the exact max it keeps (histogramExact)
    assert values["p(99)"] == pytest.approx(min(p99, exact_max) / 1000, abs=1e-9)
    assert values["med"] == pytest.approx(min(p50, exact_max) / 1000, abs=1e-9)
    assert values["max"] == pytest.approx(exact_max / 1000, abs=1e-9)


def test_report_and_compare_read_the_merged_file(parts, tmp_path):
    html = tmp_path / "report.html"
    p = stampede("report", parts["total"], "-o", html)
    assert p.returncode == EXIT_OK, p.stderr
    assert html.stat().st_size > 1000
    p = stampede("compare", parts["parts"][0], parts["total"], "--quiet")
    assert p.returncode in (0, 112), p.stdout + p.stderr
    p = stampede("compare", parts["total"], parts["total"], "--quiet")
    assert p.returncode == EXIT_OK, p.stdout + p.stderr
    # and a merged file merges again (into the same numbers)
    again = tmp_path / "again.json"
    merge(parts["total"], "-o", again, "--quiet")
    a, b = doc(parts["total"]), doc(again)
    assert metric_sum(a, "http_reqs") == metric_sum(b, "http_reqs")
    assert a["metrics"]["http_req_duration"]["values"] == b["metrics"]["http_req_duration"]["values"]


def test_stdout_gets_the_file_and_no_summary(parts):
    p = merge(*parts["parts"], "-o", "-")
    d = strict_json(p.stdout)
    validate_result(d)
    assert d["merge"]["coverage"] == "unknown"
    assert metric_sum(d, "http_reqs") == metric_sum(doc(parts["total"]), "http_reqs")


def test_a_threshold_that_fails_only_on_the_merged_data_exits_99(server, tmp_path):
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    args = ("--vus", 2, "--iterations", 30, "--threshold", "http_reqs: count<50",
            "--threshold", "http_req_failed: rate<0.5")
    for rc, _o, err in start_runs(server.url, outs, args, args):
        assert rc == EXIT_OK, err  # 30 requests: each part passes
    total = tmp_path / "total.json"
    p = merge(*outs, "-o", total, expect=EXIT_THRESHOLDS)
    t = read_summary(total)
    assert t["metrics"]["http_reqs"]["count"] == 60
    verdicts = {th["source"]: th for th in t["thresholds"]}
    assert verdicts["http_reqs: count<50"]["ok"] is False
    assert verdicts["http_reqs: count<50"]["value"] == 60
    assert verdicts["http_req_failed: rate<0.5"]["ok"] is True
    assert "count<50" in p.stdout, p.stdout
    # --quiet: no summary, the same verdict
    q = merge(*outs, "-o", tmp_path / "quiet.json", "--quiet", expect=EXIT_THRESHOLDS)
    assert q.stdout == ""


def test_segments_cover_the_load_exactly(server, tmp_path):
    """Two instances with --execution-segment share 40 iterations: 40 requests merged."""
    outs = [tmp_path / "s1.json", tmp_path / "s2.json"]
    seq = ("--execution-segment-sequence", "0,1/2,1")
    results = start_runs(server.url, outs,
                         ("--vus", 2, "-i", 40, "--execution-segment", "0:1/2", *seq),
                         ("--vus", 2, "-i", 40, "--execution-segment", "1/2:1", *seq))
    for rc, _o, err in results:
        assert rc == EXIT_OK, err
    total = tmp_path / "total.json"
    merge(*outs, "-o", total, "--quiet")
    t = doc(total)
    validate_result(t)
    assert t["merge"]["coverage"] == "full"
    assert [p["executionSegment"] for p in t["merge"]["parts"]] == ["0:1/2", "1/2:1"]
    assert metric_sum(t, "http_reqs") == 40
    assert "executionSegment" not in t["options"]
    # one half only: partial, with a warning naming what is missing
    p = merge(outs[0], "-o", tmp_path / "half.json", "--quiet")
    assert "the parts cover 1/2 of the load: 1/2:1 is missing" in p.stderr, p.stderr
    assert doc(tmp_path / "half.json")["merge"]["coverage"] == "partial"


def edited(src, dst, segment):
    d = doc(src)
    d["options"]["executionSegment"] = segment
    Path(dst).write_text(json.dumps(d))
    return dst


def test_bad_input_is_a_clear_error(parts, tmp_path):
    p1, p2 = parts["parts"][:2]
    cases = []
    cases.append(((p1, tmp_path / "missing.json", "-o", tmp_path / "o.json"),
                  "missing.json: No such file"))
    (tmp_path / "other.json").write_text('{"hello": "world"}\n')
    cases.append(((p1, tmp_path / "other.json", "-o", tmp_path / "o.json"),
                  "other.json: not a stampede result"))
    (tmp_path / "broken.json").write_text('{"format": "stampede-result/1", ')
    cases.append(((tmp_path / "broken.json", "-o", tmp_path / "o.json"),
                  "broken.json:1: not valid JSON"))
    cases.append(((p1, p2, "-o", p2), "is the part"))
    cases.append(((p1, p1, "-o", tmp_path / "o.json"), "given twice"))
    cases.append(((p1, p2), "missing -o"))
    cases.append((("-o", tmp_path / "o.json"), "missing the part files"))
    cases.append(((p1, "--frobnicate", "-o", tmp_path / "o.json"), "--frobnicate"))
    a = edited(p1, tmp_path / "a.json", "1/4:2/4")
    b = edited(p2, tmp_path / "b.json", "1/4:1/2")
    cases.append(((a, b, "-o", tmp_path / "o.json"),
                  f"parts overlap: {a} and {b} both run 1/4:1/2"))
    c = edited(p2, tmp_path / "c.json", "0:3/4")
    cases.append(((a, c, "-o", tmp_path / "o.json"), "both run 1/4:1/2"))
    cases.append(((a, p2, "-o", tmp_path / "o.json"), "not both"))
    cases.append(((edited(p1, tmp_path / "d.json", "half"), "-o", tmp_path / "o.json"),
                  "options.executionSegment"))
    for args, want in cases:
        p = merge(*args, expect=EXIT_CONFIG)
        assert want in p.stderr, f"{args}: {p.stderr}"
        assert p.stderr.startswith("stampede"), p.stderr
        assert "Traceback" not in p.stderr and p.stdout.strip() == "", p.stdout
    assert not (tmp_path / "o.json").exists()
    # a part's file was not touched by -o naming it
    assert doc(p2)["format"] == "stampede-result/1"


def test_an_output_that_cannot_be_written_is_110(parts, tmp_path):
    p = merge(*parts["parts"][:1], "-o", tmp_path / "no" / "such" / "dir" / "t.json",
              "--quiet", expect=110)
    assert "cannot write" in p.stderr, p.stderr


def test_help(tmp_path):
    p = stampede("merge", "--help")
    assert p.returncode == EXIT_OK
    for word in ("PART.json", "-o", "99", "104", "110", "docs/distributed.md"):
        assert word in p.stdout, word
