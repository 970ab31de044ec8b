"""`stampede k8s render` (issue #16 "Kubernetes", docs/distributed.md): the manifests of a
distributed run (a ConfigMap with the script, a ReadWriteMany claim for the results, an
Indexed Job whose pod i runs segment i of N, a merge Job), deploy/k8s/, and the
Dockerfile the pods' image is built from.

- Every object is valid for its API: read with python3-yaml, then checked by the
  validators of kubernetes-models (generated from the Kubernetes OpenAPI schema), pinned
  in tests/fixtures/k8s (the install is shared with test_capacity_k8s.py: <BUILD>/npm-k8s),
  for N = 1, 4 and 7; broken copies are refused, so the validators do look.
- The segment mapping is real: the run pod's shell command, taken from the rendered Job,
  is run with /bin/sh for every index with `stampede` replaced by a recorder of its argv;
  the N segments tile [0, 1] exactly, in order, in reduced fractions, with one sequence.
- The merge Job's wait is run too (files there: exit 0; missing: exit 1 after its tries),
  and its merge + report command (merge's exit code is the pod's).
- The script reaches the ConfigMap byte for byte (hostile text included), up to 1 MiB.
- Bad input exits 104 with one clear line, never a crash: a script is named by the path
  given; a file name Kubernetes refuses as a ConfigMap key (`..lua`) is refused. Output
  that cannot be written (-o DIR not made, not writable; stdout full) exits 110.
- deploy/k8s/ is what `k8s render` writes today.
- --coordinator: the Service and Job NAME-coordinator are valid (N = 1, 4, 7), the
  Service selects the coordinator's pod only; the run pod's shell (recorder) waits for
  the coordinator to listen, then passes `--coordinator http://NAME-coordinator:6565`;
  the coordinator Job's command runs for real on loopback (--listen 127.0.0.1:0) with
  two run pods' shells joining it.
- The Dockerfile: linted with dockerfile-utils (zero problems) and its runtime packages
  checked against `ldd` of the binary under test (dpkg -S), so a new library without its
  package fails. With STAMPEDE_IMAGE_TEST=1 and podman and runc installed, the image is
  built too (scripts/build-image.sh, `make image`; serial: minutes of CPU): compressed
  under 60 MB, `stampede --version` and https verification with the image's CA bundle
  (a loopback `serve-demo --tls`) inside it.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from fractions import Fraction
from pathlib import Path

import pytest
import yaml  # python3-yaml (scripts/install-deps.sh)

from conftest import BIN, EXIT_CONFIG, require_binary
from tools import npm_install

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "k8s"
NPM_DIR = Path(BIN).resolve().parent / "npm-k8s"  # test_capacity_k8s.py's install
EXIT_OUTPUT_FAILED = 110
DEPLOY = ROOT / "deploy" / "k8s"
FILES = ["configmap.yaml", "pvc.yaml", "job.yaml", "merge-job.yaml"]
KINDS = ["v1 ConfigMap", "v1 PersistentVolumeClaim", "batch/v1 Job", "batch/v1 Job"]
# how deploy/k8s/ is rendered (deploy/k8s/README.md says the same)
DEPLOY_ARGS = ["--parallelism", "4", "--script", str(ROOT / "examples" / "load.lua"),
               "--env", "BASE_URL=http://app.default.svc.cluster.local:8080",
               "-o", "deploy/k8s"]
SCRIPT = "-- a script\nlocal http = require \"stampede.http\"\nfunction default() end\n"


def render(*args, cwd=None, timeout=30):
    require_binary()
    return subprocess.run([BIN, "k8s", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd)


@pytest.fixture
def script(tmp_path):
    p = tmp_path / "journey.lua"
    p.write_text(SCRIPT)
    return p


def write(tmp_path, n, script, *args):
    """Render into tmp_path/out with -o; returns the four objects and the texts."""
    out = tmp_path / f"out-{n}"
    tmp_path.mkdir(parents=True, exist_ok=True)
    p = render("render", "--parallelism", n, "--script", script, *args, "-o", out)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "" and p.stderr == "", (p.stdout, p.stderr)
    assert sorted(x.name for x in out.iterdir()) == sorted(FILES)
    texts = [(out / f).read_text() for f in FILES]
    return [yaml.safe_load(t) for t in texts], texts


def run_container(job):
    return job["spec"]["template"]["spec"]["containers"][0]


def shell_of(container):
    cmd = container["command"]
    assert cmd[:2] == ["/bin/sh", "-c"] and len(cmd) == 3, cmd
    return cmd[2]


# --------------------------------------------------------------------------------------
# the validators
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def modules():
    # the install is shared with test_capacity_k8s.py (npm_install takes a lock)
    return npm_install(NPM_DIR, "the Kubernetes validators and dockerfile-utils "
                       "(tests/fixtures/k8s)", fixture=FIXTURES)


@pytest.fixture(scope="module")
def validator(modules):
    def validate(docs):
        p = subprocess.run(["node", str(FIXTURES / "validate.mjs"), str(modules)],
                           input=json.dumps(docs), capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, f"validate.mjs failed:\n{p.stdout}\n{p.stderr}"
        return [(r["kind"], r["errors"]) for r in json.loads(p.stdout)]

    return validate


@pytest.mark.parametrize("n", [1, 4, 7])
def test_manifests_are_valid_for_their_apis(validator, tmp_path, script, n):
    docs, _ = write(tmp_path, n, script)
    full, _ = write(tmp_path / "full", n, script, "--name", "checkout-load", "--namespace",
                    "perf", "--image", "registry.example:5000/team/stampede:1.2@sha256:"
                    + "a" * 64, "--storage", "20Gi", "--storage-class", "nfs.csi.k8s.io",
                    "--env", "BASE_URL=http://checkout.shop:8080", "--env",
                    "TOKEN=a \"b\" 'c' #d: e", "--deadline", "1h30m", "--merge-wait", "2h")
    assert validator(docs + full) == [(k, []) for k in KINDS + KINDS]


def test_broken_manifests_are_refused(validator, tmp_path, script):
    (cm, pvc, job, merge), _ = write(tmp_path, 4, script)
    broken = []
    b = json.loads(json.dumps(job))
    b["spec"]["completions"] = "4"
    broken.append((b, "/spec/completions must be integer"))
    b = json.loads(json.dumps(job))
    del b["spec"]["template"]["spec"]["containers"]
    broken.append((b, "/spec/template/spec must have required property containers"))
    b = json.loads(json.dumps(job))
    b["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"] = "100"
    broken.append((b, "weight must be integer"))
    b = json.loads(json.dumps(merge))
    b["spec"]["template"]["spec"]["initContainers"][0]["command"] = "/bin/sh"
    broken.append((b, "/command must be array"))
    b = json.loads(json.dumps(cm))
    b["data"]["journey.lua"] = 1
    broken.append((b, "/data/journey.lua must be string"))
    b = json.loads(json.dumps(pvc))
    b["spec"]["accessModes"] = "ReadWriteMany"
    broken.append((b, "/spec/accessModes must be array"))
    results = validator([doc for doc, _ in broken])
    for (doc, why), (kind, errors) in zip(broken, results):
        assert any(why in e for e in errors), (why, kind, errors)


# --------------------------------------------------------------------------------------
# the objects
# --------------------------------------------------------------------------------------
def test_objects(tmp_path, script):
    (cm, pvc, job, merge), texts = write(
        tmp_path, 4, script, "--name", "shop", "--namespace", "perf", "--storage", "5Gi",
        "--storage-class", "nfs", "--env", "BASE_URL=http://shop:8080", "--deadline", "30m")
    labels = {"app.kubernetes.io/name": "stampede", "app.kubernetes.io/instance": "shop"}
    for doc, name in zip((cm, pvc, job, merge),
                         ("shop-script", "shop-results", "shop", "shop-merge")):
        assert doc["metadata"]["name"] == name and doc["metadata"]["namespace"] == "perf"
        assert labels.items() <= doc["metadata"]["labels"].items(), doc["metadata"]
    assert cm["data"] == {"journey.lua": SCRIPT}
    assert pvc["spec"] == {"accessModes": ["ReadWriteMany"], "storageClassName": "nfs",
                           "resources": {"requests": {"storage": "5Gi"}}}
    spec = job["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"],
            spec["backoffLimit"], spec["activeDeadlineSeconds"]) == ("Indexed", 4, 4, 0, 1800)
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert labels.items() <= spec["template"]["metadata"]["labels"].items()
    term = pod["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"].items() <= \
        spec["template"]["metadata"]["labels"].items()
    c = run_container(job)
    assert c["image"] == "stampede:" + version()
    assert {"name": "BASE_URL", "value": "http://shop:8080"} in c["env"]
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert mounts == {"/results": "results", "/scripts": "script"}
    vols = {v["name"]: v for v in pod["volumes"]}
    assert vols["script"]["configMap"]["name"] == "shop-script"
    assert vols["results"]["persistentVolumeClaim"]["claimName"] == "shop-results"
    assert "# resources:" in texts[2]  # left to the user, but shown
    assert "resources" not in c
    mspec = merge["spec"]
    assert mspec["backoffLimit"] == 0 and "completionMode" not in mspec
    assert "activeDeadlineSeconds" not in mspec
    mpod = mspec["template"]["spec"]
    assert [x["name"] for x in mpod["initContainers"]] == ["wait-for-parts"]
    assert [x["name"] for x in mpod["containers"]] == ["merge"]
    assert "tries=" in shell_of(mpod["initContainers"][0])
    # a deadline without --merge-wait: the merge waits the deadline and 10 minutes more
    assert "for 2400 s (--merge-wait)" in shell_of(mpod["initContainers"][0])
    # every file says how to apply, wait and collect
    for t in texts:
        assert f"kubectl apply --server-side -n perf -f {tmp_path}/out-4\n" in t, t[:2000]
        # the merge waits 30 min + 10 for the parts, then has 10 min to merge
        assert "kubectl wait -n perf --for=condition=complete --timeout=3000s " \
               "job/shop-merge" in t
        assert "kubectl cp -n perf shop-collect:/results ./shop-results" in t
    # without --deadline: none, and no namespace written (kubectl's current one)
    (_, _, job, _), _ = write(tmp_path / "plain", 2, script)
    assert "activeDeadlineSeconds" not in job["spec"]
    assert "namespace" not in job["metadata"]


def version():
    p = subprocess.run([BIN, "version"], capture_output=True, text=True, timeout=10)
    return p.stdout.split()[1]


def test_stdout_stream(script):
    p = render("render", "-p", "3", "-s", script)
    assert p.returncode == 0, p.stderr
    docs = list(yaml.safe_load_all(p.stdout))
    assert [f"{d['apiVersion']} {d['kind']}" for d in docs] == KINDS
    assert p.stdout.count("\n---\n") == 3
    assert p.stdout.startswith("# A distributed stampede run on Kubernetes")
    assert "kubectl apply --server-side -f MANIFESTS.yaml" in p.stdout
    q = render("render", "-p", "3", "-s", script, "-o", "-")
    assert q.stdout == p.stdout


def test_help_and_usage():
    for args in (["--help"], ["render", "--help"], ["-h"]):
        p = render(*args)
        assert p.returncode == 0 and "--parallelism N" in p.stdout, (args, p.stderr)
        assert "exit codes" in p.stdout and p.stderr == ""
    p = subprocess.run([BIN, "help", "k8s"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0 and "--merge-wait" in p.stdout
    for args, why in (([], "a sub-command is needed"),
                      (["deploy"], "unknown sub-command 'deploy'")):
        p = render(*args)
        assert p.returncode == EXIT_CONFIG and p.stdout == "", args
        assert why in p.stderr and "usage: stampede k8s render" in p.stderr, p.stderr


# --------------------------------------------------------------------------------------
# the run pods' shell: index -> segment
# --------------------------------------------------------------------------------------
RECORDER = """#!/bin/sh
# records its argv, one JSON list per call, then exits with $RECORDER_RC
python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@" >> "$RECORD"
if [ -n "${RECORDER_SLEEP:-}" ]; then
  sleep "$RECORDER_SLEEP" &
  s=$!
  trap 'kill "$s"; echo TERM >> "$RECORD"; exit 105' TERM
  echo READY >> "$RECORD"
  wait "$s"
