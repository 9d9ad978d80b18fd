"""PG-stat: profile by hand (quadratic root), numerical profiling, XSPEC closed forms."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import minimize_scalar

from fluxfit.errors import DatasetError
from fluxfit.stats import cstat, get_pgstat_mu_bkg, pgstat, pgstat_sum


def pgstat_by_hand(n: float, mu: float, bkg: float, sigma: float) -> float:
    """XSPEC pgstat with 3ML's profiled background, explicit branches per bin."""
    data_term = n * math.log(n) - n if n > 0 else 0.0
    if sigma == 0:  # exact background
        total = mu + bkg
        return 2.0 * (total - (n * math.log(total) if n > 0 else 0.0) + data_term)
    s2 = sigma * sigma
    # 3ML: b = (sqrt(MB^2 - 2 s2 (MB - 2 o) + s2^2) + B - M - s2) / 2 with MB = B + M
    mb = bkg + mu
    b = 0.5 * (math.sqrt(mb * mb - 2 * s2 * (mb - 2 * n) + s2 * s2) + bkg - mu - s2)
    total = b + mu
    if n == 0 and total <= 1e-12 * (abs(mb) + s2):  # profile on the boundary b = -mu
        return 2.0 * ((bkg + mu) ** 2 / (2.0 * s2))
    log_term = n * math.log(total) if n > 0 else 0.0
    return 2.0 * (total - log_term + (b - bkg) ** 2 / (2.0 * s2) + data_term)


def pgstat_numerically(n: float, mu: float, bkg: float, sigma: float) -> float:
    """-2 ln L minimised over b >= -mu with scipy, plus the data-only term."""
    s2 = sigma * sigma

    def minus_two_log_like(b):
        total = mu + b
        log_term = n * math.log(total) if n > 0 else 0.0
        return 2.0 * (total - log_term + (b - bkg) ** 2 / (2.0 * s2))

    lower = -mu + 1e-13
    upper = abs(bkg) + 10.0 * (n + sigma + mu + 1.0)
    fit = minimize_scalar(
        minus_two_log_like, bounds=(lower, upper), method="bounded", options={"xatol": 1e-12}
    )
    best = min(fit.fun, minus_two_log_like(lower))
    return best + (2.0 * (n * math.log(n) - n) if n > 0 else 0.0)


CASES = [
    # n_on, mu_sig, bkg_counts, bkg_error
    (12.0, 7.0, 5.0, 2.0),  # perfect model
    (12.0, 3.0, 5.0, 2.0),
    (3.0, 9.0, 6.0, 0.5),
    (0.0, 1.0, 5.0, 2.0),  # n_on = 0, B + M >= s2: XSPEC closed form
    (0.0, 0.5, 1.0, 3.0),  # n_on = 0, B + M < s2: boundary b = -M
    (0.0, 0.0, 0.0, 1.0),  # n_on = 0, B = 0, M = 0
    (4.0, 2.0, 0.0, 1.5),  # B = 0 with an error
    (4.0, 2.0, 3.0, 0.0),  # exact background
    (0.0, 2.0, 3.0, 0.0),  # exact background, n_on = 0
    (5.0, 0.0, 2.0, 1.0),  # zero signal
    (7.0, 1.0, -1.5, 2.0),  # negative background estimate
    (200.0, 150.0, 40.0, 30.0),  # large error
    (2.0, 1e-3, 1e3, 1e-2),  # tiny error
]


@pytest.mark.parametrize(("n_on", "mu", "bkg", "sigma"), CASES)
def test_pgstat_by_hand(n_on, mu, bkg, sigma):
    assert_allclose(
        pgstat(n_on, mu, bkg, sigma), pgstat_by_hand(n_on, mu, bkg, sigma), rtol=1e-9, atol=1e-9
    )


@pytest.mark.parametrize(("n_on", "mu", "bkg", "sigma"), [c for c in CASES if c[3] > 0.1])
def test_pgstat_profile_matches_numerical_maximisation(n_on, mu, bkg, sigma):
    assert_allclose(
        pgstat(n_on, mu, bkg, sigma), pgstat_numerically(n_on, mu, bkg, sigma), atol=1e-7
    )


