"""Output files and file inputs (docs/cli.md "Output files", issue #8 §3-§4): every output
path is checked before any load is sent; stdout, descriptors, devices and FIFOs are written
in place, regular files (through symlinks) atomically; a failed write is reported with its
reason; --body-file is capped at 64 MiB; --max-response-body-size is parsed strictly."""

import json
import os
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import BIN, EXIT_CONFIG, EXIT_OK, EXIT_THRESHOLDS, errors_by_kind, metric, \
    read_summary, strict_json
from script_servers import run_script

EXIT_OUTPUT = 110  # an output could not be written (docs/cli.md "Exit codes")


def quick(url, *args):
    return ["run", "--url", url, "--quiet", *args]


# Run as root, a stampede that wrongly replaced special files would replace /dev/null,
# /dev/full or /dev/stdout of the whole machine (as the old writer did). These tests write
# to device nodes of their own and to links of their own to /proc/self/fd/1 instead, and run
# with their temporary directory as working directory.
def char_device(tmp_path, name, minor):
    """A character device like /dev/NAME (major 1): a node in tmp_path when this process
    may make one, else /dev/NAME itself (which it then cannot replace either)."""
    node = tmp_path / name
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, minor))
        os.close(os.open(node, os.O_WRONLY))  # a nodev mount refuses to open it
        return node
    except PermissionError:
        if node.exists():
            node.unlink()
        return Path("/dev") / name


def run_in(cwd, *args, timeout=30, stdout=subprocess.PIPE):
    p = subprocess.run([BIN, *map(str, args)], cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=stdout, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, (p.stdout or b"").decode(), p.stderr.decode()


# --------------------------------------------------------------------------------------
# pre-flight: a bad output path exits 104 before anything is sent
# --------------------------------------------------------------------------------------
BAD_PATHS = {
    "empty": lambda d: "",
    "directory": lambda d: str(d),
    "directory_with_slash": lambda d: str(d) + "/",
    "missing_parent": lambda d: str(d / "missing" / "summary.json"),
    "missing_dir_with_slash": lambda d: str(d / "newdir") + "/",
    "under_a_file": lambda d: str(d / "file.txt" / "summary.json"),
    "symlink_to_directory": lambda d: str(d / "dirlink"),
}


@pytest.mark.parametrize("case", sorted(BAD_PATHS))
def test_bad_export_path_fails_before_load(case, counting_server, stampede, tmp_path):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "dirlink").symlink_to(".")
    path = BAD_PATHS[case](tmp_path)
    r = stampede(*quick(counting_server.url, "--duration", "3s", "--summary-export", path),
                 timeout=20, expect=EXIT_CONFIG)
    assert "--summary-export" in r.stderr, f"the message does not name the option\n{r}"
    assert "cannot write" in r.stderr, r
    assert counting_server.requests == 0, "load was sent before the path was rejected"
    assert r.elapsed < 3, f"the run went ahead before failing\n{r}"
    assert sorted(os.listdir(tmp_path)) == ["dirlink", "file.txt"], "something was created"


def test_bad_export_path_fails_before_the_script_runs(counting_server, stampede, tmp_path):
    script = tmp_path / "t.lua"
    script.write_text(f"""
        options = {{ iterations = 3 }}
        function setup() http.get("{counting_server.url}setup") end
        function default() http.get("{counting_server.url}") end
    """)
    r = stampede("run", script, "--quiet", "--summary-export", tmp_path, timeout=20,
                 expect=EXIT_CONFIG)
    assert "is a directory" in r.stderr, r
    assert counting_server.requests == 0


# --------------------------------------------------------------------------------------
# where the export goes
# --------------------------------------------------------------------------------------
def test_export_through_symlink_keeps_the_link(counting_server, stampede, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "data.json").write_text("stale")
    link = tmp_path / "summary.json"
    link.symlink_to("real/data.json")
    stampede.load(counting_server.url, "--iterations", "4", export=link)
    assert link.is_symlink(), "the symlink was replaced by a regular file"
    assert os.readlink(link) == "real/data.json"
    assert metric(read_summary(real / "data.json"), "http_reqs")["count"] == 4
    assert sorted(os.listdir(tmp_path)) == ["real", "summary.json"]
    assert sorted(os.listdir(real)) == ["data.json"], "a temporary file was left"


def test_export_to_fifo_reader_gets_the_whole_json(counting_server, stampede, tmp_path):
    fifo = tmp_path / "summary.fifo"
    os.mkfifo(fifo)
    got = {}

    def reader():
        with open(fifo, "rb") as f:  # blocks until stampede opens it for writing
            got["data"] = f.read()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    r = stampede(*quick(counting_server.url, "--iterations", "6", "--summary-export", fifo),
                 timeout=30, expect=EXIT_OK)
    t.join(10)
    assert not t.is_alive(), f"the FIFO reader never got an end of file\n{r}"
    summary = strict_json(got["data"].decode())
    assert metric(summary, "http_reqs")["count"] == 6
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced"


