"""Reduce many observations (or time pieces) to ON/OFF spectra in one call.

`SpectrumReduction` chains `SpectrumDatasetMaker`, a background maker and a
`SafeMaskMaker` over observations. The makers keep what depends only on a run's IRFs and
pointing (exposure per second, dispersion matrix, OFF regions) in their caches, so the time
pieces of one run cost one IRF evaluation and, per piece, only the event selection and
binning. Files are read once per run (the pieces share the run's data).

Examples
--------
>>> import astropy.units as u
>>> from astropy.coordinates import SkyCoord
>>> from regions import CircleSkyRegion
>>> from fluxfit.maps import MapAxis, RegionGeom
>>> from fluxfit.makers import SpectrumReduction
>>> region = CircleSkyRegion(SkyCoord(329.717, -30.226, unit="deg"), radius=0.11 * u.deg)
>>> geom = RegionGeom.create(region, axes=[MapAxis.from_energy_bounds("0.4 TeV", "20 TeV", 10)])
>>> reduction = SpectrumReduction(
...     geom, MapAxis.from_energy_bounds("0.1 TeV", "40 TeV", 20, name="energy_true"))
>>> # datasets = reduction.run(observations.select_time(time_intervals))
"""

from __future__ import annotations

import logging

from fluxfit.datasets import Datasets
from fluxfit.errors import DatasetError
from fluxfit.utils import progress

from .reflected import ReflectedRegionsBackgroundMaker
from .safe import SafeMaskMaker
from .spectrum import SpectrumDatasetMaker, make_empty_spectrum_dataset

__all__ = ["SpectrumReduction", "make_spectrum_datasets", "DEFAULT_NAME_FORMAT"]

log = logging.getLogger(__name__)

#: Default dataset names: position in the list and observation id (``ds03_obs33788``).
DEFAULT_NAME_FORMAT = "ds{index:02d}_obs{obs_id}"


class SpectrumReduction:
    """ON/OFF spectra of many observations with one set of makers.

    Parameters
    ----------
    geom : `~fluxfit.maps.RegionGeom`
        ON region with the reconstructed-energy axis.
    energy_axis_true : `~fluxfit.maps.MapAxis`
        True-energy bins.
    dataset_maker : `SpectrumDatasetMaker`, optional
        Default: containment correction, counts, exposure and edisp (seed 003's choice).
    background_maker : maker, optional
        Default `ReflectedRegionsBackgroundMaker()`; None-like ``False`` skips it (spectra
        then keep the IRF background, if the dataset maker made one).
    safe_mask_maker : `SafeMaskMaker`, optional
        Default ``SafeMaskMaker(methods=["aeff-max"], aeff_percent=10)``; ``False`` skips it.
    """

    def __init__(
        self,
        geom,
        energy_axis_true,
        dataset_maker=None,
        background_maker=None,
        safe_mask_maker=None,
    ):
        self.geom = geom
        self.energy_axis_true = energy_axis_true
        self.dataset_maker = dataset_maker or SpectrumDatasetMaker(
            containment_correction=True, selection=["counts", "exposure", "edisp"]
        )
        if background_maker is None:
            background_maker = ReflectedRegionsBackgroundMaker()
        self.background_maker = background_maker or None
        if safe_mask_maker is None:
            safe_mask_maker = SafeMaskMaker(methods=["aeff-max"], aeff_percent=10)
        self.safe_mask_maker = safe_mask_maker or None
        self._empty = make_empty_spectrum_dataset(geom, energy_axis_true, name="empty")

    def run_one(self, observation, name: str):
        """The reduced dataset of one observation or time piece."""
        dataset = self.dataset_maker.run(self._empty.copy(name=name), observation)
        if self.background_maker is not None:
            dataset = self.background_maker.run(dataset, observation)
        if self.safe_mask_maker is not None:
            dataset = self.safe_mask_maker.run(dataset, observation)
        return dataset

    def run(self, observations, names=None) -> Datasets:
        """`~fluxfit.datasets.Datasets` of the observations, in their order.

        Parameters
        ----------
        observations : `~fluxfit.data.Observations` or list of `~fluxfit.data.Observation`
        names : list of str or str, optional
            Dataset names, or a format string with ``{index}`` and ``{obs_id}``
            (default `DEFAULT_NAME_FORMAT`).
        """
        observations = list(observations)
        names = _dataset_names(observations, names)
        pairs = progress(zip(observations, names), total=len(observations), desc="reduction")
        return Datasets([self.run_one(obs, name) for obs, name in pairs])


def _dataset_names(observations, names) -> list[str]:
    if names is None:
        names = DEFAULT_NAME_FORMAT
    if isinstance(names, str):
        names = [names.format(index=i, obs_id=o.obs_id) for i, o in enumerate(observations)]
    names = list(names)
    if len(names) != len(observations):
        raise DatasetError(
            f"make_spectrum_datasets: {len(names)} names for {len(observations)} observations"
        )
    if len(set(names)) != len(names):
        raise DatasetError("make_spectrum_datasets: dataset names must be unique")
    return names


def make_spectrum_datasets(
    observations,
    geom,
    energy_axis_true,
    dataset_maker=None,
    background_maker=None,
    safe_mask_maker=None,
    names=None,
) -> Datasets:
    """Reduce observations to ON/OFF spectra (see `SpectrumReduction`).

    Examples
    --------
    >>> from fluxfit.makers import make_spectrum_datasets
    >>> # datasets = make_spectrum_datasets(pieces, geom, energy_axis_true)
    """
    reduction = SpectrumReduction(
        geom,
        energy_axis_true,
        dataset_maker=dataset_maker,
        background_maker=background_maker,
        safe_mask_maker=safe_mask_maker,
    )
    return reduction.run(observations, names=names)
