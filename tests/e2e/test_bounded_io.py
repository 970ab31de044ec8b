"""Bounded I/O (issue #8 §1 and §3): a response body that never ends, or is larger than
the per-response limit, cannot make a run grow without bound nor keep it from stopping on
time (duration, --timeout, signals); and certificate verification failures are reported by
kind (expired, not yet valid, other), not all as tls_unknown_authority.

The hostile servers here are plain threads writing from a preallocated buffer as fast as
loopback takes it (an asyncio server would be too slow to flood the client); each listens
on 127.0.0.1 on a free port and is stopped at teardown. Certificates are made at test time
with the openssl CLI (`openssl ca` with explicit -startdate/-enddate for the bad dates).

Run standalone to poke at by hand:  python3 test_bounded_io.py close|chunked|length
"""

import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

import accounting
import servers
from conftest import (BIN, ERROR_CODES, EXIT_OK, EXIT_THRESHOLDS, SMALL_QUARANTINE_ENV,
                      Result, check_rc, errors_by_kind, interrupted_summary, metric,
                      read_summary, require_binary, sanitized)

MiB = 1 << 20
GiB = 1 << 30
DURATION = 3            # seconds each hostile-body run lasts (--duration)
TIMEOUT = 2.0           # its request timeout (--timeout)
GRACE = 1.0             # its graceful stop (--grace)
ENDS_WITHIN = DURATION + GRACE + 5.0   # generous: the machine may be busy


# Peak RSS bound for a run with the default 64 MiB limit: about 30 MB of its own and a
# body buffer of at most 64 MiB (the old 256 MiB "read, not kept" cap went past 250 MB).
# Under ASan its shadow memory dominates; its quarantine of freed memory is kept small
# (conftest.SMALL_QUARANTINE_ENV).
RSS_LIMIT_KB = 1024 * (1024 if sanitized() else 200)

# --------------------------------------------------------------------------------------
# a server that floods: endless or huge bodies
# --------------------------------------------------------------------------------------
class FloodServer(servers.LoopbackServer):
    """Answers every request on 127.0.0.1 with a status line, headers, and a body given by
    `mode`, written from one preallocated 256 KiB block as fast as the socket takes it:

        close    no framing: the body runs until the client closes (endless)
        chunked  Transfer-Encoding: chunked, 256 KiB chunks, never a last chunk (endless)
        length   Content-Length: `size` (default 1 GiB), all of it streamed
        sized    Content-Length: `size` and keep-alive (for the limit's exact boundary)
        csized   the same `size` bytes, chunked in 4 KiB chunks, keep-alive

    One thread per connection; `connections` counts connections accepted, `requests`
    requests read, `bytes_sent` body bytes written in the endless and streamed modes."""

    BLOCK = 256 * 1024

    def __init__(self, mode, size=GiB, ssl_context=None):
        assert mode in ("close", "chunked", "length", "sized", "csized"), mode
        self.mode = mode
        self.size = size
        self.ssl_context = ssl_context
        self.requests = 0
        self.connections = 0
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self._conns = set()
        self._stopping = False
        self._block = b"x" * self.BLOCK
        self._chunk = b"%x\r\n" % self.BLOCK + self._block + b"\r\n"

    def start(self):
        self._lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._lsock.bind(("127.0.0.1", 0))
        self._lsock.listen(128)
        self.port = self._lsock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True, name="flood")
        self._thread.start()
        return self

    def stop(self):
        self._stopping = True
        try:
            self._lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._lsock.close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)

    def _accept(self):
        while not self._stopping:
            try:
                c, _ = self._lsock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        with self._lock:
            self._conns.add(c)
        try:
            if self.ssl_context:
                c = self.ssl_context.wrap_socket(c, server_side=True)
            pending = b""
            while not self._stopping:
                while b"\r\n\r\n" not in pending:
                    data = c.recv(65536)
                    if not data:
                        return
                    pending += data
                _, _, pending = pending.partition(b"\r\n\r\n")
                with self._lock:
                    self.requests += 1
                if not self._respond(c):
                    return
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self._lock:
                self._conns.discard(c)
            try:
                c.close()
            except OSError:
                pass

    def _send(self, c, data):
        c.sendall(data)
        with self._lock:
            self.bytes_sent += len(data)

    def _respond(self, c):
        """Write one response; True when the connection stays open for another."""
        m = self.mode
        if m == "close":
            c.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            while not self._stopping:
                self._send(c, self._block)
            return False
        if m == "chunked":
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            while not self._stopping:
                self._send(c, self._chunk)
            return False
        if m == "csized":
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            left = self.size
            while left > 0:
                n = min(left, 4096)
                c.sendall(b"%x\r\n" % n + self._block[:n] + b"\r\n")
                left -= n
            c.sendall(b"0\r\n\r\n")
            return True
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % self.size)
        left = self.size
        while left > 0 and not self._stopping:
            n = min(left, self.BLOCK)
            self._send(c, self._block[:n])
            left -= n
        return m == "sized"


