"""`stampede capacity fit` (issue #14, docs/capacity.md) end to end: the Universal
Scalability Law fitted to a CSV of points (the SPEC SDM91 ground truth of R's usl package,
its raytracer data set) and to the steps of a real closed-model stepped run against the
demo target, the report on stdout, the JSON of --out json=FILE and --json, and bad input
(exit 104 with one line on stderr, nothing on stdout).

The figures asserted are the fit's, not the demo's capacity: the run's points are compared
with its own steps, so the module needs no CPU to itself.
"""

import json
import math
import re
import subprocess

import pytest

from conftest import EXIT_CONFIG, ROOT, strict_json
from serve_demo_proc import ServeDemo

FIXTURES = ROOT / "tests" / "fixtures" / "usl"
SDM91 = FIXTURES / "sdm91.csv"
RAYTRACER = FIXTURES / "raytracer.csv"


def close(got, want, rel):
    return got is not None and abs(got - want) <= rel * abs(want)


def fit_json(stampede, tmp_path, *args):
    out = tmp_path / "fit.json"
    r = stampede("capacity", "fit", *args, "--out", f"json={out}", expect=0)
    return r, strict_json(out.read_text())


def test_sdm91_csv_matches_the_reference(stampede, tmp_path):
    r, doc = fit_json(stampede, tmp_path, SDM91)
    # R's usl package: sigma 0.0277285, kappa 0.0001044, lambda 89.995 (4 significant digits)
    assert close(doc["sigma"], 0.0277285, 5e-5), doc
    assert close(doc["kappa"], 0.0001044, 5e-4), doc
    assert close(doc["lambda"], 89.995, 5e-5), doc
    assert close(doc["seSigma"], 9.122e-3, 5e-4) and close(doc["seKappa"], 1.988e-5, 5e-4)
    assert close(doc["seLambda"], 14.21, 5e-4), doc
    assert close(doc["r2"], 0.9896, 5e-5), doc
    assert 96 < doc["nStar"] < 97.5 and 1880 < doc["xMax"] < 1885, doc
    assert doc["limit"] == "coherency" and doc["model"] == "usl" and doc["npoints"] == 7
    assert [p["n"] for p in doc["points"]] == [1, 18, 36, 72, 108, 144, 216]
    assert doc["points"][3]["x"] == 1853.2 and doc["points"][3]["r"] is None
    for p in doc["points"]:
        assert math.isclose(p["residual"], p["x"] - p["fitted"], rel_tol=1e-9, abs_tol=1e-9)
        assert p["littleN"] is None
    assert doc["littles"] is None
    assert doc["inputKind"] == "CSV" and doc["unit"] is None and doc["nSource"] == "csv"
    assert doc["verdict"].startswith("coherency-limited: throughput peaks at N* ≈ 97")
    # the report shows the same numbers
    out = r.stdout
    for text in ("0.027728", "0.00010437", "89.995", "± 0.009122", "± 14.21", "0.9896",
                 "96.52", "1,884", "verdict: coherency-limited: throughput peaks at N* ≈ 97",
                 "(X_max ≈ 1884) and falls beyond it"):
        assert text in out, (text, out)
    assert re.search(r"^\s+216\s+1,702\s+-\s+1,646\s+\+3\.3%\s+-$", out, re.M), out
    assert "wrote " in r.stderr
    # --json prints the same document
    j = stampede("capacity", "fit", SDM91, "--json", expect=0)
    assert strict_json(j.stdout) == doc and j.stderr == ""


def test_raytracer_csv_is_contention_limited(stampede, tmp_path):
    r, doc = fit_json(stampede, tmp_path, RAYTRACER)
    # R's usl: alpha 0.0578, beta 0 (at its lower bound), gamma 21.8488
    assert close(doc["sigma"], 0.05777, 1e-3) and doc["kappa"] == 0, doc
    assert close(doc["lambda"], 21.8488, 1e-5), doc
    assert doc["limit"] == "contention" and doc["nStar"] is None, doc
    assert close(doc["xMax"], doc["lambda"] / doc["sigma"], 1e-9)
    assert "contention-limited: throughput levels off towards X_max" in r.stdout, r.stdout


def test_littles_law_off_is_a_warning(stampede, tmp_path):
    csv = tmp_path / "think.csv"
    # 10 ms responses, but each VU also thinks 30 ms: X·R is a quarter of N
    csv.write_text("N,X,R\n" + "".join(f"{n},{n * 25 * (1 - 0.01 * n)},0.010\n"
                                       for n in (1, 2, 4, 8, 16, 24)))
    r, doc = fit_json(stampede, tmp_path, csv)
    assert doc["littles"]["known"] == 6 and doc["littles"]["agree"] is False, doc
    assert any("Little's law" in w and "think time" in w for w in doc["warnings"]), doc
    assert "Little's law" in r.stdout and "off" in r.stdout, r.stdout


