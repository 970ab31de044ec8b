"""`stampede capacity plan` (issue #14, docs/capacity.md), end to end through the binary.

The seed's worked example must come out exactly: 1000 RPS at 55% with a 70% buffer and 15%
growth a month gives 1273 RPS at the buffer, month 1 1000 RPS (55%), month 2 1150 (63%),
month 3 1322 (73%): the limit is crossed in month 3. The terminal table, the JSON document
(parsed strictly) and the Markdown capacity planning document (its tables parsed) are
checked; bad input exits 104 with one line; a USL model (written here as `capacity fit`
writes it) gives the per-instance capacity. No load is sent: the plan is arithmetic.
"""

import json
import math
import re

import pytest

from conftest import EXIT_CONFIG, EXIT_OK, strict_json

EXAMPLE = ["capacity", "plan", "--current-rps", "1000", "--current-util", "55%",
           "--buffer", "70%", "--growth", "15%/month", "--horizon", "12"]

# SPEC SDM91 fitted by R's usl package (the unit tests' ground truth for the fit)
SDM91 = {"model": "usl", "sigma": 0.0277285, "kappa": 0.0001044, "lambda": 89.995,
         "seSigma": None, "seKappa": None, "seLambda": None, "r2": 0.99, "nStar": 96.5,
         "xMax": 1884.0, "limit": "coherency", "npoints": 7, "iterations": 10, "points": []}


def usl_x(f, n):
    return f["lambda"] * n / (1 + f["sigma"] * (n - 1) + f["kappa"] * n * (n - 1))


def one_line_error(r, *words):
    assert r.rc == EXIT_CONFIG, r
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert lines and lines[0].startswith("stampede"), r
    assert len(lines) <= 2, r  # the reason, and at most a "see 'stampede help'" hint
    for w in words:
        assert w in lines[0], r
    assert r.stdout == "", r


def md_tables(text):
    """Every Markdown table: a list of rows of cells, the header first; each row must have
    as many cells as the header, and the second line must be the delimiter row."""
    tables, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and \
                re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[i + 1]):
            def cells(ln):
                assert ln.startswith("|") and ln.endswith("|"), ln
                return [c.strip() for c in re.split(r"(?<!\\)\|", ln[1:-1])]
            head = cells(lines[i])
            assert len(cells(lines[i + 1])) == len(head), lines[i + 1]
            rows, i = [head], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                row = cells(lines[i])
                assert len(row) == len(head), (lines[i], head)
                rows.append(row)
                i += 1
            tables.append(rows)
        else:
            i += 1
    return tables


def table_after(tables_text, heading):
    part = tables_text.split(heading, 1)[1]
    return md_tables(part)[0]


def test_the_worked_example_in_the_terminal(stampede):
    r = stampede(*EXAMPLE, "--no-color", expect=EXIT_OK)
    out = r.stdout
    assert re.search(r"at the\s+70% buffer\s+1273 RPS", out), out
    assert re.search(r"capacity at 100%\s+1818 RPS", out), out
    months = {int(m[0]): (int(m[1]), int(m[2]), m[4]) for m in
              re.findall(r"^\s+(\d+)\s+(\d+)\s+(\d+)%\s+(\d+|none)\s+(ok|warn|over buffer|"
                         r"over capacity)\s*$", out, re.M)}
    assert sorted(months) == list(range(1, 13)), out
    assert months[1] == (1000, 55, "ok")
    assert months[2] == (1150, 63, "warn")      # 63% is past the 60% warning
    assert months[3] == (1322, 73, "over buffer")
    assert "the limit is crossed in month 3" in out
    assert re.search(r"^\s+buffer\s+70%\s+1273\s+month 3\s", out, re.M), out
    assert re.search(r"^\s+warning\s+60%\s+1091\s+month 2\s", out, re.M), out
    # the scenarios: instances at the buffer, ceil(k x 1000 / 1273)
    rows = {m[0]: (int(m[1]), int(m[2]), int(m[3])) for m in
            re.findall(r"^\s+(\d+x)\s+(\d+)\s+(\d+)\s+\+(\d+)\s", out, re.M)}
    assert rows == {"2x": (2000, 2, 1), "5x": (5000, 4, 3), "10x": (10000, 8, 7)}, out
    assert "2x: add 1 instance (to 2) before month 3" in out
    assert "\033[" not in out


