"""HTTP/2 (docs/cli.md: --http2, --http2-prior-knowledge, --http1.1, --streams; the
http2_* error kinds; the `proto` tag; scripts' res.proto).

Real servers on loopback, started here and stopped by pid:
  * nginx (Debian's, --with-http_v2_module; h2_nginx.py): `ssl http2`, `ssl` only, h2c
    (`listen ... http2` without ssl is prior-knowledge h2c in 1.22) and plain HTTP/1.1
    listeners of one instance, whose access log ($server_protocol $connection ...) is
    compared with the result file;
  * `stampede serve-demo` (HTTP/1.1 only, --tls or not);
  * H2Server (h2_server.py, python3-h2): GOAWAY (before processing, graceful, after
    every answer), RST_STREAM, garbage, silence, a close mid-stream,
    SETTINGS_MAX_CONCURRENT_STREAMS = 2 (and 0), large bodies, trailers, 1xx, CONTINUATION,
    PING, small windows, push, malformed responses, an early response.
No timing assertions; every run is bounded by --iterations (or a short --duration).
Tests marked xfail(strict=True, reason="BUG: ...") show bugs of the client, left to
src/engine's owner.
"""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

import accounting
from conftest import EXIT_CONFIG, EXIT_OK, ROOT, errors_by_kind, metric
from h2_nginx import start_h2_nginx, wait_lines
from h2_server import H2Server
from script_servers import assert_checks_pass, run_script, settle
from serve_demo_proc import ServeDemo

H2C = "--http2-prior-knowledge"


# --------------------------------------------------------------------------------------
# the http2_* kinds as docs/cli.md lists them
# --------------------------------------------------------------------------------------
def _doc_codes():
    text = (ROOT / "docs" / "cli.md").read_text()
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^\| `(http2_[a-z0-9_]+)` \| (\d+) \|", text, re.M)}


H2_CODES = _doc_codes()


def test_docs_list_the_http2_kinds():
    # k6's numbering: 1610 + code for GOAWAY, 1630 + code for RST_STREAM, 1650 + code for
    # connection errors; the "past RFC 9113 §7" kinds at 1610, 1630, 1650 (as k6's)
    assert H2_CODES["http2_goaway_no_error"] == 1611, H2_CODES
    assert H2_CODES["http2_stream_internal_error"] == 1633
    assert H2_CODES["http2_stream_refused_stream"] == 1638
    assert H2_CODES["http2_connection_protocol_error"] == 1652
    assert H2_CODES["http2_goaway"] == 1610
    assert H2_CODES["http2_stream_error"] == 1630
    assert H2_CODES["http2_connection_error"] == 1650
    assert len(H2_CODES) == 3 * 15, sorted(H2_CODES)


@pytest.fixture
def h2_accounting(monkeypatch):
    """accounting.assert_accounting, knowing the http2_* kinds (for this test only)."""
    for k, v in H2_CODES.items():
        monkeypatch.setitem(accounting.KIND_CODES, k, v)
    return accounting.assert_accounting


# --------------------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ngx(tmp_path_factory, certs):
    cert, key = certs["both"]
    n = start_h2_nginx(tmp_path_factory.mktemp("h2nginx"), cert, key)
    try:
        yield n
    finally:
        n.stop()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = ServeDemo(tmp_path_factory.mktemp("h2demo"), ["--port", "0", "--workers", "2"])
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def demo_tls(tmp_path_factory):
    d = ServeDemo(tmp_path_factory.mktemp("h2demotls"),
                  ["--tls", "--port", "0", "--workers", "2"])
    try:
        yield d
    finally:
        d.stop()


def doc_of(r):
    """The result file as written (series with their tags)."""
    return json.loads(Path(r.export).read_text())


def series_counts(r, name="http_reqs", key="proto"):
    """{tags[key]: count} over the series of a metric (count, or the trend's count)."""
    out = Counter()
    for s in doc_of(r)["metrics"][name]["series"]:
        out[s["tags"].get(key)] += s["values"].get("count", 0)
    return dict(out)


def all_series_tags(r, prefix="http_req"):
    """Every series' tags of the http_req* metrics."""
    out = []
    for name, m in doc_of(r)["metrics"].items():
        if name.startswith(prefix):
            out += [(name, s["tags"]) for s in m["series"]]
    return out


def assert_h2_errors(r, want):
    """errors[] are exactly want ({kind: count}), with docs/cli.md's codes, and the failed
    samples carry that code in their error_code tag."""
    errs = errors_by_kind(r.summary)
    got = {k: e["count"] for k, e in errs.items()}
    assert got == want, f"errors {r.summary['errors']}\n{r}"
    for k, e in errs.items():
        if k in H2_CODES:
            assert e["code"] == H2_CODES[k], e
    tagged = Counter()
    for s in doc_of(r)["metrics"]["http_reqs"]["series"]:
        if "error_code" in s["tags"]:
            tagged[int(s["tags"]["error_code"])] += s["values"]["count"]
    assert tagged == Counter({errs[k]["code"]: n for k, n in want.items()}), tagged


def quick(stampede, url, *args, n=None, expect=EXIT_OK, timeout=30):
    extra = ["--iterations", n] if n is not None else []
    return stampede.load(url, "--no-summary", *extra, *args, timeout=timeout, expect=expect)


# --------------------------------------------------------------------------------------
# 1. quick mode against nginx: counts, proto tags, bytes
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("listener,flags", [("tls_h2", ["--http2", "--insecure"]),
                                            ("h2c", [H2C])], ids=["alpn-h2", "h2c"])