def test_sigterm_ends_the_wait_for_a_fifo_reader(counting_server, spawn, tmp_path):
    fifo = tmp_path / "nobody-reads.fifo"
    os.mkfifo(fifo)
    p = spawn("run", "--url", counting_server.url, "--iterations", "1",
              "--summary-export", fifo)
    # the end-of-run summary is printed before the outputs are written: once it is out,
    # the run is over and stampede waits (up to 10 s) for a reader of the FIFO
    p.wait_for_output("http_reqs")
    time.sleep(0.3)
    p.signal(signal.SIGTERM)
    r = p.wait(6)  # well before the 10 s wait would end by itself
    assert r.rc != EXIT_OK, r
    assert "--summary-export" in r.stderr and "interrupted" in r.stderr, r
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_export_to_dash_is_stdout(counting_server, tmp_path):
    rc, out, err = run_in(tmp_path, *quick(counting_server.url, "--iterations", "3",
                                           "--no-summary", "--summary-export", "-"))
    assert rc == EXIT_OK, err
    assert metric(strict_json(out), "http_reqs")["count"] == 3
    assert os.listdir(tmp_path) == [], "a file was written in the working directory"


def test_export_to_dash_follows_the_text_summary(counting_server, tmp_path):
    rc, out, err = run_in(tmp_path, *quick(counting_server.url, "--iterations", "3",
                                           "--summary-export", "-"))
    assert rc == EXIT_OK, err
    text, brace, rest = out.partition("\n{")
    assert "http_reqs" in text, out
    assert metric(strict_json(brace.strip() + rest), "http_reqs")["count"] == 3


