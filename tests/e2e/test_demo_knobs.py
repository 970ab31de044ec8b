"""`stampede serve-demo`: every knob does what docs/demo.md says, measured from outside.

Timing assertions are deliberately loose (shared 2-core CI machines): they check the effect
of a knob (tens or hundreds of milliseconds, factors of several), never a few percent.
Counters (queries, cache loads, responses) are checked exactly.
"""

import http.client
import statistics
import threading
import time

from accounting import assert_accounting, scheduled_arrivals
from conftest import metric
from demo_fixtures import demo_server  # noqa: F401


def load(stampede, server, path, *args, timeout=60):
    """`stampede run` against the demo server; returns the parsed summary."""
    return stampede.load(server.url_for(path), "--threads", "1", *args, timeout=timeout).summary


def med_ms(summary, name="http_req_duration"):
    return metric(summary, name)["med"]


def timed_get(server, path, conn=None):
    """(seconds, status, body) of one GET."""
    start = time.monotonic()
    status, _, body = server.get(path, conn=conn)
    return time.monotonic() - start, status, body


# --------------------------------------------------------------------------------------
# --query-latency, --workers, --queue
# --------------------------------------------------------------------------------------
def test_latency_rises_with_query_latency(stampede, demo_server):
    s = demo_server()
    fast = load(stampede, s, "/api/products/1", "--vus", "2", "--iterations", "200")
    meds = {}
    for q in (10, 40):
        s.admin(query_latency=f"{q}ms")
        meds[q] = med_ms(load(stampede, s, "/api/products/1", "--vus", "2",
                              "--iterations", "30"))
    assert med_ms(fast) < 5, fast
    assert 10 <= meds[10] < 10 + 25, meds
    assert 40 <= meds[40] < 40 + 25, meds
    assert meds[40] - meds[10] > 20, meds


def test_four_workers_at_10ms_cap_good_responses_near_400_per_second(stampede, demo_server):
    s = demo_server("--workers", "4", "--query-latency", "10ms", "--queue", "100")
    subs = ("--threshold", "http_reqs{status:200}: count>=0",
            "--threshold", "http_req_duration{status:200}: p(50)>=0")

    under = load(stampede, s, "/api/products/1", "--rate", "200", "--duration", "2s", *subs)
    before = s.metrics()
    over = load(stampede, s, "/api/products/1", "--rate", "800", "--duration", "4s", *subs)
    after = s.metrics()

    # below capacity: everything good, latency ~ one query
    assert metric(under, "http_reqs{status:200}")["count"] == metric(under, "http_reqs")["count"]
    under_p50 = metric(under, "http_req_duration{status:200}")["med"]
    assert under_p50 < 40, under_p50

    # above capacity: good responses capped near workers / latency = 400/s ...
    seconds = over["state"]["testRunDurationMs"] / 1000
    good = metric(over, "http_reqs{status:200}")["count"]
    assert 300 <= good / seconds <= 420, (good, seconds)
    # ... the excess waits in the queue (latency climbs) or is refused with 503
    over_p50 = metric(over, "http_req_duration{status:200}")["med"]
    assert over_p50 > 100 and over_p50 > 5 * under_p50, (under_p50, over_p50)
    total = metric(over, "http_reqs")["count"]
    refused = after.value("http_requests_total", route="/api/products/{id}", status="503") - \
        before.value("http_requests_total", route="/api/products/{id}", status="503")
    assert refused > 0 and good + refused == total, (good, refused, total)
    served = after.value("http_requests_total", route="/api/products/{id}") - \
        before.value("http_requests_total", route="/api/products/{id}")
    assert_accounting(over, server_count=served, scheduled=scheduled_arrivals(800, "4s"))
    assert after.value("demo_queue_rejected_total") - before.value("demo_queue_rejected_total") \
        == refused


