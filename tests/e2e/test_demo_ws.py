"""The demo target's WebSocket endpoints (docs/demo.md, "WebSocket"; notes: ws_demo_spec):
the RFC 6455 handshake, /ws/echo and its commands, /ws/chat rooms, limits, metrics, 1,000
sessions with the server's memory bounded, and wss:// over --tls. Clients: raw sockets
for the handshake, python3-websockets (asyncio) for sessions."""

import asyncio
import base64
import hashlib
import os
import re
import socket
import ssl
import struct

import pytest
import websockets

from conftest import sanitized
from serve_demo_proc import ServeDemo

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# What 1,000 sessions may add to the server's RSS (about 3 MB measured: an idle session
# keeps neither buffers nor a wslay context). Under AddressSanitizer redzones and the
# quarantine of freed memory count too.
WS_1000_RSS_KIB = 1024 * (64 if sanitized() else 8)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    s = ServeDemo(tmp_path_factory.mktemp("wsdemo"), ["--port", "0", "--idle-timeout", "30s"])
    yield s
    assert s.stop() == 0, s.err.read_text()


@pytest.fixture(scope="module")
def tls_demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("wssdemo")
    s = ServeDemo(d, ["--port", "0", "--tls", "--write-ca", "ca.pem"])
    s.ca = d / "ca.pem"
    yield s
    assert s.stop() == 0, s.err.read_text()


