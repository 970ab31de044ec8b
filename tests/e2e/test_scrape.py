"""--scrape URL (issue #12): the target's own Prometheus endpoint, read each second into
target_* metrics; counters per request (the N+1 detector), the per_request threshold, and
what happens when the endpoint is wrong, serves garbage or goes away.

One `serve-demo --n-plus-one --query-latency 0` per module, on loopback, started and
stopped here (its N+1 knob is switched off over /admin/config for the eager case); the
bad endpoint is a python http.server on loopback. Loads are 2-4 s at low rates; the
figures asserted are counts (queries per request), not timings.
"""

import http.server
import json
import socket
import sys
import threading

import pytest

from conftest import BIN
from demo_fixtures import DemoServer, user_with_most_orders

EXIT_OK, EXIT_THRESHOLDS, EXIT_INVALID = 0, 99, 104
QUERIES = "target_demo_db_queries_total"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    s = DemoServer(["--n-plus-one", "--query-latency", "0"], tmp_path_factory.mktemp("demo"))
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def user(demo):
    """(id, N): a user with several orders, N read from the demo's own answer."""
    return user_with_most_orders(demo, 1, 39)


def result(r):
    with open(r.export) as f:
        return json.load(f)


def scrape_entry(doc, url):
    entries = doc["analyses"]["monitor"]["scrape"]
    return next(e for e in entries if e["url"] == url)


def load_user(stampede, demo, uid, *args, expect=EXIT_OK, duration="2s"):
    return stampede.load(f"{demo.url}/api/users/{uid}/orders", "--rate", "50", "--duration",
                         duration, "--scrape", f"{demo.url}/metrics", *args, expect=expect,
                         timeout=60)


def test_n_plus_one_is_one_query_per_order_per_request(stampede, demo, user):
    """With --n-plus-one, the endpoint runs 2 + N queries (the user, the order ids, then one
    per order): measured from outside as the scraped counter over http_reqs."""
    uid, n = user
    demo.admin(n_plus_one=True)
    r = load_user(stampede, demo, uid, "--threshold", f"{QUERIES}: per_request<{n + 2.5}",
                  "--threshold", f"{QUERIES}: per_request>{n + 1.5}")
    doc = result(r)
    e = scrape_entry(doc, f"{demo.url}/metrics")
    reqs = doc["metrics"]["http_reqs"]["values"]["count"]
    assert reqs >= 50, reqs
    assert e["perRequest"][QUERIES] == pytest.approx(n + 2, rel=0.01), e
    assert e["counters"][QUERIES] == pytest.approx((n + 2) * reqs, rel=0.01)
    assert e["failedScrapes"] == 0 and e["okScrapes"] >= 3 and e["lastError"] is None, e
    assert [t["value"] for t in doc["thresholds"]] == [pytest.approx(n + 2, rel=0.01)] * 2
    assert all(t["ok"] and t["stat"] == "per_request" for t in doc["thresholds"])
    m = doc["metrics"][QUERIES]
    assert m["type"] == "counter" and m["values"]["count"] == e["counters"][QUERIES]
    assert len(m["timeseries"]["points"]) >= 2  # per second
    assert doc["metrics"]["target_demo_workers"]["type"] == "gauge"
    assert doc["metrics"]["target_demo_workers"]["values"]["value"] == 4
    assert doc["options"]["monitor"]["scrape"] == [f"{demo.url}/metrics"]
    assert doc["analyses"]["monitor"]["target"] is None  # --scrape alone: no pid watched


def test_eager_is_two_queries_and_a_failing_per_request_threshold_exits_99(
        stampede, demo, user):
    uid, n = user
    demo.admin(n_plus_one=False)
    try:
        r = load_user(stampede, demo, uid, "--threshold", f"{QUERIES}: per_request<2",
                      expect=EXIT_THRESHOLDS)
    finally:
        demo.admin(n_plus_one=True)
    doc = result(r)
    assert scrape_entry(doc, f"{demo.url}/metrics")["perRequest"][QUERIES] == \
        pytest.approx(2, rel=0.01)
    t = doc["thresholds"][0]
    assert not t["ok"] and t["value"] == pytest.approx(2, rel=0.01), t


def test_per_request_applies_to_counters_only(stampede, demo):
    r = stampede("run", "--url", f"{demo.url}/api/products/1", "--rate", "10", "-d", "1s",
                 "-q", "--scrape", f"{demo.url}/metrics", "--threshold",
                 "target_demo_workers: per_request<1", expect=EXIT_INVALID)
    assert "'per_request' does not apply to a gauge metric" in r.stderr, r.stderr


