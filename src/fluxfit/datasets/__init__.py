"""fluxfit.datasets: spectral datasets, the joint likelihood (`Datasets`), and I/O.

OGIP spectra and responses (`fluxfit.datasets.ogip`): read_ogip, read_pha, read_arf,
read_rmf and the matching writers, returning plain containers.
"""

from fluxfit.datasets.core import Dataset, Datasets
from fluxfit.datasets.flux_points import FluxPoints
from fluxfit.datasets.flux_points_dataset import FluxPointsDataset
from fluxfit.datasets.io import read_datasets, register_dataset_io, write_datasets
from fluxfit.datasets.map import MapDataset
from fluxfit.datasets.ogip import (
    ARF,
    RMF,
    EnergyBounds,
    GoodTimeIntervals,
    OGIPSpectrumBundle,
    PHASpectrum,
    read_arf,
    read_ogip,
    read_pha,
    read_rmf,
    write_arf,
    write_background,
    write_ogip,
    write_pha,
    write_rmf,
)
from fluxfit.datasets.spectrum import SpectrumDataset
from fluxfit.datasets.spectrum_onoff import SpectrumDatasetOnOff

__all__ = [
    "MapDataset",
    "read_datasets",
    "register_dataset_io",
    "write_datasets",
    "FluxPoints",
    "FluxPointsDataset",
    "Dataset",
    "Datasets",
    "SpectrumDataset",
    "SpectrumDatasetOnOff",
    "ARF",
    "RMF",
    "EnergyBounds",
    "GoodTimeIntervals",
    "OGIPSpectrumBundle",
    "PHASpectrum",
    "read_arf",
    "read_ogip",
    "read_pha",
    "read_rmf",
    "write_arf",
    "write_background",
    "write_ogip",
    "write_pha",
    "write_rmf",
]
