"""Scripted tests: the life cycle (docs/scripting.md "Life cycle"): setup's return value,
teardown, requests of setup/teardown in http_reqs but not in iterations, handle_summary."""

import json
import signal
import time

import pytest

from accounting import assert_accounting
from conftest import EXIT_INTERRUPTED, metric, read_summary
from script_servers import echo_server, run_script, settle, write_script  # noqa: F401


def test_setup_data_reaches_default_and_teardown(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { vus = 2, iterations = 4 }
        function setup()
          local res = http.post(BASE .. "/login", json.encode({ user = "u1" }))
          return { token = "tok-" .. res:json().method, n = 3, list = { "a", "b" },
                   nested = { flag = true } }
        end
        function default(data)
          http.get(BASE .. "/work", { headers = {
            ["X-Token"] = data.token, ["X-N"] = tostring(data.n),
            ["X-List"] = table.concat(data.list, ","), ["X-Flag"] = tostring(data.nested.flag) } })
        end
        function teardown(data)
          http.get(BASE .. "/teardown?token=" .. data.token .. "&n=" .. data.n)
        end
    """, base=echo_server)
    paths = [e["path"] for e in echo_server.log]
    assert paths[0] == "/login" and paths[-1] == "/teardown", paths
    assert paths.count("/work") == 4, paths
    for e in echo_server.entries(path="/work"):
        h = e["headers"]
        assert (h.get("x-token"), h.get("x-n"), h.get("x-list"), h.get("x-flag")) == \
            ("tok-POST", "3", "a,b", "true"), h
    assert echo_server.entries(path="/teardown")[0]["query"] == {"token": "tok-POST", "n": "3"}
    assert metric(r.summary, "iterations")["count"] == 4
    assert metric(r.summary, "http_reqs")["count"] == 6
    assert_accounting(r.summary, server_count=len(echo_server.log))


def test_setup_and_teardown_requests_match_access_log(tmp_path, nginx):
    before = nginx.access_count()
    r = run_script(tmp_path, """
        options = { vus = 3, iterations = 10 }
        function setup()
          for i = 1, 3 do http.get(BASE .. "/setup/" .. i) end
          return {}
        end
        function default() http.get(BASE .. "/iter") end
        function teardown()
          http.get(BASE .. "/teardown/1"); http.get(BASE .. "/teardown/2")
        end
    """, base=nginx.url)
    lines = nginx.settled_count(since=before)
    count = metric(r.summary, "http_reqs")["count"]
    assert lines == 15, nginx.access_lines()[before:]
    assert count == lines, f"http_reqs.count={count}, nginx answered {lines}"
    assert_accounting(r.summary, server_count=lines)
    assert metric(r.summary, "iterations")["count"] == 10
    log = "\n".join(nginx.access_lines()[before:])
    assert log.count("/setup/") == 3 and log.count("/teardown/") == 2, log


def test_setup_without_return_value(tmp_path, echo_server):
    run_script(tmp_path, """
        options = { iterations = 2 }
        function setup() end
        function default(data)
          http.get(BASE .. "/d", { headers = { ["X-Data"] = tostring(data) } })
        end
        function teardown(data)
          http.get(BASE .. "/t", { headers = { ["X-Data"] = tostring(data) } })
        end
    """, base=echo_server)
    assert [e["headers"]["x-data"] for e in echo_server.log] == ["nil", "nil", "nil"]


def test_handle_summary(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 5 }
        function default() http.get(BASE .. "/") end
        function handle_summary(data)
          return {
            ["custom-summary.json"] = json.encode(data),
            [stampede.env.OUT_TXT] = "requests: " .. data.metrics.http_reqs.values.count .. "\\n",
            stdout = ("CUSTOM SUMMARY reqs=%d\\n"):format(data.metrics.http_reqs.values.count),
          }
        end
    """, "-e", f"OUT_TXT={tmp_path / 'abs.txt'}", base=echo_server)
    assert "CUSTOM SUMMARY reqs=5" in r.stdout, r
    # the default end-of-test summary is replaced
    assert "http_req_duration" not in r.stdout and "METRICS" not in r.stdout, r.stdout
    custom = tmp_path / "custom-summary.json"       # relative to the working directory
    assert custom.exists(), f"handle_summary did not write {custom}\n{r}"
    data = json.loads(custom.read_text())
    assert data["metrics"]["http_reqs"]["values"]["count"] == 5, data["metrics"]["http_reqs"]
    assert "root_group" in data, list(data)
    assert (tmp_path / "abs.txt").read_text() == "requests: 5\n"
    # the result file is still written
    assert metric(r.summary, "http_reqs")["count"] == 5


def test_default_summary_without_handle_summary(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 2 }
        function default() http.get(BASE .. "/") end
    """, base=echo_server)
    assert "http_reqs" in r.stdout and "iterations" in r.stdout, r


def test_setup_timeout(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 3, setupTimeout = "300ms" }
        function setup() stampede.sleep(5) end
        function default() http.get(BASE .. "/load") end
    """, base=echo_server, expect=100, timeout=20)
    assert r.elapsed < 4, f"setupTimeout 300ms did not stop a 5 s setup\n{r}"
    assert "setup" in r.stderr, r
    assert echo_server.entries(path="/load") == []


def test_vus_have_separate_globals(tmp_path, echo_server):
    run_script(tmp_path, """
        counter = 0
        options = { scenarios = { s = { executor = "per-vu-iterations", vus = 3, iterations = 3 } } }
        function default()
          counter = counter + 1
          http.get(BASE .. "/g", { headers = { ["X-VU"] = tostring(stampede.vu.id),
                                               ["X-N"] = tostring(counter) } })
          stampede.sleep(0.01)
        end
    """, base=echo_server)
    per_vu = {}
    for e in echo_server.entries(path="/g"):
        per_vu.setdefault(e["headers"]["x-vu"], []).append(e["headers"]["x-n"])
    assert per_vu == {"1": ["1", "2", "3"], "2": ["1", "2", "3"], "3": ["1", "2", "3"]}, per_vu


def test_handle_summary_without_stdout_suppresses_default_summary(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 2 }
        function default() http.get(BASE .. "/") end
        function handle_summary(data)
          return { ["only-file.json"] = json.encode(data.metrics.http_reqs) }
        end
    """, base=echo_server)
    assert json.loads((tmp_path / "only-file.json").read_text())["values"]["count"] == 2
    assert "http_reqs" not in r.stdout and "METRICS" not in r.stdout, r.stdout


def test_sigint_stops_a_scripted_run(tmp_path, echo_server, spawn):
    script = write_script(tmp_path, """
        options = { vus = 2, duration = "30s" }
        function default() http.get(BASE .. "/load"); stampede.sleep(0.05) end
    """)
    export = tmp_path / "sigint.json"
    p = spawn("run", script, "-q", "--out", f"result={export}", "-e",
              f"BASE_URL={echo_server.base}")
    assert settle(lambda: len(echo_server.log) >= 4, timeout=10), "the run sent nothing"
    time.sleep(0.2)
    p.signal(signal.SIGINT)
    r = p.wait(15)
    assert r.rc == EXIT_INTERRUPTED, r
    s = read_summary(export, r)
    assert s["state"]["interrupted"] is True, s["state"]
    assert s["metrics"]["http_reqs"]["count"] == len(echo_server.entries(path="/load"))
    assert_accounting(s, server_count=len(echo_server.log))
