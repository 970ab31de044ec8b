#!/usr/bin/python3
"""stampede benchmark harness: stampede vs wrk on a loopback nginx.

Run by `make bench` as:  /usr/bin/python3 bench/bench.py --bin /abs/path/build/stampede

What it does, in one go:
  * starts its own nginx (Debian nginx-light) on 127.0.0.1:<free port> with a private
    config in a temp dir: 1 worker pinned to CPU 0, `return 200 "ok\\n"`, no access log,
    long keep-alive;
  * runs each client of a pair (wrk, stampede) pinned to CPU 1 (`taskset -c 1`), 1 thread,
    N connections, the same duration, alternating A B A B for --rounds rounds;
  * measures each client's user+sys CPU time and max RSS with os.wait4() on the child,
    and its request count from its own report (wrk's text, stampede's --summary-export);
  * prints a table, per-tool medians and the ratio of CPU time per request (B/A);
  * runs the open-model rate test (stampede --rate R) and checks it reaches R within 1%;
  * writes everything as JSON (default build/bench-results.json).

Network safety: the only address ever used is 127.0.0.1, and the only server is the nginx
this script starts; every child process has a deadline and is killed past it.

Exit status: 0 when the harness worked (whatever the figures say, including a failing or
missing stampede); 2 on harness errors (missing wrk/nginx/taskset, nginx not starting,
wrk failing, bad flags).

Python standard library only.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_JSON = os.path.join(REPO_ROOT, "build", "bench-results.json")

LOOPBACK = "127.0.0.1"      # the only address this harness ever talks to
SERVER_CPU = 0              # nginx (master and its single worker)
CLIENT_CPU = 1              # the load generator under test
THREADS = 1                 # client threads
RATE_TOLERANCE_PCT = 1.0    # rate test: |achieved - target| / target
CPU_RATIO_TARGET = 1.0      # CPU per request, B/A (the self-test's reference)
QUICK_RATIO_TARGET = 0.7    # issue #10: quick mode <= 0.7x wrk's CPU per request
SCRIPT_RATIO_TARGET = 0.8   # issue #10: scripted <= 0.8x wrk+Lua's
OPEN_CLOSED_RATIO_TARGET = 1.2  # issue #10: open-model CPU/request vs closed, same rate
H2_RATIO_TARGET = 1.0       # issue #17: HTTP/2 (h2c) CPU per request no more than h2load's
H2_STREAMS = 10             # concurrent streams per connection in the HTTP/2 pair (-m)
RUN_SLACK_S = 25            # a run may take duration + this before it is killed
STDERR_TAIL_LINES = 40


class HarnessError(Exception):
    """Something wrong with the environment or the harness itself (exit 2)."""


# --------------------------------------------------------------------------------------
# Running one pinned child and measuring it
# --------------------------------------------------------------------------------------

def tail(text, lines=STDERR_TAIL_LINES):
    parts = text.rstrip("\n").splitlines()
    return "\n".join(parts[-lines:])


def read_text(path):
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def proc_cpu_seconds(pid):
    """utime+stime of a live process from /proc (None when unavailable)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rfind(")") + 2:].split()
    # fields[0] is field 3 (state); utime/stime are fields 14/15.
    try:
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError):
        return None


def cpu_stat_snapshot(cpus):
    """{cpu: (user+nice+system seconds, total seconds)} from /proc/stat."""
    out = {}
    hz = float(os.sysconf("SC_CLK_TCK"))
    try:
        with open("/proc/stat") as f:
            for line in f:
                m = re.match(r"cpu(\d+) (.*)", line)
                if m and int(m.group(1)) in cpus:
                    v = [int(x) for x in m.group(2).split()]
                    out[int(m.group(1))] = (sum(v[:3]) / hz, sum(v[:8]) / hz)
    except (OSError, ValueError):
        pass
    return out


def child_pids(ppid):
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(")") + 2:].split()
        if len(fields) > 1 and fields[1] == str(ppid):
            out.append(int(name))
    return out


def kill_and_reap(pid, grace=3.0):
    """SIGTERM, then SIGKILL after `grace` seconds; returns (status, rusage) or None."""
    for sig, wait_s in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                wpid, status, ru = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                return None
            if wpid == pid:
                return status, ru
            time.sleep(0.02)
    return None


