#!/usr/bin/python3
"""bench-peers: stampede side by side with other load generators on one pinned nginx.

Run by `make bench-peers` as:
    /usr/bin/python3 bench/peers.py --bin /abs/path/build/stampede

Reuses bench/bench.py's machinery (imported, not copied): the private nginx (1 worker on
CPU 0, 127.0.0.1, `return 200 "ok\\n"`), run_measured() (client pinned to CPU 1 with
taskset, CPU from wait4()'s rusage, peak RSS from VmHWM) and one_run().

Part 1, throughput: each tool in turn, one run each, the same URL, the same connection
count (--connections, 50), the same duration (--duration, 10 s; 3 with --quick), 1 thread /
1 process, keep-alive on: stampede (quick: --url), stampede+lua (bench/scripts/
stampede_check.lua), wrk, h2load --h1, ab -k, hey, Locust (FastHttpUser, headless, one
process) and autocannon. Requests come from each tool's own report (JSON where it has
one); CPU is user+sys of the tool's process from wait4() (that includes any children it
reaped); the table prints req/s, CPU us/req, max RSS and both ratios against stampede
(quick).

Part 2, memory per idle user: stampede, Locust and Artillery each with --users (1,000)
users that make one request and then sleep, and again with 1 user. Peak RSS is the sum of
VmHWM over the tool's process tree (every process seen while it ran), pinned to CPU 1.
Printed: peak / users, and (peak - peak at 1 user) / (users - 1), the marginal cost.

A peer that is not installed prints "not installed (how to get it)" and the rest run.
Network safety: only 127.0.0.1 and the nginx this script starts; every child has a
deadline and is killed past it. Results as JSON (default build/bench-peers.json).

Exit status: 0 when the harness ran (whatever the figures); 1 when stampede (quick), the
reference of every ratio, failed; 2 on harness errors (no nginx/taskset, nginx not
starting, bad flags).

Python standard library only.
"""

import argparse
import csv
import datetime
import io
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (bench/bench.py: Nginx, run_measured, one_run, ...)

REPO_ROOT = os.path.dirname(HERE)
DEFAULT_JSON = os.path.join(REPO_ROOT, "build", "bench-peers.json")
INSTALL_HINT = "scripts/install-bench-peers.sh"
AB_REQUESTS_PER_S = 1000000     # ab -n: above any rate here, so -t ends the run; ab
                                # callocs -n records up front, so keep it near the need
MEMORY_RUN_S = 8                # idle-user runs: users arrive in ~1 s, then sit idle
MEMORY_SLACK_S = 60             # ... and are killed past MEMORY_RUN_S + this
SAMPLE_S = 0.1                  # process-tree VmHWM sampling period

# Children must not phone home: everything stays on loopback.
QUIET_ENV = {"ARTILLERY_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1",
             "NO_UPDATE_NOTIFIER": "1", "NPM_CONFIG_UPDATE_NOTIFIER": "false"}


class ParseError(ValueError):
    """A tool's report did not have the figures we need."""


# --------------------------------------------------------------------------------------
# Parsers: pure functions from a tool's report to {requests, elapsed_s, errors}.
# `requests` counts completed requests (responses, whatever their status); `errors` counts
# socket errors, timeouts and non-2xx responses; `elapsed_s` is the tool's own run time.
# Each raises ParseError when the report lacks them. --self-test runs them on canned text.
# --------------------------------------------------------------------------------------

def _search(pattern, text, what, flags=0):
    m = re.search(pattern, text, flags)
    if not m:
        raise ParseError("no %s in the report" % what)
    return m


def parse_ab(text):
    """ApacheBench (ab -k) text report."""
    done = int(_search(r"^Complete requests:\s+(\d+)", text, "'Complete requests'",
                       re.M).group(1))
    took = float(_search(r"^Time taken for tests:\s+([\d.]+) seconds", text,
                         "'Time taken for tests'", re.M).group(1))
    failed = int(_search(r"^Failed requests:\s+(\d+)", text, "'Failed requests'",
                         re.M).group(1))
    m = re.search(r"^Non-2xx responses:\s+(\d+)", text, re.M)
    return {"requests": done, "elapsed_s": took,
            "errors": failed + (int(m.group(1)) if m else 0)}


