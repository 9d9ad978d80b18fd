"""Norm spectral models: dimensionless corrections applied to templates and backgrounds.

They return pure numbers (`~fluxfit.models.spectral.core.NormSpectralModel`):
``TemplateSpectralModel(...) * PowerLawNormSpectralModel()`` is a photon
spectrum, and `~fluxfit.models.FoVBackgroundModel` multiplies one onto a
dataset's background.

Examples
--------
>>> import astropy.units as u
>>> from fluxfit.models import PowerLawNormSpectralModel
>>> norm = PowerLawNormSpectralModel(norm=1.2, tilt=0.1)
>>> norm(1 * u.TeV)
<Quantity 1.2>
"""

from __future__ import annotations

import numpy as np

from fluxfit.models.core import ParameterSpec, register_model
from fluxfit.models.spectral.core import NormSpectralModel
from fluxfit.models.spectral.powerlaws import power_law_integral, scaled_power

__all__ = ["PowerLawNormSpectralModel", "LogParabolaNormSpectralModel"]


@register_model
class PowerLawNormSpectralModel(NormSpectralModel):
    """Power-law correction: ``norm * (E / reference)^-tilt`` (dimensionless, Gammapy).

    Parameters
    ----------
    norm : float
        Normalisation, default 1.
    tilt : float
        Spectral tilt, default 0 (frozen).
    reference : `~astropy.units.Quantity`
        Reference energy (frozen), default 1 TeV.

    Examples
    --------
    >>> import astropy.units as u
    >>> from fluxfit.models import PowerLawNormSpectralModel, TemplateSpectralModel
    >>> template = TemplateSpectralModel([1, 10, 100] * u.TeV, [1e-11, 1e-13, 1e-15] * u.Unit("cm-2 s-1 TeV-1"))
    >>> model = template * PowerLawNormSpectralModel(norm=2)
    >>> model(10 * u.TeV)
    <Quantity 2.e-13 1 / (TeV s cm2)>
    """

    tag = ("PowerLawNormSpectralModel", "pl-norm")
    _parameter_specs = (
        ParameterSpec("norm", 1.0, "", is_norm=True, interp="log"),
        ParameterSpec("tilt", 0.0, frozen=True),
        ParameterSpec("reference", 1.0, "TeV", frozen=True),
    )

    @staticmethod
    def evaluate(energy, norm, tilt, reference):
        return scaled_power(energy, reference, -tilt, norm)

    @staticmethod
    def evaluate_integral(energy_min, energy_max, norm, tilt, reference):
        return norm * power_law_integral(energy_min, energy_max, reference, tilt)

    @staticmethod
    def evaluate_energy_flux(energy_min, energy_max, norm, tilt, reference):
        return norm * reference * power_law_integral(energy_min, energy_max, reference, tilt - 1.0)


@register_model
class LogParabolaNormSpectralModel(NormSpectralModel):
    """Log-parabola correction (dimensionless, Gammapy >= 1.2 defaults).

    ``norm * (E / reference)^(-alpha - beta * ln(E / reference))``

    Parameters
    ----------
    norm : float
        Normalisation, default 1.
    reference : `~astropy.units.Quantity`
        Reference energy (frozen), default 10 TeV.
    alpha, beta : float
        Index and curvature (natural log), default 0 (the identity).

    Examples
    --------
    >>> import astropy.units as u
    >>> from fluxfit.models import LogParabolaNormSpectralModel
    >>> correction = LogParabolaNormSpectralModel(alpha=0.1, beta=0.05, reference=1 * u.TeV)
    >>> values = correction([0.1, 1, 10] * u.TeV)
    """

    tag = ("LogParabolaNormSpectralModel", "lp-norm")
    _parameter_specs = (
        ParameterSpec("norm", 1.0, "", is_norm=True, interp="log"),
        ParameterSpec("reference", 10.0, "TeV", frozen=True),
        ParameterSpec("alpha", 0.0),
        ParameterSpec("beta", 0.0),
    )

    @staticmethod
    def evaluate(energy, norm, reference, alpha, beta):
        log_x = np.log(energy / reference)
        return norm * np.exp(-(alpha + beta * log_x) * log_x)
