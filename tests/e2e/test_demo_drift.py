"""`stampede serve-demo --latency-drift AMOUNT[/PERIOD]`: every API request waits AMOUNT
more per PERIOD (default a minute) since the start or the last change (docs/demo.md).

No timing assertions: the server reports the latency it adds (the gauge
demo_latency_drift_seconds, and demo_latency_drift_added_seconds_total summed over the
requests), and every check brackets it between what the test's own monotonic clock allows:
the drift starts after the test launched the server (or sent the POST) and before it saw the
"listening" line (or the POST's answer). A client-measured latency is only checked against a
lower bound (the server never sleeps less than it says), and "ahead of" checks leave a
margin of a second.
"""

import threading
import time

import pytest

from conftest import EXIT_CONFIG
from demo_fixtures import demo_server  # noqa: F401

SLACK = 2e-5  # the exposition rounds to 1 µs and the server truncates to whole µs


def started(demo_server, *args):
    """(server, earliest, latest): the monotonic times between which its drift began."""
    before = time.monotonic()
    s = demo_server(*args)
    return s, before, time.monotonic()


def gauge(s):
    """(drift the server reports now, in seconds, t_sent, t_answered)."""
    sent = time.monotonic()
    value = s.metrics().value("demo_latency_drift_seconds")
    return value, sent, time.monotonic()


def added_total(s):
    return s.metrics().value("demo_latency_drift_added_seconds_total")


def assert_between(value, slope, since, earliest, latest, at_sent, at_answered):
    """value (s) = slope (s of drift per s) × the time since a start in [earliest, latest]
    measured at a moment in [at_sent, at_answered]."""
    low = max(0.0, slope * (at_sent - latest))
    high = slope * (at_answered - earliest)
    assert low - SLACK <= value <= high + SLACK, (since, low, value, high)


# --------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------
def test_help_documents_the_flag_its_period_and_cap(stampede):
    out = stampede("serve-demo", "--help", expect=0).stdout
    assert "--latency-drift D[/P]" in out
    assert "per minute" in out and "50ms/2s" in out and "up to 10s" in out


@pytest.mark.parametrize("value", ["fast", "11s", "-1ms", "1ms/0", "1ms/500us", "1ms/2d",
                                   "/1s", "2ms/", "1ms/fortnight", "1ms/min/2", "2ms/min:1"])
def test_bad_values_exit_104_naming_the_flag(stampede, value):
    r = stampede("serve-demo", "--latency-drift", value, expect=EXIT_CONFIG, timeout=10)
    assert f"invalid --latency-drift '{value}'" in r.stderr, r
    assert "AMOUNT" in r.stderr, r
    assert r.stdout == "", r


def test_missing_value_exits_104(stampede):
    r = stampede("serve-demo", "--latency-drift", expect=EXIT_CONFIG, timeout=10)
    assert "--latency-drift" in r.stderr and "needs a value" in r.stderr, r


# --------------------------------------------------------------------------------------
# the drift, from the flag
# --------------------------------------------------------------------------------------
def test_default_period_is_a_minute_and_nothing_drifts_without_the_flag(demo_server):
    s, earliest, latest = started(demo_server, "--latency-drift", "2ms")
    assert s.get_json("/admin/config")[1]["latency_drift"] == "2ms/min"
    time.sleep(0.5)
    value, a, b = gauge(s)
    assert value > 0
    assert_between(value, 0.002 / 60, "2ms per minute", earliest, latest, a, b)

    plain = demo_server()
    assert plain.get_json("/admin/config")[1]["latency_drift"] == "0"
    assert plain.get("/api/products/1")[0] == 200
    m = plain.metrics()
    assert m.value("demo_latency_drift_seconds") == 0
    assert m.value("demo_latency_drift_added_seconds_total") == 0
    assert m.types["demo_latency_drift_seconds"] == "gauge"
    assert m.types["demo_latency_drift_added_seconds_total"] == "counter"


