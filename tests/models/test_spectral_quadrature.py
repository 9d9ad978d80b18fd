"""The vectorised quadratures: Gauss-Legendre in ln E, bin splitting at breaks, Simpson."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxfit.errors import ModelError, UnitError
from fluxfit.models.spectral.integrate import (
    DEFAULT_MAX_WIDTH_DEX,
    DEFAULT_ORDER,
    LogQuadrature,
    RowSplitQuadrature,
    SimpsonQuadrature,
    make_quadrature,
    split_bins,
)


def power_law_integral(a, b, index):
    """(b^(1-index) - a^(1-index)) / (1 - index), without cancellation for b close to a."""
    log_ratio = np.log1p((b - a) / a)
    if index == 1:
        return log_ratio
    return a ** (1 - index) * np.expm1((1 - index) * log_ratio) / (1 - index)


def test_log_quadrature_power_laws_and_shapes():
    emin = np.array([[1.0, 10.0], [0.001, 5.0]])
    emax = np.array([[10.0, 100.0], [1000.0, 5.0 * (1 + 1e-6)]])
    quad = LogQuadrature(emin, emax)
    for index in (-1.5, 1.0, 2.0, 4.5):
        expected = power_law_integral(emin, emax, index)
        np.testing.assert_allclose(quad.integrate(quad.nodes**-index), expected, rtol=1e-13)
    # a batch axis is kept in front
    batch = quad.integrate(np.array([[1.0], [2.0]]) * quad.nodes**-2)
    assert batch.shape == (2, 2, 2)
    np.testing.assert_allclose(batch[1], 2 * batch[0], rtol=1e-15)


def test_log_quadrature_reversed_zero_width_and_empty():
    quad = LogQuadrature(np.array([10.0, 3.0]), np.array([1.0, 3.0]))
    np.testing.assert_allclose(quad.integrate(quad.nodes**-2), [-0.9, 0.0], rtol=1e-14, atol=0)
    empty = LogQuadrature(np.array([]), np.array([]))
    assert empty.integrate(empty.nodes).shape == (0,)
    with pytest.raises(UnitError, match="positive"):
        LogQuadrature(np.array([0.0]), np.array([1.0]))
    with pytest.raises(UnitError, match="finite"):
        LogQuadrature(np.array([1.0]), np.array([np.inf]))


def test_adaptive_orders():
    """Narrow bins get fewer nodes; wide ones the full order on sub-intervals <= max width."""
    widths_dex = np.array([1e-4, 1e-3, 4e-3, 0.01, 0.02, 0.03, 0.05, 0.3, 3.0])
    emin = np.ones_like(widths_dex)
    quad = LogQuadrature(emin, emin * 10**widths_dex)
    counts = np.diff(np.append(quad._starts, quad.nodes.size))
    assert counts.tolist() == [2, 3, 4, 5, 6, 7, 8, 48, 480]
    fixed = LogQuadrature(emin, emin * 10**widths_dex, adaptive=False)
    assert np.diff(np.append(fixed._starts, fixed.nodes.size)).tolist()[:7] == [DEFAULT_ORDER] * 7
    # the same accuracy for a steep exponential (log-slope 50) in every bin
    for q in (quad, fixed):
        values = q.integrate(np.exp(-50 * (q.nodes - 1)))
        exact = (np.exp(-50 * (emin - 1)) - np.exp(-50 * (emin * 10**widths_dex - 1))) / 50
        np.testing.assert_allclose(values, exact, rtol=1e-9)
    assert DEFAULT_MAX_WIDTH_DEX == 0.05


def test_split_bins():
    lo, hi, starts = split_bins(
        np.array([1.0, 2.0, 5.0, 7.0]),
        np.array([3.0, 2.5, 10.0, 7.0]),
        np.array([1.5, 2.5, 6.0, 7.0]),
    )
    assert lo.tolist() == [1.0, 1.5, 2.5, 2.0, 5.0, 6.0, 7.0, 7.0]
    assert hi.tolist() == [1.5, 2.5, 3.0, 2.5, 6.0, 7.0, 10.0, 7.0]
    assert starts.tolist() == [0, 3, 4, 7]
    lo, hi, starts = split_bins(np.array([1.0]), np.array([2.0]), np.array([]))
    assert (lo.tolist(), hi.tolist(), starts.tolist()) == ([1.0], [2.0], [0])


@settings(max_examples=50, deadline=None)
@given(
    edges=st.lists(st.floats(-3, 3), min_size=2, max_size=6),
    breaks=st.lists(st.floats(-4, 4), max_size=5),
)
def test_split_bins_preserves_integrals(edges, breaks):
    edges = 10 ** np.sort(np.array(edges))
    breaks = np.unique(10 ** np.array(breaks, dtype=float))
    lo, hi, starts = split_bins(edges[:-1], edges[1:], breaks)
    assert np.all(hi >= lo)
    widths = np.add.reduceat(hi - lo, starts) if lo.size else np.zeros(0)
    np.testing.assert_allclose(widths, np.diff(edges), rtol=1e-12, atol=1e-300)


def test_row_split_quadrature_kinks():
    """A kink at a different energy per row integrates exactly."""
    emin, emax = np.array([1.0, 0.5, 4.0]), np.array([3.0, 5.0, 8.0])
    breaks = np.array([[2.0], [3.0], [20.0]])
    quad = RowSplitQuadrature(emin, emax, breaks)
    assert quad.nodes.shape[0] == 3
    # |E - break| with power-law weights: a kink the plain rule would miss at 1e-4
    values = quad.integrate(np.abs(quad.nodes - breaks) * quad.nodes**-1)
    for row, (b,) in enumerate(breaks):
        for col, (a, c) in enumerate(zip(emin, emax)):
            grid = np.sort(np.concatenate([np.linspace(a, c, 200001), [b] if a < b < c else []]))
            f = np.abs(grid - b) / grid
            expected = np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(grid))
            assert values[row, col] == pytest.approx(expected, rel=1e-8)
    with pytest.raises(ModelError, match=r"\(k, B\)"):
        RowSplitQuadrature(emin, emax, np.array([2.0]))


def test_simpson_and_factory():
    simpson = make_quadrature(np.array([1.0, 2.0]), np.array([2.0, 4.0]), "simpson")
    assert isinstance(simpson, SimpsonQuadrature)
    # exact for cubics
    np.testing.assert_allclose(simpson.integrate(simpson.nodes**3), [15 / 4, 60.0], rtol=1e-14)
    assert isinstance(make_quadrature(np.array([1.0]), np.array([2.0])), LogQuadrature)
    with pytest.raises(ModelError, match="unknown integration method"):
        make_quadrature(np.array([1.0]), np.array([2.0]), "trapezoid")