_H2LOAD_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def parse_h2load(text):
    """nghttp2's h2load text report (`finished in`, `requests:`, `status codes:`)."""
    fin = _search(r"^finished in ([\d.]+)(us|ms|s),", text, "'finished in' line", re.M)
    req = _search(r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", text, "'requests:' line",
                  re.M)
    done, failed, errored, timeout = (int(req.group(i)) for i in (3, 5, 6, 7))
    errors = failed + errored + timeout
    st = re.search(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text, re.M)
    if st:
        errors += sum(int(st.group(i)) for i in (2, 3, 4))
    return {"requests": done, "elapsed_s": float(fin.group(1)) * _H2LOAD_UNITS[fin.group(2)],
            "errors": errors}


def parse_hey(text):
    """hey's default text summary: requests = the status code distribution plus the error
    distribution (hey prints no total)."""
    total = float(_search(r"^\s*Total:\s+([\d.]+) secs", text, "'Total: N secs'",
                          re.M).group(1))
    codes = re.findall(r"^\s*\[(\d{3})\]\s+(\d+) responses", text, re.M)
    if not codes and "Error distribution" not in text:
        raise ParseError("no status code distribution in the report")
    responses = sum(int(n) for _c, n in codes)
    bad = sum(int(n) for c, n in codes if not c.startswith("2"))
    errs = 0
    if "Error distribution:" in text:
        tail_text = text.split("Error distribution:", 1)[1]
        errs = sum(int(n) for n in re.findall(r"^\s*\[(\d+)\]\s", tail_text, re.M))
    return {"requests": responses + errs, "elapsed_s": total, "errors": bad + errs}


def parse_autocannon(text):
    """autocannon -j: one JSON object on stdout (requests.total, duration, errors,
    timeouts, non2xx)."""
    start = text.find("{")
    if start < 0:
        raise ParseError("no JSON object in autocannon's output")
    try:
        obj = json.loads(text[start:text.rfind("}") + 1])
        total = int(obj["requests"]["total"])
        duration = float(obj["duration"])
    except (ValueError, KeyError, TypeError) as e:
        raise ParseError("autocannon JSON without requests.total/duration (%s)" % e)
    errors = sum(int(obj.get(k) or 0) for k in ("errors", "timeouts", "non2xx"))
    return {"requests": total, "elapsed_s": duration, "errors": errors}


def parse_locust_csv(text):
    """Locust's <prefix>_stats.csv: the "Aggregated" row's Request Count and Failure Count.
    elapsed_s is None: locust's own Requests/s divides by whole seconds (its last-request
    timestamp is truncated), so the caller uses the -t run time instead."""
    rows = list(csv.DictReader(io.StringIO(text)))
    agg = [r for r in rows if (r.get("Name") or "").strip() == "Aggregated"]
    if not agg:
        raise ParseError("no 'Aggregated' row in locust's stats CSV")
    r = agg[0]
    try:
        count = int(r["Request Count"])
        failures = int(r["Failure Count"])
    except (KeyError, TypeError, ValueError) as e:
        raise ParseError("locust stats CSV without Request Count/Failure Count (%s)" % e)
    return {"requests": count, "elapsed_s": None, "errors": failures}


def parse_artillery_report(text):
    """Artillery's `--output` JSON: aggregate.counters (http.requests, http.responses,
    vusers.created, vusers.failed)."""
    try:
        counters = json.loads(text)["aggregate"]["counters"]
    except (ValueError, KeyError, TypeError) as e:
        raise ParseError("artillery report without aggregate.counters (%s)" % e)
    return {"requests": int(counters.get("http.responses", 0)),
            "vusers": int(counters.get("vusers.created", 0)),
            "errors": int(counters.get("vusers.failed", 0))}


# --------------------------------------------------------------------------------------
# Peers as bench.Tool subclasses (argv + parse), run through bench.one_run().
# --------------------------------------------------------------------------------------

class PeerTool(bench.Tool):
    """A peer found at `path`; `hint` says how to get it when it is missing."""
    hint = INSTALL_HINT

    def __init__(self, path, name=None):
        super().__init__(name)
        self.path = path

    def available(self):
        if not self.path or not os.access(self.path, os.X_OK):
            return "not installed (%s)" % self.hint
        return None

    def report_text(self, res, workdir, tag):
        return res["stdout"]

    def parse_text(self, text):
        raise NotImplementedError

    def parse(self, res, ctx, workdir, tag):
        try:
            got = self.parse_text(self.report_text(res, workdir, tag))
        except (ParseError, OSError) as e:
            return {"ok": False, "requests": None, "elapsed_s": None, "errors": None,
                    "error": "%s exited %s: %s" % (self.name, res["rc"], e)}
        got.update(ok=bool(got["requests"]), error=None if got["requests"] else
                   "%s exited %s and reported 0 requests" % (self.name, res["rc"]))
        return got