@pytest.fixture
def run_bounded(spawn):
    """run_bounded(*args, cwd=None) -> conftest.Spawned with its peak RSS sampled
    (maxrss_kb), killed by pid at teardown if still running."""
    def start(*args, cwd=None):
        return spawn(*args, cwd=cwd, env=SMALL_QUARANTINE_ENV, rss=True)
    return start


# The CLI's --timeout and --grace are quick mode's: a script sets them itself.
SCRIPT = """
options = {{ scenarios = {{ default = {{
    executor = "{executor}", vus = 1, {length}, gracefulStop = "{grace}" }} }} }}
local http = require "stampede.http"
function default()
    http.get(stampede.env.BASE_URL, {{ timeout = "{timeout}"{params} }})
end
"""


def run_args(run_mode, server, tmp_path, export, *extra, duration=DURATION,
             timeout=f"{TIMEOUT}s", grace=f"{GRACE}s", iterations=None, params=""):
    """`stampede run` arguments for a quick or script run against server with one VU, for
    `duration` seconds (or `iterations`), with this request timeout and graceful stop."""
    if run_mode == "quick":
        length = ["--iterations", iterations] if iterations else \
            ["--duration", f"{duration}s"]
        return ["run", "--url", server.url, "--out", f"result={export}", "--vus", "1",
                *length, "--timeout", timeout, "--grace", grace, *extra]
    script = tmp_path / "script.lua"
    script.write_text(SCRIPT.format(
        executor="shared-iterations" if iterations else "constant-vus",
        length=f"iterations = {iterations}" if iterations else f'duration = "{duration}s"',
        grace=grace, timeout=timeout, params=params))
    return ["run", script, "-e", f"BASE_URL={server.url}", "--out", f"result={export}",
            *extra]


def server_count(srv):
    return accounting.settled(lambda: srv.requests)


def assert_bounded(r, export):
    """The run ended on time, stayed small and wrote its summary."""
    check_rc(r, (EXIT_OK, EXIT_THRESHOLDS))
    assert "Sanitizer" not in r.stderr and "runtime error:" not in r.stderr, r
    assert r.elapsed < ENDS_WITHIN, f"ran {r.elapsed:.1f}s\n{r}"
    assert r.maxrss_kb < RSS_LIMIT_KB, f"peak RSS {r.maxrss_kb} KiB\n{r}"
    return read_summary(export, r)


# --------------------------------------------------------------------------------------
# endless and huge bodies
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("run_mode", ["quick", "script"])
@pytest.mark.parametrize("body", ["close", "chunked", "length"])
def test_endless_body_is_bounded(body, run_mode, run_bounded, tmp_path):
    """The default limit (64 MiB) ends each request with response_too_large (a 1 GiB
    Content-Length as soon as the headers are read), and the run ends on time."""
    export = tmp_path / "summary.json"
    with FloodServer(body) as srv:
        p = run_bounded(*run_args(run_mode, srv, tmp_path, export, "--quiet"), cwd=tmp_path)
        r = p.wait(timeout=ENDS_WITHIN + 10)
        count = server_count(srv)
    s = assert_bounded(r, export)
    errs = errors_by_kind(s)
    assert set(errs) <= {"response_too_large", "interrupted"}, s["errors"]
    assert errs["response_too_large"]["code"] == 1030
    assert errs["response_too_large"]["count"] >= 2, s["errors"]
    if body != "length":   # each failed request read its 64 MiB first
        too_large = errs["response_too_large"]["count"]
        assert metric(s, "data_received")["count"] >= too_large * 64 * MiB
    # failed after sending: counted like any failed request, and the server saw each
    accounting.assert_accounting(s, server_count=count)


