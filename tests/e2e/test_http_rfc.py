"""HTTP client semantics per the RFCs, end to end (issue #7 part B).

Lua scripts run through stampede against RecordingServer (rfc_servers.py), which keeps
every request as it came off the wire, so the tests assert what was actually sent:

  1. redirects: Location resolved by RFC 3986 §5.2 (every §5.4 example that stays on one
     server), method changes (RFC 9110 §15.4), credentials dropped on another origin,
     `redirects = 0`, one http_req per hop;
  2. cookies (RFC 6265 §5): default-path, Max-Age, identity (name, domain, path) and
     order, Secure, Domain matching, host-only cookies; k6's jar API and res.cookies;
  3. request-target encoding of non-ASCII bytes;
  4. Content-Encoding decoding (gzip, deflate both ways, br, zstd, stacked codings),
     data_received on the wire, corrupt bodies, discardResponseBodies, quick mode;
  5. expected statuses (http.expectedStatuses, setResponseCallback, responseCallback);
  6. one request serializer: framing in scripts and in quick mode, refused headers.

Network safety: one server per module on 127.0.0.1 with a free port; "another origin" is
the same server reached as `localhost` (it resolves to 127.0.0.1 through /etc/hosts).
Every run is one or a few iterations with a subprocess timeout.
"""

import gzip
import json
import shutil
import subprocess
import zlib
from urllib.parse import quote

import pytest

from conftest import EXIT_CONFIG, metric
from rfc_servers import RecordingServer
from script_servers import run_script, script_errors, series

try:
    import brotli
except ImportError:  # python3-brotli (Debian) or the brotli wheel
    brotli = None

# Helpers every script gets (after script_servers.PRELUDE: http, json, BASE).
LUA_HELPERS = r"""
local LHOST = stampede.env.LHOST
local function out(tag, v) print("OUT\t" .. tag .. "\t" .. json.encode(v)) end
"""


def lua_str(s):
    """A Lua string literal for s (bytes or str, any content)."""
    if isinstance(s, str):
        s = s.encode()
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:03d}"
                         for b in s) + '"'


def outputs(r):
    """{tag: decoded value} from the script's `out(tag, value)` lines (last one wins)."""
    res = {}
    for line in r.stdout.splitlines():
        if line.startswith("OUT\t"):
            _, tag, value = line.split("\t", 2)
            res[tag] = json.loads(value)
    return res


def obj(v):
    """A Lua table that json.encode may have written as [] when empty."""
    return {} if v == [] else v


def sc(*cookies):
    """The query string that makes RecordingServer send these Set-Cookie fields."""
    return "?" + "&".join("sc=" + quote(c, safe="") for c in cookies)


def header(entry, name):
    """The only value of header `name` in a log entry (None if absent; fails if repeated)."""
    vals = RecordingServer.values(entry, name)
    assert len(vals) <= 1, f"{name} sent {len(vals)} times: {entry['headers']}"
    return vals[0] if vals else None


@pytest.fixture(scope="module")
def server():
    with RecordingServer() as s:
        yield s


@pytest.fixture
def srv(server):
    server.reset()
    return server


def run(tmp_path, srv, source, *args, expect=0, **kw):
    return run_script(tmp_path, LUA_HELPERS + source, "-e", f"LHOST={srv.lbase}", *args,
                      base=srv, expect=expect, timeout=kw.pop("timeout", 30), **kw)


# ======================================================================================
# 1. Redirects (RFC 9110 §15.4, RFC 3986 §5.2)
# ======================================================================================
RFC_BASE = "/b/c/d;p?q"
# RFC 3986 §5.4.1 (normal) and §5.4.2 (abnormal) examples for base http://a/b/c/d;p?q,
# mapped onto http://127.0.0.1:PORT/b/c/d;p?q: (reference, request target sent).
# Left out: "g:h" and "http:g" (other scheme / no authority), "//g" (other host; the
# network-path form is tested with this server's own authority), "" (an empty Location
# is not followed).
RFC3986_EXAMPLES = [
    ("g", "/b/c/g"), ("./g", "/b/c/g"), ("g/", "/b/c/g/"), ("/g", "/g"),
    ("?y", "/b/c/d;p?y"), ("g?y", "/b/c/g?y"), ("#s", "/b/c/d;p?q"), ("g#s", "/b/c/g"),
    ("g?y#s", "/b/c/g?y"), (";x", "/b/c/;x"), ("g;x", "/b/c/g;x"),
    ("g;x?y#s", "/b/c/g;x?y"), (".", "/b/c/"), ("./", "/b/c/"), ("..", "/b/"),
    ("../", "/b/"), ("../g", "/b/g"), ("../..", "/"), ("../../", "/"), ("../../g", "/g"),
    # abnormal
    ("../../../g", "/g"), ("../../../../g", "/g"), ("/./g", "/g"), ("/../g", "/g"),
    ("g.", "/b/c/g."), (".g", "/b/c/.g"), ("g..", "/b/c/g.."), ("..g", "/b/c/..g"),
    ("./../g", "/b/g"), ("./g/.", "/b/c/g/"), ("g/./h", "/b/c/g/h"), ("g/../h", "/b/c/h"),
    ("g;x=1/./y", "/b/c/g;x=1/y"), ("g;x=1/../y", "/b/c/y"), ("g?y/./x", "/b/c/g?y/./x"),
    ("g?y/../x", "/b/c/g?y/../x"), ("g#s/./x", "/b/c/g"), ("g#s/../x", "/b/c/g"),
]


