"""Fixtures and helpers for stampede's end-to-end tests (docs/cli.md is the contract).

Safety rules every test follows: servers are started by the tests themselves on
127.0.0.1 or ::1 with free ports, nothing targets another address, every load run is
bounded (short --duration or --iterations) and has a subprocess timeout, and every
process a fixture starts is stopped by pid at teardown even when the test fails.
"""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import servers

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("STAMPEDE_BIN") or str(ROOT / "build" / "stampede")
NGINX = "/usr/sbin/nginx"

# Exit codes (docs/cli.md)
EXIT_OK = 0
EXIT_THRESHOLDS = 99
EXIT_CONFIG = 104
EXIT_INTERRUPTED = 105
EXIT_ABORTED = 108

# Error kinds and codes (docs/cli.md)
ERROR_CODES = {
    "dns_error": 1101, "connect_timeout": 1211, "connection_refused": 1212,
    "connect_error": 1210, "connection_reset": 1220, "request_timeout": 1050,
    "tls_error": 1300, "tls_unknown_authority": 1310, "tls_hostname_mismatch": 1311,
    "tls_certificate_expired": 1312, "tls_certificate_not_yet_valid": 1313,
    "tls_certificate_invalid": 1314, "unsupported_scheme": 1021, "response_too_large": 1030,
    "bad_status_line": 1501, "bad_version": 1502, "bad_header": 1503,
    "header_too_large": 1504, "too_many_headers": 1505, "bad_content_length": 1506,
    "bad_chunk": 1507, "bad_transfer_encoding": 1508, "truncated": 1509,
}

TREND_STATS = ("avg", "min", "med", "max", "p(90)", "p(95)", "p(99)", "p(99.9)")


# --------------------------------------------------------------------------------------
# running the binary
# --------------------------------------------------------------------------------------
class Result:
    def __init__(self, args, rc, stdout, stderr, elapsed, summary=None, export=None):
        self.args = args
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed
        self.summary = summary      # parsed --summary-export JSON, when requested
        self.export = export        # its path

    def describe(self, limit=3000):
        return (f"command: {' '.join(map(str, self.args))}\nexit code: {self.rc} "
                f"after {self.elapsed:.2f}s\n--- stdout ---\n{self.stdout[-limit:]}\n"
                f"--- stderr ---\n{self.stderr[-limit:]}")

    __str__ = describe


def require_binary():
    if not (os.path.isfile(BIN) and os.access(BIN, os.X_OK)):
        pytest.fail(f"stampede binary not found or not executable at {BIN} "
                    "(build it with `make`, or set STAMPEDE_BIN)", pytrace=False)


def _text(b):
    if b is None:
        return ""
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b


def strict_json(text):
    """json.loads that rejects NaN/Infinity (not valid JSON)."""
    def bad_constant(c):
        raise ValueError(f"invalid JSON constant {c}")
    return json.loads(text, parse_constant=bad_constant)


class Stampede:
    """Runs the binary. `stampede(*args)` runs it raw; `stampede.load(url, *args)` runs
    `stampede run --url URL -q --summary-export FILE ARGS` and parses the JSON."""

    def __init__(self, tmpdir_factory):
        self._factory = tmpdir_factory
        self.bin = BIN

    def __call__(self, *args, timeout=30, expect=None, env=None):
        require_binary()
        argv = [self.bin, *map(str, args)]
        start = time.monotonic()
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=timeout, env=env)
        except subprocess.TimeoutExpired as e:  # subprocess.run killed it (by pid)
            r = Result(argv, None, _text(e.stdout), _text(e.stderr), time.monotonic() - start)
            pytest.fail(f"stampede did not exit within {timeout}s\n{r}", pytrace=False)
        r = Result(argv, p.returncode, _text(p.stdout), _text(p.stderr),
                   time.monotonic() - start)
        check_rc(r, expect)
        return r

    def export_path(self):
        return Path(self._factory.mktemp("export")) / "summary.json"

    def load(self, url, *args, timeout=30, expect=EXIT_OK, quiet=True, export=None):
        """Run a load test with --out result=FILE; returns a Result with .summary (the
        result file's view, result_view)."""
        export = Path(export) if export else self.export_path()
        argv = ["run", "--url", url]
        if quiet:
            argv.append("--quiet")
        argv += ["--out", f"result={export}", *args]
        r = self(*argv, timeout=timeout, expect=None)
        check_rc(r, expect)
        r.export = export
        r.summary = read_summary(export, r)
        return r


