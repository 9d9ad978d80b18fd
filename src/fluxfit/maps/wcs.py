"""`WcsGeom`: a sky image in any projection astropy.wcs supports, with non-spatial axes.

Pixel ``(x, y)`` coordinates are 0-based pixel centres (``x`` along longitude);
data arrays are ``data[..., axis1, axis0, y, x]``. Spatial coordinates are computed
once per geometry with ``wcs.wcs_pix2world`` and cached as plain float arrays.

Examples
--------
>>> from astropy.coordinates import SkyCoord
>>> from fluxfit.maps import MapAxis, WcsGeom
>>> energy = MapAxis.from_energy_bounds("10 GeV", "2 TeV", 5)
>>> geom = WcsGeom.create(
...     skydir=SkyCoord(0, 0, unit="deg", frame="galactic"),
...     width=(20, 10), binsz=0.05, frame="galactic", axes=[energy],
... )
>>> geom.data_shape
(5, 200, 400)
"""

from __future__ import annotations

import copy as _copy
import warnings

import numpy as np
from astropy import units as u
from astropy.coordinates import Angle, SkyCoord
from astropy.nddata import Cutout2D
from astropy.nddata.utils import overlap_slices
from astropy.wcs import WCS, FITSFixedWarning
from astropy.wcs.utils import (
    celestial_frame_to_wcs,
    proj_plane_pixel_area,
    proj_plane_pixel_scales,
    wcs_to_celestial_frame,
)

from fluxfit.errors import DatasetError, FormatError

from ._utils import INVALID_INDEX, check_binsz, check_width, pix_tuple_to_idx
from .axes import MapAxes
from .coord import MapCoord, skycoord_to_lonlat
from .geom import Geom

__all__ = ["WcsGeom", "angular_separation", "position_angle"]


def angular_separation(lon1, lat1, lon2, lat2):
    """Great-circle distance (Vincenty formula, as astropy), all in radians."""
    sdlon = np.sin(lon2 - lon1)
    cdlon = np.cos(lon2 - lon1)
    slat1, slat2 = np.sin(lat1), np.sin(lat2)
    clat1, clat2 = np.cos(lat1), np.cos(lat2)
    num1 = clat2 * sdlon
    num2 = clat1 * slat2 - slat1 * clat2 * cdlon
    denominator = slat1 * slat2 + clat1 * clat2 * cdlon
    return np.arctan2(np.hypot(num1, num2), denominator)


def position_angle(lon1, lat1, lon2, lat2):
    """Position angle (east of north) of point 2 seen from point 1, radians."""
    deltalon = lon2 - lon1
    colat = np.cos(lat2)
    x = np.sin(lat2) * np.cos(lat1) - colat * np.sin(lat1) * np.cos(deltalon)
    y = np.sin(deltalon) * colat
    return np.arctan2(y, x)


def _round_up_to_odd(value):
    return np.ceil(np.asarray(value, dtype=float)) // 2 * 2 + 1


def _resampled_wcs(wcs, factor, downsampled):
    wcs = wcs.deepcopy()
    if not downsampled:
        factor = 1.0 / factor
    wcs.wcs.cdelt *= factor
    wcs.wcs.crpix = (wcs.wcs.crpix - 0.5) / factor + 0.5
    return wcs


