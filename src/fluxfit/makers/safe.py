"""`SafeMaskMaker`: the energy (and offset) range where a dataset's response is trusted.

Each method gives a boolean mask over the dataset's reconstructed-energy bins; they are
combined with a logical *and* with the dataset's current safe mask, as Gammapy 2.1 does:

- ``"aeff-max"``: keep the bins whose lower edge lies above the energy where the effective
  area reaches ``aeff_percent`` % of its maximum. With ``irfs="DL4"`` (default) the effective
  area is the dataset's exposure / live time (so it includes a containment correction), a
  log-log template of it is inverted with Gammapy's root finder (100 log-spaced brackets then
  Brent); with ``irfs="DL3"`` the IRF is evaluated at its own true-energy edges at the offset
  given by ``fixed_offset``, ``position`` or 0, and the lowest edge above the threshold is used.
- ``"aeff-default"``: the ``LO_THRES``/``HI_THRES`` keywords of the effective-area HDU.
- ``"edisp-bias"``: the energy where the reconstruction bias falls to ``bias_percent`` % (from
  the dataset's dispersion matrix, or with ``irfs="DL3"`` the IRF at the offset).
- ``"offset-max"``: nothing beyond ``offset_max`` from the pointing.
- ``"bkg-peak"``: the lower edge of the bin with the largest predicted background.

A bin is kept when it lies entirely inside the energy range. The thresholds depend on the
instrument response only, not on the counts.

Examples
--------
>>> from fluxfit.makers import SafeMaskMaker
>>> maker = SafeMaskMaker(methods=["aeff-max"], aeff_percent=10)
>>> sorted(maker.methods)
['aeff-max']
>>> # dataset = maker.run(dataset, observation)
"""

from __future__ import annotations

import logging

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle
from scipy.optimize import brentq

from fluxfit.errors import DatasetError
from fluxfit.irf import EnergyDispersionMatrix
from fluxfit.maps import Map

from .core import Maker
from .spectrum import dataset_geom

__all__ = ["SafeMaskMaker", "template_inverse"]

log = logging.getLogger(__name__)

_TINY = np.finfo(np.float64).tiny
_M2_S = u.Unit("m2 s")


def _log_scale(values):
    return np.log(np.clip(np.asarray(values, dtype=float), _TINY, np.inf))


def _log_inverse(values):
    out = np.exp(values)
    return np.where(np.abs(out) - _TINY <= _TINY, 0.0, out)


def _loglog_template(energy, values):
    """Gammapy's ``TemplateSpectralModel``: log-log linear interpolation, extrapolated, >= 0."""
    x = np.log(np.asarray(energy, dtype=float))
    y = _log_scale(values)

    def evaluate(e):
        lx = np.log(np.asarray(e, dtype=float))
        i = np.clip(np.searchsorted(x, lx, side="right"), 1, x.size - 1)
        x0, x1 = x[i - 1], x[i]
        y0, y1 = y[i - 1], y[i]
        t = (lx - x0) / (x1 - x0)
        return np.clip(_log_inverse(y0 + t * (y1 - y0)), 0.0, np.inf)

    return evaluate


def template_inverse(energy, values, target, energy_min, energy_max, nbin=100) -> float:
    """First energy (TeV) in ``[energy_min, energy_max]`` where a log-log template equals ``target``.

    Gammapy's ``TemplateSpectralModel.inverse``: the range is cut in ``nbin`` log-spaced
    brackets, every bracket whose ends differ in sign is solved with Brent's method and the
    first root is returned (NaN if there is none).
    """
    template = _loglog_template(energy, values)

    def func(e):
        return 1e12 * (float(template(e)) - target)

    grid = _log_inverse(np.linspace(_log_scale(energy_min), _log_scale(energy_max), nbin + 1))
    signs = np.sign(1e12 * (template(grid) - target))
    brackets = np.nonzero(signs[:-1] != signs[1:])[0]
    for idx in brackets[:1]:
        try:
            return float(brentq(func, grid[idx], grid[idx + 1]))
        except (RuntimeError, ValueError):
            return np.nan
    return np.nan


def _energy_mask(edges, energy_min=None, energy_max=None) -> np.ndarray:
    """Bins ``[lo, hi]`` entirely inside ``[energy_min, energy_max]`` (Gammapy's energy_mask)."""
    lo, hi = edges[:-1], edges[1:]
    emin = edges[0] if energy_min is None else energy_min
    emax = edges[-1] if energy_max is None else energy_max
    return (lo >= emin) & (hi <= emax)


