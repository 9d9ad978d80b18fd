"""Matplotlib plots of flux points: SEDs with upper-limit arrows, likelihood profiles, residuals.

Plots draw plain floats (no astropy ``quantity_support``): the first SED plot on an
``Axes`` fixes its units (energy in TeV by default, the flux in Gammapy's default
unit of the SED type times energy**energy_power) and records them on the Axes, so
later model curves, bands and flux points on the same Axes are converted to them.
matplotlib is imported only when a function is called.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import astropy.units as u
>>> from fluxfit.maps import MapAxis
>>> from fluxfit.datasets.flux_points import FluxPoints
>>> from fluxfit.plotting.sed import plot_flux_points
>>> axis = MapAxis.from_energy_edges([1, 3, 10] * u.TeV)
>>> fp = FluxPoints({"dnde": [2e-12, 1e-13], "dnde_err": [2e-13, 3e-14]}, axis)
>>> ax = plot_flux_points(fp, sed_type="e2dnde")
>>> ax.get_ylabel()
'e2dnde [erg / (s cm2)]'
"""

from __future__ import annotations

import astropy.units as u
import numpy as np

from fluxfit.errors import DatasetError, UnitError

__all__ = [
    "SED_UNITS",
    "plot_flux_points",
    "plot_ts_profiles",
    "plot_residuals",
    "sed_axes_units",
]

#: Default flux unit of each SED type on plots (Gammapy's ``DEFAULT_UNIT``).
SED_UNITS = {
    "dnde": u.Unit("cm-2 s-1 TeV-1"),
    "e2dnde": u.Unit("erg cm-2 s-1"),
    "flux": u.Unit("cm-2 s-1"),
    "eflux": u.Unit("erg cm-2 s-1"),
    "norm": u.dimensionless_unscaled,
}

_UNITS_ATTRIBUTE = "_fluxfit_sed_units"


def _get_ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    return ax


def _unit_label(unit) -> str:
    if isinstance(unit, str):
        return unit
    return unit.to_string()


def _energy_base(unit, default):
    """The energy unit inside a flux unit (TeV for cm-2 s-1 TeV-1), else ``default``."""
    for base in unit.bases:
        if base.physical_type == "energy":
            return base
    return default


def sed_axes_units(ax, sed_type: str, energy_power: float = 0, energy_unit=None, x_unit=None):
    """Units ``(x_unit, y_unit)`` of an SED plot on ``ax``, fixed by its first plot.

    The y unit is ``SED_UNITS[sed_type] * E**energy_power`` with ``E`` the energy
    unit of the flux unit (TeV for ``dnde``) or ``energy_unit``; on an Axes that
    already holds an SED plot the recorded units are returned, and a y unit that
    cannot be converted to them raises `~fluxfit.errors.UnitError`.
    """
    if sed_type not in SED_UNITS:
        raise DatasetError(f"unknown SED type {sed_type!r}; use one of {list(SED_UNITS)}")
    energy_unit = u.Unit(energy_unit or "TeV")
    flux_unit = SED_UNITS[sed_type]
    y_unit = flux_unit * _energy_base(flux_unit, energy_unit) ** energy_power
    x_unit = u.Unit(x_unit) if x_unit is not None else energy_unit
    stored = getattr(ax, _UNITS_ATTRIBUTE, None)
    if stored is None:
        setattr(ax, _UNITS_ATTRIBUTE, (x_unit, u.Unit(y_unit)))
        return x_unit, u.Unit(y_unit)
    stored_x, stored_y = stored
    if not u.Unit(y_unit).is_equivalent(stored_y):
        raise UnitError(
            f"cannot plot {sed_type!r} with energy_power={energy_power} ({u.Unit(y_unit)}) on "
            f"axes showing {stored_y}"
        )
    return stored_x, stored_y


def _format_sed_axes(ax, x_unit, y_unit, sed_type, energy_power, x_label="Energy", x_log=True):
    unit = _unit_label(y_unit)
    quantity = f"e{energy_power:g} * {sed_type}" if energy_power else sed_type
    ax.set_ylabel(f"{quantity} [{unit}]" if unit else quantity)
    x_unit_label = _unit_label(x_unit)
    ax.set_xlabel(f"{x_label} [{x_unit_label}]" if x_unit_label else x_label)
    if x_log:
        ax.set_xscale("log", nonpositive="clip")
    ax.set_yscale("log", nonpositive="clip")


