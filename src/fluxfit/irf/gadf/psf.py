"""Point spread functions: tabulated (`PSFTable`, psf_table) and triple Gaussian (`PSF3Gauss`).

Containment follows Gammapy 2.1, which ``SpectrumDatasetMaker(containment_correction=True)``
uses for the exposure of a circular ON region:

- `PSFTable.containment`: the cumulative integral ``sum 2 pi r RPSF(r) dr`` over the RAD bins,
  tabulated at the upper bin edges, interpolated (linearly in rad and offset, log in energy)
  like any IRF. It is *not* renormalised: a table that integrates to 0.998 contains 0.998.
- `PSF3Gauss.containment`: the six parameters are interpolated (linearly, log energy), the
  three Gaussians are normalised to unit total and summed.
- ``containment_radius(fraction)``: the rad value, on the RAD axis upsampled 20 times (or
  0-0.66 deg in 66 bins for `PSF3Gauss`), whose containment is closest to ``fraction``.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy.table import Table

from fluxfit.errors import DatasetError, FormatError
from fluxfit.maps import MapAxes, MapAxis

from ._fits import FitsTable
from ._interp import ScaledGridInterpolator
from .core import GadfIRF, axes_to_dl3_columns, irf_header

__all__ = ["PSFTable", "PSF3D", "PSF3Gauss", "EnergyDependentMultiGaussPSF", "RAD_AXIS_DEFAULT"]

#: Rad axis used for the containment radius of parametric PSFs (Gammapy's default).
RAD_AXIS_DEFAULT = MapAxis.from_bounds(0, 0.66, nbin=66, unit="deg", name="rad")

_DEG2_TO_SR = (np.pi / 180.0) ** 2


def _rad_deg(rad):
    if isinstance(rad, str):
        rad = u.Quantity(rad)
    if isinstance(rad, u.Quantity):
        return rad.to_value(u.deg)
    return np.asarray(rad, dtype=np.float64)


class _PSFMixin:
    """containment_radius shared by both PSF kinds."""

    def _containment_rad_axis(self):
        return RAD_AXIS_DEFAULT

    def containment_radius(self, fraction, factor=20, **coords) -> u.Quantity:
        """Radius containing ``fraction`` of the PSF (deg), on an upsampled rad grid.

        Parameters
        ----------
        fraction : float or array-like
            Containment fraction(s) in [0, 1].
        factor : int
            Upsampling factor of the rad axis (precision of the result).
        **coords
            ``energy_true``, ``offset`` (broadcast with ``fraction``).
        """
        fraction = np.asarray(fraction, dtype=float)
        values = [np.asarray(_coord_value(v)) for v in coords.values()]
        shape = np.broadcast_shapes(fraction.shape, *[v.shape for v in values])
        rad = self._containment_rad_axis().upsample(factor).center.to_value(u.deg)
        rad_grid = rad.reshape((-1,) + (1,) * len(shape))
        containment = self.containment(rad_grid, **coords)
        containment = np.broadcast_to(containment, (len(rad),) + shape)
        index = np.argmin(np.abs(containment - fraction), axis=0)
        return u.Quantity(rad[index], u.deg)


def _coord_value(value):
    if isinstance(value, str):
        return u.Quantity(value).value
    if isinstance(value, u.Quantity):
        return value.value
    return value


class PSFTable(_PSFMixin, GadfIRF):
    """Tabulated radial PSF (GADF ``psf_table``: ENERG, THETA, RAD, RPSF in sr^-1).

    Axes ``energy_true`` (log), ``offset`` and ``rad`` (linear).

    Examples
    --------
    >>> import numpy as np
    >>> from fluxfit.maps import MapAxis
    >>> from fluxfit.irf.gadf import PSFTable
    >>> energy = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 2, name="energy_true")
    >>> offset = MapAxis.from_edges([0, 1, 2], unit="deg", name="offset")
    >>> rad = MapAxis.from_bounds(0, 1, 200, unit="deg", name="rad")
    >>> sigma = np.deg2rad(0.1)
    >>> r = rad.center.to_value("rad")
    >>> pdf = np.exp(-0.5 * (r / sigma) ** 2) / (2 * np.pi * sigma**2)
    >>> psf = PSFTable([energy, offset, rad], data=np.broadcast_to(pdf, (2, 2, 200)), unit="sr-1")
    >>> round(float(psf.containment(rad="0.1 deg", energy_true="1 TeV", offset="0.5 deg")), 2)
    0.39
    """

    tag = "psf_table"
    required_axes = ("energy_true", "offset", "rad")
    default_unit = u.sr**-1
    data_columns = ("RPSF",)
    hduclas2 = "RPSF"
    hduclas4 = "PSF_TABLE"
    default_extname = "PSF_2D_TABLE"

    def _containment_rad_axis(self):
        return self.axes["rad"]

    def _cumulative(self) -> GadfIRF:
        if "cumulative" not in self._cache:
            self._cache["cumulative"] = self.cumsum("rad")
        return self._cache["cumulative"]

    def containment(self, rad, **coords) -> np.ndarray:
        """Fraction of the PSF within ``rad`` (float64 ndarray, broadcast shape).

        ``coords`` are ``energy_true`` and ``offset`` (Quantities or numbers in the axis units).
        """
        cumulative = self._cumulative()
        values = cumulative.evaluate_values(rad=_rad_deg(rad) * u.deg, **coords)
        return values * cumulative.unit.to(u.one)

    def normalize(self):
        """Normalise in place to unit integral over rad (where non-zero)."""
        rad = self.axes["rad"]
        weights = (2 * np.pi * rad.center * rad.bin_width).to_value(u.sr)
        total = np.sum(self.quantity.to_value(u.sr**-1) * weights, axis=2, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            self._data = np.nan_to_num(self.quantity.to_value(u.sr**-1) / total)
        self._unit = u.sr**-1
        self._cache = {}


#: Gammapy's name for the tabulated PSF.
PSF3D = PSFTable

_GAUSS_PARAMETERS = {
    "sigma_1": ("SIGMA_1", u.deg),
    "sigma_2": ("SIGMA_2", u.deg),
    "sigma_3": ("SIGMA_3", u.deg),
    "scale": ("SCALE", u.sr**-1),
    "ampl_2": ("AMPL_2", u.one),
    "ampl_3": ("AMPL_3", u.one),
}


class PSF3Gauss(_PSFMixin):
    """Triple-Gaussian PSF (GADF ``psf_3gauss``: SCALE, SIGMA_1..3, AMPL_2, AMPL_3).

    ``dP/dOmega = SCALE * (exp(-r^2 / 2 s1^2) + AMPL_2 exp(-r^2 / 2 s2^2) + AMPL_3 ...)``,
    normalised to unit total when evaluated.

    Parameters
    ----------
    axes : list of `~fluxfit.maps.MapAxis`
        ``energy_true`` and ``offset``.
    data : dict
        Parameter name (``sigma_1``, ``sigma_2``, ``sigma_3``, ``scale``, ``ampl_2``, ``ampl_3``)
        -> array of shape ``axes.shape`` (Quantities, or numbers in deg, sr^-1 and 1).
    meta : dict, optional

    Examples
    --------
    >>> import numpy as np
    >>> from fluxfit.maps import MapAxis
    >>> from fluxfit.irf.gadf import PSF3Gauss
    >>> energy = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 2, name="energy_true")
    >>> offset = MapAxis.from_edges([0, 1, 2], unit="deg", name="offset")
    >>> ones = np.ones((2, 2))
    >>> data = dict(sigma_1=0.1 * ones, sigma_2=0.2 * ones, sigma_3=0.3 * ones, scale=ones,
    ...             ampl_2=0 * ones, ampl_3=0 * ones)
    >>> psf = PSF3Gauss([energy, offset], data)
    >>> round(float(psf.containment(rad="0.1 deg", energy_true="1 TeV", offset="0.5 deg")), 4)
    0.3935
    """

    tag = "psf_3gauss"
    required_axes = ("energy_true", "offset")
    hduclas2 = "RPSF"
    hduclas4 = "PSF_3GAUSS"
    default_extname = "PSF_2D_GAUSS"
    is_pointlike = False
    fov_alignment = "RADEC"

    def __init__(self, axes, data, meta=None):
        axes = MapAxes(list(axes))
        if axes.names != list(self.required_axes):
            raise DatasetError(
                f"PSF3Gauss: axes must be {list(self.required_axes)}, got {axes.names}"
            )
        values = {}
        for name, (_, unit) in _GAUSS_PARAMETERS.items():
            if name not in data:
                raise DatasetError(f"PSF3Gauss: missing parameter {name!r}")
            value = data[name]
            value = (
                u.Quantity(value, unit).to_value(unit) if isinstance(value, u.Quantity) else value
            )
            value = np.array(value, dtype=np.float64)
            if value.shape != axes.shape:
                raise DatasetError(
                    f"PSF3Gauss: parameter {name!r} has shape {value.shape}, expected {axes.shape}"
                )
            values[name] = value
        self._axes = axes
        self._data = values
        self.meta = dict(meta or {})
        self._cache = {}

    @property
    def axes(self) -> MapAxes:
        return self._axes

    @property
    def data(self) -> dict:
        """Parameter arrays (deg, sr^-1, dimensionless)."""
        return self._data

    @property
    def quantity(self) -> dict:
        return {k: u.Quantity(v, _GAUSS_PARAMETERS[k][1]) for k, v in self._data.items()}

    def __repr__(self):
        return f"PSF3Gauss(axes={self.axes.names}, shape={self.axes.shape})"

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = {}
        return state

    def _interpolators(self):
        if "interp" not in self._cache:
            points = [axis.center.value for axis in self.axes]
            scales = [axis.interp for axis in self.axes]
            self._cache["interp"] = {
                name: ScaledGridInterpolator(points, values, scales)
                for name, values in self._data.items()
            }
        return self._cache["interp"]

    def evaluate_parameters(self, energy_true, offset) -> dict:
        """Parameters interpolated at ``energy_true`` and ``offset`` (plain floats: deg, sr^-1)."""
        energy = np.asarray(
            u.Quantity(energy_true, self.axes["energy_true"].unit).value, dtype=float
        )
        offset = np.asarray(u.Quantity(offset, self.axes["offset"].unit).value, dtype=float)
        return {name: f((energy, offset)) for name, f in self._interpolators().items()}

    @staticmethod
    def _norms(pars):
        sigmas = [pars["sigma_1"], pars["sigma_2"], pars["sigma_3"]]
        amplitudes = [np.ones_like(pars["scale"]), pars["ampl_2"], pars["ampl_3"]]
        norms = [2 * pars["scale"] * a * s**2 for a, s in zip(amplitudes, sigmas)]
        total = np.nansum(norms, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            norms = [np.nan_to_num(n / total) for n in norms]
        return sigmas, norms

    def containment(self, rad, energy_true, offset) -> np.ndarray:
        """Fraction of the PSF within ``rad`` (float64 ndarray, broadcast shape)."""
        rad = _rad_deg(rad)
        sigmas, norms = self._norms(self.evaluate_parameters(energy_true, offset))
        with np.errstate(invalid="ignore", divide="ignore"):
            terms = [n * (1 - np.exp(-0.5 * rad**2 / s**2)) for n, s in zip(norms, sigmas)]
        return np.sum(np.broadcast_arrays(*terms), axis=0)

    def evaluate(self, rad, energy_true, offset) -> u.Quantity:
        """PSF density dP/dOmega (sr^-1) at ``rad``."""
        rad = _rad_deg(rad)
        sigmas, norms = self._norms(self.evaluate_parameters(energy_true, offset))
        with np.errstate(invalid="ignore", divide="ignore"):
            terms = [
                n / (2 * np.pi * s**2) * np.exp(-0.5 * rad**2 / s**2) for n, s in zip(norms, sigmas)
            ]
        values = np.sum(np.broadcast_arrays(*terms), axis=0) / _DEG2_TO_SR
        return u.Quantity(values, u.sr**-1)

    def to_psf_table(self, rad_axis=None) -> PSFTable:
        """Tabulate on a rad axis (default 0-0.66 deg, 66 bins) as a `PSFTable`."""
        rad_axis = rad_axis or RAD_AXIS_DEFAULT
        axes = MapAxes([self.axes["energy_true"], self.axes["offset"], rad_axis])
        energy = self.axes["energy_true"].center[:, None, None]
        offset = self.axes["offset"].center[None, :, None]
        rad = rad_axis.center[None, None, :]
        data = self.evaluate(rad, energy, offset)
        return PSFTable(axes, data=data, meta=self.meta)

    # ------------------------------------------------------------------ I/O
    @classmethod
    def from_fits_table(cls, table: FitsTable):
        if table.nrows < 1:
            raise FormatError(f"{table.context()}: IRF table has no rows")
        axes = MapAxes([GadfIRF._read_axis(table, name) for name in cls.required_axes])
        data = {}
        for name, (column, unit) in _GAUSS_PARAMETERS.items():
            raw = table.row(column, 0)
            values = np.asarray(raw, dtype=np.float64).T
            if values.shape != axes.shape:
                raise FormatError(
                    f"{table.context(column)}: values of shape {np.shape(raw)} do not match the "
                    f"axes {axes.names} of shape {axes.shape}"
                )
            column_unit = table.unit(column)
            if column_unit is not None:
                if not column_unit.is_equivalent(unit):
                    raise FormatError(
                        f"{table.context(column)}: unit {column_unit} is not convertible to {unit}"
                    )
                values = values * column_unit.to(unit)
            if name.startswith("sigma"):
                values[values == 0] = 1.0
            data[name] = values
        meta = {k: table.header[k] for k in ("HDUCLAS3", "OBS_ID") if k in table.header}
        return cls(axes, data, meta=meta)

    @classmethod
    def from_hdu(cls, hdu, filename=None, obs_id=None):
        return cls.from_fits_table(FitsTable(hdu, filename=filename, obs_id=obs_id))

    read = classmethod(GadfIRF.read.__func__)
    from_table = classmethod(GadfIRF.from_table.__func__)
    to_table_hdu = GadfIRF.to_table_hdu
    write = GadfIRF.write

    def to_table(self):
        """One-row `~astropy.table.Table` in the GADF ``psf_3gauss`` format."""
        table = Table(axes_to_dl3_columns(self.axes))
        for name, (column, unit) in _GAUSS_PARAMETERS.items():
            table[column] = u.Quantity(self._data[name].T[np.newaxis], unit)
        table.meta = irf_header(self)
        return table


#: Gammapy's name for the triple-Gaussian PSF.
EnergyDependentMultiGaussPSF = PSF3Gauss