def test_quick_h2_counts_equal_nginx_log(ngx, stampede, h2_accounting, listener, flags):
    path = f"/q/{listener}"
    n = 60
    r = quick(stampede, ngx.url(listener, path), "--vus", 3, *flags, n=n)
    lines = wait_lines(ngx, path, n)
    assert len(lines) == n == metric(r.summary, "http_reqs")["count"], (lines[-3:], r)
    assert {ln["proto"] for ln in lines} == {"HTTP/2.0"}, Counter(ln["proto"] for ln in lines)
    assert {ln["status"] for ln in lines} == {200}
    assert r.summary["errors"] == []
    h2_accounting(r.summary, server_count=len(lines))
    # every HTTP sample says HTTP/2.0
    assert series_counts(r) == {"HTTP/2.0": n}
    tags = all_series_tags(r)
    assert tags and all(t.get("proto") == "HTTP/2.0" for _, t in tags), tags
    # one connection per VU (at most 3), each carrying several requests
    assert 1 <= len({ln["conn"] for ln in lines}) <= 3, Counter(ln["conn"] for ln in lines)
    # bytes: at least what nginx counted for the requests and responses (HPACK'd header
    # blocks and DATA), plus connection-level frames (preface, SETTINGS, WINDOW_UPDATE)
    sent = metric(r.summary, "data_sent")["count"]
    recv = metric(r.summary, "data_received")["count"]
    log_in = sum(ln["req_len"] for ln in lines)
    log_out = sum(ln["sent"] for ln in lines)
    assert log_in <= sent <= 2 * log_in + 2048, (sent, log_in)
    assert log_out <= recv <= 2 * log_out + 2048, (recv, log_out)


@pytest.mark.parametrize("listener,h2flag", [("tls_h2", "--http2"), ("h2c", H2C)],
                         ids=["alpn-h2", "h2c"])
def test_hpack_makes_requests_smaller_than_http11(ngx, stampede, listener, h2flag):
    """Same requests, same server: HTTP/2's per-request bytes (HPACK-indexed headers,
    binary framing) are fewer than HTTP/1.1's. A size check, not a timing one."""
    n = 40
    hdrs = ["-H", "X-Trace: " + "t" * 120, "-H", "Accept: application/json"]
    tls = ["--insecure"] if listener.startswith("tls") else []
    path = f"/hpack/{listener}"
    r2 = quick(stampede, ngx.url(listener, path + "/2"), h2flag, *tls, *hdrs, n=n)
    h1_url = ngx.url(listener if tls else "h1", path + "/1")
    r1 = quick(stampede, h1_url, "--http1.1", *tls, *hdrs, n=n)
    assert series_counts(r2) == {"HTTP/2.0": n}
    assert series_counts(r1) == {"HTTP/1.1": n}
    lines2 = wait_lines(ngx, path + "/2", n)
    lines1 = wait_lines(ngx, path + "/1", n)
    assert len(lines2) == len(lines1) == n
    assert {ln["proto"] for ln in lines2} == {"HTTP/2.0"}
    assert {ln["proto"] for ln in lines1} == {"HTTP/1.1"}
    s2, s1 = (metric(r.summary, "data_sent")["count"] / n for r in (r2, r1))
    d2, d1 = (metric(r.summary, "data_received")["count"] / n for r in (r2, r1))
    assert 0 < s2 < s1, f"data_sent per request: HTTP/2 {s2:.1f} B, HTTP/1.1 {s1:.1f} B"
    assert 0 < d2 < d1, f"data_received per request: HTTP/2 {d2:.1f} B, HTTP/1.1 {d1:.1f} B"
    # HPACK: after the first request the 120-byte header is an index, so HTTP/2 sends
    # less than half of HTTP/1.1's bytes per request
    assert s2 < s1 / 2, (s2, s1)
    # HTTP/1.1's count is exactly the bytes nginx read (request_length, no TLS overhead)
    assert metric(r1.summary, "data_sent")["count"] == sum(ln["req_len"] for ln in lines1)


# --------------------------------------------------------------------------------------
# 2. --streams: VUs sharing a connection
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("listener,flags,vus,conns",
                         [("tls_h2", ["--http2", "--insecure"], 20, 2),
                          ("h2c", [H2C], 40, 4)], ids=["alpn-h2", "h2c"])
def test_streams_share_connections(ngx, stampede, h2_accounting, listener, flags, vus,
                                   conns):
    path = f"/streams/{listener}"
    n = 400
    # --threads 2: VUs are grouped per thread (see test_streams_groups_vus_across_threads),
    # so that 20 and 40 VUs make whole groups of 10 on any machine
    r = quick(stampede, ngx.url(listener, path), "--vus", vus, "--streams", 10,
              "--threads", 2, *flags, n=n)
    lines = wait_lines(ngx, path, n)
    assert len(lines) == n == metric(r.summary, "http_reqs")["count"]
    assert r.summary["errors"] == []
    per_conn = Counter(ln["conn"] for ln in lines)
    assert len(per_conn) == conns, f"{vus} VUs / 10 streams: connections {per_conn}"
    assert {ln["proto"] for ln in lines} == {"HTTP/2.0"}
    assert series_counts(r) == {"HTTP/2.0": n}
    h2_accounting(r.summary, server_count=n)


def test_streams_are_concurrent_on_one_connection(stampede):
    """h2load -c 2 -m 10 alike: 20 VUs, --streams 10, a server holding each answer 20 ms:
    two connections, and on them several streams open at once, never more than 10."""
    with H2Server("delay") as s:
        r = quick(stampede, s.url("/c"), H2C, "--vus", 20, "--streams", 10, "--threads", 2,
                  n=200)
    assert r.summary["errors"] == []
    assert metric(r.summary, "http_reqs")["count"] == 200 == s.answered
    assert s.connections == 2, s.connections
    assert not s.violations, s.violations
    assert 2 <= s.max_open <= 10, s.max_open


def test_server_max_concurrent_streams_is_respected(stampede):
    """SETTINGS_MAX_CONCURRENT_STREAMS = 2 with --streams 10: the client keeps to the
    server's limit (python-h2 raises on a stream past it), and every request completes."""
    with H2Server("max2") as s:
        r = quick(stampede, s.url("/m"), H2C, "--vus", 10, "--streams", 10, n=60)
    assert r.summary["errors"] == [], r
    assert metric(r.summary, "http_reqs")["count"] == 60 == s.answered
    assert not s.violations, s.violations
    assert s.max_open <= 2, s.max_open
    assert series_counts(r) == {"HTTP/2.0": 60}


