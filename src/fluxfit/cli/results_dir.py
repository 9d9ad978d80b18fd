"""The results folder written by ``fluxfit demo`` and ``fluxfit run``, read by ``fluxfit report``.

Layout of ``RESULTS_DIR`` (every file but ``fit.json`` is optional)::

    fit.json            summary: title, fit status, datasets, parameter table, file names
    <models>.yaml       best-fit models with covariance ("files"/"models" in fit.json)
    flux_points.fits    flux points (gadf SED, FluxPoints.write)
    lightcurve.fits     light curve (FluxPoints with a time axis, lightcurve format)
    time_resolved.ecsv  time-resolved fit table, if any
    bayes_results.fits  posterior samples (AnalysisResults.write), if a Bayesian run was made
    profile.fits        flux profile (FluxPoints with a projected-distance axis, profile format)
    figures/*.png       sed.png, counts.png, lightcurve.png, corner.png, time_resolved.png,
                        profile.png, profile_ts.png (likelihood profiles, with a scan)
    report.html         written by ``fluxfit report``

``fit.json`` keys: ``title`` (str), ``created`` (ISO time), ``fluxfit_version``, ``fit``
(``backend``, ``success``, ``message``, ``nfev``, ``total_stat``), ``datasets`` (list of
dicts: ``name``, ``counts``, ``counts_off``, ``livetime_s``), ``parameters`` (list of dicts:
``model``, ``name``, ``value``, ``error``, ``unit``, ``frozen``), ``files`` (role -> file
name relative to the folder), ``figures`` (list of ``{"file", "caption"}``) and
``figure_problems`` (list of ``{"figure", "what", "reason"}``: figures or parts of figures
that could not be drawn, and why; also logged as warnings and shown by the report).
"""

from __future__ import annotations

import datetime
import json
import logging
from pathlib import Path

import astropy.units as u
import numpy as np

from fluxfit.errors import FluxfitError

__all__ = [
    "FIT_JSON",
    "PLOT_ERRORS",
    "figure_problem",
    "plot_profile",
    "plot_profile_ts",
    "save_figure",
    "write_analysis",
]

FIT_JSON = "fit.json"

log = logging.getLogger(__name__)

#: What drawing a figure from fitted models and data can raise: fluxfit's named errors and the
#: numerical or unit problems of a model (e.g. a covariance with NaN). Anything else is a bug
#: and propagates.
PLOT_ERRORS = (
    FluxfitError,
    ValueError,
    TypeError,
    ArithmeticError,
    np.linalg.LinAlgError,
    u.UnitsError,
)


def figure_problem(problems: list, figure: str, what: str, exc: BaseException) -> None:
    """Record in ``problems`` (``fit.json`` "figure_problems") and log as a warning that
    ``what`` of figure ``figure`` could not be drawn, and why."""
    reason = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    log.warning("figure %r: %s not drawn (%s)", figure, what, reason)
    problems.append({"figure": figure, "what": what, "reason": reason})


