"""Scripted tests: the stampede.http API (docs/scripting.md "stampede.http").

Each test writes a Lua script that talks to an EchoServer (script_servers.py) on
127.0.0.1; the script reports what it saw through checks (all must pass, see
assert_checks_pass) and the test also looks at what the server received.
"""

import json
from urllib.parse import parse_qs

import pytest

from conftest import ERROR_CODES, errors_by_kind, metric
from script_servers import (EchoServer, assert_checks_pass, echo_server,  # noqa: F401
                            run_script, series, series_total, threshold_entry)


def test_methods_headers_and_bodies(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        local H = { headers = { ["X-Test"] = "yes", ["Content-Type"] = "text/plain" } }
        function default()
          local res
          res = http.get(BASE .. "/m/get?a=1", H)
          stampede.check(res, {
            ["get status"] = function(r) return r.status == 200 end,
            ["get echo"] = function(r) local j = r:json()
                return j.method == "GET" and j.query.a == "1" and j.headers["x-test"] == "yes" end,
            ["get method field"] = function(r) return r.method == "GET" end,
          })
          res = http.post(BASE .. "/m/post", "raw body", H)
          stampede.check(res, { ["post echo"] = function(r) local j = r:json()
                return j.method == "POST" and j.body == "raw body" end })
          res = http.put(BASE .. "/m/put", "put body", H)
          stampede.check(res, { ["put echo"] = function(r) return r:json().method == "PUT" end })
          res = http.patch(BASE .. "/m/patch", "patch body", H)
          stampede.check(res, { ["patch echo"] = function(r) return r:json().method == "PATCH" end })
          res = http.del(BASE .. "/m/del", nil, H)
          stampede.check(res, { ["del echo"] = function(r) return r:json().method == "DELETE" end })
          res = http.head(BASE .. "/m/head", H)
          stampede.check(res, { ["head status"] = function(r) return r.status == 200 end,
                                ["head no body"] = function(r) return r.body == nil or r.body == "" end })
          res = http.options(BASE .. "/m/options", nil, H)
          stampede.check(res, { ["options echo"] = function(r) return r:json().method == "OPTIONS" end })
          res = http.request("POST", BASE .. "/m/request", "req body", H)
          stampede.check(res, { ["request echo"] = function(r) local j = r:json()
                return j.method == "POST" and j.body == "req body" end })
          res = http.post(BASE .. "/m/form", { name = "a b", n = "1&2", e = "é" })
          stampede.check(res, { ["form status"] = function(r) return r.status == 200 end })
        end
    """, base=echo_server)
    assert_checks_pass(r)
    log = echo_server.entries(prefix="/m/")
    assert [(e["method"], e["path"]) for e in log] == [
        ("GET", "/m/get"), ("POST", "/m/post"), ("PUT", "/m/put"), ("PATCH", "/m/patch"),
        ("DELETE", "/m/del"), ("HEAD", "/m/head"), ("OPTIONS", "/m/options"),
        ("POST", "/m/request"), ("POST", "/m/form")], log
    for e in log[:-1]:
        assert e["headers"].get("x-test") == "yes", e
    bodies = {e["path"]: e["body"] for e in log}
    assert bodies["/m/post"] == "raw body"
    assert bodies["/m/put"] == "put body"
    assert bodies["/m/patch"] == "patch body"
    assert bodies["/m/request"] == "req body"
    form = log[-1]
    assert form["headers"].get("content-type", "").startswith(
        "application/x-www-form-urlencoded"), form
    assert parse_qs(form["body"]) == {"name": ["a b"], "n": ["1&2"], "e": ["é"]}, form
    assert int(form["headers"]["content-length"]) == len(form["body"].encode()), form
    assert metric(r.summary, "http_reqs")["count"] == len(echo_server.log) == 9


def test_name_tag_replaces_url_and_custom_tags(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 3, vus = 1 }
        function default()
          local id = stampede.vu.iteration + 1
          http.get(BASE .. "/item/" .. id, { tags = { name = "GET /item/:id", kind = "read" } })
          http.get(BASE .. "/other")
        end
    """, "--threshold", "http_reqs{name:GET /item/:id}: count==3",
         "--threshold", "http_reqs{kind:read}: count==3",
         base=echo_server)
    assert threshold_entry(r.summary, "http_reqs{name:GET /item/:id}", "count==3")["ok"]
    assert metric(r.summary, "http_reqs{name:GET /item/:id}")["count"] == 3
    assert metric(r.summary, "http_reqs{kind:read}")["count"] == 3
    assert metric(r.summary, "http_reqs")["count"] == 6
    # the timeseries carry the name tag instead of the URL; other requests keep the URL
    named = series(r.summary, "http_reqs", name="GET /item/:id")
    assert named and all(s["tags"].get("kind") == "read" for s in named), named
    assert series_total(r.summary, "http_reqs", name="GET /item/:id") == 3
    names = {s["tags"].get("name") for s in series(r.summary, "http_reqs")} - {None}
    assert not any("/item/1" in n for n in names), names
    assert series_total(r.summary, "http_reqs", name=echo_server.base + "/other") == 3, names
    assert sorted(e["path"] for e in echo_server.entries(prefix="/item/")) == \
        ["/item/1", "/item/2", "/item/3"]