def test_unreachable_or_wrong_url_is_refused_at_start(stampede, demo, free_port):
    """Nothing could be registered: the run does not start, and says why."""
    url = f"http://127.0.0.1:{free_port}/metrics"
    r = stampede("run", "--url", f"{demo.url}/api/products/1", "-d", "1s", "-q",
                 "--scrape", url, expect=EXIT_INVALID)
    assert f"--scrape {url}:" in r.stderr and "connect" in r.stderr.lower(), r.stderr
    r = stampede("run", "--url", f"{demo.url}/api/products/1", "-d", "1s", "-q",
                 "--scrape", f"{demo.url}/api/products/1", expect=EXIT_INVALID)
    assert "no Prometheus sample" in r.stderr, r.stderr
    r = stampede("run", "--url", f"{demo.url}/api/products/1", "-d", "1s", "-q",
                 "--scrape", f"{demo.url}/nothing-here", expect=EXIT_INVALID)
    assert "HTTP status 404" in r.stderr, r.stderr
    r = stampede("run", "--url", f"{demo.url}/api/products/1", "-d", "1s", "-q",
                 "--scrape", "ftp://127.0.0.1/metrics", expect=EXIT_INVALID)
    assert "invalid --scrape" in r.stderr, r.stderr


class Flaky(http.server.BaseHTTPRequestHandler):
    """Good metrics for the probe and the baseline, then garbage, then a body over the
    4 MiB cap, then the server goes away."""
    count = 0
    server_ref = None

    def do_GET(self):  # noqa: N802
        cls = type(self)
        cls.count += 1
        n = cls.count
        if n <= 2:
            body = b"# TYPE flaky_things_total counter\nflaky_things_total %d\n" % (10 * n)
        elif n == 3:
            body = b"\x00\xff<html>garbage {{{ not metrics\n" * 20
        else:
            body = b"# " + b"x" * (5 << 20) + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if n >= 4:  # then the target goes away
            threading.Thread(target=cls.server_ref.shutdown, daemon=True).start()

    def log_message(self, *a):
        pass


def test_garbage_oversize_and_a_vanished_endpoint_are_counted_not_fatal(
        stampede, demo, user):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    Flaky.server_ref, Flaky.count = srv, 0
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    flaky = f"http://127.0.0.1:{srv.server_address[1]}/metrics"
    try:
        r = load_user(stampede, demo, user[0], "--scrape", flaky, duration="4s")
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(5)
    doc = result(r)
    e = scrape_entry(doc, flaky)
    assert e["okScrapes"] == 2, e
    assert e["failedScrapes"] >= 3, e  # garbage, oversize, then refused connections
    assert e["lastError"], e
    assert e["counters"]["target_flaky_things_total"] == 0, e
    # the demo's endpoint, scraped in the same run, is unaffected; two URLs: instance tags
    d = scrape_entry(doc, f"{demo.url}/metrics")
    assert d["perRequest"][QUERIES] == pytest.approx(user[1] + 2, rel=0.01), d
    assert d["instance"] == f"127.0.0.1:{demo.port}"
    series = doc["metrics"][QUERIES]["series"]
    assert series[0]["tags"]["instance"] == f"127.0.0.1:{demo.port}", series


def test_families_without_samples_at_start_are_recorded(stampede, free_port):
    """A freshly started demo (--monitor-cmd) declares http_requests_total and
    http_request_duration_seconds by their TYPE lines but has no sample of them until its
    first request: they are registered at the start (a threshold may name them) and
    recorded, the API route's series counting exactly the run's requests."""
    url = f"http://127.0.0.1:{free_port}"
    r = stampede.load(f"{url}/api/products/1", "--rate", "50", "--duration", "3s",
                      "--monitor-cmd", f"{BIN} serve-demo --port {free_port}",
                      "--scrape", f"{url}/metrics",
                      "--threshold", "target_http_requests_total: per_request>0.9",
                      timeout=60)
    doc = result(r)
    e = scrape_entry(doc, f"{url}/metrics")
    reqs = doc["metrics"]["http_reqs"]["values"]["count"]
    assert reqs >= 100, reqs
    assert e["lateFamilies"] == 0 and e["droppedMetrics"] == [], e
    assert e["failedScrapes"] == 0 and e["lastError"] is None, e
    # the scrapes' own requests to /metrics count too: a few per run, not per request
    assert 1 <= e["perRequest"]["target_http_requests_total"] <= 1 + 10 / reqs, e
    assert 1 <= e["perRequest"]["target_http_request_duration_seconds_count"] \
        <= 1 + 10 / reqs, e
    series = doc["metrics"]["target_http_requests_total"]["series"]
    api = [s for s in series if s["tags"]["route"] == "/api/products/{id}"]
    assert len(api) == 1 and api[0]["values"]["count"] == pytest.approx(reqs, rel=0.01), \
        series
    t = doc["thresholds"][0]
    assert t["ok"] and t["value"] == e["perRequest"]["target_http_requests_total"], t


