"""The self-contained HTML report (docs/outputs.md, "HTML report"): `--out html=FILE` and
`stampede report RESULT.json -o FILE`, checked by its real consumer, headless Chromium.

One short scripted run against a loopback server (three endpoints by `name`, a group with a
check, thresholds that pass and fail) writes the report, the result file and the summary
export; `stampede report` rebuilds the report from the result file. One Chromium for the
module, driven over its DevTools pipe (--remote-debugging-pipe: NUL-separated JSON on fds
3/4, no websocket needed), loads each report from file:// with the network off (every
request goes to a loopback proxy of ours that answers nothing, and no host name resolves):
no request may leave the page, no console message of level error may appear, and the DOM
must show the run's numbers. A control page that does make a request and logs an error
proves both detectors work. The screenshot goes to BUILD/report.png for review.
"""

import asyncio
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

import servers
from browser import Chromium, TrapProxy, page_hits
from conftest import (BIN, EXIT_CONFIG, EXIT_THRESHOLDS, Result, check_rc, require_binary,
                      strict_json)

BUILD_DIR = Path(BIN).resolve().parent
NAMES = ("home", "broken", "slow")

SCRIPT = r"""
local http = require "stampede.http"
local BASE = stampede.env.BASE

options = {
  vus = 4, duration = "2s",
  thresholds = {
    http_req_duration = { "p(95)<1000" },
    ["http_req_duration{name:home}"] = { "med<80" },
    ["http_req_duration{name:slow}"] = { "p(99)<5" },
    http_req_failed = { "rate<0.01" },
    checks = { "rate>0.99" },
  },
}

function default()
  http.get(BASE .. "/ok", { tags = { name = "home" } })
  http.get(BASE .. "/fail", { tags = { name = "broken" } })
  stampede.group("api <v1>", function()
    local res = http.get(BASE .. "/slow", { tags = { name = "slow" } })
    stampede.check(res, { ["status is 200 & fast"] = function(r) return r.status == 200 end })
  end)
  stampede.sleep(0.05)
end
"""

# threshold source -> expected outcome (passed?)
EXPECTED_THRESHOLDS = {
    ("http_req_duration", "p(95)<1000"): True,         # far above: named atop the chart
    ("http_req_duration{name:home}", "med<80"): True,  # drawn: /ok answers at once
    ("http_req_duration{name:slow}", "p(99)<5"): False,  # drawn: /slow takes 20 ms
    ("http_req_failed", "rate<0.01"): False,   # a third of the requests fail
    ("checks", "rate>0.99"): True,             # the check is on /slow only, which works
}

FAIL_RESPONSE = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                 b"Content-Length: 5\r\n\r\nbusy\n")


class RoutingServer(servers.BackgroundServer):
    """/fail answers 503, /slow 200 after 20 ms, anything else 200 at once."""

    async def handle(self, reader, writer):
        while True:
            head = await servers.read_request(reader)
            if head is None:
                return
            self._count_request()
            path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
            if path.startswith(b"/fail"):
                writer.write(FAIL_RESPONSE)
            else:
                if path.startswith(b"/slow"):
                    await asyncio.sleep(0.02)
                writer.write(servers.OK_RESPONSE)
            await writer.drain()


# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------
def run(args, timeout=30, expect=None):
    require_binary()
    start = time.monotonic()
    try:
        p = subprocess.run([BIN, *map(str, args)], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout, text=True)
    except subprocess.TimeoutExpired:
        pytest.fail(f"stampede {' '.join(map(str, args))} did not exit within {timeout}s",
                    pytrace=False)
    r = Result([BIN, *args], p.returncode, p.stdout, p.stderr, time.monotonic() - start)
    check_rc(r, expect)
    return r


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """One scripted run writing --out html=, --out result= and --summary-export, then
    `stampede report` on the result file."""
    d = tmp_path_factory.mktemp("html")
    script = d / "test.lua"
    script.write_text(SCRIPT)
    with RoutingServer() as srv:
        r = run(["run", str(script), "-q", "-e", f"BASE=http://127.0.0.1:{srv.port}",
                 "--out", f"html={d / 'run.html'}", "--out", f"result={d / 'result.json'}",
                 "--summary-export", d / "summary.json"], expect=EXIT_THRESHOLDS)
        served = srv.requests
    for f in ("run.html", "result.json", "summary.json"):
        assert (d / f).exists(), f"{f} was not written\n{r}"
    rep = run(["report", d / "result.json", "-o", d / "report.html"], expect=0)
    assert (d / "report.html").exists(), f"report.html was not written\n{rep}"
    return {"dir": d, "run": r, "served": served,
            "summary": strict_json((d / "summary.json").read_text()),
            "result": strict_json((d / "result.json").read_text())}


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    proxy = TrapProxy()
    b = Chromium(tmp_path_factory.mktemp("chromium"), proxy.port)
    b.proxy = proxy
    yield b
    b.close()
    proxy.close()


