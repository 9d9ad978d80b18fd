"""`GadfIRF`: base class of the GADF DL3 instrument response functions.

An IRF is an array on a set of `~fluxfit.maps.MapAxis` (in the order of ``required_axes``)
plus a unit. It is read from (and written to) the one-row binary tables of the GADF DL3
specification: each axis as ``<PREFIX>_LO`` / ``<PREFIX>_HI`` vector columns (``ENERG``,
``THETA``, ``MIGRA``, ``RAD``, ``DETX``, ``DETY``; equal LO and HI mean nodes rather than bins)
and the values as one vector column whose FITS ``TDIM`` is the reverse of the axes order.

Evaluation follows Gammapy 2.1 (``gammapy.irf.core.IRF.evaluate``): multilinear interpolation
between bin centres, with energies in log scale and angles / migration in linear scale, linear
extrapolation up to the outer bin edges, values clipped at zero, and zero outside the edges.
Everything is vectorised; the interpolator is built once and dropped when pickling.
"""

from __future__ import annotations

import copy

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import Table

from fluxfit._files import check_output
from fluxfit.errors import DatasetError, FormatError, UnitError
from fluxfit.maps import MapAxes, MapAxis

from ._fits import FitsTable, find_table_hdu, kept_header, open_fits
from ._interp import ScaledGridInterpolator

__all__ = [
    "GadfIRF",
    "IRF_DL3_AXES_SPECIFICATION",
    "FOV_ALIGNMENTS",
    "axes_to_dl3_columns",
    "irf_header",
]

#: GADF DL3 axis column prefixes -> (axis name, interpolation scale, unit of the same kind).
IRF_DL3_AXES_SPECIFICATION = {
    "THETA": {"name": "offset", "interp": "lin", "unit": "deg"},
    "ENERG": {"name": "energy_true", "interp": "log", "unit": "TeV"},
    "ETRUE": {"name": "energy_true", "interp": "log", "unit": "TeV"},
    "RAD": {"name": "rad", "interp": "lin", "unit": "deg"},
    "DETX": {"name": "fov_lon", "interp": "lin", "unit": "deg"},
    "DETY": {"name": "fov_lat", "interp": "lin", "unit": "deg"},
    "MIGRA": {"name": "migra", "interp": "lin", "unit": ""},
}

#: Column prefixes that may hold each axis name.
_AXIS_PREFIXES = {
    "offset": ("THETA",),
    "energy_true": ("ENERG", "ETRUE"),
    "energy": ("ENERG", "ETRUE"),
    "rad": ("RAD",),
    "fov_lon": ("DETX",),
    "fov_lat": ("DETY",),
    "migra": ("MIGRA",),
}

#: Orientations of the field-of-view coordinate system of background IRFs.
FOV_ALIGNMENTS = ("RADEC", "ALTAZ", "REVERSE_LON_RADEC")

_COMMON_HEADER = {
    "HDUCLASS": "GADF",
    "HDUDOC": "https://github.com/open-gamma-ray-astro/gamma-astro-data-formats",
    "HDUVERS": "0.2",
    "HDUCLAS1": "RESPONSE",
}


def _axis_values(axis, value, what):
    """Plain float coordinates of ``value`` in the unit of ``axis``."""
    if isinstance(value, str):
        value = u.Quantity(value)
    if isinstance(value, u.Quantity):
        try:
            return np.asarray(value.to_value(axis.unit), dtype=np.float64)
        except u.UnitConversionError:
            raise UnitError(
                f"{what}: coordinate {axis.name!r} has unit {value.unit}, "
                f"not convertible to {axis.unit}"
            ) from None
    return np.asarray(value, dtype=np.float64)


def axes_to_dl3_columns(axes) -> dict:
    """``<PREFIX>_LO`` / ``<PREFIX>_HI`` one-row columns of IRF axes (nodes: LO = HI)."""
    columns = {}
    for axis in axes:
        if axis.name == "energy":
            prefix = "ENERG"
        else:
            prefix = next(
                k for k, v in IRF_DL3_AXES_SPECIFICATION.items() if v["name"] == axis.name
            )
        if axis.node_type == "edges":
            lo, hi = axis.edges[:-1], axis.edges[1:]
        else:
            lo = hi = axis.center
        columns[f"{prefix}_LO"] = lo[np.newaxis]
        columns[f"{prefix}_HI"] = hi[np.newaxis]
    return columns


