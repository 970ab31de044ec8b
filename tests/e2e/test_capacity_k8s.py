"""`stampede capacity k8s` (issue #14 "Autoscaling manifests", docs/capacity.md): a
Kubernetes HorizontalPodAutoscaler and a KEDA ScaledObject from a plan's per-pod capacity.

- The manifests are valid for their APIs: read with python3-yaml, then checked by the
  validators of the npm packages kubernetes-models (generated from the Kubernetes OpenAPI
  schema: autoscaling/v2 HorizontalPodAutoscaler) and @kubernetes-models/keda (generated
  from KEDA's API types, as KEDA's CRDs are: keda.sh/v1alpha1 ScaledObject), pinned in
  tests/fixtures/k8s/package.json and package-lock.json and installed with `npm ci` under
  the build directory at test time (tests/fixtures/k8s/validate.mjs runs them). Broken
  copies (a string for an integer, a number for KEDA's string threshold, a missing
  required field) are refused, so the validators do look.
- The numbers: replicas = ceil(req/s / per-pod req/s), the target per pod, the
  stabilization windows (0 s up, 300 s down) in both, scale to zero off-hours with a cron
  trigger holding the working-hours replicas.
- Hostile strings (quotes, newlines, '#', ': ', YAML line separators, Unicode
  non-characters) round-trip exactly through the YAML, and the manifests stay valid; names
  YAML 1.1 reads as other types (null, on, 123, 1e3, 2001-12-14) stay strings.
- The target per pod is written exactly as used for the replicas (a quantity has at most
  3 decimals: 0.0014 is rounded down to 0.001 and the replicas use 0.001).
- --plan PLAN.json takes R and the replica bounds from a real `capacity plan --out json=`.
- Bad input (values, names, crons, replica bounds, outputs) exits 104 with one line; a
  file that cannot be written, 110.
"""

import json
import math
import os
import subprocess
from pathlib import Path

import pytest
import yaml  # python3-yaml (scripts/install-deps.sh)

from conftest import BIN, EXIT_CONFIG, require_binary
from tools import npm_install

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "k8s"
NPM_DIR = Path(BIN).resolve().parent / "npm-k8s"
EXIT_OUTPUT_FAILED = 110
HPA = "autoscaling/v2 HorizontalPodAutoscaler"
KEDA = "keda.sh/v1alpha1 ScaledObject"

PLAN = ["--rps-per-pod", "127.3", "--name", "checkout", "--namespace", "shop",
        "--current-rps", "1000", "--peak-rps", "10000"]
OFF_HOURS = ["--off-hours", "0 20 * * 1-5 0 8 * * 1-5", "--timezone", "Europe/Paris"]
BEHAVIOR = {
    "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15},
                             {"type": "Pods", "value": 4, "periodSeconds": 15}]},
    "scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                  "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]},
}
TARGET = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout"}
METADATA = {"name": "checkout", "namespace": "shop",
            "labels": {"app.kubernetes.io/managed-by": "stampede"}}


