"""Issue #12's diagnosis as the summary and the HTML report show it (output/summary.c,
output/html.c): the BOTTLENECK section and the USE table, the target's scraped counters per
request (--scrape), and the CPU profile (analyses.profile: top functions, the flame graph
embedded as an image, or why there is none).

One `serve-demo --workers 4 --query-latency 0 --n-plus-one` per module, on loopback, started
and stopped here; its query latency is raised to 10 ms over /admin/config for the overloaded
pool run (5 s at 600/s: 4 workers x 10 ms serve about 400/s). The other runs are 2 s at 50/s.
The profile cases are result files of the pool run with an analyses.profile added, rendered
by `stampede report`. Assertions are on what is shown and on counts (queries per request),
never on timings.
"""

import base64
import copy
import json
import re
import shutil
import subprocess

import pytest

from demo_fixtures import DemoServer, user_with_most_orders

QUERIES = "target_demo_db_queries_total"
XMLLINT = shutil.which("xmllint") or "/usr/bin/xmllint"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    s = DemoServer(["--workers", "4", "--query-latency", "0", "--n-plus-one"],
                   tmp_path_factory.mktemp("demo"))
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def user(demo):
    """(id, N): the user with the most orders among the first ten, N from the demo."""
    return user_with_most_orders(demo, 1, 10)


@pytest.fixture(scope="module")
def pool_run(stampede, demo, tmp_path_factory):
    """The overloaded pool: (Result, result document, report HTML, its directory)."""
    d = tmp_path_factory.mktemp("pool")
    demo.admin(query_latency="10ms")
    try:
        r = stampede.load(f"{demo.url}/api/products/1", "--rate", "600", "--duration", "5s",
                          "--grace", "1s", "--monitor-pid", str(demo.pid), "--out",
                          f"html={d / 'run.html'}", timeout=60, export=d / "result.json")
    finally:
        demo.admin(query_latency="0")
    with open(r.export) as f:
        doc = json.load(f)
    return r, doc, (d / "run.html").read_text(), d


def html_errors(path):
    """xmllint's HTML parser errors in path, but for the HTML5 tags its HTML 4 parser does
    not know (section, svg, ...): unbalanced or bad markup remains."""
    p = subprocess.run([XMLLINT, "--html", "--noout", str(path)], capture_output=True,
                       text=True, timeout=30)
    return [line for line in p.stderr.splitlines()
            if "parser error" in line and not re.search(r"Tag \w+ invalid", line)]


def section(html, sid):
    m = re.search(rf'<section id="{sid}">.*?</section>', html, re.S)
    assert m, f"no section {sid}"
    return m.group(0)


def self_contained(html):
    assert not re.search(r"<script\b", html, re.I), "a <script> in the report"
    for m in re.finditer(r"""\b(?:href|src)\s*=\s*["']([^"']*)""", html):
        assert m.group(1).startswith(("#", "data:")), m.group(1)


def report(stampede, doc, d, name):
    """`stampede report` of doc (written to d/name.json) into d/name.html: its text."""
    src, out = d / f"{name}.json", d / f"{name}.html"
    src.write_text(json.dumps(doc))
    stampede("report", src, "-o", out, expect=0)
    return out.read_text()


def test_pool_overload_summary_and_use_table(pool_run):
    r, doc, html, d = pool_run
    b = doc["analyses"]["bottleneck"]
    assert b["verdict"] in ("pool", "generator"), b  # a starved machine: generator first
    if b["verdict"] == "pool":
        assert "worker pool" in b["summary"]
    head = re.search(r"^  BOTTLENECK (\w+)(.*)$", r.stdout, re.M)
    assert head and head.group(1) == b["verdict"], r.stdout
    assert b["summary"] in r.stdout
    if b["verdict"] == "pool":
        assert "(a worker pool or queue, from" in head.group(2), head.group(0)
    for e in b["evidence"]:
        assert e in r.stdout, e
    # the section sits after the monitoring lines, before the metrics
    assert r.stdout.index("TARGET") < head.start() < r.stdout.index("METRICS")

    s = section(html, "bottleneck")
    assert f'id="bottleneck-verdict">{b["verdict"]}<' in s
    assert '<table class="use">' in s
    rows = re.findall(r"<tr class=\"(pass|fail)\"><td><b>([^<]*)</b>", s)
    assert [name for _, name in rows] == [x["resource"] for x in b["resources"]]
    assert [c == "fail" for c, _ in rows] == [x["saturated"] for x in b["resources"]]
    assert "Little&apos;s law" in s or b["verdict"] != "pool"
    assert 'href="#bottleneck"' in html
    self_contained(html)
    assert html_errors(d / "run.html") == []


def test_light_load_says_none_in_one_line(stampede, demo):
    r = stampede.load(f"{demo.url}/api/products/1", "--rate", "20", "--duration", "2s",
                      "--monitor-pid", str(demo.pid), timeout=30)
    with open(r.export) as f:
        b = json.load(f)["analyses"]["bottleneck"]
    assert b["verdict"] == "none", b
    lines = r.stdout.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("  BOTTLENECK"))
    assert lines[i] == f"  BOTTLENECK none: {b['summary']}"
    assert lines[i + 1] == ""  # one line