def vm_hwm_kb(pid):
    """Peak RSS (VmHWM, kB) of a live process's current address space, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("Name:") and line.split()[1:] == ["taskset"]:
                    return None  # not exec()ed into the tool yet
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def run_measured(argv, workdir, tag, timeout_s, server_pid=None):
    """Run argv pinned to CLIENT_CPU; return a dict with rc, CPU, RSS, wall, outputs.

    The child is `taskset -c 1 <argv>`; taskset exec()s the tool in place, so the pid we
    wait4() on is the tool itself and the rusage CPU times are the tool's (all threads).

    Max RSS: wait4()'s ru_maxrss is useless here, because Linux folds the RSS of the
    address space a process had before exec() -- a fork/vfork of this Python process --
    into it (a child running `true` reports Python's ~16 MB). So we sample VmHWM from
    /proc/PID/status while the tool runs and keep the last sample: VmHWM only grows
    within one address space, and the last sample is always from the tool's own one.
    ru_maxrss is kept in the results as ru_maxrss_kb for reference."""
    out_path = os.path.join(workdir, tag + ".stdout")
    err_path = os.path.join(workdir, tag + ".stderr")
    full = ["taskset", "-c", str(CLIENT_CPU)] + list(argv)
    res = {"argv": full, "rc": None, "timed_out": False, "wall_s": None,
           "cpu_user_s": None, "cpu_sys_s": None, "max_rss_kb": None, "ru_maxrss_kb": None,
           "server_cpu_s": None, "cpus_busy_s": None, "stdout": "", "stderr": ""}
    srv_before = proc_server_cpu(server_pid)
    stat_before = cpu_stat_snapshot((SERVER_CPU, CLIENT_CPU))
    with open(out_path, "wb") as fo, open(err_path, "wb") as fe:
        t0 = time.monotonic()
        try:
            proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe,
                                    cwd=workdir)
        except OSError as e:
            res["stderr"] = "cannot start %s: %s" % (full[0], e)
            return res
        pid = proc.pid
        pidfd = None
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pass
        status = ru = None
        hwm = None
        deadline = t0 + timeout_s
        try:
            while True:
                wpid, st, r = os.wait4(pid, os.WNOHANG)
                if wpid == pid:
                    status, ru = st, r
                    break
                h = vm_hwm_kb(pid)
                if h is not None:
                    hwm = h
                if time.monotonic() > deadline:
                    res["timed_out"] = True
                    got = kill_and_reap(pid)
                    if got:
                        status, ru = got
                    break
                # Wake on exit at once (pidfd), else every 50 ms to sample VmHWM.
                if pidfd is not None:
                    select.select([pidfd], [], [], 0.05)
                else:
                    time.sleep(0.05)
        except BaseException:
            kill_and_reap(pid, grace=0.5)
            raise
        finally:
            proc.returncode = 0  # reaped by hand; keep Popen from waiting again
            if pidfd is not None:
                os.close(pidfd)
        res["wall_s"] = time.monotonic() - t0
    srv_after = proc_server_cpu(server_pid)
    stat_after = cpu_stat_snapshot((SERVER_CPU, CLIENT_CPU))
    if srv_before is not None and srv_after is not None:
        res["server_cpu_s"] = srv_after - srv_before
    if len(stat_before) == 2 and len(stat_after) == 2:
        res["cpus_busy_s"] = sum(stat_after[c][0] - stat_before[c][0] for c in stat_after)
    if status is not None:
        res["rc"] = os.waitstatus_to_exitcode(status)
    if ru is not None:
        res["cpu_user_s"] = ru.ru_utime
        res["cpu_sys_s"] = ru.ru_stime
        res["ru_maxrss_kb"] = ru.ru_maxrss  # kilobytes on Linux
    res["max_rss_kb"] = hwm
    res["stdout"] = read_text(out_path)
    res["stderr"] = read_text(err_path)
    return res


def proc_server_cpu(master_pid):
    """CPU seconds used so far by nginx's worker(s)."""
    if master_pid is None:
        return None
    total = 0.0
    workers = child_pids(master_pid)
    if not workers:
        return None
    for w in workers:
        c = proc_cpu_seconds(w)
        if c is None:
            return None
        total += c
    return total


# --------------------------------------------------------------------------------------
# Tools: each knows how to build its command line and how to read its request count.
# A pair is (A, B); the ratio printed is B/A. To add a comparison later (e.g. wrk -s
# script.lua vs `stampede run script.js`), write two Tool subclasses and append a Pair
# to build_pairs().
# --------------------------------------------------------------------------------------

class Tool:
    name = "tool"

    def __init__(self, name=None):
        if name:
            self.name = name

    def available(self):
        """None when runnable, else a reason string."""
        return None

    def argv(self, ctx, workdir, tag):
        raise NotImplementedError

    def parse(self, res, ctx, workdir, tag):
        """Return dict: ok, requests, elapsed_s, errors (int), error (str|None)."""
        raise NotImplementedError


class WrkTool(Tool):
    name = "wrk"
    _units = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}

    def __init__(self, path, name=None, script=None):
        super().__init__(name)
        self.path = path
        self.script = script

    def available(self):
        if not os.access(self.path, os.X_OK):
            return "%s not found" % self.path
        return None

    def argv(self, ctx, workdir, tag):
        extra = ["-s", self.script] if self.script else []
        return [self.path, "-t%d" % THREADS, "-c%d" % ctx["connections"],
                "-d%ds" % ctx["duration"]] + extra + [ctx["url"]]

    def parse(self, res, ctx, workdir, tag):
        out = res["stdout"]
        m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", out)
        if res["rc"] != 0 or not m:
            return {"ok": False, "requests": None, "elapsed_s": None, "errors": None,
                    "error": "wrk exited %s%s" % (res["rc"], "" if m else
                                                  ", no 'N requests in T' line")}
        errors = 0
        se = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
        if se:
            errors += sum(int(x) for x in se.groups())
        nx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if nx:
            errors += int(nx.group(1))
        return {"ok": True, "requests": int(m.group(1)),
                "elapsed_s": float(m.group(2)) * self._units[m.group(3)],
                "errors": errors, "error": None}


class StampedeTool(Tool):
    name = "stampede"

    def __init__(self, path, name=None, extra=None):
        super().__init__(name)
        self.path = path
        self.extra = list(extra or [])

    def available(self):
        if not self.path:
            return "no --bin given"
        if not os.path.isfile(self.path):
            return "binary not found: %s (build it with `make`)" % self.path
        if not os.access(self.path, os.X_OK):
            return "binary not executable: %s" % self.path
        return None

    def summary_path(self, workdir, tag):
        return os.path.join(workdir, tag + ".summary.json")

    def argv(self, ctx, workdir, tag):
        return [self.path, "run", "--url", ctx["url"], "--vus", str(ctx["connections"]),
                "--duration", "%ds" % ctx["duration"], "--threads", str(THREADS)] + \
            self.extra + ctx.get("stampede_args", []) + \
            ["--summary-export", self.summary_path(workdir, tag), "-q"]

    def parse(self, res, ctx, workdir, tag):
        fail = {"ok": False, "requests": None, "elapsed_s": None, "errors": None}
        path = self.summary_path(workdir, tag)
        try:
            with open(path) as f:
                summary = json.load(f)
        except (OSError, ValueError) as e:
            return dict(fail, error="stampede exited %s; no usable summary export (%s)"
                        % (res["rc"], e))
        res["summary"] = summary
        try:
            requests = int(summary["metrics"]["http_reqs"]["count"])
        except (KeyError, TypeError, ValueError):
            return dict(fail, error="summary export has no metrics.http_reqs.count")
        elapsed = None
        try:
            elapsed = float(summary["state"]["testRunDurationMs"]) / 1000.0
        except (KeyError, TypeError, ValueError):
            pass
        errors = None
        try:
            errors = int(summary["metrics"]["http_req_failed"]["passes"])
        except (KeyError, TypeError, ValueError):
            pass
        out = {"ok": res["rc"] == 0, "requests": requests, "elapsed_s": elapsed,
               "errors": errors, "error": None}
        if res["rc"] != 0:
            out["error"] = "stampede exited %s" % res["rc"]
        return out


class StampedeScriptTool(StampedeTool):
    """stampede running a Lua script (the URL goes in as BASE_URL)."""

    def __init__(self, path, script, name=None):
        super().__init__(path, name)
        self.script = script

    def argv(self, ctx, workdir, tag):
        return [self.path, "run", self.script, "--vus", str(ctx["connections"]),
                "--duration", "%ds" % ctx["duration"], "--threads", str(THREADS),
                "-e", "BASE_URL=" + ctx["url"].rstrip("/")] + \
            ctx.get("stampede_args", []) + \
            ["--summary-export", self.summary_path(workdir, tag), "-q"]


