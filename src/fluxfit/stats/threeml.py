r"""3ML's per-bin log-likelihoods, and the data-only constants converting ours to them.

3ML (``threeML/utils/statistics/likelihood_functions.py``, read at threeML commit
``32ac3a9``, the numba version of threeML 2.x; our reference results come from 2.6.1)
reports log-likelihoods that keep the ``ln n!`` terms and, for a Gaussian background, the
Gaussian normalisation. The functions here reproduce them per bin, with
``ln n! = gammaln(n + 1)`` (3ML: ``math.lgamma(n + 1)`` in
``threeML.utils.statistics.gammaln.logfactorial``) and ``0 ln 0 = 0`` (3ML's ``xlogy_one``).
Arguments are in 3ML's order. With ``o`` = ``n_on``, ``b`` = ``n_off``, ``M`` = ``mu_sig``:

========================================  ==================================================
3ML function                              here (arguments)
========================================  ==================================================
``poisson_log_likelihood_ideal_bkg``      `threeml_loglike_poisson_ideal_bkg` (o, B, M)
``poisson_observed_poisson_background``   `threeml_loglike_poisson_poisson` (o, b, alpha, M)
``poisson_observed_gaussian_background``  `threeml_loglike_poisson_gaussian` (o, B, sigma, M)
``-half_chi2`` (Gaussian data)            `threeml_loglike_gaussian` (y, yerr, expectation)
========================================  ==================================================

Our statistics relate to them bin by bin as ``stat = -2 ln L_3ML + C(data)``:

- Cash (``mu_on = M + B``): :math:`C = -2 \ln o!` (`threeml_cash_constant`), for
  ``mu_on > 1e-25`` (below, our Cash truncates ``mu_on`` and 3ML gives ``-inf`` if ``o > 0``).
- C-stat: :math:`C = 2(o \ln o - o - \ln o!)` (`threeml_cstat_constant`).
- W-stat (``extra_terms=True``, Gammapy's): :math:`C = 2(o \ln o - o - \ln o!) +
  2(b \ln b - b - \ln b!)` (`threeml_wstat_constant`), independent of ``alpha`` and of the
  model: 3ML profiles the same background (its ``B_mle`` is our `get_wstat_mu_bkg`; it
  returns the ON-region background ``alpha * B_mle``). Without the extra terms
  :math:`C = -2(\ln o! + \ln b!)`.
- PG-stat: :math:`C = 2(o \ln o - o - \ln o!) - \ln 2\pi - 2 \ln\sigma` where ``B > 0``
  (`threeml_pgstat_constant`). Where ``B <= 0`` 3ML drops the background entirely
  (``xlogy(o, M) - M - ln o!``); this equals our PG-stat (minus ``C = 2(o ln o - o - ln o!)``)
  only where ``B = 0`` and ``sigma = 0`` (a background known to be 0). 3ML's comment states that
  ``sigma = 0`` only occurs together with ``B = 0``; for ``B > 0, sigma = 0`` 3ML divides by
  zero, and we raise (or return NaN with ``check=False``).
- chi2: :math:`C = 0`.

Assumptions not verified against a running 3ML (none is installed here):

- counts are integers: 3ML's ``logfactorial`` is compiled for ``int64`` input, so for
  non-integer counts 3ML may truncate or refuse them, while ``gammaln(n + 1)`` here is the
  smooth continuation;
- 3ML's ``alpha`` (``scale_factor``) is a scalar; arrays (one per bin) are accepted here;
- 3ML evaluates these with numba ``fastmath=True``, so its last digits may differ from ours
  (relative differences of order 1e-15 per bin); the formulas were transcribed from the
  source, not compared with a running 3ML;
- where 3ML computes ``0 * log(0)`` in the Gaussian-background branch (``o = 0`` with the
  profiled ``b = -M``), the result is taken as 0 here (3ML's numba code may give NaN).

Examples
--------
>>> import numpy as np
>>> from fluxfit.stats import wstat, threeml_loglike_poisson_poisson, threeml_wstat_constant
>>> n_on, n_off, alpha, mu_sig = np.array([3.0, 0.0]), np.array([4.0, 2.0]), 0.5, 1.2
>>> ours = wstat(n_on, n_off, alpha, mu_sig)
>>> theirs = threeml_loglike_poisson_poisson(n_on, n_off, alpha, mu_sig)
>>> np.allclose(ours, -2 * theirs + threeml_wstat_constant(n_on, n_off))
True
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln, xlogy

from fluxfit.errors import DatasetError
from fluxfit.stats._core import (
    all_scalar,
    as_counts,
    as_float,
    as_model,
    as_positive,
    shape_error,
)
from fluxfit.stats.pgstat import _profile
from fluxfit.stats.wstat import _mu_bkg

__all__ = [
    "threeml_loglike_poisson_ideal_bkg",
    "threeml_loglike_poisson_poisson",
    "threeml_loglike_poisson_gaussian",
    "threeml_loglike_gaussian",
    "threeml_cash_constant",
    "threeml_cstat_constant",
    "threeml_wstat_constant",
    "threeml_pgstat_constant",
]

_LOG_2PI = math.log(2.0 * math.pi)


def _log_factorial(counts: np.ndarray) -> np.ndarray:
    return gammaln(counts + 1.0)


def _poisson_data_term(counts: np.ndarray) -> np.ndarray:
    """2 (n ln n - n - ln n!) per bin."""
    term = xlogy(counts, counts)
    term -= counts
    term -= _log_factorial(counts)
    term *= 2.0
    return term


def threeml_loglike_poisson_ideal_bkg(
    n_on, mu_bkg, mu_sig, *, return_background: bool = False, check: bool = True
):
    """3ML's ``poisson_log_likelihood_ideal_bkg``: ``xlogy(o, M + B) - (M + B) - ln o!``.

    Parameters
    ----------
    n_on : array_like
        Observed counts ``o`` (>= 0).
    mu_bkg : array_like
        Known background counts ``B`` in the ON region (3ML: scaled background counts).
    mu_sig : array_like
        Predicted source counts ``M`` (batch axes allowed).
    return_background : bool
        Also return 3ML's second value (``B`` itself).
    check : bool
        Validate ``n_on``.

    Returns
    -------
    log_like : `~numpy.ndarray`
        Per-bin log-likelihood; with ``return_background`` a tuple ``(log_like, mu_bkg)``.
    """
    n_on = as_counts(n_on, "n_on", "threeml_loglike_poisson_ideal_bkg", check)
    mu_bkg = as_float(mu_bkg)
    try:
        predicted = mu_bkg + as_float(mu_sig)
        log_like = xlogy(n_on, predicted)
        log_like -= predicted
        log_like -= _log_factorial(n_on)
    except ValueError as exc:
        raise shape_error(
            "threeml_loglike_poisson_ideal_bkg", exc, n_on=n_on, mu_bkg=mu_bkg, mu_sig=mu_sig
        ) from exc
    return (log_like, mu_bkg) if return_background else log_like


def threeml_loglike_poisson_poisson(
    n_on, n_off, alpha, mu_sig, *, return_background: bool = False, check: bool = True
):
    """3ML's ``poisson_observed_poisson_background`` (profiled Poisson background).

    ``xlogy(o, alpha B + M) + xlogy(b, B) - (1 + alpha) B - M - ln b! - ln o!`` with ``B``
    the profiled OFF-region background (`fluxfit.stats.get_wstat_mu_bkg`; 3ML's ``B_mle``,
    which is 0 where ``n_off = 0`` and ``M >= alpha n_on / (1 + alpha)``).

    Parameters
    ----------
    n_on, n_off : array_like
        ON (``observed_counts``) and OFF (``background_counts``) counts (>= 0).
    alpha : array_like
        Exposure ratio ON/OFF (3ML's ``scale_factor``; > 0).
    mu_sig : array_like
        Predicted source counts ``M`` (batch axes allowed).
    return_background : bool
        Also return 3ML's second value, the ON-region background ``alpha * B``.
    check : bool
        Validate counts and ``alpha``.

    Returns
    -------
    log_like : `~numpy.ndarray`
        Per-bin log-likelihood; with ``return_background`` a tuple.
    """
    owner = "threeml_loglike_poisson_poisson"
    raw = (n_on, n_off, alpha, mu_sig)
    n_on = as_counts(n_on, "n_on", owner, check)
    n_off = as_counts(n_off, "n_off", owner, check)
    alpha = as_positive(alpha, "alpha", owner, check, allow_zero=False)
    mu_sig = as_model(mu_sig)
    try:
        mu_bkg = _mu_bkg(n_on, n_off, alpha, mu_sig)
        bkg_on = alpha * mu_bkg
        log_like = xlogy(n_on, bkg_on + mu_sig)
        log_like += xlogy(n_off, mu_bkg)
        log_like -= (1.0 + alpha) * mu_bkg
        log_like -= mu_sig
        log_like -= _log_factorial(n_off)
        log_like -= _log_factorial(n_on)
    except ValueError as exc:
        raise shape_error(owner, exc, n_on=n_on, n_off=n_off, alpha=alpha, mu_sig=mu_sig) from exc
    if all_scalar(mu_sig, *raw):
        log_like, bkg_on = log_like[0], bkg_on[0]
    return (log_like, bkg_on) if return_background else log_like


def threeml_loglike_poisson_gaussian(
    n_on,
    bkg_counts,
    bkg_error,
    mu_sig,
    *,
    return_background: bool = False,
    check: bool = True,
):
    """3ML's ``poisson_observed_gaussian_background`` (profiled Gaussian background).

    Where ``bkg_counts > 0``: ``-(b - B)^2 / (2 s^2) + o ln(b + M) - b - M - ln o!
    - ln(2 pi) / 2 - ln s``; elsewhere ``xlogy(o, M) - M - ln o!`` (3ML's branches), with
    ``b`` the profiled background (`fluxfit.stats.get_pgstat_mu_bkg`).

    Parameters
    ----------
    n_on : array_like
        Observed counts ``o`` (>= 0).
    bkg_counts, bkg_error : array_like
        Background estimate ``B`` and its error ``s`` in the ON region (3ML passes them
        multiplied by the scale factor).
    mu_sig : array_like
        Predicted source counts ``M`` (batch axes allowed).
    return_background : bool
        Also return 3ML's second value, the profiled ``b`` (for every bin).
    check : bool
        Validate the data; raises `DatasetError` where ``B > 0`` and ``s = 0`` (3ML divides
        by zero there). Without the check those bins give NaN.

    Returns
    -------
    log_like : `~numpy.ndarray`
        Per-bin log-likelihood; with ``return_background`` a tuple.
    """
    owner = "threeml_loglike_poisson_gaussian"
    raw = (n_on, bkg_counts, bkg_error, mu_sig)
    n_on = as_counts(n_on, "n_on", owner, check)
    bkg_counts = as_float(bkg_counts)
    bkg_error = as_positive(bkg_error, "bkg_error", owner, check, allow_zero=True)
    mu_sig = as_model(mu_sig)
    with_bkg = bkg_counts > 0.0
    if check and np.any(with_bkg & (bkg_error == 0.0)):
        raise DatasetError(
            f"{owner}: bkg_error is 0 where bkg_counts > 0; 3ML's likelihood divides by zero there"
        )
    try:
        variance = bkg_error * bkg_error
        predicted = _profile(n_on, mu_sig, bkg_counts, variance)  # b + M
        background = predicted - mu_sig
        log_factorial = _log_factorial(n_on)
        delta = background - bkg_counts
        delta *= delta
        penalty = np.full(np.broadcast_shapes(delta.shape, variance.shape), np.nan)
        np.divide(delta, 2.0 * variance, out=penalty, where=variance > 0.0)
        log_sigma = np.full(bkg_error.shape, np.nan)
        np.log(bkg_error, out=log_sigma, where=bkg_error > 0.0)
        profiled = xlogy(n_on, predicted)
        profiled -= predicted
        profiled -= penalty
        profiled -= log_factorial
        profiled -= 0.5 * _LOG_2PI + log_sigma
        no_bkg = xlogy(n_on, mu_sig) - mu_sig
        no_bkg -= log_factorial
        log_like = np.where(with_bkg, profiled, no_bkg)
    except ValueError as exc:
        raise shape_error(
            owner, exc, n_on=n_on, bkg_counts=bkg_counts, bkg_error=bkg_error, mu_sig=mu_sig
        ) from exc
    if all_scalar(mu_sig, *raw):
        log_like, background = log_like[0], background[0]
    return (log_like, background) if return_background else log_like


def threeml_loglike_gaussian(y, yerr, expectation):
    """3ML's Gaussian log-likelihood per point, ``-half_chi2 = -((y - m) / yerr)^2 / 2``."""
    residual = np.subtract(y, expectation, dtype=np.float64)
    residual /= as_float(yerr)
    residual *= residual
    residual *= -0.5
    return residual


def threeml_cash_constant(n_on, *, check: bool = True):
    """Per-bin ``C = cash + 2 ln L_3ML(ideal background) = -2 ln(n_on!)``."""
    n_on = as_counts(n_on, "n_on", "threeml_cash_constant", check)
    return -2.0 * _log_factorial(n_on)


def threeml_cstat_constant(n_on, *, check: bool = True):
    """Per-bin ``C = cstat + 2 ln L_3ML(ideal background) = 2 (n ln n - n - ln n!)``."""
    n_on = as_counts(n_on, "n_on", "threeml_cstat_constant", check)
    return _poisson_data_term(n_on)


def threeml_wstat_constant(n_on, n_off, extra_terms: bool = True, *, check: bool = True):
    """Per-bin ``C = wstat + 2 ln L_3ML(Poisson background)``.

    ``2 (o ln o - o - ln o!) + 2 (b ln b - b - ln b!)`` with Gammapy's extra terms
    (``wstat(..., extra_terms=True)``, the default), else ``-2 (ln o! + ln b!)``.
    """
    n_on = as_counts(n_on, "n_on", "threeml_wstat_constant", check)
    n_off = as_counts(n_off, "n_off", "threeml_wstat_constant", check)
    try:
        if extra_terms:
            return _poisson_data_term(n_on) + _poisson_data_term(n_off)
        return -2.0 * (_log_factorial(n_on) + _log_factorial(n_off))
    except ValueError as exc:
        raise shape_error("threeml_wstat_constant", exc, n_on=n_on, n_off=n_off) from exc


def threeml_pgstat_constant(n_on, bkg_counts, bkg_error, *, check: bool = True):
    """Per-bin ``C = pgstat + 2 ln L_3ML(Gaussian background)``.

    ``2 (o ln o - o - ln o!) - ln(2 pi) - 2 ln s`` where ``bkg_counts > 0`` and
    ``2 (o ln o - o - ln o!)`` elsewhere. Exact where ``bkg_counts > 0, s > 0`` or
    ``bkg_counts = s = 0``; elsewhere 3ML ignores the background (see the module docstring).
    """
    owner = "threeml_pgstat_constant"
    n_on = as_counts(n_on, "n_on", owner, check)
    bkg_counts = as_float(bkg_counts)
    bkg_error = as_positive(bkg_error, "bkg_error", owner, check, allow_zero=True)
    with_bkg = bkg_counts > 0.0
    if check and np.any(with_bkg & (bkg_error == 0.0)):
        raise DatasetError(f"{owner}: bkg_error is 0 where bkg_counts > 0 (3ML is undefined)")
    try:
        log_sigma = np.full(bkg_error.shape, np.nan)
        np.log(bkg_error, out=log_sigma, where=bkg_error > 0.0)
        gaussian = np.where(with_bkg, _LOG_2PI + 2.0 * log_sigma, 0.0)
        return _poisson_data_term(n_on) - gaussian
    except ValueError as exc:
        raise shape_error(
            owner, exc, n_on=n_on, bkg_counts=bkg_counts, bkg_error=bkg_error
        ) from exc
