"""Spectral models: photon spectra dN/dE (see `fluxfit.models.spectral.core`)."""

from fluxfit.models.spectral.core import (
    DNDE_UNIT,
    EFLUX_UNIT,
    ENERGY_UNIT,
    FLUX_UNIT,
    CompoundSpectralModel,
    SpectralModel,
    energy_to_array,
)
from fluxfit.models.spectral.integrate import LogQuadrature, SimpsonQuadrature
from fluxfit.models.spectral.powerlaws import PowerLawSpectralModel

__all__ = [
    "DNDE_UNIT",
    "EFLUX_UNIT",
    "ENERGY_UNIT",
    "FLUX_UNIT",
    "CompoundSpectralModel",
    "LogQuadrature",
    "PowerLawSpectralModel",
    "SimpsonQuadrature",
    "SpectralModel",
    "energy_to_array",
]