def capacity_k8s(*args, timeout=30):
    require_binary()
    return subprocess.run([BIN, "capacity", "k8s", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def write(tmp_path, *args):
    out = tmp_path / "manifests"
    out.mkdir(exist_ok=True)
    p = capacity_k8s(*args, "-o", out)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "" and p.stderr == "", (p.stdout, p.stderr)
    hpa_text = (out / "hpa.yaml").read_text()
    keda_text = (out / "keda-scaledobject.yaml").read_text()
    return hpa_text, keda_text, yaml.safe_load(hpa_text), yaml.safe_load(keda_text)


# --------------------------------------------------------------------------------------
# the validators
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def validator():
    """A function: list of manifests -> list of (kind, errors), by kubernetes-models."""
    modules = npm_install(NPM_DIR, "the Kubernetes and KEDA validators (tests/fixtures/k8s)",
                          fixture=FIXTURES)

    def validate(docs):
        p = subprocess.run(["node", str(FIXTURES / "validate.mjs"), str(modules)],
                           input=json.dumps(docs), capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, f"validate.mjs failed:\n{p.stdout}\n{p.stderr}"
        return [(r["kind"], r["errors"]) for r in json.loads(p.stdout)]

    return validate


def test_manifests_are_valid_for_their_apis(validator, tmp_path):
    _, _, hpa, keda = write(tmp_path, *PLAN)
    assert validator([hpa, keda]) == [(HPA, []), (KEDA, [])]
    _, _, _, keda_off = write(tmp_path, *PLAN, *OFF_HOURS)
    assert validator([keda_off]) == [(KEDA, [])]


def test_broken_manifests_are_refused(validator, tmp_path):
    _, _, hpa, keda = write(tmp_path, *PLAN, *OFF_HOURS)
    broken = []
    b = json.loads(json.dumps(hpa))
    b["spec"]["maxReplicas"] = "79"
    broken.append((b, "/spec/maxReplicas must be integer"))
    b = json.loads(json.dumps(hpa))
    del b["spec"]["scaleTargetRef"]
    broken.append((b, "/spec must have required property scaleTargetRef"))
    b = json.loads(json.dumps(hpa))
    b["spec"]["behavior"]["scaleUp"]["policies"][0]["value"] = "100%"
    broken.append((b, "/spec/behavior/scaleUp/policies/0/value must be integer"))
    b = json.loads(json.dumps(keda))
    b["spec"]["triggers"][0]["metadata"]["threshold"] = 127.3  # KEDA wants a string
    broken.append((b, "/spec/triggers/0/metadata/threshold must be string"))
    b = json.loads(json.dumps(keda))
    del b["spec"]["triggers"]
    broken.append((b, "/spec must have required property triggers"))
    b = json.loads(json.dumps(keda))
    b["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"][
        "stabilizationWindowSeconds"] = "300s"
    broken.append((b, "stabilizationWindowSeconds must be integer"))
    results = validator([doc for doc, _ in broken])
    for (doc, why), (kind, errors) in zip(broken, results):
        assert any(why in e for e in errors), (why, kind, errors)


# --------------------------------------------------------------------------------------
# the numbers
# --------------------------------------------------------------------------------------
def test_hpa_from_the_plan(tmp_path):
    text, _, hpa, _ = write(tmp_path, *PLAN)
    assert hpa == {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": METADATA,
        "spec": {
            "scaleTargetRef": TARGET,
            "minReplicas": 8,    # ceil(1000 / 127.3)
            "maxReplicas": 79,   # ceil(10000 / 127.3)
            "metrics": [{"type": "Pods", "pods": {
                "metric": {"name": "http_requests_per_second"},
                "target": {"type": "AverageValue", "averageValue": "127.3"}}}],
            "behavior": BEHAVIOR,
        },
    }
    assert "# minReplicas 8 = ceil(1000 req/s now (--current-rps) / 127.3).\n" in text
    assert "# maxReplicas 79 = ceil(10000 req/s at peak (--peak-rps) / 127.3).\n" in text


def test_keda_from_the_plan(tmp_path):
    _, text, _, keda = write(tmp_path, *PLAN)
    assert keda == {
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": METADATA,
        "spec": {
            "scaleTargetRef": TARGET,
            "minReplicaCount": 8,
            "maxReplicaCount": 79,
            "advanced": {"horizontalPodAutoscalerConfig": {"behavior": BEHAVIOR}},
            "triggers": [{"type": "prometheus", "metricType": "AverageValue", "metadata": {
                "serverAddress": "http://prometheus.monitoring:9090",
                "query": 'sum(rate(http_requests_total{namespace="shop",service="checkout"}'
                         '[1m]))',
                "threshold": "127.3"}}],
        },
    }
    assert "# minReplicaCount 8 = ceil(1000 req/s now (--current-rps) / 127.3).\n" in text


def test_scale_to_zero_off_hours(tmp_path):
    _, text, _, keda = write(tmp_path, *PLAN, *OFF_HOURS)
    spec = keda["spec"]
    assert spec["minReplicaCount"] == 0 and spec["maxReplicaCount"] == 79
    assert spec["triggers"][0]["type"] == "prometheus"
    # working hours: from when off-hours end (08:00) to when they begin (20:00)
    assert spec["triggers"][1] == {"type": "cron", "metadata": {
        "timezone": "Europe/Paris", "start": "0 8 * * 1-5", "end": "0 20 * * 1-5",
        "desiredReplicas": "8"}}
    assert "# working-hours replicas 8 = ceil(1000 req/s" in text


def test_flags_instead_of_rates(tmp_path):
    text, _, hpa, keda = write(tmp_path, "--rps-per-pod", "140", "--min-replicas", "2",
                               "--max-replicas", "12")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 12)
    assert hpa["spec"]["metrics"][0]["pods"]["target"]["averageValue"] == "140"
    assert keda["spec"]["triggers"][0]["metadata"]["threshold"] == "140"
    assert hpa["metadata"]["name"] == "app" and hpa["metadata"]["namespace"] == "default"
    assert "# minReplicas 2: --min-replicas.\n" in text
    assert "# maxReplicas 12: --max-replicas.\n" in text
    # 1273 / 127.3 is 10 pods, though not exactly in binary floating point
    _, _, hpa, _ = write(tmp_path, "--rps-per-pod", "127.3", "--peak-rps", "1273")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 10)


def test_hostile_strings_round_trip(validator, tmp_path):
    query = ('sum(rate(http_requests_total{service="a\\"b", path=~"/x: y #z"}[1m])) '
             "\n# not a comment\t'q' \u2028 \u0085 end \\")
    prom = "https://prom.example:9090/p?q='x'&y=#frag"
    _, _, hpa, keda = write(tmp_path, *PLAN, "--query", query, "--prometheus", prom,
                            "--metric", "ns:requests_per_second:rate1m")
    md = keda["spec"]["triggers"][0]["metadata"]
    assert md["query"] == query and md["serverAddress"] == prom
    assert hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] == \
        "ns:requests_per_second:rate1m"
    assert validator([hpa, keda]) == [(HPA, []), (KEDA, [])]


