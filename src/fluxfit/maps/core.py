"""`Map`: data array + geometry + unit, with factories, arithmetic and reductions.

Concrete classes are `WcsNDMap` (WCS images/cubes) and `RegionNDMap` (one region
with non-spatial axes). The data array is a plain numpy array of shape
``geom.data_shape``; the unit is kept separately and applied at the edges
(``map.quantity``, arithmetic, I/O).

Examples
--------
>>> import numpy as np
>>> from fluxfit.maps import Map, MapAxis
>>> energy = MapAxis.from_energy_bounds("10 GeV", "1 TeV", 2)
>>> m = Map.create(npix=(4, 3), binsz=0.1, frame="galactic", axes=[energy], unit="cm-2 s-1")
>>> m.data += 1.0
>>> image = m.sum_over_axes(keepdims=False)
>>> image.data.shape, float(image.data.sum()), image.unit.to_string()
((3, 4), 24.0, '1 / (s cm2)')
"""

from __future__ import annotations

import copy as _copy
import json

import numpy as np
from astropy import units as u

from fluxfit.errors import DatasetError, UnitError

from ._utils import INVALID_INDEX, interp_pix_grid, pix_tuple_to_idx, scale_values, unscale_values

__all__ = ["Map"]


def _parse_unit(unit, what="Map"):
    try:
        return u.Unit(unit)
    except (ValueError, TypeError) as exc:
        raise UnitError(f"{what}: invalid unit {unit!r}") from exc