def test_request_timeout(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          local a = http.get(BASE .. "/slow?delay=5000", { timeout = "300ms" })
          local b = http.get(BASE .. "/slow?delay=5000", { timeout = 300 })
          local c = http.get(BASE .. "/fast", { timeout = "2s" })
          for _, res in ipairs({ a, b }) do
            stampede.check(res, {
              ["timed out status 0"] = function(r) return r.status == 0 end,
              ["timed out code"] = function(r) return r.error_code == 1050 end,
              ["timed out error text"] = function(r) return type(r.error) == "string" and r.error ~= "" end,
              ["timed out no body"] = function(r) return r.body == nil end,
            })
          end
          stampede.check(c, { ["fast ok"] = function(r) return r.status == 200 and r.error_code == 0
                                                   and r.error == "" end })
        end
    """, base=echo_server, timeout=20)
    assert_checks_pass(r)
    errs = errors_by_kind(r.summary)
    assert errs.get("request_timeout", {}).get("count") == 2, r.summary["errors"]
    assert errs["request_timeout"]["code"] == ERROR_CODES["request_timeout"]
    assert r.elapsed < 4.5, f"a 300 ms timeout did not cut a 5 s response short\n{r}"
    failed = metric(r.summary, "http_req_failed")
    assert failed["passes"] == 2 and failed["fails"] == 1, failed


def test_redirects(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          for _, code in ipairs({ 301, 302, 308 }) do
            local res = http.get(BASE .. "/redirect/" .. code .. "?to=/final/get" .. code)
            stampede.check(res, {
              ["followed " .. code] = function(r) return r.status == 200 and
                  r:json().path == "/final/get" .. code end,
              ["url after " .. code] = function(r) return r.url == BASE .. "/final/get" .. code end,
            })
          end
          local res = http.post(BASE .. "/redirect/303?to=/final/after303", "payload")
          stampede.check(res, { ["303 turns POST into GET"] = function(r)
              local j = r:json(); return r.status == 200 and j.method == "GET" and j.body == ""
                  and r.method == "GET" end })
          res = http.post(BASE .. "/redirect/307?to=/final/after307", "keep me")
          stampede.check(res, { ["307 keeps method and body"] = function(r)
              local j = r:json(); return r.status == 200 and j.method == "POST"
                  and j.body == "keep me" end })
          res = http.get(BASE .. "/redirect/302?to=/final/never", { redirects = 0 })
          stampede.check(res, {
            ["not followed"] = function(r) return r.status == 302 end,
            ["location visible"] = function(r) return r:header("location") == "/final/never" end,
          })
          res = http.get(BASE .. "/chain/3", { redirects = 2 })
          stampede.check(res, { ["stops after 2 redirects"] = function(r) return r.status == 302 end })
          res = http.get(BASE .. "/chain/3")
          stampede.check(res, { ["chain of 3 followed"] = function(r)
              return r.status == 200 and r:json().path == "/chain/0" end })
        end
    """, base=echo_server)
    assert_checks_pass(r)
    paths = [e["path"] for e in echo_server.log]
    assert "/final/never" not in paths
    assert paths.count("/chain/3") == 2 and paths.count("/chain/0") == 1, paths
    # each hop is a request of its own: the totals match the server's log (k6 semantics)
    assert metric(r.summary, "http_reqs")["count"] == len(echo_server.log) == 18, paths


