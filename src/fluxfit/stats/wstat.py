r"""W-statistic: Poisson ON counts with a Poisson OFF measurement of the background.

The likelihood of one bin, with ``mu_sig`` predicted signal counts in the ON region,
``mu_bkg`` expected background counts in the OFF region and ``alpha`` the ON/OFF exposure
ratio (so ``alpha * mu_bkg`` is the background in the ON region), is

.. math::
    L = \mathrm{Pois}(n_{on}; \mu_{sig} + \alpha\mu_{bkg})\,\mathrm{Pois}(n_{off}; \mu_{bkg}).

``mu_bkg`` is profiled analytically (`get_wstat_mu_bkg`, the positive root of a quadratic):

.. math::
    C = \alpha(n_{on} + n_{off}) - (1 + \alpha)\mu_{sig},\quad
    D = \sqrt{C^2 + 4\alpha(1 + \alpha) n_{off}\mu_{sig}},\quad
    \mu_{bkg} = \frac{C + D}{2\alpha(1 + \alpha)},

and the statistic is Gammapy's (``gammapy.stats.wstat`` with ``extra_terms=True``), which
is XSPEC's W-stat with :math:`t_s m_i = \mu_{sig}`, :math:`t_b f_i = \mu_{bkg}`,
:math:`t_s / t_b = \alpha`:

.. math::
    W = 2\left[\mu_{sig} + (1 + \alpha)\mu_{bkg} - n_{on}\ln(\mu_{sig} + \alpha\mu_{bkg})
        - n_{off}\ln\mu_{bkg}\right] + G,\qquad
    G = 2\left[n_{on}\ln n_{on} - n_{on} + n_{off}\ln n_{off} - n_{off}\right]

(`get_wstat_gof_terms`), with :math:`0 \ln 0 = 0`. ``W`` is zero for the saturated model
(``mu_sig = n_on - alpha * n_off >= 0``, then ``mu_bkg = n_off``). The formula covers every
corner case of the XSPEC appendix without special branches (this is also how Gammapy 2.x
evaluates it; older Gammapy versions had explicit branches giving the same numbers):

- ``n_on = 0``: ``mu_bkg = n_off / (1 + alpha)``, ``W = 2 * (mu_sig + n_off * ln(1 + alpha))``;
- ``n_off = 0`` and ``mu_sig < n_on * alpha / (1 + alpha)``:
  ``mu_bkg = n_on / (1 + alpha) - mu_sig / alpha``,
  ``W = -2 * (mu_sig / alpha + n_on * ln(alpha / (1 + alpha)))``;
- ``n_off = 0`` and ``mu_sig >= n_on * alpha / (1 + alpha)``: ``mu_bkg = 0``,
  ``W = 2 * (mu_sig + n_on * (ln n_on - ln mu_sig - 1))``;
- ``n_on = n_off = 0``: ``W = 2 * mu_sig``;
- ``mu_sig = 0``: ``mu_bkg = (n_on + n_off) / (1 + alpha)``.

Numerical notes: ``D >= |C|`` holds exactly in floating point (``sqrt(fl(C * C)) == |C|``)
unless ``C * C`` underflows, so ``C + D`` is clamped at 0 and ``mu_bkg >= 0`` always; the
``0 ln 0`` terms are evaluated as ``n * ln(mu + 1e-300)`` (exact for ``mu >= 1e-284``, and 0
for ``n = 0``; 6x faster than `scipy.special.xlogy` on large batches), so no warning is
raised and no ``np.where`` is needed. ``alpha`` must be positive (Gammapy returns NaN/inf
for ``alpha = 0`` and its ``WStatFitStatistic`` maps them with ``np.nan_to_num``; mask such
bins instead). Cancellation in ``C + D`` when ``C << 0`` only affects ``mu_bkg`` at relative
precision ``~1e-16 * |C| / (C + D)``; the statistic itself is stationary in ``mu_bkg``
there, so it is unaffected to first order.

Examples
--------
>>> import numpy as np
>>> from fluxfit.stats import wstat, wstat_sum
>>> n_on, n_off, alpha = np.array([5.0, 0.0]), np.array([10.0, 3.0]), 0.2
>>> wstat(n_on, n_off, alpha, mu_sig=np.array([3.0, 0.5])).round(4)
array([0.    , 2.0939])
>>> mu_batch = np.array([[3.0, 0.5], [1.0, 0.0]])
>>> wstat_sum(n_on, n_off, alpha, mu_batch).round(4)
array([2.0939, 2.046 ])
"""

