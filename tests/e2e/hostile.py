"""Hostile HTTP servers for the reliability suite (tests/e2e/test_torture.py, issue #8).

Each server is a servers.BackgroundServer: an asyncio loop in a background thread of the
test process, listening on 127.0.0.1 on a port the kernel picks. It reads every request
with servers.read_message (a head over the reader's 1 MiB limit, as an uncapped cookie
jar would send, is read in pieces instead), counts it in `.requests` *before* answering,
and then misbehaves in one way. So `.requests` is exactly the number of requests that
reached the server, whatever the client does afterwards: the count stampede's
`http_reqs` must match (docs/cli.md "What the counts mean").

    name                 answer to each request
    endless_close        200 with neither Content-Length nor chunked: a body that never
                         ends (close-delimited), 1 MiB writes as fast as the client reads
    endless_chunked      200 chunked: 1 MiB chunks for ever
    content_length_1gib  200 Content-Length: 1 GiB, sent at up to 256 MiB/s (so it takes
                         4 s: longer than the client's timeout; at most as fast as read)
    endless_headers      200 status line, then header lines for ever
    huge_header_line     200 with one 10 MB header line, then a 2-byte body (keep-alive)
    garbage_status       a status line of binary garbage; then silence until the client
                         closes
    slowloris            a valid response (Content-Length: 100000) at 1 byte per 10 ms
    never_respond        reads the request and never answers
    accept_close         closes its side at once on accept (FIN, before reading
                         anything), then reads and counts whatever request the client
                         still sends, and closes
    accept_reset         reads the request and resets the connection (SO_LINGER 0: RST)
    half_close_mid_body  Content-Length: 100000, 50,000 bytes of it, then FIN
                         (shutdown(SHUT_WR)); waits for the client to close
    set_cookie_100k      100,000 Set-Cookie header fields in one response
    many_cookies         40 Set-Cookie fields of ~1 KB each, new names every response
                         (an uncapped jar grows by 40 KB per response); `.max_cookies`
                         is the most cookies one request carried
    redirect_self        302 with Location: the same target, for ever
    redirect_new         302 from /r/N to /r/N+1, for ever (a new URL every hop)
    location_ftp         302 with Location: ftp://127.0.0.1/x; `.ftp_targets` counts
                         requests whose target contains "ftp:" (the redirect followed as
                         a path)
    gzip_bomb            200 Content-Encoding: gzip, 1 GiB of zeros in ~1 MB
    tiny_chunks          200 chunked: 10,000,000 chunks of 1 byte (60 MB on the wire),
                         then the last chunk (keep-alive)
    chunk_ext_endless    200 chunked whose first chunk-size line ("1;aaaa...") never ends
    chunk_size_zeros     200 chunked whose first chunk-size line ("0000...") never ends
    continue_forever     "HTTP/1.1 100 Continue" interim responses for ever

`.bytes_sent` is what the server wrote (to tell a slow server from a slow client).
HOSTILE maps each name to its class; every class takes the BackgroundServer arguments.

Bulk data (the endless and the huge answers) is not written through asyncio, whose
per-write copies and wake-ups, under the GIL shared by every server of the test process,
made an "endless" body trickle at a few tens of MB/s when several cases ran at once, so
a client that buffers without bound looked bounded. HostileServer.pump() writes it from
a thread of its own on a duplicate of the connection's socket, in large send() calls that
release the GIL: the server stays faster than the client it tests.
"""

import asyncio
import os
import select
import socket
import struct
import threading
import time
import zlib

import servers

MiB = 1 << 20
GiB = 1 << 30
BLOCK = 1 << 20                      # bytes of the repeated block of the streaming servers
PACED_SEND = 1 << 20                 # most bytes per send() when a rate is set


async def read_request(reader):
    """One request's head (bytes up to and with the blank line), or None at EOF before a
    new request. servers.read_message reads it (and any body); a head longer than the
    reader's limit is read in pieces here (read_message consumes nothing before raising)."""
    try:
        msg = await servers.read_message(reader)
    except asyncio.LimitOverrunError:
        return await _read_long_head(reader)
    return None if msg is None else msg[0]