class AbTool(PeerTool):
    name = "ab -k"
    hint = "apt-get install apache2-utils, or " + INSTALL_HINT

    def argv(self, ctx, workdir, tag):
        # -n after -t: -t alone caps the run at 50,000 requests.
        return [self.path, "-k", "-q", "-r", "-c", str(ctx["connections"]),
                "-t", str(ctx["duration"]), "-n", str(AB_REQUESTS_PER_S * ctx["duration"]),
                ctx["url"]]

    def parse_text(self, text):
        return parse_ab(text)


class H2loadTool(PeerTool):
    name = "h2load --h1"
    hint = "apt-get install nghttp2-client, or " + INSTALL_HINT

    def argv(self, ctx, workdir, tag):
        return [self.path, "--h1", "-c", str(ctx["connections"]), "-t", "1",
                "-D", str(ctx["duration"]), ctx["url"]]

    def parse_text(self, text):
        return parse_h2load(text)


class HeyTool(PeerTool):
    name = "hey"
    hint = "apt-get install hey, or " + INSTALL_HINT

    def argv(self, ctx, workdir, tag):
        return [self.path, "-c", str(ctx["connections"]), "-z", "%ds" % ctx["duration"],
                "-cpus", "1", ctx["url"]]

    def parse_text(self, text):
        return parse_hey(text)


class AutocannonTool(PeerTool):
    name = "autocannon"
    hint = "npm, installed by " + INSTALL_HINT

    def argv(self, ctx, workdir, tag):
        return [self.path, "-c", str(ctx["connections"]), "-d", str(ctx["duration"]),
                "-j", ctx["url"]]

    def parse_text(self, text):
        return parse_autocannon(text)


LOCUSTFILE_BUSY = """\
# generated by bench/peers.py: closed loop, no think time
from locust import FastHttpUser, constant, task


class Busy(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self):
        self.client.get("/")
"""

LOCUSTFILE_IDLE = """\
# generated by bench/peers.py: one request per user, then idle for the rest of the run
from locust import FastHttpUser, constant, task


class Idle(FastHttpUser):
    wait_time = constant(3600)

    @task
    def get(self):
        self.client.get("/")
"""