@pytest.mark.parametrize("name", ["stdout-link", "/dev/fd/1", "/proc/self/fd/1"])
def test_export_to_stdout_names_writes_the_redirected_file_in_place(name, counting_server,
                                                                     tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    if name == "stdout-link":  # what /dev/stdout is
        (work / name).symlink_to("/proc/self/fd/1")
    out = tmp_path / "out.txt"
    with open(out, "wb") as f:
        f.write(b"before\n")
        f.flush()
        inode = os.fstat(f.fileno()).st_ino
        rc, _, err = run_in(work, *quick(counting_server.url, "--iterations", "2",
                                         "--no-summary", "--summary-export", name), stdout=f)
    assert rc == EXIT_OK, err
    assert os.stat(out).st_ino == inode, "the file behind stdout was replaced"
    text = out.read_text()
    assert text.startswith("before\n"), text[:200]
    assert metric(strict_json(text[len("before\n"):]), "http_reqs")["count"] == 2
    assert sorted(os.listdir(tmp_path)) == ["out.txt", "work"]
    assert os.listdir(work) == ([name] if name == "stdout-link" else [])
    if name == "stdout-link":
        assert (work / name).is_symlink()


def test_export_to_dev_null(counting_server, tmp_path):
    null = char_device(tmp_path, "null", 3)
    rc, _, err = run_in(tmp_path, *quick(counting_server.url, "--iterations", "2",
                                         "--summary-export", null))
    assert rc == EXIT_OK, err
    assert stat.S_ISCHR(os.stat(null).st_mode), f"{null} was replaced"


def export_to_dev_full(url, tmp_path, *args):
    full = char_device(tmp_path, "full", 7)
    rc, out, err = run_in(tmp_path, *quick(url, "--iterations", "2", "--summary-export", full,
                                           *args))
    assert stat.S_ISCHR(os.stat(full).st_mode), f"{full} was replaced by a file"
    assert f"--summary-export: cannot write '{full}': No space left on device" in err, err
    return rc, out, err


def test_export_to_dev_full_reports_the_reason(counting_server, tmp_path):
    rc, out, err = export_to_dev_full(counting_server.url, tmp_path)
    assert rc == EXIT_OUTPUT, err
    assert "http_reqs" in out, "the text summary is still printed"


def test_failed_export_does_not_hide_failed_thresholds(counting_server, tmp_path):
    rc, _, err = export_to_dev_full(counting_server.url, tmp_path, "--threshold",
                                    "http_reqs: count>100")
    assert rc == EXIT_THRESHOLDS, err


def test_stale_temporary_files_are_removed(counting_server, stampede, tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid no process has now
    stale = tmp_path / f".summary.json.stampede-tmp.{dead.pid}"
    stale.write_text("{ partial")
    live = tmp_path / f".summary.json.stampede-tmp.{os.getpid()}"
    live.write_text("{ being written by a running process")
    stampede.load(counting_server.url, "--iterations", "2", export=tmp_path / "summary.json")
    assert not stale.exists(), "a dead process's temporary file was left"
    assert live.exists(), "a running process's temporary file was removed"
    assert sorted(os.listdir(tmp_path)) == sorted(["summary.json", live.name])


# --------------------------------------------------------------------------------------
# --body-file
# --------------------------------------------------------------------------------------
def test_body_file_dev_zero_is_rejected_at_once(counting_server, stampede):
    r = stampede(*quick(counting_server.url, "--duration", "5s", "--body-file", "/dev/zero"),
                 timeout=20, expect=EXIT_CONFIG)
    assert "--body-file" in r.stderr and "larger than 64 MiB" in r.stderr, r
    assert counting_server.requests == 0


def test_body_file_over_64_mib_is_rejected(counting_server, stampede, tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(64 * 2**20 + 1)  # sparse: nothing is written
    r = stampede(*quick(counting_server.url, "--duration", "5s", "--body-file", big),
                 timeout=20, expect=EXIT_CONFIG)
    assert "larger than 64 MiB" in r.stderr, r
    assert counting_server.requests == 0


def test_body_file_from_a_fifo(counting_server, stampede, tmp_path):
    fifo = tmp_path / "body.fifo"
    os.mkfifo(fifo)

    def writer():
        with open(fifo, "wb") as f:
            f.write(b"b" * 5000)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    r = stampede.load(counting_server.url, "--iterations", "2", "--body-file", fifo)
    t.join(10)
    sent = metric(r.summary, "data_sent")["count"]
    assert sent > 2 * 5000, f"data_sent {sent}: the body was not sent"


def test_body_file_missing_or_directory(counting_server, stampede, tmp_path):
    for path, why in ((tmp_path / "nope", "No such file"), (tmp_path, "Is a directory")):
        r = stampede(*quick(counting_server.url, "--body-file", path), timeout=20,
                     expect=EXIT_CONFIG)
        assert why in r.stderr, r
    assert counting_server.requests == 0


# --------------------------------------------------------------------------------------
# --max-response-body-size
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["0", "-1", "-1MB", "", "10XB", "1e3", "MB", "1 MB",
                                   "0x10", "1M", "99999999999999999999"])
def test_max_response_body_size_rejects(value, counting_server, stampede):
    r = stampede(*quick(counting_server.url, "--max-response-body-size", value),
                 timeout=20, expect=EXIT_CONFIG)
    assert "--max-response-body-size" in r.stderr, r
    assert counting_server.requests == 0


def body_response(n):
    return (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n) + b"x" * n


@pytest.mark.parametrize("value,fails", [("1kB", True), ("4999", True), ("5000", False),
                                         ("1.5KiB", True), ("10MB", False), ("1GiB", False)])
def test_max_response_body_size_limits_bodies(value, fails, scripted_server, stampede):
    server = scripted_server(body_response(5000))
    r = stampede.load(server.url, "--iterations", "3", "--max-response-body-size", value)
    errs = errors_by_kind(r.summary)
    if fails:
        assert errs.get("response_too_large", {}).get("count") == 3, r.summary["errors"]
        assert errs["response_too_large"]["code"] == 1030
    else:
        assert "response_too_large" not in errs, r.summary["errors"]
        assert metric(r.summary, "http_req_failed")["passes"] == 0


def test_max_response_body_size_in_help(stampede):
    r = stampede("help", "run", expect=EXIT_OK)
    assert "--max-response-body-size" in r.stdout, r


def test_summary_export_json_ends_with_newline(counting_server, stampede, tmp_path):
    target = tmp_path / "s.json"
    stampede.load(counting_server.url, "--iterations", "1", export=target)
    text = target.read_text()
    assert text.endswith("}\n"), text[-20:]
    json.loads(text)


BIG_BODY_SCRIPT = """
    options = { iterations = 2, maxResponseBodySize = "1kB" }
    function default() http.get(BASE .. "/") end
"""


def test_script_max_response_body_size_option(scripted_server, tmp_path):
    server = scripted_server(body_response(5000))
    r = run_script(tmp_path, BIG_BODY_SCRIPT, base=server.url)
    assert errors_by_kind(r.summary).get("response_too_large", {}).get("count") == 2, \
        r.summary["errors"]


def test_flag_overrides_the_script_max_response_body_size(scripted_server, tmp_path):
    server = scripted_server(body_response(5000))
    r = run_script(tmp_path, BIG_BODY_SCRIPT, "--max-response-body-size", "10kB",
                   base=server.url)
    assert "response_too_large" not in errors_by_kind(r.summary), r.summary["errors"]


def test_script_max_response_body_size_invalid(scripted_server, tmp_path):
    server = scripted_server(body_response(10))
    r = run_script(tmp_path, BIG_BODY_SCRIPT.replace('"1kB"', '"lots"'), base=server.url,
                   expect=EXIT_CONFIG)
    assert "maxResponseBodySize" in r.stderr, r
    assert server.requests == 0