def test_the_json_document(stampede, tmp_path):
    path = tmp_path / "plan.json"
    r = stampede(*EXAMPLE, "--scenario", "3x", "--cost-per-instance", "0.17/h",
                 "--currency", "USD", "-q", "--out", f"json={path}", expect=EXIT_OK)
    assert r.stdout == ""
    doc = strict_json(path.read_text())
    assert doc["format"] == "stampede-capacity-plan/1"
    assert doc["source"] == "utilisation"
    assert doc["inputs"]["growthPercentPerMonth"] == pytest.approx(15)
    cap = doc["capacity"]
    assert round(cap["totalRps"]) == 1818
    assert cap["bufferRps"] == pytest.approx(1000 * 70 / 55)
    m = doc["months"]
    assert [x["month"] for x in m] == list(range(1, 13))
    # month m carries 1000 x 1.15^(m-1) (1322.5 in month 3, printed 1322 as the seed does)
    for x in m:
        assert x["rps"] == pytest.approx(1000 * 1.15 ** (x["month"] - 1))
    assert [round(x["utilPercent"]) for x in m[:3]] == [55, 63, 73]
    assert [x["status"] for x in m[:3]] == ["ok", "warn", "over buffer"]
    trig = {t["name"]: t for t in doc["triggers"]}
    assert trig["buffer"]["month"] == 3 and trig["warn"]["month"] == 2
    assert trig["buffer"]["inMonths"] == pytest.approx(math.log(70 / 55) / math.log(1.15))
    assert trig["capacity"]["month"] == 6
    sc = {s["multiple"]: s for s in doc["scenarios"]}
    assert sorted(sc) == [2, 3, 5, 10]
    for k, n in ((2, 2), (3, 3), (5, 4), (10, 8)):
        assert sc[k]["instances"] == n == math.ceil(k * 1000 / (1000 * 70 / 55))
        assert sc[k]["add"] == n - 1
        assert sc[k]["costMonth"] == pytest.approx(n * 0.17 * 730)
        assert sc[k]["inMonths"] == pytest.approx(math.log(k) / math.log(1.15))
    assert sc[2]["month"] == 6 and sc[2]["withinHorizon"]
    assert [s["instances"] for s in doc["schedule"]] == [1, 2, 3, 4]
    assert [s["actMonth"] for s in doc["schedule"]] == [3, 8, 11, 13]
    assert any("the limit is crossed in month 3" in s for s in doc["summary"])


def test_the_markdown_capacity_planning_document(stampede, tmp_path):
    md_path, js_path = tmp_path / "plan.md", tmp_path / "plan.json"
    stampede(*EXAMPLE, "--cost-per-instance", "120/month", "--optimise", "30%", "-q",
             "--out", f"markdown={md_path}", "--out", f"json={js_path}", expect=EXIT_OK)
    md = md_path.read_text()
    assert md.startswith("# Capacity plan\n")
    for h in ("## Summary", "## Current consumption", "## Growth projection", "## Triggers",
              "## Scenarios: resources and cost",
              "## What must change before each threshold", "## Method"):
        assert f"\n{h}\n" in md, h
    tables = md_tables(md)
    assert len(tables) == 5
    growth = table_after(md, "## Growth projection")
    assert growth[0][:3] == ["Month", "Load (RPS)", "Utilisation"]
    assert growth[1:4] == [["1", "1000", "55%", "1", "ok"], ["2", "1150", "63%", "1", "warn"],
                           ["3", "1322", "73%", "2", "over buffer"]]
    assert len(growth) == 13
    scen = table_after(md, "## Scenarios: resources and cost")
    head = scen[0]
    col = {name: i for i, name in enumerate(head)}
    assert "Cost per month" in col and "Reached" in col
    by = {row[0]: row for row in scen[1:]}
    assert sorted(by) == ["10x", "2x", "5x"]
    assert by["5x"][col["Instances"]] == "4"
    assert by["5x"][col["Cost per month"]] == "480.00"
    # with hot paths 30% cheaper: capacity / 0.7 (the seed's option 2: 1273 -> 1818)
    opt = [c for c in head if "cheaper" in c]
    assert opt and by["5x"][col[opt[0]]] == "3"
    cons = dict((r[0], r[1]) for r in table_after(md, "## Current consumption")[1:])
    assert cons["Capacity at the 70% buffer"] == "1273 RPS"
    assert cons["Peak load today"] == "1000 RPS"
    steps = table_after(md, "## What must change before each threshold")
    assert [r[0] for r in steps[1:]] == ["1", "2", "3", "4"]
    assert steps[1][4] == "month 3"
    assert "- **2x**: add 1 instance (to 2) before month 3" in md
    assert "1273 to 1818 RPS" in md
    # the JSON says the same
    doc = strict_json(js_path.read_text())
    assert [s["instances"] for s in doc["scenarios"]] == [2, 4, 8]