class SafeMaskMaker(Maker):
    """Safe data range of a dataset (Gammapy's ``SafeMaskMaker``).

    Parameters
    ----------
    methods : list of str
        Among "aeff-default", "aeff-max", "edisp-bias", "offset-max", "bkg-peak"; the masks
        are combined with a logical and.
    aeff_percent : float
        Effective-area threshold in % of the maximum ("aeff-max").
    bias_percent : float
        Energy-bias threshold in % ("edisp-bias").
    position : `~astropy.coordinates.SkyCoord`, optional
        Where ``aeff_percent``/``bias_percent`` are evaluated with ``irfs="DL3"``.
    fixed_offset : `~astropy.coordinates.Angle`, optional
        Offset from the pointing where they are evaluated (exclusive with ``position``).
    offset_max : `~astropy.coordinates.Angle` or str
        Maximum offset ("offset-max"), default 3 deg.
    irfs : {"DL4", "DL3"}
        Use the dataset's reduced response (default) or the observation's IRFs.

    Examples
    --------
    >>> from fluxfit.makers import SafeMaskMaker
    >>> SafeMaskMaker(methods=["aeff-max", "edisp-bias"], bias_percent=10).bias_percent
    10
    """

    tag = "SafeMaskMaker"
    available_methods = ("aeff-default", "aeff-max", "edisp-bias", "offset-max", "bkg-peak")

    def __init__(
        self,
        methods=("aeff-default",),
        aeff_percent=10,
        bias_percent=10,
        position=None,
        fixed_offset=None,
        offset_max="3 deg",
        irfs="DL4",
    ):
        if isinstance(methods, str):
            methods = [methods]
        methods = set(methods)
        unknown = methods - set(self.available_methods)
        if unknown:
            raise DatasetError(
                f"SafeMaskMaker: {sorted(unknown)} is not a valid method; "
                f"use some of {list(self.available_methods)}"
            )
        if position is not None and fixed_offset is not None:
            raise DatasetError("SafeMaskMaker: position and fixed_offset are mutually exclusive")
        if irfs not in ("DL3", "DL4"):
            raise DatasetError(f"SafeMaskMaker: irfs must be 'DL3' or 'DL4', got {irfs!r}")
        self.methods = methods
        self.aeff_percent = aeff_percent
        self.bias_percent = bias_percent
        self.position = position
        self.fixed_offset = None if fixed_offset is None else Angle(fixed_offset)
        self.offset_max = Angle(offset_max)
        self.irfs = irfs

    # ------------------------------------------------------------------ helpers
    def _offset(self, observation) -> Angle:
        if self.fixed_offset is not None:
            return self.fixed_offset
        if self.position is not None:
            return Angle(observation.pointing_radec.separation(self.position))
        return Angle(0.0, u.deg)

    def _position(self, dataset, observation):
        """Where a map dataset's reduced response is read (Gammapy's ``_get_position``)."""
        if self.fixed_offset is not None and observation is not None:
            return observation.pointing_radec.directional_offset_by(
                position_angle=0 * u.deg, separation=self.fixed_offset
            )
        if self.position is not None:
            return self.position
        return dataset.counts.geom.center_skydir

    @staticmethod
    def _reco_edges(dataset) -> np.ndarray:
        if _is_map(dataset):
            return dataset.counts.geom.axes["energy"].edges.to_value(u.TeV)
        return dataset.edisp.energy_edges_tev

    @staticmethod
    def _energy(dataset, mask_1d) -> np.ndarray:
        """A per-energy-bin mask shaped to broadcast over the dataset (maps: (n, 1, 1))."""
        mask_1d = np.asarray(mask_1d, dtype=bool)
        return mask_1d[:, None, None] if _is_map(dataset) else mask_1d

    # ------------------------------------------------------------------ methods
    def make_mask_offset_max(self, dataset, observation) -> np.ndarray:
        """Bins (pixels) within ``offset_max`` of the pointing (spectra: the region centre)."""
        if observation is None:
            raise DatasetError("SafeMaskMaker: method 'offset-max' needs the observation")
        pointing = observation.pointing_radec
        if _is_map(dataset):
            separation = dataset.counts.geom.to_image().separation(pointing)
            return np.asarray(separation < self.offset_max)[None, :, :]
        geom = dataset_geom(dataset)
        separation = geom.center_skydir.separation(pointing)
        return np.full(dataset.n_channels, bool(separation < self.offset_max))

    def make_mask_energy_aeff_default(self, dataset, observation) -> np.ndarray:
        """Bins inside the ``LO_THRES``-``HI_THRES`` range of the effective-area header."""
        if observation is None:
            raise DatasetError("SafeMaskMaker: method 'aeff-default' needs the observation")
        meta = getattr(observation.aeff, "meta", {}) or {}
        energy_max = meta.get("HI_THRES")
        energy_min = meta.get("LO_THRES")
        if not energy_max:
            log.warning(
                "No default upper safe energy threshold defined for obs %s", observation.obs_id
            )
            energy_max = None
        if not energy_min:
            log.warning(
                "No default lower safe energy threshold defined for obs %s", observation.obs_id
            )
            energy_min = None
        mask = _energy_mask(
            self._reco_edges(dataset),
            None if energy_min is None else float(energy_min),
            None if energy_max is None else float(energy_max),
        )
        return self._energy(dataset, mask)

    def _area_spectrum(self, dataset, observation):
        """(true-energy centres in TeV, effective area in m2) of the reduced exposure."""
        if _is_map(dataset):
            exposure = dataset.exposure
            livetime = exposure.meta.get("livetime")
            if livetime is None:
                raise DatasetError(
                    f"SafeMaskMaker: the exposure of {dataset.name!r} has no 'livetime' in its "
                    "meta (make it with MapDatasetMaker, or use irfs='DL3')"
                )
            livetime = u.Quantity(livetime, u.s).value
            values = _spectrum_at(exposure, self._position(dataset, observation))
            values = values * exposure.unit.to(_M2_S)
            true_edges = exposure.geom.axes["energy_true"].edges.to_value(u.TeV)
        else:
            livetime = dataset.livetime or 0.0
            values = dataset.exposure.to_value(_M2_S)
            true_edges = dataset.edisp.energy_true_edges_tev
        area = values / livetime if livetime > 0 else np.zeros_like(values)
        return np.sqrt(true_edges[:-1] * true_edges[1:]), area

    def make_mask_energy_aeff_max(self, dataset, observation=None) -> np.ndarray:
        """Bins above the energy where the effective area is ``aeff_percent`` % of its maximum."""
        if self.fixed_offset is not None and observation is None:
            raise DatasetError("SafeMaskMaker: fixed_offset needs the observation")
        edges = self._reco_edges(dataset)
        if self.irfs == "DL3":
            aeff = observation.aeff
            true_edges = aeff.axes["energy_true"].edges
            values = aeff.evaluate_area(energy_true=true_edges, offset=self._offset(observation))
            values = np.asarray(values, dtype=float)
            keep = values > self.aeff_percent * np.max(values) / 100
            energy_min = float(np.min(true_edges.to_value(u.TeV)[keep]))
            return self._energy(dataset, _energy_mask(edges, energy_min))
        energy_true, area = self._area_spectrum(dataset, observation)
        if not np.any(area > 0):
            log.warning(
                "Effective area is all zero: no safe energy band can be defined for the "
                "dataset '%s': setting mask_safe to all False.",
                dataset.name,
            )
            return self._energy(dataset, np.zeros(edges.size - 1, dtype=bool))
        energy_min = energy_true[np.nonzero(area > 0)[0][0]]
        energy_max = energy_true[-1]
        threshold = self.aeff_percent / 100 * area.max()
        inversion = template_inverse(energy_true, area, threshold, energy_min, energy_max)
        if not np.isnan(inversion):
            energy_min = inversion
        return self._energy(dataset, _energy_mask(edges, energy_min))

    def make_mask_energy_edisp_bias(self, dataset, observation=None) -> np.ndarray:
        """Bins above the energy where the reconstruction bias is ``bias_percent`` %."""
        if self.fixed_offset is not None and observation is None:
            raise DatasetError("SafeMaskMaker: fixed_offset needs the observation")
        if self.irfs == "DL3":
            kernel = observation.edisp.to_edisp_kernel(self._offset(observation))
        elif _is_map(dataset):
            edisp = dataset.edisp
            matrix = edisp.get_edisp_kernel(position=self._position(dataset, observation))
            kernel = EnergyDispersionMatrix(
                edisp.energy_axis_true.edges, edisp.energy_axis.edges, matrix
            )
        else:
            kernel = dataset.edisp
        energy_min = bias_energy(kernel, self.bias_percent / 100)
        return self._energy(dataset, _energy_mask(self._reco_edges(dataset), energy_min))

    def make_mask_energy_bkg_peak(self, dataset, observation=None) -> np.ndarray:
        """Bins above the lower edge of the bin with the largest predicted background."""
        if self.irfs == "DL3":
            spectrum, bkg_edges = _bkg_spectrum_dl3(observation.bkg)
        elif _is_map(dataset):
            spectrum = np.nansum(np.asarray(dataset.npred_background().data, float), axis=(1, 2))
            bkg_edges = self._reco_edges(dataset)
        else:
            spectrum = np.asarray(dataset.npred_background(), dtype=float)
            bkg_edges = self._reco_edges(dataset)
        idx = int(np.argmax(spectrum))
        return self._energy(dataset, _energy_mask(self._reco_edges(dataset), float(bkg_edges[idx])))

    @staticmethod
    def make_mask_bkg_invalid(dataset) -> np.ndarray:
        """Bins whose background is finite (and positive unless the statistic is W-stat)."""
        background = dataset.background
        background = np.asarray(getattr(background, "data", background), dtype=float)
        mask = np.isfinite(background)
        if dataset.stat_type != "wstat":
            mask &= background > 0.0
        return mask

    # ------------------------------------------------------------------ run
    def run(self, dataset, observation=None):
        """The dataset with its ``mask_safe`` restricted by the methods (in place, returned).

        Works on spectrum datasets and on map datasets (`~fluxfit.datasets.map.MapDataset`:
        energy thresholds from the reduced response at ``position`` (default: the map
        centre) and ``offset-max`` per pixel).
        """
        if self.irfs == "DL3" and observation is None:
            raise DatasetError("SafeMaskMaker: the observation is needed with irfs='DL3'")
        current = dataset.mask_safe
        if _is_map(dataset):
            shape = dataset.counts.geom.data_shape
            mask = (
                np.ones(shape, dtype=bool)
                if current is None
                else np.array(current.data, dtype=bool)
            )
        else:
            mask = np.array(current, dtype=bool)
        if getattr(dataset, "background", None) is not None:
            mask &= self.make_mask_bkg_invalid(dataset)
        if "offset-max" in self.methods:
            mask &= self.make_mask_offset_max(dataset, observation)
        if "aeff-default" in self.methods:
            mask &= self.make_mask_energy_aeff_default(dataset, observation)
        if "aeff-max" in self.methods:
            mask &= self.make_mask_energy_aeff_max(dataset, observation)
        if "edisp-bias" in self.methods:
            mask &= self.make_mask_energy_edisp_bias(dataset, observation)
        if "bkg-peak" in self.methods:
            mask &= self.make_mask_energy_bkg_peak(dataset, observation)
        dataset.mask_safe = mask
        return dataset