def test_stdout_and_single_outputs(tmp_path):
    p = capacity_k8s(*PLAN)
    assert p.returncode == 0, p.stderr
    docs = list(yaml.safe_load_all(p.stdout))
    assert [d["kind"] for d in docs] == ["HorizontalPodAutoscaler", "ScaledObject"]
    keda = tmp_path / "so.yaml"
    p = capacity_k8s(*PLAN, "--out", f"keda={keda}")
    assert p.returncode == 0 and p.stdout == "", p.stderr
    assert yaml.safe_load(keda.read_text())["kind"] == "ScaledObject"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["so.yaml"]
    p = capacity_k8s(*PLAN, "--out", "hpa=-")
    assert yaml.safe_load(p.stdout)["kind"] == "HorizontalPodAutoscaler"


def test_help():
    p = capacity_k8s("--help")
    assert p.returncode == 0 and "--rps-per-pod R" in p.stdout and "--off-hours" in p.stdout


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------
BAD = [
    ([], "--rps-per-pod is required"),
    (["--rps-per-pod", "0", "--max-replicas", "3"], "invalid --rps-per-pod '0'"),
    (["--rps-per-pod", "-5", "--max-replicas", "3"], "invalid --rps-per-pod '-5'"),
    (["--rps-per-pod", "1e3", "--max-replicas", "3"], "invalid --rps-per-pod '1e3'"),
    (["--rps-per-pod", "nan", "--max-replicas", "3"], "invalid --rps-per-pod 'nan'"),
    (["--rps-per-pod", "100"], "give --peak-rps"),
    (["--rps-per-pod", "100", "--peak-rps", "500", "--max-replicas", "9"], "not both"),
    (["--rps-per-pod", "100", "--current-rps", "500", "--min-replicas", "2",
      "--max-replicas", "9"], "not both"),
    (["--rps-per-pod", "100", "--min-replicas", "10", "--max-replicas", "9"],
     "min replicas 10 (--min-replicas) is above max replicas 9 (--max-replicas)"),
    (["--rps-per-pod", "100", "--current-rps", "2000", "--peak-rps", "1000"],
     "min replicas 20 (--current-rps) is above max replicas 10 (--peak-rps)"),
    (["--rps-per-pod", "100", "--min-replicas", "0", "--max-replicas", "9"],
     "for scale to zero, use --off-hours"),
    (["--rps-per-pod", "0.01", "--peak-rps", "1e9"], "invalid --peak-rps"),
    (["--rps-per-pod", "0.01", "--peak-rps", "100000"], "needs more than 100000 replicas"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--name", "Checkout"],
     "--name 'Checkout': not an RFC 1123 DNS label"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--name", "a\nb"], "--name 'a?b'"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--namespace", "x" * 64],
     "not an RFC 1123 DNS label"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--metric", "http-rps"],
     "--metric 'http-rps': not a metric name"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--prometheus", "prom:9090"],
     "--prometheus 'prom:9090': not an http:// or https:// URL"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--query", ""], "--query: empty"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--off-hours", "0 20 * * * 0 8 * * *"],
     "--off-hours needs --timezone"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--timezone", "UTC"],
     "--timezone is for --off-hours"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--off-hours", "0 20 * * *",
      "--timezone", "UTC"], "expected two 5-field crons"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--off-hours", "0 25 * * * 0 8 * * *",
      "--timezone", "UTC"], "start cron '0 25 * * *': field 2 (hour): 25 is out of 0-23"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--off-hours", "0 8 * * * 0 8 * * *",
      "--timezone", "UTC"], "the same cron"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--off-hours", "0 20 * * * 0 8 * * *",
      "--timezone", "Europe/Pariss"], "--timezone 'Europe/Pariss'"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--off-hours", "0 20 * * * 0 8 * * *",
      "--timezone", "Factory"], "--timezone 'Factory'"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--off-hours", "0 20 * * * 0 8 * * *",
      "--timezone", "posixrules"], "--timezone 'posixrules'"),
    # start and end written differently, firing at the same times
    (["--rps-per-pod", "100", "--max-replicas", "3", "--off-hours",
      "0 20 * * 1-5 00 20 * * 1-5", "--timezone", "UTC"], "the same cron"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--off-hours",
      "0 20 * * MON-FRI 0 20 ? * 1-5", "--timezone", "UTC"], "the same cron"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--off-hours", "0 20 31 2 * 0 8 * * *",
      "--timezone", "UTC"], "start cron '0 20 31 2 *' never fires"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--off-hours",
      "0 99999999999999999999 * * * 0 8 * * *", "--timezone", "UTC"],
     "field 2 (hour): 99999999999999999999 is out of 0-23"),
    # bounds: at most a billion req/s, at least a quantity's 0.001
    (["--rps-per-pod", "1" + "0" * 63, "--max-replicas", "3"],
     "invalid --rps-per-pod '1" + "0" * 63 + "': at most 1000000000 req/s"),
    (["--rps-per-pod", "100", "--current-rps", "1000000001", "--max-replicas", "3"],
     "invalid --current-rps '1000000001': at most 1000000000"),
    (["--rps-per-pod", "100", "--peak-rps", "1" + "0" * 30], "invalid --peak-rps"),
    (["--rps-per-pod", "0.0005", "--max-replicas", "3"],
     "invalid --rps-per-pod '0.0005': must be at least 0.001"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--out", "hpa=a.yaml", "--out",
      "hpa=b.yaml"], "--out hpa given twice (hpa=a.yaml and hpa=b.yaml)"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--out", "keda=-", "--out",
      "hpa=h.yaml", "--out", "keda=k.yaml"], "--out keda given twice"),
    (["--max-replicas", "3"], "--plan PLAN.json or --rps-per-pod is required"),
    (["--plan", "/nonexistent/plan.json"], "--plan /nonexistent/plan.json: No such file"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--out", "yaml=x"],
     "expected hpa=FILE or keda=FILE"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "--rps-per-p", "3"],
     "unknown option '--rps-per-p'"),
    (["--rps-per-pod", "100", "--max-replicas", "3", "extra"], "unexpected argument 'extra'"),
]


