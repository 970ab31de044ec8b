"""The result file (--out result=FILE, stampede-result/1): every written file is valid
against docs/result.schema.json (conftest.validate_result), and it holds the whole run:
every metric type with its series, raw values and HDR histograms, thresholds with their
verdicts, checks in groups, errors by kind, script errors, setup() data, generator
health (docs/result-format.md)."""

import json

import hdrhist
from conftest import validate_result
from script_servers import echo_server, run_script  # noqa: F401 (fixture)

SCRIPT = """
local queue = metrics.gauge("queue_depth")
local hits = metrics.rate("cache_hits")
local bytes = metrics.counter("bytes_parsed")
local think = metrics.trend("think_ms")
options = {
  scenarios = { main = { executor = "per-vu-iterations", vus = 2, iterations = 6 } },
  thresholds = {
    http_req_duration = { "p(95)<5000", "max<0.001" },
    ["http_req_duration{name:fixed}"] = { "med<5000" },
    cache_hits = { "rate>0.4" },
  },
}
function setup() return { token = "t-42" } end
local n = 0
default = function(data)
  n = n + 1
  stampede.group("outer", function()
    stampede.group("inner", function()
      local r = http.get(BASE .. "/item/" .. n, { tags = { name = "fixed" } })
      stampede.check(r, { ["is 200"] = function(x) return x.status == 200 end })
    end)
  end)
  local r2 = http.get(BASE .. "/status/503")
  stampede.check(r2, { ["is 503"] = function(x) return x.status == 503 end,
              ["is 200 too"] = function(x) return x.status == 200 end })
  queue:add(n)
  hits:add(n % 2 == 0)
  bytes:add(3)
  think:add(1.5)
  if n == 5 then error("boom on five") end  -- each VU has its own n: twice
end
"""


def test_result_file_holds_the_whole_run(tmp_path, echo_server):
    r = run_script(tmp_path, SCRIPT, base=echo_server, expect=99)
    doc = json.loads(r.export.read_text())
    validate_result(doc)
    assert doc["format"] == "stampede-result/1"
    m = doc["metrics"]
    assert m["http_reqs"]["values"]["count"] == 24, m["http_reqs"]["values"]
    assert sum(s["values"]["count"] for s in m["http_reqs"]["series"]) == 24
    # every type, with its raw values
    assert m["queue_depth"]["type"] == "gauge" and m["queue_depth"]["series"][0]["seq"] > 0
    assert m["cache_hits"]["values"]["passes"] + m["cache_hits"]["values"]["fails"] == 12
    assert m["bytes_parsed"]["values"]["count"] == 36
    assert m["think_ms"]["contains"] == "default" and m["http_req_duration"]["contains"] == "time"
    # trends keep their histograms, whose counts are the series' counts
    for s in m["http_req_duration"]["series"]:
        h = hdrhist.decode(s["histogram"])
        assert h.total_count == s["values"]["count"], s["tags"]
    # thresholds: verdicts and values; a sub-metric's values under submetrics
    verdicts = {(t["selector"], t["expression"]): t["ok"] for t in doc["thresholds"]}
    assert verdicts == {("http_req_duration", "p(95)<5000"): True,
                        ("http_req_duration", "max<0.001"): False,
                        ("http_req_duration{name:fixed}", "med<5000"): True,
                        ("cache_hits", "rate>0.4"): True}, verdicts
    assert doc["submetrics"]["http_req_duration{name:fixed}"]["values"]["count"] == 12
    # checks in nested groups
    outer = doc["root_group"]["groups"][0]
    assert outer["name"] == "outer" and outer["groups"][0]["path"] == "::outer::inner"
    inner_checks = {c["name"]: (c["passes"], c["fails"]) for c in outer["groups"][0]["checks"]}
    assert inner_checks == {"is 200": (12, 0)}, inner_checks
    root_checks = {c["name"]: (c["passes"], c["fails"]) for c in doc["root_group"]["checks"]}
    assert root_checks == {"is 503": (12, 0), "is 200 too": (0, 12)}, root_checks
    # errors by kind, script errors, setup data, generator
    assert [(e["kind"], e["count"]) for e in doc["errors"]] == [("status_503", 12)]
    assert doc["script_errors"][0]["count"] == 2 and "boom on five" in \
        doc["script_errors"][0]["message"]
    assert doc["setup_data"] == {"token": "t-42"}
    assert doc["generator"]["threads"] >= 1 and doc["state"]["testRunDurationMs"] > 0


def test_result_to_stdout_and_bad_paths(tmp_path, echo_server):
    r = run_script(tmp_path, 'default = function() http.get(BASE .. "/x") end',
                   "--iterations", "3", "--no-summary", "--out", "result=-",
                   base=echo_server, export=False)
    doc = json.loads(r.stdout)
    validate_result(doc)
    assert doc["metrics"]["http_reqs"]["values"]["count"] == 3
    # a directory, or a missing directory: exit 104 before any load, naming the option
    sent = len(echo_server.entries())
    for bad in (tmp_path, tmp_path / "missing" / "r.json"):
        r = run_script(tmp_path, 'default = function() http.get(BASE .. "/x") end',
                       "--iterations", "3", "--out", f"result={bad}", base=echo_server,
                       export=False, expect=104)
        assert f"--out result={bad}" in r.stderr, r.stderr
        assert len(echo_server.entries()) == sent, "load was sent before the output was checked"
    r = run_script(tmp_path, 'default = function() end', "--iterations", "1",
                   "--out", "nope=x", export=False, expect=104)
    assert "unknown output 'nope'" in r.stderr and "result" in r.stderr, r.stderr


def test_peak_rss_is_stampedes_own(tmp_path, echo_server):
    """generator.max_rss_kb is stampede's own peak (VmHWM), not its parent's: Linux keeps
    getrusage()'s ru_maxrss across execve(), so a run started by a big process (a test
    runner) reported the parent's size."""
    import subprocess
    import sys
    from conftest import BIN
    out = tmp_path / "r.json"
    code = (f"big = bytearray(400 << 20)\n"
            f"for i in range(0, len(big), 4096): big[i] = 1\n"
            f"import subprocess\n"
            f"subprocess.run([{str(BIN)!r}, 'run', '--url', {echo_server.base + '/x'!r}, "
            f"'-i', '2', '-q', '--no-summary', '--out', 'result={out}'], check=True)\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    rss = json.loads(out.read_text())["generator"]["max_rss_kb"]
    assert 0 < rss < 200 * 1024, f"max_rss_kb {rss}: the parent's 400 MB counted"