def url(demo, path):
    return f"ws://127.0.0.1:{demo.port}{path}"


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def metrics(demo):
    with socket.create_connection(("127.0.0.1", demo.port), timeout=10) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    out = {}
    for line in data.decode().split("\r\n\r\n", 1)[1].splitlines():
        m = re.match(r"^(demo_ws_\w+) (\d+)$", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def handshake(demo, path="/ws/echo", headers=None, drop=(), version="HTTP/1.1"):
    """Send a handshake request by hand; returns (status, head text, socket)."""
    h = {"Host": f"127.0.0.1:{demo.port}", "Upgrade": "websocket", "Connection": "Upgrade",
         "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}
    h.update(headers or {})
    for k in drop:
        h.pop(k)
    req = f"GET {path} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
    s = socket.create_connection(("127.0.0.1", demo.port), timeout=10)
    s.sendall((req + "\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    text = head.decode(errors="replace")
    return int(text.split(" ", 2)[1]), text, s


def frame(opcode, payload, fin=True):
    """A masked client frame."""
    mask = os.urandom(4)
    n = len(payload)
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        head = struct.pack("!BB", b0, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", b0, 0x80 | 127, n)
    return head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))


def read_frame(s):
    def exact(n):
        b = b""
        while len(b) < n:
            chunk = s.recv(n - len(b))
            if not chunk:
                raise EOFError
            b += chunk
        return b
    b0, b1 = exact(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", exact(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", exact(8))[0]
    assert not b1 & 0x80, "server frames are not masked"
    return bool(b0 & 0x80), b0 & 0x0F, exact(n)


# --------------------------------------------------------------------------------------
# handshake
# --------------------------------------------------------------------------------------
def test_accept_value_is_rfc6455s_test_vector(demo):
    expected = base64.b64encode(hashlib.sha1(b"dGhlIHNhbXBsZSBub25jZQ==" + GUID).digest())
    assert expected == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    status, head, s = handshake(demo)
    with s:
        assert status == 101, head
        assert "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in head, head
        assert re.search(r"(?i)\r\nupgrade: websocket\r\n", head), head
        assert re.search(r"(?i)\r\nconnection: upgrade\r\n", head), head
        s.sendall(frame(0x1, b"raw hello"))
        assert read_frame(s) == (True, 0x1, b"raw hello")


@pytest.mark.parametrize("change,drop,status", [
    ({}, ["Upgrade"], 400),
    ({}, ["Connection"], 400),
    ({"Connection": "keep-alive"}, [], 400),
    ({"Upgrade": "h2c"}, [], 400),
    ({}, ["Sec-WebSocket-Key"], 400),
    ({"Sec-WebSocket-Key": "short"}, [], 400),
    ({"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ"}, [], 400),
    ({}, ["Sec-WebSocket-Version"], 400),
    ({"Sec-WebSocket-Version": "8"}, [], 426),
])
def test_bad_handshakes_are_refused(demo, change, drop, status):
    got, head, s = handshake(demo, headers=change, drop=drop)
    s.close()
    assert got == status, head
    if status == 426:
        assert "\r\nSec-WebSocket-Version: 13\r\n" in head, head


def test_handshake_needs_get_and_http11(demo):
    got, head, s = handshake(demo, version="HTTP/1.0")
    s.close()
    assert got == 400, head
    with socket.create_connection(("127.0.0.1", demo.port), timeout=10) as s:
        s.sendall(b"POST /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nContent-Length: 0\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 405 ")


def test_chat_room_name_is_bounded(demo):
    got, head, s = handshake(demo, path="/ws/chat?room=" + "r" * 65)
    s.close()
    assert got == 400, head
    got, head, s = handshake(demo, path="/ws/chat?room=" + "r" * 64)
    s.close()
    assert got == 101, head


# --------------------------------------------------------------------------------------
# echo and its commands
# --------------------------------------------------------------------------------------
def test_echo_text_binary_and_fragmented(demo):
    async def go():
        async with websockets.connect(url(demo, "/ws/echo")) as ws:
            await ws.send("hello ✓")
            assert await ws.recv() == "hello ✓"
            await ws.send(b"\x00\xffbinary")
            assert await ws.recv() == b"\x00\xffbinary"
            await ws.send(["frag", "ment", "ed"])   # one message in three frames
            assert await ws.recv() == "fragmented"
            await ws.send(b"")
            assert await ws.recv() == b""
    run(go())


def test_fragmented_client_message_is_reassembled_raw(demo):
    status, head, s = handshake(demo)
    with s:
        assert status == 101
        s.sendall(frame(0x2, b"ab", fin=False))
        s.sendall(frame(0x9, b"p"))             # a ping between the fragments
        s.sendall(frame(0x0, b"cd", fin=False) + frame(0x0, b"ef"))
        assert read_frame(s) == (True, 0xA, b"p")
        assert read_frame(s) == (True, 0x2, b"abcdef")


def test_frag_and_big(demo):
    status, head, s = handshake(demo)
    with s:
        s.sendall(frame(0x1, b"frag:2500"))
        frames = [read_frame(s) for _ in range(3)]
        assert [len(p) for _, _, p in frames] == [1000, 1000, 500]
        assert [f for f, _, _ in frames] == [False, False, True]
        assert [o for _, o, _ in frames] == [0x1, 0x0, 0x0]
        assert b"".join(p for _, _, p in frames) == b"y" * 2500

    async def go():
        async with websockets.connect(url(demo, "/ws/echo"), max_size=None) as ws:
            await ws.send("big:16777216")
            m = await ws.recv()
            assert isinstance(m, bytes) and len(m) == 16 << 20 and m.count(b"x") == len(m)
            await ws.send("frag:0")
            assert await ws.recv() == ""
            await ws.send("big:16777217")        # over the limit: not a command
            assert await ws.recv() == "big:16777217"
    run(go())


@pytest.mark.parametrize("cmd,code", [("close", 1000), ("close:4001", 4001),
                                      ("close:1011", 1011)])
def test_close_commands(demo, cmd, code):
    async def go():
        async with websockets.connect(url(demo, "/ws/echo")) as ws:
            await ws.send(cmd)
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            return ws.close_code, ws.close_reason
    assert run(go()) == (code, "bye")


def test_drop_closes_without_a_close_frame(demo):
    status, head, s = handshake(demo)
    with s:
        s.sendall(frame(0x1, b"drop"))
        try:
            assert s.recv(100) == b""            # no Close frame: the TCP connection ends
        except ConnectionResetError:
            pass

    async def go():
        async with websockets.connect(url(demo, "/ws/echo")) as ws:
            await ws.send("drop")
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            return ws.close_code
    assert run(go()) == 1006


def test_server_ping_and_client_ping(demo):
    status, head, s = handshake(demo)
    with s:
        s.sendall(frame(0x1, b"ping"))
        assert read_frame(s) == (True, 0x9, b"demo")
        s.sendall(frame(0xA, b"demo") + frame(0x9, b"are you there"))
        assert read_frame(s) == (True, 0xA, b"are you there")
        s.sendall(frame(0x8, struct.pack("!H", 1000)))
        fin, op, payload = read_frame(s)
        assert op == 0x8 and payload[:2] == struct.pack("!H", 1000)
        assert s.recv(10) == b""

    async def go():
        async with websockets.connect(url(demo, "/ws/echo")) as ws:
            await asyncio.wait_for(await ws.ping(b"x"), 10)
    run(go())


def test_message_over_16mib_gets_close_1009(demo):
    status, head, s = handshake(demo)
    with s:
        # the header and the first bytes: the size alone is refused
        s.sendall(struct.pack("!BBQ", 0x82, 0x80 | 127, (16 << 20) + 1) + b"\0" * 100)
        fin, op, payload = read_frame(s)
        assert op == 0x8 and struct.unpack("!H", payload[:2])[0] == 1009


def test_unmasked_frame_is_a_protocol_error(demo):
    status, head, s = handshake(demo)
    with s:
        s.sendall(b"\x81\x02hi")
        fin, op, payload = read_frame(s)
        assert op == 0x8 and struct.unpack("!H", payload[:2])[0] == 1002


# --------------------------------------------------------------------------------------
# chat
# --------------------------------------------------------------------------------------
def test_chat_broadcasts_to_every_session_in_the_room(demo):
    async def go():
        room = url(demo, "/ws/chat?room=t3")
        async with websockets.connect(room) as a, websockets.connect(room) as b, \
                websockets.connect(room) as c, \
                websockets.connect(url(demo, "/ws/chat?room=other")) as other:
            await a.send("from a")
            assert [await x.recv() for x in (a, b, c)] == ["from a"] * 3
            await c.send(b"\x01from c")
            assert [await x.recv() for x in (a, b, c)] == [b"\x01from c"] * 3
            await other.send("elsewhere")
            assert await other.recv() == "elsewhere"
            await b.close()
            await a.send("after b left")
            assert [await x.recv() for x in (a, c)] == ["after b left"] * 2
            with pytest.raises(asyncio.TimeoutError):   # nothing crossed rooms
                await asyncio.wait_for(other.recv(), 0.3)
        async with websockets.connect(url(demo, "/ws/chat")) as lobby:
            await lobby.send("lobby")
            assert await lobby.recv() == "lobby"
    run(go())


def test_metrics_count_sessions_and_messages(demo):
    before = metrics(demo)

    async def go():
        async with websockets.connect(url(demo, "/ws/echo")) as ws:
            for i in range(5):
                await ws.send(f"m{i}")
                await ws.recv()
            return metrics(demo)
    during = run(go())
    assert during["demo_ws_sessions_total"] == before["demo_ws_sessions_total"] + 1
    assert during["demo_ws_sessions_open"] == before["demo_ws_sessions_open"] + 1
    assert during["demo_ws_messages_received_total"] == \
        before["demo_ws_messages_received_total"] + 5
    assert during["demo_ws_messages_sent_total"] == before["demo_ws_messages_sent_total"] + 5


# --------------------------------------------------------------------------------------
# 1,000 sessions, idle timeout, stop, TLS
# --------------------------------------------------------------------------------------
def test_1000_sessions_with_bounded_memory(tmp_path):
    s = ServeDemo(tmp_path, ["--port", "0"])
    try:
        base = rss_kib(s.proc.pid)

        async def go():
            socks = await asyncio.gather(*[websockets.connect(
                url(s, "/ws/echo" if i % 2 else "/ws/chat?room=big"), max_queue=None)
                for i in range(1000)])
            echo = socks[1::2]
            for i, ws in enumerate(echo):
                await ws.send(f"hello {i}")
            assert [await ws.recv() for ws in echo] == [f"hello {i}" for i in range(500)]
            await socks[0].send("to 500")
            for ws in socks[0::2]:
                assert await ws.recv() == "to 500"
            open_now = metrics(s)["demo_ws_sessions_open"]
            rss = rss_kib(s.proc.pid)
            await asyncio.gather(*[ws.close() for ws in socks])
            return open_now, rss
        open_now, rss = run(go(), timeout=120)
        assert open_now == 1000
        grown = rss - base
        print(f"server RSS: {base} KiB idle, {rss} KiB with 1,000 sessions (+{grown} KiB)")
        assert grown < WS_1000_RSS_KIB, f"1,000 sessions cost {grown} KiB"
    finally:
        assert s.stop() == 0, s.err.read_text()


@pytest.mark.parametrize("why", ["idle", "sigterm"])
def test_server_closes_with_1001(tmp_path, why):
    """Idle past --idle-timeout, or a graceful stop: Close 1001 (going away)."""
    s = ServeDemo(tmp_path, ["--port", "0", "--idle-timeout", "300ms" if why == "idle" else "60s"])
    try:
        async def go():
            async with websockets.connect(url(s, "/ws/echo")) as ws:
                await ws.send("up")
                assert await ws.recv() == "up"
                if why == "sigterm":
                    s.terminate()
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), 20)
                return ws.close_code, ws.close_reason
        assert run(go()) == (1001, "going away")
    finally:
        assert s.stop() == 0, s.err.read_text()


def test_wss_over_tls(tls_demo):
    ctx = ssl.create_default_context(cafile=str(tls_demo.ca))

    async def go():
        base = f"wss://localhost:{tls_demo.port}"
        async with websockets.connect(base + "/ws/echo", ssl=ctx, max_size=None) as ws:
            await ws.send("secure")
            assert await ws.recv() == "secure"
            await ws.send("big:1000000")
            assert len(await ws.recv()) == 1000000
            await ws.send(["a", "b"])
            assert await ws.recv() == "ab"
        async with websockets.connect(base + "/ws/chat?room=s", ssl=ctx) as a, \
                websockets.connect(base + "/ws/chat?room=s", ssl=ctx) as b:
            await b.send("tls chat")
            assert [await a.recv(), await b.recv()] == ["tls chat"] * 2
        async with websockets.connect(base + "/ws/echo", ssl=ctx) as ws:
            await ws.send("close:4000")
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            return ws.close_code
    assert run(go()) == 4000
