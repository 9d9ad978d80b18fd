"""Timings of the fit statistics, against Gammapy's and 3ML's where importable.

The same data for every package: n = 128 or 1000 bins (Poisson counts with about 20 % zeros,
ON/OFF ratio 0.2), one prediction vector or a batch of 1000 against the same data. The work is
the statistic summed over bins, as a fit loop needs it:

- Cash with a known background: fluxfit `cash_sum` (``check=False``, the fit-loop setting),
  its compiled kernel (`fluxfit.stats.kernels`, numba), Gammapy ``cash(...).sum()``, 3ML
  ``poisson_log_likelihood_ideal_bkg`` (numba; its log-likelihood, summed);
- W-stat (profiled OFF background): fluxfit `WStatSum` (data terms precomputed, what datasets
  use), `wstat_sum`, the kernel, Gammapy ``wstat(...).sum()``, 3ML
  ``poisson_observed_poisson_background`` (numba), summed.

3ML's functions take one vector per call: its batch rows are 1000 calls. Every package's
numbers agree (checked before timing, relative 1e-9 after converting 3ML's log-likelihoods).

Usage::

    python bench/bench_stats.py              # prints, and updates bench/RESULTS.md
    python bench/bench_stats.py --no-write
"""

from __future__ import annotations

import argparse
import contextlib
import io
import warnings

import numpy as np

import _common
from fluxfit import stats

HEADING = "## Fit statistics (bench/bench_stats.py)"
CONFIGS = [(128, None), (1000, None), (128, 1000), (1000, 1000)]


def _data(n_bins: int, batch: int | None, seed: int = 1):
    rng = np.random.default_rng(seed)
    shape = (n_bins,) if batch is None else (batch, n_bins)
    return dict(
        n_on=rng.poisson(np.full(n_bins, 3.0)).astype(float),
        n_off=rng.poisson(np.full(n_bins, 8.0)).astype(float),
        alpha=0.2,
        mu_sig=rng.uniform(0.0, 6.0, shape),
        bkg=rng.uniform(0.2, 1.0, n_bins),
    )


def _rows(function, mu):
    """Apply a one-vector function to every row of ``mu`` (1-D: once)."""
    if mu.ndim == 1:
        return function(mu)
    return np.array([function(row) for row in mu])


def fluxfit_cases(d):
    from fluxfit._jit import jit_enabled

    n_on, n_off, alpha, mu, bkg = d["n_on"], d["n_off"], d["alpha"], d["mu_sig"], d["bkg"]
    wsum = stats.WStatSum(n_on, n_off, alpha)
    cases = {
        "cash": lambda: stats.cash_sum(n_on, mu + bkg, check=False),
        "wstat": lambda: wsum(mu),
        "wstat (wstat_sum)": lambda: stats.wstat_sum(n_on, n_off, alpha, mu, check=False),
    }
    if jit_enabled():
        from fluxfit.stats.kernels import cash_sum_kernel, wstat_sum_kernel

        cash_rows = np.stack([n_on, bkg])
        rows, gof = wsum.kernel_rows()
        cases["cash (kernel)"] = lambda: _rows(lambda m: cash_sum_kernel(m, cash_rows), mu)
        cases["wstat (kernel)"] = lambda: _rows(lambda m: wstat_sum_kernel(m, rows, gof), mu)
    return cases


def gammapy_cases(d):
    try:
        from gammapy import __version__
        from gammapy.stats import cash, wstat
    except ImportError:
        return None, None
    n_on, n_off, alpha, mu, bkg = d["n_on"], d["n_off"], d["alpha"], d["mu_sig"], d["bkg"]
    return {
        "cash": lambda: cash(n_on, mu + bkg).sum(axis=-1),
        "wstat": lambda: wstat(n_on, n_off, alpha, mu).sum(axis=-1),
    }, f"Gammapy {__version__}"