def locust_argv(path, locustfile, users, seconds, url, csv_prefix):
    """One headless locust process: `users` users spawned at `users`/s for `seconds`."""
    return [path, "-f", locustfile, "--headless", "-u", str(users), "-r", str(users),
            "-t", "%ds" % seconds, "--host", url.rstrip("/"), "--csv", csv_prefix,
            "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "0"]


class LocustTool(PeerTool):
    name = "locust"
    hint = "apt-get install python3-locust, or " + INSTALL_HINT

    def argv(self, ctx, workdir, tag):
        lf = os.path.join(workdir, "locust_busy.py")
        with open(lf, "w") as f:
            f.write(LOCUSTFILE_BUSY)
        return locust_argv(self.path, lf, ctx["connections"], ctx["duration"], ctx["url"],
                           os.path.join(workdir, tag))

    def report_text(self, res, workdir, tag):
        with open(os.path.join(workdir, tag + "_stats.csv")) as f:
            return f.read()

    def parse_text(self, text):
        return parse_locust_csv(text)

    def parse(self, res, ctx, workdir, tag):
        got = super().parse(res, ctx, workdir, tag)
        if got["requests"]:
            got["elapsed_s"] = float(ctx["duration"])  # -t: spawning included, as run
        return got


def npm_bin(npm_dir, name):
    return os.path.join(npm_dir, "node_modules", ".bin", name)


TOOL_NAMES = ("stampede", "stampede+lua", "wrk", "h2load", "ab", "hey", "locust",
              "autocannon", "artillery")     # for --only (artillery: memory test only)


def build_tools(args):
    """The throughput line-up, stampede (quick) first: it is the reference."""
    script = os.path.join(HERE, "scripts", "stampede_check.lua")
    return [bench.StampedeTool(args.bin, name="stampede"),
            bench.StampedeScriptTool(args.bin, script, name="stampede+lua"),
            bench.WrkTool(args.wrk),
            H2loadTool(shutil.which("h2load")),
            AbTool(shutil.which("ab")),
            HeyTool(shutil.which("hey")),
            LocustTool(shutil.which("locust")),
            AutocannonTool(npm_bin(args.npm_dir, "autocannon"))]


# --------------------------------------------------------------------------------------
# Part 1: throughput
# --------------------------------------------------------------------------------------

TABLE_FMT = "%-14s %10s %11s %11s %7s %8s %8s %7s   %-11s %-11s"
TABLE_HDR = TABLE_FMT % ("tool", "req/s", "CPU us/req", "max RSS MB", "CPU %", "nginx %",
                         "other %", "errors", "CPU/req vs", "RSS vs")
TABLE_HDR2 = TABLE_FMT % ("", "", "", "", "", "", "", "", "stampede", "stampede")


def ratio(a, b):
    return a / b if (a is not None and b) else None


def times(v):
    return "-" if v is None else "%.2f\u00d7" % v


def run_throughput(args, ctx, workdir, nginx, results):
    print()
    print("== throughput: %d connections, 1 thread/process on CPU %d, %d s each, "
          "keep-alive" % (ctx["connections"], bench.CLIENT_CPU, ctx["duration"]))
    print(TABLE_HDR)
    print(TABLE_HDR2)
    rows = []
    ref = None
    for i, tool in enumerate(build_tools(args)):
        if args.only and tool.name.split()[0] not in args.only:
            continue
        if not nginx.alive():
            raise bench.HarnessError("nginx died during the benchmark:\n" + bench.tail(
                bench.read_text(os.path.join(nginx.dir, "error.log"))))
        why = tool.available()
        if why:
            if not why.startswith("not installed"):
                why = "not installed (%s)" % why
            row = {"tool": tool.name, "ok": False, "installed": False, "error": why}
            rows.append(row)
            print("%-14s %s" % (tool.name, why))
            continue
        row = bench.one_run(tool, dict(ctx, round=1), workdir, "t%d" % i, nginx.proc.pid)
        row.pop("summary", None)
        row["installed"] = True
        rows.append(row)
        if tool.name == "stampede" and row["ok"]:
            ref = row
        cpu_r = rss_r = None
        if ref is not None and row["ok"]:
            cpu_r = ratio(row["cpu_us_per_req"], ref["cpu_us_per_req"])
            rss_r = ratio(row["max_rss_kb"], ref["max_rss_kb"])
        row["cpu_per_req_vs_stampede"] = cpu_r
        row["rss_vs_stampede"] = rss_r
        rss = row.get("max_rss_kb")
        print(TABLE_FMT % (
            tool.name, bench.fmt(row.get("req_per_s"), ",.0f"),
            bench.fmt(row.get("cpu_us_per_req"), ".3f"),
            bench.fmt(None if rss is None else rss / 1024.0, ".1f"),
            bench.fmt(row.get("cpu_percent"), ".1f"),
            bench.fmt(row.get("server_cpu_percent"), ".1f"),
            bench.fmt(row.get("other_cpu_percent"), ".1f"),
            bench.fmt(row.get("errors"), "d"), times(cpu_r), times(rss_r)))
        if not row["ok"]:
            bench.print_failure(row)
        time.sleep(0.5)  # let the loopback connections settle
    print()
    if ref is None:
        print("stampede (quick) has no successful run: no ratios")
    for r in rows:
        if r.get("cpu_per_req_vs_stampede") is not None and r["tool"] != "stampede":
            print("  %-14s %s stampede's CPU per request, %s its max RSS" % (
                r["tool"], times(r["cpu_per_req_vs_stampede"]), times(r["rss_vs_stampede"])))
    if any((r.get("server_cpu_percent") or 0) > 90 for r in rows):
        print("  note: nginx % near 100: the server was the bottleneck of that run, so its "
              "req/s says\n  little about the client; CPU us/req still does")
    noisy = [r for r in rows if (r.get("other_cpu_percent") or 0) > bench.NOISY_OTHER_PERCENT]
    if noisy:
        print("  warning: other processes used CPU 0/1 during %s (`other %%` up to %.0f%% of "
              "a CPU):\n  those figures are noisy; rerun on an idle machine" % (
                  ", ".join(r["tool"] for r in noisy),
                  max(r["other_cpu_percent"] for r in noisy)))
    results["throughput"] = rows
    return ref


# --------------------------------------------------------------------------------------
# Part 2: memory per idle user
# --------------------------------------------------------------------------------------

def tree_pids(root):
    """root and all its descendants (by /proc/*/stat ppid)."""
    parent = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(")") + 2:].split()
        if len(fields) > 1:
            parent[int(name)] = int(fields[1])
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(c for c, pp in parent.items() if pp == p)
    return out


