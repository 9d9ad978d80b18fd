"""`MapDatasetMaker`: counts cubes with exposure, background, PSF and dispersion maps.

For one observation (or time piece) and the geometries of a template
`~fluxfit.datasets.map.MapDataset` (e.g. from ``MapDataset.create``), as Gammapy 2.1's
``MapDatasetMaker``:

- counts: events binned in the counts geometry (pixel of the nearest centre, reconstructed
  energy ``[lo, hi)``);
- exposure: effective area at each pixel's offset from the pointing and the true-energy
  bin centres, times the live time (m2 s); the live time is kept in ``exposure.meta``;
- background: the background IRF (zeros filled along energy, 2-D padded in offset) at each
  pixel's field-of-view coordinates, integrated over the energy bins (log-log trapezoid),
  times the pixel solid angle and the on-time;
- psf: `~fluxfit.irf.kernels.PSFMap` on the template's PSF geometry (PSF evaluated at each
  pixel's offset, normalised along ``rad``) with its exposure map;
- edisp: `~fluxfit.irf.kernels.EDispKernelMap` on the template's dispersion geometry (the
  kernel at each pixel's offset) with its exposure map.

A template whose dispersion map is the 2 x 1 all-sky default (``MapDataset.create``
without IRF geometry), or that has no PSF map, gets IRF maps on the counts image resampled
to ``binsz_irf`` (0.2 deg, Gammapy's default IRF geometry). The safe mask is all True.
IRF maps and the per-pixel offsets are cached per observation (shared by its time pieces).

Examples
--------
>>> from fluxfit.makers import MapDatasetMaker
>>> MapDatasetMaker(selection=["counts", "exposure"]).selection
['counts', 'exposure']
>>> # dataset = MapDatasetMaker().run(MapDataset.create(geom, energy_axis_true), observation)
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import Table

from fluxfit.errors import DatasetError
from fluxfit.irf.gadf import RAD_AXIS_DEFAULT
from fluxfit.irf.kernels import EDispKernelMap, PSFMap
from fluxfit.maps import Map

from .core import IdentityCache, Maker, event_lonlat, gti_to_ogip, observation_meta, wcs_frame
from .irf_maps import background_rate, fov_coordinates, prepare_background_irf

__all__ = ["MapDatasetMaker", "BINSZ_IRF_DEFAULT"]

#: Pixel size of the IRF maps when the template has none (Gammapy's default), deg.
BINSZ_IRF_DEFAULT = 0.2


def _pixel_skycoord(geom) -> SkyCoord:
    """Pixel centres of the image of ``geom`` as a (ny, nx) SkyCoord."""
    coords = geom.to_image().get_coord()
    return SkyCoord(coords["lon"], coords["lat"], unit="deg", frame=geom.frame)


def _is_all_sky_default(geom) -> bool:
    """The 2 x 1 all-sky image ``MapDataset.create`` uses for its default dispersion."""
    nx, ny = geom.to_image().npix
    width = np.atleast_1d(geom.width.to_value("deg")).ravel()
    return int(np.ravel(nx)[0]) * int(np.ravel(ny)[0]) <= 2 and width.max() >= 180


class MapDatasetMaker(Maker):
    """Make a map dataset for one observation (Gammapy's ``MapDatasetMaker``).

    Parameters
    ----------
    selection : list of str, optional
        Among "counts", "exposure", "background", "psf", "edisp" (default all).
    background_oversampling : int, optional
        Log sub-bins per energy bin to integrate the background IRF.
    background_interp_missing_data : bool
        Fill zeros of the background IRF along energy (Gammapy's default True).
    background_pad_offset : bool
        Pad a 2-D background IRF by one offset bin (Gammapy's default True).
    binsz_irf : float, optional
        Pixel size (deg) of the PSF / dispersion maps made when the template has none.

    Examples
    --------
    >>> from fluxfit.makers import MapDatasetMaker
    >>> MapDatasetMaker().selection
    ['counts', 'exposure', 'background', 'psf', 'edisp']
    """

    tag = "MapDatasetMaker"
    available_selection = ("counts", "exposure", "background", "psf", "edisp")

    def __init__(
        self,
        selection=None,
        background_oversampling=None,
        background_interp_missing_data: bool = True,
        background_pad_offset: bool = True,
        binsz_irf=None,
    ):
        if selection is None:
            selection = list(self.available_selection)
        selection = list(selection)
        unknown = set(selection) - set(self.available_selection)
        if unknown:
            raise DatasetError(
                f"MapDatasetMaker: unknown selection {sorted(unknown)}; "
                f"use some of {list(self.available_selection)}"
            )
        self.selection = selection
        self.background_oversampling = background_oversampling
        self.background_interp_missing_data = bool(background_interp_missing_data)
        self.background_pad_offset = bool(background_pad_offset)
        self.binsz_irf = BINSZ_IRF_DEFAULT if binsz_irf is None else float(binsz_irf)
        self._cache = IdentityCache(maxsize=64)

    # ------------------------------------------------------------------ helpers
    def _offsets(self, geom, pointing) -> np.ndarray:
        """Offsets (deg) of the image pixels of ``geom`` from ``pointing`` (cached)."""
        key = ("offsets", float(pointing.ra.deg), float(pointing.dec.deg))
        image = geom.to_image()
        return self._cache.get(
            (image,), key, lambda: np.asarray(image.separation(pointing).to_value("deg"))
        )

    def _area(self, geom, observation) -> np.ndarray:
        """Effective area (m2) on the exposure-like ``geom``: (n_true, ny, nx) (cached)."""
        aeff = observation.aeff
        pointing = observation.pointing_radec

        def compute():
            energy = geom.axes["energy_true"].center.to_value(u.TeV)
            offsets = self._offsets(geom, pointing)
            return np.asarray(
                aeff.evaluate_area(
                    energy_true=u.Quantity(energy[:, None, None], u.TeV),
                    offset=u.Quantity(offsets[None, :, :], u.deg),
                ),
                dtype=float,
            )

        key = ("area", float(pointing.ra.deg), float(pointing.dec.deg))
        return self._cache.get((aeff, geom), key, compute)

    def _irf_image(self, geom):
        return geom.to_image().to_binsz(self.binsz_irf)

    # ------------------------------------------------------------------ makers
    def make_counts(self, geom, observation):
        """Counts cube of the events (nearest pixel centre, energy ``[lo, hi)``)."""
        events = observation.events
        counts = np.zeros(geom.data_shape)
        if len(events):
            lon, lat = event_lonlat(events, wcs_frame(geom.wcs))
            x, y = geom.wcs.wcs_world2pix(lon, lat, 0)
            ix = np.floor(x + 0.5).astype(np.int64)
            iy = np.floor(y + 0.5).astype(np.int64)
            edges = geom.axes["energy"].edges.to_value(u.TeV)
            ie = np.searchsorted(edges, events.energy_tev, side="right") - 1
            n_e, ny, nx = geom.data_shape
            valid = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny) & (ie >= 0) & (ie < n_e)
            flat = (ie[valid] * ny + iy[valid]) * nx + ix[valid]
            counts = np.bincount(flat, minlength=n_e * ny * nx).reshape(geom.data_shape)
        return Map.from_geom(geom, data=counts.astype(float), dtype=float)

    def make_exposure(self, geom, observation):
        """Exposure cube (m2 s) on ``geom`` (axis ``energy_true``)."""
        livetime = observation.observation_live_time_duration.to(u.s)
        data = (self._area(geom, observation) * livetime.value).reshape(geom.data_shape)
        exposure = Map.from_geom(geom, data=data, unit="m2 s", dtype=float)
        exposure.meta["livetime"] = livetime
        exposure.meta["is_pointlike"] = bool(getattr(observation.aeff, "is_pointlike", False))
        return exposure

    def make_background(self, geom, observation):
        """Background counts cube from the background IRF."""
        pointing = observation.pointing_radec
        raw = observation.bkg

        def compute():
            bkg = prepare_background_irf(
                raw, self.background_interp_missing_data, self.background_pad_offset
            )
            coords = fov_coordinates(bkg, pointing, _pixel_skycoord(geom))
            edges = geom.axes["energy"].edges.to_value(u.TeV)
            rate = background_rate(bkg, edges, coords, self.background_oversampling)
            solid_angle = np.asarray(geom.to_image().solid_angle().to_value(u.sr))
            return rate * solid_angle[None, :, :]

        key = (
            "background",
            float(pointing.ra.deg),
            float(pointing.dec.deg),
            self.background_oversampling,
            self.background_interp_missing_data,
            self.background_pad_offset,
        )
        rate = self._cache.get((raw, geom), key, compute)
        ontime = observation.observation_time_duration.to_value(u.s)
        return Map.from_geom(geom, data=rate * ontime, dtype=float)

    def make_psf(self, geom, observation) -> PSFMap:
        """PSF map on ``geom`` (axes ``rad``, ``energy_true``) with its exposure map."""
        psf = observation.psf
        pointing = observation.pointing_radec

        def compute():
            offsets = self._offsets(geom, pointing)
            rad = geom.axes["rad"].center.to_value(u.deg)
            energy = geom.axes["energy_true"].center.to_value(u.TeV)
            values = psf.evaluate(
                rad=u.Quantity(rad[None, :, None, None], u.deg),
                energy_true=u.Quantity(energy[:, None, None, None], u.TeV),
                offset=u.Quantity(offsets[None, None, :, :], u.deg),
            )
            psf_map = Map.from_geom(
                geom, data=np.asarray(values.to_value("sr-1"), float), unit="sr-1", dtype=float
            )
            psf_map.normalize(axis_name="rad")
            return psf_map

        key = ("psf", float(pointing.ra.deg), float(pointing.dec.deg))
        psf_map = self._cache.get((psf, geom), key, compute)
        exposure_geom = geom.to_image().to_cube(
            [geom.axes["rad"].squash(), geom.axes["energy_true"]]
        )
        exposure = self.make_exposure(exposure_geom, observation)
        return PSFMap(psf_map, exposure)

    def make_edisp_kernel(self, geom, observation) -> EDispKernelMap:
        """Dispersion kernel map on ``geom`` (axes ``energy``, ``energy_true``)."""
        edisp = observation.edisp
        pointing = observation.pointing_radec

        def compute():
            offsets = self._offsets(geom, pointing)
            axis, axis_true = geom.axes["energy"], geom.axes["energy_true"]
            ny, nx = offsets.shape
            data = np.zeros((axis_true.nbin, axis.nbin, ny, nx))
            unique, inverse = np.unique(np.round(offsets, 12), return_inverse=True)
            kernels = [edisp.to_edisp_kernel(o * u.deg, axis_true, axis).to_dense() for o in unique]
            stacked = np.stack(kernels, axis=-1)[..., inverse.reshape(ny, nx)]
            data[...] = stacked
            return Map.from_geom(geom, data=data, unit="", dtype=float)

        key = ("edisp", float(pointing.ra.deg), float(pointing.dec.deg))
        edisp_map = self._cache.get((edisp, geom), key, compute)
        exposure_geom = geom.to_image().to_cube(
            [geom.axes["energy"].squash(), geom.axes["energy_true"]]
        )
        exposure = self.make_exposure(exposure_geom, observation)
        return EDispKernelMap(edisp_map, exposure)

    @staticmethod
    def make_meta_table(observation) -> Table:
        """One-row table: TELESCOP, OBS_ID, RA_PNT, DEC_PNT (Gammapy's ``meta_table``)."""
        meta = observation_meta(observation)
        row = {
            "TELESCOP": [str(meta.get("TELESCOP", ""))],
            "OBS_ID": [meta.get("OBS_ID", -1)],
            "RA_PNT": [float(observation.pointing_radec.ra.deg)] * u.deg,
            "DEC_PNT": [float(observation.pointing_radec.dec.deg)] * u.deg,
        }
        return Table(row)

    # ------------------------------------------------------------------ run
    def _psf_geom(self, dataset):
        psf = dataset.psf
        if isinstance(psf, PSFMap) and not _is_all_sky_default(psf.psf_map.geom):
            return psf.psf_map.geom
        geom = dataset.counts.geom
        energy_axis_true = dataset.energy_axis_true

        def compute():
            return self._irf_image(geom).to_cube([RAD_AXIS_DEFAULT, energy_axis_true])

        return self._cache.get((geom,), ("psf_geom", self.binsz_irf), compute)

    def _edisp_geom(self, dataset):
        edisp = dataset.edisp
        if isinstance(edisp, EDispKernelMap) and not _is_all_sky_default(edisp.geom):
            return edisp.geom
        geom = dataset.counts.geom
        energy_axis_true = dataset.energy_axis_true.copy(name="energy_true")

        def compute():
            image = self._irf_image(geom)
            return image.to_cube([geom.axes["energy"], energy_axis_true])

        return self._cache.get((geom,), ("edisp_geom", self.binsz_irf), compute)

    def run(self, dataset, observation):
        """The map dataset of ``observation`` on the template's geometries.

        Parameters
        ----------
        dataset : `~fluxfit.datasets.map.MapDataset`
            Template (name and geometries), e.g. ``MapDataset.create(geom, energy_axis_true)``.
        observation : `~fluxfit.data.Observation`
        """
        if dataset.counts is None:
            raise DatasetError(f"MapDatasetMaker: dataset {dataset.name!r} has no counts geometry")
        geom = dataset.counts.geom
        if getattr(geom, "is_region", False):
            raise DatasetError("MapDatasetMaker: use SpectrumDatasetMaker for region geometries")
        kwargs = {
            "name": dataset.name,
            "gti": gti_to_ogip(observation.gti),
            "meta_table": self.make_meta_table(observation),
            "meta": {**dict(dataset.meta), **observation_meta(observation)},
            "mask_safe": Map.from_geom(geom, data=np.ones(geom.data_shape, bool), dtype=bool),
            "integration": dataset.integration,
        }
        if "counts" in self.selection:
            kwargs["counts"] = self.make_counts(geom, observation)
        else:
            kwargs["counts"] = Map.from_geom(geom, dtype=float)
        if "exposure" in self.selection:
            exposure_geom = (
                dataset.exposure.geom
                if dataset.exposure is not None
                else geom.to_image().to_cube([dataset.energy_axis_true])
            )
            kwargs["exposure"] = self.make_exposure(exposure_geom, observation)
        if "background" in self.selection:
            kwargs["background"] = self.make_background(geom, observation)
        if "psf" in self.selection:
            kwargs["psf"] = self.make_psf(self._psf_geom(dataset), observation)
        if "edisp" in self.selection:
            kwargs["edisp"] = self.make_edisp_kernel(self._edisp_geom(dataset), observation)
        return type(dataset)(**kwargs)
