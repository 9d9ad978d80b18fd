"""`Geom`: base class of map geometries (`WcsGeom`, `RegionGeom`).

A geometry is a spatial part (a WCS image or a sky region) plus non-spatial
`MapAxes`. Data arrays have shape ``geom.data_shape``: the non-spatial axes in
reverse order, then the spatial ones, e.g. ``(n_energy, n_lat, n_lon)``.
Pixel/coordinate tuples are in the opposite order: ``(lon, lat, energy, ...)``.
"""

from __future__ import annotations

import numpy as np
from astropy import units as u

from fluxfit.errors import DatasetError

from ._utils import INVALID_INDEX, pix_tuple_to_idx

__all__ = ["Geom"]


class Geom:
    """Common behaviour of map geometries (see `WcsGeom` and `RegionGeom`)."""

    is_region = False
    is_hpx = False

    # subclasses implement: data_shape, axes, to_image, to_cube, _init_copy,
    # coord_to_pix, pix_to_coord, pix_to_idx, get_coord, get_idx, solid_angle

    @property
    def axes(self):
        """Non-spatial axes (`MapAxes`)."""
        return self._axes

    @property
    def axes_names(self):
        """Names of all axes: ``["lon", "lat", *axes]``."""
        return ["lon", "lat", *self.axes.names]

    @property
    def ndim(self):
        """Number of data dimensions."""
        return len(self.data_shape)

    @property
    def data_shape_axes(self):
        """Shape of the non-spatial axes with unit spatial dimensions."""
        return self.axes.shape[::-1] + (1, 1)

    @property
    def is_image(self):
        """Whether the geometry has no non-spatial axis."""
        return len(self.axes) == 0

    @property
    def is_flat(self):
        """Whether all non-spatial axes have a single bin."""
        return self.is_image or all(ax.nbin == 1 for ax in self.axes)

    @property
    def has_energy_axis(self):
        """Whether the geometry has exactly one of ``energy`` / ``energy_true``."""
        return ("energy" in self.axes.names) ^ ("energy_true" in self.axes.names)

    @property
    def as_energy_true(self):
        """Copy with the ``energy`` axis renamed ``energy_true``."""
        return self.rename_axes("energy", "energy_true")

    def data_nbytes(self, dtype="float32"):
        """Memory needed by a data array of this geometry (Quantity in MB)."""
        return (np.prod(self.data_shape) * np.dtype(dtype).itemsize * u.byte).to("MB")

    def copy(self, **kwargs):
        """Copy, overriding constructor arguments."""
        return self._init_copy(**kwargs)

    def coord_to_idx(self, coords, clip=False):
        """Coordinates to integer pixel indices (-1 outside unless ``clip``)."""
        pix = self.coord_to_pix(coords)
        return self.pix_to_idx(pix, clip=clip)

    def contains_pix(self, pix):
        """Whether pixel coordinates fall inside the geometry (bool array)."""
        idx = self.pix_to_idx(pix)
        return np.all(np.stack([np.asarray(t) != INVALID_INDEX for t in idx]), axis=0)

    def slice_by_idx(self, slices):
        """Geometry with non-spatial axes sliced (dict name -> slice or int; int drops)."""
        return self._init_copy(axes=self.axes.slice_by_idx(slices))

    def rename_axes(self, names, new_names):
        """Geometry with renamed axes."""
        return self._init_copy(axes=self.axes.rename_axes(names, new_names))

    def squash(self, axis_name):
        """Geometry with one axis squashed to a single bin."""
        return self.to_image().to_cube(self.axes.squash(axis_name))

    def drop(self, axis_name):
        """Geometry without the given axis."""
        return self.to_image().to_cube(self.axes.drop(axis_name))

    def resample_axis(self, axis):
        """Geometry whose axis ``axis.name`` is regrouped into ``axis.edges``."""
        return self._init_copy(axes=self.axes.resample(axis))

    def replace_axis(self, axis):
        """Geometry with the axis of the same name replaced."""
        return self._init_copy(axes=self.axes.replace(axis))

    def pad(self, pad_width, axis_name):
        """Pad a non-spatial axis (``axis_name``) or the spatial axes (``None``)."""
        if axis_name is None:
            return self._pad_spatial(pad_width)
        return self.to_image().to_cube(self.axes.pad(axis_name, pad_width))

    def _pad_spatial(self, pad_width):
        raise DatasetError(f"{type(self).__name__} does not support spatial padding")

    def energy_mask(self, energy_min=None, energy_max=None, round_to_edge=False):
        """Boolean map of energy bins fully inside ``[energy_min, energy_max]``."""
        return self.create_mask("energy", energy_min, energy_max, round_to_edge)

    def create_mask(self, axis_name, edge_min=None, edge_max=None, round_to_edge=False):
        """Boolean map of the bins of one axis fully inside ``[edge_min, edge_max]``."""
        from .core import Map

        axis = self.axes[axis_name]
        edges = axis.edges
        edge_min = edges[0] if edge_min is None else u.Quantity(edge_min, axis.unit)
        edge_max = edges[-1] if edge_max is None else u.Quantity(edge_max, axis.unit)
        if round_to_edge:
            edge_min, edge_max = axis.round(u.Quantity([edge_min, edge_max]))
        mask = (edges[:-1] >= edge_min) & (edges[1:] <= edge_max)
        shape = [1] * self.ndim
        shape[self.axes.index_data(axis_name)] = -1
        data = np.broadcast_to(mask.reshape(shape), self.data_shape)
        return Map.from_geom(self, data=data.copy(), dtype=bool)

    @staticmethod
    def _pix_tuple_to_idx(pix):
        return pix_tuple_to_idx(pix)

    def __repr__(self):
        return self.__str__()
