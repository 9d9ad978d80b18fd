"""`_distinct_rows` groups the safe-mask images of a map reduction as `np.unique` would."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxfit.datasets.map_reduce import _distinct_rows


@settings(max_examples=60, deadline=None)
@given(
    n_rows=st.integers(1, 12),
    n_cols=st.integers(1, 70),
    n_distinct=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_distinct_rows_match_numpy_unique(n_rows, n_cols, n_distinct, seed):
    rng = np.random.default_rng(seed)
    patterns = rng.random((n_distinct, n_cols)) > 0.5
    mask = patterns[rng.integers(0, n_distinct, n_rows)]
    rows, inverse = _distinct_rows(mask)
    np.testing.assert_array_equal(rows[inverse], mask)  # every row maps to its own image
    expected, _ = np.unique(mask, axis=0, return_inverse=True)
    assert len(rows) == len(expected)  # one entry per distinct image
    assert inverse[0] == 0 and np.all(np.diff(np.maximum.accumulate(inverse)) <= 1)
