"""Script values with metamethods in a request's parameters, end to end (issue #8 §2).

A request's params (headers, cookies, tags, the params table itself), a form body and
http.batch's request tables may carry metamethods (__index, __tostring, __pairs) that raise.
stampede reads each of them once, when the script makes the call, under that call's
protection: a metamethod that raises there is a script error (file:line) and nothing of
that call is sent; one that would raise only on a later read is never read again -- not
when a redirect hop is built from the event loop, where an error used to abort the process
("unprotected Lua error", exit 134). __pairs is never called (tables are read raw).

Every run is a few iterations against RecordingServer (rfc_servers.py) on 127.0.0.1, which
answers /hop/1 with a 302 to /hop/0, and a request carrying `X-Redirect: 307 /landed` and
`X-Once: ID` with a 307 once; every run must end with exit 0, never 134.
"""

import json

from conftest import metric
from rfc_servers import RecordingServer
from script_servers import echo_server  # noqa: F401
from script_servers import line_of, run_script, script_errors, series_total
# the RFC tests' server (module-scoped per importing module), helpers and runner
from test_http_rfc import outputs, run, server, srv  # noqa: F401

# Helpers of every script here: tables whose metamethods raise.
LUA_BAD = r"""
-- bad(mm, from, ret): a table whose metamethod mm returns ret, and raises from its
-- from-th call on (from = 1: at once)
local function bad(mm, from, ret)
  local calls, mt = 0, {}
  mt[mm] = function(...)
    calls = calls + 1
    if calls >= from then error("bad " .. mm .. " call " .. calls) end -- BAD RAISES
    if mm == "__pairs" then return next, {}, nil end
    return ret
  end
  return setmetatable({}, mt)
end
-- once_each(values): a proxy whose __index gives values[k] the first time k is read and
-- raises the second time
local function once_each(values)
  local seen = {}
  return setmetatable({}, { __index = function(_, k)
    if seen[k] then error("read twice: " .. tostring(k)) end -- TWICE RAISES
    seen[k] = true
    return values[k]
  end })
end
-- hostile(t): t with __index and __pairs that raise (raw reads see t's own fields)
local function hostile(t)
  return setmetatable(t, { __index = function(_, k) error("__index " .. tostring(k)) end,
                           __pairs = function() error("__pairs") end })
end
local function show(tag, res)
  out(tag, { status = res.status, code = res.error_code, url = res.url })
end
"""


def run_cases(tmp_path, srv, cases):
    """Run each Lua statement of cases ({name: code}, in order) as one iteration, with the
    bad/once_each/hostile/show helpers. Returns (result, outputs, script error messages)."""
    names = list(cases)
    body = "\n".join(f"  function() {cases[n]} end, -- case {n}" for n in names)
    r = run(tmp_path, srv, LUA_BAD + f"""
local cases = {{
{body}
}}
options = {{ iterations = #cases, vus = 1 }}
function default() cases[stampede.scenario.iteration + 1]() end
""")
    assert r.rc == 0, r  # never 134 (a Lua panic): run() checks it too
    assert "unprotected Lua error" not in r.stderr, r.stderr
    return r, outputs(r), [e["message"] for e in script_errors(r.summary)]


def raised_at(r, marker):
    """The file:line prefix of an error raised on the script line holding marker."""
    return f"script.lua:{line_of(r.script, marker)}: "


def assert_raised(r, msgs, srv, raised, unsent):
    """The script errors are those of raised ({case: (marker, text)}: raised on the line of
    marker and saying text), one each, and no request for a path of unsent reached srv."""
    for name, (marker, text) in raised.items():
        msg = next((m for m in msgs if m.startswith(raised_at(r, marker)) and text in m),
                   None)
        assert msg is not None, (name, marker, text, msgs)
    assert sum(e["count"] for e in script_errors(r.summary)) == len(raised), msgs
    sent = [e["target"] for e in srv.entries() if e["path"] in unsent]
    assert not sent, f"sent despite the error: {sent}"


