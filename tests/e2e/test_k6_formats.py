"""k6's two JSON summary formats, read by their consumers (issue #9 section 2).

One scripted run (2 s, 2 VUs, against a loopback EchoServer) with checks in nested groups,
setup() data and three thresholds of which exactly one fails. Its handle_summary(data)
writes json.encode(data) to a file, and --summary-export writes k6's legacy document.

- handleSummary data (k6's internal/js/summary.go): its shape, read field by field, and
  the real consumer k6-html-reporter (npm, installed under the build directory at test
  time) building its HTML report from it: no error, the right request count and
  threshold outcomes.
- --summary-export (k6's internal/js/summary-wrapper.js oldJSONSummary): read by a small
  consumer written to k6's documented legacy format, where a threshold's boolean is true
  when it FAILED (grafana/k6 #1498, grafana/k6-docs #30): exactly 1 of 3 failed.
"""

import hashlib
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import BIN, EXIT_THRESHOLDS, strict_json
from script_servers import EchoServer, run_script
from tools import npm_install

# The npm package and version this test runs (reported in docs/cli.md's test notes).
REPORTER = "k6-html-reporter"
REPORTER_VERSION = "1.0.5"

SCRIPT = """
    options = {
      vus = 2, duration = "2s",
      thresholds = {
        http_req_duration = { "p(95)<5000" },
        ["http_req_duration{status:200}"] = { "max<10000" },
        ["http_reqs{status:404}"] = { "count<1" },
      },
    }

    function setup() return { token = "abc" } end

    function default(data)
      local res = http.get(BASE .. "/")
      stampede.check(res, { ["status is 200"] = function(r) return r.status == 200 end })
      stampede.group("api", function()
        local r404 = http.get(BASE .. "/status/404")
        stampede.check(r404, { ["status is 404"] = function(r) return r.status == 404 end })
        stampede.group("inner", function()
          stampede.check(data, {
            ["has token"] = function(d) return d.token == "abc" end,
            ["never"] = function() return false end,
          })
        end)
      end)
      stampede.sleep(0.05)
    end

    function handle_summary(data)
      return { [stampede.env.SUMMARY_JSON] = json.encode(data) }
    end
"""

THRESHOLDS = {  # selector -> {expression: passes}
    "http_req_duration": {"p(95)<5000": True},
    "http_req_duration{status:200}": {"max<10000": True},
    "http_reqs{status:404}": {"count<1": False},
}
CHECKS = {  # path -> fails is zero
    "::status is 200": True,
    "::api::status is 404": True,
    "::api::inner::has token": True,
    "::api::inner::never": False,
}
DEFAULT_TREND_STATS = ["avg", "min", "med", "max", "p(90)", "p(95)"]


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