class Map:
    """Base class of maps: ``geom``, ``data``, ``unit`` and ``meta``.

    Parameters
    ----------
    geom : `~fluxfit.maps.WcsGeom` or `~fluxfit.maps.RegionGeom`
        Geometry.
    data : `~numpy.ndarray` or `~astropy.units.Quantity`, optional
        Data with shape ``geom.data_shape`` (broadcast if needed); zeros if None.
    dtype : str
        Type of the default data array. Default ``float32``.
    meta : dict, optional
        Metadata (serialised as JSON in the ``META`` header key).
    unit : str or `~astropy.units.Unit`
        Data unit (ignored for Quantity data).

    Examples
    --------
    >>> from fluxfit.maps import Map, WcsGeom
    >>> geom = WcsGeom.create(npix=(3, 2), binsz=1)
    >>> m = Map.from_geom(geom, data=2.0, unit="s")
    >>> (m * m).unit.to_string(), float((m + 1 * u.s).data[0, 0])
    ('s2', 3.0)
    """

    tag = "map"

    def __init__(self, geom, data=None, dtype="float32", meta=None, unit=""):
        self._geom = geom
        if data is None:
            data = np.zeros(geom.data_shape, dtype=dtype)
        if isinstance(data, u.Quantity):
            self._unit = _parse_unit(unit)
            self.quantity = data
        else:
            self.data = data
            self._unit = _parse_unit(unit)
        self._meta = {} if meta is None else meta

    # ------------------------------------------------------------------ factories
    @staticmethod
    def create(**kwargs):
        """Empty map: ``map_type="wcs"`` (default, see `WcsGeom.create`) or ``"region"``.

        Parameters
        ----------
        **kwargs
            For WCS maps: ``npix``, ``binsz``, ``width``, ``proj``, ``frame``, ``refpix``,
            ``axes``, ``skydir``, ``dtype``, ``meta``, ``unit``. For region maps:
            ``region``, ``axes``, ``dtype``, ``meta``, ``unit``, ``wcs``, ``binsz_wcs``.
        """
        map_type = kwargs.pop("map_type", "wcs")
        if map_type == "wcs":
            from .wcs_map import WcsNDMap

            return WcsNDMap.create(**kwargs)
        if map_type == "region":
            from .region_map import RegionNDMap

            return RegionNDMap.create(**kwargs)
        raise DatasetError(f"Unsupported map_type {map_type!r}: use 'wcs' or 'region'")

    @staticmethod
    def from_geom(geom, meta=None, data=None, unit="", dtype="float32"):
        """Map of the class matching ``geom`` (`WcsNDMap` or `RegionNDMap`)."""
        from .region import RegionGeom
        from .wcs import WcsGeom

        if isinstance(geom, WcsGeom):
            from .wcs_map import WcsNDMap

            cls = WcsNDMap
        elif isinstance(geom, RegionGeom):
            from .region_map import RegionNDMap

            cls = RegionNDMap
        else:
            raise TypeError(f"Unsupported geometry type {type(geom).__name__}")
        return cls(geom, data=data, meta=meta, unit=unit, dtype=dtype)

    @staticmethod
    def read(filename, hdu=None, hdu_bands=None, map_type="auto", format=None, checksum=False):
        """Read a map from a FITS file (see `fluxfit.maps.io.read_map`).

        Parameters
        ----------
        filename : str or `~pathlib.Path`
        hdu : str or int, optional
            HDU with the map data; default the first HDU with data.
        hdu_bands : str, optional
            BANDS table; default from the ``BANDSHDU`` key (or ``EBOUNDS``/``ENERGIES``).
        map_type : {"auto", "wcs", "region"}
        format : {None, "gadf", "fgst-ccube", "fgst-template", "ogip", "ogip-arf"}
        checksum : bool
            Verify ``CHECKSUM``/``DATASUM``.
        """
        from .io import read_map

        return read_map(
            filename,
            hdu=hdu,
            hdu_bands=hdu_bands,
            map_type=map_type,
            format=format,
            checksum=checksum,
        )

    @staticmethod
    def from_hdulist(hdulist, hdu=None, hdu_bands=None, map_type="auto", format=None):
        """Map from an open `~astropy.io.fits.HDUList`."""
        from .io import map_from_hdulist

        return map_from_hdulist(
            hdulist, hdu=hdu, hdu_bands=hdu_bands, map_type=map_type, format=format
        )

    def to_hdulist(self, hdu=None, hdu_bands=None, format="gadf", **kwargs):
        """HDU list of the map (see `fluxfit.maps.io.map_to_hdulist`)."""
        from .io import map_to_hdulist

        return map_to_hdulist(self, hdu=hdu, hdu_bands=hdu_bands, format=format, **kwargs)

    def write(
        self, filename, overwrite=False, hdu=None, hdu_bands=None, format="gadf", checksum=False
    ):
        """Write the map to a FITS file.

        Parameters
        ----------
        filename : str or `~pathlib.Path`
        overwrite : bool
            Replace an existing file (else `~fluxfit.errors.OverwriteError`).
        hdu : str, optional
            Extension name (``PRIMARY`` image for WCS maps, ``SKYMAP`` table for region
            maps by default).
        hdu_bands : str, optional
            Name of the BANDS table (default ``<HDU>_BANDS``).
        format : {"gadf", "fgst-ccube", "fgst-template", "ogip", "ogip-arf"}
        checksum : bool
            Add ``CHECKSUM``/``DATASUM`` cards.
        """
        from .io import write_hdulist

        hdulist = self.to_hdulist(hdu=hdu, hdu_bands=hdu_bands, format=format)
        write_hdulist(hdulist, filename, overwrite=overwrite, checksum=checksum)

    # ------------------------------------------------------------------ properties
    @property
    def geom(self):
        """Geometry."""
        return self._geom

    @property
    def data(self):
        """Data array (`~numpy.ndarray`, shape ``geom.data_shape``)."""
        return self._data

    @data.setter
    def data(self, value):
        if isinstance(value, u.Quantity):
            raise TypeError("Map data must be a numpy array: set the unit separately")
        if np.isscalar(value) or np.ndim(value) == 0:
            value = np.full(self._geom.data_shape, value)
        value = np.asanyarray(value)
        if value.shape != self._geom.data_shape:
            try:
                value = np.array(np.broadcast_to(value, self._geom.data_shape))
            except ValueError as exc:
                raise DatasetError(
                    f"Data shape {value.shape} is not compatible with the geometry shape "
                    f"{self._geom.data_shape}"
                ) from exc
        self._data = value

    @property
    def unit(self):
        """Data unit (`~astropy.units.Unit`)."""
        return self._unit

    @property
    def meta(self):
        """Metadata dict."""
        return self._meta

    @meta.setter
    def meta(self, value):
        self._meta = {} if value is None else value

    @property
    def quantity(self):
        """Data as a Quantity (no copy)."""
        return u.Quantity(self._data, self._unit, copy=None)

    @quantity.setter
    def quantity(self, value):
        value = u.Quantity(value, copy=None)
        self.data = value.value
        self._unit = value.unit

    @property
    def is_mask(self):
        """Whether the data are boolean."""
        return self._data.dtype == bool

    # ------------------------------------------------------------------ copies
    def _init_copy(self, **kwargs):
        args = {"geom": self._geom, "data": None, "unit": self._unit, "meta": None}
        args["meta"] = _copy.deepcopy(self._meta)
        if "data" not in kwargs:
            args["data"] = self._data.copy()
        args.update(kwargs)
        data = args["data"]
        dtype = data.dtype if isinstance(data, np.ndarray) else "float32"
        return self.from_geom(
            args["geom"], meta=args["meta"], data=data, unit=args["unit"], dtype=dtype
        )

    def copy(self, **kwargs):
        """Deep copy, optionally replacing ``geom`` (same shape), ``data``, ``unit`` or ``meta``."""
        if "geom" in kwargs and kwargs["geom"].data_shape != self._geom.data_shape:
            raise DatasetError(
                f"Map.copy cannot change the data shape: {self._geom.data_shape} -> "
                f"{kwargs['geom'].data_shape}"
            )
        return self._init_copy(**kwargs)

    def to_unit(self, unit):
        """Copy converted to another unit."""
        unit = _parse_unit(unit)
        try:
            data = self.quantity.to_value(unit)
        except u.UnitConversionError as exc:
            raise UnitError(f"Cannot convert map unit {self.unit!s} to {unit!s}") from exc
        return self._init_copy(data=data, unit=unit)

    def rename_axes(self, names, new_names):
        """Copy with renamed axes."""
        return self._init_copy(geom=self._geom.rename_axes(names, new_names))

    def __str__(self):
        return (
            f"{self.__class__.__name__}\n\n"
            f"\tgeom  : {self._geom.__class__.__name__}\n"
            f"\taxes  : {self._geom.axes_names}\n"
            f"\tshape : {self._geom.data_shape[::-1]}\n"
            f"\tndim  : {self._geom.ndim}\n"
            f"\tunit  : {self.unit}\n"
            f"\tdtype : {self.data.dtype}\n"
        )

    def __repr__(self):
        return self.__str__()

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self._data, dtype=dtype)

    def __hash__(self):
        return id(self)

    # ------------------------------------------------------------------ arithmetic
    def _arithmetics(self, operator, other, copy):
        if isinstance(other, Map):
            if self._geom != other.geom:
                raise DatasetError("Map arithmetic: inconsistent geometries")
            other_data, other_unit = other.data, other.unit
        else:
            other = u.Quantity(other, copy=None)
            other_data, other_unit = other.value, other.unit
        unit = None
        if operator in (np.multiply, np.true_divide):
            unit = operator(self.unit, other_unit)
            if isinstance(unit, u.Quantity):
                unit = unit.unit
        else:
            try:
                other_data = other_unit.get_converter(self.unit)(other_data)
            except u.UnitConversionError as exc:
                raise UnitError(
                    f"Map arithmetic: unit {other_unit!s} is not convertible to {self.unit!s}"
                ) from exc
        out = self.copy() if copy else self
        result = operator(out.data, other_data)
        if copy:
            out._data = np.asarray(result)
        else:
            out.data = result
        if unit is not None:
            out._unit = unit
        if operator in (
            np.less,
            np.less_equal,
            np.greater,
            np.greater_equal,
            np.equal,
            np.not_equal,
        ):
            out._unit = u.Unit("")
        return out

    def _boolean_arithmetics(self, operator, other, copy):
        if operator is np.logical_not:
            out = self.copy()
            out.data = operator(out.data)
            return out
        if isinstance(other, Map):
            if self._geom != other.geom:
                raise DatasetError("Map arithmetic: inconsistent geometries")
            other = other.data
        out = self.copy() if copy else self
        out.data = operator(out.data, other)
        return out

    def __add__(self, other):
        return self._arithmetics(np.add, other, copy=True)

    def __radd__(self, other):
        return self._arithmetics(np.add, other, copy=True)

    def __iadd__(self, other):
        return self._arithmetics(np.add, other, copy=False)

    def __sub__(self, other):
        return self._arithmetics(np.subtract, other, copy=True)

    def __rsub__(self, other):
        return (-self)._arithmetics(np.add, other, copy=True)

    def __isub__(self, other):
        return self._arithmetics(np.subtract, other, copy=False)

    def __mul__(self, other):
        return self._arithmetics(np.multiply, other, copy=True)

    def __rmul__(self, other):
        return self._arithmetics(np.multiply, other, copy=True)

    def __imul__(self, other):
        return self._arithmetics(np.multiply, other, copy=False)

    def __truediv__(self, other):
        return self._arithmetics(np.true_divide, other, copy=True)

    def __rtruediv__(self, other):
        other = u.Quantity(other, copy=None)
        out = self.copy()
        out._data = np.asarray(other.value / self.data)
        out._unit = other.unit / self.unit
        return out

    def __itruediv__(self, other):
        return self._arithmetics(np.true_divide, other, copy=False)

    def __neg__(self):
        out = self.copy()
        out._data = -out._data
        return out

    def __le__(self, other):
        return self._arithmetics(np.less_equal, other, copy=True)

    def __lt__(self, other):
        return self._arithmetics(np.less, other, copy=True)

    def __ge__(self, other):
        return self._arithmetics(np.greater_equal, other, copy=True)

    def __gt__(self, other):
        return self._arithmetics(np.greater, other, copy=True)

    def __eq__(self, other):
        return self._arithmetics(np.equal, other, copy=True)

    def __ne__(self, other):
        return self._arithmetics(np.not_equal, other, copy=True)

    def __and__(self, other):
        return self._boolean_arithmetics(np.logical_and, other, copy=True)

    def __or__(self, other):
        return self._boolean_arithmetics(np.logical_or, other, copy=True)

    def __xor__(self, other):
        return self._boolean_arithmetics(np.logical_xor, other, copy=True)

    def __invert__(self):
        return self._boolean_arithmetics(np.logical_not, None, copy=True)

    def __iand__(self, other):
        return self._boolean_arithmetics(np.logical_and, other, copy=False)

    def __ior__(self, other):
        return self._boolean_arithmetics(np.logical_or, other, copy=False)

    def __ixor__(self, other):
        return self._boolean_arithmetics(np.logical_xor, other, copy=False)

    def is_allclose(self, other, rtol_axes=1e-3, atol_axes=1e-6, **kwargs):
        """Same geometry (up to tolerances) and close data (``np.allclose`` kwargs)."""
        if not isinstance(other, Map) or self.data.shape != other.data.shape:
            return False
        axes_eq = self.geom.axes.is_allclose(other.geom.axes, rtol=rtol_axes, atol=atol_axes)
        try:
            other_values = other.quantity.to_value(self.unit)
        except u.UnitConversionError:
            return False
        return bool(axes_eq and np.allclose(self.data, other_values, **kwargs))

    # ------------------------------------------------------------------ reductions
    def reduce(self, axis_name, func=np.add, keepdims=False, weights=None):
        """Reduce one non-spatial axis with a ufunc (NaNs are skipped).

        Parameters
        ----------
        axis_name : str
        func : `~numpy.ufunc`
            ``np.add``, ``np.logical_or``, ``np.logical_and``, ``np.maximum``...
        keepdims : bool
            Keep the axis as a single bin.
        weights : `Map` or array, optional
            Multiplied with the data before reducing.
        """
        geom = self.geom.squash(axis_name) if keepdims else self.geom.drop(axis_name)
        idx = self.geom.axes.index_data(axis_name)
        data = self.data
        if weights is not None:
            data = data * (weights.data if isinstance(weights, Map) else weights)
        if np.issubdtype(data.dtype, np.floating):
            data = func.reduce(data, axis=idx, keepdims=keepdims, where=~np.isnan(data))
        else:
            data = func.reduce(data, axis=idx, keepdims=keepdims)
        return self._init_copy(geom=geom, data=data)

    def reduce_over_axes(self, func=np.add, keepdims=False, axes_names=None, weights=None):
        """Reduce several (default all) non-spatial axes."""
        axes_names = self.geom.axes.names if axes_names is None else axes_names
        if weights is None:
            out = self
        else:
            out = self._init_copy(
                data=self.data * (weights.data if isinstance(weights, Map) else weights)
            )
        for name in axes_names:
            out = out.reduce(name, func=func, keepdims=keepdims)
        return out.copy() if out is self else out

    def sum_over_axes(self, axes_names=None, keepdims=True, weights=None):
        """Sum over non-spatial axes (all by default), keeping single bins if ``keepdims``.

        Examples
        --------
        >>> from fluxfit.maps import Map, MapAxis
        >>> axis = MapAxis.from_energy_bounds("1 TeV", "10 TeV", 3)
        >>> m = Map.create(npix=2, binsz=1, axes=[axis])
        >>> m.sum_over_axes().data.shape
        (1, 2, 2)
        """
        return self.reduce_over_axes(
            func=np.add, axes_names=axes_names, keepdims=keepdims, weights=weights
        )

    def cumsum(self, axis_name):
        """Cumulative integral along an axis (value x bin width; rad axes include 2 pi r)."""
        from .axes import MapAxis

        axis = self.geom.axes[axis_name]
        idx = self.geom.axes.index_data(axis_name)
        shape = [1] * self.data.ndim
        shape[idx] = -1
        values = self.data * axis.bin_width.value.reshape(shape)
        unit = self.unit * axis.unit
        if axis_name == "rad":
            values = 2 * np.pi * axis.center.value.reshape(shape) * values
            unit = unit * axis.unit
        data = np.insert(values.cumsum(axis=idx), 0, 0, axis=idx)
        shifted = MapAxis.from_nodes(axis.edges, name=axis.name, interp=axis.interp)
        geom = self.geom.to_image().to_cube(self.geom.axes.replace(shifted))
        return self.__class__(geom=geom, data=data, unit=unit)

    def normalize(self, axis_name=None):
        """Normalise in place so that the integral along ``axis_name`` is one."""
        cumsum = self.cumsum(axis_name)
        idx = self.geom.axes.index_data(axis_name)
        with np.errstate(invalid="ignore", divide="ignore"):
            normed = self.data / cumsum.data.max(axis=idx, keepdims=True)
        self.data = np.nan_to_num(normed)
        self._unit = self.unit / cumsum.unit

    def resample_axis(self, axis, weights=None, ufunc=np.add):
        """Group the bins of ``axis.name`` into the edges of ``axis`` (reduce with ``ufunc``)."""
        geom = self.geom.resample_axis(axis)
        axis_self = self.geom.axes[axis.name]
        axis_new = geom.axes[axis.name]
        indices = np.digitize(axis_new.edges.to_value(axis_self.unit), axis_self.edges.value) - 1
        idx = self.geom.axes.index_data(axis.name)
        data = self.data if weights is None else self.data * weights.data
        pad_shape = list(data.shape)
        pad_shape[idx] = 1
        padded = np.append(data, np.zeros(pad_shape, dtype=data.dtype), axis=idx)
        slices = tuple(slice(0, n) for n in geom.data_shape)
        data = ufunc.reduceat(padded, indices=indices, axis=idx)[slices]
        return self._init_copy(geom=geom, data=data)

    # ------------------------------------------------------------------ slicing and access
    def slice_by_idx(self, slices):
        """Map sliced along non-spatial axes (dict name -> slice or int; int drops the axis).

        The data is a view of this map's data.
        """
        geom = self.geom.slice_by_idx(slices)
        index = tuple(slices.get(ax.name, slice(None)) for ax in self.geom.axes)
        return self.__class__(
            geom=geom, data=self.data[index[::-1]], unit=self.unit, meta=self.meta
        )

    def get_image_by_idx(self, idx):
        """Image (spatial map) at integer indices of the non-spatial axes (axis order)."""
        if len(idx) != len(self.geom.axes):
            raise DatasetError(
                f"get_image_by_idx needs {len(self.geom.axes)} indices, got {len(idx)}"
            )
        idx = tuple(int(np.asarray(i).item()) for i in idx)
        return self.__class__(
            geom=self.geom.to_image(), data=self.data[idx[::-1]], unit=self.unit, meta=self.meta
        )

    def get_image_by_coord(self, coords):
        """Image at axis coordinates (tuple in axis order or dict name -> value)."""
        if isinstance(coords, tuple):
            coords = dict(zip(self.geom.axes.names, coords))
        coords = {k: u.Quantity(v) if isinstance(v, str) else v for k, v in coords.items()}
        idx = self.geom.axes.coord_to_idx(coords)
        return self.get_image_by_idx(idx)

    def get_image_by_pix(self, pix):
        """Image at pixel coordinates of the non-spatial axes."""
        idx = self.geom.axes.pix_to_idx(pix_tuple_to_idx(pix))
        return self.get_image_by_idx(idx)

    def iter_by_image_data(self):
        """Yield ``(image_array, index)`` for every image plane (index in data order)."""
        for idx in np.ndindex(self.geom.data_shape[:-2]):
            yield self.data[idx], idx

    def iter_by_image(self, keepdims=False):
        """Yield every image plane as a map."""
        for idx in np.ndindex(self.geom.axes.shape):
            if keepdims:
                slices = {ax.name: slice(i, i + 1) for ax, i in zip(self.geom.axes, idx)}
                yield self.slice_by_idx(slices)
            else:
                yield self.get_image_by_idx(idx)

    def iter_by_axis(self, axis_name, keepdims=False):
        """Yield the map sliced at every bin of one axis."""
        for idx in range(self.geom.axes[axis_name].nbin):
            index = slice(idx, idx + 1) if keepdims else idx
            yield self.slice_by_idx({axis_name: index})

    def get_by_idx(self, idx):
        """Values at integer indices (tuple in pixel order ``(ix, iy, i0, ...)``)."""
        idx = pix_tuple_to_idx(idx)
        return self.data.T[idx]

    def get_by_pix(self, pix, fill_value=np.nan):
        """Values at pixel coordinates (rounded); ``fill_value`` outside the map."""
        pix = np.broadcast_arrays(*[np.asarray(p) for p in pix])
        idx = self.geom.pix_to_idx(pix)
        mask = np.all(np.stack([np.asarray(t) != INVALID_INDEX for t in idx]), axis=0)
        safe = tuple(np.where(mask, t, 0) for t in idx)
        values = self.get_by_idx(safe)
        if not mask.all():
            values = values.astype(np.result_type(values.dtype, np.asarray(fill_value).dtype))
            values[~mask] = fill_value
        return values

    def get_by_coord(self, coords, fill_value=np.nan):
        """Values of the pixels containing the coordinates (``fill_value`` outside)."""
        pix = self.geom.coord_to_pix(coords)
        return self.get_by_pix(pix, fill_value=fill_value)

    def interp_by_pix(self, pix, method="linear", fill_value=None, values_scale="lin"):
        """Interpolate at pixel coordinates (multilinear; extrapolates unless ``fill_value``).

        Parameters
        ----------
        pix : tuple of array-like
            Pixel coordinates in pixel order.
        method : {"linear", "nearest"}
        fill_value : float, optional
            Value outside the map; None extrapolates linearly.
        values_scale : {"lin", "log", "sqrt"}
            Interpolate the scaled values (``log`` for steep functions).
        """
        data = self.data
        if values_scale != "lin":
            data = scale_values(data, values_scale)
        values = interp_pix_grid(data, pix, method=method)
        if values_scale != "lin":
            values = unscale_values(values, values_scale)
        if fill_value is not None:
            pix_b = np.broadcast_arrays(*[np.asarray(p, dtype=float) for p in pix])
            idx = self.geom.pix_to_idx(pix_b)
            outside = np.any(np.stack([np.asarray(t) == INVALID_INDEX for t in idx]), axis=0)
            values = np.array(values, dtype=float)
            values[outside | ~np.isfinite(values)] = fill_value
        return values

    def interp_by_coord(self, coords, method="linear", fill_value=None, values_scale="lin"):
        """Interpolate at coordinates (see `interp_by_pix`)."""
        pix = self.geom.coord_to_pix(coords)
        return self.interp_by_pix(
            pix, method=method, fill_value=fill_value, values_scale=values_scale
        )

    def interp_to_geom(self, geom, preserve_counts=False, fill_value=0, **kwargs):
        """Interpolate onto another geometry (per solid angle if ``preserve_counts``)."""
        coords = geom.get_coord()
        data = self.data.astype(float)
        source = self.copy(data=data)
        if preserve_counts:
            source._data = source._data / self.geom.solid_angle().to_value("deg2")
        if self.is_mask:
            values = source.get_by_coord(coords, fill_value=np.nan)
            values = np.nan_to_num(values, nan=fill_value or 0).astype(bool)
        else:
            values = source.interp_by_coord(coords, fill_value=fill_value, **kwargs)
        if preserve_counts:
            values = values * geom.solid_angle().to_value("deg2")
        return Map.from_geom(geom, data=values, unit=self.unit, dtype=values.dtype)

    def set_by_idx(self, idx, vals):
        """Set values at integer indices (pixel order)."""
        idx = pix_tuple_to_idx(idx)
        self.data.T[idx] = vals

    def set_by_pix(self, pix, vals):
        """Set values at (rounded) pixel coordinates."""
        self.set_by_idx(pix_tuple_to_idx(pix), vals)

    def set_by_coord(self, coords, vals):
        """Set values of the pixels containing the coordinates."""
        self.set_by_pix(self.geom.coord_to_pix(coords), vals)

    def fill_by_idx(self, idx, weights=None):
        """Add ``weights`` (default 1) at integer indices; indices -1 are ignored."""
        idx = [np.asarray(t) for t in pix_tuple_to_idx(idx)]
        idx = np.broadcast_arrays(*idx)
        valid = np.all(np.stack([t != INVALID_INDEX for t in idx]), axis=0)
        idx = [t[valid] for t in idx]
        if weights is not None:
            if isinstance(weights, u.Quantity):
                weights = weights.to_value(self.unit)
            weights = np.broadcast_to(np.asarray(weights, dtype=float), valid.shape)[valid]
        flat = np.ravel_multi_index(tuple(idx[::-1]), self.data.shape)
        counts = np.bincount(flat, weights=weights, minlength=self.data.size)
        self.data += counts.reshape(self.data.shape).astype(self.data.dtype)

    def fill_by_pix(self, pix, weights=None):
        """Add ``weights`` at (rounded) pixel coordinates."""
        self.fill_by_idx(pix_tuple_to_idx(pix), weights=weights)

    def fill_by_coord(self, coords, weights=None):
        """Histogram coordinates into the map (``weights`` default 1)."""
        idx = self.geom.coord_to_idx(coords)
        self.fill_by_idx(idx, weights=weights)

    # ------------------------------------------------------------------ resampling
    def resample(self, geom, weights=None, preserve_counts=True, smooth=False):
        """Bin the pixel centres of this map into ``geom`` (sum, or mean if not counts)."""
        coords = self.geom.get_coord()
        idx = geom.coord_to_idx(coords)
        values = self.data if weights is None else self.data * weights
        dtype = self.data.dtype if self.is_mask else np.result_type(self.data.dtype, np.float32)
        out = self._init_copy(geom=geom, data=np.zeros(geom.data_shape, dtype=dtype))
        out._resample_by_idx(idx, weights=values, preserve_counts=preserve_counts, smooth=smooth)
        return out

    def _resample_by_idx(self, idx, weights=None, preserve_counts=False, smooth=False):
        idx = [np.asarray(t) for t in pix_tuple_to_idx(idx)]
        idx = np.broadcast_arrays(*idx)
        valid = np.all(np.stack([t != INVALID_INDEX for t in idx]), axis=0)
        idx = [t[valid] for t in idx]
        if weights is not None:
            if isinstance(weights, u.Quantity):
                weights = weights.to_value(self.unit)
            weights = np.broadcast_to(weights, valid.shape)[valid]
        flat = np.ravel_multi_index(tuple(idx[::-1]), self.data.shape)
        flat, inverse = np.unique(flat, return_inverse=True)
        sums = np.bincount(inverse, weights=weights).astype(float)
        counts = np.bincount(inverse).astype(float)
        if smooth:
            total = np.nansum(sums)
            sums /= counts
            if preserve_counts:
                with np.errstate(invalid="ignore", divide="ignore"):
                    factor = total / np.nansum(sums)
                sums *= np.nan_to_num(factor, nan=0.0, posinf=0.0, neginf=0.0)
        elif not preserve_counts:
            sums /= counts
        self.data.flat[flat] += sums.astype(self.data.dtype)

    def reproject_to_geom(self, geom, preserve_counts=False, precision_factor=10):
        """Reproject onto another WCS geometry by oversampling and binning (Gammapy method).

        The map is upsampled until its pixels are ``precision_factor`` times smaller than
        the target pixels, then the fine pixel centres are binned into ``geom``.
        """
        axes = list(self.geom.axes)
        geom3d = geom.to_image().to_cube(axes)
        scale_in = self.geom.pixel_scales.deg.min()
        scale_out = geom3d.pixel_scales.deg.min()
        base_factor = scale_out / scale_in
        source = self
        if base_factor < precision_factor:
            factor = int(np.ceil(precision_factor / base_factor))
            source = self.upsample(factor=factor, preserve_counts=preserve_counts)
        return source.resample(geom3d, preserve_counts=preserve_counts, smooth=True)

    # ------------------------------------------------------------------ misc
    def to_cube(self, axes):
        """Map with extra axes appended (data broadcast along them)."""
        geom = self.geom.to_cube(axes)
        shape = tuple(ax.nbin for ax in axes)[::-1] + self.data.shape
        data = np.broadcast_to(self.data, shape).copy()
        return self._init_copy(geom=geom, data=data)

    def get_spectrum(self, region=None, func=np.nansum, weights=None):
        """Spectrum in a region (alias of ``to_region_nd_map``)."""
        return self.to_region_nd_map(region=region, func=func, weights=weights)

    @classmethod
    def from_stack(cls, maps, axis=None, axis_name=None):
        """Stack images (or cubes) along a new axis or an existing one (``axis_name``)."""
        if axis_name is None and axis is None:
            raise DatasetError("Map.from_stack needs an axis or an axis_name")
        if axis is not None:
            data = np.stack([m.data for m in maps], axis=0)
            geom = maps[0].geom.to_cube([axis])
        else:
            idx = maps[0].geom.axes.index_data(axis_name)
            data = np.concatenate([m.data for m in maps], axis=idx)
            ax = type(maps[0].geom.axes[axis_name]).from_stack(
                [m.geom.axes[axis_name] for m in maps]
            )
            geom = maps[0].geom.replace_axis(ax)
        return maps[0]._init_copy(geom=geom, data=data)

    def plot_grid(self, figsize=None, ncols=3, **kwargs):
        """One subplot per image plane (see `fluxfit.maps.plotting.plot_grid`)."""
        from .plotting import plot_grid

        return plot_grid(self, figsize=figsize, ncols=ncols, **kwargs)

    def _meta_json(self):
        return json.dumps(self.meta, default=str)
