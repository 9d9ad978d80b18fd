"""Summaries of (weighted) samples: quantiles, credible intervals, moments, resampling.

Every function takes samples along the first axis and optional weights (any positive
scale; normalised here). Equal weights reproduce the usual unweighted estimates.

- Quantiles interpolate the weighted empirical CDF taken at the middle of each sample's
  weight (the "Hazen" plotting position); with equal weights this differs from
  ``numpy.percentile`` (linear) by less than one sample spacing.
- The equal-tailed interval at level ``cl`` spans the ``(1 - cl) / 2`` and ``(1 + cl) / 2``
  quantiles (3ML's ``equal_tail_interval``).
- The highest-density interval is the shortest interval holding at least ``cl`` of the weight
  (for equal weights, the shortest window of ``ceil(cl * n)`` sorted samples; 3ML's
  ``highest_posterior_density_interval`` takes ``floor(cl * n) + 1``, the same unless
  ``cl * n`` is an integer); meaningful for unimodal posteriors.

Examples
--------
>>> import numpy as np
>>> from fluxfit.results.summary import weighted_quantile, equal_tail_interval
>>> x = np.arange(1.0, 6.0)
>>> round(float(weighted_quantile(x, 0.5)), 12)
3.0
>>> [round(float(v), 12) for v in equal_tail_interval(x, cl=0.6)]
[1.5, 4.5]
"""

from __future__ import annotations

import numpy as np

from fluxfit.errors import FluxfitError

__all__ = [
    "normalised_weights",
    "weighted_quantile",
    "weighted_mean",
    "weighted_covariance",
    "equal_tail_interval",
    "hpd_interval",
    "credible_interval",
    "effective_sample_size",
    "systematic_resample",
    "ERROR_TYPES",
]

ERROR_TYPES = ("equal_tail", "hpd")


class SummaryError(FluxfitError, ValueError):
    """Samples or weights unusable for a summary."""


def normalised_weights(n: int, weights=None) -> np.ndarray:
    """Weights summing to one (uniform when None)."""
    if weights is None:
        return np.full(n, 1.0 / n)
    weights = np.asarray(weights, dtype=float).ravel()
    if weights.shape != (n,):
        raise SummaryError(f"weights have shape {weights.shape}, expected ({n},)")
    if np.any(~np.isfinite(weights)) or np.any(weights < 0):
        raise SummaryError("weights must be finite and non-negative")
    total = weights.sum()
    if not total > 0:
        raise SummaryError("weights sum to zero")
    # already normalised (e.g. read back from a file): keep the values bit for bit
    return weights if abs(total - 1.0) <= 1e-12 else weights / total


def _check_cl(cl: float) -> float:
    cl = float(cl)
    if not 0.0 < cl < 1.0:
        raise SummaryError(f"confidence level must be in (0, 1), got {cl}")
    return cl


def weighted_quantile(values, q, weights=None):
    """Quantile(s) ``q`` of ``values`` along axis 0 with ``weights``.

    Parameters
    ----------
    values : array of shape (k,) or (k, m)
        Samples (rows), for one or m quantities (columns).
    q : float or array
        Probabilities in [0, 1].
    weights : array of shape (k,), optional

    Returns
    -------
    array of shape ``np.shape(q) + values.shape[1:]``
    """
    values = np.asarray(values, dtype=float)
    if values.ndim == 0 or values.shape[0] == 0:
        raise SummaryError("no samples to take a quantile of")
    q = np.asarray(q, dtype=float)
    flat = values.reshape(values.shape[0], -1)
    w = normalised_weights(flat.shape[0], weights)
    out = np.empty(q.shape + flat.shape[1:])
    for j in range(flat.shape[1]):
        order = np.argsort(flat[:, j], kind="stable")
        sorted_values = flat[order, j]
        sorted_w = w[order]
        cdf = np.cumsum(sorted_w) - 0.5 * sorted_w
        out[..., j] = np.interp(q, cdf, sorted_values)
    return out.reshape(q.shape + values.shape[1:])


