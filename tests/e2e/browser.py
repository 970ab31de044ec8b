"""Headless Chromium for the end-to-end tests, driven over its DevTools pipe
(--remote-debugging-pipe: NUL-separated JSON on fds 3/4, no websocket needed), with the
network off: every request goes to a loopback TrapProxy of ours that records it and answers
403, and no host name resolves. A Page tells what it requested and what it logged at level
error; page_hits() leaves out Chromium's own background services. Moved unchanged from
test_html.py; used by test_html.py, test_profile.py (through test_html's fixture) and
test_compare.py.
"""

import base64
import fcntl
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


# --------------------------------------------------------------------------------------
# Chromium over the DevTools pipe
# --------------------------------------------------------------------------------------
# Chromium's own background services (component and variations updates, sign-in, network
# time) still call these hosts with every switch that turns them off given; a report has
# no reason to name any of them, so their requests at the trap proxy are not the page's.
BROWSER_SERVICE_HOSTS = ("update.googleapis.com", "accounts.google.com",
                         "clients2.google.com", "clientservices.googleapis.com",
                         "safebrowsing.googleapis.com", "redirector.gvt1.com",
                         "edgedl.me.gvt1.com", "optimizationguide-pa.googleapis.com")


def page_hits(hits):
    """The trap proxy's hits that are not Chromium's own background services."""
    def host(line):
        parts = line.split(" ")
        target = parts[1] if len(parts) > 1 else ""
        target = re.sub(r"^[a-z]+://", "", target)
        return re.split(r"[:/]", target, 1)[0]
    return [h for h in hits if host(h) not in BROWSER_SERVICE_HOSTS]


class TrapProxy:
    """A loopback listener given to Chromium as its proxy: it records the first line of
    every connection (a request that tried to leave the browser) and answers 403."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.hits = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    data = conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
                except OSError:
                    data = b""
                self.hits.append(data.split(b"\r\n", 1)[0].decode("latin-1"))

    def close(self):
        self._stop = True
        self._thread.join(5)
        self.sock.close()


class Chromium:
    """One headless Chromium, driven over --remote-debugging-pipe."""

    def __init__(self, profile, proxy_port):
        if not os.access(CHROMIUM, os.X_OK):
            pytest.fail(f"{CHROMIUM} not found (apt-get install chromium; see "
                        "scripts/install-deps.sh)", pytrace=False)
        cmd_r, cmd_w = os.pipe()    # we write commands, Chromium reads fd 3
        res_r, res_w = os.pipe()    # Chromium writes fd 4, we read
        args = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--remote-debugging-pipe", f"--user-data-dir={profile}",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps", "--mute-audio",
                "--disable-client-side-phishing-detection", "--disable-domain-reliability",
                "--disable-breakpad", "--no-pings", "--metrics-recording-only",
                "--safebrowsing-disable-auto-update", "--password-store=basic",
                "--disable-features=Translate,OptimizationHints,MediaRouter,"
                "NetworkTimeServiceQuerying,AutofillServerCommunication,"
                "CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions,"
                "DialMediaRouteProvider,AccountConsistency,ChromeSignin",
                f"--proxy-server=http://127.0.0.1:{proxy_port}",
                "--proxy-bypass-list=<-loopback>",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "about:blank"]
        # bash (dash takes one-digit fds only) puts our pipe ends on fds 3 and 4, then
        # becomes Chromium (same pid).
        # Our ends first go above 9, out of the way of 3 and 4.
        hi_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
        hi_w = fcntl.fcntl(res_w, fcntl.F_DUPFD, 10)
        os.close(cmd_r)
        os.close(res_w)
        cmd_r, res_w = hi_r, hi_w
        shell = f'exec 3<&{cmd_r} 4>&{res_w} {cmd_r}<&- {res_w}>&-; exec "$@"'
        self.log = open(Path(profile) / "chromium.log", "wb")
        self.proc = subprocess.Popen(["/bin/bash", "-c", shell, "bash", *args],
                                     pass_fds=(cmd_r, res_w), stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        os.close(cmd_r)
        os.close(res_w)
        self.w = cmd_w
        self.r = res_r
        self.buf = b""
        self.next_id = 0
        self.events = []

    # -- protocol ---------------------------------------------------------------------
    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self.r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise EOFError(f"Chromium closed its pipe (exit {self.proc.poll()})")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self.w, data):]
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == mid:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, session, timeout=30):
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for m in self.events[seen:]:
                if m.get("method") == method and m.get("sessionId") == session:
                    return m
            seen = len(self.events)
            self.events.append(self._read_message(deadline))

    # -- pages ------------------------------------------------------------------------
    def load(self, url, width=1280):
        """Open url in a new tab; returns a Page with what it requested and logged."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=session)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
                  session=session)
        start = len(self.events)
        self.call("Page.navigate", {"url": url}, session=session)
        self.wait_event("Page.loadEventFired", session)
        # let late work (a lazy image, a timer) show itself before we look
        self.call("Runtime.evaluate", {"expression": "new Promise(r => setTimeout(r, 300))",
                                       "awaitPromise": True}, session=session)
        return Page(self, session, target, url, start)

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - it may be gone already
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        os.close(self.w)
        os.close(self.r)
        self.log.close()


class Page:
    def __init__(self, browser, session, target, url, first_event):
        self.browser = browser
        self.session = session
        self.target = target
        self.url = url
        self.first_event = first_event

    def close(self):
        self.browser.call("Target.closeTarget", {"targetId": self.target})

    def _events(self):
        return [m for m in self.browser.events[self.first_event:]
                if m.get("sessionId") == self.session]

    def requests(self):
        """URLs the page asked for, other than itself (data: URLs never leave it)."""
        out = []
        for m in self._events():
            if m.get("method") == "Network.requestWillBeSent":
                u = m["params"]["request"]["url"]
                if u != self.url and not u.startswith("data:"):
                    out.append(u)
        return out

    def errors(self):
        """Console messages of level error, uncaught exceptions and log entries (CSP
        violations, failed loads) of level error."""
        out = []
        for m in self._events():
            p = m.get("params", {})
            if m.get("method") == "Runtime.consoleAPICalled" and p.get("type") in (
                    "error", "assert"):
                out.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                  for a in p.get("args", [])))
            elif m.get("method") == "Runtime.exceptionThrown":
                out.append("exception: " + json.dumps(p.get("exceptionDetails"))[:300])
            elif m.get("method") == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append(f"log ({p['entry'].get('source')}): {p['entry'].get('text')}")
        return out

    def eval(self, expression):
        r = self.browser.call("Runtime.evaluate", {"expression": expression,
                                                   "returnByValue": True},
                              session=self.session)
        if "exceptionDetails" in r:
            raise AssertionError(f"evaluating {expression!r}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self, path, width=1280):
        self.browser.call("Page.bringToFront", session=self.session)  # a hidden tab
        height = self.eval("Math.ceil(document.documentElement.scrollHeight)")  # never paints
        self.browser.call("Emulation.setDeviceMetricsOverride",
                          {"width": width, "height": min(int(height), 16000),
                           "deviceScaleFactor": 1, "mobile": False}, session=self.session)
        png = self.browser.call("Page.captureScreenshot", {"format": "png"},
                                session=self.session)["data"]
        Path(path).write_bytes(base64.b64decode(png))