@pytest.mark.parametrize("args,why", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_input_is_one_clear_line(args, why, tmp_path):
    p = capacity_k8s(*args, "-o", tmp_path)
    assert p.returncode == EXIT_CONFIG, p.stderr
    assert why in p.stderr, p.stderr
    lines = p.stderr.splitlines()
    assert lines[0].startswith("stampede"), p.stderr
    # one line, or cli_opt_report's two: the message, then "see 'stampede help ...'"
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("see ")), p.stderr
    assert list(tmp_path.iterdir()) == [], "a file was written"
    assert p.stdout == ""


def test_bad_outputs(tmp_path):
    # a missing directory is made; one whose parent is missing, or a file, is refused
    other = tmp_path.parent / f"{tmp_path.name}-dirs"
    other.mkdir()
    p = capacity_k8s(*PLAN, "-o", other / "made")
    assert p.returncode == 0 and (other / "made" / "hpa.yaml").exists(), p.stderr
    p = capacity_k8s(*PLAN, "-o", other / "no" / "such")
    assert p.returncode == EXIT_CONFIG and "cannot create the directory" in p.stderr, p.stderr
    (other / "file").write_text("x")
    p = capacity_k8s(*PLAN, "-o", other / "file")
    assert p.returncode == EXIT_CONFIG and "not a directory" in p.stderr, p.stderr
    p = capacity_k8s(*PLAN, "-o", tmp_path, "--out", "hpa=-")
    assert p.returncode == EXIT_CONFIG and "not both" in p.stderr, p.stderr
    p = capacity_k8s(*PLAN, "--out", f"hpa={tmp_path}/x.yaml", "--out",
                     f"keda={tmp_path}/./x.yaml")
    assert p.returncode == EXIT_CONFIG and "the same file" in p.stderr, p.stderr
    p = capacity_k8s(*PLAN, "--out", f"hpa={tmp_path}/no/such/dir/h.yaml")
    assert p.returncode == EXIT_CONFIG and "h.yaml" in p.stderr, p.stderr
    assert list(tmp_path.iterdir()) == []
    if os.path.exists("/dev/full"):  # the check passes, the write fails: ENOSPC
        p = capacity_k8s(*PLAN, "--out", "hpa=/dev/full")
        assert p.returncode == EXIT_OUTPUT_FAILED, p.stderr
        assert "/dev/full" in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr


