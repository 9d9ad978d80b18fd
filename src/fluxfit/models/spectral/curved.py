"""Curved spectra: log-parabolas and power laws with (super-)exponential cutoffs.

Examples
--------
>>> import astropy.units as u
>>> from fluxfit.models import LogParabolaSpectralModel
>>> lp = LogParabolaSpectralModel(alpha=2.3, beta=0.1, reference=1 * u.TeV)
>>> float(lp(1 * u.TeV).value)
1e-12
"""

from __future__ import annotations

import numpy as np

from fluxfit.models.core import ParameterSpec, register_model
from fluxfit.models.spectral.core import SpectralModel

__all__ = [
    "LogParabolaSpectralModel",
    "LogParabola10SpectralModel",
    "ExpCutoffPowerLawSpectralModel",
    "SuperExpCutoffPowerLaw4FGLDR3SpectralModel",
]

_LN10 = np.log(10.0)


@register_model
class LogParabolaSpectralModel(SpectralModel):
    """Log-parabola with the natural logarithm (Gammapy, Fermi-LAT convention).

    ``dN/dE = amplitude * (E / reference)^(-alpha - beta * ln(E / reference))``

    Parameters
    ----------
    amplitude : `~astropy.units.Quantity`
        dN/dE at ``reference``, default 1e-12 cm-2 s-1 TeV-1.
    reference : `~astropy.units.Quantity`
        Reference energy (frozen), default 10 TeV.
    alpha : float
        Index at ``reference``, default 2.
    beta : float
        Curvature (natural-log convention), default 1.

    See Also
    --------
    LogParabola10SpectralModel : the same with ``log10`` in the exponent.

    Examples
    --------
    >>> import astropy.units as u
    >>> from fluxfit.models import LogParabolaSpectralModel
    >>> model = LogParabolaSpectralModel.from_log10(
    ...     amplitude="3.8e-11 cm-2 s-1 TeV-1", reference=1 * u.TeV, alpha=2.47, beta=0.24)
    >>> round(model.beta.value, 4)   # 0.24 / ln(10)
    0.1042
    """

    tag = ("LogParabolaSpectralModel", "lp")
    _parameter_specs = (
        ParameterSpec("amplitude", 1e-12, "cm-2 s-1 TeV-1", is_norm=True, interp="log"),
        ParameterSpec("reference", 10.0, "TeV", frozen=True),
        ParameterSpec("alpha", 2.0),
        ParameterSpec("beta", 1.0),
    )

    @classmethod
    def from_log10(cls, amplitude=None, reference=None, alpha=None, beta=None):
        """Build from the ``log10`` parametrisation (``beta_ln = beta_log10 / ln 10``)."""
        kwargs = {"amplitude": amplitude, "reference": reference, "alpha": alpha}
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        if beta is not None:
            kwargs["beta"] = beta / _LN10
        return cls(**kwargs)

    @staticmethod
    def evaluate(energy, amplitude, reference, alpha, beta):
        log_x = np.log(energy / reference)
        return amplitude * np.exp(-(alpha + beta * log_x) * log_x)


@register_model
class LogParabola10SpectralModel(SpectralModel):
    """Log-parabola with the base-10 logarithm in the exponent (H.E.S.S./MAGIC convention).

    ``dN/dE = amplitude * (E / reference)^(-alpha - beta * log10(E / reference))``

    Its ``beta`` is ``ln(10)`` times the ``beta`` of `LogParabolaSpectralModel`.

    Parameters
    ----------
    amplitude : `~astropy.units.Quantity`
        dN/dE at ``reference``, default 1e-12 cm-2 s-1 TeV-1.
    reference : `~astropy.units.Quantity`
        Reference energy (frozen), default 10 TeV.
    alpha : float
        Index at ``reference``, default 2.
    beta : float
        Curvature (log10 convention), default 1.

    Examples
    --------
    >>> import astropy.units as u
    >>> from fluxfit.models import LogParabola10SpectralModel
    >>> model = LogParabola10SpectralModel(alpha=2.47, beta=0.24, reference=1 * u.TeV)
    >>> dnde = model([0.3, 1, 3] * u.TeV)
    """

    tag = ("LogParabola10SpectralModel",)
    _parameter_specs = (
        ParameterSpec("amplitude", 1e-12, "cm-2 s-1 TeV-1", is_norm=True, interp="log"),
        ParameterSpec("reference", 10.0, "TeV", frozen=True),
        ParameterSpec("alpha", 2.0),
        ParameterSpec("beta", 1.0),
    )

    @staticmethod
    def evaluate(energy, amplitude, reference, alpha, beta):
        log_x = np.log(energy / reference)
        return amplitude * np.exp(-(alpha + beta * (log_x / _LN10)) * log_x)


