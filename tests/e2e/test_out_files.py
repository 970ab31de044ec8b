"""File outputs, each read back by its consumer (issue #9 sections 2-3, docs/outputs.md
"Outputs"): --out json=FILE[.gz] (k6 NDJSON, parsed line by line; the .gz with Python's
gzip), --out csv=FILE (k6's columns, Python's csv module), --out junit=FILE (xmllint
against tests/fixtures/junit.xsd), --out markdown=FILE, and --out hdr=FILE (read back
by HdrHistogram's own Java HistogramLogProcessor from Debian's libhdrhistogram-java).

One ~2 s scripted run against a loopback echo server feeds every test of the module.
"""

import csv
import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest

import hdrhist
import servers
from script_servers import EchoServer, run_script

HDR_JAR = Path("/usr/share/java/hdrhistogram.jar")

# A name with every character the formats must escape: XML markup, a Markdown table's
# pipe and emphasis, quotes, a comma (CSV, and the hdr log's tags).
ODD = 'api <a&b> | *x* "q", y'

SCRIPT = """
    options = {
      scenarios = { main = { executor = "constant-arrival-rate", rate = 150,
                             timeUnit = "1s", duration = "2s", preAllocatedVUs = 4,
                             maxVUs = 20 } },
      thresholds = {
        http_req_duration = { "p(99)<60000" },
        http_reqs = { "count<1" },
      },
    }
    local ODD = stampede.env.ODD
    function default()
      local res = http.get(BASE .. "/a", { tags = { name = ODD } })
      stampede.check(res, {
        ["status is 200"] = function(r) return r.status == 200 end,
        [ODD .. " fails"] = function(r) return false end,
      })
      stampede.group("g|1", function()
        stampede.check(1, { ["in group"] = function() return true end })
      end)
    end
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("out_files")
    with EchoServer() as srv:
        r = run_script(d, SCRIPT, "--out", f"json={d / 'k6.json'}",
                       "--out", f"json={d / 'k6.json.gz'}", "--out", f"csv={d / 'k6.csv'}",
                       "--out", f"junit={d / 'junit.xml'}",
                       "--out", f"markdown={d / 'summary.md'}",
                       "--out", f"hdr={d / 'latency.hlog'}",
                       base=srv, expect=99, env={"ODD": ODD})
    r.dir = d
    return r


def http_reqs(run):
    return run.summary["metrics"]["http_reqs"]["count"]


def ndjson(lines):
    out = []
    for i, line in enumerate(lines):
        assert line.endswith("\n"), f"line {i + 1} is not terminated"
        out.append(json.loads(line))
    return out


def check_k6_json(entries, run):
    seen, points = set(), {}
    for e in entries:
        assert set(e) == {"type", "data", "metric"}, e
        if e["type"] == "Metric":
            d = e["data"]
            assert d["name"] == e["metric"] and e["metric"] not in seen, e
            assert d["type"] in ("counter", "gauge", "rate", "trend"), e
            assert d["contains"] in ("default", "time", "data"), e
            assert isinstance(d["thresholds"], list), e
            seen.add(e["metric"])
            continue
        assert e["type"] == "Point", e
        assert e["metric"] in seen, f"a Point before its Metric line: {e}"
        assert set(e["data"]) == {"time", "value", "tags"}, e
        assert isinstance(e["data"]["tags"], dict), e
        assert e["data"]["time"][10] == "T", e
        points.setdefault(e["metric"], []).append(e["data"])
    n = http_reqs(run)
    assert n > 0
    assert sum(p["value"] for p in points["http_reqs"]) == n
    assert len(points["http_req_duration"]) == n, "one trend point per request"
    assert all(p["tags"]["name"] == ODD for p in points["http_req_duration"])
    failed = run.summary["metrics"]["checks"]
    assert sum(p["value"] for p in points["checks"]) == failed["passes"]
    assert len(points["checks"]) == failed["passes"] + failed["fails"]
    # the percentiles of the points are the run's, within HDR's 3 significant digits
    vals = sorted(p["value"] for p in points["http_req_duration"])
    want = run.summary["metrics"]["http_req_duration"]["max"]
    assert abs(vals[-1] - want) <= want * 1e-3 + 1e-3, (vals[-1], want)


def test_json_lines_are_k6_envelopes_with_the_runs_counts(run):
    with open(run.dir / "k6.json") as f:
        check_k6_json(ndjson(f), run)


def test_json_gz_reads_with_gzip_and_matches(run):
    with gzip.open(run.dir / "k6.json.gz", "rt") as f:
        gz = ndjson(f)
    check_k6_json(gz, run)
    with open(run.dir / "k6.json") as f:
        assert gz == ndjson(f)


def test_csv_has_k6_columns_and_the_runs_count(run):
    with open(run.dir / "k6.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["metric_name", "timestamp", "metric_value", "check", "error",
                       "error_code", "expected_response", "group", "method", "name", "proto",
                       "scenario", "service", "status", "subproto", "tls_version", "url",
                       "extra_tags", "metadata"]
    recs = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert all(len(r) == len(rows[0]) for r in rows)
    reqs = [r for r in recs if r["metric_name"] == "http_reqs"]
    assert sum(float(r["metric_value"]) for r in reqs) == http_reqs(run)
    assert all(r["name"] == ODD and r["method"] == "GET" and r["status"] == "200"
               for r in reqs), reqs[:3]
    assert all(r["timestamp"].isdigit() for r in recs)
    checks = [r for r in recs if r["metric_name"] == "checks"]
    assert {r["check"] for r in checks} >= {"status is 200", ODD + " fails", "in group"}


def test_junit_validates_and_counts_failures(run):
    path = run.dir / "junit.xml"
    xsd = Path(__file__).resolve().parents[1] / "fixtures" / "junit.xsd"
    if not shutil.which("xmllint"):
        pytest.fail("xmllint is missing (Debian: libxml2-utils; make deps)", pytrace=False)
    p = subprocess.run(["xmllint", "--noout", "--schema", str(xsd), str(path)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr + path.read_text()

    import xml.etree.ElementTree as ET
    root = ET.parse(path).getroot()
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    th = suites["thresholds"]
    cases = {c.get("name"): c for c in th.findall("testcase")}
    assert set(cases) == {"http_req_duration: p(99)<60000", "http_reqs: count<1"}
    assert cases["http_reqs: count<1"].find("failure") is not None
    assert cases["http_req_duration: p(99)<60000"].find("failure") is None
    assert th.get("tests") == "2" and th.get("failures") == "1"
    ck = suites["checks"]
    checks = {(c.get("classname"), c.get("name")): c for c in ck.findall("testcase")}
    assert set(checks) == {("checks", "status is 200"), ("checks", ODD + " fails"),
                           ("checks::g|1", "in group")}, checks
    failed = checks[("checks", ODD + " fails")].find("failure")
    n = http_reqs(run)
    assert failed is not None and f"passes=0 fails={n}" in failed.get("message")
    assert ck.get("failures") == "1"
    assert root.get("tests") == "5" and root.get("failures") == "2"


def test_markdown_has_the_verdict_and_tables(run):
    md = (run.dir / "summary.md").read_text()
    assert md.startswith("## ❌ stampede: 1 of 2 thresholds failed"), md
    assert "| ❌ | http\\_reqs | count&lt;1 |" in md, md
    assert "| ✅ | http\\_req\\_duration | p(99)&lt;60000 |" in md, md
    assert f"| {http_reqs(run)} |" in md, md
    # the odd check name is one cell: its pipe is escaped, so every row keeps its columns
    row = next(line for line in md.splitlines() if "fails |" in line and "api" in line)
    assert row.replace("\\|", "").count("|") == 5, row


def hdr_processor(log, out):
    """HdrHistogram's HistogramLogProcessor (values µs -> ms): the interval CSV at out."""
    if not HDR_JAR.exists() or not shutil.which("java"):
        pytest.fail("HdrHistogram's Java jar is missing (Debian: libhdrhistogram-java, "
                    "default-jre-headless; make deps)", pytrace=False)
    p = subprocess.run(["java", "-cp", str(HDR_JAR), "org.HdrHistogram.HistogramLogProcessor",
                        "-i", str(log), "-o", str(out), "-csv",
                        "-outputValueUnitRatio", "1000"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    rows = [line for line in out.read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(rows))


def test_hdr_log_reads_back_with_hdrhistograms_java_reader(run):
    log = run.dir / "latency.hlog"
    rows = hdr_processor(log, run.dir / "hlog-intervals")
    assert rows, log.read_text()
    last = rows[-1]
    n = http_reqs(run)
    assert int(last["Total_Count"]) == n
    assert sum(int(r["Int_Count"]) for r in rows) == n
    # p50/p99 of the whole log are those of the run's histogram in the result file, by
    # HdrHistogram's own rule (the rank rounded to the nearest, the bucket's highest value)
    counts, total, h = {}, 0, None
    for s in json.loads(run.export.read_text())["metrics"]["http_req_duration"]["series"]:
        h = hdrhist.decode(s["histogram"])
        for i, c in h.counts.items():
            counts[i] = counts.get(i, 0) + c
            total += c
    assert total == n
    for col, p in (("Total_50%", 50), ("Total_99%", 99)):
        rank, seen = max(int(p / 100 * total + 0.5), 1), 0
        for i in sorted(counts):
            seen += counts[i]
            if seen >= rank:
                want = h.value_high(i) / 1000
                break
        assert abs(float(last[col]) - want) <= 0.0015, (col, last[col], want)
    # ... and the median agrees with the run's own within HDR's precision (stampede ranks
    # as k6 does, ceil(p x n), HdrHistogram rounds; for p50 the two take the same bucket)
    want = run.summary["metrics"]["http_req_duration"]["med"]
    assert abs(float(last["Total_50%"]) - want) <= want * 2e-3 + 0.0015, (last, want)
    tagged = [line for line in log.read_text().splitlines() if line.startswith("Tag=")]
    assert tagged and all(line.startswith("Tag=api_<a&b>_|_*x*_\"q\"__y,") for line in tagged)


@pytest.mark.parametrize("spec", ["json={d}/missing/k6.json", "csv={d}/missing/k6.csv.gz",
                                  "junit={d}/missing/j.xml", "markdown={d}",
                                  "hdr={d}/missing/l.hlog"])
def test_unwritable_file_is_a_config_error_before_any_load(tmp_path, spec, stampede):
    spec = spec.format(d=tmp_path)
    url = f"http://127.0.0.1:{servers.free_port()}/"  # never reached: open fails first
    r = stampede("run", "--url", url, "-d", "1s", "-q", "--out", spec, expect=104)
    assert f"--out {spec}: cannot write" in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == [], "nothing written"