# --------------------------------------------------------------------------------------
# YAML types, exact quantities, one stream
# --------------------------------------------------------------------------------------
# DNS labels that YAML 1.1 (PyYAML, go-yaml v2) reads as null, booleans, numbers or dates
YAML11_SPECIALS = ["null", "true", "false", "on", "off", "yes", "no", "y", "n", "123",
                   "0b1", "1e3", "0x1f", "0o17", "012", "2001-12-14", "nan", "1-2"]


def test_names_that_yaml_reads_as_other_types_stay_strings(validator, tmp_path):
    docs = []
    for v in YAML11_SPECIALS:
        hpa_text, _, hpa, keda = write(tmp_path, *PLAN[:2], "--max-replicas", "3",
                                       "--name", v, "--namespace", v)
        for d in (hpa, keda):
            md = d["metadata"]
            assert (md["name"], md["namespace"]) == (v, v), (v, md)
            assert d["spec"]["scaleTargetRef"]["name"] == v, v
            assert all(type(x) is str for x in (md["name"], md["namespace"]))
        q = keda["spec"]["triggers"][0]["metadata"]["query"]
        assert q == f'sum(rate(http_requests_total{{namespace="{v}",service="{v}"}}[1m]))'
        assert f"name: {v}\n" not in hpa_text
        docs += [hpa, keda]
    assert validator(docs) == [(HPA, []), (KEDA, [])] * len(YAML11_SPECIALS)


