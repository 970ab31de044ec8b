"""The trend statistics of src/analysis/trend.c (Mann–Kendall, Hamed–Rao, Sen's slope)
against scipy and against references written here from the textbook formulas.

tests/tools/trend_cli.c runs trend_test() on "x y" lines and prints key=value lines; this
module builds it against the libstampede.a next to $STAMPEDE_BIN (make's BUILD dir).
References: scipy.stats.kendalltau (tau-b), scipy.stats.theilslopes(y, x, 1 - alpha,
method="joint") (slope, intercept and the Sen 1968 / Gilbert 1987 rank interval), the
Mann–Kendall S / Var(S) / Z / p of Gilbert (1987) ch. 16 computed with numpy, and the
Hamed & Rao (1998) variance factor with the choices trend.h documents (lags 1..10,
rank autocorrelations outside +-z(0.975)/sqrt(n), factor floored at 1).
"""

import subprocess

import numpy as np
import pytest
import scipy.stats as scipy_stats  # Debian python3-scipy (scripts/install-deps.sh)

from tools import tool

HR_MAX_LAG = 10  # TREND_HR_MAX_LAG in src/analysis/trend.h


# --------------------------------------------------------------------------------------
# building and running the tool
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trend_cli(tmp_path_factory):
    return tool("trend_cli", tmp_path_factory.mktemp("trend"))