# --------------------------------------------------------------------------------------
# --n-plus-one
# --------------------------------------------------------------------------------------
def order_counts(server, ids):
    counts = {}
    for uid in ids:
        status, body = server.get_json(f"/api/users/{uid}/orders")
        assert status == 200
        counts[uid] = len(body["data"]["orders"])
    return counts


def test_n_plus_one_is_slower_in_proportion_to_the_orders(demo_server):
    s = demo_server("--query-latency", "0")
    counts = order_counts(s, range(1, 121))
    few = min(counts, key=lambda u: counts[u])
    many = max(counts, key=lambda u: counts[u])
    mid = min(counts, key=lambda u: abs(counts[u] - 20))
    assert counts[many] >= 40 and counts[few] <= 5, counts
    q = 0.005
    s.admin(query_latency="5ms")

    def measure(uid, reps=3):
        conn = s.connect()
        before = s.metrics().value("demo_db_queries_total")
        times, bodies = [], set()
        for _ in range(reps):
            t, status, body = timed_get(s, f"/api/users/{uid}/orders", conn=conn)
            assert status == 200
            times.append(t)
            bodies.add(body)
        conn.close()
        queries = s.metrics().value("demo_db_queries_total") - before
        assert len(bodies) == 1
        return statistics.median(times), queries / reps, bodies.pop()

    eager = {u: measure(u) for u in (few, many)}
    s.admin(n_plus_one=True)
    n1 = {u: measure(u) for u in (few, mid, many)}

    # the same answer, one batched query for the orders vs one query per order
    for u in (few, many):
        assert eager[u][2] == n1[u][2]
        assert eager[u][1] == 2
        assert n1[u][1] == 2 + counts[u]
    # eager: flat; N+1: (2 + orders) queries of 5 ms each
    assert eager[many][0] < 2 * q + 0.03, eager
    for u in (few, mid, many):
        want = (2 + counts[u]) * q
        assert 0.9 * want <= n1[u][0] <= 1.5 * want + 0.03, (u, counts[u], n1[u][0], want)
    assert n1[many][0] > 4 * eager[many][0]


# --------------------------------------------------------------------------------------
# --cache-ttl
# --------------------------------------------------------------------------------------
def test_cache_cuts_product_latency_after_warm_up(stampede, demo_server):
    s = demo_server("--query-latency", "20ms", "--cache-ttl", "30s")
    m0 = s.metrics()
    cached = load(stampede, s, "/api/products/5", "--vus", "1", "--iterations", "40")
    m1 = s.metrics()
    assert m1.value("demo_cache_loads_total") - m0.value("demo_cache_loads_total") == 1
    assert m1.value("demo_cache_hits_total") - m0.value("demo_cache_hits_total") == 39
    assert m1.value("demo_db_queries_total") - m0.value("demo_db_queries_total") == 1
    assert metric(cached, "http_req_duration")["max"] >= 19, "the first read was not a miss"

    s.admin(cache_ttl="0")
    uncached = load(stampede, s, "/api/products/5", "--vus", "1", "--iterations", "10")
    assert med_ms(uncached) >= 19
    assert med_ms(cached) < 5 and med_ms(cached) * 4 < med_ms(uncached), (cached, uncached)

    # a TTL: the value is loaded again once it expired
    s.admin(cache_ttl="300ms")
    loads = s.metrics().value("demo_cache_loads_total")
    for _ in range(3):
        assert s.get("/api/products/6")[0] == 200
    assert s.metrics().value("demo_cache_loads_total") - loads == 1
    time.sleep(0.4)
    assert s.get("/api/products/6")[0] == 200
    assert s.metrics().value("demo_cache_loads_total") - loads == 2


