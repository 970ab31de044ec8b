"""A stop signal with every output on (quick mode and scripts): exit 105, each file
complete and valid, no temporary file left. Output threads (streaming writers, the
Prometheus server) never take the stop signals: the coordinator reads them from a
signalfd (docs/cli.md, "What bounds a run")."""

import gzip
import json
import signal
import time

import pytest

from conftest import EXIT_INTERRUPTED, check_rc, validate_result

OUTS = ("json=o.json", "json=o.json.gz", "csv=o.csv", "hdr=o.hdr", "junit=o.xml",
        "markdown=o.md", "html=o.html", "result=o.result.json")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_with_every_output(counting_server, spawn, tmp_path, sig):
    args = ["run", "--url", counting_server.url, "--vus", "2", "--duration", "30s", "-q"]
    for o in OUTS:
        name, path = o.split("=")
        args += ["--out", f"{name}={tmp_path / path}"]
    p = spawn(*args)
    deadline = time.monotonic() + 10
    while counting_server.requests < 100 and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.05)
    time.sleep(1.2)  # at least one closed second in the streams
    p.signal(sig)
    r = p.wait(timeout=15)
    check_rc(r, EXIT_INTERRUPTED)
    doc = json.loads((tmp_path / "o.result.json").read_text())
    validate_result(doc)
    assert doc["state"]["interrupted"] is True
    reqs = doc["metrics"]["http_reqs"]["values"]["count"]
    for f in ("o.json", "o.json.gz"):
        opener = gzip.open if f.endswith(".gz") else open
        with opener(tmp_path / f, "rt") as fh:
            lines = [json.loads(line) for line in fh]
        total = sum(x["data"]["value"] for x in lines
                    if x["type"] == "Point" and x["metric"] == "http_reqs")
        assert total == reqs, (f, total, reqs)
    assert (tmp_path / "o.csv").read_text().startswith("metric_name,")
    assert "Interval_Compressed_Histogram" in (tmp_path / "o.hdr").read_text()
    assert "<testsuites" in (tmp_path / "o.xml").read_text()
    assert (tmp_path / "o.html").read_text().rstrip().endswith("</html>")
    left = sorted(x.name for x in tmp_path.iterdir() if "stampede-tmp" in x.name)
    assert not left, f"temporary files left behind: {left}"
