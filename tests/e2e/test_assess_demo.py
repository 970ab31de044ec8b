"""`stampede assess` on the demo with three of its weaknesses switched on, each its own
`stampede quickstart --weakness W`, run side by side (their capacities are set by sleeps,
not by the CPU; the CPU weakness runs alone: test_assess_cpu.py):

- pool (the default, what `make demo` runs): 4 workers whose queries take 10 ms, about 400
  responses/s. The assessment names the pool, its breaking point is within 20% of 400/s,
  every phase keeps its result, and the HTML report passes the run report's
  headless-Chromium checks (no request leaves the page, no error logged, every section
  drawn); a screenshot of each section is written to build/assess-SECTION.png.
- n+1: /api/users/1/orders makes a 1 ms query per order (28 orders, 4 workers: about 133
  responses/s): the N+1 pattern is named from the scraped query counter, and the breaking
  point is within 20% of that capacity.
- leak: 64 KiB leaked per request at 30/s: the memory leak of the watched target is named,
  and there is no breaking point below the cap (its capacity is far above it)."""

import base64
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse

import pytest

from assess_common import (BUILD_DIR, PHASES, assert_not_trusted, check_common, load_not_trusted,
                           quickstart_many)
from browser import Chromium, TrapProxy, page_hits
from conftest import BIN

