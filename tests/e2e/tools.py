"""The small C drivers of tests/tools/ (built by `make test`: Makefile, TOOLS), for the
end-to-end tests that check a library function against a reference (scipy, a Python
transcription of a paper)."""

import os
import subprocess
from pathlib import Path

from conftest import BIN

ROOT = Path(__file__).resolve().parents[2]


def _make_var(build, expr):
    """The value of a make expression with the project's Makefile (CFLAGS, LDLIBS)."""
    out = subprocess.run(
        ["make", "-s", "--no-print-directory", f"BUILD={build}",
         "--eval", f"print-var: ; @echo {expr}", "print-var"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.split()


def tool(name, tmp_dir):
    """tests/tools/NAME.c as a program: the one `make test` built beside the binary under
    test, else built here into tmp_dir from that build's libstampede.a."""
    build = Path(os.path.dirname(os.path.abspath(BIN)))
    made = build / "tools" / name
    if made.exists():
        return made
    lib = build / "libstampede.a"
    if not lib.exists():
        subprocess.run(["make", "-s", f"BUILD={build}", str(lib)], cwd=ROOT, check=True,
                       timeout=600)
    out = Path(tmp_dir) / name
    cflags = [f for f in _make_var(build, "$(CFLAGS)") if f not in ("-MMD", "-MP")]
    ldlibs = _make_var(build, "$(LDLIBS)")
    # A sanitizer build's library (make asan) needs its runtimes at link time, whether
    # or not make's command-line EXTRA_CFLAGS reached us through MAKEFLAGS.
    blob = lib.read_bytes()
    if b"__asan_" in blob and not any(f.startswith("-fsanitize") for f in cflags):
        cflags.append("-fsanitize=address")
    if b"__ubsan_" in blob and not any("undefined" in f for f in cflags):
        cflags.append("-fsanitize=undefined")
    cmd = ["cc", *cflags, "-o", str(out), str(ROOT / f"tests/tools/{name}.c"), str(lib),
           *ldlibs]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, f"{' '.join(cmd)}\n{res.stderr}"
    return out