from __future__ import annotations

import numpy as np
from scipy import special

from fluxfit.stats._core import (
    all_scalar,
    as_counts,
    as_float,
    as_model,
    as_positive,
    in_row_blocks,
    reduce_bins,
    select_bins,
    shape_error,
    xlogy,
)

__all__ = ["wstat", "wstat_sum", "get_wstat_mu_bkg", "get_wstat_gof_terms"]

_sqrt = np.sqrt
_maximum = np.maximum
_multiply = np.multiply
_add_reduce = np.add.reduce


def _inputs(n_on, n_off, alpha, mu_sig, owner: str, check: bool):
    alpha = as_positive(alpha, "alpha", owner, check, allow_zero=False)
    return (
        as_counts(n_on, "n_on", owner, check),
        as_counts(n_off, "n_off", owner, check),
        float(alpha) if alpha.ndim == 0 else alpha,  # scalar arithmetic is 20x cheaper
        as_model(mu_sig),
    )


def _extra_terms(extra_terms, n_on, n_off):
    """Per-bin data-only terms: computed (True), given (array) or none (False -> None)."""
    if extra_terms is True:
        return _gof_terms(n_on, n_off)
    if extra_terms is False or extra_terms is None:
        return None
    return as_float(extra_terms)


def _mu_bkg(n_on, n_off, alpha, mu_sig):
    """Profiled OFF-region background; inputs already float64 arrays."""
    one_plus_alpha = 1.0 + alpha
    root = alpha * (n_on + n_off) - one_plus_alpha * mu_sig  # C
    mu_bkg = root * root
    mu_bkg += (4.0 * alpha * one_plus_alpha * n_off) * mu_sig
    _sqrt(mu_bkg, out=mu_bkg)  # D
    mu_bkg += root
    # D >= |C| holds unless C * C underflows (|C| < 1e-154): clamp the tiny negative C + D
    _maximum(mu_bkg, 0.0, out=mu_bkg)
    mu_bkg *= 0.5 / (alpha * one_plus_alpha)
    return mu_bkg


def _gof_terms(n_on, n_off):
    gof = special.xlogy(n_on, n_on)
    gof -= n_on
    gof = gof + special.xlogy(n_off, n_off)  # n_on, n_off may have different shapes
    gof -= n_off
    gof *= 2.0
    return gof


def _wstat_core(n_on, n_off, alpha, mu_sig, mu_bkg=None):
    """2 * (mu_sig + (1 + alpha) mu_bkg - n_on ln(mu_on) - n_off ln mu_bkg), no G."""
    if mu_bkg is None:
        mu_bkg = _mu_bkg(n_on, n_off, alpha, mu_sig)
    mu_on = alpha * mu_bkg
    mu_on += mu_sig
    stat = (1.0 + alpha) * mu_bkg
    stat += mu_sig
    stat -= xlogy(n_on, mu_on)
    stat -= xlogy(n_off, mu_bkg)
    stat *= 2.0
    return stat


def _row_totals(gof: np.ndarray, n_bins: int):
    """Sums over the bins of data-only terms broadcast against rows of ``n_bins`` bins."""
    if gof.ndim == 2:
        totals = reduce_bins(gof, -1)
        return totals if gof.shape[1] == n_bins else totals * n_bins
    total = _add_reduce(gof, axis=None)
    return total if gof.size == n_bins else total * n_bins


