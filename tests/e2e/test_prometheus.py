"""--out prometheus=127.0.0.1:PORT checked by its consumers (issue #9 §3): promtool lints a
scrape taken during a run, a real Prometheus (Debian's `prometheus`) scrapes the whole run
and agrees with the summary on http_reqs, and every query of the Grafana dashboard in
deploy/grafana/ returns data from that Prometheus.

One run is shared by the module: a Lua script whose `hit` scenario sends four kinds of
request for 2 s (200, 404, 500, and a refused connection, each with its own `name` tag)
while an `idle` scenario keeps the run going to 5 s, so that Prometheus (scrape interval
1 s) scrapes the final counts before the endpoint closes with the run.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import servers
from conftest import BIN, ROOT, metric, read_summary, require_binary

DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "stampede.json"
NAMES = ("ok", "missing", "boom", "refused")

SCRIPT = """\
local http = require "stampede.http"
local BASE, DEAD = stampede.env.BASE_URL, stampede.env.DEAD_URL

options = {
  scenarios = {
    hit = { executor = "constant-vus", vus = 2, duration = "2s", exec = "hit" },
    idle = { executor = "constant-vus", vus = 1, duration = "5s", exec = "idle" },
  },
}

function hit()
  local res = http.get(BASE .. "ok", { tags = { name = "ok" } })
  stampede.check(res, { ["status is 200"] = function(r) return r.status == 200 end })
  http.get(BASE .. "missing", { tags = { name = "missing" } })
  http.get(BASE .. "boom", { tags = { name = "boom" } })
  http.get(DEAD, { tags = { name = "refused" } })
  stampede.sleep(0.01)
end

function idle()
  stampede.sleep(0.5)
end
"""

PROMETHEUS_YML = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: stampede
    static_configs:
      - targets: ["127.0.0.1:{port}"]
"""


class RoutedServer(servers.BackgroundServer):
    """/ok: 200, /missing: 404, /boom: 500 (keep-alive)."""

    STATUS = {b"/ok": b"200 OK", b"/missing": b"404 Not Found",
              b"/boom": b"500 Internal Server Error"}

    async def handle(self, reader, writer):
        while True:
            head = await servers.read_request(reader)
            if head is None:
                return
            self._count_request()
            path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
            status = self.STATUS.get(path, b"404 Not Found")
            writer.write(b"HTTP/1.1 " + status +
                         b"\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n")
            await writer.drain()


def need(tool):
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} not found (apt-get install prometheus; see "
                    "scripts/install-deps.sh)", pytrace=False)
    return path


def http_get(url, timeout=2.0):
    """(status, headers, body text) of a GET on loopback."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8", "replace")


def scrape_while_running(proc, url, limit=30):
    """GET url every 0.25 s while proc runs (at most limit s), then wait for it to exit
    (killed by pid past the limit). Returns (body, headers, root) of the last 200 response
    that had HTTP request counts, root being the status of a GET / right after it; or
    (None, None, None)."""
    body = headers = root_status = None
    root = url.rsplit("/", 1)[0] + "/"
    deadline = time.monotonic() + limit
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.25)
            try:
                status, h, text = http_get(url, 2)
                if status == 200 and "stampede_http_reqs_total{" in text:
                    body, headers = text, h
                    root_status = http_get(root, 2)[0]
            except OSError:
                pass
        proc.wait(max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
    return body, headers, root_status


class Prometheus:
    def __init__(self, workdir, target_port):
        self.dir = Path(workdir)
        self.port = servers.free_port()
        self.target_port = target_port
        self.proc = None
        self.log = self.dir / "prometheus.log"

    def start(self):
        binary = need("prometheus")
        conf = self.dir / "prometheus.yml"
        conf.write_text(PROMETHEUS_YML.replace("{port}", str(self.target_port)))
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [binary, f"--config.file={conf}", f"--storage.tsdb.path={self.dir / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if http_get(f"http://127.0.0.1:{self.port}/-/ready", 1)[0] == 200 and \
                        self.scraping():
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"prometheus did not start scraping\n{self.logs()}", pytrace=False)

    def scraping(self):
        """True once the target has been tried (Prometheus hands new targets to its
        scrape loops up to 5 s after start): the run must not start before, or its
        first seconds are missed."""
        targets = self.api("targets")["activeTargets"]
        return any(t["health"] != "unknown" for t in targets)

    def logs(self):
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None

    def api(self, path, **params):
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        status, _, body = http_get(url, 10)
        doc = json.loads(body)
        assert status == 200 and doc.get("status") == "success", \
            f"{url}: HTTP {status}: {body[:2000]}"
        return doc["data"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Prometheus and one stampede run it scrapes. Yields a dict: summary, scrape (a
    /metrics body taken during the run), headers, root_status (of GET / then), prom,
    start, end (epoch s)."""
    require_binary()
    need("promtool")
    work = tmp_path_factory.mktemp("prometheus")
    endpoint = servers.free_port()
    dead = servers.free_port()  # nothing listens there: connection refused
    prom = Prometheus(work, endpoint).start()
    try:
        with RoutedServer() as target:
            yield _run(work, endpoint, dead, target, prom)
    finally:
        prom.stop()