def _float(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def save_figure(fig, out: Path, name: str) -> str:
    """Save a matplotlib figure as ``figures/<name>.png`` (100 dpi); returns the relative path."""
    import matplotlib.pyplot as plt

    folder = out / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    fig.savefig(folder / f"{name}.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return f"figures/{name}.png"


def _parameters(models) -> list[dict]:
    rows = []
    for model in models:
        for par in model.parameters:
            rows.append(
                {
                    "model": model.name,
                    "name": par.name,
                    "value": _float(par.value),
                    "error": _float(par.error),
                    "unit": str(par.unit),
                    "frozen": bool(par.frozen),
                }
            )
    return rows


def _datasets(datasets) -> list[dict]:
    rows = []
    for dataset in datasets:
        counts_off = getattr(dataset, "counts_off", None)
        rows.append(
            {
                "name": dataset.name,
                "type": type(dataset).__name__,
                "counts": _float(np.sum(dataset.counts)) if hasattr(dataset, "counts") else None,
                "counts_off": None if counts_off is None else _float(np.sum(counts_off)),
                "livetime_s": _float(getattr(dataset, "livetime", None)),
            }
        )
    return rows


_PROFILE_AXIS = "projected-distance"


def plot_profile(profile, sed_type: str = "dnde"):
    """Figure of a flux profile: the points along the projected distance, one series per
    energy group (``likelihood`` is drawn as ``dnde``)."""
    import matplotlib.pyplot as plt

    sed_type = "dnde" if sed_type == "likelihood" else sed_type
    fig, ax = plt.subplots(figsize=(8, 5))
    profile.plot(ax=ax, axis_name=_PROFILE_AXIS, sed_type=sed_type)
    ax.set_yscale("linear")
    edges = profile.energy_axis.edges
    title = f"Flux profile, {edges[0]:.4g} - {edges[-1]:.4g}"
    if profile.energy_axis.nbin > 1:
        title += f" ({profile.energy_axis.nbin} energy groups)"
    ax.set_title(title)
    return fig


def plot_profile_ts(profile, sed_type: str = "dnde"):
    """Figure of the likelihood profiles of a flux profile along the projected distance: one
    panel per energy group, the points over `FluxPoints.plot_ts_profiles`."""
    import matplotlib.pyplot as plt

    sed_type = "dnde" if sed_type == "likelihood" else sed_type
    n_energy = profile.energy_axis.nbin
    fig, axes = plt.subplots(
        n_energy, 1, figsize=(8, 4 * n_energy), squeeze=False, layout="constrained"
    )
    edges = profile.energy_axis.edges
    for i, ax in enumerate(axes[:, 0]):
        part = profile.slice_by_idx({"energy": slice(i, i + 1)})
        part.plot(ax=ax, axis_name=_PROFILE_AXIS, sed_type=sed_type, color="tab:orange")
        part.plot_ts_profiles(ax=ax, axis_name=_PROFILE_AXIS, sed_type=sed_type)
        ax.set_yscale("linear")
        ax.set_title(f"{edges[i]:.4g} - {edges[i + 1]:.4g}")
    return fig


def write_analysis(
    out,
    title: str,
    datasets,
    fit_result=None,
    models_file: str = "models.yaml",
    flux_points=None,
    lightcurve=None,
    time_resolved=None,
    bayes_results=None,
    energy_bounds=None,
    figures=(),
    profile=None,
    profile_sed_type: str = "dnde",
) -> Path:
    """Write the files of the results folder and the standard figures; returns ``fit.json``.

    Parameters
    ----------
    out : path
        The results folder (created).
    title : str
        Title of the report.
    datasets : `~fluxfit.datasets.Datasets`
        The fitted datasets (with their models).
    fit_result : `~fluxfit.fit.FitResult`, optional
        The maximum-likelihood fit.
    flux_points, lightcurve : `~fluxfit.datasets.FluxPoints`, optional
    time_resolved : `~fluxfit.estimators.TimeResolvedSpectroscopyResult`, optional
    bayes_results : `~fluxfit.results.AnalysisResults`, optional
    energy_bounds : Quantity (2,), optional
        Energy range of the SED plot; default the range of the datasets' channels.
    figures : list of (file, caption)
        Extra figures already saved in the folder.
    profile : `~fluxfit.datasets.FluxPoints`, optional
        A flux profile (`~fluxfit.estimators.FluxProfileEstimator`), written as
        ``profile.fits`` (profile format) and drawn.
    profile_sed_type : str
        SED type of ``profile.fits`` and of the profile figures.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    models = datasets.models
    files = {}
    figs = []
    problems = []
    if models is not None and len(models):  # none: e.g. a flux profile alone
        models.write(out / models_file, overwrite=True)
        files["models"] = models_file
    if energy_bounds is None:
        edges = [d.energy_axis.edges for d in datasets if hasattr(d, "energy_axis")]
        if edges:
            energy_bounds = u.Quantity([min(e.min() for e in edges), max(e.max() for e in edges)])
    sed_type = "e2dnde"
    if flux_points is not None:
        flux_points.write(out / "flux_points.fits", overwrite=True)
        files["flux_points"] = "flux_points.fits"
    if models is not None and len(models) and energy_bounds is not None:
        fig, ax = plt.subplots(figsize=(7, 5))
        for model in models:
            spectral = getattr(model, "spectral_model", None)
            if spectral is None:
                continue
            try:
                spectral.plot_error(energy_bounds, ax=ax, sed_type=sed_type)
            except PLOT_ERRORS as exc:
                figure_problem(problems, "sed", f"1-sigma band of model {model.name!r}", exc)
            spectral.plot(energy_bounds, ax=ax, sed_type=sed_type, label=f"{model.name} (fit)")
        if flux_points is not None:
            flux_points.plot(ax=ax, sed_type=sed_type, label="flux points")
        ax.legend()
        ax.set_title("Spectral energy distribution")
        figs.append((save_figure(fig, out, "sed"), "SED: best-fit model with 1-sigma butterfly"))
    from fluxfit.datasets.map import MapDataset

    # only map datasets (e.g. a flux profile's): no count spectra to draw
    if not (len(datasets) and all(isinstance(d, MapDataset) for d in datasets)):
        try:
            from fluxfit.plotting.counts import plot_spectrum_counts

            unit = energy_bounds.unit if energy_bounds is not None else "TeV"
            fig = plot_spectrum_counts(datasets, energy_unit=unit)
            figs.append((save_figure(fig, out, "counts"), "Count spectra, model and residuals"))
        except PLOT_ERRORS + (AttributeError, KeyError, IndexError) as exc:  # a map dataset
            plt.close("all")
            files["counts_plot_error"] = str(exc)
            figure_problem(problems, "counts", "count spectra figure", exc)
    if profile is not None:
        profile.write(
            out / "profile.fits", format="profile", sed_type=profile_sed_type, overwrite=True
        )
        files["profile"] = "profile.fits"
        try:
            fig = plot_profile(profile, profile_sed_type)
            figs.append((save_figure(fig, out, "profile"), "Flux profile"))
        except PLOT_ERRORS as exc:
            plt.close("all")
            figure_problem(problems, "profile", "flux profile figure", exc)
        if profile.has_stat_profiles:
            try:
                fig = plot_profile_ts(profile, profile_sed_type)
                caption = "Flux profile over its likelihood profiles (per energy group)"
                figs.append((save_figure(fig, out, "profile_ts"), caption))
            except PLOT_ERRORS as exc:
                plt.close("all")
                figure_problem(problems, "profile_ts", "likelihood profiles of the profile", exc)
    if lightcurve is not None:
        lightcurve.write(out / "lightcurve.fits", overwrite=True, format="lightcurve")
        files["lightcurve"] = "lightcurve.fits"
        fig, ax = plt.subplots(figsize=(7, 4))
        lightcurve.plot(ax=ax, axis_name="time", sed_type="flux")
        ax.set_title("Light curve")
        figs.append((save_figure(fig, out, "lightcurve"), "Light curve (integral flux per run)"))
    if time_resolved is not None:
        time_resolved.write(out / "time_resolved.ecsv", overwrite=True)
        files["time_resolved"] = "time_resolved.ecsv"
        result = time_resolved.plot_parameters()
        fig = result[0].figure if hasattr(result, "__len__") else result.figure
        figs.append((save_figure(fig, out, "time_resolved"), "Time-resolved fit parameters"))
    if bayes_results is not None:
        bayes_results.write(out / "bayes_results.fits", overwrite=True)
        files["bayes"] = "bayes_results.fits"
        fig = bayes_results.corner_plot()
        figs.append((save_figure(fig, out, "corner"), "Posterior (corner plot)"))
    figs.extend(figures)
    from fluxfit import __version__

    summary = {
        "title": title,
        "created": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "fluxfit_version": __version__,
        "fit": None,
        "datasets": _datasets(datasets),
        "parameters": _parameters(models) if models is not None else [],
        "files": files,
        "figures": [{"file": f, "caption": c} for f, c in figs],
        "figure_problems": problems,
    }
    if fit_result is not None:
        summary["fit"] = {
            "backend": getattr(fit_result.optimize_result, "backend", None)
            if hasattr(fit_result, "optimize_result")
            else None,
            "success": bool(fit_result.success),
            "message": str(fit_result.message),
            "nfev": int(fit_result.nfev),
            "total_stat": _float(fit_result.total_stat),
        }
    if bayes_results is not None:
        summary["bayes"] = {
            k: _float(v) if not isinstance(v, str) else v
            for k, v in getattr(bayes_results, "measures", {}).items()
        }
    path = out / FIT_JSON
    path.write_text(json.dumps(summary, indent=2))
    return path
