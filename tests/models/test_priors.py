"""Priors: densities, CDF/PPF consistency (hypothesis) and serialisation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from fluxfit.errors import ModelError, PriorError
from fluxfit.models import (
    GaussianPrior,
    LogNormalPrior,
    LogUniformPrior,
    TruncatedGaussianPrior,
    UniformPrior,
)
from fluxfit.models.priors import prior_from_dict

PRIORS = [
    UniformPrior(-2.0, 3.0),
    LogUniformPrior(1e-3, 1e2),
    GaussianPrior(-1.0, 1.0),
    LogNormalPrior(np.log(300.0), 2.0),
    LogNormalPrior(np.log(1e-6), 1.0),
    TruncatedGaussianPrior(0.5, 2.0, 0.0, 3.0),
    TruncatedGaussianPrior(0.0, 1.0, 1.0, np.inf),
]


@pytest.mark.parametrize("prior", PRIORS, ids=repr)
def test_density_normalised(prior):
    low, high = prior.ppf(1e-12), prior.ppf(1 - 1e-12)
    # integrate in the variable where the density is smooth
    if isinstance(prior, LogNormalPrior | LogUniformPrior):
        total, _ = integrate.quad(
            lambda y: prior.pdf(np.exp(y)) * np.exp(y), np.log(low), np.log(high), limit=200
        )
    else:
        total, _ = integrate.quad(prior.pdf, low, high, limit=200)
    assert total == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("prior", PRIORS, ids=repr)
@settings(max_examples=60, deadline=None)
@given(u=st.floats(min_value=1e-9, max_value=1 - 1e-9))
def test_ppf_is_inverse_cdf(prior, u):
    x = prior.ppf(u)
    assert np.isfinite(x)
    assert prior.cdf(x) == pytest.approx(u, rel=1e-6, abs=1e-9)
    assert np.isfinite(prior.logpdf(x))


@pytest.mark.parametrize("prior", PRIORS, ids=repr)
@settings(max_examples=40, deadline=None)
@given(u1=st.floats(0.01, 0.99), u2=st.floats(0.01, 0.99))
def test_cdf_difference_is_integral_of_pdf(prior, u1, u2):
    a, b = sorted((prior.ppf(u1), prior.ppf(u2)))
    if b - a < 1e-12 * max(1.0, abs(a)):
        return
    mass, _ = integrate.quad(prior.pdf, a, b, limit=200)
    assert mass == pytest.approx(abs(u2 - u1), rel=1e-5, abs=1e-8)


def test_against_scipy_densities():
    x = np.array([0.5, 1.0, 30.0, 300.0, 5000.0])
    lognormal = LogNormalPrior(np.log(300.0), 2.0)
    ref = stats.lognorm(s=2.0, scale=300.0)
    assert np.allclose(lognormal.logpdf(x), ref.logpdf(x))
    gauss = GaussianPrior(-1.0, 1.0)
    assert np.allclose(gauss.logpdf(x), stats.norm(-1, 1).logpdf(x))
    trunc = TruncatedGaussianPrior(0.5, 2.0, 0.0, 3.0)
    ref_t = stats.truncnorm((0.0 - 0.5) / 2, (3.0 - 0.5) / 2, loc=0.5, scale=2.0)
    inside = np.array([0.1, 1.0, 2.9])
    assert np.allclose(trunc.logpdf(inside), ref_t.logpdf(inside))
    assert np.isneginf(trunc.logpdf(5.0))
    assert np.allclose(
        LogUniformPrior(1.0, 100.0).logpdf([10.0]), -np.log(10.0) - np.log(np.log(100.0))
    )


def test_outside_support_is_minus_inf_without_warnings():
    with np.errstate(all="raise"):
        assert np.isneginf(UniformPrior(0, 1).logpdf(2.0))
        assert np.isneginf(LogNormalPrior(0, 1).logpdf(0.0))
        assert np.isneginf(LogNormalPrior(0, 1).logpdf(-1.0))
        assert np.isneginf(LogUniformPrior(1, 2).logpdf(0.0))


def test_vectorised_shapes():
    prior = GaussianPrior(0, 1)
    u = np.random.default_rng(1).uniform(size=(4, 3))
    assert prior.ppf(u).shape == (4, 3)
    assert prior.logpdf(prior.ppf(u)).shape == (4, 3)


@pytest.mark.parametrize("prior", PRIORS, ids=repr)
def test_dict_round_trip(prior):
    assert prior_from_dict(prior.to_dict()) == prior


def test_invalid_priors():
    with pytest.raises(PriorError):
        GaussianPrior(0, -1)
    with pytest.raises(PriorError):
        UniformPrior(2, 1)
    with pytest.raises(PriorError):
        LogUniformPrior(0, 1)
    with pytest.raises(ModelError, match="unknown prior type"):
        prior_from_dict({"type": "Cauchy"})
    with pytest.raises(ModelError, match="unknown key"):
        prior_from_dict({"type": "GaussianPrior", "mu": 0, "sigma": 1, "nu": 3})