# --------------------------------------------------------------------------------------
# 3. ALPN fallback
# --------------------------------------------------------------------------------------
def test_alpn_falls_back_to_http11_nginx(ngx, stampede, h2_accounting):
    path = "/alpn/h1"
    n = 30
    r = quick(stampede, ngx.url("tls_h1", path), "--http2", "--insecure", "--vus", 2, n=n)
    lines = wait_lines(ngx, path, n)
    assert len(lines) == n == metric(r.summary, "http_reqs")["count"]
    assert {ln["proto"] for ln in lines} == {"HTTP/1.1"}
    assert series_counts(r) == {"HTTP/1.1": n}
    assert r.summary["errors"] == []
    h2_accounting(r.summary, server_count=n)


def test_alpn_falls_back_to_http11_serve_demo(demo_tls, stampede):
    url = f"https://127.0.0.1:{demo_tls.port}/health"
    r = quick(stampede, url, "--http2", "--insecure", n=20)
    assert r.summary["errors"] == []
    assert series_counts(r) == {"HTTP/1.1": 20}


def test_http2_flag_on_plain_http_is_http11(ngx, stampede):
    """--http2 offers h2 by ALPN, which exists only on TLS: on http:// it is HTTP/1.1."""
    path = "/alpn/plain"
    r = quick(stampede, ngx.url("h1", path), "--http2", n=10)
    assert series_counts(r) == {"HTTP/1.1": 10}
    assert {ln["proto"] for ln in wait_lines(ngx, path, 10)} == {"HTTP/1.1"}


# --------------------------------------------------------------------------------------
# 4. scripts
# --------------------------------------------------------------------------------------
BATCH = """
    options = { iterations = 1, vus = 1 }
    function default()
      local reqs = {}
      for i = 1, 5 do reqs[i] = BASE .. "/batch/" .. stampede.env.TAG .. "/" .. i end
      local rs = http.batch(reqs)
      for i, r in ipairs(rs) do
        stampede.check(r, {
          ["status " .. i] = function(x) return x.status == 200 end,
          ["proto " .. i] = function(x) return x.proto == stampede.env.PROTO end,
        })
      end
    end
"""


@pytest.mark.parametrize("flag,proto", [(None, "HTTP/2.0"), ("--http2", "HTTP/2.0"),
                                        ("--http1.1", "HTTP/1.1")],
                         ids=["default", "http2", "http1.1"])
def test_script_batch_over_one_h2_connection(ngx, tmp_path, flag, proto):
    tag = (flag or "default").strip("-")
    args = ["--insecure", "-e", f"TAG={tag}", "-e", f"PROTO={proto}"]
    if flag:
        args.append(flag)
    r = run_script(tmp_path, BATCH, *args, base=ngx.url("tls_h2", ""))
    assert r.rc == 0, r
    assert_checks_pass(r)
    assert metric(r.summary, "http_reqs")["count"] == 5
    assert series_counts(r) == {proto: 5}
    lines = wait_lines(ngx, f"/batch/{tag}/", 5)
    assert sorted(ln["path"] for ln in lines) == [f"/batch/{tag}/{i}" for i in range(1, 6)]
    assert {ln["proto"] for ln in lines} == {proto}
    if proto == "HTTP/2.0":
        # k6's semantics: a batch's requests are streams of the VU's one connection
        assert len({ln["conn"] for ln in lines}) == 1, lines


POSTS = """
    options = { iterations = 1 }
    function default()
      local big = string.rep("0123456789abcdef", 5000) .. "\\0tail"
      local chunked = "chunked body, \\r\\n0\\r\\n\\r\\n inside"
      local a = http.post(BASE .. "/echo/big", big,
                          { headers = { ["Content-Type"] = "application/octet-stream" } })
      local b = http.post(BASE .. "/echo/chunked", chunked,
                          { headers = { ["Transfer-Encoding"] = "chunked" } })
      local c = http.put(BASE .. "/echo/put", "put body")
      stampede.check(a, {
        ["big status"] = function(r) return r.status == 200 end,
        ["big proto"] = function(r) return r.proto == stampede.env.PROTO end,
        ["big echoed"] = function(r) return r.body == big end,
      })
      stampede.check(b, {
        ["chunked proto"] = function(r) return r.proto == stampede.env.PROTO end,
        ["chunked echoed"] = function(r) return r.body == chunked end,
      })
      stampede.check(c, { ["put echoed"] = function(r) return r.body == "put body" end })
    end
"""

BIG_BODY = b"0123456789abcdef" * 5000 + b"\0tail"
CHUNKED_BODY = b"chunked body, \r\n0\r\n\r\n inside"


@pytest.mark.parametrize("listener,flags,proto",
                         [("tls_h2", [], "HTTP/2.0"), ("h2c", [H2C], "HTTP/2.0"),
                          ("tls_h2", ["--http1.1"], "HTTP/1.1")],
                         ids=["alpn-h2", "h2c", "http1.1"])
def test_script_post_bodies_reach_nginx_intact(ngx, tmp_path, listener, flags, proto):
    if not ngx.has_echo:
        pytest.skip("nginx's echo module (libnginx-mod-http-echo) is not installed")
    r = run_script(tmp_path, POSTS, "--insecure", "-e", f"PROTO={proto}", *flags,
                   base=ngx.url(listener, ""))
    assert r.rc == 0, r
    assert_checks_pass(r)
    assert series_counts(r) == {proto: 3}


def test_script_post_bodies_reach_h2_server_intact(tmp_path):
    """The request bodies as the server's HTTP/2 stack got them (DATA frames): a chunked
    one arrives de-chunked (no chunk framing in HTTP/2), a binary one byte for byte."""
    with H2Server("ok") as s:
        r = run_script(tmp_path, POSTS, H2C, "-e", "PROTO=HTTP/2.0", base=s.url(""))
    assert r.rc == 0, r
    assert_checks_pass(r)
    bodies = {req[3]: req[4] for req in s.requests}
    assert bodies == {"/echo/big": BIG_BODY, "/echo/chunked": CHUNKED_BODY,
                      "/echo/put": b"put body"}, {k: (v or b"")[:60] for k, v in bodies.items()}


