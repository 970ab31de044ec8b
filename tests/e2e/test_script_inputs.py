"""Inputs a script request must reject or bound (issue #8 §3, §1), end to end.

  1. Every user string that reaches the wire goes through one check (wire_check): cookie
     names and values (params.cookies, jar.set), header names and values, the method and
     the URL. A bad one is a script error naming the parameter and the offending byte, with
     file:line, and nothing of that call is sent: the server never sees an injected line.
  2. A redirect to a scheme other than http/https ends the request with unsupported_scheme
     (1021); scheme-relative and upper-case http Locations are still followed; an http
     Location without a host ("http:/x") is not followed.
  3. params.maxResponseBodySize: bytes or "64MB"-style sizes; a larger response body ends
     the request with response_too_large (1030), without its body; bad values are script
     errors naming the parameter.

Each run is one or a few iterations against a RecordingServer (rfc_servers.py) on 127.0.0.1
that keeps every request exactly as it came off the wire.
"""

import json

from conftest import errors_by_kind, metric
from rfc_servers import RecordingServer
from script_servers import line_of, script_errors
# the RFC tests' server (module-scoped per importing module), helpers and runner
from test_http_rfc import outputs, run, server, srv  # noqa: F401


# ======================================================================================
# 1. One check of everything that reaches the wire
# ======================================================================================
# (call, what the error says). Each call is one iteration; none may send anything.
INJECTIONS = [
    ('http.get(BASE .. "/i", { cookies = { ["a;b"] = "c\\r\\nd" } })',
     'http.get: params.cookies: cookie name "a;b" contains \';\' (not a token, '
     'RFC 6265 §4.1.1)'),
    ('http.get(BASE .. "/i", { cookies = { a = "c\\r\\nX-Injected: 1" } })',
     'http.get: params.cookies: cookie "a": value "c\\r\\nX-Injected: 1" contains \'\\r\' '
     '(not a cookie-octet, RFC 6265 §4.1.1)'),
    ('http.get(BASE .. "/i", { cookies = { a = "\\nX-Injected: 1" } })',
     "contains '\\n' (not a cookie-octet"),
    ('http.get(BASE .. "/i", { cookies = { ["a\\r\\nX-Injected"] = "1" } })',
     "params.cookies: cookie name \"a\\r\\nX-Injected\" contains '\\r' (not a token"),
    ('http.get(BASE .. "/i", { cookies = { a = { value = "1\\r\\nX-Injected: 1", '
     'replace = true } } })',
     "params.cookies: cookie \"a\": value \"1\\r\\nX-Injected: 1\" contains '\\r'"),
    ('http.get(BASE .. "/i", { cookies = { a = "1; injected=1" } })',
     "contains ';' (not a cookie-octet"),
    ('http.get(BASE .. "/i", { cookies = { ["a=b"] = "1" } })',
     "cookie name \"a=b\" contains '=' (not a token"),
    ('http.get(BASE .. "/i", { cookies = { a = "x\\0y" } })', "contains '\\x00'"),
    ('http.get(BASE .. "/i", { cookies = { [""] = "1" } })', "cookie name is empty"),
    ('http.get(BASE .. "/i", { cookies = { a = {} } })',
     'params.cookies: cookie "a": the table\'s value field must be a string or a number'),
    ('http.get(BASE .. "/i", { cookies = { a = true } })',
     'params.cookies: cookie "a": the value must be a string or a number'),
    ('http.get(BASE .. "/i", { cookies = { a = math.huge } })',
     'params.cookies: cookie "a": the value is infinite'),
    ('http.get(BASE .. "/i", { cookies = { a = 0/0 } })',
     'params.cookies: cookie "a": the value is NaN'),
    ('http.get(BASE .. "/i", { cookies = { "a" } })',
     "params.cookies: cookie names must be strings, not number"),
    ('http.post(BASE .. "/i", "b", { cookies = { a = "sp ace" } })',
     "http.post: params.cookies: cookie \"a\": value \"sp ace\" contains ' '"),
    ('http.batch({ { "GET", BASE .. "/i", nil, { cookies = { a = "x\\r\\ny" } } } })',
     "http.batch: params.cookies: cookie \"a\": value"),
    ('http.cookieJar().set(BASE, "a;b", "1")',
     'jar.set: cookie name "a;b" contains \';\' (not a token, RFC 6265 §4.1.1)'),
    ('http.cookieJar().set(BASE, "a", "x\\r\\nX-Injected: 1")',
     "jar.set: cookie value \"x\\r\\nX-Injected: 1\" contains '\\r' (not a cookie-octet"),
    ('http.get(BASE .. "/i", { headers = { ["X-A"] = "a\\r\\nX-Injected: 1" } })',
     "http.get: invalid header 'X-A': control character in the value ('\\r' at byte 1, "
     "RFC 9110 §5.5)"),
    ('http.get(BASE .. "/i", { headers = { ["X-A\\r\\nX-Injected"] = "1" } })',
     "the name is not a token ('\\r' at byte 3, RFC 9110 §5.6.2)"),
    ('http.get(BASE .. "/i", { headers = { Cookie = "a=1\\r\\nX-Injected: 1" } })',
     "invalid header 'Cookie': control character in the value"),
    ('http.request("G\\r\\nT", BASE .. "/i")',
     "http.request: invalid method 'G\\r\\nT' ('\\r' at byte 1, RFC 9110 §5.6.2)"),
    ('http.get(BASE .. "/i\\r\\nX-Injected: 1")', "control character"),
    ('http.get(BASE .. "/i", { maxResponseBodySize = "64XB" })',
     "http.get: invalid params.maxResponseBodySize '64XB': expected bytes"),
    ('http.get(BASE .. "/i", { maxResponseBodySize = 0 })',
     "invalid params.maxResponseBodySize '0'"),
    ('http.get(BASE .. "/i", { maxResponseBodySize = -1 })',
     "invalid params.maxResponseBodySize '-1'"),
    ('http.get(BASE .. "/i", { maxResponseBodySize = 1.5 })',
     "invalid params.maxResponseBodySize '1.5'"),
    ('http.get(BASE .. "/i", { maxResponseBodySize = {} })',
     "invalid params.maxResponseBodySize 'table'"),
]


