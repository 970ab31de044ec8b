"""Small HTTP test servers for the end-to-end tests (Python standard library only).

Every server listens on loopback only (127.0.0.1, plus [::1] on the same port when asked
and available), on a free port picked by the kernel, and runs an asyncio event loop in a
background thread of the test process, so hundreds of concurrent keep-alive connections
and ~1000+ requests/s are fine.  Use them as context managers or call start()/stop();
stop() closes the listening sockets and every client connection and joins the thread.

    StallServer     200 "ok" at once, except during a 1 s window of every 5 s period
                    (measured from start() or restart_clock()), when responses are held
                    until the window ends.
    CountingServer  200 "ok" at once; counts requests and connections.
    ScriptedServer  answers every request with a fixed raw byte string, then keeps the
                    connection, closes it (FIN), or resets it (SO_LINGER 0 -> RST).  With
                    a partial body and after="reset" it is the "partial body then RST"
                    server.
    SlowServer      reads requests and never answers (for --timeout).
    TLSServer       CountingServer behind TLS (ssl module), see make_cert().

Run standalone for manual poking:  python3 servers.py stall|count|slow [--port N]
"""

import asyncio
import os
import socket
import ssl
import struct
import subprocess
import threading
import time

OK_BODY = b"ok\n"
OK_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\n"
               + OK_BODY)
OK_RESPONSE_CLOSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
                     b"Connection: close\r\n\r\n" + OK_BODY)

_IGNORED = (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
            ssl.SSLError, OSError, EOFError)


def ipv6_loopback_works():
    """True when a TCP connection over [::1] works on this machine."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as srv:
            srv.bind(("::1", 0))
            srv.listen(1)
            port = srv.getsockname()[1]
            with socket.create_connection(("::1", port), timeout=2):
                conn, _ = srv.accept()
                conn.close()
        return True
    except OSError:
        return False


def free_port(ipv6=False):
    """A TCP port that is currently free on 127.0.0.1 (and on ::1 when ipv6)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            if not ipv6:
                return port
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
                    s6.bind(("::1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port found")


def wait_port(host, port, timeout=10.0, proc=None):
    """Wait until host:port accepts TCP connections. Returns True, or False on timeout
    (or as soon as proc, a Popen, has exited)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(0.5)
                s.connect((host, port))
                return True
        except OSError:
            time.sleep(0.02)
    return False


def make_cert(directory, name="cert", cn="localhost",
              san="DNS:localhost,IP:127.0.0.1"):
    """Generate a self-signed certificate + key with the openssl CLI.
    Returns (cert_path, key_path)."""
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + ".key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", key, "-out", cert, "-subj", "/CN=" + cn,
         "-addext", "subjectAltName=" + san, "-days", "1"],
        check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, timeout=60)
    return cert, key


async def read_message(reader):
    """Read one request: (head bytes up to and with the blank line, body, body as sent), or
    None at EOF before a new request. A chunked body (RFC 9112 §7.1: chunks, the
    last-chunk, then the trailer section up to an empty line) is decoded; otherwise
    Content-Length bytes are read."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if e.partial:
            raise
        return None
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip() or b"0")
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        body = await reader.readexactly(length) if length else b""
        return head, body, body
    parts, raw = [], b""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        raw += size_line
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            while True:
                t = await reader.readuntil(b"\r\n")
                raw += t
                if t == b"\r\n":
                    return head, b"".join(parts), raw
        data = await reader.readexactly(size + 2)
        raw += data
        parts.append(data[:-2])


async def read_request(reader):
    """Read one request (its body too). Returns the head bytes, or None at EOF before a new
    request."""
    msg = await read_message(reader)
    return msg and msg[0]


def wants_close(head):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"connection" and b"close" in value.lower():
            return True
    return head.split(b"\r\n", 1)[0].endswith(b"HTTP/1.0")


class LoopbackServer:
    """What every test server on loopback shares: use as a context manager (start() on
    entry, returning the server; stop() on exit) and its URLs on 127.0.0.1 and [::1]
    from `port` and `ssl_context` (https when set). Subclasses define start(), stop()
    and port."""

    ssl_context = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}/"

    @property
    def url6(self):
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://[::1]:{self.port}/"