# --------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------
EXTERNAL = [
    (re.compile(r"""\b(?:src|href|xlink:href|action|poster|srcset|data)\s*=\s*["']?\s*"""
                r"""(?:https?:|//|ftp:|ws:|wss:|file:)""", re.I), "an external src/href"),
    (re.compile(r"<script\b", re.I), "a <script> element"),
    (re.compile(r"@import", re.I), "a CSS @import"),
    (re.compile(r"url\s*\(", re.I), "a CSS url()"),
    (re.compile(r"<(?:iframe|object|embed|link\s+rel=[\"']?stylesheet)\b", re.I),
     "an embedded document or stylesheet link"),
]


@pytest.mark.parametrize("name", ["run.html", "report.html"])
def test_report_is_self_contained(reports, name):
    html = (reports["dir"] / name).read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert html.rstrip().endswith("</html>")
    for pattern, what in EXTERNAL:
        m = pattern.search(html)
        assert not m, f"{name} has {what}: {html[max(0, m.start() - 80):m.end() + 80]!r}"
    for m in re.finditer(r"""\bhref\s*=\s*["']([^"']*)""", html):
        assert m.group(1).startswith(("#", "data:")), f"{name}: href {m.group(1)!r}"
    assert "default-src 'none'" in html, "no Content-Security-Policy forbidding loads"


def section(html, sid):
    m = re.search(rf'<section id="{sid}">.*?</section>', html, re.S)
    assert m, f"no section {sid}"
    return m.group(0)


def test_report_command_matches_the_run(reports):
    """`stampede report` on the result file writes exactly what --out html wrote: the file
    keeps every series' exact min, max and sum (histogramExact) next to its histogram, so
    the loaded result's statistics are the run's."""
    a = (reports["dir"] / "run.html").read_text()
    b = (reports["dir"] / "report.html").read_text()
    if a != b:
        la, lb = a.splitlines(), b.splitlines()
        diff = [(i, x, y) for i, (x, y) in enumerate(zip(la, lb)) if x != y][:5]
        pytest.fail(f"the reports differ ({len(la)} and {len(lb)} lines): {diff}")


def test_detectors_catch_a_request_and_a_console_error(browser, tmp_path):
    """Control: a page that loads an image from outside and logs an error is caught by
    both the request log and the trap proxy, so the checks below can fail."""
    page = tmp_path / "control.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://example.invalid/x.png">'
                    '<script>console.error("control error")</script></body></html>')
    p = browser.load(page.as_uri())
    assert any("example.invalid" in u for u in p.requests()), p.requests()
    assert any("control error" in e for e in p.errors()), p.errors()
    deadline = time.monotonic() + 5
    while not page_hits(browser.proxy.hits) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any("example.invalid" in h for h in page_hits(browser.proxy.hits)), \
        f"the trap proxy saw no request from the control page: {browser.proxy.hits}"
    p.close()


@pytest.fixture(scope="module")
def loaded(reports, browser):
    """Both reports loaded in Chromium (the proxy's hits from these loads only)."""
    time.sleep(0.2)
    before = list(browser.proxy.hits)
    pages = {name: browser.load((reports["dir"] / name).as_uri())
             for name in ("run.html", "report.html")}
    time.sleep(0.3)
    pages["run.html"].screenshot(BUILD_DIR / "report.png")
    hits = page_hits(browser.proxy.hits[len(before):])
    return pages, hits


@pytest.mark.parametrize("name", ["run.html", "report.html"])
def test_no_request_leaves_the_page_and_no_console_error(loaded, name):
    pages, hits = loaded
    page = pages[name]
    assert page.requests() == [], f"{name} made requests: {page.requests()}"
    assert hits == [], f"requests reached the trap proxy: {hits}"
    assert page.errors() == [], f"{name} logged errors: {page.errors()}"