fi
exit "${RECORDER_RC:-0}"
"""


@pytest.fixture
def recorder(tmp_path):
    d = tmp_path / "bin"
    d.mkdir()
    (d / "stampede").write_text(RECORDER)
    (d / "stampede").chmod(0o755)
    record = tmp_path / "record.jsonl"

    def run(sh, env, timeout=30, rc=0, sleep=None, start_only=False):
        record.unlink(missing_ok=True)
        e = {"PATH": f"{d}:/usr/bin:/bin", "RECORD": str(record), "RECORDER_RC": str(rc)}
        if sleep:
            e["RECORDER_SLEEP"] = str(sleep)
        e.update(env)
        if start_only:
            return subprocess.Popen(["/bin/sh", "-c", sh], env=e, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p = subprocess.run(["/bin/sh", "-c", sh], env=e, capture_output=True, text=True,
                           timeout=timeout)
        calls = [json.loads(x) for x in record.read_text().splitlines()
                 if x.startswith("[")] if record.exists() else []
        return p, calls

    run.record = record
    return run


def frac(s):
    assert re.fullmatch(r"0|1|[1-9][0-9]*/[1-9][0-9]*", s), s
    f = Fraction(s)
    assert str(f) == s, f"{s} is not reduced"
    return f


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 12])
def test_segments_tile_the_load(tmp_path, script, recorder, n):
    (_, _, job, _), _ = write(tmp_path, n, script)
    sh = shell_of(run_container(job))
    results = tmp_path / "results"
    results.mkdir()
    segments, sequences = [], set()
    for i in range(n):
        p, calls = recorder(sh, {"JOB_COMPLETION_INDEX": str(i),
                                 "STAMPEDE_RESULTS_DIR": str(results)})
        assert p.returncode == 0, p.stderr
        assert len(calls) == 1, calls
        argv = calls[0]
        assert argv[:2] == ["run", "/scripts/journey.lua"], argv
        opts = dict(zip(argv[2::2], argv[3::2]))
        assert len(argv) == 8 and set(opts) == {
            "--execution-segment", "--execution-segment-sequence", "--out"}, argv
        assert opts["--out"] == f"result={results}/part-{i}.json"
        a, b = opts["--execution-segment"].split(":")
        segments.append((frac(a), frac(b)))
        sequences.add(opts["--execution-segment-sequence"])
    # the segments tile [0, 1] in order, each 1/n
    assert segments[0][0] == 0 and segments[-1][1] == 1
    for (a, b), (c, _) in zip(segments, segments[1:]):
        assert b == c
    assert all(b - a == Fraction(1, n) for a, b in segments)
    # one sequence for all: the points of the segments
    assert len(sequences) == 1
    points = [frac(x) for x in sequences.pop().split(",")]
    assert points == [a for a, _ in segments] + [Fraction(1)]
    if n == 4:
        assert [f"{a}:{b}" for a, b in segments] == ["0:1/4", "1/4:1/2", "1/2:3/4", "3/4:1"]
    # an index the Job does not have: exit 2, nothing run
    for env in ({"JOB_COMPLETION_INDEX": str(n)}, {"JOB_COMPLETION_INDEX": "-1"},
                {"JOB_COMPLETION_INDEX": "01"}, {}):
        p, calls = recorder(sh, {**env, "STAMPEDE_RESULTS_DIR": str(results)})
        assert p.returncode == 2 and calls == [], (env, p.stderr)
        assert "no segment for JOB_COMPLETION_INDEX" in p.stderr


def test_run_pod_exit_codes(tmp_path, script, recorder):
    (_, _, job, _), _ = write(tmp_path, 4, script)
    sh = shell_of(run_container(job))
    results = tmp_path / "results"
    results.mkdir()
    env = {"JOB_COMPLETION_INDEX": "2", "STAMPEDE_RESULTS_DIR": str(results)}
    # a part's failed thresholds do not fail the Job (the merge judges the whole)
    p, calls = recorder(sh, env, rc=99)
    assert p.returncode == 0 and len(calls) == 1, p.stderr
    for rc in (1, 104, 107, 108):
        p, _ = recorder(sh, env, rc=rc)
        assert p.returncode == rc, (rc, p.stderr)
    # a part of an earlier run on the claim: refused, nothing run
    (results / "part-2.json").write_text("{}")
    p, calls = recorder(sh, env)
    assert p.returncode == 3 and calls == [], p.stderr
    assert "part-2.json is there from an earlier run" in p.stderr


def start_run_pod(job, recorder, tmp_path, index):
    """Pod index's shell of the run Job, started with stampede's stand-in (the recorder,
    sleeping 20 s) and a results directory of its own: the shell's process."""
    results = tmp_path / "results"
    results.mkdir()
    return recorder(shell_of(run_container(job)),
                    {"JOB_COMPLETION_INDEX": str(index), "STAMPEDE_RESULTS_DIR": str(results)},
                    sleep=20, start_only=True)