def test_bad_inputs_are_script_errors_and_send_nothing(tmp_path, srv):
    calls = "\n".join(f"  function() {c} end, -- case {i}" for i, (c, _) in
                      enumerate(INJECTIONS))
    r = run(tmp_path, srv, f"""
local bad = {{
{calls}
}}
options = {{ iterations = #bad, vus = 1 }}
function default() bad[stampede.scenario.iteration + 1]() end
""")
    errs = script_errors(r.summary)
    msgs = [e["message"] for e in errs]
    for i, (_, text) in enumerate(INJECTIONS):
        where = f"script.lua:{line_of(r.script, f'-- case {i}')}: "
        hits = [m for m in msgs if m.startswith(where)]
        assert len(hits) == 1, (i, where, msgs)
        assert text in hits[0], (i, text, hits[0])
        assert len(hits[0]) < 400, hits[0]
    assert sum(e["count"] for e in errs) == len(INJECTIONS), msgs
    assert srv.requests == 0, [e["raw_line"] for e in srv.entries()]
    assert metric(r.summary, "http_reqs").get("count", 0) == 0


def test_valid_cookies_reach_the_server_as_given(tmp_path, srv):
    """Quoted values, numbers and every cookie-octet pass; the server gets one Cookie field
    and no other line than the request's own."""
    octets = "".join(chr(c) for c in range(0x21, 0x7f) if chr(c) not in '",;\\')
    r = run(tmp_path, srv, f"""
options = {{ iterations = 1, vus = 1 }}
function default()
  http.cookieJar().set(BASE, "jar", "j")
  local res = http.get(BASE .. "/ok", {{ cookies = {{
    q = '"quoted"', n = 5, all = {json.dumps(octets)}, ["tok!#$%&'*+-.^_`|~"] = "",
    jar = {{ value = "p", replace = true }} }} }})
  out("status", res.status)
end
""")
    assert outputs(r)["status"] == 200, r
    (e,) = srv.entries(path="/ok")
    cookies = RecordingServer.values(e, "cookie")
    assert len(cookies) == 1, e["headers"]
    pairs = sorted(cookies[0].split("; "))
    assert pairs == sorted(['q="quoted"', "n=5", f"all={octets}", "tok!#$%&'*+-.^_`|~=",
                            "jar=p"]), pairs
    names = [n for n, _ in e["headers"]]
    assert names == ["host", "user-agent", "cookie"], e["headers"]


def test_injected_line_never_reaches_the_server_in_a_mixed_run(tmp_path, srv):
    """Good and bad calls interleaved over many iterations: only the good ones are sent,
    and no request the server read holds anything but its own fields."""
    r = run(tmp_path, srv, """
options = { iterations = 20, vus = 2 }
function default()
  local i = stampede.scenario.iteration
  if i % 2 == 0 then
    http.get(BASE .. "/good", { cookies = { a = tostring(i) }, headers = { ["X-I"] = i } })
  else
    http.get(BASE .. "/bad", { cookies = { a = i .. "\\r\\nX-Injected: " .. i } })
  end
end
""")
    assert sum(e["count"] for e in script_errors(r.summary)) == 10
    entries = srv.entries()
    assert len(entries) == 10 and all(e["path"] == "/good" for e in entries), entries
    for e in entries:
        assert [n for n, _ in e["headers"]] == ["host", "user-agent", "x-i", "cookie"], e
        assert b"\r" not in e["raw_line"] and b"\n" not in e["raw_line"]


