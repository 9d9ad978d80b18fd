r"""PG-stat: Poisson ON counts with a Gaussian-distributed background estimate.

For one bin with ``n_on`` observed counts, predicted signal ``mu_sig``, a background
estimate ``bkg_counts`` with Gaussian error ``bkg_error`` (both already scaled to the ON
region, as 3ML passes them), the likelihood

.. math::
    L = \mathrm{Pois}(n_{on}; \mu_{sig} + b)\,
        \frac{1}{\sqrt{2\pi}\sigma}\exp\left(-\frac{(b - B)^2}{2\sigma^2}\right)

is maximised over the background ``b`` subject to ``mu_sig + b >= 0``. The stationary point
is the positive root of a quadratic, written here for the total predicted ON counts
:math:`\lambda = \mu_{sig} + b`:

.. math::
    Q = B + \mu_{sig} - \sigma^2,\qquad
    \lambda = \tfrac12\left(Q + \sqrt{Q^2 + 4 n_{on}\sigma^2}\right),

which is 3ML's ``b = (sqrt(MB^2 - 2 s2 (MB - 2 o) + s2^2) + B - M - s2) / 2`` rearranged
(``MB = B + M``): the discriminant is written as a sum of non-negative terms so it cannot
round below zero, and for ``Q < 0`` the root is evaluated as ``2 n_on s2 / (sqrt(...) - Q)``
to avoid cancellation. The statistic follows XSPEC's ``pgstat`` (``-2 ln L`` plus the data-only
term ``2 (n_on ln n_on - n_on)`` so that a perfect model scores 0):

.. math::
    PG = 2\left[\lambda - n_{on}\ln\lambda + \frac{(b - B)^2}{2\sigma^2}
         + n_{on}\ln n_{on} - n_{on}\right].

Edge cases:

- ``n_on = 0``: :math:`\lambda = \max(Q, 0)`; with ``B + mu_sig >= sigma^2`` this is XSPEC's
  closed form ``2 (mu_sig + B - sigma^2 / 2)``. When ``B + mu_sig < sigma^2`` the constrained
  profile sits on the boundary ``b = -mu_sig`` and gives ``(B + mu_sig)^2 / sigma^2``; XSPEC's
  closed form (which lets the Poisson mean go negative) would be lower. 3ML's formula gives
  the same boundary root (its ``0 * log(0)`` is taken as 0 here).
- ``bkg_error = 0``: the background is known, ``b = B``, and PG equals `cstat` with
  ``mu_on = mu_sig + B`` (no truncation at 1e-25: ``mu_sig + B`` must be > 0 where
  ``n_on > 0``, else the bin is scored as if it were 1e-300).
- 3ML instead switches to a background-free Poisson likelihood wherever ``B <= 0`` (it
  assumes ``bkg_error = 0`` there); see `fluxfit.stats.threeml_loglike_poisson_gaussian`.

Examples
--------
>>> import numpy as np
>>> from fluxfit.stats import pgstat, get_pgstat_mu_bkg
>>> n_on = np.array([12.0, 0.0])
>>> pgstat(n_on, mu_sig=np.array([7.0, 1.0]), bkg_counts=5.0, bkg_error=2.0).round(4)
array([0., 8.])
>>> get_pgstat_mu_bkg(n_on, np.array([7.0, 1.0]), 5.0, 2.0).round(4)
array([5., 1.])
"""

from __future__ import annotations

import numpy as np
from scipy import special

