"""Scripts cannot reach freed or foreign memory through stampede.http (issue #8).

Each case is a plain Lua script an attacker wrote against the http module: it tampers with
a response table, drops the VU's response callback from inside a params metamethod, or
converts jar.set options through __tostring metamethods that run the collector. Before the
fixes these crashed (SIGSEGV) or were AddressSanitizer reports (heap-buffer-overflow,
heap-use-after-free); now each runs to the end with the right answers. Redirect targets
with userinfo or an invalid port are followed without the userinfo, or end with an error,
never silently returned as the 3xx.

Run them with the ASan build too (STAMPEDE_BIN=build-asan/stampede): a report fails them.
"""

from urllib.parse import quote

from conftest import errors_by_kind, metric
from script_servers import echo_server, run_script, script_errors  # noqa: F401


def lines(r):
    """The script's print()ed lines as tab-separated lists."""
    return [ln.split("\t") for ln in r.stdout.splitlines()]


def check_clean(r):
    assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr


def test_response_hidden_data_cannot_be_replaced(tmp_path, echo_server):  # noqa: F811
    r = run_script(tmp_path, """
        options = { iterations = 1, vus = 1 }
        function default()
          local c = metrics.counter("c1")
          local r = http.get(BASE .. "/a")
          local odd = 0
          for k in pairs(r) do                      -- the attack: replace every hidden key
            if type(k) ~= "string" then r[k] = c; odd = odd + 1 end
          end
          local r2 = http.get(BASE .. "/b")
          for k in pairs(r2) do if type(k) == "userdata" then r2[k] = k end end
          print("odd", odd)
          print("url", r.url, r2.url, r.status, #r.body > 0)
          print("mt", tostring(getmetatable(r)), tostring(getmetatable(http.cookieJar())),
                tostring(getmetatable(http.expectedStatuses(200))))
          print("setmt", pcall(setmetatable, r, {}))
          r.headers = 5                             -- header() must not trust r.headers
          local ok, e = pcall(r.header, r, "content-type")
          print("header", ok, e)
        end
    """, base=echo_server)
    check_clean(r)
    out = {ln[0]: ln[1:] for ln in lines(r)}
    assert out["odd"] == ["0"], out  # nothing but string fields for pairs() to find
    assert out["url"] == [echo_server.base + "/a", echo_server.base + "/b", "200", "true"], out
    assert out["mt"] == ["false", "false", "false"], out
    assert out["setmt"][0] == "false", out
    assert out["header"][0] == "false" and "not a table" in out["header"][1], out
    assert script_errors(r.summary) == [], r.summary


def test_response_callback_dropped_inside_params_metamethod(tmp_path, echo_server):  # noqa: F811
    r = run_script(tmp_path, """
        options = { iterations = 1, vus = 1 }
        function default()
          http.setResponseCallback(http.expectedStatuses(404))
          local params = setmetatable({}, { __index = function(t, k)
            if k == "responseType" then
              http.setResponseCallback(nil)          -- drops the registry's reference
              collectgarbage("collect"); collectgarbage("collect")
              for i = 1, 100 do http.expectedStatuses(500, 501, 502, 503) end
            end
          end })
          local r = http.get(BASE .. "/status/404", params)
          print("status", r.status)
        end
    """, base=echo_server)
    check_clean(r)
    assert ["status", "404"] in lines(r), r.stdout
    # judged by the callback in force when the call was made: 404 expected, not failed
    failed = metric(r.summary, "http_req_failed")
    assert failed["passes"] == 0 and failed["fails"] == 1, failed
    assert script_errors(r.summary) == [], r.summary


def test_jar_set_options_converted_through_tostring(tmp_path, echo_server):  # noqa: F811
    r = run_script(tmp_path, """
        options = { iterations = 1, vus = 1 }
        local function gc_then(s)
          return setmetatable({}, { __tostring = function()
            collectgarbage("collect"); collectgarbage("collect")
            local junk = {} for i = 1, 1000 do junk[i] = ("z"):rep(9) .. i end
            return s end })
        end
        function default()
          local jar = http.cookieJar()
          local ok, e = pcall(jar.set, BASE .. "/", "n", "v", {
            domain = setmetatable({}, { __tostring = function() return "127.0.0." .. "1" end }),
            path = gc_then("/"),
            expires = gc_then("Wed, 09 Jun 2100 10:18:14 GMT"),
          })
          print("set", ok, e)
          local ok2, e2 = pcall(jar.set, BASE .. "/", "m", "w", {
            domain = setmetatable({}, { __tostring = function() return "127.0.0." .. "1" end }),
            path = gc_then("/"), max_age = 100 })
          print("set2", ok2, e2)
          local got = jar.cookiesForURL(BASE .. "/")
          print("jar", got.n and got.n[1], got.m and got.m[1])
        end
    """, base=echo_server)
    check_clean(r)
    out = {ln[0]: ln[1:] for ln in lines(r)}
    assert out["set"] == ["true", "nil"] and out["set2"] == ["true", "nil"], out
    assert out["jar"] == ["v", "w"], out


def test_redirect_userinfo_and_invalid_ports(tmp_path, echo_server):  # noqa: F811
    base = echo_server.base
    host = base.split("//", 1)[1]
    to = {
        "userinfo": f"http://u:p@{host}/landed/ui",
        "port0": "http://127.0.0.1:0/landed/p0",
        "port99999": "http://127.0.0.1:99999/landed/big",
    }
    calls = "\n".join(
        f'  local r = http.get(BASE .. "/redirect/302?to={quote(v, safe="")}")\n'
        f'  print("{k}", r.status, r.error_code, r.url)' for k, v in to.items())
    r = run_script(tmp_path, f"""
        options = {{ iterations = 1, vus = 1 }}
        function default()
        {calls}
        end
    """, base=echo_server)
    check_clean(r)
    out = {ln[0]: ln[1:] for ln in lines(r)}
    # userinfo: followed without it (no credentials reach the server)
    assert out["userinfo"] == ["200", "0", base + "/landed/ui"], out
    landed = echo_server.entries(path="/landed/ui")
    assert len(landed) == 1 and "authorization" not in landed[0]["headers"], landed
    # an invalid port: the hop fails as a connection error (k6: Go's dialer refuses it)
    assert out["port0"] == ["0", "1210", to["port0"]], out
    assert out["port99999"] == ["0", "1210", to["port99999"]], out
    assert errors_by_kind(r.summary)["connect_error"]["count"] == 2
    assert script_errors(r.summary) == [], r.summary


def test_finalizers_that_could_free_a_jar_are_refused(tmp_path, echo_server):  # noqa: F811
    # A __gc finalizer could clear a jar while cookiesForURL lists it, or keep a jar past
    # its own collection; no hook runs inside a finalizer, so scripts get none at all:
    # setmetatable refuses __gc, and the jar is never touched from one.
    r = run_script(tmp_path, """
        options = { iterations = 1, vus = 1 }
        function default()
          local jar = http.CookieJar()
          local ok, err = pcall(setmetatable, {}, { __gc = function() jar.clear(BASE) end })
          print("gc", ok, err)
          jar.set(BASE .. "/", "a", "b")
          local n = 0
          for _ in pairs(jar.cookiesForURL(BASE .. "/")) do n = n + 1 end
          print("listed", n)
        end
    """, base=echo_server)
    check_clean(r)
    out = {ln[0]: ln[1:] for ln in lines(r)}
    assert out["gc"][0] == "false", out
    assert "__gc metamethods are not available" in " ".join(out["gc"]), out
    assert out["listed"] == ["1"], out