async def _read_long_head(reader):
    parts = []
    while True:
        try:
            parts.append(await reader.readuntil(b"\r\n\r\n"))
            return b"".join(parts)
        except asyncio.LimitOverrunError as e:
            parts.append(await reader.readexactly(max(e.consumed, 1)))


def request_target(head):
    """The request-target of a request head, as bytes."""
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    return parts[1] if len(parts) > 1 else b""


def cookie_count(head):
    """How many name=value pairs the request's Cookie header fields carry."""
    n = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"cookie":
            n += sum(1 for p in value.split(b";") if b"=" in p)
    return n


class HostileServer(servers.BackgroundServer):
    """Reads requests, counts each one before answering, and lets `respond` answer.
    respond(head, reader, writer) returns True to read the next request on the
    connection, False to close it; raising a connection error ends the connection."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.bytes_sent = 0

    async def handle(self, reader, writer):
        await self.on_accept(reader, writer)
        while True:
            head = await read_request(reader)
            if head is None:
                return
            self._count_request()
            self.note(head)
            if not await self.respond(head, reader, writer):
                return

    async def on_accept(self, reader, writer):
        """Hook: called once per connection, before anything is read."""

    def note(self, head):
        """Hook: look at a request head (called once per counted request)."""

    async def respond(self, head, reader, writer):
        raise NotImplementedError

    def _sent(self, n):
        with self._lock:
            self.bytes_sent += n

    async def send(self, writer, data):
        """Write a small answer through asyncio."""
        writer.write(data)
        self._sent(len(data))
        await writer.drain()

    async def pump(self, writer, prefix, block=None, total=None, rate=None):
        """Send `prefix`, then `block` over and over: for ever, or until `total` bytes of
        it; at most `rate` bytes of it per second when rate is set. Runs in a thread of its
        own on a duplicate of the socket (see the module docstring). Returns True when
        everything was sent, False when the client went away (or the server stopped)."""
        while writer.transport.get_write_buffer_size():    # keep the byte order
            await asyncio.sleep(0.001)
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        raw = socket.socket(fileno=os.dup(writer.get_extra_info("socket").fileno()))
        stop = threading.Event()

        def settle(ok):
            if not done.done():
                done.set_result(ok)

        def run():
            ok = False
            try:
                ok = self._pump(raw, prefix, block, total, rate, stop)
            except Exception as e:  # noqa: BLE001 - reported with the server's errors
                self.errors.append(f"pump: {e!r}")
            finally:
                raw.close()
                try:
                    loop.call_soon_threadsafe(settle, ok)
                except RuntimeError:    # the loop is closed: the server was stopped
                    pass

        threading.Thread(target=run, name=f"{type(self).__name__}-pump", daemon=True).start()
        try:
            return await done
        finally:
            stop.set()

    def _pump(self, raw, prefix, block, total, rate, stop):
        poller = select.poll()
        poller.register(raw, select.POLLOUT)
        pieces = [memoryview(prefix)]
        body = 0                      # bytes of `block` sent
        start = time.monotonic()
        while not stop.is_set():
            if not pieces:
                if block is None or (total is not None and body >= total):
                    return True
                view = memoryview(block)
                pieces.append(view if total is None else view[:total - body])
            piece = pieces[0]
            in_body = block is not None and piece.obj is block
            if rate and in_body:
                ahead = body / rate - (time.monotonic() - start)
                if ahead > 0:
                    stop.wait(min(ahead, 0.1))
                    continue
                piece = piece[:PACED_SEND]
            events = poller.poll(100)
            if not events:
                continue
            if events[0][1] & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
                return False
            try:
                n = raw.send(piece)
            except BlockingIOError:
                continue
            except OSError:           # EPIPE, ECONNRESET: the client went away
                return False
            self._sent(n)
            if in_body:
                body += n
            pieces[0] = pieces[0][n:]
            if not len(pieces[0]):
                pieces.pop(0)
        return False

    @staticmethod
    async def wait_for_close(reader, timeout=30.0):
        """Discard what the client still sends until it closes (or timeout s)."""
        try:
            async with asyncio.timeout(timeout):
                while await reader.read(65536):
                    pass
        except TimeoutError:
            pass


def _filled(pattern, size=BLOCK):
    return (pattern * (size // len(pattern) + 1))[:size]


ZEROS = bytes(BLOCK)
HEAD_CLOSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
              b"Connection: close\r\n\r\n")
HEAD_CHUNKED = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")


class EndlessClose(HostileServer):
    async def respond(self, head, reader, writer):
        return await self.pump(writer, HEAD_CLOSE, ZEROS)


class EndlessChunked(HostileServer):
    CHUNK = b"%x\r\n" % BLOCK + ZEROS + b"\r\n"

    async def respond(self, head, reader, writer):
        return await self.pump(writer, HEAD_CHUNKED, self.CHUNK)


class ContentLength1GiB(HostileServer):
    RATE = 256 * MiB          # bytes per second: the body takes 4 s

    async def respond(self, head, reader, writer):
        return await self.pump(writer, b"HTTP/1.1 200 OK\r\nContent-Type: application/"
                                       b"octet-stream\r\nContent-Length: %d\r\n\r\n" % GiB,
                               ZEROS, total=GiB, rate=self.RATE)


class EndlessHeaders(HostileServer):
    LINES = b"".join(b"X-Endless-%05d: %s\r\n" % (i, b"v" * 40) for i in range(16384))

    async def respond(self, head, reader, writer):
        return await self.pump(writer, b"HTTP/1.1 200 OK\r\n", self.LINES)


class HugeHeaderLine(HostileServer):
    RESPONSE = (b"HTTP/1.1 200 OK\r\nX-Huge: " + b"a" * (10 * 1000 * 1000) +
                b"\r\nContent-Length: 2\r\n\r\nok")

    async def respond(self, head, reader, writer):
        return await self.pump(writer, self.RESPONSE)


class GarbageStatus(HostileServer):
    async def respond(self, head, reader, writer):
        await self.send(writer, b"\x16\x03\x01\x00\xa5garbage\xff\xfe NOT HTTP AT ALL\r\n\r\n")
        await self.wait_for_close(reader)
        return False


class Slowloris(HostileServer):
    async def respond(self, head, reader, writer):
        data = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"s" * 100000
        for i in range(len(data)):
            await self.send(writer, data[i:i + 1])
            await asyncio.sleep(0.01)
        return True


class NeverRespond(HostileServer):
    async def respond(self, head, reader, writer):
        await self.wait_for_close(reader, timeout=3600)
        return False


class AcceptClose(HostileServer):
    async def on_accept(self, reader, writer):
        writer.write_eof()    # FIN now; the request that may still come is read, counted

    async def respond(self, head, reader, writer):
        return False


class AcceptReset(HostileServer):
    async def respond(self, head, reader, writer):
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        return False


class HalfCloseMidBody(HostileServer):
    async def respond(self, head, reader, writer):
        await self.send(writer, b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" +
                        b"h" * 50000)
        writer.write_eof()
        await self.wait_for_close(reader)
        return False


class SetCookie100k(HostileServer):
    RESPONSE = (b"HTTP/1.1 200 OK\r\n" +
                b"".join(b"Set-Cookie: c%d=v; Path=/\r\n" % i for i in range(100000)) +
                b"Content-Length: 2\r\n\r\nok")

    async def respond(self, head, reader, writer):
        return await self.pump(writer, self.RESPONSE)


class ManyCookies(HostileServer):
    PER_RESPONSE = 40
    VALUE = b"v" * 1000

    def __init__(self, **kw):
        super().__init__(**kw)
        self.max_cookies = 0
        self._next = 0

    def note(self, head):
        self.max_cookies = max(self.max_cookies, cookie_count(head))

    async def respond(self, head, reader, writer):
        first, self._next = self._next, self._next + self.PER_RESPONSE
        fields = b"".join(b"Set-Cookie: k%d=%s; Path=/\r\n" % (i, self.VALUE)
                          for i in range(first, first + self.PER_RESPONSE))
        await self.send(writer, b"HTTP/1.1 200 OK\r\n" + fields +
                        b"Content-Length: 2\r\n\r\nok")
        return True


class RedirectSelf(HostileServer):
    async def respond(self, head, reader, writer):
        await self.send(writer, b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0"
                                b"\r\n\r\n" % request_target(head))
        return True


class RedirectNew(HostileServer):
    async def respond(self, head, reader, writer):
        target = request_target(head)
        try:
            n = int(target.rsplit(b"/", 1)[1])
        except (IndexError, ValueError):
            n = 0
        await self.send(writer, b"HTTP/1.1 302 Found\r\nLocation: /r/%d\r\n"
                                b"Content-Length: 0\r\n\r\n" % (n + 1))
        return True


class LocationFtp(HostileServer):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.ftp_targets = 0

    def note(self, head):
        if b"ftp:" in request_target(head):
            self.ftp_targets += 1

    async def respond(self, head, reader, writer):
        await self.send(writer, b"HTTP/1.1 302 Found\r\nLocation: ftp://127.0.0.1/x\r\n"
                                b"Content-Length: 0\r\n\r\n")
        return True


_bomb = None
_bomb_lock = threading.Lock()


def gzip_bomb(size=GiB):
    """A gzip member of `size` zero bytes (a multiple of 1 MiB), about size/1000 long.
    Each 1 MiB is compressed after a full flush, so every block but the first is the same
    bytes and only three are compressed; the trailer's CRC-32 is computed over the zeros."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = comp.compress(ZEROS) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(ZEROS) + comp.flush(zlib.Z_FULL_FLUSH)
    assert comp.compress(ZEROS) + comp.flush(zlib.Z_FULL_FLUSH) == block
    crc = 0
    for _ in range(size // BLOCK):
        crc = zlib.crc32(ZEROS, crc)
    # an empty final block with fixed codes (BFINAL=1, BTYPE=01, end-of-block): 03 00
    return (first + block * (size // BLOCK - 1) + b"\x03\x00" +
            struct.pack("<II", crc, size & 0xFFFFFFFF))


def _check_bomb():
    small = gzip_bomb(4 * MiB)
    assert zlib.decompress(small, 31) == bytes(4 * MiB)


class GzipBomb(HostileServer):
    def __init__(self, **kw):
        super().__init__(**kw)
        global _bomb
        with _bomb_lock:
            if _bomb is None:
                _check_bomb()
                _bomb = gzip_bomb()
        self.response = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(_bomb)
                         + _bomb)

    async def respond(self, head, reader, writer):
        return await self.pump(writer, self.response)


class TinyChunks(HostileServer):
    CHUNKS = 10_000_000
    BLOCK = b"1\r\nx\r\n" * 100_000

    async def respond(self, head, reader, writer):
        return (await self.pump(writer, HEAD_CHUNKED, self.BLOCK, total=6 * self.CHUNKS)
                and await self.pump(writer, b"0\r\n\r\n"))


class ChunkExtEndless(HostileServer):
    async def respond(self, head, reader, writer):
        return await self.pump(writer, HEAD_CHUNKED + b"1;", _filled(b"a"))


class ChunkSizeZeros(HostileServer):
    async def respond(self, head, reader, writer):
        return await self.pump(writer, HEAD_CHUNKED, _filled(b"0"))


class ContinueForever(HostileServer):
    async def respond(self, head, reader, writer):
        return await self.pump(writer, b"", b"HTTP/1.1 100 Continue\r\n\r\n" * 40000)


HOSTILE = {
    "endless_close": EndlessClose,
    "endless_chunked": EndlessChunked,
    "content_length_1gib": ContentLength1GiB,
    "endless_headers": EndlessHeaders,
    "huge_header_line": HugeHeaderLine,
    "garbage_status": GarbageStatus,
    "slowloris": Slowloris,
    "never_respond": NeverRespond,
    "accept_close": AcceptClose,
    "accept_reset": AcceptReset,
    "half_close_mid_body": HalfCloseMidBody,
    "set_cookie_100k": SetCookie100k,
    "many_cookies": ManyCookies,
    "redirect_self": RedirectSelf,
    "redirect_new": RedirectNew,
    "location_ftp": LocationFtp,
    "gzip_bomb": GzipBomb,
    "tiny_chunks": TinyChunks,
    "chunk_ext_endless": ChunkExtEndless,
    "chunk_size_zeros": ChunkSizeZeros,
    "continue_forever": ContinueForever,
}
