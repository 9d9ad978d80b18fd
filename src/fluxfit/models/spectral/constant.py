"""The constant spectrum.

Examples
--------
>>> import astropy.units as u
>>> from fluxfit.models import ConstantSpectralModel
>>> ConstantSpectralModel(const="2e-12 cm-2 s-1 TeV-1")(3 * u.TeV)
<Quantity 2.e-12 1 / (TeV s cm2)>
"""

from __future__ import annotations

import numpy as np

from fluxfit.models.core import ParameterSpec, register_model
from fluxfit.models.spectral.core import SpectralModel

__all__ = ["ConstantSpectralModel"]


@register_model
class ConstantSpectralModel(SpectralModel):
    """Constant: ``dN/dE = const``.

    Parameters
    ----------
    const : `~astropy.units.Quantity`
        Value, default 1e-12 cm-2 s-1 TeV-1.

    Examples
    --------
    >>> import astropy.units as u
    >>> from fluxfit.models import ConstantSpectralModel
    >>> model = ConstantSpectralModel(const="1e-12 cm-2 s-1 TeV-1")
    >>> model.integral(1 * u.TeV, 3 * u.TeV)
    <Quantity 2.e-12 1 / (s cm2)>
    """

    tag = ("ConstantSpectralModel", "const")
    _parameter_specs = (
        ParameterSpec("const", 1e-12, "cm-2 s-1 TeV-1", is_norm=True, interp="log"),
    )

    @staticmethod
    def evaluate(energy, const):
        return const * np.ones(np.shape(energy))

    @staticmethod
    def evaluate_integral(energy_min, energy_max, const):
        return const * (energy_max - energy_min)

    @staticmethod
    def evaluate_energy_flux(energy_min, energy_max, const):
        return 0.5 * const * (energy_max - energy_min) * (energy_max + energy_min)
