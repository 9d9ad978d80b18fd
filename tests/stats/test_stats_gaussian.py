"""Chi-square statistics, Gammapy's flux-point upper-limit term, and sign conventions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fluxfit.errors import DatasetError
from fluxfit.stats import (
    chi2,
    chi2_asymmetric,
    chi2_sum,
    log_posterior,
    log_prior_sum,
    loglike_to_stat,
    prior_stat,
    stat_to_loglike,
    upper_limit_stat,
)


def test_chi2_by_hand_and_batches():
    data = np.array([1.0, 2.0, 4.0])
    model = np.array([[1.5, 2.0, 3.0], [0.0, 0.0, 0.0]])
    error = np.array([0.5, 1.0, 2.0])
    expected = [
        [((d - m) / e) ** 2 for d, m, e in zip(data, row, error, strict=True)] for row in model
    ]
    assert_allclose(chi2(data, model, error), expected, rtol=1e-15)
    assert_allclose(chi2_sum(data, model, error), np.sum(expected, axis=1), rtol=1e-15)
    assert_allclose(chi2_sum(data, model, error, mask=np.array([True, False, True])), [1.25, 8.0])
    assert np.ndim(chi2(1.0, 2.0, 0.5)) == 0


def test_chi2_asymmetric_chooses_error_by_side():
    data = np.array([1.0, 1.0, 1.0])
    model = np.array([1.2, 1.0, 0.7])
    errn = np.array([0.1, 0.1, 0.3])
    errp = np.array([0.4, 0.5, 0.6])
    # model >= data uses errp (also at equality), model < data uses errn
    expected = [(0.2 / 0.4) ** 2, 0.0, (0.3 / 0.3) ** 2]
    assert_allclose(chi2_asymmetric(data, model, errn, errp), expected, rtol=1e-14)
    # NaN asymmetric errors fall back to the symmetric one
    errp_nan = np.array([np.nan, 0.5, 0.6])
    assert_allclose(
        chi2_asymmetric(data, model, errn, errp_nan, err=0.2), [1.0, 0.0, 1.0], rtol=1e-14
    )
    batch = np.stack([model, data])
    assert_allclose(chi2_asymmetric(data, batch, errn, errp), [expected, [0, 0, 0]], rtol=1e-14)


def test_upper_limit_term_matches_gammapy_formula():
    model = np.array([0.0, 0.5, 1.0, 1.5, 3.0, 10.0, -0.5])
    ul = 1.5
    expected = [
        2 * math.log((math.erfc((ul - m) / ul) / 2) / (math.erfc((ul - 0) / ul) / 2)) for m in model
    ]
    assert_allclose(upper_limit_stat(model, ul), expected, rtol=1e-13, atol=1e-14)
    assert upper_limit_stat(0.0, 2.0) == 0.0
    # stays finite far below the limit, where erfc underflows
    assert np.isfinite(upper_limit_stat(-1e3, 1.0))
    assert_allclose(
        upper_limit_stat(1.0, 1.5, scale=0.5), 2 * math.log(math.erfc(1) / math.erfc(3))
    )


def test_gammapy_flux_points_statistic():
    """Gammapy's Chi2AsymmetricErrorFitStatistic on its MockFluxPointsDataset: 5.798344."""
    norm = np.array([1.1, 0.9, 1.2, 0.8])
    errn = np.array([0.1, 0.1, 0.2, 0.2])
    errp = np.array([0.1, 0.1, 0.1, 0.1])
    is_ul = np.array([False, False, False, True])
    pred = np.ones(4)
    stat = np.where(is_ul, upper_limit_stat(pred, 1.5), chi2_asymmetric(norm, pred, errn, errp))
    assert_allclose(stat.sum(), 5.798344, rtol=1e-6)
    assert_allclose(stat[[0, 1, 3]].sum(), 4.798344, rtol=1e-6)
    assert_allclose(chi2_sum(norm, pred, [0.1, 0.1, 0.2, 0.2]), 4.0, rtol=1e-13)


def test_sign_conventions():
    log_pdf = np.array([[-1.0, -0.5, 0.25], [-2.0, -np.inf, 0.0]])
    assert_allclose(log_prior_sum(log_pdf), [-1.25, -np.inf])
    assert_allclose(log_prior_sum(log_pdf, axis=None), -np.inf)
    assert_allclose(prior_stat(log_pdf), [2.5, np.inf])
    assert stat_to_loglike(10.0) == -5.0
    assert loglike_to_stat(-5.0) == 10.0
    stat = np.array([4.0, 6.0])
    assert_allclose(log_posterior(stat, log_prior_sum(log_pdf)), [-3.25, -np.inf])
    # MAP: stat + prior_stat = -2 (ln L + ln prior)
    assert_allclose(
        stat + prior_stat(log_pdf[:1]), -2 * log_posterior(stat, log_prior_sum(log_pdf[:1]))
    )


def test_invalid_errors_raise():
    with pytest.raises(DatasetError, match="error must be positive"):
        chi2([1.0], [1.0], [0.0])
    with pytest.raises(DatasetError, match="errn"):
        chi2_asymmetric([1.0], [1.0], [np.nan], [1.0])
    with pytest.raises(DatasetError, match="do not broadcast"):
        chi2(np.ones(2), np.ones(3), 1.0)
