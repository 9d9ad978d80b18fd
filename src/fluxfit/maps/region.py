"""`RegionGeom`: one sky region (or a union of regions) as a single spatial pixel.

The spatial part of the data is ``(1, 1)``: ``data_shape = (*axes_reversed, 1, 1)``.
A tangent-plane WCS centred on the region (pixel size ``binsz_wcs``, 0.1 deg by
default) is attached to evaluate containment, areas and to build the minimal
`WcsGeom` enclosing the region. ``region=None`` is allowed (e.g. IRF kernels
written without a region).

Examples
--------
>>> import astropy.units as u
>>> from astropy.coordinates import SkyCoord
>>> from regions import CircleSkyRegion
>>> from fluxfit.maps import MapAxis, RegionGeom
>>> region = CircleSkyRegion(SkyCoord(83.63, 22.01, unit="deg"), radius=0.1 * u.deg)
>>> geom = RegionGeom.create(region, axes=[MapAxis.from_energy_bounds("1 TeV", "10 TeV", 4)])
>>> geom.data_shape
(4, 1, 1)
>>> bool(geom.contains(SkyCoord([83.65], [22.0], unit="deg"))[0])
True
"""

from __future__ import annotations

import copy as _copy

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.wcs.utils import proj_plane_pixel_area, proj_plane_pixel_scales
from regions import (
    CompoundSkyRegion,
    PixCoord,
    PointSkyRegion,
    RectanglePixelRegion,
    SkyRegion,
)

from fluxfit.errors import DatasetError

from ._utils import INVALID_INDEX, check_width, pix_tuple_to_idx
from .axes import MapAxes
from .coord import MapCoord
from .geom import Geom
from .regions_helpers import (
    compound_region_center,
    compound_region_to_regions,
    parse_regions,
    regions_to_compound_region,
)
from .wcs import WcsGeom

__all__ = ["RegionGeom"]