class Run:
    """The module's one run: the server's request count and both documents."""

    def __init__(self, result, requests, data_path, legacy_path):
        self.result = result
        self.requests = requests
        self.data_path = data_path
        self.legacy_path = legacy_path
        self.data = self._load(data_path, "handle_summary's JSON")
        self.legacy = self._load(legacy_path, "--summary-export")

    def _load(self, path, what):
        if not path.exists():
            pytest.fail(f"{what} ({path}) was not written\n{self.result}", pytrace=False)
        try:
            return strict_json(path.read_text())
        except ValueError as e:
            pytest.fail(f"{what} is not valid JSON: {e}\n{path.read_text()[:2000]}",
                        pytrace=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("k6fmt")
    data_path = tmp / "handle-summary.json"
    legacy_path = tmp / "summary-export.json"
    with EchoServer() as server:
        r = run_script(tmp, SCRIPT, "--summary-export", legacy_path, base=server,
                       export=False, expect=EXIT_THRESHOLDS, timeout=60,
                       env={"SUMMARY_JSON": str(data_path)})
        requests = settled(lambda: len(server.log))
    return Run(r, requests, data_path, legacy_path)


def settled(count, quiet=0.3, timeout=5.0):
    """count() once it stopped changing for `quiet` seconds."""
    last, since, end = count(), time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < end:
        time.sleep(0.05)
        now = count()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


# --------------------------------------------------------------------------------------
# handleSummary(data): k6's data object
# --------------------------------------------------------------------------------------
def walk_groups(group):
    yield group
    for g in group["groups"]:
        yield from walk_groups(g)


def test_handle_summary_top_level(run):
    d = run.data
    assert set(d) == {"root_group", "options", "state", "metrics", "setup_data"}, list(d)
    assert d["options"] == {"summaryTrendStats": DEFAULT_TREND_STATS, "summaryTimeUnit": "",
                            "noColor": d["options"].get("noColor")}, d["options"]
    assert isinstance(d["options"]["noColor"], bool)
    st = d["state"]
    assert set(st) == {"isStdOutTTY", "isStdErrTTY", "testRunDurationMs"}, st
    assert st["isStdOutTTY"] is False and st["isStdErrTTY"] is False, st
    assert 2000 <= st["testRunDurationMs"] < 60000, st
    assert d["setup_data"] == {"token": "abc"}


def test_handle_summary_metrics(run):
    ms = run.data["metrics"]
    for name, m in ms.items():
        assert set(m) <= {"type", "contains", "values", "thresholds"}, (name, m)
        assert {"type", "contains", "values"} <= set(m), (name, m)
    want_values = {"counter": {"count", "rate"}, "gauge": {"value", "min", "max"},
                   "rate": {"rate", "passes", "fails"}, "trend": set(DEFAULT_TREND_STATS)}
    for name, m in ms.items():
        assert set(m["values"]) == want_values[m["type"]], (name, m)
        assert all(isinstance(v, (int, float)) for v in m["values"].values()), (name, m)
    reqs = ms["http_reqs"]
    assert (reqs["type"], reqs["contains"]) == ("counter", "default")
    assert reqs["values"]["count"] == run.requests, (reqs, run.requests)
    dur = ms["http_req_duration"]
    assert (dur["type"], dur["contains"]) == ("trend", "time")
    assert (ms["data_received"]["type"], ms["data_received"]["contains"]) == ("counter", "data")
    assert ms["checks"]["type"] == "rate"
    assert ms["vus"]["type"] == "gauge"
    # k6's expected_response sub-metric, and the sub-metrics the thresholds name
    assert ms["http_req_duration{expected_response:true}"]["type"] == "trend"
    assert ms["http_reqs{status:404}"]["values"]["count"] == run.requests / 2


def test_handle_summary_thresholds(run):
    ms = run.data["metrics"]
    got = {name: {expr: t for expr, t in m["thresholds"].items()}
           for name, m in ms.items() if "thresholds" in m}
    assert got == {sel: {e: {"ok": ok} for e, ok in exprs.items()}
                   for sel, exprs in THRESHOLDS.items()}


def test_handle_summary_root_group(run):
    root = run.data["root_group"]
    assert isinstance(root["groups"], list) and isinstance(root["checks"], list), root
    assert (root["name"], root["path"], root["id"]) == ("", "", md5("")), root
    seen = {}
    for g in walk_groups(root):
        assert set(g) == {"name", "path", "id", "groups", "checks"}, g
        assert g["id"] == md5(g["path"]), g
        for c in g["checks"]:
            assert set(c) == {"name", "path", "id", "passes", "fails"}, c
            assert c["path"] == f"{g['path']}::{c['name']}" and c["id"] == md5(c["path"]), c
            seen[c["path"]] = c
    assert set(seen) == set(CHECKS), seen
    iterations = run.data["metrics"]["iterations"]["values"]["count"]
    for path, passes in CHECKS.items():
        c = seen[path]
        assert c["passes" if passes else "fails"] == iterations, c
        assert c["fails" if passes else "passes"] == 0, c
    api = root["groups"][0]
    assert (api["name"], api["path"]) == ("api", "::api"), api
    assert [g["path"] for g in api["groups"]] == ["::api::inner"], api


def test_handle_summary_keeps_empty_arrays(run):
    """A group without sub-groups has "groups": [] in k6 (JSON.stringify of an empty
    array): json.encode(data) in handle_summary must give the same, not {}."""
    inner = run.data["root_group"]["groups"][0]["groups"][0]
    assert inner["groups"] == [], inner


# --------------------------------------------------------------------------------------
# the real consumer: k6-html-reporter
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reporter():
    """The installed k6-html-reporter's directory (npm install at test time, into
    <BUILD>/npm)."""
    return npm_install(Path(BIN).resolve().parent / "npm", REPORTER,
                       packages={REPORTER: REPORTER_VERSION}) / REPORTER


class ReportParser(HTMLParser):
    """The parts of k6-html-reporter's report the test reads: table rows (the row's class
    and its cells' text), threshold items (class fail-block / success-block) and the
    paragraphs' text."""

    def __init__(self):
        super().__init__()
        self.rows, self.items, self.texts = [], [], []
        self._row = self._cell = self._item = None

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        if tag == "tr":
            self._row = (cls, [])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "li" and ("fail-block" in cls or "success-block" in cls):
            self._item = ("fail" if "fail-block" in cls else "success", [])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row[1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "li" and self._item is not None:
            self.items.append((self._item[0], " ".join("".join(self._item[1]).split())))
            self._item = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._item is not None:
            self._item[1].append(data)
        if data.strip():
            self.texts.append(" ".join(data.split()))


def test_k6_html_reporter_reads_handle_summary(run, reporter, tmp_path):
    out = tmp_path / "html"
    code = ("require(process.argv[1]).generateSummaryReport("
            "{jsonFile: process.argv[2], output: process.argv[3]})")
    p = subprocess.run(["node", "-e", code, str(reporter), str(run.data_path), str(out)],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                       cwd=tmp_path)
    assert p.returncode == 0 and not p.stderr.strip(), \
        f"{REPORTER} failed (exit {p.returncode}):\n{p.stderr}\n{p.stdout}"
    report = out / "report.html"
    assert report.exists(), p.stdout
    html = ReportParser()
    html.feed(report.read_text())

    # the request count, in the counter table
    rows = {cells[1]: (cls, cells) for cls, cells in html.rows if len(cells) == 4}
    assert "http_reqs" in rows, html.rows
    assert int(rows["http_reqs"][1][2]) == run.requests, rows["http_reqs"]
    # the threshold outcomes: one failed (a sub-metric's), two met
    assert "1 threshold was not met" in html.texts, html.texts
    assert "passes: 2" in html.texts and "fails: 1" in html.texts, html.texts
    assert sorted(html.items) == sorted(
        ("success" if ok else "fail", expr)
        for exprs in THRESHOLDS.values() for expr, ok in exprs.items()), html.items
    assert rows["http_reqs{status:404}"][0] == "fail-block", rows["http_reqs{status:404}"]
    # the checks table: path (groups joined by " ⇀ "), passes, fails
    iterations = run.data["metrics"]["iterations"]["values"]["count"]
    checks = {cells[1]: (int(cells[2]), int(cells[3]))
              for _, cells in html.rows
              if len(cells) == 4 and ("⇀" in cells[1] or cells[1] == "status is 200")}
    assert checks == {"status is 200": (iterations, 0), "api ⇀ status is 404": (iterations, 0),
                      "api ⇀ inner ⇀ has token": (iterations, 0),
                      "api ⇀ inner ⇀ never": (0, iterations)}, checks


# --------------------------------------------------------------------------------------
# --summary-export: k6's legacy format, read by a consumer written to it
# --------------------------------------------------------------------------------------
def legacy_failed_thresholds(doc):
    """What a legacy-format consumer reports: 'METRIC: EXPR' of each failed threshold
    (in --summary-export a threshold's value is true when it failed)."""
    failed, total = [], 0
    for name, m in doc["metrics"].items():
        for expr, value in m.get("thresholds", {}).items():
            if not isinstance(value, bool):
                raise AssertionError(f"{name}: threshold {expr!r} is not a boolean: {value!r}")
            total += 1
            if value:
                failed.append(f"{name}: {expr}")
    return failed, total


def legacy_checks(group, out=None):
    """{path: (passes, fails)} from a legacy root_group (groups and checks keyed by name)."""
    out = {} if out is None else out
    for name, c in group["checks"].items():
        assert c["name"] == name, c
        out[c["path"]] = (c["passes"], c["fails"])
    for name, g in group["groups"].items():
        assert g["name"] == name, g
        legacy_checks(g, out)
    return out


def test_summary_export_thresholds(run):
    failed, total = legacy_failed_thresholds(run.legacy)
    assert total == 3, run.legacy["metrics"]
    assert failed == ["http_reqs{status:404}: count<1"]


def test_summary_export_shape(run):
    doc = run.legacy
    assert set(doc) == {"root_group", "metrics", "setup_data"}, list(doc)
    assert doc["setup_data"] == {"token": "abc"}
    ms = doc["metrics"]
    assert set(ms) == set(run.data["metrics"]), (set(ms) ^ set(run.data["metrics"]))
    # values directly on the metric; a rate's "rate" is "value"; no type, contains, values
    assert set(ms["http_reqs"]) == {"count", "rate"}, ms["http_reqs"]
    assert ms["http_reqs"]["count"] == run.requests
    assert set(ms["checks"]) == {"passes", "fails", "value"}, ms["checks"]
    assert set(ms["http_req_failed"]) == {"passes", "fails", "value"}, ms["http_req_failed"]
    assert ms["http_req_failed"]["value"] == 0.5, ms["http_req_failed"]
    assert set(ms["vus"]) == {"value", "min", "max"}, ms["vus"]
    assert set(ms["http_req_duration"]) == set(DEFAULT_TREND_STATS) | {"thresholds"}
    for name, m in run.data["metrics"].items():
        values = dict(m["values"])
        if m["type"] == "rate":
            values["value"] = values.pop("rate")
        got = {k: v for k, v in ms[name].items() if k != "thresholds"}
        assert got == pytest.approx(values, rel=1e-12), name  # both printed by JSON encoders
    # groups and checks keyed by name, with k6's ids
    root = doc["root_group"]
    assert (root["name"], root["path"], root["id"]) == ("", "", md5("")), root
    assert isinstance(root["groups"], dict) and isinstance(root["checks"], dict), root
    inner = root["groups"]["api"]["groups"]["inner"]
    assert inner["id"] == md5("::api::inner") and inner["groups"] == {}, inner
    assert inner["checks"]["never"]["id"] == md5("::api::inner::never"), inner
    checks = legacy_checks(root)
    iterations = run.data["metrics"]["iterations"]["values"]["count"]
    assert checks == {p: (iterations, 0) if ok else (0, iterations)
                      for p, ok in CHECKS.items()}, checks


def test_summary_export_is_k6_text(run):
    """Indented by 4 spaces (JSON.stringify(results, null, 4))."""
    text = run.legacy_path.read_text()
    assert text.startswith('{\n    "root_group": {\n        "'), text[:80]
