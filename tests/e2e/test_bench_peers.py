"""bench/peers.py (`make bench-peers`) checks its own harness: each peer's report parser on
real reports (trimmed, recorded from the tools on loopback), rejection of broken reports,
and a 1-second run where a missing peer is reported as "not installed" while stampede
still runs. Needs none of the peers (npm ones included); the short run needs nginx-light
and CPUs 0-1, and is skipped without them."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from conftest import BIN, NGINX, ROOT

PEERS = ROOT / "bench" / "peers.py"


@pytest.fixture(scope="module")
def peers():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        spec = importlib.util.spec_from_file_location("bench_peers", PEERS)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        yield mod
    finally:
        sys.path.remove(str(ROOT / "bench"))


AB = """This is ApacheBench, Version 2.3 <$Revision$>
Benchmarking 127.0.0.1 (be patient).....done


Server Software:        nginx/1.22.1
Server Hostname:        127.0.0.1
Document Length:        3 bytes

Concurrency Level:      50
Time taken for tests:   3.000 seconds
Complete requests:      736150
Failed requests:        0
Keep-Alive requests:    736150
Requests per second:    245382.84 [#/sec] (mean)
"""

H2LOAD = """starting benchmark...
Application protocol: http/1.1
Main benchmark duration is over for thread #0. Stopping all clients.

finished in 3.00s, 217957.00 req/s, 31.18MB/s
requests: 653871 total, 653921 started, 653871 done, 653871 succeeded, 0 failed, \
0 errored, 0 timeout
status codes: 653800 2xx, 0 3xx, 71 4xx, 0 5xx
traffic: 93.54MB (98080650) total, 67.35MB (70621416) headers (space savings 0.00%)
"""

HEY = """
Summary:
  Total:\t3.0006 secs
  Slowest:\t0.0074 secs
  Requests/sec:\t47668.7989

Response time histogram:
  0.000 [1]\t|
  0.001 [52831]\t|\u25a0\u25a0\u25a0

Status code distribution:
  [200]\t143034 responses
  [404]\t6 responses

"""

AUTOCANNON = ('{"url":"http://127.0.0.1:34285/","connections":50,"pipelining":1,'
              '"workers":0,"duration":3.02,"samples":3,"errors":0,"timeouts":0,'
              '"mismatches":0,"non2xx":0,"resets":0,"2xx":274678,'
              '"requests":{"average":91573.34,"total":274678,"sent":274728}}\n')

LOCUST = ("Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
          "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s\n"
          "GET,/,23046,0,2,1.69,0,23,3.0,11505.6,0.0\n"
          ",Aggregated,23046,0,2,1.69,0,23,3.0,11505.6,0.0\n")

ARTILLERY = json.dumps({"aggregate": {"counters": {
    "vusers.created_by_name.0": 1000, "vusers.created": 1000, "http.requests": 1000,
    "http.codes.200": 1000, "http.responses": 1000, "vusers.failed": 0,
    "vusers.completed": 1000}}})


def test_parsers_read_real_reports(peers):
    assert peers.parse_ab(AB) == {"requests": 736150, "elapsed_s": 3.0, "errors": 0}
    assert peers.parse_h2load(H2LOAD) == {"requests": 653871, "elapsed_s": 3.0,
                                          "errors": 71}
    assert peers.parse_hey(HEY) == {"requests": 143040, "elapsed_s": 3.0006, "errors": 6}
    assert peers.parse_autocannon(AUTOCANNON) == {"requests": 274678, "elapsed_s": 3.02,
                                                  "errors": 0}
    assert peers.parse_locust_csv(LOCUST) == {"requests": 23046, "elapsed_s": None,
                                              "errors": 0}
    assert peers.parse_artillery_report(ARTILLERY) == {"requests": 1000, "vusers": 1000,
                                                       "errors": 0}


@pytest.mark.parametrize("name,text", [
    ("parse_ab", AB.replace("Complete requests", "Completed")),
    ("parse_h2load", H2LOAD.split("finished in")[0]),
    ("parse_hey", "connection refused\n"),
    ("parse_autocannon", "Error: connect ECONNREFUSED 127.0.0.1:1\n"),
    ("parse_autocannon", '{"duration": 3}'),
    ("parse_locust_csv", LOCUST.replace("Aggregated", "Total")),
    ("parse_artillery_report", "not json"),
])
def test_parsers_reject_broken_reports(peers, name, text):
    with pytest.raises(peers.ParseError):
        getattr(peers, name)(text)


def test_self_test_flag():
    p = subprocess.run([sys.executable, str(PEERS), "--self-test"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert " 0 failed" in p.stdout


def test_bad_flags_are_refused():
    p = subprocess.run([sys.executable, str(PEERS), "--users", "1"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2 and "--users" in p.stderr


def test_missing_peer_is_reported_and_stampede_runs(tmp_path):
    if not os.access(NGINX, os.X_OK) or not os.access(BIN, os.X_OK):
        pytest.skip("needs nginx-light and a built stampede")
    if not {0, 1} <= os.sched_getaffinity(0):
        pytest.skip("needs CPUs 0 and 1")
    out = tmp_path / "peers.json"
    p = subprocess.run([sys.executable, str(PEERS), "--bin", BIN, "--duration", "1",
                        "--no-memory-test", "--only", "stampede,autocannon",
                        "--npm-dir", str(tmp_path / "no-npm"), "--json", str(out)],
                       capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "autocannon" in p.stdout and "not installed (" in p.stdout
    res = json.loads(out.read_text())
    rows = {r["tool"]: r for r in res["throughput"]}
    assert rows["autocannon"]["installed"] is False
    st = rows["stampede"]
    assert st["ok"] and st["requests"] > 0 and st["cpu_us_per_req"] > 0
    assert st["cpu_per_req_vs_stampede"] == pytest.approx(1.0)
    assert res["config"]["url"].startswith("http://127.0.0.1:")
