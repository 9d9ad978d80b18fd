"""Timings of the fit statistics in ``fluxfit.stats`` (microseconds per call).

Runs each statistic on n = 128 and n = 1000 bins, once for a single prediction vector and
once for a batch of 1000 prediction vectors against the same data, with ``check=False``
(the fit-loop setting) and with the default ``check=True``. Counts are Poisson draws with
about 20% zeros so the edge-case paths are exercised.

Usage::

    python bench/bench_stats.py            # table on stdout
    python bench/bench_stats.py --quick    # fewer repeats
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np

from fluxfit import stats


def _data(n_bins: int, batch: int | None, seed: int = 1):
    rng = np.random.default_rng(seed)
    shape = (n_bins,) if batch is None else (batch, n_bins)
    mu_sig = rng.uniform(0.0, 6.0, shape)
    n_on = rng.poisson(np.full(n_bins, 3.0)).astype(float)
    n_off = rng.poisson(np.full(n_bins, 8.0)).astype(float)
    alpha = 0.2
    bkg_error = np.sqrt(n_off) * alpha + 0.1
    return dict(
        n_on=n_on,
        n_off=n_off,
        alpha=alpha,
        mu_sig=mu_sig,
        mu_on=mu_sig + 1.0,
        bkg=alpha * n_off,
        bkg_error=bkg_error,
        err=np.full(n_bins, 0.5),
    )


def _cases(d, check: bool):
    return {
        "cash": lambda: stats.cash(d["n_on"], d["mu_on"], check=check),
        "cash_sum": lambda: stats.cash_sum(d["n_on"], d["mu_on"], check=check),
        "cstat": lambda: stats.cstat(d["n_on"], d["mu_on"], check=check),
        "cstat_sum": lambda: stats.cstat_sum(d["n_on"], d["mu_on"], check=check),
        "wstat": lambda: stats.wstat(d["n_on"], d["n_off"], d["alpha"], d["mu_sig"], check=check),
        "wstat_sum": lambda: stats.wstat_sum(
            d["n_on"], d["n_off"], d["alpha"], d["mu_sig"], check=check
        ),
        "pgstat": lambda: stats.pgstat(
            d["n_on"], d["mu_sig"], d["bkg"], d["bkg_error"], check=check
        ),
        "pgstat_sum": lambda: stats.pgstat_sum(
            d["n_on"], d["mu_sig"], d["bkg"], d["bkg_error"], check=check
        ),
        "chi2_sum": lambda: stats.chi2_sum(d["n_on"], d["mu_on"], d["err"], check=check),
    }


def _time(function, number: int, repeat: int) -> float:
    return min(timeit.repeat(function, number=number, repeat=repeat)) / number * 1e6


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 7
    configs = [(128, None), (1000, None), (128, 1000), (1000, 1000)]
    labels = [f"n={n}" + ("" if b is None else f" x{b}") for n, b in configs]
    header = "statistic    check  " + "  ".join(f"{label:>12}" for label in labels)
    print(f"us per call (best of {repeat})")
    print(header)
    for check in (False, True):
        rows: dict[str, list[float]] = {}
        for n_bins, batch in configs:
            data = _data(n_bins, batch)
            number = 2000 if batch is None else 20
            cases = _cases(data, check)
            for function in cases.values():  # warm up (and let malloc settle on big blocks)
                for _ in range(3):
                    function()
            for name, function in cases.items():
                rows.setdefault(name, []).append(_time(function, number, repeat))
        for name, values in rows.items():
            cells = "  ".join(f"{value:12.1f}" for value in values)
            print(f"{name:<12} {check!s:>5}  {cells}")


if __name__ == "__main__":
    main()