def _wstat_core_sum(n_on, n_off, alpha, mu_sig):
    return reduce_bins(_wstat_core(n_on, n_off, alpha, mu_sig), -1)


def get_wstat_mu_bkg(n_on, n_off, alpha, mu_sig, *, check: bool = True):
    """Profiled background ``mu_bkg`` (expected OFF counts) maximising the W-stat likelihood.

    Parameters
    ----------
    n_on, n_off : array_like
        ON and OFF counts (>= 0).
    alpha : array_like
        ON/OFF exposure ratio (> 0), scalar or per bin.
    mu_sig : array_like
        Predicted signal counts in the ON region (>= 0); may carry leading batch axes.
    check : bool
        Validate counts and ``alpha`` (skip in fit loops after validating once).

    Returns
    -------
    mu_bkg : `~numpy.ndarray`
        Expected OFF-region background counts; the ON-region background is
        ``alpha * mu_bkg`` (3ML returns that product as its second value).
    """
    raw = (n_on, n_off, alpha, mu_sig)
    n_on, n_off, alpha, mu_sig = _inputs(*raw, "get_wstat_mu_bkg", check)
    try:
        mu_bkg = _mu_bkg(n_on, n_off, alpha, mu_sig)
        return mu_bkg[0] if all_scalar(mu_sig, *raw) else mu_bkg
    except ValueError as exc:
        raise shape_error(
            "get_wstat_mu_bkg", exc, n_on=n_on, n_off=n_off, alpha=alpha, mu_sig=mu_sig
        ) from exc


def get_wstat_gof_terms(n_on, n_off, *, check: bool = True):
    r"""Data-only goodness-of-fit terms :math:`G = 2(n_{on}\ln n_{on} - n_{on} + n_{off}\ln
    n_{off} - n_{off})` per bin, with :math:`0 \ln 0 = 0` (Gammapy's ``get_wstat_gof_terms``).
    """
    n_on = as_counts(n_on, "n_on", "get_wstat_gof_terms", check)
    n_off = as_counts(n_off, "n_off", "get_wstat_gof_terms", check)
    try:
        return _gof_terms(n_on, n_off)
    except ValueError as exc:
        raise shape_error("get_wstat_gof_terms", exc, n_on=n_on, n_off=n_off) from exc


def wstat(
    n_on,
    n_off,
    alpha,
    mu_sig,
    mu_bkg=None,
    extra_terms: bool | np.ndarray = True,
    *,
    check: bool = True,
):
    """W-statistic per bin (Gammapy's ``wstat``; see the module docstring for the formula).

    Parameters
    ----------
    n_on, n_off : array_like
        ON and OFF counts (>= 0).
    alpha : array_like
        ON/OFF exposure ratio (> 0), scalar or per bin.
    mu_sig : array_like
        Predicted signal counts in the ON region, broadcastable with the data: e.g. shape
        ``(k, n)`` for ``k`` model evaluations against data of shape ``(n,)``.
    mu_bkg : array_like, optional
        OFF-region background to use instead of the profiled one (`get_wstat_mu_bkg`);
        must be > 0 where ``n_off > 0`` (a zero there is scored as ``1e-300``, not as 0).
    extra_terms : bool or array_like
        Add the data-only terms `get_wstat_gof_terms` (default, as Gammapy), so that the
        statistic of the saturated model is 0. An array is taken as those terms, already
        computed (a dataset computes them once; this saves a third of the time per call).
    check : bool
        Validate counts (non-negative, no NaN) and ``alpha`` (positive, finite).

    Returns
    -------
    stat : `~numpy.ndarray`
        Per-bin statistic with the broadcast shape of the inputs (dimensionless).

    Raises
    ------
    DatasetError
        On negative/NaN counts, non-positive ``alpha`` or shapes that do not broadcast.
    """
    raw = (n_on, n_off, alpha, mu_sig)
    n_on, n_off, alpha, mu_sig = _inputs(*raw, "wstat", check)
    try:
        if mu_bkg is None:
            stat = in_row_blocks(
                _wstat_core, (n_on, n_off, alpha, mu_sig), mu_sig, -1, per_bin=True
            )
            if stat is None:
                stat = _wstat_core(n_on, n_off, alpha, mu_sig)
        else:
            stat = _wstat_core(n_on, n_off, alpha, mu_sig, as_model(mu_bkg))
        gof = _extra_terms(extra_terms, n_on, n_off)
        if gof is not None:
            if gof.shape == stat.shape:
                stat += gof
            else:
                stat = stat + gof
    except ValueError as exc:
        raise shape_error("wstat", exc, n_on=n_on, n_off=n_off, alpha=alpha, mu_sig=mu_sig) from exc
    return stat[0] if all_scalar(mu_sig, *raw) else stat