def test_max_redirects_option(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1, maxRedirects = 1 }
        function default()
          local res = http.get(BASE .. "/chain/2")
          stampede.check(res, { ["stopped after one"] = function(r) return r.status == 302 end })
        end
    """, base=echo_server)
    assert_checks_pass(r)
    assert [e["path"] for e in echo_server.log] == ["/chain/2", "/chain/1"]


def test_response_type_none_and_discard(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          local keep = http.get(BASE .. "/a")
          local none = http.get(BASE .. "/b", { responseType = "none" })
          local text = http.get(BASE .. "/c", { responseType = "text" })
          stampede.check(keep, { ["default keeps body"] = function(r) return type(r.body) == "string"
              and #r.body > 0 end })
          stampede.check(none, { ["none: body nil"] = function(r) return r.body == nil end,
                                 ["none: status"] = function(r) return r.status == 200 end })
          stampede.check(text, { ["text keeps body"] = function(r) return r:json().path == "/c" end })
        end
    """, base=echo_server)
    assert_checks_pass(r)
    r = run_script(tmp_path, """
        options = { iterations = 1, discardResponseBodies = true }
        function default()
          local res = http.get(BASE .. "/d")
          stampede.check(res, { ["discarded"] = function(r) return r.body == nil and r.status == 200 end })
        end
    """, base=echo_server)
    assert_checks_pass(r)
    assert metric(r.summary, "data_received")["count"] > 0