def test_already_over_the_buffer_is_a_trigger(stampede):
    r = stampede("capacity", "plan", "--current-rps", "1000", "--current-util", "80%",
                 "--growth", "5%/month", "--no-color", "--out", "json=-", "-q",
                 expect=EXIT_OK)
    doc = strict_json(r.stdout)
    assert {t["name"]: t["month"] for t in doc["triggers"]}["buffer"] == 1
    assert doc["months"][0]["status"] == "over buffer"
    assert any(s.startswith("Already over the buffer") for s in doc["summary"])
    assert doc["scenarios"][0]["action"] == \
        "add 2 instances (to 3): the first now, the last before month 13"


def test_no_growth_is_said_plainly(stampede):
    r = stampede("capacity", "plan", "--current-rps", "1000", "--current-util", "55%",
                 "--growth", "0%", "--no-color", expect=EXIT_OK)
    assert "With no growth the load stays at 1000 RPS (55%): the 70% buffer is never " \
           "crossed." in r.stdout
    assert re.search(r"^\s+buffer\s+70%\s+1273\s+never", r.stdout, re.M), r.stdout


def test_growth_per_year_and_beyond_the_horizon(stampede):
    r = stampede("capacity", "plan", "--current-rps", "1000", "--current-util", "55%",
                 "--growth", "20%/year", "--out", "json=-", "-q", expect=EXIT_OK)
    doc = strict_json(r.stdout)
    g = doc["inputs"]["growthPercentPerMonth"] / 100
    assert (1 + g) ** 12 == pytest.approx(1.2)
    buf = {t["name"]: t for t in doc["triggers"]}["buffer"]
    assert not buf["withinHorizon"] and buf["month"] > 12
    assert any("not crossed within the 12-month horizon" in s for s in doc["summary"])


def test_a_usl_model_gives_the_capacity(stampede, tmp_path):
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps(SDM91))
    n_star = math.sqrt((1 - SDM91["sigma"]) / SDM91["kappa"])
    x_max = usl_x(SDM91, n_star)
    r = stampede("capacity", "plan", "--model", fit, "--current-rps", "2000", "--instances",
                 "2", "--growth", "10%/month", "--out", "json=-", "-q", expect=EXIT_OK)
    doc = strict_json(r.stdout)
    assert doc["source"] == "usl" and doc["inputs"]["modelOver"] == "concurrency"
    assert doc["model"]["xMax"] == pytest.approx(x_max, rel=1e-9)
    assert doc["capacity"]["perInstanceRps"] == pytest.approx(x_max, rel=1e-9)
    assert doc["capacity"]["utilPercent"] == pytest.approx(100 * 2000 / (2 * x_max))
    assert usl_x(SDM91, doc["model"]["concurrencyAtBuffer"]) == pytest.approx(0.7 * x_max)
    s2 = doc["scenarios"][0]
    assert s2["instances"] == math.ceil(4000 / (0.7 * x_max))
    assert s2["concurrency"] is None  # one instance cannot reach 4000 RPS at any N
    assert "more concurrency does not help" in s2["action"]
    # the same fit, its N counting instances: past N* more instances do not help
    r = stampede("capacity", "plan", "--model", fit, "--model-over", "instances",
                 "--current-rps", "1000", "--instances", "40", "--growth", "10%/month",
                 "--out", "json=-", "-q", expect=EXIT_OK)
    doc = strict_json(r.stdout)
    assert doc["scheduleCapped"] is True
    assert doc["scenarios"][0]["instances"] is None
    assert "more instances of the same kind do not help" in doc["scenarios"][0]["action"]
    assert any("stop helping" in s for s in doc["summary"])