class WcsGeom(Geom):
    """WCS image geometry with optional non-spatial axes.

    Parameters
    ----------
    wcs : `~astropy.wcs.WCS`
        Celestial (2D) WCS.
    npix : tuple of int, optional
        Image size ``(nx, ny)``; default ``wcs.array_shape`` reversed.
    cdelt, crpix : optional
        Accepted for Gammapy compatibility (irregular geometries are not supported).
    axes : list of `MapAxis`, optional
        Non-spatial axes.

    Examples
    --------
    >>> from fluxfit.maps import WcsGeom
    >>> geom = WcsGeom.create(npix=(4, 3), binsz=1.0, frame="galactic")
    >>> geom.get_coord().lon.shape
    (3, 4)
    """

    _slice_spatial_axes = slice(0, 2)
    _slice_non_spatial_axes = slice(2, None)
    is_hpx = False
    is_region = False
    is_regular = True

    def __init__(self, wcs, npix=None, cdelt=None, crpix=None, axes=None):
        if wcs.naxis != 2:
            wcs = wcs.celestial
        self._wcs = wcs
        try:
            self._frame = wcs_to_celestial_frame(wcs).name
        except ValueError as exc:
            raise FormatError(f"WCS {list(wcs.wcs.ctype)} is not a celestial WCS") from exc
        self._projection = wcs.wcs.ctype[0][5:]
        self._axes = MapAxes.from_default(axes, n_spatial_axes=2)
        if npix is None:
            npix = wcs.array_shape[::-1] if wcs.array_shape is not None else (0, 0)
        nx, ny = (int(np.max(n)) for n in npix)
        if np.size(npix[0]) > 1 and np.unique(npix[0]).size > 1:
            raise DatasetError("WcsGeom: irregular (per-plane) pixelisation is not supported")
        self._npix = (nx, ny)
        if wcs.array_shape is None:
            wcs.array_shape = (ny, nx)
        self._cache = {}

    def _cached(self, key, func):
        if key not in self._cache:
            self._cache[key] = func()
        return self._cache[key]

    def _init_copy(self, **kwargs):
        args = {"wcs": self._wcs, "npix": self._npix, "axes": self._axes}
        args.update(kwargs)
        return self.__class__(**args)

    # ------------------------------------------------------------------ properties
    @property
    def wcs(self):
        """Celestial WCS (`~astropy.wcs.WCS`)."""
        return self._wcs

    @property
    def frame(self):
        """Sky frame: ``icrs`` or ``galactic`` (or another astropy frame name)."""
        return self._frame

    @property
    def projection(self):
        """Projection code, e.g. ``CAR``, ``TAN``, ``AIT``."""
        return self._projection

    @property
    def npix(self):
        """Image size ``(nx, ny)`` in pixels."""
        return self._npix

    @property
    def _shape(self):
        return self._npix + self.axes.shape

    @property
    def data_shape(self):
        """Data array shape: reversed axes then ``(ny, nx)``."""
        return self._shape[::-1]

    @property
    def data_shape_image(self):
        """Shape of the spatial part with unit non-spatial dimensions."""
        return (1,) * len(self.axes) + self.data_shape[len(self.axes) :]

    @property
    def shape_axes(self):
        """Shape of the non-spatial axes (axis order)."""
        return self.axes.shape

    @property
    def pixel_scales(self):
        """Pixel size along longitude and latitude at the reference pixel (Angle, deg)."""
        return Angle(proj_plane_pixel_scales(self._wcs), "deg")

    @property
    def _cdelt(self):
        return tuple(self.pixel_scales.deg)

    @property
    def pixel_area(self):
        """Pixel area at the reference pixel (deg2, float)."""
        return float(proj_plane_pixel_area(self._wcs))

    @property
    def width(self):
        """Image width ``[lon, lat]`` (Quantity, deg): number of pixels times pixel scale."""
        return u.Quantity(np.array(self._npix) * self.pixel_scales.deg, "deg")

    @property
    def is_allsky(self):
        """Whether the image covers 360 x 180 deg."""
        width = self.width.value
        return bool(np.isclose(width[0], 360.0) and np.isclose(width[1], 180.0))

    @property
    def center_pix(self):
        """Pixel coordinates of the geometry centre (tuple, pixel order)."""
        return tuple((np.array(self.data_shape) - 1.0) / 2)[::-1]

    @property
    def center_coord(self):
        """Coordinates of the centre pixel (tuple of Quantities)."""
        return self.pix_to_coord(self.center_pix)

    @property
    def center_skydir(self):
        """Sky position of the image centre (`~astropy.coordinates.SkyCoord`)."""
        x, y = self.center_pix[:2]
        return SkyCoord.from_pixel(x, y, self._wcs)

    @property
    def footprint(self):
        """Corners of the image (`~astropy.coordinates.SkyCoord`)."""
        return SkyCoord(self._wcs.calc_footprint(), frame=self.frame, unit="deg")

    @property
    def footprint_rectangle_sky_region(self):
        """The image outline as a `~regions.RectangleSkyRegion`."""
        from regions import RectangleSkyRegion

        width, height = self.width
        return RectangleSkyRegion(center=self.center_skydir, width=width, height=height)

    # ------------------------------------------------------------------ factories
    @classmethod
    def create(
        cls,
        npix=None,
        binsz=0.5,
        proj="CAR",
        frame="icrs",
        refpix=None,
        axes=None,
        skydir=None,
        width=None,
    ):
        """Create a geometry from a centre, a pixel size and a number of pixels or a width.

        Parameters
        ----------
        npix : int or tuple of int, optional
            Number of pixels ``(nx, ny)``; takes precedence over ``width``.
        binsz : float, str, Quantity or tuple
            Pixel size (deg).
        proj : str
            Any projection code astropy.wcs knows (``CAR``, ``TAN``, ``AIT``, ``ZEA``...).
        frame : {"icrs", "galactic"}
            Sky frame; a SkyCoord ``skydir`` is transformed to it.
        refpix : tuple, optional
            Reference pixel (FITS 1-based); default the image centre.
        axes : list of `MapAxis`, optional
            Non-spatial axes.
        skydir : `~astropy.coordinates.SkyCoord` or tuple, optional
            Image centre; default (0, 0).
        width : float, str, Quantity or tuple, optional
            Image width (deg); all-sky if neither ``npix`` nor ``width`` is given.

        Examples
        --------
        >>> from fluxfit.maps import WcsGeom
        >>> WcsGeom.create(width=3, binsz="0.1 deg", proj="TAN").npix
        (30, 30)
        """
        if skydir is None:
            crval = (0.0, 0.0)
        elif isinstance(skydir, tuple):
            crval = (
                float(u.Quantity(skydir[0], "deg").value),
                float(u.Quantity(skydir[1], "deg").value),
            )
        elif isinstance(skydir, SkyCoord):
            lon, lat, frame = skycoord_to_lonlat(skydir, frame=frame)
            crval = (float(lon), float(lat))
        else:
            raise TypeError(f"Invalid type for skydir: {type(skydir).__name__}")

        binsz = check_binsz(binsz)
        binsz = binsz if isinstance(binsz, tuple) else (binsz, binsz)
        if npix is None:
            width = (360.0, 180.0) if width is None else check_width(width)
            npix = (int(np.rint(width[0] / binsz[0])), int(np.rint(width[1] / binsz[1])))
        else:
            npix = tuple(int(n) for n in np.broadcast_to(np.asarray(npix).ravel(), (2,)))
        if refpix is None:
            refpix = ((npix[0] + 1) / 2.0, (npix[1] + 1) / 2.0)

        frame_obj = SkyCoord(np.nan, np.nan, frame=frame, unit="deg").frame
        wcs = celestial_frame_to_wcs(frame_obj, projection=proj)
        wcs.wcs.crpix = refpix
        wcs.wcs.crval = crval
        wcs.wcs.cdelt = (-binsz[0], binsz[1])
        wcs.array_shape = npix[1], npix[0]
        wcs.wcs.datfix()
        return cls(wcs, npix, axes=axes)

    @classmethod
    def from_header(cls, header, hdu_bands=None, format="gadf"):
        """Geometry from a FITS header and an optional BANDS table HDU.

        Parameters
        ----------
        header : `~astropy.io.fits.Header`
            Image (or sparse table) header with the celestial WCS in axes 1 and 2.
        hdu_bands : `~astropy.io.fits.BinTableHDU`, optional
            BANDS / EBOUNDS / ENERGIES table describing the non-spatial axes.
        format : {"gadf", "fgst-ccube", "fgst-template"}
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(header, naxis=2).sub(2)
        axes = MapAxes.from_table_hdu(hdu_bands, format=format)
        if "WCSSHAPE" in header:
            text = str(header["WCSSHAPE"]).strip("() ")
            try:
                shape = [int(v) for v in text.split(",") if v.strip()]
            except ValueError:
                shape = []
            if len(shape) < 2 or min(shape[:2]) < 1:
                raise FormatError(
                    f"key 'WCSSHAPE' = {header['WCSSHAPE']!r} is not a shape '(nx,ny,...)' of "
                    "positive integers"
                )
            npix = (shape[0], shape[1])
        elif "NAXIS1" in header and "NAXIS2" in header:
            npix = (header["NAXIS1"], header["NAXIS2"])
            if not all(isinstance(n, int) and n >= 1 for n in npix):
                raise FormatError(
                    f"keys 'NAXIS1', 'NAXIS2' = {npix} are not positive integers (the map shape)"
                )
        else:
            raise FormatError("map header has neither WCSSHAPE nor NAXIS1/NAXIS2")
        wcs.array_shape = (npix[1], npix[0])
        return cls(wcs, npix, axes=axes)

    def to_header(self):
        """FITS header: WCS keys, ``AXCOLS<i>``/``INTERP<i>`` and ``WCSSHAPE``."""
        header = self._wcs.to_header()
        header.update(self.axes.to_header(format="gadf"))
        shape = ",".join(str(n) for n in self._shape)
        header["WCSSHAPE"] = f"({shape})"
        return header

    def to_bands_hdu(self, hdu_bands=None, format="gadf"):
        """BANDS table HDU of the non-spatial axes."""
        return self.axes.to_table_hdu(format=format, hdu_bands=hdu_bands)

    # ------------------------------------------------------------------ pixels and coordinates
    def _image_pix(self, mode="center"):
        nx, ny = self._npix
        if mode == "edges":
            x = np.arange(-0.5, nx, dtype=float)
            y = np.arange(-0.5, ny, dtype=float)
        else:
            x = np.arange(nx, dtype=float)
            y = np.arange(ny, dtype=float)
        return np.meshgrid(x, y)

    def _image_lonlat(self, mode="center"):
        """Longitude and latitude of pixel centres (or corners), float deg, cached."""

        def compute():
            x, y = self._image_pix(mode)
            lon, lat = self._wcs.wcs_pix2world(x, y, 0)
            return np.asarray(lon), np.asarray(lat)

        return self._cached(("lonlat", mode), compute)

    def get_idx(self, idx=None, flat=False):
        """Integer pixel indices of all pixels (tuple ``(ix, iy, i0, ...)``, data shape).

        Pixels outside the projection footprint get index -1.
        """

        def compute():
            pix = self.get_pix()
            return pix_tuple_to_idx(pix)

        out = self._cached("idx", compute)
        if flat:
            valid = out[0] != INVALID_INDEX
            return tuple(t[valid] for t in out)
        return out

    def get_pix(self, idx=None, mode="center"):
        """Float pixel coordinates of all pixels (tuple, broadcast to the data shape)."""
        grids = [np.arange(n, dtype=float) for n in self._shape]
        if mode == "edges":
            grids[0] = np.arange(-0.5, self._npix[0], dtype=float)
            grids[1] = np.arange(-0.5, self._npix[1], dtype=float)
        pix = list(np.meshgrid(*grids[::-1], indexing="ij")[::-1])
        lon, _ = self._image_lonlat(mode)
        invalid = ~np.isfinite(lon)
        if np.any(invalid):
            for p in pix:
                p[..., invalid] = np.nan
        return tuple(pix)

    def get_coord(self, idx=None, mode="center", frame=None, sparse=False, axis_name=None):
        """Coordinates of all pixels (`MapCoord`; cached for the default arguments).

        Parameters
        ----------
        mode : {"center", "edges"}
            Pixel centres, or edges of the spatial axes (``axis_name=None``) or of one
            non-spatial axis (``axis_name``).
        frame : str, optional
            Output frame; default the geometry frame.
        sparse : bool
            Return broadcastable arrays instead of full (read-only view) arrays.
        axis_name : str, optional
            Non-spatial axis for ``mode="edges"``.
        """
        key = ("coord", mode, sparse, axis_name)

        def compute():
            spatial_mode = "edges" if (mode == "edges" and axis_name is None) else "center"
            lon, lat = self._image_lonlat(spatial_mode)
            shape_img = (1,) * len(self.axes) + lon.shape
            data = {"lon": lon.reshape(shape_img), "lat": lat.reshape(shape_img)}
            data.update(self.axes.get_coord(mode=mode, axis_name=axis_name))
            coords = MapCoord(data, frame=self.frame)
            return coords if sparse else coords.broadcasted

        coords = self._cached(key, compute)
        if frame is not None and frame != self.frame:
            coords = coords.to_frame(frame)
        return coords

    def pix_to_coord(self, pix):
        """Pixel tuple to coordinates: ``(lon, lat)`` Quantities (deg) then axis values."""
        lon, lat = self._wcs.wcs_pix2world(np.asarray(pix[0], float), np.asarray(pix[1], float), 0)
        coords = (u.Quantity(lon, "deg", copy=None), u.Quantity(lat, "deg", copy=None))
        return coords + self.axes.pix_to_coord(pix[self._slice_non_spatial_axes])

    def coord_to_pix(self, coords):
        """Coordinates (tuple, dict, `MapCoord` or SkyCoord) to float pixel tuple."""
        coords = MapCoord.create(coords, frame=self.frame, axis_names=self.axes.names)
        if coords.size == 0:
            return tuple(np.array([]) for _ in range(2 + len(self.axes)))
        lon, lat = np.broadcast_arrays(coords.lon, coords.lat)
        x, y = self._wcs.wcs_world2pix(lon, lat, 0)
        pix = (np.asarray(x), np.asarray(y))
        axes_pix = []
        for idx, ax in enumerate(self.axes):
            value = coords[ax.name] if ax.name in coords else coords[2 + idx]
            axes_pix.append(ax.coord_to_pix(value))
        return pix + tuple(axes_pix)

    def pix_to_idx(self, pix, clip=False):
        """Round pixels to indices; -1 outside the image/axes unless ``clip``."""
        idx = pix_tuple_to_idx(pix)
        out = []
        for i, (p, n) in enumerate(zip(idx, self._shape)):
            p = np.asarray(p)
            if clip:
                p = np.clip(p, 0, n - 1)
            else:
                p = np.where((p < 0) | (p >= n), INVALID_INDEX, p)
            if i >= 2 and not np.issubdtype(np.asarray(p).dtype, np.integer):
                p = p.astype(int)
            out.append(p)
        return tuple(out)

    def contains(self, coords):
        """Whether coordinates fall inside the image and the axes (bool array)."""
        idx = self.coord_to_idx(coords)
        return np.all(np.stack([np.asarray(t) != INVALID_INDEX for t in idx]), axis=0)

    def separation(self, center):
        """Angular distance of every pixel centre to ``center`` (Angle, image shape)."""
        lon, lat = self._image_lonlat()
        c_lon, c_lat, _ = skycoord_to_lonlat(center, frame=self.frame)
        sep = angular_separation(
            np.radians(lon), np.radians(lat), np.radians(c_lon), np.radians(c_lat)
        )
        return Angle(np.degrees(sep), "deg")

    # ------------------------------------------------------------------ solid angle
    def solid_angle(self):
        """Solid angle of every pixel (Quantity, sr, shape ``data_shape_image``).

        Each pixel is split into two planar triangles whose sides are great-circle
        distances between the pixel corners (Gammapy's approximation).
        """

        def compute():
            lon, lat = self._image_lonlat("edges")
            lon, lat = np.radians(lon), np.radians(lat)
            ll = (lon[:-1, :-1], lat[:-1, :-1])
            lr = (lon[1:, :-1], lat[1:, :-1])
            ul = (lon[:-1, 1:], lat[:-1, 1:])
            ur = (lon[1:, 1:], lat[1:, 1:])
            low = angular_separation(*ll, *lr)
            left = angular_separation(*ll, *ul)
            up = angular_separation(*ul, *ur)
            right = angular_separation(*lr, *ur)
            angle_lr = position_angle(*lr, *ur) - position_angle(*lr, *ll)
            angle_ul = position_angle(*ul, *ur) - position_angle(*ll, *ul)
            area = 0.5 * low * right * np.sin(angle_lr) + 0.5 * up * left * np.sin(angle_ul)
            return u.Quantity(np.abs(area).reshape(self.data_shape_image), "sr")

        return self._cached("solid_angle", compute)

    def bin_volume(self):
        """Solid angle times the bin widths of all axes (Quantity)."""
        return self._cached(
            "bin_volume",
            lambda: (
                self.solid_angle() * self.axes.bin_volume()
                if len(self.axes)
                else self.solid_angle()
            ),
        )

    # ------------------------------------------------------------------ derived geometries
    def to_image(self):
        """Geometry without the non-spatial axes."""
        return self._cached("image", lambda: self.__class__(self._wcs, self._npix))

    def to_cube(self, axes):
        """Geometry with ``axes`` appended to the non-spatial axes."""
        return self.__class__(self._wcs.deepcopy(), self._npix, axes=list(self.axes) + list(axes))

    def _pad_spatial(self, pad_width):
        pad = (pad_width, pad_width) if np.isscalar(pad_width) else tuple(pad_width)
        npix = (self._npix[0] + 2 * pad[0], self._npix[1] + 2 * pad[1])
        wcs = self._wcs.deepcopy()
        wcs.wcs.crpix += np.array(pad)
        wcs.array_shape = (npix[1], npix[0])
        return self._init_copy(wcs=wcs, npix=npix)

    def crop(self, crop_width):
        """Geometry with ``crop_width`` pixels removed on each side."""
        crop = (crop_width, crop_width) if np.isscalar(crop_width) else tuple(crop_width)
        npix = (self._npix[0] - 2 * crop[0], self._npix[1] - 2 * crop[1])
        wcs = self._wcs.deepcopy()
        wcs.wcs.crpix -= np.array(crop)
        wcs.array_shape = (npix[1], npix[0])
        return self._init_copy(wcs=wcs, npix=npix)

    def downsample(self, factor, axis_name=None):
        """Geometry with ``factor`` times larger pixels (or a downsampled axis)."""
        if axis_name is not None:
            return self._init_copy(axes=self.axes.downsample(factor, axis_name))
        if np.any(np.mod(self._npix, factor) > 0):
            raise DatasetError(f"Spatial shape {self._npix} not divisible by factor {factor}")
        npix = (self._npix[0] // factor, self._npix[1] // factor)
        wcs = _resampled_wcs(self._wcs, factor, True)
        wcs.array_shape = (npix[1], npix[0])
        return self._init_copy(wcs=wcs, npix=npix)

    def upsample(self, factor, axis_name=None):
        """Geometry with ``factor`` times smaller pixels (or an upsampled axis)."""
        if axis_name is not None:
            return self._init_copy(axes=self.axes.upsample(factor, axis_name))
        npix = (self._npix[0] * factor, self._npix[1] * factor)
        wcs = _resampled_wcs(self._wcs, factor, False)
        wcs.array_shape = (npix[1], npix[0])
        return self._init_copy(wcs=wcs, npix=npix)

    def to_binsz(self, binsz):
        """Geometry with the same centre and width and a new pixel size."""
        return self.create(
            skydir=self.center_skydir,
            binsz=binsz,
            width=tuple(self.width.value),
            proj=self.projection,
            frame=self.frame,
            axes=self.axes,
        )

    def to_odd_npix(self, max_radius=None):
        """Square geometry with an odd number of pixels (e.g. for kernels)."""
        width = self.width.max() if max_radius is None else 2 * u.Quantity(max_radius)
        binsz = self.pixel_scales.max()
        npix = int(_round_up_to_odd((width / binsz).to_value("")))
        return self.create(
            skydir=self.center_skydir,
            binsz=binsz,
            npix=npix,
            proj=self.projection,
            frame=self.frame,
            axes=self.axes,
        )

    def to_even_npix(self):
        """Square geometry with an even number of pixels."""
        binsz = self.pixel_scales.max()
        width_npix = (self.width.max() / binsz).to_value("")
        npix = int(np.ceil(width_npix) // 2 * 2)
        return self.create(
            skydir=self.center_skydir,
            binsz=binsz,
            npix=npix,
            proj=self.projection,
            frame=self.frame,
            axes=self.axes,
        )

    def _cutout2d(self, position, width, mode="trim", odd_npix=False, min_npix=1):
        width = np.array(check_width(width))
        width_npix = np.clip(width / self.pixel_scales.deg, min_npix, None)
        if odd_npix:
            width_npix = _round_up_to_odd(width_npix)
        dummy = np.empty(self.to_image().data_shape, dtype=bool)
        c2d = Cutout2D(
            data=dummy, wcs=self._wcs, position=position, size=width_npix[::-1], mode=mode
        )
        geom = self._init_copy(wcs=c2d.wcs, npix=c2d.shape[::-1])
        return geom, c2d.slices_original, c2d.slices_cutout

    def cutout(self, position, width, mode="trim", odd_npix=False, min_npix=1):
        """Geometry of a cutout around ``position`` (see `astropy.nddata.Cutout2D`).

        Parameters
        ----------
        position : `~astropy.coordinates.SkyCoord`
            Cutout centre.
        width : float, str, Quantity or tuple
            Width ``(lon, lat)`` (deg); one value for a square.
        mode : {"trim", "partial", "strict"}
            ``trim`` drops the part outside the parent image.
        odd_npix : bool
            Round the number of pixels up to an odd number.
        min_npix : int
            Minimum number of pixels.
        """
        return self._cutout2d(position, width, mode, odd_npix, min_npix)[0]

    def cutout_slices(self, geom, mode="partial"):
        """Slices of this (cutout) geometry inside a parent ``geom`` and vice versa.

        Returns
        -------
        slices : dict
            ``{"parent-slices": (sy, sx), "cutout-slices": (sy, sx)}``.
        """
        position = geom.to_image().coord_to_pix(self.center_skydir)
        slices = overlap_slices(
            large_array_shape=geom.data_shape[-2:],
            small_array_shape=self.data_shape[-2:],
            position=[float(np.ravel(p)[0]) for p in position[::-1]],
            mode=mode,
        )
        return {"parent-slices": slices[0], "cutout-slices": slices[1]}

    # ------------------------------------------------------------------ masks
    def region_mask(self, regions, inside=True):
        """Boolean map of the pixels whose centre lies inside any of ``regions``.

        Parameters
        ----------
        regions : `~regions.SkyRegion`, `~regions.PixelRegion`, str or list
            Region(s) (ds9 strings are parsed); a list means the union.
        inside : bool
            If False, invert the mask (e.g. for exclusion masks).

        Returns
        -------
        mask : `~fluxfit.maps.WcsNDMap`
            Boolean map with this geometry (broadcast over the non-spatial axes).
        """
        from .core import Map
        from .regions_helpers import region_mask_image

        image = region_mask_image(self.to_image(), regions)
        if not inside:
            image = ~image
        data = np.broadcast_to(image, self.data_shape).copy()
        return Map.from_geom(self, data=data, dtype=bool)

    def region_mask_matrix(self, regions, weights=None):
        """Sparse ``(n_regions, ny * nx)`` matrix of the pixels inside each region.

        This is the vectorised path to reduce a map in many regions at once (flux
        profiles): ``matrix @ data.reshape(-1, ny * nx).T`` sums every image plane in
        every region in one sparse product.

        Parameters
        ----------
        regions : list of `~regions.SkyRegion`
            Regions (each one is a row; overlapping regions share pixels).
        weights : `~numpy.ndarray`, optional
            Image of per-pixel weights (e.g. ``region_weights``) to store instead of 1.

        Returns
        -------
        matrix : `scipy.sparse.csr_matrix`
            Cached on the image geometry for a given list of region objects (without
            ``weights``), so several maps of the same geometry reuse it.
        """
        from .regions_helpers import region_mask_matrix

        if weights is not None:
            return region_mask_matrix(self.to_image(), regions, weights=weights)
        regions = list(regions) if isinstance(regions, list | tuple) else [regions]
        key = ("region_matrix", tuple(id(r) for r in regions))
        cached = self.to_image()._cache.get(key)
        if cached is not None and all(a is b for a, b in zip(cached[0], regions)):
            return cached[1]
        matrix = region_mask_matrix(self.to_image(), regions)
        # keep the regions alive with the matrix so that their ids stay unique
        self.to_image()._cache[key] = (regions, matrix)
        return matrix

    def region_weights(self, regions, oversampling_factor=10):
        """Fraction of each pixel inside ``regions`` (float map, oversampled estimate)."""
        from .core import Map

        factor = int(oversampling_factor)
        geom_fine = self.to_image().upsample(factor)
        from .regions_helpers import region_mask_image

        mask = region_mask_image(geom_fine, regions).astype(float)
        ny, nx = self.to_image().data_shape
        weights = mask.reshape(ny, factor, nx, factor).mean(axis=(1, 3))
        data = np.broadcast_to(weights, self.data_shape).copy()
        return Map.from_geom(self, data=data, dtype=float)

    def boundary_mask(self, width):
        """Boolean map that is False within ``width`` of the image border.

        Matches Gammapy's binary erosion with a box of ``2 * width``: the number of
        border pixels is ``(round_up_to_odd(2 * width / pixel) - 1) / 2`` per side.
        """
        from .core import Map

        width = np.array(check_width(width))
        n_border = ((_round_up_to_odd(2 * width / self.pixel_scales.deg) - 1) // 2).astype(int)
        image = np.zeros(self.to_image().data_shape, dtype=bool)
        ny, nx = image.shape
        image[n_border[1] : ny - n_border[1], n_border[0] : nx - n_border[0]] = True
        data = np.broadcast_to(image, self.data_shape).copy()
        return Map.from_geom(self, data=data, dtype=bool)

    def binary_structure(self, width, kernel="disk"):
        """Binary structuring element of a given angular (or pixel) width."""
        width = u.Quantity(width)
        if width.unit.is_equivalent("deg"):
            width = (width / self.pixel_scales).to_value("")
        else:
            width = np.array([width.value, width.value])
        width = _round_up_to_odd(width).astype(int)
        if kernel == "disk":
            radius = (width[0] - 1) / 2
            y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
            structure = (x**2 + y**2 <= radius**2 + 0.5).astype(float)
        elif kernel == "box":
            structure = np.ones(width[::-1])
        else:
            raise DatasetError(f"Invalid kernel {kernel!r}: use 'disk' or 'box'")
        return structure.reshape((1,) * len(self.axes) + structure.shape)

    # ------------------------------------------------------------------ comparison
    def is_aligned(self, other, tolerance=1e-6):
        """Same axes and WCS (up to ``tolerance``), possibly different image sizes."""
        if len(self.axes) != len(other.axes) or any(a != b for a, b in zip(self.axes, other.axes)):
            return False
        return bool(self._wcs.wcs.compare(other.wcs.wcs, cmp=2, tolerance=tolerance))

    def is_allclose(self, other, rtol_axes=1e-6, atol_axes=1e-6, rtol_wcs=1e-6):
        """Same data shape, close axes and WCS."""
        if not isinstance(other, WcsGeom) or self.data_shape != other.data_shape:
            return False
        axes_eq = self.axes.is_allclose(other.axes, rtol=rtol_axes, atol=atol_axes)
        wcs_eq = self._wcs.wcs.compare(other.wcs.wcs, cmp=1, tolerance=rtol_wcs)
        return bool(axes_eq and wcs_eq)

    def __eq__(self, other):
        if not isinstance(other, WcsGeom):
            return False
        return self.is_allclose(other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return id(self)

    def __deepcopy__(self, memo):
        return self.__class__(
            self._wcs.deepcopy(), self._npix, axes=_copy.deepcopy(self.axes, memo)
        )

    def __str__(self):
        center = self.center_skydir
        lon = center.represent_as("unitspherical").lon.deg
        lat = center.represent_as("unitspherical").lat.deg
        lon_ref, lat_ref = self._wcs.wcs.crval
        width = self.width.value
        return (
            f"{self.__class__.__name__}\n\n"
            f"\taxes       : {self.axes_names}\n"
            f"\tshape      : {self._shape}\n"
            f"\tndim       : {self.ndim}\n"
            f"\tframe      : {self.frame}\n"
            f"\tprojection : {self.projection}\n"
            f"\tcenter     : {lon:.1f} deg, {lat:.1f} deg\n"
            f"\twidth      : {width[0]:.1f} deg x {width[1]:.1f} deg\n"
            f"\twcs ref    : {lon_ref:.1f} deg, {lat_ref:.1f} deg\n"
        )