def redirect_cases(srv):
    """(id, request target, Location, expected target of the followed request)."""
    hostport = f"127.0.0.1:{srv.port}"
    cases = [
        ("rel-dotdot", "/rel/a/302", "../target?q=1", "/rel/target?q=1"),
        ("rel-query", "/rel/c/302", "?page=2", "/rel/c/302?page=2"),
        ("rel-after-query", "/a/b?next=/c", "d", "/a/d"),
        ("absolute", "/abs/start", f"http://{hostport}/abs/x?y=1", "/abs/x?y=1"),
        ("network-path", "/net/start", f"//{hostport}/net/path?z=2", "/net/path?z=2"),
        ("non-ascii", "/na/start", "/na/é?v=ü", "/na/%C3%A9?v=%C3%BC"),
    ]
    for i, (ref, target) in enumerate(RFC3986_EXAMPLES):
        cases.append((f"rfc{i}:{ref}", RFC_BASE, ref, target))
    return cases


def test_location_resolution_rfc3986(tmp_path, srv):
    cases = redirect_cases(srv)
    table = ",\n".join(
        f"{{ id = {lua_str(i)}, from = {lua_str(f)}, loc = {lua_str(loc)} }}"
        for i, f, loc, _ in cases)
    r = run(tmp_path, srv, f"""
        options = {{ iterations = 1, vus = 1 }}
        local cases = {{ {table} }}
        function default()
          for _, c in ipairs(cases) do
            local res = http.get(BASE .. c.from, {{ headers = {{
              ["X-Redirect"] = "302 " .. c.loc, ["X-Once"] = c.id }} }})
            out(c.id, {{ status = res.status, url = res.url, err = res.error }})
          end
        end
    """)
    got = outputs(r)
    bad = []
    for cid, frm, loc, want in cases:
        log = srv.entries(once=cid)
        sent = [e["raw_line"].decode("latin-1") for e in log]
        want_lines = [f"GET {frm} HTTP/1.1", f"GET {want} HTTP/1.1"]
        o = got.get(cid, {})
        url = (o.get("url") or "").split("#")[0]
        if sent != want_lines or o.get("status") != 200 or url != srv.base + want:
            bad.append(f"  Location {loc!r} from {frm!r}: expected {want!r}; wire "
                       f"{sent}, res {o}")
    assert not bad, "redirect targets resolved wrongly:\n" + "\n".join(bad) + f"\n{r}"
    assert metric(r.summary, "http_reqs")["count"] == srv.requests == 2 * len(cases)


def test_post_redirect_method_and_body(tmp_path, srv):
    r = run(tmp_path, srv, """
        options = { iterations = 1, vus = 1 }
        function default()
          for _, code in ipairs({ 301, 302, 303, 307, 308 }) do
            local res = http.post(BASE .. "/m/" .. code, "payload=1", { headers = {
              ["Content-Type"] = "text/plain", ["X-Redirect"] = code .. " /m/" .. code .. "/to",
              ["X-Once"] = "m" .. code } })
            out("m" .. code, { status = res.status, method = res.method, url = res.url })
          end
          local h = http.head(BASE .. "/m/head", { headers = {
            ["X-Redirect"] = "303 /m/head/to", ["X-Once"] = "head" } })
          out("head", { status = h.status, method = h.method, url = h.url })
        end
    """)
    got = outputs(r)
    # a HEAD stays a HEAD, even after a 303 (RFC 9110 §15.4.4: "other than GET or HEAD")
    assert [e["raw_line"] for e in srv.entries(once="head")] == [
        b"HEAD /m/head HTTP/1.1", b"HEAD /m/head/to HTTP/1.1"]
    assert got["head"] == {"status": 200, "method": "HEAD", "url": srv.base + "/m/head/to"}
    for code in (301, 302, 303, 307, 308):
        first, second = srv.entries(once=f"m{code}")
        assert (first["method"], first["body"], header(first, "content-length")) == \
            ("POST", b"payload=1", "9"), first
        assert second["path"] == f"/m/{code}/to", second
        assert got[f"m{code}"]["status"] == 200, got
        assert got[f"m{code}"]["url"] == f"{srv.base}/m/{code}/to", got
        if code in (301, 302, 303):
            assert second["method"] == "GET", (code, second)
            assert second["body"] == b"" and second["raw_body"] == b"", (code, second)
            for name in ("content-length", "content-type", "transfer-encoding"):
                assert header(second, name) is None, (code, name, second["headers"])
            assert got[f"m{code}"]["method"] == "GET", got
        else:
            assert second["method"] == "POST", (code, second)
            assert second["body"] == b"payload=1", (code, second)
            assert header(second, "content-length") == "9", (code, second["headers"])
            assert header(second, "content-type") == "text/plain", (code, second["headers"])
            assert got[f"m{code}"]["method"] == "POST", got


def test_credentials_not_forwarded_to_another_origin(tmp_path, srv):
    r = run(tmp_path, srv, """
        options = { iterations = 1, vus = 1 }
        local function p(id, loc)
          return { headers = { Authorization = "Bearer s3cret",
                               ["Proxy-Authorization"] = "Basic cHJveHk6cHc=",
                               Cookie = "manual=1",
                               ["X-Redirect"] = "302 " .. loc, ["X-Once"] = id },
                   cookies = { param = "p" } }
        end
        function default()
          local jar = http.cookieJar()
          jar.set(BASE, "ipjar", "1")
          jar.set(LHOST, "ljar", "1")
          local a = http.get(BASE .. "/co/1", p("cross", LHOST .. "/co/landed"))
          local b = http.get(LHOST .. "/co/2", p("cross-back", BASE .. "/co/landed-back"))
          local c = http.get(BASE .. "/co/3", p("same-rel", "/co/landed-same"))
          local d = http.get(BASE .. "/co/4", p("same-abs", BASE .. "/co/landed-abs"))
          out("urls", { a.url, b.url, c.url, d.url })
        end
    """)
    port = srv.port
    assert outputs(r)["urls"] == [f"{srv.lbase}/co/landed", f"{srv.base}/co/landed-back",
                                  f"{srv.base}/co/landed-same", f"{srv.base}/co/landed-abs"]
    jar_cookie = {f"127.0.0.1:{port}": "ipjar=1", f"localhost:{port}": "ljar=1"}
    for cid, origin_changes in (("cross", True), ("cross-back", True), ("same-rel", False),
                                ("same-abs", False)):
        first, second = srv.entries(once=cid)
        assert header(first, "authorization") == "Bearer s3cret", first
        assert header(first, "proxy-authorization") == "Basic cHJveHk6cHc=", first
        assert sorted(cookie_header(first).split("; ")) == sorted(
            ["manual=1", "param=p", jar_cookie[first["host"]]]), first["headers"]
        if origin_changes:
            assert second["host"] != first["host"], (first["host"], second["host"])
            assert second["host"] in jar_cookie, second["host"]
            assert header(second, "authorization") is None, (cid, second["headers"])
            assert header(second, "proxy-authorization") is None, (cid, second["headers"])
            # the script's Cookie header and params.cookies stay behind; the jar's
            # cookies for the new origin (and only those) go
            assert cookie_header(second) == jar_cookie[second["host"]], (cid, second)
        else:
            assert second["host"] == first["host"] == f"127.0.0.1:{port}"
            assert header(second, "authorization") == "Bearer s3cret", (cid, second)
            assert header(second, "proxy-authorization") == "Basic cHJveHk6cHc=", second
            assert cookie_header(second) == cookie_header(first), (cid, second["headers"])