def check_rc(r, expect):
    if r.rc is not None and r.rc < 0:
        pytest.fail(f"stampede was killed by signal {-r.rc}\n{r}", pytrace=False)
    if expect is None:
        return
    allowed = (expect,) if isinstance(expect, int) else tuple(expect)
    if r.rc not in allowed:
        pytest.fail(f"expected exit code {' or '.join(map(str, allowed))}, got {r.rc}\n{r}",
                    pytrace=False)


def read_summary(path, result=None):
    """The parsed result file (--out result=FILE) as a flat view (result_view), or a
    --summary-export file as it is."""
    path = Path(path)
    if not path.exists():
        pytest.fail(f"result file {path} was not written\n{result or ''}",
                    pytrace=False)
    text = path.read_text()
    try:
        doc = strict_json(text)
    except ValueError as e:
        pytest.fail(f"result file is not valid JSON: {e}\n{text[:2000]}",
                    pytrace=False)
    if isinstance(doc, dict) and doc.get("format") == "stampede-result/1":
        return result_view(doc)
    return doc


def parse_result(text):
    """strict_json, then result_view for a result file (other documents as they are)."""
    doc = strict_json(text)
    if isinstance(doc, dict) and doc.get("format") == "stampede-result/1":
        return result_view(doc)
    return doc


_RESULT_VALIDATOR = None


def validate_result(doc):
    """Fail unless doc is valid against docs/result.schema.json (python3-jsonschema)."""
    global _RESULT_VALIDATOR
    if _RESULT_VALIDATOR is None:
        import jsonschema
        schema = json.loads((ROOT / "docs" / "result.schema.json").read_text())
        _RESULT_VALIDATOR = jsonschema.Draft202012Validator(schema)
    errors = sorted(_RESULT_VALIDATOR.iter_errors(doc), key=lambda e: list(e.path))[:5]
    if errors:
        pytest.fail("the result file is not valid against docs/result.schema.json:\n" +
                    "\n".join(f"  {e.json_path}: {e.message[:300]}" for e in errors),
                    pytrace=False)


def result_view(doc):
    """The result file (stampede-result/1, docs/result-format.md) seen the way the tests
    read it: metrics[name] = its values flat with "type" (and "thresholds"), a threshold's
    sub-metric under its selector; timeseries as a list of {metric, tags, columns, step,
    points}; everything else as the document has it. Metrics without samples are left out
    unless a threshold names them (http_reqs and iterations always), as the summary does.
    The document is first validated against docs/result.schema.json."""
    validate_result(doc)
    view = dict(doc)
    named = {t["metric"] for t in doc["thresholds"]}
    metrics, timeseries = {}, []
    for name, m in doc["metrics"].items():
        if m["timeseries"]["points"]:
            timeseries.append({"metric": name, "tags": {}, **m["timeseries"]})
        for s in m["series"]:
            if s["tags"] and s["timeseries"]["points"]:
                timeseries.append({"metric": name, "tags": s["tags"], **s["timeseries"]})
        if not m["series"] and name not in named and name not in ("http_reqs", "iterations"):
            continue
        v = dict(m["values"]) if m["series"] or name in ("http_reqs", "iterations") \
            else {"count": 0}
        v["type"] = m["type"]
        if "thresholds" in m:
            v["thresholds"] = m["thresholds"]
        metrics[name] = v
    for sel, sm in doc["submetrics"].items():
        v = dict(sm["values"])
        v["type"] = sm["type"]
        v["thresholds"] = sm["thresholds"]
        metrics[sel] = v
    view["metrics"] = metrics
    view["timeseries"] = timeseries
    return view


def metric(summary, name):
    """summary['metrics'][name], failing with the list of metric names when absent."""
    metrics = summary.get("metrics")
    assert isinstance(metrics, dict), f"summary has no 'metrics' object: {list(summary)}"
    if name not in metrics:
        pytest.fail(f"metric {name!r} missing from the summary; have {sorted(metrics)}",
                    pytrace=False)
    return metrics[name]