@pytest.mark.parametrize("args,words", [
    (["--current-rps", "-5", "--current-util", "55%", "--growth", "15%"], ["--current-rps"]),
    (["--current-rps", "0", "--current-util", "55%", "--growth", "15%"], ["--current-rps"]),
    (["--current-rps", "1000", "--current-util", "0%", "--growth", "15%"], ["--current-util"]),
    (["--current-rps", "1000", "--current-util", "120%", "--growth", "15%"],
     ["--current-util"]),
    (["--current-rps", "1000", "--current-util", "55", "--growth", "15%"], ["--current-util"]),
    (["--current-rps", "1000", "--current-util", "55%", "--growth", "15%/fortnight"],
     ["--growth"]),
    (["--current-rps", "1000", "--current-util", "55%", "--growth", "-15%"], ["--growth"]),
    (["--current-rps", "1000", "--current-util", "55%", "--growth", "15%", "--buffer", "0%"],
     ["--buffer"]),
    (["--current-rps", "1000", "--current-util", "55%", "--growth", "15%", "--buffer",
      "101%"], ["--buffer"]),
    (["--current-rps", "1000", "--current-util", "55%", "--growth", "15%", "--warn", "80%"],
     ["--warn"]),
    (["--current-rps", "1000", "--current-util", "55%", "--growth", "15%", "--horizon", "0"],
     ["--horizon"]),
    (["--current-rps", "1000", "--current-util", "55%", "--growth", "15%", "--instances",
      "0"], ["--instances"]),
    (["--current-rps", "1000", "--current-util", "55%", "--growth", "15%",
      "--cost-per-instance", "0.17"], ["--cost-per-instance"]),
    (["--current-rps", "1000", "--current-util", "55%", "--growth", "15%", "--scenario",
      "0x"], ["--scenario"]),
    (["--current-rps", "1000", "--current-util", "55%", "--growth", "15%", "--out",
      "html=x.html"], ["--out"]),
    (["--current-rps", "1000", "--current-util", "55%"], ["--growth"]),
    (["--current-rps", "1000", "--growth", "15%"], ["--current-util"]),
    (["--current-util", "55%", "--growth", "15%"], ["--current-rps"]),
    (["--current-rps", "1000", "--current-util", "55%", "--growth", "15%", "--grow", "1"],
     ["--grow"]),
    (["--current-rps", "1000", "--current-util", "55%", "--growth", "15%", "extra"],
     ["extra"]),
    (["--current-rps", "1000", "--model", "/nonexistent/fit.json", "--growth", "15%"],
     ["--model"]),
])
def test_bad_input_is_one_line_and_104(stampede, args, words):
    one_line_error(stampede("capacity", "plan", *args), *words)


def test_bad_models_are_refused(stampede, tmp_path):
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps(SDM91))
    one_line_error(stampede("capacity", "plan", "--model", fit, "--current-rps", "1000",
                            "--current-util", "55%", "--growth", "15%"),
                   "--current-util", "--model")
    notfit = tmp_path / "notfit.json"
    notfit.write_text('{"hello": 1}')
    one_line_error(stampede("capacity", "plan", "--model", notfit, "--current-rps", "1000",
                            "--growth", "15%"), "--model")
    linear = tmp_path / "linear.json"
    linear.write_text(json.dumps(dict(SDM91, sigma=0, kappa=0)))
    one_line_error(stampede("capacity", "plan", "--model", linear, "--current-rps", "1000",
                            "--growth", "15%"), "no capacity")
    # --out never replaces the model it reads
    one_line_error(stampede("capacity", "plan", "--model", fit, "--current-rps", "1000",
                            "--growth", "15%", "--out", f"json={fit}"), "--model")
    assert json.loads(fit.read_text()) == SDM91


def test_help(stampede):
    r = stampede("capacity", "plan", "--help", expect=EXIT_OK)
    assert "--current-rps" in r.stdout and "--model" in r.stdout and "--growth" in r.stdout


