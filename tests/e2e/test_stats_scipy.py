"""The two-sample statistics of src/analysis/stats.c against scipy and against references
written here.

tests/tools/stats_cli.c reads two lines of numbers (x, then y) and prints key=value lines:
`stats_cli mwu --alt A` runs stats_mann_whitney(), `stats_cli boot ...` runs
stats_block_bootstrap_ratio(). This module builds it against the libstampede.a next to
$STAMPEDE_BIN (make's BUILD dir) when `make test` has not (Makefile, TOOLS).
References: scipy.stats.mannwhitneyu(x, y, alternative=A) with its defaults
(method="auto", use_continuity=True) of scipy 1.10; the normal approximation's z from the
textbook formula with the tie correction; and, for the bootstrap, the same circular
moving-block scheme written here in Python (splitmix64-seeded xoshiro256**, numpy's
median and linear quantiles), which must give the same interval to rounding.
"""

import os
import subprocess

import numpy as np
import pytest
import scipy.stats as scipy_stats  # Debian python3-scipy (scripts/install-deps.sh)

from tools import tool

ALTERNATIVES = ("two-sided", "less", "greater")
M64 = (1 << 64) - 1


# --------------------------------------------------------------------------------------
# building and running the tool
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stats_cli(tmp_path_factory):
    return tool("stats_cli", tmp_path_factory.mktemp("stats"))


def _input(x, y):
    return " ".join(map(repr, map(float, x))) + "\n" + " ".join(map(repr, map(float, y))) + "\n"