def _is_map(dataset) -> bool:
    """A map dataset (counts held in a `~fluxfit.maps.Map` with sky pixels)."""
    return isinstance(getattr(dataset, "counts", None), Map)


def _spectrum_at(map_, position) -> np.ndarray:
    """Values of a (n, ny, nx) map at the pixel nearest to ``position`` (Gammapy's default)."""
    geom = map_.geom
    frame = geom.frame
    coord = position.transform_to(frame)
    x, y = geom.wcs.wcs_world2pix([coord.spherical.lon.deg], [coord.spherical.lat.deg], 0)
    data = np.asarray(map_.data, dtype=float)
    ny, nx = data.shape[-2:]
    ix, iy = int(np.floor(x[0] + 0.5)), int(np.floor(y[0] + 0.5))
    if not (0 <= ix < nx and 0 <= iy < ny):
        return np.zeros(data.shape[:-2]).reshape(-1)
    return data[..., iy, ix].reshape(-1)


def bias_energy(kernel, bias: float) -> float:
    """Reconstructed energy (TeV) where the bias of an energy-dispersion matrix falls to ``bias``.

    Gammapy's ``EDispKernel.get_bias_energy``: the bias ``(<E_reco> - E_true) / E_true`` at
    the true-energy bin centres is inverted from its peak upwards (log-log template); the
    true energy found (or the peak energy) times ``1 + bias``.
    """
    matrix = kernel.to_dense()
    true_edges = kernel.energy_true_edges_tev
    reco_edges = kernel.energy_edges_tev
    energy_true = np.sqrt(true_edges[:-1] * true_edges[1:])
    reco_center = np.sqrt(reco_edges[:-1] * reco_edges[1:])
    norm = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nan_to_num((matrix * reco_center).sum(axis=1) / norm)
    values = (mean - energy_true) / energy_true
    energy_min = energy_true[np.nanargmax(values)]
    energy_max = energy_true[-1]
    found = template_inverse(energy_true, values, bias, energy_min, energy_max)
    if np.isnan(found):
        found = energy_min
    return float(found * (1 + bias))


def _bkg_spectrum_dl3(bkg):
    """Background rate integrated over the field of view, per energy bin (Gammapy's bkg-peak)."""
    energy_edges = bkg.axes["energy"].edges.to_value(u.TeV)
    data = np.asarray(bkg.data, dtype=float)
    if "offset" in bkg.axes.names:
        offset_axis = bkg.axes["offset"]
        values = data
        offset_edges = offset_axis.edges.to_value(u.deg)
    else:
        lon_axis = bkg.axes["fov_lon"]
        lat_axis = bkg.axes["fov_lat"]
        idx_lon = int(np.ravel(lon_axis.coord_to_idx(0 * u.deg))[0])
        idx_lat = int(np.ravel(lat_axis.coord_to_idx(0 * u.deg))[0])
        values = data[:, idx_lon:, idx_lat]
        offset_edges = lon_axis.edges.to_value(u.deg)[idx_lon:]
    centers = 0.5 * (offset_edges[:-1] + offset_edges[1:])
    widths = np.diff(offset_edges)
    spectrum = np.sum(values * widths * 2 * np.pi * centers, axis=1)
    return spectrum, energy_edges
