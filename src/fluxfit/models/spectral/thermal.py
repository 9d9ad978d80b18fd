"""Thermal spectra: the blackbody photon spectrum (astromodels' ``Blackbody``).

Examples
--------
>>> import astropy.units as u
>>> from fluxfit.models import BlackbodySpectralModel
>>> bb = BlackbodySpectralModel(K=5e-8, kT=500 * u.keV)
>>> bb.kT.quantity
<Quantity 500. keV>
"""

from __future__ import annotations

import numpy as np

from fluxfit.models.core import ParameterSpec, register_model
from fluxfit.models.spectral.core import SpectralModel

__all__ = ["BlackbodySpectralModel"]


@register_model
class BlackbodySpectralModel(SpectralModel):
    """Blackbody photon spectrum, as astromodels' ``Blackbody``.

    ``dN/dE = K * E^2 / (exp(E / kT) - 1)``

    Evaluated with ``expm1`` (exact for ``E << kT``, where dN/dE -> K E kT); for
    ``E >> kT`` the value underflows to exactly 0 without floating-point warnings.

    Parameters
    ----------
    K : `~astropy.units.Quantity`
        Normalisation, default 1e-4 cm-2 s-1 keV-3 (min 0).
    kT : `~astropy.units.Quantity`
        Temperature, default 30 keV (min 0).

    Examples
    --------
    The first source of the 3ML multiple-sources tutorial:

    >>> import astropy.units as u
    >>> from fluxfit.models import BlackbodySpectralModel
    >>> src1 = BlackbodySpectralModel(K=5e-8, kT=500 * u.keV)
    >>> dnde = src1([10, 100, 1000] * u.keV).to("cm-2 s-1 keV-1")
    >>> flux = src1.integral(10 * u.keV, 500 * u.keV)
    """

    tag = ("BlackbodySpectralModel", "Blackbody")
    _parameter_specs = (
        ParameterSpec(
            "K",
            1e-4,
            "cm-2 s-1 keV-3",
            canonical_unit="cm-2 s-1 TeV-3",
            min=0.0,
            is_norm=True,
            interp="log",
        ),
        ParameterSpec("kT", 30.0, "keV", canonical_unit="TeV", min=0.0),
    )

    @staticmethod
    def evaluate(energy, K, kT):
        # K E^2 / expm1(E / kT) in one buffer: the large temporaries of the plain
        # expression cost more than the arithmetic (see bench/RESULTS.md).
        out = np.empty(np.broadcast_shapes(np.shape(energy), np.shape(K), np.shape(kT)))
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            np.divide(energy, kT, out=out)
            np.expm1(out, out=out)  # inf for E >> kT: the result is then exactly 0
            np.divide(K, out, out=out)
        out *= energy
        out *= energy
        return out
