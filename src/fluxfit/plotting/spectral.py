"""Matplotlib plots of spectral models: the curve and its error band ("butterfly").

``plot_spectrum`` and ``plot_error`` follow Gammapy's ``SpectralModel.plot`` and
``SpectralModel.plot_error`` (``energy_bounds``, ``sed_type``, ``energy_power``,
``n_points``); the error band is the linear propagation of the parameter
covariance (`~fluxfit.models.SpectralModel.evaluate_error`, ``integral_error``,
``energy_flux_error``), value +/- 1 sigma. Units on an Axes are shared with flux
points through `fluxfit.plotting.sed.sed_axes_units`.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import astropy.units as u
>>> from fluxfit.models import PowerLawSpectralModel
>>> from fluxfit.plotting.spectral import plot_error, plot_spectrum
>>> model = PowerLawSpectralModel(index=2.3, amplitude="3e-11 cm-2 s-1 TeV-1")
>>> model.index.error = 0.1
>>> ax = plot_spectrum(model, energy_bounds=[1, 100] * u.TeV, sed_type="e2dnde")
>>> ax = plot_error(model, ax=ax, energy_bounds=[1, 100] * u.TeV, sed_type="e2dnde")
"""

from __future__ import annotations

import astropy.units as u
import numpy as np

from fluxfit.errors import DatasetError, UnitError
from fluxfit.plotting.sed import SED_UNITS, _energy_base, _format_sed_axes, _get_ax, sed_axes_units

__all__ = ["plot_spectrum", "plot_error", "spectrum_plot_values"]

_TEV_TO_ERG = float(u.TeV.to(u.erg))


def _energy_grid(energy_bounds, n_points: int, energy_range=None):
    """Centres and edges (TeV) of ``n_points`` log bins between the bounds."""
    from fluxfit.maps import MapAxis

    if energy_bounds is None:
        energy_bounds = energy_range
    if energy_bounds is None:
        raise DatasetError("plot: energy_bounds is required (e.g. [0.1, 100] * u.TeV)")
    if isinstance(energy_bounds, MapAxis):
        edges = energy_bounds.edges.to_value(u.TeV)
        center = energy_bounds.center.to_value(u.TeV)
        return center, edges[:-1], edges[1:]
    try:
        bounds = u.Quantity(energy_bounds)
        emin, emax = bounds.to_value(u.TeV, equivalencies=u.spectral())
    except (TypeError, ValueError, u.UnitsError):
        raise UnitError(
            f"plot: energy_bounds must be two energies (Quantity), got {energy_bounds!r}"
        ) from None
    edges = np.geomspace(emin, emax, int(n_points) + 1)
    center = np.sqrt(edges[:-1] * edges[1:])
    return center, edges[:-1], edges[1:]


def _check_sed(model, sed_type: str) -> str:
    if getattr(model, "is_norm_spectral_model", False):
        return "norm"
    if sed_type not in ("dnde", "e2dnde", "flux", "eflux"):
        raise DatasetError(f"plot: sed_type={sed_type!r}; use 'dnde', 'e2dnde', 'flux' or 'eflux'")
    return sed_type


def spectrum_plot_values(
    model,
    energy,
    energy_min,
    energy_max,
    sed_type: str,
    errors=False,
    parameters=None,
    covariance=None,
):
    """Model values (and 1-sigma errors) in `SED_UNITS` of ``sed_type`` (energies in TeV)."""
    e_q = u.Quantity(energy, u.TeV)
    if sed_type in ("dnde", "norm", "e2dnde"):
        if errors:
            value, error = model.evaluate_error(e_q, parameters=parameters, covariance=covariance)
            value, error = value.value, error.value
        else:
            value, error = np.asarray(model.dnde_array(energy)), None
        if sed_type == "e2dnde":
            factor = energy**2 * _TEV_TO_ERG
            value = value * factor
            error = None if error is None else error * factor
        return value, error
    lo, hi = u.Quantity(energy_min, u.TeV), u.Quantity(energy_max, u.TeV)
    if sed_type == "flux":
        if errors:
            value, error = model.integral_error(
                lo, hi, parameters=parameters, covariance=covariance
            )
            return value.value, error.value
        return np.asarray(model.integral_array(energy_min, energy_max)), None
    if errors:
        value, error = model.energy_flux_error(lo, hi, parameters=parameters, covariance=covariance)
        return value.value * _TEV_TO_ERG, error.value * _TEV_TO_ERG
    return np.asarray(model.energy_flux_array(energy_min, energy_max)) * _TEV_TO_ERG, None