def values_at(srv, path, header):
    return [RecordingServer.values(e, header) for e in srv.entries(path=path)]


# ======================================================================================
# params.headers
# ======================================================================================
def test_header_metamethods(tmp_path, srv):
    r, o, msgs = run_cases(tmp_path, srv, {
        # raises at once: a script error, nothing sent
        "first": 'http.get(BASE .. "/first", { headers = { ["X-A"] = bad("__tostring", 1, '
                 '"v") } })',
        # raises on its second call: read once, so a redirect still works (this aborted
        # the process: the hop called __tostring again from the event loop)
        "later": 'show("later", http.get(BASE .. "/hop/1", { headers = { ["X-A"] = '
                 'bad("__tostring", 2, "v") } }))',
        "later307": 'show("later307", http.post(BASE .. "/r307", "b", { headers = { '
                    '["X-A"] = bad("__tostring", 2, "w"), ["X-Redirect"] = "307 /landed", '
                    '["X-Once"] = "h307" } }))',
        # the headers table itself: __index and __pairs are never called
        "table": 'show("table", http.get(BASE .. "/hop/1?t", { headers = hostile({ '
                 '["X-B"] = "b" }) }))',
        # params whose every field may be read once only
        "params": 'show("params", http.get(BASE .. "/hop/1?p", once_each({ headers = { '
                  '["X-C"] = "c" }, cookies = { pc = "1" }, tags = { t = "x" } })))',
        "params_first": 'http.get(BASE .. "/pf", bad("__index", 1))',
    })
    assert_raised(r, msgs, srv, {"first": ("-- BAD RAISES", "bad __tostring call 1"),
                                 "params_first": ("-- BAD RAISES", "bad __index call 1")},
                  unsent=("/first", "/pf"))
    base = f"http://127.0.0.1:{srv.port}"
    assert o["later"] == {"status": 200, "code": 0, "url": base + "/hop/0"}, o
    assert o["later307"] == {"status": 200, "code": 0, "url": base + "/landed"}, o
    assert o["table"]["status"] == 200 and o["params"]["status"] == 200, o
    # each hop sent the value read once
    hop1 = {e["target"]: e for e in srv.entries(path="/hop/1")}
    hop0 = srv.entries(path="/hop/0")
    assert RecordingServer.values(hop1["/hop/1"], "x-a") == ["v"], hop1
    assert RecordingServer.values(hop1["/hop/1?t"], "x-b") == ["b"], hop1
    assert RecordingServer.values(hop1["/hop/1?p"], "x-c") == ["c"], hop1
    assert RecordingServer.values(hop1["/hop/1?p"], "cookie") == ["pc=1"], hop1
    assert sorted(sum((RecordingServer.values(e, n) for e in hop0 for n in
                       ("x-a", "x-b", "x-c", "cookie")), [])) == ["b", "c", "pc=1", "v"]
    (first, landed) = srv.entries(path="/r307") + srv.entries(path="/landed")
    for e in (first, landed):
        assert RecordingServer.values(e, "x-a") == ["w"] and e["body"] == b"b", e