@register_model
class ExpCutoffPowerLawSpectralModel(SpectralModel):
    """Power law with an exponential cutoff (Gammapy).

    ``dN/dE = amplitude * (E / reference)^-index * exp(-(lambda_ * E)^alpha)``

    Parameters
    ----------
    index : float
        Index, default 1.5.
    amplitude : `~astropy.units.Quantity`
        Default 1e-12 cm-2 s-1 TeV-1.
    reference : `~astropy.units.Quantity`
        Reference energy (frozen), default 1 TeV.
    lambda_ : `~astropy.units.Quantity`
        Inverse cutoff energy, default 0.1 TeV-1.
    alpha : float
        Cutoff sharpness, default 1 (frozen).

    Examples
    --------
    >>> import astropy.units as u
    >>> from fluxfit.models import ExpCutoffPowerLawSpectralModel
    >>> model = ExpCutoffPowerLawSpectralModel(index=2, lambda_=1 / (5 * u.TeV))
    >>> eflux = model.energy_flux(1 * u.TeV, 100 * u.TeV)
    """

    tag = ("ExpCutoffPowerLawSpectralModel", "ecpl")
    _parameter_specs = (
        ParameterSpec("index", 1.5),
        ParameterSpec("amplitude", 1e-12, "cm-2 s-1 TeV-1", is_norm=True, interp="log"),
        ParameterSpec("reference", 1.0, "TeV", frozen=True),
        ParameterSpec("lambda_", 0.1, "TeV-1"),
        ParameterSpec("alpha", 1.0, frozen=True),
    )

    @staticmethod
    def evaluate(energy, index, amplitude, reference, lambda_, alpha):
        log_pl = -index * np.log(energy / reference)
        return amplitude * np.exp(log_pl - np.power(lambda_ * energy, alpha))


@register_model
class SuperExpCutoffPowerLaw4FGLDR3SpectralModel(SpectralModel):
    """Super-exponential cutoff power law of 4FGL-DR3 (``PLSuperExpCutoff4``).

    Equations (2) and (3) of Abdollahi et al. 2022 (arXiv:2201.11184), with
    ``x = E / reference``, ``d = expfactor``, ``b = index_2``::

        dN/dE = amplitude * x^(d/b - index_1) * exp(d / b^2 * (1 - x^b))

    and, where ``|b ln x| < 1e-2`` (near the reference, and for ``b = 0``), the
    expansion the catalogue uses::

        dN/dE = amplitude * x^(-index_1 - d/2 ln x - d b/6 ln^2 x - d b^2/24 ln^3 x)

    Note the minus signs in the expansion: Gammapy before its PR #5813 (April
    2025) had plus signs there, which made the spectrum jump at ``|b ln x| = 1e-2``.

    Parameters
    ----------
    amplitude : `~astropy.units.Quantity`
        dN/dE at ``reference``, default 1e-12 cm-2 s-1 TeV-1.
    reference : `~astropy.units.Quantity`
        Reference energy (frozen), default 1 TeV.
    expfactor : float
        ``d``, the local curvature at ``reference``, default 1e-2.
    index_1 : float
        ``Gamma_S``, the local index at ``reference``, default 1.5.
    index_2 : float
        ``b``, the cutoff exponent, default 2.

    Examples
    --------
    >>> import astropy.units as u
    >>> from fluxfit.models import SuperExpCutoffPowerLaw4FGLDR3SpectralModel
    >>> model = SuperExpCutoffPowerLaw4FGLDR3SpectralModel(
    ...     amplitude="1e-9 cm-2 s-1 TeV-1", reference=1 * u.GeV, expfactor=0.5,
    ...     index_1=1.4, index_2=0.67)
    >>> dnde = model([0.1, 1, 10] * u.GeV)
    """

    tag = ("SuperExpCutoffPowerLaw4FGLDR3SpectralModel", "secpl-4fgl-dr3")
    _parameter_specs = (
        ParameterSpec("amplitude", 1e-12, "cm-2 s-1 TeV-1", is_norm=True, interp="log"),
        ParameterSpec("reference", 1.0, "TeV", frozen=True),
        ParameterSpec("expfactor", 1e-2),
        ParameterSpec("index_1", 1.5),
        ParameterSpec("index_2", 2.0),
    )

    @staticmethod
    def evaluate(energy, amplitude, reference, expfactor, index_1, index_2):
        log_x = np.log(energy / reference)
        scaled = index_2 * log_x
        near = np.abs(scaled) < 1e-2
        safe_b = np.where(index_2 == 0, 1.0, index_2)
        series = -expfactor * log_x**2 * (0.5 + scaled / 6.0 + scaled**2 / 24.0)
        with np.errstate(over="ignore", invalid="ignore"):
            # ln(cutoff) = d/b ln x + d/b^2 (1 - x^b) = -d/b^2 (expm1(b ln x) - b ln x)
            far = -expfactor / safe_b**2 * (np.expm1(scaled) - scaled)
            log_cutoff = np.where(near, series, far)
            return amplitude * np.exp(-index_1 * log_x + log_cutoff)
