"""Helpers for the scripted-test end-to-end tests (tests/e2e/test_script_*.py).

EchoServer: an asyncio HTTP/1.1 server on 127.0.0.1 (free port, background thread, see
servers.BackgroundServer) that records every request and answers by path:

    /redirect/CODE?to=PATH   CODE (301/302/303/307/308) with Location: PATH (default /echo)
    /chain/N                 302 to /chain/N-1 ... /chain/0 answers like /echo
    /cookie/set?k=v&...      a Set-Cookie: k=v; Path=/ header per pair, then like /echo
    /chunked                 a chunked body "chunk-1;chunk-2;chunk-3;" in three chunks
    /headers                 X-Custom-Header: hello, X-Multi: a, X-Multi: b,
                             x-lowercase-name: low, then like /echo
    /big?size=N              N bytes of "x" (text/plain); with ?chunked=1 in 4 KiB chunks
    /text                    "not json" (text/plain)
    /status/CODE             status CODE, body like /echo
    anything else            200, JSON echo of the request:
                             {method, path, query, headers (lower-case names), body, cookies}

Any path takes ?delay=MS (answer after MS milliseconds), ?status=CODE and
?set_cookie=NAME=VALUE (adds that Set-Cookie header, e.g. to a redirect; "; Path=/" is
appended unless the value has attributes of its own).
Requests are recorded in `.log` (dicts: t, method, path, query, headers, body, cookies,
conn) and `.max_inflight` is the most requests that were being answered at once.

run_script(): writes a Lua script into a temp dir and runs
`stampede run script.lua -q --summary-export FILE -e BASE_URL=... ARGS` there.
"""

import asyncio
import json
import os
import subprocess
import textwrap
import time
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

import servers
from conftest import BIN, Result, check_rc, parse_result, require_binary, strict_json

# Exit codes specific to scripts (docs/cli.md, docs/scripting.md)
EXIT_SCRIPT = 107

PRELUDE = ('local http = require "stampede.http"; local metrics = require "stampede.metrics"; '
           'local json = require "stampede.json"; local BASE = stampede.env.BASE_URL\n')