def test_run_pod_passes_a_stop_on(tmp_path, script, recorder):
    """The shell is the container's PID 1, which gets SIGTERM when the pod is deleted:
    it passes it to stampede, and exits with stampede's code."""
    (_, _, job, _), _ = write(tmp_path, 2, script)
    proc = start_run_pod(job, recorder, tmp_path, 0)
    try:
        deadline = time.monotonic() + 30
        # the recorder (stampede's stand-in) says READY once its own trap is set
        while not (recorder.record.exists() and "READY" in recorder.record.read_text()):
            assert time.monotonic() < deadline, "the recorder did not start"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 105, err
    assert recorder.record.read_text().splitlines()[-1] == "TERM"


# --------------------------------------------------------------------------------------
# the merge Job
# --------------------------------------------------------------------------------------
def test_merge_waits_for_the_parts(tmp_path, script, recorder):
    (_, _, _, merge), _ = write(tmp_path, 3, script, "--merge-wait", "2s")
    sh = shell_of(merge["spec"]["template"]["spec"]["initContainers"][0])
    results = tmp_path / "results"
    results.mkdir()
    env = {"STAMPEDE_RESULTS_DIR": str(results)}
    for i in range(3):
        (results / f"part-{i}.json").write_text("{}")
    t = time.monotonic()
    p, calls = recorder(sh, env)
    assert p.returncode == 0 and calls == [] and time.monotonic() - t < 1.5, p.stderr
    # one missing: fails after its tries (2 s), naming it
    (results / "part-1.json").unlink()
    t = time.monotonic()
    p, _ = recorder(sh, env)
    took = time.monotonic() - t
    assert p.returncode == 1, p.stderr
    assert 1.5 < took < 10, took
    assert "gave up after 2 s: 1 of 3 parts missing" in p.stderr, p.stderr
    assert "(the first: part-1.json)" in p.stderr and "job/stampede" in p.stderr
    assert "waiting for 1 of 3 parts" in p.stdout
    # a part that comes while it waits
    timer = threading.Timer(0.5, lambda: (results / "part-1.json").write_text("{}"))
    timer.start()
    try:
        p, _ = recorder(sh, env)
    finally:
        timer.join()
    assert p.returncode == 0, p.stderr


def test_merge_wait_bounds(tmp_path, script):
    for wait, tries, every in (("2s", 3, 1), ("1m", 11, 6), ("6h", 2161, 10),
                               ("1500ms", 3, 1)):
        (_, _, _, merge), _ = write(tmp_path / wait, 2, script, "--merge-wait", wait)
        sh = shell_of(merge["spec"]["template"]["spec"]["initContainers"][0])
        assert re.search(rf"^tries={tries}  # a look every {every} s", sh, re.M), (wait, sh)
        assert f"\n  sleep {every}\n" in sh


def test_merge_command(tmp_path, script, recorder):
    n = 6
    (_, _, _, merge), _ = write(tmp_path, n, script)
    sh = shell_of(merge["spec"]["template"]["spec"]["containers"][0])
    results = tmp_path / "results"
    env = {"STAMPEDE_RESULTS_DIR": str(results)}
    parts = [f"{results}/part-{i}.json" for i in range(n)]
    merge_argv = ["merge", *parts, "-o", f"{results}/total.json"]
    report_argv = ["report", f"{results}/total.json", "-o", f"{results}/report.html"]
    p, calls = recorder(sh, env)
    assert p.returncode == 0 and calls == [merge_argv, report_argv], (p.stderr, calls)
    # a threshold of the whole failed: the report is written, the Job fails with 99
    p, calls = recorder(sh, env, rc=99)
    assert p.returncode == 99 and calls == [merge_argv, report_argv], p.stderr
    # merge failed: no report
    p, calls = recorder(sh, env, rc=104)
    assert p.returncode == 104 and calls == [merge_argv], p.stderr
    assert "*" not in sh  # the parts are listed, not globbed