def run_tree_peak(argv, workdir, tag, timeout_s):
    """Run argv pinned to CLIENT_CPU; return (exit code or None, peak kB, stderr tail).

    Peak = the sum over every process of the tree seen while it ran of its last VmHWM
    sample (VmHWM only grows within one address space): an upper bound of the tree's
    peak RSS when its processes peak at different times; exact for one process."""
    err_path = os.path.join(workdir, tag + ".stderr")
    hwm = {}
    with open(err_path, "wb") as fe:
        p = subprocess.Popen(["taskset", "-c", str(bench.CLIENT_CPU)] + argv,
                             stdin=subprocess.DEVNULL, stdout=fe, stderr=fe, cwd=workdir,
                             start_new_session=True)
        deadline = time.monotonic() + timeout_s
        try:
            while p.poll() is None and time.monotonic() < deadline:
                for pid in tree_pids(p.pid):
                    h = bench.vm_hwm_kb(pid)
                    if h is not None:
                        hwm[pid] = max(h, hwm.get(pid, 0))
                time.sleep(SAMPLE_S)
        finally:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)  # its own session: the whole tree
                except OSError:
                    pass
            p.wait()
    timed_out = time.monotonic() >= deadline
    return (None if timed_out else p.returncode), sum(hwm.values()), \
        bench.tail(bench.read_text(err_path), 8)


STAMPEDE_IDLE_SCRIPT = """\
-- generated by bench/peers.py: one request per VU, then idle for the rest of the run
local http = require "stampede.http"
local URL = stampede.env.BASE_URL .. "/"
function default()
  http.get(URL)
  stampede.sleep(3600)
end
"""

ARTILLERY_IDLE_SCRIPT = """\
# generated by bench/peers.py: {users} virtual users arrive within 1 s, each makes one
# request and then thinks for the rest of the run.
config:
  target: "{url}"
  phases:
    - duration: 1
      arrivalCount: {users}
scenarios:
  - flow:
      - get:
          url: "/"
      - think: {think}
"""


def mem_stampede(args, url, users, workdir, tag):
    script = os.path.join(workdir, "idle.lua")
    with open(script, "w") as f:
        f.write(STAMPEDE_IDLE_SCRIPT)
    summary = os.path.join(workdir, tag + ".summary.json")
    argv = [args.bin, "run", script, "--vus", str(users), "--duration",
            "%ds" % MEMORY_RUN_S, "--grace", "0s", "--threads", str(bench.THREADS),
            "-e", "BASE_URL=" + url.rstrip("/"), "-q", "--no-summary",
            "--summary-export", summary]
    rc, peak, err = run_tree_peak(argv, workdir, tag, MEMORY_RUN_S + MEMORY_SLACK_S)
    try:
        with open(summary) as f:
            reqs = int(json.load(f)["metrics"]["http_reqs"]["count"])
    except (OSError, ValueError, KeyError, TypeError):
        reqs = None
    return rc, peak, reqs, err


def mem_locust(args, url, users, workdir, tag):
    lf = os.path.join(workdir, "locust_idle.py")
    with open(lf, "w") as f:
        f.write(LOCUSTFILE_IDLE)
    prefix = os.path.join(workdir, tag)
    argv = locust_argv(shutil.which("locust"), lf, users, MEMORY_RUN_S, url, prefix)
    rc, peak, err = run_tree_peak(argv, workdir, tag, MEMORY_RUN_S + MEMORY_SLACK_S)
    try:
        reqs = parse_locust_csv(bench.read_text(prefix + "_stats.csv"))["requests"]
    except ParseError:
        reqs = None
    return rc, peak, reqs, err


def mem_artillery(args, url, users, workdir, tag):
    yml = os.path.join(workdir, tag + ".yml")
    with open(yml, "w") as f:
        f.write(ARTILLERY_IDLE_SCRIPT.format(users=users, url=url.rstrip("/"),
                                             think=MEMORY_RUN_S - 1))
    report = os.path.join(workdir, tag + ".report.json")
    argv = [npm_bin(args.npm_dir, "artillery"), "run", "--quiet", "--output", report, yml]
    rc, peak, err = run_tree_peak(argv, workdir, tag, MEMORY_RUN_S + MEMORY_SLACK_S)
    try:
        reqs = parse_artillery_report(bench.read_text(report))["requests"]
    except ParseError:
        reqs = None
    return rc, peak, reqs, err


def memory_peers(args):
    """(name, runner, why-not-available or None)"""
    why_bin = bench.StampedeTool(args.bin).available()
    loc = shutil.which("locust")
    art = npm_bin(args.npm_dir, "artillery")
    return [("stampede", mem_stampede, why_bin),
            ("locust", mem_locust, None if loc else
             "not installed (apt-get install python3-locust, or %s)" % INSTALL_HINT),
            ("artillery", mem_artillery, None if os.access(art, os.X_OK) else
             "not installed (npm, installed by %s)" % INSTALL_HINT)]