def test_few_points_far_below_the_peak_are_warned(stampede, tmp_path):
    csv = tmp_path / "early.csv"
    csv.write_text("1,100\n2,199\n3,297\n4,394\n")  # almost linear: a far-away peak
    r, doc = fit_json(stampede, tmp_path, csv)
    warnings = " ".join(doc["warnings"])
    assert doc["limit"] == "coherency" and doc["nStar"] > 100, doc
    assert "only 4 points" in warnings, doc
    assert "every measured N is far below N*" in warnings and "extrapolation" in warnings, doc
    assert "warnings:" in r.stdout and "extrapolation" in r.stdout


@pytest.fixture(scope="module")
def stepped_run(tmp_path_factory, stampede):
    d = tmp_path_factory.mktemp("fit_run")
    demo = ServeDemo(d, ["--port", 0, "--workers", 4, "--query-latency", "10ms"])
    try:
        out = d / "run.json"
        stampede("run", "--url", f"http://127.0.0.1:{demo.port}/api/products/1", "--type",
                 "stress", "--vus", 2, "--peak", 4, "--steps", 4, "--ramp", "1s",
                 "--step-duration", "3s", "--ramp-down", 0, "-q", "--out", f"result={out}",
                 timeout=60, expect=0)
    finally:
        demo.stop()
    return {"dir": d, "file": out, "doc": strict_json(out.read_text())}


def test_fit_of_a_closed_stepped_run(stepped_run, stampede, tmp_path):
    steps = [s for s in stepped_run["doc"]["analyses"]["testType"]["steps"]
             if s.get("throughput") and "offeredFrom" not in s]
    assert [s["offered"] for s in steps] == [2, 4, 6, 8], steps
    r, doc = fit_json(stampede, tmp_path, stepped_run["file"])
    pts = doc["points"]
    assert [p["n"] for p in pts] == [2, 4, 6, 8], pts
    for p, s in zip(pts, steps):
        assert p["x"] == s["throughput"], (p, s)
        assert math.isclose(p["r"], s["mean"] / 1000, rel_tol=1e-12), (p, s)
        assert math.isclose(p["littleN"], p["x"] * p["r"], rel_tol=1e-12)
    # a closed loop without think time: N = X·R on every step
    assert doc["littles"]["known"] == 4 and doc["littles"]["agree"] is True, doc
    assert doc["sigma"] >= 0 and doc["kappa"] >= 0 and doc["lambda"] > 0, doc
    assert doc["inputKind"] == "result" and doc["unit"] == "1/s"
    assert doc["r2"] is not None and doc["xMax"] is not None and doc["xMax"] > 0, doc
    assert any("only 4 points" in w for w in doc["warnings"]), doc
    out = r.stdout
    assert "(result, 4 points)" in out and "/s" in out and "verdict: " in out, out
    assert re.search(r"Little's law\s+holds", out), out
    assert doc["nSource"] == "vus", doc


def test_failed_responses_in_a_step_are_warned(stepped_run, stampede, tmp_path):
    doc = json.loads(stepped_run["file"].read_text())
    steps = [s for s in doc["analyses"]["testType"]["steps"] if s.get("offered") == 6]
    steps[0]["errorRate"] = 0.125
    f = tmp_path / "errors.json"
    f.write_text(json.dumps(doc))
    # --out json=- is the JSON on stdout, without the report
    r = stampede("capacity", "fit", f, "--out", "json=-", expect=0)
    fit = strict_json(r.stdout)
    assert any("N = 6 had 12.5% failed responses" in w for w in fit["warnings"]), fit


def test_open_model_steps_by_littles_law_and_unstepped_results_refused(stepped_run, stampede,
                                                                       tmp_path):
    """An open-model stress test's steps are fitted with the concurrency of Little's law
    (N = X.R, the mean number of requests in service); a run without steps is refused."""
    doc = json.loads(stepped_run["file"].read_text())
    doc["analyses"]["testType"]["model"] = "open"
    open_model = tmp_path / "open.json"
    open_model.write_text(json.dumps(doc))
    r = stampede("capacity", "fit", open_model, "--out", "json=-", expect=0)
    fit = strict_json(r.stdout)
    steps = [s for s in doc["analyses"]["testType"]["steps"] if s.get("throughput")]
    want = sorted(s["throughput"] * s["mean"] / 1000 for s in steps)
    assert [p["n"] for p in fit["points"]] == pytest.approx(want, rel=1e-9), fit["points"]
    # N = X.R: a Little's-law check would be circular, so there is none, and N's source
    # is said in the JSON and the report
    assert fit["nSource"] == "littles-law" and fit["littles"] is None, fit
    assert isinstance(fit["verdict"], str) and isinstance(fit["warnings"], list)
    r = stampede("capacity", "fit", open_model, expect=0)
    assert "N (X·R)" in r.stdout and "Little's law (N = X·R)" in r.stdout, r.stdout
    assert not re.search(r"^\s+Little's law\s+(holds|off)", r.stdout, re.M), r.stdout
    assert "Little's N" not in r.stdout, r.stdout
    doc["analyses"]["testType"]["model"] = "other"
    open_model.write_text(json.dumps(doc))
    r = stampede("capacity", "fit", open_model, expect=EXIT_CONFIG)
    assert r.stdout == "" and r.stderr.count("\n") == 1, r.stderr
    assert "closed-model" in r.stderr, r.stderr
    del doc["analyses"]["testType"]
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(doc))
    r = stampede("capacity", "fit", plain, expect=EXIT_CONFIG)
    assert r.stdout == "" and r.stderr.count("\n") == 1 and "no steps" in r.stderr, r.stderr