from fluxfit.errors import DatasetError
from fluxfit.stats._core import (
    _first_bad,
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

__all__ = ["pgstat", "pgstat_sum", "get_pgstat_mu_bkg"]

_sqrt = np.sqrt
_divide = np.divide
_less = np.less
_minimum_reduce = np.minimum.reduce


def _inputs(n_on, mu_sig, bkg_counts, bkg_error, owner: str, check: bool):
    bkg_counts = as_float(bkg_counts)
    if check and bkg_counts.size:
        finite = np.isfinite(bkg_counts)
        if not finite.all():
            index, value = _first_bad(bkg_counts, finite)
            raise DatasetError(
                f"{owner}: bkg_counts must be finite, got {value!r} at index {index}"
            )
    bkg_error = as_positive(bkg_error, "bkg_error", owner, check, allow_zero=True)
    return (
        as_counts(n_on, "n_on", owner, check),
        as_model(mu_sig),
        float(bkg_counts) if bkg_counts.ndim == 0 else bkg_counts,
        float(bkg_error) if bkg_error.ndim == 0 else bkg_error,
    )


def _profile(n_on, mu_sig, bkg_counts, variance):
    """Total predicted ON counts ``lam = mu_sig + b`` at the profiled background ``b``."""
    q = mu_sig + (bkg_counts - variance)  # Q; full broadcast shape but for n_on
    root = q * q + (4.0 * n_on) * variance  # n_on may add dimensions: not in place
    _sqrt(root, out=root)
    lam = root + q
    lam *= 0.5
    # Q < 0: lam = 2 n s2 / (root - Q), free of cancellation (root - Q > 0 there)
    negative = _less(q, 0.0)
    if negative.any():
        root -= q
        _divide((2.0 * n_on) * variance, root, out=lam, where=negative)
    return lam


def get_pgstat_mu_bkg(n_on, mu_sig, bkg_counts, bkg_error, *, check: bool = True):
    """Profiled ON-region background ``b`` of `pgstat` (what 3ML returns as its ``b``).

    It may be negative (down to ``-mu_sig``) when the background estimate is low compared
    with its error; ``mu_sig + b`` is never negative.
    """
    raw = (n_on, mu_sig, bkg_counts, bkg_error)
    n_on, mu_sig, bkg_counts, bkg_error = _inputs(*raw, "get_pgstat_mu_bkg", check)
    try:
        lam = _profile(n_on, mu_sig, bkg_counts, bkg_error * bkg_error)
        lam -= mu_sig
        if all_scalar(mu_sig, *raw):
            lam = lam[0]
    except ValueError as exc:
        raise shape_error(
            "get_pgstat_mu_bkg", exc, n_on=n_on, mu_sig=mu_sig, bkg_counts=bkg_counts
        ) from exc
    return lam


def _pgstat_core_sum(n_on, mu_sig, bkg_counts, bkg_error):
    return reduce_bins(_pgstat_core(n_on, mu_sig, bkg_counts, bkg_error), -1)


def _pgstat_core(n_on, mu_sig, bkg_counts, bkg_error):
    variance = bkg_error * bkg_error
    lam = _profile(n_on, mu_sig, bkg_counts, variance)
    # Gaussian penalty (b - B)^2 / (2 s2), zero where the background is exact (s2 = 0)
    delta = lam - mu_sig
    delta -= bkg_counts
    delta *= delta
    if (variance if isinstance(variance, float) else _minimum_reduce(variance, axis=None)) > 0:
        delta /= 2.0 * variance
    else:  # exact background (s = 0) in some bins: no penalty there, and no 0/0
        delta = _divide(delta, 2.0 * variance, out=np.zeros(delta.shape), where=variance > 0.0)
    stat = lam - xlogy(n_on, lam)
    stat += delta
    gof = special.xlogy(n_on, n_on)
    gof -= n_on
    stat += gof
    stat *= 2.0
    return stat


def pgstat(n_on, mu_sig, bkg_counts, bkg_error, *, check: bool = True):
    """PG-stat per bin (XSPEC ``pgstat``, 3ML's Poisson/Gaussian-background profile).

    Parameters
    ----------
    n_on : array_like
        Observed ON counts (>= 0).
    mu_sig : array_like
        Predicted signal counts (>= 0); may carry leading batch axes, e.g. ``(k, n)``.
    bkg_counts : array_like
        Background estimate in the ON region (counts, finite; may be <= 0).
    bkg_error : array_like
        Its Gaussian 1-sigma error in the ON region (counts, >= 0).
    check : bool
        Validate the data (skip in fit loops after validating once).

    Returns
    -------
    stat : `~numpy.ndarray`
        Per-bin statistic (dimensionless); 0 for a perfect model.
    """
    raw = (n_on, mu_sig, bkg_counts, bkg_error)
    arrays = _inputs(*raw, "pgstat", check)
    mu_sig = arrays[1]
    try:
        stat = in_row_blocks(_pgstat_core, arrays, mu_sig, -1, per_bin=True)
        stat = _pgstat_core(*arrays) if stat is None else stat
        return stat[0] if all_scalar(mu_sig, *raw) else stat
    except ValueError as exc:
        raise shape_error(
            "pgstat", exc, n_on=n_on, mu_sig=mu_sig, bkg_counts=bkg_counts, bkg_error=bkg_error
        ) from exc


def pgstat_sum(
    n_on,
    mu_sig,
    bkg_counts,
    bkg_error,
    axis: int | None = -1,
    mask=None,
    *,
    check: bool = True,
):
    """PG-stat summed over bins; ``axis`` and ``mask`` as in `fluxfit.stats.cash_sum`."""
    n_on, mu_sig, bkg_counts, bkg_error = _inputs(
        n_on, mu_sig, bkg_counts, bkg_error, "pgstat_sum", check
    )
    if mask is not None:
        selected = select_bins(mask, "pgstat_sum", n_on, mu_sig, bkg_counts, bkg_error)
        if selected is None:
            return reduce_bins(pgstat(n_on, mu_sig, bkg_counts, bkg_error, check=False), axis, mask)
        n_on, mu_sig, bkg_counts, bkg_error = selected
    arrays = (n_on, mu_sig, bkg_counts, bkg_error)
    try:
        stat = in_row_blocks(_pgstat_core_sum, arrays, mu_sig, axis)
        return reduce_bins(_pgstat_core(*arrays), axis) if stat is None else stat
    except ValueError as exc:
        raise shape_error(
            "pgstat_sum", exc, n_on=n_on, mu_sig=mu_sig, bkg_counts=bkg_counts
        ) from exc
