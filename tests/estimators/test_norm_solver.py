"""The vectorised norm solver against brute-force one-dimensional minimisation.

Random groups mix Cash and W-stat channels, zero counts, zero OFF counts, zero
other prediction and tiny sources (negative best-fit norms); the references are
scipy's scalar minimiser and root finder on Gammapy's formulas evaluated
independently here.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from fluxfit.estimators.norm_solver import NormProblem, find_norm_crossing, minimize_norm
from fluxfit.stats import cash_sum


def gammapy_wstat_sum(n_on, n_off, alpha, mu_sig):
    """Gammapy 2.1's ``wstat`` summed (any sign of ``mu_sig``)."""
    c = alpha * (n_on + n_off) - (1 + alpha) * mu_sig
    d = np.sqrt(np.maximum(c**2 + 4 * alpha * (alpha + 1) * n_off * mu_sig, 0))
    mu_bkg = (c + d) / (2 * alpha * (alpha + 1))
    with np.errstate(all="ignore"):
        t2 = np.where(n_on == 0, 0, -n_on * np.log(mu_sig + alpha * mu_bkg))
        t3 = np.where(n_off == 0, 0, -n_off * np.log(mu_bkg))
        gof = 2 * (
            np.where(n_on > 0, n_on * np.log(n_on), 0)
            - n_on
            + np.where(n_off > 0, n_off * np.log(n_off), 0)
            - n_off
        )
    return float(np.sum(2 * (mu_sig + (1 + alpha) * mu_bkg + t2 + t3) + gof))


def random_problem(seed, n_groups):
    rng = np.random.default_rng(seed)
    problem = NormProblem(n_groups)
    functions = []
    for g in range(n_groups):
        m = int(rng.integers(1, 10))
        s = rng.uniform(0, 5, m) * rng.choice([0.01, 1, 10])
        b = rng.uniform(0, 3, m) * rng.choice([0, 1])
        n = rng.poisson(s * rng.uniform(0, 2) + b).astype(float)
        if rng.uniform() < 0.5:
            problem.add_cash(np.full(m, g), n, s, b)
            functions.append(lambda x, n=n, s=s, b=b: float(cash_sum(n, x * s + b)))
        else:
            alpha = rng.uniform(0.05, 1, m)
            n_off = rng.poisson(rng.uniform(0, 20, m)).astype(float)
            problem.add_wstat(np.full(m, g), n, n_off, alpha, s, b)
            functions.append(
                lambda x, n=n, s=s, b=b, o=n_off, a=alpha: gammapy_wstat_sum(n, o, a, x * s + b)
            )
    problem.finalize()
    return problem, functions


@pytest.mark.parametrize("seed", [1, 2])
def test_random_groups_against_brute_force(seed):
    problem, functions = random_problem(seed, 200)
    best = minimize_norm(problem)
    assert best.success.all()
    up = find_norm_crossing(problem, best, 1.0, +1)
    down = find_norm_crossing(problem, best, 1.0, -1)
    ul = find_norm_crossing(problem, best, 4.0, +1)
    for g, f in enumerate(functions):
        x = best.x[g]
        assert best.f[g] == pytest.approx(f(x), rel=1e-10, abs=1e-9)
        scale = max(abs(x), best.error[g] if np.isfinite(best.error[g]) else 1.0, 1e-3)
        ref = optimize.minimize_scalar(
            f, bounds=(x - 10 * scale, x + 10 * scale), method="bounded", options={"xatol": 1e-10}
        )
        assert best.f[g] <= ref.fun + 1e-7
        for step in (1e-6, 1e-3, 0.1, 1.0):
            assert best.f[g] <= f(x + step * scale) + 1e-8
            assert best.f[g] <= f(x - step * scale) + 1e-8
        for root, delta in ((up[g], 1.0), (down[g], 1.0), (ul[g], 4.0)):
            if np.isfinite(root):
                assert f(root) - best.f[g] == pytest.approx(delta, abs=1e-6)
        assert np.isfinite(up[g]) and np.isfinite(ul[g])