BAD_CSV = {
    "empty": (b"", "no data points"),
    "binary": (bytes(range(256)) * 8, "NUL bytes"),
    "huge": (b"N,X\n1,10\n2,1e999\n", "bad.csv:3: X: '1e999' is out of range"),
    "nan": (b"1,10\n2,NaN\n3,30\n", "bad.csv:2: X: 'NaN' is not a number"),
    "negative": (b"1,10\n-2,20\n3,30\n", "bad.csv:2: N must be > 0"),
    "words": (b"1,10\n2,twenty\n", "bad.csv:2: X: 'twenty' is not a number"),
    "fields": (b"1,10,0.1,4\n", "bad.csv:1: expected N,X or N,X,R"),
    "too_many": ("".join(f"{i},{i}\n" for i in range(1, 1100)).encode(),
                 "bad.csv:1025: more than 1024 points"),
    "too_few": (b"1,10\n2,19\n", "at least 3 are needed"),
    "one_n": (b"4,10\n4,11\n4,12\n4,10\n", "1 distinct concurrency"),
    "not_result": (b'{"format": "something-else"}', "stampede-result/1"),
    "bad_json": (b'{"format": ', "bad.csv:1: not valid JSON"),
}


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_bad_input_is_one_line_and_104(stampede, tmp_path, case):
    data, want = BAD_CSV[case]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(data)
    r = stampede("capacity", "fit", bad, "--out", f"json={tmp_path / 'out.json'}",
                 expect=EXIT_CONFIG)
    assert r.stdout == "", r.stdout
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("stampede capacity fit: "), r.stderr
    assert want in r.stderr, (want, r.stderr)
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("args,want", [
    ([], "give the input"),
    (["missing.csv"], "missing.csv: No such file or directory"),
    ([SDM91, "extra"], "unexpected argument 'extra'"),
    ([SDM91, "--bogus"], "unknown option '--bogus'"),
    ([SDM91, "--out"], "'--out' needs a value"),
    ([SDM91, "--out", "csv=x.csv"], "invalid --out 'csv=x.csv'"),
    ([SDM91, "--out", "json=/nonexistent/dir/fit.json"], "does not exist"),
    ([SDM91, "--out", f"json={SDM91}"], "is the input"),
    ([SDM91, "--out", "json=-", "--out", "json=fit.json"], "--out given twice"),
])
def test_bad_options_are_one_line_and_104(stampede, args, want):
    r = stampede("capacity", "fit", *args, expect=EXIT_CONFIG)
    assert r.stdout == "" and r.stderr.count("\n") == 1, r.stderr
    assert want in r.stderr, (want, r.stderr)


def test_help(stampede):
    r = stampede("capacity", "fit", "--help", expect=0)
    assert r.stdout.startswith("usage: stampede capacity fit INPUT"), r.stdout


def test_the_verdict_and_warnings_are_the_libraries(stampede, tmp_path):
    """The report and the JSON say what usl_verdict() and usl_warnings() say: a plateau the
    curve rounds into a peak is called a level-off, and an X_max above the best measured X
    is warned about (capacity plan takes the measured one)."""
    csv = tmp_path / "plateau.csv"
    csv.write_text("N,X\n1,100\n2,190\n4,300\n8,380\n16,391\n24,390\n32,389\n")
    r, doc = fit_json(stampede, tmp_path, csv)
    assert doc["verdict"].startswith("throughput levels off at about 391"), doc["verdict"]
    assert "verdict: throughput levels off at about 391" in r.stdout, r.stdout
    for w in doc["warnings"]:
        assert f"  - {w}" in r.stdout, (w, r.stdout)


def test_a_write_error_on_stdout_is_110(stampede):
    with open("/dev/full", "w") as full:
        p = subprocess.run([stampede.bin, "capacity", "fit", str(SDM91)], stdout=full,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=30,
                           text=True)
    assert p.returncode == 110, p
    assert p.stderr.count("\n") == 1 and "stdout" in p.stderr, p.stderr


def test_an_endless_input_stops_early(stampede):
    # /dev/zero is not read to the result files' 1 GiB: it stops at a bounded size
    r = stampede("capacity", "fit", "/dev/zero", expect=EXIT_CONFIG, timeout=20)
    assert r.stdout == "" and r.stderr.count("\n") == 1, r.stderr
    assert "larger than 64 MiB" in r.stderr, r.stderr


def test_a_large_regular_csv_is_refused_by_its_size(stampede, tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(b"N,X\n" + b"# padding\n" * 120000)
    r = stampede("capacity", "fit", big, expect=EXIT_CONFIG)
    assert "larger than 1 MiB and not a result file" in r.stderr, r.stderr