def test_dom_shows_the_request_count_and_threshold_outcomes(loaded, reports):
    page = loaded[0]["run.html"]
    count = reports["summary"]["metrics"]["http_reqs"]["count"]
    assert count > 0 and count == reports["served"], (count, reports["served"])
    shown = page.eval("document.getElementById('http-reqs').dataset.value")
    assert int(shown) == count, f"the report shows {shown} requests, the run made {count}"
    assert page.eval("document.getElementById('http-reqs').textContent") == str(count)
    rows = page.eval("""[...document.querySelectorAll('#thresholds tr.thr')].map(tr =>
        [tr.cells[1].textContent, tr.cells[2].textContent, tr.dataset.ok,
         tr.cells[0].textContent])""")
    got = {(sel, expr): ok == "true" for sel, expr, ok, _ in rows}
    assert got == EXPECTED_THRESHOLDS, rows
    for sel, expr, ok, text in rows:
        assert text == ("passed" if ok == "true" else "FAILED"), rows
    verdict = page.eval("document.getElementById('verdict').textContent")
    assert verdict == "thresholds failed: 2 of 5", verdict


def test_dom_endpoints_checks_errors_and_charts(loaded, reports):
    page = loaded[0]["run.html"]
    count = reports["summary"]["metrics"]["http_reqs"]["count"]
    rows = page.eval("""[...document.querySelectorAll('#endpoints tbody tr')].map(tr =>
        [...tr.cells].map(c => c.textContent))""")
    by_name = {r[0]: r for r in rows}
    assert set(by_name) == set(NAMES), rows
    assert sum(int(r[1]) for r in rows) == count, rows
    assert by_name["broken"][3] == "100.00%", rows
    assert by_name["home"][3] == "0.00%", rows
    # the check, in its group, with the group name and check name escaped but shown
    checks = page.eval("""[...document.querySelectorAll('#checks tbody tr')].map(tr =>
        [...tr.cells].map(c => c.textContent))""")
    assert len(checks) == 1 and checks[0][0] == "::api <v1>" and \
        checks[0][1] == "status is 200 & fast", checks
    assert int(checks[0][2]) > 0 and checks[0][3] == "0", checks
    errors = page.eval("""[...document.querySelectorAll('#errors tbody tr')].map(tr =>
        [...tr.cells].map(c => c.textContent))""")
    assert [e[1] for e in errors] == ["503"], errors
    assert int(errors[0][3]) == int(by_name["broken"][1]), (errors, rows)
    # every chart drew its lines, with axes and legends; the SLO p(95)<1000 is named
    for chart in ("chart-throughput", "chart-latency", "chart-vus", "chart-distribution"):
        n = page.eval(f"document.querySelectorAll('#{chart} svg polyline').length")
        assert n >= 1, f"{chart} has no line"
        ticks = page.eval(f"document.querySelectorAll('#{chart} svg text.tick').length")
        assert ticks >= 4, f"{chart} has {ticks} tick labels"
        box = page.eval(f"(() => {{ const r = document.querySelector('#{chart} svg')"
                        ".getBoundingClientRect(); return [r.width, r.height]; })()")
        assert box[0] > 600 and box[1] > 150, f"{chart} is drawn at {box}"
    slo = page.eval("document.querySelector('#chart-latency svg').textContent")
    assert ": p(95)<1000 (passed)" in slo, slo
    drawn = page.eval("""[...document.querySelectorAll('#chart-latency svg line.ref')]
        .map(l => l.querySelector('title').textContent)""")
    drawn = {re.sub(r"^SLO \d+: ", "", d) for d in drawn}
    assert {"http_req_duration{name:home} med<80 (passed)",
            "http_req_duration{name:slow} p(99)<5 (failed)"} <= drawn, drawn
    # each tagged in the right margin, off the plot
    tags = page.eval("""[...document.querySelectorAll('#chart-latency svg text.reflabel')]
        .map(t => +t.getAttribute('x'))""")
    assert len(tags) == 3 and min(tags) > 960 - 64, tags
    axis = page.eval("""[...document.querySelectorAll('#chart-distribution text.tick')]
        .map(t => t.textContent)""")
    assert "90%" in axis and "99%" in axis, axis


def test_screenshot_written(loaded):
    png = BUILD_DIR / "report.png"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000, f"{png}: {len(data)} bytes"