class BackgroundServer(LoopbackServer):
    """An asyncio TCP server on loopback in a background thread. Subclasses implement
    `async def handle(self, reader, writer)` for one connection."""

    def __init__(self, host="127.0.0.1", port=0, ipv6=False, ssl_context=None):
        self.host = host
        self.port = port
        self.ipv6 = ipv6          # also listen on [::1] with the same port
        self.ssl_context = ssl_context
        self.connections = 0      # accepted connections
        self.requests = 0         # complete requests read
        self.errors = []          # exceptions swallowed by the loop (for debugging)
        self._lock = threading.Lock()
        self._loop = None
        self._thread = None
        self._servers = []
        self._tasks = set()
        self._writers = set()

    # -- lifecycle --------------------------------------------------------------------
    def start(self):
        ready = threading.Event()
        failure = []

        def run():
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            loop.set_exception_handler(lambda _l, ctx: self.errors.append(ctx.get("message")))
            try:
                loop.run_until_complete(self._listen())
            except BaseException as e:  # noqa: BLE001 - reported to start()
                failure.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("server did not start")
        if failure:
            raise failure[0]
        return self

    async def _listen(self):
        last = None
        for _ in range(20):
            port = self.port or 0
            try:
                srv = await asyncio.start_server(self._client, self.host, port,
                                                 ssl=self.ssl_context, backlog=4096,
                                                 limit=1 << 20, reuse_address=True)
            except OSError as e:
                last = e
                continue
            port = srv.sockets[0].getsockname()[1]
            servers = [srv]
            if self.ipv6:
                try:
                    srv6 = await asyncio.start_server(self._client, "::1", port,
                                                      ssl=self.ssl_context, backlog=4096,
                                                      limit=1 << 20, reuse_address=True)
                    servers.append(srv6)
                except OSError as e:
                    last = e
                    srv.close()
                    await srv.wait_closed()
                    if self.port:
                        break
                    continue
            self._servers = servers
            self.port = port
            return
        raise RuntimeError(f"could not listen: {last}")

    def stop(self):
        if self._loop is None or self._thread is None:
            return
        if self._loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            try:
                fut.result(10)
            except Exception:  # noqa: BLE001 - best effort teardown
                pass
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None

    async def _shutdown(self):
        for srv in self._servers:
            srv.close()
        for w in list(self._writers):
            try:
                w.transport.abort()
            except Exception:  # noqa: BLE001
                pass
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)

    # -- per connection ---------------------------------------------------------------
    async def _client(self, reader, writer):
        task = asyncio.current_task()
        self._tasks.add(task)
        self._writers.add(writer)
        with self._lock:
            self.connections += 1
        try:
            await self.handle(reader, writer)
        except asyncio.CancelledError:
            pass
        except _IGNORED:
            pass
        except Exception as e:  # noqa: BLE001 - keep serving, remember it
            self.errors.append(repr(e))
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                pass

    def _count_request(self):
        with self._lock:
            self.requests += 1

    async def handle(self, reader, writer):
        raise NotImplementedError


class CountingServer(BackgroundServer):
    """Answers every request with 200 "ok" at once and counts requests."""

    async def before_response(self):
        """Hook: awaited after a request is read and before its response is sent."""

    async def handle(self, reader, writer):
        while True:
            head = await read_request(reader)
            if head is None:
                return
            self._count_request()
            await self.before_response()
            close = wants_close(head)
            writer.write(OK_RESPONSE_CLOSE if close else OK_RESPONSE)
            await writer.drain()
            if close:
                return


class StallServer(CountingServer):
    """CountingServer that holds responses during a stall window: with period 5, stall 1
    and offset 2, responses to requests read during [2,3), [7,8), [12,13) ... seconds
    after start()/restart_clock() are sent when the window ends."""

    def __init__(self, period=5.0, stall=1.0, offset=2.0, **kw):
        super().__init__(**kw)
        self.period = period
        self.stall = stall
        self.offset = offset
        self.epoch = time.monotonic()
        self.held = 0             # responses that were delayed by a stall

    def start(self):
        self.restart_clock()
        return super().start()

    def restart_clock(self):
        self.epoch = time.monotonic()

    def stall_remaining(self, now=None):
        """Seconds until the current stall ends (0 when not stalled)."""
        now = time.monotonic() if now is None else now
        phase = (now - self.epoch) % self.period
        if self.offset <= phase < self.offset + self.stall:
            return self.offset + self.stall - phase
        return 0.0

    async def before_response(self):
        wait = self.stall_remaining()
        if wait > 0:
            with self._lock:
                self.held += 1
            await asyncio.sleep(wait)


class ScriptedServer(BackgroundServer):
    """Replies to each request with the raw bytes `response`, then:
       after="keep"   keep the connection and answer the next request the same way;
       after="close"  close it (FIN);
       after="reset"  wait reset_delay seconds, then reset it (SO_LINGER 0 -> RST).
    A partial body with after="reset" gives "partial body then RST"."""

    def __init__(self, response, after="keep", reset_delay=0.1, **kw):
        super().__init__(**kw)
        if after not in ("keep", "close", "reset"):
            raise ValueError(after)
        self.response = response
        self.after = after
        self.reset_delay = reset_delay

    async def handle(self, reader, writer):
        while True:
            head = await read_request(reader)
            if head is None:
                return
            self._count_request()
            writer.write(self.response)
            await writer.drain()
            if self.after == "keep":
                continue
            if self.after == "close":
                # half-close then wait for the peer so every byte is delivered before FIN
                if writer.can_write_eof():
                    writer.write_eof()
                try:
                    await asyncio.wait_for(reader.read(), 5)
                except (asyncio.TimeoutError, *_IGNORED):
                    pass
                return
            # reset: let the bytes reach the peer, then close with SO_LINGER {1, 0}
            while writer.transport.get_write_buffer_size():
                await asyncio.sleep(0.005)
            await asyncio.sleep(self.reset_delay)
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return


class SlowServer(BackgroundServer):
    """Accepts connections and reads requests but never answers."""

    async def handle(self, reader, writer):
        while True:
            head = await read_request(reader)
            if head is None:
                return
            self._count_request()


class TLSServer(CountingServer):
    """CountingServer behind TLS with the given certificate chain and key."""

    def __init__(self, certfile, keyfile, **kw):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
        super().__init__(ssl_context=ctx, **kw)


def _main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=["stall", "count", "slow"])
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    cls = {"stall": StallServer, "count": CountingServer, "slow": SlowServer}[args.kind]
    srv = cls(port=args.port).start()
    print(f"{args.kind} server on {srv.url}", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
        print(f"requests={srv.requests} connections={srv.connections}")


if __name__ == "__main__":
    _main()
