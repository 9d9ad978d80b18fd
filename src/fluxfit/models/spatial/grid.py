"""Sky pixel grids: what spatial models are integrated over.

A `SkyPixelGrid` is a 2-D celestial WCS plus a shape. It provides, computed
once and cached, the pixel-centre coordinates in any supported frame, exact
pixel solid angles and sub-pixel centres for oversampled integration around a
sharply peaked source. A map dataset builds one grid per geometry and calls
``spatial_model.integrate_geom(grid)`` (or `integrate_pixels`) in its hot loop.

Pixel conventions follow astropy/Gammapy: ``shape = (ny, nx)`` in numpy order,
pixel centres at integer 0-based pixel coordinates ``(x, y)``, pixel ``[j, i]``
covering ``x in [i - 0.5, i + 0.5]`` and ``y in [j - 0.5, j + 0.5]``.

Examples
--------
>>> from fluxfit.models.spatial import GaussianSpatialModel, SkyPixelGrid
>>> grid = SkyPixelGrid.create(center=(83.63, 22.01), width=2.0, binsz=0.02, frame="icrs")
>>> grid.shape
(100, 100)
>>> model = GaussianSpatialModel(lon_0="83.63 deg", lat_0="22.01 deg", sigma="0.1 deg")
>>> round(float(model.integrate_geom(grid).sum()), 4)
1.0
"""

from __future__ import annotations

import weakref
from collections import OrderedDict

import numpy as np

from fluxfit.errors import ModelError
from fluxfit.models.spatial.geometry import (
    _GRID_FRAMES,
    angular_separation,
    check_frame,
    lonlat_to_xyz,
    transform_lonlat,
)

__all__ = ["SkyPixelGrid", "as_pixel_grid", "frame_from_wcs", "MAX_OVERSAMPLING"]

#: Largest oversampling factor used by automatic choices (as Gammapy).
MAX_OVERSAMPLING = 200

_CACHE_SIZE = 16


def frame_from_wcs(wcs) -> str:
    """``"icrs"``, ``"galactic"`` or ``"fk5"`` from a celestial WCS (CTYPE and RADESYS)."""
    ctype = [str(c).upper() for c in wcs.wcs.ctype]
    lon_type = ctype[0][:4] if ctype else ""
    if lon_type.startswith("GLON"):
        return "galactic"
    if lon_type.startswith("RA"):
        radesys = str(getattr(wcs.wcs, "radesys", "") or "").upper().strip()
        # FK5 J2000 and ICRS differ by < 0.03 arcsec; kept apart for exactness.
        return "fk5" if radesys == "FK5" else "icrs"
    raise ModelError(
        f"WCS with CTYPE {wcs.wcs.ctype!r} is not an equatorial (RA/DEC) or galactic "
        "(GLON/GLAT) celestial projection"
    )


def _quad_solid_angle(c00, c01, c11, c10):
    """Solid angle (sr) of spherical quadrilaterals from their corner unit vectors.

    Two triangles, each by the Van Oosterom-Strackee formula (exact for
    great-circle edges).
    """

    def triangle(a, b, c):
        numerator = np.abs(np.einsum("...i,...i", a, np.cross(b, c)))
        denominator = (
            1.0
            + np.einsum("...i,...i", a, b)
            + np.einsum("...i,...i", b, c)
            + np.einsum("...i,...i", c, a)
        )
        return 2.0 * np.arctan2(numerator, denominator)

    return triangle(c00, c01, c11) + triangle(c00, c11, c10)


