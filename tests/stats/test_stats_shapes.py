"""Broadcasting: every statistic equals its scalar evaluation for all shape combinations."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fluxfit import stats

RNG = np.random.default_rng(12)
N_BINS = 6


def _data(shape):
    return RNG.poisson(3.0, shape).astype(float)


def _model(shape):
    model = RNG.uniform(0.0, 6.0, shape)
    if model.ndim:
        model[..., ::4] = 0.0
    return model


# (function, builders of its positional arguments: "data", "model", "alpha", "error")
FUNCTIONS = {
    "cash": (stats.cash, ("data", "model")),
    "cstat": (stats.cstat, ("data", "model")),
    "wstat": (stats.wstat, ("data", "data", "alpha", "model")),
    "get_wstat_mu_bkg": (stats.get_wstat_mu_bkg, ("data", "data", "alpha", "model")),
    "pgstat": (stats.pgstat, ("data", "model", "model", "error")),
    "get_pgstat_mu_bkg": (stats.get_pgstat_mu_bkg, ("data", "model", "model", "error")),
    "chi2": (stats.chi2, ("data", "model", "alpha")),
    "chi2_asymmetric": (stats.chi2_asymmetric, ("data", "model", "alpha", "alpha")),
    "upper_limit_stat": (stats.upper_limit_stat, ("model", "alpha")),
    "threeml_pp": (stats.threeml_loglike_poisson_poisson, ("data", "data", "alpha", "model")),
    "threeml_pg": (stats.threeml_loglike_poisson_gaussian, ("data", "alpha", "error", "model")),
    "threeml_ideal": (stats.threeml_loglike_poisson_ideal_bkg, ("data", "model", "model")),
}
SUMS = {
    "cash_sum": (stats.cash_sum, stats.cash),
    "cstat_sum": (stats.cstat_sum, stats.cstat),
    "wstat_sum": (stats.wstat_sum, stats.wstat),
    "pgstat_sum": (stats.pgstat_sum, stats.pgstat),
    "chi2_sum": (stats.chi2_sum, stats.chi2),
}
SHAPES = [
    # (data shape, model shape)
    ((), ()),
    ((N_BINS,), ()),
    ((), (N_BINS,)),
    ((N_BINS,), (N_BINS,)),
    ((N_BINS,), (4, N_BINS)),
    ((4, N_BINS), (N_BINS,)),
    ((4, N_BINS), (4, N_BINS)),
    ((N_BINS,), (2, 3, N_BINS)),
    ((N_BINS,), (4, 1)),
]


def _arguments(kinds, data_shape, model_shape):
    arguments = []
    for kind in kinds:
        if kind == "data":
            arguments.append(_data(data_shape))
        elif kind == "model":
            arguments.append(_model(model_shape))
        elif kind == "alpha":
            arguments.append(RNG.uniform(0.1, 2.0, data_shape))
        else:  # error, zeros allowed
            error = RNG.uniform(0.0, 2.0, data_shape)
            arguments.append(np.where(error < 0.3, 0.0, error) if error.ndim else error)
    return arguments


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize(("data_shape", "model_shape"), SHAPES)
def test_vectorised_equals_scalar_calls(name, data_shape, model_shape):
    function, kinds = FUNCTIONS[name]
    arguments = _arguments(kinds, data_shape, model_shape)
    if name == "threeml_pg":  # 3ML's branch needs bkg_error > 0 where bkg_counts > 0
        arguments[2] = arguments[2] + 0.5
    result = function(*arguments)
    shape = np.broadcast_shapes(*(np.shape(a) for a in arguments))
    assert np.shape(result) == shape
    broadcast = [np.broadcast_to(a, shape) for a in arguments]
    for index in np.ndindex(*shape):
        single = function(*(float(a[index]) for a in broadcast))
        assert np.ndim(single) == 0
        assert_allclose(np.asarray(result)[index], single, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name", sorted(SUMS))
@pytest.mark.parametrize(("data_shape", "model_shape"), SHAPES[1:])
def test_sums_equal_summed_per_bin(name, data_shape, model_shape):
    summed, per_bin = SUMS[name]
    kinds = FUNCTIONS[per_bin.__name__][1]
    arguments = _arguments(kinds, data_shape, model_shape)
    expected = np.sum(per_bin(*arguments), axis=-1)
    assert_allclose(summed(*arguments), expected, rtol=1e-12, atol=1e-11)
    expected_total = np.sum(per_bin(*arguments))
    assert_allclose(summed(*arguments, axis=None), expected_total, rtol=1e-12, atol=1e-11)


@pytest.mark.parametrize("name", sorted(SUMS))
def test_large_column_batch_against_row_data(name):
    """A (k, 1) model against (n,) data with k * 1 above the block size: direct path."""
    summed, per_bin = SUMS[name]
    kinds = FUNCTIONS[per_bin.__name__][1]
    arguments = _arguments(kinds, (N_BINS,), (40_000, 1))
    assert_allclose(summed(*arguments), per_bin(*arguments).sum(-1), rtol=1e-12, atol=1e-10)
    assert per_bin(*arguments).shape == (40_000, N_BINS)