def _format_axis_axes(ax, axis_name, time_format, x_unit, y_unit, sed_type, energy_power):
    """Labels and scales of a plot along ``axis_name``: log energy, or a linear time (UTC
    dates or MJD) or other axis (e.g. a profile's distance in its unit)."""
    if axis_name == "energy":
        _format_sed_axes(ax, x_unit, y_unit, sed_type, energy_power)
        return
    label = {"time": "Time [MJD]" if time_format == "mjd" else "Time [UTC]"}.get(axis_name)
    if axis_name == "time" and time_format != "mjd":
        ax.figure.autofmt_xdate()
    _format_sed_axes(
        ax,
        x_unit if label is None else "",
        y_unit,
        sed_type,
        energy_power,
        x_label=label or axis_name.replace("_", " ").capitalize(),
        x_log=False,
    )


def _flux_errors(fp, sed_type: str):
    """(errn, errp) in the SED's default unit, or (None, None)."""
    if sed_type == "norm":
        getter = fp.get_quantity
        if "norm_errp" in fp.available_quantities and "norm_errn" in fp.available_quantities:
            return np.array(getter("norm_errn"), float), np.array(getter("norm_errp"), float)
        if "norm_err" in fp.available_quantities:
            err = np.array(getter("norm_err"), float)
            return err, err.copy()
        return None, None
    unit = SED_UNITS[sed_type]
    if "norm_errp" in fp.available_quantities and "norm_errn" in fp.available_quantities:
        return (
            np.array(fp.get_quantity(sed_type + "_errn").to_value(unit), dtype=float),
            np.array(fp.get_quantity(sed_type + "_errp").to_value(unit), dtype=float),
        )
    if "norm_err" in fp.available_quantities:
        err = np.array(fp.get_quantity(sed_type + "_err").to_value(unit), dtype=float)
        return err, err.copy()
    return None, None


def _sed_values(fp, sed_type: str, suffix: str = "") -> np.ndarray:
    if sed_type == "norm":
        return np.array(fp.get_quantity("norm" + suffix), dtype=float)
    return np.array(fp.get_quantity(sed_type + suffix).to_value(SED_UNITS[sed_type]), dtype=float)


def _x_values(axis, x_unit, time_format: str):
    """Plot positions and (lower, upper) x errors of an axis' bins (labels: `_format_axis_axes`)."""
    if axis.name == "time":
        if time_format == "mjd":
            lo = axis.time_min.mjd
            hi = axis.time_max.mjd
            mid = 0.5 * (lo + hi)
            return mid, (mid - lo, hi - mid)
        lo = axis.time_min.utc.datetime
        hi = axis.time_max.utc.datetime
        mid = axis.time_mid.utc.datetime
        return mid, (mid - lo, hi - mid)
    factor = axis.unit.to(x_unit) if axis.unit.is_equivalent(x_unit) else 1.0
    center = axis.center.value * factor
    lo = axis.edges_min.value * factor
    hi = axis.edges_max.value * factor
    return center, (center - lo, hi - center)


