"""Analytic temporal models, with Gammapy's definitions and parameter names.

All have the reference time ``t_ref`` (MJD, default 51544 = 2000-01-01 UTC,
Gammapy's default) except the constant model. Times are MJD in TT inside
``evaluate``/``evaluate_integral`` (see `fluxfit.models.temporal.core`).

Examples
--------
>>> from astropy.time import Time
>>> from fluxfit.models import ExpDecayTemporalModel
>>> model = ExpDecayTemporalModel(t0="2 d", t_ref=55555.0, scale="tt")
>>> model(Time(55557.0, format="mjd", scale="tt")).round(6)
np.float64(0.367879)
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf, erfc

from fluxfit.models.core import ParameterSpec, register_model
from fluxfit.models.temporal.core import T_REF_DEFAULT, TemporalModel

__all__ = [
    "ConstantTemporalModel",
    "LinearTemporalModel",
    "ExpDecayTemporalModel",
    "GaussianTemporalModel",
    "PowerLawTemporalModel",
    "SineTemporalModel",
]


def _t_ref(frozen: bool = True) -> ParameterSpec:
    return ParameterSpec("t_ref", T_REF_DEFAULT, "d", frozen=frozen)


@register_model
class ConstantTemporalModel(TemporalModel):
    """Constant norm 1 (no parameters, as Gammapy 1.x).

    Examples
    --------
    >>> from astropy.time import Time
    >>> from fluxfit.models import ConstantTemporalModel
    >>> ConstantTemporalModel()(Time([55000.0, 56000.0], format="mjd"))
    array([1., 1.])
    """

    tag = ("ConstantTemporalModel",)
    _parameter_specs = ()

    @staticmethod
    def evaluate(time):
        return np.ones(np.shape(time))

    @staticmethod
    def evaluate_integral(t_min, t_max):
        return np.asarray(t_max - t_min, dtype=float)


@register_model
class LinearTemporalModel(TemporalModel):
    """Linear norm: ``alpha + beta * (t - t_ref)``.

    Parameters
    ----------
    alpha : float
        Norm at ``t_ref``, default 1.
    beta : `~astropy.units.Quantity`
        Slope, default 0 d-1.
    t_ref : `~astropy.units.Quantity`
        Reference time (MJD, in the model's ``scale``), default 51544 d, frozen.
    scale : str
        Time scale of ``t_ref`` (default "utc").

    Examples
    --------
    >>> from astropy.time import Time
    >>> from fluxfit.models import LinearTemporalModel
    >>> model = LinearTemporalModel(alpha=1.0, beta="0.5 d-1", t_ref=58000, scale="tt")
    >>> model(Time(58002.0, format="mjd", scale="tt"))
    np.float64(2.0)
    """

    tag = ("LinearTemporalModel", "linear")
    _parameter_specs = (
        ParameterSpec("alpha", 1.0),
        ParameterSpec("beta", 0.0, "d-1"),
        _t_ref(),
    )

    @staticmethod
    def evaluate(time, alpha, beta, t_ref):
        return alpha + beta * (time - t_ref)

    @staticmethod
    def evaluate_integral(t_min, t_max, alpha, beta, t_ref):
        return alpha * (t_max - t_min) + 0.5 * beta * ((t_max - t_ref) ** 2 - (t_min - t_ref) ** 2)


@register_model
class ExpDecayTemporalModel(TemporalModel):
    """Exponential decay: ``exp(-(t - t_ref) / t0)``.

    Parameters
    ----------
    t0 : `~astropy.units.Quantity`
        Decay time, default 1 d.
    t_ref : `~astropy.units.Quantity`
        Reference time (MJD), default 51544 d, frozen.
    scale : str
        Time scale of ``t_ref`` (default "utc").

    Examples
    --------
    >>> from fluxfit.models import ExpDecayTemporalModel
    >>> ExpDecayTemporalModel(t0="10 d").t0.quantity
    <Quantity 10. d>
    """

    tag = ("ExpDecayTemporalModel", "exp-decay")
    _parameter_specs = (ParameterSpec("t0", 1.0, "d"), _t_ref())

    @staticmethod
    def evaluate(time, t0, t_ref):
        with np.errstate(over="ignore"):
            return np.exp(-(time - t_ref) / t0)

    @staticmethod
    def evaluate_integral(t_min, t_max, t0, t_ref):
        with np.errstate(over="ignore", invalid="ignore"):
            # t0 (e^{-a} - e^{-b}) = t0 e^{-a} (1 - e^{-(b-a)}), stable for b close to a
            return -t0 * np.exp(-(t_min - t_ref) / t0) * np.expm1(-(t_max - t_min) / t0)


@register_model
class GaussianTemporalModel(TemporalModel):
    """Gaussian flare: ``exp(-(t - t_ref)^2 / (2 sigma^2))`` (peak norm 1).

    Parameters
    ----------
    t_ref : `~astropy.units.Quantity`
        Peak time (MJD), default 51544 d (free, as in Gammapy).
    sigma : `~astropy.units.Quantity`
        Width, default 1 d.
    scale : str
        Time scale of ``t_ref`` (default "utc").

    Examples
    --------
    >>> from fluxfit.models import GaussianTemporalModel
    >>> GaussianTemporalModel(t_ref=58000.0, sigma="3 h").sigma.quantity.to("d")
    <Quantity 0.125 d>
    """

    tag = ("GaussianTemporalModel",)
    _parameter_specs = (_t_ref(frozen=False), ParameterSpec("sigma", 1.0, "d"))

    @staticmethod
    def evaluate(time, t_ref, sigma):
        return np.exp(-0.5 * ((time - t_ref) / sigma) ** 2)

    @staticmethod
    def evaluate_integral(t_min, t_max, t_ref, sigma):
        scale = np.sqrt(2.0) * sigma
        u_min = (t_min - t_ref) / scale
        u_max = (t_max - t_ref) / scale
        # erfc on the side where erf differences would cancel
        difference = np.where(
            u_min > 0,
            erfc(u_min) - erfc(u_max),
            np.where(u_max < 0, erfc(-u_max) - erfc(-u_min), erf(u_max) - erf(u_min)),
        )
        return np.sqrt(np.pi / 2.0) * sigma * difference


@register_model
class PowerLawTemporalModel(TemporalModel):
    """Power-law decay: ``((t - t_ref) / t0)^alpha`` for ``t > t_ref``, 0 before.

    Gammapy returns NaN before ``t_ref`` (for non-integer alpha); fluxfit
    returns 0 so that intervals straddling ``t_ref`` integrate the decay only.

    Parameters
    ----------
    alpha : float
        Power, default 1.
    t_ref : `~astropy.units.Quantity`
        Start time (MJD), default 51544 d, frozen.
    t0 : `~astropy.units.Quantity`
        Time scale, default 1 d, frozen.
    scale : str
        Time scale of ``t_ref`` (default "utc").

    Examples
    --------
    >>> from astropy.time import Time
    >>> from fluxfit.models import PowerLawTemporalModel
    >>> model = PowerLawTemporalModel(alpha=-1.0, t_ref=58000.0, scale="tt")
    >>> model(Time(58004.0, format="mjd", scale="tt"))
    np.float64(0.25)
    """

    tag = ("PowerLawTemporalModel", "powerlaw")
    _parameter_specs = (
        ParameterSpec("alpha", 1.0),
        _t_ref(),
        ParameterSpec("t0", 1.0, "d", frozen=True),
    )

    @staticmethod
    def evaluate(time, alpha, t_ref, t0):
        x = (time - t_ref) / t0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.where(x > 0, np.power(np.where(x > 0, x, 1.0), alpha), 0.0)

    @staticmethod
    def evaluate_integral(t_min, t_max, alpha, t_ref, t0):
        x_min = np.clip((t_min - t_ref) / t0, 0.0, None)
        x_max = np.clip((t_max - t_ref) / t0, 0.0, None)
        power = alpha + 1.0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            general = (np.power(x_max, power) - np.power(x_min, power)) / np.where(
                power != 0, power, 1.0
            )
            logarithmic = np.log(x_max) - np.log(x_min)
            value = np.where(power != 0, general, logarithmic)
            return t0 * np.where(x_max > x_min, value, 0.0)


@register_model
class SineTemporalModel(TemporalModel):
    """Sinusoidal modulation: ``1 + amp * sin(omega * (t - t_ref))``.

    Parameters
    ----------
    amp : float
        Amplitude, default 1.
    omega : `~astropy.units.Quantity`
        Angular frequency, default 1 rad/d.
    t_ref : `~astropy.units.Quantity`
        Reference time (MJD), default 51544 d, frozen.
    scale : str
        Time scale of ``t_ref`` (default "utc").

    Examples
    --------
    >>> import numpy as np
    >>> from fluxfit.models import SineTemporalModel
    >>> model = SineTemporalModel(amp=0.5, omega=f"{2 * np.pi} rad/d")
    >>> model.omega.unit
    Unit("rad / d")
    """

    tag = ("SineTemporalModel", "sinus")
    _parameter_specs = (
        ParameterSpec("amp", 1.0),
        ParameterSpec("omega", 1.0, "rad d-1"),
        _t_ref(),
    )

    @staticmethod
    def evaluate(time, amp, omega, t_ref):
        return 1.0 + amp * np.sin(omega * (time - t_ref))

    @staticmethod
    def evaluate_integral(t_min, t_max, amp, omega, t_ref):
        # int sin(w (t - t_ref)) dt = -(cos(w (t_max - t_ref)) - cos(w (t_min - t_ref))) / w
        # written as 2 sin(w (a + b) / 2) sin(w (b - a) / 2) / w with a, b the offsets.
        a, b = t_min - t_ref, t_max - t_ref
        with np.errstate(divide="ignore", invalid="ignore"):
            half = 0.5 * omega * (b - a)
            sinc_term = np.where(half != 0, np.sin(half) / np.where(half != 0, half, 1.0), 1.0)
            oscillating = np.sin(0.5 * omega * (a + b)) * sinc_term * (b - a)
        return (t_max - t_min) + amp * oscillating
