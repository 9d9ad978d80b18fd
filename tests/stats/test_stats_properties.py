"""Property tests (hypothesis): finiteness, positivity, minima at the analytical excess."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.optimize import minimize_scalar

from fluxfit.stats import (
    cash,
    cstat,
    get_wstat_mu_bkg,
    pgstat,
    threeml_loglike_poisson_poisson,
    threeml_wstat_constant,
    wstat,
    wstat_sum,
)

counts = st.integers(min_value=0, max_value=10_000).map(float)
small_counts = st.integers(min_value=0, max_value=200).map(float)
positive_mu = st.floats(min_value=1e-8, max_value=1e6, allow_nan=False, allow_infinity=False)
alphas = st.floats(min_value=1e-4, max_value=1e3, allow_nan=False, allow_infinity=False)
errors = st.floats(min_value=0.0, max_value=1e3, allow_nan=False, allow_infinity=False)
bins = st.integers(min_value=1, max_value=12)
SETTINGS = settings(max_examples=300, deadline=None)


def _quiet():
    catcher = warnings.catch_warnings()
    catcher.__enter__()
    warnings.simplefilter("error")
    return catcher


@SETTINGS
@given(n_on=counts, n_off=counts, alpha=alphas, mu=positive_mu, bkg=errors, sigma=errors)
def test_statistics_finite_for_counts_and_positive_predictions(n_on, n_off, alpha, mu, bkg, sigma):
    catcher = _quiet()
    try:
        assert np.isfinite(cash(n_on, mu))
        assert np.isfinite(cstat(n_on, mu))
        assert np.isfinite(wstat(n_on, n_off, alpha, mu))
        assert np.isfinite(wstat(n_on, n_off, alpha, 0.0))
        assert np.isfinite(pgstat(n_on, mu, bkg, sigma))
        assert get_wstat_mu_bkg(n_on, n_off, alpha, mu) >= 0
    finally:
        catcher.__exit__(None, None, None)


@SETTINGS
@given(n_on=counts, mu=positive_mu)
def test_cstat_non_negative_and_zero_at_data(n_on, mu):
    assert cstat(n_on, mu) >= -1e-12 * max(1.0, n_on)
    if n_on > 0:
        assert cstat(n_on, n_on) == 0.0


@SETTINGS
@given(n_on=small_counts, n_off=small_counts, alpha=st.floats(min_value=0.01, max_value=10.0))
def test_wstat_minimum_at_analytical_excess(n_on, n_off, alpha):
    excess = n_on - alpha * n_off
    best = max(excess, 0.0)
    at_best = wstat(n_on, n_off, alpha, best)
    if excess >= 0:
        assert_allclose(at_best, 0.0, atol=1e-9 * (1 + n_on + n_off))
    for step in (1e-3, 0.1, 1.0, 10.0):
        for trial in (best + step, best - step):
            if trial >= 0:
                assert wstat(n_on, n_off, alpha, trial) >= at_best - 1e-9 * (1 + n_on + n_off)
    # a numerical minimiser over mu_sig >= 0 lands on max(excess, 0)
    fit = minimize_scalar(
        lambda mu: float(wstat(n_on, n_off, alpha, mu)),
        bounds=(0.0, 2.0 * (n_on + 1.0)),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert abs(fit.x - best) < 1e-4 * (1.0 + best)


@SETTINGS
@given(
    n_on=small_counts,
    bkg=st.floats(min_value=0.0, max_value=100.0),
    sigma=st.floats(min_value=0.01, max_value=20.0),
)
def test_pgstat_zero_at_excess_and_minimum_there(n_on, bkg, sigma):
    excess = n_on - bkg
    if excess >= 0:
        assert_allclose(pgstat(n_on, excess, bkg, sigma), 0.0, atol=1e-9 * (1 + n_on))
        for step in (1e-3, 1.0):
            assert pgstat(n_on, excess + step, bkg, sigma) > 0.0


@SETTINGS
@given(
    data=st.data(),
    n_bins=bins,
    n_rows=st.integers(min_value=1, max_value=5),
    alpha=alphas,
)
def test_batch_equals_loop_and_threeml_relation(data, n_bins, n_rows, alpha):
    n_on = np.array(data.draw(st.lists(small_counts, min_size=n_bins, max_size=n_bins)))
    n_off = np.array(data.draw(st.lists(small_counts, min_size=n_bins, max_size=n_bins)))
    mu = np.array(
        data.draw(
            st.lists(
                st.lists(st.floats(min_value=0.0, max_value=1e3), min_size=n_bins, max_size=n_bins),
                min_size=n_rows,
                max_size=n_rows,
            )
        )
    )
    per_bin = wstat(n_on, n_off, alpha, mu)
    summed = wstat_sum(n_on, n_off, alpha, mu)
    constant = threeml_wstat_constant(n_on, n_off)
    for row in range(n_rows):
        single = wstat(n_on, n_off, alpha, mu[row])
        assert_allclose(per_bin[row], single, rtol=1e-13, atol=1e-13)
        assert_allclose(summed[row], single.sum(), rtol=1e-11, atol=1e-9)
        log_like = threeml_loglike_poisson_poisson(n_on, n_off, alpha, mu[row])
        scale = 1.0 + np.abs(constant) + np.abs(log_like)
        assert np.all(np.abs(single - (-2 * log_like + constant)) <= 1e-11 * scale)