# --------------------------------------------------------------------------------------
# 5. hostile servers (python3-h2)
# --------------------------------------------------------------------------------------
def test_goaway_before_processing_retries_get(stampede, h2_accounting):
    """GOAWAY(last_stream_id 0) while the GET is in flight: it was not processed, so it
    is sent again once, on a new connection, and succeeds."""
    with H2Server("goaway_first") as s:
        r = quick(stampede, s.url("/g"), H2C, n=3)
    assert r.summary["errors"] == [], r
    assert metric(r.summary, "http_reqs")["count"] == 3 == s.answered
    assert s.connections == 2
    assert s.methods() == ["GET"] * 4   # 1 unprocessed on connection 1, then 3
    assert [q[0] for q in s.requests] == [1, 2, 2, 2]
    h2_accounting(r.summary, server_count=3, retries=True)


def test_goaway_before_processing_resends_post(stampede, h2_accounting):
    """... a POST too: the server said it did not process it (RFC 9113 §8.7), so it is
    sent again once whatever its method, as k6's Go client does."""
    with H2Server("goaway_first") as s:
        r = quick(stampede, s.url("/p"), H2C, "-X", "POST", "--body", "once", n=3)
    assert r.summary["errors"] == [], r
    assert metric(r.summary, "http_reqs")["count"] == 3 == s.answered
    assert s.connections == 2
    assert [(q[0], q[2]) for q in s.requests] == [(1, "POST")] + [(2, "POST")] * 3
    h2_accounting(r.summary, server_count=3, retries=True)


@pytest.mark.parametrize("code,kind", [("NO_ERROR", "http2_goaway_no_error"),
                                       ("ENHANCE_YOUR_CALM", "http2_goaway_enhance_your_calm"),
                                       ("PROTOCOL_ERROR", "http2_goaway_protocol_error"),
                                       ("31", "http2_goaway")])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_goaway_codes(stampede, h2_accounting, code, kind, method):
    """A request refused by GOAWAY on every connection is sent once more, then fails with
    the kind named by the GOAWAY's code (k6's 1611+code; 1610 for an unknown code)."""
    extra = ("-X", "POST", "--body", "b") if method == "POST" else ()
    with H2Server(f"goaway_always:{code}") as s:
        r = quick(stampede, s.url("/gc"), H2C, *extra, n=2)
    assert_h2_errors(r, {kind: 2})
    assert metric(r.summary, "http_reqs")["count"] == 2
    assert s.answered == 0 and len(s.requests) == 4   # each request: once, and its retry
    assert s.methods() == [method] * 4
    h2_accounting(r.summary, server_count=len(s.requests), retries=True)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_goaway_graceful_finishes_processed_streams(stampede, method):
    """GOAWAY(last_stream_id = the stream in flight) then its answer: that request
    succeeds (even a POST: it was processed), and the next ones go on a new connection."""
    body = ["--body", "b"] if method == "POST" else []
    with H2Server("goaway_graceful") as s:
        r = quick(stampede, s.url("/gg"), H2C, "-X", method, *body, n=4)
    assert r.summary["errors"] == [], r
    assert s.answered == 4 and len(s.requests) == 4
    assert [q[0] for q in s.requests] == [1, 2, 2, 2]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_goaway_after_every_answer(stampede, method):
    """A server that ends each connection after one answer (GOAWAY, close): every request
    succeeds on a connection of its own; none is sent twice."""
    body = ["--body", "b"] if method == "POST" else []
    with H2Server("goaway_after") as s:
        r = quick(stampede, s.url("/ga"), H2C, "-X", method, *body, n=5)
    assert r.summary["errors"] == [], r
    assert s.answered == 5 == len(s.requests) == s.connections


@pytest.mark.parametrize("code,kind", [("INTERNAL_ERROR", "http2_stream_internal_error"),
                                       ("CANCEL", "http2_stream_cancel"),
                                       ("ENHANCE_YOUR_CALM", "http2_stream_enhance_your_calm"),
                                       ("31", "http2_stream_error")])
def test_rst_stream_kinds(stampede, h2_accounting, code, kind):
    with H2Server(f"rst:{code}") as s:
        r = quick(stampede, s.url("/r"), H2C, n=3)
    assert metric(r.summary, "http_reqs")["count"] == 3
    assert_h2_errors(r, {kind: 3})
    assert len(s.requests) == 3   # a processed (reset) request is not sent again
    assert s.connections == 1     # a stream error leaves the connection usable
    h2_accounting(r.summary, server_count=3)


def test_refused_stream_get_is_retried(stampede, h2_accounting):
    with H2Server("refuse_first") as s:
        r = quick(stampede, s.url("/rf"), H2C, n=3)
    assert r.summary["errors"] == [], r
    assert metric(r.summary, "http_reqs")["count"] == 3 == s.answered
    assert s.methods() == ["GET"] * 4
    h2_accounting(r.summary, server_count=3, retries=True)


def test_refused_stream_post_is_resent_once(stampede, h2_accounting):
    """REFUSED_STREAM says the request was not processed (RFC 9113 §8.7): a POST is sent
    again once too; refused again, it fails as http2_stream_refused_stream (1638)."""
    with H2Server("refuse_first") as s:
        r = quick(stampede, s.url("/rfp"), H2C, "-X", "POST", "--body", "x", n=3)
    assert r.summary["errors"] == [], r
    assert metric(r.summary, "http_reqs")["count"] == 3 == s.answered
    assert len(s.requests) == 4
    h2_accounting(r.summary, server_count=3, retries=True)
    with H2Server("refuse_always") as s:
        r = quick(stampede, s.url("/rfp"), H2C, "-X", "POST", "--body", "x", n=2)
    assert_h2_errors(r, {"http2_stream_refused_stream": 2})
    assert len(s.requests) == 4 and s.answered == 0
    h2_accounting(r.summary, server_count=len(s.requests), retries=True)


