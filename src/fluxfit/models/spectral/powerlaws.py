"""Power-law spectral models.

Examples
--------
>>> import astropy.units as u
>>> from fluxfit.models import PowerLawSpectralModel
>>> pl = PowerLawSpectralModel(index=2, amplitude="1e-12 cm-2 s-1 TeV-1", reference=1 * u.TeV)
>>> pl(2 * u.TeV)
<Quantity 2.5e-13 1 / (TeV s cm2)>
"""

from __future__ import annotations

import numpy as np

from fluxfit.models.core import ParameterSpec, register_model
from fluxfit.models.spectral.core import SpectralModel

__all__ = ["PowerLawSpectralModel"]


def _pl_integral(energy_min, energy_max, amplitude, reference, index):
    """int_{emin}^{emax} A (E/E0)^-index dE, stable at index = 1."""
    one_minus = 1.0 - index
    log_ratio_max = np.log(energy_max / reference)
    log_ratio_min = np.log(energy_min / reference)
    # (x^(1-g) - y^(1-g)) / (1-g) written with expm1 so that 1-g -> 0 is exact.
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(
            np.abs(one_minus) > 1e-10,
            (np.exp(one_minus * log_ratio_max) - np.exp(one_minus * log_ratio_min)) / one_minus,
            log_ratio_max - log_ratio_min,
        )
    return amplitude * reference * term


@register_model
class PowerLawSpectralModel(SpectralModel):
    """Power law: ``dN/dE = amplitude * (E / reference)^-index``.

    Parameters
    ----------
    index : float
        Spectral index (positive for falling spectra, Gammapy convention).
    amplitude : `~astropy.units.Quantity`
        dN/dE at ``reference``, default 1e-12 cm-2 s-1 TeV-1.
    reference : `~astropy.units.Quantity`
        Reference energy (frozen), default 1 TeV.
    """

    tag = ("PowerLawSpectralModel", "pl")
    _parameter_specs = (
        ParameterSpec("index", 2.0),
        ParameterSpec("amplitude", 1e-12, "cm-2 s-1 TeV-1", is_norm=True, interp="log"),
        ParameterSpec("reference", 1.0, "TeV", frozen=True),
    )

    @staticmethod
    def evaluate(energy, index, amplitude, reference):
        return amplitude * np.exp(-index * np.log(energy / reference))

    @staticmethod
    def evaluate_integral(energy_min, energy_max, index, amplitude, reference):
        return _pl_integral(energy_min, energy_max, amplitude, reference, index)

    @staticmethod
    def evaluate_energy_flux(energy_min, energy_max, index, amplitude, reference):
        # E dN/dE = amplitude * reference * (E/reference)^-(index-1)
        return reference * _pl_integral(energy_min, energy_max, amplitude, reference, index - 1.0)