MEM_FMT = "%-10s %7s %12s %12s %10s %14s %10s %8s"
MEM_HDR = MEM_FMT % ("tool", "users", "peak RSS MB", "RSS @1 MB", "kB/user",
                     "kB/extra user", "vs stamp.", "requests")


def run_memory(args, url, workdir, nginx, results):
    n = args.users
    print()
    print("== memory per idle user: %d users each make one request on a keep-alive "
          "connection, then sleep; %d s runs on CPU %d; peak RSS of the process tree"
          % (n, MEMORY_RUN_S, bench.CLIENT_CPU))
    print(MEM_HDR)
    rows, ref = [], None
    for name, runner, why in memory_peers(args):
        if args.only and name not in args.only:
            continue
        if why:
            rows.append({"tool": name, "installed": False, "error": why})
            print("%-10s %s" % (name, why))
            continue
        if not nginx.alive():
            raise bench.HarnessError("nginx died during the memory test")
        row = {"tool": name, "installed": True, "users": n, "error": None}
        rc1, peak1, _r1, err1 = runner(args, url, 1, workdir, "mem-%s-1" % name)
        rcn, peakn, reqs, errn = runner(args, url, n, workdir, "mem-%s-%d" % (name, n))
        row.update(rss_1_user_kb=peak1, peak_rss_kb=peakn, requests=reqs, rc=rcn,
                   kb_per_user=peakn / float(n) if peakn else None,
                   kb_per_extra_user=(peakn - peak1) / float(n - 1)
                   if (peakn and peak1 and n > 1) else None)
        problems = []
        if rcn is None or rc1 is None:
            problems.append("killed after %d s" % (MEMORY_RUN_S + MEMORY_SLACK_S))
        if reqs is not None and reqs < n:
            problems.append("only %d of %d users made their request" % (reqs, n))
        if reqs is None:
            problems.append("no request count in its report")
        if problems:
            row["error"] = "; ".join(problems)
        if name == "stampede" and peakn:
            ref = row
        row["kb_per_extra_user_vs_stampede"] = ratio(
            row["kb_per_extra_user"], ref["kb_per_extra_user"] if ref else None)
        rows.append(row)
        print(MEM_FMT % (name, n, bench.fmt(peakn / 1024.0 if peakn else None, ".1f"),
                         bench.fmt(peak1 / 1024.0 if peak1 else None, ".1f"),
                         bench.fmt(row["kb_per_user"], ".1f"),
                         bench.fmt(row["kb_per_extra_user"], ".1f"),
                         times(row["kb_per_extra_user_vs_stampede"]),
                         bench.fmt(reqs, "d")))
        if row["error"]:
            print("  !! %s: %s (exit %s)%s" % (name, row["error"], rcn, "".join(
                "\n       | " + ln for ln in (errn or err1).splitlines())))
    print("  kB/user = peak RSS / users; kB/extra user = (peak RSS - RSS @1 user) / "
          "(users - 1), the marginal cost compared in `vs stamp.`")
    results["memory"] = rows


# --------------------------------------------------------------------------------------
# Self-test: the parsers on canned reports (no tool, no network)
# --------------------------------------------------------------------------------------