class H2loadTool(Tool):
    """nghttp2's h2load over h2c (prior knowledge): --connections / H2_STREAMS connections of
    H2_STREAMS streams each (-m), 1 thread."""
    name = "h2load"

    def __init__(self, path, name=None):
        super().__init__(name)
        self.path = path

    def available(self):
        if not self.path or not os.access(self.path, os.X_OK):
            return "h2load not found (apt-get install nghttp2-client)"
        return None

    def argv(self, ctx, workdir, tag):
        return [self.path, "-c", str(max(1, ctx["connections"] // H2_STREAMS)),
                "-m", str(H2_STREAMS), "-t", "1", "-D", str(ctx["duration"]), ctx["url_h2"]]

    def parse(self, res, ctx, workdir, tag):
        import peers  # bench/peers.py: the same parser as `make bench-peers`
        try:
            out = peers.parse_h2load(res["stdout"])
        except Exception as e:  # peers.ParseError, or an unexpected report
            return {"ok": False, "requests": None, "elapsed_s": None, "errors": None,
                    "error": "h2load exited %s: %s" % (res["rc"], e)}
        return dict(out, ok=res["rc"] == 0, error=None if res["rc"] == 0 else
                    "h2load exited %s" % res["rc"])


class StampedeH2Tool(StampedeTool):
    """stampede --http2-prior-knowledge with the same connections and streams as h2load:
    --vus = connections (each a concurrent stream), --streams H2_STREAMS per connection."""

    def argv(self, ctx, workdir, tag):
        vus = max(1, ctx["connections"] // H2_STREAMS) * H2_STREAMS
        return [self.path, "run", "--url", ctx["url_h2"], "--http2-prior-knowledge",
                "--streams", str(H2_STREAMS), "--vus", str(vus),
                "--duration", "%ds" % ctx["duration"], "--threads", str(THREADS)] + \
            ctx.get("stampede_args", []) + \
            ["--summary-export", self.summary_path(workdir, tag), "-q"]


class Pair:
    def __init__(self, label, a, b, a_is_reference=True, target=None, note=None):
        self.label = label
        self.a = a
        self.b = b
        self.a_is_reference = a_is_reference
        self.target = CPU_RATIO_TARGET if target is None else target
        self.note = note


def build_pairs(args):
    wrk = WrkTool(args.wrk)
    if args.self_test:
        b = WrkTool(args.wrk, name="wrk(self-test)")
    else:
        b = StampedeTool(args.bin)
    pairs = [Pair("quick mode: GET / -> return 200", wrk, b,
                  target=CPU_RATIO_TARGET if args.self_test else QUICK_RATIO_TARGET)]
    if not args.self_test and not args.no_script_test:
        here = os.path.dirname(os.path.abspath(__file__))
        pairs.append(Pair("scripted: Lua request() + response() vs http.get + check",
                          WrkTool(args.wrk, name="wrk+lua",
                                  script=os.path.join(here, "scripts", "wrk_check.lua")),
                          StampedeScriptTool(args.bin,
                                             os.path.join(here, "scripts", "stampede_check.lua"),
                                             name="stampede+lua"),
                          target=SCRIPT_RATIO_TARGET))
    if not args.self_test and not args.no_h2_test:
        # Issue #17: HTTP/2 against h2load, same nginx (an h2c listener), same streams.
        pairs.append(Pair("HTTP/2 (h2c, %d streams per connection)" % H2_STREAMS,
                          H2loadTool(shutil.which("h2load")), StampedeH2Tool(args.bin),
                          target=H2_RATIO_TARGET,
                          note="h2load -c %d -m %d -t 1 vs stampede --http2-prior-knowledge "
                               "--vus %d --streams %d" % (
                                   max(1, args.connections // H2_STREAMS), H2_STREAMS,
                                   max(1, args.connections // H2_STREAMS) * H2_STREAMS,
                                   H2_STREAMS)))
    if not args.self_test and not args.no_rate_test:
        # Issue #10: the open model costs no more than the closed one for the same work.
        # The closed model runs at the same rate through think time (VUs / rate, less
        # the ~50 us a request takes here), so both pay the same wake-ups per request.
        think_us = max(0, int(1e6 * args.connections / args.rate) - 50)
        pairs.append(Pair(
            "open vs closed model at %d req/s" % args.rate,
            StampedeTool(args.bin, name="closed(think)",
                         extra=["--sleep", "%dus" % think_us]),
            StampedeTool(args.bin, name="open(rate)",
                         extra=["--rate", str(args.rate), "--max-vus", str(args.max_vus)]),
            a_is_reference=False, target=OPEN_CLOSED_RATIO_TARGET,
            note="closed: --vus %d --sleep %dus; open: --rate %d --max-vus %d "
                 "(default --arrival-window)" % (args.connections, think_us, args.rate,
                                                 args.max_vus)))
    return pairs


# --------------------------------------------------------------------------------------
# nginx
# --------------------------------------------------------------------------------------

NGINX_CONF = """\
# generated by bench/bench.py -- private instance, loopback only
{user_line}worker_processes 1;
worker_cpu_affinity {affinity};
daemon off;
master_process on;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
worker_rlimit_nofile 65536;

events {{
    worker_connections 30000;
}}

http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    default_type text/plain;
{temp_paths}
    server {{
        listen {addr}:{port};
        location / {{
            return 200 "ok\\n";
        }}
    }}
    server {{
        listen {addr}:{h2port} http2;
        http2_max_requests 1000000;
        location / {{
            return 200 "ok\\n";
        }}
    }}
}}
"""


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def http_probe(port, timeout=1.0):
    """One GET to our own nginx on loopback; True on a 200."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            data = b""
            while len(data) < 64:
                chunk = s.recv(256)
                if not chunk:
                    break
                data += chunk
            return data.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


class Nginx:
    def __init__(self, path, workdir):
        self.path = path
        self.dir = os.path.join(workdir, "nginx")
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None
        self.port = None
        self.h2port = None
        self.version = None

    def _temp_paths(self):
        try:
            v = subprocess.run([self.path, "-V"], capture_output=True, text=True,
                               timeout=10).stderr
        except (OSError, subprocess.TimeoutExpired):
            v = ""
        m = re.search(r"nginx/(\S+)", v)
        self.version = m.group(1) if m else None
        lines = []
        for mod, directive in (("proxy", "proxy_temp_path"), ("fastcgi", "fastcgi_temp_path"),
                               ("uwsgi", "uwsgi_temp_path"), ("scgi", "scgi_temp_path")):
            if "--without-http_%s_module" % mod in v:
                continue
            lines.append("    %s %s/%s;" % (directive, self.dir, mod))
        lines.insert(0, "    client_body_temp_path %s/body;" % self.dir)
        return "\n".join(lines)

    def start(self, timeout_s=10.0):
        temp_paths = self._temp_paths()
        last_err = ""
        for _attempt in range(3):
            self.port = free_port()
            self.h2port = free_port()
            conf = NGINX_CONF.format(h2port=self.h2port,
                user_line="user root;\n" if os.geteuid() == 0 else "",
                affinity=format(1 << SERVER_CPU, "b"),
                tmp=self.dir, temp_paths=temp_paths, addr=LOOPBACK, port=self.port)
            conf_path = os.path.join(self.dir, "nginx.conf")
            with open(conf_path, "w") as f:
                f.write(conf)
            log = open(os.path.join(self.dir, "stderr.log"), "wb")
            self.proc = subprocess.Popen(
                ["taskset", "-c", str(SERVER_CPU), self.path, "-p", self.dir + "/",
                 "-c", conf_path, "-e", os.path.join(self.dir, "error.log")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            log.close()
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if http_probe(self.port, timeout=0.5) and child_pids(self.proc.pid):
                    return
                time.sleep(0.05)
            last_err = (read_text(os.path.join(self.dir, "stderr.log")) +
                        read_text(os.path.join(self.dir, "error.log")))
            self.stop()
            if "Address already in use" not in last_err:
                break
        raise HarnessError("nginx did not start on %s:%s\n%s" % (LOOPBACK, self.port,
                                                                 tail(last_err)))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            workers = child_pids(self.proc.pid)
            for sig, wait_s in ((signal.SIGQUIT, 5), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                try:
                    self.proc.send_signal(sig)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(timeout=wait_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
            if sig == signal.SIGKILL:
                # The master had to be killed: its worker may be left behind.
                for w in workers:
                    try:
                        os.kill(w, signal.SIGKILL)
                    except OSError:
                        pass
        self.proc = None


# --------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------

def fmt(v, spec, na="-"):
    return na if v is None else format(v, spec)


def median_or_none(values):
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def one_run(tool, ctx, workdir, tag, server_pid):
    row = {"tool": tool.name, "round": ctx.get("round"), "ok": False, "requests": None,
           "elapsed_s": None, "req_per_s": None, "cpu_user_s": None, "cpu_sys_s": None,
           "cpu_us_per_req": None, "cpu_percent": None, "max_rss_kb": None,
           "ru_maxrss_kb": None, "server_cpu_percent": None, "other_cpu_percent": None,
           "errors": None, "error": None,
           "rc": None, "argv": None, "stderr_tail": None}
    why = tool.available()
    if why:
        row["error"] = why
        return row
    argv = tool.argv(ctx, workdir, tag)
    res = run_measured(argv, workdir, tag, ctx["duration"] + RUN_SLACK_S, server_pid)
    row["argv"] = res["argv"]
    row["rc"] = res["rc"]
    row["cpu_user_s"] = res["cpu_user_s"]
    row["cpu_sys_s"] = res["cpu_sys_s"]
    row["max_rss_kb"] = res["max_rss_kb"]
    row["ru_maxrss_kb"] = res["ru_maxrss_kb"]
    parsed = tool.parse(res, ctx, workdir, tag)
    row.update(parsed)
    if res["timed_out"]:
        row["ok"] = False
        row["error"] = "killed after %ss (timeout)" % (ctx["duration"] + RUN_SLACK_S)
    elapsed = row["elapsed_s"] or res["wall_s"]
    row["elapsed_s"] = elapsed
    if row["requests"] and elapsed:
        row["req_per_s"] = row["requests"] / elapsed
    cpu = None
    if res["cpu_user_s"] is not None:
        cpu = res["cpu_user_s"] + res["cpu_sys_s"]
        if res["wall_s"]:
            row["cpu_percent"] = 100.0 * cpu / res["wall_s"]
    if cpu is not None and row["requests"]:
        row["cpu_us_per_req"] = cpu * 1e6 / row["requests"]
    if res["server_cpu_s"] is not None and res["wall_s"]:
        row["server_cpu_percent"] = 100.0 * res["server_cpu_s"] / res["wall_s"]
        # Whatever else ran on CPUs 0 and 1 meanwhile (user+system time not ours): a
        # noise indicator, accurate to a few % (tick accounting).
        if res["cpus_busy_s"] is not None and cpu is not None:
            row["other_cpu_percent"] = max(0.0, 100.0 * (
                res["cpus_busy_s"] - cpu - res["server_cpu_s"]) / res["wall_s"])
    if not row["ok"] or row["error"]:
        row["stderr_tail"] = tail(res["stderr"]) or tail(res["stdout"])
    row["summary"] = res.get("summary")
    return row


TABLE_FMT = "%-16s %5s %11s %11s %11s %7s %8s %8s %7s"
TABLE_HDR = TABLE_FMT % ("tool", "round", "req/s", "CPU us/req", "max RSS MB", "CPU %",
                         "nginx %", "other %", "errors")
NOISY_OTHER_PERCENT = 10.0  # other work on CPUs 0-1 above this marks a run as noisy


def table_line(name, rnd, r):
    rss = r.get("max_rss_kb")
    return TABLE_FMT % (
        name, rnd, fmt(r.get("req_per_s"), ",.0f"), fmt(r.get("cpu_us_per_req"), ".3f"),
        fmt(None if rss is None else rss / 1024.0, ".1f"), fmt(r.get("cpu_percent"), ".1f"),
        fmt(r.get("server_cpu_percent"), ".1f"), fmt(r.get("other_cpu_percent"), ".1f"),
        fmt(r.get("errors"), "d"))


def print_failure(row):
    print("  !! %s round %s failed: %s" % (row["tool"], row["round"], row["error"]))
    if row.get("argv"):
        print("     command: %s" % " ".join(row["argv"]))
    if row.get("stderr_tail"):
        print("     stderr (last lines):")
        for line in row["stderr_tail"].splitlines():
            print("       | " + line)


def run_pair(pair, args, ctx_base, workdir, nginx, pair_idx):
    print()
    print("== %s: %s (A) vs %s (B), %d connections, %d thread, %d s per run, %d round(s)" % (
        pair.label, pair.a.name, pair.b.name, ctx_base["connections"], THREADS,
        ctx_base["duration"], args.rounds))
    if pair.note:
        print(pair.note)
    print(TABLE_HDR)
    sys.stdout.flush()
    rows = []
    for rnd in range(1, args.rounds + 1):
        for slot, tool in (("A", pair.a), ("B", pair.b)):
            if not nginx.alive():
                raise HarnessError("nginx died during the benchmark:\n" +
                                   tail(read_text(os.path.join(nginx.dir, "error.log"))))
            ctx = dict(ctx_base, round=rnd)
            tag = "p%d-r%d-%s" % (pair_idx, rnd, slot)
            row = one_run(tool, ctx, workdir, tag, nginx.proc.pid)
            row["slot"] = slot
            rows.append(row)
            print(table_line(tool.name, rnd, row))
            if not row["ok"]:
                print_failure(row)
            sys.stdout.flush()
            time.sleep(0.5)  # let the loopback connections settle
    medians = {}
    print("-" * len(TABLE_HDR))
    for slot, tool in (("A", pair.a), ("B", pair.b)):
        ok = [r for r in rows if r["slot"] == slot and r["ok"]]
        med = {"runs_ok": len(ok),
               "req_per_s": median_or_none(r["req_per_s"] for r in ok),
               "cpu_us_per_req": median_or_none(r["cpu_us_per_req"] for r in ok),
               "max_rss_kb": median_or_none(r["max_rss_kb"] for r in ok),
               "cpu_percent": median_or_none(r["cpu_percent"] for r in ok),
               "server_cpu_percent": median_or_none(r["server_cpu_percent"] for r in ok),
               "other_cpu_percent": median_or_none(r["other_cpu_percent"] for r in ok)}
        medians[tool.name] = med
        print(table_line(tool.name, "med", med))
    a_cpu = medians[pair.a.name]["cpu_us_per_req"]
    b_cpu = medians[pair.b.name]["cpu_us_per_req"]
    ratio = b_cpu / a_cpu if (a_cpu and b_cpu is not None) else None
    verdict = None
    if ratio is None:
        why = "%s has no successful run" % (pair.b.name if a_cpu else pair.a.name)
        print("CPU per request, %s/%s: n/a (%s) (target <= %.1f)" % (
            pair.b.name, pair.a.name, why, pair.target))
    elif args.self_test:
        # Same tool in both slots: the ratio shows the harness's own noise.
        verdict = "SELF-TEST"
        print("CPU per request, %s/%s: %.2f (self-test: same tool in A and B, expect about "
              "1.00; the spread is the measurement noise)" % (pair.b.name, pair.a.name, ratio))
    else:
        verdict = "PASS" if ratio <= pair.target else "FAIL"
        print("CPU per request, %s/%s: %.2f (target <= %.1f) %s" % (
            pair.b.name, pair.a.name, ratio, pair.target, verdict))
    for r in rows:
        if r["ok"] and r["errors"]:
            print("  note: %s round %s reported %d failed requests/socket errors" % (
                r["tool"], r["round"], r["errors"]))
    noisy = [r for r in rows if (r["other_cpu_percent"] or 0) > NOISY_OTHER_PERCENT]
    if noisy:
        print("  warning: other processes used CPU 0/1 during %d of %d runs (`other %%` up to "
              "%.0f%% of a CPU): the figures are noisy; rerun on an idle machine" % (
                  len(noisy), len(rows), max(r["other_cpu_percent"] for r in noisy)))
    for r in rows:
        r.pop("summary", None)
    return {"label": pair.label, "a": pair.a.name, "b": pair.b.name, "runs": rows,
            "medians": medians,
            "cpu_per_req_ratio": ratio, "cpu_per_req_ratio_target": pair.target,
            "verdict": verdict, "noisy_runs": len(noisy)}


def run_rate_test(args, ctx_base, workdir, nginx):
    target = args.rate
    duration = ctx_base["duration"]
    print()
    print("== rate test: stampede --rate %d --duration %ds --threads %d --vus %d "
          "--max-vus %d (CPU %d)" % (target, duration, THREADS, args.connections,
                                     args.max_vus, CLIENT_CPU))
    out = {"target_rate": target, "duration_s": duration, "ok": False, "requests": None,
           "achieved_rate": None, "deviation_percent": None, "dropped_iterations": None,
           "verdict": None, "error": None}
    if args.self_test:
        out["error"] = "skipped in --self-test (wrk has no open-model rate option)"
        print("skipped: --self-test runs wrk in stampede's place, and wrk has no --rate")
        return out
    tool = StampedeTool(args.bin, name="stampede(rate)",
                        extra=["--rate", str(target), "--max-vus", str(args.max_vus)])
    if not nginx.alive():
        raise HarnessError("nginx died before the rate test")
    ctx = dict(ctx_base, round=1)
    row = one_run(tool, ctx, workdir, "rate", nginx.proc.pid)
    summary = row.pop("summary", None)
    out.update({k: row[k] for k in ("ok", "requests", "error", "rc", "argv", "cpu_user_s",
                                     "cpu_sys_s", "max_rss_kb", "cpu_percent",
                                     "cpu_us_per_req", "other_cpu_percent", "errors",
                                     "stderr_tail")})
    if summary:
        try:
            out["dropped_iterations"] = int(
                summary["metrics"]["dropped_iterations"]["count"])
        except (KeyError, TypeError, ValueError):
            out["dropped_iterations"] = 0 if "metrics" in summary else None
    if row["requests"] is not None:
        achieved = row["requests"] / float(duration)
        dev = 100.0 * (achieved - target) / target
        out["achieved_rate"] = achieved
        out["deviation_percent"] = dev
        out["verdict"] = "PASS" if (row["ok"] and abs(dev) <= RATE_TOLERANCE_PCT) else "FAIL"
        print("achieved %s req/s vs target %s req/s: deviation %+.2f%% (tolerance %.0f%%) %s"
              % (format(achieved, ",.1f"), format(target, ","), dev, RATE_TOLERANCE_PCT,
                 out["verdict"]))
        print("  (%d requests / %d s; CPU %s us/req, max RSS %s MB, dropped iterations %s)"
              % (row["requests"], duration, fmt(row["cpu_us_per_req"], ".3f"),
                 fmt(None if row["max_rss_kb"] is None else row["max_rss_kb"] / 1024.0,
                     ".1f"), fmt(out["dropped_iterations"], "d")))
        if (row["other_cpu_percent"] or 0) > NOISY_OTHER_PERCENT:
            print("  warning: other processes used %.0f%% of a CPU on CPUs 0/1 meanwhile; "
                  "rerun on an idle machine" % row["other_cpu_percent"])
    else:
        out["verdict"] = "FAIL"
        print("rate test: FAIL (no result)")
    if not row["ok"]:
        print_failure(row)
    return out


VU_MEMORY_SCRIPT = """-- 10,000 idle-most-of-the-time VUs: one request, then 5 s of think time
local http = require "stampede.http"
local URL = stampede.env.BASE_URL .. "/"
function default()
  http.get(URL)
  stampede.sleep(5)
end
"""
VU_MEMORY_TARGET_MB = 60.0    # issue #10: <= 6 kB per idle VU, 10,000 VUs in 60 MB


SERIES_SCRIPT = """
local http = require "stampede.http"
local n, pause = 0, tonumber(stampede.env.SLEEP or "0")
function default()
  n = n + 1
  http.get(stampede.env.BASE_URL .. "/item/" .. (n % tonumber(stampede.env.URLS) + 1))
  if pause > 0 then stampede.sleep(pause) end
end
"""
SERIES_URLS = 200
SERIES_TARGET_KB_PER_URL = 256      # issue #10: each distinct URL (series) costs <= 256 kB
SERIES_TARGET_TOTAL_MB = 70         # and 200 of them stay under 70 MB in all


def peak_rss_of(argv, timeout_s):
    """Run argv; return (exit code, peak VmHWM in kB, stderr tail)."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    peak = 0
    deadline = time.monotonic() + timeout_s
    while p.poll() is None and time.monotonic() < deadline:
        peak = max(peak, vm_hwm_kb(p.pid) or 0)
        time.sleep(0.05)
    if p.poll() is None:
        p.kill()
    p.wait()
    return p.returncode, peak, p.stderr.read().decode(errors="replace")[-500:]


def run_series_memory_test(args, ctx_base, workdir, nginx):
    """Peak RSS with 1 and with SERIES_URLS distinct URLs (no name tag: a series per URL,
    about ten per request with the phases), 2 VUs for 2 s: the cost of one more series."""
    print()
    print("== series memory: 2 VUs, 2 s, requests to 1 vs %d distinct URLs (a series each)"
          % SERIES_URLS)
    script = os.path.join(workdir, "series.lua")
    with open(script, "w") as f:
        f.write(SERIES_SCRIPT)
    out = {"urls": SERIES_URLS, "rss_1_kb": None, "rss_n_kb": None, "kb_per_url": None,
           "verdict": None}
    peaks = []
    for urls in (1, SERIES_URLS):
        argv = [args.bin, "run", script, "--vus", "2", "--duration", "2s", "-t", "1",
                "-e", "BASE_URL=" + ctx_base["url"].rstrip("/"), "-e", "URLS=%d" % urls,
                "-q", "--no-summary"]
        rc, peak, err = peak_rss_of(argv, 60)
        if rc != 0:
            print("  stampede exited %s: %s" % (rc, err))
        peaks.append(peak)
    out["rss_1_kb"], out["rss_n_kb"] = peaks
    per = (peaks[1] - peaks[0]) / float(SERIES_URLS - 1)
    out["kb_per_url"] = per
    ok = peaks[0] and per <= SERIES_TARGET_KB_PER_URL and \
        peaks[1] / 1024.0 <= SERIES_TARGET_TOTAL_MB
    out["verdict"] = "PASS" if ok else "FAIL"
    print("peak RSS %.1f MB for 1 URL, %.1f MB for %d: %.0f kB per additional URL "
          "(targets <= %d kB, <= %d MB) %s"
          % (peaks[0] / 1024.0, peaks[1] / 1024.0, SERIES_URLS, per,
             SERIES_TARGET_KB_PER_URL, SERIES_TARGET_TOTAL_MB, out["verdict"]))
    return out


IDLE_SCRIPT = """
local http = require "stampede.http"
options = { scenarios = { s = { executor = "shared-iterations", vus = 1,
                                iterations = tonumber(stampede.env.N) } } }
function default() http.get(stampede.env.BASE_URL .. "/u/" .. stampede.scenario.iteration) end
"""
IDLE_URLS = 150
IDLE_TARGET_KB_PER_SERIES = 16      # issue #10: a series whose tags were seen once


def run_idle_series_test(args, ctx_base, workdir, nginx):
    """Peak RSS with 1 and IDLE_URLS distinct URLs each requested once (their series get
    one sample, then stay idle), divided by the series the result file counts."""
    print()
    print("== idle series: 1 VU, 1 vs %d distinct URLs requested once each" % IDLE_URLS)
    script = os.path.join(workdir, "idle.lua")
    with open(script, "w") as f:
        f.write(IDLE_SCRIPT)
    out = {"urls": IDLE_URLS, "kb_per_series": None, "verdict": None}
    peaks, series = [], []
    for n in (1, IDLE_URLS):
        res = os.path.join(workdir, "idle-%d.json" % n)
        argv = [args.bin, "run", script, "-t", "1", "-e", "N=%d" % n,
                "-e", "BASE_URL=" + ctx_base["url"].rstrip("/"), "-q", "--no-summary",
                "--out", "result=" + res]
        rc, peak, err = peak_rss_of(argv, 60)
        if rc != 0:
            print("  stampede exited %s: %s" % (rc, err))
        peaks.append(peak)
        try:
            with open(res) as f:
                series.append(sum(len(m["series"]) for m in json.load(f)["metrics"].values()))
        except (OSError, ValueError, KeyError):
            series.append(0)
    extra = series[1] - series[0]
    per = (peaks[1] - peaks[0]) / float(extra) if extra > 0 else None
    out["kb_per_series"] = per
    ok = per is not None and per <= IDLE_TARGET_KB_PER_SERIES
    out["verdict"] = "PASS" if ok else "FAIL"
    print("peak RSS %.1f MB with %d series, %.1f MB with %d: %s kB per idle series "
          "(target <= %d kB) %s"
          % (peaks[0] / 1024.0, series[0], peaks[1] / 1024.0, series[1], fmt(per, ".1f"),
             IDLE_TARGET_KB_PER_SERIES, out["verdict"]))
    return out


SOAK_URLS = 5                    # issue #10: "a 1-hour run with 50 series stays flat":
                                 # 5 URLs, each a series of ~10 http_* metrics
SOAK_TARGET_GROWTH_KB = 1024     # RSS growth after the first minute


def run_soak_memory_test(args, ctx_base, workdir, nginx):
    """RSS (VmRSS, sampled each second) of a run over SOAK_URLS distinct URLs (each a
    series of every http_* metric): its growth from the first minute to the end. Points
    are bounded per series and per metric (docs/ARCHITECTURE.md), so a longer run grows
    no more; bench/README.md gives a 1-hour measurement."""
    duration = args.soak_duration
    print()
    print("== soak memory: 4 VUs, %d distinct URLs, %d s: RSS after the first minute"
          % (SOAK_URLS, duration))
    script = os.path.join(workdir, "soak.lua")
    with open(script, "w") as f:
        f.write(SERIES_SCRIPT)
    argv = [args.bin, "run", script, "--vus", "4", "--duration", "%ds" % duration,
            "-t", "1", "-e", "BASE_URL=" + ctx_base["url"].rstrip("/"),
            "-e", "URLS=%d" % SOAK_URLS, "-e", "SLEEP=0.005", "-q", "--no-summary"]
    out = {"urls": SOAK_URLS, "duration_s": duration, "rss_at_60s_kb": None,
           "rss_max_after_kb": None, "growth_kb": None, "verdict": None}
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    start = time.monotonic()
    at60, after = None, 0
    while p.poll() is None and time.monotonic() < start + duration + 60:
        rss = None
        try:
            with open("/proc/%d/status" % p.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1])
        except OSError:
            pass
        elapsed = time.monotonic() - start
        if rss is not None and elapsed < duration - 1:  # not the final result building
            if elapsed >= 60 and at60 is None:
                at60 = rss
            elif at60 is not None:
                after = max(after, rss)
        time.sleep(1.0)
    if p.poll() is None:
        p.kill()
    p.wait()
    err = p.stderr.read().decode(errors="replace")
    if at60 is None or not after:
        out["verdict"] = "FAIL"
        print("soak memory: FAIL (no RSS samples after the first minute; exit %s) %s"
              % (p.returncode, err[-300:]))
        return out
    growth = after - at60
    out.update(rss_at_60s_kb=at60, rss_max_after_kb=after, growth_kb=growth)
    out["verdict"] = "PASS" if (p.returncode == 0 and growth <= SOAK_TARGET_GROWTH_KB) \
        else "FAIL"
    print("RSS %.1f MB at 60 s, at most %.1f MB until %d s: %+d kB (target <= %d kB) %s"
          % (at60 / 1024.0, after / 1024.0, duration, growth, SOAK_TARGET_GROWTH_KB,
             out["verdict"]))
    if p.returncode != 0:
        print("  stampede exited %s: %s" % (p.returncode, err[-500:]))
    return out


def run_vu_memory_test(args, ctx_base, workdir, nginx):
    """Peak RSS of stampede with many VUs each looping http.get + sleep(5)."""
    vus, duration = args.memory_vus, 15
    print()
    print("== VU memory: %d VUs looping http.get + sleep(5) for %d s" % (vus, duration))
    script = os.path.join(workdir, "vu_memory.lua")
    with open(script, "w") as f:
        f.write(VU_MEMORY_SCRIPT)
    summary = os.path.join(workdir, "vu_memory.summary.json")
    argv = [args.bin, "run", script, "--vus", str(vus), "--duration", "%ds" % duration,
            "-e", "BASE_URL=" + ctx_base["url"].rstrip("/"), "-q", "--no-summary",
            "--summary-export", summary]
    out = {"vus": vus, "duration_s": duration, "peak_rss_kb": None, "requests": None,
           "kb_per_vu": None, "verdict": None}
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    peak = 0
    deadline = time.monotonic() + duration + 60
    while p.poll() is None and time.monotonic() < deadline:
        try:
            with open("/proc/%d/status" % p.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.2)
    if p.poll() is None:
        p.kill()
    p.wait()
    err = p.stderr.read().decode(errors="replace")
    try:
        with open(summary) as f:
            out["requests"] = int(json.load(f)["metrics"]["http_reqs"]["count"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    out["peak_rss_kb"] = peak
    out["kb_per_vu"] = peak / float(vus) if vus else None
    ok = p.returncode == 0 and peak and peak / 1024.0 <= VU_MEMORY_TARGET_MB
    out["verdict"] = "PASS" if ok else "FAIL"
    print("peak RSS %.1f MB for %d VUs = %.1f kB per VU (target <= %.0f MB) %s; %s requests"
          % (peak / 1024.0, vus, peak / float(vus), VU_MEMORY_TARGET_MB, out["verdict"],
             out["requests"]))
    if p.returncode != 0:
        print("  stampede exited %s: %s" % (p.returncode, err[-500:]))
    return out


def cpu_busy_percent(cpus, interval=0.5):
    """Busy % (user+nice+system) of each given CPU over `interval` seconds."""
    a = cpu_stat_snapshot(cpus)
    time.sleep(interval)
    b = cpu_stat_snapshot(cpus)
    res = {}
    for c in cpus:
        if c in a and c in b and b[c][1] > a[c][1]:
            res[c] = 100.0 * (b[c][0] - a[c][0]) / (b[c][1] - a[c][1])
    return res


def tool_version(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10,
                           stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (p.stdout + "\n" + p.stderr).strip()
    return text.splitlines()[0].strip() if text else None


def check_environment(args):
    missing = []
    for what, path in (("wrk", args.wrk), ("nginx", args.nginx)):
        if not os.access(path, os.X_OK):
            missing.append("%s (%s)" % (what, path))
    if not shutil.which("taskset"):
        missing.append("taskset (util-linux)")
    if missing:
        raise HarnessError("missing: %s -- run scripts/install-deps.sh" % ", ".join(missing))
    cpus = os.sched_getaffinity(0)
    if SERVER_CPU not in cpus or CLIENT_CPU not in cpus:
        raise HarnessError("need CPUs %d and %d available (have %s)" % (
            SERVER_CPU, CLIENT_CPU, sorted(cpus)))


def parse_duration(text):
    m = re.fullmatch(r"\s*(\d+)\s*(s|m)?\s*", text)
    if not m or int(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError("duration must be a whole number of seconds, "
                                         "e.g. 10 or 10s or 1m")
    return int(m.group(1)) * (60 if m.group(2) == "m" else 1)


def positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not an integer: %r" % text)
    if v <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return v


def finish_results(results, path, workdir, keep_tmp, prog):
    """Stamp results["finished"], write them as JSON to path (atomically) and remove the
    temp dir workdir unless keep_tmp. Returns False when the file could not be written
    (said on stderr, prefixed with prog). Shared with bench/peers.py."""
    results["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds")
    ok = True
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
        print("\nresults written to %s" % path)
    except OSError as e:
        print("%s: cannot write %s: %s" % (prog, path, e), file=sys.stderr)
        ok = False
    if keep_tmp:
        print("temp dir kept: %s" % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="stampede vs wrk on a loopback nginx (see bench/README.md)")
    ap.add_argument("--bin", help="path to the stampede binary (e.g. build/stampede)")
    ap.add_argument("--duration", type=parse_duration, default=None,
                    help="seconds per run (default 10; 3 with --quick)")
    ap.add_argument("--rounds", type=positive_int, default=None,
                    help="A B rounds (default 2; 1 with --quick)")
    ap.add_argument("--connections", type=positive_int, default=50,
                    help="connections / VUs (default 50)")
    ap.add_argument("--quick", action="store_true", help="smoke check: 3 s runs, 1 round")
    ap.add_argument("--rate", type=positive_int, default=20000,
                    help="rate test target, requests/s (default 20000)")
    ap.add_argument("--max-vus", type=positive_int, default=200,
                    help="rate test --max-vus (default 200)")
    ap.add_argument("--no-rate-test", action="store_true", help="skip the rate test")
    ap.add_argument("--no-memory-test", action="store_true",
                    help="skip the VU memory test (10,000 VUs)")
    ap.add_argument("--memory-vus", type=int, default=10000,
                    help="VUs in the memory test (default 10000)")
    ap.add_argument("--stampede-args", default="",
                    help="extra flags for stampede in the pairs and the rate test, e.g. "
                         "'--io epoll'")
    ap.add_argument("--soak-duration", type=parse_duration, default=None,
                    help="soak memory test length (default 3m; 0 with --quick)")
    ap.add_argument("--no-h2-test", action="store_true",
                    help="skip the HTTP/2 comparison (h2load vs stampede over h2c)")
    ap.add_argument("--no-script-test", action="store_true",
                    help="skip the scripted comparison (wrk -s vs a stampede script)")
    ap.add_argument("--json", default=DEFAULT_JSON,
                    help="where to write the results (default build/bench-results.json)")
    ap.add_argument("--wrk", default="/usr/bin/wrk", help=argparse.SUPPRESS)
    ap.add_argument("--nginx", default="/usr/sbin/nginx", help=argparse.SUPPRESS)
    ap.add_argument("--self-test", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--keep-tmp", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    try:
        sys.stdout.reconfigure(line_buffering=True)  # keep stdout/stderr in order
    except (AttributeError, ValueError):
        pass
    if args.duration is None:
        args.duration = 3 if args.quick else 10
    if args.rounds is None:
        args.rounds = 1 if args.quick else 2
    if args.soak_duration is None:
        args.soak_duration = 0 if args.quick else 180
    if 0 < args.soak_duration < 90:
        ap.error("--soak-duration: at least 90 s (it measures from the first minute on)")
    if args.bin:
        args.bin = os.path.abspath(args.bin)

    results = {"schema": 1,
               "started": datetime.datetime.now(datetime.timezone.utc).isoformat(
                   timespec="seconds"),
               "host": {"node": platform.node(), "kernel": platform.release(),
                        "cpus": os.cpu_count()},
               "config": {"duration_s": args.duration, "rounds": args.rounds,
                          "connections": args.connections, "threads": THREADS,
                          "server_cpu": SERVER_CPU, "client_cpu": CLIENT_CPU,
                          "rate_target": args.rate, "max_vus": args.max_vus,
                          "self_test": args.self_test, "quick": args.quick},
               "tools": {}, "pairs": [], "rate_test": None, "harness_error": None}
    exit_code = 0

    def on_term(signum, _frame):
        raise KeyboardInterrupt  # unwind: kill the running client, stop nginx, write JSON
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    workdir = tempfile.mkdtemp(prefix="stampede-bench-")
    nginx = None
    try:
        check_environment(args)
        results["tools"]["wrk"] = {"path": args.wrk, "version": tool_version([args.wrk, "-v"])}
        if args.bin:
            results["tools"]["stampede"] = {"path": args.bin, "version": (
                tool_version([args.bin, "version"]) if os.access(args.bin, os.X_OK) else None)}
        busy = cpu_busy_percent((SERVER_CPU, CLIENT_CPU))
        results["host"]["cpu_busy_before_percent"] = busy
        for c, pct in sorted(busy.items()):
            if pct > 10.0:
                print("bench: warning: CPU %d is already %.0f%% busy with other work; the "
                      "figures will be noisy" % (c, pct))
        nginx = Nginx(args.nginx, workdir)
        nginx.start()
        url = "http://%s:%d/" % (LOOPBACK, nginx.port)
        assert url.startswith("http://127.0.0.1:")
        results["tools"]["nginx"] = {"path": args.nginx, "version": nginx.version}
        results["config"]["url"] = url
        print("stampede bench: nginx %s at %s (1 worker on CPU %d); clients on CPU %d via "
              "taskset, %d thread, %d connections, %d s per run, %d round(s)%s" % (
                  nginx.version or "?", url, SERVER_CPU, CLIENT_CPU, THREADS,
                  args.connections, args.duration, args.rounds,
                  "  [SELF-TEST: wrk in stampede's place]" if args.self_test else ""))
        ctx_base = {"url": url, "connections": args.connections, "duration": args.duration,
                    "url_h2": "http://%s:%d/" % (LOOPBACK, nginx.h2port),
                    "stampede_args": shlex.split(args.stampede_args or "")}
        pairs = build_pairs(args)
        for i, pair in enumerate(pairs):
            pres = run_pair(pair, args, ctx_base, workdir, nginx, i)
            results["pairs"].append(pres)
            ref = [r for r in pres["runs"] if r["slot"] == "A"]
            if pair.a_is_reference and not any(r["ok"] for r in ref):
                raise HarnessError("the reference tool %s failed in every round" % pair.a.name)
        saturated = open_cpu = None
        for pres in results["pairs"]:
            med = pres["medians"]
            if pres["b"] == "stampede":
                saturated = med["stampede"]["cpu_us_per_req"]
            if pres["b"] == "open(rate)":
                open_cpu = med["open(rate)"]["cpu_us_per_req"]
        if saturated and open_cpu:
            results["open_vs_saturated_closed"] = open_cpu / saturated
            print("\nfor reference: open model at %d req/s vs closed model at full speed: "
                  "%.2f (CPU per request; at full speed no request waits for a wake-up, "
                  "see bench/README.md)" % (args.rate, open_cpu / saturated))
        if not args.no_rate_test:
            results["rate_test"] = run_rate_test(args, ctx_base, workdir, nginx)
        if not args.self_test and not args.no_memory_test:
            results["vu_memory"] = run_vu_memory_test(args, ctx_base, workdir, nginx)
            results["series_memory"] = run_series_memory_test(args, ctx_base, workdir,
                                                              nginx)
            results["idle_series"] = run_idle_series_test(args, ctx_base, workdir, nginx)
            if args.soak_duration:
                results["soak_memory"] = run_soak_memory_test(args, ctx_base, workdir,
                                                              nginx)
    except HarnessError as e:
        results["harness_error"] = str(e)
        print("\nbench: harness error: %s" % e, file=sys.stderr)
        exit_code = 2
    except KeyboardInterrupt:
        results["harness_error"] = "interrupted"
        print("\nbench: interrupted", file=sys.stderr)
        exit_code = 2
    finally:
        if nginx is not None:
            nginx.stop()
        if not finish_results(results, args.json, workdir, args.keep_tmp, "bench"):
            exit_code = 2
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
