"""A raw-socket WebSocket server on 127.0.0.1 that misbehaves on purpose, for test_ws.py.
The request path names the mode:
    pingflood   after the 101, Pings (125 bytes) as fast as it can for 3 s; never reads
    unsolpong   after the 101, an unsolicited Pong every 5 ms for 1 s, then a Close
    noupgrade   a 101 without an Upgrade field (then a text frame)
    ext101      a 101 accepting permessage-deflate, which was never offered
    echo        a plain 101; echoes nothing, closes with 1000 after 1 s
Use as a context manager: `with WsHostile() as h: h.url("pingflood")`."""
import base64
import hashlib
import socket
import struct
import threading
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(op, payload=b""):
    n = len(payload)
    hdr = bytes([0x80 | op, n]) if n < 126 else bytes([0x80 | op, 126]) + struct.pack(">H", n)
    return hdr + payload


def _101(key, extra=b"Upgrade: websocket\r\nConnection: Upgrade\r\n"):
    acc = base64.b64encode(hashlib.sha1(key + GUID).digest())
    return (b"HTTP/1.1 101 Switching Protocols\r\n" + extra +
            b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n")


class WsHostile:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def url(self, mode):
        return f"ws://127.0.0.1:{self.port}/{mode}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.sock.close()

    def _serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(c,), daemon=True).start()

    def _handle(self, c):
        try:
            req = b""
            while b"\r\n\r\n" not in req:
                d = c.recv(4096)
                if not d:
                    return
                req += d
            mode = req.split(b" ")[1].decode().strip("/")
            key = b""
            for line in req.split(b"\r\n"):
                if line.lower().startswith(b"sec-websocket-key:"):
                    key = line.split(b":", 1)[1].strip()
            if mode == "pingflood":
                c.sendall(_101(key))
                burst = frame(9, b"p" * 125) * 1000
                end = time.monotonic() + 3
                while time.monotonic() < end and not self.stop:
                    c.sendall(burst)
                time.sleep(2)
            elif mode == "unsolpong":
                c.sendall(_101(key))
                end = time.monotonic() + 1
                while time.monotonic() < end:
                    c.sendall(frame(10, b"heartbeat"))
                    time.sleep(0.005)
                c.sendall(frame(8, struct.pack(">H", 1000)))
                time.sleep(1)
            elif mode == "noupgrade":
                c.sendall(_101(key, b"") + frame(1, b"hello"))
                time.sleep(1)
            elif mode == "ext101":
                c.sendall(_101(key, b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                    b"Sec-WebSocket-Extensions: permessage-deflate\r\n") +
                          frame(1, b"hello"))
                time.sleep(1)
            else:
                c.sendall(_101(key))
                time.sleep(1)
                c.sendall(frame(8, struct.pack(">H", 1000)))
                time.sleep(1)
        except OSError:
            pass
        finally:
            c.close()