def test_redirects_zero_returns_the_3xx(tmp_path, srv):
    r = run(tmp_path, srv, """
        options = { iterations = 1, vus = 1 }
        function default()
          local res = http.get(BASE .. "/z/start", { redirects = 0, headers = {
            ["X-Redirect"] = "302 /z/never", ["X-Once"] = "z" } })
          out("z", { status = res.status, url = res.url, loc = res:header("Location"),
                     body = res.body })
        end
    """)
    assert outputs(r)["z"] == {"status": 302, "url": srv.base + "/z/start",
                               "loc": "/z/never", "body": "redirecting\n"}
    assert [e["path"] for e in srv.entries()] == ["/z/start"]
    assert metric(r.summary, "http_reqs")["count"] == 1


def test_redirect_response_cookies_and_fragments(tmp_path, srv):
    r = run(tmp_path, srv, f"""
        options = {{ iterations = 1, vus = 1 }}
        function default()
          -- a Set-Cookie on the 3xx is stored before the next hop is sent (RFC 6265 §5.3)
          http.get(BASE .. "/cr/start" .. {lua_str(sc("hop=1; Path=/cr"))}, {{ headers = {{
            ["X-Redirect"] = "302 /cr/next", ["X-Once"] = "cr" }} }})
          -- a fragment is never part of a request target (RFC 9112 §3.2)
          local f = http.get(BASE .. "/fr/start?x=1#sec", {{ headers = {{
            ["X-Redirect"] = "302 /fr/next?y=2#other", ["X-Once"] = "fr" }} }})
          out("fr", {{ status = f.status, url = f.url }})
        end
    """)
    assert [cookie_header(e) for e in srv.entries(once="cr")] == [None, "hop=1"]
    assert [e["raw_line"] for e in srv.entries(once="fr")] == [
        b"GET /fr/start?x=1 HTTP/1.1", b"GET /fr/next?y=2 HTTP/1.1"]
    got = outputs(r)["fr"]
    assert got["status"] == 200 and got["url"].split("#")[0] == srv.base + "/fr/next?y=2", got


def test_each_hop_is_one_http_req(tmp_path, srv):
    r = run(tmp_path, srv, """
        options = { iterations = 2, vus = 1 }
        function default()
          local a = http.get(BASE .. "/hop/3")
          local b = http.post(BASE .. "/cnt", "body", { headers = { ["X-Redirect"] = "307 /cnt/to",
                              ["X-Once"] = "cnt" .. stampede.scenario.iteration } })
          out("r" .. stampede.scenario.iteration, { a.status, a.url, b.status, b.url })
        end
    """)
    got = outputs(r)
    for i in (0, 1):
        assert got[f"r{i}"] == [200, srv.base + "/hop/0", 200, srv.base + "/cnt/to"], got
    paths = [e["path"] for e in srv.entries()]
    assert paths == ["/hop/3", "/hop/2", "/hop/1", "/hop/0", "/cnt", "/cnt/to"] * 2, paths
    assert metric(r.summary, "http_reqs")["count"] == srv.requests == 12
    assert metric(r.summary, "iterations")["count"] == 2


# ======================================================================================
# 2. Cookies (RFC 6265 §5): the VU's jar
# ======================================================================================
def cookie_fields(entry):
    vals = RecordingServer.values(entry, "cookie")
    assert len(vals) <= 1, f"more than one Cookie field (RFC 6265 §5.4): {entry['headers']}"
    return vals


def cookie_header(entry):
    vals = cookie_fields(entry)
    return vals[0] if vals else None


def sent_cookies(srv):
    """{path: Cookie value or None} for every request (one Cookie field each)."""
    return {e["path"]: cookie_header(e) for e in srv.entries()}


def test_cookie_default_path(tmp_path, srv):
    run(tmp_path, srv, f"""
        options = {{ iterations = 1, vus = 1 }}
        function default()
          http.get(BASE .. "/p1/set" .. {lua_str(sc("dp=1"))})
          for _, p in ipairs({{ "/p1/x", "/p1", "/p1/deep/er", "/other", "/p1x/y", "/" }}) do
            http.get(BASE .. p)
          end
        end
    """)
    assert sent_cookies(srv) == {"/p1/set": None, "/p1/x": "dp=1", "/p1": "dp=1",
                                 "/p1/deep/er": "dp=1", "/other": None, "/p1x/y": None,
                                 "/": None}