def test_a_sweep_result_file_is_a_model(stampede, tmp_path):
    """A sweep's result file carries its fit in analyses.capacity: --model reads it there."""
    res = tmp_path / "sweep.json"
    res.write_text(json.dumps({"analyses": {"capacity": SDM91}}))
    r = stampede("capacity", "plan", "--model", res, "--current-rps", "1000", "--growth",
                 "15%", "-q", "--out", "json=-", expect=EXIT_OK)
    doc = strict_json(r.stdout)
    x_max = usl_x(SDM91, math.sqrt((1 - SDM91["sigma"]) / SDM91["kappa"]))
    assert doc["capacity"]["perInstanceRps"] == pytest.approx(x_max, rel=1e-9)
    failed = tmp_path / "failed.json"
    failed.write_text(json.dumps({"analyses": {"capacity": {"error": "fewer than 3 steps"}}}))
    one_line_error(stampede("capacity", "plan", "--model", failed, "--current-rps", "1000",
                            "--growth", "15%"), "fewer than 3 steps")


# --- the reviewers' findings --------------------------------------------------------------

PLATEAU = [(1, 100), (2, 190), (4, 300), (8, 380), (16, 391)]  # the fit's X_max is ~400


def test_the_plan_says_which_100_percent_it_uses(stampede, tmp_path):
    csv = tmp_path / "plateau.csv"
    csv.write_text("N,X\n" + "".join(f"{n},{x}\n" for n, x in PLATEAU))
    fit = tmp_path / "fit.json"
    stampede("capacity", "fit", csv, "--out", f"json={fit}", expect=EXIT_OK)
    f = json.loads(fit.read_text())
    assert f["xMax"] > 391
    r = stampede("capacity", "plan", "--model", fit, "--current-rps", "300", "--growth", "10%",
                 expect=EXIT_OK)
    want = f"capacity at 100%      391 RPS (the best measured; the fit's X_max is " \
           f"{f['xMax']:.0f})"
    assert want in r.stdout, r.stdout
    assert "1 instance carries" in r.stdout and "1 instance carry " not in r.stdout
    md = tmp_path / "plan.md"
    stampede("capacity", "plan", "--model", fit, "--current-rps", "300", "--growth", "10%",
             "--out", f"markdown={md}", "-q", expect=EXIT_OK)
    assert "the best measured; the fit's X\\_max is" in md.read_text()


def test_the_models_warnings_are_repeated(stampede, tmp_path):
    csv = tmp_path / "plateau.csv"
    csv.write_text("N,X\n" + "".join(f"{n},{x}\n" for n, x in PLATEAU))
    fit = tmp_path / "fit.json"
    stampede("capacity", "fit", csv, "--out", f"json={fit}", expect=EXIT_OK)
    f = json.loads(fit.read_text())
    assert any("only 5 points" in w for w in f["warnings"]), f
    md = tmp_path / "plan.md"
    js = tmp_path / "plan.json"
    r = stampede("capacity", "plan", "--model", fit, "--current-rps", "300", "--growth", "10%",
                 "--out", f"markdown={md}", "--out", f"json={js}", expect=EXIT_OK)
    doc = strict_json(js.read_text())
    assert doc["modelWarnings"] == f["warnings"], doc
    assert "model warnings" in r.stdout and "  - only 5 points" in r.stdout, r.stdout
    assert "## Model warnings" in md.read_text() and "- only 5 points" in md.read_text()
    # a fit without "warnings": computed from its points
    del f["warnings"]
    fit.write_text(json.dumps(f))
    r = stampede("capacity", "plan", "--model", fit, "--current-rps", "300", "--growth", "10%",
                 "--out", "json=-", expect=EXIT_OK)
    assert any("only 5 points" in w for w in strict_json(r.stdout)["modelWarnings"])
    # the plan without a model has none
    r = stampede("capacity", "plan", "--current-rps", "300", "--current-util", "50%",
                 "--growth", "10%", "--out", "json=-", expect=EXIT_OK)
    assert "modelWarnings" not in strict_json(r.stdout)


