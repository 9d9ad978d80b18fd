"""1-D reduction: `SpectrumDatasetMaker` and the empty-dataset factory it starts from.

The dataset of one observation (or time piece) in an ON region, as Gammapy 2.1's
``SpectrumDatasetMaker`` makes it:

- counts: events inside the ON region (pixel containment on the region geometry's WCS, as
  `regions` decides) binned in reconstructed energy ``[lo, hi)``;
- exposure: effective area at the region centre's field-of-view offset, at the true-energy
  bin centres, times the live time (times the PSF containment within the ON radius with
  ``containment_correction=True``), in cm2 s;
- energy dispersion: `fluxfit.irf.gadf.EnergyDispersion2D.to_edisp_kernel` at that offset;
- background (optional): the background IRF integrated over each reconstructed-energy bin
  (log-log trapezoid), times the ON region's solid angle and the on-time (not the live time).

Everything but the counts and the time scaling depends only on the IRFs, the pointing and
the geometry, and is cached per observation (see `fluxfit.makers.core.IdentityCache`).

Examples
--------
>>> import astropy.units as u
>>> from astropy.coordinates import SkyCoord
>>> from regions import CircleSkyRegion
>>> from fluxfit.maps import MapAxis, RegionGeom
>>> from fluxfit.makers import make_empty_spectrum_dataset
>>> region = CircleSkyRegion(SkyCoord(329.717, -30.226, unit="deg"), radius=0.11 * u.deg)
>>> geom = RegionGeom.create(region, axes=[MapAxis.from_energy_bounds("0.4 TeV", "20 TeV", 10)])
>>> energy_axis_true = MapAxis.from_energy_bounds("0.1 TeV", "40 TeV", 20, name="energy_true")
>>> empty = make_empty_spectrum_dataset(geom, energy_axis_true, name="empty")
>>> empty.counts.shape, empty.exposure.shape
((10,), (20,))
"""

from __future__ import annotations

import uuid

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from regions import CircleSkyRegion, PointSkyRegion

from fluxfit.datasets import SpectrumDataset
from fluxfit.errors import DatasetError
from fluxfit.irf import EnergyDispersionMatrix
from fluxfit.maps import MapAxis, RegionGeom

from .core import (
    IdentityCache,
    Maker,
    energy_counts,
    event_lonlat,
    gti_to_ogip,
    observation_meta,
    region_contains_lonlat,
    wcs_frame,
)
from .irf_maps import background_rate, fov_coordinates, prepare_background_irf

__all__ = ["SpectrumDatasetMaker", "make_empty_spectrum_dataset", "dataset_geom"]

_CM2_PER_M2 = 1e4


def make_empty_spectrum_dataset(geom, energy_axis_true, name=None, **kwargs) -> SpectrumDataset:
    """An empty `~fluxfit.datasets.SpectrumDataset` for a region geometry (Gammapy's ``create``).

    Parameters
    ----------
    geom : `~fluxfit.maps.RegionGeom`
        ON region with an ``energy`` axis (the reconstructed-energy bins).
    energy_axis_true : `~fluxfit.maps.MapAxis` or `~astropy.units.Quantity`
        True-energy bins (axis or edges).
    name : str, optional
        Dataset name (default: a random 8-character name, as Gammapy).
    **kwargs
        Passed to `~fluxfit.datasets.SpectrumDataset` (``meta``, ``integration``...).

    Returns
    -------
    dataset : `~fluxfit.datasets.SpectrumDataset`
        Zero counts and exposure; ``meta["geom"]`` holds ``geom`` for the makers.
    """
    if not isinstance(geom, RegionGeom):
        raise DatasetError(
            f"make_empty_spectrum_dataset: geom must be a RegionGeom, got {type(geom).__name__}"
        )
    if "energy" not in geom.axes.names:
        raise DatasetError(
            f"make_empty_spectrum_dataset: the geometry needs an 'energy' axis "
            f"(axes: {geom.axes.names})"
        )
    energy_edges = geom.axes["energy"].edges
    true_edges = getattr(energy_axis_true, "edges", energy_axis_true)
    true_edges = u.Quantity(true_edges)
    if not true_edges.unit.is_equivalent(u.TeV):
        raise DatasetError(
            f"make_empty_spectrum_dataset: energy_axis_true has unit {true_edges.unit}"
        )
    meta = dict(kwargs.pop("meta", None) or {})
    meta["geom"] = geom
    edisp = kwargs.pop("edisp", None)
    if edisp is None:
        edisp = EnergyDispersionMatrix(
            true_edges, energy_edges, np.zeros((true_edges.size - 1, energy_edges.size - 1))
        )
    return SpectrumDataset(
        counts=np.zeros(energy_edges.size - 1),
        exposure=np.zeros(true_edges.size - 1),
        edisp=edisp,
        name=name or _random_name(),
        meta=meta,
        **kwargs,
    )