def test_cookie_parsing(tmp_path, srv):
    query = sc(
        "np=1; Path=foo",              # not starting with "/": the default-path (§5.2.4)
        "noeq", "=nameless; Path=/",   # no "=", empty name: ignored (§5.2 steps 2 and 5)
        "eq=a=b; Path=/",              # the value runs to the first ";", "=" included
        "  sp  =  v v  ; Path=/",      # name and value trimmed of WSP
        "empty=; Path=/")
    run(tmp_path, srv, f"""
        options = {{ iterations = 1, vus = 1 }}
        function default()
          http.get(BASE .. "/p1/set" .. {lua_str(query)})
          http.get(LHOST .. "/set" .. {lua_str(sc("du=1; Domain=LOCALHOST; Path=/"))})
          http.get(BASE .. "/p1/x")
          http.get(BASE .. "/x")
          http.get(LHOST .. "/l")
        end
    """)
    got = sent_cookies(srv)
    assert got["/p1/x"] == "np=1; eq=a=b; sp=v v; empty=", got
    assert got["/x"] == "eq=a=b; sp=v v; empty=", got
    assert got["/l"] == "du=1", got   # Domain matched case-insensitively (§5.1.3)


def test_cookie_max_age_and_expiry(tmp_path, srv):
    past = "Wed, 09 Jun 2021 10:18:14 GMT"
    run(tmp_path, srv, f"""
        options = {{ iterations = 1, vus = 1 }}
        function default()
          http.get(BASE .. "/ma/set" .. {lua_str(sc(
              "ma=1; Max-Age=1; Path=/", "gone=1; Path=/", "old=1; Path=/; Expires=" + past,
              "win=1; Path=/; Max-Age=100; Expires=" + past, "neg=1; Path=/; Max-Age=-5"))})
          http.get(BASE .. "/ma/del" .. {lua_str(sc("gone=x; Path=/; Max-Age=0"))})
          stampede.sleep(0.5)
          http.get(BASE .. "/ma/early")
          stampede.sleep(0.8)
          http.get(BASE .. "/ma/late")
        end
    """, timeout=30)
    got = sent_cookies(srv)
    # Max-Age=1 counts from receipt: still there at +0.5 s, gone at +1.3 s; Max-Age wins
    # over Expires (§5.3 step 3); Max-Age <= 0, an Expires in the past delete/refuse
    assert got["/ma/early"] == "ma=1; win=1", f"Max-Age=0 did not delete 'gone': {got}"
    assert got["/ma/late"] == "win=1", got


def test_cookie_identity_and_order(tmp_path, srv):
    run(tmp_path, srv, f"""
        options = {{ iterations = 1, vus = 1 }}
        function default()
          http.get(BASE .. "/p1/set" .. {lua_str(sc("dup=p1; Path=/p1"))})
          http.get(BASE .. "/set" .. {lua_str(sc("dup=root; Path=/"))})
          http.get(BASE .. "/p1/x")
          http.get(BASE .. "/other")
          http.get(BASE .. "/set2" .. {lua_str(sc("a=1; Path=/", "b=2; Path=/"))})
          http.get(BASE .. "/set3" .. {lua_str(sc("a=3; Path=/", "dup=root2; Path=/"))})
          http.get(BASE .. "/p1/y")
        end
    """)
    got = sent_cookies(srv)
    assert got["/p1/x"] == "dup=p1; dup=root", got     # longer path first (§5.4 step 2)
    assert got["/other"] == "dup=root", got
    # replacing keeps the old creation time (§5.3 step 11.3): a stays before b
    assert got["/p1/y"] == "dup=p1; dup=root2; a=3; b=2", got


def test_secure_cookie_never_sent_over_http(tmp_path, srv):
    r = run(tmp_path, srv, f"""
        options = {{ iterations = 1, vus = 1 }}
        function default()
          http.get(BASE .. "/sec/set" .. {lua_str(sc("sec=1; Secure; Path=/", "plain=1; Path=/"))})
          local jar = http.cookieJar()
          jar.set(BASE, "jsec", "1", {{ secure = true }})
          http.get(BASE .. "/sec/after")
          out("jar", jar.cookiesForURL(BASE .. "/sec/after"))
        end
    """)
    assert sent_cookies(srv)["/sec/after"] == "plain=1"
    assert obj(outputs(r)["jar"]) == {"plain": ["1"]}


def test_cookie_domain_matching(tmp_path, srv):
    r = run(tmp_path, srv, f"""
        options = {{ iterations = 1, vus = 1 }}
        function default()
          http.get(LHOST .. "/d/set-l" .. {lua_str(sc("dl=1; Domain=localhost; Path=/",
                                                      "dot=1; Domain=.localhost; Path=/",
                                                      "lhost=1; Path=/"))})
          http.get(BASE .. "/d/set-ip" .. {lua_str(sc("ex=1; Domain=example.com; Path=/",
                                                      "iphost=1; Path=/"))})
          http.get(LHOST .. "/d/to-l")
          http.get(BASE .. "/d/to-ip")
          local jar = http.cookieJar()
          out("example", jar.cookiesForURL("http://example.com/"))
          out("sub", jar.cookiesForURL("http://sub.localhost/"))
        end
    """)
    to_l, to_ip = srv.entries(path="/d/to-l")[0], srv.entries(path="/d/to-ip")[0]
    assert to_l["host"] == f"localhost:{srv.port}" and to_ip["host"] == f"127.0.0.1:{srv.port}"
    # Domain=localhost (leading dot ignored, §5.2.3) from localhost: sent to localhost;
    # the host-only cookies stay with their own host; Domain=example.com is refused
    assert sorted(cookie_header(to_l).split("; ")) == ["dl=1", "dot=1", "lhost=1"], to_l
    assert cookie_header(to_ip) == "iphost=1", to_ip
    got = outputs(r)
    assert obj(got["example"]) == {}, got
    # a Domain cookie also matches subdomains (§5.1.3); host-only ones do not
    assert obj(got["sub"]) == {"dl": ["1"], "dot": ["1"]}, got