CANNED = {
    "ab": ("""This is ApacheBench, Version 2.3 <$Revision: 1903618 $>
Server Software:        nginx/1.22.1
Document Length:        3 bytes
Concurrency Level:      50
Time taken for tests:   3.000 seconds
Complete requests:      61237
Failed requests:        0
Non-2xx responses:      5
Keep-Alive requests:    60629
""", parse_ab, {"requests": 61237, "elapsed_s": 3.0, "errors": 5}),
    "h2load": ("""starting benchmark...
finished in 3.00s, 31554.33 req/s, 3.79MB/s
requests: 94663 total, 94713 started, 94663 done, 94663 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 94663 2xx, 0 3xx, 0 4xx, 0 5xx
""", parse_h2load, {"requests": 94663, "elapsed_s": 3.0, "errors": 0}),
    "hey": ("""
Summary:
  Total:\t3.0071 secs
  Requests/sec:\t15360.3124

Status code distribution:
  [200]\t46189 responses

Error distribution:
  [2]\tGet "http://127.0.0.1:1/": dial tcp: connection refused
""", parse_hey, {"requests": 46191, "elapsed_s": 3.0071, "errors": 2}),
    "autocannon": ('{"url":"http://127.0.0.1:1/","requests":{"average":20000,"total":60123,'
                   '"sent":60173},"duration":3.02,"errors":1,"timeouts":0,"non2xx":2}\n',
                   parse_autocannon, {"requests": 60123, "elapsed_s": 3.02, "errors": 3}),
    "locust": ('Type,Name,Request Count,Failure Count,Median Response Time,Requests/s\n'
               'GET,/,9000,3,4,3000.0\n,Aggregated,9000,3,4,3000.0\n',
               parse_locust_csv, {"requests": 9000, "elapsed_s": None, "errors": 3}),
    "artillery": ('{"aggregate":{"counters":{"http.requests":1000,"http.responses":1000,'
                  '"vusers.created":1000,"vusers.completed":1000}}}',
                  parse_artillery_report, {"requests": 1000, "vusers": 1000, "errors": 0}),
}
CANNED_BAD = [(parse_ab, "ab: invalid URL\n"), (parse_h2load, "no servers\n"),
              (parse_hey, ""), (parse_autocannon, "Error: ECONNREFUSED"),
              (parse_autocannon, '{"requests":{}}'), (parse_locust_csv, "Type,Name\n"),
              (parse_artillery_report, "{}")]


def self_test():
    """Run every parser on canned good and bad reports; return the number of failures."""
    failures = 0
    for name, (text, fn, want) in sorted(CANNED.items()):
        try:
            got = fn(text)
        except ParseError as e:
            got = "ParseError: %s" % e
        if got == want:
            print("ok    %s" % name)
        else:
            failures += 1
            print("FAIL  %s: got %r, want %r" % (name, got, want))
    for fn, text in CANNED_BAD:
        try:
            got = fn(text)
            failures += 1
            print("FAIL  %s accepted %r: %r" % (fn.__name__, text, got))
        except ParseError:
            print("ok    %s rejects %r" % (fn.__name__, text[:30]))
    print("%d passed, %d failed" % (len(CANNED) + len(CANNED_BAD) - failures, failures))
    return failures


# --------------------------------------------------------------------------------------

