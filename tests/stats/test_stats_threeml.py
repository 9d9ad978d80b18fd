"""3ML log-likelihoods by hand, and the documented data-only constants to our statistics."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fluxfit.errors import DatasetError
from fluxfit.stats import (
    cash,
    chi2,
    cstat,
    get_pgstat_mu_bkg,
    get_wstat_mu_bkg,
    pgstat,
    threeml_cash_constant,
    threeml_cstat_constant,
    threeml_loglike_gaussian,
    threeml_loglike_poisson_gaussian,
    threeml_loglike_poisson_ideal_bkg,
    threeml_loglike_poisson_poisson,
    threeml_pgstat_constant,
    threeml_wstat_constant,
    wstat,
)


def xlogy_one(x: float, y: float) -> float:
    """3ML's xlogy_one: x * log(y) if x > 0 else 0."""
    return x * math.log(y) if x > 0 else 0.0


def ideal_bkg_by_hand(o: float, bkg: float, model: float) -> float:
    predicted = bkg + model
    return xlogy_one(o, predicted) - predicted - math.lgamma(o + 1)


def poisson_poisson_by_hand(o: float, b: float, alpha: float, model: float):
    """threeML poisson_observed_poisson_background, one bin, transcribed."""
    o_plus_b = o + b
    sqr = math.sqrt(
        4 * (alpha + alpha**2) * b * model + ((alpha + 1) * model - alpha * o_plus_b) ** 2
    )
    b_mle = 1 / (2.0 * alpha * (1 + alpha)) * (alpha * o_plus_b - (alpha + 1) * model + sqr)
    log_like = (
        xlogy_one(o, alpha * b_mle + model)
        + xlogy_one(b, b_mle)
        - (alpha + 1) * b_mle
        - model
        - math.lgamma(b + 1)
        - math.lgamma(o + 1)
    )
    return log_like, b_mle * alpha


def poisson_gaussian_by_hand(o: float, bkg: float, sigma: float, model: float):
    """threeML poisson_observed_gaussian_background, one bin, transcribed."""
    mb = bkg + model
    s2 = sigma * sigma
    b = 0.5 * (math.sqrt(mb * mb - 2 * s2 * (mb - 2 * o) + s2 * s2) + bkg - model - s2)
    if bkg > 0:
        log_like = (
            -((b - bkg) ** 2) / (2 * s2)
            + xlogy_one(o, b + model)
            - b
            - model
            - math.lgamma(o + 1)
            - 0.5 * math.log(2 * math.pi)
            - math.log(sigma)
        )
    else:
        log_like = xlogy_one(o, model) - model - math.lgamma(o + 1)
    return log_like, b


N_ON = np.array([0.0, 1.0, 3.0, 12.0, 0.0, 40.0, 7.0])
N_OFF = np.array([0.0, 4.0, 0.0, 20.0, 6.0, 35.0, 1.0])
BKG = np.array([0.0, 1.5, 0.8, 4.0, 2.0, 11.0, 0.0])
BKG_ERROR = np.array([0.0, 0.7, 0.5, 2.0, 1.0, 3.5, 0.0])
MODELS = [
    np.array([0.3, 0.5, 1.0, 8.0, 0.2, 30.0, 5.0]),
    np.array([2.0, 0.01, 4.0, 1.0, 3.0, 20.0, 9.0]),
    np.array([0.0, 1.0, 0.5, 15.0, 0.0, 50.0, 7.0]),
]


@pytest.mark.parametrize("model", MODELS)
def test_ideal_background_by_hand_and_cash_constant(model):
    expected = [ideal_bkg_by_hand(*v) for v in zip(N_ON, BKG, model, strict=True)]
    ours = threeml_loglike_poisson_ideal_bkg(N_ON, BKG, model)
    assert_allclose(ours, expected, rtol=1e-13)
    mu_on = BKG + model
    valid = mu_on > 0  # below the 1e-25 truncation 3ML gives -inf
    constant = threeml_cash_constant(N_ON)
    assert_allclose(constant, [-2 * math.lgamma(n + 1) for n in N_ON], rtol=1e-14)
    assert_allclose((cash(N_ON, mu_on) + 2 * ours - constant)[valid], 0.0, atol=1e-11)
    assert_allclose(
        (cstat(N_ON, mu_on) + 2 * ours - threeml_cstat_constant(N_ON))[valid], 0.0, atol=1e-11
    )
    loglike, background = threeml_loglike_poisson_ideal_bkg(
        N_ON, BKG, model, return_background=True
    )
    assert_allclose(loglike, ours)
    assert_allclose(background, BKG)


@pytest.mark.parametrize("alpha", [0.2, 1.0, 3.0])
@pytest.mark.parametrize("model", MODELS)
def test_poisson_poisson_by_hand_and_wstat_constant(model, alpha):
    by_hand = [
        poisson_poisson_by_hand(*v, alpha, m) for *v, m in zip(N_ON, N_OFF, model, strict=True)
    ]
    expected = np.array([v[0] for v in by_hand])
    ours, bkg_on = threeml_loglike_poisson_poisson(
        N_ON, N_OFF, alpha, model, return_background=True
    )
    assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)
    assert_allclose(bkg_on, [v[1] for v in by_hand], rtol=1e-10, atol=1e-12)
    assert_allclose(bkg_on, alpha * get_wstat_mu_bkg(N_ON, N_OFF, alpha, model), rtol=1e-14)
    constant = threeml_wstat_constant(N_ON, N_OFF)
    assert_allclose(wstat(N_ON, N_OFF, alpha, model), -2 * ours + constant, rtol=1e-12, atol=1e-11)
    constant_bare = threeml_wstat_constant(N_ON, N_OFF, extra_terms=False)
    assert_allclose(
        wstat(N_ON, N_OFF, alpha, model, extra_terms=False),
        -2 * ours + constant_bare,
        rtol=1e-12,
        atol=1e-11,
    )