# --------------------------------------------------------------------------------------
# the script in the ConfigMap
# --------------------------------------------------------------------------------------
HOSTILE = [
    "  starts with spaces\n\tand a tab\n",
    "no trailing newline",
    "two trailing newlines\n\n",
    "\n\nleading blank lines\n   \n  spaces-only line above\n",
    "windows\r\nline ends\r\n",
    "---\n...\n# not a comment\nkey: value\n- item\n\"quoted\" 'single' \\ back\n",
    "unicode: é ü 日本 🚀 \u00a0 nbsp\n",
    "line separator \u2028 and NEL \u0085 and BOM \ufeff\n",
    "a\x07bell and DEL \x7f\n",
    "trailing spaces   \n\t\n",
]


def test_script_reaches_the_configmap_exactly(tmp_path, validator):
    docs = []
    for i, text in enumerate(HOSTILE):
        s = tmp_path / f"s{i}.lua"
        s.write_bytes(text.encode())
        (cm, _, _, _), (cm_text, _, _, _) = write(tmp_path / f"d{i}", 1, s)
        assert cm["data"] == {f"s{i}.lua": text}, (text, cm_text)
        docs.append(cm)
    assert validator(docs) == [("v1 ConfigMap", [])] * len(docs)
    # a plain script is a readable literal block
    (_, _, _, _), (cm_text, _, _, _) = write(tmp_path / "plain", 1, tmp_path / "s1.lua")
    assert '  "s1.lua": |-\n    no trailing newline\n' in cm_text