def errors_by_kind(summary):
    errs = summary.get("errors")
    assert isinstance(errs, list), f"summary 'errors' is not a list: {errs!r}"
    out = {}
    for e in errs:
        assert {"kind", "code", "count"} <= set(e), f"error entry lacks fields: {e}"
        assert e["kind"] not in out, f"error kind listed twice: {errs}"
        out[e["kind"]] = e
    return out


@pytest.fixture(scope="session")
def stampede(tmp_path_factory):
    return Stampede(tmp_path_factory)


# --------------------------------------------------------------------------------------
# ports, IPv6
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def has_ipv6():
    return servers.ipv6_loopback_works()


@pytest.fixture(scope="session")
def require_ipv6(has_ipv6):
    if not has_ipv6:
        pytest.skip("IPv6 loopback (::1) is not available on this machine")


@pytest.fixture
def free_port(has_ipv6):
    """A TCP port with nothing listening on 127.0.0.1 (nor on ::1 when IPv6 works)."""
    return servers.free_port(ipv6=has_ipv6)


# --------------------------------------------------------------------------------------
# nginx
# --------------------------------------------------------------------------------------
NGINX_CONF = """\
{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log notice;
worker_rlimit_nofile 16384;
events {{
    worker_connections 8192;
}}
http {{
    log_format stampede '$remote_addr $connection $connection_requests $status '
                        '$request_time "$request"';
    access_log {prefix}/logs/access.log stampede;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    server {{
        listen 127.0.0.1:{port};
{listen6}        server_name _;
        location / {{
            default_type text/plain;
            return 200 "ok\\n";
        }}
    }}
}}
"""


class Nginx:
    """nginx-light with its own prefix/config under a temp dir, listening on
    127.0.0.1:port (and [::1]:port when IPv6 works). Access log: one line per request."""

    def __init__(self, prefix, ipv6):
        self.prefix = Path(prefix)
        self.ipv6 = ipv6
        self.port = None
        self.proc = None
        self.access_log = self.prefix / "logs" / "access.log"
        self.error_log = self.prefix / "logs" / "error.log"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    @property
    def url6(self):
        return f"http://[::1]:{self.port}/"

    def start(self):
        if not os.access(NGINX, os.X_OK):
            pytest.fail(f"{NGINX} not found (apt-get install nginx-light; see "
                        "scripts/install-deps.sh)", pytrace=False)
        for d in ("logs", "tmp", "conf"):
            (self.prefix / d).mkdir(parents=True, exist_ok=True)
        last = ""
        for _attempt in range(5):
            self.port = servers.free_port(ipv6=self.ipv6)
            conf = self.prefix / "conf" / "nginx.conf"
            conf.write_text(NGINX_CONF.format(
                user="user root;\n" if os.geteuid() == 0 else "",
                prefix=self.prefix, port=self.port,
                listen6=f"        listen [::1]:{self.port};\n" if self.ipv6 else ""))
            with open(self.prefix / "logs" / "stderr.log", "ab") as err:
                self.proc = subprocess.Popen(
                    [NGINX, "-p", str(self.prefix) + "/", "-c", str(conf),
                     "-g", "daemon off;"],
                    stdin=subprocess.DEVNULL, stdout=err, stderr=err)
            ok = servers.wait_port("127.0.0.1", self.port, timeout=10, proc=self.proc)
            if ok and self.ipv6:
                ok = servers.wait_port("::1", self.port, timeout=5, proc=self.proc)
            if ok:
                return self
            last = self.logs()
            self.stop()
        pytest.fail(f"nginx did not start\n{last}", pytrace=False)

    def logs(self):
        out = []
        for f in (self.prefix / "logs" / "stderr.log", self.error_log):
            if f.exists():
                out.append(f"--- {f.name} ---\n{f.read_text(errors='replace')[-3000:]}")
        return "\n".join(out)

    def _children(self):
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    stat = f.read()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == self.proc.pid:
                pids.append(int(d))
        return pids

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            return
        workers = self._children()
        try:
            os.kill(self.proc.pid, signal.SIGTERM)   # fast shutdown
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            for pid in [self.proc.pid, *workers]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait(5)
        for pid in workers:   # workers normally exit with the master; make sure
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                continue
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc = None

    # -- access log ---------------------------------------------------------------------
    def access_lines(self):
        if not self.access_log.exists():
            return []
        return self.access_log.read_text(errors="replace").splitlines()

    def access_count(self):
        return len(self.access_lines())

    def settled_count(self, since=0, quiet=0.3, timeout=5.0):
        """Number of access-log lines after `since`, once the log has stopped growing
        for `quiet` seconds (nginx writes a line when it finalizes a request, which can
        be just after the client got the response)."""
        deadline = time.monotonic() + timeout
        last = self.access_count()
        stable_since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            n = self.access_count()
            if n != last:
                last, stable_since = n, time.monotonic()
            elif time.monotonic() - stable_since >= quiet:
                break
        return last - since


