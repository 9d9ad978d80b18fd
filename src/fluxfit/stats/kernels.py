"""Compiled summed statistics for one set of model counts (see `fluxfit._jit`).

`cash_sum_kernel` and `wstat_sum_kernel` equal `cash_sum` and `WStatSum` (same formulas, same
truncation and ``0 ln 0`` handling) to rounding; they exist so that a compiled likelihood loop
can end in the statistic without returning to Python. The data-only terms come from
`WStatSum.kernel_rows` and are computed once per dataset.
"""

from __future__ import annotations

import math

from fluxfit._jit import jit

from ._core import TRUNCATION_VALUE

__all__ = ["cash_sum_kernel", "wstat_sum_kernel"]


@jit
def cash_sum_kernel(mu_sig, rows):
    """Cash statistic summed over bins: ``rows[0]`` counts, ``rows[1]`` known background."""
    counts = rows[0]
    background = rows[1]
    total = 0.0
    for c in range(mu_sig.size):
        mu = mu_sig[c] + background[c]
        if mu < TRUNCATION_VALUE:
            mu = TRUNCATION_VALUE
        n = counts[c]
        total += mu
        if n != 0.0:
            total -= n * math.log(mu)
    return 2.0 * total


@jit
def wstat_sum_kernel(mu_sig, rows, gof):
    """W-statistic summed over bins from `WStatSum.kernel_rows` (``rows``, ``gof``)."""
    n_on = rows[0]
    n_off = rows[1]
    alpha = rows[2]
    one_plus_alpha = rows[3]
    c0 = rows[4]
    d0 = rows[5]
    inverse = rows[6]
    total = 0.0
    for c in range(mu_sig.size):
        mu = mu_sig[c]
        root = c0[c] - one_plus_alpha[c] * mu
        mu_bkg = math.sqrt(root * root + d0[c] * mu) + root
        if mu_bkg < 0.0:
            mu_bkg = 0.0
        mu_bkg *= inverse[c]
        total += mu + mu_bkg * one_plus_alpha[c]
        if n_on[c] > 0.0:
            total -= n_on[c] * math.log(alpha[c] * mu_bkg + mu + 1e-300)
        if n_off[c] > 0.0:
            total -= n_off[c] * math.log(mu_bkg + 1e-300)
    return 2.0 * total + gof
