"""What end-to-end tests build or install beside the binary under test: the small C
drivers of tests/tools/ (built by `make test`: Makefile, TOOLS), for the tests that check a
library function against a reference (scipy, a Python transcription of a paper), and the
pinned npm packages of the tests that hand stampede's output to a real consumer or
validator (k6-html-reporter, action-validator, kubernetes-models)."""

import fcntl
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

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


# npm's words for a registry it could not reach (a name that does not resolve, a refused,
# reset or timed-out connection, no route).
NPM_UNREACHABLE = re.compile(r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|"
                             r"ENETUNREACH|network request .* failed")
NPM_TIMEOUT = 300  # seconds


def _npm_missing(dest, wanted):
    """The "PATH@VERSION"s of wanted ({path under dest: version}) not installed there."""
    missing = []
    for path, version in wanted.items():
        pkg = Path(dest) / path / "package.json"
        if not (pkg.exists() and json.loads(pkg.read_text()).get("version") == version):
            missing.append(f"{path}@{version}")
    return missing


def npm_install(dest, what, *, fixture=None, packages=None):
    """Pinned npm packages installed into the directory dest (one per test module, beside
    the binary under test: <BUILD>/npm-NAME); returns dest/node_modules.

    Either fixture, a directory holding package.json and package-lock.json (copied into
    dest, then `npm ci`: the lockfile pins every package), or packages, {name: version}
    (`npm install --no-save name@version`: pins those, not their dependencies).
    Cached by what is pinned: when every package of the lockfile (but its optional ones,
    which npm may leave out) or every one of packages is in dest at its version, nothing
    runs. what names the packages in the messages.
    node or npm not installed: the test fails. The install fails or takes over
    NPM_TIMEOUT s: the test is skipped when the registry cannot be reached (or npm timed
    out) unless CI=true, and fails otherwise, with npm's output; the test also fails when
    npm succeeds without installing what is pinned."""
    for prog in ("node", "npm"):
        if not shutil.which(prog):
            pytest.fail(f"`{prog}` is not installed (scripts/install-deps.sh installs nodejs "
                        "and npm)", pytrace=False)
    assert (fixture is None) != (packages is None), "npm_install: fixture or packages"
    dest = Path(dest)
    # one install at a time into dest: modules that share it may run in parallel (xdist)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.parent / f".{dest.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _npm_install_locked(dest, what, fixture, packages)


def _npm_install_locked(dest, what, fixture, packages):
    if fixture is not None:
        lock = json.loads((Path(fixture) / "package-lock.json").read_text())
        wanted = {path: p["version"] for path, p in lock["packages"].items()
                  if path and not p.get("optional")}
        args = ["ci"]
    else:
        wanted = {f"node_modules/{name}": version for name, version in packages.items()}
        args = ["install", "--no-save", *[f"{n}@{v}" for n, v in packages.items()]]
    shown = " ".join(["npm", *args])
    if not _npm_missing(dest, wanted):
        return dest / "node_modules"
    dest.mkdir(parents=True, exist_ok=True)
    if fixture is not None:
        for f in ("package.json", "package-lock.json"):
            shutil.copyfile(Path(fixture) / f, dest / f)
    try:
        p = subprocess.run(["npm", *args, "--prefix", str(dest), "--no-audit", "--no-fund"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=NPM_TIMEOUT)
    except subprocess.TimeoutExpired:
        p = None
    if p is None or p.returncode != 0:
        out = f"{shown} timed out" if p is None else p.stdout + p.stderr
        if (p is None or NPM_UNREACHABLE.search(out)) and os.environ.get("CI") != "true":
            pytest.skip(f"the npm registry is unreachable, so {what} cannot be installed: "
                        f"{out.strip()[-300:]}")
        pytest.fail(f"{shown} ({what}) failed:\n{out}", pytrace=False)
    missing = _npm_missing(dest, wanted)
    assert not missing, f"{shown} ({what}) did not install {missing}"
    return dest / "node_modules"
