"""--io epoll|io_uring|auto (docs/cli.md): the same runs on both event-loop backends give
exact counts (the server's count == http_reqs), the same errors when a server closes or
resets mid-response, and TLS works; auto falls back to epoll, and --io io_uring fails
clearly, when io_uring cannot be set up (here: a seccomp filter that makes
io_uring_setup(2) fail with EPERM, as Docker's default profile and
sysctl kernel.io_uring_disabled=2 do)."""

import ctypes
import errno
import json
import os
import platform
import socket
import subprocess
import threading
import time

import pytest

import servers
from conftest import EXIT_CONFIG, errors_by_kind, metric
from script_servers import run_script

BACKENDS = ["epoll", "io_uring"]


def reqs(r):
    return metric(r.summary, "http_reqs")["count"]


def failed(r):
    return metric(r.summary, "http_req_failed").get("passes", 0)


def used_backend(r):
    return r.summary["options"]["io"]


@pytest.fixture(scope="module")
def counting():
    with servers.CountingServer() as s:
        yield s


@pytest.mark.parametrize("io", BACKENDS)
def test_quick_closed_counts_exact(stampede, counting, io):
    before = counting.requests
    r = stampede.load(counting.url, "--vus", 8, "--iterations", 400, "-t", 2, "--io", io)
    assert used_backend(r) == io
    assert reqs(r) == 400, r
    assert counting.requests - before == 400
    assert failed(r) == 0, r


@pytest.mark.parametrize("io", BACKENDS)
def test_quick_open_counts_exact(stampede, counting, io):
    before = counting.requests
    r = stampede.load(counting.url, "--rate", 300, "-d", "1s", "--vus", 5, "--max-vus", 50,
                      "-t", 1, "--io", io)
    assert reqs(r) > 0
    assert counting.requests - before == reqs(r), r
    assert failed(r) == 0, r


@pytest.mark.parametrize("io", BACKENDS)
def test_connection_close_each_request(stampede, io):
    with servers.CountingServer() as s:
        r = stampede.load(s.url, "--vus", 4, "--iterations", 120, "-t", 1,
                          "-H", "Connection: close", "--io", io)
        assert reqs(r) == 120 and s.requests == 120, r
        assert failed(r) == 0, r
        assert s.connections == 120, "one connection per request"


class ThreadedServer:
    """A loopback server answering each connection in a thread: it reads a request's head,
    then its body (_body; subclasses), answers 200 "ok" and keeps the connection open;
    counts requests and connections."""

    def __init__(self):
        self.requests = self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = "http://127.0.0.1:%d/" % self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()

    def _setup(self, c):
        pass

    def _body(self, c, head, buf):
        """Consume the body after head from buf (and c); return what follows it, or None
        when the peer closed."""
        return buf

    def _conn(self, c):
        self._setup(c)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                buf = self._body(c, head, buf)
                if buf is None:
                    return
                with self.lock:
                    self.requests += 1
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.sock.close()


class KeepOpenServer(ThreadedServer):
    """Never closes a connection itself, even when the request says Connection: close
    (bodyless requests only)."""


@pytest.mark.parametrize("io", BACKENDS)
def test_request_connection_close_is_the_connections_last(stampede, tmp_path, io):
    # RFC 9112 §9.6: a client that sends "close" sends no further request on that
    # connection, whatever the server does (this one keeps every connection open).
    srv = KeepOpenServer()
    try:
        r = stampede.load(srv.url, "--vus", 2, "--iterations", 30, "-t", 1,
                          "-H", "Connection: keep-alive, Close", "--io", io)
        assert reqs(r) == 30 and failed(r) == 0, r
        assert srv.connections == 30 and srv.requests == 30, (srv.connections, srv.requests)
        before = srv.connections
        r = run_script(tmp_path, """
            options = { vus = 1, iterations = 10 }
            function default()
              http.get(BASE .. "/x", { headers = { Connection = "close" } })
              http.get(BASE .. "/y")
            end
        """, "-t", 1, "--io", io, base=srv.url.rstrip("/"))
        assert r.rc == 0, r
        # /x says close: its connection ends after it, so each /y opens a new one, which the
        # next iteration's /x reuses and ends: 10 + 1 connections (1 if close were ignored)
        assert srv.connections - before == 11, srv.connections - before
    finally:
        srv.close()


