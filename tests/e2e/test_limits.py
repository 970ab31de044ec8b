"""Running out of file descriptors: a clear message with the number reached, errors
counted as connect_error, and the run still ends normally."""

import json
import resource
import subprocess

from accounting import assert_accounting
from conftest import BIN, errors_by_kind, metric, parse_result, require_binary


def test_out_of_fds_is_reported_with_the_number_reached(nginx, tmp_path):
    require_binary()
    export = tmp_path / "s.json"
    before = nginx.access_count()

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    p = subprocess.run([BIN, "run", "--url", nginx.url, "--vus", "100", "--duration", "1s",
                        "-q", "--out", f"result={export}"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                       preexec_fn=low_limit)
    err = p.stderr.decode()
    assert p.returncode == 0, err
    assert "cannot open more connections" in err, err
    assert "out of file descriptors" in err and "RLIMIT_NOFILE is 64" in err, err
    open_now = int(err.split(" connections open")[0].rsplit(" ", 1)[1])
    assert 10 < open_now < 64, err
    assert err.count("cannot open more connections") == 1, "said once, not per attempt"
    summary = parse_result(export.read_text())
    assert "connect_error" in errors_by_kind(summary)
    assert metric(summary, "http_reqs")["count"] > 0
    # the connects that found no fd never reached nginx; every other request did
    assert_accounting(summary, server_count=nginx.settled_count(since=before))