def plot_flux_points(
    fp,
    ax=None,
    sed_type=None,
    energy_power=0,
    axis_name=None,
    time_format="iso",
    energy_unit=None,
    **kwargs,
):
    """Plot flux points with error bars; upper limits as downward arrows.

    Parameters
    ----------
    fp : `~fluxfit.datasets.flux_points.FluxPoints`
        The flux points.
    ax : `~matplotlib.axes.Axes`, optional
        Axes (default: the current one).
    sed_type : {"dnde", "e2dnde", "flux", "eflux", "norm"}, optional
        Default: the SED type the points were given in ("dnde" for "likelihood").
    energy_power : float
        Multiply the fluxes by ``E_ref ** energy_power`` (``E_ref`` in TeV by default).
    axis_name : str, optional
        Axis along x: "energy" (default for SEDs), "time" (light curves) or
        "projected-distance" (profiles). One series is drawn per bin of the other
        axes.
    time_format : {"iso", "mjd"}
        x values of a time axis: UTC datetimes or MJD.
    energy_unit : str or Unit, optional
        Energy unit of the x axis and of ``energy_power`` (default TeV).
    **kwargs
        Passed to `~matplotlib.axes.Axes.errorbar` (``label``, ``color``, ``marker``...).

    Notes
    -----
    As Gammapy: for an upper limit the point is drawn at the upper limit with an
    arrow (``uplims``) of half its value; its positive error is 0.

    Returns
    -------
    ax : `~matplotlib.axes.Axes`
    """
    ax = _get_ax(ax)
    sed_type = fp.sed_type_plot_default if sed_type is None else sed_type
    if sed_type == "likelihood":
        sed_type = "norm"
    if axis_name is None:
        axis_name = "energy"
        extra = [a for a in fp.axes if a.name != "energy"]
        if extra and fp.energy_axis.nbin == 1:
            axis_name = max(extra, key=lambda a: a.nbin).name
    if axis_name not in fp.axes.names:
        raise DatasetError(f"plot_flux_points: no axis {axis_name!r}; axes are {fp.axes.names}")
    energy_unit = u.Unit(energy_unit or "TeV")
    axis = fp.axes[axis_name]
    x_unit, y_unit = sed_axes_units(
        ax,
        sed_type,
        energy_power,
        energy_unit=energy_unit,
        x_unit=axis.unit if axis_name not in ("energy", "time") else energy_unit,
    )
    energy_base = _energy_base(SED_UNITS[sed_type], energy_unit)
    y_factor_unit = SED_UNITS[sed_type] * energy_base**energy_power

    values = _sed_values(fp, sed_type)
    errn, errp = _flux_errors(fp, sed_type)
    is_ul = np.asarray(fp.is_ul, dtype=bool)
    if fp.has_ul and is_ul.any():
        ul = _sed_values(fp, sed_type, "_ul")
        if errn is None:
            errn, errp = np.zeros_like(values), np.zeros_like(values)
        values = np.where(is_ul, ul, values)
        errn = np.where(is_ul, np.clip(0.5 * ul, 0, np.inf), errn)
        errp = np.where(is_ul, 0.0, errp)
        kwargs.setdefault("uplims", is_ul)
    e_ref = fp.energy_ref.to_value(energy_base)
    scale = np.broadcast_to(e_ref**energy_power, values.shape) * y_factor_unit.to(y_unit)
    values = values * scale
    if errn is not None:
        errn = np.clip(errn * scale, 0, np.inf)
        errp = np.clip(errp * scale, 0, np.inf)

    x, xerr = _x_values(axis, x_unit, time_format)
    kwargs.setdefault("marker", "+")
    kwargs.setdefault("linestyle", kwargs.pop("ls", "None"))
    data_axis = len(fp.axes) - 1 - fp.axes.names.index(axis_name)
    values = np.moveaxis(values, data_axis, -1)
    errn = None if errn is None else np.moveaxis(errn, data_axis, -1)
    errp = None if errp is None else np.moveaxis(errp, data_axis, -1)
    uplims = kwargs.pop("uplims", None)
    if uplims is not None:
        uplims = np.moveaxis(np.broadcast_to(uplims, fp.data_shape), data_axis, -1)
    others = [a for a in fp.axes if a.name != axis_name]
    series = list(np.ndindex(values.shape[:-1]))
    label = kwargs.pop("label", None)
    for idx in series:
        series_kwargs = dict(kwargs)
        if len(series) > 1:
            series_kwargs["label"] = _series_label(others, idx, label)
        elif label is not None:
            series_kwargs["label"] = label
        if uplims is not None:
            series_kwargs["uplims"] = uplims[idx]
        yerr = None if errn is None else (errn[idx], errp[idx])
        ax.errorbar(x, values[idx], xerr=xerr, yerr=yerr, **series_kwargs)
    _format_axis_axes(ax, axis_name, time_format, x_unit, y_unit, sed_type, energy_power)
    if len(series) > 1:
        ax.legend()
    return ax