def server_factory(make):
    """The body of a factory fixture (`yield from server_factory(make)`): yields
    start(*args, **kw) -> make(*args, **kw).start(), and stops every server it made at
    teardown."""
    made = []

    def start(*args, **kw):
        s = make(*args, **kw)
        made.append(s)
        return s.start()

    yield start
    for s in made:
        s.stop()


@pytest.fixture(scope="session")
def nginx_factory(tmp_path_factory, has_ipv6):
    """Start extra nginx instances (e.g. for module-scoped fixtures): factory() -> Nginx.
    Every instance still running is stopped at session end."""
    yield from server_factory(lambda: Nginx(tmp_path_factory.mktemp("nginx"), has_ipv6))


@pytest.fixture
def nginx(tmp_path, has_ipv6):
    n = Nginx(tmp_path / "nginx", has_ipv6)
    try:
        yield n.start()
    finally:
        n.stop()


# --------------------------------------------------------------------------------------
# Python test servers (see servers.py)
# --------------------------------------------------------------------------------------
@pytest.fixture
def stall_server():
    with servers.StallServer(period=5.0, stall=1.0, offset=2.0) as s:
        yield s


@pytest.fixture
def counting_server():
    with servers.CountingServer() as s:
        yield s


@pytest.fixture
def slow_server():
    with servers.SlowServer() as s:
        yield s


