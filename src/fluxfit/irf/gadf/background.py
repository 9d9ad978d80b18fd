"""Background rate models: `Background3D` (bkg_3d, DETX/DETY) and `Background2D` (bkg_2d, THETA).

Rates are per unit energy, time and solid angle (typically ``s-1 MeV-1 sr-1``) as a function
of *reconstructed* energy and field-of-view coordinates. They are interpolated in log scale
(values and energy), as Gammapy does, and integrated over energy bins with the log-log
trapezoidal rule (a power law between the values at the bin edges), as Gammapy's
``integrate_project_irf_on_geom`` does for background maps.

The value column ``BKG`` (or ``BGD``) is stored with its FITS ``TDIM`` in either order:
``(ENERG, DETY, DETX)`` as the GADF recommends or ``(DETX, DETY, ENERG)`` as the H.E.S.S. DR1
and CTA files do; as in Gammapy, the transposition that matches the axes is used.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np

from fluxfit.errors import FormatError, UnitError

from ._fits import FitsTable
from .core import GadfIRF

__all__ = ["Background3D", "Background2D", "BackgroundIRF", "integrate_log_log"]


def integrate_log_log(values, energy_edges, axis=0) -> np.ndarray:
    """Integral over energy bins of a function known at the bin edges (power law in between).

    Parameters
    ----------
    values : `~numpy.ndarray`
        Function values at the ``n + 1`` edges along ``axis``.
    energy_edges : `~numpy.ndarray`
        The edges, broadcastable to ``values`` along ``axis``.

    Returns
    -------
    integral : `~numpy.ndarray`
        ``n`` bin integrals along ``axis`` (units: values x energy).
    """
    values = np.moveaxis(np.asarray(values, dtype=np.float64), axis, 0)
    edges = np.moveaxis(np.asarray(energy_edges, dtype=np.float64), axis, 0)
    e_min, e_max = edges[:-1], edges[1:]
    v_min, v_max = values[:-1], values[1:]
    tiny = np.finfo(np.float64).tiny
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        index = -np.log(np.clip(v_min / v_max, tiny, np.inf)) / np.log(
            np.clip(e_min / e_max, tiny, np.inf)
        )
        index = np.where(np.isnan(index), np.inf, index)
        val = 1.0 - index
        prefactor = v_min * e_min / val
        integral = prefactor * ((e_max / e_min) ** val - 1.0)
        flat = np.isclose(val, 0)
        if np.any(flat):
            log_ratio = np.broadcast_to(np.log(e_max / e_min), integral.shape)
            integral = np.where(flat, v_min * e_min * log_ratio, integral)
    integral = np.where(np.isfinite(integral), integral, 0.0)
    return np.moveaxis(integral, 0, axis)


class BackgroundIRF(GadfIRF):
    """Common part of the background models (log-scale interpolation, reading)."""

    default_unit = u.s**-1 * u.MeV**-1 * u.sr**-1
    data_columns = ("BKG", "BGD")
    hduclas2 = "BKG"
    default_extname = "BACKGROUND"
    values_scale = "log"

    @classmethod
    def _read_data(cls, table: FitsTable, axes, column: str) -> np.ndarray:
        raw = np.asarray(table.row(column, 0))
        data = raw.T
        if data.shape != axes.shape:
            data = data.T
        if data.shape != axes.shape:
            raise FormatError(
                f"{table.context(column)}: values of shape {raw.shape} do not match the axes "
                f"{axes.names} of shape {axes.shape} in either order"
            )
        return np.ascontiguousarray(data)

    @classmethod
    def _read_unit(cls, table: FitsTable, column: str):
        unit = table.unit(column)
        if unit is None or not unit.is_equivalent(cls.default_unit):
            raise UnitError(
                f"{table.context(column)}: unit {unit} is not a background rate unit "
                f"(convertible to {cls.default_unit})"
            )
        return unit

    def integrate_energy(self, energy_edges, **coords) -> u.Quantity:
        """Rate integrated over energy bins (log-log trapezoid): unit ``s-1 sr-1``.

        Parameters
        ----------
        energy_edges : `~astropy.units.Quantity`
            Reconstructed-energy edges, 1-D (``n + 1``) or with a leading axis of length
            ``n + 1`` broadcastable to the other coordinates.
        **coords
            Field-of-view coordinates (``fov_lon``/``fov_lat`` or ``offset``).

        Returns
        -------
        rate : `~astropy.units.Quantity`
            Shape ``(n, *broadcast shape of coords)``.
        """
        energy_unit = self.axes["energy"].unit
        edges = u.Quantity(energy_edges).to_value(energy_unit)
        edges = np.asarray(edges, dtype=np.float64)
        coord_values = {
            k: np.asarray(u.Quantity(v).value) if isinstance(v, u.Quantity) else v
            for k, v in coords.items()
        }
        extra_ndim = max([np.ndim(v) for v in coord_values.values()] + [0])
        if edges.ndim == 1:
            edges = edges.reshape((-1,) + (1,) * extra_ndim)
        values = self.evaluate_values(energy=edges * energy_unit, **coords)
        edges_b = np.broadcast_to(edges, values.shape)
        integral = integrate_log_log(values, edges_b, axis=0)
        return u.Quantity(integral, self.unit * energy_unit).to(u.s**-1 * u.sr**-1)

    def counts(self, energy_edges, solid_angle, ontime, **coords) -> np.ndarray:
        """Predicted background counts: rate integrated over energy x solid angle x time.

        ``solid_angle`` (sr or Quantity) and ``ontime`` (s or Quantity) broadcast with the
        result of `integrate_energy`. Gammapy multiplies by the on-time (not the live time).
        """
        rate = self.integrate_energy(energy_edges, **coords).to_value(u.s**-1 * u.sr**-1)
        solid_angle = u.Quantity(solid_angle, u.sr).to_value(u.sr)
        ontime = u.Quantity(ontime, u.s).to_value(u.s)
        return rate * solid_angle * ontime


class Background3D(BackgroundIRF):
    """Background rate versus reconstructed energy and FoV coordinates (GADF ``bkg_3d``).

    Axes ``energy`` (log), ``fov_lon`` (DETX) and ``fov_lat`` (DETY), linear. The FoV frame
    orientation is `fov_alignment` (``FOVALIGN``; ``REVERSE_LON_RADEC`` for the H.E.S.S. DR1
    files, whose DETX grows towards decreasing RA: `fluxfit.data.Observation.bkg` sets it).

    Examples
    --------
    >>> import numpy as np
    >>> from fluxfit.maps import MapAxis
    >>> from fluxfit.irf.gadf import Background3D
    >>> energy = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 3, name="energy")
    >>> lon = MapAxis.from_bounds(-3, 3, 6, unit="deg", name="fov_lon")
    >>> lat = MapAxis.from_bounds(-3, 3, 6, unit="deg", name="fov_lat")
    >>> bkg = Background3D([energy, lon, lat], data=np.full((3, 6, 6), 1e-6), unit="s-1 MeV-1 sr-1")
    >>> bkg.evaluate(energy="1 TeV", fov_lon="0.5 deg", fov_lat="0 deg")
    <Quantity 1.e-06 1 / (MeV s sr)>
    """

    tag = "bkg_3d"
    required_axes = ("energy", "fov_lon", "fov_lat")
    hduclas4 = "BKG_3D"


class Background2D(BackgroundIRF):
    """Radially symmetric background rate versus energy and offset (GADF ``bkg_2d``).

    Examples
    --------
    >>> import numpy as np
    >>> from fluxfit.maps import MapAxis
    >>> from fluxfit.irf.gadf import Background2D
    >>> energy = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 3, name="energy")
    >>> offset = MapAxis.from_bounds(0, 3, 6, unit="deg", name="offset")
    >>> bkg = Background2D([energy, offset], data=np.full((3, 6), 1e-6), unit="s-1 MeV-1 sr-1")
    >>> bkg.integrate_energy([1, 10] * u.TeV, offset="1 deg").to("s-1 sr-1").round(3)
    <Quantity [9.] 1 / (s sr)>
    """

    tag = "bkg_2d"
    required_axes = ("energy", "offset")
    hduclas4 = "BKG_2D"
