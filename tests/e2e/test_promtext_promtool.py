"""util/promtext's strict mode against promtool (issue #12, `--scrape URL`): on every recorded
exposition (tests/fixtures/prom/) and on deliberately broken ones, the parser accepts exactly
what `promtool check metrics` can parse, and refuses the rest at the same line.

promtool both parses and lints: exit 1 with "text format parsing error in line N" is a parse
error; exit 3 lists lint problems (naming, missing HELP) of a body it parsed, which our
parser accepts. The checker is tests/tools/promtext_check.c (`promtext_check FILE...`: "ok"
or the strict error), which `make test` builds.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BIN

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "prom"
PARSE_ERROR = re.compile(r"text format parsing error in line (\d+)")

# Bodies promtool refuses (or accepts) for a reason each; written to files by the test.
# Besides these, every tests/fixtures/prom/*.txt is compared.
CASES = {
    "value_forms": b"a 1\nb -1.5e-3\nc .5\nd 5.\ne +Inf\nf -infinity\ng NaN\nh 1e-400\n",
    "label_forms": b'a{} 1\na{x="1",} 2\n  a { y = "3" , z="4" }\t5\na{w="6"}7\n',
    "label_escapes": b'a{x="q\\"b\\\\s\\nn"} 1\n',
    "timestamps": b"a 1 -5\nb 1 +7\nc 1 9223372036854775807\n",
    "help_type_forms": b"#TYPE b COUNTER\n#\tHELP b x \\\\ y\n# plain\n#\n# HELP\n# HELP c\nb 1\n",
    "summary_quantiles": b'# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 2\ns_count 3\n',
    "untyped_le_is_a_label": b'h_bucket{le="x"} 1\n',
    "blank_tail_without_lf": b"a 1\n  \t",
    "nan_signed": b"a +NaN\n",
    "value_underscore": b"a 1_000\n",
    "value_missing": b"a\n",
    "value_after_brace_missing": b"a{} \n",
    "timestamp_overflow": b"a 1 9223372036854775808\n",
    "timestamp_spurious": b"a 1 2 3\n",
    "label_unterminated": b'a{x="abc} 1\n',
    "label_bad_escape": b'a{x="\\t"} 1\n',
    "label_no_quote": b"a{x=1} 1\n",
    "label_no_comma": b'a{x="1" y="2"} 1\n',
    "label_empty_name": b"a{,} 1\n",
    "label_surrogate": b'a{x="\xed\xa0\x80"} 1\n',
    "name_digit": b"9a 1\n",
    "help_bad_escape": b"# HELP a tab\\t\n",
    "help_trailing_backslash": b"# HELP a x\\\n",
    "help_bad_name": b"# HELP 1a x\n",
    "type_trailing_blank": b"# TYPE a counter \na 1\n",
    "type_second": b"# TYPE a gauge\n# TYPE a gauge\n",
    "summary_bad_quantile": b'# TYPE s summary\ns{quantile=""} 1\n',
    "comment_without_lf": b"a 1\n# x",
}


def need(tool):
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} not found (apt-get install prometheus gcc)", pytrace=False)
    return path


@pytest.fixture(scope="module")
def checker():
    """tests/tools/promtext_check.c, built by `make test` next to the binary (Makefile,
    TOOLS); built here when missing."""
    build = Path(os.path.dirname(os.path.abspath(BIN)))
    made = build / "tools" / "promtext_check"
    if not made.exists():
        subprocess.run(["make", "-s", f"BUILD={build}", str(made)], cwd=ROOT, check=True,
                       timeout=600)
    return made


def promtool(path):
    """(parseable, line of the parse error or None, promtool's output)."""
    with open(path, "rb") as f:
        p = subprocess.run([need("promtool"), "check", "metrics"], stdin=f,
                           capture_output=True, timeout=30)
    text = (p.stdout + p.stderr).decode("utf-8", "replace")
    m = PARSE_ERROR.search(text)
    if p.returncode == 1 and m:
        return False, int(m.group(1)), text
    assert p.returncode in (0, 3), f"promtool exit {p.returncode} without a parse error:\n{text}"
    return True, None, text


def ours(checker, path):
    """(accepted, line of the error or None, the checker's line)."""
    p = subprocess.run([str(checker), str(path)], capture_output=True, text=True, timeout=30)
    line = p.stdout.strip()
    if p.returncode == 0:
        assert ": ok:" in line, line
        return True, None, line
    m = re.search(r": error: line (\d+): ", line)
    assert p.returncode == 1 and m, f"checker exit {p.returncode}: {line}{p.stderr}"
    return False, int(m.group(1)), line


def bodies(tmp_path):
    files = sorted(FIXTURES.glob("*.txt"))
    for name, body in CASES.items():
        f = tmp_path / f"case-{name}.txt"
        f.write_bytes(body)
        files.append(f)
    return files


def test_strict_mode_accepts_what_promtool_parses(checker, tmp_path):
    seen = {"parsed": 0, "linted": 0, "refused": 0}
    for f in bodies(tmp_path):
        p_ok, p_line, p_text = promtool(f)
        o_ok, o_line, o_text = ours(checker, f)
        assert o_ok == p_ok, f"{f.name}: promtool {'parses' if p_ok else 'refuses'} it, " \
                             f"we {'accept' if o_ok else 'refuse'} it\npromtool: {p_text}\n" \
                             f"ours: {o_text}"
        assert o_line == p_line, f"{f.name}: error at line {o_line}, promtool's at " \
                                 f"{p_line}\npromtool: {p_text}\nours: {o_text}"
        # a fixture's name says which side it is on
        if f.parent == FIXTURES:
            assert p_ok == (not f.name.startswith("bad-")), f"{f.name}: {p_text}"
        seen["refused" if not p_ok else "linted" if p_text.strip() else "parsed"] += 1
    # the comparison covered both sides, and lint problems did not count as parse errors
    assert seen["parsed"] >= 3 and seen["linted"] >= 3 and seen["refused"] >= 20, seen


def test_recorded_fixtures_come_from_real_programs():
    """demo.txt, stampede-out.txt and prometheus.txt are recorded scrapes (README.md)."""
    names = {f.name for f in FIXTURES.glob("*.txt")}
    for want in ("demo.txt", "stampede-out.txt", "prometheus.txt", "openmetrics.txt",
                 "spec-example.txt"):
        assert want in names
    assert "# TYPE http_requests_total counter" in (FIXTURES / "demo.txt").read_text()
    assert "stampede_http_reqs_total{" in (FIXTURES / "stampede-out.txt").read_text()
    assert "prometheus_build_info{" in (FIXTURES / "prometheus.txt").read_text()