def _scale(energy_tev, sed_type, energy_power, x_unit, y_unit):
    """Factor from `SED_UNITS` values to ``y_unit`` with ``E**energy_power`` (E in x_unit)."""
    flux_unit = SED_UNITS[sed_type]
    energy_unit = _energy_base(flux_unit, x_unit)
    energy = energy_tev * u.TeV.to(energy_unit)
    unit = flux_unit * energy_unit**energy_power
    return energy**energy_power * unit.to(y_unit)


def plot_spectrum(
    model,
    ax=None,
    energy_bounds=None,
    sed_type="dnde",
    energy_power=0,
    n_points=100,
    energy_unit=None,
    energy_range=None,
    **kwargs,
):
    """Plot a spectral model curve (Gammapy's ``SpectralModel.plot``).

    Parameters
    ----------
    model : `~fluxfit.models.SpectralModel`
    ax : `~matplotlib.axes.Axes`, optional
    energy_bounds : `~astropy.units.Quantity` (2,) or `~fluxfit.maps.MapAxis`
        Energy range (``energy_range`` is accepted as an older alias).
    sed_type : {"dnde", "e2dnde", "flux", "eflux"}
        What to plot; "flux" and "eflux" integrate over ``n_points`` log bins.
        Norm models are plotted as "norm".
    energy_power : float
        Multiply by ``E ** energy_power``.
    n_points : int
        Number of log-spaced energies.
    energy_unit : str or Unit, optional
        Energy unit of the x axis (default TeV, or the Axes' recorded unit).
    **kwargs
        Passed to `~matplotlib.axes.Axes.plot`.
    """
    ax = _get_ax(ax)
    sed_type = _check_sed(model, sed_type)
    energy, emin, emax = _energy_grid(energy_bounds, n_points, energy_range)
    x_unit, y_unit = sed_axes_units(ax, sed_type, energy_power, energy_unit=energy_unit)
    value, _ = spectrum_plot_values(model, energy, emin, emax, sed_type)
    y = value * _scale(energy, sed_type, energy_power, x_unit, y_unit)
    ax.plot(energy * u.TeV.to(x_unit), y, **kwargs)
    _format_sed_axes(ax, x_unit, y_unit, sed_type, energy_power)
    return ax


def plot_error(
    model,
    ax=None,
    energy_bounds=None,
    sed_type="dnde",
    energy_power=0,
    n_points=100,
    parameters=None,
    covariance=None,
    energy_unit=None,
    energy_range=None,
    **kwargs,
):
    """Plot a model's 1-sigma error band (Gammapy's ``SpectralModel.plot_error``).

    The band is ``value +/- error`` with ``error`` from linear propagation of
    ``covariance`` (default: the covariance of ``parameters``, default the model's
    own). ``kwargs`` go to `~matplotlib.axes.Axes.fill_between` (defaults
    ``facecolor="black"``, ``alpha=0.2``, ``linewidth=0``).
    """
    ax = _get_ax(ax)
    sed_type = _check_sed(model, sed_type)
    energy, emin, emax = _energy_grid(energy_bounds, n_points, energy_range)
    x_unit, y_unit = sed_axes_units(ax, sed_type, energy_power, energy_unit=energy_unit)
    value, error = spectrum_plot_values(
        model,
        energy,
        emin,
        emax,
        sed_type,
        errors=True,
        parameters=parameters,
        covariance=covariance,
    )
    scale = _scale(energy, sed_type, energy_power, x_unit, y_unit)
    if "color" in kwargs:
        kwargs.setdefault("facecolor", kwargs.pop("color"))
    kwargs.setdefault("facecolor", "black")
    kwargs.setdefault("alpha", 0.2)
    kwargs.setdefault("linewidth", 0)
    lower = np.clip((value - error) * scale, 0, None)
    upper = (value + error) * scale
    ax.fill_between(energy * u.TeV.to(x_unit), lower, upper, **kwargs)
    _format_sed_axes(ax, x_unit, y_unit, sed_type, energy_power)
    return ax