class SkyPixelGrid:
    """A 2-D celestial pixel grid: WCS + shape, with cached coordinates.

    Parameters
    ----------
    wcs : `~astropy.wcs.WCS`
        Celestial WCS (extra axes are dropped with ``wcs.celestial``).
    shape : tuple of int
        ``(ny, nx)``, numpy order.

    Attributes
    ----------
    frame : str
        ``"icrs"``, ``"galactic"`` or ``"fk5"``, from the WCS.

    Examples
    --------
    >>> from astropy.wcs import WCS
    >>> from fluxfit.models.spatial import SkyPixelGrid
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["GLON-CAR", "GLAT-CAR"]
    >>> wcs.wcs.cdelt = [-0.1, 0.1]
    >>> wcs.wcs.crpix = [50.5, 25.5]
    >>> grid = SkyPixelGrid(wcs, (50, 100))
    >>> grid.frame, grid.shape
    ('galactic', (50, 100))
    """

    def __init__(self, wcs, shape):
        from astropy.wcs import WCS

        if not isinstance(wcs, WCS):
            raise ModelError(f"SkyPixelGrid: wcs must be an astropy WCS, got {type(wcs).__name__}")
        if not wcs.has_celestial:
            raise ModelError("SkyPixelGrid: the WCS has no celestial axes")
        if wcs.naxis != 2:
            wcs = wcs.celestial
        try:
            shape = tuple(int(n) for n in shape)
        except (TypeError, ValueError):
            raise ModelError(f"SkyPixelGrid: shape must be (ny, nx), got {shape!r}") from None
        if len(shape) != 2 or min(shape) < 1:
            raise ModelError(f"SkyPixelGrid: shape must be two positive sizes, got {shape!r}")
        self.wcs = wcs
        self.shape = shape
        self.frame = frame_from_wcs(wcs)
        self._cache: OrderedDict = OrderedDict()

    # ------------------------------------------------------------ builders
    @classmethod
    def create(cls, center, width, binsz, frame: str = "icrs", proj: str = "CAR"):
        """A grid centred on ``center``.

        Parameters
        ----------
        center : `~astropy.coordinates.SkyCoord` or (lon, lat) in deg
            Grid centre (a SkyCoord is converted to ``frame``).
        width : float or (float, float)
            Width (and height) in deg.
        binsz : float
            Pixel size in deg.
        frame : {"icrs", "galactic"}
            Frame of the grid.
        proj : str
            WCS projection code (``"CAR"``, ``"TAN"``, ``"AIT"``...).
        """
        from astropy.wcs import WCS

        frame = check_frame(frame, "SkyPixelGrid.create")
        if hasattr(center, "transform_to"):
            center = center.transform_to(frame)
            lon0, lat0 = center.spherical.lon.deg, center.spherical.lat.deg
        else:
            lon0, lat0 = (float(v) for v in center)
        width_x, width_y = np.broadcast_to(np.asarray(width, dtype=float), (2,))
        binsz = float(binsz)
        if binsz <= 0 or width_x <= 0 or width_y <= 0:
            raise ModelError(f"SkyPixelGrid.create: width {width} and binsz {binsz} must be > 0")
        nx = max(int(np.round(width_x / binsz)), 1)
        ny = max(int(np.round(width_y / binsz)), 1)
        wcs = WCS(naxis=2)
        names = ("RA---", "DEC--") if frame == "icrs" else ("GLON-", "GLAT-")
        wcs.wcs.ctype = [names[0] + proj, names[1] + proj]
        wcs.wcs.crval = [lon0, lat0]
        wcs.wcs.cdelt = [-binsz, binsz]
        wcs.wcs.crpix = [(nx + 1) / 2.0, (ny + 1) / 2.0]
        if frame == "icrs":
            wcs.wcs.radesys = "ICRS"
        wcs.wcs.set()
        return cls(wcs, (ny, nx))

    @classmethod
    def from_header(cls, header, shape=None):
        """A grid from a FITS image header (shape from NAXIS2, NAXIS1 unless given)."""
        from astropy.wcs import WCS

        if shape is None:
            try:
                shape = (int(header["NAXIS2"]), int(header["NAXIS1"]))
            except KeyError as exc:
                raise ModelError(f"SkyPixelGrid.from_header: missing keyword {exc}") from None
        return cls(WCS(header).celestial, shape)

    # ----------------------------------------------------------- utilities
    def _cached(self, key, compute):
        cache = self._cache
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        value = compute()
        cache[key] = value
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
        return value

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = OrderedDict()
        return state

    def __repr__(self) -> str:
        return (
            f"SkyPixelGrid(frame={self.frame!r}, shape={self.shape}, "
            f"ctype={list(self.wcs.wcs.ctype)}, pixel_scale={self.pixel_scale:.4g} deg)"
        )

    @property
    def pixel_scale(self) -> float:
        """Largest pixel side at the reference point (deg)."""
        from astropy.wcs.utils import proj_plane_pixel_scales

        return float(np.max(np.abs(proj_plane_pixel_scales(self.wcs))))

    def _pix_to_lonlat(self, x, y, frame):
        lon, lat = self.wcs.pixel_to_world_values(x, y)
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        if frame is not None and frame != self.frame:
            lon, lat = transform_lonlat(lon, lat, self.frame, frame)
        return lon, lat

    # --------------------------------------------------------- coordinates
    def lonlat(self, frame: str | None = None):
        """Pixel-centre (lon, lat) in deg, arrays of shape ``(ny, nx)``, in ``frame``.

        Pixels outside the projection's valid region get NaN.
        """
        frame = self.frame if frame is None else check_frame(frame, "lonlat", _GRID_FRAMES)

        def compute():
            ny, nx = self.shape
            y, x = np.mgrid[0:ny, 0:nx].astype(float)
            lon, lat = self._pix_to_lonlat(x, y, frame)
            lon.setflags(write=False)
            lat.setflags(write=False)
            return lon, lat

        return self._cached(("lonlat", frame), compute)

    @property
    def solid_angle(self) -> np.ndarray:
        """Pixel solid angles (sr), shape ``(ny, nx)``; 0 for pixels with a corner
        outside the projection's valid region (e.g. the rim of an AIT map).

        Each pixel is the spherical quadrilateral joining its four corners by
        great circles, so the pixels tile the sphere exactly (an all-sky grid
        sums to 4 pi); for CAR pixels, whose lower/upper edges are parallels,
        this differs from the lon/lat rectangle by ~(pixel size)^2 relative.
        """

        def compute():
            ny, nx = self.shape
            y, x = np.mgrid[0 : ny + 1, 0 : nx + 1].astype(float) - 0.5
            lon, lat = self._pix_to_lonlat(x, y, None)
            xyz = lonlat_to_xyz(lon, lat)
            omega = _quad_solid_angle(xyz[:-1, :-1], xyz[:-1, 1:], xyz[1:, 1:], xyz[1:, :-1])
            omega = np.where(np.isfinite(omega), omega, 0.0)
            omega.setflags(write=False)
            return omega

        return self._cached(("solid_angle",), compute)

    @property
    def all_valid(self) -> bool:
        """True when every pixel centre has valid coordinates (no NaN from the projection)."""

        def compute():
            lon, lat = self.lonlat()
            return bool(np.all(np.isfinite(lon)) and np.all(np.isfinite(lat)))

        return self._cached(("all_valid",), compute)

    def world_to_pixel(self, lon, lat, frame: str | None = None):
        """Pixel coordinates ``(x, y)`` (0-based floats) of lon/lat (deg) given in ``frame``."""
        if frame is not None and frame != self.frame:
            lon, lat = transform_lonlat(lon, lat, frame, self.frame)
        x, y = self.wcs.world_to_pixel_values(lon, lat)
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def subpixel_lonlat(self, box, factor: int, frame: str | None = None):
        """Sub-pixel centres for pixels ``box = (j0, j1, i0, i1)``, ``factor`` per side.

        Returns (lon, lat) in deg with shape ``(j1 - j0, factor, i1 - i0, factor)``,
        so that summing axes 1 and 3 gives per-pixel sums.
        """
        frame = self.frame if frame is None else check_frame(frame, "subpixel_lonlat", _GRID_FRAMES)
        factor = int(factor)
        j0, j1, i0, i1 = (int(v) for v in box)

        def compute():
            offsets = (np.arange(factor) + 0.5) / factor - 0.5
            y = (np.arange(j0, j1)[:, None] + offsets[None, :])[:, :, None, None]
            x = (np.arange(i0, i1)[:, None] + offsets[None, :])[None, None, :, :]
            x, y = np.broadcast_arrays(x, y)
            lon, lat = self._pix_to_lonlat(x, y, frame)
            lon.setflags(write=False)
            lat.setflags(write=False)
            return lon, lat

        return self._cached(("sub", (j0, j1, i0, i1), factor, frame), compute)

    def box_around(self, lon, lat, radius, frame: str | None = None):
        """Smallest pixel box ``(j0, j1, i0, i1)`` holding every pixel whose centre is
        within ``radius`` + one pixel of any of the positions ``lon, lat`` (deg, in
        ``frame``); None if there is none."""
        frame = self.frame if frame is None else frame
        grid_lon, grid_lat = self.lonlat(frame)
        lon = np.ravel(lon)[:, None, None]
        lat = np.ravel(lat)[:, None, None]
        separation = angular_separation(grid_lon, grid_lat, lon, lat)
        inside = np.any(separation <= float(np.max(radius)) + self.pixel_scale, axis=0)
        rows = np.flatnonzero(inside.any(axis=1))
        cols = np.flatnonzero(inside.any(axis=0))
        if rows.size == 0:
            return None
        return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1

    def cutout(self, box) -> SkyPixelGrid:
        """The sub-grid of pixels ``box = (j0, j1, i0, i1)`` (a sliced WCS)."""
        j0, j1, i0, i1 = (int(v) for v in box)
        return SkyPixelGrid(self.wcs[j0:j1, i0:i1], (j1 - j0, i1 - i0))