def _series_label(axes, idx, label):
    # idx indexes the data dims of the non-plotted axes, which are reversed
    parts = []
    for axis, i in zip(reversed(axes), idx):
        lo, hi = axis.edges_min[i], axis.edges_max[i]
        if axis.name == "time":
            parts.append(f"{axis.name}: {lo.value:.4g} - {hi.value:.4g} {axis.unit}")
        else:
            parts.append(f"{axis.name}: {lo.value:.3g} - {hi.value:.3g} {axis.unit}")
    text = ", ".join(parts)
    return f"{label} {text}" if label else text


def plot_ts_profiles(
    fp,
    ax=None,
    sed_type=None,
    add_cbar=True,
    energy_unit=None,
    axis_name=None,
    time_format="iso",
    **kwargs,
):
    """Likelihood profiles as a colour map, as Gammapy's ``FluxPoints.plot_ts_profiles``.

    x: the bins of ``axis_name`` (energy for an SED, time for a light curve, distance for a
    flux profile); y: flux values (``norm_scan`` x reference flux, 500 log-spaced values);
    colour: minus the statistic difference to the best fit of each bin (``stat_scan - stat``,
    interpolated linearly in norm, blank outside the scan or below ``vmin``).

    Parameters
    ----------
    fp : `~fluxfit.datasets.flux_points.FluxPoints`
        Flux points with ``stat_scan``; every axis but ``axis_name`` must have one bin.
    ax : `~matplotlib.axes.Axes`, optional
    sed_type : {"dnde", "e2dnde", "flux", "eflux"}, optional
    add_cbar : bool
        Add a colour bar ("Fit statistic difference").
    energy_unit : str or Unit, optional
        Unit of an energy x axis and of the SED (default TeV).
    axis_name : str, optional
        Axis along x; default: the one axis with more than one bin (energy if none has).
    time_format : {"iso", "mjd"}
        x values of a time axis: UTC dates or MJD.
    **kwargs
        Passed to `~matplotlib.axes.Axes.pcolormesh` (defaults: ``vmin=-4``,
        ``vmax=0``, ``cmap="Blues"``, ``shading="auto"``).
    """
    ax = _get_ax(ax)
    if not fp.has_stat_profiles:
        raise DatasetError("plot_ts_profiles: the flux points have no 'stat_scan'")
    if axis_name is None:
        longer = [a.name for a in fp.axes if a.nbin > 1]
        axis_name = longer[0] if len(longer) == 1 else "energy"
    if axis_name not in fp.axes.names:
        raise DatasetError(f"plot_ts_profiles: no axis {axis_name!r}; axes are {fp.axes.names}")
    extra = [a for a in fp.axes if a.name != axis_name and a.nbin > 1]
    if extra:
        raise DatasetError(
            f"plot_ts_profiles: profiles along {axis_name!r} need one bin on the other axes; "
            f"{[a.name for a in extra]} have more: slice the flux points first"
        )
    axis = fp.axes[axis_name]
    sed_type = fp.sed_type_plot_default if sed_type is None else sed_type
    energy_unit = u.Unit(energy_unit or "TeV")
    x_unit, y_unit = sed_axes_units(
        ax,
        sed_type,
        0,
        energy_unit=energy_unit,
        x_unit=axis.unit if axis_name not in ("energy", "time") else energy_unit,
    )
    ref = np.asarray(getattr(fp, f"{sed_type}_ref").to_value(y_unit), dtype=float).ravel()
    ts_scan = fp.ts_scan.reshape(-1, fp.ts_scan.shape[-1])
    norm_scan = np.broadcast_to(fp.norm_scan, fp.ts_scan.shape).reshape(ts_scan.shape)
    ref = np.broadcast_to(ref, (ts_scan.shape[0],)) if ref.size == 1 else ref
    norm_min = np.nanmin(norm_scan)
    norm_max = np.nanmax(norm_scan)
    positive_ref = ref[ref > 0]
    low = max(norm_min, 1e-3 * norm_max) * positive_ref.min()
    high = norm_max * positive_ref.max()
    flux_edges = np.geomspace(low, high, 501)
    flux = np.sqrt(flux_edges[:-1] * flux_edges[1:])
    z = np.full((ref.size, flux.size), np.nan)
    for i in range(ref.size):
        norm = flux / ref[i]
        xs, ys = norm_scan[i], ts_scan[i]
        order = np.argsort(xs)
        xs, ys = xs[order], ys[order]
        inside = (norm >= xs[0]) & (norm <= xs[-1])
        z[i, inside] = np.interp(norm[inside], xs, ys)
    kwargs.setdefault("vmax", 0)
    kwargs.setdefault("vmin", -4)
    kwargs.setdefault("zorder", 0)
    kwargs.setdefault("cmap", "Blues")
    kwargs.setdefault("linewidths", 0)
    kwargs.setdefault("shading", "auto")
    with np.errstate(invalid="ignore"):
        z[-z < kwargs["vmin"]] = np.nan
    if axis_name == "time":
        # one column per time bin: light-curve bins may leave gaps between them
        lo, hi = axis.time_min, axis.time_max
        if time_format != "mjd":
            lo, hi = lo.utc.datetime, hi.utc.datetime
        else:
            lo, hi = lo.mjd, hi.mjd
        for i in range(ref.size):
            mesh = ax.pcolormesh([lo[i], hi[i]], flux_edges, -z[i : i + 1].T, **kwargs)
    else:
        x_edges = axis.edges.to_value(x_unit)
        mesh = ax.pcolormesh(x_edges, flux_edges, -z.T, **kwargs)
    _format_axis_axes(ax, axis_name, time_format, x_unit, y_unit, sed_type, 0)
    if add_cbar:
        ax.figure.colorbar(mesh, ax=ax, label="Fit statistic difference")
    return ax