def test_scrape_shows_queries_per_request(stampede, demo, user, tmp_path):
    uid, n = user
    r = stampede.load(f"{demo.url}/api/users/{uid}/orders", "--rate", "50", "--duration",
                      "2s", "--scrape", f"{demo.url}/metrics", "--out",
                      f"html={tmp_path / 'run.html'}", timeout=60)
    m = re.search(rf"^  SCRAPED {re.escape(demo.url)}/metrics \((\d+) scrapes\)$", r.stdout,
                  re.M)
    assert m and int(m.group(1)) >= 2, r.stdout
    m = re.search(rf"^    {QUERIES} +([0-9.]+) per request$", r.stdout, re.M)
    assert m, r.stdout
    assert n + 1 <= float(m.group(1)) <= n + 3, (m.group(0), n)  # 2 + N queries
    assert "failed" not in r.stdout.split("SCRAPED", 1)[1].split("\n", 1)[0]

    html = (tmp_path / "run.html").read_text()
    s = section(html, "target")
    row = re.search(rf'<td class="name">{QUERIES}</td><td>[0-9.]+</td><td>([0-9.]+)</td>', s)
    assert row and n + 1 <= float(row.group(1)) <= n + 3, s[-2000:]
    assert 'id="chart-per-request"' in s
    self_contained(html)
    assert html_errors(tmp_path / "run.html") == []


SVG = ('<?xml version="1.0" standalone="no"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
       'version="1.1" width="200" height="40"><script type="text/ecmascript"><![CDATA['
       'var x = 1;]]></script><g class="f"><title>main (3 samples, 100%)</title>'
       '<rect x="0" y="0" width="200" height="16" fill="rgb(230,100,50)"/>'
       '<text x="2" y="12">main</text></g></svg>\n')

TOP = [{"name": "demo_query_sleep", "self": 0.5, "total": 0.75},
       {"name": "std::vector<int>::push_back & co", "self": 0.125, "total": 0.25},
       {"name": "main", "self": 0.0, "total": 1.0}]


def test_profile_top_functions_and_flame_graph_in_the_report(stampede, pool_run, tmp_path):
    _, doc, _, _ = pool_run
    svg = tmp_path / "flame.svg"
    svg.write_text(SVG)
    d = copy.deepcopy(doc)
    d["analyses"]["profile"] = {"svg": str(svg), "pid": 4242, "comm": "stampede",
                                "samples": 1234, "stacks": 56, "hz": 99, "fromS": 1.0,
                                "toS": 4.0, "endedBy": "run", "topFunctions": TOP}
    html = report(stampede, d, tmp_path, "with-profile")
    s = section(html, "profile")
    assert "1234 at 99 Hz, from 1 s to 4 s" in s
    assert f'<code id="profile-svg">{svg}</code>' in s
    rows = re.findall(r'<tr><td class="name">([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>', s)
    assert rows == [("demo_query_sleep", "50.00%", "75.00%"),
                    ("std::vector&lt;int&gt;::push_back &amp; co", "12.50%", "25.00%"),
                    ("main", "0.00%", "100.00%")]
    m = re.search(r'<img id="flamegraph" alt="flame graph" src="data:image/svg\+xml;base64,'
                  r'([A-Za-z0-9+/=]+)">', s)
    assert m, s[:2000]
    assert base64.b64decode(m.group(1)).decode() == SVG  # the file, as an image
    self_contained(html)  # its script is inside the image, never in the page
    assert html_errors(tmp_path / "with-profile.html") == []

    # not a flame graph, or gone: the table and the path, no image
    other = tmp_path / "notes.txt"
    other.write_text("<b>not an svg</b>")
    for path in (str(other), str(tmp_path / "missing.svg")):
        d["analyses"]["profile"]["svg"] = path
        s = section(report(stampede, d, tmp_path, "no-image"), "profile")
        assert "<img" not in s and "not an svg" not in s
        assert "could not be read here" in s and "demo_query_sleep" in s


def test_profile_error_is_shown(stampede, pool_run, tmp_path):
    _, doc, _, _ = pool_run
    d = copy.deepcopy(doc)
    d["analyses"]["profile"] = {"error": "perf is not allowed here <perf_event_paranoid=3>: "
                                         "run as root", "pid": 4242, "hz": 99}
    html = report(stampede, d, tmp_path, "profile-error")
    s = section(html, "profile")
    assert ('<p class="warn" id="profile-error">No profile: perf is not allowed here '
            '&lt;perf_event_paranoid=3&gt;: run as root</p>') in s
    assert "top-functions" not in s and "<img" not in s
    assert html_errors(tmp_path / "profile-error.html") == []


def test_profile_in_the_summary_of_a_profiled_run(stampede, demo):
    """A real --profile run: the PROFILE section shows the flame graph's path and the top
    functions, or the reason there is none (perf missing or not allowed); the report too."""
    demo.admin(cpu_us="2000")  # 2 ms of CPU per request: something to sample
    try:
        r = stampede.load(f"{demo.url}/api/products/1", "--rate", "100", "--duration", "3s",
                          "--monitor-pid", str(demo.pid), "--profile", timeout=60,
                          expect=None)
    finally:
        demo.admin(cpu_us="0")
    with open(r.export) as f:
        p = json.load(f)["analyses"].get("profile")
    if p is None:
        pytest.skip("run --profile does not fill analyses.profile in this build")
    if "error" in p:
        assert f"  PROFILE not taken: {p['error']}" in r.stdout, r.stdout
        return
    assert re.search(r"^  PROFILE .* \(pid \d+\): \d+ samples at \d+ Hz from [0-9.]+ s to "
                     r"[0-9.]+ s$", r.stdout, re.M), r.stdout
    assert f"    flame graph: {p['svg']}" in r.stdout
    for t in p["topFunctions"][:5]:
        assert re.search(rf"^    +[0-9.]+% +[0-9.]+%  {re.escape(t['name'])}$", r.stdout,
                         re.M), t