class EchoServer(servers.BackgroundServer):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.log = []
        self.inflight = 0
        self.max_inflight = 0
        self._conn_ids = 0

    # -- inspection -------------------------------------------------------------------
    def entries(self, path=None, prefix=None):
        with self._lock:
            log = list(self.log)
        if path is not None:
            log = [e for e in log if e["path"] == path]
        if prefix is not None:
            log = [e for e in log if e["path"].startswith(prefix)]
        return log

    def header_values(self, name, path=None, prefix=None):
        name = name.lower()
        return [e["headers"].get(name) for e in self.entries(path, prefix)]

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    # -- serving ----------------------------------------------------------------------
    async def _read(self, reader):
        msg = await servers.read_message(reader)
        if msg is None:
            return None
        head, body, _ = msg
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name in headers:
                sep = "; " if name == "cookie" else ", "
                headers[name] = headers[name] + sep + value
            else:
                headers[name] = value
        u = urlsplit(target)
        cookies = {}
        for part in headers.get("cookie", "").split(";"):
            k, eq, v = part.strip().partition("=")
            if eq:
                cookies[k] = v
        return {"t": time.monotonic(), "method": method, "target": target, "path": u.path,
                "query": dict(parse_qsl(u.query, keep_blank_values=True)),
                "headers": headers, "body": body.decode("utf-8", "replace"),
                "cookies": cookies, "version": version}

    async def handle(self, reader, writer):
        with self._lock:
            self._conn_ids += 1
            conn = self._conn_ids
        while True:
            req = await self._read(reader)
            if req is None:
                return
            req["conn"] = conn
            with self._lock:
                self.requests += 1
                self.log.append(req)
                self.inflight += 1
                self.max_inflight = max(self.max_inflight, self.inflight)
            try:
                close = await self._respond(req, writer)
            finally:
                with self._lock:
                    self.inflight -= 1
            if close:
                return

    async def _respond(self, req, writer):
        q = req["query"]
        if "delay" in q:
            await asyncio.sleep(int(q["delay"]) / 1000)
        path = req["path"]
        status = int(q.get("status", 200))
        extra = []
        body = None
        ctype = "application/json"
        chunks = None
        parts = path.strip("/").split("/")
        if "set_cookie" in q:
            c = q["set_cookie"]
            extra.append(("Set-Cookie", c if ";" in c else c + "; Path=/"))
        if parts[0] == "redirect" and len(parts) > 1:
            status = int(parts[1])
            extra.append(("Location", q.get("to", "/echo")))
            body, ctype = b"redirecting\n", "text/plain"
        elif parts[0] == "chain" and len(parts) > 1 and int(parts[1]) > 0:
            status = 302
            extra.append(("Location", f"/chain/{int(parts[1]) - 1}"))
            body, ctype = b"redirecting\n", "text/plain"
        elif parts[0] == "cookie":
            for k, v in q.items():
                if k not in ("delay", "status", "set_cookie"):
                    extra.append(("Set-Cookie", f"{k}={v}; Path=/"))
        elif parts[0] == "chunked":
            chunks = [b"chunk-1;", b"chunk-2;", b"chunk-3;"]
            ctype = "text/plain"
        elif parts[0] == "headers":
            extra += [("X-Custom-Header", "hello"), ("X-Multi", "a"), ("X-Multi", "b"),
                      ("x-lowercase-name", "low")]
        elif parts[0] == "big":
            big = b"x" * int(q.get("size", "0"))
            ctype = "text/plain"
            if q.get("chunked") == "1":
                chunks = [big[i:i + 4096] for i in range(0, len(big), 4096)]
            else:
                body = big
        elif parts[0] == "text":
            body, ctype = b"not json", "text/plain"
        elif parts[0] == "status" and len(parts) > 1:
            status = int(parts[1])
        if body is None and chunks is None:
            echo = {k: req[k] for k in ("method", "path", "query", "headers", "body",
                                        "cookies")}
            body = json.dumps(echo).encode()
        close = (req["headers"].get("connection", "").lower() == "close"
                 or req["version"] == "HTTP/1.0")
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Status"
        head = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {ctype}"]
        head += [f"{k}: {v}" for k, v in extra]
        if chunks is not None:
            head.append("Transfer-Encoding: chunked")
        else:
            head.append(f"Content-Length: {len(body)}")
        if close:
            head.append("Connection: close")
        out = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if req["method"] == "HEAD":
            writer.write(out)
        elif chunks is not None:
            writer.write(out)
            for c in chunks:
                writer.write(b"%x\r\n%s\r\n" % (len(c), c))
                await writer.drain()
                if len(chunks) <= 8:
                    await asyncio.sleep(0.005)
            writer.write(b"0\r\n\r\n")
        else:
            writer.write(out + body)
        await writer.drain()
        return close


@pytest.fixture
def echo_server():
    with EchoServer() as s:
        yield s


# --------------------------------------------------------------------------------------
# running scripts
# --------------------------------------------------------------------------------------
_runs = iter(range(1, 1 << 30))


def write_script(directory, source, name="script.lua", prelude=True):
    path = Path(directory) / name
    text = textwrap.dedent(source).lstrip("\n")
    path.write_text((PRELUDE if prelude else "") + text)
    return path


def line_of(path, marker):
    """1-based number of the first line of the file at `path` that contains `marker`."""
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        if marker in line:
            return i
    raise AssertionError(f"{marker!r} not in {path}")


