"""Accounting invariants (issue #7 part A): every intended request is accounted for, exactly.

`assert_accounting(summary, server_count=None, scheduled=None)` checks a parsed
--summary-export against the invariants below; every e2e test that knows the server's own
request count or the arrival schedule calls it.

Always (no outside knowledge needed):
  * every errors[] entry has its documented code; `interrupted` is 1099;
  * a request cut off by the end of the run, a signal or an abort is counted once in
    http_reqs with error kind `interrupted`, and in no latency trend and no http_req_failed
    sample:
        http_req_duration.count (and every other http_req_* trend) == http_reqs - interrupted
        http_req_failed.passes + fails                              == http_reqs - interrupted
  * failed requests (http_req_failed.passes, as in k6) are exactly the errors[] entries
    other than `interrupted` (transport and protocol errors, and status_NNN for statuses
    outside 200-399) -- unless the caller says the script judges responses itself.

With server_count (the server's own count of requests it received):
  * requests whose connection could not be opened (dns_error, connection_refused,
    connect_error, connect_timeout, tls_*) never reach the server but count in http_reqs,
    as in k6:   http_reqs - pre_connection_errors == server_count
    (retries=True: an idempotent request may be resent once on a fresh connection when a
    reused keep-alive connection closes before any response byte, RFC 9112 §9.3.1; then
    only http_reqs - pre_connection_errors <= server_count holds.)

With scheduled (arrival-rate executors): every scheduled arrival either started or was
dropped:   iterations + state.interruptedIterations + dropped_iterations == scheduled.
(`iterations` counts iterations that ended; one cut off by a hard stop is counted in
state.interruptedIterations instead.) `scheduled` is an int, or a (lo, hi) pair when the
run was stopped early (SIGINT, abort) and only the arrivals due until then count.
`scheduled_arrivals()` computes the schedule exactly as src/engine/sched.c does.
"""

import math
import time

from conftest import ERROR_CODES

# Error kinds whose request never reached the server (its connection was not opened).
PRE_CONNECTION_KINDS = frozenset({
    "dns_error", "connection_refused", "connect_error", "connect_timeout",
    "tls_error", "tls_unknown_authority", "tls_hostname_mismatch",
    "tls_certificate_expired", "tls_certificate_not_yet_valid", "tls_certificate_invalid",
    # a redirect refused before it was sent: the hop never reached a server
    "unsupported_scheme",
})
INTERRUPTED = "interrupted"
INTERRUPTED_CODE = 1099

# docs/cli.md "Error kinds": conftest's table plus the kinds only this helper checks.
KIND_CODES = dict(ERROR_CODES, empty_response=1510, write_error=1202,
                  **{INTERRUPTED: INTERRUPTED_CODE})

# The per-request trends: one sample per request that was not interrupted.
REQUEST_TRENDS = ("http_req_duration", "http_req_blocked", "http_req_connecting",
                  "http_req_tls_handshaking", "http_req_sending", "http_req_waiting",
                  "http_req_receiving")


# --------------------------------------------------------------------------------------
# reading the export
# --------------------------------------------------------------------------------------
def _metrics(summary):
    m = summary.get("metrics")
    assert isinstance(m, dict), f"summary has no 'metrics' object: {list(summary)}"
    return m


def count_of(summary, name, field="count"):
    """metrics[name][field], or 0 when the metric is absent (nothing was recorded)."""
    v = _metrics(summary).get(name)
    if v is None:
        return 0
    assert field in v, f"metric {name} has no {field!r}: {v}"
    return v[field]


def errors(summary):
    """{kind: count} from the export's errors array."""
    errs = summary.get("errors", [])
    assert isinstance(errs, list), f"summary 'errors' is not a list: {errs!r}"
    out = {}
    for e in errs:
        assert {"kind", "code", "count"} <= set(e), f"error entry lacks fields: {e}"
        assert e["kind"] not in out, f"error kind listed twice: {errs}"
        out[e["kind"]] = e["count"]
    return out


def error_count(summary, kind):
    return errors(summary).get(kind, 0)


def http_reqs(summary):
    return count_of(summary, "http_reqs")


def interrupted(summary):
    return error_count(summary, INTERRUPTED)


def pre_connection_errors(summary):
    """Requests that never reached the server (their connection could not be opened)."""
    return sum(n for k, n in errors(summary).items() if k in PRE_CONNECTION_KINDS)