def weighted_mean(values, weights=None):
    """Weighted mean along axis 0."""
    values = np.asarray(values, dtype=float)
    w = normalised_weights(values.shape[0], weights)
    return np.tensordot(w, values, axes=(0, 0))


def weighted_covariance(values, weights=None) -> np.ndarray:
    """Weighted covariance of the columns of ``values`` (k, n), with the reliability-weights
    correction ``1 / (1 - sum w^2)`` (the unbiased estimate for equal weights)."""
    values = np.asarray(values, dtype=float)
    w = normalised_weights(values.shape[0], weights)
    centred = values - w @ values
    cov = (centred * w[:, None]).T @ centred
    denominator = 1.0 - np.sum(w * w)
    return cov / denominator if denominator > 0 else cov


def equal_tail_interval(values, cl: float = 0.68, weights=None):
    """(low, high) quantiles leaving ``(1 - cl) / 2`` of the weight on each side."""
    cl = _check_cl(cl)
    low, high = weighted_quantile(values, [0.5 * (1 - cl), 0.5 * (1 + cl)], weights)
    return low, high


def hpd_interval(values, cl: float = 0.68, weights=None):
    """Shortest interval holding at least ``cl`` of the weight, per column (unimodal posteriors)."""
    cl = _check_cl(cl)
    values = np.asarray(values, dtype=float)
    flat = values.reshape(values.shape[0], -1)
    w = normalised_weights(flat.shape[0], weights)
    low = np.empty(flat.shape[1])
    high = np.empty(flat.shape[1])
    for j in range(flat.shape[1]):
        order = np.argsort(flat[:, j], kind="stable")
        x = flat[order, j]
        cum = np.concatenate([[0.0], np.cumsum(w[order])])
        # for each start i, the first end j with weight in [i, j] >= cl
        target = cum[:-1] + cl * (1 - 1e-12)
        end = np.searchsorted(cum, target, side="left") - 1
        valid = end < x.size
        if not np.any(valid):
            raise SummaryError("too few samples for a highest-density interval")
        starts = np.flatnonzero(valid)
        widths = x[end[valid]] - x[starts]
        best = int(np.argmin(widths))
        low[j], high[j] = x[starts[best]], x[end[valid][best]]
    shape = values.shape[1:]
    return low.reshape(shape), high.reshape(shape)


def credible_interval(values, cl: float = 0.68, weights=None, error_type: str = "equal_tail"):
    """Equal-tailed (``"equal_tail"``) or highest-density (``"hpd"``) interval."""
    if error_type == "equal_tail":
        return equal_tail_interval(values, cl, weights)
    if error_type == "hpd":
        return hpd_interval(values, cl, weights)
    raise SummaryError(f"error_type={error_type!r}; use one of {ERROR_TYPES}")


def effective_sample_size(weights) -> float:
    """Kish's effective sample size ``1 / sum(w^2)`` of normalised weights."""
    w = normalised_weights(np.size(weights), weights)
    return float(1.0 / np.sum(w * w))


def systematic_resample(weights, n: int | None = None, random_state=None) -> np.ndarray:
    """Indices of ``n`` equal-weight draws (systematic resampling, as 3ML does for ultranest).

    ``random_state`` is a `numpy.random.Generator`, a seed, or None (a fresh generator).
    """
    w = normalised_weights(np.size(weights), weights)
    n = w.size if n is None else int(n)
    rng = random_state if isinstance(random_state, np.random.Generator) else None
    if rng is None:
        rng = np.random.default_rng(random_state)
    positions = (rng.random() + np.arange(n)) / n
    cumulative = np.cumsum(w)
    cumulative[-1] = 1.0
    return np.searchsorted(cumulative, positions, side="right").clip(0, w.size - 1)