def run_cli(cli, x, y, corr="none", alpha=0.05, extra=()):
    data = "".join(f"{a!r} {b!r}\n" for a, b in zip(map(float, x), map(float, y)))
    res = subprocess.run([str(cli), "--alpha", repr(alpha), "--corr", corr, *extra],
                         input=data, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    out = {}
    for line in res.stdout.splitlines():
        k, v = line.split("=", 1)
        out[k] = v if k == "describe" else float(v)
    return out


# --------------------------------------------------------------------------------------
# references
# --------------------------------------------------------------------------------------
def mk_reference(y):
    """S, Var(S) with the tie correction, Z with the continuity correction, two-sided p."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    s = int(np.sign(y[None, :] - y[:, None])[np.triu_indices(n, 1)].sum())
    _, t = np.unique(y, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - np.sum(t * (t - 1) * (2 * t + 5))) / 18.0
    return s, var


def z_p(s, var):
    if s == 0 or var <= 0:
        return 0.0, 1.0
    z = (s - np.sign(s)) / np.sqrt(var)
    return z, 2 * scipy_stats.norm.sf(abs(z))


def hamed_rao_reference(x, y, slope):
    """Hamed & Rao (1998): n/n*s = 1 + 2/(n(n-1)(n-2)) sum (n-i)(n-i-1)(n-i-2) rho_s(i)
    over the significant rank autocorrelations rho_s(i) of the detrended series."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(y)
    r = scipy_stats.rankdata(y - slope * x)
    r = r - r.mean()
    c0 = np.dot(r, r)
    if c0 == 0:
        return 1.0
    bound = scipy_stats.norm.ppf(0.975) / np.sqrt(n)
    total = 0.0
    for i in range(1, min(HR_MAX_LAG, n - 3) + 1):
        rho = np.dot(r[:-i], r[i:]) / c0
        if abs(rho) > bound:
            total += (n - i) * (n - i - 1) * (n - i - 2) * rho
    f = 1 + 2 * total / (n * (n - 1) * (n - 2))
    return max(f, 1.0)


def sen_ci_from_var(x, y, var, alpha):
    """The Sen (1968) / Gilbert (1987) rank interval for a given Var(S), as scipy."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    i, j = np.triu_indices(len(x), 1)
    slopes = np.sort((y[j] - y[i]) / (x[j] - x[i]))
    nt = len(slopes)
    c = scipy_stats.norm.ppf(1 - alpha / 2) * np.sqrt(var)
    lo = max(int(np.round((nt - c) / 2)) - 1, 0)
    hi = min(int(np.round((nt + c) / 2)), nt - 1)
    return slopes[lo], slopes[hi]


def check_against_references(cli, x, y, alpha=0.05):
    x, y = np.asarray(x, float), np.asarray(y, float)
    plain = run_cli(cli, x, y, "none", alpha)
    hr = run_cli(cli, x, y, "hamed-rao", alpha)
    s, var = mk_reference(y)
    ts = scipy_stats.theilslopes(y, x, alpha=1 - alpha, method="joint")
    tau = scipy_stats.kendalltau(x, y)[0]
    for out in (plain, hr):
        assert out["n"] == len(x)
        assert out["s"] == s
        assert out["slope"] == pytest.approx(ts[0], rel=1e-12, abs=1e-300)
        assert out["intercept"] == pytest.approx(ts[1], rel=1e-9, abs=1e-12)
        if np.isnan(tau):  # constant y
            assert out["tau"] == 0
        else:
            assert out["tau"] == pytest.approx(tau, rel=1e-12, abs=1e-15)

    # plain Mann–Kendall and scipy's interval
    assert plain["var_factor"] == 1
    assert plain["var_s"] == pytest.approx(var, rel=1e-12)
    z, p = z_p(s, var)
    assert plain["z"] == pytest.approx(z, rel=1e-12, abs=1e-15)
    assert plain["p"] == pytest.approx(p, rel=1e-9, abs=1e-300)
    assert plain["direction"] == (np.sign(s) if p < alpha else 0)
    assert plain["slope_lo"] == pytest.approx(ts[2], rel=1e-12, abs=1e-300)
    assert plain["slope_hi"] == pytest.approx(ts[3], rel=1e-12, abs=1e-300)

    # Hamed–Rao
    f = hamed_rao_reference(x, y, ts[0])
    assert hr["var_factor"] == pytest.approx(f, rel=1e-9)
    assert hr["var_s"] == pytest.approx(var * f, rel=1e-9)
    z, p = z_p(s, var * f)
    assert hr["z"] == pytest.approx(z, rel=1e-9, abs=1e-15)
    assert hr["p"] == pytest.approx(p, rel=1e-7, abs=1e-300)
    assert hr["direction"] == (np.sign(s) if p < alpha else 0)
    lo, hi = sen_ci_from_var(x, y, var * f, alpha)
    assert hr["slope_lo"] == pytest.approx(lo, rel=1e-12, abs=1e-300)
    assert hr["slope_hi"] == pytest.approx(hi, rel=1e-12, abs=1e-300)
    assert hr["slope_lo"] <= plain["slope_lo"] and plain["slope_hi"] <= hr["slope_hi"]
    return plain, hr


# --------------------------------------------------------------------------------------
# fixed series
# --------------------------------------------------------------------------------------
def test_published_example(trend_cli):
    # "A Mann-Kendall Example (by hand)": S = 54, Z = 2.9058.
    y = [12.9, 14.8, 13.2, 15.7, 13.8, 15.6, 12.9, 11.0, 17.3, 15.9, 19.0, 18.3, 20.1, 21.7]
    plain, _ = check_against_references(trend_cli, np.arange(1, 15), y)
    assert plain["s"] == 54
    assert plain["z"] == pytest.approx(2.9058, abs=5e-5)


@pytest.mark.parametrize("y", [
    [1, 3, 2, 5],
    [1, 1, 2, 2, 2, 3],
    [5, 5, 5, 5, 5, 5, 5],
    [3, 2, 2, 1, 1, 1, 0, 4],
    [1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2],
], ids=["small", "ties", "constant", "falling_ties", "alternating"])
def test_fixed_series(trend_cli, y):
    check_against_references(trend_cli, np.arange(len(y)) * 60.0, y)


def test_confidence_level(trend_cli):
    rng = np.random.default_rng(5)
    x = np.cumsum(rng.uniform(1, 3, 80))
    y = 0.02 * x + rng.normal(0, 1, 80)
    for alpha in (0.01, 0.1, 0.5):
        check_against_references(trend_cli, x, y, alpha)


# --------------------------------------------------------------------------------------
# seeded random series
# --------------------------------------------------------------------------------------
def ar1(rng, n, phi, burn=200):
    e = rng.normal(size=n + burn)
    for t in range(1, len(e)):
        e[t] += phi * e[t - 1]
    return e[burn:]


CASES = [
    # (name, n, generator(rng, x) -> y, uneven times)
    ("trend", 50, lambda r, x: 0.05 * x + r.normal(0, 1, len(x)), False),
    ("trend_uneven", 120, lambda r, x: -0.01 * x + r.normal(0, 1, len(x)), True),
    ("flat", 90, lambda r, x: r.normal(0, 1, len(x)), False),
    ("flat_uneven", 200, lambda r, x: r.normal(5, 2, len(x)), True),
    ("ties", 150, lambda r, x: np.round(r.normal(0, 1, len(x)) + 0.005 * x), False),
    ("ties_heavy", 60, lambda r, x: r.integers(0, 3, len(x)).astype(float), True),
    ("ar1_flat", 240, lambda r, x: ar1(r, len(x), 0.8), False),
    ("ar1_trend", 180, lambda r, x: 0.01 * x + ar1(r, len(x), 0.6), True),
    ("sawtooth", 120, lambda r, x: (x % 17) + r.normal(0, 0.3, len(x)), False),
]


@pytest.mark.parametrize("name,n,gen,uneven", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_seeded_series(trend_cli, name, n, gen, uneven, seed):
    rng = np.random.default_rng(seed * 1000 + n)
    x = np.cumsum(rng.uniform(0.5, 20, n)) if uneven else np.arange(n) * 1.0
    check_against_references(trend_cli, x, gen(rng, x))


def test_hamed_rao_widens_on_autocorrelated_noise(trend_cli):
    rng = np.random.default_rng(99)
    x = np.arange(200.0)
    _, hr = check_against_references(trend_cli, x, ar1(rng, 200, 0.9))
    assert hr["var_factor"] > 1.5


def test_streaming_selection_against_scipy(trend_cli):
    # 2,100 points: 2,203,950 pairs, past the 2^21 kept in memory, so the order
    # statistics come from the streaming radix selection.
    rng = np.random.default_rng(2100)
    x = np.cumsum(rng.uniform(1, 10, 2100))
    y = 1e-3 * x + np.round(rng.normal(0, 1, 2100), 1)
    out = run_cli(trend_cli, x, y, "none")
    ts = scipy_stats.theilslopes(y, x, alpha=0.95, method="joint")
    assert (out["slope"], out["intercept"], out["slope_lo"], out["slope_hi"]) == \
        pytest.approx(tuple(ts), rel=1e-12)
    assert out["tau"] == pytest.approx(scipy_stats.kendalltau(x, y)[0], rel=1e-12)


# --------------------------------------------------------------------------------------
# the verdict line and bad input
# --------------------------------------------------------------------------------------
def test_describe(trend_cli):
    x = np.arange(120) * 60.0  # per minute, two hours
    y = 100 + 1.8 / 3600 * x + np.random.default_rng(4).normal(0, 0.05, 120)
    out = run_cli(trend_cli, x, y, "hamed-rao", extra=("--unit", "ms", "--per", "hour"))
    assert out["direction"] == 1
    assert out["describe"].startswith("rises 1.")
    assert out["describe"].endswith(")") and "ms per hour (95% CI " in out["describe"]
    lo, hi = out["slope_lo"] * 3600, out["slope_hi"] * 3600
    assert lo <= 1.8 <= hi
    flat = run_cli(trend_cli, x, np.full(120, 3.0), "hamed-rao", extra=("--unit", "ms"))
    assert flat["describe"] == "stable (no trend at the 5% level, p=1)"


@pytest.mark.parametrize("data", ["1 1\n2 2\n3 3\n", "1 1\n2 nan\n3 3\n4 4\n",
                                  "1 1\n1 2\n3 3\n4 4\n", "1 1\n3 2\n2 3\n4 4\n",
                                  "1 1\n2 inf\n3 3\n4 4\n"],
                         ids=["n3", "nan", "repeated_time", "unordered_time", "inf"])
def test_bad_input(trend_cli, data):
    res = subprocess.run([str(trend_cli)], input=data, capture_output=True, text=True,
                         timeout=10)
    assert res.returncode == 1
    assert "Invalid argument" in res.stderr
    assert res.stdout == ""


# --------------------------------------------------------------------------------------
# false positives (issue #11: "no false positive in 20 seeded runs ... on synthetic stable
# data"). Seeds fixed in advance (not searched): 10 white-noise and 10 AR(1) phi=0.5
# series of 60..240 points. At alpha 5% each stable series still has about a 5% (white)
# to 10% (AR(1), Hamed–Rao under-corrects short series) chance of a false detection.
# --------------------------------------------------------------------------------------
def stable_series(k):
    rng = np.random.default_rng(20261101 + k)
    n = 60 + 20 * (k % 10)
    y = rng.normal(50, 5, n) if k < 10 else 50 + 5 * ar1(rng, n, 0.5)
    return np.arange(n) * 60.0, y


def test_no_false_positive_in_20_seeded_stable_series(trend_cli):
    hits, plain_hits = [], []
    for k in range(20):
        x, y = stable_series(k)
        out = run_cli(trend_cli, x, y, "hamed-rao")
        if out["direction"] != 0:
            hits.append((k, out["p"], out["describe"]))
        if run_cli(trend_cli, x, y, "none")["direction"] != 0:
            plain_hits.append(k)
    assert hits == []
    # The correction is what keeps these quiet: uncorrected Mann–Kendall flags 5 of the
    # 10 autocorrelated series (k = 10, 12, 14, 15, 16).
    assert len(plain_hits) >= 3, plain_hits