def test_a_result_files_steps_are_fitted_again(stampede, tmp_path):
    """A result file as --model: its steps are fitted as `capacity fit` fits them; a stored
    analyses.capacity (here a wrong one) is not trusted while there are steps."""
    steps = [{"offered": n, "throughput": x, "goodThroughput": x, "mean": 1000 * n / x,
              "errorRate": 0} for n, x in PLATEAU]
    res = tmp_path / "sweep.json"
    res.write_text(json.dumps({"analyses": {
        "testType": {"type": "stress", "model": "closed", "steps": steps},
        "capacity": SDM91}}))
    csv = tmp_path / "plateau.csv"
    csv.write_text("N,X\n" + "".join(f"{n},{x}\n" for n, x in PLATEAU))
    fit = strict_json(stampede("capacity", "fit", csv, "--json", expect=EXIT_OK).stdout)
    r = stampede("capacity", "plan", "--model", res, "--current-rps", "300", "--growth", "10%",
                 "--out", "json=-", expect=EXIT_OK)
    doc = strict_json(r.stdout)
    assert doc["model"]["xMax"] == pytest.approx(fit["xMax"], rel=1e-9), doc["model"]
    assert doc["model"]["sigma"] == pytest.approx(fit["sigma"], rel=1e-9)
    assert doc["capacity"]["perInstanceRps"] == 391 and doc["capacity"]["basis"] == "measured"
    assert any("only 5 points" in w for w in doc["modelWarnings"]), doc
    # too few steps: the reason, not the stored fit
    res.write_text(json.dumps({"analyses": {
        "testType": {"type": "stress", "model": "closed", "steps": steps[:2]},
        "capacity": SDM91}}))
    one_line_error(stampede("capacity", "plan", "--model", res, "--current-rps", "300",
                            "--growth", "10%"), "--model", "at least 3")


def test_today_s_fleet_past_n_star(stampede, tmp_path):
    """--model-over instances with today's fleet past N*: a scenario is judged on today's
    fleet; where today's does not carry it and fewer carry more, the plan says shrink."""
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps(SDM91))
    n_star = math.sqrt((1 - SDM91["sigma"]) / SDM91["kappa"])
    today = usl_x(SDM91, 200)
    r = stampede("capacity", "plan", "--model", fit, "--model-over", "instances",
                 "--instances", "200", "--current-rps", "650", "--growth", "15%",
                 "--scenario", "1.2x", "--out", "json=-", expect=EXIT_OK)
    doc = strict_json(r.stdout)
    s12, s2 = doc["scenarios"][0], doc["scenarios"][1]
    # 1.2x: 780 RPS, today's 200 carry it under the buffer: no change, at today's utilisation
    assert s12["instances"] == 200 and s12["add"] == 0 and s12["remove"] == 0, s12
    assert s12["utilPercent"] == pytest.approx(100 * 780 / today, rel=1e-9)
    assert "today's 200 instances carry it" in s12["action"]
    # 2x: 1300 RPS is over today's buffer (0.7 x 1686) but under the peak's
    assert 1300 > 0.7 * today and 1300 < 0.7 * usl_x(SDM91, n_star)
    assert s2["remove"] > 0 and s2["instances"] == 200 - s2["remove"] < n_star, s2
    assert usl_x(SDM91, s2["instances"]) * 0.7 >= 1300
    assert s2["action"].startswith(f"shrink to {s2['instances']} instances"), s2
    assert any("shrink to 97" in s for s in doc["summary"]), doc["summary"]
    # the schedule does not claim that no count carries the load: fewer do
    assert doc["scheduleShrink"] is True and doc["scheduleCapped"] is False, doc
    r = stampede("capacity", "plan", "--model", fit, "--model-over", "instances",
                 "--instances", "200", "--current-rps", "650", "--growth", "15%",
                 expect=EXIT_OK)
    assert "fewer instances carry more: shrink" in r.stdout, r.stdout
    assert "2x: shrink to" in r.stdout, r.stdout


def test_huge_and_small_numbers_are_shown_whole(stampede, tmp_path):
    md = tmp_path / "plan.md"
    r = stampede("capacity", "plan", "--current-rps", "1e12", "--current-util", "1%",
                 "--growth", "1000%/month", "--horizon", "120", "--cost-per-instance",
                 "1000000/month", "--out", f"markdown={md}", expect=EXIT_OK)
    lines = r.stdout.splitlines()
    start = lines.index("  month       RPS   util  instances  status")
    rows = lines[start + 1:start + 121]
    for row in rows:
        cells = row.split()
        assert len(cells) >= 5 and cells[0].isdigit(), row
        float(cells[1]), float(cells[2].rstrip("%"))  # whole numbers, apart
    assert rows[-1].split()[1] == f"{1e12 * 11 ** 119:.4g}", rows[-1]
    assert "e+" in rows[-1].split()[2], rows[-1]
    tables = md_tables(md.read_text())
    months = [t for t in tables if t[0][0] == "Month"][0]
    assert months[-1][1] == f"{1e12 * 11 ** 119:.4g}", months[-1]
    r = stampede("capacity", "plan", "--current-rps", "0.4", "--current-util", "50%",
                 "--growth", "10%", expect=EXIT_OK)
    assert r.stdout.splitlines()[1].startswith("capacity plan: 0.4 RPS today at 50%"), r.stdout
    assert "capacity at 100%      0.8 RPS" in r.stdout, r.stdout