def wstat_sum(
    n_on,
    n_off,
    alpha,
    mu_sig,
    axis: int | None = -1,
    mask=None,
    extra_terms: bool | np.ndarray | float = True,
    *,
    check: bool = True,
):
    """W-statistic summed over bins: one number per batch row.

    Parameters
    ----------
    n_on, n_off, alpha, mu_sig, extra_terms, check
        As in `wstat` (the background is always profiled). A precomputed ``extra_terms``
        array holds per-bin terms (before any mask), or is 0-d: then it is the sum itself.
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
    n_on, n_off, alpha, mu_sig = _inputs(n_on, n_off, alpha, mu_sig, "wstat_sum", check)
    gof_sum = None
    if extra_terms is not True and extra_terms is not False and extra_terms is not None:
        extra_terms = as_float(extra_terms)
        if extra_terms.ndim == 0:
            gof_sum, extra_terms = float(extra_terms), False
    if mask is not None:
        arrays = (n_on, n_off, alpha, mu_sig)
        if isinstance(extra_terms, np.ndarray):
            arrays += (extra_terms,)
        selected = select_bins(mask, "wstat_sum", *arrays)
        if selected is None:
            stat = wstat(n_on, n_off, alpha, mu_sig, extra_terms=extra_terms, check=False)
            stat = reduce_bins(stat, axis, mask)
            return stat if gof_sum is None else stat + gof_sum
        n_on, n_off, alpha, mu_sig = selected[:4]
        if isinstance(extra_terms, np.ndarray):
            extra_terms = selected[4]
    try:
        gof = _extra_terms(extra_terms, n_on, n_off)
        arrays = (n_on, n_off, alpha, mu_sig)
        summed = in_row_blocks(_wstat_core_sum, arrays, mu_sig, axis)
        if summed is None:
            stat = _wstat_core(*arrays)
            if gof is None:
                summed = reduce_bins(stat, axis)
            elif gof.shape == stat.shape:
                stat += gof
                summed = reduce_bins(stat, axis)
            elif stat.ndim == 2 and gof.ndim <= 2 and axis in (-1, 1):
                summed = reduce_bins(stat, axis) + _row_totals(gof, stat.shape[1])
            else:
                summed = reduce_bins(stat + gof, axis)
        elif gof is not None:  # blocks: 2-D batch, bins on the last axis
            summed += _row_totals(gof, mu_sig.shape[1])
        return summed if gof_sum is None else summed + gof_sum
    except ValueError as exc:
        raise shape_error(
            "wstat_sum", exc, n_on=n_on, n_off=n_off, alpha=alpha, mu_sig=mu_sig
        ) from exc


class WStatSum:
    """W-statistic summed over bins, for fixed data: the fast path of fits.

    The data-only parts (``alpha (n_on + n_off)``, ``4 alpha (1 + alpha) n_off``,
    the goodness-of-fit terms, the bins with non-zero counts) are computed once;
    a call then costs about a dozen array operations on the model counts. The
    numbers equal `wstat_sum` (same formula, same ``0 ln 0`` handling).

    Parameters
    ----------
    n_on, n_off : array (n,)
        ON and OFF counts (validated here once).
    alpha : float or array (n,)
        ON/OFF exposure ratio, > 0.

    Examples
    --------
    >>> import numpy as np
    >>> from fluxfit.stats import WStatSum, wstat_sum
    >>> n_on, n_off = np.array([5.0, 0.0, 3.0]), np.array([10.0, 3.0, 0.0])
    >>> stat = WStatSum(n_on, n_off, 0.2)
    >>> mu = np.array([[3.0, 0.5, 1.0], [1.0, 0.0, 2.0]])
    >>> bool(np.allclose(stat(mu), wstat_sum(n_on, n_off, 0.2, mu)))
    True
    """

    def __init__(self, n_on, n_off, alpha):
        n_on = as_counts(n_on, "n_on", "WStatSum", True)
        n_off = as_counts(n_off, "n_off", "WStatSum", True)
        alpha = as_positive(alpha, "alpha", "WStatSum", True, allow_zero=False)
        n_on, n_off, alpha = np.broadcast_arrays(n_on, n_off, alpha)
        self._alpha = np.array(alpha, dtype=float)
        self._one_plus_alpha = 1.0 + self._alpha
        self._c0 = self._alpha * (n_on + n_off)
        self._d0 = 4.0 * self._alpha * self._one_plus_alpha * n_off
        self._inverse = 0.5 / (self._alpha * self._one_plus_alpha)
        on = n_on > 0
        off = n_off > 0
        self._on_index = None if on.all() else np.flatnonzero(on)
        self._off_index = None if off.all() else np.flatnonzero(off)
        self._n_on = np.ascontiguousarray(n_on[on])
        self._n_off = np.ascontiguousarray(n_off[off])
        self._gof = float(np.sum(_gof_terms(n_on, n_off)))
        self.n_bins = n_on.size

    def kernel_rows(self):
        """The data-only terms as `wstat_sum_kernel` takes them.

        Returns
        -------
        rows : array (7, n)
            ``n_on``, ``n_off`` (both 0 where a bin has no counts), ``alpha``, ``1 + alpha``,
            ``alpha (n_on + n_off)``, ``4 alpha (1 + alpha) n_off``, ``1 / (2 alpha (1 + alpha))``.
        gof : float
            The goodness-of-fit constant added to the sum.
        """
        n = self.n_bins
        n_on = np.zeros(n)
        n_on[slice(None) if self._on_index is None else self._on_index] = self._n_on
        n_off = np.zeros(n)
        n_off[slice(None) if self._off_index is None else self._off_index] = self._n_off
        rows = np.stack(
            [n_on, n_off, self._alpha, self._one_plus_alpha, self._c0, self._d0, self._inverse]
        )
        return np.ascontiguousarray(rows, dtype=float), self._gof

    def mu_bkg(self, mu_sig):
        """Profiled OFF background for model counts ``mu_sig`` (..., n)."""
        root = self._c0 - self._one_plus_alpha * mu_sig
        mu_bkg = root * root
        mu_bkg += self._d0 * mu_sig
        _sqrt(mu_bkg, out=mu_bkg)
        mu_bkg += root
        _maximum(mu_bkg, 0.0, out=mu_bkg)
        mu_bkg *= self._inverse
        return mu_bkg

    def __call__(self, mu_sig):
        """Summed W-stat for model counts ``mu_sig`` of shape (n,) or (k, n)."""
        mu_sig = np.asarray(mu_sig, dtype=float)
        mu_bkg = self.mu_bkg(mu_sig)
        mu_on = self._alpha * mu_bkg
        mu_on += mu_sig
        total = mu_sig.sum(axis=-1) + mu_bkg @ self._one_plus_alpha
        if self._on_index is not None:
            mu_on = mu_on[..., self._on_index]
        if self._off_index is not None:
            mu_bkg = mu_bkg[..., self._off_index]
        mu_on += 1e-300
        mu_bkg += 1e-300
        total -= np.log(mu_on, out=mu_on) @ self._n_on
        total -= np.log(mu_bkg, out=mu_bkg) @ self._n_off
        return 2.0 * total + self._gof
