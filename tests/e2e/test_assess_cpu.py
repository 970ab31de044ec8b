"""`stampede assess` on the demo with its CPU weakness (one worker burning 4 ms of CPU per
request: about 250 responses/s): the assessment names the target's CPU, with the breaking
point within 20% of that capacity. Serial (conftest.SERIAL_MODULES): a CPU-bound capacity
is only the demo's when nothing else takes the cores."""

import json

import pytest

from assess_common import check_common, quickstart


@pytest.fixture(scope="module")
def assessed(tmp_path_factory):
    return quickstart("cpu", tmp_path_factory)


def test_names_the_cpu(assessed):
    p, a = assessed
    # alone on the machine (the serial part): nothing else held its CPU, and the target's
    # own CPU use is not "other processes"
    assert a.doc["breakingPoint"]["disturbed"] is None, a.doc["breakingPoint"]
    check_common(p, a, known_capacity=250)
    assert a.doc["bottleneck"]["verdict"] == "cpu", a.doc["bottleneck"]
    bp = a.findings("breaking point")
    assert bp and "the target's CPU saturates first" in bp[0]["text"], bp
    # the lever is named with it
    assert "cutting the CPU each request costs" in bp[0]["text"]


def test_the_profile_points_at_the_burning_function(assessed):
    p, a = assessed
    prof = a.doc["profile"]
    if prof is None or prof.get("error"):
        pytest.skip(f"perf could not profile here: {prof and prof.get('error')}")
    # the hottest function of the target's own code (a kernel frame may hold as many
    # samples on a virtual machine: see test_profile.is_kernel)
    top = [f["name"] for f in prof["topFunctions"] if not f["name"].endswith("_[k]")]
    assert top and top[0] == "burn_cpu", prof["topFunctions"]
    hot = a.findings("profile")
    assert hot and "burn_cpu" in hot[0]["text"], hot
    assert (a.dir / prof["svg"]).is_file()


def test_the_cpu_is_one_threads(assessed):
    """One worker thread x 4 ms of CPU per request: that thread wants a whole core while
    the process uses about half of the machine's 2 (the breakpoint phase's own result)."""
    p, a = assessed
    res = json.loads((a.dir / "breakpoint.json").read_text())
    busiest = res["metrics"]["target_thread_busy_max_percent"]["values"]
    assert busiest["max"] >= 85, busiest
    b = res["analyses"]["bottleneck"]
    assert b["verdict"] == "cpu", b
    cpu = [e for e in b["evidence"] if e.startswith("CPU:")]
    assert cpu and "one thread" in cpu[0], b
    rows = {row["resource"]: row for row in b["resources"]}
    assert "busiest thread busy" in rows["target CPU"]["utilisation"], rows
