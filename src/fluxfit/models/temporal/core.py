"""Base class of temporal models: a dimensionless norm as a function of time.

Internally times are MJD (days) in the TT scale. A model has a ``scale``
attribute (default ``"utc"``, as Gammapy) giving the time scale of its
reference-time parameter ``t_ref`` (MJD); the float API converts ``t_ref`` to
TT once per call, so hot loops pass MJD(TT) floats, e.g. GTI bounds.

Subclasses implement a static ``evaluate(time, **parameters)`` (time in MJD
TT, parameters in canonical units: days, 1/day, rad/day) that broadcasts over a
leading batch axis of parameters, and where possible a closed form
``evaluate_integral(t_min, t_max, **parameters)`` of int f dt in days.

Examples
--------
>>> from astropy.time import Time
>>> from fluxfit.models import GaussianTemporalModel
>>> model = GaussianTemporalModel(t_ref=58000.0, sigma="2 d", scale="tt")
>>> t = Time([58000.0, 58002.0], format="mjd", scale="tt")
>>> model(t).round(4)
array([1.    , 0.6065])
>>> t_min = Time([57990.0], format="mjd", scale="tt")
>>> t_max = Time([58010.0], format="mjd", scale="tt")
>>> model.integral(t_min, t_max).round(5)  # sqrt(2 pi) * 2 d / 20 d
array([0.25066])
"""

from __future__ import annotations

from functools import lru_cache

import astropy.units as u
import numpy as np

from fluxfit.errors import ModelError, UnitError
from fluxfit.models.core import ModelBase

__all__ = ["TemporalModel", "time_to_mjd", "T_REF_DEFAULT"]

#: Default reference time of Gammapy's temporal models: Time("2000-01-01").mjd (UTC).
T_REF_DEFAULT = 51544.0

_SCALES = ("tt", "utc", "tai", "tcg", "tcb", "tdb", "ut1", "local")


def time_to_mjd(time, name: str = "time") -> np.ndarray:
    """MJD (float days, TT scale) of an astropy `~astropy.time.Time`."""
    from astropy.time import Time

    if not isinstance(time, Time):
        raise UnitError(f"{name} must be an astropy Time, got {type(time).__name__}")
    if time.scale == "local":
        raise UnitError(f"{name}: a Time with scale 'local' cannot be converted to TT")
    return np.asarray(time.tt.mjd, dtype=float)


@lru_cache(maxsize=256)
def _offset_to_tt(mjd: float, scale: str) -> float:
    """Days to add to an MJD in ``scale`` to get the MJD in TT, near ``mjd``."""
    from astropy.time import Time

    if scale == "tt":
        return 0.0
    time = Time(mjd, format="mjd", scale=scale)
    return float((time.tt.jd1 - time.jd1) + (time.tt.jd2 - time.jd2))


def _check_scale(scale, where: str) -> str:
    if scale not in _SCALES or scale == "local":
        raise ModelError(
            f"{where}: time scale {scale!r} is not supported; use one of {list(_SCALES[:-1])}"
        )
    return scale