def tool_versions(args):
    out = {}
    for name, argv in (("wrk", [args.wrk, "-v"]), ("h2load", ["h2load", "--version"]),
                       ("ab", ["ab", "-V"]), ("locust", ["locust", "--version"]),
                       ("node", ["node", "--version"]),
                       ("autocannon", [npm_bin(args.npm_dir, "autocannon"), "--version"]),
                       ("artillery", [npm_bin(args.npm_dir, "artillery"), "version"])):
        exe = argv[0] if os.path.isabs(argv[0]) else shutil.which(argv[0])
        if exe and os.access(exe, os.X_OK):
            out[name] = bench.tool_version([exe] + argv[1:])
    if shutil.which("hey"):
        out["hey"] = "Debian " + (subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", "hey"], capture_output=True,
            text=True).stdout or "?")
    if args.bin and os.access(args.bin, os.X_OK):
        out["stampede"] = bench.tool_version([args.bin, "version"])
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="stampede side by side with wrk, h2load, ab, hey, Locust, autocannon "
                    "and Artillery on one pinned loopback nginx (see bench/README.md)")
    ap.add_argument("--bin", help="path to the stampede binary (e.g. build/stampede)")
    ap.add_argument("--duration", type=bench.parse_duration, default=None,
                    help="seconds per throughput run (default 10; 3 with --quick)")
    ap.add_argument("--connections", type=bench.positive_int, default=50,
                    help="connections / VUs / users per throughput run (default 50)")
    ap.add_argument("--users", type=bench.positive_int, default=1000,
                    help="idle users in the memory test (default 1000; >= 2)")
    ap.add_argument("--quick", action="store_true", help="3 s throughput runs")
    ap.add_argument("--no-memory-test", action="store_true",
                    help="skip the memory-per-idle-user test")
    ap.add_argument("--only", default=None,
                    help="comma-separated tools to run (e.g. stampede,wrk,locust,artillery)")
    ap.add_argument("--npm-dir", default=None,
                    help="where install-bench-peers.sh put autocannon and artillery "
                         "(default: bench-peers-npm beside --bin, else build/bench-peers-npm)")
    ap.add_argument("--json", default=DEFAULT_JSON,
                    help="where to write the results (default build/bench-peers.json)")
    ap.add_argument("--wrk", default="/usr/bin/wrk", help=argparse.SUPPRESS)
    ap.add_argument("--nginx", default="/usr/sbin/nginx", help=argparse.SUPPRESS)
    ap.add_argument("--self-test", action="store_true",
                    help="check the report parsers on canned output and exit")
    ap.add_argument("--keep-tmp", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.self_test:
        return 1 if self_test() else 0
    try:
        sys.stdout.reconfigure(line_buffering=True)
    except (AttributeError, ValueError):
        pass
    if args.users < 2:
        ap.error("--users must be at least 2")
    if args.duration is None:
        args.duration = 3 if args.quick else 10
    if args.bin:
        args.bin = os.path.abspath(args.bin)
    if args.npm_dir is None:
        args.npm_dir = os.path.join(os.path.dirname(args.bin), "bench-peers-npm") \
            if args.bin else os.path.join(REPO_ROOT, "build", "bench-peers-npm")
    args.npm_dir = os.path.abspath(args.npm_dir)
    if args.only is not None:
        args.only = set(t.strip() for t in args.only.split(",")) - {""}
        if not args.only:
            ap.error("--only: name at least one tool (%s)" % ", ".join(TOOL_NAMES))
    if args.connections > 10000:
        ap.error("--connections: at most 10000")
    if args.only and not args.only <= set(TOOL_NAMES):
        ap.error("--only: unknown %s (known: %s)" % (", ".join(sorted(
            args.only - set(TOOL_NAMES))), ", ".join(TOOL_NAMES)))
    for k, v in QUIET_ENV.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v

    results = {"schema": 1,
               "started": datetime.datetime.now(datetime.timezone.utc).isoformat(
                   timespec="seconds"),
               "host": {"node": platform.node(), "kernel": platform.release(),
                        "cpus": os.cpu_count()},
               "config": {"duration_s": args.duration, "connections": args.connections,
                          "threads": bench.THREADS, "server_cpu": bench.SERVER_CPU,
                          "client_cpu": bench.CLIENT_CPU, "idle_users": args.users,
                          "memory_run_s": MEMORY_RUN_S, "quick": args.quick,
                          "npm_dir": args.npm_dir},
               "tools": {}, "throughput": [], "memory": [], "harness_error": None}
    exit_code = 0

    def on_term(signum, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    workdir = tempfile.mkdtemp(prefix="stampede-peers-")
    nginx = None
    try:
        if not os.access(args.nginx, os.X_OK) or not shutil.which("taskset"):
            raise bench.HarnessError("missing nginx (%s) or taskset -- run %s"
                                     % (args.nginx, INSTALL_HINT))
        cpus = os.sched_getaffinity(0)
        if bench.SERVER_CPU not in cpus or bench.CLIENT_CPU not in cpus:
            raise bench.HarnessError("need CPUs %d and %d (have %s)" % (
                bench.SERVER_CPU, bench.CLIENT_CPU, sorted(cpus)))
        results["tools"] = tool_versions(args)
        busy = bench.cpu_busy_percent((bench.SERVER_CPU, bench.CLIENT_CPU))
        results["host"]["cpu_busy_before_percent"] = busy
        for c, pct in sorted(busy.items()):
            if pct > 10.0:
                print("bench-peers: warning: CPU %d is already %.0f%% busy with other work; "
                      "the figures will be noisy" % (c, pct))
        nginx = bench.Nginx(args.nginx, workdir)
        nginx.start()
        url = "http://%s:%d/" % (bench.LOOPBACK, nginx.port)
        assert url.startswith("http://127.0.0.1:")
        results["tools"]["nginx"] = nginx.version
        results["config"]["url"] = url
        print("stampede bench-peers: nginx %s at %s (1 worker on CPU %d); each client on "
              "CPU %d" % (nginx.version or "?", url, bench.SERVER_CPU, bench.CLIENT_CPU))
        ctx = {"url": url, "connections": args.connections, "duration": args.duration}
        ref = run_throughput(args, ctx, workdir, nginx, results)
        if ref is None and (args.only is None or "stampede" in args.only):
            exit_code = 1
        if not args.no_memory_test:
            run_memory(args, url, workdir, nginx, results)
    except bench.HarnessError as e:
        results["harness_error"] = str(e)
        print("\nbench-peers: harness error: %s" % e, file=sys.stderr)
        exit_code = 2
    except KeyboardInterrupt:
        results["harness_error"] = "interrupted"
        print("\nbench-peers: interrupted", file=sys.stderr)
        exit_code = 2
    finally:
        if nginx is not None:
            nginx.stop()
        if not bench.finish_results(results, args.json, workdir, args.keep_tmp,
                                    "bench-peers"):
            exit_code = 2
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