def test_poisson_closed_forms():
    """One Cash channel without background: norm = n/s, error = norm/sqrt(n)."""
    problem = NormProblem(3)
    problem.add_cash([0, 1, 2], [1.0, 4.0, 100.0], [2.0, 2.0, 50.0], [0.0, 0.0, 0.0])
    problem.finalize()
    best = minimize_norm(problem)
    assert best.x == pytest.approx([0.5, 2.0, 2.0], rel=1e-12)
    assert best.error == pytest.approx(best.x / np.sqrt([1.0, 4.0, 100.0]), rel=1e-9)


def test_bounds_and_missing_groups():
    problem = NormProblem(4, n_datasets=2)
    # group 0: best fit 2, group 1: source predicts nothing, group 2: empty, group 3: best 0.5
    problem.add_cash([0, 0], [4.0, 4.0], [1.0, 1.0], [1.0, 1.0], dataset=0)
    problem.add_cash([1], [3.0], [0.0], [2.0], dataset=1)
    problem.add_wstat([3], [6.0], [8.0], [0.5], [4.0], [0.0], dataset=1)
    problem.finalize()
    best = minimize_norm(problem)
    assert best.x[0] == pytest.approx(3.0)
    assert best.x[3] == pytest.approx(0.5)
    assert not best.success[1] and not best.success[2]
    assert np.isnan(best.x[1:3]).all()
    bounded = minimize_norm(problem, lower=[3.5, 0, 0, 0], upper=[10, 1, 1, 0.2])
    assert bounded.x[0] == 3.5 and bounded.x[3] == 0.2
    # the lower bound stops the downward search: no crossing above it
    assert np.isnan(find_norm_crossing(problem, bounded, 1.0, -1, limit=[3.4, 0, 0, 0])[0])
    counts = problem.per_dataset(np.nan_to_num(best.x), "counts")
    assert counts.tolist() == [[8.0, 0.0], [0.0, 3.0], [0.0, 0.0], [0.0, 6.0]]
    npred = problem.per_dataset(best.x, "npred")
    # Cash: 3 * 1 + 1 per channel; W-stat: saturated (mu_on = n_on)
    assert npred[0, 0] == pytest.approx(8.0)
    assert npred[3, 1] == pytest.approx(6.0)


def test_zero_counts_plateau():
    """No counts, no background: the Cash statistic is flat below norm 0; best fit at ~0."""
    problem = NormProblem(1)
    problem.add_cash([0, 0], [0.0, 0.0], [1.0, 3.0], [0.0, 0.0])
    problem.finalize()
    best = minimize_norm(problem)
    assert best.success[0]
    assert abs(best.x[0]) < 1e-9
    up = find_norm_crossing(problem, best, 4.0, +1)
    assert up[0] == pytest.approx(4.0 / (2 * 4.0))  # 2 * x * sum(s) = 4
    assert np.isnan(find_norm_crossing(problem, best, 1.0, -1)[0])


def test_scan_shape_and_values():
    problem, functions = random_problem(3, 5)
    values = np.geomspace(0.2, 5, 11)
    scan = problem.value(np.broadcast_to(values, (5, 11)).copy())
    assert scan.shape == (5, 11)
    for g, f in enumerate(functions):
        assert scan[g] == pytest.approx([f(v) for v in values], rel=1e-10)


def test_wstat_negative_excess():
    """No ON counts: the W-stat minimum is at signal = -alpha * n_off (mu_on = 0)."""
    problem = NormProblem(1)
    problem.add_wstat([0], [0.0], [10.0], [0.2], [1.0], [0.0])
    problem.finalize()
    best = minimize_norm(problem)
    assert best.x[0] == pytest.approx(-2.0, rel=1e-8)
    f = lambda x: gammapy_wstat_sum(np.array([0.0]), np.array([10.0]), 0.2, np.array([x]))  # noqa: E731
    assert best.f[0] == pytest.approx(f(-2.0))
    d1 = (f(-2.0 + 1e-4) - f(-2.0 - 1e-4)) / 2e-4
    assert abs(d1) < 1e-6


