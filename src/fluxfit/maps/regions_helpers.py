"""Sky-region helpers: profile region makers, compound regions and vectorised pixel masks.

`make_orthogonal_rectangle_sky_regions` and `make_concentric_annulus_sky_regions`
reproduce Gammapy 2.1 (``gammapy.utils.regions``) exactly, including its counting
convention for annuli (``nbin`` is the number of radius *edges*: ``nbin=11`` gives 10
annuli).

Pixel masks are computed region by region on the pixel centres inside each
region's bounding box only, with the ``regions`` package's exact pixel-space
containment (``region.to_pixel(wcs).contains``), which is what Gammapy does on the
full image. `region_mask_matrix` stacks them into a sparse matrix so that a map can be
reduced in many regions with one sparse product.

Examples
--------
>>> from astropy.coordinates import SkyCoord
>>> from fluxfit.maps import make_concentric_annulus_sky_regions
>>> annuli = make_concentric_annulus_sky_regions(
...     SkyCoord(0, 0, unit="deg", frame="galactic"), radius_max="1.5 deg", nbin=11
... )
>>> len(annuli), round(float(annuli[-1].outer_radius.to_value("deg")), 6)
(10, 1.5)
"""

from __future__ import annotations

import itertools
import operator

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from regions import (
    CircleAnnulusSkyRegion,
    CompoundPixelRegion,
    CompoundSkyRegion,
    PixCoord,
    PixelRegion,
    PointPixelRegion,
    PointSkyRegion,
    RectangleSkyRegion,
    Regions,
    SkyRegion,
)
from scipy import sparse

from fluxfit.errors import DatasetError, FormatError

__all__ = [
    "make_orthogonal_rectangle_sky_regions",
    "make_concentric_annulus_sky_regions",
    "parse_regions",
    "compound_region_to_regions",
    "regions_to_compound_region",
    "compound_region_center",
    "region_pixel_indices",
    "region_mask_image",
    "region_mask_matrix",
]


# ---------------------------------------------------------------------------- makers
def make_orthogonal_rectangle_sky_regions(start_pos, end_pos, wcs, height, nbin=1):
    """Rectangles tiling the line from ``start_pos`` to ``end_pos`` (Gammapy 2.1).

    The rectangle centres are equally spaced along the straight pixel line between the
    two positions in ``wcs``; every rectangle is ``separation / nbin`` wide, ``height``
    high and rotated by ``end_pos.position_angle(start_pos) - 90 deg``, so that for a
    line of constant latitude the width runs along longitude.

    Parameters
    ----------
    start_pos, end_pos : `~astropy.coordinates.SkyCoord`
        Ends of the line.
    wcs : `~astropy.wcs.WCS`
        Projection in which the line is straight (usually the map's WCS).
    height : `~astropy.units.Quantity` or str
        Extent of the rectangles across the line.
    nbin : int
        Number of rectangles.

    Returns
    -------
    regions : list of `~regions.RectangleSkyRegion`

    Examples
    --------
    >>> from astropy.coordinates import SkyCoord
    >>> from fluxfit.maps import WcsGeom, make_orthogonal_rectangle_sky_regions
    >>> geom = WcsGeom.create(width=(20, 10), binsz=0.05, frame="galactic")
    >>> regions = make_orthogonal_rectangle_sky_regions(
    ...     SkyCoord("10d", "0d", frame="galactic"), SkyCoord("350d", "0d", frame="galactic"),
    ...     wcs=geom.wcs, height="3 deg", nbin=51,
    ... )
    >>> len(regions), round(float(regions[0].center.l.deg), 6)
    (51, 9.803922)
    """
    pix_start = start_pos.to_pixel(wcs)
    pix_stop = end_pos.to_pixel(wcs)
    points = np.linspace(start=pix_start, stop=pix_stop, num=int(nbin) + 1).T
    centers = 0.5 * (points[:, :-1] + points[:, 1:])
    coords = SkyCoord.from_pixel(centers[0], centers[1], wcs)
    width = start_pos.separation(end_pos).to("rad") / int(nbin)
    angle = end_pos.position_angle(start_pos) - 90 * u.deg
    return [
        RectangleSkyRegion(center=center, width=width, height=u.Quantity(height), angle=angle)
        for center in coords
    ]