def test_a_burst_on_a_cold_key_causes_one_load(demo_server):
    n = 16
    s = demo_server("--workers", str(n), "--query-latency", "300ms", "--cache-ttl", "1m")
    before = s.metrics()
    conns = [s.connect(timeout=10) for _ in range(n)]
    for c in conns:
        c.connect()
    barrier = threading.Barrier(n)
    results = [None] * n

    def one(i):
        barrier.wait()
        conns[i].request("GET", "/api/products/77")
        r = conns[i].getresponse()
        results[i] = (r.status, r.read())

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    elapsed = time.monotonic() - start
    for c in conns:
        c.close()
    after = s.metrics()

    assert all(r is not None and r[0] == 200 for r in results), results
    assert len({r[1] for r in results}) == 1
    delta = {k: after.value(k) - before.value(k) for k in (
        "demo_cache_loads_total", "demo_db_queries_total", "demo_cache_coalesced_total",
        "demo_cache_hits_total", "demo_cache_misses_total")}
    assert delta["demo_cache_loads_total"] == 1, delta
    assert delta["demo_db_queries_total"] == 1, delta
    assert delta["demo_cache_coalesced_total"] + delta["demo_cache_hits_total"] == n - 1, delta
    assert delta["demo_cache_coalesced_total"] >= n // 2, delta  # they did wait together
    assert elapsed < 2.0, f"the burst took {elapsed:.2f}s: requests were not coalesced"


# --------------------------------------------------------------------------------------
# --leak-bytes
# --------------------------------------------------------------------------------------
def test_leak_grows_rss_in_proportion_to_requests(stampede, demo_server):
    leak = 100_000
    s = demo_server("--leak-bytes", "0")
    load(stampede, s, "/api/products/1", "--vus", "4", "--iterations", "300")  # warm-up
    rss0 = s.rss_bytes()
    load(stampede, s, "/api/products/1", "--vus", "4", "--iterations", "300")
    control = s.rss_bytes() - rss0

    s.admin(leak_bytes=leak)
    growth = []
    for n in (200, 400):
        rss = s.rss_bytes()
        load(stampede, s, "/api/products/1", "--vus", "4", "--iterations", str(n))
        growth.append((n, s.rss_bytes() - rss))
    assert control < 4e6, f"RSS grew {control} bytes without a leak"
    for n, g in growth:
        assert 0.8 * n * leak <= g <= 1.3 * n * leak + 4e6, (n, g, growth)
    ratio = growth[1][1] / growth[0][1]
    assert 1.5 <= ratio <= 2.6, growth
    assert s.metrics().value("demo_leaked_bytes_total") == 600 * leak
    # the server's own gauge sees it too
    assert s.metrics().value("process_resident_memory_bytes") >= 600 * leak


# --------------------------------------------------------------------------------------
# --stall
# --------------------------------------------------------------------------------------
def test_stall_stops_the_server_periodically(demo_server):
    s = demo_server()
    s.admin(stall="2s:600ms")  # the schedule starts now: stalls at +2.0 s and +4.0 s
    t0 = time.monotonic()
    conn = http.client.HTTPConnection(s.host, s.port, timeout=10)
    samples = []  # (start, latency)
    while time.monotonic() - t0 < 5.0:
        start = time.monotonic()
        conn.request("GET", "/health")
        r = conn.getresponse()
        r.read()
        assert r.status == 200
        samples.append((start - t0, time.monotonic() - start))
        time.sleep(0.01)
    conn.close()
    stalled = [(st, st + lat) for st, lat in samples if lat > 0.3]
    normal = [lat for _, lat in samples if lat <= 0.3]
    # each window holds the request in flight until it ends, at +2.6 s and +4.6 s
    for end in (2.6, 4.6):
        held = [(a, b) for a, b in stalled if abs(b - end) < 0.25]
        assert held, f"no request was held until {end} s: {stalled}"
        assert any(b - a >= 0.4 for a, b in held), held
    assert len(stalled) <= 4, f"more stalls than scheduled: {stalled}"
    assert all(1.3 <= a <= 2.7 or 3.3 <= a <= 4.7 for a, _ in stalled), stalled
    assert statistics.median(normal) < 0.02, statistics.median(normal)


