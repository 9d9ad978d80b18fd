"""Spectral models: photon spectra dN/dE (see `fluxfit.models.spectral.core`).

Class and YAML type names follow Gammapy (``PowerLawSpectralModel``...) and,
for the models of astromodels/3ML, accept astromodels' names as YAML aliases
(``Blackbody``, ``Powerlaw_flux``, ``Band``) with their parameter names.
"""

from fluxfit.models.spectral.constant import ConstantSpectralModel
from fluxfit.models.spectral.core import (
    DNDE_UNIT,
    EFLUX_UNIT,
    ENERGY_UNIT,
    FLUX_UNIT,
    CompoundSpectralModel,
    NormSpectralModel,
    SpectralModel,
    energy_to_array,
)
from fluxfit.models.spectral.curved import (
    ExpCutoffPowerLawSpectralModel,
    LogParabola10SpectralModel,
    LogParabolaSpectralModel,
    SuperExpCutoffPowerLaw4FGLDR3SpectralModel,
)
from fluxfit.models.spectral.gaussian import GaussianSpectralModel
from fluxfit.models.spectral.grb import BandSpectralModel
from fluxfit.models.spectral.integrate import LogQuadrature, SimpsonQuadrature
from fluxfit.models.spectral.norms import LogParabolaNormSpectralModel, PowerLawNormSpectralModel
from fluxfit.models.spectral.powerlaws import (
    BrokenPowerLawSpectralModel,
    PowerLaw2SpectralModel,
    PowerLawFluxSpectralModel,
    PowerLawSpectralModel,
    SmoothBrokenPowerLawSpectralModel,
)
from fluxfit.models.spectral.template import TemplateSpectralModel
from fluxfit.models.spectral.thermal import BlackbodySpectralModel

__all__ = [
    "DNDE_UNIT",
    "EFLUX_UNIT",
    "ENERGY_UNIT",
    "FLUX_UNIT",
    "BandSpectralModel",
    "BlackbodySpectralModel",
    "BrokenPowerLawSpectralModel",
    "CompoundSpectralModel",
    "ConstantSpectralModel",
    "ExpCutoffPowerLawSpectralModel",
    "GaussianSpectralModel",
    "LogParabola10SpectralModel",
    "LogParabolaNormSpectralModel",
    "LogParabolaSpectralModel",
    "LogQuadrature",
    "NormSpectralModel",
    "PowerLaw2SpectralModel",
    "PowerLawFluxSpectralModel",
    "PowerLawNormSpectralModel",
    "PowerLawSpectralModel",
    "SimpsonQuadrature",
    "SmoothBrokenPowerLawSpectralModel",
    "SpectralModel",
    "SuperExpCutoffPowerLaw4FGLDR3SpectralModel",
    "TemplateSpectralModel",
    "energy_to_array",
]
