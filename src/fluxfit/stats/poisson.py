"""Poisson statistics with a known background: Cash and C-stat.

Both take the total predicted counts ``mu_on`` (signal plus any fixed background) and the
observed counts ``n_on`` and return ``-2 ln L`` up to a data-only constant, per bin.

Gammapy's conventions are followed exactly:

- ``cash = 2 * (mu_on - n_on * ln(mu_on))`` after truncating ``mu_on`` from below at
  ``truncation_value`` (default `TRUNCATION_VALUE` = 1e-25): Gammapy 2.x does
  ``mu_on = np.where(mu_on <= TRUNCATION_VALUE, TRUNCATION_VALUE, mu_on)``. A bin with ``mu_on = 0``
  and ``n_on > 0`` therefore costs ``2 * n_on * 57.56...`` instead of infinity, and a bin
  with ``mu_on <= 0`` and ``n_on = 0`` costs ``2e-25``. Gammapy's fits sum with the compiled
  ``cash_sum_cython``, which agrees to summation rounding (checked by compiling Gammapy's
  ``fit_statistics_cython.pyx``) except that Cython converts the truncation value to single
  precision before its log: per truncated bin with ``n_on > 0`` that sum is lower by
  ``3.908e-8 * n_on`` (``2 * (ln(float32(1e-25)) - ln(1e-25))``).
- ``cstat = 2 * (mu_on - n_on + n_on * (ln n_on - ln mu_on))`` (XSPEC's cstat; zero for a
  perfect model) with the same truncation of ``mu_on``, evaluated as
  ``n_on * ln(n_on / mu_on + 1e-300)`` so that ``n_on = 0`` gives exactly 0. Gammapy instead
  replaces ``n_on = 0`` by 1e-25 before its log; the two differ by less than 1e-22 per bin
  (and by rounding, ~1e-11 relative, as Gammapy subtracts the two logs).

So ``cstat - cash = 2 * (n_on * ln n_on - n_on)`` in every bin (`cstat_cash_offset`).

Examples
--------
>>> import numpy as np
>>> from fluxfit.stats import cash, cash_sum, cstat
>>> n_on = np.array([0.0, 3.0, 10.0])
>>> mu_on = np.array([0.5, 2.5, 12.0])
>>> cash(n_on, mu_on).round(4)
array([  1.    ,  -0.4977, -25.6981])
>>> float(cash_sum(n_on, mu_on).round(4))
-25.1959
>>> bool(np.all(cstat(n_on, mu_on) >= 0))
True
"""

from __future__ import annotations

import numpy as np
from scipy import special

from fluxfit.errors import DatasetError
from fluxfit.stats._core import (
    TINY,
    TRUNCATION_VALUE,
    _ones,
    as_counts,
    as_model,
    in_row_blocks,
    reduce_bins,
    select_bins,
    shape_error,
)

__all__ = ["cash", "cash_sum", "cstat", "cstat_sum", "cstat_cash_offset"]

_log = np.log
_maximum = np.maximum
_subtract = np.subtract
_multiply = np.multiply
_add_reduce = np.add.reduce


def _inputs(n_on, mu_on, truncation_value, owner: str, check: bool):
    if check and not truncation_value > 0:
        raise DatasetError(f"{owner}: truncation_value must be positive, got {truncation_value!r}")
    n_on = as_counts(n_on, "n_on", owner, check)
    mu = as_model(mu_on)
    scalar = mu.shape == (1,) and n_on.ndim == 0 and np.ndim(mu_on) == 0
    return n_on, _maximum(mu, truncation_value), scalar


def _cash_bins(n_on: np.ndarray, mu: np.ndarray) -> np.ndarray:
    stat = _log(mu)
    try:
        _multiply(stat, n_on, out=stat)
    except ValueError:  # n_on carries the batch axes
        stat = stat * n_on
    _subtract(mu, stat, out=stat)
    stat *= 2.0
    return stat


def _cstat_bins(n_on: np.ndarray, mu: np.ndarray) -> np.ndarray:
    # n ln(n / mu): mu >= 1e-25 after truncation; for n = 0, 0 * ln(0 + TINY) = 0
    stat = n_on / mu
    stat += TINY
    _log(stat, out=stat)
    stat *= n_on
    stat += mu
    stat -= n_on
    stat *= 2.0
    return stat


def _cash_sum_rows(n_on: np.ndarray, mu: np.ndarray):
    """2 * (sum mu - n . ln mu) over the last axis: one matrix-vector product."""
    log_mu = _log(mu)
    if mu.ndim == 1:
        return 2.0 * (_add_reduce(mu) - log_mu @ n_on)
    return 2.0 * (mu @ _ones(mu.shape[1]) - log_mu @ n_on)


def cash(n_on, mu_on, truncation_value: float = TRUNCATION_VALUE, *, check: bool = True):
    r"""Cash statistic per bin, :math:`C = 2(\mu - n \ln \mu)` (Gammapy's convention).

    Parameters
    ----------
    n_on : array_like
        Observed counts (>= 0; integers in practice but any non-negative float works).
    mu_on : array_like
        Predicted counts, broadcastable with ``n_on``: e.g. shape ``(k, n)`` for a batch of
        ``k`` model evaluations against ``n_on`` of shape ``(n,)``.
    truncation_value : float
        ``mu_on`` below this is replaced by it (Gammapy: 1e-25).
    check : bool
        Check that ``n_on`` is non-negative (one reduction). Callers that validated the
        counts once (datasets) pass ``False`` in their fit loop.

    Returns
    -------
    stat : `~numpy.ndarray`
        Per-bin statistic with the broadcast shape of the inputs (dimensionless); a numpy
        scalar when all inputs are scalars.

    Raises
    ------
    DatasetError
        If ``n_on`` has negative or NaN entries, or the shapes do not broadcast.
    """
    n_on, mu, scalar = _inputs(n_on, mu_on, truncation_value, "cash", check)
    try:
        stat = in_row_blocks(_cash_bins, (n_on, mu), mu, -1, per_bin=True)
        stat = _cash_bins(n_on, mu) if stat is None else stat
    except ValueError as exc:
        raise shape_error("cash", exc, n_on=n_on, mu_on=mu) from exc
    return stat[0] if scalar else stat


