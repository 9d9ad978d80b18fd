"""Base class of spatial (morphological) models.

A spatial model is a probability density on the sphere, in sr^-1, defined in
a celestial frame (``"icrs"`` or ``"galactic"``). Internally angles are in
degrees; subclasses implement a static ``evaluate(lon, lat, **parameters)`` on
plain floats (lon/lat in deg in the model frame, parameters in their canonical
units) that broadcasts over a leading batch axis of parameters (arrays of
shape ``(k, 1)`` against 1-D coordinates of shape ``(n,)``).

For pixelised data use `SpatialModel.integrate_geom`, which returns the model
integrated over every pixel of a `~fluxfit.models.spatial.SkyPixelGrid`
(a dimensionless fraction of the source in each pixel), oversampling the
pixels around a sharply peaked source as Gammapy does.

Examples
--------
>>> import astropy.units as u
>>> from astropy.coordinates import SkyCoord
>>> from fluxfit.models import GaussianSpatialModel
>>> model = GaussianSpatialModel(lon_0="0 deg", lat_0="0 deg", sigma="0.2 deg", frame="galactic")
>>> model(0 * u.deg, 0.2 * u.deg).unit
Unit("1 / sr")
>>> density = model(SkyCoord(266.4, -28.9, unit="deg", frame="icrs"))  # converted to galactic
"""

from __future__ import annotations

import astropy.units as u
import numpy as np

from fluxfit.errors import ModelError, UnitError
from fluxfit.models.core import ModelBase
from fluxfit.models.spatial.geometry import FRAMES, check_frame, transform_lonlat
from fluxfit.models.spatial.grid import MAX_OVERSAMPLING, SkyPixelGrid, as_pixel_grid

__all__ = ["SpatialModel", "integrate_pixels", "angle_to_deg"]

SOLID_ANGLE_UNIT = u.Unit("sr-1")


def angle_to_deg(value, name: str) -> np.ndarray:
    """Convert an angle Quantity to float degrees, with a clear error."""
    if not isinstance(value, u.Quantity):
        raise UnitError(
            f"{name} must be an astropy Quantity or Angle (e.g. 1.5 * u.deg), "
            f"got {type(value).__name__}"
        )
    try:
        return np.asarray(value.to_value(u.deg), dtype=float)
    except u.UnitConversionError:
        raise UnitError(f"{name}: unit {value.unit} is not an angle") from None


def _check_keys(data: dict, allowed: set, where: str) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ModelError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")


