"""`MapAxes`: the ordered list of non-spatial axes of a geometry, with lookup by name.

Examples
--------
>>> from fluxfit.maps import MapAxes, MapAxis
>>> axes = MapAxes([MapAxis.from_energy_bounds("1 TeV", "10 TeV", 3)])
>>> axes["energy"].nbin, axes.index_data("energy")
(3, 0)
"""

from __future__ import annotations

import copy as _copy
from collections.abc import Sequence

import numpy as np
from astropy.io import fits
from astropy.table import Table

from fluxfit.errors import DatasetError, FormatError

from ._utils import edges_from_lo_hi

__all__ = ["MapAxes"]


class MapAxes(Sequence):
    """Ordered container of map axes with lookup by name.

    Parameters
    ----------
    axes : list of `MapAxis` or `~fluxfit.maps.TimeMapAxis`
        Axes, in the order of the map's non-spatial dimensions (fastest first; data
        arrays store them reversed: ``data[..., axis1, axis0, lat, lon]``).
    n_spatial_axes : int, optional
        Number of spatial axes appended when broadcasting coordinates.

    Examples
    --------
    >>> from fluxfit.maps import MapAxes, MapAxis
    >>> energy = MapAxis.from_energy_bounds("1 TeV", "10 TeV", 3)
    >>> rad = MapAxis.from_bounds(0, 1, 5, name="rad", unit="deg")
    >>> axes = MapAxes([rad, energy])
    >>> axes.names, axes.shape, axes.index_data("energy")
    (['rad', 'energy'], (5, 3), 0)
    """

    def __init__(self, axes, n_spatial_axes=None):
        axes = list(axes)
        names = [ax.name for ax in axes]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise DatasetError(f"Axis names must be unique, got {duplicates} more than once")
        self._axes = axes
        self._n_spatial_axes = n_spatial_axes

    @classmethod
    def from_default(cls, axes, n_spatial_axes=None):
        """Axes from None, a MapAxes or a list (unnamed axes become ``axis<i>``)."""
        from .axes import MapAxis

        if axes is None:
            return cls([], n_spatial_axes=n_spatial_axes)
        out = []
        for idx, ax in enumerate(axes):
            if isinstance(ax, np.ndarray):
                ax = MapAxis(ax)
            if ax.name == "":
                ax = ax.copy(name=f"axis{idx}")
            out.append(ax)
        return cls(out, n_spatial_axes=n_spatial_axes)

    def __len__(self):
        return len(self._axes)

    def __getitem__(self, idx):
        if isinstance(idx, int | np.integer):
            return self._axes[idx]
        if isinstance(idx, str):
            for ax in self._axes:
                if ax.name == idx:
                    return ax
            raise KeyError(f"Axis {idx!r} not in axes {self.names}")
        if isinstance(idx, slice):
            return self.__class__(self._axes[idx])
        if isinstance(idx, list):
            return self.__class__([self[name] for name in idx])
        raise TypeError(f"Invalid axes index type: {type(idx).__name__}")

    def __add__(self, other):
        return self.__class__(list(self) + list(other))

    def __contains__(self, name):
        if isinstance(name, str):
            return name in self.names
        return any(ax is name for ax in self._axes)

    def __repr__(self):
        return f"MapAxes({self.names}, shape={self.shape})"

    @property
    def names(self):
        """Axis names (list of str)."""
        return [ax.name for ax in self._axes]

    @property
    def shape(self):
        """Number of bins of each axis (tuple, axis order)."""
        return tuple(ax.nbin for ax in self._axes)

    @property
    def reverse(self):
        """Axes in reverse order."""
        return self.__class__(self._axes[::-1])

    @property
    def is_flat(self):
        """Whether every axis has a single bin."""
        return bool(np.all(np.array(self.shape) == 1))

    @property
    def is_unidimensional(self):
        """Whether at most one axis has more than one bin."""
        return bool(self.is_flat or np.count_nonzero(np.array(self.shape) > 1) == 1)

    @property
    def primary_axis(self):
        """The longest axis."""
        return self._axes[int(np.argmax(self.shape))]

    def index(self, axis_name):
        """Position of an axis in the axes list."""
        return self.names.index(axis_name)

    def index_data(self, axis_name):
        """Position of an axis in the data array (axes are reversed there)."""
        return len(self) - self.names.index(axis_name) - 1

    @property
    def iter_with_reshape(self):
        """Yield ``(shape, axis)`` with the shape to broadcast the axis values."""
        for idx, axis in enumerate(self._axes):
            shape = [1] * len(self)
            shape[idx] = -1
            if self._n_spatial_axes:
                shape = shape[::-1] + [1] * self._n_spatial_axes
            yield tuple(shape), axis

    def get_coord(self, mode="center", axis_name=None):
        """Broadcastable axis coordinates (dict name -> Quantity)."""
        coords = {}
        for shape, axis in self.iter_with_reshape:
            if mode == "edges" and axis.name == axis_name:
                coord = axis.edges
            else:
                coord = axis.center
            coords[axis.name] = coord.reshape(shape)
        return coords

    def bin_volume(self):
        """Product of the bin widths, broadcastable (Quantity)."""
        volume = np.array(1.0)
        for shape, axis in self.iter_with_reshape:
            volume = volume * axis.bin_width.reshape(shape)
        return volume

    @property
    def center_coord(self):
        """Coordinates of the central pixel of each axis (tuple)."""
        return tuple(ax.pix_to_coord((float(ax.nbin) - 1.0) / 2.0) for ax in self._axes)

    def coord_to_idx(self, coord, clip=True):
        """Indices for a dict/MapCoord of axis coordinates (tuple of arrays)."""
        return tuple(ax.coord_to_idx(coord[ax.name], clip=clip) for ax in self._axes)

    def coord_to_pix(self, coord):
        """Pixels for a dict/MapCoord of axis coordinates (tuple of arrays)."""
        return tuple(ax.coord_to_pix(coord[ax.name]) for ax in self._axes)

    def pix_to_coord(self, pix):
        """Coordinates for a tuple of pixel arrays (tuple of Quantities)."""
        return tuple(ax.pix_to_coord(p) for ax, p in zip(self._axes, pix))

    def pix_to_idx(self, pix, clip=False):
        """Indices for a tuple of pixel arrays."""
        return tuple(ax.pix_to_idx(p, clip=clip) for ax, p in zip(self._axes, pix))

    def _map(self, axis_name, func):
        if axis_name not in self.names:
            raise KeyError(f"Axis {axis_name!r} not in axes {self.names}")
        return self.__class__([func(ax) if ax.name == axis_name else ax for ax in self._axes])

    def replace(self, axis):
        """Replace the axis with the same name."""
        return self._map(axis.name, lambda ax: axis)

    def squash(self, axis_name):
        """Squash one axis to a single bin."""
        return self._map(axis_name, lambda ax: ax.squash())

    def drop(self, axis_name):
        """Remove one axis."""
        if axis_name not in self.names:
            raise KeyError(f"Axis {axis_name!r} not in axes {self.names}")
        return self.__class__([ax for ax in self._axes if ax.name != axis_name])

    def pad(self, axis_name, pad_width):
        """Pad one axis."""
        return self._map(axis_name, lambda ax: ax.pad(pad_width))

    def upsample(self, factor, axis_name):
        """Upsample one axis."""
        return self._map(axis_name, lambda ax: ax.upsample(factor))

    def downsample(self, factor, axis_name):
        """Downsample one axis."""
        return self._map(axis_name, lambda ax: ax.downsample(factor))

    def resample(self, axis):
        """Replace an axis by the grouping of its bins into ``axis.edges`` (normal groups)."""
        from .axes import MapAxis

        groups = self[axis.name].group_table(axis.edges)
        groups = groups[groups["bin_type"] == "normal   "]
        edges = edges_from_lo_hi(
            groups[axis.name + "_min"].quantity, groups[axis.name + "_max"].quantity
        )
        resampled = MapAxis.from_edges(edges, interp=axis.interp, name=axis.name)
        return self.replace(resampled)

    def slice_by_idx(self, slices):
        """Slice axes by a dict name -> slice or int (int drops the axis)."""
        axes = []
        for ax in self._axes:
            ax_slice = slices.get(ax.name, slice(None))
            if isinstance(ax_slice, slice):
                axes.append(ax.slice(ax_slice))
        return self.__class__(axes)

    def rename_axes(self, names, new_names):
        """Rename axes (str or lists)."""
        if isinstance(names, str):
            names = [names]
        if isinstance(new_names, str):
            new_names = [new_names]
        mapping = dict(zip(names, new_names))
        return self.__class__(
            [ax.copy(name=mapping[ax.name]) if ax.name in mapping else ax for ax in self._axes]
        )

    def assert_names(self, required_names, allow_extra=False):
        """Raise `~fluxfit.errors.DatasetError` unless the axes are ``required_names`` in order."""
        names = self.names
        ok = names[: len(required_names)] == list(required_names)
        if not allow_extra:
            ok = ok and len(names) == len(required_names)
        if not ok:
            raise DatasetError(
                f"Incorrect axis order or names: expected {list(required_names)}, got {names}"
            )

    def is_allclose(self, other, **kwargs):
        """Whether all axes are close (see `MapAxis.is_allclose`)."""
        if not isinstance(other, MapAxes) or len(self) != len(other):
            return False
        return all(a.is_allclose(b, **kwargs) for a, b in zip(self, other))

    def __eq__(self, other):
        if not isinstance(other, MapAxes):
            return False
        return self.is_allclose(other, rtol=1e-6, atol=1e-6)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return id(self)

    def copy(self):
        """Copy of the container (axes are immutable and shared)."""
        return self.__class__(list(self._axes), n_spatial_axes=self._n_spatial_axes)

    def __deepcopy__(self, memo):
        return self.__class__([_copy.deepcopy(ax, memo) for ax in self._axes])

    # ------------------------------------------------------------------ tables
    def to_header(self, format="gadf"):
        """``AXCOLS<i>``/``INTERP<i>`` header keys (see `fluxfit.maps.axis_tables`)."""
        from .axis_tables import axes_to_header

        return axes_to_header(self, format=format)

    def to_table(self, format="gadf"):
        """BANDS table of the axes (see `fluxfit.maps.axis_tables.axes_to_table`)."""
        from .axis_tables import axes_to_table

        return axes_to_table(self, format=format)

    def to_table_hdu(self, format="gadf", hdu_bands=None):
        """BANDS binary table HDU."""
        from .axis_tables import axes_to_table_hdu

        return axes_to_table_hdu(self, format=format, hdu_bands=hdu_bands)

    @classmethod
    def from_table(cls, table, format="gadf"):
        """Axes from a BANDS/EBOUNDS/ENERGIES table (see `fluxfit.maps.axis_tables`)."""
        from .axis_tables import axes_from_table

        return axes_from_table(table, format=format)

    @classmethod
    def from_table_hdu(cls, hdu, format="gadf"):
        """Axes from a table HDU (empty axes for ``None``)."""
        if hdu is None:
            return cls([])
        if not isinstance(hdu, fits.BinTableHDU | fits.TableHDU):
            raise FormatError(
                f"HDU {hdu.name!r}: expected a table of axes (BANDS / EBOUNDS / ENERGIES), got "
                f"{type(hdu).__name__}"
            )
        return cls.from_table(Table.read(hdu), format=format)