def test_every_api_request_is_slower_by_the_drift_and_it_grows(demo_server):
    slope = 0.050 / 2  # 50ms/2s
    s, earliest, latest = started(demo_server, "--latency-drift", "50ms/2s",
                                  "--query-latency", "0")
    conn = s.connect()
    added = []
    for i in range(4):
        time.sleep(0.4)
        total = added_total(s)
        sent = time.monotonic()
        status, _, _ = s.get("/api/products/1", conn=conn)
        answered = time.monotonic()
        assert status == 200
        drift = added_total(s) - total  # this request's drift, as the server added it
        # the worker computed it between the send and the answer ...
        assert_between(drift, slope, f"request {i}", earliest, latest, sent, answered)
        # ... and waited at least that long (sleeps never end early)
        assert answered - sent >= drift - SLACK, (answered - sent, drift)
        added.append(drift)
        value, a, b = gauge(s)
        assert_between(value, slope, f"gauge {i}", earliest, latest, a, b)
    conn.close()
    # each request waited longer than the one before: at least 0.4 s × slope = 10 ms more
    assert all(later - earlier >= 0.4 * slope - SLACK
               for earlier, later in zip(added, added[1:])), added


def test_front_end_routes_are_not_delayed_and_the_cap_holds(demo_server):
    s, _, _ = started(demo_server, "--latency-drift", "2s/1s", "--query-latency", "0")
    time.sleep(1.0)
    result = {}

    def api():
        result["status"] = s.get("/api/products/1", timeout=20)[0]
        result["done"] = time.monotonic()

    t = threading.Thread(target=api)
    t.start()
    time.sleep(0.1)
    health = s.get("/health")[0]
    value = s.metrics().value("demo_latency_drift_seconds")
    health_done = time.monotonic()
    t.join(30)
    assert health == 200 and result.get("status") == 200, result
    # the API request waited at least 2 s; /health and /metrics, served by the front end
    # while that worker slept, answered long before it
    assert value >= 2.2 - SLACK
    assert result["done"] - health_done > 1.0, (result["done"], health_done)

    # a drift that would reach hours is held at 10 s per request
    s.admin(latency_drift="10s/1ms")
    time.sleep(0.05)
    assert s.metrics().value("demo_latency_drift_seconds") == 10
    s.admin(latency_drift="off")


# --------------------------------------------------------------------------------------
# the drift, at run time
# --------------------------------------------------------------------------------------
def test_set_at_run_time_it_starts_from_nothing_and_off_stops_it(demo_server):
    s = demo_server("--query-latency", "0")
    assert gauge(s)[0] == 0
    time.sleep(0.3)  # uptime that must not count once the knob is set

    earliest = time.monotonic()
    cfg = s.admin(latency_drift="6ms/100ms")
    latest = time.monotonic()
    assert cfg["latency_drift"] == "6ms/100ms"
    time.sleep(0.3)
    value, a, b = gauge(s)
    assert value > 0
    assert_between(value, 0.006 / 0.1, "since the POST", earliest, latest, a, b)

    # hyphenated name, the same value: no change, the drift keeps growing
    assert s.admin(**{"latency-drift": "6ms/100ms"})["latency_drift"] == "6ms/100ms"
    value2, a, b = gauge(s)
    assert value2 > value
    assert_between(value2, 0.006 / 0.1, "unchanged", earliest, latest, a, b)

    assert s.admin(latency_drift=None)["latency_drift"] == "0"
    total = added_total(s)
    assert s.get("/api/products/1")[0] == 200
    assert gauge(s)[0] == 0
    assert added_total(s) == total, "off: nothing added"


@pytest.mark.parametrize("value", ["11s", "1ms/0", "fast", "1ms/min/2"])
def test_bad_runtime_values_are_refused_and_change_nothing(demo_server, value):
    s = demo_server("--latency-drift", "2ms/10s")
    before = s.get_json("/admin/config")[1]
    status, body = s.post_json("/admin/config", {"latency_drift": value, "cpu_us": 5})
    assert status == 400, body
    assert "latency_drift" in body["error"] and "AMOUNT" in body["error"], body
    assert s.get_json("/admin/config")[1] == before
