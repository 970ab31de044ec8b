"""Scripted tests: stampede.ws (k6/ws) against a real WebSocket server on loopback.

The server is python3-websockets (asyncio) in a background thread: echo, close with a
code, abrupt close, pings, fragmented and large messages, plain and TLS (a self-signed
certificate). The scripts report what they saw through checks; the tests also compare
what the server counted with the metrics (ws_msgs_sent / ws_msgs_received / ws_sessions).
"""

import asyncio
import http
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

websockets = pytest.importorskip("websockets")

from conftest import BIN, metric, parse_result  # noqa: E402
from script_servers import assert_checks_pass, line_of, run_script, script_errors  # noqa: E402
from serve_demo_proc import ServeDemo  # noqa: E402
from servers import make_cert  # noqa: E402
from test_demo_ws import metrics as demo_counters  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


class WsServer:
    """websockets.serve on 127.0.0.1 in a thread. Paths: /echo (with the text commands
    close[:CODE], drop, big:N, frag:N, ping, count), /silent (reads, never answers),
    /reject (handshake refused with 403)."""

    def __init__(self, ssl_context=None):
        self.ssl_context = ssl_context
        self.received = 0      # data messages the server got
        self.sessions = 0      # handshakes accepted
        self.closed_codes = []  # close codes the clients sent
        self.pongs = 0
        self._lock = threading.Lock()
        self._loop = None
        self._server = None
        self._thread = None
        self.port = None

    async def _handler(self, ws, path=None):
        path = path or ws.path
        with self._lock:
            self.sessions += 1
        try:
            if path.startswith("/silent"):
                await ws.wait_closed()
            async for msg in ws:
                with self._lock:
                    self.received += 1
                if isinstance(msg, str) and await self._command(ws, msg):
                    continue
                await ws.send(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            with self._lock:
                self.closed_codes.append(ws.close_code)

    async def _command(self, ws, msg):
        if msg == "close" or msg.startswith("close:"):
            code = int(msg.split(":")[1]) if ":" in msg else 1000
            await ws.close(code, "bye")
            return True
        if msg == "drop":
            ws.transport.abort()
            return True
        if msg.startswith("big:"):
            await ws.send(b"x" * int(msg[4:]))
            return True
        if msg.startswith("frag:"):
            n = int(msg[5:])
            await ws.send(("y" * min(1000, n - i)) for i in range(0, n, 1000))
            return True
        if msg.startswith("flood:"):  # flood:N:SIZE: N numbered messages at once
            n, size = map(int, msg[6:].split(":"))
            for i in range(1, n + 1):
                await ws.send(f"{i}:".ljust(size, "f"))
            return True
        if msg == "ping":
            waiter = await ws.ping(b"demo")
            await waiter
            with self._lock:
                self.pongs += 1
            return True
        return False

    async def _process_request(self, path, headers):
        if path.startswith("/reject"):
            return (http.HTTPStatus.FORBIDDEN, [("Content-Type", "text/plain")], b"no\n")
        return None

    def start(self):
        ready = threading.Event()

        def run():
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)

            async def boot():
                self._server = await websockets.serve(
                    self._handler, "127.0.0.1", 0, ssl=self.ssl_context,
                    max_size=64 << 20, process_request=self._process_request,
                    ping_interval=None, backlog=4096, subprotocols=["chat"])
                self.port = self._server.sockets[0].getsockname()[1]

            loop.run_until_complete(boot())
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert ready.wait(10), "websockets server did not start"
        return self

    def stop(self):
        async def down():
            self._server.close()
            await self._server.wait_closed()
        if self._loop:
            asyncio.run_coroutine_threadsafe(down(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def url(self, path="/echo"):
        scheme = "wss" if self.ssl_context else "ws"
        return f"{scheme}://127.0.0.1:{self.port}{path}"


@pytest.fixture
def ws_server():
    s = WsServer().start()
    yield s
    s.stop()


PRE = 'local ws = require "stampede.ws"\nlocal URL = stampede.env.WS_URL\n'


def run_ws(tmp_path, source, url, *args, **kw):
    return run_script(tmp_path, PRE + source, *args, "-e", f"WS_URL={url}", **kw)


def counter(r, name):
    return metric(r.summary, name)["count"]


def test_open_echo_close(tmp_path, ws_server):
    r = run_ws(tmp_path, """
        options = { iterations = 2, vus = 1 }
        function default()
          local got, opened, closed = {}, false, nil
          local params = { tags = { kind = "echo" },
                           headers = { ["Sec-WebSocket-Protocol"] = "chat" } }
          local res = ws.connect(URL, params, function(socket)
            socket:on("open", function()
              opened = true
              socket:send("hello")
              socket:sendBinary("\\0\\1\\2")
            end)
            socket:on("message", function(m)
              got[#got + 1] = m
            end)
            socket:on("binaryMessage", function(m)
              got[#got + 1] = "bin:" .. #m
              socket:close()
            end)
            socket:on("close", function(code) closed = code end)
          end)
          stampede.check(res, {
            ["status 101"] = function(r) return r.status == 101 end,
            ["accept header"] = function(r) return r.headers["Sec-Websocket-Accept"] ~= nil end,
            ["url"] = function(r) return r.url == URL end,
            ["subprotocol"] = function(r) return r.headers["Sec-Websocket-Protocol"] == "chat" end,
            ["no error"] = function(r) return r.error == nil end,
          })
          stampede.check(got, {
            ["opened"] = function() return opened end,
            ["text echoed"] = function(g) return g[1] == "hello" end,
            ["binary echoed"] = function(g) return g[2] == "bin:3" end,
            ["closed 1000"] = function() return closed == 1000 end,
          })
        end
    """, ws_server.url())
    assert_checks_pass(r)
    assert counter(r, "ws_sessions") == 2
    assert counter(r, "ws_msgs_sent") == 4 == ws_server.received
    assert counter(r, "ws_msgs_received") == 4
    assert metric(r.summary, "ws_connecting")["count"] == 2
    assert metric(r.summary, "ws_session_duration")["count"] == 2
    assert counter(r, "data_sent") > 0 and counter(r, "data_received") > 0
    tagged = [s for s in r.summary["timeseries"] if s["metric"] == "ws_sessions" and s["tags"]]
    assert tagged and all(s["tags"].get("url") == ws_server.url() and
                          s["tags"].get("status") == "101" and
                          s["tags"].get("kind") == "echo" and
                          s["tags"].get("subproto") == "chat" and
                          s["tags"].get("scenario") == "default" for s in tagged), tagged
    assert ws_server.closed_codes == [1000, 1000]


def test_server_close_with_code(tmp_path, ws_server):
    r = run_ws(tmp_path, """
        options = { iterations = 1 }
        function default()
          local code, errors = nil, 0
          ws.connect(URL, function(socket)
            socket:on("open", function() socket:send("close:4001") end)
            socket:on("error", function() errors = errors + 1 end)
            socket:on("close", function(c) code = c end)
          end)
          stampede.check(code, { ["closed by the server with 4001"] = function(c) return c == 4001 end,
                                 ["no error"] = function() return errors == 0 end })
        end
    """, ws_server.url())
    assert_checks_pass(r)


def test_abrupt_close(tmp_path, ws_server):
    r = run_ws(tmp_path, """
        options = { iterations = 1 }
        function default()
          local code, err = nil, nil
          ws.connect(URL, function(socket)
            socket:on("open", function() socket:send("drop") end)
            socket:on("error", function(e) err = e end)
            socket:on("close", function(c) code = c end)
          end)
          stampede.check(code, { ["1006"] = function(c) return c == 1006 end,
                                 ["error event"] = function() return err ~= nil and
                                   err:find("without a Close frame") ~= nil end })
        end
    """, ws_server.url())
    assert_checks_pass(r)
    assert counter(r, "ws_sessions") == 1
    assert metric(r.summary, "ws_session_duration")["count"] == 1


def test_ping_pong(tmp_path, ws_server):
    r = run_ws(tmp_path, """
        options = { iterations = 1 }
        function default()
          local pongs, pings = 0, 0
          ws.connect(URL, function(socket)
            socket:on("open", function()
              socket:ping()
              socket:send("ping")   -- the server pings us: we answer (wslay), 'ping' event
            end)
            socket:on("pong", function()
              pongs = pongs + 1
              if pings > 0 then socket:close() end
            end)
            socket:on("ping", function()
              pings = pings + 1
              if pongs > 0 then socket:close() end
            end)
          end)
          stampede.check(pongs, { ["pong"] = function(n) return n == 1 end,
                                  ["ping"] = function() return pings == 1 end })
        end
    """, ws_server.url())
    assert_checks_pass(r)
    assert metric(r.summary, "ws_ping")["count"] == 1
    assert ws_server.pongs == 1


def test_fragmented_and_large_messages(tmp_path, ws_server):
    r = run_ws(tmp_path, """
        options = { iterations = 1 }
        function default()
          local sizes = {}
          ws.connect(URL, function(socket)
            socket:on("open", function()
              socket:send("frag:25000")
              socket:send("big:5000000")
              socket:sendBinary(string.rep("z", 3000000))
            end)
            socket:on("message", function(m)
              sizes[#sizes + 1] = "t" .. #m .. (m == string.rep("y", 25000) and "ok" or "bad")
            end)
            socket:on("binaryMessage", function(m)
              sizes[#sizes + 1] = "b" .. #m
              if #sizes == 3 then socket:close() end
            end)
          end)
          stampede.check(sizes, {
            ["fragments reassembled"] = function(s) return s[1] == "t25000ok" end,
            ["5 MB from the server"] = function(s) return s[2] == "b5000000" end,
            ["3 MB echoed"] = function(s) return s[3] == "b3000000" end,
          })
        end
    """, ws_server.url(), timeout=60)
    assert_checks_pass(r)


def test_oversize_message_closes_1009(tmp_path, ws_server):
    r = run_ws(tmp_path, """
        options = { iterations = 1 }
        function default()
          local code, err, msgs = nil, nil, 0
          ws.connect(URL, { maxMessageSize = 100000 }, function(socket)
            socket:on("open", function() socket:send("big:200000") end)
            socket:on("binaryMessage", function() msgs = msgs + 1 end)
            socket:on("error", function(e) err = e end)
            socket:on("close", function(c) code = c end)
          end)
          stampede.check(code, { ["1009"] = function(c) return c == 1009 end,
                                 ["error says why"] = function() return err and
                                   err:find("larger than 100000 bytes") ~= nil end,
                                 ["not delivered"] = function() return msgs == 0 end })
        end
    """, ws_server.url())
    assert_checks_pass(r)


def test_slow_handler_backpressure(tmp_path, ws_server):
    """The server sends 40 MB at once while the handler sleeps now and then: reading
    pauses while 1 MiB of events wait, nothing is lost or reordered."""
    r = run_ws(tmp_path, """
        options = { iterations = 1 }
        function default()
          local n, ordered = 0, true
          ws.connect(URL, function(socket)
            socket:on("open", function() socket:send("flood:4000:10000") end)
            socket:on("message", function(m)
              n = n + 1
              if tonumber(m:match("^(%d+):")) ~= n or #m ~= 10000 then ordered = false end
              if n % 500 == 0 then stampede.sleep(0.05) end
              if n == 4000 then socket:close() end
            end)
          end)
          stampede.check(n, { ["all 4000"] = function(x) return x == 4000 end,
                              ["in order"] = function() return ordered end })
        end
    """, ws_server.url(), timeout=60)
    assert_checks_pass(r)
    assert counter(r, "ws_msgs_received") == 4000
    assert counter(r, "data_received") > 40_000_000


def test_io_uring_backend(tmp_path, ws_server):
    """Upgraded sockets are readiness-driven on the io_uring loop too (test_io_backend
    assumes io_uring can be set up here, and so does this)."""
    r = run_ws(tmp_path, """
        options = { iterations = 4, vus = 2 }
        function default()
          local n = 0
          ws.connect(URL, function(socket)
            socket:on("open", function() for i = 1, 20 do socket:send("m" .. i) end end)
            socket:on("message", function() n = n + 1; if n == 20 then socket:close() end end)
          end)
          stampede.check(n, { ["20 echoes"] = function(x) return x == 20 end })
        end
    """, ws_server.url(), "--io", "io_uring")
    assert_checks_pass(r)
    assert counter(r, "ws_msgs_sent") == 80 == ws_server.received


def test_session_ends_within_graceful_stop(tmp_path, ws_server):
    """A session that closes during gracefulStop ends normally: its duration is recorded
    and its iteration is not interrupted."""
    r = run_ws(tmp_path, """
        options = { scenarios = { s = { executor = "constant-vus", vus = 2,
                                        duration = "500ms", gracefulStop = "10s" } } }
        function default()
          local closed
          ws.connect(URL, function(socket)
            socket:setTimeout(function() socket:close() end, 1500)
            socket:on("close", function(c) closed = c end)
          end)
          stampede.check(closed, { ["closed normally"] = function(c) return c == 1000 end })
        end
    """, ws_server.url(), timeout=30)
    assert_checks_pass(r)
    assert counter(r, "ws_sessions") == 2
    assert metric(r.summary, "ws_session_duration")["count"] == 2


def test_timeouts_and_intervals(tmp_path, ws_server):
    r = run_ws(tmp_path, """
        options = { iterations = 1 }
        function default()
          local ticks, fired, echoes = 0, 0, 0
          ws.connect(URL, function(socket)
            socket:setInterval(function()
              ticks = ticks + 1
              socket:send("tick " .. ticks)
            end, 10)
            socket:setTimeout(function() fired = fired + 1 end, 5)
            socket:on("message", function()
              echoes = echoes + 1
              if echoes == 5 then socket:close() end
            end)
          end)
          stampede.check(ticks, { ["interval ran 5 times at least"] = function(n) return n >= 5 end,
                                  ["timeout ran once"] = function() return fired == 1 end,
                                  ["5 echoes"] = function() return echoes == 5 end })
        end
    """, ws_server.url())
    assert_checks_pass(r)


def test_handler_error_reported_with_line(tmp_path, ws_server):
    r = run_ws(tmp_path, """
        options = { iterations = 2 }
        function default()
          ws.connect(URL, function(socket)
            socket:on("open", function() socket:send("x") end)
            socket:on("message", function(m)
              local t = nil
              return t.field -- BOOM
            end)
          end)
        end
    """, ws_server.url())
    errs = script_errors(r.summary)
    line = line_of(r.script, "-- BOOM")
    assert any(f"script.lua:{line}:" in e["message"] and "index a nil value" in e["message"] and
               e["count"] == 2 for e in errs), errs
    assert counter(r, "ws_sessions") == 2
    # the connections were closed when the iteration failed: the server saw them go
    deadline = time.monotonic() + 5
    while len(ws_server.closed_codes) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(ws_server.closed_codes) == 2


@pytest.mark.parametrize("call,message", [
    ('ws.connect("http://127.0.0.1:1/", function() end)', "must start with ws:// or wss://"),
    ('ws.connect("ws://[zz/", function() end)', "invalid URL"),
    ('ws.connect(URL, 5, function() end)', "params must be a table"),
    ('ws.connect(URL, {})', "the last argument must be a function"),
    ('ws.connect(URL, { headers = { Upgrade = "x" } }, function() end)', "set by ws.connect"),
    ('ws.connect(URL, { headers = { ["X-A"] = "a\\r\\nb" } }, function() end)', "X-A"),
    ('ws.connect(URL, { maxMessageSize = -1 }, function() end)', "maxMessageSize"),
    ('ws.connect(URL, function(s) s:on("nope", function() end) end)', "invalid option 'nope'"),
    ('ws.connect(URL, function(s) s:close(1005) end)', "not a close code"),
])
def test_bad_arguments(tmp_path, ws_server, call, message):
    r = run_ws(tmp_path, f"""
        options = {{ iterations = 1 }}
        function default()
          {call}
        end
    """, ws_server.url())
    errs = script_errors(r.summary)
    assert any(message in e["message"] and "script.lua:" in e["message"] for e in errs), errs


def test_refused_handshake_and_no_server(tmp_path, ws_server):
    r = run_ws(tmp_path, """
        options = { iterations = 1 }
        function default()
          local called = false
          local res = ws.connect((URL:gsub("/echo", "/reject")), function() called = true end)
          stampede.check(res, {
            ["403"] = function(r) return r.status == 403 end,
            ["error"] = function(r) return r.error and r.error:find("not 101") ~= nil end,
            ["not called"] = function() return not called end,
          })
          res = ws.connect("ws://127.0.0.1:1/x", function() called = true end)
          stampede.check(res, {
            ["refused"] = function(r) return r.status == 0 and r.error ~= nil and r.error_code ~= nil end,
            ["still not called"] = function() return not called end,
          })
        end
    """, ws_server.url())
    assert_checks_pass(r)
    assert "ws_sessions" not in r.summary["metrics"]


def test_wss(tmp_path):
    cert, key = make_cert(str(tmp_path))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv = WsServer(ssl_context=ctx).start()
    try:
        r = run_ws(tmp_path, """
            options = { iterations = 3, vus = 1, insecureSkipTLSVerify = true }
            function default()
              local got
              local res = ws.connect(URL, function(socket)
                socket:on("open", function() socket:send("over tls") end)
                socket:on("message", function(m) got = m; socket:close() end)
              end)
              stampede.check(got, { ["echo over TLS"] = function(m) return m == "over tls" end,
                                    ["101"] = function() return res.status == 101 end })
            end
        """, srv.url())
        assert_checks_pass(r)
        assert counter(r, "ws_sessions") == 3 == srv.sessions
        assert srv.received == 3
    finally:
        srv.stop()


def test_hard_stop_closes_sessions(tmp_path, ws_server):
    """A session that never ends is cut at the run's end (duration + gracefulStop)."""
    r = run_ws(tmp_path, """
        options = { scenarios = { s = { executor = "constant-vus", vus = 3,
                                        duration = "1s", gracefulStop = "1s" } } }
        function default()
          ws.connect((URL:gsub("/echo", "/silent")), function(socket)
            socket:setInterval(function() end, 50)
          end)
        end
    """, ws_server.url(), timeout=30)
    assert counter(r, "ws_sessions") == 3
    assert not r.summary.get("script_errors"), r.summary.get("script_errors")
    deadline = time.monotonic() + 5
    while len(ws_server.closed_codes) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(ws_server.closed_codes) == 3


def _rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_measured(tmp_path, script, url):
    """Run script with WS_URL=url, sampling stampede's RSS every 0.1 s: (exit code,
    stderr, peak RSS in KiB, the result file's view)."""
    out = tmp_path / "result.json"
    p = subprocess.Popen([BIN, "run", str(script), "-q", "-e", f"WS_URL={url}",
                          "--out", f"result={out}"], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    try:
        deadline = time.monotonic() + 60
        while p.poll() is None and time.monotonic() < deadline:
            try:
                peak = max(peak, _rss_kib(p.pid))
            except OSError:
                break
            time.sleep(0.1)
        _, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    summary = parse_result(out.read_text()) if p.returncode == 0 else None
    return p.returncode, stderr.decode(errors="replace"), peak, summary


def test_thousand_sessions_bounded_memory(tmp_path, ws_server):
    """1,000 VUs each hold a session open; stampede's RSS stays bounded (the figure is
    printed for the report: run with -s)."""
    script = tmp_path / "many.lua"
    script.write_text(PRE + """
        options = { scenarios = { s = { executor = "per-vu-iterations", vus = 1000,
                                        iterations = 1, maxDuration = "20s" } } }
        function default()
          ws.connect(URL, function(socket)
            socket:on("open", function() socket:send("hi") end)
            socket:setTimeout(function() socket:close() end, 4000)
          end)
        end
    """)
    rc, stderr, peak, summary = run_measured(tmp_path, script, ws_server.url())
    assert rc == 0, stderr[-3000:]
    assert summary["metrics"]["ws_sessions"]["count"] == 1000
    assert summary["metrics"]["ws_msgs_received"]["count"] == 1000
    print(f"\n1,000 WebSocket sessions: stampede peak RSS {peak / 1024:.1f} MiB")
    assert peak < 512 * 1024, f"peak RSS {peak} KiB"


# --- against the demo target (serve-demo's /ws/echo and /ws/chat) ---------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    s = ServeDemo(tmp_path_factory.mktemp("wsdemo"), ["--port", "0", "--idle-timeout", "60s"])
    yield s
    assert s.stop() == 0, s.err.read_text()


def test_demo_thousand_sessions_bounded_memory(tmp_path, demo):
    """1,000 VUs each hold a session to the demo's /ws/echo for about 3 s (one message
    each way); the demo counts the same sessions and messages as stampede, and
    stampede's RSS stays bounded (the figure is printed: run with -s)."""
    before = demo_counters(demo)
    script = tmp_path / "many.lua"
    script.write_text(PRE + """
        options = { scenarios = { s = { executor = "per-vu-iterations", vus = 1000,
                                        iterations = 1, maxDuration = "30s" } } }
        function default()
          local echoed = false
          ws.connect(URL, function(socket)
            socket:on("open", function() socket:send("hi " .. stampede.vu.id) end)
            socket:on("message", function(m) echoed = m == "hi " .. stampede.vu.id end)
            socket:setTimeout(function() socket:close() end, 3000)
          end)
          stampede.check(echoed, { echoed = function(e) return e end })
        end
    """)
    rc, stderr, peak, summary = run_measured(tmp_path, script,
                                             f"ws://127.0.0.1:{demo.port}/ws/echo")
    assert rc == 0, stderr[-3000:]
    m = summary["metrics"]
    assert m["ws_sessions"]["count"] == 1000
    assert m["ws_msgs_sent"]["count"] == 1000 == m["ws_msgs_received"]["count"]
    assert m["checks"]["passes"] == 1000 and m["checks"]["fails"] == 0
    after = demo_counters(demo)
    assert after["demo_ws_sessions_total"] - before["demo_ws_sessions_total"] == 1000
    assert (after["demo_ws_messages_received_total"] -
            before["demo_ws_messages_received_total"]) == 1000
    print(f"\n1,000 sessions to serve-demo: stampede peak RSS {peak / 1024:.1f} MiB")
    assert peak < 512 * 1024, f"peak RSS {peak} KiB"


def test_example_ws_chat(tmp_path, demo):
    out = tmp_path / "chat.json"
    p = subprocess.run([BIN, "run", str(ROOT / "examples" / "ws-chat.lua"), "-q",
                        "--no-summary", "-e", f"BASE_URL=http://127.0.0.1:{demo.port}",
                        "-e", "TIME_SCALE=0.1", "--out", f"result={out}"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=90)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    summary = parse_result(out.read_text())
    assert summary["script_errors"] == [], summary["script_errors"]
    assert all(t["ok"] for t in summary["thresholds"]), summary["thresholds"]
    m = summary["metrics"]
    assert m["ws_sessions"]["count"] > 0
    # every post is broadcast to the room, the sender included
    assert m["ws_msgs_received"]["count"] >= m["ws_msgs_sent"]["count"] > 0
    assert m["ws_ping"]["count"] == m["ws_sessions"]["count"]


def test_demo_wss_with_cacert(tmp_path_factory, tmp_path):
    d = tmp_path_factory.mktemp("wssdemo")
    s = ServeDemo(d, ["--port", "0", "--tls", "--write-ca", "ca.pem"])
    try:
        r = run_ws(tmp_path, """
            options = { iterations = 2 }
            function default()
              local got
              ws.connect(URL, function(socket)
                socket:on("open", function() socket:send("big:70000") end)
                socket:on("binaryMessage", function(m) got = #m; socket:close() end)
              end)
              stampede.check(got, { ["70000 bytes over wss"] = function(n) return n == 70000 end })
            end
        """, f"wss://localhost:{s.port}/ws/echo", "--cacert", str(d / "ca.pem"))
        assert_checks_pass(r)
        assert counter(r, "ws_sessions") == 2
    finally:
        assert s.stop() == 0, s.err.read_text()


# --------------------------------------------------------------------------------------
# regressions found in review (a raw hostile server: ws_hostile.py)
# --------------------------------------------------------------------------------------
def test_ping_flood_of_a_server_that_never_reads_is_bounded(tmp_path):
    """wslay answers each Ping with a Pong outside ws_send's cap: a server that pings and
    never reads made them pile up (950 MB in 10 s). The session fails with 1008 instead."""
    from ws_hostile import WsHostile
    with WsHostile() as h:
        r = run_ws(tmp_path, """
            options = { iterations = 1 }
            function default()
              local err, code
              ws.connect(URL, function(socket)
                socket:on("error", function(e) err = e end)
                socket:on("close", function(c) code = c end)
                socket:setTimeout(function() socket:close() end, 8000)
              end)
              stampede.check(err, {
                ["pongs capped"] = function(e) return e and e:find("pings faster") ~= nil end,
                ["1008"] = function() return code == 1008 end })
            end
        """, h.url("pingflood"), "--out", f"json={tmp_path / 'points.json'}", timeout=60)
    assert_checks_pass(r)


def test_unsolicited_pongs_are_not_round_trips(tmp_path):
    """Pongs the server sends as heartbeats (RFC 6455 §5.5.3) answer none of our pings: no
    ws_ping sample, although a ping of ours is outstanding."""
    from ws_hostile import WsHostile
    with WsHostile() as h:
        r = run_ws(tmp_path, """
            options = { iterations = 1 }
            function default()
              local pongs = 0
              ws.connect(URL, function(socket)
                socket:on("open", function() socket:ping() end)
                socket:on("pong", function() pongs = pongs + 1 end)
              end)
              stampede.check(pongs, { ["pongs came"] = function(n) return n > 10 end })
            end
        """, h.url("unsolpong"))
    assert_checks_pass(r)
    assert "ws_ping" not in r.summary["metrics"] or \
        metric(r.summary, "ws_ping").get("count", 0) == 0


@pytest.mark.parametrize("mode,why", [("noupgrade", "upgrades to nothing, not websocket"),
                                      ("ext101", "extensions that were not offered")])
def test_bad_101_is_refused(tmp_path, mode, why):
    """A 101 must upgrade to websocket and accept no extension that was not offered (RFC
    6455 §4.1): res.error says which, and the first failure is printed as a warning."""
    from ws_hostile import WsHostile
    with WsHostile() as h:
        r = run_ws(tmp_path, f"""
            options = {{ iterations = 1 }}
            function default()
              local res = ws.connect(URL, function(socket) error("must not open") end)
              stampede.check(res, {{ ["refused"] = function(x)
                return x.error:find("{why}", 1, true) ~= nil end }})
            end
        """, h.url(mode))
    assert_checks_pass(r)
    assert "ws.connect(" in r.stderr and why in r.stderr, r.stderr


def test_params_tags_replace_the_builtin_ones(tmp_path):
    """params.tags = { url = ... } replaces the url tag (k6), so differing URLs can share
    a series."""
    from ws_hostile import WsHostile
    with WsHostile() as h:
        r = run_ws(tmp_path, """
            options = { iterations = 3 }
            local n = 0
            function default()
              n = n + 1
              ws.connect(URL .. "?n=" .. n, { tags = { url = "grouped" } },
                         function(socket) socket:close() end)
            end
        """, h.url("echo"))
    import json
    raw = json.loads(sorted(Path(tmp_path).glob("summary-*.json"))[-1].read_text())
    series = raw["metrics"]["ws_sessions"]["series"]
    assert len(series) == 1 and series[0]["tags"]["url"] == "grouped", series
    assert metric(r.summary, "ws_sessions")["count"] == 3
