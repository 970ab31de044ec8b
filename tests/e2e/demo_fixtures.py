"""Fixtures and helpers for the end-to-end tests of `stampede serve-demo` (docs/demo.md).

Each server is started by the test as a subprocess on 127.0.0.1 with --port 0 (the kernel
picks a free port; the server prints the URL it listens on), and stopped by pid at
teardown even when the test fails. Import the fixtures into a test module with
`from demo_fixtures import demo_server, demo_server_module  # noqa: F401`.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, require_binary

LISTEN_RE = re.compile(r"listening on http://127\.0\.0\.1:(\d+) \((\d+) workers, queue (\d+)\)")
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[^"}]|"(?:[^"\\]|\\.)*")*)\})? (\S+)$')
LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class DemoServer:
    """A `stampede serve-demo` process; stdout/stderr go to files."""

    def __init__(self, args, directory):
        self.args = [BIN, "serve-demo", "--port", "0", *map(str, args)]
        self.dir = Path(directory)
        self.out = self.dir / "stdout.txt"
        self.err = self.dir / "stderr.txt"
        self.proc = None
        self.port = None
        self.host = "127.0.0.1"

    # -- lifecycle --------------------------------------------------------------------
    def start(self, timeout=10):
        require_binary()
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = LISTEN_RE.search(self.out.read_text(errors="replace"))
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.kill()
        pytest.fail(f"serve-demo did not start\n{self.logs()}", pytrace=False)

    @property
    def pid(self):
        return self.proc.pid

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def logs(self):
        return (f"command: {' '.join(self.args)}\n--- stdout ---\n"
                f"{self.out.read_text(errors='replace')[-3000:]}\n--- stderr ---\n"
                f"{self.err.read_text(errors='replace')[-3000:]}")

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def wait(self, timeout):
        """Wait for the exit and return the exit code; fails (and kills) after timeout."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"serve-demo did not exit within {timeout}s\n{self.logs()}",
                        pytrace=False)

    def stop(self):
        """SIGTERM, then SIGKILL if it does not exit within 15 s. Returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def check_clean_exit(self):
        """After stop(): the server exited 0 and wrote no sanitizer report."""
        err = self.err.read_text(errors="replace")
        bad = [m for m in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
               if m in err]
        if bad or (self.proc is not None and self.proc.returncode not in (0, -9)):
            pytest.fail(f"serve-demo did not exit cleanly (exit code "
                        f"{self.proc.returncode}, {bad})\n{self.logs()}", pytrace=False)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)

    # -- requests -----------------------------------------------------------------------
    def connect(self, timeout=10):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None, timeout=10):
        """One request; returns (status, headers dict with lower-case names, body bytes)."""
        own = conn is None
        c = conn or self.connect(timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                headers = {"Content-Type": "application/json", **(headers or {})}
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            if own:
                c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def get_json(self, path, **kw):
        status, _, body = self.get(path, **kw)
        return status, json.loads(body)

    def post_json(self, path, obj, **kw):
        status, _, body = self.request("POST", path, body=obj, **kw)
        return status, json.loads(body)

    def admin(self, **knobs):
        """POST /admin/config; returns the new configuration (fails on a non-200)."""
        status, cfg = self.post_json("/admin/config", knobs)
        assert status == 200, f"/admin/config {knobs} -> {status} {cfg}"
        return cfg

    def token(self, n=1):
        status, body = self.post_json("/api/auth/login",
                                      {"email": f"user{n}@test.com", "password": "testpassword"})
        assert status == 200, body
        return body["token"]

    def metrics(self):
        status, headers, body = self.get("/metrics")
        assert status == 200, body
        assert headers["content-type"].startswith("text/plain; version=0.0.4")
        return Metrics(body.decode())

    def rss_bytes(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def url_for(self, path):
        return self.url + path


class Metrics:
    """A parsed Prometheus text exposition."""

    def __init__(self, text):
        self.text = text
        self.samples = []  # (name, {labels}, value)
        self.types = {}
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, typ = line.split(" ", 3)
                self.types[name] = typ
                continue
            if not line or line.startswith("#"):
                continue
            m = SAMPLE_RE.match(line)
            assert m, f"malformed exposition line: {line!r}"
            labels = dict(LABEL_RE.findall(m.group(3) or ""))
            self.samples.append((m.group(1), labels, float(m.group(4))))

    def value(self, name, **labels):
        """Sum of the samples of name whose labels include the given ones (0 if none)."""
        return sum(v for n, lab, v in self.samples
                   if n == name and all(lab.get(k) == str(x) for k, x in labels.items()))

    def series(self, name):
        return [(lab, v) for n, lab, v in self.samples if n == name]


def user_with_most_orders(demo, first=1, last=10):
    """(id, N): the user with the most orders among users first..last of a running demo,
    N read from the demo's own answer (at least 2, for an N+1 pattern to show)."""
    best = None
    for uid in range(first, last + 1):
        status, body = demo.get_json(f"/api/users/{uid}/orders")
        assert status == 200, body
        n = len(body["data"]["orders"])
        if best is None or n > best[1]:
            best = (uid, n)
    assert best[1] >= 2, best
    return best


def raw_exchange(port, data, timeout=5.0, shut_write=False):
    """Send raw bytes on a new connection and read until the server closes it (or the
    timeout). Returns (bytes received, True if the server closed the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if shut_write:
            s.shutdown(socket.SHUT_WR)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return out, False
            except ConnectionResetError:
                return out, True
            if not chunk:
                return out, True
            out += chunk
        return out, False


def status_codes(raw):
    """The status codes of the HTTP responses in a raw byte stream, in order."""
    return [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", raw)]


@pytest.fixture
def demo_server(tmp_path):
    """demo_server(*args) -> a started DemoServer; every one is stopped at teardown."""
    started = []

    def factory(*args):
        d = tmp_path / f"demo{len(started)}"
        d.mkdir()
        s = DemoServer(args, d)
        started.append(s)
        return s.start()

    yield factory
    for s in started:
        s.stop()
    for s in started:
        s.check_clean_exit()


@pytest.fixture(scope="module")
def demo_server_module(tmp_path_factory):
    """One default server shared by a module's tests (workers 4, 1 ms per simulated query: serve-demo's default)."""
    s = DemoServer([], tmp_path_factory.mktemp("demo"))
    s.start()
    yield s
    s.stop()
    s.check_clean_exit()
