"""Command line: version/help and configuration errors (exit 104, docs/cli.md).

Every `run` here also carries `--iterations 1` and a loopback URL whose port has nothing
listening, so that even a binary that wrongly accepts the flags does one bounded request
to 127.0.0.1 and exits.
"""

import pytest

from conftest import EXIT_CONFIG


@pytest.fixture
def closed_url(free_port):
    return f"http://127.0.0.1:{free_port}/"


def config_error(stampede, *args):
    r = stampede(*args, timeout=15, expect=EXIT_CONFIG)
    assert r.stderr.strip(), f"no message on stderr\n{r}"
    return r


def test_version(stampede):
    r = stampede("version", timeout=10, expect=0)
    assert r.stdout.strip(), f"`stampede version` printed nothing\n{r}"


def test_help(stampede):
    r = stampede("help", timeout=10, expect=0)
    text = r.stdout + r.stderr
    assert "run" in text and "--url" in text, f"help does not describe `run --url`\n{r}"


def test_unknown_subcommand(stampede):
    config_error(stampede, "frobnicate")


def test_unknown_flag_is_named(stampede, closed_url):
    r = config_error(stampede, "run", "--url", closed_url, "--iterations", "1",
                     "--bogus-flag")
    assert "--bogus-flag" in r.stderr, f"message does not name the flag\n{r}"


def test_missing_url(stampede):
    config_error(stampede, "run", "--iterations", "1")


@pytest.mark.parametrize("url", [
    "ftp://x",
    "http://",
    "https://",
    "not a url",
    "http://127.0.0.1:99999/",
    "http://[::1/",
])
def test_bad_url(stampede, url):
    config_error(stampede, "run", "--url", url, "--iterations", "1")


@pytest.mark.parametrize("value", ["5x", "abc", "-1s"])
def test_bad_duration_is_named(stampede, closed_url, value):
    r = config_error(stampede, "run", "--url", closed_url, "--duration", value)
    assert value in r.stderr, f"message does not name the value {value!r}\n{r}"


@pytest.mark.parametrize("flag,value", [
    ("--vus", "abc"),
    ("--iterations", "many"),
    ("--rate", "fast"),
    ("--arrival", "bogus"),
    ("--arrival-window", "5x"),
    ("--arrival-window", "1s"),
    ("--timeout", "5x"),
    ("--connect-timeout", "5x"),
    ("--grace", "5x"),
])
def test_bad_flag_value(stampede, closed_url, flag, value):
    args = ["run", "--url", closed_url, flag, value]
    if flag != "--iterations":
        args += ["--iterations", "1"]
    config_error(stampede, *args)


@pytest.mark.parametrize("flag", [["--max-vus", "5"], ["--arrival-window", "5ms"],
                                  ["--arrival", "poisson"]])
def test_open_model_flag_without_rate_is_named(stampede, closed_url, flag):
    r = config_error(stampede, "run", "--url", closed_url, "--vus", "2", "-d", "1s", *flag)
    assert f"{flag[0]}" in r.stderr and "open model" in r.stderr, r.stderr


@pytest.mark.parametrize("spec,named", [
    ("http_req_duration: p(95)<<200", "p(95)<<200"),
    ("nonsense", "nonsense"),
    ("http_req_duration: p(95)", "p(95)"),
    ("http_req_duration: p(95)<abc", "p(95)<abc"),
    ("http_req_duration{status:200: p(95)<200", "status:200"),
])
@pytest.mark.parametrize("flag", ["--threshold", "--threshold-abort"])
def test_malformed_threshold_is_named(stampede, closed_url, flag, spec, named):
    r = config_error(stampede, "run", "--url", closed_url, "--iterations", "1", flag, spec)
    assert named in r.stderr, f"message does not name the threshold {spec!r}\n{r}"


@pytest.mark.parametrize("spec", [
    "http_reqs: p(95)<1",           # percentile on a counter
    "http_req_failed: p(95)<1",     # percentile on a rate
    "http_req_duration: count>0",   # count on a trend
    "http_req_duration: rate<1",    # rate on a trend
])
def test_threshold_type_mismatch(stampede, closed_url, spec):
    config_error(stampede, "run", "--url", closed_url, "--iterations", "1",
                 "--threshold", spec)