@pytest.mark.parametrize("run_mode", ["quick", "script"])
@pytest.mark.parametrize("body", ["close", "chunked"])
def test_endless_body_request_timeout(body, run_mode, run_bounded, tmp_path):
    """With a limit too large to reach, the request timeout ends each request: the event
    loop keeps turning while the body streams in. (The script keeps no body: with a 100 GB
    limit a kept one would grow as fast as it arrives.)"""
    export = tmp_path / "summary.json"
    with FloodServer(body) as srv:
        p = run_bounded(*run_args(run_mode, srv, tmp_path, export, "--quiet",
                                  "--max-response-body-size", "100GB", timeout="300ms",
                                  params=', responseType = "none"'), cwd=tmp_path)
        r = p.wait(timeout=ENDS_WITHIN + 10)
        count = server_count(srv)
    s = assert_bounded(r, export)
    errs = errors_by_kind(s)
    assert set(errs) <= {"request_timeout", "interrupted"}, s["errors"]
    assert errs["request_timeout"]["count"] >= 3, s["errors"]
    accounting.assert_accounting(s, server_count=count)


@pytest.mark.parametrize("run_mode", ["quick", "script"])
def test_double_sigint_during_endless_body(run_mode, run_bounded, tmp_path):
    """A request that never ends (no limit reached, long timeout): the first SIGINT waits
    for it (--grace 30s), the second stops at once; the summary is printed and exported."""
    export = tmp_path / "summary.json"
    with FloodServer("close") as srv:
        p = run_bounded(*run_args(run_mode, srv, tmp_path, export,
                                  "--max-response-body-size", "100GB", duration=60,
                                  timeout="60s", grace="30s",
                                  params=', responseType = "none"'), cwd=tmp_path)
        wait_for_flood(srv, p)
        p.signal(signal.SIGINT)
        time.sleep(1.0)
        assert p.poll() is None, f"ended before its in-flight request\n{p.result()}"
        p.signal(signal.SIGINT)
        r = p.wait(timeout=10)
        count = server_count(srv)
    s = interrupted_summary(r, export, "http_reqs")
    assert r.maxrss_kb < RSS_LIMIT_KB, f"peak RSS {r.maxrss_kb} KiB\n{r}"
    assert errors_by_kind(s)["interrupted"]["count"] == 1, s["errors"]
    accounting.assert_accounting(s, server_count=count)


@pytest.mark.parametrize("run_mode", ["quick", "script"])
def test_sigint_during_endless_body(run_mode, run_bounded, tmp_path):
    """With the default limit, one SIGINT is enough: the request in flight ends by the
    limit within --grace, and the run stops with its summary."""
    export = tmp_path / "summary.json"
    with FloodServer("chunked") as srv:
        p = run_bounded(*run_args(run_mode, srv, tmp_path, export, duration=60,
                                  timeout="60s", grace="30s"), cwd=tmp_path)
        wait_for_flood(srv, p)
        p.signal(signal.SIGINT)
        r = p.wait(timeout=15)
        count = server_count(srv)
    s = interrupted_summary(r, export, "http_reqs")
    assert r.maxrss_kb < RSS_LIMIT_KB, f"peak RSS {r.maxrss_kb} KiB\n{r}"
    assert set(errors_by_kind(s)) == {"response_too_large"}, s["errors"]
    accounting.assert_accounting(s, server_count=count)


