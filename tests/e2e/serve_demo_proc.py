"""A `stampede serve-demo` process for tests that need its command line as written (HTTPS,
a working directory for --write-ca): started by pid, on the port its flags give (use
--port 0 for a free one, read back from its "listening on" line), stopped with SIGTERM."""

import re
import signal
import subprocess
import time

import pytest

from conftest import BIN, require_binary

LISTEN_RE = re.compile(r"listening on (https?)://127\.0\.0\.1:(\d+) ")


class ServeDemo:
    """`stampede serve-demo ARGS` run in directory d; .scheme and .port once it listens."""

    def __init__(self, d, args, name="demo"):
        require_binary()
        self.out = d / f"{name}.out"
        self.err = d / f"{name}.err"
        self.args = [BIN, "serve-demo", *map(str, args)]
        self.terminated = False
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.proc = subprocess.Popen(self.args, cwd=d, stdin=subprocess.DEVNULL, stdout=o,
                                         stderr=e)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            m = LISTEN_RE.search(self.out.read_text(errors="replace"))
            if m:
                self.scheme, self.port = m.group(1), int(m.group(2))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        pytest.fail(f"{' '.join(self.args)} did not start:\n{self.err.read_text()}",
                    pytrace=False)

    def terminate(self):
        """SIGTERM now (a graceful stop), without waiting; stop() then only waits."""
        self.terminated = True
        self.proc.send_signal(signal.SIGTERM)

    def stop(self):
        """SIGTERM (unless terminate() sent it: a second SIGTERM forces the stop, as it
        should, and raced the first's clean exit), then the exit code (killed after 15
        s)."""
        if self.proc.poll() is None and not self.terminated:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