SECTIONS = ["summary", "findings", "breaking-point", "spike", "soak", "bottleneck", "capacity",
            "autoscaling"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return quickstart_many([None, "n+1", "leak"], tmp_path_factory)


@pytest.fixture(scope="module")
def assessed(runs):
    return runs[None]


@pytest.fixture(scope="module")
def assessed_n1(runs):
    return runs["n+1"]


@pytest.fixture(scope="module")
def assessed_leak(runs):
    return runs["leak"]


def test_make_demo_names_the_pool(assessed):
    p, a = assessed
    assert p.returncode in (0, 99), (p.returncode, p.stderr[-2000:])
    check_common(p, a, known_capacity=400)
    assert a.doc["bottleneck"]["verdict"] == "pool", a.doc["bottleneck"]
    bp = a.findings("breaking point")[0]
    assert "pool" in bp["text"] and "query latency" in bp["text"], bp
    # quickstart says which weakness was on, and where the report is
    assert "the weakness switched on was a pool of 4 workers" in p.stdout
    assert "assessment/assessment.html" in p.stdout


def test_the_breakpoint_phase_stops_at_the_slo(assessed):
    """The breakpoint phase is `run --type breakpoint`: the SLO that stopped it failed on
    its window's value (the whole run's p95, mostly light load, would pass), and its steps
    table rises to the break."""
    p, a = assessed
    res = json.loads((a.dir / "breakpoint.json").read_text())
    v = res["analyses"]["testType"]
    bp = v["breakingPoint"]
    assert bp["found"] and bp["how"] == "latency" and bp["failedSlo"] == "p95<200ms", bp
    assert bp["lastGood"] < bp["firstBad"], bp
    offered = [s["offered"] for s in v["steps"]]
    assert offered == sorted(offered) and len(offered) >= 5, offered
    assert any("breaking point" in f for f in v["findings"]), v["findings"]
    thr = [t for t in res["thresholds"] if t["metric"] == "http_req_duration"][0]
    assert thr["abortedRun"] is True and thr["ok"] is False and thr["windowS"] == 10, thr
    assert thr["value"] >= 200, thr
    assert a.phase("breakpoint")["exitCode"] == 108


def test_every_phase_in_order(assessed):
    p, a = assessed
    assert [ph["name"] for ph in a.doc["phases"]] == PHASES
    assert a.phase("smoke")["status"] == "pass"
    # (a run with 8 parallel test modules saw the load fail at p95 1 s while other
    # processes held the CPU for 15 s of it: then the assessment must say so)
    assert a.phase("load")["status"] == "pass" or load_not_trusted(a.doc), a.doc["findings"]
    assert a.phase("breakpoint")["status"] == "done"
    # the spike goes to the breaking point (below 10 x 100/s)
    spike = a.phase("spike")
    assert spike["peak"] == pytest.approx(a.doc["breakingPoint"]["lastGood"]), spike
    # progress per phase, with the phase's name and the time left
    assert re.search(r"load 2/5 .*left in all", p.stderr) or "load 2/5 done" in p.stderr, \
        p.stderr[-2000:]


def test_capacity_plan_and_manifests(assessed):
    p, a = assessed
    cap = a.doc["capacity"]
    assert "sigma" in cap["fit"], cap["fit"]
    plan = cap["plan"]
    if not plan and load_not_trusted(a.doc):
        # the load failed on a machine held by other processes, and the assessment says so:
        # it refuses to plan growth on a load that did not hold
        assert "did not hold at the expected load" in cap["planError"], cap
        return
    assert plan and plan["format"] == "stampede-capacity-plan/1", cap.get("planError")
    mult = [s["multiple"] for s in plan["scenarios"]]
    assert mult == [2, 5, 10], mult
    # one instance carries what was measured (about 400/s): 10 x 100/s needs about 4
    ten = plan["scenarios"][-1]
    assert 3 <= ten["instances"] <= 5, ten
    assert "HorizontalPodAutoscaler" in a.md and "ScaledObject" in a.md


def test_markdown_has_every_part(assessed):
    p, a = assessed
    for heading in ("Findings", "Breaking point", "Spike", "Soak", "Bottleneck", "Capacity"):
        assert re.search(rf"^#+ .*{heading}", a.md, re.M | re.I), heading
    assert "N+1" not in a.md  # no weakness named that is not there


def test_report_renders_the_assessment_again(assessed, tmp_path):
    # `stampede report assessment.json` writes the same report from the file and the phases'
    # results beside it; .md gets the markdown; a missing phase result leaves its charts out
    p, a = assessed
    copy = tmp_path / "copy"
    shutil.copytree(a.dir, copy)
    for name, want in (("again.html", a.html.read_bytes()),
                       ("again.md", (a.dir / "assessment.md").read_bytes())):
        r = subprocess.run([BIN, "report", str(copy / "assessment.json"), "-o",
                            str(copy / name)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert (copy / name).read_bytes() == want, name
    # written elsewhere, its links to the phases' reports lead back to them
    (tmp_path / "elsewhere" / "deeper").mkdir(parents=True)
    for name, link in (("again.html", r'href="([^"#][^"]*)"'), ("again.md", r"\]\(([^)#]+)\)")):
        out = tmp_path / "elsewhere" / "deeper" / name
        r = subprocess.run([BIN, "report", str(copy / "assessment.json"), "-o", str(out)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        hrefs = [h for h in re.findall(link, out.read_text()) if not h.startswith("data:")]
        assert any(h.endswith("load.html") for h in hrefs), hrefs
        for h in hrefs:
            assert (out.parent / urllib.parse.unquote(h)).is_file(), (name, h)
    (copy / "breakpoint.json").unlink()
    r = subprocess.run([BIN, "report", str(copy / "assessment.json"), "-o",
                        str(tmp_path / "partial.html")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "breakpoint.json" in r.stderr and "left out" in r.stderr, r.stderr
    html = (tmp_path / "partial.html").read_text()
    assert 'id="findings"' in html or "id=findings" in html
    # two phases' result files swapped by hand: neither is charted under the other's name
    load, soak = (copy / "load.json").read_bytes(), (copy / "soak.json").read_bytes()
    (copy / "load.json").write_bytes(soak)
    (copy / "soak.json").write_bytes(load)
    r = subprocess.run([BIN, "report", str(copy / "assessment.json"), "-o",
                        str(tmp_path / "swapped.html")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "is the result of a soak test, not of the load phase" in r.stderr, r.stderr
    assert "is the result of a load test, not of the soak phase" in r.stderr, r.stderr
    # a phase result that is not a regular file (a FIFO would block the read) is left out
    (copy / "spike.json").unlink()
    os.mkfifo(copy / "spike.json")
    r = subprocess.run([BIN, "report", str(copy / "assessment.json"), "-o",
                        str(tmp_path / "fifo.html")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "spike.json is not a regular file" in r.stderr, r.stderr
    # a phase that is not an object is said, not silently a row of dashes
    doc = json.loads((copy / "assessment.json").read_text())
    doc["phases"][1] = 5
    (copy / "assessment.json").write_text(json.dumps(doc))
    r = subprocess.run([BIN, "report", str(copy / "assessment.json"), "-o",
                        str(tmp_path / "odd.html")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "phase 2 is not an object" in r.stderr, r.stderr


@pytest.fixture(scope="module")
def page(assessed, tmp_path_factory):
    p, a = assessed
    proxy = TrapProxy()
    b = Chromium(tmp_path_factory.mktemp("chromium"), proxy.port)
    try:
        time.sleep(0.2)
        before = len(proxy.hits)
        pg = b.load(a.html.as_uri())
        time.sleep(0.3)
        pg.screenshot(BUILD_DIR / "assess.png")
        shots = {}
        for sid in SECTIONS:
            box = pg.eval(f"(() => {{ const e = document.getElementById('{sid}'); if (!e) "
                          "return null; const r = e.getBoundingClientRect(); return "
                          "[r.x, r.y + window.scrollY, r.width, r.height]; })()")
            if box and box[2] > 0 and box[3] > 0:
                png = b.call("Page.captureScreenshot",
                             {"format": "png", "captureBeyondViewport": True,
                              "clip": {"x": box[0], "y": box[1], "width": box[2],
                                       "height": min(box[3], 8000), "scale": 1}},
                             session=pg.session)["data"]
                path = BUILD_DIR / f"assess-{sid}.png"
                path.write_bytes(base64.b64decode(png))
                shots[sid] = path
        yield pg, page_hits(proxy.hits[before:]), shots
    finally:
        b.close()
        proxy.close()


def test_report_in_chromium(page, assessed):
    pg, hits, shots = page
    p, a = assessed
    assert pg.requests() == [], f"the page made requests: {pg.requests()}"
    assert hits == [], f"requests reached the trap proxy: {hits}"
    assert pg.errors() == [], f"the page logged errors: {pg.errors()}"
    for sid in SECTIONS:
        assert pg.eval(f"!!document.getElementById('{sid}')"), f"no section #{sid}"
    # the findings in the page, in the document's order
    texts = pg.eval("[...document.querySelectorAll('#findings li')].map(li => li.textContent)")
    assert len(texts) == len(a.doc["findings"]), texts
    for t, f in zip(texts, a.doc["findings"]):
        assert f["text"][:60] in t, (t, f)
    # the charts are drawn
    n = pg.eval("document.querySelectorAll('#breaking-point svg polyline').length")
    assert n >= 2, f"breaking-point chart has {n} lines"
    # the verdict per test type links each phase's own report
    links = pg.eval("[...document.querySelectorAll('#summary a')].map(a => "
                    "a.getAttribute('href'))")
    for ph in a.doc["phases"]:
        if ph["report"]:
            assert ph["report"] in links, (ph["report"], links)


def test_section_screenshots_written(page):
    pg, hits, shots = page
    assert set(shots) == set(SECTIONS), shots
    for sid, path in shots.items():
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 3000, (sid, len(data))


# ---- n+1

def test_names_the_n_plus_one(assessed_n1):
    p, a = assessed_n1
    check_common(p, a, known_capacity=133)
    q = a.findings("queries")
    assert q and q[0]["impact"] == "high" and q[0]["text"].startswith("N+1 queries"), q
    per = {e["metric"]: e["value"] for e in a.doc["perRequest"]}
    # 2 queries + one per order (28): what the demo's counter says, per request
    assert 25 <= per["target_demo_db_queries_total"] <= 31, per
    assert "N+1" in p.stdout


# ---- leak

def test_names_the_leak(assessed_leak):
    p, a = assessed_leak
    check_common(p, a)
    leaks = a.findings("leak")
    assert leaks and leaks[0]["impact"] == "high", a.text()
    assert "A memory leak (target_rss_bytes" in leaks[0]["text"], leaks
    assert a.doc["leaks"]["verdicts"]["target_rss_bytes"]["leaking"] is True
    # 64 KiB a request: the leak's own estimate per request is near it
    per = a.doc["leaks"]["verdicts"]["target_rss_bytes"]["perRequest"]
    assert 32 * 1024 <= per <= 128 * 1024, per


def test_no_breaking_point_below_the_cap(assessed_leak):
    p, a = assessed_leak
    bp = a.doc["breakingPoint"]
    if bp["found"] and bp.get("disturbed"):
        # CI's case: a 1.5-s stall while other tests held the machine's CPU (96%) made
        # p95 1.6 s at 68/s; the assessment must say that is not the target's capacity
        assert_not_trusted(a.doc)
        return
    assert bp["found"] is False, bp
    assert any("No breaking point up to the safety cap" in f["text"]
               for f in a.findings("breaking point"))
