"""The bottleneck verdict (issue #12, analysis/bottleneck.h): the demo's knobs make one
resource run out, and the result names it, with its evidence, in analyses.bottleneck.

Every target is a demo the run starts itself on loopback (--monitor-cmd) and stops after;
each load lasts 5 to 8 s. The assertions are on which resource is named and on accounting
figures (a pool of 4 workers), never on timings of this machine.
"""

import json

from conftest import BIN
from demo_fixtures import demo_server_module  # noqa: F401


def bottleneck(r):
    with open(r.export) as f:
        return json.load(f)["analyses"]["bottleneck"]


def run_demo(stampede, port, demo_args, *load, path="/api/products/1"):
    cmd = f"{BIN} serve-demo --port {port} {demo_args}"
    return stampede.load(f"http://127.0.0.1:{port}{path}", *load, "--monitor-cmd", cmd,
                         timeout=90)


def test_a_pool_of_four_workers_is_named_with_its_size(stampede, free_port):
    # 4 workers x 10 ms per query serve about 390/s; 600/s are offered: requests queue for
    # the workers while the CPU idles
    r = run_demo(stampede, free_port, "--workers 4 --query-latency 10ms",
                 "--rate", "600", "--duration", "8s")
    b = bottleneck(r)
    assert b["verdict"] == "pool", b
    assert b["monitored"] is True
    # Little's law: served/s x the fastest response (10 ms) = at least 4 in service
    assert 3.0 <= b["concurrency"] <= 5.0, b
    assert "worker pool" in b["summary"], b["summary"]
    rows = {row["resource"]: row for row in b["resources"]}
    assert rows["workers/queue (latency)"]["saturated"] is True, rows
    assert rows["target CPU"]["saturated"] is False, rows


def test_cpu_burn_is_cpu_bound(stampede, free_port):
    # 5 ms of CPU per request on 2 CPUs: at most 400/s, and 600/s are offered
    r = run_demo(stampede, free_port, "--cpu-us 5000", "--rate", "600", "--duration", "8s")
    b = bottleneck(r)
    assert b["verdict"] in ("cpu", "generator"), b
    rows = {row["resource"]: row for row in b["resources"]}
    assert rows["target CPU"]["saturated"] is True, rows
    if b["verdict"] == "generator":  # a starved CI machine: said first, the target next
        assert any(e.startswith("CPU:") for e in b["evidence"]), b
    else:
        assert "CPU-bound" in b["summary"], b["summary"]


# (one worker burning CPU, named as one thread's CPU: test_assess_cpu.py, on the
# assessment's breakpoint phase of the same demo)


def test_max_connections_is_connection_bound(stampede, free_port):
    # 400/s x 50 ms = 20 requests in flight against a limit of 10 connections: the demo
    # answers the others 503 at once, with its CPU idle
    r = run_demo(stampede, free_port, "--max-connections 10 --query-latency 50ms",
                 "--rate", "400", "--vus", "40", "--max-vus", "40", "--duration", "5s")
    b = bottleneck(r)
    assert b["verdict"] == "connections", b
    assert "status_503" in b["summary"], b["summary"]
    rows = {row["resource"]: row for row in b["resources"]}
    assert rows["connections"]["saturated"] is True and "turned away" in rows["connections"][
        "errors"], rows


def test_a_light_load_names_nothing(stampede, free_port):
    r = run_demo(stampede, free_port, "", "--rate", "50", "--duration", "4s")
    b = bottleneck(r)
    assert b["verdict"] == "none", b
    assert b["sinceS"] is None


def test_without_monitoring_an_overload_is_unknown_and_says_how_to_tell(stampede,
                                                                          demo_server_module):
    url = f"{demo_server_module.url}/api/products/1"
    # the demo's defaults: 4 workers x 1 ms per query, about 4,000/s at best; 4 VUs at
    # 20,000/s drop most arrivals
    r = stampede.load(url, "--rate", "20000", "--vus", "4", "--max-vus", "4",
                      "--duration", "3s", timeout=60)
    b = bottleneck(r)
    assert b["monitored"] is False
    assert b["verdict"] in ("unknown", "generator"), b
    assert "--monitor-port" in " ".join(b["evidence"]), b