def reached_server(summary):
    """http_reqs minus the requests whose connection could not be opened."""
    return http_reqs(summary) - pre_connection_errors(summary)


def started_iterations(summary):
    """Iterations that started: ended ones (`iterations`) + those cut off by a hard stop."""
    return (count_of(summary, "iterations")
            + int(summary.get("state", {}).get("interruptedIterations", 0) or 0))


def dropped(summary):
    return count_of(summary, "dropped_iterations")


def brief(summary):
    """The figures the invariants are about, for assertion messages."""
    m = _metrics(summary)
    pick = {k: {f: v for f, v in m[k].items() if f in ("count", "passes", "fails", "value",
                                                       "min", "max")}
            for k in ("http_reqs", "http_req_failed", "http_req_duration", "iterations",
                      "dropped_iterations", "vus") if k in m}
    return f"metrics {pick}\nerrors {summary.get('errors')}\nstate {summary.get('state')}"


# --------------------------------------------------------------------------------------
# the arrival schedule, as src/engine/sched.c computes it
# --------------------------------------------------------------------------------------
def _llround(x):
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def _time_of(start, stages, n):
    """sched_time_of(): µs from the start at which the rate's integral reaches n, or -1."""
    frm, count, base = float(start), 0.0, 0
    for dur_us, target in stages:
        d = dur_us / 1e6
        slope = (target - frm) / d if d > 0 else 0.0
        seg = frm * d + 0.5 * slope * d * d
        if count + seg >= n and seg > 0:
            need = n - count
            if abs(slope) < 1e-12:
                x = need / frm
            else:
                disc = frm * frm + 2 * slope * need
                x = (-frm + math.sqrt(max(disc, 0.0))) / slope
            x = min(max(x, 0.0), d)
            return base + _llround(x * 1e6)
        count += seg
        base += dur_us
        frm = float(target)
    return -1


def _us(d):
    if isinstance(d, (int, float)):
        return int(round(d * 1e6))
    units = (("ms", 1e3), ("us", 1), ("µs", 1), ("s", 1e6), ("m", 60e6), ("h", 3600e6))
    total, rest = 0.0, d.strip()
    while rest:
        num = ""
        while rest and (rest[0].isdigit() or rest[0] == "."):
            num, rest = num + rest[0], rest[1:]
        for u, mult in units:
            if rest.startswith(u):
                total += float(num) * mult
                rest = rest[len(u):]
                break
        else:
            total += float(num) * 1e6   # a bare number is seconds
            rest = ""
    return int(round(total))


def scheduled_arrivals(rate=None, duration=None, stages=None, start_rate=0.0,
                       time_unit="1s"):
    """Arrivals an arrival-rate executor schedules: arrival n (from 0) is due when the
    integral of the rate reaches n, and counts if that is before the end. A constant rate
    R over D gives exactly R*D when that is an integer; a ramp gives the number of integers
    n >= 0 below the integral I (I when I is an integer, floor(I) + 1 otherwise).
      rate, duration:        constant-arrival-rate (`rate` per `time_unit`)
      stages, start_rate:    ramping-arrival-rate, stages [(duration, target), ...]
    Durations are k6 strings ("1500ms") or seconds."""
    per_s = 1e6 / _us(time_unit)
    if stages is None:
        st = [(_us(duration), rate * per_s)]
        start = rate * per_s
    else:
        st = [(_us(d), t * per_s) for d, t in stages]
        start = start_rate * per_s
    total = sum(d for d, _ in st)
    integral, frm = 0.0, start
    for d, t in st:
        integral += (frm + t) / 2 * d / 1e6
        frm = t
    n = max(0, int(integral) - 3)   # every arrival below this one is surely inside
    while True:
        t = _time_of(start, st, n)
        if t < 0 or t >= total:
            return n
        n += 1


