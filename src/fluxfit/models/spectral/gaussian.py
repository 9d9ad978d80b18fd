"""Line spectra: a Gaussian in energy.

Examples
--------
>>> import astropy.units as u
>>> from fluxfit.models import GaussianSpectralModel
>>> line = GaussianSpectralModel(amplitude="1e-3 cm-2 s-1", mean=6.4 * u.keV, sigma=0.1 * u.keV)
>>> round(float(line.integral(1 * u.keV, 20 * u.keV).value), 12)
0.001
"""

from __future__ import annotations

import numpy as np

from fluxfit.models.core import ParameterSpec, register_model
from fluxfit.models.spectral.core import SpectralModel

__all__ = ["GaussianSpectralModel"]

_SQRT2 = np.sqrt(2.0)
_SQRT2PI = np.sqrt(2.0 * np.pi)


def _erf_difference(low, high):
    """``erf(high) - erf(low)``, accurate also when both are deep in the same tail."""
    from scipy.special import erf, erfc

    return np.where(
        np.minimum(low, high) >= 0,
        erfc(low) - erfc(high),
        np.where(np.maximum(low, high) <= 0, erfc(-high) - erfc(-low), erf(high) - erf(low)),
    )


@register_model
class GaussianSpectralModel(SpectralModel):
    """Gaussian line: ``dN/dE = amplitude / (sigma sqrt(2 pi)) exp(-(E - mean)^2 / (2 sigma^2))``.

    ``amplitude`` is the total photon flux of the line (over all energies).
    Integrals and energy fluxes are closed forms (error functions, evaluated
    with ``erfc`` in the tails so that they keep their relative accuracy).

    Parameters
    ----------
    amplitude : `~astropy.units.Quantity`
        Total photon flux, default 1e-12 cm-2 s-1.
    mean : `~astropy.units.Quantity`
        Line energy, default 1 TeV.
    sigma : `~astropy.units.Quantity`
        Line width, default 2 TeV.

    Examples
    --------
    >>> import astropy.units as u
    >>> from fluxfit.models import GaussianSpectralModel
    >>> line = GaussianSpectralModel(amplitude="1e-12 cm-2 s-1", mean=2 * u.TeV, sigma=0.2 * u.TeV)
    >>> eflux = line.energy_flux(1 * u.TeV, 3 * u.TeV)
    """

    tag = ("GaussianSpectralModel", "gauss")
    _parameter_specs = (
        ParameterSpec("amplitude", 1e-12, "cm-2 s-1", is_norm=True, interp="log"),
        ParameterSpec("mean", 1.0, "TeV"),
        ParameterSpec("sigma", 2.0, "TeV"),
    )

    @staticmethod
    def evaluate(energy, amplitude, mean, sigma):
        scaled = (energy - mean) / sigma
        return amplitude / (_SQRT2PI * sigma) * np.exp(-0.5 * scaled * scaled)

    @staticmethod
    def evaluate_integral(energy_min, energy_max, amplitude, mean, sigma):
        low = (energy_min - mean) / (_SQRT2 * sigma)
        high = (energy_max - mean) / (_SQRT2 * sigma)
        return 0.5 * amplitude * _erf_difference(low, high)

    @staticmethod
    def evaluate_energy_flux(energy_min, energy_max, amplitude, mean, sigma):
        # int E f dE = mean * int f dE - sigma^2 [f]_{emin}^{emax}
        low = (energy_min - mean) / (_SQRT2 * sigma)
        high = (energy_max - mean) / (_SQRT2 * sigma)
        flux = 0.5 * amplitude * _erf_difference(low, high)
        edge = amplitude * sigma / _SQRT2PI * (np.exp(-low * low) - np.exp(-high * high))
        return mean * flux + edge