def test_non_characters_round_trip(validator, tmp_path):
    query = "sum(x) \ufffe \uffff \ufdd0 \ufdef \U0001fffe \U0010ffff \ufffd \ufeff end"
    hpa_text, keda_text, hpa, keda = write(tmp_path, *PLAN, "--query", query)
    assert keda["spec"]["triggers"][0]["metadata"]["query"] == query
    assert "\\uFFFE" in keda_text and "\ufffe" not in keda_text
    assert validator([hpa, keda]) == [(HPA, []), (KEDA, [])]


def test_the_target_is_written_exactly_as_used(validator, tmp_path):
    text, _, hpa, keda = write(tmp_path, "--rps-per-pod", "0.0014", "--current-rps",
                               "0.0014", "--peak-rps", "0.0101")
    spec = hpa["spec"]
    assert spec["metrics"][0]["pods"]["target"]["averageValue"] == "0.001"
    assert keda["spec"]["triggers"][0]["metadata"]["threshold"] == "0.001"
    # the replicas are of 0.001 (what the HPA will use), not of 0.0014
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 11)
    assert "# (--rps-per-pod 0.0014 rounded down to 0.001 req/s" in text
    assert "# minReplicas 2 = ceil(0.0014 req/s now (--current-rps) / 0.001).\n" in text
    assert "# maxReplicas 11 = ceil(0.0101 req/s at peak (--peak-rps) / 0.001).\n" in text
    assert validator([hpa, keda]) == [(HPA, []), (KEDA, [])]
    text, _, hpa, keda = write(tmp_path, "--rps-per-pod", "1000000000", "--peak-rps",
                               "1000000000")
    assert hpa["spec"]["metrics"][0]["pods"]["target"]["averageValue"] == "1000000000"
    assert hpa["spec"]["maxReplicas"] == 1
    assert validator([hpa, keda]) == [(HPA, []), (KEDA, [])]


@pytest.mark.parametrize("hpa,keda", [("/dev/stdout", "-"), ("-", "/dev/stdout"),
                                      ("/dev/fd/1", "/proc/self/fd/1"), ("-", "-")])
def test_both_to_one_stream_are_one_yaml_stream(hpa, keda):
    p = capacity_k8s(*PLAN, "--out", f"hpa={hpa}", "--out", f"keda={keda}")
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("\n---\n") == 1, p.stdout
    docs = list(yaml.safe_load_all(p.stdout))
    assert [d["kind"] for d in docs] == ["HorizontalPodAutoscaler", "ScaledObject"]


def test_time_zone_tables_are_not_zones():
    if not os.path.exists("/usr/share/zoneinfo/zone.tab"):
        pytest.skip("no tz database at /usr/share/zoneinfo")
    for tz in ["zone.tab", "tzdata.zi", "iso3166.tab", "leapseconds", "zone1970.tab",
               "posix/Europe/Paris", "right/UTC", "Europe"]:
        if not os.path.exists(f"/usr/share/zoneinfo/{tz}"):
            continue
        p = capacity_k8s(*PLAN, *OFF_HOURS[:2], "--timezone", tz)
        assert p.returncode == EXIT_CONFIG, (tz, p.stderr)
        assert f"--timezone '{tz}'" in p.stderr and len(p.stderr.splitlines()) == 1
        assert p.stdout == ""
    p = capacity_k8s(*PLAN, *OFF_HOURS[:2], "--timezone", "America/New_York")
    assert p.returncode == 0, p.stderr


