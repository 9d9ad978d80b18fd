"""`WcsNDMap`: a map on a `WcsGeom` (image or cube with any number of non-spatial axes).

Examples
--------
>>> from astropy.coordinates import SkyCoord
>>> from fluxfit.maps import WcsNDMap
>>> m = WcsNDMap.create(npix=(40, 20), binsz=0.1, frame="galactic")
>>> m.data[10, 20] = 1.0
>>> round(float(m.smooth("0.2 deg").data.sum()), 6)
1.0
>>> m.cutout(SkyCoord(0, 0, unit="deg", frame="galactic"), width="1 deg").data.shape
(10, 10)
"""

from __future__ import annotations

import warnings

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from scipy import ndimage

from fluxfit.errors import DatasetError, UnitError

from .core import Map
from .region import RegionGeom
from .regions_helpers import region_mask_image
from .wcs import WcsGeom

__all__ = ["WcsNDMap"]

_SUM_FUNCS = {id(np.sum): "sum", id(np.nansum): "sum", id(np.add): "sum"}
_NAMED_FUNCS = {
    **_SUM_FUNCS,
    id(np.mean): "mean",
    id(np.nanmean): "mean",
    id(np.any): "any",
    id(np.logical_or): "any",
    id(np.all): "all",
    id(np.logical_and): "all",
}


def _func_name(func):
    if isinstance(func, str):
        return func
    return _NAMED_FUNCS.get(id(func))