def test_script_size_limit(tmp_path):
    limit = 1 << 20
    ok = tmp_path / "big.lua"
    line = "-- " + "x" * 60 + "\n"
    body = (line * (limit // len(line) + 1))[:limit - 1] + "\n"
    ok.write_text(body)
    assert ok.stat().st_size == limit
    (cm, _, _, _), _ = write(tmp_path, 1, ok)
    assert cm["data"]["big.lua"] == body
    over = tmp_path / "over.lua"
    over.write_text(body + "\n")
    p = render("render", "-p", "2", "-s", over)
    assert p.returncode == EXIT_CONFIG, p.stderr
    assert f"{limit + 1} bytes, more than the {limit} (1 MiB) a ConfigMap holds" in p.stderr
    assert p.stdout == ""


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------
def bad_cases(tmp_path, script):
    binary = tmp_path / "bin.lua"
    binary.write_bytes(b"local x = '\xff\xfe'\n")
    nul = tmp_path / "nul.lua"
    nul.write_bytes(b"a\x00b\n")
    empty = tmp_path / "empty.lua"
    empty.write_bytes(b"")
    spaced = tmp_path / "my script.lua"
    spaced.write_text(SCRIPT)
    dotdot = tmp_path / "..lua"
    dotdot.write_text(SCRIPT)
    dots = tmp_path / "..."
    dots.write_text(SCRIPT)
    s = str(script)
    return [
        ([], "--parallelism N is required"),
        (["-p", "2"], "--script S.lua is required"),
        (["-p", "2", "-s", tmp_path / "missing.lua"],
         f"--script '{tmp_path}/missing.lua': No such file or directory"),
        (["-p", "2", "-s", tmp_path], "Is a directory"),
        # the script is named by the path given, not its base name
        (["-p", "2", "-s", binary], f"--script '{binary}': not UTF-8 text"),
        (["-p", "2", "-s", nul], f"--script '{nul}': holds a NUL byte"),
        (["-p", "2", "-s", empty], f"--script '{empty}': the file is empty"),
        (["-p", "2", "-s", "/bin/ls"], "--script '/bin/ls': holds a NUL byte"),
        (["-p", "2", "-s", spaced], "the file name 'my script.lua' cannot be a ConfigMap key"),
        # Kubernetes refuses a key that starts with '..' (IsConfigMapKey)
        (["-p", "2", "-s", dotdot], "the file name '..lua' cannot be a ConfigMap key"),
        (["-p", "2", "-s", dots], "the file name '...' cannot be a ConfigMap key"),
        (["-p", "0", "-s", s], "invalid --parallelism '0': expected a pod count from 1 to 1000"),
        (["-p", "1001", "-s", s], "invalid --parallelism '1001'"),
        (["-p", "-3", "-s", s], "invalid --parallelism '-3'"),
        (["-p", "2x", "-s", s], "invalid --parallelism '2x'"),
        (["-p", "2", "-s", s, "--name", "Load"], "--name 'Load': not an RFC 1123 DNS label"),
        (["-p", "2", "-s", s, "--name", "-load"], "not an RFC 1123 DNS label"),
        (["-p", "2", "-s", s, "--name", "a\nb"], "--name 'a?b'"),
        (["-p", "2", "-s", s, "--name", "x" * 58],
         "longer than 57 characters (the merge Job, NAME-merge"),
        (["-p", "2", "-s", s, "--namespace", "Perf"], "--namespace 'Perf'"),
        (["-p", "2", "-s", s, "--image", "has space:1"], "--image 'has space:1'"),
        (["-p", "2", "-s", s, "--image", ""], "--image '': not an image reference"),
        (["-p", "2", "-s", s, "--storage", "1GB"], "--storage '1GB'"),
        (["-p", "2", "-s", s, "--storage", "0Gi"], "--storage '0Gi'"),
        (["-p", "2", "-s", s, "--storage-class", "NFS_fast"], "--storage-class 'NFS_fast'"),
        (["-p", "2", "-s", s, "--env", "NOEQUALS"], "--env 'NOEQUALS': expected NAME=VALUE"),
        (["-p", "2", "-s", s, "--env", "1X=2"], "--env '1X': not a variable name"),
        (["-p", "2", "-s", s, "--env", "A-B=2"], "--env 'A-B': not a variable name"),
        (["-p", "2", "-s", s, "--env", "A=1", "--env", "A=2"], "--env A given twice"),
        (["-p", "2", "-s", s, "--env", "JOB_COMPLETION_INDEX=3"], "set by the Job itself"),
        (["-p", "2", "-s", s, "--env", "STAMPEDE_RESULTS_DIR=/x"], "set by the Job itself"),
        (["-p", "2", "-s", s, "--deadline", "0s"], "invalid --deadline '0s'"),
        (["-p", "2", "-s", s, "--deadline", "soon"], "invalid --deadline 'soon'"),
        (["-p", "2", "-s", s, "--merge-wait", "-1s"], "invalid --merge-wait '-1s'"),
        (["-p", "2", "-s", s, "--parallel", "3"], "unknown option '--parallel'"),
        (["-p", "2", "-s", s, "--bogus"], "unknown option '--bogus'"),
        (["-p", "2", "-s", s, "extra"], "unexpected argument 'extra'"),
        (["-p", "2", "-s", s, "-o", script], "not a directory"),
    ]


def test_bad_input_is_one_clear_line(tmp_path, script):
    out = tmp_path / "out"
    out.mkdir()
    for args, why in bad_cases(tmp_path, script):
        p = render("render", *args, cwd=out)
        assert p.returncode == EXIT_CONFIG, (args, p.returncode, p.stderr)
        assert why in p.stderr, (args, p.stderr)
        lines = p.stderr.splitlines()
        assert lines[0].startswith("stampede"), p.stderr
        assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("see ")), p.stderr
        assert p.stdout == "", args
        assert list(out.iterdir()) == [], f"{args}: a file was written"


def test_a_dot_file_is_a_key(tmp_path):
    """A name with one leading dot is a valid key (only '.', '..' and '..x' are not)."""
    s = tmp_path / ".journey.lua"
    s.write_text(SCRIPT)
    (cm, _, _, _), _ = write(tmp_path, 2, s)
    assert cm["data"] == {".journey.lua": SCRIPT}


def test_unwritable_outputs(tmp_path, script):
    """-o DIR that cannot be made or written: 110 (a file not written), one line naming
    it, nothing written; 104 stays for flags (-o naming a file: test_bad_input...)."""
    # a directory that cannot be written or made in (root may write anywhere a mode
    # forbids: /proc)
    if os.geteuid() == 0:
        target, parent = Path("/proc/self"), Path("/proc")
    else:
        target = parent = tmp_path / "ro"
        target.mkdir()
        target.chmod(0o555)
    for out, why in ((target, "cannot write"),
                     (parent / "nope", "cannot create the directory"),
                     (tmp_path / "no" / "such", "cannot create the directory")):
        p = render("render", "-p", "2", "-s", script, "-o", out)
        assert p.returncode == EXIT_OUTPUT_FAILED, (out, p.returncode, p.stderr)
        assert why in p.stderr and f"'{out}" in p.stderr, (out, p.stderr)
        assert len(p.stderr.splitlines()) == 1 and p.stdout == "", p.stderr
    assert not (tmp_path / "no").exists()
    # stdout that cannot take it
    with open("/dev/full", "w") as full:
        p = subprocess.run([BIN, "k8s", "render", "-p", "2", "-s", str(script)], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=30)
    assert p.returncode == EXIT_OUTPUT_FAILED and "No space left" in p.stderr, p.stderr
    # a missing directory whose parent exists is made
    p = render("render", "-p", "2", "-s", script, "-o", tmp_path / "made")
    assert p.returncode == 0 and sorted(os.listdir(tmp_path / "made")) == sorted(FILES)


def test_parallelism_bounds(tmp_path, script):
    for n in (1, 1000):
        p = render("render", "-p", n, "-s", script, "--name", "x" * 57)
        assert p.returncode == 0, p.stderr
        job = list(yaml.safe_load_all(p.stdout))[2]
        sh = shell_of(run_container(job))
        assert f"  {n - 1}) SEG={Fraction(n - 1, n)}:1 ;;" in sh


# --------------------------------------------------------------------------------------
# deploy/k8s
# --------------------------------------------------------------------------------------
def test_deploy_k8s_is_up_to_date(tmp_path):
    (tmp_path / "deploy").mkdir()
    p = render("render", *DEPLOY_ARGS, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    for f in FILES:
        want = (tmp_path / "deploy" / "k8s" / f).read_text()
        have = (DEPLOY / f).read_text() if (DEPLOY / f).exists() else None
        assert have == want, (
            f"deploy/k8s/{f} is not what `stampede k8s render` writes today: from the "
            f"repository's root, run\n  stampede k8s render "
            f"{' '.join(a.replace(str(ROOT) + '/', '') for a in DEPLOY_ARGS)}")
    readme = (DEPLOY / "README.md").read_text()
    assert "--parallelism 4 --script examples/load.lua" in readme


# --------------------------------------------------------------------------------------
# the Dockerfile
# --------------------------------------------------------------------------------------
DOCKERFILE = ROOT / "Dockerfile"
IMAGE_MAX_MB = 60  # compressed, as a registry stores and a node pulls it


def runtime_packages():
    """The packages the runtime stage (the last FROM) installs with apt-get."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    stage = text[text.rindex("\nFROM "):]
    pkgs = set()
    for m in re.finditer(r"apt-get install ([^&\n]*)", stage):
        pkgs |= {w for w in m.group(1).split() if not w.startswith("-")}
    return pkgs


def dpkg_package(path):
    for cand in (path, os.path.realpath(path)):
        p = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True, timeout=30)
        if p.returncode == 0:
            return p.stdout.split(":")[0]
    return None


def depends_closure(pkgs):
    """pkgs and every package they depend on (Depends, Pre-Depends), as installed here."""
    seen, todo = set(), list(pkgs)
    while todo:
        pkg = todo.pop()
        if pkg in seen:
            continue
        seen.add(pkg)
        p = subprocess.run(["dpkg-query", "-W", "-f", "${Depends}, ${Pre-Depends}", pkg],
                           capture_output=True, text=True, timeout=30)
        for dep in p.stdout.split(","):
            for alt in dep.split("|"):
                name = alt.strip().split(" ")[0].split(":")[0]
                if name:
                    todo.append(name)
    return seen


def lint(modules, text):
    js = ("const du = require(process.argv[1] + '/dockerfile-utils');"
          "const S = du.ValidationSeverity.ERROR;"
          "const all = {deprecatedMaintainer: S, directiveCasing: S, emptyContinuationLine: S,"
          " instructionCasing: S, instructionCmdMultiple: S, instructionEntrypointMultiple: S,"
          " instructionHealthcheckMultiple: S, instructionJSONInSingleQuotes: S,"
          " instructionWorkdirRelative: S};"
          "const text = require('fs').readFileSync(0, 'utf8');"
          "process.stdout.write(JSON.stringify(du.validate(text, all)));")
    p = subprocess.run(["node", "-e", js, str(modules)], input=text, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return [f"line {d['range']['start']['line'] + 1}: {d['message']}"
            for d in json.loads(p.stdout)]


def test_dockerfile(modules):
    assert lint(modules, DOCKERFILE.read_text()) == []
    # the linter does look
    bad = DOCKERFILE.read_text().replace("WORKDIR /src", "WORKDIR src") + 'CMD ["x"]\n'
    problems = lint(modules, bad)
    assert any("absolute" in x for x in problems) and any("one CMD" in x for x in problems), \
        problems
    # shape: two stages, the binary, a non-root user, the entrypoint
    text = DOCKERFILE.read_text()
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["debian:bookworm", "debian:bookworm-slim"]
    assert "/usr/local/bin/stampede" in text and 'ENTRYPOINT ["stampede"]' in text
    assert re.search(r"^USER 10001", text, re.M)
    assert "--no-install-recommends" in text
    # https:// targets: the build stage's CA bundle, found through SSL_CERT_FILE (libssl3
    # alone has no default path to it; the ca-certificates package would bring openssl)
    build = text[:text.rindex("\nFROM ")]
    runtime = text[text.rindex("\nFROM "):]
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    assert re.search(r"install[^&]*\bca-certificates\b", build.replace("\\\n", " ")), build
    assert f"COPY --from=build {bundle} {bundle}" in runtime
    assert f"ENV SSL_CERT_FILE={bundle}" in runtime
    # the runtime layer cleans up after apt in the same RUN, whatever the base's config
    for junk in ("apt-get clean", "/var/lib/apt/lists/*", "/var/cache/apt/*.bin",
                 "/var/lib/dpkg/*-old", "/var/log/apt/*"):
        assert junk in runtime, junk
    # every library the binary needs comes from a package the runtime stage installs, or
    # from one of their dependencies, or is libc6's (in every Debian image)
    pkgs = runtime_packages()
    closure = depends_closure(pkgs | {"libc6"})
    p = subprocess.run(["readelf", "-d", BIN], capture_output=True, text=True, timeout=30)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", p.stdout)
    ldd = subprocess.run(["ldd", BIN], capture_output=True, text=True, timeout=30).stdout
    libs = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
    assert needed and set(needed) <= set(libs), (needed, libs)
    missing = []
    for name, path in sorted(libs.items()):
        pkg = dpkg_package(path)
        assert pkg, f"{path} ({name}) belongs to no Debian package"
        if name in needed and pkg not in pkgs | {"libc6"}:
            missing.append(f"{name} (linked directly): {pkg} is not installed by the "
                           "runtime stage")
        elif pkg not in closure:
            missing.append(f"{name}: {pkg} is not a dependency of the runtime packages")
    assert not missing, "\n".join(missing)
    # and the build stage has the -dev packages of the Makefile's pkg-config names
    for dev in ("liblua5.4-dev", "libjansson-dev", "libssl-dev", "zlib1g-dev",
                "liburiparser-dev", "libc-ares-dev", "libbrotli-dev", "libzstd-dev",
                "libcurl4-openssl-dev", "libsqlite3-dev", "libgsl-dev", "liburing-dev"):
        assert dev in build, dev
    ignore = (ROOT / ".dockerignore").read_text().split()
    assert "*" in ignore and "!src/" in ignore and "!Makefile" in ignore


IMAGE_TLS = """
stampede serve-demo --tls --port {port} --write-ca /tmp/ca.pem >/tmp/demo.log 2>&1 &
pid=$!
for i in $(seq 100); do (: >/dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; sleep 0.1; done
run() {{ stampede run --url https://localhost:{port}/health --duration 1s --no-summary \\
  --threshold 'http_req_failed: rate==0' "$@" >/dev/null 2>&1; echo "rc=$?"; }}
run                                 # not trusted yet: 99
cat /tmp/ca.pem >> /etc/ssl/certs/ca-certificates.crt
run                                 # in the image's bundle: 0
(unset SSL_CERT_FILE; run)          # libssl3 alone has no default bundle: 99
kill $pid
"""


@pytest.mark.serial
def test_image(tmp_path):
    """scripts/build-image.sh (`make image`) builds the image with podman (runc), from base
    images it makes with mmdebstrap: compressed under 60 MB, runs, trusts its CA bundle."""
    if os.environ.get("STAMPEDE_IMAGE_TEST") != "1":
        pytest.skip("the image build takes minutes and the apt mirror: STAMPEDE_IMAGE_TEST=1 "
                    "runs it")
    missing = [t for t in ("podman", "runc") if not shutil.which(t)]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (apt-get install podman runc "
                    "mmdebstrap uidmap fuse-overlayfs, or run scripts/build-image.sh as root)")
    d = Path(BIN).resolve().parent / "image"
    tag = "localhost/stampede:e2e"
    env = {**os.environ, "STAMPEDE_IMAGE_DIR": str(d), "STAMPEDE_IMAGE_TAG": tag}
    p = subprocess.run([str(ROOT / "scripts" / "build-image.sh")], env=env,
                       capture_output=True, text=True, timeout=3600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    print(p.stdout)
    sizes = dict(re.findall(r"(\w+_bytes)=(\d+)", p.stdout))
    mb = int(sizes["compressed_bytes"]) / 1e6
    assert mb < IMAGE_MAX_MB, f"the image is {mb:.1f} MB compressed"
    podman = ["podman", "--root", str(d / "storage"), "--runroot", str(d / "run"),
              "--storage-driver", "overlay"]
    penv = {**os.environ, "CONTAINERS_CONF": str(d / "containers.conf")}
    p = subprocess.run([*podman, "run", "--rm", tag, "--version"], env=penv,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout == f"stampede {version()}\n", p.stderr
    # https: the demo's CA, added to the image's bundle, is trusted through SSL_CERT_FILE
    sh = tmp_path / "tls.sh"
    sh.write_text(IMAGE_TLS.format(port=18000 + os.getpid() % 1000))
    p = subprocess.run([*podman, "run", "--rm", "--user", "0", "--entrypoint", "bash", "-v",
                        f"{sh}:/tls.sh:ro", tag, "/tls.sh"], env=penv, capture_output=True,
                       text=True, timeout=120)
    assert p.stdout.split() == ["rc=99", "rc=0", "rc=99"], (p.stdout, p.stderr)


# --------------------------------------------------------------------------------------
# the pods' commands with the real binary (a loopback target; the merge when it is there)
# --------------------------------------------------------------------------------------
def has(args, word):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=10)
    return p.returncode == 0 and word in p.stdout


def test_pods_with_the_real_binary(tmp_path):
    from servers import CountingServer
    require_binary()
    if not has(["run", "--help"], "--execution-segment"):
        pytest.skip("`stampede run` has no --execution-segment yet")
    scripts, results, bindir = tmp_path / "scripts", tmp_path / "results", tmp_path / "bin"
    for d in (scripts, results, bindir):
        d.mkdir()
    (bindir / "stampede").symlink_to(Path(BIN).resolve())
    (scripts / "count.lua").write_text(
        'local http = require "stampede.http"\n'
        "options = { vus = 8, iterations = 31 }\n"
        "function default() http.get(stampede.env.BASE_URL) end\n")
    n = 4
    with CountingServer() as srv:
        (_, _, job, merge), _ = write(tmp_path, n, scripts / "count.lua", "--env",
                                      f"BASE_URL={srv.url}")
        c = run_container(job)
        sh = shell_of(c).replace('"/scripts/', f'"{scripts}/')
        assert sh != shell_of(c)
        env = {e["name"]: e["value"] for e in c["env"]}
        env.update({"STAMPEDE_RESULTS_DIR": str(results), "PATH": f"{bindir}:/usr/bin:/bin"})
        for i in range(n):
            p = subprocess.run(["/bin/sh", "-c", sh], env={**env, "JOB_COMPLETION_INDEX":
                                                           str(i)},
                               capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, (i, p.stderr[-3000:])
            part = json.loads((results / f"part-{i}.json").read_text())
            assert part["format"].startswith("stampede-result/"), part.get("format")
        assert srv.requests == 31, "the segments together ran other than the whole"
    if not has(["merge", "--help"], "merge"):
        pytest.skip("`stampede merge` is not there yet: the parts were written")
    mpod = merge["spec"]["template"]["spec"]
    for c in (mpod["initContainers"][0], mpod["containers"][0]):
        p = subprocess.run(["/bin/sh", "-c", shell_of(c)], env=env, capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == 0, (c["name"], p.stderr[-3000:])
    assert (results / "total.json").exists() and (results / "report.html").exists()


def test_a_stopped_pod_still_writes_its_part(tmp_path):
    """A pod deleted mid-run (kubectl delete, the deadline, a sibling's failure) gets
    SIGTERM on its shell: stampede stops, writes its part (interrupted) and exits 105."""
    from servers import CountingServer
    require_binary()
    if not has(["run", "--help"], "--execution-segment"):
        pytest.skip("`stampede run` has no --execution-segment yet")
    scripts, results, bindir = tmp_path / "scripts", tmp_path / "results", tmp_path / "bin"
    for d in (scripts, results, bindir):
        d.mkdir()
    (bindir / "stampede").symlink_to(Path(BIN).resolve())
    (scripts / "long.lua").write_text(
        'local http = require "stampede.http"\n'
        'options = { vus = 2, duration = "30s" }\n'
        "function default() http.get(stampede.env.BASE_URL); stampede.sleep(0.05) end\n")
    with CountingServer() as srv:
        (_, _, job, _), _ = write(tmp_path, 2, scripts / "long.lua", "--env",
                                  f"BASE_URL={srv.url}")
        c = run_container(job)
        sh = shell_of(c).replace('"/scripts/', f'"{scripts}/')
        env = {e["name"]: e["value"] for e in c["env"]}
        env.update({"STAMPEDE_RESULTS_DIR": str(results), "PATH": f"{bindir}:/usr/bin:/bin",
                    "JOB_COMPLETION_INDEX": "1"})
        proc = subprocess.Popen(["/bin/sh", "-c", sh], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 15
            while srv.requests < 3:
                assert time.monotonic() < deadline and proc.poll() is None, "no requests"
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 105, err[-2000:]
    part = json.loads((results / "part-1.json").read_text())
    assert part["state"]["interrupted"] is True


def test_env_values_reach_the_pod_as_given(tmp_path, script):
    """Kubernetes expands $(VAR) in an env value and turns $$ into $ (its dependent
    variables): every $ is written doubled, so the pod sees the value as given."""
    given = {"PASS": "p$$w$", "REF": "$(STAMPEDE_RESULTS_DIR)", "PLAIN": "x"}
    args = [a for k, v in given.items() for a in ("--env", f"{k}={v}")]
    docs, _ = write(tmp_path, 2, script, *args)
    job = next(d for d in docs if d["kind"] == "Job" and "-merge" not in d["metadata"]["name"])
    env = {e["name"]: e["value"] for e in run_container(job)["env"]}

    def k8s_expand(v):  # what the kubelet does with a value (k8s.io/kubernetes expansion)
        return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                      lambda m: "$" if m.group(0) == "$$" else f"<{m.group(1)}>", v)
    for k, v in given.items():
        assert k8s_expand(env[k]) == v, (k, env[k])


def test_o_dir_never_replaces_the_script(tmp_path, script):
    d = tmp_path / "d"
    d.mkdir()
    (d / "configmap.yaml").symlink_to(script)
    before = script.read_text()
    p = render("render", "-p", "2", "-s", script, "-o", d)
    assert p.returncode == EXIT_CONFIG, p.stderr
    assert "is the script" in p.stderr, p.stderr
    assert script.read_text() == before


# --------------------------------------------------------------------------------------
# --coordinator: a Service and a Job NAME-coordinator (`stampede coordinate`)
# --------------------------------------------------------------------------------------
COORD_KINDS = ["v1 ConfigMap", "v1 PersistentVolumeClaim", "v1 Service", "batch/v1 Job",
               "batch/v1 Job", "batch/v1 Job"]


def write_coord(tmp_path, n, script, *args):
    """Render with --coordinator into tmp_path/out-N: {file: [objects]} and the texts."""
    out = tmp_path / f"out-{n}"
    tmp_path.mkdir(parents=True, exist_ok=True)
    p = render("render", "--parallelism", n, "--script", script, "--coordinator", *args,
               "-o", out)
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "", p.stderr
    files = FILES[:2] + ["coordinator.yaml"] + FILES[2:]
    assert sorted(x.name for x in out.iterdir()) == sorted(files)
    texts = {f: (out / f).read_text() for f in files}
    return {f: list(yaml.safe_load_all(t)) for f, t in texts.items()}, texts


def coord_objects(docs):
    svc, cjob = docs["coordinator.yaml"]
    return svc, cjob, docs["job.yaml"][0]


def test_a_stop_while_waiting_for_the_coordinator_ends_the_pod(tmp_path, script, recorder):
    """Review finding: the run pod waits (up to its deadline) for the coordinator to listen
    before it starts stampede; its shell is PID 1, which ignores an untrapped TERM, so a
    Job deleted then sat out the grace period until SIGKILL. The trap is set before the
    wait: a stop ends the pod (143) within a poll, and stampede never starts."""
    docs, _ = write_coord(tmp_path, 2, script)
    _, _, job = coord_objects(docs)
    proc = start_run_pod(job, recorder, tmp_path, 1)
    try:
        time.sleep(1)  # nothing listens at the coordinator's name: the shell waits for it
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)  # within a poll (sleep 2, timeout 5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err
    assert not (recorder.record.exists() and recorder.record.read_text()), \
        "stampede was started after the stop"


@pytest.mark.parametrize("n", [1, 4, 7])
def test_coordinator_manifests_are_valid(validator, tmp_path, script, n):
    plain, texts = write_coord(tmp_path, n, script)
    full, _ = write_coord(tmp_path / "full", n, script, "--name", "checkout-load",
                          "--namespace", "perf", "--image", "registry.example:5000/team/"
                          "stampede:1.2", "--env", "BASE_URL=http://checkout.shop:8080",
                          "--deadline", "1h30m", "--merge-wait", "2h")
    objs = [o for d in (plain, full) for f in d for o in d[f]]
    assert validator(objs) == [(k, []) for k in COORD_KINDS + COORD_KINDS]
    for docs, name, ns in ((plain, "stampede", None), (full, "checkout-load", "perf")):
        svc, cjob, job = coord_objects(docs)
        for o in (svc, cjob):
            assert o["metadata"]["name"] == f"{name}-coordinator"
            assert o["metadata"].get("namespace") == ns
        assert svc["spec"]["type"] == "ClusterIP"
        assert svc["spec"]["ports"] == [{"name": "http", "protocol": "TCP", "port": 6565,
                                         "targetPort": 6565}]
        tmpl = cjob["spec"]["template"]
        # the Service selects the coordinator's pod, and only it
        assert svc["spec"]["selector"].items() <= tmpl["metadata"]["labels"].items()
        assert not svc["spec"]["selector"].items() <= \
            job["spec"]["template"]["metadata"]["labels"].items()
        assert cjob["spec"]["backoffLimit"] == 0
        pod = tmpl["spec"]
        assert pod["restartPolicy"] == "Never"
        assert pod["securityContext"] == job["spec"]["template"]["spec"]["securityContext"]
        c, rc = pod["containers"][0], run_container(job)
        assert len(pod["containers"]) == 1 and c["image"] == rc["image"]
        assert c["securityContext"] == rc["securityContext"]
        assert c["ports"] == [{"name": "http", "containerPort": 6565, "protocol": "TCP"}]
        assert c["command"][:6] == ["stampede", "coordinate", "--instances", str(n),
                                    "--listen", "0.0.0.0:6565"]
    # the ready barrier: 30 minutes, or the deadline when shorter; --timeout: --merge-wait
    assert coord_objects(plain)[1]["spec"]["template"]["spec"]["containers"][0][
        "command"][6:] == ["--ready-timeout", "1800s", "--timeout", "21600s"]
    assert coord_objects(full)[1]["spec"]["template"]["spec"]["containers"][0][
        "command"][6:] == ["--ready-timeout", "1800s", "--timeout", "7200s"]
    # every file's header says what the coordinator is
    for t in texts.values():
        assert "#   Service and Job stampede-coordinator: `stampede coordinate`" in t
        assert "(exit code 108: it aborted the run)" in t


def test_coordinator_stream_and_bounds(tmp_path, script):
    p = render("render", "-p", "3", "-s", script, "--coordinator", "--deadline", "5m")
    assert p.returncode == 0, p.stderr
    docs = list(yaml.safe_load_all(p.stdout))
    assert [f"{d['apiVersion']} {d['kind']}" for d in docs] == COORD_KINDS
    assert [d["metadata"]["name"] for d in docs] == [
        "stampede-script", "stampede-results", "stampede-coordinator",
        "stampede-coordinator", "stampede", "stampede-merge"]
    assert p.stdout.count("\n---\n") == 5
    assert docs[3]["spec"]["template"]["spec"]["containers"][0]["command"][6:8] == [
        "--ready-timeout", "300s"]
    # without the flag: no trace of it (deploy/k8s/ checks the bytes)
    q = render("render", "-p", "3", "-s", script, "--deadline", "5m")
    assert q.returncode == 0 and "coordinat" not in q.stdout
    # the Service's name is an RFC 1035 label: NAME at most 51 characters, from a-z
    for name in ("a" * 52, "1load"):
        p = render("render", "-p", "2", "-s", script, "--coordinator", "--name", name)
        assert p.returncode == EXIT_CONFIG and p.stdout == "", p.stderr
        assert p.stderr.count("\n") == 1 and "with --coordinator" in p.stderr, p.stderr
    assert render("render", "-p", "2", "-s", script, "--coordinator", "--name",
                  "a" * 51).returncode == 0
    assert "--coordinator" in render("render", "--help").stdout


PROBE = """#!/bin/sh
# the run pod's wait for the coordinator: records its argv, answers $PROBE_RC
python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@" >> "$PROBE_RECORD"
exit "${PROBE_RC:-0}"
"""


def test_run_pod_joins_the_coordinator(tmp_path, script, recorder):
    docs, _ = write_coord(tmp_path, 4, script, "--name", "shop", "--deadline", "1s")
    sh = shell_of(run_container(coord_objects(docs)[2]))
    (tmp_path / "bin" / "timeout").write_text(PROBE)
    (tmp_path / "bin" / "timeout").chmod(0o755)
    probes = tmp_path / "probes.jsonl"
    results = tmp_path / "results"
    results.mkdir()
    env = {"JOB_COMPLETION_INDEX": "1", "STAMPEDE_RESULTS_DIR": str(results),
           "PROBE_RECORD": str(probes)}
    p, calls = recorder(sh, env)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert [json.loads(x) for x in probes.read_text().splitlines()] == [
        ["5", "bash", "-c", ": >/dev/tcp/shop-coordinator/6565"]]
    argv = calls[0]
    assert argv[:2] == ["run", "/scripts/journey.lua"], argv
    opts = dict(zip(argv[2::2], argv[3::2]))
    assert opts["--coordinator"] == "http://shop-coordinator:6565"
    assert opts["--coordinator-timeout"] == "1s"  # the barrier's wait: the deadline here
    assert opts["--execution-segment"] == "1/4:1/2"
    # a coordinator that never listens: the pod gives up after the barrier's wait and lets
    # `stampede run` say why it cannot connect
    probes.unlink()
    t0 = time.monotonic()
    p, calls = recorder(sh, {**env, "PROBE_RC": "1"})
    assert time.monotonic() - t0 < 10
    assert "stampede: shop-coordinator:6565 does not answer after 1 s" in p.stderr
    # at least one probe (how many fit in the 1 s wait depends on the machine's load)
    assert len(probes.read_text().splitlines()) >= 1 and len(calls) == 1


def test_coordinator_with_the_real_binary(tmp_path):
    """The coordinator Job's command, run for real on loopback (--listen 127.0.0.1:0), and
    two run pods' shells joining it through the address they are given."""
    from servers import CountingServer
    require_binary()
    if not has(["coordinate", "--help"], "--instances"):
        pytest.skip("`stampede coordinate` is not there yet")
    scripts, results, bindir = tmp_path / "scripts", tmp_path / "results", tmp_path / "bin"
    for d in (scripts, results, bindir):
        d.mkdir()
    (bindir / "stampede").symlink_to(Path(BIN).resolve())
    (scripts / "count.lua").write_text(
        'local http = require "stampede.http"\n'
        "options = { vus = 4, iterations = 21 }\n"
        "function default() http.get(stampede.env.BASE_URL) end\n")
    n = 2
    with CountingServer() as srv:
        docs, _ = write_coord(tmp_path, n, scripts / "count.lua", "--env",
                              f"BASE_URL={srv.url}")
        _, cjob, job = coord_objects(docs)
        cmd = cjob["spec"]["template"]["spec"]["containers"][0]["command"]
        cmd = [BIN] + ["127.0.0.1:0" if a == "0.0.0.0:6565" else a for a in cmd[1:]]
        coord = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        pods = []
        try:
            line = coord.stderr.readline()
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            assert m, line
            c = run_container(job)
            sh = shell_of(c).replace('"/scripts/', f'"{scripts}/').replace(
                "stampede-coordinator:6565", f"127.0.0.1:{m[1]}").replace(
                "tcp/stampede-coordinator/6565", f"tcp/127.0.0.1/{m[1]}")
            assert f"--coordinator \"http://127.0.0.1:{m[1]}\"" in sh
            assert f"/dev/tcp/127.0.0.1/{m[1]}" in sh
            env = {e["name"]: e["value"] for e in c["env"]}
            env.update({"STAMPEDE_RESULTS_DIR": str(results),
                        "PATH": f"{bindir}:/usr/bin:/bin"})
            pods += [subprocess.Popen(["/bin/sh", "-c", sh], text=True,
                                     env={**env, "JOB_COMPLETION_INDEX": str(i)},
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                    for i in range(n)]
            for i, pod in enumerate(pods):
                _, err = pod.communicate(timeout=60)
                assert pod.returncode == 0, (i, err[-3000:])
            _, err = coord.communicate(timeout=30)
            assert coord.returncode == 0, err[-3000:]
        finally:
            for proc in [coord] + pods:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        assert srv.requests == 21, "the pods together ran other than the whole"
    for i in range(n):
        assert (results / f"part-{i}.json").exists()
