"""Reflected-regions background: OFF regions rotated about the pointing, and the ON/OFF maker.

`ReflectedRegionsFinder` follows Gammapy 2.1's algorithm step by step, in the pixels of a
tangent-plane reference map centred on the pointing (``binsz`` 0.01 deg, width four times
the ON-pointing distance plus 0.3 deg):

1. the angular size of the ON region seen from the pointing is the spread of the position
   angles of the reference-map pixels inside it; ``angle_min`` = size + ``min_distance``;
2. starting at ``angle_min + min_distance_input``, the ON region is rotated about the
   pointing; a rotation whose region contains no excluded pixel gives an OFF region and the
   next try is ``angle_min`` further, otherwise ``angle_increment`` further;
3. until the angle reaches ``2 pi - angle_min - min_distance_input`` (or
   ``max_region_number`` regions).

`ReflectedRegionsBackgroundMaker` counts the events in the OFF regions (pixel containment on
the same reference map, as Gammapy's compound OFF geometry does) and returns a
`~fluxfit.datasets.SpectrumDatasetOnOff` with ``acceptance = 1`` and ``acceptance_off`` = the
number of OFF regions. The regions depend only on the pointing, the ON region and the
exclusion mask: they are found once per observation and reused for all its time pieces.

Examples
--------
>>> import astropy.units as u
>>> from astropy.coordinates import SkyCoord
>>> from regions import CircleSkyRegion
>>> from fluxfit.makers import ReflectedRegionsFinder
>>> pointing = SkyCoord(83.63, 22.51, unit="deg")
>>> on_region = CircleSkyRegion(SkyCoord(83.63, 22.01, unit="deg"), radius=0.11 * u.deg)
>>> regions, wcs = ReflectedRegionsFinder().run(on_region, pointing)
>>> len(regions)
12
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle
from regions import CircleSkyRegion, PixCoord, PointSkyRegion

from fluxfit.datasets import SpectrumDatasetOnOff
from fluxfit.errors import DatasetError
from fluxfit.maps import WcsGeom

from .core import IdentityCache, Maker, energy_counts, event_lonlat, wcs_frame
from .spectrum import dataset_geom

__all__ = [
    "ReflectedRegionsBackgroundMaker",
    "ReflectedRegionsFinder",
    "RegionsFinder",
    "WobbleRegionsFinder",
]

log = logging.getLogger(__name__)

FULL_CIRCLE = 2 * np.pi
_CM2_S = u.Unit("cm2 s")


class RegionsFinder(ABC):
    """Base of the OFF-region finders: the reference map and the excluded pixels.

    Parameters
    ----------
    binsz : `~astropy.coordinates.Angle` or str
        Pixel size of the reference map used to place the regions (default 0.01 deg).
    """

    def __init__(self, binsz="0.01 deg"):
        self.binsz = Angle(binsz)

    def reference_geom(self, region, center) -> WcsGeom:
        """Tangent-plane map centred on ``center`` holding all the rotated regions."""
        frame = region.center.frame.name
        width = 4 * region.center.separation(center) + Angle("0.3 deg")
        return WcsGeom.create(skydir=center, binsz=self.binsz, width=width, frame=frame, proj="TAN")

    @staticmethod
    def excluded_pixels(reference_geom, exclusion_mask) -> PixCoord:
        """Pixel coordinates (of the reference map) of the excluded pixels."""
        if exclusion_mask is None:
            return PixCoord(np.zeros(0), np.zeros(0))
        mask = exclusion_mask.interp_to_geom(reference_geom.to_image(), fill_value=True)
        data = np.asarray(mask.data, dtype=bool)
        while data.ndim > 2:
            data = data[0]
        pix_y, pix_x = np.nonzero(~data)
        return PixCoord(pix_x.astype(float), pix_y.astype(float))

    @abstractmethod
    def run(self, region, center, exclusion_mask=None):
        """OFF regions for ``region`` around ``center``, avoiding ``exclusion_mask``."""


class ReflectedRegionsFinder(RegionsFinder):
    """OFF regions by rotating the ON region about the pointing (Gammapy's algorithm).

    Parameters
    ----------
    angle_increment : `~astropy.coordinates.Angle` or str
        Rotation step after a rotated region touched an excluded pixel (0.1 rad).
    min_distance : `~astropy.coordinates.Angle` or str
        Minimum rotation angle between consecutive OFF regions (0 rad).
    min_distance_input : `~astropy.coordinates.Angle` or str
        Minimum rotation angle between the ON region and the first/last OFF regions (0.1 rad).
    max_region_number : int
        Stop after this many regions (10000).
    binsz : `~astropy.coordinates.Angle` or str
        Pixel size of the reference map (0.01 deg).
    """

    def __init__(
        self,
        angle_increment="0.1 rad",
        min_distance="0 rad",
        min_distance_input="0.1 rad",
        max_region_number=10000,
        binsz="0.01 deg",
    ):
        super().__init__(binsz=binsz)
        self.angle_increment = Angle(angle_increment)
        if self.angle_increment <= Angle(0, "deg"):
            raise DatasetError(
                f"ReflectedRegionsFinder: angle_increment = {self.angle_increment} must be > 0"
            )
        self.min_distance = Angle(min_distance)
        self.min_distance_input = Angle(min_distance_input)
        self.max_region_number = int(max_region_number)

    @staticmethod
    def region_angular_size(region, reference_geom, center_pix) -> float:
        """Spread (rad) of the position angles, seen from ``center_pix``, of the region's pixels."""
        mask = reference_geom.region_mask([region]).data
        while mask.ndim > 2:
            mask = mask[0]
        pix_y, pix_x = np.nonzero(mask)
        if pix_x.size == 0:
            raise DatasetError(
                "ReflectedRegionsFinder: the ON region covers no pixel of the reference map; "
                "use a smaller binsz"
            )
        angles = np.arctan2(center_pix.x - pix_x, center_pix.y - pix_y)
        size = np.max(angles) - np.min(angles)
        if size > np.pi:
            wrapped = np.mod(angles, FULL_CIRCLE)
            size = np.max(wrapped) - np.min(wrapped)
        return float(size)

    def run(self, region, center, exclusion_mask=None):
        """Reflected regions of ``region`` about ``center``.

        Parameters
        ----------
        region : `~regions.SkyRegion`
            ON region (not a point).
        center : `~astropy.coordinates.SkyCoord`
            Rotation centre (the pointing).
        exclusion_mask : `~fluxfit.maps.WcsNDMap`, optional
            Boolean map, False where excluded; OFF regions touching an excluded pixel are
            skipped.

        Returns
        -------
        regions : list of `~regions.SkyRegion`
        wcs : `~astropy.wcs.WCS`
            The reference map's WCS (their pixel containment is evaluated on it).
        """
        regions_pix, reference_geom = self.run_pixels(region, center, exclusion_mask)
        wcs = reference_geom.wcs
        return [r.to_sky(wcs) for r in regions_pix], wcs

    def run_pixels(self, region, center, exclusion_mask=None):
        """As `run`, with the regions in the reference map's pixels and the map geometry."""
        if isinstance(region, PointSkyRegion):
            raise DatasetError(
                "ReflectedRegionsFinder does not work with a PointSkyRegion; "
                "use WobbleRegionsFinder"
            )
        reference_geom = self.reference_geom(region, center)
        wcs = reference_geom.wcs
        center_pix = PixCoord.from_sky(center, wcs)
        region_pix = region.to_pixel(wcs)
        excluded = self.excluded_pixels(reference_geom, exclusion_mask)
        # the pixel region (not the sky one): the same pixels, one WCS conversion less
        size = self.region_angular_size(region_pix, reference_geom, center_pix)
        angle_min = size + self.min_distance.to_value(u.rad)
        min_input = self.min_distance_input.to_value(u.rad)
        angle_max = FULL_CIRCLE - angle_min - min_input
        increment = self.angle_increment.to_value(u.rad)
        regions = []
        angle = angle_min + min_input
        while angle < angle_max:
            test = region_pix.rotate(center_pix, angle * u.rad)
            if len(excluded.x) == 0 or not np.any(test.contains(excluded)):
                regions.append(test)
                if len(regions) >= self.max_region_number:
                    break
                angle += angle_min
            else:
                angle += increment
        return regions, reference_geom


class WobbleRegionsFinder(RegionsFinder):
    """``n_off_regions`` OFF regions at symmetric positions about the pointing.

    Rotations by ``k * 2 pi / (n_off_regions + 1)``; regions touching an excluded pixel are
    dropped, and if two OFF regions overlap none is returned (as Gammapy).
    """

    def __init__(self, n_off_regions: int, binsz="0.01 deg"):
        super().__init__(binsz=binsz)
        self.n_off_regions = int(n_off_regions)

    def run(self, region, center, exclusion_mask=None):
        regions_pix, reference_geom = self.run_pixels(region, center, exclusion_mask)
        wcs = reference_geom.wcs
        return [r.to_sky(wcs) for r in regions_pix], wcs

    def run_pixels(self, region, center, exclusion_mask=None):
        if isinstance(region, PointSkyRegion):
            raise DatasetError("WobbleRegionsFinder: point ON regions are not supported")
        reference_geom = self.reference_geom(region, center)
        wcs = reference_geom.wcs
        center_pix = PixCoord.from_sky(center, wcs)
        region_pix = region.to_pixel(wcs)
        excluded = self.excluded_pixels(reference_geom, exclusion_mask)
        n_positions = self.n_off_regions + 1
        regions = []
        for i in range(1, n_positions):
            test = region_pix.rotate(center_pix, i * FULL_CIRCLE / n_positions * u.rad)
            if len(excluded.x) and np.any(test.contains(excluded)):
                continue
            regions.append(test)
        nx, ny = reference_geom.npix
        shape = (int(np.ravel(ny)[0]), int(np.ravel(nx)[0]))
        masks = [r.to_mask().to_image(shape) > 0 for r in regions]
        for i in range(len(masks)):
            for j in range(i + 1, len(masks)):
                if np.any(masks[i] & masks[j]):
                    log.warning("Found overlapping off regions, returning no regions")
                    return [], reference_geom
        return regions, reference_geom


class _OffRegions:
    """The OFF regions of one observation, ready to count events."""

    __slots__ = ("frame", "regions_pix", "wcs")

    def __init__(self, regions_pix, reference_geom):
        self.regions_pix = regions_pix
        self.wcs = reference_geom.wcs
        self.frame = wcs_frame(self.wcs)

    def __len__(self):
        return len(self.regions_pix)

    def contains(self, events) -> np.ndarray:
        """Whether each event lies in any OFF region (pixel containment on the reference map)."""
        inside = np.zeros(len(events), dtype=bool)
        if len(events) == 0 or not self.regions_pix:
            return inside
        lon, lat = event_lonlat(events, self.frame)
        x, y = self.wcs.wcs_world2pix(lon, lat, 0)
        if all(type(r).__name__ == "CirclePixelRegion" for r in self.regions_pix):
            # circles: keep the events of the ring holding all centres, then test each circle
            cx = np.array([r.center.x for r in self.regions_pix])
            cy = np.array([r.center.y for r in self.regions_pix])
            radius = np.array([r.radius for r in self.regions_pix])
            x0, y0 = self.wcs.wcs.crpix - 1.0
            rho = np.hypot(x - x0, y - y0)
            rho_c = np.hypot(cx - x0, cy - y0)
            near = np.flatnonzero(
                (rho > (rho_c - radius).min() - 1.0) & (rho < (rho_c + radius).max() + 1.0)
            )
            dx = x[near, None] - cx[None, :]
            dy = y[near, None] - cy[None, :]
            inside[near] = np.any(np.hypot(dx, dy) < radius[None, :], axis=1)
            return inside
        pix = PixCoord(x, y)
        for region in self.regions_pix:
            inside |= np.asarray(region.contains(pix), dtype=bool)
        return inside


class ReflectedRegionsBackgroundMaker(Maker):
    """ON/OFF spectra with reflected OFF regions (Gammapy's ``ReflectedRegionsBackgroundMaker``).

    Parameters
    ----------
    region_finder : `RegionsFinder`, optional
        Default: a `ReflectedRegionsFinder` made with ``**kwargs``.
    exclusion_mask : `~fluxfit.maps.WcsNDMap`, optional
        Boolean map (True where usable) with at most one non-spatial bin.
    **kwargs
        `ReflectedRegionsFinder` options (``min_distance``, ``min_distance_input``,
        ``angle_increment``, ``max_region_number``, ``binsz``).

    Examples
    --------
    >>> from fluxfit.makers import ReflectedRegionsBackgroundMaker
    >>> maker = ReflectedRegionsBackgroundMaker(min_distance="0.1 rad")
    >>> maker.region_finder.min_distance
    <Angle 0.1 rad>
    >>> # dataset_on_off = maker.run(dataset, observation)
    """

    tag = "ReflectedRegionsBackgroundMaker"

    def __init__(self, region_finder=None, exclusion_mask=None, **kwargs):
        if exclusion_mask is not None:
            data = np.asarray(exclusion_mask.data)
            if data.dtype != bool:
                raise DatasetError(
                    "ReflectedRegionsBackgroundMaker: the exclusion mask must hold booleans, "
                    f"got {data.dtype}"
                )
            spatial = exclusion_mask.geom.data_shape[-2:]
            if int(np.prod(data.shape)) != int(np.prod(spatial)):
                raise DatasetError(
                    "ReflectedRegionsBackgroundMaker: the exclusion mask must have only "
                    f"spatial dimensions (shape {data.shape})"
                )
            exclusion_mask = exclusion_mask.copy(data=data.reshape(exclusion_mask.geom.data_shape))
        self.exclusion_mask = exclusion_mask
        if region_finder is None:
            region_finder = ReflectedRegionsFinder(**kwargs)
        elif kwargs:
            raise DatasetError(
                "ReflectedRegionsBackgroundMaker: no keyword arguments with a region_finder"
            )
        self.region_finder = region_finder
        self._cache = IdentityCache()

    def off_regions(self, region, observation) -> _OffRegions:
        """The OFF regions for ``region`` in this observation (cached per pointing)."""
        pointing = observation.pointing_radec
        key = (float(pointing.ra.deg), float(pointing.dec.deg))

        def compute():
            regions_pix, reference_geom = self.region_finder.run_pixels(
                region, pointing, self.exclusion_mask
            )
            return _OffRegions(regions_pix, reference_geom)

        return self._cache.get((region, self.region_finder, self.exclusion_mask), key, compute)

    def make_counts_off(self, dataset, observation):
        """OFF counts per reconstructed-energy bin and the number of OFF regions."""
        geom = dataset_geom(dataset)
        region = geom.region
        if not isinstance(region, CircleSkyRegion) and isinstance(region, PointSkyRegion):
            raise DatasetError(
                "ReflectedRegionsBackgroundMaker: point ON regions are not supported"
            )
        off = self.off_regions(region, observation)
        axis = geom.axes["energy"]
        if len(off) == 0:
            log.warning(
                "ReflectedRegionsBackgroundMaker failed. No OFF region found outside the "
                "exclusion mask for dataset '%s'.",
                dataset.name,
            )
            return None, 0
        events = observation.events
        inside = off.contains(events)
        counts_off = energy_counts(events.energy_tev[inside], axis.edges.to_value(u.TeV))
        return counts_off, len(off)

    def run(self, dataset, observation) -> SpectrumDatasetOnOff:
        """The `~fluxfit.datasets.SpectrumDatasetOnOff` of a reduced spectrum dataset.

        With no OFF region (all excluded) the OFF counts are zero, ``acceptance_off`` 0 and
        the safe mask all False, as Gammapy does.
        """
        counts_off, n_off = self.make_counts_off(dataset, observation)
        n = dataset.n_channels
        mask_safe = dataset.mask_safe.copy()
        if counts_off is None:
            counts_off = np.zeros(n)
            mask_safe[:] = False
            log.warning(
                "ReflectedRegionsBackgroundMaker failed. Setting %s mask to False.", dataset.name
            )
        meta = dict(dataset.meta)
        meta["n_off_regions"] = int(n_off)
        return SpectrumDatasetOnOff(
            counts=dataset.counts.copy(),
            counts_off=counts_off,
            acceptance=np.ones(n),
            acceptance_off=np.full(n, float(n_off)),
            exposure=dataset.exposure.to_value(_CM2_S),
            edisp=dataset.edisp,
            mask_safe=mask_safe,
            mask_fit=dataset.mask_fit,
            name=dataset.name,
            livetime=dataset.livetime,
            gti=dataset.gti,
            meta=meta,
            integration=dataset.integration,
        )