def test_garbage_after_preface_is_a_connection_protocol_error(stampede):
    with H2Server("garbage") as s:
        r = quick(stampede, s.url("/gb"), H2C, "--timeout", "2s", n=2)
    assert metric(r.summary, "http_reqs")["count"] == 2
    assert_h2_errors(r, {"http2_connection_protocol_error": 2})


def test_garbage_after_preface_fails_every_request(stampede):
    """Whatever the kind (see the test above), no crash: every request fails, counted."""
    with H2Server("garbage") as s:
        r = quick(stampede, s.url("/gb2"), H2C, "--timeout", "2s", n=2)
    assert metric(r.summary, "http_reqs")["count"] == 2
    assert metric(r.summary, "http_req_failed")["passes"] == 2
    assert s.answered == 0


@pytest.mark.parametrize("mode", ["big:200000", "bigstream:200000"],
                         ids=["content-length", "streamed"])
def test_response_too_large_leaves_other_streams(tmp_path, mode):
    """A body past maxResponseBodySize fails its stream (response_too_large) while the
    batch's other streams, answered after it on the same connection, succeed."""
    src = """
        options = { iterations = 2, maxResponseBodySize = 10000 }
        function default()
          local rs = http.batch({ BASE .. "/big", BASE .. "/s1", BASE .. "/s2", BASE .. "/s3" })
          stampede.check(rs[1], {
            ["big failed"] = function(r) return r.status == 0 and r.error_code == 1030 end })
          for i = 2, 4 do
            stampede.check(rs[i], {
              ["small ok"] = function(r) return r.status == 200 and r.body == "ok\\n"
                                                and r.proto == "HTTP/2.0" end })
          end
        end
    """
    with H2Server(mode) as s:
        r = run_script(tmp_path, src, H2C, base=s.url(""))
    assert r.rc == 0, r
    assert_checks_pass(r)
    assert_h2_errors(r, {"response_too_large": 2})
    assert metric(r.summary, "http_reqs")["count"] == 8
    assert s.connections == 1, "the connection should outlive a stream's error"
    assert s.answered == 6


def test_silent_server_times_out(stampede, h2_accounting):
    with H2Server("silent") as s:
        r = quick(stampede, s.url("/sl"), H2C, "--timeout", "1s", "--vus", 2, n=2)
        settle(lambda: len(s.resets) >= 2)
    assert_h2_errors(r, {"request_timeout": 2})
    assert len(s.requests) == 2
    assert s.connections == 2   # one per VU
    # the timed-out streams are cancelled (RST_STREAM CANCEL), not left open
    assert [int(c) for c in s.resets] == [8, 8], s.resets
    h2_accounting(r.summary, server_count=2)


def test_close_mid_stream_fails_without_hanging(stampede, h2_accounting):
    with H2Server("close_mid") as s:
        r = quick(stampede, s.url("/cm"), H2C, "--timeout", "20s", n=3)
    assert metric(r.summary, "http_reqs")["count"] == 3
    assert metric(r.summary, "http_req_failed")["passes"] == 3
    errs = errors_by_kind(r.summary)
    assert "request_timeout" not in errs and "interrupted" not in errs, errs
    assert sum(e["count"] for e in errs.values()) == 3
    # a response's headers came: not sent again
    assert len(s.requests) == 3
    h2_accounting(r.summary, server_count=3)


# --------------------------------------------------------------------------------------
# 6. HTTP/2 where there is none; flags that exclude each other
# --------------------------------------------------------------------------------------
PRIOR_BUG = ("BUG: --http2-prior-knowledge against an HTTP/1.1-only server (it answers "
             "'HTTP/1.1 400' to the preface) is reported as connection_reset (1220), not "
             "an http2_connection_* kind; a server that keeps the connection open after "
             "that answer leaves the requests waiting for request_timeout")


def test_prior_knowledge_to_http11_serve_demo_is_an_h2_error(demo, stampede):
    r = quick(stampede, f"http://127.0.0.1:{demo.port}/health", H2C, "--timeout", "5s", n=3)
    assert metric(r.summary, "http_reqs")["count"] == 3
    kinds = set(errors_by_kind(r.summary))
    assert kinds and all(k.startswith("http2_connection_") for k in kinds), kinds


def test_prior_knowledge_to_http11_nginx_is_an_h2_error(ngx, stampede):
    r = quick(stampede, ngx.url("h1", "/pk"), H2C, "--timeout", "5s", n=3)
    kinds = set(errors_by_kind(r.summary))
    assert kinds and all(k.startswith("http2_connection_") for k in kinds), kinds


def test_prior_knowledge_to_http11_answer_kept_open_is_an_h2_error(stampede):
    with H2Server("junk") as s:
        r = quick(stampede, s.url("/junk"), H2C, "--timeout", "2s", n=2)
    kinds = set(errors_by_kind(r.summary))
    assert kinds and all(k.startswith("http2_connection_") for k in kinds), kinds


def test_prior_knowledge_to_http11_fails_cleanly(demo, ngx, stampede):
    """Whatever the kind: every request fails, the run ends (exit 0), nothing crashes."""
    for url in (f"http://127.0.0.1:{demo.port}/health", ngx.url("h1", "/pk2")):
        r = quick(stampede, url, H2C, "--timeout", "5s", n=3)
        assert metric(r.summary, "http_reqs")["count"] == 3
        assert metric(r.summary, "http_req_failed")["passes"] == 3
        assert "request_timeout" not in errors_by_kind(r.summary)


@pytest.mark.parametrize("args,message", [
    (["--streams", "4"], "--streams needs HTTP/2"),
    (["--streams", "4", "--http1.1"], "--http1.1 turns HTTP/2 off"),
    (["--http1.1", "--http2"], "exclude each other"),
    (["--http2", "--http1.1"], "exclude each other"),
    (["--http2", H2C], "exclude each other"),
    (["--http1.1", H2C], "exclude each other"),
    ([H2C, "--streams", "0"], "--streams"),
    ([H2C, "--streams", "x"], "--streams"),
], ids=["streams-alone", "streams-http1.1", "http1.1-http2", "http2-http1.1", "http2-prior",
        "http1.1-prior", "streams-0", "streams-x"])