def test_jar_api(tmp_path, srv):
    r = run(tmp_path, srv, """
        options = { iterations = 1, vus = 1 }
        function default()
          local jar = http.cookieJar()
          jar.set(BASE, "j1", "v1")
          jar:set(BASE, "j2", "v2", { path = "/only" })
          jar.set(LHOST, "jl", "vl", { domain = "localhost", path = "/", max_age = 100,
                                       http_only = true })
          jar.set(BASE, "jexp", "x", { expires = "Wed, 09 Jun 2021 10:18:14 GMT" })
          out("for-only", jar.cookiesForURL(BASE .. "/only/x"))
          out("for-root", jar:cookiesForURL(BASE .. "/"))
          out("for-l", jar.cookiesForURL(LHOST .. "/"))
          http.get(BASE .. "/only/x")
          http.get(LHOST .. "/l1")
          jar.delete(BASE, "j1")
          http.get(BASE .. "/only/y")
          jar.clear(BASE)
          http.get(BASE .. "/only/z")
          http.get(LHOST .. "/l2")
          out("after-clear", jar.cookiesForURL(BASE .. "/only/x"))
        end
    """)
    got = outputs(r)
    assert got["for-only"] == {"j1": ["v1"], "j2": ["v2"]}, got
    assert got["for-root"] == {"j1": ["v1"]}, got
    assert got["for-l"] == {"jl": ["vl"]}, got
    assert obj(got["after-clear"]) == {}, got
    sent = sent_cookies(srv)
    assert sent == {"/only/x": "j2=v2; j1=v1", "/l1": "jl=vl", "/only/y": "j2=v2",
                    "/only/z": None, "/l2": "jl=vl"}, sent


def test_new_jar_and_request_cookies(tmp_path, srv):
    r = run(tmp_path, srv, f"""
        options = {{ iterations = 1, vus = 1 }}
        function default()
          http.get(BASE .. "/set-vu" .. {lua_str(sc("vu=1; Path=/", "dup=jarval; Path=/"))})
          local mine = http.CookieJar()
          mine.set(BASE, "own", "o")
          http.get(BASE .. "/own/set" .. {lua_str(sc("fromres=r; Path=/"))}, {{ jar = mine }})
          http.get(BASE .. "/own/use", {{ jar = mine }})
          http.get(BASE .. "/vu/use")
          http.get(BASE .. "/params", {{ cookies = {{ a = "1", dup = {{ value = "x", replace = true }} }} }})
          http.get(BASE .. "/params-hdr", {{ cookies = {{ a = "1" }},
                                            headers = {{ Cookie = "h=1", cookie = "h2=2" }} }})
          out("vu", http.cookieJar().cookiesForURL(BASE .. "/"))
          out("mine", mine.cookiesForURL(BASE .. "/"))
        end
    """)
    got = outputs(r)
    sent = sent_cookies(srv)
    assert sent["/own/set"] == "own=o", sent
    assert sorted(sent["/own/use"].split("; ")) == ["fromres=r", "own=o"], sent
    assert sent["/vu/use"] == "vu=1; dup=jarval", sent
    assert sorted(sent["/params"].split("; ")) == ["a=1", "dup=x", "vu=1"], sent
    assert sorted(sent["/params-hdr"].split("; ")) == sorted(
        ["a=1", "dup=jarval", "h=1", "h2=2", "vu=1"]), sent
    assert got["vu"] == {"vu": ["1"], "dup": ["jarval"]}, got
    assert got["mine"] == {"own": ["o"], "fromres": ["r"]}, got


def test_res_cookies(tmp_path, srv):
    r = run(tmp_path, srv, f"""
        options = {{ iterations = 1, vus = 1 }}
        function default()
          local res = http.get(BASE .. "/rc" .. {lua_str(sc(
            "rc=v1; Path=/p; Domain=localhost; HttpOnly; Secure; Max-Age=60",
            "rc=v2", "other=o; Expires=Wed, 09 Jun 2021 10:18:14 GMT"))})
          out("cookies", res.cookies)
          out("none", http.get(BASE .. "/rc-none").cookies)
        end
    """)
    got = outputs(r)
    assert got["cookies"] == {
        "rc": [{"name": "rc", "value": "v1", "domain": "localhost", "path": "/p",
                "http_only": True, "secure": True, "max_age": 60, "expires": 0},
               {"name": "rc", "value": "v2", "domain": "", "path": "", "http_only": False,
                "secure": False, "max_age": 0, "expires": 0}],
        "other": [{"name": "other", "value": "o", "domain": "", "path": "",
                   "http_only": False, "secure": False, "max_age": 0,
                   "expires": 1623233894000}],
    }, got
    assert obj(got["none"]) == {}, got


# ======================================================================================
# 3. Request-target encoding (RFC 3986 §2.1)
# ======================================================================================
def test_request_target_percent_encoding(tmp_path, srv):
    run(tmp_path, srv, """
        options = { iterations = 1, vus = 1 }
        function default()
          http.get(BASE .. "/café?x=é")
          http.get(BASE .. "/a%20b?x=%20&y=%2F")
          http.get(BASE .. "/ü%20x?k=%C3%A9é")
          http.get(BASE .. "/frag?x=1#section")
          http.get(BASE .. "/frag2#é")
        end
    """)
    assert [e["raw_line"] for e in srv.entries()] == [
        b"GET /caf%C3%A9?x=%C3%A9 HTTP/1.1",
        b"GET /a%20b?x=%20&y=%2F HTTP/1.1",
        b"GET /%C3%BC%20x?k=%C3%A9%C3%A9 HTTP/1.1",
        b"GET /frag?x=1 HTTP/1.1",
        b"GET /frag2 HTTP/1.1",
    ]


# ======================================================================================
# 4. Content-Encoding (RFC 9110 §8.4)
# ======================================================================================
TEXT = ("stampede compresses well; " * 8000).encode()  # 208,000 bytes