_RESIDUAL_LABELS = {"diff": "data - model", "diff/model": "(data - model) / model"}


def plot_residuals(dataset, ax=None, method="diff", energy_unit=None, **kwargs):
    """Residuals of a `~fluxfit.datasets.FluxPointsDataset` with the points' error bars.

    ``method`` is "diff" (in cm-2 s-1 TeV-1) or "diff/model"; upper limits are not
    drawn. ``kwargs`` go to `~matplotlib.axes.Axes.errorbar`.
    """
    ax = _get_ax(ax)
    fp = dataset.data
    if len(fp.axes) > 1:
        raise DatasetError("plot_residuals: flux points with one energy axis only")
    residuals = dataset.residuals(method)
    residuals = np.asarray(getattr(residuals, "value", residuals), dtype=float)
    errn, errp = _flux_errors(fp, "dnde")
    if errn is None:
        errn = errp = np.zeros_like(residuals)
    if method == "diff/model":
        model = dataset.flux_pred().to_value(SED_UNITS["dnde"])
        with np.errstate(invalid="ignore", divide="ignore"):
            errn, errp = errn / model, errp / model
    energy_unit = u.Unit(energy_unit or "TeV")
    axis = fp.energy_axis
    x, xerr = _x_values(axis, energy_unit, "iso")
    kwargs.setdefault("color", kwargs.pop("c", "black"))
    kwargs.setdefault("marker", "+")
    kwargs.setdefault("linestyle", kwargs.pop("ls", "none"))
    ax.errorbar(x, residuals, xerr=xerr, yerr=(errn, errp), **kwargs)
    ax.axhline(0, color=kwargs["color"], lw=0.5)
    ax.set_xlabel(f"Energy [{energy_unit.to_string()}]")
    ax.set_xscale("log")
    label = _RESIDUAL_LABELS.get(method, method)
    unit = " [cm-2 s-1 TeV-1]" if method == "diff" else ""
    ax.set_ylabel(f"Residuals\n{label}{unit}")
    with np.errstate(invalid="ignore"):
        low = np.nanmin(residuals - errn) if np.any(np.isfinite(residuals)) else -1.0
        high = np.nanmax(residuals + errp) if np.any(np.isfinite(residuals)) else 1.0
    limit = max(abs(low), abs(high))
    if np.isfinite(limit) and limit > 0:
        ax.set_ylim(-1.05 * limit, 1.05 * limit)
    return ax