def test_finalize_required():
    problem = NormProblem(1)
    with pytest.raises(RuntimeError, match="finalize"):
        problem.value(np.zeros(1))
    problem.add_cash([1], [1.0], [1.0], [0.0])
    with pytest.raises(ValueError, match="group indices"):
        problem.finalize()


@pytest.mark.parametrize("kind", ["cash", "wstat"])
def test_empty_channels_summed_per_group(kind):
    """Sparse maps: empty channels are summed per group where linear, exact elsewhere."""
    rng = np.random.default_rng(5)
    n_groups, size = 3, 3000
    group = rng.integers(0, n_groups, size)
    s = rng.uniform(0, 0.02, size)
    s[:50] = 0.0  # channels the source does not reach
    b = rng.uniform(0, 0.05, size)
    counts = rng.poisson(s + b).astype(float)
    problem = NormProblem(n_groups)
    if kind == "cash":
        problem.add_cash(group, counts, s, b)
    else:
        n_off = rng.poisson(b / 0.2).astype(float)
        problem.add_wstat(group, counts, n_off, 0.2, s, b)
    problem.finalize()
    assert any(type(t).__name__ == "_LinearTerms" for t in problem._fast_terms)

    def exact(g, x):
        sel = group == g
        mu = x * s[sel] + b[sel]
        if kind == "cash":
            return float(cash_sum(counts[sel], mu))
        return gammapy_wstat_sum(counts[sel], n_off[sel], 0.2, mu)

    xs = np.array([[-30.0, -1.0, 0.0, 0.7, 3.0]] * n_groups)
    values, d1, _ = problem.evaluate(xs)
    for g in range(n_groups):
        for j, x in enumerate(xs[g]):
            assert values[g, j] == pytest.approx(exact(g, x), rel=1e-10, abs=1e-8)
            h = 1e-6
            numeric = (exact(g, x + h) - exact(g, x - h)) / (2 * h)
            assert d1[g, j] == pytest.approx(numeric, rel=1e-4, abs=1e-4)
    best = minimize_norm(problem)
    for g in range(n_groups):
        for step in (1e-3, 0.1):
            assert best.f[g] <= exact(g, best.x[g] + step) + 1e-8
            assert best.f[g] <= exact(g, best.x[g] - step) + 1e-8


def test_dataset_arrays_reduce_pixels():
    """Summing a map's pixels (a region spectrum): counts inside mask_safe, OFF-weighted alpha."""
    from fluxfit.estimators.core import DatasetArrays, add_group

    shape = (2, 3)
    arrays = DatasetArrays(
        name="toy",
        stat_type="wstat",
        energy_axis=None,
        counts=np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
        npred_source=np.ones(shape),
        npred_other=np.zeros(shape),
        mask=np.array([[True, True, False], [True, True, True]]),
        mask_safe=np.array([[True, True, False], [True, True, True]]),
        mask_fit=None,
        counts_off=np.array([[10.0, 0.0, 5.0], [2.0, 2.0, 2.0]]),
        alpha=np.array([[0.1, 0.5, 0.2], [0.2, 0.4, 0.6]]),
    )
    region = arrays.reduce_pixels([1.0, 1.0, 1.0])
    assert region.counts[:, 0].tolist() == [3.0, 15.0]
    assert region.npred_source[:, 0].tolist() == [2.0, 3.0]
    assert region.counts_off[:, 0].tolist() == [10.0, 6.0]
    assert region.alpha[:, 0] == pytest.approx([0.1, 0.4])
    assert region.mask[:, 0].tolist() == [True, True]
    problem = NormProblem(1)
    assert add_group(problem, 0, 0, region, slice(0, 2))
    problem.finalize()
    assert problem.per_dataset(np.ones(1), "counts")[0, 0] == 18.0
    # summed over the energy group: one bin per pixel
    problem = NormProblem(1)
    assert add_group(problem, 0, 0, arrays, slice(0, 2), sum_over_energy_groups=True)
    problem.finalize()
    assert problem.per_dataset(np.ones(1), "counts")[0, 0] == 1 + 4 + 2 + 5 + 6