def test_conflicting_flags_are_refused(stampede, args, message):
    # nothing listens on port 9 of loopback: a refused run must not even try
    r = stampede("run", "--url", "http://127.0.0.1:9/", "--iterations", "1", "-q", *args,
                 expect=EXIT_CONFIG, timeout=10)
    assert message in r.stderr, r
    assert "Traceback" not in r.stderr and r.stdout.strip() == "", r


def test_streams_refused_for_scripts_with_http11(tmp_path):
    r = run_script(tmp_path, """
        options = { iterations = 1 }
        function default() http.get("http://127.0.0.1:9/") end
    """, "--http1.1", "--streams", "2", expect=EXIT_CONFIG, export=False)
    assert "--http1.1 turns HTTP/2 off" in r.stderr, r


# --------------------------------------------------------------------------------------
# more: grouping of --streams, flow control, the end of a run, script features over h2
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("vus,threads,conns", [(10, None, 1), (40, None, 4), (10, 2, 2)])
def test_streams_groups_vus_per_thread(ngx, stampede, vus, threads, conns):
    """--streams N: the VUs of a worker thread share connections N by N (connections are a
    thread's own). Without --threads there are at most vus/N threads, so --vus 10 --streams
    10 is one connection; --threads 2 splits the 10 VUs: 2 connections of 5 streams."""
    path = f"/group/{vus}/{threads}"
    n = 300
    extra = ("--threads", threads) if threads else ()
    quick(stampede, ngx.url("h2c", path), H2C, "--vus", vus, "--streams", 10, *extra, n=n)
    lines = wait_lines(ngx, path, n)
    assert len(lines) == n
    per_conn = Counter(ln["conn"] for ln in lines)
    assert len(per_conn) == conns, f"{vus} VUs / 10 streams: connections {per_conn}"