def test_json_header_and_timings(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          local res = http.get(BASE .. "/headers?x=1", { headers = { ["X-Req"] = "v" } })
          stampede.check(res, {
            ["json decodes"] = function(r) local j = r:json()
                return j.path == "/headers" and j.query.x == "1" and j.headers["x-req"] == "v" end,
            ["header any case"] = function(r) return r:header("x-custom-header") == "hello"
                and r:header("X-CUSTOM-HEADER") == "hello" and r:header("X-Custom-Header") == "hello" end,
            ["canonical headers table"] = function(r) return r.headers["X-Custom-Header"] == "hello"
                and r.headers["Content-Type"] == "application/json" end,
            ["repeats joined"] = function(r) return r.headers["X-Multi"] == "a, b" end,
            ["missing header nil"] = function(r) return r:header("X-Nope") == nil end,
          })
          local text = http.get(BASE .. "/text")
          stampede.check(text, {
            ["json() raises on non-JSON"] = function(r) return not pcall(function() return r:json() end) end,
            ["text body"] = function(r) return r.body == "not json" end,
          })
          local slow = http.get(BASE .. "/slow?delay=150")
          stampede.check(slow.timings, {
            ["timings are numbers"] = function(t)
              for _, k in ipairs({ "blocked", "connecting", "tls_handshaking", "sending", "waiting",
                                    "receiving", "duration" }) do
                if type(t[k]) ~= "number" or t[k] < 0 then return false end
              end
              return true
            end,
            ["waiting covers the delay"] = function(t) return t.waiting >= 140 end,
            ["duration >= waiting"] = function(t) return t.duration >= t.waiting end,
            ["no tls"] = function(t) return t.tls_handshaking == 0 end,
          })
        end
    """, base=echo_server)
    assert_checks_pass(r)


def test_connection_refused(tmp_path, free_port):
    r = run_script(tmp_path, """
        options = { iterations = 2 }
        function default()
          local res = http.get(BASE .. "/x")
          stampede.check(res, {
            ["status 0"] = function(r) return r.status == 0 end,
            ["error set"] = function(r) return type(r.error) == "string" and r.error ~= "" end,
            ["error code 1212"] = function(r) return r.error_code == 1212 end,
            ["no body"] = function(r) return r.body == nil end,
          })
        end
    """, base=f"http://127.0.0.1:{free_port}")
    assert_checks_pass(r)
    errs = errors_by_kind(r.summary)
    assert errs.get("connection_refused", {}).get("count") == 2, r.summary["errors"]
    assert metric(r.summary, "http_req_failed")["rate"] == 1


def test_cookies_per_vu(tmp_path, echo_server):
    # VU 1 gets a cookie and must send it back on its next requests; VU 2 (which starts
    # its requests later) must never see it.
    r = run_script(tmp_path, """
        options = { scenarios = { s = { executor = "per-vu-iterations", vus = 2, iterations = 2 } } }
        function default()
          local vu = tostring(stampede.vu.id)
          local h = { headers = { ["X-VU"] = vu } }
          if stampede.vu.id == 1 then
            if stampede.vu.iteration == 0 then
              http.get(BASE .. "/cookie/set?session=vu1&other=x", h)
            end
          else
            stampede.sleep(0.3)
          end
          local res = http.get(BASE .. "/echo", h)
          http.get(BASE .. "/echo-extra", { headers = { ["X-VU"] = vu }, cookies = { extra = "e" .. vu } })
        end
    """, base=echo_server)
    assert r.summary["script_errors"] == []
    vu1 = [e for e in echo_server.entries(path="/echo") if e["headers"].get("x-vu") == "1"]
    vu2 = [e for e in echo_server.entries(path="/echo") if e["headers"].get("x-vu") == "2"]
    assert len(vu1) == 2 and len(vu2) == 2, echo_server.log
    for e in vu1:
        assert e["cookies"].get("session") == "vu1" and e["cookies"].get("other") == "x", e
    for e in vu2:
        assert "session" not in e["cookies"], f"VU 2 got VU 1's cookie: {e}"
    for e in echo_server.entries(path="/echo-extra"):
        vu = e["headers"]["x-vu"]
        assert e["cookies"].get("extra") == "e" + vu, e
        assert ("session" in e["cookies"]) == (vu == "1"), e


def test_chunked_response(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 2 }
        function default()
          local res = http.get(BASE .. "/chunked")
          stampede.check(res, { ["chunked body"] = function(r)
              return r.status == 200 and r.body == "chunk-1;chunk-2;chunk-3;" end })
          -- the connection is still usable after a chunked body
          local after = http.get(BASE .. "/after")
          stampede.check(after, { ["after chunked"] = function(r) return r:json().path == "/after" end })
        end
    """, base=echo_server)
    assert_checks_pass(r)
    assert r.summary["errors"] == []


def test_batch_returns_in_order(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          local rs = http.batch({
            BASE .. "/batch/a?delay=600",
            { "GET", BASE .. "/batch/b?delay=10" },
            { method = "POST", url = BASE .. "/batch/c?delay=300", body = "cbody",
              params = { headers = { ["X-C"] = "1" }, tags = { name = "batch-c" } } },
            { "PUT", BASE .. "/batch/d", "dbody" },
          })
          stampede.check(rs, {
            ["four responses"] = function(t) return #t == 4 end,
            ["order"] = function(t) return t[1]:json().path == "/batch/a" and
                t[2]:json().path == "/batch/b" and t[3]:json().path == "/batch/c" and
                t[4]:json().path == "/batch/d" end,
            ["methods"] = function(t) return t[2]:json().method == "GET" and
                t[3]:json().method == "POST" and t[4]:json().method == "PUT" end,
            ["bodies and params"] = function(t) return t[3]:json().body == "cbody" and
                t[3]:json().headers["x-c"] == "1" and t[4]:json().body == "dbody" end,
          })
        end
    """, "--threshold", "http_reqs{name:batch-c}: count==1", base=echo_server)
    assert_checks_pass(r)
    assert metric(r.summary, "http_reqs")["count"] == 4
    assert len(echo_server.entries(prefix="/batch/")) == 4
    # sent at once: the fast ones were being answered while /batch/a was still delayed
    assert echo_server.max_inflight >= 2, echo_server.max_inflight
    conns = {e["conn"] for e in echo_server.entries(prefix="/batch/")}
    assert len(conns) >= 2, f"batch requests shared one connection: {conns}"


def test_json_module_roundtrip(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          local payload = json.encode({ name = "x", n = 3, list = { 1, 2, 3 }, nested = { ok = true } })
          local res = http.post(BASE .. "/j", payload, { headers = { ["Content-Type"] = "application/json" } })
          local echoed = json.decode(res:json().body)
          stampede.check(echoed, { ["roundtrip"] = function(d) return d.name == "x" and d.n == 3
              and #d.list == 3 and d.list[3] == 3 and d.nested.ok == true end })
        end
    """, base=echo_server)
    assert_checks_pass(r)
    body = json.loads(echo_server.entries(path="/j")[0]["body"])
    assert body == {"name": "x", "n": 3, "list": [1, 2, 3], "nested": {"ok": True}}


