"""WStatSum (precomputed data terms) equals wstat_sum, edge cases included."""

import numpy as np
import pytest

from fluxfit.errors import DatasetError
from fluxfit.stats import WStatSum, wstat_sum


@pytest.mark.parametrize("seed", range(5))
def test_equals_wstat_sum(seed):
    rng = np.random.default_rng(seed)
    n = 50
    n_on = rng.poisson(rng.uniform(0, 5, n)).astype(float)
    n_off = rng.poisson(rng.uniform(0, 5, n)).astype(float)
    n_on[:3] = 0
    n_off[3:6] = 0
    alpha = rng.uniform(0.05, 2, n)
    mu = rng.uniform(0, 6, size=(4, n))
    mu[:, 6] = 0.0
    fast = WStatSum(n_on, n_off, alpha)
    assert np.allclose(fast(mu), wstat_sum(n_on, n_off, alpha, mu), rtol=1e-12, atol=1e-9)
    assert np.allclose(fast(mu[0]), wstat_sum(n_on, n_off, alpha, mu[0]), rtol=1e-12, atol=1e-9)


def test_validates_data_once():
    with pytest.raises(DatasetError):
        WStatSum([1.0, -1.0], [1.0, 1.0], 0.5)
    with pytest.raises(DatasetError):
        WStatSum([1.0, 1.0], [1.0, 1.0], 0.0)