def threeml_cases(d):
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from threeML import __version__
            from threeML.utils.statistics.likelihood_functions import (
                poisson_log_likelihood_ideal_bkg,
                poisson_observed_poisson_background,
            )
    except ImportError:
        return None, None
    n_on, n_off, alpha, mu, bkg = d["n_on"], d["n_off"], d["alpha"], d["mu_sig"], d["bkg"]
    n_on, n_off = n_on.astype(np.int64), n_off.astype(np.int64)  # 3ML's counts are integers

    def cash(m):
        return poisson_log_likelihood_ideal_bkg(n_on, bkg, m)[0].sum()

    def wstat(m):
        return poisson_observed_poisson_background(n_on, n_off, alpha, m)[0].sum()

    return {
        "cash": lambda: _rows(cash, mu),
        "wstat": lambda: _rows(wstat, mu),
    }, f"3ML {__version__}"


def _check(d, ours, gammapy, threeml):
    """The packages compute the same statistic (3ML: log-likelihood with other constants)."""
    first = np.atleast_1d(ours["cash"]())
    if gammapy:
        np.testing.assert_allclose(np.atleast_1d(gammapy["cash"]()), first, rtol=1e-9)
        np.testing.assert_allclose(
            np.atleast_1d(gammapy["wstat"]()), np.atleast_1d(ours["wstat"]()), rtol=1e-9
        )
    for name in ("cash (kernel)", "wstat (kernel)"):
        if name in ours:
            base = np.atleast_1d(ours[name.split()[0]]())
            np.testing.assert_allclose(np.atleast_1d(ours[name]()), base, rtol=1e-9)
    if threeml:
        # -2 ln L differs from Cash by a data-only constant: compare differences between rows
        loglike = np.atleast_1d(threeml["cash"]())
        if loglike.size > 1:
            np.testing.assert_allclose(
                -2 * (loglike - loglike[0]), first - first[0], rtol=1e-7, atol=1e-7
            )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    args = parser.parse_args(argv)
    rows, peers, labels = {}, {}, set()
    for n_bins, batch in CONFIGS:
        d = _data(n_bins, batch)
        ours = fluxfit_cases(d)
        gammapy, gammapy_label = gammapy_cases(d)
        threeml, threeml_label = threeml_cases(d)
        _check(d, ours, gammapy, threeml)
        size = f"n={n_bins}" + ("" if batch is None else f" x{batch}")
        inner = 200 if batch is None else 1

        def per_call(function, inner=inner):
            def run():
                for _ in range(inner):
                    function()

            low, median = _common.timed(run, args.repeats)
            return 1e3 * low / inner, 1e3 * median / inner  # us

        for name, function in ours.items():
            rows[f"{name}, {size} (us)"] = per_call(function)
        for peer, label in ((gammapy, gammapy_label), (threeml, threeml_label)):
            if not peer:
                continue
            labels.add(label)
            for name, function in peer.items():
                key = f"{name}, {size} (us)"
                best = per_call(function)
                # one peer column: the faster of Gammapy and 3ML for this row
                if key not in peers or best[0] < peers[key][1][0]:
                    peers[key] = (label, best)
                for suffix in (" (kernel)",):
                    if f"{name}{suffix}" in ours:
                        peers[f"{name}{suffix}, {size} (us)"] = peers[key]
    text = "\n".join(
        [
            HEADING,
            "",
            f"{_common.run_stamp()} {args.repeats} repeats. "
            f"Peers: {', '.join(sorted(labels)) or 'none installed'}.",
            "",
            _common.peer_table(rows, peers),
            "",
            "The peer column is the faster of Gammapy and 3ML for the row. 3ML's functions take "
            'one vector per call (its batch rows are 1000 calls); "kernel" rows are fluxfit\'s '
            "compiled statistics (numba), one vector per call as well. `wstat (wstat_sum)` "
            "recomputes the data terms at every call; datasets use `WStatSum`.",
        ]
    )
    print(text)
    if not args.no_write:
        _common.write_section(HEADING, text)
        print(f"\nwritten to {_common.RESULTS}")


if __name__ == "__main__":
    main()
