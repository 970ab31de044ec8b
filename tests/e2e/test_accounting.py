"""Issue #7 part A: every intended request is accounted for, exactly.

The invariants live in accounting.py (assert_accounting); these are the cases from the bug
report, each against its own small loopback server defined here:
  1. open-model backlog: scheduled = started + dropped (quick, scripted, the demo server),
     the schedule itself (fractional rates, ramps, threads, timeUnit), several scenarios,
     and a property sweep over closed/open model, quick/scripted, short/long/backlogged
     responses and the three ways a run stops (its duration, SIGINT, an abort threshold);
  2. a POST is never resent (a GET may be, once); a server that closes right after its
     response (FIN with the answer) must not leave the next request waiting;
  3. aborts and cut-off requests inflate neither the error rate nor the latency;
  4. out of file descriptors: counted, bounded, said once;
  5. the vus gauge (open model; constant VUs over 1-3 threads);
  6. metrics that have thresholds but no samples are reported.

Every server is started by the test on 127.0.0.1 with a free port; every run is bounded
(short --duration or --iterations, a subprocess timeout); nothing asserts on timing.
"""

import asyncio
import concurrent.futures
import os
import re
import resource
import signal
import subprocess
import time
from pathlib import Path

import pytest

import servers
from accounting import (assert_accounting, count_of, dropped, error_count, errors,
                        http_reqs, interrupted, scheduled_arrivals, settled,
                        started_iterations)
from conftest import (BIN, EXIT_ABORTED, EXIT_INTERRUPTED, EXIT_OK, Result, check_rc,
                      metric, parse_result, require_binary, strict_json)
from demo_fixtures import demo_server  # noqa: F401
from script_servers import run_script, series_total, threshold_entry, write_script


# --------------------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------------------
class DelayServer(servers.CountingServer):
    """200 "ok" after `delay` seconds; counts every request it reads (when it reads it,
    before answering)."""

    def __init__(self, delay=0.0, **kw):
        super().__init__(**kw)
        self.delay = delay

    async def before_response(self):
        if self.delay:
            await asyncio.sleep(self.delay)