# --------------------------------------------------------------------------------------
# the invariants
# --------------------------------------------------------------------------------------
def assert_accounting(summary, server_count=None, scheduled=None, *, retries=False,
                      judged=False, what=""):
    """Check the accounting invariants (module docstring) on a parsed --summary-export.

    server_count: the server's own count of requests it received (None: unknown).
    scheduled:    arrivals the schedule had (int), or (lo, hi) bounds (None: not an
                  arrival-rate run, or unknown, e.g. Poisson arrivals).
    retries:      idempotent requests may have been resent once (server_count may exceed).
    judged:       the script decides which responses failed (responseCallback): do not
                  tie http_req_failed.passes to the errors array.
    Returns the summary's errors as {kind: count}."""
    ctx = (what + "\n" if what else "") + brief(summary)
    errs = errors(summary)
    for e in summary.get("errors", []):
        kind, code = e["kind"], e["code"]
        if kind.startswith("status_"):
            assert code == int(kind[7:]), f"errors entry {e}\n{ctx}"
        else:
            assert kind in KIND_CODES, f"unknown error kind {kind!r}\n{ctx}"
            assert code == KIND_CODES[kind], f"errors entry {e}: code should be " \
                                             f"{KIND_CODES[kind]}\n{ctx}"
        assert isinstance(e["count"], int) and e["count"] > 0, f"errors entry {e}\n{ctx}"

    reqs = http_reqs(summary)
    cut = errs.get(INTERRUPTED, 0)
    assert sum(errs.values()) <= reqs, \
        f"errors count more requests than http_reqs ({sum(errs.values())} > {reqs})\n{ctx}"
    completed = reqs - cut

    # interrupted requests: in http_reqs, in no trend and no failure-rate sample
    m = _metrics(summary)
    for name in REQUEST_TRENDS:
        if name in m or completed:
            n = count_of(summary, name)
            assert n == completed, (f"{name}.count = {n}, but http_reqs {reqs} - "
                                    f"interrupted {cut} = {completed}\n{ctx}")
    if "http_req_duration_uncorrected" in m:
        # open-model requests only: all of them in a quick --rate run
        n = count_of(summary, "http_req_duration_uncorrected")
        if (summary.get("options") or {}).get("model") == "open":
            assert n == completed, \
                f"http_req_duration_uncorrected.count = {n} != {completed}\n{ctx}"
        assert n <= completed, \
            f"http_req_duration_uncorrected.count = {n} > {completed}\n{ctx}"
    if "http_req_failed" in m or completed:
        passes = count_of(summary, "http_req_failed", "passes")
        fails = count_of(summary, "http_req_failed", "fails")
        assert passes + fails == completed, (
            f"http_req_failed passes {passes} + fails {fails} = {passes + fails}, but "
            f"http_reqs {reqs} - interrupted {cut} = {completed}\n{ctx}")
        if not judged:
            failed = sum(n for k, n in errs.items() if k != INTERRUPTED)
            assert passes == failed, (f"http_req_failed.passes = {passes}, but the errors "
                                      f"array lists {failed} failed requests\n{ctx}")

    # the server's own count
    if server_count is not None:
        if isinstance(server_count, float):   # e.g. a Prometheus counter
            assert server_count.is_integer(), server_count
            server_count = int(server_count)
        pre = pre_connection_errors(summary)
        reached = reqs - pre
        msg = (f"http_reqs {reqs} - pre-connection errors {pre} = {reached}, server "
               f"received {server_count} ({reached - server_count:+d})\n{ctx}")
        if retries:
            assert reached <= server_count, msg
        else:
            assert reached == server_count, msg

    # the arrival schedule
    if scheduled is not None:
        assert "dropped_iterations" in m, f"no dropped_iterations in an open-model run\n{ctx}"
        started = started_iterations(summary)
        total = started + dropped(summary)
        if isinstance(scheduled, tuple):
            lo, hi = scheduled
            assert lo <= total <= hi, (f"started {started} + dropped {dropped(summary)} = "
                                       f"{total}, expected {lo}..{hi}\n{ctx}")
        else:
            assert total == scheduled, (f"started {started} + dropped {dropped(summary)} = "
                                        f"{total}, but {scheduled} arrivals were scheduled "
                                        f"({total - scheduled:+d})\n{ctx}")
    return errs


def settled(read, timeout=3.0, quiet=0.3):
    """A server-side count read() once it has stopped changing for `quiet` seconds
    (server bookkeeping can trail the client's exit)."""
    deadline = time.monotonic() + timeout
    last = read()
    stable = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        n = read()
        if n != last:
            last, stable = n, time.monotonic()
        elif time.monotonic() - stable >= quiet:
            break
    return last