def _zstd(data):
    exe = shutil.which("zstd")
    if exe is None:
        return None
    p = subprocess.run([exe, "-q", "-c", "-3"], input=data, capture_output=True, timeout=30,
                       check=True)
    return p.stdout


def _raw_deflate(data):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


@pytest.fixture(scope="module")
def encoded(server):
    """{name: (Content-Encoding, body)} registered on the server as /enc/<name>."""
    bodies = {
        "gzip": ("gzip", gzip.compress(TEXT)),
        "x-gzip": ("x-gzip", gzip.compress(TEXT)),
        "deflate-zlib": ("deflate", zlib.compress(TEXT)),
        "deflate-raw": ("deflate", _raw_deflate(TEXT)),
        "identity": ("identity", TEXT),
    }
    if brotli is not None:
        bodies["br"] = ("br", brotli.compress(TEXT))
        bodies["gzip-br"] = ("gzip, br", brotli.compress(gzip.compress(TEXT)))
        # two fields mean the same as one "gzip, br" (RFC 9110 §5.3)
        bodies["gzip-br-fields"] = (("gzip", "br"), brotli.compress(gzip.compress(TEXT)))
    z = _zstd(TEXT)
    if z is not None:
        bodies["zstd"] = ("zstd", z)
    bodies["GZIP-upper"] = ("GZIP", gzip.compress(TEXT))   # codings are case-insensitive
    good = gzip.compress(TEXT)
    bodies["corrupt-gzip"] = ("gzip", good[:40] + b"\xff" * 64 + good[104:])
    bodies["unknown"] = ("compress", b"not really compressed")
    for name, (ce, body) in bodies.items():
        fields = [("Content-Encoding", v) for v in ((ce,) if isinstance(ce, str) else ce)]
        server.fixed(f"/enc/{name}", 200, [("Content-Type", "text/plain"), *fields], body)
    return bodies


@pytest.mark.parametrize("name", ["gzip", "x-gzip", "GZIP-upper", "deflate-zlib",
                                  "deflate-raw", "br", "zstd", "gzip-br", "gzip-br-fields",
                                  "identity"])
def test_content_decoding(tmp_path, srv, encoded, name):
    if name not in encoded:
        pytest.skip("zstd command-line tool missing (apt-get install zstd)" if name == "zstd"
                    else "python brotli module missing (apt-get install python3-brotli)")
    ce, body = encoded[name]
    r = run(tmp_path, srv, f"""
        options = {{ iterations = 1, vus = 1 }}
        local want = string.rep("stampede compresses well; ", 8000)
        function default()
          local res = http.get(BASE .. "/enc/{name}")
          out("r", {{ status = res.status, same = res.body == want, len = #(res.body or ""),
                     head = (res.body or ""):sub(1, 40), err = res.error }})
        end
    """)
    got = outputs(r)["r"]
    assert got == {"status": 200, "same": True, "len": len(TEXT),
                   "head": TEXT[:40].decode(), "err": ""}, (ce, got)
    sent = srv.entries()[0]["sent"]
    assert len(body) < sent < len(TEXT) or name == "identity"
    # data_received counts the bytes on the wire (headers + encoded body), not the decoded
    assert metric(r.summary, "data_received")["count"] == sent, (sent, len(body))


def test_corrupt_body_and_discard(tmp_path, srv, encoded):
    _, body = encoded["corrupt-gzip"]
    r = run(tmp_path, srv, """
        options = { iterations = 1, vus = 1 }
        function default()
          local res = http.get(BASE .. "/enc/corrupt-gzip")
          local hex = (res.body or ""):gsub(".", function(c) return string.format("%02x", c:byte()) end)
          out("r", { status = res.status, hex = hex, err = res.error, code = res.error_code })
        end
    """)
    got = outputs(r)["r"]
    assert got["status"] == 200, got
    assert bytes.fromhex(got["hex"]) == body, "the body is not left as received"
    assert "content decoding failed" in got["err"], got
    assert got["code"] == 0, got   # the transfer itself went fine
    r = run(tmp_path, srv, """
        options = { iterations = 1, vus = 1 }
        function default()
          local res = http.get(BASE .. "/enc/unknown")
          out("r", { status = res.status, body = res.body, err = res.error })
        end
    """)
    assert outputs(r)["r"] == {
        "status": 200, "body": "not really compressed",
        "err": "content decoding failed: unsupported content coding 'compress'"}
    r = run(tmp_path, srv, """
        options = { iterations = 1, vus = 1, discardResponseBodies = true }
        function default()
          local a = http.get(BASE .. "/enc/gzip")
          local b = http.get(BASE .. "/enc/corrupt-gzip")
          out("r", { a.status, a.body == nil, a.error, b.status, b.body == nil, b.error })
        end
    """)
    assert outputs(r)["r"] == [200, True, "", 200, True, ""]
    r = run(tmp_path, srv, """
        options = { iterations = 1, vus = 1 }
        function default()
          local b = http.get(BASE .. "/enc/corrupt-gzip", { responseType = "none" })
          out("r", { b.status, b.body == nil, b.error })
        end
    """)
    assert outputs(r)["r"] == [200, True, ""]


def test_quick_mode_counts_gzip_responses(stampede, srv, encoded):
    r = stampede.load(srv.base + "/enc/gzip", "--iterations", "3", "--vus", "1")
    assert metric(r.summary, "http_reqs")["count"] == srv.requests == 3
    sent = sum(e["sent"] for e in srv.entries())
    assert metric(r.summary, "data_received")["count"] == sent