class AnswerOnceServer(servers.BackgroundServer):
    """Answers the first request on each keep-alive connection; reads the second one
    completely (head and body), counts it, and closes the connection without answering.
    `methods` lists the method of every request read, in order."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.methods = []

    async def handle(self, reader, writer):
        served = 0
        while True:
            head = await servers.read_request(reader)
            if head is None:
                return
            self._count_request()
            with self._lock:
                self.methods.append(head.split(b" ", 1)[0].decode())
            served += 1
            if served >= 2:
                if writer.can_write_eof():
                    writer.write_eof()      # FIN, no answer; _client() closes it
                return
            writer.write(servers.OK_RESPONSE)
            await writer.drain()


class CloseAfterResponseServer(servers.BackgroundServer):
    """Answers the first request on a connection with a keep-alive response (no
    `Connection: close`), then closes its side (FIN) and, like a server that has closed,
    processes nothing more: whatever the client still sends is read and discarded for up
    to 5 s, then the socket is closed. Counts the requests it answered."""

    async def handle(self, reader, writer):
        head = await servers.read_request(reader)
        if head is None:
            return
        self._count_request()
        writer.write(servers.OK_RESPONSE)
        await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        try:
            await asyncio.wait_for(reader.read(), 5)
        except (asyncio.TimeoutError, ConnectionError, OSError):
            pass


# --------------------------------------------------------------------------------------
# running stampede (also from worker threads: no pytest.fail in here)
# --------------------------------------------------------------------------------------
class RunError(Exception):
    pass


def launch(argv, directory, server=None, interrupt_after=None, timeout=40,
           preexec_fn=None):
    """Run `stampede ARGV --summary-export FILE` from `directory`. With interrupt_after,
    send SIGINT that many seconds after `server` counted its first request. Returns a
    conftest.Result with .summary (None when no export was written)."""
    require_binary()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    export = directory / "summary.json"
    out, err = directory / "stdout.txt", directory / "stderr.txt"
    full = [BIN, *map(str, argv), "--out", f"result={export}"]
    start = time.monotonic()
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe,
                                cwd=directory, preexec_fn=preexec_fn)
    try:
        if interrupt_after is not None:
            deadline = time.monotonic() + 15
            while server.requests < 1 and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(interrupt_after)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
            raise RunError(f"stampede did not exit within {timeout}s: {' '.join(full)}\n"
                           f"{err.read_text(errors='replace')[-2000:]}")
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
    r = Result(full, proc.returncode, out.read_text(errors="replace"),
               err.read_text(errors="replace"), time.monotonic() - start)
    r.export = export
    r.summary = parse_result(export.read_text()) if export.exists() else None
    return r


def run_table(tmp_path_factory, table, make_server, timeout):
    """Run every entry of table (name -> (flags or script source, ...)) at the same time,
    each against its own server from make_server(): {name: Result (with .server_count) or
    the exception its run raised}."""
    dirs = {name: tmp_path_factory.mktemp(name) for name in table}   # mktemp: not thread-safe

    def one(name):
        flags = table[name][0]
        d = dirs[name]
        with make_server() as srv:
            if isinstance(flags, str):
                write_script(d, flags)
                argv = ["run", "script.lua", "-q", "-e", f"BASE_URL=http://127.0.0.1:{srv.port}"]
            else:
                argv = ["run", "--url", srv.url, "-q", *flags]
            r = launch(argv, d, timeout=timeout)
            r.server_count = settled(lambda: srv.requests)
        return r

    return parallel(one, list(table))


def parallel(fn, items, workers=6):
    """{item: fn(item) or the exception it raised}, running up to `workers` at once (the
    runs are mostly idle waiting on their servers; the counts checked do not depend on
    timing)."""
    out = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as ex:
        futs = {ex.submit(fn, it): it for it in items}
        for f in concurrent.futures.as_completed(futs):
            try:
                out[futs[f]] = f.result()
            except BaseException as e:  # noqa: BLE001 - re-raised by the test
                out[futs[f]] = e
    return out


def result_of(results, key):
    r = results[key]
    if isinstance(r, BaseException):
        raise r
    return r


def need_summary(r, expect):
    check_rc(r, expect)
    if r.summary is None:
        pytest.fail(f"--summary-export was not written\n{r}", pytrace=False)
    return r.summary


# --------------------------------------------------------------------------------------
# 1. open-model backlog: scheduled = started + dropped, exactly
# --------------------------------------------------------------------------------------
BACKLOG = {
    # id: (quick flags or script, (rate/s, duration), VUs, expected iterations)
    # 1 s per iteration: each VU runs 4 (or 3) of them; the rest of the arrivals drop
    "rate5_one_vu": (["--rate", "5", "--vus", "1", "--max-vus", "1", "--duration", "4s"],
                     (5, "4s"), 1, 4),
    "rate20_four_vus": (["--rate", "20", "--max-vus", "4", "--duration", "4s"],
                        (20, "4s"), 4, 16),
    "script_car_10_per_s": ("""
        options = { scenarios = { car = { executor = "constant-arrival-rate", rate = 10,
          timeUnit = "1s", duration = "3s", preAllocatedVUs = 1, maxVUs = 2 } } }
        function default() http.get(BASE .. "/") end
    """, (10, "3s"), 2, 6),
}


@pytest.fixture(scope="module")
def backlog_runs(tmp_path_factory):
    """The BACKLOG runs, at the same time, each against its own 1 s server: {id: Result
    (with .server_count) or the exception its run raised}."""
    return run_table(tmp_path_factory, BACKLOG, lambda: DelayServer(delay=1.0), timeout=40)


@pytest.mark.parametrize("name", list(BACKLOG))
def test_backlog_is_dropped_exactly(backlog_runs, name):
    r = result_of(backlog_runs, name)
    s = need_summary(r, EXIT_OK)
    _, (rate, duration), vus, iters = BACKLOG[name]
    scheduled = scheduled_arrivals(rate, duration)
    assert scheduled == {"rate5_one_vu": 20, "rate20_four_vus": 80,
                         "script_car_10_per_s": 30}[name]
    # exact: every arrival started or was dropped, every request reached the server
    assert_accounting(s, server_count=r.server_count, scheduled=scheduled, what=str(r.args))
    n = count_of(s, "iterations")
    # each VU's last iteration ends just after the end (1 s answers): `iters`; a VU could
    # only squeeze one more in if the end timer ran late, so allow that, no more
    assert iters <= n <= iters + vus, f"{s['metrics'].get('iterations')}\n{r}"
    assert dropped(s) == scheduled - n, f"{s['metrics'].get('dropped_iterations')}\n{r}"
    assert http_reqs(s) == n == r.server_count
    assert interrupted(s) == 0 and s["errors"] == [], s["errors"]


def test_demo_server_open_model_backlog(demo_server, tmp_path):  # noqa: F811
    """700/s offered to a demo that serves ~400/s: its own count equals http_reqs, and
    every one of the 3,500 arrivals started or was dropped."""
    demo = demo_server("--workers", "4", "--query-latency", "10ms")
    route = "/api/products/{id}"
    before = demo.metrics().value("http_requests_total", route=route)
    r = launch(["run", "--url", demo.url_for("/api/products/1"), "-q", "--rate", "700",
                "--duration", "5s"], tmp_path / "run", timeout=60)
    s = need_summary(r, (EXIT_OK,))
    served = settled(lambda: demo.metrics().value("http_requests_total", route=route)) - before
    assert_accounting(s, server_count=int(served), scheduled=scheduled_arrivals(700, "5s"),
                      what=str(r.args))
    assert scheduled_arrivals(700, "5s") == 3500
    assert started_iterations(s) + dropped(s) == 3500


# The schedule itself: fractional R*D, ramps whose integral is not an integer, several
# worker threads sharing the arrivals, a timeUnit other than 1 s. Arrival n (from 0) is
# due when the rate's integral reaches n and counts if that is before the end, so a
# non-integer integral I gives floor(I) + 1 arrivals (see accounting.scheduled_arrivals).
SCHEDULES = {
    # id: (quick flags or script, scheduled_arrivals(...) kwargs, expected count)
    "rate7_1500ms": (["--rate", "7", "--duration", "1500ms"],
                     dict(rate=7, duration="1500ms"), 11),
    "rate13_1300ms_3_threads": (["--rate", "13", "--duration", "1300ms", "--threads", "3"],
                                dict(rate=13, duration="1300ms"), 17),
    "ramp_from_0": (["--rate", "0", "--stages", "1s:11,500ms:3"],
                    dict(stages=[("1s", 11), ("500ms", 3)]), 9),
    "ramp_to_0_3_threads": (["--rate", "2", "--stages", "700ms:9,300ms:0", "--threads", "3"],
                            dict(stages=[("700ms", 9), ("300ms", 0)], start_rate=2), 6),
    "ramp_odd": (["--rate", "3", "--stages", "1100ms:77,900ms:13"],
                 dict(stages=[("1100ms", 77), ("900ms", 13)], start_rate=3), 85),
    "script_ramp_time_unit": ("""
        options = { scenarios = { r = { executor = "ramping-arrival-rate", startRate = 1,
          timeUnit = "500ms", preAllocatedVUs = 2, maxVUs = 10,
          stages = { { duration = "1s", target = 10 }, { duration = "700ms", target = 3 } } } } }
        function default() http.get(BASE .. "/") end
    """, dict(stages=[("1s", 10), ("700ms", 3)], start_rate=1, time_unit="500ms"), 21),
}


@pytest.fixture(scope="module")
def schedule_runs(tmp_path_factory):
    return run_table(tmp_path_factory, SCHEDULES, servers.CountingServer, timeout=30)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_is_followed_exactly(schedule_runs, name):
    r = result_of(schedule_runs, name)
    s = need_summary(r, EXIT_OK)
    _, kw, expected = SCHEDULES[name]
    scheduled = scheduled_arrivals(**kw)
    assert scheduled == expected, (scheduled, expected)
    assert_accounting(s, server_count=r.server_count, scheduled=scheduled,
                      what=" ".join(map(str, r.args)))
    # a fast server and enough VUs: every arrival started
    assert dropped(s) == 0 and count_of(s, "iterations") == scheduled == http_reqs(s), r


def test_several_arrival_rate_scenarios_each_exact(tmp_path):
    """Per scenario (the time series are tagged with it): started + dropped = its own
    schedule, with a closed-model scenario beside them and a later startTime."""
    with DelayServer(delay=0.25) as srv:
        r = run_script(tmp_path, """
            options = { scenarios = {
              a = { executor = "constant-arrival-rate", rate = 30, timeUnit = "1s",
                    duration = "2s", preAllocatedVUs = 2, maxVUs = 3, exec = "fa" },
              b = { executor = "ramping-arrival-rate", startRate = 5, timeUnit = "1s",
                    preAllocatedVUs = 1, maxVUs = 2, startTime = "500ms", exec = "fb",
                    stages = { { duration = "1s", target = 25 },
                               { duration = "700ms", target = 0 } } },
              c = { executor = "constant-vus", vus = 2, duration = "1s", exec = "fa" },
            } }
            function fa() http.get(BASE .. "/a") end
            function fb() http.get(BASE .. "/b") end
        """, base=f"http://127.0.0.1:{srv.port}", timeout=30)
        count = settled(lambda: srv.requests)
    s = r.summary
    assert_accounting(s, server_count=count, what=str(r.args))
    assert s["state"]["interruptedIterations"] == 0, s["state"]   # gracefulStop 30 s
    for name, scheduled in (("a", scheduled_arrivals(30, "2s")),
                            ("b", scheduled_arrivals(stages=[("1s", 25), ("700ms", 0)],
                                                     start_rate=5))):
        started = series_total(s, "iterations", scenario=name)
        dropped_n = series_total(s, "dropped_iterations", scenario=name)
        assert started + dropped_n == scheduled, (name, started, dropped_n, scheduled)
        assert dropped_n > 0, (name, dropped_n)   # too few VUs for 250 ms iterations
    assert series_total(s, "dropped_iterations", scenario="c") == 0


# --------------------------------------------------------------------------------------
# 1b. the property sweep
# --------------------------------------------------------------------------------------
RATE = 40
SWEEP_DURATION = "2s"
# response kinds: (server delay s, open model's max VUs). "backlog": 1 s answers with 3 VUs
# at 40/s, so most arrivals wait in the backlog or drop.
RESPONSES = {"short": (0.0, 40), "long": (0.4, 40), "backlog": (1.0, 3)}
SWEEP = [(model, mode, resp, stop)
         for model in ("closed", "open")
         for mode in ("quick", "script")
         for resp in RESPONSES if model == "open" or resp != "backlog"
         for stop in ("duration", "sigint", "abort")]


def sweep_id(c):
    return "-".join(c)


def sweep_argv(cfg, port, d):
    model, mode, resp, stop = cfg
    max_vus = RESPONSES[resp][1]
    duration = SWEEP_DURATION if stop == "duration" else "20s"
    if mode == "quick":
        argv = ["run", "--url", f"http://127.0.0.1:{port}/", "-q", "--duration", duration,
                "--grace", "100ms"]
        argv += ["--vus", "4"] if model == "closed" else \
            ["--rate", RATE, "--vus", min(5, max_vus), "--max-vus", max_vus]
        if stop == "abort":
            argv += ["--threshold-abort", "http_reqs: count<3"]
        return argv
    if model == "closed":
        scen = f'executor = "constant-vus", vus = 4, duration = "{duration}"'
    else:
        scen = (f'executor = "constant-arrival-rate", rate = {RATE}, timeUnit = "1s", '
                f'duration = "{duration}", preAllocatedVUs = {min(5, max_vus)}, '
                f'maxVUs = {max_vus}')
    thresholds = ('thresholds = { http_reqs = { { threshold = "count<3", abortOnFail = true } } },'
                  if stop == "abort" else "")
    write_script(d, f"""
        options = {{ {thresholds}
          scenarios = {{ s = {{ {scen}, gracefulStop = "100ms" }} }} }}
        function default() http.get(BASE .. "/sweep") end
    """)
    return ["run", "script.lua", "-q", "-e", f"BASE_URL=http://127.0.0.1:{port}"]


@pytest.fixture(scope="module")
def sweep_runs(tmp_path_factory):
    dirs = {cfg: tmp_path_factory.mktemp(sweep_id(cfg)) for cfg in SWEEP}

    def one(cfg):
        d = dirs[cfg]
        with DelayServer(delay=RESPONSES[cfg[2]][0]) as srv:
            r = launch(sweep_argv(cfg, srv.port, d), d, server=srv,
                       interrupt_after=1.0 if cfg[3] == "sigint" else None, timeout=40)
            r.server_count = settled(lambda: srv.requests)
        return r

    return parallel(one, SWEEP)


@pytest.mark.parametrize("cfg", SWEEP, ids=sweep_id)
def test_sweep_accounting(sweep_runs, cfg):
    model, _, _, stop = cfg
    r = result_of(sweep_runs, cfg)
    s = need_summary(r, {"duration": EXIT_OK, "sigint": EXIT_INTERRUPTED,
                         "abort": EXIT_ABORTED}[stop])
    assert http_reqs(s) > 0, r
    scheduled = None
    if model == "open":
        if stop == "duration":
            scheduled = scheduled_arrivals(RATE, SWEEP_DURATION)
        else:
            # stopped early: only the arrivals due until the stop count (arrival 0 is at
            # t=0); the stop came after >= ~1 s and before the end of the run
            ran = s["state"]["testRunDurationMs"] / 1000
            scheduled = (RATE // 2, int(RATE * ran) + 1)
    assert_accounting(s, server_count=r.server_count, scheduled=scheduled,
                      what=f"{sweep_id(cfg)}: {' '.join(map(str, r.args))}")
    assert set(errors(s)) <= {"interrupted"}, s["errors"]
    if cfg[2] == "backlog" and stop == "duration":
        assert dropped(s) > 0, s["metrics"].get("dropped_iterations")
    assert s["state"]["interrupted"] is (stop == "sigint"), s["state"]
    assert s["state"]["aborted"] is (stop == "abort"), s["state"]


def test_sweep_exercised_interruptions(sweep_runs):
    """The long-response runs that were cut (the end with a 100 ms grace, an abort) did
    cut some requests, so the `interrupted` path above was really exercised."""
    cut = {sweep_id(c): interrupted(result_of(sweep_runs, c).summary or {"errors": []})
           for c in SWEEP if c[2] != "short" and c[3] != "sigint"}
    assert sum(cut.values()) > 0, cut


# --------------------------------------------------------------------------------------
# 2. a POST is never resent
# --------------------------------------------------------------------------------------
def assert_posts_once(r, srv, posts, failed):
    """Every POST reached the server once (none resent): the server's count is
    http_reqs, and the ones it never answered are failed requests."""
    count = settled(lambda: srv.requests)
    s = r.summary
    assert srv.methods == ["POST"] * count, srv.methods
    assert_accounting(s, server_count=count, what=str(r.args))
    assert http_reqs(s) == count == posts, (http_reqs(s), srv.methods)
    assert metric(s, "http_req_failed")["passes"] == failed, metric(s, "http_req_failed")


def test_script_post_not_retried(tmp_path):
    with AnswerOnceServer() as srv:
        r = run_script(tmp_path, """
            options = { scenarios = { s = { executor = "per-vu-iterations", vus = 1,
                                            iterations = 3 } } }
            function default() http.post(BASE .. "/orders", "order=1") end
        """, base=f"http://127.0.0.1:{srv.port}", expect=(0, 99), timeout=30)
        assert_posts_once(r, srv, posts=3, failed=1)   # the 2nd POST on the reused connection


def test_quick_post_not_retried(tmp_path, stampede):
    with AnswerOnceServer() as srv:
        r = stampede.load(srv.url, "-X", "POST", "--body", "order=1", "--iterations", "4",
                          "--vus", "1", timeout=30, expect=(0, 99))
        assert_posts_once(r, srv, posts=4, failed=2)   # every 2nd POST, on a reused connection


def test_quick_get_may_be_resent_once(tmp_path, stampede):
    # RFC 9112 §9.3.1: a client may resend an idempotent request when a reused
    # keep-alive connection closes before any response byte (usually the server closed
    # it as idle while the request was on its way). This server closes after reading the
    # 2nd GET, so stampede may resend it on a fresh connection: the server then reads
    # more requests than http_reqs, never fewer.
    with AnswerOnceServer() as srv:
        r = stampede.load(srv.url, "--iterations", "4", "--vus", "1", timeout=30,
                          expect=(0, 99))
        count = settled(lambda: srv.requests)
    s = r.summary
    assert http_reqs(s) == 4
    assert_accounting(s, server_count=count, retries=True, what=str(r.args))
    assert count <= 2 * http_reqs(s), count   # resent at most once each


def test_server_closing_after_each_response_get(stampede):
    # The server's FIN often arrives together with its response: the connection must not
    # be reused then (nothing would ever answer on it). A GET sent on a connection whose
    # FIN came just after may be resent once (RFC 9112 §9.3.1), so the server may count
    # more than http_reqs -- never fewer, and no request waits for its timeout.
    with CloseAfterResponseServer() as srv:
        r = stampede.load(srv.url, "--iterations", "20", "--vus", "1", "--timeout", "1s",
                          timeout=60, expect=(0, 99))
        count = settled(lambda: srv.requests)
    s = r.summary
    assert error_count(s, "request_timeout") == 0, \
        f"requests waited for their timeout on connections the server had closed\n{r}"
    assert s["errors"] == [], s["errors"]
    assert_accounting(s, server_count=count, retries=True, what=str(r.args))
    assert http_reqs(s) == 20


def test_server_closing_after_each_response_post(stampede):
    # A POST is never resent: one sent on a connection whose FIN was on its way fails
    # (empty_response) and the server, having closed, never processes it. None may wait
    # for its timeout, and every POST is either processed or a failed request.
    with CloseAfterResponseServer() as srv:
        r = stampede.load(srv.url, "-X", "POST", "--body", "order=1", "--iterations", "200",
                          "--vus", "8", "--timeout", "1s", timeout=60, expect=(0, 99))
        count = settled(lambda: srv.requests)
    s = r.summary
    errs = assert_accounting(s, what=str(r.args))
    assert error_count(s, "request_timeout") == 0, \
        f"requests waited for their timeout on connections the server had closed\n{r}"
    assert set(errs) <= {"empty_response"}, s["errors"]
    assert http_reqs(s) == 200
    assert count + errs.get("empty_response", 0) == 200, (count, s["errors"])


# --------------------------------------------------------------------------------------
# 3. aborts and cut-off requests do not inflate the error rate or the latency
# --------------------------------------------------------------------------------------
def test_abort_does_not_inflate_error_rate(stampede):
    with DelayServer(delay=0.05) as srv:
        r = stampede.load(srv.url, "--vus", "4", "--duration", "10s",
                          "--threshold-abort", "http_req_duration: p(95)<1",
                          "--threshold", "http_req_failed: rate<0.01",
                          timeout=30, expect=EXIT_ABORTED)
        count = settled(lambda: srv.requests)
    s = r.summary
    assert s["state"]["aborted"] is True, s["state"]
    errs = assert_accounting(s, server_count=count, what=str(r.args))
    assert set(errs) <= {"interrupted"}, s["errors"]
    if "interrupted" in errs:
        assert s["errors"][0]["code"] == 1099, s["errors"]
    failed = metric(s, "http_req_failed")
    assert failed["rate"] == 0 and failed["passes"] == 0, failed
    assert failed["fails"] == http_reqs(s) - interrupted(s), (failed, s["errors"])
    e = threshold_entry(s, "http_req_failed", "rate<0.01")
    assert e["ok"] is True, e
    assert threshold_entry(s, "http_req_duration", "p(95)<1")["ok"] is False


def test_hanging_requests_cut_at_the_end_are_not_in_the_trend(stampede):
    # each request takes 1 s: the 3rd of each VU is in flight at 2.5 s, cut at 2.7 s
    with DelayServer(delay=1.0) as srv:
        r = stampede.load(srv.url, "--vus", "2", "--duration", "2500ms", "--grace", "200ms",
                          timeout=30)
        count = settled(lambda: srv.requests)
    s = r.summary
    assert_accounting(s, server_count=count, what=str(r.args))
    cut = interrupted(s)
    assert 1 <= cut <= 2, s["errors"]            # normally 2: one per VU
    assert set(errors(s)) == {"interrupted"}, s["errors"]
    dur = metric(s, "http_req_duration")
    assert dur["count"] == http_reqs(s) - cut >= 2, dur
    assert dur["min"] >= 1000, f"a cut-off time went into the trend: {dur}"
    failed = metric(s, "http_req_failed")
    assert failed["passes"] == 0 and failed["fails"] == dur["count"], failed


# --------------------------------------------------------------------------------------
# 4. out of file descriptors
# --------------------------------------------------------------------------------------
def test_out_of_fds_is_accounted_for(tmp_path):
    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    vus, seconds = 200, 3
    with servers.CountingServer() as srv:
        r = launch(["run", "--url", srv.url, "-q", "--vus", vus, "--duration", f"{seconds}s"],
                   tmp_path, timeout=40, preexec_fn=low_limit)
        count = settled(lambda: srv.requests)
    s = need_summary(r, EXIT_OK)
    assert "cannot open more connections" in r.stderr, r
    assert "RLIMIT_NOFILE is 64" in r.stderr, r
    assert r.stderr.count("cannot open more connections") == 1, r
    errs = assert_accounting(s, server_count=count, what=str(r.args))
    assert set(errs) <= {"connect_error", "interrupted"}, s["errors"]
    n = errs.get("connect_error", 0)
    assert n > 0, s["errors"]
    # a VU whose connect lacks an fd backs off instead of spinning (it was ~200,000/s)
    assert n <= 20 * vus * seconds, f"{n} connect errors for {vus} VUs over {seconds} s"
    assert http_reqs(s) - n == count > 0


# --------------------------------------------------------------------------------------
# 5. the vus gauge
# --------------------------------------------------------------------------------------
def test_vus_gauge_open_model(stampede):
    with DelayServer(delay=0.1) as srv:
        r = stampede.load(srv.url, "--rate", "50", "--duration", "3s", timeout=30)
        count = settled(lambda: srv.requests)
    s = r.summary
    assert_accounting(s, server_count=count, scheduled=scheduled_arrivals(50, "3s"))
    vus = metric(s, "vus")
    assert vus["max"] > 0, f"no VU was ever busy in an arrival-rate run: {vus}"
    assert vus["max"] <= metric(s, "vus_max")["max"], (vus, metric(s, "vus_max"))


@pytest.mark.parametrize("threads", [None, 2, 3])
def test_vus_gauge_constant_vus(stampede, threads):
    extra = [] if threads is None else ["--threads", threads]
    with servers.CountingServer() as srv:
        r = stampede.load(srv.url, "--vus", "150", "--duration", "3s", *extra, timeout=40)
        count = settled(lambda: srv.requests)
    s = r.summary
    assert_accounting(s, server_count=count)
    vus = metric(s, "vus")
    assert vus["value"] == vus["min"] == vus["max"] == 150, vus


# --------------------------------------------------------------------------------------
# 6. metrics with thresholds but no samples are reported
# --------------------------------------------------------------------------------------
def summary_line(stdout, name):
    lines = [ln for ln in stdout.splitlines() if re.search(rf"\b{re.escape(name)}\.*:", ln)]
    assert lines, f"no line for {name} in the summary:\n{stdout}"
    return lines[0]


def test_threshold_on_metric_without_samples_quick(stampede):
    with servers.CountingServer() as srv:
        r = stampede.load(srv.url, "--vus", "1", "--iterations", "5",
                          "--threshold", "dropped_iterations: count<1", timeout=30)
        count = srv.requests
    s = r.summary
    assert_accounting(s, server_count=count)
    m = metric(s, "dropped_iterations")
    assert m["type"] == "counter" and m["count"] == 0, m
    assert m["thresholds"]["count<1"]["ok"] is True, m
    e = threshold_entry(s, "dropped_iterations", "count<1")
    assert e["ok"] is True, e
    line = summary_line(r.stdout, "dropped_iterations")
    assert "no samples" in line, line
    assert any("dropped_iterations" in ln and "count<1" in ln and "✓" in ln
               for ln in r.stdout.splitlines()), r.stdout


def test_threshold_on_custom_trend_without_samples_script(tmp_path):
    with servers.CountingServer() as srv:
        r = run_script(tmp_path, """
            local never = metrics.trend("never_added", true)
            options = { vus = 1, iterations = 3,
                        thresholds = { never_added = { "p(95)<100" } } }
            function default() http.get(BASE .. "/") end
        """, base=f"http://127.0.0.1:{srv.port}", expect=(0, 99), timeout=30)
        count = srv.requests
    s = r.summary
    assert_accounting(s, server_count=count)
    m = metric(s, "never_added")
    assert m["type"] == "trend" and m["count"] == 0, m
    assert "p(95)<100" in m.get("thresholds", {}), m
    e = threshold_entry(s, "never_added", "p(95)<100")
    assert isinstance(e["ok"], bool), e
    line = summary_line(r.stdout, "never_added")
    assert "no samples" in line, line
    mark = "✓" if e["ok"] else "✗"
    assert any("never_added" in ln and "p(95)<100" in ln and mark in ln
               for ln in r.stdout.splitlines()), r.stdout