# --------------------------------------------------------------------------------------
# the report command's errors
# --------------------------------------------------------------------------------------
def test_report_bad_input(tmp_path):
    missing = run(["report", tmp_path / "nope.json", "-o", tmp_path / "r.html"],
                  expect=EXIT_CONFIG)
    assert "nope.json" in missing.stderr, missing
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something-else"}')
    invalid = run(["report", bad, "-o", tmp_path / "r.html"], expect=EXIT_CONFIG)
    assert "bad.json" in invalid.stderr, invalid
    assert not (tmp_path / "r.html").exists()
    run(["report"], expect=EXIT_CONFIG)
    r = run(["report", bad, "--outp", "x.html"], expect=EXIT_CONFIG)
    assert "--outp" in r.stderr, r
    assert "usage: stampede report" in run(["report", "--help"], expect=0).stdout


def test_report_refuses_to_overwrite_its_input(reports, tmp_path):
    src = reports["dir"] / "result.json"
    same = tmp_path / "same.json"
    same.write_bytes(src.read_bytes())
    before = same.read_bytes()
    link = tmp_path / "link.json"
    link.symlink_to(same)
    sub = tmp_path / "sub"
    sub.mkdir()
    for inp, out in ((same, same), (same, tmp_path / "sub" / ".." / "same.json"),
                     (same, link), (link, same)):
        r = run(["report", inp, "-o", out], expect=EXIT_CONFIG)
        assert "is the result file itself" in r.stderr, r
        assert same.read_bytes() == before, f"{out} overwrote {inp}"
    # relative names in the current directory, one with ./
    p = subprocess.run([BIN, "report", "same.json", "-o", "./same.json"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == EXIT_CONFIG and "itself" in p.stderr, p
    assert same.read_bytes() == before
    # another file in the same directory is fine
    run(["report", same, "-o", tmp_path / "same.html"], expect=0)
    assert (tmp_path / "same.html").read_text().startswith("<!DOCTYPE html>")


def test_report_of_a_hostile_result_is_bounded_and_clean(reports, tmp_path):
    """A result file crafted by someone else: a 150,000-character group path over 100
    checks, escape sequences in names, a busy machine (not generator), dropped
    iterations. The report shows each name capped, no control character, the terminal
    summary's wording and the dropped iterations in the header."""
    d = json.loads((reports["dir"] / "result.json").read_text())
    long_name = "g" * 150000
    checks = [{"name": f"c{i}\x1b[2J", "path": f"::{long_name}::c{i}\x1b[2J",
               "passes": 1, "fails": 0} for i in range(100)]
    d["root_group"]["groups"] = [{"name": long_name, "path": "::" + long_name,
                                  "groups": [], "checks": checks}]
    d["generator"].update(saturated_seconds=0, host_saturated_seconds=2, cpu_percent=1.0)
    dropped = d["metrics"]["dropped_iterations"]
    dropped["values"] = {"count": 7, "rate": 3.5}
    dropped["series"] = [{"tags": {"scenario": "default"}, "overflow": False,
                          "values": {"count": 7, "rate": 3.5},
                          "timeseries": {"step": 1, "columns": ["t", "count"],
                                         "points": [[0, 7]]}}]
    src = tmp_path / "hostile.json"
    src.write_text(json.dumps(d))
    run(["report", src, "-o", tmp_path / "hostile.html"], expect=0)
    data = (tmp_path / "hostile.html").read_bytes()
    assert len(data) < 1_000_000, f"the report is {len(data)} bytes"
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", data)
    html = data.decode()
    assert html.count("&#8230; (150002 bytes in all)") == 100, "group paths not capped"
    assert "c7\ufffd[2J" in html
    assert "The machine&apos;s CPU was saturated in 2 of the run" in html or \
        "The machine's CPU was saturated in 2 of the run" in html
    assert "generator's own CPU" not in html
    head = re.search(r"<header>.*?</header>", html, re.S).group(0)
    assert 'id="dropped"' in head and "7 iterations dropped" in head, head[-600:]
    assert "7 iterations were dropped" in section(html, "generator")


def test_report_cannot_write(reports, tmp_path):
    r = run(["report", reports["dir"] / "result.json", "-o", tmp_path / "no" / "r.html"],
            expect=110)
    assert "r.html" in r.stderr, r


def test_report_default_output_in_cwd(reports, tmp_path):
    p = subprocess.run([BIN, "report", str(reports["dir"] / "result.json")], cwd=tmp_path,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "report.html").read_text() == (reports["dir"] / "report.html").read_text()


def test_out_html_unwritable_is_refused_before_the_run(tmp_path):
    r = run(["run", "--url", "http://127.0.0.1:9/", "-d", "1s", "-q",
             "--out", f"html={tmp_path / 'no' / 'r.html'}"], expect=EXIT_CONFIG)
    assert "html=" in r.stderr, r