def make_concentric_annulus_sky_regions(center, radius_max, radius_min=1e-5 * u.deg, nbin=11):
    """Concentric annuli around ``center`` (Gammapy 2.1 convention: ``nbin - 1`` annuli).

    Parameters
    ----------
    center : `~astropy.coordinates.SkyCoord`
        Common centre.
    radius_max : `~astropy.units.Quantity` or str
        Outer radius of the last annulus.
    radius_min : `~astropy.units.Quantity`
        Inner radius of the first annulus (default 1e-5 deg).
    nbin : int
        Number of radius edges, linearly spaced; Gammapy 2.1 returns ``nbin - 1`` annuli.

    Returns
    -------
    regions : list of `~regions.CircleAnnulusSkyRegion`
    """
    radius_max = u.Quantity(radius_max)
    radius_min = u.Quantity(radius_min).to(radius_max.unit)
    edges = np.linspace(radius_min, radius_max, int(nbin))
    return [
        CircleAnnulusSkyRegion(center=center, inner_radius=r_in, outer_radius=r_out)
        for r_in, r_out in itertools.pairwise(edges)
    ]


# ---------------------------------------------------------------------------- compound
def parse_regions(regions):
    """Normalise region input to a list.

    Accepts a ds9 string, a single sky/pixel region, a SkyCoord (point region), a
    `~regions.Regions` or a list; union compound regions are expanded into their parts.
    """
    if regions is None:
        return []
    if isinstance(regions, str):
        try:
            regions = list(Regions.parse(regions, format="ds9"))
        except Exception as exc:  # regions raises several exception types
            raise FormatError(f"Cannot parse ds9 region string {regions!r}: {exc}") from exc
    elif isinstance(regions, SkyCoord):
        regions = [PointSkyRegion(center=regions)]
    elif isinstance(regions, SkyRegion | PixelRegion):
        regions = [regions]
    out = []
    for region in regions:
        out.extend(compound_region_to_regions(region))
    return out


def compound_region_to_regions(region):
    """Split a union compound region into its parts (other regions: ``[region]``)."""
    if isinstance(region, CompoundSkyRegion | CompoundPixelRegion) and (
        region.operator is operator.or_
    ):
        return compound_region_to_regions(region.region1) + compound_region_to_regions(
            region.region2
        )
    return [region]


def regions_to_compound_region(regions):
    """Union of a list of regions (a single region is returned unchanged)."""
    regions = list(regions)
    if not regions:
        raise DatasetError("regions_to_compound_region: empty list of regions")
    union = regions[0]
    for region in regions[1:]:
        union = union.union(region)
    return union


def compound_region_center(region):
    """Centre of a (compound) region: the geometric median of the part centres (ICRS).

    As in Gammapy, the median is found with L-BFGS-B within the range of the part
    centres; a single region returns its own centre.
    """
    from scipy.optimize import Bounds, minimize

    from .wcs import angular_separation

    parts = compound_region_to_regions(region)
    if len(parts) == 1:
        return parts[0].center
    positions = SkyCoord([p.center.icrs for p in parts])
    ra = positions.ra.wrap_at("180d").deg
    dec = positions.dec.deg
    ra_r, dec_r = np.radians(ra), np.radians(dec)

    def total_distance(x):
        sep = angular_separation(np.radians(x[0]), np.radians(x[1]), ra_r, dec_r)
        return float(np.sum(np.degrees(sep)))

    lb = np.array([ra.min(), dec.min()])
    ub = np.array([ra.max(), dec.max()])
    bounds = None if np.all(ub == lb) else Bounds(lb=lb, ub=ub)
    result = minimize(total_distance, x0=[ra.mean(), dec.mean()], bounds=bounds, method="L-BFGS-B")
    return SkyCoord(result.x[0], result.x[1], frame="icrs", unit="deg")