@pytest.mark.parametrize("model", MODELS)
def test_poisson_gaussian_by_hand_and_pgstat_constant(model):
    by_hand = [poisson_gaussian_by_hand(*v) for v in zip(N_ON, BKG, BKG_ERROR, model, strict=True)]
    ours, background = threeml_loglike_poisson_gaussian(
        N_ON, BKG, BKG_ERROR, model, return_background=True
    )
    assert_allclose(ours, [v[0] for v in by_hand], rtol=1e-12, atol=1e-12)
    assert_allclose(background, [v[1] for v in by_hand], rtol=1e-10, atol=1e-12)
    assert_allclose(background, get_pgstat_mu_bkg(N_ON, model, BKG, BKG_ERROR), rtol=1e-14)
    # exact where B > 0 and sigma > 0, or B = sigma = 0 (every bin here)
    constant = threeml_pgstat_constant(N_ON, BKG, BKG_ERROR)
    assert_allclose(
        pgstat(N_ON, model, BKG, BKG_ERROR), -2 * ours + constant, rtol=1e-12, atol=1e-11
    )


def test_gaussian_loglike_is_minus_half_chi2():
    y, yerr, expectation = np.array([1.0, 2.0]), np.array([0.5, 0.1]), np.array([1.2, 1.9])
    assert_allclose(
        threeml_loglike_gaussian(y, yerr, expectation), -0.5 * chi2(y, expectation, yerr)
    )


def test_constants_do_not_depend_on_the_model():
    """stat + 2 lnL_3ML is the same number for every model (per bin)."""
    alpha = 0.4
    rng = np.random.default_rng(10)
    differences = {"cash": [], "wstat": [], "pgstat": []}
    for _ in range(5):
        model = rng.uniform(0.0, 30.0, N_ON.size)
        differences["cash"].append(
            cash(N_ON, BKG + model) + 2 * threeml_loglike_poisson_ideal_bkg(N_ON, BKG, model)
        )
        differences["wstat"].append(
            wstat(N_ON, N_OFF, alpha, model)
            + 2 * threeml_loglike_poisson_poisson(N_ON, N_OFF, alpha, model)
        )
        differences["pgstat"].append(
            pgstat(N_ON, model, BKG, BKG_ERROR)
            + 2 * threeml_loglike_poisson_gaussian(N_ON, BKG, BKG_ERROR, model)
        )
    for name, rows in differences.items():
        rows = np.array(rows)
        assert_allclose(rows, np.broadcast_to(rows[0], rows.shape), atol=1e-10, err_msg=name)


def test_batches_and_scalars():
    batch = np.stack(MODELS)
    per_row = threeml_loglike_poisson_poisson(N_ON, N_OFF, 0.5, batch)
    for row, model in enumerate(MODELS):
        assert_allclose(per_row[row], threeml_loglike_poisson_poisson(N_ON, N_OFF, 0.5, model))
    assert np.ndim(threeml_loglike_poisson_poisson(3, 4, 0.5, 1.0)) == 0
    assert np.ndim(threeml_loglike_poisson_gaussian(3, 2.0, 1.0, 1.0)) == 0
    assert_allclose(
        threeml_loglike_poisson_gaussian(3, 2.0, 1.0, 1.0),
        poisson_gaussian_by_hand(3, 2.0, 1.0, 1.0)[0],
    )


def test_threeml_branch_without_background_and_undefined_bins():
    # B <= 0: 3ML ignores the background error and uses a pure Poisson likelihood
    assert_allclose(
        threeml_loglike_poisson_gaussian([4.0], [0.0], [1.5], [2.0]),
        [xlogy_one(4.0, 2.0) - 2.0 - math.lgamma(5.0)],
    )
    assert_allclose(threeml_pgstat_constant([4.0], [0.0], [1.5]), threeml_cstat_constant([4.0]))
    # B > 0 with sigma = 0: 3ML divides by zero
    with pytest.raises(DatasetError, match="bkg_error is 0"):
        threeml_loglike_poisson_gaussian([4.0], [1.0], [0.0], [2.0])
    with pytest.raises(DatasetError, match="bkg_error is 0"):
        threeml_pgstat_constant([4.0], [1.0], [0.0])
    assert np.isnan(threeml_loglike_poisson_gaussian([4.0], [1.0], [0.0], [2.0], check=False)[0])


def test_real_counts_from_the_threeml_reference(reference_dir):
    """The simulated ON/OFF counts of 3ML's seed-000 anchor (alpha = 1, many zeros)."""
    path = reference_dir / "threeml" / "task1_multisource.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    simulation = json.loads(path.read_text())["simulation"]["s1"]
    n_on = np.array(simulation["observed_counts"], dtype=float)
    n_off = np.array(simulation["background_counts"], dtype=float)
    assert (n_off == 0).any()
    rng = np.random.default_rng(11)
    models = np.clip(n_on - n_off, 0.0, None) * rng.uniform(0.5, 1.5, (3, n_on.size))
    ours = wstat(n_on, n_off, 1.0, models)
    theirs = threeml_loglike_poisson_poisson(n_on, n_off, 1.0, models)
    for row in range(3):
        expected = [
            poisson_poisson_by_hand(o, b, 1.0, m)[0]
            for o, b, m in zip(n_on, n_off, models[row], strict=True)
        ]
        assert_allclose(theirs[row], expected, rtol=1e-12, atol=1e-10)
    assert_allclose(ours, -2 * theirs + threeml_wstat_constant(n_on, n_off), atol=1e-9)