def _run(work, endpoint, dead, target, prom):
    script = work / "load.lua"
    script.write_text(SCRIPT)
    export = work / "summary.json"
    argv = [BIN, "run", str(script), "--quiet", "--summary-export", str(export),
            "--out", f"prometheus=127.0.0.1:{endpoint}",
            "-e", f"BASE_URL={target.url}", "-e", f"DEAD_URL=http://127.0.0.1:{dead}/"]
    out = {"prom": prom, "start": time.time()}
    with open(work / "stdout", "wb") as so, open(work / "stderr", "wb") as se:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=so, stderr=se)
        out["scrape"], out["headers"], out["root_status"] = scrape_while_running(
            proc, f"http://127.0.0.1:{endpoint}/metrics")
    out["end"] = time.time()
    text = ((work / "stdout").read_text(errors="replace")[-2000:] +
            (work / "stderr").read_text(errors="replace")[-2000:])
    assert proc.returncode == 0, f"stampede exited {proc.returncode}\n{text}"
    out["summary"] = read_summary(export)
    return out


# --------------------------------------------------------------------------------------
# 1. the exposition, linted by promtool
# --------------------------------------------------------------------------------------
def test_scrape_during_the_run_passes_promtool(run):
    body = run["scrape"]
    assert body, "no /metrics scrape with stampede_http_reqs_total succeeded during the run"
    assert run["headers"]["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert run["root_status"] == 404, "GET / is not a 404"
    p = subprocess.run([need("promtool"), "check", "metrics"], input=body.encode(),
                       capture_output=True, timeout=30)
    assert p.returncode == 0 and not p.stdout.strip(), \
        f"promtool check metrics: rc {p.returncode}\n{p.stdout.decode()}{p.stderr.decode()}"
    # what the page promises: the families, typed, and per-series labels from the tags
    for family, kind in (("stampede_http_reqs_total", "counter"),
                         ("stampede_http_req_duration_seconds", "histogram"),
                         ("stampede_http_req_failed_nonzero_total", "counter"),
                         ("stampede_http_req_failed_samples_total", "counter"),
                         ("stampede_data_sent_bytes_total", "counter"),
                         ("stampede_vus", "gauge"), ("stampede_vus_max", "gauge")):
        assert f"# TYPE {family} {kind}\n" in body, f"{family} {kind} missing:\n{body[:3000]}"
    assert re.search(r'^stampede_http_req_duration_seconds_bucket\{[^}]*name="boom"[^}]*'
                     r'le="\+Inf"\} \d+$', body, re.M), body[:3000]
    assert re.search(r'^stampede_http_reqs_total\{[^}]*error_code="1212"[^}]*\} \d+$',
                     body, re.M), body[:3000]


# --------------------------------------------------------------------------------------
# 2. a real Prometheus scrapes the run
# --------------------------------------------------------------------------------------
def test_prometheus_total_matches_the_summary(run):
    prom = run["prom"]
    expected = metric(run["summary"], "http_reqs")["count"]
    assert expected > 0
    data = prom.api("query", time=time.time(), query=
                    'sum(max_over_time(stampede_http_reqs_total{job="stampede"}[5m]))')
    assert data["result"], f"Prometheus has no stampede_http_reqs_total\n{prom.logs()}"
    got = float(data["result"][0]["value"][1])
    assert got == expected, f"Prometheus says {got} requests, the summary {expected}"
    # the latency histogram counted every request too
    data = prom.api("query", time=time.time(), query='sum(max_over_time('
                    'stampede_http_req_duration_seconds_count{job="stampede"}[5m]))')
    assert float(data["result"][0]["value"][1]) == expected
    # and the per-endpoint split adds up: each name got the same number of iterations
    data = prom.api("query", time=time.time(), query=
                    'sum by (name) (max_over_time(stampede_http_reqs_total{job="stampede"}[5m]))')
    per_name = {r["metric"].get("name"): float(r["value"][1]) for r in data["result"]}
    assert set(per_name) == set(NAMES), per_name
    assert sum(per_name.values()) == expected


# --------------------------------------------------------------------------------------
# 3. every query of the Grafana dashboard returns data
# --------------------------------------------------------------------------------------
def dashboard_targets(dash):
    def walk(panels):
        for p in panels:
            yield p
            yield from walk(p.get("panels", []))
    for p in walk(dash["panels"]):
        for t in p.get("targets", []):
            yield p, t


def substitute(expr, name=".*"):
    for var, value in (("$__rate_interval", "5s"), ("$__range", "5m"), ("$__interval", "1s"),
                       ("$scenario", ".*"), ("$name", name), ("$slo", "0.5")):
        expr = expr.replace(var, value).replace("${" + var[1:] + "}", value)
    assert "$" not in expr, f"unsubstituted variable in {expr}"
    return expr


def finite_points(data):
    return [v for series in data["result"] for _, v in series["values"]
            if v not in ("NaN", "+Inf", "-Inf")]


def query_range(run, expr):
    return run["prom"].api("query_range", query=expr, start=run["start"] - 2,
                           end=run["end"] + 2, step="1s")


def test_dashboard_is_valid_grafana_json():
    dash = json.loads(DASHBOARD.read_text())
    assert dash["uid"] and dash["title"] and dash["schemaVersion"] >= 36
    panels = dash["panels"]
    assert len({p["id"] for p in panels}) == len(panels), "duplicate panel ids"
    assert any(True for _ in dashboard_targets(dash)), "no panel has a query"
    variables = {v["name"] for v in dash["templating"]["list"]}
    assert {"datasource", "scenario", "name", "slo"} <= variables
    assert any(p.get("repeat") == "name" for p in panels), "no per-endpoint row"
    for root in (ROOT / "deploy" / "grafana" / "provisioning").rglob("*.yaml"):
        assert "apiVersion: 1" in root.read_text(), root


def test_every_dashboard_query_returns_data(run):
    dash = json.loads(DASHBOARD.read_text())
    empty = []
    for panel, target in dashboard_targets(dash):
        expr = substitute(target["expr"])
        if not finite_points(query_range(run, expr)):
            empty.append(f'{panel["title"]!r}: {expr}')
    assert not empty, "dashboard queries without data:\n" + "\n".join(empty)


def test_per_endpoint_rows_have_data_for_every_name(run):
    dash = json.loads(DASHBOARD.read_text())
    requests_by_status = [t["expr"] for p, t in dashboard_targets(dash)
                          if p["title"] == "Requests by status"]
    assert requests_by_status
    for name in NAMES:
        data = query_range(run, substitute(requests_by_status[0], name=name))
        assert finite_points(data), f"no requests for name={name}"


# --------------------------------------------------------------------------------------
# the address: loopback only, errors before any load
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("arg, says", [
    ("10.1.2.3:9090", "is not a loopback address"),
    ("0.0.0.0:9090", "is not a loopback address"),
    ("127.0.0.1", "is not an address and port"),
    ("127.0.0.1:0", "is not a port"),
    ("::1:9090", "in brackets"),
    ("127.0.0.1: 19465", "is not a port"),
    ("127.0.0.1:+19465", "is not a port"),
    ("127.0.0.1:019465", "is not a port"),
])
def test_bad_address_is_exit_104(stampede, counting_server, arg, says):
    r = stampede("run", "--url", counting_server.url, "-d", "1s", "-q",
                 "--out", f"prometheus={arg}", expect=104)
    assert says in r.stderr and f"--out prometheus={arg}" in r.stderr, r
    assert counting_server.requests == 0, "load was sent despite the bad --out"


def test_port_in_use_is_exit_104(stampede, counting_server):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = stampede("run", "--url", counting_server.url, "-d", "1s", "-q",
                     "--out", f"prometheus=127.0.0.1:{port}", expect=104)
    assert "cannot listen on" in r.stderr and "in use" in r.stderr, r


def test_ipv6_loopback_endpoint(require_ipv6, counting_server):
    require_binary()
    port = servers.free_port(ipv6=True)
    proc = subprocess.Popen([BIN, "run", "--url", counting_server.url, "-d", "2s", "-q",
                             "--out", f"prometheus=[::1]:{port}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    body, _, _ = scrape_while_running(proc, f"http://[::1]:{port}/metrics", limit=20)
    assert proc.returncode == 0, proc.stderr.read().decode(errors="replace")
    assert body, "no scrape over [::1] succeeded during the run"


# --------------------------------------------------------------------------------------
# slow clients: served at once, they cannot delay a scrape
# --------------------------------------------------------------------------------------
def closed_by_server(sock):
    """True when the server has closed (or reset) sock; False while it waits for more."""
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_slow_clients_do_not_delay_a_scrape(counting_server):
    """Four slowloris clients trickle a request head, one byte every 0.3 s; a scrape sent
    meanwhile is answered while the server still waits for them (each has 2 s to send its
    request). Served one connection at a time, the scrape would wait for each of them to
    time out in turn, past the end of the 3 s run."""
    require_binary()
    port = servers.free_port()
    proc = subprocess.Popen([BIN, "run", "--url", counting_server.url, "-d", "3s", "-q",
                             "--out", f"prometheus=127.0.0.1:{port}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    slow, stop = [], threading.Event()

    def trickle():
        head = b"GET /metrics HTTP/1.1\r\nX-Slow: " + b"a" * 100
        for i in range(len(head)):
            for s in slow:
                try:
                    s.send(head[i:i + 1])
                except OSError:
                    pass
            if stop.wait(0.3):
                return

    trickler = threading.Thread(target=trickle, daemon=True)
    try:
        assert servers.wait_port("127.0.0.1", port, 10, proc), "the endpoint never listened"
        slow.extend(socket.create_connection(("127.0.0.1", port), timeout=5)
                    for _ in range(4))
        trickler.start()
        time.sleep(0.4)  # the slow clients are connected and trickling
        start = time.monotonic()
        try:
            status, _, body = http_get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        except OSError as e:
            pytest.fail(f"the scrape failed behind the slow clients: {e!r}")
        elapsed = time.monotonic() - start
        closed = [closed_by_server(s) for s in slow]
        assert status == 200 and "# TYPE stampede_vus gauge" in body, (status, body[:500])
        assert not any(closed), \
            f"the scrape was answered only after the server gave up on slow clients " \
            f"({closed}, {elapsed:.2f} s)"
    finally:
        stop.set()
        if trickler.is_alive():
            trickler.join(5)
        for s in slow:
            s.close()
        try:
            proc.wait(20)
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)
    assert proc.returncode == 0, proc.stderr.read().decode(errors="replace")