class TemporalModel(ModelBase):
    """Base class of temporal models (dimensionless norm versus time).

    Parameters
    ----------
    scale : str
        Time scale of ``t_ref`` (and of MJD floats given to template tables):
        "utc" (default, as Gammapy), "tt", "tai", "tdb"...
    **kwargs
        Parameter values.
    """

    #: Extra YAML keys (besides type, parameters, scale) understood by from_dict.
    _extra_keys: frozenset = frozenset()

    def __init__(self, scale: str = "utc", **kwargs):
        self.scale = _check_scale(scale, type(self).__name__)
        super().__init__(**kwargs)
        for name, par in self._params.items():
            try:
                par.factor_to(self._canonical[name])
            except UnitError:
                raise UnitError(
                    f"{type(self).__name__}: parameter {name!r} has unit "
                    f"{par.unit.to_string()!r}, not convertible to "
                    f"{self._canonical[name].to_string()!r}"
                ) from None

    @staticmethod
    def evaluate(time, **kwargs):  # pragma: no cover - interface
        raise ModelError("a temporal model class must define evaluate(time, **parameters)")

    # ------------------------------------------------------------ float API
    def canonical_values(self, overrides=None) -> dict:
        """Canonical parameter values, with ``t_ref`` converted to MJD(TT)."""
        values = super().canonical_values(overrides)
        if "t_ref" in values and self.scale != "tt":
            t_ref = self.t_ref.value * self.t_ref.factor_to(self._canonical["t_ref"])
            values["t_ref"] = values["t_ref"] + _offset_to_tt(round(float(t_ref), 3), self.scale)
        return values

    def value_array(self, time, overrides=None):
        """Norm at ``time`` (MJD TT floats); shape (k, n) for batch ``overrides``."""
        time = np.asarray(time, dtype=float)
        return self.evaluate(time, **self.canonical_values(overrides))

    def integral_array(self, t_min, t_max, overrides=None):
        """int_{t_min}^{t_max} norm dt in days, per interval (bounds in MJD TT).

        Closed forms where the model has one, else 32-node Gauss-Legendre per interval.
        """
        t_min = np.asarray(t_min, dtype=float)
        t_max = np.asarray(t_max, dtype=float)
        params = self.canonical_values(overrides)
        if hasattr(type(self), "evaluate_integral"):
            return self.evaluate_integral(t_min, t_max, **params)
        nodes, weights = np.polynomial.legendre.leggauss(32)
        t_min, t_max = np.broadcast_arrays(t_min, t_max)
        half = 0.5 * (t_max - t_min)[..., None]
        times = 0.5 * (t_max + t_min)[..., None] + half * nodes
        values = self.evaluate(times.ravel(), **params)
        values = np.asarray(values).reshape(*np.shape(values)[:-1], *times.shape)
        return np.sum(values * weights * half, axis=-1)

    # --------------------------------------------------------- Time API
    def __call__(self, time):
        """Norm (dimensionless float array) at ``time`` (astropy Time)."""
        return np.asarray(self.value_array(time_to_mjd(time)))[()]

    @property
    def reference_time(self):
        """``t_ref`` as an astropy Time in the model's scale."""
        from astropy.time import Time

        if "t_ref" not in self._params:
            raise ModelError(f"{type(self).__name__} has no reference time")
        return Time(self.t_ref.quantity.to_value(u.day), format="mjd", scale=self.scale)

    @reference_time.setter
    def reference_time(self, time):
        from astropy.time import Time

        if not isinstance(time, Time):
            raise UnitError(f"reference_time must be an astropy Time, got {type(time).__name__}")
        if "t_ref" not in self._params:
            raise ModelError(f"{type(self).__name__} has no reference time")
        self.t_ref.quantity = getattr(time, self.scale).mjd * u.day

    def _bounds(self, t_min, t_max):
        t_min = time_to_mjd(t_min, "t_min")
        t_max = time_to_mjd(t_max, "t_max")
        t_min, t_max = np.broadcast_arrays(np.atleast_1d(t_min), np.atleast_1d(t_max))
        if np.any(t_max < t_min):
            raise ModelError("temporal integral: every t_max must be >= its t_min")
        return t_min, t_max

    def integral(self, t_min, t_max):
        """Gammapy's ``integral``: int f dt over each interval / total duration.

        Each entry is the integral of the norm over one interval divided by
        the summed duration of *all* intervals, so that the sum over the
        intervals is the duration-weighted mean norm over them (for one
        interval: the mean norm). Use `mean` for per-interval means.

        Parameters
        ----------
        t_min, t_max : `~astropy.time.Time`
            Interval bounds (arrays of equal length, or scalars).

        Returns
        -------
        array of shape (n_intervals,)
        """
        t_min, t_max = self._bounds(t_min, t_max)
        total = np.sum(t_max - t_min)
        if total <= 0:
            raise ModelError("temporal integral: the intervals have zero total duration")
        return self.integral_array(t_min, t_max) / total

    def mean(self, t_min, t_max):
        """Mean norm over each interval (``int f dt / (t_max - t_min)``); NaN for empty ones."""
        t_min, t_max = self._bounds(t_min, t_max)
        duration = t_max - t_min
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(duration > 0, self.integral_array(t_min, t_max) / duration, np.nan)

    # ---------------------------------------------------------------- I/O
    def to_dict(self, full_output: bool = False) -> dict:
        data = super().to_dict(full_output)
        data["scale"] = self.scale
        return data

    @classmethod
    def from_dict(cls, data: dict, where: str = ""):
        from fluxfit.models.io import parameters_from_list

        where = where or cls.__name__
        _check_keys(data, {"type", "parameters", "scale", *cls._extra_keys}, where)
        model = cls(scale=data.get("scale", "utc"))
        parameters_from_list(model, data.get("parameters", []), where)
        return model

    def __repr__(self) -> str:
        vals = ", ".join(
            f"{n}={p.value:.6g}"
            for n, p in zip(self.parameters.names, self.parameters, strict=True)
        )
        sep = ", " if vals else ""
        return f"{type(self).__name__}({vals}{sep}scale={self.scale!r})"


def _check_keys(data: dict, allowed: set, where: str) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ModelError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
