r"""Gaussian statistics for measurements with errors (flux points, binned fluxes).

- `chi2`: :math:`((d - m) / \sigma)^2` per point.
- `chi2_asymmetric`: the same with :math:`\sigma` = ``errp`` where the model is at or
  above the data and ``errn`` where it is below (Gammapy's
  ``Chi2AsymmetricErrorFitStatistic``: ``mask_p = model >= data``), optionally falling back to
  a symmetric ``err`` where the chosen one is NaN.
- `upper_limit_stat`: Gammapy's term for an upper limit ``ul`` in that same statistic,
  ``2 ln[erfc((ul - m) / s) / erfc(ul / s)]`` with scale ``s = ul`` by default. It is 0 for
  ``m = 0``, negative below and positive (bounded by ``2 ln(2 / erfc(ul / s))``) above; it
  is evaluated with `scipy.special.log_ndtr`, so it stays finite where Gammapy's ``erfc``
  underflows.

All are ``-2 ln L`` up to data-only constants: 3ML's Gaussian likelihood is exactly
``-chi2 / 2`` (its ``half_chi2``), so the constant relating them is 0.

Examples
--------
>>> import numpy as np
>>> from fluxfit.stats import chi2, chi2_asymmetric
>>> data, model = np.array([1.1, 0.9]), np.array([1.0, 1.0])
>>> chi2(data, model, 0.1).round(6)
array([1., 1.])
>>> chi2_asymmetric(data, model, errn=0.1, errp=0.2).round(6)
array([1.  , 0.25])
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr

from fluxfit.stats._core import as_float, as_positive, reduce_bins, select_bins, shape_error

__all__ = ["chi2", "chi2_sum", "chi2_asymmetric", "upper_limit_stat"]

_SQRT2 = float(np.sqrt(2.0))


def chi2(data, model, error, *, check: bool = True):
    """Chi-square per point, ``((data - model) / error) ** 2``.

    Parameters
    ----------
    data : array_like
        Measured values (any unit, same as ``model`` and ``error``).
    model : array_like
        Predicted values, broadcastable with ``data`` (batch axes allowed).
    error : array_like
        1-sigma errors (> 0, finite).
    check : bool
        Validate ``error``.

    Returns
    -------
    stat : `~numpy.ndarray`
        Per-point statistic (dimensionless).
    """
    data = as_float(data)
    error = as_positive(error, "error", "chi2", check, allow_zero=False)
    try:
        stat = np.subtract(data, model, dtype=np.float64)
        stat /= error
    except ValueError as exc:
        raise shape_error("chi2", exc, data=data, model=model, error=error) from exc
    stat *= stat
    return stat


def chi2_sum(data, model, error, axis: int | None = -1, mask=None, *, check: bool = True):
    """Chi-square summed over points; ``axis`` and ``mask`` as in `fluxfit.stats.cash_sum`."""
    data = as_float(data)
    model = as_float(model)
    error = as_positive(error, "error", "chi2_sum", check, allow_zero=False)
    if mask is not None:
        selected = select_bins(mask, "chi2_sum", data, model, error)
        if selected is None:
            return reduce_bins(chi2(data, model, error, check=False), axis, mask)
        data, model, error = selected
    return reduce_bins(chi2(data, model, error, check=False), axis)


def chi2_asymmetric(data, model, errn, errp, err=None, *, check: bool = True):
    """Chi-square with asymmetric errors chosen by the side of the model.

    Parameters
    ----------
    data, model : array_like
        Measured and predicted values (batch axes allowed on ``model``).
    errn, errp : array_like
        Negative and positive 1-sigma errors (> 0). ``errp`` applies where
        ``model >= data``, ``errn`` where ``model < data`` (as Gammapy).
    err : array_like, optional
        Symmetric error used where the chosen asymmetric error is NaN.
    check : bool
        Validate the errors (NaN allowed only when ``err`` is given).

    Returns
    -------
    stat : `~numpy.ndarray`
        Per-point statistic (dimensionless).
    """
    data = as_float(data)
    model = as_float(model)
    if err is None:
        errn = as_positive(errn, "errn", "chi2_asymmetric", check, allow_zero=False)
        errp = as_positive(errp, "errp", "chi2_asymmetric", check, allow_zero=False)
    else:
        errn, errp = as_float(errn), as_float(errp)
        err = as_positive(err, "err", "chi2_asymmetric", check, allow_zero=False)
    try:
        residual = model - data
        scale = np.where(residual >= 0.0, errp, errn)
        if err is not None:
            scale = np.where(np.isnan(scale), err, scale)
        residual /= scale
    except ValueError as exc:
        raise shape_error(
            "chi2_asymmetric", exc, data=data, model=model, errn=errn, errp=errp
        ) from exc
    residual *= residual
    return residual


def upper_limit_stat(model, ul, scale=None):
    r"""Gammapy's statistic term for an upper limit, per point.

    ``2 * ln(erfc((ul - model) / scale) / erfc(ul / scale))`` with ``scale = ul`` by default
    (Gammapy's ``Chi2AsymmetricErrorFitStatistic`` uses the upper limit as the scale),
    computed as ``2 * (log_ndtr(-sqrt(2) (ul - model) / scale) - log_ndtr(-sqrt(2) ul / scale))``
    using :math:`\operatorname{erfc}(x) = 2\,\Phi(-\sqrt2 x)`.

    Parameters
    ----------
    model : array_like
        Predicted values (batch axes allowed).
    ul : array_like
        Upper limits (> 0), same unit as ``model``.
    scale : array_like, optional
        Width of the error function (default: ``ul``).

    Returns
    -------
    stat : `~numpy.ndarray`
        Per-point term (dimensionless).
    """
    ul = as_float(ul)
    scale = ul if scale is None else as_float(scale)
    try:
        argument = np.subtract(model, ul, dtype=np.float64)
        argument *= _SQRT2
        argument /= scale
        stat = log_ndtr(argument)
        stat -= log_ndtr(-_SQRT2 * ul / scale)
    except ValueError as exc:
        raise shape_error("upper_limit_stat", exc, model=model, ul=ul) from exc
    stat *= 2.0
    return stat