def run_script(tmp_path, source, *args, base=None, expect=0, timeout=30, name="script.lua",
               prelude=True, export=True, env=None):
    """Write `source` (dedented, PRELUDE prepended unless prelude=False) to tmp_path/name
    and run it from tmp_path.  base: a server (its base URL is passed as BASE_URL) or a
    URL string.  Returns a conftest.Result with .summary (the parsed --summary-export, or
    None when the file was not written) and .script (its path)."""
    require_binary()
    script = write_script(tmp_path, source, name, prelude)
    argv = [BIN, "run", str(script), "-q"]
    out = None
    if export:
        out = Path(tmp_path) / f"summary-{next(_runs)}.json"
        argv += ["--out", f"result={out}"]
    if base is not None:
        url = base if isinstance(base, str) else base.base
        argv += ["-e", f"BASE_URL={url.rstrip('/')}"]
    argv += [str(a) for a in args]
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    start = time.monotonic()
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, cwd=tmp_path, env=full_env)
    except subprocess.TimeoutExpired as e:  # subprocess.run killed it (by pid)
        r = Result(argv, None, _text(e.stdout), _text(e.stderr), time.monotonic() - start)
        pytest.fail(f"stampede did not exit within {timeout}s\n{r}", pytrace=False)
    r = Result(argv, p.returncode, _text(p.stdout), _text(p.stderr),
               time.monotonic() - start)
    r.script = script
    r.export = out
    r.summary = None
    if out is not None and out.exists():
        try:
            r.summary = parse_result(out.read_text())
        except ValueError as e:
            pytest.fail(f"--summary-export is not valid JSON: {e}\n{r}", pytrace=False)
    check_rc(r, expect)
    if export and r.summary is None and r.rc in (0, 99):
        pytest.fail(f"--summary-export file was not written\n{r}", pytrace=False)
    return r


def _text(b):
    if b is None:
        return ""
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b


# --------------------------------------------------------------------------------------
# reading the export
# --------------------------------------------------------------------------------------
def all_checks(group, out=None):
    """{check path: (passes, fails)} for every check under root_group `group`."""
    out = {} if out is None else out
    for c in group.get("checks", []):
        out[c["path"]] = (c["passes"], c["fails"])
    for g in group.get("groups", []):
        all_checks(g, out)
    return out


def assert_checks_pass(r, expected_names=None):
    """Every check in root_group passed (and at least one ran); with expected_names,
    exactly those check names ran."""
    rg = r.summary.get("root_group")
    assert isinstance(rg, dict), f"no root_group in the export\n{r}"
    checks = all_checks(rg)
    assert checks, f"no check ran\n{r}"
    failed = {k: v for k, v in checks.items() if v[1] or not v[0]}
    assert not failed, f"checks failed (passes, fails): {failed}\n{r}"
    if expected_names is not None:
        names = {p.rsplit("::", 1)[-1] for p in checks}
        assert names == set(expected_names), (names, expected_names)
    assert not r.summary.get("script_errors"), r.summary.get("script_errors")
    return checks


def series(summary, name, /, **tags):
    """Timeseries entries of metric `name` whose tags include `tags`."""
    out = []
    for s in summary.get("timeseries", []):
        if s.get("metric") != name:
            continue
        st = s.get("tags") or {}
        if all(st.get(k) == v for k, v in tags.items()):
            out.append(s)
    return out


def column(s, name):
    i = s["columns"].index(name)
    return [p[i] for p in s["points"]]


def series_total(summary, name, /, **tags):
    """Sum of the `count` column over the timeseries of `name` whose tags include `tags`
    (give at least one tag, or the untagged total series is summed with the rest)."""
    return sum(sum(column(s, "count")) for s in series(summary, name, **tags))


def script_errors(summary):
    errs = summary.get("script_errors")
    assert isinstance(errs, list), f"script_errors is not a list: {errs!r}"
    for e in errs:
        assert {"message", "count"} <= set(e), e
    return errs


def threshold_entry(summary, selector, expression):
    for e in summary.get("thresholds", []):
        if e.get("selector") == selector and e.get("expression") == expression:
            return e
    raise AssertionError(f"no thresholds[] entry {selector}: {expression} in "
                         f"{summary.get('thresholds')}")


def settle(predicate, timeout=3.0):
    """Wait until predicate() is true (server-side bookkeeping can trail the client)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()