class SpatialModel(ModelBase):
    """Base class of spatial models (densities on the sphere in sr^-1).

    Parameters
    ----------
    frame : {"icrs", "galactic"}
        Frame of ``lon_0``/``lat_0`` and of the ``lon``/``lat`` given to ``evaluate``.
    **kwargs
        Parameter values (numbers in the default unit, strings or Quantities).

    Notes
    -----
    Subclasses set ``tag`` and ``_parameter_specs`` and implement the static
    ``evaluate``; they may set ``_radius_deg(p)`` (evaluation radius) and
    ``_bin_size_deg(p)`` (smallest feature, drives oversampling) from the
    canonical parameter dict ``p``.
    """

    #: True when the model has lon_0/lat_0 parameters.
    _has_position = True
    #: Extra YAML keys (besides type, frame, parameters) understood by from_dict.
    _extra_keys: frozenset = frozenset()

    def __init__(self, frame: str = "icrs", **kwargs):
        self.frame = check_frame(frame, type(self).__name__)
        super().__init__(**kwargs)
        self._check_units()

    def _check_units(self) -> None:
        for name, par in self._params.items():
            try:
                par.factor_to(self._canonical[name])
            except UnitError:
                raise UnitError(
                    f"{type(self).__name__}: parameter {name!r} has unit "
                    f"{par.unit.to_string()!r}, not convertible to "
                    f"{self._canonical[name].to_string()!r}"
                ) from None

    # ----------------------------------------------------------- interface
    @staticmethod
    def evaluate(lon, lat, **kwargs):  # pragma: no cover - interface
        raise ModelError("a spatial model class must define evaluate(lon, lat, **parameters)")

    @property
    def is_energy_dependent(self) -> bool:
        """True for models whose morphology changes with energy (template cubes)."""
        return False

    @property
    def unit(self) -> u.UnitBase:
        """Unit of the values `__call__` returns (sr^-1 for normalised models)."""
        return SOLID_ANGLE_UNIT

    def _radius_deg(self, p):
        """Evaluation radius in deg from canonical values (None: unbounded)."""
        return None

    def _bin_size_deg(self, p):
        """Smallest feature size in deg from canonical values (None: no oversampling)."""
        return None

    # ------------------------------------------------------------ float API
    def evaluate_array(self, lon, lat, overrides=None, energy=None):
        """Density (sr^-1) at ``lon, lat`` (float arrays in deg, model frame).

        Coordinates may have any shape S; with batch ``overrides`` (arrays of
        shape (k, 1)) the result has shape (k, *S). ``energy`` (TeV) is used only
        by energy-dependent models.
        """
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        lon, lat = np.broadcast_arrays(lon, lat)
        shape = lon.shape
        values = self.evaluate(lon.ravel(), lat.ravel(), **self.canonical_values(overrides))
        values = np.asarray(values, dtype=float)
        lead = values.shape[:-1] if values.ndim else ()
        values = np.broadcast_to(values, (*lead, lon.size))
        return values.reshape((*lead, *shape))

    # --------------------------------------------------------- Quantity API
    def _coords_to_deg(self, lon, lat):
        if hasattr(lon, "transform_to") and lat is None:
            coords = lon if lon.frame.name in FRAMES else lon.transform_to(self.frame)
            lon_deg = np.asarray(coords.spherical.lon.deg, dtype=float)
            lat_deg = np.asarray(coords.spherical.lat.deg, dtype=float)
            return transform_lonlat(lon_deg, lat_deg, coords.frame.name, self.frame)
        if lat is None:
            raise UnitError(
                f"{type(self).__name__}: give a SkyCoord, or lon and lat as angle Quantities"
            )
        return angle_to_deg(lon, "lon"), angle_to_deg(lat, "lat")

    def __call__(self, lon, lat=None, energy=None):
        """Density at ``lon, lat`` (angle Quantities, model frame) or at a SkyCoord.

        Returns a Quantity in `unit` (sr^-1 for normalised models).
        """
        lon_deg, lat_deg = self._coords_to_deg(lon, lat)
        energy_tev = None
        if energy is not None:
            from fluxfit.models.spectral.core import energy_to_array

            energy_tev = energy_to_array(energy)
        values = self.evaluate_array(lon_deg, lat_deg, energy=energy_tev)
        return u.Quantity(values, self.unit, copy=False)

    # ------------------------------------------------------------- position
    @property
    def position_lonlat(self) -> tuple[float, float]:
        """``(lon_0, lat_0)`` in deg in the model frame."""
        if not self._has_position:
            raise ModelError(f"{type(self).__name__} has no position")
        p = self.canonical_values()
        return float(p["lon_0"]), float(p["lat_0"])

    @property
    def position(self):
        """Centre as a `~astropy.coordinates.SkyCoord` in the model frame (None if none)."""
        if not self._has_position:
            return None
        from astropy.coordinates import SkyCoord

        lon, lat = self.position_lonlat
        return SkyCoord(lon, lat, unit="deg", frame=self.frame)

    @position.setter
    def position(self, skycoord):
        if not self._has_position:
            raise ModelError(f"{type(self).__name__} has no position")
        if not hasattr(skycoord, "transform_to"):
            raise UnitError(f"position must be a SkyCoord, got {type(skycoord).__name__}")
        coords = skycoord.transform_to(self.frame)
        self.lon_0.quantity = coords.spherical.lon.to(self.lon_0.unit)
        self.lat_0.quantity = coords.spherical.lat.to(self.lat_0.unit)

    @property
    def evaluation_radius(self):
        """Radius (Angle Quantity, deg) outside which the model is negligible; None if unbounded."""
        radius = self._radius_deg(self.canonical_values())
        return None if radius is None else u.Quantity(float(np.max(radius)), u.deg)

    @property
    def evaluation_bin_size_min(self):
        """Smallest feature (deg) that pixels must resolve; None if no oversampling needed."""
        size = self._bin_size_deg(self.canonical_values())
        return None if size is None else u.Quantity(float(np.min(size)), u.deg)

    # ------------------------------------------------------------- on grids
    def oversampling_factor(self, geom, overrides=None) -> int:
        """Automatic sub-pixels per pixel side: ceil(pixel size / smallest feature),
        at most `~fluxfit.models.spatial.grid.MAX_OVERSAMPLING` (Gammapy's rule)."""
        size = self._bin_size_deg(self.canonical_values(overrides))
        if size is None:
            return 1
        size = float(np.min(size))
        if size <= 0:
            return MAX_OVERSAMPLING
        grid = as_pixel_grid(geom)
        return int(min(max(np.ceil(grid.pixel_scale / size), 1), MAX_OVERSAMPLING))

    def evaluate_geom(self, geom, overrides=None, energy=None):
        """Density (sr^-1) at the pixel centres of ``geom``; shape ``(*lead, ny, nx)``."""
        grid = as_pixel_grid(geom)
        lon, lat = grid.lonlat(self.frame)
        if not grid.all_valid:  # pixels outside the projection (solid angle 0)
            lon, lat = np.nan_to_num(lon), np.nan_to_num(lat)
        return self.evaluate_array(lon, lat, overrides, energy)

    def integrate_geom(self, geom, oversampling_factor=None, overrides=None, energy=None):
        """The model integrated over each pixel of ``geom``.

        Parameters
        ----------
        geom : `SkyPixelGrid` or (wcs, shape) or geometry with ``to_pixel_grid()``
            The pixels.
        oversampling_factor : int, optional
            Sub-pixels per side for the pixels near the source; default from
            `oversampling_factor` (1 for smooth models).
        overrides : dict, optional
            Batch parameter values (Parameter -> array of shape (k, 1)).
        energy : array, optional
            Energies in TeV, for energy-dependent models (template cubes).

        Returns
        -------
        array of shape ``(*lead, ny, nx)``
            Fraction of the model in each pixel (dimensionless, summing to about
            1 over a grid that contains the source); ``lead`` is ``(k,)`` for a
            batch, ``(n_energy,)`` for a template cube, empty otherwise.
        """
        grid: SkyPixelGrid = as_pixel_grid(geom)
        omega = grid.solid_angle
        values = self.evaluate_geom(grid, overrides, energy)
        result = values * omega
        factor = (
            self.oversampling_factor(grid, overrides)
            if oversampling_factor is None
            else int(oversampling_factor)
        )
        if factor < 1:
            raise ModelError(f"oversampling_factor must be >= 1, got {oversampling_factor}")
        if factor == 1:
            return result
        p = self.canonical_values(overrides)
        radius = self._radius_deg(p)
        if radius is None or not self._has_position:
            box = (0, grid.shape[0], 0, grid.shape[1])
        else:
            box = grid.box_around(p["lon_0"], p["lat_0"], radius, frame=self.frame)
            if box is None:
                return result
        j0, j1, i0, i1 = box
        sub_lon, sub_lat = grid.subpixel_lonlat(box, factor, self.frame)
        sub = self.evaluate_array(np.nan_to_num(sub_lon), np.nan_to_num(sub_lat), overrides, energy)
        sub = sub.sum(axis=(-3, -1)) * (omega[j0:j1, i0:i1] / factor**2)
        result = np.array(result, copy=True)
        result[..., j0:j1, i0:i1] = sub
        return result

    # ---------------------------------------------------------------- other
    def to_region(self, **kwargs):  # pragma: no cover - interface
        """A `regions` sky region outlining the model."""
        raise ModelError(f"{type(self).__name__} has no region outline")

    def to_dict(self, full_output: bool = False) -> dict:
        data = super().to_dict(full_output)
        return {"type": data["type"], "frame": self.frame, "parameters": data["parameters"]}

    @classmethod
    def from_dict(cls, data: dict, where: str = ""):
        from fluxfit.models.io import parameters_from_list

        where = where or cls.__name__
        _check_keys(data, {"type", "frame", "parameters", *cls._extra_keys}, where)
        model = cls(frame=data.get("frame", "icrs"))
        parameters_from_list(model, data.get("parameters", []), where)
        return model

    def __repr__(self) -> str:
        vals = ", ".join(
            f"{n}={p.value:.4g}"
            for n, p in zip(self.parameters.names, self.parameters, strict=True)
        )
        sep = ", " if vals else ""
        return f"{type(self).__name__}({vals}{sep}frame={self.frame!r})"


def integrate_pixels(model, geom, oversampling_factor=None, overrides=None, energy=None):
    """Integrate a spatial model over the pixels of a sky grid.

    Each pixel gets ``density(centre) * solid_angle``; when the oversampling
    factor ``f`` is above 1 (sharply peaked models), pixels within the
    model's evaluation radius (plus one pixel) of its centre are instead split
    into ``f x f`` sub-pixels in pixel space and the density is averaged over
    their centres (Gammapy's ``integrate_geom`` scheme). Same as
    ``model.integrate_geom(geom, ...)``.

    Parameters
    ----------
    model : `SpatialModel`
        The model.
    geom : `SkyPixelGrid` or (wcs, shape)
        The pixels.
    oversampling_factor : int, optional
        Default: ``model.oversampling_factor(geom)``.
    overrides : dict, optional
        Batch parameter values (Parameter -> array of shape (k, 1)).
    energy : array, optional
        Energies (TeV) for energy-dependent models.

    Returns
    -------
    array
        Integrated model per pixel (dimensionless), shape ``(*lead, ny, nx)``.
    """
    return model.integrate_geom(geom, oversampling_factor, overrides, energy)