# ======================================================================================
# params.cookies
# ======================================================================================
def test_cookie_metamethods(tmp_path, srv):
    r, o, msgs = run_cases(tmp_path, srv, {
        # { value = ..., replace = true } behind an __index that allows one read per key
        "proxy": 'show("proxy", http.get(BASE .. "/hop/1?a", { cookies = { a = '
                 'once_each({ value = "v", replace = true }) } }))',
        "index_first": 'http.get(BASE .. "/c1", { cookies = { a = bad("__index", 1) } })',
        "tostring": 'http.get(BASE .. "/c2", { cookies = { a = bad("__tostring", 1, "v") } '
                    '})',
        "index_later": 'show("index_later", http.get(BASE .. "/hop/1?c", { cookies = { '
                       'c = bad("__index", 3, "z") } }))',
        "table": 'show("table", http.get(BASE .. "/hop/1?b", { cookies = hostile({ b = "1" '
                 '}) }))',
    })
    assert_raised(r, msgs, srv, {
        "index_first": ("-- BAD RAISES", "bad __index call 1"),
        # a table value is not converted with __tostring: it is read as { value = ... }
        "tostring": ("-- case tostring", 'http.get: params.cookies: cookie "a": the '
                     "table's value field must be a string or a number")},
        unsent=("/c1", "/c2"))
    for name in ("proxy", "index_later", "table"):
        assert o[name]["status"] == 200 and o[name]["code"] == 0, o
    hop1 = {e["target"]: RecordingServer.values(e, "cookie")
            for e in srv.entries(path="/hop/1")}
    assert hop1 == {"/hop/1?a": ["a=v"], "/hop/1?c": ["c=z"], "/hop/1?b": ["b=1"]}, hop1
    hop0 = sorted(v for e in srv.entries(path="/hop/0")
                  for v in RecordingServer.values(e, "cookie"))
    assert hop0 == ["a=v", "b=1", "c=z"], hop0


# ======================================================================================
# params.tags
# ======================================================================================
def test_tag_metamethods(tmp_path, srv):
    r, o, msgs = run_cases(tmp_path, srv, {
        "first": 'http.get(BASE .. "/t1", { tags = { k = bad("__tostring", 1, "t") } })',
        "later": 'show("later", http.get(BASE .. "/hop/1", { tags = { k = '
                 'bad("__tostring", 2, "t"), name = bad("__tostring", 2, "nm") } }))',
        "table": 'show("table", http.get(BASE .. "/hop/1?h", { tags = hostile({ k = "h" }) '
                 '}))',
    })
    assert_raised(r, msgs, srv, {"first": ("-- BAD RAISES", "bad __tostring call 1")},
                  unsent=("/t1",))
    assert o["later"]["status"] == 200 and o["table"]["status"] == 200, o
    # both hops of each redirected request carry the tags read once
    assert series_total(r.summary, "http_reqs", k="t", name="nm") == 2
    assert series_total(r.summary, "http_reqs", k="h") == 2
    assert metric(r.summary, "http_reqs")["count"] == 4


# ======================================================================================
# the body
# ======================================================================================
def test_body_metamethods(tmp_path, srv):
    r, o, msgs = run_cases(tmp_path, srv, {
        "first": 'http.post(BASE .. "/b1", { f = bad("__tostring", 1, "x") })',
        "key": 'http.post(BASE .. "/b2", { [bad("__tostring", 1, "k")] = "x" })',
        # a form redirected with 307 keeps its body: the fields are read once
        "later": 'show("later", http.post(BASE .. "/b3", { f = bad("__tostring", 2, "x") }, '
                 '{ headers = { ["X-Redirect"] = "307 /landed", ["X-Once"] = "b307" } }))',
        "table": 'show("table", http.post(BASE .. "/b4", hostile({ g = "y" })))',
    })
    assert_raised(r, msgs, srv, {"first": ("-- BAD RAISES", "bad __tostring call 1"),
                                 "key": ("-- BAD RAISES", "bad __tostring call 1")},
                  unsent=("/b1", "/b2"))
    base = f"http://127.0.0.1:{srv.port}"
    assert o["later"] == {"status": 200, "code": 0, "url": base + "/landed"}, o
    assert o["table"]["status"] == 200, o
    form = "application/x-www-form-urlencoded"
    for e in srv.entries(path="/b3") + srv.entries(path="/landed"):
        assert e["body"] == b"f=x", e
        assert RecordingServer.values(e, "content-type") == [form], e
    (b4,) = srv.entries(path="/b4")
    assert b4["body"] == b"g=y", b4


