r"""Log-likelihoods normalised as 3ML reports them, and information criteria.

fluxfit's statistics are ``-2 ln L`` up to a data-only constant ``C`` (see `fluxfit.stats`).
Evidences, AIC and BIC are only comparable between programs with the same normalisation,
so results carry the *full* Poisson (or Gaussian) log-likelihood, as 3ML and XSPEC do::

    ln L_i = (C_i - stat_i) / 2

with ``C_i`` from `loglike_constant` (``threeml_wstat_constant`` & co. summed over the
fitted channels). Definitions of the measures (3ML 2.6.1,
``threeML/utils/statistics/stats_tools.py`` and ``bayesian/sampler_base.py``):

- ``AIC = -2 ln L + 2 k + 2 k (k + 1) / (n - k - 1)`` (3ML's small-sample AIC),
  ``BIC = -2 ln L + k ln n``, with k free parameters and n fitted data points. For an MLE,
  ``ln L`` is the maximum. For a Bayesian analysis 3ML plugs in the sum over datasets of
  ``ln L_i + ln pi`` at the MAP sample, which counts the log prior once *per dataset*; we use
  the log-likelihood at the MAP sample (so Bayesian and MLE values compare), and keep
  ``ln pi(MAP)`` in the measures: 3ML's number is ``AIC - 2 N_datasets ln pi(MAP)``.
- ``DIC`` and its effective number of parameters ``pDIC``, as 3ML computes them: with
  ``ln p = ln L + ln pi`` (log posterior, prior once), ``pDIC = 2 (ln p(mean) - E[ln p])``
  and ``DIC = -2 ln p(mean) + 2 pDIC``, where ``mean`` is the posterior mean of the
  parameters and ``E`` the posterior average. Gelman et al. (BDA3) define both with
  ``ln L`` instead of ``ln p``; the two differ by ``ln pi(mean) - E[ln pi]``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["loglike_constant", "n_data_points", "aic", "bic", "dic"]


def loglike_constant(dataset) -> float:
    """``C`` such that ``ln L = (C - stat) / 2`` is 3ML's log-likelihood of ``dataset``.

    Known for the Cash, W-stat and PG-stat spectrum datasets and for chi2 (0); any other
    statistic gets 0 (its log-likelihood is then ``-stat / 2``, defined up to a constant).
    """
    from fluxfit.stats import (
        threeml_cash_constant,
        threeml_pgstat_constant,
        threeml_wstat_constant,
    )

    stat_type = getattr(dataset, "stat_type", "")
    mask = getattr(dataset, "mask", None)
    if stat_type not in ("cash", "wstat", "pgstat") or mask is None:
        return 0.0
    counts = np.asarray(dataset.counts)[mask]
    if stat_type == "cash":
        return float(threeml_cash_constant(counts, check=False).sum())
    counts_off = np.asarray(dataset.counts_off)[mask]
    if stat_type == "wstat":
        return float(threeml_wstat_constant(counts, counts_off, check=False).sum())
    alpha = np.asarray(dataset.alpha)[mask]
    error = np.asarray(dataset.counts_off_error)[mask]
    return float(threeml_pgstat_constant(counts, alpha * counts_off, alpha * error).sum())


def n_data_points(dataset) -> int:
    """Fitted data points of a dataset (channels or flux points in its mask)."""
    mask = getattr(dataset, "mask", None)
    if mask is not None:
        return int(np.count_nonzero(mask))
    counts = getattr(dataset, "counts", None)
    return int(np.size(counts)) if counts is not None else 0


def aic(log_like: float, n_parameters: int, n_points: int) -> float:
    """3ML's AIC with the small-sample correction (NaN when ``n_points <= k + 1``)."""
    k = n_parameters
    if n_points - k - 1 <= 0:
        return float("nan")
    return float(-2.0 * log_like + 2 * k + 2 * k * (k + 1) / (n_points - k - 1))


def bic(log_like: float, n_parameters: int, n_points: int) -> float:
    """``-2 ln L + k ln n``."""
    return float(-2.0 * log_like + n_parameters * np.log(n_points))


def dic(log_posterior_at_mean: float, mean_log_posterior: float) -> tuple[float, float]:
    """(DIC, pDIC) from ``ln p`` at the posterior mean and the posterior mean of ``ln p``."""
    pdic = 2.0 * (log_posterior_at_mean - mean_log_posterior)
    return float(-2.0 * log_posterior_at_mean + 2.0 * pdic), float(pdic)