def test_threshold_on_name_with_braces(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 2,
                    thresholds = { ["http_reqs{name:GET /item/{id}}"] = { "count==2" } } }
        function default()
          http.get(BASE .. "/item/" .. stampede.vu.iteration, { tags = { name = "GET /item/{id}" } })
        end
    """, base=echo_server)
    assert metric(r.summary, "http_reqs{name:GET /item/{id}}")["count"] == 2
    assert threshold_entry(r.summary, "http_reqs{name:GET /item/{id}}", "count==2")["ok"]


def test_connection_reuse_options(tmp_path, echo_server):
    src = """
        options = { scenarios = { s = { executor = "per-vu-iterations", vus = 2, iterations = 3 } } %s }
        function default()
          local h = { headers = { ["X-VU"] = tostring(stampede.vu.id) } }
          http.get(BASE .. "/c1", h)
          http.get(BASE .. "/c2", h)
        end
    """

    def conns_per_vu():
        out = {}
        for e in echo_server.entries(prefix="/c"):
            out.setdefault(e["headers"]["x-vu"], set()).add(e["conn"])
        return out

    run_script(tmp_path, src % "", base=echo_server)
    per_vu = conns_per_vu()
    assert {vu: len(c) for vu, c in per_vu.items()} == {"1": 1, "2": 1}, \
        f"keep-alive: each VU should use one connection for its 6 requests: {per_vu}"
    assert per_vu["1"] != per_vu["2"], "two VUs shared a connection"

    echo_server.log.clear()
    run_script(tmp_path, src % ", noVUConnectionReuse = true", base=echo_server)
    per_vu = conns_per_vu()
    assert {vu: len(c) for vu, c in per_vu.items()} == {"1": 3, "2": 3}, \
        f"noVUConnectionReuse: one connection per iteration: {per_vu}"

    echo_server.log.clear()
    run_script(tmp_path, src % ", noConnectionReuse = true", base=echo_server)
    per_vu = conns_per_vu()
    assert {vu: len(c) for vu, c in per_vu.items()} == {"1": 6, "2": 6}, \
        f"noConnectionReuse: one connection per request: {per_vu}"


def test_user_agent(tmp_path, echo_server):
    run_script(tmp_path, """
        options = { iterations = 1, userAgent = "my-agent/1.0" }
        function default()
          http.get(BASE .. "/ua")
          http.get(BASE .. "/ua-override", { headers = { ["User-Agent"] = "per-request" } })
        end
    """, base=echo_server)
    (ua,) = echo_server.entries(path="/ua")
    assert ua["headers"].get("user-agent") == "my-agent/1.0", ua["headers"]
    (ov,) = echo_server.entries(path="/ua-override")
    # a header given in params replaces the default one (not sent twice)
    assert ov["headers"].get("user-agent") == "per-request", ov["headers"]


def test_cookie_set_on_redirect_is_sent_to_the_target(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          local res = http.get(BASE .. "/redirect/302?to=/landing&set_cookie=sid=abc")
          stampede.check(res, { ["landed"] = function(r) return r:json().path == "/landing" end,
                                ["cookie on the redirected request"] = function(r)
                                  return r:json().cookies.sid == "abc" end })
        end
    """, base=echo_server)
    assert_checks_pass(r)


