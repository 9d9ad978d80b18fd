"""Power-law spectral models: plain, integral-normalised, broken and smoothly broken.

`PowerLaw2SpectralModel` (Gammapy names, positive index for falling spectra)
and `PowerLawFluxSpectralModel` (astromodels' ``Powerlaw_flux``: ``F, index,
a, b``, signed index, keV bounds) are the same shape normalised by the photon
flux in a band; two classes keep both communities' parameter names and sign
conventions exact, so that YAML files and scripts of either read unchanged.

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

__all__ = [
    "PowerLawSpectralModel",
    "PowerLaw2SpectralModel",
    "PowerLawFluxSpectralModel",
    "BrokenPowerLawSpectralModel",
    "SmoothBrokenPowerLawSpectralModel",
    "power_law_integral",
    "scaled_power",
]


def scaled_power(energy, reference, index, scale):
    """``scale * (energy / reference)^index`` in one buffer (the hot path of power laws).

    Computed as ``exp(index * ln(energy / reference))`` with in-place operations:
    one allocation of the broadcast shape of all arguments.
    """
    shape = np.broadcast_shapes(
        np.shape(energy), np.shape(reference), np.shape(index), np.shape(scale)
    )
    out = np.empty(shape)
    np.divide(energy, reference, out=out)
    np.log(out, out=out)
    np.multiply(out, index, out=out)
    np.exp(out, out=out)
    np.multiply(out, scale, out=out)
    return out


def power_law_integral(energy_min, energy_max, reference, index):
    """``int_{emin}^{emax} (E / reference)^-index dE``, exact for any index.

    Written as ``reference * x1^a * expm1(a ln(x2 / x1)) / a`` with ``a = 1 - index``
    and ``x = E / reference``, so that there is no cancellation for narrow bins
    nor near ``index = 1`` (where the integral is ``reference * ln(x2 / x1)``).
    Broadcasts over all arguments (e.g. a batch of indices of shape (k, 1)).
    """
    one_minus = 1.0 - index
    log_min = np.log(energy_min / reference)
    log_ratio = np.log1p((energy_max - energy_min) / energy_min)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scaled = one_minus * log_ratio
        factor = np.where(one_minus == 0, log_ratio, np.expm1(scaled) / one_minus)
        return reference * np.exp(one_minus * log_min) * factor


@register_model
class PowerLawSpectralModel(SpectralModel):
    """Power law: ``dN/dE = amplitude * (E / reference)^-index``.

    Parameters
    ----------
    index : float
        Spectral index (positive for falling spectra, Gammapy convention), default 2.
    amplitude : `~astropy.units.Quantity`
        dN/dE at ``reference``, default 1e-12 cm-2 s-1 TeV-1.
    reference : `~astropy.units.Quantity`
        Reference energy (frozen), default 1 TeV.

    Examples
    --------
    >>> import astropy.units as u
    >>> from fluxfit.models import PowerLawSpectralModel
    >>> model = PowerLawSpectralModel(index=2.3, amplitude="3e-11 cm-2 s-1 TeV-1")
    >>> flux = model.integral(1 * u.TeV, 10 * u.TeV)   # closed form, cm-2 s-1
    """

    tag = ("PowerLawSpectralModel", "pl")
    _parameter_specs = (
        ParameterSpec("index", 2.0),
        ParameterSpec("amplitude", 1e-12, "cm-2 s-1 TeV-1", is_norm=True, interp="log"),
        ParameterSpec("reference", 1.0, "TeV", frozen=True),
    )

    @staticmethod
    def evaluate(energy, index, amplitude, reference):
        return scaled_power(energy, reference, -index, amplitude)

    @staticmethod
    def evaluate_integral(energy_min, energy_max, index, amplitude, reference):
        return amplitude * power_law_integral(energy_min, energy_max, reference, index)

    @staticmethod
    def evaluate_energy_flux(energy_min, energy_max, index, amplitude, reference):
        # E dN/dE = amplitude * reference * (E/reference)^-(index-1)
        return (
            amplitude
            * reference
            * power_law_integral(energy_min, energy_max, reference, index - 1.0)
        )


@register_model
class PowerLaw2SpectralModel(SpectralModel):
    """Power law normalised by its photon flux between ``emin`` and ``emax`` (Gammapy).

    ``dN/dE = amplitude * (1 - index) / (emax^(1-index) - emin^(1-index)) * E^-index``

    (with the limit ``amplitude / (E ln(emax / emin))`` at ``index = 1``).

    Parameters
    ----------
    amplitude : `~astropy.units.Quantity`
        Photon flux between ``emin`` and ``emax``, default 1e-12 cm-2 s-1.
    index : float
        Spectral index, positive for falling spectra, default 2.
    emin, emax : `~astropy.units.Quantity`
        Band of ``amplitude`` (frozen), default 0.1 TeV and 100 TeV.

    See Also
    --------
    PowerLawFluxSpectralModel : the same with astromodels' names and signed index.

    Examples
    --------
    >>> import astropy.units as u
    >>> from fluxfit.models import PowerLaw2SpectralModel
    >>> model = PowerLaw2SpectralModel(amplitude="2e-11 cm-2 s-1", index=2.5,
    ...                                emin=1 * u.TeV, emax=10 * u.TeV)
    >>> round(float(model.integral(1 * u.TeV, 10 * u.TeV).value), 20)
    2e-11
    """

    tag = ("PowerLaw2SpectralModel", "pl-2")
    _parameter_specs = (
        ParameterSpec("amplitude", 1e-12, "cm-2 s-1", is_norm=True, interp="log"),
        ParameterSpec("index", 2.0),
        ParameterSpec("emin", 0.1, "TeV", frozen=True),
        ParameterSpec("emax", 100.0, "TeV", frozen=True),
    )

    @staticmethod
    def evaluate(energy, amplitude, index, emin, emax):
        norm = power_law_integral(emin, emax, emax, index)
        return scaled_power(energy, emax, -index, amplitude / norm)

    @staticmethod
    def evaluate_integral(energy_min, energy_max, amplitude, index, emin, emax):
        band = power_law_integral(energy_min, energy_max, emax, index)
        return amplitude * band / power_law_integral(emin, emax, emax, index)

    @staticmethod
    def evaluate_energy_flux(energy_min, energy_max, amplitude, index, emin, emax):
        band = emax * power_law_integral(energy_min, energy_max, emax, index - 1.0)
        return amplitude * band / power_law_integral(emin, emax, emax, index)


@register_model
class PowerLawFluxSpectralModel(SpectralModel):
    """Power law normalised by its photon flux between ``a`` and ``b`` (astromodels).

    The same function as astromodels' ``Powerlaw_flux``, with its parameter
    names, signed index and defaults::

        dN/dE = F * (index + 1) / (b^(index+1) - a^(index+1)) * E^index

    (with the limit ``F / (E ln(b / a))`` at ``index = -1``).

    Parameters
    ----------
    F : `~astropy.units.Quantity`
        Photon flux between ``a`` and ``b``, default 1 cm-2 s-1 (bounds 1e-30, 1e3).
    index : float
        Photon index, *negative* for falling spectra, default -2 (bounds -10, 10).
    a, b : `~astropy.units.Quantity`
        Band of ``F`` (frozen), default 1 keV and 100 keV.

    Examples
    --------
    The second component of the 3ML multiple-sources tutorial:

    >>> import astropy.units as u
    >>> from fluxfit.models import BlackbodySpectralModel, PowerLawFluxSpectralModel
    >>> model = BlackbodySpectralModel() + PowerLawFluxSpectralModel(a=10 * u.keV, b=500 * u.keV)
    >>> model.parameters.names
    ['K_1', 'kT_1', 'F_2', 'index_2', 'a_2', 'b_2']
    """

    tag = ("PowerLawFluxSpectralModel", "Powerlaw_flux")
    _parameter_specs = (
        ParameterSpec(
            "F", 1.0, "cm-2 s-1", min=1e-30, max=1e3, is_norm=True, interp="log", transform="log"
        ),
        ParameterSpec("index", -2.0, min=-10.0, max=10.0),
        ParameterSpec("a", 1.0, "keV", canonical_unit="TeV", frozen=True),
        ParameterSpec("b", 100.0, "keV", canonical_unit="TeV", frozen=True),
    )

    @staticmethod
    def evaluate(energy, F, index, a, b):
        norm = power_law_integral(a, b, b, -index)
        return scaled_power(energy, b, index, F / norm)

    @staticmethod
    def evaluate_integral(energy_min, energy_max, F, index, a, b):
        return (
            F
            * power_law_integral(energy_min, energy_max, b, -index)
            / power_law_integral(a, b, b, -index)
        )

    @staticmethod
    def evaluate_energy_flux(energy_min, energy_max, F, index, a, b):
        band = b * power_law_integral(energy_min, energy_max, b, -index - 1.0)
        return F * band / power_law_integral(a, b, b, -index)


@register_model
class BrokenPowerLawSpectralModel(SpectralModel):
    """Broken power law (Gammapy).

    ``dN/dE = amplitude * (E / ebreak)^-index1`` for ``E < ebreak``, and
    ``amplitude * (E / ebreak)^-index2`` above.

    Parameters
    ----------
    index1, index2 : float
        Indices below and above the break (positive for falling), default 2.
    amplitude : `~astropy.units.Quantity`
        dN/dE at ``ebreak``, default 1e-12 cm-2 s-1 TeV-1.
    ebreak : `~astropy.units.Quantity`
        Break energy, default 1 TeV.

    Examples
    --------
    >>> import astropy.units as u
    >>> from fluxfit.models import BrokenPowerLawSpectralModel
    >>> model = BrokenPowerLawSpectralModel(index1=1.5, index2=3, ebreak=2 * u.TeV)
    >>> flux = model.integral(1 * u.TeV, 10 * u.TeV)   # closed form across the break
    """

    tag = ("BrokenPowerLawSpectralModel", "bpl")
    _parameter_specs = (
        ParameterSpec("index1", 2.0),
        ParameterSpec("index2", 2.0),
        ParameterSpec("amplitude", 1e-12, "cm-2 s-1 TeV-1", is_norm=True, interp="log"),
        ParameterSpec("ebreak", 1.0, "TeV"),
    )

    @staticmethod
    def evaluate(energy, index1, index2, amplitude, ebreak):
        log_x = np.log(energy / ebreak)
        index = np.where(energy < ebreak, index1, index2)
        return amplitude * np.exp(-index * log_x)

    @staticmethod
    def _integral(energy_min, energy_max, index1, index2, amplitude, ebreak):
        below = power_law_integral(
            np.minimum(energy_min, ebreak), np.minimum(energy_max, ebreak), ebreak, index1
        )
        above = power_law_integral(
            np.maximum(energy_min, ebreak), np.maximum(energy_max, ebreak), ebreak, index2
        )
        return amplitude * (below + above)

    @staticmethod
    def evaluate_integral(energy_min, energy_max, index1, index2, amplitude, ebreak):
        return BrokenPowerLawSpectralModel._integral(
            energy_min, energy_max, index1, index2, amplitude, ebreak
        )

    @staticmethod
    def evaluate_energy_flux(energy_min, energy_max, index1, index2, amplitude, ebreak):
        return ebreak * BrokenPowerLawSpectralModel._integral(
            energy_min, energy_max, index1 - 1.0, index2 - 1.0, amplitude, ebreak
        )

    def _parameter_breaks(self, overrides=None):
        ebreak = self.canonical_values(overrides)["ebreak"]
        return np.reshape(ebreak, (-1, 1))


@register_model
class SmoothBrokenPowerLawSpectralModel(SpectralModel):
    """Smoothly broken power law (Gammapy).

    ``dN/dE = amplitude * (E / reference)^-index1 * (1 + (E / ebreak)^((index2 - index1) / b))^-b``

    with ``b = beta * sign(index2 - index1)``. At ``index1 == index2`` the sign
    is taken as +1 (the spectrum is then ``2^-beta`` times a power law) instead of
    Gammapy's NaN. Evaluated in log space, so it never overflows.

    Parameters
    ----------
    index1, index2 : float
        Indices well below and well above the break, default 2.
    amplitude : `~astropy.units.Quantity`
        Default 1e-12 cm-2 s-1 TeV-1.
    ebreak : `~astropy.units.Quantity`
        Break energy, default 1 TeV.
    reference : `~astropy.units.Quantity`
        Reference energy (frozen), default 1 TeV.
    beta : float
        Smoothness (> 0; small is sharp), default 1, frozen.

    Examples
    --------
    >>> import astropy.units as u
    >>> from fluxfit.models import SmoothBrokenPowerLawSpectralModel
    >>> model = SmoothBrokenPowerLawSpectralModel(index1=1.8, index2=3.2, ebreak=0.5 * u.TeV)
    >>> dnde = model([0.1, 1, 10] * u.TeV)
    """

    tag = ("SmoothBrokenPowerLawSpectralModel", "sbpl")
    _parameter_specs = (
        ParameterSpec("index1", 2.0),
        ParameterSpec("index2", 2.0),
        ParameterSpec("amplitude", 1e-12, "cm-2 s-1 TeV-1", is_norm=True, interp="log"),
        ParameterSpec("ebreak", 1.0, "TeV"),
        ParameterSpec("reference", 1.0, "TeV", frozen=True),
        ParameterSpec("beta", 1.0, frozen=True),
    )

    @staticmethod
    def evaluate(energy, index1, index2, amplitude, ebreak, reference, beta):
        smooth = beta * np.where(index2 >= index1, 1.0, -1.0)
        slope = (index2 - index1) / smooth
        log_break = np.logaddexp(0.0, slope * np.log(energy / ebreak))
        return amplitude * np.exp(-index1 * np.log(energy / reference) - smooth * log_break)