class WcsNDMap(Map):
    """Map on a `WcsGeom` with a dense numpy data array.

    Parameters
    ----------
    geom : `WcsGeom`
    data : `~numpy.ndarray`, optional
        Shape ``geom.data_shape``; zeros of ``dtype`` if None.
    dtype : str
    meta : dict, optional
    unit : str or `~astropy.units.Unit`

    Examples
    --------
    >>> from fluxfit.maps import MapAxis, WcsNDMap
    >>> axis = MapAxis.from_energy_bounds("1 TeV", "10 TeV", 2)
    >>> WcsNDMap.create(npix=5, binsz=0.5, axes=[axis]).data.shape
    (2, 5, 5)
    """

    def __init__(self, geom, data=None, dtype="float32", meta=None, unit=""):
        if not isinstance(geom, WcsGeom):
            raise TypeError(f"WcsNDMap needs a WcsGeom, got {type(geom).__name__}")
        super().__init__(geom, data=data, dtype=dtype, meta=meta, unit=unit)

    @classmethod
    def create(
        cls,
        map_type="wcs",
        npix=None,
        binsz=0.1,
        width=None,
        proj="CAR",
        frame="icrs",
        refpix=None,
        axes=None,
        skydir=None,
        dtype="float32",
        meta=None,
        unit="",
    ):
        """Empty WCS map; arguments as `WcsGeom.create` plus ``dtype``, ``meta``, ``unit``."""
        if map_type != "wcs":
            raise DatasetError(f"WcsNDMap.create: unsupported map_type {map_type!r}")
        geom = WcsGeom.create(
            npix=npix,
            binsz=binsz,
            width=width,
            proj=proj,
            skydir=skydir,
            frame=frame,
            refpix=refpix,
            axes=axes,
        )
        return cls(geom, dtype=dtype, meta=meta, unit=unit)

    # ------------------------------------------------------------------ filtering
    def _width_pix(self, width):
        if isinstance(width, u.Quantity | str):
            try:
                width = (u.Quantity(width) / self.geom.pixel_scales.mean()).to_value("")
            except u.UnitConversionError as exc:
                raise UnitError(f"Smoothing width {width!r} is not an angle") from exc
        return float(width)

    def smooth(self, width, kernel="gauss", **kwargs):
        """Smoothed copy (every image plane independently), as Gammapy's ``smooth``.

        Parameters
        ----------
        width : `~astropy.units.Quantity`, str or float
            Gaussian sigma (``gauss``), disk radius (``disk``) or box side (``box``);
            angles are converted to pixels with the mean pixel scale, floats are pixels.
        kernel : {"gauss", "disk", "box"}
        **kwargs
            Passed to `scipy.ndimage.gaussian_filter` / ``convolve`` / ``uniform_filter``
            (e.g. ``mode="constant"``; the scipy default ``mode="reflect"`` keeps the total
            of each image).

        Returns
        -------
        smoothed : `WcsNDMap`
            Float64 copy.

        Examples
        --------
        >>> from fluxfit.maps import WcsNDMap
        >>> m = WcsNDMap.create(npix=21, binsz=0.05)
        >>> m.data[10, 10] = 1
        >>> round(float(m.smooth("0.1 deg").data[10, 10]), 5)  # sigma = 2 pixels
        0.03979
        """
        width = self._width_pix(width)
        data = self.data.astype(float)
        n_axes = data.ndim - 2
        if kernel == "gauss":
            sigma = (0,) * n_axes + (width, width)
            smoothed = ndimage.gaussian_filter(data, sigma, **kwargs)
        elif kernel == "box":
            size = (1,) * n_axes + (width, width)
            smoothed = ndimage.uniform_filter(data, size, **kwargs)
        elif kernel == "disk":
            from astropy.convolution import Tophat2DKernel

            disk = Tophat2DKernel(width)
            disk.normalize("integral")
            smoothed = np.empty_like(data)
            for img, idx in self.iter_by_image_data():
                smoothed[idx] = ndimage.convolve(img.astype(float), disk.array, **kwargs)
        else:
            raise DatasetError(f"Invalid kernel {kernel!r}: use 'gauss', 'disk' or 'box'")
        return self._init_copy(data=smoothed)

    def convolve(self, kernel, method="fft", mode="same"):
        """Convolve every image plane with a kernel.

        Parameters
        ----------
        kernel : `~numpy.ndarray`, `Map` or object with ``psf_kernel_map``
            2D kernel used for all planes, or an array/map whose leading dimensions match
            the map's non-spatial dimensions (one kernel per plane).
        method : {"fft", "direct", "auto"}
            Passed to `scipy.signal.convolve`.
        mode : {"same", "full", "valid"}
        """
        from scipy.signal import convolve

        if hasattr(kernel, "psf_kernel_map"):
            kernel = kernel.psf_kernel_map
        kernel = kernel.data if isinstance(kernel, Map) else np.asarray(kernel)
        data = self.data.astype(float)
        out = np.empty_like(data)
        for idx in np.ndindex(data.shape[:-2]):
            if kernel.ndim == 2:
                k = kernel
            else:
                k_idx = tuple(
                    min(i, n - 1) for i, n in zip(idx[-(kernel.ndim - 2) :], kernel.shape[:-2])
                )
                k = kernel[k_idx]
            out[idx] = convolve(data[idx], k, method=method, mode=mode)
        return self._init_copy(data=out)

    # ------------------------------------------------------------------ cutouts
    def cutout(self, position, width, mode="trim", odd_npix=False, min_npix=1):
        """Cutout around ``position`` (see `WcsGeom.cutout`); data copied, zeros outside.

        Examples
        --------
        >>> from astropy.coordinates import SkyCoord
        >>> from fluxfit.maps import WcsNDMap
        >>> m = WcsNDMap.create(npix=(400, 200), binsz=0.05, frame="galactic")
        >>> m.cutout(SkyCoord(0, 0, unit="deg", frame="galactic"), 3 * u.deg).geom.npix
        (60, 60)
        """
        geom, slices_parent, slices_cutout = self.geom._cutout2d(
            position, width, mode=mode, odd_npix=odd_npix, min_npix=min_npix
        )
        data = np.zeros(geom.data_shape, dtype=self.data.dtype)
        data[(Ellipsis, *slices_cutout)] = self.data[(Ellipsis, *slices_parent)]
        return self._init_copy(geom=geom, data=data)

    def cutout_and_mask_region(self, region=None):
        """Smallest cutout enclosing ``region`` and its boolean region mask."""
        if region is None:
            region = self.geom.footprint_rectangle_sky_region
        geom = RegionGeom.from_regions(region, wcs=self.geom.wcs)
        cutout = self.cutout(position=geom.center_skydir, width=tuple(geom.width.to_value("deg")))
        mask = cutout.geom.to_image().region_mask(region)
        return cutout, mask

    # ------------------------------------------------------------------ region reductions
    def _region_values(self, mask_image, func, weights):
        """Reduce the pixels of a boolean image mask in every plane."""
        data = self.data[..., mask_image]
        name = _func_name(func)
        if weights is not None:
            w = weights.data if isinstance(weights, Map) else np.asarray(weights)
            w = np.broadcast_to(w, self.data.shape)[..., mask_image]
            if w.dtype != bool:
                data = data * w
                w = None
        else:
            w = None
        if w is None:
            if name == "sum":
                return np.nansum(data, axis=-1)
            if name == "mean":
                with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
                    warnings.simplefilter("ignore", RuntimeWarning)
                    return np.mean(data, axis=-1)
            if name == "any":
                return np.any(data, axis=-1)
            if name == "all":
                return np.all(data, axis=-1)
            return np.apply_along_axis(func, -1, data) if data.shape[-1] else func(data, axis=-1)
        # boolean weights select pixels per plane
        if name == "sum":
            return np.nansum(np.where(w, data, 0), axis=-1)
        if name == "any":
            return np.any(w & (data != 0), axis=-1)
        out = np.empty(data.shape[:-1], dtype=float if name == "mean" else self.data.dtype)
        for idx in np.ndindex(data.shape[:-1]):
            with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                out[idx] = func(data[idx][w[idx]])
        return out

    def to_region_nd_map(self, region=None, func=np.nansum, weights=None, method="nearest"):
        """Reduce the map in a region (union for a list) to a `RegionNDMap`.

        Parameters
        ----------
        region : `~regions.SkyRegion`, list, str or `~astropy.coordinates.SkyCoord`, optional
            Region; default the whole map footprint. Point regions (or a SkyCoord)
            interpolate the map at the position (``method``).
        func : callable
            Reduction over the region pixels: ``np.nansum`` (default), ``np.sum``,
            ``np.mean``, ``np.any``, ``np.all`` or any ``func(array)``.
        weights : `WcsNDMap`, optional
            Float weights multiply the data; boolean weights (e.g. ``mask_safe``) select
            the pixels of each plane.
        method : {"nearest", "linear"}
            Interpolation for point regions.

        Returns
        -------
        spectrum : `RegionNDMap`
        """
        from .region_map import RegionNDMap

        if region is None:
            region = self.geom.footprint_rectangle_sky_region
        if weights is not None and weights.geom.data_shape[-2:] != self.geom.data_shape[-2:]:
            raise DatasetError("to_region_nd_map: weights have a different spatial geometry")
        geom = RegionGeom.from_regions(region, axes=self.geom.axes, wcs=self.geom.wcs)
        if geom.is_all_point_sky_regions:
            coords = geom.get_coord()
            data = self.interp_by_coord(coords, method=method)
            if weights is not None:
                data = data * weights.interp_by_coord(coords, method=method)
            data = data.astype(self.data.dtype)
        else:
            mask = region_mask_image(self.geom.to_image(), region)
            values = self._region_values(mask, func, weights)
            data = np.asarray(values).reshape(geom.data_shape)
            if _func_name(func) in ("sum", "any", "all") and weights is None:
                data = data.astype(self.data.dtype)
        return RegionNDMap(geom=geom, data=data, unit=self.unit, meta=dict(self.meta))

    def reduce_regions(self, regions, func="sum", weights=None, matrix=None):
        """Reduce the map in many regions at once (vectorised flux-profile path).

        One sparse ``(n_regions, n_pixels)`` membership matrix is built (each region is
        evaluated only within its bounding box) and applied to all image planes with a
        single sparse product.

        Parameters
        ----------
        regions : list of `~regions.SkyRegion`
            One entry per output row (compound regions count as one).
        func : {"sum", "mean", "any", "all", "npix"} or numpy function
            ``sum`` ignores NaNs (``np.nansum``); ``mean`` is ``np.mean`` (NaN
            propagates); ``npix`` counts the selected pixels.
        weights : `WcsNDMap` or array, optional
            Float weights multiply the data; boolean weights select pixels per plane
            (``mean``, ``all`` and ``npix`` then count only selected pixels).
        matrix : `scipy.sparse.csr_matrix`, optional
            Precomputed `WcsGeom.region_mask_matrix` of ``regions`` (any map with the
            same spatial pixels can reuse it).

        Returns
        -------
        values : `~numpy.ndarray`
            Shape ``(n_regions, *data_shape[:-2])``: one row per region, then the
            non-spatial dimensions in data order.

        Examples
        --------
        >>> from astropy.coordinates import SkyCoord
        >>> from regions import CircleSkyRegion
        >>> from fluxfit.maps import WcsNDMap
        >>> m = WcsNDMap.create(npix=20, binsz=0.1)
        >>> m.data += 1
        >>> regions = [CircleSkyRegion(SkyCoord(0, 0, unit="deg"), r * u.deg) for r in (0.2, 0.4)]
        >>> m.reduce_regions(regions, func="npix").tolist()
        [12.0, 52.0]
        """
        name = _func_name(func)
        if name is None and func != "npix":
            raise DatasetError(f"reduce_regions supports sum, mean, any, all, npix; got {func!r}")
        name = name or "npix"
        regions = list(regions) if not isinstance(regions, str) else [regions]
        if matrix is None:
            matrix = self.geom.region_mask_matrix(regions)
        ny, nx = self.geom.data_shape[-2:]
        if matrix.shape != (len(regions), ny * nx):
            raise DatasetError(
                f"reduce_regions: matrix shape {matrix.shape} does not match "
                f"{len(regions)} regions and {ny * nx} pixels"
            )
        planes_shape = self.geom.data_shape[:-2]
        n_planes = int(np.prod(planes_shape))
        data = self.data.reshape(n_planes, ny * nx)
        select = None
        if weights is not None:
            w = weights.data if isinstance(weights, Map) else np.asarray(weights)
            w = np.broadcast_to(w, self.data.shape).reshape(n_planes, ny * nx)
            if w.dtype == bool:
                select = w
            else:
                data = data * w
        if name == "npix":
            if select is not None:
                out = matrix @ select.T.astype(float)
            else:
                out = np.asarray(matrix.sum(axis=1)) * np.ones((1, n_planes))
        elif name == "sum":
            values = np.nan_to_num(data.astype(float)) if data.dtype != bool else data.astype(float)
            if select is not None:
                values = np.where(select, values, 0.0)
            out = matrix @ values.T
        elif name == "mean":
            values = data.astype(float)
            if select is not None:
                values = np.where(select, values, 0.0)
                npix = matrix @ select.T.astype(float)
            else:
                npix = np.asarray(matrix.sum(axis=1))
            with np.errstate(invalid="ignore", divide="ignore"):
                out = (matrix @ values.T) / npix
        else:
            values = data != 0
            if select is not None:
                values = values & select
                npix = matrix @ select.T.astype(float)
            else:
                npix = np.asarray(matrix.sum(axis=1)) * np.ones((1, n_planes))
            hits = matrix @ values.T.astype(float)
            out = hits > 0 if name == "any" else hits == npix
        out = np.asarray(out)
        return out.reshape((len(regions), *planes_shape))

    def to_region_nd_maps(self, regions, func=np.sum, weights=None):
        """One `RegionNDMap` per region, computed with `reduce_regions` when possible.

        Parameters
        ----------
        regions : list of `~regions.SkyRegion`
        func : ``np.sum``, ``np.nansum``, ``np.mean``, ``np.any``, ``np.all`` (vectorised) or
            any other callable (region by region).
        weights : `WcsNDMap`, optional

        Returns
        -------
        maps : list of `RegionNDMap`
        """
        from .region_map import RegionNDMap

        name = _func_name(func)
        if name is None:
            return [self.to_region_nd_map(r, func=func, weights=weights) for r in regions]
        values = self.reduce_regions(regions, func=name, weights=weights)
        maps = []
        for region, value in zip(regions, values):
            geom = RegionGeom.from_regions(region, axes=self.geom.axes, wcs=self.geom.wcs)
            data = np.asarray(value).reshape(geom.data_shape)
            if name in ("sum", "any", "all") and weights is None:
                data = data.astype(self.data.dtype)
            maps.append(RegionNDMap(geom=geom, data=data, unit=self.unit, meta=dict(self.meta)))
        return maps

    # ------------------------------------------------------------------ resampling
    def upsample(self, factor, order=0, preserve_counts=True, axis_name=None):
        """Finer map (``factor`` more pixels per axis) by spline interpolation of the data.

        With ``preserve_counts`` the data are interpolated per bin volume, so totals are
        kept.
        """
        from scipy.ndimage import map_coordinates

        if factor == 1 or factor is None:
            return self
        geom = self.geom.upsample(factor, axis_name=axis_name)
        idx = geom.get_idx()
        if axis_name is None:
            pix = (
                (idx[0] - 0.5 * (factor - 1)) / factor,
                (idx[1] - 0.5 * (factor - 1)) / factor,
                *idx[2:],
            )
        else:
            pix = list(idx)
            i = self.geom.axes_names.index(axis_name)
            pix[i] = (pix[i] - 0.5 * (factor - 1)) / factor
        data = self.data.astype(float)
        if preserve_counts:
            data = data / self.geom.bin_volume().value
        data = map_coordinates(data.T, tuple(pix), order=order, mode="nearest")
        if preserve_counts:
            data = data * geom.bin_volume().value
            dtype = np.result_type(self.data.dtype, np.float32)
        else:
            dtype = self.data.dtype
        return self._init_copy(geom=geom, data=data.astype(dtype))

    def downsample(self, factor, preserve_counts=True, axis_name=None, weights=None):
        """Coarser map: sum (or weighted mean if not ``preserve_counts``) of pixel blocks."""
        if factor == 1 or factor is None:
            return self
        geom = self.geom.downsample(factor, axis_name=axis_name)
        shape = self.data.shape
        if axis_name is None:
            block = (1,) * (len(shape) - 2) + (factor, factor)
        else:
            block = [1] * len(shape)
            block[self.geom.axes.index_data(axis_name)] = factor
            block = tuple(block)
        w = (
            np.ones(shape)
            if weights is None
            else np.broadcast_to(weights.data if isinstance(weights, Map) else weights, shape)
        )

        def block_sum(array):
            new_shape = []
            for n, b in zip(array.shape, block):
                new_shape += [n // b, b]
            summed = np.nansum(array.reshape(new_shape), axis=tuple(range(1, 2 * len(block), 2)))
            return summed

        data = block_sum(self.data * w)
        if not preserve_counts:
            weight_sum = block_sum(w)
            data = np.divide(
                data, weight_sum, out=np.zeros_like(data, dtype=float), where=weight_sum != 0
            )
        return self._init_copy(geom=geom, data=data.astype(self.data.dtype))

    def pad(self, pad_width, axis_name=None, mode="constant", cval=0):
        """Pad the image planes (``axis_name=None``) or a non-spatial axis."""
        if axis_name is not None:
            geom = self.geom.pad(pad_width, axis_name=axis_name)
            idx = self.geom.axes.index_data(axis_name)
            width = [(0, 0)] * self.data.ndim
            width[idx] = pad_width if isinstance(pad_width, tuple) else (pad_width, pad_width)
        else:
            geom = self.geom.pad(pad_width, axis_name=None)
            pw = (pad_width, pad_width) if np.isscalar(pad_width) else tuple(pad_width)
            width = [(0, 0)] * (self.data.ndim - 2) + [(pw[1], pw[1]), (pw[0], pw[0])]
        kwargs = {"constant_values": cval} if mode == "constant" else {}
        data = np.pad(self.data, width, mode=mode, **kwargs)
        return self._init_copy(geom=geom, data=data)

    def crop(self, crop_width):
        """Remove ``crop_width`` pixels on each image side."""
        cw = (crop_width, crop_width) if np.isscalar(crop_width) else tuple(crop_width)
        geom = self.geom.crop(crop_width)
        ny, nx = self.data.shape[-2:]
        data = self.data[..., cw[1] : ny - cw[1], cw[0] : nx - cw[0]]
        return self._init_copy(geom=geom, data=data.copy())

    def stack(self, other, weights=None, nan_to_num=True):
        """Add ``other`` (same geometry, or an aligned cutout) into this map in place."""
        if self.geom == other.geom:
            parent, cutout = (Ellipsis,), (Ellipsis,)
        elif self.geom.is_aligned(other.geom):
            slices = other.geom.cutout_slices(self.geom)
            parent = (Ellipsis, *slices["parent-slices"])
            cutout = (Ellipsis, *slices["cutout-slices"])
        else:
            raise DatasetError("Can only stack equivalent maps or cutouts of the same map")
        try:
            converter = other.unit.get_converter(self.unit)
        except u.UnitConversionError as exc:
            raise UnitError(f"Cannot stack unit {other.unit!s} into {self.unit!s}") from exc
        data = converter(other.data[cutout]).astype(self.data.dtype)
        if nan_to_num:
            data = np.where(np.isfinite(data), data, 0) if data.dtype.kind == "f" else data
        if weights is not None:
            data = data * weights.data[cutout]
        self.data[parent] += data

    # ------------------------------------------------------------------ masks
    def binary_erode(self, width, kernel="disk"):
        """Binary erosion of a boolean map (zero border)."""
        structure = self.geom.binary_structure(width, kernel=kernel)[(0,) * len(self.geom.axes)]
        data = np.empty_like(self.data, dtype=bool)
        for img, idx in self.iter_by_image_data():
            data[idx] = ndimage.binary_erosion(img, structure=structure, border_value=0)
        return self._init_copy(data=data)

    def binary_dilate(self, width, kernel="disk"):
        """Binary dilation of a boolean map."""
        structure = self.geom.binary_structure(width, kernel=kernel)[(0,) * len(self.geom.axes)]
        data = np.empty_like(self.data, dtype=bool)
        for img, idx in self.iter_by_image_data():
            data[idx] = ndimage.binary_dilation(img, structure=structure)
        return self._init_copy(data=data)

    def mask_nearest_position(self, position):
        """Nearest position inside a 2D boolean mask (`~astropy.coordinates.SkyCoord`)."""
        if not self.geom.is_image:
            raise DatasetError("mask_nearest_position needs a 2D image")
        separation = self.geom.separation(position).deg
        separation[~self.data] = np.inf
        iy, ix = np.unravel_index(np.argmin(separation), separation.shape)
        lon, lat = self.geom._image_lonlat()
        return SkyCoord(lon[iy, ix], lat[iy, ix], unit="deg", frame=self.geom.frame)

    # ------------------------------------------------------------------ plotting
    def plot(self, ax=None, fig=None, add_cbar=False, stretch="linear", **kwargs):
        """Plot the (single-plane) map on WCS axes, see `fluxfit.maps.plotting.plot_image`."""
        from .plotting import plot_image

        return plot_image(self, ax=ax, fig=fig, add_cbar=add_cbar, stretch=stretch, **kwargs)

    def plot_mask(self, ax=None, **kwargs):
        """Shade a boolean mask (see `fluxfit.maps.plotting.plot_mask`)."""
        from .plotting import plot_mask

        return plot_mask(self, ax=ax, **kwargs)