def test_batch_with_a_failing_element(tmp_path, echo_server, free_port):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          local rs = http.batch({ BASE .. "/ok1", "http://127.0.0.1:" .. stampede.env.DEAD .. "/x",
                                  BASE .. "/ok2" })
          stampede.check(rs, {
            ["three"] = function(t) return #t == 3 end,
            ["first ok"] = function(t) return t[1].status == 200 and t[1]:json().path == "/ok1" end,
            ["second refused"] = function(t) return t[2].status == 0 and t[2].error_code == 1212 end,
            ["third ok"] = function(t) return t[3].status == 200 and t[3]:json().path == "/ok2" end,
          })
        end
    """, "-e", f"DEAD={free_port}", base=echo_server)
    assert_checks_pass(r)
    assert errors_by_kind(r.summary)["connection_refused"]["count"] == 1


def test_large_bodies(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          local big = http.get(BASE .. "/big?size=1000000")
          local chunked = http.get(BASE .. "/big?size=300000&chunked=1")
          local up = http.post(BASE .. "/upload", string.rep("y", 500000))
          stampede.check(big, { ["1 MB body"] = function(r) return #r.body == 1000000 end })
          stampede.check(chunked, { ["300 kB chunked body"] = function(r) return #r.body == 300000 end })
          stampede.check(up, { ["upload echoed"] = function(r) return #r:json().body == 500000 end })
        end
    """, base=echo_server)
    assert_checks_pass(r)
    assert metric(r.summary, "data_received")["count"] >= 1_800_000
    assert metric(r.summary, "data_sent")["count"] >= 500_000


def test_header_names_canonicalised(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          local res = http.get(BASE .. "/headers")
          stampede.check(res, {
            ["canonical"] = function(r) return r.headers["X-Lowercase-Name"] == "low" end,
            ["lookup"] = function(r) return r:header("x-lowercase-name") == "low" end,
          })
        end
    """, base=echo_server)
    assert_checks_pass(r)


def test_sleep_counts_in_iteration_not_request(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 2, vus = 1 }
        function default()
          http.get(BASE .. "/s")
          stampede.sleep(0.2)
        end
    """, base=echo_server)
    it = metric(r.summary, "iteration_duration")
    assert it["min"] >= 195, it
    # each iteration is its request plus the 200 ms sleep: on average too (one request
    # stalled by a busy machine does not blur it, as a max against a min would)
    req = metric(r.summary, "http_req_duration")
    assert it["avg"] - req["avg"] >= 195, (req, it)


def test_cookie_jar_replace_and_delete(tmp_path, echo_server):
    # ";" "=" "/" are URL-encoded in the set_cookie query value
    run_script(tmp_path, """
        options = { iterations = 1 }
        local function set(v) http.get(BASE .. "/set?set_cookie=" .. v) end
        function default()
          set("a%3D1"); set("b%3D1"); set("c%3D1")
          http.get(BASE .. "/check/1")
          set("a%3D2")                                   -- replaces a
          set("b%3D%3B%20Max-Age%3D0%3B%20Path%3D%2F")   -- deletes b
          http.get(BASE .. "/check/2")
        end
    """, base=echo_server)
    (first,) = echo_server.entries(path="/check/1")
    (second,) = echo_server.entries(path="/check/2")
    assert first["cookies"] == {"a": "1", "b": "1", "c": "1"}, first["headers"].get("cookie")
    assert second["cookies"] == {"a": "2", "c": "1"}, second["headers"].get("cookie")