def irf_header(irf) -> dict:
    """Header keywords of an IRF table: the kept meta plus the GADF class keywords."""
    meta = dict(irf.meta)
    meta.update(_COMMON_HEADER)
    meta["HDUCLAS2"] = irf.hduclas2
    meta["HDUCLAS3"] = "POINT-LIKE" if irf.is_pointlike else "FULL-ENCLOSURE"
    meta["HDUCLAS4"] = irf.hduclas4
    if irf.tag == "bkg_3d":
        meta["FOVALIGN"] = "ALTAZ" if irf.fov_alignment == "ALTAZ" else "RADEC"
    meta.pop("EXTNAME", None)
    return meta


class GadfIRF:
    """Base class of the GADF DL3 IRFs (array on named axes plus a unit).

    Subclasses set ``tag`` (the GADF ``HDU_CLASS``), ``required_axes``, ``default_unit``,
    ``data_columns`` (accepted names of the value column), ``hduclas2``/``hduclas4``,
    ``default_extname`` and ``values_scale``.

    Parameters
    ----------
    axes : list of `~fluxfit.maps.MapAxis` or `~fluxfit.maps.MapAxes`
        Axes named as ``required_axes`` (any order: they are put in the required order).
    data : array-like or `~astropy.units.Quantity`
        Values of shape ``axes.shape``; a scalar fills the array.
    unit : str or `~astropy.units.Unit`, optional
        Unit of ``data`` when it is not a Quantity (default ``default_unit``).
    meta : dict, optional
        Header keywords kept for writing.
    is_pointlike : bool
        Point-like (``HDUCLAS3 = POINT-LIKE``) rather than full-enclosure IRF.
    fov_alignment : {"RADEC", "ALTAZ", "REVERSE_LON_RADEC"}
        Orientation of the field-of-view frame (background IRFs).
    """

    tag = ""
    required_axes: tuple[str, ...] = ()
    default_unit = u.one
    data_columns: tuple[str, ...] = ()
    hduclas2 = ""
    hduclas4 = ""
    default_extname = ""
    values_scale = "lin"

    def __init__(
        self,
        axes,
        data=0.0,
        unit=None,
        meta=None,
        is_pointlike=False,
        fov_alignment="RADEC",
    ):
        given = MapAxes(list(axes))
        names = given.names
        if sorted(names) != sorted(self.required_axes):
            raise DatasetError(
                f"{type(self).__name__}: axes {names} do not match the required axes "
                f"{list(self.required_axes)}"
            )
        order = [names.index(name) for name in self.required_axes]
        axes = MapAxes([given[i] for i in order])
        if isinstance(data, u.Quantity):
            if unit is not None:
                data = data.to(unit)
            unit = data.unit
            data = data.value
        unit = self.default_unit if unit is None else u.Unit(unit)
        if not unit.is_equivalent(self.default_unit):
            raise UnitError(
                f"{type(self).__name__}: unit {unit} is not convertible to {self.default_unit}"
            )
        data = np.asarray(data)
        if data.ndim == 0:
            data = np.full(axes.shape, float(data))
        elif order != list(range(len(order))) and data.shape == given.shape:
            data = np.transpose(data, order)
        if data.shape != axes.shape:
            raise DatasetError(
                f"{type(self).__name__}: data shape {data.shape} does not match the axes "
                f"shape {axes.shape} ({axes.names})"
            )
        if not np.issubdtype(data.dtype, np.floating):
            data = data.astype(np.float64)
        fov_alignment = str(fov_alignment).strip().upper()
        if fov_alignment not in FOV_ALIGNMENTS:
            raise FormatError(
                f"{type(self).__name__}: FOVALIGN {fov_alignment!r} is not one of {FOV_ALIGNMENTS}"
            )
        self._axes = axes
        self._data = data
        self._unit = unit
        self.meta = dict(meta or {})
        self._is_pointlike = bool(is_pointlike)
        self._fov_alignment = fov_alignment
        self._cache = {}

    # ------------------------------------------------------------------ properties
    @property
    def axes(self) -> MapAxes:
        """The axes, in the order of ``required_axes``."""
        return self._axes

    @property
    def data(self) -> np.ndarray:
        """Values (ndarray of shape ``axes.shape``, dtype as read: float32 for most files)."""
        return self._data

    @property
    def unit(self) -> u.UnitBase:
        """Unit of `data`."""
        return self._unit

    @property
    def quantity(self) -> u.Quantity:
        """`data` with its unit."""
        return u.Quantity(self._data, self._unit, copy=False)

    @property
    def is_pointlike(self) -> bool:
        return self._is_pointlike

    @property
    def fov_alignment(self) -> str:
        """``"RADEC"``, ``"ALTAZ"`` or ``"REVERSE_LON_RADEC"`` (old H.E.S.S. background files)."""
        return self._fov_alignment

    @fov_alignment.setter
    def fov_alignment(self, value):
        value = str(value).strip().upper()
        if value not in FOV_ALIGNMENTS:
            raise FormatError(f"FOVALIGN {value!r} is not one of {FOV_ALIGNMENTS}")
        self._fov_alignment = value

    @property
    def has_offset_axis(self) -> bool:
        return "offset" in self.required_axes

    def __repr__(self):
        return (
            f"{type(self).__name__}(axes={self.axes.names}, shape={self.data.shape}, "
            f"unit={self.unit.to_string() or 'dimensionless'})"
        )

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = {}
        return state

    def copy(self):
        """A deep copy."""
        return copy.deepcopy(self)

    def to_unit(self, unit):
        """A copy with the data converted to ``unit``."""
        new = self.copy()
        new._data = self.quantity.to_value(unit)
        new._unit = u.Unit(unit)
        new._cache = {}
        return new

    # ------------------------------------------------------------------ evaluation
    def _interpolator(self) -> ScaledGridInterpolator:
        if "interp" not in self._cache:
            points = [axis.center.value for axis in self.axes]
            scales = [axis.interp for axis in self.axes]
            self._cache["interp"] = ScaledGridInterpolator(
                points, self._data, scales, values_scale=self.values_scale
            )
        return self._cache["interp"]

    def _coord_arrays(self, coords: dict) -> list[np.ndarray]:
        unknown = set(coords).difference(self.axes.names)
        if unknown:
            raise DatasetError(
                f"{type(self).__name__}: unknown coordinate(s) {sorted(unknown)}, "
                f"axes are {self.axes.names}"
            )
        n = len(self.axes)
        arrays = []
        for idx, axis in enumerate(self.axes):
            value = coords.get(axis.name)
            if value is None:
                shape = [1] * n
                shape[idx] = -1
                arrays.append(axis.center.value.reshape(shape))
            else:
                arrays.append(_axis_values(axis, value, type(self).__name__))
        return list(np.broadcast_arrays(*arrays))

    def _mask_out_bounds(self, invalid: list[np.ndarray]) -> np.ndarray:
        return np.any(invalid, axis=0)

    def evaluate_values(self, method="linear", **coords) -> np.ndarray:
        """Like `evaluate`, but plain float64 values in `unit` (the fast path)."""
        arrays = self._coord_arrays(coords)
        values = self._interpolator()(tuple(arrays), method=method)
        invalid = []
        for axis, array in zip(self.axes, arrays):
            edges = axis.edges.value
            lo, hi = min(edges[0], edges[-1]), max(edges[0], edges[-1])
            with np.errstate(invalid="ignore"):
                invalid.append((array < lo) | (array > hi) | ~np.isfinite(array))
        mask = self._mask_out_bounds(invalid)
        values = np.where(mask | ~np.isfinite(values), 0.0, values)
        return values

    def evaluate(self, method="linear", **coords) -> u.Quantity:
        """Interpolate the IRF at the given coordinates.

        Parameters
        ----------
        method : {"linear", "nearest"}
            Interpolation method.
        **coords : `~astropy.units.Quantity` or array-like
            Coordinates per axis name (plain numbers are in the axis unit); axes not given are
            taken at their bin centres, broadcast along their own dimension.

        Returns
        -------
        values : `~astropy.units.Quantity`
            Broadcast shape of the coordinates, zero outside the axis edges.
        """
        return u.Quantity(self.evaluate_values(method=method, **coords), self.unit, copy=False)

    # ------------------------------------------------------------------ integrals
    def cumsum(self, axis_name):
        """Cumulative integral along ``axis_name`` as a new IRF (Gammapy's ``IRF.cumsum``).

        The new axis has nodes at the upper bin edges; along ``rad`` and ``offset`` the
        Jacobian ``2 pi r`` is included.
        """
        axis = self.axes[axis_name]
        index = self.axes.names.index(axis_name)
        shape = [1] * len(self.axes)
        shape[index] = -1
        values = self._data * axis.bin_width.value.reshape(shape)
        unit = self.unit * axis.unit
        if axis_name in ("rad", "offset"):
            values = 2 * np.pi * axis.center.value.reshape(shape) * values
            unit = unit * axis.unit
        data = values.cumsum(axis=index)
        shifted = MapAxis.from_nodes(axis.edges[1:], name=axis.name, interp=axis.interp)
        axes = [shifted if ax.name == axis_name else ax for ax in self.axes]
        return self._new(MapAxes(axes), data, unit)

    @classmethod
    def _new(cls, axes, data, unit, meta=None, is_pointlike=False, fov_alignment="RADEC"):
        """Instance without validation (axes already in the required order)."""
        new = object.__new__(cls)
        new._axes = axes
        new._data = data
        new._unit = u.Unit(unit)
        new.meta = dict(meta or {})
        new._is_pointlike = is_pointlike
        new._fov_alignment = fov_alignment
        new._cache = {}
        return new

    # ------------------------------------------------------------------ I/O
    @classmethod
    def _read_axis(cls, table: FitsTable, name: str) -> MapAxis:
        prefixes = _AXIS_PREFIXES[name]
        for prefix in prefixes:
            if table.has(f"{prefix}_LO") or table.has(f"{prefix}_HI"):
                break
        else:
            raise FormatError(
                f"{table.context()}: missing columns {prefixes[0]}_LO/{prefixes[0]}_HI for the "
                f"{name!r} axis (columns: {table.colnames})"
            )
        spec = IRF_DL3_AXES_SPECIFICATION[prefix]
        unit_kind = u.Unit(spec["unit"]) if spec["unit"] else u.one
        values = {}
        for suffix in ("LO", "HI"):
            column = f"{prefix}_{suffix}"
            table.column(column)  # FormatError naming the column when absent
            unit = table.unit(column)
            if unit is None:
                if unit_kind != u.one:
                    raise UnitError(
                        f"{table.context(column)}: no unit (TUNIT) given, expected a unit "
                        f"convertible to {unit_kind}"
                    )
                unit = u.one
            if not unit.is_equivalent(unit_kind):
                raise UnitError(
                    f"{table.context(column)}: unit {unit} is not convertible to {unit_kind}"
                )
            raw = np.atleast_1d(table.row(column, 0)).astype(np.float64)
            values[suffix] = (raw, unit)
        (lo, lo_unit), (hi, hi_unit) = values["LO"], values["HI"]
        if lo.shape != hi.shape or lo.ndim != 1 or lo.size == 0:
            raise FormatError(
                f"{table.context(prefix + '_LO')}: {prefix}_LO and {prefix}_HI must be 1-D "
                f"arrays of equal length, got shapes {lo.shape} and {hi.shape}"
            )
        hi = hi * hi_unit.to(lo_unit) if hi_unit != lo_unit else hi
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise FormatError(f"{table.context(prefix + '_LO')}: non-finite axis values")
        try:
            if np.allclose(hi, lo):
                axis = MapAxis.from_nodes(hi, unit=lo_unit, interp=spec["interp"], name=name)
            else:
                edges = np.append(lo, hi[-1])
                axis = MapAxis.from_edges(edges, unit=lo_unit, interp=spec["interp"], name=name)
        except (DatasetError, UnitError) as exc:
            raise FormatError(f"{table.context(prefix + '_LO')}: invalid axis ({exc})") from exc
        return axis

    @classmethod
    def _data_column(cls, table: FitsTable) -> str:
        for name in cls.data_columns:
            if table.has(name):
                return name
        raise FormatError(
            f"{table.context()}: missing column {cls.data_columns[0]!r} (columns: {table.colnames})"
        )

    @classmethod
    def _read_data(cls, table: FitsTable, axes: MapAxes, column: str) -> np.ndarray:
        raw = table.row(column, 0)
        data = np.asarray(raw).T
        if data.shape != axes.shape:
            raise FormatError(
                f"{table.context(column)}: values of shape {np.shape(raw)} (TDIM reversed: "
                f"{data.shape}) do not match the axes {axes.names} of shape {axes.shape}"
            )
        return np.ascontiguousarray(data)

    @classmethod
    def _read_unit(cls, table: FitsTable, column: str):
        unit = table.unit(column)
        if unit is None:
            if cls.default_unit == u.one:
                return u.one
            raise UnitError(
                f"{table.context(column)}: no unit (TUNIT) given, expected a unit convertible "
                f"to {cls.default_unit}"
            )
        if not unit.is_equivalent(cls.default_unit):
            raise UnitError(
                f"{table.context(column)}: unit {unit} is not convertible to {cls.default_unit}"
            )
        return unit

    @classmethod
    def from_fits_table(cls, table: FitsTable):
        """IRF from a `~fluxfit.irf.gadf._fits.FitsTable` (the common reading path)."""
        if table.nrows < 1:
            raise FormatError(f"{table.context()}: IRF table has no rows")
        axes = MapAxes([cls._read_axis(table, name) for name in cls.required_axes])
        column = cls._data_column(table)
        data = cls._read_data(table, axes, column)
        unit = cls._read_unit(table, column)
        meta = kept_header(table.header)
        hduclas3 = str(table.keyword("HDUCLAS3", "FULL-ENCLOSURE")).upper()
        fov_alignment = table.keyword("FOVALIGN", "RADEC") or "RADEC"
        try:
            return cls(
                axes,
                data=data,
                unit=unit,
                meta=meta,
                is_pointlike=hduclas3 == "POINT-LIKE",
                fov_alignment=fov_alignment,
            )
        except (DatasetError, FormatError) as exc:
            raise FormatError(f"{table.context(column)}: {exc}") from exc

    @classmethod
    def from_hdu(cls, hdu, filename=None, obs_id=None):
        """IRF from a `~astropy.io.fits.BinTableHDU`."""
        return cls.from_fits_table(FitsTable(hdu, filename=filename, obs_id=obs_id))

    @classmethod
    def from_table(cls, table: Table):
        """IRF from an `~astropy.table.Table` in the GADF DL3 format (one row)."""
        hdu = fits.table_to_hdu(Table(table))
        hdu.name = table.meta.get("EXTNAME", cls.default_extname)
        return cls.from_hdu(hdu)

    @classmethod
    def read(cls, filename, hdu=None, obs_id=None):
        """Read from a FITS file.

        Parameters
        ----------
        filename : str or Path
        hdu : str or int, optional
            HDU name or index; by default the first table with the class's ``HDUCLAS4``
            (e.g. ``AEFF_2D``), else the first binary table.
        obs_id : int, optional
            Named in error messages.
        """
        with open_fits(filename, obs_id=obs_id) as hdulist:
            table_hdu = find_table_hdu(
                hdulist, hdu, filename=filename, obs_id=obs_id, hduclas4=cls.hduclas4
            )
            table = FitsTable(table_hdu, filename=filename, obs_id=obs_id)
        return cls.from_fits_table(table)

    def to_table(self) -> Table:
        """One-row `~astropy.table.Table` in the GADF DL3 format."""
        table = Table(axes_to_dl3_columns(self.axes))
        table[self.data_columns[0]] = self.quantity.T[np.newaxis]
        table.meta = irf_header(self)
        return table

    def to_table_hdu(self, name=None) -> fits.BinTableHDU:
        """The GADF DL3 binary table HDU."""
        return fits.BinTableHDU(self.to_table(), name=name or self.default_extname)

    def write(self, filename, overwrite=False, name=None):
        """Write a FITS file with an empty primary HDU and the IRF table."""
        path = check_output(filename, overwrite)
        fits.HDUList([fits.PrimaryHDU(), self.to_table_hdu(name=name)]).writeto(
            path, overwrite=overwrite
        )

    # ------------------------------------------------------------------ comparison
    def is_allclose(self, other, rtol=1e-6, atol=0.0) -> bool:
        """Same class, axes and values within tolerance."""
        if type(other) is not type(self) or other.data.shape != self.data.shape:
            return False
        axes_ok = all(a.is_allclose(b) for a, b in zip(self.axes, other.axes))
        values = other.quantity.to_value(self.unit)
        return axes_ok and bool(np.allclose(self.data, values, rtol=rtol, atol=atol))