def cash_sum(
    n_on,
    mu_on,
    axis: int | None = -1,
    mask=None,
    truncation_value: float = TRUNCATION_VALUE,
    *,
    check: bool = True,
):
    """Cash statistic summed over bins: one number per batch row.

    Parameters
    ----------
    n_on, mu_on, truncation_value, check
        As in `cash`.
    axis : int or None
        Axis of the bins (default: the last); ``None`` sums everything.
    mask : array_like of bool, optional
        Bins to include. A 1-D mask applies to the last axis and the masked bins are never
        evaluated; any other shape must broadcast to the per-bin result.

    Returns
    -------
    stat : float or `~numpy.ndarray`
        Summed statistic; shape of the inputs without ``axis``.
    """
    n_on, mu, _ = _inputs(n_on, mu_on, truncation_value, "cash_sum", check)
    if mask is not None:
        selected = select_bins(mask, "cash_sum", n_on, mu)
        if selected is None:
            return reduce_bins(cash(n_on, mu, truncation_value, check=False), axis, mask)
        n_on, mu = selected
    try:
        if (
            n_on.ndim <= 1
            and mu.ndim in (1, 2)
            and axis in (-1, mu.ndim - 1)
            and n_on.shape[-1:] in ((), mu.shape[-1:])
        ):
            if n_on.ndim == 0:
                n_on = np.broadcast_to(n_on, mu.shape[-1:])
            stat = in_row_blocks(_cash_sum_rows, (n_on, mu), mu, axis)
            return _cash_sum_rows(n_on, mu) if stat is None else stat
        return reduce_bins(_cash_bins(n_on, mu), axis)
    except ValueError as exc:
        raise shape_error("cash_sum", exc, n_on=n_on, mu_on=mu) from exc


def cstat_cash_offset(n_on, *, check: bool = True) -> np.ndarray:
    r"""Per-bin data-only term :math:`2(n \ln n - n)` with ``cstat = cash + offset``.

    Zero counts contribute 0. Sum it once per dataset to convert summed statistics.
    """
    n_on = as_counts(n_on, "n_on", "cstat_cash_offset", check)
    offset = special.xlogy(n_on, n_on)
    offset -= n_on
    offset *= 2.0
    return offset


def cstat(n_on, mu_on, truncation_value: float = TRUNCATION_VALUE, *, check: bool = True):
    r"""C statistic per bin, :math:`2(\mu - n + n(\ln n - \ln\mu))` (XSPEC ``cstat``).

    Zero for a perfect model (``mu_on == n_on``, exactly) and non-negative everywhere.
    Arguments, shapes and errors are those of `cash`.

    Returns
    -------
    stat : `~numpy.ndarray`
        Per-bin statistic (dimensionless), ``cash(n_on, mu_on) + cstat_cash_offset(n_on)``.
    """
    n_on, mu, scalar = _inputs(n_on, mu_on, truncation_value, "cstat", check)
    try:
        stat = in_row_blocks(_cstat_bins, (n_on, mu), mu, -1, per_bin=True)
        stat = _cstat_bins(n_on, mu) if stat is None else stat
    except ValueError as exc:
        raise shape_error("cstat", exc, n_on=n_on, mu_on=mu) from exc
    return stat[0] if scalar else stat


def cstat_sum(
    n_on,
    mu_on,
    axis: int | None = -1,
    mask=None,
    truncation_value: float = TRUNCATION_VALUE,
    *,
    check: bool = True,
):
    """C statistic summed over bins; arguments as in `cash_sum`.

    For a 2-D batch it is computed as the Cash sum plus the summed data-only offset (one
    matrix-vector product); rounding can then make a perfect model score ~1e-13, not 0.
    """
    n_on, mu, _ = _inputs(n_on, mu_on, truncation_value, "cstat_sum", check)
    if mask is not None:
        selected = select_bins(mask, "cstat_sum", n_on, mu)
        if selected is None:
            return reduce_bins(cstat(n_on, mu, truncation_value, check=False), axis, mask)
        n_on, mu = selected
    try:
        if (
            n_on.ndim <= 1
            and mu.ndim in (1, 2)
            and axis in (-1, mu.ndim - 1)
            and n_on.shape[-1:] in ((), mu.shape[-1:])
        ):
            if n_on.ndim == 0:
                n_on = np.broadcast_to(n_on, mu.shape[-1:])
            if mu.ndim == 2:  # a batch: data-only terms once, then matrix-vector products
                stat = in_row_blocks(_cash_sum_rows, (n_on, mu), mu, axis)
                stat = _cash_sum_rows(n_on, mu) if stat is None else stat
                return stat + 2.0 * (_add_reduce(special.xlogy(n_on, n_on)) - _add_reduce(n_on))
        return reduce_bins(_cstat_bins(n_on, mu), axis)
    except ValueError as exc:
        raise shape_error("cstat_sum", exc, n_on=n_on, mu_on=mu) from exc
