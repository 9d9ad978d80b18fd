"""Cash and C-stat: hand computations, Gammapy's reference numbers, batches, masks, errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fluxfit.errors import DatasetError
from fluxfit.stats import (
    TRUNCATION_VALUE,
    cash,
    cash_sum,
    cstat,
    cstat_cash_offset,
    cstat_sum,
)

# Gammapy's own test data and reference values (gammapy/stats/tests/test_fit_statistics.py,
# "produced using sherpa stats module"); also used in test_stats_wstat.py.
GAMMAPY_MU_SIG = [
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
]
GAMMAPY_N_ON = [0, 13, 7, 5, 11, 16, 0, 9, 3, 12]
GAMMAPY_CASH = [
    1.19504844,
    -39.24635098872072,
    -9.925081055136996,
    -6.034002586236575,
    -30.249839537105466,
    -55.39143500383233,
    0.9592753,
    -21.095413867175516,
    0.49542219758430406,
    -34.19193611846045,
]
GAMMAPY_CSTAT = [
    1.19504844,
    1.4423323052792387,
    3.3176610316373925,
    0.06037653810442922,
    0.5038564644586838,
    1.3314041078406706,
    0.9592753,
    0.4546285248764317,
    1.0870959295929628,
    1.4458234764515652,
]


def cash_by_hand(n: float, mu: float) -> float:
    mu = TRUNCATION_VALUE if mu <= TRUNCATION_VALUE else mu
    return 2.0 * (mu - n * math.log(mu))


def cstat_by_hand(n: float, mu: float) -> float:
    mu = TRUNCATION_VALUE if mu <= TRUNCATION_VALUE else mu
    if n == 0:
        return 2.0 * mu
    return 2.0 * (mu - n + n * (math.log(n) - math.log(mu)))


N_ON = np.array([0.0, 0.0, 1.0, 3.0, 10.0, 250.0, 7.0, 0.0])
MU_ON = np.array([0.5, 0.0, 1e-30, 2.5, 12.0, 240.5, 7.0, 1e-26])


def test_cash_by_hand_including_zero_counts_and_truncation():
    expected = [cash_by_hand(n, mu) for n, mu in zip(N_ON, MU_ON, strict=True)]
    assert_allclose(cash(N_ON, MU_ON), expected, rtol=1e-14, atol=1e-300)
    # mu = 0 with n = 0 costs 2 * 1e-25; mu < 1e-25 with n = 1 costs 2 * (1e-25 + 57.56...)
    assert cash(0.0, 0.0) == 2e-25
    assert_allclose(cash(1.0, 1e-30), 2.0 * (1e-25 - math.log(1e-25)), rtol=1e-15)


def test_cstat_by_hand_including_zero_counts_and_perfect_model():
    expected = [cstat_by_hand(n, mu) for n, mu in zip(N_ON, MU_ON, strict=True)]
    # the hand formula cancels n (ln n - ln mu) - (n - mu): ~1e-13 relative at n = 250
    assert_allclose(cstat(N_ON, MU_ON), expected, rtol=1e-12, atol=1e-300)
    assert cstat(7.0, 7.0) == 0.0  # exactly zero for a perfect model
    assert np.all(cstat(N_ON, MU_ON) >= 0)


def test_gammapy_reference_values():
    assert_allclose(cash(GAMMAPY_N_ON, GAMMAPY_MU_SIG), GAMMAPY_CASH, rtol=1e-7)
    assert_allclose(cstat(GAMMAPY_N_ON, GAMMAPY_MU_SIG), GAMMAPY_CSTAT, rtol=1e-7)
    # Gammapy's CashFitStatistic on MockMapDataset(counts=[1, 2, 3], npred=[1, 2, 3], mask)
    assert_allclose(cash_sum([1, 2, 3], [1.0, 2.0, 3.0]), 2.63573737, rtol=1e-7)
    mask = np.array([True, False, True])
    assert_allclose(cash_sum([1, 2, 3], [1.0, 2.0, 3.0], mask=mask), 1.40832626799, rtol=1e-10)


def test_cstat_is_cash_plus_data_only_offset():
    rng = np.random.default_rng(3)
    n_on = rng.poisson(2.0, 50).astype(float)
    offset = cstat_cash_offset(n_on)
    assert_allclose(offset, [2 * (n * math.log(n) - n) if n else 0.0 for n in n_on])
    for scale in (0.1, 1.0, 7.0):
        mu = rng.uniform(0.01, 5.0, 50) * scale
        assert_allclose(cstat(n_on, mu) - cash(n_on, mu), offset, rtol=1e-12, atol=1e-11)
        assert_allclose(
            cstat_sum(n_on, mu) - cash_sum(n_on, mu), offset.sum(), rtol=1e-12, atol=1e-10
        )


@pytest.mark.parametrize("function", [cash, cstat])
def test_batch_broadcasting_equals_loop(function):
    rng = np.random.default_rng(4)
    n_on = rng.poisson(3.0, 40).astype(float)
    mu = rng.uniform(0.0, 6.0, (7, 40))
    per_bin = function(n_on, mu)
    assert per_bin.shape == (7, 40)
    for row in range(7):
        assert_allclose(per_bin[row], function(n_on, mu[row]), rtol=1e-15)
    # data with batch axes and a single model, and 3-D batches
    assert_allclose(function(np.tile(n_on, (7, 1)), mu[0]), np.tile(function(n_on, mu[0]), (7, 1)))
    cube = mu.reshape(7, 1, 40) * np.ones((1, 3, 1))
    assert function(n_on, cube).shape == (7, 3, 40)


@pytest.mark.parametrize(("function", "per_bin"), [(cash_sum, cash), (cstat_sum, cstat)])
def test_sums_axis_and_mask(function, per_bin):
    rng = np.random.default_rng(5)
    n_on = rng.poisson(3.0, 30).astype(float)
    mu = rng.uniform(0.1, 6.0, (4, 30))
    full = per_bin(n_on, mu)
    assert_allclose(function(n_on, mu), full.sum(axis=-1), rtol=1e-12)
    assert_allclose(function(n_on, mu, axis=None), full.sum(), rtol=1e-12)
    assert_allclose(function(n_on, mu[0]), full[0].sum(), rtol=1e-12)
    assert_allclose(function(n_on[:, None], mu.T, axis=0), full.sum(axis=-1), rtol=1e-12)
    mask = rng.uniform(size=30) > 0.4
    assert_allclose(function(n_on, mu, mask=mask), full[:, mask].sum(axis=-1), rtol=1e-12)
    mask_2d = rng.uniform(size=(4, 30)) > 0.4
    assert_allclose(function(n_on, mu, mask=mask_2d), (full * mask_2d).sum(axis=-1), rtol=1e-12)


@pytest.mark.parametrize(("function", "per_bin"), [(cash_sum, cash), (cstat_sum, cstat)])
def test_large_batches_evaluated_in_blocks_equal_direct(function, per_bin):
    rng = np.random.default_rng(6)
    n_on = rng.poisson(3.0, 128).astype(float)
    mu = rng.uniform(0.0, 6.0, (700, 128))  # > BLOCK_ELEMENTS: evaluated in row blocks
    direct = np.array([per_bin(n_on, row).sum() for row in mu])
    assert_allclose(function(n_on, mu), direct, rtol=1e-12)
    assert_allclose(per_bin(n_on, mu)[::97], [per_bin(n_on, row) for row in mu[::97]])


def test_scalar_inputs_give_scalars():
    assert np.ndim(cash(3, 2.0)) == 0
    assert np.ndim(cstat(3, 2.0)) == 0
    assert_allclose(cash(3, 2.0), cash_by_hand(3, 2.0))
    assert_allclose(cash_sum(3, 2.0), cash_by_hand(3, 2.0))
    assert cash([3, 4], 2.0).shape == (2,)


def test_no_warnings_on_edge_cases():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for function in (cash, cstat, cash_sum, cstat_sum):
            assert np.all(np.isfinite(function(N_ON, MU_ON)))
        assert np.isfinite(cstat(np.zeros(3), np.zeros(3))).all()


def test_invalid_input_raises_dataset_error():
    with pytest.raises(DatasetError, match=r"n_on must be non-negative.*-1\.0.*\(1,\)"):
        cash([1.0, -1.0], [1.0, 1.0])
    with pytest.raises(DatasetError, match="n_on"):
        cstat([np.nan], [1.0])
    with pytest.raises(DatasetError, match="do not broadcast"):
        cash(np.ones(3), np.ones(4))
    with pytest.raises(DatasetError, match="do not broadcast"):
        cstat_sum(np.ones(3), np.ones((2, 4)))
    with pytest.raises(DatasetError, match="truncation_value"):
        cash(1.0, 1.0, truncation_value=0.0)
    with pytest.raises(DatasetError, match="mask of length"):
        cash_sum(np.ones(3), np.ones(3), mask=np.array([True, False]))
    with pytest.raises(DatasetError, match="boolean"):
        cash_sum(np.ones(3), np.ones(3), mask=np.array([1, 0, 1]))
    # ValueError subclass, as the guide asks
    with pytest.raises(ValueError):
        cash([-1.0], [1.0])
    # check=False skips the validation
    assert np.isfinite(cash([-1.0], [1.0], check=False)).all()