def test_edge_cases_against_closed_forms():
    # XSPEC, S = 0: 2 (mu + B - sigma^2 / 2) when B + mu >= sigma^2; b = B - sigma^2
    assert_allclose(pgstat(0, 1.0, 5.0, 2.0), 2 * (1.0 + 5.0 - 2.0), rtol=1e-14)
    assert_allclose(get_pgstat_mu_bkg(0, 1.0, 5.0, 2.0), 5.0 - 4.0, rtol=1e-14)
    # constrained boundary: b = -mu, stat = (B + mu)^2 / sigma^2
    assert_allclose(pgstat(0, 0.5, 1.0, 3.0), 1.5**2 / 9.0, rtol=1e-14)
    assert get_pgstat_mu_bkg(0, 0.5, 1.0, 3.0) == -0.5
    # exact background equals C-stat with mu_on = mu + B
    n_on = np.array([0.0, 4.0, 9.0])
    assert_allclose(pgstat(n_on, 2.0, 3.0, 0.0), cstat(n_on, 5.0), rtol=1e-13)
    assert_allclose(get_pgstat_mu_bkg(n_on, 2.0, 3.0, 0.0), 3.0, rtol=1e-14)
    # perfect model (o = M + B, b = B) scores 0
    assert_allclose(pgstat(12.0, 7.0, 5.0, 2.0), 0.0, atol=1e-12)


def test_vectorised_and_batched_equal_scalar_cases():
    n_on, mu, bkg, sigma = (np.array(column) for column in zip(*CASES, strict=True))
    expected = np.array([pgstat_by_hand(*case) for case in CASES])
    assert_allclose(pgstat(n_on, mu, bkg, sigma), expected, rtol=1e-9, atol=1e-9)
    assert_allclose(pgstat_sum(n_on, mu, bkg, sigma), expected.sum(), rtol=1e-9)
    rng = np.random.default_rng(9)
    for n_rows in (4, 400):  # 400 x 128 is evaluated in row blocks
        data = rng.poisson(4.0, 128).astype(float)
        bkg = rng.uniform(0.0, 3.0, 128)
        error = rng.uniform(0.0, 2.0, 128)
        error[::5] = 0.0
        model = rng.uniform(0.0, 5.0, (n_rows, 128))
        per_bin = pgstat(data, model, bkg, error)
        summed = pgstat_sum(data, model, bkg, error)
        for row in range(0, n_rows, 53):
            assert_allclose(per_bin[row], pgstat(data, model[row], bkg, error[:]), rtol=1e-13)
            assert_allclose(summed[row], per_bin[row].sum(), rtol=1e-12)
        mask = rng.uniform(size=128) > 0.3
        assert_allclose(
            pgstat_sum(data, model, bkg, error, mask=mask), per_bin[:, mask].sum(-1), rtol=1e-12
        )


def test_no_warnings_on_edge_cases():
    n_on, mu, bkg, sigma = (np.array(column) for column in zip(*CASES, strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(np.isfinite(pgstat(n_on, mu, bkg, sigma)))
        assert np.all(mu + get_pgstat_mu_bkg(n_on, mu, bkg, sigma) >= 0)
        assert np.isfinite(pgstat(0.0, 0.0, 0.0, 0.0))


def test_invalid_input_raises_dataset_error():
    with pytest.raises(DatasetError, match="bkg_error must be non-negative"):
        pgstat([1.0], [1.0], [1.0], [-1.0])
    with pytest.raises(DatasetError, match="bkg_counts must be finite"):
        pgstat([1.0], [1.0], [np.nan], [1.0])
    with pytest.raises(DatasetError, match="n_on"):
        pgstat_sum([-1.0], [1.0], [1.0], [1.0])
    with pytest.raises(DatasetError, match="do not broadcast"):
        pgstat(np.ones(2), np.ones(3), 1.0, 1.0)