def run_cli(cli, args, x, y):
    res = subprocess.run([str(cli), *args], input=_input(x, y), capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return {k: float(v) for k, v in (line.split("=", 1) for line in res.stdout.splitlines())}


# --------------------------------------------------------------------------------------
# Mann–Whitney U against scipy
# --------------------------------------------------------------------------------------
def mwu_z_reference(x, y, u):
    """(U - n1 n2 / 2 - 1/2) / sigma, sigma^2 = n1 n2 / 12 ((n+1) - sum(t^3 - t) / (n(n-1)))."""
    n1, n2 = len(x), len(y)
    n = n1 + n2
    _, t = np.unique(np.concatenate([x, y]), return_counts=True)
    t = t.astype(float)
    var = n1 * n2 / 12 * ((n + 1) - np.sum(t ** 3 - t) / (n * (n - 1)))
    return (u - n1 * n2 / 2 - 0.5) / np.sqrt(var) if var > 0 else 0.0


def check_mwu(cli, x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    has_ties = len(np.unique(np.concatenate([x, y]))) < len(x) + len(y)
    exact = not (len(x) > 8 and len(y) > 8) and not has_ties  # scipy 1.10's "auto"
    for alt in ALTERNATIVES:
        out = run_cli(cli, ["mwu", "--alt", alt], x, y)
        ref = scipy_stats.mannwhitneyu(x, y, alternative=alt)
        assert out["u"] == ref.statistic, (alt, out, ref)
        assert out["p"] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300), (alt, out, ref)
        assert out["exact"] == exact
        if exact:
            assert out["z"] == 0
        else:
            u1 = ref.statistic
            u = {"greater": u1, "less": len(x) * len(y) - u1,
                 "two-sided": max(u1, len(x) * len(y) - u1)}[alt]
            assert out["z"] == pytest.approx(mwu_z_reference(x, y, u), rel=1e-12, abs=1e-15)
    return out


def random_datasets():
    """About 30 seeded datasets: sizes 3..500, a third with ties (values rounded), a
    third with a sample of at most 8 (the exact branch unless tied), shifts of 0 (the
    null) to large (p far below 1e-10)."""
    rng = np.random.default_rng(20240613)
    cases = []
    for k in range(30):
        small = k % 3 == 0
        nx = int(rng.integers(3, 9)) if small else int(rng.integers(3, 501))
        ny = int(rng.integers(3, 501)) if k % 2 else int(rng.integers(3, 60))
        shift = (0.0, 0.2, 0.5, 1.5)[k % 4]
        x = rng.lognormal(0, 0.5, nx)
        y = rng.lognormal(shift, 0.5, ny)
        if k % 3 == 1:  # ties: per-interval latencies rounded to 0.1 ms
            x, y = np.round(x, 1), np.round(y, 1)
        if k % 2:
            x, y = y, x
        cases.append((f"k{k}_{len(x)}x{len(y)}{'_ties' if k % 3 == 1 else ''}", x, y))
    return cases


RANDOM = random_datasets()


@pytest.mark.parametrize("name,x,y", RANDOM, ids=[c[0] for c in RANDOM])
def test_mwu_random_against_scipy(stats_cli, name, x, y):
    check_mwu(stats_cli, x, y)


def test_mwu_random_covers_both_branches(stats_cli):
    exact = [c for c in RANDOM if min(len(c[1]), len(c[2])) <= 8 and
             len(np.unique(np.concatenate([c[1], c[2]]))) == len(c[1]) + len(c[2])]
    tied = [c for c in RANDOM if len(np.unique(np.concatenate([c[1], c[2]]))) <
            len(c[1]) + len(c[2])]
    assert len(exact) >= 5 and len(tied) >= 5
    assert any(max(len(c[1]), len(c[2])) > 100 for c in exact)  # one large, one small


@pytest.mark.parametrize("x,y", [
    ([1, 2, 3], [4, 5, 6]),
    ([1], [2]),
    ([2], [1, 3, 5, 7, 9, 11, 13, 15, 17]),
    ([3, 1, 4, 1, 5], [9, 2, 6, 5, 3, 5]),
    ([7] * 10, [7] * 12),
    ([1, 1, 2, 2, 3, 3, 4, 4, 5, 5], [3, 3, 4, 4, 5, 5, 6, 6, 7, 7]),
    (list(range(9)), [v + 0.5 for v in range(9)]),
    (list(range(8)), [v + 0.5 for v in range(-20, 40)]),
], ids=["separated", "one_each", "one_vs_nine", "ties_small", "all_equal", "ties_10",
        "nine_each", "eight_vs_60"])
def test_mwu_fixed(stats_cli, x, y):
    check_mwu(stats_cli, x, y)


@pytest.mark.parametrize("data,message", [
    ("\n1 2 3\n", "Invalid argument"),  # stats_mann_whitney: nx = 0
    ("1 nan 3\n4 5 6\n", "Invalid argument"),
    ("1 2 3\n4 -inf 6\n", "Invalid argument"),
    ("1 2 3\n", "bad input"),  # the tool: no y line
    ("1 2 x\n4 5 6\n", "bad input"),
], ids=["empty_x", "nan", "inf", "no_y", "garbage"])
def test_mwu_bad_input(stats_cli, data, message):
    res = subprocess.run([str(stats_cli), "mwu"], input=data, capture_output=True, text=True,
                         timeout=10)
    assert res.returncode == 1
    assert res.stdout == ""
    assert message in res.stderr


# --------------------------------------------------------------------------------------
# the moving-block bootstrap against the same scheme written in Python
# --------------------------------------------------------------------------------------
class Xoshiro256ss:
    """xoshiro256** seeded by splitmix64, as stats_rng_seed() / stats_rng_next()."""

    def __init__(self, seed):
        self.s = []
        for _ in range(4):
            seed = (seed + 0x9E3779B97F4A7C15) & M64
            z = seed
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def _rotl(v, k):
        return ((v << k) | (v >> (64 - k))) & M64

    def next(self):
        s, rotl = self.s, self._rotl
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def below(self, n):
        return (self.next() * n) >> 64


def resample(rng, v, b):
    n = len(v)
    idx = []
    while len(idx) < n:
        start = rng.below(n)
        idx.extend((start + j) % n for j in range(min(b, n - len(idx))))
    return v[idx]


def bootstrap_reference(x, y, stat, block, resamples, level, seed):
    def default(n):
        return next(b for b in range(1, n + 1) if b ** 3 >= n)
    bx = min(block, len(x)) if block else default(len(x))
    by = min(block, len(y)) if block else default(len(y))
    rng = Xoshiro256ss(seed)
    ratios = []
    for _ in range(resamples):
        sx = stat(resample(rng, x, bx))
        sy = stat(resample(rng, y, by))
        if sx != 0:
            ratios.append(sy / sx)
    lo, hi = np.quantile(ratios, [(1 - level) / 2, (1 + level) / 2])
    return stat(y) / stat(x), lo, hi, bx, by


def ar1(rng, n, phi, burn=100):
    e = rng.normal(size=n + burn)
    for t in range(1, len(e)):
        e[t] += phi * e[t - 1]
    return e[burn:]


@pytest.mark.parametrize("stat,block,n,level,seed", [
    ("median", 0, 60, 0.95, 1),
    ("median", 0, 121, 0.9, 7),
    ("mean", 0, 90, 0.95, 2),
    ("median", 1, 40, 0.95, 3),
    ("median", 7, 33, 0.8, 12345678901234),
    ("mean", 50, 20, 0.99, 5),  # a block longer than the series is cut to n
], ids=["median_default", "median_odd_90", "mean", "iid", "block7", "block_past_n"])
def test_bootstrap_against_python_reference(stats_cli, stat, block, n, level, seed):
    rng = np.random.default_rng(seed)
    x = 100 + 10 * ar1(rng, n, 0.6)
    y = 120 + 12 * ar1(rng, n + 7, 0.6)
    fn = {"median": np.median, "mean": np.mean}[stat]
    resamples = 300
    out = run_cli(stats_cli, ["boot", "--stat", stat, "--block", str(block), "--resamples",
                              str(resamples), "--level", repr(level), "--seed", str(seed)],
                  x, y)
    ratio, lo, hi, bx, by = bootstrap_reference(x, y, fn, block, resamples, level, seed)
    assert (out["block"], out["block_y"]) == (bx, by)
    assert out["resamples"] == resamples and out["kept"] == resamples
    assert out["ratio"] == pytest.approx(ratio, rel=1e-12)
    assert out["lo"] == pytest.approx(lo, rel=1e-12)
    assert out["hi"] == pytest.approx(hi, rel=1e-12)
    assert lo <= ratio <= hi  # equal when every resample is a rotation (block = n, mean)


def test_bootstrap_bad_input(stats_cli):
    for args, data in [(["boot"], "1\n1 2 3\n"), (["boot", "--level", "1"], "1 2\n3 4\n"),
                       (["boot", "--resamples", "0"], "1 2\n3 4\n"),
                       (["boot"], "1 2 nan\n3 4\n")]:
        res = subprocess.run([str(stats_cli), *args], input=data, capture_output=True,
                             text=True, timeout=10)
        assert res.returncode == 1, (args, data, res.stdout)
        assert "Invalid argument" in res.stderr