@pytest.mark.parametrize("io", BACKENDS)
def test_script_batch_and_keep_alive(tmp_path, counting, io):
    before_req, before_conn = counting.requests, counting.connections
    r = run_script(tmp_path, """
        options = { vus = 2, iterations = 20 }
        function default()
          local rs = http.batch({ BASE .. "/a", BASE .. "/b", { "POST", BASE .. "/c", "body" } })
          stampede.check(rs, { ["three ok"] = function(t)
            return #t == 3 and t[1].status == 200 and t[2].status == 200 and t[3].status == 200
          end })
          local one = http.get(BASE .. "/d")
          stampede.check(one, { ["ok"] = function(x) return x.status == 200 end })
        end
    """, "-t", 1, "--io", io, base=counting.url)
    assert r.rc == 0, r
    assert r.summary["options"]["io"] == io
    assert reqs(r) == 80 and counting.requests - before_req == 80, r
    assert failed(r) == 0, r
    checks = metric(r.summary, "checks")
    assert checks.get("fails", 0) == 0 and checks["passes"] == 40, checks
    # keep-alive: a batch opens up to 3 connections per VU, reused afterwards
    assert counting.connections - before_conn <= 2 * 3, "connections were reused"


TRUNCATED = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of it"


@pytest.mark.parametrize("io", BACKENDS)
@pytest.mark.parametrize("after,kinds", [("close", {"truncated"}),
                                         ("reset", {"connection_reset", "truncated"})])
def test_server_ends_mid_response(stampede, io, after, kinds):
    with servers.ScriptedServer(TRUNCATED, after=after, reset_delay=0.05) as s:
        r = stampede.load(s.url, "--vus", 3, "--iterations", 30, "-t", 1, "--io", io)
        assert reqs(r) == 30 and s.requests == 30, r
        assert failed(r) == 30, r
        seen = set(errors_by_kind(r.summary))
        assert seen and seen <= kinds, (seen, r)


@pytest.mark.parametrize("io", BACKENDS)
def test_body_larger_than_the_buffer_ring(stampede, io):
    """4 MiB responses: four times io_uring's 1 MiB of provided buffers per
    worker."""
    body = bytes(range(256)) * (4 << 12)
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    with servers.ScriptedServer(resp) as s:
        r = stampede.load(s.url, "--vus", 2, "--iterations", 6, "-t", 1, "--io", io,
                          timeout=60)
        assert reqs(r) == 6 and s.requests == 6, r
        assert failed(r) == 0, r
        assert metric(r.summary, "data_received")["count"] >= 6 * len(body)


@pytest.mark.parametrize("io", BACKENDS)
def test_tls_target(stampede, tmp_path, io):
    cert, key = servers.make_cert(tmp_path)
    with servers.TLSServer(cert, key) as s:
        r = stampede.load(s.url, "--vus", 3, "--iterations", 60, "-t", 1, "--insecure",
                          "--io", io)
        assert reqs(r) == 60 and s.requests == 60, r
        assert failed(r) == 0, r


class SlowReader(ThreadedServer):
    """Reads a request's body 256 KiB every 10 ms (with a 64 KiB receive buffer, so the
    kernel cannot take it all): uploading 16 MiB takes over half a second, most of it the
    client's sending (the client's send buffer, up to 4 MiB, is the part that shows as
    waiting)."""

    def _setup(self, c):
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)

    def _body(self, c, head, buf):
        n = int([ln.split(b":")[1] for ln in head.split(b"\r\n")
                 if ln.lower().startswith(b"content-length:")][0])
        while len(buf) < n:
            time.sleep(0.01)
            d = c.recv(262144)
            if not d:
                return None
            buf += d
        return buf[n:]


