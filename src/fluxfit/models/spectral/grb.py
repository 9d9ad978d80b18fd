"""Gamma-ray burst prompt-emission spectra: the Band function (astromodels' ``Band``).

Examples
--------
>>> import astropy.units as u
>>> from fluxfit.models import BandSpectralModel
>>> band = BandSpectralModel(K=0.02, alpha=-0.8, xp=300 * u.keV, beta=-2.3)
>>> band.parameters.names
['K', 'alpha', 'xp', 'beta', 'piv']
"""

from __future__ import annotations

import numpy as np

from fluxfit.models.core import ParameterSpec, register_model
from fluxfit.models.spectral.core import SpectralModel

__all__ = ["BandSpectralModel"]


@register_model
class BandSpectralModel(SpectralModel):
    """Band et al. (1993) function with the nuFnu peak energy, as astromodels' ``Band``.

    With ``E0 = xp / (2 + alpha)`` and the break ``Eb = (alpha - beta) * E0``::

        dN/dE = K (E/piv)^alpha exp(-E / E0)                                E <  Eb
        dN/dE = K ((alpha - beta) E0 / piv)^(alpha - beta) exp(beta - alpha) (E/piv)^beta
                                                                            E >= Eb

    ``alpha`` and ``beta`` are signed indices (e.g. -1 and -2); ``xp`` is the
    peak of E^2 dN/dE when ``beta < -2 < alpha``. As in astromodels, a parameter
    set with ``alpha < beta`` is evaluated with ``alpha = beta`` (then the
    spectrum is the power law ``K (E/piv)^beta``). The function and its first
    derivative are continuous at ``Eb``; integrals cut the bins there.

    Parameters
    ----------
    K : `~astropy.units.Quantity`
        dN/dE scale at ``piv``, default 1e-4 cm-2 s-1 keV-1 (min 1e-50).
    alpha : float
        Low-energy index, default -1 (bounds -1.5, 3).
    xp : `~astropy.units.Quantity`
        Peak energy of E^2 dN/dE, default 500 keV (min 10 keV).
    beta : float
        High-energy index, default -2 (bounds -5, -1.6).
    piv : `~astropy.units.Quantity`
        Pivot energy (frozen), default 100 keV.

    Examples
    --------
    >>> import astropy.units as u
    >>> from fluxfit.models import BandSpectralModel
    >>> band = BandSpectralModel(alpha=-0.7, xp=250 * u.keV, beta=-2.5)
    >>> eflux = band.energy_flux(10 * u.keV, 1 * u.MeV).to("erg cm-2 s-1")
    """

    tag = ("BandSpectralModel", "Band")
    _parameter_specs = (
        ParameterSpec(
            "K",
            1e-4,
            "cm-2 s-1 keV-1",
            canonical_unit="cm-2 s-1 TeV-1",
            min=1e-50,
            is_norm=True,
            interp="log",
        ),
        ParameterSpec("alpha", -1.0, min=-1.5, max=3.0),
        ParameterSpec("xp", 500.0, "keV", canonical_unit="TeV", min=10.0, interp="log"),
        ParameterSpec("beta", -2.0, min=-5.0, max=-1.6),
        ParameterSpec("piv", 100.0, "keV", canonical_unit="TeV", frozen=True),
    )

    @staticmethod
    def evaluate(energy, K, alpha, xp, beta, piv):
        e0 = xp / (2.0 + alpha)
        alpha = np.maximum(alpha, beta)
        diff = alpha - beta
        ebreak = diff * e0
        log_x = np.log(energy / piv)
        low = alpha * log_x - energy / e0
        with np.errstate(divide="ignore", invalid="ignore"):
            shift = np.where(diff > 0, diff * (np.log(ebreak / piv) - 1.0), 0.0)
        high = beta * log_x + shift
        return K * np.exp(np.where(energy < ebreak, low, high))

    def _parameter_breaks(self, overrides=None):
        values = self.canonical_values(overrides)
        alpha, beta, xp = values["alpha"], values["beta"], values["xp"]
        ebreak = np.maximum(alpha - beta, 0.0) * xp / (2.0 + alpha)
        return np.reshape(ebreak, (-1, 1))
