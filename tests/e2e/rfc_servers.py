"""A recording HTTP/1.1 server for tests/e2e/test_http_rfc.py (HTTP client semantics per
the RFCs).

RecordingServer (a servers.BackgroundServer on 127.0.0.1, free port, background thread)
keeps every request exactly as it came off the wire -- the raw request line bytes, the
header fields in order (repeats kept), the body (and whether it came chunked, with the
raw chunked bytes) -- and answers:

  * a request with `X-Redirect: CODE LOCATION` and `X-Once: ID`: the first request that
    carries that ID gets status CODE with `Location: LOCATION` (the header's bytes as
    they are); later requests with the same ID (the followed hop, which repeats the
    header) are answered normally.  This lets one server redirect any request target,
    e.g. the RFC 3986 base `/b/c/d;p?q`, to any reference.
  * /hop/N: 302 to /hop/N-1; /hop/0 answers normally.
  * /status/CODE: status CODE.
  * a path registered with `fixed(path, status, headers, body)`: that response.
  * any request with `?sc=SET-COOKIE` (repeatable): one Set-Cookie field per value.
  * otherwise 200 with a JSON echo {method, target, headers, body}.

`.log` holds one dict per request: raw_line (bytes), method, target, path, query,
headers (list of (lower-case name, value)), body (bytes), chunked (bool), raw_body
(bytes as received), host, sent (bytes of the response written), once (X-Once ID).
"""

import json
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

import servers


class RecordingServer(servers.BackgroundServer):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.log = []
        self._fixed = {}
        self._seen_once = set()

    # -- set-up and inspection ------------------------------------------------------------
    def reset(self):
        with self._lock:
            self.log = []
            self._seen_once = set()
            self.requests = 0

    def fixed(self, path, status=200, headers=(), body=b""):
        """Answer requests for `path` (without query) with this response."""
        with self._lock:
            self._fixed[path] = (status, list(headers), body)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def lbase(self):
        """The same server through the name `localhost` (another origin)."""
        return f"http://localhost:{self.port}"

    def entries(self, once=None, path=None):
        with self._lock:
            log = list(self.log)
        if once is not None:
            log = [e for e in log if e["once"] == once]
        if path is not None:
            log = [e for e in log if e["path"] == path]
        return log

    # -- serving --------------------------------------------------------------------------
    async def _read(self, reader):
        msg = await servers.read_message(reader)
        if msg is None:
            return None
        head, body, raw_body = msg
        lines = head[:-4].split(b"\r\n")
        raw_line = lines[0]
        method, target, version = raw_line.decode("latin-1").split(" ", 2)
        headers = []
        for line in lines[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name.strip().lower(), value.strip()))
        te = ", ".join(v for n, v in headers if n == "transfer-encoding").lower()
        chunked = "chunked" in te
        u = urlsplit(target)
        hdict = {}
        for n, v in headers:
            hdict.setdefault(n, v)
        return {"raw_line": raw_line, "method": method, "target": target, "path": u.path,
                "query": parse_qsl(u.query, keep_blank_values=True, encoding="latin-1"),
                "version": version,
                "headers": headers, "body": body, "raw_body": raw_body, "chunked": chunked,
                "host": hdict.get("host"), "once": hdict.get("x-once"), "sent": 0}

    async def handle(self, reader, writer):
        while True:
            req = await self._read(reader)
            if req is None:
                return
            with self._lock:
                self.requests += 1
                self.log.append(req)
            out, close = self._respond(req)
            req["sent"] = len(out)
            writer.write(out)
            await writer.drain()
            if close:
                return

    def _respond(self, req):
        h = dict(reversed(req["headers"]))  # first value of each name
        status, extra, body, ctype = 200, [], None, "application/json"
        redirect = h.get("x-redirect")
        once = h.get("x-once")
        fresh = False
        if redirect and once:
            with self._lock:
                fresh = once not in self._seen_once
                self._seen_once.add(once)
        parts = req["path"].strip("/").split("/")
        with self._lock:
            fixed = self._fixed.get(req["path"])
        if fresh:
            code, _, loc = redirect.partition(" ")
            status = int(code)
            extra.append(("Location", loc))
            body, ctype = b"redirecting\n", "text/plain"
        elif fixed is not None:
            status, extra, body = fixed[0], list(fixed[1]), fixed[2]
            ctype = None
        elif parts[0] == "hop" and len(parts) > 1 and int(parts[1]) > 0:
            status = 302
            extra.append(("Location", f"/hop/{int(parts[1]) - 1}"))
            body, ctype = b"redirecting\n", "text/plain"
        elif parts[0] == "status" and len(parts) > 1:
            status = int(parts[1])
        for k, v in req["query"]:
            if k == "sc":
                extra.append(("Set-Cookie", v))
        if body is None:
            echo = {"method": req["method"], "target": req["target"],
                    "headers": req["headers"], "body": req["body"].decode("utf-8", "replace")}
            body = json.dumps(echo).encode()
        close = (h.get("connection", "").lower() == "close" or req["version"] == "HTTP/1.0")
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Status"
        head = [f"HTTP/1.1 {status} {reason}"]
        if ctype:
            head.append(f"Content-Type: {ctype}")
        head += [f"{k}: {v}" for k, v in extra]
        head.append(f"Content-Length: {len(body)}")
        if close:
            head.append("Connection: close")
        out = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if req["method"] != "HEAD":
            out += body
        return out, close

    # -- helpers for assertions -----------------------------------------------------------
    @staticmethod
    def values(entry, name):
        """Every value of header `name` in a log entry, in order."""
        name = name.lower()
        return [v for n, v in entry["headers"] if n == name]