# --------------------------------------------------------------------------------------
# --error-rate, --cpu-us
# --------------------------------------------------------------------------------------
def test_error_rate_injects_500s(stampede, demo_server):
    s = demo_server("--error-rate", "0.3")
    r = load(stampede, s, "/api/products/1", "--vus", "4", "--iterations", "1000",
             "--threshold", "http_reqs{status:500}: count>=0")
    errors = metric(r, "http_reqs{status:500}")["count"]
    assert 230 <= errors <= 370, errors
    m = s.metrics()
    assert m.value("demo_injected_errors_total") == errors
    assert m.value("http_requests_total", route="/api/products/{id}", status="500") == errors
    # the cheap endpoints are never failed
    h = load(stampede, s, "/health", "--vus", "2", "--iterations", "200")
    assert metric(h, "http_req_failed")["passes"] == 0


def test_cpu_us_burns_cpu_per_request(stampede, demo_server):
    s = demo_server("--cpu-us", "3000")
    cpu0 = s.metrics().value("process_cpu_seconds_total")
    r = load(stampede, s, "/api/products/1", "--vus", "1", "--iterations", "200")
    cpu = s.metrics().value("process_cpu_seconds_total") - cpu0
    assert cpu >= 0.9 * 200 * 0.003, cpu
    assert med_ms(r) >= 2.9, metric(r, "http_req_duration")


# --------------------------------------------------------------------------------------
# /metrics
# --------------------------------------------------------------------------------------
def test_metrics_counts_equal_the_requests_sent(stampede, demo_server):
    s = demo_server("--workers", "4")
    sent = {}
    r = load(stampede, s, "/api/products/3", "--vus", "8", "--iterations", "500")
    sent[("GET", "/api/products/{id}", "200")] = metric(r, "http_reqs")["count"]
    r = load(stampede, s, "/health", "--vus", "4", "--iterations", "300")
    sent[("GET", "/health", "200")] = metric(r, "http_reqs")["count"]
    r = load(stampede, s, "/api/products/99999", "--vus", "2", "--iterations", "40")
    sent[("GET", "/api/products/{id}", "404")] = metric(r, "http_reqs")["count"]
    for _ in range(3):
        assert s.get("/no/such/path")[0] == 404
    sent[("GET", "unmatched", "404")] = 3
    for _ in range(2):
        assert s.request("DELETE", "/api/orders")[0] == 405
    sent[("DELETE", "/api/orders", "405")] = 2
    token = s.token(9)  # one login
    sent[("POST", "/api/auth/login", "200")] = 1
    r = load(stampede, s, "/api/orders", "--vus", "2", "--iterations", "50", "-X", "POST",
             "-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/json",
             "--body", '{"productId": 5, "quantity": 1, "shippingAddress": "x"}')
    sent[("POST", "/api/orders", "201")] = metric(r, "http_reqs")["count"]

    m = s.metrics()
    got = {(lab["method"], lab["route"], lab["status"]): v
           for lab, v in m.series("http_requests_total")}
    assert got == sent, (got, sent)
    assert sent[("GET", "/api/products/{id}", "200")] == 500
    # histogram counts agree with the counters, and buckets are cumulative
    for (method, route) in {(k[0], k[1]) for k in sent}:
        total = sum(v for k, v in sent.items() if k[:2] == (method, route))
        assert m.value("http_request_duration_seconds_count", method=method,
                       route=route) == total
        buckets = [(lab["le"], v) for lab, v in m.series("http_request_duration_seconds_bucket")
                   if lab["method"] == method and lab["route"] == route]
        assert buckets[-1] == ("+Inf", total)
        assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))
    assert m.types["http_requests_total"] == "counter"
    assert m.types["http_request_duration_seconds"] == "histogram"
    # the scrape counts itself in the next one
    assert s.metrics().value("http_requests_total", route="/metrics") == 1