@pytest.fixture
def scripted_server():
    """factory(response_bytes, after='keep'|'close'|'reset') -> started ScriptedServer."""
    yield from server_factory(servers.ScriptedServer)


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """Self-signed certificates made with the openssl CLI:
    'both': CN=localhost, SAN DNS:localhost,IP:127.0.0.1;  'dns': SAN DNS:localhost only.
    Each value is (cert_path, key_path); the cert is its own CA for --cacert."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl CLI not found", pytrace=False)
    d = tmp_path_factory.mktemp("certs")
    return {
        "both": servers.make_cert(str(d), "both", san="DNS:localhost,IP:127.0.0.1"),
        "dns": servers.make_cert(str(d), "dnsonly", san="DNS:localhost"),
    }


@pytest.fixture
def tls_server(certs, has_ipv6):
    """TLS server with the 'both' certificate, on 127.0.0.1 (and ::1) with one port."""
    cert, key = certs["both"]
    with servers.TLSServer(cert, key, ipv6=has_ipv6) as s:
        s.cert = cert
        yield s


@pytest.fixture
def tls_server_dns_only(certs, has_ipv6):
    """TLS server whose certificate names only DNS:localhost (no IP SAN)."""
    cert, key = certs["dns"]
    with servers.TLSServer(cert, key, ipv6=has_ipv6) as s:
        s.cert = cert
        yield s


# --------------------------------------------------------------------------------------
# processes started by tests directly (signals, memory)
# --------------------------------------------------------------------------------------
def sanitized():
    """True when the binary under test is an AddressSanitizer build (make asan)."""
    try:
        return b"__asan_init" in Path(BIN).read_bytes()
    except OSError:
        return False


# The environment for a run whose RSS is measured: under AddressSanitizer freed memory
# waits in a 256 MB quarantine that would count as the run's own; keep it small.
SMALL_QUARANTINE_ENV = dict(os.environ, ASAN_OPTIONS=":".join(
    filter(None, [os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=4"])))


def _vm_kb(pid):
    """{'VmHWM': kB, 'VmRSS': kB} of a live process ({} when it is gone or a zombie)."""
    vm = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    vm[line.split(":", 1)[0]] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return vm


class Spawned:
    """A stampede process started by a test; stdout/stderr go to files (no pipe can
    fill up and block it). With rss=True every poll() samples its peak RSS into
    maxrss_kb: max(VmHWM, VmRSS) from /proc/PID/status, the high-water mark since exec
    (not wait4's ru_maxrss, which counts the forked test process's RSS from before exec).
    wait(sample_at=...) also records its VmRSS at given seconds since the start."""

    POLL_S = 0.02

    def __init__(self, args, directory, cwd=None, env=None, rss=False):
        self.args = [BIN, *map(str, args)]
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self._out, self._err = d / "stdout.txt", d / "stderr.txt"
        self.rss = rss
        self.maxrss_kb = 0          # peak RSS seen by poll() (rss=True), kB
        self.samples = {}           # {seconds since start: VmRSS kB} (wait(sample_at))
        self.elapsed = None         # seconds from the start to the exit seen
        self.start = time.monotonic()
        with open(self._out, "wb") as out, open(self._err, "wb") as err:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, cwd=cwd, env=env)
        self.pid = self.proc.pid

    @property
    def rc(self):
        return self.proc.returncode

    def signal(self, sig):
        if self.poll() is None:
            os.kill(self.pid, sig)

    def poll(self):
        """The exit code once the process has exited (reaped here), else None; samples
        the peak RSS first when asked to."""
        if self.proc.returncode is None:
            if self.rss:
                self.maxrss_kb = max([self.maxrss_kb, *_vm_kb(self.pid).values()])
            if self.proc.poll() is not None:
                self.elapsed = time.monotonic() - self.start
        return self.proc.returncode

    def wait_for_output(self, text, timeout=30, stream="stdout", count=1):
        """Wait until text appears (count times) in the process's stdout (or stderr): a
        script's print() is flushed line by line, so a test waits for the point the script
        says it reached (each VU's, with count) instead of sleeping and hoping. Fails the
        test (and kills the process) if it exits first or after timeout s."""
        path = self._out if stream == "stdout" else self._err
        deadline = time.monotonic() + timeout
        while path.read_text(errors="replace").count(text) < count:
            if self.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"{text!r} not on {stream} within {timeout}s\n{self.result()}",
                            pytrace=False)
            time.sleep(self.POLL_S)

    def wait(self, timeout, sample_at=()):
        """Wait for the exit, recording VmRSS at each second of sample_at (since the
        start); fails the test (and kills the process) after timeout s."""
        todo = sorted(sample_at)
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            now = time.monotonic()
            if todo and now - self.start >= todo[0]:
                rss = _vm_kb(self.pid).get("VmRSS")
                if rss is not None:
                    self.samples[todo.pop(0)] = rss
            if now > deadline:
                self.kill()
                pytest.fail(f"stampede did not exit within {timeout}s\n{self.result()}",
                            pytrace=False)
            time.sleep(self.POLL_S)
        return self.result()

    def kill(self):
        """SIGKILL (by pid) and reap the process if it still runs."""
        if self.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)
            self.elapsed = time.monotonic() - self.start

    def result(self):
        """A Result of what the process wrote so far, with maxrss_kb and samples."""
        elapsed = self.elapsed
        if elapsed is None:
            elapsed = time.monotonic() - self.start
        r = Result(self.args, self.proc.returncode, self._out.read_text(errors="replace"),
                   self._err.read_text(errors="replace"), elapsed)
        r.maxrss_kb = self.maxrss_kb
        r.samples = self.samples
        return r


@pytest.fixture
def spawn(tmp_path):
    """spawn(*args, cwd=None, env=None, rss=False) -> Spawned stampede process, with its
    stdout/stderr in a directory of its own under tmp_path; killed by pid at teardown if
    still running."""
    procs = []

    def start(*args, cwd=None, env=None, rss=False):
        require_binary()
        s = Spawned(args, tmp_path / f"proc{len(procs)}", cwd=cwd, env=env, rss=rss)
        procs.append(s)
        return s

    yield start
    for s in procs:
        s.kill()


def interrupted_summary(r, export, printed=None):
    """Checks a run stopped by a signal (docs/cli.md): exit code 105, its summary printed
    on stdout (holding `printed`, or anything when None) and an --summary-export with
    state.interrupted true. Returns that export, parsed."""
    check_rc(r, EXIT_INTERRUPTED)
    shown = printed in r.stdout if printed else r.stdout.strip()
    assert shown, f"no summary on stdout\n{r}"
    s = read_summary(export, r)
    assert s["state"]["interrupted"] is True, s["state"]
    return s


# Tests whose figures depend on having the machine's CPU to themselves (capacity, rates,
# latency ratios, CPU%, RSS growth): marked `serial`, they run in a second pytest
# invocation after the parallel one (scripts/run-tests.sh: `-m "not serial" -n N
# --dist loadfile`, then `-m serial`). Whole modules by name, single tests by node id.
SERIAL_MODULES = {
    "test_bottleneck", "test_bench_peers", "test_demo_knobs",
    "test_open_model", "test_diagnosis_output", "test_compare",
    # the demo's CPU-bound capacity, which the breaking point must find within 20%
    "test_assess_cpu",
    # stampede's own memory over 60 s must not look like a leak: its growth (the run's
    # per-second data) sits near the 1 MiB floor, and a busy machine makes it steadier
    "test_leak",
}
# (test_count and test_series_cap run in the parallel part: their figures are exact counts
# and memory growth, which a busy CPU slows but does not change)
SERIAL_TESTS = {
    # the demo's capacity and queueing (the rest of test_verdicts, a soak's injected drift,
    # a load's verdicts and the window histograms, run in parallel)
    "tests/e2e/test_verdicts.py::test_stress_steps_table_shows_the_knee",
    "tests/e2e/test_verdicts.py::test_spike_recovery_matches_queueing_theory",
    # the target's CPU% against what --cpu-us makes it burn (the rest of test_monitor, and
    # test_profile, whose figures are shares of the profiled process, run in parallel)
    "tests/e2e/test_monitor.py::test_steps_table_has_the_targets_cpu_and_memory",
    "tests/e2e/test_monitor.py::test_monitor_cmd_measures_the_demos_cpu",
    "tests/e2e/test_examples.py::test_breakpoint_stops_at_the_breaking_point",
    "tests/e2e/test_test_types.py::test_breakpoint_stops_at_the_first_failing_slo",
    # the sweep measures the demo's capacity (its module fixture is shared by these three)
    "tests/e2e/test_capacity_sweep.py::test_sweep_fits_the_demos_capacity",
    "tests/e2e/test_capacity_sweep.py::test_fit_and_plan_from_the_sweep",
    "tests/e2e/test_capacity_sweep.py::test_report_has_the_capacity_section",
    # twelve short runs whose p95 must step at run 9: in the parallel part a stalled second
    # made one run's p95 twice the rest, and a 25% step was no longer significant
    "tests/e2e/test_history.py::test_gate_flags_the_change_point_of_a_slower_history",
}


def pytest_configure(config):
    config.addinivalue_line("markers", "torture: issue #8 reliability suite "
                            "(hostile servers, signals; tests/e2e/test_torture.py)")
    config.addinivalue_line("markers", "serial: needs the CPU to itself (capacity, rates, "
                            "CPU%); run after the parallel tests, one at a time")


# The modules that take longest in the parallel part (seconds on 2 cores, about), started
# first: pytest-xdist's --dist loadfile hands out modules in collection order, so a long one
# collected last (alphabetically) ran alone at the end while the other workers idled.
LONG_MODULES = {
    "test_assess_demo": 110, "test_verdicts": 90, "test_readme": 75, "test_script_stop": 68,
    "test_bounded_io": 65, "test_coordinate": 100, "test_accounting": 56,
    "test_merge_guards": 55, "test_assess": 51, "test_k8s": 50, "test_stuck_worker": 45,
    "test_series_cap": 42, "test_profile": 41, "test_ci_examples": 41, "test_http2": 39,
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = getattr(item, "module", None)
        name = module.__name__.rsplit(".", 1)[-1] if module else ""
        nodeid = item.nodeid.split("[", 1)[0]
        if name in SERIAL_MODULES or any(nodeid.endswith(t.split("tests/e2e/", 1)[-1])
                                         for t in SERIAL_TESTS):
            item.add_marker(pytest.mark.serial)
    # longest modules first (a stable sort: each module's tests keep their order)
    def weight(item):
        module = getattr(item, "module", None)
        return -LONG_MODULES.get(module.__name__.rsplit(".", 1)[-1] if module else "", 0)
    items.sort(key=weight)