def test_json_on_stdout_is_alone(stampede):
    args = ["capacity", "plan", "--current-rps", "1000", "--current-util", "55%", "--growth",
            "15%"]
    r = stampede(*args, "--out", "json=-", expect=EXIT_OK)
    assert strict_json(r.stdout)["format"] == "stampede-capacity-plan/1"
    r = stampede(*args, "--out", "markdown=-", expect=EXIT_OK)
    assert r.stdout.startswith("# Capacity plan") and "capacity plan:" not in r.stdout
    one_line_error(stampede(*args, "--out", "json=-", "--out", "markdown=-"), "stdout")


def test_a_model_without_usable_capacity_is_refused(stampede, tmp_path):
    tiny = tmp_path / "tiny.json"
    tiny.write_text(json.dumps(dict(SDM91, **{"lambda": 1e-308})))
    one_line_error(stampede("capacity", "plan", "--model", tiny, "--current-rps", "1000",
                            "--growth", "15%"), "no usable capacity")


def test_cosmetics(stampede, tmp_path):
    r = stampede(*EXAMPLE, "--cost-per-instance", "0.51/h", expect=EXIT_OK)
    assert "cost today            372.30 per month" in r.stdout, r.stdout
    assert "1 instance carry" not in r.stdout
    r = stampede("capacity", "plan", "--current-rps", "1000", "--current-util", "55%",
                 "--growth", "15%", "--horizon", "3", expect=EXIT_OK)
    sched = r.stdout.split("scaling schedule")[1].split("\n\n")[0]
    for row in sched.splitlines()[2:]:
        assert ")month" not in row and "horizon)m" not in row, row
    # the 1e12 bound is allowed, and messages give their limits
    stampede("capacity", "plan", "--current-rps", "1e12", "--current-util", "50%",
             "--growth", "1%", "-q", expect=EXIT_OK)
    one_line_error(stampede("capacity", "plan", "--current-rps", "1.1e12", "--current-util",
                            "50%", "--growth", "1%"), "--current-rps", "at most 1e12")
    one_line_error(stampede("capacity", "plan", "--current-rps", "1", "--current-util",
                            "50%", "--growth", "1%", "--cost-per-instance",
                            "2000000000000/month"), "--cost-per-instance", "at most")
    many = [a for k in range(3, 20) if k not in (5, 10) for a in ("--scenario", f"{k}x")]
    one_line_error(stampede("capacity", "plan", "--current-rps", "1", "--current-util",
                            "50%", "--growth", "1%", *many), "16 scenarios", "3 defaults")
    one_line_error(stampede("capacity", "plan", "--current-rps", "1", "--current-util",
                            "50%", "--growth", "1%", "--model-over", "instances"),
                   "--model-over", "--model")


def test_stdout_by_another_name_carries_the_json_alone(stampede):
    """--out json=/dev/stdout is stdout as much as json=-: the JSON alone, parseable (it was
    printed after the table)."""
    r = stampede("capacity", "plan", "--current-rps", 1000, "--current-util", "55%",
                 "--growth", "15%/month", "--out", "json=/dev/stdout", expect=EXIT_OK)
    assert strict_json(r.stdout)["format"] == "stampede-capacity-plan/1", r.stdout[:200]
    r = stampede("capacity", "plan", "--current-rps", 1000, "--current-util", "55%",
                 "--growth", "15%/month", "--out", "json=-", "--out",
                 "markdown=/dev/stdout", expect=EXIT_CONFIG)
    assert "only one output can go to stdout" in r.stderr, r.stderr