def wait_for_flood(srv, p, nbytes=16 * MiB, timeout=10):
    deadline = time.monotonic() + timeout
    while srv.bytes_sent < nbytes and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.02)
    assert p.poll() is None, f"ended early\n{p.result()}"
    assert srv.bytes_sent >= nbytes, f"the server sent {srv.bytes_sent} bytes in {timeout}s"
    time.sleep(0.3)


# --------------------------------------------------------------------------------------
# the limit's exact boundary (--max-response-body-size)
# --------------------------------------------------------------------------------------
LIMIT = 100000


@pytest.fixture(scope="module")
def max_body_option():
    require_binary()
    p = subprocess.run([BIN, "run", "--help"], capture_output=True, text=True, timeout=30)
    if "--max-response-body-size" not in p.stdout + p.stderr:
        pytest.skip("waits on --max-response-body-size (stampede run --help lacks it)")


@pytest.mark.parametrize("size", [LIMIT, LIMIT + 1], ids=["at_limit", "over_limit"])
@pytest.mark.parametrize("framing", ["sized", "csized"], ids=["length", "chunked"])
@pytest.mark.parametrize("run_mode", ["quick", "script"])
def test_body_limit_boundary(size, framing, run_mode, max_body_option, tmp_path):
    """A body of exactly --max-response-body-size bytes is fine (and its keep-alive
    connection reused); one byte more fails as response_too_large, and the connection is
    closed each time."""
    export = tmp_path / "summary.json"
    n = 5
    with FloodServer(framing, size=size) as srv:
        args = run_args(run_mode, srv, tmp_path, export, "--quiet",
                        "--max-response-body-size", str(LIMIT), iterations=n)
        p = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True,
                           timeout=60, cwd=tmp_path, stdin=subprocess.DEVNULL)
        r = Result(args, p.returncode, p.stdout, p.stderr, 0)
        count = server_count(srv)
    check_rc(r, (EXIT_OK, EXIT_THRESHOLDS))
    s = read_summary(export, r)
    errs = errors_by_kind(s)
    assert count == n
    if size <= LIMIT:
        assert errs == {}, s["errors"]
        assert srv.connections == 1, f"{srv.connections} connections for {n} requests"
    else:
        assert set(errs) == {"response_too_large"}, s["errors"]
        assert errs["response_too_large"]["count"] == n, s["errors"]
        assert srv.connections == n, f"{srv.connections} connections: one was reused"
    accounting.assert_accounting(s, server_count=count)