# ======================================================================================
# 2. Redirects to another scheme
# ======================================================================================
def test_redirect_to_an_unsupported_scheme_is_an_error(tmp_path, srv):
    port = srv.port
    cases = {
        "ftp": f"ftp://127.0.0.1:{port}/x",
        "js": "javascript:alert(1)",
        "mailto": "mailto:a@example.com",
        "upper": f"FTP://127.0.0.1:{port}/y",
    }
    for name, loc in cases.items():
        srv.fixed(f"/to/{name}", 302, [("Location", loc)], b"moved\n")
    r = run(tmp_path, srv, f"""
options = {{ iterations = 1, vus = 1 }}
function default()
  for _, name in ipairs({{ {", ".join(json.dumps(n) for n in cases)} }}) do
    local res = http.get(BASE .. "/to/" .. name)
    out(name, {{ status = res.status, code = res.error_code, err = res.error, url = res.url,
                body = res.body == nil }})
  end
  local z = http.get(BASE .. "/to/ftp", {{ redirects = 0 }})
  out("zero", {{ status = z.status, code = z.error_code }})
end
""")
    o = outputs(r)
    for name, loc in cases.items():
        assert o[name]["status"] == 0, o[name]
        assert o[name]["code"] == 1021, o[name]
        assert o[name]["err"] == "redirect to a scheme other than http or https", o[name]
        assert o[name]["url"].lower() == loc.lower(), o[name]
        assert o[name]["body"] is True, o[name]
    assert o["zero"] == {"status": 302, "code": 0}, o["zero"]
    # only the 3xx requests were sent: nothing like "GET /ftp://..." followed
    assert sorted(e["target"] for e in srv.entries()) == sorted(
        [f"/to/{n}" for n in cases] + ["/to/ftp"]), [e["raw_line"] for e in srv.entries()]
    errs = errors_by_kind(r.summary)
    assert errs["unsupported_scheme"]["code"] == 1021, errs
    assert errs["unsupported_scheme"]["count"] == len(cases), errs
    # each 3xx is one http_req (recorded as it came) and each refused hop another, failed
    assert metric(r.summary, "http_reqs")["count"] == 2 * len(cases) + 1
    assert metric(r.summary, "http_req_failed")["passes"] == len(cases)


def test_redirect_odd_locations(tmp_path, srv):
    port = srv.port
    srv.fixed("/to/scheme-relative", 302, [("Location", f"//127.0.0.1:{port}/landed/sr")])
    srv.fixed("/to/upper-http", 301, [("Location", f"HTTP://127.0.0.1:{port}/landed/up")])
    srv.fixed("/to/no-host", 302, [("Location", "http:/landed/nohost")])
    srv.fixed("/to/no-slash", 302, [("Location", "http:landed")])
    r = run(tmp_path, srv, """
options = { iterations = 1, vus = 1 }
function default()
  for _, name in ipairs({ "scheme-relative", "upper-http", "no-host", "no-slash" }) do
    local res = http.get(BASE .. "/to/" .. name)
    out(name, { status = res.status, code = res.error_code, url = res.url })
  end
end
""")
    o = outputs(r)
    base = f"http://127.0.0.1:{port}"
    assert o["scheme-relative"] == {"status": 200, "code": 0, "url": base + "/landed/sr"}
    assert o["upper-http"]["status"] == 200 and o["upper-http"]["code"] == 0, o
    # an http URI without an authority (RFC 3986 §5.2.2, strict) is not one we can
    # request: not followed, the 3xx is the response, without error
    assert o["no-host"] == {"status": 302, "code": 0, "url": base + "/to/no-host"}, o
    assert o["no-slash"] == {"status": 302, "code": 0, "url": base + "/to/no-slash"}, o
    landed = sorted(e["path"] for e in srv.entries() if e["path"].startswith("/landed"))
    assert landed == ["/landed/sr", "/landed/up"], landed
    assert "unsupported_scheme" not in errors_by_kind(r.summary)


# ======================================================================================
# 3. params.maxResponseBodySize
# ======================================================================================
def test_max_response_body_size(tmp_path, srv):
    srv.fixed("/body/2000", 200, [("Content-Type", "text/plain")], b"x" * 2000)
    r = run(tmp_path, srv, """
options = { iterations = 1, vus = 1 }
function default()
  local cases = { small = 4000, exact = 2000, kb = "2kB", over = 1999, over_kb = "1kB",
                  over_kib = "1KiB" }
  for name, limit in pairs(cases) do
    local res = http.get(BASE .. "/body/2000", { maxResponseBodySize = limit })
    out(name, { status = res.status, code = res.error_code, err = res.error,
                len = res.body and #res.body or -1 })
  end
end
""")
    o = outputs(r)
    for name in ("small", "exact", "kb"):
        assert o[name] == {"status": 200, "code": 0, "err": "", "len": 2000}, (name, o[name])
    for name in ("over", "over_kb", "over_kib"):
        assert o[name]["code"] == 1030, (name, o[name])
        assert o[name]["status"] == 0 and o[name]["len"] == -1, (name, o[name])
        assert "maxResponseBodySize" in o[name]["err"], (name, o[name])
    errs = errors_by_kind(r.summary)
    assert errs["response_too_large"]["count"] == 3, errs