# ---------------------------------------------------------------------------- masks
def _pixel_region(region, wcs):
    if isinstance(region, PixelRegion):
        return region
    return region.to_pixel(wcs)


def region_pixel_indices(geom, region):
    """Flat pixel indices (``iy * nx + ix``) of the pixel centres inside ``region``.

    Parameters
    ----------
    geom : `~fluxfit.maps.WcsGeom`
        Image geometry (non-spatial axes are ignored).
    region : `~regions.SkyRegion` or `~regions.PixelRegion`
        One region (compound regions use their own ``contains``).

    Returns
    -------
    indices : `~numpy.ndarray` of int
        Sorted flat indices into the ``(ny, nx)`` image.
    """
    nx, ny = geom.npix
    if isinstance(region, PointSkyRegion | PointPixelRegion):
        if isinstance(region, PointSkyRegion):
            x, y = region.center.to_pixel(geom.wcs)
        else:
            x, y = region.center.x, region.center.y
        ix, iy = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
        if 0 <= ix < nx and 0 <= iy < ny:
            return np.array([iy * nx + ix])
        return np.array([], dtype=int)

    region_pix = _pixel_region(region, geom.wcs)
    try:
        bbox = region_pix.bounding_box
        ixmin, ixmax = max(bbox.ixmin - 1, 0), min(bbox.ixmax + 1, nx)
        iymin, iymax = max(bbox.iymin - 1, 0), min(bbox.iymax + 1, ny)
    except (AttributeError, NotImplementedError, ValueError, TypeError):
        ixmin, ixmax, iymin, iymax = 0, nx, 0, ny
    if ixmin >= ixmax or iymin >= iymax:
        return np.array([], dtype=int)
    x, y = np.meshgrid(np.arange(ixmin, ixmax), np.arange(iymin, iymax))
    inside = np.asarray(region_pix.contains(PixCoord(x, y)), dtype=bool)
    return np.sort(y[inside] * nx + x[inside])


def region_mask_image(geom, regions):
    """Boolean ``(ny, nx)`` image of the pixel centres inside any of ``regions``."""
    nx, ny = geom.npix
    mask = np.zeros(ny * nx, dtype=bool)
    for region in parse_regions(regions):
        mask[region_pixel_indices(geom, region)] = True
    return mask.reshape(ny, nx)


def region_mask_matrix(geom, regions, weights=None):
    """Sparse ``(n_regions, ny * nx)`` membership matrix (one row per region).

    Parameters
    ----------
    geom : `~fluxfit.maps.WcsGeom`
        Image geometry.
    regions : list of regions
        Each list element is one row; a compound region is one row.
    weights : `~numpy.ndarray`, optional
        ``(ny, nx)`` per-pixel weights stored instead of 1.

    Returns
    -------
    matrix : `scipy.sparse.csr_matrix` of float64
    """
    nx, ny = geom.npix
    if isinstance(regions, SkyRegion | PixelRegion | str):
        regions = [regions]
    rows, cols = [], []
    for i, region in enumerate(regions):
        idx = np.unique(
            np.concatenate(
                [region_pixel_indices(geom, r) for r in compound_region_to_regions(region)]
                or [np.array([], dtype=int)]
            )
        ).astype(int)
        rows.append(np.full(idx.size, i, dtype=int))
        cols.append(idx)
    rows = np.concatenate(rows) if rows else np.array([], dtype=int)
    cols = np.concatenate(cols) if cols else np.array([], dtype=int)
    values = np.ones(rows.size) if weights is None else np.asarray(weights, float).ravel()[cols]
    return sparse.csr_matrix((values, (rows, cols)), shape=(len(regions), ny * nx))
