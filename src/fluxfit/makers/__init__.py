"""fluxfit.makers: reduce DL3 observations to datasets (Gammapy 2.1's makers, faster).

- `make_empty_spectrum_dataset(geom, energy_axis_true)`: the template a reduction starts from.
- `SpectrumDatasetMaker`: counts, exposure, energy dispersion (and IRF background) in an ON
  region for one observation or time piece.
- `ReflectedRegionsBackgroundMaker` (`ReflectedRegionsFinder`, `WobbleRegionsFinder`): OFF
  regions rotated about the pointing, honouring an exclusion mask ->
  `~fluxfit.datasets.SpectrumDatasetOnOff`.
- `SafeMaskMaker`: aeff-max, aeff-default, edisp-bias, offset-max and bkg-peak safe ranges.
- `MapDatasetMaker`: counts cube, exposure, IRF background, PSF and dispersion maps;
  `FoVBackgroundMaker`: the background norm from the counts outside an exclusion mask.
- `SpectrumReduction` / `make_spectrum_datasets`: the three makers over many observations
  (time pieces of one run share their IRF work: read and evaluated once per run).

Examples
--------
>>> from fluxfit.makers import SafeMaskMaker, SpectrumDatasetMaker
>>> SpectrumDatasetMaker(selection=["counts"]).selection
['counts']
"""

from .core import IdentityCache, Maker
from .fov import FoVBackgroundMaker
from .map import MapDatasetMaker
from .reduce import SpectrumReduction, make_spectrum_datasets
from .reflected import (
    ReflectedRegionsBackgroundMaker,
    ReflectedRegionsFinder,
    RegionsFinder,
    WobbleRegionsFinder,
)
from .safe import SafeMaskMaker
from .spectrum import SpectrumDatasetMaker, dataset_geom, make_empty_spectrum_dataset

__all__ = [
    "FoVBackgroundMaker",
    "IdentityCache",
    "Maker",
    "MapDatasetMaker",
    "ReflectedRegionsBackgroundMaker",
    "ReflectedRegionsFinder",
    "RegionsFinder",
    "SafeMaskMaker",
    "SpectrumDatasetMaker",
    "SpectrumReduction",
    "WobbleRegionsFinder",
    "dataset_geom",
    "make_empty_spectrum_dataset",
    "make_spectrum_datasets",
]