# --------------------------------------------------------------------------------------
# --plan: R and the replicas from `capacity plan --out json=`
# --------------------------------------------------------------------------------------
def make_plan(tmp_path, *args, name="plan.json"):
    path = tmp_path / name
    p = subprocess.run([BIN, "capacity", "plan", *args, "-q", "--out", f"json={path}"],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    return path, json.loads(path.read_text())


def expected_target(plan):
    """R as k8s_rps_quantity makes it: per instance x buffer, rounded down to 0.001."""
    r = plan["capacity"]["perInstanceRps"] * plan["inputs"]["bufferPercent"] / 100
    m = r * 1000
    q = round(m) if abs(m - round(m)) <= 1e-9 * max(round(m), 1) else math.floor(m)
    return q, f"{q // 1000}.{q % 1000:03d}".rstrip("0").rstrip(".")


def test_plan_gives_target_and_replicas(validator, tmp_path):
    path, plan = make_plan(tmp_path, "--current-rps", "1000", "--current-util", "55%",
                           "--growth", "15%/month")
    hpa_text, keda_text, hpa, keda = write(tmp_path, "--plan", path, "--name", "checkout",
                                           "--namespace", "shop")
    milli, q = expected_target(plan)
    assert q == "1272.727"  # 1000 / 0.55 x 70% = 1272.7272..., rounded down
    big = max(plan["scenarios"], key=lambda s: s["multiple"])
    assert big["multiple"] == 10 and big["instances"] == 8
    assert plan["months"][-1]["instances"] < 8
    spec = hpa["spec"]
    assert spec["metrics"][0]["pods"]["target"]["averageValue"] == q
    assert keda["spec"]["triggers"][0]["metadata"]["threshold"] == q
    assert (spec["minReplicas"], spec["maxReplicas"]) == (max(1, plan["months"][0]["instances"]), 8)
    assert (keda["spec"]["minReplicaCount"], keda["spec"]["maxReplicaCount"]) == (1, 8)
    # the same replicas as ceil(load / R) with the R written
    assert math.ceil(10000 / (milli / 1000)) == 8
    for text, mn, mx in ((hpa_text, "minReplicas", "maxReplicas"),
                         (keda_text, "minReplicaCount", "maxReplicaCount")):
        assert f"# from {path}: 1818.18181818182 req/s per instance at 100% x its 70% " \
               "buffer = 1272.72727272727" in text, text
        assert "rounded down to 0.001 req/s" in text
        assert f"# {mn} 1: from {path}: today's load (1000 req/s) needs 1 instance at " \
               "its 70% buffer.\n" in text, text
        assert f"# {mx} 8: from {path}: the 10x scenario (10000 req/s) needs 8 " \
               "instances at its 70% buffer.\n" in text, text
    assert validator([hpa, keda]) == [(HPA, []), (KEDA, [])]
    _, _, _, keda_off = write(tmp_path, "--plan", path, *OFF_HOURS)
    assert keda_off["spec"]["triggers"][1]["metadata"]["desiredReplicas"] == "1"
    assert validator([keda_off]) == [(KEDA, [])]


def test_plan_horizon_beyond_the_largest_scenario(validator, tmp_path):
    # 40%/month for 12 months is 40.5x today: more than the 10x scenario
    path, plan = make_plan(tmp_path, "--current-rps", "1200", "--current-util", "30%",
                           "--growth", "40%/month", "--instances", "3", "--buffer", "80%")
    last = plan["months"][-1]
    big = max(plan["scenarios"], key=lambda s: s["multiple"])
    assert last["instances"] > big["instances"]
    hpa_text, _, hpa, keda = write(tmp_path, "--plan", path)
    _, q = expected_target(plan)
    assert hpa["spec"]["metrics"][0]["pods"]["target"]["averageValue"] == q
    assert hpa["spec"]["minReplicas"] == plan["months"][0]["instances"]
    assert hpa["spec"]["maxReplicas"] == last["instances"]
    assert f"# maxReplicas {last['instances']}: from {path}: month 12 of the horizon (" \
        in hpa_text, hpa_text
    assert validator([hpa, keda]) == [(HPA, []), (KEDA, [])]


def test_plan_count_raised_by_the_rounded_target(tmp_path):
    # 3030.30303 req/s per instance x 70% = 2121.2121..., written 2121.212: the plan's
    # 21.21x scenario needs exactly 10 instances of 2121.2121..., but 11 of 2121.212
    path, plan = make_plan(tmp_path, "--current-rps", "1000", "--current-util", "33%",
                           "--growth", "5%/month", "--scenario", "21.2121212121212x")
    big = max(plan["scenarios"], key=lambda s: s["multiple"])
    assert big["instances"] == 10
    text, _, hpa, _ = write(tmp_path, "--plan", path)
    assert hpa["spec"]["metrics"][0]["pods"]["target"]["averageValue"] == "2121.212"
    assert hpa["spec"]["maxReplicas"] == 11 == math.ceil(big["rps"] / 2121.212)
    assert f"# maxReplicas 11 = ceil(21212.1212121212 req/s, the 21.2121212121212x " \
           f"scenario in {path}, / 2121.212): more than the plan's 10 instances" in text, text


def test_plan_flags_override(tmp_path):
    path, plan = make_plan(tmp_path, "--current-rps", "1000", "--current-util", "55%",
                           "--growth", "15%/month")
    text, _, hpa, _ = write(tmp_path, "--plan", path, "--max-replicas", "20",
                            "--current-rps", "3000")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 20)
    assert hpa["spec"]["metrics"][0]["pods"]["target"]["averageValue"] == "1272.727"
    assert "# minReplicas 3 = ceil(3000 req/s now (--current-rps) / 1272.727).\n" in text
    assert "# maxReplicas 20: --max-replicas.\n" in text
    # another R: the plan's loads over it (its instance counts are of its own R)
    text, _, hpa, _ = write(tmp_path, "--plan", path, "--rps-per-pod", "140")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (8, 72)
    assert hpa["spec"]["metrics"][0]["pods"]["target"]["averageValue"] == "140"
    assert f"# maxReplicas 72 = ceil(10000 req/s, the 10x scenario in {path}, / 140 " \
           "(--rps-per-pod)).\n" in text, text