def _random_name() -> str:
    return uuid.uuid4().hex[:8]


def dataset_geom(dataset) -> RegionGeom:
    """The `~fluxfit.maps.RegionGeom` a spectrum dataset was made for (``meta["geom"]``)."""
    geom = dataset.meta.get("geom") if isinstance(dataset.meta, dict) else None
    if not isinstance(geom, RegionGeom):
        raise DatasetError(
            f"dataset {dataset.name!r} has no region geometry (meta['geom']); start from "
            "fluxfit.makers.make_empty_spectrum_dataset(geom, energy_axis_true)"
        )
    return geom


def _axis(edges, name) -> MapAxis:
    return MapAxis.from_edges(u.Quantity(edges), name=name, interp="log")


def _region_center(geom: RegionGeom) -> SkyCoord:
    return geom.center_skydir.icrs


class SpectrumDatasetMaker(Maker):
    """Make the spectrum of one observation in an ON region (Gammapy's ``SpectrumDatasetMaker``).

    Parameters
    ----------
    selection : list of str, optional
        What to make among "counts", "exposure", "edisp", "background" (default all).
    containment_correction : bool
        Multiply the exposure by the PSF containment within the (circular) ON region.
    background_oversampling : int, optional
        Subdivide each reconstructed-energy bin in this many log bins to integrate the
        background IRF.
    use_region_center : bool
        Evaluate the effective area at the region centre (True, default); False averages
        the exposure over the region's pixels (weights = fraction inside), as Gammapy. The
        energy dispersion is taken at the region centre in both cases (as Gammapy 2.1).
    background_interp_missing_data : bool
        Fill zeros of the background IRF along energy before evaluating it (Gammapy).
    background_pad_offset : bool
        Pad a 2-D background IRF by one offset bin with its edge values (Gammapy).

    Examples
    --------
    >>> from fluxfit.makers import SpectrumDatasetMaker
    >>> maker = SpectrumDatasetMaker(containment_correction=True,
    ...                              selection=["counts", "exposure", "edisp"])
    >>> maker.selection
    ['counts', 'exposure', 'edisp']
    >>> # dataset = maker.run(empty.copy(name="obs-1"), observation)
    """

    tag = "SpectrumDatasetMaker"
    available_selection = ("counts", "background", "exposure", "edisp")

    def __init__(
        self,
        selection=None,
        containment_correction: bool = False,
        background_oversampling=None,
        use_region_center: bool = True,
        background_interp_missing_data: bool = True,
        background_pad_offset: bool = True,
    ):
        if selection is None:
            selection = list(self.available_selection)
        selection = list(selection)
        unknown = set(selection) - set(self.available_selection)
        if unknown:
            raise DatasetError(
                f"SpectrumDatasetMaker: unknown selection {sorted(unknown)}; "
                f"use some of {list(self.available_selection)}"
            )
        self.selection = selection
        self.containment_correction = bool(containment_correction)
        if background_oversampling is not None:
            background_oversampling = int(background_oversampling)
            if background_oversampling < 1:
                raise DatasetError("SpectrumDatasetMaker: background_oversampling must be >= 1")
        self.background_oversampling = background_oversampling
        self.use_region_center = bool(use_region_center)
        self.background_interp_missing_data = bool(background_interp_missing_data)
        self.background_pad_offset = bool(background_pad_offset)
        self._cache = IdentityCache()

    # ------------------------------------------------------------------ pieces
    def _offsets_and_weights(self, geom, pointing):
        """Offsets (deg) where the IRFs are evaluated, and their weights (sum 1)."""
        if self.use_region_center:
            return np.array([_region_center(geom).separation(pointing).deg]), np.ones(1)
        coords, weights = geom.get_wcs_coord_and_weights()
        skycoord = coords.skycoord
        offsets = np.atleast_1d(skycoord.separation(pointing).deg)
        weights = np.atleast_1d(np.asarray(weights, dtype=float)).ravel()
        return offsets.ravel(), weights / weights.sum()

    def exposure_per_second(self, geom, energy_true_edges, observation) -> np.ndarray:
        """Effective area (x containment) in cm2 at the true-energy bin centres (cached)."""
        aeff = observation.aeff
        psf = observation.psf if self.containment_correction else None
        pointing = observation.pointing_radec
        key = (
            "exposure",
            _geom_key(geom),
            tuple(np.round(energy_true_edges, 12)),
            float(pointing.ra.deg),
            float(pointing.dec.deg),
            self.containment_correction,
            self.use_region_center,
        )
        return self._cache.get(
            (aeff, psf, geom),
            key,
            lambda: self._compute_area(geom, energy_true_edges, aeff, psf, pointing),
        )

    def _compute_area(self, geom, energy_true_edges, aeff, psf, pointing):
        if aeff is None:
            raise DatasetError("SpectrumDatasetMaker: the observation has no effective area")
        if getattr(aeff, "is_pointlike", False) and self.containment_correction:
            raise DatasetError(
                "SpectrumDatasetMaker: cannot apply a containment correction with a point-like IRF"
            )
        centers = np.sqrt(energy_true_edges[:-1] * energy_true_edges[1:])
        offsets, weights = self._offsets_and_weights(geom, pointing)
        energy = u.Quantity(centers[:, None], u.TeV)
        area = aeff.evaluate_area(energy_true=energy, offset=u.Quantity(offsets[None, :], u.deg))
        area = np.asarray(area, dtype=float) * _CM2_PER_M2
        area = np.sum(area * weights[None, :], axis=1)
        if psf is not None:
            if not isinstance(geom.region, CircleSkyRegion):
                raise DatasetError(
                    "SpectrumDatasetMaker: containment correction needs a circular ON region, "
                    f"got {type(geom.region).__name__}"
                )
            offset = _region_center(geom).separation(pointing)
            containment = psf.containment(
                rad=geom.region.radius, energy_true=u.Quantity(centers, u.TeV), offset=offset
            )
            area = area * np.asarray(containment, dtype=float)
        return area

    def edisp_matrix(self, geom, energy_true_edges, observation) -> EnergyDispersionMatrix:
        """The energy dispersion matrix at the region (cached per observation)."""
        edisp = observation.edisp
        pointing = observation.pointing_radec
        key = (
            "edisp",
            _geom_key(geom),
            tuple(np.round(energy_true_edges, 12)),
            float(pointing.ra.deg),
            float(pointing.dec.deg),
        )
        return self._cache.get(
            (edisp, geom),
            key,
            lambda: self._compute_edisp(geom, energy_true_edges, edisp, pointing),
        )

    def _compute_edisp(self, geom, energy_true_edges, edisp, pointing):
        if edisp is None:
            raise DatasetError("SpectrumDatasetMaker: the observation has no energy dispersion")
        axis_true = _axis(u.Quantity(energy_true_edges, u.TeV), "energy_true")
        # at the region centre, also with use_region_center=False (as Gammapy 2.1)
        offset = _region_center(geom).separation(pointing)
        return edisp.to_edisp_kernel(offset, axis_true, geom.axes["energy"])

    def make_counts(self, geom, observation) -> np.ndarray:
        """Counts per reconstructed-energy bin of the events inside the ON region."""
        if geom.is_all_point_sky_regions or isinstance(geom.region, PointSkyRegion):
            raise DatasetError(
                "SpectrumDatasetMaker: point-like ON regions (RAD_MAX cuts) are not supported; "
                "use a CircleSkyRegion"
            )
        events = observation.events
        axis = geom.axes["energy"]
        if len(events) == 0:
            return np.zeros(axis.nbin)
        lon, lat = event_lonlat(events, wcs_frame(geom.wcs))
        region_pix = self._cache.get((geom,), "region_pix", lambda: geom.region.to_pixel(geom.wcs))
        inside = region_contains_lonlat(region_pix, geom.wcs, lon, lat)
        return energy_counts(events.energy_tev[inside], axis.edges.to_value(u.TeV))

    def make_background(self, geom, observation) -> np.ndarray:
        """Background counts per reconstructed-energy bin from the background IRF."""
        bkg = observation.bkg
        pointing = observation.pointing_radec
        key = (
            "background",
            _geom_key(geom),
            float(pointing.ra.deg),
            float(pointing.dec.deg),
            self.background_oversampling,
            self.background_interp_missing_data,
            self.background_pad_offset,
        )
        rate = self._cache.get((bkg, geom), key, lambda: self._background_rate(geom, bkg, pointing))
        ontime = observation.observation_time_duration.to_value(u.s)
        return rate * ontime

    def _background_rate(self, geom, bkg, pointing) -> np.ndarray:
        """Background counts per second in the ON region per reconstructed-energy bin."""
        bkg = prepare_background_irf(
            bkg, self.background_interp_missing_data, self.background_pad_offset
        )
        center = _region_center(geom)
        coords = fov_coordinates(bkg, pointing, center)
        edges = geom.axes["energy"].edges.to_value(u.TeV)
        rate = background_rate(bkg, edges, coords, self.background_oversampling).reshape(-1)
        return rate * geom.solid_angle().to_value(u.sr)

    # ------------------------------------------------------------------ run
    def run(self, dataset, observation) -> SpectrumDataset:
        """The reduced `~fluxfit.datasets.SpectrumDataset` of ``observation``.

        Parameters
        ----------
        dataset : `~fluxfit.datasets.SpectrumDataset`
            Template from `make_empty_spectrum_dataset` (name, axes and ON region).
        observation : `~fluxfit.data.Observation`
            Observation or time piece.
        """
        geom = dataset_geom(dataset)
        energy_true_edges = dataset.edisp.energy_true_edges_tev
        n_true = energy_true_edges.size - 1
        n_chan = geom.axes["energy"].nbin
        # counts first: reading the events also gives the header the live time needs
        counts = self.make_counts(geom, observation) if "counts" in self.selection else None
        livetime = float(observation.observation_live_time_duration.to_value(u.s))
        if "exposure" in self.selection:
            exposure = self.exposure_per_second(geom, energy_true_edges, observation) * livetime
        else:
            exposure = np.zeros(n_true)
        if "edisp" in self.selection:
            edisp = self.edisp_matrix(geom, energy_true_edges, observation)
        else:
            edisp = dataset.edisp
        background = (
            self.make_background(geom, observation) if "background" in self.selection else None
        )
        meta = dict(dataset.meta)
        meta.update(observation_meta(observation))
        return SpectrumDataset(
            counts=np.zeros(n_chan) if counts is None else counts,
            exposure=exposure,
            edisp=edisp,
            background=background,
            mask_safe=None,
            mask_fit=dataset.mask_fit,
            name=dataset.name,
            livetime=livetime,
            gti=gti_to_ogip(observation.gti),
            meta=meta,
            integration=dataset.integration,
        )


def _geom_key(geom) -> tuple:
    """Hashable description of a region geometry's energy axis (region compared by identity)."""
    return tuple(np.round(geom.axes["energy"].edges.to_value(u.TeV), 12))