_GRIDS_OF_GEOMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def as_pixel_grid(geom) -> SkyPixelGrid:
    """Turn ``geom`` into a `SkyPixelGrid`.

    Accepted: a `SkyPixelGrid`; any object with a ``to_pixel_grid()`` method (a
    map geometry); a pair ``(wcs, shape)``; or an object with ``wcs`` and
    ``data_shape``/``shape`` attributes (the last two axes are used). The grid
    made for a geometry object is remembered (weakly) so that repeated calls
    reuse its cached coordinates; geometries are assumed immutable.
    """
    if isinstance(geom, SkyPixelGrid):
        return geom
    try:
        return _GRIDS_OF_GEOMS[geom]
    except (KeyError, TypeError):
        pass
    if hasattr(geom, "to_pixel_grid"):
        grid = geom.to_pixel_grid()
    elif isinstance(geom, tuple) and len(geom) == 2:
        return SkyPixelGrid(*geom)
    else:
        wcs = getattr(geom, "wcs", None)
        shape = getattr(geom, "data_shape", None) or getattr(geom, "shape", None)
        if wcs is None or shape is None:
            raise ModelError(
                f"cannot integrate over {type(geom).__name__}: give a SkyPixelGrid, (wcs, shape) "
                "or a geometry with a to_pixel_grid() method"
            )
        grid = SkyPixelGrid(wcs, tuple(shape)[-2:])
    try:
        _GRIDS_OF_GEOMS[geom] = grid
    except TypeError:  # not weak-referenceable
        pass
    return grid
