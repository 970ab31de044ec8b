"""What `stampede merge` refuses or warns about, so that a merged result never silently
holds less, or something else, than the test (the new-user review of issue #16): parts of
different segment sequences or of different tests, parts that did not run at the same time,
parts cut short; and how a merged result and a part say what they are (summary, report,
history). Loopback demo server, short bounded runs.
"""

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN
from demo_fixtures import demo_server_module  # noqa: F401 (fixture)

HALVES = "0,1/2,1"


def run(demo, out, *extra, url_path="/health", rate="200", duration="2s", seq=HALVES,
        seg=None, wait=True):
    argv = [BIN, "run", "--url", demo.url_for(url_path), "--rate", rate, "--duration",
            duration, "-q", "--no-summary", "-t", "1", "--out", f"result={out}", *extra]
    if seg:
        argv += ["--execution-segment", seg]
        if seq:
            argv += ["--execution-segment-sequence", seq]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    if not wait:
        return p
    so, se = p.communicate(timeout=60)
    assert p.returncode == 0, (argv, se)
    return se


def merge(*args):
    return subprocess.run([BIN, "merge", *map(str, args)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


def together(demo, tmp_path, name, segs=("0:1/2", "1/2:1"), **kw):
    procs = [run(demo, tmp_path / f"{name}{i}.json", seg=s, wait=False, **kw)
             for i, s in enumerate(segs)]
    for p in procs:
        _, se = p.communicate(timeout=60)
        assert p.returncode == 0, se
    return [tmp_path / f"{name}{i}.json" for i in range(len(segs))]


def test_parts_of_different_sequences_are_refused(demo_server_module, tmp_path):  # noqa: F811
    demo = demo_server_module
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    pa = run(demo, a, seg="0:1/3", seq="0,1/3,2/3,1", wait=False)
    pb = run(demo, b, seg="1/3:1", seq="0,1/3,1", wait=False)
    for p in (pa, pb):
        p.communicate(timeout=60)
    m = merge(a, b, "-o", tmp_path / "t.json")
    assert m.returncode == 104, m.stderr
    assert "segment sequence" in m.stderr and "same --execution-segment-sequence" in m.stderr
    assert not (tmp_path / "t.json").exists()


def test_a_segment_without_a_sequence_is_warned_about(demo_server_module, tmp_path):  # noqa: F811
    se = run(demo_server_module, tmp_path / "w.json", seg="1/3:2/3", seq=None,
             duration="1s")
    assert "without a sequence" in se and "0,1/3,2/3,1" in se, se


def test_the_flag_keeps_the_scripts_sequence(demo_server_module, tmp_path):  # noqa: F811
    """k6 users keep the sequence in the script and give each instance its segment."""
    script = tmp_path / "s.lua"
    script.write_text('local http = require "stampede.http"\n'
                      'options = { vus = 4, iterations = 41, '
                      'executionSegmentSequence = "0,1/4,1/2,3/4,1" }\n'
                      'function default() http.get(stampede.env.BASE_URL .. "/health") end\n')
    out = tmp_path / "s.json"
    p = subprocess.run([BIN, "run", str(script), "-q", "--no-summary", "-e",
                        f"BASE_URL={demo_server_module.url}", "--execution-segment", "0:1/4",
                        "--out", f"result={out}"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    assert doc["options"]["executionSegmentSequence"] == "0,1/4,1/2,3/4,1"
    assert doc["metrics"]["iterations"]["values"]["count"] == 11
    assert "without a sequence" not in p.stderr


def test_parts_of_different_tests_need_force(demo_server_module, tmp_path):  # noqa: F811
    demo = demo_server_module
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    pa = run(demo, a, seg="0:1/2", wait=False)
    pb = run(demo, b, seg="1/2:1", rate="300", wait=False)
    for p in (pa, pb):
        p.communicate(timeout=60)
    m = merge(a, b, "-o", tmp_path / "t.json")
    assert m.returncode == 104, m.stderr
    assert "ran different tests (options.rate: 200.0 and 300.0)" in m.stderr, m.stderr
    m = merge(a, b, "-o", tmp_path / "t.json", "--force", "-q")
    assert m.returncode == 0, m.stderr


def test_parts_that_did_not_run_together_are_warned_about(demo_server_module, tmp_path):  # noqa: F811
    demo = demo_server_module
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    run(demo, a, seg="0:1/2")
    run(demo, b, seg="1/2:1")   # after the first one: 2 s later
    m = merge(a, b, "-o", tmp_path / "t.json", "-q")
    assert m.returncode == 0, m.stderr
    assert "did not run at the same time" in m.stderr and "b.json started" in m.stderr


def test_an_interrupted_part_is_named_and_exits_105(demo_server_module, tmp_path):  # noqa: F811
    demo = demo_server_module
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    pa = run(demo, a, seg="0:1/2", duration="6s", wait=False)
    pb = run(demo, b, seg="1/2:1", duration="6s", wait=False)
    time.sleep(2)
    pb.send_signal(signal.SIGINT)
    pa.communicate(timeout=60)
    pb.communicate(timeout=60)
    assert pb.returncode == 105
    m = merge(a, b, "-o", tmp_path / "t.json")
    assert m.returncode == 105, m.stderr
    assert "b.json was interrupted" in m.stderr, m.stderr
    rec = json.loads((tmp_path / "t.json").read_text())["merge"]
    assert [p["interrupted"] for p in rec["parts"]] == [False, True]
    # the report says so as the terminal summary does, not "the whole load" alone
    r = subprocess.run([BIN, "report", str(tmp_path / "t.json"), "-o", str(tmp_path / "t.html")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "t.html").read_text()
    badge = re.search(r'<span class="badge (\w+)" id="merged"[^>]*>([^<]*)<', html)
    assert badge and badge.group(1) == "bad", badge and badge.group(0)
    assert "(a part stopped before its end)" in badge.group(2), badge.group(0)


def test_the_merged_summary_report_and_parts_say_what_they_are(demo_server_module,  # noqa: F811
                                                               tmp_path):
    demo = demo_server_module
    parts = together(demo, tmp_path, "p")
    m = merge(*parts, "-o", tmp_path / "t.json")
    assert m.returncode == 0, m.stderr
    assert "MERGED from 2 parts, covering the whole load" in m.stdout, m.stdout
    m = merge(parts[0], "-o", tmp_path / "half.json")
    assert m.returncode == 0
    assert "covering only part of the load" in m.stdout, m.stdout
    r = subprocess.run([BIN, "report", str(tmp_path / "half.json"), "-o",
                        str(tmp_path / "half.html")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "half.html").read_text()
    assert 'id="merged" data-coverage="partial"' in html
    # a part's own summary says it is one
    p = subprocess.run([BIN, "run", "--url", demo.url_for("/health"), "--rate", "50",
                        "--duration", "1s", "-q", "--execution-segment", "0:1/2",
                        "--execution-segment-sequence", HALVES], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "SEGMENT 0:1/2 of 0,1/2,1" in p.stdout and "stampede merge" in p.stdout


def test_a_merged_run_is_the_same_test_in_the_history(demo_server_module, tmp_path):  # noqa: F811
    demo = demo_server_module
    db = tmp_path / "h.db"
    single = tmp_path / "single.json"
    run(demo, single)
    parts = together(demo, tmp_path, "q")
    assert merge(*parts, "-o", tmp_path / "t.json", "-q").returncode == 0
    ids = []
    for f in (single, tmp_path / "t.json"):
        p = subprocess.run([BIN, "history", "add", str(f), "--db", str(db)],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
    p = subprocess.run([BIN, "history", "list", "--db", str(db), "--json"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    runs = json.loads(p.stdout)
    runs = runs["runs"] if isinstance(runs, dict) else runs
    ids = {r.get("testId") or r.get("test") for r in runs}
    assert len(runs) == 2 and len(ids) == 1, runs


def test_merged_per_second_percentiles_are_exact(demo_server_module, tmp_path):  # noqa: F811
    """A short run keeps a window histogram per second: the merged per-second p99 of
    http_req_duration comes from it, not from the parts' weighted means."""
    import hdrhist
    parts = together(demo_server_module, tmp_path, "x", url_path="/api/products/1")
    assert merge(*parts, "-o", tmp_path / "t.json", "-q").returncode == 0
    m = json.loads((tmp_path / "t.json").read_text())["metrics"]["http_req_duration"]
    win = m["windows"]
    assert win["step"] == m["timeseries"]["step"] == 1
    by_t = dict(zip(win["t"], win["histograms"]))
    cols = m["timeseries"]["columns"]
    checked = 0
    for pt in m["timeseries"]["points"]:
        row = dict(zip(cols, pt))
        if row["t"] not in by_t or row["count"] < 50:
            continue
        h = hdrhist.decode(by_t[row["t"]])
        n, rank, seen = h.total_count, None, 0
        for idx in sorted(h.counts):
            seen += h.counts[idx]
            if seen >= 0.99 * n:
                rank = idx
                break
        lo, hi = h.value_low(rank) / 1000, h.value_high(rank) / 1000
        assert lo - 0.001 <= row["p99"] <= hi + 0.001, (row, lo, hi)
        checked += 1
    assert checked >= 1


def test_a_merged_result_among_other_parts_needs_force(demo_server_module, tmp_path):  # noqa: F811
    parts = together(demo_server_module, tmp_path, "m")
    assert merge(*parts, "-o", tmp_path / "t.json", "-q").returncode == 0
    m = merge(tmp_path / "t.json", parts[0], "-o", tmp_path / "twice.json", "-q")
    assert m.returncode == 104 and "already a merged result (of 2 parts)" in m.stderr, m.stderr


@pytest.mark.parametrize("edit,message", [
    (lambda d: d["errors"].append({"kind": "x", "code": 1, "description": "",
                                   "count": 9223372036854775807}), "errors[0].count"),
    (lambda d: d["state"].__setitem__("startUnixUs", 9223372036854775807),
     "state.startUnixUs"),
    (lambda d: d["metrics"]["http_req_duration"]["windows"].__setitem__("step", 2147483647),
     "windows"),
    (lambda d: d["metrics"]["http_reqs"]["timeseries"].__setitem__("step", 3), "timeseries"),
    # a start of another type reads as 0: said as such, not as parts 56 years apart
    (lambda d: d["state"].__setitem__("startUnixUs", "x"), "state.startUnixUs"),
    (lambda d: d["state"].pop("startUnixUs"), "state.startUnixUs"),
], ids=["error-count", "start", "window-step", "ts-step", "start-string", "start-missing"])
def test_hostile_numbers_in_a_part_are_refused(demo_server_module, tmp_path, edit,  # noqa: F811
                                               message):
    parts = together(demo_server_module, tmp_path, "h")
    d = json.loads(parts[1].read_text())
    edit(d)
    parts[1].write_text(json.dumps(d))
    m = merge(*parts, "-o", tmp_path / "t.json", "-q")
    assert m.returncode == 104, (m.returncode, m.stderr)
    assert message in m.stderr and "h1.json" in m.stderr, m.stderr


def test_merge_writes_the_end_of_run_outputs(demo_server_module, tmp_path):  # noqa: F811
    """A distributed run is gated on its merge: JUnit (checked with xmllint against
    tests/fixtures/junit.xsd), Markdown and the HTML report of the merged run."""
    import shutil
    parts = together(demo_server_module, tmp_path, "o")
    xml, md, html = tmp_path / "m.xml", tmp_path / "m.md", tmp_path / "m.html"
    m = merge(*parts, "-o", tmp_path / "t.json", "-q", "--out", f"junit={xml}",
              "--out", f"markdown={md}", "--out", f"html={html}")
    assert m.returncode == 0, m.stderr
    assert md.read_text().strip() and 'id="merged"' in html.read_text()
    xsd = Path(__file__).resolve().parents[1] / "fixtures" / "junit.xsd"
    assert shutil.which("xmllint"), "xmllint is missing (scripts/install-deps.sh)"
    v = subprocess.run(["xmllint", "--noout", "--schema", str(xsd), str(xml)],
                       capture_output=True, text=True, timeout=30)
    assert v.returncode == 0, v.stderr
    for bad, why in ((f"json={tmp_path / 'x.ndjson'}", "expected html=FILE"),
                     (f"junit={parts[0]}", "would replace the part")):
        m = merge(*parts, "-o", tmp_path / "u.json", "--out", bad)
        assert m.returncode == 104 and why in m.stderr, m.stderr
        assert not (tmp_path / "u.json").exists()


def run_script(script, out, seg, base_url, cwd):
    return subprocess.Popen([BIN, "run", script, "-q", "--no-summary", "-e",
                             f"BASE_URL={base_url}", "--execution-segment", seg,
                             "--execution-segment-sequence", HALVES, "--out",
                             f"result={out}"], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_one_script_given_by_another_path_is_one_test(demo_server_module,  # noqa: F811
                                                      tmp_path):
    """A part knows its script by the path it was given: `sa.lua` on one machine and
    `./sa.lua` (or /srv/sa.lua) on another are one test; another script is not."""
    body = ('local http = require "stampede.http"\n'
            'options = { vus = 2, iterations = 20 }\n'
            'function default() http.get(stampede.env.BASE_URL .. "/health") end\n')
    (tmp_path / "sa.lua").write_text(body)
    (tmp_path / "sb.lua").write_text(body)
    url = demo_server_module.url
    procs = [run_script("sa.lua", "a.json", "0:1/2", url, tmp_path),
             run_script("./sa.lua", "b.json", "1/2:1", url, tmp_path),
             run_script(str(tmp_path / "sb.lua"), "c.json", "1/2:1", url, tmp_path)]
    for p in procs:
        _, se = p.communicate(timeout=60)
        assert p.returncode == 0, se
    m = merge(tmp_path / "a.json", tmp_path / "b.json", "-o", tmp_path / "t.json", "-q")
    assert m.returncode == 0, m.stderr
    assert json.loads((tmp_path / "t.json").read_text())["metrics"]["iterations"][
        "values"]["count"] == 20
    m = merge(tmp_path / "a.json", tmp_path / "c.json", "-o", tmp_path / "u.json", "-q")
    assert m.returncode == 104, m.stderr
    assert "ran different tests (options.script" in m.stderr, m.stderr
    assert not (tmp_path / "u.json").exists()


def drop_reqs(d):
    del d["metrics"]["http_reqs"]


def fewer_reqs(d):
    for s in d["metrics"]["http_reqs"]["series"]:
        s["values"]["count"] = s["values"]["count"] // 2


@pytest.mark.parametrize("edit,message", [
    (drop_reqs, "metrics.http_reqs is missing"),
    (fewer_reqs, "metrics.http_reqs counts"),
], ids=["missing", "fewer"])
def test_a_part_whose_core_metrics_disagree_is_refused(demo_server_module,  # noqa: F811
                                                       tmp_path, edit, message):
    """A hand-edited part would make a merged result whose request count is not the
    number of requests its latencies were measured on."""
    parts = together(demo_server_module, tmp_path, "c")
    d = json.loads(parts[1].read_text())
    assert d["metrics"]["http_req_duration"]["values"]["count"] > 0
    edit(d)
    parts[1].write_text(json.dumps(d))
    m = merge(*parts, "-o", tmp_path / "t.json", "-q")
    assert m.returncode == 104, (m.returncode, m.stderr)
    assert message in m.stderr and "c1.json" in m.stderr and "http_req_duration" in \
        m.stderr, m.stderr
    assert not (tmp_path / "t.json").exists()
    m = merge(parts[1], "-o", tmp_path / "t.json", "-q")   # alone too
    assert m.returncode == 104 and message in m.stderr, m.stderr


def test_a_copy_of_a_run_is_refused(demo_server_module, tmp_path):  # noqa: F811
    """`cp single.json s2.json; stampede merge single.json s2.json` would count every
    request twice: the parts are one run, whatever their file names."""
    single, copy = tmp_path / "single.json", tmp_path / "s2.json"
    run(demo_server_module, single, duration="1s")
    copy.write_bytes(single.read_bytes())
    m = merge(single, copy, "-o", tmp_path / "t.json", "-q")
    assert m.returncode == 104, (m.returncode, m.stderr)
    assert "single.json" in m.stderr and "s2.json" in m.stderr and "same run" in \
        m.stderr, m.stderr
    assert not (tmp_path / "t.json").exists()
    # with --force too: a copy is never another part
    m = merge(single, copy, "-o", tmp_path / "t.json", "-q", "--force")
    assert m.returncode == 104 and "same run" in m.stderr, m.stderr
    # two runs of the same test are not copies of each other
    other = tmp_path / "other.json"
    run(demo_server_module, other, duration="1s")
    m = merge(single, other, "-o", tmp_path / "t.json", "-q")
    assert m.returncode == 0, m.stderr


def test_two_scripts_of_one_name_are_told_apart_by_their_content(demo_server_module,  # noqa: F811
                                                                   tmp_path):
    """d1/s.lua and d2/s.lua have the same name and options but not the same body: the
    result keeps options.scriptSha256, and merge refuses to add them up."""
    body = ('local http = require "stampede.http"\n'
            'options = { vus = 2, iterations = 20 }\n'
            'function default() http.get(stampede.env.BASE_URL .. "%s") end\n')
    for d, path in (("d1", "/health"), ("d2", "/api/products/1")):
        (tmp_path / d).mkdir()
        (tmp_path / d / "s.lua").write_text(body % path)
    url = demo_server_module.url
    procs = [run_script("d1/s.lua", "a.json", "0:1/2", url, tmp_path),
             run_script("d2/s.lua", "b.json", "1/2:1", url, tmp_path)]
    for p in procs:
        _, se = p.communicate(timeout=60)
        assert p.returncode == 0, se
    sha = json.loads((tmp_path / "a.json").read_text())["options"]["scriptSha256"]
    assert len(sha) == 64 and int(sha, 16) >= 0, sha
    m = merge(tmp_path / "a.json", tmp_path / "b.json", "-o", tmp_path / "t.json", "-q")
    assert m.returncode == 104, m.stderr
    assert "options.scriptSha256" in m.stderr, m.stderr
    assert not (tmp_path / "t.json").exists()


def test_a_part_without_vus_is_named_as_the_cause_of_its_drops(demo_server_module,  # noqa: F811
                                                                 tmp_path):
    """One VU split in halves: the second half gets none, so its share of the arrivals is
    dropped; merge says that part is why, not only that the target did not keep up."""
    demo = demo_server_module
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    # 4/s on the half with the VU: 250 ms between arrivals, so a busy machine's stall does
    # not find the one VU still busy (a drop there too)
    run(demo, a, "--vus", "1", "--max-vus", "1", rate="8", seg="0:1/2")
    run(demo, b, "--vus", "1", "--max-vus", "1", rate="8", seg="1/2:1")
    m = merge(a, b, "-o", tmp_path / "t.json")
    assert "b.json had no VU" in m.stderr and "a.json had no VU" not in m.stderr, m.stderr
    parts = json.loads((tmp_path / "t.json").read_text())["merge"]["parts"]
    assert parts[0]["droppedIterations"] == 0 and parts[1]["droppedIterations"] > 0, parts


@pytest.fixture(scope="module")
def pair(demo_server_module, tmp_path_factory):  # noqa: F811
    """Two halves of one test, run together once for the tests that edit copies."""
    d = tmp_path_factory.mktemp("pair")
    return [p.read_bytes() for p in together(demo_server_module, d, "g", duration="1s")]


def copies(pair, tmp_path, names=("g0.json", "g1.json")):
    out = []
    for data, name in zip(pair, names):
        (tmp_path / name).write_bytes(data)
        out.append(tmp_path / name)
    return out


@pytest.mark.parametrize("outs", [
    ("-o", "t.json", "--out", "html=t.json"),
    ("-o", "t.json", "--out", "junit=./t.json"),
    ("-o", "t.json", "--out", "markdown=sub/../t.json"),
    ("-o", "t.json", "--out", "html=a.html", "--out", "markdown=./a.html"),
    ("-o", "-", "--out", "html=-"),
], ids=["o-html", "o-junit-dot", "o-markdown-dotdot", "html-markdown", "both-stdout"])
def test_two_outputs_naming_one_file_are_refused(pair, tmp_path, outs):
    """`--out html=t.json` beside `-o t.json` used to write the merged result, then the
    HTML over it, and exit 0: two outputs of one file are refused as `run` refuses them."""
    parts = copies(pair, tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "t.json").write_text("before\n")
    p = subprocess.run([BIN, "merge", *map(str, parts), *outs], cwd=tmp_path,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert p.returncode == 104, (p.returncode, p.stderr)
    assert "write the same file: give each its own" in p.stderr, p.stderr
    assert (tmp_path / "t.json").read_text() == "before\n"
    assert not (tmp_path / "a.html").exists() and p.stdout == ""


def test_a_merged_sum_past_a_double_is_refused(pair, tmp_path):
    """1.7e308 + 1.7e308 bytes overflow a double: the merged file would say null, which
    `report` refuses; merge refuses instead, naming the metric, and writes nothing."""
    parts = copies(pair, tmp_path)
    for p in parts:
        d = json.loads(p.read_text())
        d["metrics"]["data_sent"]["series"][0]["values"]["count"] = 1.7e308
        p.write_text(json.dumps(d))
    m = merge(*parts, "-o", tmp_path / "t.json", "-q")
    assert m.returncode == 104, (m.returncode, m.stderr)
    assert "metrics.data_sent.series[0].values.count" in m.stderr, m.stderr
    assert not (tmp_path / "t.json").exists()


def dup_series(d):
    s = d["metrics"]["http_reqs"]["series"]
    s.append(json.loads(json.dumps(s[0])))


def set_reqs(value):
    def edit(d):
        d["metrics"]["http_reqs"]["series"][0]["values"]["count"] = value
    return edit


def no_metrics(d):
    d["metrics"] = {}


@pytest.mark.parametrize("edit,message", [
    (dup_series, "has the tags of metrics.http_reqs.series[0]"),
    (set_reqs(10.5), "metrics.http_reqs.series[0].values.count: 10.5 is out of range"),
    (set_reqs(-5), "metrics.http_reqs.series[0].values.count: -5 is out of range"),
    (set_reqs(1e300), "metrics.http_reqs.series[0].values.count: 1.0000000000000001e+300 "
                      "is out of range"),
    (no_metrics, "holds no metric at all"),
], ids=["duplicate-series", "fraction", "negative", "huge", "no-metrics"])
def test_hand_edited_counts_are_refused(pair, tmp_path, edit, message):
    """Each of these merged into wrong numbers with exit 0 (or, for -5 and 1e300, was
    said to be a missing http_reqs)."""
    parts = copies(pair, tmp_path)
    d = json.loads(parts[1].read_text())
    edit(d)
    parts[1].write_text(json.dumps(d))
    m = merge(*parts, "-o", tmp_path / "t.json", "-q")
    assert m.returncode == 104, (m.returncode, m.stderr)
    assert message in m.stderr and "g1.json" in m.stderr, m.stderr
    assert "is missing" not in m.stderr, m.stderr
    assert not (tmp_path / "t.json").exists()


def test_the_parts_that_tests_write_still_merge_and_load(pair, tmp_path):
    parts = copies(pair, tmp_path)
    m = merge(*parts, "-o", tmp_path / "t.json", "-q")
    assert m.returncode == 0, m.stderr
    r = subprocess.run([BIN, "report", str(tmp_path / "t.json"), "-o",
                        str(tmp_path / "t.html")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_a_part_given_as_stdin_is_said_to_be_one(pair, tmp_path):
    parts = copies(pair, tmp_path)
    m = merge(parts[0], "-", "-o", tmp_path / "t.json")
    assert m.returncode == 104, m.stderr
    assert "merge reads result files, not standard input" in m.stderr, m.stderr
    assert "No such file" not in m.stderr
    assert not (tmp_path / "t.json").exists()