def test_bad_plans(tmp_path):
    pts = tmp_path / "pts.csv"
    pts.write_text("N,X\n1,100\n2,190\n4,350\n8,560\n16,700\n32,650\n")
    fit = tmp_path / "fit.json"
    p = subprocess.run([BIN, "capacity", "fit", str(pts), "--out", f"json={fit}"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    over_instances, _ = make_plan(tmp_path, "--current-rps", "300", "--model", fit,
                                  "--model-over", "instances", "--growth", "10%/month",
                                  name="cluster.json")
    not_json = tmp_path / "x.json"
    not_json.write_text("x")
    other = tmp_path / "fit-as-plan.json"
    other.write_text(fit.read_text())
    good, _ = make_plan(tmp_path, "--current-rps", "1000", "--current-util", "55%",
                        "--growth", "15%/month")
    out = tmp_path / "out"
    out.mkdir()
    cases = [
        (["--plan", over_instances], "no per-instance capacity"),
        (["--plan", not_json], "not JSON"),
        (["--plan", other], "not a capacity plan"),
        (["--plan", good, "--out", f"hpa={good}"], "is the --plan file"),
        (["--plan", good, "--max-replicas", "0"], "invalid --max-replicas '0'"),
        (["--plan", good, "--current-rps", "100000"],
         "min replicas 79 (--current-rps) is above max replicas 8 (--plan)"),
    ]
    for args, why in cases:
        p = capacity_k8s(*args, "-o", out) if "--out" not in args else capacity_k8s(*args)
        assert p.returncode == EXIT_CONFIG, (args, p.stderr)
        assert why in p.stderr and len(p.stderr.splitlines()) == 1, (args, p.stderr)
        assert p.stdout == ""
    assert list(out.iterdir()) == []
    # -o DIR whose hpa.yaml is the plan
    (out / "hpa.yaml").write_text(good.read_text())
    p = capacity_k8s("--plan", out / "hpa.yaml", "-o", out)
    assert p.returncode == EXIT_CONFIG and "is the --plan file" in p.stderr, p.stderr
    assert sorted(x.name for x in out.iterdir()) == ["hpa.yaml"]
    assert json.loads(good.read_text())["format"] == "stampede-capacity-plan/1"
    assert json.loads((out / "hpa.yaml").read_text())["format"] == "stampede-capacity-plan/1"