# --------------------------------------------------------------------------------------
# the same over TLS (OpenSSL buffers records the socket no longer shows)
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def flood_tls_context(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.fail("openssl CLI not found", pytrace=False)
    cert, key = servers.make_cert(str(tmp_path_factory.mktemp("flood-cert")), "flood")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


@pytest.mark.parametrize("run_mode", ["quick", "script"])
@pytest.mark.parametrize("case", ["limit", "timeout"])
def test_tls_endless_body(case, run_mode, flood_tls_context, run_bounded, tmp_path):
    export = tmp_path / "summary.json"
    extra, kw, kind = (), {}, "response_too_large"
    if case == "timeout":
        extra = ("--max-response-body-size", "100GB")
        # long enough for a handshake with a busy Python server
        kw = dict(timeout="1s", params=', responseType = "none"')
        kind = "request_timeout"
    with FloodServer("chunked", ssl_context=flood_tls_context) as srv:
        p = run_bounded(*run_args(run_mode, srv, tmp_path, export, "--quiet", "--insecure",
                                  *extra, **kw), cwd=tmp_path)
        r = p.wait(timeout=ENDS_WITHIN + 10)
        count = server_count(srv)
    s = assert_bounded(r, export)
    errs = errors_by_kind(s)
    assert set(errs) <= {kind, "interrupted"}, s["errors"]
    assert errs[kind]["count"] >= 1, s["errors"]
    accounting.assert_accounting(s, server_count=count)


# --------------------------------------------------------------------------------------
# certificate verification kinds (--cacert CA, leaves signed by it)
# --------------------------------------------------------------------------------------
CA_CONF = """\
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = {d}
database = {d}/index.txt
new_certs_dir = {d}/issued
serial = {d}/serial
default_md = sha256
policy = any_name
unique_subject = no
copy_extensions = copy
[ any_name ]
commonName = supplied
[ client_only ]
extendedKeyUsage = clientAuth
"""


def _openssl(*args):
    p = subprocess.run(["openssl", *map(str, args)], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"openssl {' '.join(map(str, args))}\n{p.stderr}"


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    """A CA made with the openssl CLI, and sign(name, start, end, ext=None) -> (cert,
    key): a leaf for 127.0.0.1 signed by it, valid from start to end (YYYYMMDDHHMMSSZ)."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl CLI not found", pytrace=False)
    d = tmp_path_factory.mktemp("ca")
    (d / "issued").mkdir()
    (d / "index.txt").write_text("")
    (d / "serial").write_text("1000\n")
    conf = d / "ca.cnf"
    conf.write_text(CA_CONF.format(d=d))
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d / "ca.key",
             "-out", d / "ca.pem", "-subj", "/CN=stampede test CA", "-days", "3650",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def sign(name, start, end, ext=None):
        key, csr, cert = d / f"{name}.key", d / f"{name}.csr", d / f"{name}.pem"
        _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                 "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")
        _openssl("ca", "-batch", "-config", conf, "-cert", d / "ca.pem", "-keyfile",
                 d / "ca.key", "-in", csr, "-out", cert, "-notext", "-startdate", start,
                 "-enddate", end, *(["-extensions", ext] if ext else []))
        return str(cert), str(key)

    sign.cafile = str(d / "ca.pem")
    return sign


NOW_VALID = ("20200101000000Z", "20991231000000Z")
CERT_CASES = {
    "valid": (NOW_VALID, None, None),
    "expired": (("20200101000000Z", "20200102000000Z"), None, "tls_certificate_expired"),
    "not_yet_valid": (("20980101000000Z", "20991231000000Z"), None,
                      "tls_certificate_not_yet_valid"),
    # a certificate for clients only: verification fails on its purpose
    "wrong_purpose": (NOW_VALID, "client_only", "tls_certificate_invalid"),
}


@pytest.mark.parametrize("case", sorted(CERT_CASES))
def test_certificate_kinds(case, ca, stampede):
    (start, end), ext, kind = CERT_CASES[case]
    cert, key = ca(case, start, end, ext)
    with servers.TLSServer(cert, key) as srv:
        r = stampede.load(srv.url, "--cacert", ca.cafile, "--iterations", "3", timeout=30,
                          expect=(EXIT_OK, EXIT_THRESHOLDS))
        count = server_count(srv)
    errs = errors_by_kind(r.summary)
    if kind is None:
        assert errs == {}, r.summary["errors"]
        assert count == 3
    else:
        assert set(errs) == {kind}, r.summary["errors"]
        assert errs[kind]["count"] == 3
        assert errs[kind]["code"] == ERROR_CODES[kind]
        assert count == 0, "the request reached the server"
    accounting.assert_accounting(r.summary, server_count=count)
    # with verification off the same certificate is fine
    if kind is not None:
        with servers.TLSServer(cert, key) as srv:
            r = stampede.load(srv.url, "--insecure", "--iterations", "3", timeout=30)
        assert errors_by_kind(r.summary) == {}, r.summary["errors"]


def test_untrusted_ca_is_unknown_authority(ca, stampede, certs):
    """A valid leaf of a CA that is not the one given: still tls_unknown_authority."""
    cert, key = ca("other_ca", *NOW_VALID)
    with servers.TLSServer(cert, key) as srv:
        r = stampede.load(srv.url, "--cacert", certs["dns"][0], "--iterations", "2",
                          timeout=30, expect=(EXIT_OK, EXIT_THRESHOLDS))
    assert set(errors_by_kind(r.summary)) == {"tls_unknown_authority"}, r.summary["errors"]


def _main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "close"
    with FloodServer(mode) as s:
        print(s.url, flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    _main()