LATE_SERVER = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    probes = 0
    def do_GET(self):
        body, status = b"ok\\n", 200
        if self.path == "/metrics":
            H.probes += 1
            if H.probes <= 3:  # listening, but not serving its metrics yet
                body, status = b"starting\\n", 503
            else:
                body = b"# TYPE late_up gauge\\nlate_up 1\\n"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def test_probe_retries_after_monitor_cmd_are_not_failed_scrapes(stampede, free_port,
                                                                 tmp_path):
    """A target that listens before it serves its metrics: the start-up probe is retried
    (three 503s), and those retries are not failed scrapes of the run."""
    script = tmp_path / "late.py"
    script.write_text(LATE_SERVER)
    url = f"http://127.0.0.1:{free_port}"
    r = stampede.load(f"{url}/", "--rate", "10", "--duration", "2s",
                      "--monitor-cmd", f"{sys.executable} {script} {free_port}",
                      "--scrape", f"{url}/metrics", quiet=False, timeout=60)
    doc = result(r)
    e = scrape_entry(doc, f"{url}/metrics")
    assert e["failedScrapes"] == 0 and e["lastError"] is None, e
    assert e["okScrapes"] >= 3, e  # the probe, the baseline, the last one at least
    scraped = next(line for line in r.stdout.splitlines() if "SCRAPED" in line)
    assert "failed" not in scraped, scraped
    with socket.socket() as s:  # the target was stopped after the run
        assert s.connect_ex(("127.0.0.1", free_port)) != 0


class Hostile(http.server.BaseHTTPRequestHandler):
    """The reviewer's hostile endpoint: a new 256 KiB metric name and a 300-byte label
    value at every scrape; a counter that is +Inf once and NaN once, then restarts lower
    (a reset); a gauge that is NaN once."""
    count = 0

    def do_GET(self):  # noqa: N802
        cls = type(self)
        cls.count += 1
        n = cls.count
        events = {3: "+Inf", 4: "NaN", 5: "3"}.get(n, str(10 * n))
        body = ("# TYPE hostile_events_total counter\nhostile_events_total %s\n"
                "# TYPE hostile_temp gauge\nhostile_temp %s\n"
                "long_%d_%s 1\nhostile_label{v=\"%s\"} 1\n"
                % (events, "NaN" if n == 3 else "20", n, "x" * (256 << 10), "v" * 300))
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *a):
        pass


def serve(handler):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv, t


def test_a_hostile_endpoint_cannot_grow_the_run_or_spoil_its_counters(stampede, demo, user):
    """Names and label values past their caps are dropped and counted, never stored;
    NaN / +Inf samples are skipped and counted: the counter's total stays finite (not
    null), the gauge's min and max too; a counter going down counts from 0 again."""
    Hostile.count = 0
    srv, t = serve(Hostile)
    url = f"http://127.0.0.1:{srv.server_address[1]}/metrics"
    try:
        r = load_user(stampede, demo, user[0], "--scrape", url, duration="4s")
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(5)
    doc = result(r)
    e = scrape_entry(doc, url)
    assert e["failedScrapes"] == 0 and e["okScrapes"] >= 5, e  # n = 5 (the reset) is read
    assert e["droppedLongNames"] == 2, e  # the long name and the long value, each scrape
    assert e["nonFinite"] == 2, e  # the most in one scrape: +Inf and NaN at n = 3
    assert e["droppedSamples"] == 0 and e["droppedSeries"] == 0, e
    assert e["metrics"] == 2 and e["series"] == 2, e
    assert all(len(name) <= 7 + 200 for name in doc["metrics"]), "a long name was stored"
    assert len(r.export.read_bytes()) < 2 << 20
    # baseline 20 (n = 2); +Inf (n = 3) and NaN (n = 4) skipped, the baseline kept; 3 at
    # n = 5 is a reset: +3; then 10 * n at the last scrape (the last request): +10n - 3
    last = Hostile.count
    assert last >= 6, last
    assert e["counters"]["target_hostile_events_total"] == 10 * last, e
    values = doc["metrics"]["target_hostile_temp"]["values"]
    assert all(v == 20 for k, v in values.items() if k in ("value", "min", "max")), values


def test_url_schemes_are_case_insensitive(stampede, demo):
    """RFC 3986 section 3.1: HTTP://... is http://."""
    url = f"HTTP://127.0.0.1:{demo.port}/metrics"
    r = stampede("run", "--url", f"{demo.url}/api/products/1", "-d", "1s", "-q",
                 "--scrape", url, expect=EXIT_OK)
    assert "invalid --scrape" not in r.stderr, r.stderr
