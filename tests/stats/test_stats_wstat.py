"""W-statistic: XSPEC-appendix branches by hand, numerical profiling, Gammapy's numbers."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import minimize_scalar

from fluxfit.errors import DatasetError
from fluxfit.stats import (
    cash,
    cstat,
    get_wstat_gof_terms,
    get_wstat_mu_bkg,
    wstat,
    wstat_sum,
)

# Gammapy's test data and reference values (gammapy/stats/tests/test_fit_statistics.py)
GAMMAPY_DATA = dict(
    mu_sig=[
        0.59752422,
        9.13666449,
        12.98288095,
        5.56974565,
        13.52509804,
        11.81725635,
        0.47963765,
        11.17708176,
        5.18504894,
        8.30202394,
    ],
    n_on=[0, 13, 7, 5, 11, 16, 0, 9, 3, 12],
    n_off=[0, 7, 4, 0, 18, 7, 1, 5, 12, 25],
    alpha=[
        0.83746243,
        0.17003354,
        0.26034507,
        0.69197751,
        0.89557033,
        0.34068848,
        0.0646732,
        0.86411967,
        0.29087245,
        0.74108241,
    ],
)
GAMMAPY_WSTAT = [
    1.19504844,
    0.625311794002,
    4.25810886127,
    0.0603765381044,
    11.7285002468,
    0.206014834301,
    1.084611,
    2.72972381792,
    4.60602990838,
    7.51658734973,
]


def wstat_by_hand(n_on: float, n_off: float, alpha: float, mu: float) -> float:
    """XSPEC appendix (Poisson data with Poisson background), explicit branches.

    In XSPEC's notation t_s m = mu, t_b f = mu_bkg, t_s / t_b = alpha, S = n_on, B = n_off.
    """
    if n_on == 0:
        return 2.0 * (mu + n_off * math.log(1.0 + alpha))
    if n_off == 0:
        if mu < n_on * alpha / (1.0 + alpha):
            return -2.0 * (mu / alpha + n_on * math.log(alpha / (1.0 + alpha)))
        return 2.0 * (mu + n_on * (math.log(n_on) - math.log(mu) - 1.0))
    c = alpha * (n_on + n_off) - (1.0 + alpha) * mu
    d = math.sqrt(c * c + 4.0 * alpha * (alpha + 1.0) * n_off * mu)
    mu_bkg = (c + d) / (2.0 * alpha * (alpha + 1.0))
    return 2.0 * (
        mu
        + (1.0 + alpha) * mu_bkg
        - n_on * math.log(mu + alpha * mu_bkg)
        - n_off * math.log(mu_bkg)
        - n_on * (1.0 - math.log(n_on))
        - n_off * (1.0 - math.log(n_off))
    )


def mu_bkg_by_hand(n_on: float, n_off: float, alpha: float, mu: float) -> float:
    if n_on == 0:
        return n_off / (1.0 + alpha)
    if n_off == 0:
        threshold = n_on * alpha / (1.0 + alpha)
        return n_on / (1.0 + alpha) - mu / alpha if mu < threshold else 0.0
    c = alpha * (n_on + n_off) - (1.0 + alpha) * mu
    d = math.sqrt(c * c + 4.0 * alpha * (alpha + 1.0) * n_off * mu)
    return (c + d) / (2.0 * alpha * (alpha + 1.0))


def profiled_numerically(n_on: float, n_off: float, alpha: float, mu: float) -> float:
    """-2 ln L minimised over mu_bkg >= 0 with scipy, plus the data-only terms."""

    def minus_two_log_like(mu_bkg):
        on = mu + alpha * mu_bkg
        value = on + mu_bkg
        value -= n_on * math.log(on) if n_on else 0.0
        value -= n_off * math.log(mu_bkg) if n_off else 0.0
        return 2.0 * value

    upper = 10.0 * (n_on + n_off + 1.0) / alpha
    fit = minimize_scalar(
        minus_two_log_like, bounds=(1e-12, upper), method="bounded", options={"xatol": 1e-12}
    )
    best = min(fit.fun, minus_two_log_like(1e-12))
    gof = sum(2.0 * (n * math.log(n) - n) for n in (n_on, n_off) if n > 0)
    return best + gof


# every corner of the XSPEC appendix, plus generic bins and extreme alphas
CASES = [
    # n_on, n_off, alpha, mu_sig
    (0.0, 5.0, 0.5, 2.3),  # n_on = 0
    (0.0, 0.0, 0.3, 1.7),  # n_on = n_off = 0
    (0.0, 0.0, 0.3, 0.0),  # ... and no signal
    (0.0, 4.0, 0.3, 0.0),  # n_on = 0, no signal
    (9.0, 0.0, 0.5, 2.3),  # n_off = 0, mu < n_on alpha / (1 + alpha) = 3
    (5.0, 0.0, 0.5, 5.3),  # n_off = 0, mu >= threshold
    (6.0, 0.0, 0.5, 2.0),  # n_off = 0, mu exactly at the threshold
    (9.0, 0.0, 0.5, 0.0),  # n_off = 0, zero signal
    (12.0, 20.0, 0.2, 0.0),  # zero signal
    (12.0, 20.0, 0.2, 8.0),  # saturated: mu = n_on - alpha n_off
    (3.0, 17.0, 0.1, 9.5),  # over-predicted
    (40.0, 3.0, 2.0, 31.0),
    (7.0, 1.0e4, 1e-4, 5.0),  # small alpha
    (4.0, 2.0, 50.0, 0.4),  # large alpha
    (1.0, 1.0, 1e-8, 1e-3),
]


@pytest.mark.parametrize(("n_on", "n_off", "alpha", "mu"), CASES)
def test_wstat_by_hand_every_branch(n_on, n_off, alpha, mu):
    expected = wstat_by_hand(n_on, n_off, alpha, mu)
    assert_allclose(wstat(n_on, n_off, alpha, mu), expected, rtol=1e-11, atol=1e-11)
    assert_allclose(
        get_wstat_mu_bkg(n_on, n_off, alpha, mu),
        mu_bkg_by_hand(n_on, n_off, alpha, mu),
        rtol=1e-9,
        atol=1e-12 * (n_on + n_off + 1.0),
    )


@pytest.mark.parametrize(("n_on", "n_off", "alpha", "mu"), [c for c in CASES if c[2] > 1e-3])
def test_wstat_profile_matches_numerical_maximisation(n_on, n_off, alpha, mu):
    assert_allclose(
        wstat(n_on, n_off, alpha, mu), profiled_numerically(n_on, n_off, alpha, mu), atol=1e-7
    )


def test_wstat_vectorised_cases_equal_scalar_cases():
    n_on, n_off, alpha, mu = (np.array(column) for column in zip(*CASES, strict=True))
    expected = [wstat_by_hand(*case) for case in CASES]
    assert_allclose(wstat(n_on, n_off, alpha, mu), expected, rtol=1e-11, atol=1e-11)
    assert_allclose(wstat_sum(n_on, n_off, alpha, mu), sum(expected), rtol=1e-11)


def test_gammapy_reference_values():
    d = GAMMAPY_DATA
    stat = wstat(d["n_on"], d["n_off"], d["alpha"], d["mu_sig"])
    assert_allclose(stat, GAMMAPY_WSTAT, rtol=1e-7)
    # gammapy test_wstat_corner_cases
    assert_allclose(wstat(0, 5, 0.5, 2.3), 2 * (2.3 + 5 * np.log(1.5)))
    assert_allclose(get_wstat_mu_bkg(9, 0, 0.5, 2.3), 9 / 1.5 - 2.3 / 0.5)
    assert get_wstat_mu_bkg(5, 0, 0.5, 5.3) == 0.0
    # gammapy WStatFitStatistic on MockMapDatasetOnOff, with and without mask
    args = ([3, 6, 9], [10, 10, 30], [0.1, 0.2, 0.1], [1.0, 2.0, 3.0])
    assert_allclose(wstat_sum(*args), 2.4088762929, rtol=1e-9)
    mask = np.array([True, False, True])
    assert_allclose(wstat_sum(*args, mask=mask), 1.63526008301, rtol=1e-9)
    assert wstat_sum(*args, mask=np.zeros(3, bool)) == 0.0


def test_gof_terms_and_extra_terms_switch():
    n_on = np.array([0.0, 3.0, 10.0])
    n_off = np.array([4.0, 0.0, 12.0])
    expected = [
        2 * (n * math.log(n) - n if n else 0.0) + 2 * (m * math.log(m) - m if m else 0.0)
        for n, m in zip(n_on, n_off, strict=True)
    ]
    assert_allclose(get_wstat_gof_terms(n_on, n_off), expected, rtol=1e-14)
    mu = np.array([0.3, 2.0, 6.0])
    with_terms = wstat(n_on, n_off, 0.4, mu)
    without = wstat(n_on, n_off, 0.4, mu, extra_terms=False)
    assert_allclose(with_terms - without, expected, rtol=1e-12, atol=1e-12)
    # precomputed terms (per bin, or already summed for wstat_sum) give the same numbers
    gof = get_wstat_gof_terms(n_on, n_off)
    assert_allclose(wstat(n_on, n_off, 0.4, mu, extra_terms=gof), with_terms, rtol=1e-14)
    assert_allclose(wstat_sum(n_on, n_off, 0.4, mu, extra_terms=gof), with_terms.sum())
    assert_allclose(wstat_sum(n_on, n_off, 0.4, mu, extra_terms=gof.sum()), with_terms.sum())
    assert_allclose(wstat_sum(n_on, n_off, 0.4, mu, extra_terms=False), without.sum())
    mask = np.array([True, False, True])
    assert_allclose(
        wstat_sum(n_on, n_off, 0.4, mu, mask=mask, extra_terms=gof), with_terms[mask].sum()
    )


def test_given_mu_bkg_is_used():
    n_on, n_off, alpha, mu = 7.0, 9.0, 0.3, 2.0
    mu_bkg = get_wstat_mu_bkg(n_on, n_off, alpha, mu)
    assert_allclose(wstat(n_on, n_off, alpha, mu, mu_bkg=mu_bkg), wstat(n_on, n_off, alpha, mu))
    assert wstat(n_on, n_off, alpha, mu, mu_bkg=1.2 * mu_bkg) > wstat(n_on, n_off, alpha, mu)


def test_saturated_model_scores_zero():
    rng = np.random.default_rng(7)
    n_off = rng.poisson(20.0, 50).astype(float)
    alpha = rng.uniform(0.05, 0.5, 50)
    n_on = np.ceil(alpha * n_off) + rng.poisson(5.0, 50)
    excess = n_on - alpha * n_off
    assert_allclose(wstat(n_on, n_off, alpha, excess), 0.0, atol=1e-9)
    assert_allclose(get_wstat_mu_bkg(n_on, n_off, alpha, excess), n_off, rtol=1e-9)


def test_approaches_cash_with_known_background():
    """n_off -> infinity, alpha -> 0 with alpha * n_off = b fixed: W -> C-stat(n, mu + b)."""
    n_on = np.array([0.0, 3.0, 10.0, 1.0])
    background = np.array([1.0, 2.5, 4.0, 0.2])
    mu = np.array([0.5, 1.0, 6.0, 0.0])
    offset = cstat(n_on, mu + background) - cash(n_on, mu + background)
    previous = np.inf
    for alpha in (1e-2, 1e-4, 1e-6):
        w = wstat(n_on, background / alpha, alpha, mu)
        distance = np.max(np.abs(w - cstat(n_on, mu + background)))
        assert distance < 20 * alpha
        assert distance < previous
        previous = distance
        assert_allclose(w - cash(n_on, mu + background), offset, atol=20 * alpha)


def test_batch_broadcasting_equals_loop_and_blocks():
    rng = np.random.default_rng(8)
    n_on = rng.poisson(3.0, 128).astype(float)
    n_off = rng.poisson(6.0, 128).astype(float)
    alpha = rng.uniform(0.1, 0.5, 128)
    for n_rows in (5, 600):  # 600 x 128 is evaluated in row blocks
        mu = rng.uniform(0.0, 6.0, (n_rows, 128))
        mu[:, ::9] = 0.0
        per_bin = wstat(n_on, n_off, alpha, mu)
        summed = wstat_sum(n_on, n_off, alpha, mu)
        assert per_bin.shape == (n_rows, 128)
        assert summed.shape == (n_rows,)
        for row in range(0, n_rows, 37):
            assert_allclose(per_bin[row], wstat(n_on, n_off, alpha, mu[row]), rtol=1e-14)
            assert_allclose(summed[row], wstat(n_on, n_off, alpha, mu[row]).sum(), rtol=1e-12)
    assert_allclose(wstat_sum(n_on, n_off, alpha, mu, axis=None), per_bin.sum(), rtol=1e-12)
    column = (n_on[:, None], n_off[:, None], alpha[:, None])
    assert_allclose(wstat_sum(*column, mu.T, axis=0), per_bin.sum(axis=1), rtol=1e-12)
    assert_allclose(wstat_sum(n_on, n_off, 0.3, mu[:3]), wstat(n_on, n_off, 0.3, mu[:3]).sum(-1))
    mask_2d = rng.uniform(size=mu.shape) > 0.5
    assert_allclose(
        wstat_sum(n_on, n_off, alpha, mu, mask=mask_2d), (per_bin * mask_2d).sum(-1), rtol=1e-12
    )


def test_no_warnings_on_edge_cases():
    n_on, n_off, alpha, mu = (np.array(column) for column in zip(*CASES, strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(np.isfinite(wstat(n_on, n_off, alpha, mu)))
        assert np.all(np.isfinite(wstat_sum(n_on, n_off, alpha, np.stack([mu, 0 * mu]))))
        assert np.all(get_wstat_mu_bkg(n_on, n_off, alpha, mu) >= 0)


def test_extreme_predictions_stay_finite():
    # C + D cancels for huge mu_sig; mu_bkg stays >= 0 and the statistic finite
    stat = wstat([3.0, 0.0, 5.0], [2.0, 1.0, 0.0], 0.5, [1e12, 1e15, 1e14])
    assert np.all(np.isfinite(stat))
    assert np.all(get_wstat_mu_bkg([3.0, 0.0], [2.0, 1.0], 0.5, [1e12, 1e15]) >= 0)


def test_invalid_input_raises_dataset_error():
    with pytest.raises(DatasetError, match="alpha must be positive"):
        wstat([1.0], [1.0], 0.0, [1.0])
    with pytest.raises(DatasetError, match="alpha"):
        wstat([1.0], [1.0], [np.inf], [1.0])
    with pytest.raises(DatasetError, match="n_off must be non-negative"):
        wstat_sum([1.0], [-2.0], 0.1, [1.0])
    with pytest.raises(DatasetError, match="do not broadcast"):
        wstat(np.ones(3), np.ones(3), 0.1, np.ones((2, 4)))
    with pytest.raises(DatasetError, match="do not broadcast"):
        wstat_sum(np.ones(3), np.ones(4), 0.1, np.ones(3))
