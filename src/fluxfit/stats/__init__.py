r"""Fit statistics as pure, vectorised functions of counts (or fluxes) and predictions.

Every statistic is ``-2 ln L`` up to a data-only constant, evaluated per bin in float64
numpy; ``*_sum`` helpers (or an ``axis`` argument) give one number per batch row. Inputs
broadcast, so a batch of ``k`` predictions of shape ``(k, n)`` against data of shape
``(n,)`` costs one call and returns ``(k, n)`` per bin or ``(k,)`` summed. Functions take
already-masked arrays; the ``*_sum`` helpers also accept a boolean ``mask`` (a 1-D mask
over the last axis skips the masked bins entirely). No warnings are raised on valid input,
including zero counts (``0 ln 0 = 0``). Every function validates its data (non-negative
counts, positive ``alpha`` and errors) unless ``check=False``, the setting for fit loops
over data validated once; errors are `fluxfit.errors.DatasetError`. Model batches of more
than 32768 values are evaluated in blocks of rows that stay in cache.

===========================  ============================================================
statistic                    data and model
===========================  ============================================================
`cash`, `cstat`              Poisson counts, known background folded into ``mu_on``
`wstat`                      Poisson ON and OFF counts, background profiled
`pgstat`                     Poisson counts, Gaussian background estimate, profiled
`chi2`, `chi2_asymmetric`    Gaussian measurements (flux points); `upper_limit_stat`
===========================  ============================================================

Conventions and their sources:

- Cash, C-stat and W-stat are Gammapy's (``gammapy.stats.fit_statistics``, Gammapy 2.x);
  on 2e5 random bins covering every edge case, Cash and W-stat agree with Gammapy's code to
  ~1e-14 relative and C-stat to ~1e-11 (Gammapy subtracts two logs).
  Cash truncates ``mu_on`` at 1e-25 (`TRUNCATION_VALUE`); W-stat includes the
  goodness-of-fit terms (``extra_terms=True``), so a saturated model scores 0.
- PG-stat is XSPEC's ``pgstat`` with 3ML's profile (see `fluxfit.stats.pgstat`).
- ``statistic = -2 ln L``; posteriors use ``ln L + ln prior`` (`fluxfit.stats.conventions`).

Relation to 3ML. 3ML reports per-bin log-likelihoods including ``ln n!`` (and, for a
Gaussian background, its normalisation). For every statistic, bin by bin::

    stat = -2 * lnL_3ML + C(data)

    cash    C = -2 ln(o!)                                   threeml_cash_constant(o)
    cstat   C = 2 (o ln o - o - ln o!)                      threeml_cstat_constant(o)
    wstat   C = 2 (o ln o - o - ln o!) + 2 (b ln b - b - ln b!)
                                                            threeml_wstat_constant(o, b)
    pgstat  C = 2 (o ln o - o - ln o!) - ln(2 pi) - 2 ln s  (where B > 0)
                                                            threeml_pgstat_constant(o, B, s)
    chi2    C = 0

with ``o`` the ON counts, ``b`` the OFF counts, ``B`` and ``s`` the Gaussian background and
its error, ``0 ln 0 = 0``. ``C`` does not depend on the model, so differences of statistics
(profiles, TS, errors) are identical. `threeml_loglike_poisson_ideal_bkg`,
`threeml_loglike_poisson_poisson`, `threeml_loglike_poisson_gaussian` and
`threeml_loglike_gaussian` return 3ML's log-likelihoods themselves (details and unverified
assumptions in `fluxfit.stats.threeml`).

Examples
--------
>>> import numpy as np
>>> from fluxfit.stats import cash_sum
>>> n_on = np.array([2.0, 0.0, 5.0])
>>> mu_batch = np.array([[2.0, 0.1, 5.0], [1.0, 1.0, 1.0]])  # 2 parameter vectors
>>> cash_sum(n_on, mu_batch).round(3)
array([-4.667,  6.   ])
"""

from fluxfit.stats._core import TRUNCATION_VALUE
from fluxfit.stats.conventions import (
    log_posterior,
    log_prior_sum,
    loglike_to_stat,
    prior_stat,
    stat_to_loglike,
)
from fluxfit.stats.gaussian import chi2, chi2_asymmetric, chi2_sum, upper_limit_stat
from fluxfit.stats.pgstat import get_pgstat_mu_bkg, pgstat, pgstat_sum
from fluxfit.stats.poisson import cash, cash_sum, cstat, cstat_cash_offset, cstat_sum
from fluxfit.stats.threeml import (
    threeml_cash_constant,
    threeml_cstat_constant,
    threeml_loglike_gaussian,
    threeml_loglike_poisson_gaussian,
    threeml_loglike_poisson_ideal_bkg,
    threeml_loglike_poisson_poisson,
    threeml_pgstat_constant,
    threeml_wstat_constant,
)
from fluxfit.stats.wstat import WStatSum, get_wstat_gof_terms, get_wstat_mu_bkg, wstat, wstat_sum

__all__ = [
    "TRUNCATION_VALUE",
    "cash",
    "cash_sum",
    "cstat",
    "cstat_sum",
    "cstat_cash_offset",
    "wstat",
    "wstat_sum",
    "WStatSum",
    "get_wstat_mu_bkg",
    "get_wstat_gof_terms",
    "pgstat",
    "pgstat_sum",
    "get_pgstat_mu_bkg",
    "chi2",
    "chi2_sum",
    "chi2_asymmetric",
    "upper_limit_stat",
    "log_prior_sum",
    "prior_stat",
    "stat_to_loglike",
    "loglike_to_stat",
    "log_posterior",
    "threeml_loglike_poisson_ideal_bkg",
    "threeml_loglike_poisson_poisson",
    "threeml_loglike_poisson_gaussian",
    "threeml_loglike_gaussian",
    "threeml_cash_constant",
    "threeml_cstat_constant",
    "threeml_wstat_constant",
    "threeml_pgstat_constant",
]
