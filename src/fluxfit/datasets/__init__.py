"""fluxfit.datasets

OGIP spectra and responses (`fluxfit.datasets.ogip`): read_ogip, read_pha, read_arf,
read_rmf and the matching writers, returning plain containers.
"""

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

__all__ = [
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