def test_cookie_expires_in_the_past_deletes(tmp_path, echo_server):
    run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          http.get(BASE .. "/set?set_cookie=sid%3D1")
          http.get(BASE .. "/set?set_cookie=sid%3D%3B%20Expires%3DThu%2C%2001%20Jan%201970%2000%3A00%3A00%20GMT%3B%20Path%3D%2F")
          http.get(BASE .. "/check")
        end
    """, base=echo_server)
    (check,) = echo_server.entries(path="/check")
    assert "sid" not in check["cookies"], check["headers"].get("cookie")


def test_cookie_path_attribute(tmp_path, echo_server):
    run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          http.get(BASE .. "/set?set_cookie=scoped%3Dyes%3B%20Path%3D%2Fapi")
          http.get(BASE .. "/check/root")
          http.get(BASE .. "/api/check")
        end
    """, base=echo_server)
    (root,) = echo_server.entries(path="/check/root")
    (api,) = echo_server.entries(path="/api/check")
    assert api["cookies"] == {"scoped": "yes"}, api["headers"].get("cookie")
    assert root["cookies"] == {}, root["headers"].get("cookie")


def test_expected_statuses_and_failed_rate(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function default()
          http.get(BASE)                      -- no path: "/"
          http.get(BASE .. "/status/201")
          http.get(BASE .. "/status/302")     -- a redirect without Location is a response too
          http.get(BASE .. "/status/404")
          local res = http.get(BASE .. "/status/503")
          stampede.check(res, { ["5xx keeps status and body"] = function(r)
              return r.status == 503 and r:json().path == "/status/503" end })
        end
    """, base=echo_server)
    assert_checks_pass(r)
    assert echo_server.log[0]["path"] == "/", echo_server.log[0]
    failed = metric(r.summary, "http_req_failed")
    assert (failed["passes"], failed["fails"]) == (2, 3), failed
    assert metric(r.summary, "http_reqs")["count"] == 5


def test_ipv6_target(tmp_path, require_ipv6):
    with EchoServer(host="::1") as srv:
        r = run_script(tmp_path, """
            options = { iterations = 2 }
            function default()
              local res = http.get(BASE .. "/v6")
              stampede.check(res, { ["v6"] = function(r) return r:json().path == "/v6" end })
            end
        """, base=f"http://[::1]:{srv.port}")
        assert_checks_pass(r)
        assert len(srv.entries(path="/v6")) == 2


def test_response_fields_stay_valid_after_later_requests(tmp_path, echo_server):
    # responses are plain values: reading one after other requests (in this iteration or a
    # later one) gives its own status, body, headers and timings
    r = run_script(tmp_path, """
        options = { scenarios = { s = { executor = "per-vu-iterations", vus = 2, iterations = 3 } } }
        kept = nil
        local function same(res, path, status)
          return res.status == status and res:json().path == path and
                 res:header("Content-Type") == "application/json" and
                 res.headers["Content-Length"] == tostring(#res.body) and
                 res.url == BASE .. path .. "?delay=" .. (path == "/first" and "30" or "0") and
                 res.timings.waiting >= (path == "/first" and 25 or 0)
        end
        function default()
          local i = stampede.vu.iteration
          if kept then
            stampede.check(kept, { ["previous iteration's response intact"] = function(r)
                return same(r, "/first", 200) end })
          end
          local a = http.get(BASE .. "/first?delay=30")
          local b = http.get(BASE .. "/status/404?delay=0")
          local batch = http.batch({ BASE .. "/x?delay=0", BASE .. "/y?delay=0" })
          local c = http.post(BASE .. "/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz?delay=0",
                              string.rep("q", 5000))
          stampede.check(a, { ["first intact"] = function(r) return same(r, "/first", 200) end })
          stampede.check(b, { ["second intact"] = function(r) return same(r, "/status/404", 404) end })
          stampede.check(batch, { ["batch intact"] = function(t)
              return same(t[1], "/x", 200) and same(t[2], "/y", 200) end })
          kept = a
        end
    """, base=echo_server)
    assert_checks_pass(r)


def test_response_type_text_overrides_discard(tmp_path, echo_server):
    r = run_script(tmp_path, """
        options = { iterations = 1, discardResponseBodies = true }
        function default()
          local res = http.get(BASE .. "/keep", { responseType = "text" })
          stampede.check(res, { ["explicit text keeps the body"] = function(r)
              return r.body ~= nil and r:json().path == "/keep" end })
        end
    """, base=echo_server)
    assert_checks_pass(r)
