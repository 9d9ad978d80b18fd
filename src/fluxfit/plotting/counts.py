"""Count spectra with the fitted model and residuals, one colour per dataset.

`plot_spectrum_counts` shows what 3ML's ``display_spectrum_model_counts`` shows: for each
dataset the observed counts per unit energy (per second when the livetime is known) with
Poisson errors, the predicted counts of the model (source plus background, as a step
line), the background estimate (dashed) and, below, the residuals in units of sigma of
the prediction. Only the fitted channels (``dataset.mask``) are drawn; adjacent channels
can be grouped for display (``min_counts``) without changing the fit.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from fluxfit.plotting.counts import plot_spectrum_counts
>>> # fig = plot_spectrum_counts(datasets, min_counts=20)   # after a fit or sampling
"""

from __future__ import annotations

import astropy.units as u
import numpy as np

from fluxfit.errors import DatasetError

__all__ = ["plot_spectrum_counts", "group_min_counts"]


def group_min_counts(counts, min_counts: float) -> np.ndarray:
    """Start indices of groups of adjacent channels holding at least ``min_counts`` counts.

    The last group is merged into the previous one when it falls short.
    """
    counts = np.asarray(counts, dtype=float)
    starts, total = [0], 0.0
    for i, c in enumerate(counts):
        total += c
        if total >= min_counts and i + 1 < counts.size:
            starts.append(i + 1)
            total = 0.0
    if len(starts) > 1 and counts[starts[-1] :].sum() < min_counts:
        starts.pop()
    return np.array(starts, dtype=int)


def _runs(mask):
    """(start, stop) of consecutive True runs."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    stops = np.concatenate([idx[breaks] + 1, [idx[-1] + 1]])
    return list(zip(starts, stops))


def _dataset_arrays(dataset, energy_unit, min_counts):
    """Grouped edges and per-group counts, model, background for the fitted channels."""
    for attribute in ("energy_axis", "counts", "npred", "npred_background", "mask"):
        if not hasattr(dataset, attribute):
            raise DatasetError(
                f"plot_spectrum_counts: {type(dataset).__name__} {dataset.name!r} is not a "
                f"count spectrum (no {attribute!r})"
            )
    edges = dataset.energy_axis.edges.to_value(energy_unit, equivalencies=u.spectral())
    counts = np.asarray(dataset.counts, dtype=float)
    npred = np.asarray(dataset.npred(), dtype=float)
    background = np.asarray(dataset.npred_background(), dtype=float)
    out = []
    for start, stop in _runs(np.asarray(dataset.mask, dtype=bool)):
        c, m, b = counts[start:stop], npred[start:stop], background[start:stop]
        lo, hi = edges[start:stop], edges[start + 1 : stop + 1]
        if min_counts:
            groups = group_min_counts(c, min_counts)
            ends = np.append(groups[1:], c.size) - 1
            c, m, b = (np.add.reduceat(a, groups) for a in (c, m, b))
            lo, hi = lo[groups], hi[ends]
        out.append((lo, hi, c, m, b))
    if not out:
        raise DatasetError(f"plot_spectrum_counts: dataset {dataset.name!r} has no fitted channel")
    return [np.concatenate(parts) for parts in zip(*out)]


def plot_spectrum_counts(
    datasets,
    axes=None,
    energy_unit="keV",
    min_counts: float | None = None,
    show_background: bool = True,
    residuals: str = "sigma",
    colors=None,
):
    """Counts, model and residuals per dataset (3ML's ``display_spectrum_model_counts``).

    Parameters
    ----------
    datasets : `~fluxfit.datasets.Datasets` or a spectrum dataset
        Datasets with models assigned (e.g. after `Fit.run` or `BayesianAnalysis.sample`).
    axes : (Axes, Axes), optional
        Axes for the spectrum and the residuals; default a new figure.
    energy_unit : str
        Unit of the energy axis.
    min_counts : float, optional
        Group adjacent channels until each group holds this many counts (display only).
    show_background : bool
        Draw the background estimate (dashed).
    residuals : {"sigma", "ratio"}
        ``(counts - model) / sqrt(model)`` or ``counts / model``.
    colors : list, optional
        One colour per dataset.

    Returns
    -------
    `~matplotlib.figure.Figure`
    """
    import matplotlib.pyplot as plt

    if residuals not in ("sigma", "ratio"):
        raise DatasetError(f"residuals={residuals!r}; use 'sigma' or 'ratio'")
    if not hasattr(datasets, "names"):
        datasets = [datasets]
    energy_unit = u.Unit(energy_unit)
    if axes is None:
        fig, axes = plt.subplots(
            2, 1, sharex=True, figsize=(8, 6), gridspec_kw={"height_ratios": [3, 1], "hspace": 0}
        )
    ax_spec, ax_res = axes
    fig = ax_spec.figure
    colors = colors or plt.rcParams["axes.prop_cycle"].by_key()["color"]
    per_second = all(getattr(d, "livetime", None) for d in datasets)
    for i, dataset in enumerate(datasets):
        color = colors[i % len(colors)]
        lo, hi, counts, model, background = _dataset_arrays(dataset, energy_unit, min_counts)
        width = hi - lo
        norm = width * (dataset.livetime if per_second else 1.0)
        center = np.sqrt(lo * hi)
        ax_spec.errorbar(
            center,
            counts / norm,
            xerr=[center - lo, hi - center],
            yerr=np.sqrt(counts) / norm,
            fmt=".",
            color=color,
            label=dataset.name,
            alpha=0.8,
        )
        steps = np.append(model / norm, model[-1] / norm[-1])
        ax_spec.step(np.append(lo, hi[-1]), steps, where="post", color=color, lw=1.5)
        if show_background and np.any(background > 0):
            bsteps = np.append(background / norm, background[-1] / norm[-1])
            ax_spec.step(np.append(lo, hi[-1]), bsteps, where="post", color=color, ls="--", lw=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            if residuals == "sigma":
                res, err = (counts - model) / np.sqrt(model), np.ones_like(model)
            else:
                res, err = counts / model, np.sqrt(counts) / model
        ax_res.errorbar(
            center, res, yerr=err, xerr=[center - lo, hi - center], fmt=".", color=color, alpha=0.8
        )
    ax_spec.set_xscale("log")
    ax_spec.set_yscale("log")
    rate = "counts s$^{-1}$" if per_second else "counts"
    ax_spec.set_ylabel(f"{rate} {energy_unit.to_string()}$^{{-1}}$")
    ax_spec.legend(loc="best")
    ax_res.axhline(0.0 if residuals == "sigma" else 1.0, color="k", lw=0.8)
    ax_res.set_ylabel("residuals (sigma)" if residuals == "sigma" else "data / model")
    ax_res.set_xlabel(f"energy [{energy_unit.to_string()}]")
    return fig