@pytest.mark.parametrize("io", BACKENDS)
def test_upload_time_is_sending_not_waiting(stampede, tmp_path, io):
    # A queued io_uring send is out only when its completion comes: a body the server
    # reads slowly is sending time on both backends, never time to first byte.
    body = tmp_path / "body.bin"
    body.write_bytes(b"x" * (16 << 20))
    srv = SlowReader()
    try:
        r = stampede.load(srv.url, "-X", "POST", "--body-file", str(body), "--iterations",
                          1, "--vus", 1, "-t", 1, "--timeout", "30s", "--io", io, timeout=60)
    finally:
        srv.close()
    assert reqs(r) == 1 and failed(r) == 0, r
    sending = metric(r.summary, "http_req_sending")
    waiting = metric(r.summary, "http_req_waiting")
    assert sending["min"] > 100, (sending, waiting)
    # what the kernel's socket buffers hold when the last send completes is read by the
    # slow server after it, as waiting; on a busy machine that tail is slow too, so the
    # check is that a large share of the upload is sending (a backend that counted a
    # queued send as sent would put nearly all of it in waiting)
    assert sending["max"] > 0.25 * (sending["max"] + waiting["max"]), (sending, waiting)


def test_bad_value_is_a_clear_error(stampede):
    r = stampede("run", "--url", "http://127.0.0.1:9/", "--io", "kqueue")
    assert r.rc == EXIT_CONFIG, r
    assert "--io" in r.stderr and "epoll" in r.stderr and "io_uring" in r.stderr, r


def test_default_is_epoll_and_auto_takes_io_uring_when_available(stampede, counting):
    r = stampede.load(counting.url, "--vus", 1, "--iterations", 5, "-t", 1)
    assert used_backend(r) == "epoll"
    r = stampede.load(counting.url, "--vus", 1, "--iterations", 5, "-t", 1, "--io", "auto")
    assert used_backend(r) == "io_uring"


# --- io_uring forbidden: a seccomp filter in the child, before exec -------------------

AUDIT_ARCH_X86_64 = 0xC000003E
NR_IO_URING_SETUP = 425  # x86_64 (and every architecture since the unified table)


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


def _forbid_io_uring():
    """preexec_fn: io_uring_setup(2) fails with EPERM in this process and what it execs
    (seccomp(2) SECCOMP_SET_MODE_FILTER; PR_SET_NO_NEW_PRIVS first, as required)."""
    ld_w_abs, jeq_k, ret_k = 0x20, 0x15, 0x06
    allow, eperm = 0x7FFF0000, 0x00050000 | errno.EPERM
    prog = [
        (ld_w_abs, 0, 0, 4),                  # A = arch
        (jeq_k, 1, 0, AUDIT_ARCH_X86_64),     # x86_64: go on, else allow
        (ret_k, 0, 0, allow),
        (ld_w_abs, 0, 0, 0),                  # A = syscall number
        (jeq_k, 0, 1, NR_IO_URING_SETUP),
        (ret_k, 0, 0, eperm),
        (ret_k, 0, 0, allow),
    ]
    arr = (SockFilter * len(prog))(*[SockFilter(*ins) for ins in prog])
    fprog = SockFprog(len(prog), arr)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        os._exit(120)
    if libc.syscall(317, 1, 0, ctypes.byref(fprog)) != 0:  # seccomp(SET_MODE_FILTER)
        os._exit(121)


def run_forbidden(stampede, *args):
    p = subprocess.run([stampede.bin, *map(str, args)], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30, preexec_fn=_forbid_io_uring)
    assert p.returncode not in (120, 121), "could not install the seccomp filter"
    return p


needs_x86_64 = pytest.mark.skipif(platform.machine() != "x86_64",
                                  reason="the seccomp filter is written for x86_64")


@needs_x86_64
def test_auto_falls_back_to_epoll_silently(stampede, counting, tmp_path):
    out = tmp_path / "r.json"
    before = counting.requests
    p = run_forbidden(stampede, "run", "--url", counting.url, "--vus", 2, "--iterations", 50,
                      "-t", 1, "-q", "--io", "auto", "--out", f"result={out}")
    assert p.returncode == 0, p.stderr
    assert b"io_uring" not in p.stderr, "the fallback is silent"
    doc = json.loads(out.read_text())
    assert doc["options"]["io"] == "epoll"
    assert doc["metrics"]["http_reqs"]["values"]["count"] == 50
    assert counting.requests - before == 50


@needs_x86_64
def test_forced_io_uring_unavailable_names_the_reason(stampede):
    p = run_forbidden(stampede, "run", "--url", "http://127.0.0.1:9/", "--io", "io_uring",
                      "--iterations", 1)
    assert p.returncode == EXIT_CONFIG, p.stderr
    err = p.stderr.decode()
    assert "io_uring" in err and os.strerror(errno.EPERM) in err, err
