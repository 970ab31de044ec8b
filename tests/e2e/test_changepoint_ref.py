"""The E-Divisive statistic and splits of src/analysis/changepoint.c against a direct, slow
reference written here from the paper's formulas (Matteson & James 2014, JASA, section 2.2):

    E^(X, Y) = 2/(n m) sum_{X x Y} |x - y|^a - C(n,2)^-1 sum_{X pairs} - C(m,2)^-1 sum_{Y pairs}
    Q^(X, Y) = n m / (n + m) E^(X, Y)

with X = [s, tau), Y = [tau, kappa), the best split of a segment [s, e) the first maximum
over every tau and every kappa <= e (both parts at least min_size points, as ecp's
e.divisive searches), and the hierarchy splitting the segment with the largest Q^ first.
With --alpha 1 every split is kept, so the whole hierarchy (indices, Q^ of each point when
it was found, segment medians) is deterministic and compared exactly; the permutation
p-values are not (the reference has no RNG of the C code's), only their range.

tests/tools/cp_cli.c runs cp_detect() on numbers read from stdin; `make test` builds it
next to $STAMPEDE_BIN (make's BUILD dir), and this module builds it there if it is missing.
"""

import itertools
import subprocess

import numpy as np
import pytest

from tools import tool

CP_MAX_POINTS = 64  # src/analysis/changepoint.h


@pytest.fixture(scope="module")
def cp_cli(tmp_path_factory):
    return tool("cp_cli", tmp_path_factory.mktemp("cp"))


def run_cli(cli, y, alpha=1.0, permutations=1, min_size=2, exponent=1.0, seed=1):
    res = subprocess.run(
        [str(cli), "--alpha", repr(alpha), "--permutations", str(permutations),
         "--min-size", str(min_size), "--exponent", repr(exponent), "--seed", str(seed)],
        input=" ".join(repr(float(v)) for v in y), capture_output=True, text=True,
        timeout=60)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("points=")
    pts = [line.split() for line in lines[1:]]
    assert len(pts) == int(lines[0].split("=")[1])
    return [(int(p[0]), float(p[1]), float(p[2]), float(p[3]), float(p[4])) for p in pts]


# --------------------------------------------------------------------------------------
# the reference: the formulas as written, every sum taken afresh
# --------------------------------------------------------------------------------------
def q_hat(d, s, tau, kappa):
    n, m = tau - s, kappa - tau
    between = d[s:tau, tau:kappa].sum()
    within_x = np.triu(d[s:tau, s:tau], 1).sum()
    within_y = np.triu(d[tau:kappa, tau:kappa], 1).sum()
    e = (2.0 * between / (n * m) - within_x / (n * (n - 1) / 2)
         - within_y / (m * (m - 1) / 2))
    return n * m / (n + m) * e


def best_split(d, s, e, min_size):
    """(q, tau) of the first maximum over tau, then kappa; None if it cannot split."""
    best = None
    for tau in range(s + min_size, e - min_size + 1):
        for kappa in range(tau + min_size, e + 1):
            q = q_hat(d, s, tau, kappa)
            if best is None or q > best[0]:
                best = (q, tau)
    return best


def reference(y, min_size, exponent, max_points=CP_MAX_POINTS):
    y = np.asarray(y, dtype=float)
    d = np.abs(y[:, None] - y[None, :]) ** exponent
    bounds, found, memo = [0, len(y)], {}, {}
    while len(found) < max_points:
        for a, b in zip(bounds, bounds[1:]):
            if (a, b) not in memo:
                memo[(a, b)] = best_split(d, a, b, min_size)
        cands = [(memo[(a, b)], i) for i, (a, b) in enumerate(zip(bounds, bounds[1:]))]
        cands = [(c[0], c[1], i) for c, i in cands if c is not None]
        if not cands:
            break
        q, tau, _ = max(cands, key=lambda c: (c[0], -c[2]))  # first segment on ties
        found[tau] = q
        bounds = sorted(bounds + [tau])
    out = []
    for a, t, b in zip(bounds, bounds[1:], bounds[2:]):
        out.append((t, found[t], np.median(y[a:t]), np.median(y[t:b])))
    return out


def series(rng, n, kind):
    if kind == "noise":
        return rng.normal(100, 5, n)
    if kind == "steps":  # piecewise levels with noise
        levels = rng.choice([80.0, 100.0, 130.0], size=4)
        cut = sorted(rng.choice(np.arange(2, n - 1), size=3, replace=False))
        return np.concatenate([rng.normal(lv, 3, len(part))
                               for lv, part in zip(levels, np.split(np.arange(n), cut))])
    return rng.exponential(10, n) + np.linspace(0, 20, n)  # skewed, creeping


CASES = [(seed, n, kind, min_size, exponent)
         for seed, (n, kind, min_size, exponent) in enumerate(itertools.product(
             (9, 16, 31), ("noise", "steps", "skewed"), (2, 3), (0.5, 1.0, 1.5)))]


@pytest.mark.parametrize("seed,n,kind,min_size,exponent", CASES)
def test_hierarchy_matches_reference(cp_cli, seed, n, kind, min_size, exponent):
    y = series(np.random.default_rng(seed), n, kind)
    got = run_cli(cp_cli, y, min_size=min_size, exponent=exponent)
    want = reference(y, min_size, exponent)
    assert [g[0] for g in got] == [w[0] for w in want]
    for g, w in zip(got, want):
        assert g[1] == pytest.approx(w[1], rel=1e-9, abs=1e-9), f"Q^ at {w[0]}"
        assert 0 < g[2] <= 1
        assert g[3] == pytest.approx(w[2], rel=1e-12)
        assert g[4] == pytest.approx(w[3], rel=1e-12)
    prev = 0
    for g in got:  # min_size between change points and at the ends
        assert g[0] - prev >= min_size
        prev = g[0]
    assert n - prev >= min_size


def test_first_split_is_the_global_maximum(cp_cli):
    """At alpha 0.05 a clear shift is kept, at the reference's best split and Q^, with the
    smallest p 199 permutations can give."""
    rng = np.random.default_rng(99)
    y = np.concatenate([rng.normal(100, 3, 40), rng.normal(115, 3, 30)])
    got = run_cli(cp_cli, y, alpha=0.05, permutations=199, min_size=3)
    want = reference(y, 3, 1.0, max_points=1)
    assert [g[0] for g in got] == [want[0][0]] == [40]
    assert got[0][1] == pytest.approx(want[0][1], rel=1e-9)
    assert got[0][2] == pytest.approx(1 / 200)


def test_cap_at_max_points(cp_cli):
    """alpha 1 keeps splitting until CP_MAX_POINTS, in the reference's order."""
    y = np.random.default_rng(5).normal(0, 1, 200)
    got = run_cli(cp_cli, y, min_size=2)
    want = reference(y, 2, 1.0)
    assert len(got) == len(want) == CP_MAX_POINTS
    assert [g[0] for g in got] == [w[0] for w in want]