def test_flow_control_large_bodies_on_one_connection(ngx, stampede):
    """Three 24 MiB responses at once on one connection: past the client's 16 MiB stream
    window and, together, its 64 MiB connection window; all arrive whole."""
    size = 24 << 20
    path = ngx.add_file("big24.bin", bytes(range(256)) * (size // 256))
    n = 6
    r = quick(stampede, ngx.url("h2c", path), H2C, "--vus", 3, "--streams", 3,
              "--threads", 1, n=n, timeout=60)
    assert r.summary["errors"] == [], r
    lines = wait_lines(ngx, path, n)
    assert len(lines) == n and {ln["status"] for ln in lines} == {200}
    assert len({ln["conn"] for ln in lines}) == 1, lines
    recv = metric(r.summary, "data_received")["count"]
    assert n * size <= recv <= sum(ln["sent"] for ln in lines) + 64 * 1024, recv


def test_cut_off_streams_match_nginx_log(ngx, stampede, h2_accounting):
    """Requests cut off by the end of the run count (as `interrupted`) only when their
    HEADERS frame was written (quick.c, call_reached_server). Every request nginx logged is
    in http_reqs, and the only ones nginx may not have logged are interrupted ones: at a
    hard stop the shared connection closes while nginx may still have streams it received
    but had not read, which it then drops (docs/cli.md, "What the counts mean")."""
    for i in range(3):
        path = f"/cutoff/{i}/"
        r = stampede.load(ngx.url("h2c", path), "--no-summary", H2C, "--vus", 100,
                          "--streams", 50, "--duration", "0.3s", "--grace", "0s")
        n = metric(r.summary, "http_reqs")["count"]
        cut = errors_by_kind(r.summary).get("interrupted", {"count": 0})["count"]
        lines = wait_lines(ngx, path, n - cut)
        assert n - cut <= len(lines) <= n, (
            f"run {i}: {n} requests in the result ({cut} interrupted), {len(lines)} in "
            f"nginx's log")


def test_cut_off_streams_are_interrupted_not_failed(ngx, stampede, h2_accounting):
    """--grace 0s with streams in flight: they are `interrupted`, no other error."""
    path = "/cutoff-kinds/"
    r = stampede.load(ngx.url("h2c", path), "--no-summary", H2C, "--vus", 20,
                      "--streams", 10, "--duration", "0.3s", "--grace", "0s")
    errs = errors_by_kind(r.summary)
    assert set(errs) <= {"interrupted"}, errs
    assert errs.get("interrupted", {"count": 0})["count"] <= 20
    h2_accounting(r.summary)


SCRIPT_FEATURES = """
    options = { iterations = 1 }
    function default()
      local r = http.get(BASE .. "/redirect/x")
      stampede.check(r, {
        ["redirect followed"] = function(x) return x.status == 200 and x.body == "ok\\n" end,
        ["redirect url"] = function(x) return x.url == BASE .. "/landed/" end,
        ["redirect proto"] = function(x) return x.proto == "HTTP/2.0" end,
      })
      r = http.get(BASE .. "/cookies/x")
      stampede.check(r, {
        ["two set-cookie"] = function(x) return x.cookies.a ~= nil and x.cookies.b ~= nil end,
        ["content-type"] = function(x) return x:header("content-type") == "text/plain" end,
      })
      r = http.head(BASE .. "/files/small.txt")
      stampede.check(r, {
        ["head"] = function(x) return x.status == 200 and (x.body == nil or x.body == "")
                                      and x.headers["Content-Length"] == "6" end })
      r = http.get(BASE .. "/nocontent/x")
      stampede.check(r, { ["204"] = function(x) return x.status == 204 and x.error_code == 0 end })
      r = http.get(BASE .. "/files/small.txt")
      stampede.check(r, { ["file"] = function(x) return x.body == "hello\\n" end })
    end
"""


def test_script_redirect_cookies_head_204_over_h2(ngx, tmp_path):
    ngx.add_file("small.txt", b"hello\n")
    r = run_script(tmp_path, SCRIPT_FEATURES, "--insecure", base=ngx.url("tls_h2", ""))
    assert r.rc == 0, r
    assert_checks_pass(r)
    assert series_counts(r) == {"HTTP/2.0": 6}


def test_script_cookie_jar_over_h2(tmp_path):
    with H2Server("ok") as s:
        r = run_script(tmp_path, """
            options = { iterations = 1 }
            function default()
              http.get(BASE .. "/setcookie/x")
              local r = http.get(BASE .. "/after")
              stampede.check(r, { ["ok"] = function(x) return x.status == 200 end })
            end
        """, H2C, base=s.url(""))
    assert r.rc == 0, r
    assert_checks_pass(r)
    after = [q for q in s.requests if q[3] == "/after"]
    assert len(after) == 1
    # RFC 9113 §8.2.3: one cookie field, or one per cookie-pair
    cookies = "; ".join(v for k, v in after[0][5] if k == "cookie")
    assert sorted(cookies.split("; ")) == ["a=1", "b=2"], after[0][5]
    names = [k for k, _ in after[0][5]]
    assert names == [k.lower() for k in names], names
    assert not {"connection", "host", "transfer-encoding", "keep-alive"} & set(names), names


EDGE_SCRIPT = """
    options = { iterations = 2 }
    local body = string.rep("z", 5000)
    function default()
      local r = http.post(BASE .. "/edge", body)
      stampede.check(r, {
        ["status"] = function(x) return x.status == 200 and x.error_code == 0 end,
        ["proto"] = function(x) return x.proto == "HTTP/2.0" end,
        ["body"] = function(x) return x.body == body end,
        ["big header"] = function(x) return stampede.env.MODE ~= "bigheaders"
                                            or x.headers["X-Big"] == string.rep("h", 40000) end,
      })
    end
"""


@pytest.mark.parametrize("mode", ["trailers", "early_hints", "bigheaders", "ping",
                                  "smallwindow", "push"])
def test_server_protocol_features(tmp_path, mode):
    """Trailers, a 103 before the 200, a header block in CONTINUATION frames, the server's
    PINGs (acknowledged), a 1000-byte initial window for 5000-byte request bodies (flow
    control kept: python-h2 raises otherwise), and server push (refused by SETTINGS, as
    k6/Go do, or at least not breaking the answer)."""
    with H2Server(mode) as s:
        r = run_script(tmp_path, EDGE_SCRIPT, H2C, "-e", f"MODE={mode}", base=s.url(""))
    assert r.rc == 0, r
    assert_checks_pass(r)
    assert r.summary["errors"] == []
    assert s.answered == 2 and not s.violations, (s.answered, s.violations)
    assert all(q[4] == b"z" * 5000 for q in s.requests), [len(q[4] or b"") for q in s.requests]
    if mode == "ping":
        assert s.ping_acks == 2
    if mode == "push":
        assert s.client_settings.get(2) == 0 or s.pushed == 2, s.client_settings


def test_http_debug_shows_h2_request_line(ngx, stampede):
    r = stampede("run", "--url", ngx.url("h2c", "/debug"), H2C, "--iterations", 1,
                 "--http-debug", "-q", "--no-summary", expect=EXIT_OK)
    out = r.stdout + r.stderr
    assert "HTTP/2.0 200" in out, out
    assert "GET /debug HTTP/2.0" in out, out


@pytest.mark.parametrize("mode", ["badheader", "cl_mismatch"])
def test_malformed_response_is_stream_protocol_error(stampede, h2_accounting, mode):
    """A connection-specific field in a response, or a body shorter than its
    content-length, is a malformed response (RFC 9113 §8.1.1, §8.2.2): a stream error."""
    with H2Server(mode) as s:
        r = quick(stampede, s.url("/mal"), H2C, n=3)
    assert_h2_errors(r, {"http2_stream_protocol_error": 3})
    assert len(s.requests) == 3
    h2_accounting(r.summary, server_count=3)


def test_early_response_then_reset_no_error_is_success(stampede, tmp_path):
    """RFC 9113 §8.1: a server may answer before the request body has all come, then
    RST_STREAM(NO_ERROR): the response counts, the client stops sending."""
    body = tmp_path / "body.bin"
    body.write_bytes(bytes(range(256)) * 4096)   # 1 MiB, past the 64 KiB initial window
    with H2Server("early_response") as s:
        r = quick(stampede, s.url("/early"), H2C, "-X", "POST", "--body-file", body,
                  "--timeout", "10s", n=3)
    assert r.summary["errors"] == [], r
    assert s.answered == 3 and len(s.requests) == 3


def test_server_allowing_no_streams_is_bounded(stampede):
    """SETTINGS_MAX_CONCURRENT_STREAMS = 0: a request sent before those SETTINGS came is
    answered; one that waits for a stream slot ends at --timeout (request_timeout); the
    run ends, every request accounted for, nothing the server would call a violation."""
    with H2Server("max0") as s:
        r = quick(stampede, s.url("/z"), H2C, "--timeout", "2s", n=3)
    assert metric(r.summary, "http_reqs")["count"] == 3
    errs = errors_by_kind(r.summary)
    assert set(errs) <= {"request_timeout"}, r.summary["errors"]
    assert s.answered + sum(e["count"] for e in errs.values()) == 3
    assert not s.violations, s.violations


def test_script_no_connection_reuse_over_h2(ngx, tmp_path):
    r = run_script(tmp_path, """
        options = { iterations = 3, noConnectionReuse = true }
        function default() http.get(BASE .. "/ncr/" .. stampede.vu.iteration) end
    """, "--insecure", base=ngx.url("tls_h2", ""))
    assert r.rc == 0, r
    lines = wait_lines(ngx, "/ncr/", 3)
    assert {ln["proto"] for ln in lines} == {"HTTP/2.0"}
    assert len({ln["conn"] for ln in lines}) == 3, lines


def test_script_no_vu_connection_reuse_over_h2(ngx, tmp_path):
    r = run_script(tmp_path, """
        options = { iterations = 3, noVUConnectionReuse = true }
        function default()
          http.get(BASE .. "/nvr/" .. stampede.vu.iteration .. "/a")
          http.get(BASE .. "/nvr/" .. stampede.vu.iteration .. "/b")
        end
    """, "--insecure", base=ngx.url("tls_h2", ""))
    assert r.rc == 0, r
    lines = wait_lines(ngx, "/nvr/", 6)
    assert {ln["proto"] for ln in lines} == {"HTTP/2.0"}
    by_iter = {}
    for ln in lines:
        by_iter.setdefault(ln["path"].split("/")[2], set()).add(ln["conn"])
    # one connection per iteration, a new one each iteration
    assert all(len(c) == 1 for c in by_iter.values()), by_iter
    assert len(set().union(*by_iter.values())) == 3, by_iter


def test_script_mixed_origins_and_proto_thresholds(ngx, tmp_path):
    """A batch to an h2 origin and an HTTP/1.1 one: each response says its protocol, and
    thresholds on {proto:...} sub-metrics count each side."""
    r = run_script(tmp_path, """
        options = { iterations = 2, thresholds = {
          ["http_reqs{proto:HTTP/2.0}"] = { "count==2" },
          ["http_reqs{proto:HTTP/1.1}"] = { "count==2" } } }
        function default()
          local rs = http.batch({ BASE .. "/mix/h2", stampede.env.H1 .. "/mix/h1" })
          stampede.check(rs[1], { ["h2"] = function(x) return x.proto == "HTTP/2.0" end })
          stampede.check(rs[2], { ["h1"] = function(x) return x.proto == "HTTP/1.1" end })
        end
    """, "--insecure", "-e", f"H1={ngx.url('h1', '')}", base=ngx.url("tls_h2", ""))
    assert r.rc == 0, r
    assert_checks_pass(r)
    assert series_counts(r) == {"HTTP/2.0": 2, "HTTP/1.1": 2}
    lines = wait_lines(ngx, "/mix/", 4)
    assert Counter((ln["path"], ln["proto"]) for ln in lines) == {
        ("/mix/h2", "HTTP/2.0"): 2, ("/mix/h1", "HTTP/1.1"): 2}


# --------------------------------------------------------------------------------------
# regressions found in review
# --------------------------------------------------------------------------------------
def test_alpn_fallback_with_waiting_streams_loses_nothing(ngx, stampede, h2_accounting):
    """--streams 10 against a TLS server without h2: the VUs that waited for the first
    connection (it might have been HTTP/2) go to HTTP/1.1 connections of their own; none
    fails, the counts equal nginx's, and a warning says HTTP/2 was not chosen."""
    path = "/alpn/waiters"
    n = 200
    r = quick(stampede, ngx.url("tls_h1", path), "--http2", "--insecure", "--vus", 20,
              "--streams", 10, n=n)
    assert r.summary["errors"] == [], r
    assert series_counts(r) == {"HTTP/1.1": n}
    assert len(wait_lines(ngx, path, n)) == n
    assert "did not choose HTTP/2 by ALPN" in r.stderr, r.stderr
    h2_accounting(r.summary, server_count=n)


def test_batch_over_alpn_fallback_all_answered(ngx, tmp_path):
    """A script's http.batch against https:// without h2 (scripts offer h2 by default):
    every response is a 200 over HTTP/1.1."""
    r = run_script(tmp_path, BATCH, "--insecure", "-e", "TAG=fb", "-e", "PROTO=HTTP/1.1",
                   base=ngx.url("tls_h1", "").rstrip("/"))
    assert_checks_pass(r)


def test_no_proto_tag_without_a_connection(stampede):
    """A request that never got a connection (refused) went over no protocol: its samples
    have no proto tag, and a threshold on {proto:HTTP/1.1} is not fooled by it."""
    r = quick(stampede, "http://127.0.0.1:9/x", H2C, n=3, expect=None)
    assert series_counts(r) == {None: 3}, series_counts(r)


def test_connections_after_goaway_are_closed(stampede):
    """A server that sends GOAWAY after every answer and never closes: each connection is
    closed by the client once its stream ended, so the client's open fds stay few."""
    import subprocess
    import time
    from conftest import BIN
    with H2Server("goaway_keep") as s:
        p = subprocess.Popen([BIN, "run", "--url", s.url("/gk"), H2C, "--vus", "2",
                              "--duration", "3s", "-q", "--no-summary"],
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        most = 0
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline and p.poll() is None:
            try:
                most = max(most, len(list(Path(f"/proc/{p.pid}/fd").iterdir())))
            except OSError:
                break
            time.sleep(0.1)
        _, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        assert s.answered > 20, s.answered
    assert most < 64, f"{most} fds open at once after {s.answered} GOAWAYs"


@pytest.mark.parametrize("mode,kind", [("manyheaders", "too_many_headers"),
                                       ("truncated", "truncated"),
                                       ("status000", "http2_stream_protocol_error")])
def test_bad_responses_fail_with_their_kind(stampede, h2_accounting, mode, kind):
    """150 header fields (HTTP/1.1's limit is 100: an HPACK block can carry far more),
    a response reset (NO_ERROR) before its Content-Length was sent, a :status of 000."""
    with H2Server(mode) as s:
        r = quick(stampede, s.url("/bad"), H2C, "--timeout", "5s", n=2)
    assert_h2_errors(r, {kind: 2})


def test_content_length_over_the_limit_fails_at_once(stampede):
    """A Content-Length past --max-response-body-size: response_too_large as soon as the
    header block is read (the stream is reset), not when the body has come."""
    with H2Server("big:3000000") as s:
        r = quick(stampede, s.url("/big"), H2C, "--max-response-body-size", "10KB", n=1)
    assert_h2_errors(r, {"response_too_large": 1})
    assert metric(r.summary, "data_received")["count"] < 3000000
