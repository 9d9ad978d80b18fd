r"""Sign conventions between statistics, log-likelihoods and priors.

- A *statistic* is :math:`-2 \ln L` up to a data-only constant; fits minimise it.
- A *log-likelihood* is :math:`\ln L = -\mathrm{stat} / 2` (plus that constant).
- A *log-prior* is the sum over parameters of the natural log of each normalised prior
  density (`fluxfit.models.Prior.logpdf`); ``-inf`` outside the support.
- Samplers use the *log-posterior* :math:`\ln L + \ln \pi`; a maximum-a-posteriori fit
  minimises :math:`\mathrm{stat} - 2 \ln \pi` (`prior_stat` is the second term).

Examples
--------
>>> import numpy as np
>>> from fluxfit.stats import log_posterior, log_prior_sum, prior_stat
>>> log_pdf = np.array([[-1.0, -0.5], [-2.0, -np.inf]])  # 2 samples x 2 parameters
>>> log_prior_sum(log_pdf)
array([-1.5, -inf])
>>> prior_stat(log_pdf)
array([ 3., inf])
>>> log_posterior(np.array([10.0, 12.0]), log_prior_sum(log_pdf))
array([-6.5, -inf])
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "log_prior_sum",
    "prior_stat",
    "stat_to_loglike",
    "loglike_to_stat",
    "log_posterior",
]

_add_reduce = np.add.reduce


def log_prior_sum(log_pdf, axis: int | None = -1):
    """Log-prior of each parameter vector: the sum of per-parameter log-densities.

    Parameters
    ----------
    log_pdf : array_like
        Natural-log prior densities, parameters along ``axis`` (e.g. shape ``(k, p)`` for
        ``k`` samples of ``p`` parameters). ``-inf`` (outside a support) propagates.
    axis : int or None
        Axis of the parameters; ``None`` sums everything.

    Returns
    -------
    float or `~numpy.ndarray`
        :math:`\\ln \\pi` per parameter vector.
    """
    return _add_reduce(np.asarray(log_pdf, dtype=np.float64), axis=axis)


def prior_stat(log_pdf, axis: int | None = -1):
    """The prior term in statistic units, ``-2 * log_prior_sum(log_pdf)``.

    Add it to a statistic to get ``-2 ln(posterior)`` up to a constant (MAP fits).
    """
    return -2.0 * log_prior_sum(log_pdf, axis)


def stat_to_loglike(stat):
    """Log-likelihood from a statistic, ``-stat / 2``."""
    return -0.5 * np.asarray(stat, dtype=np.float64)


def loglike_to_stat(loglike):
    """Statistic from a log-likelihood, ``-2 * loglike``."""
    return -2.0 * np.asarray(loglike, dtype=np.float64)


def log_posterior(stat, log_prior):
    """Unnormalised log-posterior ``-stat / 2 + log_prior`` (both broadcast)."""
    return np.subtract(
        np.asarray(log_prior, dtype=np.float64), 0.5 * np.asarray(stat, dtype=np.float64)
    )