class RegionGeom(Geom):
    """Geometry of a sky region with non-spatial axes.

    Parameters
    ----------
    region : `~regions.SkyRegion` or None
        Region (a compound region for several regions).
    axes : list of `MapAxis`, optional
        Non-spatial axes.
    wcs : `~astropy.wcs.WCS`, optional
        Projection used for pixel-level operations; default a TAN projection centred
        on the region with ``binsz_wcs`` pixels.
    binsz_wcs : `~astropy.units.Quantity` or str
        Pixel size of the default WCS.
    """

    is_region = True
    is_regular = True
    is_allsky = False
    is_hpx = False
    projection = "TAN"
    _slice_spatial_axes = slice(0, 2)
    _slice_non_spatial_axes = slice(2, None)

    def __init__(self, region, axes=None, wcs=None, binsz_wcs="0.1 deg"):
        if region is not None and not isinstance(region, SkyRegion):
            raise TypeError(f"RegionGeom needs a regions.SkyRegion, got {type(region).__name__}")
        self._region = region
        self._axes = MapAxes.from_default(axes, n_spatial_axes=2)
        self._binsz_wcs = u.Quantity(binsz_wcs)
        self._cache = {}
        if wcs is None and region is not None:
            center = self._region_center()
            frame = center.frame.name
            self._wcs = WcsGeom.create(
                binsz=self._binsz_wcs, skydir=center, proj=self.projection, frame=frame
            ).wcs
            width = tuple(self.width.to_value("deg"))
            self._cache.clear()
            wcs = WcsGeom.create(
                binsz=self._binsz_wcs,
                width=width,
                skydir=center,
                proj=self.projection,
                frame=frame,
            ).wcs
        self._wcs = wcs

    def _region_center(self):
        if isinstance(self._region, CompoundSkyRegion):
            return compound_region_center(self._region)
        return self._region.center

    def _cached(self, key, func):
        if key not in self._cache:
            self._cache[key] = func()
        return self._cache[key]

    def _init_copy(self, **kwargs):
        args = {"region": self._region, "axes": self._axes, "wcs": self._wcs}
        args.update(kwargs)
        return self.__class__(**args)

    def __deepcopy__(self, memo):
        return self.__class__(
            self._region,
            axes=_copy.deepcopy(self._axes, memo),
            wcs=self._wcs,
            binsz_wcs=self._binsz_wcs,
        )

    # ------------------------------------------------------------------ factories
    @classmethod
    def create(cls, region, **kwargs):
        """Geometry from a region, a list of regions (their union), a ds9 string or SkyCoord.

        Parameters
        ----------
        region : `~regions.SkyRegion`, list, str, `~astropy.coordinates.SkyCoord` or None
        **kwargs
            ``axes``, ``wcs``, ``binsz_wcs``.
        """
        return cls.from_regions(region, **kwargs)

    @classmethod
    def from_regions(cls, regions, **kwargs):
        """Geometry of the union of ``regions``."""
        regions = parse_regions(regions)
        region = regions_to_compound_region(regions) if regions else None
        return cls(region=region, **kwargs)

    # ------------------------------------------------------------------ properties
    @property
    def region(self):
        """The sky region (or None)."""
        return self._region

    @property
    def regions(self):
        """The parts of a union region (list)."""
        return [] if self._region is None else compound_region_to_regions(self._region)

    @property
    def wcs(self):
        """WCS used for pixel-level operations."""
        return self._wcs

    @property
    def binsz_wcs(self):
        """Pixel size of the WCS (Angle)."""
        return u.Quantity(proj_plane_pixel_scales(self._wcs), "deg")

    @property
    def frame(self):
        """Frame of the region centre (``icrs`` if no region)."""
        if self._region is None:
            return "icrs"
        try:
            return self._region.center.frame.name
        except AttributeError:
            return self._region_center().frame.name

    @property
    def is_all_point_sky_regions(self):
        """Whether all parts are point regions."""
        return all(isinstance(r, PointSkyRegion) for r in self.regions)

    @property
    def npix(self):
        """Always ``([1], [1])``."""
        return ([1], [1])

    @property
    def _shape(self):
        return (1, 1) + self.axes.shape

    @property
    def data_shape(self):
        """``(*reversed axes shape, 1, 1)``."""
        return self._shape[::-1]

    @property
    def data_shape_image(self):
        """``(1, ..., 1)`` with one unit dimension per axis plus ``(1, 1)``."""
        return (1,) * len(self._shape)

    def _rectangle_bbox(self):
        def compute():
            if self._region is None:
                raise DatasetError("RegionGeom: region definition required")
            regions_pix = [r.to_pixel(self._wcs) for r in self.regions]
            bbox = regions_pix[0].bounding_box
            for region_pix in regions_pix[1:]:
                bbox = bbox.union(region_pix.bounding_box)
            try:
                rectangle = bbox.to_region()
            except ValueError:
                rectangle = RectanglePixelRegion(
                    center=PixCoord(*bbox.center[::-1]), width=1, height=1
                )
            return rectangle.to_sky(self._wcs)

        return self._cached("bbox", compute)

    @property
    def width(self):
        """Width and height of the region bounding box (Quantity, deg)."""
        rectangle = self._rectangle_bbox()
        return u.Quantity([rectangle.width.to("deg"), rectangle.height.to("deg")])

    @property
    def center_skydir(self):
        """Centre of the region bounding box (NaN if no region)."""
        if self._region is None:
            return SkyCoord(np.nan * u.deg, np.nan * u.deg)
        return self._rectangle_bbox().center

    @property
    def center_pix(self):
        """Pixel coordinates of the centre (tuple)."""
        return tuple((np.array(self.data_shape) - 1.0) / 2)[::-1]

    @property
    def center_coord(self):
        """Coordinates of the centre pixel."""
        return self.pix_to_coord(self.center_pix)

    # ------------------------------------------------------------------ containment
    def contains(self, coords):
        """Whether coordinates lie in the region (always True for point regions)."""
        if self._region is None:
            raise DatasetError("RegionGeom: region definition required")
        coords = MapCoord.create(coords, frame=self.frame, axis_names=self.axes.names)
        if self.is_all_point_sky_regions:
            return np.ones(coords.shape, dtype=bool)
        inside = np.asarray(self._region.contains(coords.skycoord, self._wcs))
        return np.broadcast_to(inside, coords.shape).copy()

    def contains_wcs_pix(self, pix):
        """Whether WCS pixel coordinates ``(x, y)`` of ``self.wcs`` lie in the region."""
        if self.is_all_point_sky_regions:
            return np.ones(np.shape(pix[0]), dtype=bool)
        region_pix = self._region.to_pixel(self._wcs)
        return np.asarray(region_pix.contains(PixCoord(pix[0], pix[1])))

    def separation(self, position):
        """Angular distance from the region centre to ``position``."""
        return self.center_skydir.separation(position)

    # ------------------------------------------------------------------ coordinates
    def get_coord(self, mode="center", frame=None, sparse=False, axis_name=None):
        """Axis coordinates plus the region centre as ``lon``/``lat`` (`MapCoord`)."""
        if mode == "edges" and axis_name is None:
            raise DatasetError("RegionGeom.get_coord: mode 'edges' needs an axis_name")
        coords = self.axes.get_coord(mode=mode, axis_name=axis_name)
        center = self.center_skydir
        if self._region is not None:
            center = center.transform_to(self.frame)
        spherical = center.represent_as("unitspherical")
        coords["lon"] = np.reshape(spherical.lon.deg, (1, 1))
        coords["lat"] = np.reshape(spherical.lat.deg, (1, 1))
        data = {"lon": coords.pop("lon"), "lat": coords.pop("lat"), **coords}
        out = MapCoord(data, frame=self.frame).to_frame(frame)
        return out if sparse else out.broadcasted

    def get_idx(self):
        """Integer index arrays of all bins (tuple, pixel order)."""
        idxs = [np.arange(n, dtype=float) for n in self._shape]
        return np.meshgrid(*idxs[::-1], indexing="ij")[::-1]

    def pix_to_coord(self, pix):
        """Pixels to coordinates; spatial pixel 0 is the region centre, others NaN."""
        center = self.center_skydir.represent_as("unitspherical")
        inside0 = (np.asarray(pix[0]) > -0.5) & (np.asarray(pix[0]) < 0.5)
        inside1 = (np.asarray(pix[1]) > -0.5) & (np.asarray(pix[1]) < 0.5)
        lon = u.Quantity(np.where(inside0, center.lon.deg, np.nan), "deg")
        lat = u.Quantity(np.where(inside1, center.lat.deg, np.nan), "deg")
        return (lon, lat) + self.axes.pix_to_coord(pix[self._slice_non_spatial_axes])

    def coord_to_pix(self, coords):
        """Coordinates to pixels: spatial pixel 0 inside the region, NaN outside."""
        if isinstance(coords, tuple) and len(coords) == len(self.axes):
            center = self.center_skydir.transform_to(self.frame).represent_as("unitspherical")
            coords = (center.lon.deg, center.lat.deg) + coords
        elif isinstance(coords, dict) and not any(k in coords for k in ("lon", "lat", "skycoord")):
            coords = dict(coords)
            coords["skycoord"] = self.center_skydir
        coords = MapCoord.create(coords, frame=self.frame, axis_names=self.axes.names)
        if self._region is None:
            pix = (np.zeros(coords.shape), np.zeros(coords.shape))
        else:
            inside = self.contains(coords)
            x = np.where(inside, 0.0, np.nan)
            pix = (x, x.copy())
        axes_pix = []
        for idx, ax in enumerate(self.axes):
            value = coords[ax.name] if ax.name in coords else coords[2 + idx]
            axes_pix.append(ax.coord_to_pix(value))
        return pix + tuple(axes_pix)

    def pix_to_idx(self, pix, clip=False):
        """Round pixels to indices, -1 outside (spatial index 0 only)."""
        idx = list(pix_tuple_to_idx(pix))
        for i, n in enumerate(self._shape):
            p = np.asarray(idx[i])
            if clip:
                idx[i] = np.clip(p, 0, n - 1)
            else:
                idx[i] = np.where((p < 0) | (p >= n), INVALID_INDEX, p)
        return tuple(idx)

    # ------------------------------------------------------------------ solid angle
    def solid_angle(self):
        """Solid angle of the region (Quantity, sr); compound regions via a fine mask."""
        if self._region is None:
            raise DatasetError("RegionGeom: region definition required")

        def compute():
            if isinstance(self._region, CompoundSkyRegion):
                oversampling = 10.0
                geom = RegionGeom(self._region, binsz_wcs=self.binsz_wcs.max() / oversampling)
                wcs_geom = geom.to_wcs_geom().to_image()
                from .regions_helpers import region_mask_image

                area = np.count_nonzero(region_mask_image(wcs_geom, self._region))
                pixel_area = proj_plane_pixel_area(wcs_geom.wcs)
            else:
                area = self._region.to_pixel(self._wcs).area
                pixel_area = proj_plane_pixel_area(self._wcs)
            return (area * pixel_area * u.deg**2).to("sr")

        return self._cached("solid_angle", compute)

    def bin_volume(self):
        """Solid angle times the bin widths of the axes (Quantity, ``data_shape``)."""
        volume = self.solid_angle() * np.ones(self.data_shape)
        for idx, ax in enumerate(self.axes):
            shape = [1] * self.ndim
            shape[-(idx + 3)] = -1
            volume = volume * ax.bin_width.reshape(tuple(shape))
        return volume

    # ------------------------------------------------------------------ derived geometries
    def to_wcs_geom(self, width_min=None):
        """Smallest `WcsGeom` (on ``self.wcs``) enclosing the region, with the same axes."""
        width = self.width.to_value("deg")
        if width_min is not None:
            width = np.max([width, np.array(check_width(width_min))], axis=0)
        wcs_geom = WcsGeom(wcs=self._wcs).cutout(position=self.center_skydir, width=tuple(width))
        return wcs_geom.to_cube(self.axes)

    def to_binsz_wcs(self, binsz):
        """Same region and axes with a WCS of another pixel size."""
        return RegionGeom(self._region, axes=self._axes, binsz_wcs=binsz)

    def get_wcs_coord_and_weights(self, factor=10):
        """Coordinates of the WCS pixels overlapping the region and their weights.

        Parameters
        ----------
        factor : int
            Oversampling factor used to estimate the fraction of each pixel inside.

        Returns
        -------
        coords : `MapCoord`
            ``lon``/``lat`` of shape ``(n_pix,)`` and axis coordinates of shape
            ``(n_bins, 1)``, broadcastable to ``(n_bins, n_pix)``.
        weights : `~numpy.ndarray`
            Fraction of each pixel inside the region, shape ``(n_pix,)``.
        """

        def compute():
            wcs_geom = self.to_wcs_geom()
            image = wcs_geom.to_image()
            weights = image.region_weights(self.regions, oversampling_factor=factor).data
            mask = weights > 0
            lon, lat = image._image_lonlat()
            data = {"lon": lon[mask], "lat": lat[mask]}
            for shape, axis in self.axes.iter_with_reshape:
                data[axis.name] = axis.center.reshape(shape)[..., 0]
            return MapCoord(data, frame=wcs_geom.frame), weights[mask]

        return self._cached(("wcs_coord_weights", int(factor)), compute)

    def to_binsz(self, binsz):
        """Returns self (region geometries have no pixel size)."""
        return self

    def to_image(self):
        """Same region without non-spatial axes."""
        return self._init_copy(axes=None)

    def to_cube(self, axes):
        """Same region with ``axes`` appended."""
        return self._init_copy(axes=list(self.axes) + list(axes))

    def upsample(self, factor, axis_name=None):
        """Upsample a non-spatial axis."""
        return self._init_copy(axes=self.axes.upsample(factor, axis_name))

    def downsample(self, factor, axis_name=None):
        """Downsample a non-spatial axis."""
        return self._init_copy(axes=self.axes.downsample(factor, axis_name))

    def crop(self, crop_width):
        raise DatasetError("RegionGeom cannot be cropped")

    def union(self, other):
        """Union of the regions of two geometries with equal axes (in place)."""
        if self != other:
            raise DatasetError("RegionGeom.union needs equal axes")
        if other.region is not None:
            self._region = (
                other.region if self._region is None else self._region.union(other.region)
            )
            self._cache.clear()

    # ------------------------------------------------------------------ comparison
    def is_allclose(self, other, rtol_axes=1e-6, atol_axes=1e-6):
        """Same data shape and close axes (regions are not compared, as in Gammapy)."""
        if not isinstance(other, RegionGeom) or self.data_shape != other.data_shape:
            return False
        return bool(self.axes.is_allclose(other.axes, rtol=rtol_axes, atol=atol_axes))

    def __eq__(self, other):
        if not isinstance(other, RegionGeom):
            return False
        return self.is_allclose(other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return id(self)

    def __str__(self):
        try:
            center = self.center_skydir
            sph = center.represent_as("unitspherical")
            frame, lon, lat = center.frame.name, sph.lon.deg, sph.lat.deg
        except (AttributeError, DatasetError):
            frame, lon, lat = "", np.nan, np.nan
        return (
            f"{self.__class__.__name__}\n\n"
            f"\tregion     : {self._region.__class__.__name__}\n"
            f"\taxes       : {self.axes_names}\n"
            f"\tshape      : {self._shape}\n"
            f"\tndim       : {self.ndim}\n"
            f"\tframe      : {frame}\n"
            f"\tcenter     : {float(lon):.1f} deg, {float(lat):.1f} deg\n"
        )

    # ------------------------------------------------------------------ plotting
    def plot_region(self, ax=None, kwargs_point=None, path_effect=None, **kwargs):
        """Draw the region outline(s) on WCS axes.

        Parameters
        ----------
        ax : `~astropy.visualization.wcsaxes.WCSAxes`, optional
            Axes (e.g. returned by `WcsNDMap.plot`); default new axes on the minimal
            enclosing WCS geometry.
        kwargs_point : dict, optional
            Keyword arguments for point regions (markers).
        path_effect : matplotlib path effect, optional
        **kwargs
            Passed to ``PixelRegion.as_artist`` (``color`` sets the edge colour).

        Returns
        -------
        ax : `~astropy.visualization.wcsaxes.WCSAxes`
        """
        import matplotlib.pyplot as plt

        if self._region is None:
            raise DatasetError("RegionGeom.plot_region: region definition required")
        if ax is None:
            from .core import Map

            fig = plt.gcf()
            image = self.to_wcs_geom().to_image()
            ax = Map.from_geom(image).plot(ax=fig.add_subplot(1, 1, 1, projection=image.wcs))
        kwargs_point = dict(kwargs_point or {})
        kwargs.setdefault("facecolor", "none")
        color = kwargs.pop("color", kwargs.pop("c", None))
        kwargs.setdefault("edgecolor", kwargs.pop("ec", "C0"))
        if color is not None:
            kwargs["edgecolor"] = color
            kwargs_point.setdefault("color", color)
        kwargs_point.setdefault("marker", "*")
        for region in self.regions:
            region_pix = region.to_pixel(wcs=ax.wcs)
            if isinstance(region, PointSkyRegion):
                artist = region_pix.as_artist(**kwargs_point)
            else:
                artist = region_pix.as_artist(**kwargs)
            if path_effect is not None:
                artist.set_path_effects([path_effect])
            ax.add_artist(artist)
        return ax