# ======================================================================================
# 5. Expected statuses (k6's http.expectedStatuses / setResponseCallback)
# ======================================================================================
def test_expected_statuses(tmp_path, srv):
    r = run(tmp_path, srv, """
        http.setResponseCallback(http.expectedStatuses(200, { min = 404, max = 404 }))
        options = { iterations = 1, vus = 1 }
        function default()
          http.get(BASE .. "/status/200")
          http.get(BASE .. "/status/404")
          http.get(BASE .. "/status/500")
          http.get(BASE .. "/status/500", { responseCallback = http.expectedStatuses(500) })
          http.get(BASE .. "/status/404", { responseCallback = http.expectedStatuses(500) })
          http.get(BASE .. "/status/201")
        end
    """)
    failed = metric(r.summary, "http_req_failed")
    # failures (passes of the rate): 500 (global callback), 404 (per-request), 201
    assert (failed["passes"], failed["fails"]) == (3, 3), failed
    assert not script_errors(r.summary)
    tagged = series(r.summary, "http_reqs")
    flags = {(s["tags"].get("status"), s["tags"].get("expected_response")) for s in tagged
             if s["tags"].get("status")}
    assert {("500", "true"), ("500", "false"), ("404", "true"), ("404", "false"),
            ("200", "true"), ("201", "false")} <= flags, flags


def test_response_callback_nil_turns_failure_accounting_off(tmp_path, srv):
    r = run(tmp_path, srv, """
        http.setResponseCallback(nil)
        options = { iterations = 1, vus = 1 }
        function default()
          http.get(BASE .. "/status/200")
          http.get(BASE .. "/status/500")
        end
    """)
    assert metric(r.summary, "http_reqs")["count"] == 2
    failed = r.summary["metrics"].get("http_req_failed")
    assert failed is None or (failed.get("passes", 0), failed.get("fails", 0)) == (0, 0), failed
    assert not series(r.summary, "http_req_failed"), series(r.summary, "http_req_failed")
    tags = [s["tags"] for s in r.summary.get("timeseries", []) if s.get("tags")]
    assert not any("expected_response" in t for t in tags), tags


def test_bad_response_callbacks_are_script_errors(tmp_path, srv):
    r = run(tmp_path, srv, """
        options = { iterations = 4, vus = 1 }
        function default()
          local i = stampede.scenario.iteration
          if i == 0 then http.expectedStatuses("x")
          elseif i == 1 then http.get(BASE .. "/cb/fn", { responseCallback = function() end })
          elseif i == 2 then http.setResponseCallback(function() end)
          else http.expectedStatuses({ min = 500, max = 400 }) end
        end
    """)
    msgs = [e["message"] for e in script_errors(r.summary)]
    expect = [
        "http.expectedStatuses: argument 1: a status must be an integer status code "
        "(0-999), not string",
        "params.responseCallback must be an http.expectedStatuses(...) object (as in k6), "
        "not function",
        "http.setResponseCallback: the callback must be an http.expectedStatuses(...) "
        "object or nil (as in k6), not function",
        "http.expectedStatuses: argument 1: min 500 is more than max 400",
    ]
    for text in expect:
        assert any(text in m for m in msgs), (text, msgs)
        assert text in r.stderr, (text, r.stderr)
    assert srv.requests == 0, [e["target"] for e in srv.entries()]


def test_bad_response_callback_at_top_level_is_init_error(tmp_path, srv):
    r = run(tmp_path, srv, """
        http.setResponseCallback("200")
        options = { iterations = 1, vus = 1 }
        function default() http.get(BASE .. "/never") end
    """, expect=107)
    assert "http.setResponseCallback: the callback must be" in r.stderr, r
    assert srv.requests == 0


# ======================================================================================
# 6. One request serializer (RFC 9110 §8.6, RFC 9112 §6-7)
# ======================================================================================
def framing(entry):
    """What decides the body's framing on the wire."""
    return {"method": entry["method"], "content-length": header(entry, "content-length"),
            "transfer-encoding": header(entry, "transfer-encoding"),
            "raw_body": entry["raw_body"]}


FRAMING_CASES = {
    # name: (script call, quick-mode flags, expected framing)
    "post-body": ('http.post(U, "hello")', ["-X", "POST", "--body", "hello"],
                  ("POST", "5", None, b"hello")),
    "post-empty": ("http.post(U)", ["-X", "POST"], ("POST", "0", None, b"")),
    "get": ("http.get(U)", [], ("GET", None, None, b"")),
    "chunked": ('http.post(U, "hello", { headers = { ["Transfer-Encoding"] = "chunked" } })',
                ["-X", "POST", "-H", "Transfer-Encoding: chunked", "--body", "hello"],
                ("POST", None, "chunked", b"5\r\nhello\r\n0\r\n\r\n")),
}


def test_framing_scripts_and_quick_mode_agree(tmp_path, srv, stampede):
    calls = "\n".join(f'do local U = BASE .. "/f/script/{n}"; {c[0]} end'
                      for n, c in FRAMING_CASES.items())
    more_calls = """
          local F = BASE .. "/f/script/"
          http.post(F .. "post-emptystr", "")
          http.put(F .. "put-empty")
          http.del(F .. "delete")
          http.del(F .. "delete-body", "x")
          http.options(F .. "options-body", "xy")
          http.request("GET", F .. "get-body", "abc")
          http.head(F .. "head")
          http.post(F .. "user-cl", "hello", { headers = { ["Content-Length"] = "5" } })
          http.post(F .. "chunked-empty", "", { headers = { ["Transfer-Encoding"] = "chunked" } })
    """
    run(tmp_path, srv, f"""
        options = {{ iterations = 1, vus = 1 }}
        function default()
          {calls}
          {more_calls}
        end
    """)
    for name, (_, flags, want) in FRAMING_CASES.items():
        stampede.load(f"{srv.base}/f/quick/{name}", "--iterations", "1", "--vus", "1", *flags)
    by_path = {e["path"]: e for e in srv.entries()}
    for name, (_, _, want) in FRAMING_CASES.items():
        want = dict(zip(("method", "content-length", "transfer-encoding", "raw_body"), want))
        for mode in ("script", "quick"):
            e = by_path.get(f"/f/{mode}/{name}")
            assert e is not None, (mode, name, list(by_path))
            assert framing(e) == want, (mode, name, e["headers"])
    more = {
        "post-emptystr": ("POST", "0", None, b""),
        "put-empty": ("PUT", "0", None, b""),
        "delete": ("DELETE", None, None, b""),
        "delete-body": ("DELETE", "1", None, b"x"),
        "options-body": ("OPTIONS", "2", None, b"xy"),
        "get-body": ("GET", "3", None, b"abc"),
        "head": ("HEAD", None, None, b""),
        "user-cl": ("POST", "5", None, b"hello"),   # the script's own, sent once
        "chunked-empty": ("POST", None, "chunked", b"0\r\n\r\n"),
    }
    for name, want in more.items():
        e = by_path[f"/f/script/{name}"]
        got = framing(e)
        assert got == dict(zip(got, want)), (name, e["headers"], e["raw_body"])