# ======================================================================================
# http.batch
# ======================================================================================
def test_batch_metamethods(tmp_path, srv):
    r, o, msgs = run_cases(tmp_path, srv, {
        "works": """
    local rs = http.batch({
      { method = "GET", url = BASE .. "/hop/1?b1", params = {
          headers = { ["X-A"] = bad("__tostring", 2, "v") },
          cookies = { c = once_each({ value = "1" }) },
          tags = { k = bad("__tostring", 2, "t") } } },
      once_each({ url = BASE .. "/hop/1?b2", params = once_each({ headers = { ["X-B"] = "b" } }) }),
      { "GET", BASE .. "/hop/1?b3", nil, { headers = hostile({ ["X-C"] = "c" }) } },
    })
    out("works", { rs[1].status, rs[2].status, rs[3].status, rs[1].url })""",
        "element_first": 'http.batch({ BASE .. "/e0", bad("__index", 1) })',
        "header_first": 'http.batch({ BASE .. "/e1", { "GET", BASE .. "/e2", nil, { headers = '
                        '{ ["X-A"] = bad("__tostring", 1, "v") } } } })',
    })
    # a batch with a bad request sends none of its requests
    assert_raised(r, msgs, srv, {
        "element_first": ("-- BAD RAISES", "bad __index call 1"),
        "header_first": ("-- BAD RAISES", "bad __tostring call 1")},
        unsent=("/e0", "/e1", "/e2"))
    base = f"http://127.0.0.1:{srv.port}"
    assert o["works"] == [200, 200, 200, base + "/hop/0"], o
    hop1 = {e["target"]: e for e in srv.entries(path="/hop/1")}
    assert RecordingServer.values(hop1["/hop/1?b1"], "x-a") == ["v"]
    assert RecordingServer.values(hop1["/hop/1?b1"], "cookie") == ["c=1"]
    assert RecordingServer.values(hop1["/hop/1?b2"], "x-b") == ["b"]
    assert RecordingServer.values(hop1["/hop/1?b3"], "x-c") == ["c"]
    hop0 = sorted(json.dumps(e["headers"][2:]) for e in srv.entries(path="/hop/0"))
    assert len(hop0) == 3, hop0
    assert series_total(r.summary, "http_reqs", k="t") == 2


# ======================================================================================
# what a request keeps alive while it waits
# ======================================================================================
def test_params_changed_while_in_flight(tmp_path, echo_server):
    """params.responseCallback and params.jar are kept for the request, not through the
    params table: another VU of the worker that clears them (a module's table is shared by
    the VUs of a worker) and collects garbage while the request waits frees neither."""
    (tmp_path / "shared.lua").write_text("return {}\n")
    r = run_script(tmp_path, """
local shared = require "shared"
options = { scenarios = { s = { executor = "per-vu-iterations", vus = 2, iterations = 1 } } }
function default()
  if stampede.vu.id == 1 then
    shared.p = { responseCallback = http.expectedStatuses({ min = 200, max = 399 }, 418),
                 jar = http.CookieJar() }
    local res = http.get(BASE .. "/redirect/302?to=/status/418&delay=400&set_cookie=j=1",
                         shared.p)
    print("OUT status " .. res.status)
  else
    stampede.sleep(0.1)
    print("OUT cleared " .. tostring(shared.p ~= nil))
    if shared.p then shared.p.responseCallback = nil; shared.p.jar = nil end
    for _ = 1, 3 do collectgarbage("collect") end
  end
end
""", "-t", "1", base=echo_server)
    assert "OUT status 418" in r.stdout and "OUT cleared true" in r.stdout, r
    failed = metric(r.summary, "http_req_failed")
    assert failed.get("passes", 0) == 0 and failed.get("fails") == 2, failed
    (hop,) = [e for e in echo_server.log if e["path"] == "/status/418"]
    assert hop["cookies"] == {"j": "1"}, hop