@pytest.mark.parametrize("flags, want", [
    (["-X", "PUT"], ("PUT", "0", None, b"")),
    (["-X", "DELETE", "--body", "x"], ("DELETE", "1", None, b"x")),
    (["-X", "HEAD"], ("HEAD", None, None, b"")),
    (["-X", "POST", "-H", "Content-Length: 3", "--body", "abc"], ("POST", "3", None, b"abc")),
    (["-X", "POST", "-H", "Transfer-Encoding: chunked"], ("POST", None, "chunked", b"0\r\n\r\n")),
])
def test_quick_mode_framing(stampede, srv, flags, want):
    stampede.load(srv.base + "/q", "--iterations", "1", "--vus", "1", *flags)
    (e,) = srv.entries()
    got = framing(e)
    assert got == dict(zip(got, want)), (e["headers"], e["raw_body"])


def test_cookie_fields_merged_into_one(tmp_path, srv, stampede):
    stampede.load(srv.base + "/q", "--iterations", "1", "-H", "Cookie: a=1",
                  "-H", "Cookie: b=2")
    run(tmp_path, srv, """
        options = { iterations = 1, vus = 1 }
        function default()
          http.cookieJar().set(BASE, "jar", "j")
          http.get(BASE .. "/s", { headers = { Cookie = "a=1" }, cookies = { p = "2" } })
        end
    """)
    quick, script = srv.entries()
    assert cookie_fields(quick) == ["a=1; b=2"], quick["headers"]
    fields = cookie_fields(script)
    assert len(fields) == 1 and sorted(fields[0].split("; ")) == ["a=1", "jar=j", "p=2"], \
        script["headers"]


def test_refused_headers_in_scripts(tmp_path, srv):
    r = run(tmp_path, srv, r"""
        local bad = {
          function() http.post(BASE .. "/bad/te-cl", "hello", { headers = {
            ["Transfer-Encoding"] = "chunked", ["Content-Length"] = "5" } }) end,
          function() http.get(BASE .. "/bad/crlf", { headers = { ["X-Evil"] = "a\r\nX-Injected: 1" } }) end,
          function() http.get(BASE .. "/bad/lf", { headers = { ["X-Evil"] = "a\nX-Injected: 1" } }) end,
          function() http.get(BASE .. "/bad/name", { headers = { ["X-Evil\r\nX-Injected"] = "1" } }) end,
          function() http.get(BASE .. "/bad/nul", { headers = { ["X-Nul"] = "a\0b" } }) end,
          function() http.get(BASE .. "/bad/ua", { headers = { ["User-Agent"] = "x\r\nX-Injected: 1" } }) end,
          function() http.get(BASE .. "/bad/ck", { cookies = { a = "x\r\nX-Injected: 1" } }) end,
          function() http.post(BASE .. "/bad/cl", "hello", { headers = { ["Content-Length"] = "4" } }) end,
          function() http.post(BASE .. "/bad/te", "x", { headers = { ["Transfer-Encoding"] = "gzip" } }) end,
          function() http.request("GE T", BASE .. "/bad/method") end,
        }
        options = { iterations = #bad, vus = 1 }
        function default() bad[stampede.scenario.iteration + 1]() end
    """)
    msgs = [e["message"] for e in script_errors(r.summary)]
    for text in ("invalid headers: Content-Length must not be sent with Transfer-Encoding",
                 "invalid header 'X-Evil': control character in the value",
                 "the name is not a token",
                 "invalid header 'X-Nul': control character in the value",
                 "invalid header 'User-Agent': control character in the value",
                 'params.cookies: cookie "a": value "x\\r\\nX-Injected: 1" contains \'\\r\'',
                 "invalid header 'Content-Length': 4, but the body has 5 bytes",
                 "invalid header 'Transfer-Encoding': the final coding must be chunked",
                 "invalid method 'GE T'"):
        assert any(text in m for m in msgs), (text, msgs)
        assert text in r.stderr, (text, r.stderr)
    assert sum(e["count"] for e in script_errors(r.summary)) == 10, msgs
    assert srv.requests == 0, [e["raw_line"] for e in srv.entries()]
    assert metric(r.summary, "http_reqs").get("count", 0) == 0


@pytest.mark.parametrize("flags, text", [
    (["-X", "POST", "--body", "hello", "-H", "Transfer-Encoding: chunked",
      "-H", "Content-Length: 5"], "Content-Length must not be sent with Transfer-Encoding"),
    (["-H", "X-Evil: a\r\nX-Injected: 1"], "control character"),
    (["-H", "X-Evil: a\nX-Injected: 1"], "control character"),
    (["-H", "X-Del: a\x7fb"], "invalid header 'X-Del': control character in the value"),
])
def test_refused_headers_in_quick_mode(stampede, srv, flags, text):
    r = stampede("run", "--url", srv.base + "/bad/quick", "--iterations", "1", "-q", *flags,
                 expect=EXIT_CONFIG, timeout=20)
    assert text in r.stderr, r
    assert srv.requests == 0
